//! Durations as people write them in huntbook's YAML: a whole number and one unit — `30s`, `15m`, `1h`, `7d`,
//! `1w` (`0` alone is zero). This file owns the format and its error messages; where a duration sits in a
//! file is the YAML reader's business.

use chrono::TimeDelta;

/// The accepted forms, for hints.
pub const DURATION_FORMS: &str = "write a whole number and a unit: 30s, 15m, 1h, 7d or 1w";

/// Why a text is not a duration, with a suggestion where one can be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError {
    pub message: String,
    pub hint: String,
}

const UNITS: [(&str, i64); 5] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)];

/// The unit a word means: `s` for `sec`, `seconds`; `m` for `min`, `minutes`; and so on.
fn unit_seconds(unit: &str) -> Option<(&'static str, i64)> {
    let canonical = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        "d" | "day" | "days" => "d",
        "w" | "wk" | "wks" | "week" | "weeks" => "w",
        _ => return None,
    };
    UNITS.iter().copied().find(|(name, _)| *name == canonical)
}

/// The shortest way to write a number of seconds with one unit: `5400` → `90m`.
pub fn format_duration(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".to_string();
    }
    let (name, size) = UNITS.iter().rev().copied().find(|(_, size)| seconds % size == 0).unwrap_or(("s", 1));
    format!("{}{name}", seconds / size)
}

/// Parses `15m` and its kin.
pub fn parse_duration(text: &str) -> Result<TimeDelta, DurationError> {
    let trimmed = text.trim();
    if trimmed == "0" {
        return Ok(TimeDelta::zero());
    }
    match split_parts(trimmed) {
        Some(parts) if parts.len() == 1 => one_part(trimmed, &parts[0]),
        Some(parts) if !parts.is_empty() => {
            let hint = match total_seconds(&parts) {
                Some(total) => format!("write it with one unit: {}", format_duration(total)),
                None => DURATION_FORMS.to_string(),
            };
            Err(DurationError { message: format!("`{trimmed}` is not a duration"), hint })
        }
        _ => Err(DurationError { message: format!("`{trimmed}` is not a duration"), hint: DURATION_FORMS.to_string() }),
    }
}

/// A number as written (digits, maybe a fraction) and the word after it.
struct Part {
    number: String,
    unit: String,
}

/// `1h30m` → [(1, h), (30, m)]; `None` when the text is not numbers and words.
fn split_parts(text: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..number_end];
        let after = rest[number_end..].trim_start();
        let unit_end = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        if number.is_empty() && unit_end == 0 {
            return None;
        }
        parts.push(Part { number: number.to_string(), unit: after[..unit_end].to_ascii_lowercase() });
        rest = after[unit_end..].trim_start();
    }
    Some(parts)
}

fn total_seconds(parts: &[Part]) -> Option<i64> {
    parts.iter().try_fold(0i64, |total, part| {
        let (_, size) = unit_seconds(&part.unit)?;
        let number: i64 = part.number.parse().ok()?;
        total.checked_add(number.checked_mul(size)?)
    })
}

fn one_part(text: &str, part: &Part) -> Result<TimeDelta, DurationError> {
    let not_a_duration = |hint: String| Err(DurationError { message: format!("`{text}` is not a duration"), hint });
    if part.number.is_empty() {
        return not_a_duration(DURATION_FORMS.to_string());
    }
    if part.unit.is_empty() {
        return not_a_duration(format!("add a unit, such as `{}m` or `{}h`", part.number, part.number));
    }
    let Some((unit, size)) = unit_seconds(&part.unit) else {
        return not_a_duration(format!("unknown unit `{}`: {DURATION_FORMS}", part.unit));
    };
    if part.number.contains('.') {
        let hint = match part.number.parse::<f64>() {
            Ok(number) if (number * size as f64).fract() == 0.0 && number * (size as f64) < 1e15 => {
                format!("durations are whole numbers: write {}", format_duration((number * size as f64) as i64))
            }
            _ => format!("durations are whole numbers: {DURATION_FORMS}"),
        };
        return not_a_duration(hint);
    }
    let too_large = || DurationError {
        message: format!("`{text}` is too long a duration"),
        hint: "durations are at most a few years".to_string(),
    };
    let number: i64 = part.number.parse().map_err(|_| too_large())?;
    let seconds = number.checked_mul(size).filter(|s| *s <= 100 * 365 * 86_400).ok_or_else(too_large)?;
    if unit != part.unit {
        return not_a_duration(format!("write {number}{unit}"));
    }
    Ok(TimeDelta::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(text: &str) -> String {
        parse_duration(text).map(|d| d.to_string()).unwrap_or_else(|e| format!("{} / {}", e.message, e.hint))
    }

    #[test]
    fn accepts_whole_numbers_with_one_unit() {
        assert_eq!(parse_duration("30s"), Ok(TimeDelta::seconds(30)));
        assert_eq!(parse_duration("15m"), Ok(TimeDelta::minutes(15)));
        assert_eq!(parse_duration("1h"), Ok(TimeDelta::hours(1)));
        assert_eq!(parse_duration("7d"), Ok(TimeDelta::days(7)));
        assert_eq!(parse_duration("1w"), Ok(TimeDelta::weeks(1)));
        assert_eq!(parse_duration("0"), Ok(TimeDelta::zero()));
        assert_eq!(parse_duration("0m"), Ok(TimeDelta::zero()));
    }

    #[test]
    fn explains_what_is_wrong() {
        assert_eq!(hint("15"), "`15` is not a duration / add a unit, such as `15m` or `15h`");
        assert_eq!(hint("1.5h"), "`1.5h` is not a duration / durations are whole numbers: write 90m");
        assert_eq!(hint("1h30m"), "`1h30m` is not a duration / write it with one unit: 90m");
        assert_eq!(hint("15 minutes"), "`15 minutes` is not a duration / write 15m");
        assert_eq!(
            hint("2y"),
            "`2y` is not a duration / unknown unit `y`: write a whole number and a unit: 30s, 15m, 1h, 7d or 1w"
        );
        assert_eq!(hint("soon"), "`soon` is not a duration / write a whole number and a unit: 30s, 15m, 1h, 7d or 1w");
        assert_eq!(hint(""), "`` is not a duration / write a whole number and a unit: 30s, 15m, 1h, 7d or 1w");
        assert_eq!(hint("-5m"), "`-5m` is not a duration / write a whole number and a unit: 30s, 15m, 1h, 7d or 1w");
        assert_eq!(
            hint("99999999999999999999w"),
            "`99999999999999999999w` is too long a duration / durations are at most a few years"
        );
    }

    #[test]
    fn formats_with_the_largest_exact_unit() {
        assert_eq!(format_duration(5400), "90m");
        assert_eq!(format_duration(604_800), "1w");
        assert_eq!(format_duration(90), "90s");
        assert_eq!(format_duration(0), "0s");
    }
}
