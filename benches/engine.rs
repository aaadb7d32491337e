//! In-process benchmark of the KQL engine: the four queries of `bench/kql_vs_duckdb.py`, run through the
//! library on one thread over generated `CloudAppEvents` lines, each reported as a ratio to an outside
//! reference measured in the same run — `serde_json` parsing every line into a `serde_json::Value`, the
//! least any JSON-reading tool does. `cargo bench` runs it; `BENCH_ROWS` sets the size (default 50,000).
//! It measures; it never fails because a machine is slow.

use std::time::{Duration, Instant};

use huntbook::kql::eval::ExecOptions;
use huntbook::kql::load::DataDir;
use huntbook::sample::{SampleOptions, generate};

const QUERIES: [(&str, &str); 4] = [
    (
        "a: filter + 3 members",
        r#"CloudAppEvents | where ActionType == "IsolateDevice" | extend d = parse_json(RawEventData) | project Timestamp, DeviceName = tostring(d.DeviceName), Scope = tostring(d.ActionScope), Comment = tostring(d.ActionComment)"#,
    ),
    (
        "b: contains + summarize",
        r#"CloudAppEvents | extend Workload = tostring(parse_json(RawEventData).Workload) | where Workload contains "Defender" | summarize count() by ActionType"#,
    ),
    (
        "c: release -> isolation lookup",
        r#"let isolations = CloudAppEvents | where ActionType == "IsolateDevice" | project IsolatedAt = Timestamp, Device = tostring(RawEventData.DeviceName), IsolatedBy = tostring(RawEventData.UserId), Why = tostring(RawEventData.ActionComment); CloudAppEvents | where ActionType == "ReleaseFromIsolation" | project ReleasedAt = Timestamp, Device = tostring(RawEventData.DeviceName) | lookup kind=leftouter isolations on $left.Device == $right.Device"#,
    ),
    ("d: distinct member", r#"CloudAppEvents | extend Workload = tostring(RawEventData.Workload) | distinct Workload"#),
];

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(runs: usize, mut work: impl FnMut() -> usize) -> (Duration, usize) {
    let mut rows = work();
    let samples = (0..runs)
        .map(|_| {
            let started = Instant::now();
            rows = work();
            started.elapsed()
        })
        .collect();
    (median(samples), rows)
}

fn main() {
    let rows: usize = std::env::var("BENCH_ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(50_000);
    let runs = 5;
    let directory = tempfile::tempdir().expect("a temporary directory");
    let options = SampleOptions { rows, ..SampleOptions::default() };
    let summary = generate(&options, directory.path()).expect("sample data");
    let path = directory.path().join("CloudAppEvents.jsonl");
    let text = std::fs::read_to_string(&path).expect("read back");
    println!("{rows} CloudAppEvents rows, {:.1} MB, one thread, median of {runs} runs\n", summary.bytes as f64 / 1e6);

    let (reference, parsed) =
        time(runs, || text.lines().filter(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()).count());
    println!(
        "{:<34} {:>10.1} ms  ({parsed} lines; the reference)",
        "serde_json::Value of every line",
        reference.as_secs_f64() * 1e3
    );

    let catalog = DataDir::open(directory.path()).expect("data directory");
    let exec = ExecOptions { parallelism: 1, ..ExecOptions::new(0) };
    for (name, query) in QUERIES {
        let (elapsed, result_rows) = time(runs, || {
            huntbook::kql::run(query, &catalog, &exec).map(|r| r.table.rows.len()).expect("the query runs")
        });
        println!(
            "{name:<34} {:>10.1} ms  {:>5.2} x the reference  ({result_rows} result rows)",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() / reference.as_secs_f64()
        );
    }
}
