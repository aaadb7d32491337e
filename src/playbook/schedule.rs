//! `schedule:` when a playbook runs and which window each run covers: a fixed interval or a 5-field Unix cron
//! expression in a time zone, and the lookback, overlap and delay of its windows. This file owns the format and
//! the translation of Unix cron into the `cron` crate's dialect (seconds first, Sunday = 1); computing fire
//! times and windows is `schedule`'s job at run time.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::TimeDelta;

use crate::config::duration::format_duration;
use crate::config::yaml::Value;

/// The keys of this mapping (also what `huntbook schema` lists).
pub const SCHEDULE_KEYS: &[&str] = &["every", "cron", "timezone", "lookback", "first_lookback", "overlap", "delay"];

/// `schedule:` when the playbook runs.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// `every: 15m` or `cron: "0 8 * * MON"`, exactly one.
    pub trigger: Trigger,
    /// `timezone:` the IANA zone a cron expression is read in (`Europe/Amsterdam`). Default UTC.
    pub timezone: chrono_tz::Tz,
    /// `lookback:` every run's query sees the last this much, `[end - lookback, end)` — whatever the interval,
    /// the first run, a catch-up or a backfill: "the last hour, every 15 minutes", for aggregates and
    /// thresholds. At most 30 days. Without it, windows follow each other (events).
    pub lookback: Option<TimeDelta>,
    /// `first_lookback:` the window of the very first run. Default: one interval, at most 30 days.
    pub first_lookback: Option<TimeDelta>,
    /// `overlap:` each window starts this much before the previous one ended, for late events (hits already
    /// sent are dropped). Default 0.
    pub overlap: TimeDelta,
    /// `delay:` ingestion delay: a window ends this long before the run. Default 0.
    pub delay: TimeDelta,
}

/// What starts a run.
// One per playbook: the size of a parsed cron schedule does not matter, its place in the shared type does.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Trigger {
    /// `every: 15m`: at a fixed interval.
    Every(TimeDelta),
    /// `cron: "0 8 * * MON"`: at the times of a Unix cron expression.
    Cron(CronSchedule),
}

/// A checked 5-field Unix cron expression.
#[derive(Clone, Debug)]
pub struct CronSchedule {
    /// The expression as written.
    pub expression: String,
    /// The parsed schedule, seconds = 0.
    pub schedule: cron::Schedule,
}

/// What Graph keeps, and so the longest window a first run can ask for.
const MAX_LOOKBACK: TimeDelta = TimeDelta::days(30);

pub(super) fn read_schedule(value: Value) -> Option<Schedule> {
    let fields = value.fields(SCHEDULE_KEYS)?;
    let trigger = match (fields.get("every"), fields.get("cron")) {
        (Some(every), None) => every.duration().and_then(|interval| {
            if interval <= TimeDelta::zero() {
                every.report("the interval must be longer than zero");
                return None;
            }
            Some(Trigger::Every(interval))
        }),
        (None, Some(expression)) => read_cron(expression).map(Trigger::Cron),
        (None, None) if fields.misspelt("every") || fields.misspelt("cron") => None,
        (None, None) => {
            value.report_hint("a schedule needs `every:` or `cron:`", "write `every: 15m` or `cron: \"0 8 * * MON\"`");
            None
        }
        (Some(_), Some(cron)) => {
            cron.reader().report(
                cron.reader()
                    .at(cron.key_place(), "a schedule has `every:` or `cron:`, not both")
                    .with_hint("keep one"),
            );
            None
        }
    };
    let timezone = match fields.get("timezone") {
        Some(zone) if fields.has("every") && !fields.has("cron") => {
            zone.reader().report(
                zone.reader()
                    .at(zone.key_place(), "`timezone` applies to `cron:` schedules")
                    .with_hint("an `every:` interval is the same in every zone; remove it"),
            );
            None
        }
        Some(zone) => zone.timezone(),
        None => Some(chrono_tz::UTC),
    };
    let first_lookback = match fields.get("first_lookback") {
        Some(v) => v.duration().and_then(|lookback| {
            if lookback <= TimeDelta::zero() || lookback > MAX_LOOKBACK {
                v.report_hint(
                    "the first lookback must be longer than zero and at most 30 days",
                    "Graph keeps 30 days of advanced-hunting data",
                );
                return None;
            }
            Some(Some(lookback))
        }),
        None => Some(None),
    };
    let lookback = match fields.get("lookback") {
        Some(v) => v.duration().and_then(|lookback| {
            if lookback <= TimeDelta::zero() || lookback > MAX_LOOKBACK {
                v.report_hint(
                    "the look-back must be longer than zero and at most 30 days",
                    "Graph keeps 30 days of advanced-hunting data",
                );
                return None;
            }
            Some(Some(lookback))
        }),
        None => Some(None),
    };
    // With a fixed look-back each run reads its whole look-back: windows do not follow each other.
    let mut exclusive = Some(());
    for key in ["overlap", "first_lookback"] {
        if fields.has("lookback")
            && let Some(other) = fields.get(key)
        {
            let why = match key {
                "overlap" => {
                    "each run with `lookback:` reads its whole look-back again, so there is nothing to overlap"
                }
                _ => "every run with `lookback:`, the first too, reads its look-back",
            };
            other.reader().report(
                other
                    .reader()
                    .at(other.key_place(), format!("`{key}` and `lookback` do not go together"))
                    .with_hint(format!("{why}; remove `{key}`")),
            );
            exclusive = None;
        }
    }
    let overlap = fields.get("overlap").map_or(Some(TimeDelta::zero()), |v| v.duration());
    let delay = fields.get("delay").map_or(Some(TimeDelta::zero()), |v| v.duration());
    exclusive?;
    Some(Schedule {
        trigger: trigger?,
        timezone: timezone?,
        lookback: lookback?,
        first_lookback: first_lookback?,
        overlap: overlap?,
        delay: delay?,
    })
}

