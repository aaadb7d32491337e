//! `huntbook run`: one run of each playbook that is due (or named, or all), a summary line for each, then one
//! pass of the outbox. A playbook that fails is reported and the others run; the exit code says the worst.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, TimeDelta, Utc};

use super::Outcome;
use super::delivery::{self, delivery_line, error_lines};
use super::workspace::{self, Workspace};
use crate::cli::RunArgs;
use crate::config::SourceConfig;
use crate::diagnostics::{Diagnostic, render_diagnostics};
use crate::graph::Environment;
use crate::kql::table::Catalog;
use crate::playbook::Playbook;
use crate::runner::{RunError, RunOptions, RunSummary, Services, due_at, run_playbook};
use crate::schedule::{Clock, SystemClock, Window};
use crate::source::Source;
use crate::source::graph::GraphSource;
use crate::source::local::LocalSource;
use crate::store::{MessageKind, NewMessage, Store};

/// A playbook counts as due this long before its time, so that a `huntbook run` started by cron every 15
/// minutes does not skip a 15-minute playbook because the last run began a second later than this one.
pub const DUE_SLACK: TimeDelta = TimeDelta::seconds(30);

/// How long a hit's key is remembered (DESIGN §2): longer than any window reaches back.
const SEEN_KEYS_KEPT: TimeDelta = TimeDelta::days(35);

