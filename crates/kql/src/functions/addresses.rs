//! More of IPv4: comparing addresses under a prefix, addresses as numbers and back, and where an address is
//! (`geo_info_from_ip_address`: the local engine has no geolocation database, so it answers an empty bag,
//! where Graph answers country, state, city and coordinates).

use std::net::Ipv4Addr;

use super::super::types::Type;
use super::super::value::{Dyn, Value};
use super::network::parse_ipv4_range;
use super::{Args, CallContext, FunctionDef, Param, def, expect, integer, string_value, text};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

const TWO_AND_PREFIX: &[Param] = &[Param::String, Param::String, Param::Integer];

pub(super) static FUNCTIONS: [FunctionDef; 5] = [
    def(
        "ipv4_is_match",
        2,
        3,
        |a| to(Type::Bool, TWO_AND_PREFIX)(a),
        |_, v| compare(v).map_or(Value::Null, |order| Value::Bool(order == std::cmp::Ordering::Equal)),
    ),
    def(
        "ipv4_compare",
        2,
        3,
        |a| to(Type::Long, TWO_AND_PREFIX)(a),
        |_, v| compare(v).map_or(Value::Null, |order| Value::Long(order as i64)),
    ),
    def(
        "parse_ipv4",
        1,
        1,
        |a| to(Type::Long, &[Param::String])(a),
        |_, v| parse_ipv4_range(&text(&v[0])).map_or(Value::Null, |(ip, _)| Value::Long(i64::from(u32::from(ip)))),
    ),
    def("format_ipv4", 1, 2, |a| to(Type::String, &[Param::Any, Param::Integer])(a), format_ipv4),
    def(
        "geo_info_from_ip_address",
        1,
        1,
        |a| to(Type::Dynamic, &[Param::String])(a),
        |_, _| Value::Dynamic(Dyn::object(Vec::new())),
    ),
];

/// The order of two addresses under the smallest of their prefixes and the optional third argument.
fn compare(v: &[Value]) -> Option<std::cmp::Ordering> {
    let (a, a_prefix) = parse_ipv4_range(&text(&v[0]))?;
    let (b, b_prefix) = parse_ipv4_range(&text(&v[1]))?;
    let limit = match v.get(2) {
        Some(prefix) => u32::try_from(integer(prefix)?).ok().filter(|p| *p <= 32)?,
        None => 32,
    };
    let prefix = a_prefix.min(b_prefix).min(limit);
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    Some((u32::from(a) & mask).cmp(&(u32::from(b) & mask)))
}

/// `format_ipv4(ip[, prefix])`: an address (text or number) masked to the prefix, as text.
fn format_ipv4(_: &CallContext, v: &[Value]) -> Value {
    let address = match integer(&v[0]) {
        Some(number) if !matches!(v[0], Value::String(_)) => u32::try_from(number).ok().map(Ipv4Addr::from),
        _ => parse_ipv4_range(&text(&v[0])).map(|(ip, _)| ip),
    };
    let Some(address) = address else { return Value::empty_string() };
    let prefix = v.get(1).and_then(integer).and_then(|p| u32::try_from(p).ok()).filter(|p| *p <= 32).unwrap_or(32);
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    string_value(Ipv4Addr::from(u32::from(address) & mask).to_string())
}
