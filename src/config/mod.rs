//! `huntbook.yaml`: where the state lives, where queries run (local files or Graph tenants), how mail is
//! sent, who receives what. This module owns the validated `Config` and its loading: the file is read once,
//! `${env:X}` / `${file:X}` secrets are resolved, and every problem is collected with its position before
//! anything runs. Loading reads the file and the secrets it names, checks that named files exist, and does
//! nothing else: no network, no templates (those are checked with the playbooks, `check_templates`).
//!
//! The doc comments on the fields below are the user reference of the format.

pub mod duration;
pub mod receiver;
pub mod reference;
pub mod secret;
pub mod smtp;
pub mod tenant;
pub mod yaml;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::diagnostics::Diagnostic;
use reference::Resolver;
use yaml::{Reader, Value, did_you_mean, one_of};

pub use receiver::{
    DEFAULT_TEAMS_PER_SECOND, EmailReceiver, EmailVia, FileReceiver, Receiver, TeamsReceiver, TeamsTarget,
    check_templates,
};
pub use secret::Secret;
pub use smtp::{SmtpConfig, SmtpTls};
pub use tenant::{Cloud, TenantAuth, TenantConfig};

/// The keys of this mapping (also what `huntbook schema` lists).
pub const DELIVERY_KEYS: &[&str] = &["max_age", "wait"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const DAEMON_KEYS: &[&str] = &["shutdown_grace", "jitter", "runs_at_once"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const SOURCE_KEYS: &[&str] = &["kind", "data", "rebase_time"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const META_KEYS: &[&str] = &["to", "when_failing_for", "stale_after"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const HTTP_KEYS: &[&str] = &["listen", "token"];

/// The text of the embedded default configuration: `examples/huntbook.yaml`. It queries the sample data in
/// `examples/data` and writes messages under `outbox/`; it needs no secret.
pub const DEFAULT_CONFIG: &str = include_str!("../../examples/huntbook.yaml");

/// The name diagnostics give the embedded default.
pub const DEFAULT_NAME: &str = "huntbook.yaml (built in)";

/// A validated `huntbook.yaml`.
#[derive(Clone, Debug)]
pub struct Config {
    /// What `validate` says without refusing the file: the secrets that are not available here (with
    /// [`Secrets::Optional`]).
    pub warnings: Vec<Diagnostic>,
    /// The file it was read from; `None` for the embedded default.
    pub file: Option<PathBuf>,
    /// The directory relative paths are resolved against: the file's directory, or the current directory for
    /// the embedded default.
    pub base_dir: PathBuf,
    /// `state:` the SQLite file with runs, watermarks, seen hits and the outbox; created on first use.
    /// Default `huntbook.db`.
    pub state: PathBuf,
    /// `playbooks:` the directory of playbook files (`*.yaml`, `*.yml`). Default `playbooks`.
    pub playbooks: PathBuf,
    /// `templates:` a directory of user templates that override the shipped ones by name. Default
    /// `templates` when that directory exists.
    pub templates: Option<PathBuf>,
    /// `source:` where queries run.
    pub source: SourceConfig,
    /// `first_lookback:` how far back the first run of every playbook looks, instead of the playbook's own
    /// `schedule.first_lookback` (at most 30 days). For catching up on the last days when huntbook is installed,
    /// and for the sample data, whose stories are spread over 30 days. Default: each playbook's own.
    pub first_lookback: Option<chrono::TimeDelta>,
    /// `tenants:` the Defender XDR tenants queried through Graph, by a name of your choice.
    pub tenants: BTreeMap<String, TenantConfig>,
    /// `smtp:` the mail server for e-mail receivers with `via: smtp`.
    pub smtp: Option<SmtpConfig>,
    /// `receivers:` where messages go, by a name of your choice (playbooks name them in `notify.to`).
    pub receivers: BTreeMap<String, Receiver>,
    /// `delivery:` how long messages are retried, and how long `huntbook run` waits for them to leave.
    pub delivery: DeliveryConfig,
    /// `meta:` where huntbook reports its own trouble (a playbook failing run after run).
    pub meta: Option<MetaConfig>,
    /// `catch_up_window:` after downtime, the missed time is run in order, in windows of at most this much new
    /// time each (never less than the playbook's interval), so that no hunting call has to return days of events
    /// at once. Default 6h.
    pub catch_up_window: chrono::TimeDelta,
    /// `http:` the daemon's HTTP endpoint (`/healthz`, `/readyz`, `/metrics`, the status page at `/`).
    pub http: HttpConfig,
    /// `daemon:` how `huntbook daemon` schedules and stops.
    pub daemon: DaemonConfig,
}

impl Config {
    /// A redactor of every secret of the configuration — webhook URLs, the SMTP password, client secrets — for
    /// what servers say back before it is kept or shown.
    pub fn redactor(&self) -> secret::Redactor {
        let mut secrets: Vec<&Secret> = Vec::new();
        for receiver in self.receivers.values() {
            if let Receiver::Teams(TeamsReceiver { target: TeamsTarget::Webhook(url), .. }) = receiver {
                secrets.push(url);
            }
        }
        for tenant in self.tenants.values() {
            if let TenantAuth::ClientSecret { secret, .. } = &tenant.auth {
                secrets.push(secret);
            }
        }
        let mut logins: Vec<(&str, &Secret)> = Vec::new();
        if let Some(token) = &self.http.token {
            secrets.push(token);
        }
        if let Some(SmtpConfig { password: Some(password), username, .. }) = &self.smtp {
            secrets.push(password);
            logins.push((username.as_deref().unwrap_or_default(), password));
        }
        secret::Redactor::new(secrets, &logins)
    }
}

/// `source:` where queries run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceConfig {
    /// `source: { kind: local, data: DIR, rebase_time: true }`: the local KQL engine over one file per table
    /// (`CloudAppEvents.jsonl`, `.json`, `.csv`) in `data`.
    Local {
        /// `data:` the directory of table files.
        data: PathBuf,
        /// `rebase_time:` shift every time column so that the newest row is one hour old (sample data then
        /// always looks fresh). Default false.
        rebase_time: bool,
    },
    /// `source: graph` (the default): Microsoft Graph `runHuntingQuery` in each tenant of `tenants:`.
    Graph,
}

impl SourceConfig {
    pub fn is_graph(&self) -> bool {
        matches!(self, SourceConfig::Graph)
    }
}

/// `delivery:` the outbox's retry limit and `huntbook run`'s wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// `max_age:` a message still failing this long after it was queued is given up on (dead; `huntbook outbox
    /// retry` puts it back). Default 48h.
    pub max_age: chrono::TimeDelta,
    /// `wait:` how long `huntbook run` keeps delivering after its playbooks ran: retries due within it are made,
    /// and what is left stays queued for the next run. Default 1m.
    pub wait: chrono::TimeDelta,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig { max_age: chrono::TimeDelta::hours(48), wait: chrono::TimeDelta::minutes(1) }
    }
}

fn read_delivery(value: Value) -> Option<DeliveryConfig> {
    let fields = value.fields(DELIVERY_KEYS)?;
    let defaults = DeliveryConfig::default();
    let positive = |key: &str, default: chrono::TimeDelta| match fields.get(key) {
        Some(v) => v.duration().and_then(|d| {
            if d <= chrono::TimeDelta::zero() {
                v.report("must be longer than zero");
                return None;
            }
            Some(d)
        }),
        None => Some(default),
    };
    let max_age = positive("max_age", defaults.max_age);
    let wait = match fields.get("wait") {
        Some(v) => v.duration(),
        None => Some(defaults.wait),
    };
    Some(DeliveryConfig { max_age: max_age?, wait: wait? })
}

/// `meta:` huntbook's reports about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaConfig {
    /// `to:` receivers of the reports.
    pub to: Vec<String>,
    /// `when_failing_for: 3 runs`: report a playbook once it has failed this many runs in a row. Default 3.
    pub when_failing_for: u32,
    /// `stale_after:` report a playbook that has had no successful run for this long (`3 intervals`, or a
    /// duration such as `6h`), whatever the reason: failing, or not running at all. Default 3 intervals.
    pub stale_after: StaleAfter,
}

