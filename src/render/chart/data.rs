//! From a result and its `render` to what is drawn: the x axis (categories or time), the series and their
//! values, following Kusto's rules for which column plays which part — the x axis is `xcolumn` or the first
//! column (a timechart's first datetime column), the values are `ycolumns` or every numeric column, and the
//! text columns (`series`) split them into one series per value.

use std::collections::HashMap;

use chrono_tz::Tz;

use super::ChartError;
use crate::kql::plan::{Column, Row};
use crate::kql::types::Type;
use crate::kql::value::Value;
use crate::kql::visualization::Visualization;

/// Visualizations drawn, and how.
pub const DRAWN: &[&str] = &["columnchart", "barchart", "timechart", "linechart", "areachart", "piechart"];

/// Categories drawn at most: beyond, the first ones are kept and the chart says how many it left out.
const MAX_CATEGORIES: usize = 60;
const MAX_BARS: usize = 30;
const MAX_SLICES: usize = 9;
const MAX_SERIES: usize = 10;
const MAX_POINTS: usize = 5_000;
/// Filled time slots at most (a week of hours is 168).
const MAX_SLOTS: usize = 200;

const TICKS_PER_HOUR: i64 = 36_000_000_000;
const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Vertical bars (`columnchart`).
    Columns,
    /// Horizontal bars (`barchart`).
    Bars,
    /// `timechart`, `linechart`, `areachart`.
    Lines,
    /// `piechart`.
    Pie,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stacking {
    /// Bars side by side (Kusto's `default` and `unstacked`).
    Side,
    Stacked,
    /// `stacked100`: each category's bars as shares of 100 %.
    Percent,
}

/// The x axis: named categories, or instants (a time axis, for lines over datetimes).
#[derive(Debug, PartialEq)]
pub enum Axis {
    Categories(Vec<String>),
    /// Each point's instant (ticks), ascending, and the span shown.
    Time {
        points: Vec<i64>,
        start: i64,
        end: i64,
    },
}

#[derive(Debug, PartialEq)]
pub struct Series {
    pub name: String,
    /// One per category or point; `None` where the series has no value.
    pub values: Vec<Option<f64>>,
}

/// Everything the drawing needs.
#[derive(Debug)]
pub struct Plot {
    pub shape: Shape,
    pub stacking: Stacking,
    pub title: String,
    pub xtitle: Option<String>,
    pub ytitle: Option<String>,
    pub axis: Axis,
    pub series: Vec<Series>,
    pub legend: bool,
    pub ymin: Option<f64>,
    pub ymax: Option<f64>,
    /// What was left out, in sentences for the e-mail ("12 more categories are not drawn").
    pub notes: Vec<String>,
    /// The receiver's timezone, for time labels under a day.
    pub timezone: Tz,
    /// Whether every value is a whole number (counts): the value axis then never ticks between them.
    pub integers: bool,
    /// Whether instants are labelled by day (all on UTC midnights, as `bin(Timestamp, 1d)` makes them).
    pub daily: bool,
}

fn is_numeric(ty: Type) -> bool {
    matches!(ty, Type::Int | Type::Long | Type::Real | Type::Decimal)
}

/// A cell as a number, when it is one.
#[allow(clippy::cast_precision_loss)] // a chart's values: drawn to a pixel
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(v) => Some(f64::from(*v)),
        Value::Long(v) => Some(*v as f64),
        Value::Real(v) if v.is_finite() => Some(*v),
        Value::Decimal(v) => Some(v.get() as f64),
        _ => None,
    }
}

/// A label from a cell, as a table cell shows it: one line (line breaks and tabs made spaces), control and
/// invisible characters (a NUL, a bidi override) by their code points (`‹U+202E›`), at most 60 characters.
pub fn label(text: &str) -> String {
    let (cleaned, _) = crate::render::email::clean_text(text, 60, false);
    let trimmed = cleaned.trim();
    if trimmed.is_empty() { "(empty)".to_string() } else { trimmed.to_string() }
}

fn column_named(columns: &[Column], name: &str, property: &str) -> Result<usize, ChartError> {
    columns.iter().position(|column| column.name == name).ok_or_else(|| {
        let known: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        ChartError::Data(format!(
            "render's {property} names '{name}', which is not a column of the result (its columns: {})",
            known.join(", ")
        ))
    })
}

