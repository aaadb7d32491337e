//! `archive:` and `enrich:` — what a playbook keeps of its hits, and the columns added to each hit after the
//! query. Each enricher is checked here against the columns it reads (the query's, and those of the enrichers
//! before it); the columns it adds are then known to `key`, `when`, `per` and the tests. Running them is
//! `crate::enrich`'s job.

use chrono::TimeDelta;

use super::QuerySource;
use super::query::{QueryGate, source_of, unknown_column};
use crate::config::yaml::{Value, did_you_mean, one_of};
use crate::diagnostics::Diagnostic;
use crate::kql::error::KqlError;
use crate::kql::plan::Column;
use crate::kql::table::Catalog;
use crate::kql::types::Type;

/// The keys of this mapping (also what `huntbook schema` lists).
pub const ARCHIVE_KEYS: &[&str] = &["name", "retention"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const ISOLATION_REASON_KEYS: &[&str] = &["device", "at", "from", "rename"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const FILE_PROFILE_KEYS: &[&str] = &["sha256", "sha1", "via"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const LOOKUP_KEYS: &[&str] = &["query", "on", "columns", "lookback"];

/// `archive:` keep every new hit in the state file.
#[derive(Clone, Debug)]
pub struct Archive {
    /// `name:` the archive's table name for the local engine (`huntbook query --archive`, enrichers): letters,
    /// digits and `_`, not the name of a Defender table; one playbook per archive.
    pub name: String,
    /// `retention:` rows whose time (`Timestamp`, else when archived) is older are deleted. Default 400d.
    pub retention: TimeDelta,
    /// Where `name:` is written, for a problem found once every playbook is read.
    pub place: Box<Diagnostic>,
}

/// The retention of an archive that does not say.
pub const DEFAULT_RETENTION: TimeDelta = TimeDelta::days(400);

/// One `enrich:` entry.
#[derive(Clone, Debug)]
pub struct Enrichment {
    pub enricher: Enricher,
    /// `on_error:` `deliver` (default): the hits go out with this enrichment's columns empty and a note saying why;
    /// `fail`: the run fails, changes nothing and is tried again.
    pub on_error: OnError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    Deliver,
    Fail,
}

#[derive(Clone, Debug)]
pub enum Enricher {
    IsolationReason(IsolationReason),
    FileProfile(FileProfile),
    Lookup(Lookup),
}

/// `isolation_reason: { device: DeviceName, at: ReleasedAt, from: isolations }`
#[derive(Clone, Debug)]
pub struct IsolationReason {
    /// `device:` the hit's column naming the device (compared without regard to case).
    pub device: String,
    /// `at:` the hit's datetime column: the isolation must be strictly before it.
    pub at: String,
    /// `from:` the archive of isolations (kept by a recorder playbook with `archive: { name: … }`).
    pub from: String,
    /// The names of the added columns, in the order of [`ISOLATION_COLUMNS`] (`rename:` changes them).
    pub names: Vec<String>,
    /// The playbook that keeps the archive: its query finds isolations the archive does not hold yet.
    pub recorder: Option<Recorder>,
    /// Where `from:` is written, for a problem found once every playbook is read.
    pub from_place: Box<Diagnostic>,
}

/// The playbook that writes an archive, as an enricher reading it needs it.
#[derive(Clone, Debug)]
pub struct Recorder {
    pub playbook: String,
    pub query: String,
    pub key: Option<Vec<String>>,
    pub columns: Option<Vec<Column>>,
}

/// The columns `isolation_reason` adds (default names) and the archive columns they come from.
pub const ISOLATION_COLUMNS: [(&str, &str, Type); 4] = [
    ("IsolatedAt", "Timestamp", Type::DateTime),
    ("IsolatedBy", "IsolatedBy", Type::String),
    ("IsolationComment", "IsolationComment", Type::String),
    ("IsolationScope", "IsolationScope", Type::String),
];

/// The archive column that names the device.
pub const ISOLATION_DEVICE: &str = "DeviceName";

/// `file_profile: { sha256: SHA256 }` or `{ sha1: SHA1 }`, `via: hunting | mde_api`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProfile {
    /// The hit's column holding the hash.
    pub column: String,
    pub hash: HashKind,
    pub via: ProfileVia,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    Sha1,
    Sha256,
}

impl HashKind {
    pub fn column(self) -> &'static str {
        match self {
            HashKind::Sha1 => "SHA1",
            HashKind::Sha256 => "SHA256",
        }
    }

    /// Hex digits of a hash of this kind.
    pub fn length(self) -> usize {
        match self {
            HashKind::Sha1 => 40,
            HashKind::Sha256 => 64,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileVia {
    /// `datatable` + `invoke FileProfile` in a hunting query (1,000 hashes a query).
    Hunting,
    /// The MDE files API, `GET /api/files/{hash}` (its own token audience and `File.Read.All`).
    MdeApi,
}

impl ProfileVia {
    pub fn name(self) -> &'static str {
        match self {
            ProfileVia::Hunting => "hunting",
            ProfileVia::MdeApi => "mde_api",
        }
    }
}

/// The columns `file_profile` adds, as `FileProfile()` names them.
pub const PROFILE_COLUMNS: [&str; 9] = [
    "GlobalPrevalence",
    "GlobalFirstSeen",
    "GlobalLastSeen",
    "Signer",
    "Issuer",
    "SignatureState",
    "IsCertificateValid",
    "ThreatName",
    "ProfileAvailability",
];

/// `lookup: { query: "…", on: [DeviceName], columns: [...] }`
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The query, with `{{values}}` where the run's distinct values of the first `on` column go (a KQL dynamic
    /// list), and `{{values.Column}}` for another `on` column.
    pub query: String,
    pub query_source: QuerySource,
    /// `on:` the columns the hits and the lookup's rows are joined on (the same names on both sides).
    pub on: Vec<String>,
    /// The columns added (the lookup's, in its types); `None` when the lookup query cannot be compiled locally.
    pub columns: Option<Vec<Column>>,
    /// `columns:` as written: the lookup columns to add (default: all but `on`).
    pub wanted: Vec<String>,
    /// `lookback:` how far back the lookup query reads (default: the run's window).
    pub lookback: Option<TimeDelta>,
}

impl Enrichment {
    /// What the enrichment adds, for messages about it ("file prevalence unavailable: …").
    pub fn label(&self) -> &'static str {
        match &self.enricher {
            Enricher::IsolationReason(_) => "isolation reason",
            Enricher::FileProfile(_) => "file prevalence",
            Enricher::Lookup(_) => "lookup",
        }
    }

    /// The columns it adds; `None` when they are not known before it runs (a lookup beyond the local engine).
    pub fn columns(&self) -> Option<Vec<Column>> {
        match &self.enricher {
            Enricher::IsolationReason(reason) => Some(
                reason.names.iter().zip(ISOLATION_COLUMNS).map(|(name, (_, _, ty))| Column::new(name, ty)).collect(),
            ),
            Enricher::FileProfile(_) => Some(profile_columns()),
            Enricher::Lookup(lookup) => lookup.columns.clone(),
        }
    }

    /// The hit columns it reads.
    pub fn inputs(&self) -> Vec<&str> {
        match &self.enricher {
            Enricher::IsolationReason(reason) => vec![reason.device.as_str(), reason.at.as_str()],
            Enricher::FileProfile(profile) => vec![profile.column.as_str()],
            Enricher::Lookup(lookup) => lookup.on.iter().map(String::as_str).collect(),
        }
    }
}

/// The profile columns with the types of the `FileProfile` table.
pub fn profile_columns() -> Vec<Column> {
    let table = crate::kql::schema::builtin("FileProfile").map(|schema| schema.columns()).unwrap_or_default();
    PROFILE_COLUMNS
        .iter()
        .map(|name| table.iter().find(|c| c.name == *name).cloned().unwrap_or_else(|| Column::new(*name, Type::String)))
        .collect()
}

/// `archive:`; `archives` are the archive names the catalog holds beside its tables (not a clash with this one).
pub(super) fn read_archive(value: Value, catalog: &dyn Catalog, archives: &[String]) -> Option<Archive> {
    let fields = value.fields(ARCHIVE_KEYS)?;
    let place = fields.required("name").map(|v| Box::new(v.error("")));
    let name = fields.required("name").and_then(|v| {
        let name = v.non_empty_string()?;
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            v.report_hint(
                format!("`{name}` is not a valid archive name"),
                "use letters, digits and `_`, starting with a letter",
            );
            return None;
        }
        let builtin = crate::kql::schema::builtin_names().any(|table| table.eq_ignore_ascii_case(&name));
        let clash = catalog
            .table_names()
            .into_iter()
            .any(|table| table.eq_ignore_ascii_case(&name) && !archives.contains(&table));
        if builtin || clash {
            v.report_hint(
                format!("`{name}` is already a table"),
                "an archive is a table of its own to queries: give it a name no table has, such as `isolations`",
            );
            return None;
        }
        Some(name)
    });
    let retention = fields.get("retention").map_or(Some(DEFAULT_RETENTION), |v| {
        let retention = v.duration()?;
        if retention <= TimeDelta::zero() {
            v.report("the retention must be longer than nothing");
            return None;
        }
        Some(retention)
    });
    Some(Archive { name: name?, retention: retention?, place: place? })
}

