//! The scan of `.jsonl` files skips work (lines without a query's literals, members nobody reads, the
//! rest of a line once the wanted columns are found, columns a filter rejects). None of that may change an
//! answer: the same queries over the same rows held in a `.json` array (decoded whole, scanned without
//! shortcuts) must give the same rows.

use std::path::Path;

use super::DataDir;
use crate::eval::ExecOptions;
use crate::run;

const NOW: &str = "2026-11-20T12:00:00Z";

/// Rows with what defeats naive shortcuts: `\\u` escapes hiding a needle, the Kelvin sign (whose lowercase
/// is an ASCII `k`), dynamics sent as JSON text, numbers written with exponents, missing members.
const TRICKY: &[&str] = &[
    r#"{"Timestamp":"2026-11-19T10:00:00Z","ActionType":"Isolate\u0044evice","RawEventData":{"DeviceName":"pc1","Workload":"MicrosoftDefenderForEndpoint","Size":1e2}}"#,
    r#"{"Timestamp":"2026-11-19T11:00:00Z","ActionType":"IsolateDevice","RawEventData":"{\"DeviceName\":\"pc2\",\"Workload\":\"MicrosoftDefenderForEndpoint\",\"Size\":100}"}"#,
    r#"{"Timestamp":"2026-11-19T12:00:00Z","ActionType":"ReleaseFromIsolation","RawEventData":{"DeviceName":"pc1","Workload":"\u212Aelvin workload"}}"#,
    r#"{"Timestamp":"2026-11-19T13:00:00Z","ActionType":"IsolateDevice","AccountDisplayName":"Défender","RawEventData":{"Workload":"Exchange","ActionComment":"<b>\"quoted\"</b>"}}"#,
    r#"{"Timestamp":"2026-11-19T14:00:00Z","ActionType":"Send","RawEventData":[1,2,3]}"#,
    r#"{"Timestamp":"2026-11-19T15:00:00Z","ActionType":"Send"}"#,
];

const QUERIES: &[&str] = &[
    r#"CloudAppEvents | where ActionType == "IsolateDevice" | project Timestamp, tostring(RawEventData.DeviceName)"#,
    r#"CloudAppEvents | where ActionType =~ "isolatedevice" | count"#,
    r#"CloudAppEvents | where ActionType in ("IsolateDevice", "ReleaseFromIsolation") | summarize count() by ActionType"#,
    r#"CloudAppEvents | where ActionType in~ ("isolatedevice") | count"#,
    r#"CloudAppEvents | where ActionType has "isolate" | count"#,
    r#"CloudAppEvents | where ActionType has_any ("Isolate", "Release") | count"#,
    r#"CloudAppEvents | where RawEventData.Workload contains "defender" | project ReportId, Timestamp"#,
    r#"CloudAppEvents | where tostring(RawEventData.Workload) has "kelvin" | count"#,
    r#"CloudAppEvents | where tostring(RawEventData.Size) == "100" | count"#,
    r#"CloudAppEvents | where AccountDisplayName contains "défender" | count"#,
    r#"CloudAppEvents | extend Workload = tostring(parse_json(RawEventData).Workload) | where Workload contains "Defender" | summarize count() by ActionType"#,
    r#"CloudAppEvents | extend Workload = tostring(RawEventData.Workload) | distinct Workload"#,
    r#"CloudAppEvents | extend d = parse_json(RawEventData) | project d.DeviceName, d["Workload"], d"#,
    r#"CloudAppEvents | extend d = parse_json(RawEventData) | where isnotempty(d.DeviceName) | project Timestamp, DeviceName = tostring(d.DeviceName)"#,
    r#"CloudAppEvents | project RawEventData | take 100000"#,
    r#"CloudAppEvents | project tostring(RawEventData), bag_keys(RawEventData), array_length(RawEventData)"#,
    r#"CloudAppEvents | where RawEventData has "pc1" | count"#,
    r#"CloudAppEvents | summarize arg_max(Timestamp, *) by ActionType | project ActionType, RawEventData"#,
    r#"CloudAppEvents | summarize make_set(RawEventData.ActionScope), dcount(tostring(RawEventData.UserId)) by ActionType"#,
    r#"CloudAppEvents | mv-expand o = ActivityObjects | project ReportId, tostring(o.Name)"#,
    r#"CloudAppEvents | where ActionType == "IsolateDevice" | project Device = tostring(RawEventData.DeviceName), RawEventData | join kind=leftouter (CloudAppEvents | where ActionType == "ReleaseFromIsolation" | project Device = tostring(RawEventData.DeviceName), Released = Timestamp) on Device | project Device, Released, tostring(RawEventData.ActionComment)"#,
    r#"CloudAppEvents | where ActionType == "DownloadOffboardingPkg" | project Timestamp, tostring(RawEventData.UserId), tostring(RawEventData.ClientIP), tostring(RawEventData.OsFamily)"#,
    r#"CloudAppEvents | where ActionType != "MailItemsAccessed" and RawEventData.Workload != "Exchange" | count"#,
    r#"CloudAppEvents | where ActionType == "SetAdvancedFeatures" and RawEventData.SettingsNewValue == false | project tostring(RawEventData.SettingName)"#,
    r#"CloudAppEvents | take 3 | project RawEventData.Workload"#,
    r#"let isolations = CloudAppEvents | where ActionType == "IsolateDevice" | project IsolatedAt = Timestamp, Device = tostring(RawEventData.DeviceName), Why = tostring(RawEventData.ActionComment); CloudAppEvents | where ActionType == "ReleaseFromIsolation" | project ReleasedAt = Timestamp, Device = tostring(RawEventData.DeviceName) | lookup kind=leftouter isolations on Device"#,
];