/// `meta.stale_after:` how long without a successful run makes a playbook stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaleAfter {
    /// `N intervals` of the playbook's own schedule.
    Intervals(u32),
    /// A fixed time, for every playbook.
    Time(chrono::TimeDelta),
}

impl StaleAfter {
    /// The time without a success after which a playbook with this interval is stale.
    pub fn for_interval(self, interval: chrono::TimeDelta) -> chrono::TimeDelta {
        match self {
            StaleAfter::Intervals(count) => interval * i32::try_from(count).unwrap_or(i32::MAX),
            StaleAfter::Time(time) => time,
        }
    }
}

/// `http:` the daemon's HTTP endpoint.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// `listen:` address and port. Default `127.0.0.1:9464`; `0.0.0.0:9464` (every interface, as in a
    /// container) needs `token`.
    pub listen: SocketAddr,
    /// `token: ${env:NAME}` a secret that requests for the status page and `/metrics` must carry as
    /// `Authorization: Bearer TOKEN` (the probes `/healthz` and `/readyz` answer without it). Required when
    /// `listen` is not a loopback address: the status page names playbooks, receivers and errors.
    pub token: Option<Secret>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { listen: SocketAddr::from(([127, 0, 0, 1], 9464)), token: None }
    }
}

/// `daemon:` how `huntbook daemon` schedules and stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaemonConfig {
    /// `shutdown_grace:` on SIGTERM or SIGINT, how long runs in flight may finish and queued messages may leave
    /// before the process exits (a run cut off changes nothing: it runs again at the next start). Default 30s.
    pub shutdown_grace: chrono::TimeDelta,
    /// `jitter:` playbooks due at the same instant start spread over up to this much time (each playbook always
    /// at the same offset), so that a hundred hourly playbooks do not all call Graph in the same second. Never
    /// more than a tenth of a playbook's interval. Default 10s.
    pub jitter: chrono::TimeDelta,
    /// `runs_at_once:` playbooks running at the same time (each tenant's `limits` still hold). Default 8 with
    /// Graph, 2 with the local source.
    pub runs_at_once: Option<usize>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            shutdown_grace: chrono::TimeDelta::seconds(30),
            jitter: chrono::TimeDelta::seconds(10),
            runs_at_once: None,
        }
    }
}

