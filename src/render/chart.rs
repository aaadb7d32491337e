//! Charts in e-mails: the `render` that ends a playbook's query (or a `notify` entry's `chart:` query over the
//! hits) drawn as a PNG that the HTML shows inline (`cid:`). `data` decides what is drawn, as Kusto would draw
//! it; `draw` lays it out and rasterizes it.

mod data;
mod draw;

use std::sync::Arc;

use chrono_tz::Tz;

use crate::kql::plan::{Column, Row};
use crate::kql::visualization::Visualization;
use crate::route::message::Message;
use crate::source::to_ticks;

pub use data::DRAWN;
pub use draw::{HEIGHT, WIDTH};

/// What a message's e-mails draw.
#[derive(Clone, Debug)]
pub enum ChartRequest {
    /// The playbook's query ends in `render`: the hits (their query columns, `columns`, when known) drawn as
    /// it asks.
    Hits { visualization: Arc<Visualization>, columns: Option<Arc<[String]>> },
    /// A `notify` entry's `chart:`: a query over the hits (a table named `hits`) ending in `render`.
    Query(Arc<str>),
}

/// The table a `chart:` query reads.
pub const HITS_TABLE: &str = "hits";

/// A `chart:` as written — the operators after the hits (`summarize count() by bin(Timestamp, 1d) | render
/// timechart`) or a whole query over `hits` — as a whole query, and how many characters were put before it.
pub fn chart_query(written: &str) -> (String, usize) {
    let trimmed = written.trim_start();
    let whole = trimmed
        .strip_prefix(HITS_TABLE)
        .is_some_and(|rest| rest.trim_start().starts_with('|') || rest.trim().is_empty());
    if whole {
        (written.to_string(), 0)
    } else {
        let prefix = format!("{HITS_TABLE}\n| ");
        (format!("{prefix}{written}"), prefix.len())
    }
}

/// Checks that a visualization can be drawn over these columns (for `validate`): Err(why not).
pub fn check(visualization: &Visualization, columns: &[Column]) -> Result<(), ChartError> {
    data::prepare(visualization, columns, &[], None, chrono_tz::UTC).map(|_| ())
}

/// A drawn chart.
#[derive(Clone, Debug)]
pub struct Chart {
    pub png: Vec<u8>,
    /// The title (`title=`), or what the chart shows.
    pub title: String,
    /// What the chart shows in words, for the image's `alt` and the text part.
    pub description: String,
    /// What was left out of it ("12 more categories are not drawn").
    pub notes: Vec<String>,
}

/// Why no chart was drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("huntbook does not draw a '{kind}' (it draws {})", DRAWN.join(", "))]
    NotDrawn { kind: String },
    #[error("{0}")]
    Data(String),
    #[error("the chart could not be drawn: {0}")]
    Draw(String),
    #[error("the chart query failed: {0}")]
    Query(String),
}

/// The chart of a message: its request drawn over its hits, in the receiver's timezone.
pub fn chart_of_message(message: &Message, request: &ChartRequest, timezone: Tz) -> Result<Chart, ChartError> {
    let window = Some((to_ticks(message.window_start), to_ticks(message.window_end)));
    match request {
        ChartRequest::Hits { visualization, columns } => {
            // The query's own columns, in its order: enrichment columns are not part of what it renders.
            let indexes: Vec<usize> = match columns {
                Some(names) => names.iter().filter_map(|name| message.column_index(name)).collect(),
                None => (0..message.columns.len()).collect(),
            };
            let columns: Vec<Column> = indexes.iter().map(|index| message.columns[*index].clone()).collect();
            let rows: Vec<Row> = message
                .hits
                .iter()
                .map(|row| indexes.iter().map(|index| row.get(*index).cloned().unwrap_or_default()).collect())
                .collect();
            draw_chart(visualization, &columns, &rows, window, timezone)
        }
        ChartRequest::Query(text) => {
            let visualization = crate::kql::visualization::visualization(text)
                .ok_or_else(|| ChartError::Query("it does not end in `render`".to_string()))?;
            let catalog = crate::kql::table::MemoryCatalog::new().with_table(
                HITS_TABLE,
                message.columns.clone(),
                message.hits.clone(),
            );
            let mut options = crate::kql::eval::ExecOptions::new(to_ticks(message.started));
            options.parallelism = 1;
            let result =
                crate::kql::run(text, &catalog, &options).map_err(|error| ChartError::Query(error.to_string()))?;
            draw_chart(&visualization, &result.table.columns, &result.table.rows, window, timezone)
        }
    }
}

/// Draws `visualization` over a result. `window` (ticks) is the run's window, if there is one: columns over days
/// get a slot for every day of it, also those without a value (without one, every day between the first and the
/// last value).
pub fn draw_chart(
    visualization: &Visualization,
    columns: &[Column],
    rows: &[Row],
    window: Option<(i64, i64)>,
    timezone: Tz,
) -> Result<Chart, ChartError> {
    let plot = data::prepare(visualization, columns, rows, window, timezone)?;
    let png = draw::draw(&plot)?;
    let title = if plot.title.is_empty() { default_title(&plot) } else { plot.title.clone() };
    Ok(Chart { png, description: describe(&plot, &title), title, notes: plot.notes })
}

fn kind_name(shape: data::Shape) -> &'static str {
    match shape {
        data::Shape::Columns => "Column chart",
        data::Shape::Bars => "Bar chart",
        data::Shape::Lines => "Line chart",
        data::Shape::Pie => "Pie chart",
    }
}

fn default_title(plot: &data::Plot) -> String {
    let names: Vec<&str> = plot.series.iter().take(3).map(|series| series.name.as_str()).collect();
    if names.is_empty() { kind_name(plot.shape).to_string() } else { names.join(", ") }
}

/// `Column chart "Releases per day": Mon 23 Nov 0, Tue 24 Nov 2, …` — the first values of each series.
fn describe(plot: &data::Plot, title: &str) -> String {
    const SHOWN: usize = 14;
    let labels: Vec<String> = match &plot.axis {
        data::Axis::Categories(labels) => labels.clone(),
        data::Axis::Time { points, .. } => points
            .iter()
            .map(|t| if plot.daily { data::format_day(*t) } else { data::format_time(*t, plot.timezone) })
            .collect(),
    };
    let mut parts = Vec::new();
    for series in plot.series.iter().take(3) {
        let mut values: Vec<String> = labels
            .iter()
            .zip(&series.values)
            .filter_map(|(label, value)| value.map(|value| format!("{label} {}", draw::format_number(value))))
            .take(SHOWN)
            .collect();
        let drawn = series.values.iter().flatten().count();
        if drawn > SHOWN {
            values.push(format!("and {} more", drawn - SHOWN));
        }
        let prefix = if plot.series.len() > 1 { format!("{}: ", series.name) } else { String::new() };
        parts.push(format!("{prefix}{}", if values.is_empty() { "no values".to_string() } else { values.join(", ") }));
    }
    format!("{} \"{title}\": {}", kind_name(plot.shape), parts.join("; "))
}

#[cfg(test)]
mod tests;
