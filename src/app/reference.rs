//! `huntbook schema`, `huntbook completions`: what editors and shells need to know about huntbook's files and
//! commands, generated from the readers' own key lists (`schema`) and from the command line's definition (clap).

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use super::Outcome;
use crate::cli::{Cli, CompletionTarget, CompletionsArgs, SchemaArgs, SchemaFile};
use crate::schema::{SchemaKind, schema};

pub fn schema_command(args: SchemaArgs) -> Result<Outcome> {
    let kind = match args.kind {
        SchemaFile::Playbook => SchemaKind::Playbook,
        SchemaFile::Config => SchemaKind::Config,
    };
    let text = serde_json::to_string_pretty(&schema(kind)).context("writing the schema")? + "\n";
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            crate::say!("wrote {}", path.display());
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(Outcome::Success)
}

pub fn completions(args: CompletionsArgs) -> Result<Outcome> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    let shell = match args.shell {
        CompletionTarget::Man => {
            clap_mangen::Man::new(command).render(&mut out).context("writing the man page")?;
            return Ok(Outcome::Success);
        }
        CompletionTarget::Bash => clap_complete::Shell::Bash,
        CompletionTarget::Zsh => clap_complete::Shell::Zsh,
        CompletionTarget::Fish => clap_complete::Shell::Fish,
        CompletionTarget::Elvish => clap_complete::Shell::Elvish,
        CompletionTarget::Powershell => clap_complete::Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut command, "huntbook", &mut out);
    Ok(Outcome::Success)
}
