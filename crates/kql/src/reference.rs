//! What the engine supports, from its own registries (the parser's operators, the scalar functions, the
//! aggregations, the window functions, the plugins, the built-in table schemas), written as Markdown for the
//! user documentation. The documentation's generated sections are compared with this in huntbook's tests, so
//! that the page cannot claim what the engine does not do, nor miss what it does.

/// What a query may start with besides a table or a `let`'s name (the parser's sources).
const QUERY_STARTS: &[&str] = &["datatable", "find", "print", "range", "search", "union"];

/// A comma-separated list of names in backticks, sorted.
fn listed(names: impl Iterator<Item = &'static str>) -> String {
    let mut names: Vec<&str> = names.collect();
    names.sort_unstable();
    names.dedup();
    names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

/// The generated sections, by name: `operators`, `unsupported-operators`, `functions`, `aggregations`,
/// `window-functions`, `plugins`, `tables`.
pub fn sections() -> Vec<(&'static str, String)> {
    vec![
        ("operators", listed(crate::parser::operators::SUPPORTED.iter().copied())),
        ("query-starts", listed(QUERY_STARTS.iter().copied())),
        (
            "unsupported-operators",
            // `find` (and its `project-smart`) is a query start, not a pipe operator: the parser reads it there.
            listed(
                crate::parser::operators::UNSUPPORTED
                    .iter()
                    .copied()
                    .filter(|name| !name.ends_with('-') && !QUERY_STARTS.contains(name) && *name != "project-smart"),
            ),
        ),
        ("functions", listed(crate::functions::names())),
        ("aggregations", listed(crate::aggregate::names())),
        ("window-functions", listed(crate::check::window::WINDOW_FUNCTIONS.iter().copied())),
        ("plugins", listed(crate::check::plugins::PLUGINS.iter().copied())),
        ("tables", listed(crate::schema::names())),
    ]
}
