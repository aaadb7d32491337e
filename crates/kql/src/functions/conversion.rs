//! `tostring`, `toint`, `tolong`, `todouble`, `tobool`, `todatetime`, `totimespan`, `parse_json`, `gettype`,
//! `parse_version`.

use super::super::datetime::{parse_datetime, parse_timespan};
use super::super::types::Type;
use super::super::value::{Dyn, Value};
use super::{Args, CallContext, FunctionDef, Param, ResultName, def, expect};

fn any_to(ty: Type) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, &[Param::Any]).map(|()| ty)
}

pub(super) static FUNCTIONS: [FunctionDef; 16] = [
    FunctionDef {
        result_name: ResultName::FirstArgument,
        ..def("tostring", 1, 1, |a| any_to(Type::String)(a), |_, v| Value::String(v[0].to_text()))
    },
    def("toint", 1, 1, |a| any_to(Type::Int)(a), |_, v| convert(&v[0], Type::Int)),
    def("tolong", 1, 1, |a| any_to(Type::Long)(a), |_, v| convert(&v[0], Type::Long)),
    def("todouble", 1, 1, |a| any_to(Type::Real)(a), |_, v| convert(&v[0], Type::Real)),
    def("toreal", 1, 1, |a| any_to(Type::Real)(a), |_, v| convert(&v[0], Type::Real)),
    def("todecimal", 1, 1, |a| any_to(Type::Decimal)(a), |_, v| convert(&v[0], Type::Real)),
    def("tobool", 1, 1, |a| any_to(Type::Bool)(a), |_, v| convert(&v[0], Type::Bool)),
    def("toboolean", 1, 1, |a| any_to(Type::Bool)(a), |_, v| convert(&v[0], Type::Bool)),
    def("todatetime", 1, 1, |a| any_to(Type::DateTime)(a), |_, v| convert(&v[0], Type::DateTime)),
    def("totimespan", 1, 1, |a| any_to(Type::TimeSpan)(a), |_, v| convert(&v[0], Type::TimeSpan)),
    def("totime", 1, 1, |a| any_to(Type::TimeSpan)(a), |_, v| convert(&v[0], Type::TimeSpan)),
    def("todynamic", 1, 1, |a| any_to(Type::Dynamic)(a), |_, v| parse_json(&v[0])),
    def("parse_json", 1, 1, |a| any_to(Type::Dynamic)(a), |_, v| parse_json(&v[0])),
    def("parsejson", 1, 1, |a| any_to(Type::Dynamic)(a), |_, v| parse_json(&v[0])),
    def("gettype", 1, 1, |a| any_to(Type::String)(a), gettype),
    def("parse_version", 1, 1, |a| expect(a, &[Param::String]).map(|()| Type::Decimal), |_, v| parse_version(&v[0])),
];

/// `parse_version`: one to four dot-separated parts of up to eight digits each, missing parts 0, as one
/// decimal in which each part takes eight digits (docs: `1.2.3.4` is 1,000,000,020,000,000,300,000,004, `0.2`
/// is 20,000,000,000,000,000); null when the text is not such a version.
fn parse_version(value: &Value) -> Value {
    let text = value.to_text();
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return Value::Null;
    }
    let mut version: i128 = 0;
    for position in 0..4 {
        let part = match parts.get(position) {
            Some(part) if (1..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()) => part,
            Some(_) => return Value::Null,
            None => "0",
        };
        let Ok(number) = part.parse::<i128>() else { return Value::Null };
        version = version * 100_000_000 + number;
    }
    Value::Decimal(version.into())
}

/// `parse_json`: a string holding JSON becomes that JSON; other text becomes a dynamic string; a dynamic is
/// returned as is (so `parse_json(RawEventData)` costs nothing when the column is already parsed).
fn parse_json(value: &Value) -> Value {
    match value {
        Value::Dynamic(Dyn::String(s)) | Value::String(s) => {
            if s.trim().is_empty() {
                return Value::Dynamic(Dyn::Null);
            }
            Value::Dynamic(Dyn::parse(s).unwrap_or_else(|| Dyn::String(s.clone())))
        }
        Value::Dynamic(_) => value.clone(),
        other => Value::Dynamic(other.to_dyn()),
    }
}

