//! `huntbook emulate`: a Graph-compatible server over the local KQL engine, for tests, benchmarks and for
//! trying huntbook without a tenant. It speaks the same HTTP as the real services: the Entra token endpoint
//! (client secret or a signed client assertion), `runHuntingQuery`, the MDE files API, and the App Service
//! managed-identity endpoint; and it misbehaves on request (`--fail`, `--retry-after`, `--latency`,
//! `--truncate-body`, tokens that expire) so that the real client meets every failure over real HTTP.

// Handlers answer refusals as ready HTTP responses; boxing them would only add noise.
#![allow(clippy::result_large_err)]

pub mod faults;
pub mod timespan;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::json;

use self::faults::{Fault, FaultPlan};
use crate::kql::format::write_graph_json;
use crate::kql::table::Table;
use crate::schedule::Window;
use crate::source::local::LocalSource;
use crate::source::{QueryRequest, Source, SourceError};

/// How the emulator behaves.
pub struct EmulatorOptions {
    /// The data it serves.
    pub source: Arc<LocalSource>,
    /// What `now()` is; the clock when unset.
    pub now: Option<DateTime<Utc>>,
    /// Only this app may sign in (any when unset).
    pub client_id: Option<String>,
    /// The client secret it accepts; with neither a secret nor a certificate, any credential is accepted.
    pub client_secret: Option<String>,
    /// The certificate (PEM) whose key must have signed client assertions.
    pub certificate: Option<Vec<u8>>,
    /// `X-IDENTITY-HEADER` of the managed-identity endpoint `/msi/token` (off when unset).
    pub identity_header: Option<String>,
    /// Workload identity federation: client assertions without a certificate thumbprint must be tokens of this
    /// Kubernetes service account (`sub`, such as `system:serviceaccount:soc:huntbook`), for the audience
    /// `api://AzureADTokenExchange`, not expired. (Entra also checks the issuer's signature with the cluster's
    /// published keys; the emulator has none to check with.)
    pub federated_subject: Option<String>,
    /// `expires_in` of the tokens it issues.
    pub token_lifetime: Duration,
    /// Hunting calls a token is good for before it is refused as expired (unlimited when unset).
    pub token_uses: Option<u32>,
    pub faults: Vec<Fault>,
    /// Faults of the MDE files API, drawn like `faults`.
    pub file_faults: Vec<Fault>,
    /// The `Retry-After` value sent with 429 and 503 answers, verbatim (none when unset).
    pub retry_after: Option<String>,
    pub latency: Duration,
    /// The share of successful hunting answers whose body is cut off halfway.
    pub truncate_body: f64,
    pub seed: u64,
    /// Rows a result may have (Graph: 100,000).
    pub row_limit: usize,
}

/// One request the emulator answered, for tests (`GET /_emulator/calls`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CallRecord {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The first line of a hunting query (which table or `datatable` it starts from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Milliseconds since the emulator started.
    pub at_ms: u64,
}

struct Issued {
    issued: Instant,
    uses: u32,
    /// The resource the token is for (`https://graph.microsoft.com`, `https://api.securitycenter.microsoft.com`).
    resource: String,
}

/// Which API a call is for: a token for one is refused by the other, as Entra's audiences are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Audience {
    Graph,
    Defender,
}

impl Audience {
    fn accepts(self, resource: &str) -> bool {
        match self {
            Audience::Graph => resource.contains("graph.microsoft"),
            Audience::Defender => resource.contains("securitycenter") || resource.contains("security.microsoft"),
        }
    }
}

