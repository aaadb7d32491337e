//! Helpers shared by the integration tests: run the real binary, read the sample data independently.
#![allow(dead_code)]

pub mod cards;
pub mod disk;
pub mod emulator;
pub mod queue;
pub mod smtp;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const SAMPLE_NOW: &str = "2026-11-20T12:00:00Z";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample_data() -> PathBuf {
    repo().join("examples/data")
}

pub fn huntbook() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_huntbook"));
    command.current_dir(repo()).env_remove("HUNTBOOK_DATA").stdin(Stdio::null());
    command
}

/// Shipped playbooks, with the fixtures of their tests (all of `playbooks/tests`), copied into `dir`.
pub fn copy_playbooks(dir: &Path, names: &[&str]) {
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    for name in names {
        std::fs::copy(repo().join("playbooks").join(format!("{name}.yaml")), dir.join(format!("{name}.yaml")))
            .expect("copy a shipped playbook");
    }
    for fixture in std::fs::read_dir(repo().join("playbooks/tests")).expect("the fixtures") {
        let fixture = fixture.expect("an entry").path();
        std::fs::copy(&fixture, dir.join("tests").join(fixture.file_name().expect("a name"))).expect("copy a fixture");
    }
}

/// Runs `huntbook query` over a data directory with the sample's `now`.
pub fn query(data: &Path, extra: &[&str], text: &str) -> Output {
    let mut command = huntbook();
    command.arg("query").arg("--data").arg(data).args(["--now", SAMPLE_NOW]).args(extra).arg(text);
    command.output().expect("huntbook runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The rows of a query as JSON objects (from `--format json`, the Graph response shape).
pub fn query_rows(text: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let output = query(&sample_data(), &["--format", "json"], text);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    let response: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json output");
    response["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r.as_object().expect("row object").clone())
        .collect()
}

/// The sample CloudAppEvents rows, read with serde_json alone: the independent side of each comparison.
pub fn raw_events() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(sample_data().join("CloudAppEvents.jsonl")).expect("sample data");
    text.lines().map(|line| serde_json::from_str(line).expect("valid line")).collect()
}

pub fn raw(event: &serde_json::Value, field: &str) -> String {
    match &event["RawEventData"][field] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A workspace of one playbook that runs every 15 minutes (5 minutes' delay, 10 minutes' overlap) over the
/// sample data without rebasing its times, writing files to `out/`; `extra` is added to its `huntbook.yaml`.
pub fn quarter_hour_workspace(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&playbooks).expect("mkdir");
    std::fs::write(
        playbooks.join("quarter.yaml"),
        "id: quarter\ntitle: Every quarter hour\nseverity: low\nschedule: { every: 15m, delay: 5m, overlap: 10m }\n\
         query: CloudAppEvents | where ActionType == \"DownloadOffboardingPkg\" | project Timestamp, AccountDisplayName\n\
         notify:\n  - to: [files]\n",
    )
    .expect("playbook");
    let data = format!("'{}'", sample_data().display().to_string().replace('\'', "''"));
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: {data} }}\n{extra}\n\
             receivers:\n  files: {{ file: {{ dir: out }} }}\n"
        ),
    )
    .expect("config");
    dir
}

/// A `huntbook.yaml` in `dir` over the sample data (times not moved), its playbooks in `playbooks/` and one
/// receiver, `soc-mail`, writing files to `out/`.
pub fn write_local_config(dir: &Path) {
    std::fs::write(
        dir.join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: '{}' }}\nreceivers:\n  \
             soc-mail: {{ file: {{ dir: out }} }}\n",
            repo().join("examples/data").display()
        ),
    )
    .expect("config");
}

/// HTML text as a reader sees it: the entities handlebars and huntbook write, decoded.
pub fn html_unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x60;", "`")
        .replace("&#x3D;", "=")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Where Chromium is; `None` (and a note saying what is not looked at) when it is not installed — unless
/// `HUNTBOOK_REQUIRE_BROWSER` is set, as `.ci/run` sets it, which makes its absence a failure.
pub fn chromium(what_is_skipped: &str) -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("HUNTBOOK_REQUIRE_BROWSER").is_none(),
            "HUNTBOOK_REQUIRE_BROWSER is set and no chromium is on the PATH"
        );
        eprintln!("note: no chromium on the PATH: {what_is_skipped} (.ci/run installs it)");
    }
    found
}

/// Headless Chromium's view of a page after its scripts ran: the DOM.
pub fn browser_dom(browser: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().expect("a profile directory");
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