fn gettype(context: &CallContext, values: &[Value]) -> Value {
    let name = match &values[0] {
        Value::Dynamic(Dyn::Long(n)) if i32::try_from(*n).is_ok() => "int",
        Value::Dynamic(d) => d.type_name(),
        Value::Null => context.argument_types.first().map_or("null", |t| t.name()),
        Value::String(_) => match context.argument_types.first() {
            Some(Type::Guid) => "guid",
            _ => "string",
        },
        Value::Real(_) if context.argument_types.first() == Some(&Type::Decimal) => "decimal",
        other => other.runtime_type().map_or("null", Type::name),
    };
    Value::string(name)
}

fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        text.parse::<i64>().ok().map(|n| n != 0)
    }
}

fn parse_integer(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>().ok().or_else(|| {
        let real: f64 = text.parse().ok()?;
        (real.is_finite() && real.abs() < 9.2e18).then(|| real.trunc() as i64)
    })
}

/// Converts a value to `ty` (`toint`, `tostring`, `to typeof(...)`, implicit widening); null when the value
/// does not convert.
pub(super) fn convert(value: &Value, ty: Type) -> Value {
    if value.is_null() {
        return Value::null_of(ty);
    }
    match ty {
        Type::String | Type::Guid => Value::String(value.to_text()),
        Type::Dynamic => Value::Dynamic(value.to_dyn()),
        Type::Bool => match value {
            Value::Bool(b) | Value::Dynamic(Dyn::Bool(b)) => Value::Bool(*b),
            Value::String(s) | Value::Dynamic(Dyn::String(s)) => parse_bool(s).map_or(Value::Null, Value::Bool),
            other => other.as_f64().map_or(Value::Null, |x| Value::Bool(x != 0.0)),
        },
        Type::Int | Type::Long => {
            let number = match value {
                Value::String(s) | Value::Dynamic(Dyn::String(s)) => parse_integer(s),
                Value::DateTime(t) | Value::TimeSpan(t) | Value::Dynamic(Dyn::DateTime(t) | Dyn::TimeSpan(t)) => {
                    Some(*t)
                }
                Value::Real(x) | Value::Dynamic(Dyn::Real(x)) => {
                    (x.is_finite() && x.abs() < 9.2e18).then(|| x.trunc() as i64)
                }
                other => other.as_i64(),
            };
            match (number, ty) {
                (Some(n), Type::Int) => i32::try_from(n).map_or(Value::Null, Value::Int),
                (Some(n), _) => Value::Long(n),
                (None, _) => Value::Null,
            }
        }
        Type::Decimal if matches!(value, Value::Decimal(_)) => value.clone(),
        Type::Real | Type::Decimal => match value {
            Value::String(s) | Value::Dynamic(Dyn::String(s)) => s.trim().parse().map_or(Value::Null, Value::Real),
            Value::DateTime(t) | Value::TimeSpan(t) => Value::Real(*t as f64),
            other => other.as_f64().map_or(Value::Null, Value::Real),
        },
        Type::DateTime => match value {
            Value::DateTime(t) | Value::Dynamic(Dyn::DateTime(t)) => Value::DateTime(*t),
            Value::String(s) | Value::Dynamic(Dyn::String(s)) => parse_datetime(s).map_or(Value::Null, Value::DateTime),
            _ => Value::Null,
        },
        Type::TimeSpan => match value {
            Value::TimeSpan(t) | Value::Dynamic(Dyn::TimeSpan(t)) => Value::TimeSpan(*t),
            Value::String(s) | Value::Dynamic(Dyn::String(s)) => parse_timespan(s).map_or(Value::Null, Value::TimeSpan),
            Value::Int(_) | Value::Long(_) | Value::Dynamic(Dyn::Long(_)) => {
                value.as_i64().map_or(Value::Null, Value::TimeSpan)
            }
            _ => Value::Null,
        },
    }
}
