//! `huntbook daemon`, the real binary: it fires playbooks and delivers to a real SMTP server and a recording
//! webhook; SIGTERM drains and exits 0; `kill -9` loses nothing; after downtime it catches up in order; SIGHUP
//! with a broken playbook keeps the old set; `/metrics` parses and agrees with what was delivered; off loopback it
//! wants a token. The tests wait on what the daemon says (its JSON log lines on stderr), never on a timer.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value as Json;

use crate::common;
use common::smtp::{Options, PASSWORD, SmtpServer, USER, certificates};
use common::webhook::{Answer, Webhook};
use common::{huntbook, repo};

/// How long a test waits for something the daemon should say before it fails (a debug build on a busy machine
/// runs a 30-day query over the sample in a few seconds).
const PATIENCE: Duration = Duration::from_secs(180);

fn yaml_path(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

/// A running `huntbook daemon --log-format json`, its log lines read as they come.
pub(crate) struct Daemon {
    child: Child,
    pub(crate) address: String,
    lines: mpsc::Receiver<Json>,
    /// Every line so far, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
    /// The lines the test has read so far.
    read: std::cell::RefCell<Vec<Json>>,
}

impl Daemon {
    pub(crate) fn start(dir: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut command = huntbook();
        command.current_dir(dir).args(["daemon", "--log-format", "json", "-c"]).arg(dir.join("huntbook.yaml"));
        Daemon::spawn(command, env)
    }

    /// Starts `command` (a `huntbook daemon --log-format json …`, maybe wrapped) and reads its log.
    pub(crate) fn spawn(mut command: std::process::Command, env: &[(&str, &str)]) -> Daemon {
        command.envs(env.iter().copied()).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the daemon starts");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, lines) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                kept.lock().expect("log").push(line.clone());
                let value = serde_json::from_str(&line).unwrap_or_else(|_| serde_json::json!({ "text": line }));
                if sender.send(value).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Daemon { child, address: String::new(), lines, log, read: Default::default() };
        let started = daemon.wait_for("the listening line", |line| {
            line["text"].as_str().is_some_and(|t| t.starts_with("huntbook daemon listening on http://"))
        });
        daemon.address = started["text"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("huntbook daemon listening on http://")
            .to_string();
        daemon
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    /// The next log line that satisfies `wanted` (the lines before it are passed over).
    pub(crate) fn wait_for(&self, what: &str, wanted: impl Fn(&Json) -> bool) -> Json {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.read.borrow_mut().push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("the daemon never said {what}; its log:\n{}", self.log()),
            }
        }
    }

    /// A line the test read already that satisfies `wanted`, or else the next one.
    pub(crate) fn said_or_wait_for(&self, what: &str, wanted: impl Fn(&Json) -> bool) -> Json {
        let earlier = self.read.borrow().iter().find(|line| wanted(line)).cloned();
        earlier.unwrap_or_else(|| self.wait_for(what, wanted))
    }

    /// Waits until the daemon has logged `count` committed runs in all; returns them.
    pub(crate) fn committed_runs(&self, count: usize) -> Vec<Json> {
        (0..count).map(|_| self.wait_for("a committed run", |line| message(line) == "run committed")).collect()
    }

    /// Waits until `expected` messages per receiver were delivered since the start (counted from the log).
    pub(crate) fn delivered(&self, expected: &BTreeMap<&str, u64>) {
        fn count(seen: &mut BTreeMap<String, u64>, line: &Json) {
            if message(line) == "delivered" {
                let receiver = line["fields"]["receiver"].as_str().unwrap_or_default().to_string();
                *seen.entry(receiver).or_default() += line["fields"]["messages"].as_u64().unwrap_or(0);
            }
        }
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for line in self.read.borrow().iter() {
            count(&mut seen, line);
        }
        while expected.iter().any(|(receiver, n)| seen.get(*receiver).copied().unwrap_or(0) < *n) {
            let line = self.wait_for("the deliveries", |line| message(line) == "delivered");
            count(&mut seen, &line);
        }
    }

    pub(crate) fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        http_get(&self.address, path, token)
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to end, at most `limit`.
    pub(crate) fn exit_within(mut self, limit: Duration) -> (ExitStatus, String) {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The reader thread sees the end of stderr; give the log a moment to be complete.
                while self.lines.recv_timeout(Duration::from_millis(200)).is_ok() {}
                return (status, self.log());
            }
            assert!(std::time::Instant::now() < deadline, "the daemon did not exit within {limit:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn message(line: &Json) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

/// A plain HTTP/1.1 GET (the daemon's endpoint is plain HTTP on loopback).
pub(crate) fn http_get(address: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n").expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A directory with a `huntbook.yaml` (local source over the sample data) and the named shipped playbooks.
pub(crate) fn workspace(playbooks: &[&str], receivers: &str, extra: &str) -> tempfile::TempDir {
    workspace_over(&repo().join("examples/data"), playbooks, receivers, extra)
}

/// The same over another data directory.
pub(crate) fn workspace_over(data: &Path, playbooks: &[&str], receivers: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    common::copy_playbooks(&dir.path().join("playbooks"), playbooks);
    // No jitter unless a test asks (it is tested in process): a playbook's first fire then comes at once.
    let jitter = if extra.contains("daemon:") { "" } else { "daemon: { jitter: 0s }\n" };
    let config = format!(
        "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: {data}, rebase_time: true }}\n\
         first_lookback: 30d\nhttp: {{ listen: 127.0.0.1:0 }}\n{jitter}receivers:\n{receivers}{extra}",
        data = yaml_path(data),
    );
    std::fs::write(dir.path().join("huntbook.yaml"), config).expect("the configuration");
    dir
}

/// The sample's offboarding downloads and isolations alone (44 of its 2,500 events): what the two playbooks of
/// the crash trials read, so that each of their many starts queries a small file.
pub(crate) fn small_sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let events = std::fs::read_to_string(repo().join("examples/data/CloudAppEvents.jsonl")).expect("the sample");
    let kept: String = events
        .lines()
        .filter(|line| {
            ["DownloadOffboardingPkg", "IsolateDevice", "ReleaseFromIsolation"].iter().any(|a| line.contains(a))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(dir.path().join("CloudAppEvents.jsonl"), kept).expect("written");
    dir
}

pub(crate) const FILE_RECEIVERS: &str = r#"  soc-mail:
    email: { to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox/soc-mail }
  soc-teams:
    teams: { dir: outbox/soc-teams }
  soc-digest:
    email: { to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox/soc-digest, template: digest }
"#;

/// Files in the outbox directories, by receiver.
pub(crate) fn outbox_files(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut files = BTreeMap::new();
    for receiver in ["soc-mail", "soc-teams", "soc-digest"] {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("outbox").join(receiver))
            .map(|entries| entries.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        files.insert(receiver.to_string(), names);
    }
    files
}

fn counts(files: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, usize> {
    files.iter().map(|(receiver, names)| (receiver.clone(), names.len())).collect()
}

/// What `huntbook run` delivers for these playbooks over `data`: the count every daemon test must reach.
fn baseline(data: &Path, playbooks: &[&str]) -> BTreeMap<String, usize> {
    let dir = workspace_over(data, playbooks, FILE_RECEIVERS, "");
    let output = huntbook()
        .current_dir(dir.path())
        .args(["run", "-c"])
        .arg(dir.path().join("huntbook.yaml"))
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    counts(&outbox_files(dir.path()))
}

fn expected_deliveries(counts: &BTreeMap<String, usize>) -> BTreeMap<&str, u64> {
    counts.iter().filter(|(_, n)| **n > 0).map(|(r, n)| (r.as_str(), *n as u64)).collect()
}

const TWO: [&str; 2] = ["offboarding-package-download", "manual-device-isolation"];

#[test]
fn the_daemon_fires_playbooks_and_delivers_to_smtp_and_a_webhook_and_its_metrics_agree() {
    let certs = Arc::new(certificates());
    let server = SmtpServer::start(Options { tls: Some(Arc::clone(&certs)), ..Options::default() });
    let webhook = Webhook::start(Vec::new());
    let receivers = format!(
        r#"  soc-mail:
    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example }}
  soc-teams:
    teams: {{ webhook: '${{env:HB_TEST_WEBHOOK}}', per_second: 4 }}
  soc-digest:
    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, template: digest }}
smtp: {{ host: 127.0.0.1, port: {port}, username: {USER}, password: '${{env:HB_TEST_SMTP_PASSWORD}}', ca_file: {ca} }}
"#,
        port = server.port,
        ca = yaml_path(&certs.ca),
    );
    // With the isolation recorder, whose archive /metrics measures.
    let dir =
        workspace(&["offboarding-package-download", "manual-device-isolation", "isolation-history"], &receivers, "");
    let daemon = Daemon::start(dir.path(), &[("HB_TEST_SMTP_PASSWORD", PASSWORD), ("HB_TEST_WEBHOOK", &webhook.url)]);
    let runs = daemon.committed_runs(3);
    let mut playbooks: Vec<&str> = runs.iter().map(|r| r["span"]["playbook"].as_str().unwrap_or_default()).collect();
    playbooks.sort_unstable();
    assert_eq!(playbooks, ["isolation-history", "manual-device-isolation", "offboarding-package-download"]);
    assert!(runs.iter().all(|r| r["span"]["run_id"].as_str().is_some_and(|id| id.len() == 36)), "{runs:?}");
    daemon.delivered(&BTreeMap::from([("soc-mail", 1), ("soc-teams", 11)]));

    // What the servers got: one e-mail over STARTTLS with AUTH, eleven cards.
    let mail = server.received();
    assert_eq!(mail.len(), 1);
    let parsed = mail_parser::MessageParser::default().parse(&mail[0].data).expect("MIME");
    assert!(parsed.subject().unwrap_or_default().contains("Offboarding package downloaded"), "{:?}", parsed.subject());
    assert_eq!(server.logins(), vec![(USER.to_string(), true)]);
    let cards = webhook.posted();
    assert_eq!(cards.len(), 11);
    for card in &cards {
        let payload: Json = serde_json::from_slice(&card.body).expect("JSON");
        common::cards::assert_valid_card(&payload, 28 * 1024);
    }

    // Beside the daemon: `run` says who holds the state file and does nothing; the read-only commands work.
    let beside = |args: &[&str]| {
        huntbook()
            .current_dir(dir.path())
            .args(args)
            .env("HB_TEST_SMTP_PASSWORD", PASSWORD)
            .env("HB_TEST_WEBHOOK", &webhook.url)
            .output()
            .expect("huntbook runs")
    };
    let run = beside(&["run", "--all"]);
    let said = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(said.contains("another huntbook process (huntbook daemon, process "), "{said}");
    for command in [&["runs"][..], &["outbox", "list", "--all"], &["validate"]] {
        let output = beside(command);
        assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    // /metrics parses as Prometheus text, and its counters are what happened.
    let (status, text) = daemon.get("/metrics", None);
    assert_eq!(status, 200);
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .sum()
    };
    assert_eq!(value("huntbook_deliveries_total", &[("receiver", "soc-mail"), ("outcome", "delivered")]), 1.0);
    assert_eq!(value("huntbook_deliveries_total", &[("receiver", "soc-teams"), ("outcome", "delivered")]), 11.0);
    assert_eq!(value("huntbook_messages_queued_total", &[("receiver", "soc-teams")]), 11.0);
    assert_eq!(value("huntbook_runs_total", &[("playbook", "manual-device-isolation"), ("outcome", "succeeded")]), 1.0);
    assert_eq!(value("huntbook_hits_total", &[("playbook", "offboarding-package-download")]), 5.0);
    assert_eq!(value("huntbook_outbox_pending", &[("receiver", "soc-teams")]), 0.0);
    assert_eq!(value("huntbook_archive_rows", &[("archive", "isolations")]), 21.0);
    assert!(value("huntbook_archive_bytes", &[("archive", "isolations")]) > 21.0 * 100.0);
    assert_eq!(value("huntbook_playbooks", &[]), 3.0);
    assert!(value("huntbook_last_success_timestamp_seconds", &[("playbook", "manual-device-isolation")]) > 1.7e9);
    // No secret in any label or value: the webhook's signature and the SMTP password appear nowhere.
    assert!(!text.contains("TOPSECRETsig") && !text.contains(PASSWORD));
    assert!(!daemon.log().contains("TOPSECRETsig") && !daemon.log().contains(PASSWORD));

    // The status page lists the archive, who keeps it and its rows.
    let (_, page) = daemon.get("/", None);
    assert!(
        page.contains(
            "<tr data-archive=\"isolations\"><td>isolations</td><td>isolation-history</td><td class=\"n\">21</td>"
        ),
        "{page}"
    );

    let (status, body) = daemon.get("/readyz", None);
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    let (status, body) = daemon.get("/healthz", None);
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    daemon.signal("TERM");
    let (status, log) = daemon.exit_within(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("huntbook daemon stopped"), "{log}");
}

#[test]
fn sigterm_mid_run_exits_zero_within_the_grace_and_the_next_start_delivers_everything() {
    let data = small_sample();
    let expected = baseline(data.path(), &TWO);
    let dir = workspace_over(data.path(), &TWO, FILE_RECEIVERS, "daemon: { shutdown_grace: 1s, jitter: 0s }\n");
    // Every run stops after its query, before its commit, until told to go on (it never is).
    let daemon = Daemon::start(dir.path(), &[("HUNTBOOK_FAILPOINT", "after-query:pause")]);
    daemon.wait_for("a run held after its query", |line| {
        line["text"].as_str() == Some("huntbook: paused at after-query")
    });
    let stopping = std::time::Instant::now();
    daemon.signal("TERM");
    let (status, log) = daemon.exit_within(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(stopping.elapsed() < Duration::from_secs(10), "{:?}", stopping.elapsed());
    assert!(log.contains("run cut off by the end of the grace period"), "{log}");
    assert_eq!(counts(&outbox_files(dir.path())).values().sum::<usize>(), 0, "a cut-off run sent nothing");

    let daemon = Daemon::start(dir.path(), &[]);
    daemon.delivered(&expected_deliveries(&expected));
    assert_eq!(counts(&outbox_files(dir.path())), expected);
    daemon.signal("INT");
    let (status, log) = daemon.exit_within(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "{log}");
}

#[test]
fn sigterm_mid_delivery_exits_zero_and_the_next_start_sends_the_rest() {
    // The webhook takes 5 s over its first card: the grace (1 s) ends during that delivery.
    let webhook = Webhook::start(vec![Answer { delay: Duration::from_secs(5), ..Answer::status(202) }]);
    let receivers = "  soc-teams:\n    teams: { webhook: '${env:HB_TEST_WEBHOOK}', per_second: 4 }\n";
    let dir = workspace(&["manual-device-isolation"], receivers, "daemon: { shutdown_grace: 1s, jitter: 0s }\n");
    let daemon = Daemon::start(dir.path(), &[("HB_TEST_WEBHOOK", &webhook.url)]);
    daemon.committed_runs(1);
    daemon.signal("TERM");
    let (status, log) = daemon.exit_within(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(webhook.posted().len() <= 1, "the slow first card at most");

    let daemon = Daemon::start(dir.path(), &[("HB_TEST_WEBHOOK", &webhook.url)]);
    daemon.delivered(&BTreeMap::from([("soc-teams", 11 - webhook.posted().len() as u64)]));
    let posted = webhook.posted();
    let mut ids: Vec<String> = posted
        .iter()
        .map(|p| {
            let card: Json = serde_json::from_slice(&p.body).expect("JSON");
            card.to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 11, "every card arrived; only the one in flight may have come twice");
    assert!(posted.len() <= 12);
    drop(daemon);
}

#[test]
fn a_daemon_killed_at_any_stage_loses_nothing_after_a_restart() {
    let data = small_sample();
    let expected = baseline(data.path(), &TWO);
    assert_eq!(expected.values().sum::<usize>(), 12, "{expected:?}");
    for point in ["after-query", "before-commit", "in-commit", "after-commit", "after-delivery"] {
        let dir = workspace_over(data.path(), &TWO, FILE_RECEIVERS, "");
        let killed = Daemon::start(dir.path(), &[("HUNTBOOK_FAILPOINT", point)]);
        let (status, log) = killed.exit_within(PATIENCE);
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(6), "{point}: {log}");
        let daemon = Daemon::start(dir.path(), &[]);
        let before = counts(&outbox_files(dir.path()));
        let left: BTreeMap<String, usize> =
            expected.iter().map(|(r, n)| (r.clone(), n - before.get(r).copied().unwrap_or(0))).collect();
        daemon.delivered(&expected_deliveries(&left));
        assert_eq!(counts(&outbox_files(dir.path())), expected, "{point}");
        drop(daemon);
        let store = huntbook::store::Store::open(&dir.path().join("huntbook.db")).expect("store");
        let runs = store.runs(None, 100).expect("runs");
        let succeeded = runs.iter().filter(|r| r.status == huntbook::store::RunStatus::Succeeded).count();
        assert_eq!(succeeded, 2, "{point}: one successful run per playbook");
        assert!(store.pending_heads().expect("heads").is_empty(), "{point}: nothing left queued");
    }
    // And at moments no failpoint names: as soon as the first run has committed, and mid-way through the cards.
    for after_lines in [1usize, 3] {
        let dir = workspace_over(data.path(), &TWO, FILE_RECEIVERS, "");
        let mut daemon = Daemon::start(dir.path(), &[]);
        for _ in 0..after_lines {
            daemon.wait_for("work", |line| !message(line).is_empty());
        }
        daemon.child.kill().expect("kill -9");
        let _ = daemon.child.wait();
        drop(daemon);
        let before = counts(&outbox_files(dir.path()));
        let daemon = Daemon::start(dir.path(), &[]);
        let left: BTreeMap<String, usize> =
            expected.iter().map(|(r, n)| (r.clone(), n - before.get(r).copied().unwrap_or(0))).collect();
        daemon.delivered(&expected_deliveries(&left));
        assert_eq!(counts(&outbox_files(dir.path())), expected, "killed after {after_lines} lines");
    }
}

#[test]
fn after_three_days_down_a_fifteen_minute_playbook_catches_up_in_order_in_windows_of_at_most_six_hours() {
    let dir = common::quarter_hour_workspace("http: { listen: 127.0.0.1:0 }\ndaemon: { jitter: 0s }");
    let first = Daemon::start(dir.path(), &[("HUNTBOOK_NOW", "2026-11-17T12:00:00Z")]);
    let before = first.committed_runs(1);
    first.signal("TERM");
    let (status, log) = first.exit_within(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "{log}");

    // Three days later.
    let second = Daemon::start(dir.path(), &[("HUNTBOOK_NOW", "2026-11-20T12:00:00Z")]);
    let runs = second.committed_runs(12);
    let window = |run: &Json| -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
        let text = run["fields"]["window"].as_str().expect("a window");
        let (start, end) = text.split_once('/').expect("start/end");
        let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).expect("time").with_timezone(&chrono::Utc);
        (parse(start), parse(end))
    };
    let mut previous_end = window(&before[0]).1;
    for (index, run) in runs.iter().enumerate() {
        let (start, end) = window(run);
        assert_eq!(start, previous_end - chrono::TimeDelta::minutes(10), "run {index}: in order, with the overlap");
        assert!(end - previous_end <= chrono::TimeDelta::hours(6), "run {index}: {start} → {end}");
        assert_eq!(run["fields"]["behind"].as_bool(), Some(index < 11), "run {index}");
        previous_end = end;
    }
    // Caught up: the last window ends at now minus the delay (give or take the seconds the runs took).
    assert!(
        previous_end
            >= chrono::DateTime::parse_from_rfc3339("2026-11-20T11:55:00Z").expect("t").with_timezone(&chrono::Utc)
    );
    second.signal("TERM");
    let (status, log) = second.exit_within(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "{log}");
}

#[test]
fn sighup_with_a_broken_playbook_keeps_the_old_set_and_reports_it() {
    let dir = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    let daemon = Daemon::start(dir.path(), &[]);
    daemon.committed_runs(1);
    let broken = dir.path().join("playbooks/broken.yaml");
    std::fs::write(&broken, "id: broken\ntitle: Broken\nseverity: low\nschedule: { every: 1h }\nquery: CloudAppEvents | whre x\nnotify:\n  - to: [soc-mail]\n").expect("written");
    // The new file alone sets off a reload (the directory is watched), and so does SIGHUP: both refuse the set.
    let failed_reload = |cause: &str| {
        daemon.wait_for(&format!("the failed reload after {cause}"), |line| {
            message(line).contains("still running the set loaded before")
                && line["fields"]["cause"].as_str().is_some_and(|c| c.contains(cause))
        })
    };
    let failed = failed_reload("a change in");
    assert!(failed["fields"]["problems"].as_str().unwrap_or_default().contains("broken.yaml:5:"), "{failed}");
    daemon.signal("HUP");
    let failed = failed_reload("SIGHUP");
    assert!(failed["fields"]["problems"].as_str().unwrap_or_default().contains("broken.yaml:5:"), "{failed}");

    let (_, metrics) = daemon.get("/metrics", None);
    assert!(metrics.contains("huntbook_config_reload_failed 1\n"), "{metrics}");
    assert!(metrics.contains("huntbook_config_reloads_total{outcome=\"failed\"}"), "{metrics}");
    let (_, page) = daemon.get("/", None);
    assert!(page.contains("id=\"reload-failed\"") && page.contains("broken.yaml:5:"), "{page}");
    assert!(
        page.contains("data-playbook=\"offboarding-package-download\"") && !page.contains("data-playbook=\"broken\"")
    );

    // Fixed: the next reload takes the new set.
    std::fs::write(
        &broken,
        std::fs::read_to_string(&broken).expect("read").replace("whre x", "where ActionType == \"x\""),
    )
    .expect("fixed");
    daemon.wait_for("the reload", |line| message(line) == "reloaded the configuration and playbooks");
    let (_, metrics) = daemon.get("/metrics", None);
    assert!(metrics.contains("huntbook_config_reload_failed 0\n"), "{metrics}");
    daemon.wait_for("the new playbook's run", |line| {
        message(line) == "run committed" && line["span"]["playbook"] == "broken"
    });
    let (_, page) = daemon.get("/", None);
    assert!(!page.contains("id=\"reload-failed\"") && page.contains("data-playbook=\"broken\""));
}

#[test]
fn off_loopback_the_endpoint_wants_the_token_and_without_one_the_daemon_does_not_start() {
    let dir = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    let config = dir.path().join("huntbook.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, text.replace("http: { listen: 127.0.0.1:0 }", "http: { listen: 0.0.0.0:0 }"))
        .expect("written");
    let refused = huntbook().current_dir(dir.path()).args(["daemon"]).output().expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("off this machine, needs `http.token`"), "{said}");

    std::fs::write(
        &config,
        text.replace(
            "http: { listen: 127.0.0.1:0 }",
            "http: { listen: 0.0.0.0:0, token: '${env:HB_TEST_HTTP_TOKEN}' }",
        ),
    )
    .expect("written");
    let token = "s3cret-token-for-the-status-page";
    let mut daemon = Daemon::start(dir.path(), &[("HB_TEST_HTTP_TOKEN", token)]);
    daemon.address = daemon.address.replace("0.0.0.0", "127.0.0.1");
    for path in ["/", "/metrics"] {
        assert_eq!(daemon.get(path, None).0, 401, "{path} without a token");
        assert_eq!(daemon.get(path, Some("wrong")).0, 401, "{path} with a wrong token");
        assert_eq!(daemon.get(path, Some(token)).0, 200, "{path} with the token");
    }
    // The scheme is case-insensitive (RFC 9110): `bearer` is `Bearer`; another scheme is not.
    for (header, status) in
        [(format!("bearer {token}"), 200), (format!("BEARER  {token}"), 200), (format!("Basic {token}"), 401)]
    {
        let mut stream = std::net::TcpStream::connect(&daemon.address).expect("connect");
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: {header}\r\nConnection: close\r\n\r\n")
            .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{header}: {}", answer.lines().next().unwrap_or(""));
    }
    assert_eq!(daemon.get("/healthz", None).0, 200, "/healthz is open: probes carry no token");
    // So is /readyz; whether the daemon is ready yet depends on how fast its first runs go (under load, not yet).
    let (status, body) = daemon.get("/readyz", None);
    assert!(matches!((status, body.as_str()), (200, "ready\n") | (503, "not ready\n")), "/readyz: {status} {body}");
    assert!(!daemon.log().contains(token));
}

#[test]
fn the_status_page_shows_a_failing_playbook_as_failing_in_a_real_browser() {
    let Some(browser) = common::chromium("the status page is not looked at in a browser") else { return };
    let dir = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    std::fs::write(
        dir.path().join("playbooks/failing.yaml"),
        "id: failing\ntitle: Always <b>failing</b>\nseverity: low\nschedule: { every: 1h }\n\
         query: CloudAppEvents | extend n = toscalar(range x from 1 to 10 step 0 | count)\nnotify:\n  - to: [soc-mail]\n",
    )
    .expect("playbook");
    let daemon = Daemon::start(dir.path(), &[]);
    daemon.committed_runs(1);
    daemon.said_or_wait_for("the failed run", |line| message(line) == "run failed");
    let output = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--dump-dom"])
        .arg(format!("http://{}/", daemon.address))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(dom.contains("<table id=\"playbooks\">"), "{dom}");
    let row = |id: &str| -> String {
        let start = dom.find(&format!("data-playbook=\"{id}\"")).unwrap_or_else(|| panic!("no row for {id}:\n{dom}"));
        dom[start..].split("</tr>").next().unwrap_or_default().to_string()
    };
    let failing = row("failing");
    assert!(failing.contains("data-state=\"failing\"") && failing.contains(" in a row)</td>"), "{failing}");
    assert!(failing.contains("range: the step is zero"), "{failing}");
    // The title is text, not markup.
    assert!(failing.contains("Always &lt;b&gt;failing&lt;/b&gt;"), "{failing}");
    let fine = row("offboarding-package-download");
    assert!(fine.contains("data-state=\"ok\"") && fine.contains("every 15m"), "{fine}");
    assert!(dom.contains("<span id=\"failing-count\">1</span>"), "{dom}");
    assert!(dom.contains("data-receiver=\"soc-mail\""), "{dom}");
}

#[test]
fn a_result_cut_off_at_the_cap_and_a_receiver_whose_messages_die_are_each_reported_once() {
    // 100,001 events: Graph's answer stops at 100,000 rows, and the client knows it was cut off.
    let data = tempfile::tempdir().expect("temp dir");
    let mut events = String::with_capacity(100_001 * 64);
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-19T00:00:00Z").expect("t");
    for index in 0..100_001i64 {
        let at =
            (start + chrono::TimeDelta::milliseconds(index * 500)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        events.push_str(&format!("{{\"Timestamp\":\"{at}\",\"ActionType\":\"Event{}\"}}\n", index % 7));
    }
    std::fs::write(data.path().join("CloudAppEvents.jsonl"), events).expect("data");
    let emulator = common::emulator::Emulator::start_over(data.path(), &["--client-secret", "meta-secret"]);
    // Every card is refused for good (400): the Teams receiver's messages die.
    let webhook = Webhook::start(vec![Answer::status(400); 40]);
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&playbooks).expect("mkdir");
    std::fs::write(
        playbooks.join("everything.yaml"),
        "id: everything\ntitle: Every event\nseverity: low\nschedule: { every: 1h }\n\
         query: CloudAppEvents | project Timestamp, ActionType\nkey: [Timestamp]\nnotify:\n  - to: [soc-mail]\n    per: run\n",
    )
    .expect("playbook");
    std::fs::write(
        playbooks.join("one-card.yaml"),
        "id: one-card\ntitle: One card\nseverity: low\nschedule: { every: 1h }\n\
         query: CloudAppEvents | summarize Events = count()\nnotify:\n  - to: [soc-teams]\n",
    )
    .expect("playbook");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            r#"state: huntbook.db
playbooks: playbooks
source: graph
first_lookback: 30d
tenants:
  contoso:
    tenant_id: contoso.onmicrosoft.com
    login_url: {url}
    graph_url: {url}
    auth: {{ client_id: 11111111-1111-1111-1111-111111111111, client_secret: '${{env:HB_TEST_SECRET}}' }}
http: {{ listen: 127.0.0.1:0 }}
daemon: {{ jitter: 0s }}
receivers:
  soc-mail:
    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox/soc-mail, max_rows: 10 }}
  soc-teams:
    teams: {{ webhook: '${{env:HB_TEST_WEBHOOK}}', per_second: 4 }}
meta: {{ to: [soc-mail, soc-teams] }}
"#,
            url = emulator.url
        ),
    )
    .expect("config");
    let daemon = Daemon::start(
        dir.path(),
        &[
            ("HB_TEST_SECRET", "meta-secret"),
            ("HB_TEST_WEBHOOK", &webhook.url),
            ("HUNTBOOK_NOW", "2026-11-20T12:00:00Z"),
        ],
    );
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let alert = daemon.wait_for("the meta alerts", |line| message(line) == "meta alert");
        kinds.push(format!(
            "{} {}",
            alert["fields"]["kind"].as_str().unwrap_or_default(),
            alert["fields"]["subject"].as_str().unwrap_or_default()
        ));
    }
    kinds.sort();
    assert_eq!(kinds, ["dead soc-teams", "truncated everything"]);
    // The run's own message, and one alert of each kind (the dead one to soc-mail only).
    daemon.delivered(&BTreeMap::from([("soc-mail", 3)]));
    let subjects: Vec<String> = outbox_files(dir.path())["soc-mail"]
        .iter()
        .map(|name| {
            let bytes = std::fs::read(dir.path().join("outbox/soc-mail").join(name)).expect("eml");
            mail_parser::MessageParser::default().parse(&bytes).expect("MIME").subject().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(
        subjects.iter().filter(|s| s.contains("messages to soc-teams were given up on")).count(),
        1,
        "{subjects:?}"
    );
    assert_eq!(
        subjects.iter().filter(|s| s.contains("Every event — its result was cut off")).count(),
        1,
        "{subjects:?}"
    );
    let (_, metrics) = daemon.get("/metrics", None);
    assert!(metrics.contains("huntbook_meta_alerts_total{kind=\"dead\"} 1\n"), "{metrics}");
    assert!(metrics.contains("huntbook_meta_alerts_total{kind=\"truncated\"} 1\n"), "{metrics}");
    assert!(metrics.contains("huntbook_truncated_results_total{playbook=\"everything\"} 1\n"), "{metrics}");
    assert!(metrics.contains("huntbook_graph_requests_total{tenant=\"contoso\",status=\"200\"} 2\n"), "{metrics}");
    assert!(!metrics.contains("TOPSECRETsig") && !daemon.log().contains("TOPSECRETsig"));

    // `outbox retry` beside the daemon re-queues and leaves the sending to it: the cards are tried again (and
    // die again — the same episode, so no second alert).
    let posted = webhook.posted().len();
    let retried_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let retry = huntbook()
        .current_dir(dir.path())
        .args(["outbox", "retry", "--all-dead"])
        .env("HB_TEST_SECRET", "meta-secret")
        .env("HB_TEST_WEBHOOK", &webhook.url)
        .env("HUNTBOOK_NOW", "2026-11-20T12:00:00Z")
        .output()
        .expect("retry runs");
    let said = String::from_utf8_lossy(&retry.stdout);
    assert!(retry.status.success(), "{said}{}", String::from_utf8_lossy(&retry.stderr));
    assert!(said.contains("re-queued 2 messages") && said.contains("(huntbook daemon, process "), "{said}");
    for _ in 0..2 {
        daemon.wait_for("the retried cards", |line| {
            message(line) == "delivery failed" && line["timestamp"].as_str().is_some_and(|at| at > retried_at.as_str())
        });
    }
    assert_eq!(webhook.posted().len(), posted + 2);
    let (_, metrics) = daemon.get("/metrics", None);
    assert!(metrics.contains("huntbook_meta_alerts_total{kind=\"dead\"} 1\n"), "{metrics}");
}
