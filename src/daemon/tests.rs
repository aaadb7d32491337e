//! The scheduler in process, with tokio's paused time: an hour of schedule passes in milliseconds, and every
//! run it makes is a real run over a real state file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::graph::timer::Sleep;

/// The time of paused tokio: a fixed start, moved by tokio's clock (which jumps ahead when every task waits).
struct PausedTimer {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl Timer for PausedTimer {
    fn now(&self) -> DateTime<Utc> {
        self.base + TimeDelta::from_std(self.start.elapsed()).unwrap_or(TimeDelta::MAX)
    }

    fn sleep(&self, wait: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(wait))
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
}

fn playbook(dir: &Path, id: &str, schedule: &str) {
    let text = format!(
        "id: {id}\ntitle: {id}\nseverity: low\nschedule: {schedule}\nquery: Events | project Timestamp, Name\n\
         notify:\n  - to: [files]\n"
    );
    std::fs::write(dir.join(format!("{id}.yaml")), text).expect("the playbook is written");
}

/// A workspace over one tiny table; `extra` is added to its configuration (`daemon:`, `meta:`).
fn setup(dir: &Path, extra: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("data")).expect("data");
    std::fs::create_dir_all(dir.join("playbooks")).expect("playbooks");
    std::fs::write(dir.join("data/Events.jsonl"), "{\"Timestamp\":\"2026-12-01T10:00:00Z\",\"Name\":\"one\"}\n")
        .expect("data");
    let config = dir.join("huntbook.yaml");
    std::fs::write(
        &config,
        format!(
            "state: state.db\nplaybooks: playbooks\nsource: {{ kind: local, data: data }}\n\
             receivers:\n  files: {{ file: {{ dir: out }} }}\n{extra}\n"
        ),
    )
    .expect("config");
    config
}

fn loader(config: std::path::PathBuf) -> Arc<Loader> {
    Arc::new(move || {
        let args = crate::cli::ConfigArgs { config: Some(config.clone()) };
        let workspace = crate::app::workspace::open(&args)?;
        let source = crate::app::run_source(&workspace).map_err(|e| vec![Diagnostic::plain(e.to_string())])?;
        Ok((workspace, Arc::from(source)))
    })
}

/// Runs the daemon over the workspace for `run_for` of paused time from `start`, then shuts it down; returns
/// what it shared and the runs it cut off.
async fn run_daemon(
    config: std::path::PathBuf,
    start: DateTime<Utc>,
    run_for: Duration,
    metrics: Arc<Metrics>,
    seed: u64,
) -> (Arc<Shared>, Vec<String>) {
    let timer: Arc<dyn Timer> = Arc::new(PausedTimer { base: start, start: tokio::time::Instant::now() });
    let state = config.with_file_name("state.db");
    let daemon = Daemon::start(state, timer, metrics, loader(config), Settings { seed }).expect("the daemon starts");
    let shared = Arc::clone(&daemon.shared);
    let (_reload, reloads) = mpsc::channel(1);
    let scheduler = tokio::spawn(daemon.schedule(reloads));
    tokio::time::sleep(run_for).await;
    shared.shutdown.cancel();
    let cut_off = scheduler.await.expect("the scheduler ends");
    (shared, cut_off)
}

