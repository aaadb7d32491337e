//! Turns query text into tokens. Words are not classified here (KQL keywords are contextual: `count`, `type`
//! and `kind` are also column names); the parser decides. The lexer does resolve what only it can see:
//! string escapes, numbers with timespan units, hyphenated operator names (`project-away`), negated string
//! operators (`!contains`), `in~`, and the raw text of `datetime(...)`, `timespan(...)` and `guid(...)`
//! literals. It never fails: bad input becomes an error token and lexing goes on.

use super::error::KqlError;
use super::span::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// A name: a column, table, function, operator keyword or `$left`/`$right`.
    Ident,
    /// An operator word made of several parts: `project-away`, `!contains`, `in~`, `!in~`, `mv-expand`.
    Word,
    String(String),
    Long(i64),
    Real(f64),
    /// A timespan literal such as `1d` or `1.5h`, in ticks of 100 ns.
    Timespan(i64),
    /// `datetime(...)`, `timespan(...)`, `time(...)`, `guid(...)` with unquoted content: the keyword and the raw
    /// text between the parentheses.
    TypedRaw {
        keyword: String,
        raw: String,
    },
    Pipe,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    LeftBrace,
    RightBrace,
    Comma,
    Semicolon,
    Dot,
    DotDot,
    Colon,
    Assign,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    EqualTilde,
    BangTilde,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// Hyphenated operator names, lexed as one word.
const HYPHENATED: &[&str] = &[
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "project-smart",
    "mv-expand",
    "mv-apply",
    "parse-where",
    "parse-kv",
    "make-series",
    "top-nested",
    "top-hitters",
    "sample-distinct",
    "make-graph",
];

/// Words that may follow `!` to form a negated operator.
const NEGATABLE: &[&str] = &[
    "contains",
    "contains_cs",
    "has",
    "has_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "in",
    "between",
    "has_any",
    "has_all",
    "matches",
];

pub const TICKS_PER_MICROSECOND: i64 = 10;
pub const TICKS_PER_MILLISECOND: i64 = 10_000;
pub const TICKS_PER_SECOND: i64 = 10_000_000;
pub const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
pub const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
pub const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;

/// Ticks in one unit of a timespan suffix, or `None` if the word is not a unit.
pub fn timespan_unit(unit: &str) -> Option<i64> {
    Some(match unit {
        "d" | "day" | "days" => TICKS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => TICKS_PER_HOUR,
        "m" | "min" | "minute" | "minutes" => TICKS_PER_MINUTE,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SECOND,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => TICKS_PER_MILLISECOND,
        "microsecond" | "microseconds" => TICKS_PER_MICROSECOND,
        "tick" | "ticks" => 1,
        _ => return None,
    })
}

pub struct Lexed {
    pub tokens: Vec<Token>,
    pub errors: Vec<KqlError>,
}

