//! Kusto-style errors.
use super::*;

#[test]
fn unknown_names() {
    assert_eq!(
        error("Events | where ActionTyp == 'x'"),
        "'where' operator: Failed to resolve scalar expression named 'ActionTyp'"
    );
    assert_eq!(error("Event | count"), "Failed to resolve table or column expression named 'Event'");
}
