//! Scalar functions: one table of definitions, each with its arity, a type rule and an evaluator. The checker
//! looks names up here and calls the type rule; the evaluator calls `eval` with argument values. Kusto
//! functions do not fail on bad input: they return null (or `""` for strings), and so do these.

mod addresses;
mod bits;
mod calendar;
mod conversion;
mod datetime;
mod dynamic;
mod encoding;
mod json;
mod math;
mod network;
mod sets;
mod string;
mod useragent;

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::types::Type;
use super::value::{Dyn, Str, Value};

/// What a type rule sees of the arguments: their types, and their values when they are literals.
pub struct Args<'a> {
    pub types: &'a [Type],
    pub literals: &'a [Option<Value>],
}

impl Args<'_> {
    pub fn literal_text(&self, index: usize) -> Option<Str> {
        match self.literals.get(index)? {
            Some(value @ (Value::String(_) | Value::Dynamic(Dyn::String(_)))) => Some(value.to_text()),
            _ => None,
        }
    }
}

/// The kinds of argument a function accepts; `dynamic` is accepted everywhere and converted at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    String,
    Integer,
    Number,
    Bool,
    DateTime,
    TimeSpan,
    /// Any scalar (converted with `tostring` where text is needed).
    Any,
}

impl Param {
    fn accepts(self, ty: Type) -> bool {
        ty == Type::Dynamic
            || match self {
                Param::String => ty.is_stringlike(),
                Param::Integer | Param::Number => ty.is_numeric(),
                Param::Bool => ty == Type::Bool,
                Param::DateTime => ty == Type::DateTime,
                Param::TimeSpan => ty == Type::TimeSpan,
                Param::Any => true,
            }
    }

    fn describe(self) -> &'static str {
        match self {
            Param::String => "a string",
            Param::Integer => "an integer",
            Param::Number => "a number",
            Param::Bool => "a bool",
            Param::DateTime => "a datetime",
            Param::TimeSpan => "a timespan",
            Param::Any => "a scalar",
        }
    }
}

/// Checks each argument against the parameter kinds (the last kind repeats for variadic functions).
/// What a `check` returns for an argument the local engine cannot evaluate but Kusto takes: the call is then
/// "not supported locally", not an error in the query.
pub fn not_local(message: impl Into<String>) -> String {
    format!("{NOT_LOCAL}{}", message.into())
}

/// Marks a `check` message made by [`not_local`].
pub(crate) const NOT_LOCAL: char = '\u{1}';

pub fn expect(args: &Args, params: &[Param]) -> Result<(), String> {
    for (index, ty) in args.types.iter().enumerate() {
        let Some(param) = params.get(index).or(params.last()) else { continue };
        if !param.accepts(*ty) {
            return Err(format!("expects {} as argument {}, not {}", param.describe(), index + 1, ty));
        }
    }
    Ok(())
}

/// Everything a function needs at run time besides its arguments.
pub struct CallContext<'a> {
    /// `now()`, in ticks: fixed for the whole query.
    pub now: i64,
    /// The regular-expression argument, when it was a literal and is compiled already.
    pub regex: Option<&'a Regex>,
    /// The argument types the checker saw (for `gettype` of a null, `tohex` of an int, ...).
    pub argument_types: &'a [Type],
    /// The type the checker gave the call.
    pub result_type: Type,
    /// The function's pattern rewrite, for a regular expression that is compiled at run time.
    pub regex_rewrite: Option<fn(&str) -> String>,
}

/// How the column made by `extend f(x)` without a name is named: after its first argument (`tostring(x)` is
/// `x`), or `Column1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultName {
    FirstArgument,
    None,
}

pub struct FunctionDef {
    pub name: &'static str,
    pub min_args: usize,
    pub max_args: usize,
    pub check: fn(&Args) -> Result<Type, String>,
    pub eval: fn(&CallContext, &[Value]) -> Value,
    /// The argument that is a regular expression, compiled once when it is a literal.
    pub regex_argument: Option<usize>,
    /// Rewrites the pattern before compiling (`trim` anchors it).
    pub regex_rewrite: Option<fn(&str) -> String>,
    pub result_name: ResultName,
}

impl std::fmt::Debug for FunctionDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}()", self.name)
    }
}

/// A definition with the common defaults; the family modules fill in the rest.
pub(crate) const fn def(
    name: &'static str,
    min_args: usize,
    max_args: usize,
    check: fn(&Args) -> Result<Type, String>,
    eval: fn(&CallContext, &[Value]) -> Value,
) -> FunctionDef {
    FunctionDef {
        name,
        min_args,
        max_args,
        check,
        eval,
        regex_argument: None,
        regex_rewrite: None,
        result_name: ResultName::None,
    }
}

