//! Every tabular operator of KQL.md.
use super::*;

#[test]
fn where_extend_project() {
    table(&[
        ("Events | where ActionType == 'IsolateDevice' | count", "3"),
        ("Events | filter Size > 15 | project Device, Size", "pc2, 20; pc1, 30"),
        ("Events | take 1 | extend a = 1 | extend b = a + 1 | project a, b", "1, 2"),
        ("Events | take 1 | extend Size = Size * 2 | project Size", "20"),
        (
            "Events | take 1 | project RawEventData.ActionScope, tostring(RawEventData.ActionComment), strlen(Device)",
            "Full, malware, 3",
        ),
        (
            "Events | take 1 | project ['Time Stamp'] = Timestamp | project ['Time Stamp']",
            "2026-11-18T09:00:00.0000000Z",
        ),
    ]);
    assert_eq!(
        columns(
            "Events | take 1 | project RawEventData.ActionScope, tostring(RawEventData.ActionComment), strlen(Device), x = 1, bin(Timestamp, 1d)"
        ),
        "RawEventData_ActionScope:dynamic, RawEventData_ActionComment:string, strlen_Device:long, x:long, Timestamp:datetime"
    );
    assert_eq!(columns("Events | take 1 | extend Size = tostring(Size) | project-keep Size"), "Size:string");
}

#[test]
fn project_away_keep_rename_reorder() {
    assert_eq!(columns("Events | project-away RawEventData, Act*"), "Timestamp:datetime, Device:string, Size:long");
    assert_eq!(columns("Events | project-keep *e, Device"), "ActionType:string, Device:string, Size:long");
    assert_eq!(
        columns("Events | project-rename When = Timestamp, Who = Actor | project-away RawEventData"),
        "When:datetime, ActionType:string, Device:string, Who:string, Size:long"
    );
    assert_eq!(
        columns("Events | project-reorder Device, A* asc | project-away RawEventData"),
        "Device:string, ActionType:string, Actor:string, Timestamp:datetime, Size:long"
    );
    assert_eq!(columns("print a='a', b='b', c='c' | project-reorder b"), "b:string, a:string, c:string");
    assert_eq!(
        columns("print b='b', a2='a2', a3='a3', a1='a1' | project-reorder a* asc"),
        "a1:string, a2:string, a3:string, b:string"
    );
}

#[test]
fn summarize_names_and_aggregates() {
    table(&[
        (
            "Events | summarize count() by ActionType | order by ActionType asc",
            "IsolateDevice, 3; ReleaseFromIsolation, 2",
        ),
        (
            "Events | summarize c = countif(Size > 9), dcount(Device), sum(Size), min(Size), max(Size)",
            "3, 2, 65, 5, 30",
        ),
        (
            "Events | summarize avg(Size), make_set(Device), make_list(Actor, 2)",
            "16.25, [\"pc1\",\"pc2\"], [\"alice\",\"bob\"]",
        ),
        (
            "Events | summarize arg_max(Timestamp, Actor) by Device | order by Device asc",
            "pc1, 2026-11-20T08:00:00.0000000Z, bob; pc2, 2026-11-18T10:00:00.0000000Z, bob",
        ),
        (
            "Events | summarize arg_min(Timestamp, *) by Device | project Device, Actor | order by Device asc",
            "pc1, alice; pc2, bob",
        ),
        (
            "Events | summarize dcountif(Actor, ActionType == 'IsolateDevice'), sumif(Size, Device == 'pc1'), take_any(Device)",
            "3, 45, pc1",
        ),
        ("Events | summarize by Device | order by Device asc", "pc1; pc2"),
        (
            "Events | summarize count() by bin(Timestamp, 1d) | order by Timestamp asc",
            "2026-11-18T00:00:00.0000000Z, 2; 2026-11-19T00:00:00.0000000Z, 2; 2026-11-20T00:00:00.0000000Z, 1",
        ),
        ("Events | where Device == 'none' | summarize count(), sum(Size), make_set(Device)", "0, 0, []"),
        ("Events | where Device == 'none' | summarize count() by Device", ""),
        ("datatable(b:dynamic)[dynamic({'x':1}), dynamic({'y':2})] | summarize make_bag(b)", "{\"x\":1,\"y\":2}"),
        ("datatable(a:dynamic)[dynamic([1,2]), dynamic([2,3])] | summarize make_set(a)", "[1,2,3]"),
    ]);
    assert_eq!(
        columns(
            "Events | summarize count(), countif(Size > 1), dcount(Device), make_set(Actor), make_list(Actor), sum(Size), take_any(Device) by ActionType"
        ),
        "ActionType:string, count_:long, countif_:long, dcount_Device:long, set_Actor:dynamic, list_Actor:dynamic, sum_Size:long, Device:string"
    );
    assert_eq!(columns("Events | summarize make_set(Actor), make_set(Actor)"), "set_Actor:dynamic, set_Actor1:dynamic");
    assert_eq!(
        columns("Events | summarize arg_max(Timestamp, *) by Device"),
        "Device:string, Timestamp:datetime, ActionType:string, Actor:string, Size:long, RawEventData:dynamic"
    );
    assert_eq!(
        columns("Events | summarize sum(Size * 2), max(tostring(Device)), avg(Size)"),
        "sum_:long, max_Device:string, avg_Size:real"
    );
}

