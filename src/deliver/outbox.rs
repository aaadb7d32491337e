//! The outbox loop: sends queued messages receiver by receiver, each receiver's oldest first, and records what
//! became of each. The retry schedule lives here, apart from the sinks and from the classification of answers.
//!
//! - **Order.** A receiver's messages leave in the order they were queued. When one fails for now, the ones
//!   behind it wait for its next attempt instead of overtaking it; a message given up on does not hold the
//!   others back.
//! - **Pace.** A sink with a pace (a Teams webhook: one request a second by default) gets at most one request
//!   per pace, also when a backlog drains after an outage, so a server that comes back is not flooded.
//! - **Retries.** A failure for now is tried again after 30 s, doubling to an hour, each wait drawn between half
//!   and all of it (so that many messages do not retry in step), or after the server's `Retry-After`; once a message has been queued for `max_age` (48 h), its next failure makes it dead.
//! - **At least once.** A message is marked sent only after the server accepted it; a crash in between sends it
//!   again on the next pass, with the same bytes (and `Message-ID`).
//! - **No flood when the state file refuses writes.** A message delivered but not marked sent (a full disk) is
//!   remembered, not sent again: every pass first records those, and sends nothing while it cannot.
//!
//! Receivers are served at once, each by its own task; the store is shared behind a mutex.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, RngExt};

use super::{Delivery, Outgoing, Sink};
use crate::config::secret::Redactor;
use crate::failpoint;
use crate::graph::timer::Timer;
use crate::store::{MessageKind, OutboxEntry, Store, StoreError};

