//! One run of one playbook: its window, the query over it, the hits not seen before, the messages they make
//! (routed, grouped, rendered), and one transaction that marks the hits seen, queues the messages, moves the
//! watermark and records the run. A run that fails records its failure and changes nothing else; a run killed
//! before its commit leaves no trace. Delivery happens afterwards, from the outbox (`deliver::outbox`).

mod render;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::Config;
use crate::diagnostics::Diagnostic;
use crate::failpoint;
use crate::kql::check::check_scalar;
use crate::kql::eval::EvalContext;
use crate::kql::parser::parse_expression;
use crate::kql::plan::Column;
use crate::kql::table::{MemoryCatalog, Table};
use crate::kql::types::Type;
use crate::kql::value::Value;
use crate::playbook::{Per, Playbook, Trigger};
use crate::render::chart::ChartRequest;
use crate::render::email::Templates;
use crate::route::message::{Message, PlaybookSummary};
use crate::route::{Grouping, Route, SuppressBy, group_rows, hit_keys, new_hits};
use crate::schedule::{Clock, Window, WindowRules, is_behind, next_window};
use crate::source::{QueryRequest, Source, SourceError, to_ticks};
use crate::store::{
    ArchiveBatch, ArchivedRow, NewMessage, QuietHit, Quieted, RunCommit, RunRecord, RunStatus, ScheduleHistory, Store,
    StoreError, Suppression, row_time,
};

pub use render::render_message;

/// What a run needs from the world.
pub struct Services<'a> {
    pub config: &'a Config,
    pub source: &'a dyn Source,
    pub templates: &'a Templates,
    pub clock: &'a dyn Clock,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Render everything, change nothing: no hit marked seen, no message queued, no run recorded.
    pub dry_run: bool,
    /// A window given on the command line (`--since/--until`) instead of the schedule's.
    pub window: Option<Window>,
}

/// What a run found and did, for the summary line and `huntbook test`.
#[derive(Debug)]
pub struct RunSummary {
    pub playbook: String,
    pub run_id: String,
    pub window: Window,
    pub rows: usize,
    pub new_hits: usize,
    /// The new hits themselves (for playbook tests and `--dry-run`).
    pub hits: Table,
    pub messages: Vec<NewMessage>,
    /// The hits each message holds (as `messages`).
    pub message_rows: Vec<usize>,
    pub truncated: bool,
    pub skipped_rows: u64,
    pub first_skipped: Option<String>,
    pub repaired_rows: u64,
    pub first_repaired: Option<String>,
    /// The window stopped short of now, catching up after downtime in steps of `catch_up_window`: the next
    /// window is due at once.
    pub behind: bool,
    /// Rows the commit wrote to archives (0 for a dry run).
    pub archived: u64,
    /// Rows offered to archives (the new hits of an archiving playbook, isolations its enrichers found).
    pub archives_offered: usize,
    /// One line per enrichment that failed (its columns are empty).
    pub notes: Vec<String>,
    /// New hits a silence kept from every receiver.
    pub silenced: usize,
    /// New hits `suppress` kept from some receiver.
    pub suppressed: usize,
    /// Silences that could not be applied (their condition no longer fits the hits' columns).
    pub warnings: Vec<String>,
}

/// What a successful run's commit keeps besides its record and messages.
struct Kept {
    keys: Vec<String>,
    archives: Vec<ArchiveBatch>,
    profiles: Vec<crate::store::CachedProfile>,
    failures: Vec<&'static str>,
    quiet: Vec<QuietHit>,
    suppressions: Vec<Suppression>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The query is wrong; each problem is rendered at its place in the playbook file.
    #[error("the query of {playbook} is not valid")]
    Query { playbook: String, diagnostics: Vec<Diagnostic> },
    #[error("{playbook}: {message}")]
    Failed { playbook: String, message: String },
    #[error("{playbook}: the state file: {source}")]
    Store {
        playbook: String,
        #[source]
        source: Box<StoreError>,
    },
}

impl RunError {
    pub fn playbook(&self) -> &str {
        match self {
            RunError::Query { playbook, .. } | RunError::Failed { playbook, .. } | RunError::Store { playbook, .. } => {
                playbook
            }
        }
    }

    /// What went wrong, without the playbook's name: the diagnostics of a bad query, or the message. This is what
    /// the run record and the meta alert keep.
    pub fn detail(&self) -> String {
        match self {
            RunError::Query { diagnostics, .. } => {
                crate::diagnostics::render_diagnostics(diagnostics).trim_end().to_string()
            }
            RunError::Failed { message, .. } => message.clone(),
            RunError::Store { source, .. } => format!("the state file: {source}"),
        }
    }

    /// What the user reads: the diagnostics of a bad query, or one line.
    pub fn render(&self) -> String {
        match self {
            RunError::Query { diagnostics, .. } => crate::diagnostics::render_diagnostics(diagnostics),
            // Inert: a server's words may be in it (line breaks, escape sequences, bidi controls).
            other => format!("error: {}\n", crate::render::visible::made_visible(&other.to_string(), &[])),
        }
    }
}

