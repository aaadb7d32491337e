//! Routing hits to receivers. Each hit has a key (its identity for dedup: the playbook's `key:` columns,
//! else `ReportId`, else a hash of the whole row). Each `notify:` entry keeps the hits its `when` holds for
//! (a KQL expression over the hit's columns) and groups them into messages: one per run, one per hit, or one
//! per distinct value of some columns. Pure: no I/O, no clock.

pub mod message;

use std::collections::HashMap;

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use crate::kql::eval::{EvalContext, eval};
use crate::kql::plan::{Row, TExpr};
use crate::kql::table::Table;
use crate::kql::value::GroupKey;

/// How a `notify` entry groups its hits into messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// One message with every hit of the run.
    Run,
    /// One message per hit.
    Hit,
    /// One message per distinct value of these columns (indexes into the hits' columns).
    Columns(Vec<usize>),
}

/// A `notify` entry, resolved against the query's output columns.
#[derive(Clone, Debug)]
pub struct Route {
    pub receivers: Vec<String>,
    pub grouping: Grouping,
    /// A typed condition over the hit's columns; hits for which it is not true go elsewhere.
    pub when: Option<TExpr>,
    pub subject: Option<String>,
    /// The card's `title:` template.
    pub title: Option<String>,
    /// The e-mail layout of this route's e-mails (`template:`), in place of the receiver's.
    pub template: Option<String>,
    /// How its e-mails lay out the hits (`layout:`).
    pub layout: crate::render::email::TableLayout,
    /// `columns:` resolved (indexes into the hits' columns).
    pub shown: Option<Vec<usize>>,
    pub links: crate::render::links::LinkColumns,
    pub suppress: Option<SuppressBy>,
    /// What its e-mails draw: the `chart:` query, or the `render` that ends the playbook's query.
    pub chart: Option<crate::render::chart::ChartRequest>,
}

/// `suppress:` resolved against the hits' columns.
#[derive(Clone, Debug)]
pub struct SuppressBy {
    pub duration: chrono::TimeDelta,
    /// The `by` columns' names (part of the suppression's identity) and indexes.
    pub names: Vec<String>,
    pub columns: Vec<usize>,
}

/// The identity of each hit: the key columns' values (or the whole row's, hashed) — what dedup remembers.
pub fn hit_keys(table: &Table, key_columns: Option<&[usize]>) -> Vec<String> {
    let report_id = table.column_index("ReportId");
    table
        .rows
        .iter()
        .map(|row| match (key_columns, report_id) {
            (Some(columns), _) => key_of(row, columns),
            (None, Some(index)) => key_of(row, &[index]),
            (None, None) => row_hash(row),
        })
        .collect()
}

fn key_of(row: &Row, columns: &[usize]) -> String {
    // The JSON form keeps types apart (1 and "1") and makes separators unambiguous.
    let values: Vec<serde_json::Value> =
        columns.iter().map(|i| row.get(*i).map(|v| v.to_json()).unwrap_or_default()).collect();
    if let [serde_json::Value::String(single)] = values.as_slice() {
        return single.clone();
    }
    serde_json::to_string(&values).unwrap_or_default()
}