/// Runs a query over a directory, rows rendered as JSON text (sorted: order is not part of the answer).
fn answer(dir: &Path, query: &str) -> Vec<String> {
    answer_in(&DataDir::open(dir).expect("data dir"), query)
}

fn answer_in(catalog: &DataDir, query: &str) -> Vec<String> {
    answer_with(catalog, query, None)
}

/// The answer with this many scan threads (the machine's by default).
fn answer_with(catalog: &DataDir, query: &str, threads: Option<usize>) -> Vec<String> {
    let now = crate::datetime::parse_datetime(NOW).expect("now");
    let mut options = ExecOptions::new(now);
    options.parallelism = threads.unwrap_or(options.parallelism);
    let result = run(query, catalog, &options).unwrap_or_else(|e| panic!("{query}: {e}"));
    let mut rows: Vec<String> = result
        .table
        .rows
        .iter()
        .map(|row| serde_json::to_string(&row.iter().map(|v| v.to_json()).collect::<Vec<_>>()).unwrap_or_default())
        .collect();
    rows.sort();
    rows
}

fn compare(lines: &[String]) {
    let streamed = tempfile::tempdir().expect("temp dir");
    let whole = tempfile::tempdir().expect("temp dir");
    std::fs::write(streamed.path().join("CloudAppEvents.jsonl"), lines.join("\n")).expect("write jsonl");
    std::fs::write(whole.path().join("CloudAppEvents.json"), format!("[{}]", lines.join(","))).expect("write json");
    // The same file in many small partitions, read in small blocks by three threads (each with its own copy
    // of a lookup's right side).
    let split = DataDir::open(streamed.path()).expect("dir").with_scan_sizes(4096, 1000);
    let (whole, streamed) = (DataDir::open(whole.path()).expect("dir"), DataDir::open(streamed.path()).expect("dir"));
    for query in QUERIES {
        let expected = answer_in(&whole, query);
        let actual = answer_in(&streamed, query);
        assert_eq!(actual, expected, "{query}");
        assert_eq!(answer_with(&split, query, Some(3)), expected, "{query}, in partitions");
    }
}

#[test]
fn scan_shortcuts_change_no_answer_on_tricky_rows() {
    compare(&TRICKY.iter().map(|line| line.to_string()).collect::<Vec<_>>());
}