/// The gap between two runs: an `every`, or the time between the next two fires of a cron.
pub fn interval(playbook: &Playbook, now: DateTime<Utc>) -> TimeDelta {
    match &playbook.schedule.trigger {
        Trigger::Every(every) => *every,
        Trigger::Cron(cron) => {
            let mut fires = cron.schedule.after(&now.with_timezone(&playbook.schedule.timezone));
            match (fires.next(), fires.next()) {
                (Some(first), Some(second)) => second.with_timezone(&Utc) - first.with_timezone(&Utc),
                _ => TimeDelta::days(1),
            }
        }
    }
}

/// The first wait before a failed run is tried again; it doubles with each failure in a row.
const RETRY_FIRST: TimeDelta = TimeDelta::minutes(1);
/// The longest wait before a failed run is tried again (unless its next regular time comes sooner).
const RETRY_MAX: TimeDelta = TimeDelta::hours(1);

/// When a playbook is due next, from its history; `None` when it never ran (now).
///
/// Only a successful run uses up a slot: the next regular time counts from the latest success. A playbook whose
/// latest run failed is due again after a backoff (1 minute, doubling with each failure in a row, at most an
/// hour) that never waits past the next regular time after the failure. A failed weekly digest is therefore
/// tried again minutes later, not a week later — when its query's `ago(7d)` would have lost the week.
///
/// A playbook catching up after downtime (its latest successful window stopped short of that run's start, see
/// `catch_up_window`) is due again at once, until it has caught up.
pub fn due_at(playbook: &Playbook, history: &ScheduleHistory) -> Option<DateTime<Utc>> {
    if let (Some(success), Some(watermark), None) = (history.last_success, history.watermark, history.last_failure)
        && watermark < success - playbook.schedule.delay - TimeDelta::seconds(1)
    {
        return Some(success);
    }
    let regular = next_fire(playbook, history.last_success);
    let Some(failed) = history.last_failure else { return regular };
    let doubling = 2i32.saturating_pow(history.failures.saturating_sub(1).min(16));
    let backoff = (RETRY_FIRST * doubling).min(RETRY_MAX);
    let retry = (failed + backoff).min(next_fire(playbook, Some(failed)).unwrap_or(failed + backoff));
    Some(regular.map_or(retry, |regular| regular.max(retry)))
}

/// The schedule's next time after a run that started at `last_run` (`None` when there is none: now).
pub fn next_fire(playbook: &Playbook, last_run: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    let last = last_run?;
    Some(match &playbook.schedule.trigger {
        Trigger::Every(every) => last + *every,
        Trigger::Cron(cron) => cron
            .schedule
            .after(&last.with_timezone(&playbook.schedule.timezone))
            .next()
            .map_or(last + TimeDelta::days(1), |fire| fire.with_timezone(&Utc)),
    })
}

fn window_rules(config: &Config, playbook: &Playbook, now: DateTime<Utc>) -> WindowRules {
    WindowRules {
        interval: interval(playbook, now),
        first_lookback: config.first_lookback.or(playbook.schedule.first_lookback),
        overlap: playbook.schedule.overlap,
        delay: playbook.schedule.delay,
        catch_up: Some(config.catch_up_window),
        lookback: playbook.schedule.lookback,
    }
}

/// The routes of a playbook, resolved against the columns of its hits.
fn routes(playbook: &Playbook, hits: &Table) -> Result<Vec<Route>, RunError> {
    let failed = |message: String| RunError::Failed { playbook: playbook.id.clone(), message };
    let mut routes = Vec::new();
    let drawn = playbook.visualization.as_ref().map(|visualization| ChartRequest::Hits {
        visualization: std::sync::Arc::new(visualization.clone()),
        columns: playbook.columns.as_ref().map(|columns| columns.iter().map(|c| c.name.clone()).collect()),
    });
    for notify in &playbook.notify {
        // Column names as indexes into the hits' columns (validation checked them; a query whose columns
        // changed since is a failed run, not a guess).
        let indexes = |names: &[String], what: &str| -> Result<Vec<usize>, RunError> {
            names
                .iter()
                .map(|name| {
                    hits.column_index(name)
                        .ok_or_else(|| failed(format!("`{what}` names {name}, which the hits do not have")))
                })
                .collect()
        };
        let grouping = match &notify.per {
            Per::Run => Grouping::Run,
            Per::Hit => Grouping::Hit,
            Per::Columns(columns) => Grouping::Columns(indexes(columns, "per")?),
        };
        let when = match &notify.when {
            None => None,
            Some(condition) => {
                let name = playbook.file.display().to_string();
                let source = condition.source.locate(&name, &condition.text);
                let invalid = |errors: crate::kql::error::KqlErrors| RunError::Query {
                    playbook: playbook.id.clone(),
                    diagnostics: errors.0.iter().map(|e| Diagnostic::from_kql(&source, e)).collect(),
                };
                let expr = parse_expression(&condition.text).map_err(invalid)?;
                Some(check_scalar(&expr, &hits.columns, &MemoryCatalog::new()).map_err(invalid)?)
            }
        };
        let shown = notify.columns.as_deref().map(|names| indexes(names, "columns")).transpose()?;
        let suppress = match &notify.suppress {
            None => None,
            Some(suppress) => Some(SuppressBy {
                duration: suppress.duration,
                names: suppress.by.clone(),
                columns: indexes(&suppress.by, "suppress.by")?,
            }),
        };
        routes.push(Route {
            receivers: notify.to.clone(),
            grouping,
            when,
            subject: notify.subject.clone(),
            title: notify.title.clone(),
            template: notify.template.clone(),
            layout: notify.layout,
            shown,
            links: notify.links.clone(),
            suppress,
            chart: notify.chart.as_deref().map(|text| ChartRequest::Query(text.into())).or_else(|| drawn.clone()),
        });
    }
    Ok(routes)
}

