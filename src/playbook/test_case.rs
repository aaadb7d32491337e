//! `tests:` a playbook's own tests: fixture files in, the hits and messages expected out (DESIGN §9). This
//! file checks that a test is complete, that its files exist (relative to the playbook's directory), and that
//! what it expects names the playbook's receivers and the query's columns. Running tests is `huntbook test`'s
//! job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::query::unknown_column;
use crate::config::yaml::{Value, did_you_mean, one_of};
use crate::kql::plan::Column;
use crate::kql::table::Catalog;

/// The keys of this mapping (also what `huntbook schema` lists).
pub const EXPECT_KEYS: &[&str] = &["hits", "messages", "rows", "archived", "silenced", "suppressed"];

/// The keys of a test.
pub const TEST_KEYS: &[&str] = &["name", "data", "now", "silences", "expect", "runs"];

/// The keys of one of a test's `runs:`.
pub const RUN_KEYS: &[&str] = &["now", "data", "expect"];

/// One `tests:` entry.
#[derive(Clone, Debug)]
pub struct PlaybookTest {
    /// `name:` what the test shows, such as `a download is reported once`; unique in the playbook.
    pub name: String,
    /// `data:` the rows the query runs over.
    pub data: TestData,
    /// `silences:` conditions over the hits, each a silence in force during the test's runs.
    pub silences: Vec<String>,
    /// The runs, in order, against one state (a test of one run writes `now:` and `expect:`; a test of several,
    /// `runs:`): dedup, suppression, silences and look-backs over time.
    pub runs: Vec<TestRun>,
}

/// One run of a test.
#[derive(Clone, Debug)]
pub struct TestRun {
    /// `now:` the time of the run (UTC, ISO 8601: `2026-11-20T12:00:00Z`); the window ends there.
    pub now: chrono::DateTime<chrono::Utc>,
    /// `data:` rows added before this run to those of the test and of the runs before it.
    pub data: Option<TestData>,
    /// `expect:` what the run must produce.
    pub expect: Expectation,
}

impl PlaybookTest {
    /// The time of the first run.
    pub fn first_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.runs.first().map_or(chrono::DateTime::UNIX_EPOCH, |run| run.now)
    }
}

/// `data:` fixture files, relative to the playbook's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestData {
    /// `data: tests/data/x.jsonl` — one file (.jsonl/.json/.csv); the caller decides its table.
    File(PathBuf),
    /// `data: { CloudAppEvents: tests/data/x.jsonl, FileProfile: ..., archive.isolations: ... }` — a key
    /// `archive.NAME` fills the archive NAME before the run, as earlier runs would have.
    Tables(BTreeMap<String, PathBuf>),
}

/// The key prefix of an archive's fixture in `data:`.
pub const ARCHIVE_PREFIX: &str = "archive.";

/// `expect:` at least one of `hits`, `messages`, `rows`, `archived`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectation {
    /// `hits:` new hits of the run.
    pub hits: Option<usize>,
    /// `archived:` rows the run archived (its own hits, and isolations its enrichers found).
    pub archived: Option<u64>,
    /// `messages: { soc-mail: 1 }`: messages queued per receiver.
    pub messages: BTreeMap<String, usize>,
    /// `rows: [{Device: pc1, Scope: Full}]`: each must match some hit (the text of the listed columns).
    pub rows: Vec<BTreeMap<String, String>>,
    /// `silenced:` new hits a silence kept from everyone.
    pub silenced: Option<usize>,
    /// `suppressed:` new hits `suppress` kept from some receiver.
    pub suppressed: Option<usize>,
}

const EXTENSIONS: [&str; 3] = ["jsonl", "json", "csv"];

pub(super) struct TestContext<'a> {
    pub directory: &'a Path,
    pub receivers: &'a [&'a str],
    pub columns: Option<&'a [Column]>,
    pub catalog: &'a dyn Catalog,
}

pub(super) fn read_tests(value: Value, context: &TestContext) -> Option<Vec<PlaybookTest>> {
    let entries = value.list()?;
    let mut names: Vec<&str> = Vec::new();
    let mut tests = Vec::new();
    let mut valid = true;
    for entry in entries {
        if let Some((name, value)) = entry.child("name").and_then(|v| Some((v.written()?, v))) {
            if names.contains(&name) {
                value.report_hint(format!("two tests are named `{name}`"), "give each test its own name");
                valid = false;
            }
            names.push(name);
        }
        match read_test(entry, context) {
            Some(test) => tests.push(test),
            None => valid = false,
        }
    }
    valid.then_some(tests)
}