#[tokio::test(start_paused = true)]
async fn an_hour_of_schedule_fires_every_playbook_on_its_slots_within_its_jitter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = setup(dir.path(), "daemon: { jitter: 5s }");
    let playbooks = dir.path().join("playbooks");
    playbook(&playbooks, "every-minute", "{ every: 1m }");
    playbook(&playbooks, "every-five", "{ every: 5m }");
    playbook(&playbooks, "hourly-cron", "{ cron: \"0 * * * *\" }");
    let start = at("2026-12-02T10:00:30Z");
    let metrics = Arc::new(Metrics::new());
    let (_, cut_off) = run_daemon(config, start, Duration::from_secs(3600), Arc::clone(&metrics), 3).await;
    assert!(cut_off.is_empty(), "{cut_off:?}");
    let state = dir.path().join("state.db");

    let store = Store::open(&state).expect("the state file");
    let runs = |id: &str| {
        let mut runs = store.runs(Some(id), 1000).expect("runs");
        runs.reverse();
        runs
    };
    // Never ran: each fires at once (within its jitter), then on its slots.
    let minute = runs("every-minute");
    assert!((60..=61).contains(&minute.len()), "{}", minute.len());
    let five = runs("every-five");
    assert!((12..=13).contains(&five.len()), "{}", five.len());
    let hourly = runs("hourly-cron");
    assert_eq!(hourly.len(), 2, "at start, then at 11:00: {:?}", hourly.iter().map(|r| r.started).collect::<Vec<_>>());
    assert!(hourly[1].started >= at("2026-12-02T11:00:00Z") && hourly[1].started < at("2026-12-02T11:00:05Z"));
    for (id, runs, every) in [("every-minute", &minute, 60), ("every-five", &five, 300)] {
        for pair in runs.windows(2) {
            let gap = (pair[1].started - pair[0].started).num_milliseconds();
            // The jitter is a fixed offset per playbook: the gap is the interval (a run's own time aside).
            assert!((every * 1000..every * 1000 + 50).contains(&gap), "{id}: {gap} ms between runs");
            // Windows follow each other without a gap.
            assert!(pair[1].window_start <= pair[0].window_end, "{id}: {:?}", pair);
        }
        assert!(runs.iter().all(|run| run.status == crate::store::RunStatus::Succeeded), "{id}");
        assert!(runs[0].started - start < TimeDelta::seconds(5), "{id}: the first fire is within the jitter");
    }
    // Lateness was measured for every fire, and no fire waited past its time (nothing held them back).
    let text = metrics.encode();
    let count: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("huntbook_fire_lateness_seconds_count "))
        .and_then(|n| n.parse().ok())
        .expect("a lateness count");
    assert_eq!(count as usize, minute.len() + five.len() + hourly.len());
    assert!(text.contains("huntbook_fire_lateness_seconds_bucket{le=\"0.001\"} ".to_string().as_str()));
}

#[tokio::test(start_paused = true)]
async fn runs_at_once_bounds_the_playbooks_running_together_and_the_rest_wait_their_turn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = setup(dir.path(), "daemon: { jitter: 0s, runs_at_once: 2 }");
    let playbooks = dir.path().join("playbooks");
    for index in 0..10 {
        playbook(&playbooks, &format!("p{index}"), "{ every: 1h }");
    }
    let start = at("2026-12-02T10:00:00Z");
    let (shared, _) = run_daemon(config, start, Duration::from_secs(60), Arc::new(Metrics::new()), 1).await;
    let state = dir.path().join("state.db");
    assert_eq!(shared.peak_running(), 2, "at most two at once, and the pool was used");
    let store = Store::open(&state).expect("store");
    assert_eq!(store.runs(None, 100).expect("runs").len(), 10, "every playbook ran once");
}

#[tokio::test(start_paused = true)]
async fn a_failing_playbook_is_reported_once_as_failing_and_once_as_stale_however_long_it_keeps_failing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config =
        setup(dir.path(), "daemon: { jitter: 0s }\nmeta: { to: [files], when_failing_for: 2 runs, stale_after: 30m }");
    let playbooks = dir.path().join("playbooks");
    std::fs::write(
        playbooks.join("failing.yaml"),
        "id: failing\ntitle: Failing\nseverity: low\nschedule: { every: 10m }\n\
         query: Events | extend n = toscalar(range x from 1 to 10 step 0 | count)\nnotify:\n  - to: [files]\n",
    )
    .expect("playbook");
    playbook(&playbooks, "fine", "{ every: 10m }");
    let start = at("2026-12-02T10:00:00Z");
    run_daemon(config, start, Duration::from_secs(3 * 3600), Arc::new(Metrics::new()), 1).await;
    let state = dir.path().join("state.db");
    let store = Store::open(&state).expect("store");
    let subjects: Vec<String> = store
        .outbox(None, 1000)
        .expect("outbox")
        .into_iter()
        .filter(|entry| entry.message.playbook == "failing")
        .map(|entry| entry.message.subject)
        .collect();
    let failing: Vec<&String> = subjects.iter().filter(|s| s.contains("has failed 2 runs in a row")).collect();
    let stale: Vec<&String> = subjects.iter().filter(|s| s.contains("has not run successfully")).collect();
    assert_eq!(failing.len(), 1, "{subjects:?}");
    assert_eq!(stale.len(), 1, "three hours of failures, one stale report: {subjects:?}");
    assert!(stale[0].contains("for 30m") || stale[0].contains("for 31m"), "{}", stale[0]);
    // The healthy playbook is never reported.
    let about_fine = store
        .outbox(None, 1000)
        .expect("outbox")
        .into_iter()
        .filter(|e| e.message.playbook == "fine" && e.message.subject.starts_with("huntbook:"))
        .count();
    assert_eq!(about_fine, 0);
}

