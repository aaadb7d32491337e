//! `huntbook validate` and `run` over files that are not what a YAML file should be — a byte-order mark, a NUL,
//! bytes that are not UTF-8, a file of 9 MiB, tens of thousands of unknown keys — through the real binary. Each
//! is read or refused with where and why; the other playbooks are checked as usual.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{huntbook, stderr, stdout};

const CONFIG: &str = "state: huntbook.db\nplaybooks: playbooks\nsource: { kind: local, data: data }\n\
                      receivers:\n  files: { file: { dir: outbox } }\n";

const PLAYBOOK: &str = "id: ID\ntitle: A playbook\nseverity: low\nschedule: { every: 1h }\n\
                        query: CloudAppEvents | take 1\nnotify:\n  - to: [files]\n";

/// A workspace with `huntbook.yaml` (its bytes as given) and one good playbook, `good`.
fn workspace(config: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("playbooks")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/CloudAppEvents.jsonl"), "").expect("write the table");
    std::fs::write(dir.path().join("huntbook.yaml"), config).expect("write the configuration");
    write_playbook(dir.path(), "good", PLAYBOOK.replace("ID", "good").as_bytes());
    dir
}

fn write_playbook(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join("playbooks").join(format!("{name}.yaml")), bytes).expect("write the playbook");
}

fn validate(dir: &Path) -> std::process::Output {
    huntbook().current_dir(dir).arg("validate").output().expect("huntbook runs")
}

#[test]
fn a_byte_order_mark_at_the_start_of_a_config_or_a_playbook_is_skipped() {
    let dir = workspace(format!("\u{feff}{CONFIG}").as_bytes());
    write_playbook(dir.path(), "bom", format!("\u{feff}{}", PLAYBOOK.replace("ID", "bom")).as_bytes());
    let output = validate(dir.path());
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).starts_with("ok: 2 playbooks"), "{}", stdout(&output));
}

#[test]
fn a_nul_byte_is_reported_where_it_is_not_as_missing_keys_after_it() {
    let config = CONFIG.replace("source:", "# a comment \0 with a NUL\nsource:");
    let dir = workspace(config.as_bytes());
    let output = validate(dir.path());
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert!(said.contains("holds a NUL character") && said.contains("huntbook.yaml:3:13"), "{said}");
    assert!(said.contains("# a comment ␀ with a NUL"), "the line is shown, the NUL visible: {said}");
    assert!(!said.contains("receiver"), "nothing about what follows the NUL: {said}");
}

#[test]
fn a_playbook_that_is_not_utf8_or_too_large_is_refused_and_the_others_are_checked() {
    let dir = workspace(CONFIG.as_bytes());
    let mut latin1 = PLAYBOOK.replace("ID", "latin").replace("A playbook", "Caf_").into_bytes();
    let at = latin1.iter().position(|b| *b == b'_').expect("the marker");
    latin1[at] = 0xe9;
    write_playbook(dir.path(), "latin", &latin1);
    let mut huge = PLAYBOOK.replace("ID", "huge");
    huge.push_str(&format!("# {}\n", "x".repeat(9 << 20)));
    write_playbook(dir.path(), "huge", huge.as_bytes());
    let output = validate(dir.path());
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert!(said.contains("latin.yaml:2:11: the file is not UTF-8 text from here on"), "{said}");
    assert!(said.contains("huge.yaml is 9.0 MiB") && said.contains("up to 8 MiB"), "{said}");
    assert!(said.contains("2 problems in 2 of 3 playbooks"), "{said}");
}

/// Each unknown key used to be placed by reading the file from its top: 10,000 keys took 1.5 s and 40,000
/// took 20. The time is compared with a file 16 times smaller in the same run: linear work is about 16 times
/// as long, quadratic about 256 times; the bound between them leaves room for a busy machine.
#[test]
fn unknown_keys_are_reported_in_linear_time() {
    let timed = |keys: usize| -> (Duration, String) {
        let dir = workspace(CONFIG.as_bytes());
        let mut text = PLAYBOOK.replace("ID", "wide");
        for key in 0..keys {
            text.push_str(&format!("unknown_key_{key}: value\n"));
        }
        write_playbook(dir.path(), "wide", text.as_bytes());
        let started = Instant::now();
        let output = validate(dir.path());
        let took = started.elapsed();
        assert_eq!(output.status.code(), Some(2));
        (took, stderr(&output))
    };
    let (small, _) = timed(1_250);
    let (large, said) = timed(20_000);
    assert!(said.contains("20000 problems in 1 of 2 playbooks"), "{}", &said[said.len().saturating_sub(300)..]);
    assert!(said.contains("wide.yaml:20007:1") && said.contains("unknown key `unknown_key_19999`"));
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    assert!(ratio < 64.0, "16 times the keys took {ratio:.0} times as long ({small:?} → {large:?})");
}
