//! The parts of a hunting card: the severity-coloured header, the facts of one hit, the table of many, and
//! the notes around them. Every text from the message goes through `text::plain` here, cut to the `Limits`
//! the card is being tried at; this module does not decide what fits (that is `card`'s job).

use chrono_tz::Tz;
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use super::elements::{Element, column, fact, open_url};
use super::text::{plain, plain_words};
use super::values::{Detail, cell_text, count_text, datetime_text, hit_time, window_text};
use crate::kql::plan::Row;
use crate::playbook::severity::Severity;
use crate::render::links::links_for_hit;
use crate::route::message::Message;

/// How wide (in columns) each kind of text may be. A card that is too large is tried again with tighter
/// limits, so the first set is what a reader normally sees.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub title: usize,
    pub description: usize,
    /// Column names: fact titles and table headers.
    pub name: usize,
    /// A table cell.
    pub cell: usize,
    /// A fact's value.
    pub fact: usize,
}

/// From what a reader wants to see to what always fits (4 columns of 8, a handful of facts).
pub const LIMITS: [Limits; 4] = [
    Limits { title: 200, description: 300, name: 40, cell: 80, fact: 500 },
    Limits { title: 120, description: 120, name: 24, cell: 40, fact: 160 },
    Limits { title: 60, description: 0, name: 16, cell: 16, fact: 48 },
    Limits { title: 40, description: 0, name: 8, cell: 8, fact: 16 },
];

/// The most columns a table shows: more do not fit side by side in a Teams channel, even at full width.
pub const TABLE_COLUMNS: usize = 4;
/// The most rows a table shows, even when more would fit in the size limit: past this a channel card is a
/// wall to scroll past, not a notification.
pub const TABLE_ROWS: usize = 50;
/// A column's share of the table's width is the width of its text, within these bounds.
const COLUMN_WEIGHTS: std::ops::RangeInclusive<usize> = 8..=40;
/// The widest word a fact's value shows: a SHA256 fits, a base64 blob is cut before it runs off the card.
const FACT_WORD: usize = 64;
/// The most lines a long cell wraps onto.
const CELL_LINES: usize = 3;
/// What an empty cell shows.
const NOTHING: &str = "—";

/// The container style and the text colour of a severity. Yellow (`warning`) and green (`good`) text are
/// unreadable on a light Teams theme, so those severities colour the band behind the title instead.
fn severity_colours(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Critical | Severity::High => ("attention", "attention"),
        Severity::Medium => ("warning", "default"),
        Severity::Low => ("accent", "accent"),
        Severity::Informational => ("emphasis", "default"),
    }
}

/// The band at the top: severity, playbook title, and `summary` (how many hits, when).
pub fn header(message: &Message, limits: &Limits, summary: &str) -> Value {
    let severity = message.playbook.severity;
    // An empty digest is good news whatever the playbook's severity: it says so instead.
    let (style, colour, label) = if message.hits.is_empty() {
        ("good", "default", "No hits".to_string())
    } else {
        let (style, colour) = severity_colours(severity);
        (style, colour, format!("{} severity", severity.label()))
    };
    let label =
        Element::text(plain(&label, 40)).with("size", "Small").with("weight", "Bolder").with("color", colour).build();
    let title = Element::text(plain(&message.playbook.title, limits.title))
        .with("size", "Large")
        .with("weight", "Bolder")
        .with("color", colour)
        .with("spacing", "Small")
        .build();
    let summary = Element::text(plain(summary, 200)).with("spacing", "Small").build();
    Element::container(vec![label, title, summary]).with("style", style).with("bleed", true).build()
}

