//! Delivering the outbox from a command: `huntbook run` after its playbooks, `huntbook outbox retry`. One
//! small runtime for the network sinks; the retry schedule and the order are `deliver::outbox`'s.

use std::sync::Mutex;

use anyhow::{Context, Result, anyhow};
use chrono::TimeDelta;

use crate::config::{Config, EmailVia, Receiver, TeamsTarget};
use crate::deliver::outbox::{DeliveryReport, Outbox, RetryPolicy};
use crate::deliver::sinks::Sinks;
use crate::deliver::teams::webhook_client;
use crate::graph::Environment;
use crate::store::Store;

/// What a delivery did, and how to say it.
pub struct Delivered {
    pub report: DeliveryReport,
    /// Receivers whose sink could not be set up, and why (their messages stay queued).
    pub problems: Vec<(String, String)>,
    /// Where each receiver delivers (never a secret).
    pub places: std::collections::BTreeMap<String, String>,
}

impl Delivered {
    /// Whether something failed that a person should look at: a message given up on, a failure still waiting
    /// for its retry, or a receiver that cannot send at all.
    pub fn failed(&self) -> bool {
        self.report.dead > 0
            || !self.problems.is_empty()
            || (self.report.retrying > 0 && !self.report.queued.is_empty())
    }
}

/// How long to keep delivering: `--wait` when given, else `delivery.wait`.
pub fn wait_of(flag: Option<&str>, config: &Config) -> Result<TimeDelta> {
    match flag {
        Some(text) => crate::config::duration::parse_duration(text)
            .map_err(|e| super::usage(format!("--wait '{text}': {}; {}", e.message, e.hint))),
        None => Ok(config.delivery.wait),
    }
}

/// Delivers what is due, going on for up to `wait` (retries and paced sends due within it).
pub fn deliver(config: &Config, store: &mut Store, wait: TimeDelta) -> Result<Delivered> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the delivery runtime")?;
    let _entered = runtime.enter();
    let environment = Environment { redactor: config.redactor(), ..Environment::system().map_err(|e| anyhow!(e))? };
    let webhooks = webhook_client().map_err(|e| anyhow!(e))?;
    let sinks = Sinks::from_config(config, &environment, &webhooks);
    let store = Mutex::new(store);
    let sink_for = |receiver: &str| sinks.get(receiver);
    let policy = RetryPolicy { max_age: config.delivery.max_age, ..RetryPolicy::default() };
    let timer = environment.timer.as_ref();
    let redactor = config.redactor();
    let outbox = Outbox::new(&store, &sink_for, timer, policy, &redactor);
    let until = timer.now() + wait;
    let report = runtime.block_on(outbox.deliver_until(until)).context("delivering the outbox")?;
    let places = config.receivers.keys().map(|name| (name.clone(), place(config, name))).collect();
    Ok(Delivered { report, problems: sinks.problems(), places })
}

/// Where a receiver delivers, as people read it, from the configuration alone: a directory relative to here,
/// `SMTP host:port`, `Graph sendMail as FROM`, `Teams webhook host#hash` (never the URL: it is a secret).
pub fn place(config: &Config, receiver: &str) -> String {
    match config.receivers.get(receiver) {
        Some(Receiver::Email(email)) => match &email.via {
            EmailVia::File(dir) => shown_path(dir),
            EmailVia::Smtp => config.smtp.as_ref().map_or("SMTP".into(), |s| format!("SMTP {}:{}", s.host, s.port)),
            EmailVia::Graph => format!("Graph sendMail as {}", email.from),
        },
        Some(Receiver::Teams(teams)) => match &teams.target {
            TeamsTarget::Directory(dir) => shown_path(dir),
            TeamsTarget::Webhook(url) => format!("Teams webhook {}", url.redacted_url()),
        },
        Some(Receiver::File(file)) => shown_path(&file.dir),
        None => format!("{receiver} (no longer in the configuration)"),
    }
}

/// A path as the user would type it: relative to the current directory when it is inside it.
fn shown_path(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|here| path.strip_prefix(here).ok().map(|relative| relative.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}

/// The summary line: "delivered 6 messages (5 to outbox/soc-mail, 1 to SMTP smtp.contoso.com:587); …".
pub fn delivery_line(delivered: &Delivered) -> String {
    let report = &delivered.report;
    let mut line = format!("delivered {} message{}", report.delivered, plural(report.delivered));
    // Receivers that deliver to one place (two e-mail receivers through one SMTP server) are one place.
    let mut by_place: Vec<(String, usize, Vec<&str>)> = Vec::new();
    for (receiver, count) in &report.delivered_to {
        let place = delivered.places.get(receiver).cloned().unwrap_or_else(|| receiver.clone());
        match by_place.iter_mut().find(|(known, _, _)| *known == place) {
            Some((_, total, receivers)) => {
                *total += count;
                receivers.push(receiver);
            }
            None => by_place.push((place, *count, vec![receiver.as_str()])),
        }
    }
    let places: Vec<String> = by_place
        .iter()
        .map(|(place, count, receivers)| match receivers.as_slice() {
            [_] => format!("{count} to {place}"),
            several => format!("{count} to {place} ({})", several.join(", ")),
        })
        .collect();
    if !places.is_empty() {
        line.push_str(&format!(" ({})", places.join(", ")));
    }
    let mut parts = vec![line];
    if report.dead > 0 {
        parts.push(format!("{} given up on (huntbook outbox list --dead)", report.dead));
    }
    if !report.queued.is_empty() {
        let queued: Vec<String> =
            report.queued.iter().map(|(receiver, count)| format!("{count} for {receiver}")).collect();
        parts.push(format!("still queued: {} (sent by the next run; huntbook outbox list)", queued.join(", ")));
    }
    parts.join("; ")
}

/// The failures worth telling, one line each, at most `limit` of them and a count of the rest.
pub fn error_lines(delivered: &Delivered, limit: usize) -> Vec<String> {
    let mut lines: Vec<String> = delivered
        .problems
        .iter()
        .map(|(receiver, problem)| format!("receiver {receiver} cannot send: {problem}"))
        .collect();
    let errors = &delivered.report.errors;
    lines.extend(errors.iter().take(limit).cloned());
    if errors.len() > limit {
        lines.push(format!("and {} more failed attempts (huntbook outbox list)", errors.len() - limit));
    }
    lines
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::{Delivered, delivery_line};

    #[test]
    fn receivers_that_deliver_to_one_place_are_named_once() {
        let mut delivered = Delivered { report: Default::default(), problems: Vec::new(), places: Default::default() };
        for (receiver, count, place) in [
            ("soc-digest", 2, "SMTP smtp.contoso.example:587"),
            ("soc-mail", 1, "SMTP smtp.contoso.example:587"),
            ("soc-teams", 4, "Teams webhook prod.example#1a2b3c4d"),
        ] {
            delivered.report.delivered += count;
            delivered.report.delivered_to.insert(receiver.to_string(), count);
            delivered.places.insert(receiver.to_string(), place.to_string());
        }
        assert_eq!(
            delivery_line(&delivered),
            "delivered 7 messages (3 to SMTP smtp.contoso.example:587 (soc-digest, soc-mail), 4 to Teams webhook \
             prod.example#1a2b3c4d)"
        );
    }
}