/// `enrich:` each entry against the columns before it; returns the entries and every column after the last.
pub(super) fn read_enrich(
    value: Value,
    columns: Option<&[Column]>,
    catalog: &dyn Catalog,
    gate: QueryGate,
    archives: &[String],
) -> (Option<Vec<Enrichment>>, Option<Vec<Column>>) {
    let Some(entries) = value.list() else { return (None, None) };
    let mut known: Option<Vec<Column>> = columns.map(<[Column]>::to_vec);
    let mut enrichments = Vec::new();
    let mut valid = true;
    for entry in entries {
        match read_entry(entry, known.as_deref(), catalog, gate, archives) {
            Some(enrichment) => {
                match (enrichment.columns(), &mut known) {
                    (Some(added), Some(columns)) => {
                        for column in added {
                            if columns.iter().any(|c| c.name == column.name) {
                                entry.report_hint(
                                    format!("this enrichment adds {}, a column the hits already have", column.name),
                                    "rename one of them (`rename:` for isolation_reason; `project-rename` in the query)",
                                );
                                valid = false;
                            }
                            columns.push(column);
                        }
                    }
                    (None, _) => known = None,
                    (Some(_), None) => {}
                }
                enrichments.push(enrichment);
            }
            None => {
                valid = false;
                // What the broken entry would add, so that `key`, `when` and the tests are still checked
                // against the columns meant (a lookup's are not known without its query).
                match (entry.entries().and_then(|e| e.into_iter().find_map(|kind| kind.key())), &mut known) {
                    (Some("isolation_reason"), Some(columns)) => {
                        columns.extend(ISOLATION_COLUMNS.iter().map(|(name, _, ty)| Column::new(*name, *ty)))
                    }
                    (Some("file_profile"), Some(columns)) => columns.extend(profile_columns()),
                    _ => known = None,
                }
            }
        }
    }
    (valid.then_some(enrichments), known)
}

