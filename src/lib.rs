//! huntbook: scheduled Microsoft Defender XDR advanced-hunting playbooks.
//!
//! The binary in `main.rs` is a thin shell over this library; everything it does is reachable from here so
//! that integration tests, benchmarks and fuzz targets drive the same code the user runs.
#![forbid(unsafe_code)]

/// `eprintln!` that never panics: when stderr is closed or broken (a `| head` that has exited, a terminal that
/// went away), the line is lost, not the process.
#[macro_export]
macro_rules! say {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($argument)*);
    }};
}

/// `eprint!` that never panics (see [`say!`]).
#[macro_export]
macro_rules! say_inline {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($argument)*);
    }};
}

pub mod app;
pub mod cli;
pub mod config;
pub mod deliver;
pub mod diagnostics;
pub mod emulate;
pub mod enrich;
pub mod failpoint;
pub mod graph;
pub mod logging;
/// The local KQL engine, its own crate (`crates/kql`): pure, knowing nothing of huntbook.
pub use kql;
pub mod daemon;
pub mod playbook;
pub mod render;
pub mod route;
pub mod runner;
pub mod sample;
pub mod schedule;
pub mod schema;
pub mod source;
pub mod store;
pub mod telemetry;
