//! Built-in schemas of the Defender advanced-hunting tables, one JSON file per table under `tables/`, taken
//! from Microsoft's schema reference (each file names its source). A data file of one of these tables gets
//! these column types; its other columns, and tables not listed here, are inferred from the data.

use std::sync::OnceLock;

use serde::Deserialize;

use super::plan::Column;
use super::types::Type;

#[derive(Debug, Deserialize)]
pub struct TableSchema {
    pub table: String,
    pub source: String,
    pub time_column: Option<String>,
    pub columns: Vec<SchemaColumn>,
}

#[derive(Debug, Deserialize)]
pub struct SchemaColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
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

const FILES: [&str; 11] = [
    include_str!("tables/AlertEvidence.json"),
    include_str!("tables/AlertInfo.json"),
    include_str!("tables/CloudAppEvents.json"),
    include_str!("tables/DeviceEvents.json"),
    include_str!("tables/DeviceFileEvents.json"),
    include_str!("tables/DeviceInfo.json"),
    include_str!("tables/DeviceNetworkEvents.json"),
    include_str!("tables/DeviceProcessEvents.json"),
    include_str!("tables/EmailEvents.json"),
    include_str!("tables/FileProfile.json"),
    include_str!("tables/IdentityLogonEvents.json"),
];

fn all() -> &'static [TableSchema] {
    static SCHEMAS: OnceLock<Vec<TableSchema>> = OnceLock::new();
    SCHEMAS.get_or_init(|| FILES.iter().filter_map(|text| serde_json::from_str(text).ok()).collect())
}

/// The documented schema of a Defender table.
pub fn builtin(table: &str) -> Option<&'static TableSchema> {
    all().iter().find(|schema| schema.table == table)
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
        assert!(columns.contains(&Column::new("Isp", Type::String)));
        assert!(columns.contains(&Column::new("ApplicationId", Type::Int)));
    }
}

/// A catalog of every built-in table, with no rows: what queries are checked against when the data lives in a
/// tenant (`huntbook validate` with the Graph source).
pub fn catalog() -> super::table::MemoryCatalog {
    all().iter().fold(super::table::MemoryCatalog::new(), |catalog, schema| {
        catalog.with_table(&schema.table, schema.columns(), Vec::new())
    })
}

#[cfg(test)]
mod catalog_tests {
    use crate::kql::table::Catalog;

    #[test]
    fn the_schema_catalog_checks_queries_without_data() {
        let catalog = super::catalog();
        assert!(catalog.table_names().contains(&"DeviceProcessEvents".to_string()));
        assert!(
            crate::kql::compile(
                "DeviceProcessEvents | where FileName =~ 'powershell.exe' | project Timestamp, DeviceName",
                &catalog
            )
            .is_ok()
        );
        assert!(crate::kql::compile("DeviceProcessEvents | project NoSuchColumn", &catalog).is_err());
    }
}
