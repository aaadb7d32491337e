//! The string tests of KQL: `contains`, `has` (whole terms), `hasprefix`, `hassuffix`, `startswith`,
//! `endswith`, each case-insensitive unless `_cs`. A term is a maximal run of ASCII letters and digits, so
//! `"Live Response" has "Resp"` is false and `"KustoExplorerQueryRun" has "Explorer"` is false.

use std::borrow::Cow;

use super::super::ast::{StringOperator, StringTest};

fn is_term_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Lowercases both sides when the test ignores case (without copying ASCII-free-of-capitals text).
fn fold<'a>(text: &'a str, case_sensitive: bool) -> Cow<'a, str> {
    if case_sensitive || !text.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Evaluates `haystack <op> needle`.
pub fn string_test(op: StringOperator, haystack: &str, needle: &str) -> bool {
    // ASCII text ignoring case: compared in place, without lowercased copies (the common case, once a row).
    if !op.case_sensitive && haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        let found = match op.test {
            StringTest::Contains => n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)),
            StringTest::StartsWith => h.len() >= n.len() && h[..n.len()].eq_ignore_ascii_case(n),
            StringTest::EndsWith => h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n),
            _ => return folded_test(op, haystack, needle),
        };
        return found != op.negated;
    }
    folded_test(op, haystack, needle)
}

fn folded_test(op: StringOperator, haystack: &str, needle: &str) -> bool {
    let haystack = fold(haystack, op.case_sensitive);
    let needle = fold(needle, op.case_sensitive);
    let (haystack, needle) = (haystack.as_ref(), needle.as_ref());
    let found = match op.test {
        StringTest::Contains => haystack.contains(needle),
        StringTest::StartsWith => haystack.starts_with(needle),
        StringTest::EndsWith => haystack.ends_with(needle),
        StringTest::Has => term_match(haystack, needle, true, true),
        StringTest::HasPrefix => term_match(haystack, needle, true, false),
        StringTest::HasSuffix => term_match(haystack, needle, false, true),
    };
    found != op.negated
}

/// Whether `needle` occurs in `haystack` on term boundaries: at its start (if `at_start` and the needle
/// starts with a term character) and at its end (if `at_end` and it ends with one).
pub fn term_match(haystack: &str, needle: &str, at_start: bool, at_end: bool) -> bool {
    if needle.is_empty() {
        return true;
    }
    let bytes = haystack.as_bytes();
    let needle_bytes = needle.as_bytes();
    let check_start = at_start && needle_bytes.first().copied().is_some_and(is_term_byte);
    let check_end = at_end && needle_bytes.last().copied().is_some_and(is_term_byte);
    for (start, _) in haystack.match_indices(needle) {
        let end = start + needle.len();
        let start_ok = !check_start || start == 0 || !is_term_byte(bytes[start - 1]);
        let end_ok = !check_end || end == bytes.len() || !is_term_byte(bytes[end]);
        if start_ok && end_ok {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(test: StringTest, negated: bool, case_sensitive: bool) -> StringOperator {
        StringOperator { test, negated, case_sensitive }
    }

    #[test]
    fn has_matches_whole_terms_only() {
        let has = op(StringTest::Has, false, false);
        assert!(!string_test(has, "Live Response", "Resp"));
        assert!(string_test(has, "Live Response", "response"));
        assert!(!string_test(has, "Live Response", "Live Res"));
        assert!(string_test(has, "Live Response", "Live Response"));
        assert!(!string_test(has, "KustoExplorerQueryRun", "Explorer"));
        assert!(string_test(has, "North America", "america"));
        assert!(string_test(has, "src 10.0.0.1:443", "10.0.0.1"));
        assert!(!string_test(has, "10.0.0.10", "10.0.0.1"));
        assert!(!string_test(has, "110.0.0.1", "10.0.0.1"));
        assert!(string_test(has, "https://x/resourcegroups/test.rg000001?api", "resourcegroups/test.rg000001"));
        assert!(string_test(has, "my_file", "file"), "an underscore separates terms");
        assert!(string_test(has, "my-file", "file"));
        // Every occurrence is tried: the first may sit inside a longer term.
        assert!(string_test(has, "netsh; net user x", "net"));
        assert!(!string_test(has, "netsh; netuser", "net"));
        assert!(string_test(op(StringTest::HasPrefix, false, false), "internet net", "net"));
        assert!(string_test(op(StringTest::HasSuffix, false, false), "nets; ...net", "net"));
    }

    #[test]
    fn case_rules() {
        assert!(string_test(op(StringTest::Contains, false, false), "FabriKam", "BRik"));
        assert!(!string_test(op(StringTest::Contains, false, true), "FabriKam", "BRik"));
        assert!(string_test(op(StringTest::Has, false, true), "North America", "America"));
        assert!(!string_test(op(StringTest::Has, false, true), "North America", "america"));
        assert!(string_test(op(StringTest::StartsWith, false, false), "Fabrikam", "fab"));
        assert!(string_test(op(StringTest::EndsWith, true, true), "Fabrikam", "Kam"));
        assert!(string_test(op(StringTest::Contains, false, false), "ÜBER", "über"));
    }

    #[test]
    fn prefixes_and_suffixes_of_terms() {
        assert!(string_test(op(StringTest::HasPrefix, false, false), "North America", "ame"));
        assert!(!string_test(op(StringTest::HasPrefix, false, false), "North America", "mer"));
        assert!(string_test(op(StringTest::HasSuffix, false, false), "North America", "ica"));
        assert!(string_test(op(StringTest::HasSuffix, false, false), "North America", "rth"));
        assert!(!string_test(op(StringTest::HasSuffix, false, false), "North America", "americ"));
    }

    proptest::proptest! {
        /// ASCII text ignoring case is compared in place; the answer is the lowercased copies' answer.
        #[test]
        fn ascii_text_is_compared_in_place_as_lowercased_copies_are(
            haystack in "[a-zA-Z0-9 _.-]{0,24}",
            needle in "[a-zA-Z0-9 _.-]{0,4}",
        ) {
            for test in [StringTest::Contains, StringTest::StartsWith, StringTest::EndsWith] {
                for negated in [false, true] {
                    let o = op(test, negated, false);
                    proptest::prop_assert_eq!(string_test(o, &haystack, &needle), folded_test(o, &haystack, &needle));
                }
            }
        }
    }
}
