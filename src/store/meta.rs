//! Episodes of huntbook's reports about itself (`meta:`): one alert when a condition starts, none while it
//! lasts, a new one only after it cleared. Opening an episode queues its alert in the same transaction, so
//! that a crash never leaves an episode without its message or a message twice.

use chrono::{DateTime, Utc};
use rusqlite::{Row, TransactionBehavior, params};

use super::{NewMessage, ReadError, Store, StoreError, sql_error, time_column};

/// What an episode is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EpisodeKind {
    /// A playbook without a successful run for `meta.stale_after`.
    Stale,
    /// A playbook whose latest result was cut off at the source's cap.
    Truncated,
    /// A receiver with messages given up on.
    Dead,
}

impl EpisodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EpisodeKind::Stale => "stale",
            EpisodeKind::Truncated => "truncated",
            EpisodeKind::Dead => "dead",
        }
    }
}

/// The newest dead message of a receiver (what its alert names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadMessage {
    pub id: String,
    pub run_id: String,
    pub playbook: String,
    pub error: String,
}

impl Store {
    /// The subjects with an open episode of `kind`.
    pub fn open_episodes(&self, kind: EpisodeKind) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        self.query_all(
            "reading meta episodes",
            "SELECT subject, opened FROM meta_episodes WHERE kind = ?1 ORDER BY subject",
            params![kind.as_str()],
            |row: &Row<'_>| -> Result<(String, DateTime<Utc>), ReadError> {
                Ok((row.get("subject")?, time_column(row, "meta_episodes.opened")?))
            },
        )
    }

    /// Opens an episode and queues its alerts, in one transaction; false (and nothing queued) when it is open
    /// already. Each message must belong to an existing run (the one the alert is about).
    pub fn open_episode(
        &mut self,
        kind: EpisodeKind,
        subject: &str,
        at: DateTime<Utc>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let opened = self.encode_time("episode start", at)?;
        let created: Vec<String> = messages
            .iter()
            .map(|message| self.encode_time("message creation time", message.created))
            .collect::<Result<_, _>>()?;
        let location = self.location.clone();
        let failed = |source| sql_error(&location, format!("opening a {} episode of {subject}", kind.as_str()), source);
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
        let inserted = transaction
            .execute(
                "INSERT INTO meta_episodes (kind, subject, opened) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![kind.as_str(), subject, opened],
            )
            .map_err(failed)?;
        if inserted == 0 {
            return Ok(false);
        }
        for (message, created) in messages.iter().zip(&created) {
            super::runs::insert_message(&transaction, message, created).map_err(failed)?;
        }
        transaction.commit().map_err(failed)?;
        Ok(true)
    }

    /// Ends an episode (its condition cleared); the next one alerts again.
    pub fn close_episode(&mut self, kind: EpisodeKind, subject: &str) -> Result<(), StoreError> {
        self.connection
            .execute("DELETE FROM meta_episodes WHERE kind = ?1 AND subject = ?2", params![kind.as_str(), subject])
            .map(|_| ())
            .map_err(self.sql("closing a meta episode"))
    }

    /// When each playbook's latest successful run started.
    pub fn last_successes(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        self.query_all(
            "reading the latest successful runs",
            "SELECT playbook, MAX(started) AS started FROM runs WHERE status = 'succeeded' GROUP BY playbook",
            [],
            |row: &Row<'_>| -> Result<(String, DateTime<Utc>), ReadError> {
                Ok((row.get("playbook")?, time_column(row, "runs.started")?))
            },
        )
    }

    /// One run, by id.
    pub fn run(&self, id: &str) -> Result<Option<super::RunRecord>, StoreError> {
        let found = self.query_all(
            "reading a run",
            &format!("SELECT {} FROM runs WHERE id = ?1", super::runs::RUN_COLUMNS),
            params![id],
            super::runs::read_run,
        )?;
        Ok(found.into_iter().next())
    }

    /// The newest dead message of a receiver.
    pub fn newest_dead(&self, receiver: &str) -> Result<Option<DeadMessage>, StoreError> {
        let found = self.query_all(
            "reading dead messages",
            "SELECT id, run_id, playbook, COALESCE(last_error, '') AS error FROM outbox
             WHERE receiver = ?1 AND state = 'dead' ORDER BY dead_at DESC, id DESC LIMIT 1",
            params![receiver],
            |row: &Row<'_>| -> Result<DeadMessage, ReadError> {
                Ok(DeadMessage {
                    id: row.get("id")?,
                    run_id: row.get("run_id")?,
                    playbook: row.get("playbook")?,
                    error: row.get("error")?,
                })
            },
        )?;
        Ok(found.into_iter().next())
    }
}