/// `40 hits · 2024-03-26 08:00 – 09:00 CET`, `1 hit at 2024-03-26 08:41:07.123 CET`, or the window alone.
pub fn summary(message: &Message, timezone: Tz) -> String {
    let window = window_text(message.window_start, message.window_end, timezone);
    match message.hits.as_slice() {
        [] => window,
        [hit] => match hit_time(&message.columns, hit) {
            Some(time) => format!("1 hit at {}", datetime_text(time, timezone, Detail::Fact)),
            None => format!("1 hit · {window}"),
        },
        hits => format!("{} · {window}", count_text(hits.len(), "hit", "hits")),
    }
}

/// What the playbook looks for, in a few subtle lines; nothing when the limits leave no room for it.
pub fn description(message: &Message, limits: &Limits) -> Option<Value> {
    // The playbook's own prose: its line breaks only wrap the YAML, so they become spaces (a hit's line breaks
    // are shown, because they may hide something).
    let prose = message.playbook.description.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = plain(&prose, limits.description);
    (!text.is_empty()).then(|| Element::text(text).with("isSubtle", true).with("maxLines", 3).build())
}

/// A line of small print, `warning` when it says the data is incomplete.
pub fn note(text: &str, warning: bool) -> Value {
    let element = Element::text(plain(text, 300)).with("size", "Small");
    if warning { element.with("color", "attention") } else { element.with("isSubtle", true) }.build()
}

/// `…and 4960 more hits not shown.`
pub fn more_note(hidden: usize, singular: &str, plural: &str) -> Value {
    note(
        &format!("…and {} not shown.", count_text(hidden, &format!("more {singular}"), &format!("more {plural}"))),
        false,
    )
}

pub fn truncated_note() -> Value {
    note("The query's result was cut at the source's row or size limit: there may be more hits than these.", true)
}

/// Where the card came from, for finding the run in huntbook's history.
pub fn footer(message: &Message) -> Value {
    let text = format!("huntbook · playbook {} · run {}", message.playbook.id, message.run_id);
    Element::text(plain(&text, 200)).with("size", "Small").with("isSubtle", true).with("separator", true).build()
}

/// The body for no hits: a clear statement, so an empty digest is not mistaken for a failed one.
pub fn no_hits() -> Value {
    Element::text(plain("✓ The query ran and found no hits in this window.", 300)).build()
}

/// One fact per column of `hit`: its name and its value (`—` when empty).
pub fn facts(message: &Message, hit: &Row, timezone: Tz, limits: &Limits) -> Vec<Value> {
    message
        .shown_columns()
        .into_iter()
        .filter_map(|index| Some((message.columns.get(index)?, hit.get(index)?)))
        .map(|(column, value)| {
            let text = cell_text(value, timezone, Detail::Fact).unwrap_or_else(|| NOTHING.to_string());
            fact(plain(&column.name, limits.name), plain_words(&text, limits.fact, FACT_WORD))
        })
        .collect()
}

pub fn fact_set(facts: &[Value]) -> Value {
    Element::new("FactSet").with("facts", facts.to_vec()).build()
}

/// The `Open device`, `Open file`, `Open user` buttons of a hit.
pub fn link_actions(message: &Message, hit: &Row, portal: &str) -> Vec<Value> {
    links_for_hit(portal, &message.links, &message.columns, hit).iter().map(open_url).collect()
}

/// A table of hits made of column sets (the `Table` element is 1.5, which Workflows does not render): a
/// header row, then one row per hit, each opening the hit's first portal link when selected.
pub struct Table {
    header: Value,
    /// The rows, at most `TABLE_ROWS`, in the hits' order.
    pub rows: Vec<Value>,
    /// Whether any row opens a portal page when selected.
    pub has_links: bool,
    pub shown_columns: usize,
}

