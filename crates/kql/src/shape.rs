//! What a query's rows are: **events** — each traceable to one row of a table (an audit event, a process
//! start), so that the same row seen again is the same thing seen again — or **aggregates**: each computed from
//! many rows or from none (`summarize`, `count`, `distinct`, `make-series`, `top-nested`, `print`, `range`,
//! `datatable`), which mean something new at every evaluation ("Alex isolated 1 device this week" next week
//! too). A caller deciding how to recognise a row seen before asks here.

use crate::ast::{Expr, ExprKind, OperatorKind, Query, Source as AstSource};
use crate::plan::{JoinKind, Node, Operator, Source};
use crate::table::Catalog;

/// Whether the query's result rows are aggregates. Decided on the checked plan; a query the local engine
/// cannot check (it runs in Graph only) is read from its syntax: an aggregating operator on its main line.
pub fn is_aggregate(text: &str, catalog: &dyn Catalog) -> bool {
    match crate::compile(text, catalog) {
        Ok(plan) => node_is_aggregate(&plan.root),
        Err(_) => crate::parser::parse_query(text).is_ok_and(|query| query_is_aggregate(&query)),
    }
}

/// Whether a plan node's rows are aggregates (see the module documentation). A join whose right side is events
/// and whose rows carry the right side's (every kind but the left semi and anti joins, and `lookup`) gives
/// events; otherwise each operator keeps the shape of its input.
pub fn node_is_aggregate(node: &Node) -> bool {
    for operator in node.operators.iter().rev() {
        match operator {
            Operator::Summarize { .. }
            | Operator::Distinct(_)
            | Operator::Count
            | Operator::Series(_)
            | Operator::TopNested(_) => return true,
            Operator::Join(join)
                if !join.lookup
                    && !matches!(join.kind, JoinKind::LeftSemi | JoinKind::LeftAnti)
                    && !node_is_aggregate(&join.right) =>
            {
                return false;
            }
            _ => {}
        }
    }
    match &node.source {
        Source::Table(_) => false,
        Source::Rows(_) | Source::Print(_) | Source::Range { .. } => true,
        Source::Union(union) => union.inputs.iter().all(|(input, _)| node_is_aggregate(input)),
        Source::Shared(shared) => node_is_aggregate(&shared.node),
    }
}

/// The same question on the syntax alone: an aggregating operator on the main line of the query's body.
fn query_is_aggregate(query: &Query) -> bool {
    query.body.as_ref().is_some_and(expr_is_aggregate)
}

fn expr_is_aggregate(expr: &Expr) -> bool {
    let ExprKind::Tabular(pipeline) = &expr.kind else { return false };
    for operator in pipeline.operators.iter().rev() {
        match &operator.kind {
            OperatorKind::Summarize { .. }
            | OperatorKind::MakeSeries(_)
            | OperatorKind::TopNested(_)
            | OperatorKind::Distinct(_)
            | OperatorKind::Count => return true,
            OperatorKind::Join { kind, right, .. }
                if !kind.as_ref().is_some_and(|k| {
                    let k = k.text.to_ascii_lowercase();
                    k == "leftsemi" || k == "leftanti" || k == "anti" || k == "leftantisemi"
                }) && !expr_is_aggregate(right) =>
            {
                return false;
            }
            _ => {}
        }
    }
    match &pipeline.source {
        AstSource::Datatable { .. }
        | AstSource::ExternalData { .. }
        | AstSource::Print(_)
        | AstSource::Range { .. } => true,
        AstSource::Expr(inner) => expr_is_aggregate(inner),
        AstSource::Union(_) | AstSource::Find(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_aggregate;
    use crate::plan::Column;
    use crate::table::MemoryCatalog;
    use crate::types::Type;

    #[test]
    fn events_and_aggregates() {
        let catalog = MemoryCatalog::new().with_table(
            "T",
            vec![
                Column::new("Timestamp", Type::DateTime),
                Column::new("ReportId", Type::String),
                Column::new("Actor", Type::String),
            ],
            Vec::new(),
        );
        let cases = [
            ("T | where Actor == 'x'", false),
            ("T | project Timestamp, Actor | take 5", false),
            ("T | summarize n = count() by Actor", true),
            ("T | summarize n = count() by Actor | where n > 3", true),
            ("T | count", true),
            ("T | distinct Actor", true),
            ("T | make-series n = count() on Timestamp step 1h", true),
            ("T | top-nested 3 of Actor by count()", true),
            ("print x = 1", true),
            ("range x from 1 to 3 step 1", true),
            ("let a = T | summarize n = count() by Actor; a | where n > 1", true),
            // The events of the actors that did something often: events.
            ("T | summarize n = count() by Actor | where n > 3 | join kind=inner (T) on Actor", false),
            // Actors seen before, kept by a semi join: aggregates still.
            ("T | summarize n = count() by Actor | join kind=leftsemi (T) on Actor", true),
            ("T | summarize n = count() by Actor | lookup (T | project Actor, ReportId) on Actor", true),
            ("union (T | count), (T | summarize count())", true),
            ("union T, (T | count)", false),
            // Beyond the local engine: read from the syntax.
            ("T | evaluate some_plugin() | summarize count() by Actor", true),
            ("T | evaluate some_plugin()", false),
        ];
        for (query, aggregate) in cases {
            assert_eq!(is_aggregate(query, &catalog), aggregate, "{query}");
        }
    }
}
