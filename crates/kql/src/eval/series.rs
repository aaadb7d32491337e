//! The second half of `make-series`: the rows of a `summarize` by the `by` values and the bin become one row
//! per group, with an array per aggregate along the axis and the axis itself.

use indexmap::IndexMap;

use super::super::error::KqlError;
use super::super::plan::{Column, Row, SeriesPlan, TExpr};
use super::super::types::Type;
use super::super::value::{Dyn, GroupKey, Value};
use super::expr::{EvalContext, eval};

/// A group's `by` values and its arrays, one per aggregate.
type Group = (Vec<Value>, Vec<Vec<Dyn>>);

/// Kusto's limit on the length of a series (2^20).
pub const MAX_SERIES_LENGTH: usize = 1 << 20;

/// A position on the axis: whole units (ticks, or a `long`), or a `real`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
enum Point {
    Whole(i128),
    Real(f64),
}

impl Point {
    fn of(value: &Value) -> Option<Point> {
        match value {
            Value::DateTime(t) | Value::TimeSpan(t) | Value::Long(t) => Some(Point::Whole(i128::from(*t))),
            Value::Int(n) => Some(Point::Whole(i128::from(*n))),
            Value::Decimal(n) => Some(Point::Whole(n.get())),
            Value::Real(x) if x.is_finite() => Some(Point::Real(*x)),
            Value::Dynamic(d) => match d {
                Dyn::Long(n) => Some(Point::Whole(i128::from(*n))),
                Dyn::DateTime(t) | Dyn::TimeSpan(t) => Some(Point::Whole(i128::from(*t))),
                Dyn::Real(x) if x.is_finite() => Some(Point::Real(*x)),
                _ => None,
            },
            _ => None,
        }
    }

    fn real(self) -> f64 {
        match self {
            Point::Whole(n) => n as f64,
            Point::Real(x) => x,
        }
    }
}

/// The axis: `count` points from `start`, `step` apart.
struct Axis {
    start: Point,
    step: Point,
    count: usize,
}

impl Axis {
    /// The index of a bin on the axis, if it lies on it.
    fn index(&self, bin: Point) -> Option<usize> {
        let index = match (bin, self.start, self.step) {
            (Point::Whole(b), Point::Whole(s), Point::Whole(step)) => {
                let offset = b - s;
                if offset < 0 || offset % step != 0 {
                    return None;
                }
                offset / step
            }
            _ => {
                let position = (bin.real() - self.start.real()) / self.step.real();
                let rounded = position.round();
                if rounded < 0.0 || (position - rounded).abs() > 1e-6 {
                    return None;
                }
                rounded as i128
            }
        };
        usize::try_from(index).ok().filter(|i| *i < self.count)
    }

    fn value(&self, index: usize, ty: Type) -> Dyn {
        match (self.start, self.step) {
            (Point::Whole(s), Point::Whole(step)) => {
                let at = i64::try_from(s + step * index as i128).unwrap_or(i64::MAX);
                match ty {
                    Type::DateTime => Dyn::DateTime(at),
                    Type::TimeSpan => Dyn::TimeSpan(at),
                    _ => Dyn::Long(at),
                }
            }
            (start, step) => Dyn::Real(start.real() + step.real() * index as f64),
        }
    }
}

/// The number of points from `start`, `step` apart, before `end` (or up to it, when `inclusive`).
fn length(start: Point, end: Point, step: Point, inclusive: bool) -> Result<usize, KqlError> {
    let count = match (start, end, step) {
        (Point::Whole(a), Point::Whole(b), Point::Whole(s)) => {
            if b < a {
                0
            } else if inclusive {
                (b - a) / s + 1
            } else {
                (b - a + s - 1) / s
            }
        }
        _ => {
            let span = (end.real() - start.real()) / step.real();
            let count = if inclusive { span.floor() + 1.0 } else { span.ceil() };
            if !count.is_finite() || count < 0.0 { 0 } else { count.min(1e18) as i128 }
        }
    };
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > MAX_SERIES_LENGTH {
        return Err(KqlError::runtime(format!(
            "make-series would make series of {count} values: the limit is {MAX_SERIES_LENGTH} (2^20); \
             use a larger step or a shorter range"
        )));
    }
    Ok(count)
}

