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

#[test]
fn a_migration_that_cannot_apply_says_which_and_why_without_the_schema_text() {
    let dir = workspace();
    assert_eq!(run(dir.path()).status.code(), Some(0));
    // A file whose tables are newer than its recorded version (changed by hand or by another program).
    {
        let file = rusqlite::Connection::open(dir.path().join("huntbook.db")).expect("sqlite");
        file.pragma_update(None, "user_version", 4).expect("the version set back");
    }
    let output = run(dir.path());
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    let said = stderr(&output);
    assert!(said.contains("applying schema migration 5") && said.contains("already exists"), "{said}");
    assert!(!said.contains("CREATE TABLE") && said.lines().count() <= 3, "{said}");
}

/// `dir` as a file system that cannot be written: a read-only bind mount where this process may mount (root),
/// else the same directory with its write permissions taken away. Undone on drop.
struct ReadOnly {
    path: std::path::PathBuf,
    mounted: Option<tempfile::TempDir>,
    dir: std::path::PathBuf,
}

impl ReadOnly {
    fn of(dir: &Path) -> ReadOnly {
        let target = tempfile::tempdir().expect("a mount point");
        let mount = |args: &[&str]| {
            std::process::Command::new("mount").args(args).output().is_ok_and(|output| output.status.success())
        };
        let (source, point) = (dir.display().to_string(), target.path().display().to_string());
        if mount(&["--bind", &source, &point]) {
            assert!(mount(&["-o", "remount,bind,ro", &point]), "the bind mount could not be made read-only");
            return ReadOnly { path: target.path().to_path_buf(), mounted: Some(target), dir: dir.to_path_buf() };
        }
        let status = std::process::Command::new("chmod").args(["-R", "a-w"]).arg(dir).status().expect("chmod");
        assert!(status.success());
        ReadOnly { path: dir.to_path_buf(), mounted: None, dir: dir.to_path_buf() }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        match &self.mounted {
            Some(point) => {
                let _ = std::process::Command::new("umount").arg(point.path()).status();
            }
            None => {
                let _ = std::process::Command::new("chmod").args(["-R", "u+w"]).arg(&self.dir).status();
            }
        }
    }
}

#[test]
fn a_state_file_that_cannot_be_written_can_still_be_read() {
    let dir = workspace();
    // The isolation recorder too, for an archive to query.
    common::copy_playbooks(&dir.path().join("playbooks"), &["isolation-history"]);
    assert_eq!(run(dir.path()).status.code(), Some(0));
    let read_only = ReadOnly::of(dir.path());
    let config = read_only.path.join("huntbook.yaml");
    let read = |args: &[&str]| {
        let output = huntbook().current_dir(&read_only.path).args(args).arg("-c").arg(&config).output().expect("runs");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}{}", stdout(&output), stderr(&output));
        stdout(&output)
    };
    assert!(read(&["runs"]).contains("offboarding-package-download"));
    assert!(read(&["outbox", "list", "--all"]).contains("offboarding-package-download"));
    assert!(read(&["silence", "list"]).contains("no silences in force"));
    let archived = read(&["query", "--archive", "--format", "csv", "isolations | count"]);
    assert_eq!(archived, "Count\n21\n");
}
