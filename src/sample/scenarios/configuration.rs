//! Tenant-wide Defender configuration: onboarding and offboarding packages, advanced features, indicators, data
//! retention, suppression rules, Defender for Identity sensors and the Sentinel workspace connection.
//!
//! Advanced features are switched in pairs: off, then back on minutes to days later (tamper protection first), except
//! unsigned Live Response scripts, which are switched on for a task and off again.

use super::super::clock::{DAY, HOUR, MINUTE};
use super::super::event::{Change, DefenderAction, Indicator, SentinelWorkspace};
use super::super::random::{chance, guid, index, pick, pick_text};
use super::{Builder, Counts};

/// OsFamily values, in the order downloads cycle through them so that several appear even with few downloads.
const OS_FAMILIES: [&str; 4] = ["Windows", "WindowsServer", "macOS", "Linux"];
const WINDOWS_METHODS: [&str; 4] =
    ["Local Script", "Group Policy", "Microsoft Configuration Manager", "Mobile Device Management / Microsoft Intune"];
const MAC_METHODS: [&str; 3] = ["Local Script", "Mobile Device Management / Microsoft Intune", "JAMF Pro"];
const LINUX_METHODS: [&str; 2] = ["Local Script (Python)", "Puppet / Ansible / Chef"];

/// The features switched first, in order; later toggles pick from `OTHER_FEATURES` too.
const FEATURES: [&str; 5] = [
    "Tamper protection",
    "Live Response unsigned script execution",
    "Custom network indicators",
    "Allow or block file",
    "EDR in block mode",
];
const OTHER_FEATURES: [&str; 5] = [
    "Live Response",
    "Live Response for Servers",
    "Automatically resolve alerts",
    "Web content filtering",
    "Restrict correlation to within scoped device groups",
];

const RETENTION_DAYS: [i64; 4] = [30, 60, 90, 180];

pub(super) fn packages(builder: &mut Builder, offboarding: usize, onboarding: usize) {
    let downloads =
        (0..offboarding).map(|ordinal| (true, ordinal)).chain((0..onboarding).map(|ordinal| (false, ordinal)));
    for (is_offboarding, ordinal) in downloads {
        let os_family = OS_FAMILIES[ordinal % OS_FAMILIES.len()];
        let methods: &[&str] = match os_family {
            "macOS" => &MAC_METHODS,
            "Linux" => &LINUX_METHODS,
            _ => &WINDOWS_METHODS,
        };
        let deployment_method = *pick(builder.rng, methods);
        let actor = if chance(builder.rng, 0.5) {
            builder.tenant.random_settings_owner(builder.rng)
        } else {
            builder.tenant.random_analyst(builder.rng)
        };
        let time = builder.time_for(actor, builder.window);
        let action = DefenderAction::DownloadPackage { offboarding: is_offboarding, os_family, deployment_method };
        builder.push(time, actor, action);
    }
}

pub(super) fn advanced_features(builder: &mut Builder, toggles: usize) {
    for ordinal in 0..toggles {
        let setting = match FEATURES.get(ordinal) {
            Some(feature) => *feature,
            None if chance(builder.rng, 0.5) => *pick(builder.rng, &FEATURES),
            None => *pick(builder.rng, &OTHER_FEATURES),
        };
        // Unsigned scripts are normally off: they are allowed for a task, then forbidden again.
        let first_value = setting == "Live Response unsigned script execution";
        let actor = builder.tenant.random_settings_owner(builder.rng);
        let first = builder.time_for(actor, builder.window.part(0.0, 0.9));
        builder.push(first, actor, DefenderAction::SetAdvancedFeatures { setting, enabled: first_value });
        let restorer = if chance(builder.rng, 0.7) { actor } else { builder.tenant.random_settings_owner(builder.rng) };
        let wait = if chance(builder.rng, 0.6) { 3 * HOUR } else { 2 * DAY };
        if let Some(second) = builder.later(restorer, first, 15 * MINUTE, wait) {
            builder.push(second, restorer, DefenderAction::SetAdvancedFeatures { setting, enabled: !first_value });
        }
    }
}

