//! Custom detection rules and Defender RBAC roles: created, edited, switched off and deleted, in that order.
//!
//! Rules and roles made inside the window run through a life cycle (create → edits → status changes → maybe
//! delete); rules and roles that existed before the window are only edited, switched or deleted, as a real month of
//! audit data shows. The first rule created is always deleted and the second always disabled, so every playbook has
//! something to find.

use super::super::clock::{DAY, HOUR, MINUTE};
use super::super::event::{Change, DefenderAction, DetectionChange, RoleState, RuleState};
use super::super::hostile::TypedField;
use super::super::random::{chance, count_between, index, pick, pick_text};
use super::super::tenant::Actor;
use super::Builder;

struct RuleTemplate {
    name: &'static str,
    query: &'static str,
    alert_title: &'static str,
    description: &'static str,
    category: &'static str,
    techniques: &'static [&'static str],
}

const RULES: [RuleTemplate; 6] = [
    RuleTemplate {
        name: "LSASS dump with procdump",
        query: "DeviceProcessEvents\n| where FileName =~ \"procdump64.exe\" and ProcessCommandLine has \"lsass\"",
        alert_title: "Possible LSASS dump on {device}",
        description: "procdump was run against lsass.exe; credentials may have been stolen.",
        category: "CredentialAccess",
        techniques: &["T1003.001"],
    },
    RuleTemplate {
        name: "Encoded PowerShell from Office",
        query: "DeviceProcessEvents\n| where InitiatingProcessFileName in~ (\"winword.exe\", \"excel.exe\")\n\
                | where FileName =~ \"powershell.exe\" and ProcessCommandLine has \"-enc\"",
        alert_title: "Office spawned encoded PowerShell",
        description: "An Office application started PowerShell with an encoded command.",
        category: "Execution",
        techniques: &["T1059.001", "T1566.001"],
    },
    RuleTemplate {
        name: "Rclone exfiltration",
        query: "DeviceProcessEvents\n| where FileName =~ \"rclone.exe\" or ProcessCommandLine has_any (\"copy\", \"sync\")",
        alert_title: "Rclone started with a copy command",
        description: "Rclone is a common exfiltration tool.",
        category: "Exfiltration",
        techniques: &["T1567.002"],
    },
    RuleTemplate {
        name: "New local admin",
        query: "DeviceEvents\n| where ActionType == \"UserAccountAddedToLocalGroup\"\n\
                | where tostring(AdditionalFields.GroupName) =~ \"Administrators\"",
        alert_title: "Account added to local Administrators",
        description: "A user was added to the local Administrators group.",
        category: "Persistence",
        techniques: &["T1098"],
    },
    RuleTemplate {
        name: "Defender tampering",
        query: "DeviceEvents\n| where ActionType == \"TamperingAttempt\"",
        alert_title: "Tampering with Microsoft Defender",
        description: "A process tried to change Defender settings.",
        category: "DefenseEvasion",
        techniques: &["T1562.001"],
    },
    RuleTemplate {
        name: "Remote access tool installed",
        query: "DeviceFileEvents\n| where FileName in~ (\"AnyDesk.exe\", \"putty.exe\")\n| where ActionType == \"FileCreated\"",
        alert_title: "Remote access tool written to disk",
        description: "A remote access tool appeared on a device.",
        category: "CommandAndControl",
        techniques: &["T1219"],
    },
];

const SEVERITIES: [&str; 4] = ["Informational", "Low", "Medium", "High"];
const FREQUENCIES: [&str; 5] = ["0", "1H", "3H", "12H", "24H"];

struct RoleTemplate {
    name: &'static str,
    permissions: &'static [&'static str],
    groups: &'static [&'static str],
}

