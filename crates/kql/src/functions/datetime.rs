//! Time functions: `now`, `ago`, `bin`, `datetime_add`, `datetime_diff`, `startof*`/`endof*`, `dayofweek`,
//! `format_datetime`, `format_timespan`. Calendar arithmetic is proleptic Gregorian, in UTC; weeks start on
//! Sunday.

use super::super::datetime::{Civil, MAX_TICKS, UNIX_EPOCH_TICKS, days_in_month};
use super::super::lexer::{TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MILLISECOND, TICKS_PER_MINUTE, TICKS_PER_SECOND};
use super::super::types::Type;
use super::super::value::Value;
use super::{
    Args, CallContext, FunctionDef, Param, ResultName, datetime_arg, def, expect, integer, real, string_value, text,
    timespan_arg,
};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

const DT: &[Param] = &[Param::DateTime, Param::Integer];

pub(super) static FUNCTIONS: [FunctionDef; 26] = [
    def("now", 0, 1, |a| to(Type::DateTime, &[Param::TimeSpan])(a), |c, v| shift(c.now, v.first())),
    def(
        "ago",
        1,
        1,
        |a| to(Type::DateTime, &[Param::TimeSpan])(a),
        |c, v| timespan_arg(&v[0]).map_or(Value::Null, |t| datetime(c.now.checked_sub(t))),
    ),
    FunctionDef { result_name: ResultName::FirstArgument, ..def("bin", 2, 2, check_bin, bin) },
    FunctionDef { result_name: ResultName::FirstArgument, ..def("floor", 2, 2, check_bin, bin) },
    FunctionDef { result_name: ResultName::FirstArgument, ..def("bin_at", 3, 3, check_bin, bin_at) },
    def(
        "datetime_add",
        3,
        3,
        |a| to(Type::DateTime, &[Param::String, Param::Integer, Param::DateTime])(a),
        datetime_add,
    ),
    def(
        "datetime_diff",
        3,
        3,
        |a| to(Type::Long, &[Param::String, Param::DateTime, Param::DateTime])(a),
        datetime_diff,
    ),
    def("startofday", 1, 2, |a| to(Type::DateTime, DT)(a), |_, v| start_of(v, Unit::Day)),
    def("startofweek", 1, 2, |a| to(Type::DateTime, DT)(a), |_, v| start_of(v, Unit::Week)),
    def("startofmonth", 1, 2, |a| to(Type::DateTime, DT)(a), |_, v| start_of(v, Unit::Month)),
    def("startofyear", 1, 2, |a| to(Type::DateTime, DT)(a), |_, v| start_of(v, Unit::Year)),
    def("endofday", 1, 2, |a| to(Type::DateTime, DT)(a), |_, v| end_of(v, Unit::Day)),
    def("endofweek", 1, 2, |a| to(Type::DateTime, DT)(a), |_, v| end_of(v, Unit::Week)),
    def("endofmonth", 1, 2, |a| to(Type::DateTime, DT)(a), |_, v| end_of(v, Unit::Month)),
    def("endofyear", 1, 2, |a| to(Type::DateTime, DT)(a), |_, v| end_of(v, Unit::Year)),
    def(
        "dayofweek",
        1,
        1,
        |a| to(Type::TimeSpan, DT)(a),
        |_, v| civil(&v[0]).map_or(Value::Null, |c| Value::TimeSpan(i64::from(c.weekday()) * TICKS_PER_DAY)),
    ),
    def(
        "dayofmonth",
        1,
        1,
        |a| to(Type::Int, DT)(a),
        |_, v| civil(&v[0]).map_or(Value::Null, |c| Value::Int(c.day as i32)),
    ),
    def(
        "dayofyear",
        1,
        1,
        |a| to(Type::Int, DT)(a),
        |_, v| civil(&v[0]).map_or(Value::Null, |c| Value::Int(day_of_year(c) as i32)),
    ),
    def(
        "getyear",
        1,
        1,
        |a| to(Type::Int, DT)(a),
        |_, v| civil(&v[0]).map_or(Value::Null, |c| Value::Int(c.year as i32)),
    ),
    def(
        "getmonth",
        1,
        1,
        |a| to(Type::Int, DT)(a),
        |_, v| civil(&v[0]).map_or(Value::Null, |c| Value::Int(c.month as i32)),
    ),
    def(
        "monthofyear",
        1,
        1,
        |a| to(Type::Int, DT)(a),
        |_, v| civil(&v[0]).map_or(Value::Null, |c| Value::Int(c.month as i32)),
    ),
    def(
        "hourofday",
        1,
        1,
        |a| to(Type::Int, DT)(a),
        |_, v| civil(&v[0]).map_or(Value::Null, |c| Value::Int(c.hour as i32)),
    ),
    def("format_datetime", 2, 2, |a| to(Type::String, &[Param::DateTime, Param::String])(a), format_datetime),
    def("format_timespan", 2, 2, |a| to(Type::String, &[Param::TimeSpan, Param::String])(a), format_timespan),
    def(
        "unixtime_seconds_todatetime",
        1,
        1,
        |a| to(Type::DateTime, &[Param::Number])(a),
        |_, v| {
            real(&v[0]).map_or(Value::Null, |s| datetime(Some(UNIX_EPOCH_TICKS + (s * TICKS_PER_SECOND as f64) as i64)))
        },
    ),
    def(
        "unixtime_milliseconds_todatetime",
        1,
        1,
        |a| to(Type::DateTime, &[Param::Number])(a),
        |_, v| {
            real(&v[0])
                .map_or(Value::Null, |s| datetime(Some(UNIX_EPOCH_TICKS + (s * TICKS_PER_MILLISECOND as f64) as i64)))
        },
    ),
];

