//! The YAML reader behind `huntbook.yaml` and the playbooks. It parses a file with `marked_yaml` (every node
//! keeps its line and column; every scalar is text) and hands out typed values through `Value` and `Fields`,
//! recording each problem as a `Diagnostic` at the exact place it comes from instead of stopping at the first
//! one, so that `huntbook validate` reports everything at once. `Fields` reports keys the format does not
//! know, with a "did you mean". This file also knows where a scalar's text sits in the file (a block scalar, a
//! quoted string), so that an error inside a query, a cron expression or a template gets a caret under the
//! exact character. It knows nothing of what the keys mean: that is `config` and `playbook`.

mod position;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, LoaderOptions, Node};

use super::duration::parse_duration;
use super::reference::{Resolver, resolve};
use super::secret::Secret;
use crate::diagnostics::{Diagnostic, SourceText};
use crate::kql::error::{KqlError, closest};
use position::key_place;
pub use position::{Lines, Place, TextLayout, char_offset};

/// `did you mean `x`?` when a candidate is close to `name`.
pub fn did_you_mean<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str> + Clone) -> Option<String> {
    closest(name, candidates.clone())
        .or_else(|| candidates.into_iter().find(|candidate| is_transposition(name, candidate)))
        .map(|candidate| format!("did you mean `{candidate}`?"))
}

/// `titel` for `title`: two neighbouring letters swapped, a typo the edit distance counts as two.
fn is_transposition(name: &str, candidate: &str) -> bool {
    let name: Vec<char> = name.to_lowercase().chars().collect();
    let candidate: Vec<char> = candidate.to_lowercase().chars().collect();
    if name.len() != candidate.len() {
        return false;
    }
    let differences: Vec<usize> = (0..name.len()).filter(|&i| name[i] != candidate[i]).collect();
    matches!(differences[..], [a, b] if b == a + 1 && name[a] == candidate[b] && name[b] == candidate[a])
}

/// `a, b or c`.
pub fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Parses a file's text. The node tree is `None` when the text is not YAML at all; duplicate keys are
/// reported and the file is read anyway (the last value wins, as in YAML loaders).
pub fn parse(name: &str, text: &str) -> (Option<Node>, Vec<Diagnostic>) {
    // The YAML reader stops at a NUL without a word, and what follows (receivers, notify) would then be
    // reported missing: say where the NUL is instead.
    if let Some(at) = text.find('\0') {
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
        let diagnostic = Diagnostic::in_file(name, text, line, column, 1, "the file holds a NUL character (\\0) here")
            .with_hint("YAML files are text: remove it (a NUL cuts the file short for the YAML reader)");
        return (None, vec![diagnostic]);
    }
    let strict = LoaderOptions::default().prevent_coercion(true).error_on_duplicate_keys(true);
    match marked_yaml::parse_yaml_with_options(0, text, strict) {
        Ok(node) => (Some(node), Vec::new()),
        Err(LoadError::DuplicateKey(duplicate)) => {
            let lenient = LoaderOptions::default().prevent_coercion(true);
            let first = duplicate.prev_key.span().start().map_or(0, |m| m.line());
            let place = key_place(&Lines::new(text), &duplicate.key);
            let diagnostic = Diagnostic::in_file(
                name,
                text,
                place.line,
                place.column,
                place.width,
                format!("`{}` is given twice in this mapping", duplicate.key.as_str()),
            )
            .with_hint(format!("the first is on line {first}; keep one"));
            match marked_yaml::parse_yaml_with_options(0, text, lenient) {
                Ok(node) => (Some(node), vec![diagnostic]),
                Err(error) => (None, vec![diagnostic, load_error(name, text, &error)]),
            }
        }
        Err(error) => (None, vec![load_error(name, text, &error)]),
    }
}

