//! E-mail over SMTP, end to end against a real server on loopback (mailin-embedded, STARTTLS with a
//! certificate made at test time, AUTH): the messages the shipped playbooks queue are delivered by the real
//! outbox loop and SMTP sink, and what arrives is parsed back. Time is a virtual clock: retries and backoffs
//! are waited for without waiting.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use huntbook::config::secret::{Redactor, Secret};
use huntbook::config::{SmtpConfig, SmtpTls};
use huntbook::deliver::Sink;
use huntbook::deliver::outbox::{Outbox, RetryPolicy};
use huntbook::deliver::smtp::SmtpSink;
use huntbook::graph::timer::{Timer, VirtualTimer};
use huntbook::store::{OutboxState, Store};
use mail_parser::{MessageParser, MimeHeaders};

use common::queue::{by_id, later, pending, queued_state};
use common::smtp::{Options, PASSWORD, SmtpServer, USER, certificates, free_port};

fn config(port: u16, ca: Option<&std::path::Path>, password: &str) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::StartTls,
        username: Some(USER.into()),
        password: Some(Secret::new(password)),
        ca_file: ca.map(std::path::Path::to_path_buf),
    }
}

/// Delivers `soc-mail` (only) through `sink` until `until`; the other receivers have no sink here.
async fn deliver(store: &mut Store, sink: &Arc<dyn Sink>, timer: &VirtualTimer, until: TimeDelta) {
    let shared = Mutex::new(store);
    let sink_for = |receiver: &str| (receiver == "soc-mail").then(|| Arc::clone(sink));
    let redactor = Redactor::default();
    let outbox = Outbox::with_seed(&shared, &sink_for, timer, RetryPolicy::default(), &redactor, 5);
    outbox.deliver_until(timer.now() + until).await.expect("delivery");
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Store,
    timer: VirtualTimer,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = queued_state(dir.path());
    Setup { store: Store::open(&state).expect("store"), timer: VirtualTimer::new(later()), _dir: dir }
}

#[tokio::test]
async fn starttls_and_auth_deliver_each_message_once_byte_for_byte() {
    let certs = Arc::new(certificates());
    let server = SmtpServer::start(Options { tls: Some(Arc::clone(&certs)), ..Options::default() });
    let mut s = setup();
    let queued = pending(&s.store, "soc-mail");
    assert_eq!(queued.len(), 5);
    let sink: Arc<dyn Sink> = Arc::new(SmtpSink::new(&config(server.port, Some(&certs.ca), PASSWORD)).expect("sink"));
    deliver(&mut s.store, &sink, &s.timer, TimeDelta::zero()).await;

    let received = server.received();
    assert_eq!(received.len(), 5, "each message once");
    assert!(server.logins().iter().all(|(user, ok)| user == USER && *ok), "{:?}", server.logins());
    let states = by_id(&s.store);
    for (entry, got) in queued.iter().zip(&received) {
        // In queue order, byte for byte what the outbox holds (what the .eml sink writes), Message-ID included.
        assert_eq!(got.data.trim_ascii_end(), entry.message.payload.trim_ascii_end());
        assert_eq!(got.from, "huntbook@contoso.example");
        assert_eq!(got.to, vec!["soc@contoso.example".to_string(), "duty@contoso.example".to_string()]);
        let mime = MessageParser::new().parse(&got.data).expect("MIME");
        assert_eq!(mime.subject(), Some(entry.message.subject.as_str()));
        assert_eq!(mime.message_id(), Some(format!("{}@huntbook.local", entry.message.id).as_str()));
        let cc = mime.cc().and_then(|c| c.first()).expect("cc");
        assert_eq!((cc.name(), cc.address()), (Some("Duty Officer"), Some("duty@contoso.example")));
        let html = mime.body_html(0).expect("html");
        let text = mime.body_text(0).expect("text");
        assert!(html.contains("<table") && html.contains("<td") && !text.is_empty());
        for attachment in mime.attachments() {
            // The full result, when the table had to be cut: a header and more rows than the table shows.
            assert!(attachment.attachment_name().is_some_and(|n| n.ends_with(".csv")));
            let lines = attachment.contents().split(|b| *b == b'\n').filter(|line| !line.is_empty()).count();
            assert!(lines >= 2 && html.contains("more"), "{lines} CSV lines");
        }
        let state = &states[&entry.message.id];
        assert_eq!(state.state, OutboxState::Sent);
        assert!(state.answer.as_deref().is_some_and(|a| a.starts_with("250")), "{:?}", state.answer);
    }
    assert!(s.timer.waits().is_empty(), "nothing waited: {:?}", s.timer.waits());
}

