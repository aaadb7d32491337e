//! Tests of the state file as the daemon and the CLI use it: real files in temporary directories (and memory),
//! two connections on one file, and child processes killed in the middle of a commit.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::TransactionBehavior;

use super::migrations::{self, MIGRATIONS, Migration};
use super::runs::write_commit;
use super::*;

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

/// 2026-11-20T12:00:00Z plus `minutes`.
fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z").expect("valid time").with_timezone(&Utc)
        + TimeDelta::minutes(minutes)
}

fn run(id: &str, playbook: &str, started: i64) -> RunRecord {
    RunRecord {
        archived: 0,
        silenced: 0,
        suppressed: 0,
        backfill: false,
        id: id.to_string(),
        playbook: playbook.to_string(),
        tenant: Some("contoso".to_string()),
        started: at(started),
        finished: at(started) + TimeDelta::seconds(3),
        window_start: at(started - 20),
        window_end: at(started - 5),
        rows: 7,
        new_hits: 2,
        messages: 1,
        truncated: false,
        status: RunStatus::Succeeded,
        error: None,
    }
}

fn failed_run(id: &str, playbook: &str, started: i64) -> RunRecord {
    RunRecord { status: RunStatus::Failed, error: Some("Graph answered 403".to_string()), ..run(id, playbook, started) }
}

fn message(id: &str, run: &RunRecord, created: i64) -> NewMessage {
    NewMessage {
        id: id.to_string(),
        playbook: run.playbook.clone(),
        run_id: run.id.clone(),
        receiver: "soc-mail".to_string(),
        kind: MessageKind::Email,
        subject: format!("Offboarding package downloaded ({id})"),
        payload: format!("Subject: {id}\r\n\r\nbody\r\n").into_bytes(),
        created: at(created),
    }
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// Commits `run` with its keys and messages and a watermark at its window end.
fn commit(store: &mut Store, run: &RunRecord, seen_keys: &[String], messages: &[NewMessage]) {
    store
        .commit_run(&RunCommit {
            quiet: &[],
            suppressions: &[],
            archives: &[],
            profiles: &[],
            run,
            seen_keys,
            messages,
            watermark: Some(run.window_end),
        })
        .expect("commit succeeds");
}

fn state_file(directory: &tempfile::TempDir) -> PathBuf {
    directory.path().join("huntbook.db")
}

fn message_ids(entries: &[OutboxEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.message.id.as_str()).collect()
}

fn integrity(store: &Store) -> String {
    store.connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("integrity check runs")
}

fn query_plan(store: &Store, sql: &str) -> String {
    let mut statement = store.connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plan prepares");
    let details = statement
        .query_map([], |row| row.get::<_, String>("detail"))
        .expect("plan runs")
        .collect::<Result<Vec<_>, _>>()
        .expect("plan rows");
    details.join("; ")
}

// ---------------------------------------------------------------------------------------------------------------
// Opening and migrations

#[test]
fn a_new_file_is_created_with_the_whole_schema_and_wal() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    let store = Store::open(&path).expect("open creates the file");
    assert!(path.exists());

    let version = migrations::user_version(&store.connection).expect("version");
    assert_eq!(version, migrations::latest_version(MIGRATIONS));
    let mut tables: Vec<String> = store
        .connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
        .expect("tables");
    tables.sort();
    assert_eq!(
        tables,
        [
            "archive_rows",
            "archive_schemas",
            "file_profiles",
            "meta_episodes",
            "outbox",
            "quiet_hits",
            "runs",
            "seen_keys",
            "silences",
            "suppressions",
            "watermarks"
        ]
    );

    let pragma = |name: &str| -> String {
        store
            .connection
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, rusqlite::types::Value>(0))
            .map(|value| match value {
                rusqlite::types::Value::Integer(number) => number.to_string(),
                rusqlite::types::Value::Text(text) => text,
                other => format!("{other:?}"),
            })
            .expect("pragma")
    };
    assert_eq!(pragma("journal_mode"), "wal");
    assert_eq!(pragma("foreign_keys"), "1");
    assert_eq!(pragma("synchronous"), "2", "synchronous=FULL");
    assert_eq!(pragma("busy_timeout"), "5000");
}

#[test]
fn an_empty_file_is_migrated() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    std::fs::File::create(&path).expect("empty file");
    let mut store = Store::open(&path).expect("an empty file is a new database");
    let first = run("run-1", "offboarding", 0);
    commit(&mut store, &first, &keys(&["a"]), &[]);
    assert_eq!(store.runs(None, 10).expect("runs"), [first]);
}

#[test]
fn reopening_a_file_keeps_everything_and_migrates_nothing() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    let first = run("run-1", "offboarding", 0);
    let queued = message("message-1", &first, 0);
    {
        let mut store = Store::open(&path).expect("open");
        commit(&mut store, &first, &keys(&["a", "b"]), std::slice::from_ref(&queued));
    }
    let store = Store::open(&path).expect("reopen");
    assert_eq!(migrations::user_version(&store.connection).expect("version"), migrations::latest_version(MIGRATIONS));
    assert_eq!(store.runs(None, 10).expect("runs"), std::slice::from_ref(&first));
    assert_eq!(store.watermark("offboarding").expect("watermark"), Some(first.window_end));
    assert_eq!(store.seen("offboarding", &keys(&["a", "b", "c"])).expect("seen"), [true, true, false]);
    let entry = store.outbox_entry("message-1").expect("entry").expect("queued message kept");
    assert_eq!(entry.message, queued);
    assert_eq!(entry.state, OutboxState::Pending);
}

#[test]
fn a_file_with_a_newer_schema_is_refused_and_left_alone() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    let latest = migrations::latest_version(MIGRATIONS);
    drop(Store::open(&path).expect("open"));
    {
        let connection = rusqlite::Connection::open(&path).expect("raw open");
        connection.pragma_update(None, "user_version", latest + 1).expect("bump version");
    }

    let error = Store::open(&path).expect_err("a newer schema is refused");
    match &error {
        StoreError::NewerSchema { found, supported, location } => {
            assert_eq!((*found, *supported), (latest + 1, latest));
            assert_eq!(location, &path.display().to_string());
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()) && text.contains("newer huntbook"), "{text}");

    let connection = rusqlite::Connection::open(&path).expect("raw open");
    assert_eq!(migrations::user_version(&connection).expect("version"), latest + 1);
}

