//! What reaches a terminal from outside is inert: a server's error text, a silence's reason, an answer kept
//! with a message. A line break there cannot forge a line of output, an escape sequence cannot clear or
//! recolour the screen, a bidi control cannot reorder what follows — each is shown by its code point, as
//! e-mails and cards already show them. Through the real binary, against servers on loopback.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::emulator::Emulator;
use common::webhook::{Answer, Webhook};
use common::{copy_playbooks, huntbook, sample_data, stderr, stdout};

/// What a hostile server or person writes: a line break that starts a forged line, an escape sequence that
/// clears the screen and turns the text red, a right-to-left override.
const HOSTILE: &str = "first line\nerror: FORGED line\u{1b}[2J\u{1b}[31m red \u{202e}desrever";

/// Everything a person would read, checked for what must not be there raw.
fn assert_inert(what: &str, text: &str) {
    assert!(!text.contains('\u{1b}'), "{what}: a raw escape character in:\n{text}");
    assert!(!text.contains('\u{202e}'), "{what}: a raw right-to-left override in:\n{text}");
    assert!(!text.lines().any(|line| line.starts_with("error: FORGED")), "{what}: a forged line in:\n{text}");
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = huntbook();
    command.current_dir(dir).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("huntbook runs")
}

#[test]
fn a_graph_error_reaches_the_terminal_inert() {
    const SECRET: &str = "terminal-secret";
    let emulator = Emulator::start(&["--client-secret", SECRET]);
    let body: &'static str = Box::leak(
        serde_json::json!({ "error": { "code": "BadRequest", "message": HOSTILE } }).to_string().into_boxed_str(),
    );
    let graph = Webhook::start(vec![Answer { body, ..Answer::status(400) }]);
    let root = graph.url.split("/workflows").next().expect("the server's root").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    copy_playbooks(&dir.path().join("playbooks"), &["offboarding-package-download"]);
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: graph\ntenants:\n  contoso:\n    tenant_id: \
             contoso.onmicrosoft.com\n    login_url: {login}\n    graph_url: {root}\n    auth:\n      client_id: \
             11111111-1111-1111-1111-111111111111\n      client_secret: ${{env:HB_SECRET}}\nreceivers:\n  \
             soc-mail: {{ file: {{ dir: outbox }} }}\n",
            login = emulator.url
        ),
    )
    .expect("config");
    let env = [("HB_SECRET", SECRET)];
    let ran = run_in(dir.path(), &["run"], &env);
    assert_eq!(ran.status.code(), Some(1), "{}", stderr(&ran));
    let shown = format!("{}{}", stdout(&ran), stderr(&ran));
    assert!(shown.contains("Graph rejected the query") && shown.contains("‹U+001B›[2J"), "{shown}");
    assert_inert("run", &shown);
    let logged = run_in(dir.path(), &["run", "--all", "-vv"], &env);
    assert_inert("run's log", &stderr(&logged));
    let runs = run_in(dir.path(), &["runs"], &env);
    assert!(stdout(&runs).contains("failed: Graph rejected the query"), "{}", stdout(&runs));
    assert_inert("runs", &stdout(&runs));
}

#[test]
fn a_silence_reason_and_a_webhook_answer_reach_the_terminal_inert() {
    let body: &'static str = Box::leak(format!("no such flow: {HOSTILE}").into_boxed_str());
    let webhook = Webhook::start(vec![Answer { body, ..Answer::status(400) }]);
    let dir = tempfile::tempdir().expect("temp dir");
    copy_playbooks(&dir.path().join("playbooks"), &["manual-device-isolation"]);
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: '{}', rebase_time: true }}\n\
             first_lookback: 30d\nreceivers:\n  soc-teams: {{ teams: {{ webhook: '${{env:HB_WEBHOOK}}', per_second: 4 }} }}\n",
            sample_data().display()
        ),
    )
    .expect("config");
    let env = [("HB_WEBHOOK", webhook.url.as_str())];
    let added = run_in(
        dir.path(),
        &[
            "silence",
            "add",
            "--playbook",
            "manual-device-isolation",
            "--where",
            "DeviceName == 'x'",
            "--for",
            "1h",
            "--reason",
            HOSTILE,
        ],
        &env,
    );
    assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));
    let listed = run_in(dir.path(), &["silence", "list"], &env);
    assert!(stdout(&listed).contains("‹U+000A›error: FORGED line‹U+001B›[2J"), "{}", stdout(&listed));
    assert_inert("silence list", &stdout(&listed));

    let ran = run_in(dir.path(), &["run", "--all"], &env);
    assert_inert("run", &format!("{}{}", stdout(&ran), stderr(&ran)));
    let outbox = run_in(dir.path(), &["outbox", "list", "--all"], &env);
    assert_inert("outbox list", &stdout(&outbox));
    let dead = run_in(dir.path(), &["outbox", "list", "--dead"], &env);
    assert_inert("outbox list --dead", &stdout(&dead));
    let id = stdout(&dead).lines().nth(1).and_then(|line| line.split_whitespace().next()).map(str::to_string);
    let id = id.expect("the message the webhook refused");
    let shown = run_in(dir.path(), &["outbox", "show", &id], &env);
    assert!(
        stdout(&shown).contains("answered 400 Bad Request: no such flow: first line error: FORGED"),
        "{}",
        stdout(&shown)
    );
    assert_inert("outbox show", &stdout(&shown));
}
