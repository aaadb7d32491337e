//! `huntbook silence add|list|remove`: silences made at run time. A silence is written to the state file (the
//! daemon's next run of the playbook reads it: no restart), its condition is checked against the playbook's
//! hit columns when it is added, and it ends when it expires or is removed.

use std::io::Write;

use anyhow::{Context, Result};

use super::{Outcome, workspace};
use crate::cli::{SilenceAction, SilenceArgs};
use crate::diagnostics::{Diagnostic, SourceText, render_diagnostics};
use crate::schedule::system_now;
use crate::store::Silence;

pub fn silence(args: SilenceArgs) -> Result<Outcome> {
    match args.action {
        SilenceAction::Add { playbook, condition, duration, reason, author } => {
            add(&args.config, &playbook, &condition, &duration, &reason, author)
        }
        SilenceAction::List { all } => list(&args.config, all),
        SilenceAction::Remove { id } => remove(&args.config, &id),
    }
}

fn add(
    config: &crate::cli::ConfigArgs,
    playbook: &str,
    condition: &str,
    duration: &str,
    reason: &str,
    author: Option<String>,
) -> Result<Outcome> {
    let length = match crate::config::duration::parse_duration(duration) {
        Ok(length) if length > chrono::TimeDelta::zero() => length,
        Ok(_) => return Err(super::usage(format!("--for {duration}: a silence must last longer than nothing"))),
        Err(error) => return Err(super::usage(format!("--for {duration}: {} ({})", error.message, error.hint))),
    };
    if reason.trim().is_empty() {
        return Err(super::usage("--reason is empty: say why, for whoever finds the silence later"));
    }
    let workspace = match workspace::open(config) {
        Ok(workspace) => workspace,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let found = match workspace.playbook(playbook) {
        Ok(found) => found,
        Err(problem) => {
            crate::say_inline!("{}", render_diagnostics(&[*problem]));
            return Ok(Outcome::Invalid);
        }
    };
    // The condition must read the hits as they are when routed: the query's columns and the enrichments'.
    match &found.columns {
        Some(columns) => {
            let checked = crate::kql::parser::parse_expression(condition).and_then(|expression| {
                crate::kql::check::check_scalar(&expression, columns, &crate::kql::table::MemoryCatalog::new())
            });
            let source = SourceText::new("--where", condition);
            match checked {
                Ok(typed) if matches!(typed.ty, crate::kql::types::Type::Bool | crate::kql::types::Type::Dynamic) => {}
                Ok(typed) => {
                    let problem = Diagnostic::plain(format!(
                        "--where must be a condition (true or false), not a {}",
                        typed.ty.name()
                    ))
                    .with_hint("compare a column with something, such as 'DeviceName == \"pc-1\"'");
                    crate::say_inline!("{}", render_diagnostics(&[problem]));
                    return Ok(Outcome::Invalid);
                }
                Err(errors) => {
                    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                    let problems: Vec<Diagnostic> = errors
                        .0
                        .iter()
                        .map(|error| {
                            let mut problem = Diagnostic::from_kql(&source, error);
                            if problem.hint.is_none() {
                                problem.hint = Some(format!("{playbook}'s hits have the columns {}", names.join(", ")));
                            }
                            problem
                        })
                        .collect();
                    crate::say_inline!("{}", render_diagnostics(&problems));
                    return Ok(Outcome::Invalid);
                }
            }
        }
        None => crate::say!(
            "note: the columns of {playbook}'s hits are known only when it runs: the condition is checked then"
        ),
    }
    let now = system_now();
    let silence = Silence {
        id: format!("s-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        playbook: playbook.to_string(),
        condition: condition.trim().to_string(),
        created: now,
        expires: now + length,
        reason: reason.trim().to_string(),
        author: author.filter(|a| !a.trim().is_empty()).unwrap_or_else(|| "unknown".to_string()),
        removed: None,
    };
    let mut store = super::open_store(&workspace.config.state)?;
    store.add_silence(&silence).context("adding the silence")?;
    println!(
        "{} silences {playbook} where {} until {} ({})",
        silence.id,
        inert(&silence.condition),
        silence.expires.format("%Y-%m-%d %H:%M:%S UTC"),
        crate::config::duration::format_duration(length.num_seconds()),
    );
    Ok(Outcome::Success)
}

fn list(config: &crate::cli::ConfigArgs, all: bool) -> Result<Outcome> {
    let config = match workspace::config(config) {
        Ok(config) => config,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !config.state.exists() {
        writeln!(out, "no silences: {} does not exist", config.state.display())?;
        return Ok(Outcome::Success);
    }
    let store = super::open_for_reading(&config.state)?;
    let now = system_now();
    let silences: Vec<Silence> =
        store.silences().context("reading the silences")?.into_iter().filter(|s| all || s.is_active(now)).collect();
    if silences.is_empty() {
        writeln!(out, "no silences in force{}", if all { "" } else { " (--all lists ended ones too)" })?;
        return Ok(Outcome::Success);
    }
    let counts = store.silenced_counts().context("counting silenced hits")?;
    let width = silences.iter().map(|s| s.playbook.len()).max().unwrap_or(0).max("PLAYBOOK".len());
    writeln!(
        out,
        "{:<10}  {:<width$}  {:<20}  {:>6}  {:<12}  WHERE · REASON",
        "ID", "PLAYBOOK", "UNTIL (UTC)", "HITS", "AUTHOR"
    )?;
    for silence in &silences {
        let state = match silence.removed {
            Some(removed) => format!("removed {}", removed.format("%m-%d %H:%M")),
            None if silence.expires <= now => "expired".to_string(),
            None => silence.expires.format("%Y-%m-%d %H:%M:%S").to_string(),
        };
        writeln!(
            out,
            "{:<10}  {:<width$}  {:<20}  {:>6}  {:<12}  {} · {}",
            silence.id,
            silence.playbook,
            state,
            counts.get(&silence.id).copied().unwrap_or(0),
            inert(&silence.author),
            inert(&silence.condition),
            inert(&silence.reason),
        )?;
    }
    Ok(Outcome::Success)
}

fn remove(config: &crate::cli::ConfigArgs, id: &str) -> Result<Outcome> {
    let config = match workspace::config(config) {
        Ok(config) => config,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    let mut store = super::open_store(&config.state)?;
    let now = system_now();
    let silences = store.silences().context("reading the silences")?;
    let Some(silence) = silences.iter().find(|s| s.id == id).cloned() else {
        let known: Vec<&str> = silences.iter().map(|s| s.id.as_str()).collect();
        let hint = crate::config::yaml::did_you_mean(id, known.iter().copied())
            .unwrap_or_else(|| "`huntbook silence list --all` lists the silences".to_string());
        crate::say_inline!("{}", render_diagnostics(&[Diagnostic::plain(format!("no silence {id}")).with_hint(hint)]));
        return Ok(Outcome::Invalid);
    };
    if !silence.is_active(now) {
        println!("{id} had already ended");
        return Ok(Outcome::Success);
    }
    store.remove_silence(id, now).context("removing the silence")?;
    println!("{id} removed: {}'s hits where {} are heard again", silence.playbook, inert(&silence.condition));
    Ok(Outcome::Success)
}

/// What a person typed (a reason, an author, a condition) as a terminal shows it: a line break, an escape
/// sequence or a bidi control by its code point, so that it cannot forge a line or rewrite the screen.
fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    crate::render::visible::made_visible(text, &[])
}