#[test]
fn a_receiver_with_dead_messages_is_reported_once_until_its_queue_is_clean_even_when_a_retry_dies_again() {
    use crate::store::{MessageKind, NewMessage, RunCommit, RunRecord, RunStatus};
    let dir = tempfile::tempdir().expect("temp dir");
    // `other` continues the receivers of the workspace.
    let config = setup(dir.path(), "  other: { file: { dir: other } }\nmeta: { to: [files, other] }");
    playbook(&dir.path().join("playbooks"), "p", "{ every: 1h }");
    let (workspace, _) = loader(config)().expect("the workspace loads");
    let now = at("2026-12-02T10:00:00Z");
    let clock = crate::schedule::FixedClock(now);
    let services = Services {
        config: &workspace.config,
        source: &meta::NoQueries,
        templates: &workspace.templates,
        clock: &clock,
    };
    let mut store = Store::open(&dir.path().join("state.db")).expect("store");
    let run = RunRecord {
        archived: 0,
        silenced: 0,
        suppressed: 0,
        backfill: false,
        id: "run-1".into(),
        playbook: "p".into(),
        tenant: None,
        started: now,
        finished: now,
        window_start: now - TimeDelta::hours(1),
        window_end: now,
        rows: 1,
        new_hits: 1,
        messages: 2,
        truncated: false,
        status: RunStatus::Succeeded,
        error: None,
    };
    let message = |id: &str| NewMessage {
        id: id.into(),
        playbook: "p".into(),
        run_id: "run-1".into(),
        receiver: "other".into(),
        kind: MessageKind::File,
        subject: "a hit".into(),
        payload: b"{}".to_vec(),
        created: now,
    };
    let messages = [message("m-1"), message("m-2")];
    store
        .commit_run(&RunCommit {
            quiet: &[],
            suppressions: &[],
            archives: &[],
            profiles: &[],
            run: &run,
            seen_keys: &[],
            messages: &messages,
            watermark: Some(now),
        })
        .expect("commit");
    let reports = |store: &Store| {
        store
            .outbox(None, 100)
            .expect("outbox")
            .into_iter()
            .filter(|e| e.message.subject.contains("messages to other were given up on"))
            .map(|e| e.message.receiver)
            .collect::<Vec<_>>()
    };
    let check = |store: &mut Store| meta::check(&services, store, &workspace.playbooks, now).expect("check").len();

    store.mark_dead("m-1", "400 Bad Request", now).expect("dead");
    assert_eq!(check(&mut store), 1);
    assert_eq!(reports(&store), ["files"], "told to the other receiver only");
    // Retried (pending again), then dead again: the same episode, nothing new.
    store.retry_dead("m-1", now).expect("retry");
    assert_eq!(check(&mut store), 0);
    store.mark_dead("m-1", "400 Bad Request", now).expect("dead again");
    assert_eq!(check(&mut store), 0);
    // Dropped: the queue is clean only once the other message is delivered; then a new death is a new episode.
    store.drop_message("m-1").expect("drop");
    assert_eq!(check(&mut store), 0);
    store.mark_sent("m-2", now, "").expect("sent");
    assert_eq!(check(&mut store), 0);
    let later = RunRecord { archived: 0, id: "run-2".into(), ..run.clone() };
    let third = NewMessage { id: "m-3".into(), run_id: "run-2".into(), ..message("m-3") };
    store
        .commit_run(&RunCommit {
            quiet: &[],
            suppressions: &[],
            archives: &[],
            profiles: &[],
            run: &later,
            seen_keys: &[],
            messages: &[third],
            watermark: None,
        })
        .expect("commit");
    store.mark_dead("m-3", "400 Bad Request", now).expect("dead");
    assert_eq!(check(&mut store), 1);
    assert_eq!(reports(&store).len(), 2);
}