/// The most of a server's answer (with what huntbook says about it) kept with a message: an error page is not
/// worth keeping whole.
const KEPT_ANSWER: usize = 400;
/// The retry schedule.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// A message queued this long is given up on at its next failure.
    pub max_age: TimeDelta,
    /// The wait after the first failure; it doubles with each failure after that.
    pub first_backoff: Duration,
    /// The longest wait between two attempts, unless the server asks for more.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_age: TimeDelta::hours(48),
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` failures (1 for the first): `first_backoff · 2^(failures-1)`, at most
    /// `max_backoff`, drawn between half and all of it; or exactly the server's `asked` wait (`Retry-After`).
    pub fn wait(&self, failures: u32, asked: Option<Duration>, rng: &mut impl Rng) -> Duration {
        let doubling = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
        let full = self.first_backoff.saturating_mul(doubling).min(self.max_backoff);
        match asked {
            // The server knows when it will take the message again.
            Some(asked) => asked,
            None => full.mul_f64(rng.random_range(0.5..=1.0)),
        }
    }
}

/// What one delivery (one or more passes) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Delivered messages per receiver.
    pub delivered_to: BTreeMap<String, usize>,
    /// Left queued: their receiver has no sink in this process.
    pub waiting: usize,
    /// Failed attempts that will be tried again.
    pub retrying: usize,
    /// Given up on.
    pub dead: usize,
    /// The receivers of the messages given up on.
    pub dead_to: std::collections::BTreeSet<String>,
    /// Still queued at the end (waiting for a retry, their turn, or the pace), per receiver.
    pub queued: BTreeMap<String, usize>,
    /// The failures, in the order they happened: "playbook → receiver: error".
    pub errors: Vec<String>,
    /// Deliveries of earlier passes recorded now (the store had refused them).
    pub recorded_late: usize,
}

impl DeliveryReport {
    fn absorb(&mut self, other: DeliveryReport) {
        self.delivered += other.delivered;
        for (receiver, count) in other.delivered_to {
            *self.delivered_to.entry(receiver).or_default() += count;
        }
        self.waiting += other.waiting;
        self.retrying += other.retrying;
        self.dead += other.dead;
        self.dead_to.extend(other.dead_to);
        self.errors.extend(other.errors);
        self.recorded_late += other.recorded_late;
    }

    /// Whether anything was written to the store (a delivery, a retry or a death recorded).
    pub fn wrote(&self) -> bool {
        self.delivered + self.retrying + self.dead + self.recorded_late > 0
    }
}

/// How many messages of a receiver are read from the store at once.
const PAGE: usize = 64;

/// The sink of a receiver, or `None` when this process cannot deliver to it (its messages stay queued).
pub type SinkFor<'a> = dyn Fn(&str) -> Option<Arc<dyn Sink>> + Sync + 'a;

/// The delivery loop over one store.
pub struct Outbox<'a> {
    store: &'a Mutex<&'a mut Store>,
    sink_for: &'a SinkFor<'a>,
    timer: &'a dyn Timer,
    policy: RetryPolicy,
    /// Every answer and error is kept and shown only through it: a server may echo a webhook's signature.
    redactor: &'a Redactor,
    /// Draws the jitter of retry waits.
    rng: Mutex<rand_chacha::ChaCha8Rng>,
    /// When each paced receiver was last sent a request, across passes.
    last_request: Mutex<BTreeMap<String, DateTime<Utc>>>,
    /// Messages delivered but not yet marked sent (the store refused the write), by id, with the server's
    /// answer.
    unrecorded: Arc<Mutex<BTreeMap<String, String>>>,
}

impl<'a> Outbox<'a> {
    pub fn new(
        store: &'a Mutex<&'a mut Store>,
        sink_for: &'a SinkFor<'a>,
        timer: &'a dyn Timer,
        policy: RetryPolicy,
        redactor: &'a Redactor,
    ) -> Self {
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Self::with_seed(store, sink_for, timer, policy, redactor, seed)
    }

    /// The same, with the jitter drawn from `seed` (tests).
    pub fn with_seed(
        store: &'a Mutex<&'a mut Store>,
        sink_for: &'a SinkFor<'a>,
        timer: &'a dyn Timer,
        policy: RetryPolicy,
        redactor: &'a Redactor,
        seed: u64,
    ) -> Self {
        use rand::SeedableRng;
        Outbox {
            store,
            sink_for,
            timer,
            policy,
            redactor,
            rng: Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(seed)),
            last_request: Mutex::new(BTreeMap::new()),
            unrecorded: Arc::default(),
        }
    }

    /// The same, remembering the messages delivered but not marked sent in `unrecorded`, which outlives this
    /// outbox (the daemon keeps one across reloads).
    pub fn remembering(self, unrecorded: Arc<Mutex<BTreeMap<String, String>>>) -> Self {
        Outbox { unrecorded, ..self }
    }

    fn unrecorded(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.unrecorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the deliveries the store refused before; an error when it still refuses (nothing is sent then).
    fn record_unrecorded(&self) -> Result<usize, StoreError> {
        let waiting: Vec<(String, String)> = self.unrecorded().iter().map(|(id, a)| (id.clone(), a.clone())).collect();
        for (id, answer) in &waiting {
            tolerate(self.store().mark_sent(id, self.timer.now(), answer))?;
            self.unrecorded().remove(id);
        }
        Ok(waiting.len())
    }

    fn store(&self) -> std::sync::MutexGuard<'_, &'a mut Store> {
        self.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Delivers everything due, and goes on waiting — for retries and for the pace of paced sinks — as long as
    /// the wait ends by `until`: passes over every receiver, and between passes a sleep until the next message is
    /// due. With `until` = now, one pass that never waits. What is left stays queued.
    pub async fn deliver_until(&self, until: DateTime<Utc>) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        loop {
            report.absorb(self.pass(until).await?);
            let heads = self.store().pending_heads()?;
            let now = self.timer.now();
            let next = heads
                .iter()
                .filter(|head| (self.sink_for)(&head.receiver).is_some())
                .map(|head| head.next_attempt.max(now))
                .min();
            match next {
                Some(at) if at <= until && at > now => self.timer.sleep((at - now).to_std().unwrap_or_default()).await,
                // Nothing due before `until`, or a receiver cut short by it: the rest stays queued.
                _ => {
                    report.queued = heads.into_iter().map(|head| (head.receiver, head.pending)).collect();
                    return Ok(report);
                }
            }
        }
    }

    /// When the next queued message this process can deliver is due (maybe already), or `None` when none is
    /// queued.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let heads = self.store().pending_heads()?;
        Ok(heads.iter().filter(|head| (self.sink_for)(&head.receiver).is_some()).map(|head| head.next_attempt).min())
    }

    /// One pass: every receiver's due messages, receivers at once.
    async fn pass(&self, until: DateTime<Utc>) -> Result<DeliveryReport, StoreError> {
        let recorded = self.record_unrecorded()?;
        let heads = self.store().pending_heads()?;
        let mut report = DeliveryReport { recorded_late: recorded, ..DeliveryReport::default() };
        let mut tasks = Vec::new();
        for head in heads {
            match (self.sink_for)(&head.receiver) {
                Some(sink) => tasks.push(self.drain(head.receiver, sink, until)),
                None => report.waiting += head.pending,
            }
        }
        for result in futures_util::future::join_all(tasks).await {
            report.absorb(result?);
        }
        Ok(report)
    }

    /// Sends one receiver's due messages in order, at the sink's pace, until one fails for now, none is due, or
    /// `until` comes.
    async fn drain(
        &self,
        receiver: String,
        sink: Arc<dyn Sink>,
        until: DateTime<Utc>,
    ) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let mut cursor: Option<(DateTime<Utc>, String)> = None;
        let last_sent = |this: &Self| {
            this.last_request.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&receiver).copied()
        };
        loop {
            let page = {
                let store = self.store();
                store.pending_for(&receiver, cursor.as_ref().map(|(t, id)| (*t, id.as_str())), PAGE)?
            };
            let Some(last) = page.last() else { return Ok(report) };
            cursor = Some((last.message.created, last.message.id.clone()));
            for entry in page {
                if self.unrecorded().contains_key(&entry.message.id) {
                    continue;
                }
                if entry.next_attempt > self.timer.now() {
                    // Not due: the messages behind it wait their turn.
                    return Ok(report);
                }
                if let (Some(pace), Some(last)) = (sink.pace(), last_sent(self)) {
                    let ready = last + TimeDelta::from_std(pace).unwrap_or(TimeDelta::MAX);
                    if ready > until {
                        return Ok(report);
                    }
                    if let Ok(wait) = (ready - self.timer.now()).to_std() {
                        self.timer.sleep(wait).await;
                    }
                }
                self.last_request
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(receiver.clone(), self.timer.now());
                let delivery = {
                    let message = &entry.message;
                    let outgoing = Outgoing {
                        id: &message.id,
                        playbook: &message.playbook,
                        receiver: &message.receiver,
                        created: message.created,
                        extension: extension(message.kind),
                        payload: &message.payload,
                    };
                    sink.deliver(&outgoing).await
                };
                failpoint::hit("after-delivery");
                if !self.record(&entry, delivery, &mut report)? {
                    return Ok(report);
                }
            }
        }
    }

    /// Records what became of one attempt; false when the receiver must stop for now (a failure to retry).
    fn record(&self, entry: &OutboxEntry, delivery: Delivery, report: &mut DeliveryReport) -> Result<bool, StoreError> {
        let message = &entry.message;
        // What a server said is kept and shown: redacted whole first, then made one line and cut, and inert (its
        // escape sequences and bidi controls shown by their code points).
        let shown = |text: &str| {
            crate::render::visible::made_visible(&self.redactor.shown(text, KEPT_ANSWER), &[]).into_owned()
        };
        let delivery = match delivery {
            Delivery::Delivered { answer } => Delivery::Delivered { answer: shown(&answer) },
            Delivery::RetryLater { error, after } => Delivery::RetryLater { error: shown(&error), after },
            Delivery::GiveUp { error } => Delivery::GiveUp { error: shown(&error) },
        };
        let now = self.timer.now();
        let failed = |error: &str| format!("{} → {}: {error}", message.playbook, message.receiver);
        let outcome = match delivery {
            Delivery::Delivered { answer } => {
                let marked = self.store().mark_sent(&message.id, now, &answer);
                if let Err(error) = &marked
                    && !matches!(error, StoreError::WrongState { .. } | StoreError::NotFound { .. })
                {
                    // Delivered, but not recorded: not sent again while the store refuses the write.
                    self.unrecorded().insert(message.id.clone(), answer.clone());
                }
                crate::telemetry::delivery(&message.receiver, "delivered");
                if tolerate(marked)? {
                    report.delivered += 1;
                    *report.delivered_to.entry(message.receiver.clone()).or_default() += 1;
                }
                true
            }
            Delivery::RetryLater { error, after } => {
                if now - entry.queued_at >= self.policy.max_age {
                    let hours = self.policy.max_age.num_hours();
                    let error = format!("{error} (still failing after {hours} h in the queue: given up)");
                    crate::telemetry::delivery(&message.receiver, "dead");
                    tolerate(self.store().mark_dead(&message.id, &error, now))?;
                    report.dead += 1;
                    report.dead_to.insert(message.receiver.clone());
                    report.errors.push(failed(&error));
                    true
                } else {
                    let wait = {
                        let mut rng = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        self.policy.wait(entry.attempts + 1, after, &mut *rng)
                    };
                    let next = now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1));
                    crate::telemetry::delivery(&message.receiver, "retry");
                    tolerate(self.store().mark_retry(&message.id, &error, next))?;
                    report.retrying += 1;
                    report.errors.push(failed(&error));
                    false
                }
            }
            Delivery::GiveUp { error } => {
                crate::telemetry::delivery(&message.receiver, "dead");
                tolerate(self.store().mark_dead(&message.id, &error, now))?;
                report.dead += 1;
                report.dead_to.insert(message.receiver.clone());
                report.errors.push(failed(&error));
                true
            }
        };
        Ok(outcome)
    }
}

/// A message another process moved meanwhile (`outbox drop`, `outbox retry`) is its business: false, no error.
fn tolerate(result: Result<(), StoreError>) -> Result<bool, StoreError> {
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::WrongState { .. } | StoreError::NotFound { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

fn extension(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Email => "eml",
        MessageKind::Teams | MessageKind::File => "json",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn waits_double_with_jitter_up_to_an_hour_unless_the_server_says_when() {
        let policy = RetryPolicy::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..100 {
            let first = policy.wait(1, None, &mut rng);
            assert!(first >= Duration::from_secs(15) && first <= Duration::from_secs(30), "{first:?}");
            let fourth = policy.wait(4, None, &mut rng);
            assert!(fourth >= Duration::from_secs(120) && fourth <= Duration::from_secs(240), "{fourth:?}");
            let late = policy.wait(40, None, &mut rng);
            assert!(late >= Duration::from_secs(1800) && late <= Duration::from_secs(3600), "{late:?}");
            assert_eq!(policy.wait(1, Some(Duration::from_secs(120)), &mut rng), Duration::from_secs(120));
            assert_eq!(policy.wait(3, Some(Duration::from_secs(1)), &mut rng), Duration::from_secs(1));
        }
        let draws: std::collections::BTreeSet<Duration> = (0..20).map(|_| policy.wait(2, None, &mut rng)).collect();
        assert!(draws.len() > 10, "the waits are spread, not in step: {draws:?}");
    }
}
