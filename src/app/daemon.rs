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
use crate::daemon::{Daemon, Loader, Settings, deliver_loop, http};
use crate::diagnostics::{Diagnostic, render_diagnostics};
use crate::graph::timer::{SystemTimer, Timer};
use crate::source::Source;
use crate::telemetry::Metrics;

pub fn daemon(args: DaemonArgs) -> Result<Outcome> {
    let config_args = args.config.clone();
    let loader: Arc<Loader> = Arc::new(move || -> Result<(Workspace, Arc<dyn Source>), Vec<Diagnostic>> {
        let workspace = workspace::open(&config_args)?;
        let source = super::run::source(&workspace).map_err(|error| vec![Diagnostic::plain(format!("{error:#}"))])?;
        Ok((workspace, Arc::from(source)))
    });
    // The configuration is checked before anything else: an invalid one stops the daemon from starting (2).
    let config = match workspace::config(&args.config) {
        Ok(config) => config,
        Err(problems) => {
            eprint!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let Some(mut lock) = super::run::lock_state(&config.state)? else {
        eprintln!(
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
    let metrics = Arc::new(Metrics::new());
    crate::telemetry::install(Arc::clone(&metrics));
    let timer: Arc<dyn Timer> = Arc::new(SystemTimer);
    let settings = Settings { seed: args.seed };
    let daemon = match Daemon::start(config.state.clone(), timer, metrics, loader, settings) {
        Ok(daemon) => daemon,
        Err(problems) => {
            eprint!("{}", render_diagnostics(&problems));
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
    tracing::info!(
        listen = %address,
        playbooks = shared.workspace().playbooks.len(),
        state = %config.state.display(),
        "huntbook daemon started"
    );
    // Tests and scripts read the address from here when they asked for port 0.
    eprintln!("huntbook daemon listening on http://{address}");

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
        let server = axum::serve(listener, http::router(Arc::clone(&shared)))
            .with_graceful_shutdown({
                let finish = finish.clone();
                async move { finish.cancelled().await }
            })
            .into_future();
        let server = tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "the HTTP endpoint stopped");
            }
        });
        let signals =
            tokio::spawn(watch_signals(Arc::clone(&shared), Arc::clone(&deadline), grace, reload_sender.clone()));
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

/// SIGTERM and SIGINT start the shutdown (a second one ends the process at once); SIGHUP asks for a reload.
async fn watch_signals(
    shared: Arc<crate::daemon::Shared>,
    deadline: Arc<Mutex<Option<DateTime<Utc>>>>,
    grace: chrono::TimeDelta,
    reloads: mpsc::Sender<String>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt), Ok(mut hangup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        tracing::error!("could not listen for signals");
        return;
    };
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

/// Watches the playbooks directory (and the configuration file): a change asks for a reload once things have
/// been quiet for half a second (an editor writes a file in several steps). `None` when the system cannot watch
/// (SIGHUP still works).
fn watch_playbooks(
    config: &crate::config::Config,
    reloads: mpsc::Sender<String>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    // One pending change is enough: a full channel means one is noticed already.
    let (changed, mut changes) = mpsc::channel::<()>(1);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|event| !event.kind.is_access()) {
            let _ = changed.try_send(());
        }
    })
    .map_err(|error| tracing::warn!(%error, "cannot watch the playbooks directory; reload with SIGHUP"))
    .ok()?;
    let directory = config.playbooks.clone();
    if let Err(error) = watcher.watch(&directory, notify::RecursiveMode::NonRecursive) {
        tracing::warn!(%error, directory = %directory.display(), "cannot watch the playbooks directory; reload with SIGHUP");
        return None;
    }
    if let Some(file) = &config.file {
        let _ = watcher.watch(file, notify::RecursiveMode::NonRecursive);
    }
    let cause = format!("a change in {}", directory.display());
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            // Debounce: wait until nothing has changed for half a second.
            while tokio::time::timeout(std::time::Duration::from_millis(500), changes.recv())
                .await
                .is_ok_and(|c| c.is_some())
            {}
            if reloads.send(cause.clone()).await.is_err() {
                return;
            }
        }
    });
    Some(watcher)
}
