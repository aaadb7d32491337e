//! Wires the parts together for each command. The only module besides `main` that prints.

mod daemon;
mod delivery;
mod emulate;
mod history;
mod init;
mod outbox;
pub(crate) mod playbook_tests;
mod preview;
mod query;
mod reference;
mod run;
mod silence;
pub mod workspace;

use anyhow::{Context, Result};

use crate::cli::Command;

pub use delivery::place as delivery_place;
pub use init::init_config;
pub use playbook_tests::run_test;
pub use run::DUE_SLACK;
pub use run::source as run_source;

/// How a command ended, as an exit code: 0 success, 1 a run or check failed, 2 bad usage or invalid input.
/// Ordered by gravity, so that a command that meets several reports the worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Success = 0,
    Failed = 1,
    Invalid = 2,
}

/// A problem with how a command was called — a flag's value, a missing argument, `HUNTBOOK_NOW` — which exits
/// with 2. Every other error of a command is a failure of its work (a full disk, an unreadable file): exit 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// An error that exits with 2 (see `Usage`).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// The exit code of a command that ended in an error: 2 for bad usage, 1 for everything else.
/// Whether a command failed only because its output was closed (a pipe into `head`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn exit_code_of(error: &anyhow::Error) -> u8 {
    if error.chain().any(|cause| cause.is::<Usage>()) { Outcome::Invalid as u8 } else { Outcome::Failed as u8 }
}

/// Sends `tracing` events to stderr: text (colours on a terminal) or JSON lines. The daemon logs what it does at
/// `info`; the other commands print their own output and log only errors unless `-v` asks for more.
pub fn init_logging(cli: &crate::cli::Cli) {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::LevelFilter;
    const LEVELS: [LevelFilter; 6] = [
        LevelFilter::OFF,
        LevelFilter::ERROR,
        LevelFilter::WARN,
        LevelFilter::INFO,
        LevelFilter::DEBUG,
        LevelFilter::TRACE,
    ];
    let base: i32 = if matches!(cli.command, Command::Daemon(_)) { 3 } else { 1 };
    let level = (base + i32::from(cli.verbose) - i32::from(cli.quiet)).clamp(0, 5) as usize;
    let builder = tracing_subscriber::fmt()
        .with_max_level(LEVELS[level])
        .with_writer(crate::logging::LogWriter)
        .log_internal_errors(false);
    let _ = match cli.log_format {
        crate::cli::LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        crate::cli::LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}

/// Opens the state file for a command that only reads it: nothing is written, so a file the user may only read
/// (or on a read-only mount) can be looked at. A file that does not exist reads as an empty one (and is not
/// created); one whose schema is older is brought up to date when it can be written.
fn open_for_reading(state: &std::path::Path) -> Result<crate::store::Store> {
    use crate::store::{Store, StoreError};
    if !state.exists() {
        return Store::open_in_memory().context("an empty state");
    }
    match Store::open_read_only(state) {
        Ok(store) => Ok(store),
        Err(StoreError::OlderSchema { .. }) => open_store(state),
        Err(error) => Err(error).with_context(|| format!("opening the state file {}", state.display())),
    }
}

/// Opens the state file for a command; says so when an empty file became a new state file.
fn open_store(state: &std::path::Path) -> Result<crate::store::Store> {
    let store =
        crate::store::Store::open(state).with_context(|| format!("opening the state file {}", state.display()))?;
    if store.adopted_empty_file() {
        crate::say!(
            "note: the state file {} was empty (0 bytes): it is now a new state file, and every hit is new to it",
            state.display()
        );
    }
    Ok(store)
}

pub fn run(command: Command) -> Result<Outcome> {
    crate::schedule::set_clock_from_environment().map_err(usage)?;
    match command {
        Command::Run(args) => run::run(args),
        Command::Daemon(args) => daemon::daemon(args),
        Command::Validate(args) => history::validate(args),
        Command::Test(args) => playbook_tests::test(args),
        Command::Runs(args) => history::runs(args),
        Command::Init(args) => init::init(&args.dir),
        Command::Query(args) => query::query(args),
        Command::SampleData(args) => query::sample_data(args),
        Command::Emulate(args) => emulate::emulate(args),
        Command::Outbox(args) => outbox::outbox(args),
        Command::Silence(args) => silence::silence(args),
        Command::Schema(args) => reference::schema_command(args),
        Command::Completions(args) => reference::completions(args),
        Command::Preview(args) => preview::preview(args),
    }
}