fn datetime(ticks: Option<i64>) -> Value {
    match ticks {
        Some(t) if (0..=MAX_TICKS).contains(&t) => Value::DateTime(t),
        _ => Value::Null,
    }
}

fn shift(now: i64, offset: Option<&Value>) -> Value {
    match offset {
        None => Value::DateTime(now),
        Some(offset) => timespan_arg(offset).map_or(Value::Null, |t| datetime(now.checked_add(t))),
    }
}

fn civil(value: &Value) -> Option<Civil> {
    datetime_arg(value).map(Civil::from_ticks)
}

fn day_of_year(c: Civil) -> u32 {
    (1..c.month).map(|m| days_in_month(c.year, m)).sum::<u32>() + c.day
}

fn check_bin(args: &Args) -> Result<Type, String> {
    let (value, size) = (args.types[0], args.types[1]);
    if let Some(third) = args.types.get(2)
        && !matches!(third, Type::DateTime | Type::TimeSpan | Type::Dynamic)
        && !third.is_numeric()
    {
        return Err(format!("expects a fixed point of the same type as the value, not {third}"));
    }
    match value {
        Type::DateTime if matches!(size, Type::TimeSpan | Type::Dynamic) || size.is_numeric() => Ok(Type::DateTime),
        Type::TimeSpan if matches!(size, Type::TimeSpan | Type::Dynamic) || size.is_numeric() => Ok(Type::TimeSpan),
        Type::Int | Type::Long if matches!(size, Type::Int | Type::Long) => Ok(Type::Long),
        t if t.is_numeric() && (size.is_numeric() || size == Type::Dynamic) => Ok(Type::Real),
        Type::Dynamic => Ok(Type::Real),
        _ => Err(format!("cannot round a {value} to bins of {size}")),
    }
}

fn floor_to(value: i64, size: i64) -> Option<i64> {
    (size > 0).then(|| value.div_euclid(size) * size)
}

