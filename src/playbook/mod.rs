//! Playbooks: one YAML file each — a query, a schedule, who is notified, and the playbook's own tests. This
//! module owns the validated `Playbook` and its loading: every problem of every file is collected with its
//! position (unknown keys, bad durations and cron expressions, unknown receivers and tenants, queries and
//! conditions that do not check against the tables) before anything runs. Loading reads the files and checks
//! that test fixtures exist; it runs nothing and touches no network.
//!
//! The doc comments on the fields below are the user reference of the format (DESIGN §2).

pub mod enrich;
pub mod notify;
mod query;
pub use query::{WINDOW_END, WINDOW_START, window_declarations, with_window};
pub mod schedule;
pub mod severity;
pub mod test_case;

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::config::yaml::{self, Reader, Value, did_you_mean, one_of};
use crate::diagnostics::{Diagnostic, SourceText};
use crate::kql::table::Catalog;

pub use enrich::{Archive, Enricher, Enrichment, OnError};
pub use notify::{Notify, Per};
pub use query::Condition;
pub use schedule::{CronError, CronSchedule, Schedule, Trigger, parse_cron};
pub use severity::Severity;
pub use test_case::{ARCHIVE_PREFIX, Expectation, PlaybookTest, TestData};

/// A validated playbook.
#[derive(Clone, Debug)]
pub struct Playbook {
    /// `id:` stable: state (watermarks, seen hits) hangs off it. Default: the file name without extension.
    /// Letters, digits, `-`, `_`, `.`; unique across the playbooks.
    pub id: String,
    /// The file it was read from.
    pub file: PathBuf,
    /// `title:` one line, shown in subjects and cards. Required.
    pub title: String,
    /// `description:` why the hits matter (Markdown-free text). Default empty.
    pub description: String,
    /// `severity:` `informational`, `low`, `medium`, `high` or `critical`. Required.
    pub severity: Severity,
    /// `tags:` free labels, such as `[mde, T1562.001]`.
    pub tags: Vec<String>,
    /// `enabled:` false keeps the playbook from running on its schedule. Default true.
    pub enabled: bool,
    /// `tenants:` tenants of huntbook.yaml to query. Default: every tenant.
    pub tenants: Vec<String>,
    /// `schedule:` when it runs and the windows it covers.
    pub schedule: Schedule,
    /// `query:` the KQL advanced-hunting query, usually a block scalar (`query: |`).
    pub query: String,
    /// Why the local engine cannot run the query, when it runs in Graph all the same (a table, operator or
    /// function the engine lacks); `None` when it can. Its tests then cannot run (`huntbook test` says so).
    pub not_local: Option<String>,
    /// Where the query text sits in the file, for run-time diagnostics.
    pub query_source: QuerySource,
    /// The `render` that ends the query, when huntbook draws it: its e-mails carry the chart.
    pub visualization: Option<kql::visualization::Visualization>,
    /// The query's output columns, when the local engine knows them before it runs.
    pub columns: Option<Vec<kql::plan::Column>>,
    /// Whether the query's rows are aggregates (`summarize`, `count`, `distinct`…), not events: without `key:`,
    /// each evaluation's rows are then news (the key includes the window's end).
    pub aggregate: bool,
    /// `key:` the columns that identify a hit (dedup). Default: `ReportId` if the result has it, else a hash
    /// of the query's columns (never of enrichment columns: a file's prevalence changes, the hit does not).
    pub key: Option<Vec<String>>,
    /// `enrich:` run in order after the query; each adds columns to every hit.
    pub enrich: Vec<Enrichment>,
    /// `archive:` keep every new hit in the state file, as a table for queries and enrichers.
    pub archive: Option<Archive>,
    /// The archives its query and its enrichers read: their recorders run before it in the same `huntbook run`.
    pub archives_read: Vec<String>,
    /// `notify:` who gets the hits; at least one entry, unless the playbook only archives (a recorder).
    pub notify: Vec<Notify>,
    /// `send_empty:` true sends even when a run has no hits (digests). Default false.
    pub send_empty: bool,
    /// `tests:` the playbook's own tests.
    pub tests: Vec<PlaybookTest>,
}