#[test]
fn migrations_count_up_from_one_without_gaps() {
    let versions: Vec<i64> = MIGRATIONS.iter().map(|migration| migration.version).collect();
    let expected: Vec<i64> = (1..=migrations::latest_version(MIGRATIONS)).collect();
    assert_eq!(versions, expected);
}

#[test]
fn a_failed_migration_leaves_the_file_at_the_previous_version() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    {
        let mut connection = rusqlite::Connection::open(&path).expect("raw open");
        migrations::migrate(&mut connection, "test", &MIGRATIONS[..1]).expect("at version 1");
    }
    let broken = Migration {
        version: 2,
        name: "caches, broken",
        sql: "CREATE TABLE caches (name TEXT NOT NULL PRIMARY KEY); CREATE INDEX broken ON missing_table (x);",
    };
    let mut connection = rusqlite::Connection::open(&path).expect("raw open");
    let error = migrations::migrate(&mut connection, "test", &[MIGRATIONS[0], broken]).expect_err("migration fails");
    assert!(error.to_string().contains("applying schema migration 2 (caches, broken)"), "{error}");
    assert_eq!(migrations::user_version(&connection).expect("version"), 1);
    let caches: i64 = connection
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'caches'", [], |row| row.get(0))
        .expect("count");
    assert_eq!(caches, 0, "the first statement of the failed migration was rolled back");

    let fixed = Migration { sql: "CREATE TABLE caches (name TEXT NOT NULL PRIMARY KEY);", ..broken };
    migrations::migrate(&mut connection, "test", &[MIGRATIONS[0], fixed]).expect("fixed migration applies");
    assert_eq!(migrations::user_version(&connection).expect("version"), 2);
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    std::fs::write(&path, "state: ./huntbook.db\nplaybooks: ./playbooks\n".repeat(100)).expect("write");
    let error = Store::open(&path).expect_err("not a database");
    assert!(matches!(error, StoreError::NotADatabase { .. }), "{error:?}");
    assert!(error.to_string().contains("is not a huntbook state file"), "{error}");
}

#[test]
fn store_and_its_error_can_cross_threads() {
    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send::<Store>();
    assert_send_sync::<StoreError>();
}

// ---------------------------------------------------------------------------------------------------------------
// Commits, watermarks, seen keys

#[test]
fn a_commit_records_the_run_its_keys_its_messages_and_the_watermark() {
    let mut store = Store::open_in_memory().expect("open");
    let first = RunRecord {
        archived: 0,
        silenced: 0,
        suppressed: 0,
        backfill: false,
        truncated: true,
        error: Some("enrichment file_profile failed".into()),
        ..run("run-1", "offboarding", 0)
    };
    let queued = [message("message-1", &first, 0), message("message-2", &first, 1)];
    commit(&mut store, &first, &keys(&["a", "b"]), &queued);

    assert_eq!(store.runs(Some("offboarding"), 10).expect("runs"), std::slice::from_ref(&first));
    assert_eq!(store.watermark("offboarding").expect("watermark"), Some(first.window_end));
    assert_eq!(store.watermark("isolation").expect("watermark"), None);
    let entry = store.outbox_entry("message-2").expect("entry").expect("queued");
    assert_eq!(
        entry,
        OutboxEntry {
            message: queued[1].clone(),
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt: queued[1].created,
            last_error: None,
            sent_at: None,
            answer: None,
            dead_at: None,
            queued_at: queued[1].created,
        }
    );
    assert_eq!(store.outbox_entry("message-3").expect("entry"), None);
}

#[test]
fn seen_answers_per_key_in_order_for_the_same_playbook_only() {
    let mut store = Store::open_in_memory().expect("open");
    commit(&mut store, &run("run-1", "offboarding", 0), &keys(&["a", "b"]), &[]);
    assert_eq!(store.seen("offboarding", &keys(&["a", "c", "b", "a"])).expect("seen"), [true, false, true, true]);
    assert_eq!(store.seen("isolation", &keys(&["a"])).expect("seen"), [false]);
    assert_eq!(store.seen("offboarding", &[]).expect("seen"), Vec::<bool>::new());
}

#[test]
fn seen_handles_thousands_of_keys_through_the_primary_key() {
    let mut store = Store::open_in_memory().expect("open");
    let committed: Vec<String> = (0..20_000).map(|number| format!("ReportId-{number}")).collect();
    commit(&mut store, &run("run-1", "offboarding", 0), &committed, &[]);
    let asked: Vec<String> = (10_000..30_000).map(|number| format!("ReportId-{number}")).collect();
    let answers = store.seen("offboarding", &asked).expect("seen");
    assert_eq!(answers.len(), 20_000);
    assert!(answers[..10_000].iter().all(|seen| *seen) && answers[10_000..].iter().all(|seen| !*seen));

    // "Fast" means one index probe per key, not a scan.
    let plan = query_plan(&store, "SELECT 1 FROM seen_keys WHERE playbook = 'x' AND hit_key = 'y'");
    assert!(plan.contains("INDEX sqlite_autoindex_seen_keys_1 (playbook=? AND hit_key=?)"), "{plan}");
}