pub fn lex(text: &str) -> Lexed {
    let mut lexer = Lexer { text, bytes: text.as_bytes(), position: 0, tokens: Vec::new(), errors: Vec::new() };
    lexer.run();
    Lexed { tokens: lexer.tokens, errors: lexer.errors }
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
    tokens: Vec<Token>,
    errors: Vec<KqlError>,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl Lexer<'_> {
    fn peek_char(&self) -> Option<char> {
        self.text[self.position..].chars().next()
    }

    fn byte_at(&self, index: usize) -> Option<u8> {
        self.bytes.get(index).copied()
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token { kind, span: Span::new(start, self.position) });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek_char() {
            let start = self.position;
            // Kusto takes a zero-width space (pasted from web pages and chats) and a byte-order mark as space.
            if c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}') {
                self.position += c.len_utf8();
            } else if self.text[start..].starts_with("//") {
                self.position = self.text[start..].find('\n').map_or(self.text.len(), |n| start + n);
            } else if c == '"' || c == '\'' {
                self.string(start, start, false);
            } else if (c == '@' || c == 'h' || c == 'H') && self.starts_prefixed_string(start) {
                self.prefixed_string(start);
            } else if c.is_ascii_digit() || (c == '.' && self.byte_at(start + 1).is_some_and(|b| b.is_ascii_digit())) {
                self.number(start);
            } else if is_ident_start(c) {
                self.word(start);
            } else if c == '$' && self.text[start + 1..].chars().next().is_some_and(is_ident_start) {
                self.position += 1;
                self.take_ident_chars();
                self.push(TokenKind::Ident, start);
            } else if c == '!' && self.text[start + 1..].chars().next().is_some_and(is_ident_start) {
                self.negated_word(start);
            } else {
                self.punctuation(start, c);
            }
        }
        let end = self.text.len();
        self.tokens.push(Token { kind: TokenKind::Eof, span: Span::new(end, end) });
    }

    fn take_ident_chars(&mut self) {
        while let Some(c) = self.peek_char() {
            if !is_ident_continue(c) {
                break;
            }
            self.position += c.len_utf8();
        }
    }

    fn starts_prefixed_string(&self, start: usize) -> bool {
        let rest = &self.bytes[start..];
        matches!(
            rest,
            [b'@', b'"' | b'\'', ..] | [b'h' | b'H', b'"' | b'\'', ..] | [b'h' | b'H', b'@', b'"' | b'\'', ..]
        )
    }

    fn prefixed_string(&mut self, start: usize) {
        let mut quote_at = start;
        let mut verbatim = false;
        if matches!(self.byte_at(quote_at), Some(b'h' | b'H')) {
            quote_at += 1;
        }
        if self.byte_at(quote_at) == Some(b'@') {
            verbatim = true;
            quote_at += 1;
        }
        self.string(start, quote_at, verbatim);
    }

    /// A string literal whose quote is at `quote_at`. Verbatim strings (`@"..."`) have no escapes; a doubled
    /// quote stands for one quote.
    fn string(&mut self, start: usize, quote_at: usize, verbatim: bool) {
        let quote = self.bytes[quote_at];
        let mut position = quote_at + 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.text[position..].chars().next() else {
                self.position = self.text.len();
                self.errors.push(KqlError::syntax(Span::new(start, self.position), "unterminated string literal"));
                self.push(TokenKind::String(value), start);
                return;
            };
            if c == '\n' && !verbatim {
                self.position = position;
                self.errors.push(KqlError::syntax(Span::new(start, position), "unterminated string literal"));
                self.push(TokenKind::String(value), start);
                return;
            }
            if c as u32 == u32::from(quote) {
                if verbatim && self.byte_at(position + 1) == Some(quote) {
                    value.push(c);
                    position += 2;
                    continue;
                }
                self.position = position + 1;
                self.push(TokenKind::String(value), start);
                return;
            }
            if c == '\\' && !verbatim {
                position += 1;
                let Some(escaped) = self.text[position..].chars().next() else { continue };
                position += escaped.len_utf8();
                match escaped {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    '0' => value.push('\0'),
                    '\\' | '"' | '\'' => value.push(escaped),
                    'u' => {
                        let digits = self.text.get(position..position + 4).unwrap_or("");
                        match u32::from_str_radix(digits, 16).ok().and_then(char::from_u32) {
                            Some(decoded) if digits.len() == 4 => {
                                value.push(decoded);
                                position += 4;
                            }
                            _ => self.errors.push(KqlError::syntax(
                                Span::new(position - 2, position),
                                "invalid \\u escape in string literal",
                            )),
                        }
                    }
                    other => {
                        self.errors.push(KqlError::syntax(
                            Span::new(position - 1 - other.len_utf8(), position),
                            format!("unknown escape sequence '\\{other}' in string literal"),
                        ));
                        value.push(other);
                    }
                }
                continue;
            }
            value.push(c);
            position += c.len_utf8();
        }
    }

    fn number(&mut self, start: usize) {
        let rest = &self.text[start..];
        if rest.len() > 2 && (rest.starts_with("0x") || rest.starts_with("0X")) {
            let digits: String = rest[2..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
            self.position = start + 2 + digits.len();
            match i64::from_str_radix(&digits, 16) {
                Ok(value) => self.push(TokenKind::Long(value), start),
                Err(_) => {
                    self.errors.push(KqlError::syntax(Span::new(start, self.position), "invalid hexadecimal literal"));
                    self.push(TokenKind::Long(0), start);
                }
            }
            return;
        }
        let mut position = start;
        let mut is_real = false;
        while self.byte_at(position).is_some_and(|b| b.is_ascii_digit()) {
            position += 1;
        }
        // `1..5` in `between (1 .. 5)` is a range, not a real.
        if self.byte_at(position) == Some(b'.') && self.byte_at(position + 1) != Some(b'.') {
            is_real = true;
            position += 1;
            while self.byte_at(position).is_some_and(|b| b.is_ascii_digit()) {
                position += 1;
            }
        }
        if matches!(self.byte_at(position), Some(b'e' | b'E')) {
            let mut exponent = position + 1;
            if matches!(self.byte_at(exponent), Some(b'+' | b'-')) {
                exponent += 1;
            }
            if self.byte_at(exponent).is_some_and(|b| b.is_ascii_digit()) {
                is_real = true;
                position = exponent;
                while self.byte_at(position).is_some_and(|b| b.is_ascii_digit()) {
                    position += 1;
                }
            }
        }
        let number_text = &self.text[start..position];
        // A unit directly after the digits makes a timespan: `1d`, `1.5h`, `100ms`.
        let unit_end = self.text[position..]
            .char_indices()
            .find(|(_, c)| !c.is_ascii_alphabetic())
            .map_or(self.text.len(), |(i, _)| position + i);
        let unit = &self.text[position..unit_end];
        if !unit.is_empty() {
            self.position = unit_end;
            match timespan_unit(unit) {
                Some(ticks_per_unit) => {
                    let value: f64 = number_text.parse().unwrap_or(0.0);
                    let ticks = (value * ticks_per_unit as f64).round();
                    if ticks.abs() < i64::MAX as f64 {
                        self.push(TokenKind::Timespan(ticks as i64), start);
                    } else {
                        self.errors.push(KqlError::syntax(Span::new(start, unit_end), "timespan literal out of range"));
                        self.push(TokenKind::Timespan(0), start);
                    }
                }
                // Digits then letters that are no unit: an identifier that starts with digits (`5Minutebin`),
                // which Kusto allows.
                None if !is_real => {
                    self.position = start;
                    self.take_ident_chars();
                    self.push(TokenKind::Ident, start);
                }
                None => {
                    self.errors.push(KqlError::syntax(
                        Span::new(start, unit_end),
                        format!("unexpected '{unit}' after the number {number_text}"),
                    ));
                    self.push(TokenKind::Long(0), start);
                }
            }
            return;
        }
        self.position = position;
        if is_real {
            let value = number_text.parse::<f64>().unwrap_or(f64::NAN);
            self.push(TokenKind::Real(value), start);
        } else {
            match number_text.parse::<i64>() {
                Ok(value) => self.push(TokenKind::Long(value), start),
                Err(_) => match number_text.parse::<f64>() {
                    Ok(value) => self.push(TokenKind::Real(value), start),
                    Err(_) => {
                        self.errors.push(KqlError::syntax(Span::new(start, position), "invalid number"));
                        self.push(TokenKind::Long(0), start);
                    }
                },
            }
        }
    }

    fn word(&mut self, start: usize) {
        self.take_ident_chars();
        let word = &self.text[start..self.position];
        // `project-away`: a known operator name written with a hyphen and no spaces.
        if self.byte_at(self.position) == Some(b'-') {
            let after = self.position + 1;
            let tail_end = self.text[after..]
                .char_indices()
                .find(|(_, c)| !is_ident_continue(*c))
                .map_or(self.text.len(), |(i, _)| after + i);
            let candidate = &self.text[start..tail_end];
            if HYPHENATED.contains(&candidate.to_ascii_lowercase().as_str()) {
                self.position = tail_end;
                self.push(TokenKind::Word, start);
                return;
            }
        }
        if word == "in" && self.byte_at(self.position) == Some(b'~') {
            self.position += 1;
            self.push(TokenKind::Word, start);
            return;
        }
        if matches!(word, "datetime" | "timespan" | "time" | "guid") && self.typed_raw_literal(start, word) {
            return;
        }
        self.push(TokenKind::Ident, start);
    }

    /// `datetime(2024-01-01T10:00:00Z)`: the content is not made of KQL tokens, so it is taken raw. A quoted
    /// string or an expression inside the parentheses is left to the parser.
    fn typed_raw_literal(&mut self, start: usize, keyword: &str) -> bool {
        let mut position = self.position;
        while self.byte_at(position).is_some_and(|b| b == b' ' || b == b'\t') {
            position += 1;
        }
        if self.byte_at(position) != Some(b'(') {
            return false;
        }
        let content_start = position + 1;
        let Some(close) = self.text[content_start..].find(')').map(|i| content_start + i) else { return false };
        let raw = self.text[content_start..close].trim();
        if raw.is_empty() || raw.starts_with(['"', '\'', '@']) || raw.contains(['(', '\n']) {
            return false;
        }
        // `timespan(x)` with a column reference is a cast; raw text must look like a literal.
        let looks_literal = raw.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
            || raw.eq_ignore_ascii_case("null")
            || (keyword == "guid" && raw.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        if !looks_literal {
            return false;
        }
        self.position = close + 1;
        self.push(TokenKind::TypedRaw { keyword: keyword.to_string(), raw: raw.to_string() }, start);
        true
    }

    fn negated_word(&mut self, start: usize) {
        let word_start = start + 1;
        let end = self.text[word_start..]
            .char_indices()
            .find(|(_, c)| !is_ident_continue(*c))
            .map_or(self.text.len(), |(i, _)| word_start + i);
        let word = &self.text[word_start..end];
        if NEGATABLE.contains(&word.to_ascii_lowercase().as_str()) {
            self.position = end;
            if word == "in" && self.byte_at(self.position) == Some(b'~') {
                self.position += 1;
            }
            self.push(TokenKind::Word, start);
        } else {
            self.position = start + 1;
            self.errors.push(KqlError::syntax(Span::new(start, start + 1), "unexpected '!'"));
        }
    }

    fn punctuation(&mut self, start: usize, c: char) {
        let next = self.byte_at(start + 1);
        let (kind, length) = match (c, next) {
            ('|', _) => (TokenKind::Pipe, 1),
            ('(', _) => (TokenKind::LeftParen, 1),
            (')', _) => (TokenKind::RightParen, 1),
            ('[', _) => (TokenKind::LeftBracket, 1),
            (']', _) => (TokenKind::RightBracket, 1),
            ('{', _) => (TokenKind::LeftBrace, 1),
            ('}', _) => (TokenKind::RightBrace, 1),
            (',', _) => (TokenKind::Comma, 1),
            (';', _) => (TokenKind::Semicolon, 1),
            ('.', Some(b'.')) => (TokenKind::DotDot, 2),
            ('.', _) => (TokenKind::Dot, 1),
            (':', _) => (TokenKind::Colon, 1),
            ('=', Some(b'=')) => (TokenKind::Equal, 2),
            ('=', Some(b'~')) => (TokenKind::EqualTilde, 2),
            ('=', _) => (TokenKind::Assign, 1),
            ('!', Some(b'=')) => (TokenKind::NotEqual, 2),
            ('!', Some(b'~')) => (TokenKind::BangTilde, 2),
            ('<', Some(b'=')) => (TokenKind::LessEqual, 2),
            ('<', Some(b'>')) => (TokenKind::NotEqual, 2),
            ('<', _) => (TokenKind::Less, 1),
            ('>', Some(b'=')) => (TokenKind::GreaterEqual, 2),
            ('>', _) => (TokenKind::Greater, 1),
            ('+', _) => (TokenKind::Plus, 1),
            ('-', _) => (TokenKind::Minus, 1),
            ('*', _) => (TokenKind::Star, 1),
            ('/', _) => (TokenKind::Slash, 1),
            ('%', _) => (TokenKind::Percent, 1),
            _ => {
                self.position = start + c.len_utf8();
                self.errors
                    .push(KqlError::syntax(Span::new(start, self.position), format!("unexpected character '{c}'")));
                return;
            }
        };
        self.position = start + length;
        self.push(kind, start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let lexed = lex(text);
        assert!(lexed.errors.is_empty(), "{:?}", lexed.errors);
        lexed.tokens.into_iter().map(|t| t.kind).filter(|k| *k != TokenKind::Eof).collect()
    }

    fn words(text: &str) -> Vec<String> {
        let lexed = lex(text);
        lexed
            .tokens
            .iter()
            .filter(|t| t.kind != TokenKind::Eof)
            .map(|t| text[t.span.start..t.span.end].to_string())
            .collect()
    }

    #[test]
    fn strings_with_escapes_verbatim_and_obfuscated() {
        assert_eq!(kinds(r#""a\"b\n""#), vec![TokenKind::String("a\"b\n".into())]);
        assert_eq!(kinds(r"'it\'s'"), vec![TokenKind::String("it's".into())]);
        assert_eq!(kinds(r#"@"C:\temp""#), vec![TokenKind::String(r"C:\temp".into())]);
        assert_eq!(kinds(r#"@"say ""hi""""#), vec![TokenKind::String(r#"say "hi""#.into())]);
        assert_eq!(kinds(r#"h"secret""#), vec![TokenKind::String("secret".into())]);
        assert_eq!(kinds(r#"h@'x\y'"#), vec![TokenKind::String(r"x\y".into())]);
    }

    #[test]
    fn numbers_and_timespans() {
        assert_eq!(
            kinds("42 1.5 1e3 0x1F"),
            vec![TokenKind::Long(42), TokenKind::Real(1.5), TokenKind::Real(1000.0), TokenKind::Long(31)]
        );
        assert_eq!(
            kinds("1d 1.5h 30m 10s 100ms"),
            vec![
                TokenKind::Timespan(TICKS_PER_DAY),
                TokenKind::Timespan(TICKS_PER_HOUR * 3 / 2),
                TokenKind::Timespan(30 * TICKS_PER_MINUTE),
                TokenKind::Timespan(10 * TICKS_PER_SECOND),
                TokenKind::Timespan(100 * TICKS_PER_MILLISECOND),
            ]
        );
        assert_eq!(kinds("1..5"), vec![TokenKind::Long(1), TokenKind::DotDot, TokenKind::Long(5)]);
        assert_eq!(kinds("5Minutebin 1st"), vec![TokenKind::Ident, TokenKind::Ident]);
        assert_eq!(kinds("a\u{200B}|\u{FEFF}b"), vec![TokenKind::Ident, TokenKind::Pipe, TokenKind::Ident]);
    }

    #[test]
    fn hyphenated_and_negated_words() {
        assert_eq!(
            words("T | project-away A | mv-expand X"),
            vec!["T", "|", "project-away", "A", "|", "mv-expand", "X"]
        );
        assert_eq!(words("a-b"), vec!["a", "-", "b"]);
        assert_eq!(
            words("x !contains 'a' and y !in~ (1) and z in~ (2)"),
            vec!["x", "!contains", "'a'", "and", "y", "!in~", "(", "1", ")", "and", "z", "in~", "(", "2", ")"]
        );
        assert_eq!(words("a != b !~ c"), vec!["a", "!=", "b", "!~", "c"]);
    }

    #[test]
    fn typed_raw_literals() {
        assert_eq!(
            kinds("datetime(2024-01-01T10:00:00Z)"),
            vec![TokenKind::TypedRaw { keyword: "datetime".into(), raw: "2024-01-01T10:00:00Z".into() }]
        );
        assert_eq!(words("datetime('2024-01-01')"), vec!["datetime", "(", "'2024-01-01'", ")"]);
        assert_eq!(words("timespan(x)"), vec!["timespan", "(", "x", ")"]);
    }

    #[test]
    fn comments_and_dollar_names() {
        assert_eq!(words("a // comment\n| b $left.X"), vec!["a", "|", "b", "$left", ".", "X"]);
    }

    #[test]
    fn errors_do_not_stop_lexing() {
        let lexed = lex("a \"open\n| b # c");
        assert_eq!(lexed.errors.len(), 2);
        assert!(lexed.tokens.iter().any(|t| t.kind == TokenKind::Pipe));
    }
}