pub fn run(args: RunArgs) -> Result<Outcome> {
    let workspace = match workspace::open_with_secrets(&args.config) {
        Ok(workspace) => workspace,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let window = match (&args.since, &args.until) {
        (Some(since), Some(until)) => Some(window_of(since, until)?),
        _ => None,
    };
    // Checked before anything runs: a mistyped --wait must not leave a run's messages undelivered.
    let wait = delivery::wait_of(args.wait.as_deref(), &workspace.config)?;
    let source = source(&workspace)?;
    let clock = &SystemClock;
    if let Some(window) = &window
        && workspace.config.source.is_graph()
    {
        warn_beyond_retention(window, clock.now());
    }
    // One run at a time per state file: two at once (a slow run overlapping the next cron tick) would both find
    // the same hits new and both send them. A dry run changes nothing and needs no lock.
    let _lock = if args.dry_run {
        None
    } else {
        match lock_state(&workspace.config.state)? {
            Some(mut lock) => {
                describe_holder(&mut lock, "huntbook run");
                Some(lock)
            }
            None => {
                crate::say!(
                    "note: {} is using {}; this one does nothing (its playbooks run next time)",
                    lock_holder(&workspace.config.state),
                    workspace.config.state.display()
                );
                return Ok(Outcome::Success);
            }
        }
    };
    let mut store = super::open_store(&workspace.config.state)?;
    let mut outcome = Outcome::Success;
    if !workspace.problems.is_empty() {
        crate::say_inline!("{}", render_diagnostics(&workspace.problems));
        crate::say!("the playbooks above are left out of this run; the others run");
        outcome = Outcome::Invalid;
    }
    let selected = match select(&workspace, &args, &store, clock.now()) {
        Ok(selected) => selected,
        Err(problem) => {
            crate::say_inline!("{}", render_diagnostics(&[*problem]));
            return Ok(Outcome::Invalid);
        }
    };
    let services =
        Services { config: &workspace.config, source: source.as_ref(), templates: &workspace.templates, clock };
    // A backfill (`--since/--until`): one window — or, for a `lookback:` playbook, each of its evaluations in
    // the range, in order, each with its own look-back.
    let mut backfills: std::collections::HashMap<&str, std::collections::VecDeque<Window>> = Default::default();
    if let Some(range) = window {
        for playbook in &selected {
            match backfill_windows(playbook, range, clock.now()) {
                Ok(windows) => {
                    backfills.insert(playbook.id.as_str(), windows.into());
                }
                Err(problem) => return Err(super::usage(format!("{}: {problem}", playbook.id))),
            }
        }
    }
    let backfills = std::sync::Mutex::new(backfills);
    let options_for = |playbook: &Playbook| RunOptions {
        dry_run: args.dry_run,
        window: backfills
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(playbook.id.as_str())
            .and_then(|windows| windows.front().copied()),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if selected.is_empty() {
        writeln!(out, "no playbook is due{}", next_due_note(&workspace, &store)?)?;
    }
    // Queries in a tenant mostly wait on Graph: run several playbooks at once (the tenant's call rate and
    // concurrency limits still hold). Local queries use every core already: one at a time.
    let workers = if workspace.config.source.is_graph() { PARALLEL_GRAPH_RUNS } else { 1 };
    // A playbook catching up after downtime runs window after window (each its own commit) until it is caught
    // up; the others are done after their one run.
    // The columns of the summary lines stay aligned whatever the length of the ids.
    let width = selected.iter().map(|playbook| playbook.id.chars().count()).max().unwrap_or(0).max(32);
    let mut pending = selected;
    while !pending.is_empty() {
        let mut again = Vec::new();
        // Playbooks that keep an archive another one reads run first, so that the reader sees what they found.
        for stage in stages(&pending) {
            let results = run_all(&services, &mut store, &workspace.config.state, &stage, &options_for, workers);
            for (result, playbook) in results.into_iter().zip(&stage) {
                let more_backfill = {
                    let mut backfills = backfills.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    backfills.get_mut(playbook.id.as_str()).is_some_and(|windows| {
                        windows.pop_front();
                        !windows.is_empty()
                    })
                };
                if more_backfill && result.is_ok() {
                    again.push(*playbook);
                }
                match result {
                    Ok(summary) => {
                        if summary.behind && !args.dry_run {
                            again.push(*playbook);
                        }
                        writeln!(out, "{}", summary_line(&summary, width))?;
                        for note in &summary.notes {
                            crate::say!(
                                "warning: {}: {note} (the messages say so; their columns are empty)",
                                summary.playbook
                            );
                        }
                        for warning in &summary.warnings {
                            crate::say!("warning: {}: {warning}", summary.playbook);
                        }
                        if let Some(first) = &summary.first_skipped {
                            crate::say!(
                                "warning: {}: skipped {} rows of the data that could not be read; the first: {first}",
                                summary.playbook,
                                summary.skipped_rows
                            );
                        }
                        if let Some(first) = &summary.first_repaired {
                            crate::say!(
                                "warning: {}: {} rows held text that is not Unicode, shown as U+FFFD; the first: {first}",
                                summary.playbook,
                                summary.repaired_rows
                            );
                        }
                        if args.dry_run {
                            print_messages(&mut out, &summary.messages)?;
                        }
                    }
                    Err(error) => {
                        writeln!(out, "{:<width$} failed (below)", error.playbook())?;
                        out.flush()?;
                        crate::say_inline!("{}", error.render());
                        outcome = outcome.max(Outcome::Failed);
                    }
                }
            }
        }
        pending = again;
    }
    if args.dry_run {
        writeln!(out, "dry run: nothing was sent or recorded")?;
        return Ok(outcome);
    }
    // No window reaches back 30 days, so a key first seen before that can never match again.
    store.expire_seen_keys(clock.now() - SEEN_KEYS_KEPT).context("forgetting old seen keys")?;
    // huntbook's reports about itself: a result cut off, a receiver with dead messages (from earlier
    // deliveries). Staleness is the daemon's to judge: a run started by cron knows nothing of the time between.
    let reported = crate::daemon::meta::check(&services, &mut store, &workspace.playbooks, clock.now())
        .context("checking for meta reports")?;
    for alert in &reported {
        crate::say!("note: reported to meta.to: {} {}", alert.kind.as_str(), alert.subject);
    }
    let delivered = delivery::deliver(&workspace.config, &mut store, wait)?;
    writeln!(out, "{}", delivery_line(&delivered))?;
    out.flush()?;
    for line in error_lines(&delivered, 5) {
        crate::say!("error: delivery: {line}");
    }
    if delivered.failed() {
        outcome = outcome.max(Outcome::Failed);
    }
    Ok(outcome)
}

/// The selected playbooks in the order they must run: first those whose archive another selected playbook reads
/// (in its query or an enrichment), then the others.
fn stages<'p>(selected: &[&'p Playbook]) -> Vec<Vec<&'p Playbook>> {
    let read: Vec<&str> = selected.iter().flat_map(|playbook| &playbook.archives_read).map(String::as_str).collect();
    let (first, then): (Vec<&Playbook>, Vec<&Playbook>) = selected
        .iter()
        .partition(|playbook| playbook.archive.as_ref().is_some_and(|archive| read.contains(&archive.name.as_str())));
    [first, then].into_iter().filter(|stage| !stage.is_empty()).collect()
}

