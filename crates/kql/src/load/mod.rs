//! Tables from a data directory: one file per table, named after it — `CloudAppEvents.jsonl` (one JSON
//! object per line, scanned in place), `CloudAppEvents.json` (an array of objects, or a saved Graph
//! `runHuntingQuery` response `{schema, results}`), `CloudAppEvents.csv` (an advanced-hunting export).
//! Known Defender tables get their documented column types; other columns are inferred from the data.
//! Files are opened when a query first names them.

pub mod decode;
mod jsonl;
mod members;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::KqlError;
use super::plan::{Column, Row};
use super::schema;
use super::table::{Catalog, MemoryTable, TableSource};
use super::types::Type;

pub use decode::{TypeGuess, from_raw_json, from_text};
pub use jsonl::JsonLinesTable;

/// Lines sampled to find the columns of a `.jsonl` file beyond its built-in schema.
const SAMPLE_LINES: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    JsonLines,
    Json,
    Csv,
}

/// A directory of table files.
pub struct DataDir {
    dir: PathBuf,
    files: BTreeMap<String, (PathBuf, Format)>,
    opened: Mutex<HashMap<String, Arc<dyn TableSource>>>,
    /// Known tables without a file that were read (as empty).
    empty: Mutex<std::collections::BTreeSet<String>>,
    /// `.jsonl` partition and read sizes other than the defaults (tests make them small).
    scan_sizes: Option<(u64, usize)>,
}

impl std::fmt::Debug for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDir")
            .field("dir", &self.dir)
            .field("tables", &self.files.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DataDir {
    /// Lists the table files of a directory. Two files for one table are an error.
    pub fn open(dir: &Path) -> Result<DataDir, KqlError> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| KqlError::runtime(format!("cannot read the data directory {}: {e}", dir.display())))?;
        let mut files: BTreeMap<String, (PathBuf, Format)> = BTreeMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let (Some(stem), Some(extension)) =
                (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|e| e.to_str()))
            else {
                continue;
            };
            let format = match extension.to_ascii_lowercase().as_str() {
                "jsonl" | "ndjson" => Format::JsonLines,
                "json" => Format::Json,
                "csv" => Format::Csv,
                _ => continue,
            };
            if let Some((existing, _)) = files.get(stem) {
                return Err(KqlError::runtime(format!(
                    "two files hold the table '{stem}': {} and {}; keep one",
                    existing.display(),
                    path.display()
                )));
            }
            files.insert(stem.to_string(), (path, format));
        }
        Ok(DataDir {
            dir: dir.to_path_buf(),
            files,
            opened: Mutex::new(HashMap::new()),
            empty: Mutex::default(),
            scan_sizes: None,
        })
    }

    /// The same directory, its `.jsonl` files scanned in partitions of `partition_bytes` read `block` bytes
    /// at a time.
    #[cfg(test)]
    pub fn with_scan_sizes(self, partition_bytes: u64, block: usize) -> Self {
        DataDir { scan_sizes: Some((partition_bytes, block)), ..self }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn load(&self, name: &str, path: &Path, format: Format) -> Result<Arc<dyn TableSource>, KqlError> {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let fail = |message: String| KqlError::runtime(format!("{file_name}: {message}"));
        match format {
            Format::JsonLines => {
                let size = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?.len();
                let columns = sample_jsonl_columns(name, path).map_err(|e| fail(e.to_string()))?;
                let table = JsonLinesTable::new(name.to_string(), path.to_path_buf(), columns, size);
                Ok(Arc::new(match self.scan_sizes {
                    Some((partition_bytes, block)) => table.with_sizes(partition_bytes, block),
                    None => table,
                }))
            }
            Format::Json => {
                let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
                // A saved Graph answer may hold lone surrogate escapes (UTF-16 file names): read as U+FFFD.
                let repaired = if super::unicode::may_hold_surrogates(text.as_bytes()) {
                    super::unicode::repair_lone_surrogates(&text)
                } else {
                    None
                };
                let text = repaired.map_or(text, |(fixed, _)| fixed);
                let (columns, rows) = parse_json_table(name, &text).map_err(fail)?;
                Ok(Arc::new(MemoryTable { name: name.to_string(), columns, rows: Arc::new(rows) }))
            }
            Format::Csv => {
                let (columns, rows) = read_csv_table(name, path).map_err(fail)?;
                Ok(Arc::new(MemoryTable { name: name.to_string(), columns, rows: Arc::new(rows) }))
            }
        }
    }
}

