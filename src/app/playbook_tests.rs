//! `huntbook test`: each playbook test is one run of the real pipeline — the query over the test's fixture files,
//! dedup against a fresh in-memory state, routing, rendering with the real templates — at the test's `now`,
//! compared with what the test expects: the number of new hits, the messages per receiver (every receiver not
//! listed must get none), and rows that some hit must match.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use super::Outcome;
use super::workspace::{self, Workspace};
use crate::cli::TestArgs;
use crate::diagnostics::render_diagnostics;
use crate::kql::compile;
use crate::kql::load::open_table;
use crate::kql::schema;
use crate::kql::table::Catalog;
use crate::playbook::{Playbook, PlaybookTest, TestData};
use crate::runner::{RunOptions, Services, run_playbook};
use crate::schedule::FixedClock;
use crate::source::local::LocalSource;
use crate::store::Store;

pub fn test(args: TestArgs) -> Result<Outcome> {
    let workspace = match workspace::open(&args.config) {
        Ok(workspace) => workspace,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let mut outcome = Outcome::Success;
    if !workspace.problems.is_empty() {
        crate::say_inline!("{}", render_diagnostics(&workspace.problems));
        crate::say!("the playbooks above are not valid; their tests do not run");
        outcome = Outcome::Invalid;
    }
    for name in &args.playbooks {
        if let Err(problem) = workspace.playbook(name) {
            crate::say_inline!("{}", render_diagnostics(&[*problem]));
            return Ok(Outcome::Invalid);
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (mut passed, mut failed, mut not_local, mut untested) = (0, 0, 0, Vec::new());
    let mut shown: Vec<String> = Vec::new();
    for playbook in &workspace.playbooks {
        if !args.playbooks.is_empty() && !args.playbooks.contains(&playbook.id) {
            continue;
        }
        if playbook.tests.is_empty() {
            untested.push(playbook.id.as_str());
        }
        if let Some(reason) = &playbook.not_local {
            // Neither a pass nor a failure: the query runs in Graph, and the fixtures are read locally.
            for test in &playbook.tests {
                not_local += 1;
                writeln!(out, "LOCAL {} › {}: cannot run locally: {reason}", playbook.id, test.name)?;
            }
            continue;
        }
        for test in &playbook.tests {
            let outcome = test_runs(&workspace, playbook, test).and_then(|summaries| {
                if args.show {
                    for (index, summary) in summaries.iter().enumerate() {
                        let name = match summaries.len() {
                            1 => test.name.clone(),
                            n => format!("{} › run {} of {n}", test.name, index + 1),
                        };
                        shown.push(show_run(&playbook.id, &name, summary));
                    }
                }
                with_fixture_warnings(playbook, test, check_runs(test, &summaries))
            });
            match outcome {
                Ok(warnings) => {
                    passed += 1;
                    writeln!(out, "ok    {} › {}", playbook.id, test.name)?;
                    for warning in warnings {
                        writeln!(out, "        {warning}")?;
                    }
                }
                Err(failures) => {
                    failed += 1;
                    writeln!(out, "FAIL  {} › {}", playbook.id, test.name)?;
                    for failure in failures {
                        writeln!(out, "        {}", failure.replace('\n', "\n        "))?;
                    }
                }
            }
        }
    }
    if !untested.is_empty() {
        writeln!(out, "no tests: {}", untested.join(", "))?;
    }
    for block in &shown {
        write!(out, "{block}")?;
    }
    match not_local {
        0 => writeln!(out, "{passed} passed, {failed} failed")?,
        n => {
            writeln!(out, "{passed} passed, {failed} failed, {n} cannot run locally (their queries run in Graph only)")?
        }
    }
    if failed > 0 {
        outcome = outcome.max(Outcome::Failed);
    }
    Ok(outcome)
}

/// Runs one test; `Ok` holds what the reader should know of a test that passed (fixture lines skipped), `Err`
/// every way it differs from what it expects, after the window it ran over.
pub fn run_test(workspace: &Workspace, playbook: &Playbook, test: &PlaybookTest) -> Result<Vec<String>, Vec<String>> {
    let summaries = test_runs(workspace, playbook, test)?;
    with_fixture_warnings(playbook, test, check_runs(test, &summaries))
}

/// How each run of a test differs from what it expects: a test of several runs names the run and its time.
fn check_runs(test: &PlaybookTest, summaries: &[crate::runner::RunSummary]) -> Result<Vec<String>, Vec<String>> {
    let (mut warnings, mut failures) = (Vec::new(), Vec::new());
    let several = test.runs.len() > 1;
    for (index, (run, summary)) in test.runs.iter().zip(summaries).enumerate() {
        match check_test(&run.expect, summary) {
            Ok(mut found) => warnings.append(&mut found),
            Err(found) if several => {
                failures.push(format!(
                    "run {} of {} (now {}):",
                    index + 1,
                    test.runs.len(),
                    run.now.format("%Y-%m-%dT%H:%M:%SZ")
                ));
                failures.extend(found.into_iter().map(|line| format!("  {}", line.replace('\n', "\n  "))));
            }
            Err(mut found) => failures.append(&mut found),
        }
    }
    if failures.is_empty() { Ok(warnings) } else { Err(failures.into_iter().chain(warnings).collect()) }
}

/// A test's outcome with the warnings about its fixture rows added.
fn with_fixture_warnings(
    playbook: &Playbook,
    test: &PlaybookTest,
    outcome: Result<Vec<String>, Vec<String>>,
) -> Result<Vec<String>, Vec<String>> {
    let timeless = timeless_rows(playbook, test);
    match outcome {
        Ok(mut warnings) => {
            warnings.extend(timeless);
            Ok(warnings)
        }
        Err(mut failures) => {
            failures.extend(timeless);
            Err(failures)
        }
    }
}

/// Fixture rows whose `Timestamp` is there but is no datetime (`"yesterday"`): the engine reads it as empty, so
/// no window holds the row and the test would miss it without a word. One warning, with the first by its line.
fn timeless_rows(playbook: &Playbook, test: &PlaybookTest) -> Vec<String> {
    let directory = playbook.file.parent().unwrap_or(Path::new("."));
    let paths: Vec<&Path> = std::iter::once(&test.data)
        .chain(test.runs.iter().filter_map(|run| run.data.as_ref()))
        .flat_map(|data| match data {
            TestData::File(path) => vec![path.as_path()],
            TestData::Tables(tables) => tables
                .iter()
                .filter(|(name, _)| !name.starts_with(crate::playbook::ARCHIVE_PREFIX))
                .map(|(_, path)| path.as_path())
                .collect(),
        })
        .collect();
    let mut count = 0usize;
    let mut first = None;
    for path in paths.into_iter().filter(|path| path.extension().is_some_and(|e| e == "jsonl" || e == "json")) {
        let Ok(text) = std::fs::read_to_string(directory.join(path)) else { continue };
        for (number, line) in text.lines().enumerate() {
            let Ok(serde_json::Value::Object(row)) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let Some(serde_json::Value::String(value)) = row.get("Timestamp") else { continue };
            if crate::kql::datetime::parse_datetime(value).is_none() {
                count += 1;
                let name =
                    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
                first.get_or_insert_with(|| format!("{name}: line {}: {value:?}", number + 1));
            }
        }
    }
    match first {
        Some(first) => vec![format!(
            "warning: {count} fixture row{} a Timestamp that is not a datetime, so no window holds {}; the first: {first}",
            if count == 1 { " has" } else { "s have" },
            if count == 1 { "it" } else { "them" }
        )],
        None => Vec::new(),
    }
}

/// The runs of one test, in order, against one fresh in-memory state: the playbook over the test's fixtures
/// (and, from each run on, the data that run adds) at the run's `now`.
pub fn test_runs(
    workspace: &Workspace,
    playbook: &Playbook,
    test: &PlaybookTest,
) -> Result<Vec<crate::runner::RunSummary>, Vec<String>> {
    let directory = playbook.file.parent().unwrap_or(Path::new("."));
    // A test checks the playbook as written: the configuration's first-lookback override does not apply.
    let config = crate::config::Config { first_lookback: None, ..workspace.config.clone() };
    let mut store = Store::open_in_memory().map_err(|error| vec![format!("the in-memory state: {error}")])?;
    let first = test.first_now();
    let last = test.runs.last().map_or(first, |run| run.now);
    fill_archives(&mut store, &test.data, directory, first).map_err(|error| vec![error])?;
    for (number, condition) in test.silences.iter().enumerate() {
        let silence = crate::store::Silence {
            id: format!("test-{}", number + 1),
            playbook: playbook.id.clone(),
            condition: condition.clone(),
            created: first,
            expires: last + chrono::TimeDelta::days(1),
            reason: test.name.clone(),
            author: "huntbook test".to_string(),
            removed: None,
        };
        store.add_silence(&silence).map_err(|error| vec![format!("the in-memory state: {error}")])?;
    }
    let mut datas: Vec<&TestData> = vec![&test.data];
    let mut summaries = Vec::new();
    let several = test.runs.len() > 1;
    for (index, run) in test.runs.iter().enumerate() {
        let failed = |error: String| match several {
            true => vec![format!(
                "run {} of {} (now {}): {error}",
                index + 1,
                test.runs.len(),
                run.now.format("%Y-%m-%dT%H:%M:%SZ")
            )],
            false => vec![error],
        };
        if let Some(data) = &run.data {
            fill_archives(&mut store, data, directory, run.now).map_err(failed)?;
            datas.push(data);
        }
        let catalog = test_catalog(playbook, &datas, directory, workspace.catalog.as_ref(), &workspace.archives)
            .map_err(failed)?;
        let source = LocalSource::new(catalog, false);
        let clock = FixedClock(run.now);
        let services = Services { config: &config, source: &source, templates: &workspace.templates, clock: &clock };
        // What `huntbook run` does at this time: after a gap longer than the schedule, the missed windows (or
        // evaluations) in order, until caught up. The run's expectation is about all of them together.
        let mut summary = run_playbook(&services, &mut store, playbook, RunOptions::default())
            .map_err(|error| failed(error.render().trim_end().to_string()))?;
        let mut evaluations = 1;
        while summary.behind && evaluations < MAX_EVALUATIONS_PER_RUN {
            let next = run_playbook(&services, &mut store, playbook, RunOptions::default())
                .map_err(|error| failed(error.render().trim_end().to_string()))?;
            summary = merged(summary, next);
            evaluations += 1;
        }
        summaries.push(summary);
    }
    Ok(summaries)
}

/// The most windows one test run goes through catching up (a test of a month of 5-minute runs would be 8,640).
const MAX_EVALUATIONS_PER_RUN: usize = 2_000;

/// Two consecutive runs as one: what they found and sent together, over the time both covered.
fn merged(first: crate::runner::RunSummary, next: crate::runner::RunSummary) -> crate::runner::RunSummary {
    let mut hits = first.hits;
    if hits.columns == next.hits.columns || hits.rows.is_empty() {
        if hits.rows.is_empty() {
            hits.columns = next.hits.columns.clone();
        }
        hits.rows.extend(next.hits.rows);
    }
    let mut messages = first.messages;
    messages.extend(next.messages);
    let mut message_rows = first.message_rows;
    message_rows.extend(next.message_rows);
    let mut notes = first.notes;
    notes.extend(next.notes);
    let mut warnings = first.warnings;
    warnings.extend(next.warnings);
    crate::runner::RunSummary {
        window: crate::schedule::Window { start: first.window.start.min(next.window.start), end: next.window.end },
        rows: first.rows + next.rows,
        new_hits: first.new_hits + next.new_hits,
        hits,
        messages,
        message_rows,
        truncated: first.truncated || next.truncated,
        skipped_rows: first.skipped_rows + next.skipped_rows,
        first_skipped: first.first_skipped.or(next.first_skipped),
        repaired_rows: first.repaired_rows + next.repaired_rows,
        first_repaired: first.first_repaired.or(next.first_repaired),
        behind: next.behind,
        archived: first.archived + next.archived,
        archives_offered: first.archives_offered + next.archives_offered,
        notes,
        silenced: first.silenced + next.silenced,
        suppressed: first.suppressed + next.suppressed,
        warnings,
        ..next
    }
}

/// The last run of a test (what `preview` shows of it).
pub fn test_run(
    workspace: &Workspace,
    playbook: &Playbook,
    test: &PlaybookTest,
) -> Result<crate::runner::RunSummary, Vec<String>> {
    let mut summaries = test_runs(workspace, playbook, test)?;
    summaries.pop().ok_or_else(|| vec!["the test has no run".to_string()])
}

/// How a test's run differs from what the run expects; `Ok` with warnings when it does not.
fn check_test(
    expect: &crate::playbook::Expectation,
    summary: &crate::runner::RunSummary,
) -> Result<Vec<String>, Vec<String>> {
    let mut failures = Vec::new();
    if let Some(hits) = expect.hits
        && summary.new_hits != hits
    {
        failures.push(format!("expected {hits} hit{}, got {}", plural(hits), summary.new_hits));
    }
    if let Some(archived) = expect.archived
        && summary.archived != archived
    {
        failures.push(format!(
            "expected {archived} archived row{}, got {}",
            plural(archived as usize),
            summary.archived
        ));
    }
    for (expected, actual, what) in
        [(expect.silenced, summary.silenced, "silenced"), (expect.suppressed, summary.suppressed, "suppressed")]
    {
        if let Some(expected) = expected
            && expected != actual
        {
            failures.push(format!("expected {expected} {what} hit{}, got {actual}", plural(expected)));
        }
    }
    if !expect.messages.is_empty() {
        let mut got: BTreeMap<&str, usize> = BTreeMap::new();
        for message in &summary.messages {
            *got.entry(message.receiver.as_str()).or_default() += 1;
        }
        for (receiver, expected) in &expect.messages {
            let actual = got.get(receiver.as_str()).copied().unwrap_or(0);
            if actual != *expected {
                failures.push(format!("expected {expected} message{} to {receiver}, got {actual}", plural(*expected)));
            }
        }
        for (receiver, actual) in got {
            if !expect.messages.contains_key(receiver) {
                failures.push(format!("expected no message to {receiver} (not listed), got {actual}"));
            }
        }
    }
    let hits = &summary.hits;
    for expected in &expect.rows {
        let matches = |row: &Vec<crate::kql::value::Value>| {
            expected.iter().all(|(column, text)| {
                hits.column_index(column).and_then(|i| row.get(i)).is_some_and(|value| value.to_text().as_ref() == text)
            })
        };
        if !hits.rows.iter().any(matches) {
            let wanted: Vec<String> = expected.iter().map(|(c, t)| format!("{c} = {t:?}")).collect();
            let mut failure = format!("no hit has {}", wanted.join(", "));
            for row in hits.rows.iter().take(5) {
                let got: Vec<String> = expected
                    .keys()
                    .map(|c| {
                        let text = hits.column_index(c).and_then(|i| row.get(i)).map(|v| v.to_text().to_string());
                        format!("{c} = {:?}", text.unwrap_or_default())
                    })
                    .collect();
                failure.push_str(&format!("\n  a hit has {}", got.join(", ")));
            }
            failures.push(failure);
        }
    }
    let mut warnings = Vec::new();
    if let Some(first) = &summary.first_skipped {
        let count = summary.skipped_rows;
        warnings.push(format!(
            "warning: skipped {count} fixture line{} that {} not rows; the first: {first}",
            plural(count as usize),
            if count == 1 { "is" } else { "are" }
        ));
    }
    if failures.is_empty() {
        Ok(warnings)
    } else {
        let window = format!(
            "the run covered {} → {} UTC",
            summary.window.start.format("%Y-%m-%d %H:%M:%S"),
            summary.window.end.format("%Y-%m-%d %H:%M:%S")
        );
        Err(std::iter::once(window).chain(failures).chain(warnings).collect())
    }
}

/// What a test's run rendered (`huntbook test --show`): its window, hits, and each message's receiver, kind,
/// subject (or card title) and rows.
fn show_run(playbook: &str, test: &str, summary: &crate::runner::RunSummary) -> String {
    let mut text = format!(
        "\n{playbook} › {test}\n  window {} → {} UTC: {} row{}, {} new hit{}",
        summary.window.start.format("%Y-%m-%d %H:%M:%S"),
        summary.window.end.format("%Y-%m-%d %H:%M:%S"),
        summary.rows,
        plural(summary.rows),
        summary.new_hits,
        plural(summary.new_hits),
    );
    for (count, what) in
        [(summary.silenced, "silenced"), (summary.suppressed, "suppressed"), (summary.archived as usize, "archived")]
    {
        if count > 0 {
            text.push_str(&format!(", {count} {what}"));
        }
    }
    text.push('\n');
    if summary.messages.is_empty() {
        text.push_str("  no messages\n");
    }
    for (message, rows) in summary.messages.iter().zip(&summary.message_rows) {
        let rows = format!("{rows} hit{}", plural(*rows));
        text.push_str(&format!(
            "  → {:<14} {:<6} {:<9} {}\n",
            message.receiver,
            message.kind.as_str(),
            rows,
            crate::render::visible::made_visible(&message.subject, &[])
        ));
    }
    text
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// Writes a test's `archive.NAME` fixtures into its archives, as runs before it would have.
fn fill_archives(
    store: &mut Store,
    data: &TestData,
    directory: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let TestData::Tables(tables) = data else { return Ok(()) };
    for (name, path) in tables {
        let Some(archive) = name.strip_prefix(crate::playbook::ARCHIVE_PREFIX) else { continue };
        let path = directory.join(path);
        let failed = |message: String| format!("the test data {}: {message}", path.display());
        let rows = fixture_rows(archive, &path)?;
        let keys = crate::route::hit_keys(&rows, None);
        let batch = crate::store::ArchiveBatch {
            archive: archive.to_string(),
            columns: rows.columns.clone(),
            rows: rows
                .rows
                .iter()
                .zip(keys)
                .map(|(row, key)| crate::store::ArchivedRow {
                    key,
                    at: crate::store::row_time(&rows.columns, row, now),
                    values: row.clone(),
                })
                .collect(),
            prune_before: None,
        };
        store.import_archive(&batch, now).map_err(|error| failed(error.to_string()))?;
    }
    Ok(())
}

/// The tables of a test: the built-in tables, empty, with the test's files in place of those it names (the
/// files of several runs for one table, one after the other). A single file is the table the query reads (it must
/// read exactly one; `known` also knows the source's own tables).
fn test_catalog(
    playbook: &Playbook,
    datas: &[&TestData],
    directory: &Path,
    known: &dyn Catalog,
    archives: &crate::store::ArchiveCatalog,
) -> Result<Arc<dyn Catalog>, String> {
    let mut catalog = schema::catalog();
    // The archives, empty unless the test fills them (`archive.NAME`), are tables to the query.
    let mut archives = archives.clone();
    let mut files: BTreeMap<String, Vec<std::path::PathBuf>> = BTreeMap::new();
    for data in datas {
        let named: Vec<(String, std::path::PathBuf)> = match data {
            TestData::Tables(tables) => {
                tables.iter().map(|(name, path)| (name.clone(), directory.join(path))).collect()
            }
            TestData::File(path) => {
                let tables = tables_read_by(&playbook.query, known, &catalog);
                match tables.as_slice() {
                    [table] => vec![(table.clone(), directory.join(path))],
                    [] => return Err("the query reads no table, so `data:` has nothing to fill".to_string()),
                    several => {
                        return Err(format!(
                            "the query reads {}: give `data:` as a mapping, such as {{ {}: {} }}",
                            several.join(" and "),
                            several[0],
                            path.display()
                        ));
                    }
                }
            }
        };
        for (name, path) in named {
            files.entry(name).or_default().push(path);
        }
    }
    for (name, paths) in files {
        if let Some(archive) = name.strip_prefix(crate::playbook::ARCHIVE_PREFIX) {
            for path in &paths {
                archives.insert_rows(archive, fixture_rows(archive, path)?);
            }
            continue;
        }
        let table = match paths.as_slice() {
            [path] => open_table(&name, path)
                .map_err(|error| format!("the test data {}: {}", path.display(), error.message))?,
            several => {
                let mut rows = Vec::new();
                let mut columns: Option<Vec<crate::kql::plan::Column>> = None;
                for path in several {
                    let read = fixture_rows(&name, path)?;
                    if columns.as_ref().is_some_and(|known| *known != read.columns) {
                        return Err(format!(
                            "the test data {}: its columns are not those of the {name} data of the runs before",
                            path.display()
                        ));
                    }
                    columns.get_or_insert(read.columns);
                    rows.extend(read.rows);
                }
                Arc::new(crate::kql::table::MemoryTable {
                    name: name.clone(),
                    columns: columns.unwrap_or_default(),
                    rows: Arc::new(rows),
                })
            }
        };
        catalog.insert(table);
    }
    Ok(Arc::new(crate::kql::table::Layered(vec![Arc::new(archives), Arc::new(catalog)])))
}

/// The rows of an `archive.NAME` fixture file, typed as the file says.
fn fixture_rows(archive: &str, path: &Path) -> Result<crate::kql::table::Table, String> {
    let failed = |message: String| format!("the test data {}: {message}", path.display());
    let table = open_table(archive, path).map_err(|error| failed(error.message))?;
    let mut catalog = crate::kql::table::MemoryCatalog::new();
    catalog.insert(table);
    let plan = compile(&format!("['{archive}']"), &catalog).map_err(|errors| failed(errors.to_string()))?;
    Ok(crate::kql::eval::execute(plan, &crate::kql::eval::ExecOptions::new(0))
        .map_err(|error| failed(error.message))?
        .table)
}

/// The tables a query reads, in the order it first names them: those of `first`, else of `then`.
fn tables_read_by(query: &str, first: &dyn Catalog, then: &dyn Catalog) -> Vec<String> {
    let recorder = crate::kql::table::Recording::new(first, then);
    let _ = compile(query, &recorder);
    recorder.tables()
}
