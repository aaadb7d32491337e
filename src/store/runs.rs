//! Runs and what they leave behind: the run history, watermarks, seen hit keys — and the one transaction that
//! commits a run (which also queues its messages in the outbox).
//!
//! It must not decide windows or dedup policy: the caller says which keys to remember, which watermark to move to
//! and when keys expire; this file only makes those changes durable and all-or-nothing.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::{
    NewMessage, OutboxState, ReadError, RunCommit, RunRecord, RunStatus, ScheduleHistory, Store, StoreError,
    code_column, count_column, decode_time, sql_error, sql_limit, time_column,
};

pub(super) const RUN_COLUMNS: &str = "id, playbook, tenant, started, finished, window_start, window_end, row_count, new_hits, \
                           messages, truncated, status, error, archived, silenced, suppressed, backfill";

impl Store {
    /// The playbook's watermark: the end of the latest window it committed, if it ever did.
    pub fn watermark(&self, playbook: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        const ACTION: &str = "reading the watermark";
        let text: Option<String> = self
            .connection
            .prepare_cached("SELECT watermark FROM watermarks WHERE playbook = ?1")
            .and_then(|mut statement| statement.query_row([playbook], |row| row.get(0)).optional())
            .map_err(self.sql(ACTION))?;
        text.map(|text| decode_time("watermarks.watermark", &text)).transpose().map_err(self.read_failed(ACTION))
    }

    /// Which of `keys` this playbook has seen already (same order, true = seen). One indexed lookup per key in
    /// one read transaction: tens of thousands of keys take milliseconds.
    pub fn seen(&self, playbook: &str, keys: &[String]) -> Result<Vec<bool>, StoreError> {
        const ACTION: &str = "looking up seen keys";
        // One snapshot for all keys, and one lock acquisition instead of one per key.
        let transaction = self.connection.unchecked_transaction().map_err(self.sql(ACTION))?;
        let mut statement = transaction
            .prepare_cached("SELECT 1 FROM seen_keys WHERE playbook = ?1 AND hit_key = ?2")
            .map_err(self.sql(ACTION))?;
        let answers = keys
            .iter()
            .map(|key| statement.exists(params![playbook, key]))
            .collect::<rusqlite::Result<Vec<bool>>>()
            .map_err(self.sql(ACTION))?;
        drop(statement);
        // Nothing was written: ending the read transaction either way is the same.
        transaction.commit().map_err(self.sql(ACTION))?;
        Ok(answers)
    }

