//! `huntbook daemon`: loads the set, takes the state file's run lock, listens, and runs the daemon's parts
//! (`crate::daemon`) until SIGTERM or SIGINT; SIGHUP and changes in the playbooks directory reload.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Outcome;
use super::workspace::{self, Workspace};
use crate::cli::DaemonArgs;
use crate::daemon::{Daemon, Loader, Settings, deliver_loop, http, serve};
use crate::diagnostics::{Diagnostic, render_diagnostics};
use crate::graph::timer::{SystemTimer, Timer};
use crate::source::Source;
use crate::telemetry::Metrics;

pub fn daemon(args: DaemonArgs) -> Result<Outcome> {
    let config_args = args.config.clone();
    let loader: Arc<Loader> = Arc::new(move || -> Result<(Workspace, Arc<dyn Source>), Vec<Diagnostic>> {
        let workspace = workspace::open_with_secrets(&config_args)?;
        let source = super::run::source(&workspace).map_err(|error| vec![Diagnostic::plain(format!("{error:#}"))])?;
        Ok((workspace, Arc::from(source)))
    });
    // The configuration is checked before anything else: an invalid one stops the daemon from starting (2).
    let config = match workspace::config_with_secrets(&args.config) {
        Ok(config) => config,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let Some(mut lock) = super::run::lock_state(&config.state)? else {
        crate::say!(
            "error: {} is using {}; one daemon per state file",
            super::run::lock_holder(&config.state),
            config.state.display()
        );
        return Ok(Outcome::Failed);
    };
    super::run::describe_holder(&mut lock, "huntbook daemon");
    {
        let store = super::open_store(&config.state)?;
        drop(store);
    }
    // The HTTP server takes at most a quarter of the files the process may open; the runs keep the rest.
    let limits = serve::Limits::for_open_files(serve::raise_open_files());
    let metrics = Arc::new(Metrics::new());
    crate::telemetry::install(Arc::clone(&metrics));
    let timer: Arc<dyn Timer> = Arc::new(SystemTimer);
    let settings = Settings { seed: args.seed };
    let daemon = match Daemon::start(config.state.clone(), timer, metrics, loader, settings) {
        Ok(daemon) => daemon,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let shared = Arc::clone(&daemon.shared);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("huntbook-async")
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(config.http.listen))
        .with_context(|| format!("listening on {} (http.listen)", config.http.listen))?;
    let address = listener.local_addr().context("reading the listening address")?;
    shared.listening_on(address);
    tracing::info!(
        listen = %address,
        playbooks = shared.workspace().playbooks.len(),
        state = %config.state.display(),
        "huntbook daemon started"
    );
    // The signals are caught from here on — before the daemon says it listens, so that a SIGHUP or SIGTERM sent
    // as soon as it does (a test, `systemctl reload` right after start) is a reload or a shutdown, not the
    // signal's default action, which ends the process.
    let signals = {
        let _entered = runtime.enter();
        Signals::new().context("listening for signals")?
    };
    // Tests and scripts read the address from here when they asked for port 0.
    crate::say!("huntbook daemon listening on http://{address}");

    let finish = CancellationToken::new();
    let deadline: Arc<Mutex<Option<DateTime<Utc>>>> = Arc::new(Mutex::new(None));
    let (delivered_sender, delivered) = tokio::sync::oneshot::channel::<()>();
    {
        let shared = Arc::clone(&shared);
        let finish = finish.clone();
        let deadline = Arc::clone(&deadline);
        std::thread::Builder::new()
            .name("huntbook-delivery".into())
            .spawn(move || {
                deliver_loop(&shared, &finish, &deadline);
                let _ = delivered_sender.send(());
            })
            .context("starting the delivery thread")?;
    }
    let grace = config.daemon.shutdown_grace;
    let cut_off = runtime.block_on(async {
        // Reload requests: one pending is enough (a second adds nothing), so a full channel drops the newer.
        let (reload_sender, reloads) = mpsc::channel::<String>(1);
        let server = tokio::spawn(serve::serve(listener, http::router(Arc::clone(&shared)), limits, finish.clone()));
        let signals = tokio::spawn(watch_signals(
            signals,
            Arc::clone(&shared),
            Arc::clone(&deadline),
            grace,
            reload_sender.clone(),
        ));
        let _watcher = watch_playbooks(&config, reload_sender);
        let cut_off = daemon.schedule(reloads).await;
        signals.abort();
        if lock_deadline(&deadline).is_none() {
            *lock_deadline(&deadline) = Some(shared.timer.now() + grace);
        }
        finish.cancel();
        let until = lock_deadline(&deadline).unwrap_or_else(|| shared.timer.now());
        // The delivery loop drains the queue until the deadline; a moment more for it to notice.
        let left = (until - shared.timer.now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(500);
        if tokio::time::timeout(left, delivered).await.is_err() {
            tracing::warn!("the delivery loop did not finish within the grace period; what is left stays queued");
        }
        let _ = server.await;
        cut_off
    });
    for playbook in &cut_off {
        tracing::warn!(%playbook, "run cut off by the end of the grace period: it changed nothing and runs again next start");
    }
    tracing::info!("huntbook daemon stopped");
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(Outcome::Success)
}

fn lock_deadline(deadline: &Mutex<Option<DateTime<Utc>>>) -> std::sync::MutexGuard<'_, Option<DateTime<Utc>>> {
    deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The signals the daemon acts on, caught from when this is made.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Catches them now (within a runtime).
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }
}

