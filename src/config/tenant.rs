//! `tenants:` the Defender XDR tenants that queries run in through Graph: the tenant, its cloud, how huntbook
//! signs in, and how hard it may call the hunting API. Validation only; signing in is `source::graph`'s job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::secret::Secret;
use super::yaml::{Value, one_of};
use super::{check_name, is_loopback};

/// The keys of this mapping (also what `huntbook schema` lists).
pub const LIMIT_KEYS: &[&str] = &["hunting_calls_per_minute", "concurrent_queries"];

/// `tenants.NAME:` one tenant.
#[derive(Clone, Debug)]
pub struct TenantConfig {
    /// `tenant_id:` the directory (tenant) id, a GUID, or its domain (`contoso.onmicrosoft.com`).
    pub tenant_id: String,
    /// `cloud:` `global` (default), `usgov` (GCC High) or `usgov-dod`.
    pub cloud: Cloud,
    /// `login_url:` overrides the cloud's sign-in endpoint (`https://login.microsoftonline.com`); for tests
    /// and the emulator.
    pub login_url: Option<url::Url>,
    /// `graph_url:` overrides the cloud's Graph endpoint (`https://graph.microsoft.com`); for tests and the
    /// emulator.
    pub graph_url: Option<url::Url>,
    /// `mde_url:` overrides the cloud's Defender API endpoint (`https://api.security.microsoft.com`), which
    /// `file_profile` with `via: mde_api` calls; for tests and the emulator.
    pub mde_url: Option<url::Url>,
    /// `auth:` how huntbook signs in.
    pub auth: TenantAuth,
    /// `limits.hunting_calls_per_minute:` hunting queries per minute for this tenant, shared by every playbook.
    /// Default 40 (Graph allows 45).
    pub hunting_calls_per_minute: u32,
    /// `limits.concurrent_queries:` hunting queries running at once in this tenant. Default 2.
    pub concurrent_queries: u32,
}

/// `cloud:` the national cloud a tenant lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// `global`: the commercial cloud.
    Global,
    /// `usgov`: US Government (GCC High).
    UsGov,
    /// `usgov-dod`: US Government DoD.
    UsGovDod,
}

impl Cloud {
    pub const ALL: [Cloud; 3] = [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod];

    /// The name written in the configuration.
    pub fn name(&self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::UsGovDod => "usgov-dod",
        }
    }
}

/// `auth:` how huntbook signs in to a tenant: exactly one of `client_secret`, `certificate`,
/// `managed_identity`, `workload_identity`.
#[derive(Clone, Debug)]
pub enum TenantAuth {
    /// `client_id:` and `client_secret: ${env:X}`: an app registration's secret.
    ClientSecret {
        /// `client_id:` the app registration's application (client) id.
        client_id: String,
        /// `client_secret:` the app's secret.
        secret: Secret,
    },
    /// `client_id:` and `certificate: { path: FILE }`: a PEM file with the app's certificate and private key
    /// (`private_key_jwt`; preferred over secrets).
    Certificate {
        /// `client_id:` the app registration's application (client) id.
        client_id: String,
        /// `certificate.path:` the PEM file.
        path: PathBuf,
    },
    /// `managed_identity: {}`: the Azure VM's, App Service's or Container App's identity; `client_id:` picks
    /// a user-assigned identity.
    ManagedIdentity {
        /// `client_id:` a user-assigned identity's client id; none for the system-assigned identity.
        client_id: Option<String>,
    },
    /// `workload_identity: {}`: workload identity federation, as Azure Kubernetes Service sets it up — a token
    /// of the pod's service account (the file `AZURE_FEDERATED_TOKEN_FILE` names, read again at every sign-in:
    /// the kubelet rotates it) is exchanged for a Graph token as the app `AZURE_CLIENT_ID` (or `client_id:`),
    /// at `AZURE_AUTHORITY_HOST` when set. No secret is stored anywhere.
    WorkloadIdentity {
        /// `client_id:` the app registration (or user-assigned identity) the service account is federated with;
        /// default `AZURE_CLIENT_ID`.
        client_id: Option<String>,
    },
}

pub const TENANT_KEYS: &[&str] = &["tenant_id", "cloud", "login_url", "graph_url", "mde_url", "auth", "limits"];
pub const AUTH_KEYS: &[&str] = &["client_id", "client_secret", "certificate", "managed_identity", "workload_identity"];
const METHODS: [&str; 4] = ["client_secret", "certificate", "managed_identity", "workload_identity"];

pub(super) fn read_tenants(value: Value, base_dir: &Path) -> Option<BTreeMap<String, TenantConfig>> {
    let mut tenants = BTreeMap::new();
    let mut valid = true;
    for entry in value.entries()? {
        let name = entry.key().unwrap_or_default().to_string();
        let named = check_name(entry, "tenant");
        match read_tenant(entry, base_dir) {
            Some(tenant) if named => {
                tenants.insert(name, tenant);
            }
            _ => valid = false,
        }
    }
    valid.then_some(tenants)
}

