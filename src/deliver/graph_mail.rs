//! The Graph sendMail sink (`via: graph`): `POST /users/{from}/sendMail` with the tenant's token. The request
//! is made from the stored MIME: subject, HTML body, To and Cc, the CSV and any inline image (by `contentId`),
//! and the message's `Message-ID` as an `x-huntbook-message-id` header (Graph sets its own Message-ID).
//!
//! Graph refuses requests above about 4 MB. A message whose request would be larger loses its attachments,
//! largest first, and says so at the top of its body; one that is too large even then is refused here, with
//! the reason, instead of by Graph. Exchange allows four concurrent requests per mailbox: each mailbox has a
//! semaphore of four, shared by every receiver sending from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use futures_util::future::BoxFuture;
use serde_json::{Value as Json, json};
use tokio::sync::Semaphore;

use super::mime::{MailParts, Recipient, parts};
use super::{Delivery, Outgoing, Sink, classify};
use crate::graph::{GraphClient, PostFailure};

/// The largest request sent: Graph caps requests at about 4 MB; this keeps a margin for headers.
pub const REQUEST_LIMIT: usize = 3_500_000;

/// Requests Exchange runs at once for one mailbox.
pub const PER_MAILBOX: usize = 4;

/// How long Graph may take to accept a message.
pub const SEND_MAIL_TIMEOUT: Duration = Duration::from_secs(60);

/// The semaphores of the mailboxes sent from, shared by every Graph mail sink of a process.
#[derive(Default)]
pub struct Mailboxes {
    open: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Mailboxes {
    fn of(&self, mailbox: &str) -> Arc<Semaphore> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(open.entry(mailbox.to_ascii_lowercase()).or_insert_with(|| Arc::new(Semaphore::new(PER_MAILBOX))))
    }
}

pub struct GraphMailSink {
    client: Arc<GraphClient>,
    mailboxes: Arc<Mailboxes>,
    timeout: Duration,
}

impl GraphMailSink {
    pub fn new(client: Arc<GraphClient>, mailboxes: Arc<Mailboxes>) -> GraphMailSink {
        GraphMailSink { client, mailboxes, timeout: SEND_MAIL_TIMEOUT }
    }

    async fn send(&self, message: &Outgoing<'_>) -> Delivery {
        let parts = match parts(message.payload) {
            Ok(parts) => parts,
            Err(problem) => return Delivery::GiveUp { error: problem },
        };
        let body = match request(&parts) {
            Ok(body) => body,
            Err(problem) => return Delivery::GiveUp { error: problem },
        };
        let target = format!("Graph sendMail as {} (tenant {})", parts.from, self.client.name());
        let path = format!("users/{}/sendMail", percent_encoding::utf8_percent_encode(&parts.from, SEGMENT));
        let semaphore = self.mailboxes.of(&parts.from);
        let Ok(_permit) = semaphore.acquire().await else {
            return Delivery::RetryLater { error: format!("{target}: shutting down"), after: None };
        };
        match self.client.post_once(&path, body, self.timeout).await {
            Ok(answer) => classify::http(&target, answer.status, &answer.headers, &answer.body, self.client.now()),
            Err(PostFailure::Transport(error)) => classify::http_transport(&target, &error, self.timeout),
            Err(PostFailure::SignIn(problem)) => {
                // Entra said no, after its own retries; it may be an outage or a secret that expired. Either way the
                // message waits for it to be fixed rather than dying.
                Delivery::RetryLater { error: format!("{target}: signing in failed: {problem}"), after: None }
            }
            Err(PostFailure::Url(problem)) => Delivery::GiveUp { error: format!("{target}: {problem}") },
        }
    }
}

/// Characters escaped in the mailbox path segment.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'@').remove(b'.').remove(b'-').remove(b'_').remove(b'+');

impl Sink for GraphMailSink {
    fn deliver<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }

    fn describe(&self) -> String {
        format!("Graph sendMail (tenant {})", self.client.name())
    }
}

fn recipients(list: &[Recipient]) -> Json {
    list.iter()
        .map(|r| match &r.name {
            Some(name) => json!({"emailAddress": {"address": r.address, "name": name}}),
            None => json!({"emailAddress": {"address": r.address}}),
        })
        .collect()
}

/// The sendMail request of a message, within `REQUEST_LIMIT`: attachments dropped (largest first, inline images
/// last) with a note in the body when it would be larger; an error when the body alone is too large.
pub fn request(parts: &MailParts) -> Result<Vec<u8>, String> {
    let mut kept: Vec<usize> = (0..parts.attachments.len()).collect();
    let mut dropped: Vec<usize> = Vec::new();
    // Inline images are dropped last: the body shows them.
    kept.sort_by_key(|&i| {
        (parts.attachments[i].content_id.is_some(), std::cmp::Reverse(parts.attachments[i].bytes.len()))
    });
    loop {
        let body = encode(parts, &kept, &dropped)?;
        if body.len() <= REQUEST_LIMIT {
            return Ok(body);
        }
        if kept.is_empty() {
            return Err(format!(
                "the message is {:.1} MB as a Graph request even without its attachments, above Graph's limit of about \
                 4 MB; send it with `via: smtp` instead",
                body.len() as f64 / 1e6
            ));
        }
        dropped.push(kept.remove(0));
    }
}

