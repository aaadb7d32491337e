//! Where the engine once answered otherwise than Kusto: each case quotes Kusto's documentation or the schema
//! Kusto.Language (Microsoft's parser and binder, `tests/oracle/`) gives. Wrong answers first, then what the
//! engine accepted and Kusto refuses, then what it refused and Kusto runs.
use super::*;

/// Whether the query's first error is one Kusto makes for certain (not a limit of the local engine).
fn certain(query: &str) -> bool {
    match run(query, &fixture(), &options()) {
        Err(QueryError::Invalid(errors)) => errors.0[0].is_certain(),
        other => panic!("{query}\n  expected an error, got {:?}", other.map(|r| r.table.rows.len())),
    }
}

/// pivot plugin (docs): "StormEvents | project State, EventType | … | evaluate pivot(State)" gives
/// `EventType, ALABAMA, ALASKA`: the columns that are not pivoted are kept and group the rows; a count missing
/// for a group is 0.
#[test]
fn pivot_keeps_the_other_columns_as_group_keys() {
    let storm = "datatable(State: string, EventType: string) ['ALABAMA', 'Thunderstorm Wind', 'ALABAMA', 'Thunderstorm Wind', \
                 'ALASKA', 'Thunderstorm Wind', 'ALASKA', 'High Wind', 'ALABAMA', 'Strong Wind']";
    assert_eq!(columns(&format!("{storm} | evaluate pivot(State)")), "EventType:string, ALABAMA:long, ALASKA:long");
    table(&[(
        &format!("{storm} | evaluate pivot(State) | order by EventType asc"),
        "High Wind, 0, 1; Strong Wind, 1, 0; Thunderstorm Wind, 2, 1",
    )]);
    // Kusto.Language: `… | evaluate pivot(Type)` over (State, Type, Damage) has the schema `State, Damage, …`.
    table(&[(
        "datatable(State: string, Type: string, Damage: long) ['TX', 'Hail', 1, 'TX', 'Flood', 2, 'OK', 'Hail', 3, 'TX', 'Hail', 1] \
         | evaluate pivot(Type) | order by State asc, Damage asc",
        "OK, 3, 0, 1; TX, 1, 0, 2; TX, 2, 1, 0",
    )]);
}

/// bag_unpack plugin (docs): "If OutputSchema is specified, the plugin returns only the columns defined in the
/// output schema … To add all columns of the input table, use a wildcard * as the first parameter."
#[test]
fn a_declared_output_schema_is_the_plugins_output() {
    let bags = "datatable(n: long, d: dynamic) [1, dynamic({'x': 'a', 'y': 1, 'z': true}), 2, dynamic({'x': 'b'})]";
    assert_eq!(
        columns(&format!("{bags} | evaluate bag_unpack(d): (x:string, y:long) | project x, y")),
        "x:string, y:long"
    );
    table(&[
        (&format!("{bags} | evaluate bag_unpack(d): (x:string, y:long) | project x, y"), "a, 1; b, null"),
        (&format!("{bags} | evaluate bag_unpack(d): (*, x:string)"), "1, a; 2, b"),
    ]);
    // Kusto.Language: `(*, x:string)` keeps the input's columns but the unpacked one.
    assert_eq!(columns(&format!("{bags} | evaluate bag_unpack(d): (*, x:string)")), "n:long, x:string");
}

/// join operator: a right column whose name is taken is renamed with the first free number; Kusto.Language
/// names `A | join (B | join C on k) on k` `k, T, k2, T2, k1, T1` (the right side already holds k1 and T1).
#[test]
fn nested_joins_name_clashing_columns_as_kusto_does() {
    let t = |v: &str| format!("datatable(k: long, T: string) [1, '{v}']");
    let query = format!("{} | join ({} | join ({}) on k) on k", t("a"), t("b"), t("c"));
    assert_eq!(columns(&query), "k:long, T:string, k2:long, T2:string, k1:long, T1:string");
    table(&[(&query, "1, a, 1, b, 1, c")]);
}

/// Kusto.Language: `summarize arg_max(T, *), m = count()` over (T, m, x) is `T, m, x, m1`.
#[test]
fn an_aggregate_named_like_a_column_of_arg_max_star_gets_the_next_name() {
    let query = "datatable(T: datetime, m: long, x: string) [datetime(2026-01-01), 5, 'a', datetime(2026-01-02), 6, 'b'] \
                 | summarize arg_max(T, *), m = count()";
    assert_eq!(columns(query), "T:datetime, m:long, x:string, m1:long");
    table(&[(query, "2026-01-02T00:00:00.0000000Z, 6, b, 2")]);
}