/// A YAML block's line breaks only wrap the text: they become spaces; a blank line still starts a paragraph.
fn fold_prose(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|paragraph| !paragraph.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn summary_of(playbook: &Playbook) -> PlaybookSummary {
    PlaybookSummary {
        id: playbook.id.clone(),
        title: playbook.title.clone(),
        description: fold_prose(&playbook.description),
        severity: playbook.severity,
        tags: playbook.tags.clone(),
    }
}

/// Runs a playbook once. On failure the run is recorded as failed (unless dry) and nothing else changes.
pub fn run_playbook(
    services: &Services,
    store: &mut Store,
    playbook: &Playbook,
    options: RunOptions,
) -> Result<RunSummary, RunError> {
    let started = services.clock.now();
    let run_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("run", playbook = %playbook.id, run_id = %run_id);
    let _entered = span.enter();
    let timing = std::time::Instant::now();
    let store_error = |source| RunError::Store { playbook: playbook.id.clone(), source: Box::new(source) };
    let rules = window_rules(services.config, playbook, started);
    let watermark = match options.window {
        Some(_) => None,
        None => store.watermark(&playbook.id).map_err(store_error)?,
    };
    let window = match options.window {
        Some(window) => window,
        None => next_window(&rules, watermark, started),
    };
    // A `lookback:` playbook down for more than a day skips the oldest missed evaluations: said with the run.
    let skipped = match options.window {
        Some(_) => None,
        None => crate::schedule::skipped_evaluations(&rules, watermark, started).map(|(count, first, last)| {
            format!(
                "{count} missed evaluation{} ({} to {} UTC) {} skipped: a look-back playbook catches up at most a day \
                 (and {} evaluations) after downtime; `huntbook run {} --since … --until …` evaluates them",
                if count == 1 { "" } else { "s" },
                first.format("%Y-%m-%d %H:%M"),
                last.format("%Y-%m-%d %H:%M"),
                if count == 1 { "was" } else { "were" },
                crate::schedule::LOOKBACK_CATCH_UP_EVALUATIONS,
                playbook.id
            )
        }),
    };
    let behind = options.window.is_none() && is_behind(&rules, &window, started);
    let record =
        |status, error: Option<String>, rows: usize, new_hits: usize, messages: usize, truncated: bool| RunRecord {
            archived: 0,
            silenced: 0,
            suppressed: 0,
            backfill: options.window.is_some(),
            id: run_id.clone(),
            playbook: playbook.id.clone(),
            tenant: None,
            started,
            finished: services.clock.now(),
            window_start: window.start,
            window_end: window.end,
            rows: rows as u64,
            new_hits: new_hits as u64,
            messages: messages as u64,
            truncated,
            status,
            error,
        };
    // The run's findings and what its commit keeps: the keys of its new hits (marked seen), the rows archived
    // and the file profiles learnt.
    let outcome = (|| -> Result<(RunSummary, Kept), RunError> {
        let (response, per_tenant) = query_tenants(services, playbook, window, started)?;
        failpoint::hit("after-query");
        let failed = |message: String| RunError::Failed { playbook: playbook.id.clone(), message };
        let context = crate::enrich::EnrichContext {
            config: services.config,
            source: services.source,
            store,
            playbook,
            now: started,
            window,
            per_tenant,
        };
        let rows = response.table.rows.len();
        // Hits are enriched after dedup, which gives the same hits and messages as before it and spares the
        // lookups of hits already sent — unless `key` names an enrichment's column.
        let key_enriched = playbook.key.iter().flatten().any(|name| response.table.column_index(name).is_none());
        let (table, mut early) = if key_enriched && !playbook.enrich.is_empty() {
            let mut enriched = crate::enrich::enrich(&context, response.table).map_err(failed)?;
            (std::mem::take(&mut enriched.table), Some(enriched))
        } else {
            (response.table, None)
        };
        let key_columns: Option<Vec<usize>> = playbook.key.as_ref().map(|names| {
            // Two tenants' hits with the same key values are two hits.
            let tenant = per_tenant.then_some(0);
            tenant.into_iter().chain(names.iter().filter_map(|name| table.column_index(name))).collect()
        });
        let mut keys = hit_keys(&unshifted(&table, response.time_shift), key_columns.as_deref());
        // Aggregates are news at every evaluation: "1 isolation by Alex" this week is not last week's. Without a
        // `key:`, their key is the row and the window's end (a rerun of the same window still dedups).
        if playbook.aggregate && playbook.key.is_none() && table.column_index("ReportId").is_none() {
            let evaluation = window.end.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            for key in &mut keys {
                key.push('@');
                key.push_str(&evaluation);
            }
        }
        let seen = store.seen(&playbook.id, &keys).map_err(store_error)?;
        let fresh = new_hits(&keys, &seen);
        let hits =
            Table { columns: table.columns.clone(), rows: fresh.iter().map(|i| table.rows[*i].clone()).collect() };
        let fresh_keys: Vec<String> = fresh.iter().map(|i| keys[*i].clone()).collect();
        let enriched = match early.take() {
            Some(enriched) => crate::enrich::Enriched { table: hits, ..enriched },
            None if playbook.enrich.is_empty() => crate::enrich::Enriched { table: hits, ..Default::default() },
            None => crate::enrich::enrich(&context, hits).map_err(failed)?,
        };
        let crate::enrich::Enriched { table: hits, notes, mut archives, profiles, failed: failures, failed_columns } =
            enriched;
        // Hits routed, grouped or keyed on the empty columns of a failed enrichment would be dropped or merged
        // without a word: such a run fails, whatever `on_error` says, and is tried again.
        if let Some(column) = failed_columns.iter().find(|column| routes_on(playbook, column)) {
            return Err(failed(format!(
                "{}; the run routes its hits on {column}, which it would leave empty, so it fails and is tried again",
                notes.join("; ")
            )));
        }
        if let Some(archive) = &playbook.archive {
            let rows = hits
                .rows
                .iter()
                .zip(&fresh_keys)
                .map(|(row, key)| ArchivedRow {
                    key: key.clone(),
                    at: row_time(&hits.columns, row, started),
                    values: row.clone(),
                })
                .collect();
            archives.insert(
                0,
                ArchiveBatch {
                    archive: archive.name.clone(),
                    columns: hits.columns.clone(),
                    rows,
                    prune_before: Some(started - archive.retention),
                },
            );
        }
        // Silences: a hit one holds for goes to nobody, and is recorded with the silence's id.
        let silences = store.active_silences(&playbook.id, started).map_err(store_error)?;
        let (silenced, mut warnings) = silenced_hits(&silences, &hits, started);
        warnings.extend(skipped.clone());
        let mut quiet: Vec<QuietHit> = silenced
            .iter()
            .map(|(index, id)| QuietHit { hit_key: fresh_keys[*index].clone(), why: Quieted::Silenced(id.clone()) })
            .collect();
        let audible: Vec<usize> = (0..hits.rows.len()).filter(|index| !silenced.contains_key(index)).collect();
        // The time an evaluation stands for: a `lookback:` playbook catching up evaluates a missed fire, and its
        // suppression is reckoned from that fire (the burst alerted at 09:45 is still quiet at the 10:00
        // evaluation run late at 10:45); otherwise, now.
        let evaluated = match playbook.schedule.lookback {
            Some(_) => (window.end + playbook.schedule.delay).min(started),
            None => started,
        };
        let mut suppression = SuppressionState {
            // Read only by playbooks that suppress.
            until: if playbook.notify.iter().any(|notify| notify.suppress.is_some()) {
                store.suppressions(&playbook.id, evaluated).map_err(store_error)?
            } else {
                Default::default()
            },
            sent: Vec::new(),
            quiet: Vec::new(),
        };
        let findings = Findings {
            hits: &hits,
            audible: &audible,
            keys: &fresh_keys,
            truncated: response.truncated,
            notes: &notes,
        };
        let (messages, message_rows) =
            messages_for(services, playbook, &run_id, (evaluated, window), &findings, &mut suppression)?;
        let suppressed =
            suppression.quiet.iter().map(|hit| &hit.hit_key).collect::<std::collections::HashSet<_>>().len();
        quiet.append(&mut suppression.quiet);
        let summary = RunSummary {
            playbook: playbook.id.clone(),
            run_id: run_id.clone(),
            window,
            rows,
            new_hits: hits.rows.len(),
            hits,
            messages,
            message_rows,
            truncated: response.truncated,
            skipped_rows: response.skipped_rows,
            first_skipped: response.first_skipped,
            repaired_rows: response.repaired_rows,
            first_repaired: response.first_repaired,
            behind,
            archived: 0,
            notes,
            archives_offered: archives.iter().map(|batch| batch.rows.len()).sum(),
            silenced: silenced.len(),
            suppressed,
            warnings,
        };
        let kept = Kept { keys: fresh_keys, archives, profiles, failures, quiet, suppressions: suppression.sent };
        Ok((summary, kept))
    })();
    match outcome {
        Err(error) => {
            tracing::warn!(window = %window.iso_interval(), error = %error.detail(), "run failed");
            if !options.dry_run {
                crate::telemetry::run_failed(&playbook.id, timing.elapsed());
                let mut failed = record(RunStatus::Failed, Some(error.detail()), 0, 0, 0, false);
                let streak = store.failing_streak(&playbook.id).map_err(store_error)?.saturating_add(1);
                // A failed backfill is told to whoever started it; it is no failing streak of the schedule.
                let alerts = if options.window.is_some() {
                    Ok(Vec::new())
                } else {
                    meta_alerts(services, playbook, &failed, streak)
                };
                let alerts = alerts.unwrap_or_else(|problem| {
                    // The failure is recorded all the same, with why huntbook could not report it.
                    let reason = failed.error.take().unwrap_or_default();
                    failed.error = Some(format!("{reason}\n(the meta alert could not be made: {problem})"));
                    Vec::new()
                });
                if alerts.is_empty() {
                    store.record_failed_run(&failed).map_err(store_error)?;
                } else {
                    let commit = RunCommit {
                        quiet: &[],
                        suppressions: &[],
                        archives: &[],
                        profiles: &[],
                        run: &failed,
                        seen_keys: &[],
                        messages: &alerts,
                        watermark: None,
                    };
                    store.commit_run(&commit).map_err(store_error)?;
                }
            }
            Err(error)
        }
        Ok((mut summary, kept)) => {
            if options.dry_run {
                return Ok(summary);
            }
            let mut run = record(
                RunStatus::Succeeded,
                None,
                summary.rows,
                summary.new_hits,
                summary.messages.len(),
                summary.truncated,
            );
            run.silenced = summary.silenced as u64;
            run.suppressed = summary.suppressed as u64;
            let notes: Vec<&String> = summary.notes.iter().chain(&summary.warnings).collect();
            if !notes.is_empty() {
                run.error = Some(notes.iter().map(|note| note.as_str()).collect::<Vec<_>>().join("\n"));
            }
            failpoint::hit("before-commit");
            let commit = RunCommit {
                quiet: &kept.quiet,
                suppressions: &kept.suppressions,
                archives: &kept.archives,
                profiles: &kept.profiles,
                run: &run,
                seen_keys: &kept.keys,
                messages: &summary.messages,
                // A backfill (a window given by hand) leaves the schedule as it was: its hits are seen and sent,
                // but the next ordinary run is the one it would have been.
                watermark: options.window.is_none().then_some(window.end),
            };
            summary.archived = match store.commit_run(&commit) {
                Ok(archived) => archived,
                Err(source) => {
                    // Nothing of the run was kept (a full disk, a damaged file): it failed, and its window is
                    // run again. Its record is kept if the file still takes one.
                    let error = store_error(source);
                    tracing::error!(window = %window.iso_interval(), error = %error.detail(), "run failed: its commit failed; nothing of it was kept");
                    crate::telemetry::run_failed(&playbook.id, timing.elapsed());
                    let failed = record(RunStatus::Failed, Some(error.detail()), summary.rows, 0, 0, false);
                    if let Err(also) = store.record_failed_run(&failed) {
                        tracing::warn!(error = %also, "the failed run could not be recorded either");
                    }
                    return Err(error);
                }
            };
            failpoint::hit("after-commit");
            for label in &kept.failures {
                crate::telemetry::enrichment_failed(&playbook.id, label);
            }
            let receivers: Vec<&str> = summary.messages.iter().map(|m| m.receiver.as_str()).collect();
            crate::telemetry::run_succeeded(
                &playbook.id,
                (summary.rows, summary.new_hits, summary.truncated),
                &receivers,
                timing.elapsed(),
                started,
            );
            tracing::info!(
                window = %window.iso_interval(),
                rows = summary.rows,
                new_hits = summary.new_hits,
                messages = summary.messages.len(),
                truncated = summary.truncated,
                behind = summary.behind,
                archived = summary.archived,
                "run committed"
            );
            Ok(summary)
        }
    }
}

/// The message huntbook sends about itself (`meta:`) when a playbook has failed `when_failing_for` runs in a
/// row — once per streak, on the run that reaches the count. A failing playbook reports nothing, so without
/// this its silence would look like quiet. The message is queued with the failed run's record, in one commit.
fn meta_alerts(
    services: &Services,
    playbook: &Playbook,
    failed: &RunRecord,
    streak: u32,
) -> Result<Vec<NewMessage>, RunError> {
    let Some(meta) = &services.config.meta else { return Ok(Vec::new()) };
    if streak != meta.when_failing_for {
        return Ok(Vec::new());
    }
    let report = MetaReport {
        title: match streak {
            1 => format!("huntbook: {} failed", playbook.title),
            _ => format!("huntbook: {} has failed {streak} runs in a row", playbook.title),
        },
        description: "Until it runs again, whatever it hunts for is not being reported. Its watermark has not \
                      moved: its next successful run covers the missed time (up to 30 days). The command \
                      huntbook runs lists the failures."
            .to_string(),
        fields: vec![
            ("Playbook", Value::string(playbook.id.as_str())),
            ("File", Value::string(playbook.file.display().to_string())),
            ("FailedRuns", Value::Long(i64::from(streak))),
            ("LastError", Value::string(failed.error.clone().unwrap_or_default())),
        ],
        run: failed,
        receivers: &meta.to,
    };
    meta_messages(services, &report, failed.finished)
        .map_err(|message| RunError::Failed { playbook: playbook.id.clone(), message })
}

/// A report of huntbook about itself, filed under a run (the one it is about: the message belongs to that run
/// and its playbook in the outbox).
pub struct MetaReport<'a> {
    pub title: String,
    pub description: String,
    /// The one row of the message: name and value.
    pub fields: Vec<(&'static str, Value)>,
    pub run: &'a RunRecord,
    pub receivers: &'a [String],
}

/// The messages of a meta report, one per receiver, rendered like any message.
pub fn meta_messages(services: &Services, report: &MetaReport, at: DateTime<Utc>) -> Result<Vec<NewMessage>, String> {
    let columns = report
        .fields
        .iter()
        .map(|(name, value)| Column::new(*name, value.runtime_type().unwrap_or(Type::String)))
        .collect();
    let hit = report.fields.iter().map(|(_, value)| value.clone()).collect();
    let message = Message {
        playbook: PlaybookSummary {
            id: report.run.playbook.clone(),
            title: report.title.clone(),
            description: report.description.clone(),
            severity: crate::playbook::Severity::High,
            tags: vec!["huntbook".to_string()],
        },
        run_id: report.run.id.clone(),
        started: report.run.started,
        window_start: report.run.window_start,
        window_end: report.run.window_end,
        columns,
        hits: vec![hit],
        truncated: false,
        notes: Vec::new(),
        tenant: None,
        subject_template: Some("{{playbook.title}}".to_string()),
        title_template: None,
        shown: None,
        links: crate::render::links::LinkColumns::default(),
        chart: None,
    };
    report
        .receivers
        .iter()
        .map(|receiver| render_message(services, &message, receiver, at, None, Default::default()))
        .collect()
}

/// The table as the data holds it, before a `rebase_time` shift (borrowed when there is none).
pub fn unshifted(table: &Table, shift: i64) -> std::borrow::Cow<'_, Table> {
    if shift == 0 {
        return std::borrow::Cow::Borrowed(table);
    }
    let mut original = table.clone();
    for row in &mut original.rows {
        for value in row.iter_mut() {
            if let Value::DateTime(ticks) = value {
                *ticks = ticks.saturating_sub(shift);
            }
        }
    }
    std::borrow::Cow::Owned(original)
}

