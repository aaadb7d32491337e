//! Text about the network and files: hashes, IPv4 ranges, URLs, paths, hex.

use std::net::Ipv4Addr;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::super::types::Type;
use super::super::value::{Dyn, Str, Value};
use super::{Args, CallContext, FunctionDef, Param, def, expect, integer, string_value, text};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

pub(super) static FUNCTIONS: [FunctionDef; 8] = [
    def(
        "hash_sha256",
        1,
        1,
        |a| to(Type::String, &[Param::Any])(a),
        |_, v| {
            let digest = Sha256::digest(text(&v[0]).as_bytes());
            string_value(digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
        },
    ),
    def(
        "ipv4_is_private",
        1,
        1,
        |a| to(Type::Bool, &[Param::String])(a),
        |_, v| match parse_ipv4_range(&text(&v[0])) {
            Some((ip, _)) => Value::Bool(ip.is_private()),
            None => Value::Null,
        },
    ),
    def("ipv4_is_in_range", 2, 2, |a| to(Type::Bool, &[Param::String, Param::String])(a), ipv4_is_in_range),
    def(
        "url_decode",
        1,
        1,
        |a| to(Type::String, &[Param::String])(a),
        |_, v| {
            let source = text(&v[0]);
            match percent_encoding::percent_decode_str(&source).decode_utf8() {
                Ok(decoded) => string_value(decoded.into_owned()),
                Err(_) => Value::empty_string(),
            }
        },
    ),
    def("parse_url", 1, 1, |a| to(Type::Dynamic, &[Param::String])(a), parse_url),
    def("parse_path", 1, 1, |a| to(Type::Dynamic, &[Param::String])(a), parse_path),
    def("tohex", 1, 2, |a| to(Type::String, &[Param::Integer, Param::Integer])(a), tohex),
    def(
        "reverse",
        1,
        1,
        |a| to(Type::String, &[Param::Any])(a),
        |_, v| string_value(text(&v[0]).chars().rev().collect::<String>()),
    ),
];

/// `a.b.c.d` or `a.b.c.d/n`.
pub(super) fn parse_ipv4_range(text: &str) -> Option<(Ipv4Addr, u32)> {
    let text = text.trim();
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, prefix.parse::<u32>().ok().filter(|p| *p <= 32)?),
        None => (text, 32),
    };
    Some((address.parse().ok()?, prefix))
}

fn ipv4_is_in_range(_: &CallContext, v: &[Value]) -> Value {
    let (Some((ip, _)), Some((network, prefix))) = (parse_ipv4_range(&text(&v[0])), parse_ipv4_range(&text(&v[1])))
    else {
        return Value::Null;
    };
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    Value::Bool(u32::from(ip) & mask == u32::from(network) & mask)
}

fn dyn_string(text: &str) -> Dyn {
    Dyn::String(Arc::from(text))
}

fn parse_url(_: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[0]);
    let Ok(url) = url::Url::parse(&source) else { return Value::Dynamic(Dyn::object(Vec::new())) };
    let query: Vec<(Str, Dyn)> = url.query_pairs().map(|(k, v)| (Arc::from(&*k), dyn_string(&v))).collect();
    let port = url.port().map(|p| p.to_string()).unwrap_or_default();
    Value::Dynamic(Dyn::object(vec![
        (Arc::from("Scheme"), dyn_string(url.scheme())),
        (Arc::from("Host"), dyn_string(url.host_str().unwrap_or_default())),
        (Arc::from("Port"), dyn_string(&port)),
        (Arc::from("Path"), dyn_string(url.path())),
        (Arc::from("Username"), dyn_string(url.username())),
        (Arc::from("Password"), dyn_string(url.password().unwrap_or_default())),
        (Arc::from("Query Parameters"), Dyn::object(query)),
        (Arc::from("Fragment"), dyn_string(url.fragment().unwrap_or_default())),
    ]))
}

/// `parse_path`: Windows, UNC, Unix and `file://` paths, with an NTFS alternate data stream after `:`.
fn parse_path(_: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[0]);
    let (scheme, rest) = match source.split_once("://") {
        Some((scheme, rest)) if scheme.chars().all(|c| c.is_ascii_alphabetic()) => {
            (scheme.to_string(), rest.to_string())
        }
        _ => (String::new(), source.to_string()),
    };
    let root = match rest.as_bytes() {
        [letter, b':', ..] if letter.is_ascii_alphabetic() => rest[..2].to_string(),
        _ => String::new(),
    };
    let separator = |c: char| c == '\\' || c == '/';
    let (directory, file) = match rest.rfind(separator) {
        Some(i) => (rest[..i].to_string(), rest[i + 1..].to_string()),
        None => (String::new(), rest.clone()),
    };
    let (file, stream) = match file.split_once(':') {
        Some((file, stream)) => (file.to_string(), stream.to_string()),
        None => (file, String::new()),
    };
    let directory_name = directory.rsplit(separator).next().unwrap_or_default().to_string();
    let extension = file.rsplit_once('.').map(|(_, e)| e.to_string()).unwrap_or_default();
    Value::Dynamic(Dyn::object(vec![
        (Arc::from("Scheme"), dyn_string(&scheme)),
        (Arc::from("RootPath"), dyn_string(&root)),
        (Arc::from("DirectoryPath"), dyn_string(&directory)),
        (Arc::from("DirectoryName"), dyn_string(&directory_name)),
        (Arc::from("Filename"), dyn_string(&file)),
        (Arc::from("Extension"), dyn_string(&extension)),
        (Arc::from("AlternateDataStreamName"), dyn_string(&stream)),
    ]))
}

/// `tohex(n[, min_length])`: two's complement for negatives (32-bit for an `int`), lowercase.
fn tohex(context: &CallContext, v: &[Value]) -> Value {
    let Some(n) = integer(&v[0]) else { return Value::empty_string() };
    let digits = if context.argument_types.first() == Some(&Type::Int) {
        format!("{:x}", n as i32 as u32)
    } else {
        format!("{n:x}")
    };
    let width = v.get(1).and_then(integer).unwrap_or(0).clamp(0, 16) as usize;
    string_value(format!("{digits:0>width$}"))
}