const KINDS: &[&str] = &["isolation_reason", "file_profile", "lookup"];

fn read_entry(
    value: Value,
    columns: Option<&[Column]>,
    catalog: &dyn Catalog,
    gate: QueryGate,
    archives: &[String],
) -> Option<Enrichment> {
    let entries = value.entries()?;
    let mut kinds: Vec<Value> = Vec::new();
    let mut misspelt = false;
    for entry in entries {
        let key = entry.key().unwrap_or_default();
        if key == "on_error" {
            continue;
        }
        // `on_eror: fail` is a misspelt option, not a second enricher.
        if !KINDS.contains(&key) && did_you_mean(key, ["on_error"]).is_some() {
            let place = entry.reader().at(entry.key_place(), format!("unknown key `{key}`"));
            entry.reader().report(place.with_hint("did you mean `on_error`?"));
            misspelt = true;
            continue;
        }
        kinds.push(entry);
    }
    let [kind] = kinds.as_slice() else {
        value.report_hint(
            "each `enrich:` entry is one enricher",
            format!("write `- {}: {{ … }}`, one per entry", KINDS.join(": …` or `- ")),
        );
        return None;
    };
    let on_error = value.child("on_error").map_or(Some(OnError::Deliver), |v| {
        v.keyword("on_error", &[("deliver", OnError::Deliver), ("fail", OnError::Fail)])
    });
    let name = kind.key().unwrap_or_default();
    let enricher = match name {
        "isolation_reason" => read_isolation(*kind, columns, archives).map(Enricher::IsolationReason),
        "file_profile" => read_file_profile(*kind, columns).map(Enricher::FileProfile),
        "lookup" => read_lookup(*kind, columns, catalog, gate).map(Enricher::Lookup),
        other => {
            let hint = did_you_mean(other, KINDS.iter().copied())
                .unwrap_or_else(|| format!("the enrichers are {}", one_of(KINDS)));
            kind.reader()
                .report(kind.reader().at(kind.key_place(), format!("unknown enricher `{other}`")).with_hint(hint));
            None
        }
    };
    if misspelt {
        return None;
    }
    Some(Enrichment { enricher: enricher?, on_error: on_error? })
}

