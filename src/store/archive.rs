//! Archives: the hits a playbook keeps (`archive:`), typed, for longer than the 30 days advanced hunting holds —
//! and the cache of file profiles. Rows are written by a run's commit (`RunCommit::archives`), in the same
//! transaction as its seen keys, so a hit is archived exactly when it is marked seen: never twice, never lost.
//!
//! A row is stored as the JSON array of its values in the column order of its schema; each distinct list of
//! columns (names and types) is stored once per archive, so a playbook whose query gains a column keeps its older
//! rows readable. To the local KQL engine an archive is a table (`ArchiveCatalog`): the columns of its newest
//! schema, then those only older schemas had; a value stored with another type is read as that column's type
//! would read it from JSON (a text that is no number becomes null, as in Kusto).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Store, StoreError, sql_error};
use crate::kql::error::KqlError;
use crate::kql::load::from_raw_json;
use crate::kql::plan::{Column, Row};
use crate::kql::table::{Catalog, MemoryCatalog, MemoryTable, ScanRequest, ScanStats, TableSource};
use crate::kql::types::Type;
use crate::kql::value::Value;

/// Rows of one archive written by a commit.
#[derive(Clone, Debug)]
pub struct ArchiveBatch {
    /// The archive's name (`archive.name`).
    pub archive: String,
    /// The rows' columns.
    pub columns: Vec<Column>,
    pub rows: Vec<ArchivedRow>,
    /// Rows of this archive whose time is before this instant are deleted in the same commit (retention).
    pub prune_before: Option<DateTime<Utc>>,
}

/// One archived hit.
#[derive(Clone, Debug)]
pub struct ArchivedRow {
    /// The hit's key (the playbook's `key`): a key already in the archive is not written again.
    pub key: String,
    /// The hit's time (its `Timestamp`, or when it was archived): retention counts from it.
    pub at: DateTime<Utc>,
    pub values: Row,
}

/// A file profile to cache: the hash (lower-case hex), where it came from, the profile's columns as a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedProfile {
    pub hash: String,
    pub via: String,
    pub fetched: DateTime<Utc>,
    pub profile: serde_json::Map<String, serde_json::Value>,
}

/// What an archive holds, for `/metrics` and `huntbook runs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveSize {
    pub name: String,
    pub rows: u64,
    /// Bytes of the stored rows (values only; the indexes and the page overhead come on top).
    pub bytes: u64,
}

/// A batch in stored form.
pub(super) struct PreparedBatch<'a> {
    batch: &'a ArchiveBatch,
    columns: String,
    rows: Vec<(String, String)>,
    prune_before: Option<String>,
}

