//! Aggregation functions of `summarize`: their definitions (for the checker) and their running states (for
//! the evaluator). Every state can be merged with another, so that each thread of a parallel scan
//! aggregates its own part and the parts are combined at the end.

use std::collections::HashSet;

use super::plan::{Row, TExpr};
use super::types::Type;
use super::value::{Dyn, GroupKey, Str, Value, compare};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateKind {
    Count,
    CountIf,
    DCount,
    DCountIf,
    Sum,
    SumIf,
    Avg,
    AvgIf,
    Min,
    Max,
    MinIf,
    MaxIf,
    ArgMax,
    ArgMin,
    MakeSet,
    MakeSetIf,
    MakeList,
    MakeListIf,
    MakeBag,
    MakeBagIf,
    TakeAny,
    TakeAnyIf,
    /// Sample variance and standard deviation (over n - 1), and their `*if` and population (`*p`) forms.
    Variance,
    VarianceIf,
    VarianceP,
    Stdev,
    StdevIf,
    StdevP,
    /// Nearest-rank percentiles: one output per requested percentage.
    Percentiles,
}

pub struct AggregateDef {
    pub name: &'static str,
    pub kind: AggregateKind,
    pub min_args: usize,
    pub max_args: usize,
    /// Output names are `{prefix}_{argument name}` (`count_`, `dcount_X`, `set_X`).
    pub prefix: &'static str,
}

const fn aggregate(
    name: &'static str,
    kind: AggregateKind,
    min_args: usize,
    max_args: usize,
    prefix: &'static str,
) -> AggregateDef {
    AggregateDef { name, kind, min_args, max_args, prefix }
}

pub static AGGREGATES: [AggregateDef; 38] = [
    aggregate("count", AggregateKind::Count, 0, 1, "count"),
    aggregate("countif", AggregateKind::CountIf, 1, 1, "countif"),
    aggregate("dcount", AggregateKind::DCount, 1, 2, "dcount"),
    aggregate("count_distinct", AggregateKind::DCount, 1, 1, "count_distinct"),
    aggregate("dcountif", AggregateKind::DCountIf, 2, 3, "dcountif"),
    aggregate("sum", AggregateKind::Sum, 1, 1, "sum"),
    aggregate("sumif", AggregateKind::SumIf, 2, 2, "sumif"),
    aggregate("avg", AggregateKind::Avg, 1, 1, "avg"),
    aggregate("avgif", AggregateKind::AvgIf, 2, 2, "avgif"),
    aggregate("min", AggregateKind::Min, 1, 1, "min"),
    aggregate("max", AggregateKind::Max, 1, 1, "max"),
    aggregate("minif", AggregateKind::MinIf, 2, 2, "minif"),
    aggregate("maxif", AggregateKind::MaxIf, 2, 2, "maxif"),
    aggregate("arg_max", AggregateKind::ArgMax, 1, 64, "max"),
    aggregate("arg_min", AggregateKind::ArgMin, 1, 64, "min"),
    // The deprecated spellings, which name their columns differently (`max_X`, `max_X_Y`).
    aggregate("argmax", AggregateKind::ArgMax, 1, 64, "max"),
    aggregate("argmin", AggregateKind::ArgMin, 1, 64, "min"),
    aggregate("make_set", AggregateKind::MakeSet, 1, 2, "set"),
    aggregate("makeset", AggregateKind::MakeSet, 1, 2, "set"),
    aggregate("make_set_if", AggregateKind::MakeSetIf, 2, 3, "set"),
    aggregate("make_list", AggregateKind::MakeList, 1, 2, "list"),
    aggregate("makelist", AggregateKind::MakeList, 1, 2, "list"),
    aggregate("make_list_if", AggregateKind::MakeListIf, 2, 3, "list"),
    aggregate("make_bag", AggregateKind::MakeBag, 1, 2, "bag"),
    aggregate("make_bag_if", AggregateKind::MakeBagIf, 2, 3, "bag"),
    aggregate("take_any", AggregateKind::TakeAny, 1, 64, "any"),
    aggregate("any", AggregateKind::TakeAny, 1, 64, "any"),
    aggregate("take_anyif", AggregateKind::TakeAnyIf, 2, 2, "any"),
    aggregate("anyif", AggregateKind::TakeAnyIf, 2, 2, "any"),
    aggregate("count_if", AggregateKind::CountIf, 1, 1, "countif"),
    aggregate("variance", AggregateKind::Variance, 1, 1, "variance"),
    aggregate("varianceif", AggregateKind::VarianceIf, 2, 2, "varianceif"),
    aggregate("variancep", AggregateKind::VarianceP, 1, 1, "variancep"),
    aggregate("stdev", AggregateKind::Stdev, 1, 1, "stdev"),
    aggregate("stdevif", AggregateKind::StdevIf, 2, 2, "stdevif"),
    aggregate("stdevp", AggregateKind::StdevP, 1, 1, "stdevp"),
    aggregate("percentile", AggregateKind::Percentiles, 2, 2, "percentile"),
    aggregate("percentiles", AggregateKind::Percentiles, 2, 64, "percentile"),
];

