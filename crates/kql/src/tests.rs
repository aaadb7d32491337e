//! One-line table tests of the engine: a query and the rows it must give, written `a, b; c, d` (cells
//! joined by ", ", rows by "; "; strings as they are, null as `null`, dynamics as JSON).

use super::eval::ExecOptions;
use super::plan::Column;
use super::table::MemoryCatalog;
use super::types::Type;
use super::value::{Dyn, Value};
use super::{QueryError, run};

const NOW: &str = "2026-11-20T12:00:00Z";

fn fixture() -> MemoryCatalog {
    let t = |s: &str| Value::DateTime(super::datetime::parse_datetime(s).expect("valid datetime"));
    let d = |s: &str| Value::Dynamic(Dyn::parse(s).expect("valid json"));
    let s = Value::string;
    let columns = vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("ActionType", Type::String),
        Column::new("Device", Type::String),
        Column::new("Actor", Type::String),
        Column::new("Size", Type::Long),
        Column::new("RawEventData", Type::Dynamic),
    ];
    let rows = vec![
        vec![
            t("2026-11-18T09:00:00Z"),
            s("IsolateDevice"),
            s("pc1"),
            s("alice"),
            Value::Long(10),
            d(r#"{"ActionScope":"Full","ActionComment":"malware","SettingsNewValue":false}"#),
        ],
        vec![
            t("2026-11-18T10:00:00Z"),
            s("IsolateDevice"),
            s("pc2"),
            s("bob"),
            Value::Long(20),
            d(r#"{"ActionScope":"Selective","ActionComment":"suspicious"}"#),
        ],
        vec![
            t("2026-11-19T09:00:00Z"),
            s("ReleaseFromIsolation"),
            s("pc1"),
            s("alice"),
            Value::Null,
            d(r#"{"ActionComment":"clean"}"#),
        ],
        vec![
            t("2026-11-19T11:00:00Z"),
            s("IsolateDevice"),
            s("pc1"),
            s("carol"),
            Value::Long(30),
            d(r#"{"ActionScope":"Selective","ActionComment":"again"}"#),
        ],
        vec![
            t("2026-11-20T08:00:00Z"),
            s("ReleaseFromIsolation"),
            s("pc1"),
            s("bob"),
            Value::Long(5),
            d(r#"{"ActionComment":"done","Items":[{"Name":"a"},{"Name":"b"}]}"#),
        ],
    ];
    MemoryCatalog::new().with_table("Events", columns, rows)
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Dynamic(Dyn::Null) => "null".to_string(),
        Value::Dynamic(d @ (Dyn::Array(_) | Dyn::Object(_))) => d.to_json_text(),
        other => other.to_text().to_string(),
    }
}

fn options() -> ExecOptions {
    let now = super::datetime::parse_datetime(NOW).expect("valid now");
    ExecOptions { parallelism: 1, ..ExecOptions::new(now) }
}

/// The rows of a query, in the test notation.
fn rows(query: &str) -> String {
    match run(query, &fixture(), &options()) {
        Ok(result) => result
            .table
            .rows
            .iter()
            .map(|row| row.iter().map(cell).collect::<Vec<_>>().join(", "))
            .collect::<Vec<_>>()
            .join("; "),
        Err(error) => panic!("{query}\n  failed: {error}"),
    }
}

/// The column names of a query's result.
fn columns(query: &str) -> String {
    let result = run(query, &fixture(), &options()).unwrap_or_else(|e| panic!("{query}\n  failed: {e}"));
    result.table.columns.iter().map(|c| format!("{}:{}", c.name, c.ty)).collect::<Vec<_>>().join(", ")
}

/// The first error of an invalid query.
fn error(query: &str) -> String {
    match run(query, &fixture(), &options()) {
        Ok(_) => panic!("{query}\n  unexpectedly succeeded"),
        Err(QueryError::Invalid(errors)) => errors.0[0].message.clone(),
        Err(QueryError::Failed(error)) => error.message,
    }
}

fn table(cases: &[(&str, &str)]) {
    table_in(&fixture(), cases);
}

/// The rows of each query over a catalog must be the expected ones; every failing case is reported.
fn table_in(catalog: &MemoryCatalog, cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (query, expected) in cases {
        let actual = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match run(query, catalog, &options()) {
            Ok(result) => result
                .table
                .rows
                .iter()
                .map(|row| row.iter().map(cell).collect::<Vec<_>>().join(", "))
                .collect::<Vec<_>>()
                .join("; "),
            Err(error) => format!("{query}\n  failed: {error}"),
        }))
        .unwrap_or_else(|e| e.downcast_ref::<String>().cloned().unwrap_or_else(|| "panic".into()));
        if actual != *expected {
            failures.push(format!("{query}\n    expected: {expected}\n    actual:   {actual}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

mod coverage;
mod errors;
mod functions;
mod language;
mod operators;
mod referee;
mod semantics;
