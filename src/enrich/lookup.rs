//! `lookup`: a second query on the same source, given the run's distinct values of the `on` columns as KQL
//! dynamic lists (`{{values}}`), its rows joined to the hits on those columns. A hit without a matching row keeps
//! the columns empty; of several matching rows the first is used (make the lookup's rows unique per key, with
//! `summarize arg_max(...)`, to choose).

use std::collections::HashMap;

use super::{Added, EnrichContext, lookback_window, query};
use crate::kql::plan::Column;
use crate::kql::table::Table;
use crate::kql::value::Value;
use crate::playbook::enrich::{Lookup, fill_lookup};

pub(super) fn run(context: &EnrichContext, lookup: &Lookup, hits: &Table) -> Result<Added, String> {
    let on: Vec<usize> = lookup
        .on
        .iter()
        .map(|name| hits.column_index(name).ok_or_else(|| format!("the hits have no column {name}")))
        .collect::<Result<_, _>>()?;
    let key = |row: &Vec<Value>, columns: &[usize]| -> String {
        let values: Vec<serde_json::Value> =
            columns.iter().map(|i| row.get(*i).map(Value::to_json).unwrap_or_default()).collect();
        serde_json::Value::Array(values).to_string()
    };
    let empty = |columns: &[Column]| Added {
        columns: columns.to_vec(),
        values: hits.rows.iter().map(|_| columns.iter().map(|c| Value::null_of(c.ty)).collect()).collect(),
        archives: Vec::new(),
        profiles: Vec::new(),
        partial: None,
    };
    if hits.rows.is_empty() {
        return Ok(empty(lookup.columns.as_deref().unwrap_or_default()));
    }
    let mut groups = super::by_tenant(context, hits);
    let mut values: Vec<Option<Vec<Value>>> = hits.rows.iter().map(|_| None).collect();
    let mut added: Option<Vec<Column>> = lookup.columns.clone();
    for (tenant, rows) in std::mem::take(&mut groups) {
        let distinct = |index: usize| {
            let mut seen: Vec<serde_json::Value> = Vec::new();
            for row in &rows {
                let value = hits.rows[*row].get(index).map(Value::to_json).unwrap_or_default();
                if !value.is_null() && !seen.contains(&value) {
                    seen.push(value);
                }
            }
            format!("dynamic({})", serde_json::Value::Array(seen))
        };
        let (text, _) = fill_lookup(&lookup.query, &lookup.on, &|column| {
            hits.column_index(column).map_or_else(|| "dynamic([])".to_string(), distinct)
        });
        let window = match lookup.lookback {
            Some(lookback) => lookback_window(context.window, lookback),
            None => context.window,
        };
        let answer = query(context, &text, tenant.as_deref(), window)?.table;
        let answer_on: Vec<usize> = lookup
            .on
            .iter()
            .map(|name| answer.column_index(name).ok_or_else(|| format!("the lookup answered without a {name} column")))
            .collect::<Result<_, _>>()?;
        let columns: Vec<Column> = match &added {
            Some(columns) => columns.clone(),
            None => {
                let chosen: Vec<Column> = if lookup.wanted.is_empty() {
                    answer.columns.iter().filter(|c| !lookup.on.contains(&c.name)).cloned().collect()
                } else {
                    lookup
                        .wanted
                        .iter()
                        .filter_map(|name| answer.columns.iter().find(|c| &c.name == name).cloned())
                        .collect()
                };
                added = Some(chosen.clone());
                chosen
            }
        };
        let picks: Vec<Option<usize>> = columns.iter().map(|c| answer.column_index(&c.name)).collect();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (index, row) in answer.rows.iter().enumerate() {
            by_key.entry(key(row, &answer_on)).or_insert(index);
        }
        for row in rows {
            if let Some(found) = by_key.get(&key(&hits.rows[row], &on)) {
                let source = &answer.rows[*found];
                values[row] = Some(
                    picks
                        .iter()
                        .zip(&columns)
                        .map(|(pick, column)| {
                            pick.and_then(|i| source.get(i).cloned()).unwrap_or(Value::null_of(column.ty))
                        })
                        .collect(),
                );
            }
        }
    }
    let columns = added.unwrap_or_default();
    Ok(Added {
        values: values
            .into_iter()
            .map(|row| row.unwrap_or_else(|| columns.iter().map(|c| Value::null_of(c.ty)).collect()))
            .collect(),
        columns,
        archives: Vec::new(),
        profiles: Vec::new(),
        partial: None,
    })
}
