//! `huntbook run` end to end, with the real binary: the shipped playbooks over the sample tenant, a state file
//! and an outbox in a temporary directory. What is checked is what a person gets — the files in the outbox,
//! parsed back as MIME and validated as Adaptive Cards — and what the state file says afterwards. The crash
//! tests stop the binary at each stage of a run (`HUNTBOOK_FAILPOINT` aborts the process there, as `kill -9`
//! would) and check that the next run delivers exactly what an uninterrupted run delivers.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mail_parser::MessageParser;
use tempfile::TempDir;

use crate::common;
use common::{repo, stderr, stdout};

/// A directory with a `huntbook.yaml` over the repository's playbooks and sample data.
struct Workspace {
    dir: TempDir,
}

fn yaml_path(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

impl Workspace {
    fn new() -> Workspace {
        Workspace::with_playbooks(&repo().join("playbooks"))
    }

    fn with_playbooks(playbooks: &Path) -> Workspace {
        Workspace::with_config(playbooks, "")
    }

    /// `extra` is appended to the configuration.
    fn with_config(playbooks: &Path, extra: &str) -> Workspace {
        Workspace::over(playbooks, &repo().join("examples/data"), true, extra)
    }

    /// Over another data directory, rebased or not.
    fn over(playbooks: &Path, data: &Path, rebase: bool, extra: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = format!(
            "state: huntbook.db\n\
             playbooks: {playbooks}\n\
             source: {{ kind: local, data: {data}, rebase_time: {rebase} }}\n\
             first_lookback: 30d\n\
             receivers:\n\
             \x20 soc-mail:\n\
             \x20   email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox/soc-mail }}\n\
             \x20 soc-teams:\n\
             \x20   teams: {{ dir: outbox/soc-teams }}\n\
             \x20 soc-digest:\n\
             \x20   email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox/soc-digest, template: digest }}\n",
            playbooks = yaml_path(playbooks),
            data = yaml_path(data),
        );
        std::fs::write(dir.path().join("huntbook.yaml"), config + extra).expect("the configuration is written");
        Workspace { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_huntbook"));
        command
            .current_dir(self.path())
            .args(args)
            .env_remove("HUNTBOOK_CONFIG")
            .env_remove("HUNTBOOK_FAILPOINT")
            .stdin(Stdio::null());
        command
    }

    fn huntbook(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("huntbook runs")
    }

    /// Runs and expects success.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.huntbook(args);
        assert_eq!(output.status.code(), Some(0), "huntbook {args:?}\n{}\n{}", stdout(&output), stderr(&output));
        stdout(&output)
    }

    /// Every delivered file, by receiver directory.
    fn outbox(&self) -> BTreeMap<String, Vec<PathBuf>> {
        let mut found = BTreeMap::new();
        let Ok(receivers) = std::fs::read_dir(self.path().join("outbox")) else { return found };
        for receiver in receivers {
            let receiver = receiver.expect("a directory entry").path();
            let mut files: Vec<PathBuf> = std::fs::read_dir(&receiver)
                .expect("a receiver directory")
                .map(|entry| entry.expect("an entry").path())
                .collect();
            files.sort();
            found.insert(receiver.file_name().expect("a name").to_string_lossy().into_owned(), files);
        }
        found
    }

    /// What the outbox holds, comparable across runs: per receiver and message, what identifies its content.
    fn delivered(&self) -> Vec<(String, String)> {
        let mut delivered: Vec<(String, String)> = self
            .outbox()
            .into_iter()
            .flat_map(|(receiver, files)| files.into_iter().map(move |file| (receiver.clone(), identity(&file))))
            .collect();
        delivered.sort();
        delivered
    }

    fn file_count(&self) -> usize {
        self.outbox().values().map(Vec::len).sum()
    }
}

/// A message's identity, without what changes from run to run (ids, the clock): an e-mail's subject with dates
/// masked, or a card's title and the ReportId of each hit it shows.
fn identity(file: &Path) -> String {
    let bytes = std::fs::read(file).expect("a delivered file");
    let playbook = playbook_of(file);
    match file.extension().and_then(|e| e.to_str()) {
        Some("eml") => {
            let parsed = MessageParser::default().parse(&bytes).expect("the e-mail parses");
            let subject = parsed.subject().expect("a subject").to_string();
            let masked: String = subject.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect();
            format!("{playbook}: {masked}")
        }
        Some("json") => {
            let card: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON payload");
            let mut facts: Vec<String> = Vec::new();
            collect_facts(&card, &mut facts);
            format!("{playbook}: {}", facts.join(" "))
        }
        other => panic!("unexpected file {} ({other:?})", file.display()),
    }
}

fn collect_facts(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(object) => {
            if object.get("title").and_then(|t| t.as_str()) == Some("ReportId") {
                found.extend(object.get("value").and_then(|v| v.as_str()).map(str::to_string));
            }
            object.values().for_each(|v| collect_facts(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_facts(v, found)),
        _ => {}
    }
}

/// The playbook id in a file name `20261120T120000Z-<playbook>-<uuid>.<ext>`.
fn playbook_of(file: &Path) -> String {
    let stem = file.file_stem().expect("a name").to_string_lossy();
    let without_time = stem.split_once('-').map_or(&*stem, |(_, rest)| rest);
    without_time[..without_time.len().saturating_sub(37)].to_string()
}

/// Copies a shipped playbook and its test fixture into `dir`; returns its text.
fn copy_playbook(dir: &Path, id: &str) -> String {
    let source = repo().join("playbooks");
    std::fs::create_dir_all(dir.join("tests")).expect("created");
    std::fs::copy(source.join(format!("tests/{id}.jsonl")), dir.join(format!("tests/{id}.jsonl"))).expect("copied");
    let text = std::fs::read_to_string(source.join(format!("{id}.yaml"))).expect("a playbook");
    std::fs::write(dir.join(format!("{id}.yaml")), &text).expect("written");
    text
}

fn shipped_playbook_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(repo().join("playbooks"))
        .expect("the playbooks directory")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| path.file_stem().expect("a name").to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

/// The `messages N` of each summary line.
fn messages_per_playbook(out: &str) -> BTreeMap<String, usize> {
    out.lines()
        .filter(|line| line.contains(" messages "))
        .filter_map(|line| {
            let id = line.split_whitespace().next()?.to_string();
            let count = line.rsplit_once("messages")?.1.split_whitespace().next()?.parse().ok()?;
            Some((id, count))
        })
        .collect()
}

#[test]
fn the_first_run_delivers_every_playbook_and_a_second_run_sends_nothing() {
    let workspace = Workspace::new();
    let first = workspace.ok(&["run"]);
    let per_playbook = messages_per_playbook(&first);
    assert_eq!(per_playbook.keys().cloned().collect::<Vec<_>>(), shipped_playbook_ids(), "{first}");
    let queued: usize = per_playbook.values().sum();
    assert!(first.contains(&format!("delivered {queued} messages")), "{first}");
    assert_eq!(workspace.file_count(), queued);
    // The sample tenant has a story for every shipped playbook: each one has something to say — or, for the
    // recorder, to keep.
    for (playbook, count) in &per_playbook {
        if playbook == "isolation-history" {
            assert_eq!(*count, 0, "a recorder sends nothing:\n{first}");
            let line = first.lines().find(|line| line.starts_with("isolation-history ")).unwrap_or_default();
            assert!(line.contains("archived  21"), "it keeps every isolation of the sample:\n{first}");
            continue;
        }
        assert!(*count > 0, "{playbook} sent nothing:\n{first}");
    }
    let outbox = workspace.outbox();
    assert_eq!(outbox.keys().cloned().collect::<Vec<_>>(), ["soc-digest", "soc-mail", "soc-teams"]);

    let before = workspace.delivered();
    let second = workspace.ok(&["run"]);
    assert!(second.starts_with("no playbook is due: the next is "), "{second}");
    assert!(second.contains("delivered 0 messages"), "{second}");
    assert_eq!(workspace.delivered(), before);

    // Forced again, over windows that overlap the first ones: every hit was seen, so only the digest, which is
    // sent even when empty, goes out.
    let forced = workspace.ok(&["run", "--all"]);
    for line in forced.lines().filter(|line| line.contains(" messages ")) {
        assert!(line.contains("new hits     0"), "{line}");
    }
    let mut added = workspace.delivered();
    for message in &before {
        let index = added.iter().position(|m| m == message).expect("nothing delivered before disappears");
        added.remove(index);
    }
    assert_eq!(added.len(), 1, "{forced}\n{added:#?}");
    assert_eq!(added[0].0, "soc-digest", "{added:#?}");
}

#[test]
fn every_delivered_email_parses_and_every_card_is_valid_and_inert() {
    let workspace = Workspace::new();
    workspace.ok(&["run"]);
    let outbox = workspace.outbox();
    let mut hostile_seen = false;
    for file in outbox.values().flatten() {
        let bytes = std::fs::read(file).expect("a delivered file");
        if file.extension().is_some_and(|e| e == "json") {
            let card: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON payload");
            common::cards::assert_valid_card(&card, 25 * 1024);
            hostile_seen |= String::from_utf8_lossy(&bytes).contains("onerror");
            continue;
        }
        let parsed = MessageParser::default().parse(&bytes).expect("the e-mail parses");
        let headers = &bytes[..bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a header end")];
        assert!(headers.is_ascii(), "{}: a header is not ASCII", file.display());
        let header_text = String::from_utf8_lossy(headers).to_lowercase();
        assert_eq!(header_text.matches("\r\nsubject:").count() + usize::from(header_text.starts_with("subject:")), 1);
        assert!(!header_text.contains("\r\nbcc:"), "{}", file.display());
        assert_eq!(parsed.to().and_then(|to| to.first()).and_then(|a| a.address()), Some("soc@contoso.example"));
        let html = parsed.body_html(0).expect("an HTML part");
        let text = parsed.body_text(0).expect("a text part");
        assert!(!text.is_empty());
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "{}: a raw <script>", file.display());
        // The only images are charts drawn by huntbook, shown from the message's own parts.
        assert_eq!(
            lower.matches("<img").count(),
            lower.matches("<img src=\"cid:chart.").count(),
            "{}: a raw <img>",
            file.display()
        );
        hostile_seen |= lower.contains("&lt;script&gt;") || lower.contains("onerror");
    }
    // The sample tenant's hostile values (comments, titles) reached the messages, escaped.
    assert!(hostile_seen, "no hostile value reached any message; the check above proved nothing");
}

#[test]
fn a_dry_run_prints_the_messages_and_sends_and_records_nothing() {
    let workspace = Workspace::new();
    let dry = workspace.ok(&["run", "--dry-run"]);
    assert!(dry.contains("──── to soc-mail · e-mail (MIME)"), "{dry}");
    assert!(dry.contains("──── to soc-teams · Teams webhook payload"), "{dry}");
    assert!(dry.contains("\"type\":\"AdaptiveCard\""), "{dry}");
    assert!(dry.trim_end().ends_with("dry run: nothing was sent or recorded"), "{dry}");
    assert_eq!(workspace.file_count(), 0);
    let runs = workspace.ok(&["runs"]);
    assert!(runs.starts_with("no runs yet"), "{runs}");

    // Nothing was marked seen: a real run afterwards sends what the dry run showed.
    let dry_messages = messages_per_playbook(&dry);
    let real = workspace.ok(&["run"]);
    assert_eq!(messages_per_playbook(&real), dry_messages);
    assert_eq!(workspace.file_count(), dry_messages.values().sum::<usize>());
}

#[test]
fn a_run_killed_at_any_stage_is_completed_by_the_next_run_exactly_once() {
    let baseline = Workspace::new();
    baseline.ok(&["run"]);
    let expected = baseline.delivered();
    assert!(!expected.is_empty());
    // What the recorder archived: every isolation of the sample, each once.
    let archive_query =
        ["query", "--archive", "--format", "csv", "isolations | summarize Rows = count(), Reports = dcount(ReportId)"];
    let archived = baseline.ok(&archive_query);
    assert_eq!(archived, "Rows,Reports\n21,21\n");

    for point in ["after-query", "before-commit", "in-commit", "after-commit", "after-delivery"] {
        let workspace = Workspace::new();
        let killed = workspace.command(&["run"]).env("HUNTBOOK_FAILPOINT", point).output().expect("huntbook runs");
        assert_eq!(
            killed.status.signal(),
            Some(6),
            "{point}: the run was not stopped there: {:?}\n{}",
            killed.status,
            stderr(&killed)
        );
        let resumed = workspace.ok(&["run"]);
        assert_eq!(workspace.delivered(), expected, "{point}: the next run delivered something else:\n{resumed}");
        // And the state agrees: every playbook has exactly one successful run, nothing is left to deliver.
        let again = workspace.ok(&["run"]);
        assert!(again.contains("delivered 0 messages"), "{point}: {again}");
        let runs = workspace.ok(&["runs"]);
        let succeeded = runs.lines().filter(|line| line.ends_with("succeeded")).count();
        assert_eq!(succeeded, shipped_playbook_ids().len(), "{point}:\n{runs}");
        // Nothing archived lost, nothing archived twice.
        assert_eq!(workspace.ok(&archive_query), archived, "{point}");
    }
}

#[test]
fn an_invalid_playbook_is_reported_and_the_others_still_run() {
    let playbooks = tempfile::tempdir().expect("a temporary directory");
    let good = copy_playbook(playbooks.path(), "offboarding-package-download");
    let broken = good.replace("id: offboarding-package-download", "id: broken").replace("per: run", "per: hour");
    std::fs::write(playbooks.path().join("broken.yaml"), broken).expect("written");

    let workspace = Workspace::with_playbooks(playbooks.path());
    let output = workspace.huntbook(&["run"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(errors.contains("broken.yaml:"), "{errors}");
    assert!(errors.contains("hour"), "{errors}");
    let out = stdout(&output);
    assert_eq!(messages_per_playbook(&out).get("offboarding-package-download"), Some(&1), "{out}");
    assert_eq!(workspace.file_count(), 1);

    let named = workspace.huntbook(&["run", "broken"]);
    assert_eq!(named.status.code(), Some(2));
    assert!(stderr(&named).contains("the playbook broken is not valid"), "{}", stderr(&named));
    let unknown = workspace.huntbook(&["run", "offboarding-package-downlod"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("did you mean `offboarding-package-download`?"), "{}", stderr(&unknown));
}

/// A run's summary line: (rows, new hits, messages).
fn counts_of(out: &str, playbook: &str) -> (u64, u64, u64) {
    let line =
        out.lines().find(|line| line.starts_with(playbook)).unwrap_or_else(|| panic!("no line for {playbook}:\n{out}"));
    let after = |word: &str| -> u64 {
        line.split(word)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {word} in {line}"))
    };
    (after("rows "), after("new hits "), after("messages "))
}

#[test]
fn a_hit_already_sent_is_never_sent_again_when_its_window_runs_again() {
    // A copy of the sample at its own time (not rebased), so that the windows below hold its rows.
    let data = tempfile::tempdir().expect("a temporary directory");
    let events = std::fs::read_to_string(repo().join("examples/data/CloudAppEvents.jsonl")).expect("the sample");
    std::fs::write(data.path().join("CloudAppEvents.jsonl"), &events).expect("a copy");
    let workspace = Workspace::over(&repo().join("playbooks"), data.path(), false, "");
    let window = ["--since", "2026-10-21T00:00:00Z", "--until", "2026-11-20T12:00:00Z"];
    let run = |args: &[&str]| {
        let mut command = workspace.command(&[&["run", "offboarding-package-download"], args].concat());
        let output = command.env("HUNTBOOK_NOW", common::SAMPLE_NOW).output().expect("huntbook runs");
        assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
        stdout(&output)
    };
    let mails = || workspace.outbox().get("soc-mail").cloned().unwrap_or_default();
    // The schedule's own first window (the 30 days to now): five downloads, one e-mail.
    assert_eq!(counts_of(&run(&[]), "offboarding-package-download"), (5, 5, 1));
    assert_eq!(mails().len(), 1);
    // The same days again, by hand: its five rows were sent.
    assert_eq!(counts_of(&run(&window), "offboarding-package-download"), (5, 0, 0));
    assert_eq!(mails().len(), 1, "nothing was sent twice");

    // One more download lands in the window: it alone is news.
    let template = events.lines().find(|line| line.contains("\"DownloadOffboardingPkg\"")).expect("a download");
    let mut event: serde_json::Value = serde_json::from_str(template).expect("JSON");
    event["ReportId"] = serde_json::json!("dedup-newcomer-report");
    event["RawEventData"]["UserId"] = serde_json::json!("dedup.newcomer@contoso.example");
    event["Timestamp"] = serde_json::json!("2026-11-19T09:00:00Z");
    let previous: Vec<String> = events
        .lines()
        .filter(|line| line.contains("\"DownloadOffboardingPkg\""))
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("JSON");
            event["RawEventData"]["UserId"].as_str().expect("a user").to_string()
        })
        .collect();
    std::fs::write(data.path().join("CloudAppEvents.jsonl"), format!("{events}{event}\n")).expect("appended");
    assert_eq!(counts_of(&run(&window), "offboarding-package-download"), (6, 1, 1));
    let mails = mails();
    assert_eq!(mails.len(), 2);
    let text_of = |file: &PathBuf| {
        let bytes = std::fs::read(file).expect("an e-mail");
        let parsed = mail_parser::MessageParser::default().parse(&bytes).expect("MIME");
        parsed.body_text(0).map(|text| text.into_owned()).unwrap_or_default()
    };
    let newest = mails.iter().map(text_of).find(|text| text.contains("dedup.newcomer@contoso.example"));
    let newest = newest.expect("an e-mail of the new download");
    for name in previous {
        assert!(!newest.contains(&name), "{name}, sent before, is in the new e-mail");
    }
}

#[test]
fn a_backfill_leaves_the_schedule_as_it_was() {
    let data = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(repo().join("examples/data/CloudAppEvents.jsonl"), data.path().join("CloudAppEvents.jsonl"))
        .expect("a copy");
    let workspace = Workspace::over(&repo().join("playbooks"), data.path(), false, "");
    let run = |args: &[&str]| {
        let mut command = workspace.command(&[&["run", "offboarding-package-download"], args].concat());
        let output = command.env("HUNTBOOK_NOW", common::SAMPLE_NOW).output().expect("huntbook runs");
        assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
        stdout(&output)
    };
    // A never-run playbook, backfilled over two days three weeks ago.
    let backfill = run(&["--since", "2026-10-30T00:00:00Z", "--until", "2026-11-01T00:00:00Z"]);
    assert!(backfill.contains("2026-10-30 00:00:00 → 2026-11-01 00:00:00"), "{backfill}");
    // Its first ordinary run is what it would have been without the backfill: one window, its first look-back
    // (the configuration's 30 days), not a catch-up from the backfill's end.
    let ordinary = run(&[]);
    let windows: Vec<&str> = ordinary.lines().filter(|l| l.starts_with("offboarding-package-download")).collect();
    assert_eq!(windows.len(), 1, "{ordinary}");
    assert!(windows[0].contains("2026-10-21 11:55:00 → 2026-11-20 11:55:00"), "{ordinary}");
    // And it used up the slot: the next is not due yet. The backfill did not.
    let again = workspace.command(&["run"]).env("HUNTBOOK_NOW", common::SAMPLE_NOW).output().expect("runs");
    assert!(!stdout(&again).lines().any(|l| l.starts_with("offboarding-package-download")), "{}", stdout(&again));
    let runs = workspace.ok(&["runs", "offboarding-package-download"]);
    assert_eq!(runs.lines().filter(|l| l.contains("backfill")).count(), 1, "{runs}");
}

#[test]
fn since_and_until_rerun_a_past_window() {
    let workspace = Workspace::new();
    let out = workspace.ok(&[
        "run",
        "offboarding-package-download",
        "--since",
        "2026-11-01T00:00:00Z",
        "--until",
        "2026-11-02T00:00:00Z",
    ]);
    assert!(out.contains("2026-11-01 00:00:00 → 2026-11-02 00:00:00"), "{out}");
    let bad = workspace.huntbook(&["run", "--since", "yesterday", "--until", "2026-11-02T00:00:00Z"]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(stderr(&bad).contains("--since 'yesterday' is not a time"), "{}", stderr(&bad));
}

#[test]
fn a_playbook_failing_run_after_run_is_reported_once_by_the_meta_receivers() {
    let playbooks = tempfile::tempdir().expect("a temporary directory");
    copy_playbook(playbooks.path(), "offboarding-package-download");
    // Valid (it compiles), but it fails every time it runs.
    std::fs::write(
        playbooks.path().join("failing.yaml"),
        "id: failing\ntitle: Always failing\nseverity: low\nschedule: { every: 1h }\n\
         query: CloudAppEvents | extend n = toscalar(range x from 1 to 100000000000 step 1 | count)\n\
         notify:\n  - to: [soc-mail]\n",
    )
    .expect("written");
    let workspace = Workspace::with_config(playbooks.path(), "meta:\n  to: [soc-mail]\n  when_failing_for: 2 runs\n");

    let first = workspace.huntbook(&["run"]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(stderr(&first).contains("range: the step is zero, or makes more than"), "{}", stderr(&first));
    assert_eq!(messages_per_playbook(&stdout(&first)).get("offboarding-package-download"), Some(&1));
    assert_eq!(workspace.file_count(), 1, "the first failure is not reported yet");

    let second = workspace.huntbook(&["run", "failing"]);
    assert_eq!(second.status.code(), Some(1));
    let alerts: Vec<(String, String)> =
        workspace.delivered().into_iter().filter(|(_, identity)| identity.starts_with("failing:")).collect();
    assert_eq!(
        alerts,
        [("soc-mail".to_string(), "failing: huntbook: Always failing has failed # runs in a row".to_string())]
    );
    let alert = workspace.outbox()["soc-mail"]
        .iter()
        .find(|file| playbook_of(file) == "failing")
        .map(|file| std::fs::read(file).expect("the alert"))
        .expect("the alert file");
    let parsed = MessageParser::default().parse(&alert).expect("the e-mail parses");
    assert_eq!(parsed.subject(), Some("huntbook: Always failing has failed 2 runs in a row"));
    assert!(parsed.body_text(0).expect("a text part").contains("range: the step is zero"));

    let third = workspace.huntbook(&["run", "failing"]);
    assert_eq!(third.status.code(), Some(1));
    assert_eq!(workspace.file_count(), 2, "one alert per streak");
    let runs = workspace.ok(&["runs", "failing"]);
    assert_eq!(runs.lines().filter(|line| line.contains("failed: range: the step is zero")).count(), 3, "{runs}");
}

#[test]
fn a_second_run_while_one_is_under_way_does_nothing() {
    let workspace = Workspace::new();
    // This test process plays the run under way: it holds the state file's lock.
    let lock = std::fs::File::create(workspace.path().join("huntbook.db.lock")).expect("the lock file");
    lock.lock().expect("locked");
    let blocked = workspace.huntbook(&["run"]);
    assert_eq!(blocked.status.code(), Some(0), "{}", stderr(&blocked));
    assert!(stderr(&blocked).contains("another huntbook process is using"), "{}", stderr(&blocked));
    assert_eq!(workspace.file_count(), 0);
    assert!(!workspace.path().join("huntbook.db").exists());
    drop(lock);
    let free = workspace.ok(&["run"]);
    assert!(workspace.file_count() > 0, "{free}");
}

/// The lock belongs to the state file, not to how its path is written: a second run that reaches the same file
/// through a symbolic link, or through a relative path from another directory, does nothing while the first is
/// under way (both used to run: 88 deliveries for 28).
#[test]
fn a_second_run_reaching_the_state_file_by_another_path_does_nothing() {
    use std::io::{BufRead, BufReader, Write};
    let first = Workspace::new();
    let config = std::fs::read_to_string(first.path().join("huntbook.yaml")).expect("the configuration");
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    // One reaches it through a link to the file, one through a link to its directory and a relative path.
    std::os::unix::fs::symlink(first.path().join("huntbook.db"), elsewhere.path().join("linked.db")).expect("link");
    std::os::unix::fs::symlink(first.path(), elsewhere.path().join("first")).expect("link");
    std::fs::create_dir(elsewhere.path().join("sub")).expect("mkdir");
    let seconds = [("linked.yaml", "state: linked.db"), ("sub/relative.yaml", "state: ../first/huntbook.db")];
    for (name, state) in seconds {
        std::fs::write(elsewhere.path().join(name), config.replace("state: huntbook.db", state)).expect("write");
    }

    let mut running = first
        .command(&["run", "--all"])
        .env("HUNTBOOK_FAILPOINT", "after-query:pause")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("huntbook starts");
    let mut said = BufReader::new(running.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("paused at after-query") {
        line.clear();
        assert!(said.read_line(&mut line).expect("read stderr") > 0, "the first run ended before its query");
    }

    for (name, _) in seconds {
        let second = Command::new(env!("CARGO_BIN_EXE_huntbook"))
            .current_dir(elsewhere.path())
            .args(["run", "--all", "-c", name])
            .env_remove("HUNTBOOK_FAILPOINT")
            .stdin(Stdio::null())
            .output()
            .expect("huntbook runs");
        assert_eq!(second.status.code(), Some(0), "{name}: {}", stderr(&second));
        assert!(
            stderr(&second).contains("another huntbook process (huntbook run, process "),
            "{name}: {}",
            stderr(&second)
        );
        assert!(!elsewhere.path().join("outbox").exists(), "{name} delivered nothing");
        assert!(!elsewhere.path().join("sub/outbox").exists(), "{name} delivered nothing");
    }

    // Let the first go on: a line for this pause, and no more input for the pauses of the next playbooks.
    let mut input = running.stdin.take().expect("stdin");
    input.write_all(b"\n").expect("release");
    drop(input);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut said, &mut rest).expect("read stderr");
    let finished = running.wait_with_output().expect("the first run ends");
    assert_eq!(finished.status.code(), Some(0), "{rest}");
    assert!(stdout(&finished).contains("delivered 28 messages"), "{}", stdout(&finished));
    assert_eq!(first.file_count(), 28);
}

#[test]
fn a_run_after_a_day_of_downtime_catches_up_in_windows_of_at_most_the_catch_up_window_in_order() {
    let dir = common::quarter_hour_workspace("catch_up_window: 8h");
    let run = |now: &str| {
        let output = common::huntbook()
            .current_dir(dir.path())
            .arg("run")
            .env("HUNTBOOK_NOW", now)
            .output()
            .expect("huntbook runs");
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    let window = |line: &str| {
        let times: Vec<chrono::NaiveDateTime> = regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
            .expect("regex")
            .find_iter(line)
            .map(|m| chrono::NaiveDateTime::parse_from_str(m.as_str(), "%Y-%m-%d %H:%M:%S").expect("a time"))
            .collect();
        (times[0], times[1])
    };
    let first = run("2026-11-19T12:00:00Z");
    let mut previous = window(first.lines().find(|l| l.starts_with("quarter")).expect("the first run")).1;
    // A day later: three windows of at most 8 hours of new time, in order, each with the overlap, then caught up.
    let out = run("2026-11-20T12:00:00Z");
    let windows: Vec<&str> = out.lines().filter(|l| l.starts_with("quarter")).collect();
    assert_eq!(windows.len(), 3, "{out}");
    for line in &windows {
        let (start, end) = window(line);
        assert_eq!(start, previous - chrono::TimeDelta::minutes(10), "{out}");
        assert!(end - previous <= chrono::TimeDelta::hours(8), "{out}");
        previous = end;
    }
    assert!(previous >= chrono::NaiveDateTime::parse_from_str("2026-11-20 11:55:00", "%Y-%m-%d %H:%M:%S").expect("t"));
    // Caught up: the next run (a minute later) finds nothing due.
    assert!(run("2026-11-20T12:01:00Z").contains("no playbook is due"));
}

/// "More than 3 devices within an hour", under the configuration `init` writes (`first_lookback: 30d`): the
/// count is over the last hour whatever the run — it used to be over the run's window, 30 days on a first run,
/// and fired for an actor who touched 4 devices over two weeks.
#[test]
fn a_threshold_with_a_lookback_counts_over_its_lookback_on_the_first_run_too() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let action = |at: &str, actor: &str, device: &str| {
        serde_json::json!({"Timestamp": at, "ActionType": "RunLiveResponseSession", "AccountDisplayName": actor,
                           "ReportId": format!("{actor}-{at}"), "RawEventData": {"DeviceName": device}})
        .to_string()
    };
    let mut rows = Vec::new();
    for (day, device) in ["2026-11-06", "2026-11-10", "2026-11-14", "2026-11-19"].iter().zip(["a", "b", "c", "d"]) {
        rows.push(action(&format!("{day}T10:00:00Z"), "Megan Bowen", device));
    }
    for (minute, device) in [10, 20, 30, 40].iter().zip(["e", "f", "g", "h"]) {
        rows.push(action(&format!("2026-11-20T11:{minute}:00Z"), "Alex Wilber", device));
    }
    std::fs::write(data.path().join("CloudAppEvents.jsonl"), rows.join("\n") + "\n").expect("data");
    let playbooks = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        playbooks.path().join("burst.yaml"),
        "id: burst\ntitle: Live Response on many devices\nseverity: high\nschedule: { every: 15m, lookback: 1h }\n\
         query: |\n  CloudAppEvents\n  | summarize Devices = dcount(tostring(RawEventData.DeviceName)) by Actor = AccountDisplayName\n  \
         | where Devices > 3\nnotify:\n  - to: [soc-mail]\n    per: hit\n",
    )
    .expect("playbook");
    let run_at = |now: &str| {
        let workspace = Workspace::over(playbooks.path(), data.path(), false, "");
        let output = workspace.command(&["run"]).env("HUNTBOOK_NOW", now).output().expect("huntbook runs");
        assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
        stdout(&output)
    };
    // At 11:30 the last hour holds two of Alex's actions; Megan's four are spread over two weeks.
    let early = run_at("2026-11-20T11:30:00Z");
    assert!(early.contains("2026-11-20 10:30:00 → 2026-11-20 11:30:00") && early.contains("new hits     0"), "{early}");
    // At 11:45 the last hour holds Alex's four: one hit, Alex's.
    let later = run_at("2026-11-20T11:45:00Z");
    assert!(later.contains("2026-11-20 10:45:00 → 2026-11-20 11:45:00") && later.contains("new hits     1"), "{later}");
}

/// One receiver, two layouts: a `notify:` entry's `template:` replaces the receiver's for its e-mails.
#[test]
fn a_notify_entry_chooses_its_own_email_layout() {
    let playbooks = tempfile::tempdir().expect("a temporary directory");
    let text = |template: &str| {
        format!(
            "id: two-layouts\ntitle: Offboarding packages\nseverity: high\nschedule: {{ every: 1h }}\nquery: |\n  \
             CloudAppEvents | where ActionType == \"DownloadOffboardingPkg\" | project Timestamp, ReportId, AccountDisplayName\n\
             notify:\n  - to: [soc-mail]\n    subject: as a table\n  - to: [soc-mail]\n    subject: as a digest\n    \
             template: {template}\n"
        )
    };
    std::fs::write(playbooks.path().join("two-layouts.yaml"), text("digest")).expect("playbook");
    let workspace = Workspace::with_playbooks(playbooks.path());
    workspace.ok(&["run"]);
    let mails = workspace.outbox().get("soc-mail").cloned().unwrap_or_default();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let mut layouts: Vec<(String, bool)> = mails
        .iter()
        .map(|file| {
            let bytes = std::fs::read(file).expect("an e-mail");
            let parsed = mail_parser::MessageParser::default().parse(&bytes).expect("MIME");
            let text = parsed.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
            (parsed.subject().unwrap_or_default().to_string(), text.trim_start().starts_with("DIGEST ["))
        })
        .collect();
    layouts.sort();
    assert_eq!(layouts, [("as a digest".to_string(), true), ("as a table".to_string(), false)]);

    std::fs::write(playbooks.path().join("two-layouts.yaml"), text("digets")).expect("playbook");
    let refused = workspace.huntbook(&["validate"]);
    assert_eq!(refused.status.code(), Some(2));
    let said = stderr(&refused);
    assert!(said.contains("error: unknown template `digets`") && said.contains("did you mean `digest`?"), "{said}");
    assert!(said.contains("two-layouts.yaml:12:15"), "placed at the value: {said}");
}