/// Opens one file as a table of the given name (a playbook test's fixture: `offboarding.jsonl` read as
/// `CloudAppEvents`).
pub fn open_table(name: &str, path: &Path) -> Result<Arc<dyn TableSource>, KqlError> {
    let format = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("jsonl" | "ndjson") => Format::JsonLines,
        Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        _ => return Err(KqlError::runtime(format!("{}: a table file is .jsonl, .json or .csv", path.display()))),
    };
    let dir = DataDir {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        files: BTreeMap::new(),
        opened: Mutex::new(HashMap::new()),
        empty: Mutex::default(),
        scan_sizes: None,
    };
    dir.load(name, path, format)
}

impl Catalog for DataDir {
    /// A table of a file of the directory; a Defender table without a file is an empty table of its schema.
    fn table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>, KqlError> {
        // A file of the table under another of its names (GraphApiAuditEvents.jsonl for GraphAPIAuditEvents).
        let file = self.files.get(name).or_else(|| schema::spellings(name).into_iter().find_map(|n| self.files.get(n)));
        let Some((path, format)) = file else {
            let Some(schema) = schema::builtin(name) else { return Ok(None) };
            if let Ok(mut empty) = self.empty.lock() {
                empty.insert(name.to_string());
            }
            let empty = MemoryTable { name: name.to_string(), columns: schema.columns(), rows: Arc::new(Vec::new()) };
            return Ok(Some(Arc::new(empty)));
        };
        if let Some(table) = self.opened.lock().ok().and_then(|opened| opened.get(name).cloned()) {
            return Ok(Some(table));
        }
        let table = self.load(name, path, *format)?;
        if let Ok(mut opened) = self.opened.lock() {
            opened.insert(name.to_string(), table.clone());
        }
        Ok(Some(table))
    }

    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.files.keys().cloned().collect();
        names.extend(schema::names().filter(|name| !self.files.contains_key(*name)).map(str::to_string));
        names
    }

    fn empty_tables(&self) -> Vec<String> {
        self.empty.lock().map(|empty| empty.iter().cloned().collect()).unwrap_or_default()
    }
}

/// The built-in columns of a known table, then the other names seen in the data (inferred types).
fn columns_with_extras(name: &str, seen: Vec<(String, TypeGuess)>) -> Vec<Column> {
    let mut columns = schema::builtin(name).map(|s| s.columns()).unwrap_or_default();
    for (key, guess) in seen {
        if !columns.iter().any(|c| c.name == key) {
            columns.push(Column::new(key, guess.ty()));
        }
    }
    columns
}

/// Observes the keys and values of JSON objects, in first-seen order.
#[derive(Default)]
struct Observer {
    seen: Vec<(String, TypeGuess)>,
    index: HashMap<String, usize>,
}

impl Observer {
    fn observe(&mut self, object: &serde_json::Map<String, serde_json::Value>) {
        for (key, value) in object {
            self.observe_pair(key, value);
        }
    }

    fn observe_pair(&mut self, key: &str, value: &serde_json::Value) {
        let position = match self.index.get(key) {
            Some(position) => *position,
            None => {
                self.index.insert(key.to_string(), self.seen.len());
                self.seen.push((key.to_string(), TypeGuess::default()));
                self.seen.len() - 1
            }
        };
        self.seen[position].1.observe_json(value);
    }
}

