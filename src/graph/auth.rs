//! Signing in to a tenant: a client secret, a certificate (`private_key_jwt`: a JWT signed PS256, with the
//! certificate's SHA-256 thumbprint as `x5t#S256`), or a managed identity (Azure VM IMDS, or App Service /
//! Container Apps through `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`). The token is kept until five minutes before
//! it expires and shared by every playbook of the tenant; a token Graph refuses is replaced once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::{Digest, Sha256};

use super::classify::transport_detail;
use super::timer::Timer;
use crate::config::secret::{Redactor, Secret};

/// A token is replaced this long before it expires, so that none expires during a call.
pub const REFRESH_BEFORE: TimeDelta = TimeDelta::minutes(5);
/// Tries of the sign-in endpoint when it fails for a reason that may pass (5xx, no connection).
const SIGN_IN_TRIES: u32 = 3;

/// How huntbook proves who it is.
pub enum Credential {
    Secret {
        client_id: String,
        secret: Secret,
    },
    Certificate {
        client_id: String,
        key: Box<EncodingKey>,
        thumbprint: String,
    },
    ManagedIdentity {
        client_id: Option<String>,
        endpoint: IdentityEndpoint,
    },
    /// Workload identity federation: the service account token in `token_file` is the client assertion.
    Federated {
        client_id: String,
        token_file: std::path::PathBuf,
    },
}

/// Where a managed identity's tokens come from.
pub enum IdentityEndpoint {
    /// The Azure VM instance metadata service.
    Imds(url::Url),
    /// App Service, Functions, Container Apps, Automation: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    Hosted { url: url::Url, header: Secret },
}

const IMDS_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

impl IdentityEndpoint {
    /// The endpoint the environment offers: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` when set, else IMDS.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<IdentityEndpoint, String> {
        match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
            (Some(endpoint), Some(header)) => {
                let url = url::Url::parse(&endpoint)
                    .map_err(|e| format!("IDENTITY_ENDPOINT is not a URL ({e}): {endpoint}"))?;
                Ok(IdentityEndpoint::Hosted { url, header: Secret::new(header) })
            }
            (Some(_), None) => Err("IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not".to_string()),
            _ => Ok(IdentityEndpoint::Imds(url::Url::parse(IMDS_URL).map_err(|e| e.to_string())?)),
        }
    }
}

impl Credential {
    /// A certificate credential from one PEM file holding the certificate and its RSA private key.
    pub fn certificate(client_id: &str, path: &Path) -> Result<Credential, String> {
        let text = std::fs::read(path).map_err(|e| format!("reading the certificate {}: {e}", path.display()))?;
        let blocks = pem::parse_many(&text).map_err(|e| format!("{} is not PEM: {e}", path.display()))?;
        let certificate = blocks.iter().find(|block| block.tag() == "CERTIFICATE").ok_or_else(|| {
            format!(
                "{} has no certificate (-----BEGIN CERTIFICATE-----); put the certificate and key in one file",
                path.display()
            )
        })?;
        let key_block = blocks.iter().find(|block| block.tag().ends_with("PRIVATE KEY")).ok_or_else(|| {
            format!(
                "{} has no private key (-----BEGIN PRIVATE KEY-----); put the certificate and key in one file",
                path.display()
            )
        })?;
        let key = EncodingKey::from_rsa_pem(pem::encode(key_block).as_bytes())
            .map_err(|e| format!("the private key in {} is not an RSA key huntbook can use: {e}", path.display()))?;
        Ok(Credential::Certificate {
            client_id: client_id.to_string(),
            key: Box::new(key),
            thumbprint: thumbprint_s256(certificate.contents()),
        })
    }
}

