//! Enrichment: columns added to every hit after the query (DESIGN §5) — the isolation behind a release (from an
//! archive, the misses filled by one hunting query), the profile of a file (one hunting query per 1,000 hashes,
//! or the MDE files API, cached for 24 hours), and a generic lookup query joined on columns.
//!
//! An enrichment never changes which hits there are, only what they say. When one fails, its columns stay empty
//! and a note says why (`on_error: deliver`, the default), or the run fails (`on_error: fail`). What it learns
//! that outlives the run — isolations for the archive, file profiles for the cache — is returned for the run's
//! commit, so that a run that does not commit leaves nothing behind.

mod file_profile;
mod isolation;
mod lookup;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::Config;
use crate::kql::plan::{Column, Row};
use crate::kql::table::Table;
use crate::kql::value::Value;
use crate::playbook::{Enricher, OnError, Playbook};
use crate::schedule::Window;
use crate::source::{QueryRequest, QueryResponse, Source, SourceError};
use crate::store::{ArchiveBatch, CachedProfile, Store};

/// What the enrichers need from the run.
pub struct EnrichContext<'a> {
    pub config: &'a Config,
    pub source: &'a dyn Source,
    pub store: &'a Store,
    pub playbook: &'a Playbook,
    /// The run's start: what `now()` is, and when cached profiles expire.
    pub now: DateTime<Utc>,
    pub window: Window,
    /// Whether the hits start with a `Tenant` column (a playbook over several tenants).
    pub per_tenant: bool,
}

/// The hits with every enrichment's columns, and what the run's commit keeps.
#[derive(Debug, Default)]
pub struct Enriched {
    pub table: Table,
    /// One line per enrichment that failed, for the message and the run record.
    pub notes: Vec<String>,
    /// Rows the enrichers found for archives (isolations the archive did not hold).
    pub archives: Vec<ArchiveBatch>,
    pub profiles: Vec<CachedProfile>,
    /// The labels of the enrichments that failed, for the metrics.
    pub failed: Vec<&'static str>,
    /// The columns of the enrichments that failed (empty on every hit).
    pub failed_columns: Vec<String>,
}

/// What one enricher made: a value for each of its columns on each row, and what to keep.
struct Added {
    columns: Vec<Column>,
    /// One row of values per hit, in the order of `columns`.
    values: Vec<Row>,
    archives: Vec<ArchiveBatch>,
    profiles: Vec<CachedProfile>,
    /// A failure that left some values empty (the files API failing part of the way).
    partial: Option<String>,
}

/// Runs the playbook's enrichers over `hits`, in order. `Err` is the message of a failed enrichment whose
/// `on_error` is `fail`.
pub fn enrich(context: &EnrichContext, hits: Table) -> Result<Enriched, String> {
    let mut enriched = Enriched { table: hits, ..Enriched::default() };
    for enrichment in &context.playbook.enrich {
        let outcome = match &enrichment.enricher {
            Enricher::IsolationReason(reason) => isolation::run(context, reason, &enriched.table),
            Enricher::FileProfile(profile) => file_profile::run(context, profile, &enriched.table),
            Enricher::Lookup(lookup) => lookup::run(context, lookup, &enriched.table),
        };
        let label = enrichment.label();
        let (added, problem) = match outcome {
            Ok(mut added) => {
                let partial = added.partial.take();
                (Some(added), partial)
            }
            Err(problem) => (None, Some(problem)),
        };
        if let Some(problem) = &problem {
            tracing::warn!(enrichment = label, error = %problem, "enrichment failed");
            if enrichment.on_error == OnError::Fail {
                return Err(format!("{label} failed: {problem}"));
            }
            enriched.notes.push(format!("{label} unavailable: {problem}"));
            enriched.failed.push(label);
        }
        match added {
            Some(added) => {
                enriched.table.columns.extend(added.columns);
                for (row, values) in enriched.table.rows.iter_mut().zip(added.values) {
                    row.extend(values);
                }
                enriched.archives.extend(added.archives);
                enriched.profiles.extend(added.profiles);
            }
            None => {
                // Failed: its columns, empty (a lookup that never ran adds the columns it was checked to add).
                let columns = enrichment.columns().unwrap_or_default();
                enriched.failed_columns.extend(columns.iter().map(|c| c.name.clone()));
                for row in &mut enriched.table.rows {
                    row.extend(columns.iter().map(|c| Value::null_of(c.ty)));
                }
                enriched.table.columns.extend(columns);
            }
        }
    }
    Ok(enriched)
}

/// Whether `text` (a KQL condition) names `column`: the name as a whole identifier, or quoted as `['…']`.
pub fn mentions(text: &str, column: &str) -> bool {
    let identifier = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(column).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + column.len()..].chars().next();
        !before.is_some_and(identifier) && !after.is_some_and(identifier)
    })
}

/// The hits of each tenant (all of them under `None` without tenants), by row index.
fn by_tenant(context: &EnrichContext, hits: &Table) -> BTreeMap<Option<String>, Vec<usize>> {
    let mut groups: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for (index, row) in hits.rows.iter().enumerate() {
        let tenant = match (context.per_tenant, row.first()) {
            (true, Some(value)) => Some(value.to_text().to_string()),
            _ => context.playbook.tenants.first().cloned().or_else(|| context.source.tenants().into_iter().next()),
        };
        groups.entry(tenant).or_default().push(index);
    }
    groups
}

/// Runs an enrichment's query in a tenant over a window ending at the run's start.
fn query(context: &EnrichContext, text: &str, tenant: Option<&str>, window: Window) -> Result<QueryResponse, String> {
    let request = QueryRequest { query: text, window, now: context.now, tenant };
    context.source.run_query(&request).map_err(|error| {
        let message = match error {
            SourceError::Invalid(errors) => format!("its query is not valid: {errors}"),
            other => other.to_string(),
        };
        context.config.redactor().redact(&message)
    })
}

/// The `lookback` (at most the 30 days advanced hunting keeps) before the end of the run's window: the time an
/// enrichment's query reads. Counted from the window, not the clock, so that a rerun of a past window
/// (`--since/--until`) reads the same time as the run that first covered it.
fn lookback_window(window: Window, lookback: TimeDelta) -> Window {
    Window { start: window.end - lookback.min(TimeDelta::days(30)), end: window.end }
}

/// A KQL string literal of `text`.
pub fn kql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_mentions_a_column_by_its_whole_name() {
        assert!(mentions("Isolations >= 2", "Isolations"));
        assert!(mentions("['Isolations'] > 1 and x", "Isolations"));
        assert!(!mentions("IsolationsInWindow > 1", "Isolations"));
        assert!(!mentions("Signer2 == 'x'", "Signer"));
        assert!(mentions("isnotempty(Signer)", "Signer"));
    }

    #[test]
    fn a_kql_string_literal_holds_any_text() {
        let text = "pc\"1\\\n\t'x";
        let query = format!("print s = {}", kql_string(text));
        let plan = crate::kql::compile(&query, &crate::kql::table::MemoryCatalog::new()).expect("compiles");
        let result = crate::kql::eval::execute(plan, &crate::kql::eval::ExecOptions::new(0)).expect("runs");
        assert_eq!(result.table.rows[0][0].to_text().as_ref(), text);
    }
}