fn read_tenant(value: Value, base_dir: &Path) -> Option<TenantConfig> {
    let fields = value.fields(TENANT_KEYS)?;
    let tenant_id = fields.required("tenant_id").and_then(|v| {
        let id = v.string()?;
        let domain = id.contains('.') && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
        if is_guid(&id) || domain {
            Some(id)
        } else {
            v.report_hint(
                format!("expected a tenant id, found {}", v.describe()),
                "a GUID such as 00000000-0000-0000-0000-000000000000, or a domain such as contoso.onmicrosoft.com",
            );
            None
        }
    });
    let clouds: Vec<(&str, Cloud)> = Cloud::ALL.iter().map(|c| (c.name(), *c)).collect();
    let cloud = fields.get("cloud").map_or(Some(Cloud::Global), |v| v.keyword("cloud", &clouds));
    let login_url = fields.get("login_url").map_or(Some(None), |v| endpoint(v).map(Some));
    let graph_url = fields.get("graph_url").map_or(Some(None), |v| endpoint(v).map(Some));
    let mde_url = fields.get("mde_url").map_or(Some(None), |v| endpoint(v).map(Some));
    let auth = fields.required("auth").and_then(|v| read_auth(v, base_dir));
    let (calls, concurrent) = match fields.get("limits") {
        Some(limits) => read_limits(limits)?,
        None => (Some(40), Some(2)),
    };
    Some(TenantConfig {
        tenant_id: tenant_id?,
        cloud: cloud?,
        login_url: login_url?,
        graph_url: graph_url?,
        mde_url: mde_url?,
        auth: auth?,
        hunting_calls_per_minute: calls?,
        concurrent_queries: concurrent?,
    })
}

fn read_limits(value: Value) -> Option<(Option<u32>, Option<u32>)> {
    let fields = value.fields(LIMIT_KEYS)?;
    let positive = |key: &str, default: u32| match fields.get(key) {
        Some(v) => v.number::<u32>("a whole number").and_then(|n| {
            if n == 0 {
                v.report("must be at least 1");
                None
            } else {
                Some(n)
            }
        }),
        None => Some(default),
    };
    Some((positive("hunting_calls_per_minute", 40), positive("concurrent_queries", 2)))
}

fn read_auth(value: Value, base_dir: &Path) -> Option<TenantAuth> {
    let fields = value.fields(AUTH_KEYS)?;
    let given: Vec<&str> = METHODS.iter().copied().filter(|key| fields.raw(key).is_some()).collect();
    let method = match given[..] {
        [one] => one,
        [] if METHODS.iter().any(|method| fields.misspelt(method)) => return None,
        [] => {
            value.report_hint(
                "`auth` needs a way to sign in",
                format!(
                    "add {}",
                    one_of(&[
                        "client_secret: ${env:NAME}",
                        "certificate: { path: FILE }",
                        "managed_identity: {}",
                        "workload_identity: {}"
                    ])
                ),
            );
            return None;
        }
        [_, second, ..] => {
            let extra = fields.raw(second)?;
            extra.reader().report(
                extra
                    .reader()
                    .at(extra.key_place(), format!("`auth` has both `{}` and `{second}`", given[0]))
                    .with_hint("keep one way to sign in"),
            );
            return None;
        }
    };
    let client_id = match fields.get("client_id") {
        Some(v) => guid(v).map(Some),
        None if method == "managed_identity" || method == "workload_identity" => Some(None),
        None => {
            value.report(format!("missing key `client_id` (the app registration's id, for `{method}`)"));
            None
        }
    };
    match method {
        "client_secret" => {
            let secret = fields.required("client_secret")?.secret();
            Some(TenantAuth::ClientSecret { client_id: client_id??, secret: secret? })
        }
        "certificate" => {
            let certificate = fields.required("certificate")?.fields(&["path"])?;
            let path = certificate.required("path").and_then(|v| {
                let path = v.path(base_dir)?;
                if !path.is_file() {
                    v.report(format!("the certificate file {} does not exist", path.display()));
                    return None;
                }
                Some(path)
            });
            Some(TenantAuth::Certificate { client_id: client_id??, path: path? })
        }
        _ => {
            let identity = fields.raw(method)?;
            let valid = match identity.node() {
                marked_yaml::Node::Mapping(_) => identity.fields(&[]).is_some(),
                _ if identity.is_null() => true,
                _ => identity.bool() == Some(true),
            };
            if !valid {
                identity.report_hint("expected `{}`", format!("write `{method}: {{}}`"));
            }
            let client_id = client_id.flatten();
            (valid && fields.get("client_id").is_none_or(|_| client_id.is_some())).then(|| {
                if method == "workload_identity" {
                    TenantAuth::WorkloadIdentity { client_id }
                } else {
                    TenantAuth::ManagedIdentity { client_id }
                }
            })
        }
    }
}

fn guid(value: Value) -> Option<String> {
    let text = value.string()?;
    if is_guid(&text) {
        return Some(text);
    }
    value.report_hint(
        format!("expected a GUID, found {}", value.describe()),
        "copy the application (client) id from the app registration: 11111111-1111-1111-1111-111111111111",
    );
    None
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// An endpoint URL: https, or http on this machine (the emulator, tests).
pub(super) fn endpoint(value: Value) -> Option<url::Url> {
    let text = value.string()?;
    let Ok(url) = url::Url::parse(&text) else {
        value.report_hint(format!("expected a URL, found {}", value.describe()), "such as https://graph.microsoft.com");
        return None;
    };
    let local = url.host_str().is_some_and(is_loopback);
    match url.scheme() {
        "https" => Some(url),
        "http" if local => Some(url),
        _ => {
            value.report_hint("expected an https URL", "plain http is accepted only for this machine (localhost)");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("00000000-0000-0000-0000-00000000000a"));
        assert!(!is_guid("00000000-0000-0000-0000-00000000000"));
        assert!(!is_guid("contoso"));
    }
}
