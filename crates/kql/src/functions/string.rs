//! String functions. Positions and lengths count Unicode code points, as Kusto's do.

use std::sync::Arc;

use super::super::types::Type;
use super::super::value::{Dyn, Value};
use super::{Args, CallContext, FunctionDef, Param, def, expect, integer, string_value, text, with_regex};

fn strings_to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

const S: &[Param] = &[Param::String];
const SS: &[Param] = &[Param::String, Param::String];
const SSS: &[Param] = &[Param::String, Param::String, Param::String];

pub(super) static FUNCTIONS: [FunctionDef; 27] = [
    def("strlen", 1, 1, |a| strings_to(Type::Long, S)(a), |_, v| Value::Long(text(&v[0]).chars().count() as i64)),
    def("tolower", 1, 1, |a| strings_to(Type::String, S)(a), |_, v| string_value(text(&v[0]).to_lowercase())),
    def("toupper", 1, 1, |a| strings_to(Type::String, S)(a), |_, v| string_value(text(&v[0]).to_uppercase())),
    def(
        "substring",
        2,
        3,
        |a| strings_to(Type::String, &[Param::String, Param::Integer, Param::Integer])(a),
        substring,
    ),
    def("split", 2, 3, |a| strings_to(Type::Dynamic, &[Param::String, Param::String, Param::Integer])(a), split),
    def("replace_string", 3, 3, |a| strings_to(Type::String, SSS)(a), replace_string),
    FunctionDef {
        regex_argument: Some(1),
        ..def("replace_regex", 3, 3, |a| strings_to(Type::String, SSS)(a), replace_regex)
    },
    FunctionDef { regex_argument: Some(0), ..def("extract", 3, 4, check_extract, extract) },
    FunctionDef {
        regex_argument: Some(0),
        ..def(
            "extract_all",
            2,
            3,
            |a| strings_to(Type::Dynamic, &[Param::String, Param::Any, Param::String])(a),
            extract_all,
        )
    },
    FunctionDef {
        regex_argument: Some(0),
        regex_rewrite: Some(trim_both_pattern),
        ..def("trim", 2, 2, |a| strings_to(Type::String, SS)(a), trim)
    },
    FunctionDef {
        regex_argument: Some(0),
        regex_rewrite: Some(trim_start_pattern),
        ..def("trim_start", 2, 2, |a| strings_to(Type::String, SS)(a), trim)
    },
    FunctionDef {
        regex_argument: Some(0),
        regex_rewrite: Some(trim_end_pattern),
        ..def("trim_end", 2, 2, |a| strings_to(Type::String, SS)(a), trim)
    },
    def(
        "indexof",
        2,
        5,
        |a| strings_to(Type::Long, &[Param::Any, Param::Any, Param::Integer, Param::Integer, Param::Integer])(a),
        indexof,
    ),
    def("countof", 2, 3, |a| strings_to(Type::Long, SSS)(a), countof),
    def("strcat", 1, 64, |a| strings_to(Type::String, &[Param::Any])(a), strcat),
    def("strcat_delim", 3, 65, |a| strings_to(Type::String, &[Param::String, Param::Any])(a), strcat_delim),
    def("isempty", 1, 1, |a| strings_to(Type::Bool, &[Param::Any])(a), |_, v| Value::Bool(v[0].is_empty())),
    def("isnotempty", 1, 1, |a| strings_to(Type::Bool, &[Param::Any])(a), |_, v| Value::Bool(!v[0].is_empty())),
    def("isnull", 1, 1, |a| strings_to(Type::Bool, &[Param::Any])(a), |_, v| Value::Bool(v[0].is_null())),
    def("strrep", 2, 3, |a| strings_to(Type::String, &[Param::Any, Param::Integer, Param::String])(a), strrep),
    def("isnotnull", 1, 1, |a| strings_to(Type::Bool, &[Param::Any])(a), |_, v| Value::Bool(!v[0].is_null())),
    // `replace(regex, rewrite, text)`: the older form of `replace_regex(text, regex, rewrite)`.
    FunctionDef {
        regex_argument: Some(0),
        ..def(
            "replace",
            3,
            3,
            |a| strings_to(Type::String, SSS)(a),
            |c, v| replace_regex(c, &[v[2].clone(), v[0].clone(), v[1].clone()]),
        )
    },
    def("strcmp", 2, 2, |a| strings_to(Type::Long, SS)(a), |_, v| Value::Long(text(&v[0]).cmp(&text(&v[1])) as i64)),
    def("has_any_index", 2, 2, |a| strings_to(Type::Long, &[Param::String, Param::Any])(a), has_any_index),
    def("translate", 3, 3, |a| strings_to(Type::String, SSS)(a), translate),
    // The older spelling of `extract_all`.
    FunctionDef {
        regex_argument: Some(0),
        ..def(
            "extractall",
            2,
            3,
            |a| strings_to(Type::Dynamic, &[Param::String, Param::Any, Param::String])(a),
            extract_all,
        )
    },
    def("new_guid", 0, 0, |_| Ok(Type::Guid), |_, _| string_value(uuid::Uuid::new_v4().to_string())),
];