/// Where a query or condition's text sits in its file: the file line and column of its first character, and
/// the columns before each later line (a block scalar's indentation). For text YAML rewrote on the way in
/// (a folded `>` scalar, a quoted string with escapes), where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuerySource {
    /// The file line (1-based) of the text's first line.
    pub first_line: usize,
    /// The file column (1-based, characters) of the text's first character.
    pub first_column: usize,
    /// Columns before each later line of the text in the file (a block scalar's indentation).
    pub indent: usize,
}

impl QuerySource {
    /// `text` as it sits in `file`, for diagnostics that point into the file.
    pub fn locate<'a>(&self, file: &'a str, text: &'a str) -> SourceText<'a> {
        SourceText {
            name: file,
            text,
            first_line: self.first_line,
            first_column: self.first_column,
            indent: self.indent,
        }
    }
}

pub const KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "severity",
    "tags",
    "enabled",
    "tenants",
    "schedule",
    "query",
    "key",
    "enrich",
    "archive",
    "notify",
    "send_empty",
    "tests",
];

/// Loads every `*.yaml`/`*.yml` in `dir` (not recursive), validated against the config (receivers, tenants,
/// templates) and the tables of `catalog`; every problem of every file. Files that fail are left out of the
/// list, and so is a file whose id an earlier file (by name) already has. The configuration's e-mail templates
/// are checked here too (`templates` says whether one exists), since only now are they known.
pub fn load_playbooks(
    dir: &Path,
    config: &Config,
    catalog: &dyn Catalog,
    templates: &[String],
) -> (Vec<Playbook>, Vec<Diagnostic>) {
    let mut loaded = load_playbook_dir(dir, config, catalog);
    check_notify_templates(&mut loaded, templates);
    let mut problems = crate::config::check_templates(config, templates);
    problems.append(&mut loaded.problems);
    (loaded.playbooks, problems)
}

/// Leaves out the playbooks whose `notify:` entries name an e-mail `template:` that does not exist (`known`:
/// the shipped and user templates), each problem at its place, with a "did you mean".
pub fn check_notify_templates(loaded: &mut LoadedPlaybooks, known: &[String]) {
    let unknown = |name: &String, at: &Diagnostic| {
        let hint = yaml::did_you_mean(name, known.iter().map(String::as_str))
            .unwrap_or_else(|| format!("the templates are {}", known.join(", ")));
        Diagnostic { message: format!("unknown template `{name}`"), ..at.clone() }.with_hint(hint)
    };
    let mut found: Vec<Diagnostic> = std::mem::take(&mut loaded.unchecked_templates)
        .iter()
        .filter(|(name, _)| !known.contains(name))
        .map(|(name, at)| unknown(name, at))
        .collect();
    let playbooks = std::mem::take(&mut loaded.playbooks);
    for playbook in playbooks {
        let problems: Vec<Diagnostic> = playbook
            .notify
            .iter()
            .filter_map(|notify| Some((notify.template.as_ref()?, notify.template_at.as_ref()?)))
            .filter(|(name, _)| !known.contains(name))
            .map(|(name, at)| unknown(name, at))
            .collect();
        if problems.is_empty() {
            loaded.playbooks.push(playbook);
        } else {
            found.extend(problems);
            loaded.invalid.push(playbook.id);
        }
    }
    if !found.is_empty() {
        // Each beside its file's other problems, in the order of the file.
        loaded.problems.extend(found);
        loaded.problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    }
}

