//! Crash points for tests. `hit("after-commit")` aborts the process — exactly what `kill -9` does at that
//! moment — when the environment variable `HUNTBOOK_FAILPOINT` names that point. It lets a test stop the real
//! binary at every stage of a run deterministically, without timing. Unset (always, in normal use), it costs an
//! environment lookup.

pub const VARIABLE: &str = "HUNTBOOK_FAILPOINT";

/// Aborts the process here if the test asked for it.
pub fn hit(point: &str) {
    if std::env::var_os(VARIABLE).is_some_and(|wanted| wanted == point) {
        std::process::abort();
    }
}
