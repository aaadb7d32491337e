//! The compact description of one sample row, before it is written as JSON.
//!
//! Events are generated, sorted by time, then written; a million of them must fit comfortably in memory, so an
//! ordinary (noise) event is a time, a kind and an account index, and only the Defender audit events, which carry the
//! story (devices, comments, rules, files), are boxed with their details. No JSON is held here.

use super::clock::Instant;
use super::file_profile::SampleFile;
use super::noise::NoiseKind;
use super::tenant::Actor;

pub(crate) struct Event {
    pub(crate) time: Instant,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    /// Ordinary Microsoft 365 activity; its details are drawn when the row is written.
    Noise { kind: NoiseKind, actor: Actor },
    /// A Defender XDR / MDE audit event.
    Defender(Box<DefenderEvent>),
}

pub(crate) struct DefenderEvent {
    pub(crate) actor: Actor,
    pub(crate) action: DefenderAction,
}

/// The §7.2 operations, with what each one records.
pub(crate) enum DefenderAction {
    ChangeDataRetention { previous_days: i64, new_days: i64 },
    DownloadPackage { offboarding: bool, os_family: &'static str, deployment_method: &'static str },
    SetAdvancedFeatures { setting: &'static str, enabled: bool },
    Indicator { change: Change, indicator: Indicator },
    Device { action: DeviceAction, device: usize, comment: String, scope: Option<&'static str> },
    LiveResponseGetFile { device: usize, file_name: String, file: SampleFile },
    DownloadFile { device: usize, file: SampleFile, comment: String },
    StopAndQuarantineFile { device: usize, file: SampleFile, comment: String },
    Role { change: Change, role: RoleState },
    CustomDetection { change: DetectionChange, rule: RuleState },
    ExclusionConfigurationAdded { succeeded: bool, description: String },
    SensorDeleted { sensor: String },
    SentinelDisconnectWorkspace { workspace: SentinelWorkspace },
    MonitoringAlertUpdated { alert: AlertUpdate },
}

/// Response actions on one device that record only the device, a comment and perhaps a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceAction {
    Isolate,
    Release,
    AntivirusScan,
    CollectInvestigationPackage,
    RestrictAppExecution,
    RemoveAppRestrictions,
    LogsCollection,
    LiveResponseSession,
    LiveResponseApi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Add,
    Edit,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DetectionChange {
    Create,
    Edit,
    ChangeStatus,
    Delete,
}

#[derive(Clone, Debug)]
pub(crate) struct Indicator {
    pub(crate) indicator_id: i64,
    pub(crate) indicator_type: &'static str,
    pub(crate) value: String,
    pub(crate) action: &'static str,
    pub(crate) title: String,
    pub(crate) severity: &'static str,
    pub(crate) generate_alert: bool,
    pub(crate) expiration: String,
}

#[derive(Clone, Debug)]
pub(crate) struct RoleState {
    pub(crate) name: String,
    pub(crate) permissions: Vec<&'static str>,
    pub(crate) assigned_groups: Vec<&'static str>,
}

/// A custom detection rule as its audit record shows it after the change.
#[derive(Clone, Debug)]
pub(crate) struct RuleState {
    pub(crate) rule_id: i64,
    pub(crate) name: String,
    pub(crate) query: String,
    pub(crate) alert_title: String,
    pub(crate) alert_description: &'static str,
    pub(crate) alert_category: &'static str,
    pub(crate) alert_severity: &'static str,
    pub(crate) mitre_techniques: &'static [&'static str],
    pub(crate) frequency: &'static str,
    pub(crate) is_enabled: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct SentinelWorkspace {
    pub(crate) workspace_id: String,
    pub(crate) subscription_id: String,
    pub(crate) resource_group: &'static str,
    pub(crate) workspace_type: &'static str,
    pub(crate) status: &'static str,
}

#[derive(Clone, Debug)]
pub(crate) struct AlertUpdate {
    pub(crate) alert_id: String,
    pub(crate) title: &'static str,
    pub(crate) status: &'static str,
    pub(crate) classification: &'static str,
    pub(crate) determination: &'static str,
    pub(crate) assigned_to: String,
}

impl DeviceAction {
    pub(crate) fn operation(self) -> &'static str {
        match self {
            DeviceAction::Isolate => "IsolateDevice",
            DeviceAction::Release => "ReleaseFromIsolation",
            DeviceAction::AntivirusScan => "RunAntiVirusScan",
            DeviceAction::CollectInvestigationPackage => "CollectInvestigationPackage",
            DeviceAction::RestrictAppExecution => "RestrictAppExecution",
            DeviceAction::RemoveAppRestrictions => "RemoveAppRestrictions",
            DeviceAction::LogsCollection => "LogsCollection",
            DeviceAction::LiveResponseSession => "RunLiveResponseSession",
            DeviceAction::LiveResponseApi => "RunLiveResponseApi",
        }
    }
}

impl DefenderAction {
    /// The `ActionType` column and `RawEventData.Operation`.
    pub(crate) fn operation(&self) -> &'static str {
        match self {
            DefenderAction::ChangeDataRetention { .. } => "ChangeDataRetention",
            DefenderAction::DownloadPackage { offboarding: true, .. } => "DownloadOffboardingPkg",
            DefenderAction::DownloadPackage { offboarding: false, .. } => "DownloadOnboardingPkg",
            DefenderAction::SetAdvancedFeatures { .. } => "SetAdvancedFeatures",
            DefenderAction::Indicator { change: Change::Add, .. } => "AddIndicator",
            DefenderAction::Indicator { change: Change::Edit, .. } => "EditIndicator",
            DefenderAction::Indicator { change: Change::Delete, .. } => "DeleteIndicator",
            DefenderAction::Device { action, .. } => action.operation(),
            DefenderAction::LiveResponseGetFile { .. } => "LiveResponseGetFile",
            DefenderAction::DownloadFile { .. } => "DownloadFile",
            DefenderAction::StopAndQuarantineFile { .. } => "StopAndQuarantineFile",
            DefenderAction::Role { change: Change::Add, .. } => "AddRole",
            DefenderAction::Role { change: Change::Edit, .. } => "EditRole",
            DefenderAction::Role { change: Change::Delete, .. } => "DeleteRole",
            DefenderAction::CustomDetection { change, .. } => match change {
                DetectionChange::Create => "CreateCustomDetection",
                DetectionChange::Edit => "EditCustomDetection",
                DetectionChange::ChangeStatus => "ChangeCustomDetectionRuleStatus",
                DetectionChange::Delete => "DeleteCustomDetection",
            },
            DefenderAction::ExclusionConfigurationAdded { .. } => "ExclusionConfigurationAdded",
            DefenderAction::SensorDeleted { .. } => "SensorDeleted",
            DefenderAction::SentinelDisconnectWorkspace { .. } => "SentinelDisconnectWorkspace",
            DefenderAction::MonitoringAlertUpdated { .. } => "MonitoringAlertUpdated",
        }
    }
}