/// The playbooks of a directory, what is wrong with the others, and which those are.
#[derive(Debug, Default)]
pub struct LoadedPlaybooks {
    /// The valid playbooks, in file-name order.
    pub playbooks: Vec<Playbook>,
    /// Every problem of the files left out, in file order.
    pub problems: Vec<Diagnostic>,
    /// What `validate` says of valid files too (a query that runs in Graph but not locally), in file order.
    pub warnings: Vec<Diagnostic>,
    /// The ids of the files left out (from `id:`, or the file name), so that `run ID` can say why.
    pub invalid: Vec<String>,
    /// The e-mail `template:` names the files left out give on their `notify:` entries, each at its place: an
    /// unknown one is reported beside the file's other problems (a broken query hides nothing else).
    pub unchecked_templates: Vec<(String, Diagnostic)>,
    /// The archives the playbooks keep, with the columns of their hits and no rows: what a `source: local` query
    /// over an archive is checked against, and reads until the recorder has kept something.
    pub archives: crate::store::ArchiveCatalog,
}

/// `load_playbooks` without the templates: for callers that check the configuration's templates themselves
/// (`config::check_templates`) and want to know which files failed.
///
/// Archives are tables too: when some playbook keeps one, the directory is read a second time with the archives
/// (their columns from the recorders' queries) beside the catalog's tables, so that a query may read one.
pub fn load_playbook_dir(dir: &Path, config: &Config, catalog: &dyn Catalog) -> LoadedPlaybooks {
    let first = load_playbook_dir_with(dir, config, catalog, &[]);
    let schemas = archive_schemas(&first.playbooks);
    if schemas.is_empty() {
        return first;
    }
    let names: Vec<String> = schemas.iter().map(|(name, _)| name.clone()).collect();
    let archives = crate::store::ArchiveCatalog::empty(schemas);
    let mut second = load_playbook_dir_with(dir, config, &WithArchives { archives: &archives, base: catalog }, &names);
    second.archives = archives;
    second
}

/// The columns of each archive: its recorder's hits (the query's columns and its enrichments').
fn archive_schemas(playbooks: &[Playbook]) -> Vec<(String, Vec<kql::plan::Column>)> {
    playbooks
        .iter()
        .filter_map(|playbook| {
            let archive = playbook.archive.as_ref()?;
            let mut columns = playbook.columns.clone()?;
            for enrichment in &playbook.enrich {
                columns.extend(enrichment.columns()?);
            }
            Some((archive.name.clone(), columns))
        })
        .collect()
}

fn load_playbook_dir_with(dir: &Path, config: &Config, catalog: &dyn Catalog, archives: &[String]) -> LoadedPlaybooks {
    let mut loaded = LoadedPlaybooks::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            loaded
                .problems
                .push(Diagnostic::plain(format!("cannot read the playbook directory {}: {error}", dir.display())));
            return loaded;
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut ids: Vec<(String, PathBuf)> = Vec::new();
    for file in files {
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let text = match crate::diagnostics::read_text_file(&file) {
            Ok(text) => text,
            Err(problem) => {
                loaded.problems.push(*problem);
                loaded.invalid.push(stem);
                continue;
            }
        };
        let Read { playbook, mut problems, warnings, id, templates } =
            read_playbook(&file, &text, config, catalog, archives);
        loaded.warnings.extend(warnings);
        let name = id.as_ref().map_or(stem, |id| id.name.clone());
        if let Some(id) = id {
            if let Some((_, first)) = ids.iter().find(|(seen, _)| *seen == id.name) {
                problems.push(id.duplicate_of(first));
            } else {
                ids.push((id.name.clone(), file.clone()));
            }
        }
        if playbook.is_none() && problems.is_empty() {
            // Every reader reports what it refuses; a playbook refused in silence would vanish from the
            // schedule unnoticed, so it is at least named.
            problems.push(Diagnostic {
                file: file.display().to_string(),
                ..Diagnostic::plain("this playbook could not be read, for no reason huntbook could name")
                    .with_hint("this is a defect in huntbook: please report it with the file")
            });
        }
        problems.sort_by_key(|d| (d.line, d.column));
        match playbook {
            Some(playbook) if problems.is_empty() => loaded.playbooks.push(playbook),
            _ => {
                loaded.problems.extend(problems);
                loaded.invalid.push(name);
                loaded.unchecked_templates.extend(templates);
            }
        }
    }
    let links = enrich::link_archives(&mut loaded.playbooks);
    let playbooks = std::mem::take(&mut loaded.playbooks);
    for (playbook, problems) in playbooks.into_iter().zip(links) {
        if problems.is_empty() {
            loaded.playbooks.push(playbook);
        } else {
            loaded.problems.extend(problems);
            loaded.invalid.push(playbook.id);
        }
    }
    loaded
}