#[test]
fn a_commit_that_fails_midway_changes_nothing() {
    let mut store = Store::open_in_memory().expect("open");
    let first = run("run-1", "offboarding", 0);
    let original = message("message-1", &first, 0);
    commit(&mut store, &first, &keys(&["a"]), std::slice::from_ref(&original));

    // The second run's last message reuses an id: the outbox's primary key fails after the run, the keys, the
    // watermark and a first message were written.
    let second = run("run-2", "offboarding", 15);
    let fresh = message("message-2", &second, 15);
    let duplicate = NewMessage { subject: "duplicate".into(), ..message("message-1", &second, 15) };
    let error = store
        .commit_run(&RunCommit {
            quiet: &[],
            suppressions: &[],
            archives: &[],
            profiles: &[],
            run: &second,
            seen_keys: &keys(&["x", "y"]),
            messages: &[fresh.clone(), duplicate],
            watermark: Some(second.window_end),
        })
        .expect_err("the duplicate id fails the commit");
    assert!(error.to_string().contains("queueing message message-1"), "{error}");

    assert_eq!(store.runs(None, 10).expect("runs"), std::slice::from_ref(&first));
    assert_eq!(store.seen("offboarding", &keys(&["a", "x", "y"])).expect("seen"), [true, false, false]);
    assert_eq!(store.watermark("offboarding").expect("watermark"), Some(first.window_end));
    assert_eq!(message_ids(&store.outbox(None, 10).expect("outbox")), ["message-1"]);
    assert_eq!(store.outbox_entry("message-1").expect("entry").expect("kept").message, original);
    assert_eq!(store.failing_streak("offboarding").expect("streak"), 0);

    // Nothing was left half-open: the corrected commit goes through.
    commit(&mut store, &second, &keys(&["x", "y"]), std::slice::from_ref(&fresh));
    assert_eq!(store.seen("offboarding", &keys(&["x", "y"])).expect("seen"), [true, true]);
    assert_eq!(store.watermark("offboarding").expect("watermark"), Some(second.window_end));
}

#[test]
fn a_message_of_another_run_is_refused_before_anything_is_written() {
    let mut store = Store::open_in_memory().expect("open");
    let first = run("run-1", "offboarding", 0);
    let other = run("run-9", "offboarding", 0);
    let error = store
        .commit_run(&RunCommit {
            quiet: &[],
            suppressions: &[],
            archives: &[],
            profiles: &[],
            run: &first,
            seen_keys: &keys(&["a"]),
            messages: &[message("message-1", &other, 0)],
            watermark: Some(first.window_end),
        })
        .expect_err("refused");
    assert!(matches!(error, StoreError::Invalid { .. }), "{error:?}");
    assert!(store.runs(None, 10).expect("runs").is_empty());
    assert_eq!(store.seen("offboarding", &keys(&["a"])).expect("seen"), [false]);
    assert_eq!(store.watermark("offboarding").expect("watermark"), None);
}

#[test]
fn the_watermark_never_moves_backwards() {
    let mut store = Store::open_in_memory().expect("open");
    let mut commit_with = |id: &str, watermark: Option<DateTime<Utc>>| {
        let record = run(id, "offboarding", 0);
        store
            .commit_run(&RunCommit {
                quiet: &[],
                suppressions: &[],
                archives: &[],
                profiles: &[],
                run: &record,
                seen_keys: &[],
                messages: &[],
                watermark,
            })
            .expect("commit");
        store.watermark("offboarding").expect("watermark")
    };
    assert_eq!(commit_with("run-1", Some(at(60))), Some(at(60)));
    // A rerun of a past window (`--since/--until`) ends earlier: the watermark stays.
    assert_eq!(commit_with("run-2", Some(at(-24 * 60))), Some(at(60)));
    // Microseconds count: one microsecond later moves it.
    assert_eq!(
        commit_with("run-3", Some(at(60) + TimeDelta::microseconds(1))),
        Some(at(60) + TimeDelta::microseconds(1))
    );
    assert_eq!(commit_with("run-4", None), Some(at(60) + TimeDelta::microseconds(1)));
    assert_eq!(commit_with("run-5", Some(at(75))), Some(at(75)));
}

#[test]
fn times_are_stored_as_fixed_width_utc_text_at_microsecond_precision() {
    let mut store = Store::open_in_memory().expect("open");
    let precise = at(0) + TimeDelta::nanoseconds(123_456_789);
    let record = RunRecord { archived: 0, started: precise, ..run("run-1", "offboarding", 0) };
    commit(&mut store, &record, &[], &[]);
    let (started, window_end): (String, String) = store
        .connection
        .query_row("SELECT started, window_end FROM runs", [], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("raw row");
    assert_eq!(started, "2026-11-20T12:00:00.123456Z");
    assert_eq!(window_end, "2026-11-20T11:55:00.000000Z");
    let stored = store.runs(None, 1).expect("runs").remove(0);
    assert_eq!(stored.started, at(0) + TimeDelta::microseconds(123_456));

    let far = DateTime::parse_from_rfc3339("+10000-01-01T00:00:00Z").map(|time| time.with_timezone(&Utc));
    if let Ok(far) = far {
        let error = store
            .commit_run(&RunCommit {
                quiet: &[],
                suppressions: &[],
                archives: &[],
                profiles: &[],
                run: &run("run-2", "offboarding", 0),
                seen_keys: &[],
                messages: &[],
                watermark: Some(far),
            })
            .expect_err("year 10000 does not fit");
        assert!(matches!(error, StoreError::Invalid { .. }), "{error:?}");
    }
}

#[test]
fn a_value_this_module_never_writes_is_reported_as_corrupt() {
    let mut store = Store::open_in_memory().expect("open");
    commit(&mut store, &run("run-1", "offboarding", 0), &[], &[]);
    store.connection.execute("UPDATE runs SET started = 'yesterday'", []).expect("raw update");
    let error = store.runs(None, 10).expect_err("corrupt time");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("runs.started: \"yesterday\""), "{error}");
}

// ---------------------------------------------------------------------------------------------------------------
// Run history

#[test]
fn runs_are_listed_newest_first_per_playbook_or_all_with_a_limit() {
    let mut store = Store::open_in_memory().expect("open");
    commit(&mut store, &run("run-1", "offboarding", 0), &[], &[]);
    commit(&mut store, &run("run-2", "isolation", 5), &[], &[]);
    store.record_failed_run(&failed_run("run-3", "offboarding", 15)).expect("failed run");
    commit(&mut store, &run("run-4", "offboarding", 30), &[], &[]);

    let ids = |records: Vec<RunRecord>| records.into_iter().map(|record| record.id).collect::<Vec<_>>();
    assert_eq!(ids(store.runs(None, 10).expect("runs")), ["run-4", "run-3", "run-2", "run-1"]);
    assert_eq!(ids(store.runs(None, 2).expect("runs")), ["run-4", "run-3"]);
    assert_eq!(ids(store.runs(Some("offboarding"), 10).expect("runs")), ["run-4", "run-3", "run-1"]);
    assert_eq!(ids(store.runs(Some("silence"), 10).expect("runs")), Vec::<String>::new());
    assert_eq!(store.runs(None, 0).expect("runs"), []);
    assert_eq!(store.runs(None, usize::MAX).expect("runs").len(), 4);
}