/// `bin(value, size)`: rounds down to a multiple of `size` (datetimes from 0001-01-01, as Kusto does).
fn bin(context: &CallContext, v: &[Value]) -> Value {
    match context.result_type {
        Type::DateTime => {
            let size = timespan_arg(&v[1]).or_else(|| integer(&v[1]));
            match (datetime_arg(&v[0]), size) {
                (Some(t), Some(size)) => floor_to(t, size).map_or(Value::Null, Value::DateTime),
                _ => Value::Null,
            }
        }
        Type::TimeSpan => match (timespan_arg(&v[0]), timespan_arg(&v[1]).or_else(|| integer(&v[1]))) {
            (Some(t), Some(size)) => floor_to(t, size).map_or(Value::Null, Value::TimeSpan),
            _ => Value::Null,
        },
        Type::Long => match (v[0].as_i64(), v[1].as_i64()) {
            (Some(x), Some(size)) => floor_to(x, size).map_or(Value::Null, Value::Long),
            _ => Value::Null,
        },
        _ => match (real(&v[0]), real(&v[1])) {
            (Some(x), Some(size)) if size > 0.0 => Value::Real((x / size).floor() * size),
            _ => Value::Null,
        },
    }
}

/// `bin_at(value, size, fixed_point)`: bins aligned so that `fixed_point` starts one.
fn bin_at(context: &CallContext, v: &[Value]) -> Value {
    let shifted = |x: i64, size: i64, origin: i64| floor_to(x - origin, size).map(|b| b + origin);
    match context.result_type {
        Type::DateTime => match (datetime_arg(&v[0]), timespan_arg(&v[1]), datetime_arg(&v[2])) {
            (Some(t), Some(size), Some(origin)) => shifted(t, size, origin).map_or(Value::Null, Value::DateTime),
            _ => Value::Null,
        },
        Type::TimeSpan => match (timespan_arg(&v[0]), timespan_arg(&v[1]), timespan_arg(&v[2])) {
            (Some(t), Some(size), Some(origin)) => shifted(t, size, origin).map_or(Value::Null, Value::TimeSpan),
            _ => Value::Null,
        },
        Type::Long => match (v[0].as_i64(), v[1].as_i64(), v[2].as_i64()) {
            (Some(x), Some(size), Some(origin)) => shifted(x, size, origin).map_or(Value::Null, Value::Long),
            _ => Value::Null,
        },
        _ => match (real(&v[0]), real(&v[1]), real(&v[2])) {
            (Some(x), Some(size), Some(origin)) if size > 0.0 => {
                Value::Real(((x - origin) / size).floor() * size + origin)
            }
            _ => Value::Null,
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
    Nanosecond,
}

fn unit(name: &str) -> Option<Unit> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "year" | "years" => Unit::Year,
        "quarter" | "quarters" => Unit::Quarter,
        "month" | "months" => Unit::Month,
        "week" | "weeks" => Unit::Week,
        "day" | "days" => Unit::Day,
        "hour" | "hours" => Unit::Hour,
        "minute" | "minutes" => Unit::Minute,
        "second" | "seconds" => Unit::Second,
        "millisecond" | "milliseconds" => Unit::Millisecond,
        "microsecond" | "microseconds" => Unit::Microsecond,
        "nanosecond" | "nanoseconds" => Unit::Nanosecond,
        _ => return None,
    })
}

fn fixed_ticks(unit: Unit) -> Option<i64> {
    Some(match unit {
        Unit::Week => 7 * TICKS_PER_DAY,
        Unit::Day => TICKS_PER_DAY,
        Unit::Hour => TICKS_PER_HOUR,
        Unit::Minute => TICKS_PER_MINUTE,
        Unit::Second => TICKS_PER_SECOND,
        Unit::Millisecond => TICKS_PER_MILLISECOND,
        Unit::Microsecond => 10,
        _ => return None,
    })
}

/// Adds months, clamping the day to the end of the month (Jan 31 + 1 month = Feb 28/29), as .NET does.
fn add_months(ticks: i64, months: i64) -> Option<i64> {
    let mut c = Civil::from_ticks(ticks);
    let total = c.year * 12 + i64::from(c.month) - 1 + months;
    c.year = total.div_euclid(12);
    c.month = (total.rem_euclid(12) + 1) as u32;
    if !(1..=9999).contains(&c.year) {
        return None;
    }
    c.day = c.day.min(days_in_month(c.year, c.month));
    c.to_ticks()
}

