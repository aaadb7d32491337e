//! The local KQL engine: runs advanced-hunting queries over local files with the answers Defender XDR would
//! give. It is pure — it knows nothing of playbooks, HTTP or SQLite — and does I/O only in `load`, to read
//! table files. Phases, one module each: `lexer` → `parser` (AST, `ast`) → `check` (names and types
//! resolved, a typed `plan`) → `eval` (parallel streaming execution). Errors are data (`error`); turning
//! them into text for a terminal is `crate::diagnostics`' job.

pub mod aggregate;
pub mod ast;
pub mod check;
pub mod datetime;
pub mod error;
pub mod eval;
pub mod format;
pub mod functions;
pub mod kusto;
pub mod lexer;
pub mod load;
pub mod parser;
pub mod plan;
pub mod re2;
pub mod reference;
pub mod schema;
pub mod shape;
pub mod span;
pub mod table;
pub mod types;
pub mod unicode;
pub mod value;
pub mod visualization;

use error::{KqlError, KqlErrors};
use eval::{ExecOptions, QueryResult};
use plan::Plan;
use table::Catalog;

/// Why a query produced no rows.
#[derive(Debug)]
pub enum QueryError {
    /// The text is not a valid query for these tables: every problem found.
    Invalid(KqlErrors),
    /// The query is valid but running it failed (a table file could not be read, it was cancelled).
    Failed(KqlError),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Invalid(errors) => errors.fmt(f),
            QueryError::Failed(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for QueryError {}

/// Parses and checks a query: the plan, or every problem in it.
pub fn compile(text: &str, catalog: &dyn Catalog) -> Result<Plan, KqlErrors> {
    let query = parser::parse_query(text)?;
    check::check_query(&query, catalog)
}

/// `compile`, with `declarations` — KQL `let` statements such as `let huntbook_window_end = datetime(…);`, values
/// a caller provides — in force before the query. Errors point into `text` as they would without them.
pub fn compile_declaring(text: &str, catalog: &dyn Catalog, declarations: &str) -> Result<Plan, KqlErrors> {
    let mut query = parser::parse_query(text)?;
    let declared = parser::parse_query(&format!("{declarations}print 0"))?;
    let mut statements = declared.statements;
    statements.append(&mut query.statements);
    query.statements = statements;
    check::check_query(&query, catalog)
}

/// Parses and checks a query to run it with `options`: what only the data can tell — the columns of
/// `evaluate bag_unpack` and `pivot` — is found by running their input now (with the same options), so the
/// plan's schema is the one the query will have.
pub fn compile_to_run(text: &str, catalog: &dyn Catalog, options: &ExecOptions) -> Result<Plan, KqlErrors> {
    let query = parser::parse_query(text)?;
    check::check_query_to_run(&query, catalog, options)
}

/// Compiles and runs a query.
pub fn run(text: &str, catalog: &dyn Catalog, options: &ExecOptions) -> Result<QueryResult, QueryError> {
    let plan = compile_to_run(text, catalog, options).map_err(QueryError::Invalid)?;
    eval::execute(plan, options).map_err(QueryError::Failed)
}

#[cfg(test)]
mod tests;
