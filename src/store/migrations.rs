//! The schema of the state file, as an ordered list of migrations, and the code that brings a file up to date.
//!
//! A file's `PRAGMA user_version` is the number of the last migration applied to it. Migrations are append-only:
//! a released one is never edited, a change is a new migration. Each runs in its own `BEGIN IMMEDIATE`
//! transaction together with its version bump, so a crash or an error leaves the file at the previous version,
//! and two processes opening a new file at once do not both apply it.
//!
//! The tables use only what PostgreSQL has as well (TEXT, INTEGER, BIGINT for counts, BLOB for BYTEA, CHECK,
//! foreign keys, composite primary keys): no `WITHOUT ROWID`, no `AUTOINCREMENT`, no type affinity tricks.
//! Instants are fixed-width RFC 3339 UTC text, booleans are 0/1 under a CHECK.

use rusqlite::{Connection, TransactionBehavior};

use super::{StoreError, sql_error};

/// One step of the schema.
#[derive(Clone, Copy, Debug)]
pub(super) struct Migration {
    /// The `user_version` the file has after this step; the list counts 1, 2, 3, …
    pub(super) version: i64,
    /// What it adds, for error messages.
    pub(super) name: &'static str,
    /// The statements, run as one batch.
    pub(super) sql: &'static str,
}

/// Every migration, in order.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "runs, watermarks, seen keys, outbox", sql: MIGRATION_1 },
    Migration { version: 2, name: "outbox delivery order and re-queueing", sql: MIGRATION_2 },
    Migration { version: 3, name: "episodes of huntbook's reports about itself", sql: MIGRATION_3 },
    Migration { version: 4, name: "archives and the file profile cache", sql: MIGRATION_4 },
    Migration { version: 5, name: "silences, suppression and quieted hits", sql: MIGRATION_5 },
    Migration { version: 6, name: "runs over a window given by hand (backfills)", sql: MIGRATION_6 },
];

/// Runs over a window given by hand (`huntbook run --since … --until …`), told apart from scheduled ones.
const MIGRATION_6: &str = "
ALTER TABLE runs ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0 CHECK (backfill IN (0, 1));
";

/// Silences (`huntbook silence add`), the last message per receiver and `suppress.by` values (`notify[].suppress`),
/// and the hits a run kept quiet (recorded, never silently dropped).
const MIGRATION_5: &str = "
CREATE TABLE silences (
    id        TEXT NOT NULL PRIMARY KEY,
    playbook  TEXT NOT NULL,
    condition TEXT NOT NULL,
    created   TEXT NOT NULL,
    expires   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    author    TEXT NOT NULL,
    removed   TEXT
);
CREATE INDEX silences_by_playbook ON silences (playbook, expires);

CREATE TABLE suppressions (
    playbook TEXT NOT NULL,
    receiver TEXT NOT NULL,
    by_key   TEXT NOT NULL,
    sent     TEXT NOT NULL,
    until    TEXT NOT NULL,
    PRIMARY KEY (playbook, receiver, by_key)
);

CREATE TABLE quiet_hits (
    run_id   TEXT NOT NULL,
    playbook TEXT NOT NULL,
    hit_key  TEXT NOT NULL,
    receiver TEXT,
    reason   TEXT NOT NULL CHECK (reason IN ('suppressed', 'silenced')),
    silence  TEXT,
    at       TEXT NOT NULL
);
CREATE INDEX quiet_hits_by_run ON quiet_hits (run_id);
CREATE INDEX quiet_hits_by_silence ON quiet_hits (silence);

ALTER TABLE runs ADD COLUMN suppressed BIGINT NOT NULL DEFAULT 0 CHECK (suppressed >= 0);
ALTER TABLE runs ADD COLUMN silenced BIGINT NOT NULL DEFAULT 0 CHECK (silenced >= 0);
";

/// Archives (`archive:` in a playbook): hits kept beyond the 30 days of advanced hunting, typed, one JSON array
/// of values per row in the column order of its schema; and the 24-hour cache of file profiles.
const MIGRATION_4: &str = "
CREATE TABLE archive_schemas (
    id      INTEGER NOT NULL PRIMARY KEY,
    archive TEXT    NOT NULL,
    columns TEXT    NOT NULL,
    UNIQUE (archive, columns)
);

CREATE TABLE archive_rows (
    id      INTEGER NOT NULL PRIMARY KEY,
    archive TEXT    NOT NULL,
    hit_key TEXT    NOT NULL,
    at      TEXT    NOT NULL,
    run_id  TEXT    NOT NULL,
    schema  INTEGER NOT NULL REFERENCES archive_schemas (id),
    row     TEXT    NOT NULL,
    UNIQUE (archive, hit_key)
);
-- Retention deletes by age within an archive.
CREATE INDEX archive_rows_by_at ON archive_rows (archive, at);