#[test]
fn distinct_count_take_top() {
    table(&[
        ("Events | distinct Device | order by Device asc", "pc1; pc2"),
        ("Events | distinct ActionType, Device | count", "3"),
        ("datatable(a:long)[1,1,2] | distinct *", "1; 2"),
        ("Events | count", "5"),
        ("Events | take 2 | count", "2"),
        ("Events | limit 0 | count", "0"),
        ("Events | top 2 by Size asc | project Size", "null; 5"),
        ("Events | top 2 by Size asc nulls last | project Size", "5; 10"),
        ("Events | top 1 by Timestamp | project Device, ActionType", "pc1, ReleaseFromIsolation"),
    ]);
    assert_eq!(columns("Events | count"), "Count:long");
}

#[test]
fn join_kinds() {
    let left = "datatable(k:string, l:long)['a',1,'b',2,'b',3,'c',4]";
    let right = "datatable(k:string, r:long)['b',10,'c',20,'c',30,'d',40]";
    let join = |kind: &str| format!("{left} | join kind={kind} ({right}) on k | order by l asc, r asc");
    table(&[
        (&join("inner"), "b, 2, b, 10; b, 3, b, 10; c, 4, c, 20; c, 4, c, 30"),
        (&join("innerunique"), "b, 2, b, 10; c, 4, c, 20; c, 4, c, 30"),
        (&join("leftouter"), "a, 1, , null; b, 2, b, 10; b, 3, b, 10; c, 4, c, 20; c, 4, c, 30"),
        (
            &format!("{left} | join kind=rightouter ({right}) on k | order by r asc"),
            "b, 2, b, 10; b, 3, b, 10; c, 4, c, 20; c, 4, c, 30; , null, d, 40",
        ),
        (&format!("{left} | join kind=fullouter ({right}) on k | summarize count()"), "6"),
        (&format!("{left} | join kind=leftanti ({right}) on k"), "a, 1"),
        (&format!("{left} | join kind=leftsemi ({right}) on k | order by l asc"), "b, 2; b, 3; c, 4"),
        (&format!("{left} | join kind=rightanti ({right}) on k"), "d, 40"),
        (&format!("{left} | join kind=rightsemi ({right}) on k | order by r asc"), "b, 10; c, 20; c, 30"),
        (&format!("{left} | join kind=inner ({right} | project-rename k2 = k) on $left.k == $right.k2 | count"), "4"),
        (&format!("{left} | join kind=inner hint.strategy=shuffle ({right}) on $right.k == $left.k | count"), "4"),
    ]);
    assert_eq!(columns(&join("inner")), "k:string, l:long, k1:string, r:long");
    assert_eq!(columns(&format!("{left} | join kind=leftsemi ({right}) on k")), "k:string, l:long");
    assert_eq!(columns(&format!("{left} | join kind=rightanti ({right}) on k")), "k:string, r:long");
}