    /// The whole commit in one transaction; on any error nothing of it is applied. The run is recorded with the
    /// status it carries; every message must carry the run's id and playbook (checked before anything is written).
    /// Returns the rows archived (keys already in their archive are not written again).
    pub fn commit_run(&mut self, commit: &RunCommit) -> Result<u64, StoreError> {
        let prepared = self.prepare_commit(commit)?;
        let action = || format!("committing run {} of {}", commit.run.id, commit.run.playbook);
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| sql_error(&self.location, action(), source))?;
        let archived = write_commit(&transaction, &prepared, &self.location)?;
        // Everything is written but not committed: a crash here must leave no trace of the run.
        crate::failpoint::hit("in-commit");
        transaction.commit().map_err(|source| sql_error(&self.location, action(), source))?;
        Ok(archived)
    }

    /// Records a failed run (stored as Failed whatever `run.status` says, with its error); changes nothing else.
    pub fn record_failed_run(&mut self, run: &RunRecord) -> Result<(), StoreError> {
        let failed = RunRecord { status: RunStatus::Failed, ..run.clone() };
        let stored = self.prepare_run(&failed)?;
        insert_run(&self.connection, &stored, &self.location)
    }

    /// Runs, newest first (by start), of one playbook or all; at most `limit`.
    pub fn runs(&self, playbook: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        const ACTION: &str = "listing runs";
        let limit = sql_limit(limit);
        match playbook {
            Some(playbook) => self.query_all(
                ACTION,
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE playbook = ?1 ORDER BY started DESC, id DESC LIMIT ?2"),
                params![playbook, limit],
                read_run,
            ),
            None => self.query_all(
                ACTION,
                &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started DESC, id DESC LIMIT ?1"),
                params![limit],
                read_run,
            ),
        }
    }

    /// Consecutive failed runs of a playbook up to now: the failed runs that started after its latest
    /// successful one (all of its runs when none succeeded yet). 0 when the latest run succeeded.
    pub fn failing_streak(&self, playbook: &str) -> Result<u32, StoreError> {
        let count: i64 = self
            .connection
            .prepare_cached(
                "SELECT COUNT(*) FROM runs
                 WHERE playbook = ?1 AND status = 'failed' AND backfill = 0
                   AND started > COALESCE(
                       (SELECT MAX(started) FROM runs WHERE playbook = ?1 AND status = 'succeeded' AND backfill = 0),
                       '')",
            )
            .and_then(|mut statement| statement.query_row([playbook], |row| row.get(0)))
            .map_err(self.sql("counting failed runs"))?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// What the schedule needs of a playbook's history: when its latest successful run started, and the
    /// failed runs since then (the latest one's start, and how many). Backfills (windows given by hand) are not
    /// part of the schedule: they use up no slot and start no failing streak.
    pub fn schedule_history(&self, playbook: &str) -> Result<ScheduleHistory, StoreError> {
        const ACTION: &str = "reading the run history";
        let (succeeded, failed): (Option<String>, Option<String>) = self
            .connection
            .prepare_cached(
                "SELECT (SELECT MAX(started) FROM runs WHERE playbook = ?1 AND status = 'succeeded' AND backfill = 0),
                        (SELECT MAX(started) FROM runs WHERE playbook = ?1 AND status = 'failed' AND backfill = 0)",
            )
            .and_then(|mut statement| statement.query_row([playbook], |row| Ok((row.get(0)?, row.get(1)?))))
            .map_err(self.sql(ACTION))?;
        let decode = |text: Option<String>| {
            text.map(|text| decode_time("runs.started", &text)).transpose().map_err(self.read_failed(ACTION))
        };
        let last_success = decode(succeeded)?;
        let last_failure = decode(failed)?.filter(|failed| last_success.is_none_or(|success| *failed > success));
        let failures = if last_failure.is_some() { self.failing_streak(playbook)? } else { 0 };
        let watermark = self.watermark(playbook)?;
        Ok(ScheduleHistory { last_success, last_failure, failures, watermark })
    }

    /// Forgets seen keys first seen before `before` (DESIGN: keys expire after 35 days). Returns how many.
    pub fn expire_seen_keys(&mut self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let before = self.encode_time("expiry instant", before)?;
        self.connection
            .prepare_cached("DELETE FROM seen_keys WHERE first_seen < ?1")
            .and_then(|mut statement| statement.execute([before]))
            .map_err(self.sql("expiring seen keys"))
    }

    /// Checks a commit and encodes its values, so that nothing invalid reaches the transaction.
    pub(super) fn prepare_commit<'a>(&self, commit: &RunCommit<'a>) -> Result<PreparedCommit<'a>, StoreError> {
        let run = self.prepare_run(commit.run)?;
        let messages = commit
            .messages
            .iter()
            .map(|message| {
                if message.run_id != commit.run.id || message.playbook != commit.run.playbook {
                    return Err(self.invalid(format!(
                        "message {} belongs to run {} of {}, not to the committed run {} of {}",
                        message.id, message.run_id, message.playbook, commit.run.id, commit.run.playbook
                    )));
                }
                let created = self.encode_time("message creation time", message.created)?;
                Ok(PreparedMessage { message, created })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let watermark = commit.watermark.map(|watermark| self.encode_time("watermark", watermark)).transpose()?;
        let archives = self.prepare_batches(commit.archives)?;
        let profiles = commit
            .profiles
            .iter()
            .map(|profile| {
                let fetched = self.encode_time("file profile fetch time", profile.fetched)?;
                let text = serde_json::Value::Object(profile.profile.clone()).to_string();
                Ok((profile, fetched, text))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let suppressions = commit
            .suppressions
            .iter()
            .map(|s| Ok((s.receiver.clone(), s.by_key.clone(), self.encode_time("suppression end", s.until)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(PreparedCommit {
            quiet: commit.quiet,
            suppressions,
            first_seen: run.started.clone(),
            run,
            seen_keys: commit.seen_keys,
            messages,
            watermark,
            archives,
            profiles,
        })
    }

    fn prepare_run<'a>(&self, run: &'a RunRecord) -> Result<PreparedRun<'a>, StoreError> {
        Ok(PreparedRun {
            run,
            started: self.encode_time("run start", run.started)?,
            finished: self.encode_time("run end", run.finished)?,
            window_start: self.encode_time("window start", run.window_start)?,
            window_end: self.encode_time("window end", run.window_end)?,
            rows: self.encode_count("row count", run.rows)?,
            new_hits: self.encode_count("new hit count", run.new_hits)?,
            messages: self.encode_count("message count", run.messages)?,
        })
    }
}

/// A run record with its values in stored form.
pub(super) struct PreparedRun<'a> {
    run: &'a RunRecord,
    started: String,
    finished: String,
    window_start: String,
    window_end: String,
    rows: i64,
    new_hits: i64,
    messages: i64,
}

struct PreparedMessage<'a> {
    message: &'a NewMessage,
    created: String,
}

/// A [`RunCommit`] checked and in stored form: writing it can only fail in SQLite.
pub(super) struct PreparedCommit<'a> {
    run: PreparedRun<'a>,
    first_seen: String,
    seen_keys: &'a [String],
    messages: Vec<PreparedMessage<'a>>,
    watermark: Option<String>,
    archives: Vec<super::archive::PreparedBatch<'a>>,
    profiles: Vec<(&'a super::CachedProfile, String, String)>,
    quiet: &'a [super::QuietHit],
    suppressions: Vec<(String, String, String)>,
}

/// Every write of a commit, inside the caller's transaction; returns the rows archived. Split from
/// [`Store::commit_run`] so that the crash test can stop a process between these writes and the COMMIT.
pub(super) fn write_commit(
    transaction: &Transaction<'_>,
    commit: &PreparedCommit<'_>,
    location: &str,
) -> Result<u64, StoreError> {
    let run = commit.run.run;
    let failed = |what: String| {
        let action = format!("committing run {} of {}: {what}", run.id, run.playbook);
        move |source| sql_error(location, action, source)
    };
    insert_run(transaction, &commit.run, location)?;

    let mut insert_key = transaction
        .prepare_cached(
            "INSERT INTO seen_keys (playbook, hit_key, first_seen) VALUES (?1, ?2, ?3)
             ON CONFLICT (playbook, hit_key) DO NOTHING",
        )
        .map_err(failed("remembering seen keys".into()))?;
    for key in commit.seen_keys {
        insert_key
            .execute(params![run.playbook, key, commit.first_seen])
            .map_err(failed("remembering seen keys".into()))?;
    }

    if let Some(watermark) = &commit.watermark {
        // Text order is time order (fixed width), so the WHERE keeps the watermark from moving backwards.
        transaction
            .prepare_cached(
                "INSERT INTO watermarks (playbook, watermark) VALUES (?1, ?2)
                 ON CONFLICT (playbook) DO UPDATE SET watermark = excluded.watermark
                 WHERE excluded.watermark > watermarks.watermark",
            )
            .and_then(|mut statement| statement.execute(params![run.playbook, watermark]))
            .map_err(failed("moving the watermark".into()))?;
    }

    for PreparedMessage { message, created } in &commit.messages {
        insert_message(transaction, message, created).map_err(failed(format!("queueing message {}", message.id)))?;
    }

    super::quiet::write_quiet(transaction, run, &commit.first_seen, commit.quiet, &commit.suppressions, location)?;

    let archived = super::archive::write_archives(transaction, &commit.archives, &commit.profiles, &run.id, location)?;
    if archived > 0 {
        transaction
            .prepare_cached("UPDATE runs SET archived = ?1 WHERE id = ?2")
            .and_then(|mut statement| statement.execute(params![i64::try_from(archived).unwrap_or(i64::MAX), run.id]))
            .map_err(failed("counting archived rows".into()))?;
    }
    Ok(archived)
}

/// Queues one message (pending, due at once) inside the caller's transaction.
pub(super) fn insert_message(
    transaction: &Transaction<'_>,
    message: &NewMessage,
    created: &str,
) -> rusqlite::Result<usize> {
    transaction
        .prepare_cached(
            "INSERT INTO outbox (id, playbook, run_id, receiver, kind, subject, payload, created, state, attempts,
                                 next_attempt)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?8)",
        )?
        .execute(params![
            message.id,
            message.playbook,
            message.run_id,
            message.receiver,
            message.kind.as_str(),
            message.subject,
            message.payload,
            created,
            OutboxState::Pending.as_str(),
        ])
}

