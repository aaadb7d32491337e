//! Values: what a cell holds at run time. `Value` is a KQL scalar; `Dyn` is the content of a `dynamic`
//! (JSON plus datetimes and timespans, which Kusto keeps typed inside arrays and bags). Both are cheap to
//! clone: strings, arrays and bags are reference-counted.
//!
//! The rules of comparison and conversion that must match Kusto live here, next to the types:
//! `string` is never null (a missing string is `""`), comparisons with null yield null (which `where`
//! treats as false), a `dynamic` compared with a string compares its string form.

use std::cmp::Ordering;
use std::fmt::Write;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::datetime::{format_datetime, format_timespan, parse_datetime, parse_timespan, write_datetime};
use super::types::Type;

pub type Str = Arc<str>;

/// The content of a `dynamic` value.
/// Derived equality is structural (for tests and the AST); KQL's `==` is `equals`.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Dyn {
    #[default]
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    String(Str),
    DateTime(i64),
    TimeSpan(i64),
    Array(Arc<[Dyn]>),
    /// A property bag, in insertion order. Keys are case-sensitive; on a duplicate key the last one wins.
    Object(Arc<[(Str, Dyn)]>),
}

/// A whole decimal's 128 bits, kept as two 64-bit halves: an `i128` would align a `Value` to 16 bytes and make
/// every cell of every row 32 bytes instead of 24.
// Ordered as the number it holds: the signed high half first, then the unsigned low half.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Whole {
    high: i64,
    low: u64,
}

impl Whole {
    pub fn get(self) -> i128 {
        (i128::from(self.high) << 64) | i128::from(self.low)
    }
}

impl From<i128> for Whole {
    fn from(n: i128) -> Self {
        // The two halves of the same 128 bits: the casts keep every bit.
        Whole { high: (n >> 64) as i64, low: n as u64 }
    }
}

/// A KQL scalar value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    /// A null of any type but `string`.
    #[default]
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    /// `real`, and a `decimal` with a fraction (`todecimal(1.5)`), held as `real`.
    Real(f64),
    /// A whole `decimal`, exactly: `parse_version("10.0.19041.1")` is 10,000,000,000,000,001,904,100,000,001,
    /// which no `f64` tells apart from the next version.
    Decimal(Whole),
    /// `string`, and `guid` which is held as a string.
    String(Str),
    DateTime(i64),
    TimeSpan(i64),
    Dynamic(Dyn),
}

/// The empty string, shared: missing string cells are common and need no allocation each.
pub fn empty_str() -> Str {
    static EMPTY: std::sync::OnceLock<Str> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from("")).clone()
}

impl Value {
    /// The same value with its own allocations, shared with nothing: a thread that clones it often (the right
    /// side of a lookup) then counts references on its own cache lines, not on another thread's.
    pub fn unshared(&self) -> Value {
        match self {
            Value::String(s) => Value::String(Str::from(&**s)),
            Value::Dynamic(d) => Value::Dynamic(d.unshared()),
            other => other.clone(),
        }
    }

    pub fn string(text: impl Into<Str>) -> Value {
        Value::String(text.into())
    }

    pub fn empty_string() -> Value {
        Value::String(empty_str())
    }

