//! The state file: one SQLite database that holds what huntbook remembers between runs — the run history,
//! each playbook's watermark, the hit keys already reported, and the outbox of messages to deliver.
//!
//! This module owns every SQL statement of the crate and the schema they run against (versioned migrations
//! in `migrations.rs`). Callers see plain Rust values (`RunRecord`, `NewMessage`, `OutboxEntry`) and
//! [`StoreError`]; no rusqlite type crosses this boundary except as the `source` of an error.
//!
//! The one promise that everything else leans on (DESIGN §1, §7): a run either commits completely — its record,
//! its seen keys, its queued messages and its watermark, in **one** transaction — or leaves the file as it was,
//! even when the process is killed in the middle. Writes therefore take the write lock up front
//! (`BEGIN IMMEDIATE`), the journal is a WAL with `synchronous=FULL`, and a busy timeout lets the daemon and the
//! CLI share one file.
//!
//! It must not: know about HTTP, playbooks, templates or the clock (every instant comes in as an argument),
//! decide retry policy (the delivery loop says when to retry and when to give up), or use SQLite-only features in
//! the data model — a PostgreSQL store with the same tables is planned (DESIGN §10). Times are stored as
//! fixed-width RFC 3339 UTC text (`2026-11-20T12:00:00.000000Z`) so that text order is time order, at microsecond
//! precision: finer parts of an instant are dropped on the way in.

mod archive;
mod meta;
mod migrations;
mod outbox;
mod quiet;
mod runs;
mod status;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use rusqlite::{Connection, ErrorCode, Row};

pub use archive::{ArchiveBatch, ArchiveCatalog, ArchiveSize, ArchivedRow, CachedProfile, StateArchives, row_time};
pub use meta::{DeadMessage, EpisodeKind};
pub use quiet::{QuietHit, Quieted, Silence, Suppression};
pub use status::ReceiverQueue;

/// How long a statement waits for another connection's write lock before giving up. The daemon's commits are
/// short (milliseconds), so a few seconds only runs out when something is badly wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a file path keeps as it is in a SQLite URI: all but `?`, `#`, `%` and what is not printable ASCII.
const URI_PATH: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b'?').add(b'#').add(b'%').add(b' ').add(b'"');

