//! The shipped playbooks' own tests, run by the real `huntbook test` (so `cargo test` fails when one of them
//! does), the test runner's failure reports, and `huntbook init` producing a setup that validates, tests and runs.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common;
use common::{repo, stderr, stdout};

fn huntbook(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_huntbook"))
        .current_dir(dir)
        .args(args)
        .env_remove("HUNTBOOK_CONFIG")
        .env_remove("HUNTBOOK_FAILPOINT")
        .stdin(Stdio::null())
        .output()
        .expect("huntbook runs")
}

/// `name:` of every test in a playbook file (read independently of huntbook's loader).
fn test_names(playbook: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(playbook).expect("a playbook");
    let tests = text.split_once("\ntests:").map_or("", |(_, tests)| tests);
    tests.lines().filter_map(|line| line.trim_start().strip_prefix("- name: ")).map(str::to_string).collect()
}

#[test]
fn every_shipped_playbook_has_tests_and_they_pass() {
    let output = huntbook(&repo(), &["test"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    let mut total = 0;
    for entry in std::fs::read_dir(repo().join("playbooks")).expect("the playbooks") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let id = path.file_stem().expect("a name").to_string_lossy().into_owned();
        let names = test_names(&path);
        assert!(!names.is_empty(), "{id} has no tests");
        for name in names {
            assert!(out.contains(&format!("ok    {id} › {name}\n")), "{id} › {name} did not pass:\n{out}");
            total += 1;
        }
    }
    assert!(out.ends_with(&format!("{total} passed, 0 failed\n")), "{out}");
}

#[test]
fn a_wrong_expectation_fails_and_says_what_differs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(playbooks.join("tests")).expect("created");
    let source = repo().join("playbooks");
    std::fs::copy(
        source.join("tests/offboarding-package-download.jsonl"),
        playbooks.join("tests/offboarding-package-download.jsonl"),
    )
    .expect("copied");
    let text = std::fs::read_to_string(source.join("offboarding-package-download.yaml")).expect("a playbook");
    let wrong =
        text.replace("      hits: 2\n", "      hits: 3\n").replace("OsFamily: WindowsServer", "OsFamily: Linux");
    assert_ne!(wrong, text);
    std::fs::write(playbooks.join("offboarding-package-download.yaml"), wrong).expect("written");
    let config = format!(
        "playbooks: playbooks\nsource: {{ kind: local, data: '{}' }}\nreceivers:\n  soc-mail:\n    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox }}\n",
        repo().join("examples/data").display()
    );
    std::fs::write(dir.path().join("huntbook.yaml"), config).expect("written");

    let output = huntbook(dir.path(), &["test"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}\n{}", stderr(&output));
    assert!(
        out.contains("FAIL  offboarding-package-download › each download is reported once, in one e-mail"),
        "{out}"
    );
    assert!(out.contains("expected 3 hits, got 2"), "{out}");
    assert!(out.contains("no hit has ClientIP = \"192.0.2.35\", OsFamily = \"Linux\""), "{out}");
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    // A test runs in memory: it leaves no state file and delivers nothing.
    assert!(!dir.path().join("huntbook.db").exists());
    assert!(!dir.path().join("outbox").exists());
}

#[test]
fn init_makes_a_setup_that_validates_tests_and_runs_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = dir.path().join("soc");
    let output = huntbook(dir.path(), &["init", "soc"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    for file in [
        "huntbook.yaml",
        "playbooks/offboarding-package-download.yaml",
        "playbooks/tests/offboarding-package-download.jsonl",
        "templates/email-table.html.hbs",
        "templates/digest.text.hbs",
        "data/CloudAppEvents.jsonl",
        "data/FileProfile.jsonl",
    ] {
        assert!(target.join(file).is_file(), "{file} missing:\n{out}");
    }
    // The test's binary is not on the PATH: the next steps name it by its path, so that they work as shown.
    let me =
        std::path::Path::new(env!("CARGO_BIN_EXE_huntbook")).canonicalize().expect("the binary").display().to_string();
    assert!(out.contains(&format!("next: cd soc && {me} validate && {me} test && {me} run")), "{out}");
    assert!(out.contains("huntbook is not on your PATH: `cargo install --path . --locked`"), "{out}");

    let validate = huntbook(&target, &["validate"]);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    assert!(stdout(&validate).starts_with("ok: 1 playbook (1 test)"), "{}", stdout(&validate));
    let test = huntbook(&target, &["test"]);
    assert_eq!(test.status.code(), Some(0), "{}", stdout(&test));
    let run = huntbook(&target, &["run"]);
    assert_eq!(run.status.code(), Some(0), "{}\n{}", stdout(&run), stderr(&run));
    assert!(stdout(&run).contains("delivered "), "{}", stdout(&run));

    // Again: an edited file stays as the user left it.
    let config = target.join("huntbook.yaml");
    let edited = std::fs::read_to_string(&config).expect("the config") + "# edited\n";
    std::fs::write(&config, &edited).expect("written");
    let again = huntbook(dir.path(), &["init", "soc"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout(&again).contains("kept  huntbook.yaml (it exists)"), "{}", stdout(&again));
    assert!(!stdout(&again).contains("wrote"), "{}", stdout(&again));
    assert_eq!(std::fs::read_to_string(&config).expect("the config"), edited);
}

#[test]
fn validate_reports_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("playbooks")).expect("created");
    std::fs::write(
        dir.path().join("playbooks/bad.yaml"),
        "id: bad\ntitle: Bad\nseverity: severe\nschedule: { every: 15 minutes }\nquery: CloudAppEvents | where Nope == 1\nnotify:\n  - to: [soc-mial]\n",
    )
    .expect("written");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "source: {{ kind: local, data: '{}' }}\nreceivers:\n  soc-mail:\n    file: {{ dir: outbox }}\n",
            repo().join("examples/data").display()
        ),
    )
    .expect("written");
    let output = huntbook(dir.path(), &["validate"]);
    let errors = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{errors}");
    for expected in ["bad.yaml:3:11", "severe", "bad.yaml:4:", "bad.yaml:5:", "Nope", "bad.yaml:7:", "soc-mail"] {
        assert!(errors.contains(expected), "{expected} not in:\n{errors}");
    }
}