fn read_test(value: Value, context: &TestContext) -> Option<PlaybookTest> {
    let fields = value.fields(TEST_KEYS)?;
    let name = fields.required("name").and_then(|v| v.non_empty_string());
    let data = fields.required("data").and_then(|v| read_data(v, context));
    let silences = fields.get("silences").map_or(Some(Vec::new()), |v| {
        let conditions: Vec<Option<String>> = v
            .list()?
            .into_iter()
            .map(|item| {
                super::query::read_condition(item, context.columns, context.catalog).map(|condition| condition.text)
            })
            .collect();
        conditions.into_iter().collect()
    });
    let runs = match (fields.get("runs"), fields.raw("now").is_some() || fields.raw("expect").is_some()) {
        (Some(runs), true) => {
            runs.report_hint(
                "a test has either `now:` and `expect:` (one run) or `runs:` (several), not both",
                "move this test's `now:` and `expect:` into its first run",
            );
            None
        }
        (Some(runs), false) => read_runs(runs, context),
        (None, _) => {
            let now = fields.required("now").and_then(read_time);
            let expect = fields.required("expect").and_then(|v| read_expectation(v, context));
            Some(vec![TestRun { now: now?, data: None, expect: expect? }])
        }
    };
    Some(PlaybookTest { name: name?, data: data?, silences: silences?, runs: runs? })
}

/// `runs:` a list of `{ now, expect, data? }`, each later than the one before.
fn read_runs(value: Value, context: &TestContext) -> Option<Vec<TestRun>> {
    let entries = value.list()?;
    if entries.is_empty() {
        value.report_hint("`runs` lists no run", "list each run: `- now: 2026-11-09T07:30:00Z` and its `expect:`");
        return None;
    }
    let mut runs = Vec::new();
    let mut valid = true;
    let mut previous: Option<chrono::DateTime<chrono::Utc>> = None;
    for entry in entries {
        let Some(fields) = entry.fields(RUN_KEYS) else {
            valid = false;
            continue;
        };
        let now = fields.required("now").and_then(|v| {
            let now = read_time(v)?;
            if previous.is_some_and(|before| now <= before) {
                v.report_hint("each run comes after the one before it", "list the runs in the order of their `now:`");
                return None;
            }
            Some(now)
        });
        previous = now.or(previous);
        let data = fields.get("data").map(|v| read_data(v, context));
        let expect = fields.required("expect").and_then(|v| read_expectation(v, context));
        match (now, data, expect) {
            (Some(now), None, Some(expect)) => runs.push(TestRun { now, data: None, expect }),
            (Some(now), Some(Some(data)), Some(expect)) => runs.push(TestRun { now, data: Some(data), expect }),
            _ => valid = false,
        }
    }
    valid.then_some(runs)
}

/// A time in ISO 8601 with a zone.
fn read_time(value: Value) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = value.string()?;
    match chrono::DateTime::parse_from_rfc3339(text.trim()) {
        Ok(time) => Some(time.with_timezone(&chrono::Utc)),
        Err(_) => {
            value.report_hint(
                format!("expected a time, found {}", value.describe()),
                "write it in ISO 8601 with a zone, such as 2026-11-20T12:00:00Z",
            );
            None
        }
    }
}

fn read_data(value: Value, context: &TestContext) -> Option<TestData> {
    if value.node().as_mapping().is_none() {
        return fixture(value, context.directory).map(TestData::File);
    }
    let mut known = context.catalog.table_names();
    known.extend(crate::kql::schema::builtin_names().map(str::to_string));
    let mut tables = BTreeMap::new();
    let mut valid = true;
    for entry in value.entries()? {
        let table = entry.key().unwrap_or_default().to_string();
        let archive = table.strip_prefix(ARCHIVE_PREFIX);
        if archive.is_some_and(|name| name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
            entry.reader().report(
                entry
                    .reader()
                    .at(entry.key_place(), format!("`{table}` is not an archive"))
                    .with_hint("write `archive.NAME`, with the name of an archive, such as archive.isolations"),
            );
            valid = false;
        } else if archive.is_none() && !known.contains(&table) {
            let hint = did_you_mean(&table, known.iter().map(String::as_str))
                .unwrap_or_else(|| "a table the query reads, such as CloudAppEvents".to_string());
            entry
                .reader()
                .report(entry.reader().at(entry.key_place(), format!("unknown table `{table}`")).with_hint(hint));
            valid = false;
        }
        match fixture(entry, context.directory) {
            Some(path) => {
                tables.insert(table, path);
            }
            None => valid = false,
        }
    }
    if tables.is_empty() && valid {
        value.report("expected at least one table");
        return None;
    }
    valid.then_some(TestData::Tables(tables))
}

