//! Characters a reader must see as what they are: control characters (a NUL, an escape, a bell) and the
//! invisible ones that change how the text around them looks — bidi embeddings, overrides, isolates and marks
//! (U+200F), zero-width characters, Unicode tags. Cards, e-mails (subject, text, HTML) and the CSV attachment
//! all show them the same way, by their code point: `‹U+202E›`, so that a file name cannot pretend to end in
//! `.pdf` and a comment cannot reorder or hide what follows it.

/// Characters that change how text around them looks without being seen themselves: bidi
/// embeddings, overrides, isolates and marks, zero-width characters, invisible operators, Unicode tags.
pub fn is_invisible(character: char) -> bool {
    matches!(
        character,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// Whether `character` is shown by its code point instead of as itself (every control character but the
/// caller's own line breaks and tabs, which it handles first).
pub fn is_hidden(character: char) -> bool {
    character.is_control() || is_invisible(character)
}

/// How a hidden character is shown: `‹U+202E›`.
pub fn code_point(character: char) -> String {
    format!("‹U+{:04X}›", u32::from(character))
}

/// `text` with every hidden character but those in `kept` shown by its code point (borrowed when there is none).
pub fn made_visible<'a>(text: &'a str, kept: &[char]) -> std::borrow::Cow<'a, str> {
    if !text.chars().any(|c| is_hidden(c) && !kept.contains(&c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        if is_hidden(character) && !kept.contains(&character) {
            out.push_str(&code_point(character));
        } else {
            out.push(character);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_show_by_code_point() {
        assert_eq!(made_visible("a\u{0}b\u{7}c\u{1b}[31m", &[]), "a‹U+0000›b‹U+0007›c‹U+001B›[31m");
        assert_eq!(made_visible("\u{200F}abc\u{202E}d\u{200B}", &[]), "‹U+200F›abc‹U+202E›d‹U+200B›");
        assert_eq!(made_visible("line\nnext\tcell", &['\n', '\t']), "line\nnext\tcell");
        assert!(matches!(made_visible("plain é 日本", &[]), std::borrow::Cow::Borrowed(_)));
    }
}
