//! Delivery: a `Sink` takes one queued message and says what became of it — delivered, to be retried later,
//! or to give up on. Sinks know messages, not playbooks. What an answer means is decided in one place per
//! kind of server (`classify`), apart from the sending code; when to try again, in what order and how fast is
//! the outbox loop's business (`outbox`).
//!
//! | sink | sends | success |
//! |---|---|---|
//! | `file` | one file per message | the file is on disk |
//! | `smtp` | the stored MIME, as is, through a pooled SMTP connection | 250 after DATA |
//! | `graph_mail` | the stored MIME as a Graph `sendMail` JSON request | 202 |
//! | `teams` | the stored card envelope to a Teams Workflows webhook | 202 (any 2xx) |

pub mod classify;
pub mod file;
pub mod graph_mail;
pub mod mime;
pub mod outbox;
pub mod sinks;
pub mod smtp;
pub mod teams;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

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
    RetryLater { error: String, after: Option<Duration> },
    /// A permanent failure: the message goes to the dead letters with this reason.
    GiveUp { error: String },
}

pub trait Sink: Send + Sync {
    /// One attempt to deliver `message`. Never panics and never returns early without a verdict.
    fn deliver<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Delivery>;

    /// Where it delivers, for logs, errors and `outbox list` (never a secret: a webhook shows as its host and a
    /// short hash).
    fn describe(&self) -> String;

    /// The least time between two requests to this sink (a Teams webhook's pace); `None` for no pacing.
    fn pace(&self) -> Option<Duration> {
        None
    }
}
