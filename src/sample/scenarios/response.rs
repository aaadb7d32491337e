//! The everyday response actions: antivirus scans, investigation packages, app restrictions, support-log collection,
//! and alert updates. They are the bulk of a SOC's audit trail; automation runs many of them around the clock.
//! `filler` tops the Defender share up to its budget with the most common of them.

use super::super::clock::{DAY, HOUR};
use super::super::event::{AlertUpdate, DefenderAction, DeviceAction};
use super::super::hostile::TypedField;
use super::super::random::{chance, pick, pick_text, weighted};
use super::super::tenant::Actor;
use super::{Builder, Counts};

const SCAN_REASONS: [&str; 4] = [
    "Scan after suspicious download",
    "Routine check after alert",
    "User reported pop-ups",
    "Post-cleanup verification",
];
const PACKAGE_REASONS: [&str; 3] = ["Forensics for incident", "Collecting evidence before reimage", "Requested by IR"];
const RESTRICTION_REASONS: [&str; 3] =
    ["Unknown binaries executing from Temp", "Contain while hunting for persistence", "Possible ransomware staging"];
const ALERT_TITLES: [&str; 6] = [
    "Suspicious PowerShell command line",
    "Possible credential dumping",
    "Ransomware behavior detected in the file system",
    "Suspicious connection to a rare domain",
    "An active 'Mimikatz' hack tool was detected",
    "Anomalous scheduled task created",
];
const CLASSIFICATIONS: [(&str, &str); 4] = [
    ("TruePositive", "Malware"),
    ("TruePositive", "SecurityTesting"),
    ("FalsePositive", "NotMalicious"),
    ("InformationalExpectedActivity", "Other"),
];

#[derive(Clone, Copy)]
enum Routine {
    AntivirusScan,
    InvestigationPackage,
    AlertUpdate,
}

pub(super) fn device_actions(builder: &mut Builder, counts: &Counts) {
    for _ in 0..counts.antivirus_scans {
        antivirus_scan(builder);
    }
    for _ in 0..counts.investigation_packages {
        investigation_package(builder);
    }
    for ordinal in 0..counts.restrictions {
        restriction(builder, ordinal);
    }
    for _ in 0..counts.logs_collections {
        let actor = builder.tenant.random_analyst(builder.rng);
        let reason = "Support logs for a Microsoft support case".to_owned();
        simple_device_action(builder, actor, DeviceAction::LogsCollection, reason, None);
    }
}

pub(super) fn alert_updates(builder: &mut Builder, count: usize) {
    for _ in 0..count {
        alert_update(builder);
    }
}

/// Tops the Defender rows up to `count` more with the most common routine actions.
pub(super) fn filler(builder: &mut Builder, count: usize) {
    for _ in 0..count {
        match [Routine::AlertUpdate, Routine::AntivirusScan, Routine::InvestigationPackage]
            [weighted(builder.rng, &[50, 35, 15])]
        {
            Routine::AlertUpdate => alert_update(builder),
            Routine::AntivirusScan => antivirus_scan(builder),
            Routine::InvestigationPackage => investigation_package(builder),
        }
    }
}

/// Automation scans around the clock; people scan a device they are looking at.
fn antivirus_scan(builder: &mut Builder) {
    let actor = match weighted(builder.rng, &[45, 45, 10]) {
        0 => builder.tenant.automated_investigation,
        1 => builder.tenant.random_responder(builder.rng),
        _ => builder.tenant.soar,
    };
    let scope = if chance(builder.rng, 0.7) { "Quick" } else { "Full" };
    let reason = pick(builder.rng, &SCAN_REASONS).to_string();
    simple_device_action(builder, actor, DeviceAction::AntivirusScan, reason, Some(scope));
}

fn investigation_package(builder: &mut Builder) {
    let actor = if chance(builder.rng, 0.3) {
        builder.tenant.automated_investigation
    } else {
        builder.tenant.random_responder(builder.rng)
    };
    let incident = builder.number(1_000, 99_999);
    let reason = format!("{} {incident}", pick(builder.rng, &PACKAGE_REASONS));
    simple_device_action(builder, actor, DeviceAction::CollectInvestigationPackage, reason, None);
}

/// Restrict app execution, and usually lift the restriction hours or a day or two later.
fn restriction(builder: &mut Builder, ordinal: usize) {
    let actor = builder.tenant.random_responder(builder.rng);
    let device = builder.random_device();
    let time = builder.time_for(actor, builder.window.part(0.0, 0.9));
    let reason = pick(builder.rng, &RESTRICTION_REASONS).to_string();
    let comment = builder.hostile.typed(builder.rng, TypedField::ActionComment, reason);
    let restrict = DefenderAction::Device { action: DeviceAction::RestrictAppExecution, device, comment, scope: None };
    builder.push(time, actor, restrict);
    if (ordinal == 0 || chance(builder.rng, 0.75))
        && let Some(lifted) = builder.later(actor, time, HOUR, 2 * DAY)
    {
        let comment =
            builder.hostile.typed(builder.rng, TypedField::ActionComment, "Persistence removed, lifting".to_owned());
        let remove =
            DefenderAction::Device { action: DeviceAction::RemoveAppRestrictions, device, comment, scope: None };
        builder.push(lifted, actor, remove);
    }
}

fn simple_device_action(
    builder: &mut Builder,
    actor: Actor,
    action: DeviceAction,
    ordinary: String,
    scope: Option<&'static str>,
) {
    let device = builder.random_device();
    let time = builder.time_for(actor, builder.window);
    let investigation = builder.number(100, 9_999);
    let automated = if actor == builder.tenant.soar {
        format!("SOAR playbook Triage-Endpoint: {ordinary}")
    } else {
        format!("Automated investigation {investigation}: {ordinary}")
    };
    let comment = builder.comment(actor, TypedField::ActionComment, ordinary, automated);
    builder.push(time, actor, DefenderAction::Device { action, device, comment, scope });
}

/// An analyst (or the automated investigation, when it resolves what it remediated) updates an alert.
fn alert_update(builder: &mut Builder) {
    let actor = if chance(builder.rng, 0.35) {
        builder.tenant.automated_investigation
    } else {
        builder.tenant.random_analyst(builder.rng)
    };
    let time = builder.time_for(actor, builder.window);
    let resolved = chance(builder.rng, 0.6);
    let (classification, determination) = if resolved { *pick(builder.rng, &CLASSIFICATIONS) } else { ("", "") };
    let assignee = builder.tenant.random_analyst(builder.rng);
    let alert = AlertUpdate {
        alert_id: format!(
            "da{}_{}",
            builder.number(638_000_000_000_000_000, 639_000_000_000_000_000),
            builder.number(-2_000_000_000, -1)
        ),
        title: pick_text(builder.rng, &ALERT_TITLES),
        status: if resolved { "Resolved" } else { "InProgress" },
        classification,
        determination,
        assigned_to: builder.tenant.identity(assignee).user_id.clone(),
    };
    builder.push(time, actor, DefenderAction::MonitoringAlertUpdated { alert });
}
