//! Tables: the `TableSource` trait that the evaluator scans (files, in-memory rows), the `Catalog` that
//! names them, and `Table`, a materialized result.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use aho_corasick::AhoCorasick;

use super::error::KqlError;
use super::plan::{Column, Row};
use super::types::Type;
use super::value::Value;

/// A materialized result: columns and rows.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl Table {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// Literal tests on a row's raw text, applied before a row is decoded: every group must find one of its
/// needles. Built by the evaluator only from conditions that cannot hold when the needle is absent.
#[derive(Debug)]
pub struct Prefilter {
    /// Each group's needles, and whether they ignore (ASCII) case.
    groups: Vec<(AhoCorasick, bool)>,
    ignores_case: bool,
    /// What a line that may match holds for certain: a needle of the first group, or what makes `may_match`
    /// let a line through (a `\u` escape, the two characters). A scan looks for it across many lines at once
    /// and passes over the lines without it, without splitting them.
    locator: Locator,
}

/// The searches for what a line that may match holds: SIMD substring searches for a few case-sensitive
/// needles (each fast on its own rare bytes), an automaton for many or for ASCII case-insensitive ones.
#[derive(Debug)]
enum Locator {
    Substrings(Vec<memchr::memmem::Finder<'static>>),
    Automaton(AhoCorasick, Vec<memchr::memmem::Finder<'static>>),
}

impl Prefilter {
    /// The groups, and the first group's needles again (for the locator). `None` when there is no group or
    /// the locator cannot be built.
    pub fn new(groups: Vec<(AhoCorasick, bool)>, first: &[String], case_sensitive: bool) -> Option<Self> {
        if groups.is_empty() {
            return None;
        }
        let ignores_case = groups.iter().any(|(_, ignore)| *ignore);
        let mut always: Vec<memchr::memmem::Finder<'static>> = vec![memchr::memmem::Finder::new(b"\\u").into_owned()];
        if ignores_case {
            always.push(memchr::memmem::Finder::new("\u{212A}".as_bytes()).into_owned());
            always.push(memchr::memmem::Finder::new("\u{130}".as_bytes()).into_owned());
        }
        let locator = if case_sensitive && first.len() <= 4 {
            always.extend(first.iter().map(|needle| memchr::memmem::Finder::new(needle.as_bytes()).into_owned()));
            Locator::Substrings(always)
        } else {
            let automaton = AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .ascii_case_insensitive(!case_sensitive)
                .build(first)
                .ok()?;
            Locator::Automaton(automaton, always)
        };
        Some(Prefilter { groups, ignores_case, locator })
    }

    /// Calls `found` with the start of every place in `text` that holds what every line that may match
    /// holds (in no particular order, perhaps several times for one line). A line with none cannot match.
    pub fn locate(&self, text: &[u8], found: &mut impl FnMut(usize)) {
        let finders = match &self.locator {
            Locator::Substrings(finders) => finders,
            Locator::Automaton(automaton, finders) => {
                automaton.find_iter(text).for_each(|m| found(m.start()));
                finders
            }
        };
        for finder in finders {
            finder.find_iter(text).for_each(&mut *found);
        }
    }

    /// Whether the raw text may hold a matching row. A line with `\u` escapes may hide a needle behind an
    /// escape, and the two characters whose lowercase is ASCII (the Kelvin sign and the dotted capital I)
    /// may hide one from an ASCII case-insensitive search, so such lines always go on to the real test.
    pub fn may_match(&self, raw: &[u8]) -> bool {
        self.groups.iter().all(|(group, _)| group.is_match(raw))
            || memchr::memmem::find(raw, b"\\u").is_some()
            || (self.ignores_case
                && (memchr::memmem::find(raw, "\u{212A}".as_bytes()).is_some()
                    || memchr::memmem::find(raw, "\u{130}".as_bytes()).is_some()))
    }
}

/// What the evaluator asks of one scan.
pub struct ScanRequest<'a> {
    /// Which columns to decode; the others are left null (or `""` for strings).
    pub columns: &'a [bool],
    /// For dynamic columns the query reads only through members: those members (a source may decode just
    /// them). Empty, or `None` for a column, means the whole value.
    pub members: &'a [Option<Vec<String>>],
    /// A row test applied as soon as `filter_columns` are decoded, before the rest of the row is.
    pub filter: Option<&'a (dyn Fn(&Row) -> bool + Sync)>,
    pub filter_columns: &'a [bool],
    pub prefilter: Option<&'a Prefilter>,
    pub cancel: &'a AtomicBool,
    /// Bytes read so far, for a progress display.
    pub progress: Option<&'a AtomicU64>,
}

/// What a scan of one partition saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Lines looked at one by one (lines a prefilter passes over in bulk are not counted).
    pub rows_read: u64,
    /// Lines that were not valid rows (bad JSON, wrong shape): skipped, counted, the first one described.
    pub bad_rows: u64,
    pub first_bad_row: Option<String>,
    /// Rows read after a repair (a lone surrogate escape made U+FFFD): kept, counted, the first one described.
    pub repaired_rows: u64,
    pub first_repaired_row: Option<String>,
}

