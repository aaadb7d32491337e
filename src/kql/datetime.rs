//! Kusto's time types. A `datetime` is a count of 100-nanosecond ticks since 0001-01-01T00:00:00Z (as in .NET,
//! which Kusto is built on: `bin(t, 7d)` aligns weeks to that origin, a Monday), and a `timespan` is a signed
//! count of ticks. Parsing and printing are hand-written because the loaders parse a timestamp on every row.

use super::lexer::{TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND, timespan_unit};

/// Ticks between 0001-01-01 and 1970-01-01.
pub const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
/// The largest datetime, 9999-12-31T23:59:59.9999999.
pub const MAX_TICKS: i64 = 3_155_378_975_999_999_999;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap_year(year) => 29,
        _ => 28,
    }
}

/// The parts of a datetime, for formatting and calendar arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Ticks within the second, 0..10_000_000.
    pub fraction: u32,
}

impl Civil {
    pub fn from_ticks(ticks: i64) -> Civil {
        let unix = ticks - UNIX_EPOCH_TICKS;
        let days = unix.div_euclid(TICKS_PER_DAY);
        let within_day = unix.rem_euclid(TICKS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (within_day / TICKS_PER_HOUR) as u32,
            minute: (within_day % TICKS_PER_HOUR / TICKS_PER_MINUTE) as u32,
            second: (within_day % TICKS_PER_MINUTE / TICKS_PER_SECOND) as u32,
            fraction: (within_day % TICKS_PER_SECOND) as u32,
        }
    }

    /// Ticks of these parts, or `None` outside 0001-01-01..=9999-12-31 or for an impossible date.
    pub fn to_ticks(self) -> Option<i64> {
        if !(1..=9999).contains(&self.year)
            || !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 59
        {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        let seconds = i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        Some(UNIX_EPOCH_TICKS + days * TICKS_PER_DAY + seconds * TICKS_PER_SECOND + i64::from(self.fraction))
    }

    /// 0 = Sunday.
    pub fn weekday(self) -> u32 {
        let days = days_from_civil(self.year, self.month, self.day);
        (days + 4).rem_euclid(7) as u32
    }
}

/// `2024-03-26T09:39:50.7688641Z`: always seven fraction digits, as Kusto's `tostring()` and Graph results
/// print datetimes (`tostring(datetime(2020-01-01))` is `2020-01-01T00:00:00.0000000Z`).
pub fn format_datetime(ticks: i64) -> String {
    let mut out = String::with_capacity(28);
    write_datetime(&mut out, ticks);
    out
}

pub fn write_datetime(out: &mut String, ticks: i64) {
    use std::fmt::Write;
    let c = Civil::from_ticks(ticks);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.fraction
    );
}

/// `[-][d.]hh:mm:ss[.fffffff]`, as Kusto prints timespans.
pub fn format_timespan(ticks: i64) -> String {
    let mut out = String::new();
    let negative = ticks < 0;
    let magnitude = ticks.unsigned_abs();
    let day = TICKS_PER_DAY as u64;
    let days = magnitude / day;
    let rest = magnitude % day;
    let hours = rest / TICKS_PER_HOUR as u64;
    let minutes = rest % TICKS_PER_HOUR as u64 / TICKS_PER_MINUTE as u64;
    let seconds = rest % TICKS_PER_MINUTE as u64 / TICKS_PER_SECOND as u64;
    let fraction = rest % TICKS_PER_SECOND as u64;
    if negative {
        out.push('-');
    }
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{hours:02}:{minutes:02}:{seconds:02}"));
    if fraction > 0 {
        out.push_str(&format!(".{fraction:07}"));
    }
    out
}

/// Parses the datetime forms found in data and queries: ISO 8601 (`2024-01-01`, `2024-01-01T10:00`,
/// `2024-01-01 10:00:00.1234567Z`, with `Z` or an offset, up to 7 fraction digits — more are truncated),
/// and RFC 2822 / RFC 1123 dates. Returns ticks, or `None`.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    parse_iso(text.as_bytes()).or_else(|| parse_rfc2822(text))
}

