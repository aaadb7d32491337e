//! huntbook's reports about itself beyond "failing N runs in a row" (which the runner sends with the failed
//! run): a playbook **stale** (no successful run for `meta.stale_after`), a result **truncated** at the source's
//! cap, a receiver whose messages went **dead**. Each once per episode (`store::meta`): the alert when the
//! condition starts, nothing while it lasts, a new alert only after it cleared. The daemon checks after runs,
//! after deliveries that gave up, and every minute.

use chrono::{DateTime, TimeDelta, Utc};

use crate::kql::value::Value;
use crate::playbook::Playbook;
use crate::runner::{MetaReport, Services, interval, meta_messages};
use crate::store::{EpisodeKind, RunStatus, Store, StoreError};
use crate::telemetry::MetaLabels;

/// An alert that was queued: its kind and subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alerted {
    pub kind: EpisodeKind,
    pub subject: String,
}

/// Looks at every condition once; opens (and alerts) the episodes that started, closes those that cleared.
/// `since`: when the daemon started — no playbook is stale for time the daemon was not running.
pub fn check(
    services: &Services,
    store: &mut Store,
    playbooks: &[Playbook],
    since: DateTime<Utc>,
) -> Result<Vec<Alerted>, StoreError> {
    let Some(meta) = &services.config.meta else { return Ok(Vec::new()) };
    let now = services.clock.now();
    let latest: std::collections::HashMap<String, crate::store::RunRecord> =
        store.latest_runs()?.into_iter().map(|run| (run.playbook.clone(), run)).collect();
    let mut alerted = Vec::new();
    let mut open = |store: &mut Store, kind: EpisodeKind, subject: &str, report: Option<MetaReport>| {
        let messages = match report.map(|report| meta_messages(services, &report, now)) {
            Some(Ok(messages)) => messages,
            Some(Err(problem)) => {
                tracing::error!(kind = kind.as_str(), %subject, %problem, "the meta alert could not be made");
                Vec::new()
            }
            None => Vec::new(),
        };
        if store.open_episode(kind, subject, now, &messages)? {
            tracing::warn!(kind = kind.as_str(), %subject, messages = messages.len(), "meta alert");
            if let Some(metrics) = crate::telemetry::metrics() {
                metrics.meta_alerts.get_or_create(&MetaLabels { kind: kind.as_str().into() }).inc();
            }
            alerted.push(Alerted { kind, subject: subject.to_string() });
        }
        Ok::<(), StoreError>(())
    };

    // Truncated: the latest successful run's result was cut off.
    let truncated: Vec<String> = store.open_episodes(EpisodeKind::Truncated)?.into_iter().map(|(s, _)| s).collect();
    for playbook in playbooks {
        let Some(run) = latest.get(&playbook.id).filter(|run| run.status == RunStatus::Succeeded) else { continue };
        let is_open = truncated.contains(&playbook.id);
        if run.truncated && !is_open {
            let report = MetaReport {
                title: format!("huntbook: {} — its result was cut off", playbook.title),
                description: "Its latest run returned more than the source gives at once (Graph: 100,000 rows or \
                              50 MB): hits beyond the cut were not seen. Narrow the query (fewer columns, a \
                              summarize) or run it more often."
                    .to_string(),
                fields: vec![
                    ("Playbook", Value::string(playbook.id.as_str())),
                    ("Window", Value::string(format!("{} → {}", run.window_start, run.window_end))),
                    ("Rows", Value::Long(i64::try_from(run.rows).unwrap_or(i64::MAX))),
                ],
                run,
                receivers: &meta.to,
            };
            open(store, EpisodeKind::Truncated, &playbook.id, Some(report))?;
        } else if !run.truncated && is_open {
            store.close_episode(EpisodeKind::Truncated, &playbook.id)?;
        }
    }

    // Stale: no successful run for `stale_after` (counted from the daemon's start at the earliest).
    let stale: Vec<String> = store.open_episodes(EpisodeKind::Stale)?.into_iter().map(|(s, _)| s).collect();
    let successes: std::collections::HashMap<String, DateTime<Utc>> = store.last_successes()?.into_iter().collect();
    for playbook in playbooks.iter().filter(|p| p.enabled) {
        let success = successes.get(&playbook.id).copied();
        let reference = success.map_or(since, |success| success.max(since));
        let limit = meta.stale_after.for_interval(interval(playbook, now));
        let is_stale = now - reference > limit;
        let is_open = stale.contains(&playbook.id);
        if is_stale && !is_open {
            // Filed under its latest run; a playbook that never ran at all has none and waits for one.
            let Some(run) = latest.get(&playbook.id) else { continue };
            let report = MetaReport {
                title: format!("huntbook: {} has not run successfully for {}", playbook.title, span(now - reference)),
                description: format!(
                    "Its schedule is {}; huntbook reports a playbook when it has had no successful run for {}. \
                     Until it runs again, whatever it hunts for is not being reported. huntbook runs {} shows its \
                     runs, and the status page why.",
                    playbook.schedule,
                    span(limit),
                    playbook.id
                ),
                fields: vec![
                    ("Playbook", Value::string(playbook.id.as_str())),
                    ("LastSuccess", Value::string(success.map_or_else(|| "never".to_string(), |at| at.to_rfc3339()))),
                    ("LastRun", Value::string(run.status.as_str())),
                    ("LastError", Value::string(run.error.clone().unwrap_or_default())),
                ],
                run,
                receivers: &meta.to,
            };
            open(store, EpisodeKind::Stale, &playbook.id, Some(report))?;
        } else if !is_stale && is_open {
            store.close_episode(EpisodeKind::Stale, &playbook.id)?;
        }
    }

    // Dead: a receiver with messages given up on, until they are retried or dropped.
    let dead: Vec<String> = store.open_episodes(EpisodeKind::Dead)?.into_iter().map(|(s, _)| s).collect();
    let queues = store.receiver_queues()?;
    for queue in &queues {
        if queue.dead == 0 || dead.contains(&queue.receiver) {
            continue;
        }
        let Some(message) = store.newest_dead(&queue.receiver)? else { continue };
        let Some(run) = store.run(&message.run_id)? else { continue };
        // Not to the receiver that fails: its alert would die the same way.
        let receivers: Vec<String> = meta.to.iter().filter(|r| **r != queue.receiver).cloned().collect();
        if receivers.is_empty() {
            tracing::error!(
                receiver = %queue.receiver,
                "messages were given up on, and meta.to has no other receiver to tell"
            );
        }
        let report = MetaReport {
            title: format!("huntbook: messages to {} were given up on", queue.receiver),
            description: format!(
                "{} message(s) to {} failed for good or for too long, and are no longer tried. huntbook outbox list \
                 --dead lists them; huntbook outbox retry --all-dead sends them again once the cause is fixed.",
                queue.dead, queue.receiver
            ),
            fields: vec![
                ("Receiver", Value::string(queue.receiver.as_str())),
                ("Dead", Value::Long(i64::try_from(queue.dead).unwrap_or(i64::MAX))),
                ("Playbook", Value::string(message.playbook.as_str())),
                ("Message", Value::string(message.id.as_str())),
                ("LastError", Value::string(message.error.as_str())),
            ],
            run: &run,
            receivers: &receivers,
        };
        open(store, EpisodeKind::Dead, &queue.receiver, Some(report))?;
    }
    // The episode ends when the receiver's queue is clean: its dead messages dropped, or retried and delivered.
    // (Retried messages are pending, not dead: ended then, a retry that fails again would be a second report.)
    for receiver in dead {
        if !queues.iter().any(|q| q.receiver == receiver && (q.dead > 0 || q.pending > 0)) {
            store.close_episode(EpisodeKind::Dead, &receiver)?;
        }
    }
    Ok(alerted)
}

/// "3h 20m", "2d 4h": a span as people say it.
fn span(time: TimeDelta) -> String {
    let minutes = time.num_minutes().max(0);
    match (minutes / (24 * 60), (minutes / 60) % 24, minutes % 60) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// The source of the services meta reports are rendered with: they run no query.
pub struct NoQueries;

impl crate::source::Source for NoQueries {
    fn run_query(
        &self,
        _: &crate::source::QueryRequest,
    ) -> Result<crate::source::QueryResponse, crate::source::SourceError> {
        Err(crate::source::SourceError::Failed(crate::kql::error::KqlError::unsupported(
            crate::kql::span::Span { start: 0, end: 0 },
            "meta reports run no query",
        )))
    }
}