#[test]
fn a_failed_run_is_recorded_with_its_error_and_changes_nothing_else() {
    let mut store = Store::open_in_memory().expect("open");
    let first = run("run-1", "offboarding", 0);
    commit(&mut store, &first, &keys(&["a"]), &[]);
    // The caller forgot to set the status: the method's name decides.
    let failed = RunRecord { archived: 0, status: RunStatus::Succeeded, ..failed_run("run-2", "offboarding", 15) };
    store.record_failed_run(&failed).expect("recorded");

    let latest = store.runs(Some("offboarding"), 1).expect("runs").remove(0);
    assert_eq!(latest, RunRecord { status: RunStatus::Failed, ..failed });
    assert_eq!(latest.error.as_deref(), Some("Graph answered 403"));
    assert_eq!(store.watermark("offboarding").expect("watermark"), Some(first.window_end));
    assert!(store.outbox(None, 10).expect("outbox").is_empty());

    let again = store.record_failed_run(&failed_run("run-2", "offboarding", 15)).expect_err("duplicate run id");
    assert!(matches!(again, StoreError::Sqlite { .. }), "{again:?}");
}

#[test]
fn failing_streak_counts_the_failures_since_the_last_success() {
    let mut store = Store::open_in_memory().expect("open");
    assert_eq!(store.failing_streak("offboarding").expect("streak"), 0);
    store.record_failed_run(&failed_run("run-1", "offboarding", 0)).expect("failed");
    store.record_failed_run(&failed_run("run-2", "offboarding", 15)).expect("failed");
    assert_eq!(store.failing_streak("offboarding").expect("streak"), 2, "failing since the first run");
    commit(&mut store, &run("run-3", "offboarding", 30), &[], &[]);
    assert_eq!(store.failing_streak("offboarding").expect("streak"), 0);
    for (number, started) in [(4, 45), (5, 60), (6, 75)] {
        store.record_failed_run(&failed_run(&format!("run-{number}"), "offboarding", started)).expect("failed");
    }
    store.record_failed_run(&failed_run("run-7", "isolation", 80)).expect("other playbook");
    assert_eq!(store.failing_streak("offboarding").expect("streak"), 3);
    assert_eq!(store.failing_streak("isolation").expect("streak"), 1);
}