struct Emulator {
    options: EmulatorOptions,
    certificate: Option<(DecodingKey, String)>,
    started: Instant,
    tokens: Mutex<HashMap<String, Issued>>,
    assertions_seen: Mutex<HashSet<String>>,
    plan: Mutex<FaultPlan>,
    /// Faults of the files API (`--fail-files`).
    files_plan: Mutex<FaultPlan>,
    calls: Mutex<Vec<CallRecord>>,
    /// Every sendMail request accepted: `{"mailbox": …, "request": {…}}`.
    mail: Mutex<Vec<serde_json::Value>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The emulator's routes, ready to serve.
pub fn router(options: EmulatorOptions) -> Result<Router, String> {
    let certificate = match &options.certificate {
        None => None,
        Some(pem_text) => {
            let blocks = pem::parse_many(pem_text).map_err(|e| format!("--certificate is not PEM: {e}"))?;
            let block = blocks
                .iter()
                .find(|b| b.tag() == "CERTIFICATE")
                .ok_or("--certificate has no -----BEGIN CERTIFICATE----- block")?;
            let key = DecodingKey::from_rsa_pem(pem::encode(block).as_bytes())
                .map_err(|e| format!("--certificate does not hold an RSA public key: {e}"))?;
            Some((key, crate::graph::auth::thumbprint_s256(block.contents())))
        }
    };
    let plan = FaultPlan::new(options.faults.clone(), options.seed);
    let files_plan = FaultPlan::new(options.file_faults.clone(), options.seed);
    let state = Arc::new(Emulator {
        options,
        certificate,
        started: Instant::now(),
        tokens: Mutex::new(HashMap::new()),
        assertions_seen: Mutex::new(HashSet::new()),
        plan: Mutex::new(plan),
        files_plan: Mutex::new(files_plan),
        calls: Mutex::new(Vec::new()),
        mail: Mutex::new(Vec::new()),
    });
    Ok(Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/msi/token", get(identity_token))
        .route("/v1.0/security/runHuntingQuery", post(hunting_query))
        .route("/api/files/{sha}", get(file_info))
        .route("/api/files/{sha}/stats", get(file_stats))
        .route("/v1.0/users/{mailbox}/sendMail", post(send_mail).layer(axum::extract::DefaultBodyLimit::max(64 << 20)))
        .route("/_emulator/calls", get(calls))
        .route("/_emulator/mail", get(mail))
        .with_state(state))
}

impl Emulator {
    fn record(&self, method: &str, path: String, status: StatusCode) {
        self.record_query(method, path, status, None);
    }

    fn record_query(&self, method: &str, path: String, status: StatusCode, query: Option<String>) {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let call = CallRecord { method: method.to_string(), path, status: status.as_u16(), query, at_ms };
        lock(&self.calls).push(call);
    }

    fn now(&self) -> DateTime<Utc> {
        self.options.now.unwrap_or_else(Utc::now)
    }

    fn issue(&self, resource: &str) -> String {
        let token = format!("emulator.{}", uuid::Uuid::new_v4().simple());
        let issued =
            Issued { issued: Instant::now(), uses: 0, resource: resource.trim_end_matches("/.default").to_string() };
        lock(&self.tokens).insert(token.clone(), issued);
        token
    }

    /// Checks the bearer token of a Graph or MDE call — issued here, for this API, fresh; counts the call
    /// against the token's uses.
    fn authorize(&self, headers: &HeaderMap, audience: Audience) -> Result<(), Response> {
        let refuse = |message: &str| graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message);
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| refuse("Access token is empty."))?;
        let mut tokens = lock(&self.tokens);
        let issued =
            tokens.get_mut(token).ok_or_else(|| refuse("Access token validation failure. Invalid audience."))?;
        if !audience.accepts(&issued.resource) {
            return Err(refuse("Access token validation failure. Invalid audience."));
        }
        let used_up = self.options.token_uses.is_some_and(|uses| issued.uses >= uses);
        if issued.issued.elapsed() >= self.options.token_lifetime || used_up {
            return Err(refuse("Lifetime validation failed, the token is expired."));
        }
        issued.uses += 1;
        Ok(())
    }
}

/// Graph's error envelope.
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": uuid::Uuid::new_v4().to_string(),
                "client-request-id": uuid::Uuid::new_v4().to_string(),
            }
        }
    });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Entra's error answer.
fn entra_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}"),
        "error_codes": [code],
        "timestamp": Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn token(
    State(emulator): State<Arc<Emulator>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let response = check_credentials(&emulator, &tenant, &headers, &form).unwrap_or_else(|refusal| refusal);
    emulator.record("POST", format!("/{tenant}/oauth2/v2.0/token"), response.status());
    response
}

