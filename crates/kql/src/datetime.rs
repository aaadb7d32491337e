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
    let c = Civil::from_ticks(ticks);
    if !(0..=9999).contains(&c.year) {
        use std::fmt::Write;
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second, c.fraction
        );
        return;
    }
    // `yyyy-MM-ddTHH:mm:ss.fffffffZ` digit by digit: formatting machinery costs more than the digits.
    let mut text = *b"0000-00-00T00:00:00.0000000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for position in (at..at + width).rev() {
            text[position] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, c.year as u64);
    put(5, 2, u64::from(c.month));
    put(8, 2, u64::from(c.day));
    put(11, 2, u64::from(c.hour));
    put(14, 2, u64::from(c.minute));
    put(17, 2, u64::from(c.second));
    put(20, 7, u64::from(c.fraction));
    out.extend(text.iter().map(|b| char::from(*b)));
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
    parse_iso(text.as_bytes()).or_else(|| parse_rfc2822(text)).or_else(|| parse_loose(text))
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// A month from its English name or abbreviation.
fn month_name(word: &str) -> Option<u32> {
    let lower = word.to_ascii_lowercase();
    let prefix = lower.get(..3)?;
    MONTHS.iter().position(|m| *m == prefix).map(|i| i as u32 + 1)
}

/// Two-digit years mean 1950–2049, as .NET reads them.
fn full_year(year: i64, digits: usize) -> i64 {
    match (digits, year) {
        (1 | 2, 0..=49) => 2000 + year,
        (1 | 2, _) => 1900 + year,
        _ => year,
    }
}

/// The offset of a time-zone word of RFC 822 (`GMT`, `EST`, `+0200`), in ticks to subtract.
fn zone_offset(word: &str) -> Option<i64> {
    let hours = match word.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        "EST" => -5,
        "EDT" | "CST" => {
            if word.eq_ignore_ascii_case("EDT") {
                -4
            } else {
                -6
            }
        }
        "CDT" | "MST" => {
            if word.eq_ignore_ascii_case("CDT") {
                -5
            } else {
                -7
            }
        }
        "MDT" | "PST" => {
            if word.eq_ignore_ascii_case("MDT") {
                -6
            } else {
                -8
            }
        }
        "PDT" => -7,
        _ => {
            let (sign, digits) = match word.as_bytes().first()? {
                b'+' => (1, &word[1..]),
                b'-' => (-1, &word[1..]),
                _ => return None,
            };
            let digits: String = digits.chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let minutes = digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?;
            return Some(sign * minutes * TICKS_PER_MINUTE);
        }
    };
    Some(hours * TICKS_PER_HOUR)
}