/// `x5t#S256`: the base64url SHA-256 of the certificate's DER.
pub fn thumbprint_s256(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

#[derive(Clone)]
struct Cached {
    token: Arc<str>,
    /// Five minutes before it expires.
    refresh_at: DateTime<Utc>,
}

/// Tokens for one tenant.
pub struct TokenSource {
    http: reqwest::Client,
    /// `{login}/{tenant}/oauth2/v2.0/token`.
    token_url: url::Url,
    /// `{graph resource}/.default`.
    scope: String,
    /// The Graph resource, for managed identities (`https://graph.microsoft.com`).
    resource: String,
    credential: Credential,
    timer: Arc<dyn Timer>,
    timeout: Duration,
    /// The configuration's secrets, for what the sign-in endpoint answers.
    redactor: Redactor,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SignInError(pub String);

pub struct TokenSourceParts {
    pub http: reqwest::Client,
    pub token_url: url::Url,
    pub resource: String,
    pub credential: Credential,
    pub timer: Arc<dyn Timer>,
    pub timeout: Duration,
    pub redactor: Redactor,
}

impl TokenSource {
    pub fn new(parts: TokenSourceParts) -> Self {
        TokenSource {
            http: parts.http,
            token_url: parts.token_url,
            scope: format!("{}/.default", parts.resource.trim_end_matches('/')),
            resource: parts.resource,
            credential: parts.credential,
            timer: parts.timer,
            timeout: parts.timeout,
            redactor: parts.redactor,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A token: the kept one while it is fresh, else a new one. `refused` is a token Graph has just refused: if
    /// it is still the kept one, it is replaced (once for everyone: callers queue behind one sign-in).
    pub async fn token(&self, refused: Option<&str>) -> Result<Arc<str>, SignInError> {
        let mut cached = self.cached.lock().await;
        if let Some(kept) = cached.as_ref() {
            let is_refused = refused.is_some_and(|r| *r == *kept.token);
            if !is_refused && self.timer.now() < kept.refresh_at {
                return Ok(Arc::clone(&kept.token));
            }
        }
        let fresh = self.sign_in().await?;
        let token = Arc::clone(&fresh.token);
        *cached = Some(fresh);
        Ok(token)
    }

    async fn sign_in(&self) -> Result<Cached, SignInError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let (request, sent) = self.request()?;
            // What the endpoint answers may repeat what was sent: the client secret, an assertion, a header.
            let redactor = self.redactor.with(sent.iter());
            let entra_error =
                |status, body: &[u8]| entra_error(status, &redactor.redact(&String::from_utf8_lossy(body)));
            let detail = match request.timeout(self.timeout).send().await {
                Err(error) => transport_detail(&error, self.timeout),
                Ok(response) => {
                    let status = response.status();
                    match response.bytes().await {
                        Err(error) => transport_detail(&error, self.timeout),
                        Ok(body) if status.is_success() => return self.read_token(&body),
                        // 429, 5xx, and for IMDS 404 and 410 while it updates: worth another try.
                        Ok(body) if matches!(status.as_u16(), 404 | 408 | 410 | 429 | 500..=599) => {
                            entra_error(status, &body)
                        }
                        Ok(body) => {
                            return Err(SignInError(format!(
                                "signing in at {} failed: {}",
                                self.where_(),
                                entra_error(status, &body)
                            )));
                        }
                    }
                }
            };
            if tries >= SIGN_IN_TRIES {
                return Err(SignInError(format!("signing in at {} failed {tries} times: {detail}", self.where_())));
            }
            self.timer.sleep(Duration::from_secs(2u64.pow(tries))).await;
        }
    }

    /// The sign-in endpoint, for messages (no secret is in it).
    fn where_(&self) -> String {
        match &self.credential {
            Credential::ManagedIdentity { endpoint: IdentityEndpoint::Hosted { url, .. }, .. }
            | Credential::ManagedIdentity { endpoint: IdentityEndpoint::Imds(url), .. } => {
                format!("the managed identity endpoint {}", url.host_str().unwrap_or("?"))
            }
            _ => self.token_url.to_string(),
        }
    }

    /// The sign-in request, and the secrets in it (an assertion, a header) that the configuration does not hold.
    fn request(&self) -> Result<(reqwest::RequestBuilder, Vec<Secret>), SignInError> {
        let form = |fields: Vec<(&str, String)>| self.http.post(self.token_url.clone()).form(&fields);
        let mut sent = Vec::new();
        let request = match &self.credential {
            Credential::Secret { client_id, secret } => {
                sent.push(secret.clone());
                form(vec![
                    ("client_id", client_id.clone()),
                    ("scope", self.scope.clone()),
                    ("client_secret", secret.expose().to_string()),
                    ("grant_type", "client_credentials".to_string()),
                ])
            }
            Credential::Certificate { client_id, key, thumbprint } => {
                let assertion = self.assertion(client_id, key, thumbprint)?;
                sent.push(Secret::new(assertion.clone()));
                form(vec![
                    ("client_id", client_id.clone()),
                    ("scope", self.scope.clone()),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string()),
                    ("client_assertion", assertion),
                    ("grant_type", "client_credentials".to_string()),
                ])
            }
            Credential::Federated { client_id, token_file } => {
                let assertion = std::fs::read_to_string(token_file).map_err(|e| {
                    SignInError(format!(
                        "reading the federated token {} (AZURE_FEDERATED_TOKEN_FILE): {e}",
                        token_file.display()
                    ))
                })?;
                sent.push(Secret::new(assertion.trim()));
                form(vec![
                    ("client_id", client_id.clone()),
                    ("scope", self.scope.clone()),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string()),
                    ("client_assertion", assertion.trim().to_string()),
                    ("grant_type", "client_credentials".to_string()),
                ])
            }
            Credential::ManagedIdentity { client_id, endpoint } => {
                let mut query = vec![("resource", self.resource.clone())];
                if let Some(id) = client_id {
                    query.push(("client_id", id.clone()));
                }
                match endpoint {
                    IdentityEndpoint::Imds(url) => {
                        query.push(("api-version", "2018-02-01".to_string()));
                        self.http.get(url.clone()).query(&query).header("Metadata", "true")
                    }
                    IdentityEndpoint::Hosted { url, header } => {
                        sent.push(header.clone());
                        query.push(("api-version", "2019-08-01".to_string()));
                        self.http.get(url.clone()).query(&query).header("X-IDENTITY-HEADER", header.expose())
                    }
                }
            }
        };
        Ok((request, sent))
    }

    /// The signed client assertion: PS256, `x5t#S256`, `aud` the token URL, a fresh `jti`, ten minutes to live.
    fn assertion(&self, client_id: &str, key: &EncodingKey, thumbprint: &str) -> Result<String, SignInError> {
        let now = self.timer.now().timestamp();
        let mut header = Header::new(Algorithm::PS256);
        header.x5t_s256 = Some(thumbprint.to_string());
        let claims = serde_json::json!({
            "aud": self.token_url.as_str(),
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        jsonwebtoken::encode(&header, &claims, key)
            .map_err(|e| SignInError(format!("signing the client assertion failed: {e}")))
    }

    fn read_token(&self, body: &[u8]) -> Result<Cached, SignInError> {
        let bad = |what: &str| SignInError(format!("the sign-in endpoint {} answered {what}", self.where_()));
        let answer: serde_json::Value = serde_json::from_slice(body).map_err(|_| bad("something that is not JSON"))?;
        let token = answer.get("access_token").and_then(|t| t.as_str()).ok_or_else(|| bad("no access_token"))?;
        let number = |key: &str| match answer.get(key) {
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let now = self.timer.now();
        let expires = match (number("expires_in"), number("expires_on")) {
            (Some(seconds), _) => now + TimeDelta::seconds(seconds),
            (None, Some(epoch)) => DateTime::from_timestamp(epoch, 0).unwrap_or(now),
            (None, None) => return Err(bad("a token without expires_in or expires_on")),
        };
        Ok(Cached { token: Arc::from(token), refresh_at: expires - REFRESH_BEFORE })
    }
}

/// Entra's error answer: `{"error": "invalid_client", "error_description": "AADSTS7000215: …"}`, already
/// redacted (its first line is taken here: a line break through a secret would leave a part no redaction finds).
fn entra_error(status: reqwest::StatusCode, body: &str) -> String {
    let answer: Option<serde_json::Value> = serde_json::from_str(body).ok();
    // Inert: the endpoint's words reach terminals and logs (see `classify::graph_error`).
    let field =
        |key: &str| {
            answer.as_ref().and_then(|a| a.get(key)).and_then(|v| v.as_str()).map(|text| {
                crate::render::visible::made_visible(text.lines().next().unwrap_or_default(), &[]).into_owned()
            })
        };
    let status = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
    match (field("error"), field("error_description")) {
        (Some(error), Some(first_line)) => format!("{status}: {error}: {first_line}"),
        (Some(error), None) => format!("{status}: {error}"),
        _ => status,
    }
}
