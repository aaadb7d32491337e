//! Crash points for tests. `hit("after-commit")` aborts the process — exactly what `kill -9` does at that
//! moment — when the environment variable `HUNTBOOK_FAILPOINT` names that point. It lets a test stop the real
//! binary at every stage of a run deterministically, without timing. `after-commit:pause` instead says
//! `huntbook: paused at after-commit` on stderr and waits for a line on stdin, so that a test can act while the
//! process is held there (start a second one against the same state file), then let it go on.
//! `after-query:panic` panics there instead: a bug, which the daemon must survive. Unset (always, in normal
//! use), it costs an environment lookup.

use std::io::BufRead;

pub const VARIABLE: &str = "HUNTBOOK_FAILPOINT";

/// Aborts, or pauses, the process here if the test asked for it.
pub fn hit(point: &str) {
    let Some(wanted) = std::env::var_os(VARIABLE) else { return };
    let wanted = wanted.to_string_lossy();
    if wanted == point {
        std::process::abort();
    }
    if wanted.strip_suffix(":panic") == Some(point) {
        panic!("failpoint {point}");
    }
    if wanted.strip_suffix(":pause") == Some(point) {
        crate::say!("huntbook: paused at {point}");
        let _ = std::io::stdin().lock().read_line(&mut String::new());
    }
}
