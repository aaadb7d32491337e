//! The playbook and configuration loaders never panic, whatever the file: every problem is a diagnostic.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use huntbook::config::{Config, parse_config};
use huntbook::kql::table::MemoryCatalog;
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let text = "source: { kind: local, data: . }\nreceivers:\n  soc-mail:\n    file: { dir: outbox }\n";
        parse_config(None, text, Path::new("."), &|_| None).expect("the fuzzing configuration is valid")
    })
}

fn catalog() -> &'static MemoryCatalog {
    static CATALOG: OnceLock<MemoryCatalog> = OnceLock::new();
    CATALOG.get_or_init(huntbook::kql::schema::catalog)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = huntbook::playbook::parse_playbook(Path::new("fuzz.yaml"), text, config(), catalog(), &|_| true);
        let _ = parse_config(Some(Path::new("huntbook.yaml")), text, Path::new("/nonexistent"), &|_| None);
    }
});
