//! No input makes the engine panic: random text and random soups of KQL tokens go through the parser, the
//! checker and (when they check) the evaluator, which a deadline cancels if the query runs away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use huntbook::kql::error::KqlError;
use huntbook::kql::eval::{ExecOptions, execute};
use huntbook::kql::plan::{Column, Row};
use huntbook::kql::table::{MemoryCatalog, ScanRequest, ScanStats, TableSource};
use huntbook::kql::types::Type;
use huntbook::kql::value::{Dyn, Value};
use huntbook::kql::{compile, parser};
use proptest::prelude::*;

fn catalog() -> MemoryCatalog {
    let columns = vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("ActionType", Type::String),
        Column::new("Size", Type::Long),
        Column::new("RawEventData", Type::Dynamic),
    ];
    let rows = (0..20)
        .map(|i| {
            vec![
                Value::DateTime(huntbook::kql::datetime::UNIX_EPOCH_TICKS + i * 10_000_000_000),
                Value::string(if i % 3 == 0 { "IsolateDevice" } else { "Send" }),
                if i % 4 == 0 { Value::Null } else { Value::Long(i) },
                Value::Dynamic(
                    Dyn::parse(&format!(r#"{{"a":{i},"b":[{i},"x"],"c":{{"d":"e{i}"}}}}"#)).unwrap_or_default(),
                ),
            ]
        })
        .collect();
    MemoryCatalog::new().with_table("T", columns, rows)
}

const TOKENS: &[&str] = &[
    "T",
    "|",
    "where",
    "extend",
    "project",
    "summarize",
    "by",
    "count()",
    "count",
    "take",
    "top",
    "sort",
    "order",
    "join",
    "kind=inner",
    "kind=leftouter",
    "lookup",
    "on",
    "union",
    "mv-expand",
    "mv-apply",
    "make-series",
    "partition",
    "top-nested",
    "of",
    "search",
    "find",
    "project-smart",
    "pack_all()",
    "step",
    "from",
    "default",
    "parse",
    "with",
    "distinct",
    "project-away",
    "project-rename",
    "let",
    "x",
    "=",
    "==",
    "!=",
    "=~",
    "<",
    ">",
    "and",
    "or",
    "not",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ".",
    "..",
    "*",
    "+",
    "-",
    "/",
    "%",
    "1",
    "0",
    "-1",
    "1.5",
    "1d",
    "1h",
    "'a'",
    "\"IsolateDevice\"",
    "@'x\\y'",
    "datetime(2024-01-01)",
    "dynamic([1,2])",
    "dynamic({'a':1})",
    "dynamic(null)",
    "int(null)",
    "true",
    "has",
    "contains",
    "!has",
    "in",
    "!in~",
    "between",
    "has_any",
    "matches regex",
    "ActionType",
    "Size",
    "Timestamp",
    "RawEventData",
    "RawEventData.a",
    "RawEventData.b[0]",
    "tostring",
    "tolong",
    "strlen",
    "iff",
    "case",
    "bin",
    "ago",
    "now()",
    "split",
    "extract",
    "parse_json",
    "arg_max",
    "make_set",
    "dcount",
    "sum",
    "avg",
    "toscalar",
    "print",
    "datatable",
    "range",
    "from",
    "to",
    "step",
    "$left",
    "$right",
    "getschema",
    "render",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "materialize",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|tokens| tokens.join(" "))
}