/// One playbook from text (for tests and `init`). `templates` is not needed for a playbook alone: templates
/// are named by the configuration's receivers (see `load_playbooks`).
pub fn parse_playbook(
    file: &Path,
    text: &str,
    config: &Config,
    catalog: &dyn Catalog,
    _templates: &dyn Fn(&str) -> bool,
) -> Result<Playbook, Vec<Diagnostic>> {
    let Read { playbook, mut problems, .. } = read_playbook(file, text, config, catalog, &[]);
    problems.sort_by_key(|d| (d.line, d.column));
    match playbook {
        Some(playbook) if problems.is_empty() => Ok(playbook),
        _ => Err(problems),
    }
}

/// A playbook's id and where it comes from, for the check that ids are unique.
struct IdSource {
    name: String,
    /// At the `id:` value, or the file's first line when the id is the file name.
    diagnostic: Diagnostic,
    from_file_name: bool,
}

impl IdSource {
    fn duplicate_of(self, first: &Path) -> Diagnostic {
        let message = if self.from_file_name {
            format!("the id `{}` (from the file name) is already used by {}", self.name, first.display())
        } else {
            format!("the id `{}` is already used by {}", self.name, first.display())
        };
        Diagnostic { message, ..self.diagnostic }.with_hint("each playbook needs its own `id:`")
    }
}

/// What reading one playbook file found.
struct Read {
    /// The playbook, when every part of it could be read.
    playbook: Option<Playbook>,
    problems: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    id: Option<IdSource>,
    /// Every `notify:` entry's `template:` name with its place, read from the file whatever else is wrong.
    templates: Vec<(String, Diagnostic)>,
}

/// A playbook from its file's text: the playbook when it is valid, its problems, its warnings, its id, and the
/// e-mail templates its entries name.
fn read_playbook(file: &Path, text: &str, config: &Config, catalog: &dyn Catalog, archives: &[String]) -> Read {
    let name = file.display().to_string();
    let (node, mut problems) = yaml::parse(&name, text);
    let Some(node) = node else {
        return Read { playbook: None, problems, warnings: Vec::new(), id: None, templates: Vec::new() };
    };
    let reader = Reader::new(&name, text);
    let (playbook, id) = match reader.value(&node).fields(KEYS) {
        Some(fields) => read_fields(&fields, file, config, catalog, archives),
        None => (None, None),
    };
    let templates = named_templates(reader.value(&node));
    let (found, warnings) = reader.into_problems_and_warnings();
    problems.extend(found);
    Read { playbook, problems, warnings, id, templates }
}

/// The `template:` names of a playbook's `notify:` entries, as written (a second look that reports nothing:
/// a malformed entry is reported by `notify::read_notify`).
fn named_templates(playbook: yaml::Value<'_>) -> Vec<(String, Diagnostic)> {
    let Some(entries) = playbook.child("notify").and_then(|notify| notify.node().as_sequence()) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let template = playbook.reader().value(entry).child("template")?;
            let name = template.written().map(str::trim).filter(|name| !name.is_empty())?;
            Some((name.to_string(), template.reader().at(template.place(), String::new())))
        })
        .collect()
}