    /// The value a cell of `ty` holds when it has none: `""` for strings, null otherwise.
    pub fn null_of(ty: Type) -> Value {
        if ty.is_stringlike() { Value::empty_string() } else { Value::Null }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Dynamic(Dyn::Null))
    }

    /// `isempty`: null, or an empty string, or an empty string inside a dynamic.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null | Value::Dynamic(Dyn::Null) => true,
            Value::String(s) => s.is_empty(),
            Value::Dynamic(Dyn::String(s)) => s.is_empty(),
            _ => false,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) | Value::Dynamic(Dyn::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// `true` only for a boolean true: what `where` keeps.
    pub fn is_true(&self) -> bool {
        self.as_bool() == Some(true)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Dynamic(Dyn::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn as_dyn(&self) -> Option<&Dyn> {
        match self {
            Value::Dynamic(d) => Some(d),
            _ => None,
        }
    }

    /// The value as a 64-bit integer, for numeric arguments (`take 10`, `substring(s, 2)`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(i64::from(*n)),
            Value::Long(n) | Value::Dynamic(Dyn::Long(n)) => Some(*n),
            Value::Real(x) | Value::Dynamic(Dyn::Real(x)) if x.is_finite() => Some(x.trunc() as i64),
            Value::Bool(b) | Value::Dynamic(Dyn::Bool(b)) => Some(i64::from(*b)),
            Value::Decimal(n) => i64::try_from(n.get()).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(f64::from(*n)),
            Value::Long(n) | Value::Dynamic(Dyn::Long(n)) => Some(*n as f64),
            Value::Real(x) | Value::Dynamic(Dyn::Real(x)) => Some(*x),
            Value::Bool(b) | Value::Dynamic(Dyn::Bool(b)) => Some(f64::from(u8::from(*b))),
            Value::Decimal(n) => Some(n.get() as f64),
            _ => None,
        }
    }

    /// The type of the value itself, for `gettype` and for inferring dynamic contents.
    pub fn runtime_type(&self) -> Option<Type> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => Type::Bool,
            Value::Int(_) => Type::Int,
            Value::Long(_) => Type::Long,
            Value::Real(_) => Type::Real,
            Value::Decimal(_) => Type::Decimal,
            Value::String(_) => Type::String,
            Value::DateTime(_) => Type::DateTime,
            Value::TimeSpan(_) => Type::TimeSpan,
            Value::Dynamic(_) => Type::Dynamic,
        })
    }

    /// `tostring()`: the text of the value; `""` for null.
    pub fn to_text(&self) -> Str {
        match self {
            Value::String(s) | Value::Dynamic(Dyn::String(s)) => s.clone(),
            _ => Arc::from(self.to_text_string()),
        }
    }

    fn to_text_string(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// Appends the `tostring()` text of the value.
    pub fn write_text(&self, out: &mut String) {
        match self {
            Value::Null => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Long(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Real(x) => write_real(out, *x),
            Value::Decimal(n) => {
                let _ = write!(out, "{}", n.get());
            }
            Value::String(s) => out.push_str(s),
            Value::DateTime(t) => write_datetime(out, *t),
            Value::TimeSpan(t) => out.push_str(&format_timespan(*t)),
            Value::Dynamic(d) => d.write_text(out),
        }
    }

    /// The value inside a `dynamic` (for `pack_array`, `make_list`, `bag_pack`).
    pub fn to_dyn(&self) -> Dyn {
        match self {
            Value::Null => Dyn::Null,
            Value::Bool(b) => Dyn::Bool(*b),
            Value::Int(n) => Dyn::Long(i64::from(*n)),
            Value::Long(n) => Dyn::Long(*n),
            Value::Real(x) => Dyn::Real(*x),
            // A dynamic holds no decimal: the nearest number.
            Value::Decimal(n) => i64::try_from(n.get()).map_or(Dyn::Real(n.get() as f64), Dyn::Long),
            Value::String(s) => Dyn::String(s.clone()),
            Value::DateTime(t) => Dyn::DateTime(*t),
            Value::TimeSpan(t) => Dyn::TimeSpan(*t),
            Value::Dynamic(d) => d.clone(),
        }
    }

    /// The JSON form used in Graph results and `--format json`: datetimes and timespans as strings,
    /// dynamics as JSON, non-finite reals as the strings .NET prints.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(n) => J::from(*n),
            Value::Long(n) => J::from(*n),
            Value::Real(x) => real_to_json(*x),
            // As digits: a JSON number would lose them (Kusto's REST answers give decimals as strings too).
            Value::Decimal(n) => J::String(n.get().to_string()),
            Value::String(s) => J::String(s.to_string()),
            Value::DateTime(t) => J::String(format_datetime(*t)),
            Value::TimeSpan(t) => J::String(format_timespan(*t)),
            Value::Dynamic(d) => d.to_json(),
        }
    }
}

fn real_to_json(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, serde_json::Value::Number)
    } else {
        serde_json::Value::String(format_real(x))
    }
}

/// A real as Kusto (.NET) prints it: the shortest text that round-trips, `1` for 1.0, exponent notation from
/// 1E+15 up and below 1E-05, `NaN`, `Infinity`, `-Infinity`.
pub fn format_real(x: f64) -> String {
    let mut out = String::new();
    write_real(&mut out, x);
    out
}

pub fn write_real(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else if x == 0.0 {
        out.push('0');
    } else {
        let magnitude = x.abs();
        if (1e-5..1e15).contains(&magnitude) {
            let _ = write!(out, "{x}");
        } else {
            let scientific = format!("{x:e}");
            let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            let _ = write!(out, "{mantissa}E{sign}{:02}", exponent.abs());
        }
    }
}