impl Table {
    pub fn new(message: &Message, timezone: Tz, portal: &str, limits: &Limits) -> Table {
        let chosen = chosen_columns(message);
        let hits = &message.hits[..message.hits.len().min(TABLE_ROWS)];
        let names: Vec<String> = chosen.iter().map(|&index| plain(&message.columns[index].name, limits.name)).collect();
        let cells: Vec<Vec<Option<String>>> = hits
            .iter()
            .map(|hit| {
                chosen
                    .iter()
                    .map(|&index| {
                        let value = hit.get(index)?;
                        cell_text(value, timezone, Detail::Cell).map(|text| plain(&text, limits.cell))
                    })
                    .collect()
            })
            .collect();
        let weights = column_weights(&names, &cells);
        let header = header_row(&names, &weights);
        let mut has_links = false;
        let rows = hits
            .iter()
            .zip(&cells)
            .map(|(hit, row_cells)| {
                let link = links_for_hit(portal, &message.links, &message.columns, hit).into_iter().next();
                has_links |= link.is_some();
                table_row(row_cells, &weights, link.as_ref().map(open_url))
            })
            .collect();
        Table { header, rows, has_links, shown_columns: chosen.len() }
    }

    /// The header row followed by `rows`.
    pub fn elements(&self, rows: &[Value]) -> Vec<Value> {
        std::iter::once(self.header.clone()).chain(rows.iter().cloned()).collect()
    }
}

/// The first `TABLE_COLUMNS` columns of the query's projection that hold something in some hit: the
/// playbook's author orders `project` by importance, and an always-empty column tells the reader nothing.
fn chosen_columns(message: &Message) -> Vec<usize> {
    // Columns the playbook chose (`columns:`) are shown as chosen, empty or not.
    if message.shown.is_some() {
        return message.shown_columns().into_iter().take(TABLE_COLUMNS).collect();
    }
    let filled = |index: usize| message.hits.iter().any(|hit| hit.get(index).is_some_and(|value| !value.is_empty()));
    let mut chosen: Vec<usize> =
        (0..message.columns.len()).filter(|&index| filled(index)).take(TABLE_COLUMNS).collect();
    if chosen.is_empty() {
        chosen = (0..message.columns.len().min(TABLE_COLUMNS)).collect();
    }
    chosen
}

/// Each column's share of the width: the widest of its header and cells, within `COLUMN_WEIGHTS`. A header
/// counts a little wider than it is because it is bold, and a bold name broken mid-word reads badly.
fn column_weights(names: &[String], cells: &[Vec<Option<String>>]) -> Vec<usize> {
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let widest_cell = cells
                .iter()
                .filter_map(|row| row.get(index)?.as_deref())
                .map(UnicodeWidthStr::width)
                .max()
                .unwrap_or(0);
            (name.width() + name.width() / 4 + 1).max(widest_cell).clamp(*COLUMN_WEIGHTS.start(), *COLUMN_WEIGHTS.end())
        })
        .collect()
}

fn header_row(names: &[String], weights: &[usize]) -> Value {
    let columns: Vec<Value> = names
        .iter()
        .zip(weights)
        .map(|(name, &weight)| column(weight, Element::text(name.clone()).with("weight", "Bolder").build()))
        .collect();
    Element::new("ColumnSet").with("columns", columns).build()
}

fn table_row(cells: &[Option<String>], weights: &[usize], select: Option<Value>) -> Value {
    let columns: Vec<Value> = cells
        .iter()
        .zip(weights)
        .map(|(cell, &weight)| {
            let text = match cell {
                // A column is as wide as its widest cell up to the largest weight, so only a cell wider
                // than that can wrap onto many lines; only it carries the (costly, per cell) line limit.
                Some(text) if text.width() > *COLUMN_WEIGHTS.end() => {
                    Element::text(text.clone()).with("maxLines", CELL_LINES)
                }
                Some(text) => Element::text(text.clone()),
                None => Element::text(NOTHING.to_string()).with("isSubtle", true),
            };
            column(weight, text.build())
        })
        .collect();
    let row = Element::new("ColumnSet").with("columns", columns).with("separator", true).with("spacing", "Small");
    match select {
        Some(action) => row.with("selectAction", action).build(),
        None => row.build(),
    }
}
