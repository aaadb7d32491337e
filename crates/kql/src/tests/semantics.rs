//! The rules of KQL.md's "semantics that must match Kusto", and the traps.
use super::*;

#[test]
fn traps() {
    table(&[
        // `has` matches whole terms, not substrings.
        ("print 'Live Response' has 'Resp'", "false"),
        ("print 'Live Response' has 'response'", "true"),
        ("print 'Live Response' contains 'Resp'", "true"),
        // String == is case-sensitive; =~ is not.
        ("print 'Abc' == 'abc'", "false"),
        ("print 'Abc' =~ 'abc'", "true"),
        ("print 'Abc' != 'abc', 'Abc' !~ 'abc'", "true, false"),
        // tostring of a missing dynamic member is "".
        ("print x = tostring(dynamic({'a':1}).b) | extend empty = isempty(x), len = strlen(x)", ", true, 0"),
        // between includes both ends.
        (
            "print 5 between (1 .. 5), 1 between (1 .. 5), 6 between (1 .. 5), 0 !between (1 .. 5)",
            "true, true, false, true",
        ),
    ]);
}

#[test]
fn join_without_kind_is_innerunique() {
    let query = "datatable(k:string, v:long)['a',1,'a',2,'b',3] | join (datatable(k:string, w:long)['a',10,'a',20,'b',30]) on k | project v, w | order by w asc";
    assert_eq!(rows(query), "1, 10; 1, 20; 3, 30");
    let inner = "datatable(k:string, v:long)['a',1,'a',2] | join kind=inner (datatable(k:string, w:long)['a',10]) on k | project v, w | order by v asc";
    assert_eq!(rows(inner), "1, 10; 2, 10");
}

#[test]
fn nulls_in_comparisons() {
    table(&[
        (
            "datatable(v:long)[5, long(null)] | extend gt = v > 3, eq = v == long(null), ne = v != long(null)",
            "5, true, false, true; null, null, null, null",
        ),
        // Kusto: a null and a value are not equal, so `!=` holds and `where x != 5` keeps the null row.
        ("datatable(v:long, s:string)[5, 'a', long(null), 'b'] | where v != 5 | project s", "b"),
        ("datatable(v:long, s:string)[5, 'a', long(null), 'b'] | where v == 5 | project s", "a"),
        ("datatable(v:long, s:string)[5, 'a', long(null), 'b'] | where v > 1 | project s", "a"),
        (
            "print isnull(long(null) + 1), isempty(''), isempty(long(null)), isnull(''), isnotempty(' ')",
            "true, true, true, false, true",
        ),
        ("print false and bool(null), true or bool(null), isnull(true and bool(null))", "false, true, true"),
    ]);
}

#[test]
fn dynamic_comparisons() {
    table(&[
        ("Events | where RawEventData.ActionScope == 'Full' | project Device", "pc1"),
        ("Events | where RawEventData.SettingsNewValue == 0 | project Device", "pc1"),
        ("Events | where tobool(RawEventData.SettingsNewValue) == false | project Device", "pc1"),
        ("print dynamic({'n': 5}).n == '5', dynamic({'n': 5}).n > 4", "true, true"),
        // An array or a bag orders against no number: null, not an endless recursion (it overflowed the stack).
        (
            "print a = dynamic([0, 2, 4]), b = dynamic({'n': 1}) | project a > 2, b < 1, isnull(a > 1)",
            "null, null, true",
        ),
        ("print tostring(dynamic({'a':{'b':1}}).a), tostring(dynamic('x')), tostring(dynamic(null))", "{\"b\":1}, x, "),
        (
            "print tobool('false'), tobool(0), tobool('True'), tobool(2), isnull(tobool('yes'))",
            "false, false, true, true, true",
        ),
    ]);
}