/// Kusto: "Summarize group key 'RawEventData' is of a 'dynamic' type. Please use an explicit cast"
/// (Kusto.Language: "The value of type 'dynamic' is not allowed in this context").
#[test]
fn a_dynamic_group_key_needs_a_cast() {
    assert!(error("Events | summarize count() by RawEventData").contains("is of a 'dynamic' type"));
    assert!(certain("Events | summarize count() by RawEventData"));
    assert!(certain("Events | summarize count() by RawEventData.ActionScope"));
    assert_eq!(
        columns("Events | summarize count() by tostring(RawEventData.ActionScope)"),
        "RawEventData_ActionScope:string, count_:long"
    );
}

/// Microsoft's table list (July 2026) no longer has `DeviceAlertEvents`: Kusto refuses it for certain.
#[test]
fn a_retired_table_is_a_certain_error_that_names_its_successor() {
    let catalog = crate::schema::catalog();
    let Err(QueryError::Invalid(errors)) = run("DeviceAlertEvents | take 1", &catalog, &options()) else {
        panic!("DeviceAlertEvents is refused");
    };
    assert!(errors.0[0].is_certain());
    assert_eq!(errors.0[0].hint.as_deref(), Some("use AlertInfo and AlertEvidence"));
    // Both spellings of the Graph API audit table.
    assert!(run("GraphAPIAuditEvents | take 1", &catalog, &options()).is_ok());
    assert!(run("GraphApiAuditEvents | take 1", &catalog, &options()).is_ok());
    assert!(run("CallActivityEvents | project ActivityTimestamp, CallId", &catalog, &options()).is_ok());
    assert!(run("MessageContents | project Timestamp, MessageSnippet", &catalog, &options()).is_ok());
}

/// Kusto.Language refuses each: a name defined in the same extend, project or summarize; `top` by two keys;
/// `pack_array()`; `<` between strings; a let name declared twice; a column declared twice; a table without
/// the columns a function's parameter requires.
#[test]
fn what_kusto_refuses_is_refused_for_certain() {
    for (query, said) in [
        ("print x = 1 | extend a = 1, b = a + 1", "Failed to resolve scalar expression named 'a'"),
        ("print x = 1 | project a = 1, b = a + 1", "Failed to resolve scalar expression named 'a'"),
        ("Events | summarize a = count(), b = a + 1", "expected an aggregation"),
        ("Events | top 2 by Size, Actor", "top"),
        ("print pack_array()", "pack_array"),
        ("print 'a' < 'b'", "Cannot compare values of types string and string"),
        ("print dynamic([1]) > now()", "Cannot compare values of types dynamic and datetime"),
        ("let a = 1; let a = 2; print a", "'a' is already declared"),
        // "A column with the name 'Device' is already declared."
        ("Events | project Device, Device", "'Device' is used twice"),
        ("Events | project-reorder Device, Device", "'Device' is used twice"),
        ("Events | extend a = 1, a = 2", "'a' is used twice"),
        ("Events | summarize by Device, Device", "'Device' is used twice"),
        ("datatable(a:string, a:long)['x', 1]", "A column with the name 'a' is already declared"),
        // "The tabular value does not have the required columns."
        (
            "let f = (T:(Key:string, Value:long)) { T | count }; datatable(Key:string, Value:int)['a', 1] | invoke f()",
            "Value:long (it is int)",
        ),
        ("let f = (T:(Key:string, Value:long)) { T | count }; f(datatable(Key:string)['a'])", "Value:long"),
    ] {
        let message = error(query);
        assert!(message.contains(said), "{query}: {message}");
        assert!(certain(query), "{query}: not certain");
    }
}

/// RE2 (doc/syntax.txt): a malformed repetition is a literal, `\0` an octal escape — Kusto runs both.
#[test]
fn regular_expressions_are_re2s() {
    table(&[
        ("print extract('a{1-3}', 0, 'xa{1-3}')", "a{1-3}"),
        ("print replace_regex('a\\\\0b', @'\\0', '-')", "a\\0b"),
        ("print replace_regex(strcat('a', make_string(0), 'b'), @'\\0', '-')", "a-b"),
        // `[` inside a class is a literal: the class is `[`, `"`, `,` and `]`.
        ("print r = replace_regex('[x],\"y\"', @'[[\",\\]]', '')", "xy"),
    ]);
    assert!(certain("print extract(@'(a)\\1', 0, 'aa')"));
}

