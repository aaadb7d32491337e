//! Built-in schemas of every Defender advanced-hunting table (66, and `FileProfile`), one JSON file per table
//! under `tables/`, taken from Microsoft's schema reference (each file names its page). A data file of one of
//! these tables gets these column types, and a table without a data file reads as an empty table; the other
//! columns of a data file, and tables not listed here, are inferred from the data.
//!
//! Where the reference and the service Microsoft's own queries run against disagree, the service wins:
//! `CloudAppEvents.ISP` and `IdentityLogonEvents.ISP` (the reference spells them `Isp`; Microsoft's own
//! queries and the Azure Monitor table reference use `ISP`), and `AdditionalFields` is `dynamic` in every table
//! (some pages say `string`; queries use it both as JSON text and as a bag, and `dynamic` takes both).

use std::sync::OnceLock;

use serde::Deserialize;

use super::plan::Column;
use super::types::Type;

#[derive(Debug, Deserialize)]
pub struct TableSchema {
    pub table: String,
    /// Other names advanced hunting answers to for this table (`GraphAPIAuditEvents`).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub source: String,
    pub time_column: Option<String>,
    pub columns: Vec<SchemaColumn>,
}

#[derive(Debug, Deserialize)]
pub struct SchemaColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub description: String,
}

impl TableSchema {
    pub fn columns(&self) -> Vec<Column> {
        self.columns
            .iter()
            .map(|c| Column::new(c.name.clone(), Type::from_name(&c.type_name).unwrap_or(Type::String)))
            .collect()
    }
}

const FILES: [&str; 67] = [
    include_str!("tables/AADSignInEventsBeta.json"),
    include_str!("tables/AADSpnSignInEventsBeta.json"),
    include_str!("tables/AIAgentsInfo.json"),
    include_str!("tables/AgentsInfo.json"),
    include_str!("tables/AlertEvidence.json"),
    include_str!("tables/AlertInfo.json"),
    include_str!("tables/BehaviorEntities.json"),
    include_str!("tables/BehaviorInfo.json"),
    include_str!("tables/CallActivityEvents.json"),
    include_str!("tables/CampaignInfo.json"),
    include_str!("tables/CloudAppEvents.json"),
    include_str!("tables/CloudAuditEvents.json"),
    include_str!("tables/CloudDnsEvents.json"),
    include_str!("tables/CloudPolicyEnforcementEvents.json"),
    include_str!("tables/CloudProcessEvents.json"),
    include_str!("tables/CloudStorageAggregatedEvents.json"),
    include_str!("tables/DataSecurityBehaviors.json"),
    include_str!("tables/DataSecurityEvents.json"),
    include_str!("tables/DeviceBaselineComplianceAssessment.json"),
    include_str!("tables/DeviceBaselineComplianceAssessmentKB.json"),
    include_str!("tables/DeviceBaselineComplianceProfiles.json"),
    include_str!("tables/DeviceEvents.json"),
    include_str!("tables/DeviceFileCertificateInfo.json"),
    include_str!("tables/DeviceFileEvents.json"),
    include_str!("tables/DeviceImageLoadEvents.json"),
    include_str!("tables/DeviceInfo.json"),
    include_str!("tables/DeviceLogonEvents.json"),
    include_str!("tables/DeviceNetworkEvents.json"),
    include_str!("tables/DeviceNetworkInfo.json"),
    include_str!("tables/DeviceProcessEvents.json"),
    include_str!("tables/DeviceRegistryEvents.json"),
    include_str!("tables/DeviceTvmBrowserExtensions.json"),
    include_str!("tables/DeviceTvmBrowserExtensionsKB.json"),
    include_str!("tables/DeviceTvmCertificateInfo.json"),
    include_str!("tables/DeviceTvmHardwareFirmware.json"),
    include_str!("tables/DeviceTvmInfoGathering.json"),
    include_str!("tables/DeviceTvmInfoGatheringKB.json"),
    include_str!("tables/DeviceTvmSecureConfigurationAssessment.json"),
    include_str!("tables/DeviceTvmSecureConfigurationAssessmentKB.json"),
    include_str!("tables/DeviceTvmSoftwareEvidenceBeta.json"),
    include_str!("tables/DeviceTvmSoftwareInventory.json"),
    include_str!("tables/DeviceTvmSoftwareVulnerabilities.json"),
    include_str!("tables/DeviceTvmSoftwareVulnerabilitiesKB.json"),
    include_str!("tables/DisruptionAndResponseEvents.json"),
    include_str!("tables/EmailAttachmentInfo.json"),
    include_str!("tables/EmailEvents.json"),
    include_str!("tables/EmailPostDeliveryEvents.json"),
    include_str!("tables/EmailUrlInfo.json"),
    include_str!("tables/EntraIdSignInEvents.json"),
    include_str!("tables/EntraIdSpnSignInEvents.json"),
    include_str!("tables/ExposureGraphEdges.json"),
    include_str!("tables/ExposureGraphNodes.json"),
    include_str!("tables/FileMaliciousContentInfo.json"),
    include_str!("tables/FileProfile.json"),
    include_str!("tables/GraphApiAuditEvents.json"),
    include_str!("tables/IdentityAccountInfo.json"),
    include_str!("tables/IdentityDirectoryEvents.json"),
    include_str!("tables/IdentityEvents.json"),
    include_str!("tables/IdentityInfo.json"),
    include_str!("tables/IdentityLogonEvents.json"),
    include_str!("tables/IdentityQueryEvents.json"),
    include_str!("tables/MessageContents.json"),
    include_str!("tables/MessageEvents.json"),
    include_str!("tables/MessagePostDeliveryEvents.json"),
    include_str!("tables/MessageUrlInfo.json"),
    include_str!("tables/OAuthAppInfo.json"),
    include_str!("tables/UrlClickEvents.json"),
];