impl Store {
    pub(super) fn prepare_batches<'a>(
        &self,
        batches: &'a [ArchiveBatch],
    ) -> Result<Vec<PreparedBatch<'a>>, StoreError> {
        batches
            .iter()
            .map(|batch| {
                let columns = schema_text(&batch.columns);
                let rows = batch
                    .rows
                    .iter()
                    .map(|row| {
                        if row.values.len() != batch.columns.len() {
                            return Err(self.invalid(format!(
                                "an archived row of {} has {} values for {} columns",
                                batch.archive,
                                row.values.len(),
                                batch.columns.len()
                            )));
                        }
                        let values: Vec<serde_json::Value> = row.values.iter().map(Value::to_json).collect();
                        let text = serde_json::to_string(&values)
                            .map_err(|e| self.invalid(format!("an archived row of {}: {e}", batch.archive)))?;
                        Ok((self.encode_time("archived row time", row.at)?, text))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let prune_before =
                    batch.prune_before.map(|before| self.encode_time("archive retention", before)).transpose()?;
                Ok(PreparedBatch { batch, columns, rows, prune_before })
            })
            .collect()
    }

    /// Writes rows into an archive outside any run (a playbook test's `archive.NAME` fixture, an import): one
    /// transaction; keys already there are skipped. Returns the rows written.
    pub fn import_archive(&mut self, batch: &ArchiveBatch, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let prepared = self.prepare_batches(std::slice::from_ref(batch))?;
        let run_id = format!("import {}", self.encode_time("import time", at)?);
        let transaction = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|source| sql_error(&self.location, format!("importing rows into {}", batch.archive), source))?;
        let written = write_archives(&transaction, &prepared, &[], &run_id, &self.location)?;
        transaction
            .commit()
            .map_err(|source| sql_error(&self.location, format!("importing rows into {}", batch.archive), source))?;
        Ok(written)
    }

    /// Every archive with its size, by name.
    pub fn archive_sizes(&self) -> Result<Vec<ArchiveSize>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT archive, COUNT(*), COALESCE(SUM(length(row)), 0) FROM archive_rows GROUP BY archive ORDER BY archive",
            )
            .map_err(self.sql("measuring the archives"))?;
        let sizes = statement
            .query_map([], |row| {
                Ok(ArchiveSize {
                    name: row.get(0)?,
                    rows: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    bytes: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sql("measuring the archives"))?;
        Ok(sizes)
    }

    /// The archives as tables of the local engine. On a state file each table reads its rows from the file when a
    /// query scans it (one read-only connection per partition, so a scan runs on every core and a million rows
    /// never sit in memory at once); in memory (tests, dry runs) the rows are read now.
    pub fn archive_catalog(&self) -> Result<ArchiveCatalog, StoreError> {
        const ACTION: &str = "reading the archives' schemas";
        let mut statement = self
            .connection
            .prepare_cached("SELECT id, archive, columns FROM archive_schemas ORDER BY archive, id DESC")
            .map_err(self.sql(ACTION))?;
        let found: Vec<(i64, String, String)> = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .and_then(|rows| rows.collect())
            .map_err(self.sql(ACTION))?;
        let mut archives: Vec<ArchiveLayout> = Vec::new();
        for (id, archive, columns) in found {
            let columns = parse_schema(&columns).ok_or_else(|| StoreError::Corrupt {
                location: self.location.clone(),
                detail: format!("archive_schemas: schema {id} of {archive} is not a list of columns"),
            })?;
            match archives.last_mut() {
                Some(layout) if layout.name == archive => layout.add(id, &columns),
                _ => {
                    let mut layout = ArchiveLayout { name: archive, columns: Vec::new(), schemas: HashMap::new() };
                    layout.add(id, &columns);
                    archives.push(layout);
                }
            }
        }
        let mut catalog = ArchiveCatalog::default();
        for layout in archives {
            // The ids of every archive (two lookups of the primary key); a scan skips the other archives' rows.
            let (low, high): (Option<i64>, Option<i64>) = self
                .connection
                .prepare_cached("SELECT MIN(id), MAX(id) FROM archive_rows")
                .and_then(|mut statement| statement.query_row([], |row| Ok((row.get(0)?, row.get(1)?))))
                .map_err(self.sql("reading an archive's extent"))?;
            let rows = match &self.path {
                Some(path) => Rows::File {
                    path: path.clone(),
                    layout: Arc::new(layout.clone()),
                    partitions: partitions(low, high),
                },
                None => Rows::Memory(MemoryTable {
                    name: layout.name.clone(),
                    columns: layout.columns.clone(),
                    rows: Arc::new(self.archive_rows(&layout)?),
                }),
            };
            catalog.0.insert(Arc::new(ArchiveTable {
                name: layout.name.clone(),
                columns: layout.columns.clone(),
                rows,
            }));
        }
        Ok(catalog)
    }

    /// Every row of an archive, read through this connection.
    fn archive_rows(&self, layout: &ArchiveLayout) -> Result<Vec<Row>, StoreError> {
        let action = "reading an archive";
        let mut statement = self
            .connection
            .prepare_cached("SELECT schema, row FROM archive_rows WHERE archive = ?1 ORDER BY id")
            .map_err(self.sql(action))?;
        let mut rows = statement.query([&layout.name]).map_err(self.sql(action))?;
        let everything: Vec<bool> = vec![true; layout.columns.len()];
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(self.sql(action))? {
            let schema: i64 = row.get(0).map_err(self.sql(action))?;
            let text: String = row.get(1).map_err(self.sql(action))?;
            if let Some(values) = layout.decode(schema, &text, &everything) {
                out.push(values);
            }
        }
        Ok(out)
    }

    /// Cached profiles of `hashes` fetched `via` at `fresh_after` or later, by hash.
    pub fn cached_profiles(
        &self,
        hashes: &[String],
        via: &str,
        fresh_after: DateTime<Utc>,
    ) -> Result<HashMap<String, serde_json::Map<String, serde_json::Value>>, StoreError> {
        const ACTION: &str = "reading cached file profiles";
        let fresh_after = self.encode_time("cache expiry", fresh_after)?;
        let mut statement = self
            .connection
            .prepare_cached("SELECT profile FROM file_profiles WHERE hash = ?1 AND via = ?2 AND fetched >= ?3")
            .map_err(self.sql(ACTION))?;
        let mut found = HashMap::new();
        for hash in hashes {
            let text: Option<String> = statement
                .query_row(params![hash, via, fresh_after], |row| row.get(0))
                .optional()
                .map_err(self.sql(ACTION))?;
            if let Some(serde_json::Value::Object(profile)) =
                text.and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            {
                found.insert(hash.clone(), profile);
            }
        }
        Ok(found)
    }
}

/// Writes the archive rows and cached profiles of a commit inside its transaction; returns the rows archived
/// (a key already in its archive is not written again).
pub(super) fn write_archives(
    transaction: &Transaction<'_>,
    batches: &[PreparedBatch<'_>],
    profiles: &[(&CachedProfile, String, String)],
    run_id: &str,
    location: &str,
) -> Result<u64, StoreError> {
    let failed = |what: &str, archive: &str| {
        let action = format!("archiving the hits of run {run_id} in {archive}: {what}");
        move |source| sql_error(location, action, source)
    };
    let mut archived = 0u64;
    for prepared in batches {
        let archive = prepared.batch.archive.as_str();
        if let Some(before) = &prepared.prune_before {
            transaction
                .prepare_cached("DELETE FROM archive_rows WHERE archive = ?1 AND at < ?2")
                .and_then(|mut statement| statement.execute(params![archive, before]))
                .map_err(failed("removing rows past the retention", archive))?;
        }
        if prepared.rows.is_empty() {
            continue;
        }
        transaction
            .prepare_cached("INSERT INTO archive_schemas (archive, columns) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
            .and_then(|mut statement| statement.execute(params![archive, prepared.columns]))
            .map_err(failed("recording the columns", archive))?;
        let schema: i64 = transaction
            .prepare_cached("SELECT id FROM archive_schemas WHERE archive = ?1 AND columns = ?2")
            .and_then(|mut statement| statement.query_row(params![archive, prepared.columns], |row| row.get(0)))
            .map_err(failed("recording the columns", archive))?;
        let mut insert = transaction
            .prepare_cached(
                "INSERT INTO archive_rows (archive, hit_key, at, run_id, schema, row) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (archive, hit_key) DO NOTHING",
            )
            .map_err(failed("writing rows", archive))?;
        for (row, (at, text)) in prepared.batch.rows.iter().zip(&prepared.rows) {
            archived += insert
                .execute(params![archive, row.key, at, run_id, schema, text])
                .map_err(failed("writing rows", archive))? as u64;
        }
    }
    if profiles.is_empty() {
        return Ok(archived);
    }
    let mut upsert = transaction
        .prepare_cached(
            "INSERT INTO file_profiles (hash, via, fetched, profile) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (hash, via) DO UPDATE SET fetched = excluded.fetched, profile = excluded.profile",
        )
        .map_err(|source| sql_error(location, format!("caching file profiles of run {run_id}"), source))?;
    for (profile, fetched, text) in profiles {
        upsert
            .execute(params![profile.hash, profile.via, fetched, text])
            .map_err(|source| sql_error(location, format!("caching file profiles of run {run_id}"), source))?;
    }
    Ok(archived)
}

/// The stored form of a list of columns: `[{"name": "Timestamp", "type": "datetime"}, …]`.
fn schema_text(columns: &[Column]) -> String {
    let list: Vec<serde_json::Value> =
        columns.iter().map(|c| serde_json::json!({ "name": c.name, "type": c.ty.name() })).collect();
    serde_json::Value::Array(list).to_string()
}

fn parse_schema(text: &str) -> Option<Vec<Column>> {
    let list: Vec<serde_json::Value> = serde_json::from_str(text).ok()?;
    list.iter()
        .map(|item| Some(Column::new(item.get("name")?.as_str()?, Type::from_name(item.get("type")?.as_str()?)?)))
        .collect()
}

/// How an archive's stored rows become rows of its table: its columns, and for each schema where each stored
/// value goes (`None`: a column this schema did not have).
#[derive(Clone, Debug)]
struct ArchiveLayout {
    name: String,
    columns: Vec<Column>,
    /// Schema id → for each stored value, the table column it fills.
    schemas: HashMap<i64, Vec<usize>>,
}

impl ArchiveLayout {
    /// Adds a schema; schemas come newest first, so the newest decides each column's type and order.
    fn add(&mut self, id: i64, columns: &[Column]) {
        let targets = columns
            .iter()
            .map(|column| match self.columns.iter().position(|c| c.name == column.name) {
                Some(index) => index,
                None => {
                    self.columns.push(column.clone());
                    self.columns.len() - 1
                }
            })
            .collect();
        self.schemas.insert(id, targets);
    }

    /// A stored row as a row of the table, decoding only the `wanted` columns (the others null); `None` for a
    /// row that is not what this module writes. The array is split at its top-level commas, and no further than
    /// the last wanted value: only wanted values are parsed.
    fn decode(&self, schema: i64, text: &str, wanted: &[bool]) -> Option<Row> {
        let targets = self.schemas.get(&schema)?;
        let mut row: Row = self.columns.iter().map(|c| Value::null_of(c.ty)).collect();
        let wanted_at = |stored: usize| targets.get(stored).is_some_and(|t| wanted.get(*t).copied().unwrap_or(true));
        let Some(last) = (0..targets.len()).rev().find(|stored| wanted_at(*stored)) else {
            return text.starts_with('[').then_some(row);
        };
        let mut values = Vec::with_capacity(last + 1);
        if !split_array(text, last, &mut values) {
            return None;
        }
        for (stored, (start, end)) in values.into_iter().enumerate() {
            if wanted_at(stored) {
                let target = targets[stored];
                row[target] = from_raw_json(&text[start..end], self.columns[target].ty);
            }
        }
        Some(row)
    }
}

/// The byte ranges of the elements of a JSON array (as serde_json writes it), up to element `last`; false when
/// the text is not such an array.
fn split_array(text: &str, last: usize, out: &mut Vec<(usize, usize)>) -> bool {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'[') {
        return false;
    }
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, 1usize);
    for (index, byte) in bytes.iter().enumerate().skip(1) {
        if in_string {
            if escaped {
                escaped = false;
            } else if *byte == b'\\' {
                escaped = true;
            } else if *byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b']' => {
                if index > start || !out.is_empty() {
                    out.push((start, index));
                }
                return true;
            }
            b',' if depth == 0 => {
                out.push((start, index));
                if out.len() > last {
                    return true;
                }
                start = index + 1;
            }
            _ => {}
        }
    }
    false
}

/// Ids per partition of an archive scan.
const PARTITION_IDS: i64 = 65_536;

fn partitions(low: Option<i64>, high: Option<i64>) -> Vec<(i64, i64)> {
    let (Some(low), Some(high)) = (low, high) else { return Vec::new() };
    let mut out = Vec::new();
    let mut start = low;
    while start <= high {
        let end = start.saturating_add(PARTITION_IDS - 1).min(high);
        out.push((start, end));
        start = end.saturating_add(1);
    }
    out
}

/// The archives as the local engine's tables.
#[derive(Clone, Debug, Default)]
pub struct ArchiveCatalog(MemoryCatalog);

impl ArchiveCatalog {
    pub fn is_empty(&self) -> bool {
        self.0.table_names().is_empty()
    }

    /// Archives with these columns and no rows: what queries over archives are checked against before (and
    /// answered with until) a recorder has kept anything.
    pub fn empty(archives: Vec<(String, Vec<Column>)>) -> ArchiveCatalog {
        let mut catalog = ArchiveCatalog::default();
        for (name, columns) in archives {
            catalog.insert_rows(&name, crate::kql::table::Table { columns, rows: Vec::new() });
        }
        catalog
    }

    /// An archive of these rows, held in memory (a playbook test's `archive.NAME` fixture).
    pub fn insert_rows(&mut self, name: &str, table: crate::kql::table::Table) {
        let rows = Rows::Memory(MemoryTable {
            name: name.to_string(),
            columns: table.columns.clone(),
            rows: Arc::new(table.rows),
        });
        self.0.insert(Arc::new(ArchiveTable { name: name.to_string(), columns: table.columns, rows }));
    }
}

/// The archives of a state file, read each time a query names one (they grow as runs commit): the tables
/// `source: local` queries see beside the data files. Only the archives the playbooks keep are looked for, so a
/// query that reads none never opens the state file for them.
#[derive(Debug)]
pub struct StateArchives {
    path: PathBuf,
    names: Vec<String>,
}

impl StateArchives {
    pub fn new(path: &std::path::Path, names: Vec<String>) -> StateArchives {
        StateArchives { path: path.to_path_buf(), names }
    }
}

impl Catalog for StateArchives {
    fn table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>, KqlError> {
        if !self.names.iter().any(|known| known == name) || !self.path.is_file() {
            return Ok(None);
        }
        let failed = |e: StoreError| KqlError::runtime(format!("reading the archive {name}: {e}"));
        Store::open(&self.path).and_then(|store| store.archive_catalog()).map_err(failed)?.table(name)
    }

    fn table_names(&self) -> Vec<String> {
        self.names.clone()
    }
}

impl Catalog for ArchiveCatalog {
    fn table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>, KqlError> {
        self.0.table(name)
    }

    fn table_names(&self) -> Vec<String> {
        self.0.table_names()
    }
}

/// Where an archive's rows are.
#[derive(Debug)]
enum Rows {
    /// Read already (an archive in memory, a test's fixture).
    Memory(MemoryTable),
    /// In a state file, read when scanned: ranges of row ids (inclusive), and how stored rows become rows.
    File { path: PathBuf, layout: Arc<ArchiveLayout>, partitions: Vec<(i64, i64)> },
}

/// An archive as a table. Its time column is none: a run's window does not apply to an archive (it is the memory
/// beyond the window).
#[derive(Debug)]
struct ArchiveTable {
    name: String,
    columns: Vec<Column>,
    rows: Rows,
}

impl TableSource for ArchiveTable {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn time_column(&self) -> Option<usize> {
        None
    }

    fn partition_count(&self) -> usize {
        match &self.rows {
            Rows::Memory(table) => table.partition_count(),
            Rows::File { partitions, .. } => partitions.len().max(1),
        }
    }

    fn scan_partition(
        &self,
        partition: usize,
        request: &ScanRequest,
        sink: &mut dyn FnMut(Row) -> bool,
    ) -> Result<ScanStats, KqlError> {
        match &self.rows {
            Rows::Memory(table) => table.scan_partition(partition, request, sink),
            Rows::File { path, layout, partitions } => match partitions.get(partition) {
                Some(range) => scan_file(path, layout, *range, request, sink),
                None => Ok(ScanStats::default()),
            },
        }
    }
}

/// One partition of an archive in a state file: its own read-only connection, the rows of a range of ids.
fn scan_file(
    path: &std::path::Path,
    layout: &ArchiveLayout,
    (low, high): (i64, i64),
    request: &ScanRequest,
    sink: &mut dyn FnMut(Row) -> bool,
) -> Result<ScanStats, KqlError> {
    let mut stats = ScanStats::default();
    let failed = |e: rusqlite::Error| {
        KqlError::runtime(format!("reading the archive {} from {}: {e}", layout.name, path.display()))
    };
    let connection = super::read_only_connection(path).map_err(failed)?;
    // Mapped pages: the scan reads the file without copying it through SQLite's page cache.
    connection.pragma_update(None, "mmap_size", 1i64 << 30).map_err(failed)?;
    // A range of the primary key; `+archive` keeps SQLite from scanning an index of the whole archive instead.
    let mut statement = connection
        .prepare("SELECT schema, row FROM archive_rows WHERE id BETWEEN ?1 AND ?2 AND +archive = ?3 ORDER BY id")
        .map_err(failed)?;
    let mut rows = statement.query(params![low, high, layout.name]).map_err(failed)?;
    // Columns a filter reads are decoded for it; the rest only for rows that pass it.
    let wanted: Vec<bool> = request
        .columns
        .iter()
        .zip(request.filter_columns.iter().chain(std::iter::repeat(&false)))
        .map(|(a, b)| *a || *b)
        .collect();
    while let Some(row) = rows.next().map_err(failed)? {
        if request.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let schema: i64 = row.get(0).map_err(failed)?;
        let raw = row.get_ref(1).map_err(failed)?;
        let text = raw
            .as_str()
            .map_err(|e| failed(rusqlite::Error::FromSqlConversionFailure(1, raw.data_type(), Box::new(e))))?;
        stats.rows_read += 1;
        if let Some(progress) = request.progress {
            progress.fetch_add(text.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        if request.prefilter.is_some_and(|prefilter| !prefilter.may_match(text.as_bytes())) {
            continue;
        }
        let Some(values) = layout.decode(schema, text, &wanted) else {
            stats.bad_rows += 1;
            if stats.first_bad_row.is_none() {
                stats.first_bad_row = Some(format!("archive {} holds a row that is not a list of values", layout.name));
            }
            continue;
        };
        if request.filter.is_some_and(|filter| !filter(&values)) {
            continue;
        }
        if !sink(values) {
            break;
        }
    }
    Ok(stats)
}

/// The time of a hit for retention: its `Timestamp` (or `TimeGenerated`) when it has one, else `fallback`.
pub fn row_time(columns: &[Column], row: &Row, fallback: DateTime<Utc>) -> DateTime<Utc> {
    columns
        .iter()
        .position(|c| c.ty == Type::DateTime && (c.name == "Timestamp" || c.name == "TimeGenerated"))
        .and_then(|index| match row.get(index) {
            Some(Value::DateTime(ticks)) => crate::source::from_ticks(*ticks),
            _ => None,
        })
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::split_array;

    #[test]
    fn an_array_splits_at_its_own_commas_only() {
        let text = r#"["a,b",{"x":[1,2],"y":"]"},null,"q\"],",[],3.5]"#;
        let mut parts = Vec::new();
        assert!(split_array(text, 10, &mut parts));
        let values: Vec<&str> = parts.iter().map(|(s, e)| &text[*s..*e]).collect();
        assert_eq!(values, [r#""a,b""#, r#"{"x":[1,2],"y":"]"}"#, "null", r#""q\"],""#, "[]", "3.5"]);
        let mut first = Vec::new();
        assert!(split_array(text, 1, &mut first));
        assert_eq!(first.len(), 2, "stops after the last element wanted");
        let mut none = Vec::new();
        assert!(split_array("[]", 3, &mut none));
        assert!(none.is_empty());
        assert!(!split_array("{}", 3, &mut none));
        assert!(!split_array("[1,2", 5, &mut none));
    }
}