/// The default `catch_up_window`.
pub const CATCH_UP_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(6);

fn read_daemon(value: Value) -> Option<DaemonConfig> {
    let fields = value.fields(DAEMON_KEYS)?;
    let defaults = DaemonConfig::default();
    let duration = |key: &str, default: chrono::TimeDelta| match fields.get(key) {
        Some(v) => v.duration().and_then(|d| {
            if d < chrono::TimeDelta::zero() {
                v.report("must not be negative");
                return None;
            }
            Some(d)
        }),
        None => Some(default),
    };
    let shutdown_grace = duration("shutdown_grace", defaults.shutdown_grace);
    let jitter = duration("jitter", defaults.jitter);
    let runs_at_once = match fields.get("runs_at_once") {
        Some(v) => v.number::<usize>("a number of runs, such as 8").and_then(|count| {
            if (1..=256).contains(&count) {
                Some(Some(count))
            } else {
                v.report("must be from 1 to 256");
                None
            }
        }),
        None => Some(None),
    };
    Some(DaemonConfig { shutdown_grace: shutdown_grace?, jitter: jitter?, runs_at_once: runs_at_once? })
}

/// Whether a configuration is loaded to send (every secret must be at hand) or only to be checked or shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// `run`, `daemon`, `query --tenant`, `outbox retry`: a secret that is not available is an error.
    Required,
    /// `validate`, `test`, `preview` and the commands that only read: a well-formed reference to a secret that is
    /// not available here is a warning (`Config::warnings`), and the secret is marked unavailable.
    Optional,
}

/// Loads a configuration file, or the embedded default when `path` is `None`, for sending: every problem, with
/// positions.
pub fn load_config(path: Option<&Path>) -> Result<Config, Vec<Diagnostic>> {
    load_config_with(path, Secrets::Required)
}

/// [`load_config`], saying whether its secrets must be at hand.
pub fn load_config_with(path: Option<&Path>, secrets: Secrets) -> Result<Config, Vec<Diagnostic>> {
    let environment = |name: &str| std::env::var(name).ok();
    let Some(path) = path else {
        let base_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        return parse_config_with(None, DEFAULT_CONFIG, &base_dir, &environment, secrets);
    };
    let text = crate::diagnostics::read_text_file(path).map_err(|problem| vec![*problem])?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let base_dir = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    parse_config_with(Some(path), &text, &base_dir, &environment, secrets)
}

