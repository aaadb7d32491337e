//! `huntbook query` and `huntbook sample-data`: ad-hoc KQL over local files, and the sample tenant.

use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use super::Outcome;
use crate::cli::{ConfigArgs, OutputFormat, QueryArgs, SampleDataArgs};
use crate::diagnostics::{SourceText, render_all};
use crate::graph::{Environment, GraphError};
use crate::kql::datetime::{UNIX_EPOCH_TICKS, parse_datetime};
use crate::kql::eval::{ExecOptions, execute};
use crate::kql::lexer::TICKS_PER_SECOND;
use crate::kql::load::DataDir;
use crate::kql::plan::{Node, Source};
use crate::kql::table::Catalog;
use crate::kql::{compile_to_run, format};
use crate::sample::{SampleOptions, generate};
use crate::source::graph::GraphSource;

/// The current time in ticks.
fn clock_now() -> i64 {
    crate::source::to_ticks(crate::schedule::system_now())
}

fn parse_time(text: &str, flag: &str) -> Result<i64> {
    parse_datetime(text).ok_or_else(|| {
        super::usage(format!("{flag} '{text}' is not a datetime: use ISO 8601, such as 2026-11-20T12:00:00Z"))
    })
}

/// Bytes of table files a plan scans (each scan counted), for the progress bar.
fn scanned_bytes(node: &Node) -> u64 {
    let source = match &node.source {
        Source::Table(table) => table.size_hint(),
        Source::Union(union) => union.inputs.iter().map(|(input, _)| scanned_bytes(input)).sum(),
        Source::Shared(shared) => scanned_bytes(&shared.node),
        _ => 0,
    };
    let joined: u64 = node
        .operators
        .iter()
        .map(|operator| match operator {
            crate::kql::plan::Operator::Join(join) => scanned_bytes(&join.right),
            _ => 0,
        })
        .sum();
    source + joined
}

/// Whether a plan reads a table (a file, an archive), not only literals (`print`, `datatable`, `range`).
fn reads_a_table(node: &Node) -> bool {
    let source = match &node.source {
        Source::Table(_) => true,
        Source::Union(union) => union.inputs.iter().any(|(input, _)| reads_a_table(input)),
        Source::Shared(shared) => reads_a_table(&shared.node),
        _ => false,
    };
    source
        || node.operators.iter().any(|operator| match operator {
            crate::kql::plan::Operator::Join(join) => reads_a_table(&join.right),
            _ => false,
        })
}

/// Shows a progress bar on a terminal while a large scan runs.
fn progress_bar(total: u64, progress: Arc<AtomicU64>, done: Arc<AtomicBool>) -> Option<std::thread::JoinHandle<()>> {
    if total < 64 << 20 || !std::io::stderr().is_terminal() {
        return None;
    }
    Some(std::thread::spawn(move || {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} scanning {bytes}/{total_bytes} {wide_bar} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        while !done.load(Ordering::Relaxed) {
            bar.set_position(progress.load(Ordering::Relaxed).min(total));
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    }))
}

