//! Properties of the generated files, checked the way a user's tools see them: parsed back with `serde_json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::hostile::{HOSTILE_TEXTS, LONG_COMMENT_LENGTH};
use super::{CLOUD_APP_EVENTS_FILE, FILE_PROFILE_FILE, SampleOptions, SampleSummary, generate};

const CLOUD_APP_EVENTS_COLUMNS: [&str; 36] = [
    "Timestamp",
    "ActionType",
    "Application",
    "ApplicationId",
    "AppInstanceId",
    "AccountObjectId",
    "AccountId",
    "AccountDisplayName",
    "IsAdminOperation",
    "DeviceType",
    "OSPlatform",
    "IPAddress",
    "IsAnonymousProxy",
    "CountryCode",
    "City",
    "ISP",
    "UserAgent",
    "ActivityType",
    "ActivityObjects",
    "ObjectName",
    "ObjectType",
    "ObjectId",
    "ReportId",
    "AccountType",
    "IsExternalUser",
    "IsImpersonated",
    "IPTags",
    "IPCategory",
    "UserAgentTags",
    "RawEventData",
    "AdditionalFields",
    "LastSeenForUser",
    "UncommonForUser",
    "AuditSource",
    "SessionData",
    "OAuthAppId",
];

const FILE_PROFILE_COLUMNS: [&str; 18] = [
    "SHA1",
    "SHA256",
    "MD5",
    "FileSize",
    "GlobalPrevalence",
    "GlobalFirstSeen",
    "GlobalLastSeen",
    "Signer",
    "Issuer",
    "SignerHash",
    "IsCertificateValid",
    "IsRootSignerMicrosoft",
    "SignatureState",
    "IsExecutable",
    "ThreatName",
    "Publisher",
    "SoftwareName",
    "ProfileAvailability",
];

/// Every §7.2 operation and the `RawEventData` fields it must carry.
const OPERATIONS: [(&str, &[&str]); 35] = [
    ("ChangeDataRetention", &[]),
    ("DownloadOnboardingPkg", &["DeploymentMethod", "OsFamily"]),
    ("DownloadOffboardingPkg", &["DeploymentMethod", "OsFamily", "PackageExpiration"]),
    ("SetAdvancedFeatures", &["SettingName", "SettingsNewValue"]),
    ("AddIndicator", &[]),
    ("EditIndicator", &[]),
    ("DeleteIndicator", &[]),
    ("IsolateDevice", &["DeviceName", "DeviceId", "ActionComment", "ActionScope"]),
    ("ReleaseFromIsolation", &["DeviceName", "DeviceId", "ActionComment"]),
    ("RunAntiVirusScan", &["DeviceName", "ActionComment", "ActionScope"]),
    ("CollectInvestigationPackage", &["DeviceName", "ActionComment"]),
    ("RestrictAppExecution", &["DeviceName", "ActionComment"]),
    ("RemoveAppRestrictions", &["DeviceName", "ActionComment"]),
    ("StopAndQuarantineFile", &["DeviceName", "FileName", "FileSHA1", "FileSHA256"]),
    ("LogsCollection", &["DeviceName", "ActionComment"]),
    ("RunLiveResponseSession", &["DeviceName", "DeviceId"]),
    ("RunLiveResponseApi", &["DeviceName", "DeviceId"]),
    ("LiveResponseGetFile", &["FileName", "FileSHA256", "DeviceName"]),
    ("DownloadFile", &["FileName", "FileSHA256", "FileSize", "DeviceName", "ActionComment"]),
    ("AddRole", &["RoleName", "RolePermissions", "AssignedGroups"]),
    ("EditRole", &["RoleName", "RolePermissions", "AssignedGroups"]),
    ("DeleteRole", &["RoleName", "RolePermissions", "AssignedGroups"]),
    ("CreateCustomDetection", &DETECTION_FIELDS),
    ("EditCustomDetection", &DETECTION_FIELDS),
    ("ChangeCustomDetectionRuleStatus", &DETECTION_FIELDS),
    ("DeleteCustomDetection", &DETECTION_FIELDS),
    ("ExclusionConfigurationAdded", &["ResultStatus", "ResultDescription"]),
    ("SensorDeleted", &["ResultDescription"]),
    ("SentinelDisconnectWorkspace", &["WorkspaceId", "Status", "SubscriptionId", "ResourceGroup", "WorkspaceType"]),
    ("MonitoringAlertUpdated", &[]),
    // Noise the playbooks and the KQL examples rely on.
    ("MailItemsAccessed", &["MailboxOwnerUPN", "Folders"]),
    ("New-InboxRule", &["Parameters"]),
    ("FileDownloaded", &["SiteUrl", "SourceFileName"]),
    ("MessageSent", &["ChatThreadId", "CommunicationType"]),
    ("UserLoggedIn", &["ApplicationId", "ErrorNumber"]),
];
const DETECTION_FIELDS: [&str; 10] = [
    "RuleName",
    "RuleId",
    "Query",
    "AlertTitle",
    "AlertDescription",
    "AlertCategory",
    "AlertSeverity",
    "MitreTechniques",
    "RuleFrequency",
    "IsEnabled",
];
const COMMON_AUDIT_FIELDS: [&str; 13] = [
    "CreationTime",
    "Id",
    "Operation",
    "OrganizationId",
    "RecordType",
    "ResultStatus",
    "UserKey",
    "UserType",
    "Version",
    "Workload",
    "ClientIP",
    "ObjectId",
    "UserId",
];

