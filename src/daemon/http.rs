//! The daemon's HTTP endpoint: `/healthz` (the process answers), `/readyz` (configuration loaded, state file
//! writable, scheduler and delivery loop running), `/metrics` (Prometheus), and `/` — a status page, plain server-rendered HTML
//! that reads without JavaScript. With `http.token`, `/` and `/metrics` want `Authorization: Bearer TOKEN`; the
//! probes (`/healthz`, `/readyz`) answer without it, because a kubelet's probe cannot carry a secret — and
//! `/readyz` tells why it is not ready only to a request with the token. Whatever the store holds (errors
//! that quote a server, playbook titles) is escaped.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::Shared;
use crate::render::email::escape_html;
use crate::store::{ReceiverQueue, RunRecord, RunStatus};
use crate::telemetry::ReceiverLabel;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), require_token))
        // Probes carry no token: these two answer without it (/readyz says why it is not ready only with it).
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(shared)
}

/// Whether a request may see what the endpoint shows: no `http.token`, or the request carries it.
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let workspace = shared.workspace();
    let Some(token) = &workspace.config.http.token else { return true };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim_start().split_once(' '))
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` is `Bearer`.
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token))
        .unwrap_or_default();
    constant_time_equal(given.trim().as_bytes(), token.expose().as_bytes())
}

/// The bearer token check (when `http.token` is set), compared in constant time.
async fn require_token(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if authorized(&shared, request.headers()) {
        return next.run(request).await;
    }
    let mut response = (StatusCode::UNAUTHORIZED, "a bearer token is required (http.token)\n").into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"huntbook\""));
    response
}

fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    use sha2::Digest;
    // Hashing first makes the comparison's time independent of the lengths too.
    let (left, right) = (sha2::Sha256::digest(left), sha2::Sha256::digest(right));
    left.iter().zip(right.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn readyz(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut problems = Vec::new();
    if !shared.scheduler_running() {
        problems.push("the scheduler is not running".to_string());
    }
    if !shared.delivery_running() {
        problems.push("the delivery loop is not running (its error is in the log)".to_string());
    }
    if let Some((since, error)) = shared.store_refused() {
        problems.push(format!("the state file has refused writes since {} UTC: {error}", time(since)));
    }
    if let Some((at, count, panic)) = shared.delivery_panic() {
        problems.push(format!(
            "the delivery loop stopped on a bug {count} time{} (the latest at {} UTC: {panic}); it starts again \
             after a pause",
            if count == 1 { "" } else { "s" },
            time(at)
        ));
    }
    let writable = shared.readers.with(|store| store.check_writable().map_err(|error| error.to_string())).await;
    if let Err(error) = writable {
        problems.push(format!("the state file does not take writes: {error}"));
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else if authorized(&shared, &headers) {
        (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}\n", problems.join("; "))).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

/// What the store says, read on a blocking thread.
struct Snapshot {
    latest: Vec<RunRecord>,
    streaks: Vec<(String, u32)>,
    queues: Vec<ReceiverQueue>,
    recent: Vec<RunRecord>,
    archives: Vec<crate::store::ArchiveSize>,
}

async fn snapshot(shared: &Shared, recent: usize) -> Result<Snapshot, String> {
    shared
        .readers
        .with(move |store| {
            Ok(Snapshot {
                latest: if recent > 0 { store.latest_runs().map_err(|e| e.to_string())? } else { Vec::new() },
                streaks: if recent > 0 { store.failing_streaks().map_err(|e| e.to_string())? } else { Vec::new() },
                queues: store.receiver_queues().map_err(|e| e.to_string())?,
                recent: if recent > 0 { store.runs(None, recent).map_err(|e| e.to_string())? } else { Vec::new() },
                archives: store.archive_sizes().map_err(|e| e.to_string())?,
            })
        })
        .await
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    match snapshot(&shared, 0).await {
        Ok(snapshot) => {
            let now = shared.timer.now();
            let metrics = &shared.metrics;
            // Receivers whose queue emptied drop to zero rather than keep their last value.
            metrics.outbox_pending.clear();
            metrics.outbox_dead.clear();
            metrics.outbox_oldest_pending_age.clear();
            for receiver in shared.workspace().config.receivers.keys() {
                let label = ReceiverLabel { receiver: receiver.clone() };
                metrics.outbox_pending.get_or_create(&label).set(0);
                metrics.outbox_dead.get_or_create(&label).set(0);
                metrics.outbox_oldest_pending_age.get_or_create(&label).set(0.0);
            }
            for queue in snapshot.queues {
                let label = ReceiverLabel { receiver: queue.receiver };
                metrics.outbox_pending.get_or_create(&label).set(queue.pending as i64);
                metrics.outbox_dead.get_or_create(&label).set(queue.dead as i64);
                let age = queue.oldest_pending.map_or(0.0, |oldest| (now - oldest).as_seconds_f64().max(0.0));
                metrics.outbox_oldest_pending_age.get_or_create(&label).set(age);
            }
            for archive in snapshot.archives {
                let label = crate::telemetry::ArchiveLabel { archive: archive.name };
                metrics.archive_rows.get_or_create(&label).set(i64::try_from(archive.rows).unwrap_or(i64::MAX));
                metrics.archive_bytes.get_or_create(&label).set(i64::try_from(archive.bytes).unwrap_or(i64::MAX));
            }
        }
        Err(error) => tracing::warn!(%error, "reading the outbox for /metrics failed"),
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    (headers, shared.metrics.encode()).into_response()
}

/// How many recent runs the status page lists.
const RECENT_RUNS: usize = 25;

async fn status_page(State(shared): State<Arc<Shared>>) -> Response {
    match snapshot(&shared, RECENT_RUNS).await {
        Ok(snapshot) => Html(render_status(&shared, &snapshot)).into_response(),
        Err(error) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("reading the state file failed: {error}\n")).into_response()
        }
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut out: String = text.chars().take(limit).collect();
    out.push('…');
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1b1b}\
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border-bottom:1px solid #ddd;padding:4px 8px;\
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right}.failing{color:#a4262c;\
font-weight:600}.ok{color:#107c10}.noted{color:#8a5300}.running{color:#0063b1}.muted{color:#666}.banner{background:#fde7e9;\
border:1px solid #a4262c;padding:.75em;margin-bottom:1em}pre{white-space:pre-wrap;margin:0}";

fn render_status(shared: &Shared, snapshot: &Snapshot) -> String {
    let workspace = shared.workspace();
    let now = shared.timer.now();
    let running = shared.running();
    let latest: std::collections::HashMap<&str, &RunRecord> =
        snapshot.latest.iter().map(|run| (run.playbook.as_str(), run)).collect();
    let streaks: std::collections::HashMap<&str, u32> =
        snapshot.streaks.iter().map(|(playbook, streak)| (playbook.as_str(), *streak)).collect();
    let failing = workspace.playbooks.iter().filter(|p| streaks.get(p.id.as_str()).is_some_and(|s| *s > 0)).count();
    let mut page = String::with_capacity(16 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" \
         content=\"30\"><title>huntbook status</title><style>{STYLE}</style></head><body>\
         <h1>huntbook</h1><p class=\"muted\" id=\"summary\">{} playbooks, <span id=\"failing-count\">{failing}</span> \
         failing, {} running · up since {} UTC · now {} UTC · state file {}</p>",
        workspace.playbooks.iter().filter(|p| p.enabled).count(),
        running.len(),
        time(shared.started),
        time(now),
        escape_html(&shared.state.display().to_string()),
    );
    if let Some((since, error)) = shared.store_refused() {
        let _ = write!(
            page,
            "<div class=\"banner\" id=\"store-refused\"><strong>The state file has refused writes since {} UTC</strong>: \
             runs fail and nothing is delivered until it takes them again (nothing is lost meanwhile).<pre>{}</pre></div>",
            time(since),
            escape_html(&error),
        );
    }
    if let Some(reload) = shared.failed_reload() {
        let _ = write!(
            page,
            "<div class=\"banner\" id=\"reload-failed\"><strong>The reload at {} UTC ({}) failed</strong>: the \
             playbooks below are the set loaded before it.<pre>{}</pre></div>",
            time(reload.at),
            escape_html(&reload.cause),
            escape_html(&reload.problems),
        );
    }
    if !workspace.problems.is_empty() {
        let _ = write!(
            page,
            "<div class=\"banner\" id=\"invalid\"><strong>Playbooks left out, not valid:</strong><pre>{}</pre></div>",
            escape_html(&crate::diagnostics::render_diagnostics(&workspace.problems)),
        );
    }
    page.push_str(
        "<h2>Playbooks</h2><table id=\"playbooks\"><thead><tr><th>Playbook</th><th>Schedule</th><th>State</th>\
         <th>Last run</th><th>Window</th><th>Rows</th><th>Hits</th><th>Messages</th><th>Error</th><th>Next run</th>\
         </tr></thead><tbody>",
    );
    for playbook in &workspace.playbooks {
        let last = latest.get(playbook.id.as_str());
        let streak = streaks.get(playbook.id.as_str()).copied().unwrap_or(0);
        let unrecorded =
            shared.unrecorded_failure(&playbook.id).filter(|(at, _)| last.is_none_or(|run| run.started < *at));
        let (class, state) = if !playbook.enabled {
            ("muted", "disabled".to_string())
        } else if running.contains_key(&playbook.id) {
            ("running", "running".to_string())
        } else if let Some((at, failures)) = unrecorded {
            (
                "failing",
                format!("failing ({failures} in a row; the latest, at {} UTC, could not be recorded)", time(at)),
            )
        } else if streak > 0 {
            ("failing", format!("failing ({streak} in a row)"))
        } else if last.is_some() {
            ("ok", "ok".to_string())
        } else {
            ("muted", "not run yet".to_string())
        };
        let _ = write!(
            page,
            "<tr data-playbook=\"{id}\" data-state=\"{class}\"><td><strong>{id}</strong><br><span class=\"muted\">{title}\
             </span></td><td>{schedule}</td><td class=\"{class}\">{state}</td>",
            id = escape_html(&playbook.id),
            title = escape_html(&playbook.title),
            schedule = escape_html(&playbook.schedule.to_string()),
        );
        match last {
            Some(run) => {
                let outcome = match run.status {
                    RunStatus::Succeeded => "succeeded",
                    RunStatus::Failed => "failed",
                };
                let _ = write!(
                    page,
                    "<td>{} UTC<br><span class=\"muted\">{outcome}</span></td><td>{} → {}</td><td class=\"n\">{}{}</td>\
                     <td class=\"n\">{}</td><td class=\"n\">{}</td><td><pre>{}</pre></td>",
                    time(run.started),
                    time(run.window_start),
                    time(run.window_end),
                    run.rows,
                    if run.truncated { " (cut off)" } else { "" },
                    run.new_hits,
                    run.messages,
                    escape_html(&cut(run.error.as_deref().unwrap_or_default(), 400)),
                );
            }
            None => page.push_str("<td class=\"muted\">never</td><td></td><td></td><td></td><td></td><td></td>"),
        }
        let next = match shared.next_fire(&playbook.id) {
            Some(at) if at <= now => "now".to_string(),
            Some(at) => format!("{} UTC", time(at)),
            None if running.contains_key(&playbook.id) => "after this run".to_string(),
            None => String::new(),
        };
        let _ = write!(page, "<td>{}</td></tr>", escape_html(&next));
    }
    page.push_str("</tbody></table>");
    page.push_str(
        "<h2>Outbox</h2><table id=\"outbox\"><thead><tr><th>Receiver</th><th>Delivers to</th><th>Waiting</th>\
         <th>Dead</th><th>Oldest waiting since</th></tr></thead><tbody>",
    );
    for receiver in workspace.config.receivers.keys() {
        let queue = snapshot.queues.iter().find(|q| &q.receiver == receiver);
        let (pending, dead) = queue.map_or((0, 0), |q| (q.pending, q.dead));
        let oldest = queue.and_then(|q| q.oldest_pending).map_or(String::new(), |at| format!("{} UTC", time(at)));
        let _ = write!(
            page,
            "<tr data-receiver=\"{name}\"><td>{name}</td><td>{place}</td><td class=\"n\">{pending}</td>\
             <td class=\"n{dead_class}\">{dead}</td><td>{oldest}</td></tr>",
            name = escape_html(receiver),
            place = escape_html(&crate::app::delivery_place(&workspace.config, receiver)),
            dead_class = if dead > 0 { " failing" } else { "" },
        );
    }
    page.push_str("</tbody></table>");
    if !snapshot.archives.is_empty() {
        page.push_str(
            "<h2>Archives</h2><table id=\"archives\"><thead><tr><th>Archive</th><th>Kept by</th><th>Rows</th>\
             <th>Size</th></tr></thead><tbody>",
        );
        for archive in &snapshot.archives {
            let keeper = workspace
                .playbooks
                .iter()
                .find(|p| p.archive.as_ref().is_some_and(|a| a.name == archive.name))
                .map_or(String::new(), |p| p.id.clone());
            let _ = write!(
                page,
                "<tr data-archive=\"{name}\"><td>{name}</td><td>{keeper}</td><td class=\"n\">{rows}</td>\
                 <td class=\"n\">{size:.1} MB</td></tr>",
                name = escape_html(&archive.name),
                keeper = escape_html(&keeper),
                rows = archive.rows,
                size = archive.bytes as f64 / 1e6,
            );
        }
        page.push_str("</tbody></table>");
    }
    page.push_str(
        "<h2>Recent runs</h2><table id=\"runs\"><thead><tr><th>Started</th>\
                   <th>Playbook</th><th>Window</th><th>Rows</th><th>Hits</th><th>Messages</th><th>Outcome</th>\
                   </tr></thead><tbody>",
    );
    for run in &snapshot.recent {
        let outcome = match (run.status, &run.error) {
            // A run that went on without an enrichment: its note.
            (RunStatus::Succeeded, Some(note)) => {
                format!("<td class=\"noted\">succeeded<br><pre>{}</pre></td>", escape_html(&cut(note, 200)))
            }
            (RunStatus::Succeeded, None) => "<td class=\"ok\">succeeded</td>".to_string(),
            (RunStatus::Failed, _) => format!(
                "<td class=\"failing\">failed<br><pre>{}</pre></td>",
                escape_html(&cut(run.error.as_deref().unwrap_or_default(), 200))
            ),
        };
        let _ = write!(
            page,
            "<tr><td>{} UTC</td><td>{}</td><td>{} → {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td>{outcome}</tr>",
            time(run.started),
            escape_html(&run.playbook),
            time(run.window_start),
            time(run.window_end),
            run.rows,
            run.new_hits,
            run.messages,
        );
    }
    page.push_str(
        "</tbody></table><p class=\"muted\">Metrics for Prometheus at <a href=\"/metrics\">/metrics</a>. \
                   This page refreshes every 30 seconds.</p></body></html>\n",
    );
    page
}
