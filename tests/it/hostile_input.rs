//! Input that once crashed huntbook or silently lost data, through the real binary: a query of thousands of
//! `or` clauses, a table file with one byte that is not UTF-8, a value holding half a UTF-16 surrogate pair.
//! Each is either read (and what was repaired or skipped is said) or refused with a message; nothing aborts.

use crate::common;

use std::path::Path;

use common::{copy_playbooks, huntbook, stderr, stdout};

/// One isolation by a person, as the shipped playbook looks for it, with `comment` written into the JSON line
/// as it is (so a test can put raw escapes in it).
fn isolation_line(report: &str, device: &str, comment_json: &str) -> String {
    format!(
        r#"{{"Timestamp":"2026-11-20T11:05:00Z","ActionType":"IsolateDevice","AccountDisplayName":"Ann","AccountType":"Regular","ReportId":"{report}","RawEventData":{{"UserId":"ann@contoso.example","DeviceName":"{device}","DeviceId":"d-{report}","ActionScope":"Full","ActionComment":"{comment_json}"}}}}"#
    )
}

fn write_lines(dir: &Path, table: &str, lines: &[Vec<u8>]) {
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    std::fs::write(dir.join(format!("{table}.jsonl")), bytes).expect("write the table");
}

fn query(data: &Path, text: &str) -> std::process::Output {
    huntbook().args(["query", "--format", "json", "--data"]).arg(data).arg(text).output().expect("huntbook runs")
}

fn results(output: &std::process::Output) -> Vec<serde_json::Value> {
    let response: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json output");
    response["results"].as_array().expect("results").clone()
}

#[test]
fn a_query_of_4500_or_clauses_runs_and_a_100000_term_sum_is_refused_without_a_crash() {
    let clauses: Vec<String> = (0..4500).map(|i| format!("ActionType == \"A{i}\"")).collect();
    let text = format!("CloudAppEvents | where {} or ActionType == \"IsolateDevice\" | count", clauses.join(" or "));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("or.kql");
    std::fs::write(&file, &text).expect("write");
    let output = huntbook()
        .args(["query", "--format", "json", "--data"])
        .arg(common::sample_data())
        .arg("-f")
        .arg(&file)
        .output()
        .expect("huntbook runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let expected = common::raw_events().iter().filter(|e| e["ActionType"] == "IsolateDevice").count();
    assert_eq!(results(&output)[0]["Count"], expected);

    let sum = format!("print x = {}", vec!["1"; 100_000].join(" + "));
    std::fs::write(&file, &sum).expect("write");
    let output = huntbook().args(["query", "-f"]).arg(&file).output().expect("huntbook runs");
    assert_eq!(output.status.code(), Some(2), "refused, not aborted: {:?}\n{}", output.status, stderr(&output));
    assert!(stderr(&output).contains("nested too deeply for the local engine"), "{}", stderr(&output));
}

#[test]
fn a_playbook_with_4500_or_clauses_validates_and_runs_beside_the_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    copy_playbooks(&playbooks, &["offboarding-package-download", "manual-device-isolation"]);
    let clauses: Vec<String> = (0..4500).map(|i| format!("ActionType == \"A{i}\"")).collect();
    std::fs::write(
        playbooks.join("long.yaml"),
        format!(
            "id: long\ntitle: Long\nseverity: low\nschedule: {{ every: 1h }}\nquery: |\n  CloudAppEvents | where {} or ActionType == \"DownloadOffboardingPkg\"\nnotify:\n  - to: [files]\n",
            clauses.join(" or ")
        ),
    )
    .expect("write the playbook");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: '{}', rebase_time: true }}\n\
             first_lookback: 30d\nreceivers:\n  files: {{ file: {{ dir: outbox }} }}\n  soc-mail: {{ file: {{ dir: outbox }} }}\n  soc-teams: {{ file: {{ dir: outbox }} }}\n",
            common::sample_data().display()
        ),
    )
    .expect("write the configuration");
    let run = |args: &[&str]| huntbook().current_dir(dir.path()).args(args).output().expect("huntbook runs");
    let validated = run(&["validate"]);
    assert_eq!(validated.status.code(), Some(0), "{}{}", stdout(&validated), stderr(&validated));
    let ran = run(&["run", "--all"]);
    assert_eq!(ran.status.code(), Some(0), "{}{}", stdout(&ran), stderr(&ran));
    let summary = stdout(&ran);
    for playbook in ["long", "offboarding-package-download", "manual-device-isolation"] {
        assert!(summary.lines().any(|l| l.starts_with(playbook) && l.contains("new hits")), "{playbook}: {summary}");
    }
}

#[test]
fn one_byte_that_is_not_utf8_skips_its_line_and_the_rest_of_the_table_reads() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut broken = isolation_line("r2", "pc2", "bad").into_bytes();
    let at = broken.len() - 10;
    broken[at] = 0xff;
    write_lines(
        data.path(),
        "CloudAppEvents",
        &[isolation_line("r1", "pc1", "ok").into_bytes(), broken, isolation_line("r3", "pc3", "ok").into_bytes()],
    );
    let output = query(data.path(), "CloudAppEvents | project ReportId");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let reports: Vec<String> = results(&output).iter().map(|r| r["ReportId"].as_str().unwrap_or("").into()).collect();
    assert_eq!(reports, ["r1", "r3"]);
    let said = stderr(&output);
    assert!(said.contains("skipped 1 line") && said.contains("not UTF-8"), "{said}");
}

