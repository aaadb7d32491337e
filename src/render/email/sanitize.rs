//! Making untrusted text fit to show: every value taken from a hit passes through here before a template sees
//! it. Line breaks and tabs become spaces, and other control characters and the invisible ones that reorder
//! or hide what a reader sees (the "Trojan Source" set, U+200F, zero-width spaces) are shown by their code
//! point as the card shows them (`crate::render::visible`), and long text is cut with `…`.
//! HTML escaping is not done here: the handlebars registry escapes whatever a template prints.

/// The characters a value is cut to in the template context (tables, subjects, `{{first.X}}`). The CSV
/// attachment always carries the whole value.
pub const CELL_LIMIT: usize = 300;

/// The characters a subject is cut to, `…` included.
pub const SUBJECT_LIMIT: usize = 200;

use crate::render::visible::{code_point, is_hidden, is_invisible};

/// What breaks a line, in a header or in a table row.
fn is_line_break(character: char) -> bool {
    matches!(character, '\r' | '\n' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Appends one character of untrusted text, made visible and harmless. `keep_newlines` keeps `\n` (a
/// playbook description has paragraphs); every other line break is a space.
fn push_clean(out: &mut String, character: char, keep_newlines: bool) {
    match character {
        '\n' if keep_newlines => out.push('\n'),
        '\t' => out.push(' '),
        c if is_line_break(c) => out.push(' '),
        c if is_hidden(c) => out.push_str(&code_point(c)),
        c => out.push(c),
    }
}

/// Untrusted text made fit to show, cut to `limit` characters (the last one `…`). Returns the text and
/// whether it was cut.
pub fn clean_text(text: &str, limit: usize, keep_newlines: bool) -> (String, bool) {
    let mut out = String::with_capacity(text.len().min(limit.saturating_mul(4)));
    let mut characters = text.chars().peekable();
    let mut taken = 0;
    while let Some(character) = characters.next() {
        if taken + 1 >= limit && characters.peek().is_some() {
            let kept = out.trim_end().len();
            out.truncate(kept);
            out.push('…');
            return (out, true);
        }
        // A CRLF is one line break, not two.
        if character == '\r' && characters.peek() == Some(&'\n') {
            continue;
        }
        push_clean(&mut out, character, keep_newlines);
        taken += 1;
    }
    (out, false)
}

/// A cell's text for the template context: one line, at most [`CELL_LIMIT`] characters.
pub fn clean_cell(text: &str) -> (String, bool) {
    clean_text(text, CELL_LIMIT, false)
}

/// A subject: one header line whatever the template and the hits put in it. Control characters and line
/// breaks become spaces, runs of whitespace one space, and it is cut to [`SUBJECT_LIMIT`] characters.
pub fn clean_subject(text: &str) -> String {
    let mut one_line = String::with_capacity(text.len().min(SUBJECT_LIMIT * 4));
    for character in text.chars() {
        match character {
            c if is_line_break(c) || c == '\t' => one_line.push(' '),
            c if is_hidden(c) => one_line.push_str(&code_point(c)),
            c => one_line.push(c),
        }
        // Stop early on huge input: what is past the limit is cut anyway (whitespace may still collapse).
        if one_line.len() > SUBJECT_LIMIT * 8 {
            break;
        }
    }
    let collapsed = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    clean_text(&collapsed, SUBJECT_LIMIT, false).0
}

/// `text` cut to `limit` characters with `…` (for the `truncate` helper: no other change).
pub fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    let kept = out.trim_end().len();
    out.truncate(kept);
    out.push('…');
    out
}

/// The escape function of the HTML templates: handlebars' HTML escaping (`& < > " ' \` =`), after control
/// characters other than line breaks and tabs are made visible.
pub fn escape_html(text: &str) -> String {
    handlebars::html_escape(&strip_controls(text))
}

/// The escape function of the text templates and subjects: nothing to escape in plain text, but no control
/// character other than a line break or a tab gets through.
pub fn escape_text(text: &str) -> String {
    strip_controls(text)
}

fn strip_controls(text: &str) -> String {
    if !text.chars().any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_invisible(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\n' | '\r' | '\t' => out.push(character),
            c => push_clean(&mut out, c, false),
        }
    }
    out
}

/// A name safe in a file name and a MIME parameter: ASCII letters, digits, `-`, `_` and `.`; anything else `-`.
pub fn file_name_part(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .take(80)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches(|c| c == '.' || c == '-');
    if trimmed.is_empty() { "huntbook".to_string() } else { trimmed.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_one_line_and_show_hidden_characters() {
        assert_eq!(clean_cell("a\r\nBcc: x@evil.example").0, "a Bcc: x@evil.example");
        assert_eq!(clean_cell("tab\there\u{0}nul").0, "tab here‹U+0000›nul");
        assert_eq!(clean_cell("\u{200F}rtl mark").0, "‹U+200F›rtl mark");
        assert_eq!(clean_cell("invoice\u{202E}fdp.exe").0, "invoice‹U+202E›fdp.exe");
        assert_eq!(clean_cell("naïve — 東京").0, "naïve — 東京");
    }

    #[test]
    fn long_cells_are_cut_with_an_ellipsis() {
        let (text, was_cut) = clean_cell(&"x".repeat(100_000));
        assert!(was_cut);
        assert_eq!(text.chars().count(), CELL_LIMIT);
        assert!(text.ends_with('…'));
        let (exact, exact_cut) = clean_cell(&"y".repeat(CELL_LIMIT));
        assert_eq!((exact.chars().count(), exact_cut), (CELL_LIMIT, false));
    }

    #[test]
    fn subjects_are_one_short_line() {
        assert_eq!(
            clean_subject("Hit on\r\nBcc: attacker@evil.example\r\n\r\nbody"),
            "Hit on Bcc: attacker@evil.example body"
        );
        assert_eq!(clean_subject("  many   spaces\t\there "), "many spaces here");
        let long = clean_subject(&"word ".repeat(1000));
        assert_eq!(long.chars().count(), SUBJECT_LIMIT);
        assert!(long.ends_with('…'));
        assert!(!long.contains(['\r', '\n']));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            escape_html("<b a=\"1\">'x' & y</b>"),
            "&lt;b a&#x3D;&quot;1&quot;&gt;&#x27;x&#x27; &amp; y&lt;/b&gt;"
        );
        assert_eq!(escape_text("a\u{7}b\nc"), "a‹U+0007›b\nc");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(file_name_part("../etc/passwd"), "etc-passwd");
        assert_eq!(file_name_part("offboarding-package-download"), "offboarding-package-download");
    }
}
