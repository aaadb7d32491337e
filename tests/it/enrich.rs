//! Archives and enrichment, through the real binary against `huntbook emulate`: the isolation behind a release
//! found in the archive 45 days later, when advanced hunting no longer has it; file profiles looked up in
//! batches of 1,000 (or through the MDE files API) and cached for a day; an enrichment that fails tells the
//! reader, or fails the run and changes nothing.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::emulator::Emulator;
use serde_json::json;

const SECRET: &str = "enrich-secret";

/// A CloudAppEvents row of a Defender response action, as the sample data writes them.
fn event(time: &str, action: &str, report: &str, raw: serde_json::Value) -> serde_json::Value {
    json!({
        "Timestamp": time,
        "ActionType": action,
        "Application": "Microsoft 365",
        "AccountType": "Regular",
        "ReportId": report,
        "RawEventData": raw,
    })
}

fn write_table(dir: &Path, table: &str, rows: &[serde_json::Value]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let text: String = rows.iter().map(|row| format!("{row}\n")).collect();
    std::fs::write(dir.join(format!("{table}.jsonl")), text).expect("table written");
}

/// A workspace over a Graph tenant served by the emulator at `url`: the playbooks given (shipped ones by name,
/// or files written by the test into `playbooks/`), the receivers writing files under `outbox/`.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(shipped: &[&str]) -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir");
        common::copy_playbooks(&dir.path().join("playbooks"), shipped);
        Workspace { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn playbook(&self, name: &str, text: &str) {
        std::fs::write(self.path().join("playbooks").join(format!("{name}.yaml")), text).expect("playbook written");
    }

    /// (Re)writes huntbook.yaml for the emulator at `url`.
    fn point_at(&self, url: &str, extra: &str) -> PathBuf {
        let config = format!(
            "state: huntbook.db\nplaybooks: playbooks\ntemplates: {templates}\nsource: graph\n{extra}\ntenants:\n  \
             contoso:\n    tenant_id: contoso.onmicrosoft.com\n    login_url: {url}\n    graph_url: {url}\n    \
             mde_url: {url}\n    auth:\n      client_id: 11111111-1111-1111-1111-111111111111\n      \
             client_secret: ${{env:ENRICH_SECRET}}\nreceivers:\n  \
             soc-mail:\n    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox/soc-mail }}\n  \
             soc-digest:\n    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox/soc-digest, template: digest }}\n",
            templates = common::repo().join("templates").display(),
        );
        let path = self.path().join("huntbook.yaml");
        std::fs::write(&path, config).expect("config written");
        path
    }

    fn huntbook(&self, args: &[&str], now: &str) -> Output {
        common::huntbook()
            .current_dir(self.path())
            .args(args)
            .env("ENRICH_SECRET", SECRET)
            .env("HUNTBOOK_NOW", now)
            .env_remove("HUNTBOOK_CONFIG")
            .output()
            .expect("huntbook runs")
    }

    fn run(&self, now: &str) -> Output {
        self.huntbook(&["run"], now)
    }

    /// The text parts of the e-mails delivered to `receiver`, oldest first (by file name: their time).
    fn mails(&self, receiver: &str) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.path().join("outbox").join(receiver)) else { return Vec::new() };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("entry").path()).collect();
        paths.sort();
        paths
            .iter()
            .map(|path| {
                let bytes = std::fs::read(path).expect("readable");
                let message = mail_parser::MessageParser::default().parse(&bytes).expect("MIME");
                let attachment = message
                    .attachments()
                    .next()
                    .map(|part| String::from_utf8_lossy(part.contents()).into_owned())
                    .unwrap_or_default();
                Mail {
                    subject: message.subject().unwrap_or_default().to_string(),
                    text: message.body_text(0).unwrap_or_default().into_owned(),
                    html: message.body_html(0).unwrap_or_default().into_owned(),
                    csv: attachment,
                }
            })
            .collect()
    }
}

struct Mail {
    subject: String,
    text: String,
    html: String,
    csv: String,
}

fn ok(output: &Output) -> String {
    let text = format!("{}{}", common::stdout(output), common::stderr(output));
    assert_eq!(output.status.code(), Some(0), "{text}");
    text
}

