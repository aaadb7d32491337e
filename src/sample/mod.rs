//! Deterministic sample data: a fictional tenant's `CloudAppEvents` and a `FileProfile` table.
//!
//! This module owns the data that lets every playbook run on a fresh machine without a tenant: a month of
//! `CloudAppEvents` for the fictional `contoso.example` (ordinary Microsoft 365 activity with the Defender XDR audit
//! events of reference §7.2 woven in: isolations and releases, package downloads, features switched off, Live
//! Response collections, rule and role changes, with hostile text where people type) and the `FileProfile` rows for
//! the files those events touch. The same options always give byte-identical files: all randomness comes from one
//! seeded `ChaCha8Rng`, time comes from `SampleOptions::end`, and nothing iterates a hash map.
//!
//! It must not depend on any other module of the crate (the KQL engine reads these files like any others), and it
//! never holds the JSON of more than one row: events are generated as compact descriptions, sorted by time, and
//! streamed to disk.

mod clock;
mod defender_row;
mod event;
mod file_profile;
mod hostile;
mod json;
mod noise;
mod random;
mod row;
mod scenarios;
mod tenant;
#[cfg(test)]
mod tests;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rand::SeedableRng;

use clock::Window;
use defender_row::write_defender_row;
use event::{Body, Event};
use file_profile::FileCatalog;
use noise::write_noise_row;
use random::SampleRng;
use row::RowContext;
use tenant::Tenant;

/// The file name of the generated `CloudAppEvents` table.
pub const CLOUD_APP_EVENTS_FILE: &str = "CloudAppEvents.jsonl";
/// The file name of the generated `FileProfile` table.
pub const FILE_PROFILE_FILE: &str = file_profile::FILE_NAME;

/// 2026-11-20T12:00:00Z, the default end of the sample window.
const DEFAULT_END_SECONDS: i64 = 1_795_176_000;
/// The share of rows that are Defender audit events, in percent; the rest is ordinary activity.
const DEFENDER_PERCENT: usize = 15;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SampleOptions {
    /// Number of CloudAppEvents rows (default 2_500). The same generator makes 1_000_000 rows for benchmarks.
    pub rows: usize,
    /// RNG seed (default 42). Same seed + same options = byte-identical files.
    pub seed: u64,
    /// The newest event is shortly before this instant (default 2026-11-20T12:00:00Z).
    pub end: DateTime<Utc>,
    /// Days covered, ending at `end` (default 30).
    pub days: u32,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            rows: 2_500,
            seed: 42,
            end: DateTime::from_timestamp(DEFAULT_END_SECONDS, 0).unwrap_or(DateTime::UNIX_EPOCH),
            days: 30,
        }
    }
}

/// What `generate` wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleSummary {
    pub cloud_app_events: usize,
    pub file_profiles: usize,
    /// The size of both files together.
    pub bytes: u64,
}

/// Writes `CloudAppEvents.jsonl` and `FileProfile.jsonl` into `out_dir` (created if missing), atomically
/// (write to a temp name in the same dir, then rename).
pub fn generate(options: &SampleOptions, out_dir: &Path) -> io::Result<SampleSummary> {
    if options.days == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the sample must cover at least one day"));
    }
    fs::create_dir_all(out_dir)?;
    let window = Window::ending_at(options.end, options.days);
    let mut rng = SampleRng::seed_from_u64(options.seed);
    let tenant = Tenant::generate(&mut rng);
    let budget = options.rows * DEFENDER_PERCENT / 100;
    let catalog = FileCatalog::generate(&mut rng, 30 + budget / 15, 2 + budget / 400, window.end);
    let events = plan_events(&mut rng, &tenant, &catalog, window, options.rows, budget);
    // Row details (ids, subjects, message ids) come from their own stream, drawn in time order while writing.
    let mut row_rng = SampleRng::from_rng(&mut rng);
    let events_bytes = write_atomically(&out_dir.join(CLOUD_APP_EVENTS_FILE), |writer| {
        write_cloud_app_events(writer, &events, &tenant, &mut row_rng)
    })?;
    let profile_bytes =
        write_atomically(&out_dir.join(FILE_PROFILE_FILE), |writer| catalog.write_profiles(writer).map(drop))?;
    Ok(SampleSummary {
        cloud_app_events: events.len(),
        file_profiles: catalog.known.len(),
        bytes: events_bytes + profile_bytes,
    })
}

/// Exactly `rows` events in ascending time: the Defender stories, then ordinary activity around them. With very few
/// rows the stories alone would exceed `rows`; then only the earliest story events are kept.
fn plan_events(
    rng: &mut SampleRng,
    tenant: &Tenant,
    catalog: &FileCatalog,
    window: Window,
    rows: usize,
    budget: usize,
) -> Vec<Event> {
    let mut events = scenarios::generate(rng, tenant, catalog, window, budget);
    if events.len() > rows {
        events.sort_by_key(|event| event.time);
        events.truncate(rows);
    }
    noise::generate(rng, tenant, window, rows - events.len(), &mut events);
    // Stable: events at the same tick keep their generation order, so the output stays deterministic.
    events.sort_by_key(|event| event.time);
    events
}

fn write_cloud_app_events(
    writer: &mut impl Write,
    events: &[Event],
    tenant: &Tenant,
    rng: &mut SampleRng,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(8 * 1_024);
    let mut context = RowContext { organization_id: &tenant.organization_id, rng };
    for event in events {
        line.clear();
        match &event.body {
            Body::Noise { kind, actor } => write_noise_row(&mut line, &mut context, tenant, event.time, *kind, *actor),
            Body::Defender(defender) => write_defender_row(&mut line, &mut context, tenant, event.time, defender),
        }
        line.push(b'\n');
        writer.write_all(&line)?;
    }
    Ok(())
}

/// Writes `path` through a temporary file in the same directory and renames it into place, so a reader never sees
/// a half-written table. Returns the size written. The temporary file is removed when writing fails.
fn write_atomically(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> io::Result<u64> {
    let temporary = temporary_path(path);
    let written = write_file(&temporary, write);
    match written {
        Ok(bytes) => {
            fs::rename(&temporary, path)?;
            Ok(bytes)
        }
        Err(error) => {
            // The write already failed; a leftover temporary file is the lesser problem.
            let _ = fs::remove_file(&temporary);
            Err(error)
        }
    }
}

fn write_file(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> io::Result<u64> {
    let mut writer = BufWriter::with_capacity(1 << 20, File::create(path)?);
    write(&mut writer)?;
    let file = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
    Ok(file.metadata()?.len())
}

/// `.CloudAppEvents.jsonl.<process id>.tmp` next to the target: hidden, and distinct per concurrent generator.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}
