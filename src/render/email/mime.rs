//! The message itself: addresses, the CSV of the full result, and the RFC 5322 bytes built with lettre.
//! Everything that reaches a header is either configuration (addresses, checked here) or a subject that
//! `sanitize::clean_subject` made one line; lettre encodes non-ASCII text (RFC 2047) and folds long lines.
//! Boundaries are derived from a hash of the content, so the same message always has the same bytes, and no
//! body can contain its own boundary.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message as MimeMessage;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};

use super::RenderError;
use crate::kql::datetime::format_datetime;
use crate::kql::value::Value;
use crate::route::message::Message;

/// A Message-ID's domain: the id is `<{outbox id}@huntbook.local>`.
const MESSAGE_ID_DOMAIN: &str = "huntbook.local";

/// The header values of a message, checked.
pub struct Addresses {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
}

/// Parses the sender and recipients; every address that does not parse is named in the error.
pub fn parse_addresses(from: &str, to: &[String], cc: &[String]) -> Result<Addresses, RenderError> {
    let mut invalid = Vec::new();
    let mut parse = |field: &'static str, address: &str| -> Option<Mailbox> {
        match address.trim().parse::<Mailbox>() {
            Ok(mailbox) => Some(mailbox),
            Err(_) => {
                invalid.push(format!("{field} {address:?}"));
                None
            }
        }
    };
    let from = parse("from", from);
    let to: Vec<Mailbox> = to.iter().filter_map(|address| parse("to", address)).collect();
    let cc: Vec<Mailbox> = cc.iter().filter_map(|address| parse("cc", address)).collect();
    if !invalid.is_empty() {
        return Err(RenderError::Address { addresses: invalid });
    }
    let Some(from) = from else { return Err(RenderError::Address { addresses: vec!["from".to_string()] }) };
    if to.is_empty() && cc.is_empty() {
        return Err(RenderError::NoRecipient);
    }
    Ok(Addresses { from, to, cc })
}

/// The Message-ID of an outbox id; the id must be a plain token (letters, digits, `-`, `_`, `.`).
pub fn message_id(outbox_id: &str) -> Result<String, RenderError> {
    let plain = !outbox_id.is_empty()
        && outbox_id.len() <= 200
        && outbox_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        Ok(format!("<{outbox_id}@{MESSAGE_ID_DOMAIN}>"))
    } else {
        Err(RenderError::MessageId { id: outbox_id.chars().take(80).collect() })
    }
}

/// A cell as the CSV holds it: the whole value; datetimes in ISO 8601, dynamic values as JSON. A text value
/// that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`; control and
/// invisible characters (a NUL, an escape sequence, a right-to-left mark) are shown by code point, as in the
/// card and the e-mail — line breaks and tabs stay, quoted.
fn csv_value(value: &Value) -> String {
    match value {
        Value::DateTime(ticks) => format_datetime(*ticks),
        Value::String(_) | Value::Dynamic(_) => {
            let raw = value.to_text();
            let text = crate::render::visible::made_visible(&raw, &['\n', '\r', '\t']);
            if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.into_owned() }
        }
        other => other.to_text().to_string(),
    }
}

/// Every row and column of the message as CSV (UTF-8 with a byte-order mark, which spreadsheets need to read
/// it as UTF-8).
pub fn csv_attachment(message: &Message) -> Result<Vec<u8>, RenderError> {
    let mut writer = csv::Writer::from_writer(Vec::from("\u{FEFF}".as_bytes()));
    let failed = |error: csv::Error| RenderError::Csv { message: error.to_string() };
    writer.write_record(message.columns.iter().map(|column| column.name.as_str())).map_err(failed)?;
    for row in &message.hits {
        let record = (0..message.columns.len()).map(|index| row.get(index).map(csv_value).unwrap_or_default());
        writer.write_record(record).map_err(failed)?;
    }
    writer.into_inner().map_err(|error| RenderError::Csv { message: error.to_string() })
}

/// `<playbook-id>-<window end>.csv`, safe as a file name: `offboarding-package-download-20261120T0815Z.csv`.
pub fn attachment_name(message: &Message) -> String {
    let id = super::sanitize::file_name_part(&message.playbook.id);
    format!("{id}-{}.csv", message.window_end.format("%Y%m%dT%H%MZ"))
}