/// A generated sample, parsed.
struct Sample {
    summary: SampleSummary,
    events: Vec<Value>,
    profiles: Vec<Value>,
    options: SampleOptions,
}

/// The default sample (2,500 rows, seed 42), generated once and shared by the tests that only read it.
fn default_sample() -> &'static Sample {
    static DEFAULT: OnceLock<Sample> = OnceLock::new();
    DEFAULT.get_or_init(|| sample(2_500, 42))
}

fn sample(rows: usize, seed: u64) -> Sample {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let options = SampleOptions { rows, seed, ..SampleOptions::default() };
    let summary = generate(&options, directory.path()).expect("generation succeeds");
    Sample {
        summary,
        events: parse_lines(&directory.path().join(CLOUD_APP_EVENTS_FILE)),
        profiles: parse_lines(&directory.path().join(FILE_PROFILE_FILE)),
        options,
    }
}

fn parse_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("the file was written");
    text.lines().map(|line| serde_json::from_str(line).expect("every line is one JSON object")).collect()
}

fn text<'a>(row: &'a Value, column: &str) -> &'a str {
    row[column].as_str().unwrap_or_else(|| panic!("{column} is a string in {row}"))
}

fn raw<'a>(row: &'a Value, field: &str) -> &'a Value {
    &row["RawEventData"][field]
}

fn raw_text<'a>(row: &'a Value, field: &str) -> &'a str {
    raw(row, field).as_str().unwrap_or_else(|| panic!("RawEventData.{field} is a string in {row}"))
}

fn with_action<'a>(events: &'a [Value], action: &'a str) -> impl Iterator<Item = &'a Value> {
    events.iter().filter(move |row| text(row, "ActionType") == action)
}

fn timestamp(row: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text(row, "Timestamp")).expect("Timestamp is RFC 3339").with_timezone(&Utc)
}

fn is_person(row: &Value) -> bool {
    matches!(text(row, "AccountType"), "Regular" | "Admin")
}

fn is_automation(row: &Value) -> bool {
    matches!(text(row, "AccountType"), "System" | "Application")
}

/// Every device's isolation and release events, in file (= time) order.
fn isolation_history(events: &[Value]) -> BTreeMap<&str, Vec<&Value>> {
    let mut history: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for row in events {
        if matches!(text(row, "ActionType"), "IsolateDevice" | "ReleaseFromIsolation") {
            history.entry(raw_text(row, "DeviceName")).or_default().push(row);
        }
    }
    history
}

fn collect_strings<'a>(value: &'a Value, strings: &mut Vec<&'a str>) {
    match value {
        Value::String(text) => strings.push(text),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, strings)),
        Value::Object(members) => members.values().for_each(|member| collect_strings(member, strings)),
        _ => {}
    }
}

#[test]
fn the_same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let read = |seed: u64| {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let options = SampleOptions { seed, ..SampleOptions::default() };
        generate(&options, directory.path()).expect("generation succeeds");
        let events = std::fs::read(directory.path().join(CLOUD_APP_EVENTS_FILE)).expect("written");
        let profiles = std::fs::read(directory.path().join(FILE_PROFILE_FILE)).expect("written");
        (events, profiles)
    };
    let first = read(42);
    assert!(first == read(42), "same seed, same bytes");
    let other = read(43);
    assert!(first.0 != other.0 && first.1 != other.1, "another seed, other data");
}

