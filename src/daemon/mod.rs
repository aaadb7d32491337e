//! `huntbook daemon`: the runner as a service. Three parts share one [`Shared`]:
//!
//! - the **scheduler** (an async task): a [`plan::Plan`] of when each playbook fires; it hands due playbooks to
//!   a pool of run threads, at most `runs_at_once` at a time, and queues each again from its new history when
//!   its run ends. Runs are `runner::run_playbook`, exactly as `huntbook run` makes them: the same windows
//!   (catch-up included), the same one-transaction commit. SQLite and the sources' own blocking calls stay on
//!   those threads, never on the async executor;
//! - the **delivery loop** (its own thread and runtime, with its own connection to the state file): the outbox,
//!   all the time, woken by every commit;
//! - the **HTTP endpoint** (`http`): `/healthz`, `/readyz`, `/metrics`, the status page.
//!
//! Shutdown (SIGTERM, SIGINT): no new run starts; runs in flight may finish and the queue may drain until the
//! grace period ends; then the process exits 0. A run cut off by the deadline never committed, so it changed
//! nothing — the next start runs its window again. Reload (SIGHUP, a change in the playbooks directory): the new
//! set replaces the old only if every file of it is valid.

pub mod http;
pub mod meta;
pub mod plan;
pub mod serve;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::app::workspace::Workspace;
use crate::diagnostics::{Diagnostic, render_diagnostics};
use crate::graph::timer::Timer;
use crate::runner::{RunOptions, Services, due_at, interval, run_playbook};
use crate::schedule::Clock;
use crate::source::Source;
use crate::store::{ScheduleHistory, Store};
use crate::telemetry::Metrics;
use plan::{Fire, Plan};

/// One loaded set of configuration and playbooks, with the source its queries run in.
pub struct Loaded {
    pub workspace: Arc<Workspace>,
    pub source: Arc<dyn Source>,
    /// Counts the sets loaded: 1 at start, then one more per successful reload.
    pub generation: u64,
}

/// Loads the configuration and playbooks (at start and on every reload). `Err`: problems that stop everything
/// (the configuration itself); problems of single playbooks are in the workspace.
pub type Loader = dyn Fn() -> Result<(Workspace, Arc<dyn Source>), Vec<Diagnostic>> + Send + Sync;

/// How the latest reload went.
#[derive(Clone, Debug)]
pub struct ReloadStatus {
    pub at: DateTime<Utc>,
    /// What set it off: `SIGHUP` or `a change in DIR`.
    pub cause: String,
    /// Every problem, rendered; empty when the new set was taken.
    pub problems: String,
}

/// A few connections to the state file for the HTTP endpoint: at most [`Readers::AT_ONCE`] requests read it at
/// once (the others wait their turn), on connections kept open rather than opened per request — so that a crowd
/// of requests cannot take the process's files or threads.
pub struct Readers {
    state: PathBuf,
    permits: tokio::sync::Semaphore,
    idle: Mutex<Vec<Store>>,
}

impl Readers {
    pub const AT_ONCE: usize = 2;

    fn new(state: PathBuf) -> Readers {
        Readers { state, permits: tokio::sync::Semaphore::new(Self::AT_ONCE), idle: Mutex::new(Vec::new()) }
    }

    /// Runs `work` with a connection to the state file, on a blocking thread.
    pub async fn with<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Store) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let _permit = self.permits.acquire().await.map_err(|error| error.to_string())?;
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let pooled = lock(&readers.idle).pop();
            let mut store = match pooled {
                Some(store) => store,
                None => Store::open(&readers.state).map_err(|error| error.to_string())?,
            };
            let result = work(&mut store);
            lock(&readers.idle).push(store);
            result
        })
        .await
        .map_err(|error| error.to_string())?
    }
}