pub fn lookup(name: &str) -> Option<&'static AggregateDef> {
    AGGREGATES.iter().find(|a| a.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    AGGREGATES.iter().map(|a| a.name)
}

/// One aggregation of a `summarize`, checked.
#[derive(Clone, Debug)]
pub struct AggregateSpec {
    pub kind: AggregateKind,
    /// The value aggregated (the maximized expression of `arg_max`); `None` for `count()`.
    pub value: Option<TExpr>,
    /// The condition of the `*if` variants.
    pub predicate: Option<TExpr>,
    /// What `arg_max`/`arg_min`/`take_any` return besides `value`.
    pub returned: Vec<TExpr>,
    /// The size limit of `make_set`/`make_list`/`make_bag`.
    pub max_size: usize,
    /// The percentages of `percentile(s)`.
    pub percentages: Vec<f64>,
    /// The types of the output columns (several for `arg_max`, `take_any`).
    pub output_types: Vec<Type>,
}

/// The running state of one aggregation in one group.
#[derive(Clone, Debug)]
pub enum AggregateState {
    Count(i64),
    Distinct(HashSet<GroupKey>),
    Sum {
        long: i64,
        real: f64,
        any: bool,
    },
    Avg {
        sum: f64,
        count: i64,
    },
    Extreme(Option<Value>),
    Arg {
        best: Option<Value>,
        values: Vec<Value>,
    },
    Set {
        seen: HashSet<GroupKey>,
        items: Vec<Dyn>,
    },
    List(Vec<Dyn>),
    Bag(Vec<(Str, Dyn)>),
    Any(Option<Vec<Value>>),
    /// Count, mean and sum of squared deviations (Welford), mergeable (Chan et al.).
    Moments {
        count: f64,
        mean: f64,
        m2: f64,
    },
    Values(Vec<Value>),
}

impl AggregateSpec {
    pub fn output_count(&self) -> usize {
        self.output_types.len()
    }

    pub fn start(&self) -> AggregateState {
        use AggregateKind::*;
        match self.kind {
            Count | CountIf => AggregateState::Count(0),
            DCount | DCountIf => AggregateState::Distinct(HashSet::new()),
            Sum | SumIf => AggregateState::Sum { long: 0, real: 0.0, any: false },
            Avg | AvgIf => AggregateState::Avg { sum: 0.0, count: 0 },
            Min | Max | MinIf | MaxIf => AggregateState::Extreme(None),
            ArgMax | ArgMin => AggregateState::Arg { best: None, values: Vec::new() },
            MakeSet | MakeSetIf => AggregateState::Set { seen: HashSet::new(), items: Vec::new() },
            MakeList | MakeListIf => AggregateState::List(Vec::new()),
            MakeBag | MakeBagIf => AggregateState::Bag(Vec::new()),
            TakeAny | TakeAnyIf => AggregateState::Any(None),
            Variance | VarianceIf | VarianceP | Stdev | StdevIf | StdevP => {
                AggregateState::Moments { count: 0.0, mean: 0.0, m2: 0.0 }
            }
            Percentiles => AggregateState::Values(Vec::new()),
        }
    }

    /// The direction `Min`/`ArgMin` want (`Less`) or `Max`/`ArgMax` want (`Greater`).
    fn wanted(&self) -> std::cmp::Ordering {
        use AggregateKind::*;
        match self.kind {
            Min | MinIf | ArgMin => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        }
    }

