//! Turns a message into what its receiver gets: the MIME of an e-mail, the payload of a Teams card, or, for a
//! file receiver, a JSON document of the hits. Rendering happens before queuing, so the outbox holds exactly
//! the bytes that will be delivered (and a delivery retried after a crash sends the same bytes).

use chrono::{DateTime, Utc};

use super::Services;
use crate::config::Receiver;
use crate::render::card::{CardSettings, build_card};
use crate::render::email::{EmailSettings, render_email, render_line};
use crate::render::links;
use crate::route::message::Message;
use crate::store::{MessageKind, NewMessage};

/// The Defender portal of the configuration's first tenant (the global one without tenants).
fn portal(services: &Services) -> &'static str {
    services
        .config
        .tenants
        .values()
        .next()
        .map_or(links::portal_for_cloud("global"), |tenant| links::portal_for_cloud(tenant.cloud.name()))
}

/// The archive document a file receiver stores.
fn archive_document(message: &Message) -> serde_json::Value {
    let hits: Vec<serde_json::Map<String, serde_json::Value>> = message
        .hits
        .iter()
        .map(|row| message.columns.iter().zip(row.iter()).map(|(c, v)| (c.name.clone(), v.to_json())).collect())
        .collect();
    serde_json::json!({
        "playbook": { "id": message.playbook.id, "title": message.playbook.title, "severity": message.playbook.severity.name() },
        "run": { "id": message.run_id, "started": message.started.to_rfc3339() },
        "window": { "start": message.window_start.to_rfc3339(), "end": message.window_end.to_rfc3339() },
        "truncated": message.truncated,
        "notes": message.notes,
        "columns": message.columns.iter().map(|c| serde_json::json!({ "name": c.name, "type": c.ty.graph_name() })).collect::<Vec<_>>(),
        "hits": hits,
    })
}

/// Renders a message for one receiver; the error says what went wrong, in a sentence.
/// `template` and `layout` are what a `notify:` entry asks of its e-mails (the template in place of the
/// receiver's).
pub fn render_message(
    services: &Services,
    message: &Message,
    receiver: &str,
    at: DateTime<Utc>,
    template: Option<&str>,
    layout: crate::render::email::TableLayout,
) -> Result<NewMessage, String> {
    // Version 7: ordered by creation within the process, so a receiver's messages of one run keep their order.
    let id = uuid::Uuid::now_v7().to_string();
    let configured = services
        .config
        .receivers
        .get(receiver)
        .ok_or_else(|| format!("the receiver {receiver} is not in the configuration"))?;
    let new = |kind, subject: String, payload: Vec<u8>| NewMessage {
        id: id.clone(),
        playbook: message.playbook.id.clone(),
        run_id: message.run_id.clone(),
        receiver: receiver.to_string(),
        kind,
        subject,
        payload,
        created: at,
    };
    match configured {
        Receiver::Email(email) => {
            let settings = EmailSettings {
                to: &email.to,
                cc: &email.cc,
                from: &email.from,
                template: template.unwrap_or(&email.template),
                max_rows: email.max_rows,
                portal: portal(services),
                timezone: email.timezone,
                layout,
            };
            let rendered = render_email(message, &settings, services.templates, &id, at)
                .map_err(|error| format!("rendering the e-mail for {receiver}: {error}"))?;
            Ok(new(MessageKind::Email, rendered.subject, rendered.mime))
        }
        Receiver::Teams(teams) => {
            let settings = CardSettings {
                portal: portal(services),
                max_bytes: crate::render::card::MAX_PAYLOAD_BYTES,
                timezone: teams.timezone,
            };
            // A `title:` replaces the playbook's title on the card (and in the outbox).
            let titled;
            let message = match message.title_template.as_deref() {
                Some(template) => {
                    let title = render_line(message, template, services.templates, settings.portal, teams.timezone)
                        .map_err(|error| format!("the card title for {receiver}: {error}"))?;
                    let mut copy = message.clone();
                    if let Some(title) = title {
                        copy.playbook.title = title;
                    }
                    titled = copy;
                    &titled
                }
                None => message,
            };
            let payload = serde_json::to_vec(&build_card(message, &settings))
                .map_err(|error| format!("the card for {receiver}: {error}"))?;
            Ok(new(MessageKind::Teams, message.playbook.title.clone(), payload))
        }
        Receiver::File(_) => {
            let payload = serde_json::to_vec_pretty(&archive_document(message))
                .map_err(|error| format!("the archive for {receiver}: {error}"))?;
            Ok(new(MessageKind::File, message.playbook.title.clone(), payload))
        }
    }
}
