//! `huntbook outbox list|show|retry|drop`: what is queued, what was given up on and why, and putting it back.
//! Messages are listed by a short id — the last 8 characters of their id, which differ between the messages of
//! one run (the first ones are the time the id was made) — and any unique end or start of an id names a
//! message. Receivers are shown by where they deliver, never by a secret.

use std::io::Write;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};

use super::Outcome;
use super::delivery::{self, delivery_line, error_lines, place};
use super::run::lock_state;
use super::workspace;
use crate::cli::{OutboxAction, OutboxArgs};
use crate::config::Config;
use crate::deliver::classify::one_line;
use crate::diagnostics::render_diagnostics;
use crate::store::{OutboxEntry, OutboxState, Store};

pub fn outbox(args: OutboxArgs) -> Result<Outcome> {
    // Retrying sends: every secret must be at hand. Listing, showing and dropping do not need them.
    let config = match matches!(args.action, OutboxAction::Retry { .. }) {
        true => workspace::config_with_secrets(&args.config),
        false => workspace::config(&args.config),
    };
    let config = match config {
        Ok(config) => config,
        Err(problems) => {
            crate::say_inline!("{}", render_diagnostics(&problems));
            return Ok(Outcome::Invalid);
        }
    };
    // Listing and showing only read: a state file the user may only read can be looked at.
    let reads_only = matches!(args.action, OutboxAction::List { .. } | OutboxAction::Show { .. });
    let mut store =
        if reads_only { super::open_for_reading(&config.state)? } else { super::open_store(&config.state)? };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.action {
        OutboxAction::List { dead, all, limit } => list(&mut out, &config, &store, dead, all, limit),
        OutboxAction::Show { id } => {
            let id = match resolve(&store, &id) {
                Ok(id) => id,
                Err(problem) => return usage(problem),
            };
            show(&mut out, &config, &store, &id)
        }
        OutboxAction::Drop { ids } => {
            let ids = match resolve_all(&store, &ids) {
                Ok(ids) => ids,
                Err(problem) => return usage(problem),
            };
            for id in &ids {
                store.drop_message(id)?;
                writeln!(out, "dropped {id}")?;
            }
            Ok(Outcome::Success)
        }
        OutboxAction::Retry { ids, all_dead, wait } => {
            let ids = if all_dead {
                store.outbox(Some(OutboxState::Dead), usize::MAX)?.into_iter().map(|e| e.message.id).collect()
            } else {
                match resolve_all(&store, &ids) {
                    Ok(ids) => ids,
                    Err(problem) => return usage(problem),
                }
            };
            retry(&mut out, &config, &mut store, &ids, wait.as_deref())
        }
    }
}

fn usage(problem: String) -> Result<Outcome> {
    crate::say!("error: {problem}");
    Ok(Outcome::Invalid)
}

/// Characters of the short id `outbox list` shows.
const SHORT_ID: usize = 8;

/// The short id of a message: the end of its id (the random part of a UUID v7).
pub fn short_id(id: &str) -> &str {
    id.char_indices().rev().nth(SHORT_ID - 1).map_or(id, |(at, _)| &id[at..])
}

/// The full id of a message from a unique end (the short id) or start of it.
fn resolve(store: &Store, given: &str) -> Result<String, String> {
    let given = given.trim();
    if given.is_empty() {
        return Err("an empty message id".into());
    }
    let mut found = store.outbox_ids_ending(given, 2).map_err(|e| e.to_string())?;
    if found.is_empty() {
        found = store.outbox_ids_starting(given, 2).map_err(|e| e.to_string())?;
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("no message {given} in the outbox (huntbook outbox list --all shows them)")),
        _ => Err(format!("{given} names several messages ({}, …): give more of the id", found.join(", "))),
    }
}