fn read_cron(value: Value) -> Option<CronSchedule> {
    let expression = value.string()?;
    match parse_cron(&expression) {
        Ok(schedule) => Some(schedule),
        Err(error) => {
            let reader = value.reader();
            let place = match value.scalar() {
                Some(scalar) => reader.scalar_place(scalar, error.start, error.end),
                None => value.place(),
            };
            reader.report(reader.at(place, error.message).with_hint(error.hint));
            None
        }
    }
}

/// Why a cron expression is refused: the characters it is about, what is wrong, what to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub hint: String,
}

const FORM: &str = "5 fields: minute hour day-of-month month day-of-week, such as \"0 8 * * MON\"";

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for values, the first standing for `min` (JAN = 1, SUN = 0).
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[] },
    Field { name: "hour", min: 0, max: 23, names: &[] },
    Field { name: "day of the month", min: 1, max: 31, names: &[] },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    },
    // 7 is Sunday too, as in every Unix cron.
    Field { name: "day of the week", min: 0, max: 7, names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

/// Parses a 5-field Unix cron expression (`0 8 * * MON`, `*/15 * * * *`, `0 9 * * 1-5`, `@daily`).
pub fn parse_cron(expression: &str) -> Result<CronSchedule, CronError> {
    let error = |start: usize, end: usize, message: String, hint: &str| {
        Err(CronError { start, end, message, hint: hint.to_string() })
    };
    let trimmed = expression.trim();
    let standard = match trimmed {
        "@hourly" => Some("0 * * * *"),
        "@daily" | "@midnight" => Some("0 0 * * *"),
        "@weekly" => Some("0 0 * * 0"),
        "@monthly" => Some("0 0 1 * *"),
        "@yearly" | "@annually" => Some("0 0 1 1 *"),
        _ if trimmed.starts_with('@') => {
            let count = expression.chars().count();
            return error(
                0,
                count,
                format!("unknown cron shorthand `{trimmed}`"),
                "use @hourly, @daily, @weekly, @monthly or @yearly",
            );
        }
        _ => None,
    };
    let text = standard.unwrap_or(expression);
    let fields = words(text);
    if fields.len() != 5 {
        let count = expression.chars().count();
        let message = format!("a cron expression has 5 fields, this one has {}", fields.len());
        let hint = if fields.len() == 6 || fields.len() == 7 {
            "huntbook uses Unix cron, without seconds: minute hour day-of-month month day-of-week"
        } else {
            FORM
        };
        return error(0, count.max(1), message, hint);
    }
    let mut sets = Vec::with_capacity(5);
    for ((start, word), field) in fields.iter().zip(&FIELDS) {
        sets.push(parse_field(word, field).map_err(|(offset, end, message, hint)| CronError {
            start: start + offset,
            end: start + end,
            message,
            hint,
        })?);
    }
    let mut days_of_week: BTreeSet<u32> = sets[4].iter().map(|day| day % 7).collect();
    if days_of_week.len() == 7 {
        days_of_week.clear();
    }
    let days_of_month_restricted = sets[2].len() != 31;
    if days_of_month_restricted && !days_of_week.is_empty() {
        let (start, _) = fields[2];
        let (end, last) = &fields[4];
        return error(
            start,
            end + last.chars().count(),
            "this expression restricts both the day of the month and the day of the week".to_string(),
            "Unix cron runs when either matches and huntbook does not: restrict one, or write two playbooks",
        );
    }
    let list = |set: &BTreeSet<u32>, full: usize| {
        if set.len() == full { "*".to_string() } else { set.iter().map(u32::to_string).collect::<Vec<_>>().join(",") }
    };
    // The cron crate counts days of the week from Sunday = 1; names say what is meant in both dialects.
    let week = if days_of_week.is_empty() {
        "*".to_string()
    } else {
        days_of_week.iter().map(|day| FIELDS[4].names[*day as usize]).collect::<Vec<_>>().join(",")
    };
    let translated =
        format!("0 {} {} {} {} {week}", list(&sets[0], 60), list(&sets[1], 24), list(&sets[2], 31), list(&sets[3], 12));
    match cron::Schedule::from_str(&translated) {
        Ok(schedule) => Ok(CronSchedule { expression: expression.to_string(), schedule }),
        Err(cron_error) => {
            error(0, expression.chars().count().max(1), format!("invalid cron expression: {cron_error}"), FORM)
        }
    }
}

/// The words of a text with the character offset of each.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (index, (byte, c)) in text.char_indices().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some((index, byte)),
            (true, Some((chars, from))) => {
                words.push((chars, &text[from..byte]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some((chars, from)) = start {
        words.push((chars, &text[from..]));
    }
    words
}

type FieldError = (usize, usize, String, String);

/// The values one field allows; errors carry character offsets within the field.
fn parse_field(text: &str, field: &Field) -> Result<BTreeSet<u32>, FieldError> {
    let mut values = BTreeSet::new();
    let mut offset = 0;
    for item in text.split(',') {
        let length = item.chars().count();
        let fail = |message: String, hint: String| (offset, offset + length.max(1), message, hint);
        let not_a = |text: &str, hint: String| fail(format!("`{text}` is not a valid {}", field.name), hint);
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => match step.parse::<u32>() {
                Ok(step) if step > 0 => (range, step),
                _ => {
                    return Err(fail(
                        format!("`{item}`: the step `{step}` is not a whole number above zero"),
                        format!("such as */15 for every 15th {}", field.name),
                    ));
                }
            },
            None => (item, 1),
        };
        let (low, high) = if range == "*" {
            (field.min, field.max)
        } else if let Some((low, high)) = range.split_once('-') {
            let low_value = value(low, field).map_err(|hint| not_a(low, hint))?;
            let high_value = value(high, field).map_err(|hint| not_a(high, hint))?;
            if low_value > high_value {
                return Err(fail(
                    format!("the range `{range}` runs backwards"),
                    format!("write the smaller {} first", field.name),
                ));
            }
            (low_value, high_value)
        } else {
            let single = value(range, field).map_err(|hint| not_a(range, hint))?;
            // `5/15` means from 5 to the end, every 15th, as in Vixie cron.
            (single, if item.contains('/') { field.max } else { single })
        };
        values.extend((low..=high).step_by(step as usize));
        offset += length + 1;
    }
    Ok(values)
}

/// One value of a field: a number in range, or a name (`MON`, `jan`). Err(hint).
fn value(text: &str, field: &Field) -> Result<u32, String> {
    let range = format!("{}-{}", field.min, field.max);
    if let Ok(number) = text.parse::<u32>() {
        if (field.min..=field.max).contains(&number) {
            return Ok(number);
        }
        return Err(format!("the {} is {range}", field.name));
    }
    if let Some(index) = field.names.iter().position(|name| name.eq_ignore_ascii_case(text)) {
        return Ok(field.min + index as u32);
    }
    if field.names.is_empty() {
        return Err(format!("the {} is a number, {range}", field.name));
    }
    let names = field.names.join(", ");
    Err(crate::config::yaml::did_you_mean(&text.to_uppercase(), field.names.iter().copied())
        .unwrap_or_else(|| format!("use {range} or a name: {names}")))
}

/// How a schedule reads, for logs and messages: `every 15m`, `cron 0 8 * * MON (Europe/Amsterdam)`.
impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.trigger {
            Trigger::Every(interval) => write!(f, "every {}", format_duration(interval.num_seconds()))?,
            Trigger::Cron(cron) => write!(f, "cron {} ({})", cron.expression, self.timezone.name())?,
        }
        match self.lookback {
            Some(lookback) => write!(f, ", the last {} each run", format_duration(lookback.num_seconds())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn next(expression: &str, after: &str) -> Vec<String> {
        let schedule = parse_cron(expression).expect("valid").schedule;
        let after = chrono::DateTime::parse_from_rfc3339(after).expect("time").with_timezone(&Utc);
        schedule.after(&after).take(3).map(|t| t.format("%a %Y-%m-%d %H:%M").to_string()).collect()
    }

    fn refused(expression: &str) -> (usize, usize, String, String) {
        let error = parse_cron(expression).expect_err("invalid");
        (error.start, error.end, error.message, error.hint)
    }

    #[test]
    fn unix_days_of_the_week_mean_what_they_say() {
        // 2026-11-16 is a Monday.
        assert_eq!(
            next("0 8 * * MON", "2026-11-14T00:00:00Z"),
            ["Mon 2026-11-16 08:00", "Mon 2026-11-23 08:00", "Mon 2026-11-30 08:00"]
        );
        assert_eq!(next("0 8 * * 1", "2026-11-14T00:00:00Z")[0], "Mon 2026-11-16 08:00");
        assert_eq!(
            next("30 9 * * 1-5", "2026-11-20T10:00:00Z"),
            ["Mon 2026-11-23 09:30", "Tue 2026-11-24 09:30", "Wed 2026-11-25 09:30"]
        );
        assert_eq!(next("0 0 * * 7", "2026-11-14T00:00:00Z")[0], "Sun 2026-11-15 00:00");
        assert_eq!(next("0 0 * * 0", "2026-11-14T00:00:00Z")[0], "Sun 2026-11-15 00:00");
        assert_eq!(next("0 12 * * sat,SUN", "2026-11-14T13:00:00Z")[0], "Sun 2026-11-15 12:00");
    }

    #[test]
    fn steps_ranges_and_shorthands() {
        assert_eq!(
            next("*/15 * * * *", "2026-11-14T10:01:00Z"),
            ["Sat 2026-11-14 10:15", "Sat 2026-11-14 10:30", "Sat 2026-11-14 10:45"]
        );
        assert_eq!(
            next("5/20 * * * *", "2026-11-14T10:01:00Z"),
            ["Sat 2026-11-14 10:05", "Sat 2026-11-14 10:25", "Sat 2026-11-14 10:45"]
        );
        assert_eq!(next("0 0 1 JAN,jul *", "2026-11-14T10:01:00Z")[0], "Fri 2027-01-01 00:00");
        assert_eq!(next("@daily", "2026-11-14T10:01:00Z")[0], "Sun 2026-11-15 00:00");
        assert_eq!(next("@weekly", "2026-11-14T10:01:00Z")[0], "Sun 2026-11-15 00:00");
    }

    #[test]
    fn each_problem_points_at_its_field() {
        assert_eq!(
            refused("0 8 * * MOM"),
            (8, 11, "`MOM` is not a valid day of the week".into(), "did you mean `MON`?".into())
        );
        assert_eq!(refused("61 8 * * *"), (0, 2, "`61` is not a valid minute".into(), "the minute is 0-59".into()));
        assert_eq!(refused("0 8,25 * * *"), (4, 6, "`25` is not a valid hour".into(), "the hour is 0-23".into()));
        assert_eq!(refused("0 0 8 * * MON").2, "a cron expression has 5 fields, this one has 6");
        assert_eq!(
            refused("0 8 1 * MON").2,
            "this expression restricts both the day of the month and the day of the week"
        );
        assert_eq!(refused("0 8 * * 5-1").2, "the range `5-1` runs backwards");
        assert_eq!(refused("*/0 * * * *").0, 0);
    }

    #[test]
    fn cron_fires_in_its_time_zone() {
        let schedule = parse_cron("0 8 * * MON").expect("valid").schedule;
        let zone: chrono_tz::Tz = "Europe/Amsterdam".parse().expect("zone");
        let after = zone.with_ymd_and_hms(2026, 11, 14, 0, 0, 0).single().expect("time");
        let first = schedule.after(&after).next().expect("fires");
        assert_eq!(first.with_timezone(&Utc).to_rfc3339(), "2026-11-16T07:00:00+00:00");
    }
}
