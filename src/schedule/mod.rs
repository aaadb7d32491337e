//! Time for playbooks: the clock (injected, so tests pin it), the window a run covers, and when a schedule
//! fires next. A run covers `[start, end)`: `end` is now minus the ingestion delay; `start` is the previous
//! end minus the overlap (late events), or `end - first_lookback` the first time; never more than 30 days
//! back, which is all Graph keeps. Pure functions of their inputs: no clock is read here.

use chrono::{DateTime, TimeDelta, Utc};

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        system_now()
    }
}

/// The environment variable that sets the time the process starts at (RFC 3339), from which the clock then
/// runs as usual: for tests of the real binary and for replaying what a run would have done at a given moment.
pub const NOW_VARIABLE: &str = "HUNTBOOK_NOW";

/// How far `HUNTBOOK_NOW` moves the clock; zero when it is not set.
static OFFSET: std::sync::OnceLock<TimeDelta> = std::sync::OnceLock::new();

/// Reads `HUNTBOOK_NOW` once, at start; an error names the variable and what it holds.
pub fn set_clock_from_environment() -> Result<(), String> {
    let offset = match std::env::var(NOW_VARIABLE) {
        Err(_) => TimeDelta::zero(),
        Ok(text) => {
            let start = DateTime::parse_from_rfc3339(&text).map_err(|_| {
                format!("{NOW_VARIABLE}='{text}' is not a time: use RFC 3339, such as 2026-11-20T12:00:00Z")
            })?;
            start.with_timezone(&Utc) - Utc::now()
        }
    };
    let _ = OFFSET.set(offset);
    Ok(())
}

/// What time it is for huntbook: the system's clock, moved by `HUNTBOOK_NOW` when it is set. Every reading of
/// the real time (runs, the outbox, tokens) goes through here, so that they all agree.
pub fn system_now() -> DateTime<Utc> {
    Utc::now() + OFFSET.get().copied().unwrap_or_default()
}

/// A clock that says what it is told (tests, `huntbook test`, `--now`).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// How far back any window reaches: the data Graph keeps.
pub const MAX_LOOKBACK: TimeDelta = TimeDelta::days(30);