/// The other forms Kusto accepts: ISO 8601 followed by a zone word (`2014-11-08 15:05:25 GMT`), US dates
/// (`02/17/2016 08:40:01`, `12-02-2022`), RFC 822 and RFC 850 dates with or without a zone (`Sat, 8 Nov 14
/// 15:05:02`, `Saturday, 08-Nov-14 15:05:02 GMT`), times with `AM`/`PM`.
fn parse_loose(text: &str) -> Option<i64> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let mut offset = 0;
    if let Some(zone) = words.last().and_then(|w| (words.len() > 1).then(|| zone_offset(w)).flatten()) {
        offset = zone;
        words.pop();
    }
    // ISO 8601 with a zone word: `2014-11-08T15:05 GMT`, `2014-11-08 15:05:25 UTC`.
    let iso = words.join("T");
    if let Some(ticks) = parse_iso(iso.as_bytes()) {
        return Some(ticks - offset).filter(|t| (0..=MAX_TICKS).contains(t));
    }
    if let Some(first) = words.first() {
        let day = first.trim_end_matches(',').to_ascii_lowercase();
        if day.len() >= 3 && WEEKDAYS.iter().any(|w| day.starts_with(w)) && day.chars().all(|c| c.is_ascii_alphabetic())
        {
            words.remove(0);
        }
    }
    let mut pm = None;
    if let Some(last) = words.last() {
        match last.to_ascii_uppercase().as_str() {
            "AM" => pm = Some(false),
            "PM" => pm = Some(true),
            _ => {}
        }
        if pm.is_some() {
            words.pop();
        }
    }
    let (date_words, time_word) = match words.last() {
        Some(last) if last.contains(':') => (&words[..words.len() - 1], Some(*last)),
        _ => (&words[..], None),
    };
    let (year, month, day) = match date_words {
        [single] => {
            let parts: Vec<&str> = single.split(['/', '-', '.']).collect();
            let [a, b, c] = parts.as_slice() else { return None };
            match month_name(b) {
                // RFC 850: 08-Nov-14
                Some(month) => (full_year(c.parse().ok()?, c.len()), month, a.parse().ok()?),
                // US: month first.
                None => (full_year(c.parse().ok()?, c.len()), a.parse().ok()?, b.parse().ok()?),
            }
        }
        // RFC 822: 8 Nov 14, or Nov 8 2014.
        [a, b, c] => match (month_name(b), month_name(a)) {
            (Some(month), _) => (full_year(c.parse().ok()?, c.len()), month, a.parse().ok()?),
            (None, Some(month)) => (full_year(c.parse().ok()?, c.len()), month, b.trim_end_matches(',').parse().ok()?),
            _ => return None,
        },
        _ => return None,
    };
    let mut civil = Civil { year, month, day, hour: 0, minute: 0, second: 0, fraction: 0 };
    if let Some(time) = time_word {
        let (clock, fraction) = match time.split_once('.') {
            Some((clock, fraction)) => (clock, Some(fraction)),
            None => (time, None),
        };
        let mut parts = clock.split(':');
        civil.hour = parts.next()?.parse().ok()?;
        civil.minute = parts.next()?.parse().ok()?;
        civil.second = parts.next().map_or(Some(0), |s| s.parse().ok())?;
        if parts.next().is_some() {
            return None;
        }
        if let Some(fraction) = fraction {
            let digits: String = fraction.chars().take(7).collect();
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            civil.fraction = digits.parse::<u32>().ok()? * 10u32.pow(7 - digits.len() as u32);
        }
        match pm {
            Some(true) if civil.hour < 12 => civil.hour += 12,
            Some(false) if civil.hour == 12 => civil.hour = 0,
            _ => {}
        }
    } else if pm.is_some() {
        return None;
    }
    civil.to_ticks().map(|ticks| ticks - offset).filter(|t| (0..=MAX_TICKS).contains(t))
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
        let value: f64 = number.trim().parse().ok()?;
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
        let at = |text: &str| parse_datetime(text).map(format_datetime).unwrap_or_else(|| format!("no: {text}"));
        assert_eq!(at("02/17/2016 08:40:01"), "2016-02-17T08:40:01.0000000Z");
        assert_eq!(at("12-02-2022"), "2022-12-02T00:00:00.0000000Z");
        assert_eq!(at("Sat, 8 Nov 14 15:05:02"), "2014-11-08T15:05:02.0000000Z");
        assert_eq!(at("8 Nov 14 15:05"), "2014-11-08T15:05:00.0000000Z");
        assert_eq!(at("Saturday, 08-Nov-14 15:05:02 GMT"), "2014-11-08T15:05:02.0000000Z");
        assert_eq!(at("08-Nov-14 15:05"), "2014-11-08T15:05:00.0000000Z");
        assert_eq!(at("2014-11-08 15:05:25 GMT"), "2014-11-08T15:05:25.0000000Z");
        assert_eq!(at("2014-11-08T15:05 GMT"), "2014-11-08T15:05:00.0000000Z");
        assert_eq!(at("Sat, 8 Nov 14 15:05:02 EST"), "2014-11-08T20:05:02.0000000Z");
        assert_eq!(at("2/3/2024 1:05:00 PM"), "2024-02-03T13:05:00.0000000Z");
        assert_eq!(parse_datetime("13/45/2024"), None);
        assert_eq!(parse_datetime("nonValidDateTime 08:40:01"), None);
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
        assert_eq!(parse_timespan("15 seconds"), Some(15 * TICKS_PER_SECOND));
    }
}
