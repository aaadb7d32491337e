//! `smtp:` the mail server that e-mail receivers with `via: smtp` send through. Validation only; sending is
//! `deliver`'s job.

use std::path::{Path, PathBuf};

use super::is_loopback;
use super::secret::Secret;
use super::yaml::Value;

/// The keys of this mapping (also what `huntbook schema` lists).
pub const SMTP_KEYS: &[&str] = &["host", "port", "tls", "username", "password", "ca_file"];

/// `smtp:` a mail server.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// `host:` the server's name or address.
    pub host: String,
    /// `port:` default 587, or 465 with `tls: tls`.
    pub port: u16,
    /// `tls:` `starttls` (default), `tls` (implicit TLS, usually port 465) or `none` (only for a server on this
    /// machine).
    pub tls: SmtpTls,
    /// `username:` for AUTH; none means no authentication.
    pub username: Option<String>,
    /// `password:` for AUTH: `${env:NAME}` or `${file:/path}`.
    pub password: Option<Secret>,
    /// `ca_file:` a PEM file of certificate authorities to trust besides the system's (an internal relay).
    pub ca_file: Option<PathBuf>,
}

/// `smtp.tls:` how the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// `starttls`: plain connection upgraded with STARTTLS, which is required.
    StartTls,
    /// `tls`: TLS from the first byte.
    Tls,
    /// `none`: no encryption; refused unless the host is this machine.
    None,
}

pub(super) fn read_smtp(value: Value, base_dir: &Path) -> Option<SmtpConfig> {
    let fields = value.fields(SMTP_KEYS)?;
    let host = fields.required("host").and_then(|v| v.non_empty_string());
    let tls_value = fields.get("tls");
    let tls = tls_value.map_or(Some(SmtpTls::StartTls), |v| {
        v.keyword("tls mode", &[("starttls", SmtpTls::StartTls), ("tls", SmtpTls::Tls), ("none", SmtpTls::None)])
    });
    if let (Some(SmtpTls::None), Some(host), Some(at)) = (tls, &host, tls_value)
        && !is_loopback(host)
    {
        at.report_hint(
            "`tls: none` would send the password and the messages unencrypted",
            "use starttls or tls; none is accepted only for a server on this machine (localhost)",
        );
    }
    let port = match fields.get("port") {
        Some(v) => v.number::<u16>("a port number").and_then(|port| {
            if port == 0 {
                v.report("expected a port number, found `0`");
                return None;
            }
            Some(port)
        }),
        None => Some(if tls == Some(SmtpTls::Tls) { 465 } else { 587 }),
    };
    let username = fields.get("username").map_or(Some(None), |v| v.non_empty_string().map(Some));
    let password = fields.get("password").map_or(Some(None), |v| v.secret().map(Some));
    if let (Some(password), false) = (fields.get("password"), fields.has("username")) {
        password.reader().report(
            password.reader().at(password.key_place(), "a `password` needs a `username`").with_hint("add `username:`"),
        );
    }
    let ca_file = fields.get("ca_file").map_or(Some(None), |v| {
        let path = v.path(base_dir)?;
        if !path.is_file() {
            v.report(format!("the file {} does not exist", path.display()));
            return None;
        }
        Some(Some(path))
    });
    Some(SmtpConfig {
        host: host?,
        port: port?,
        tls: tls?,
        username: username?,
        password: password?,
        ca_file: ca_file?,
    })
}