/// A workspace with one playbook (`playbook.yaml`, the text given) over the sample's offboarding downloads, and a
/// second fixture with one more download.
fn offboarding_workspace(tests: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(playbooks.join("tests")).expect("mkdir");
    let events = std::fs::read_to_string(repo().join("examples/data/CloudAppEvents.jsonl")).expect("the sample");
    let downloads: Vec<&str> = events.lines().filter(|line| line.contains("\"DownloadOffboardingPkg\"")).collect();
    std::fs::write(playbooks.join("tests/downloads.jsonl"), downloads.join("\n") + "\n").expect("fixture");
    let mut extra: serde_json::Value = serde_json::from_str(downloads[0]).expect("JSON");
    extra["ReportId"] = serde_json::json!("one-more-download");
    extra["Timestamp"] = serde_json::json!("2026-11-20T12:05:00Z");
    std::fs::write(playbooks.join("tests/one-more.jsonl"), format!("{extra}\n")).expect("fixture");
    let shipped = std::fs::read_to_string(repo().join("playbooks/offboarding-package-download.yaml")).expect("shipped");
    let without_tests = shipped.split("\ntests:").next().expect("the playbook").to_string();
    std::fs::write(playbooks.join("offboarding-package-download.yaml"), format!("{without_tests}\ntests:\n{tests}"))
        .expect("playbook");
    common::write_local_config(dir.path());
    dir
}