/// What the parts of the daemon share; the HTTP endpoint reads it.
pub struct Shared {
    pub state: PathBuf,
    /// The HTTP endpoint's connections to the state file.
    pub readers: Arc<Readers>,
    pub timer: Arc<dyn Timer>,
    pub metrics: Arc<Metrics>,
    workspace: RwLock<Arc<Workspace>>,
    generation: AtomicU64,
    pub started: DateTime<Utc>,
    /// When each scheduled playbook fires next (absent while it runs).
    next_fires: Mutex<HashMap<String, DateTime<Utc>>>,
    /// The playbooks running now, and since when.
    running: Mutex<BTreeMap<String, DateTime<Utc>>>,
    /// The most runs ever in flight at once.
    peak_running: std::sync::atomic::AtomicUsize,
    /// The latest reload that failed, until one succeeds.
    failed_reload: Mutex<Option<ReloadStatus>>,
    scheduler_running: AtomicBool,
    delivery_running: AtomicBool,
    /// Why the state file does not take what the daemon must keep (a run's commit or a delivery's record
    /// failed: a full disk, a read-only file), and since when. The next write that succeeds clears it;
    /// `/readyz` says it.
    store_refused: Mutex<Option<(DateTime<Utc>, String)>>,
    /// Failed runs the state file could not record, by playbook: when the latest started, and how many in a
    /// row. They back off as recorded failures do, instead of running again at once in a loop.
    unrecorded_failures: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
    /// Messages delivered whose delivery the state file could not record (by id, with the server's answer):
    /// kept across reloads so that none is sent again while the file refuses writes.
    pub delivered_unrecorded: Arc<Mutex<BTreeMap<String, String>>>,
    /// The address the HTTP endpoint listens on, once bound: a reload cannot move it, so the token rule (a
    /// listener off loopback needs `http.token`) is checked against it, not against the new `http.listen`.
    bound: Mutex<Option<std::net::SocketAddr>>,
    /// The delivery loop's panics since it last delivered: when the latest was, how many, its message.
    delivery_panic: Mutex<Option<(DateTime<Utc>, u32, String)>>,
    /// Set by the signals: stop starting runs.
    pub shutdown: CancellationToken,
    /// Wakes the delivery loop: a run committed messages.
    delivery_wake: Notify,
    /// Wakes the meta check: a run ended, or a delivery gave up.
    meta_wake: Notify,
}

