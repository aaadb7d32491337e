//! Functions over `dynamic` arrays and property bags.

use std::sync::Arc;

use super::super::types::Type;
use super::super::value::{Dyn, Str, Value, equals};
use super::{Args, CallContext, FunctionDef, Param, def, expect, integer};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

fn check_pack(args: &Args) -> Result<Type, String> {
    if !args.types.len().is_multiple_of(2) {
        return Err("expects pairs of key and value arguments".to_string());
    }
    Ok(Type::Dynamic)
}

pub(super) static FUNCTIONS: [FunctionDef; 11] = [
    def(
        "array_length",
        1,
        1,
        |a| to(Type::Long, &[Param::Any])(a),
        |_, v| match v[0].as_dyn() {
            Some(Dyn::Array(items)) => Value::Long(items.len() as i64),
            _ => Value::Null,
        },
    ),
    def("array_concat", 1, 64, |a| to(Type::Dynamic, &[Param::Any])(a), array_concat),
    def("set_has_element", 2, 2, |a| to(Type::Bool, &[Param::Any, Param::Any])(a), set_has_element),
    def("array_index_of", 2, 2, |a| to(Type::Long, &[Param::Any, Param::Any])(a), array_index_of),
    def("array_slice", 3, 3, |a| to(Type::Dynamic, &[Param::Any, Param::Integer, Param::Integer])(a), array_slice),
    def(
        "bag_keys",
        1,
        1,
        |a| to(Type::Dynamic, &[Param::Any])(a),
        |_, v| match v[0].as_dyn() {
            Some(Dyn::Object(pairs)) => {
                Value::Dynamic(Dyn::array(pairs.iter().map(|(k, _)| Dyn::String(k.clone())).collect()))
            }
            _ => Value::Null,
        },
    ),
    def(
        "bag_has_key",
        2,
        2,
        |a| to(Type::Bool, &[Param::Any, Param::String])(a),
        |_, v| match v[0].as_dyn() {
            Some(Dyn::Object(pairs)) => {
                let key = v[1].to_text();
                Value::Bool(pairs.iter().any(|(k, _)| *k == key))
            }
            _ => Value::Null,
        },
    ),
    def("strcat_array", 2, 2, |a| to(Type::String, &[Param::Any, Param::String])(a), strcat_array),
    def("bag_pack", 2, 65_534, check_pack, pack),
    def("pack", 2, 65_534, check_pack, pack),
    def(
        "pack_array",
        1,
        32_767,
        |a| to(Type::Dynamic, &[Param::Any])(a),
        |_, v| Value::Dynamic(Dyn::array(v.iter().map(Value::to_dyn).collect())),
    ),
];

fn array_concat(_: &CallContext, v: &[Value]) -> Value {
    let mut all = Vec::new();
    for value in v {
        match value.as_dyn() {
            Some(Dyn::Array(items)) => all.extend(items.iter().cloned()),
            _ => return Value::Null,
        }
    }
    Value::Dynamic(Dyn::array(all))
}

fn position(array: &Value, needle: &Value) -> Option<Option<usize>> {
    match array.as_dyn() {
        Some(Dyn::Array(items)) => {
            Some(items.iter().position(|item| equals(&item.to_scalar(), needle, false) == Some(true)))
        }
        _ => None,
    }
}

fn set_has_element(_: &CallContext, v: &[Value]) -> Value {
    position(&v[0], &v[1]).map_or(Value::Null, |found| Value::Bool(found.is_some()))
}

fn array_index_of(_: &CallContext, v: &[Value]) -> Value {
    position(&v[0], &v[1]).map_or(Value::Null, |found| Value::Long(found.map_or(-1, |i| i as i64)))
}

/// `array_slice(array, start, end)`: inclusive end; negative indexes count from the end.
fn array_slice(_: &CallContext, v: &[Value]) -> Value {
    let Some(Dyn::Array(items)) = v[0].as_dyn() else { return Value::Null };
    let len = items.len() as i64;
    let resolve = |i: i64| if i < 0 { len + i } else { i };
    let (Some(start), Some(end)) = (integer(&v[1]).map(resolve), integer(&v[2]).map(resolve)) else {
        return Value::Null;
    };
    let start = start.max(0);
    let end = end.min(len - 1);
    if start > end {
        return Value::Dynamic(Dyn::array(Vec::new()));
    }
    Value::Dynamic(Dyn::array(items[start as usize..=end as usize].to_vec()))
}

/// `pack_all(true)`: the row's columns as a bag, without those that are null or empty (its arguments are
/// pairs of name and value, as `bag_pack`'s). Not a function a query can name.
pub static PACK_NON_EMPTY: FunctionDef = def("pack_all", 0, 4096, check_pack, |_, v| {
    let pairs: Vec<(Str, Dyn)> = v
        .chunks(2)
        .filter(|pair| !pair[1].is_empty())
        .map(|pair| (Arc::from(&*pair[0].to_text()), pair[1].to_dyn()))
        .collect();
    Value::Dynamic(Dyn::object(pairs))
});

fn pack(_: &CallContext, v: &[Value]) -> Value {
    let pairs: Vec<(Str, Dyn)> = v.chunks(2).map(|pair| (Arc::from(&*pair[0].to_text()), pair[1].to_dyn())).collect();
    Value::Dynamic(Dyn::object(pairs))
}

/// `strcat_array(array, delimiter)`: the elements' text joined.
fn strcat_array(_: &CallContext, v: &[Value]) -> Value {
    let Some(Dyn::Array(items)) = v[0].as_dyn() else { return Value::empty_string() };
    let delimiter = v[1].to_text();
    let parts: Vec<String> = items.iter().map(|item| item.to_text().to_string()).collect();
    Value::string(parts.join(&delimiter))
}
