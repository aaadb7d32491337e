//! Hits that send nothing on purpose: silences (`huntbook silence add`, made at run time, each with a condition
//! over one playbook's hits and an expiry) and suppression (`notify[].suppress`: after a message to a receiver,
//! the same `by` values send nothing more to it for a while). Either way the hit is marked seen like any other,
//! and each one kept quiet is recorded with the run (`quiet_hits`) and counted in its record — never dropped
//! without a trace.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Row, Transaction, params};

use super::{ReadError, Store, StoreError, optional_time_column, sql_error, time_column};

/// A silence: while it lasts, a hit of `playbook` for which `condition` holds sends nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    /// Short and unique: `s-` and 8 hexadecimal digits.
    pub id: String,
    pub playbook: String,
    /// A KQL condition over the playbook's hit columns (checked when the silence is added, and at each run).
    pub condition: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub reason: String,
    pub author: String,
    /// When `silence remove` ended it.
    pub removed: Option<DateTime<Utc>>,
}

impl Silence {
    /// Whether it silences hits of a run that starts at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.removed.is_none() && self.expires > now
    }
}

/// Why a hit sent nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quieted {
    /// A silence (its id) holds for the hit: no receiver hears of it.
    Silenced(String),
    /// The receiver had a message with the same `suppress.by` values within `suppress.for`.
    Suppressed { receiver: String },
}

/// A hit a run kept quiet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuietHit {
    pub hit_key: String,
    pub why: Quieted,
}

/// A message sent to `receiver` for hits with these `suppress.by` values: nothing more for them until `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub receiver: String,
    /// The `by` columns' names and values, as JSON.
    pub by_key: String,
    pub until: DateTime<Utc>,
}

const SILENCE_COLUMNS: &str = "id, playbook, condition, created, expires, reason, author, removed";

fn read_silence(row: &Row<'_>) -> Result<Silence, ReadError> {
    Ok(Silence {
        id: row.get("id")?,
        playbook: row.get("playbook")?,
        condition: row.get("condition")?,
        created: time_column(row, "silences.created")?,
        expires: time_column(row, "silences.expires")?,
        reason: row.get("reason")?,
        author: row.get("author")?,
        removed: optional_time_column(row, "silences.removed")?,
    })
}

impl Store {
    /// Stores a new silence.
    pub fn add_silence(&mut self, silence: &Silence) -> Result<(), StoreError> {
        let created = self.encode_time("silence creation time", silence.created)?;
        let expires = self.encode_time("silence expiry", silence.expires)?;
        self.connection
            .prepare_cached(&format!(
                "INSERT INTO silences ({SILENCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)"
            ))
            .and_then(|mut statement| {
                statement.execute(params![
                    silence.id,
                    silence.playbook,
                    silence.condition,
                    created,
                    expires,
                    silence.reason,
                    silence.author
                ])
            })
            .map(|_| ())
            .map_err(self.sql("adding a silence"))
    }

    /// Every silence, newest first.
    pub fn silences(&self) -> Result<Vec<Silence>, StoreError> {
        self.query_all(
            "reading the silences",
            &format!("SELECT {SILENCE_COLUMNS} FROM silences ORDER BY created DESC, id"),
            [],
            read_silence,
        )
    }

    /// The silences of `playbook` active at `now`, oldest first (the first that holds for a hit is its reason).
    pub fn active_silences(&self, playbook: &str, now: DateTime<Utc>) -> Result<Vec<Silence>, StoreError> {
        let now = self.encode_time("run start", now)?;
        self.query_all(
            "reading the silences",
            &format!(
                "SELECT {SILENCE_COLUMNS} FROM silences WHERE playbook = ?1 AND expires > ?2 AND removed IS NULL
                 ORDER BY created, id"
            ),
            params![playbook, now],
            read_silence,
        )
    }

    /// Ends a silence at `now`; `Ok(None)` when no silence has that id. A silence already over stays as it was.
    pub fn remove_silence(&mut self, id: &str, now: DateTime<Utc>) -> Result<Option<Silence>, StoreError> {
        let at = self.encode_time("removal time", now)?;
        self.connection
            .prepare_cached("UPDATE silences SET removed = ?2 WHERE id = ?1 AND removed IS NULL AND expires > ?2")
            .and_then(|mut statement| statement.execute(params![id, at]))
            .map_err(self.sql("removing a silence"))?;
        let found = self.query_all(
            "reading the silences",
            &format!("SELECT {SILENCE_COLUMNS} FROM silences WHERE id = ?1"),
            params![id],
            read_silence,
        )?;
        Ok(found.into_iter().next())
    }

