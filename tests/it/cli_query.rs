//! `huntbook query` as a user runs it: formats, exit codes, files in every supported shape.

use crate::common;

use std::io::Write;
use std::process::Stdio;

use common::{huntbook, query, sample_data, stderr, stdout};

const ISOLATIONS: &str = r#"CloudAppEvents | where ActionType == "IsolateDevice" | project Timestamp, ReportId, Device = tostring(RawEventData.DeviceName), RawEventData | order by Timestamp asc | take 5"#;

#[test]
fn json_is_the_graph_response_shape() {
    let output = query(&sample_data(), &["--format", "json"], ISOLATIONS);
    assert!(output.status.success(), "{}", stderr(&output));
    let response: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        response["schema"],
        serde_json::json!([
            {"name": "Timestamp", "type": "DateTime"},
            {"name": "ReportId", "type": "String"},
            {"name": "Device", "type": "String"},
            {"name": "RawEventData", "type": "Object"}
        ])
    );
    let results = response["results"].as_array().expect("results");
    assert_eq!(results.len(), 5);
    let timestamp = results[0]["Timestamp"].as_str().expect("a string");
    assert_eq!(timestamp.len(), "2024-03-26T09:39:50.7688641Z".len(), "{timestamp}");
    assert!(timestamp.ends_with('Z') && timestamp.as_bytes()[19] == b'.');
    assert!(results[0]["RawEventData"].is_object(), "dynamic values are JSON, not strings");
}

#[test]
fn a_saved_json_result_loads_back_as_a_table() {
    let directory = tempfile::tempdir().expect("temp dir");
    let output = query(&sample_data(), &["--format", "json"], ISOLATIONS);
    std::fs::write(directory.path().join("Saved.json"), &output.stdout).expect("write");
    let again =
        query(directory.path(), &["--format", "json"], "Saved | project Timestamp, ReportId, Device, RawEventData");
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), stdout(&output), "a round trip changes nothing");
    let typed = query(
        directory.path(),
        &["--format", "csv"],
        "Saved | where Timestamp > datetime(2000-01-01) | extend Scope = tostring(RawEventData.ActionScope) | summarize count() by Scope",
    );
    assert!(typed.status.success(), "types survive the round trip: {}", stderr(&typed));
}

#[test]
fn csv_exports_and_json_arrays_load() {
    let directory = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        directory.path().join("CloudAppEvents.csv"),
        "\u{feff}Timestamp,ActionType,ApplicationId,RawEventData,Extra\n2026-11-18T09:00:00.0000000Z,IsolateDevice,11161,\"{\"\"DeviceName\"\":\"\"pc1\"\"}\",3\n2026-11-18T10:00:00Z,ReleaseFromIsolation,11161,,4\n",
    )
    .expect("write csv");
    std::fs::write(
        directory.path().join("Hosts.json"),
        r#"[{"Host": "pc1", "Seen": "2026-11-01T00:00:00Z", "Tags": ["a"]}, {"Host": "pc2", "Risk": 2.5}]"#,
    )
    .expect("write json");
    let output = query(
        directory.path(),
        &["--format", "jsonl"],
        "CloudAppEvents | extend Device = tostring(RawEventData.DeviceName) | join kind=leftouter (Hosts) on $left.Device == $right.Host | project ActionType, ApplicationId, Device, Seen, Extra + 1 | order by ActionType asc",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            r#"{"ActionType":"IsolateDevice","ApplicationId":11161,"Device":"pc1","Seen":"2026-11-01T00:00:00.0000000Z","Column1":4}"#,
            r#"{"ActionType":"ReleaseFromIsolation","ApplicationId":11161,"Device":"","Seen":null,"Column1":5}"#,
        ]
    );
    let schema = query(
        directory.path(),
        &["--format", "csv"],
        "CloudAppEvents | getschema | where ColumnName in ('ApplicationId', 'Extra', 'Timestamp')",
    );
    assert_eq!(
        stdout(&schema),
        "ColumnName,ColumnOrdinal,DataType,ColumnType\nTimestamp,0,System.DateTime,datetime\nApplicationId,2,System.Int32,int\nExtra,4,System.Int64,long\n"
    );
}