impl Dyn {
    /// The same value with its own allocations, shared with nothing (see `Value::unshared`).
    pub fn unshared(&self) -> Dyn {
        match self {
            Dyn::String(s) => Dyn::String(Str::from(&**s)),
            Dyn::Array(items) => Dyn::Array(items.iter().map(Dyn::unshared).collect()),
            Dyn::Object(pairs) => Dyn::Object(pairs.iter().map(|(k, v)| (Str::from(&**k), v.unshared())).collect()),
            other => other.clone(),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Dyn::Null)
    }

    pub fn object(pairs: Vec<(Str, Dyn)>) -> Dyn {
        Dyn::Object(Arc::from(pairs))
    }

    pub fn array(items: Vec<Dyn>) -> Dyn {
        Dyn::Array(Arc::from(items))
    }

    /// A property of a bag (`d.Name`, `d["Name"]`); null for a missing key or a value that is not a bag.
    pub fn member(&self, key: &str) -> Dyn {
        match self {
            Dyn::Object(pairs) => {
                pairs.iter().rev().find(|(k, _)| &**k == key).map(|(_, v)| v.clone()).unwrap_or_default()
            }
            _ => Dyn::Null,
        }
    }

    /// An array element (`d[0]`, `d[-1]` counts from the end); null when out of range or not an array.
    pub fn element(&self, index: i64) -> Dyn {
        match self {
            Dyn::Array(items) => {
                let len = items.len() as i64;
                let position = if index < 0 { len + index } else { index };
                if (0..len).contains(&position) { items[position as usize].clone() } else { Dyn::Null }
            }
            _ => Dyn::Null,
        }
    }

    /// The scalar a `dynamic` holds, as a `Value` of its own type (`Dyn::Long` → `Value::Long`).
    pub fn to_scalar(&self) -> Value {
        match self {
            Dyn::Null => Value::Null,
            Dyn::Bool(b) => Value::Bool(*b),
            Dyn::Long(n) => Value::Long(*n),
            Dyn::Real(x) => Value::Real(*x),
            Dyn::String(s) => Value::String(s.clone()),
            Dyn::DateTime(t) => Value::DateTime(*t),
            Dyn::TimeSpan(t) => Value::TimeSpan(*t),
            Dyn::Array(_) | Dyn::Object(_) => Value::Dynamic(self.clone()),
        }
    }

    /// The KQL type name `gettype` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Dyn::Null => "null",
            Dyn::Bool(_) => "bool",
            Dyn::Long(_) => "long",
            Dyn::Real(_) => "real",
            Dyn::String(_) => "string",
            Dyn::DateTime(_) => "datetime",
            Dyn::TimeSpan(_) => "timespan",
            Dyn::Array(_) => "array",
            Dyn::Object(_) => "dictionary",
        }
    }

    /// `tostring()` of a dynamic: a string without quotes, `""` for null, compact JSON otherwise.
    pub fn write_text(&self, out: &mut String) {
        match self {
            Dyn::Null => {}
            Dyn::String(s) => out.push_str(s),
            Dyn::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Dyn::Long(n) => {
                let _ = write!(out, "{n}");
            }
            Dyn::Real(x) => write_real(out, *x),
            Dyn::DateTime(t) => write_datetime(out, *t),
            Dyn::TimeSpan(t) => out.push_str(&format_timespan(*t)),
            Dyn::Array(_) | Dyn::Object(_) => out.push_str(&self.to_json_text()),
        }
    }

    pub fn to_text(&self) -> Str {
        match self {
            Dyn::String(s) => s.clone(),
            _ => {
                let mut out = String::new();
                self.write_text(&mut out);
                Arc::from(out)
            }
        }
    }

    /// Compact JSON text.
    pub fn to_json_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Dyn::Null => J::Null,
            Dyn::Bool(b) => J::Bool(*b),
            Dyn::Long(n) => J::from(*n),
            Dyn::Real(x) => real_to_json(*x),
            Dyn::String(s) => J::String(s.to_string()),
            Dyn::DateTime(t) => J::String(format_datetime(*t)),
            Dyn::TimeSpan(t) => J::String(format_timespan(*t)),
            Dyn::Array(items) => J::Array(items.iter().map(Dyn::to_json).collect()),
            Dyn::Object(pairs) => {
                let mut map = serde_json::Map::new();
                for (key, value) in pairs.iter() {
                    map.insert(key.to_string(), value.to_json());
                }
                J::Object(map)
            }
        }
    }

    pub fn from_json(value: &serde_json::Value) -> Dyn {
        use serde_json::Value as J;
        match value {
            J::Null => Dyn::Null,
            J::Bool(b) => Dyn::Bool(*b),
            J::Number(n) => n.as_i64().map(Dyn::Long).unwrap_or_else(|| Dyn::Real(n.as_f64().unwrap_or(f64::NAN))),
            J::String(s) => Dyn::String(Arc::from(s.as_str())),
            J::Array(items) => Dyn::array(items.iter().map(Dyn::from_json).collect()),
            J::Object(map) => {
                Dyn::object(map.iter().map(|(k, v)| (Arc::from(k.as_str()), Dyn::from_json(v))).collect())
            }
        }
    }

    /// Parses JSON text (`parse_json`); `None` if it is not JSON. A lone surrogate escape, which Kusto reads
    /// and `serde_json` refuses, is read as U+FFFD instead of making the whole value null.
    pub fn parse(text: &str) -> Option<Dyn> {
        match serde_json::from_str(text) {
            Ok(value) => Some(value),
            Err(_) if super::unicode::may_hold_surrogates(text.as_bytes()) => {
                let (repaired, _) = super::unicode::repair_lone_surrogates(text)?;
                serde_json::from_str(&repaired).ok()
            }
            Err(_) => None,
        }
    }

    fn structural_eq(&self, other: &Dyn) -> bool {
        match (self, other) {
            (Dyn::Array(a), Dyn::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.structural_eq(y))
            }
            (Dyn::Object(a), Dyn::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v.structural_eq(v2)))
            }
            _ => equals(&self.to_scalar(), &other.to_scalar(), false) == Some(true),
        }
    }
}

