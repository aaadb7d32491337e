//! Functions over whole arrays and bags: set operations, sorting, reversing, summing, zipping, merging bags.
//! Elements are the same when their JSON forms are; a result keeps the order in which elements first appear.

use std::collections::HashSet;
use std::sync::Arc;

use super::super::types::Type;
use super::super::value::{Dyn, Str, Value, compare};
use super::{Args, CallContext, FunctionDef, Param, def, expect};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

const ARRAYS: &[Param] = &[Param::Any];

pub(super) static FUNCTIONS: [FunctionDef; 13] = [
    def("set_union", 1, 64, |a| to(Type::Dynamic, ARRAYS)(a), set_union),
    def("set_intersect", 1, 64, |a| to(Type::Dynamic, ARRAYS)(a), set_intersect),
    def("set_difference", 1, 64, |a| to(Type::Dynamic, ARRAYS)(a), set_difference),
    def("array_sort_asc", 1, 2, |a| to(Type::Dynamic, &[Param::Any, Param::Bool])(a), |_, v| sorted(v, false)),
    def("array_sort_desc", 1, 2, |a| to(Type::Dynamic, &[Param::Any, Param::Bool])(a), |_, v| sorted(v, true)),
    def("array_reverse", 1, 1, |a| to(Type::Dynamic, ARRAYS)(a), array_reverse),
    def("array_sum", 1, 1, |a| to(Type::Real, ARRAYS)(a), array_sum),
    def("zip", 2, 64, |a| to(Type::Dynamic, ARRAYS)(a), zip),
    def("bag_merge", 2, 64, |a| to(Type::Dynamic, ARRAYS)(a), bag_merge),
    def("bag_remove_keys", 2, 2, |a| to(Type::Dynamic, ARRAYS)(a), bag_remove_keys),
    def("pack_dictionary", 0, 128, check_pairs, pack_dictionary),
    def("range", 2, 3, |a| to(Type::Dynamic, &[Param::Any])(a), range),
    def("jaccard_index", 2, 2, |a| to(Type::Real, ARRAYS)(a), jaccard_index),
];

/// `jaccard_index(set1, set2)`: |set1 ∩ set2| / |set1 ∪ set2| over the distinct elements (docs: `[1,2,3]` and
/// `[1,2,3,4]` give 0.75); two empty sets divide 0 by 0, a NaN as in .NET.
fn jaccard_index(_: &CallContext, v: &[Value]) -> Value {
    let (Some(first), Some(second)) = (items(&v[0]), items(&v[1])) else { return Value::Null };
    let first: HashSet<String> = first.iter().map(key).collect();
    let second: HashSet<String> = second.iter().map(key).collect();
    let union = first.union(&second).count();
    let both = first.intersection(&second).count();
    Value::Real(both as f64 / union as f64)
}

/// `range(start, stop[, step])`: the array of values from `start` to `stop` (both included) by `step` (1,
/// or 1 hour... as the type needs: numbers, datetimes with a timespan step, timespans); at most 1,048,576.
fn range(_: &CallContext, v: &[Value]) -> Value {
    const MOST: i64 = 1 << 20;
    let step = v.get(2).cloned().unwrap_or(Value::Long(1));
    let (start, stop) = (&v[0], &v[1]);
    let ticks = |value: &Value| match value {
        Value::DateTime(t) | Value::TimeSpan(t) => Some(*t),
        _ => None,
    };
    let out: Vec<Dyn> = match (start, ticks(start), ticks(stop), ticks(&step)) {
        (Value::DateTime(_) | Value::TimeSpan(_), Some(a), Some(b), Some(s)) if s != 0 => {
            let count = (b - a) / s;
            if !(0..MOST).contains(&count) {
                return Value::Null;
            }
            let wrap = |t: i64| if matches!(start, Value::DateTime(_)) { Dyn::DateTime(t) } else { Dyn::TimeSpan(t) };
            (0..=count).map(|k| wrap(a + k * s)).collect()
        }
        _ => match (
            start.as_i64(),
            stop.as_i64(),
            step.as_i64(),
            matches!(start, Value::Real(_)) || matches!(step, Value::Real(_)),
        ) {
            (Some(a), Some(b), Some(s), false) if s != 0 => {
                let count = (b - a) / s;
                if !(0..MOST).contains(&count) {
                    return Value::Dynamic(Dyn::array(Vec::new()));
                }
                (0..=count).map(|k| Dyn::Long(a + k * s)).collect()
            }
            _ => {
                let (Some(a), Some(b), Some(s)) = (start.as_f64(), stop.as_f64(), step.as_f64()) else {
                    return Value::Null;
                };
                let count = ((b - a) / s).floor();
                if !(0.0..MOST as f64).contains(&count) {
                    return Value::Dynamic(Dyn::array(Vec::new()));
                }
                (0..=count as i64).map(|k| Dyn::Real(a + k as f64 * s)).collect()
            }
        },
    };
    Value::Dynamic(Dyn::array(out))
}

/// The elements of an array argument; `None` when it is not an array.
fn items(value: &Value) -> Option<Arc<[Dyn]>> {
    match value.as_dyn()? {
        Dyn::Array(items) => Some(items.clone()),
        _ => None,
    }
}

fn key(item: &Dyn) -> String {
    item.to_json_text()
}

fn array(items: Vec<Dyn>) -> Value {
    Value::Dynamic(Dyn::array(items))
}

