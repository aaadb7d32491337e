//! Parts of datetimes and datetimes from parts: `datetime_part`, `make_datetime`, `make_timespan`,
//! `week_of_year` (ISO 8601 weeks, which start on Monday).

use super::super::datetime::{Civil, days_from_civil};
use super::super::lexer::{TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND};
use super::super::types::Type;
use super::super::value::Value;
use super::{Args, CallContext, FunctionDef, Param, datetime_arg, def, expect, integer, real, text};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

const NUMBERS: &[Param] = &[Param::Number];

pub(super) static FUNCTIONS: [FunctionDef; 4] = [
    def("datetime_part", 2, 2, |a| to(Type::Int, &[Param::String, Param::DateTime])(a), datetime_part),
    def("make_datetime", 1, 7, |a| to(Type::DateTime, NUMBERS)(a), make_datetime),
    def("make_timespan", 2, 4, |a| to(Type::TimeSpan, NUMBERS)(a), make_timespan),
    def("week_of_year", 1, 1, |a| to(Type::Int, &[Param::DateTime])(a), |_, v| week(v)),
];

fn week(v: &[Value]) -> Value {
    datetime_arg(&v[0]).map_or(Value::Null, |ticks| Value::Int(iso_week(Civil::from_ticks(ticks)) as i32))
}

/// The ISO 8601 week: the week with the year's first Thursday is week 1.
fn iso_week(c: Civil) -> u32 {
    let days = days_from_civil(c.year, c.month, c.day);
    // Monday = 0.
    let weekday = (days + 3).rem_euclid(7);
    let thursday = days - weekday + 3;
    let year_of_thursday = Civil::from_ticks(super::super::datetime::UNIX_EPOCH_TICKS + thursday * TICKS_PER_DAY).year;
    let first_day = days_from_civil(year_of_thursday, 1, 1);
    ((thursday - first_day) / 7 + 1) as u32
}

/// `datetime_part(part, dt)`: `Year`, `Quarter`, `Month`, `week_of_year`, `Day`, `DayOfYear`, `Hour`,
/// `Minute`, `Second`, `Millisecond`, `Microsecond`, `Nanosecond` (any case).
fn datetime_part(_: &CallContext, v: &[Value]) -> Value {
    let Some(ticks) = datetime_arg(&v[1]) else { return Value::Null };
    let c = Civil::from_ticks(ticks);
    let day_of_year = days_from_civil(c.year, c.month, c.day) - days_from_civil(c.year, 1, 1) + 1;
    let part = text(&v[0]).to_ascii_lowercase();
    let value = match part.as_str() {
        "year" => c.year,
        "quarter" => i64::from((c.month - 1) / 3 + 1),
        "month" => i64::from(c.month),
        "week_of_year" | "weekofyear" | "week" => i64::from(iso_week(c)),
        "day" => i64::from(c.day),
        "dayofyear" => day_of_year,
        "hour" => i64::from(c.hour),
        "minute" => i64::from(c.minute),
        "second" => i64::from(c.second),
        "millisecond" => i64::from(c.fraction / 10_000),
        "microsecond" => i64::from(c.fraction / 10),
        "nanosecond" => i64::from(c.fraction) * 100,
        _ => return Value::Null,
    };
    i32::try_from(value).map_or(Value::Null, Value::Int)
}

/// `make_datetime(year, month, day[, hour, minute, second])` — the second may have a fraction.
fn make_datetime(_: &CallContext, v: &[Value]) -> Value {
    let part = |index: usize, default: i64| v.get(index).map_or(Some(default), integer);
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute)) =
        (part(0, 1), part(1, 1), part(2, 1), part(3, 0), part(4, 0))
    else {
        return Value::Null;
    };
    let seconds = v.get(5).map_or(Some(0.0), real).unwrap_or(f64::NAN);
    if !(0.0..60.0).contains(&seconds) {
        return Value::Null;
    }
    let whole = seconds.trunc() as u32;
    let fraction = ((seconds - seconds.trunc()) * TICKS_PER_SECOND as f64).round() as u32;
    let parts = |n: i64| u32::try_from(n).ok();
    let civil = match (parts(month), parts(day), parts(hour), parts(minute)) {
        (Some(month), Some(day), Some(hour), Some(minute)) => {
            Civil { year, month, day, hour, minute, second: whole, fraction: fraction.min(9_999_999) }
        }
        _ => return Value::Null,
    };
    civil.to_ticks().map_or(Value::Null, Value::DateTime)
}

/// `make_timespan(hours, minutes[, seconds])` or `make_timespan(days, hours, minutes, seconds)`.
fn make_timespan(_: &CallContext, v: &[Value]) -> Value {
    let numbers: Option<Vec<f64>> = v.iter().map(real).collect();
    let Some(numbers) = numbers else { return Value::Null };
    let units: &[i64] = match numbers.len() {
        2 => &[TICKS_PER_HOUR, TICKS_PER_MINUTE],
        3 => &[TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND],
        _ => &[TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND],
    };
    let ticks: f64 = numbers.iter().zip(units).map(|(n, unit)| n * *unit as f64).sum();
    if ticks.abs() < i64::MAX as f64 { Value::TimeSpan(ticks.round() as i64) } else { Value::Null }
}