#[test]
fn lookup() {
    let facts = "datatable(Device:string, When:long)['pc1',1,'pc2',2,'pc3',3]";
    let dimension = "datatable(Device:string, Owner:string)['pc1','alice','pc2','bob']";
    table(&[
        (&format!("{facts} | lookup ({dimension}) on Device"), "pc1, 1, alice; pc2, 2, bob; pc3, 3, "),
        (&format!("{facts} | lookup kind=inner ({dimension}) on Device"), "pc1, 1, alice; pc2, 2, bob"),
        (
            &format!(
                "{facts} | project-rename Host = Device | lookup kind=leftouter ({dimension}) on $left.Host == $right.Device"
            ),
            "pc1, 1, alice; pc2, 2, bob; pc3, 3, ",
        ),
    ]);
    assert_eq!(columns(&format!("{facts} | lookup ({dimension}) on Device")), "Device:string, When:long, Owner:string");
}

#[test]
fn union() {
    table(&[
        ("union (print a = 1), (print a = 2) | order by a asc", "1; 2"),
        ("print a = 1 | union (print a = 2) | count", "2"),
        (
            "union withsource=Source (print a = 1), (print b = 'x') | order by Source asc",
            "union_arg0, 1, ; union_arg1, null, x",
        ),
        ("union kind=inner (print a = 1, b = 2), (print a = 3) | order by a asc", "1; 3"),
        ("union Events, Events | count", "10"),
        ("union isfuzzy=true Events, NoSuchTable | count", "5"),
    ]);
    assert_eq!(columns("union (print x = 1), (print x = 'a')"), "x_long:long, x_string:string");
    assert_eq!(columns("union withsource=T Events | take 1 | project T"), "T:string");
    assert_eq!(error("union Events, NoSuchTable"), "Failed to resolve table or column expression named 'NoSuchTable'");
    assert_eq!(error("union isfuzzy=true NoSuchTable, NorThis"), "none of the tables of the union exist");
}

#[test]
fn mv_expand() {
    table(&[
        ("print a = dynamic([1, 2, 3]) | mv-expand a", "1; 2; 3"),
        ("print a = dynamic([1, 2, 3]) | mv-expand a to typeof(long) | summarize sum(a)", "6"),
        ("print a = dynamic([]) | mv-expand a | count", "0"),
        ("print a = dynamic(null) | mv-expand a | count", "1"),
        ("print a = dynamic(7) | mv-expand a", "7"),
        ("print a = dynamic({'x': 1, 'y': 2}) | mv-expand a", "{\"x\":1}; {\"y\":2}"),
        ("print a = dynamic({'x': 1}) | mv-expand bagexpansion=array a", "[\"x\",1]"),
        ("print a = dynamic(['x','y']), b = dynamic([1]) | mv-expand a, b", "x, 1; y, null"),
        ("print a = dynamic(['x','y']) | mv-expand with_itemindex=i a", "x, 0; y, 1"),
        ("print a = dynamic([1,2,3]) | mv-expand a limit 2", "1; 2"),
        (
            "Events | where isnotempty(RawEventData.Items) | mv-expand item = RawEventData.Items | project tostring(item.Name)",
            "a; b",
        ),
    ]);
    assert_eq!(columns("print a = dynamic([1]), n = 'x' | mv-expand a to typeof(long)"), "a:long, n:string");
}