/// Validates a configuration's text, every secret required. `environment` looks up `${env:X}` variables (the
/// process environment in `load_config`; a fixed set in tests).
pub fn parse_config(
    file: Option<&Path>,
    text: &str,
    base_dir: &Path,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<Diagnostic>> {
    parse_config_with(file, text, base_dir, environment, Secrets::Required)
}

/// [`parse_config`], saying whether its secrets must be at hand.
pub fn parse_config_with(
    file: Option<&Path>,
    text: &str,
    base_dir: &Path,
    environment: &dyn Fn(&str) -> Option<String>,
    secrets: Secrets,
) -> Result<Config, Vec<Diagnostic>> {
    let name = file.map_or_else(|| DEFAULT_NAME.to_string(), |path| path.display().to_string());
    let (node, mut problems) = yaml::parse(&name, text);
    let Some(node) = node else { return Err(problems) };
    let resolver = Resolver { environment, base_dir, allow_unavailable: secrets == Secrets::Optional };
    let reader = Reader::new(&name, text).with_resolver(&resolver);
    let config = read_config(reader.value(&node), file, base_dir);
    let (found, warnings) = reader.into_problems_and_warnings();
    problems.extend(found);
    let config = config.map(|config| Config { warnings, ..config });
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => {
            problems.sort_by_key(|d| (d.line, d.column));
            Err(problems)
        }
    }
}

pub const TOP_KEYS: &[&str] = &[
    "state",
    "playbooks",
    "templates",
    "source",
    "first_lookback",
    "tenants",
    "smtp",
    "receivers",
    "delivery",
    "meta",
    "catch_up_window",
    "http",
    "daemon",
];

fn read_config(root: Value, file: Option<&Path>, base_dir: &Path) -> Option<Config> {
    let fields = root.fields(TOP_KEYS)?;
    let path_or = |key: &str, default: &str| match fields.get(key) {
        Some(value) => value.path(base_dir),
        None => Some(base_dir.join(default)),
    };
    let state = path_or("state", "huntbook.db");
    let playbooks = path_or("playbooks", "playbooks");
    let templates = match fields.get("templates") {
        Some(value) => value.path(base_dir).and_then(|dir| {
            if dir.is_dir() {
                Some(Some(dir))
            } else {
                value.report(format!("the templates directory {} does not exist", dir.display()));
                None
            }
        }),
        None => Some(Some(base_dir.join("templates")).filter(|dir| dir.is_dir())),
    };
    let first_lookback = match fields.get("first_lookback") {
        Some(value) => value.duration().and_then(|lookback| {
            if lookback <= chrono::TimeDelta::zero() || lookback > crate::schedule::MAX_LOOKBACK {
                value.report_hint(
                    "the first lookback must be longer than zero and at most 30 days",
                    "Graph keeps 30 days of advanced-hunting data",
                );
                return None;
            }
            Some(Some(lookback))
        }),
        None => Some(None),
    };
    let tenants = match fields.get("tenants") {
        Some(value) => tenant::read_tenants(value, base_dir),
        None => Some(BTreeMap::new()),
    };
    let tenant_count = fields.get("tenants").and_then(|v| v.node().as_mapping().map(|m| m.len())).unwrap_or(0);
    // The embedded default names `examples/data` wherever huntbook runs: whether it is there is for the
    // caller to say, with advice (`huntbook sample-data`); a file's own `data:` is checked here, at its line.
    let source = read_source(fields.get("source"), fields.owner(), base_dir, tenant_count, file.is_some());
    let smtp = match fields.get("smtp") {
        Some(value) => smtp::read_smtp(value, base_dir).map(Some),
        None => Some(None),
    };
    let receivers = match fields.get("receivers") {
        Some(value) => {
            let tenant_names: Vec<String> = fields
                .get("tenants")
                .and_then(|v| v.node().as_mapping())
                .map(|m| m.keys().map(|k| k.as_str().to_string()).collect())
                .unwrap_or_default();
            receiver::read_receivers(value, base_dir, fields.has("smtp"), &tenant_names)
        }
        None => Some(BTreeMap::new()),
    };
    // Names as written, so that a receiver with a problem of its own is not also reported as unknown.
    let receiver_names: Vec<&str> = fields
        .get("receivers")
        .and_then(|v| v.node().as_mapping())
        .map(|m| m.keys().map(|k| k.as_str()).collect())
        .unwrap_or_default();
    let delivery = match fields.get("delivery") {
        Some(value) => read_delivery(value),
        None => Some(DeliveryConfig::default()),
    };
    let meta = match fields.get("meta") {
        Some(value) => read_meta(value, &receiver_names).map(Some),
        None => Some(None),
    };
    let http = match fields.get("http") {
        Some(value) => read_http(value),
        None => Some(HttpConfig::default()),
    };
    let catch_up_window = match fields.get("catch_up_window") {
        Some(value) => value.duration().and_then(|window| {
            if window <= chrono::TimeDelta::zero() {
                value.report("must be longer than zero");
                return None;
            }
            Some(window)
        }),
        None => Some(CATCH_UP_WINDOW),
    };
    let daemon = match fields.get("daemon") {
        Some(value) => read_daemon(value),
        None => Some(DaemonConfig::default()),
    };
    Some(Config {
        warnings: Vec::new(),
        file: file.map(Path::to_path_buf),
        base_dir: base_dir.to_path_buf(),
        state: state?,
        playbooks: playbooks?,
        templates: templates?,
        source: source?,
        first_lookback: first_lookback?,
        tenants: tenants?,
        smtp: smtp?,
        receivers: receivers?,
        delivery: delivery?,
        meta: meta?,
        catch_up_window: catch_up_window?,
        http: http?,
        daemon: daemon?,
    })
}