fn insert_run(connection: &rusqlite::Connection, stored: &PreparedRun<'_>, location: &str) -> Result<(), StoreError> {
    let run = stored.run;
    connection
        .prepare_cached(&format!(
            "INSERT INTO runs ({RUN_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        ))
        .and_then(|mut statement| {
            statement.execute(params![
                run.id,
                run.playbook,
                run.tenant,
                stored.started,
                stored.finished,
                stored.window_start,
                stored.window_end,
                stored.rows,
                stored.new_hits,
                stored.messages,
                run.truncated,
                run.status.as_str(),
                run.error,
                i64::try_from(run.archived).unwrap_or(i64::MAX),
                i64::try_from(run.silenced).unwrap_or(i64::MAX),
                i64::try_from(run.suppressed).unwrap_or(i64::MAX),
                run.backfill,
            ])
        })
        .map(|_| ())
        .map_err(|source| sql_error(location, format!("recording run {} of {}", run.id, run.playbook), source))
}

pub(super) fn read_run(row: &Row<'_>) -> Result<RunRecord, ReadError> {
    Ok(RunRecord {
        id: row.get("id")?,
        playbook: row.get("playbook")?,
        tenant: row.get("tenant")?,
        started: time_column(row, "runs.started")?,
        finished: time_column(row, "runs.finished")?,
        window_start: time_column(row, "runs.window_start")?,
        window_end: time_column(row, "runs.window_end")?,
        rows: count_column(row, "runs.row_count")?,
        new_hits: count_column(row, "runs.new_hits")?,
        messages: count_column(row, "runs.messages")?,
        truncated: row.get("truncated")?,
        status: code_column(row, "runs.status", RunStatus::parse)?,
        error: row.get("error")?,
        archived: count_column(row, "runs.archived")?,
        silenced: count_column(row, "runs.silenced")?,
        suppressed: count_column(row, "runs.suppressed")?,
        backfill: row.get("backfill")?,
    })
}
