//! No file makes the playbook or configuration loader panic: soups of YAML fragments, playbook keys and values,
//! and random text all end as a playbook or as diagnostics. (`fuzz/fuzz_targets/playbook_loader.rs` is the
//! open-ended version.)

use std::path::Path;

use huntbook::config::{Config, parse_config};
use huntbook::kql::schema;
use huntbook::playbook::parse_playbook;
use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "id: x",
    "title: T",
    "severity: high",
    "severity:",
    "enabled: true",
    "tags: [a, b]",
    "schedule:",
    "  every: 15m",
    "  cron: \"0 8 * * MON\"",
    "  cron: \"* *\"",
    "  timezone: Europe/Amsterdam",
    "  timezone: Mars/Base",
    "  first_lookback: 30d",
    "  overlap: -5m",
    "  delay: 1y",
    "query: |",
    "  CloudAppEvents",
    "  | where ActionType == \"X\"",
    "  | project Timestamp, ReportId",
    "  | where (",
    "query: >",
    "query: \"a\\tb\"",
    "key: [ReportId]",
    "notify:",
    "  - to: [soc-mail]",
    "    per: hit",
    "    per: [DeviceName]",
    "    when: Size >",
    "    when: ReportId != \"\"",
    "    subject: \"{{count}}\"",
    "    subject: \"{{#each}}\"",
    "send_empty: yes",
    "enrich:",
    "  - isolation_reason: { device: DeviceName, at: Timestamp, from: isolations }",
    "  - isolation_reason: { device: ReportId, at: ReportId, from: '', rename: { IsolatedAt: [] } }",
    "  - file_profile: { sha256: ReportId, via: mde_api }",
    "  - file_profile: { sha1: ReportId, sha256: X }",
    "  - lookup: { query: 'CloudAppEvents | where ReportId in ({{values}})', on: [ReportId] }",
    "  - lookup: { query: '{{values.ReportId}} {{values', on: ReportId, lookback: 1y }",
    "    on_error: fail",
    "    on_error: maybe",
    "archive: { name: isolations, retention: 400d }",
    "archive: { name: 'CloudAppEvents', retention: 0s }",
    "archive:",
    "    expect: { archived: 2 }",
    "    data: { archive.isolations: missing.jsonl, archive.: x.jsonl }",
    "tests:",
    "  - name: t",
    "    data: missing.jsonl",
    "    now: 2026-11-20T12:00:00Z",
    "    expect: { hits: 1 }",
    "source: { kind: local }",
    "receivers:",
    "  a:",
    "    email: { to: [x@y], from: z }",
    "    teams: { webhook: ${env:NOPE} }",
    "state: ''",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    "&a",
    "*a",
    "!tag",
    "'",
    "\"",
    "|-",
    "\t",
    "  ",
    "\u{202e}",
    "é",
    "#",
    "---",
    "...",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..30).prop_map(|lines| lines.join("\n"))
}

fn config() -> Config {
    let text = "source: { kind: local, data: . }\nreceivers:\n  soc-mail:\n    file: { dir: outbox }\n";
    parse_config(None, text, Path::new("."), &|_| None).expect("the configuration is valid")
}

fn load(text: &str) {
    let catalog = schema::catalog();
    let _ = parse_playbook(Path::new("p.yaml"), text, &config(), &catalog, &|_| true);
    let _ = parse_config(Some(Path::new("huntbook.yaml")), text, Path::new("/nonexistent"), &|_| None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn yaml_soup_never_panics(text in soup()) {
        load(&text);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        load(&text);
    }
}

#[test]
fn a_valid_playbook_from_the_fragments_loads() {
    // The fragments can make a valid playbook, so the soup reaches past the first error.
    let text = "id: x\ntitle: T\nseverity: high\nschedule:\n  every: 15m\nquery: |\n  CloudAppEvents\n  | where ActionType == \"X\"\n  | project Timestamp, ReportId\nnotify:\n  - to: [soc-mail]\n    per: hit\n";
    let catalog = schema::catalog();
    let playbook = parse_playbook(Path::new("p.yaml"), text, &config(), &catalog, &|_| true);
    assert!(playbook.is_ok(), "{playbook:?}");
}