/// The tenants a playbook's query runs in: none for a source without tenants (local files); else the
/// playbook's `tenants:`, or every tenant.
fn tenants_of(services: &Services, playbook: &Playbook) -> Vec<Option<String>> {
    let available = services.source.tenants();
    if available.is_empty() {
        vec![None]
    } else if playbook.tenants.is_empty() {
        available.into_iter().map(Some).collect()
    } else {
        playbook.tenants.iter().cloned().map(Some).collect()
    }
}

/// The query's rows in every tenant of the playbook. With more than one tenant each row starts with a `Tenant`
/// column naming where it was found (the bool says so). Any tenant failing fails the run: its watermark stays,
/// and the next run asks every tenant again (hits already sent are known by their keys).
fn query_tenants(
    services: &Services,
    playbook: &Playbook,
    window: Window,
    started: DateTime<Utc>,
) -> Result<(crate::source::QueryResponse, bool), RunError> {
    let tenants = tenants_of(services, playbook);
    let mut merged: Option<crate::source::QueryResponse> = None;
    for tenant in &tenants {
        let text = crate::playbook::with_window(&playbook.query, window.start, window.end);
        let request = QueryRequest { query: &text, window, now: started, tenant: tenant.as_deref() };
        let mut response =
            services.source.run_query(&request).map_err(|error| query_error(services.config, playbook, error))?;
        if tenants.len() == 1 {
            return Ok((response, false));
        }
        let name = Value::string(tenant.as_deref().unwrap_or_default());
        response.table.columns.insert(0, Column::new("Tenant", Type::String));
        for row in &mut response.table.rows {
            row.insert(0, name.clone());
        }
        match &mut merged {
            None => merged = Some(response),
            Some(all) => {
                if all.table.columns != response.table.columns {
                    return Err(RunError::Failed {
                        playbook: playbook.id.clone(),
                        message: format!(
                            "tenant {} returned other columns than the tenants before it",
                            tenant.as_deref().unwrap_or_default()
                        ),
                    });
                }
                all.table.rows.append(&mut response.table.rows);
                all.truncated |= response.truncated;
                all.skipped_rows += response.skipped_rows;
                all.first_skipped = all.first_skipped.take().or(response.first_skipped);
                all.repaired_rows += response.repaired_rows;
                all.first_repaired = all.first_repaired.take().or(response.first_repaired);
            }
        }
    }
    Ok((merged.unwrap_or_default(), true))
}