/// The fixed-width form of every stored instant; see the module documentation.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Everything that can go wrong in the store. Every variant names the state file (`location`: its path, or
/// `:memory:`), so that a message read in a log says which file it is about.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed a statement; `action` says what the store was doing.
    #[error("state file {location}: {action}: {source}")]
    Sqlite {
        /// The state file's path, or `:memory:`.
        location: String,
        /// What the store was doing, e.g. "committing run 1b4e…: queueing message 9f1c…".
        action: String,
        /// SQLite's own error.
        #[source]
        source: rusqlite::Error,
    },
    /// Another process kept the file's write lock for longer than the busy timeout.
    #[error(
        "state file {location}: {action}: the file stayed locked by another process for more than {seconds} s \
         ({source})"
    )]
    Locked {
        /// The state file's path.
        location: String,
        /// What the store was doing.
        action: String,
        /// The busy timeout that ran out.
        seconds: u64,
        /// SQLite's own error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file exists but is not a SQLite database (or its header is damaged).
    #[error("state file {location} is not a huntbook state file (not a SQLite database, or a damaged one): {source}")]
    NotADatabase {
        /// The state file's path.
        location: String,
        /// SQLite's own error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is a SQLite database of another application: huntbook will not change it.
    #[error(
        "state file {location} is a SQLite database of another application (its tables: {tables}): huntbook leaves \
         it as it is; point `state:` at a new file"
    )]
    Foreign {
        /// The state file's path.
        location: String,
        /// Some of its tables.
        tables: String,
    },
    /// The file is empty while its write-ahead log is not: it was cut short, and its state is in neither.
    #[error(
        "state file {location} is empty, but its write-ahead log {location}-wal is not: the file was cut short \
         (a bad copy or restore?); restore it, or move both away to start afresh (every hit is then new again)"
    )]
    EmptyWithLog {
        /// The state file's path.
        location: String,
    },
    /// The file was written by a newer huntbook whose schema this binary does not know.
    #[error(
        "state file {location} has schema version {found}, but this huntbook knows versions up to {supported}: \
         use a newer huntbook with this file"
    )]
    NewerSchema {
        /// The state file's path.
        location: String,
        /// The file's `user_version`.
        found: i64,
        /// The newest version this binary can migrate to.
        supported: i64,
    },
    /// The file was opened for reading only, and its schema is older than this binary's (it would be brought
    /// up to date by a command that writes).
    #[error(
        "state file {location} has schema version {found}, older than this huntbook's {current}, and this command \
         only reads it: run one that writes (`huntbook run`, or start the daemon) to bring it up to date"
    )]
    OlderSchema {
        /// The state file's path.
        location: String,
        /// The file's `user_version`.
        found: i64,
        /// This binary's version.
        current: i64,
    },
    /// A stored value cannot be read back (a time that does not parse, an unknown state, a negative count).
    #[error("state file {location}: {detail}")]
    Corrupt {
        /// The state file's path.
        location: String,
        /// Which table and column, and what was found there.
        detail: String,
    },
    /// The row an operation is about does not exist (e.g. an outbox message that was dropped).
    #[error("state file {location}: {what} not found")]
    NotFound {
        /// The state file's path.
        location: String,
        /// What was looked for, e.g. "outbox message 9f1c…".
        what: String,
    },
    /// An outbox message is not in the state the operation needs (e.g. `retry_dead` on a pending message).
    #[error("state file {location}: outbox message {id} is {found}, not {expected}")]
    WrongState {
        /// The state file's path.
        location: String,
        /// The message id.
        id: String,
        /// The state it is in.
        found: OutboxState,
        /// The state(s) the operation accepts, in words.
        expected: &'static str,
    },
    /// The file system would not take a WAL journal (some network file systems), so the daemon and the CLI
    /// could not share the file.
    #[error(
        "state file {location}: the file system refused the WAL journal (journal mode stayed {journal_mode}); \
         put the state file on a local disk"
    )]
    NoWal {
        /// The state file's path.
        location: String,
        /// The journal mode SQLite kept.
        journal_mode: String,
    },
    /// The caller passed something the store will not write (a time outside years 0–9999, a message that
    /// belongs to another run, a count above `i64::MAX`). Nothing was written.
    #[error("state file {location}: {detail}")]
    Invalid {
        /// The state file's path.
        location: String,
        /// What was wrong.
        detail: String,
    },
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// The run committed: its hits, messages and watermark are in the store.
    Succeeded,
    /// The run failed; only its record (with the error) is in the store.
    Failed,
}

impl RunStatus {
    /// The word stored in `runs.status` and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<RunStatus> {
        [RunStatus::Succeeded, RunStatus::Failed].into_iter().find(|status| status.as_str() == text)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One run of a playbook, as `huntbook runs` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// A uuid, unique across all runs.
    pub id: String,
    /// The playbook's id.
    pub playbook: String,
    /// The tenant the query ran against, when the source has tenants.
    pub tenant: Option<String>,
    /// When the run started (also the `first_seen` of the keys it records).
    pub started: DateTime<Utc>,
    /// When the run ended.
    pub finished: DateTime<Utc>,
    /// Start of the queried window (inclusive).
    pub window_start: DateTime<Utc>,
    /// End of the queried window (exclusive).
    pub window_end: DateTime<Utc>,
    /// Rows the query returned.
    pub rows: u64,
    /// Hits not seen before.
    pub new_hits: u64,
    /// Messages queued.
    pub messages: u64,
    /// The result was cut at the source's limit.
    pub truncated: bool,
    /// How the run ended.
    pub status: RunStatus,
    /// Why it failed, or a note on a run that succeeded in part (an enrichment that failed).
    pub error: Option<String>,
    /// Hits written to archives (its own, and what its enrichments archived for others).
    pub archived: u64,
    /// New hits no receiver heard of because a silence held for them.
    pub silenced: u64,
    /// New hits some receiver did not hear of because of `suppress` (they may have gone to others).
    pub suppressed: u64,
    /// The window was given by hand (`--since`/`--until`), not by the schedule.
    pub backfill: bool,
}