fn check_credentials(
    emulator: &Emulator,
    tenant: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Response, Response> {
    let options = &emulator.options;
    let field = |key: &str| form.get(key).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        ));
    }
    if !field("scope").ends_with("/.default") {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The provided request must include a 'scope' input parameter ending in /.default.",
        ));
    }
    let client_id = field("client_id");
    if options.client_id.as_deref().is_some_and(|expected| expected != client_id) {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
        ));
    }
    let open = options.client_secret.is_none() && emulator.certificate.is_none() && options.federated_subject.is_none();
    if let Some(secret) = form.get("client_secret") {
        if !open && options.client_secret.as_deref() != Some(secret.as_str()) {
            return Err(entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret \
                 value, not the client secret ID.",
            ));
        }
    } else if let Some(assertion) = form.get("client_assertion") {
        if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
            return Err(entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90014,
                "The request body must contain client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            ));
        }
        let federated = jsonwebtoken::decode_header(assertion).is_ok_and(|header| header.x5t_s256.is_none());
        if let (Some(subject), true) = (&options.federated_subject, federated) {
            check_federated(emulator, assertion, subject)?;
        } else if !open {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            let audience = format!("http://{host}/{tenant}/oauth2/v2.0/token");
            check_assertion(emulator, assertion, client_id, &audience)?;
        }
    } else {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    let lifetime = options.token_lifetime.as_secs();
    let body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": emulator.issue(field("scope")),
    });
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}

/// A federated credential: a service account token for Entra's token exchange, of the expected subject, not
/// expired. Its signature is not checked (Entra checks it against the cluster issuer's published keys).
fn check_federated(emulator: &Emulator, assertion: &str, subject: &str) -> Result<(), Response> {
    let refuse = |code: u32, text: &str| entra_error(StatusCode::UNAUTHORIZED, "invalid_client", code, text);
    let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|e| refuse(700211, &format!("The federated token is not a valid JWT: {e}.")))?;
    let audience_ok = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => aud == "api://AzureADTokenExchange",
        Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| a == "api://AzureADTokenExchange"),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse(700212, "No matching federated identity record found for presented assertion audience."));
    }
    let expires = claims.get("exp").and_then(serde_json::Value::as_i64).unwrap_or(0);
    if expires <= emulator.now().timestamp() {
        return Err(refuse(
            700024,
            "Client assertion is not within its valid time range (the federated token expired).",
        ));
    }
    let sub = claims.get("sub").and_then(|s| s.as_str()).unwrap_or_default();
    if sub != subject {
        return Err(refuse(
            70021,
            &format!("No matching federated identity record found for presented assertion subject '{sub}'."),
        ));
    }
    Ok(())
}

/// A client assertion: signed by the configured certificate's key (PS256 or RS256), naming it by `x5t#S256`,
/// for this token endpoint, from this app, not expired, and never seen before.
fn check_assertion(emulator: &Emulator, assertion: &str, client_id: &str, audience: &str) -> Result<(), Response> {
    let refuse = |code: u32, text: &str| entra_error(StatusCode::UNAUTHORIZED, "invalid_client", code, text);
    let Some((key, thumbprint)) = &emulator.certificate else {
        return Err(refuse(700027, "No certificate is registered on the application: use a client secret."));
    };
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|e| refuse(50012, &format!("The client assertion is not a valid JWT: {e}.")))?;
    if header.x5t_s256.as_deref() != Some(thumbprint.as_str()) {
        return Err(refuse(
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application.",
        ));
    }
    if !matches!(header.alg, jsonwebtoken::Algorithm::PS256 | jsonwebtoken::Algorithm::RS256) {
        return Err(refuse(5002738, "The client assertion must be signed with PS256 or RS256."));
    }
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_string());
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(assertion, key, &validation)
        .map_err(|e| {
            refuse(700027, &format!("Client assertion failed signature validation or its claims are wrong: {e}."))
        })?
        .claims;
    let jti = claims.get("jti").and_then(|j| j.as_str()).unwrap_or_default().to_string();
    if jti.is_empty() || !lock(&emulator.assertions_seen).insert(jti) {
        return Err(refuse(7000222, "The client assertion has no jti, or its jti was used before (a replay)."));
    }
    Ok(())
}