fn load_error(name: &str, text: &str, error: &LoadError) -> Diagnostic {
    let (marker, message, hint) = match error {
        LoadError::TopLevelMustBeMapping(marker) => {
            (marker, "expected `key: value` lines at the top of the file".to_string(), None)
        }
        LoadError::UnexpectedAnchor(marker) => (
            marker,
            "YAML anchors and aliases (`&name`, `*name`) are not supported".to_string(),
            Some("write the value out".to_string()),
        ),
        LoadError::UnexpectedTag(marker) => (
            marker,
            "YAML tags (`!name`) are not supported".to_string(),
            Some("write the value plainly, or quote it".to_string()),
        ),
        LoadError::MappingKeyMustBeScalar(marker) => (marker, "a key must be a plain name".to_string(), None),
        LoadError::ScanError(marker, scan) => {
            let line = Lines::new(text).get(marker.line()).unwrap_or_default();
            let hint = if scan.info().contains("tab") {
                Some("indent with spaces, not tabs".to_string())
            } else if line.contains("${") && (line.contains('{') || line.contains('[')) {
                Some("inside `{ }` or `[ ]`, quote a value with a reference: \"${env:NAME}\"".to_string())
            } else {
                None
            };
            (marker, format!("this is not valid YAML: {}", scan.info()), hint)
        }
        // Not produced by the strict pass above, which reports it.
        LoadError::DuplicateKey(duplicate) => {
            return Diagnostic::plain(format!("`{}` is given twice", duplicate.key.as_str()));
        }
        LoadError::TopLevelMustBeSequence(marker) => (marker, "expected a list".to_string(), None),
    };
    let diagnostic = Diagnostic::in_file(name, text, marker.line().max(1), marker.column().max(1), 1, message);
    match hint {
        Some(hint) => diagnostic.with_hint(hint),
        None => diagnostic,
    }
}

/// One file being read: its name and text, where `${...}` references resolve from (the configuration only),
/// and the problems found so far.
pub struct Reader<'a> {
    name: &'a str,
    text: &'a str,
    lines: Lines<'a>,
    resolver: Option<&'a Resolver<'a>>,
    problems: RefCell<Vec<Diagnostic>>,
    /// What deserves a word but leaves the file valid (a query that runs in Graph but not locally).
    warnings: RefCell<Vec<Diagnostic>>,
}

impl<'a> Reader<'a> {
    pub fn new(name: &'a str, text: &'a str) -> Self {
        Reader {
            name,
            text,
            lines: Lines::new(text),
            resolver: None,
            problems: RefCell::new(Vec::new()),
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// Strings read through this reader have their `${env:X}` and `${file:X}` references replaced.
    pub fn with_resolver(mut self, resolver: &'a Resolver<'a>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    pub fn name(&self) -> &'a str {
        self.name
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// A value for a node of this file.
    pub fn value(&'a self, node: &'a Node) -> Value<'a> {
        Value { reader: self, node, key: None }
    }

    /// A diagnostic at a place of this file.
    pub fn at(&self, place: Place, message: impl Into<String>) -> Diagnostic {
        let line_text = self.lines.get(place.line).unwrap_or_default();
        Diagnostic::on_line(self.name, line_text, place.line, place.column, place.width, message)
    }

    pub fn report(&self, diagnostic: Diagnostic) {
        self.problems.borrow_mut().push(diagnostic);
    }

    pub fn extend(&self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.problems.borrow_mut().extend(diagnostics);
    }

    /// A warning: said by `validate`, and the file stays valid.
    pub fn warn(&self, mut diagnostic: Diagnostic) {
        diagnostic.label = "warning";
        self.warnings.borrow_mut().push(diagnostic);
    }

    /// How many problems were found so far: a section that adds none is valid.
    pub fn problem_count(&self) -> usize {
        self.problems.borrow().len()
    }

    /// Every problem, in file order.
    pub fn into_problems(self) -> Vec<Diagnostic> {
        self.into_problems_and_warnings().0
    }

    /// Every problem and every warning, each in file order.
    pub fn into_problems_and_warnings(self) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let mut problems = self.problems.into_inner();
        problems.sort_by_key(|d| (d.line, d.column));
        let mut warnings = self.warnings.into_inner();
        warnings.sort_by_key(|d| (d.line, d.column));
        (problems, warnings)
    }

    /// Where a scalar's text sits in the file, when it can be said with a first line, a first column and an
    /// indentation (block scalars, plain scalars, quoted strings without escapes); `None` for folded text.
    pub fn layout(&self, scalar: &MarkedScalarNode) -> Option<TextLayout> {
        position::layout(&self.lines, scalar)
    }

    /// The place of characters `start..end` of a scalar's value (cut at the end of the first line).
    pub fn scalar_place(&self, scalar: &MarkedScalarNode, start: usize, end: usize) -> Place {
        position::scalar_place(&self.lines, scalar, start, end)
    }

    fn line(&self, line: usize) -> Option<&'a str> {
        self.lines.get(line)
    }

