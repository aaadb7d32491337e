//! Renders problems for people: `file:line:col`, the line of text, a caret under the exact span, and a
//! hint. Every user-facing error of huntbook goes through here; the modules that find problems only
//! return them as data.
//!
//! ```text
//! error: 'where' operator: Failed to resolve scalar expression named 'ActionTyp'
//!  --> query:2:9
//!   |
//! 2 | | where ActionTyp == "IsolateDevice"
//!   |         ^^^^^^^^^ did you mean 'ActionType'?
//! ```

use std::fmt::Write;

use unicode_width::UnicodeWidthChar;

use crate::kql::error::{ErrorKind, KqlError};
use crate::kql::span::Span;

/// The text a span points into, and where that text sits in its file.
#[derive(Clone, Debug)]
pub struct SourceText<'a> {
    /// Shown before the position: a file path, or `query` for a query given on the command line.
    pub name: &'a str,
    pub text: &'a str,
    /// The file line (1-based) of the text's first line.
    pub first_line: usize,
    /// The file column (1-based) of the text's first character.
    pub first_column: usize,
    /// Columns to add to positions on the text's later lines (the indentation of a YAML block scalar).
    pub indent: usize,
}

impl<'a> SourceText<'a> {
    pub fn new(name: &'a str, text: &'a str) -> Self {
        SourceText { name, text, first_line: 1, first_column: 1, indent: 0 }
    }

    /// The 0-based line of a byte offset, and the byte offset where that line starts.
    fn line_of(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count();
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, start)
    }

    /// The file line and column (1-based, characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let (line, start) = self.line_of(offset);
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let column = self.text[start..offset].chars().count() + 1;
        let column = if line == 0 { column + self.first_column - 1 } else { column + self.indent };
        (line + self.first_line, column)
    }

    /// `name:line:column` of a byte offset, in file coordinates.
    pub fn location(&self, offset: usize) -> String {
        let (line, column) = self.position(offset);
        format!("{}:{line}:{column}", self.name)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A problem at a place in a file: where, the line, how wide the caret is, what is wrong and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `error`, or `error (not supported locally)`.
    pub label: &'static str,
    pub file: String,
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column in the file, in characters.
    pub column: usize,
    /// The line of text the caret is under, as displayed (tabs shown as spaces).
    pub line_text: String,
    /// Display columns before the caret in `line_text`, and the caret's width (at least 1).
    pub caret_offset: usize,
    pub caret_width: usize,
    pub message: String,
    pub hint: Option<String>,
}

fn display_width(text: &str) -> usize {
    text.chars().map(|c| shown(c).width().unwrap_or(0)).sum()
}

/// How a character of a quoted line is shown: a tab as a space, a control character as its picture (`␀`),
/// and an invisible or reordering one (bidi controls, zero-width spaces) as `�`, so that what the terminal
/// shows is what the file holds and the caret stays under it.
fn shown(c: char) -> char {
    match c {
        '\t' => ' ',
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        '\u{80}'..='\u{9f}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}' => '\u{fffd}',
        other => other,
    }
}

impl Diagnostic {
    /// A problem in a file's `text` at 1-based `line` and `column` (characters), `width` characters wide.
    pub fn in_file(
        file: &str,
        text: &str,
        line: usize,
        column: usize,
        width: usize,
        message: impl Into<String>,
    ) -> Self {
        let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
        Diagnostic::on_line(file, line_text, line, column, width, message)
    }

