//! Text that is safe to put in a Teams card: one line, visible, cut to a width, and inert as markdown.
//!
//! Teams interprets markdown in `TextBlock.text` and in `Fact.title`/`Fact.value`, and there is no property
//! that turns it off in Adaptive Cards 1.4. Every string that reaches the card goes through [`plain`] (or
//! [`plain_words`]), which makes it:
//!
//! - **one line and visible**: a line break becomes `↵`, a tab a space, and a control or invisible formatting
//!   character (a NUL, an escape, a right-to-left override, a zero-width space, a Unicode tag) its code point,
//!   `‹U+202E›`, so a file name cannot pretend to end in `.pdf`. (Unicode's control pictures, `␀`, are
//!   missing from common fonts and showed as empty boxes when the cards were looked at.)
//! - **cut** to a display width (East Asian wide characters count twice), ending in `…`; cutting happens
//!   before escaping, so an escape is never cut in half;
//! - **inert**: every character that could start markdown where it stands gets a CommonMark backslash
//!   escape. A CommonMark renderer (Teams desktop, web, current mobile) drops the backslash, so the reader
//!   sees and copies the original text; an old renderer that ignores escapes shows a stray backslash, which
//!   is ugly but still literal. Where the old Adaptive Cards parser would still make a link from escaped
//!   brackets, the `(` after a `]` is escaped too, which breaks `](` in every parser.
//!
//! This module must not decide what a value means (dates, nulls): it only makes text safe to show.

use unicode_width::UnicodeWidthChar;

use crate::render::visible::{code_point, is_hidden};

/// What a line break in a value is shown as.
const LINE_BREAK: char = '↵';
/// The end of a cut value.
const ELLIPSIS: char = '…';

/// `raw` made safe to show in a Teams card: one line, visible, at most `max_width` columns wide (plus the
/// escapes, which do not render), and inert as markdown.
pub fn plain(raw: &str, max_width: usize) -> String {
    escape_markdown(&cut(&visible(raw, max_width.saturating_add(1)), max_width))
}

/// [`plain`], also cut where a word (a run without spaces) grows wider than `max_word`. A fact's value is a
/// table cell that does not break inside words: a long base64 argument ran off the card's edge, cut
/// without an ellipsis, when the cards were looked at.
pub fn plain_words(raw: &str, max_width: usize, max_word: usize) -> String {
    let text = visible(raw, max_width.saturating_add(1));
    let mut width = 0;
    let mut word = 0;
    for character in text.chars() {
        let character_width = character.width().unwrap_or(0);
        word = if character.is_whitespace() { 0 } else { word + character_width };
        if word > max_word {
            break;
        }
        width += character_width;
    }
    escape_markdown(&cut(&text, width.min(max_width)))
}

/// The characters of `raw` as they should be seen, stopping once the text is wider than `stop_width` (a
/// 100 KB value is not copied to be cut to 80 columns). Leading and trailing whitespace is dropped.
fn visible(raw: &str, stop_width: usize) -> String {
    let mut out = String::new();
    let mut width = 0;
    let mut characters = raw.trim().chars().peekable();
    while let Some(character) = characters.next() {
        if width > stop_width {
            break;
        }
        if character == '\r' && characters.peek() == Some(&'\n') {
            continue;
        }
        let start = out.len();
        push_visible(&mut out, character);
        width += out[start..].chars().map(|shown| shown.width().unwrap_or(0)).sum::<usize>();
    }
    out
}

fn push_visible(out: &mut String, character: char) {
    match character {
        '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(LINE_BREAK),
        '\t' => out.push(' '),
        _ if is_hidden(character) => out.push_str(&code_point(character)),
        _ => out.push(character),
    }
}

/// `text` cut to `max_width` columns, the last of which is `…` when anything was cut.
fn cut(text: &str, max_width: usize) -> String {
    let total: usize = text.chars().map(|character| character.width().unwrap_or(0)).sum();
    if total <= max_width {
        return text.trim_end().to_string();
    }
    let mut out = String::new();
    let mut width = 0;
    for character in text.chars() {
        let character_width = character.width().unwrap_or(0);
        if width + character_width + 1 > max_width {
            break;
        }
        width += character_width;
        out.push(character);
    }
    let mut out = out.trim_end().to_string();
    if max_width > 0 {
        out.push(ELLIPSIS);
    }
    out
}