    /// A KQL error in a scalar (a query, a `when` condition), placed in the file and shown on the file's line.
    pub fn kql_diagnostic(&self, scalar: &MarkedScalarNode, error: &KqlError) -> Diagnostic {
        let value = scalar.as_str();
        let located = match self.layout(scalar) {
            Some(layout) => {
                let source = SourceText {
                    name: self.name,
                    text: value,
                    first_line: layout.first_line,
                    first_column: layout.first_column,
                    indent: layout.indent,
                };
                let diagnostic = Diagnostic::from_kql(&source, error);
                if diagnostic.file.is_empty() {
                    return diagnostic;
                }
                Place { line: diagnostic.line, column: diagnostic.column, width: diagnostic.caret_width }
            }
            None => {
                let start = position::char_offset(value, error.span.start);
                let end = position::char_offset(value, error.span.end);
                self.scalar_place(scalar, start, end)
            }
        };
        let mut diagnostic = self.at(located, error.message.clone());
        diagnostic.caret_width = located.width.max(1);
        diagnostic.label = Diagnostic::from_kql(&SourceText::new(self.name, value), error).label;
        diagnostic.hint = error.hint.clone();
        diagnostic
    }
}

/// A node of a file being read, with the key it is the value of.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    reader: &'a Reader<'a>,
    node: &'a Node,
    key: Option<&'a MarkedScalarNode>,
}

impl<'a> Value<'a> {
    pub fn reader(&self) -> &'a Reader<'a> {
        self.reader
    }

