//! Live Response sessions with their file collections, portal file downloads, and file quarantines.
//!
//! A session (from the portal, or through the API by the SOAR app) is followed within minutes by zero to three
//! `LiveResponseGetFile` collections on the same device by the same actor. Most collected hashes have a
//! `FileProfile` row; the first collection (and every 25th) uses a hash that has none, and the second (and every
//! 40th after it) has an empty hash, as real records sometimes do.

use super::super::clock::MINUTE;
use super::super::event::{DefenderAction, DeviceAction};
use super::super::file_profile::SampleFile;
use super::super::hostile::TypedField;
use super::super::random::{chance, pick, weighted};
use super::super::tenant::Actor;
use super::Builder;

/// One collection in this many has a hash that `FileProfile` does not know (the first one among them).
const UNPROFILED_EVERY: usize = 25;
/// One collection in this many has no hash at all (the second one among them).
const EMPTY_HASH_EVERY: usize = 40;

const DOWNLOAD_REASONS: [&str; 4] = [
    "Sample for the malware analysis sandbox",
    "Sending to the vendor for a second opinion",
    "Evidence for incident",
    "Checking the macro before releasing the mail",
];
const QUARANTINE_REASONS: [&str; 4] = [
    "Known bad tool on a workstation",
    "Dropped by the phishing attachment",
    "Not approved software",
    "Matches the IOC list from the threat intel feed",
];

pub(super) fn sessions(builder: &mut Builder, count: usize) {
    for session in 0..count {
        let through_api = session % 3 == 2;
        let actor = if through_api && chance(builder.rng, 0.8) {
            builder.tenant.soar
        } else {
            builder.tenant.random_analyst(builder.rng)
        };
        let device = builder.random_device();
        let started_at = builder.time_for(actor, builder.window.part(0.0, 0.995));
        let action = if through_api { DeviceAction::LiveResponseApi } else { DeviceAction::LiveResponseSession };
        builder.push(started_at, actor, DefenderAction::Device { action, device, comment: String::new(), scope: None });
        let mut last = started_at;
        for _ in 0..weighted(builder.rng, &[15, 40, 30, 15]) {
            let Some(collected_at) = builder.later(actor, last, 2 * MINUTE, 40 * MINUTE) else {
                break;
            };
            last = collected_at;
            let (file_name, file) = collected_file(builder);
            builder.push(collected_at, actor, DefenderAction::LiveResponseGetFile { device, file_name, file });
        }
    }
}

/// What a collection picks up: mostly profiled files, sometimes an unprofiled hash or none at all.
fn collected_file(builder: &mut Builder) -> (String, SampleFile) {
    let collections = builder.collected_files;
    builder.collected_files += 1;
    // Fixed rates rather than chance, so that "most are profiled" holds however few collections there are.
    let mut file = if collections.is_multiple_of(UNPROFILED_EVERY) {
        builder.catalog.random_unknown(builder.rng).clone()
    } else if chance(builder.rng, 0.6) {
        builder.catalog.random_suspicious(builder.rng).clone()
    } else {
        builder.catalog.random_known(builder.rng).clone()
    };
    if collections % EMPTY_HASH_EVERY == 1 {
        file.sha256.clear();
    }
    let file_name = builder.hostile.typed(builder.rng, TypedField::FileName, file.name.to_owned());
    (file_name, file)
}

pub(super) fn file_downloads(builder: &mut Builder, count: usize) {
    for _ in 0..count {
        let actor = builder.tenant.random_analyst(builder.rng);
        let device = builder.random_device();
        let file = builder.catalog.random_suspicious(builder.rng).clone();
        let time = builder.time_for(actor, builder.window);
        let incident = builder.number(1_000, 99_999);
        let reason = *pick(builder.rng, &DOWNLOAD_REASONS);
        let comment = builder.hostile.typed(builder.rng, TypedField::ActionComment, format!("{reason} {incident}"));
        builder.push(time, actor, DefenderAction::DownloadFile { device, file, comment });
    }
}

pub(super) fn quarantines(builder: &mut Builder, count: usize) {
    for _ in 0..count {
        let actor = quarantine_actor(builder);
        let device = builder.random_device();
        let file = builder.catalog.random_suspicious(builder.rng).clone();
        let time = builder.time_for(actor, builder.window);
        let investigation = builder.number(100, 9_999);
        let reason = pick(builder.rng, &QUARANTINE_REASONS).to_string();
        let automated = format!("Automated investigation {investigation}: file quarantined");
        let comment = builder.comment(actor, TypedField::ActionComment, reason, automated);
        builder.push(time, actor, DefenderAction::StopAndQuarantineFile { device, file, comment });
    }
}

fn quarantine_actor(builder: &mut Builder) -> Actor {
    if chance(builder.rng, 0.4) {
        builder.tenant.automated_investigation
    } else {
        builder.tenant.random_responder(builder.rng)
    }
}
