//! When each playbook fires next: a queue ordered by time, kept by the scheduler loop. Pure — no clock, no store:
//! the loop tells it what time it is and what the store says, so that its rules are tested without waiting.
//!
//! A playbook's fire time is what `runner::due_at` says from its history (its next slot, a retry after a
//! failure, at once while catching up), plus a small offset of its own: playbooks due at the same instant start
//! spread over up to `jitter` (never more than a tenth of their interval), each always at the same offset for
//! a given seed, so that a hundred hourly playbooks do not call Graph in the same second.

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, TimeDelta, Utc};

/// A playbook taken off the queue to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fire {
    pub playbook: String,
    /// When it should have started (its slot plus its offset, or when it was added if that was later).
    pub scheduled: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Entry {
    /// Its place in the queue; `None` while it runs (or after it was taken off).
    queued: Option<DateTime<Utc>>,
    /// When it was put there: a fire overdue at that moment (after downtime, while catching up) is late only
    /// from then on.
    added: DateTime<Utc>,
    offset: TimeDelta,
}

#[derive(Debug)]
pub struct Plan {
    seed: u64,
    jitter: TimeDelta,
    entries: HashMap<String, Entry>,
    queue: BTreeSet<(DateTime<Utc>, String)>,
}

impl Plan {
    pub fn new(seed: u64, jitter: TimeDelta) -> Plan {
        Plan { seed, jitter: jitter.max(TimeDelta::zero()), entries: HashMap::new(), queue: BTreeSet::new() }
    }