/// SIGTERM and SIGINT start the shutdown (a second one ends the process at once); SIGHUP asks for a reload.
async fn watch_signals(
    signals: Signals,
    shared: Arc<crate::daemon::Shared>,
    deadline: Arc<Mutex<Option<DateTime<Utc>>>>,
    grace: chrono::TimeDelta,
    reloads: mpsc::Sender<String>,
) {
    let Signals { mut terminate, mut interrupt, mut hangup } = signals;
    loop {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading");
                let _ = reloads.try_send("SIGHUP".to_string());
                continue;
            }
        };
        if shared.shutdown.is_cancelled() {
            tracing::warn!(signal = name, "second signal: stopping now");
            std::process::exit(0);
        }
        *lock_deadline(&deadline) = Some(shared.timer.now() + grace);
        tracing::info!(
            signal = name,
            grace_seconds = grace.num_seconds(),
            "shutting down: no new runs; runs in flight and queued messages have until the grace period ends"
        );
        shared.shutdown.cancel();
    }
}

/// Watches the playbooks directory and the configuration file: a change asks for a reload once things have been
/// quiet for half a second (an editor writes a file in several steps). `None` when the system cannot watch
/// (SIGHUP still works).
///
/// What is watched survives the directory being replaced (`mv new playbooks`) or its symbolic link retargeted
/// (`ln -sfn releases/v2 playbooks`; a Kubernetes ConfigMap's `..data` swap): the parents are watched too, and
/// after each change the directory's real path is looked up again and watched anew if it moved. The
/// configuration file is watched through its directory, as editors replace it rather than write it in place.
fn watch_playbooks(config: &crate::config::Config, reloads: mpsc::Sender<String>) -> Option<Arc<Mutex<Watching>>> {
    use notify::Watcher;
    // One pending change is enough: a full channel means one is noticed already.
    let (changed, mut changes) = mpsc::channel::<()>(1);
    let directory = std::path::absolute(&config.playbooks).unwrap_or_else(|_| config.playbooks.clone());
    let file = config.file.as_ref().map(|file| std::path::absolute(file).unwrap_or_else(|_| file.clone()));
    // The callback (on notify's thread) reads the real path alone: `Watching` is locked while a watch is
    // added, which waits for that thread.
    let real: Arc<Mutex<Option<std::path::PathBuf>>> = Arc::default();
    let watching = Arc::new(Mutex::new(Watching {
        watcher: None,
        real: Arc::clone(&real),
        identity: None,
        directory: directory.clone(),
    }));
    let relevant = {
        let (directory, file) = (directory.clone(), file.clone());
        move |path: &std::path::Path| {
            let real = real.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            path.starts_with(&directory)
                || real.as_ref().is_some_and(|real| path.starts_with(real))
                || file.as_deref() == Some(path)
        }
    };
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|event| !event.kind.is_access() && event.paths.iter().any(|path| relevant(path))) {
            let _ = changed.try_send(());
        }
    })
    .map_err(|error| tracing::warn!(%error, "cannot watch the playbooks directory; reload with SIGHUP"))
    .ok()?;
    {
        let mut state = lock_watching(&watching);
        let mut watcher = watcher;
        // The parents: a replaced directory, a retargeted link, an editor's new configuration file.
        for parent in [directory.parent(), file.as_deref().and_then(std::path::Path::parent)].into_iter().flatten() {
            if let Err(error) = watcher.watch(parent, notify::RecursiveMode::NonRecursive) {
                tracing::warn!(%error, directory = %parent.display(), "cannot watch a directory for changes");
            }
        }
        state.watcher = Some(watcher);
        if let Err(error) = state.follow() {
            tracing::warn!(%error, directory = %directory.display(), "cannot watch the playbooks directory; reload with SIGHUP");
            return None;
        }
    }
    let cause = format!("a change in {}", config.playbooks.display());
    let following = Arc::clone(&watching);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                change = changes.recv() => {
                    if change.is_none() {
                        return;
                    }
                    // Debounce: wait until nothing has changed for half a second.
                    while tokio::time::timeout(std::time::Duration::from_millis(500), changes.recv())
                        .await
                        .is_ok_and(|c| c.is_some())
                    {}
                    let _ = follow(&following);
                }
                // A directory replaced where no watch sees it (a link's target's parent): looked for now and then.
                () = tokio::time::sleep(LOOK_AGAIN) => {
                    if !follow(&following) {
                        continue;
                    }
                }
            }
            if reloads.send(cause.clone()).await.is_err() {
                return;
            }
        }
    });
    Some(watching)
}