/// Playbooks run at once with a Graph source.
const PARALLEL_GRAPH_RUNS: usize = 8;

/// Runs each playbook once, `workers` at a time (each worker with its own connection to the state file), and
/// returns the outcomes in the order of `selected`.
fn run_all(
    services: &Services,
    store: &mut Store,
    state: &std::path::Path,
    selected: &[&Playbook],
    options: &(dyn Fn(&Playbook) -> RunOptions + Sync),
    workers: usize,
) -> Vec<Result<RunSummary, RunError>> {
    if workers <= 1 || selected.len() <= 1 {
        return selected.iter().map(|playbook| run_playbook(services, store, playbook, options(playbook))).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Result<RunSummary, RunError>>>> =
        std::sync::Mutex::new(selected.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(selected.len()) {
            scope.spawn(|| {
                let mut own = Store::open(state);
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(playbook) = selected.get(index) else { break };
                    let result = match &mut own {
                        Ok(store) => run_playbook(services, store, playbook, options(playbook)),
                        Err(error) => Err(RunError::Failed {
                            playbook: playbook.id.clone(),
                            message: format!("opening the state file: {error}"),
                        }),
                    };
                    results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .zip(selected)
        .map(|(result, playbook)| {
            result.unwrap_or_else(|| {
                Err(RunError::Failed { playbook: playbook.id.clone(), message: "the run did not finish".into() })
            })
        })
        .collect()
}

/// The most evaluations one backfill of a `lookback:` playbook runs (30 days of a 15-minute schedule).
const MAX_BACKFILL_EVALUATIONS: i64 = 2_880;

/// The windows a backfill over `range` runs for `playbook`: the range itself; or, with `lookback:`, one per
/// fire of its schedule whose end falls in the range (the last at its end), each the look-back before it.
fn backfill_windows(playbook: &Playbook, range: Window, now: DateTime<Utc>) -> Result<Vec<Window>, String> {
    let Some(lookback) = playbook.schedule.lookback else { return Ok(vec![range]) };
    let interval = crate::runner::interval(playbook, now).max(TimeDelta::seconds(1));
    let count = ((range.end - range.start).num_seconds() / interval.num_seconds()).max(1);
    if count > MAX_BACKFILL_EVALUATIONS {
        return Err(format!(
            "--since/--until hold {count} evaluations of its schedule (one every {}); at most \
             {MAX_BACKFILL_EVALUATIONS} at once: give a shorter range",
            crate::config::duration::format_duration(interval.num_seconds())
        ));
    }
    let mut windows: Vec<Window> = (0..count)
        .map(|step| range.end - interval * step as i32)
        .filter(|end| *end > range.start)
        .map(|end| Window { start: end - lookback, end })
        .collect();
    windows.reverse();
    Ok(windows)
}

/// The state file's run lock, held while it lives (the operating system releases it when the process ends,
/// however it ends). Two locks, because a state file has two kinds of name:
///
/// - the lock file beside the state file's real path (`huntbook.db.lock`: links followed, `..` resolved), which
///   exists before the state file does and says who holds it;
/// - the state file itself, locked as the file it is (its device and inode), so that another path to it — a
///   hard link, a bind mount — finds it taken too: SQLite would give each path its own WAL, and both would
///   send every hit. (Not on a network file system, where such a lock would collide with SQLite's own.)
pub struct StateLock {
    beside: std::fs::File,
    _file: Option<std::fs::File>,
}

/// Takes the state file's run lock; `None` when another process holds it. Creates the state file when it does
/// not exist yet (under the lock beside it), so that it can be locked as a file.
pub fn lock_state(state: &std::path::Path) -> Result<Option<StateLock>> {
    if let Some(parent) = state.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let path = lock_path(state)?;
    let beside = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match beside.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("locking {}", path.display()));
        }
    }
    if !state.exists() {
        drop(super::open_store(state)?);
    }
    if on_network_file_system(state) {
        return Ok(Some(StateLock { beside, _file: None }));
    }
    let file = std::fs::File::open(state).with_context(|| format!("opening {}", state.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(StateLock { beside, _file: Some(file) })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(error)) => Err(error).with_context(|| format!("locking {}", state.display())),
    }
}

/// Whether `path` is on a network (or user-space) file system, where a whole-file lock may be carried out as
/// the byte-range locks SQLite itself takes.
fn on_network_file_system(path: &std::path::Path) -> bool {
    const NETWORK: [u64; 8] = [
        0x6969,      // NFS
        0x517B,      // SMB
        0xFF53_4D42, // CIFS
        0xFE53_4D42, // SMB2
        0x6573_5546, // FUSE
        0x00C3_6400, // Ceph
        0x5346_414F, // AFS
        0x0102_1997, // 9P
    ];
    rustix::fs::statfs(path).is_ok_and(|info| NETWORK.contains(&(info.f_type as u64)))
}

/// The lock file of a state file: beside its real path.
fn lock_path(state: &std::path::Path) -> Result<std::path::PathBuf> {
    let mut name = real_path(state).with_context(|| format!("finding where {} is", state.display()))?.into_os_string();
    name.push(".lock");
    Ok(std::path::PathBuf::from(name))
}

/// Writes who holds the lock into the lock file (which only the holder writes), for the others to say.
pub fn describe_holder(lock: &mut StateLock, what: &str) {
    use std::io::{Seek, Write};
    let _ = lock.beside.set_len(0);
    let _ = lock.beside.rewind();
    let _ = write!(lock.beside, "{what}, process {}", std::process::id());
}

/// Who holds a state file's lock, as the holder wrote it: "huntbook daemon, process 4242" (or "another huntbook
/// process" when it did not say).
pub fn lock_holder(state: &std::path::Path) -> String {
    lock_path(state)
        .ok()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map(|text| text.trim().chars().take(100).collect::<String>())
        .filter(|text| text.starts_with("huntbook "))
        .map_or_else(|| "another huntbook process".to_string(), |holder| format!("another huntbook process ({holder})"))
}

/// The path of the file `path` names once every symbolic link is followed, also when the file does not exist
/// yet (its directory's real path, and a dangling link's target, resolved the same way).
fn real_path(path: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let mut path = std::path::absolute(path)?;
    // A chain of links longer than this is a loop; the OS refuses those too.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = std::fs::read_link(&path)?;
                path = match path.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            Ok(_) => return std::fs::canonicalize(&path),
            Err(_) => break,
        }
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else { return Ok(path) };
    Ok(std::fs::canonicalize(parent)?.join(name))
}

/// A time given on the command line: with its zone, or a date alone (its midnight, UTC).
pub(super) fn parse_time_arg(flag: &str, text: &str) -> Result<DateTime<Utc>> {
    {
        let text = text.trim();
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
            })
            .ok_or_else(|| {
                super::usage(format!(
                    "{flag} '{text}' is not a time: use a date (2026-11-20, midnight UTC) or ISO 8601 with a zone, \
                     such as 2026-11-20T12:00:00Z"
                ))
            })
    }
}

