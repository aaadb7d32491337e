//! A fast walk over the members of a JSON object: it finds where each top-level key and value is, without
//! parsing the values (strings are delimited with SIMD `memchr2`, nested arrays and objects by counting
//! brackets outside strings). The scan of a `.jsonl` line uses it to reach the few columns a query reads,
//! and then parses just those values strictly, with `serde_json`. It does not validate what it skips; when
//! the text is not shaped like an object it says so, and the caller falls back to `serde_json` for the
//! exact error.

use std::borrow::Cow;

use memchr::memchr2;

/// The text is not a JSON object this walker understands.
#[derive(Debug, PartialEq, Eq)]
pub struct NotAnObject;

fn skip_whitespace(bytes: &[u8], mut position: usize) -> usize {
    while matches!(bytes.get(position), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        position += 1;
    }
    position
}

/// The position of the quote that closes the string opened at `start`.
fn string_end(bytes: &[u8], start: usize) -> Result<usize, NotAnObject> {
    let mut position = start + 1;
    loop {
        let found = memchr2(b'"', b'\\', bytes.get(position..).ok_or(NotAnObject)?).ok_or(NotAnObject)?;
        let at = position + found;
        if bytes[at] == b'"' {
            return Ok(at);
        }
        position = at + 2;
    }
}

/// The position just after the value that starts at `start`.
fn value_end(bytes: &[u8], start: usize) -> Result<usize, NotAnObject> {
    match bytes.get(start).ok_or(NotAnObject)? {
        b'"' => Ok(string_end(bytes, start)? + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut position = start;
            while let Some(byte) = bytes.get(position) {
                match byte {
                    b'"' => {
                        position = string_end(bytes, position)? + 1;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(position + 1);
                        }
                    }
                    _ => {}
                }
                position += 1;
            }
            Err(NotAnObject)
        }
        _ => {
            let mut position = start;
            while let Some(byte) = bytes.get(position) {
                if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                position += 1;
            }
            if position == start { Err(NotAnObject) } else { Ok(position) }
        }
    }
}

/// Calls `visit(key, raw value)` for each member of the object in `text`, in order, until it returns
/// `false`. Returns `Ok(true)` when the whole object was walked, `Ok(false)` when `visit` stopped it.
pub fn for_each_member<'a>(
    text: &'a str,
    mut visit: impl FnMut(Cow<'a, str>, &'a str) -> bool,
) -> Result<bool, NotAnObject> {
    let bytes = text.as_bytes();
    let mut position = skip_whitespace(bytes, 0);
    if bytes.get(position) != Some(&b'{') {
        return Err(NotAnObject);
    }
    position = skip_whitespace(bytes, position + 1);
    if bytes.get(position) == Some(&b'}') {
        return if skip_whitespace(bytes, position + 1) == bytes.len() { Ok(true) } else { Err(NotAnObject) };
    }
    loop {
        if bytes.get(position) != Some(&b'"') {
            return Err(NotAnObject);
        }
        let key_end = string_end(bytes, position)?;
        let raw_key = &text[position + 1..key_end];
        let key = if raw_key.contains('\\') {
            Cow::Owned(serde_json::from_str::<String>(&text[position..=key_end]).map_err(|_| NotAnObject)?)
        } else {
            Cow::Borrowed(raw_key)
        };
        position = skip_whitespace(bytes, key_end + 1);
        if bytes.get(position) != Some(&b':') {
            return Err(NotAnObject);
        }
        let value_start = skip_whitespace(bytes, position + 1);
        let end = value_end(bytes, value_start)?;
        if !visit(key, &text[value_start..end]) {
            return Ok(false);
        }
        position = skip_whitespace(bytes, end);
        match bytes.get(position) {
            Some(b',') => position = skip_whitespace(bytes, position + 1),
            Some(b'}') => {
                return if skip_whitespace(bytes, position + 1) == bytes.len() { Ok(true) } else { Err(NotAnObject) };
            }
            _ => return Err(NotAnObject),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> Result<Vec<(String, String)>, NotAnObject> {
        let mut out = Vec::new();
        for_each_member(text, |key, value| {
            out.push((key.into_owned(), value.to_string()));
            true
        })?;
        Ok(out)
    }

    #[test]
    fn delimits_every_kind_of_value() {
        let text = r#" { "a" : 1 , "b":"x\"}{\\","c" :[1,{"d":"]"}], "e":{"f":[]},"g":true,"h":null, "i":-1.5e3 } "#;
        let found = members(text).expect("an object");
        let expected = [
            ("a", "1"),
            ("b", r#""x\"}{\\""#),
            ("c", r#"[1,{"d":"]"}]"#),
            ("e", r#"{"f":[]}"#),
            ("g", "true"),
            ("h", "null"),
            ("i", "-1.5e3"),
        ];
        assert_eq!(found, expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>());
    }

    #[test]
    fn decodes_escaped_keys_and_stops_on_request() {
        let found = members(r#"{"Action\u0054ype":"x"}"#).expect("an object");
        assert_eq!(found[0].0, "ActionType");
        let mut seen = 0;
        assert_eq!(
            for_each_member(r#"{"a":1,"b":2,"c":3}"#, |_, _| {
                seen += 1;
                seen < 2
            }),
            Ok(false)
        );
        assert_eq!(seen, 2);
        assert_eq!(members("{}"), Ok(Vec::new()));
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        for text in [
            "[1]",
            "",
            "{",
            r#"{"a":1"#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            r#"{"a":"unterminated}"#,
            r#"{"a":1} x"#,
            "not json",
        ] {
            assert_eq!(members(text), Err(NotAnObject), "{text}");
        }
    }
}
