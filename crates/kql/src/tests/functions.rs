//! The scalar functions of KQL.md, with the examples of Kusto's documentation where it gives them.
use super::*;

#[test]
fn string_operators() {
    table(&[
        (
            "print 'FabriKam' contains 'BRik', 'FabriKam' contains_cs 'BRik', 'FabriKam' !contains 'xyz', 'FabriKam' !contains_cs 'Kam'",
            "true, false, true, false",
        ),
        (
            "print 'North America' has 'america', 'North America' !has 'amer', 'North America' has_cs 'America', 'North America' !has_cs 'amer'",
            "true, true, true, true",
        ),
        (
            "print 'North America' hasprefix 'ame', 'North America' !hasprefix 'mer', 'North America' hasprefix_cs 'Ame', 'North America' !hasprefix_cs 'CA'",
            "true, true, true, true",
        ),
        (
            "print 'North America' hassuffix 'ica', 'North America' !hassuffix 'americ', 'North America' hassuffix_cs 'ica', 'North America' !hassuffix_cs 'icA'",
            "true, true, true, true",
        ),
        // The first occurrence is inside a longer term; a later one is a whole term.
        (
            "print 'netsh; net user x' has 'net', 'netsh; net user x' has_cs 'net', 'netsh; netuser' has 'net', \
             'internet net' hasprefix 'net', 'nets; ...net' hassuffix 'net', 'Xnet NET' has_cs 'NET'",
            "true, true, false, true, true, true",
        ),
        (
            "print 'Fabrikam' startswith 'fab', 'Fabrikam' !startswith 'kam', 'Fabrikam' startswith_cs 'Fab', 'Fabrikam' !startswith_cs 'fab'",
            "true, true, true, true",
        ),
        (
            "print 'Fabrikam' endswith 'Kam', 'Fabrikam' !endswith 'brik', 'Fabrikam' endswith_cs 'kam', 'Fabrikam' !endswith_cs 'brik'",
            "true, true, true, true",
        ),
        (
            "print 'a' in ('a', 'b'), 'A' in ('a'), 'A' in~ ('a'), 'c' !in ('a', 'b'), 'A' !in~ ('a')",
            "true, false, true, true, false",
        ),
        ("print 'x' in (dynamic(['x', 'y'])), 2 in (1, 2), 2 in (dynamic([1, 2]))", "true, true, true"),
        (
            "print 'North America' has_any ('south', 'north'), 'North America' has_all ('north', 'america'), 'North America' has_all ('north', 'south')",
            "true, true, false",
        ),
        ("print 'North America' has_any (dynamic(['south', 'america']))", "true"),
        ("print 'abc123' matches regex '[a-z]+[0-9]+', 'abc' matches regex '^[0-9]+$'", "true, false"),
        (
            "print 1.5 between (1 .. 2), datetime(2024-01-02) between (datetime(2024-01-01) .. 1d), datetime(2024-01-03) between (datetime(2024-01-01) .. 1d)",
            "true, true, false",
        ),
    ]);
}

#[test]
fn string_functions() {
    table(&[
        ("print strlen('hello'), strlen('⒦⒰⒮⒯⒪'), tolower('ABC'), toupper('abc')", "5, 5, abc, ABC"),
        (
            "print substring('123456', 1), substring('123456', 2, 2), substring('ABCD', 0, 2), substring('123456', -2, 2), substring('abc', 5)",
            "23456, 34, AB, 56, ",
        ),
        (
            "print split('aa_bb', '_'), split('aaa_bbb_ccc', '_', 1), split('a__b', '_'), split('', '_')",
            "[\"aa\",\"bb\"], [\"bbb\"], [\"a\",\"\",\"b\"], [\"\"]",
        ),
        (
            "print replace_string('A magic trick', 'magic', 'cool'), replace_regex('Number is 42', @'is (\\d+)', @'was: \\1')",
            "A cool trick, Number was: 42",
        ),
        (
            "print extract(@'-(\\d{2})-', 1, '15-12-2024', typeof(int)) + 1, extract('x(y)', 0, 'axyz'), isempty(extract('q', 0, 'abc'))",
            "13, xy, true",
        ),
        (
            "print extract_all(@'(\\d+)', 'a set of numbers: 123, 567 and 789'), extract_all(@'(\\w)(\\d)', 'a1 b2')",
            "[\"123\",\"567\",\"789\"], [[\"a\",\"1\"],[\"b\",\"2\"]]",
        ),
        (
            "print trim('--', '--https://bing.com--'), trim(@'[^\\w]+', '-  Te st1// $'), trim_start('x', 'xxaxx'), trim_end('x', 'xxaxx')",
            "https://bing.com, Te st1, axx, xxa",
        ),
        (
            "print indexof('abcdefg', 'cde'), indexof('abcdefg', 'cde', 1, 4), indexof('abcdefg', 'cde', 1, 2), indexof('abcdefg', 'cde', -5), indexof('abcdefgabcdefg', 'cde', 1, 10, 2)",
            "2, 2, -1, 2, 9",
        ),
        (
            "print countof('aaa', 'a'), countof('aaaa', 'aa'), countof('ababa', 'aba'), countof('ababa', 'aba', 'regex'), countof('abcabc', 'a.c', 'regex')",
            "3, 3, 2, 1, 2",
        ),
        ("print strcat('a', 1, true), strcat_delim('-', 'a', 2, 'c')", "a1true, a-2-c"),
        (
            "print url_decode('https%3a%2f%2fwww.bing.com%2f'), hash_sha256('World')",
            "https://www.bing.com/, 78ae647dc5544d227130a0682a51e30bc7777fbb6d8a8f17007463a3ecd1d524",
        ),
        (
            "print tohex(256), tohex(-256), tohex(toint(-256), 8), tohex(256, 8)",
            "100, ffffffffffffff00, ffffff00, 00000100",
        ),
        (
            "print ipv4_is_private('192.168.1.1/24'), ipv4_is_private('10.1.2.3'), ipv4_is_private('202.1.2.3'), ipv4_is_private('127.0.0.1'), isnull(ipv4_is_private('x'))",
            "true, true, false, false, true",
        ),
        (
            "print ipv4_is_in_range('10.1.2.3', '10.1.0.0/16'), ipv4_is_in_range('10.2.2.3', '10.1.0.0/16')",
            "true, false",
        ),
        (
            "print isempty(''), isnotempty('a'), isnull(int(null)), isnotnull(1), isempty(dynamic([]))",
            "true, true, true, true, false",
        ),
    ]);
}