#[test]
fn parse_and_parse_where() {
    table(&[
        (
            r#"print t = "user=alice, ip=10.0.0.1" | parse t with "user=" User ", ip=" Ip | project User, Ip"#,
            "alice, 10.0.0.1",
        ),
        (r#"print t = "took 42 ms" | parse t with * "took " Ms:long " ms" | project Ms + 1"#, "43"),
        (r#"print t = "nothing here" | parse t with "user=" User "," * | project isempty(User)"#, "true"),
        (r#"print t = "took many ms" | parse t with * "took " Ms:long " ms" | project isnull(Ms)"#, "true"),
        (r#"datatable(t:string)["a=1", "b"] | parse-where t with "a=" N:long | project N"#, "1"),
        (r#"print t = "x=12;y=ab" | parse kind=regex t with "x=" X:long ";y=" Y | project X, Y"#, "12, ab"),
        (
            r#"print t = "a=1,b=x" | parse kind=relaxed t with "a=" A:long ",b=" B:long | project A, isnull(B)"#,
            "1, true",
        ),
    ]);
}

#[test]
fn invoke_file_profile() {
    let catalog = fixture().with_table(
        "FileProfile",
        vec![
            Column::new("SHA256", Type::String),
            Column::new("GlobalPrevalence", Type::Long),
            Column::new("Signer", Type::String),
        ],
        vec![vec![Value::string("a".repeat(64)), Value::Long(12), Value::string("Microsoft")]],
    );
    let query = format!(
        "datatable(FileSHA256:string)['{}', '{}', 'not-a-hash'] | invoke FileProfile(FileSHA256, 1000) | project GlobalPrevalence, Signer, ProfileAvailability",
        "a".repeat(64),
        "b".repeat(64)
    );
    let result = run(&query, &catalog, &options()).expect("runs");
    let text: Vec<String> =
        result.table.rows.iter().map(|r| r.iter().map(cell).collect::<Vec<_>>().join(", ")).collect();
    assert_eq!(text, vec!["12, Microsoft, Available", "null, , Missing", "null, , "]);
    // Without a FileProfile table every file is Missing, and the columns are there.
    assert_eq!(
        rows(&format!(
            "print SHA256 = '{}' | invoke FileProfile(SHA256) | project ProfileAvailability",
            "c".repeat(64)
        )),
        "Missing"
    );
    assert!(columns("print SHA1 = '' | invoke FileProfile()").contains("GlobalPrevalence:int"));
}

#[test]
fn sources_and_small_operators() {
    table(&[
        ("datatable(a:long, b:string)[1, 'x', 2, 'y'] | where a > 1", "2, y"),
        ("print 1 + 1, x = 'a'", "2, a"),
        ("range i from 1 to 7 step 3", "1; 4; 7"),
        ("range d from datetime(2024-01-01) to datetime(2024-01-03) step 1d | count", "3"),
        ("Events | take 1 | project Device | getschema", "Device, 0, System.String, string"),
        ("Events | where Device == 'pc2' | as Picked | join (Picked) on Device | project Device", "pc2"),
        ("Events | serialize | count", "5"),
        ("Events | summarize count() by ActionType | render columnchart | count", "2"),
        ("Events | render timechart with (title='x') | count", "5"),
    ]);
    assert_eq!(columns("print 1, 'a'"), "print_0:long, print_1:string");
    assert_eq!(columns("range i from 1 to 2 step 1"), "i:long");
}

#[test]
fn let_statements() {
    table(&[
        ("let n = 2; Events | take n | count", "2"),
        ("let since = ago(2d); Events | where Timestamp > since | count", "3"),
        ("let iso = Events | where ActionType == 'IsolateDevice'; iso | count", "3"),
        ("let f = (d: string) { Events | where Device == d }; f('pc2') | count", "1"),
        ("let g = (x: long, y: long = 10) { x + y }; print g(1), g(1, 2)", "11, 3"),
        ("let Size = 1000; Events | where Size > 25 | count", "1"),
        ("let devices = dynamic(['pc2']); Events | where Device in (devices) | count", "1"),
        ("let top1 = toscalar(Events | summarize max(Size)); print top1", "30"),
        ("Events | where Device in ((Events | where Size == 20 | project Device)) | count", "1"),
        ("let T = Events; T | count", "5"),
        ("let m = materialize(Events | where Size > 1); m | join kind=inner (m) on Device | count", "10"),
        ("let m = materialize(Events | where Size > 1); m | join (m) on Device | count", "4"),
    ]);
}