/// Which sink a message is for; it decides how the payload is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// MIME bytes, sent by SMTP or Graph sendMail.
    Email,
    /// The webhook JSON for a Teams workflow.
    Teams,
    /// A JSON document for a file receiver.
    File,
}

impl MessageKind {
    /// The word stored in `outbox.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Email => "email",
            MessageKind::Teams => "teams",
            MessageKind::File => "file",
        }
    }

    fn parse(text: &str) -> Option<MessageKind> {
        [MessageKind::Email, MessageKind::Teams, MessageKind::File].into_iter().find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A rendered message to queue: its payload is exactly what the sink sends (MIME bytes for e-mail, the
/// webhook JSON for Teams, a JSON document for a file receiver).
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    /// A uuid chosen by the caller (e-mail Message-IDs are derived from it, so a resend keeps its id).
    pub id: String,
    /// The playbook whose run produced it.
    pub playbook: String,
    /// The run that queued it; must be the run of the [`RunCommit`] that carries it.
    pub run_id: String,
    /// The receiver's name in the configuration.
    pub receiver: String,
    /// Which sink reads the payload.
    pub kind: MessageKind,
    /// The subject, for listings (and the e-mail's own Subject header is inside the payload).
    pub subject: String,
    /// Exactly the bytes the sink sends.
    pub payload: Vec<u8>,
    /// When it was rendered; it is due for delivery from this instant on.
    pub created: DateTime<Utc>,
}

/// Where a message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting for its first or next attempt.
    Pending,
    /// Accepted by the server.
    Sent,
    /// Given up on: a permanent failure, or too old to retry. Kept until retried or dropped.
    Dead,
}

impl OutboxState {
    /// The word stored in `outbox.state` and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Dead => "dead",
        }
    }

    fn parse(text: &str) -> Option<OutboxState> {
        [OutboxState::Pending, OutboxState::Sent, OutboxState::Dead].into_iter().find(|state| state.as_str() == text)
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A message in the outbox with its delivery state.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// The message as it was queued.
    pub message: NewMessage,
    /// Where it is in its delivery.
    pub state: OutboxState,
    /// Delivery attempts made so far: every `mark_sent`, `mark_retry` and `mark_dead` counts one; `retry_dead`
    /// resets it to 0.
    pub attempts: u32,
    /// When a pending message is due next.
    pub next_attempt: DateTime<Utc>,
    /// The error of the latest failed attempt (kept after a later success, for the record).
    pub last_error: Option<String>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// What the server said on success.
    pub answer: Option<String>,
    /// When it was given up on (a dead message).
    pub dead_at: Option<DateTime<Utc>>,
    /// When it entered the queue: created, or re-queued by `outbox retry`. `max_age` counts from here.
    pub queued_at: DateTime<Utc>,
}

/// A receiver's place in the queue (`Store::pending_heads`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingHead {
    pub receiver: String,
    /// Its pending messages.
    pub pending: usize,
    /// When its oldest pending message is due.
    pub next_attempt: DateTime<Utc>,
}

/// A playbook's runs as its schedule sees them (`Store::schedule_history`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScheduleHistory {
    /// When its latest successful run started.
    pub last_success: Option<DateTime<Utc>>,
    /// When its latest failed run started, if that was after the latest success.
    pub last_failure: Option<DateTime<Utc>>,
    /// Failed runs in a row since the latest success.
    pub failures: u32,
    /// The end of the latest window it committed.
    pub watermark: Option<DateTime<Utc>>,
}

