//! The embedded default: queries run with the local KQL engine over a catalog of files. With `rebase_time`
//! the data is made to look fresh — its newest row one hour before now: every datetime value is moved forward by
//! that much as it is read (`kql::table::Shifted`), and the query runs at the real now and window. The answers
//! are those of data written that much later — `bin(Timestamp, 1d)` is a midnight, `format_datetime` agrees with
//! the column beside it — without touching a row of the files. (Datetimes written as text inside dynamic values,
//! such as `RawEventData.CreationTime`, keep their original value; the archives, which hold the times their runs
//! saw, are not moved.)

use std::sync::{Arc, OnceLock};

use chrono::TimeDelta;

use super::{QueryRequest, QueryResponse, Source, SourceError, to_ticks};
use crate::kql::eval::{ExecOptions, execute};
use crate::kql::table::Catalog;
use crate::kql::value::Value;
use crate::kql::{compile, compile_to_run, error::KqlError};

pub struct LocalSource {
    catalog: Arc<dyn Catalog>,
    rebase_time: bool,
    /// Tables whose times are not moved: the archives.
    kept: Vec<String>,
    /// The newest time in the data, found once (files do not change under a run).
    newest: OnceLock<Result<Option<i64>, KqlError>>,
}

impl LocalSource {
    pub fn new(catalog: Arc<dyn Catalog>, rebase_time: bool) -> Self {
        LocalSource { catalog, rebase_time, kept: Vec::new(), newest: OnceLock::new() }
    }

    /// The same, reading the tables `names` as they are when it rebases (the archives).
    pub fn keeping(self, names: Vec<String>) -> Self {
        LocalSource { kept: names, ..self }
    }

    /// The catalog a query at `now` reads: the data moved by the rebase shift.
    fn catalog_at(&self, shift: i64) -> Arc<dyn Catalog> {
        if shift == 0 {
            return Arc::clone(&self.catalog);
        }
        Arc::new(crate::kql::table::Shifted {
            inner: Arc::clone(&self.catalog),
            ticks: shift,
            except: self.kept.clone(),
        })
    }

    pub fn catalog(&self) -> &dyn Catalog {
        self.catalog.as_ref()
    }

    /// The newest value of any table's time column.
    fn newest_time(&self) -> Result<Option<i64>, KqlError> {
        self.newest
            .get_or_init(|| {
                let mut newest: Option<i64> = None;
                for name in self.catalog.table_names().into_iter().filter(|name| !self.kept.contains(name)) {
                    let Some(table) = self.catalog.table(&name)? else { continue };
                    let Some(time) = table.time_column() else { continue };
                    let column = &table.columns()[time].name;
                    let query = format!(
                        "['{}'] | summarize max(['{}'])",
                        name.replace('\'', "\\'"),
                        column.replace('\'', "\\'")
                    );
                    let plan = compile(&query, self.catalog.as_ref()).map_err(|e| KqlError::runtime(e.to_string()))?;
                    let result = execute(plan, &ExecOptions::new(0))?;
                    if let Some(Value::DateTime(ticks)) = result.table.rows.first().and_then(|row| row.first()) {
                        newest = Some(newest.map_or(*ticks, |n| n.max(*ticks)));
                    }
                }
                Ok(newest)
            })
            .clone()
    }

    /// How far the data is moved forward: so that its newest row is one hour before `now` (ticks; 0 without
    /// `rebase_time`).
    pub fn shift(&self, now: i64) -> Result<i64, KqlError> {
        if !self.rebase_time {
            return Ok(0);
        }
        let hour = TimeDelta::hours(1).num_seconds() * crate::kql::lexer::TICKS_PER_SECOND;
        Ok(self.newest_time()?.map_or(0, |newest| now - hour - newest))
    }
}

impl Source for LocalSource {
    /// The files API over the data's `FileProfile` table, answering as `huntbook emulate` does.
    fn file_profile(&self, _tenant: Option<&str>, hash: &str) -> Result<Option<super::FileInfo>, SourceError> {
        let column = if hash.len() == 40 { "SHA1" } else { "SHA256" };
        let query = format!("FileProfile | where {column} =~ {} | take 1", crate::enrich::kql_string(hash));
        let plan = compile(&query, self.catalog.as_ref()).map_err(SourceError::Invalid)?;
        let result = execute(plan, &ExecOptions::new(0)).map_err(SourceError::Failed)?;
        Ok(result.table.rows.first().map(|row| {
            let mut info = super::FileInfo::new();
            for (column, value) in result.table.columns.iter().zip(row) {
                if crate::playbook::enrich::PROFILE_COLUMNS.contains(&column.name.as_str()) {
                    info.insert(column.name.clone(), value.to_json());
                }
            }
            info.insert("ProfileAvailability".into(), serde_json::Value::String("Available".into()));
            info
        }))
    }

