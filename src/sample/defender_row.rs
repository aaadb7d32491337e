//! Writes a Defender audit event as a `CloudAppEvents` row: record type, workload, touched objects and the
//! operation-specific `RawEventData` fields of reference §7.2.
//!
//! Record types 110–114 are documented (Office 365 Management API `AuditLogRecordType`). 226
//! (`MS365DSuppressionRule`), 232 (`MS365DIncident`) and 235 (`MicrosoftDefenderForIdentityAudit`) are inferred from
//! the order of Graph's `auditLogRecordType` enum between the documented 230 and 237; the Sentinel disconnect has no
//! known record type and is filed with the incident records.

use std::borrow::Cow;

use super::clock::{DAY, Instant};
use super::event::{
    AlertUpdate, Change, DefenderAction, DefenderEvent, DetectionChange, DeviceAction, Indicator, RoleState, RuleState,
    SentinelWorkspace,
};
use super::file_profile::SampleFile;
use super::json::{ArrayWriter, ObjectWriter};
use super::row::{MICROSOFT_365, Network, Record, RowContext, RowHead, write_object_entry, write_row};
use super::tenant::{Device, Tenant};

const MDE: &str = "MicrosoftDefenderForEndpoint";
const XDR: &str = "Microsoft365Defender";
const RESPONSE_ACTIONS: Record = Record { record_type: 110, workload: MDE };
const GENERAL_SETTINGS: Record = Record { record_type: 111, workload: MDE };
const INDICATOR_SETTINGS: Record = Record { record_type: 112, workload: MDE };
const CUSTOM_DETECTION: Record = Record { record_type: 113, workload: XDR };
const ROLE_SETTINGS: Record = Record { record_type: 114, workload: MDE };
const SUPPRESSION_RULE: Record = Record { record_type: 226, workload: XDR };
const INCIDENT: Record = Record { record_type: 232, workload: XDR };
const IDENTITY_AUDIT: Record = Record { record_type: 235, workload: XDR };

/// What the row says about the touched object, besides the operation-specific fields.
struct Target<'a> {
    record: Record,
    activity_type: &'static str,
    object_type: &'static str,
    object_name: Cow<'a, str>,
    object_id: Cow<'a, str>,
    succeeded: bool,
}

pub(crate) fn write_defender_row(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    tenant: &Tenant,
    time: Instant,
    event: &DefenderEvent,
) {
    let actor = tenant.identity(event.actor);
    let target = target(tenant, &event.action);
    let head = RowHead {
        time,
        operation: event.action.operation(),
        application: MICROSOFT_365,
        record: target.record,
        result_status: if target.succeeded { "Succeeded" } else { "Failed" },
        actor,
        user_key: Cow::Borrowed(&actor.user_key),
        network: Network::home(actor),
        user_agent: actor.user_agent,
        is_admin_operation: true,
        activity_type: target.activity_type,
        object_name: target.object_name,
        object_type: target.object_type,
        object_id: target.object_id,
        novelty: 0.1,
    };
    write_row(
        line,
        context,
        &head,
        |list| write_touched_objects(list, tenant, &event.action),
        |raw| write_details(raw, tenant, time, &event.action),
    );
}