const ROLES: [RoleTemplate; 5] = [
    RoleTemplate {
        name: "Tier 1 analysts",
        permissions: &["View data - Security operations", "Alerts investigation"],
        groups: &["SG-SOC-Tier1"],
    },
    RoleTemplate {
        name: "Tier 2 responders",
        permissions: &[
            "View data - Security operations",
            "Alerts investigation",
            "Active remediation actions - Security operations",
            "Live response capabilities - Basic",
        ],
        groups: &["SG-SOC-Tier2"],
    },
    RoleTemplate {
        name: "Live Response operators",
        permissions: &["View data - Security operations", "Live response capabilities - Advanced"],
        groups: &["SG-SOC-Tier3", "SG-IR-Retainer"],
    },
    RoleTemplate {
        name: "Threat hunters (read-only)",
        permissions: &["View data - Security operations", "View data - Defender Vulnerability Management"],
        groups: &["SG-ThreatHunting"],
    },
    RoleTemplate {
        name: "Helpdesk device actions",
        permissions: &["View data - Security operations", "Active remediation actions - Security operations"],
        groups: &["SG-Helpdesk"],
    },
];
const EXTRA_PERMISSIONS: [&str; 3] = [
    "Manage security settings in Security Center",
    "Manage portal system settings",
    "Live response capabilities - Advanced",
];

pub(super) fn detection_rules(builder: &mut Builder, count: usize, older_changes: usize) {
    let first_rule_id = builder.number(1_000, 5_000);
    for ordinal in 0..count {
        let rule = new_rule(builder, first_rule_id + ordinal as i64, ordinal);
        rule_life_cycle(builder, rule, ordinal);
    }
    for ordinal in 0..older_changes {
        let mut rule = new_rule(builder, first_rule_id - 1 - ordinal as i64, count + ordinal);
        let actor = builder.tenant.random_analyst(builder.rng);
        let time = builder.time_for(actor, builder.window);
        let change = match ordinal % 3 {
            0 => DetectionChange::Delete,
            1 => DetectionChange::Edit,
            _ => DetectionChange::ChangeStatus,
        };
        if change == DetectionChange::ChangeStatus {
            rule.is_enabled = false;
        }
        builder.push(time, actor, DefenderAction::CustomDetection { change, rule });
    }
}

fn new_rule(builder: &mut Builder, rule_id: i64, ordinal: usize) -> RuleState {
    let template = &RULES[ordinal % RULES.len()];
    let ordinary_name = if ordinal < RULES.len() {
        template.name.to_owned()
    } else {
        format!("{} ({})", template.name, ordinal / RULES.len() + 1)
    };
    let device = builder.random_device();
    let short_name = builder.tenant.devices[device].name.split('.').next().unwrap_or_default().to_owned();
    let ordinary_title = template.alert_title.replace("{device}", &short_name);
    RuleState {
        rule_id,
        name: builder.hostile.typed(builder.rng, TypedField::RuleName, ordinary_name),
        query: template.query.to_owned(),
        alert_title: builder.hostile.typed(builder.rng, TypedField::AlertTitle, ordinary_title),
        alert_description: template.description,
        alert_category: template.category,
        alert_severity: SEVERITIES[1 + index(builder.rng, 3)],
        mitre_techniques: template.techniques,
        frequency: pick_text(builder.rng, &FREQUENCIES),
        is_enabled: true,
    }
}

