//! Kusto's regular expressions are RE2's (github.com/google/re2, doc/syntax.txt); the engine runs them with the
//! `regex` crate, whose dialect differs in small ways. A pattern is translated first, so that it means what RE2
//! makes of it:
//!
//! - a `{` that does not start a valid repetition (`a{1-3}`, `{,2}`, `x{}`) is a literal, as in RE2;
//! - `\0`, `\012`, `\141` are octal character codes (RE2: up to three digits; a lone `\1`–`\9` is a
//!   backreference, which RE2 refuses);
//! - in a character class, `[` is a literal unless it starts `[:alpha:]`, and `&`, `~` and `--` are literals
//!   (the `regex` crate reads nested classes and set operations there);
//! - `\d`, `\s`, `\w` and `\b` are ASCII, as RE2's are (`\s` is `[\t\n\f\r ]`);
//! - `\Q…\E` is literal text, `\C` any character, `\<` and `\>` are the characters `<` and `>`.
//!
//! What RE2 refuses — backreferences, look-around, possessive repetitions, `\e`, `\cK`, `\K`, unknown flags —
//! is refused here too, as an invalid regular expression: Kusto would refuse the query.

use regex::Regex;

/// Why a pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Re2Error {
    /// RE2 refuses it, so Kusto refuses the query.
    Invalid(String),
    /// RE2 takes it, but the local engine cannot run it (a limit of the `regex` crate).
    Unsupported(String),
}

/// Compiles a Kusto (RE2) regular expression.
pub fn compile(pattern: &str) -> Result<Regex, Re2Error> {
    let translated = translate(pattern).map_err(Re2Error::Invalid)?;
    Regex::new(&translated).map_err(|error| {
        let detail = error.to_string();
        let last = detail.lines().last().unwrap_or_default().trim();
        Re2Error::Unsupported(last.strip_prefix("error: ").unwrap_or(last).to_string())
    })
}

/// The `regex` crate's spelling of an RE2 pattern, or why RE2 refuses it.
pub fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    // Inside a character class: where it started (the index after `[` or `[^`).
    let mut class_start: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        match (c, class_start) {
            ('\\', _) => {
                i = escape(&chars, i, class_start.is_some(), &mut out)?;
                continue;
            }
            ('[', None) => {
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a class is a literal.
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                class_start = Some(i);
                continue;
            }
            ('[', Some(_)) => {
                if let Some(end) = posix_class_end(&chars, i) {
                    out.extend(&chars[i..=end]);
                    i = end + 1;
                } else {
                    out.push_str("\\[");
                    i += 1;
                }
                continue;
            }
            (']', Some(_)) => {
                out.push(']');
                class_start = None;
            }
            ('&' | '~', Some(_)) => {
                out.push('\\');
                out.push(c);
            }
            ('-', Some(_)) if chars.get(i + 1) == Some(&'-') || (i > 0 && chars[i - 1] == '-') => out.push_str("\\-"),
            ('{', None) => match repetition(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..=end]);
                    i = end + 1;
                    if chars.get(i) == Some(&'+') {
                        return Err("possessive repetitions are not supported".into());
                    }
                    continue;
                }
                None => out.push_str("\\{"),
            },
            ('}', None) => out.push_str("\\}"),
            ('(', None) => {
                i = group(&chars, i, &mut out)?;
                continue;
            }
            ('*' | '+' | '?', None) if chars.get(i + 1) == Some(&'+') => {
                return Err("possessive repetitions are not supported".into());
            }
            _ => out.push(c),
        }
        i += 1;
    }
    if class_start.is_some() {
        return Err("missing closing ]".into());
    }
    Ok(out)
}

/// The index of the `]` that ends `[:name:]` starting at `at`, if it is one.
fn posix_class_end(chars: &[char], at: usize) -> Option<usize> {
    if chars.get(at + 1) != Some(&':') {
        return None;
    }
    let mut j = at + 2;
    if chars.get(j) == Some(&'^') {
        j += 1;
    }
    let name_start = j;
    while j < chars.len() && chars[j].is_ascii_alphabetic() {
        j += 1;
    }
    (j > name_start && chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&']')).then_some(j + 1)
}

