//! JSON text that `serde_json` refuses but Kusto reads: lone UTF-16 surrogate escapes. Every JSON reader of
//! the engine (table files, Graph answers, `parse_json`) goes through `repair_lone_surrogates` when a parse
//! fails or the text may hold one, so that a single hostile value never blanks the others.

/// JSON text with every lone UTF-16 surrogate escape (`\udc80`, or a `\ud83d` that no low surrogate follows)
/// written as `\ufffd`, the replacement character, and how many there were; `None` when there is none.
///
/// `serde_json` refuses such an escape, and one of them used to blank the whole value it was in (every member
/// of a `RawEventData`) without a word. They come from real data: Windows file names and event fields are
/// UTF-16 and may hold half a pair. Only the escape changes: the rest of the string, and the line, stay as
/// they are (what a lossy decode does with invalid UTF-8).
pub fn repair_lone_surrogates(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let hex = |at: usize| -> Option<u16> {
        let digits = bytes.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let escape_at = |at: usize| -> Option<u16> {
        (bytes.get(at) == Some(&b'\\') && bytes.get(at + 1) == Some(&b'u')).then(|| hex(at + 2)).flatten()
    };
    let mut repaired: Option<String> = None;
    let mut count = 0;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'\\', &bytes[at..]) {
        let escape = at + found;
        at = escape + 2;
        let Some(unit) = escape_at(escape) else { continue };
        at = escape + 6;
        let lone = match unit {
            0xD800..=0xDBFF => match escape_at(escape + 6) {
                Some(0xDC00..=0xDFFF) => {
                    at = escape + 12;
                    false
                }
                _ => true,
            },
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            let out = repaired.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..escape]);
            out.push_str("\\ufffd");
            copied = escape + 6;
            count += 1;
        }
    }
    repaired.map(|mut out| {
        out.push_str(&text[copied..]);
        (out, count)
    })
}

/// Whether `text` may hold a surrogate escape (`\ud…`/`\uD…`): the cheap test before `repair_lone_surrogates`.
pub fn may_hold_surrogates(text: &[u8]) -> bool {
    // One pass over the backslashes (a line has few), not a substring search per spelling.
    memchr::memchr_iter(b'\\', text)
        .any(|at| text.get(at + 1) == Some(&b'u') && matches!(text.get(at + 2), Some(b'd' | b'D')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_become_the_replacement_character_and_nothing_else_changes() {
        let repair = repair_lone_surrogates;
        assert_eq!(repair(r#"{"a":"x\udc80y","b":1}"#), Some((r#"{"a":"x\ufffdy","b":1}"#.to_string(), 1)));
        assert_eq!(repair(r#""\ud83d""#), Some((r#""\ufffd""#.to_string(), 1)));
        assert_eq!(repair(r#""\uD83D\u0041""#), Some((r#""\ufffd\u0041""#.to_string(), 1)));
        assert_eq!(repair(r#""\ud83d\ud83d\ude00""#), Some((r#""\ufffd\ud83d\ude00""#.to_string(), 1)));
        // A pair, an escaped backslash before a `u`, other escapes, and a cut escape are left alone.
        assert_eq!(repair(r#""\ud83d\ude00""#), None);
        assert_eq!(repair(r#""\\udc80""#), None);
        assert_eq!(repair(r#""\n\t\"\u00e9""#), None);
        assert_eq!(repair(r#""\ud8"#), None);
        assert_eq!(repair("plain é text"), None);
        let (fixed, count) =
            repair(r#"{"RawEventData":{"ActionComment":"a\udc80b","DeviceName":"pc1"}}"#).expect("repaired");
        assert_eq!(count, 1);
        let parsed: serde_json::Value = serde_json::from_str(&fixed).expect("valid JSON once repaired");
        assert_eq!(parsed["RawEventData"]["ActionComment"], "a\u{fffd}b");
        assert_eq!(parsed["RawEventData"]["DeviceName"], "pc1");
    }
}