impl Serialize for Dyn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Dyn::Null => serializer.serialize_unit(),
            Dyn::Bool(b) => serializer.serialize_bool(*b),
            Dyn::Long(n) => serializer.serialize_i64(*n),
            Dyn::Real(x) if x.is_finite() => serializer.serialize_f64(*x),
            Dyn::Real(x) => serializer.serialize_str(&format_real(*x)),
            Dyn::String(s) => serializer.serialize_str(s),
            Dyn::DateTime(t) => serializer.serialize_str(&format_datetime(*t)),
            Dyn::TimeSpan(t) => serializer.serialize_str(&format_timespan(*t)),
            Dyn::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Dyn::Object(pairs) => {
                let mut map = serializer.serialize_map(Some(pairs.len()))?;
                for (key, value) in pairs.iter() {
                    map.serialize_entry(&**key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Dyn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Dyn, D::Error> {
        deserializer.deserialize_any(DynVisitor)
    }
}

struct DynVisitor;

impl<'de> Visitor<'de> for DynVisitor {
    type Value = Dyn;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Dyn, E> {
        Ok(Dyn::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dyn, E> {
        Ok(Dyn::Long(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dyn, E> {
        Ok(i64::try_from(v).map(Dyn::Long).unwrap_or(Dyn::Real(v as f64)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dyn, E> {
        Ok(Dyn::Real(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Dyn, E> {
        Ok(Dyn::String(Arc::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Dyn, E> {
        Ok(Dyn::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Dyn, E> {
        Ok(Dyn::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Dyn, D::Error> {
        Dyn::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Dyn, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Dyn::array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dyn, A::Error> {
        let mut pairs: Vec<(Str, Dyn)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<KeyStr>()? {
            let value: Dyn = map.next_value()?;
            pairs.push((key.0, value));
        }
        Ok(Dyn::object(pairs))
    }
}

/// A map key read without an intermediate `String` when the input can lend it.
struct KeyStr(Str);

impl<'de> Deserialize<'de> for KeyStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyStr, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyStr;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyStr, E> {
                Ok(KeyStr(Arc::from(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Comparison

/// Case-insensitive string equality (ordinal, ignoring case, with an ASCII fast path).
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.to_lowercase() == b.to_lowercase() }
}

/// `a == b` (or `=~` when `ignore_case`), as Kusto defines it for nulls: two nulls give null, a null and a
/// value give `false` (so `!=` gives `true`: `where x != 5` keeps the rows where `x` is null).
pub fn equals(a: &Value, b: &Value, ignore_case: bool) -> Option<bool> {
    match (a.is_null(), b.is_null()) {
        (true, true) => return None,
        (true, false) | (false, true) => return Some(false),
        (false, false) => {}
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(if ignore_case { eq_ignore_case(x, y) } else { x == y }),
        (Value::Dynamic(Dyn::Array(_) | Dyn::Object(_)), Value::Dynamic(y @ (Dyn::Array(_) | Dyn::Object(_)))) => {
            a.as_dyn().map(|x| x.structural_eq(y))
        }
        // A dynamic compared with a string compares its string form.
        (Value::Dynamic(d), Value::String(s)) | (Value::String(s), Value::Dynamic(d)) => {
            let text = d.to_text();
            Some(if ignore_case { eq_ignore_case(&text, s) } else { *text == **s })
        }
        _ => compare(a, b).map(|ordering| ordering == Ordering::Equal),
    }
}

/// Orders two values of comparable types; `None` for nulls and incomparable types.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Null, _) | (_, Null) => None,
        (String(x), String(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Long(x), Long(y)) => Some(x.cmp(y)),
        (Int(x), Long(y)) => Some(i64::from(*x).cmp(y)),
        (Long(x), Int(y)) => Some(x.cmp(&i64::from(*y))),
        (Decimal(x), Decimal(y)) => Some(x.get().cmp(&y.get())),
        (Decimal(x), Long(y)) => Some(x.get().cmp(&i128::from(*y))),
        (Long(x), Decimal(y)) => Some(i128::from(*x).cmp(&y.get())),
        (Decimal(x), Int(y)) => Some(x.get().cmp(&i128::from(*y))),
        (Int(x), Decimal(y)) => Some(i128::from(*x).cmp(&y.get())),
        (DateTime(x), DateTime(y)) | (TimeSpan(x), TimeSpan(y)) => Some(x.cmp(y)),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Dynamic(x), Dynamic(y)) => match (x, y) {
            (Dyn::Null, _) | (_, Dyn::Null) => None,
            (Dyn::Array(_) | Dyn::Object(_), _) | (_, Dyn::Array(_) | Dyn::Object(_)) => None,
            _ => compare(&x.to_scalar(), &y.to_scalar()),
        },
        (Dynamic(d), other) => compare_dynamic(d, other),
        (other, Dynamic(d)) => compare_dynamic(d, other).map(Ordering::reverse),
        (String(s), DateTime(_)) => compare(&parse_datetime(s).map_or(Null, DateTime), b),
        (DateTime(_), String(s)) => compare(a, &parse_datetime(s).map_or(Null, DateTime)),
        _ => {
            let (x, y) = (a.as_f64()?, b.as_f64()?);
            x.partial_cmp(&y)
        }
    }
}

/// A dynamic against a typed scalar: the dynamic is read as that scalar's type (`SettingsNewValue == 0` on a
/// dynamic `false` holds).
fn compare_dynamic(d: &Dyn, other: &Value) -> Option<Ordering> {
    let scalar = d.to_scalar();
    match (other, &scalar) {
        (Value::String(s), _) => Some(d.to_text().as_ref().cmp(s.as_ref())),
        // An array or a bag orders against no other scalar (and is still a dynamic: no recursion on it).
        (_, Value::Dynamic(_)) => None,
        (Value::DateTime(_), Value::String(text)) => {
            compare(&parse_datetime(text).map_or(Value::Null, Value::DateTime), other)
        }
        (Value::TimeSpan(_), Value::String(text)) => {
            compare(&parse_timespan(text).map_or(Value::Null, Value::TimeSpan), other)
        }
        (Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Bool(_), Value::String(text)) => {
            let number: f64 = text.trim().parse().ok()?;
            number.partial_cmp(&other.as_f64()?)
        }
        _ => compare(&scalar, other),
    }
}

/// A total order for sorting: values of one column, nulls (and incomparable values) first, NaN after numbers.
pub fn sort_order(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => compare(a, b).unwrap_or_else(|| {
            let rank = |v: &Value| match v.as_f64() {
                Some(x) if x.is_nan() => 1,
                _ => 0,
            };
            rank(a).cmp(&rank(b)).then_with(|| a.to_text().cmp(&b.to_text()))
        }),
    }
}

/// A hashable, comparable key for grouping (`summarize by`, `distinct`, join keys, `dcount`). Values that
/// are `==` in Kusto get the same key: `1` and `1.0` do not (Kusto keeps int and real groups apart).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    Null,
    Bool(bool),
    Long(i64),
    Real(u64),
    Decimal(Whole),
    String(Str),
    DateTime(i64),
    TimeSpan(i64),
    Dynamic(String),
}

impl Value {
    pub fn group_key(&self) -> GroupKey {
        match self {
            Value::Null | Value::Dynamic(Dyn::Null) => GroupKey::Null,
            Value::Bool(b) => GroupKey::Bool(*b),
            Value::Int(n) => GroupKey::Long(i64::from(*n)),
            Value::Long(n) => GroupKey::Long(*n),
            Value::Real(x) => GroupKey::Real(if *x == 0.0 { 0 } else { x.to_bits() }),
            // A whole decimal a real holds exactly groups with that real (`1` and `1.0` of one decimal column).
            Value::Decimal(n) => match n.get() as f64 {
                x if x.abs() < 9_007_199_254_740_992.0 && x as i128 == n.get() => Value::Real(x).group_key(),
                _ => GroupKey::Decimal(*n),
            },
            Value::String(s) => GroupKey::String(s.clone()),
            Value::DateTime(t) => GroupKey::DateTime(*t),
            Value::TimeSpan(t) => GroupKey::TimeSpan(*t),
            Value::Dynamic(d) => GroupKey::Dynamic(d.to_json_text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dynamic(json: &str) -> Value {
        Value::Dynamic(Dyn::parse(json).expect("valid json"))
    }

    /// Every cell of every row is a `Value`: a whole decimal must not make it larger.
    #[test]
    fn a_value_is_three_words_and_a_whole_decimal_keeps_its_bits() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<GroupKey>(), 24);
        assert!(Whole::from(-1) < Whole::from(0) && Whole::from(1 << 64) > Whole::from((1 << 64) - 1));
        for n in [0, 1, -1, i128::MAX, i128::MIN, 99_999_999_000_000_000_000_000_000_000_000, -(1 << 70) + 5] {
            assert_eq!(Whole::from(n).get(), n);
        }
    }

    #[test]
    fn string_equality_is_case_sensitive_unless_tilde() {
        assert_eq!(equals(&Value::string("Abc"), &Value::string("abc"), false), Some(false));
        assert_eq!(equals(&Value::string("Abc"), &Value::string("abc"), true), Some(true));
    }

    #[test]
    fn null_comparisons_follow_kusto() {
        assert_eq!(equals(&Value::Null, &Value::Long(1), false), Some(false));
        assert_eq!(equals(&Value::Null, &Value::Null, false), None);
        assert_eq!(compare(&Value::Long(1), &Value::Null), None);
        assert_eq!(equals(&dynamic("null"), &Value::string("a"), false), Some(false));
    }

    #[test]
    fn dynamic_compares_by_string_form_and_as_numbers() {
        assert_eq!(equals(&dynamic("\"IsolateDevice\""), &Value::string("IsolateDevice"), false), Some(true));
        assert_eq!(equals(&dynamic("5"), &Value::string("5"), false), Some(true));
        assert_eq!(equals(&dynamic("false"), &Value::Long(0), false), Some(true));
        assert_eq!(equals(&dynamic("true"), &Value::Long(0), false), Some(false));
        assert_eq!(equals(&dynamic("\"12\""), &Value::Long(12), false), Some(true));
        assert_eq!(compare(&dynamic("3"), &Value::Real(2.5)), Some(Ordering::Greater));
    }

    #[test]
    fn to_text_matches_kusto() {
        assert_eq!(&*Value::Real(1.0).to_text(), "1");
        assert_eq!(&*Value::Real(0.5).to_text(), "0.5");
        assert_eq!(&*Value::Real(1e20).to_text(), "1E+20");
        assert_eq!(&*Value::Real(1.5e-7).to_text(), "1.5E-07");
        assert_eq!(&*Value::Bool(true).to_text(), "true");
        assert_eq!(&*dynamic(r#"{"a":[1,"x"]}"#).to_text(), r#"{"a":[1,"x"]}"#);
        assert_eq!(&*dynamic(r#""plain""#).to_text(), "plain");
        assert_eq!(&*dynamic("null").to_text(), "");
    }

    #[test]
    fn member_and_element_access() {
        let value = Dyn::parse(r#"{"a":{"b":[10,20,30]},"a2":1,"a2":2}"#).expect("valid");
        assert_eq!(value.member("a").member("b").element(1).to_scalar().as_i64(), Some(20));
        assert_eq!(value.member("a").member("b").element(-1).to_scalar().as_i64(), Some(30));
        assert!(value.member("a").member("b").element(3).is_null());
        assert!(value.member("missing").member("x").is_null());
        assert_eq!(value.member("a2").to_scalar().as_i64(), Some(2));
    }
}
