//! `file_profile`: the prevalence and signer of each hit's file. The distinct hashes of a run not in the 24-hour
//! cache are looked up in one hunting query per 1,000 (`datatable` + `invoke FileProfile`, the function's own
//! limit), or one by one through the MDE files API (`via: mde_api`). A file the service does not know is
//! `Missing`, never an error; it is cached like the others.

use std::collections::HashMap;

use chrono::TimeDelta;
use serde_json::{Map, Value as Json};

use super::{Added, EnrichContext, query};
use crate::kql::load::from_raw_json;
use crate::kql::table::Table;
use crate::kql::value::Value;
use crate::playbook::enrich::{FileProfile, PROFILE_COLUMNS, ProfileVia, profile_columns};
use crate::store::CachedProfile;

/// Hashes per hunting query: what `invoke FileProfile` enriches at most.
pub const BATCH: usize = 1000;

/// How long a profile is reused.
pub const CACHE_FOR: TimeDelta = TimeDelta::hours(24);

type Profile = Map<String, Json>;

pub(super) fn run(context: &EnrichContext, profile: &FileProfile, hits: &Table) -> Result<Added, String> {
    let columns = profile_columns();
    let index =
        hits.column_index(&profile.column).ok_or_else(|| format!("the hits have no column {}", profile.column))?;
    let hash_of = |row: &Vec<Value>| {
        let text = row.get(index).map(|v| v.to_text().trim().to_ascii_lowercase()).unwrap_or_default();
        (text.len() == profile.hash.length() && text.bytes().all(|b| b.is_ascii_hexdigit())).then_some(text)
    };
    let mut hashes: Vec<String> = hits.rows.iter().filter_map(hash_of).collect();
    hashes.sort_unstable();
    hashes.dedup();
    let via = profile.via.name();
    let mut known: HashMap<String, Profile> =
        context.store.cached_profiles(&hashes, via, context.now - CACHE_FOR).map_err(|e| e.to_string())?;
    let wanted: Vec<String> = hashes.iter().filter(|hash| !known.contains_key(*hash)).cloned().collect();
    let mut fetched = Vec::new();
    let mut partial = None;
    if !wanted.is_empty() {
        let tenant = context.playbook.tenants.first().cloned().or_else(|| context.source.tenants().into_iter().next());
        let found = match profile.via {
            ProfileVia::Hunting => by_hunting(context, profile, &wanted, tenant.as_deref()),
            ProfileVia::MdeApi => by_files_api(context, &wanted, tenant.as_deref()),
        };
        let (found, problem) = found;
        for (hash, profile) in found {
            fetched.push(CachedProfile {
                hash: hash.clone(),
                via: via.to_string(),
                fetched: context.now,
                profile: profile.clone(),
            });
            known.insert(hash, profile);
        }
        if let Some(problem) = problem {
            let missing = hashes.iter().filter(|hash| !known.contains_key(*hash)).count();
            if missing == hashes.len() {
                return Err(problem);
            }
            partial = Some(format!("{missing} of {} files: {problem}", hashes.len()));
        }
    }
    let values = hits
        .rows
        .iter()
        .map(|row| {
            let profile = hash_of(row).and_then(|hash| known.get(&hash));
            columns
                .iter()
                .map(|column| match profile.and_then(|p| p.get(&column.name)) {
                    Some(json) => from_raw_json(&json.to_string(), column.ty),
                    None => Value::null_of(column.ty),
                })
                .collect()
        })
        .collect();
    Ok(Added { columns, values, archives: Vec::new(), profiles: fetched, partial })
}

/// The profile of a file the service does not know.
fn missing() -> Profile {
    let mut profile = Profile::new();
    profile.insert("ProfileAvailability".into(), Json::String("Missing".into()));
    profile
}

/// Profiles in hunting queries of 1,000 hashes; what was found before a query failed, and the failure.
fn by_hunting(
    context: &EnrichContext,
    profile: &FileProfile,
    hashes: &[String],
    tenant: Option<&str>,
) -> (Vec<(String, Profile)>, Option<String>) {
    let column = profile.hash.column();
    let mut found = Vec::new();
    for batch in hashes.chunks(BATCH) {
        let list = batch.iter().map(|hash| format!("\"{hash}\"")).collect::<Vec<_>>().join(",");
        let text = format!(
            "datatable({column}: string) [{list}]\n| invoke FileProfile({column}, {BATCH})\n| project {column}, {}",
            PROFILE_COLUMNS.join(", ")
        );
        let response = match query(context, &text, tenant, context.window) {
            Ok(response) => response,
            Err(problem) => return (found, Some(problem)),
        };
        let table = response.table;
        let Some(key) = table.column_index(column) else {
            return (found, Some(format!("the FileProfile answer has no {column} column")));
        };
        let mut answered: HashMap<String, Profile> = HashMap::new();
        for row in &table.rows {
            let hash = row.get(key).map(|v| v.to_text().to_ascii_lowercase()).unwrap_or_default();
            let profile: Profile = table
                .columns
                .iter()
                .zip(row)
                .filter(|(c, _)| PROFILE_COLUMNS.contains(&c.name.as_str()))
                .map(|(c, v)| (c.name.clone(), v.to_json()))
                .collect();
            answered.entry(hash).or_insert(profile);
        }
        for hash in batch {
            let mut profile = answered.remove(hash).unwrap_or_else(missing);
            // FileProfile leaves the availability empty for an id it could not use: that file is not known.
            if profile.get("ProfileAvailability").and_then(Json::as_str).is_none_or(str::is_empty) {
                profile.insert("ProfileAvailability".into(), Json::String("Missing".into()));
            }
            found.push((hash.clone(), profile));
        }
    }
    (found, None)
}

/// Profiles one by one through the files API; what was found before a call failed, and the failure.
fn by_files_api(
    context: &EnrichContext,
    hashes: &[String],
    tenant: Option<&str>,
) -> (Vec<(String, Profile)>, Option<String>) {
    let mut found = Vec::new();
    for hash in hashes {
        match context.source.file_profile(tenant, hash) {
            Ok(Some(profile)) => found.push((hash.clone(), profile)),
            Ok(None) => found.push((hash.clone(), missing())),
            Err(error) => return (found, Some(context.config.redactor().redact(&error.to_string()))),
        }
    }
    (found, None)
}
