//! Parser tests: each operator and literal form parses to the expected tree; errors are collected and the
//! parser recovers at the next `|`; nesting is bounded.

use super::*;
use crate::ast::{BinaryOperator, ExprKind, JoinCondition, OperatorKind, Source};

fn body(text: &str) -> Pipeline {
    let query = parse_query(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    match query.body.map(|b| b.kind) {
        Some(ExprKind::Tabular(pipeline)) => *pipeline,
        other => panic!("{text}: not a pipeline: {other:?}"),
    }
}

fn operators(text: &str) -> Vec<OperatorKind> {
    body(text).operators.into_iter().map(|o| o.kind).collect()
}

fn errors(text: &str) -> Vec<String> {
    match parse_query(text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.into_iter().map(|e| e.message).collect(),
    }
}

#[test]
fn parses_a_defender_audit_query() {
    let ops = operators(
        r#"CloudAppEvents
        | where ActionType == "IsolateDevice" and RawEventData.ActionScope in~ ("Full", "Selective")
        | extend data = parse_json(RawEventData), Device = tostring(RawEventData.DeviceName)
        | project Timestamp, Device, Comment = tostring(data.ActionComment), ActivityObjects[0].Name
        | summarize count() by bin(Timestamp, 1d), Device
        | sort by count_ desc nulls last
        | render columnchart"#,
    );
    assert_eq!(ops.len(), 6);
    assert!(matches!(ops[0], OperatorKind::Where(_)));
    assert!(matches!(&ops[3], OperatorKind::Summarize { aggregates, by } if aggregates.len() == 1 && by.len() == 2));
    assert!(matches!(&ops[5], OperatorKind::Render(v) if v.kind == "columnchart"));
}

#[test]
fn precedence_of_and_or_and_comparisons() {
    let pipeline = body("T | where a == 1 or b == 2 and c > 3 + 4 * 5");
    let OperatorKind::Where(expr) = &pipeline.operators[0].kind else { panic!() };
    let ExprKind::Binary { operator: BinaryOperator::Or, right, .. } = &expr.kind else { panic!("{expr:?}") };
    let ExprKind::Binary { operator: BinaryOperator::And, right, .. } = &right.kind else { panic!() };
    let ExprKind::Binary { operator: BinaryOperator::Greater, right, .. } = &right.kind else { panic!() };
    assert!(matches!(&right.kind, ExprKind::Binary { operator: BinaryOperator::Add, .. }));
}

#[test]
fn let_statements_functions_and_tabular_lets() {
    let query = parse_query(
        "let since = ago(7d);\nlet f = (name: string, n: long = 5) { strcat(name, n) };\nlet iso = CloudAppEvents | where ActionType == 'IsolateDevice';\niso | take 1",
    )
    .expect("parses");
    assert_eq!(query.statements.len(), 3);
    assert!(
        matches!(&query.statements[1].value, LetValue::Function(f) if f.parameters.len() == 2 && f.parameters[1].default.is_some())
    );
    assert!(matches!(&query.statements[2].value, LetValue::Expr(Expr { kind: ExprKind::Tabular(_), .. })));
}

#[test]
fn joins_lookups_and_unions() {
    let ops = operators(
        "A | join kind=leftouter hint.strategy=broadcast (B | where x > 1) on $left.Device == $right.DeviceName, Key | lookup C on Id | union withsource=Source D, (E | take 1)",
    );
    let OperatorKind::Join { kind, on, .. } = &ops[0] else { panic!() };
    assert_eq!(kind.as_ref().map(|k| k.text.as_str()), Some("leftouter"));
    assert!(
        matches!(&on[0], JoinCondition::Pair { left, right } if left.text == "Device" && right.text == "DeviceName")
    );
    assert!(matches!(&on[1], JoinCondition::Same(name) if name.text == "Key"));
    assert!(matches!(&ops[2], OperatorKind::Union(u) if u.with_source.is_some() && u.tables.len() == 2));
}

#[test]
fn sources_datatable_print_range_union() {
    assert!(
        matches!(body("datatable(a:string, b:long)['x', 1, 'y', 2] | count").source, Source::Datatable { ref values, .. } if values.len() == 4)
    );
    assert!(matches!(body("print x = 1, 'a' | extend y = 2").source, Source::Print(ref a) if a.len() == 2));
    assert!(matches!(body("range i from 1 to 10 step 2 | count").source, Source::Range { .. }));
    assert!(matches!(body("union T1, T2* | count").source, Source::Union(ref u) if u.tables.len() == 2));
}

#[test]
fn mv_expand_parse_and_projections() {
    let ops = operators(
        r#"T | mv-expand with_itemindex=i obj = ActivityObjects to typeof(dynamic) limit 10
           | parse kind=relaxed Text with * "user=" User:string "," Rest
           | project-away Acc*, *Id | project-rename New = Old | project-reorder B*, A desc | distinct *"#,
    );
    assert!(
        matches!(&ops[0], OperatorKind::MvExpand { items, item_index: Some(_), limit: Some(_), .. } if items[0].name.is_some() && items[0].to_type.is_some())
    );
    assert!(matches!(&ops[1], OperatorKind::Parse { pattern, .. } if pattern.len() == 5));
    assert!(matches!(&ops[2], OperatorKind::ProjectAway(p) if p[0].text == "Acc*" && p[1].text == "*Id"));
    assert!(matches!(&ops[4], OperatorKind::ProjectReorder(p) if p[1].1 == Some(true)));
    assert!(matches!(&ops[5], OperatorKind::Distinct(c) if c.is_empty()));
}

#[test]
fn literals() {
    let pipeline = body(
        r#"print a = datetime(2024-01-01), b = time(1.00:00:00), c = dynamic({"k": [1, "x", null]}), d = int(null), e = -1.5, f = 1d, g = h"secret", h = guid(00000000-0000-0000-0000-000000000000) | take 1"#,
    );
    let Source::Print(assignments) = pipeline.source else { panic!() };
    assert_eq!(assignments.len(), 8);
    assert!(assignments.iter().all(|a| matches!(a.expr.kind, ExprKind::Literal { .. })), "{assignments:?}");
}

#[test]
fn collects_every_error_and_recovers_at_pipes() {
    let messages = errors("T | where (a == | extend b = | projec c | summarize count() by");
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(messages[2].contains("'projec' is not a tabular operator"));
}

#[test]
fn unsupported_operators_are_named() {
    let messages = errors("T | fork (take 1)");
    assert_eq!(messages, vec!["'fork' operator is not supported by the local engine"]);
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("print x = {}1{}", "(".repeat(500), ")".repeat(500));
    let messages = errors(&deep);
    assert!(messages.iter().any(|m| m.contains("nested too deeply")), "{messages:?}");
    let deep_minus = format!("print x = {}1", "-".repeat(5000));
    assert!(errors(&deep_minus).iter().any(|m| m.contains("nested too deeply")));
}

#[test]
fn scalar_expression_entry_point() {
    let expr = parse_expression(r#"OsFamily == "Windows" and isnotempty(UserId)"#).expect("parses");
    assert!(matches!(expr.kind, ExprKind::Binary { operator: BinaryOperator::And, .. }));
    assert!(parse_expression("a == ").is_err());
    assert!(parse_expression("a == 1 b").is_err());
}

/// Found by cargo-fuzz: `render` skipping its arguments underflowed on a closing bracket it had not opened.
#[test]
fn render_followed_by_a_stray_closing_bracket_is_an_error_not_a_panic() {
    for text in ["T | render x ]", "T | render } y", "T | render (a ] b)", "T | render ) | take 1"] {
        assert!(parse_query(text).is_err(), "{text}");
    }
    assert!(parse_query("T | render timechart with (title='a', ymin=0)").is_ok());
}

#[test]
fn nested_mv_apply_is_bounded() {
    let deep = format!("T{}", " | mv-apply a on (take 1".repeat(5000));
    assert!(errors(&deep).iter().any(|m| m.contains("nested too deeply")), "{:?}", errors(&deep));
}

#[test]
fn render_keeps_the_visualization_and_its_properties() {
    use crate::visualization::visualization;
    let text = r#"DeviceEvents
        | summarize Releases = count(), Devices = dcount(DeviceId) by Day = bin(Timestamp, 1d), ActionType
        | render columnchart with (title="Releases " 'per day', ytitle = "Releases", kind=stacked,
            ycolumns=Releases, Devices, series=ActionType, legend=hidden, ymin=-1, ymax=10.5, accumulate=true)"#;
    let found = visualization(text).unwrap();
    assert_eq!(found.kind, "columnchart");
    assert_eq!(found.title.as_deref(), Some("Releases per day"));
    assert_eq!(found.ytitle.as_deref(), Some("Releases"));
    assert_eq!(found.stacking.as_deref(), Some("stacked"));
    assert_eq!(found.ycolumns, ["Releases", "Devices"]);
    assert_eq!(found.series, ["ActionType"]);
    assert!(found.legend_hidden);
    assert_eq!((found.ymin, found.ymax), (Some(-1.0), Some(10.5)));
    assert_eq!(found.ignored, ["accumulate"]);
    assert_eq!(&text[found.span.start..found.span.start + 6], "render");
    assert!(text[found.span.start..found.span.end].ends_with("accumulate=true)"));
    // The parsed query carries the same.
    let ops = operators(text);
    assert!(matches!(ops.last(), Some(OperatorKind::Render(parsed)) if parsed == &found));

    let plain = visualization("T | render timechart").unwrap();
    assert_eq!((plain.kind.as_str(), plain.title.as_deref()), ("timechart", None));
    assert_eq!(visualization("T | render piechart title='x';").unwrap().title.as_deref(), Some("x"));
}

#[test]
fn only_a_render_that_ends_the_query_draws_it() {
    use crate::visualization::visualization;
    assert!(visualization("T | take 5").is_none());
    assert!(visualization("let x = T | render timechart; x").is_none());
    assert!(visualization("T | where A in ((U | render timechart))").is_none());
    assert!(visualization("T | render timechart | take 1").is_none());
    // A query the engine cannot parse can still say how it is drawn.
    let beyond = visualization("T | fork (where A > 1) (take 3) | invoke my_function(A) | render barchart");
    assert_eq!(beyond.map(|v| v.kind), Some("barchart".to_string()));
}
