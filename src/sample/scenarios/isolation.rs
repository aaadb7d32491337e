//! Device isolations and their releases.
//!
//! Each *chain* is one device's isolation episode: isolated (by an analyst, the automated investigation or the SOAR
//! app, with scope Full or Selective) and usually released hours or days later. Some chains are escalated (Selective,
//! then Full, then released), some never end, and a few consist only of a release whose isolation happened before the
//! sample window. The chains of one device occupy consecutive, non-overlapping slices of the window, so a release is
//! always preceded by its own isolation and never by another episode's.

use super::super::clock::{DAY, HOUR, Instant, MINUTE, Window};
use super::super::event::{DefenderAction, DeviceAction};
use super::super::hostile::TypedField;
use super::super::random::{between, chance, pick, shuffle, weighted};
use super::super::tenant::Actor;
use super::Builder;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chain {
    Released,
    Escalated,
    NeverReleased,
    /// The isolation lies before the window; only its release is in the data.
    ReleaseOnly,
}

const ISOLATION_REASONS: [&str; 8] = [
    "Suspected credential theft",
    "Ransomware behaviour: mass file renames",
    "User reported running a phishing attachment",
    "Cobalt Strike beacon detected by EDR",
    "Lateral movement from a compromised host",
    "Precautionary isolation while the alert is investigated",
    "Unknown binary beaconing to a rare domain",
    "LSASS memory access by an unsigned process",
];
const RELEASE_REASONS: [&str; 7] = [
    "Device reimaged, releasing",
    "False positive confirmed",
    "Remediation complete; full AV scan clean",
    "Released after review with the device owner",
    "Malware removed, credentials reset",
    "Business impact too high, monitored closely instead",
    "Investigation closed",
];

pub(super) fn isolation_chains(builder: &mut Builder, count: usize) {
    let mut devices: Vec<usize> = (0..builder.tenant.devices.len()).collect();
    shuffle(builder.rng, &mut devices);
    let chains = chain_kinds(builder, count, devices.len());
    let mut free_isolations = 0;
    for (position, chain) in chains.iter().enumerate() {
        let slot = position % devices.len();
        let ordinal = position / devices.len();
        let chains_on_device = count / devices.len() + usize::from(slot < count % devices.len());
        let from = ordinal as f64 / chains_on_device as f64;
        let to = (ordinal + 1) as f64 / chains_on_device as f64;
        let segment = builder.window.part(from, to);
        let device = devices[slot];
        match chain {
            Chain::ReleaseOnly => release_only(builder, device, segment),
            Chain::Escalated => escalated(builder, device, segment),
            Chain::Released | Chain::NeverReleased => {
                let actor = isolation_actor(builder, free_isolations);
                free_isolations += 1;
                isolate_and_release(builder, device, segment, actor, *chain == Chain::Released, position % 3 == 1);
            }
        }
    }
}

/// Chain kinds in generation order: release-only chains first (each is the first on its device), then escalated
/// and ordinary ones shuffled, then the never-released ones (each the last on its device).
fn chain_kinds(builder: &mut Builder, count: usize, devices: usize) -> Vec<Chain> {
    let release_only = (count / 20).clamp(1, devices);
    let never_released = (count / 7).clamp(2, devices);
    let escalated = (count / 8).max(1);
    let ordinary = count.saturating_sub(release_only + never_released + escalated);
    let mut middle: Vec<Chain> = std::iter::repeat_n(Chain::Escalated, escalated)
        .chain(std::iter::repeat_n(Chain::Released, ordinary))
        .collect();
    shuffle(builder.rng, &mut middle);
    let mut chains = vec![Chain::ReleaseOnly; release_only];
    chains.extend(middle);
    chains.extend(std::iter::repeat_n(Chain::NeverReleased, never_released));
    chains
}

/// Who isolates: the first three ordinary chains go to a person, the automated investigation and the SOAR app, so
/// every kind of actor appears; after that 60 / 25 / 15 %.
fn isolation_actor(builder: &mut Builder, ordinal: usize) -> Actor {
    let kind = if ordinal < 3 { ordinal } else { weighted(builder.rng, &[60, 25, 15]) };
    match kind {
        0 => builder.tenant.random_responder(builder.rng),
        1 => builder.tenant.automated_investigation,
        _ => builder.tenant.soar,
    }
}

