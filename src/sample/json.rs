//! A small streaming JSON writer for the sample rows.
//!
//! The generator writes a million rows in a few seconds, so rows are written straight into a reused byte buffer
//! instead of being built as `serde_json::Value` trees. This module owns only the JSON syntax (quoting, escaping,
//! commas, nesting); it knows nothing of tables or columns. Nesting is expressed with closures, so an object or array
//! is always closed.

/// Writes the members of one JSON object.
pub(crate) struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

/// Writes the elements of one JSON array.
pub(crate) struct ArrayWriter<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

/// Appends one JSON object to `out`; `fill` writes its members.
pub(crate) fn write_object(out: &mut Vec<u8>, fill: impl FnOnce(&mut ObjectWriter)) {
    out.push(b'{');
    let mut object = ObjectWriter { out, empty: true };
    fill(&mut object);
    object.out.push(b'}');
}

fn write_array(out: &mut Vec<u8>, fill: impl FnOnce(&mut ArrayWriter)) {
    out.push(b'[');
    let mut array = ArrayWriter { out, empty: true };
    fill(&mut array);
    array.out.push(b']');
}

impl ObjectWriter<'_> {
    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        write_key(self.out, key);
    }

    pub(crate) fn string(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_string(self.out, value);
        self
    }

    pub(crate) fn integer(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        write_integer(self.out, value);
        self
    }

    pub(crate) fn boolean(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// Writes `value` as it is: the caller guarantees it is valid JSON (used for preformatted timestamps).
    pub(crate) fn raw_string_bytes(&mut self, key: &str, value: &[u8]) -> &mut Self {
        self.key(key);
        self.out.push(b'"');
        self.out.extend_from_slice(value);
        self.out.push(b'"');
        self
    }

    pub(crate) fn object(&mut self, key: &str, fill: impl FnOnce(&mut ObjectWriter)) -> &mut Self {
        self.key(key);
        write_object(self.out, fill);
        self
    }

    pub(crate) fn array(&mut self, key: &str, fill: impl FnOnce(&mut ArrayWriter)) -> &mut Self {
        self.key(key);
        write_array(self.out, fill);
        self
    }

    pub(crate) fn strings(&mut self, key: &str, values: &[&str]) -> &mut Self {
        self.array(key, |array| {
            for value in values {
                array.string(value);
            }
        })
    }
}

impl ArrayWriter<'_> {
    fn separator(&mut self) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
    }

    pub(crate) fn string(&mut self, value: &str) -> &mut Self {
        self.separator();
        write_string(self.out, value);
        self
    }

    pub(crate) fn object(&mut self, fill: impl FnOnce(&mut ObjectWriter)) -> &mut Self {
        self.separator();
        write_object(self.out, fill);
        self
    }
}

/// Writes `"key":`. Keys are the generator's own identifier-like constants, never data, so they are not escaped.
fn write_key(out: &mut Vec<u8>, key: &str) {
    debug_assert!(!needs_escaping(key.as_bytes()), "{key:?} is not a plain key");
    out.reserve(key.len() + 3);
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Whether any byte must be escaped. Deliberately not short-circuiting: the fold vectorizes, and almost every
/// value is clean.
fn needs_escaping(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |found, &byte| found | (byte < 0x20) | (byte == b'"') | (byte == b'\\'))
}

/// Writes `value` as a quoted JSON string. Non-ASCII text stays as UTF-8; quotes, backslashes and control
/// characters are escaped, which is all JSON requires.
pub(crate) fn write_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    if !needs_escaping(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut clean_from = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let short_escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[clean_from..index]);
        if short_escape.is_empty() {
            write_unicode_escape(out, byte);
        } else {
            out.extend_from_slice(short_escape);
        }
        clean_from = index + 1;
    }
    out.extend_from_slice(&bytes[clean_from..]);
    out.push(b'"');
}

/// `\u00XX` for the control characters that have no short escape.
fn write_unicode_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u00");
    out.push(HEX[usize::from(byte >> 4)]);
    out.push(HEX[usize::from(byte & 0x0f)]);
}

/// Writes a decimal integer without going through `fmt` (which would need an error path for a `Vec`).
pub(crate) fn write_integer(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    let mut magnitude = value.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // The remainder is below 10, so the cast cannot truncate.
        digits[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_text(fill: impl FnOnce(&mut ObjectWriter)) -> String {
        let mut out = Vec::new();
        write_object(&mut out, fill);
        String::from_utf8(out).expect("the writer only writes UTF-8")
    }

    #[test]
    fn escapes_what_json_requires_and_round_trips() {
        let nasty = "quote \" backslash \\ crlf \r\n tab \t bell \u{7} rtl \u{202e} 日本語";
        let text = object_text(|object| {
            object.string("Text", nasty).integer("Negative", -1234567890123).boolean("Flag", true);
        });
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed["Text"], nasty);
        assert_eq!(parsed["Negative"], -1234567890123_i64);
        assert_eq!(parsed["Flag"], true);
    }

    #[test]
    fn nests_objects_and_arrays_in_order() {
        let text = object_text(|object| {
            object
                .array("List", |array| {
                    array.string("a").object(|inner| {
                        inner.integer("Zero", 0);
                    });
                })
                .strings("Empty", &[])
                .object("Inner", |_| {});
        });
        assert_eq!(text, r#"{"List":["a",{"Zero":0}],"Empty":[],"Inner":{}}"#);
    }

    #[test]
    fn writes_integer_extremes() {
        let mut out = Vec::new();
        write_integer(&mut out, i64::MIN);
        assert_eq!(out, i64::MIN.to_string().as_bytes());
    }
}
