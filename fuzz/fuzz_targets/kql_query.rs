//! Parsing, checking and running a query over a small table never panics.
#![no_main]

use huntbook::kql::eval::{ExecOptions, execute};
use huntbook::kql::plan::Column;
use huntbook::kql::table::MemoryCatalog;
use huntbook::kql::types::Type;
use huntbook::kql::value::{Dyn, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let columns = vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("ActionType", Type::String),
        Column::new("Size", Type::Long),
        Column::new("RawEventData", Type::Dynamic),
    ];
    let rows = (0..8)
        .map(|i| {
            vec![
                Value::DateTime(huntbook::kql::datetime::UNIX_EPOCH_TICKS + i * 10_000_000_000),
                Value::string(if i % 3 == 0 { "IsolateDevice" } else { "Send" }),
                if i % 4 == 0 { Value::Null } else { Value::Long(i) },
                Value::Dynamic(Dyn::parse(r#"{"a":1,"b":[1,"x"],"c":{"d":"e"}}"#).unwrap_or_default()),
            ]
        })
        .collect();
    let catalog = MemoryCatalog::new().with_table("T", columns, rows);
    if let Ok(plan) = huntbook::kql::compile(text, &catalog) {
        let _ = execute(plan, &ExecOptions { parallelism: 1, ..ExecOptions::new(0) });
    }
});
