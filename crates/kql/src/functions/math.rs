//! Numbers and choices: `round`, `abs`, `pow`, `min_of`, `max_of`, `coalesce`, `not`.

use std::cmp::Ordering;

use super::super::types::Type;
use super::super::value::{Value, compare};
use super::{Args, CallContext, FunctionDef, Param, common_type, def, expect, integer, real};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

fn same_numeric(args: &Args) -> Result<Type, String> {
    expect(args, &[Param::Number, Param::Integer])?;
    Ok(match args.types[0] {
        Type::Int => Type::Long,
        Type::Dynamic => Type::Real,
        other => other,
    })
}

fn check_common(args: &Args) -> Result<Type, String> {
    common_type(args.types).ok_or_else(|| {
        let names: Vec<&str> = args.types.iter().map(|t| t.name()).collect();
        format!("expects arguments of one type, not ({})", names.join(", "))
    })
}

pub(super) static FUNCTIONS: [FunctionDef; 31] = [
    def("round", 1, 2, same_numeric, round),
    def(
        "abs",
        1,
        1,
        |a| {
            if a.types[0] == Type::TimeSpan { Ok(Type::TimeSpan) } else { same_numeric(a) }
        },
        abs,
    ),
    def("pow", 2, 2, |a| to(Type::Real, &[Param::Number, Param::Number])(a), |_, v| number2(v, f64::powf)),
    def("sqrt", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::sqrt)),
    def("exp", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::exp)),
    def("log", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::ln)),
    def("log10", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::log10)),
    def("log2", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::log2)),
    def("exp2", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::exp2)),
    def("exp10", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, |x| 10f64.powf(x))),
    def("sin", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::sin)),
    def("cos", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::cos)),
    def("tan", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::tan)),
    def("cot", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, |x| 1.0 / x.tan())),
    def("asin", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::asin)),
    def("acos", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::acos)),
    def("atan", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::atan)),
    def("atan2", 2, 2, |a| to(Type::Real, &[Param::Number, Param::Number])(a), |_, v| number2(v, f64::atan2)),
    def("degrees", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::to_degrees)),
    def("radians", 1, 1, |a| to(Type::Real, &[Param::Number])(a), |_, v| number1(v, f64::to_radians)),
    def("pi", 0, 0, |_| Ok(Type::Real), |_, _| Value::Real(std::f64::consts::PI)),
    def("rand", 0, 1, |a| to(Type::Real, &[Param::Integer])(a), rand),
    def(
        "isnan",
        1,
        1,
        |a| to(Type::Bool, &[Param::Number])(a),
        |_, v| real(&v[0]).map_or(Value::Null, |x| Value::Bool(x.is_nan())),
    ),
    def(
        "isfinite",
        1,
        1,
        |a| to(Type::Bool, &[Param::Number])(a),
        |_, v| real(&v[0]).map_or(Value::Null, |x| Value::Bool(x.is_finite())),
    ),
    def(
        "isinf",
        1,
        1,
        |a| to(Type::Bool, &[Param::Number])(a),
        |_, v| real(&v[0]).map_or(Value::Null, |x| Value::Bool(x.is_infinite())),
    ),
    def("ceiling", 1, 1, same_numeric, |_, v| match &v[0] {
        Value::Real(x) => Value::Real(x.ceil()),
        other => other.clone(),
    }),
    def("min_of", 2, 64, check_common, |c, v| extreme(c, v, Ordering::Less)),
    def("max_of", 2, 64, check_common, |c, v| extreme(c, v, Ordering::Greater)),
    def("coalesce", 1, 64, check_common, coalesce),
    def(
        "not",
        1,
        1,
        |a| to(Type::Bool, &[Param::Bool])(a),
        |_, v| v[0].as_bool().map_or(Value::Null, |b| Value::Bool(!b)),
    ),
    def("sign", 1, 1, same_numeric, |_, v| match &v[0] {
        Value::Long(n) => Value::Long(n.signum()),
        other => real(other).map_or(Value::Null, |x| Value::Real(if x == 0.0 { 0.0 } else { x.signum() })),
    }),
];

/// `rand()`: a number in [0, 1); `rand(N)`: a whole number in [0, N) (typed real, as Kusto types it).
fn rand(_: &CallContext, v: &[Value]) -> Value {
    // A hasher with fresh random keys is the standard library's source of random bits; 53 of them make every
    // double in [0, 1) that a uniform draw can give.
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(0u8);
    let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
    match v.first() {
        None => Value::Real(unit),
        Some(range) => match integer(range) {
            Some(n) if n > 0 => Value::Real((unit * n as f64).floor()),
            _ => Value::Null,
        },
    }
}

fn number1(v: &[Value], f: fn(f64) -> f64) -> Value {
    real(&v[0]).map_or(Value::Null, |x| Value::Real(f(x)))
}

fn number2(v: &[Value], f: fn(f64, f64) -> f64) -> Value {
    match (real(&v[0]), real(&v[1])) {
        (Some(x), Some(y)) => Value::Real(f(x, y)),
        _ => Value::Null,
    }
}

/// `round(x[, digits])`: half away from zero; negative digits round to tens, hundreds, ...
fn round(context: &CallContext, v: &[Value]) -> Value {
    let digits = v.get(1).and_then(integer).unwrap_or(0);
    match (context.result_type, &v[0]) {
        (Type::Long, value) => {
            let Some(x) = value.as_i64() else { return Value::Null };
            if digits >= 0 {
                return Value::Long(x);
            }
            let scale = 10i64.checked_pow(digits.unsigned_abs() as u32).unwrap_or(i64::MAX);
            let rounded = (x as f64 / scale as f64).round() * scale as f64;
            Value::Long(rounded as i64)
        }
        (_, value) => {
            let Some(x) = real(value) else { return Value::Null };
            let scale = 10f64.powi(digits.clamp(-300, 300) as i32);
            Value::Real((x * scale).round() / scale)
        }
    }
}

fn abs(_: &CallContext, v: &[Value]) -> Value {
    match &v[0] {
        Value::Int(n) => Value::Long(i64::from(*n).abs()),
        Value::Long(n) => n.checked_abs().map_or(Value::Null, Value::Long),
        Value::TimeSpan(t) => t.checked_abs().map_or(Value::Null, Value::TimeSpan),
        other => real(other).map_or(Value::Null, |x| Value::Real(x.abs())),
    }
}

/// `min_of`/`max_of`: nulls are ignored; null only when every argument is null.
fn extreme(context: &CallContext, v: &[Value], wanted: Ordering) -> Value {
    let mut best: Option<Value> = None;
    for value in v.iter().filter(|value| !value.is_null()) {
        let value = super::convert(value, context.result_type);
        best = match best {
            Some(current) if compare(&value, &current) != Some(wanted) => Some(current),
            _ => Some(value),
        };
    }
    best.unwrap_or_else(|| Value::null_of(context.result_type))
}

/// `coalesce`: the first value that is not null (and, for strings, not empty).
fn coalesce(context: &CallContext, v: &[Value]) -> Value {
    v.iter()
        .find(|value| !value.is_empty())
        .map(|value| super::convert(value, context.result_type))
        .unwrap_or_else(|| Value::null_of(context.result_type))
}
