//! HTML e-mails: a message's hits rendered with handlebars templates into a subject, an HTML part and a text
//! part, and packed with lettre into the complete RFC 5322 message that SMTP sends and the file sink writes.
//!
//! Nothing from a hit is trusted. Values are cleaned before a template sees them (one line, control and
//! bidirectional characters made visible, cut at 300 characters — see `sanitize`), HTML templates escape
//! every value they print, subjects are forced onto one short line before they reach a header, and the full,
//! uncut result goes along as a CSV attachment whenever the e-mail does not show all of it.
//!
//! This module renders and packs; it does not send, queue or decide who receives what.
//!
//! The template context (see `context`): `playbook` (`id`, `title`, `severity`, `severity_name`,
//! `severity_color`, `description`, `tags`), `window` (`start`, `end`), `run` (`id`, `started`), `columns`,
//! `hits` (the shown rows as objects, column → displayed text), `rows` (the same with `number`, `cells` and
//! portal `links`), `first`, `count`, `shown`, `more`, `truncated`, `values_cut`, `attachment`, `tenant`,
//! `timezone`, `portal`. Helpers (see `helpers`): `table`, `datetime`, `default`, `json`, `truncate`,
//! `plural`, `device_link`, `file_link`, `user_link`.

mod context;
mod helpers;
mod mime;
mod references;
mod sanitize;
mod templates;

pub use references::{ColumnReference, column_references};
pub use sanitize::{clean_text, escape_html};
pub use templates::{Templates, shipped_templates};

use chrono::{DateTime, Utc};

use crate::render::chart::{Chart, chart_of_message};
use crate::route::message::Message;

use context::{ContextSettings, build};
use helpers::Mode;
use sanitize::clean_subject;
use templates::{FALLBACK_TEXT_TEMPLATE, registry, sample_message};

/// How one receiver wants its e-mail.
pub struct EmailSettings<'a> {
    pub to: &'a [String],
    pub cc: &'a [String],
    /// `huntbook@contoso.com` or `Huntbook <huntbook@contoso.com>`.
    pub from: &'a str,
    /// `email-table` (the default) or `digest`, or a user template.
    pub template: &'a str,
    /// The rows shown in the e-mail (default 200); the full result is attached as CSV when there are more.
    pub max_rows: usize,
    /// The Defender portal's base URL.
    pub portal: &'a str,
    /// Times are shown in this zone (default UTC).
    pub timezone: chrono_tz::Tz,
    /// How the HTML part lays out the hits: a table, or one block per hit when the table is wide.
    pub layout: TableLayout,
}

/// How an e-mail's HTML part lays out its hits (`notify: layout:`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TableLayout {
    /// A table of up to 4 columns; wider, one block per hit (a mail client cuts or squeezes a wide table).
    #[default]
    Auto,
    /// Always a table (a wide aggregate read across: counts per admin and week), scrolling sideways if need be.
    Table,
    /// Always one block per hit.
    Blocks,
}

impl TableLayout {
    pub fn as_str(self) -> &'static str {
        match self {
            TableLayout::Auto => "auto",
            TableLayout::Table => "table",
            TableLayout::Blocks => "blocks",
        }
    }
}

/// A rendered e-mail.
pub struct RenderedEmail {
    /// One line, at most 200 characters.
    pub subject: String,
    /// The HTML and text parts as rendered (`\n` line ends; the MIME carries them with CRLF).
    pub html: String,
    pub text: String,
    /// The complete RFC 5322 message (what SMTP sends and the .eml file holds).
    pub mime: Vec<u8>,
}

/// Why an e-mail could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no e-mail template named '{name}' (known: {known})")]
    UnknownTemplate { name: String, known: String },
    #[error("e-mail template '{template}' failed: {message}")]
    Template { template: String, message: String },
    #[error("the subject template failed: {message}")]
    Subject { message: String },
    #[error("invalid e-mail address: {}", addresses.join(", "))]
    Address { addresses: Vec<String> },
    #[error("the e-mail has no recipient: `to` and `cc` are both empty")]
    NoRecipient,
    #[error("'{id}' cannot be a Message-ID: use letters, digits, '-', '_' and '.'")]
    MessageId { id: String },
    #[error("the CSV attachment could not be written: {message}")]
    Csv { message: String },
    #[error("the e-mail could not be built: {message}")]
    Mime { message: String },
}

/// Checks that a playbook's `subject:` template compiles and renders (for `huntbook validate`); Err(message).
pub fn check_subject(template: &str) -> Result<(), String> {
    templates::check_template(template).map_err(|refused| refused.describe())?;
    let registry = registry(Mode::Text);
    let settings = ContextSettings { max_rows: 2, portal: "https://security.microsoft.com", timezone: chrono_tz::UTC };
    for hits in [1, 0] {
        let context = build(&sample_message(hits), &settings, "sample.csv".to_string()).context;
        registry.render_template(template, &context).map_err(|error| describe(&error))?;
    }
    Ok(())
}

