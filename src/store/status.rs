//! What the daemon's status page and `/metrics` read: each playbook's latest run and failing streak, each
//! receiver's queue — one query each, whatever the number of playbooks.

use chrono::{DateTime, Utc};
use rusqlite::Row;

use super::runs::{RUN_COLUMNS, read_run};
use super::{ReadError, RunRecord, Store, StoreError, count_column, optional_time_column, sql_error};

/// A receiver's part of the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverQueue {
    pub receiver: String,
    pub pending: u64,
    pub dead: u64,
    /// When the oldest pending message entered the queue.
    pub oldest_pending: Option<DateTime<Utc>>,
}

impl Store {
    /// The latest run of every playbook that ran, by playbook.
    pub fn latest_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.query_all(
            "reading the latest runs",
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs AS r
                 WHERE r.started = (SELECT MAX(started) FROM runs WHERE playbook = r.playbook)
                 ORDER BY playbook, id"
            ),
            [],
            read_run,
        )
    }

    /// Failed runs in a row of every playbook whose latest run failed: (playbook, count).
    pub fn failing_streaks(&self) -> Result<Vec<(String, u32)>, StoreError> {
        self.query_all(
            "counting failed runs",
            "SELECT playbook, COUNT(*) AS streak FROM runs AS r
             WHERE status = 'failed' AND backfill = 0 AND started > COALESCE(
                 (SELECT MAX(started) FROM runs WHERE playbook = r.playbook AND status = 'succeeded' AND backfill = 0),
                 '')
             GROUP BY playbook ORDER BY playbook",
            [],
            |row: &Row<'_>| Ok((row.get("playbook")?, count_column(row, "runs.streak")?)),
        )
    }

    /// Pending and dead messages of every receiver that has any.
    pub fn receiver_queues(&self) -> Result<Vec<ReceiverQueue>, StoreError> {
        self.query_all(
            "counting the outbox",
            "SELECT receiver,
                    SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
                    SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead,
                    MIN(CASE WHEN state = 'pending' THEN COALESCE(queued_at, created) END) AS oldest
             FROM outbox WHERE state IN ('pending', 'dead') GROUP BY receiver ORDER BY receiver",
            [],
            |row: &Row<'_>| -> Result<ReceiverQueue, ReadError> {
                Ok(ReceiverQueue {
                    receiver: row.get("receiver")?,
                    pending: count_column(row, "outbox.pending")?,
                    dead: count_column(row, "outbox.dead")?,
                    oldest_pending: optional_time_column(row, "outbox.oldest")?,
                })
            },
        )
    }

    /// Whether the file takes writes now: takes the write lock and lets it go (`/readyz`).
    pub fn check_writable(&mut self) -> Result<(), StoreError> {
        let location = self.location.clone();
        let failed = |source| sql_error(&location, "taking the write lock".into(), source);
        let transaction =
            self.connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed)?;
        transaction.rollback().map_err(failed)
    }
}