/// The time a run covers, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// `2026-11-19T11:00:00Z/2026-11-20T11:55:00Z`, the ISO 8601 interval Graph's `Timespan` takes.
    pub fn iso_interval(&self) -> String {
        format!("{}/{}", self.start.format("%Y-%m-%dT%H:%M:%SZ"), self.end.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// What decides a playbook's windows (from its `schedule:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowRules {
    /// The time between runs (`every`, or the cron's period).
    pub interval: TimeDelta,
    /// The first window's length; default one interval.
    pub first_lookback: Option<TimeDelta>,
    /// How much of the previous window is read again, for events that arrived late.
    pub overlap: TimeDelta,
    /// Ingestion delay: a window ends this long before now.
    pub delay: TimeDelta,
    /// After downtime, the longest stretch of new time one window covers (never less than `interval`): the
    /// missed time is caught up in order, in windows of at most this, so that no Graph call has to return days of
    /// events at once (its cap is 100,000 rows). `None`: one window up to now.
    pub catch_up: Option<TimeDelta>,
    /// `lookback:` each window is the last this much before its end; after downtime each missed fire is
    /// evaluated in order with its own look-back (within [`lookback_catch_up_span`]).
    pub lookback: Option<TimeDelta>,
}

/// How far back missed fires of a `lookback:` playbook are still evaluated after downtime: one day, and at most
/// 96 evaluations (an hourly rule: a day; every 15 minutes: a day; every 5 minutes: 8 hours). Each evaluation
/// is one hunting call; 96 of them are about two minutes of a tenant's Graph quota (45 calls a minute). Older
/// missed fires are skipped — said in the run's record — rather than merged into one huge window, which would
/// make every threshold meaningless.
pub fn lookback_catch_up_span(interval: TimeDelta) -> TimeDelta {
    TimeDelta::days(1).min(interval * LOOKBACK_CATCH_UP_EVALUATIONS)
}

/// The most missed evaluations of a `lookback:` playbook caught up after downtime.
pub const LOOKBACK_CATCH_UP_EVALUATIONS: i32 = 96;

/// The missed evaluations of a `lookback:` playbook that the next window skips (too old to catch up): how many,
/// and the ends of the first and the last of them. `None` when none is skipped.
pub fn skipped_evaluations(
    rules: &WindowRules,
    watermark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<(i64, DateTime<Utc>, DateTime<Utc>)> {
    use chrono::SubsecRound;
    rules.lookback?;
    let interval = rules.interval.max(TimeDelta::seconds(1));
    let end_now = (now - rules.delay.max(TimeDelta::zero())).trunc_subsecs(0);
    let grid = watermark? + interval;
    let oldest = end_now - lookback_catch_up_span(interval);
    if end_now - grid < interval || grid >= oldest {
        return None;
    }
    let skipped = (oldest - grid).num_seconds().div_euclid(interval.num_seconds())
        + i64::from((oldest - grid).num_seconds().rem_euclid(interval.num_seconds()) != 0);
    Some((skipped, grid, grid + interval * (skipped as i32 - 1)))
}

/// The window of the next run, given the previous run's end (`watermark`). Windows end on a whole second, the
/// form of every `Timespan` Graph documents (a clock's nanoseconds would otherwise go out as nine digits).
pub fn next_window(rules: &WindowRules, watermark: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Window {
    use chrono::SubsecRound;
    let end = (now - rules.delay.max(TimeDelta::zero())).trunc_subsecs(0);
    let oldest = end - MAX_LOOKBACK;
    if let Some(lookback) = rules.lookback {
        // A fixed look-back: the window is the last `lookback` before its end. The end is now, unless whole
        // fires were missed: then the next missed fire (the oldest still caught up, see `skipped_evaluations`).
        let interval = rules.interval.max(TimeDelta::seconds(1));
        let end = match watermark.map(|previous| previous + interval) {
            Some(grid) if end - grid >= interval => match skipped_evaluations(rules, watermark, now) {
                Some((skipped, _, _)) => grid + interval * (skipped as i32),
                None => grid,
            },
            _ => end,
        };
        return Window { start: (end - lookback).max(oldest).min(end), end };
    }
    let Some(previous_end) = watermark else {
        let start = end - rules.first_lookback.unwrap_or(rules.interval).clamp(TimeDelta::zero(), MAX_LOOKBACK);
        return Window { start: start.max(oldest).min(end), end };
    };
    // The new time starts where the last window ended — or 30 days back, all Graph still has.
    let fresh = previous_end.max(oldest);
    let end = match rules.catch_up {
        Some(chunk) => end.min(fresh + chunk.max(rules.interval)),
        None => end,
    };
    let start = (fresh - rules.overlap.max(TimeDelta::zero())).max(oldest);
    Window { start: start.min(end), end }
}

/// Whether a window from `next_window` stopped short of now to catch up in steps: more of the missed time is
/// due at once.
pub fn is_behind(rules: &WindowRules, window: &Window, now: DateTime<Utc>) -> bool {
    use chrono::SubsecRound;
    window.end < (now - rules.delay.max(TimeDelta::zero())).trunc_subsecs(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SubsecRound;
    use proptest::prelude::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("valid").with_timezone(&Utc)
    }

    fn rules(interval_minutes: i64) -> WindowRules {
        WindowRules {
            interval: TimeDelta::minutes(interval_minutes),
            first_lookback: None,
            overlap: TimeDelta::minutes(10),
            delay: TimeDelta::minutes(5),
            catch_up: None,
            lookback: None,
        }
    }

    fn lookback(interval_minutes: i64, lookback: TimeDelta) -> WindowRules {
        WindowRules {
            overlap: TimeDelta::zero(),
            lookback: Some(lookback),
            catch_up: Some(TimeDelta::hours(6)),
            ..rules(interval_minutes)
        }
    }

    #[test]
    fn with_a_lookback_every_window_is_the_last_lookback_first_run_and_catch_up_alike() {
        let hourly = lookback(15, TimeDelta::hours(1));
        let now = at("2026-11-20T12:00:00Z");
        // The first run: the last hour, whatever first_lookback would say.
        let first = next_window(&WindowRules { first_lookback: Some(TimeDelta::days(30)), ..hourly }, None, now);
        assert_eq!(first, Window { start: at("2026-11-20T10:55:00Z"), end: at("2026-11-20T11:55:00Z") });
        // On time, or a little late: the last hour before now.
        let next = next_window(&hourly, Some(first.end), at("2026-11-20T12:15:20Z"));
        assert_eq!(next, Window { start: at("2026-11-20T11:10:20Z"), end: at("2026-11-20T12:10:20Z") });
        assert!(!is_behind(&hourly, &next, at("2026-11-20T12:15:20Z")));
        // After two hours down: each missed fire, in order, with its own hour — never one three-hour window.
        let mut watermark = first.end;
        let later = at("2026-11-20T14:00:00Z");
        let mut ends = Vec::new();
        loop {
            let window = next_window(&hourly, Some(watermark), later);
            assert_eq!(window.end - window.start, TimeDelta::hours(1));
            ends.push(window.end.format("%H:%M").to_string());
            watermark = window.end;
            if !is_behind(&hourly, &window, later) {
                break;
            }
        }
        assert_eq!(ends, ["12:10", "12:25", "12:40", "12:55", "13:10", "13:25", "13:40", "13:55"]);
        assert_eq!(skipped_evaluations(&hourly, Some(first.end), later), None);
    }

    #[test]
    fn missed_evaluations_older_than_a_day_are_skipped_and_counted() {
        let hourly = lookback(60, TimeDelta::hours(1));
        let watermark = at("2026-11-17T11:55:00Z");
        let now = at("2026-11-20T12:00:00Z");
        // Three days down: the evaluations older than a day are skipped, the last day's are caught up.
        let skipped = skipped_evaluations(&hourly, Some(watermark), now).expect("some skipped");
        assert_eq!(skipped, (47, at("2026-11-17T12:55:00Z"), at("2026-11-19T10:55:00Z")));
        let window = next_window(&hourly, Some(watermark), now);
        assert_eq!(window, Window { start: at("2026-11-19T10:55:00Z"), end: at("2026-11-19T11:55:00Z") });
        // Every five minutes: at most 96 evaluations, eight hours.
        let often = lookback(5, TimeDelta::hours(1));
        let window = next_window(&often, Some(at("2026-11-20T00:00:00Z")), now);
        assert_eq!(window.end, at("2026-11-20T03:55:00Z"));
        assert_eq!(lookback_catch_up_span(TimeDelta::minutes(5)), TimeDelta::hours(8));
    }

    #[test]
    fn the_first_window_looks_back_one_interval_and_ends_before_the_delay() {
        let window = next_window(&rules(15), None, at("2026-11-20T12:00:00Z"));
        assert_eq!(window, Window { start: at("2026-11-20T11:40:00Z"), end: at("2026-11-20T11:55:00Z") });
        assert_eq!(window.iso_interval(), "2026-11-20T11:40:00Z/2026-11-20T11:55:00Z");
    }

    #[test]
    fn windows_end_on_a_whole_second() {
        let window = next_window(&rules(15), Some(at("2026-11-20T11:55:00Z")), at("2026-11-20T12:15:00.987654321Z"));
        assert_eq!(window.end, at("2026-11-20T12:10:00Z"));
        assert_eq!(window.iso_interval(), "2026-11-20T11:45:00Z/2026-11-20T12:10:00Z");
    }

    #[test]
    fn later_windows_start_at_the_previous_end_minus_the_overlap() {
        let window = next_window(&rules(15), Some(at("2026-11-20T11:55:00Z")), at("2026-11-20T12:15:00Z"));
        assert_eq!(window, Window { start: at("2026-11-20T11:45:00Z"), end: at("2026-11-20T12:10:00Z") });
    }

    #[test]
    fn no_window_reaches_back_more_than_thirty_days() {
        let long = WindowRules { first_lookback: Some(TimeDelta::days(90)), ..rules(15) };
        let now = at("2026-11-20T12:00:00Z");
        assert_eq!(next_window(&long, None, now).start, now - TimeDelta::minutes(5) - MAX_LOOKBACK);
        let after_downtime = next_window(&rules(15), Some(at("2026-01-01T00:00:00Z")), now);
        assert_eq!(after_downtime.end - after_downtime.start, MAX_LOOKBACK);
    }

    #[test]
    fn after_downtime_the_missed_time_is_caught_up_in_order_in_windows_of_at_most_the_catch_up_window() {
        let rules = WindowRules { catch_up: Some(TimeDelta::hours(6)), ..rules(15) };
        // Down for three days: the windows follow each other, each with 6 hours of new time (plus the overlap).
        let now = at("2026-11-20T12:00:00Z");
        let mut watermark = at("2026-11-17T11:55:00Z");
        let mut windows = Vec::new();
        loop {
            let window = next_window(&rules, Some(watermark), now);
            assert_eq!(window.start, watermark - TimeDelta::minutes(10));
            assert!(window.end - watermark <= TimeDelta::hours(6), "{window:?}");
            windows.push(window);
            watermark = window.end;
            if !is_behind(&rules, &window, now) {
                break;
            }
        }
        assert_eq!(windows.len(), 12);
        assert_eq!(windows.last().map(|w| w.end), Some(at("2026-11-20T11:55:00Z")));
        // A playbook whose interval is longer than the catch-up window keeps its whole interval.
        let weekly = WindowRules { interval: TimeDelta::days(7), ..rules };
        let window = next_window(&weekly, Some(at("2026-11-06T11:55:00Z")), now);
        assert_eq!(window.end, at("2026-11-13T11:55:00Z"));
        assert!(is_behind(&weekly, &window, now));
        // Down for 40 days: the catch-up starts 30 days back, all Graph keeps, not at the old watermark.
        let window = next_window(&rules, Some(at("2026-10-01T00:00:00Z")), now);
        assert_eq!(window.start, at("2026-10-21T11:55:00Z"));
        assert_eq!(window.end, at("2026-10-21T17:55:00Z"));
        // The first run is not a catch-up: its lookback is what it asks for.
        let first = next_window(&WindowRules { first_lookback: Some(TimeDelta::days(7)), ..rules }, None, now);
        assert_eq!(first.end - first.start, TimeDelta::days(7));
    }

    #[test]
    fn a_watermark_in_the_future_gives_an_empty_window() {
        let window = next_window(&rules(15), Some(at("2026-11-21T00:00:00Z")), at("2026-11-20T12:00:00Z"));
        assert!(window.is_empty());
    }

    proptest! {
        /// Consecutive runs leave no gap: each window starts at or before the previous one ended.
        #[test]
        fn consecutive_windows_cover_time_without_gaps(steps in prop::collection::vec(1i64..1_000_000, 1..50), overlap in 0i64..3600, delay in 0i64..3600, catch_up: bool) {
            let rules = WindowRules { interval: TimeDelta::minutes(15), first_lookback: None, overlap: TimeDelta::seconds(overlap), delay: TimeDelta::seconds(delay), catch_up: catch_up.then_some(TimeDelta::hours(6)), lookback: None };
            let mut now = at("2026-01-01T00:00:00Z");
            let mut watermark = None;
            for step in steps {
                now += TimeDelta::seconds(step);
                let window = next_window(&rules, watermark, now);
                prop_assert!(window.end - window.start <= MAX_LOOKBACK);
                if let Some(previous_end) = watermark {
                    // No gap, unless the gap is older than anything Graph keeps.
                    let oldest = (now - TimeDelta::seconds(delay)).trunc_subsecs(0) - MAX_LOOKBACK;
                    prop_assert!(window.start <= previous_end || window.start == oldest);
                }
                watermark = Some(window.end);
            }
        }
    }
}