/// A hit column an enricher reads: it must be among `columns` (when they are known).
fn input_column(value: Value, columns: Option<&[Column]>) -> Option<String> {
    let name = value.non_empty_string()?;
    if let Some((message, hint)) = columns.and_then(|columns| unknown_column(&name, columns)) {
        value.report_hint(message, hint);
        return None;
    }
    Some(name)
}

/// `archives`: the archive names the playbooks keep, when known (the second reading of a directory); else the
/// archive is looked for once every playbook is read (`link_archives`).
fn read_isolation(value: Value, columns: Option<&[Column]>, archives: &[String]) -> Option<IsolationReason> {
    let fields = value.fields(ISOLATION_REASON_KEYS)?;
    let device = fields.required("device").and_then(|v| input_column(v, columns));
    let at = fields.required("at").and_then(|v| {
        let name = input_column(v, columns)?;
        let ty = columns.and_then(|columns| columns.iter().find(|c| c.name == name)).map(|c| c.ty);
        if ty.is_some_and(|ty| ty != Type::DateTime) {
            v.report(format!("`at` must name a datetime column; {name} is {}", ty.map_or("?", Type::name)));
            return None;
        }
        Some(name)
    });
    let from = fields.required("from");
    let from_place = from.map(|v| Box::new(v.error("")));
    let from = from.and_then(|v| {
        let name = v.non_empty_string()?;
        if !archives.is_empty() && !archives.contains(&name) {
            v.report_hint(
                format!("no playbook keeps an archive named `{name}`"),
                missing_archive_hint(&name, archives),
            );
            return None;
        }
        Some(name)
    });
    let defaults: Vec<&str> = ISOLATION_COLUMNS.iter().map(|(name, _, _)| *name).collect();
    let mut names: Vec<String> = defaults.iter().map(|name| name.to_string()).collect();
    let mut renamed = true;
    if let Some(rename) = fields.get("rename") {
        for entry in rename.entries().unwrap_or_default() {
            let key = entry.key().unwrap_or_default();
            match defaults.iter().position(|name| *name == key) {
                Some(index) => match entry.non_empty_string() {
                    Some(name) => names[index] = name,
                    None => renamed = false,
                },
                None => {
                    let hint = did_you_mean(key, defaults.iter().copied())
                        .unwrap_or_else(|| format!("it adds {}", one_of(&defaults)));
                    entry.reader().report(
                        entry
                            .reader()
                            .at(entry.key_place(), format!("isolation_reason adds no column `{key}`"))
                            .with_hint(hint),
                    );
                    renamed = false;
                }
            }
        }
    }
    Some(IsolationReason {
        device: device?,
        at: at?,
        from: from?,
        names: renamed.then_some(names)?,
        recorder: None,
        from_place: from_place?,
    })
}

fn read_file_profile(value: Value, columns: Option<&[Column]>) -> Option<FileProfile> {
    let fields = value.fields(FILE_PROFILE_KEYS)?;
    let hash = match (fields.get("sha256"), fields.get("sha1")) {
        (Some(column), None) => input_column(column, columns).map(|column| (column, HashKind::Sha256)),
        (None, Some(column)) => input_column(column, columns).map(|column| (column, HashKind::Sha1)),
        (Some(_), Some(_)) => {
            value.report_hint("give `sha256:` or `sha1:`, not both", "SHA256 is what Defender shows first");
            None
        }
        (None, None) => {
            value.report_hint("missing the hash column", "write `sha256: SHA256` (or `sha1: SHA1`)");
            None
        }
    };
    let via = fields.get("via").map_or(Some(ProfileVia::Hunting), |v| {
        v.keyword("via", &[("hunting", ProfileVia::Hunting), ("mde_api", ProfileVia::MdeApi)])
    });
    let (column, hash) = hash?;
    Some(FileProfile { column, hash, via: via? })
}