/// A source failure, as the user should read it — and as the run record keeps it: what a server said goes
/// through the configuration's redactor (a proxy may echo a client secret).
fn query_error(config: &Config, playbook: &Playbook, error: SourceError) -> RunError {
    match error {
        SourceError::Invalid(errors) => {
            let name = playbook.file.display().to_string();
            let source = playbook.query_source.locate(&name, &playbook.query);
            RunError::Query {
                playbook: playbook.id.clone(),
                diagnostics: errors.0.iter().map(|e| Diagnostic::from_kql(&source, e)).collect(),
            }
        }
        SourceError::Failed(error) => {
            RunError::Failed { playbook: playbook.id.clone(), message: config.redactor().redact(&error.message) }
        }
        rejected @ SourceError::Rejected(_) => {
            RunError::Failed { playbook: playbook.id.clone(), message: config.redactor().redact(&rejected.to_string()) }
        }
    }
}

/// Whether the playbook's `key`, a `per`, a `when` or a `suppress.by` reads `column`.
fn routes_on(playbook: &Playbook, column: &str) -> bool {
    playbook.key.iter().flatten().any(|name| name == column)
        || playbook.notify.iter().any(|notify| {
            matches!(&notify.per, Per::Columns(columns) if columns.iter().any(|name| name == column))
                || notify.when.as_ref().is_some_and(|when| crate::enrich::mentions(&when.text, column))
                || notify.suppress.as_ref().is_some_and(|suppress| suppress.by.iter().any(|name| name == column))
        })
}