impl Shared {
    pub fn workspace(&self) -> Arc<Workspace> {
        Arc::clone(&self.workspace.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    pub fn next_fire(&self, playbook: &str) -> Option<DateTime<Utc>> {
        lock(&self.next_fires).get(playbook).copied()
    }

    pub fn running(&self) -> BTreeMap<String, DateTime<Utc>> {
        lock(&self.running).clone()
    }

    /// The most runs that were ever in flight at once.
    pub fn peak_running(&self) -> usize {
        self.peak_running.load(Ordering::Relaxed)
    }

    pub fn failed_reload(&self) -> Option<ReloadStatus> {
        lock(&self.failed_reload).clone()
    }

    pub fn scheduler_running(&self) -> bool {
        self.scheduler_running.load(Ordering::Relaxed)
    }

    /// Whether the delivery loop runs (it stops only at shutdown, or when it cannot work: logged).
    pub fn delivery_running(&self) -> bool {
        self.delivery_running.load(Ordering::Relaxed)
    }

    /// Says where the HTTP endpoint listens (once, when it is bound).
    pub fn listening_on(&self, address: std::net::SocketAddr) {
        *lock(&self.bound) = Some(address);
    }

    /// Why (and since when) the state file does not take what the daemon must keep, if it does not.
    pub fn store_refused(&self) -> Option<(DateTime<Utc>, String)> {
        lock(&self.store_refused).clone()
    }

    /// The state file refused a write the daemon needed.
    pub fn refused_by_store(&self, error: &str) {
        let mut refused = lock(&self.store_refused);
        if refused.is_none() {
            tracing::error!(%error, "the state file does not take writes: runs fail and deliveries stop until it does");
        }
        *refused = Some((refused.as_ref().map_or_else(|| self.timer.now(), |(since, _)| *since), error.to_string()));
    }

    /// The state file took a write the daemon needed.
    pub fn accepted_by_store(&self) {
        if lock(&self.store_refused).take().is_some() {
            tracing::info!("the state file takes writes again");
        }
    }

    /// The latest failed run of `playbook` that the state file could not record, and how many in a row.
    pub fn unrecorded_failure(&self, playbook: &str) -> Option<(DateTime<Utc>, u32)> {
        lock(&self.unrecorded_failures).get(playbook).copied()
    }

    /// `history` with the failures the state file could not record (see `unrecorded_failures`). They back off
    /// as recorded ones do, but never past [`UNRECORDED_BACKOFF_STEPS`] doublings: what stops them (a full disk)
    /// usually passes, and the run should follow soon after.
    fn with_unrecorded_failures(&self, playbook: &str, mut history: ScheduleHistory) -> ScheduleHistory {
        if let Some((at, failures)) = lock(&self.unrecorded_failures).get(playbook)
            && history.last_failure.is_none_or(|recorded| recorded < *at)
            && history.last_success.is_none_or(|success| success < *at)
        {
            history.last_failure = Some(*at);
            history.failures = history.failures.max(*failures).min(UNRECORDED_BACKOFF_STEPS);
        }
        history
    }

    /// Remembers how a run that started at `started` ended, for when the state file could not record it.
    fn remember_outcome(&self, playbook: &str, started: DateTime<Utc>, succeeded: bool, history: &ScheduleHistory) {
        let mut unrecorded = lock(&self.unrecorded_failures);
        let recorded = if succeeded {
            history.last_success.is_some_and(|at| at >= started)
        } else {
            history.last_failure.is_some_and(|at| at >= started)
        };
        if succeeded || recorded {
            unrecorded.remove(playbook);
            return;
        }
        let before = unrecorded.get(playbook).map_or(0, |(_, failures)| *failures);
        unrecorded.insert(playbook.to_string(), (started, before.max(history.failures) + 1));
    }

    /// A part of the daemon panicked (a bug): logged, counted, survived.
    fn panicked(&self, part: &str, what: &str, panic: &(dyn std::any::Any + Send)) -> String {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        tracing::error!(part, what, panic = %message, "bug: huntbook panicked here; the daemon goes on (please report it)");
        self.metrics.panics.get_or_create(&crate::telemetry::PartLabel { part: part.to_string() }).inc();
        message
    }

    /// Why the delivery loop is not delivering, if it stopped on a bug and has not delivered since.
    pub fn delivery_panic(&self) -> Option<(DateTime<Utc>, u32, String)> {
        lock(&self.delivery_panic).clone()
    }
}

/// The most doublings of the backoff of a failure the state file could not record: 1, 2, then 4 minutes.
const UNRECORDED_BACKOFF_STEPS: u32 = 3;

/// Holds a flag up while a part runs: down when it ends, however it ends (a panic included).
struct Running<'a>(&'a AtomicBool);

impl<'a> Running<'a> {
    fn new(flag: &'a AtomicBool) -> Running<'a> {
        flag.store(true, Ordering::Relaxed);
        Running(flag)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The runner's clock, read from the daemon's timer (so that tests with paused time see one time everywhere).
struct TimerClock(Arc<dyn Timer>);

impl Clock for TimerClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

/// What a run thread is given.
struct Job {
    loaded: Arc<Loaded>,
    index: usize,
    fire: Fire,
}

/// What a run thread says back.
struct Done {
    playbook: String,
    generation: u64,
    /// The playbook's history after the run (None: the state file could not be read).
    history: Option<ScheduleHistory>,
    interval: TimeDelta,
    /// The run may have queued messages (its own, or a meta alert with its failure).
    queued: bool,
}

/// The daemon's settings that do not come from the configuration file.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Seeds the jitter of fire times.
    pub seed: u64,
}

pub struct Daemon {
    pub shared: Arc<Shared>,
    loader: Arc<Loader>,
    loaded: Arc<Loaded>,
    settings: Settings,
}

impl Daemon {
    /// Loads the first set. Its invalid playbooks are logged and left out; the others run.
    pub fn start(
        state: PathBuf,
        timer: Arc<dyn Timer>,
        metrics: Arc<Metrics>,
        loader: Arc<Loader>,
        settings: Settings,
    ) -> Result<Daemon, Vec<Diagnostic>> {
        let (workspace, source) = loader()?;
        if !workspace.problems.is_empty() {
            tracing::error!(
                problems = %render_diagnostics(&workspace.problems),
                "playbooks left out: they are not valid; the others run"
            );
        }
        metrics.playbooks.set(workspace.playbooks.iter().filter(|p| p.enabled).count() as i64);
        metrics.playbooks_invalid.set(workspace.invalid.len() as i64);
        let workspace = Arc::new(workspace);
        let shared = Arc::new(Shared {
            readers: Arc::new(Readers::new(state.clone())),
            state,
            started: timer.now(),
            timer,
            metrics,
            workspace: RwLock::new(Arc::clone(&workspace)),
            generation: AtomicU64::new(1),
            next_fires: Mutex::new(HashMap::new()),
            running: Mutex::new(BTreeMap::new()),
            peak_running: std::sync::atomic::AtomicUsize::new(0),
            failed_reload: Mutex::new(None),
            scheduler_running: AtomicBool::new(false),
            delivery_running: AtomicBool::new(false),
            store_refused: Mutex::new(None),
            bound: Mutex::new(None),
            delivery_panic: Mutex::new(None),
            unrecorded_failures: Mutex::new(HashMap::new()),
            delivered_unrecorded: Arc::new(Mutex::new(BTreeMap::new())),
            shutdown: CancellationToken::new(),
            delivery_wake: Notify::new(),
            meta_wake: Notify::new(),
        });
        let loaded = Arc::new(Loaded { workspace, source, generation: 1 });
        Ok(Daemon { shared, loader, loaded, settings })
    }

    /// Runs the scheduler until `shared.shutdown` is cancelled, then lets the runs in flight finish for up to
    /// `daemon.shutdown_grace`. `reloads` carries reload requests (their cause). Returns the playbooks whose runs
    /// were cut off by the deadline.
    pub async fn schedule(self, mut reloads: mpsc::Receiver<String>) -> Vec<String> {
        let Daemon { shared, loader, mut loaded, settings } = self;
        let config = &loaded.workspace.config;
        // Like `jitter` and `shutdown_grace`, read once: a reload does not change them.
        let workers = config.daemon.runs_at_once.unwrap_or(if config.source.is_graph() { 8 } else { 2 });
        let grace = config.daemon.shutdown_grace;
        let mut plan = Plan::new(settings.seed, config.daemon.jitter);
        // A finished run says so here. At most `workers` runs are in flight, so at most that many answers wait:
        // a sender never blocks.
        let (done_sender, mut done) = mpsc::channel::<Done>(workers);
        // The state file's connections, one per run in flight, opened when first needed and kept.
        let stores: Arc<Mutex<Vec<Store>>> = Arc::new(Mutex::new(Vec::new()));
        queue_all(&shared, &loaded, &mut plan, &[]).await;
        let meta = tokio::spawn(meta_loop(Arc::clone(&shared)));
        let scheduling = Running::new(&shared.scheduler_running);
        let mut busy = 0usize;
        loop {
            let now = shared.timer.now();
            while busy < workers {
                let Some(fire) = plan.pop_due(now) else { break };
                let Some(index) = loaded.workspace.playbooks.iter().position(|p| p.id == fire.playbook) else {
                    continue;
                };
                lock(&shared.next_fires).remove(&fire.playbook);
                {
                    let mut running = lock(&shared.running);
                    running.insert(fire.playbook.clone(), now);
                    shared.peak_running.fetch_max(running.len(), Ordering::Relaxed);
                }
                let lateness = (now - fire.scheduled).max(TimeDelta::zero());
                shared.metrics.fire_lateness.observe(lateness.as_seconds_f64());
                tracing::debug!(playbook = %fire.playbook, lateness_ms = lateness.num_milliseconds(), "fire");
                let job = Job { loaded: Arc::clone(&loaded), index, fire };
                let (shared, stores, done_sender) = (Arc::clone(&shared), Arc::clone(&stores), done_sender.clone());
                // Runs are blocking work (SQLite, the local engine, a Graph source's own runtime): on the
                // blocking pool, never on the async threads. Paused time (tests) also waits for them.
                drop(tokio::task::spawn_blocking(move || {
                    let answer = run_job(&shared, &stores, job);
                    let _ = done_sender.blocking_send(answer);
                }));
                busy += 1;
            }
            let wait = match plan.next() {
                Some(at) if busy < workers => (at - now).to_std().unwrap_or_default(),
                // Nothing queued, or every worker busy: only a finished run or a signal moves things.
                _ => std::time::Duration::from_secs(3600),
            };
            tokio::select! {
                biased;
                () = shared.shutdown.cancelled() => break,
                Some(finished) = done.recv() => {
                    busy = busy.saturating_sub(1);
                    finish(&shared, &mut plan, &loaded, finished);
                }
                Some(cause) = reloads.recv() => {
                    if let Some(fresh) = reload(&shared, &loader, &loaded, &cause).await {
                        let previous = std::mem::replace(&mut loaded, fresh);
                        let ids: Vec<String> = plan.playbooks().map(str::to_string).collect();
                        for id in ids {
                            if !loaded.workspace.playbooks.iter().any(|p| p.id == id && p.enabled) {
                                plan.remove(&id);
                                lock(&shared.next_fires).remove(&id);
                            }
                        }
                        let running: Vec<String> = lock(&shared.running).keys().cloned().collect();
                        queue_all(&shared, &loaded, &mut plan, &running).await;
                        // A source may own a runtime, which must not be dropped on the async threads.
                        drop_blocking(previous);
                    }
                }
                () = shared.timer.sleep(wait) => {}
            }
        }
        drop(scheduling);
        meta.abort();
        drop(done_sender);
        // Shutting down: the runs in flight may finish until the grace period ends.
        let deadline = tokio::time::Instant::now() + grace.to_std().unwrap_or_default();
        while busy > 0 {
            tokio::select! {
                Some(finished) = done.recv() => {
                    busy = busy.saturating_sub(1);
                    finish(&shared, &mut plan, &loaded, finished);
                }
                () = tokio::time::sleep_until(deadline) => break,
                else => break,
            }
        }
        drop_blocking(loaded);
        lock(&shared.running).keys().cloned().collect()
    }
}

/// Drops a loaded set on a blocking thread (a Graph source owns a runtime; dropping that on an async thread
/// panics).
fn drop_blocking(loaded: Arc<Loaded>) {
    if tokio::runtime::Handle::try_current().is_ok() {
        drop(tokio::task::spawn_blocking(move || drop(loaded)));
    } else {
        drop(loaded);
    }
}

/// Queues every enabled playbook of `loaded` from its history, except those running now (they are queued
/// when they finish).
async fn queue_all(shared: &Arc<Shared>, loaded: &Arc<Loaded>, plan: &mut Plan, running: &[String]) {
    let ids: Vec<String> = loaded
        .workspace
        .playbooks
        .iter()
        .filter(|p| p.enabled && !running.contains(&p.id))
        .map(|p| p.id.clone())
        .collect();
    let state = shared.state.clone();
    let histories = tokio::task::spawn_blocking(move || -> Result<Vec<ScheduleHistory>, String> {
        let store = Store::open(&state).map_err(|e| e.to_string())?;
        ids.iter().map(|id| store.schedule_history(id).map_err(|e| e.to_string())).collect()
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|result| result);
    let now = shared.timer.now();
    let histories = match histories {
        Ok(histories) => histories,
        Err(error) => {
            tracing::error!(%error, "reading the run history failed: every playbook is due now");
            Vec::new()
        }
    };
    let mut next_fires = lock(&shared.next_fires);
    let enabled = loaded.workspace.playbooks.iter().filter(|p| p.enabled && !running.contains(&p.id));
    for (position, playbook) in enabled.enumerate() {
        let history = histories.get(position).copied().unwrap_or_default();
        let history = shared.with_unrecorded_failures(&playbook.id, history);
        let due = due_at(playbook, &history);
        plan.schedule(&playbook.id, spread(playbook, due, interval(playbook, now)), due, now);
        if let Some(at) = plan.next_of(&playbook.id) {
            next_fires.insert(playbook.id.clone(), at);
        }
    }
}

/// Whether a fire is spread by the jitter (see `Plan::schedule`): the first, and every fire of a cron.
fn spread(playbook: &crate::playbook::Playbook, due: Option<DateTime<Utc>>, interval: TimeDelta) -> Option<TimeDelta> {
    let cron = matches!(playbook.schedule.trigger, crate::playbook::Trigger::Cron(_));
    (cron || due.is_none()).then_some(interval)
}

/// A run ended: queue its playbook again (unless a reload removed it), wake the delivery loop.
fn finish(shared: &Shared, plan: &mut Plan, loaded: &Loaded, done: Done) {
    lock(&shared.running).remove(&done.playbook);
    shared.meta_wake.notify_one();
    if done.queued {
        shared.delivery_wake.notify_one();
    }
    if !plan.contains(&done.playbook) {
        return;
    }
    let now = shared.timer.now();
    let Some(playbook) = loaded.workspace.playbooks.iter().find(|p| p.id == done.playbook) else { return };
    let due = match done.history {
        Some(history) => due_at(playbook, &history),
        // The history could not be read: try again in a minute rather than at once, in a loop.
        None => Some(now + TimeDelta::minutes(1)),
    };
    let interval = if done.generation == loaded.generation { done.interval } else { interval(playbook, now) };
    plan.schedule(&done.playbook, spread(playbook, due, interval), due, now);
    if let Some(at) = plan.next_of(&done.playbook) {
        lock(&shared.next_fires).insert(done.playbook, at);
    }
}

/// One run, on a blocking thread, with a connection from the pool. A panic (a bug) is caught here: it fails
/// this run alone, which is tried again as a failed run is.
fn run_job(shared: &Shared, stores: &Mutex<Vec<Store>>, job: Job) -> Done {
    let playbook = &job.loaded.workspace.playbooks[job.index];
    let clock = TimerClock(Arc::clone(&shared.timer));
    let services = Services {
        config: &job.loaded.workspace.config,
        source: job.loaded.source.as_ref(),
        templates: &job.loaded.workspace.templates,
        clock: &clock,
    };
    let started = clock.now();
    let pooled = lock(stores).pop();
    let store = match pooled {
        Some(store) => Some(store),
        None => Store::open(&shared.state)
            .map_err(|error| tracing::error!(%error, playbook = %playbook.id, "opening the state file failed"))
            .ok(),
    };
    let mut queued = false;
    let mut history = None;
    if let Some(mut store) = store {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_playbook(&services, &mut store, playbook, RunOptions::default())
        }));
        // A failure is logged by the runner, in the run's span; a meta alert is queued with its record.
        let succeeded = match &outcome {
            Ok(Ok(summary)) => {
                queued = !summary.messages.is_empty();
                shared.accepted_by_store();
                true
            }
            Ok(Err(error)) => {
                if let crate::runner::RunError::Store { source, .. } = error {
                    shared.refused_by_store(&source.to_string());
                }
                queued = services.config.meta.is_some();
                false
            }
            Err(panic) => {
                shared.panicked("run", &playbook.id, panic.as_ref());
                false
            }
        };
        history = store.schedule_history(&playbook.id).ok();
        if let Some(history) = &history {
            shared.remember_outcome(&playbook.id, started, succeeded, history);
        }
        // A connection a panic went through is not trusted again.
        if outcome.is_ok() {
            lock(stores).push(store);
        }
    }
    let history = history.map(|history| shared.with_unrecorded_failures(&playbook.id, history));
    let interval = interval(playbook, clock.now());
    Done { playbook: job.fire.playbook.clone(), generation: job.loaded.generation, history, interval, queued }
}

/// The meta check (`meta::check`): after runs and deliveries that gave up (at most every two seconds), and
/// every minute (a playbook goes stale without anything happening).
async fn meta_loop(shared: Arc<Shared>) {
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            () = shared.meta_wake.notified() => {}
            () = shared.timer.sleep(std::time::Duration::from_secs(60)) => {}
        }
        let checking = Arc::clone(&shared);
        let checked = tokio::task::spawn_blocking(move || -> Result<usize, String> {
            let workspace = checking.workspace();
            if workspace.config.meta.is_none() {
                return Ok(0);
            }
            let clock = TimerClock(Arc::clone(&checking.timer));
            let services = Services {
                config: &workspace.config,
                source: &meta::NoQueries,
                templates: &workspace.templates,
                clock: &clock,
            };
            let mut store = Store::open(&checking.state).map_err(|e| e.to_string())?;
            let alerted = meta::check(&services, &mut store, &workspace.playbooks, checking.started)
                .map_err(|e| e.to_string())?;
            Ok(alerted.len())
        })
        .await;
        match checked {
            Ok(Ok(0)) => {}
            Ok(Ok(_)) => shared.delivery_wake.notify_one(),
            Ok(Err(error)) => tracing::error!(%error, "the meta check failed"),
            Err(error) => tracing::error!(%error, "the meta check failed"),
        }
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            () = shared.timer.sleep(std::time::Duration::from_secs(2)) => {}
        }
    }
}

