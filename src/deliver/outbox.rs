//! The outbox loop: takes the messages that are due, oldest first, hands each to its receiver's sink, and
//! records what became of it. A message whose receiver has no sink here (SMTP and webhooks come with the
//! network sinks) stays queued, as does one the sink could not deliver yet; a permanent failure goes to the
//! dead letters with its reason. The retry schedule lives here, apart from the sinks.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Delivery, Outgoing, Sink};
use crate::failpoint;
use crate::store::{MessageKind, OutboxEntry, Store, StoreError};

/// What one pass of the loop did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Delivered messages per receiver.
    pub delivered_to: std::collections::BTreeMap<String, usize>,
    /// Left queued: their receiver has no sink in this process.
    pub waiting: usize,
    /// Failed for now; tried again later.
    pub retrying: usize,
    /// Given up on.
    pub dead: usize,
    /// The first failure, for the run summary.
    pub first_error: Option<String>,
}

/// When to try again after `attempts` failures: 30 s, doubling, at most an hour — or what the server asked.
pub fn next_attempt(now: DateTime<Utc>, attempts: u32, asked: Option<Duration>) -> DateTime<Utc> {
    let backoff = TimeDelta::seconds(30 * 2i64.pow(attempts.min(7))).min(TimeDelta::hours(1));
    let wait =
        asked.and_then(|d| TimeDelta::from_std(d).ok()).map_or(backoff, |asked| asked.max(TimeDelta::seconds(1)));
    now + wait
}

fn extension(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Email => "eml",
        MessageKind::Teams | MessageKind::File => "json",
    }
}

/// Delivers every due message once. `sink_for` gives the sink of a receiver, or `None` when this process cannot
/// deliver to it.
pub fn deliver_due(
    store: &mut Store,
    sink_for: &dyn Fn(&str) -> Option<Box<dyn Sink>>,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    let due: Vec<OutboxEntry> = store.due_messages(now, usize::MAX)?;
    for entry in due {
        let message = &entry.message;
        let Some(sink) = sink_for(&message.receiver) else {
            report.waiting += 1;
            continue;
        };
        let outgoing = Outgoing {
            id: &message.id,
            playbook: &message.playbook,
            receiver: &message.receiver,
            created: message.created,
            extension: extension(message.kind),
            payload: &message.payload,
        };
        let delivery = sink.deliver(&outgoing);
        failpoint::hit("after-delivery");
        match delivery {
            Delivery::Delivered { answer } => {
                store.mark_sent(&message.id, now, &answer)?;
                report.delivered += 1;
                *report.delivered_to.entry(message.receiver.clone()).or_default() += 1;
            }
            Delivery::RetryLater { error, after } => {
                store.mark_retry(&message.id, &error, next_attempt(now, entry.attempts, after))?;
                report.retrying += 1;
                report.first_error.get_or_insert(format!("{} → {}: {error}", message.playbook, message.receiver));
            }
            Delivery::GiveUp { error } => {
                store.mark_dead(&message.id, &error, now)?;
                report.dead += 1;
                report.first_error.get_or_insert(format!("{} → {}: {error}", message.playbook, message.receiver));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour_unless_the_server_says_when() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z").expect("valid").with_timezone(&Utc);
        assert_eq!(next_attempt(now, 0, None) - now, TimeDelta::seconds(30));
        assert_eq!(next_attempt(now, 3, None) - now, TimeDelta::seconds(240));
        assert_eq!(next_attempt(now, 20, None) - now, TimeDelta::hours(1));
        assert_eq!(next_attempt(now, 0, Some(Duration::from_secs(120))) - now, TimeDelta::seconds(120));
    }
}
