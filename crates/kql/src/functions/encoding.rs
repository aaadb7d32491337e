//! Functions that turn text into other forms and back: base64, URL encoding, Unicode code points, byte sizes,
//! and a Windows command line into its arguments.

use std::sync::Arc;

use base64::Engine;

use super::super::types::Type;
use super::super::value::{Dyn, Value};
use super::{Args, CallContext, FunctionDef, Param, def, expect, integer, string_value, text};

fn to(ty: Type, params: &'static [Param]) -> impl Fn(&Args) -> Result<Type, String> {
    move |args| expect(args, params).map(|()| ty)
}

const S: &[Param] = &[Param::String];

pub(super) static FUNCTIONS: [FunctionDef; 15] = [
    def("base64_encode_tostring", 1, 1, |a| to(Type::String, S)(a), base64_encode),
    def("base64_encodestring", 1, 1, |a| to(Type::String, S)(a), base64_encode),
    def("base64_decode_tostring", 1, 1, |a| to(Type::String, S)(a), base64_decode),
    def("base64_decodestring", 1, 1, |a| to(Type::String, S)(a), base64_decode),
    def("base64_decode_toarray", 1, 1, |a| to(Type::Dynamic, S)(a), base64_decode_toarray),
    def("url_encode", 1, 1, |a| to(Type::String, S)(a), url_encode),
    def("url_encode_component", 1, 1, |a| to(Type::String, S)(a), url_encode),
    def("string_size", 1, 1, |a| to(Type::Long, S)(a), |_, v| Value::Long(text(&v[0]).len() as i64)),
    def("unicode_codepoints_from_string", 1, 1, |a| to(Type::Dynamic, S)(a), codepoints_from_string),
    def("unicode_codepoints_to_string", 1, 64, |a| to(Type::String, &[Param::Any])(a), codepoints_to_string),
    def("make_string", 1, 64, |a| to(Type::String, &[Param::Any])(a), codepoints_to_string),
    def("parse_command_line", 2, 2, |a| to(Type::Dynamic, &[Param::String, Param::String])(a), parse_command_line),
    def("hash", 1, 2, check_hash, hash),
    def("hash_xxhash64", 1, 2, check_hash, hash),
    def("format_bytes", 1, 3, |a| to(Type::String, &[Param::Number, Param::Integer, Param::String])(a), format_bytes),
];

/// `hash(text[, mod])`: XXH64 (seed 0) of the UTF-8 text, as Kusto computes it (`hash("World")` is
/// 1846988464401551951). Kusto hashes other types by their binary form, which is not known here: only text is
/// taken.
fn check_hash(args: &Args) -> Result<Type, String> {
    if !args.types[0].is_stringlike() {
        return Err(super::not_local(format!(
            "hashes only text here, not {} (Kusto hashes it by its binary form)",
            args.types[0]
        )));
    }
    expect(args, &[Param::String, Param::Integer]).map(|()| Type::Long)
}

fn hash(_: &CallContext, v: &[Value]) -> Value {
    let hash = xxhash_rust::xxh64::xxh64(text(&v[0]).as_bytes(), 0) as i64;
    match v.get(1) {
        None => Value::Long(hash),
        Some(modulus) => match integer(modulus) {
            Some(m) if m != 0 => Value::Long(hash.wrapping_rem(m)),
            _ => Value::Null,
        },
    }
}

fn base64_encode(_: &CallContext, v: &[Value]) -> Value {
    string_value(base64::engine::general_purpose::STANDARD.encode(text(&v[0]).as_bytes()))
}

/// The bytes of base64 text (padding optional); `None` when it is not base64.
fn decoded(source: &str) -> Option<Vec<u8>> {
    let trimmed = source.trim();
    let engine = base64::engine::general_purpose::STANDARD;
    engine
        .decode(trimmed)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed.trim_end_matches('=')).ok())
}

/// `base64_decode_tostring(s)`: the UTF-8 text base64 encodes; null when it is not base64 or not UTF-8.
fn base64_decode(_: &CallContext, v: &[Value]) -> Value {
    match decoded(&text(&v[0])).and_then(|bytes| String::from_utf8(bytes).ok()) {
        Some(decoded) => string_value(decoded),
        None => Value::Null,
    }
}

fn base64_decode_toarray(_: &CallContext, v: &[Value]) -> Value {
    match decoded(&text(&v[0])) {
        Some(bytes) => Value::Dynamic(Dyn::array(bytes.into_iter().map(|b| Dyn::Long(i64::from(b))).collect())),
        None => Value::Null,
    }
}

/// Percent-encoding of everything but the unreserved characters, as `url_encode` does.
fn url_encode(_: &CallContext, v: &[Value]) -> Value {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    string_value(percent_encoding::utf8_percent_encode(&text(&v[0]), KEEP).to_string())
}

fn codepoints_from_string(_: &CallContext, v: &[Value]) -> Value {
    Value::Dynamic(Dyn::array(text(&v[0]).chars().map(|c| Dyn::Long(i64::from(u32::from(c)))).collect()))
}

