//! What a hit's cells and a message's times read as on a card: datetimes in the reader's time zone, nothing
//! for null or empty cells, the time a single hit happened. The text returned here is raw; it is made safe
//! for Teams by `text::plain` before it reaches the card.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::kql::datetime::UNIX_EPOCH_TICKS;
use crate::kql::plan::{Column, Row};
use crate::kql::types::Type;
use crate::kql::value::{Dyn, Value};

const TICKS_PER_SECOND: i64 = 10_000_000;
/// The columns that say when a hit happened, in order of preference.
const TIME_COLUMNS: &[&str] = &["Timestamp", "TimeGenerated"];

/// How much of a datetime to show: a table cell has little room, a fact has more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// `2024-03-26 10:39:50`: the zone is named once, in the card's summary line.
    Cell,
    /// `2024-03-26 10:39:50.768 CET`.
    Fact,
}

/// A Kusto datetime (100 ns ticks since 0001-01-01) as a UTC instant; `None` outside chrono's range.
pub fn instant_from_ticks(ticks: i64) -> Option<DateTime<Utc>> {
    let since_epoch = ticks.checked_sub(UNIX_EPOCH_TICKS)?;
    let seconds = since_epoch.div_euclid(TICKS_PER_SECOND);
    let nanoseconds = u32::try_from(since_epoch.rem_euclid(TICKS_PER_SECOND) * 100).ok()?;
    DateTime::from_timestamp(seconds, nanoseconds)
}

/// The text of a cell, or `None` when it holds nothing (null, or an empty string).
pub fn cell_text(value: &Value, timezone: Tz, detail: Detail) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    let ticks = match value {
        Value::DateTime(ticks) | Value::Dynamic(Dyn::DateTime(ticks)) => Some(*ticks),
        _ => None,
    };
    match ticks.and_then(instant_from_ticks) {
        Some(instant) => Some(datetime_text(instant, timezone, detail)),
        None => Some(value.to_text().to_string()),
    }
}

pub fn datetime_text(instant: DateTime<Utc>, timezone: Tz, detail: Detail) -> String {
    let local = instant.with_timezone(&timezone);
    match detail {
        Detail::Cell => local.format("%Y-%m-%d %H:%M:%S").to_string(),
        Detail::Fact => local.format("%Y-%m-%d %H:%M:%S%.3f %Z").to_string(),
    }
}

/// When a hit happened: its `Timestamp` (or `TimeGenerated`), else its first datetime column.
pub fn hit_time(columns: &[Column], row: &Row) -> Option<DateTime<Utc>> {
    let named = TIME_COLUMNS.iter().filter_map(|name| columns.iter().position(|column| column.name == *name));
    let typed = columns.iter().enumerate().filter(|(_, column)| column.ty == Type::DateTime).map(|(index, _)| index);
    named.chain(typed).find_map(|index| match row.get(index) {
        Some(Value::DateTime(ticks)) => instant_from_ticks(*ticks),
        _ => None,
    })
}

/// `2024-03-26 08:00 – 09:00 CET`, or both ends in full when they fall on different days or zone names.
pub fn window_text(start: DateTime<Utc>, end: DateTime<Utc>, timezone: Tz) -> String {
    let (start, end) = (start.with_timezone(&timezone), end.with_timezone(&timezone));
    let time = if start.format("%S").to_string() == "00" && end.format("%S").to_string() == "00" {
        "%H:%M"
    } else {
        "%H:%M:%S"
    };
    let same_day = start.date_naive() == end.date_naive();
    let same_zone = start.format("%Z").to_string() == end.format("%Z").to_string();
    if same_day && same_zone {
        format!("{} – {} {}", start.format(&format!("%Y-%m-%d {time}")), end.format(time), end.format("%Z"))
    } else {
        format!("{} – {}", start.format(&format!("%Y-%m-%d {time} %Z")), end.format(&format!("%Y-%m-%d {time} %Z")))
    }
}

/// `1 hit`, `40 hits`.
pub fn count_text(count: usize, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|instant| instant.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn datetimes_are_shown_in_the_readers_zone() {
        let ticks = UNIX_EPOCH_TICKS + utc("2024-03-26T09:39:50.7688641Z").timestamp() * TICKS_PER_SECOND + 7_688_641;
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(cell_text(&Value::DateTime(ticks), berlin, Detail::Cell).as_deref(), Some("2024-03-26 10:39:50"));
        assert_eq!(
            cell_text(&Value::DateTime(ticks), berlin, Detail::Fact).as_deref(),
            Some("2024-03-26 10:39:50.768 CET")
        );
        assert_eq!(cell_text(&Value::Null, berlin, Detail::Cell), None);
        assert_eq!(cell_text(&Value::empty_string(), berlin, Detail::Cell), None);
        assert_eq!(cell_text(&Value::Long(42), berlin, Detail::Cell).as_deref(), Some("42"));
    }

    #[test]
    fn windows_name_the_day_once() {
        let tz = chrono_tz::UTC;
        assert_eq!(
            window_text(utc("2024-03-26T08:00:00Z"), utc("2024-03-26T09:00:00Z"), tz),
            "2024-03-26 08:00 – 09:00 UTC"
        );
        assert_eq!(
            window_text(utc("2024-03-25T08:00:00Z"), utc("2024-03-26T08:00:30Z"), tz),
            "2024-03-25 08:00:00 UTC – 2024-03-26 08:00:30 UTC"
        );
        let across_dst =
            window_text(utc("2024-03-31T00:00:00Z"), utc("2024-03-31T02:00:00Z"), chrono_tz::Europe::Berlin);
        assert_eq!(across_dst, "2024-03-31 01:00 CET – 2024-03-31 04:00 CEST");
        assert_eq!(Utc.timestamp_opt(0, 0).single(), instant_from_ticks(UNIX_EPOCH_TICKS));
    }
}