/// How often the playbooks directory's real path is looked up without a change seen.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Watches the playbooks directory where it is now; true when that moved.
fn follow(watching: &Mutex<Watching>) -> bool {
    match lock_watching(watching).follow() {
        Ok(moved) => moved,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the playbooks directory where it is now; reload with SIGHUP");
            true
        }
    }
}

/// What `watch_playbooks` watches.
struct Watching {
    watcher: Option<notify::RecommendedWatcher>,
    /// The playbooks directory's real path (links followed), watched.
    real: Arc<Mutex<Option<std::path::PathBuf>>>,
    /// Which directory that is (device and inode): a directory replaced by another of the same path is another.
    identity: Option<(u64, u64)>,
    /// The playbooks directory as configured.
    directory: std::path::PathBuf,
}

impl Watching {
    /// Watches the playbooks directory where it is now, if that is not where it was; true when it moved.
    fn follow(&mut self) -> notify::Result<bool> {
        use notify::Watcher;
        use std::os::unix::fs::MetadataExt;
        let real = std::fs::canonicalize(&self.directory).ok();
        let identity = real.as_ref().and_then(|real| std::fs::metadata(real).ok()).map(|m| (m.dev(), m.ino()));
        let old = self.real.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if real == old && identity == self.identity {
            return Ok(false);
        }
        let Some(watcher) = self.watcher.as_mut() else { return Ok(false) };
        if let Some(old) = &old {
            let _ = watcher.unwatch(old);
        }
        *self.real.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = real.clone();
        self.identity = identity;
        if let Some(real) = &real {
            watcher.watch(real, notify::RecursiveMode::NonRecursive)?;
        }
        Ok(true)
    }
}

fn lock_watching(watching: &Mutex<Watching>) -> std::sync::MutexGuard<'_, Watching> {
    watching.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