impl ScanStats {
    pub fn absorb(&mut self, other: ScanStats) {
        self.rows_read += other.rows_read;
        self.bad_rows += other.bad_rows;
        if self.first_bad_row.is_none() {
            self.first_bad_row = other.first_bad_row;
        }
        self.repaired_rows += other.repaired_rows;
        if self.first_repaired_row.is_none() {
            self.first_repaired_row = other.first_repaired_row;
        }
    }
}

/// A table the evaluator can scan, in independent partitions that threads take in turn.
pub trait TableSource: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &str;
    fn columns(&self) -> &[Column];
    /// The column that `Timestamp`-style windows apply to, if the table has one.
    fn time_column(&self) -> Option<usize> {
        self.columns().iter().position(|c| c.name == "Timestamp" || c.name == "TimeGenerated")
    }
    fn partition_count(&self) -> usize;
    /// Total bytes the scan reads (0 when unknown), for progress.
    fn size_hint(&self) -> u64 {
        0
    }
    /// Feeds the rows of one partition to `sink`, in order, until it returns `false`.
    fn scan_partition(
        &self,
        partition: usize,
        request: &ScanRequest,
        sink: &mut dyn FnMut(Row) -> bool,
    ) -> Result<ScanStats, KqlError>;
}

/// Rows held in memory (`datatable`, small files, test fixtures).
#[derive(Debug)]
pub struct MemoryTable {
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: Arc<Vec<Row>>,
}

const MEMORY_PARTITION_ROWS: usize = 65_536;

impl TableSource for MemoryTable {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn partition_count(&self) -> usize {
        self.rows.len().div_ceil(MEMORY_PARTITION_ROWS).max(1)
    }

    fn scan_partition(
        &self,
        partition: usize,
        request: &ScanRequest,
        sink: &mut dyn FnMut(Row) -> bool,
    ) -> Result<ScanStats, KqlError> {
        let start = partition * MEMORY_PARTITION_ROWS;
        let end = (start + MEMORY_PARTITION_ROWS).min(self.rows.len());
        let mut stats = ScanStats::default();
        for row in self.rows.get(start..end).unwrap_or_default() {
            stats.rows_read += 1;
            if request.filter.is_some_and(|filter| !filter(row)) {
                continue;
            }
            if !sink(row.clone()) {
                break;
            }
        }
        Ok(stats)
    }
}

/// Where tables come from: a data directory, a test's fixtures, nothing at all.
pub trait Catalog: Send + Sync {
    fn table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>, KqlError>;
    fn table_names(&self) -> Vec<String>;

    /// Tables that were asked for and read as empty because no data holds them (a known Defender table without
    /// a file): the user should be told, since their queries find nothing there.
    fn empty_tables(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A catalog of tables held in memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryCatalog {
    tables: HashMap<String, Arc<dyn TableSource>>,
}

impl MemoryCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, table: Arc<dyn TableSource>) {
        self.tables.insert(table.name().to_string(), table);
    }

    pub fn with_table(mut self, name: &str, columns: Vec<Column>, rows: Vec<Row>) -> Self {
        self.insert(Arc::new(MemoryTable { name: name.to_string(), columns, rows: Arc::new(rows) }));
        self
    }
}

impl Catalog for MemoryCatalog {
    fn table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>, KqlError> {
        Ok(self.tables.get(name).cloned())
    }

    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables.keys().cloned().collect();
        names.sort();
        names
    }
}

/// Catalogs searched in order: a table of an earlier one hides a same-named table of a later one.
pub struct Layered(pub Vec<Arc<dyn Catalog>>);

