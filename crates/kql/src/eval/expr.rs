//! Evaluation of typed scalar expressions over one row. Never fails: what Kusto turns into null (a bad
//! conversion, a missing member, a division of integers by zero) is null here too.

use super::super::ast::BinaryOperator as BinaryOp;
use super::super::functions::{self, CallContext};
use super::super::plan::{InList, TExpr, TExprKind};
use super::super::types::Type;
use super::super::value::{Dyn, Str, Value, compare, eq_ignore_case, equals};
use super::text::{string_test, term_match};
use std::collections::HashSet;

/// What every expression may read besides the row.
#[derive(Clone, Copy, Debug)]
pub struct EvalContext {
    /// `now()` in ticks, fixed for the query.
    pub now: i64,
}

/// Calls `f` on every node of an expression, parents first (not descending into subqueries).
pub fn visit(expr: &TExpr, f: &mut dyn FnMut(&TExpr)) {
    f(expr);
    for child in expr.children() {
        visit(child, f);
    }
}

/// The value of an expression that reads no column (`take 10`, `datatable` cells), with `now` at the epoch.
pub fn constant(expr: &TExpr) -> Value {
    eval(expr, &[], &EvalContext { now: super::super::datetime::UNIX_EPOCH_TICKS })
}

pub fn eval(expr: &TExpr, row: &[Value], context: &EvalContext) -> Value {
    match &expr.kind {
        TExprKind::Literal(value) => value.clone(),
        TExprKind::Column(index) => row.get(*index).cloned().unwrap_or_else(|| Value::null_of(expr.ty)),
        TExprKind::Member(target, name) => match eval(target, row, context) {
            Value::Dynamic(d) => Value::Dynamic(d.member(name)),
            _ => Value::Dynamic(Dyn::Null),
        },
        TExprKind::Index(target, index) => {
            let container = eval(target, row, context);
            let Value::Dynamic(d) = container else { return Value::Dynamic(Dyn::Null) };
            match eval(index, row, context) {
                Value::String(key) | Value::Dynamic(Dyn::String(key)) => Value::Dynamic(d.member(&key)),
                other => match other.as_i64() {
                    Some(i) => Value::Dynamic(d.element(i)),
                    None => Value::Dynamic(Dyn::Null),
                },
            }
        }
        TExprKind::Call(call) => {
            let values: Vec<Value> = call.arguments.iter().map(|a| eval(a, row, context)).collect();
            let types: Vec<Type> = call.arguments.iter().map(|a| a.ty).collect();
            let call_context = CallContext {
                now: context.now,
                regex: call.regex.as_deref(),
                argument_types: &types,
                result_type: expr.ty,
                regex_rewrite: call.function.regex_rewrite,
            };
            (call.function.eval)(&call_context, &values)
        }
        TExprKind::Binary(op, left, right) => {
            binary(*op, &eval(left, row, context), &eval(right, row, context), expr.ty)
        }
        TExprKind::And(left, right) => {
            let l = eval(left, row, context).as_bool();
            if l == Some(false) {
                return Value::Bool(false);
            }
            match (l, eval(right, row, context).as_bool()) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        TExprKind::Or(left, right) => {
            let l = eval(left, row, context).as_bool();
            if l == Some(true) {
                return Value::Bool(true);
            }
            match (l, eval(right, row, context).as_bool()) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        TExprKind::Negate(operand) => match eval(operand, row, context) {
            Value::Int(n) => Value::Long(-i64::from(n)),
            Value::Long(n) => Value::Long(n.wrapping_neg()),
            Value::Real(x) => Value::Real(-x),
            Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_neg()),
            other => other.as_f64().map_or(Value::Null, |x| Value::Real(-x)),
        },
        TExprKind::StringTest(op, left, right) => {
            let haystack = eval(left, row, context).to_text();
            let needle = eval(right, row, context).to_text();
            Value::Bool(string_test(*op, &haystack, &needle))
        }
        TExprKind::MatchesRegex(target, regex) => Value::Bool(regex.is_match(&eval(target, row, context).to_text())),
        TExprKind::In(list) => in_list(list, row, context),
        TExprKind::HasAny { target, terms, subqueries, all } => {
            let haystack = eval(target, row, context).to_text().to_lowercase();
            let mut needles = Vec::new();
            for term in terms {
                flatten(eval(term, row, context), &mut needles);
            }
            for subquery in subqueries {
                if let Some(rows) = subquery.result.get() {
                    needles.extend(rows.iter().filter_map(|r| r.first().cloned()));
                }
            }
            let mut matches =
                needles.iter().map(|needle| term_match(&haystack, &needle.to_text().to_lowercase(), true, true));
            Value::Bool(if *all { matches.all(|m| m) } else { matches.any(|m| m) })
        }
        TExprKind::Between { target, low, high, negated } => {
            let value = eval(target, row, context);
            let low = eval(low, row, context);
            let mut high = eval(high, row, context);
            if let (Value::DateTime(start), Value::TimeSpan(length)) = (&low, &high) {
                high = Value::DateTime(start.saturating_add(*length));
            }
            match (compare(&value, &low), compare(&value, &high)) {
                (Some(a), Some(b)) => Value::Bool((a.is_ge() && b.is_le()) != *negated),
                _ => Value::Null,
            }
        }
        TExprKind::Iff(condition, then, otherwise) => {
            if eval(condition, row, context).is_true() {
                eval(then, row, context)
            } else {
                eval(otherwise, row, context)
            }
        }
        TExprKind::Case(branches, otherwise) => {
            for (condition, value) in branches {
                if eval(condition, row, context).is_true() {
                    return eval(value, row, context);
                }
            }
            eval(otherwise, row, context)
        }
        TExprKind::ToScalar(shared) => shared
            .result
            .get()
            .and_then(|rows| rows.first())
            .and_then(|first| first.first())
            .cloned()
            .unwrap_or_else(|| Value::null_of(expr.ty)),
        TExprKind::Convert(inner) => functions::convert(&eval(inner, row, context), expr.ty),
    }
}

/// Adds a value to a list, spreading dynamic arrays (`in (dynamic([...]))` lists their elements).
fn flatten(value: Value, out: &mut Vec<Value>) {
    match value {
        Value::Dynamic(Dyn::Array(items)) => out.extend(items.iter().map(Dyn::to_scalar)),
        other => out.push(other),
    }
}

/// The values of an `in` list, with a hash set for the string ones.
#[derive(Debug, Default)]
pub struct InSet {
    strings: HashSet<Str>,
    others: Vec<Value>,
}

impl InSet {
    fn build(values: Vec<Value>, ignore_case: bool) -> InSet {
        let mut set = InSet::default();
        for value in values {
            match value.as_str() {
                Some(text) if ignore_case => {
                    set.strings.insert(Str::from(text.to_lowercase()));
                }
                Some(_) => {
                    set.strings.insert(value.to_text());
                }
                None => set.others.push(value),
            }
        }
        set
    }

    fn contains(&self, target: &Value, ignore_case: bool) -> bool {
        if let Some(text) = target.as_str() {
            let found = if ignore_case {
                self.strings.contains(text.to_lowercase().as_str())
            } else {
                self.strings.contains(text)
            };
            if found {
                return true;
            }
        }
        if target.as_str().is_none() && !self.strings.is_empty() && target.as_dyn().is_some() {
            let text = target.to_text();
            if self.strings.iter().any(|s| if ignore_case { eq_ignore_case(s, &text) } else { **s == *text }) {
                return true;
            }
        }
        self.others.iter().any(|item| equals(target, item, ignore_case) == Some(true))
    }
}

fn in_list(list: &InList, row: &[Value], context: &EvalContext) -> Value {
    let target = eval(&list.target, row, context);
    let gather = || {
        let mut values = Vec::new();
        for item in &list.items {
            flatten(eval(item, row, context), &mut values);
        }
        for subquery in &list.subqueries {
            if let Some(rows) = subquery.result.get() {
                values.extend(rows.iter().filter_map(|r| r.first().cloned()));
            }
        }
        values
    };
    let constant = list.items.iter().all(|item| !reads_row(item));
    let found = if target.is_null() {
        false
    } else if constant {
        list.cache.get_or_init(|| InSet::build(gather(), list.ignore_case)).contains(&target, list.ignore_case)
    } else {
        InSet::build(gather(), list.ignore_case).contains(&target, list.ignore_case)
    };
    Value::Bool(found != list.negated)
}

/// Non-negative remainder, as Kusto defines `%`.
fn modulo_i64(a: i64, b: i64) -> Option<i64> {
    (b != 0).then(|| a.wrapping_rem(b).rem_euclid(b.wrapping_abs().max(1)))
}

/// Arithmetic and comparisons; `ty` is the result type the checker computed.
pub fn binary(op: BinaryOp, a: &Value, b: &Value, ty: Type) -> Value {
    match op {
        BinaryOp::Equal => equals(a, b, false).map_or(Value::Null, Value::Bool),
        BinaryOp::NotEqual => equals(a, b, false).map_or(Value::Null, |e| Value::Bool(!e)),
        BinaryOp::EqualIgnoreCase => equals(a, b, true).map_or(Value::Null, Value::Bool),
        BinaryOp::NotEqualIgnoreCase => equals(a, b, true).map_or(Value::Null, |e| Value::Bool(!e)),
        BinaryOp::Less => compare(a, b).map_or(Value::Null, |o| Value::Bool(o.is_lt())),
        BinaryOp::LessEqual => compare(a, b).map_or(Value::Null, |o| Value::Bool(o.is_le())),
        BinaryOp::Greater => compare(a, b).map_or(Value::Null, |o| Value::Bool(o.is_gt())),
        BinaryOp::GreaterEqual => compare(a, b).map_or(Value::Null, |o| Value::Bool(o.is_ge())),
        _ if a.is_null() || b.is_null() => Value::Null,
        _ => arithmetic(op, a, b, ty),
    }
}

fn ticks(value: &Value) -> Option<i64> {
    match value {
        Value::DateTime(t) | Value::TimeSpan(t) => Some(*t),
        Value::Dynamic(Dyn::DateTime(t) | Dyn::TimeSpan(t)) => Some(*t),
        Value::Dynamic(Dyn::String(s)) => super::super::datetime::parse_datetime(s),
        _ => None,
    }
}

fn arithmetic(op: BinaryOp, a: &Value, b: &Value, ty: Type) -> Value {
    match ty {
        Type::DateTime => {
            let (Some(x), Some(y)) = (ticks(a), ticks(b)) else { return Value::Null };
            let result = if op == BinaryOp::Subtract { x.checked_sub(y) } else { x.checked_add(y) };
            result.map_or(Value::Null, Value::DateTime)
        }
        Type::TimeSpan => {
            let timespans = matches!(a, Value::TimeSpan(_)) && matches!(b, Value::TimeSpan(_));
            match op {
                BinaryOp::Subtract if matches!(a, Value::DateTime(_)) => match (ticks(a), ticks(b)) {
                    (Some(x), Some(y)) => x.checked_sub(y).map_or(Value::Null, Value::TimeSpan),
                    _ => Value::Null,
                },
                BinaryOp::Add | BinaryOp::Subtract | BinaryOp::Modulo if timespans => {
                    let (Some(x), Some(y)) = (ticks(a), ticks(b)) else { return Value::Null };
                    match op {
                        BinaryOp::Add => x.checked_add(y),
                        BinaryOp::Subtract => x.checked_sub(y),
                        _ => modulo_i64(x, y),
                    }
                    .map_or(Value::Null, Value::TimeSpan)
                }
                _ => {
                    // A timespan scaled by a number.
                    let (span, factor) = match (a, b) {
                        (Value::TimeSpan(t), other) => (*t, other.as_f64()),
                        (other, Value::TimeSpan(t)) => (*t, other.as_f64()),
                        _ => return Value::Null,
                    };
                    let Some(factor) = factor else { return Value::Null };
                    let result = match op {
                        BinaryOp::Multiply => span as f64 * factor,
                        BinaryOp::Divide if factor != 0.0 => span as f64 / factor,
                        BinaryOp::Modulo if factor != 0.0 => (span as f64).rem_euclid(factor),
                        _ => return Value::Null,
                    };
                    Value::TimeSpan(result.round() as i64)
                }
            }
        }
        Type::Long | Type::Int => {
            let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) else { return Value::Null };
            let result = match op {
                BinaryOp::Add => Some(x.wrapping_add(y)),
                BinaryOp::Subtract => Some(x.wrapping_sub(y)),
                BinaryOp::Multiply => Some(x.wrapping_mul(y)),
                BinaryOp::Divide => (y != 0).then(|| x.wrapping_div(y)),
                BinaryOp::Modulo => modulo_i64(x, y),
                _ => None,
            };
            result.map_or(Value::Null, Value::Long)
        }
        _ => {
            if let (Value::TimeSpan(x), Value::TimeSpan(y)) = (a, b) {
                return Value::Real(*x as f64 / *y as f64);
            }
            // Whole decimals (parse_version's) add and subtract exactly, with each other and with integers.
            let whole = |v: &Value| match v {
                Value::Decimal(n) => Some(n.get()),
                Value::Long(n) => Some(i128::from(*n)),
                Value::Int(n) => Some(i128::from(*n)),
                _ => None,
            };
            if (matches!(a, Value::Decimal(_)) || matches!(b, Value::Decimal(_)))
                && let (Some(x), Some(y)) = (whole(a), whole(b))
            {
                let exact = match op {
                    BinaryOp::Add => x.checked_add(y),
                    BinaryOp::Subtract => x.checked_sub(y),
                    BinaryOp::Multiply => x.checked_mul(y),
                    _ => None,
                };
                if let Some(n) = exact {
                    return Value::Decimal(n.into());
                }
            }
            let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else { return Value::Null };
            Value::Real(match op {
                BinaryOp::Add => x + y,
                BinaryOp::Subtract => x - y,
                BinaryOp::Multiply => x * y,
                BinaryOp::Divide => x / y,
                BinaryOp::Modulo => x.rem_euclid(y.abs()),
                _ => return Value::Null,
            })
        }
    }
}

/// Whether an expression reads a column of the row (else it is the same on every row).
pub fn reads_row(expr: &TExpr) -> bool {
    let mut found = false;
    visit(expr, &mut |e| found |= matches!(e.kind, TExprKind::Column(_)));
    found
}
