//! The outbox: messages queued by committed runs, and their delivery state machine.
//!
//! ```text
//!             mark_retry (attempts + 1, next attempt later)
//!               ┌────┐
//!               ▼    │
//! commit_run ─► pending ──mark_sent──► sent
//!               │  ▲
//!     mark_dead │  │ retry_dead (attempts reset, due now)
//!               ▼  │
//!               dead ──mark_sent──► sent   (a send that was already under way when the message died)
//!
//! drop_message deletes a message in any state.
//! ```
//!
//! Each transition is one UPDATE whose WHERE names the states it leaves from, so a message that another process
//! moved meanwhile is reported (`WrongState`, `NotFound`), never silently overwritten. It must not decide when to
//! retry or when to give up: the delivery loop passes those decisions in.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{
    MessageKind, NewMessage, OutboxEntry, OutboxState, PendingHead, ReadError, Store, StoreError, code_column,
    count_column, optional_time_column, sql_error, sql_limit, time_column,
};

const OUTBOX_COLUMNS: &str = "id, playbook, run_id, receiver, kind, subject, payload, created, state, attempts, \
                              next_attempt, last_error, sent_at, answer, dead_at, \
                              COALESCE(queued_at, created) AS queued_at";

impl Store {
    /// Pending messages whose next attempt is due at `now`, oldest first (by created, then id), at most `limit`.
    pub fn due_messages(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let now = self.encode_time("current time", now)?;
        self.query_all(
            "listing due messages",
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt <= ?1
                 ORDER BY created, id LIMIT ?2"
            ),
            params![now, sql_limit(limit)],
            read_entry,
        )
    }

    /// The pending messages of one receiver in delivery order (created, then id), after the `(created, id)`
    /// cursor when given, at most `limit`, due or not: the delivery loop stops at the first that is not due,
    /// because the ones behind it wait their turn.
    pub fn pending_for(
        &self,
        receiver: &str,
        after: Option<(DateTime<Utc>, &str)>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let (created, id) = match after {
            Some((created, id)) => (self.encode_time("cursor", created)?, id.to_string()),
            None => (String::new(), String::new()),
        };
        self.query_all(
            "listing a receiver's queue",
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE receiver = ?1 AND state = 'pending'
                 AND (created > ?2 OR (created = ?2 AND id > ?3)) ORDER BY created, id LIMIT ?4"
            ),
            params![receiver, created, id, sql_limit(limit)],
            read_entry,
        )
    }

    /// For each receiver with pending messages: how many, and when its oldest is due (the others wait behind
    /// it). By receiver name.
    pub fn pending_heads(&self) -> Result<Vec<PendingHead>, StoreError> {
        self.query_all(
            "listing the receivers with queued messages",
            "SELECT receiver, COUNT(*) AS pending,
                    (SELECT next_attempt FROM outbox AS head WHERE head.receiver = outbox.receiver
                     AND head.state = 'pending' ORDER BY created, id LIMIT 1) AS next_attempt
             FROM outbox WHERE state = 'pending' GROUP BY receiver ORDER BY receiver",
            [],
            |row| {
                Ok(PendingHead {
                    receiver: row.get("receiver")?,
                    pending: count_column(row, "outbox.pending")?,
                    next_attempt: time_column(row, "outbox.next_attempt")?,
                })
            },
        )
    }

    /// Records that the server accepted the message at `at` with `answer`: state Sent, attempts + 1. Accepted
    /// from pending and from dead (the truth is that it was delivered); an error for a message already sent.
    pub fn mark_sent(&mut self, id: &str, at: DateTime<Utc>, answer: &str) -> Result<(), StoreError> {
        let at = self.encode_time("sending time", at)?;
        let changed = self
            .connection
            .prepare_cached(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?2, answer = ?3
                 WHERE id = ?1 AND state IN ('pending', 'dead')",
            )
            .and_then(|mut statement| statement.execute(params![id, at, answer]))
            .map_err(|source| sql_error(&self.location, format!("marking message {id} sent"), source))?;
        self.check_transition(id, changed, "pending or dead")
    }

    /// A transient failure: attempts + 1, the error kept, next attempt at `next_attempt`. Only for a pending
    /// message.
    pub fn mark_retry(&mut self, id: &str, error: &str, next_attempt: DateTime<Utc>) -> Result<(), StoreError> {
        let next_attempt = self.encode_time("next attempt", next_attempt)?;
        let changed = self
            .connection
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt = ?3
                 WHERE id = ?1 AND state = 'pending'",
            )
            .and_then(|mut statement| statement.execute(params![id, error, next_attempt]))
            .map_err(|source| sql_error(&self.location, format!("scheduling a retry of message {id}"), source))?;
        self.check_transition(id, changed, "pending")
    }

    /// A permanent failure (or too old to retry): state Dead, attempts + 1, the error kept, `at` recorded as the
    /// time it died. Only for a pending message.
    pub fn mark_dead(&mut self, id: &str, error: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let at = self.encode_time("time of death", at)?;
        let changed = self
            .connection
            .prepare_cached(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?2, dead_at = ?3
                 WHERE id = ?1 AND state = 'pending'",
            )
            .and_then(|mut statement| statement.execute(params![id, error, at]))
            .map_err(|source| sql_error(&self.location, format!("marking message {id} dead"), source))?;
        self.check_transition(id, changed, "pending")
    }

    /// Listing for `huntbook outbox list [--dead]`: entries in a state (or all), newest first (by created, then
    /// id), at most `limit`.
    pub fn outbox(&self, state: Option<OutboxState>, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        const ACTION: &str = "listing the outbox";
        match state {
            Some(state) => self.query_all(
                ACTION,
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = ?1 ORDER BY created DESC, id DESC LIMIT ?2"
                ),
                params![state.as_str(), sql_limit(limit)],
                read_entry,
            ),
            None => self.query_all(
                ACTION,
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY created DESC, id DESC LIMIT ?1"),
                params![sql_limit(limit)],
                read_entry,
            ),
        }
    }

    /// One outbox message with its state, or `None` if there is no message with this id.
    pub fn outbox_entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let mut entries = self.query_all(
            "reading an outbox message",
            &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"),
            params![id],
            read_entry,
        )?;
        Ok(entries.pop())
    }

    /// The ids that start with `prefix` (at most `limit`), for commands that accept a short id.
    pub fn outbox_ids_starting(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.query_all(
            "looking up a message id",
            "SELECT id FROM outbox WHERE id LIKE ?1 || '%' ESCAPE '\\' ORDER BY id LIMIT ?2",
            params![like_escaped(prefix), sql_limit(limit)],
            |row| Ok(row.get("id")?),
        )
    }

    /// Up to `limit` ids that end with `suffix` (the short ids `outbox list` shows are the ends of ids).
    pub fn outbox_ids_ending(&self, suffix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.query_all(
            "looking up a message id",
            "SELECT id FROM outbox WHERE id LIKE '%' || ?1 ESCAPE '\\' ORDER BY id LIMIT ?2",
            params![like_escaped(suffix), sql_limit(limit)],
            |row| Ok(row.get("id")?),
        )
    }

    /// Puts a dead message back to pending (attempts reset, due now). Error if it is not dead.
    pub fn retry_dead(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let now = self.encode_time("current time", now)?;
        let changed = self
            .connection
            .prepare_cached(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ?2, dead_at = NULL, queued_at = ?2
                 WHERE id = ?1 AND state = 'dead'",
            )
            .and_then(|mut statement| statement.execute(params![id, now]))
            .map_err(|source| sql_error(&self.location, format!("re-queueing message {id}"), source))?;
        self.check_transition(id, changed, "dead")
    }

    /// Deletes a message from the outbox, whatever its state. Error if there is no such message.
    pub fn drop_message(&mut self, id: &str) -> Result<(), StoreError> {
        let changed = self
            .connection
            .prepare_cached("DELETE FROM outbox WHERE id = ?1")
            .and_then(|mut statement| statement.execute([id]))
            .map_err(|source| sql_error(&self.location, format!("dropping message {id}"), source))?;
        if changed == 0 {
            return Err(self.not_found(format!("outbox message {id}")));
        }
        Ok(())
    }

    /// Turns an UPDATE that changed nothing into the reason: no such message, or not in an `expected` state.
    fn check_transition(&self, id: &str, changed: usize, expected: &'static str) -> Result<(), StoreError> {
        if changed > 0 {
            return Ok(());
        }
        let state: Option<String> = self
            .connection
            .prepare_cached("SELECT state FROM outbox WHERE id = ?1")
            .and_then(|mut statement| statement.query_row([id], |row| row.get(0)).optional())
            .map_err(self.sql("reading a message's state"))?;
        match state {
            None => Err(self.not_found(format!("outbox message {id}"))),
            Some(text) => match OutboxState::parse(&text) {
                Some(found) => {
                    Err(StoreError::WrongState { location: self.location.clone(), id: id.to_string(), found, expected })
                }
                None => Err(StoreError::Corrupt {
                    location: self.location.clone(),
                    detail: format!("outbox.state: unknown value {text:?}"),
                }),
            },
        }
    }
}

fn read_entry(row: &Row<'_>) -> Result<OutboxEntry, ReadError> {
    Ok(OutboxEntry {
        message: NewMessage {
            id: row.get("id")?,
            playbook: row.get("playbook")?,
            run_id: row.get("run_id")?,
            receiver: row.get("receiver")?,
            kind: code_column(row, "outbox.kind", MessageKind::parse)?,
            subject: row.get("subject")?,
            payload: row.get("payload")?,
            created: time_column(row, "outbox.created")?,
        },
        state: code_column(row, "outbox.state", OutboxState::parse)?,
        attempts: count_column(row, "outbox.attempts")?,
        next_attempt: time_column(row, "outbox.next_attempt")?,
        last_error: row.get("last_error")?,
        sent_at: optional_time_column(row, "outbox.sent_at")?,
        answer: row.get("answer")?,
        dead_at: optional_time_column(row, "outbox.dead_at")?,
        queued_at: time_column(row, "outbox.queued_at")?,
    })
}

/// `text` for a `LIKE … ESCAPE` pattern: its `%`, `_` and backslashes taken literally.
fn like_escaped(text: &str) -> String {
    text.chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect()
}
