//! Errors of the KQL engine. They are data: a message written the way Kusto writes it, the span it is about,
//! and an optional hint. Rendering them for a terminal is the job of `crate::diagnostics`.

use super::span::Span;

/// What phase found the problem; Kusto words its messages differently for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not KQL (a token or the grammar).
    Syntax,
    /// The query parses but refers to something that does not exist or has the wrong type.
    Semantic,
    /// Valid KQL that the local engine does not implement.
    Unsupported,
    /// A name the local engine does not know — a table without a schema, a function it does not have — that
    /// Kusto may well know (a newer table, a function saved in the tenant). Unlike `Semantic`, not a sure sign
    /// that Kusto would refuse the query.
    Unknown,
    /// Evaluation failed (I/O on a table file, a cancelled query, a limit).
    Runtime,
}

/// One problem in a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KqlError {
    pub kind: ErrorKind,
    pub message: String,
    pub span: Span,
    /// A suggestion shown under the caret, e.g. "did you mean 'Timestamp'?".
    pub hint: Option<String>,
}

impl KqlError {
    pub fn syntax(span: Span, message: impl Into<String>) -> Self {
        KqlError { kind: ErrorKind::Syntax, message: message.into(), span, hint: None }
    }

    pub fn semantic(span: Span, message: impl Into<String>) -> Self {
        KqlError { kind: ErrorKind::Semantic, message: message.into(), span, hint: None }
    }

    pub fn unsupported(span: Span, message: impl Into<String>) -> Self {
        KqlError { kind: ErrorKind::Unsupported, message: message.into(), span, hint: None }
    }

    pub fn unknown(span: Span, message: impl Into<String>) -> Self {
        KqlError { kind: ErrorKind::Unknown, message: message.into(), span, hint: None }
    }

    /// Whether Kusto itself would refuse the query for this, for certain: bad syntax, an unknown column of a
    /// table whose schema is known, a type error. What is beyond the local engine (an operator or function it
    /// does not implement, a name it does not know, a limit of its own) is not: Graph may run the query.
    pub fn is_certain(&self) -> bool {
        matches!(self.kind, ErrorKind::Syntax | ErrorKind::Semantic)
    }

    pub fn runtime(message: impl Into<String>) -> Self {
        KqlError { kind: ErrorKind::Runtime, message: message.into(), span: Span::default(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for KqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for KqlError {}

/// Every problem found in a query, in source order. Parsing and checking collect as many as they can.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KqlErrors(pub Vec<KqlError>);

impl KqlErrors {
    pub fn first(&self) -> Option<&KqlError> {
        self.0.first()
    }
}

impl From<KqlError> for KqlErrors {
    fn from(error: KqlError) -> Self {
        KqlErrors(vec![error])
    }
}

impl std::fmt::Display for KqlErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KqlErrors {}

/// The closest candidate to `name`, for "did you mean" hints: case-insensitive equality first, then the
/// smallest edit distance within a third of the name's length.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance =
            if candidate.to_lowercase() == lower { 0 } else { edit_distance(&lower, &candidate.to_lowercase()) };
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    let limit = (name.chars().count() / 3).max(1);
    best.filter(|(distance, _)| *distance <= limit).map(|(_, candidate)| candidate)
}

/// The candidate `name` is most likely a typo of, by a tighter rule than `closest`'s "did you mean": the same
/// name in other letter case, one letter added, dropped, changed or two swapped, or a plural `s` more or less
/// (`RegistryKeys` for `RegistryKey`, `tolowr` for `tolower`). A name further from every candidate may be one
/// the service has and the documentation lags (`EpssScore` beside `CvssScore`): not a certain error.
pub fn likely_typo<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates.into_iter().find(|candidate| {
        let other = candidate.to_lowercase();
        other == lower
            || edit_distance(&lower, &other) <= 1
            || swapped_once(&lower, &other)
            || lower.strip_suffix('s') == Some(other.as_str())
            || other.strip_suffix('s') == Some(lower.as_str())
    })
}

/// Whether `a` is `b` with two neighbouring characters swapped.
fn swapped_once(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() != b.len() {
        return false;
    }
    let differ: Vec<usize> = (0..a.len()).filter(|i| a[*i] != b[*i]).collect();
    matches!(differ.as_slice(), [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i])
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn closest_prefers_case_insensitive_match_then_small_edits() {
        assert_eq!(closest("timestamp", ["Timestamp", "TimeGenerated"]), Some("Timestamp"));
        assert_eq!(closest("TimeGenerated", ["Timestamp", "ActionType"]), None);
        assert_eq!(closest("ActionTyp", ["ActionType", "Application"]), Some("ActionType"));
        assert_eq!(closest("x", ["ActionType"]), None);
    }
}
