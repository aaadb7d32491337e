//! The template context: what a template sees of a message. Every value is text made fit to show (see
//! `sanitize`), datetimes are written in the receiver's timezone, and only the rows that will be shown are
//! converted (a 100,000-row result costs `max_rows` rows here). It owns the formats of the datetimes it writes
//! and reads them back for the `datetime` helper.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::kql::datetime::{UNIX_EPOCH_TICKS, format_datetime, parse_datetime};
use crate::kql::value::Value;
use crate::playbook::severity::Severity;
use crate::render::links::links_for_hit;
use crate::route::message::Message;

use super::sanitize::{clean_cell, clean_text};

/// How a datetime is written in a cell: to the second, in the receiver's timezone.
const CELL_FORMAT: &str = "%Y-%m-%d %H:%M:%S %Z";
/// How the window and the run's start are written: to the minute (to the second when it has seconds).
const MINUTE_FORMAT: &str = "%Y-%m-%d %H:%M %Z";

/// What a render needs beyond the message: how many rows to show, where the portal is, the timezone.
pub struct ContextSettings<'a> {
    pub max_rows: usize,
    pub portal: &'a str,
    pub timezone: Tz,
}

/// The context, and what the caller needs to know about it.
pub struct Prepared {
    pub context: Json,
    /// The CSV attachment's file name, when the full result must go along (rows beyond `max_rows`, or a
    /// shown value cut at the cell limit).
    pub attachment: Option<String>,
}

#[derive(Serialize)]
struct PlaybookContext {
    id: String,
    title: String,
    /// `High`.
    severity: &'static str,
    /// `high`.
    severity_name: &'static str,
    /// The badge colour, `#rrggbb`.
    severity_color: &'static str,
    description: String,
    tags: Vec<String>,
}

#[derive(Serialize)]
struct WindowContext {
    start: String,
    end: String,
}

#[derive(Serialize)]
struct RunContext {
    id: String,
    started: String,
}

#[derive(Serialize)]
struct CellContext {
    column: String,
    text: String,
}

#[derive(Serialize)]
struct LinkContext {
    title: &'static str,
    url: String,
}

/// One shown hit, in column order, with its portal links: for templates that lay hits out themselves.
#[derive(Serialize)]
struct RowContext {
    number: usize,
    cells: Vec<CellContext>,
    links: Vec<LinkContext>,
}

#[derive(Serialize)]
struct Context {
    playbook: PlaybookContext,
    window: WindowContext,
    run: RunContext,
    columns: Vec<String>,
    /// The shown hits as objects, column → displayed text (every column, also those `columns:` leaves out).
    hits: Vec<Map<String, Json>>,
    rows: Vec<RowContext>,
    first: Option<Map<String, Json>>,
    count: usize,
    shown: usize,
    more: usize,
    truncated: bool,
    /// Enrichments that failed: one line each ("file prevalence unavailable: …").
    notes: Vec<String>,
    values_cut: bool,
    /// Columns `columns:` leaves out of the table (they are in the attachment).
    hidden_columns: usize,
    /// The CSV attachment's file name, when there is one.
    attachment: Option<String>,
    tenant: Option<String>,
    timezone: String,
    portal: String,
}

/// The badge colour of a severity (white text on it reads at AA contrast).
pub fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Informational => "#4b5563",
        Severity::Low => "#1d4ed8",
        Severity::Medium => "#b45309",
        Severity::High => "#c62828",
        Severity::Critical => "#7b1fa2",
    }
}

/// A datetime (ticks) as a UTC instant, when chrono can hold it.
pub fn ticks_to_utc(ticks: i64) -> Option<DateTime<Utc>> {
    let unix = ticks.checked_sub(UNIX_EPOCH_TICKS)?;
    let seconds = unix.div_euclid(10_000_000);
    let nanoseconds = u32::try_from(unix.rem_euclid(10_000_000) * 100).ok()?;
    DateTime::from_timestamp(seconds, nanoseconds)
}

/// A cell's datetime in the receiver's timezone: `2026-11-20 08:03:12 CET`.
pub fn format_cell_datetime(ticks: i64, timezone: Tz) -> String {
    match ticks_to_utc(ticks) {
        Some(instant) => instant.with_timezone(&timezone).format(CELL_FORMAT).to_string(),
        None => format_datetime(ticks),
    }
}

/// The window's ends and the run's start: `2026-11-20 08:00 CET`.
pub fn format_minute(instant: DateTime<Utc>, timezone: Tz) -> String {
    use chrono::Timelike;
    let local = instant.with_timezone(&timezone);
    if local.second() == 0 { local.format(MINUTE_FORMAT).to_string() } else { local.format(CELL_FORMAT).to_string() }
}

/// Reads back a datetime this module wrote (`2026-11-20 08:03[:12] CET`, in `timezone`), or any ISO 8601 /
/// RFC 2822 form the KQL engine parses.
pub fn parse_context_datetime(text: &str, timezone: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some((local, abbreviation)) = text.rsplit_once(' ') {
        let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M"));
        if let Ok(naive) = naive {
            let matches = |candidate: &DateTime<Tz>| candidate.format("%Z").to_string() == abbreviation;
            let found = match timezone.from_local_datetime(&naive) {
                LocalResult::Single(one) => matches(&one).then_some(one),
                // The hour that repeats when clocks go back: the abbreviation says which one.
                LocalResult::Ambiguous(earlier, later) => [earlier, later].into_iter().find(matches),
                LocalResult::None => None,
            };
            if let Some(found) = found {
                return Some(found.with_timezone(&Utc));
            }
        }
    }
    parse_datetime(text).and_then(ticks_to_utc)
}

