//! Instants, time windows and realistic event times for the sample data.
//!
//! Times are counted in 100-nanosecond ticks since the Unix epoch, the precision Defender writes (`.7688641Z`), so
//! formatting never rounds and sorting is an integer comparison. This module never reads the wall clock: every
//! instant derives from `SampleOptions::end` and the seeded random generator.

use chrono::{DateTime, Utc};

use super::random::{SampleRng, between};
use rand::RngExt;

pub(crate) const TICKS_PER_SECOND: i64 = 10_000_000;
pub(crate) const MINUTE: i64 = 60 * TICKS_PER_SECOND;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// An instant in 100-nanosecond ticks since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(i64);

/// A half-open span of time `[start, end)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) start: Instant,
    pub(crate) end: Instant,
}

impl Instant {
    pub(crate) fn from_datetime(datetime: DateTime<Utc>) -> Instant {
        let sub_second_ticks = i64::from(datetime.timestamp_subsec_nanos() / 100);
        Instant(datetime.timestamp() * TICKS_PER_SECOND + sub_second_ticks)
    }

    pub(crate) fn plus(self, ticks: i64) -> Instant {
        Instant(self.0.saturating_add(ticks))
    }

    fn seconds(self) -> i64 {
        self.0.div_euclid(TICKS_PER_SECOND)
    }

    fn hour_of_day(self) -> usize {
        // rem_euclid keeps the value in 0..86_400, so the hour fits in usize.
        (self.seconds().rem_euclid(86_400) / 3_600) as usize
    }

    /// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
    fn weekday(self) -> usize {
        (self.seconds().div_euclid(86_400) + 3).rem_euclid(7) as usize
    }

    /// `2026-11-03T09:39:50.7688641Z`: the CloudAppEvents `Timestamp` format, always 7 fractional digits.
    pub(crate) fn timestamp_text(self) -> [u8; 28] {
        let mut text = [0u8; 28];
        text[..19].copy_from_slice(&self.creation_time_text());
        text[19] = b'.';
        write_digits(&mut text[20..27], self.0.rem_euclid(TICKS_PER_SECOND));
        text[27] = b'Z';
        text
    }

    /// `2026-11-03T09:39:50`: the Office 365 Management API `CreationTime` format (no fraction, no zone).
    pub(crate) fn creation_time_text(self) -> [u8; 19] {
        let seconds = self.seconds();
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let second_of_day = seconds.rem_euclid(86_400);
        let mut text = *b"0000-00-00T00:00:00";
        write_digits(&mut text[0..4], year);
        write_digits(&mut text[5..7], month);
        write_digits(&mut text[8..10], day);
        write_digits(&mut text[11..13], second_of_day / 3_600);
        write_digits(&mut text[14..16], second_of_day / 60 % 60);
        write_digits(&mut text[17..19], second_of_day % 60);
        text
    }

    /// `2026-11-03T09:39:50Z`: a second-precision UTC instant, as the Defender portal writes expiry times.
    pub(crate) fn zulu_text(self) -> String {
        let mut text = String::from_utf8_lossy(&self.creation_time_text()).into_owned();
        text.push('Z');
        text
    }
}

impl Window {
    /// `days` whole days ending (exclusively) at `end`.
    pub(crate) fn ending_at(end: DateTime<Utc>, days: u32) -> Window {
        let end = Instant::from_datetime(end);
        Window { start: end.plus(-i64::from(days) * DAY), end }
    }

    pub(crate) fn length(self) -> i64 {
        self.end.0 - self.start.0
    }

    /// The part of this window between the fractions `from` and `to` of its length (0.0 = start, 1.0 = end).
    pub(crate) fn part(self, from: f64, to: f64) -> Window {
        let length = self.length() as f64;
        Window { start: self.start.plus((length * from) as i64), end: self.start.plus((length * to) as i64) }
    }