/// The placeholder of a lookup query for the values of its first `on` column.
pub const VALUES: &str = "{{values}}";

/// A lookup query with its placeholders replaced: `values(column)` gives the KQL text for a column's values.
/// Also returns, for each replacement, where it starts in the result and how much longer the result is there.
pub fn fill_lookup(query: &str, on: &[String], values: &dyn Fn(&str) -> String) -> (String, Vec<(usize, isize)>) {
    let mut out = String::with_capacity(query.len());
    let mut shifts = Vec::new();
    let mut rest = query;
    while let Some(start) = rest.find("{{values") {
        let Some(end) = rest[start..].find("}}").map(|end| start + end + 2) else { break };
        let inside = &rest[start + 2..end - 2];
        let column = match inside.strip_prefix("values") {
            Some("") => on.first().map(String::as_str),
            Some(other) => other.strip_prefix('.').filter(|name| on.iter().any(|c| c == name)),
            None => None,
        };
        out.push_str(&rest[..start]);
        let Some(column) = column else {
            out.push_str(&rest[start..end]);
            rest = &rest[end..];
            continue;
        };
        let text = values(column);
        shifts.push((out.len(), text.len() as isize - (end - start) as isize));
        out.push_str(&text);
        rest = &rest[end..];
    }
    out.push_str(rest);
    (out, shifts)
}

fn read_lookup(value: Value, columns: Option<&[Column]>, catalog: &dyn Catalog, gate: QueryGate) -> Option<Lookup> {
    let fields = value.fields(LOOKUP_KEYS)?;
    let on: Option<Vec<String>> = fields.required("on").and_then(|v| {
        if v.node().as_sequence().is_none() {
            return input_column(v, columns).map(|name| vec![name]);
        }
        let items = v.list()?;
        if items.is_empty() {
            v.report("expected at least one column");
            return None;
        }
        items.into_iter().map(|item| input_column(item, columns)).collect()
    });
    let wanted: Option<Vec<String>> = fields
        .get("columns")
        .map_or(Some(Vec::new()), |v| v.strings().map(|items| items.into_iter().map(|(name, _)| name).collect()));
    let lookback = fields.get("lookback").map_or(Some(None), |v| v.duration().map(Some));
    let query = fields.required("query");
    let (on, wanted, lookback) = (on?, wanted?, lookback?);
    let query_value = query?;
    let text = query_value.non_empty_string()?;
    let scalar = query_value.scalar()?;
    let reader = query_value.reader();
    if !text.contains("{{values") {
        query_value.report_hint(
            "the lookup query does not use the hits' values",
            format!(
                "filter it with `{VALUES}`, such as `| where {} in ({VALUES})`",
                on.first().map_or("Column", String::as_str)
            ),
        );
        return None;
    }
    let (filled, shifts) = fill_lookup(&text, &on, &|_| "dynamic([])".to_string());
    // Errors are placed in the text as written: offsets after a placeholder move back by what it grew.
    let place = |mut error: KqlError| {
        let back = |offset: usize| {
            let grown: isize = shifts.iter().filter(|(at, _)| *at < offset).map(|(_, by)| *by).sum();
            offset.saturating_add_signed(-grown).min(text.len())
        };
        error.span.start = back(error.span.start);
        error.span.end = back(error.span.end).max(error.span.start);
        error
    };
    let mut query_columns = None;
    match crate::kql::compile(&filled, catalog) {
        Ok(plan) if !plan.is_open() => query_columns = Some(plan.root.schema().to_vec()),
        Ok(_) => {}
        Err(errors) => {
            let mut certain = false;
            for error in errors.0 {
                let sure = error.is_certain();
                let diagnostic = reader.kql_diagnostic(scalar, &place(error));
                if gate == QueryGate::Graph && !sure {
                    reader.warn(Diagnostic {
                        message: format!("runs in Graph; cannot run locally: {}", diagnostic.message),
                        ..diagnostic
                    });
                } else {
                    reader.report(diagnostic);
                    certain = true;
                }
            }
            if certain {
                return None;
            }
        }
    }
    let mut valid = true;
    let added = match &query_columns {
        None => None,
        Some(lookup) => {
            for name in &on {
                if !lookup.iter().any(|c| &c.name == name) {
                    query_value.report_hint(
                        format!("the lookup query has no column `{name}` to join on"),
                        "project the `on` columns under the hits' names",
                    );
                    valid = false;
                }
            }
            let chosen: Vec<Column> = if wanted.is_empty() {
                lookup.iter().filter(|c| !on.contains(&c.name)).cloned().collect()
            } else {
                let mut chosen = Vec::new();
                for name in &wanted {
                    match lookup.iter().find(|c| &c.name == name) {
                        Some(column) => chosen.push(column.clone()),
                        None => {
                            let (message, hint) = unknown_column(name, lookup).unwrap_or_default();
                            if let Some(item) = fields.get("columns") {
                                item.report_hint(message.replace("the query", "the lookup query"), hint);
                            }
                            valid = false;
                        }
                    }
                }
                chosen
            };
            Some(chosen)
        }
    };
    valid.then(|| Lookup { query: text, query_source: source_of(reader, scalar), on, columns: added, wanted, lookback })
}

