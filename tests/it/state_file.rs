//! What `huntbook run` does with a state file that is not one of its own: an empty file (adopted, and said so;
//! refused when a write-ahead log beside it holds the state), another application's SQLite database (refused,
//! and left exactly as it was).

use crate::common;

use std::path::Path;

use common::{huntbook, stderr, stdout};

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    common::copy_playbooks(&dir.path().join("playbooks"), &["offboarding-package-download"]);
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: '{}', rebase_time: true }}\n\
             first_lookback: 30d\nreceivers:\n  soc-mail: {{ file: {{ dir: outbox }} }}\n",
            common::sample_data().display()
        ),
    )
    .expect("write the configuration");
    dir
}

fn run(dir: &Path) -> std::process::Output {
    huntbook().current_dir(dir).args(["run", "--all"]).output().expect("huntbook runs")
}

#[test]
fn an_empty_state_file_is_adopted_and_said_so() {
    let dir = workspace();
    std::fs::write(dir.path().join("huntbook.db"), b"").expect("an empty file");
    let output = run(dir.path());
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("was empty (0 bytes): it is now a new state file"), "{}", stderr(&output));
    assert!(std::fs::metadata(dir.path().join("huntbook.db")).expect("the file").len() > 0);
}

#[test]
fn an_empty_state_file_beside_a_write_ahead_log_is_refused() {
    let dir = workspace();
    std::fs::write(dir.path().join("huntbook.db"), b"").expect("an empty file");
    std::fs::write(dir.path().join("huntbook.db-wal"), vec![7u8; 4096]).expect("a log");
    let output = run(dir.path());
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("is empty, but its write-ahead log"), "{}", stderr(&output));
    assert_eq!(std::fs::metadata(dir.path().join("huntbook.db")).expect("the file").len(), 0, "left as it was");
    assert!(!dir.path().join("outbox").exists(), "nothing was sent");
}

#[test]
fn another_applications_database_is_refused_and_left_as_it_was() {
    let dir = workspace();
    let path = dir.path().join("huntbook.db");
    {
        let other = rusqlite::Connection::open(&path).expect("sqlite");
        other.execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('ann');").expect("create");
    }
    let before = std::fs::read(&path).expect("the file");
    let output = run(dir.path());
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    assert!(
        stderr(&output).contains("a SQLite database of another application (its tables: contacts)"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&path).expect("the file"), before, "not migrated, not switched to WAL");
    assert!(!dir.path().join("huntbook.db-wal").exists());
}
