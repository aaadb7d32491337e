//! `receivers:` where messages go — e-mail, Teams, or an archive of files — each under a name that playbooks
//! use in `notify.to`. Validation only; rendering and sending are `render`'s and `deliver`'s. Templates are
//! checked later (`check_templates`), when the shipped and user templates are known.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::secret::Secret;
use super::yaml::{self, Reader, Value};
use super::{Config, DEFAULT_CONFIG, DEFAULT_NAME, check_name, is_loopback};
use crate::diagnostics::Diagnostic;

/// The keys of this mapping (also what `huntbook schema` lists).
pub const TEAMS_KEYS: &[&str] = &["webhook", "dir", "per_second", "timezone"];

/// `receivers.NAME:` one receiver: exactly one of `email:`, `teams:`, `file:`.
#[derive(Clone, Debug)]
pub enum Receiver {
    /// `email:` an HTML e-mail per message.
    Email(EmailReceiver),
    /// `teams:` an Adaptive Card per message.
    Teams(TeamsReceiver),
    /// `file:` every message as a JSON document in a directory.
    File(FileReceiver),
}

/// `email:` an HTML e-mail per message.
#[derive(Clone, Debug)]
pub struct EmailReceiver {
    /// `to:` recipients (`soc@contoso.com` or `SOC <soc@contoso.com>`); at least one.
    pub to: Vec<String>,
    /// `cc:` copy recipients. Default none.
    pub cc: Vec<String>,
    /// `from:` the sender; with `via: graph`, the mailbox that sends.
    pub from: String,
    /// `via:` `smtp` (default; needs `smtp:`), `graph` (Graph sendMail as `from`; needs a tenant and the
    /// Mail.Send permission) or `file` (write `.eml` files to `dir:`).
    pub via: EmailVia,
    /// `template:` the e-mail template (`templates/NAME.html.hbs`). Default `email-table`.
    pub template: String,
    /// `max_rows:` rows shown in the table; the rest are counted ("and N more") and attached as CSV.
    /// Default 200.
    pub max_rows: usize,
    /// `timezone:` for times shown in the message (IANA name). Default UTC.
    pub timezone: chrono_tz::Tz,
    /// `tenant:` with `via: graph`, the tenant (of `tenants:`) whose app sends. Default: the only tenant.
    pub tenant: Option<String>,
}

/// `email.via:` how an e-mail leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailVia {
    /// `via: smtp`: through the `smtp:` server.
    Smtp,
    /// `via: graph`: Graph sendMail as `from` (Mail.Send application permission).
    Graph,
    /// `via: file` with `dir:`: the exact MIME that would be sent, as `.eml` files.
    File(PathBuf),
}

/// `teams:` an Adaptive Card per message.
#[derive(Clone, Debug)]
pub struct TeamsReceiver {
    /// `webhook:` or `dir:`, exactly one.
    pub target: TeamsTarget,
    /// `timezone:` for times shown on the card (IANA name). Default UTC.
    pub timezone: chrono_tz::Tz,
    /// `per_second:` with `webhook:`, the most requests a second it is sent (Teams throttles above 4). Default 1.
    pub per_second: f64,
}

/// Cards posted to one webhook per second unless `per_second` says otherwise.
pub const DEFAULT_TEAMS_PER_SECOND: f64 = 1.0;

/// Where Teams cards go.
#[derive(Clone, Debug)]
pub enum TeamsTarget {
    /// `webhook: ${env:NAME}`: a Teams Workflows "When a Teams webhook request is received" URL. A secret:
    /// its signature is in the query string.
    Webhook(Secret),
    /// `dir:` write each payload as a `.json` file instead.
    Directory(PathBuf),
}

/// `file:` an archive: every message as a JSON document in `dir:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReceiver {
    /// `dir:` the directory; created when needed.
    pub dir: PathBuf,
}

/// `via:` as written, before `file` gets its directory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Smtp,
    Graph,
    File,
}

const KINDS: [&str; 3] = ["email", "teams", "file"];
pub const EMAIL_KEYS: &[&str] = &["to", "cc", "from", "via", "dir", "tenant", "template", "max_rows", "timezone"];

pub(super) fn read_receivers(
    value: Value,
    base_dir: &Path,
    has_smtp: bool,
    tenants: &[String],
) -> Option<BTreeMap<String, Receiver>> {
    let mut receivers = BTreeMap::new();
    let mut valid = true;
    for entry in value.entries()? {
        let name = entry.key().unwrap_or_default().to_string();
        let named = check_name(entry, "receiver");
        match read_receiver(entry, base_dir, has_smtp, tenants) {
            Some(receiver) if named => {
                receivers.insert(name, receiver);
            }
            _ => valid = false,
        }
    }
    valid.then_some(receivers)
}

