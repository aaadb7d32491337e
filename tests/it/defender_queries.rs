//! The queries detection engineers write against Defender audit events, run unchanged on the sample data
//! by the real binary. Every expected answer is computed here from the raw JSON lines with serde_json
//! alone, so a wrong engine cannot agree with itself.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{query_rows, raw, raw_events};
use serde_json::Value;

fn action(event: &Value) -> &str {
    event["ActionType"].as_str().unwrap_or_default()
}

fn text(row: &serde_json::Map<String, Value>, column: &str) -> String {
    match &row[column] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[test]
fn offboarding_downloads_with_three_raw_members() {
    let rows = query_rows(
        r#"CloudAppEvents
        | where ActionType == "DownloadOffboardingPkg"
        | extend data = parse_json(RawEventData)
        | project Timestamp, UserId = tostring(data.UserId), ClientIP = tostring(RawEventData.ClientIP), OsFamily = tostring(parse_json(RawEventData).OsFamily)
        | order by Timestamp asc"#,
    );
    let expected: Vec<(String, String, String)> = raw_events()
        .iter()
        .filter(|e| action(e) == "DownloadOffboardingPkg")
        .map(|e| (raw(e, "UserId"), raw(e, "ClientIP"), raw(e, "OsFamily")))
        .collect();
    let actual: Vec<(String, String, String)> =
        rows.iter().map(|r| (text(r, "UserId"), text(r, "ClientIP"), text(r, "OsFamily"))).collect();
    assert!(!expected.is_empty());
    assert_eq!(actual, expected);
}

#[test]
fn isolations_by_people_with_iff_and_renames() {
    let rows = query_rows(
        r#"CloudAppEvents
        | where ActionType == "IsolateDevice"
        | extend Actor = iff(AccountType in ("Regular", "Admin"), "person", "automation"), Scope = tostring(RawEventData.ActionScope)
        | project-rename Who = AccountDisplayName
        | project-reorder Actor, Scope, Who
        | summarize count() by Actor, Scope
        | order by Actor asc, Scope asc"#,
    );
    let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
    for event in raw_events().iter().filter(|e| action(e) == "IsolateDevice") {
        let person = matches!(event["AccountType"].as_str(), Some("Regular" | "Admin"));
        let key = (if person { "person" } else { "automation" }.to_string(), raw(event, "ActionScope"));
        *expected.entry(key).or_default() += 1;
    }
    let actual: BTreeMap<(String, String), i64> =
        rows.iter().map(|r| ((text(r, "Actor"), text(r, "Scope")), r["count_"].as_i64().unwrap_or(-1))).collect();
    assert_eq!(actual, expected);
    assert!(
        expected.keys().any(|(actor, _)| actor == "person") && expected.keys().any(|(actor, _)| actor == "automation")
    );
}

#[test]
fn workload_contains_defender_summarized_by_action_type() {
    let rows = query_rows(
        r#"CloudAppEvents
        | extend Workload = tostring(parse_json(RawEventData).Workload)
        | where Workload contains "Defender"
        | summarize count() by ActionType"#,
    );
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for event in raw_events() {
        if raw(&event, "Workload").to_lowercase().contains("defender") {
            *expected.entry(action(&event).to_string()).or_default() += 1;
        }
    }
    let actual: BTreeMap<String, i64> =
        rows.iter().map(|r| (text(r, "ActionType"), r["count_"].as_i64().unwrap_or(-1))).collect();
    assert_eq!(actual, expected);
}

#[test]
fn distinct_of_an_extracted_member() {
    let rows = query_rows(
        r#"CloudAppEvents | extend SettingName = tostring(RawEventData.SettingName) | where isnotempty(SettingName) | distinct SettingName"#,
    );
    let expected: BTreeSet<String> =
        raw_events().iter().map(|e| raw(e, "SettingName")).filter(|s| !s.is_empty()).collect();
    let actual: BTreeSet<String> = rows.iter().map(|r| text(r, "SettingName")).collect();
    assert_eq!(actual, expected);
    assert!(actual.contains("Tamper protection"));
}

#[test]
fn tamper_protection_switched_off_using_a_dynamic_boolean() {
    let rows = query_rows(
        r#"CloudAppEvents
        | where ActionType == "SetAdvancedFeatures"
        | where RawEventData.SettingName == "Tamper protection" and RawEventData.SettingsNewValue == 0
        | count"#,
    );
    let expected = raw_events()
        .iter()
        .filter(|e| {
            action(e) == "SetAdvancedFeatures"
                && raw(e, "SettingName") == "Tamper protection"
                && e["RawEventData"]["SettingsNewValue"] == Value::Bool(false)
        })
        .count() as i64;
    assert!(expected > 0);
    assert_eq!(rows[0]["Count"].as_i64(), Some(expected));
}

#[test]
fn activity_objects_first_name() {
    let rows = query_rows(
        r#"CloudAppEvents | where ActionType == "IsolateDevice" | project Name = tostring(ActivityObjects[0].Name), ReportId"#,
    );
    let expected: BTreeMap<String, String> = raw_events()
        .iter()
        .filter(|e| action(e) == "IsolateDevice")
        .map(|e| {
            let name = match &e["ActivityObjects"][0]["Name"] {
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            (e["ReportId"].as_str().unwrap_or_default().to_string(), name)
        })
        .collect();
    let actual: BTreeMap<String, String> = rows.iter().map(|r| (text(r, "ReportId"), text(r, "Name"))).collect();
    assert_eq!(actual, expected);
}

/// The weekly review: every release joined (leftouter) with the isolations of its device.
#[test]
fn releases_looked_up_to_their_isolations() {
    let rows = query_rows(
        r#"let isolations = CloudAppEvents
            | where ActionType == "IsolateDevice"
            | extend Device = tostring(RawEventData.DeviceName)
            | summarize arg_max(Timestamp, *) by Device
            | project Device, IsolatedAt = Timestamp, IsolatedBy = tostring(RawEventData.UserId), Why = tostring(RawEventData.ActionComment);
        CloudAppEvents
        | where ActionType == "ReleaseFromIsolation"
        | extend Device = tostring(RawEventData.DeviceName)
        | project ReleasedAt = Timestamp, Device, ReportId
        | lookup kind=leftouter isolations on $left.Device == $right.Device
        | render table"#,
    );
    let events = raw_events();
    let mut latest: BTreeMap<String, (String, String)> = BTreeMap::new();
    for event in events.iter().filter(|e| action(e) == "IsolateDevice") {
        let at = event["Timestamp"].as_str().unwrap_or_default().to_string();
        let entry = latest.entry(raw(event, "DeviceName")).or_insert_with(|| (String::new(), String::new()));
        if at > entry.0 {
            *entry = (at, raw(event, "UserId"));
        }
    }
    let releases: Vec<&Value> = events.iter().filter(|e| action(e) == "ReleaseFromIsolation").collect();
    assert_eq!(rows.len(), releases.len(), "a lookup keeps every left row");
    for row in &rows {
        let device = text(row, "Device");
        match latest.get(&device) {
            Some((at, by)) => {
                assert_eq!(&text(row, "IsolatedAt"), at, "{device}");
                assert_eq!(&text(row, "IsolatedBy"), by, "{device}");
            }
            None => assert!(row["IsolatedAt"].is_null(), "{device} was never isolated in the data"),
        }
    }
    assert!(
        rows.iter().any(|r| r["IsolatedAt"].is_null()),
        "the sample has a release whose isolation is older than 30 days"
    );
}

#[test]
fn live_response_files_enriched_with_file_profile() {
    let rows = query_rows(
        r#"CloudAppEvents
        | where ActionType == "LiveResponseGetFile"
        | extend SHA256 = tostring(RawEventData.FileSHA256), FileName = tostring(RawEventData.FileName)
        | where isnotempty(SHA256)
        | invoke FileProfile(SHA256, 1000)
        | project FileName, SHA256, GlobalPrevalence, Signer, ProfileAvailability"#,
    );
    let profiles: BTreeSet<String> = std::fs::read_to_string(common::sample_data().join("FileProfile.jsonl"))
        .expect("file profiles")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["SHA256"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    assert!(!rows.is_empty());
    for row in &rows {
        let known = profiles.contains(&text(row, "SHA256").to_lowercase());
        assert_eq!(text(row, "ProfileAvailability"), if known { "Available" } else { "Missing" }, "{row:?}");
        assert_eq!(row["GlobalPrevalence"].is_null(), !known);
    }
    assert!(rows.iter().any(|r| text(r, "ProfileAvailability") == "Missing"));
    assert!(rows.iter().any(|r| text(r, "ProfileAvailability") == "Available"));
}

#[test]
fn deleted_custom_detections_by_day_with_a_chart() {
    let rows = query_rows(
        r#"CloudAppEvents
        | where ActionType == "DeleteCustomDetection"
        | summarize Deleted = count(), Rules = make_set(tostring(RawEventData.RuleName)) by Day = bin(Timestamp, 1d)
        | render columnchart"#,
    );
    let expected = raw_events().iter().filter(|e| action(e) == "DeleteCustomDetection").count() as i64;
    assert_eq!(rows.iter().map(|r| r["Deleted"].as_i64().unwrap_or(0)).sum::<i64>(), expected);
    assert!(rows.iter().all(|r| text(r, "Day").ends_with("T00:00:00.0000000Z")));
}

#[test]
fn role_changes_by_actor() {
    let rows = query_rows(
        r#"CloudAppEvents
        | where ActionType endswith "Role"
        | where tostring(RawEventData.Workload) == "MicrosoftDefenderForEndpoint"
        | project Timestamp, ActionType, Actor = tostring(RawEventData.UserId), Role = tostring(RawEventData.RoleName)"#,
    );
    let expected = raw_events()
        .iter()
        .filter(|e| action(e).to_lowercase().ends_with("role") && raw(e, "Workload") == "MicrosoftDefenderForEndpoint")
        .count();
    assert!(expected > 0);
    assert_eq!(rows.len(), expected);
}

#[test]
fn has_any_over_comments_and_hostile_values_survive() {
    let rows = query_rows(
        r#"CloudAppEvents | where ActionType == "IsolateDevice" | where tostring(RawEventData.ActionComment) has_any ("script", "img") | project Comment = tostring(RawEventData.ActionComment)"#,
    );
    assert!(rows.iter().any(|r| text(r, "Comment").contains("<script>")), "{rows:?}");
}