fn read_fields(
    fields: &yaml::Fields,
    file: &Path,
    config: &Config,
    catalog: &dyn Catalog,
    archives: &[String],
) -> (Option<Playbook>, Option<IdSource>) {
    let (id, id_source) = read_id(fields, file);
    let title = fields.required("title").and_then(|v| v.non_empty_string());
    let description =
        fields.get("description").map_or(Some(String::new()), |v| Some(v.string()?.trim_end().to_string()));
    let severities: Vec<(&str, Severity)> = Severity::ALL.iter().map(|s| (s.name(), *s)).collect();
    let severity = fields.required("severity").and_then(|v| v.keyword("severity", &severities));
    let tags = fields.get("tags").map_or(Some(Vec::new()), strings);
    let enabled = fields.get("enabled").map_or(Some(true), |v| v.bool());
    let tenants = fields.get("tenants").map_or(Some(Vec::new()), |v| read_tenants(v, config));
    let schedule = fields.required("schedule").and_then(schedule::read_schedule);
    let gate = if config.source.is_graph() { query::QueryGate::Graph } else { query::QueryGate::Local };
    let mut archives_read = Vec::new();
    let mut visualization = None;
    let query = fields.required("query").and_then(|v| {
        let query = query::read_query(v, catalog, gate)?;
        visualization = query::read_render(v, &query);
        archives_read = query::archives_read(&query.text, catalog, archives);
        query::refuse_archives_in_graph(v, &archives_read, gate).then_some(query)
    });
    let query_columns = query.as_ref().and_then(|q| q.columns.as_deref());
    let (enrich, enriched) = match fields.get("enrich") {
        None => (Some(Vec::new()), query_columns.map(<[kql::plan::Column]>::to_vec)),
        Some(value) => enrich::read_enrich(value, query_columns, catalog, gate, archives),
    };
    let columns = enriched.as_deref();
    let key = fields.get("key").map_or(Some(None), |v| query::read_columns(v, columns).map(Some));
    let archive = fields.get("archive").map_or(Some(None), |v| enrich::read_archive(v, catalog, archives).map(Some));
    let receivers: Vec<&str> = config.receivers.keys().map(String::as_str).collect();
    let notify = match fields.get("notify") {
        Some(value) => notify::read_notify(value, &receivers, columns, catalog),
        // A recorder keeps its hits and tells no one.
        None if matches!(archive, Some(Some(_))) => Some(Vec::new()),
        None if fields.has("archive") => None,
        None => {
            if fields.raw("notify").is_some() || fields.misspelt("notify") {
                fields.required("notify");
            } else {
                fields.owner().report_hint(
                    "missing key `notify`",
                    "a playbook tells someone (`notify:`), keeps its hits (`archive:`), or both",
                );
            }
            None
        }
    };
    let notified: Vec<&str> = match &notify {
        Some(notify) => notify.iter().flat_map(|n| n.to.iter().map(String::as_str)).collect(),
        None => receivers.clone(),
    };
    if query.as_ref().is_some_and(|q| q.aggregate) {
        warn_about_aggregates(fields, schedule.as_ref());
    }
    let send_empty = fields.get("send_empty").map_or(Some(false), |v| v.bool());
    let directory = file.parent().unwrap_or(Path::new(""));
    let context = test_case::TestContext { directory, receivers: &notified, columns, catalog };
    let tests = fields.get("tests").map_or(Some(Vec::new()), |v| test_case::read_tests(v, &context));
    let playbook = (|| {
        let query = query?;
        let enrich_list = enrich?;
        Some(Playbook {
            id: id?,
            file: file.to_path_buf(),
            title: title?,
            description: description?,
            severity: severity?,
            tags: tags?,
            enabled: enabled?,
            tenants: tenants?,
            schedule: schedule?,
            query: query.text,
            not_local: query.not_local,
            aggregate: query.aggregate,
            query_source: query.source,
            visualization,
            columns: query.columns,
            key: key?,
            enrich: enrich_list.clone(),
            archive: archive?,
            archives_read: {
                let mut read = archives_read;
                for enrichment in &enrich_list {
                    if let Enricher::IsolationReason(reason) = &enrichment.enricher
                        && !read.contains(&reason.from)
                    {
                        read.push(reason.from.clone());
                    }
                }
                read
            },
            notify: notify?,
            send_empty: send_empty?,
            tests: tests?,
        })
    })();
    (playbook, id_source)
}

