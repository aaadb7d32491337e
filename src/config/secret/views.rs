//! Decoded views of a text, for the redactor: the text with one kind of escaping undone (JSON string escapes,
//! percent-encoding, HTML character references — or two of them, one inside the other), each byte of the view
//! knowing which bytes of the original it came from. A secret found in a view is blotted out of the original,
//! whichever characters the server chose to escape and however it spelt them (`\u00e9` or `é`, `%2f` or `%2F`,
//! `&#x27;` or `&#39;`), so the redactor need not list every escaper's habits.

/// A text as the redactor searches it: `bytes`, and for byte `i` the original's bytes `starts[i]..ends[i]` —
/// or, for the text as it is, no map (byte `i` is byte `i`).
pub(super) struct View<'a> {
    pub bytes: std::borrow::Cow<'a, [u8]>,
    map: Option<(Vec<usize>, Vec<usize>)>,
}

/// The kinds of escaping a view undoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Escaping {
    /// JSON string escapes: `\"`, `\\`, `\/`, `\n`, `\u00e9`, surrogate pairs.
    Json,
    /// `%2F` (either case), and `+` for a space (a form).
    Percent,
    /// `&amp;`, `&quot;`, `&#39;`, `&#x27;` and the other character references servers write.
    Html,
}

impl Escaping {
    /// The byte without which a text holds none of this escaping (no view is needed).
    fn marker(self) -> &'static [u8] {
        match self {
            Escaping::Json => b"\\",
            Escaping::Percent => b"%+",
            Escaping::Html => b"&",
        }
    }
}

impl<'a> View<'a> {
    /// The text as it is.
    pub fn plain(text: &'a str) -> View<'a> {
        View { bytes: std::borrow::Cow::Borrowed(text.as_bytes()), map: None }
    }

    /// Where byte `at` of this view came from in the original.
    fn span(&self, at: usize) -> (usize, usize) {
        match &self.map {
            Some((starts, ends)) => (starts[at], ends[at]),
            None => (at, at + 1),
        }
    }

    /// This view with `escaping` undone; `None` when there was nothing to undo.
    pub fn decoded(&self, escaping: Escaping) -> Option<View<'static>> {
        if !self.bytes.iter().any(|byte| escaping.marker().contains(byte)) {
            return None;
        }
        let (mut bytes, mut starts, mut ends) = (Vec::new(), Vec::new(), Vec::new());
        let mut changed = false;
        let mut at = 0;
        while at < self.bytes.len() {
            let step = match escaping {
                Escaping::Json => json_escape(&self.bytes[at..]),
                Escaping::Percent => percent_escape(&self.bytes[at..]),
                Escaping::Html => html_reference(&self.bytes[at..]),
            };
            let (decoded, used) = match step {
                Some((decoded, used)) => {
                    changed = true;
                    (decoded, used)
                }
                None => (vec![self.bytes[at]], 1),
            };
            let (start, end) = (self.span(at).0, self.span(at + used - 1).1);
            for byte in decoded {
                bytes.push(byte);
                starts.push(start);
                ends.push(end);
            }
            at += used;
        }
        changed.then_some(View { bytes: std::borrow::Cow::Owned(bytes), map: Some((starts, ends)) })
    }

    /// The original's byte range behind the view's bytes `start..end` (`end > start`).
    pub fn original(&self, start: usize, end: usize) -> (usize, usize) {
        (self.span(start).0, self.span(end - 1).1)
    }
}