/// `unicode_codepoints_to_string(n, ...)`: numbers or arrays of numbers; a value that is no code point is left
/// out.
fn codepoints_to_string(_: &CallContext, v: &[Value]) -> Value {
    let mut out = String::new();
    let mut push = |n: Option<i64>| {
        if let Some(c) = n.and_then(|n| u32::try_from(n).ok()).and_then(char::from_u32) {
            out.push(c);
        }
    };
    for value in v {
        match value.as_dyn() {
            Some(Dyn::Array(items)) => items.iter().for_each(|item| push(Value::Dynamic(item.clone()).as_i64())),
            _ => push(integer(value)),
        }
    }
    string_value(out)
}

/// `parse_command_line(command_line, "windows")`: the arguments as Windows (CommandLineToArgvW) splits them.
/// Another parser type gives null.
fn parse_command_line(_: &CallContext, v: &[Value]) -> Value {
    if !text(&v[1]).eq_ignore_ascii_case("windows") {
        return Value::Null;
    }
    let arguments = windows_arguments(&text(&v[0]));
    Value::Dynamic(Dyn::array(arguments.into_iter().map(|a| Dyn::String(Arc::from(a))).collect()))
}

/// The rules of `CommandLineToArgvW`: white space separates arguments outside quotes; `2n` backslashes
/// before a quote are `n` backslashes and the quote toggles quoting, `2n + 1` are `n` and a literal quote;
/// other backslashes are literal; a quote right after a closing quote inside quotes is literal. The first
/// argument (the program) ends at the first white space or closing quote, backslashes taken as they are.
fn windows_arguments(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut arguments = Vec::new();
    let mut i = 0;
    // The program name.
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    if i < chars.len() {
        let mut program = String::new();
        if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                program.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                program.push(chars[i]);
                i += 1;
            }
        }
        arguments.push(program);
    }
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            return arguments;
        }
        let mut argument = String::new();
        let mut quoted = false;
        while i < chars.len() && (quoted || !chars[i].is_whitespace()) {
            match chars[i] {
                '\\' => {
                    let start = i;
                    while i < chars.len() && chars[i] == '\\' {
                        i += 1;
                    }
                    let count = i - start;
                    if i < chars.len() && chars[i] == '"' {
                        argument.extend(std::iter::repeat_n('\\', count / 2));
                        if count % 2 == 1 {
                            argument.push('"');
                            i += 1;
                        }
                    } else {
                        argument.extend(std::iter::repeat_n('\\', count));
                    }
                }
                '"' => {
                    if quoted && chars.get(i + 1) == Some(&'"') {
                        argument.push('"');
                        i += 2;
                    } else {
                        quoted = !quoted;
                        i += 1;
                    }
                }
                c => {
                    argument.push(c);
                    i += 1;
                }
            }
        }
        arguments.push(argument);
    }
}

/// `format_bytes(size[, precision[, units]])`: `1024` is `1 KB`; `units` forces one of Bytes, KB, MB, GB, TB,
/// PB.
fn format_bytes(_: &CallContext, v: &[Value]) -> Value {
    const UNITS: [&str; 6] = ["Bytes", "KB", "MB", "GB", "TB", "PB"];
    let Some(size) = super::real(&v[0]) else { return string_value("") };
    let precision = v.get(1).and_then(integer).unwrap_or(0).clamp(0, 15) as usize;
    let forced = v.get(2).map(text).and_then(|unit| UNITS.iter().position(|u| u.eq_ignore_ascii_case(&unit)));
    let power = forced.unwrap_or_else(|| {
        let mut power = 0;
        let mut rest = size.abs();
        while rest >= 1024.0 && power + 1 < UNITS.len() {
            rest /= 1024.0;
            power += 1;
        }
        power
    });
    let scaled = size / 1024f64.powi(power as i32);
    let number = format!("{scaled:.precision$}");
    // Thousands separated as Kusto's `N` format does: `95,367.43 MB`.
    let (sign, digits) = number.strip_prefix('-').map_or(("", number.as_str()), |rest| ("-", rest));
    let (whole, fraction) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let fraction = fraction.map_or(String::new(), |f| format!(".{f}"));
    string_value(format!("{sign}{grouped}{fraction} {}", UNITS[power]))
}

#[cfg(test)]
mod tests {
    use super::windows_arguments;

    #[test]
    fn windows_command_lines_split_as_windows_splits_them() {
        let split = |line: &str| windows_arguments(line);
        assert_eq!(split(r#"echo "hello world!" print$?"#), ["echo", "hello world!", "print$?"]);
        assert_eq!(split(r#"a "b c" d"#), ["a", "b c", "d"]);
        assert_eq!(split(r#"a \"b c"#), ["a", "\"b", "c"]);
        assert_eq!(split(r#"a \\"b c" d"#), ["a", "\\b c", "d"]);
        assert_eq!(split(r#"a b\c"#), ["a", "b\\c"]);
        assert_eq!(split(r#""C:\Program Files\x.exe" -f"#), ["C:\\Program Files\\x.exe", "-f"]);
        assert_eq!(split("  "), Vec::<String>::new());
    }
}