/// The first lines of the hunting queries the emulator answered.
fn hunting_queries(emulator: &Emulator) -> Vec<String> {
    emulator
        .calls()
        .iter()
        .filter(|call| call["path"].as_str().is_some_and(|p| p.ends_with("/runHuntingQuery")))
        .map(|call| call["query"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_release_45_days_after_its_isolation_is_explained_from_the_archive_in_the_weekly_digest() {
    // October: advanced hunting holds the isolation.
    let october = tempfile::tempdir().expect("temp dir");
    write_table(
        october.path(),
        "CloudAppEvents",
        &[event(
            "2026-10-19T10:00:00Z",
            "IsolateDevice",
            "iso-45",
            json!({"DeviceName": "pc-45.contoso.example", "DeviceId": "d45", "UserId": "lena.fischer@contoso.example",
                   "ActionComment": "Credential theft tooling <found>; keep isolated until reimaged",
                   "ActionScope": "Full"}),
        )],
    );
    // December: 45 days later it is gone from advanced hunting; the release is there, with an isolation of
    // another device this week and a release nothing explains.
    let december = tempfile::tempdir().expect("temp dir");
    write_table(
        december.path(),
        "CloudAppEvents",
        &[
            event(
                "2026-12-03T10:00:00Z",
                "ReleaseFromIsolation",
                "rel-45",
                json!({"DeviceName": "PC-45.contoso.example", "DeviceId": "d45", "UserId": "patti.moreau@contoso.example",
                       "ActionComment": "Reimaged, releasing"}),
            ),
            event(
                "2026-12-01T09:00:00Z",
                "IsolateDevice",
                "iso-week",
                json!({"DeviceName": "pc-week.contoso.example", "DeviceId": "dw", "UserId": "liam.robbins@contoso.example",
                       "ActionComment": "Beaconing", "ActionScope": "Selective"}),
            ),
            event(
                "2026-12-02T09:00:00Z",
                "ReleaseFromIsolation",
                "rel-week",
                json!({"DeviceName": "pc-week.contoso.example", "DeviceId": "dw", "UserId": "patti.moreau@contoso.example",
                       "ActionComment": "False positive"}),
            ),
            event(
                "2026-12-04T09:00:00Z",
                "ReleaseFromIsolation",
                "rel-unknown",
                json!({"DeviceName": "pc-unknown.contoso.example", "DeviceId": "du", "UserId": "patti.moreau@contoso.example",
                       "ActionComment": "Released"}),
            ),
        ],
    );
    let workspace = Workspace::new(&["isolation-history", "isolation-release-review"]);
    // One catch-up window for the seven weeks between the two runs.
    let extra = "catch_up_window: 30d";

    let first = Emulator::start_over(october.path(), &["--client-secret", SECRET]);
    workspace.point_at(&first.url, extra);
    // Monday 19 October, 14:00 in Amsterdam: the recorder keeps the isolation; the digest of an empty week goes out.
    let output = ok(&workspace.run("2026-10-19T12:00:00Z"));
    assert!(output.contains("isolation-history") && output.contains("archived   1"), "{output}");
    drop(first);

    let second = Emulator::start_over(december.path(), &["--client-secret", SECRET]);
    workspace.point_at(&second.url, extra);
    // Monday 7 December, 08:05 in Amsterdam: the recorder and the digest in the same run, the recorder first.
    let output = ok(&workspace.run("2026-12-07T07:05:00Z"));
    let lines: Vec<&str> = output.lines().collect();
    let recorder = lines.iter().position(|l| l.starts_with("isolation-history ")).expect("the recorder ran");
    let digest = lines.iter().position(|l| l.starts_with("isolation-release-review ")).expect("the digest ran");
    assert!(recorder < digest, "{output}");

    let mails = workspace.mails("soc-digest");
    assert_eq!(mails.len(), 2, "the empty October digest and December's");
    let december_digest = &mails[1];
    assert!(december_digest.subject.contains("3 device releases"), "{}", december_digest.subject);
    // The release of pc-45 says who isolated it 45 days before, why and how: only the archive knew.
    let block = december_digest.text.split("\n#").find(|block| block.contains("PC-45.contoso.example")).expect("pc-45");
    for expected in [
        "IsolatedAt        2026-10-19 10:00:00 UTC",
        "IsolatedBy        lena.fischer@contoso.example",
        "IsolationComment  Credential theft tooling <found>; keep isolated until reimaged",
        "IsolationScope    Full",
    ] {
        assert!(block.contains(expected), "{expected:?} missing from:\n{block}");
    }
    assert!(december_digest.html.contains("Credential theft tooling &lt;found&gt;"), "escaped in HTML");
    let week = december_digest.text.split("\n#").find(|block| block.contains("pc-week")).expect("pc-week");
    assert!(week.contains("IsolatedBy        liam.robbins@contoso.example"), "{week}");
    let unknown = december_digest.text.split("\n#").find(|block| block.contains("pc-unknown")).expect("pc-unknown");
    assert!(unknown.lines().any(|line| line.trim() == "IsolatedBy"), "nothing explains it: {unknown}");

    // December's hunting calls: the recorder's query, the digest's, and one lookup for the one device neither
    // the archive nor the recorder could explain — not one for pc-45.
    let queries = hunting_queries(&second);
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert_eq!(queries.iter().filter(|q| q.starts_with("CloudAppEvents")).count(), 3, "{queries:?}");

    // The archive is a table: both isolations, queried like any other.
    let archive = workspace.huntbook(
        &[
            "query",
            "--archive",
            "--format",
            "csv",
            "isolations | order by Timestamp asc | project DeviceName, IsolatedBy",
        ],
        "2026-12-07T07:10:00Z",
    );
    assert_eq!(
        common::stdout(&archive),
        "DeviceName,IsolatedBy\npc-45.contoso.example,lena.fischer@contoso.example\npc-week.contoso.example,liam.robbins@contoso.example\n",
        "{}",
        common::stderr(&archive)
    );
    // `runs` says what each run archived.
    let runs = common::stdout(&workspace.huntbook(&["runs", "isolation-history"], "2026-12-07T07:10:00Z"));
    assert!(runs.contains("ARCHIVED"), "{runs}");
}

/// 64 hex digits, distinct for each `i`.
fn sha256_of(i: usize) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(format!("file {i}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `count` Live Response collections at `time` (one file each, file `i` of `start..start+count`), and the
/// `FileProfile` rows of the files below `known`.
fn collections(dir: &Path, batches: &[(&str, usize)], files: usize, known: usize) {
    let mut rows = Vec::new();
    for (batch, (time, count)) in batches.iter().enumerate() {
        for i in 0..*count {
            let file = i % files;
            rows.push(event(
                time,
                "LiveResponseGetFile",
                &format!("lr-{batch}-{i}"),
                json!({"FileName": format!("file{file}.exe"), "FileSHA256": sha256_of(file),
                       "DeviceName": "pc-1.contoso.example", "DeviceId": "d1", "UserId": "ann@contoso.example"}),
            ));
        }
    }
    write_table(dir, "CloudAppEvents", &rows);
    let profiles: Vec<serde_json::Value> = (0..known)
        .map(|file| {
            json!({"SHA256": sha256_of(file), "SHA1": "", "GlobalPrevalence": 1000 + file, "GlobalFirstSeen": "2024-01-01T00:00:00Z",
                   "GlobalLastSeen": "2026-11-30T00:00:00Z", "Signer": format!("Signer {file}"), "Issuer": "Contoso CA",
                   "IsCertificateValid": true, "SignatureState": "SignedValid", "ThreatName": "", "ProfileAvailability": "Available"})
        })
        .collect();
    write_table(dir, "FileProfile", &profiles);
}

#[test]
fn two_thousand_files_take_two_file_profile_queries_and_a_run_within_a_day_takes_none() {
    let data = tempfile::tempdir().expect("temp dir");
    // 2,000 files collected at 10:00 and the same 2,000 again at 12:30; 1,500 of them known to Defender.
    collections(data.path(), &[("2026-11-20T10:00:00Z", 2000), ("2026-11-20T12:30:00Z", 2000)], 2000, 1500);
    let emulator = Emulator::start_over(data.path(), &["--client-secret", SECRET]);
    let workspace = Workspace::new(&["live-response-file-collected"]);
    workspace.point_at(&emulator.url, "");

    let output = ok(&workspace.run("2026-11-20T12:00:00Z"));
    assert!(output.contains("new hits  2000"), "{output}");
    let queries = hunting_queries(&emulator);
    let profiles = queries.iter().filter(|q| q.starts_with("datatable(SHA256: string)")).count();
    assert_eq!((queries.len(), profiles), (3, 2), "one query for the hits, two for 2,000 profiles: {queries:?}");
    let mails = workspace.mails("soc-mail");
    assert_eq!(mails.len(), 1);
    // Every hit in the attached CSV, with its profile; a file Defender does not know is Missing.
    let csv = &mails[0].csv;
    assert_eq!(csv.lines().count(), 2001, "a header and 2,000 hits");
    assert_eq!(csv.lines().filter(|line| line.ends_with(",Missing")).count(), 500, "{}", &csv[..400.min(csv.len())]);
    let known = csv.lines().find(|line| line.contains(&sha256_of(7))).expect("file 7");
    assert!(known.contains("1007") && known.contains("Signer 7") && known.ends_with(",Available"), "{known}");

    // An hour later: 2,000 new collections of the same files, profiled from the cache.
    let output = ok(&workspace.run("2026-11-20T13:00:00Z"));
    assert!(output.contains("new hits  2000"), "{output}");
    let queries = hunting_queries(&emulator);
    assert_eq!(queries.len(), 4, "one more query, for the hits only: {queries:?}");
    let mails = workspace.mails("soc-mail");
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].csv.lines().filter(|line| line.ends_with(",Missing")).count(), 500);
    assert!(mails[1].csv.contains("Signer 7"));
}

/// The shipped Live Response playbook with its file profiles from the MDE files API, and `on_error` as given.
fn files_api_playbook(on_error: &str) -> String {
    let shipped = std::fs::read_to_string(common::repo().join("playbooks/live-response-file-collected.yaml"))
        .expect("the shipped playbook");
    let enrich = "  - file_profile: { sha256: SHA256 }";
    assert!(shipped.contains(enrich), "the shipped playbook enriches with file_profile");
    let replaced = shipped.replace(enrich, &format!("  - file_profile: {{ sha256: SHA256, via: mde_api }}{on_error}"));
    // Its tests are the shipped playbook's business.
    replaced.split("\ntests:").next().unwrap_or_default().to_string()
}

#[test]
fn the_files_api_profiles_each_file_once_a_day_with_its_own_token() {
    let data = tempfile::tempdir().expect("temp dir");
    // Five files collected twice; three known to Defender.
    collections(data.path(), &[("2026-11-20T10:00:00Z", 5), ("2026-11-20T12:30:00Z", 5)], 5, 3);
    let emulator = Emulator::start_over(data.path(), &["--client-secret", SECRET]);
    let workspace = Workspace::new(&[]);
    workspace.playbook("live-response-file-collected", &files_api_playbook(""));
    workspace.point_at(&emulator.url, "");

    ok(&workspace.run("2026-11-20T12:00:00Z"));
    // The files API refuses a Graph token (the emulator checks the audience): every answer below is a 200 or
    // a 404 only because huntbook signed in for the Defender API as well.
    let api: Vec<u64> = emulator
        .calls()
        .iter()
        .filter(|call| call["path"].as_str().is_some_and(|p| p.starts_with("/api/files/")))
        .filter_map(|call| call["status"].as_u64())
        .collect();
    let mut sorted = api.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [200, 200, 200, 404, 404], "{api:?}");
    let tokens = emulator.statuses("/oauth2/v2.0/token");
    assert_eq!(tokens, [200, 200], "one token for Graph, one for the Defender API");
    let mails = workspace.mails("soc-mail");
    assert_eq!(mails.len(), 1);
    let text = &mails[0].text;
    assert_eq!(text.matches("ProfileAvailability  Missing").count(), 2, "{text}");
    assert_eq!(text.matches("ProfileAvailability  Available").count(), 3, "{text}");
    assert!(text.contains("Signer               Signer 1"), "{text}");

    ok(&workspace.run("2026-11-20T13:00:00Z"));
    let again =
        emulator.calls().iter().filter(|c| c["path"].as_str().is_some_and(|p| p.starts_with("/api/files/"))).count();
    assert_eq!(again, 5, "the second run, within 24 hours, asks the files API nothing");
    assert_eq!(workspace.mails("soc-mail").len(), 2);
}

#[test]
fn a_failed_enrichment_delivers_the_hits_with_a_note_or_with_on_error_fail_changes_nothing() {
    let data = tempfile::tempdir().expect("temp dir");
    collections(data.path(), &[("2026-11-20T10:00:00Z", 3)], 3, 3);
    // The files API refuses every call: the app has no File.Read.All.
    let refusing = Emulator::start_over(data.path(), &["--client-secret", SECRET, "--fail-files", "403:1"]);

    // Default: the hits go out, the profile columns empty, and the message says why.
    let delivering = Workspace::new(&[]);
    delivering.playbook("live-response-file-collected", &files_api_playbook(""));
    delivering.point_at(&refusing.url, "");
    let output = delivering.run("2026-11-20T12:00:00Z");
    let said = ok(&output);
    assert!(said.contains("warning: live-response-file-collected: file prevalence unavailable"), "{said}");
    let mails = delivering.mails("soc-mail");
    assert_eq!(mails.len(), 1);
    let note = "file prevalence unavailable: tenant contoso: the files API answered 403 \
                Forbidden (Injected by --fail-files.); the app registration needs the application permission \
                File.Read.All (WindowsDefenderATP), with admin consent — the columns it adds are empty.";
    assert!(mails[0].text.contains(note), "{}", mails[0].text);
    assert!(mails[0].html.contains("file prevalence unavailable"), "the HTML part says it too");
    assert!(!mails[0].text.contains("Available"), "no profile: {}", mails[0].text);
    let runs = common::stdout(&delivering.huntbook(&["runs"], "2026-11-20T12:01:00Z"));
    assert!(runs.contains("succeeded; file prevalence unavailable"), "{runs}");

    // `on_error: fail`: the run fails and changes nothing — no message, and the same hits come in the next run.
    let failing = Workspace::new(&[]);
    failing.playbook("live-response-file-collected", &files_api_playbook("\n    on_error: fail"));
    failing.point_at(&refusing.url, "");
    let output = failing.run("2026-11-20T12:00:00Z");
    assert_eq!(output.status.code(), Some(1), "{}{}", common::stdout(&output), common::stderr(&output));
    assert!(common::stderr(&output).contains("file prevalence failed: tenant contoso"), "{}", common::stderr(&output));
    assert!(failing.mails("soc-mail").is_empty());
    let runs = common::stdout(&failing.huntbook(&["runs"], "2026-11-20T12:01:00Z"));
    assert!(runs.contains("failed: file prevalence failed"), "{runs}");

    // A `when` on the profile's columns: with the profile missing it would drop every hit in silence, so the
    // run fails, whatever `on_error` says.
    let routing = Workspace::new(&[]);
    let playbook = files_api_playbook("")
        .replace("    per: run\n", "    per: run\n    when: ProfileAvailability != \"Available\"\n");
    assert!(playbook.contains("when: ProfileAvailability"), "{playbook}");
    routing.playbook("live-response-file-collected", &playbook);
    routing.point_at(&refusing.url, "");
    let output = routing.run("2026-11-20T12:00:00Z");
    assert_eq!(output.status.code(), Some(1), "{}{}", common::stdout(&output), common::stderr(&output));
    assert!(
        common::stderr(&output).contains("the run routes its hits on ProfileAvailability, which it would leave empty"),
        "{}",
        common::stderr(&output)
    );
    assert!(routing.mails("soc-mail").is_empty());

    // So does a `suppress.by` on them: every hit would have the same empty Signer, and one message would stand
    // for all of them.
    let suppressing = Workspace::new(&[]);
    let playbook =
        files_api_playbook("").replace("    per: run\n", "    per: hit\n    suppress: { for: 1d, by: [Signer] }\n");
    assert!(playbook.contains("by: [Signer]"), "{playbook}");
    suppressing.playbook("live-response-file-collected", &playbook);
    suppressing.point_at(&refusing.url, "");
    let output = suppressing.run("2026-11-20T12:00:00Z");
    assert_eq!(output.status.code(), Some(1), "{}{}", common::stdout(&output), common::stderr(&output));
    assert!(
        common::stderr(&output).contains("the run routes its hits on Signer, which it would leave empty"),
        "{}",
        common::stderr(&output)
    );
    assert!(suppressing.mails("soc-mail").is_empty());

    let healthy = Emulator::start_over(data.path(), &["--client-secret", SECRET]);
    failing.point_at(&healthy.url, "");
    let said = ok(&failing.run("2026-11-20T12:05:00Z"));
    assert!(said.contains("new hits     3"), "the hits of the failed run come again: {said}");
    let mails = failing.mails("soc-mail");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].text.matches("ProfileAvailability  Available").count(), 3, "{}", mails[0].text);
}