fn target<'a>(tenant: &'a Tenant, action: &'a DefenderAction) -> Target<'a> {
    use Cow::{Borrowed, Owned};
    match action {
        DefenderAction::Device { device, .. } => {
            let device = &tenant.devices[*device];
            let name = Borrowed(device.name.as_str());
            Target::new(RESPONSE_ACTIONS, "Run", "Device", name, Borrowed(&device.device_id))
        }
        DefenderAction::LiveResponseGetFile { file_name, file, .. } => file_target("Download", file_name, file),
        DefenderAction::DownloadFile { file, .. } => file_target("Download", file.name, file),
        DefenderAction::StopAndQuarantineFile { file, .. } => file_target("Run", file.name, file),
        DefenderAction::ChangeDataRetention { .. } => {
            let name = Borrowed("Data retention");
            Target::new(GENERAL_SETTINGS, "Edit", "Setting", name, Borrowed("DataRetention"))
        }
        DefenderAction::DownloadPackage { offboarding, os_family, .. } => {
            let kind = if *offboarding { "Offboarding" } else { "Onboarding" };
            let name = format!("WindowsDefenderATP{kind}Package ({os_family})");
            Target::new(GENERAL_SETTINGS, "Download", "Package", Owned(name.clone()), Owned(name))
        }
        DefenderAction::SetAdvancedFeatures { setting, .. } => {
            Target::new(GENERAL_SETTINGS, "Edit", "Setting", Borrowed(setting), Borrowed(setting))
        }
        DefenderAction::Indicator { change, indicator } => {
            let (name, id) = (Borrowed(indicator.value.as_str()), Owned(indicator.indicator_id.to_string()));
            Target::new(INDICATOR_SETTINGS, change_activity(*change), "Indicator", name, id)
        }
        DefenderAction::Role { change, role } => {
            let name = Borrowed(role.name.as_str());
            Target::new(ROLE_SETTINGS, change_activity(*change), "Role", name.clone(), name)
        }
        DefenderAction::CustomDetection { change, rule } => {
            let (name, id) = (Borrowed(rule.name.as_str()), Owned(rule.rule_id.to_string()));
            Target::new(CUSTOM_DETECTION, detection_activity(*change), "Detection rule", name, id)
        }
        DefenderAction::ExclusionConfigurationAdded { succeeded, .. } => {
            let name = Borrowed("Alert suppression rule");
            let target = Target::new(SUPPRESSION_RULE, "Create", "Suppression rule", name, Borrowed("SuppressionRule"));
            Target { succeeded: *succeeded, ..target }
        }
        DefenderAction::SensorDeleted { sensor } => {
            Target::new(IDENTITY_AUDIT, "Delete", "Sensor", Borrowed(sensor), Borrowed(sensor))
        }
        DefenderAction::SentinelDisconnectWorkspace { workspace } => {
            let id = Borrowed(workspace.workspace_id.as_str());
            Target::new(INCIDENT, "Delete", "Workspace", id.clone(), id)
        }
        DefenderAction::MonitoringAlertUpdated { alert } => {
            Target::new(INCIDENT, "Edit", "Alert", Borrowed(alert.title), Borrowed(&alert.alert_id))
        }
    }
}

impl<'a> Target<'a> {
    fn new(
        record: Record,
        activity_type: &'static str,
        object_type: &'static str,
        object_name: Cow<'a, str>,
        object_id: Cow<'a, str>,
    ) -> Target<'a> {
        Target { record, activity_type, object_type, object_name, object_id, succeeded: true }
    }
}

/// A file is identified by its SHA-256, or by its SHA-1 when the record has no SHA-256.
fn file_target<'a>(activity_type: &'static str, file_name: &'a str, file: &'a SampleFile) -> Target<'a> {
    let id = if file.sha256.is_empty() { &file.sha1 } else { &file.sha256 };
    Target::new(RESPONSE_ACTIONS, activity_type, "File", Cow::Borrowed(file_name), Cow::Borrowed(id))
}

fn change_activity(change: Change) -> &'static str {
    match change {
        Change::Add => "Create",
        Change::Edit => "Edit",
        Change::Delete => "Delete",
    }
}

fn detection_activity(change: DetectionChange) -> &'static str {
    match change {
        DetectionChange::Create => "Create",
        DetectionChange::Edit | DetectionChange::ChangeStatus => "Edit",
        DetectionChange::Delete => "Delete",
    }
}

/// The objects after the actor in `ActivityObjects`: the device and file of response actions.
fn write_touched_objects(list: &mut ArrayWriter, tenant: &Tenant, action: &DefenderAction) {
    let (device, file) = match action {
        DefenderAction::Device { device, .. } => (Some(*device), None),
        DefenderAction::LiveResponseGetFile { device, file_name, file } => {
            (Some(*device), Some((file_name.as_str(), file)))
        }
        DefenderAction::DownloadFile { device, file, .. }
        | DefenderAction::StopAndQuarantineFile { device, file, .. } => (Some(*device), Some((file.name, file))),
        _ => (None, None),
    };
    if let Some(device) = device {
        let device = &tenant.devices[device];
        write_object_entry(list, "Device", "Target", &device.name, &device.device_id);
    }
    if let Some((name, file)) = file {
        write_object_entry(list, "File", "Target", name, &file.sha256);
    }
}

/// The operation-specific `RawEventData` fields (reference §7.2).
fn write_details(raw: &mut ObjectWriter, tenant: &Tenant, time: Instant, action: &DefenderAction) {
    match action {
        DefenderAction::Device { action, device, comment, scope } => {
            write_device(raw, &tenant.devices[*device]);
            // Live Response sessions take no comment.
            if !matches!(action, DeviceAction::LiveResponseSession | DeviceAction::LiveResponseApi) {
                raw.string("ActionComment", comment);
            }
            if let Some(scope) = scope {
                raw.string("ActionScope", scope);
            }
        }
        DefenderAction::LiveResponseGetFile { device, file_name, file } => {
            write_device(raw, &tenant.devices[*device]);
            raw.string("FileName", file_name).string("FileSHA256", &file.sha256);
        }
        DefenderAction::DownloadFile { device, file, comment } => {
            raw.string("FileName", file.name).string("FileSHA256", &file.sha256).integer("FileSize", file.size);
            write_device(raw, &tenant.devices[*device]);
            raw.string("ActionComment", comment);
        }
        DefenderAction::StopAndQuarantineFile { device, file, comment } => {
            raw.string("FileName", file.name).string("FileSHA1", &file.sha1).string("FileSHA256", &file.sha256);
            write_device(raw, &tenant.devices[*device]);
            raw.string("ActionComment", comment);
        }
        _ => write_configuration_details(raw, time, action),
    }
}