    /// `[start + from, start + to)`, clipped to this window's end.
    pub(crate) fn after(self, from: i64, to: i64) -> Window {
        Window { start: self.start.plus(from), end: self.start.plus(to).min(self.end) }
    }

    pub(crate) fn is_empty(self) -> bool {
        self.end <= self.start
    }
}

/// Relative activity by UTC hour: the fictional tenant works mostly in Europe, with a US office in the afternoon.
const HOUR_WEIGHTS: [i64; 24] = [2, 1, 1, 1, 2, 4, 10, 17, 20, 20, 19, 16, 17, 19, 20, 19, 17, 13, 9, 6, 4, 3, 2, 2];
/// Relative activity by weekday, Monday first.
const WEEKDAY_WEIGHTS: [i64; 7] = [10, 10, 10, 10, 9, 2, 1];
const MAXIMUM_WEIGHT: i64 = 20 * 10;

/// An instant in `window` drawn with the rhythm of a working week: office hours and weekdays are much more likely
/// than nights and weekends. An empty window yields its start.
pub(crate) fn working_time(rng: &mut SampleRng, window: Window) -> Instant {
    let mut candidate = any_time(rng, window);
    // Rejection sampling; 32 tries accept an office-hours instant with near certainty even for short windows.
    for _ in 0..32 {
        let weight = HOUR_WEIGHTS[candidate.hour_of_day()] * WEEKDAY_WEIGHTS[candidate.weekday()];
        if rng.random_range(0..MAXIMUM_WEIGHT) < weight {
            break;
        }
        candidate = any_time(rng, window);
    }
    candidate
}

/// An instant drawn uniformly from `window` (automation works around the clock). An empty window yields its start.
pub(crate) fn any_time(rng: &mut SampleRng, window: Window) -> Instant {
    Instant(between(rng, window.start.0, window.end.0))
}

/// Writes `value` as zero-padded decimal digits filling `target`.
fn write_digits(target: &mut [u8], value: i64) {
    let mut remaining = value.unsigned_abs();
    for slot in target.iter_mut().rev() {
        // The remainder is below 10.
        *slot = b'0' + (remaining % 10) as u8;
        remaining /= 10;
    }
}

/// Proleptic Gregorian (year, month, day) of a day number counted from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone};
    use rand::SeedableRng;

    #[test]
    fn formats_like_defender_and_the_management_api() {
        let datetime = Utc.with_ymd_and_hms(2026, 11, 3, 9, 39, 50).single().expect("valid date")
            + chrono::Duration::nanoseconds(768_864_100);
        let instant = Instant::from_datetime(datetime);
        assert_eq!(&instant.timestamp_text(), b"2026-11-03T09:39:50.7688641Z");
        assert_eq!(&instant.creation_time_text(), b"2026-11-03T09:39:50");
        assert_eq!(instant.zulu_text(), "2026-11-03T09:39:50Z");
    }

    #[test]
    fn civil_dates_agree_with_chrono_across_leap_years() {
        for days in (-800..30_000).step_by(7) {
            let date = DateTime::from_timestamp(days * 86_400, 0).expect("in range").date_naive();
            let expected = (i64::from(date.year()), i64::from(date.month()), i64::from(date.day()));
            assert_eq!(civil_from_days(days), expected, "day {days}");
        }
    }

    #[test]
    fn working_time_prefers_office_hours_and_stays_inside_the_window() {
        let mut rng = SampleRng::seed_from_u64(7);
        let window = Window::ending_at(Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).single().expect("valid"), 14);
        let instants: Vec<Instant> = (0..2_000).map(|_| working_time(&mut rng, window)).collect();
        assert!(instants.iter().all(|instant| window.start <= *instant && *instant < window.end));
        let office_hours = instants.iter().filter(|instant| (7..18).contains(&instant.hour_of_day())).count();
        assert!(office_hours > 1_500, "only {office_hours} of 2000 in office hours");
    }
}
