//! The language the public Defender queries use beyond the first scope: the functions, operators and syntax
//! ranked by how many public queries they blocked, each with Kusto's documented examples where it gives them.

use super::*;

#[test]
fn encoding_functions() {
    table(&[
        ("print base64_encode_tostring('Kusto'), base64_decode_tostring('S3VzdG8=')", "S3VzdG8=, Kusto"),
        ("print base64_encodestring('Kusto'), base64_decodestring('S3VzdG8=')", "S3VzdG8=, Kusto"),
        ("print base64_decode_tostring('U3RyaW5n0KHRgtGA0L7QutCw')", "StringСтрока"),
        ("print isnull(base64_decode_tostring('wA=='))", "true"),
        ("print base64_decode_toarray('S3VzdG8=')", "[75,117,115,116,111]"),
        ("print url_encode('https://www.bing.com/')", "https%3A%2F%2Fwww.bing.com%2F"),
        ("print string_size('⒦⒰⒮⒯⒪'), string_size('hello')", "15, 5"),
        ("print unicode_codepoints_from_string('⒦⒰⒮⒯⒪')", "[9382,9392,9390,9391,9386]"),
        ("print unicode_codepoints_to_string(75, 117, 115, 116, 111)", "Kusto"),
        ("print unicode_codepoints_to_string(dynamic([75, 117, 115]), 116, 111)", "Kusto"),
        (
            r#"print parse_command_line('echo \"hello world!\" print$?', 'Windows')"#,
            r#"["echo","hello world!","print$?"]"#,
        ),
        ("print format_bytes(564), format_bytes(10332, 1), format_bytes(20010332)", "564 Bytes, 10.1 KB, 19 MB"),
        ("print format_bytes(100000000000, 1), format_bytes(100000000000, 2, 'MB')", "93.1 GB, 95,367.43 MB"),
    ]);
}

