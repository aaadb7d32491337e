//! Delivery: a `Sink` takes one queued message and says what became of it — delivered, to be retried
//! later, or to give up on. Sinks know messages, not playbooks; the outbox loop that drives them, and the
//! retry schedule, are apart from the sending code (`outbox`).

pub mod file;
pub mod outbox;

use chrono::{DateTime, Utc};

/// A queued message as a sink sees it: its id (stable across retries), where it came from, and the exact
/// bytes to deliver.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    pub id: &'a str,
    pub playbook: &'a str,
    pub receiver: &'a str,
    pub created: DateTime<Utc>,
    /// `eml` for an e-mail, `json` for a Teams payload or an archived message.
    pub extension: &'a str,
    pub payload: &'a [u8],
}

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted; the server's answer (or the file written) is recorded.
    Delivered { answer: String },
    /// A transient failure: try again later (`after`, when the server said when).
    RetryLater { error: String, after: Option<std::time::Duration> },
    /// A permanent failure: the message goes to the dead letters with this reason.
    GiveUp { error: String },
}

pub trait Sink: Send + Sync {
    fn deliver(&self, message: &Outgoing) -> Delivery;
    /// Where it delivers, for logs and `runs` (never a secret).
    fn describe(&self) -> String;
}