fn digits(bytes: &[u8], start: usize, count: usize) -> Option<u32> {
    let slice = bytes.get(start..start + count)?;
    let mut value = 0u32;
    for &b in slice {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Some(value)
}

/// One or two digits at `start`; the value and the position after them.
fn short_number(bytes: &[u8], start: usize) -> Option<(u32, usize)> {
    let first = *bytes.get(start)?;
    if !first.is_ascii_digit() {
        return None;
    }
    match bytes.get(start + 1) {
        Some(second) if second.is_ascii_digit() => {
            Some((u32::from(first - b'0') * 10 + u32::from(second - b'0'), start + 2))
        }
        _ => Some((u32::from(first - b'0'), start + 1)),
    }
}

fn parse_iso(bytes: &[u8]) -> Option<i64> {
    let year = digits(bytes, 0, 4)?;
    if bytes.get(4) != Some(&b'-') {
        return None;
    }
    let (month, after_month) = short_number(bytes, 5)?;
    if bytes.get(after_month) != Some(&b'-') {
        return None;
    }
    let (day, after_day) = short_number(bytes, after_month + 1)?;
    let mut civil = Civil { year: i64::from(year), month, day, hour: 0, minute: 0, second: 0, fraction: 0 };
    let mut position = after_day;
    if matches!(bytes.get(position), Some(b'T' | b't' | b' '))
        && bytes.get(position + 1).is_some_and(u8::is_ascii_digit)
    {
        civil.hour = digits(bytes, position + 1, 2)?;
        if bytes.get(position + 3) != Some(&b':') {
            return None;
        }
        civil.minute = digits(bytes, position + 4, 2)?;
        position += 6;
        if bytes.get(position) == Some(&b':') {
            civil.second = digits(bytes, position + 1, 2)?;
            position += 3;
            if matches!(bytes.get(position), Some(b'.' | b',')) {
                position += 1;
                let mut fraction = 0u32;
                let mut count = 0;
                while let Some(b) = bytes.get(position).filter(|b| b.is_ascii_digit()) {
                    if count < 7 {
                        fraction = fraction * 10 + u32::from(b - b'0');
                        count += 1;
                    }
                    position += 1;
                }
                if count == 0 {
                    return None;
                }
                civil.fraction = fraction * 10u32.pow(7 - count);
            }
        }
    }
    let mut offset_ticks = 0i64;
    match bytes.get(position) {
        None => {}
        Some(b'Z' | b'z') if position + 1 == bytes.len() => {}
        Some(sign @ (b'+' | b'-')) => {
            let hours = digits(bytes, position + 1, 2)?;
            let minutes_at = if bytes.get(position + 3) == Some(&b':') { position + 4 } else { position + 3 };
            let minutes = if minutes_at < bytes.len() { digits(bytes, minutes_at, 2)? } else { 0 };
            let end = if minutes_at < bytes.len() { minutes_at + 2 } else { minutes_at };
            if end != bytes.len() {
                return None;
            }
            offset_ticks = i64::from(hours) * TICKS_PER_HOUR + i64::from(minutes) * TICKS_PER_MINUTE;
            if *sign == b'-' {
                offset_ticks = -offset_ticks;
            }
        }
        Some(_) => return None,
    }
    civil.to_ticks().map(|ticks| ticks - offset_ticks).filter(|t| (0..=MAX_TICKS).contains(t))
}

fn parse_rfc2822(text: &str) -> Option<i64> {
    let parsed = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let unix = parsed.timestamp();
    let nanos = i64::from(parsed.timestamp_subsec_nanos());
    Some(UNIX_EPOCH_TICKS + unix * TICKS_PER_SECOND + nanos / 100)
}

/// Parses a timespan: `[-][d.]hh:mm[:ss[.fffffff]]`, a bare number of days, or a literal such as `1.5h`.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let ticks = if body.contains(':') {
        parse_clock_timespan(body)?
    } else if let Some(split) = body.find(|c: char| c.is_ascii_alphabetic()) {
        let (number, unit) = body.split_at(split);
        let value: f64 = number.parse().ok()?;
        (value * timespan_unit(unit)? as f64).round() as i64
    } else {
        let days: f64 = body.parse().ok()?;
        (days * TICKS_PER_DAY as f64).round() as i64
    };
    Some(if negative { -ticks } else { ticks })
}