/// datetime(year, month, day) is a literal Kusto takes (the startofweek examples use it).
#[test]
fn a_datetime_of_year_month_and_day() {
    table(&[
        ("print datetime(2025, 6, 14)", "2025-06-14T00:00:00.0000000Z"),
        ("print datetime(2025, 6, 14, 13, 5, 7)", "2025-06-14T13:05:07.0000000Z"),
        ("print startofweek(datetime(2017-01-01 10:10:17), -1)", "2016-12-25T00:00:00.0000000Z"),
    ]);
}

/// Kusto.Language's result types and names (Functions.cs): strcmp and ipv4_compare are long; getschema's
/// ColumnOrdinal is long; unnamed columns take the function's prefix (`strlen_Device`, `type_x`) and an index
/// that is no literal leaves its place empty (`arr_`).
#[test]
fn names_and_types_are_kusto_languages() {
    assert_eq!(columns("print strcmp('a', 'b'), ipv4_compare('1.1.1.1', '1.1.1.2')"), "print_0:long, print_1:long");
    assert_eq!(
        columns("Events | take 1 | project Device | getschema"),
        "ColumnName:string, ColumnOrdinal:long, DataType:string, ColumnType:string"
    );
    assert_eq!(
        columns("Events | project strlen(Device), gettype(RawEventData.Items), isnull(Size)"),
        "strlen_Device:long, type_RawEventData_Items:string, Column1:bool"
    );
    assert_eq!(
        columns("print arr = dynamic([1, 2, 3]), i = 1 | project arr[-1], arr[i], arr[0]"),
        "arr_:dynamic, arr_1:dynamic, arr_0:dynamic"
    );
}

/// The schema pages lag the service: a column that is no likely typo of a documented one may be real
/// (`EmailEvents.ForwardingInformation`, `DeviceTvmSoftwareVulnerabilitiesKB.EpssScore` ran in Graph before their
/// pages listed them) and is not refused for certain; a likely typo stays a certain error with its
/// did-you-mean. So for tables (a Sentinel table may come through the connected workspace) and functions (a
/// tenant may save its own).
#[test]
fn a_likely_typo_is_certain_and_a_name_the_docs_may_lag_is_not() {
    let catalog = crate::schema::catalog();
    let first = |query: &str| match run(query, &catalog, &options()) {
        Err(QueryError::Invalid(errors)) => errors.0[0].clone(),
        other => panic!("{query}: expected an error, got {:?}", other.map(|r| r.table.rows.len())),
    };
    for query in [
        "EmailEvents | where ForwardingInformation != ''",
        "DeviceTvmSoftwareVulnerabilitiesKB | where EpssScore > 0.5",
        "DeviceEvents | extend Extra = 1 | where IsFirstContact",
        "SigninLogs | take 1",
        "print SavedTenantFunction(1)",
    ] {
        let error = first(query);
        assert!(!error.is_certain(), "{query}: {}", error.message);
    }
    for (query, hint) in [
        ("DeviceRegistryEvents | where RegistryKeys has 'Run'", "did you mean 'RegistryKey'?"),
        ("CloudAppEvents | where accountdisplayname == 'x'", "did you mean 'AccountDisplayName'?"),
        ("CloudAppEvent | take 1", "did you mean 'CloudAppEvents'?"),
        ("print tolowr('A')", "did you mean 'tolower'?"),
        ("CloudAppEvents | summarize dcuont(AccountObjectId)", "did you mean 'dcount'?"),
        // After a project, a missing column is missing for certain.
        ("EmailEvents | project Timestamp | where ForwardingInformation != ''", "did you mean 'Timestamp'?"),
        // Graph answers "'summarize' operator: Failed to resolve scalar expression named 'TimeGenerated'".
        ("DeviceProcessEvents | summarize count() by bin(TimeGenerated, 1h)", "did you mean 'Timestamp'?"),
    ] {
        let error = first(query);
        assert!(error.is_certain(), "{query}: {}", error.message);
        if query.contains("project Timestamp") {
            continue;
        }
        assert_eq!(error.hint.as_deref(), Some(hint), "{query}");
    }
}