fn missing_archive_hint(name: &str, archives: &[String]) -> String {
    did_you_mean(name, archives.iter().map(String::as_str)).unwrap_or_else(|| {
        "a playbook with `archive: { name: … }` keeps the isolations it finds (huntbook ships isolation-history, \
         which keeps `isolations`)"
            .to_string()
    })
}

/// Ties each `isolation_reason` to the playbook keeping its archive, and checks that archive names are unique
/// and that a recorder's hits have the columns its readers need. Returns, for each playbook, its problems.
pub(super) fn link_archives(playbooks: &mut [super::Playbook]) -> Vec<Vec<Diagnostic>> {
    let mut problems: Vec<Vec<Diagnostic>> = playbooks.iter().map(|_| Vec::new()).collect();
    let mut owners: Vec<(String, usize)> = Vec::new();
    for (index, playbook) in playbooks.iter().enumerate() {
        let Some(archive) = &playbook.archive else { continue };
        match owners.iter().find(|(name, _)| *name == archive.name) {
            Some((_, first)) => problems[index].push(
                Diagnostic {
                    message: format!("the archive `{}` is already kept by {}", archive.name, playbooks[*first].id),
                    ..(*archive.place).clone()
                }
                .with_hint("each archive has one playbook that writes it; give this one another name"),
            ),
            None => owners.push((archive.name.clone(), index)),
        }
    }
    let recorders: Vec<(String, Recorder)> = owners
        .iter()
        .map(|(name, index)| {
            let owner = &playbooks[*index];
            let recorder = Recorder {
                playbook: owner.id.clone(),
                query: owner.query.clone(),
                key: owner.key.clone(),
                columns: owner.columns.clone(),
            };
            (name.clone(), recorder)
        })
        .collect();
    for (index, playbook) in playbooks.iter_mut().enumerate() {
        for enrichment in &mut playbook.enrich {
            let Enricher::IsolationReason(reason) = &mut enrichment.enricher else { continue };
            let Some((_, recorder)) = recorders.iter().find(|(name, _)| *name == reason.from) else {
                let names: Vec<String> = recorders.iter().map(|(name, _)| name.clone()).collect();
                let hint = missing_archive_hint(&reason.from, &names);
                problems[index].push(
                    Diagnostic {
                        message: format!("no playbook keeps an archive named `{}`", reason.from),
                        ..(*reason.from_place).clone()
                    }
                    .with_hint(hint),
                );
                continue;
            };
            if let Some(columns) = &recorder.columns {
                let needed =
                    std::iter::once(ISOLATION_DEVICE).chain(ISOLATION_COLUMNS.iter().map(|(_, from, _)| *from));
                let missing: Vec<&str> = needed.filter(|name| !columns.iter().any(|c| c.name == *name)).collect();
                if !missing.is_empty() {
                    problems[index].push(
                        Diagnostic {
                            message: format!(
                                "the archive `{}` (kept by {}) has no column {}",
                                reason.from,
                                recorder.playbook,
                                missing.join(", ")
                            ),
                            ..(*reason.from_place).clone()
                        }
                        .with_hint(format!(
                            "isolation_reason reads {ISOLATION_DEVICE}, Timestamp, IsolatedBy, IsolationComment and IsolationScope from it"
                        )),
                    );
                    continue;
                }
            }
            reason.recorder = Some(recorder.clone());
        }
    }
    problems
}
