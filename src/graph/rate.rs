//! Per tenant limits on hunting calls: at most N calls in any 60 seconds, and at most M running at once. Both
//! are shared by every playbook of the tenant.
//!
//! The call rate is a token bucket whose tokens come back one by one, each exactly a minute after it was
//! spent (a sliding-window log). A bucket refilled at a steady N per minute lets 2N calls through in some
//! minute — a full bucket spent at once, then the refill — which is exactly what gets a tenant throttled;
//! this one never lets more than N through in any 60-second span.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use super::timer::Timer;

const SPAN: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug)]
pub struct CallRate {
    per_minute: usize,
    /// When each of the last `per_minute` calls was let through, oldest first.
    recent: Mutex<VecDeque<DateTime<Utc>>>,
}

impl CallRate {
    pub fn new(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1) as usize;
        CallRate { per_minute, recent: Mutex::new(VecDeque::with_capacity(per_minute)) }
    }

    pub fn per_minute(&self) -> usize {
        self.per_minute
    }

    /// Waits until one more call fits in the last 60 seconds, and counts it. Returns when it was let through.
    pub async fn admit(&self, timer: &dyn Timer) -> DateTime<Utc> {
        loop {
            let wait = {
                let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = timer.now();
                while recent.front().is_some_and(|at| *at + SPAN <= now) {
                    recent.pop_front();
                }
                if recent.len() < self.per_minute {
                    recent.push_back(now);
                    return now;
                }
                // Full: the oldest call leaves the window first.
                recent.front().map_or(TimeDelta::zero(), |oldest| *oldest + SPAN - now)
            };
            timer.sleep(wait.to_std().unwrap_or_default()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::timer::VirtualTimer;

    #[tokio::test]
    async fn never_more_than_the_rate_in_any_minute() {
        let start = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").expect("valid").with_timezone(&Utc);
        let timer = VirtualTimer::new(start);
        let rate = CallRate::new(3);
        let mut admitted = Vec::new();
        for _ in 0..10 {
            admitted.push(rate.admit(&timer).await);
        }
        for (i, at) in admitted.iter().enumerate() {
            let in_window = admitted[..=i].iter().filter(|earlier| *at - **earlier < SPAN).count();
            assert!(in_window <= 3, "call {i} at {at} has {in_window} calls in its minute");
        }
        // Three at once, then one each time a slot comes back.
        assert_eq!(admitted[2], start);
        assert_eq!(admitted[3], start + SPAN);
        assert_eq!(admitted[9], start + SPAN * 3);
    }
}
