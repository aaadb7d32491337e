//! Cell values from the text of data files: a JSON value's raw text, a CSV cell, converted to the column's
//! type; and the inference of a column's type from sample values when no schema gives it.

use std::sync::Arc;

use super::super::datetime::{parse_datetime, parse_timespan};
use super::super::types::Type;
use super::super::value::{Dyn, Value, empty_str};

/// The value of a JSON value (its raw text) in a column of type `ty`.
pub fn from_raw_json(raw: &str, ty: Type) -> Value {
    let raw = raw.trim();
    match raw.as_bytes().first() {
        None | Some(b'n') => Value::null_of(ty),
        Some(b'"') => {
            let content = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
            if content.contains('\\') {
                match serde_json::from_str::<String>(raw) {
                    Ok(text) => from_text(&text, ty, true),
                    Err(_) => Value::null_of(ty),
                }
            } else {
                from_text(content, ty, true)
            }
        }
        Some(b'{' | b'[') => match ty {
            Type::Dynamic => Dyn::parse(raw).map_or(Value::Null, Value::Dynamic),
            Type::String | Type::Guid => Value::String(Arc::from(raw)),
            _ => Value::null_of(ty),
        },
        Some(b't' | b'f') => {
            let truth = raw == "true";
            match ty {
                Type::Bool => Value::Bool(truth),
                Type::Dynamic => Value::Dynamic(Dyn::Bool(truth)),
                Type::String | Type::Guid => Value::String(Arc::from(raw)),
                Type::Int => Value::Int(i32::from(truth)),
                Type::Long => Value::Long(i64::from(truth)),
                _ => Value::null_of(ty),
            }
        }
        Some(_) => number(raw, ty),
    }
}

/// A decimal: exact when whole (Graph sends `parse_version`'s as digits), else the nearest real.
fn decimal(text: &str) -> Value {
    match text.parse::<i128>() {
        Ok(whole) => Value::Decimal(whole.into()),
        Err(_) => text.parse::<f64>().map_or(Value::Null, Value::Real),
    }
}

/// A JSON number in a column of type `ty`.
fn number(raw: &str, ty: Type) -> Value {
    match ty {
        Type::Long => raw
            .parse::<i64>()
            .ok()
            .or_else(|| raw.parse::<f64>().ok().map(|x| x as i64))
            .map_or(Value::Null, Value::Long),
        Type::Int => raw.parse::<i64>().ok().and_then(|n| i32::try_from(n).ok()).map_or(Value::Null, Value::Int),
        Type::Decimal => decimal(raw),
        Type::Real => raw.parse::<f64>().map_or(Value::Null, Value::Real),
        Type::Bool => raw.parse::<f64>().map_or(Value::Null, |x| Value::Bool(x != 0.0)),
        Type::String | Type::Guid => Value::String(Arc::from(raw)),
        Type::Dynamic => Dyn::parse(raw).map_or(Value::Null, Value::Dynamic),
        Type::TimeSpan => raw.parse::<i64>().map_or(Value::Null, Value::TimeSpan),
        Type::DateTime => Value::Null,
    }
}

/// The value of a piece of text (a CSV cell, or the content of a JSON string) in a column of type `ty`.
/// `quoted` text was a JSON string: in a dynamic column it stays a string unless it holds a JSON object or
/// array (Graph may send dynamic values as JSON text).
pub fn from_text(text: &str, ty: Type, quoted: bool) -> Value {
    match ty {
        Type::String | Type::Guid => {
            if text.is_empty() {
                Value::String(empty_str())
            } else {
                Value::String(Arc::from(text))
            }
        }
        _ if text.trim().is_empty() => Value::null_of(ty),
        Type::DateTime => parse_datetime(text).map_or(Value::Null, Value::DateTime),
        Type::TimeSpan => parse_timespan(text).map_or(Value::Null, Value::TimeSpan),
        Type::Long => {
            let text = text.trim();
            text.parse::<i64>()
                .ok()
                .or_else(|| text.parse::<f64>().ok().map(|x| x as i64))
                .map_or(Value::Null, Value::Long)
        }
        Type::Int => text.trim().parse::<i32>().map_or(Value::Null, Value::Int),
        Type::Decimal => decimal(text.trim()),
        Type::Real => text.trim().parse::<f64>().map_or(Value::Null, Value::Real),
        Type::Bool => match text.trim() {
            t if t.eq_ignore_ascii_case("true") || t == "1" => Value::Bool(true),
            t if t.eq_ignore_ascii_case("false") || t == "0" => Value::Bool(false),
            _ => Value::Null,
        },
        Type::Dynamic => {
            let trimmed = text.trim_start();
            if (trimmed.starts_with(['{', '[']) || !quoted)
                && let Some(parsed) = Dyn::parse(text)
            {
                return Value::Dynamic(parsed);
            }
            Value::Dynamic(Dyn::String(Arc::from(text)))
        }
    }
}

