//! Where a scalar's text sits in its YAML file. `marked_yaml` gives where a scalar starts; this finds where
//! each of its characters is — in a block scalar (`query: |`), a plain or quoted one-line value, or text YAML
//! changed on the way in (folded lines, escapes) — so that a caret lands under the exact character.

use marked_yaml::types::MarkedScalarNode;

/// A range of one line of a file: 1-based line and column (characters), and a width in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub line: usize,
    pub column: usize,
    pub width: usize,
}

/// Where a scalar's text sits in its file when it was written as-is (plain, a block scalar, a quoted string
/// without escapes): its first line and column, and the columns before its later lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextLayout {
    pub first_line: usize,
    pub first_column: usize,
    pub indent: usize,
}

/// A file's text with where each of its lines starts, found once: a problem's line is then a slice, not a
/// scan from the top (scanning made reporting 10,000 unknown keys take seconds, and 40,000 twenty).
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect();
        Lines { text, starts }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Line `line` (1-based), without its line break.
    pub fn get(&self, line: usize) -> Option<&'a str> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self.starts.get(line).map_or(self.text.len(), |next| next - 1);
        Some(self.text[start..end].trim_end_matches('\r'))
    }

    /// The text from the start of line `line` (1-based) to the end.
    fn rest_from(&self, line: usize) -> &'a str {
        let start = line.checked_sub(1).and_then(|index| self.starts.get(index)).copied().unwrap_or(self.text.len());
        &self.text[start..]
    }
}

pub(super) fn key_place(lines: &Lines, key: &MarkedScalarNode) -> Place {
    let (line, column) = key.span().start().map_or((1, 1), |m| (m.line().max(1), m.column().max(1)));
    let quoted = lines.get(line).unwrap_or_default().chars().nth(column - 1).is_some_and(|c| c == '"' || c == '\'');
    Place { line, column, width: key.as_str().chars().count() + if quoted { 2 } else { 0 } }
}

/// Where a scalar's text sits in the file, when it can be said with a first line, a first column and an
/// indentation (block scalars, plain scalars, quoted strings without escapes); `None` for folded text.
pub(super) fn layout(lines: &Lines, scalar: &MarkedScalarNode) -> Option<TextLayout> {
    match scalar_layout(lines, scalar) {
        ScalarLayout::AsWritten(layout) | ScalarLayout::Quoted(layout) => Some(layout),
        ScalarLayout::Folded => None,
    }
}

fn marker(scalar: &MarkedScalarNode) -> (usize, usize) {
    scalar.span().start().map_or((1, 1), |m| (m.line().max(1), m.column().max(1)))
}

fn scalar_layout(lines: &Lines, scalar: &MarkedScalarNode) -> ScalarLayout {
    let value = scalar.as_str();
    let (line, column) = marker(scalar);
    // A block scalar's marker is at its first non-empty line; leading empty lines belong to the value.
    let leading = value.chars().take_while(|c| *c == '\n').count();
    if leading < line {
        let layout = TextLayout { first_line: line - leading, first_column: column, indent: column - 1 };
        if lines_match(lines, value, layout) {
            return ScalarLayout::AsWritten(layout);
        }
    }
    if !value.contains('\n') {
        let file_line = lines.get(line).unwrap_or_default();
        let mut rest = file_line.chars().skip(column - 1);
        if let Some(quote @ ('"' | '\'')) = rest.next() {
            let rest: String = rest.collect();
            if rest.starts_with(value) && rest[value.len()..].starts_with(quote) {
                return ScalarLayout::Quoted(TextLayout { first_line: line, first_column: column + 1, indent: column });
            }
        }
    }
    ScalarLayout::Folded
}

/// Whether every line of `value` is in the file where `layout` says.
fn lines_match(lines: &Lines, value: &str, layout: TextLayout) -> bool {
    let body = value.strip_suffix('\n').unwrap_or(value);
    body.split('\n').enumerate().all(|(index, value_line)| {
        let Some(file_line) = lines.get(layout.first_line + index) else { return false };
        let skip = if index == 0 { layout.first_column - 1 } else { layout.indent };
        let rest: String = file_line.chars().skip(skip).collect();
        if value_line.is_empty() {
            rest.trim().is_empty() || (index == 0 && value.is_empty())
        } else {
            file_line.chars().count() >= skip && rest.starts_with(value_line)
        }
    })
}

