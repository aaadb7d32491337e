//! E-mail through Graph sendMail (`via: graph`), against the emulator binary: the queued MIME becomes
//! Graph's JSON request — subject, HTML body, recipients, the CSV, the Message-ID as a header — sent as the
//! sender's mailbox with the tenant's token, and the emulator's 202 is recorded as the answer.

use crate::common;

use std::sync::{Arc, Mutex};

use base64::Engine;
use chrono::TimeDelta;
use huntbook::config::secret::Redactor;
use huntbook::deliver::outbox::{Outbox, RetryPolicy};
use huntbook::deliver::sinks::Sinks;
use huntbook::deliver::teams::webhook_client;
use huntbook::graph::timer::{Timer, VirtualTimer};
use huntbook::graph::{Environment, RetryPolicy as GraphPolicy, http_client};
use huntbook::store::{OutboxState, Store};
use mail_parser::MessageParser;

use common::emulator::{Emulator, http};
use common::queue::{by_id, later, pending, queued_state};

#[tokio::test]
async fn queued_e_mails_go_out_as_graph_send_mail_requests() {
    let emulator = Emulator::start(&["--client-secret", "s3cret"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&queued_state(dir.path())).expect("store");
    let queued: Vec<_> = pending(&store, "soc-mail").into_iter().chain(pending(&store, "soc-digest")).collect();
    let text = format!(
        r#"source: {{ kind: local, data: {data} }}
tenants:
  contoso:
    tenant_id: 00000000-0000-0000-0000-000000000000
    login_url: {url}
    graph_url: {url}
    auth: {{ client_id: 11111111-1111-1111-1111-111111111111, client_secret: "${{env:SECRET}}" }}
receivers:
  soc-mail: {{ email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: graph }} }}
  soc-digest: {{ email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: graph }} }}
"#,
        data = common::sample_data().display(),
        url = emulator.url,
    );
    let config = huntbook::config::parse_config(None, &text, dir.path(), &|name| {
        (name == "SECRET").then(|| "s3cret".to_string())
    })
    .expect("configuration");
    let timer = Arc::new(VirtualTimer::new(later()));
    let environment = Environment {
        http: http_client().expect("client"),
        timer: Arc::clone(&timer) as Arc<dyn Timer>,
        policy: GraphPolicy::default(),
        var: Box::new(|_| None),
        waits: None,
        redactor: Default::default(),
    };
    let sinks = Sinks::from_config(&config, &environment, &webhook_client().expect("client"));
    assert!(sinks.problems().is_empty(), "{:?}", sinks.problems());
    {
        let shared = Mutex::new(&mut store);
        let sink_for = |receiver: &str| if receiver == "soc-teams" { None } else { sinks.get(receiver) };
        let redactor = Redactor::default();
        let outbox = Outbox::with_seed(&shared, &sink_for, timer.as_ref(), RetryPolicy::default(), &redactor, 3);
        outbox.deliver_until(timer.now() + TimeDelta::minutes(1)).await.expect("delivery");
    }

    let mail: Vec<serde_json::Value> =
        serde_json::from_str(&http::get(&format!("{}/_emulator/mail", emulator.url))).expect("JSON");
    assert_eq!(mail.len(), queued.len());
    let states = by_id(&store);
    for entry in &queued {
        let id = format!("<{}@huntbook.local>", entry.message.id);
        let sent = mail
            .iter()
            .find(|m| m["request"]["message"]["internetMessageHeaders"][0]["value"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} was not sent"));
        assert_eq!(sent["mailbox"], "huntbook@contoso.example");
        let message = &sent["request"]["message"];
        assert_eq!(message["subject"], entry.message.subject.as_str());
        assert_eq!(message["toRecipients"][0]["emailAddress"]["address"], "soc@contoso.example");
        assert_eq!(message["body"]["contentType"], "HTML");
        let original = MessageParser::new().parse(&entry.message.payload).expect("MIME");
        assert_eq!(message["body"]["content"].as_str(), original.body_html(0).as_deref());
        let attachments = message["attachments"].as_array().expect("list");
        assert_eq!(attachments.len(), original.attachment_count());
        for attachment in attachments {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(attachment["contentBytes"].as_str().expect("base64"))
                .expect("valid base64");
            if attachment["contentType"] == "image/png" {
                // The digest's chart: inline, by the Content-ID its HTML names.
                assert_eq!(attachment["isInline"], true);
                let id = attachment["contentId"].as_str().expect("a content id");
                assert!(message["body"]["content"].as_str().is_some_and(|html| html.contains(&format!("cid:{id}"))));
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "the PNG as the e-mail carries it");
            } else {
                assert!(bytes.starts_with("\u{FEFF}".as_bytes()), "the CSV as the e-mail carries it");
            }
        }
        let state = &states[&entry.message.id];
        assert_eq!(state.state, OutboxState::Sent);
        assert_eq!(state.answer.as_deref(), Some("202 Accepted"));
    }
    let token_calls = emulator.statuses("/oauth2/v2.0/token");
    assert_eq!(token_calls, vec![200], "one sign-in for every message");
}