/// One JSON escape at the start of `bytes`: what it stands for and how long it is.
fn json_escape(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    if bytes.first() != Some(&b'\\') {
        return None;
    }
    let simple = match bytes.get(1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => return unicode_escape(bytes),
        _ => return None,
    };
    Some((vec![simple], 2))
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`, at the start of `bytes`.
fn unicode_escape(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let unit = |at: usize| -> Option<u32> {
        let digits = bytes.get(at..at + 6)?;
        if &digits[..2] != b"\\u" {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(&digits[2..]).ok()?, 16).ok()
    };
    let first = unit(0)?;
    let (code, used) = if (0xD800..0xDC00).contains(&first) {
        let second = unit(6).filter(|low| (0xDC00..0xE000).contains(low))?;
        (0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00), 12)
    } else {
        (first, 6)
    };
    let character = char::from_u32(code)?;
    Some((character.to_string().into_bytes(), used))
}

/// `%XX` or `+` at the start of `bytes`.
fn percent_escape(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    match bytes.first()? {
        b'+' => Some((vec![b' '], 1)),
        b'%' => {
            let digits = std::str::from_utf8(bytes.get(1..3)?).ok()?;
            Some((vec![u8::from_str_radix(digits, 16).ok()?], 3))
        }
        _ => None,
    }
}

/// An HTML character reference at the start of `bytes`: `&amp;`, `&#39;`, `&#x2F;`.
fn html_reference(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    if bytes.first() != Some(&b'&') {
        return None;
    }
    // The longest reference decoded here (`&#x10FFFF;`) has 10 bytes.
    let end = bytes.iter().take(12).position(|byte| *byte == b';')?;
    let name = std::str::from_utf8(&bytes[1..end]).ok()?;
    let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if let Some(decimal) = name.strip_prefix('#') {
        decimal.parse::<u32>().ok()?
    } else {
        u32::from(match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "sol" => '/',
            "equals" => '=',
            "plus" => '+',
            "percnt" => '%',
            "bsol" => '\\',
            "colon" => ':',
            "quest" => '?',
            "num" => '#',
            "nbsp" => '\u{a0}',
            _ => return None,
        })
    };
    Some((char::from_u32(code)?.to_string().into_bytes(), end + 1))
}

#[cfg(test)]
mod tests {
    use super::{Escaping, View};

    fn decode(text: &str, escaping: Escaping) -> String {
        let view = View::plain(text).decoded(escaping).expect("something to decode");
        String::from_utf8_lossy(&view.bytes).into_owned()
    }

    #[test]
    fn each_escaping_is_undone() {
        assert_eq!(decode(r#"a\"b\\c\/d\u00e9\u00E9\ud83d\ude00\n"#, Escaping::Json), "a\"b\\c/déé😀\n");
        assert_eq!(decode(r#"\b\f\r\t|\q"#, Escaping::Json), "\u{8}\u{c}\r\t|\\q");
        assert_eq!(decode("a%2Fb%2fc+d%", Escaping::Percent), "a/b/c d%");
        assert_eq!(decode("a&amp;b&#39;c&#x27;d&quot;&unknown;", Escaping::Html), "a&b'c'd\"&unknown;");
        assert_eq!(
            decode("&lt;&gt;&apos;&sol;&equals;&plus;&percnt;&bsol;&colon;&quest;&num;&nbsp;&#X2F;", Escaping::Html),
            "<>'/=+%\\:?#\u{a0}/"
        );
        assert!(View::plain("nothing escaped").decoded(Escaping::Json).is_none());
    }

    #[test]
    fn a_view_knows_where_its_bytes_came_from() {
        let view = View::plain(r"x\u0041y").decoded(Escaping::Json).expect("decoded");
        assert_eq!(view.bytes.as_ref(), b"xAy");
        assert_eq!(view.original(1, 2), (1, 7));
        assert_eq!(view.original(0, 3), (0, 8));
        let twice = view.decoded(Escaping::Percent);
        assert!(twice.is_none());
        let nested = View::plain(r"%5Cu0041").decoded(Escaping::Percent).and_then(|v| v.decoded(Escaping::Json));
        let nested = nested.expect("percent, then JSON");
        assert_eq!(nested.bytes.as_ref(), b"A");
        assert_eq!(nested.original(0, 1), (0, 8));
    }
}