fn all_functions() -> &'static [&'static FunctionDef] {
    static ALL: OnceLock<Vec<&'static FunctionDef>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        all.extend(string::FUNCTIONS.iter());
        all.extend(conversion::FUNCTIONS.iter());
        all.extend(datetime::FUNCTIONS.iter());
        all.extend(dynamic::FUNCTIONS.iter());
        all.extend(math::FUNCTIONS.iter());
        all.extend(network::FUNCTIONS.iter());
        all.extend(addresses::FUNCTIONS.iter());
        all.extend(bits::FUNCTIONS.iter());
        all.extend(calendar::FUNCTIONS.iter());
        all.extend(encoding::FUNCTIONS.iter());
        all.extend(json::FUNCTIONS.iter());
        all.extend(sets::FUNCTIONS.iter());
        all.extend(useragent::FUNCTIONS.iter());
        all
    })
}

pub use dynamic::PACK_NON_EMPTY;

/// `text matches regex pattern` when the pattern is not a constant: the pattern is compiled at run time (and
/// cached). Not a function a query can name.
pub static MATCHES_REGEX: FunctionDef = def(
    "matches regex",
    2,
    2,
    |a| expect(a, &[Param::String, Param::String]).map(|()| Type::Bool),
    |context, v| with_regex(context, &v[1], |regex| Value::Bool(regex.is_match(&text(&v[0])))).unwrap_or(Value::Null),
);

/// The scalar function with this name (KQL names are case-sensitive).
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    all_functions().iter().copied().find(|f| f.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    all_functions().iter().map(|f| f.name)
}

// ----- argument helpers shared by the families ---------------------------------------------------------

/// The text of a value (`tostring`).
pub(crate) fn text(value: &Value) -> Str {
    value.to_text()
}

pub(crate) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) | Value::Dynamic(Dyn::String(s)) => s.trim().parse().ok(),
        _ => value.as_i64(),
    }
}

pub(crate) fn real(value: &Value) -> Option<f64> {
    match value {
        Value::String(s) | Value::Dynamic(Dyn::String(s)) => s.trim().parse().ok(),
        _ => value.as_f64(),
    }
}

pub(crate) fn datetime_arg(value: &Value) -> Option<i64> {
    match value {
        Value::DateTime(t) | Value::Dynamic(Dyn::DateTime(t)) => Some(*t),
        Value::String(s) | Value::Dynamic(Dyn::String(s)) => super::datetime::parse_datetime(s),
        _ => None,
    }
}

pub(crate) fn timespan_arg(value: &Value) -> Option<i64> {
    match value {
        Value::TimeSpan(t) | Value::Dynamic(Dyn::TimeSpan(t)) => Some(*t),
        Value::String(s) | Value::Dynamic(Dyn::String(s)) => super::datetime::parse_timespan(s),
        _ => None,
    }
}

pub(crate) fn string_value(text: impl Into<Str>) -> Value {
    Value::String(text.into())
}

/// A regular expression for a call: the precompiled one, or the pattern compiled now (kept in a small
/// per-thread cache, for patterns that come from data).
pub(crate) fn with_regex<R>(context: &CallContext, pattern: &Value, f: impl FnOnce(&Regex) -> R) -> Option<R> {
    if let Some(regex) = context.regex {
        return Some(f(regex));
    }
    let rewrite = context.regex_rewrite;
    thread_local! {
        static CACHE: RefCell<Vec<(String, Arc<Regex>)>> = const { RefCell::new(Vec::new()) };
    }
    let pattern = match rewrite {
        Some(rewrite) => rewrite(&text(pattern)),
        None => text(pattern).to_string(),
    };
    let regex = CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, regex)) = cache.iter().find(|(p, _)| *p == pattern) {
            return Some(regex.clone());
        }
        let regex = Arc::new(crate::re2::compile(&pattern).ok()?);
        if cache.len() >= 32 {
            cache.remove(0);
        }
        cache.push((pattern, regex.clone()));
        Some(regex)
    })?;
    Some(f(&regex))
}

/// The common type of branches (`iff`, `case`, `coalesce`, `min_of`): equal types, or numeric types widened,
/// or `dynamic` when one branch is dynamic.
pub fn common_type(types: &[Type]) -> Option<Type> {
    let first = *types.first()?;
    types.iter().skip(1).try_fold(first, |acc, ty| {
        if acc == *ty {
            Some(acc)
        } else if acc.is_numeric() && ty.is_numeric() {
            Some(acc.widen(*ty))
        } else if acc.is_stringlike() && ty.is_stringlike() {
            Some(Type::String)
        } else if acc == Type::Dynamic || *ty == Type::Dynamic {
            Some(Type::Dynamic)
        } else {
            None
        }
    })
}

/// An IPv4 address or range, `a.b.c.d` or `a.b.c.d/n`, as its address and prefix length.
pub(crate) fn ipv4_range(text: &str) -> Option<(u32, u32)> {
    network::parse_ipv4_range(text).map(|(address, prefix)| (u32::from(address), prefix))
}

/// Converts a value to a type, as `to typeof(T)` and implicit widening do; null when it does not convert.
pub fn convert(value: &Value, ty: Type) -> Value {
    conversion::convert(value, ty)
}