/// A cell's displayed text (before cleaning): datetimes in the timezone, everything else as `tostring()`
/// prints it (dynamic values as compact JSON).
fn display_value(value: &Value, timezone: Tz) -> String {
    match value {
        Value::DateTime(ticks) => format_cell_datetime(*ticks, timezone),
        other => other.to_text().to_string(),
    }
}

/// Builds the context of `message`. `attachment_name` is the CSV's file name, used when the rows do not all
/// fit or a shown value had to be cut: then the full result goes along as an attachment.
pub fn build(message: &Message, settings: &ContextSettings, attachment_name: String) -> Prepared {
    let timezone = settings.timezone;
    let names: Vec<String> = message.columns.iter().map(|column| clean_cell(&column.name).0).collect();
    let shown_columns = message.shown_columns();
    let columns: Vec<String> = shown_columns.iter().map(|index| names[*index].clone()).collect();
    let shown = message.hits.len().min(settings.max_rows);
    let more = message.hits.len() - shown;
    let mut values_cut = false;
    let mut hits = Vec::with_capacity(shown);
    let mut rows = Vec::with_capacity(shown);
    for (index, row) in message.hits.iter().take(shown).enumerate() {
        // Templates see every column of a hit; the table shows the `columns:` chosen.
        let mut object = Map::new();
        let mut texts = Vec::with_capacity(names.len());
        for (position, name) in names.iter().enumerate() {
            let text = row.get(position).map(|value| display_value(value, timezone)).unwrap_or_default();
            let (text, was_cut) = clean_cell(&text);
            values_cut |= was_cut && shown_columns.contains(&position);
            object.insert(name.clone(), Json::String(text.clone()));
            texts.push(text);
        }
        let cells = shown_columns
            .iter()
            .map(|index| CellContext { column: names[*index].clone(), text: texts[*index].clone() })
            .collect();
        let links = links_for_hit(settings.portal, &message.links, &message.columns, row)
            .into_iter()
            .map(|link| LinkContext { title: link.title, url: link.url })
            .collect();
        hits.push(object);
        rows.push(RowContext { number: index + 1, cells, links });
    }
    let hidden_columns = message.columns.len() - shown_columns.len();
    let attachment = (more > 0 || values_cut || hidden_columns > 0).then_some(attachment_name);
    let playbook = &message.playbook;
    let context = Context {
        playbook: PlaybookContext {
            id: clean_cell(&playbook.id).0,
            title: clean_cell(&playbook.title).0,
            severity: playbook.severity.label(),
            severity_name: playbook.severity.name(),
            severity_color: severity_color(playbook.severity),
            description: clean_text(playbook.description.trim(), 4000, true).0,
            tags: playbook.tags.iter().map(|tag| clean_cell(tag).0).collect(),
        },
        window: WindowContext {
            start: format_minute(message.window_start, timezone),
            end: format_minute(message.window_end, timezone),
        },
        run: RunContext { id: clean_cell(&message.run_id).0, started: format_minute(message.started, timezone) },
        first: hits.first().cloned(),
        columns,
        hits,
        rows,
        count: message.hits.len(),
        shown,
        more,
        truncated: message.truncated,
        notes: message.notes.iter().map(|note| clean_cell(note).0).collect(),
        values_cut,
        hidden_columns,
        attachment: attachment.clone(),
        tenant: message.tenant.as_deref().map(|tenant| clean_cell(tenant).0),
        timezone: timezone.name().to_string(),
        portal: settings.portal.to_string(),
    };
    let context = serde_json::to_value(context).unwrap_or(Json::Null);
    Prepared { context, attachment }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_read_back_in_the_timezone_they_were_written_in() {
        let amsterdam: Tz = "Europe/Amsterdam".parse().unwrap();
        let instant = Utc.with_ymd_and_hms(2026, 11, 20, 7, 3, 12).unwrap();
        let text = format_minute(instant, amsterdam);
        assert_eq!(text, "2026-11-20 08:03:12 CET");
        assert_eq!(parse_context_datetime(&text, amsterdam), Some(instant));
        assert_eq!(parse_context_datetime("2026-11-20T07:03:12Z", amsterdam), Some(instant));
        // 02:30 happens twice on 2026-10-25 in Amsterdam; the abbreviation picks the right one.
        let second_time = Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap();
        let written = format_minute(second_time, amsterdam);
        assert_eq!(written, "2026-10-25 02:30 CET");
        assert_eq!(parse_context_datetime(&written, amsterdam), Some(second_time));
    }

    #[test]
    fn ticks_convert_to_instants() {
        let ticks = parse_datetime("2026-11-20T07:03:12.5Z").unwrap();
        let instant = ticks_to_utc(ticks).unwrap();
        assert_eq!(instant.to_rfc3339(), "2026-11-20T07:03:12.500+00:00");
        assert_eq!(format_cell_datetime(ticks, Tz::UTC), "2026-11-20 07:03:12 UTC");
    }
}
