//! Wires the parts together for each command. The only module besides `main` that prints.

mod delivery;
mod emulate;
mod history;
mod init;
mod outbox;
mod playbook_tests;
mod query;
mod run;
pub mod workspace;

use anyhow::Result;

use crate::cli::Command;

pub use init::init_config;
pub use playbook_tests::run_test;
pub use run::DUE_SLACK;

/// How a command ended, as an exit code: 0 success, 1 a run or check failed, 2 bad usage or invalid input.
/// Ordered by gravity, so that a command that meets several reports the worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Success = 0,
    Failed = 1,
    Invalid = 2,
}

pub fn run(command: Command) -> Result<Outcome> {
    crate::schedule::set_clock_from_environment().map_err(anyhow::Error::msg)?;
    match command {
        Command::Run(args) => run::run(args),
        Command::Validate(args) => history::validate(args),
        Command::Test(args) => playbook_tests::test(args),
        Command::Runs(args) => history::runs(args),
        Command::Init(args) => init::init(&args.dir),
        Command::Query(args) => query::query(args),
        Command::SampleData(args) => query::sample_data(args),
        Command::Emulate(args) => emulate::emulate(args),
        Command::Outbox(args) => outbox::outbox(args),
    }
}