/// What the sample values of one column looked like.
#[derive(Clone, Debug, Default)]
pub struct TypeGuess {
    strings: usize,
    datetimes: usize,
    integers: usize,
    reals: usize,
    bools: usize,
    structured: usize,
}

impl TypeGuess {
    pub fn observe_json(&mut self, value: &serde_json::Value) {
        use serde_json::Value as J;
        match value {
            J::Null => {}
            J::Bool(_) => self.bools += 1,
            J::Number(n) if n.is_i64() || n.is_u64() => self.integers += 1,
            J::Number(_) => self.reals += 1,
            J::String(s) => self.observe_string(s),
            J::Array(_) | J::Object(_) => self.structured += 1,
        }
    }

    fn observe_string(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.strings += 1;
        if text.len() >= 10 && parse_datetime(text).is_some() {
            self.datetimes += 1;
        }
    }

    /// A CSV cell: numbers, booleans and JSON are recognised in the text.
    pub fn observe_text(&mut self, text: &str) {
        let trimmed = text.trim();
        if trimmed.is_empty() {
        } else if trimmed.parse::<i64>().is_ok() {
            self.integers += 1;
        } else if trimmed.parse::<f64>().is_ok() {
            self.reals += 1;
        } else if trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false") {
            self.bools += 1;
        } else if trimmed.starts_with(['{', '[']) && serde_json::from_str::<serde_json::Value>(trimmed).is_ok() {
            self.structured += 1;
        } else {
            self.observe_string(trimmed);
        }
    }

    pub fn ty(&self) -> Type {
        let kinds = [self.strings > 0, self.integers + self.reals > 0, self.bools > 0, self.structured > 0];
        match kinds {
            [false, false, false, false] => Type::String,
            [true, false, false, false] if self.datetimes == self.strings => Type::DateTime,
            [true, false, false, false] => Type::String,
            [false, true, false, false] if self.reals > 0 => Type::Real,
            [false, true, false, false] => Type::Long,
            [false, false, true, false] => Type::Bool,
            _ => Type::Dynamic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_json_to_each_type() {
        assert_eq!(from_raw_json(r#""IsolateDevice""#, Type::String), Value::string("IsolateDevice"));
        assert_eq!(from_raw_json(r#""a\"b""#, Type::String), Value::string("a\"b"));
        assert_eq!(from_raw_json("null", Type::String), Value::string(""));
        assert_eq!(from_raw_json("null", Type::Long), Value::Null);
        assert_eq!(from_raw_json("42", Type::Long), Value::Long(42));
        assert_eq!(from_raw_json(r#""42""#, Type::Long), Value::Long(42));
        assert_eq!(from_raw_json("11161", Type::String), Value::string("11161"));
        assert!(matches!(from_raw_json(r#""2024-03-26T09:39:50.7688641Z""#, Type::DateTime), Value::DateTime(_)));
        assert_eq!(from_raw_json("true", Type::Bool), Value::Bool(true));
        let object = from_raw_json(r#"{"a":1}"#, Type::Dynamic);
        assert_eq!(object.to_text().as_ref(), r#"{"a":1}"#);
        let stringified = from_raw_json(r#""{\"a\":1}""#, Type::Dynamic);
        assert_eq!(stringified.to_text().as_ref(), r#"{"a":1}"#, "Graph sends dynamics as JSON text");
        assert_eq!(from_raw_json(r#""plain""#, Type::Dynamic), Value::Dynamic(Dyn::String(Arc::from("plain"))));
    }

    #[test]
    fn guesses() {
        let mut guess = TypeGuess::default();
        guess.observe_json(&serde_json::json!("2024-01-01T00:00:00Z"));
        guess.observe_json(&serde_json::json!(null));
        assert_eq!(guess.ty(), Type::DateTime);
        let mut guess = TypeGuess::default();
        guess.observe_json(&serde_json::json!(1));
        guess.observe_json(&serde_json::json!(1.5));
        assert_eq!(guess.ty(), Type::Real);
        let mut guess = TypeGuess::default();
        guess.observe_json(&serde_json::json!("a"));
        guess.observe_json(&serde_json::json!(1));
        assert_eq!(guess.ty(), Type::Dynamic);
        let mut guess = TypeGuess::default();
        guess.observe_text("12");
        guess.observe_text("");
        assert_eq!(guess.ty(), Type::Long);
    }
}
