//! Reading back a queued e-mail. The outbox keeps the exact MIME the renderer built (the bytes SMTP sends and
//! the `.eml` sink writes); the SMTP envelope and the Graph sendMail request are read from it, so a message
//! queued before a configuration change still goes to the recipients its headers name.

use mail_parser::{Address, MessageParser, MimeHeaders};

/// The SMTP envelope of a message: its sender and every recipient (To and Cc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub recipients: Vec<String>,
}

/// A message taken apart for Graph sendMail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParts {
    pub subject: String,
    pub from: String,
    pub to: Vec<Recipient>,
    pub cc: Vec<Recipient>,
    pub html: String,
    pub message_id: Option<String>,
    pub attachments: Vec<MailAttachment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub name: Option<String>,
    pub address: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The `Content-ID` of an inline part (an image the HTML shows as `cid:...`), without angle brackets.
    pub content_id: Option<String>,
}

fn recipients(address: Option<&Address>) -> Vec<Recipient> {
    address
        .map(|list| {
            list.iter()
                .filter_map(|addr| {
                    Some(Recipient {
                        name: addr.name().map(str::to_string).filter(|n| !n.is_empty()),
                        address: addr.address()?.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The envelope of a queued message, from its From, To and Cc headers.
pub fn envelope(mime: &[u8]) -> Result<Envelope, String> {
    let message = MessageParser::new().parse_headers(mime).ok_or("the queued message is not an e-mail")?;
    let from = recipients(message.from()).into_iter().next().ok_or("the queued message has no From address")?;
    let mut all = recipients(message.to());
    all.extend(recipients(message.cc()));
    if all.is_empty() {
        return Err("the queued message has no recipient".into());
    }
    Ok(Envelope { from: from.address, recipients: all.into_iter().map(|r| r.address).collect() })
}

/// Everything Graph sendMail needs from a queued message.
pub fn parts(mime: &[u8]) -> Result<MailParts, String> {
    let message = MessageParser::new().parse(mime).ok_or("the queued message is not an e-mail")?;
    let from = recipients(message.from()).into_iter().next().ok_or("the queued message has no From address")?;
    let html = message.body_html(0).map(|html| html.into_owned()).unwrap_or_else(|| {
        let text = message.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
        format!("<pre>{}</pre>", crate::render::email::escape_html(&text))
    });
    let attachments = message
        .attachments()
        .map(|part| MailAttachment {
            name: part.attachment_name().unwrap_or("attachment").to_string(),
            content_type: part.content_type().map_or("application/octet-stream".to_string(), |t| {
                t.subtype().map_or(t.ctype().to_string(), |sub| format!("{}/{sub}", t.ctype()))
            }),
            bytes: part.contents().to_vec(),
            content_id: part.content_id().map(|id| id.trim_matches(['<', '>']).to_string()),
        })
        .collect();
    Ok(MailParts {
        subject: message.subject().unwrap_or_default().to_string(),
        from: from.address,
        to: recipients(message.to()),
        cc: recipients(message.cc()),
        html,
        message_id: message.message_id().map(|id| format!("<{id}>")),
        attachments,
    })
}