    pub fn node(&self) -> &'a Node {
        self.node
    }

    /// The key this is the value of, as written.
    pub fn key(&self) -> Option<&'a str> {
        self.key.map(MarkedScalarNode::as_str)
    }

    /// The scalar node, if this is one.
    pub fn scalar(&self) -> Option<&'a MarkedScalarNode> {
        self.node.as_scalar()
    }

    /// The scalar's text as written in the file (never a resolved secret).
    pub fn written(&self) -> Option<&'a str> {
        self.scalar().map(MarkedScalarNode::as_str)
    }

    /// `key:` with nothing after it, `~` or `null`.
    pub fn is_null(&self) -> bool {
        self.scalar().is_some_and(|s| s.may_coerce() && matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// Where the key is (or the value, when it has no key).
    pub fn key_place(&self) -> Place {
        match self.key {
            Some(key) => key_place(&self.reader.lines, key),
            None => self.place(),
        }
    }

    /// Where the value is: a scalar as written; a block collection by its key or its first entry.
    pub fn place(&self) -> Place {
        match self.node {
            Node::Scalar(scalar) if !self.is_null() || self.key.is_none() => {
                position::scalar_token_place(&self.reader.lines, scalar)
            }
            Node::Scalar(_) => self.key_place(),
            Node::Mapping(mapping) => {
                if let Some(place) = self.flow_place() {
                    place
                } else if self.key.is_some() {
                    self.key_place()
                } else if let Some(first) = mapping.keys().next() {
                    key_place(&self.reader.lines, first)
                } else {
                    Place { line: 1, column: 1, width: 1 }
                }
            }
            Node::Sequence(sequence) => {
                if let Some(place) = self.flow_place() {
                    place
                } else if self.key.is_some() {
                    self.key_place()
                } else if let Some(first) = sequence.first() {
                    Value { reader: self.reader, node: first, key: None }.place()
                } else {
                    Place { line: 1, column: 1, width: 1 }
                }
            }
        }
    }

    /// A flow collection (`{...}`, `[...]`) is placed at its opening bracket.
    fn flow_place(&self) -> Option<Place> {
        let marker = self.node.span().start()?;
        let opening = self.reader.line(marker.line())?.chars().nth(marker.column().checked_sub(1)?)?;
        matches!(opening, '{' | '[').then_some(Place { line: marker.line(), column: marker.column(), width: 1 })
    }

    /// A diagnostic at this value.
    pub fn error(&self, message: impl Into<String>) -> Diagnostic {
        self.reader.at(self.place(), message)
    }

    pub fn report(&self, message: impl Into<String>) {
        self.reader.report(self.error(message));
    }

    pub fn report_hint(&self, message: impl Into<String>, hint: impl Into<String>) {
        self.reader.report(self.error(message).with_hint(hint));
    }

    /// What the value is, for "expected X, found Y".
    pub fn describe(&self) -> String {
        match self.node {
            _ if self.is_null() => "nothing".to_string(),
            Node::Scalar(scalar) => format!("`{}`", scalar.as_str()),
            Node::Mapping(_) => "a mapping".to_string(),
            Node::Sequence(_) => "a list".to_string(),
        }
    }

    fn expected(&self, what: &str) {
        self.report(format!("expected {what}, found {}", self.describe()));
    }

    /// The value as text, `${...}` references replaced (in the configuration).
    pub fn string(&self) -> Option<String> {
        self.resolved().map(|(text, _)| text)
    }

    /// The text and whether it used a `${...}` reference.
    pub fn resolved(&self) -> Option<(String, bool)> {
        self.resolved_here().map(|(text, used_reference, _)| (text, used_reference))
    }

    /// The text, whether it used a reference, and whether a reference was not available here (allowed by the
    /// resolver: each is a warning).
    fn resolved_here(&self) -> Option<(String, bool, bool)> {
        let scalar = match self.node {
            Node::Scalar(scalar) if !self.is_null() => scalar,
            _ => {
                self.expected("text");
                return None;
            }
        };
        let Some(resolver) = self.reader.resolver else { return Some((scalar.as_str().to_string(), false, false)) };
        match resolve(scalar.as_str(), resolver) {
            Ok(resolved) => {
                for missing in &resolved.unavailable {
                    let place = self.reader.scalar_place(scalar, missing.start, missing.end);
                    let diagnostic = self.reader.at(
                        place,
                        format!(
                            "{} here: the commands that send (`run`, `daemon`, `query --tenant`, `outbox retry`) \
                             need it",
                            missing.message
                        ),
                    );
                    self.reader.warn(match &missing.hint {
                        Some(hint) => diagnostic.with_hint(hint.clone()),
                        None => diagnostic,
                    });
                }
                Some((resolved.text, resolved.used_reference, !resolved.unavailable.is_empty()))
            }
            Err(errors) => {
                for error in errors {
                    let place = self.reader.scalar_place(scalar, error.start, error.end);
                    let diagnostic = self.reader.at(place, error.message);
                    self.reader.report(match error.hint {
                        Some(hint) => diagnostic.with_hint(hint),
                        None => diagnostic,
                    });
                }
                None
            }
        }
    }

    /// A secret: a password, a client secret, a webhook URL. It must come from a `${env:X}` or `${file:X}`
    /// reference; a value written in the file is refused, and masked in the message.
    pub fn secret(&self) -> Option<Secret> {
        let (text, used_reference, unavailable) = self.resolved_here()?;
        if used_reference {
            return Some(if unavailable { Secret::unavailable() } else { Secret::new(text) });
        }
        let place = self.place();
        let mut diagnostic = self
            .reader
            .at(place, format!("`{}` is a secret and must not be written in the file", self.key().unwrap_or("this")))
            .with_hint("keep it in the environment or a file: ${env:NAME} or ${file:/path}");
        diagnostic.line_text = diagnostic
            .line_text
            .chars()
            .enumerate()
            .map(|(index, c)| if index + 1 >= place.column && index + 1 < place.column + place.width { '*' } else { c })
            .collect();
        self.reader.report(diagnostic);
        None
    }

    /// Text that must not be empty.
    pub fn non_empty_string(&self) -> Option<String> {
        let text = self.string()?;
        if text.trim().is_empty() {
            self.report("expected text, found an empty string");
            return None;
        }
        Some(text)
    }

    /// `true` or `false`.
    pub fn bool(&self) -> Option<bool> {
        match self.string()?.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => {
                self.report_hint(format!("expected true or false, found {}", self.describe()), "write true or false");
                None
            }
        }
    }

    /// A whole number; `what` names it in messages (`a port number`).
    pub fn number<T: FromStr>(&self, what: &str) -> Option<T> {
        let text = self.string()?;
        match text.trim().parse() {
            Ok(number) if text.trim().chars().all(|c| c.is_ascii_digit()) => Some(number),
            _ => {
                self.expected(what);
                None
            }
        }
    }

    /// A duration: `30s`, `15m`, `1h`, `7d`, `1w`.
    pub fn duration(&self) -> Option<chrono::TimeDelta> {
        let text = self.string()?;
        match parse_duration(&text) {
            Ok(duration) => Some(duration),
            Err(error) => {
                self.report_hint(error.message, error.hint);
                None
            }
        }
    }

    /// One of a few words; `what` names the setting in messages (`severity`).
    pub fn keyword<T: Copy>(&self, what: &str, choices: &[(&str, T)]) -> Option<T> {
        let text = self.string()?;
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*value);
        }
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let hint = did_you_mean(&text, names.iter().copied()).unwrap_or_else(|| format!("use {}", one_of(&names)));
        self.report_hint(format!("unknown {what} {}", self.describe()), hint);
        None
    }

    /// An IANA time zone name.
    pub fn timezone(&self) -> Option<chrono_tz::Tz> {
        let text = self.string()?;
        if let Ok(zone) = text.parse::<chrono_tz::Tz>() {
            return Some(zone);
        }
        let hint = did_you_mean(&text, chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name()))
            .unwrap_or_else(|| "use an IANA time zone name, such as Europe/Amsterdam or UTC".to_string());
        self.report_hint(format!("unknown time zone {}", self.describe()), hint);
        None
    }

    /// A path, resolved against `base`.
    pub fn path(&self, base: &Path) -> Option<PathBuf> {
        self.non_empty_string().map(|text| base.join(text))
    }

    /// The entries of a list.
    pub fn list(&self) -> Option<Vec<Value<'a>>> {
        match self.node {
            Node::Sequence(sequence) => {
                Some(sequence.iter().map(|node| Value { reader: self.reader, node, key: None }).collect())
            }
            _ => {
                self.expected("a list");
                None
            }
        }
    }

    /// A list of strings, or one string standing for a list of one; each with its value, for later checks.
    pub fn strings(&self) -> Option<Vec<(String, Value<'a>)>> {
        let items = match self.node {
            Node::Scalar(_) if !self.is_null() => vec![*self],
            _ => self.list()?,
        };
        let count = self.reader.problem_count();
        let strings: Vec<(String, Value<'a>)> =
            items.into_iter().filter_map(|item| Some((item.non_empty_string()?, item))).collect();
        (self.reader.problem_count() == count).then_some(strings)
    }

    /// A mapping whose keys are names chosen by the user (receivers, tenants): its values, each with its key.
    pub fn entries(&self) -> Option<Vec<Value<'a>>> {
        match self.node {
            Node::Mapping(mapping) => {
                Some(mapping.iter().map(|(key, node)| Value { reader: self.reader, node, key: Some(key) }).collect())
            }
            _ => {
                self.expected("a mapping");
                None
            }
        }
    }

    /// The value of `key` in a mapping, without checking anything (for a second look at a file).
    pub fn child(&self, key: &str) -> Option<Value<'a>> {
        let mapping = self.node.as_mapping()?;
        mapping.iter().find(|(name, _)| name.as_str() == key).map(|(name, node)| Value {
            reader: self.reader,
            node,
            key: Some(name),
        })
    }

    /// A mapping with a fixed set of keys; every other key is reported, with a "did you mean".
    pub fn fields(&self, known: &'static [&'static str]) -> Option<Fields<'a>> {
        let Node::Mapping(mapping) = self.node else {
            self.expected("a mapping");
            return None;
        };
        for key in mapping.keys() {
            if !known.contains(&key.as_str()) {
                let hint = did_you_mean(key.as_str(), known.iter().copied()).unwrap_or_else(|| {
                    if known.is_empty() {
                        "this takes no keys".to_string()
                    } else {
                        format!("expected {}", one_of(known))
                    }
                });
                let place = key_place(&self.reader.lines, key);
                self.reader.report(self.reader.at(place, format!("unknown key `{}`", key.as_str())).with_hint(hint));
            }
        }
        Some(Fields { owner: *self, mapping, known })
    }
}

