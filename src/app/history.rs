//! `huntbook validate` and `huntbook runs`: what the configuration and the playbooks say, and what past runs did.

use std::io::Write;

use anyhow::{Context, Result};

use super::Outcome;
use super::workspace;
use crate::cli::{ConfigArgs, RunsArgs};
use crate::config::SourceConfig;
use crate::diagnostics::render_diagnostics;
use crate::store::RunStatus;

/// "3 problems: 1 in the configuration, 2 in 1 of 4 playbooks" — where the problems are.
fn problem_count(workspace: &workspace::Workspace) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let config_file = workspace
        .config
        .file
        .as_ref()
        .map_or_else(|| crate::config::DEFAULT_NAME.to_string(), |path| path.display().to_string());
    let in_config = workspace.problems.iter().filter(|problem| problem.file == config_file).count();
    let in_playbooks = workspace.problems.len() - in_config;
    let playbooks = workspace.invalid.len() + workspace.playbooks.len();
    let playbooks = format!("in {} of {}", workspace.invalid.len(), plural(playbooks, "playbook"));
    match (in_config, in_playbooks) {
        (0, n) => format!("{} {playbooks}", plural(n, "problem")),
        (n, 0) => format!("{} in the configuration", plural(n, "problem")),
        (c, p) => format!("{}: {c} in the configuration, {p} {playbooks}", plural(c + p, "problem")),
    }
}

pub fn validate(args: ConfigArgs) -> Result<Outcome> {
    let workspace = match workspace::open(&args) {
        Ok(workspace) => workspace,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            crate::say!(
                "{} problem{} in the configuration",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            return Ok(Outcome::Invalid);
        }
    };
    if !workspace.warnings.is_empty() {
        crate::say_inline!("{}", render_diagnostics(&workspace.warnings));
        crate::say!();
    }
    if !workspace.problems.is_empty() {
        crate::say_inline!("{}", render_diagnostics(&workspace.problems));
        crate::say!("{}", problem_count(&workspace));
        return Ok(Outcome::Invalid);
    }
    let config = &workspace.config;
    let source = match &config.source {
        SourceConfig::Local { data, .. } => format!("local data in {}", data.display()),
        SourceConfig::Graph => {
            format!("Graph, {} tenant{}", config.tenants.len(), if config.tenants.len() == 1 { "" } else { "s" })
        }
    };
    let tests: usize = workspace.playbooks.iter().map(|p| p.tests.len()).sum();
    let graph_only = workspace.playbooks.iter().filter(|p| p.not_local.is_some()).count();
    let graph_only = match graph_only {
        0 => String::new(),
        1 => " (1 runs in Graph only: its tests cannot run locally)".to_string(),
        n => format!(" ({n} run in Graph only: their tests cannot run locally)"),
    };
    let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    println!(
        "ok: {} ({}), {}, {}; queries run on {source}{graph_only}",
        count(workspace.playbooks.len(), "playbook", "playbooks"),
        count(tests, "test", "tests"),
        count(config.receivers.len(), "receiver", "receivers"),
        count(workspace.templates.names().len(), "template", "templates"),
    );
    Ok(Outcome::Success)
}

pub fn runs(args: RunsArgs) -> Result<Outcome> {
    let config = match workspace::config(&args.config) {
        Ok(config) => config,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    if !config.state.exists() {
        println!("no runs yet: {} does not exist", config.state.display());
        return Ok(Outcome::Success);
    }
    let store = super::open_for_reading(&config.state)?;
    let runs = store.runs(args.playbook.as_deref(), args.limit).context("reading the runs")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if runs.is_empty() {
        if let Some(name) = &args.playbook {
            // A name nothing knows is a mistake, not a playbook that never ran.
            let mut known: Vec<String> =
                store.latest_runs().context("reading the runs")?.into_iter().map(|r| r.playbook).collect();
            known.extend(playbook_ids(&config.playbooks));
            if !known.contains(name) {
                known.sort();
                known.dedup();
                let hint = crate::config::yaml::did_you_mean(name, known.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("the playbooks are: {}", known.join(", ")));
                let problem = crate::diagnostics::Diagnostic::plain(format!(
                    "no playbook {name} has run or is in {}",
                    config.playbooks.display()
                ))
                .with_hint(hint);
                crate::say_inline!("{}", render_diagnostics(&[problem]));
                return Ok(Outcome::Invalid);
            }
        }
        writeln!(out, "no runs yet{}", args.playbook.as_ref().map_or(String::new(), |p| format!(" of {p}")))?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{:<19}  {:<32} {:<31} {:>6} {:>8} {:>8} {:>8} {:>8}  OUTCOME",
        "STARTED (UTC)", "PLAYBOOK", "WINDOW (UTC)", "ROWS", "NEW HITS", "MESSAGES", "ARCHIVED", "DURATION"
    )?;
    for run in &runs {
        let outcome = match (&run.status, &run.error) {
            (RunStatus::Failed, Some(error)) => format!("failed: {}", first_line(error)),
            (status, _) if run.truncated => format!("{status}, result cut off"),
            // A successful run's note: an enrichment that failed, its columns empty.
            (status, Some(note)) => format!("{status}; {}", first_line(note)),
            (status, None) => status.to_string(),
        };
        // Hits that sent nothing on purpose are said, never left to be guessed from the counts.
        let quiet = [(run.silenced, "silenced"), (run.suppressed, "suppressed")]
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!(", {count} {what}"))
            .collect::<String>();
        let backfill = if run.backfill { ", backfill" } else { "" };
        let outcome = format!("{outcome}{quiet}{backfill}");
        let duration = (run.finished - run.started).to_std().unwrap_or_default();
        writeln!(
            out,
            "{:<19}  {:<32} {} → {} {:>6} {:>8} {:>8} {:>8} {:>7.1}s  {outcome}",
            run.started.format("%Y-%m-%d %H:%M:%S"),
            run.playbook,
            run.window_start.format("%m-%d %H:%M:%S"),
            run.window_end.format("%m-%d %H:%M:%S"),
            run.rows,
            run.new_hits,
            run.messages,
            run.archived,
            duration.as_secs_f64(),
        )?;
    }
    Ok(Outcome::Success)
}

/// The first line of a stored error or note, inert on a terminal (escape sequences and bidi controls shown by
/// their code points: it may quote a server).
fn first_line(text: &str) -> std::borrow::Cow<'_, str> {
    crate::render::visible::made_visible(text.lines().next().unwrap_or_default(), &[])
}

/// The ids of the playbook files of a directory (their `id:`, else their name), read cheaply: no validation.
fn playbook_ids(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let id = text
                .lines()
                .find_map(|line| line.strip_prefix("id:").map(|id| id.trim().trim_matches(['"', '\'']).to_string()));
            id.filter(|id| !id.is_empty()).or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        })
        .collect()
}
