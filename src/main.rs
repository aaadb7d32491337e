//! The `huntbook` binary: parses the command line, runs the command, maps the outcome to an exit code: 0
//! success, 1 a run, check or delivery failed (or the command's work did), 2 bad usage or an invalid configuration.

use clap::Parser;

use huntbook::app::{exit_code_of, run};
use huntbook::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    huntbook::app::init_logging(&cli);
    match run(cli.command) {
        Ok(outcome) => std::process::ExitCode::from(outcome as u8),
        // A reader that stopped reading (`huntbook outbox list | head`) is its choice, not a failure.
        Err(error) if huntbook::app::is_broken_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            huntbook::say!("error: {error:#}");
            std::process::ExitCode::from(exit_code_of(&error))
        }
    }
}