/// The columns of a `.jsonl` table from its first lines. A line that is not UTF-8 or not JSON is passed over
/// here; the scan reports it (one bad line must not make the whole table unreadable).
fn sample_jsonl_columns(name: &str, path: &Path) -> std::io::Result<Vec<Column>> {
    use std::io::BufRead;
    let reader = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut observer = Observer::default();
    for line in reader.split(b'\n').take(SAMPLE_LINES) {
        let line = line?;
        let Ok(text) = std::str::from_utf8(&line) else { continue };
        let repaired = if super::unicode::may_hold_surrogates(line.as_slice()) {
            super::unicode::repair_lone_surrogates(text)
        } else {
            None
        };
        let text = repaired.as_ref().map_or(text, |(fixed, _)| fixed.as_str());
        if let Ok(serde_json::Value::Object(object)) = serde_json::from_str(text) {
            observer.observe(&object);
        }
    }
    Ok(columns_with_extras(name, observer.seen))
}

/// A Graph `runHuntingQuery` response (or the legacy API's, with capitalized names).
#[derive(Deserialize)]
struct SavedResponse<'a> {
    #[serde(alias = "Schema")]
    schema: Vec<SavedColumn>,
    #[serde(alias = "Results", borrow)]
    results: Vec<HashMap<String, &'a RawValue>>,
}

#[derive(Deserialize)]
struct SavedColumn {
    #[serde(alias = "Name")]
    name: String,
    #[serde(alias = "Type")]
    #[serde(rename = "type")]
    type_name: String,
}

fn parse_json_table(name: &str, text: &str) -> Result<(Vec<Column>, Vec<Row>), String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let saved: SavedResponse = serde_json::from_str(text).map_err(|e| {
            format!(
                "expected an array of rows or a saved Graph response {{\"schema\": [...], \"results\": [...]}}: {e}"
            )
        })?;
        let columns: Vec<Column> = saved
            .schema
            .iter()
            .map(|c| Column::new(c.name.clone(), Type::from_name(&c.type_name).unwrap_or(Type::Dynamic)))
            .collect();
        let rows = saved
            .results
            .iter()
            .map(|result| {
                columns
                    .iter()
                    .map(|column| {
                        let raw = result.get(&column.name).or_else(|| {
                            result.iter().find(|(k, _)| k.eq_ignore_ascii_case(&column.name)).map(|(_, v)| v)
                        });
                        raw.map_or_else(
                            || super::value::Value::null_of(column.ty),
                            |raw| from_raw_json(raw.get(), column.ty),
                        )
                    })
                    .collect()
            })
            .collect();
        return Ok((columns, rows));
    }
    let objects: Vec<HashMap<String, &RawValue>> =
        serde_json::from_str(text).map_err(|e| format!("expected an array of JSON objects: {e}"))?;
    let mut observer = Observer::default();
    for object in &objects {
        for (key, raw) in object {
            let value: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
            observer.observe_pair(key, &value);
        }
    }
    let columns = columns_with_extras(name, observer.seen);
    let rows = objects
        .iter()
        .map(|object| {
            columns
                .iter()
                .map(|column| match object.get(&column.name) {
                    Some(raw) => from_raw_json(raw.get(), column.ty),
                    None => super::value::Value::null_of(column.ty),
                })
                .collect()
        })
        .collect();
    Ok((columns, rows))
}

fn read_csv_table(name: &str, path: &Path) -> Result<(Vec<Column>, Vec<Row>), String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| e.to_string())?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let mut records = Vec::new();
    for (number, record) in reader.records().enumerate() {
        records.push(record.map_err(|e| format!("row {}: {e}", number + 2))?);
    }
    let builtin = schema::builtin(name).map(|s| s.columns()).unwrap_or_default();
    let columns: Vec<Column> = headers
        .iter()
        .enumerate()
        .map(|(index, header)| match builtin.iter().find(|c| c.name == *header) {
            Some(column) => column.clone(),
            None => {
                let mut guess = TypeGuess::default();
                records.iter().filter_map(|r| r.get(index)).for_each(|cell| guess.observe_text(cell));
                Column::new(header.clone(), guess.ty())
            }
        })
        .collect();
    let rows = records
        .iter()
        .map(|record| {
            columns
                .iter()
                .enumerate()
                .map(|(index, column)| from_text(record.get(index).unwrap_or_default(), column.ty, false))
                .collect()
        })
        .collect();
    Ok((columns, rows))
}

#[cfg(test)]
mod tests;