fn read_receiver(value: Value, base_dir: &Path, has_smtp: bool, tenants: &[String]) -> Option<Receiver> {
    let fields = value.fields(&KINDS)?;
    let given: Vec<&str> = KINDS.iter().copied().filter(|kind| fields.raw(kind).is_some()).collect();
    match given[..] {
        [] => {
            if !KINDS.iter().any(|kind| fields.misspelt(kind)) {
                value.report_hint("a receiver needs a kind", "add `email:`, `teams:` or `file:`");
            }
            None
        }
        ["email"] => read_email(fields.required("email")?, base_dir, has_smtp, tenants).map(Receiver::Email),
        ["teams"] => read_teams(fields.required("teams")?, base_dir).map(Receiver::Teams),
        [_] => {
            let file = fields.required("file")?.fields(&["dir"])?;
            let dir = file.required("dir")?.path(base_dir)?;
            Some(Receiver::File(FileReceiver { dir }))
        }
        [first, second, ..] => {
            let extra = fields.raw(second)?;
            extra.reader().report(
                extra
                    .reader()
                    .at(extra.key_place(), format!("a receiver is one kind, and this one has `{first}` and `{second}`"))
                    .with_hint("make a second receiver"),
            );
            None
        }
    }
}

fn read_email(value: Value, base_dir: &Path, has_smtp: bool, tenants: &[String]) -> Option<EmailReceiver> {
    let fields = value.fields(EMAIL_KEYS)?;
    let to = fields.required("to").and_then(|v| {
        let addresses = addresses(v)?;
        if addresses.is_empty() {
            v.report("expected at least one recipient");
            return None;
        }
        Some(addresses)
    });
    let cc = fields.get("cc").map_or(Some(Vec::new()), addresses);
    let from = fields.required("from").and_then(|v| {
        let text = v.string()?;
        address(v, &text).then_some(text)
    });
    let via_value = fields.get("via");
    let via = match via_value {
        Some(v) => v.keyword("way to send e-mail", &[("smtp", Via::Smtp), ("graph", Via::Graph), ("file", Via::File)]),
        None => Some(Via::Smtp),
    };
    let dir = fields.get("dir");
    let via = match via {
        Some(Via::File) => match dir {
            Some(dir) => dir.path(base_dir).map(EmailVia::File),
            None => {
                via_value.unwrap_or(value).report_hint("`via: file` needs a directory", "add `dir: outbox/NAME`");
                None
            }
        },
        Some(kind) => {
            if let Some(dir) = dir {
                dir.reader().report(
                    dir.reader()
                        .at(dir.key_place(), "`dir` is only for `via: file`")
                        .with_hint("remove it, or write `via: file`"),
                );
            }
            let at = via_value.unwrap_or(value);
            if kind == Via::Smtp && !has_smtp {
                let what = if via_value.is_some() { "`via: smtp`" } else { "`via: smtp` (the default)" };
                at.report_hint(
                    format!("{what} needs an `smtp:` section"),
                    "add `smtp:` to huntbook.yaml, or use `via: graph` or `via: file`",
                );
                None
            } else if kind == Via::Graph && tenants.is_empty() {
                at.report_hint("`via: graph` needs a tenant to send from", "add one under `tenants:`");
                None
            } else {
                Some(if kind == Via::Smtp { EmailVia::Smtp } else { EmailVia::Graph })
            }
        }
        None => None,
    };
    let template = fields.get("template").map_or(Some("email-table".to_string()), |v| v.non_empty_string());
    let max_rows = fields.get("max_rows").map_or(Some(200), |v| {
        let rows = v.number::<usize>("a number of rows")?;
        if rows == 0 {
            v.report("must be at least 1");
            return None;
        }
        Some(rows)
    });
    let timezone = fields.get("timezone").map_or(Some(chrono_tz::UTC), |v| v.timezone());
    let tenant = match (&via, fields.get("tenant")) {
        (Some(EmailVia::Graph), Some(v)) => v.string().and_then(|name| {
            if tenants.contains(&name) {
                return Some(Some(name));
            }
            let hint = crate::config::yaml::did_you_mean(&name, tenants.iter().map(String::as_str))
                .unwrap_or_else(|| format!("the tenants are: {}", tenants.join(", ")));
            v.report_hint(format!("no tenant {name} under `tenants:`"), hint);
            None
        }),
        (Some(EmailVia::Graph), None) if tenants.len() > 1 => {
            value.report_hint(
                "`via: graph` needs to know which tenant sends",
                format!("add `tenant:` (one of {})", tenants.join(", ")),
            );
            None
        }
        (Some(EmailVia::Graph), None) => Some(tenants.first().cloned()),
        (_, Some(v)) => {
            v.reader().report(
                v.reader()
                    .at(v.key_place(), "`tenant` is only for `via: graph`")
                    .with_hint("remove it, or write `via: graph`"),
            );
            None
        }
        (_, None) => Some(None),
    };
    Some(EmailReceiver {
        to: to?,
        cc: cc?,
        from: from?,
        via: via?,
        template: template?,
        max_rows: max_rows?,
        timezone: timezone?,
        tenant: tenant?,
    })
}

fn addresses(value: Value) -> Option<Vec<String>> {
    let items = value.strings()?;
    let valid = items.iter().filter(|(text, item)| !address(*item, text)).count() == 0;
    valid.then(|| items.into_iter().map(|(text, _)| text).collect())
}