#[test]
fn string_functions_of_older_and_newer_kusto() {
    table(&[
        ("print replace(@'cat', 'hamster', 'A cat and a cat')", "A hamster and a hamster"),
        ("print replace(@'is (\\w*)', @'was: \\1', 'The number is 8')", "The number was: 8"),
        (
            "print strcmp('ABC', 'ABC'), strcmp('abc', 'ABC'), strcmp('ABC', 'abc'), strcmp('abcde', 'abc')",
            "0, 1, -1, 1",
        ),
        (
            "print has_any_index('this is an example', dynamic(['this', 'example'])), has_any_index('this is an example', dynamic(['not', 'example'])), has_any_index('this is an example', dynamic(['not', 'found']))",
            "0, 1, -1",
        ),
        (
            "print translate('abc', 'x', 'abc'), translate('abc', '', 'ab'), translate('krasp', 'otsku', 'spark')",
            "xxx, , kusto",
        ),
        (
            r#"print extract_json('$.hosts[1].location', '{"hosts": [{"location": "North_DC"}, {"location": "South_DC"}]}')"#,
            "South_DC",
        ),
        (
            r#"print extract_json('$.a.b', '{"a": {"b": 42}}', typeof(long)) + 1, extractjson('$.x', '{"y": 1}')"#,
            "43, ",
        ),
        (r#"print extract_json('$', '{"a": [1, 2]}')"#, r#"{"a":[1,2]}"#),
    ]);
}

#[test]
fn array_and_bag_functions() {
    table(&[
        ("print set_difference(dynamic([1, 2, 3]), dynamic([1, 2]))", "[3]"),
        ("print set_difference(dynamic([4, 5, 6, 4]), dynamic([1, 2, 3]), dynamic([7]))", "[4,5,6]"),
        ("print set_union(dynamic([1, 2, 3]), dynamic([2, 3, 4]), dynamic(['a']))", "[1,2,3,4,\"a\"]"),
        ("print set_intersect(dynamic([1, 2, 3]), dynamic([2, 3, 4]), dynamic([3, 4]))", "[3]"),
        (
            "print array_sort_asc(dynamic([null, 'blue', 'yellow', 'green', null]))",
            "[\"blue\",\"green\",\"yellow\",null,null]",
        ),
        ("print array_sort_desc(dynamic([3, 1, 2]), false)", "[3,2,1]"),
        ("print array_reverse(dynamic(['this', 'is', 'an', 'example']))", "[\"example\",\"an\",\"is\",\"this\"]"),
        ("print array_sum(dynamic([2, 5, 3]))", "10"),
        ("print zip(dynamic([1, 3, 5]), dynamic([2, 4, 6]))", "[[1,2],[3,4],[5,6]]"),
        ("print zip(dynamic(['A', 'B']), dynamic([1]))", "[[\"A\",1],[\"B\",null]]"),
        (
            "print bag_merge(dynamic({'A1': 12, 'B1': 2, 'C1': 3}), dynamic({'A2': 81, 'B2': 82, 'A1': 1}))",
            "{\"A1\":12,\"B1\":2,\"C1\":3,\"A2\":81,\"B2\":82}",
        ),
        ("print bag_remove_keys(dynamic({'key1': 123, 'key2': 'abc'}), dynamic(['key1']))", "{\"key2\":\"abc\"}"),
        ("print pack_dictionary('a', 1, 'b', 'x')", "{\"a\":1,\"b\":\"x\"}"),
    ]);
}

#[test]
fn time_parts_and_bits_and_addresses() {
    table(&[
        (
            "let dt = datetime(2017-10-30 01:02:03.7654321); print datetime_part('Year', dt), datetime_part('Quarter', dt), datetime_part('Month', dt), datetime_part('week_of_year', dt), datetime_part('Day', dt), datetime_part('DayOfYear', dt), datetime_part('Hour', dt), datetime_part('Minute', dt), datetime_part('Second', dt), datetime_part('Millisecond', dt), datetime_part('Microsecond', dt), datetime_part('Nanosecond', dt)",
            "2017, 4, 10, 44, 30, 303, 1, 2, 3, 765, 765432, 765432100",
        ),
        (
            "print make_datetime(2017, 10, 01), make_datetime(2017, 10, 01, 12, 10), make_datetime(2017, 10, 01, 12, 11, 0.1234567)",
            "2017-10-01T00:00:00.0000000Z, 2017-10-01T12:10:00.0000000Z, 2017-10-01T12:11:00.1234567Z",
        ),
        ("print isnull(make_datetime(2017, 13, 01))", "true"),
        ("print make_timespan(1, 12, 30, 55.2), make_timespan(0, 5)", "1.12:30:55.2000000, 00:05:00"),
        (
            "print week_of_year(datetime(2020-12-31)), week_of_year(datetime(2020-06-22)), week_of_year(datetime(2021-01-01)), week_of_year(datetime(2021-01-04))",
            "53, 26, 53, 1",
        ),
        ("print binary_and(6, 3), binary_or(6, 3), binary_xor(6, 3), binary_not(100)", "2, 7, 5, -101"),
        ("print binary_shift_left(1, 2), binary_shift_right(16, 2), bitset_count_ones(42)", "4, 4, 3"),
        ("print isnull(binary_shift_left(1, 64))", "true"),
        (
            "print ipv4_is_match('192.168.1.1', '192.168.1.255', 24), ipv4_is_match('192.168.1.1/24', '192.168.1.255/24'), ipv4_is_match('192.168.1.1', '192.168.1.255')",
            "true, true, false",
        ),
        (
            "print ipv4_compare('192.168.1.1', '192.168.1.255'), ipv4_compare('192.168.1.1/24', '192.168.1.255/24')",
            "-1, 0",
        ),
        (
            "print parse_ipv4('127.0.0.1'), format_ipv4('192.168.1.255', 24), format_ipv4(3232236031)",
            "2130706433, 192.168.1.0, 192.168.1.255",
        ),
        ("print ceiling(-1.1), ceiling(1.1), isfinite(1.0 / 0.0), isinf(1.0 / 0.0)", "-1, 2, false, true"),
    ]);
}

#[test]
fn aggregates_of_spread_and_rank() {
    table(&[
        (
            "range x from 1 to 10 step 1 | summarize stdev(x), variance(x), stdevp(x), variancep(x)",
            "3.0276503540974917, 9.166666666666666, 2.8722813232690143, 8.25",
        ),
        ("range x from 1 to 10 step 1 | summarize stdevif(x, x > 5), varianceif(x, x > 5)", "1.5811388300841898, 2.5"),
        ("range x from 1 to 10 step 1 | summarize percentile(x, 50), percentiles(x, 5, 95, 100)", "5, 1, 10, 10"),
        ("range x from 1 to 10 step 1 | summarize percentiles(x, 50) | project-rename p = percentile_x_50", "5"),
        ("print x = 1 | where x > 1 | summarize stdev(x)", "null"),
    ]);
}

/// `arg_max(Version, *)` over a group whose `Version` is null everywhere: its other columns come from a row
/// of the group (Kusto's documented example), not empty.
#[test]
fn arg_max_of_an_all_null_group_keeps_a_row() {
    table(&[(
        "datatable(Fruit: string, Color: string, Version: int) ['Apple', 'Red', 1, 'Apple', 'Green', int(null), 'Banana', 'Yellow', int(null), 'Banana', 'Green', int(null), 'Pear', 'Brown', 1, 'Pear', 'Green', 2] | summarize arg_max(Version, *) by Fruit | order by Fruit asc",
        "Apple, 1, Red; Banana, null, Yellow; Pear, 2, Green",
    )]);
}

#[test]
fn syntax_the_public_queries_use() {
    table(&[
        // A zero-width space, pasted from a web page, is white space.
        ("print\u{200B} x = 1\u{200B}| extend\u{200B}y = 2", "1, 2"),
        // The older `mvexpand`.
        ("print d = dynamic([1, 2]) | mvexpand d", "1; 2"),
        // An identifier that starts with digits, and a named argument that names the column.
        (
            "datatable(t: datetime) [datetime(2024-01-01 00:03), datetime(2024-01-01 00:07)] | summarize n = count() by bin(5Minutebin = t, 5m) | project 5Minutebin, n",
            "2024-01-01T00:00:00.0000000Z, 1; 2024-01-01T00:05:00.0000000Z, 1",
        ),
        ("print x = 1 | extend toint(Answer = 42) | project Answer", "42"),
        // `let x = view () { ... }`.
        ("let V = view () { print x = 1 }; V | extend y = 2", "1, 2"),
        // A join whose right side is a function call.
        (
            "let f = (n: long) { range x from 1 to n step 1 }; range x from 1 to 5 step 1 | join kind=inner f(3) on x | count",
            "3",
        ),
        // Aggregates inside expressions.
        (
            "datatable(a: string, b: long) ['x', 1, 'x', 2, 'y', 3] | summarize Pct = countif(b > 1) * 100.0 / count(), n = count() by a | order by a asc",
            "x, 50, 2; y, 100, 1",
        ),
        (
            "datatable(a: string, b: long) ['x', 1, 'x', 2, 'y', 3] | summarize tostring(make_set(b)), max(b)",
            "[1,2,3], 3",
        ),
        ("datatable(a: string, b: long) ['x', 1, 'x', 2, 'y', 3] | summarize toint(Big = dcountif(a, b > 1))", "2"),
    ]);
    assert_eq!(
        columns(
            "datatable(a: string, b: long) ['x', 1] | summarize countif(b > 1) * 100.0 / count(), tostring(make_set(b)) by a"
        ),
        "a:string, Column1:real, set_b:string"
    );
}

#[test]
fn ingestion_time_is_the_rows_time_locally() {
    table(&[(
        "Events | where ingestion_time() > datetime(2026-11-19) | project Timestamp, ingestion_time() == Timestamp",
        "2026-11-19T09:00:00.0000000Z, true; 2026-11-19T11:00:00.0000000Z, true; 2026-11-20T08:00:00.0000000Z, true",
    )]);
}

/// `mv-expand f(X)` expands into `X` (Kusto names the result after the function's first argument): it used to
/// make a `Column1` and leave `X` whole.
#[test]
fn mv_expand_of_a_call_replaces_the_column_of_its_first_argument() {
    table(&[
        (r#"print L = @'[{"U":"a"},{"U":"b"}]' | mv-expand todynamic(L) | project L"#, r#"{"U":"a"}; {"U":"b"}"#),
        ("print Changes = 'a,b' | mv-expand split(Changes, ',') | project Changes", "a; b"),
        (r#"print F = '["x","y"]' | mv-expand parse_json(F) | where F == 'y' | count"#, "1"),
    ]);
    assert_eq!(columns("print L = '[1]' | mv-expand todynamic(L)"), "L:dynamic");
}

#[test]
fn more_of_what_the_public_queries_use() {
    table(&[
        ("print x = dynamic(['a' 'b', 'c'])", "[\"ab\",\"c\"]"),
        (
            "datatable(a: string, p: string) ['abc', 'b.', 'abc', 'x.', 'abc', '['] | where a matches regex p | project p",
            "b.",
        ),
        (
            "print 'FabriKam' notcontains 'xyz', 'FabriKam' containscs 'Kam', 'FabriKam' notcontainscs 'kam'",
            "true, true, true",
        ),
        ("datatable(a: string) ['x', 'X', 'y'] | distinct N = toupper(a) | order by N asc", "X; Y"),
        (
            "let K = 'x'; print x = 1, y = 2 | project v = column_ifexists(K, 0), w = column_ifexists('nope', -1)",
            "1, -1",
        ),
        ("print a = 1, b = '' | project p = pack_all(), q = pack_all(true)", "{\"a\":1,\"b\":\"\"}, {\"a\":1}"),
        ("let f = (T: (x: long), n: long) { T | where x > n }; range x from 1 to 5 step 1 | invoke f(3)", "4; 5"),
        ("print extractall(@'(\\d)', '1a2'), make_string(75, 117)", "[\"1\",\"2\"], Ku"),
        ("print strlen(tostring(new_guid()))", "36"),
        // Named after the first argument, as Kusto names them.
        ("print T = datetime(2024-01-02) | summarize count() by format_datetime(T, 'y-M-d') | project T", "24-1-2"),
    ]);
}

#[test]
fn hashes_and_ranges() {
    table(&[
        (
            "print hash('World'), hash('World', 100), hash_xxhash64('World')",
            "1846988464401551951, 51, 1846988464401551951",
        ),
        // XXH64 of UTF-8 (checked against the reference implementation).
        (
            "print hash(''), hash('Kusto'), hash('é日本')",
            "-1205034819632174695, -6907046883270111586, -4032031760767586393",
        ),
        ("print range(1, 8, 3), range(1, 3)", "[1,4,7], [1,2,3]"),
        (
            "print range(datetime(2024-01-01), datetime(2024-01-02), 12h)",
            "[\"2024-01-01T00:00:00.0000000Z\",\"2024-01-01T12:00:00.0000000Z\",\"2024-01-02T00:00:00.0000000Z\"]",
        ),
        ("print range(5, 1, -2), range(1.0, 2.0, 0.5)", "[5,3,1], [1.0,1.5,2.0]"),
    ]);
    // Kusto hashes any type: what the engine cannot reproduce is beyond it, never a mistake in the query.
    let Err(QueryError::Invalid(errors)) = run("print hash(now())", &fixture(), &options()) else { panic!() };
    assert!(errors.0[0].message.contains("hashes only text"), "{errors:?}");
    assert_eq!(errors.0[0].kind, crate::error::ErrorKind::Unsupported);
}

/// `bag_unpack` and `pivot` make columns only the data can tell: run, their input runs first; only checked,
/// their output is open (names the data may add are accepted).
#[test]
fn plugins_whose_columns_come_from_the_data() {
    table(&[
        (
            "datatable(d: dynamic) [dynamic({'Name': 'John', 'Age': 20}), dynamic({'Name': 'Dave', 'Age': 40}), dynamic({'Name': 'Jasmine', 'Age': 30})] | evaluate bag_unpack(d) | where Age > 25",
            "40, Dave; 30, Jasmine",
        ),
        (
            "datatable(x: long, d: dynamic) [1, dynamic({'a': 1}), 2, dynamic({'b': 2})] | evaluate bag_unpack(d, 'p_')",
            "1, 1, null; 2, null, 2",
        ),
        (
            "datatable(x: long, d: dynamic) [1, dynamic({'x': 5, 'y': 6})] | evaluate bag_unpack(d, columnsConflict='replace_source')",
            "5, 6",
        ),
        (
            "datatable(x: long, d: dynamic) [1, dynamic({'x': 5, 'y': 6})] | evaluate bag_unpack(d, columnsConflict='keep_source')",
            "1, 6",
        ),
        (
            "datatable(d: dynamic) [dynamic({'a': 1, 'b': 2})] | evaluate bag_unpack(d, ignoredProperties=dynamic(['b']))",
            "1",
        ),
        (
            // The columns not pivoted group the rows (State, Damage), as Kusto's pivot does by default.
            "datatable(State: string, Type: string, Damage: long) ['TX', 'Hail', 1, 'TX', 'Flood', 2, 'OK', 'Hail', 3, 'TX', 'Hail', 4] | evaluate pivot(Type) | order by State asc, Damage asc",
            "OK, 3, 0, 1; TX, 1, 0, 1; TX, 2, 1, 0; TX, 4, 0, 1",
        ),
        (
            "datatable(State: string, Type: string, Damage: long) ['TX', 'Hail', 1, 'TX', 'Flood', 2, 'OK', 'Hail', 3, 'TX', 'Hail', 4] | evaluate pivot(Type, sum(Damage), State) | order by State asc",
            "OK, 0, 3; TX, 2, 5",
        ),
    ]);
    assert_eq!(
        columns(
            "datatable(State: string, Type: string) ['TX', 'Hail', 'OK', 'Flood'] | evaluate pivot(Type, count(), State)"
        ),
        "State:string, Flood:long, Hail:long"
    );
    assert!(
        error("datatable(x: long, d: dynamic) [1, dynamic({'x': 5})] | evaluate bag_unpack(d)")
            .contains("the input has already")
    );
    assert!(error("print x = 1 | evaluate narrow()").contains("does not implement Kusto's plugin 'narrow'"));

    // Only checked: the columns the data would add are accepted, and the output says it is open.
    let checked = super::super::compile(
        "Events | evaluate bag_unpack(RawEventData) | where ActionComment has 'x' | project Device, ActionComment",
        &fixture(),
    )
    .expect("accepted: the bags may hold ActionComment");
    assert!(!checked.is_open(), "project decides its columns");
    let open = super::super::compile("Events | evaluate bag_unpack(RawEventData)", &fixture()).expect("accepted");
    assert!(open.is_open());
    // The project-* operators name columns too: over an open schema, those the data may add are accepted.
    for operator in [
        "project-reorder Name, Device",
        "project-away Name",
        "project-keep Name, Device",
        "project-rename Actor = Name",
    ] {
        let query = format!("Events | evaluate bag_unpack(RawEventData) | {operator}");
        let plan = super::super::compile(&query, &fixture()).unwrap_or_else(|e| panic!("{query}: {e:?}"));
        assert!(plan.is_open(), "{query}");
    }
    // ...and when the query runs they are checked against the columns the data gave.
    assert!(error("Events | evaluate bag_unpack(RawEventData) | project-reorder Nowhere").contains("Nowhere"));
}

/// `iff` and `case` take the type of their branches that are not dynamic (Kusto's "common non-dynamic"), the
/// dynamic ones converted to it: a union of such a column with a string column stays one column.
#[test]
fn iff_and_case_over_a_dynamic_branch_take_the_other_branch_type() {
    table(&[
        ("print p = split('a.b', '.') | extend x = iff(true, p[0], 'z') | project gettype(x), x", "string, a"),
        ("print p = dynamic([7]) | extend x = case(false, 1, p[0]) | project gettype(x), x", "long, 7"),
        ("print p = dynamic([7]) | extend x = iff(true, p, p) | project gettype(x)", "array"),
        (
            "let A = print p = split('a.b', '.') | project E = iff(true, p[0], 'z'); \
             let B = print E = 'b'; union A, B | getschema | project ColumnName",
            "E",
        ),
    ]);
}

/// The window functions over a serialized row set, with the examples of Kusto's documentation (prevfunction,
/// nextfunction, rownumberfunction, rowcumsumfunction).
#[test]
fn window_functions_read_the_neighbouring_rows() {
    table(&[
        (
            "range x from 1 to 5 step 1 | extend p = prev(x), n = next(x, 2, -1)",
            "1, null, 3; 2, 1, 4; 3, 2, 5; 4, 3, -1; 5, 4, -1",
        ),
        ("range a from 1 to 4 step 1 | sort by a desc | extend rn = row_number()", "4, 1; 3, 2; 2, 3; 1, 4"),
        (
            "datatable(a: long) [1, 2, 3, 4, 5, 6] | where a % 2 == 0 | serialize cs = row_cumsum(a)",
            "2, 2; 4, 6; 6, 12",
        ),
        (
            "datatable(Airport: string, Airline: string, Departures: long) ['TLV', 'LH', 1, 'TLV', 'LY', 100, \
             'SEA', 'LH', 1, 'SEA', 'BA', 2, 'SEA', 'LY', 0] | sort by Airport asc, Departures desc \
             | extend Rank = row_number(1, prev(Airport) != Airport)",
            "SEA, BA, 2, 1; SEA, LH, 1, 2; SEA, LY, 0, 3; TLV, LY, 100, 1; TLV, LH, 1, 2",
        ),
        (
            "datatable(name: string, month: int, salary: long) ['Alice', 1, 1000, 'Bob', 1, 1000, 'Alice', 2, 2000, \
             'Bob', 2, 1950, 'Alice', 3, 1400, 'Bob', 3, 1450] | order by name asc, month asc \
             | extend total = row_cumsum(salary, name != prev(name))",
            "Alice, 1, 1000, 1000; Alice, 2, 2000, 3000; Alice, 3, 1400, 4400; Bob, 1, 1000, 1000; Bob, 2, 1950, 2950; Bob, 3, 1450, 4400",
        ),
        // In a where and a project; a session gap in a hunting query.
        ("range x from 1 to 5 step 1 | where x - prev(x, 1, 0) == 1 and x % 2 == 1", "1; 3; 5"),
        (
            "datatable(T: datetime) [datetime(2024-01-01 10:00), datetime(2024-01-01 10:05), datetime(2024-01-01 12:00)] \
             | sort by T asc | project T, Gap = T - prev(T)",
            "2024-01-01T10:00:00.0000000Z, null; 2024-01-01T10:05:00.0000000Z, 00:05:00; 2024-01-01T12:00:00.0000000Z, 01:55:00",
        ),
    ]);
    assert_eq!(columns("range x from 1 to 2 step 1 | extend p = prev(x), y = 1"), "x:long, p:long, y:long");
    // Kusto refuses them over rows in no defined order.
    assert!(error("datatable(x: long) [1, 2] | extend p = prev(x)").contains("the row set must be serialized"));
    assert!(
        error("range x from 1 to 3 step 1 | summarize by x | extend rn = row_number()").contains("must be serialized")
    );
}

#[test]
fn a_window_default_of_another_type_is_beyond_the_engine_not_an_error() {
    let Err(QueryError::Invalid(errors)) =
        run("range x from 1 to 2 step 1 | extend T = now() | extend n = next(T, 1, 0)", &fixture(), &options())
    else {
        panic!()
    };
    assert_eq!(errors.0[0].kind, crate::error::ErrorKind::Unsupported, "{errors:?}");
    assert_eq!(columns("datatable(a: int) [1, 2] | serialize s = row_cumsum(a)"), "a:int, s:int");
}

#[test]
fn trigonometry_and_random_numbers() {
    table(&[
        (
            "print sin(0), cos(0), round(tan(pi() / 4), 6), round(degrees(pi()), 6), radians(180) == pi()",
            "0, 1, 1, 180, true",
        ),
        (
            "print round(asin(1) * 2, 6) == round(pi(), 6), acos(1), atan(0), atan2(0, 1), log2(8), exp2(3), exp10(2)",
            "true, 0, 0, 0, 3, 8, 100",
        ),
    ]);
    let query = "range i from 1 to 200 step 1 | extend r = rand(), n = rand(10) \
                 | summarize min(r), max(r), min(n), max(n), dcount(r)";
    let draws = run(query, &fixture(), &options()).expect("runs").table.rows;
    let [low, high, least, most, distinct] = &draws[0][..] else { panic!("{draws:?}") };
    assert!(low.as_f64().is_some_and(|x| x >= 0.0) && high.as_f64().is_some_and(|x| x < 1.0), "{draws:?}");
    assert!(least.as_f64() == Some(0.0) && most.as_f64() == Some(9.0), "200 draws of 10 cover 0 to 9: {draws:?}");
    assert!(distinct.as_i64().is_some_and(|n| n > 150), "{draws:?}");
}

/// Kusto's documented `make-series` data: one metric at irregular times around ten days.
const METRIC: &str = "datatable(timestamp: datetime, metric: real) [\
    datetime(2016-12-31T06:00), 50, datetime(2017-01-01), 4, datetime(2017-01-02), 3, datetime(2017-01-03), 4, \
    datetime(2017-01-03T03:00), 6, datetime(2017-01-05), 8, datetime(2017-01-05T13:40), 13, \
    datetime(2017-01-06), 4, datetime(2017-01-07), 3, datetime(2017-01-08), 8, datetime(2017-01-08T21:00), 8, \
    datetime(2017-01-09), 2, datetime(2017-01-09T12:00), 11, datetime(2017-01-10T05:00), 5]";

#[test]
fn make_series_fills_every_step_of_the_axis() {
    let days = |from: u32, to: u32| {
        let days: Vec<String> = (from..=to).map(|d| format!("\"2017-01-{d:02}T00:00:00.0000000Z\"")).collect();
        format!("[{}]", days.join(","))
    };
    let window = "on timestamp from datetime(2017-01-01) to datetime(2017-01-10) step 1d";
    table(&[
        // Kusto's documented answer.
        (
            &format!("{METRIC} | make-series avg(metric) {window}"),
            &format!("[4.0,3.0,5.0,0.0,10.5,4.0,3.0,8.0,6.5], {}", days(1, 9)),
        ),
        (
            &format!("{METRIC} | make-series avg(metric) default=real(null) {window} | project avg_metric"),
            "[4.0,3.0,5.0,null,10.5,4.0,3.0,8.0,6.5]",
        ),
        // An empty input makes no row, unless `kind=nonempty`.
        (&format!("{METRIC} | take 0 | make-series avg(metric) default=1.0 {window} | count"), "0"),
        (
            &format!("{METRIC} | take 0 | make-series kind=nonempty avg(metric) default=1.0 {window}"),
            &format!("[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0], {}", days(1, 9)),
        ),
        // Without bounds: from the first bin with data to the last.
        (
            &format!(
                "{METRIC} | where timestamp > datetime(2017-01-05) | make-series n = count() on timestamp step 1d | project n"
            ),
            "[1,1,1,2,2,1]",
        ),
        // By group, each with the same axis; names, `count()` as long, several aggregates.
        (
            "datatable(T: datetime, Who: string, Size: long) [datetime(2024-01-01 01:00), 'a', 5, \
             datetime(2024-01-01 02:30), 'b', 7, datetime(2024-01-01 02:10), 'a', 1] \
             | make-series Logons = count(), sum(Size) default = -1 on T from datetime(2024-01-01) to datetime(2024-01-01 03:00) step 1h by Who",
            "a, [0,1,1], [-1,5,1], [\"2024-01-01T00:00:00.0000000Z\",\"2024-01-01T01:00:00.0000000Z\",\"2024-01-01T02:00:00.0000000Z\"]; \
             b, [0,0,1], [-1,-1,7], [\"2024-01-01T00:00:00.0000000Z\",\"2024-01-01T01:00:00.0000000Z\",\"2024-01-01T02:00:00.0000000Z\"]",
        ),
        // The alternate syntax: the stop is inclusive.
        ("range x from 1 to 10 step 1 | make-series sum(x) on x in range(0, 8, 4)", "[6,22,8], [0,4,8]"),
        // A numeric axis with a `from` that is not a multiple of the step: bins start at `from`.
        ("range x from 1 to 10 step 1 | make-series c = count() on x from 3 to 9 step 2", "[2,2,2], [3,5,7]"),
        // The hunting pattern: a series, then back to rows.
        (
            &format!(
                "{METRIC} | make-series n = count() {window} | mv-expand n to typeof(long), timestamp to typeof(datetime) | where n > 1"
            ),
            "2, 2017-01-03T00:00:00.0000000Z; 2, 2017-01-05T00:00:00.0000000Z; 2, 2017-01-08T00:00:00.0000000Z; 2, 2017-01-09T00:00:00.0000000Z",
        ),
    ]);
    assert_eq!(
        columns(&format!("{METRIC} | extend k = 'x' | make-series c = count(), max(metric) {window} by k")),
        "k:string, c:dynamic, max_metric:dynamic, timestamp:dynamic"
    );
    assert!(
        error(&format!("{METRIC} | make-series count() on metric step 1d"))
            .contains("a step over a real axis is a number")
    );
    assert!(
        error(&format!("{METRIC} | make-series count() on tostring(metric) step 1"))
            .contains("the axis is a datetime, a timespan or a number")
    );
    assert!(
        error(&format!("{METRIC} | make-series count() on timestamp from timestamp step 1d"))
            .contains("depends on the row")
    );
    assert!(error(&format!("{METRIC} | make-series count() on timestamp step 1d by nope")).contains("nope"));
    let too_long = format!(
        "{METRIC} | make-series count() on timestamp from datetime(2000-01-01) to datetime(2017-01-01) step 1s"
    );
    assert!(error(&too_long).contains("limit is 1048576"), "{}", error(&too_long));
    // Beyond the engine, not an error: Kusto may accept them.
    for query in [
        format!("{METRIC} | make-series make_set(metric) {window}"),
        format!("{METRIC} | extend d = todynamic(timestamp) | make-series count() on d step 1d"),
    ] {
        let Err(QueryError::Invalid(errors)) = run(&query, &fixture(), &options()) else { panic!("{query}") };
        assert_eq!(errors.0[0].kind, crate::error::ErrorKind::Unsupported, "{query}: {errors:?}");
    }
}

#[test]
fn mv_apply_runs_its_subquery_over_each_rows_elements() {
    table(&[
        // Kusto's documented examples.
        (
            "datatable(index: int, Arr: dynamic) [0, dynamic([7]), 1, dynamic([6, 11, 7])] \
             | mv-apply Arr2 = Arr to typeof(long) on (take 100)",
            "0, [7], 7; 1, [6,11,7], 6; 1, [6,11,7], 11; 1, [6,11,7], 7",
        ),
        (
            "datatable(index: int, Arr: dynamic) [0, dynamic([1, 5, 3]), 1, dynamic([10, 2, 5, 7])] \
             | mv-apply topElem = Arr to typeof(long) on (top 1 by topElem)",
            "0, [1,5,3], 5; 1, [10,2,5,7], 10",
        ),
        (
            "datatable(index: int, Arr: dynamic) [0, dynamic([5, 1, 3]), 1, dynamic([4, 10, 8, 7])] \
             | mv-apply Arr2 = Arr to typeof(long) on (top 2 by Arr2 | summarize Top2 = make_list(Arr2))",
            "0, [5,1,3], [5,3]; 1, [4,10,8,7], [10,8]",
        ),
        (
            "datatable(Val: int, Arr1: dynamic, Arr2: dynamic) [1, dynamic(['A1', 'A2', 'A3']), dynamic([10, 30, 7]), \
             7, dynamic(['B1', 'B2', 'B5']), dynamic([15, 11, 50]), 3, dynamic(['C1', 'C2', 'C3', 'C4']), dynamic([6, 40, 20, 8])] \
             | mv-apply NewArr1 = Arr1, NewArr2 = Arr2 to typeof(long) on (top 2 by NewArr2 \
             | summarize NewArr1 = make_list(NewArr1), NewArr2 = make_list(NewArr2)) | project Val, NewArr1, NewArr2",
            "1, [\"A2\",\"A1\"], [30,10]; 7, [\"B5\",\"B1\"], [50,15]; 3, [\"C2\",\"C3\"], [40,20]",
        ),
        (
            "datatable(row: int, Arr: dynamic) [0, dynamic([5, 1, 3]), 1, dynamic([4, 10, 8, 7])] \
             | mv-apply with_itemindex = index value = Arr to typeof(long) on (where index >= 2)",
            "0, [5,1,3], 3, 2; 1, [4,10,8,7], 8, 2; 1, [4,10,8,7], 7, 3",
        ),
        (
            "datatable(Val: int, Arr1: dynamic, Arr2: dynamic) [1, dynamic(['A1', 'A2']), dynamic(['B1', 'B2', 'B3']), \
             5, dynamic(['C1', 'C2']), dynamic(['D1'])] \
             | mv-apply T1 = Arr1, T2 = Arr2 on (extend Out = strcat(T1, '_', T2) | summarize Out = make_list(Out)) \
             | project Val, Out",
            "1, [\"A1_B1\",\"A2_B2\",\"_B3\"]; 5, [\"C1_D1\",\"C2_\"]",
        ),
        // Unnamed, a column is expanded in place; the subquery sees every column; a row whose subquery
        // gives nothing is dropped.
        (
            "datatable(Device: string, Ports: dynamic) ['pc1', dynamic([22, 3389, 443]), 'pc2', dynamic([80])] \
             | mv-apply Ports to typeof(long) on (where Ports > 1000 | extend Who = Device)",
            "pc1, 3389, pc1",
        ),
    ]);
    assert_eq!(
        columns(
            "datatable(Device: string, Ports: dynamic) ['pc1', dynamic([22])] | mv-apply Ports to typeof(long) on (take 1)"
        ),
        "Device:string, Ports:long"
    );
    assert!(error("datatable(a: dynamic) [dynamic([1])] | mv-apply a on (where nope > 1)").contains("nope"));
    assert!(error("datatable(a: string) ['x'] | mv-apply a on (take 1)").contains("mv-expand expects a dynamic"));
}

#[test]
fn deprecated_argmax_and_argmin_name_their_columns_after_the_maximized_one() {
    let supplies = "datatable(Product: string, Supplier: string, Price: long) \
                    ['apple', 'a', 3, 'apple', 'b', 2, 'pear', 'c', 5, 'pear', 'd', 7]";
    table(&[
        (&format!("{supplies} | summarize argmin(Price, Supplier) by Product"), "apple, 2, b; pear, 5, c"),
        (&format!("{supplies} | summarize argmax(Price, *) by Product"), "apple, 3, a; pear, 7, d"),
        (&format!("{supplies} | summarize (P, S) = argmin(Price, Supplier) by Product"), "apple, 2, b; pear, 5, c"),
        (&format!("{supplies} | summarize (P, S) = arg_min(Price, Supplier)"), "2, b"),
    ]);
    assert_eq!(
        columns(&format!(
            "{supplies} | summarize argmin(Price, Supplier), argmax(Price, strcat(Supplier, '!')) by Product"
        )),
        "Product:string, min_Price:long, min_Price_Supplier:string, max_Price:long, max_Price_arg1:string"
    );
    assert_eq!(
        columns(&format!("{supplies} | summarize argmax(Price, *) by Product")),
        "Product:string, max_Price:long, max_Price_Supplier:string"
    );
    assert_eq!(
        columns(&format!("{supplies} | summarize (Cheapest, From) = arg_min(Price, Supplier) by Product")),
        "Product:string, Cheapest:long, From:string"
    );
}

#[test]
fn partition_runs_its_subquery_over_each_value_of_the_column() {
    let storms = "datatable(State: string, EventType: string, Injuries: long) [\
        'WYOMING', 'Hail', 0, 'WYOMING', 'Hail', 1, 'WYOMING', 'Wind', 5, 'WYOMING', 'Snow', 0, \
        'WASHINGTON', 'Wind', 13, 'WASHINGTON', 'Fire', 2, 'WASHINGTON', 'Fire', 1]";
    table(&[
        (
            &format!(
                "{storms} | partition hint.strategy=native by State \
                 (summarize Events = count(), Injuries = sum(Injuries) by EventType, State | top 2 by Events)"
            ),
            "Hail, WYOMING, 2, 1; Wind, WYOMING, 1, 5; Fire, WASHINGTON, 2, 3; Wind, WASHINGTON, 1, 13",
        ),
        (
            &format!("{storms} | partition by State (top 1 by Injuries | project State, EventType)"),
            "WYOMING, Wind; WASHINGTON, Wind",
        ),
        (&format!("{storms} | partition hint.strategy=shuffle by EventType (take 1) | count"), "4"),
    ]);
    // Kusto refuses more than 64 partitions with the legacy strategy, the default.
    assert!(error("range x from 1 to 65 step 1 | partition by x (take 1)").contains("more than the 64"));
    assert_eq!(rows("range x from 1 to 65 step 1 | partition hint.strategy=native by x (take 1) | count"), "65");
    assert!(error("range x from 1 to 3 step 1 | partition by y (take 1)").contains("'y'"));
    // Beyond the engine: an explicit source, and what would replace the partition's rows.
    for query in [
        "range x from 1 to 2 step 1 | partition hint.strategy=legacy by x { Events | where Size == toscalar(x) }",
        "range x from 1 to 2 step 1 | partition by x (as P | extend n = toscalar(P | count))",
        "range x from 1 to 2 step 1 | partition by x (getschema)",
        "print a = dynamic([1]) | mv-apply a on (where a > 0 | as Q | take 1)",
    ] {
        let Err(QueryError::Invalid(errors)) = run(query, &fixture(), &options()) else { panic!("{query}") };
        assert_eq!(errors.0[0].kind, crate::error::ErrorKind::Unsupported, "{query}: {errors:?}");
    }
}

#[test]
fn top_nested_keeps_the_top_groups_of_each_level() {
    // Kusto's documented example (its rows in another order: Kusto's order is not defined).
    table(&[(
        "datatable(id: string, timestamp: datetime, otherInformation: string) [\
         'Barak', datetime(2015-01-01), '1', 'Barak', datetime(2016-01-01), '2', 'Barak', datetime(2017-01-20), '3', \
         'Donald', datetime(2017-01-20), '4', 'Donald', datetime(2017-01-18), '5', 'Donald', datetime(2017-01-19), '6'] \
         | top-nested of id by Ignore0 = max(1), top-nested 2 of timestamp by Ignore1 = max(timestamp), \
           top-nested of otherInformation by Ignore2 = max(1) \
         | project-away Ignore0, Ignore1, Ignore2 | sort by id asc, timestamp asc",
        "Barak, 2016-01-01T00:00:00.0000000Z, 2; Barak, 2017-01-20T00:00:00.0000000Z, 3; \
         Donald, 2017-01-19T00:00:00.0000000Z, 6; Donald, 2017-01-20T00:00:00.0000000Z, 4",
    )]);
    let sales = "datatable(Region: string, Seller: string, Amount: long) ['N', 'a', 5, 'N', 'b', 7, 'N', 'a', 4, \
                 'S', 'c', 20, 'S', 'd', 1, 'E', 'e', 2, 'W', 'f', 3]";
    table(&[
        (
            &format!("{sales} | top-nested 2 of Region by sum(Amount), top-nested 1 of Seller by sum(Amount)"),
            "S, 21, c, 20; N, 16, a, 9",
        ),
        (
            &format!("{sales} | top-nested 2 of Region with others = 'Other' by Total = sum(Amount) asc"),
            "E, 2; W, 3; Other, 37",
        ),
    ]);
    assert_eq!(
        columns(&format!("{sales} | top-nested 1 of Region by sum(Amount), top-nested of bin(Amount, 10) by count()")),
        "Region:string, aggregated_Region:long, Amount:long, aggregated_Amount:long"
    );
    assert!(error(&format!("{sales} | top-nested 1 of Nope by count()")).contains("Nope"));
    let Err(QueryError::Invalid(errors)) = run(
        &format!("{sales} | top-nested 1 of Region with others = 'x' by count(), top-nested 1 of Seller by count()"),
        &fixture(),
        &options(),
    ) else {
        panic!()
    };
    assert_eq!(errors.0[0].kind, crate::error::ErrorKind::Unsupported, "{errors:?}");
}

#[test]
fn search_tests_every_column_of_every_table_it_names() {
    table(&[
        // A bare term is `has` in any column (case-insensitive), with the table of each row first.
        ("search 'BOB' | project $table, Device", "Events, pc2; Events, pc1"),
        ("search in (Events) Actor:'bob' and Size > 10 | project Device, Size", "pc2, 20"),
        ("search 'Isolat*' | count", "3"),
        ("search '*olateDev*' | count", "3"),
        ("search '*Isolation' | count", "2"),
        ("search 'Release*Isolation' | count", "2"),
        ("search 'malware' or 'suspicious' | project Device, Actor", "pc1, alice; pc2, bob"),
        ("search kind=case_sensitive 'BOB' | count", "0"),
        ("search * | count", "5"),
        ("Events | search 'carol' | project $table, Device", "Events, pc1"),
        // `* has` is also a where's.
        ("Events | where * has 'clean' | project Device", "pc1"),
    ]);
    assert_eq!(
        columns("Events | search 'carol' | project-away RawEventData"),
        "$table:string, Timestamp:datetime, ActionType:string, Device:string, Actor:string, Size:long"
    );
    assert!(error("search in (Nope) 'x'").contains("Nope"));
    assert!(error("Events | search in (Events) 'x'").contains("searches its input"));
    for query in ["Events | take 2 | search 'x'", "Events | where * !has 'x'"] {
        let Err(QueryError::Invalid(errors)) = run(query, &fixture(), &options()) else { panic!("{query}") };
        assert_eq!(errors.0[0].kind, crate::error::ErrorKind::Unsupported, "{query}: {errors:?}");
    }
}

#[test]
fn find_gives_the_columns_kusto_documents() {
    let tables = "let EventsTable1 = datatable(Session_Id: string, Level: string, EventText: string, Version: string) [\
        'acbd207d-51aa-4df7-bfa7-be70eb68f04e', 'Information', 'Some Text1', 'v1.0.0', \
        'acbd207d-51aa-4df7-bfa7-be70eb68f04e', 'Error', 'Some Text2', 'v1.0.0', \
        '28b8e46e-3c31-43cf-83cb-48921c3986fc', 'Error', 'Some Text3', 'v1.0.1', \
        '8f057b11-3281-45c3-a856-05ebb18a3c59', 'Information', 'Some Text4', 'v1.1.0']; \
        let EventsTable2 = datatable(Session_Id: string, Level: string, EventText: string, EventName: string) [\
        'f7d5f95f-f580-4ea6-830b-5776c8d64fdd', 'Information', 'Some Other Text1', 'Event1', \
        'acbd207d-51aa-4df7-bfa7-be70eb68f04e', 'Information', 'Some Other Text2', 'Event2', \
        'acbd207d-51aa-4df7-bfa7-be70eb68f04e', 'Error', 'Some Other Text3', 'Event3', \
        '15eaeab5-8576-4b58-8fc6-478f75d8fee4', 'Error', 'Some Other Text4', 'Event4'];";
    let id = "acbd207d-51aa-4df7-bfa7-be70eb68f04e";
    table(&[
        // Kusto's documented examples, their answers.
        (
            &format!(
                "{tables} find in (EventsTable1, EventsTable2) where Session_Id == '{id}' and Level == 'Error' \
                 project EventText, Version, EventName, pack_all()"
            ),
            &format!(
                "EventsTable1, Some Text2, v1.0.0, , {{\"Session_Id\":\"{id}\",\"Level\":\"Error\"}}; \
                 EventsTable2, Some Other Text3, , Event3, {{\"Session_Id\":\"{id}\",\"Level\":\"Error\"}}"
            ),
        ),
        (
            &format!(
                "{tables} find in (EventsTable1, EventsTable2) where Version == 'v1.0.0' or EventName == 'Event1' \
                 project Session_Id, EventText, Version, EventName"
            ),
            &format!(
                "EventsTable1, {id}, Some Text1, v1.0.0, ; EventsTable1, {id}, Some Text2, v1.0.0, ; \
                 EventsTable2, f7d5f95f-f580-4ea6-830b-5776c8d64fdd, Some Other Text1, , Event1"
            ),
        ),
        (
            &format!("{tables} find in (EventsTable1, EventsTable2) where Session_Id == '{id}'"),
            &format!(
                "EventsTable1, {id}, Information, Some Text1, {{\"Version\":\"v1.0.0\"}}; \
                 EventsTable1, {id}, Error, Some Text2, {{\"Version\":\"v1.0.0\"}}; \
                 EventsTable2, {id}, Information, Some Other Text2, {{\"EventName\":\"Event2\"}}; \
                 EventsTable2, {id}, Error, Some Other Text3, {{\"EventName\":\"Event3\"}}"
            ),
        ),
        (
            &format!(
                "{tables} find in (EventsTable1, EventsTable2) where Level == 'Error' and EventText has 'Text4' project pack_all()"
            ),
            "EventsTable2, {\"Session_Id\":\"15eaeab5-8576-4b58-8fc6-478f75d8fee4\",\"Level\":\"Error\",\"EventText\":\"Some Other Text4\",\"EventName\":\"Event4\"}",
        ),
        // Only the tables with a column the predicate names are searched; a term searches them all.
        (
            &format!(
                "{tables} find withsource = T in (EventsTable1, EventsTable2) where EventName == 'Event4' | project T"
            ),
            "EventsTable2",
        ),
        (
            &format!("{tables} find in (EventsTable1, EventsTable2) 'Text4' | project source_"),
            "EventsTable1; EventsTable2",
        ),
    ]);
    assert_eq!(
        columns(&format!("{tables} find in (EventsTable1, EventsTable2) where Session_Id == '{id}'")),
        "source_:string, Session_Id:string, Level:string, EventText:string, pack_:dynamic"
    );
    assert_eq!(
        columns(&format!(
            "{tables} find in (EventsTable1, EventsTable2) where Version == 'x' project Version, Level:dynamic"
        )),
        "source_:string, Version:string, Level:dynamic"
    );
    // Over the known tables of a real schema: the column reads as null where a table lacks it.
    assert_eq!(rows("find in (Events) where Device == 'pc2' project Actor, Size"), "Events, bob, 20");
    assert!(error(&format!("{tables} find in (EventsTable1) where Level == 'x' project Nope")).contains("Nope"));
    assert!(error("find in (Nope) where x == 1").contains("Nope"));
}

#[test]
fn scan_follows_kustos_documented_logic() {
    let events = "datatable(Ts: timespan, Event: string) [0m, 'A', 1m, 'Start', 2m, 'B', 3m, 'D', 4m, 'Stop', 6m, 'C', \
                  8m, 'Start', 11m, 'E', 12m, 'Stop']";
    let sessions = "datatable(Ts: timespan, Event: string) [0m, 'A', 1m, 'A', 2m, 'B', 3m, 'D', 32m, 'B', 36m, 'C', \
                    38m, 'D', 41m, 'E', 75m, 'A']";
    let logins = "datatable(Timestamp: datetime, userID: int, EventType: string) [\
        datetime(2024-05-28 08:15:23), 1, 'login', datetime(2024-05-28 08:30:15), 2, 'login', \
        datetime(2024-05-28 09:10:27), 3, 'login', datetime(2024-05-28 12:30:45), 1, 'logout', \
        datetime(2024-05-28 11:45:32), 2, 'logout', datetime(2024-05-28 13:25:19), 3, 'logout']";
    table(&[
        // Kusto's documented examples and answers.
        (
            "range x from 1 to 5 step 1 | scan declare (cumulative_x: long = 0) with \
             (step s1: true => cumulative_x = x + s1.cumulative_x;)",
            "1, 1; 2, 3; 3, 6; 4, 10; 5, 15",
        ),
        (
            "range x from 1 to 5 step 1 | extend y = 2 * x | scan declare (cumulative_x: long = 0, cumulative_y: long = 0) with \
             (step s1: true => cumulative_x = iff(s1.cumulative_x >= 10, x, x + s1.cumulative_x), \
             cumulative_y = iff(s1.cumulative_y >= 10, y, y + s1.cumulative_y);)",
            "1, 2, 1, 2; 2, 4, 3, 6; 3, 6, 6, 12; 4, 8, 10, 8; 5, 10, 5, 18",
        ),
        (
            "datatable(Ts: timespan, Event: string) [0m, 'A', 1m, '', 2m, 'B', 3m, '', 4m, '', 6m, 'C', 8m, '', 11m, 'D', 12m, ''] \
             | sort by Ts asc | scan declare (Event_filled: string = '') with \
             (step s1: true => Event_filled = iff(isempty(Event), s1.Event_filled, Event);) | project Event_filled",
            "A; A; B; B; B; C; C; D; D",
        ),
        (
            &format!(
                "{sessions} | sort by Ts asc | scan with_match_id = session_id declare (sessionStart: timespan) with \
                 (step inSession: true => sessionStart = iff(isnull(inSession.sessionStart), Ts, inSession.sessionStart); \
                 step endSession output = none: Ts - inSession.sessionStart > 30m;) | project Ts, sessionStart, session_id"
            ),
            "00:00:00, 00:00:00, 0; 00:01:00, 00:00:00, 0; 00:02:00, 00:00:00, 0; 00:03:00, 00:00:00, 0; \
             00:32:00, 00:32:00, 1; 00:36:00, 00:32:00, 1; 00:38:00, 00:32:00, 1; 00:41:00, 00:32:00, 1; \
             01:15:00, 01:15:00, 2",
        ),
        (
            &format!(
                "{events} | sort by Ts asc | scan with_match_id = m_id with (step s1: Event == 'Start'; \
                 step s2: Event != 'Start' and Event != 'Stop' and Ts - s1.Ts <= 5m; \
                 step s3: Event == 'Stop' and Ts - s1.Ts <= 5m;)"
            ),
            "00:01:00, Start, 0; 00:02:00, B, 0; 00:03:00, D, 0; 00:04:00, Stop, 0; 00:08:00, Start, 1; \
             00:11:00, E, 1; 00:12:00, Stop, 1",
        ),
        (
            &format!(
                "{logins} | sort by userID, Timestamp | partition hint.strategy=native by userID (sort by Timestamp asc \
                 | scan declare (start: datetime, end: datetime, sessionDuration: timespan) with ( \
                 step s1 output=none: EventType == 'login' => start = Timestamp; \
                 step s2 output=all: EventType == 'logout' => start = s1.start, end = Timestamp, sessionDuration = Timestamp - s1.start;)) \
                 | project start, end, userID, sessionDuration | sort by userID asc"
            ),
            "2024-05-28T08:15:23.0000000Z, 2024-05-28T12:30:45.0000000Z, 1, 04:15:22; \
             2024-05-28T08:30:15.0000000Z, 2024-05-28T11:45:32.0000000Z, 2, 03:15:17; \
             2024-05-28T09:10:27.0000000Z, 2024-05-28T13:25:19.0000000Z, 3, 04:14:52",
        ),
    ]);
    assert!(error("range x from 1 to 2 step 1 | scan with (step s: true => x = 1;)").contains("does not declare"));
    assert!(error("range x from 1 to 2 step 1 | scan with (step s: x;)").contains("bool"));
    assert!(error("range x from 1 to 2 step 1 | scan with (step s: true; step s: true;)").contains("used twice"));
    let Err(QueryError::Invalid(errors)) =
        run("range x from 1 to 2 step 1 | scan with (step s output=last: true;)", &fixture(), &options())
    else {
        panic!()
    };
    assert_eq!(errors.0[0].kind, crate::error::ErrorKind::Unsupported, "{errors:?}");
}

#[test]
fn a_scan_of_very_many_steps_is_beyond_the_engine() {
    let steps: String = (0..65).map(|i| format!("step s{i}: true; ")).collect();
    let Err(QueryError::Invalid(errors)) =
        run(&format!("range x from 1 to 2 step 1 | scan with ({steps})"), &fixture(), &options())
    else {
        panic!()
    };
    assert_eq!(errors.0[0].kind, crate::error::ErrorKind::Unsupported, "{errors:?}");
    let steps: String = (0..64).map(|i| format!("step s{i}: true; ")).collect();
    assert_eq!(rows(&format!("range x from 1 to 2 step 1 | scan with ({steps}) | count")), "3");
}

/// What the engine cannot be sure Kusto refuses must not keep a playbook from Graph: such problems are never
/// "certain" (`is_certain`), so a graph-source `validate` warns and the query runs there.
#[test]
fn what_kusto_may_accept_in_the_newer_operators_is_never_a_certain_error() {
    for query in [
        "range x from 1 to 3 step 1 | extend T = now() | make-series count() on T from T step 1h",
        "range x from 1 to 2 step 1 | scan with (step s: true => x = 1;)",
        "range x from 1 to 2 step 1 | scan declare (x: long) with (step s: true;)",
        "let A = datatable(a: long) [1]; find in (A) where a == 1 project b",
        "print a = dynamic([1]) | mv-apply a on (getschema)",
        "range x from 1 to 2 step 1 | top-nested 1 of x with others = 0 by count(), top-nested of x by count()",
    ] {
        let Err(QueryError::Invalid(errors)) = run(query, &fixture(), &options()) else { panic!("{query}") };
        assert!(errors.0.iter().all(|e| !e.is_certain()), "{query}: {errors:?}");
    }
}