/// Compiles and, if it checks, runs a query; any outcome but a panic is fine. (The inputs are bounded: a
/// 20-row table, and `range` refuses more than ten million rows.)
fn exercise(text: &str) {
    let catalog = catalog();
    let Ok(plan) = compile(text, &catalog) else { return };
    let _ = execute(plan, &ExecOptions { parallelism: 2, ..ExecOptions::new(0) });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,120}") {
        let _ = parser::parse_query(&text);
        exercise(&text);
    }

    #[test]
    fn token_soup_never_panics(text in soup()) {
        let _ = parser::parse_query(&text);
        exercise(&text);
    }

    #[test]
    fn pipelines_of_real_operators_never_panic(ops in prop::collection::vec(prop::sample::select(&[
        "where Size > 3", "where ActionType has 'isolate'", "extend y = Size * 2", "project ActionType, Size",
        "summarize count() by ActionType", "summarize arg_max(Timestamp, *) by ActionType", "take 5", "top 3 by Size",
        "sort by Timestamp asc", "distinct ActionType", "mv-expand RawEventData.b", "extend d = RawEventData.c.d",
        "join kind=leftouter (T | take 2) on ActionType", "lookup (T | summarize by ActionType) on ActionType",
        "union (T | take 1)", "count", "project-away RawEventData", "parse ActionType with a 'e' b",
        "extend z = iff(Size > 2, 'a', 'b')", "getschema", "serialize", "as X",
        "make-series count() default = -1 on Timestamp step 1h by ActionType",
        "make-series sum(Size) on Size from 0 to 10 step 2", "mv-expand ActionType to typeof(long)",
        "mv-apply RawEventData.b on (top 1 by tostring(RawEventData_b) | extend w = 1)",
        "mv-apply with_itemindex = i e = pack_array(Size, Size) on (summarize make_list(e))",
        "partition hint.strategy=native by ActionType (top 2 by Size | extend p = 1)",
        "partition by Size (summarize count())",
        "top-nested 2 of ActionType by sum(Size), top-nested of bin(Timestamp, 1h) with others = datetime(null) by count()",
        "top-nested of Size by max(Timestamp) asc",
        "search 'Isolate*' and Size > 3", "where * has 'send'",
        "sort by Timestamp asc | scan with_match_id = m declare (n: long = 0) with (step a: Size > 3 => n = a.n + 1; \
         step b output = none: ActionType == 'Send' and a.n > 1;)",
    ][..]), 0..6)) {
        let text = std::iter::once("T").chain(ops.iter().copied()).collect::<Vec<_>>().join(" | ");
        exercise(&text);
    }
}

proptest! {
    // Each case is a query of up to 6,000 links, run three ways: fewer cases than the soups above.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// One operator repeated thousands of times between operands: deep trees once overflowed the stack.
    #[test]
    fn long_flat_chains_never_panic(
        operator in prop::sample::select(&[
            " or ", " and ", " + ", " - ", " * ", " / ", " % ", " == ", " < ", " has ", " contains ", " =~ ",
            " or not(", " and (", ".", "[0]", "|where ", " in (", ", ",
        ][..]),
        operand in prop::sample::select(&["Size", "1", "'a'", "ActionType == 'Send'", "RawEventData.a", "true", "x"][..]),
        length in 1usize..6000,
    ) {
        let chain = vec![operand; length].join(operator);
        for text in [format!("T | where {chain}"), format!("print x = {chain}"), format!("T | extend x = {chain} | count")] {
            let _ = parser::parse_query(&text);
            exercise(&text);
        }
    }
}

/// An endless table that pulls the cancel flag itself after a number of rows: what a user's Ctrl-C or a
/// deadline does, without a clock in the test.
#[derive(Debug)]
struct Endless {
    columns: Vec<Column>,
    cancel_after: u64,
    cancel: Arc<AtomicBool>,
    emitted: Arc<AtomicU64>,
}

impl TableSource for Endless {
    fn name(&self) -> &str {
        "Endless"
    }

    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn partition_count(&self) -> usize {
        4
    }

    fn scan_partition(
        &self,
        _: usize,
        request: &ScanRequest,
        sink: &mut dyn FnMut(Row) -> bool,
    ) -> Result<ScanStats, KqlError> {
        let mut n = 0i64;
        while !request.cancel.load(Ordering::Relaxed) {
            if self.emitted.fetch_add(1, Ordering::Relaxed) + 1 == self.cancel_after {
                self.cancel.store(true, Ordering::Relaxed);
            }
            n += 1;
            if !sink(vec![Value::Long(n)]) {
                break;
            }
        }
        Ok(ScanStats::default())
    }
}

#[test]
fn a_cancelled_query_stops_and_says_so() {
    let cancel = Arc::new(AtomicBool::new(false));
    let emitted = Arc::new(AtomicU64::new(0));
    let table = Endless {
        columns: vec![Column::new("n", Type::Long)],
        cancel_after: 100_000,
        cancel: cancel.clone(),
        emitted: emitted.clone(),
    };
    let mut catalog = MemoryCatalog::new();
    catalog.insert(Arc::new(table));
    let plan = compile("Endless | where n % 2 == 0 | summarize count() by n % 7", &catalog).expect("valid");
    let result = execute(plan, &ExecOptions { cancel, ..ExecOptions::new(0) });
    assert!(matches!(&result, Err(e) if e.message == "the query was cancelled"), "{result:?}");
    let total = emitted.load(Ordering::Relaxed);
    assert!((100_000..200_000).contains(&total), "stopped soon after the flag: {total} rows");
}