#[test]
fn url_and_path() {
    table(&[
        (
            "print parse_url('scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment')",
            r#"{"Scheme":"scheme","Host":"host","Port":"1234","Path":"/this/is/a/path","Username":"username","Password":"password","Query Parameters":{"k1":"v1","k2":"v2"},"Fragment":"fragment"}"#,
        ),
        (
            r"print parse_path(@'C:\temp\file.txt')",
            r#"{"Scheme":"","RootPath":"C:","DirectoryPath":"C:\\temp","DirectoryName":"temp","Filename":"file.txt","Extension":"txt","AlternateDataStreamName":""}"#,
        ),
        ("print tostring(parse_path('/usr/lib/temp/file.txt').DirectoryPath)", "/usr/lib/temp"),
    ]);
}

#[test]
fn conversions() {
    table(&[
        (
            "print tostring(1.0), tostring(0.5), tostring(true), tostring(1d), tostring(123)",
            "1, 0.5, true, 1.00:00:00, 123",
        ),
        (
            "print toint('123'), toint(2.7), isnull(toint('abc')), tolong('9000000000'), todouble('1e3'), toreal('2.5')",
            "123, 2, true, 9000000000, 1000, 2.5",
        ),
        (
            "print todatetime('2024-01-01'), todatetime('Tue, 26 Mar 2024 09:39:50 GMT'), isnull(todatetime('x'))",
            "2024-01-01T00:00:00.0000000Z, 2024-03-26T09:39:50.0000000Z, true",
        ),
        (
            "print totimespan('1.02:03:04'), totimespan('00:30:00'), time(1.00:00:00), timespan(2h)",
            "1.02:03:04, 00:30:00, 1.00:00:00, 02:00:00",
        ),
        ("print parse_json('{\"a\": [1, 2]}').a[1], todynamic('[1]'), parse_json('not json')", "2, [1], not json"),
        (
            "print gettype('a'), gettype(111), gettype(1 == 1), gettype(now()), gettype(1s), gettype(123.45), gettype(parse_json('1')), gettype(parse_json('{}')), gettype(parse_json('[1]')), gettype(parse_json(''))",
            "string, long, bool, datetime, timespan, real, int, dictionary, array, null",
        ),
    ]);
}