fn resolve_all(store: &Store, prefixes: &[String]) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    for prefix in prefixes {
        let id = resolve(store, prefix)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn list(out: &mut impl Write, config: &Config, store: &Store, dead: bool, all: bool, limit: usize) -> Result<Outcome> {
    let mut entries: Vec<OutboxEntry> = if dead {
        store.outbox(Some(OutboxState::Dead), limit)?
    } else if all {
        store.outbox(None, limit)?
    } else {
        let mut both = store.outbox(Some(OutboxState::Pending), limit)?;
        both.extend(store.outbox(Some(OutboxState::Dead), limit)?);
        both
    };
    entries.sort_by(|a, b| (b.message.created, &b.message.id).cmp(&(a.message.created, &a.message.id)));
    entries.truncate(limit);
    if entries.is_empty() {
        let what = if dead {
            "no dead message"
        } else if all {
            "the outbox is empty"
        } else {
            "nothing queued, nothing dead"
        };
        writeln!(out, "{what}")?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{:<8}  {:<7}  {:<19}  {:<30}  {:<36}  {:>3}  NEXT / SENT / ERROR",
        "ID", "STATE", "QUEUED", "PLAYBOOK", "RECEIVER", "TRY"
    )?;
    for entry in &entries {
        let message = &entry.message;
        let receiver = format!("{} ({})", message.receiver, place(config, &message.receiver));
        let detail = match entry.state {
            OutboxState::Pending => match &entry.last_error {
                Some(error) => format!("next {} after: {}", time(entry.next_attempt), one_line(error, 80)),
                None => format!("due {}", time(entry.next_attempt)),
            },
            OutboxState::Sent => format!("sent {}", entry.sent_at.map(time).unwrap_or_default()),
            OutboxState::Dead => one_line(entry.last_error.as_deref().unwrap_or("given up on"), 100),
        };
        writeln!(
            out,
            "{:<8}  {:<7}  {:<19}  {:<30}  {:<36}  {:>3}  {}",
            short_id(&message.id),
            entry.state.as_str(),
            time(entry.queued_at),
            one_line(&message.playbook, 30),
            one_line(&receiver, 36),
            entry.attempts,
            detail
        )?;
    }
    Ok(Outcome::Success)
}

fn show(out: &mut impl Write, config: &Config, store: &Store, id: &str) -> Result<Outcome> {
    let entry = store.outbox_entry(id)?.ok_or_else(|| anyhow!("message {id} is gone"))?;
    let message = &entry.message;
    writeln!(out, "id        {} (short {})", message.id, short_id(&message.id))?;
    writeln!(out, "state     {}", entry.state.as_str())?;
    writeln!(out, "playbook  {} (run {})", message.playbook, message.run_id)?;
    writeln!(out, "receiver  {} — {}", message.receiver, place(config, &message.receiver))?;
    writeln!(out, "subject   {}", one_line(&message.subject, 200))?;
    writeln!(out, "created   {} UTC", time(message.created))?;
    if entry.queued_at != message.created {
        writeln!(out, "requeued  {} UTC", time(entry.queued_at))?;
    }
    writeln!(out, "attempts  {}", entry.attempts)?;
    match entry.state {
        OutboxState::Pending => writeln!(out, "next      {} UTC", time(entry.next_attempt))?,
        OutboxState::Sent => writeln!(out, "sent      {} UTC", entry.sent_at.map(time).unwrap_or_default())?,
        OutboxState::Dead => writeln!(out, "dead      {} UTC", entry.dead_at.map(time).unwrap_or_default())?,
    }
    if let Some(error) = &entry.last_error {
        writeln!(out, "error     {}", one_line(error, 2000))?;
    }
    if let Some(answer) = &entry.answer {
        writeln!(out, "answer    {}", one_line(answer, 2000))?;
    }
    writeln!(out, "──── {} bytes", message.payload.len())?;
    out.write_all(&message.payload)?;
    if !message.payload.ends_with(b"\n") {
        writeln!(out)?;
    }
    Ok(Outcome::Success)
}

fn retry(
    out: &mut impl Write,
    config: &Config,
    store: &mut Store,
    ids: &[String],
    wait: Option<&str>,
) -> Result<Outcome> {
    if ids.is_empty() {
        writeln!(out, "no dead message to retry")?;
        return Ok(Outcome::Success);
    }
    let wait = delivery::wait_of(wait, config)?;
    // Delivering while another process delivers would send the same message twice: with the lock taken (the
    // daemon, or a run), re-queue only, and leave the sending to that process.
    let lock = lock_state(&config.state)?;
    let now = crate::schedule::system_now();
    for id in ids {
        store.retry_dead(id, now).with_context(|| format!("re-queueing {id}"))?;
    }
    writeln!(out, "re-queued {} message{}", ids.len(), if ids.len() == 1 { "" } else { "s" })?;
    if lock.is_none() {
        writeln!(
            out,
            "{} delivers them (huntbook outbox list shows how it went)",
            super::run::lock_holder(&config.state)
        )?;
        return Ok(Outcome::Success);
    }
    let delivered = delivery::deliver(config, store, wait)?;
    writeln!(out, "{}", delivery_line(&delivered))?;
    out.flush()?;
    for line in error_lines(&delivered, 5) {
        crate::say!("error: delivery: {line}");
    }
    Ok(if delivered.failed() { Outcome::Failed } else { Outcome::Success })
}