/// Everything a successful run changes, applied in one transaction by [`Store::commit_run`].
#[derive(Clone, Copy, Debug)]
pub struct RunCommit<'a> {
    /// The run's record.
    pub run: &'a RunRecord,
    /// Hit keys to remember for this playbook (first_seen = run.started). Keys already remembered keep their
    /// first_seen.
    pub seen_keys: &'a [String],
    /// Messages to queue; each must carry this run's id and playbook.
    pub messages: &'a [NewMessage],
    /// Rows to archive, and archive retention to apply.
    pub archives: &'a [ArchiveBatch],
    /// File profiles to cache.
    pub profiles: &'a [CachedProfile],
    /// Hits kept quiet by a silence or by suppression.
    pub quiet: &'a [QuietHit],
    /// What the run's messages suppress from now on.
    pub suppressions: &'a [Suppression],
    /// Move the playbook's watermark to this instant — never backwards (a rerun of a past window with
    /// `--since/--until` passes its end and the watermark stays where it was if that is later).
    pub watermark: Option<DateTime<Utc>>,
}

/// The state file, open. One `Store` is one SQLite connection: use it from one thread at a time (it is `Send`,
/// so it can move into `spawn_blocking`), and open a second `Store` on the same path for another process or
/// thread — WAL and the busy timeout let them share the file.
pub struct Store {
    connection: Connection,
    /// The path as given, or `:memory:`; only for messages.
    location: String,
    /// The file, for the archive tables' own read-only connections; `None` in memory.
    path: Option<std::path::PathBuf>,
    /// The file existed with nothing in it, and was made a new state file (`Store::adopted_empty_file`).
    adopted_empty: bool,
}

