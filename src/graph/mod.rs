//! Microsoft Graph, as huntbook uses it: signing in to a tenant, and `runHuntingQuery` with every failure the
//! service can produce handled — classified once (`classify`), retried within bounds, throttled per tenant.
//! Nothing here knows whether it talks to Graph or to `huntbook emulate`: only the base URLs differ.

pub mod auth;
pub mod classify;
mod files;
pub mod hunting;
pub mod rate;
pub mod timer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngExt;
use reqwest::header::CONTENT_TYPE;

use self::auth::{Credential, IdentityEndpoint, TokenSource, TokenSourceParts};
use self::classify::{Fatal, Verdict, classify, classify_transport};
use self::hunting::{HuntingAnswer, parse_answer, request_body};
use self::rate::CallRate;
use self::timer::Timer;
use crate::config::secret::{Redactor, Secret};
use crate::config::tenant::{Cloud, TenantAuth, TenantConfig};
use crate::schedule::Window;

/// The Defender API of a national cloud (the MDE files API) and the resource its tokens are for.
pub fn mde_urls(cloud: Cloud) -> (&'static str, &'static str) {
    match cloud {
        Cloud::Global => ("https://api.security.microsoft.com", "https://api.securitycenter.microsoft.com"),
        Cloud::UsGov | Cloud::UsGovDod => {
            ("https://api-gov.security.microsoft.us", "https://api-gov.securitycenter.microsoft.us")
        }
    }
}

/// The sign-in and Graph endpoints of a national cloud.
pub fn cloud_urls(cloud: Cloud) -> (&'static str, &'static str) {
    match cloud {
        Cloud::Global => ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
        Cloud::UsGov => ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
        Cloud::UsGovDod => ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    }
}

/// How hard the client tries before a run fails.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Calls in all when the answer is a 5xx, a timeout, no connection, or a body cut short.
    pub attempts: u32,
    /// Calls in all when Graph throttles (429).
    pub throttled_attempts: u32,
    /// The first backoff; each next one doubles, with jitter, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// The longest wait a 429 may ask for (Graph blocks a tenant at 100% CPU until the next 15-minute cycle);
    /// a longer `Retry-After` fails the run at once, and the next run covers its window.
    pub max_throttle_wait: Duration,
    /// How long one call may take, answer included. Graph stops a query after 3 minutes.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            throttled_attempts: 8,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(120),
            max_throttle_wait: Duration::from_secs(15 * 60),
            timeout: Duration::from_secs(210),
        }
    }
}

impl RetryPolicy {
    /// The wait before try `n + 1` after `n` failed ones: `backoff · 2^(n-1)`, capped, between half and all of it.
    fn backoff(&self, failed: u32) -> Duration {
        let full = self.backoff.saturating_mul(2u32.saturating_pow(failed.saturating_sub(1))).min(self.max_backoff);
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// 400: Graph's message, verbatim (it is Kusto's diagnostic).
    #[error("Graph rejected the query: {0}")]
    Query(String),
    #[error("Graph refused the query: {0}")]
    Permission(String),
    #[error("{0}")]
    SignIn(String),
    /// Throttled, or failing for a reason that may pass, until the bounds of the retry policy.
    #[error("Graph failed {calls} times; the last: {detail}")]
    GaveUp { calls: u32, detail: String },
    #[error("Graph answered {0}")]
    Refused(String),
}

/// An answer to `post_once`.
pub struct PostAnswer {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

/// Why `post_once` got no answer.
#[derive(Debug)]
pub enum PostFailure {
    /// No token: the sign-in failed (after its own retries).
    SignIn(String),
    /// The request failed on the way (the URL is stripped from the error).
    Transport(reqwest::Error),
    /// The path does not make a URL.
    Url(String),
}

/// Graph for one tenant: its token, its call rate and concurrency limits, shared by every playbook.
pub struct GraphClient {
    name: String,
    http: reqwest::Client,
    graph_url: url::Url,
    tokens: TokenSource,
    rate: CallRate,
    /// The Defender API (files): its own base URL, token audience and call rate (100 a minute).
    mde_url: url::Url,
    mde_tokens: TokenSource,
    mde_rate: CallRate,
    running: tokio::sync::Semaphore,
    policy: RetryPolicy,
    timer: Arc<dyn Timer>,
    calls: Mutex<Vec<DateTime<Utc>>>,
    waits: Option<WaitNotice>,
    redactor: Redactor,
}

/// Told each wait before a retry, in a sentence (a command on a terminal prints it, so that a throttled Graph
/// is not a silent pause).
pub type WaitNotice = Arc<dyn Fn(&str) + Send + Sync>;

/// Reads an environment variable.
pub type EnvVar = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The parts of a client that do not come from the configuration.
pub struct Environment {
    pub http: reqwest::Client,
    pub timer: Arc<dyn Timer>,
    pub policy: RetryPolicy,
    /// Environment variables (for managed identities).
    pub var: EnvVar,
    /// Who hears of waits before retries; nobody by default.
    pub waits: Option<WaitNotice>,
    /// The configuration's secrets: every answer that is not a success is redacted with them (and with the
    /// bearer token and client assertion the client sent) before anything reads it.
    pub redactor: Redactor,
}

impl Environment {
    pub fn system() -> Result<Environment, String> {
        Ok(Environment {
            http: http_client()?,
            timer: Arc::new(timer::SystemTimer),
            policy: RetryPolicy::default(),
            var: Box::new(|name| std::env::var(name).ok()),
            waits: None,
            redactor: Redactor::default(),
        })
    }