async fn identity_token(
    State(emulator): State<Arc<Emulator>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let response = match &emulator.options.identity_header {
        None => (StatusCode::NOT_FOUND, "no managed identity here (start the emulator with --identity-header)")
            .into_response(),
        Some(expected) => {
            let given = headers.get("X-IDENTITY-HEADER").and_then(|h| h.to_str().ok());
            if given != Some(expected.as_str()) {
                let body =
                    json!({"error": "invalid_request", "error_description": "X-IDENTITY-HEADER is missing or wrong"});
                (StatusCode::BAD_REQUEST, body.to_string()).into_response()
            } else if !query.contains_key("resource") {
                let body = json!({"error": "invalid_request", "error_description": "resource is required"});
                (StatusCode::BAD_REQUEST, body.to_string()).into_response()
            } else {
                let expires_on =
                    (Utc::now().timestamp() + emulator.options.token_lifetime.as_secs() as i64).to_string();
                let body = json!({
                    "access_token": emulator.issue(query.get("resource").map(String::as_str).unwrap_or_default()),
                    "expires_on": expires_on,
                    "resource": query.get("resource"),
                    "token_type": "Bearer",
                    "client_id": query.get("client_id").cloned().unwrap_or_else(|| "system-assigned".into()),
                });
                (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
            }
        }
    };
    emulator.record("GET", "/msi/token".into(), response.status());
    response
}

async fn hunting_query(State(emulator): State<Arc<Emulator>>, headers: HeaderMap, body: Bytes) -> Response {
    let first_line = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|request| {
        let query = request.get("Query").or_else(|| request.get("query"))?.as_str()?.to_string();
        query.lines().map(str::trim).find(|line| !line.is_empty()).map(|line| line.chars().take(120).collect())
    });
    let response = answer_hunting_query(&emulator, &headers, body).await;
    emulator.record_query("POST", "/v1.0/security/runHuntingQuery".into(), response.status(), first_line);
    response
}

async fn answer_hunting_query(emulator: &Arc<Emulator>, headers: &HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = emulator.authorize(headers, Audience::Graph) {
        return refusal;
    }
    if !emulator.options.latency.is_zero() {
        tokio::time::sleep(emulator.options.latency).await;
    }
    let fault = lock(&emulator.plan).draw();
    if let Some(status) = fault {
        return fault_response(emulator, status);
    }
    let request: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &format!("The request body is not JSON: {e}"));
        }
    };
    let field =
        |names: &[&str]| names.iter().find_map(|n| request.get(*n).and_then(|v| v.as_str())).map(str::to_string);
    let Some(query) = field(&["Query", "query"]) else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Query is required.");
    };
    let now = emulator.now();
    let (start, end) = match field(&["Timespan", "timespan"]) {
        None => (now - chrono::TimeDelta::days(30), now),
        Some(text) => match timespan::parse_timespan(&text, now) {
            Ok(window) => window,
            Err(problem) => return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &problem),
        },
    };
    let worker = Arc::clone(emulator);
    let ran = tokio::task::spawn_blocking(move || {
        let request = QueryRequest { query: &query, window: Window { start, end }, now, tenant: None };
        let mut answer = worker.options.source.run_query(&request)?;
        answer.table.rows.truncate(worker.options.row_limit);
        Ok::<Table, SourceError>(answer.table)
    })
    .await;
    let table = match ran {
        Ok(Ok(table)) => table,
        Ok(Err(SourceError::Invalid(errors))) => {
            let message = match errors.first() {
                // Graph would run it: say that this is the emulator's limit, not the query's fault. A table
                // or a column the data does not have is Kusto's error here (the emulated tenant has only this
                // data); a function or a plugin the engine does not know is the emulator's limit.
                Some(error) if !error.is_certain() && !error.message.contains("Failed to resolve") => {
                    format!("not supported locally: huntbook emulate cannot run this query ({})", error.message)
                }
                Some(error) => error.message.clone(),
                None => errors.to_string(),
            };
            return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
        }
        Ok(Err(SourceError::Failed(error))) => {
            return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &error.message);
        }
        Ok(Err(SourceError::Rejected(message))) => return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
        Err(e) => return graph_error(StatusCode::INTERNAL_SERVER_ERROR, "UnknownError", &e.to_string()),
    };
    let mut json = br#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults","#.to_vec();
    let mut rest = Vec::new();
    if let Err(e) = write_graph_json(&mut rest, &table) {
        return graph_error(StatusCode::INTERNAL_SERVER_ERROR, "UnknownError", &e.to_string());
    }
    json.extend_from_slice(rest.strip_prefix(b"{").unwrap_or(&rest));
    let truncate = {
        let rate = emulator.options.truncate_body;
        lock(&emulator.plan).chance(rate)
    };
    let content_type = [(header::CONTENT_TYPE, "application/json; odata.metadata=minimal; charset=utf-8")];
    if truncate {
        // Half the body, then the connection breaks: the client sees an answer cut short.
        let whole = Bytes::from(json);
        let cut = whole.slice(..whole.len() / 2);
        // The break comes a moment after the first half, so that the headers and the half are on the wire.
        let chunks = futures_util::stream::unfold(0u8, move |step| {
            let cut = cut.clone();
            async move {
                match step {
                    0 => Some((Ok(cut), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some((
                            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut by --truncate-body")),
                            2,
                        ))
                    }
                    _ => None,
                }
            }
        });
        return (StatusCode::OK, content_type, Body::from_stream(chunks)).into_response();
    }
    (StatusCode::OK, content_type, json).into_response()
}

