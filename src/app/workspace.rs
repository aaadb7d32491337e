//! What every playbook command starts from: the configuration (found the way the README says), the templates,
//! the catalog the queries are checked against, and the playbooks, each problem collected with its place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::ConfigArgs;
use crate::config::{Config, Secrets, SourceConfig, check_templates, load_config_with};
use crate::diagnostics::Diagnostic;
use crate::kql::load::DataDir;
use crate::kql::schema;
use crate::kql::table::Catalog;
use crate::playbook::{Playbook, load_playbook_dir};
use crate::render::email::Templates;

/// The configuration file used when `-c` is not given and the current directory has one.
pub const CONFIG_FILE: &str = "huntbook.yaml";

pub struct Workspace {
    pub config: Config,
    pub templates: Templates,
    /// The tables of the local source, or the built-in schemas (no rows) for Graph: what queries are checked
    /// against.
    pub catalog: Arc<dyn Catalog>,
    /// The valid playbooks, in file-name order.
    pub playbooks: Vec<Playbook>,
    /// Problems of the playbooks left out of `playbooks`, each at its place.
    pub problems: Vec<Diagnostic>,
    /// Warnings about playbooks, valid or not (a query that runs in Graph but not locally).
    pub warnings: Vec<Diagnostic>,
    /// Playbook files that did not load, by file stem (so that `run NAME` can say why it does not run).
    pub invalid: Vec<String>,
    /// The archives the playbooks keep, as empty tables with their columns (`LoadedPlaybooks::archives`).
    pub archives: crate::store::ArchiveCatalog,
}

impl Workspace {
    /// The valid playbook with this id; else the problem to report, with a "did you mean" or the ids there are.
    pub fn playbook(&self, id: &str) -> Result<&Playbook, Box<Diagnostic>> {
        self.playbooks.iter().find(|p| p.id == id).ok_or_else(|| {
            let known: Vec<&str> = self.playbooks.iter().map(|p| p.id.as_str()).collect();
            let hint = crate::config::yaml::did_you_mean(id, known.iter().copied())
                .unwrap_or_else(|| format!("the playbooks are: {}", known.join(", ")));
            Box::new(
                Diagnostic::plain(format!("no valid playbook {id} in {}", self.config.playbooks.display()))
                    .with_hint(hint),
            )
        })
    }
}

/// Which configuration file to read: the flag (or `HUNTBOOK_CONFIG`), else `./huntbook.yaml`, else `None` for
/// the built-in default.
pub fn config_path(args: &ConfigArgs) -> Option<PathBuf> {
    if let Some(path) = &args.config {
        return Some(path.clone());
    }
    Path::new(CONFIG_FILE).is_file().then(|| PathBuf::from(CONFIG_FILE))
}

/// Reads the configuration alone, to check or show it (its secrets need not be at hand); its problems are fatal.
pub fn config(args: &ConfigArgs) -> Result<Config, Vec<Diagnostic>> {
    config_with(args, Secrets::Optional)
}

/// Reads the configuration alone, to send with it: every secret must be at hand.
pub fn config_with_secrets(args: &ConfigArgs) -> Result<Config, Vec<Diagnostic>> {
    config_with(args, Secrets::Required)
}

fn config_with(args: &ConfigArgs, secrets: Secrets) -> Result<Config, Vec<Diagnostic>> {
    let path = config_path(args);
    if path.is_none() {
        crate::say!(
            "note: no {CONFIG_FILE} here and no --config: using the built-in configuration (the sample data in \
             examples/data, messages written under outbox/)"
        );
    }
    let config = load_config_with(path.as_deref(), secrets)?;
    crate::logging::redact_also(&config.redactor());
    Ok(config)
}

/// Loads everything. `Err` holds problems that stop every command (the configuration, the templates, the
/// data directory); problems of single playbooks are in `Workspace::problems` and leave the others usable. For
/// checking and showing: the configuration's secrets need not be at hand (`open_with_secrets` to send).
pub fn open(args: &ConfigArgs) -> Result<Workspace, Vec<Diagnostic>> {
    open_from(config(args)?)
}

/// [`open`], to send: every secret of the configuration must be at hand.
pub fn open_with_secrets(args: &ConfigArgs) -> Result<Workspace, Vec<Diagnostic>> {
    open_from(config_with_secrets(args)?)
}

fn open_from(config: Config) -> Result<Workspace, Vec<Diagnostic>> {
    let templates = Templates::load(config.templates.as_deref())?;
    let catalog: Arc<dyn Catalog> = match &config.source {
        SourceConfig::Local { data, .. } => match DataDir::open(data) {
            Ok(dir) => Arc::new(dir),
            Err(error) => {
                return Err(vec![Diagnostic::plain(format!("the local source's data: {}", error.message)).with_hint(
                    "set source.data to a directory of table files, such as examples/data (`huntbook sample-data` \
                     writes one)",
                )]);
            }
        },
        SourceConfig::Graph => Arc::new(schema::catalog()),
    };
    // An unknown template is one problem among the others: the playbooks are still checked.
    let mut problems = check_templates(&config, &templates.names());
    let mut loaded = load_playbook_dir(&config.playbooks, &config, catalog.as_ref());
    crate::playbook::check_notify_templates(&mut loaded, &templates.names());
    problems.append(&mut loaded.problems);
    let mut warnings = config.warnings.clone();
    warnings.append(&mut loaded.warnings);
    Ok(Workspace {
        config,
        templates,
        catalog,
        playbooks: loaded.playbooks,
        problems,
        warnings,
        invalid: loaded.invalid,
        archives: loaded.archives,
    })
}