#[test]
fn datetime_functions() {
    table(&[
        (
            "print datetime_add('day', 1, datetime(2024-01-31)), datetime_add('month', 1, datetime(2024-01-31)), datetime_add('year', -1, datetime(2024-02-29))",
            "2024-02-01T00:00:00.0000000Z, 2024-02-29T00:00:00.0000000Z, 2023-02-28T00:00:00.0000000Z",
        ),
        (
            "print datetime_diff('year', datetime(2017-01-01), datetime(2000-12-31)), datetime_diff('quarter', datetime(2017-07-01), datetime(2017-03-30)), datetime_diff('month', datetime(2017-01-01), datetime(2015-12-30))",
            "17, 2, 13",
        ),
        (
            "print datetime_diff('week', datetime(2017-10-29 00:00), datetime(2017-09-30 23:59)), datetime_diff('day', datetime(2017-10-29 00:00), datetime(2017-09-30 23:59)), datetime_diff('hour', datetime(2017-10-31 01:00), datetime(2017-10-30 23:59))",
            "5, 29, 2",
        ),
        (
            "print datetime_diff('minute', datetime(2017-10-30 23:05:01), datetime(2017-10-30 23:00:59)), datetime_diff('second', datetime(2017-10-30 23:00:10.100), datetime(2017-10-30 23:00:00.900)), datetime_diff('millisecond', datetime(2017-10-30 23:00:00.200100), datetime(2017-10-30 23:00:00.100900))",
            "5, 10, 100",
        ),
        (
            "print bin(4.5, 1), bin(time(16d), 7d), bin(datetime(1970-05-11 13:45:07), 1d), floor(17, 5), bin(long(null), 1)",
            "4, 14.00:00:00, 1970-05-11T00:00:00.0000000Z, 15, null",
        ),
        (
            "print startofday(datetime(2017-01-01 10:10:17)), startofweek(datetime(2017-01-01 10:10:17), -1), startofweek(datetime(2017-01-04)), startofmonth(datetime(2017-01-15), 1), startofyear(datetime(2017-05-01))",
            "2017-01-01T00:00:00.0000000Z, 2016-12-25T00:00:00.0000000Z, 2017-01-01T00:00:00.0000000Z, 2017-02-01T00:00:00.0000000Z, 2017-01-01T00:00:00.0000000Z",
        ),
        (
            "print endofday(datetime(2017-01-01 10:10:17)), endofmonth(datetime(2024-02-10))",
            "2017-01-01T23:59:59.9999999Z, 2024-02-29T23:59:59.9999999Z",
        ),
        (
            "print dayofweek(datetime(1947-11-30 10:00:05)), dayofweek(datetime(1970-05-11)), toint(dayofweek(datetime(1970-5-12)) / 1d)",
            "00:00:00, 1.00:00:00, 2",
        ),
        (
            "print format_datetime(datetime(2017-01-29 09:00:05), 'yy-MM-dd [HH:mm:ss]'), format_datetime(datetime(2017-01-29 09:00:05), 'yyyy-M-dd [H:mm:ss]'), format_datetime(datetime(2017-01-29 09:00:05), 'yy-MM-dd [hh:mm:ss tt]')",
            "17-01-29 [09:00:05], 2017-1-29 [9:00:05], 17-01-29 [09:00:05 AM]",
        ),
        (
            "print format_timespan(time(29.09:00:05.12345), 'dd.hh:mm:ss:FF'), format_timespan(time(29.09:00:05.12345), 'ddd.h:mm:ss [fffffff]')",
            "29.09:00:05:12, 029.9:00:05 [1234500]",
        ),
    ]);
}

#[test]
fn dynamic_functions() {
    table(&[
        (
            "print o = parse_json(tostring('{}')) | project array_length(dynamic([1, 2, 3])), isnull(array_length(o)), array_concat(dynamic([1]), dynamic([2, 3]))",
            "3, true, [1,2,3]",
        ),
        ("print set_has_element(dynamic(['a', 'b']), 'b'), set_has_element(dynamic([1, 2]), 3)", "true, false"),
        (
            "print bag_keys(dynamic({'a': 1, 'b': 2})), bag_pack('x', 1, 'y', 'z'), pack('k', dynamic([1])), pack_array(1, 'a', true)",
            "[\"a\",\"b\"], {\"x\":1,\"y\":\"z\"}, {\"k\":[1]}, [1,\"a\",true]",
        ),
        (
            "print d = dynamic({'User Id': 'u', 'list': [10, 20]}) | project d['User Id'], d.list[-1], d.list[5], d.absent.deeper",
            "u, 20, null, null",
        ),
    ]);
}

#[test]
fn choices_and_math() {
    table(&[
        ("print iff(1 > 2, 'a', 'b'), iif(true, 1, 2), iff(bool(null), 'then', 'else')", "b, 1, else"),
        ("print case(1 > 2, 'a', 2 > 1, 'b', 'c'), case(false, 1, 0)", "b, 0"),
        (
            "print coalesce('', 'x'), coalesce(long(null), 42, 33), isnull(coalesce(long(null), long(null)))",
            "x, 42, true",
        ),
        ("print min_of(10, 1, -3, 17), max_of(2, long(null), 5), not(true), not(1 > 2)", "-3, 5, false, true"),
        (
            "print round(2.98765, 3), round(2.15, 1), round(2.15), round(-50.55, -2), round(21.5, -1), abs(-3), abs(-2.5)",
            "2.988, 2.2, 2, -100, 20, 3, 2.5",
        ),
        ("print pow(2, 10), sqrt(16), log10(1000)", "1024, 4, 3"),
    ]);
}
