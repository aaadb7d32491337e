//! `isolation_reason`: for each hit, the latest isolation of its device strictly before the hit's `at` — who
//! isolated it, when, why and how. Answered from the archive its recorder keeps (so an isolation older than the
//! 30 days of advanced hunting still explains a release); the devices the archive cannot explain are looked up
//! with one hunting query for all of them — the recorder's own query, narrowed to those devices — and what it
//! finds goes into the archive with the run's commit.

use std::collections::HashMap;

use chrono::TimeDelta;

use super::{Added, EnrichContext, kql_string, lookback_window, query};
use crate::kql::eval::{ExecOptions, execute};
use crate::kql::plan::{Column, Row};
use crate::kql::table::Table;
use crate::kql::types::Type;
use crate::kql::value::Value;
use crate::playbook::enrich::{ISOLATION_COLUMNS, ISOLATION_DEVICE, IsolationReason};
use crate::route::hit_keys;
use crate::store::{ArchiveBatch, ArchivedRow, row_time};

/// One isolation: when (ticks), and the values of the added columns after the time.
#[derive(Clone, Debug)]
struct Isolation {
    at: i64,
    details: [Value; 3],
}

/// Isolations by tenant (when both sides have one) and lower-case device name.
type Known = HashMap<(Option<String>, String), Vec<Isolation>>;

pub(super) fn run(context: &EnrichContext, reason: &IsolationReason, hits: &Table) -> Result<Added, String> {
    let columns: Vec<Column> =
        reason.names.iter().zip(ISOLATION_COLUMNS).map(|(name, (_, _, ty))| Column::new(name, ty)).collect();
    let device =
        hits.column_index(&reason.device).ok_or_else(|| format!("the hits have no column {}", reason.device))?;
    let at = hits.column_index(&reason.at).ok_or_else(|| format!("the hits have no column {}", reason.at))?;
    let tenant_of = |row: &Row| context.per_tenant.then(|| row.first().map(|v| v.to_text().to_string())).flatten();
    let key_of = |row: &Row| -> Option<(Option<String>, String, i64)> {
        let name = row.get(device)?.to_text().to_lowercase();
        let Some(Value::DateTime(when)) = row.get(at) else { return None };
        (!name.is_empty()).then(|| (tenant_of(row), name, *when))
    };
    let wanted: Vec<(Option<String>, String, i64)> = hits.rows.iter().filter_map(key_of).collect();
    let mut known = Known::new();
    if !wanted.is_empty() {
        let devices: Vec<&str> = unique(wanted.iter().map(|(_, name, _)| name.as_str()));
        from_archive(context, reason, &devices, &mut known)?;
    }
    // The hits the archive cannot explain, by tenant: one query per tenant for all their devices.
    let mut missing: std::collections::BTreeMap<Option<String>, Vec<String>> = Default::default();
    for (tenant, name, when) in &wanted {
        if latest_before(&known, tenant, name, *when).is_none() {
            let devices = missing.entry(tenant.clone()).or_default();
            if !devices.contains(name) {
                devices.push(name.clone());
            }
        }
    }
    let mut archives = Vec::new();
    if let Some(recorder) = &reason.recorder {
        for (tenant, devices) in missing {
            let text = format!(
                "{}\n| where {ISOLATION_DEVICE} in~ ({})",
                recorder.query.trim_end().trim_end_matches(';'),
                devices.iter().map(|d| kql_string(d)).collect::<Vec<_>>().join(", ")
            );
            let tenant_name = tenant.as_deref().or(context.playbook.tenants.first().map(String::as_str));
            let response = query(context, &text, tenant_name, lookback_window(context.window, TimeDelta::days(30)))?;
            let mut found = response.table;
            if context.per_tenant {
                found.columns.insert(0, Column::new("Tenant", Type::String));
                for row in &mut found.rows {
                    row.insert(0, Value::string(tenant.as_deref().unwrap_or_default()));
                }
            }
            add_rows(&found, &mut known, context.per_tenant)?;
            archives.push(archive_batch(context, reason, recorder, &found, response.time_shift));
        }
    }
    let values = hits
        .rows
        .iter()
        .map(|row| {
            let found = key_of(row).and_then(|(tenant, name, when)| latest_before(&known, &tenant, &name, when));
            match found {
                Some(isolation) => {
                    let mut values = vec![Value::DateTime(isolation.at)];
                    values.extend(isolation.details.iter().cloned());
                    values
                }
                None => columns.iter().map(|c| Value::null_of(c.ty)).collect(),
            }
        })
        .collect();
    Ok(Added { columns, values, archives, profiles: Vec::new(), partial: None })
}

fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = names.collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The latest isolation of a device strictly before `when`.
fn latest_before<'a>(known: &'a Known, tenant: &Option<String>, name: &str, when: i64) -> Option<&'a Isolation> {
    let exact = known.get(&(tenant.clone(), name.to_string()));
    let any = known.get(&(None, name.to_string()));
    exact.into_iter().chain(any).flatten().filter(|isolation| isolation.at < when).max_by_key(|isolation| isolation.at)
}

/// The archive's isolations of `devices`.
fn from_archive(
    context: &EnrichContext,
    reason: &IsolationReason,
    devices: &[&str],
    known: &mut Known,
) -> Result<(), String> {
    let catalog = context.store.archive_catalog().map_err(|e| e.to_string())?;
    let Some(table) = crate::kql::table::Catalog::table(&catalog, &reason.from).map_err(|e| e.message)? else {
        // Nothing archived yet.
        return Ok(());
    };
    let tenant = table.columns().iter().any(|c| c.name == "Tenant") && context.per_tenant;
    let list = devices.iter().map(|d| kql_string(d)).collect::<Vec<_>>().join(", ");
    let mut projected: Vec<&str> = vec![ISOLATION_DEVICE];
    projected.extend(ISOLATION_COLUMNS.iter().map(|(_, from, _)| *from));
    if tenant {
        projected.push("Tenant");
    }
    let text = format!(
        "['{}'] | where {ISOLATION_DEVICE} in~ ({list}) | project {}",
        reason.from,
        projected.iter().map(|c| format!("['{c}']")).collect::<Vec<_>>().join(", ")
    );
    let plan = crate::kql::compile(&text, &catalog)
        .map_err(|errors| format!("the archive {} cannot be read as isolations: {errors}", reason.from))?;
    let result = execute(plan, &ExecOptions::new(crate::source::to_ticks(context.now))).map_err(|e| e.message)?;
    add_rows(&result.table, known, tenant)
}

/// Isolations from rows with the archive's columns.
fn add_rows(table: &Table, known: &mut Known, tenant: bool) -> Result<(), String> {
    let index = |name: &str| table.column_index(name).ok_or_else(|| format!("the isolations have no column {name}"));
    let device = index(ISOLATION_DEVICE)?;
    let time = index(ISOLATION_COLUMNS[0].1)?;
    let details = [index(ISOLATION_COLUMNS[1].1)?, index(ISOLATION_COLUMNS[2].1)?, index(ISOLATION_COLUMNS[3].1)?];
    let tenant = if tenant { table.column_index("Tenant") } else { None };
    for row in &table.rows {
        let Some(Value::DateTime(at)) = row.get(time) else { continue };
        let name = row.get(device).map(|v| v.to_text().to_lowercase()).unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        let text = |i: usize| Value::string(row.get(i).map(|v| v.to_text().to_string()).unwrap_or_default());
        let tenant = tenant.and_then(|i| row.get(i)).map(|v| v.to_text().to_string());
        known
            .entry((tenant, name))
            .or_default()
            .push(Isolation { at: *at, details: [text(details[0]), text(details[1]), text(details[2])] });
    }
    Ok(())
}

/// The isolations a lookup found, for the archive, keyed as the recorder keys its hits.
fn archive_batch(
    context: &EnrichContext,
    reason: &IsolationReason,
    recorder: &crate::playbook::enrich::Recorder,
    found: &Table,
    shift: i64,
) -> ArchiveBatch {
    let key_columns: Option<Vec<usize>> = recorder.key.as_ref().map(|names| {
        let tenant = context.per_tenant.then_some(0);
        tenant.into_iter().chain(names.iter().filter_map(|name| found.column_index(name))).collect()
    });
    let keys = hit_keys(&crate::runner::unshifted(found, shift), key_columns.as_deref());
    let rows = found
        .rows
        .iter()
        .zip(keys)
        .map(|(row, key)| ArchivedRow { key, at: row_time(&found.columns, row, context.now), values: row.clone() })
        .collect();
    ArchiveBatch { archive: reason.from.clone(), columns: found.columns.clone(), rows, prune_before: None }
}