/// The first multiple of `step` at or after `start` (the alternate syntax bins with `bin()`).
fn ceil_to(start: Point, step: Point) -> Point {
    match (start, step) {
        (Point::Whole(a), Point::Whole(s)) => {
            let floor = a.div_euclid(s) * s;
            Point::Whole(if floor < a { floor + s } else { floor })
        }
        (a, s) => Point::Real((a.real() / s.real()).ceil() * s.real()),
    }
}

fn add(point: Point, step: Point) -> Point {
    match (point, step) {
        (Point::Whole(a), Point::Whole(s)) => Point::Whole(a + s),
        (a, s) => Point::Real(a.real() + s.real()),
    }
}

pub fn series(
    plan: &SeriesPlan,
    rows: Vec<Row>,
    output: &[Column],
    context: &EvalContext,
) -> Result<Vec<Row>, KqlError> {
    let whole_axis = matches!(plan.axis, Type::DateTime | Type::TimeSpan | Type::Long | Type::Int);
    let step = match Point::of(&eval(&plan.step, &[], context)) {
        Some(Point::Whole(s)) if s > 0 && whole_axis => Point::Whole(s),
        Some(Point::Real(s)) if s > 0.0 && whole_axis && s.fract() == 0.0 => Point::Whole(s as i128),
        Some(step) if step.real() > 0.0 && !whole_axis => Point::Real(step.real()),
        _ => return Err(KqlError::runtime("make-series: the step must be greater than zero")),
    };
    // A bound that is null makes no axis: no rows, as no bin can be placed.
    // A bound that is given but null places no bin: no rows.
    let given = |expr: &Option<TExpr>| -> Option<Option<Point>> {
        match expr {
            None => Some(None),
            Some(expr) => Point::of(&eval(expr, &[], context)).map(Some),
        }
    };
    let (Some(start), Some(end)) = (given(&plan.start), given(&plan.end)) else {
        return Ok(Vec::new());
    };
    let keys = plan.keys;
    let bins = || rows.iter().filter_map(|row| Point::of(&row[keys]));
    let start = match start {
        Some(start) if plan.inclusive => Some(ceil_to(start, step)),
        other => other,
    };
    let start = start.or_else(|| bins().reduce(|a, b| if b < a { b } else { a }));
    let end = end.or_else(|| bins().reduce(|a, b| if b > a { b } else { a }).map(|last| add(last, step)));
    let aggregates = plan.defaults.len();
    let (Some(start), Some(end)) = (start, end) else {
        // No bound and no row with a bin: nothing to make (`kind=nonempty` needs both bounds).
        return Ok(Vec::new());
    };
    let axis = Axis { start, step, count: length(start, end, step, plan.inclusive)? };
    let defaults: Vec<Dyn> = plan.defaults.iter().map(Value::to_dyn).collect();
    let empty = || -> Vec<Vec<Dyn>> { defaults.iter().map(|d| vec![d.clone(); axis.count]).collect() };
    let mut groups: IndexMap<Vec<GroupKey>, Group> = IndexMap::new();
    for row in &rows {
        let values = &row[..keys];
        let key: Vec<GroupKey> = values.iter().map(Value::group_key).collect();
        let (_, arrays) = groups.entry(key).or_insert_with(|| (values.to_vec(), empty()));
        let Some(index) = Point::of(&row[keys]).and_then(|bin| axis.index(bin)) else { continue };
        for (array, value) in arrays.iter_mut().zip(&row[keys + 1..keys + 1 + aggregates]) {
            array[index] = value.to_dyn();
        }
    }
    if groups.is_empty() && plan.nonempty && plan.start.is_some() && plan.end.is_some() {
        let values = output[..keys].iter().map(|c| Value::null_of(c.ty)).collect();
        groups.insert(Vec::new(), (values, empty()));
    }
    let axis_values: Dyn = Dyn::Array((0..axis.count).map(|i| axis.value(i, plan.axis)).collect());
    Ok(groups
        .into_values()
        .map(|(mut values, arrays)| {
            values.extend(arrays.into_iter().map(|a| Value::Dynamic(Dyn::Array(a.into()))));
            values.push(Value::Dynamic(axis_values.clone()));
            values
        })
        .collect())
}