    /// The fixed offset of a playbook within the jitter: from a hash of the seed and its id.
    fn offset(&self, playbook: &str, interval: TimeDelta) -> TimeDelta {
        let spread = self.jitter.min(interval / 10).num_milliseconds();
        if spread <= 0 {
            return TimeDelta::zero();
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.seed.hash(&mut hasher);
        playbook.hash(&mut hasher);
        TimeDelta::milliseconds((hasher.finish() % spread as u64) as i64)
    }

    /// Puts a playbook in the queue at `due` (`None`: it never ran, so now), plus its offset when `spread` (the
    /// playbook's interval) is given; it replaces any earlier place.
    ///
    /// Spread the first fire of every playbook and each fire of a cron (whose slots are the same wall-clock
    /// times for everyone), not the next fire of an `every`: that counts from the previous start, which carries
    /// the offset already — adding it again would push the playbook later by its offset at every run.
    pub fn schedule(
        &mut self,
        playbook: &str,
        spread: Option<TimeDelta>,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        let offset = spread.map_or(TimeDelta::zero(), |interval| self.offset(playbook, interval));
        let at = due.unwrap_or(now) + offset;
        let entry = self.entries.entry(playbook.to_string()).or_insert(Entry { queued: None, added: now, offset });
        entry.offset = offset;
        entry.added = now;
        if let Some(previous) = entry.queued.replace(at) {
            self.queue.remove(&(previous, playbook.to_string()));
        }
        self.queue.insert((at, playbook.to_string()));
    }

    /// Forgets a playbook (it was removed by a reload). A run in flight finishes; it is not queued again.
    pub fn remove(&mut self, playbook: &str) {
        if let Some(entry) = self.entries.remove(playbook)
            && let Some(at) = entry.queued
        {
            self.queue.remove(&(at, playbook.to_string()));
        }
    }

    /// The playbooks it knows.
    pub fn playbooks(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Takes the earliest playbook due by `now` off the queue.
    pub fn pop_due(&mut self, now: DateTime<Utc>) -> Option<Fire> {
        let first = self.queue.first()?.clone();
        if first.0 > now {
            return None;
        }
        self.queue.remove(&first);
        let (at, playbook) = first;
        let mut scheduled = at;
        if let Some(entry) = self.entries.get_mut(&playbook) {
            entry.queued = None;
            scheduled = at.max(entry.added);
        }
        Some(Fire { playbook, scheduled })
    }

    /// When the earliest queued playbook is due.
    pub fn next(&self) -> Option<DateTime<Utc>> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// When a playbook fires next (`None` while it runs, or when it is unknown).
    pub fn next_of(&self, playbook: &str) -> Option<DateTime<Utc>> {
        self.entries.get(playbook).and_then(|entry| entry.queued)
    }

    /// Whether a playbook is known (and so should be queued again when its run ends).
    pub fn contains(&self, playbook: &str) -> bool {
        self.entries.contains_key(playbook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
    }

    #[test]
    fn playbooks_come_off_the_queue_in_time_order_and_only_when_due() {
        let mut plan = Plan::new(1, TimeDelta::zero());
        let now = at("2026-12-02T10:00:00Z");
        plan.schedule("b", Some(TimeDelta::hours(1)), Some(at("2026-12-02T10:30:00Z")), now);
        plan.schedule("a", Some(TimeDelta::hours(1)), Some(at("2026-12-02T10:15:00Z")), now);
        plan.schedule("new", Some(TimeDelta::hours(1)), None, now);
        assert_eq!(plan.pop_due(now), Some(Fire { playbook: "new".into(), scheduled: now }));
        assert_eq!(plan.pop_due(now), None);
        assert_eq!(plan.next(), Some(at("2026-12-02T10:15:00Z")));
        let later = at("2026-12-02T11:00:00Z");
        assert_eq!(plan.pop_due(later).map(|f| f.playbook), Some("a".into()));
        assert_eq!(plan.pop_due(later).map(|f| f.playbook), Some("b".into()));
        assert_eq!(plan.pop_due(later), None);
        // Overdue when queued (after downtime): late only from the moment it was queued.
        plan.schedule("overdue", None, Some(at("2026-12-01T10:00:00Z")), later);
        assert_eq!(plan.pop_due(later), Some(Fire { playbook: "overdue".into(), scheduled: later }));
        // Scheduling again replaces the place; removing forgets it.
        plan.schedule("a", Some(TimeDelta::hours(1)), Some(at("2026-12-02T12:00:00Z")), later);
        plan.schedule("a", Some(TimeDelta::hours(1)), Some(at("2026-12-02T11:30:00Z")), later);
        assert_eq!(plan.next_of("a"), Some(at("2026-12-02T11:30:00Z")));
        plan.remove("a");
        assert_eq!(plan.next(), None);
        assert!(!plan.contains("a") && plan.contains("b"));
        // Without a spread, exactly at its time.
        let mut plain = Plan::new(1, TimeDelta::seconds(10));
        plain.schedule("every", None, Some(at("2026-12-02T10:01:00Z")), now);
        assert_eq!(plain.next(), Some(at("2026-12-02T10:01:00Z")));
    }

    #[test]
    fn playbooks_due_at_one_instant_are_spread_by_a_seeded_jitter_within_a_tenth_of_their_interval() {
        let now = at("2026-12-02T10:00:00Z");
        let mut plan = Plan::new(7, TimeDelta::seconds(10));
        for index in 0..1000 {
            plan.schedule(&format!("hourly-{index}"), Some(TimeDelta::hours(1)), Some(now), now);
        }
        let mut offsets = Vec::new();
        while let Some(fire) = plan.pop_due(now + TimeDelta::hours(1)) {
            offsets.push(fire.scheduled - now);
        }
        assert_eq!(offsets.len(), 1000);
        assert!(offsets.iter().all(|o| *o >= TimeDelta::zero() && *o < TimeDelta::seconds(10)));
        // Spread over the whole jitter: every second of it has some.
        let seconds: BTreeSet<i64> = offsets.iter().map(|o| o.num_seconds()).collect();
        assert_eq!(seconds.len(), 10, "{seconds:?}");
        // The same seed gives the same offsets; a minute playbook is spread over at most 6 s.
        let mut again = Plan::new(7, TimeDelta::seconds(10));
        again.schedule("hourly-3", Some(TimeDelta::hours(1)), Some(now), now);
        let mut first = Plan::new(7, TimeDelta::seconds(10));
        first.schedule("hourly-3", Some(TimeDelta::hours(1)), Some(now), now);
        assert_eq!(again.next(), first.next());
        let mut minute = Plan::new(7, TimeDelta::seconds(10));
        for index in 0..100 {
            minute.schedule(&format!("m-{index}"), Some(TimeDelta::minutes(1)), Some(now), now);
        }
        while let Some(fire) = minute.pop_due(now + TimeDelta::hours(1)) {
            assert!(fire.scheduled - now < TimeDelta::seconds(6));
        }
    }
}