fn row_hash(row: &Row) -> String {
    let values: Vec<serde_json::Value> = row.iter().map(|v| v.to_json()).collect();
    let digest = Sha256::digest(serde_json::to_string(&values).unwrap_or_default().as_bytes());
    format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The rows (indexes into `table.rows`) whose key has not been seen, each key once: `seen[i]` says whether
/// `keys[i]` was seen before this run.
pub fn new_hits(keys: &[String], seen: &[bool]) -> Vec<usize> {
    let mut taken: HashMap<&str, ()> = HashMap::new();
    (0..keys.len())
        .filter(|i| !seen.get(*i).copied().unwrap_or(false) && taken.insert(keys[*i].as_str(), ()).is_none())
        .collect()
}

/// The groups of rows (indexes into `rows`, of those in `candidates`) one route makes into messages, in
/// first-seen order. Empty when no candidate passes `when`.
pub fn group_rows(route: &Route, rows: &[Row], candidates: &[usize], context: &EvalContext) -> Vec<Vec<usize>> {
    let kept: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|i| route.when.as_ref().is_none_or(|condition| eval(condition, &rows[*i], context).is_true()))
        .collect();
    if kept.is_empty() {
        return Vec::new();
    }
    match &route.grouping {
        Grouping::Run => vec![kept],
        Grouping::Hit => kept.into_iter().map(|i| vec![i]).collect(),
        Grouping::Columns(columns) => {
            let mut groups: IndexMap<Vec<GroupKey>, Vec<usize>> = IndexMap::new();
            for index in kept {
                let key = columns
                    .iter()
                    .map(|c| rows[index].get(*c).map(|v| v.group_key()).unwrap_or(GroupKey::Null))
                    .collect();
                groups.entry(key).or_default().push(index);
            }
            groups.into_values().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kql::check::check_scalar;
    use crate::kql::parser::parse_expression;
    use crate::kql::plan::Column;
    use crate::kql::table::MemoryCatalog;
    use crate::kql::types::Type;
    use crate::kql::value::Value;

    fn table() -> Table {
        Table {
            columns: vec![
                Column::new("ReportId", Type::String),
                Column::new("Device", Type::String),
                Column::new("Os", Type::String),
            ],
            rows: vec![
                vec![Value::string("r1"), Value::string("pc1"), Value::string("Windows")],
                vec![Value::string("r2"), Value::string("pc2"), Value::string("Linux")],
                vec![Value::string("r3"), Value::string("pc1"), Value::string("Windows")],
                vec![Value::string("r1"), Value::string("pc1"), Value::string("Windows")],
            ],
        }
    }

    fn route(grouping: Grouping, when: Option<&str>) -> Route {
        let when = when.map(|text| {
            let expr = parse_expression(text).expect("parses");
            check_scalar(&expr, &table().columns, &MemoryCatalog::new()).expect("checks")
        });
        Route {
            receivers: vec!["soc".into()],
            grouping,
            when,
            subject: None,
            title: None,
            template: None,
            layout: Default::default(),
            shown: None,
            links: Default::default(),
            suppress: None,
            chart: None,
        }
    }

    #[test]
    fn keys_default_to_report_id_and_repeat_in_a_run_once() {
        let table = table();
        let keys = hit_keys(&table, None);
        assert_eq!(keys, vec!["r1", "r2", "r3", "r1"]);
        assert_eq!(new_hits(&keys, &[false, true, false, false]), vec![0, 2]);
        let by_columns = hit_keys(&table, Some(&[1, 2]));
        assert_eq!(by_columns[0], r#"["pc1","Windows"]"#);
        let without_report_id =
            Table { columns: table.columns[1..].to_vec(), rows: table.rows.iter().map(|r| r[1..].to_vec()).collect() };
        let hashed = hit_keys(&without_report_id, None);
        assert!(hashed[0].starts_with("sha256:") && hashed[0] == hashed[2] && hashed[0] != hashed[1]);
    }

    #[test]
    fn grouping_per_run_hit_and_columns() {
        let rows = table().rows;
        let all = [0, 1, 2, 3];
        let context = EvalContext { now: 0 };
        assert_eq!(group_rows(&route(Grouping::Run, None), &rows, &all, &context), vec![vec![0, 1, 2, 3]]);
        assert_eq!(group_rows(&route(Grouping::Hit, None), &rows, &all, &context).len(), 4);
        assert_eq!(
            group_rows(&route(Grouping::Columns(vec![1]), None), &rows, &all, &context),
            vec![vec![0, 2, 3], vec![1]]
        );
        // Only the candidates (the hits no silence holds for) are grouped; indexes stay the rows'.
        assert_eq!(
            group_rows(&route(Grouping::Columns(vec![1]), None), &rows, &[1, 3], &context),
            vec![vec![1], vec![3]]
        );
    }

    #[test]
    fn when_keeps_only_the_hits_it_holds_for() {
        let rows = table().rows;
        let all = [0, 1, 2, 3];
        let context = EvalContext { now: 0 };
        assert_eq!(
            group_rows(&route(Grouping::Run, Some(r#"Os == "Windows" and Device != "pc9""#)), &rows, &all, &context),
            vec![vec![0, 2, 3]]
        );
        assert!(group_rows(&route(Grouping::Run, Some(r#"Os == "Mac""#)), &rows, &all, &context).is_empty());
    }
}