/// A handlebars error in one line, with its place when it has one.
fn describe(error: &handlebars::RenderError) -> String {
    let reason = match error.reason() {
        handlebars::RenderErrorReason::TemplateError(template) => match template.pos() {
            Some((line, column)) => format!("{} at line {line}, column {column}", template.reason()),
            None => template.reason().to_string(),
        },
        other => match (error.line_no, error.column_no) {
            (Some(line), Some(column)) => format!("{other} at line {line}, column {column}"),
            _ => other.to_string(),
        },
    };
    reason.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The hits a card title's template sees (`{{#each hits}}`): more would not fit the line it is cut to.
const TITLE_ROWS: usize = 50;

/// A one-line template (a card's `title:`) rendered with the message's context, made fit for one line; an
/// empty result is `None`.
pub fn render_line(
    message: &Message,
    template: &str,
    templates: &Templates,
    portal: &str,
    timezone: chrono_tz::Tz,
) -> Result<Option<String>, RenderError> {
    let settings = ContextSettings { max_rows: TITLE_ROWS, portal: portal.trim_end_matches('/'), timezone };
    let prepared = build(message, &settings, String::new());
    let line = clean_subject(&render_one_line(templates, template, &prepared.context)?);
    Ok((!line.is_empty()).then_some(line))
}

/// A playbook's one-line template (a subject, a title) over a context, before it is made fit for one line.
/// Refused before it runs when it uses a partial (see `templates::check_template`).
fn render_one_line(templates: &Templates, template: &str, context: &serde_json::Value) -> Result<String, RenderError> {
    templates::check_template(template).map_err(|refused| RenderError::Subject { message: refused.describe() })?;
    templates
        .text
        .render_template(template, context)
        .map_err(|error| RenderError::Subject { message: describe(&error) })
}

/// The subject when the playbook has none: `[High] Defender offboarding package downloaded (3 hits)`.
fn default_subject(message: &Message) -> String {
    let count = message.hits.len();
    let hits = match count {
        0 => "no hits".to_string(),
        1 => "1 hit".to_string(),
        _ if message.truncated => format!("{count}+ hits"),
        _ => format!("{count} hits"),
    };
    format!("[{}] {} ({hits})", message.playbook.severity.label(), message.playbook.title)
}

/// The message's chart with its Content-ID, or why it could not be drawn (in a sentence for the e-mail). A
/// message without hits has none: a digest that found nothing says so without an empty chart.
fn chart_of(message: &Message, timezone: chrono_tz::Tz, id: &str) -> Option<Result<(String, Chart), String>> {
    let request = message.chart.as_ref()?;
    if message.hits.is_empty() {
        return None;
    }
    Some(match chart_of_message(message, request, timezone) {
        Ok(chart) => Ok((format!("chart.{id}@huntbook.local"), chart)),
        Err(error) => {
            tracing::warn!(playbook = %message.playbook.id, run = %message.run_id, "no chart in the e-mail: {error}");
            Err(format!("The chart could not be drawn: {error}."))
        }
    })
}

/// Renders `message` for one receiver. `message_id` is the outbox id: the Message-ID header is
/// `<{message_id}@huntbook.local>` so that a message re-sent after a crash keeps it. `date` is the Date
/// header (injected: tests pin it).
pub fn render_email(
    message: &Message,
    settings: &EmailSettings,
    templates: &Templates,
    message_id: &str,
    date: DateTime<Utc>,
) -> Result<RenderedEmail, RenderError> {
    let outbox_id = message_id;
    let message_id = mime::message_id(message_id)?;
    let addresses = mime::parse_addresses(settings.from, settings.to, settings.cc)?;
    if !templates.contains(settings.template) {
        return Err(RenderError::UnknownTemplate {
            name: settings.template.to_string(),
            known: templates.names().join(", "),
        });
    }
    let context_settings = ContextSettings {
        max_rows: settings.max_rows,
        portal: settings.portal.trim_end_matches('/'),
        timezone: settings.timezone,
    };
    let mut prepared = build(message, &context_settings, mime::attachment_name(message));
    let chart = chart_of(message, settings.timezone, outbox_id);
    if let Some(object) = prepared.context.as_object_mut() {
        object.insert("layout".to_string(), serde_json::Value::from(settings.layout.as_str()));
        match &chart {
            Some(Ok((cid, chart))) => {
                let shown = serde_json::json!({
                    "cid": cid,
                    "title": chart.title,
                    "description": chart.description,
                    "notes": chart.notes,
                    "width": crate::render::chart::WIDTH,
                    "height": crate::render::chart::HEIGHT,
                });
                object.insert("chart".to_string(), shown);
            }
            Some(Err(problem)) => {
                object.insert("chart_problem".to_string(), serde_json::Value::String(problem.clone()));
            }
            None => {}
        }
    }
    let context = &prepared.context;
    let failed = |error: handlebars::RenderError| RenderError::Template {
        template: settings.template.to_string(),
        message: describe(&error),
    };
    let html = templates.html.render(settings.template, context).map_err(failed)?;
    let text_template =
        if templates.text.has_template(settings.template) { settings.template } else { FALLBACK_TEXT_TEMPLATE };
    let text = templates.text.render(text_template, context).map_err(failed)?;
    let subject = match message.subject_template.as_deref().filter(|template| !template.trim().is_empty()) {
        Some(template) => render_one_line(templates, template, context)?,
        None => default_subject(message),
    };
    let mut subject = clean_subject(&subject);
    if subject.is_empty() {
        subject = clean_subject(&default_subject(message));
    }
    let attachment = match prepared.attachment {
        Some(name) => Some((name, mime::csv_attachment(message)?)),
        None => None,
    };
    // A template that does not show the chart (a user's own) sends no image.
    let inline = match chart {
        Some(Ok((cid, chart))) if html.contains(&format!("cid:{cid}")) => Some((cid, chart.png)),
        _ => None,
    };
    let parts = mime::Parts { subject: &subject, text: &text, html: &html, attachment, inline };
    let mime = mime::build_mime(addresses, message_id, date, &parts)?;
    Ok(RenderedEmail { subject, html, text, mime })
}