fn parse_clock_timespan(body: &str) -> Option<i64> {
    let (days, clock) = match body.split_once(':') {
        Some((head, _)) if head.contains('.') => {
            let (days, _) = head.split_once('.')?;
            (days.parse::<i64>().ok()?, &body[days.len() + 1..])
        }
        _ => (0, body),
    };
    let mut parts = clock.split(':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let (seconds, fraction) = match parts.next() {
        Some(seconds) => match seconds.split_once('.') {
            Some((whole, fraction)) => {
                let digits: String = fraction.chars().take(7).collect();
                if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let scale = 10i64.pow(7 - digits.len() as u32);
                (whole.parse::<i64>().ok()?, digits.parse::<i64>().ok()? * scale)
            }
            None => (seconds.parse::<i64>().ok()?, 0),
        },
        None => (0, 0),
    };
    if parts.next().is_some() || minutes > 59 || seconds > 59 || hours < 0 {
        return None;
    }
    Some(
        days * TICKS_PER_DAY
            + hours * TICKS_PER_HOUR
            + minutes * TICKS_PER_MINUTE
            + seconds * TICKS_PER_SECOND
            + fraction,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_across_eras() {
        for days in [-719_162, -1, 0, 1, 10_957, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(Civil::from_ticks(0).year, 1);
    }

    #[test]
    fn parses_and_prints_iso_datetimes() {
        let ticks = parse_datetime("2024-03-26T09:39:50.7688641Z").expect("valid");
        assert_eq!(format_datetime(ticks), "2024-03-26T09:39:50.7688641Z");
        assert_eq!(format_datetime(parse_datetime("2024-01-01").expect("valid")), "2024-01-01T00:00:00.0000000Z");
        assert_eq!(format_datetime(parse_datetime("2024-01-01 10:30").expect("valid")), "2024-01-01T10:30:00.0000000Z");
        assert_eq!(
            format_datetime(parse_datetime("2024-01-01T10:00:00+02:00").expect("valid")),
            "2024-01-01T08:00:00.0000000Z"
        );
        assert_eq!(
            format_datetime(parse_datetime("2024-01-01T10:00:00.5Z").expect("valid")),
            "2024-01-01T10:00:00.5000000Z"
        );
        assert_eq!(
            format_datetime(parse_datetime("2024-01-01T10:00:00.123456789Z").expect("valid")),
            "2024-01-01T10:00:00.1234567Z"
        );
        assert_eq!(
            format_datetime(parse_datetime("Tue, 26 Mar 2024 09:39:50 GMT").expect("valid")),
            "2024-03-26T09:39:50.0000000Z"
        );
        assert_eq!(parse_datetime("2024-02-30"), None);
        assert_eq!(parse_datetime("yesterday"), None);
        assert_eq!(parse_datetime("2024-01-01T10:00:00Zjunk"), None);
    }

    #[test]
    fn unix_epoch_is_where_dotnet_puts_it() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH_TICKS));
        assert_eq!(Civil::from_ticks(UNIX_EPOCH_TICKS).weekday(), 4);
    }

    #[test]
    fn timespans_parse_and_print() {
        assert_eq!(format_timespan(TICKS_PER_DAY), "1.00:00:00");
        assert_eq!(format_timespan(30 * TICKS_PER_MINUTE), "00:30:00");
        assert_eq!(format_timespan(-TICKS_PER_SECOND / 10), "-00:00:00.1000000");
        assert_eq!(
            parse_timespan("1.02:03:04.5"),
            Some(TICKS_PER_DAY + 2 * TICKS_PER_HOUR + 3 * TICKS_PER_MINUTE + 45_000_000)
        );
        assert_eq!(parse_timespan("00:30:00"), Some(30 * TICKS_PER_MINUTE));
        assert_eq!(parse_timespan("1.5h"), Some(TICKS_PER_HOUR * 3 / 2));
        assert_eq!(parse_timespan("-2d"), Some(-2 * TICKS_PER_DAY));
        assert_eq!(parse_timespan("abc"), None);
    }
}