    fn run_query(&self, request: &QueryRequest) -> Result<QueryResponse, SourceError> {
        let now = to_ticks(request.now);
        let shift = self.shift(now).map_err(SourceError::Failed)?;
        let options = ExecOptions {
            window: Some((to_ticks(request.window.start), to_ticks(request.window.end))),
            ..ExecOptions::new(now)
        };
        let catalog = self.catalog_at(shift);
        let plan = compile_to_run(request.query, catalog.as_ref(), &options).map_err(SourceError::Invalid)?;
        let result = execute(plan, &options).map_err(SourceError::Failed)?;
        Ok(QueryResponse {
            table: result.table,
            truncated: false,
            skipped_rows: result.stats.bad_rows,
            first_skipped: result.stats.first_bad_row,
            repaired_rows: result.stats.repaired_rows,
            first_repaired: result.stats.first_repaired_row,
            time_shift: shift,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kql::plan::Column;
    use crate::kql::table::MemoryCatalog;
    use crate::kql::types::Type;
    use crate::schedule::Window;

    fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(text).expect("valid").with_timezone(&chrono::Utc)
    }

    fn catalog() -> Arc<dyn Catalog> {
        let time = |s: &str| Value::DateTime(to_ticks(at(s)));
        let columns = vec![Column::new("Timestamp", Type::DateTime), Column::new("ActionType", Type::String)];
        let rows = vec![
            vec![time("2026-01-10T10:00:00Z"), Value::string("old")],
            vec![time("2026-01-14T10:00:00Z"), Value::string("newest")],
        ];
        Arc::new(MemoryCatalog::new().with_table("Events", columns, rows))
    }

    fn run(source: &LocalSource, query: &str, window: (&str, &str), now: &str) -> Vec<String> {
        let request = QueryRequest {
            query,
            window: Window { start: at(window.0), end: at(window.1) },
            now: at(now),
            tenant: None,
        };
        let response = source.run_query(&request).expect("runs");
        response
            .table
            .rows
            .iter()
            .map(|row| row.iter().map(|v| v.to_text().to_string()).collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn the_window_applies_to_the_time_column() {
        let source = LocalSource::new(catalog(), false);
        assert_eq!(
            run(
                &source,
                "Events | project ActionType",
                ("2026-01-13T00:00:00Z", "2026-01-15T00:00:00Z"),
                "2026-01-15T00:00:00Z"
            ),
            vec!["newest"]
        );
    }

    #[test]
    fn rebased_data_looks_fresh_in_windows_ago_and_results() {
        let source = LocalSource::new(catalog(), true);
        // The newest row is moved to 11:00 when now is 12:00; the older one four days before it.
        let rows = run(
            &source,
            "Events | where Timestamp > ago(2h) | project Timestamp, ActionType",
            ("2026-11-20T00:00:00Z", "2026-11-20T12:00:00Z"),
            "2026-11-20T12:00:00Z",
        );
        assert_eq!(rows, vec!["2026-11-20T11:00:00.0000000Z newest"]);
        let all = run(
            &source,
            "Events | project Timestamp",
            ("2026-11-01T00:00:00Z", "2026-11-20T12:00:00Z"),
            "2026-11-20T12:00:00Z",
        );
        assert_eq!(all, vec!["2026-11-16T11:00:00.0000000Z", "2026-11-20T11:00:00.0000000Z"]);
    }

    #[test]
    fn an_invalid_query_is_told_apart_from_a_failure() {
        let source = LocalSource::new(catalog(), false);
        let request = QueryRequest {
            query: "Events | where Nope == 1",
            window: Window { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-02T00:00:00Z") },
            now: at("2026-01-02T00:00:00Z"),
            tenant: None,
        };
        assert!(matches!(source.run_query(&request), Err(SourceError::Invalid(_))));
    }
}