#[test]
fn generation_creates_the_directory_and_leaves_no_temporary_files() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let target = directory.path().join("nested").join("sample");
    let summary = generate(&SampleOptions { rows: 300, ..SampleOptions::default() }, &target).expect("generated");
    let mut names: Vec<String> = std::fs::read_dir(&target)
        .expect("the directory exists")
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [CLOUD_APP_EVENTS_FILE, FILE_PROFILE_FILE]);
    let on_disk: u64 = names.iter().map(|name| std::fs::metadata(target.join(name)).map_or(0, |meta| meta.len())).sum();
    assert_eq!(summary.bytes, on_disk);
}

#[test]
fn every_row_has_the_schema_columns_in_order_and_the_requested_count() {
    let sample = default_sample();
    assert_eq!(sample.events.len(), 2_500);
    assert_eq!(sample.summary.cloud_app_events, 2_500);
    assert_eq!(sample.summary.file_profiles, sample.profiles.len());
    for row in &sample.events {
        let columns: Vec<&str> = row.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(columns, CLOUD_APP_EVENTS_COLUMNS, "{row}");
        assert!(row["ApplicationId"].is_i64() && row["AppInstanceId"].is_i64());
        for column in ["IsAdminOperation", "IsAnonymousProxy", "IsExternalUser", "IsImpersonated"] {
            assert!(row[column].is_boolean(), "{column} in {row}");
        }
        for column in ["RawEventData", "AdditionalFields", "LastSeenForUser", "SessionData"] {
            assert!(row[column].is_object(), "{column} in {row}");
        }
        for column in ["ActivityObjects", "IPTags", "UserAgentTags", "UncommonForUser"] {
            assert!(row[column].is_array(), "{column} in {row}");
        }
    }
    let uncommon =
        sample.events.iter().filter(|row| row["UncommonForUser"].as_array().is_some_and(|list| !list.is_empty()));
    assert!(uncommon.count() > 0, "some rows are uncommon for their user");
}

#[test]
fn timestamps_ascend_inside_the_window_with_seven_fraction_digits() {
    let sample = default_sample();
    let end = sample.options.end;
    let start = end - Duration::days(i64::from(sample.options.days));
    let mut previous = start;
    for row in &sample.events {
        let stamp = text(row, "Timestamp");
        assert_eq!(stamp.len(), 28, "{stamp}");
        assert!(stamp.ends_with('Z') && stamp.as_bytes()[19] == b'.', "{stamp}");
        let time = timestamp(row);
        assert!(start <= time && time < end, "{stamp} outside the window");
        assert!(previous <= time, "{stamp} before the row above it");
        previous = time;
        assert_eq!(raw_text(row, "CreationTime"), &stamp[..19], "CreationTime is the same instant, O365 style");
    }
}

#[test]
fn raw_event_data_follows_the_common_schema_and_matches_the_row() {
    let sample = default_sample();
    let organizations: BTreeSet<&str> = sample.events.iter().map(|row| raw_text(row, "OrganizationId")).collect();
    assert_eq!(organizations.len(), 1, "one tenant");
    for row in &sample.events {
        for field in COMMON_AUDIT_FIELDS {
            assert!(!raw(row, field).is_null(), "RawEventData.{field} missing in {row}");
        }
        assert_eq!(raw_text(row, "Operation"), text(row, "ActionType"));
        assert!(raw(row, "RecordType").is_i64() && raw(row, "UserType").is_i64());
        assert_eq!(row["ActivityObjects"][0]["Role"], "Actor");
        assert_eq!(row["ActivityObjects"][0]["Name"], row["AccountDisplayName"]);
    }
}

#[test]
fn report_ids_and_record_ids_are_unique() {
    let sample = default_sample();
    let report_ids: BTreeSet<&str> = sample.events.iter().map(|row| text(row, "ReportId")).collect();
    let record_ids: BTreeSet<&str> = sample.events.iter().map(|row| raw_text(row, "Id")).collect();
    assert_eq!(report_ids.len(), sample.events.len());
    assert_eq!(record_ids.len(), sample.events.len());
}