/// What a run found, for its messages.
struct Findings<'a> {
    hits: &'a Table,
    /// The hits (indexes into `hits.rows`) no silence holds for.
    audible: &'a [usize],
    /// Each hit's key.
    keys: &'a [String],
    /// The result was cut at the source's limit.
    truncated: bool,
    /// Enrichments that failed.
    notes: &'a [String],
}

/// What suppression knows during a run: the (receiver, `by` values) pairs in force and until when (from the
/// state file, and from this run's earlier messages), what this run's messages add, and the hits it kept quiet.
struct SuppressionState {
    until: std::collections::HashMap<(String, String), DateTime<Utc>>,
    sent: Vec<Suppression>,
    quiet: Vec<QuietHit>,
}

/// The hits (index → silence id) the first active silence whose condition holds for them silences; and a line
/// for each silence whose condition no longer fits the hits' columns (it silences nothing, and says so).
fn silenced_hits(
    silences: &[crate::store::Silence],
    hits: &Table,
    started: DateTime<Utc>,
) -> (std::collections::HashMap<usize, String>, Vec<String>) {
    let mut silenced = std::collections::HashMap::new();
    let mut warnings = Vec::new();
    if silences.is_empty() || hits.rows.is_empty() {
        return (silenced, warnings);
    }
    let context = EvalContext { now: to_ticks(started) };
    let compiled: Vec<(&str, crate::kql::plan::TExpr)> = silences
        .iter()
        .filter_map(|silence| {
            let checked = parse_expression(&silence.condition)
                .and_then(|expr| check_scalar(&expr, &hits.columns, &MemoryCatalog::new()));
            match checked {
                Ok(typed) => Some((silence.id.as_str(), typed)),
                Err(errors) => {
                    let reason = errors.0.first().map(|e| e.message.clone()).unwrap_or_default();
                    warnings.push(format!("silence {} does not apply to these hits: {reason}", silence.id));
                    None
                }
            }
        })
        .collect();
    for (index, row) in hits.rows.iter().enumerate() {
        if let Some((id, _)) =
            compiled.iter().find(|(_, condition)| crate::kql::eval::eval(condition, row, &context).is_true())
        {
            silenced.insert(index, (*id).to_string());
        }
    }
    (silenced, warnings)
}