/// Where a playbook whose rows are aggregates would treat them as events, said as warnings: an explicit `key:`
/// dedups them across windows (a count seen once is never sent again), and `overlap` counts the events near a
/// window's edge twice.
fn warn_about_aggregates(fields: &yaml::Fields, schedule: Option<&Schedule>) {
    if let Some(key) = fields.get("key") {
        key.reader().warn(
            key.reader()
                .at(key.key_place(), "the query's rows are aggregates, and `key:` dedups them across windows")
                .with_hint(
                    "a row whose key was sent before is never sent again, in a later window too; without `key:` each \
                     evaluation's rows are news, and `suppress:` damps repeats",
                ),
        );
    }
    if let (Some(overlap), Some(schedule)) = (fields.get("schedule").and_then(|v| v.child("overlap")), schedule)
        && schedule.overlap > chrono::TimeDelta::zero()
    {
        overlap.reader().warn(
            overlap
                .reader()
                .at(
                    overlap.key_place(),
                    "the query's rows are aggregates, and `overlap` counts the events of each overlap twice",
                )
                .with_hint(
                    "for a count over a fixed time (\"the last hour, every 15 minutes\"), use `lookback:` instead",
                ),
        );
    }
}

fn strings(value: Value) -> Option<Vec<String>> {
    value.strings().map(|items| items.into_iter().map(|(text, _)| text).collect())
}

/// `id:`, or the file name; letters, digits, `-`, `_`, `.`.
fn read_id(fields: &yaml::Fields, file: &Path) -> (Option<String>, Option<IdSource>) {
    let reader = fields.owner().reader();
    let valid = |id: &str| {
        !id.is_empty()
            && !id.starts_with('.')
            && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    const HINT: &str = "use letters, digits, `-`, `_` and `.`";
    match fields.get("id") {
        Some(value) => {
            let Some(id) = value.string() else { return (None, None) };
            if !valid(&id) {
                value.report_hint(format!("`{id}` is not a valid playbook id"), HINT);
                return (None, None);
            }
            let source = IdSource { name: id.clone(), diagnostic: value.error(""), from_file_name: false };
            (Some(id), Some(source))
        }
        None => {
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let at = reader.at(yaml::Place { line: 1, column: 1, width: 1 }, "");
            if !valid(&stem) {
                reader.report(
                    Diagnostic { message: format!("the file name `{stem}` is not a valid playbook id"), ..at }
                        .with_hint(format!("rename the file, or set `id:` ({})", HINT.trim_start_matches("use "))),
                );
                return (None, None);
            }
            (Some(stem.clone()), Some(IdSource { name: stem, diagnostic: at, from_file_name: true }))
        }
    }
}

/// `tenants:` each defined in huntbook.yaml.
fn read_tenants(value: Value, config: &Config) -> Option<Vec<String>> {
    let items = value.strings()?;
    let names: Vec<&str> = config.tenants.keys().map(String::as_str).collect();
    let mut valid = true;
    for (name, item) in &items {
        if !config.tenants.contains_key(name) {
            let hint = did_you_mean(name, names.iter().copied()).unwrap_or_else(|| {
                if names.is_empty() {
                    "huntbook.yaml defines no tenant".to_string()
                } else {
                    format!("the tenants are {}", one_of(&names))
                }
            });
            item.report_hint(format!("unknown tenant `{name}`"), hint);
            valid = false;
        }
    }
    valid.then(|| items.into_iter().map(|(name, _)| name).collect())
}

/// The archives' tables before a catalog's.
struct WithArchives<'a> {
    archives: &'a crate::store::ArchiveCatalog,
    base: &'a dyn Catalog,
}

impl Catalog for WithArchives<'_> {
    fn table(&self, name: &str) -> Result<Option<std::sync::Arc<dyn kql::table::TableSource>>, kql::error::KqlError> {
        match self.archives.table(name)? {
            Some(table) => Ok(Some(table)),
            None => self.base.table(name),
        }
    }

    fn table_names(&self) -> Vec<String> {
        let mut names = self.archives.table_names();
        names.extend(self.base.table_names());
        names
    }
}