    /// How many hits each silence has silenced so far.
    pub fn silenced_counts(&self) -> Result<HashMap<String, u64>, StoreError> {
        let counts = self.query_all(
            "counting silenced hits",
            "SELECT silence, COUNT(*) AS hits FROM quiet_hits WHERE silence IS NOT NULL GROUP BY silence",
            [],
            |row| Ok((row.get::<_, String>("silence")?, super::count_column::<u64>(row, "hits")?)),
        )?;
        Ok(counts.into_iter().collect())
    }

    /// The suppressions of `playbook` still in force at `now`: (receiver, by key) → until.
    pub fn suppressions(
        &self,
        playbook: &str,
        now: DateTime<Utc>,
    ) -> Result<HashMap<(String, String), DateTime<Utc>>, StoreError> {
        let now = self.encode_time("run start", now)?;
        let rows = self.query_all(
            "reading suppressions",
            "SELECT receiver, by_key, until FROM suppressions WHERE playbook = ?1 AND until > ?2",
            params![playbook, now],
            |row| {
                Ok(((row.get::<_, String>("receiver")?, row.get::<_, String>("by_key")?), time_column(row, "until")?))
            },
        )?;
        Ok(rows.into_iter().collect())
    }

    /// The hits a run kept quiet.
    pub fn quiet_hits(&self, run_id: &str) -> Result<Vec<QuietHit>, StoreError> {
        self.query_all(
            "reading quieted hits",
            "SELECT hit_key, receiver, reason, silence FROM quiet_hits WHERE run_id = ?1 ORDER BY rowid",
            params![run_id],
            |row| {
                let why = match (row.get::<_, String>("reason")?.as_str(), row.get::<_, Option<String>>("silence")?) {
                    ("silenced", Some(silence)) => Quieted::Silenced(silence),
                    (_, _) => {
                        Quieted::Suppressed { receiver: row.get::<_, Option<String>>("receiver")?.unwrap_or_default() }
                    }
                };
                Ok(QuietHit { hit_key: row.get("hit_key")?, why })
            },
        )
    }
}

/// Writes a run's quiet hits and suppressions inside its commit's transaction.
pub(super) fn write_quiet(
    transaction: &Transaction<'_>,
    run: &super::RunRecord,
    started: &str,
    quiet: &[QuietHit],
    suppressions: &[(String, String, String)],
    location: &str,
) -> Result<(), StoreError> {
    let failed = |what: &str| {
        let action = format!("committing run {} of {}: {what}", run.id, run.playbook);
        move |source| sql_error(location, action, source)
    };
    let mut insert = transaction
        .prepare_cached(
            "INSERT INTO quiet_hits (run_id, playbook, hit_key, receiver, reason, silence, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(failed("recording quieted hits"))?;
    for hit in quiet {
        let (receiver, reason, silence) = match &hit.why {
            Quieted::Silenced(id) => (None, "silenced", Some(id.as_str())),
            Quieted::Suppressed { receiver } => (Some(receiver.as_str()), "suppressed", None),
        };
        insert
            .execute(params![run.id, run.playbook, hit.hit_key, receiver, reason, silence, started])
            .map_err(failed("recording quieted hits"))?;
    }
    let mut upsert = transaction
        .prepare_cached(
            "INSERT INTO suppressions (playbook, receiver, by_key, sent, until) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (playbook, receiver, by_key) DO UPDATE SET sent = excluded.sent, until = excluded.until",
        )
        .map_err(failed("remembering suppressions"))?;
    for (receiver, by_key, until) in suppressions {
        upsert
            .execute(params![run.playbook, receiver, by_key, started, until])
            .map_err(failed("remembering suppressions"))?;
    }
    // Suppressions over are of no more use.
    transaction
        .prepare_cached("DELETE FROM suppressions WHERE playbook = ?1 AND until <= ?2")
        .and_then(|mut statement| statement.execute(params![run.playbook, started]))
        .map_err(failed("forgetting suppressions"))?;
    Ok(())
}