    /// The same with the line's text at hand (`line_text`: line `line` of the file, without its break).
    pub fn on_line(
        file: &str,
        line_text: &str,
        line: usize,
        column: usize,
        width: usize,
        message: impl Into<String>,
    ) -> Self {
        let line_text = line_text.trim_end_matches('\r');
        let before: String = line_text.chars().take(column.saturating_sub(1)).collect();
        let under: String = line_text.chars().skip(column.saturating_sub(1)).take(width).collect();
        Diagnostic {
            label: "error",
            file: file.to_string(),
            line,
            column,
            line_text: line_text.chars().map(shown).collect(),
            caret_offset: display_width(&before),
            caret_width: display_width(&under).max(1),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A problem with no place in a file (a missing file, a run-time failure).
    pub fn plain(message: impl Into<String>) -> Self {
        Diagnostic {
            label: "error",
            file: String::new(),
            line: 0,
            column: 0,
            line_text: String::new(),
            caret_offset: 0,
            caret_width: 0,
            message: message.into(),
            hint: None,
        }
    }

    /// A KQL error in a query that sits in `source`.
    pub fn from_kql(source: &SourceText, error: &KqlError) -> Self {
        let label = if error.kind == ErrorKind::Unsupported { "error (not supported locally)" } else { "error" };
        if error.kind == ErrorKind::Runtime && error.span == Span::default() {
            return Diagnostic { label, hint: error.hint.clone(), ..Diagnostic::plain(error.message.clone()) };
        }
        let (_, start) = source.line_of(error.span.start);
        let line_text = source.text[start..].split('\n').next().unwrap_or_default().trim_end_matches('\r');
        let span_start = floor_char_boundary(source.text, error.span.start.min(source.text.len()));
        let line_end = start + line_text.len();
        let span_end = floor_char_boundary(source.text, error.span.end.min(line_end).max(span_start));
        let (file_line, file_column) = source.position(error.span.start);
        Diagnostic {
            label,
            file: source.name.to_string(),
            line: file_line,
            column: file_column,
            line_text: line_text.chars().map(shown).collect(),
            caret_offset: display_width(&source.text[start..span_start]),
            caret_width: display_width(&source.text[span_start..span_end]).max(1),
            message: error.message.clone(),
            hint: error.hint.clone(),
        }
    }

    /// `file:line:column`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}: {}", self.label, self.message);
        if self.file.is_empty() {
            if let Some(hint) = &self.hint {
                let _ = writeln!(out, "  = hint: {hint}");
            }
            return out;
        }
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        let _ = writeln!(out, "{gutter}--> {}", self.location());
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{number} | {}", self.line_text);
        let hint = self.hint.as_deref().map(|h| format!(" {h}")).unwrap_or_default();
        let _ = writeln!(out, "{gutter} | {}{}{}", " ".repeat(self.caret_offset), "^".repeat(self.caret_width), hint);
        out
    }
}

/// Renders one KQL error with its source line and caret.
pub fn render(source: &SourceText, error: &KqlError) -> String {
    Diagnostic::from_kql(source, error).render()
}

/// Renders every error, separated by blank lines.
pub fn render_all(source: &SourceText, errors: &[KqlError]) -> String {
    errors.iter().map(|e| render(source, e)).collect::<Vec<_>>().join("\n")
}

/// Renders diagnostics, separated by blank lines.
pub fn render_diagnostics(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(Diagnostic::render).collect::<Vec<_>>().join("\n")
}

/// The largest configuration, playbook or template file huntbook reads. Far above any real one (a playbook
/// with a 50,000-hash IOC list is 4 MB); a file past it is refused at once, not parsed for minutes.
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// Reads a configuration, playbook or template file as text: refused when it is larger than
/// `MAX_FILE_BYTES` or not UTF-8 (with where), and without the byte-order mark some Windows editors write.
pub fn read_text_file(path: &std::path::Path) -> Result<String, Box<Diagnostic>> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|error| Box::new(Diagnostic::plain(format!("cannot read {shown}: {error}"))))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(Box::new(
            Diagnostic::plain(format!(
                "{shown} is {:.1} MiB: huntbook reads configuration, playbook and template files of up to {} MiB",
                size as f64 / f64::from(1 << 20),
                MAX_FILE_BYTES >> 20
            ))
            .with_hint("keep long lists (IOCs, allow-lists) in a data table the query reads, not in the file"),
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|error| Box::new(Diagnostic::plain(format!("cannot read {shown}: {error}"))))?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let text = String::from_utf8_lossy(valid);
        let line = text.matches('\n').count() + 1;
        let column = text.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
        Box::new(
            Diagnostic::plain(format!("{shown}:{line}:{column}: the file is not UTF-8 text from here on"))
                .with_hint("save it as UTF-8"),
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_caret_and_hint() {
        let text = "CloudAppEvents\n| where ActionTyp == \"IsolateDevice\"";
        let error = KqlError::semantic(
            Span::new(23, 32),
            "'where' operator: Failed to resolve scalar expression named 'ActionTyp'",
        )
        .with_hint("did you mean 'ActionType'?");
        let rendered = render(&SourceText::new("query", text), &error);
        assert_eq!(
            rendered,
            "error: 'where' operator: Failed to resolve scalar expression named 'ActionTyp'\n --> query:2:9\n  |\n2 | | where ActionTyp == \"IsolateDevice\"\n  |         ^^^^^^^^^ did you mean 'ActionType'?\n"
        );
    }

    #[test]
    fn positions_inside_a_file() {
        let source =
            SourceText { name: "playbooks/x.yaml", text: "T\n| take 1", first_line: 10, first_column: 3, indent: 2 };
        assert_eq!(source.location(0), "playbooks/x.yaml:10:3");
        assert_eq!(source.location(4), "playbooks/x.yaml:11:5");
    }

    #[test]
    fn an_error_at_the_end_gets_a_caret_after_the_text() {
        let error =
            KqlError::syntax(Span::new(9, 9), "Syntax error: expected an expression, found the end of the query");
        let rendered = render(&SourceText::new("query", "T | where"), &error);
        assert!(rendered.ends_with("1 | T | where\n  |          ^\n"), "{rendered}");
    }

    #[test]
    fn wide_characters_keep_the_caret_aligned() {
        let error = KqlError::semantic(Span::new(17, 18), "x");
        let rendered = render(&SourceText::new("query", "print '日本' + x"), &error);
        assert!(rendered.contains(&format!("1 | print '日本' + x\n  | {}^", " ".repeat(15))), "{rendered}");
    }
}