#[test]
fn accounts_are_consistent_across_rows() {
    let sample = default_sample();
    let mut accounts: BTreeMap<&str, BTreeSet<(&str, &str, &str)>> = BTreeMap::new();
    for row in &sample.events {
        let identity = (text(row, "AccountDisplayName"), raw_text(row, "UserId"), text(row, "AccountType"));
        accounts.entry(text(row, "AccountId")).or_default().insert(identity);
    }
    for (account, identities) in &accounts {
        let names: BTreeSet<(&str, &str)> = identities.iter().map(|(name, user, _)| (*name, *user)).collect();
        assert_eq!(names.len(), 1, "{account} has one name and one UserId: {identities:?}");
    }
    let people = accounts.values().flatten().filter(|(_, user, _)| user.ends_with("@contoso.example")).count();
    assert!((40..=80).contains(&people), "{people} people");
    let soar = sample.events.iter().find(|row| text(row, "AccountType") == "Application").expect("the SOAR app acts");
    assert_eq!(raw(soar, "UserType"), 5);
    assert_eq!(raw_text(soar, "UserId").len(), 36, "an app's UserId is its client id GUID");
    let system = sample.events.iter().find(|row| text(row, "AccountType") == "System").expect("automation acts");
    assert_eq!(raw(system, "UserType"), 4);
}

#[test]
fn every_defender_operation_is_present_with_its_fields() {
    let sample = default_sample();
    for (operation, fields) in OPERATIONS {
        let rows: Vec<&Value> = with_action(&sample.events, operation).collect();
        assert!(!rows.is_empty(), "no {operation} row");
        for row in rows {
            for field in fields {
                assert!(!raw(row, field).is_null(), "{operation} without RawEventData.{field}: {row}");
            }
        }
    }
    for row in &sample.events {
        let expected = match text(row, "ActionType") {
            "CreateCustomDetection"
            | "EditCustomDetection"
            | "ChangeCustomDetectionRuleStatus"
            | "DeleteCustomDetection"
            | "ExclusionConfigurationAdded" => "Microsoft365Defender",
            "IsolateDevice"
            | "ReleaseFromIsolation"
            | "SetAdvancedFeatures"
            | "AddRole"
            | "AddIndicator"
            | "DownloadOffboardingPkg"
            | "LiveResponseGetFile" => "MicrosoftDefenderForEndpoint",
            _ => continue,
        };
        assert_eq!(raw_text(row, "Workload"), expected, "{row}");
    }
    let retention = with_action(&sample.events, "CreateCustomDetection").next().expect("a rule was created");
    assert_eq!(raw(retention, "RecordType"), 113);
    assert!(with_action(&sample.events, "SetAdvancedFeatures").all(|row| raw(row, "SettingsNewValue").is_boolean()));
    assert!(with_action(&sample.events, "EditCustomDetection").all(|row| raw(row, "IsEnabled").is_boolean()));
    let scopes: BTreeSet<&str> =
        with_action(&sample.events, "RunAntiVirusScan").map(|row| raw_text(row, "ActionScope")).collect();
    assert_eq!(scopes, BTreeSet::from(["Full", "Quick"]));
}

#[test]
fn about_fifteen_percent_of_rows_are_defender_audit_events() {
    let sample = default_sample();
    let defender = sample
        .events
        .iter()
        .filter(|row| matches!(raw_text(row, "Workload"), "MicrosoftDefenderForEndpoint" | "Microsoft365Defender"))
        .count();
    assert!((300..=450).contains(&defender), "{defender} Defender rows of 2500");
}

