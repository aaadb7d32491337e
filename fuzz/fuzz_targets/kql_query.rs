//! Parsing, checking and running a query over a small table never panics — nor overflows the stack on long
//! flat chains: an input of the form `head \0 link \0 tail` is run as `head` + `link` × N + `tail`, N from the
//! input's length, so that the fuzzer reaches chains of thousands of `or`, `+`, `.x` or `| as t` cheaply.
#![no_main]

use huntbook::kql::eval::{ExecOptions, execute};
use huntbook::kql::plan::Column;
use huntbook::kql::table::MemoryCatalog;
use huntbook::kql::types::Type;
use huntbook::kql::value::{Dyn, Value};
use libfuzzer_sys::fuzz_target;

/// `head \0 link \0 tail` as head + link repeated + tail; any other text as it is.
fn expand(text: &str) -> String {
    let mut parts = text.splitn(3, '\0');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(head), Some(link), Some(tail)) => {
            let times = (text.len() * 97) % 5_000 + 1;
            format!("{head}{}{tail}", link.repeat(times))
        }
        _ => text.to_string(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let text = &expand(text);
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