/// `huntbook query --archive` answers as the local engine answers over the same rows in a `.jsonl` file: rows of
/// every type, archived by a recorder from the file, then the same queries over the archive and over the file.
#[test]
fn the_archive_answers_queries_as_the_same_rows_in_a_jsonl_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let rows: Vec<serde_json::Value> = (0..400)
        .map(|i| {
            let kind = ["isolate", "release", "collect"][i % 3];
            json!({
                "Timestamp": format!("2026-11-{:02}T{:02}:{:02}:00.1234567Z", 1 + i % 28, i % 24, i % 60),
                "DeviceName": format!("pc-{}.contoso.example", i % 17),
                "Actor": if i % 5 == 0 { serde_json::Value::Null } else { json!(format!("user{}@contoso.example", i % 7)) },
                "Count": i as i64 * 3 - 100,
                "Score": (i as f64) / 7.0,
                "Flag": i % 3 == 0,
                "Bag": { "kind": kind, "n": i, "tags": [i % 2, "t"] },
                "ReportId": format!("r-{i}"),
            })
        })
        .collect();
    write_table(&data, "events", &rows);
    // The same rows as a file named like the archive, to compare with.
    write_table(&dir.path().join("file"), "kept", &rows);
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&playbooks).expect("mkdir");
    std::fs::write(
        playbooks.join("keeper.yaml"),
        "id: keeper\ntitle: Keeps every row\nseverity: informational\nschedule: { every: 1h }\nquery: events\n\
         archive: { name: kept }\n",
    )
    .expect("playbook");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        "state: huntbook.db\nplaybooks: playbooks\nsource: { kind: local, data: data }\n\
         receivers:\n  files: { file: { dir: out } }\n",
    )
    .expect("config");
    let huntbook = |args: &[&str]| {
        common::huntbook().current_dir(dir.path()).args(args).env_remove("HUNTBOOK_CONFIG").output().expect("runs")
    };
    let recorded = huntbook(&["run", "--since", "2026-10-01T00:00:00Z", "--until", "2026-12-01T00:00:00Z"]);
    let said = ok(&recorded);
    assert!(said.contains("archived 400"), "{said}");

    let queries = [
        "kept",
        "kept | count",
        "kept | where DeviceName == 'pc-3.contoso.example' | top 5 by Timestamp",
        "kept | summarize Rows = count(), Mean = avg(Score), Low = min(Count) by bin(Timestamp, 1d) | order by Timestamp asc",
        "kept | where Bag.kind == 'release' | project DeviceName, Bag, N = toint(Bag.n) | order by N desc | take 9",
        "kept | where DeviceName has 'pc-1' and Flag | order by Count desc | take 7",
        "kept | where isempty(Actor) | summarize dcount(DeviceName), make_set(Actor) by Flag | order by Flag asc",
        "kept | extend Day = startofday(Timestamp) | summarize arg_max(Timestamp, ReportId) by Day | order by Day asc",
        "kept | join kind=inner (kept | where Count > 900 | project DeviceName, Big = Count) on DeviceName | count",
        "kept | mv-expand Tag = Bag.tags | summarize count() by Tag = tostring(Tag) | order by Tag asc",
        "kept | where Timestamp between (datetime(2026-11-10) .. datetime(2026-11-12)) | project ReportId | order by ReportId asc",
        "kept | getschema",
    ];
    let mut differences = Vec::new();
    for query in queries {
        let archived = huntbook(&[
            "query",
            "--archive",
            "--data",
            "nowhere",
            "--now",
            "2026-12-01T00:00:00Z",
            "--format",
            "json",
            query,
        ]);
        let file = huntbook(&["query", "--data", "file", "--now", "2026-12-01T00:00:00Z", "--format", "json", query]);
        assert_eq!(file.status.code(), Some(0), "{query}: {}", common::stderr(&file));
        let (archived, file) = (common::stdout(&archived), common::stdout(&file));
        assert!(file.len() > 40, "{query}: {file}");
        if archived != file {
            differences.push(format!(
                "{query}\n  archive: {}\n  file:    {}",
                &archived[..archived.len().min(300)],
                &file[..file.len().min(300)]
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A local workspace over the sample data with the recorder, a playbook whose query reads its archive, and a
/// playbook with a `lookup`; each with its own tests.
fn local_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    common::copy_playbooks(&playbooks, &["isolation-history"]);
    std::fs::write(
        playbooks.join("isolated-twice.yaml"),
        r#"id: isolated-twice
title: Devices isolated more than once
severity: low
schedule: { every: 1d }
query: |
  isolations
  | summarize Isolations = count(), Last = max(Timestamp) by DeviceName
  | where Isolations > 1
key: [DeviceName, Isolations]
notify:
  - to: [files]
tests:
  - name: counted from the archive, however old
    data: { archive.isolations: tests/isolations-archive.jsonl }
    now: 2026-11-23T07:00:00Z
    expect:
      hits: 1
      rows:
        - { DeviceName: laptop-yll3dgz.contoso.example, Isolations: "2", Last: "2026-10-05T14:30:00.0000000Z" }
"#,
    )
    .expect("playbook");
    std::fs::write(
        playbooks.join("release-with-lookup.yaml"),
        r#"id: release-with-lookup
title: Releases, with the device's isolations of the last 30 days
severity: low
schedule: { every: 1h, first_lookback: 7d }
query: |
  CloudAppEvents
  | where ActionType == "ReleaseFromIsolation"
  | project Timestamp, DeviceName = tostring(RawEventData.DeviceName), ReportId
enrich:
  - lookup:
      query: |
        CloudAppEvents
        | where ActionType == "IsolateDevice"
        | extend DeviceName = tostring(RawEventData.DeviceName)
        | where DeviceName in ({{values}})
        | summarize Isolations = count(), FirstIsolation = min(Timestamp) by DeviceName
      on: [DeviceName]
      lookback: 30d
notify:
  - to: [files]
    when: Isolations >= 2
tests:
  - name: each release with the device's isolations; a device never isolated gets none
    data: tests/isolation-release-review.jsonl
    now: 2026-11-23T07:00:00Z
    expect:
      hits: 3
      messages: { files: 1 }
      rows:
        - { DeviceName: laptop-gcwtkom.contoso.example, Isolations: "2", FirstIsolation: "2026-11-17T09:00:00.0000000Z" }
        - { DeviceName: desktop-xok9i9r.contoso.example, Isolations: "2" }
        - { DeviceName: laptop-yll3dgz.contoso.example, Isolations: "" }
"#,
    )
    .expect("playbook");
    let data = format!("'{}'", common::sample_data().display());
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: {data}, rebase_time: true }}\n\
             first_lookback: 30d\nreceivers:\n  files: {{ file: {{ dir: out }} }}\n"
        ),
    )
    .expect("config");
    dir
}