pub fn query(args: QueryArgs) -> Result<Outcome> {
    let (text, name) = match (&args.query, &args.file) {
        (Some(text), _) => (text.clone(), "query".to_string()),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading the query from standard input")?;
            (text, "stdin".to_string())
        }
        (None, Some(path)) => (
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, None) => return Err(super::usage("give a query, or -f FILE")),
    };
    if let Some(tenant) = &args.tenant {
        return query_tenant(&args, tenant, &text);
    }
    let now = match &args.now {
        Some(now) => parse_time(now, "--now")?,
        None => clock_now(),
    };
    let (data, rebase) = match data_of(&args) {
        Ok(found) => found,
        Err(outcome) => return Ok(outcome),
    };
    let catalog: Arc<dyn Catalog> = match (DataDir::open(&data), args.archive) {
        (Ok(data), false) => Arc::new(data),
        (Err(error), false) => {
            crate::say!("error: {}", error.message);
            return Ok(Outcome::Invalid);
        }
        (data, true) => {
            let archives = match archives(&args) {
                Ok(archives) => archives,
                Err(outcome) => return Ok(outcome),
            };
            let mut layers: Vec<Arc<dyn Catalog>> = vec![Arc::new(archives)];
            // The archives alone when there is no data directory (a server with only the state file).
            if let Ok(data) = data {
                layers.push(Arc::new(data));
            }
            Arc::new(crate::kql::table::Layered(layers))
        }
    };
    // As `run` sees the data: moved so that its newest row is an hour old (the query runs at a "now" moved back
    // as far, and the datetimes it returns are moved forward again).
    // Archived rows keep the times their runs saw (rebased already): a query with archives is not moved again.
    let shift = match rebase && !args.archive {
        false => 0,
        // Over a catalog of its own: finding the newest row looks at every table, which is no table of the query's.
        true => match DataDir::open(&data)
            .map_err(|error| crate::kql::error::KqlError::runtime(error.message))
            .and_then(|own| crate::source::local::LocalSource::new(Arc::new(own), true).shift(now))
        {
            Ok(shift) => shift,
            Err(error) => {
                crate::say!("error: {}", error.message);
                return Ok(Outcome::Failed);
            }
        },
    };
    // Every datetime of the data moved forward as it is read: the query runs at the real now.
    let catalog: Arc<dyn Catalog> = match shift {
        0 => catalog,
        _ => Arc::new(crate::kql::table::Shifted { inner: catalog, ticks: shift, except: Vec::new() }),
    };
    let catalog = catalog.as_ref();
    let source = SourceText::new(&name, &text);
    let progress = Arc::new(AtomicU64::new(0));
    let options = ExecOptions { progress: Some(progress.clone()), ..ExecOptions::new(now) };
    let plan = match compile_to_run(&text, catalog, &options) {
        Ok(plan) => plan,
        Err(errors) => {
            crate::say_inline!("{}", render_all(&source, &errors.0));
            // Not for a likely typo: a name with a "did you mean".
            let beyond = |error: &crate::kql::error::KqlError| {
                error.kind == crate::kql::error::ErrorKind::Unsupported || error.hint.is_none()
            };
            if errors.0.iter().all(|error| !error.is_certain()) && errors.0.iter().any(beyond) {
                crate::say!("note: Kusto may well run it: `huntbook query --tenant NAME` sends it to Graph");
            }
            return Ok(Outcome::Invalid);
        }
    };
    // Only where the query reads data (`print now()` reads none).
    if shift != 0 && reads_a_table(&plan.root) {
        crate::say!(
            "note: times are rebased as huntbook.yaml says (rebase_time): the data's newest row is an hour before now"
        );
    }
    let mut empty = catalog.empty_tables();
    empty.sort();
    match empty.len() {
        0 => {}
        // A search or `union *` over every table: one line, not one per table.
        n if n > 3 => crate::say!(
            "note: {n} tables have no file in {} and read as empty: {}, …",
            data.display(),
            empty[..3].join(", ")
        ),
        _ => {
            for table in empty {
                crate::say!("note: no file holds {table} in {}: it reads as an empty table", data.display());
            }
        }
    }
    let done = Arc::new(AtomicBool::new(false));
    let bar = progress_bar(scanned_bytes(&plan.root), progress.clone(), done.clone());
    let result = execute(plan, &options);
    done.store(true, Ordering::Relaxed);
    if let Some(bar) = bar {
        let _ = bar.join();
    }
    let result = match result {
        Ok(result) => result,
        Err(error) => {
            crate::say_inline!("{}", render_all(&source, &[error]));
            return Ok(Outcome::Failed);
        }
    };
    if result.stats.bad_rows > 0 {
        crate::say!(
            "warning: skipped {} line{} that are not rows; the first: {}",
            result.stats.bad_rows,
            if result.stats.bad_rows == 1 { "" } else { "s" },
            result.stats.first_bad_row.as_deref().unwrap_or("?")
        );
    }
    if result.stats.repaired_rows > 0 {
        crate::say!(
            "warning: {} row{} held text that is not Unicode, shown as U+FFFD; the first: {}",
            result.stats.repaired_rows,
            if result.stats.repaired_rows == 1 { "" } else { "s" },
            result.stats.first_repaired_row.as_deref().unwrap_or("?")
        );
    }
    write_chart(&args, &text, &result.table)?;
    print_table(&result.table, args.format)
}

/// `--chart FILE`: the query's `render` drawn over its result, as an e-mail would show it.
fn write_chart(args: &QueryArgs, text: &str, table: &crate::kql::table::Table) -> Result<()> {
    let Some(path) = &args.chart else { return Ok(()) };
    let visualization = crate::kql::visualization::visualization(text)
        .ok_or_else(|| super::usage("--chart: the query does not end in `render` (such as `| render timechart`)"))?;
    let chart = crate::render::chart::draw_chart(&visualization, &table.columns, &table.rows, None, chrono_tz::UTC)
        .map_err(|error| super::usage(format!("--chart: {error}")))?;
    std::fs::write(path, &chart.png).with_context(|| format!("writing the chart to {}", path.display()))?;
    crate::say!("chart: {} ({})", path.display(), chart.description);
    for note in &chart.notes {
        crate::say!("note: {note}");
    }
    Ok(())
}

/// The data directory a query reads, and whether its times are rebased: `--data`; else the local source of the
/// configuration (`-c`, or ./huntbook.yaml) with its `rebase_time`; else the sample data.
fn data_of(args: &QueryArgs) -> Result<(std::path::PathBuf, bool), Outcome> {
    if let Some(data) = &args.data {
        return Ok((data.clone(), false));
    }
    let config_args = ConfigArgs { config: args.config.clone() };
    if super::workspace::config_path(&config_args).is_some() {
        let config = super::workspace::config(&config_args).map_err(|problems| {
            crate::say_inline!("{}", crate::diagnostics::render_diagnostics(&problems));
            Outcome::Invalid
        })?;
        if let crate::config::SourceConfig::Local { data, rebase_time } = &config.source {
            return Ok((data.clone(), *rebase_time));
        }
    }
    Ok((std::path::PathBuf::from("examples/data"), false))
}