/// The keys of a mapping with a fixed set of keys.
pub struct Fields<'a> {
    owner: Value<'a>,
    mapping: &'a MarkedMappingNode,
    known: &'static [&'static str],
}

impl<'a> Fields<'a> {
    /// The mapping itself.
    pub fn owner(&self) -> Value<'a> {
        self.owner
    }

    /// The value of `key`, or `None` when it is absent or empty (`key:` alone, `~`).
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.raw(key).filter(|value| !value.is_null())
    }

    /// The value of `key` even when empty.
    pub fn raw(&self, key: &str) -> Option<Value<'a>> {
        self.mapping.iter().find(|(name, _)| name.as_str() == key).map(|(name, node)| Value {
            reader: self.owner.reader,
            node,
            key: Some(name),
        })
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of a key that must be given; its absence is reported.
    pub fn required(&self, key: &str) -> Option<Value<'a>> {
        match self.raw(key) {
            Some(value) if value.is_null() => {
                value.reader.report(value.reader.at(value.key_place(), format!("`{key}` needs a value")));
                None
            }
            Some(value) => Some(value),
            None => {
                if !self.misspelt(key) {
                    self.owner.report(format!("missing key `{key}`"));
                }
                None
            }
        }
    }

    /// Whether an unknown key of this mapping looks like `key` (`titel` for `title`): it was reported with a
    /// "did you mean", and reporting `key` as missing too would say the same thing twice.
    pub fn misspelt(&self, key: &str) -> bool {
        self.mapping
            .keys()
            .any(|name| !self.known.contains(&name.as_str()) && did_you_mean(name.as_str(), [key]).is_some())
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.get(key)?.string()
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key)?.bool()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::render_diagnostics;

    const KNOWN: &[&str] = &["title", "schedule", "query", "count"];

    fn read(text: &str, check: impl for<'a> Fn(&'a Reader<'a>, Value<'a>)) -> String {
        let (node, mut problems) = parse("x.yaml", text);
        if let Some(node) = node {
            let reader = Reader::new("x.yaml", text);
            check(&reader, reader.value(&node));
            problems.extend(reader.into_problems());
        }
        render_diagnostics(&problems)
    }

    #[test]
    fn unknown_keys_get_a_did_you_mean() {
        let rendered = read("titel: x\nquery: y\nzzz: 1\n", |_, root| {
            root.fields(KNOWN);
        });
        assert_eq!(
            rendered,
            "error: unknown key `titel`\n --> x.yaml:1:1\n  |\n1 | titel: x\n  | ^^^^^ did you mean `title`?\n\n\
             error: unknown key `zzz`\n --> x.yaml:3:1\n  |\n3 | zzz: 1\n  | ^^^ expected title, schedule, query or count\n"
        );
    }

    #[test]
    fn missing_and_empty_required_keys() {
        let rendered = read("schedule:\n  every:\n", |_, root| {
            let fields = root.fields(KNOWN).expect("mapping");
            fields.required("title");
            let schedule = fields.required("schedule").and_then(|s| s.fields(&["every"])).expect("schedule");
            schedule.required("every");
        });
        assert_eq!(
            rendered,
            "error: missing key `title`\n --> x.yaml:1:1\n  |\n1 | schedule:\n  | ^^^^^^^^\n\n\
             error: `every` needs a value\n --> x.yaml:2:3\n  |\n2 |   every:\n  |   ^^^^^\n"
        );
    }

    #[test]
    fn typed_values_report_where_they_are() {
        let rendered = read("count: [1]\ntitle: 'x'\nquery: \"12x\"\n", |_, root| {
            let fields = root.fields(KNOWN).expect("mapping");
            assert_eq!(fields.get("count").and_then(|v| v.string()), None);
            assert_eq!(fields.string("title").as_deref(), Some("x"));
            assert_eq!(fields.get("query").and_then(|v| v.number::<u32>("a number")), None);
        });
        assert_eq!(
            rendered,
            "error: expected text, found a list\n --> x.yaml:1:8\n  |\n1 | count: [1]\n  |        ^\n\n\
             error: expected a number, found `12x`\n --> x.yaml:3:8\n  |\n3 | query: \"12x\"\n  |        ^^^^^\n"
        );
    }

    #[test]
    fn duplicate_keys_are_reported_and_the_file_still_read() {
        let rendered = read("title: a\ntitle: b\n", |_, root| {
            let fields = root.fields(KNOWN).expect("mapping");
            assert_eq!(fields.string("title").as_deref(), Some("b"));
        });
        assert_eq!(
            rendered,
            "error: `title` is given twice in this mapping\n --> x.yaml:2:1\n  |\n2 | title: b\n  | ^^^^^ the first is on line 1; keep one\n"
        );
    }

    #[test]
    fn invalid_yaml_is_one_problem_with_a_position() {
        let rendered = read("a: [1, 2\nb: 3\n", |_, _| {});
        assert!(rendered.starts_with("error: this is not valid YAML: "), "{rendered}");
        assert!(rendered.contains("x.yaml:2:"), "{rendered}");
        let rendered = read("a: &x 1\n", |_, _| {});
        assert!(rendered.starts_with("error: YAML anchors and aliases"), "{rendered}");
    }

    #[test]
    fn layouts_of_block_plain_and_quoted_scalars() {
        let text = "a: |\n\n  X\n  | y\nb: x == 1  # c\nc: \"q\"\nd: \"a\\\"b\"\ne: x\n  y\nf: |2\n    i\n  j\n";
        let (node, problems) = parse("x.yaml", text);
        assert!(problems.is_empty());
        let node = node.expect("parsed");
        let reader = Reader::new("x.yaml", text);
        let mapping = node.as_mapping().expect("mapping");
        let layout = |key: &str| reader.layout(mapping.get_scalar(key).expect("scalar"));
        assert_eq!(layout("a"), Some(TextLayout { first_line: 2, first_column: 3, indent: 2 }));
        assert_eq!(layout("b"), Some(TextLayout { first_line: 5, first_column: 4, indent: 3 }));
        assert_eq!(layout("c"), Some(TextLayout { first_line: 6, first_column: 5, indent: 4 }));
        assert_eq!(layout("d"), None);
        assert_eq!(layout("e"), None);
        assert_eq!(layout("f"), Some(TextLayout { first_line: 11, first_column: 3, indent: 2 }));
        // Text YAML changed on the way in is found character by character.
        let d = mapping.get_scalar("d").expect("scalar");
        assert_eq!(reader.scalar_place(d, 2, 3), Place { line: 7, column: 8, width: 1 });
        let e = mapping.get_scalar("e").expect("scalar");
        assert_eq!(reader.scalar_place(e, 2, 3), Place { line: 9, column: 3, width: 1 });
    }

    #[test]
    fn kql_errors_land_on_the_file_line_even_in_escaped_strings() {
        let text = "a: |\n  T\n  | where X == 1\nw: \"DeviceTyp == \\\"x\\\"\"\n";
        let (node, _) = parse("x.yaml", text);
        let node = node.expect("parsed");
        let reader = Reader::new("x.yaml", text);
        let mapping = node.as_mapping().expect("mapping");
        let error = KqlError::semantic(crate::kql::span::Span::new(10, 11), "no X").with_hint("did you mean 'Y'?");
        let rendered = reader.kql_diagnostic(mapping.get_scalar("a").expect("a"), &error).render();
        assert_eq!(
            rendered,
            "error: no X\n --> x.yaml:3:11\n  |\n3 |   | where X == 1\n  |           ^ did you mean 'Y'?\n"
        );
        let error = KqlError::semantic(crate::kql::span::Span::new(13, 16), "not a string");
        let diagnostic = reader.kql_diagnostic(mapping.get_scalar("w").expect("w"), &error);
        assert_eq!((diagnostic.line, diagnostic.column, diagnostic.caret_width), (4, 19, 4));
    }

    #[test]
    fn secrets_resolve_and_missing_ones_are_named() {
        let environment = |name: &str| (name == "SET").then(|| "value".to_string());
        let resolver = Resolver { environment: &environment, base_dir: Path::new("/"), allow_unavailable: false };
        let text = "a: x${env:SET}\nb: \"${env:UNSET}\"\n";
        let (node, _) = parse("x.yaml", text);
        let node = node.expect("parsed");
        let reader = Reader::new("x.yaml", text).with_resolver(&resolver);
        let fields = reader.value(&node).fields(&["a", "b"]).expect("mapping");
        assert_eq!(fields.get("a").and_then(|v| v.resolved()), Some(("xvalue".to_string(), true)));
        assert_eq!(fields.string("b"), None);
        assert_eq!(
            render_diagnostics(&reader.into_problems()),
            "error: the environment variable UNSET is not set\n --> x.yaml:2:5\n  |\n2 | b: \"${env:UNSET}\"\n  |     ^^^^^^^^^^^^ set UNSET, or read the secret from a file with ${file:/path}\n"
        );
    }
}