#[test]
fn scan_shortcuts_change_no_answer_on_the_sample_tenant() {
    let sample =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/CloudAppEvents.jsonl"))
            .expect("sample");
    let mut lines: Vec<String> = sample.lines().map(str::to_string).collect();
    lines.extend(TRICKY.iter().map(|line| line.to_string()));
    compare(&lines);
}

#[test]
fn the_tricky_rows_are_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("CloudAppEvents.jsonl"), TRICKY.join("\n")).expect("write");
    assert_eq!(answer(dir.path(), r#"CloudAppEvents | where ActionType == "IsolateDevice" | count"#), vec!["[3]"]);
    assert_eq!(
        answer(dir.path(), r#"CloudAppEvents | where tostring(RawEventData.Workload) has "kelvin" | count"#),
        vec!["[1]"]
    );
    assert_eq!(
        answer(dir.path(), r#"CloudAppEvents | where tostring(RawEventData.Size) == "100" | count"#),
        vec!["[2]"]
    );
    assert_eq!(answer(dir.path(), r#"CloudAppEvents | where RawEventData.DeviceName == "pc2" | count"#), vec!["[1]"]);
}

/// The scan splits a file into partitions read in blocks, and passes over the lines a prefilter rules out in
/// bulk: whatever the sizes (a block smaller than a line, a partition ending inside a line, blank lines, a
/// last line without its newline), every line the prefilter lets through comes out once; without one, every
/// line comes out and is counted once.
#[test]
fn partitions_blocks_and_bulk_skips_lose_and_repeat_no_line() {
    use std::sync::atomic::AtomicBool;

    use aho_corasick::AhoCorasick;

    use super::jsonl::JsonLinesTable;
    use crate::plan::Column;
    use crate::table::{Prefilter, ScanRequest, TableSource};
    use crate::types::Type;

    let mut lines = Vec::new();
    for n in 0..60 {
        let action = match n % 7 {
            0 => "IsolateDevice".to_string(),
            3 => "Isolate\\u0044evice".to_string(),
            _ => format!("Other{}", "x".repeat(n * 3)),
        };
        lines.push(format!(r#"{{"n":{n},"ActionType":"{action}"}}"#));
        if n % 11 == 5 {
            lines.push("   ".to_string());
        }
    }
    let text = lines.join("\n");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("T.jsonl");
    std::fs::write(&path, &text).expect("write");
    let expected: Vec<i64> = (0..60).filter(|n| n % 7 == 0 || n % 7 == 3).collect();
    let columns = vec![Column::new("n", Type::Long), Column::new("ActionType", Type::String)];
    let group = AhoCorasick::new(["IsolateDevice"]).expect("automaton");
    let prefilter = Prefilter::new(vec![(group, false)], &["IsolateDevice".to_string()], true).expect("prefilter");
    let cancel = AtomicBool::new(false);
    let wanted = [true, true];
    for partition_bytes in [7, 64, 333, 1 << 20] {
        for block in [1, 5, 40, 4096] {
            let table = JsonLinesTable::new("T".into(), path.clone(), columns.clone(), text.len() as u64)
                .with_sizes(partition_bytes, block);
            let mut seen = Vec::new();
            for filtered in [true, false] {
                let request = ScanRequest {
                    columns: &wanted,
                    members: &[],
                    filter: None,
                    filter_columns: &[],
                    prefilter: filtered.then_some(&prefilter),
                    cancel: &cancel,
                    progress: None,
                };
                let mut rows = Vec::new();
                let mut total = 0;
                for partition in 0..table.partition_count() {
                    let stats = table
                        .scan_partition(partition, &request, &mut |row| {
                            rows.push(row[0].as_i64().expect("n"));
                            true
                        })
                        .expect("scan");
                    total += stats.rows_read;
                }
                if filtered {
                    seen = rows;
                } else {
                    assert_eq!(rows, (0..60).collect::<Vec<_>>(), "partitions of {partition_bytes}, blocks of {block}");
                    assert_eq!(total, 60);
                }
            }
            assert_eq!(seen, expected, "partitions of {partition_bytes}, blocks of {block}");
        }
    }
}