#[test]
fn a_local_query_reads_an_archive_and_a_lookup_joins_a_second_query() {
    let dir = local_workspace();
    let huntbook = |args: &[&str]| {
        common::huntbook().current_dir(dir.path()).args(args).env_remove("HUNTBOOK_CONFIG").output().expect("runs")
    };
    ok(&huntbook(&["validate"]));
    let tests = ok(&huntbook(&["test"]));
    assert!(tests.contains("3 passed, 0 failed"), "{tests}");

    // The recorder runs first, and the playbook over its archive sees what it kept in the same run.
    let said = ok(&huntbook(&["run"]));
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].starts_with("isolation-history ") && lines[0].contains("archived  21"), "{said}");
    let twice = lines.iter().find(|l| l.starts_with("isolated-twice ")).expect("ran");
    assert!(twice.contains("rows     2") && twice.contains("new hits     2"), "{said}");
    let delivered: Vec<serde_json::Value> = std::fs::read_dir(dir.path().join("out"))
        .expect("delivered")
        .map(|entry| serde_json::from_slice(&std::fs::read(entry.expect("entry").path()).expect("read")).expect("JSON"))
        .collect();
    let twice = delivered.iter().find(|doc| doc["playbook"]["id"] == "isolated-twice").expect("its message");
    let devices: Vec<&str> =
        twice["hits"].as_array().expect("hits").iter().filter_map(|h| h["DeviceName"].as_str()).collect();
    assert_eq!(devices.len(), 2, "{twice}");
    assert!(
        devices.contains(&"laptop-gcwtkom.contoso.example") && devices.contains(&"desktop-xok9i9r.contoso.example")
    );
    let lookup = delivered.iter().find(|doc| doc["playbook"]["id"] == "release-with-lookup").expect("its message");
    for hit in lookup["hits"].as_array().expect("hits") {
        assert!(hit["Isolations"].as_i64().is_some_and(|n| n >= 2), "`when` sees the lookup's column: {hit}");
    }
}

