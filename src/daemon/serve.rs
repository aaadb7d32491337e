//! The daemon's HTTP server: hyper serving the endpoint's router (`http::router`) with the limits a listener that
//! anyone on its network can reach needs — the probes answer without a token, and everything else answers 401
//! only after reading the request:
//!
//! - **Timeouts.** A client has `header_timeout` to send a request's head, and a connection lives at most
//!   `lifetime`, keep-alive included: a slow or idle client cannot hold a connection open.
//! - **A cap.** At most `max_connections` at once — a quarter of the open-file limit, at most 256 — so that the
//!   rest of the process's files stay for the runs (the state file, the data files, Graph). When every place is
//!   taken, the oldest connection that is not in the middle of a request is closed to make room: a probe, which
//!   sends its request at once, is answered whatever slow clients do. If every connection is busy, the new one
//!   is closed.
//!
//! It must not: know what the endpoints are (that is `http`), or outlive the shutdown token.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How the server bounds its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long a client may take to send a request's head.
    pub header_timeout: Duration,
    /// How long a connection may stay open, however busy.
    pub lifetime: Duration,
    /// How many connections may be open at once.
    pub max_connections: usize,
}

impl Limits {
    /// The limits for a process that may open `open_files` files.
    pub fn for_open_files(open_files: u64) -> Limits {
        let quarter = usize::try_from(open_files / 4).unwrap_or(usize::MAX);
        Limits {
            header_timeout: Duration::from_secs(5),
            lifetime: Duration::from_secs(60),
            max_connections: quarter.clamp(8, 256),
        }
    }
}

/// Raises the process's open-file limit to what the system allows (the soft limit up to the hard one, at most
/// 65,536): systemd gives services 1,024 unless the unit says more (the shipped unit sets `LimitNOFILE`, and then
/// nothing is changed). Returns the limit in force.
pub fn raise_open_files() -> u64 {
    use rlimit::Resource;
    let Ok((soft, hard)) = rlimit::getrlimit(Resource::NOFILE) else { return 1024 };
    let wanted = hard.min(65_536);
    if soft >= wanted {
        return soft;
    }
    match rlimit::setrlimit(Resource::NOFILE, wanted, hard) {
        Ok(()) => wanted,
        Err(error) => {
            tracing::warn!(%error, soft, "could not raise the open-file limit");
            soft
        }
    }
}

/// A connection the server holds.
struct Open {
    /// Whether a request is being answered on it now.
    busy: Arc<AtomicBool>,
    /// Closes it at once.
    close: CancellationToken,
}

type Connections = Arc<Mutex<BTreeMap<u64, Open>>>;

fn lock(connections: &Connections) -> std::sync::MutexGuard<'_, BTreeMap<u64, Open>> {
    connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves `router` on `listener` until `shutdown` is cancelled; connections then finish their request (for a
/// second at most).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let connections: Connections = Arc::default();
    let tracker = TaskTracker::new();
    let mut next_id: u64 = 0;
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of files or a connection reset before it was accepted: a pause, not a spin.
                    tracing::warn!(%error, "accepting an HTTP connection failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    }
                }
            },
        };
        if !make_room(&connections, limits.max_connections) {
            crate::telemetry::http_connection_shed("refused");
            continue;
        }
        let id = next_id;
        next_id += 1;
        let busy = Arc::new(AtomicBool::new(false));
        let close = CancellationToken::new();
        lock(&connections).insert(id, Open { busy: Arc::clone(&busy), close: close.clone() });
        let (router, connections, shutdown) = (router.clone(), Arc::clone(&connections), shutdown.clone());
        tracker.spawn(async move {
            connection(stream, router, limits, busy, close, shutdown).await;
            lock(&connections).remove(&id);
        });
    }
    tracker.close();
    tracker.wait().await;
}

/// Makes a place for one more connection; false when every open one is busy.
fn make_room(connections: &Connections, max: usize) -> bool {
    let mut open = lock(connections);
    if open.len() < max {
        return true;
    }
    // Ids grow with time: the first idle one is the oldest.
    let Some(oldest) = open.iter().find(|(_, c)| !c.busy.load(Ordering::Relaxed)).map(|(id, _)| *id) else {
        return false;
    };
    if let Some(evicted) = open.remove(&oldest) {
        evicted.close.cancel();
        crate::telemetry::http_connection_shed("evicted");
    }
    true
}

/// One connection, HTTP/1.1, until the client is done, a limit is reached, it is evicted or the server stops.
async fn connection(
    stream: tokio::net::TcpStream,
    router: axum::Router,
    limits: Limits,
    busy: Arc<AtomicBool>,
    close: CancellationToken,
    shutdown: CancellationToken,
) {
    let inner = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        busy.store(true, Ordering::Relaxed);
        let answered = hyper::service::Service::call(&inner, request);
        let busy = Arc::clone(&busy);
        async move {
            let response = answered.await;
            busy.store(false, Ordering::Relaxed);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    tokio::select! {
        _ = served.as_mut() => return,
        () = close.cancelled() => return,
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(limits.lifetime) => {}
    }
    // The request in flight may finish, briefly.
    served.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(1), served).await;
}

#[cfg(test)]
mod tests {
    use super::Limits;

    #[test]
    fn a_quarter_of_the_open_files_at_most_256() {
        assert_eq!(Limits::for_open_files(1024).max_connections, 256);
        assert_eq!(Limits::for_open_files(256).max_connections, 64);
        assert_eq!(Limits::for_open_files(65_536).max_connections, 256);
        assert_eq!(Limits::for_open_files(16).max_connections, 8);
    }
}
