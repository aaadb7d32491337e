//! The `huntbook` binary: parses the command line, runs the command, maps the outcome to an exit code.

use clap::Parser;

use huntbook::app::{Outcome, run};
use huntbook::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(outcome) => std::process::ExitCode::from(outcome as u8),
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(Outcome::Invalid as u8)
        }
    }
}