/// The archives of the configuration's state file (`--archive`).
fn archives(args: &QueryArgs) -> Result<crate::store::ArchiveCatalog, Outcome> {
    let config = super::workspace::config(&ConfigArgs { config: args.config.clone() }).map_err(|problems| {
        crate::say_inline!("{}", crate::diagnostics::render_diagnostics(&problems));
        Outcome::Invalid
    })?;
    if !config.state.exists() {
        crate::say!("error: nothing is archived yet: the state file {} does not exist", config.state.display());
        return Err(Outcome::Invalid);
    }
    let store = super::open_for_reading(&config.state).map_err(|error| {
        crate::say!("error: {error:#}");
        Outcome::Failed
    })?;
    let archives = store.archive_catalog().map_err(|error| {
        crate::say!("error: {error}");
        Outcome::Failed
    })?;
    if archives.is_empty() {
        crate::say!(
            "note: {} holds no archive yet (a playbook with `archive:` fills one as it runs)",
            config.state.display()
        );
    }
    Ok(archives)
}

/// `huntbook query --tenant NAME`: the query through Graph, with the tenant's credentials from huntbook.yaml.
fn query_tenant(args: &QueryArgs, tenant: &str, text: &str) -> Result<Outcome> {
    let workspace = match super::workspace::open_with_secrets(&ConfigArgs { config: args.config.clone() }) {
        Ok(workspace) => workspace,
        Err(problems) => {
            crate::say_inline!("{}", crate::diagnostics::render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let Some(config) = workspace.config.tenants.get(tenant) else {
        let names: Vec<&str> = workspace.config.tenants.keys().map(String::as_str).collect();
        let known = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        crate::say!("error: no tenant {tenant} in huntbook.yaml (its tenants: {known})");
        return Ok(Outcome::Invalid);
    };
    let window = match &args.timespan {
        None => None,
        Some(text) => {
            let (start, end) =
                crate::emulate::timespan::parse_timespan(text, crate::schedule::system_now()).map_err(super::usage)?;
            Some(crate::schedule::Window { start, end })
        }
    };
    let environment = Environment::interactive(workspace.config.redactor()).map_err(|e| anyhow!(e))?;
    let tenants = std::collections::BTreeMap::from([(tenant.to_string(), config.clone())]);
    let source = GraphSource::new(&tenants, &environment).map_err(|e| anyhow!(e))?;
    let client = source.client(tenant).ok_or_else(|| anyhow!("no client for {tenant}"))?;
    match source.block_on(client.run_hunting_query(text, window)) {
        Ok(answer) => {
            if answer.truncated {
                crate::say!("warning: the result reached Graph's limit (100,000 rows or 50 MB): rows are missing");
            }
            write_chart(args, text, &answer.table)?;
            print_table(&answer.table, args.format)
        }
        Err(error) => {
            crate::say!("error: {}", workspace.config.redactor().redact(&error.to_string()));
            Ok(if matches!(error, GraphError::Query(_)) { Outcome::Invalid } else { Outcome::Failed })
        }
    }
}

fn print_table(table: &crate::kql::table::Table, format: Option<OutputFormat>) -> Result<Outcome> {
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let format = format.unwrap_or(if terminal { OutputFormat::Table } else { OutputFormat::Json });
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match format {
        OutputFormat::Table => format::write_text_table(&mut out, table, 60),
        OutputFormat::Json => format::write_graph_json(&mut out, table),
        OutputFormat::Jsonl => format::write_json_lines(&mut out, table),
        OutputFormat::Csv => format::write_csv(&mut out, table),
    }
    .and_then(|()| out.flush());
    match written {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Success),
        other => other.map(|()| Outcome::Success).context("writing the result"),
    }
}

pub fn sample_data(args: SampleDataArgs) -> Result<Outcome> {
    let end = parse_time(&args.end, "--end")?;
    let seconds = (end - UNIX_EPOCH_TICKS) / TICKS_PER_SECOND;
    let end = chrono::DateTime::from_timestamp(seconds, 0).ok_or_else(|| super::usage("--end is out of range"))?;
    let options = SampleOptions { rows: args.rows, seed: args.seed, end, days: args.days };
    let summary =
        generate(&options, &args.out).with_context(|| format!("writing sample data to {}", args.out.display()))?;
    crate::say!(
        "wrote {} CloudAppEvents rows and {} FileProfile rows ({} bytes) to {}",
        summary.cloud_app_events,
        summary.file_profiles,
        summary.bytes,
        args.out.display()
    );
    Ok(Outcome::Success)
}
