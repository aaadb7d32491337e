//! What huntbook counts about itself, for `/metrics` (Prometheus, through the `prometheus-client` crate of the
//! Prometheus project) and the status page. The daemon installs one [`Metrics`]; the parts that do the work (the
//! runner, the Graph client, the outbox) report to it through the functions here, and report to nothing when
//! no daemon installed it (`huntbook run`). No label ever holds a secret: receivers and tenants are the names of
//! the configuration, playbooks their ids.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlaybookLabel {
    pub playbook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub playbook: String,
    /// `succeeded` or `failed`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReceiverLabel {
    pub receiver: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub receiver: String,
    /// `delivered`, `retry` or `dead`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GraphLabels {
    pub tenant: String,
    /// The HTTP status, or `transport` when no answer came.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabel {
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabel {
    /// `succeeded` or `failed`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EnrichmentLabels {
    pub playbook: String,
    /// `isolation reason`, `file prevalence` or `lookup`.
    pub enrichment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShedLabel {
    /// `evicted` (an idle or slow connection closed to make room) or `refused` (every connection was busy).
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartLabel {
    /// `run` or `delivery`.
    pub part: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ArchiveLabel {
    pub archive: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MetaLabels {
    /// `failing`, `stale`, `truncated` or `dead_messages`.
    pub kind: String,
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    pub panics: Family<PartLabel, Counter>,
    pub http_connections_shed: Family<ShedLabel, Counter>,
    pub runs: Family<RunLabels, Counter>,
    pub rows: Family<PlaybookLabel, Counter>,
    pub hits: Family<PlaybookLabel, Counter>,
    pub truncated: Family<PlaybookLabel, Counter>,
    pub messages_queued: Family<ReceiverLabel, Counter>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub outbox_pending: Family<ReceiverLabel, Gauge>,
    pub outbox_dead: Family<ReceiverLabel, Gauge>,
    pub outbox_oldest_pending_age: Family<ReceiverLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub graph_requests: Family<GraphLabels, Counter>,
    pub graph_throttle_waits: Family<TenantLabel, Counter>,
    pub graph_throttle_wait_seconds: Family<TenantLabel, Counter<f64, std::sync::atomic::AtomicU64>>,
    pub run_duration: Family<PlaybookLabel, Histogram>,
    pub fire_lateness: Histogram,
    pub last_success: Family<PlaybookLabel, Gauge>,
    pub reloads: Family<ReloadLabel, Counter>,
    pub reload_failed: Gauge,
    pub playbooks: Gauge,
    pub playbooks_invalid: Gauge,
    pub meta_alerts: Family<MetaLabels, Counter>,
    pub enrichment_failures: Family<EnrichmentLabels, Counter>,
    pub archive_rows: Family<ArchiveLabel, Gauge>,
    pub archive_bytes: Family<ArchiveLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("huntbook");
        let runs = Family::default();
        registry.register("runs", "Runs of each playbook, by outcome", runs.clone());
        let rows = Family::default();
        registry.register("rows", "Rows the queries returned", rows.clone());
        let hits = Family::default();
        registry.register("hits", "New hits (not seen before) found by each playbook", hits.clone());
        let truncated = Family::default();
        registry.register("truncated_results", "Results cut off at the source's row or size cap", truncated.clone());
        let messages_queued = Family::default();
        registry.register("messages_queued", "Messages queued in the outbox, by receiver", messages_queued.clone());
        let deliveries = Family::default();
        registry.register(
            "deliveries",
            "Delivery attempts by receiver and outcome (delivered, retry, dead)",
            deliveries.clone(),
        );
        let outbox_pending = Family::default();
        registry.register("outbox_pending", "Messages waiting in the outbox, by receiver", outbox_pending.clone());
        let outbox_dead = Family::default();
        registry.register("outbox_dead", "Messages given up on, by receiver", outbox_dead.clone());
        let outbox_oldest_pending_age = Family::default();
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "How long the oldest waiting message of each receiver has been queued",
            outbox_oldest_pending_age.clone(),
        );
        let graph_requests = Family::default();
        registry.register(
            "graph_requests",
            "Hunting calls to Graph, by tenant and HTTP status",
            graph_requests.clone(),
        );
        let graph_throttle_waits = Family::default();
        registry.register(
            "graph_throttle_waits",
            "Times a hunting call waited because Graph throttled (429)",
            graph_throttle_waits.clone(),
        );
        let graph_throttle_wait_seconds = Family::default();
        registry.register(
            "graph_throttle_wait_seconds",
            "Time spent waiting because Graph throttled",
            graph_throttle_wait_seconds.clone(),
        );
        let run_duration = Family::new_with_constructor(duration_histogram as fn() -> Histogram);
        registry.register("run_duration_seconds", "How long runs took, query to commit", run_duration.clone());
        let fire_lateness = lateness_histogram();
        registry.register(
            "fire_lateness_seconds",
            "How long after its time a scheduled run started",
            fire_lateness.clone(),
        );
        let last_success = Family::default();
        registry.register(
            "last_success_timestamp_seconds",
            "When each playbook's latest successful run started (Unix time)",
            last_success.clone(),
        );
        let reloads = Family::default();
        registry.register("config_reloads", "Reloads of the configuration and playbooks, by outcome", reloads.clone());
        let reload_failed = Gauge::default();
        registry.register(
            "config_reload_failed",
            "1 while the latest reload failed (the daemon runs the set loaded before it)",
            reload_failed.clone(),
        );
        let playbooks = Gauge::default();
        registry.register("playbooks", "Playbooks scheduled", playbooks.clone());
        let playbooks_invalid = Gauge::default();
        registry.register(
            "playbooks_invalid",
            "Playbook files left out because they are not valid",
            playbooks_invalid.clone(),
        );
        let meta_alerts = Family::default();
        registry.register("meta_alerts", "Messages huntbook sent about itself, by kind", meta_alerts.clone());
        let enrichment_failures = Family::default();
        registry.register(
            "enrichment_failures",
            "Enrichments that failed in a run that went on (their columns empty, the message says why)",
            enrichment_failures.clone(),
        );
        let archive_rows = Family::default();
        registry.register("archive_rows", "Rows kept in each archive", archive_rows.clone());
        let archive_bytes = Family::default();
        registry.register(
            "archive_bytes",
            "Bytes of the rows kept in each archive (without indexes)",
            archive_bytes.clone(),
        );
        registry.register(
            "log_lines_dropped",
            "Log lines dropped because stderr would not take them (a closed pipe)",
            crate::logging::DROPPED.clone(),
        );
        let panics = Family::default();
        registry.register(
            "panics",
            "Bugs caught: a run or the delivery loop that panicked (the daemon went on; the log has the message)",
            panics.clone(),
        );
        let http_connections_shed = Family::default();
        registry.register(
            "http_connections_shed",
            "HTTP connections closed because every place was taken (evicted: an idle or slow one; refused: all busy)",
            http_connections_shed.clone(),
        );
        Metrics {
            registry,
            panics,
            http_connections_shed,
            runs,
            rows,
            hits,
            truncated,
            messages_queued,
            deliveries,
            outbox_pending,
            outbox_dead,
            outbox_oldest_pending_age,
            graph_requests,
            graph_throttle_waits,
            graph_throttle_wait_seconds,
            run_duration,
            fire_lateness,
            last_success,
            reloads,
            reload_failed,
            playbooks,
            playbooks_invalid,
            meta_alerts,
            enrichment_failures,
            archive_rows,
            archive_bytes,
        }
    }

    /// The text exposition (OpenMetrics, which Prometheus reads; served as such).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0])
}

fn lateness_histogram() -> Histogram {
    Histogram::new([0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 60.0])
}

static INSTALLED: OnceLock<std::sync::Arc<Metrics>> = OnceLock::new();

/// Makes `metrics` the one the work reports to (the daemon, once). A second call is ignored.
pub fn install(metrics: std::sync::Arc<Metrics>) {
    let _ = INSTALLED.set(metrics);
}

/// The installed metrics, if any.
pub fn metrics() -> Option<&'static Metrics> {
    INSTALLED.get().map(|metrics| metrics.as_ref())
}

/// A hunting call answered (or not: `status` None) in `tenant`.
pub fn graph_answer(tenant: &str, status: Option<u16>) {
    if let Some(metrics) = metrics() {
        let status = status.map_or_else(|| "transport".to_string(), |code| code.to_string());
        metrics.graph_requests.get_or_create(&GraphLabels { tenant: tenant.to_string(), status }).inc();
    }
}

/// A hunting call in `tenant` waits `wait` because Graph throttled it.
pub fn graph_throttled(tenant: &str, wait: std::time::Duration) {
    if let Some(metrics) = metrics() {
        let label = TenantLabel { tenant: tenant.to_string() };
        metrics.graph_throttle_waits.get_or_create(&label).inc();
        metrics.graph_throttle_wait_seconds.get_or_create(&label).inc_by(wait.as_secs_f64());
    }
}

/// The HTTP server closed a connection to stay within its limit.
pub fn http_connection_shed(reason: &str) {
    if let Some(metrics) = metrics() {
        metrics.http_connections_shed.get_or_create(&ShedLabel { reason: reason.to_string() }).inc();
    }
}

/// A delivery attempt's outcome.
pub fn delivery(receiver: &str, outcome: &str) {
    if let Some(metrics) = metrics() {
        let labels = DeliveryLabels { receiver: receiver.to_string(), outcome: outcome.to_string() };
        metrics.deliveries.get_or_create(&labels).inc();
    }
}

/// A run committed.
pub fn run_succeeded(
    playbook: &str,
    summary: (usize, usize, bool),
    receivers: &[&str],
    duration: std::time::Duration,
    started: chrono::DateTime<chrono::Utc>,
) {
    let Some(metrics) = metrics() else { return };
    let (rows, hits, truncated) = summary;
    let label = PlaybookLabel { playbook: playbook.to_string() };
    metrics.runs.get_or_create(&RunLabels { playbook: playbook.to_string(), outcome: "succeeded".into() }).inc();
    metrics.rows.get_or_create(&label).inc_by(rows as u64);
    metrics.hits.get_or_create(&label).inc_by(hits as u64);
    if truncated {
        metrics.truncated.get_or_create(&label).inc();
    }
    for receiver in receivers {
        metrics.messages_queued.get_or_create(&ReceiverLabel { receiver: receiver.to_string() }).inc();
    }
    metrics.run_duration.get_or_create(&label).observe(duration.as_secs_f64());
    metrics.last_success.get_or_create(&label).set(started.timestamp());
}

/// An enrichment failed in a run that went on without it.
pub fn enrichment_failed(playbook: &str, enrichment: &str) {
    if let Some(metrics) = metrics() {
        let labels = EnrichmentLabels { playbook: playbook.to_string(), enrichment: enrichment.to_string() };
        metrics.enrichment_failures.get_or_create(&labels).inc();
    }
}

/// A run failed (and changed nothing but its record).
pub fn run_failed(playbook: &str, duration: std::time::Duration) {
    let Some(metrics) = metrics() else { return };
    let label = PlaybookLabel { playbook: playbook.to_string() };
    metrics.runs.get_or_create(&RunLabels { playbook: playbook.to_string(), outcome: "failed".into() }).inc();
    metrics.run_duration.get_or_create(&label).observe(duration.as_secs_f64());
}