/// union operator: one name with two types makes a column per type, standing together where the name first
/// appears (Kusto.Language: `union (a, r:long), (b, r:string), (r:long, c)` is `a, r_long, r_string, b, c`).
#[test]
fn a_union_keeps_the_columns_of_one_name_together() {
    let query = "union (datatable(a:long, r:long)[1, 2]), (datatable(b:long, r:string)[3, 'x']), \
                 (datatable(r:long, c:int)[4, 5])";
    assert_eq!(columns(query), "a:long, r_long:long, r_string:string, b:long, c:int");
    table(&[(
        &format!("{query} | order by r_long asc nulls first"),
        "null, null, x, 3, null; 1, 2, , null, null; null, 4, , null, 5",
    )]);
}

/// bag_unpack plugin (docs): a column's type is "the slot's type, if all values of the same slot have the same
/// type, or dynamic, if the values differ in type" — so a string property groups rows as it is.
#[test]
fn bag_unpack_types_each_column_by_its_values() {
    let bags = "datatable(d: dynamic) [dynamic({'Name': 'John', 'Age': 20, 'Tags': ['a']}), \
                dynamic({'Name': 'Dave', 'Age': 40.5, 'Tags': ['b']}), dynamic({'Name': 'John'})]";
    assert_eq!(columns(&format!("{bags} | evaluate bag_unpack(d)")), "Age:dynamic, Name:string, Tags:dynamic");
    table(&[(
        &format!("{bags} | evaluate bag_unpack(d) | summarize n = count() by Name | order by Name asc"),
        "Dave, 1; John, 2",
    )]);
    // Over data not seen yet, the column's type is the data's: a key that may be a string is no certain error.
    let catalog = crate::schema::catalog();
    let query =
        "CloudAppEvents | mv-expand ActivityObjects | evaluate bag_unpack(ActivityObjects) | distinct Type, Name";
    if let Err(errors) = crate::compile(query, &catalog) {
        assert!(errors.0.iter().all(|e| !e.is_certain()), "{errors:?}");
    }
}

/// Microsoft folded EmailEvents' verdict columns into ThreatTypes and DetectionMethods (December 2020): Kusto
/// refuses the old names for certain, and the error says what replaced them.
#[test]
fn a_retired_column_is_a_certain_error_that_names_its_successor() {
    let catalog = crate::schema::catalog();
    for (query, hint) in [
        ("EmailEvents | where PhishFilterVerdict == 'Phish'", "EmailEvents no longer has it: use ThreatTypes"),
        ("EmailEvents | where MalwareDetectionMethod != ''", "EmailEvents no longer has it: use DetectionMethods"),
    ] {
        let Err(QueryError::Invalid(errors)) = run(query, &catalog, &options()) else { panic!("{query} runs") };
        assert!(errors.0[0].is_certain(), "{query}");
        assert_eq!(errors.0[0].hint.as_deref(), Some(hint), "{query}");
    }
}