/// How far back advanced hunting keeps data.
const RETENTION: TimeDelta = TimeDelta::days(30);

/// A `--since` further back than advanced hunting keeps: the run goes ahead (its runs are marked backfill in
/// `huntbook runs`), and the user is told that Graph has nothing before the retention's start.
fn warn_beyond_retention(window: &Window, now: DateTime<Utc>) {
    let kept_from = now - RETENTION;
    if window.start < kept_from {
        crate::say!(
            "warning: --since {} is {} days back; advanced hunting keeps 30 days, so Graph finds nothing before {} \
             (these runs are marked backfill in `huntbook runs`)",
            window.start.format("%Y-%m-%d %H:%M:%S"),
            (now - window.start).num_days(),
            kept_from.format("%Y-%m-%d %H:%M UTC"),
        );
    }
}

/// `--since/--until` as a window.
fn window_of(since: &str, until: &str) -> Result<Window> {
    let window = Window { start: parse_time_arg("--since", since)?, end: parse_time_arg("--until", until)? };
    if window.end <= window.start {
        return Err(super::usage("--until must be later than --since"));
    }
    Ok(window)
}

/// The playbooks this run covers, in file order.
fn select<'w>(
    workspace: &'w Workspace,
    args: &RunArgs,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<&'w Playbook>, Box<Diagnostic>> {
    if !args.playbooks.is_empty() {
        let mut selected = Vec::new();
        for name in &args.playbooks {
            match workspace.playbooks.iter().find(|p| &p.id == name) {
                Some(playbook) => selected.push(playbook),
                None if workspace.invalid.contains(name) => {
                    return Err(Box::new(Diagnostic::plain(format!("the playbook {name} is not valid (see above)"))));
                }
                None => {
                    let ids: Vec<&str> = workspace.playbooks.iter().map(|p| p.id.as_str()).collect();
                    let mut problem =
                        Diagnostic::plain(format!("no playbook {name} in {}", workspace.config.playbooks.display()));
                    problem = match crate::config::yaml::did_you_mean(name, ids.iter().copied()) {
                        Some(hint) => problem.with_hint(hint),
                        None => problem.with_hint(format!("the playbooks are: {}", ids.join(", "))),
                    };
                    return Err(Box::new(problem));
                }
            }
        }
        return Ok(selected);
    }
    let enabled = workspace.playbooks.iter().filter(|p| p.enabled);
    if args.all || args.since.is_some() {
        return Ok(enabled.collect());
    }
    let mut due = Vec::new();
    for playbook in enabled {
        let history = store
            .schedule_history(&playbook.id)
            .map_err(|error| Box::new(Diagnostic::plain(format!("reading the state file: {error}"))))?;
        if due_at(playbook, &history).is_none_or(|at| at - DUE_SLACK <= now) {
            due.push(playbook);
        }
    }
    Ok(due)
}