/// Create, then edits, then status changes, then perhaps a deletion, each after the one before.
fn rule_life_cycle(builder: &mut Builder, mut rule: RuleState, ordinal: usize) {
    let owner = builder.tenant.random_analyst(builder.rng);
    let mut time = builder.time_for(owner, builder.window.part(0.0, 0.6));
    builder.push(time, owner, DefenderAction::CustomDetection { change: DetectionChange::Create, rule: rule.clone() });
    let edits = count_between(builder.rng, 0, 2);
    let disable = ordinal == 1 || chance(builder.rng, 0.4);
    let delete = ordinal == 0 || chance(builder.rng, 0.35);
    let mut steps: Vec<DetectionChange> = vec![DetectionChange::Edit; edits as usize];
    if disable {
        steps.push(DetectionChange::ChangeStatus);
    }
    if delete {
        steps.push(DetectionChange::Delete);
    }
    for change in steps {
        let actor = if chance(builder.rng, 0.7) { owner } else { builder.tenant.random_analyst(builder.rng) };
        let Some(next) = builder.later(actor, time, 30 * MINUTE, 4 * DAY) else {
            return;
        };
        time = next;
        match change {
            DetectionChange::Edit => edit_rule(builder, &mut rule),
            DetectionChange::ChangeStatus => rule.is_enabled = !rule.is_enabled,
            DetectionChange::Create | DetectionChange::Delete => {}
        }
        builder.push(time, actor, DefenderAction::CustomDetection { change, rule: rule.clone() });
    }
}

/// What analysts change in a rule: the severity, the schedule, or a tuning exclusion in the query.
fn edit_rule(builder: &mut Builder, rule: &mut RuleState) {
    match index(builder.rng, 3) {
        0 => rule.alert_severity = *pick(builder.rng, &SEVERITIES),
        1 => rule.frequency = *pick(builder.rng, &FREQUENCIES),
        _ => {
            let device = builder.random_device();
            let exclusion = &builder.tenant.devices[device].name;
            rule.query = format!("{}\n| where DeviceName != \"{exclusion}\" // tuning", rule.query);
        }
    }
}

pub(super) fn roles(builder: &mut Builder, count: usize, older_edits: usize) {
    for ordinal in 0..count {
        let role = new_role(builder, ordinal);
        role_life_cycle(builder, role, ordinal);
    }
    for ordinal in 0..older_edits {
        let actor = builder.tenant.random_settings_owner(builder.rng);
        let template = &ROLES[(ordinal + 2) % ROLES.len()];
        let mut role = RoleState {
            name: template.name.to_owned(),
            permissions: template.permissions.to_vec(),
            assigned_groups: template.groups.to_vec(),
        };
        role.permissions.push(*pick(builder.rng, &EXTRA_PERMISSIONS));
        let time = builder.time_for(actor, builder.window);
        builder.push(time, actor, DefenderAction::Role { change: Change::Edit, role });
    }
}

fn new_role(builder: &mut Builder, ordinal: usize) -> RoleState {
    let template = &ROLES[ordinal % ROLES.len()];
    let ordinary_name = if ordinal < ROLES.len() {
        format!("{} (new)", template.name)
    } else {
        format!("{} {}", template.name, ordinal / ROLES.len() + 1)
    };
    RoleState {
        name: builder.hostile.typed(builder.rng, TypedField::RoleName, ordinary_name),
        permissions: template.permissions.to_vec(),
        assigned_groups: template.groups.to_vec(),
    }
}

/// Added, usually edited (a permission or a group more), and sometimes deleted again; the first role always is.
fn role_life_cycle(builder: &mut Builder, mut role: RoleState, ordinal: usize) {
    let actor: Actor = builder.tenant.random_settings_owner(builder.rng);
    let mut time = builder.time_for(actor, builder.window.part(0.0, 0.7));
    builder.push(time, actor, DefenderAction::Role { change: Change::Add, role: role.clone() });
    if chance(builder.rng, 0.6)
        && let Some(next) = builder.later(actor, time, 10 * MINUTE, 3 * DAY)
    {
        time = next;
        role.permissions.push(*pick(builder.rng, &EXTRA_PERMISSIONS));
        role.assigned_groups.push("SG-SOC-Leads");
        builder.push(time, actor, DefenderAction::Role { change: Change::Edit, role: role.clone() });
    }
    if (ordinal == 0 || chance(builder.rng, 0.4))
        && let Some(next) = builder.later(actor, time, HOUR, 5 * DAY)
    {
        builder.push(next, actor, DefenderAction::Role { change: Change::Delete, role });
    }
}