/// `has_any_index(text, terms)`: the index of the first term (of a dynamic array) that `has` finds, or -1.
fn has_any_index(_: &CallContext, v: &[Value]) -> Value {
    let Some(Dyn::Array(terms)) = v[1].as_dyn() else { return Value::Null };
    let haystack = text(&v[0]).to_lowercase();
    let found = terms.iter().position(|term| {
        let needle = term.to_text().to_lowercase();
        !needle.is_empty() && super::super::eval::term_match(&haystack, &needle, true, true)
    });
    Value::Long(found.map_or(-1, |index| index as i64))
}

/// `translate(from, to, text)`: each character of `from` in `text` becomes the one at its place in `to` (the
/// last of `to` when it is shorter); with an empty `to`, it is removed.
fn translate(_: &CallContext, v: &[Value]) -> Value {
    let from: Vec<char> = text(&v[0]).chars().collect();
    let into: Vec<char> = text(&v[1]).chars().collect();
    let translated: String = text(&v[2])
        .chars()
        .filter_map(|c| match from.iter().position(|f| *f == c) {
            Some(_) if into.is_empty() => None,
            Some(index) => Some(*into.get(index).or(into.last()).unwrap_or(&c)),
            None => Some(c),
        })
        .collect();
    string_value(translated)
}

fn chars_slice(text: &str, start: usize, length: usize) -> String {
    text.chars().skip(start).take(length).collect()
}

/// `substring(s, start[, length])`: a negative start counts from the end; out-of-range parts are clamped.
fn substring(_: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[0]);
    let count = source.chars().count() as i64;
    let Some(mut start) = integer(&v[1]) else { return Value::empty_string() };
    if start < 0 {
        start = (count + start).max(0);
    }
    let length = match v.get(2) {
        Some(value) => match integer(value) {
            Some(n) if n >= 0 => n,
            _ => return Value::empty_string(),
        },
        None => count,
    };
    if start >= count {
        return Value::empty_string();
    }
    string_value(chars_slice(&source, start as usize, length.min(count - start) as usize))
}

/// `split(s, delimiter[, index])`: always an array; with an index, an array of that one part (or empty).
fn split(_: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[0]);
    let delimiter = text(&v[1]);
    let parts: Vec<Dyn> = if delimiter.is_empty() {
        vec![Dyn::String(source.clone())]
    } else {
        source.split(&*delimiter).map(|part| Dyn::String(Arc::from(part))).collect()
    };
    match v.get(2) {
        Some(index) => match integer(index) {
            Some(i) if i >= 0 && (i as usize) < parts.len() => {
                Value::Dynamic(Dyn::array(vec![parts[i as usize].clone()]))
            }
            Some(_) => Value::Dynamic(Dyn::array(Vec::new())),
            None => Value::Null,
        },
        None => Value::Dynamic(Dyn::array(parts)),
    }
}

fn replace_string(_: &CallContext, v: &[Value]) -> Value {
    let (source, lookup, rewrite) = (text(&v[0]), text(&v[1]), text(&v[2]));
    if lookup.is_empty() {
        return Value::String(source);
    }
    string_value(source.replace(&*lookup, &rewrite))
}

/// Kusto's rewrite uses `\1` for groups; the regex crate uses `${1}` (and `$` must be doubled).
fn rewrite_template(rewrite: &str) -> String {
    let mut out = String::with_capacity(rewrite.len());
    let mut chars = rewrite.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            '$' => out.push_str("$$"),
            other => out.push(other),
        }
    }
    out
}

fn replace_regex(context: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[0]);
    let template = rewrite_template(&text(&v[2]));
    with_regex(context, &v[1], |regex| string_value(regex.replace_all(&source, template.as_str()).into_owned()))
        .unwrap_or(Value::String(source))
}

fn check_extract(args: &Args) -> Result<Type, String> {
    expect(args, &[Param::String, Param::Integer, Param::Any, Param::String])?;
    Ok(match args.literal_text(3) {
        Some(name) => Type::from_name(&name).ok_or_else(|| format!("'{name}' is not a type"))?,
        None => Type::String,
    })
}

/// `extract(regex, group, text[, typeof(T)])`: the group of the first match, converted to T.
fn extract(context: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[2]);
    let group = integer(&v[1]).unwrap_or(0).max(0) as usize;
    let found = with_regex(context, &v[0], |regex| {
        regex.captures(&source).and_then(|captures| captures.get(group).map(|m| m.as_str().to_string()))
    })
    .flatten();
    match found {
        Some(text) => super::convert(&Value::string(text), context.result_type),
        None => Value::null_of(context.result_type),
    }
}