/// Loads the set again; `Some` when every file of it is valid, else logs every problem, keeps the old set and
/// shows the failure on `/metrics` and the status page.
async fn reload(shared: &Arc<Shared>, loader: &Arc<Loader>, current: &Arc<Loaded>, cause: &str) -> Option<Arc<Loaded>> {
    let load = Arc::clone(loader);
    let loaded = tokio::task::spawn_blocking(move || load()).await;
    let now = shared.timer.now();
    let problems = match loaded {
        Err(error) => format!("error: loading failed: {error}\n"),
        Ok(Err(problems)) => render_diagnostics(&problems),
        Ok(Ok((workspace, source))) => {
            let bound = *lock(&shared.bound);
            let exposed = bound.filter(|address| !address.ip().is_loopback() && workspace.config.http.token.is_none());
            if let Some(address) = exposed {
                // The endpoint stays where it was bound: without the token, anyone who reaches it could read it.
                drop(tokio::task::spawn_blocking(move || drop((workspace, source))));
                format!(
                    "error: http.token: the daemon listens on {address}, which is not a loopback address, so the \
                     endpoint needs a token; the new configuration has none (a reload cannot move the listener: \
                     restart the daemon to listen elsewhere)\n"
                )
            } else if workspace.problems.is_empty() {
                if let Some(address) = bound
                    && workspace.config.http.listen != address
                    && workspace.config.http.listen.port() != 0
                {
                    tracing::warn!(
                        listening = %address,
                        configured = %workspace.config.http.listen,
                        "http.listen changed: the endpoint moves at the next start, not on a reload"
                    );
                }
                let generation = current.generation + 1;
                tracing::info!(
                    %cause,
                    generation,
                    playbooks = workspace.playbooks.len(),
                    "reloaded the configuration and playbooks"
                );
                let metrics = &shared.metrics;
                metrics.reloads.get_or_create(&crate::telemetry::ReloadLabel { outcome: "succeeded".into() }).inc();
                metrics.reload_failed.set(0);
                metrics.playbooks.set(workspace.playbooks.iter().filter(|p| p.enabled).count() as i64);
                metrics.playbooks_invalid.set(0);
                let workspace = Arc::new(workspace);
                *shared.workspace.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&workspace);
                shared.generation.store(generation, Ordering::Relaxed);
                *lock(&shared.failed_reload) = None;
                return Some(Arc::new(Loaded { workspace, source, generation }));
            } else {
                let problems = render_diagnostics(&workspace.problems);
                // Its source may own a runtime: not dropped here, on an async thread.
                drop(tokio::task::spawn_blocking(move || drop((workspace, source))));
                problems
            }
        }
    };
    tracing::error!(
        %cause,
        %problems,
        "the reloaded configuration or playbooks are not valid: still running the set loaded before"
    );
    let metrics = &shared.metrics;
    metrics.reloads.get_or_create(&crate::telemetry::ReloadLabel { outcome: "failed".into() }).inc();
    metrics.reload_failed.set(1);
    *lock(&shared.failed_reload) = Some(ReloadStatus { at: now, cause: cause.to_string(), problems });
    None
}