impl Catalog for Layered {
    fn table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>, KqlError> {
        for catalog in &self.0 {
            if let Some(table) = catalog.table(name)? {
                return Ok(Some(table));
            }
        }
        Ok(None)
    }

    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for catalog in &self.0 {
            for name in catalog.table_names() {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    fn empty_tables(&self) -> Vec<String> {
        self.0.iter().flat_map(|catalog| catalog.empty_tables()).collect()
    }
}

/// A catalog whose tables' datetime values are all moved by `ticks` as they are read — old sample data made to
/// look fresh. Every operator, window, filter and function then sees the moved values, as if the data had been
/// written that much later: `bin(Timestamp, 1d)` is a midnight, `format_datetime` agrees with the column.
/// (Datetimes written as text inside dynamic values keep their value.)
pub struct Shifted {
    pub inner: Arc<dyn Catalog>,
    pub ticks: i64,
    /// Tables read as they are (an archive: its rows hold the times their runs saw, moved already).
    pub except: Vec<String>,
}

impl Catalog for Shifted {
    fn table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>, KqlError> {
        let table = self.inner.table(name)?;
        Ok(table.map(|table| {
            let datetimes: Vec<usize> = table
                .columns()
                .iter()
                .enumerate()
                .filter(|(_, column)| column.ty == Type::DateTime)
                .map(|(index, _)| index)
                .collect();
            if self.ticks == 0 || datetimes.is_empty() || self.except.iter().any(|n| n == name) {
                return table;
            }
            Arc::new(ShiftedTable { inner: table, ticks: self.ticks, datetimes }) as Arc<dyn TableSource>
        }))
    }

    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    fn empty_tables(&self) -> Vec<String> {
        self.inner.empty_tables()
    }
}

/// A table of a [`Shifted`] catalog.
#[derive(Debug)]
struct ShiftedTable {
    inner: Arc<dyn TableSource>,
    ticks: i64,
    /// The datetime columns.
    datetimes: Vec<usize>,
}

impl ShiftedTable {
    fn shift(&self, row: &mut Row) {
        for index in &self.datetimes {
            if let Some(Value::DateTime(ticks)) = row.get_mut(*index) {
                *ticks = ticks.saturating_add(self.ticks);
            }
        }
    }
}

impl TableSource for ShiftedTable {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn columns(&self) -> &[Column] {
        self.inner.columns()
    }

    fn time_column(&self) -> Option<usize> {
        self.inner.time_column()
    }

    fn partition_count(&self) -> usize {
        self.inner.partition_count()
    }

    fn size_hint(&self) -> u64 {
        self.inner.size_hint()
    }

    fn scan_partition(
        &self,
        partition: usize,
        request: &ScanRequest,
        sink: &mut dyn FnMut(Row) -> bool,
    ) -> Result<ScanStats, KqlError> {
        // The early filter sees the moved values too (on a copy: it is handed the row only to look at).
        let moved = |row: &Row| -> bool {
            let mut copy = row.clone();
            self.shift(&mut copy);
            request.filter.is_none_or(|filter| filter(&copy))
        };
        let request = ScanRequest {
            filter: request.filter.is_some().then_some(&moved as &(dyn Fn(&Row) -> bool + Sync)),
            // A needle from a literal is looked for in the file's own text, which holds the old times.
            prefilter: None,
            ..*request
        };
        self.inner.scan_partition(partition, &request, &mut |mut row| {
            self.shift(&mut row);
            sink(row)
        })
    }
}

/// A catalog that notes every table a compile looks up (found in `first`, else in `then`), in the order first
/// named: which tables a query reads.
pub struct Recording<'a> {
    pub first: &'a dyn Catalog,
    pub then: &'a dyn Catalog,
    pub names: std::sync::Mutex<Vec<String>>,
}

impl<'a> Recording<'a> {
    pub fn new(first: &'a dyn Catalog, then: &'a dyn Catalog) -> Self {
        Recording { first, then, names: std::sync::Mutex::new(Vec::new()) }
    }

    /// The tables noted so far.
    pub fn tables(self) -> Vec<String> {
        self.names.into_inner().unwrap_or_default()
    }
}

impl Catalog for Recording<'_> {
    fn table(&self, name: &str) -> Result<Option<Arc<dyn TableSource>>, KqlError> {
        let table = match self.first.table(name)? {
            Some(table) => Some(table),
            None => self.then.table(name)?,
        };
        if let Some(table) = &table
            && let Ok(mut names) = self.names.lock()
            && !names.iter().any(|n| n == table.name())
        {
            names.push(table.name().to_string());
        }
        Ok(table)
    }

    fn table_names(&self) -> Vec<String> {
        let mut names = self.first.table_names();
        for name in self.then.table_names() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}
