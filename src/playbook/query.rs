//! A playbook's KQL: its `query`, checked against the tables of a catalog, and the things written over the
//! query's output columns — `key`, `per`, test `rows` (column names) and `when` (a KQL condition). Errors land
//! at the exact character of the YAML file, inside a block scalar or a quoted string.

use marked_yaml::types::MarkedScalarNode;

use super::QuerySource;
use crate::config::yaml::{Reader, TextLayout, Value, did_you_mean};
use crate::diagnostics::Diagnostic;
use crate::kql::error::KqlError;
use crate::kql::plan::Column;
use crate::kql::table::Catalog;
use crate::kql::types::Type;

/// `when:` a KQL condition over a hit's columns, and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The expression, such as `OsFamily == "Windows" and isnotempty(UserId)`.
    pub text: String,
    /// Where the text sits in the playbook file.
    pub source: QuerySource,
}

/// Where a scalar's text sits in its file; for text YAML folded or unescaped, where it starts.
pub(super) fn source_of(reader: &Reader, scalar: &MarkedScalarNode) -> QuerySource {
    let layout = reader.layout(scalar).unwrap_or_else(|| {
        let start = reader.scalar_place(scalar, 0, 1);
        TextLayout { first_line: start.line, first_column: start.column, indent: start.column.saturating_sub(1) }
    });
    QuerySource { first_line: layout.first_line, first_column: layout.first_column, indent: layout.indent }
}

/// The query's text, where it is, and its output columns (`None` when it does not compile: what depends on
/// the columns is then not checked, since every such problem would only repeat the query's).
pub(super) struct Query {
    pub text: String,
    pub source: QuerySource,
    pub columns: Option<Vec<Column>>,
    /// Why the local engine cannot run it, when Graph may (`Playbook::local`).
    pub not_local: Option<String>,
    /// Whether its rows are aggregates rather than events (`kql::shape`).
    pub aggregate: bool,
}

/// The name a query reads the start of its run's window by (a `datetime`).
pub const WINDOW_START: &str = "huntbook_window_start";
/// The name a query reads the end of its run's window by (a `datetime`).
pub const WINDOW_END: &str = "huntbook_window_end";

/// The `let` statements that give a query its window's bounds, on one line.
pub fn window_declarations(start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>) -> String {
    let time = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!("let {WINDOW_START} = datetime({}); let {WINDOW_END} = datetime({}); ", time(start), time(end))
}

/// The query text a run sends: with its window's bounds declared before it (on its first line, so that line
/// numbers in Graph's messages stay the playbook's) when it reads them; else as written.
pub fn with_window(query: &str, start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>) -> String {
    if query.contains(WINDOW_START) || query.contains(WINDOW_END) {
        format!("{}{query}", window_declarations(start, end))
    } else {
        query.to_string()
    }
}

/// Where a playbook's query runs, which decides what of the local engine's problems stops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryGate {
    /// On local files: the local engine must run it; every problem is an error.
    Local,
    /// In Graph: only what Kusto would refuse for certain is an error (`KqlError::is_certain`). What is beyond
    /// the local engine — a table or function it does not know, an operator it lacks — is a warning, and the
    /// playbook runs in Graph.
    Graph,
}

pub(super) fn read_query(value: Value, catalog: &dyn Catalog, gate: QueryGate) -> Option<Query> {
    let text = value.non_empty_string()?;
    let scalar = value.scalar()?;
    let reader = value.reader();
    let mut not_local = None;
    let aggregate;
    // The window's bounds are declared (their values do not matter to the check).
    let declarations = window_declarations(chrono::DateTime::UNIX_EPOCH, chrono::DateTime::UNIX_EPOCH);
    let columns = match crate::kql::compile_declaring(&text, catalog, &declarations) {
        Ok(plan) => {
            aggregate = crate::kql::shape::node_is_aggregate(&plan.root);
            for difference in &plan.differences {
                let diagnostic = reader.kql_diagnostic(scalar, difference);
                reader.warn(Diagnostic {
                    message: format!("the local answer differs from Graph's: {}", difference.message),
                    ..diagnostic
                });
            }
            // Columns that only the data can tell (`evaluate bag_unpack`, `pivot`) leave the schema open:
            // what names a column is then checked when the query runs, not here.
            (!plan.is_open()).then(|| plan.root.schema().to_vec())
        }
        Err(errors) => {
            aggregate = crate::kql::shape::is_aggregate(&text, catalog);
            for error in &errors.0 {
                let diagnostic = reader.kql_diagnostic(scalar, error);
                if gate == QueryGate::Graph && !error.is_certain() {
                    not_local.get_or_insert_with(|| error.message.clone());
                    reader.warn(Diagnostic {
                        message: format!("runs in Graph; cannot run locally: {}", error.message),
                        ..diagnostic
                    });
                } else if !error.is_certain() && diagnostic.hint.is_none() {
                    reader.report(diagnostic.with_hint("with `source: graph` the playbook would run in Graph"));
                } else {
                    reader.report(diagnostic);
                }
            }
            None
        }
    };
    Some(Query { source: source_of(reader, scalar), text, columns, not_local, aggregate })
}