fn fault_response(emulator: &Emulator, status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match status.as_u16() {
        401 => graph_error(status, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."),
        403 => graph_error(status, "Forbidden", "Insufficient privileges to complete the operation."),
        429 => graph_error(status, "TooManyRequests", "Please retry again later."),
        503 => graph_error(status, "ServiceUnavailable", "The service is temporarily unavailable."),
        500 => graph_error(status, "UnknownError", ""),
        _ => graph_error(status, status.canonical_reason().unwrap_or("Error"), "Injected by --fail."),
    };
    if matches!(status.as_u16(), 429 | 503)
        && let Some(value) = emulator.options.retry_after.as_deref().and_then(|v| HeaderValue::from_str(v).ok())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The `FileProfile` row of a SHA1 or SHA256.
fn file_row(emulator: &Emulator, sha: &str) -> Result<Option<serde_json::Map<String, serde_json::Value>>, Response> {
    let hex = sha.chars().all(|c| c.is_ascii_hexdigit());
    let column = match sha.len() {
        40 if hex => "SHA1",
        64 if hex => "SHA256",
        _ => {
            return Err(mde_error(
                StatusCode::BAD_REQUEST,
                "InvalidHashValue",
                &format!("'{sha}' is not a SHA1 or SHA256"),
            ));
        }
    };
    let query = format!("FileProfile | where {column} =~ '{}' | take 1", sha.to_ascii_lowercase());
    let now = emulator.now();
    // Every profile, whenever it was seen.
    let at =
        |year| chrono::NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    let (Some(start), Some(end)) = (at(1900), at(9000)) else {
        return Err(mde_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "no window"));
    };
    let window = Window { start, end };
    let request = QueryRequest { query: &query, window, now, tenant: None };
    match emulator.options.source.run_query(&request) {
        Ok(answer) => Ok(answer
            .table
            .rows
            .first()
            .map(|row| answer.table.columns.iter().zip(row).map(|(c, v)| (c.name.clone(), v.to_json())).collect())),
        Err(e) => Err(mde_error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("no FileProfile table: {e}"))),
    }
}

fn mde_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message, "target": uuid::Uuid::new_v4().to_string()}});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn file_info(State(emulator): State<Arc<Emulator>>, headers: HeaderMap, Path(sha): Path<String>) -> Response {
    let response = answer_file_blocking(&emulator, headers, &sha, false).await;
    emulator.record("GET", format!("/api/files/{sha}"), response.status());
    response
}

async fn file_stats(State(emulator): State<Arc<Emulator>>, headers: HeaderMap, Path(sha): Path<String>) -> Response {
    let response = answer_file_blocking(&emulator, headers, &sha, true).await;
    emulator.record("GET", format!("/api/files/{sha}/stats"), response.status());
    response
}

/// Answers a files call off the async threads (it runs a query).
async fn answer_file_blocking(emulator: &Arc<Emulator>, headers: HeaderMap, sha: &str, stats: bool) -> Response {
    let (worker, sha_owned) = (Arc::clone(emulator), sha.to_string());
    tokio::task::spawn_blocking(move || answer_file(&worker, &headers, &sha_owned, stats))
        .await
        .unwrap_or_else(|e| graph_error(StatusCode::INTERNAL_SERVER_ERROR, "UnknownError", &e.to_string()))
}