/// Whether `text` is an e-mail address (`soc@contoso.com`, `SOC <soc@contoso.com>`); reports it if not.
fn address(value: Value, text: &str) -> bool {
    let valid = text.parse::<lettre::message::Mailbox>().is_ok() && text.contains('@');
    if !valid {
        value.report_hint(
            format!("expected an e-mail address, found {}", value.describe()),
            "write soc@contoso.com or \"SOC <soc@contoso.com>\"",
        );
    }
    valid
}

fn read_teams(value: Value, base_dir: &Path) -> Option<TeamsReceiver> {
    let fields = value.fields(TEAMS_KEYS)?;
    let target = match (fields.get("webhook"), fields.get("dir")) {
        (Some(webhook), None) => webhook_url(webhook).map(TeamsTarget::Webhook),
        (None, Some(dir)) => dir.path(base_dir).map(TeamsTarget::Directory),
        (None, None) => {
            value.report_hint(
                "a Teams receiver needs `webhook:` or `dir:`",
                "`webhook: ${env:NAME}` posts cards; `dir: outbox/NAME` writes them as files",
            );
            None
        }
        (Some(_), Some(dir)) => {
            dir.reader().report(
                dir.reader()
                    .at(dir.key_place(), "a Teams receiver has `webhook:` or `dir:`, not both")
                    .with_hint("make a second receiver"),
            );
            None
        }
    };
    let timezone = fields.get("timezone").map_or(Some(chrono_tz::UTC), |v| v.timezone());
    let per_second = match fields.get("per_second") {
        Some(v) => v.string().and_then(|text| match text.trim().parse::<f64>() {
            Ok(rate) if rate > 0.0 && rate <= crate::deliver::teams::MAX_PER_SECOND => Some(rate),
            Ok(rate) if rate > 0.0 => {
                v.report_hint(
                    format!("{rate} requests a second is above what Teams allows"),
                    "Teams throttles a webhook above 4 requests a second: write at most 4",
                );
                None
            }
            _ => {
                v.report_hint(
                    format!("expected a number of requests a second, found {}", v.describe()),
                    "write a number above 0 and at most 4, such as 1 or 0.5",
                );
                None
            }
        }),
        None => Some(DEFAULT_TEAMS_PER_SECOND),
    };
    if let (Some(rate), Some(TeamsTarget::Directory(_))) = (fields.raw("per_second"), &target) {
        rate.reader().report(rate.reader().at(rate.key_place(), "`per_second` is only for `webhook:`"));
    }
    Some(TeamsReceiver { target: target?, timezone: timezone?, per_second: per_second? })
}

/// A webhook URL: a secret, https (or http on this machine). Its value never appears in a message.
fn webhook_url(value: Value) -> Option<Secret> {
    let secret = value.secret()?;
    if !secret.is_available() {
        // Not at hand here (`validate` without the production secrets): said as a warning already.
        return Some(secret);
    }
    let problem = match url::Url::parse(secret.expose()) {
        Err(_) => "the webhook is not a URL",
        Ok(url) if url.scheme() == "https" => return Some(secret),
        Ok(url) if url.scheme() == "http" && url.host_str().is_some_and(is_loopback) => return Some(secret),
        Ok(_) => "the webhook is not an https URL",
    };
    value.report_hint(
        problem,
        "copy the URL of the Teams workflow's \"When a Teams webhook request is received\" trigger",
    );
    None
}

/// Checks that every e-mail receiver's template exists (`exists` knows the shipped and the user templates).
/// Problems are placed in the configuration file, which is read again for the positions.
pub fn check_templates(config: &Config, known: &[String]) -> Vec<Diagnostic> {
    let missing: Vec<(&str, &str)> = config
        .receivers
        .iter()
        .filter_map(|(name, receiver)| match receiver {
            Receiver::Email(email) if !known.contains(&email.template) => {
                Some((name.as_str(), email.template.as_str()))
            }
            _ => None,
        })
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let (name, text) = match &config.file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => (path.display().to_string(), text),
            Err(error) => return vec![Diagnostic::plain(format!("cannot read {}: {error}", path.display()))],
        },
        None => (DEFAULT_NAME.to_string(), DEFAULT_CONFIG.to_string()),
    };
    let (node, _) = yaml::parse(&name, &text);
    let reader = Reader::new(&name, &text);
    let receivers = node.as_ref().and_then(|node| reader.value(node).child("receivers"));
    let mut diagnostics: Vec<Diagnostic> = missing
        .into_iter()
        .map(|(receiver, template)| {
            let message = format!("unknown template `{template}`");
            let email = receivers.and_then(|r| r.child(receiver)).and_then(|entry| entry.child("email"));
            let diagnostic = match email {
                Some(email) => match email.child("template") {
                    Some(value) => value.error(message),
                    None => reader.at(email.key_place(), format!("{message} (the default)")),
                },
                None => Diagnostic::plain(format!("receiver `{receiver}`: {message}")),
            };
            let hint = yaml::did_you_mean(template, known.iter().map(String::as_str)).unwrap_or_else(|| {
                format!(
                    "the templates are {}; another is a file {template}.html.hbs in the templates directory",
                    known.join(", ")
                )
            });
            diagnostic.with_hint(hint)
        })
        .collect();
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics
}