fn encode(parts: &MailParts, kept: &[usize], dropped: &[usize]) -> Result<Vec<u8>, String> {
    let mut html = parts.html.clone();
    if !dropped.is_empty() {
        let names: Vec<String> = dropped
            .iter()
            .map(|&i| {
                let a = &parts.attachments[i];
                format!("{} ({:.1} MB)", crate::render::email::escape_html(&a.name), a.bytes.len() as f64 / 1e6)
            })
            .collect();
        let note = format!(
            "<p style=\"padding:8px;border:1px solid #c19c00;background:#fff4ce\">Left out of this message because \
             Graph accepts at most 4 MB per message: {}. The full result is in huntbook's outbox and in the \
             playbook's run history.</p>",
            names.join(", ")
        );
        html = insert_after_body_tag(&html, &note);
    }
    let mut attachments: Vec<Json> = Vec::new();
    for &i in kept {
        let a = &parts.attachments[i];
        let mut item = json!({
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": a.name,
            "contentType": a.content_type,
            "contentBytes": base64::engine::general_purpose::STANDARD.encode(&a.bytes),
        });
        if let Some(id) = &a.content_id {
            item["contentId"] = json!(id);
            item["isInline"] = json!(true);
        }
        attachments.push(item);
    }
    let mut message = json!({
        "subject": parts.subject,
        "body": {"contentType": "HTML", "content": html},
        "toRecipients": recipients(&parts.to),
        "ccRecipients": recipients(&parts.cc),
        "attachments": attachments,
    });
    if let Some(id) = &parts.message_id {
        message["internetMessageHeaders"] = json!([{"name": "x-huntbook-message-id", "value": id}]);
    }
    serde_json::to_vec(&json!({"message": message, "saveToSentItems": false})).map_err(|e| e.to_string())
}

/// `note` as the first thing inside `<body …>`, or at the start when there is no body tag.
fn insert_after_body_tag(html: &str, note: &str) -> String {
    let lower = html.to_ascii_lowercase();
    match lower.find("<body").and_then(|start| lower[start..].find('>').map(|end| start + end + 1)) {
        Some(at) => format!("{}{note}{}", &html[..at], &html[at..]),
        None => format!("{note}{html}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::mime::MailAttachment;

    fn message(csv: usize, logo: usize) -> MailParts {
        MailParts {
            subject: "Offboarding package downloaded".into(),
            from: "huntbook@contoso.example".into(),
            to: vec![Recipient { name: Some("SOC".into()), address: "soc@contoso.example".into() }],
            cc: vec![],
            html: "<html><body class=\"x\"><table><tr><td>row</td></tr></table></body></html>".into(),
            message_id: Some("<abc@huntbook.local>".into()),
            attachments: vec![
                MailAttachment {
                    name: "hits.csv".into(),
                    content_type: "text/csv".into(),
                    bytes: vec![b'a'; csv],
                    content_id: None,
                },
                MailAttachment {
                    name: "logo.png".into(),
                    content_type: "image/png".into(),
                    bytes: vec![7; logo],
                    content_id: Some("logo1".into()),
                },
            ],
        }
    }

    #[test]
    fn a_small_message_keeps_everything() {
        let body: Json = serde_json::from_slice(&request(&message(1000, 100)).expect("fits")).expect("json");
        let m = &body["message"];
        assert_eq!(m["toRecipients"][0]["emailAddress"]["address"], "soc@contoso.example");
        assert_eq!(m["attachments"].as_array().map(Vec::len), Some(2));
        assert_eq!(m["attachments"][1]["contentId"], "logo1");
        assert_eq!(m["attachments"][1]["isInline"], true);
        assert_eq!(m["internetMessageHeaders"][0]["value"], "<abc@huntbook.local>");
        assert_eq!(body["saveToSentItems"], false);
        assert!(!m["body"]["content"].as_str().unwrap_or_default().contains("Left out"));
    }

    #[test]
    fn a_large_attachment_is_dropped_with_a_note_and_the_request_fits() {
        let bytes = request(&message(3_000_000, 1000)).expect("fits once the CSV is dropped");
        assert!(bytes.len() <= REQUEST_LIMIT);
        let body: Json = serde_json::from_slice(&bytes).expect("json");
        let m = &body["message"];
        let names: Vec<&str> =
            m["attachments"].as_array().expect("list").iter().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names, vec!["logo.png"]);
        let html = m["body"]["content"].as_str().expect("html");
        assert!(html.starts_with("<html><body class=\"x\"><p") && html.contains("hits.csv (3.0 MB)"), "{html}");
    }

    #[test]
    fn a_body_too_large_on_its_own_is_refused_here() {
        let mut parts = message(10, 10);
        parts.html = "x".repeat(REQUEST_LIMIT + 1);
        let error = request(&parts).expect_err("too large");
        assert!(error.contains("even without its attachments"), "{error}");
    }
}