/// `text` with a backslash before every character that could be read as markdown where it stands. The
/// text is a whole `TextBlock` or fact (block syntax such as lists can only start at its beginning).
pub fn escape_markdown(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (index, &character) in characters.iter().enumerate() {
        if needs_escape(&characters, index) {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

fn needs_escape(characters: &[char], index: usize) -> bool {
    let previous = index.checked_sub(1).and_then(|before| characters.get(before)).copied();
    let next = characters.get(index + 1).copied();
    match characters[index] {
        // Emphasis, code spans, links and images, autolinks and HTML, strikethrough, tables.
        '*' | '`' | '[' | ']' | '<' | '~' | '|' => true,
        // A backslash only escapes ASCII punctuation; `C:\Windows` needs nothing.
        '\\' => next.is_some_and(|after| after.is_ascii_punctuation()),
        // `snake_case` cannot open or close emphasis; `_word_` can.
        '_' => !(previous.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric)),
        // The old Adaptive Cards parser makes a link from `\]\(`; an escaped `(` breaks it.
        '(' => previous == Some(']'),
        // `&lt;` and `&#42;` are entities; `a & b` is not.
        '&' => next.is_some_and(|after| after.is_ascii_alphanumeric() || after == '#'),
        // `{{DATE(...)}}` is an Adaptive Cards text function.
        '{' => previous == Some('{'),
        // Headings, block quotes, list items and rules start a block.
        '#' | '>' | '-' | '+' | '=' => index == 0,
        // `1. ` and `1) ` start an ordered list.
        '.' | ')' => starts_ordered_list(characters, index),
        _ => false,
    }
}

fn starts_ordered_list(characters: &[char], index: usize) -> bool {
    index > 0
        && characters[..index].iter().all(char::is_ascii_digit)
        && characters.get(index + 1).is_none_or(|after| after.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_in_values_is_escaped() {
        let cases = [
            ("[click here](https://evil.example/x)", r"\[click here\]\(https://evil.example/x)"),
            ("**bold**", r"\*\*bold\*\*"),
            ("_italic_", r"\_italic\_"),
            ("snake_case_name", "snake_case_name"),
            ("<script>alert(1)</script>", r"\<script>alert(1)\</script>"),
            ("\"><img onerror=alert(1)>", "\">\\<img onerror=alert(1)>"),
            ("`code`", r"\`code\`"),
            ("a | b", r"a \| b"),
            ("~~gone~~", r"\~\~gone\~\~"),
            ("&lt;b&gt; & more", r"\&lt;b\&gt; & more"),
            ("{{DATE(2024-01-01T00:00:00Z, SHORT)}}", r"{\{DATE(2024-01-01T00:00:00Z, SHORT)}}"),
            ("- item", r"\- item"),
            ("# heading", r"\# heading"),
            ("> quote", r"\> quote"),
            ("1. first", r"1\. first"),
            ("10.0.0.1", "10.0.0.1"),
            ("C:\\Windows\\System32", "C:\\Windows\\System32"),
            ("C:\\Program Files (x86)\\", "C:\\Program Files (x86)\\"),
            ("\\*not bold*", r"\\\*not bold\*"),
        ];
        for (raw, expected) in cases {
            assert_eq!(escape_markdown(raw), expected, "{raw}");
        }
    }

    #[test]
    fn values_become_one_visible_line() {
        assert_eq!(plain("a\r\nb\nc\rd", 80), "a↵b↵c↵d");
        assert_eq!(plain("tab\there", 80), "tab here");
        assert_eq!(plain("bell\u{7}esc\u{1b}del\u{7f}c1\u{9b}", 80), "bell‹U+0007›esc‹U+001B›del‹U+007F›c1‹U+009B›");
        assert_eq!(plain("invoice\u{202e}fdp.exe", 80), "invoice‹U+202E›fdp.exe");
        assert_eq!(plain("zero\u{200b}width", 80), "zero‹U+200B›width");
        assert_eq!(plain("  padded  ", 80), "padded");
        assert_eq!(plain("سلام دنیا", 80), "سلام دنیا");
    }

    #[test]
    fn long_words_are_cut_where_they_would_overflow() {
        assert_eq!(plain_words("short words only", 80, 5), "short words only");
        assert_eq!(plain_words("cmd -enc SQBFAFgAIAAoAE4A -nop", 80, 8), "cmd -enc SQBFAFg…");
        assert_eq!(plain_words(&"a".repeat(64), 80, 64), "a".repeat(64));
    }

    #[test]
    fn long_values_are_cut_by_width() {
        assert_eq!(plain("abcdefghij", 5), "abcd…");
        assert_eq!(plain("abcde", 5), "abcde");
        assert_eq!(plain("漢字漢字漢字", 5), "漢字…");
        let huge = "x".repeat(100 * 1024);
        assert_eq!(plain(&huge, 80).chars().count(), 80);
        // Cut before escaping: the ellipsis is never escaped away, an escape never cut in half.
        assert_eq!(plain("abc*efgh", 5), r"abc\*…");
    }
}
