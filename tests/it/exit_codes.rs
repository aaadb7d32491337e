//! The exit codes the README promises — 0 success, 1 a run, a delivery or the command's own work failed, 2 bad
//! usage or an invalid configuration — through the real binary. A failure of the work (a full disk, a port in
//! use) used to exit with 2 as if the user had typed something wrong.

use crate::common;

use std::path::Path;

use common::{huntbook, stderr};

fn workspace(state: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("playbooks")).expect("mkdir");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: {state}\nplaybooks: playbooks\nsource: {{ kind: local, data: '{}' }}\nreceivers:\n  files: {{ file: {{ dir: outbox }} }}\n",
            common::sample_data().display()
        ),
    )
    .expect("write the configuration");
    dir
}

fn code(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = huntbook();
    command.current_dir(dir).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("huntbook runs");
    (output.status.code(), stderr(&output))
}

#[test]
fn a_full_disk_is_a_failure_not_bad_usage() {
    // /dev/full accepts no write: SQLite says the disk is full.
    let dir = workspace("/dev/full");
    for args in [&["runs"][..], &["outbox", "list"][..]] {
        let (code, said) = code(dir.path(), args, &[]);
        assert_eq!(code, Some(1), "{args:?}: {said}");
        assert!(said.contains("disk is full"), "{args:?}: {said}");
    }
}

#[test]
fn a_port_in_use_is_a_failure_not_bad_usage() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let data = common::sample_data().display().to_string();
    let (code, said) = code(&common::repo(), &["emulate", "--data", &data, "--listen", &address], &[]);
    assert_eq!(code, Some(1), "{said}");
}

/// Arguments, environment, and what the error must say.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn bad_usage_exits_with_2_and_says_what_to_write() {
    let dir = workspace("huntbook.db");
    let cases: &[Case] = &[
        (&["run", "--wait", "soon"], &[], "--wait 'soon'"),
        (&["run", "--since", "2026-11-20T00:00:00Z", "--until", "2026-11-19T00:00:00Z"], &[], "--until must be later"),
        (&["run", "--since", "yesterday", "--until", "2026-11-19T00:00:00Z"], &[], "--since 'yesterday' is not a time"),
        (&["run"], &[("HUNTBOOK_NOW", "tomorrow")], "HUNTBOOK_NOW='tomorrow' is not a time"),
        (&["query", "--now", "noon", "print 1"], &[], "--now 'noon' is not a datetime"),
        (&["query"], &[], "required arguments were not provided"),
        (&["outbox", "show", "no-such-message"], &[], "no message no-such-message"),
    ];
    for (args, env, says) in cases {
        let (code, said) = code(dir.path(), args, env);
        assert_eq!(code, Some(2), "{args:?}: {said}");
        assert!(said.contains(says), "{args:?}: {said}");
    }
    let (code, said) = code(dir.path(), &["run"], &[]);
    assert_eq!(code, Some(0), "nothing to run is a success: {said}");
}
