//! Coverage audit of KQL.md against Microsoft's documentation: every operator option, scalar operator, literal
//! form and function, with the documented examples' exact inputs and outputs where the docs give them.
//! A comment names the doc page (learn.microsoft.com/kusto/query/<page>) a case comes from; cases without one
//! follow from a documented rule. `lenient_literals_nan_sorting_union_names_and_parse_modes` holds the
//! cases an audit first found the engine getting wrong, kept as regression tests.
use super::*;

#[test]
fn string_literals() {
    table(&[
        // scalar-data-types/string: escapes in "…" and '…'.
        (r#"print "a \"quoted\" word", 'it\'s', "it's", 'say "hi"'"#, r#"a "quoted" word, it's, it's, say "hi""#),
        (r#"print "tab\there", "back\\slash", strlen("a\nb")"#, "tab\there, back\\slash, 3"),
        // string: verbatim literals; the backslash stands for itself, even at the end.
        (r#"print @"C:\Folder\filename.txt", @'C:\temp\', strlen(@"\n")"#, r"C:\Folder\filename.txt, C:\temp\, 2"),
        // string: escaping example.
        (r#"print s = '\\n.*(>|\'|=|\")[a-zA-Z0-9/+]{86}=='"#, r#"\n.*(>|'|=|")[a-zA-Z0-9/+]{86}=="#),
        // string: obfuscated literals, `h` or `H` prefix, also on verbatim literals.
        (r#"print h'hello', h"hello", H'x', h@'c:\world'"#, r"hello, hello, x, c:\world"),
        (
            r#"print x = "https://contoso.blob.core.windows.net/container/blob.txt?" h'sv=2012'"#,
            "https://contoso.blob.core.windows.net/container/blob.txt?sv=2012",
        ),
    ]);
}

#[test]
fn scalar_literals() {
    table(&[
        // scalar-data-types/bool, and KQL.md's True/False.
        ("print true, false, True, False, bool(true), bool(false)", "true, false, true, false, true, false"),
        ("print True == true, False == false, gettype(True)", "true, true, bool"),
        // scalar-data-types/null-values: "the following returns a single row full of nulls".
        (
            "print bool(null), datetime(null), dynamic(null), int(null), long(null), real(null), double(null), time(null)",
            "null, null, null, null, null, null, null, null",
        ),
        (
            "print isnull(bool(null)), isnull(datetime(null)), isnull(dynamic(null)), isnull(int(null)), isnull(long(null)), isnull(real(null)), isnull(timespan(null))",
            "true, true, true, true, true, true, true",
        ),
        (
            "print gettype(1), gettype(int(1)), gettype(long(1)), gettype(1.5), gettype(1e3), gettype(real(2))",
            "long, int, long, real, real, real",
        ),
        ("print 1e3, 2.5, -0.5, int(7) + 1, long(9000000000)", "1000, 2.5, -0.5, 8, 9000000000"),
        // scalar-data-types/timespan: literal forms.
        ("print 2d, 1.5h, 30m, 10s, 100ms", "2.00:00:00, 01:30:00, 00:30:00, 00:00:10, 00:00:00.1000000"),
        ("print 0.1s, 10microsecond, 1tick", "00:00:00.1000000, 00:00:00.0000100, 00:00:00.0000001"),
        ("print time(1.00:00:00), time(2), time(0.12:34:56.7)", "1.00:00:00, 2.00:00:00, 12:34:56.7000000"),
        ("print timespan(2h), time(1d), 1d + 2h, 2h - 1d", "02:00:00, 1.00:00:00, 1.02:00:00, -22:00:00"),
        // scalar-data-types/timespan: "how many seconds are in a day in several ways".
        (
            "print result1 = 1d / 1s, result2 = time(1d) / time(1s), result3 = 24 * 60 * time(00:01:00) / time(1s)",
            "86400, 86400, 86400",
        ),
        // scalar-data-types/datetime: literal forms.
        (
            "print datetime(2024-01-01), datetime(2024-01-01T10:00:00Z), datetime(2015-12-31 23:59:59.9), datetime(2014-05-25T08:20)",
            "2024-01-01T00:00:00.0000000Z, 2024-01-01T10:00:00.0000000Z, 2015-12-31T23:59:59.9000000Z, 2014-05-25T08:20:00.0000000Z",
        ),
        (
            "print datetime(2014-05-25T08:20:03.123456Z), datetime(2014-11-08 15:55)",
            "2014-05-25T08:20:03.1234560Z, 2014-11-08T15:55:00.0000000Z",
        ),
        // 100-nanosecond precision (KQL.md).
        ("print datetime(2024-03-26T09:39:50.7688641Z) - datetime(2024-03-26T09:39:50Z)", "00:00:00.7688641"),
        // scalar-data-types/dynamic: literal, and Kusto literals inside a dynamic literal.
        (
            r#"print o = dynamic({"a":123, "b":"hello", "c":[1,2,3], "d":{}}) | extend a = o.a, b = o.b, c = o.c, d = o.d"#,
            r#"{"a":123,"b":"hello","c":[1,2,3],"d":{}}, 123, hello, [1,2,3], {}"#,
        ),
        (r#"print d = dynamic({"a": datetime(1970-05-11)})"#, r#"{"a":"1970-05-11T00:00:00.0000000Z"}"#),
        ("print dynamic([1, 'a', true]), dynamic(null), isnull(dynamic(null))", r#"[1,"a",true], null, true"#),
    ]);
}

#[test]
fn names_comments_and_lets() {
    table(&[
        ("print ['Column Name'] = 1 | project ['Column Name'] + 1", "2"),
        (r#"print ["a b"] = 1 | getschema | project ColumnName"#, "a b"),
        ("Events | project ['Device'] | take 1 | getschema | project ColumnName", "Device"),
        ("// leading comment\nEvents // trailing comment\n// a line of its own\n| count", "5"),
        ("let x = 1; // comment\nlet y = x + 1;\nprint y", "2"),
        // functions/user-defined-functions: defaults.
        (
            r#"let f = (a:long, b:string = "b.default", c:long = 0) { strcat(a, "-", b, "-", c) }; print f(12), f(12, "x", 7)"#,
            "12-b.default-0, 12-x-7",
        ),
        ("let a = () { 5 }; print a()", "5"),
        ("let t = (n: long) { range i from 1 to n step 1 }; t(3) | count", "3"),
        ("let d = 1d; Events | where Timestamp > now() - d | count", "1"),
        ("let T = datatable(x:long)[1, 2]; let U = T | where x > 1; U", "2"),
    ]);
}

#[test]
fn member_access() {
    table(&[
        (
            "Events | where Device == 'pc2' | project RawEventData.ActionScope, RawEventData['ActionComment'], RawEventData[\"ActionScope\"]",
            "Selective, suspicious, Selective",
        ),
        (
            "Events | where isnotempty(RawEventData.Items) | project RawEventData.Items[0].Name, RawEventData.Items[-1]['Name'], tostring(RawEventData.Items[1].Name)",
            "a, b, b",
        ),
        (
            r#"print s = '{"Workload":"Exchange","User Id":"u1"}' | project parse_json(s).Workload, parse_json(s)["User Id"], todynamic(s).Workload"#,
            "Exchange, u1, Exchange",
        ),
        // scalar-data-types/dynamic: casting dynamic objects.
        ("print X = parse_json('[100,101,102]') | project X[0], toint(X[1]) + 1", "100, 102"),
        (
            r#"print Y = parse_json('{"a1":100, "a b c":"2015-01-01"}') | project Y.a1, todatetime(Y["a b c"])"#,
            "100, 2015-01-01T00:00:00.0000000Z",
        ),
        // dynamic: arr[(-1)] is the last element; negative indexes count from the end.
        (
            "print arr = dynamic([1, 2, 3]) | project arr[-1], arr[(-1)], arr[-3], arr[-4], arr[3]",
            "3, 3, 1, null, null",
        ),
        // dynamic: subscripts that are columns, and keyword keys.
        (
            "print d = dynamic({'a': 1, 'b': 2}), k = 'b', arr = dynamic([10, 20, 30]), i = 1 | project d[k], arr[i]",
            "2, 20",
        ),
        ("print d = dynamic({'where': 5}) | project d['where']", "5"),
        (
            "print d = dynamic({'a': {'b': {'c': 'deep'}}}) | project d.a.b.c, d['a']['b'].c, isnull(d.x.y)",
            "deep, deep, true",
        ),
        // Any sub-access yields dynamic.
        ("print d = dynamic({'a': 1}) | project gettype(d.a), d.a + 1", "int, 2"),
        // Column names of member access (Kusto.Language naming rules).
        (
            "print d = dynamic({'a': {'b': 1}}), arr = dynamic([1]) | project d.a.b, d['a'], arr[0] | getschema | project ColumnName",
            "d_a_b; d_a; arr_0",
        ),
    ]);
}

#[test]
fn comparison_logic_and_arithmetic() {
    table(&[
        ("print 1 < 2, 2 <= 2, 3 > 2, 2 >= 3, 1 == 1, 1 != 1", "true, true, true, false, true, false"),
        (
            "print datetime(2024-01-01) < datetime(2024-01-02), 1h > 30m, 2.5 >= 2, strcmp('a', 'b') < 0",
            "true, true, true, true",
        ),
        ("print true and false, true or false, false or false, not(1 == 1) or 2 > 1", "false, true, false, true"),
        ("print not(true), not(false), isnull(not(bool(null)))", "false, true, true"),
        // numerical-operators: `%` is never negative.
        ("print 14 % 12, -14 % 12, 14 % -12, -14 % -12", "2, 10, 2, 10"),
        ("print -(5), - 2 * 3, -1.5, -(-2), 10 - -3", "-5, -6, -1.5, 2, 13"),
        ("print 1 / 2, 1.0 / 2, real(1) / 2, 7 / 2 * 2, 2 + 3 * 4, (2 + 3) * 4", "0, 0.5, 0.5, 6, 14, 20"),
        // datetime-timespan-arithmetic.
        ("print 1d / 5h, 1h / 1s, 1.5 * 1h, 1h * 2, 1d / 2", "4.8, 3600, 01:30:00, 02:00:00, 12:00:00"),
        (
            "print datetime(2024-01-01) - 1d, datetime(2024-01-03) - datetime(2024-01-01)",
            "2023-12-31T00:00:00.0000000Z, 2.00:00:00",
        ),
        // scalar-data-types/null-values: comparisons with null, and null is sticky.
        (
            "datatable(val:int)[5, int(null)] | extend IsBiggerThan3 = val > 3 | extend IsBiggerThan3OrNull = val > 3 or isnull(val)",
            "5, true, true; null, null, true",
        ),
        (
            "datatable(val:int)[5, int(null)] | extend Add = val + 10 | extend Multiply = val * 10",
            "5, 15, 50; null, null, null",
        ),
        // null-values: strings are never null.
        (
            "datatable(a:string, b:int)['', int(null), ' ', int(null), 'a', 1] | project isnull(a), isempty(a), strlen(a), isnull(b)",
            "false, true, 0, true; false, false, 1, true; false, false, 1, false",
        ),
        ("datatable(s:string)['a', '', 'b'] | where s != 'a' | count", "2"),
    ]);
}

#[test]
fn string_operators_every_form() {
    table(&[
        // datatypes-string-operators: every example yields true.
        (r#"print "aBc" == "aBc", "abc" != "ABC", "abc" =~ "ABC", "aBc" !~ "xyz""#, "true, true, true, true"),
        (
            r#"print "FabriKam" contains "BRik", "Fabrikam" !contains "xyz", "FabriKam" contains_cs "Kam", "Fabrikam" !contains_cs "Kam""#,
            "true, true, true, true",
        ),
        (r#"print "Fabrikam" matches regex "b.*k""#, "true"),
        (
            r#"print "abc" in ("123", "345", "abc"), "bca" !in ("123", "345", "abc"), "abc" in~ ("123", "345", "ABC"), "bca" !in~ ("123", "345", "ABC")"#,
            "true, true, true, true",
        ),
        // The same operators when they fail.
        (
            r#"print "FabriKam" contains_cs "kam", "Fabrikam" !contains "BRIK", "Fabrikam" startswith_cs "fab", "Fabrikam" endswith_cs "Kam""#,
            "false, false, false, false",
        ),
        (
            r#"print "Fabrikam" startswith "Fabrikam1", "Fabrikam" !startswith "FAB", "Fabrikam" !endswith "KAM", "Fabrikam" matches regex "^b""#,
            "false, false, false, false",
        ),
        (
            r#"print "North America" has_cs "america", "North America" !has "NORTH", "North America" !has_cs "America""#,
            "false, false, false",
        ),
        (
            r#"print "North America" hasprefix_cs "ame", "North America" !hasprefix "nor", "North America" hassuffix_cs "ICA", "North America" !hassuffix "TH""#,
            "false, false, false, false",
        ),
        // hasprefix / hassuffix apply to any term, not only the first or last.
        (
            r#"print "North America" hasprefix "nor", "North America" hassuffix "th", "North America" hasprefix "rth""#,
            "true, true, false",
        ),
        // datatypes-string-operators: terms of "Kusto: ad67d136-c1db-4f9f-88ef-d94f3b6b0b5a;;WilliamGates3rd".
        (
            r#"print s = "Kusto: ad67d136-c1db-4f9f-88ef-d94f3b6b0b5a;;WilliamGates3rd" | project s has "c1db", s has "WilliamGates3rd", s has "Gates", s has "ad67", s has "kusto""#,
            "true, true, false, false, true",
        ),
        // PR MicrosoftDocs/dataexplorer-docs#2563: has is not a substring match.
        (r#"print "KustoExplorerQueryRun" has "Explorer""#, "false"),
        // Issue MicrosoftDocs/dataexplorer-docs#1005: needles with punctuation and spaces.
        (
            r#"print u = "https://management.azure.com/subscriptions/x/resourcegroups/test.rg000001?api-version=2021-04-01" | project u has "resourcegroups/test.rg000001", u has "/resourcegroups/test.rg000001?", "North America" has "North America""#,
            "true, true, true",
        ),
        // Operators on dynamic values compare the string form.
        ("Events | where RawEventData.ActionComment has 'MALWARE' | project Device", "pc1"),
        ("Events | where RawEventData.ActionScope startswith 'sel' | count", "2"),
        ("Events | where RawEventData.ActionComment matches regex '^(clean|done)$' | count", "2"),
        ("Events | where Device !contains '2' and Actor !in ('alice') | count", "2"),
    ]);
}

#[test]
fn in_has_any_has_all() {
    table(&[
        // in-operator: a dynamic array in the list is flattened; scalars and arrays can mix.
        ("print 'a' in ('b', dynamic(['c', 'a'])), 'x' !in ('b', dynamic(['c', 'a']))", "true, true"),
        (
            "print 'FLORIDA' in~ (dynamic(['florida', 'georgia'])), 'Texas' !in~ (dynamic(['florida', 'georgia']))",
            "true, true",
        ),
        // in-operator: a tabular list, through a let or in double parentheses.
        (
            "let T = datatable(s:string)['FLORIDA', 'georgia']; print 'Georgia' in~ (T), 'Georgia' in (T), 'Georgia' !in (T)",
            "true, false, true",
        ),
        ("Events | where Device in~ ((datatable(d:string)['PC2'])) | project Actor", "bob"),
        ("Events | where Size in (10, 30) | project Size | order by Size asc", "10; 30"),
        ("Events | where Size !in (10, 30) | count", "3"),
        // in is an OR of ==, !in an AND of != (null-values).
        ("print long(null) in (1, 2), long(null) !in (1, 2)", "false, true"),
        // has-anyoperator: a dynamic array in a let; has_all.
        (
            "let states = dynamic(['south', 'north']); print 'North America' has_any (states), 'South Africa' has_all (states)",
            "true, false",
        ),
        ("print 'North America' has_all ('NORTH', 'america'), 'North America' has_any ('nor', 'ame')", "true, false"),
        ("Events | where RawEventData.ActionComment has_any ('again', 'done') | count", "2"),
    ]);
}

#[test]
fn between_and_not_between() {
    table(&[
        // between-operator.
        ("range x from 1 to 100 step 1 | where x between (50 .. 55) | summarize make_list(x)", "[50,51,52,53,54,55]"),
        // not-between-operator.
        ("range x from 1 to 10 step 1 | where x !between (5 .. 9)", "1; 2; 3; 4; 10"),
        // between-operator / not-between-operator: a datetime range written with a timespan.
        (
            "print datetime(2007-07-29) between (datetime(2007-07-27) .. 3d), datetime(2007-07-30) between (datetime(2007-07-27) .. 3d), datetime(2007-07-30 00:00:01) !between (datetime(2007-07-27) .. 3d), datetime(2007-07-26) !between (datetime(2007-07-27) .. 3d)",
            "true, true, true, true",
        ),
        (
            "print 2h between (1h .. 3h), 4h !between (1h .. 3h), 1.5 !between (1 .. 2), 2.0 between (1 .. 2)",
            "true, true, false, true",
        ),
        ("Events | where Timestamp between (datetime(2026-11-19) .. 1d) | count", "2"),
        ("Events | where Timestamp !between (ago(1d) .. now()) | count", "4"),
        ("print isnull(long(null) between (1 .. 2))", "true"),
    ]);
}

#[test]
fn datetime_function_examples() {
    table(&[
        // datetime-add-function (make_datetime(2017,1,1) written as a literal).
        (
            "let d = datetime(2017-01-01); print datetime_add('year', 1, d), datetime_add('quarter', 1, d), datetime_add('month', 1, d), datetime_add('week', 1, d)",
            "2018-01-01T00:00:00.0000000Z, 2017-04-01T00:00:00.0000000Z, 2017-02-01T00:00:00.0000000Z, 2017-01-08T00:00:00.0000000Z",
        ),
        (
            "let d = datetime(2017-01-01); print datetime_add('day', 1, d), datetime_add('hour', 1, d), datetime_add('minute', 1, d), datetime_add('second', 1, d)",
            "2017-01-02T00:00:00.0000000Z, 2017-01-01T01:00:00.0000000Z, 2017-01-01T00:01:00.0000000Z, 2017-01-01T00:00:01.0000000Z",
        ),
        (
            "let d = datetime(2017-01-01); print datetime_add('year', -5, d), datetime_add('quarter', 12, d), datetime_add('month', -15, d), datetime_add('week', 100, d)",
            "2012-01-01T00:00:00.0000000Z, 2020-01-01T00:00:00.0000000Z, 2015-10-01T00:00:00.0000000Z, 2018-12-02T00:00:00.0000000Z",
        ),
        (
            "let d = datetime(2017-01-01); print datetime_add('millisecond', 1, d), datetime_add('microsecond', 1, d), datetime_add('nanosecond', 100, d), datetime_add('Day', 1, d)",
            "2017-01-01T00:00:00.0010000Z, 2017-01-01T00:00:00.0000010Z, 2017-01-01T00:00:00.0000001Z, 2017-01-02T00:00:00.0000000Z",
        ),
        // datetime-diff-function.
        (
            "print datetime_diff('microsecond', datetime(2017-10-30 23:00:00.1009001), datetime(2017-10-30 23:00:00.1008009)), datetime_diff('nanosecond', datetime(2017-10-30 23:00:00.0000000), datetime(2017-10-30 23:00:00.0000007))",
            "100, -700",
        ),
        // startofday-function, endofday-function, startofmonth-function, startofweek-function (offsets).
        (
            "range offset from -1 to 1 step 1 | project dayStart = startofday(datetime(2017-01-01 10:10:17), offset)",
            "2016-12-31T00:00:00.0000000Z; 2017-01-01T00:00:00.0000000Z; 2017-01-02T00:00:00.0000000Z",
        ),
        (
            "range offset from -1 to 1 step 1 | project dayEnd = endofday(datetime(2017-01-01 10:10:17), offset)",
            "2016-12-31T23:59:59.9999999Z; 2017-01-01T23:59:59.9999999Z; 2017-01-02T23:59:59.9999999Z",
        ),
        (
            "range offset from -1 to 1 step 1 | project monthStart = startofmonth(datetime(2017-01-01 10:10:17), offset)",
            "2016-12-01T00:00:00.0000000Z; 2017-01-01T00:00:00.0000000Z; 2017-02-01T00:00:00.0000000Z",
        ),
        (
            "range offset from -1 to 1 step 1 | project weekStart = startofweek(datetime(2017-01-01 10:10:17), offset)",
            "2016-12-25T00:00:00.0000000Z; 2017-01-01T00:00:00.0000000Z; 2017-01-08T00:00:00.0000000Z",
        ),
        ("print dayofweek(datetime(2026-11-20)), dayofweek(datetime(2026-11-22 23:59))", "5.00:00:00, 00:00:00"),
        // ago-function, now-function (now() is pinned to 2026-11-20T12:00:00Z).
        (
            "print ago(1h), ago(-1d), now(-2d), now(1h)",
            "2026-11-20T11:00:00.0000000Z, 2026-11-21T12:00:00.0000000Z, 2026-11-18T12:00:00.0000000Z, 2026-11-20T13:00:00.0000000Z",
        ),
        ("print now() - ago(30m), ago(0s) == now()", "00:30:00, true"),
        // bin-function / floor-function: rounds down.
        (
            "print bin(datetime(2026-11-20 13:45), 1h), floor(datetime(2026-11-20 13:45), 1d), bin(-4.5, 1), bin(5.5, 2), bin(17, 5), bin(90m, 1h)",
            "2026-11-20T13:00:00.0000000Z, 2026-11-20T00:00:00.0000000Z, -5, 4, 15, 01:00:00",
        ),
        ("Events | summarize count() by bin(Timestamp, 12h) | order by Timestamp asc | project count_", "2; 2; 1"),
    ]);
}

#[test]
fn datetime_formatting() {
    table(&[
        // format-datetime-function: the specifier table, on 2009-06-15T13:45:30.6175425.
        (
            "let dt = datetime(2009-06-15T13:45:30.6175425); print format_datetime(dt, 'yyyy-MM-dd HH:mm:ss.fffffff'), format_datetime(dt, 'd/M/y h:m:s tt')",
            "2009-06-15 13:45:30.6175425, 15/6/9 1:45:30 PM",
        ),
        (
            "let dt = datetime(2009-06-15T13:45:30.6175425); print format_datetime(dt, 'f'), format_datetime(dt, 'ff'), format_datetime(dt, 'fff'), format_datetime(dt, 'ffff'), format_datetime(dt, 'fffff'), format_datetime(dt, 'ffffff')",
            "6, 61, 617, 6175, 61754, 617542",
        ),
        (
            "let dt = datetime(2009-06-15T13:45:30.6175425); print format_datetime(dt, 'FFFFFFF'), format_datetime(dt, 'hh'), format_datetime(dt, 'H'), format_datetime(dt, 'MM'), format_datetime(dt, 'yy'), format_datetime(dt, 'm')",
            "6175425, 01, 13, 06, 09, 45",
        ),
        (
            "print format_datetime(datetime(2009-06-15T13:45:30.0001150), 'ss-FFFFFFF'), format_datetime(datetime(2009-06-15T13:45:09), 'ss s'), format_datetime(datetime(2009-06-01T01:09:30), 'd dd m mm H HH')",
            "30-000115, 09 9, 1 01 9 09 1 01",
        ),
        (
            "print format_datetime(datetime(1900-01-01), 'yyyy y yy'), format_datetime(datetime(2019-06-15), 'y'), format_datetime(datetime(2009-06-15T13:45:30), 'yyyy_MM_dd,HH')",
            "1900 0 00, 19, 2009_06_15,13",
        ),
        // format-timespan-function: the specifier table, on 15.13:45:30.6175425.
        (
            "let t = time(15.13:45:30.6175425); print format_timespan(t, 'd'), format_timespan(t, 'ddd'), format_timespan(t, 'ddd.HH:mm:ss.fffffff'), format_timespan(t, 'fff'), format_timespan(t, 'FF')",
            "15, 015, 015.13:45:30.6175425, 617, 61",
        ),
        (
            "print format_timespan(time(15.01:09:09), 'd.H:m:s'), format_timespan(time(15.13:45:30.0001150), 'ss-FFFFFFF')",
            "15.1:9:9, 30-000115",
        ),
    ]);
}

#[test]
fn conversion_function_examples() {
    table(&[
        // todatetime-function.
        (
            "print todatetime('2015-12-31 23:59:59.9'), todatetime('2015-12-31T23:59:59.9Z')",
            "2015-12-31T23:59:59.9000000Z, 2015-12-31T23:59:59.9000000Z",
        ),
        // scalar-data-types/datetime: the supported formats.
        (
            "print todatetime('2014-05-25T08:20:03.123456Z'), todatetime('2014-05-25T08:20:03.123456'), todatetime('2014-11-08 15:55:55')",
            "2014-05-25T08:20:03.1234560Z, 2014-05-25T08:20:03.1234560Z, 2014-11-08T15:55:55.0000000Z",
        ),
        (
            "print todatetime('Sat, 8 Nov 14 15:05:02 GMT'), todatetime('Sat, 8 Nov 14 15:05 GMT'), todatetime('8 Nov 14 15:05:02 GMT'), todatetime('8 Nov 14 15:05 GMT')",
            "2014-11-08T15:05:02.0000000Z, 2014-11-08T15:05:00.0000000Z, 2014-11-08T15:05:02.0000000Z, 2014-11-08T15:05:00.0000000Z",
        ),
        (
            "print todatetime(datetime(2024-01-01)), isnull(todatetime('')), todatetime(dynamic('2024-05-01T10:00:00Z'))",
            "2024-01-01T00:00:00.0000000Z, true, 2024-05-01T10:00:00.0000000Z",
        ),
        // totimespan-function (and the `min` unit).
        (
            "print totimespan('0.00:01:00') == time(1min), totimespan('1.02:03:04.5'), isnull(totimespan('x'))",
            "true, 1.02:03:04.5000000, true",
        ),
        ("print totimespan(dynamic('00:10:00')), totimespan(1h)", "00:10:00, 01:00:00"),
        // tostring-function.
        (
            "print tostring(123), tostring(dynamic([1, 'a'])), tostring(long(null)), tostring(1d + 2h + 3m + 4.5s)",
            r#"123, [1,"a"], , 1.02:03:04.5000000"#,
        ),
        (
            "print tostring(datetime(2024-03-26T09:39:50.7688641Z)), tostring(false), strlen(tostring(dynamic({})))",
            "2024-03-26T09:39:50.7688641Z, false, 2",
        ),
        // tobool-function, toint-function, tolong-function, todouble-function.
        (
            "print tobool('true') == true, tobool('false') == false, tobool(1) == true, tobool(123) == true",
            "true, true, true, true",
        ),
        (
            "print toint('123') == 123, toint(2.3), toint(1.9), tolong('123') == 123, tolong(dynamic(7)) + 1",
            "true, 2, 1, true, 8",
        ),
        (
            "print todouble('123.4'), toreal('0.5') * 2, todouble(2), isnull(todouble('abc')), gettype(toint('1')), gettype(todouble('1'))",
            "123.4, 1, 2, true, int, real",
        ),
        // parse-json-function / dynamic: parse_json examples.
        (
            r#"print parse_json('[43, 21, 65]'), parse_json('21'), parse_json('"21"'), parse_json('{"name":"Alan", "age":21}').name"#,
            "[43,21,65], 21, 21, Alan",
        ),
        (
            r#"print gettype(parse_json(' "abc" ')), gettype(parse_json(' {"abc":1} ')), gettype(parse_json(' [1, 2, 3] ')), gettype(todynamic('{}'))"#,
            "string, dictionary, array, dictionary",
        ),
        (
            r#"print parse_json(dynamic({"a": 1})).a, todynamic('not json'), gettype(parse_json('not json'))"#,
            "1, not json, string",
        ),
    ]);
}

#[test]
fn string_function_examples() {
    table(&[
        // strcat-function, strcat-delim-function.
        (
            r#"print str = strcat("hello", " ", "world"), strcat("a"), strcat(1, 2.5, true, 1h, datetime(2024-01-01))"#,
            "hello world, a, 12.5true01:00:002024-01-01T00:00:00.0000000Z",
        ),
        ("print st = strcat_delim('-', 1, '2', 'A', 1s)", "1-2-A-00:00:01"),
        ("print strcat_delim(', ', 'a', ''), strcat('x', long(null), 'y')", "a, , xy"),
        // tolower-function, toupper-function, strlen-function.
        (
            "print tolower('Hello'), toupper('hello'), tolower('ÀB'), strlen(''), strlen('ab c')",
            "hello, HELLO, àb, 0, 4",
        ),
        // trim-start-function.
        (
            r#"let string_to_trim = @"https://bing.com"; let substring = "https://"; print string_to_trim = string_to_trim, trimmed_string = trim_start(substring, string_to_trim)"#,
            "https://bing.com, bing.com",
        ),
        (
            r#"range x from 1 to 2 step 1 | project str = strcat("-  ", "Te st", x, @"// $") | extend trimmed_str = trim_start(@"[^\w]+", str)"#,
            "-  Te st1// $, Te st1// $; -  Te st2// $, Te st2// $",
        ),
        // trim-end-function.
        (
            r#"let string_to_trim = @"bing.com"; let substring = ".com"; print string_to_trim = string_to_trim, trimmed_string = trim_end(substring, string_to_trim)"#,
            "bing.com, bing",
        ),
        (
            r#"print str = strcat("-  ", "Te st", 1, @"// $") | extend trimmed_str = trim_end(@"[^\w]+", str)"#,
            "-  Te st1// $, -  Te st1",
        ),
        // trim-start / trim-end / trim-function: whitespace.
        (
            r#"let s = @"    Hello, world!    "; print trim_start(@"\s+", s), trim_end(@"\s+", s), trim(@"\s+", s)"#,
            "Hello, world!    ,     Hello, world!, Hello, world!",
        ),
        // let-statement: trim("1", tostring(x)).
        ("range x from 10 to 15 step 1 | project trim('1', tostring(x))", "0; ; 2; 3; 4; 5"),
        // replace-string-function: all matches, no overlap, case-sensitive.
        (
            "print replace_string('Number is 1', 'is', 'was'), replace_string('aaa', 'aa', 'b'), replace_string('A a', 'a', 'x')",
            "Number was 1, ba, A x",
        ),
        // replace-regex-function.
        (
            r"print replace_regex('a1b22', @'\d', 'X'), replace_regex('Number is 42', @'(\w+) is (\d+)', @'\2 \1'), replace_regex('abc', 'z', 'y')",
            "aXbXX, 42 Number, abc",
        ),
        // extract-function.
        (
            r#"print extract("x=([0-9.]+)", 1, "hello x=45.6|wo"), extract("x=([0-9.]+)", 1, "hello x=45.6|wo", typeof(real)) + 1"#,
            "45.6, 46.6",
        ),
        (
            r#"print extract("^.{2,2}(.{4,4})", 1, "The Quick Brown Fox"), isnull(extract("(\\d+)", 1, "abc", typeof(long)))"#,
            "e Qu, true",
        ),
        // extract-all-function.
        (
            r#"print Id = "82b8be2d-dfa7-4bd1-8f63-24ad26d31449" | extend guid_bytes = extract_all(@"([\da-f]{2})", Id) | project guid_bytes"#,
            r#"["82","b8","be","2d","df","a7","4b","d1","8f","63","24","ad","26","d3","14","49"]"#,
        ),
        (
            r#"print Id = "82b8be2d-dfa7-4bd1-8f63-24ad26d31449" | project extract_all(@"(\w)(\w+)(\w)", Id)"#,
            r#"[["8","2b8be2","d"],["d","fa","7"],["4","bd","1"],["8","f6","3"],["2","4ad26d3144","9"]]"#,
        ),
        (
            r#"print Id = "82b8be2d-dfa7-4bd1-8f63-24ad26d31449" | project extract_all(@"(\w)(\w+)(\w)", dynamic([1,3]), Id)"#,
            r#"[["8","d"],["d","7"],["4","1"],["8","3"],["2","9"]]"#,
        ),
        (
            r#"print Id = "82b8be2d-dfa7-4bd1-8f63-24ad26d31449" | project extract_all(@"(?P<first>\w)(?P<middle>\w+)(?P<last>\w)", dynamic(['first',2,'last']), Id)"#,
            r#"[["8","2b8be2","d"],["d","fa","7"],["4","bd","1"],["8","f6","3"],["2","4ad26d3144","9"]]"#,
        ),
        (r#"print isnull(extract_all(@"(\d+)", "no digits"))"#, "true"),
        // split-function.
        ("print split('aabbcc', 'bb'), split('a_b_c', '_', 2), split('abc', '')", r#"["aa","cc"], ["c"], ["abc"]"#),
        // indexof-function.
        (
            "print indexof('abcdefg', 'cde', 3, 4), indexof(1234567, 5, 1, 4), indexof('abcdefg', 'cde', 2, -1), indexof('abcdefgabcdefg', 'cde', 1, -1, 3), indexof('abc', 'x')",
            "-1, 4, 2, -1, -1",
        ),
        // countof-function.
        ("print countof('ababa', 'ab', 'normal'), countof('The cat sat', 'at'), countof('aaa', 'A')", "2, 2, 0"),
        // substring-function: clamping.
        ("print substring('abc', 1, 100), substring('abc', 0, 0), substring('hello', 1, 3)", "bc, , ell"),
        // url-decode-function.
        (
            r"let url = @'https%3a%2f%2fwww.bing.com%2f'; print original = url, decoded = url_decode(url)",
            "https%3a%2f%2fwww.bing.com%2f, https://www.bing.com/",
        ),
        ("print url_decode('a%20b%2Fc'), url_decode('plain')", "a b/c, plain"),
        // hash-sha256-function.
        (
            r#"print h1 = hash_sha256("World"), h2 = hash_sha256(datetime(2020-01-01))"#,
            "78ae647dc5544d227130a0682a51e30bc7777fbb6d8a8f17007463a3ecd1d524, ba666752dc1a20eb750b0eb64e780cc4c968bc9fb8813461c1d7e750f302d71d",
        ),
        (
            "print hash_sha256('TEXAS'), hash_sha256('KANSAS')",
            "9087f20f23f91b5a77e8406846117049029e6798ebbd0d38aea68da73a00ca37, c80e328393541a3181b258cdb4da4d00587c5045e8cf3bb6c8fdb7016b69cc2e",
        ),
        // tohex-function.
        ("print tohex(256, 2), tohex(0), tohex(255)", "100, 0, ff"),
    ]);
}

#[test]
fn dynamic_function_examples() {
    table(&[
        // array-concat-function.
        (
            "range x from 1 to 3 step 1 | extend y = x * 2 | extend z = y * 2 | extend a1 = pack_array(x, y, z), a2 = pack_array(x, y) | project array_concat(a1, a2)",
            "[1,2,4,1,2]; [2,4,8,2,4]; [3,6,12,3,6]",
        ),
        // pack-array-function.
        (
            "range x from 1 to 3 step 1 | extend y = x * 2 | extend z = y * 2 | project pack_array(x, y, z)",
            "[1,2,4]; [2,4,8]; [3,6,12]",
        ),
        (
            "range x from 1 to 3 step 1 | extend y = tostring(x * 2) | extend z = (x * 2) * 1s | project pack_array(x, y, z)",
            r#"[1,"2","00:00:02"]; [2,"4","00:00:04"]; [3,"6","00:00:06"]"#,
        ),
        // pack-function (bag_pack).
        (
            r#"print bag_pack("Level", "Information", "ProcessID", 1234, "Data", bag_pack("url", "www.bing.com"))"#,
            r#"{"Level":"Information","ProcessID":1234,"Data":{"url":"www.bing.com"}}"#,
        ),
        (
            r#"datatable(Source:int, Destination:int, Message:string)[1234, 100, "Hi", 4567, 200, "Hello", 1212, 300, "Hey"] | extend MyBag = bag_pack("Dest", Destination, "Text", Message) | project-away Source, Destination, Message | extend MyBag_Dest = MyBag.Dest, MyBag_Text = MyBag.Text"#,
            r#"{"Dest":100,"Text":"Hi"}, 100, Hi; {"Dest":200,"Text":"Hello"}, 200, Hello; {"Dest":300,"Text":"Hey"}, 300, Hey"#,
        ),
        ("print pack('a', 1, 'b', dynamic(null)), pack_array(1)", r#"{"a":1,"b":null}, [1]"#),
        // make-bag-aggregation-function (with the doc's trailing comma in the datatable).
        (
            r#"let T = datatable(prop:string, value:string)["prop01", "val_a", "prop02", "val_b", "prop03", "val_c",]; T | extend p = bag_pack(prop, value) | summarize dict = make_bag(p)"#,
            r#"{"prop01":"val_a","prop02":"val_b","prop03":"val_c"}"#,
        ),
        // bag-keys-function.
        (
            "datatable(index:long, d:dynamic)[1, dynamic({'a':'b', 'c':123}), 2, dynamic({'a':'b', 'c':{'d':123}}), 3, dynamic({'a':'b', 'c':[{'d':123}]}), 4, dynamic(null), 5, dynamic({}), 6, dynamic('a'), 7, dynamic([])] | project index, keys = bag_keys(d)",
            r#"1, ["a","c"]; 2, ["a","c"]; 3, ["a","c"]; 4, null; 5, []; 6, null; 7, null"#,
        ),
        // set-has-element-function.
        (
            r#"print arr = dynamic(["this", "is", "an", "example"]) | project Result = set_has_element(arr, "example")"#,
            "true",
        ),
        ("print set_has_element(dynamic([1, 2]), 2), set_has_element(dynamic(['a']), 'A')", "true, false"),
        // array-length-function; dynamic: array_length is null for a non-array.
        (
            // (Values in columns: Kusto refuses a literal that is no array, `array_length(dynamic({}))`.)
            r#"print a = parse_json('[1, 2, 3, "four"]'), e = dynamic([]), o = parse_json(tostring('{}')), x = parse_json(tostring('"x"')) | project array_length(a), array_length(e), isnull(array_length(o)), isnull(array_length(x))"#,
            "4, 0, true, true",
        ),
        ("Events | where isnotempty(RawEventData.Items) | project array_length(RawEventData.Items)", "2"),
        // gettype-function.
        (
            "print gettype(dynamic([])), gettype(dynamic({})), gettype(dynamic('s')), gettype(dynamic(1.5)), gettype(dynamic(true)), gettype(dynamic(null))",
            "array, dictionary, string, real, bool, null",
        ),
    ]);
}

#[test]
fn choice_and_null_function_examples() {
    table(&[
        // case-function.
        (
            r#"range Size from 1 to 15 step 2 | extend bucket = case(Size <= 3, "Small", Size <= 10, "Medium", "Large")"#,
            "1, Small; 3, Small; 5, Medium; 7, Medium; 9, Medium; 11, Large; 13, Large; 15, Large",
        ),
        // iff-function.
        (
            r#"datatable(EventType:string)["Heavy Rain", "Tornado", "Flood"] | extend Rain = iff((EventType in ("Heavy Rain", "Flash Flood", "Flood")), "Rain event", "Not rain event")"#,
            "Heavy Rain, Rain event; Tornado, Not rain event; Flood, Rain event",
        ),
        (
            "Events | extend big = iif(Size > 15, 'big', 'small') | summarize count() by big | order by big asc",
            "big, 2; small, 3",
        ),
        // coalesce-function.
        (
            r#"print result = coalesce(tolong("not a number"), tolong("42"), 33), coalesce('', '', 'c'), coalesce(datetime(null), datetime(2024-01-01))"#,
            "42, c, 2024-01-01T00:00:00.0000000Z",
        ),
        // isempty-function.
        (
            r#"print isempty(""), isempty("x"), isempty(parse_json("")), isempty(parse_json("[]")), isempty(parse_json("{}"))"#,
            "true, false, true, false, false",
        ),
        (
            r#"print isnotempty(""), isnotempty("x"), isnotempty(parse_json("")), isnotempty(parse_json("[]"))"#,
            "false, true, false, true",
        ),
        (
            "print isnull(1), isnotnull(long(null)), isnull(dynamic(null)), isnotnull(dynamic([]))",
            "false, false, true, true",
        ),
        ("Events | where isnull(Size) | project Device, Actor", "pc1, alice"),
        ("Events | where isnotempty(RawEventData.ActionScope) | count", "3"),
        // max-of-function, min-of-function.
        ("print result = max_of(10, 1, -3, 17)", "17"),
        (
            "datatable(A:int, B:int)[1, 6, 8, 1, int(null), 2, 1, int(null), int(null), int(null)] | project max_of(A, B)",
            "6; 8; 2; 1; null",
        ),
        (
            "datatable(A:int, B:int)[5, 2, 10, 1, int(null), 3, 1, int(null), int(null), int(null)] | project min_of(A, B)",
            "2; 1; 3; 1; null",
        ),
        (
            "print max_of('a', 'c', 'b'), min_of(datetime(2024-01-02), datetime(2024-01-01)), max_of(1h, 2h)",
            "c, 2024-01-01T00:00:00.0000000Z, 02:00:00",
        ),
        // abs-function.
        ("print abs(-5), abs(5), abs(-1h), abs(-0.25)", "5, 5, 01:00:00, 0.25"),
        // round-function.
        ("print round(1.4), round(-1.4), round(123.456, 2), round(1234, -2)", "1, -1, 123.46, 1200"),
    ]);
}

#[test]
fn network_and_path_function_examples() {
    table(&[
        // ipv4-is-in-range-function.
        (
            "datatable(ip_address:string, ip_range:string)['192.168.1.1', '192.168.1.1', '192.168.1.1', '192.168.1.255/24'] | extend result = ipv4_is_in_range(ip_address, ip_range)",
            "192.168.1.1, 192.168.1.1, true; 192.168.1.1, 192.168.1.255/24, true",
        ),
        (
            "print ipv4_is_in_range('10.0.0.255', '10.0.0.0/24'), ipv4_is_in_range('10.0.1.0', '10.0.0.0/24'), isnull(ipv4_is_in_range('x', '10.0.0.0/8'))",
            "true, false, true",
        ),
        // ipv4-is-private-function.
        (
            "print ipv4_is_private('10.1.2.3/24'), ipv4_is_private('172.16.0.1'), ipv4_is_private('172.31.255.255'), ipv4_is_private('172.32.0.1'), ipv4_is_private('192.169.0.1')",
            "true, true, true, false, false",
        ),
        // parse-path-function.
        (
            r"print p = parse_path(@'file://C:/temp/file.txt:some.exe') | project tostring(p.Scheme), tostring(p.RootPath), tostring(p.DirectoryPath), tostring(p.DirectoryName), tostring(p.Filename), tostring(p.AlternateDataStreamName)",
            "file, C:, C:/temp, temp, file.txt, some.exe",
        ),
        (
            r"print p = parse_path(@'\\shared\users\temp\file.txt.gz') | project tostring(p.RootPath), tostring(p.DirectoryPath), tostring(p.DirectoryName), tostring(p.Filename), tostring(p.Extension)",
            r", \\shared\users\temp, temp, file.txt.gz, gz",
        ),
        (
            "print p = parse_path('/usr/lib/temp/file.txt') | project tostring(p.DirectoryName), tostring(p.Filename), tostring(p.Extension)",
            "temp, file.txt, txt",
        ),
        // parse-url-function.
        (
            "print u = parse_url('https://user@contoso.com:8080/a/b?x=1&y=two#top') | project u.Scheme, u.Host, u.Port, u.Username, u['Query Parameters'].y, u.Fragment",
            "https, contoso.com, 8080, user, two, top",
        ),
    ]);
}

#[test]
fn project_operators_options() {
    table(&[
        // project-reorder-operator: asc/desc sort the wildcard matches by name; without one they keep the source order.
        (
            "print b = 'b', a2='a2', a3='a3', a1='a1' | project-reorder a* desc | getschema | project ColumnName",
            "a3; a2; a1; b",
        ),
        (
            "print b = 'b', a2='a2', a3='a3', a1='a1' | project-reorder a* | getschema | project ColumnName",
            "a2; a3; a1; b",
        ),
        ("print x = 1, a = 'a', b = 'b' | project-reorder b, a", "b, a, 1"),
        (
            "Events | project-reorder Size, *Type | take 1 | project-away RawEventData | getschema | project ColumnName",
            "Size; ActionType; Timestamp; Device; Actor",
        ),
        // project-keep keeps the input order; project-away with several patterns.
        ("print c = 1, b = 2, a = 3 | project-keep a, c", "1, 3"),
        ("print a1 = 1, a2 = 2, b = 3, cb = 4, c = 5 | project-away a*, *b", "5"),
        ("print a1 = 1, a2 = 2, b = 3, cb = 4 | project-away a* | getschema | project ColumnName", "b; cb"),
        ("print a = 1, b = 2 | project-rename c = a | getschema | project ColumnName", "c; b"),
        // extend/project naming: expressions without a name get Column1, Column2…
        ("print a = 1 | extend a + 1, a * 2 | getschema | project ColumnName", "a; Column1; Column2"),
        ("print a = 1 | project b = a + 1, c = 'x'", "2, x"),
        // extend-operator: an existing name is replaced.
        ("print a = 1, b = 2 | extend a = 'x' | project a, b", "x, 2"),
        ("Events | where Size > 1 | extend Doubled = Size * 2 | summarize sum(Doubled)", "130"),
    ]);
}

#[test]
fn summarize_names_and_defaults() {
    table(&[
        (
            "Events | summarize countif(Size > 1), dcountif(Actor, Size > 1), sumif(Size, Size > 1), avg(Size), min(Size), max(Size), make_bag(RawEventData), take_any(Device), arg_min(Timestamp, Actor) | getschema | project ColumnName",
            "countif_; dcountif_Actor; sumif_Size; avg_Size; min_Size; max_Size; bag_RawEventData; Device; Timestamp; Actor",
        ),
        (
            "Events | summarize count() by tostring(RawEventData.ActionScope) | getschema | project ColumnName",
            "RawEventData_ActionScope; count_",
        ),
        (
            "Events | summarize max(tostring(RawEventData.ActionComment)), c = count() | getschema | project ColumnName",
            "max_RawEventData_ActionComment; c",
        ),
        ("Events | summarize count() by Size + 1 | getschema | project ColumnName", "Column1; count_"),
        ("Events | summarize n = count(), total = sum(Size) by d = Device | order by d asc", "pc1, 4, 45; pc2, 1, 20"),
        ("Events | summarize arg_max(Size, Device, Actor)", "30, pc1, carol"),
        (
            "Events | summarize arg_min(Size, Actor), min(Timestamp), max(Timestamp)",
            "5, bob, 2026-11-18T09:00:00.0000000Z, 2026-11-20T08:00:00.0000000Z",
        ),
        ("Events | where Device == 'pc2' | summarize any(Actor), take_any(Actor)", "bob, bob"),
        (
            "Events | summarize count() by Device, ActionType | order by Device asc, ActionType asc",
            "pc1, IsolateDevice, 2; pc1, ReleaseFromIsolation, 2; pc2, IsolateDevice, 1",
        ),
        ("Events | summarize dcount(Actor), dcount(Device), dcountif(Device, isnull(Size))", "3, 2, 1"),
        // null-values / make-set: nulls are skipped by make_set and make_list, avg and sum.
        (
            "datatable(y:long)[long(null), 5, 5] | summarize make_set(y), make_list(y), count(), sum(y)",
            "[5], [5,5], 3, 10",
        ),
        (
            "range x from 1 to 4 step 1 | extend y = iff(x == 1, real(null), real(5)) | summarize sum(y), avg(y)",
            "15, 5",
        ),
        // summarize-operator: default values on empty input.
        (
            "range x from 1 to 10 step 1 | where 1 == 2 | summarize count(), countif(x > 0), dcount(x), dcountif(x, x > 0), sum(x), sumif(x, x > 0), make_set(x), make_list(x)",
            "0, 0, 0, 0, 0, 0, [], []",
        ),
        ("range x from 1 to 10 step 1 | where 1 == 2 | summarize avg(x), max(x), min(x)", "NaN, null, null"),
        // make-list / make-set with a size limit.
        (
            "range x from 1 to 10 step 1 | summarize l = make_list(x, 3), s = make_set(x, 4) | project l, array_length(s)",
            "[1,2,3], 4",
        ),
        (
            "Events | summarize make_bag(bag_pack(Device, Actor)) by ActionType | where ActionType == 'IsolateDevice' | project array_length(bag_keys(bag_))",
            "2",
        ),
    ]);
}

#[test]
fn sort_and_top_nulls() {
    let special = "range i from 0 to 6 step 1 | extend v = case(i == 0, real(null), i == 1, 0.0 / 0, i == 2, -1.0 / 0, i == 3, -5.0, i == 4, 0.0, i == 5, 5.0, 1.0 / 0)";
    table(&[
        // sort-operator: the order of null, NaN, -inf and +inf.
        (&format!("{special} | sort by v desc nulls first | project v"), "null; NaN; Infinity; 5; 0; -5; -Infinity"),
        (&format!("{special} | sort by v asc nulls last | project v"), "-Infinity; -5; 0; 5; Infinity; NaN; null"),
        ("Events | sort by Size desc nulls first | project Size", "null; 30; 20; 10; 5"),
        ("Events | order by Size asc nulls last | project Size", "5; 10; 20; 30; null"),
        ("Events | order by Size asc | project Size", "null; 5; 10; 20; 30"),
        (
            "Events | order by Device asc, Timestamp desc | project Device, Actor",
            "pc1, bob; pc1, carol; pc1, alice; pc1, alice; pc2, bob",
        ),
        // top-operator.
        ("Events | top 2 by Size | project Size", "30; 20"),
        ("Events | top 2 by Size desc nulls first | project Size", "null; 30"),
        ("Events | top 1 by Size asc nulls first | project Actor", "alice"),
        ("Events | top 3 by Timestamp asc | project Actor", "alice; bob; alice"),
        ("Events | sort by strlen(Actor) asc, Actor asc | take 2 | project Actor", "bob; bob"),
    ]);
}

#[test]
fn join_kinds_and_conditions() {
    let x = "datatable(Key:string, Value1:long)['a',1,'b',2,'b',3,'c',4]";
    let y = "datatable(Key:string, Value2:long)['b',10,'c',20,'c',30,'d',40]";
    table(&[
        // join-operator (X/Y example): schema of each kind.
        (&format!("{x} | join kind=inner ({y}) on Key | getschema | project ColumnName"), "Key; Value1; Key1; Value2"),
        (
            &format!("{x} | join kind=fullouter ({y}) on Key | order by Value1 asc, Value2 asc"),
            ", null, d, 40; a, 1, , null; b, 2, b, 10; b, 3, b, 10; c, 4, c, 20; c, 4, c, 30",
        ),
        (&format!("{x} | join kind=rightouter ({y}) on Key | where isnull(Value1) | project Key1, Value2"), "d, 40"),
        // join-operator: `anti` and `leftantisemi` are aliases of leftanti, `rightantisemi` of rightanti.
        (&format!("{x} | join kind=anti ({y}) on Key"), "a, 1"),
        (&format!("{x} | join kind=leftantisemi ({y}) on Key"), "a, 1"),
        (&format!("{x} | join kind=rightantisemi ({y}) on Key"), "d, 40"),
        (&format!("{x} | join kind=leftsemi ({y}) on Key | getschema | project ColumnName"), "Key; Value1"),
        (&format!("{x} | join kind=rightsemi ({y}) on Key | getschema | project ColumnName"), "Key; Value2"),
        // $left/$right with different names keeps both columns, unrenamed.
        (
            "datatable(a:string, l:long)['x',1,'y',2] | join kind=inner (datatable(b:string, r:long)['x',10]) on $left.a == $right.b",
            "x, 1, x, 10",
        ),
        // Several conditions, with commas or `and`.
        (
            "datatable(k1:string, k2:long, v:long)['a',1,1,'a',2,2] | join kind=inner (datatable(k1:string, k2:long, w:long)['a',2,20,'a',3,30]) on k1, k2 | project v, w",
            "2, 20",
        ),
        (
            "datatable(a:string, b:long, v:long)['a',1,1,'a',2,2] | join kind=inner (datatable(c:string, d:long, w:long)['a',2,20]) on $left.a == $right.c and $left.b == $right.d | project v, w",
            "2, 20",
        ),
        (
            "datatable(k:string, b:long, v:long)['a',1,1,'a',2,2] | join kind=inner (datatable(k:string, d:long, w:long)['a',2,20]) on k, $left.b == $right.d | project v, w",
            "2, 20",
        ),
        // join-operator: non-key columns of the same name get the suffix 1.
        (
            "datatable(key:string, value:string)['k','l'] | join kind=inner (datatable(key:string, value:string)['k','r']) on key | getschema | project ColumnName",
            "key; value; key1; value1",
        ),
        // Hints are parsed and ignored.
        (&format!("{x} | join kind=inner hint.strategy=broadcast hint.remote=auto ({y}) on Key | count"), "4"),
        // join-operator: the cross-join recipe.
        (
            "datatable(x:long)[1,2] | extend placeholder=1 | join kind=inner (datatable(y:string)['a','b'] | extend placeholder=1) on placeholder | count",
            "4",
        ),
        // as-operator: a name bound by `as` on the left can be used on the right.
        (
            "Events | where ActionType == 'IsolateDevice' | as T | where Device == 'pc2' | join kind=inner (T | where Actor == 'carol') on ActionType | project Actor, Actor1",
            "bob, carol",
        ),
        // Join on a dynamic member turned into a string.
        (
            "Events | extend Scope = tostring(RawEventData.ActionScope) | where isnotempty(Scope) | join kind=inner (datatable(Scope:string, Level:long)['Full', 1]) on Scope | project Device, Level",
            "pc1, 1",
        ),
    ]);
}

#[test]
fn lookup_kinds() {
    let facts = r#"let FactTable = datatable(Row:string, Personal:string, Family:string)["1", "Bill", "Gates", "2", "Bill", "Clinton", "3", "Bill", "Clinton", "4", "Steve", "Ballmer", "5", "Tim", "Cook"];"#;
    let dims = r#"let DimTable = datatable(Personal:string, Family:string, Alias:string)["Bill", "Gates", "billg", "Bill", "Clinton", "billc", "Steve", "Ballmer", "steveb", "Tim", "Cook", "timc"];"#;
    table(&[
        // lookup-operator: the documented example (a table name without parentheses).
        (
            &format!("{facts}{dims} FactTable | lookup kind=leftouter DimTable on Personal, Family | order by Row asc"),
            "1, Bill, Gates, billg; 2, Bill, Clinton, billc; 3, Bill, Clinton, billc; 4, Steve, Ballmer, steveb; 5, Tim, Cook, timc",
        ),
        (
            &format!("{facts}{dims} FactTable | lookup DimTable on Personal, Family | getschema | project ColumnName"),
            "Row; Personal; Family; Alias",
        ),
        (
            &format!(
                "{facts}{dims} FactTable | lookup kind=inner (DimTable | where Alias != 'timc') on Personal, Family | count"
            ),
            "4",
        ),
        (
            &format!(
                "{facts}{dims} FactTable | lookup (DimTable | where Alias != 'timc') on Personal, Family | where Row == '5' | project Alias, isempty(Alias)"
            ),
            ", true",
        ),
        // lookup-operator: right columns are renamed on a clash; duplicate right matches give several rows.
        (
            "datatable(k:string, v:long)['a',1] | lookup (datatable(k:string, v:long)['a',2]) on k | getschema | project ColumnName",
            "k; v; v1",
        ),
        (
            "datatable(k:string, v:long)['a',1] | lookup kind=inner (datatable(k:string, w:long)['a',2,'a',3]) on k | order by w asc",
            "a, 1, 2; a, 1, 3",
        ),
        (
            "datatable(Host:string, n:long)['pc1',1] | lookup (datatable(Device:string, Owner:string)['pc1','alice']) on $left.Host == $right.Device | getschema | project ColumnName",
            "Host; n; Owner",
        ),
    ]);
}

#[test]
fn union_kinds_and_sources() {
    table(&[
        // union-operator: columns of the same name and different types.
        ("union (print x=1), (print x=toint(2)) | getschema | project ColumnName", "x_long; x_int"),
        ("union kind=outer (print a = 1), (print b = 2) | getschema | project ColumnName", "a; b"),
        ("union kind=inner (print a = 1, b = 'x'), (print b = 'y', c = 2) | order by b asc", "x; y"),
        ("union withsource=Src Events, (Events | take 0) | distinct Src", "Events"),
        ("union Events, (print x = 1) | count", "6"),
        (
            "let A = Events | where Device == 'pc2'; let B = Events | where Size == 30; union A, B | project Actor | order by Actor asc",
            "bob; carol",
        ),
        ("Events | where Size == 5 | union (Events | where Size == 10) | project Size | order by Size asc", "5; 10"),
    ]);
}

#[test]
fn mv_expand_options() {
    table(&[
        // mv-expand-operator: single column, array expansion.
        (
            "datatable(a:int, b:dynamic)[1, dynamic([10, 20]), 2, dynamic(['a', 'b'])] | mv-expand b",
            "1, 10; 1, 20; 2, a; 2, b",
        ),
        // mv-expand-operator: bag expansion.
        (
            r#"datatable(a:int, b:dynamic)[1, dynamic({"prop1": "a1", "prop2": "b1"}), 2, dynamic({"prop1": "a2", "prop2": "b2"})] | mv-expand b"#,
            r#"1, {"prop1":"a1"}; 1, {"prop2":"b1"}; 2, {"prop1":"a2"}; 2, {"prop2":"b2"}"#,
        ),
        (
            r#"datatable(a:int, b:dynamic)[1, dynamic({"prop1": "a1", "prop2": "b1"})] | mv-expand kind=bag b"#,
            r#"1, {"prop1":"a1"}; 1, {"prop2":"b1"}"#,
        ),
        // mv-expand-operator: bag expansion to key-value pairs.
        (
            r#"datatable(a:int, b:dynamic)[1, dynamic({"prop1": "a1", "prop2": "b1"}), 2, dynamic({"prop1": "a2", "prop2": "b2"})] | mv-expand kind=array b | extend key = b[0], val = b[1]"#,
            r#"1, ["prop1","a1"], prop1, a1; 1, ["prop2","b1"], prop2, b1; 2, ["prop1","a2"], prop1, a2; 2, ["prop2","b2"], prop2, b2"#,
        ),
        // mv-expand-operator: zipped two columns.
        (
            r#"datatable(a:int, b:dynamic, c:dynamic)[1, dynamic({"prop1": "a", "prop2": "b"}), dynamic([5, 4, 3])] | mv-expand b, c"#,
            r#"1, {"prop1":"a"}, 5; 1, {"prop2":"b"}, 4; 1, null, 3"#,
        ),
        // mv-expand-operator: Cartesian product of two columns.
        (
            r#"datatable(a:int, b:dynamic, c:dynamic)[1, dynamic({"prop1": "a", "prop2": "b"}), dynamic([5, 6])] | mv-expand b | mv-expand c"#,
            r#"1, {"prop1":"a"}, 5; 1, {"prop1":"a"}, 6; 1, {"prop2":"b"}, 5; 1, {"prop2":"b"}, 6"#,
        ),
        // mv-expand-operator: convert output.
        (
            r#"datatable(a:string, b:dynamic, c:dynamic)["Constant", dynamic([1, 2, 3, 4]), dynamic([6, 7, 8, 9])] | mv-expand b, c to typeof(int) | getschema"#,
            "a, 0, System.String, string; b, 1, System.Object, dynamic; c, 2, System.Int32, int",
        ),
        // mv-expand-operator: with_itemindex.
        (
            "range x from 1 to 4 step 1 | summarize x = make_list(x) | mv-expand with_itemindex=Index x",
            "1, 0; 2, 1; 3, 2; 4, 3",
        ),
        // mv-expand-operator: Name = ArrayExpression adds a column; elements that don't conform to typeof become null.
        ("print a = dynamic([1, 2]), n = 'k' | mv-expand e = a", "[1,2], k, 1; [1,2], k, 2"),
        ("print a = dynamic([1, 'x']) | mv-expand a to typeof(long)", "1; null"),
        (
            "print a = dynamic(['x', 'y']) | mv-expand a to typeof(string) | extend t = gettype(a)",
            "x, string; y, string",
        ),
        (
            "print a = dynamic([1, 2, 3]), b = dynamic(['p', 'q']) | mv-expand with_itemindex=i a, b | project i, a, b",
            "0, 1, p; 1, 2, q; 2, 3, null",
        ),
        (
            "datatable(k:long, a:dynamic)[1, dynamic([1, 2, 3]), 2, dynamic([4, 5])] | mv-expand a limit 1 | project k, a",
            "1, 1; 2, 4",
        ),
        (
            "Events | mv-expand item = RawEventData.Items | where isnotempty(item) | summarize make_list(tostring(item.Name))",
            r#"["a","b"]"#,
        ),
    ]);
}

// The parse-operator doc examples' event text.
const ROW: &str = "Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=27, sliceNumber=23, lockTime=02/17/2016 08:40:01, releaseTime=02/17/2016 08:40:01, previousLockTime=02/17/2016 08:39:01)";
const BAD_TIME: &str = "Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=27, sliceNumber=23, lockTime=02/17/2016 08:40:01, releaseTime=nonValidDateTime 08:40:01, previousLockTime=02/17/2016 08:39:01)";
const BAD_LONG: &str = "Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=nonValidLongValue, sliceNumber=20, lockTime=02/17/2016 08:40:01, releaseTime=nonValidDateTime 08:40:01, previousLockTime=02/17/2016 08:39:01)";
const RELAXED: &str = r#"parse kind=relaxed EventText with * "resourceName=" resourceName ", totalSlices=" totalSlices: long ", sliceNumber=" sliceNumber: long * "lockTime=" lockTime ", releaseTime=" releaseTime: date "," * "previousLockTime=" previousLockTime: date ")" * | project-away EventText"#;

#[test]
fn parse_kinds() {
    table(&[
        // parse-operator: extract email alias and DNS.
        (
            r#"datatable(Contacts:string)["Event: LeadContact (email=john@contosohotel.com, Website=https:contosohotel.com)", "Event: LeadContact (email=abi@fourthcoffee.com, Website=https:www.fourthcoffee.com)"] | parse Contacts with * "email=" alias:string "@" domain: string ", Website=https:" WebsiteDomain: string ")" | project EmailAddress = strcat(alias, "@", domain), EmailAlias = alias, WebsiteDomain"#,
            "john@contosohotel.com, john, contosohotel.com; abi@fourthcoffee.com, abi, www.fourthcoffee.com",
        ),
        // parse-operator: "with kind = simple … you get null results for all extended columns".
        (
            &format!(
                r#"datatable(EventText:string)["{BAD_TIME}"] | {}"#,
                RELAXED.replace("kind=relaxed", "kind=simple")
            ),
            ", null, null, , null, null",
        ),
        // parse-operator: the pattern may start with a column; a non-string source is converted to string.
        ("print t = 'alice@x.com' | parse t with User '@' Domain | project User, Domain", "alice, x.com"),
        ("print n = 12345 | parse n with '12' Rest:long | project Rest + 1", "346"),
        (
            "print t = 'a=1;b=2' | parse t with 'a=' A:int ';b=' B:real | project A + B, gettype(A), gettype(B)",
            "3, int, real",
        ),
        // parse-where-operator: rows that don't parse are dropped.
        (
            "datatable(t:string)['user=alice', 'nothing', 'user=bob'] | parse-where t with 'user=' User | project User",
            "alice; bob",
        ),
        ("datatable(t:string)['n=1', 'n=x'] | parse-where t with 'n=' N:long | project N", "1"),
        ("datatable(t:string)['id=42;', 'id=;'] | parse-where kind=regex t with 'id=' Id:long ';' | project Id", "42"),
    ]);
}

#[test]
fn sources_and_small_operators() {
    table(&[
        // range-operator.
        ("range LastWeek from ago(7d) to now() step 1d | count", "8"),
        (
            "range Time from datetime(2024-01-01) to datetime(2024-01-03) step 1d",
            "2024-01-01T00:00:00.0000000Z; 2024-01-02T00:00:00.0000000Z; 2024-01-03T00:00:00.0000000Z",
        ),
        (
            "let Range1 = range Time from datetime(2024-01-01) to datetime(2024-01-05) step 1d; let Range2 = range Time from datetime(2024-01-06) to datetime(2024-01-10) step 1d; union Range1, Range2 | count",
            "10",
        ),
        ("range t from 1h to 3h step 1h", "01:00:00; 02:00:00; 03:00:00"),
        ("range r from 0.5 to 1.5 step 0.5", "0.5; 1; 1.5"),
        ("range x from 1 to 10 step 4 | getschema", "x, 0, System.Int64, long"),
        // datatable-operator: types, empty tables.
        (
            "datatable(a:int, b:real, c:bool, d:datetime, e:timespan, f:string, g:dynamic)[1, 1.5, true, datetime(2024-01-01), 1h, 'x', dynamic({'k':1})]",
            r#"1, 1.5, true, 2024-01-01T00:00:00.0000000Z, 01:00:00, x, {"k":1}"#,
        ),
        ("datatable(x:long)[] | count", "0"),
        // getschema-operator.
        (
            "datatable(a:int, b:real, d:datetime, f:string, g:dynamic)[] | getschema",
            "a, 0, System.Int32, int; b, 1, System.Double, real; d, 2, System.DateTime, datetime; f, 3, System.String, string; g, 4, System.Object, dynamic",
        ),
        (
            "Events | getschema | project ColumnName, ColumnType",
            "Timestamp, datetime; ActionType, string; Device, string; Actor, string; Size, long; RawEventData, dynamic",
        ),
        // serialize-operator, as-operator, render.
        ("datatable(x:long)[3, 1, 2] | serialize | summarize make_list(x)", "[3,1,2]"),
        ("Events | as hint.materialized=true E | where Size == 30 | project Actor", "carol"),
        ("Events | summarize count() by Device | render piechart | order by Device asc", "pc1, 4; pc2, 1"),
        // print-operator.
        ("print 0 + 1 + 2 + 3 + 4 + 5, x = 'Wow!' | getschema | project ColumnName", "print_0; x"),
        ("print 0 + 1 + 2 + 3 + 4 + 5, x = 'Wow!'", "15, Wow!"),
        // take / limit, distinct, count.
        ("Events | limit 3 | count", "3"),
        ("Events | take 100 | count", "5"),
        ("Events | distinct Actor | count", "3"),
        ("Events | where Size > 100 | count", "0"),
        ("Events | filter ActionType == 'ReleaseFromIsolation' and isnotnull(Size) | project Actor", "bob"),
    ]);
}

#[test]
fn invoke_file_profile_with_and_without_table() {
    let sha1 = "a".repeat(40);
    let sha256 = "a".repeat(64);
    let other = "b".repeat(64);
    let catalog = fixture().with_table(
        "FileProfile",
        vec![
            Column::new("SHA1", Type::String),
            Column::new("SHA256", Type::String),
            Column::new("GlobalPrevalence", Type::Long),
            Column::new("Signer", Type::String),
        ],
        vec![vec![
            Value::string(sha1.as_str()),
            Value::string(sha256.as_str()),
            Value::Long(12),
            Value::string("Microsoft"),
        ]],
    );
    let q = |s: &str| s.replace("SHA1V", &sha1).replace("SHA256V", &sha256).replace("OTHERV", &other);
    table_in(
        &catalog,
        &[
            // advanced-hunting-fileprofile-function: the default column is SHA1.
            (
                &q(
                    "datatable(SHA1:string)['SHA1V'] | invoke FileProfile() | project GlobalPrevalence, Signer, ProfileAvailability",
                ),
                "12, Microsoft, Available",
            ),
            (
                &q(
                    "datatable(InitiatingProcessSHA256:string)['SHA256V'] | invoke FileProfile(InitiatingProcessSHA256, 10) | project Signer, ProfileAvailability",
                ),
                "Microsoft, Available",
            ),
            (
                &q("datatable(SHA1:string)['SHA1V'] | invoke FileProfile(\"SHA1\", 500) | project ProfileAvailability"),
                "Available",
            ),
            (
                &q(
                    "datatable(SHA256:string, n:long)['SHA256V', 1, 'OTHERV', 2] | invoke FileProfile(SHA256) | project n, isnull(GlobalPrevalence), ProfileAvailability | order by n asc",
                ),
                "1, false, Available; 2, true, Missing",
            ),
        ],
    );
    table(&[
        (&q("print SHA1 = 'SHA1V' | invoke FileProfile() | project ProfileAvailability"), "Missing"),
        (
            &q(
                "print SHA1 = 'SHA1V' | invoke FileProfile(\"SHA1\", 500) | project ProfileAvailability, isnull(GlobalPrevalence)",
            ),
            "Missing, true",
        ),
        (
            "print InitiatingProcessSHA1 = '' | invoke FileProfile(InitiatingProcessSHA1) | getschema | project ColumnName",
            "InitiatingProcessSHA1; SHA1; SHA256; MD5; FileSize; GlobalPrevalence; GlobalFirstSeen; GlobalLastSeen; Signer; Issuer; SignerHash; IsCertificateValid; IsRootSignerMicrosoft; SignatureState; IsExecutable; ThreatName; Publisher; SoftwareName; ProfileAvailability",
        ),
    ]);
}

/// Regressions: each case once differed from Kusto's documentation.
#[test]
fn lenient_literals_nan_sorting_union_names_and_parse_modes() {
    let special = "range i from 0 to 6 step 1 | extend v = case(i == 0, real(null), i == 1, 0.0 / 0, i == 2, -1.0 / 0, i == 3, -5.0, i == 4, 0.0, i == 5, 5.0, 1.0 / 0)";
    table(&[
        // scalar-data-types/timespan: `time(15 seconds)` is 15 seconds.
        ("print time(15 seconds)", "00:00:15"),
        // todatetime-function: the documented comparison gives true.
        ("print todatetime('12-02-2022') == datetime('12-02-2022')", "true"),
        // scalar-data-types/datetime: RFC 822 without a zone.
        (
            "print todatetime('Sat, 8 Nov 14 15:05:02'), todatetime('Sat, 8 Nov 14 15:05'), todatetime('8 Nov 14 15:05:02'), todatetime('8 Nov 14 15:05')",
            "2014-11-08T15:05:02.0000000Z, 2014-11-08T15:05:00.0000000Z, 2014-11-08T15:05:02.0000000Z, 2014-11-08T15:05:00.0000000Z",
        ),
        // scalar-data-types/datetime: RFC 850.
        (
            "print todatetime('Saturday, 08-Nov-14 15:05:02 GMT'), todatetime('Saturday, 08-Nov-14 15:05:02'), todatetime('08-Nov-14 15:05:02 GMT'), todatetime('08-Nov-14 15:05')",
            "2014-11-08T15:05:02.0000000Z, 2014-11-08T15:05:02.0000000Z, 2014-11-08T15:05:02.0000000Z, 2014-11-08T15:05:00.0000000Z",
        ),
        // scalar-data-types/datetime: "sortable" with a zone.
        (
            "print todatetime('2014-11-08 15:05:25 GMT'), todatetime('2014-11-08 15:05 GMT'), todatetime('2014-11-08T15:05:25 GMT'), todatetime('2014-11-08T15:05 GMT')",
            "2014-11-08T15:05:25.0000000Z, 2014-11-08T15:05:00.0000000Z, 2014-11-08T15:05:25.0000000Z, 2014-11-08T15:05:00.0000000Z",
        ),
        // parse-operator: its outputs show `releaseTime: date` parsed from "02/17/2016 08:40:01".
        ("print todatetime('02/17/2016 08:40:01')", "2016-02-17T08:40:01.0000000Z"),
        // sort-operator: null and NaN are grouped together, at the nulls end.
        (&format!("{special} | sort by v asc nulls first | project v"), "null; NaN; -Infinity; -5; 0; 5; Infinity"),
        (&format!("{special} | sort by v desc nulls last | project v"), "Infinity; 5; 0; -5; -Infinity; NaN; null"),
        (&format!("{special} | sort by v | project v"), "Infinity; 5; 0; -5; -Infinity; NaN; null"),
        // has-anyoperator: the list may be a tabular expression (its first column).
        ("let T = datatable(x:string)['south', 'america']; print 'North America' has_any (T)", "true"),
        // Kusto.Language Aggregates.cs: any(X) has ResultNamePrefix "any" (PrefixAndFirstArgument); take_any(X) is X.
        ("Events | summarize any(Device) | getschema | project ColumnName", "any_Device"),
        // as-operator: "the union's generated TableName column will consist of 'T1' and 'T2'".
        (
            "range x from 1 to 2 step 1 | as T1 | union withsource=TableName (range x from 1 to 2 step 1 | as T2) | order by TableName asc, x asc",
            "T1, 1; T1, 2; T2, 1; T2, 2",
        ),
        (
            "union withsource=TableName (range x from 1 to 1 step 1 | as T1), (range x from 1 to 1 step 1 | as T2) | order by TableName asc",
            "T1, 1; T2, 1",
        ),
        // union-operator: "source columns types mismatch" (views written as `as`-named legs).
        (
            "union withsource=TableName (print x=1 | as View_1), (print x=toint(2) | as View_2) | order by TableName asc",
            "View_1, 1, null; View_2, null, 2",
        ),
        // union-operator: "x from View_1 received the suffix _long, and as a column named x_long already exists … x_long1".
        (
            "union withsource=TableName (print x=1 | as View_1), (print x=toint(2) | as View_2), (print x_long=3 | as View_3) | getschema | project ColumnName",
            "TableName; x_long1; x_int; x_long",
        ),
        // parse-operator: parse and extend results.
        (
            &format!(
                r#"datatable(EventText:string)["{ROW}"] | parse EventText with * "resourceName=" resourceName ", totalSlices=" totalSlices: long * "sliceNumber=" sliceNumber: long * "lockTime=" lockTime ", releaseTime=" releaseTime: date "," * "previousLockTime=" previousLockTime: date ")" * | project resourceName, totalSlices, sliceNumber, lockTime, releaseTime, previousLockTime"#
            ),
            "PipelineScheduler, 27, 23, 02/17/2016 08:40:01, 2016-02-17T08:40:01.0000000Z, 2016-02-17T08:39:01.0000000Z",
        ),
        // parse-operator: regex mode.
        (
            &format!(
                r#"datatable(EventText:string)["{ROW}"] | parse kind=regex EventText with "(.*?)[a-zA-Z]*=" resourceName @", totalSlices=\s*\d+\s*.*?sliceNumber=" sliceNumber: long ".*?(previous)?lockTime=" lockTime ".*?releaseTime=" releaseTime ".*?previousLockTime=" previousLockTime: date "\\)" | project resourceName, sliceNumber, strcat("[", lockTime, "]"), strcat("[", releaseTime, "]"), previousLockTime"#
            ),
            "PipelineScheduler, 23, [02/17/2016 08:40:01, ], [02/17/2016 08:40:01, ], 2016-02-17T08:39:01.0000000Z",
        ),
        // parse-operator: regex mode is greedy by default; flags=Ui makes it ungreedy and case-insensitive.
        (
            &format!(
                r#"datatable(EventText:string)["{ROW}"] | parse kind=regex EventText with * "resourceName=" resourceName ',' * | project resourceName"#
            ),
            "PipelineScheduler, totalSlices=27, sliceNumber=23, lockTime=02/17/2016 08:40:01, releaseTime=02/17/2016 08:40:01",
        ),
        (
            &format!(
                r#"datatable(EventText:string)["{ROW}"] | parse kind=regex flags=Ui EventText with * "RESOURCENAME=" resourceName ',' * | project resourceName"#
            ),
            "PipelineScheduler",
        ),
        // parse-operator: relaxed mode nulls only the columns that fail; simple mode nulls them all.
        (
            &format!(r#"datatable(EventText:string)["{BAD_TIME}", "{BAD_LONG}"] | {RELAXED}"#),
            "PipelineScheduler, 27, 23, 02/17/2016 08:40:01, null, 2016-02-17T08:39:01.0000000Z; PipelineScheduler, null, 20, 02/17/2016 08:40:01, null, 2016-02-17T08:39:01.0000000Z",
        ),
        // The causes, one at a time: a typed column followed by `*` (parse-operator: long is `\-\d+`)…
        ("print t = 'a=23, b=x' | parse t with 'a=' A:long * 'b=' B | project A, B", "23, x"),
        // …capture groups inside regex-mode delimiters (the doc example's "(.*?)" and "(previous)?")…
        ("print t = 'x=ab, y=2' | parse kind=regex t with '(.*?)[a-z]*=' r ', y=' Y:long | project r, Y", "ab, 2"),
        // …and the `i` flag.
        ("print t = 'x=P, y' | parse kind=regex flags=i t with * 'X=' r ',' * | project r", "P"),
    ]);
}