/// What goes into the message.
pub struct Parts<'a> {
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// File name and CSV bytes.
    pub attachment: Option<(String, Vec<u8>)>,
    /// An image the HTML shows: its Content-ID (without brackets) and PNG bytes.
    pub inline: Option<(String, Vec<u8>)>,
}

fn boundary(kind: &str, parts: &Parts) -> String {
    let mut hash = Sha256::new();
    for piece in [parts.subject.as_bytes(), parts.text.as_bytes(), parts.html.as_bytes()] {
        hash.update((piece.len() as u64).to_le_bytes());
        hash.update(piece);
    }
    for (name, bytes) in parts.attachment.iter().chain(&parts.inline) {
        hash.update(name.as_bytes());
        hash.update(bytes);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    // `=_` never occurs in quoted-printable or base64 output.
    format!("=_huntbook_{kind}_{hex}")
}

/// The complete message: From, To, Cc, Subject, Date, Message-ID, and a `multipart/mixed` of a
/// `multipart/alternative` (text, then HTML — or, with an inline image, a `multipart/related` of the HTML and
/// the image) and the CSV when there is one.
pub fn build_mime(
    addresses: Addresses,
    message_id: String,
    date: DateTime<Utc>,
    parts: &Parts,
) -> Result<Vec<u8>, RenderError> {
    let mut builder = MimeMessage::builder()
        .from(addresses.from)
        .subject(parts.subject)
        .date(SystemTime::from(date))
        .message_id(Some(message_id));
    for mailbox in addresses.to {
        builder = builder.to(mailbox);
    }
    for mailbox in addresses.cc {
        builder = builder.cc(mailbox);
    }
    let alternative = MultiPart::alternative()
        .boundary(boundary("alternative", parts))
        .singlepart(SinglePart::plain(parts.text.to_string()));
    let alternative = match &parts.inline {
        None => alternative.singlepart(SinglePart::html(parts.html.to_string())),
        Some((content_id, png)) => {
            let png_type =
                ContentType::parse("image/png").map_err(|error| RenderError::Mime { message: error.to_string() })?;
            let related = MultiPart::related()
                .boundary(boundary("related", parts))
                .singlepart(SinglePart::html(parts.html.to_string()))
                .singlepart(
                    Attachment::new_inline_with_name(content_id.clone(), "chart.png".to_string())
                        .body(png.clone(), png_type),
                );
            alternative.multipart(related)
        }
    };
    let mut mixed = MultiPart::mixed().boundary(boundary("mixed", parts)).multipart(alternative);
    if let Some((name, bytes)) = &parts.attachment {
        let csv_type = ContentType::parse("text/csv; charset=utf-8")
            .map_err(|error| RenderError::Mime { message: error.to_string() })?;
        mixed = mixed.singlepart(Attachment::new(name.clone()).body(bytes.clone(), csv_type));
    }
    let message = builder.multipart(mixed).map_err(|error| RenderError::Mime { message: error.to_string() })?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_do_not_parse_are_named() {
        let to = vec!["soc@contoso.example".to_string(), "not an address".to_string()];
        let cc = vec!["Ops <ops@contoso.example>".to_string(), "a@b@c".to_string()];
        let error = parse_addresses("huntbook@contoso.example", &to, &cc).err().unwrap();
        let text = error.to_string();
        assert!(text.contains("to \"not an address\"") && text.contains("cc \"a@b@c\""), "{text}");
        assert!(matches!(parse_addresses("x@y.example", &[], &[]), Err(RenderError::NoRecipient)));
    }

    #[test]
    fn message_ids_are_plain_tokens() {
        assert_eq!(message_id("0193-abc_d.e").unwrap(), "<0193-abc_d.e@huntbook.local>");
        assert!(message_id("a>\r\nBcc: x@y").is_err());
        assert!(message_id("").is_err());
    }

    #[test]
    fn csv_values_are_whole_and_formulas_are_defused() {
        assert_eq!(csv_value(&Value::string("=HYPERLINK(\"x\")")), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_value(&Value::Long(-5)), "-5");
        assert_eq!(csv_value(&Value::string("x".repeat(100_000))).len(), 100_000);
    }
}
