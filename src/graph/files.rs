//! The MDE files API (`GET /api/files/{sha1|sha256}`), for `file_profile` with `via: mde_api`: its own token
//! audience (the Defender API, not Graph), its own permission (`File.Read.All`), its own limit (100 calls a
//! minute). A 404 is an unknown file, not a failure.

use std::sync::Arc;

use super::classify::{self, Fatal, Verdict, classify, classify_transport};
use super::{GraphClient, GraphError};

/// Calls a minute to the files API: under its limit of 100.
pub const CALLS_PER_MINUTE: u32 = 95;

/// The longest `Retry-After` waited for within a run.
const MAX_THROTTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

const FILES_PERMISSION: &str = "File.Read.All (WindowsDefenderATP)";

impl GraphClient {
    /// The File entity of a hash, or `None` when the service does not know the file.
    pub async fn file_info(&self, hash: &str) -> Result<Option<serde_json::Value>, GraphError> {
        if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(GraphError::Refused(format!("{hash:?} is not a SHA1 or SHA256")));
        }
        let url = self.mde_url.join(&format!("api/files/{hash}")).map_err(|e| GraphError::Refused(e.to_string()))?;
        let (mut calls, mut failed, mut throttled) = (0u32, 0u32, 0u32);
        let mut refused: Option<Arc<str>> = None;
        loop {
            let token = self.mde_tokens.token(refused.as_deref()).await.map_err(|e| GraphError::SignIn(e.0))?;
            self.mde_rate.admit(self.timer.as_ref()).await;
            calls += 1;
            let sent = self.http.get(url.clone()).bearer_auth(&*token).timeout(self.policy.timeout).send().await;
            let verdict = match sent {
                Err(error) => classify_transport(&error, self.policy.timeout),
                Ok(response) => {
                    let (status, headers) = (response.status(), response.headers().clone());
                    let body = match response.bytes().await {
                        Ok(body) => super::without_token(body, &token),
                        Err(error) => {
                            failed += 1;
                            if failed >= self.policy.attempts {
                                return Err(GraphError::GaveUp {
                                    calls,
                                    detail: classify::transport_detail(&error, self.policy.timeout),
                                });
                            }
                            self.timer.sleep(self.policy.backoff(failed)).await;
                            continue;
                        }
                    };
                    match status.as_u16() {
                        404 => return Ok(None),
                        403 => {
                            let said = classify::graph_error(&body).map(|e| e.message).unwrap_or_default();
                            return Err(GraphError::Permission(format!(
                                "the files API answered 403 Forbidden{}; the app registration needs the application \
                                 permission {FILES_PERMISSION}, with admin consent",
                                if said.is_empty() { String::new() } else { format!(" ({said})") }
                            )));
                        }
                        200 => match serde_json::from_slice(&body) {
                            Ok(entity) => return Ok(Some(entity)),
                            Err(e) => {
                                Verdict::Transient { detail: format!("the files API answered with no JSON: {e}") }
                            }
                        },
                        _ => classify(status, &headers, &body, self.timer.now()),
                    }
                }
            };
            match verdict {
                Verdict::Success => return Err(GraphError::Refused("the files API answered without a file".into())),
                Verdict::Reauthenticate { detail } => {
                    if refused.is_some() {
                        return Err(GraphError::SignIn(format!(
                            "the files API refused a fresh token of {}: {detail}",
                            self.name
                        )));
                    }
                    refused = Some(token);
                }
                Verdict::Throttled { after, detail } => {
                    throttled += 1;
                    let wait = after.unwrap_or_else(|| self.policy.backoff(throttled).max(self.policy.backoff));
                    if throttled >= self.policy.throttled_attempts || wait > MAX_THROTTLE_WAIT {
                        return Err(GraphError::GaveUp { calls, detail: format!("the files API throttled: {detail}") });
                    }
                    self.timer.sleep(wait).await;
                }
                Verdict::Transient { detail } => {
                    failed += 1;
                    if failed >= self.policy.attempts {
                        return Err(GraphError::GaveUp { calls, detail: format!("the files API: {detail}") });
                    }
                    self.timer.sleep(self.policy.backoff(failed)).await;
                }
                Verdict::Fatal(Fatal::Query(message) | Fatal::Other(message)) => {
                    return Err(GraphError::Refused(format!("the files API: {message}")));
                }
                Verdict::Fatal(Fatal::Permission(message)) => return Err(GraphError::Permission(message)),
            }
        }
    }
}
