//! Time for the Graph client: what time it is (token expiry, `Retry-After` dates) and waiting (backoff, the
//! call rate). Injected, so that tests see every wait the client makes without waiting for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub trait Timer: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    fn sleep(&self, wait: Duration) -> Sleep<'_>;
}

/// The real clock, and tokio's sleep.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemTimer;

impl Timer for SystemTimer {
    fn now(&self) -> DateTime<Utc> {
        crate::schedule::system_now()
    }

    fn sleep(&self, wait: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told to, or when someone sleeps on it: a sleep returns at once and moves the
/// clock forward by its length. Every wait is recorded, in order. For tests and benchmarks.
#[derive(Debug)]
pub struct VirtualTimer {
    state: Mutex<VirtualState>,
}

#[derive(Debug)]
struct VirtualState {
    now: DateTime<Utc>,
    waits: Vec<Duration>,
}

impl VirtualTimer {
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualTimer { state: Mutex::new(VirtualState { now: start, waits: Vec::new() }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, VirtualState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the clock forward without anyone sleeping (time passing between two runs).
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        state.now += chrono::TimeDelta::from_std(by).unwrap_or(chrono::TimeDelta::MAX);
    }

    /// Every sleep so far, in the order they began.
    pub fn waits(&self) -> Vec<Duration> {
        self.state().waits.clone()
    }
}

impl Timer for VirtualTimer {
    fn now(&self) -> DateTime<Utc> {
        self.state().now
    }

    fn sleep(&self, wait: Duration) -> Sleep<'_> {
        {
            let mut state = self.state();
            state.waits.push(wait);
            state.now += chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::MAX);
        }
        // Let other tasks run, as a real sleep would.
        Box::pin(tokio::task::yield_now())
    }
}