/// The delivery loop, on the calling thread (its own runtime): the outbox all the time, woken by commits,
/// until `finish` is cancelled; then one last drain until `deadline` (read when `finish` fires). A panic (a bug)
/// is caught: logged, counted, and the loop starts again after a pause.
pub fn deliver_loop(shared: &Shared, finish: &CancellationToken, deadline: &Mutex<Option<DateTime<Utc>>>) {
    let _running = Running::new(&shared.delivery_running);
    loop {
        let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver(shared, finish, deadline)));
        let message = match delivered {
            Ok(()) => return,
            Err(panic) => shared.panicked("delivery", "the delivery loop", panic.as_ref()),
        };
        // A bug that comes back each time (one message that makes it panic) must not become a loop that sends
        // what it sent again: the pauses double, from 5 seconds to 10 minutes, until a pass goes through.
        let failures = {
            let mut latest = lock(&shared.delivery_panic);
            let failures = latest.as_ref().map_or(0, |(_, failures, _)| *failures) + 1;
            *latest = Some((shared.timer.now(), failures, message));
            failures
        };
        let pause_for = (std::time::Duration::from_secs(5) * 2u32.saturating_pow(failures.saturating_sub(1).min(7)))
            .min(std::time::Duration::from_secs(600));
        if finish.is_cancelled() || !pause(shared, finish, pause_for) {
            return;
        }
    }
}