#[test]
fn expire_seen_keys_forgets_only_keys_first_seen_before_the_cutoff() {
    let mut store = Store::open_in_memory().expect("open");
    let day = 24 * 60;
    commit(&mut store, &run("run-1", "offboarding", 0), &keys(&["old-1", "old-2"]), &[]);
    commit(&mut store, &run("run-2", "isolation", 0), &keys(&["old-3"]), &[]);
    // Seeing "old-1" again later does not renew it: first_seen stays the first run's start.
    commit(&mut store, &run("run-3", "offboarding", 36 * day), &keys(&["old-1", "new"]), &[]);

    let expired = store.expire_seen_keys(at(35 * day)).expect("expire");
    assert_eq!(expired, 3);
    assert_eq!(store.seen("offboarding", &keys(&["old-1", "old-2", "new"])).expect("seen"), [false, false, true]);
    assert_eq!(store.seen("isolation", &keys(&["old-3"])).expect("seen"), [false]);
    // The cutoff is exclusive: a key first seen exactly at it stays.
    assert_eq!(store.expire_seen_keys(at(36 * day)).expect("expire"), 0);
    assert_eq!(store.expire_seen_keys(at(36 * day) + TimeDelta::microseconds(1)).expect("expire"), 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Outbox

/// A store with one run that queued `ids`, created one minute apart from minute 0.
fn store_with_messages(ids: &[&str]) -> Store {
    let mut store = Store::open_in_memory().expect("open");
    let record = run("run-1", "offboarding", 0);
    let queued: Vec<NewMessage> = ids.iter().zip(0..).map(|(id, minute)| message(id, &record, minute)).collect();
    commit(&mut store, &record, &[], &queued);
    store
}

fn entry(store: &Store, id: &str) -> OutboxEntry {
    store.outbox_entry(id).expect("entry").expect("message exists")
}

#[test]
fn a_message_goes_pending_retry_then_sent() {
    let mut store = store_with_messages(&["message-1"]);
    assert_eq!(message_ids(&store.due_messages(at(0), 10).expect("due")), ["message-1"]);

    store.mark_retry("message-1", "SMTP 421 try again later", at(5)).expect("retry");
    let retried = entry(&store, "message-1");
    assert_eq!((retried.state, retried.attempts, retried.next_attempt), (OutboxState::Pending, 1, at(5)));
    assert_eq!(retried.last_error.as_deref(), Some("SMTP 421 try again later"));
    assert!(store.due_messages(at(4), 10).expect("due").is_empty(), "not due before its next attempt");
    assert_eq!(message_ids(&store.due_messages(at(5), 10).expect("due")), ["message-1"]);

    store.mark_sent("message-1", at(5), "250 2.0.0 OK queued as 4Yx").expect("sent");
    let sent = entry(&store, "message-1");
    assert_eq!((sent.state, sent.attempts), (OutboxState::Sent, 2));
    assert_eq!(sent.sent_at, Some(at(5)));
    assert_eq!(sent.answer.as_deref(), Some("250 2.0.0 OK queued as 4Yx"));
    assert_eq!(sent.last_error.as_deref(), Some("SMTP 421 try again later"), "the history is kept");
    assert!(store.due_messages(at(60), 10).expect("due").is_empty());

    // A sent message never goes back.
    for error in [
        store.mark_retry("message-1", "late", at(10)).expect_err("sent is final"),
        store.mark_dead("message-1", "late", at(10)).expect_err("sent is final"),
        store.mark_sent("message-1", at(10), "again").expect_err("sent once"),
        store.retry_dead("message-1", at(10)).expect_err("not dead"),
    ] {
        assert!(matches!(error, StoreError::WrongState { found: OutboxState::Sent, .. }), "{error:?}");
    }
    assert_eq!(entry(&store, "message-1"), sent);
}

#[test]
fn a_dead_message_is_kept_listed_and_can_be_retried() {
    let mut store = store_with_messages(&["message-1", "message-2"]);
    store.mark_dead("message-1", "HTTP 403 from the webhook", at(1)).expect("dead");
    let dead = entry(&store, "message-1");
    assert_eq!((dead.state, dead.attempts), (OutboxState::Dead, 1));
    assert_eq!(dead.last_error.as_deref(), Some("HTTP 403 from the webhook"));
    assert_eq!(message_ids(&store.due_messages(at(60), 10).expect("due")), ["message-2"]);
    assert_eq!(message_ids(&store.outbox(Some(OutboxState::Dead), 10).expect("dead list")), ["message-1"]);

    let error = store.retry_dead("message-2", at(60)).expect_err("a pending message is not dead");
    assert!(matches!(error, StoreError::WrongState { found: OutboxState::Pending, .. }), "{error:?}");
    assert!(error.to_string().contains("outbox message message-2 is pending, not dead"), "{error}");

    store.retry_dead("message-1", at(60)).expect("re-queued");
    let revived = entry(&store, "message-1");
    assert_eq!((revived.state, revived.attempts, revived.next_attempt), (OutboxState::Pending, 0, at(60)));
    assert!(store.due_messages(at(59), 10).expect("due").iter().all(|due| due.message.id != "message-1"));
    assert_eq!(message_ids(&store.due_messages(at(60), 10).expect("due")), ["message-1", "message-2"]);
    assert!(store.outbox(Some(OutboxState::Dead), 10).expect("dead list").is_empty());
}

#[test]
fn a_send_already_under_way_when_its_message_died_is_recorded_as_sent() {
    let mut store = store_with_messages(&["message-1"]);
    store.mark_dead("message-1", "too old to retry", at(1)).expect("dead");
    store.mark_sent("message-1", at(2), "202 Accepted").expect("sent wins");
    assert_eq!(entry(&store, "message-1").state, OutboxState::Sent);
}

#[test]
fn dropping_removes_a_message_in_any_state() {
    let mut store = store_with_messages(&["message-1", "message-2", "message-3"]);
    store.mark_dead("message-2", "HTTP 404", at(1)).expect("dead");
    store.mark_sent("message-3", at(1), "250 OK").expect("sent");
    for id in ["message-1", "message-2", "message-3"] {
        store.drop_message(id).expect("dropped");
        assert_eq!(store.outbox_entry(id).expect("entry"), None);
    }
    assert!(store.outbox(None, 10).expect("outbox").is_empty());
    let error = store.drop_message("message-1").expect_err("already dropped");
    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
    // The delivery loop finishing a send of a message dropped meanwhile hears that it is gone.
    let error = store.mark_sent("message-1", at(2), "250 OK").expect_err("gone");
    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("outbox message message-1 not found"), "{error}");
    assert!(matches!(store.retry_dead("nothing", at(2)), Err(StoreError::NotFound { .. })));
}

#[test]
fn due_messages_are_the_pending_ones_due_by_now_oldest_first() {
    let mut store = Store::open_in_memory().expect("open");
    let record = run("run-1", "offboarding", 0);
    // Queued out of order; "message-b" and "message-a" share a creation time, so the id decides.
    let queued = [
        message("message-c", &record, 2),
        message("message-b", &record, 1),
        message("message-a", &record, 1),
        message("message-d", &record, 0),
        message("message-e", &record, 10),
    ];
    commit(&mut store, &record, &[], &queued);
    store.mark_retry("message-d", "timeout", at(30)).expect("retry");

    assert_eq!(message_ids(&store.due_messages(at(5), 10).expect("due")), ["message-a", "message-b", "message-c"]);
    assert_eq!(message_ids(&store.due_messages(at(5), 2).expect("due")), ["message-a", "message-b"]);
    assert_eq!(
        message_ids(&store.due_messages(at(10), 10).expect("due")),
        ["message-a", "message-b", "message-c", "message-e"],
        "due exactly at its creation"
    );
    assert_eq!(
        message_ids(&store.due_messages(at(30), 10).expect("due")),
        ["message-d", "message-a", "message-b", "message-c", "message-e"],
        "a retried message keeps its place by creation time"
    );
    assert!(store.due_messages(at(-1), 10).expect("due").is_empty());

    let plan = query_plan(
        &store,
        "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt <= 'x' ORDER BY created, id LIMIT 5",
    );
    assert!(plan.contains("outbox_due"), "{plan}");
}

#[test]
fn the_outbox_listing_is_newest_first_and_filters_by_state() {
    let mut store = store_with_messages(&["message-1", "message-2", "message-3", "message-4"]);
    store.mark_sent("message-1", at(1), "250 OK").expect("sent");
    store.mark_dead("message-3", "HTTP 400", at(3)).expect("dead");
    let list = |state| message_ids(&store.outbox(state, 10).expect("list")).join(",");
    assert_eq!(list(None), "message-4,message-3,message-2,message-1");
    assert_eq!(list(Some(OutboxState::Pending)), "message-4,message-2");
    assert_eq!(list(Some(OutboxState::Sent)), "message-1");
    assert_eq!(list(Some(OutboxState::Dead)), "message-3");
    assert_eq!(message_ids(&store.outbox(None, 1).expect("list")), ["message-4"]);
}

// ---------------------------------------------------------------------------------------------------------------
// Two processes on one file

#[test]
fn two_stores_on_one_file_see_each_others_commits() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    let mut daemon = Store::open(&path).expect("daemon opens");
    let mut cli = Store::open(&path).expect("cli opens");

    let first = run("run-1", "offboarding", 0);
    commit(&mut daemon, &first, &keys(&["a"]), &[message("message-1", &first, 0)]);
    assert_eq!(cli.runs(None, 10).expect("runs"), std::slice::from_ref(&first));
    assert_eq!(cli.seen("offboarding", &keys(&["a"])).expect("seen"), [true]);
    assert_eq!(cli.watermark("offboarding").expect("watermark"), Some(first.window_end));

    cli.mark_dead("message-1", "HTTP 403", at(1)).expect("dead");
    cli.retry_dead("message-1", at(2)).expect("`huntbook outbox retry`");
    assert_eq!(message_ids(&daemon.due_messages(at(2), 10).expect("due")), ["message-1"]);
    daemon.mark_sent("message-1", at(3), "250 OK").expect("sent");
    assert_eq!(entry(&cli, "message-1").state, OutboxState::Sent);
}

