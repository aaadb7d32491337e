//! `kill -9` of `huntbook run` in the middle of delivering to a real SMTP server, then another run: every
//! message arrives, and only the one the server had taken just before the kill arrives twice — with the same
//! Message-ID. The server holds its "250 OK" to the third message until the test has killed the client, so
//! the moment is exact without any timing.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use huntbook::store::Store;
use mail_parser::MessageParser;

use common::smtp::{Options, PASSWORD, SmtpServer, USER, certificates};
use common::{huntbook, repo};

#[test]
fn a_run_killed_during_delivery_loses_nothing_and_repeats_only_the_message_in_flight() {
    let certs = Arc::new(certificates());
    let server = SmtpServer::start(Options { tls: Some(Arc::clone(&certs)), hold_at: Some(3), ..Options::default() });
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("huntbook.yaml");
    std::fs::write(
        &config,
        format!(
            r#"state: state.db
playbooks: {playbooks}
source: {{ kind: local, data: {data}, rebase_time: true }}
first_lookback: 30d
smtp:
  host: 127.0.0.1
  port: {port}
  username: {USER}
  password: ${{env:HB_TEST_SMTP_PASSWORD}}
  ca_file: {ca}
receivers:
  soc-mail:
    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example }}
  soc-digest:
    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, template: digest }}
  soc-teams:
    teams: {{ dir: teams }}
"#,
            playbooks = repo().join("playbooks").display(),
            data = repo().join("examples/data").display(),
            port = server.port,
            ca = certs.ca.display(),
        ),
    )
    .expect("write");
    let run = |extra: &[&str]| {
        let mut command = huntbook();
        command
            .current_dir(dir.path())
            .arg("run")
            .args(extra)
            .arg("-c")
            .arg(&config)
            .env("HB_TEST_SMTP_PASSWORD", PASSWORD)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    };

    let mut first = run(&["--all"]).spawn().expect("huntbook run starts");
    server.wait_until_held();
    first.kill().expect("kill -9");
    let status = first.wait().expect("wait");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
    server.release();

    let second = run(&[]).output().expect("the next run");
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&second.stderr));
    assert!(stdout.contains("no playbook is due") && stdout.contains("delivered 4 messages"), "{stdout}");

    let store = Store::open(&dir.path().join("state.db")).expect("store");
    let queued: Vec<String> = store
        .outbox(None, 100)
        .expect("outbox")
        .into_iter()
        .filter(|e| e.message.receiver != "soc-teams")
        .map(|e| e.message.id)
        .collect();
    assert_eq!(queued.len(), 6, "5 e-mails and a digest");
    let received: Vec<String> = server
        .received()
        .iter()
        .map(|r| {
            let mime = MessageParser::new().parse(&r.data).expect("MIME");
            mime.message_id().expect("Message-ID").trim_end_matches("@huntbook.local").to_string()
        })
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &received {
        *counts.entry(id).or_default() += 1;
    }
    for id in &queued {
        assert!(counts.contains_key(id.as_str()), "{id} was never delivered: {received:?}");
    }
    let twice: Vec<&str> = counts.iter().filter(|(_, n)| **n > 1).map(|(id, _)| *id).collect();
    assert_eq!(twice, vec![received[2].as_str()], "only the message taken just before the kill, again: {received:?}");
    assert_eq!(received.len(), 7);
    assert!(store.outbox(None, 100).expect("outbox").iter().all(|e| e.state.as_str() == "sent"));
}