/// Waits `wait` on the daemon's timer unless `finish` comes first; false when it did (or no runtime starts).
fn pause(shared: &Shared, finish: &CancellationToken, wait: std::time::Duration) -> bool {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return false };
    runtime.block_on(async {
        tokio::select! {
            () = finish.cancelled() => false,
            () = shared.timer.sleep(wait) => true,
        }
    })
}

fn deliver(shared: &Shared, finish: &CancellationToken, deadline: &Mutex<Option<DateTime<Utc>>>) {
    use crate::deliver::outbox::{Outbox, RetryPolicy};
    use crate::deliver::sinks::Sinks;
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "could not start the delivery loop");
            return;
        }
    };
    runtime.block_on(async {
        let environment = match crate::graph::Environment::system() {
            Ok(environment) => crate::graph::Environment {
                timer: Arc::clone(&shared.timer),
                redactor: shared.workspace().config.redactor(),
                ..environment
            },
            Err(error) => {
                tracing::error!(%error, "the delivery loop could not start");
                return;
            }
        };
        let webhooks = match crate::deliver::teams::webhook_client() {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "the delivery loop could not start");
                return;
            }
        };
        loop {
            // Opened again with each loaded set: the outbox borrows it for as long as it borrows the sinks.
            let mut store = match Store::open(&shared.state) {
                Ok(store) => store,
                Err(error) => {
                    shared.refused_by_store(&format!("the delivery loop cannot open it: {error}"));
                    tokio::select! {
                        () = finish.cancelled() => return,
                        () = shared.timer.sleep(std::time::Duration::from_secs(60)) => continue,
                    }
                }
            };
            let store = Mutex::new(&mut store);
            let generation = shared.generation.load(Ordering::Relaxed);
            let workspace = shared.workspace();
            let config = &workspace.config;
            let sinks = Sinks::from_config(config, &environment, &webhooks);
            for (receiver, problem) in sinks.problems() {
                tracing::error!(%receiver, %problem, "a receiver cannot deliver; its messages stay queued");
            }
            let sink_for = |receiver: &str| sinks.get(receiver);
            let policy = RetryPolicy { max_age: config.delivery.max_age, ..RetryPolicy::default() };
            let redactor = config.redactor();
            let outbox = Outbox::new(&store, &sink_for, shared.timer.as_ref(), policy, &redactor)
                .remembering(Arc::clone(&shared.delivered_unrecorded));
            loop {
                if finish.is_cancelled() {
                    let until = lock(deadline).unwrap_or_else(|| shared.timer.now());
                    let left = (until - shared.timer.now()).to_std().unwrap_or_default();
                    match tokio::time::timeout(left, outbox.deliver_until(until)).await {
                        Ok(Ok(report)) => log_report(&report),
                        Ok(Err(error)) => tracing::error!(%error, "delivering the outbox failed"),
                        Err(_) => tracing::warn!("the grace period ended during a delivery; the rest stays queued"),
                    }
                    return;
                }
                if shared.generation.load(Ordering::Relaxed) != generation {
                    break;
                }
                // A second ahead: a paced receiver (Teams) sends its next message within it.
                let until = shared.timer.now() + TimeDelta::seconds(1);
                let failed = match outbox.deliver_until(until).await {
                    Ok(report) => {
                        log_report(&report);
                        if report.wrote() {
                            shared.accepted_by_store();
                            lock(&shared.delivery_panic).take();
                        }
                        if report.dead > 0 {
                            shared.meta_wake.notify_one();
                        }
                        false
                    }
                    Err(error) => {
                        // Nothing more is sent until the store takes the record of what was (no re-sending).
                        shared.refused_by_store(&error.to_string());
                        tracing::error!(%error, "delivering the outbox failed; trying again in a minute");
                        true
                    }
                };
                let now = shared.timer.now();
                let wait = match outbox.next_due() {
                    _ if failed => std::time::Duration::from_secs(60),
                    Ok(Some(at)) if at <= now => continue,
                    Ok(Some(at)) => (at - now).to_std().unwrap_or_default().min(LOOK_AGAIN),
                    Ok(None) => LOOK_AGAIN,
                    Err(_) => std::time::Duration::from_secs(60),
                };
                tokio::select! {
                    () = finish.cancelled() => {}
                    () = shared.delivery_wake.notified() => {}
                    () = shared.timer.sleep(wait) => {}
                }
            }
        }
    });
}

/// The longest the delivery loop waits without looking at the queue: messages another process re-queued
/// (`huntbook outbox retry` beside the daemon) leave within it.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(5);

fn log_report(report: &crate::deliver::outbox::DeliveryReport) {
    for (receiver, count) in &report.delivered_to {
        tracing::info!(%receiver, messages = count, "delivered");
    }
    for error in &report.errors {
        tracing::warn!(%error, "delivery failed");
    }
    if report.recorded_late > 0 {
        tracing::info!(messages = report.recorded_late, "recorded deliveries the state file had refused");
    }
}