/// The x key of a row.
#[derive(Clone, Debug, PartialEq)]
enum Key {
    Time(i64),
    Number(f64),
    Text(String),
}

/// Which parts the columns play, and the plot made of the rows.
pub fn prepare(
    visualization: &Visualization,
    columns: &[Column],
    rows: &[Row],
    window: Option<(i64, i64)>,
    timezone: Tz,
) -> Result<Plot, ChartError> {
    let shape = match visualization.kind.as_str() {
        "columnchart" => Shape::Columns,
        "barchart" => Shape::Bars,
        "timechart" | "linechart" | "areachart" => Shape::Lines,
        "piechart" => Shape::Pie,
        other => return Err(ChartError::NotDrawn { kind: other.to_string() }),
    };
    if columns.is_empty() {
        return Err(ChartError::Data("the result has no columns".to_string()));
    }
    let x = match &visualization.xcolumn {
        Some(name) => column_named(columns, name, "xcolumn")?,
        None if visualization.kind == "timechart" => {
            columns.iter().position(|column| column.ty == Type::DateTime).unwrap_or(0)
        }
        None => 0,
    };
    let ys: Vec<usize> = if visualization.ycolumns.is_empty() {
        (0..columns.len()).filter(|index| *index != x && is_numeric(columns[*index].ty)).collect()
    } else {
        visualization.ycolumns.iter().map(|name| column_named(columns, name, "ycolumns")).collect::<Result<_, _>>()?
    };
    if ys.is_empty() {
        let described: Vec<String> = columns.iter().map(|c| format!("{} ({})", c.name, c.ty.name())).collect();
        return Err(ChartError::Data(format!(
            "the result has no numeric column to draw besides the x axis '{}' (its columns: {})",
            columns[x].name,
            described.join(", ")
        )));
    }
    let splits: Vec<usize> = if visualization.series.is_empty() {
        (0..columns.len())
            .filter(|index| {
                *index != x && !ys.contains(index) && matches!(columns[*index].ty, Type::String | Type::Guid)
            })
            .collect()
    } else {
        visualization.series.iter().map(|name| column_named(columns, name, "series")).collect::<Result<_, _>>()?
    };

    // Categories in the order met, series in the order met, values summed where a pair repeats.
    let x_type = columns[x].ty;
    let mut keys: Vec<Key> = Vec::new();
    let mut key_index: HashMap<String, usize> = HashMap::new();
    let mut series_names: Vec<String> = Vec::new();
    let mut series_index: HashMap<String, usize> = HashMap::new();
    let mut cells: HashMap<(usize, usize), f64> = HashMap::new();
    if splits.is_empty() {
        // One series per value column, also when there are no rows (an empty chart still names what it shows).
        for (position, y) in ys.iter().enumerate() {
            series_names.push(columns[*y].name.clone());
            series_index.insert(columns[*y].name.clone(), position);
        }
    }
    for row in rows {
        let cell = row.get(x).unwrap_or(&Value::Null);
        let key = match (x_type, cell) {
            (Type::DateTime, Value::DateTime(ticks)) => Key::Time(*ticks),
            (Type::DateTime, _) => continue,
            (ty, value) if is_numeric(ty) => match number(value) {
                Some(n) => Key::Number(n),
                None => continue,
            },
            (_, value) => Key::Text(label(&value.to_text())),
        };
        let key_text = format!("{key:?}");
        let category = *key_index.entry(key_text).or_insert_with(|| {
            keys.push(key);
            keys.len() - 1
        });
        let split: Vec<String> =
            splits.iter().map(|index| label(&row.get(*index).map(Value::to_text).unwrap_or_default())).collect();
        for y in &ys {
            let Some(value) = row.get(*y).and_then(number) else { continue };
            let name = match (split.is_empty(), ys.len()) {
                (true, _) => columns[*y].name.clone(),
                (false, 1) => split.join(", "),
                (false, _) => format!("{}: {}", split.join(", "), columns[*y].name),
            };
            let series = *series_index.entry(name.clone()).or_insert_with(|| {
                series_names.push(name);
                series_names.len() - 1
            });
            *cells.entry((series, category)).or_default() += value;
        }
    }
    let mut notes = Vec::new();

    // Ascending order for instants and numbers; text keeps the query's order.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    if !matches!(x_type, Type::String | Type::Guid | Type::Dynamic | Type::Bool) {
        order.sort_by(|a, b| compare_keys(&keys[*a], &keys[*b]));
    }
    let times: Option<Vec<i64>> = order
        .iter()
        .map(|index| match keys[*index] {
            Key::Time(ticks) => Some(ticks),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .filter(|times| !times.is_empty());
    let daily = times.as_ref().is_some_and(|times| times.iter().all(|t| t.rem_euclid(TICKS_PER_DAY) == 0));

    // Columns and bars over instants: one slot per step across the window, empty slots included, so that a day
    // without releases shows as a day without a bar.
    let mut slots: Option<Vec<i64>> = None;
    if matches!(shape, Shape::Columns | Shape::Bars)
        && let Some(times) = &times
        && let Some(step) = step_of(times)
    {
        let (mut start, mut end) = (times[0], times[times.len() - 1]);
        if let Some((from, to)) = window {
            start = start.min(from - from.rem_euclid(step));
            end = end.max(to - 1);
        }
        let count = (end - start) / step + 1;
        if (start - times[0]).rem_euclid(step) == 0 && usize::try_from(count).is_ok_and(|count| count <= MAX_SLOTS) {
            slots = Some((0..count).map(|slot| start + slot * step).collect());
        }
    }

    let label_of = |key: &Key| match key {
        Key::Time(ticks) if daily => format_day(*ticks),
        Key::Time(ticks) => format_time(*ticks, timezone),
        Key::Number(n) => super::draw::format_number(*n),
        Key::Text(text) => text.clone(),
    };
    let (mut axis, mut columns_of): (Axis, Vec<Option<usize>>) = match (&slots, &times, shape) {
        (Some(slots), _, _) => {
            let at: HashMap<i64, usize> = order
                .iter()
                .filter_map(|index| match keys[*index] {
                    Key::Time(t) => Some((t, *index)),
                    _ => None,
                })
                .collect();
            let labels = slots.iter().map(|t| label_of(&Key::Time(*t))).collect();
            (Axis::Categories(labels), slots.iter().map(|t| at.get(t).copied()).collect())
        }
        (None, Some(times), Shape::Lines) => {
            let (from, to) = window.unwrap_or((times[0], times[times.len() - 1]));
            let start = times[0].min(from);
            let end = times[times.len() - 1].max(to);
            (Axis::Time { points: times.clone(), start, end }, order.iter().map(|index| Some(*index)).collect())
        }
        _ => (
            Axis::Categories(order.iter().map(|index| label_of(&keys[*index])).collect()),
            order.iter().map(|index| Some(*index)).collect(),
        ),
    };

    let mut series: Vec<Series> = series_names
        .into_iter()
        .enumerate()
        .map(|(s, name)| Series {
            name,
            values: columns_of.iter().map(|category| category.and_then(|c| cells.get(&(s, c)).copied())).collect(),
        })
        .collect();

    // Limits: the largest series, the first categories, the largest slices.
    if series.len() > MAX_SERIES {
        series.sort_by(|a, b| total(b).total_cmp(&total(a)));
        notes.push(format!("{} more series are not drawn", series.len() - MAX_SERIES));
        series.truncate(MAX_SERIES);
    }
    let limit = match shape {
        Shape::Columns => MAX_CATEGORIES,
        Shape::Bars => MAX_BARS,
        Shape::Lines => MAX_POINTS,
        Shape::Pie => usize::MAX,
    };
    let count = columns_of.len();
    if count > limit {
        notes.push(format!("{} more categories are not drawn", count - limit));
        columns_of.truncate(limit);
        for one in &mut series {
            one.values.truncate(limit);
        }
        match &mut axis {
            Axis::Categories(labels) => labels.truncate(limit),
            Axis::Time { points, end, .. } => {
                points.truncate(limit);
                *end = points.last().copied().unwrap_or(*end);
            }
        }
    }
    if shape == Shape::Pie {
        pie_slices(&mut axis, &mut series, &mut notes);
    }

    let stacking = match visualization.stacking.as_deref() {
        Some("stacked") => Stacking::Stacked,
        Some("stacked100") => Stacking::Percent,
        _ => Stacking::Side,
    };
    let title = visualization.title.as_deref().map(label).unwrap_or_default();
    let legend = !visualization.legend_hidden && (series.len() > 1 || shape == Shape::Pie);
    Ok(Plot {
        shape,
        stacking,
        title,
        xtitle: visualization.xtitle.as_deref().map(label),
        ytitle: visualization.ytitle.as_deref().map(label),
        axis,
        series,
        legend,
        ymin: visualization.ymin,
        ymax: visualization.ymax,
        notes,
        timezone,
        integers: ys.iter().all(|y| matches!(columns[*y].ty, Type::Int | Type::Long)),
        daily,
    })
}

/// A pie draws the first series: its largest slices, the rest as one "Other" slice; negative values are
/// left out (a share cannot be negative).
fn pie_slices(axis: &mut Axis, series: &mut Vec<Series>, notes: &mut Vec<String>) {
    let Axis::Categories(labels) = axis else { return };
    if series.len() > 1 {
        notes.push(format!("a pie shows one series: '{}' ({} more not drawn)", series[0].name, series.len() - 1));
        series.truncate(1);
    }
    let Some(first) = series.first_mut() else { return };
    let mut slices: Vec<(String, f64)> = labels
        .iter()
        .zip(&first.values)
        .filter_map(|(label, value)| value.filter(|v| *v > 0.0).map(|v| (label.clone(), v)))
        .collect();
    slices.sort_by(|a, b| b.1.total_cmp(&a.1));
    if slices.len() > MAX_SLICES + 1 {
        let rest: f64 = slices[MAX_SLICES..].iter().map(|slice| slice.1).sum();
        let others = slices.len() - MAX_SLICES;
        slices.truncate(MAX_SLICES);
        slices.push((format!("Other ({others})"), rest));
    }
    *labels = slices.iter().map(|slice| slice.0.clone()).collect();
    first.values = slices.iter().map(|slice| Some(slice.1)).collect();
}

/// An instant as a UTC instant, when chrono can hold it.
fn utc(ticks: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    let unix = ticks.checked_sub(crate::kql::datetime::UNIX_EPOCH_TICKS)?;
    let nanoseconds = u32::try_from(unix.rem_euclid(10_000_000) * 100).ok()?;
    chrono::DateTime::from_timestamp(unix.div_euclid(10_000_000), nanoseconds)
}

/// A day made by `bin(…, 1d)`: `Mon 23 Nov` (the day is a UTC day, as `bin` makes it).
pub fn format_day(ticks: i64) -> String {
    utc(ticks).map_or_else(|| crate::kql::datetime::format_datetime(ticks), |t| t.format("%a %-d %b").to_string())
}

/// An instant in the receiver's timezone: `23 Nov 08:00`.
pub fn format_time(ticks: i64, timezone: Tz) -> String {
    utc(ticks).map_or_else(
        || crate::kql::datetime::format_datetime(ticks),
        |t| t.with_timezone(&timezone).format("%-d %b %H:%M").to_string(),
    )
}

fn total(series: &Series) -> f64 {
    series.values.iter().flatten().map(|v| v.abs()).sum()
}

fn compare_keys(a: &Key, b: &Key) -> std::cmp::Ordering {
    match (a, b) {
        (Key::Time(a), Key::Time(b)) => a.cmp(b),
        (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
        _ => std::cmp::Ordering::Equal,
    }
}

/// The step between instants made by `bin()`: the greatest common divisor of the gaps (days and hours when the
/// gaps are whole days or hours, so that missing ones show; a week stays a week); for a single instant, a day
/// or an hour when it falls on one. `None` when the instants are not on a regular grid.
fn step_of(times: &[i64]) -> Option<i64> {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let gaps = times.windows(2).map(|pair| pair[1] - pair[0]).filter(|gap| *gap > 0);
    let step = match gaps.fold(0, gcd) {
        0 if times[0].rem_euclid(TICKS_PER_DAY) == 0 => TICKS_PER_DAY,
        0 if times[0].rem_euclid(TICKS_PER_HOUR) == 0 => TICKS_PER_HOUR,
        0 => return None,
        step if step == 7 * TICKS_PER_DAY => step,
        step if step % TICKS_PER_DAY == 0 => TICKS_PER_DAY,
        step if step % TICKS_PER_HOUR == 0 && step < TICKS_PER_DAY => TICKS_PER_HOUR,
        step => step,
    };
    times.iter().all(|t| (t - times[0]).rem_euclid(step) == 0).then_some(step)
}