/// The isolation stories the release-review and manual-isolation playbooks need.
fn assert_isolation_stories(events: &[Value], window_start: DateTime<Utc>) -> (usize, usize) {
    let isolations: Vec<&Value> = with_action(events, "IsolateDevice").collect();
    assert!(isolations.iter().any(|row| is_person(row)), "isolations by people");
    assert!(isolations.iter().any(|row| text(row, "AccountType") == "System"), "by the automated investigation");
    assert!(isolations.iter().any(|row| text(row, "AccountType") == "Application"), "by the SOAR app");
    let scopes: BTreeSet<&str> = isolations.iter().map(|row| raw_text(row, "ActionScope")).collect();
    assert_eq!(scopes, BTreeSet::from(["Full", "Selective"]));
    let people_devices = isolations.iter().filter(|row| is_person(row)).count();
    let automation_devices = isolations.iter().filter(|row| is_automation(row)).count();
    assert!(people_devices > 0 && automation_devices > 0);

    let (mut escalations, mut explained_releases, mut orphan_releases, mut never_released) = (0, 0, 0, 0);
    for history in isolation_history(events).values() {
        let mut open_isolations: Vec<&Value> = Vec::new();
        for row in history {
            if text(row, "ActionType") == "IsolateDevice" {
                open_isolations.push(row);
                continue;
            }
            if let Some(isolation) = open_isolations.last() {
                assert!(timestamp(isolation) < timestamp(row), "a release after its isolation");
                explained_releases += 1;
                if open_isolations.len() >= 2 {
                    escalations += 1;
                }
            } else {
                assert!(timestamp(row) < window_start + Duration::days(4), "an unexplained release is early");
                orphan_releases += 1;
            }
            open_isolations.clear();
        }
        never_released += usize::from(!open_isolations.is_empty());
    }
    assert!(escalations >= 1, "a device isolated twice before its release");
    assert!(orphan_releases >= 1, "a release whose isolation predates the window");
    assert!(never_released >= 1, "an isolation that is never released");
    assert!(explained_releases * 2 > isolations.len(), "most isolations are released");
    (isolations.len(), escalations)
}

#[test]
fn isolations_are_released_escalated_or_left_as_real_tenants_do() {
    let sample = default_sample();
    let window_start = sample.options.end - Duration::days(i64::from(sample.options.days));
    assert_isolation_stories(&sample.events, window_start);
    let escalated = isolation_history(&sample.events)
        .into_values()
        .find(|history| history.len() >= 3 && text(history[1], "ActionType") == "IsolateDevice");
    let escalated = escalated.expect("an escalated device");
    assert_eq!(raw_text(escalated[0], "ActionScope"), "Selective");
    assert_eq!(raw_text(escalated[1], "ActionScope"), "Full");
}

#[test]
fn device_names_belong_to_the_tenant() {
    let sample = default_sample();
    for row in sample.events.iter().filter(|row| !raw(row, "DeviceName").is_null()) {
        let name = raw_text(row, "DeviceName");
        let short = name.strip_suffix(".contoso.example").unwrap_or_else(|| panic!("{name} is fully qualified"));
        assert!(["desktop-", "laptop-", "srv-"].iter().any(|prefix| short.starts_with(prefix)), "{name}");
        assert_eq!(raw_text(row, "DeviceId").len(), 40);
        let device =
            row["ActivityObjects"].as_array().and_then(|list| list.iter().find(|object| object["Type"] == "Device"));
        assert_eq!(device.map(|object| &object["Name"]), Some(raw(row, "DeviceName")));
    }
}

#[test]
fn packages_and_features_are_downloaded_and_switched_by_people() {
    let sample = default_sample();
    let offboarding: Vec<&Value> = with_action(&sample.events, "DownloadOffboardingPkg").collect();
    assert!(offboarding.len() >= 3 && offboarding.iter().all(|row| is_person(row)));
    let families: BTreeSet<&str> = offboarding.iter().map(|row| raw_text(row, "OsFamily")).collect();
    assert!(families.len() >= 3, "{families:?}");
    for setting in ["Tamper protection", "Custom network indicators", "Allow or block file", "EDR in block mode"] {
        let changes: Vec<&Value> = with_action(&sample.events, "SetAdvancedFeatures")
            .filter(|row| raw_text(row, "SettingName") == setting)
            .collect();
        let off = changes.iter().position(|row| raw(row, "SettingsNewValue") == false);
        let back_on = off.and_then(|off| changes[off..].iter().position(|row| raw(row, "SettingsNewValue") == true));
        assert!(back_on.is_some(), "{setting} switched off and later on");
    }
}

#[test]
fn rules_and_roles_are_created_before_they_change_and_some_are_deleted() {
    let sample = default_sample();
    let mut rules: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for row in sample.events.iter().filter(|row| {
        text(row, "ActionType").ends_with("CustomDetection")
            || text(row, "ActionType") == "ChangeCustomDetectionRuleStatus"
    }) {
        rules.entry(raw_text(row, "RuleId")).or_default().push(row);
    }
    let created_then_deleted = rules.values().any(|history| {
        text(history[0], "ActionType") == "CreateCustomDetection"
            && history.last().is_some_and(|row| text(row, "ActionType") == "DeleteCustomDetection")
    });
    assert!(created_then_deleted, "a rule created and later deleted");
    for history in rules.values().filter(|history| text(history[0], "ActionType") == "CreateCustomDetection") {
        assert!(history[1..].iter().all(|row| text(row, "ActionType") != "CreateCustomDetection"));
    }
    let disabled =
        with_action(&sample.events, "ChangeCustomDetectionRuleStatus").any(|row| raw(row, "IsEnabled") == false);
    assert!(disabled, "a rule switched off");
    let added: BTreeMap<&str, DateTime<Utc>> =
        with_action(&sample.events, "AddRole").map(|row| (raw_text(row, "RoleName"), timestamp(row))).collect();
    let deleted_after_added = with_action(&sample.events, "DeleteRole")
        .any(|row| added.get(raw_text(row, "RoleName")).is_some_and(|added_at| *added_at < timestamp(row)));
    assert!(deleted_after_added, "a role deleted after it was added");
}