    /// Adds one row; `eval` computes an expression over it.
    pub fn update(&self, state: &mut AggregateState, row: &Row, eval: &dyn Fn(&TExpr, &Row) -> Value) {
        if let Some(predicate) = &self.predicate
            && !eval(predicate, row).is_true()
        {
            return;
        }
        let value = self.value.as_ref().map(|e| eval(e, row));
        match state {
            AggregateState::Count(count) => *count += 1,
            AggregateState::Distinct(seen) => {
                if let Some(v) = value.filter(|v| !v.is_null()) {
                    seen.insert(v.group_key());
                }
            }
            AggregateState::Sum { long, real, any } => {
                if let Some(v) = value.filter(|v| !v.is_null()) {
                    match v {
                        Value::Int(n) => *long = long.wrapping_add(i64::from(n)),
                        Value::Long(n) | Value::TimeSpan(n) => *long = long.wrapping_add(n),
                        other => *real += other.as_f64().unwrap_or(0.0),
                    }
                    *any = true;
                }
            }
            AggregateState::Avg { sum, count } => {
                if let Some(v) = value.filter(|v| !v.is_null()) {
                    let x = match v {
                        Value::TimeSpan(t) | Value::DateTime(t) => t as f64,
                        other => other.as_f64().unwrap_or(f64::NAN),
                    };
                    *sum += x;
                    *count += 1;
                }
            }
            AggregateState::Extreme(best) => {
                if let Some(v) = value.filter(|v| !v.is_null())
                    && best.as_ref().is_none_or(|b| compare(&v, b) == Some(self.wanted()))
                {
                    *best = Some(v);
                }
            }
            AggregateState::Arg { best, values } => match value.filter(|v| !v.is_null()) {
                Some(v) if best.as_ref().is_none_or(|b| compare(&v, b) == Some(self.wanted())) => {
                    *values = self.returned.iter().map(|e| eval(e, row)).collect();
                    *best = Some(v);
                }
                // While the group has no value to maximize, its other columns come from one of its rows, as
                // in Kusto (a group whose `Version` is null everywhere still shows its `Color`).
                None if best.is_none() && values.is_empty() => {
                    *values = self.returned.iter().map(|e| eval(e, row)).collect();
                }
                _ => {}
            },
            AggregateState::Moments { count, mean, m2 } => {
                if let Some(x) = value.filter(|v| !v.is_null()).and_then(|v| v.as_f64()) {
                    *count += 1.0;
                    let delta = x - *mean;
                    *mean += delta / *count;
                    *m2 += delta * (x - *mean);
                }
            }
            AggregateState::Values(values) => {
                if let Some(v) = value.filter(|v| !v.is_null()) {
                    values.push(v);
                }
            }
            AggregateState::Set { seen, items } => {
                if let Some(v) = value.filter(|v| !v.is_null()) {
                    let elements = match v.to_dyn() {
                        Dyn::Array(array) => array.to_vec(),
                        other => vec![other],
                    };
                    for element in elements {
                        if items.len() >= self.max_size {
                            break;
                        }
                        if seen.insert(element.to_scalar().group_key()) {
                            items.push(element);
                        }
                    }
                }
            }
            AggregateState::List(items) => {
                if let Some(v) = value.filter(|v| !v.is_null())
                    && items.len() < self.max_size
                {
                    items.push(v.to_dyn());
                }
            }
            AggregateState::Bag(pairs) => {
                if let Some(Value::Dynamic(Dyn::Object(bag))) = value {
                    for (key, item) in bag.iter() {
                        add_to_bag(pairs, key, item, self.max_size);
                    }
                }
            }
            AggregateState::Any(taken) => {
                if taken.is_none() {
                    let mut values = vec![value.unwrap_or_default()];
                    values.extend(self.returned.iter().map(|e| eval(e, row)));
                    *taken = Some(values);
                }
            }
        }
    }

    /// Folds `other` (a later part of the input) into `state`.
    pub fn merge(&self, state: &mut AggregateState, other: AggregateState) {
        match (state, other) {
            (AggregateState::Count(a), AggregateState::Count(b)) => *a += b,
            (AggregateState::Distinct(a), AggregateState::Distinct(b)) => a.extend(b),
            (AggregateState::Sum { long, real, any }, AggregateState::Sum { long: l2, real: r2, any: a2 }) => {
                *long = long.wrapping_add(l2);
                *real += r2;
                *any |= a2;
            }
            (AggregateState::Avg { sum, count }, AggregateState::Avg { sum: s2, count: c2 }) => {
                *sum += s2;
                *count += c2;
            }
            (AggregateState::Extreme(best), AggregateState::Extreme(Some(candidate)))
                if best.as_ref().is_none_or(|b| compare(&candidate, b) == Some(self.wanted())) =>
            {
                *best = Some(candidate);
            }
            (AggregateState::Arg { best, values }, AggregateState::Arg { best: Some(candidate), values: v2 })
                if best.as_ref().is_none_or(|b| compare(&candidate, b) == Some(self.wanted())) =>
            {
                *best = Some(candidate);
                *values = v2;
            }
            (AggregateState::Arg { best: None, values }, AggregateState::Arg { best: None, values: v2 })
                if values.is_empty() =>
            {
                *values = v2;
            }
            (
                AggregateState::Moments { count, mean, m2 },
                AggregateState::Moments { count: c2, mean: mean2, m2: m2_other },
            ) => {
                let total = *count + c2;
                if total > 0.0 {
                    let delta = mean2 - *mean;
                    *m2 += m2_other + delta * delta * *count * c2 / total;
                    *mean += delta * c2 / total;
                    *count = total;
                }
            }
            (AggregateState::Values(values), AggregateState::Values(more)) => values.extend(more),
            (AggregateState::Set { seen, items }, AggregateState::Set { items: other_items, .. }) => {
                for element in other_items {
                    if items.len() >= self.max_size {
                        break;
                    }
                    if seen.insert(element.to_scalar().group_key()) {
                        items.push(element);
                    }
                }
            }
            (AggregateState::List(items), AggregateState::List(other_items)) => {
                let room = self.max_size.saturating_sub(items.len());
                items.extend(other_items.into_iter().take(room));
            }
            (AggregateState::Bag(pairs), AggregateState::Bag(other_pairs)) => {
                for (key, item) in other_pairs {
                    add_to_bag(pairs, &key, &item, self.max_size);
                }
            }
            (AggregateState::Any(taken), AggregateState::Any(other)) if taken.is_none() => {
                *taken = other;
            }
            _ => {}
        }
    }

