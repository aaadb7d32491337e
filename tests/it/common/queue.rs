//! Real queued messages for the delivery tests: the real binary runs every shipped playbook over the sample
//! data with network receivers that cannot be reached (`--wait 0s`: one attempt each, then they stay queued),
//! so the state file holds exactly what huntbook renders — MIME with its CSV, Teams card envelopes — and the
//! tests deliver them again, in process, to servers they control.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use huntbook::store::{OutboxEntry, OutboxState, Store};

use super::{huntbook, repo};

/// The webhook URL of the queued Teams receiver: its query string is the "signature" no output may show.
pub const WEBHOOK_SECRET: &str = "sig=TOPSECRETsignature123";

/// A state file with the shipped playbooks' 28 messages queued: `soc-mail` (5 e-mails), `soc-digest` (1 e-mail),
/// `soc-teams` (22 cards for a webhook).
pub fn queued_state(dir: &Path) -> PathBuf {
    let (state, _) = queued_state_with_config(dir);
    state
}

/// `huntbook` with the environment the queueing configuration (`queue.yaml` in `dir`) needs.
pub fn with_queue_environment(command: &mut std::process::Command) -> &mut std::process::Command {
    command.env("HB_TEST_WEBHOOK", format!("http://127.0.0.1:9/workflows/abc/invoke?{WEBHOOK_SECRET}"))
}

/// The state file and the configuration that queued it.
pub fn queued_state_with_config(dir: &Path) -> (PathBuf, PathBuf) {
    let config = dir.join("queue.yaml");
    let repo = repo();
    std::fs::write(
        &config,
        format!(
            r#"state: state.db
playbooks: {playbooks}
source: {{ kind: local, data: {data}, rebase_time: true }}
first_lookback: 30d
smtp: {{ host: 127.0.0.1, port: 9, tls: none }}
receivers:
  soc-mail:
    email: {{ to: [soc@contoso.example], cc: ["Duty Officer <duty@contoso.example>"], from: huntbook@contoso.example }}
  soc-digest:
    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, template: digest }}
  soc-teams:
    teams: {{ webhook: "${{env:HB_TEST_WEBHOOK}}" }}
"#,
            playbooks = repo.join("playbooks").display(),
            data = repo.join("examples/data").display(),
        ),
    )
    .expect("write the configuration");
    let output =
        with_queue_environment(huntbook().current_dir(dir).args(["run", "--all", "--wait", "0s", "-c"]).arg(&config))
            .output()
            .expect("huntbook runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stdout.contains(WEBHOOK_SECRET) && !stderr.contains(WEBHOOK_SECRET), "the webhook URL leaked: {stderr}");
    assert!(
        stderr.contains("Teams webhook 127.0.0.1#"),
        "the failed post names the webhook by host and hash: {stderr}"
    );
    assert!(
        stdout.contains("still queued: 1 for soc-digest, 5 for soc-mail, 22 for soc-teams"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (dir.join("state.db"), config)
}

/// Every pending message of `receiver`, in queue order.
pub fn pending(store: &Store, receiver: &str) -> Vec<OutboxEntry> {
    let mut all: Vec<OutboxEntry> = store
        .outbox(Some(OutboxState::Pending), usize::MAX)
        .expect("outbox")
        .into_iter()
        .filter(|entry| entry.message.receiver == receiver)
        .collect();
    all.sort_by(|a, b| (a.message.created, &a.message.id).cmp(&(b.message.created, &b.message.id)));
    all
}

/// Every message, by id.
pub fn by_id(store: &Store) -> std::collections::BTreeMap<String, OutboxEntry> {
    store.outbox(None, usize::MAX).expect("outbox").into_iter().map(|e| (e.message.id.clone(), e)).collect()
}

/// An instant after every queued message is due (their first attempt failed moments ago), on a whole second
/// (the store keeps instants to the microsecond).
pub fn later() -> DateTime<Utc> {
    use chrono::Timelike;
    let later = Utc::now() + chrono::TimeDelta::hours(1);
    later.with_nanosecond(0).unwrap_or(later)
}