/// `extract_all(regex, [groups,] text)`: every match; one group gives an array of strings, several an array
/// of arrays.
fn extract_all(context: &CallContext, v: &[Value]) -> Value {
    let (selection, source) = if v.len() == 3 { (Some(&v[1]), text(&v[2])) } else { (None, text(&v[1])) };
    let result = with_regex(context, &v[0], |regex| {
        let groups: Vec<usize> = match selection.and_then(Value::as_dyn) {
            Some(Dyn::Array(items)) => items
                .iter()
                .filter_map(|item| match item {
                    Dyn::Long(n) => Some(*n as usize),
                    Dyn::String(name) => regex.capture_names().position(|n| n == Some(&**name)),
                    _ => None,
                })
                .collect(),
            _ => (1..regex.captures_len()).collect(),
        };
        let groups = if groups.is_empty() { vec![0] } else { groups };
        let matches: Vec<Dyn> = regex
            .captures_iter(&source)
            .map(|captures| {
                let values: Vec<Dyn> = groups
                    .iter()
                    .map(|g| captures.get(*g).map_or(Dyn::Null, |m| Dyn::String(Arc::from(m.as_str()))))
                    .collect();
                if values.len() == 1 { values.into_iter().next().unwrap_or_default() } else { Dyn::array(values) }
            })
            .collect();
        if matches.is_empty() { Value::Null } else { Value::Dynamic(Dyn::array(matches)) }
    });
    result.unwrap_or(Value::Null)
}

fn trim_both_pattern(pattern: &str) -> String {
    format!("^(?:{pattern})+|(?:{pattern})+$")
}

fn trim_start_pattern(pattern: &str) -> String {
    format!("^(?:{pattern})+")
}

fn trim_end_pattern(pattern: &str) -> String {
    format!("(?:{pattern})+$")
}

/// `trim(regex, text)` and friends: the anchored pattern (made by `regex_rewrite`) is removed.
fn trim(context: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[1]);
    with_regex(context, &v[0], |regex| string_value(regex.replace_all(&source, "").into_owned()))
        .unwrap_or(Value::String(source))
}

/// `indexof(source, lookup[, start[, length[, occurrence]]])` in code points; -1 when not found.
fn indexof(_: &CallContext, v: &[Value]) -> Value {
    let source: Vec<char> = text(&v[0]).chars().collect();
    let lookup: Vec<char> = text(&v[1]).chars().collect();
    let count = source.len() as i64;
    let mut start = v.get(2).map_or(Some(0), integer).unwrap_or(0);
    if start < 0 {
        start = (count + start).max(0);
    }
    let length = match v.get(3).map(integer) {
        Some(Some(n)) if n < -1 => return Value::Null,
        Some(Some(n)) if n >= 0 => n,
        _ => -1,
    };
    let occurrence = match v.get(4).map(integer) {
        Some(Some(n)) if n <= 0 => return Value::Null,
        Some(Some(n)) => n,
        _ => 1,
    };
    // The `length` positions after `start` are examined, both ends included (Kusto's examples:
    // indexof("abcdefg", "cde", 1, 2) is -1, indexof("abcdefgabcdefg", "cde", 1, 10, 2) is 9).
    let end = if length < 0 { count } else { (start + length + 1).min(count) };
    if start > count {
        return Value::Long(-1);
    }
    let mut seen = 0;
    let mut position = start as usize;
    while (position as i64) + (lookup.len() as i64) <= end {
        if source[position..position + lookup.len()] == lookup[..] {
            seen += 1;
            if seen == occurrence {
                return Value::Long(position as i64);
            }
        }
        position += 1;
    }
    Value::Long(-1)
}

/// `countof(text, search[, "normal"|"regex"])`: plain matches may overlap, regex matches do not.
fn countof(context: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[0]);
    let regex_kind = v.get(2).is_some_and(|kind| &*text(kind) == "regex");
    if regex_kind {
        return with_regex(context, &v[1], |regex| Value::Long(regex.find_iter(&source).count() as i64))
            .unwrap_or(Value::Null);
    }
    let search = text(&v[1]);
    if search.is_empty() {
        return Value::Long(0);
    }
    let mut count = 0;
    let mut from = 0;
    while let Some(found) = source[from..].find(&*search) {
        count += 1;
        from += found + search.chars().next().map_or(1, char::len_utf8);
    }
    Value::Long(count)
}

fn strcat(_: &CallContext, v: &[Value]) -> Value {
    let mut out = String::new();
    for value in v {
        value.write_text(&mut out);
    }
    string_value(out)
}

fn strcat_delim(_: &CallContext, v: &[Value]) -> Value {
    let delimiter = text(&v[0]);
    let mut out = String::new();
    for (index, value) in v[1..].iter().enumerate() {
        if index > 0 {
            out.push_str(&delimiter);
        }
        value.write_text(&mut out);
    }
    string_value(out)
}

/// `strrep(value, count[, delimiter])`: the text repeated, at most 1,024 times (as Kusto caps it).
fn strrep(_: &CallContext, v: &[Value]) -> Value {
    let source = text(&v[0]);
    let Some(count) = integer(&v[1]).filter(|n| *n >= 0) else { return Value::empty_string() };
    let delimiter = v.get(2).map(text).unwrap_or_default();
    let parts = vec![&*source; count.min(1024) as usize];
    string_value(parts.join(&delimiter))
}