/// A tmpfs of `megabytes` mounted on a temporary directory, unmounted on drop; `None` (and a note) where this
/// process cannot mount one (it needs root).
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|output| output.status.success());
        if !mounted {
            assert!(std::env::var_os("HUNTBOOK_REQUIRE_ROOT").is_none(), "HUNTBOOK_REQUIRE_ROOT: no tmpfs");
            eprintln!("note: skipped the full-disk schedule test: it needs a small tmpfs, which only root can mount");
            return None;
        }
        Some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

#[tokio::test(start_paused = true)]
async fn on_a_full_disk_runs_fail_on_schedule_not_in_a_loop_and_resume_when_space_returns() {
    let Some(disk) = SmallDisk::mount(8) else { return };
    let dir = disk.0.path();
    let config = setup(dir, "daemon: { jitter: 0s }");
    playbook(&dir.join("playbooks"), "minutely", "{ every: 1m }");
    let start = at("2026-12-02T10:00:30Z");
    let filler = dir.join("filler");
    // Full from 10:05 to 10:25.
    let disk_events = {
        let filler = filler.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5 * 60 - 10)).await;
            use std::io::Write;
            let mut file = std::fs::File::create(&filler).expect("the filler");
            while file.write_all(&[0u8; 4096]).is_ok() {}
            tokio::time::sleep(Duration::from_secs(20 * 60)).await;
            std::fs::remove_file(&filler).expect("the space returns");
        })
    };
    let metrics = Arc::new(Metrics::new());
    crate::telemetry::install(Arc::clone(&metrics));
    let (shared, _) = run_daemon(config, start, Duration::from_secs(40 * 60), metrics, 1).await;
    disk_events.await.expect("the disk events");
    let store = Store::open(&dir.join("state.db")).expect("store");
    let mut runs = store.runs(Some("minutely"), 1000).expect("runs");
    runs.reverse();
    let full = (at("2026-12-02T10:05:00Z"), at("2026-12-02T10:25:00Z"));
    // Nothing was recorded while the disk was full; before and after, a run every minute.
    assert!(runs.iter().all(|run| run.status == crate::store::RunStatus::Succeeded));
    assert!(runs.iter().all(|run| run.started < full.0 || run.started >= full.1), "{runs:?}");
    assert!(runs.iter().filter(|run| run.started < full.0).count() >= 4, "{runs:?}");
    let after: Vec<_> = runs.iter().filter(|run| run.started >= full.1).collect();
    assert!(after.len() >= 10, "it resumed by itself within minutes: {after:?}");
    assert!(after[0].started - full.1 <= TimeDelta::minutes(4), "the first run after: {}", after[0].started);
    // The windows join up: the first run after the disk filled covers the time it missed.
    let before = runs.iter().rfind(|run| run.started < full.0).expect("a run before");
    assert_eq!(after[0].window_start, before.window_end, "nothing missed");
    // The failed runs kept to the schedule — one a minute, as a failed run retries no later than its next
    // slot — not a loop. (Counted by the process's installed metrics, whichever test installed them: the
    // playbook's name is this test's own.)
    let text = crate::telemetry::metrics().expect("installed").encode();
    let failed: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("huntbook_runs_total{playbook=\"minutely\",outcome=\"failed\"} "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    assert!((15.0..=21.0).contains(&failed), "{failed} failed runs in 20 minutes");
    assert!(shared.store_refused().is_none(), "the state file takes writes again: {:?}", shared.store_refused());
}