/// The Live Response hashes: most profiled, one or more not, one empty.
fn assert_collected_hashes(events: &[Value], profiles: &[Value]) {
    let profiled: BTreeSet<&str> = profiles.iter().map(|row| text(row, "SHA256")).collect();
    let hashes: Vec<&str> = with_action(events, "LiveResponseGetFile").map(|row| raw_text(row, "FileSHA256")).collect();
    let empty = hashes.iter().filter(|hash| hash.is_empty()).count();
    let present = hashes.iter().filter(|hash| profiled.contains(*hash)).count();
    let absent = hashes.len() - empty - present;
    assert!(empty >= 1, "an empty hash");
    assert!(absent >= 1, "a hash absent from FileProfile");
    assert!(present * 10 >= hashes.len() * 8, "{present} of {} hashes profiled", hashes.len());
    assert!(
        hashes
            .iter()
            .all(|hash| hash.is_empty() || (hash.len() == 64 && hash.bytes().all(|byte| byte.is_ascii_hexdigit())))
    );
}

#[test]
fn collected_files_are_mostly_profiled() {
    let sample = default_sample();
    assert_collected_hashes(&sample.events, &sample.profiles);
    let sessions = with_action(&sample.events, "RunLiveResponseSession").count();
    assert!(sessions >= 3, "{sessions} sessions");
}

#[test]
fn hostile_values_appear_in_the_fields_people_type() {
    let sample = default_sample();
    let mut strings = Vec::new();
    for row in &sample.events {
        collect_strings(&row["RawEventData"], &mut strings);
    }
    for hostile in HOSTILE_TEXTS {
        assert!(strings.iter().any(|value| value.contains(hostile)), "{hostile:?} is missing");
    }
    assert!(strings.iter().any(|value| value.chars().count() >= LONG_COMMENT_LENGTH), "a 2,000-character comment");
    let hostile_rows = sample
        .events
        .iter()
        .filter(|row| {
            let mut values = Vec::new();
            collect_strings(&row["RawEventData"], &mut values);
            values.iter().any(|value| {
                HOSTILE_TEXTS.iter().any(|hostile| value.contains(hostile))
                    || value.chars().count() >= LONG_COMMENT_LENGTH
            })
        })
        .count();
    assert!((10..=30).contains(&hostile_rows), "{hostile_rows} hostile rows: a dozen or so");
    let isolation_comment = with_action(&sample.events, "IsolateDevice")
        .filter(|row| is_person(row))
        .any(|row| raw_text(row, "ActionComment").contains(HOSTILE_TEXTS[0]));
    assert!(isolation_comment, "a person's isolation comment carries a script tag");
}

#[test]
fn file_profiles_are_well_formed() {
    let sample = default_sample();
    assert!(sample.profiles.len() >= 18);
    let mut hashes = BTreeSet::new();
    for row in &sample.profiles {
        let columns: Vec<&str> = row.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(columns, FILE_PROFILE_COLUMNS);
        for (column, length) in [("SHA1", 40), ("SHA256", 64), ("MD5", 32)] {
            let hash = text(row, column);
            assert_eq!(hash.len(), length);
            assert!(hash.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)), "{hash}");
        }
        assert!(hashes.insert(text(row, "SHA256")), "one row per hash");
        assert!(["SignedValid", "SignedInvalid", "Unsigned", "Unknown"].contains(&text(row, "SignatureState")));
        assert_eq!(text(row, "ProfileAvailability"), "Available");
        assert!(DateTime::parse_from_rfc3339(text(row, "GlobalFirstSeen")).is_ok());
    }
    assert!(sample.profiles.iter().any(|row| text(row, "ThreatName") == "HackTool:Win32/Mimikatz"));
    assert!(sample.profiles.iter().any(|row| row["IsRootSignerMicrosoft"] == true));
    assert!(sample.profiles.iter().any(|row| text(row, "SignatureState") == "Unsigned"));
}