#[test]
fn enrichment_mistakes_are_reported_at_their_place() {
    let dir = local_workspace();
    let playbooks = dir.path().join("playbooks");
    let review =
        std::fs::read_to_string(common::repo().join("playbooks/isolation-release-review.yaml")).expect("shipped");
    let broken = review
        .replace("id: isolation-release-review", "id: review-broken")
        .replace("from: isolations", "from: isolation")
        .replace("send_empty: true", "send_empty: true\nkey: [IsolatedBy, DeviceNam]")
        .replace("[soc-digest]", "[files]");
    std::fs::write(playbooks.join("review-broken.yaml"), broken.split("\ntests:").next().unwrap_or_default())
        .expect("written");
    std::fs::write(
        playbooks.join("second-recorder.yaml"),
        "id: second-recorder\ntitle: Another\nseverity: low\nschedule: { every: 1h }\n\
         query: CloudAppEvents | project Timestamp, ReportId\narchive: { name: isolations }\n",
    )
    .expect("written");
    std::fs::write(
        playbooks.join("nothing-to-do.yaml"),
        "id: nothing-to-do\ntitle: Nothing\nseverity: low\nschedule: { every: 1h }\n\
         query: CloudAppEvents | project Timestamp, ReportId\nenrich:\n  - file_profile: { sha256: SHA256 }\n  \
         - isolation_reason: { device: ReportId, at: Timestamp, from: isolations, rename: { IsolatedAtt: When } }\n  \
         - isolation_reason: { device: ReportId, at: ReportId, from: isolations }\n  \
         - lookup: { query: 'CloudAppEvents | take 1', on: ReportId }\n  - whois: { ip: IPAddress }\n  \
         - file_profile: { sha1: ReportId }\n    on_eror: fail\n",
    )
    .expect("written");
    let output = common::huntbook()
        .current_dir(dir.path())
        .arg("validate")
        .env_remove("HUNTBOOK_CONFIG")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let errors = common::stderr(&output);
    for expected in [
        "`at` must name a datetime column; ReportId is string",
        "no playbook keeps an archive named `isolation`",
        "did you mean `isolations`?",
        "the query has no column `DeviceNam`",
        "the archive `isolations` is already kept by isolation-history",
        "the query has no column `SHA256`",
        "isolation_reason adds no column `IsolatedAtt`",
        "the lookup query does not use the hits' values",
        "unknown enricher `whois`",
        "unknown key `on_eror`",
        "missing key `notify`",
    ] {
        assert!(errors.contains(expected), "{expected:?} not in:\n{errors}");
    }
    // Each at its line in its file; the key may name what the enrichment adds.
    assert!(errors.contains("review-broken.yaml:26:67"), "{errors}");
    assert!(!errors.contains("no column `IsolatedBy`"), "{errors}");
    assert!(errors.contains("nothing-to-do.yaml:7:"), "{errors}");
}

