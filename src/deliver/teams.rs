//! The Teams sink: POSTs the stored card envelope (`{"type":"message","attachments":[…]}`) to a Teams
//! Workflows "When a Teams webhook request is received" URL. 202 is success (the flow runs later; rendering
//! failures show only in its run history, which is why cards are validated and kept small when rendered).
//!
//! The URL is a secret — its query string carries the signature — so it is sent and nothing else: logs,
//! errors and listings show `host#hash` (`Secret::redacted_url`), and transport errors are reported without it.

use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::CONTENT_TYPE;

use super::{Delivery, Outgoing, Sink, classify};
use crate::config::Secret;
use crate::graph::timer::Timer;

/// How long a webhook may take to answer.
pub const TEAMS_TIMEOUT: Duration = Duration::from_secs(30);

/// Teams throttles a webhook above four requests a second.
pub const MAX_PER_SECOND: f64 = 4.0;

pub struct TeamsSink {
    http: reqwest::Client,
    url: Secret,
    shown: String,
    pace: Duration,
    timeout: Duration,
    timer: std::sync::Arc<dyn Timer>,
}

impl TeamsSink {
    /// A sink posting to `url` at most `per_second` times a second (capped at four).
    pub fn new(http: reqwest::Client, url: Secret, per_second: f64, timer: std::sync::Arc<dyn Timer>) -> TeamsSink {
        let per_second = per_second.clamp(0.001, MAX_PER_SECOND);
        TeamsSink {
            http,
            shown: format!("Teams webhook {}", url.redacted_url()),
            url,
            pace: Duration::from_secs_f64(1.0 / per_second),
            timeout: TEAMS_TIMEOUT,
            timer,
        }
    }

    /// The same sink with another answer timeout (tests of slow servers).
    pub fn with_timeout(mut self, timeout: Duration) -> TeamsSink {
        self.timeout = timeout;
        self
    }

    async fn post(&self, message: &Outgoing<'_>) -> Delivery {
        let sent = self
            .http
            .post(self.url.expose())
            .header(CONTENT_TYPE, "application/json")
            .timeout(self.timeout)
            .body(message.payload.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return classify::http_transport(&self.shown, &error.without_url(), self.timeout),
        };
        let (status, headers) = (response.status(), response.headers().clone());
        match response.bytes().await {
            Ok(body) => classify::http(&self.shown, status, &headers, &body, self.timer.now()),
            // The status is in: a success whose body was cut still counts, anything else is judged on the status.
            Err(_) => classify::http(&self.shown, status, &headers, b"", self.timer.now()),
        }
    }
}

impl Sink for TeamsSink {
    fn deliver<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Delivery> {
        Box::pin(self.post(message))
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn pace(&self) -> Option<Duration> {
        Some(self.pace)
    }
}

/// The HTTP client of webhooks: no redirects (a webhook that moved is a configuration problem, and following a
/// redirect would send the card somewhere nobody configured).
pub fn webhook_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!("huntbook/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("setting up HTTPS failed: {e}"))
}