#[test]
fn datetimes_print_with_seven_digits() {
    table(&[
        ("print datetime(2024-03-26T09:39:50.7688641Z)", "2024-03-26T09:39:50.7688641Z"),
        ("print tostring(datetime(2020-01-01))", "2020-01-01T00:00:00.0000000Z"),
        ("print now(), ago(1d)", "2026-11-20T12:00:00.0000000Z, 2026-11-19T12:00:00.0000000Z"),
        (
            "print datetime(2024-01-01) + 1d, datetime(2024-01-02) - datetime(2024-01-01), 1d / 1h",
            "2024-01-02T00:00:00.0000000Z, 1.00:00:00, 24",
        ),
    ]);
}

#[test]
fn default_sort_is_descending() {
    table(&[
        ("datatable(v:long)[2, 3, 1] | sort by v", "3; 2; 1"),
        ("datatable(v:long)[2, 3, 1] | sort by v asc", "1; 2; 3"),
        ("datatable(v:long)[2, long(null), 1] | sort by v", "2; 1; null"),
        ("datatable(v:long)[2, long(null), 1] | sort by v asc", "null; 1; 2"),
        ("datatable(v:long)[2, long(null), 1] | sort by v asc nulls last", "1; 2; null"),
        ("datatable(v:long)[2, 3, 1] | top 2 by v", "3; 2"),
        ("datatable(a:string, b:long)['x',1,'y',2,'x',3] | order by a asc, b desc", "x, 3; x, 1; y, 2"),
    ]);
}

#[test]
fn arithmetic() {
    table(&[
        ("print 1 / 2, 1.0 / 2, 7 % 3, -7 % 3, 2 * 3 + 1", "0, 0.5, 1, 2, 7"),
        ("print isnull(1 / 0), 1.0 / 0", "true, Infinity"),
        ("print gettype(int(1) + int(2)), gettype(1.5 * 2), gettype(1d * 2)", "long, real, timespan"),
    ]);
}

/// Subquery results are cached in a plan for one run; a second run (another `now`) computes its own.
#[test]
fn each_run_of_a_query_sees_its_own_now() {
    let query = "let recent = Events | where Timestamp > ago(1d); print toscalar(recent | count), toscalar(recent | summarize max(Size))";
    let at = |now: &str| {
        let now = super::super::datetime::parse_datetime(now).expect("valid");
        let result = run(query, &fixture(), &ExecOptions { parallelism: 1, ..ExecOptions::new(now) }).expect("runs");
        result.table.rows[0].iter().map(cell).collect::<Vec<_>>().join(", ")
    };
    assert_eq!(at("2026-11-20T12:00:00Z"), "1, 5");
    assert_eq!(at("2026-11-19T12:00:00Z"), "3, 30");
    assert_eq!(at("2026-11-20T12:00:00Z"), "1, 5");
}

/// A run's window applies to every table with a time column, as Graph's `Timespan` does, and the query's own
/// `ago()` still narrows it.
#[test]
fn the_window_restricts_every_table_of_a_query() {
    let tick = |s: &str| super::super::datetime::parse_datetime(s).expect("valid");
    let options = ExecOptions {
        parallelism: 1,
        window: Some((tick("2026-11-19T00:00:00Z"), tick("2026-11-20T00:00:00Z"))),
        ..ExecOptions::new(tick("2026-11-20T12:00:00Z"))
    };
    let count = |query: &str| {
        let result = run(query, &fixture(), &options).unwrap_or_else(|e| panic!("{query}: {e}"));
        result
            .table
            .rows
            .iter()
            .map(|r| r.iter().map(cell).collect::<Vec<_>>().join(", "))
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert_eq!(count("Events | count"), "2");
    assert_eq!(
        count("Events | project Size | count"),
        "2",
        "the window needs the time column even when the query does not"
    );
    assert_eq!(count("Events | join kind=inner (Events | project Device) on Device | count"), "4");
    assert_eq!(count("Events | where Timestamp > datetime(2026-11-19T10:00:00Z) | count"), "1");
    assert_eq!(count("datatable(a:long)[1, 2, 3] | count"), "3", "a table without a time column is not restricted");
    assert_eq!(count("Events | where Timestamp > ago(12h) | count"), "0", "the narrower of the two wins");
}