fn datetime_add(_: &CallContext, v: &[Value]) -> Value {
    let (Some(unit), Some(amount), Some(ticks)) = (unit(&text(&v[0])), integer(&v[1]), datetime_arg(&v[2])) else {
        return Value::Null;
    };
    let result = match unit {
        Unit::Year => amount.checked_mul(12).and_then(|m| add_months(ticks, m)),
        Unit::Quarter => amount.checked_mul(3).and_then(|m| add_months(ticks, m)),
        Unit::Month => add_months(ticks, amount),
        Unit::Nanosecond => ticks.checked_add(amount / 100),
        other => {
            fixed_ticks(other).and_then(|size| amount.checked_mul(size)).and_then(|delta| ticks.checked_add(delta))
        }
    };
    datetime(result)
}

/// `datetime_diff(unit, a, b)`: how many unit boundaries lie between `b` and `a` (calendar semantics).
fn datetime_diff(_: &CallContext, v: &[Value]) -> Value {
    let (Some(unit), Some(a), Some(b)) = (unit(&text(&v[0])), datetime_arg(&v[1]), datetime_arg(&v[2])) else {
        return Value::Null;
    };
    let (ca, cb) = (Civil::from_ticks(a), Civil::from_ticks(b));
    let difference = match unit {
        Unit::Year => ca.year - cb.year,
        Unit::Quarter => (ca.year * 4 + i64::from((ca.month - 1) / 3)) - (cb.year * 4 + i64::from((cb.month - 1) / 3)),
        Unit::Month => (ca.year * 12 + i64::from(ca.month)) - (cb.year * 12 + i64::from(cb.month)),
        Unit::Week => {
            let week_start = |t: i64| t.div_euclid(TICKS_PER_DAY) - i64::from(Civil::from_ticks(t).weekday());
            (week_start(a) - week_start(b)) / 7
        }
        Unit::Nanosecond => (a - b) * 100,
        other => {
            let size = fixed_ticks(other).unwrap_or(1);
            a.div_euclid(size) - b.div_euclid(size)
        }
    };
    Value::Long(difference)
}

fn start_ticks(ticks: i64, unit: Unit, offset: i64) -> Option<i64> {
    let c = Civil::from_ticks(ticks);
    match unit {
        Unit::Day => Some(ticks.div_euclid(TICKS_PER_DAY) * TICKS_PER_DAY + offset * TICKS_PER_DAY),
        Unit::Week => {
            let day = ticks.div_euclid(TICKS_PER_DAY) - i64::from(c.weekday());
            Some((day + 7 * offset) * TICKS_PER_DAY)
        }
        Unit::Month => {
            add_months(Civil { day: 1, hour: 0, minute: 0, second: 0, fraction: 0, ..c }.to_ticks()?, offset)
        }
        Unit::Year => add_months(
            Civil { month: 1, day: 1, hour: 0, minute: 0, second: 0, fraction: 0, ..c }.to_ticks()?,
            offset * 12,
        ),
        _ => None,
    }
}

fn start_of(v: &[Value], unit: Unit) -> Value {
    let offset = v.get(1).and_then(integer).unwrap_or(0);
    datetime(datetime_arg(&v[0]).and_then(|t| start_ticks(t, unit, offset)))
}

fn end_of(v: &[Value], unit: Unit) -> Value {
    let offset = v.get(1).and_then(integer).unwrap_or(0);
    datetime(datetime_arg(&v[0]).and_then(|t| start_ticks(t, unit, offset + 1)).map(|next| next - 1))
}

/// Splits a format into runs of the same letter (`yyyy`, `MM`, `fff`) and single other characters.
fn format_tokens(format: &str) -> Vec<(char, usize)> {
    let mut tokens: Vec<(char, usize)> = Vec::new();
    for c in format.chars() {
        match tokens.last_mut() {
            Some((last, count)) if *last == c && c.is_ascii_alphabetic() => *count += 1,
            _ => tokens.push((c, 1)),
        }
    }
    tokens
}