/// The `render` that ends the query, when its e-mails can draw it. What huntbook cannot draw, or a result that
/// cannot make the chart asked for, is a warning: the query runs all the same, and its e-mails go without it.
pub(super) fn read_render(value: Value, query: &Query) -> Option<crate::kql::visualization::Visualization> {
    use crate::render::chart::{ChartError, DRAWN, check};
    let visualization = crate::kql::visualization::visualization(&query.text)?;
    let problem = if DRAWN.contains(&visualization.kind.as_str()) {
        query.columns.as_deref().and_then(|columns| check(&visualization, columns).err())
    } else if visualization.kind == "table" {
        return None;
    } else {
        Some(ChartError::NotDrawn { kind: visualization.kind.clone() })
    };
    let Some(problem) = problem else { return Some(visualization) };
    if let Some(scalar) = value.scalar() {
        let reader = value.reader();
        let diagnostic = reader.kql_diagnostic(scalar, &KqlError::semantic(visualization.span, problem.to_string()));
        reader.warn(Diagnostic { message: format!("e-mails go without a chart: {problem}"), ..diagnostic });
    }
    None
}

/// The archives among the tables a query reads.
pub(super) fn archives_read(text: &str, catalog: &dyn Catalog, archives: &[String]) -> Vec<String> {
    if archives.is_empty() {
        return Vec::new();
    }
    let empty = crate::kql::table::MemoryCatalog::new();
    let recorder = crate::kql::table::Recording::new(catalog, &empty);
    let _ = crate::kql::compile(text, &recorder);
    recorder.tables().into_iter().filter(|table| archives.contains(table)).collect()
}

/// With a Graph source, a query reading one of huntbook's archives is refused: Graph has no such table. Returns
/// whether the query is free of them.
pub(super) fn refuse_archives_in_graph(value: Value, read: &[String], gate: QueryGate) -> bool {
    match read.first() {
        Some(archive) if gate == QueryGate::Graph => {
            value.report_hint(
                format!("this query reads `{archive}`, an archive of huntbook's: Graph has no such table"),
                "read an archive with an enricher (isolation_reason), or run the playbook with `source: local`",
            );
            false
        }
        _ => true,
    }
}

/// A `when:` condition: it parses, names only the output's columns, and is true or false.
pub(super) fn read_condition(value: Value, columns: Option<&[Column]>, catalog: &dyn Catalog) -> Option<Condition> {
    let text = value.non_empty_string()?;
    let scalar = value.scalar()?;
    let reader = value.reader();
    let report = |errors: &[KqlError]| reader.extend(errors.iter().map(|error| reader.kql_diagnostic(scalar, error)));
    let expression = match crate::kql::parser::parse_expression(&text) {
        Ok(expression) => expression,
        Err(errors) => {
            report(&errors.0);
            return None;
        }
    };
    // Columns unknown here (a query beyond the local engine, or whose columns come from the data) leave the
    // condition to be checked where it runs.
    let Some(columns) = columns else { return Some(Condition { text, source: source_of(reader, scalar) }) };
    // A name the condition cannot resolve: without a near miss to suggest, the columns there are.
    let listed = |mut error: KqlError| {
        if error.hint.is_none() && error.message.starts_with("Failed to resolve scalar expression named") {
            let names: Vec<&str> = columns.iter().map(|column| column.name.as_str()).take(12).collect();
            let more = if columns.len() > names.len() { ", ..." } else { "" };
            error.hint = Some(format!("the hits' columns are {}{more}", names.join(", ")));
        }
        error
    };
    match crate::kql::check::check_scalar(&expression, columns, catalog)
        .map_err(|errors| crate::kql::error::KqlErrors(errors.0.into_iter().map(listed).collect()))
    {
        Ok(typed) if matches!(typed.ty, Type::Bool | Type::Dynamic) => {}
        Ok(typed) => {
            report(&[KqlError::semantic(
                expression.span,
                format!("a `when` condition must be of type bool, not {}", typed.ty.name()),
            )
            .with_hint("compare it with something, such as `Column == \"value\"`")]);
            return None;
        }
        Err(errors) => {
            report(&errors.0);
            return None;
        }
    }
    Some(Condition { text, source: source_of(reader, scalar) })
}

/// The problem with a column name that is not among the output columns: a message and a hint.
pub(super) fn unknown_column(name: &str, columns: &[Column]) -> Option<(String, String)> {
    if columns.iter().any(|column| column.name == name) {
        return None;
    }
    let names = columns.iter().map(|column| column.name.as_str());
    let hint = did_you_mean(name, names.clone()).unwrap_or_else(|| {
        let listed: Vec<&str> = names.take(12).collect();
        let more = if columns.len() > listed.len() { ", ..." } else { "" };
        format!("the query's columns are {}{more}", listed.join(", "))
    });
    Some((format!("the query has no column `{name}`"), hint))
}

/// A list of output columns (`key`, `per`): each must exist; at least one.
pub(super) fn read_columns(value: Value, columns: Option<&[Column]>) -> Option<Vec<String>> {
    let names = value.strings()?;
    if names.is_empty() {
        value.report("expected at least one column");
        return None;
    }
    let Some(columns) = columns else { return Some(names.into_iter().map(|(name, _)| name).collect()) };
    let mut valid = true;
    for (name, item) in &names {
        if let Some((message, hint)) = unknown_column(name, columns) {
            item.report_hint(message, hint);
            valid = false;
        }
    }
    valid.then(|| names.into_iter().map(|(name, _)| name).collect())
}
