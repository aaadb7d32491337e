//! What a new user tripped over (issue 14), each as they met it: a pipe into `head`, a count of one, a
//! playbook name mistyped in `runs`, a date without a time, a long playbook id, a `when:` naming a column
//! that is not there.

use crate::common;

use std::process::{Output, Stdio};

fn huntbook(dir: &std::path::Path, args: &[&str]) -> Output {
    common::huntbook().current_dir(dir).args(args).env_remove("HUNTBOOK_CONFIG").output().expect("huntbook runs")
}

#[test]
fn a_reader_that_stops_reading_is_not_an_error() {
    let dir = common::quarter_hour_workspace("");
    // `huntbook outbox list | head -0`: the reading end is closed before huntbook writes.
    let mut child = common::huntbook()
        .current_dir(dir.path())
        .args(["outbox", "list"])
        .env_remove("HUNTBOOK_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("ends");
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    assert!(!common::stderr(&output).contains("Broken pipe"), "{}", common::stderr(&output));
}

#[test]
fn counts_of_one_are_singular_and_runs_of_an_unknown_playbook_is_a_mistake() {
    let dir = common::quarter_hour_workspace("");
    let validated = huntbook(dir.path(), &["validate"]);
    assert!(
        common::stdout(&validated).starts_with("ok: 1 playbook (0 tests), 1 receiver, 2 templates"),
        "{}",
        common::stdout(&validated)
    );

    let never = huntbook(dir.path(), &["runs", "quarter"]);
    assert_eq!(never.status.code(), Some(0));
    assert!(common::stdout(&never).starts_with("no runs yet"), "{}", common::stdout(&never));
    huntbook(dir.path(), &["run"]);
    let typo = huntbook(dir.path(), &["runs", "quater"]);
    assert_eq!(typo.status.code(), Some(2), "{}", common::stdout(&typo));
    assert!(
        common::stderr(&typo).contains("no playbook quater")
            && common::stderr(&typo).contains("did you mean `quarter`?"),
        "{}",
        common::stderr(&typo)
    );
}

#[test]
fn a_window_may_be_given_as_dates_and_long_ids_keep_the_columns_aligned() {
    let dir = common::quarter_hour_workspace("");
    let long = "a-playbook-whose-id-is-longer-than-thirty-two-characters";
    let text = std::fs::read_to_string(dir.path().join("playbooks/quarter.yaml")).expect("playbook");
    std::fs::write(
        dir.path().join(format!("playbooks/{long}.yaml")),
        text.replace("id: quarter", &format!("id: {long}")),
    )
    .expect("written");
    let output = huntbook(dir.path(), &["run", "--since", "2026-11-19", "--until", "2026-11-20"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", common::stdout(&output), common::stderr(&output));
    let out = common::stdout(&output);
    let lines: Vec<&str> = out.lines().filter(|line| line.contains(" rows ")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines.iter().all(|line| line.contains("2026-11-19 00:00:00 → 2026-11-20 00:00:00")), "{out}");
    let column = |line: &str| line.find(" rows ").expect("a rows column");
    assert_eq!(column(lines[0]), column(lines[1]), "{out}");
}

#[test]
fn a_when_naming_a_missing_column_lists_the_columns() {
    let dir = common::quarter_hour_workspace("");
    let path = dir.path().join("playbooks/quarter.yaml");
    let text = std::fs::read_to_string(&path).expect("playbook") + "    when: Zzz == 1\n";
    std::fs::write(&path, text).expect("written");
    let output = huntbook(dir.path(), &["validate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        common::stderr(&output).contains("the hits' columns are Timestamp, AccountDisplayName"),
        "{}",
        common::stderr(&output)
    );
}

/// In a project made by `init`, `huntbook query` reads the project's data as `run` does: its directory, its times
/// rebased (it used to look for examples/data and fail).
#[test]
fn query_in_a_project_reads_its_data_as_run_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("soc");
    let made = common::huntbook().arg("init").arg(&project).env_remove("HUNTBOOK_CONFIG").output().expect("init");
    assert_eq!(made.status.code(), Some(0), "{}", common::stderr(&made));
    let output =
        huntbook(&project, &["query", "--format", "csv", "CloudAppEvents | summarize Newest = max(Timestamp)"]);
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    assert!(common::stderr(&output).contains("times are rebased"), "{}", common::stderr(&output));
    let newest = common::stdout(&output).lines().nth(1).unwrap_or_default().to_string();
    let newest = chrono::DateTime::parse_from_rfc3339(&newest).expect("a time").with_timezone(&chrono::Utc);
    let age = chrono::Utc::now() - newest;
    assert!(
        age > chrono::TimeDelta::minutes(55) && age < chrono::TimeDelta::minutes(65),
        "newest row {newest}, {age} ago"
    );
    // `--data` is taken as given, not rebased.
    let given = huntbook(
        &project,
        &["query", "--data", "data", "--format", "csv", "CloudAppEvents | summarize max(Timestamp)"],
    );
    assert!(common::stdout(&given).contains("2026-11-20T11:51:30"), "{}", common::stdout(&given));
}

/// With huntbook on the PATH, `init`'s next steps call it by its name.
#[test]
fn init_names_huntbook_by_its_name_when_it_is_on_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_huntbook"));
    let path = std::env::join_paths([binary.parent().expect("its directory")]).expect("a PATH");
    let output = common::huntbook()
        .current_dir(dir.path())
        .args(["init", "soc"])
        .env("PATH", path)
        .env_remove("HUNTBOOK_CONFIG")
        .output()
        .expect("init");
    let out = common::stdout(&output);
    assert!(out.contains("next: cd soc && huntbook validate && huntbook test && huntbook run"), "{out}");
    assert!(!out.contains("not on your PATH"), "{out}");
}

/// `huntbook test` says which window a failing test ran over, and that it skipped fixture lines that are not rows.
#[test]
fn a_test_says_its_window_and_the_fixture_lines_it_skipped() {
    let dir = common::quarter_hour_workspace("");
    let path = dir.path().join("playbooks/quarter.yaml");
    std::fs::create_dir_all(dir.path().join("playbooks/tests")).expect("mkdir");
    std::fs::write(
        dir.path().join("playbooks/tests/q.jsonl"),
        "{\"Timestamp\":\"2026-11-20T11:50:00Z\",\"ActionType\":\"DownloadOffboardingPkg\",\"AccountDisplayName\":\"Ann\"}\n\
         this line is not JSON, though it names DownloadOffboardingPkg\n\
         {\"Timestamp\":\"yesterday\",\"ActionType\":\"DownloadOffboardingPkg\",\"AccountDisplayName\":\"Bo\"}\n",
    )
    .expect("fixture");
    let text = std::fs::read_to_string(&path).expect("playbook")
        + "tests:\n  - name: one download\n    data: tests/q.jsonl\n    now: 2026-11-20T12:00:00Z\n    expect: { hits: 1 }\n\
           \x20 - name: two downloads\n    data: tests/q.jsonl\n    now: 2026-11-20T12:00:00Z\n    expect: { hits: 2 }\n";
    std::fs::write(&path, text).expect("written");
    let output = huntbook(dir.path(), &["test"]);
    let out = common::stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("ok    quarter › one download\n        warning: skipped 1 fixture line that is not rows; the first: q.jsonl: line 2 is not a JSON object"),
        "{out}"
    );
    assert!(
        out.contains("        warning: 1 fixture row has a Timestamp that is not a datetime, so no window holds it; the first: q.jsonl: line 3: \"yesterday\""),
        "{out}"
    );
    assert!(out.contains("FAIL  quarter › two downloads\n        the run covered 2026-11-20 11:40:00 → 2026-11-20 11:55:00 UTC\n        expected 2 hits, got 1"), "{out}");
}

#[test]
fn a_misspelt_column_in_a_subject_or_title_and_an_unknown_template_are_reported_together() {
    let dir = tempfile::tempdir().expect("temp dir");
    let init = huntbook(dir.path(), &["init", "."]);
    assert_eq!(init.status.code(), Some(0), "{}", common::stderr(&init));
    let config = dir.path().join("huntbook.yaml");
    let text = std::fs::read_to_string(&config).expect("config").replace("template: digest", "template: digset");
    std::fs::write(&config, text).expect("written");
    let playbook = dir.path().join("playbooks/offboarding-package-download.yaml");
    let text = std::fs::read_to_string(&playbook)
        .expect("playbook")
        .replace("{{first.UserId}}", "{{first.AccountDisplayNam}}")
        .replace(
            "DeploymentMethod]\n",
            "DeploymentMethod]\n  - to: [soc-teams]\n    title: \"{{#each hits}}{{UserID}} {{/each}}\"\n    columns: [UserId, ClientIp]\n",
        );
    std::fs::write(&playbook, text).expect("written");
    let output = huntbook(dir.path(), &["validate"]);
    assert_eq!(output.status.code(), Some(2));
    let problems = common::stderr(&output);
    for expected in [
        "unknown template `digset`",
        "did you mean `digest`?",
        "the subject names `AccountDisplayNam`, which the hits do not have",
        "did you mean `AccountDisplayName`?",
        "the title names `UserID`, which the hits do not have",
        "did you mean `UserId`?",
        "the query has no column `ClientIp`",
        "did you mean `ClientIP`?",
        "4 problems",
    ] {
        assert!(problems.contains(expected), "{expected:?} not in:\n{problems}");
    }
    // The subject's problem points at the name in the file.
    assert!(problems.contains("{{first.AccountDisplayNam}}") && problems.contains("^^^^^^^^^^^^^^^^^"), "{problems}");
}

#[test]
fn outbox_ids_are_listed_short_and_a_short_id_names_its_message() {
    let dir = common::quarter_hour_workspace("");
    let path = dir.path().join("playbooks/quarter.yaml");
    let text = std::fs::read_to_string(&path)
        .expect("playbook")
        .replace("  - to: [files]\n", "  - to: [files]\n    per: hit\n");
    std::fs::write(&path, text).expect("written");
    let run = huntbook(dir.path(), &["run", "--since", "2026-11-01", "--until", "2026-11-21"]);
    assert_eq!(run.status.code(), Some(0), "{}", common::stderr(&run));
    let listed = huntbook(dir.path(), &["outbox", "list", "--all"]);
    let out = common::stdout(&listed);
    let ids: Vec<&str> = out.lines().skip(1).filter_map(|line| line.split_whitespace().next()).collect();
    assert!(ids.len() >= 2, "one message per download: {out}");
    assert!(ids.iter().all(|id| id.len() == 8), "{out}");
    let distinct: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "short ids differ: {out}");

    let shown = huntbook(dir.path(), &["outbox", "show", ids[1]]);
    assert_eq!(shown.status.code(), Some(0), "{}", common::stderr(&shown));
    let first_line = common::stdout(&shown).lines().next().unwrap_or_default().to_string();
    assert!(
        first_line.starts_with("id        ") && first_line.ends_with(&format!("(short {})", ids[1])),
        "{first_line}"
    );
    // The start of an id is the time it was made: shared by the messages of a run, so it names none of them.
    let full = first_line.split_whitespace().nth(1).expect("the full id");
    let ambiguous = huntbook(dir.path(), &["outbox", "show", &full[..8]]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(common::stderr(&ambiguous).contains("names several messages"), "{}", common::stderr(&ambiguous));
}

#[test]
fn links_name_columns_the_hits_have_or_none() {
    let dir = common::quarter_hour_workspace("");
    let path = dir.path().join("playbooks/quarter.yaml");
    let original = std::fs::read_to_string(&path).expect("playbook");
    let with = |links: &str| {
        std::fs::write(&path, format!("{original}    links: {links}\n")).expect("written");
        huntbook(dir.path(), &["validate"])
    };
    let misspelt = with("{ user: AccountDisplayNam, file: nope }");
    let said = common::stderr(&misspelt);
    assert_eq!(misspelt.status.code(), Some(2), "{said}");
    assert!(said.contains("quarter.yaml:8:20"), "{said}");
    assert!(said.contains("did you mean `AccountDisplayName`?"), "{said}");
    assert!(said.contains("quarter.yaml:8:45"), "both mistakes are reported: {said}");
    assert!(!said.contains("device"), "{said}");
    for fine in ["none", "{ user: AccountDisplayName, device: none }"] {
        let output = with(fine);
        assert_eq!(output.status.code(), Some(0), "{fine}: {}", common::stderr(&output));
    }
    let unknown_kind = with("{ host: AccountDisplayName }");
    assert_eq!(unknown_kind.status.code(), Some(2));
    assert!(common::stderr(&unknown_kind).contains("host"), "{}", common::stderr(&unknown_kind));
}

/// Over rebased sample data, computed times agree with the data: the rows are moved before the query, not its
/// answer after (a `bin(Timestamp, 1d)` used to come out as `07:16:00.41`, and `format_datetime` disagreed with
/// the `Timestamp` beside it).
#[test]
fn rebased_data_is_moved_before_the_query_so_computed_times_agree() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("soc");
    let made = common::huntbook().arg("init").arg(&project).env_remove("HUNTBOOK_CONFIG").output().expect("init");
    assert_eq!(made.status.code(), Some(0), "{}", common::stderr(&made));
    let query = "CloudAppEvents | where ActionType == 'IsolateDevice' | summarize n = count() by Day = bin(Timestamp, 1d) \
                 | join kind=inner (CloudAppEvents | where ActionType == 'IsolateDevice' \
                 | project Timestamp, Shown = format_datetime(Timestamp, 'yyyy-MM-dd HH:mm:ss.fffffff'), \
                 Day = bin(Timestamp, 1d)) on Day | project Day, Timestamp, Shown";
    let output = huntbook(&project, &["query", "--format", "json", query]);
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    assert!(common::stderr(&output).contains("times are rebased"), "{}", common::stderr(&output));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let rows = answer["results"].as_array().expect("rows");
    assert!(rows.len() >= 10, "{answer}");
    for row in rows {
        let day = row["Day"].as_str().expect("a day");
        assert!(day.ends_with("T00:00:00.0000000Z"), "a day starts at midnight: {day}");
        let timestamp = row["Timestamp"].as_str().expect("a time");
        assert!(timestamp.starts_with(&day[..10]), "{timestamp} is on {day}");
        let shown = row["Shown"].as_str().expect("shown");
        assert_eq!(shown.replace(' ', "T") + "Z", timestamp, "format_datetime agrees with the column");
    }
    // A query that reads no table is not told about rebasing.
    let plain = huntbook(&project, &["query", "print now()"]);
    assert!(!common::stderr(&plain).contains("rebased"), "{}", common::stderr(&plain));
}
