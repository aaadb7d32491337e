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
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer { status, retry_after: None, delay: Duration::ZERO, body: "" }
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Posted {
    pub path_and_query: String,
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
        content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        body: body.to_vec(),
        status: answer.status,
    });
    let mut response = (StatusCode::from_u16(answer.status).expect("status"), answer.body).into_response();
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
                "http://127.0.0.1:{port}/workflows/6f1c/triggers/manual/paths/invoke?api-version=2016-06-01&sig=TOPSECRETsig"
            ),
            shared,
        }
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.shared.lock().expect("lock").posted.clone()
    }
}