#[tokio::test]
async fn a_wrong_password_is_permanent_and_says_so() {
    let certs = Arc::new(certificates());
    let server = SmtpServer::start(Options { tls: Some(Arc::clone(&certs)), ..Options::default() });
    let mut s = setup();
    let before = by_id(&s.store);
    let sink: Arc<dyn Sink> = Arc::new(SmtpSink::new(&config(server.port, Some(&certs.ca), "wrong")).expect("sink"));
    deliver(&mut s.store, &sink, &s.timer, TimeDelta::minutes(5)).await;

    assert!(server.received().is_empty());
    let dead = s.store.outbox(Some(OutboxState::Dead), 100).expect("dead");
    assert_eq!(dead.len(), 5, "each message dead at once, none left to retry");
    for entry in &dead {
        assert_eq!(entry.attempts, before[&entry.message.id].attempts + 1, "one attempt each, no retry");
        let error = entry.last_error.as_deref().unwrap_or_default();
        assert!(error.contains("535") && error.contains("smtp.username and smtp.password"), "{error}");
        assert!(!error.contains("wrong"), "the password is not in the error: {error}");
    }
    assert!(s.timer.waits().is_empty(), "no retry was waited for: {:?}", s.timer.waits());
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_with_a_clear_error() {
    let certs = Arc::new(certificates());
    let server = SmtpServer::start(Options { tls: Some(Arc::clone(&certs)), ..Options::default() });
    let mut s = setup();
    // No ca_file: the test authority is not among the system's.
    let sink: Arc<dyn Sink> = Arc::new(SmtpSink::new(&config(server.port, None, PASSWORD)).expect("sink"));
    deliver(&mut s.store, &sink, &s.timer, TimeDelta::minutes(5)).await;

    assert!(server.received().is_empty());
    assert!(server.logins().is_empty(), "the password never went to a server that is not trusted");
    let dead = s.store.outbox(Some(OutboxState::Dead), 100).expect("dead");
    assert_eq!(dead.len(), 5);
    let error = dead[0].last_error.as_deref().unwrap_or_default();
    assert!(error.contains("certificate is not trusted") && error.contains("smtp.ca_file"), "{error}");
}

#[tokio::test]
async fn a_server_down_then_up_gets_the_queue_once_in_order_after_the_backoff() {
    let certs = Arc::new(certificates());
    let port = free_port();
    let mut s = setup();
    let queued = pending(&s.store, "soc-mail");
    let sink: Arc<dyn Sink> = Arc::new(SmtpSink::new(&config(port, Some(&certs.ca), PASSWORD)).expect("sink"));

    // Down: the head fails for now, and the others wait behind it instead of each trying.
    deliver(&mut s.store, &sink, &s.timer, TimeDelta::zero()).await;
    let after_outage = pending(&s.store, "soc-mail");
    assert_eq!(after_outage.len(), 5, "nothing lost, nothing dead");
    let head = &after_outage[0];
    assert_eq!(head.message.id, queued[0].message.id);
    let error = head.last_error.as_deref().unwrap_or_default();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    let wait = head.next_attempt - s.timer.now();
    assert!(
        wait >= TimeDelta::seconds(30) && wait <= TimeDelta::seconds(60),
        "the second failure backs off 30-60 s: {wait}"
    );
    assert!(after_outage[1..].iter().all(|e| e.attempts == queued[1].attempts), "the others were not tried");

    // Still down before the backoff ends: not even tried.
    s.timer.advance(Duration::from_secs(10));
    deliver(&mut s.store, &sink, &s.timer, TimeDelta::zero()).await;
    assert_eq!(pending(&s.store, "soc-mail")[0].attempts, head.attempts);

    // Up: one pass after the backoff delivers everything, once, in queue order.
    let server = SmtpServer::start_on(port, Options { tls: Some(Arc::clone(&certs)), ..Options::default() });
    s.timer.advance(Duration::from_secs(60));
    deliver(&mut s.store, &sink, &s.timer, TimeDelta::zero()).await;
    let received: Vec<Vec<u8>> = server.received().into_iter().map(|r| r.data.trim_ascii_end().to_vec()).collect();
    let expected: Vec<Vec<u8>> = queued.iter().map(|e| e.message.payload.trim_ascii_end().to_vec()).collect();
    assert_eq!(received, expected);
    assert!(pending(&s.store, "soc-mail").is_empty());
}

#[tokio::test]
async fn a_4xx_is_retried_after_the_backoff_within_the_wait_and_delivered_once() {
    let certs = Arc::new(certificates());
    let server = SmtpServer::start(Options { tls: Some(Arc::clone(&certs)), refuse_first: 1, ..Options::default() });
    let mut s = setup();
    let sink: Arc<dyn Sink> = Arc::new(SmtpSink::new(&config(server.port, Some(&certs.ca), PASSWORD)).expect("sink"));
    deliver(&mut s.store, &sink, &s.timer, TimeDelta::minutes(2)).await;

    assert_eq!(server.received().len(), 5, "each once: the refused one again after its backoff");
    let waits = s.timer.waits();
    assert_eq!(waits.len(), 1, "one wait, for the retry: {waits:?}");
    assert!(waits[0] >= Duration::from_secs(30) && waits[0] <= Duration::from_secs(60), "{waits:?}");
    let first = &by_id(&s.store)[&pending_ids(&server)[0]];
    assert_eq!(first.state, OutboxState::Sent);
    assert!(
        first.last_error.as_deref().is_some_and(|e| e.contains("451")),
        "the 4xx is on record: {:?}",
        first.last_error
    );
}

/// The outbox ids of the messages the server got, from their Message-IDs.
fn pending_ids(server: &SmtpServer) -> Vec<String> {
    server
        .received()
        .iter()
        .filter_map(|r| MessageParser::new().parse(&r.data).and_then(|m| m.message_id().map(str::to_string)))
        .map(|id| id.trim_end_matches("@huntbook.local").to_string())
        .collect()
}

#[tokio::test]
async fn a_message_still_failing_after_max_age_is_given_up_on() {
    let certs = Arc::new(certificates());
    let mut s = setup();
    s.timer.advance(Duration::from_secs(49 * 3600));
    let sink: Arc<dyn Sink> = Arc::new(SmtpSink::new(&config(free_port(), Some(&certs.ca), PASSWORD)).expect("sink"));
    deliver(&mut s.store, &sink, &s.timer, TimeDelta::zero()).await;
    let dead = s.store.outbox(Some(OutboxState::Dead), 100).expect("dead");
    assert_eq!(dead.len(), 5, "all five are older than 48 h: each tried once more, then dead");
    let error = dead[0].last_error.as_deref().unwrap_or_default();
    assert!(error.contains("after 48 h"), "{error}");
}
