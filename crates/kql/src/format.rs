//! Writing results: the Graph `runHuntingQuery` response shape (`json`), one object per line (`jsonl`),
//! CSV, and an aligned text table for terminals.

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use super::plan::Column;
use super::table::Table;
use super::value::{Dyn, Value};

/// `{"schema":[{"name":...,"type":...}],"results":[{...}]}`, exactly what Graph returns, so that a saved
/// file loads back as a table.
pub fn write_graph_json(out: &mut dyn Write, table: &Table) -> io::Result<()> {
    let schema: Vec<serde_json::Value> =
        table.columns.iter().map(|c| serde_json::json!({"name": c.name, "type": c.ty.graph_name()})).collect();
    out.write_all(b"{\"schema\":")?;
    serde_json::to_writer(&mut *out, &schema)?;
    out.write_all(b",\"results\":[")?;
    for (index, row) in table.rows.iter().enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &row_object(&table.columns, row))?;
    }
    out.write_all(b"]}\n")
}

fn row_object(columns: &[Column], row: &[Value]) -> serde_json::Map<String, serde_json::Value> {
    columns.iter().zip(row.iter()).map(|(c, v)| (c.name.clone(), v.to_json())).collect()
}

pub fn write_json_lines(out: &mut dyn Write, table: &Table) -> io::Result<()> {
    for row in &table.rows {
        serde_json::to_writer(&mut *out, &row_object(&table.columns, row))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// CSV with a header row; dynamic values as JSON text, datetimes in ISO 8601.
pub fn write_csv(out: &mut dyn Write, table: &Table) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(table.columns.iter().map(|c| c.name.as_str()))?;
    // One buffer for every field that is not already text: no allocation per value.
    let mut text = String::new();
    for row in &table.rows {
        for value in row {
            match value {
                Value::String(s) | Value::Dynamic(Dyn::String(s)) => writer.write_field(s.as_bytes())?,
                _ => {
                    text.clear();
                    value.write_text(&mut text);
                    writer.write_field(text.as_bytes())?;
                }
            }
        }
        writer.write_record(None::<&[u8]>)?;
    }
    writer.flush()
}

/// Replaces control characters so that a value cannot break the table's layout (or the terminal).
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Cuts text to `width` display columns, marking the cut with `…`.
fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// An aligned table, each cell cut to `max_cell` columns, with a count of rows at the end.
pub fn write_text_table(out: &mut dyn Write, table: &Table, max_cell: usize) -> io::Result<()> {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| cut(&printable(&if v.is_null() { String::new() } else { v.to_text().to_string() }), max_cell))
                .collect()
        })
        .collect();
    let headers: Vec<String> = table.columns.iter().map(|c| cut(&c.name, max_cell)).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in &cells {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.width());
            }
        }
    }
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.width())))).collect();
        padded.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(&headers))?;
    writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "))?;
    for row in &cells {
        writeln!(out, "{}", line(row))?;
    }
    let count = table.rows.len();
    writeln!(out, "({count} row{})", if count == 1 { "" } else { "s" })
}