impl fmt::Debug for Store {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Store").field("location", &self.location).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the state file: WAL journal, foreign keys on, a busy timeout of a few
    /// seconds, `synchronous=FULL`, versioned migrations applied in order (PRAGMA user_version), each in its
    /// own transaction. Refuses (clear error) a file whose user_version is newer than this binary knows.
    ///
    /// A file of 0 bytes is made a new state file (SQLite would, silently: say so with `adopted_empty_file`),
    /// unless a write-ahead log beside it holds something — then the file was cut short and is refused. A SQLite
    /// database of another application is refused before anything in it changes.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let location = path.display().to_string();
        let empty = std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file() && metadata.len() == 0);
        if empty {
            let mut log = path.as_os_str().to_owned();
            log.push("-wal");
            if std::fs::metadata(std::path::PathBuf::from(log)).is_ok_and(|metadata| metadata.len() > 0) {
                return Err(StoreError::EmptyWithLog { location });
            }
        }
        let connection =
            Connection::open(path).map_err(|source| sql_error(&location, "opening the file".into(), source))?;
        let mut store = Store { connection, location, path: Some(path.to_path_buf()), adopted_empty: empty };
        store.configure()?;
        store.refuse_foreign()?;
        let journal_mode: String = store
            .connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(store.sql("switching the journal to WAL"))?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            // Without WAL the daemon's reads and the CLI's writes block each other; better to say so now than to
            // fail with "database is locked" later.
            return Err(StoreError::NoWal { location: store.location, journal_mode });
        }
        migrations::migrate(&mut store.connection, &store.location, migrations::MIGRATIONS)?;
        Ok(store)
    }

    /// Opens the state file for reading only (`runs`, `outbox list` and `show`, `silence list`): nothing is
    /// migrated or written, so a file on a read-only mount, or one the user may only read, can be looked at. On
    /// a read-only file system without the WAL's shared-memory file, it is read as it is on disk (SQLite's
    /// `immutable`). A file older than this binary's schema is refused with what to do; a newer one as `open`
    /// refuses it.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let location = path.display().to_string();
        let connection =
            read_only_connection(path).map_err(|source| sql_error(&location, "opening the file".into(), source))?;
        let version = migrations::user_version(&connection)
            .map_err(|source| sql_error(&location, "reading the schema version".into(), source))?;
        let store = Store { connection, location, path: Some(path.to_path_buf()), adopted_empty: false };
        store.refuse_foreign()?;
        let latest = migrations::latest_version(migrations::MIGRATIONS);
        if version > latest {
            return Err(StoreError::NewerSchema { location: store.location, found: version, supported: latest });
        }
        if version < latest {
            return Err(StoreError::OlderSchema { location: store.location, found: version, current: latest });
        }
        Ok(store)
    }

    /// Opens a fresh, empty store that lives in memory (tests, `--dry-run`); it has the same schema as a file.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let location = ":memory:".to_string();
        let connection =
            Connection::open_in_memory().map_err(|source| sql_error(&location, "opening".into(), source))?;
        let mut store = Store { connection, location, path: None, adopted_empty: false };
        store.configure()?;
        migrations::migrate(&mut store.connection, &store.location, migrations::MIGRATIONS)?;
        Ok(store)
    }

    /// Whether the file was empty when opened and became a new state file: every hit is new to it.
    pub fn adopted_empty_file(&self) -> bool {
        self.adopted_empty
    }

    /// Refuses a database that has tables but no huntbook schema version: another application's.
    fn refuse_foreign(&self) -> Result<(), StoreError> {
        const ACTION: &str = "reading the schema";
        let version = migrations::user_version(&self.connection).map_err(self.sql(ACTION))?;
        if version != 0 {
            return Ok(());
        }
        let tables: Vec<String> = self
            .connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 6")
            .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
            .map_err(self.sql(ACTION))?;
        if tables.is_empty() {
            return Ok(());
        }
        let shown = if tables.len() > 5 { format!("{}, …", tables[..5].join(", ")) } else { tables.join(", ") };
        Err(StoreError::Foreign { location: self.location.clone(), tables: shown })
    }

    /// The settings every connection needs, whatever the journal.
    fn configure(&self) -> Result<(), StoreError> {
        // The busy timeout comes first: switching to WAL already needs the lock.
        self.connection.busy_timeout(BUSY_TIMEOUT).map_err(self.sql("setting the busy timeout"))?;
        self.connection.pragma_update(None, "synchronous", "FULL").map_err(self.sql("setting synchronous=FULL"))?;
        self.connection.pragma_update(None, "foreign_keys", "ON").map_err(self.sql("turning foreign keys on"))?;
        Ok(())
    }

    /// Maps a SQLite error to a [`StoreError`] that names this file and `action`.
    fn sql(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| sql_error(&self.location, action.to_string(), source)
    }

    /// Maps a problem met while reading a row to a [`StoreError`].
    fn read_failed(&self, action: &'static str) -> impl FnOnce(ReadError) -> StoreError + '_ {
        move |error| match error {
            ReadError::Sqlite(source) => sql_error(&self.location, action.to_string(), source),
            ReadError::Corrupt(detail) => StoreError::Corrupt { location: self.location.clone(), detail },
        }
    }

    fn invalid(&self, detail: String) -> StoreError {
        StoreError::Invalid { location: self.location.clone(), detail }
    }

    fn not_found(&self, what: String) -> StoreError {
        StoreError::NotFound { location: self.location.clone(), what }
    }

    /// Runs a query and reads every row with `read`.
    fn query_all<T>(
        &self,
        action: &'static str,
        sql: &str,
        parameters: impl rusqlite::Params,
        read: fn(&Row<'_>) -> Result<T, ReadError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.connection.prepare_cached(sql).map_err(self.sql(action))?;
        let mut rows = statement.query(parameters).map_err(self.sql(action))?;
        let mut values = Vec::new();
        while let Some(row) = rows.next().map_err(self.sql(action))? {
            values.push(read(row).map_err(self.read_failed(action))?);
        }
        Ok(values)
    }

    /// The stored form of an instant, or an `Invalid` error naming `what` for years the fixed width cannot hold.
    fn encode_time(&self, what: &str, time: DateTime<Utc>) -> Result<String, StoreError> {
        encode_time(time).ok_or_else(|| self.invalid(format!("{what} {time} is outside the years 0000-9999")))
    }

    /// The stored form of a count.
    fn encode_count(&self, what: &str, count: u64) -> Result<i64, StoreError> {
        i64::try_from(count).map_err(|_| self.invalid(format!("{what} {count} is too large to store")))
    }
}

/// A read-only connection to a state file. On a read-only file system where the WAL's shared-memory file cannot
/// be made, the file is read as it is on disk (SQLite's `immutable`: nothing else can write it there either).
fn read_only_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let uri = |query: &str| {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let encoded = percent_encoding::utf8_percent_encode(&absolute.to_string_lossy(), URI_PATH).to_string();
        format!("file:{encoded}{query}")
    };
    let open = |uri: &str| -> Result<Connection, rusqlite::Error> {
        let connection = Connection::open_with_flags(uri, flags)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // The first read is when SQLite opens the file (and its WAL) for real.
        migrations::user_version(&connection)?;
        Ok(connection)
    };
    match open(&uri("")) {
        Err(error) if error.sqlite_error_code() == Some(ErrorCode::CannotOpen) && path.is_file() => {
            open(&uri("?immutable=1"))
        }
        opened => opened,
    }
}