#[test]
fn a_query_sent_to_graph_cannot_read_an_archive() {
    let dir = local_workspace();
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        "state: huntbook.db\nplaybooks: playbooks\nsource: graph\ntenants:\n  contoso:\n    tenant_id: contoso.onmicrosoft.com\n    \
         auth: { client_id: 11111111-1111-1111-1111-111111111111, client_secret: \"${env:GRAPH_SECRET}\" }\nreceivers:\n  files: { file: { dir: out } }\n",
    )
    .expect("config");
    let output = common::huntbook()
        .current_dir(dir.path())
        .arg("validate")
        .env_remove("HUNTBOOK_CONFIG")
        .env("GRAPH_SECRET", "s")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", common::stderr(&output));
    let errors = common::stderr(&output);
    assert!(errors.contains("isolated-twice.yaml:6:3"), "{errors}");
    assert!(
        errors.contains("this query reads `isolations`, an archive of huntbook's: Graph has no such table"),
        "{errors}"
    );
    assert!(errors.contains("1 problem in 1 of 3 playbooks"), "the recorder and the lookup are fine: {errors}");
}

/// The files API throttles (429 with `Retry-After`) and refuses a token (401): huntbook waits, signs in again
/// once, and every file still gets its profile.
#[test]
fn the_files_api_is_waited_for_when_it_throttles_and_a_refused_token_is_replaced() {
    let data = tempfile::tempdir().expect("temp dir");
    collections(data.path(), &[("2026-11-20T10:00:00Z", 3)], 3, 3);
    for (fault, expected) in [("429*2", vec![429, 429, 200, 200, 200]), ("401*1", vec![401, 200, 200, 200])] {
        let emulator = Emulator::start_over(
            data.path(),
            &["--client-secret", SECRET, "--fail-files", fault, "--retry-after", "0"],
        );
        let workspace = Workspace::new(&[]);
        workspace.playbook("live-response-file-collected", &files_api_playbook(""));
        workspace.point_at(&emulator.url, "");
        let said = ok(&workspace.run("2026-11-20T12:00:00Z"));
        assert!(!said.contains("unavailable"), "{fault}: {said}");
        let statuses: Vec<u64> = emulator
            .calls()
            .iter()
            .filter(|call| call["path"].as_str().is_some_and(|p| p.starts_with("/api/files/")))
            .filter_map(|call| call["status"].as_u64())
            .collect();
        assert_eq!(statuses, expected, "{fault}");
        let mails = workspace.mails("soc-mail");
        assert_eq!(mails[0].text.matches("ProfileAvailability  Available").count(), 3, "{fault}: {}", mails[0].text);
        if fault.starts_with("401") {
            // A second sign-in for the Defender API after the refusal: three tokens in all.
            assert_eq!(emulator.statuses("/oauth2/v2.0/token"), [200, 200, 200], "{fault}");
        }
    }
}

