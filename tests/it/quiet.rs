//! Alert control through the real binary: `notify[].suppress` (no second message to a receiver for the same
//! values within a time, the suppressed hits recorded and counted) and `huntbook silence` (made between runs,
//! recorded with the silence's id, ending when it expires or is removed).

use std::path::Path;
use std::process::Output;

use crate::common;

/// A project whose one playbook (`downloads`) runs every hour over `data/CloudAppEvents.jsonl`, with these
/// `notify` lines, writing messages under `out/<receiver>/`.
fn project(notify: &str, rows: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("playbooks")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(
        dir.path().join("playbooks/downloads.yaml"),
        format!(
            "id: downloads\ntitle: Offboarding package downloaded\nseverity: high\n\
             schedule: {{ every: 1h, first_lookback: 1h, overlap: 0m, delay: 0m }}\n\
             query: |\n  CloudAppEvents\n  | where ActionType == \"DownloadOffboardingPkg\"\n\
             \x20 | project Timestamp, AccountDisplayName, IPAddress, ReportId\n\
             notify:\n{notify}"
        ),
    )
    .expect("playbook");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        "state: huntbook.db\nplaybooks: playbooks\nsource: { kind: local, data: data }\n\
         receivers:\n  soc: { file: { dir: out/soc } }\n  hr: { file: { dir: out/hr } }\n",
    )
    .expect("config");
    write_rows(dir.path(), rows);
    dir
}

/// The data: one `DownloadOffboardingPkg` event per (time, account, report id).
fn write_rows(dir: &Path, rows: &[(&str, &str, &str)]) {
    let lines: String = rows
        .iter()
        .map(|(time, account, report)| {
            format!(
                "{}\n",
                serde_json::json!({
                    "Timestamp": time, "ActionType": "DownloadOffboardingPkg", "AccountDisplayName": account,
                    "IPAddress": "192.0.2.7", "ReportId": report
                })
            )
        })
        .collect();
    std::fs::write(dir.join("data/CloudAppEvents.jsonl"), lines).expect("data");
}

fn huntbook(dir: &Path, now: &str, args: &[&str]) -> Output {
    common::huntbook()
        .current_dir(dir)
        .args(args)
        .env_remove("HUNTBOOK_CONFIG")
        .env("HUNTBOOK_NOW", now)
        .output()
        .expect("huntbook runs")
}

fn ok(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}{}", common::stdout(output), common::stderr(output));
    common::stdout(output)
}