/// The index of the `}` that ends a valid RE2 repetition `{n}`, `{n,}` or `{n,m}` starting at `at`.
fn repetition(chars: &[char], at: usize) -> Option<usize> {
    let mut j = at + 1;
    let digits = |j: &mut usize| {
        let start = *j;
        while *j < chars.len() && chars[*j].is_ascii_digit() {
            *j += 1;
        }
        (*j > start).then(|| chars[start..*j].iter().collect::<String>().parse::<u32>().ok()).flatten()
    };
    let min = digits(&mut j)?;
    let max = match chars.get(j) {
        Some('}') => Some(min),
        Some(',') => {
            j += 1;
            if chars.get(j) == Some(&'}') { None } else { Some(digits(&mut j)?) }
        }
        _ => return None,
    };
    if chars.get(j) != Some(&'}') || min > 1000 || max.is_some_and(|max| max > 1000 || max < min) {
        return None;
    }
    Some(j)
}

/// `(` at `at`: a group, with RE2's refusals. Returns the index after what was consumed.
fn group(chars: &[char], at: usize, out: &mut String) -> Result<usize, String> {
    if chars.get(at + 1) != Some(&'?') {
        out.push('(');
        return Ok(at + 1);
    }
    let rest: String = chars[at + 2..chars.len().min(at + 5)].iter().collect();
    if rest.starts_with('=') || rest.starts_with('!') || rest.starts_with("<=") || rest.starts_with("<!") {
        return Err("look-around assertions are not supported".into());
    }
    if rest.starts_with("P<") || (rest.starts_with('<') && !rest.starts_with("<=")) {
        out.push_str("(?");
        return Ok(at + 2);
    }
    if rest.starts_with("P=") || rest.starts_with("P>") || rest.starts_with('#') || rest.starts_with('>') {
        return Err("invalid or unsupported Perl syntax: (?".to_string() + &rest[..1.min(rest.len())]);
    }
    // Flags: (?imsU-imsU) or (?imsU-imsU:
    let mut j = at + 2;
    while j < chars.len() && matches!(chars[j], 'i' | 'm' | 's' | 'U' | '-') {
        j += 1;
    }
    match chars.get(j) {
        Some(')' | ':') if j > at + 2 || chars.get(j) == Some(&':') => {
            out.extend(&chars[at..=j]);
            Ok(j + 1)
        }
        _ => Err("invalid or unsupported Perl syntax in a group's flags".into()),
    }
}

/// A backslash escape at `at`. Returns the index after it.
fn escape(chars: &[char], at: usize, in_class: bool, out: &mut String) -> Result<usize, String> {
    let Some(&c) = chars.get(at + 1) else {
        return Err("trailing \\".into());
    };
    let next = at + 2;
    match c {
        '0'..='7' => {
            // RE2: `\0` plus up to two octal digits; `\1`-`\7` only with a second octal digit (else a
            // backreference).
            let mut j = at + 1;
            let end = (at + 4).min(chars.len());
            while j < end && ('0'..='7').contains(&chars[j]) {
                j += 1;
            }
            if c != '0' && j == at + 2 {
                return Err("backreferences are not supported".into());
            }
            let digits: String = chars[at + 1..j].iter().collect();
            let code = u32::from_str_radix(&digits, 8).map_err(|e| e.to_string())?;
            out.push_str(&format!("\\x{{{code:X}}}"));
            Ok(j)
        }
        '8' | '9' => Err("backreferences are not supported".into()),
        'Q' => {
            let mut j = next;
            while j < chars.len() && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E')) {
                let literal = chars[j].to_string();
                out.push_str(&if in_class { class_literal(chars[j]) } else { regex::escape(&literal) });
                j += 1;
            }
            Ok(if j < chars.len() { j + 2 } else { j })
        }
        'E' => Ok(next),
        'd' => {
            out.push_str(if in_class { "0-9" } else { "[0-9]" });
            Ok(next)
        }
        'D' => {
            out.push_str("[^0-9]");
            Ok(next)
        }
        's' => {
            out.push_str(if in_class { "\\t\\n\\x0C\\r " } else { "[\\t\\n\\x0C\\r ]" });
            Ok(next)
        }
        'S' => {
            out.push_str("[^\\t\\n\\x0C\\r ]");
            Ok(next)
        }
        'w' => {
            out.push_str(if in_class { "0-9A-Za-z_" } else { "[0-9A-Za-z_]" });
            Ok(next)
        }
        'W' => {
            out.push_str("[^0-9A-Za-z_]");
            Ok(next)
        }
        'b' | 'B' if !in_class => {
            out.push_str(if c == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
            Ok(next)
        }
        'C' if !in_class => {
            out.push_str("(?s:.)");
            Ok(next)
        }
        'A' | 'z' if !in_class => {
            out.push('\\');
            out.push(c);
            Ok(next)
        }
        'a' | 'f' | 't' | 'n' | 'r' | 'v' => {
            out.push('\\');
            out.push(c);
            Ok(next)
        }
        'x' => {
            // \x7F or \x{10FFFF}
            if chars.get(next) == Some(&'{') {
                let close = chars[next..].iter().position(|ch| *ch == '}').map(|p| next + p);
                let Some(close) = close else { return Err("invalid hex escape".into()) };
                let hex: String = chars[next + 1..close].iter().collect();
                if hex.is_empty() || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                    return Err("invalid hex escape".into());
                }
                out.extend(&chars[at..=close]);
                Ok(close + 1)
            } else {
                let hex: String = chars[next..(next + 2).min(chars.len())].iter().collect();
                if hex.len() != 2 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                    return Err("invalid hex escape".into());
                }
                out.extend(&chars[at..next + 2]);
                Ok(next + 2)
            }
        }
        'p' | 'P' => {
            // \pN or \p{Name}
            if chars.get(next) == Some(&'{') {
                let close = chars[next..].iter().position(|ch| *ch == '}').map(|p| next + p);
                let Some(close) = close else { return Err("invalid character class range".into()) };
                out.extend(&chars[at..=close]);
                Ok(close + 1)
            } else if let Some(&name) = chars.get(next) {
                out.push('\\');
                out.push(c);
                out.push(name);
                Ok(next + 1)
            } else {
                Err("invalid character class range".into())
            }
        }
        c if c.is_ascii_punctuation() => {
            if in_class {
                out.push_str(&class_literal(c));
            } else {
                out.push_str(&regex::escape(&c.to_string()));
            }
            Ok(next)
        }
        c => Err(format!("invalid escape sequence: \\{c}")),
    }
}