#[test]
fn a_write_waits_for_the_other_stores_write_lock_instead_of_failing() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    let mut daemon = Store::open(&path).expect("daemon opens");
    let mut cli = Store::open(&path).expect("cli opens");
    let held = run("run-held", "offboarding", 0);
    let barrier = Arc::new(Barrier::new(2));

    let holder = {
        let barrier = Arc::clone(&barrier);
        let held = held.clone();
        thread::spawn(move || {
            let prepared_run = RunCommit {
                quiet: &[],
                suppressions: &[],
                archives: &[],
                profiles: &[],
                run: &held,
                seen_keys: &keys(&["held"]),
                messages: &[],
                watermark: None,
            };
            let prepared = daemon.prepare_commit(&prepared_run).expect("valid commit");
            let transaction =
                daemon.connection.transaction_with_behavior(TransactionBehavior::Immediate).expect("write lock");
            write_commit(&transaction, &prepared, "daemon").expect("writes");
            barrier.wait();
            // Hold the write lock for a while, well under the busy timeout, as a slow commit would.
            thread::sleep(Duration::from_millis(300));
            transaction.commit().expect("commit");
        })
    };
    barrier.wait();
    // Readers are not blocked by the writer (WAL) and do not see its uncommitted run.
    assert!(cli.runs(None, 10).expect("read during the write").is_empty());
    assert_eq!(cli.seen("offboarding", &keys(&["held"])).expect("seen"), [false]);
    // The CLI's own write waits for the lock and then succeeds.
    commit(&mut cli, &run("run-cli", "offboarding", 1), &[], &[]);
    holder.join().expect("holder thread");
    let ids: Vec<String> = cli.runs(None, 10).expect("runs").into_iter().map(|record| record.id).collect();
    assert_eq!(ids, ["run-cli", "run-held"]);
}

