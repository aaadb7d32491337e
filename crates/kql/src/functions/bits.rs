//! Bitwise functions over longs: `binary_and`, `binary_or`, `binary_xor`, `binary_not`, `binary_shift_left`,
//! `binary_shift_right`, `bitset_count_ones`.

use super::super::types::Type;
use super::super::value::Value;
use super::{Args, FunctionDef, Param, def, expect, integer};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

const ONE: &[Param] = &[Param::Integer];
const TWO: &[Param] = &[Param::Integer, Param::Integer];

fn both(v: &[Value], f: fn(i64, i64) -> Option<i64>) -> Value {
    match (integer(&v[0]), integer(&v[1])) {
        (Some(a), Some(b)) => f(a, b).map_or(Value::Null, Value::Long),
        _ => Value::Null,
    }
}

pub(super) static FUNCTIONS: [FunctionDef; 7] = [
    def("binary_and", 2, 2, |a| to(Type::Long, TWO)(a), |_, v| both(v, |a, b| Some(a & b))),
    def("binary_or", 2, 2, |a| to(Type::Long, TWO)(a), |_, v| both(v, |a, b| Some(a | b))),
    def("binary_xor", 2, 2, |a| to(Type::Long, TWO)(a), |_, v| both(v, |a, b| Some(a ^ b))),
    def("binary_not", 1, 1, |a| to(Type::Long, ONE)(a), |_, v| integer(&v[0]).map_or(Value::Null, |a| Value::Long(!a))),
    // A shift of 64 or more, or a negative one, is null in Kusto.
    def(
        "binary_shift_left",
        2,
        2,
        |a| to(Type::Long, TWO)(a),
        |_, v| both(v, |a, n| u32::try_from(n).ok().filter(|n| *n < 64).map(|n| a.wrapping_shl(n))),
    ),
    def(
        "binary_shift_right",
        2,
        2,
        |a| to(Type::Long, TWO)(a),
        |_, v| both(v, |a, n| u32::try_from(n).ok().filter(|n| *n < 64).map(|n| a.wrapping_shr(n))),
    ),
    def(
        "bitset_count_ones",
        1,
        1,
        |a| to(Type::Long, ONE)(a),
        |_, v| integer(&v[0]).map_or(Value::Null, |a| Value::Long(i64::from(a.count_ones()))),
    ),
];