#[test]
fn a_release_is_explained_by_the_latest_isolation_strictly_before_it() {
    let device = |name: &str| name.to_string();
    let isolate = |time: &str, report: &str, name: &str, by: &str, comment: &str, scope: &str| {
        event(
            time,
            "IsolateDevice",
            report,
            json!({"DeviceName": device(name), "DeviceId": name, "UserId": by, "ActionComment": comment, "ActionScope": scope}),
        )
    };
    let release = |time: &str, report: &str, name: &str| {
        event(
            time,
            "ReleaseFromIsolation",
            report,
            json!({"DeviceName": device(name), "DeviceId": name, "UserId": "patti.moreau@contoso.example",
                   "ActionComment": "Released"}),
        )
    };
    let data = tempfile::tempdir().expect("temp dir");
    write_table(
        data.path(),
        "CloudAppEvents",
        &[
            // pc-m9: isolated twice before its release (the second is the reason), once after it.
            isolate(
                "2026-11-10T09:00:00Z",
                "iso-1",
                "pc-m9.contoso.example",
                "first@contoso.example",
                "first",
                "Selective",
            ),
            isolate(
                "2026-11-25T09:00:00Z",
                "iso-2",
                "PC-M9.contoso.example",
                "second@contoso.example",
                "second",
                "Full",
            ),
            release("2026-12-02T09:00:00Z", "rel-m9", "pc-m9.contoso.example"),
            isolate("2026-12-03T09:00:00Z", "iso-3", "pc-m9.contoso.example", "after@contoso.example", "after", "Full"),
            // pc-same: an isolation at the very instant of the release does not explain it; the one before does.
            isolate(
                "2026-11-28T09:00:00Z",
                "iso-4",
                "pc-same.contoso.example",
                "earlier@contoso.example",
                "earlier",
                "Full",
            ),
            isolate(
                "2026-12-02T10:00:00Z",
                "iso-5",
                "pc-same.contoso.example",
                "same@contoso.example",
                "same instant",
                "Full",
            ),
            release("2026-12-02T10:00:00Z", "rel-same", "pc-same.contoso.example"),
            // pc-other: another device's isolation explains nothing here.
            isolate(
                "2026-12-01T09:00:00Z",
                "iso-6",
                "pc-other.contoso.example",
                "other@contoso.example",
                "other",
                "Full",
            ),
        ],
    );
    let workspace = Workspace::new(&["isolation-history", "isolation-release-review"]);
    let emulator = Emulator::start_over(data.path(), &["--client-secret", SECRET]);
    workspace.point_at(&emulator.url, "first_lookback: 30d");
    ok(&workspace.run("2026-12-07T07:05:00Z"));
    let mails = workspace.mails("soc-digest");
    assert_eq!(mails.len(), 1);
    let text = &mails[0].text;
    let block =
        |name: &str| text.split("\n#").find(|block| block.contains(name)).unwrap_or_else(|| panic!("{name}:\n{text}"));
    let m9 = block("pc-m9");
    for expected in [
        "IsolatedAt        2026-11-25 09:00:00 UTC",
        "IsolatedBy        second@contoso.example",
        "IsolationComment  second",
    ] {
        assert!(m9.contains(expected), "{expected:?} missing from:\n{m9}");
    }
    let same = block("pc-same");
    assert!(same.contains("IsolatedBy        earlier@contoso.example"), "{same}");
    assert!(!text.contains("after@contoso.example") && !text.contains("same@contoso.example"), "{text}");
}