/// Long flat chains — thousands of `or` clauses, a 100,000-term sum, runs of unary signs, members, indexes and
/// pipes — once overflowed the stack and aborted the process. Each either runs (with the right count) or is
/// refused with an error that says why; the test runs on a 2 MiB thread (a test thread's, and a tokio blocking
/// thread's, stack), in a debug build.
#[test]
fn long_flat_chains_never_overflow_the_stack() {
    let or_clauses = |n: usize| (0..n).map(|i| format!("ActionType == \"A{i}\"")).collect::<Vec<_>>().join(" or ");
    let list = (0..100_000).map(|i| format!("'a{i}'")).collect::<Vec<_>>().join(",");
    // (query, the count it must give, or None when an error is fine). T has 20 rows: 13 "Send", 15 with Size > 0.
    let cases: Vec<(String, Option<i64>)> = vec![
        (format!("T | where {} or ActionType == \"Send\" | count", or_clauses(4500)), Some(13)),
        (format!("T | where {} or ActionType == \"Send\" | count", or_clauses(100_000)), Some(13)),
        (format!("T | where {} | count", vec!["Size > 0"; 20_000].join(" and ")), Some(15)),
        (format!("T | where {} | count", vec!["(Size > 0 and ActionType != 'x')"; 5_000].join(" or ")), Some(15)),
        (format!("T{} | count", " | where Size > 0".repeat(10_000)), Some(15)),
        (format!("T | where ActionType in ({list}, 'Send') | count"), Some(13)),
        (format!("union {} | count", vec!["(T | take 1)"; 5_000].join(", ")), Some(5_000)),
        (format!("print x = {}1 | count", "+".repeat(100_000)), Some(1)),
        (format!("T{} | count", (0..60).map(|i| format!(" | as a{i} | where Size > 0")).collect::<String>()), Some(15)),
        (
            format!(
                "let t0 = T; {} t60 | count",
                (0..60).map(|i| format!("let t{} = t{i} | where Size > 0;", i + 1)).collect::<String>()
            ),
            Some(15),
        ),
        (format!("T{} | count", (0..3_000).map(|i| format!(" | as a{i}")).collect::<String>()), None),
        (
            format!(
                "let t0 = T; {} t3000",
                (0..3_000).map(|i| format!("let t{} = t{i} | where Size > 0;", i + 1)).collect::<String>()
            ),
            None,
        ),
        (
            format!(
                "let a0 = 1; {} print a3000",
                (0..3_000).map(|i| format!("let a{} = toscalar(print x = a{i});", i + 1)).collect::<String>()
            ),
            None,
        ),
        (format!("print x = {}", vec!["1"; 100_000].join(" + ")), None),
        (format!("print x = {}", vec!["2"; 100_000].join(" * ")), None),
        (format!("print x = 1 {}", " - 1".repeat(100_000)), None),
        (format!("print x = {}1", "- ".repeat(100_000)), None),
        (format!("print x = {}1{}", "(".repeat(100_000), ")".repeat(100_000)), None),
        (format!("T | extend x = RawEventData{}", ".a".repeat(100_000)), None),
        (format!("T | extend x = RawEventData{}", "[0]".repeat(100_000)), None),
        (format!("print x = 1 {}", "== 1 ".repeat(100_000)), None),
        (format!("print x = dynamic({}1{})", "[".repeat(100_000), "]".repeat(100_000)), None),
        (format!("print x = {}", "not(".repeat(100_000)), None),
        (
            format!(
                "let a0 = 1; {} print a10000",
                (0..10_000).map(|i| format!("let a{} = a{i} + 1;", i + 1)).collect::<String>()
            ),
            None,
        ),
        (
            format!(
                "let a0 = 1; {} print a10000",
                (0..10_000).map(|i| format!("let a{} = a{i};", i + 1)).collect::<String>()
            ),
            None,
        ),
    ];
    let thread = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
        for (query, expected) in cases {
            let shown: String = query.chars().take(60).collect();
            match (compile(&query, &catalog()), expected) {
                (Ok(plan), expected) => {
                    let result = execute(plan, &ExecOptions { parallelism: 2, ..ExecOptions::new(0) });
                    if let Some(count) = expected {
                        let rows = result.map(|r| r.table.rows).map_err(|e| e.message);
                        assert_eq!(rows, Ok(vec![vec![Value::Long(count)]]), "{shown}…");
                    }
                }
                (Err(errors), None) => {
                    assert!(errors.0.first().is_some_and(|e| !e.message.is_empty()), "{shown}…: an error says why");
                }
                (Err(errors), Some(_)) => panic!("{shown}… must run: {errors}"),
            }
        }
    });
    thread.expect("spawn").join().expect("no case panics");
}