fn all() -> &'static [TableSchema] {
    static SCHEMAS: OnceLock<Vec<TableSchema>> = OnceLock::new();
    SCHEMAS.get_or_init(|| FILES.iter().filter_map(|text| serde_json::from_str(text).ok()).collect())
}

/// The names of the tables with a built-in schema, each alias too.
pub fn names() -> impl Iterator<Item = &'static str> {
    all()
        .iter()
        .flat_map(|schema| std::iter::once(schema.table.as_str()).chain(schema.aliases.iter().map(String::as_str)))
}

/// The documented schema of a Defender table, by its name or an alias.
pub fn builtin(table: &str) -> Option<&'static TableSchema> {
    all().iter().find(|schema| schema.table == table || schema.aliases.iter().any(|alias| alias == table))
}

/// The documented table whose every column is among `row`'s (the row a query read from it, with columns added):
/// where the service may have a column the documentation does not list yet.
pub fn documented_within(row: &[super::plan::Column]) -> Option<&'static str> {
    all()
        .iter()
        .filter(|schema| schema.table != "FileProfile")
        .find(|schema| schema.columns.iter().all(|c| row.iter().any(|r| r.name == c.name)))
        .map(|schema| schema.table.as_str())
}

/// Tables advanced hunting no longer has, each with what replaced it: a query over one is refused by Kusto, for
/// certain. The 2020 renames (Microsoft Defender ATP to Microsoft 365 Defender), `AppFileEvents` (a preview
/// folded into `CloudAppEvents`), `DeviceTvmSoftwareInventoryVulnerabilities` (split in 2021) and
/// `DeviceAlertEvents` (retired; Microsoft's table list of July 2026 no longer has it).
const RETIRED: &[(&str, &str)] = &[
    ("AlertEvents", "AlertInfo and AlertEvidence"),
    ("AppFileEvents", "CloudAppEvents"),
    ("DeviceAlertEvents", "AlertInfo and AlertEvidence"),
    ("DeviceTvmSoftwareInventoryVulnerabilities", "DeviceTvmSoftwareInventory and DeviceTvmSoftwareVulnerabilities"),
    ("FileCreationEvents", "DeviceFileEvents"),
    ("ImageLoadEvents", "DeviceImageLoadEvents"),
    ("LogonEvents", "DeviceLogonEvents"),
    ("MachineInfo", "DeviceInfo"),
    ("MachineNetworkInfo", "DeviceNetworkInfo"),
    ("MiscEvents", "DeviceEvents"),
    ("NetworkCommunicationEvents", "DeviceNetworkEvents"),
    ("ProcessCreationEvents", "DeviceProcessEvents"),
    ("RegistryEvents", "DeviceRegistryEvents"),
];

/// What replaced a table advanced hunting no longer has.
pub fn retired(table: &str) -> Option<&'static str> {
    RETIRED.iter().find(|(name, _)| *name == table).map(|(_, replacement)| *replacement)
}