#[test]
fn table_format_is_aligned_and_cuts_long_values() {
    let output = query(
        &sample_data(),
        &["--format", "table"],
        r#"print Name = "short", Comment = strcat_delim("", "x", "y"), Long = strrep("abcdefghij", 10)"#,
    );
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Name   Comment  Long");
    assert!(lines[2].starts_with("short  xy       abcdefghij"), "{text}");
    assert!(lines[2].ends_with('…') && lines[2].chars().count() < 90, "{text}");
    assert_eq!(lines.last(), Some(&"(1 row)"));
}

#[test]
fn bad_query_exits_2_with_the_diagnostic_on_stderr() {
    let output = query(&sample_data(), &[], "CloudAppEvents | where ActionTyp == 'x'");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(stderr(&output).contains(" --> query:1:24"), "{}", stderr(&output));
}

#[test]
fn query_from_a_file_or_standard_input() {
    let directory = tempfile::tempdir().expect("temp dir");
    let file = directory.path().join("q.kql");
    std::fs::write(&file, "// a comment\nCloudAppEvents\n| count\n").expect("write");
    let from_file = huntbook().args(["query", "--format", "csv", "-f"]).arg(&file).output().expect("runs");
    assert_eq!(stdout(&from_file), "Count\n2500\n", "{}", stderr(&from_file));
    let mut child = huntbook()
        .args(["query", "--format", "csv", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"CloudAppEvents | where ActionType == 'DownloadOffboardingPkg' | count")
        .expect("write");
    let from_stdin = child.wait_with_output().expect("finishes");
    assert!(stdout(&from_stdin).starts_with("Count\n"));
}

#[test]
fn now_pins_ago() {
    let at = |now: &str| {
        let output = huntbook()
            .args(["query", "--format", "csv", "--now", now, "CloudAppEvents | where Timestamp > ago(1d) | count"])
            .output()
            .expect("runs");
        stdout(&output)
    };
    assert_ne!(at("2026-11-20T12:00:00Z"), "Count\n0\n");
    assert_eq!(at("2030-01-01T00:00:00Z"), "Count\n0\n");
    let bad = huntbook().args(["query", "--now", "yesterday", "print 1"]).output().expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--now 'yesterday' is not a datetime"), "{}", stderr(&bad));
}

#[test]
fn unreadable_lines_are_skipped_and_reported() {
    let directory = tempfile::tempdir().expect("temp dir");
    std::fs::write(directory.path().join("T.jsonl"), "{\"a\": 1}\nnot json\n{\"a\": 2}\n[1]\n").expect("write");
    let output = query(directory.path(), &["--format", "csv"], "T | summarize sum(a)");
    assert!(output.status.success());
    assert_eq!(stdout(&output), "sum_a\n3\n");
    let warning = stderr(&output);
    assert!(
        warning.contains("skipped 2 lines") && warning.contains("T.jsonl: line 2 is not a JSON object"),
        "{warning}"
    );
}

#[test]
fn a_missing_data_directory_is_a_clear_error() {
    let output = huntbook().args(["query", "--data", "/nonexistent/huntbook", "print 1"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot read the data directory /nonexistent/huntbook"), "{}", stderr(&output));
}

#[test]
fn two_files_for_one_table_are_refused() {
    let directory = tempfile::tempdir().expect("temp dir");
    std::fs::write(directory.path().join("T.jsonl"), "{}\n").expect("write");
    std::fs::write(directory.path().join("T.csv"), "a\n1\n").expect("write");
    let output = query(directory.path(), &[], "T");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("two files hold the table 'T'"), "{}", stderr(&output));
}

/// `search` with no `in` looks in every table: the rows of the tables that have data, each under its `$table`,
/// and one note for the tables without a file (sixty lines of notes once hid the answer).
#[test]
fn a_search_of_every_table_finds_the_rows_and_notes_the_empty_tables_once() {
    let output =
        query(&sample_data(), &["--format", "csv"], "search 'DownloadOffboardingPkg' | project $table, ActionType");
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(!rows.is_empty() && rows.iter().all(|row| *row == "CloudAppEvents,DownloadOffboardingPkg"), "{rows:?}");
    let notes = stderr(&output);
    assert_eq!(notes.lines().count(), 1, "{notes}");
    assert!(notes.contains("tables have no file in") && notes.contains("read as empty"), "{notes}");
}