/// `recent` puts the chain in the last days of its segment (chosen by position, so that no random draw is added and
/// the other stories of a seed stay as they were).
fn isolate_and_release(
    builder: &mut Builder,
    device: usize,
    segment: Window,
    actor: Actor,
    released: bool,
    recent: bool,
) {
    // A third of the released chains fall in the last week, so that the weekly release review has work.
    let isolation_window = match (released, recent) {
        (true, true) => segment.part(0.75, 0.95),
        (true, false) => segment.part(0.0, 0.75),
        (false, _) => segment.part(0.7, 1.0),
    };
    let isolated_at = builder.time_for(actor, isolation_window);
    let scope = if chance(builder.rng, 0.75) { "Full" } else { "Selective" };
    isolate(builder, isolated_at, actor, device, scope);
    if released {
        let releaser = release_actor(builder, actor);
        if let Some(released_at) = release_time(builder, releaser, isolated_at, segment.end) {
            release(builder, released_at, releaser, device);
        }
    }
}

/// Selective isolation, escalated to Full when the threat persists, then released.
fn escalated(builder: &mut Builder, device: usize, segment: Window) {
    let actor = builder.tenant.random_responder(builder.rng);
    let first = builder.time_for(actor, segment.part(0.0, 0.5));
    isolate(builder, first, actor, device, "Selective");
    let escalator = builder.tenant.random_responder(builder.rng);
    let Some(second) = builder.later(escalator, first, 20 * MINUTE, 8 * HOUR) else {
        return;
    };
    let comment = builder.comment(
        escalator,
        TypedField::IsolationComment,
        "Escalating to full isolation: C2 traffic continued during selective isolation".to_owned(),
        String::new(),
    );
    let action = DefenderAction::Device { action: DeviceAction::Isolate, device, comment, scope: Some("Full") };
    builder.push(second, escalator, action);
    if let Some(released_at) = release_time(builder, escalator, second, segment.end) {
        release(builder, released_at, escalator, device);
    }
}

/// A release early in the window of an isolation from before it.
fn release_only(builder: &mut Builder, device: usize, segment: Window) {
    let actor = builder.tenant.random_responder(builder.rng);
    let early = segment.after(0, 3 * DAY);
    let released_at = builder.time_for(actor, early);
    release(builder, released_at, actor, device);
}

fn isolate(builder: &mut Builder, time: Instant, actor: Actor, device: usize, scope: &'static str) {
    let incident = builder.number(1_000, 99_999);
    let reason = *pick(builder.rng, &ISOLATION_REASONS);
    let automated = if actor == builder.tenant.soar {
        format!("SOAR playbook Contain-HighSeverityIncident: incident {incident}")
    } else {
        format!("Automated investigation {incident}: remediation action Isolate device ({reason})")
    };
    let comment =
        builder.comment(actor, TypedField::IsolationComment, format!("{reason}, incident {incident}"), automated);
    builder.push(
        time,
        actor,
        DefenderAction::Device { action: DeviceAction::Isolate, device, comment, scope: Some(scope) },
    );
}

fn release(builder: &mut Builder, time: Instant, actor: Actor, device: usize) {
    let incident = builder.number(1_000, 99_999);
    let reason = *pick(builder.rng, &RELEASE_REASONS);
    let automated = format!("SOAR playbook Release-AfterRemediation: incident {incident} resolved");
    let comment =
        builder.comment(actor, TypedField::ReleaseComment, format!("{reason} (incident {incident})"), automated);
    builder.push(time, actor, DefenderAction::Device { action: DeviceAction::Release, device, comment, scope: None });
}

/// People release most devices; the SOAR app releases some of its own isolations.
fn release_actor(builder: &mut Builder, isolated_by: Actor) -> Actor {
    let soar_share = if isolated_by == builder.tenant.soar { 0.4 } else { 0.1 };
    if chance(builder.rng, soar_share) { builder.tenant.soar } else { builder.tenant.random_responder(builder.rng) }
}

/// Hours (mostly) or days after the isolation, before `deadline`; `None` when no time is left.
fn release_time(builder: &mut Builder, actor: Actor, isolated_at: Instant, deadline: Instant) -> Option<Instant> {
    let delay = if chance(builder.rng, 0.7) {
        between(builder.rng, 2 * HOUR, 30 * HOUR)
    } else {
        between(builder.rng, DAY, 6 * DAY)
    };
    let end = deadline.min(builder.window.end);
    let preferred =
        Window { start: isolated_at.plus((delay / 3).max(20 * MINUTE)), end: isolated_at.plus(delay).min(end) };
    let fallback = Window { start: isolated_at.plus(10 * MINUTE), end };
    let window = if preferred.is_empty() { fallback } else { preferred };
    if window.is_empty() { None } else { Some(builder.time_for(actor, window)) }
}