fn answer_file(emulator: &Emulator, headers: &HeaderMap, sha: &str, stats: bool) -> Response {
    if let Err(refusal) = emulator.authorize(headers, Audience::Defender) {
        return refusal;
    }
    let fault = lock(&emulator.files_plan).draw();
    if let Some(status) = fault {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = match status.as_u16() {
            403 => "Forbidden",
            429 => "TooManyRequests",
            _ => "InternalServerError",
        };
        let mut response = mde_error(status, code, "Injected by --fail-files.");
        if matches!(status.as_u16(), 429 | 503)
            && let Some(value) = emulator.options.retry_after.as_deref().and_then(|v| HeaderValue::from_str(v).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let row = match file_row(emulator, sha) {
        Ok(Some(row)) => row,
        Ok(None) => return mde_error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("File {sha} was not found")),
        Err(refusal) => return refusal,
    };
    let get = |key: &str| row.get(key).cloned().unwrap_or(serde_json::Value::Null);
    let body = if stats {
        json!({
            "@odata.context": "https://api.security.microsoft.com/api/$metadata#microsoft.windowsDefenderATP.api.InOrgFileStats",
            "sha1": get("SHA1"),
            "organizationPrevalence": 1,
            "orgFirstSeen": get("GlobalLastSeen"),
            "orgLastSeen": get("GlobalLastSeen"),
            "globallyPrevalence": get("GlobalPrevalence"),
            "globalFirstObserved": get("GlobalFirstSeen"),
            "globalLastObserved": get("GlobalLastSeen"),
            "topFileNames": [get("SoftwareName")],
        })
    } else {
        json!({
            "@odata.context": "https://api.security.microsoft.com/api/$metadata#Files/$entity",
            "sha1": get("SHA1"),
            "sha256": get("SHA256"),
            "globalPrevalence": get("GlobalPrevalence"),
            "globalFirstObserved": get("GlobalFirstSeen"),
            "globalLastObserved": get("GlobalLastSeen"),
            "size": get("FileSize"),
            "fileType": serde_json::Value::Null,
            "isPeFile": get("IsExecutable"),
            "filePublisher": get("Publisher"),
            "fileProductName": get("SoftwareName"),
            "signer": get("Signer"),
            "issuer": get("Issuer"),
            "signerHash": get("SignerHash"),
            "isValidCertificate": get("IsCertificateValid"),
            "determinationType": if get("ThreatName").as_str().is_some_and(|t| !t.is_empty()) { json!("Malware") } else { json!("Clean") },
            "determinationValue": get("ThreatName"),
        })
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn calls(State(emulator): State<Arc<Emulator>>) -> Response {
    let calls = lock(&emulator.calls).clone();
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], serde_json::to_string(&calls).unwrap_or_default())
        .into_response()
}

/// Graph's request limit: a larger sendMail is refused with 413.
const SEND_MAIL_LIMIT: usize = 4 << 20;

/// `POST /v1.0/users/{mailbox}/sendMail`: checks the request as Graph does (token, size, JSON, recipients,
/// base64 attachments), records it, answers 202 with no body.
async fn send_mail(
    State(emulator): State<Arc<Emulator>>,
    Path(mailbox): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = answer_send_mail(&emulator, &mailbox, &headers, &body);
    emulator.record("POST", format!("/v1.0/users/{mailbox}/sendMail"), response.status());
    response
}

fn answer_send_mail(emulator: &Emulator, mailbox: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Err(refusal) = emulator.authorize(headers, Audience::Graph) {
        return refusal;
    }
    if let Some(status) = lock(&emulator.plan).draw() {
        return fault_response(emulator, status);
    }
    if body.len() > SEND_MAIL_LIMIT {
        return graph_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "The maximum request length supported is 4MB.",
        );
    }
    let bad = |message: &str| graph_error(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", message);
    let request: serde_json::Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return bad(&format!("The request body is not JSON: {e}")),
    };
    let message = &request["message"];
    if !message["subject"].is_string() {
        return bad("message.subject is required.");
    }
    if !matches!(message["body"]["contentType"].as_str(), Some("HTML" | "html" | "Text" | "text")) {
        return bad("message.body.contentType must be Text or HTML.");
    }
    let addresses = |field: &str| -> Vec<String> {
        message[field]
            .as_array()
            .map(|list| list.iter().filter_map(|r| r["emailAddress"]["address"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    if addresses("toRecipients").is_empty() && addresses("ccRecipients").is_empty() {
        return graph_error(StatusCode::BAD_REQUEST, "ErrorInvalidRecipients", "At least one recipient is not valid.");
    }
    for attachment in message["attachments"].as_array().into_iter().flatten() {
        let decoded = attachment["contentBytes"]
            .as_str()
            .map(|text| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text));
        if !matches!(decoded, Some(Ok(_))) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidBase64String",
                "Invalid base64 string for an attachment.",
            );
        }
    }
    lock(&emulator.mail).push(json!({"mailbox": mailbox, "request": request}));
    StatusCode::ACCEPTED.into_response()
}

/// `GET /_emulator/mail`: every sendMail request accepted, in order.
async fn mail(State(emulator): State<Arc<Emulator>>) -> Response {
    let mail = lock(&emulator.mail).clone();
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], serde_json::to_string(&mail).unwrap_or_default())
        .into_response()
}
