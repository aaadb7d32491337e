//! A fast walk over the members of a JSON object: it finds where each top-level key and value is, without
//! parsing the values (strings are delimited with SIMD `memchr2`, nested arrays and objects by counting
//! brackets outside strings). The scan of a `.jsonl` line uses it to reach the few columns a query reads,
//! and then parses just those values strictly, with `serde_json`. It does not validate what it skips; when
//! the text is not shaped like an object it says so, and the caller falls back to `serde_json` for the
//! exact error.

use std::borrow::Cow;

/// The text is not a JSON object this walker understands.
#[derive(Debug, PartialEq, Eq)]
pub struct NotAnObject;

fn skip_whitespace(bytes: &[u8], mut position: usize) -> usize {
    while matches!(bytes.get(position), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        position += 1;
    }
    position
}

/// The position of the quote that closes the string opened at `start`. Eight bytes are looked at at once
/// (a word compared against `"` and `\\` with the usual bit trick): most strings of a line are short (keys,
/// ids, names), too short for a SIMD search to pay for its set-up.
fn string_end(bytes: &[u8], start: usize) -> Result<usize, NotAnObject> {
    string_extent(bytes, start).map(|(end, _)| end)
}

/// `string_end`, and whether the string holds an escape.
#[inline(always)]
fn string_extent(bytes: &[u8], start: usize) -> Result<(usize, bool), NotAnObject> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `word` that is zero (exact for the lowest such byte, which is all we use).
    let zeros = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let mut position = start + 1;
    let mut escaped = false;
    loop {
        match bytes.get(position..position + 8) {
            Some(chunk) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let word = u64::from_le_bytes(word);
                let found = zeros(word ^ (ONES * u64::from(b'"'))) | zeros(word ^ (ONES * u64::from(b'\\')));
                if found == 0 {
                    position += 8;
                    continue;
                }
                position += (found.trailing_zeros() / 8) as usize;
            }
            None => match bytes.get(position..).ok_or(NotAnObject)?.iter().position(|b| matches!(b, b'"' | b'\\')) {
                Some(at) => position += at,
                None => return Err(NotAnObject),
            },
        }
        if bytes[position] == b'"' {
            return Ok((position, escaped));
        }
        escaped = true;
        position += 2;
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

/// What the walk does with a member, once its key is read.
pub enum Visit {
    /// Skip its value and go on.
    Skip,
    /// Hand over its value and go on.
    Take,
    /// Hand over the text from its value's start to the end (its value and what follows), and stop: the
    /// value's end is not looked for, which saves walking a large object only some members of which are read.
    TakeRest,
}

/// The length of the JSON value that starts `text` (what follows it is not looked at).
pub fn value_len(text: &str) -> Result<usize, NotAnObject> {
    value_end(text.as_bytes(), 0)
}

/// What a walk over an object's members asks of its caller.
pub trait Members<'a> {
    /// What to do with the member of this key.
    fn choose(&mut self, key: &str) -> Visit;
    /// A member taken (its key and raw value); whether to go on.
    fn take(&mut self, key: Cow<'a, str>, value: &'a str) -> bool;
}

/// Walks the members of the object that starts `text` (what follows it is not looked at), asking `visitor`
/// what to do with each. Returns the position just after the object when it was walked to its end, `None`
/// when it stopped early.
pub fn walk_members<'a>(text: &'a str, visitor: &mut impl Members<'a>) -> Result<Option<usize>, NotAnObject> {
    let bytes = text.as_bytes();
    let mut position = skip_whitespace(bytes, 0);
    if bytes.get(position) != Some(&b'{') {
        return Err(NotAnObject);
    }
    position = skip_whitespace(bytes, position + 1);
    if bytes.get(position) == Some(&b'}') {
        return Ok(Some(position + 1));
    }
    loop {
        if bytes.get(position) != Some(&b'"') {
            return Err(NotAnObject);
        }
        let (key_end, escaped) = string_extent(bytes, position)?;
        let raw_key = &text[position + 1..key_end];
        let key = if escaped {
            Cow::Owned(serde_json::from_str::<String>(&text[position..=key_end]).map_err(|_| NotAnObject)?)
        } else {
            Cow::Borrowed(raw_key)
        };
        position = skip_whitespace(bytes, key_end + 1);
        if bytes.get(position) != Some(&b':') {
            return Err(NotAnObject);
        }
        let value_start = skip_whitespace(bytes, position + 1);
        match visitor.choose(&key) {
            Visit::TakeRest => {
                if bytes.get(value_start).is_none() {
                    return Err(NotAnObject);
                }
                visitor.take(key, &text[value_start..]);
                return Ok(None);
            }
            Visit::Take => {
                let end = value_end(bytes, value_start)?;
                if !visitor.take(key, &text[value_start..end]) {
                    return Ok(None);
                }
                position = end;
            }
            Visit::Skip => position = value_end(bytes, value_start)?,
        }
        position = skip_whitespace(bytes, position);
        match bytes.get(position) {
            Some(b',') => position = skip_whitespace(bytes, position + 1),
            Some(b'}') => return Ok(Some(position + 1)),
            _ => return Err(NotAnObject),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `visit(key, raw value)` for each member of the object in `text`, in order, until it returns
    /// `false`. Returns `Ok(true)` when the whole object was walked, `Ok(false)` when `visit` stopped it.
    fn for_each_member<'a>(
        text: &'a str,
        mut visit: impl FnMut(Cow<'a, str>, &'a str) -> bool,
    ) -> Result<bool, NotAnObject> {
        struct All<F>(F);
        impl<'a, F: FnMut(Cow<'a, str>, &'a str) -> bool> Members<'a> for All<F> {
            fn choose(&mut self, _: &str) -> Visit {
                Visit::Take
            }
            fn take(&mut self, key: Cow<'a, str>, value: &'a str) -> bool {
                (self.0)(key, value)
            }
        }
        match walk_members(text, &mut All(&mut visit))? {
            Some(end) if skip_whitespace(text.as_bytes(), end) == text.len() => Ok(true),
            Some(_) => Err(NotAnObject),
            None => Ok(false),
        }
    }

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