pub(super) fn indicators(builder: &mut Builder, count: usize) {
    let first_id = builder.number(100, 900);
    for ordinal in 0..count {
        let mut indicator = new_indicator(builder, first_id + ordinal as i64);
        let actor =
            if chance(builder.rng, 0.3) { builder.tenant.soar } else { builder.tenant.random_analyst(builder.rng) };
        let added = builder.time_for(actor, builder.window.part(0.0, 0.9));
        builder.push(added, actor, DefenderAction::Indicator { change: Change::Add, indicator: indicator.clone() });
        let mut last = added;
        if chance(builder.rng, 0.2)
            && let Some(edited) = builder.later(actor, last, 30 * MINUTE, 3 * DAY)
        {
            last = edited;
            indicator.action = "BlockAndRemediate";
            builder.push(
                edited,
                actor,
                DefenderAction::Indicator { change: Change::Edit, indicator: indicator.clone() },
            );
        }
        if (ordinal == 0 || chance(builder.rng, 0.25))
            && let Some(deleted) = builder.later(actor, last, HOUR, 7 * DAY)
        {
            builder.push(deleted, actor, DefenderAction::Indicator { change: Change::Delete, indicator });
        }
    }
}

fn new_indicator(builder: &mut Builder, indicator_id: i64) -> Indicator {
    let (indicator_type, value, action) = match index(builder.rng, 4) {
        0 => ("FileSha256", builder.catalog.random_suspicious(builder.rng).sha256.clone(), "BlockAndRemediate"),
        1 => ("IpAddress", format!("203.0.113.{}", builder.number(1, 99)), "Block"),
        2 => ("DomainName", format!("cdn-{}.evil.example", builder.number(10, 999)), "Block"),
        _ => ("Url", format!("https://login-verify.example/o365/{}", builder.number(1_000, 9_999)), "Warn"),
    };
    let expires = builder.window.end.plus(builder.number(7, 90) * DAY);
    let incident = builder.number(1_000, 99_999);
    Indicator {
        indicator_id,
        indicator_type,
        value,
        action,
        title: format!("IOC from incident {incident}"),
        severity: pick_text(builder.rng, &["Low", "Medium", "High"]),
        generate_alert: chance(builder.rng, 0.7),
        expiration: if chance(builder.rng, 0.3) { String::new() } else { expires.zulu_text() },
    }
}

/// The rare, tenant-wide changes: data retention, suppression rules, sensor deletions, Sentinel disconnects.
pub(super) fn tenant_changes(builder: &mut Builder, counts: &Counts) {
    for _ in 0..counts.retention_changes {
        let actor = builder.tenant.random_settings_owner(builder.rng);
        let time = builder.time_for(actor, builder.window);
        let previous_days = *pick(builder.rng, &RETENTION_DAYS);
        let others: Vec<i64> = RETENTION_DAYS.into_iter().filter(|days| *days != previous_days).collect();
        let new_days = *pick(builder.rng, &others);
        builder.push(time, actor, DefenderAction::ChangeDataRetention { previous_days, new_days });
    }
    for _ in 0..counts.exclusions {
        suppression_rule(builder);
    }
    for _ in 0..counts.sensor_deletions {
        let actor = builder.tenant.random_settings_owner(builder.rng);
        let time = builder.time_for(actor, builder.window);
        let controller = *pick(builder.rng, &builder.tenant.domain_controllers);
        let sensor = builder.tenant.devices[controller].name.split('.').next().unwrap_or_default().to_uppercase();
        builder.push(time, actor, DefenderAction::SensorDeleted { sensor });
    }
    for _ in 0..counts.sentinel_disconnects {
        let actor = builder.tenant.random_settings_owner(builder.rng);
        let time = builder.time_for(actor, builder.window);
        let workspace = SentinelWorkspace {
            workspace_id: guid(builder.rng),
            subscription_id: guid(builder.rng),
            resource_group: pick_text(builder.rng, &["rg-sentinel-prod", "rg-sentinel-dev"]),
            workspace_type: pick_text(builder.rng, &["Primary", "Secondary"]),
            status: "Succeeded",
        };
        builder.push(time, actor, DefenderAction::SentinelDisconnectWorkspace { workspace });
    }
}

fn suppression_rule(builder: &mut Builder) {
    const SUPPRESSED: [&str; 3] = [
        "Suspicious PowerShell command line",
        "Possible lateral movement using remote service creation",
        "Suspicious process injection observed",
    ];
    let actor = builder.tenant.random_analyst(builder.rng);
    let time = builder.time_for(actor, builder.window);
    let succeeded = chance(builder.rng, 0.85);
    let device = builder.random_device();
    let alert = *pick(builder.rng, &SUPPRESSED);
    let device_name = &builder.tenant.devices[device].name;
    let description = if succeeded {
        format!("Suppression rule for alert '{alert}' on {device_name} created")
    } else {
        format!("Suppression rule for alert '{alert}' could not be created: scope is empty")
    };
    builder.push(time, actor, DefenderAction::ExclusionConfigurationAdded { succeeded, description });
}