/// jaccard_index (docs): `print set1=dynamic([1,2,3]), set2=dynamic([1,2,3,4]) | extend jaccard=…` is 0.75.
/// ipv4_lookup plugin (docs): the IPs example, matched rows only, then with return_unmatched. SeenBy(): the
/// input's columns and a dynamic `SeenBy` (Microsoft's example projects DeviceId, DeviceName, DeviceType, SeenBy).
#[test]
fn jaccard_index_ipv4_lookup_and_seen_by_run() {
    table(&[
        (
            "print set1=dynamic([1,2,3]), set2=dynamic([1,2,3,4]) | extend jaccard=jaccard_index(set1, set2) | project jaccard",
            "0.75",
        ),
        ("print j = jaccard_index(dynamic([1, 1, 2]), dynamic([2, 2, 3]))", "0.3333333333333333"),
    ]);
    assert_eq!(columns("print j = jaccard_index(dynamic([1]), dynamic([2]))"), "j:real");
    let ips = "let IP_Data = datatable(network:string, continent_code:string, continent_name:string, country_iso_code:string, country_name:string) \
               ['111.68.128.0/17','AS','Asia','JP','Japan', '5.8.0.0/19','EU','Europe','RU','Russia', \
               '223.255.254.0/24','AS','Asia','SG','Singapore', '46.36.200.51/32','OC','Oceania','CK','Cook Islands', \
               '2.20.183.0/24','EU','Europe','GB','United Kingdom']; \
               let IPs = datatable(ip:string) ['2.20.183.12', '5.8.1.2', '192.165.12.17']; IPs";
    assert_eq!(
        columns(&format!("{ips} | evaluate ipv4_lookup(IP_Data, ip, network)")),
        "ip:string, network:string, continent_code:string, continent_name:string, country_iso_code:string, country_name:string"
    );
    table(&[
        (
            &format!("{ips} | evaluate ipv4_lookup(IP_Data, ip, network)"),
            "2.20.183.12, 2.20.183.0/24, EU, Europe, GB, United Kingdom; 5.8.1.2, 5.8.0.0/19, EU, Europe, RU, Russia",
        ),
        (
            &format!(
                "{ips} | evaluate ipv4_lookup(IP_Data, ip, network, return_unmatched = true) | project ip, country_name"
            ),
            "2.20.183.12, United Kingdom; 5.8.1.2, Russia; 192.165.12.17, ",
        ),
    ]);
    // Kusto.Language: an extra key stands once; a clashing name takes the next number.
    assert_eq!(
        columns(
            "datatable(ip:string, name:string, k:long)['10.1.2.3','a',1] \
                 | evaluate ipv4_lookup(datatable(net:string, name:string, k:long)['10.0.0.0/8','corp',1], ip, net, k)"
        ),
        "ip:string, name:string, k:long, net:string, name1:string"
    );
    let catalog = crate::schema::catalog();
    let seen =
        run("DeviceInfo | invoke SeenBy() | project DeviceId, DeviceName, DeviceType, SeenBy", &catalog, &options())
            .expect("SeenBy runs");
    let names: Vec<String> = seen.table.columns.iter().map(|c| format!("{}:{}", c.name, c.ty.name())).collect();
    assert_eq!(names.join(", "), "DeviceId:string, DeviceName:string, DeviceType:string, SeenBy:dynamic");
}

/// externaldata operator (docs: `externaldata (ColumnName:ColumnType [, ...]) [StorageConnectionString [, ...]]
/// [with (PropertyName = PropertyValue [, ...])]`): the local engine does not fetch the rows, but the columns
/// are declared, so a mistake further on is found as Kusto would find it.
#[test]
fn externaldata_declares_its_columns_and_what_follows_is_checked() {
    let catalog = crate::schema::catalog();
    let query = "let Feed = externaldata(IP: string)[@'https://example.org/ips.txt'] with (format='txt', ignoreFirstRecord=True); \
                 DeviceNetworkEvents | where RemoteIP in (Feed) | project Timestamp, RemoteIP";
    let errors = |query: &str| match run(query, &catalog, &options()) {
        Err(QueryError::Invalid(errors)) => errors.0,
        other => panic!("{query}: expected errors, got {:?}", other.map(|r| r.table.rows.len())),
    };
    let found = errors(query);
    assert!(found.iter().all(|e| !e.is_certain()), "{found:?}");
    assert!(found[0].message.contains("https://example.org/ips.txt"), "{}", found[0].message);
    let later = errors(&query.replace("project Timestamp", "project TimeGenerated"));
    assert!(later.iter().any(|e| e.is_certain() && e.message.contains("'TimeGenerated'")), "{later:?}");
    assert!(certain("externaldata(a:string, a:long)['https://example.org/x']"));
}

/// Kusto.Language accepts each, and so does Kusto: a trailing comma after a datatable's columns, `table()` of
/// a function's parameter (Defender queries wrap Entra sign-in tables so), and `FileProfile(x, 10000)` from
/// published queries (Microsoft documents 1 to 1,000; the service decides — no certain error).
#[test]
fn what_kusto_runs_is_not_refused_for_certain() {
    let catalog = crate::schema::catalog();
    table(&[("datatable(a:string,)['x']", "x")]);
    let result = run("let f = (t:string) { table(t) | project DeviceId }; f('DeviceInfo')", &catalog, &options())
        .expect("table() of a parameter runs");
    assert_eq!(result.table.columns.len(), 1);
    match run("DeviceFileEvents | invoke FileProfile('SHA1', 10000)", &catalog, &options()) {
        Err(QueryError::Invalid(errors)) => assert!(!errors.0[0].is_certain(), "{:?}", errors.0[0]),
        other => panic!("expected a limit of the local engine, got {:?}", other.map(|r| r.table.rows.len())),
    }
}