/// The accounts of every message a receiver got, one list per message, in the order they were written.
fn delivered(dir: &Path, receiver: &str) -> Vec<Vec<String>> {
    let folder = dir.join("out").join(receiver);
    let mut files: Vec<_> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.map(|entry| entry.expect("entry").path()).collect(),
        Err(_) => return Vec::new(),
    };
    files.sort();
    files
        .iter()
        .map(|file| {
            let document: serde_json::Value =
                serde_json::from_slice(&std::fs::read(file).expect("message")).expect("JSON");
            document["hits"]
                .as_array()
                .expect("hits")
                .iter()
                .map(|hit| hit["AccountDisplayName"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn a_second_message_for_the_same_values_within_suppress_for_is_not_sent_and_is_counted() {
    let rows = [
        ("2026-11-20T09:10:00Z", "Megan Bowen", "r1"),
        ("2026-11-20T09:20:00Z", "Megan Bowen", "r2"),
        ("2026-11-20T09:30:00Z", "Alex Wilber", "r3"),
        ("2026-11-20T10:30:00Z", "Megan Bowen", "r4"),
        ("2026-11-21T10:10:00Z", "Megan Bowen", "r5"),
    ];
    // `soc` hears of each account once a day; `hr` of every download.
    let dir = project(
        "  - to: [soc]\n    per: hit\n    suppress: { for: 24h, by: [AccountDisplayName] }\n  - to: [hr]\n    per: hit\n",
        &rows,
    );
    let first = ok(&huntbook(dir.path(), "2026-11-20T10:00:00Z", &["run"]));
    assert!(first.contains("new hits     3") && first.contains("suppressed 1"), "{first}");
    assert_eq!(delivered(dir.path(), "soc"), [vec!["Megan Bowen"], vec!["Alex Wilber"]]);
    assert_eq!(delivered(dir.path(), "hr").len(), 3, "a receiver without suppress gets every hit");

    // An hour later Megan downloads again: within the 24 hours of the first message, nothing to soc.
    let second = ok(&huntbook(dir.path(), "2026-11-20T11:00:00Z", &["run"]));
    assert!(second.contains("new hits     1") && second.contains("suppressed 1"), "{second}");
    assert_eq!(delivered(dir.path(), "soc").len(), 2);
    assert_eq!(delivered(dir.path(), "hr").len(), 4);

    // The next day, 24 hours after the message (not after the suppressed hit): soc hears of her again.
    let third = ok(&huntbook(
        dir.path(),
        "2026-11-21T10:30:00Z",
        &["run", "downloads", "--since", "2026-11-21T10:00:00Z", "--until", "2026-11-21T10:30:00Z"],
    ));
    assert!(!third.contains("suppressed"), "{third}");
    assert_eq!(delivered(dir.path(), "soc").len(), 3);
    assert_eq!(delivered(dir.path(), "soc")[2], ["Megan Bowen"]);

    let runs = ok(&huntbook(dir.path(), "2026-11-21T10:31:00Z", &["runs"]));
    assert_eq!(runs.matches("succeeded, 1 suppressed").count(), 2, "{runs}");
    // Each suppressed hit is in the state file with the receiver it was kept from.
    let store = huntbook::store::Store::open(&dir.path().join("huntbook.db")).expect("state");
    let quiet: Vec<_> = store
        .runs(Some("downloads"), 10)
        .expect("runs")
        .iter()
        .flat_map(|run| store.quiet_hits(&run.id).expect("quiet hits"))
        .collect();
    let keys: Vec<&str> = quiet.iter().map(|hit| hit.hit_key.as_str()).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&"r2") && keys.contains(&"r4"), "{keys:?}");
    assert!(quiet.iter().all(|hit| hit.why == huntbook::store::Quieted::Suppressed { receiver: "soc".into() }));
}

#[test]
fn suppression_without_by_sends_at_most_one_message_per_receiver_within_for() {
    let rows = [
        ("2026-11-20T09:10:00Z", "Megan Bowen", "r1"),
        ("2026-11-20T09:20:00Z", "Alex Wilber", "r2"),
        ("2026-11-20T10:30:00Z", "Adele Vance", "r3"),
    ];
    let dir = project("  - to: [soc]\n    suppress: { for: 2h }\n", &rows);
    ok(&huntbook(dir.path(), "2026-11-20T10:00:00Z", &["run"]));
    // One message per run (the default), with both hits: suppression never splits what one message holds.
    assert_eq!(delivered(dir.path(), "soc"), [vec!["Megan Bowen", "Alex Wilber"]]);
    let second = ok(&huntbook(dir.path(), "2026-11-20T11:00:00Z", &["run"]));
    assert!(second.contains("messages   0") && second.contains("suppressed 1"), "{second}");
}

#[test]
fn a_silence_added_between_two_runs_silences_the_second_until_it_expires_or_is_removed() {
    let rows = [
        ("2026-11-20T09:10:00Z", "Megan Bowen", "r1"),
        ("2026-11-20T10:10:00Z", "Megan Bowen", "r2"),
        ("2026-11-20T10:20:00Z", "Alex Wilber", "r3"),
        ("2026-11-20T11:10:00Z", "Megan Bowen", "r4"),
        ("2026-11-20T13:10:00Z", "Megan Bowen", "r5"),
    ];
    let dir = project("  - to: [soc]\n    per: hit\n", &rows);
    ok(&huntbook(dir.path(), "2026-11-20T10:00:00Z", &["run"]));
    assert_eq!(delivered(dir.path(), "soc").len(), 1);

    // A mistake in the condition is caught when it is added, with the columns there are.
    let typo = huntbook(
        dir.path(),
        "2026-11-20T10:01:00Z",
        &["silence", "add", "--playbook", "downloads", "--where", "Account == 'x'", "--for", "1h", "--reason", "r"],
    );
    assert_eq!(typo.status.code(), Some(2));
    assert!(common::stderr(&typo).contains("AccountDisplayName"), "{}", common::stderr(&typo));

    let added = ok(&huntbook(
        dir.path(),
        "2026-11-20T10:01:00Z",
        &[
            "silence",
            "add",
            "--playbook",
            "downloads",
            "--where",
            "AccountDisplayName == 'Megan Bowen'",
            "--for",
            "90m",
            "--reason",
            "offboarding test devices",
            "--author",
            "jo",
        ],
    ));
    let id = added.split_whitespace().next().expect("an id").to_string();
    assert!(id.starts_with("s-") && added.contains("until 2026-11-20 11:31:00 UTC"), "{added}");

    let second = ok(&huntbook(dir.path(), "2026-11-20T11:00:00Z", &["run"]));
    assert!(second.contains("new hits     2") && second.contains("silenced 1"), "{second}");
    assert_eq!(delivered(dir.path(), "soc")[1], ["Alex Wilber"], "Megan's download is silenced, Alex's is not");
    let listed = ok(&huntbook(dir.path(), "2026-11-20T11:01:00Z", &["silence", "list"]));
    assert!(listed.contains(&id) && listed.contains("offboarding test devices") && listed.contains("jo"), "{listed}");
    let line = listed.lines().find(|line| line.starts_with(&id)).expect("the silence's line");
    assert_eq!(line.split_whitespace().nth(4), Some("1"), "one hit silenced: {listed}");
    let runs = ok(&huntbook(dir.path(), "2026-11-20T11:01:00Z", &["runs"]));
    assert!(runs.contains("succeeded, 1 silenced"), "{runs}");

    // At 12:00 the silence (until 11:31) is over: Megan's next download is heard.
    ok(&huntbook(dir.path(), "2026-11-20T12:00:00Z", &["run"]));
    assert_eq!(delivered(dir.path(), "soc")[2], ["Megan Bowen"]);
    let listed = ok(&huntbook(dir.path(), "2026-11-20T12:00:00Z", &["silence", "list"]));
    assert!(listed.starts_with("no silences in force"), "{listed}");
    let all = ok(&huntbook(dir.path(), "2026-11-20T12:00:00Z", &["silence", "list", "--all"]));
    assert!(all.contains(&id) && all.contains("expired"), "{all}");

    // A new silence, removed before the run: it silences nothing.
    let added = ok(&huntbook(
        dir.path(),
        "2026-11-20T12:05:00Z",
        &["silence", "add", "-p", "downloads", "--where", "true", "--for", "1d", "--reason", "all"],
    ));
    let second_id = added.split_whitespace().next().expect("an id").to_string();
    let removed = ok(&huntbook(dir.path(), "2026-11-20T12:06:00Z", &["silence", "remove", &second_id]));
    assert!(removed.contains("removed"), "{removed}");
    let unknown = huntbook(dir.path(), "2026-11-20T12:06:00Z", &["silence", "remove", "s-00000000"]);
    assert_eq!(unknown.status.code(), Some(2));
    ok(&huntbook(dir.path(), "2026-11-20T14:00:00Z", &["run"]));
    assert_eq!(delivered(dir.path(), "soc").len(), 4);
}