    /// The system's, with every wait before a retry printed on stderr when it is a terminal — through the
    /// configuration's redactor, as any error is: the reason quotes the server's answer.
    pub fn interactive(redactor: Redactor) -> Result<Environment, String> {
        use std::io::IsTerminal;
        let mut environment = Environment { redactor: redactor.clone(), ..Environment::system()? };
        if std::io::stderr().is_terminal() {
            environment.waits = Some(Arc::new(move |line: &str| crate::say!("{}", redactor.redact(line))));
        }
        Ok(environment)
    }
}

/// The HTTP client every Graph call shares (connections are reused): TLS verified against the system's roots.
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!("huntbook/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("setting up HTTPS failed: {e}"))
}

impl GraphClient {
    pub fn new(name: &str, tenant: &TenantConfig, environment: &Environment) -> Result<GraphClient, String> {
        let (login, graph) = cloud_urls(tenant.cloud);
        let base = |url: &Option<url::Url>, default: &str| {
            let text = url.as_ref().map_or(default.to_string(), |u| u.as_str().trim_end_matches('/').to_string());
            url::Url::parse(&format!("{text}/")).map_err(|e| format!("{text}: {e}"))
        };
        // Workload identity: AKS names the authority to use (a sovereign cloud's, or a test's).
        let authority = match (&tenant.auth, &tenant.login_url) {
            (TenantAuth::WorkloadIdentity { .. }, None) => (environment.var)("AZURE_AUTHORITY_HOST")
                .map(|host| {
                    url::Url::parse(&host).map_err(|e| format!("tenant {name}: AZURE_AUTHORITY_HOST {host}: {e}"))
                })
                .transpose()?,
            _ => None,
        };
        let login_url = base(&authority.or_else(|| tenant.login_url.clone()), login)?;
        let graph_url = base(&tenant.graph_url, graph)?;
        let token_url = login_url
            .join(&format!("{}/oauth2/v2.0/token", tenant.tenant_id))
            .map_err(|e| format!("the token URL of {name}: {e}"))?;
        let credential = || -> Result<Credential, String> {
            Ok(match &tenant.auth {
                TenantAuth::ClientSecret { client_id, secret } => {
                    Credential::Secret { client_id: client_id.clone(), secret: secret.clone() }
                }
                TenantAuth::Certificate { client_id, path } => {
                    Credential::certificate(client_id, path).map_err(|e| format!("tenant {name}: {e}"))?
                }
                TenantAuth::WorkloadIdentity { client_id } => {
                    let missing = |variable: &str| {
                        format!(
                            "tenant {name}: workload identity needs {variable}, which Azure Kubernetes Service sets in a pod \
                         whose service account is federated (label azure.workload.identity/use: \"true\")"
                        )
                    };
                    let client_id = match client_id {
                        Some(id) => id.clone(),
                        None => (environment.var)("AZURE_CLIENT_ID").ok_or_else(|| missing("AZURE_CLIENT_ID"))?,
                    };
                    let token_file = (environment.var)("AZURE_FEDERATED_TOKEN_FILE")
                        .ok_or_else(|| missing("AZURE_FEDERATED_TOKEN_FILE"))?;
                    Credential::Federated { client_id, token_file: token_file.into() }
                }
                TenantAuth::ManagedIdentity { client_id } => Credential::ManagedIdentity {
                    client_id: client_id.clone(),
                    endpoint: IdentityEndpoint::from_env(&environment.var)
                        .map_err(|e| format!("tenant {name}: {e}"))?,
                },
            })
        };
        let tokens = TokenSource::new(TokenSourceParts {
            http: environment.http.clone(),
            token_url: token_url.clone(),
            resource: graph.to_string(),
            credential: credential()?,
            timer: Arc::clone(&environment.timer),
            timeout: environment.policy.timeout.min(Duration::from_secs(60)),
            redactor: environment.redactor.clone(),
        });
        let (mde, mde_resource) = mde_urls(tenant.cloud);
        let mde_url = base(&tenant.mde_url, mde)?;
        let mde_tokens = TokenSource::new(TokenSourceParts {
            http: environment.http.clone(),
            token_url,
            resource: mde_resource.to_string(),
            credential: credential()?,
            timer: Arc::clone(&environment.timer),
            timeout: environment.policy.timeout.min(Duration::from_secs(60)),
            redactor: environment.redactor.clone(),
        });
        Ok(GraphClient {
            name: name.to_string(),
            http: environment.http.clone(),
            graph_url,
            tokens,
            rate: CallRate::new(tenant.hunting_calls_per_minute),
            mde_url,
            mde_tokens,
            mde_rate: CallRate::new(files::CALLS_PER_MINUTE),
            running: tokio::sync::Semaphore::new(tenant.concurrent_queries.max(1) as usize),
            policy: environment.policy,
            timer: Arc::clone(&environment.timer),
            calls: Mutex::new(Vec::new()),
            waits: environment.waits.clone(),
            redactor: environment.redactor.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Says what the client waits for, to whoever listens.
    /// Every wait is in the log (a warning: `-v` shows it, also when the output is a pipe, as under cron or
    /// systemd); on a terminal without `-v`, the sentence is printed instead.
    fn tell_wait(&self, wait: Duration, why: &str) {
        let seconds = wait.as_secs_f64();
        tracing::warn!(tenant = %self.name, wait_seconds = seconds, reason = %why, "waiting before asking Graph again");
        if let Some(notice) = &self.waits
            && !tracing::enabled!(tracing::Level::WARN)
        {
            notice(&format!("waiting {seconds:.0} s before asking again (tenant {}): {why}", self.name));
        }
    }

    /// An answer with every secret it may repeat blotted out (a proxy's error page echoing the request): the
    /// bearer token, in any form — which only this client knows —, and the configuration's secrets.
    fn without_secrets(&self, body: bytes::Bytes, token: &str) -> bytes::Bytes {
        let text = String::from_utf8_lossy(&body);
        let redacted = self.redactor.with([&Secret::new(token)]).redact(&text);
        if redacted == text { body } else { bytes::Bytes::from(redacted.into_bytes()) }
    }

    /// The client's clock (for reading `Retry-After` dates of its answers).
    pub fn now(&self) -> DateTime<Utc> {
        self.timer.now()
    }

    /// When each hunting call of this client was let through by the call rate, in order.
    pub fn calls(&self) -> Vec<DateTime<Utc>> {
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Runs a hunting query over `window` (Graph's `Timespan`; without one Graph reads the last 30 days).
    pub async fn run_hunting_query(&self, query: &str, window: Option<Window>) -> Result<HuntingAnswer, GraphError> {
        let url =
            self.graph_url.join("v1.0/security/runHuntingQuery").map_err(|e| GraphError::Refused(e.to_string()))?;
        let body = request_body(query, window);
        let mut tries = Tries::new(&self.policy, "Graph", "", self.policy.max_throttle_wait);
        loop {
            let token = self.tokens.token(tries.refused()).await.map_err(|e| GraphError::SignIn(e.0))?;
            let (verdict, answer) = {
                let _permit = self.running.acquire().await.map_err(|e| GraphError::Refused(e.to_string()))?;
                let admitted = self.rate.admit(self.timer.as_ref()).await;
                self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(admitted);
                tries.calls += 1;
                self.call(&url, &token, &body).await
            };
            let verdict = match (verdict, answer) {
                (Verdict::Success, Some(bytes)) => match parse_big(bytes).await {
                    Ok(answer) => return Ok(answer),
                    Err(problem) => Verdict::Transient { detail: problem },
                },
                (Verdict::Success, None) => Verdict::Transient { detail: "a success without a body".into() },
                (Verdict::Fatal(Fatal::Query(message)), _) => return Err(GraphError::Query(message)),
                (Verdict::Fatal(Fatal::Permission(message)), _) => return Err(GraphError::Permission(message)),
                (Verdict::Fatal(Fatal::Other(message)), _) => return Err(GraphError::Refused(message)),
                (verdict, _) => verdict,
            };
            match tries.after(verdict, token, &self.name)? {
                Next::Now => {}
                Next::Throttled(wait, why) => {
                    crate::telemetry::graph_throttled(&self.name, wait);
                    self.tell_wait(wait, &why);
                    self.timer.sleep(wait).await;
                }
                Next::Wait(wait, why) => {
                    self.tell_wait(wait, &why);
                    self.timer.sleep(wait).await;
                }
            }
        }
    }

    /// One POST of `body` (JSON) to `path` under Graph's v1.0 root with the tenant's token — for deliveries,
    /// whose retries are the outbox's business. A token Graph refuses (401) is replaced once. The answer is
    /// returned as it came, for the caller to judge.
    pub async fn post_once(&self, path: &str, body: Vec<u8>, timeout: Duration) -> Result<PostAnswer, PostFailure> {
        let url = self.graph_url.join(&format!("v1.0/{path}")).map_err(|e| PostFailure::Url(e.to_string()))?;
        let mut refused: Option<Arc<str>> = None;
        loop {
            let token = self.tokens.token(refused.as_deref()).await.map_err(|e| PostFailure::SignIn(e.0))?;
            let response = self
                .http
                .post(url.clone())
                .bearer_auth(&*token)
                .header(CONTENT_TYPE, "application/json")
                .timeout(timeout)
                .body(body.clone())
                .send()
                .await
                .map_err(|e| PostFailure::Transport(e.without_url()))?;
            let (status, headers) = (response.status(), response.headers().clone());
            let answer = response.bytes().await.map_err(|e| PostFailure::Transport(e.without_url()))?;
            let answer = self.without_secrets(answer, &token);
            if status == reqwest::StatusCode::UNAUTHORIZED && refused.is_none() {
                refused = Some(token);
                continue;
            }
            return Ok(PostAnswer { status, headers, body: answer });
        }
    }

    /// One call: the verdict, and the body when it is a success.
    async fn call(&self, url: &url::Url, token: &str, body: &str) -> (Verdict, Option<bytes::Bytes>) {
        let sent = self
            .http
            .post(url.clone())
            .bearer_auth(token)
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .timeout(self.policy.timeout)
            .body(body.to_string())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                crate::telemetry::graph_answer(&self.name, None);
                return (classify_transport(&error, self.policy.timeout), None);
            }
        };
        let (status, headers) = (response.status(), response.headers().clone());
        crate::telemetry::graph_answer(&self.name, Some(status.as_u16()));
        match response.bytes().await {
            Err(error) => (classify_transport(&error, self.policy.timeout), None),
            Ok(bytes) => {
                let bytes = if status.is_success() { bytes } else { self.without_secrets(bytes, token) };
                let verdict = classify(status, &headers, &bytes, self.timer.now());
                let answer = matches!(verdict, Verdict::Success).then_some(bytes);
                (verdict, answer)
            }
        }
    }
}

/// The tries of one request, and what the verdict of the latest means: another try at once with a fresh token
/// (a 401, once), after a wait (throttled, or a failure that may pass), or none (the policy's bounds reached).
struct Tries<'a> {
    policy: &'a RetryPolicy,
    /// Who answers, for messages: `Graph`, `the files API`.
    service: &'static str,
    /// Put before what a failure says (`the files API: `), or nothing.
    prefix: &'static str,
    /// The longest `Retry-After` waited for within a run.
    max_throttle_wait: Duration,
    pub calls: u32,
    failed: u32,
    throttled: u32,
    /// A token the service refused (401): replaced once per request; a second refusal fails it.
    refused: Option<Arc<str>>,
}

enum Next {
    /// Try again now (with a fresh token).
    Now,
    /// Try again after this wait, which the service asked for; why, in words.
    Throttled(Duration, String),
    /// Try again after this backoff; why, in words.
    Wait(Duration, String),
}

impl<'a> Tries<'a> {
    fn new(policy: &'a RetryPolicy, service: &'static str, prefix: &'static str, max_throttle_wait: Duration) -> Self {
        Tries { policy, service, prefix, max_throttle_wait, calls: 0, failed: 0, throttled: 0, refused: None }
    }

    /// The token to replace at the next sign-in, if the service refused it.
    fn refused(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    /// What to do after a failed try (`verdict` is not a success, nor fatal: the caller answers those).
    fn after(&mut self, verdict: Verdict, token: Arc<str>, tenant: &str) -> Result<Next, GraphError> {
        let prefix = self.prefix;
        match verdict {
            Verdict::Reauthenticate { detail } => {
                if self.refused.is_some() {
                    return Err(GraphError::SignIn(format!(
                        "{} refused a fresh token of {tenant}: {detail}",
                        self.service
                    )));
                }
                self.refused = Some(token);
                Ok(Next::Now)
            }
            Verdict::Throttled { after, detail } => {
                self.throttled += 1;
                let wait = after.unwrap_or_else(|| self.policy.backoff(self.throttled).max(self.policy.backoff));
                if self.throttled >= self.policy.throttled_attempts {
                    return Err(GraphError::GaveUp {
                        calls: self.calls,
                        detail: format!("{prefix}throttled: {detail}"),
                    });
                }
                if wait > self.max_throttle_wait {
                    return Err(GraphError::GaveUp {
                        calls: self.calls,
                        detail: format!(
                            "{prefix}throttled: {detail}; {} asks to wait {} s, longer than huntbook waits within a run",
                            self.service,
                            wait.as_secs()
                        ),
                    });
                }
                Ok(Next::Throttled(
                    wait,
                    format!(
                        "{prefix}throttled ({}, try {} of {}): {detail}",
                        self.service, self.throttled, self.policy.throttled_attempts
                    ),
                ))
            }
            Verdict::Transient { detail } => {
                self.failed += 1;
                if self.failed >= self.policy.attempts {
                    return Err(GraphError::GaveUp { calls: self.calls, detail: format!("{prefix}{detail}") });
                }
                let why = format!("{prefix}{detail} (try {} of {})", self.failed, self.policy.attempts);
                Ok(Next::Wait(self.policy.backoff(self.failed), why))
            }
            Verdict::Success | Verdict::Fatal(_) => {
                Err(GraphError::Refused(format!("{prefix}an answer huntbook did not expect here")))
            }
        }
    }
}

/// Reads an answer off the async threads: a 50 MB result takes a while to decode.
async fn parse_big(bytes: bytes::Bytes) -> Result<HuntingAnswer, String> {
    if bytes.len() < 1 << 20 {
        return parse_answer(&bytes);
    }
    tokio::task::spawn_blocking(move || parse_answer(&bytes)).await.map_err(|e| format!("reading the answer: {e}"))?
}