/// The file position (line, column) of every character offset of a scalar's value, and of its end.
fn positions(lines: &Lines, scalar: &MarkedScalarNode) -> Vec<(usize, usize)> {
    let value = scalar.as_str();
    match scalar_layout(lines, scalar) {
        ScalarLayout::AsWritten(layout) | ScalarLayout::Quoted(layout) => {
            let mut positions = Vec::with_capacity(value.len() + 1);
            let (mut line, mut column) = (layout.first_line, layout.first_column);
            for c in value.chars() {
                positions.push((line, column));
                if c == '\n' {
                    line += 1;
                    column = layout.indent + 1;
                } else {
                    column += 1;
                }
            }
            positions.push((line, column));
            positions
        }
        ScalarLayout::Folded => align(lines, scalar),
    }
}

/// For text YAML changed on the way in (folded lines, escapes): finds each character of the value in the
/// file, in order, skipping what YAML removed (indentation, quotes, backslashes).
fn align(lines: &Lines, scalar: &MarkedScalarNode) -> Vec<(usize, usize)> {
    const WINDOW: usize = 64;
    let (line, column) = marker(scalar);
    let mut file: Vec<(char, usize, usize)> = Vec::new();
    for (index, file_line) in lines.rest_from(line).split('\n').enumerate().map(|(i, l)| (i + line - 1, l)) {
        let skip = if index == line - 1 { column - 1 } else { 0 };
        for (offset, c) in file_line.chars().enumerate().skip(skip) {
            file.push((c, index + 1, offset + 1));
        }
        file.push(('\n', index + 1, file_line.chars().count() + 1));
        if file.len() > 1 << 20 {
            break;
        }
    }
    let mut positions = Vec::new();
    let mut cursor = 0;
    for c in scalar.as_str().chars() {
        let found = file.iter().skip(cursor).take(WINDOW).position(|&(f, _, _)| f == c || (c == ' ' && f == '\n'));
        let at = cursor + found.unwrap_or(0);
        positions.push(file.get(at).map_or((line, column), |&(_, l, col)| (l, col)));
        cursor = (at + 1).min(file.len());
    }
    let end = positions.last().map_or((line, column), |&(last_line, last_column)| (last_line, last_column + 1));
    positions.push(end);
    positions
}

/// The place of characters `start..end` of a scalar's value (cut at the end of the first line).
pub fn scalar_place(lines: &Lines, scalar: &MarkedScalarNode, start: usize, end: usize) -> Place {
    let positions = positions(lines, scalar);
    let last = positions.len() - 1;
    let (line, column) = positions[start.min(last)];
    let (end_line, end_column) = positions[end.max(start).min(last)];
    let width = if end_line == line && end_column > column {
        end_column - column
    } else {
        lines.get(line).map_or(0, |l| l.trim_end().chars().count() + 1).saturating_sub(column).max(1)
    };
    Place { line, column, width: width.max(1) }
}

/// The place of a whole scalar as written: its quotes included, or its first line for a block scalar.
pub(super) fn scalar_token_place(lines: &Lines, scalar: &MarkedScalarNode) -> Place {
    let value = scalar.as_str();
    match scalar_layout(lines, scalar) {
        ScalarLayout::Quoted(layout) => {
            Place { line: layout.first_line, column: layout.first_column - 1, width: value.chars().count() + 2 }
        }
        ScalarLayout::AsWritten(_) => {
            let (line, column) = marker(scalar);
            let first = value.trim_start_matches('\n').split('\n').next().unwrap_or_default();
            Place { line, column, width: first.chars().count().max(1) }
        }
        ScalarLayout::Folded => {
            let (line, column) = marker(scalar);
            let rest = lines.get(line).map_or(0, |l| l.trim_end().chars().count() + 1).saturating_sub(column);
            Place { line, column, width: rest.max(1) }
        }
    }
}

/// The character offset of a byte offset of `text`.
pub fn char_offset(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while byte > 0 && !text.is_char_boundary(byte) {
        byte -= 1;
    }
    text[..byte].chars().count()
}

enum ScalarLayout {
    /// The value's characters are in the file as they are (plain scalars, literal block scalars).
    AsWritten(TextLayout),
    /// A one-line quoted string without escapes.
    Quoted(TextLayout),
    /// YAML changed the text on the way in: folded lines, escapes.
    Folded,
}
