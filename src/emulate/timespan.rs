//! Graph's `Timespan`: `start/end`, `P30D/end`, `start/P30D`, `P30D` (back from now) or `start` (until now).

use chrono::{DateTime, TimeDelta, Utc};

pub fn parse_timespan(text: &str, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let text = text.trim();
    let bad = |part: &str| format!("Timespan '{text}': '{part}' is neither an ISO 8601 time nor a duration");
    let instant = |part: &str| DateTime::parse_from_rfc3339(part).map(|t| t.with_timezone(&Utc)).map_err(|_| bad(part));
    let window = match text.split_once('/') {
        Some((a, b)) => match (duration(a), duration(b)) {
            (Some(_), Some(_)) => return Err(bad(b)),
            (Some(d), None) => {
                let end = instant(b)?;
                (end - d, end)
            }
            (None, Some(d)) => {
                let start = instant(a)?;
                (start, start + d)
            }
            (None, None) => (instant(a)?, instant(b)?),
        },
        None => match duration(text) {
            Some(d) => (now - d, now),
            None => (instant(text)?, now),
        },
    };
    if window.1 < window.0 {
        return Err(format!("Timespan '{text}' ends before it starts"));
    }
    Ok(window)
}

/// An ISO 8601 duration: `P30D`, `PT1H30M`, `P1W`, `P1DT2H`, `PT0.5S`.
fn duration(text: &str) -> Option<TimeDelta> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = TimeDelta::zero();
    let mut any = false;
    for (part, units) in
        [(date, [('W', 604_800.0), ('D', 86_400.0), ('?', 0.0)]), (time, [('H', 3600.0), ('M', 60.0), ('S', 1.0)])]
    {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let (_, seconds) = units.iter().find(|(unit, _)| *unit == c)?;
            let value: f64 = number.parse().ok()?;
            total += TimeDelta::milliseconds((value * seconds * 1000.0) as i64);
            number.clear();
            any = true;
        }
        if !number.is_empty() {
            return None;
        }
    }
    any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).expect("valid").with_timezone(&Utc);
        let now = at("2024-02-20T00:00:00Z");
        let (start, end) = (at("2024-02-01T08:00:00Z"), at("2024-02-15T08:00:00Z"));
        assert_eq!(parse_timespan("2024-02-01T08:00:00Z/2024-02-15T08:00:00Z", now), Ok((start, end)));
        assert_eq!(parse_timespan("P14D/2024-02-15T08:00:00Z", now), Ok((start, end)));
        assert_eq!(parse_timespan("2024-02-01T08:00:00Z/P14D", now), Ok((start, end)));
        assert_eq!(parse_timespan("P30D", now), Ok((now - TimeDelta::days(30), now)));
        assert_eq!(parse_timespan("PT1H30M", now), Ok((now - TimeDelta::minutes(90), now)));
        assert_eq!(parse_timespan("2024-02-01T08:00:00Z", now), Ok((start, now)));
        assert!(parse_timespan("yesterday", now).is_err());
        assert!(parse_timespan("2024-02-15T08:00:00Z/2024-02-01T08:00:00Z", now).is_err());
    }
}