/// Builds the error for a failed SQLite call, recognising the failures a user can act on.
fn sql_error(location: &str, action: String, source: rusqlite::Error) -> StoreError {
    let location = location.to_string();
    // SQLite's message without the statement it was about: a migration's whole `CREATE TABLE` text says
    // nothing to the user that the action does not.
    let source = match source {
        rusqlite::Error::SqlInputError { error, msg, .. } => rusqlite::Error::SqliteFailure(error, Some(msg)),
        other => other,
    };
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Locked { location, action, seconds: BUSY_TIMEOUT.as_secs(), source }
        }
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { location, source },
        _ => StoreError::Sqlite { location, action, source },
    }
}

/// A problem met while reading a stored row: SQLite's, or a value this module would never have written.
enum ReadError {
    Sqlite(rusqlite::Error),
    Corrupt(String),
}

impl From<rusqlite::Error> for ReadError {
    fn from(error: rusqlite::Error) -> ReadError {
        ReadError::Sqlite(error)
    }
}

/// SQLite's LIMIT takes an i64; any larger limit means "all".
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Formats an instant in the stored fixed-width form; `None` outside years 0–9999.
fn encode_time(time: DateTime<Utc>) -> Option<String> {
    (0..=9999).contains(&time.year()).then(|| time.format(TIME_FORMAT).to_string())
}

/// Reads a stored instant from `column` (named as `table.column` in errors).
fn time_column(row: &Row<'_>, column: &'static str) -> Result<DateTime<Utc>, ReadError> {
    let text: String = row.get(unqualified(column))?;
    decode_time(column, &text)
}

/// Reads a stored instant that may be NULL.
fn optional_time_column(row: &Row<'_>, column: &'static str) -> Result<Option<DateTime<Utc>>, ReadError> {
    let text: Option<String> = row.get(unqualified(column))?;
    text.map(|text| decode_time(column, &text)).transpose()
}

fn decode_time(column: &str, text: &str) -> Result<DateTime<Utc>, ReadError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| ReadError::Corrupt(format!("{column}: {text:?} is not an RFC 3339 time ({error})")))
}

/// Reads a stored non-negative count.
fn count_column<T: TryFrom<i64>>(row: &Row<'_>, column: &'static str) -> Result<T, ReadError> {
    let value: i64 = row.get(unqualified(column))?;
    T::try_from(value).map_err(|_| ReadError::Corrupt(format!("{column}: {value} is not a valid count")))
}

/// Reads a stored enum word with `parse`.
fn code_column<T>(row: &Row<'_>, column: &'static str, parse: fn(&str) -> Option<T>) -> Result<T, ReadError> {
    let text: String = row.get(unqualified(column))?;
    parse(&text).ok_or_else(|| ReadError::Corrupt(format!("{column}: unknown value {text:?}")))
}

/// `outbox.state` → `state`: errors name the table, rows are indexed by the bare column.
fn unqualified(column: &str) -> &str {
    column.rsplit_once('.').map_or(column, |(_, name)| name)
}
