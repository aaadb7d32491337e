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

#[test]
fn substitution_cannot_blow_up_an_expression() {
    let mut query = String::from("let a0 = 1;");
    for i in 1..=40 {
        query.push_str(&format!(" let a{i} = a{} + a{};", i - 1, i - 1));
    }
    query.push_str(" print a40");
    assert!(error(&query).contains("grows past"), "{}", error(&query));
    let mut chain = String::from("let f0 = (x: long) { x + 1 };");
    for i in 1..=31 {
        chain.push_str(&format!(" let f{i} = (x: long) {{ f{}(f{}(x)) }};", i - 1, i - 1));
    }
    chain.push_str(" print f31(1)");
    assert!(error(&chain).contains("grows past"), "{}", error(&chain));
    assert_eq!(rows("let a0 = 1; let a1 = a0 + a0; let a2 = a1 + a1; print a2"), "4");
}