    /// The output values of a finished group.
    pub fn finish(&self, state: AggregateState) -> Vec<Value> {
        let ty = self.output_types.first().copied().unwrap_or(Type::Dynamic);
        match state {
            AggregateState::Count(count) => vec![Value::Long(count)],
            AggregateState::Distinct(seen) => vec![Value::Long(seen.len() as i64)],
            AggregateState::Sum { long, real, .. } => vec![match ty {
                Type::Long | Type::Int => Value::Long(long),
                Type::TimeSpan => Value::TimeSpan(long),
                _ => Value::Real(real + long as f64),
            }],
            AggregateState::Avg { sum, count } => {
                let average = if count == 0 { f64::NAN } else { sum / count as f64 };
                vec![match ty {
                    Type::TimeSpan if count > 0 => Value::TimeSpan(average.round() as i64),
                    Type::DateTime if count > 0 => Value::DateTime(average.round() as i64),
                    Type::TimeSpan | Type::DateTime => Value::Null,
                    _ => Value::Real(average),
                }]
            }
            AggregateState::Extreme(best) => vec![best.unwrap_or_else(|| Value::null_of(ty))],
            AggregateState::Arg { best, values } => {
                let mut out = vec![best.unwrap_or_else(|| Value::null_of(ty))];
                if values.is_empty() {
                    out.extend(self.output_types[1..].iter().map(|t| Value::null_of(*t)));
                } else {
                    out.extend(values);
                }
                out
            }
            AggregateState::Set { items, .. } | AggregateState::List(items) => vec![Value::Dynamic(Dyn::array(items))],
            AggregateState::Bag(pairs) => vec![Value::Dynamic(Dyn::object(pairs))],
            AggregateState::Any(taken) => match taken {
                Some(values) => values,
                None => self.output_types.iter().map(|t| Value::null_of(*t)).collect(),
            },
            AggregateState::Moments { count, m2, .. } => {
                use AggregateKind::*;
                let population = matches!(self.kind, VarianceP | StdevP);
                let denominator = if population { count } else { count - 1.0 };
                let variance = if denominator > 0.0 { m2 / denominator } else { 0.0 };
                let value = if matches!(self.kind, Stdev | StdevIf | StdevP) { variance.sqrt() } else { variance };
                vec![if count == 0.0 { Value::Null } else { Value::Real(value) }]
            }
            AggregateState::Values(mut values) => {
                values.sort_by(|a, b| compare(a, b).unwrap_or(std::cmp::Ordering::Equal));
                self.percentages
                    .iter()
                    .zip(&self.output_types)
                    .map(|(percentage, ty)| {
                        if values.is_empty() {
                            return Value::null_of(*ty);
                        }
                        // Nearest rank: the smallest value with at least p% of the values at or below it.
                        let rank = ((percentage / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
                        values[rank.min(values.len()) - 1].clone()
                    })
                    .collect()
            }
        }
    }
}

fn add_to_bag(pairs: &mut Vec<(Str, Dyn)>, key: &Str, item: &Dyn, max_size: usize) {
    if let Some((_, existing)) = pairs.iter_mut().find(|(k, _)| k == key) {
        *existing = item.clone();
    } else if pairs.len() < max_size {
        pairs.push((key.clone(), item.clone()));
    }
}