/// The identity of a hit's `suppress.by` values: the names and the values, as JSON.
fn by_key(suppress: &SuppressBy, row: &crate::kql::plan::Row) -> String {
    let values: Vec<serde_json::Value> =
        suppress.columns.iter().map(|index| row.get(*index).map(|v| v.to_json()).unwrap_or_default()).collect();
    serde_json::json!([suppress.names, values]).to_string()
}

/// Every message of a run: each route's groups of audible hits, for each of its receivers, less the hits
/// suppression keeps from that receiver, rendered.
fn messages_for(
    services: &Services,
    playbook: &Playbook,
    run_id: &str,
    (started, window): (DateTime<Utc>, Window),
    findings: &Findings,
    suppression: &mut SuppressionState,
) -> Result<(Vec<NewMessage>, Vec<usize>), RunError> {
    let Findings { hits, audible, keys, truncated, notes } = *findings;
    let mut rows_of = Vec::new();
    let context = EvalContext { now: to_ticks(started) };
    let mut out = Vec::new();
    for route in routes(playbook, hits)? {
        // Groups of indexes into `hits.rows`, of the audible hits only.
        let mut groups = group_rows(&route, &hits.rows, audible, &context);
        if groups.is_empty() && hits.rows.is_empty() && playbook.send_empty && route.grouping == Grouping::Run {
            groups.push(Vec::new());
        }
        for group in groups {
            for receiver in &route.receivers {
                let sent: Vec<usize> = match &route.suppress {
                    None => group.clone(),
                    Some(suppress) => {
                        // Judged against what was sent before this message: a message is never split.
                        let (sent, quiet): (Vec<_>, Vec<_>) = group
                            .iter()
                            .map(|&index| (index, by_key(suppress, &hits.rows[index])))
                            .partition(|(_, by)| {
                                let key = (receiver.clone(), by.clone());
                                suppression.until.get(&key).is_none_or(|until| *until <= started)
                            });
                        suppression.quiet.extend(quiet.into_iter().map(|(index, _)| QuietHit {
                            hit_key: keys[index].clone(),
                            why: Quieted::Suppressed { receiver: receiver.clone() },
                        }));
                        let until = started + suppress.duration;
                        for (_, by_key) in &sent {
                            let key = (receiver.clone(), by_key.clone());
                            if suppression.until.insert(key, until).is_none_or(|old| old <= started) {
                                let by_key = by_key.clone();
                                suppression.sent.push(Suppression { receiver: receiver.clone(), by_key, until });
                            }
                        }
                        sent.into_iter().map(|(index, _)| index).collect()
                    }
                };
                if sent.is_empty() && !group.is_empty() {
                    continue;
                }
                let message = Message {
                    playbook: summary_of(playbook),
                    run_id: run_id.to_string(),
                    started,
                    window_start: window.start,
                    window_end: window.end,
                    columns: hits.columns.clone(),
                    hits: sent.iter().map(|i| hits.rows[*i].clone()).collect(),
                    truncated,
                    notes: notes.to_vec(),
                    tenant: None,
                    subject_template: route.subject.clone(),
                    title_template: route.title.clone(),
                    shown: route.shown.clone(),
                    links: route.links.clone(),
                    chart: route.chart.clone(),
                };
                let rendered =
                    render_message(services, &message, receiver, started, route.template.as_deref(), route.layout)
                        .map_err(|message| RunError::Failed { playbook: playbook.id.clone(), message })?;
                out.push(rendered);
                rows_of.push(sent.len());
            }
        }
    }
    Ok((out, rows_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook(schedule: &str) -> Playbook {
        let config = crate::config::parse_config(
            None,
            "source: { kind: local, data: . }\nreceivers:\n  files: { file: { dir: out } }\n",
            std::path::Path::new("."),
            &|_| None,
        )
        .expect("a valid configuration");
        let text = format!(
            "id: p\ntitle: P\nseverity: low\nschedule: {schedule}\nquery: print x = 1\nnotify:\n  - to: [files]\n"
        );
        crate::playbook::parse_playbook(std::path::Path::new("p.yaml"), &text, &config, &MemoryCatalog::new(), &|_| {
            true
        })
        .expect("a valid playbook")
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
    }

    fn history(success: Option<&str>, failure: Option<&str>, failures: u32) -> ScheduleHistory {
        ScheduleHistory { last_success: success.map(at), last_failure: failure.map(at), failures, watermark: None }
    }

    #[test]
    fn only_a_successful_run_uses_up_a_slot_and_a_failed_one_is_retried_with_backoff() {
        // Every Monday 08:00 in Amsterdam (07:00 UTC in winter).
        let weekly = playbook("{ cron: \"0 8 * * MON\", timezone: Europe/Amsterdam }");
        let monday = "2026-12-07T07:00:00Z";
        assert_eq!(due_at(&weekly, &history(None, None, 0)), None, "never ran: due now");
        assert_eq!(due_at(&weekly, &history(Some(monday), None, 0)), Some(at("2026-12-14T07:00:00Z")));
        // It failed this Monday after succeeding last Monday: a minute later, doubling, never more than an hour.
        let last_week = Some("2026-11-30T07:00:00Z");
        assert_eq!(due_at(&weekly, &history(last_week, Some(monday), 1)), Some(at("2026-12-07T07:01:00Z")));
        assert_eq!(due_at(&weekly, &history(last_week, Some(monday), 3)), Some(at("2026-12-07T07:04:00Z")));
        assert_eq!(due_at(&weekly, &history(last_week, Some(monday), 12)), Some(at("2026-12-07T08:00:00Z")));
        // Never succeeded: the same backoff.
        assert_eq!(due_at(&weekly, &history(None, Some(monday), 2)), Some(at("2026-12-07T07:02:00Z")));

        // Every 15 minutes: the backoff never waits past the next regular time after the failure.
        let quarter = playbook("{ every: 15m }");
        let ok = Some("2026-12-07T10:00:00Z");
        let failed = Some("2026-12-07T10:15:00Z");
        assert_eq!(due_at(&quarter, &history(ok, failed, 1)), Some(at("2026-12-07T10:16:00Z")));
        assert_eq!(due_at(&quarter, &history(ok, failed, 5)), Some(at("2026-12-07T10:30:00Z")));
        // A run forced early (`run NAME`) that failed does not make the playbook due before its regular time.
        let early = Some("2026-12-07T10:05:00Z");
        assert_eq!(due_at(&quarter, &history(ok, early, 1)), Some(at("2026-12-07T10:15:00Z")));
    }

    #[test]
    fn a_description_is_folded_into_paragraphs() {
        let text = "Every Monday morning: each device\nreleased from isolation.\n\nSent even when  empty.\n";
        assert_eq!(
            fold_prose(text),
            "Every Monday morning: each device released from isolation.\n\nSent even when empty."
        );
        assert_eq!(fold_prose(""), "");
    }
}
