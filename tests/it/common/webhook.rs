//! A stand-in for a Teams Workflows webhook: a real HTTP server (axum) on loopback, on its own runtime and
//! thread, that records every request and answers from a script (status, `Retry-After`, a delay), then 202.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

/// One answer of the script.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<&'static str>,
    /// How long the server takes to answer (real time: a slow server, for a client with a short timeout).
    pub delay: Duration,
    pub body: &'static str,
    /// The body repeats the request (its URL, its body and its `Authorization` header), as some error pages
    /// and proxies do.
    pub echo: Option<Echo>,
}

/// How an echoing server writes the request back.
#[derive(Clone, Copy, Debug)]
pub enum Echo {
    /// As it is, in a text body.
    Raw,
    /// Percent-encoded, in a text body.
    Percent,
    /// In Graph's JSON error envelope, escaped as .NET escapes (`\/`, `\u0026`).
    Json,
    /// In Entra's sign-in error (`error`, `error_description`).
    Entra,
    /// In Entra's sign-in error, the form's fields as a JSON document inside the description, written as
    /// Python writes JSON (`ensure_ascii`: `\"`, `\\`, `\u00e9`) — escaped twice in the answer.
    EntraJsonDump,
    /// In Entra's sign-in error, the request in base64 (standard, then URL-safe).
    EntraBase64,
    /// In Graph's error envelope, the request in base64 (standard, then URL-safe).
    Base64,
    /// In Graph's error envelope, after `n` characters: the request percent-encoded, then as it is — so that a
    /// cut at a few hundred characters falls inside the encoded URL.
    Padded(usize),
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer { status, retry_after: None, delay: Duration::ZERO, body: "", echo: None }
    }

    /// `status` with a body that echoes the request.
    pub fn echo(status: u16, echo: Echo) -> Answer {
        Answer { echo: Some(echo), ..Answer::status(status) }
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Posted {
    pub path_and_query: String,
    /// The `Authorization` header, if any.
    pub authorization: String,
    pub content_type: String,
    pub body: Vec<u8>,
    /// What the server answered.
    pub status: u16,
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Answer>,
    posted: Vec<Posted>,
}

type SharedState = Arc<Mutex<Shared>>;

pub struct Webhook {
    /// The URL to post to, with a "signature" in its query string.
    pub url: String,
    shared: SharedState,
}

async fn receive(
    State(shared): State<SharedState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let answer = shared.lock().expect("lock").script.pop_front().unwrap_or_else(|| Answer::status(202));
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    shared.lock().expect("lock").posted.push(Posted {
        path_and_query: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        authorization: headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        body: body.to_vec(),
        status: answer.status,
    });
    let body = match answer.echo {
        None => answer.body.to_string(),
        Some(echo) => {
            let url = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
            let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let request = format!("{url} {bearer} {}", String::from_utf8_lossy(&body));
            match echo {
                Echo::Raw => format!("no flow for {request}"),
                Echo::Percent => format!(
                    "no flow for {}",
                    percent_encoding::utf8_percent_encode(&request, percent_encoding::NON_ALPHANUMERIC)
                ),
                Echo::Entra => serde_json::json!({
                    "error": "invalid_client",
                    "error_description": format!("AADSTS7000215: no flow for {request}"),
                })
                .to_string(),
                Echo::EntraJsonDump => {
                    let fields: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(&body)
                        .map(|(k, v)| (k.into_owned(), v.into_owned().into()))
                        .collect();
                    let dump = serde_json::Value::Object(fields).to_string();
                    let ascii: String = dump
                        .chars()
                        .map(|c| if c.is_ascii() { c.to_string() } else { format!("\\u{:04x}", u32::from(c)) })
                        .collect();
                    serde_json::json!({
                        "error": "invalid_client",
                        "error_description": format!("AADSTS7000215: request was {ascii}"),
                    })
                    .to_string()
                }
                Echo::EntraBase64 => {
                    use base64::Engine;
                    let decoded: String = url::form_urlencoded::parse(&body)
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("&");
                    serde_json::json!({
                        "error": "invalid_client",
                        "error_description": format!(
                            "AADSTS7000215: request {} {}",
                            base64::engine::general_purpose::STANDARD.encode(&decoded),
                            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("x{decoded}")),
                        ),
                    })
                    .to_string()
                }
                Echo::Base64 => {
                    use base64::Engine;
                    let message = format!(
                        "no flow for {} {}",
                        base64::engine::general_purpose::STANDARD.encode(&request),
                        base64::engine::general_purpose::URL_SAFE.encode(format!("xy{request}")),
                    );
                    serde_json::json!({ "error": { "code": "NoFlow", "message": message } }).to_string()
                }
                Echo::Padded(padding) => {
                    let encoded = percent_encoding::utf8_percent_encode(&url, percent_encoding::NON_ALPHANUMERIC);
                    let message = format!("{} {encoded} | {url}", "p".repeat(padding));
                    serde_json::json!({ "error": { "message": message } }).to_string()
                }
                Echo::Json => {
                    let quoted = serde_json::to_string(&format!("no flow for {request}")).expect("a JSON string");
                    let escaped = quoted.replace('/', "\\/").replace('&', "\\u0026");
                    format!("{{\"error\":{{\"code\":\"NoFlow\",\"message\":{escaped}}}}}")
                }
            }
        }
    };
    let mut response = (StatusCode::from_u16(answer.status).expect("status"), body).into_response();
    if let Some(value) = answer.retry_after {
        response.headers_mut().insert("retry-after", value.parse().expect("header"));
    }
    response
}

impl Webhook {
    /// Starts the server; it answers `script` in order, then 202 to everything.
    pub fn start(script: Vec<Answer>) -> Webhook {
        let shared: SharedState = Arc::new(Mutex::new(Shared { script: script.into(), posted: Vec::new() }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let app = axum::Router::new().fallback(axum::routing::post(receive)).with_state(Arc::clone(&shared));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(listener, app).await;
            });
        });
        Webhook {
            url: format!(
                "http://127.0.0.1:{port}/workflows/WfPathSecret777/triggers/manual/paths/invoke?api-version=2016-06-01&sig=TOPSECRETsig"
            ),
            shared,
        }
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.shared.lock().expect("lock").posted.clone()
    }
}