#[test]
fn two_stores_committing_at_once_both_succeed() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    drop(Store::open(&path).expect("create"));
    let barrier = Arc::new(Barrier::new(2));
    let writers: Vec<_> = ["daemon", "cli"]
        .into_iter()
        .map(|name| {
            let path = path.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let mut store = Store::open(&path).expect("open");
                barrier.wait();
                for number in 0..25 {
                    let record = run(&format!("{name}-{number}"), name, number);
                    let queued = message(&format!("{name}-message-{number}"), &record, number);
                    store
                        .commit_run(&RunCommit {
                            quiet: &[],
                            suppressions: &[],
                            archives: &[],
                            profiles: &[],
                            run: &record,
                            seen_keys: &[format!("key-{number}")],
                            messages: std::slice::from_ref(&queued),
                            watermark: Some(record.window_end),
                        })
                        .map_err(|error| error.to_string())?;
                    store.mark_sent(&queued.id, at(number), "250 OK").map_err(|error| error.to_string())?;
                }
                Ok::<_, String>(store)
            })
        })
        .collect();
    let stores: Vec<Store> =
        writers.into_iter().map(|writer| writer.join().expect("thread").expect("no locking error")).collect();
    for store in &stores {
        assert_eq!(store.runs(None, 100).expect("runs").len(), 50);
        assert_eq!(store.outbox(Some(OutboxState::Sent), 100).expect("sent").len(), 50);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Crashes. The parent test runs this test binary again as a child with an environment variable naming the role
// and the state file; the child roles are ignored tests so that a normal run skips them.

const CRASH_ROLE: &str = "HUNTBOOK_STORE_CRASH_ROLE";
const CRASH_FILE: &str = "HUNTBOOK_STORE_CRASH_FILE";

/// The role this process plays in a crash test, and its state file; `None` in a normal test run.
fn crash_role() -> Option<(String, PathBuf)> {
    Some((std::env::var(CRASH_ROLE).ok()?, PathBuf::from(std::env::var_os(CRASH_FILE)?)))
}

fn child(test: &str, role: &str, path: &Path) -> Command {
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([&format!("{module}::{test}"), "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CRASH_ROLE, role)
        .env(CRASH_FILE, path);
    command
}

/// The big commit the aborting child never finishes: enough data that SQLite writes pages to the WAL before the
/// COMMIT, so the parent sees real uncommitted frames on disk, not only an untouched file.
fn unfinished_commit() -> (RunRecord, Vec<String>, Vec<NewMessage>) {
    let record = run("run-crashed", "offboarding", 15);
    let seen_keys: Vec<String> = (0..20_000).map(|number| format!("crashed-{number}")).collect();
    let messages = (0..4)
        .map(|number| NewMessage { payload: vec![b'x'; 1 << 20], ..message(&format!("crashed-{number}"), &record, 15) })
        .collect();
    (record, seen_keys, messages)
}

#[test]
#[ignore = "child process of a_process_that_aborts_before_commit_leaves_nothing_of_its_run"]
fn crash_child_aborts_before_commit() {
    let Some((role, path)) = crash_role() else { return };
    assert_eq!(role, "abort");
    let mut store = Store::open(&path).expect("child opens");
    // A tiny page cache forces SQLite to spill the transaction into the WAL before COMMIT.
    store.connection.pragma_update(None, "cache_size", 16).expect("cache size");
    let (record, seen_keys, messages) = unfinished_commit();
    let commit = RunCommit {
        quiet: &[],
        suppressions: &[],
        archives: &[],
        profiles: &[],
        run: &record,
        seen_keys: &seen_keys,
        messages: &messages,
        watermark: Some(at(600)),
    };
    let prepared = store.prepare_commit(&commit).expect("valid commit");
    let transaction = store.connection.transaction_with_behavior(TransactionBehavior::Immediate).expect("begin");
    write_commit(&transaction, &prepared, "child").expect("writes");
    eprintln!("crash child: every write done, aborting before COMMIT");
    std::process::abort();
}

#[test]
fn a_process_that_aborts_before_commit_leaves_nothing_of_its_run() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    let first = run("run-1", "offboarding", 0);
    {
        let mut store = Store::open(&path).expect("open");
        commit(&mut store, &first, &keys(&["a"]), &[message("message-1", &first, 0)]);
    }

    let output = child("crash_child_aborts_before_commit", "abort", &path).output().expect("child runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child must die: {stderr}");
    assert!(stderr.contains("aborting before COMMIT"), "the child did not reach the abort: {stderr}");
    let wal = std::fs::metadata(directory.path().join("huntbook.db-wal")).map(|metadata| metadata.len()).unwrap_or(0);
    assert!(wal > 1 << 20, "the child's uncommitted pages should be in the WAL (it has {wal} bytes)");

    let mut store = Store::open(&path).expect("the file opens cleanly after the crash");
    assert_eq!(integrity(&store), "ok");
    assert_eq!(store.runs(None, 10).expect("runs"), std::slice::from_ref(&first));
    assert_eq!(store.watermark("offboarding").expect("watermark"), Some(first.window_end));
    let (record, seen_keys, messages) = unfinished_commit();
    assert!(store.seen("offboarding", &seen_keys).expect("seen").iter().all(|seen| !seen));
    assert_eq!(message_ids(&store.outbox(None, 10).expect("outbox")), ["message-1"]);

    // The run can simply be done again.
    let retried = RunCommit {
        quiet: &[],
        suppressions: &[],
        archives: &[],
        profiles: &[],
        run: &record,
        seen_keys: &seen_keys,
        messages: &messages,
        watermark: Some(at(600)),
    };
    store.commit_run(&retried).expect("the same commit succeeds now");
    assert_eq!(store.watermark("offboarding").expect("watermark"), Some(at(600)));
}

/// The run, keys and messages of commit `number` of the killed child.
fn numbered_commit(number: u64) -> (RunRecord, Vec<String>, Vec<NewMessage>) {
    let minute = i64::try_from(number).expect("small number");
    let record = RunRecord { archived: 0, rows: number, ..run(&format!("run-{number}"), "offboarding", minute) };
    let seen_keys = (0..200).map(|key| format!("{number}-{key}")).collect();
    let messages = (0..3)
        .map(|part| NewMessage {
            payload: vec![b'm'; 64 << 10],
            ..message(&format!("{number}-{part}"), &record, minute)
        })
        .collect();
    (record, seen_keys, messages)
}

#[test]
#[ignore = "child process of a_process_killed_while_committing_leaves_only_whole_runs"]
fn crash_child_commits_until_killed() {
    let Some((role, path)) = crash_role() else { return };
    assert_eq!(role, "commit-forever");
    let mut store = Store::open(&path).expect("child opens");
    // Bounded, so that a parent that fails to kill it does not leave it running for long.
    for number in 0..5_000 {
        let (record, seen_keys, messages) = numbered_commit(number);
        let watermark = Some(at(i64::try_from(number).expect("small") + 1));
        store
            .commit_run(&RunCommit {
                quiet: &[],
                suppressions: &[],
                archives: &[],
                profiles: &[],
                run: &record,
                seen_keys: &seen_keys,
                messages: &messages,
                watermark,
            })
            .expect("commit");
        println!("committed {number}");
    }
}

#[test]
fn a_process_killed_while_committing_leaves_only_whole_runs() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = state_file(&directory);
    drop(Store::open(&path).expect("create"));

    let mut child = child("crash_child_commits_until_killed", "commit-forever", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    // The pipe stays open until the child is dead: a closed pipe would make it fail on its own instead.
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
    let mut reported = 0;
    while reported < 20 {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("committed ") => reported += 1,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    // SIGKILL while the child is in the middle of its next commits.
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    drop(lines);
    assert_eq!(reported, 20, "the child stopped before committing 20 runs");

    let store = Store::open(&path).expect("the file opens cleanly after kill -9");
    assert_eq!(integrity(&store), "ok");
    let runs = store.runs(Some("offboarding"), usize::MAX).expect("runs");
    let committed = u64::try_from(runs.len()).expect("count");
    assert!(committed >= 20, "every commit the child reported is durable, got {committed}");
    let mut numbers: Vec<u64> = runs.iter().map(|record| record.rows).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..committed).collect::<Vec<_>>());

    let mut messages_per_run: HashMap<String, usize> = HashMap::new();
    for entry in store.outbox(None, usize::MAX).expect("outbox") {
        *messages_per_run.entry(entry.message.run_id).or_default() += 1;
    }
    for number in 0..committed {
        let (record, seen_keys, _) = numbered_commit(number);
        assert_eq!(messages_per_run.get(&record.id), Some(&3), "messages of run {number}");
        assert!(store.seen("offboarding", &seen_keys).expect("seen").iter().all(|seen| *seen), "keys of run {number}");
    }
    assert_eq!(messages_per_run.len(), runs.len(), "no message without its run");
    let (_, in_flight_keys, _) = numbered_commit(committed);
    assert!(store.seen("offboarding", &in_flight_keys).expect("seen").iter().all(|seen| !seen));
    let last_watermark = at(i64::try_from(committed).expect("small"));
    assert_eq!(store.watermark("offboarding").expect("watermark"), Some(last_watermark));
}

mod archives {
    use super::*;
    use crate::kql::plan::Column;
    use crate::kql::table::Catalog;
    use crate::kql::types::Type;
    use crate::kql::value::Value;

    fn batch(columns: &[(&str, Type)], rows: &[(&str, i64, Vec<Value>)], prune: Option<i64>) -> ArchiveBatch {
        ArchiveBatch {
            archive: "isolations".into(),
            columns: columns.iter().map(|(name, ty)| Column::new(*name, *ty)).collect(),
            rows: rows
                .iter()
                .map(|(key, minutes, values)| ArchivedRow {
                    key: key.to_string(),
                    at: at(*minutes),
                    values: values.clone(),
                })
                .collect(),
            prune_before: prune.map(at),
        }
    }

    fn commit_with(store: &mut Store, run: &RunRecord, batches: &[ArchiveBatch], profiles: &[CachedProfile]) -> u64 {
        let commit = RunCommit {
            quiet: &[],
            suppressions: &[],
            archives: batches,
            profiles,
            run,
            seen_keys: &[],
            messages: &[],
            watermark: Some(run.window_end),
        };
        store.commit_run(&commit).expect("commit")
    }

    fn rows(store: &Store, query: &str) -> Vec<String> {
        let catalog = store.archive_catalog().expect("catalog");
        let plan = crate::kql::compile(query, &catalog).expect("compiles");
        let result = crate::kql::eval::execute(plan, &crate::kql::eval::ExecOptions::new(0)).expect("runs");
        result
            .table
            .rows
            .iter()
            .map(|row| row.iter().map(|v| v.to_text().to_string()).collect::<Vec<_>>().join("|"))
            .collect()
    }

    fn time(minutes: i64) -> Value {
        Value::DateTime(crate::source::to_ticks(at(minutes)))
    }

    /// On a file and in memory alike.
    fn stores() -> Vec<(tempfile::TempDir, Store)> {
        let file = tempfile::tempdir().expect("temp dir");
        let on_disk = Store::open(&state_file(&file)).expect("file");
        let memory = tempfile::tempdir().expect("temp dir");
        vec![(file, on_disk), (memory, Store::open_in_memory().expect("memory"))]
    }

    #[test]
    fn rows_are_kept_once_typed_across_a_change_of_columns_and_pruned_after_their_retention() {
        for (_dir, mut store) in stores() {
            let old = [("Timestamp", Type::DateTime), ("DeviceName", Type::String), ("Count", Type::Long)];
            let first = batch(
                &old,
                &[
                    ("a", 10, vec![time(10), Value::string("pc-1"), Value::Long(1)]),
                    ("b", 20, vec![time(20), Value::string("pc-2"), Value::Long(2)]),
                ],
                None,
            );
            assert_eq!(commit_with(&mut store, &run("r1", "recorder", 30), std::slice::from_ref(&first), &[]), 2);
            // The same keys again (an overlap, a lookup that found them too): nothing is written twice.
            assert_eq!(commit_with(&mut store, &run("r2", "recorder", 40), &[first], &[]), 0);
            assert_eq!(store.runs(Some("recorder"), 5).expect("runs")[1].archived, 2);

            // The query gains a column and `Count` becomes a string: older rows keep theirs, typed as now.
            let new = [
                ("Timestamp", Type::DateTime),
                ("DeviceName", Type::String),
                ("Scope", Type::String),
                ("Count", Type::String),
            ];
            let second = batch(
                &new,
                &[("c", 50, vec![time(50), Value::string("pc-1"), Value::string("Full"), Value::string("3")])],
                None,
            );
            assert_eq!(commit_with(&mut store, &run("r3", "recorder", 60), &[second], &[]), 1);
            assert_eq!(
                rows(&store, "isolations | order by Timestamp asc | project DeviceName, Scope, Count"),
                ["pc-1||1", "pc-2||2", "pc-1|Full|3"]
            );
            let catalog = store.archive_catalog().expect("catalog");
            let table = catalog.table("isolations").expect("found").expect("an archive");
            let columns: Vec<(String, Type)> = table.columns().iter().map(|c| (c.name.clone(), c.ty)).collect();
            assert_eq!(columns[2], ("Scope".to_string(), Type::String));
            assert_eq!(columns[3], ("Count".to_string(), Type::String));
            assert_eq!(table.time_column(), None, "a run's window does not apply to an archive");

            // Retention: rows whose time is before the cut go, in the same commit.
            let third = batch(&new, &[], Some(15));
            commit_with(&mut store, &run("r4", "recorder", 70), &[third], &[]);
            assert_eq!(rows(&store, "isolations | order by Timestamp asc | project DeviceName"), ["pc-2", "pc-1"]);
            let sizes = store.archive_sizes().expect("sizes");
            assert_eq!(sizes.len(), 1);
            assert_eq!((sizes[0].name.as_str(), sizes[0].rows), ("isolations", 2));
            assert!(sizes[0].bytes > 20);
        }
    }

    #[test]
    fn a_commit_that_fails_archives_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&state_file(&dir)).expect("file");
        let good = batch(&[("Timestamp", Type::DateTime)], &[("a", 10, vec![time(10)])], None);
        // A row with fewer values than columns is refused before anything is written.
        let bad =
            batch(&[("Timestamp", Type::DateTime), ("DeviceName", Type::String)], &[("b", 10, vec![time(10)])], None);
        let run = run("r1", "recorder", 30);
        let commit = RunCommit {
            quiet: &[],
            suppressions: &[],
            archives: &[good, bad],
            profiles: &[],
            run: &run,
            seen_keys: &[],
            messages: &[],
            watermark: None,
        };
        assert!(matches!(store.commit_run(&commit), Err(StoreError::Invalid { .. })));
        assert!(store.archive_sizes().expect("sizes").is_empty());
        assert!(store.runs(None, 5).expect("runs").is_empty());
    }

    #[test]
    fn file_profiles_are_cached_per_source_until_they_expire() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&state_file(&dir)).expect("file");
        let mut profile = serde_json::Map::new();
        profile.insert("GlobalPrevalence".into(), serde_json::json!(12));
        let cached =
            CachedProfile { hash: "ab".repeat(32), via: "hunting".into(), fetched: at(0), profile: profile.clone() };
        commit_with(&mut store, &run("r1", "p", 1), &[], &[cached]);
        let hashes = vec!["ab".repeat(32), "cd".repeat(32)];
        let found = store.cached_profiles(&hashes, "hunting", at(-60)).expect("read");
        assert_eq!(found.len(), 1);
        assert_eq!(found[&"ab".repeat(32)], profile);
        assert!(store.cached_profiles(&hashes, "mde_api", at(-60)).expect("read").is_empty(), "per source");
        assert!(store.cached_profiles(&hashes, "hunting", at(1)).expect("read").is_empty(), "expired");
    }
}