/// A larger sample, parsed only where the stories are (the Defender rows): parsing every row would dominate the
/// test's time. Returns the row count, the number of distinct ReportIds, the Defender rows and the profiles.
fn defender_rows(rows: usize, seed: u64) -> (usize, usize, Vec<Value>, Vec<Value>) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let options = SampleOptions { rows, seed, ..SampleOptions::default() };
    generate(&options, directory.path()).expect("generation succeeds");
    let text = std::fs::read_to_string(directory.path().join(CLOUD_APP_EVENTS_FILE)).expect("written");
    let report_ids: BTreeSet<&str> =
        text.lines().filter_map(|line| line.split("\"ReportId\":\"").nth(1).and_then(|rest| rest.get(..36))).collect();
    let defender = text
        .lines()
        .filter(|line| {
            line.contains("\"Workload\":\"MicrosoftDefenderForEndpoint\"")
                || line.contains("\"Workload\":\"Microsoft365Defender\"")
        })
        .map(|line| serde_json::from_str(line).expect("every line is one JSON object"))
        .collect();
    let profiles = parse_lines(&directory.path().join(FILE_PROFILE_FILE));
    (text.lines().count(), report_ids.len(), defender, profiles)
}

#[test]
fn the_stories_grow_with_the_rows() {
    let small = default_sample();
    let (rows, unique_report_ids, large, large_profiles) = defender_rows(20_000, 42);
    assert_eq!((rows, unique_report_ids), (20_000, 20_000));
    let window_start = small.options.end - Duration::days(i64::from(small.options.days));
    let (small_isolations, small_escalations) = assert_isolation_stories(&small.events, window_start);
    let (large_isolations, large_escalations) = assert_isolation_stories(&large, window_start);
    assert!(large_isolations >= small_isolations * 5, "{small_isolations} → {large_isolations}");
    assert!(large_escalations > small_escalations, "{small_escalations} → {large_escalations}");
    assert_collected_hashes(&large, &large_profiles);
    for operation in ["LiveResponseGetFile", "DeleteCustomDetection", "RunAntiVirusScan", "DownloadOffboardingPkg"] {
        let before = with_action(&small.events, operation).count();
        let after = with_action(&large, operation).count();
        assert!(after > before, "{operation}: {before} → {after}");
    }
    assert!((2_600..=3_400).contains(&large.len()), "{} Defender rows of 20000", large.len());
}

#[test]
fn tiny_and_empty_samples_have_exactly_the_requested_rows() {
    for rows in [0, 1, 10, 120] {
        let sample = sample(rows, 7);
        assert_eq!(sample.events.len(), rows);
        assert!(sample.events.windows(2).all(|pair| timestamp(&pair[0]) <= timestamp(&pair[1])));
    }
}

#[test]
fn a_zero_day_window_is_refused() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let options = SampleOptions { days: 0, ..SampleOptions::default() };
    let error = generate(&options, directory.path()).expect_err("no window, no data");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn the_default_options_end_at_noon_on_the_twentieth_of_november_2026() {
    let options = SampleOptions::default();
    assert_eq!(options.end.to_rfc3339(), "2026-11-20T12:00:00+00:00");
    assert_eq!((options.rows, options.seed, options.days), (2_500, 42, 30));
}

#[test]
fn the_stories_do_not_depend_on_a_lucky_seed() {
    for seed in [1, 7, 2026] {
        let sample = sample(2_500, seed);
        let window_start = sample.options.end - Duration::days(i64::from(sample.options.days));
        assert_isolation_stories(&sample.events, window_start);
        assert_collected_hashes(&sample.events, &sample.profiles);
        let mut strings = Vec::new();
        for row in &sample.events {
            collect_strings(&row["RawEventData"], &mut strings);
        }
        for hostile in HOSTILE_TEXTS {
            assert!(strings.iter().any(|value| value.contains(hostile)), "seed {seed}: {hostile:?} missing");
        }
        for (operation, _) in OPERATIONS {
            assert!(with_action(&sample.events, operation).next().is_some(), "seed {seed}: no {operation}");
        }
    }
}
