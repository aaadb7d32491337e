//! A message: the hits of one run that go to one receiver together, with what a renderer needs to turn them
//! into an e-mail or a Teams card. Messages are built by routing and rendered before they are queued.

use chrono::{DateTime, Utc};

use crate::kql::plan::{Column, Row};
use crate::playbook::severity::Severity;
use crate::render::links::LinkColumns;

/// What a message says about the playbook that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaybookSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub tags: Vec<String>,
}

/// The hits one receiver gets from one run (all of them, one, or one group of `per: [columns]`).
#[derive(Clone, Debug)]
pub struct Message {
    pub playbook: PlaybookSummary,
    /// The run that found the hits.
    pub run_id: String,
    pub started: DateTime<Utc>,
    /// The run's time window, `[start, end)`.
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// The hits' columns (the query's output plus enrichments) and rows. Empty rows for a `send_empty` digest.
    pub columns: Vec<Column>,
    pub hits: Vec<Row>,
    /// The query's result was cut at the source's row or size limit.
    pub truncated: bool,
    /// What the message should say went wrong in making it (an enrichment that failed, so its columns are empty).
    pub notes: Vec<String>,
    pub tenant: Option<String>,
    /// The playbook's `subject:` handlebars template, if it has one.
    pub subject_template: Option<String>,
    /// The `notify` entry's `title:` handlebars template for a card, if it has one.
    pub title_template: Option<String>,
    /// The `notify` entry's `columns:`: the columns (indexes into `columns`) that tables and cards show, in
    /// order; `None`: all. The CSV attachment and the file document keep every column.
    pub shown: Option<Vec<usize>>,
    /// Where the portal buttons' identifiers come from (`links:`).
    pub links: LinkColumns,
    /// The chart its e-mails draw, if any.
    pub chart: Option<crate::render::chart::ChartRequest>,
}

impl Message {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The columns shown, in order (indexes into `columns`).
    pub fn shown_columns(&self) -> Vec<usize> {
        match &self.shown {
            Some(shown) => shown.iter().copied().filter(|index| *index < self.columns.len()).collect(),
            None => (0..self.columns.len()).collect(),
        }
    }
}