#[test]
fn a_test_of_several_runs_shares_one_state_and_names_the_run_that_failed() {
    let runs = |second: usize, third: usize| {
        format!(
            "  - name: sent once, then only what is new\n    data: tests/downloads.jsonl\n    runs:\n      \
             - now: 2026-11-20T12:00:00Z\n        expect: {{ hits: 1, messages: {{ soc-mail: 1 }} }}\n      \
             - now: 2026-11-20T12:15:00Z\n        expect: {{ hits: {second}, messages: {{ soc-mail: 0 }} }}\n      \
             - now: 2026-11-20T12:30:00Z\n        data: tests/one-more.jsonl\n        \
             expect: {{ hits: {third}, messages: {{ soc-mail: 1 }} }}\n"
        )
    };
    // The first run's day holds one download; the second finds nothing new (its window overlaps the first's:
    // dedup), the third the one download added.
    let dir = offboarding_workspace(&runs(0, 1));
    let output = huntbook(dir.path(), &["test"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("ok    offboarding-package-download › sent once, then only what is new"));

    // Each run on its own state would find the first download again: the same test with that expectation fails,
    // and says which run.
    let dir = offboarding_workspace(&runs(1, 2));
    let output = huntbook(dir.path(), &["test"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let out = stdout(&output);
    assert!(out.contains("FAIL  offboarding-package-download › sent once, then only what is new"), "{out}");
    assert!(out.contains("run 2 of 3 (now 2026-11-20T12:15:00Z):\n"), "{out}");
    assert!(out.contains("expected 1 hit, got 0"), "{out}");
    assert!(
        out.contains("run 3 of 3 (now 2026-11-20T12:30:00Z):\n") && out.contains("expected 2 hits, got 1"),
        "{out}"
    );
    assert!(!out.contains("run 1 of 3"), "the first run passed: {out}");

    // `now:` beside `runs:`, and runs out of order, are refused where they are written.
    let dir = offboarding_workspace(
        "  - name: both\n    data: tests/downloads.jsonl\n    now: 2026-11-20T12:00:00Z\n    runs:\n      \
         - now: 2026-11-20T12:00:00Z\n        expect: { hits: 1 }\n  \
         - name: backwards\n    data: tests/downloads.jsonl\n    runs:\n      \
         - now: 2026-11-20T12:00:00Z\n        expect: { hits: 5 }\n      - now: 2026-11-20T11:00:00Z\n        \
         expect: { hits: 0 }\n",
    );
    let output = huntbook(dir.path(), &["validate"]);
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert!(said.contains("a test has either `now:` and `expect:` (one run) or `runs:` (several), not both"), "{said}");
    assert!(said.contains("each run comes after the one before it"), "{said}");
}

#[test]
fn the_recipes_are_disabled_and_their_tests_pass() {
    let config = repo().join("examples/recipes.yaml");
    let output = huntbook(&repo(), &["test", "-c", config.to_str().expect("a path")]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let recipes: Vec<_> = std::fs::read_dir(repo().join("examples/recipes"))
        .expect("the recipes")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(recipes.len() >= 5, "{recipes:?}");
    assert!(stdout(&output).contains(&format!("{} passed, 0 failed", recipes.len())), "{}", stdout(&output));
    for recipe in recipes {
        let text = std::fs::read_to_string(&recipe).expect("a recipe");
        assert!(text.lines().any(|line| line.starts_with("enabled: false")), "{} is enabled", recipe.display());
        assert!(text.contains("  lookback: ") && text.contains("\n    runs:\n"), "{}", recipe.display());
    }
}

/// The weekly count per admin of the issue that found it: week 1 sends "Alex, 1"; week 2 has "Alex, 1" again,
/// and must send it again (the row's hash used to make it "the same hit", and the week was lost).
#[test]
fn a_weekly_aggregate_is_news_every_week_even_when_its_numbers_repeat() {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(playbooks.join("tests")).expect("mkdir");
    let isolation = |at: &str, report: &str| {
        serde_json::json!({"Timestamp": at, "ActionType": "IsolateDevice", "AccountDisplayName": "Alex Wilber",
                           "ReportId": report, "RawEventData": {"DeviceName": "pc-1"}})
        .to_string()
    };
    std::fs::write(
        playbooks.join("tests/rows.jsonl"),
        format!("{}\n{}\n", isolation("2026-11-05T10:00:00Z", "week-1"), isolation("2026-11-12T10:00:00Z", "week-2")),
    )
    .expect("fixture");
    let playbook = |expect_second: usize| {
        format!(
            "id: weekly-isolations\ntitle: Isolations per admin this week\nseverity: informational\n\
             schedule: {{ cron: \"30 7 * * MON\" }}\nquery: |\n  CloudAppEvents\n  | where ActionType == \"IsolateDevice\"\n  \
             | summarize Isolations = count() by Admin = AccountDisplayName\nnotify:\n  - to: [m]\ntests:\n  \
             - name: two weeks, two digests\n    data: tests/rows.jsonl\n    runs:\n      \
             - now: 2026-11-09T07:30:00Z\n        expect: {{ hits: 1, messages: {{ m: 1 }} }}\n      \
             - now: 2026-11-16T07:30:00Z\n        expect: {{ hits: {expect_second}, messages: {{ m: {expect_second} }} }}\n"
        )
    };
    std::fs::write(playbooks.join("weekly-isolations.yaml"), playbook(1)).expect("playbook");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: '{}' }}\nreceivers:\n  \
             m: {{ email: {{ to: [soc@contoso.example], from: hb@contoso.example, via: file, dir: out }} }}\n",
            repo().join("examples/data").display()
        ),
    )
    .expect("config");
    let output = huntbook(dir.path(), &["test"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    // The same test expecting the old behaviour fails, and says which run.
    std::fs::write(playbooks.join("weekly-isolations.yaml"), playbook(0)).expect("playbook");
    let output = huntbook(dir.path(), &["test"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("run 2 of 2 (now 2026-11-16T07:30:00Z):"), "{}", stdout(&output));
    assert!(stdout(&output).contains("expected 0 hits, got 1"), "{}", stdout(&output));
}