/// ": the next is X at T" for the "nothing is due" line.
fn next_due_note(workspace: &Workspace, store: &Store) -> Result<String> {
    let mut soonest: Option<(DateTime<Utc>, &str, bool)> = None;
    for playbook in workspace.playbooks.iter().filter(|p| p.enabled) {
        let history = store.schedule_history(&playbook.id)?;
        if let Some(at) = due_at(playbook, &history)
            && soonest.is_none_or(|(t, _, _)| at < t)
        {
            soonest = Some((at, &playbook.id, history.last_failure.is_some()));
        }
    }
    Ok(soonest.map_or(String::new(), |(at, id, retry)| {
        format!(
            ": the next is {id}{} at {} (use --all or name playbooks to run them now)",
            if retry { ", again after its failed run," } else { "" },
            at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }))
}

pub fn source(workspace: &Workspace) -> Result<Box<dyn Source>> {
    match &workspace.config.source {
        SourceConfig::Local { rebase_time, .. } => {
            // The archives are tables too: what the state file holds, else (nothing kept yet) empty.
            let catalog = crate::kql::table::Layered(vec![
                Arc::new(crate::store::StateArchives::new(&workspace.config.state, workspace.archives.table_names())),
                Arc::new(workspace.archives.clone()),
                Arc::clone(&workspace.catalog),
            ]);
            let source = LocalSource::new(Arc::new(catalog), *rebase_time).keeping(workspace.archives.table_names());
            Ok(Box::new(source))
        }
        SourceConfig::Graph => {
            let environment = Environment::interactive(workspace.config.redactor()).map_err(|e| anyhow!(e))?;
            Ok(Box::new(GraphSource::new(&workspace.config.tenants, &environment).map_err(|e| anyhow!(e))?))
        }
    }
}

fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// One run's line; `width` is the playbook column's (the longest id of the run, at least 32).
fn summary_line(summary: &RunSummary, width: usize) -> String {
    let mut line = format!(
        "{:<width$} {} → {}  rows {:>5}  new hits {:>5}  messages {:>3}",
        summary.playbook,
        format_time(summary.window.start),
        format_time(summary.window.end),
        summary.rows,
        summary.new_hits,
        summary.messages.len()
    );
    if summary.archived > 0 || summary.archives_offered > 0 {
        line.push_str(&format!("  archived {:>3}", summary.archived));
    }
    if summary.silenced > 0 {
        line.push_str(&format!("  silenced {}", summary.silenced));
    }
    if summary.suppressed > 0 {
        line.push_str(&format!("  suppressed {}", summary.suppressed));
    }
    if summary.truncated {
        line.push_str("  (result cut off at the source's limit)");
    }
    line
}

/// Every message of a dry run, exactly as it would be delivered.
fn print_messages(out: &mut impl Write, messages: &[NewMessage]) -> std::io::Result<()> {
    for message in messages {
        let kind = match message.kind {
            MessageKind::Email => "e-mail (MIME)",
            MessageKind::Teams => "Teams webhook payload",
            MessageKind::File => "archive document",
        };
        writeln!(out, "──── to {} · {kind} · {} bytes", message.receiver, message.payload.len())?;
        out.write_all(&message.payload)?;
        if !message.payload.ends_with(b"\n") {
            writeln!(out)?;
        }
    }
    Ok(())
}
