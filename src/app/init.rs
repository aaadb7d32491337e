//! `huntbook init [DIR]`: a working setup to start from — a configuration on local sample data that writes
//! messages to files, a playbook with a test and its fixture, the shipped templates to edit, and the sample
//! data. Existing files are never overwritten, so running it again only fills in what is missing.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Outcome;
use crate::config::DEFAULT_CONFIG;
use crate::render::email::shipped_templates;
use crate::sample::{SampleOptions, generate};

/// The playbook `init` writes, with its test fixture.
const PLAYBOOK: (&str, &str) =
    ("playbooks/offboarding-package-download.yaml", include_str!("../../playbooks/offboarding-package-download.yaml"));
const FIXTURE: (&str, &str) = (
    "playbooks/tests/offboarding-package-download.jsonl",
    include_str!("../../playbooks/tests/offboarding-package-download.jsonl"),
);

/// The configuration `init` writes: the built-in one, reading the sample data from `data/` next to it.
pub fn init_config() -> String {
    let body = DEFAULT_CONFIG.split_once("\n\n").map_or(DEFAULT_CONFIG, |(_, body)| body);
    let header = "# huntbook.yaml — written by `huntbook init`. It runs the playbooks in playbooks/ over the sample tenant in\n\
                  # data/ with the local KQL engine and writes every message as a file under outbox/. Relative paths are\n\
                  # resolved against this file's directory. To query a real tenant, set `source: { kind: graph }` and\n\
                  # fill in `tenants:`; to send mail, fill in `smtp:` and set the receivers' `via: smtp`.\n\n";
    format!("{header}{}", body.replacen("data: examples/data ", "data: data          ", 1))
}

pub fn init(dir: &Path) -> Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut files: Vec<(PathBuf, String)> = vec![
        (PathBuf::from("huntbook.yaml"), init_config()),
        (PathBuf::from(PLAYBOOK.0), PLAYBOOK.1.to_string()),
        (PathBuf::from(FIXTURE.0), FIXTURE.1.to_string()),
    ];
    for (file, text) in shipped_templates() {
        files.push((PathBuf::from("templates").join(file), text.to_string()));
    }
    let (mut written, mut kept) = (Vec::new(), Vec::new());
    for (relative, text) in files {
        let path = dir.join(&relative);
        if path.exists() {
            kept.push(relative);
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        write_new(&path, text.as_bytes())?;
        written.push(relative);
    }
    let data = dir.join("data");
    if data.exists() {
        kept.push(PathBuf::from("data/"));
    } else {
        let summary = generate(&SampleOptions::default(), &data)
            .with_context(|| format!("writing the sample data to {}", data.display()))?;
        written.push(PathBuf::from(format!("data/ ({} sample events)", summary.cloud_app_events)));
    }
    for file in &written {
        println!("wrote {}", file.display());
    }
    for file in &kept {
        println!("kept  {} (it exists)", file.display());
    }
    let cd = if dir == Path::new(".") { String::new() } else { format!("cd {} && ", dir.display()) };
    let (me, on_path) = command_name();
    println!("\nnext: {cd}{me} validate && {me} test && {me} run");
    if !on_path {
        println!("(huntbook is not on your PATH: `cargo install --path . --locked` in its source puts it there)");
    }
    Ok(Outcome::Success)
}

/// How to call this program from a shell: `huntbook` when that name on the PATH is this program, else its path,
/// quoted if it must be (a binary run from `target/release` is not on the PATH, and "huntbook: command not found"
/// helps no one); and whether any `huntbook` is on the PATH.
fn command_name() -> (String, bool) {
    let me = std::env::current_exe().ok().and_then(|path| path.canonicalize().ok());
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("huntbook")).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|candidate| candidate.is_file());
    let found = on_path.is_some();
    let name = match (me, on_path) {
        (Some(me), Some(found)) if found.canonicalize().ok().as_ref() == Some(&me) => "huntbook".to_string(),
        (Some(me), _) => {
            let path = me.display().to_string();
            let plain = path.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c));
            if plain { path } else { format!("'{}'", path.replace('\'', "'\\''")) }
        }
        (None, _) => "huntbook".to_string(),
    };
    (name, found)
}

/// Creates a file that must not exist yet (so a file appearing meanwhile is not overwritten either).
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}