fn read_source(
    value: Option<Value>,
    root: Value,
    base_dir: &Path,
    tenant_count: usize,
    check_data: bool,
) -> Option<SourceConfig> {
    let graph = |at: Value, default: bool| {
        if tenant_count == 0 {
            let what = if default { "the graph source (the default)" } else { "the graph source" };
            at.report_hint(
                format!("{what} needs at least one tenant under `tenants:`"),
                "add a tenant, or query local files with `source: { kind: local, data: DIR }`",
            );
            return None;
        }
        Some(SourceConfig::Graph)
    };
    let Some(value) = value else { return graph(root, true) };
    if value.scalar().is_some() {
        return match value.keyword("source", &[("graph", true), ("local", false)])? {
            true => graph(value, false),
            false => {
                value.report_hint(
                    "the local source needs a data directory",
                    "write `source: { kind: local, data: examples/data }`",
                );
                None
            }
        };
    }
    let fields = value.fields(SOURCE_KEYS)?;
    let kind = fields.required("kind")?;
    if kind.keyword("source kind", &[("graph", true), ("local", false)])? {
        for key in ["data", "rebase_time"] {
            if let Some(extra) = fields.raw(key) {
                extra.reader().report(extra.reader().at(extra.key_place(), format!("`{key}` is for the local source")));
            }
        }
        return graph(kind, false);
    }
    let data = fields.required("data").and_then(|v| {
        let path = v.path(base_dir)?;
        if check_data && !path.is_dir() {
            v.report(format!("the data directory {} does not exist", path.display()));
            return None;
        }
        Some(path)
    });
    let rebase_time = fields.get("rebase_time").map_or(Some(false), |v| v.bool());
    Some(SourceConfig::Local { data: data?, rebase_time: rebase_time? })
}

fn read_meta(value: Value, receivers: &[&str]) -> Option<MetaConfig> {
    let fields = value.fields(META_KEYS)?;
    let to = fields.required("to").and_then(|v| receiver_list(v, receivers));
    let when_failing_for = match fields.get("when_failing_for") {
        Some(value) => {
            let text = value.string()?;
            let number = text.trim().trim_end_matches("runs").trim_end_matches("run").trim();
            match number.parse::<u32>() {
                Ok(count) if count > 0 => Some(count),
                _ => {
                    value.report_hint(
                        format!("expected a number of runs, found {}", value.describe()),
                        "write `when_failing_for: 3 runs`",
                    );
                    None
                }
            }
        }
        None => Some(3),
    };
    let stale_after = match fields.get("stale_after") {
        None => Some(StaleAfter::Intervals(3)),
        Some(value) => {
            let text = value.string()?;
            let count = text.trim().strip_suffix("intervals").or_else(|| text.trim().strip_suffix("interval"));
            match count.map(|count| count.trim().parse::<u32>()) {
                Some(Ok(count)) if count > 0 => Some(StaleAfter::Intervals(count)),
                Some(_) => {
                    value.report_hint("expected a number of intervals", "write `stale_after: 3 intervals`");
                    None
                }
                None => value.duration().and_then(|time| {
                    if time <= chrono::TimeDelta::zero() {
                        value.report("must be longer than zero");
                        return None;
                    }
                    Some(StaleAfter::Time(time))
                }),
            }
        }
    };
    Some(MetaConfig { to: to?, when_failing_for: when_failing_for?, stale_after: stale_after? })
}