fn write_fraction(out: &mut String, fraction: u32, digits: usize, trim: bool) {
    let digits = digits.min(7);
    let text = format!("{fraction:07}");
    let part = &text[..digits];
    if trim {
        out.push_str(part.trim_end_matches('0'));
    } else {
        out.push_str(part);
    }
}

fn format_datetime(_: &CallContext, v: &[Value]) -> Value {
    let Some(ticks) = datetime_arg(&v[0]) else { return Value::empty_string() };
    let c = Civil::from_ticks(ticks);
    let mut out = String::new();
    for (letter, count) in format_tokens(&text(&v[1])) {
        match (letter, count) {
            ('y', 1) => out.push_str(&(c.year % 100).to_string()),
            ('y', 2) => out.push_str(&format!("{:02}", c.year % 100)),
            ('y', n) => out.push_str(&format!("{:0width$}", c.year, width = n)),
            ('M', 1) => out.push_str(&c.month.to_string()),
            ('M', _) => out.push_str(&format!("{:02}", c.month)),
            ('d', 1) => out.push_str(&c.day.to_string()),
            ('d', _) => out.push_str(&format!("{:02}", c.day)),
            ('H', 1) => out.push_str(&c.hour.to_string()),
            ('H', _) => out.push_str(&format!("{:02}", c.hour)),
            ('h', n) => {
                let hour = if c.hour.is_multiple_of(12) { 12 } else { c.hour % 12 };
                out.push_str(&if n == 1 { hour.to_string() } else { format!("{hour:02}") });
            }
            ('m', 1) => out.push_str(&c.minute.to_string()),
            ('m', _) => out.push_str(&format!("{:02}", c.minute)),
            ('s', 1) => out.push_str(&c.second.to_string()),
            ('s', _) => out.push_str(&format!("{:02}", c.second)),
            ('f', n) => write_fraction(&mut out, c.fraction, n, false),
            ('F', n) => write_fraction(&mut out, c.fraction, n, true),
            ('t', _) => out.push_str(if c.hour < 12 { "AM" } else { "PM" }),
            (other, n) => (0..n).for_each(|_| out.push(other)),
        }
    }
    string_value(out)
}

fn format_timespan(_: &CallContext, v: &[Value]) -> Value {
    let Some(ticks) = timespan_arg(&v[0]) else { return Value::empty_string() };
    let magnitude = ticks.unsigned_abs() as i64;
    let days = magnitude / TICKS_PER_DAY;
    let hours = magnitude % TICKS_PER_DAY / TICKS_PER_HOUR;
    let minutes = magnitude % TICKS_PER_HOUR / TICKS_PER_MINUTE;
    let seconds = magnitude % TICKS_PER_MINUTE / TICKS_PER_SECOND;
    let fraction = (magnitude % TICKS_PER_SECOND) as u32;
    let mut out = String::new();
    if ticks < 0 {
        out.push('-');
    }
    for (letter, count) in format_tokens(&text(&v[1])) {
        match (letter, count) {
            ('d', n) => out.push_str(&format!("{days:0n$}")),
            ('h' | 'H', 1) => out.push_str(&hours.to_string()),
            ('h' | 'H', _) => out.push_str(&format!("{hours:02}")),
            ('m', 1) => out.push_str(&minutes.to_string()),
            ('m', _) => out.push_str(&format!("{minutes:02}")),
            ('s', 1) => out.push_str(&seconds.to_string()),
            ('s', _) => out.push_str(&format!("{seconds:02}")),
            ('f', n) => write_fraction(&mut out, fraction, n, false),
            ('F', n) => write_fraction(&mut out, fraction, n, true),
            (other, n) => (0..n).for_each(|_| out.push(other)),
        }
    }
    string_value(out)
}