/// A literal character inside a class.
fn class_literal(c: char) -> String {
    match c {
        '\\' | ']' | '[' | '^' | '-' | '&' | '~' => format!("\\{c}"),
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        compile(pattern).unwrap_or_else(|e| panic!("{pattern}: {e:?}")).is_match(text)
    }

    /// RE2's readings (doc/syntax.txt), one per rule.
    #[test]
    fn patterns_mean_what_re2_makes_of_them() {
        // A malformed repetition is a literal.
        assert!(matches("a{1-3}", "a{1-3}"));
        assert!(!matches("a{1-3}", "aa"));
        assert!(matches("x{,2}", "x{,2}"));
        assert!(matches("^a{2}$", "aa"));
        assert!(matches("^a{2,}$", "aaa"));
        assert!(matches("^a{1,2}$", "aa"));
        // Octal escapes.
        assert!(matches("\\0", "a\0b"));
        assert!(matches("\\141", "a"));
        assert!(matches("\\12", "\n"));
        // `[` in a class, and the set operators of the regex crate, are literals.
        assert!(matches("[[\",\\]]", "["));
        assert!(matches("[[\",\\]]", "]"));
        assert!(!matches("[[\",\\]]", "a"));
        assert!(matches("[a&&b]", "&"));
        assert!(matches("[a~~b]", "~"));
        assert!(matches("[[:digit:]]", "7"));
        // ASCII classes.
        assert!(!matches("\\d", "٣"));
        assert!(matches("\\d", "3"));
        assert!(!matches("\\w", "é"));
        assert!(!matches("\\s", "\u{a0}"));
        assert!(matches("[\\d]", "3"));
        // Literal text, and `\<`.
        assert!(matches("\\Qa.b\\E", "a.b"));
        assert!(!matches("\\Qa.b\\E", "axb"));
        assert!(matches("\\<a\\>", "<a>"));
        // Spaces and `#` are literals (RE2 has no `x` flag, and refuses it).
        assert!(matches("a b#c", "a b#c"));
    }

    #[test]
    fn what_re2_refuses_is_invalid() {
        for pattern in ["(a)\\1", "(?=a)", "(?<!a)b", "a*+", "\\e", "\\cK", "(?P=n)", "[a", "(?x)a", "\\8"] {
            assert!(matches!(compile(pattern), Err(Re2Error::Invalid(_))), "{pattern}");
        }
        assert!(compile("(?P<n>a)(?<m>b)").is_ok());
        assert!(compile("(?i)A(?s:.)").is_ok());
    }
}