/// parse_version (docs): "0.0.0.5" is 5, "0.0.7.0" 700,000,000, "0.0.3" 300,000,000, "0.2"
/// 20,000,000,000,000,000, "0.1.2.0" 10,000,000,200,000,000, "1.2.3.4" 1,000,000,020,000,000,300,000,004, "1"
/// 1,000,000,000,000,000,000,000,000; a decimal, null when the text is no version. The decimal is exact: the
/// docs' lab example compares with parse_version("1.0.0.0"), and two builds of one Windows version differ in
/// the 26th digit.
#[test]
fn parse_version_is_an_exact_decimal() {
    let versions = "datatable(v: string) ['0.0.0.5', '0.0.7.0', '0.0.3', '0.2', '0.1.2.0', '1.2.3.4', '1', \
                    '99999999.0.0.0', '1.2.3.4.5', '1..2', 'a.b', '123456789']";
    assert_eq!(columns(&format!("{versions} | extend p = parse_version(v)")), "v:string, p:decimal");
    table(&[
        (
            &format!("{versions} | project p = parse_version(v)"),
            "5; 700000000; 300000000; 20000000000000000; 10000000200000000; 1000000020000000300000004; \
             1000000000000000000000000; 99999999000000000000000000000000; null; null; null; null",
        ),
        (
            "print parse_version('10.0.19041.1') < parse_version('10.0.19041.2'), \
             parse_version('10.0.19041.1') == parse_version('10.0.19041.2'), parse_version('1.2') < parse_version('1.10')",
            "true, false, true",
        ),
        (
            "datatable(lab: string, v: string) ['Lab A', '0.0.0.5', 'Lab E', '1', 'Lab F', '1.2.3.4', 'Lab G', '0.1.2.0'] \
             | extend needs_update = iff(parse_version(v) < parse_version('1.0.0.0'), 'Yes', 'No') | project lab, needs_update",
            "Lab A, Yes; Lab E, No; Lab F, No; Lab G, Yes",
        ),
        (
            "datatable(v: string) ['10.0.19041.2', '10.0.19041.1', '10.0.19041.1'] \
             | summarize n = count() by p = parse_version(v) | order by p asc | project n",
            "2; 1",
        ),
        ("print parse_version('1.0') + 1", "1000000000000000000000001"),
    ]);
}

/// parse_user_agent (docs): AdobeAIR 2.5.1 from its string look-for, and the Nokia N81 with the three targets
/// of a dynamic array; each target's fields are strings, empty where the pattern gives none.
#[test]
fn parse_user_agent_reads_as_the_docs_show() {
    let air = "Mozilla/5.0 (Windows; U; en-US) AppleWebKit/531.9 (KHTML, like Gecko) AdobeAIR/2.5.1";
    let nokia = "Mozilla/5.0 (SymbianOS/9.2; U; Series60/3.1 NokiaN81-3/10.0.032 Profile/MIDP-2.0 \
                 Configuration/CLDC-1.1 ) AppleWebKit/413 (KHTML, like Gecko) Safari/4";
    table(&[
        (
            &format!("print x = parse_user_agent('{air}', 'browser') | project tostring(x)"),
            r#"{"Browser":{"Family":"AdobeAIR","MajorVersion":"2","MinorVersion":"5","Patch":"1"}}"#,
        ),
        (
            &format!(
                "print x = parse_user_agent('{nokia}', dynamic(['browser', 'os', 'device'])) | project tostring(x)"
            ),
            r#"{"Browser":{"Family":"Nokia OSS Browser","MajorVersion":"3","MinorVersion":"1","Patch":""},"OperatingSystem":{"Family":"Symbian OS","MajorVersion":"9","MinorVersion":"2","Patch":"","PatchMinor":""},"Device":{"Family":"Nokia N81","Brand":"Nokia","Model":"N81-3"}}"#,
        ),
        (
            "print tostring(parse_user_agent('curl-like thing', 'os'))",
            r#"{"OperatingSystem":{"Family":"Other","MajorVersion":"","MinorVersion":"","Patch":"","PatchMinor":""}}"#,
        ),
    ]);
}
