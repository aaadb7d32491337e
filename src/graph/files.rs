//! The MDE files API (`GET /api/files/{sha1|sha256}`), for `file_profile` with `via: mde_api`: its own token
//! audience (the Defender API, not Graph), its own permission (`File.Read.All`), its own limit (100 calls a
//! minute). A 404 is an unknown file, not a failure.

use super::classify::{self, Fatal, Verdict, classify, classify_transport};
use super::{GraphClient, GraphError, Next, Tries};

/// Calls a minute to the files API: under its limit of 100.
pub const CALLS_PER_MINUTE: u32 = 95;

/// The longest `Retry-After` waited for within a run.
const MAX_THROTTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

const FILES_PERMISSION: &str = "File.Read.All (WindowsDefenderATP)";

/// A 403 of the files API: the permission it needs, and what the service said.
fn forbidden(body: &[u8]) -> GraphError {
    let said = classify::graph_error(body).map(|e| e.message).unwrap_or_default();
    GraphError::Permission(format!(
        "the files API answered 403 Forbidden{}; the app registration needs the application permission \
         {FILES_PERMISSION}, with admin consent",
        if said.is_empty() { String::new() } else { format!(" ({said})") }
    ))
}

impl GraphClient {
    /// The File entity of a hash, or `None` when the service does not know the file.
    pub async fn file_info(&self, hash: &str) -> Result<Option<serde_json::Value>, GraphError> {
        if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(GraphError::Refused(format!("{hash:?} is not a SHA1 or SHA256")));
        }
        let url = self.mde_url.join(&format!("api/files/{hash}")).map_err(|e| GraphError::Refused(e.to_string()))?;
        let mut tries = Tries::new(&self.policy, "the files API", "the files API: ", MAX_THROTTLE_WAIT);
        loop {
            let token = self.mde_tokens.token(tries.refused()).await.map_err(|e| GraphError::SignIn(e.0))?;
            self.mde_rate.admit(self.timer.as_ref()).await;
            tries.calls += 1;
            let sent = self.http.get(url.clone()).bearer_auth(&*token).timeout(self.policy.timeout).send().await;
            let verdict = match sent {
                Err(error) => classify_transport(&error, self.policy.timeout),
                Ok(response) => {
                    let (status, headers) = (response.status(), response.headers().clone());
                    match response.bytes().await {
                        Err(error) => classify_transport(&error, self.policy.timeout),
                        Ok(body) => {
                            let body = if status.is_success() { body } else { self.without_secrets(body, &token) };
                            match status.as_u16() {
                                404 => return Ok(None),
                                403 => return Err(forbidden(&body)),
                                200 => match serde_json::from_slice(&body) {
                                    Ok(entity) => return Ok(Some(entity)),
                                    Err(e) => Verdict::Transient { detail: format!("an answer that is not JSON: {e}") },
                                },
                                _ => classify(status, &headers, &body, self.timer.now()),
                            }
                        }
                    }
                }
            };
            if let Verdict::Fatal(Fatal::Query(message) | Fatal::Other(message) | Fatal::Permission(message)) = verdict
            {
                return Err(GraphError::Refused(format!("the files API: {message}")));
            }
            match tries.after(verdict, token, &self.name)? {
                Next::Now => {}
                Next::Throttled(wait, why) | Next::Wait(wait, why) => {
                    self.tell_wait(wait, &why);
                    self.timer.sleep(wait).await;
                }
            }
        }
    }
}