CREATE TABLE file_profiles (
    hash    TEXT NOT NULL,
    via     TEXT NOT NULL CHECK (via IN ('hunting', 'mde_api')),
    fetched TEXT NOT NULL,
    profile TEXT NOT NULL,
    PRIMARY KEY (hash, via)
);

ALTER TABLE runs ADD COLUMN archived BIGINT NOT NULL DEFAULT 0 CHECK (archived >= 0);
";

/// A meta alert goes out once per episode (a playbook stale, a result cut off, a receiver with dead messages):
/// the episode is a row from the alert until the condition clears.
const MIGRATION_3: &str = "
CREATE TABLE meta_episodes (
    kind    TEXT NOT NULL CHECK (kind IN ('stale', 'truncated', 'dead')),
    subject TEXT NOT NULL,
    opened  TEXT NOT NULL,
    PRIMARY KEY (kind, subject)
);
";

/// Delivery goes receiver by receiver, in order; a dead message put back in the queue starts a new `max_age`.
const MIGRATION_2: &str = "
ALTER TABLE outbox ADD COLUMN queued_at TEXT;
CREATE INDEX outbox_by_receiver ON outbox (receiver, state, created, id);
";

const MIGRATION_1: &str = "
CREATE TABLE runs (
    id           TEXT    NOT NULL PRIMARY KEY,
    playbook     TEXT    NOT NULL,
    tenant       TEXT,
    started      TEXT    NOT NULL,
    finished     TEXT    NOT NULL,
    window_start TEXT    NOT NULL,
    window_end   TEXT    NOT NULL,
    row_count    BIGINT  NOT NULL CHECK (row_count >= 0),
    new_hits     BIGINT  NOT NULL CHECK (new_hits >= 0),
    messages     BIGINT  NOT NULL CHECK (messages >= 0),
    truncated    INTEGER NOT NULL CHECK (truncated IN (0, 1)),
    status       TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed')),
    error        TEXT
);
-- `huntbook runs PLAYBOOK` and failing streaks; the plain `started` index serves `huntbook runs`.
CREATE INDEX runs_by_playbook ON runs (playbook, started);
CREATE INDEX runs_by_started ON runs (started);

CREATE TABLE watermarks (
    playbook  TEXT NOT NULL PRIMARY KEY,
    watermark TEXT NOT NULL
);

CREATE TABLE seen_keys (
    playbook   TEXT NOT NULL,
    hit_key    TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (playbook, hit_key)
);
-- Expiry deletes by age across all playbooks.
CREATE INDEX seen_keys_by_first_seen ON seen_keys (first_seen);

CREATE TABLE outbox (
    id           TEXT    NOT NULL PRIMARY KEY,
    playbook     TEXT    NOT NULL,
    run_id       TEXT    NOT NULL REFERENCES runs (id),
    receiver     TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('email', 'teams', 'file')),
    subject      TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    created      TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    attempts     INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt TEXT    NOT NULL,
    last_error   TEXT,
    sent_at      TEXT,
    answer       TEXT,
    dead_at      TEXT
);
-- The delivery loop: pending messages due by now, oldest first.
CREATE INDEX outbox_due ON outbox (state, next_attempt, created);
-- `huntbook outbox list`: newest first.
CREATE INDEX outbox_by_created ON outbox (created);
-- The foreign key: deleting a run looks up its messages.
CREATE INDEX outbox_by_run ON outbox (run_id);
";

/// The newest schema version this binary knows.
pub(super) fn latest_version(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |migration| migration.version)
}

/// Brings the file up to the last of `migrations`, one transaction per migration; refuses a file that is newer.
pub(super) fn migrate(connection: &mut Connection, location: &str, migrations: &[Migration]) -> Result<(), StoreError> {
    let latest = latest_version(migrations);
    let newer = |found: i64| StoreError::NewerSchema { location: location.to_string(), found, supported: latest };
    // The common case — an up-to-date file — needs no write lock, so opening never waits for a busy daemon.
    let version =
        user_version(connection).map_err(|source| sql_error(location, "reading the schema version".into(), source))?;
    if version > latest {
        return Err(newer(version));
    }
    for migration in migrations.iter().filter(|migration| migration.version > version) {
        let action = || format!("applying schema migration {} ({})", migration.version, migration.name);
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| sql_error(location, action(), source))?;
        // Read again under the write lock: another process may have migrated the file meanwhile.
        let current = user_version(&transaction).map_err(|source| sql_error(location, action(), source))?;
        if current > latest {
            return Err(newer(current));
        }
        if current >= migration.version {
            continue;
        }
        transaction.execute_batch(migration.sql).map_err(|source| sql_error(location, action(), source))?;
        transaction
            .pragma_update(None, "user_version", migration.version)
            .map_err(|source| sql_error(location, action(), source))?;
        transaction.commit().map_err(|source| sql_error(location, action(), source))?;
    }
    Ok(())
}

/// The file's schema version (0 for a new file).
pub(super) fn user_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}