/// Columns a table no longer has, each with what replaced it: Microsoft folded the four verdict and method
/// columns of the e-mail tables into `ThreatTypes` and `DetectionMethods` in December 2020 ("Additional email
/// data in advanced hunting"), and Kusto refuses the old names for certain — unlike a column the schema pages
/// do not list yet, which the service may have.
const RETIRED_COLUMNS: &[(&str, &str, &str)] = &[
    ("EmailEvents", "PhishFilterVerdict", "ThreatTypes"),
    ("EmailEvents", "MalwareFilterVerdict", "ThreatTypes"),
    ("EmailEvents", "PhishDetectionMethod", "DetectionMethods"),
    ("EmailEvents", "MalwareDetectionMethod", "DetectionMethods"),
    ("EmailAttachmentInfo", "MalwareFilterVerdict", "ThreatTypes"),
    ("EmailAttachmentInfo", "MalwareDetectionMethod", "DetectionMethods"),
];

/// What replaced the column `column` of the table `table`, when the table no longer has it.
pub fn retired_column(table: &str, column: &str) -> Option<&'static str> {
    RETIRED_COLUMNS.iter().find(|(t, c, _)| *t == table && *c == column).map(|(_, _, replacement)| *replacement)
}

/// Every name of the table `table` names (itself first when it has no built-in schema).
pub fn spellings(table: &str) -> Vec<&str> {
    match builtin(table) {
        Some(schema) => {
            std::iter::once(schema.table.as_str()).chain(schema.aliases.iter().map(String::as_str)).collect()
        }
        None => vec![table],
    }
}

pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    all().iter().map(|schema| schema.table.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_loads_with_known_types() {
        assert_eq!(all().len(), FILES.len(), "a schema file does not parse");
        for schema in all() {
            assert!(!schema.columns.is_empty(), "{}", schema.table);
            for column in &schema.columns {
                assert!(
                    Type::from_name(&column.type_name).is_some(),
                    "{}.{}: {}",
                    schema.table,
                    column.name,
                    column.type_name
                );
            }
        }
    }

    #[test]
    fn cloud_app_events_matches_the_reference() {
        let schema = builtin("CloudAppEvents").expect("built in");
        let columns = schema.columns();
        assert_eq!(columns.len(), 36);
        assert_eq!(columns[0], Column::new("Timestamp", Type::DateTime));
        assert!(columns.contains(&Column::new("RawEventData", Type::Dynamic)));
        assert!(columns.contains(&Column::new("ISP", Type::String)));
        assert!(columns.contains(&Column::new("ApplicationId", Type::Int)));
    }
}

/// A catalog of every built-in table, with no rows: what queries are checked against when the data lives in a
/// tenant (`huntbook validate` with the Graph source).
pub fn catalog() -> super::table::MemoryCatalog {
    all().iter().fold(super::table::MemoryCatalog::new(), |catalog, schema| {
        let columns = schema.columns();
        let catalog = catalog.with_table(&schema.table, columns.clone(), Vec::new());
        schema.aliases.iter().fold(catalog, |catalog, alias| catalog.with_table(alias, columns.clone(), Vec::new()))
    })
}

#[cfg(test)]
mod every_table {
    #[test]
    fn every_file_loads_with_known_types_and_a_unique_name_per_column() {
        assert_eq!(super::all().len(), super::FILES.len(), "a schema file does not parse");
        assert_eq!(super::all().len(), 67, "the 66 advanced-hunting tables and FileProfile");
        for schema in super::all() {
            let mut seen = std::collections::HashSet::new();
            for column in &schema.columns {
                assert!(
                    super::Type::from_name(&column.type_name).is_some(),
                    "{}.{}: {}",
                    schema.table,
                    column.name,
                    column.type_name
                );
                assert!(seen.insert(column.name.to_lowercase()), "{}.{} twice", schema.table, column.name);
            }
        }
    }
}

#[cfg(test)]
mod catalog_tests {
    use crate::table::Catalog;

    #[test]
    fn the_schema_catalog_checks_queries_without_data() {
        let catalog = super::catalog();
        assert!(catalog.table_names().contains(&"DeviceProcessEvents".to_string()));
        assert!(
            crate::compile(
                "DeviceProcessEvents | where FileName =~ 'powershell.exe' | project Timestamp, DeviceName",
                &catalog
            )
            .is_ok()
        );
        assert!(crate::compile("DeviceProcessEvents | project NoSuchColumn", &catalog).is_err());
    }
}