/// A list of receiver names, each defined under `receivers:` (with a "did you mean"); at least one.
pub(crate) fn receiver_list(value: Value, receivers: &[&str]) -> Option<Vec<String>> {
    let names = value.strings()?;
    if names.is_empty() {
        value.report("expected at least one receiver");
        return None;
    }
    let mut valid = true;
    for (name, item) in &names {
        if !receivers.contains(&name.as_str()) {
            valid = false;
            let hint = did_you_mean(name, receivers.iter().copied()).unwrap_or_else(|| {
                if receivers.is_empty() {
                    "no receiver is defined: add one under `receivers:` in huntbook.yaml".to_string()
                } else {
                    format!("the receivers are {}", one_of(receivers))
                }
            });
            item.report_hint(format!("unknown receiver `{name}`"), hint);
        }
    }
    valid.then(|| names.into_iter().map(|(name, _)| name).collect())
}

fn read_http(value: Value) -> Option<HttpConfig> {
    let fields = value.fields(HTTP_KEYS)?;
    let token = match fields.get("token") {
        Some(v) => v.secret().map(Some),
        None => Some(None),
    };
    let listen = match fields.get("listen") {
        None => Some(HttpConfig::default().listen),
        Some(listen) => {
            let text = listen.string()?;
            match text.parse::<SocketAddr>() {
                Ok(address) => {
                    if !address.ip().is_loopback() && matches!(token, Some(None)) {
                        listen.report_hint(
                            format!("listening on {address}, off this machine, needs `http.token`"),
                            "add `token: ${env:HUNTBOOK_HTTP_TOKEN}` (requests then carry `Authorization: Bearer \
                             TOKEN`), or listen on 127.0.0.1",
                        );
                        return None;
                    }
                    Some(address)
                }
                Err(_) => {
                    listen.report_hint(
                        format!("expected an address and a port, found {}", listen.describe()),
                        "write an IP address and a port, such as 127.0.0.1:9464",
                    );
                    None
                }
            }
        }
    };
    Some(HttpConfig { listen: listen?, token: token? })
}

/// Whether a host name is this machine (where a plain-text connection is acceptable).
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Names of receivers and tenants: what `notify.to` and `tenants:` refer to, also file names in the outbox.
pub(crate) fn check_name(value: Value, what: &str) -> bool {
    let name = value.key().unwrap_or_default();
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if !valid {
        value.reader().report(
            value
                .reader()
                .at(value.key_place(), format!("`{name}` is not a valid {what} name"))
                .with_hint("use letters, digits, `-`, `_` and `.`"),
        );
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        let environment = |name: &str| (name == "HUNTBOOK_SMTP_PASSWORD").then(|| "hunter2".to_string());
        parse_config(Some(Path::new("huntbook.yaml")), text, Path::new("/srv/huntbook"), &environment)
            .map_err(|problems| crate::diagnostics::render_diagnostics(&problems))
    }

    #[test]
    fn the_embedded_default_loads_without_secrets() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = parse_config(None, DEFAULT_CONFIG, base, &|_| None).expect("valid");
        assert_eq!(config.file, None);
        assert_eq!(config.state, base.join("huntbook.db"));
        assert_eq!(config.playbooks, base.join("playbooks"));
        assert_eq!(config.source, SourceConfig::Local { data: base.join("examples/data"), rebase_time: true });
        assert_eq!(config.receivers.keys().collect::<Vec<_>>(), ["soc-digest", "soc-mail", "soc-teams"]);
    }

    #[test]
    fn graph_needs_a_tenant() {
        let rendered = parse("receivers: {}\n").expect_err("invalid");
        assert_eq!(
            rendered,
            "error: the graph source (the default) needs at least one tenant under `tenants:`\n --> huntbook.yaml:1:1\n  |\n1 | receivers: {}\n  | ^^^^^^^^^ add a tenant, or query local files with `source: { kind: local, data: DIR }`\n"
        );
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("localhost") && is_loopback("127.0.0.1") && is_loopback("[::1]"));
        assert!(!is_loopback("smtp.contoso.com") && !is_loopback("10.0.0.1"));
    }
}
