//! The golden corpus of broken queries: each `tests/diagnostics/NAME.kql` must make `huntbook query` exit
//! with 2 and print exactly `NAME.stderr`. Set `UPDATE_GOLDEN=1` to rewrite the expected files (then read
//! the diff: each one is a message a user will see).

use crate::common;

use common::huntbook;

#[test]
fn broken_queries_render_their_exact_diagnostics() {
    let directory = common::repo().join("tests/diagnostics");
    let mut cases: Vec<_> = std::fs::read_dir(&directory)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "kql"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 25, "the corpus has {} queries", cases.len());
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let relative = case.strip_prefix(common::repo()).expect("inside the repo");
        let output = huntbook()
            .args(["query", "--data", "examples/data", "--now", common::SAMPLE_NOW, "-f"])
            .arg(relative)
            .output()
            .expect("huntbook runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let golden = case.with_extension("stderr");
        if update {
            std::fs::write(&golden, &stderr).expect("write golden");
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if output.status.code() != Some(2) {
            failures.push(format!("{}: exit {:?}, expected 2", relative.display(), output.status.code()));
        }
        if !output.stdout.is_empty() {
            failures.push(format!("{}: printed rows on stdout", relative.display()));
        }
        if stderr != expected {
            failures.push(format!("{}:\n--- expected\n{expected}--- actual\n{stderr}", relative.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