/// A fixture file: a known format, and there.
fn fixture(value: Value, directory: &Path) -> Option<PathBuf> {
    let written = value.non_empty_string()?;
    let path = directory.join(&written);
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    if !EXTENSIONS.contains(&extension.as_str()) {
        value.report_hint(
            format!("`{written}` is not a table file"),
            "use .jsonl (one JSON object per line), .json or .csv",
        );
        return None;
    }
    if !path.is_file() {
        value.report(format!("the file {} does not exist", path.display()));
        return None;
    }
    Some(path)
}

fn read_expectation(value: Value, context: &TestContext) -> Option<Expectation> {
    let fields = value.fields(EXPECT_KEYS)?;
    if !EXPECT_KEYS.iter().any(|key| fields.raw(key).is_some()) {
        value.report_hint("`expect` expects nothing", "add `hits:`, `messages:`, `rows:` or `archived:`");
        return None;
    }
    let silenced = fields.get("silenced").map_or(Some(None), |v| v.number::<usize>("a number of hits").map(Some));
    let suppressed = fields.get("suppressed").map_or(Some(None), |v| v.number::<usize>("a number of hits").map(Some));
    let hits = fields.get("hits").map_or(Some(None), |v| v.number::<usize>("a number of hits").map(Some));
    let archived = fields.get("archived").map_or(Some(None), |v| v.number::<u64>("a number of rows").map(Some));
    let messages = fields.get("messages").map_or(Some(BTreeMap::new()), |v| read_messages(v, context.receivers));
    let rows = fields.get("rows").map_or(Some(Vec::new()), |v| read_rows(v, context.columns));
    Some(Expectation {
        hits: hits?,
        archived: archived?,
        messages: messages?,
        rows: rows?,
        silenced: silenced?,
        suppressed: suppressed?,
    })
}

/// `messages: { soc-mail: 1 }`: receivers this playbook notifies.
fn read_messages(value: Value, receivers: &[&str]) -> Option<BTreeMap<String, usize>> {
    let mut messages = BTreeMap::new();
    let mut valid = true;
    for entry in value.entries()? {
        let receiver = entry.key().unwrap_or_default().to_string();
        if !receivers.contains(&receiver.as_str()) {
            let hint = did_you_mean(&receiver, receivers.iter().copied())
                .unwrap_or_else(|| format!("it notifies {}", one_of(receivers)));
            entry.reader().report(
                entry
                    .reader()
                    .at(entry.key_place(), format!("this playbook does not notify `{receiver}`"))
                    .with_hint(hint),
            );
            valid = false;
        }
        match entry.number::<usize>("a number of messages") {
            Some(count) => {
                messages.insert(receiver, count);
            }
            None => valid = false,
        }
    }
    valid.then_some(messages)
}

/// `rows: [{Column: value}]`: columns of the query's output.
fn read_rows(value: Value, columns: Option<&[Column]>) -> Option<Vec<BTreeMap<String, String>>> {
    let mut rows = Vec::new();
    let mut valid = true;
    for row in value.list()? {
        let Some(cells) = row.entries() else {
            valid = false;
            continue;
        };
        let mut expected = BTreeMap::new();
        for cell in cells {
            let column = cell.key().unwrap_or_default().to_string();
            if let Some((message, hint)) = columns.and_then(|columns| unknown_column(&column, columns)) {
                cell.reader().report(cell.reader().at(cell.key_place(), message).with_hint(hint));
                valid = false;
            }
            let text = if cell.is_null() { Some(String::new()) } else { cell.string() };
            match text {
                Some(text) => {
                    expected.insert(column, text);
                }
                None => valid = false,
            }
        }
        rows.push(expected);
    }
    valid.then_some(rows)
}