/// Every distinct element of the arrays, in first appearance.
fn set_union(_: &CallContext, v: &[Value]) -> Value {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for value in v {
        let Some(items) = items(value) else { return Value::Null };
        for item in items.iter() {
            if seen.insert(key(item)) {
                out.push(item.clone());
            }
        }
    }
    array(out)
}

/// The distinct elements of the first array that every other array has too.
fn set_intersect(_: &CallContext, v: &[Value]) -> Value {
    let Some(first) = items(&v[0]) else { return Value::Null };
    let mut others = Vec::new();
    for value in &v[1..] {
        let Some(items) = items(value) else { return Value::Null };
        others.push(items.iter().map(key).collect::<HashSet<String>>());
    }
    let mut seen = HashSet::new();
    let out = first
        .iter()
        .filter(|item| {
            let key = key(item);
            others.iter().all(|other| other.contains(&key)) && seen.insert(key)
        })
        .cloned()
        .collect();
    array(out)
}

/// The distinct elements of the first array that no other array has.
fn set_difference(_: &CallContext, v: &[Value]) -> Value {
    let Some(first) = items(&v[0]) else { return Value::Null };
    let mut excluded = HashSet::new();
    for value in &v[1..] {
        let Some(items) = items(value) else { return Value::Null };
        excluded.extend(items.iter().map(key));
    }
    let mut seen = HashSet::new();
    let out = first
        .iter()
        .filter(|item| {
            let key = key(item);
            !excluded.contains(&key) && seen.insert(key)
        })
        .cloned()
        .collect();
    array(out)
}

/// `array_sort_asc/desc(array[, nulls_last])`: nulls last unless told otherwise.
fn sorted(v: &[Value], descending: bool) -> Value {
    let Some(items) = items(&v[0]) else { return Value::Null };
    let nulls_last = v.get(1).and_then(|value| value.as_dyn().cloned().or_else(|| Some(value.to_dyn())));
    let nulls_last = !matches!(nulls_last, Some(Dyn::Bool(false)));
    let mut values: Vec<Dyn> = items.iter().filter(|item| !matches!(item, Dyn::Null)).cloned().collect();
    let nulls = items.len() - values.len();
    values.sort_by(|a, b| {
        let order = compare(&a.to_scalar(), &b.to_scalar()).unwrap_or(std::cmp::Ordering::Equal);
        if descending { order.reverse() } else { order }
    });
    let null_items = std::iter::repeat_n(Dyn::Null, nulls);
    let out =
        if nulls_last { values.into_iter().chain(null_items).collect() } else { null_items.chain(values).collect() };
    array(out)
}

fn array_reverse(_: &CallContext, v: &[Value]) -> Value {
    match items(&v[0]) {
        Some(items) => array(items.iter().rev().cloned().collect()),
        None => Value::Null,
    }
}

/// The sum of the numbers of an array (other elements count as nothing); null for an empty array.
fn array_sum(_: &CallContext, v: &[Value]) -> Value {
    let Some(items) = items(&v[0]) else { return Value::Null };
    let numbers: Vec<f64> = items.iter().filter_map(|item| Value::Dynamic(item.clone()).as_f64()).collect();
    if numbers.is_empty() { Value::Null } else { Value::Real(numbers.iter().sum()) }
}

/// `zip(a, b, ...)`: arrays of the elements at each position, as long as the longest (null where one ends).
fn zip(_: &CallContext, v: &[Value]) -> Value {
    let mut arrays = Vec::new();
    for value in v {
        let Some(items) = items(value) else { return Value::Null };
        arrays.push(items);
    }
    let length = arrays.iter().map(|items| items.len()).max().unwrap_or(0);
    let out = (0..length)
        .map(|index| Dyn::array(arrays.iter().map(|items| items.get(index).cloned().unwrap_or_default()).collect()))
        .collect();
    array(out)
}

/// `bag_merge(bag, ...)`: every property; on a key in several bags, the first bag's value.
fn bag_merge(_: &CallContext, v: &[Value]) -> Value {
    let mut pairs: Vec<(Str, Dyn)> = Vec::new();
    let mut seen = HashSet::new();
    for value in v {
        let Some(Dyn::Object(properties)) = value.as_dyn() else { return Value::Null };
        for (name, property) in properties.iter() {
            if seen.insert(name.clone()) {
                pairs.push((name.clone(), property.clone()));
            }
        }
    }
    Value::Dynamic(Dyn::object(pairs))
}

fn bag_remove_keys(_: &CallContext, v: &[Value]) -> Value {
    let (Some(Dyn::Object(properties)), Some(keys)) = (v[0].as_dyn(), items(&v[1])) else { return Value::Null };
    let removed: HashSet<String> = keys.iter().map(|key| key.to_text().to_string()).collect();
    let kept = properties.iter().filter(|(name, _)| !removed.contains(&**name)).cloned().collect();
    Value::Dynamic(Dyn::object(kept))
}

fn check_pairs(args: &Args) -> Result<Type, String> {
    if !args.types.len().is_multiple_of(2) {
        return Err("expects pairs of key and value arguments".to_string());
    }
    Ok(Type::Dynamic)
}

fn pack_dictionary(_: &CallContext, v: &[Value]) -> Value {
    let pairs: Vec<(Str, Dyn)> = v.chunks(2).map(|pair| (Arc::from(&*pair[0].to_text()), pair[1].to_dyn())).collect();
    Value::Dynamic(Dyn::object(pairs))
}