/// The fields of the settings, rules, roles and portal records.
fn write_configuration_details(raw: &mut ObjectWriter, time: Instant, action: &DefenderAction) {
    match action {
        DefenderAction::ChangeDataRetention { previous_days, new_days } => {
            raw.string("SettingName", "Data retention")
                .integer("PreviousDataRetentionInDays", *previous_days)
                .integer("DataRetentionInDays", *new_days);
        }
        DefenderAction::DownloadPackage { offboarding, os_family, deployment_method } => {
            raw.string("DeploymentMethod", deployment_method).string("OsFamily", os_family);
            if *offboarding {
                // Offboarding packages expire seven days after they are made.
                raw.string("PackageExpiration", &time.plus(7 * DAY).zulu_text());
            }
        }
        DefenderAction::SetAdvancedFeatures { setting, enabled } => {
            raw.string("SettingName", setting).boolean("SettingsNewValue", *enabled);
        }
        DefenderAction::Indicator { indicator, .. } => write_indicator(raw, indicator),
        DefenderAction::Role { role, .. } => write_role(raw, role),
        DefenderAction::CustomDetection { rule, .. } => write_rule(raw, rule),
        DefenderAction::ExclusionConfigurationAdded { description, .. } => {
            raw.string("ResultDescription", description);
        }
        DefenderAction::SensorDeleted { sensor } => {
            raw.string("ResultDescription", sensor);
        }
        DefenderAction::SentinelDisconnectWorkspace { workspace } => write_workspace(raw, workspace),
        DefenderAction::MonitoringAlertUpdated { alert } => write_alert(raw, alert),
        DefenderAction::Device { .. }
        | DefenderAction::LiveResponseGetFile { .. }
        | DefenderAction::DownloadFile { .. }
        | DefenderAction::StopAndQuarantineFile { .. } => {}
    }
}

fn write_device(raw: &mut ObjectWriter, device: &Device) {
    raw.string("DeviceName", &device.name).string("DeviceId", &device.device_id);
}

fn write_indicator(raw: &mut ObjectWriter, indicator: &Indicator) {
    raw.integer("IndicatorId", indicator.indicator_id)
        .string("IndicatorType", indicator.indicator_type)
        .string("IndicatorValue", &indicator.value)
        .string("Action", indicator.action)
        .string("Title", &indicator.title)
        .string("Severity", indicator.severity)
        .boolean("GenerateAlert", indicator.generate_alert)
        .string("ExpirationTime", &indicator.expiration);
}

fn write_role(raw: &mut ObjectWriter, role: &RoleState) {
    raw.string("RoleName", &role.name)
        .strings("RolePermissions", &role.permissions)
        .strings("AssignedGroups", &role.assigned_groups);
}

fn write_rule(raw: &mut ObjectWriter, rule: &RuleState) {
    raw.string("RuleName", &rule.name)
        .string("RuleId", &rule.rule_id.to_string())
        .string("Query", &rule.query)
        .string("AlertTitle", &rule.alert_title)
        .string("AlertDescription", rule.alert_description)
        .string("AlertCategory", rule.alert_category)
        .string("AlertSeverity", rule.alert_severity)
        .strings("MitreTechniques", rule.mitre_techniques)
        .string("RuleFrequency", rule.frequency)
        .boolean("IsEnabled", rule.is_enabled);
}

fn write_workspace(raw: &mut ObjectWriter, workspace: &SentinelWorkspace) {
    raw.string("WorkspaceId", &workspace.workspace_id)
        .string("Status", workspace.status)
        .string("SubscriptionId", &workspace.subscription_id)
        .string("ResourceGroup", workspace.resource_group)
        .string("WorkspaceType", workspace.workspace_type);
}

fn write_alert(raw: &mut ObjectWriter, alert: &AlertUpdate) {
    raw.string("AlertId", &alert.alert_id)
        .string("AlertTitle", alert.title)
        .string("Status", alert.status)
        .string("Classification", alert.classification)
        .string("Determination", alert.determination)
        .string("AssignedTo", &alert.assigned_to);
}