#[test]
fn a_lone_surrogate_is_read_as_the_replacement_character_and_every_other_field_is_kept() {
    let data = tempfile::tempdir().expect("temp dir");
    write_lines(
        data.path(),
        "CloudAppEvents",
        &[
            isolation_line("r1", "pc1", "malware\\udc80 found").into_bytes(),
            // Top-level, and half a pair cut by another escape.
            br#"{"Timestamp":"2026-11-20T11:06:00Z","ActionType":"IsolateDevice","AccountDisplayName":"B\ud800ob","ReportId":"r2","RawEventData":{"DeviceName":"pc2"}}"#.to_vec(),
        ],
    );
    let output = query(
        data.path(),
        "CloudAppEvents | project ReportId, AccountDisplayName, Device = tostring(RawEventData.DeviceName), \
         Comment = tostring(RawEventData.ActionComment), Actor = tostring(RawEventData.UserId)",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let rows = results(&output);
    assert_eq!(rows[0]["Device"], "pc1");
    assert_eq!(rows[0]["Actor"], "ann@contoso.example");
    assert_eq!(rows[0]["Comment"], "malware\u{fffd} found");
    assert_eq!(rows[1]["AccountDisplayName"], "B\u{fffd}ob");
    assert_eq!(rows[1]["Device"], "pc2");
    let said = stderr(&output);
    assert!(said.contains("2 rows held text that is not Unicode") && said.contains("surrogate"), "{said}");
}

#[test]
fn an_isolation_whose_comment_holds_half_a_surrogate_pair_is_still_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&data).expect("mkdir");
    copy_playbooks(&playbooks, &["manual-device-isolation"]);
    write_lines(&data, "CloudAppEvents", &[isolation_line("r1", "pc1", "\\ud83d isolated <b>now</b>").into_bytes()]);
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        "state: huntbook.db\nplaybooks: playbooks\nsource: { kind: local, data: data, rebase_time: true }\n\
         first_lookback: 30d\nreceivers:\n  soc-teams: { teams: { dir: outbox } }\n",
    )
    .expect("write the configuration");
    let output = huntbook().current_dir(dir.path()).args(["run", "--all"]).output().expect("huntbook runs");
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("1 rows held text that is not Unicode"), "{}", stderr(&output));
    let cards: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).expect("outbox").flatten().collect();
    assert_eq!(cards.len(), 1, "the isolation is reported");
    let card = std::fs::read_to_string(cards[0].path()).expect("read the card");
    assert!(card.contains("pc1") && card.contains('\u{fffd}'), "{card}");
}

/// A right-to-left mark, an escape sequence, a bell and a NUL in a download's fields: the e-mail's subject, text
/// and HTML and the CSV attachment show each by its code point, as the card does (they used to keep them raw —
/// Teams showed `‹U+200F›` while the e-mail reordered the text, and the CSV carried the escape sequence).
#[test]
fn control_and_bidi_characters_are_shown_by_code_point_in_every_part_of_an_email() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    copy_playbooks(&dir.path().join("playbooks"), &["offboarding-package-download"]);
    let long = "x".repeat(400);
    let line = format!(
        r#"{{"Timestamp":"2026-11-20T11:05:00Z","ActionType":"DownloadOffboardingPkg","AccountDisplayName":"Eve\u200f","ReportId":"r1","RawEventData":{{"UserId":"\u200feve\u001b[31m\u0007@contoso.example","ClientIP":"10.0.0.1\u0000{long}","OsFamily":"Windows"}}}}"#
    );
    write_lines(&data, "CloudAppEvents", &[line.into_bytes()]);
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        "state: huntbook.db\nplaybooks: playbooks\nsource: { kind: local, data: data, rebase_time: true }\n\
         first_lookback: 30d\nreceivers:\n  soc-mail: { email: { to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox } }\n",
    )
    .expect("write the configuration");
    let output = huntbook().current_dir(dir.path()).args(["run", "--all"]).output().expect("huntbook runs");
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).expect("outbox").flatten().collect();
    assert_eq!(files.len(), 1);
    let mime = std::fs::read(files[0].path()).expect("the e-mail");
    let parsed = mail_parser::MessageParser::default().parse(&mime).expect("MIME");
    let subject = parsed.subject().expect("a subject");
    assert!(subject.contains("‹U+200F›eve‹U+001B›[31m‹U+0007›@contoso.example"), "{subject}");
    let text = parsed.body_text(0).expect("a text part");
    let html = parsed.body_html(0).expect("an HTML part");
    let csv = parsed.attachment(0).map(|part| String::from_utf8_lossy(part.contents()).into_owned()).expect("the CSV");
    for (part, content) in
        [("subject", subject.to_string()), ("text", text.to_string()), ("html", html.to_string()), ("csv", csv)]
    {
        assert!(content.contains("‹U+200F›"), "{part}: {content}");
        for hidden in ['\u{200F}', '\u{1B}', '\u{7}', '\u{0}'] {
            assert!(!content.contains(hidden), "{part} holds U+{:04X}", u32::from(hidden));
        }
    }
}
