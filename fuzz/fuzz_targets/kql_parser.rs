//! The parser never panics and never loops, whatever the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = huntbook::kql::parser::parse_query(text);
        let _ = huntbook::kql::parser::parse_expression(text);
    }
});
