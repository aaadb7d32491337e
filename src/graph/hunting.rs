//! `runHuntingQuery`: the request body, and the answer turned into typed rows — the same rows the local source
//! gives. The answer is read in one pass over the body without building a JSON tree: `results` is located
//! (borrowed, not copied), then each row's cells are decoded straight into the column types of `schema`.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::SecondsFormat;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::kql::load::decode::from_raw_json;
use crate::kql::plan::{Column, Row};
use crate::kql::table::Table;
use crate::kql::types::Type;
use crate::kql::unicode::{may_hold_surrogates, repair_lone_surrogates};
use crate::kql::value::{Str, Value};
use crate::schedule::Window;

/// Graph returns at most this many rows; a result that reaches it was cut.
pub const ROW_LIMIT: usize = 100_000;
/// Graph's result size limit (50 MB); a body within 2% of it was most likely cut.
pub const SIZE_LIMIT: usize = 50 * 1000 * 1000;
const SIZE_NEAR: usize = SIZE_LIMIT / 50 * 49;

/// The JSON body of a `runHuntingQuery` request: `Query`, and `Timespan` as the ISO interval `start/end`.
pub fn request_body(query: &str, window: Option<Window>) -> String {
    let mut body = serde_json::Map::new();
    body.insert("Query".into(), query.into());
    if let Some(window) = window {
        let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        body.insert("Timespan".into(), format!("{}/{}", at(window.start), at(window.end)).into());
    }
    serde_json::Value::Object(body).to_string()
}

/// What a query returned.
#[derive(Debug)]
pub struct HuntingAnswer {
    pub table: Table,
    /// The result reached Graph's row or size limit: rows are missing.
    pub truncated: bool,
    /// Lone UTF-16 surrogate escapes in the answer (half of a pair, from a Windows name), read as U+FFFD.
    pub repaired: usize,
}

/// Reads a `huntingQueryResults` body. Accepts `name`/`Name` and `type`/`Type` in the schema (and the legacy
/// `Schema`/`Results`), row keys that differ in case from the schema, datetimes with 0 to 7 fractional digits,
/// dynamic values sent as JSON or as JSON text, and numbers sent as strings.
pub fn parse_answer(body: &[u8]) -> Result<HuntingAnswer, String> {
    // serde_json refuses a lone surrogate escape; Graph (.NET) writes one for half a UTF-16 pair, and one such
    // value must not make the whole answer unreadable (the run would fail again at every try).
    let repaired = match std::str::from_utf8(body) {
        Ok(text) if may_hold_surrogates(body) => repair_lone_surrogates(text),
        _ => None,
    };
    let (body, repaired) = match &repaired {
        Some((text, count)) => (text.as_bytes(), *count),
        None => (body, 0),
    };
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not a hunting result: {e}"))?;
    let schema = answer.schema.ok_or("the answer has no `schema`")?;
    let columns: Vec<Column> = schema
        .into_iter()
        .map(|c| Column::new(c.name, Type::from_name(&c.type_name).unwrap_or(Type::Dynamic)))
        .collect();
    let rows = match answer.results {
        None => Vec::new(),
        Some(raw) => {
            let mut reader = serde_json::Deserializer::from_str(raw.get());
            let rows = RowsSeed::new(&columns)
                .deserialize(&mut reader)
                .map_err(|e| format!("the answer's `results` cannot be read: {e}"))?;
            reader.end().map_err(|e| format!("the answer's `results` cannot be read: {e}"))?;
            rows
        }
    };
    let truncated = rows.len() >= ROW_LIMIT || body.len() >= SIZE_NEAR;
    Ok(HuntingAnswer { table: Table { columns, rows }, truncated, repaired })
}

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(alias = "Schema", default)]
    schema: Option<Vec<SchemaColumn>>,
    #[serde(alias = "Results", borrow, default)]
    results: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct SchemaColumn {
    #[serde(alias = "Name")]
    name: String,
    #[serde(rename = "type", alias = "Type")]
    type_name: String,
}

/// The rows of `results`, decoded into the columns of the schema.
struct RowsSeed<'c> {
    columns: &'c [Column],
    index: HashMap<&'c str, usize>,
    /// One per column: the strings seen, shared by every row that repeats them.
    interners: RefCell<Vec<Interner>>,
}

/// Hunting results repeat a few values many times (action types, applications, countries, user agents): each
/// distinct string is kept once, which halves the memory of a large result. A column whose values are mostly
/// distinct (ids) stops being interned after a sample, so that the set does not cost more than it saves.
#[derive(Default)]
struct Interner {
    seen: HashSet<Str>,
    lookups: u32,
    off: bool,
}

const INTERN_SAMPLE: u32 = 2_000;

impl Interner {
    fn string(&mut self, text: &str) -> Value {
        if self.off {
            return Value::string(text);
        }
        self.lookups += 1;
        if self.lookups == INTERN_SAMPLE && self.seen.len() as u32 > INTERN_SAMPLE / 2 {
            self.off = true;
            self.seen = HashSet::new();
            return Value::string(text);
        }
        if let Some(kept) = self.seen.get(text) {
            return Value::String(Str::clone(kept));
        }
        let kept: Str = Str::from(text);
        self.seen.insert(Str::clone(&kept));
        Value::String(kept)
    }
}

impl<'c> RowsSeed<'c> {
    fn new(columns: &'c [Column]) -> Self {
        RowsSeed {
            columns,
            index: columns.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect(),
            interners: RefCell::new(columns.iter().map(|_| Interner::default()).collect()),
        }
    }

    /// A cell: strings without escapes through the column's interner, anything else decoded by type.
    fn cell(&self, column: usize, raw: &str) -> Value {
        let ty = self.columns[column].ty;
        if matches!(ty, Type::String | Type::Guid)
            && let Some(content) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
            && !content.contains('\\')
        {
            return self.interners.borrow_mut()[column].string(content);
        }
        from_raw_json(raw, ty)
    }

    /// The column a row key names: exactly, or else ignoring case (one documented example has camelCase keys).
    fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied().or_else(|| self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(key)))
    }
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = Vec<Row>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Row>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = Vec<Row>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Row>, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(row) = seq.next_element_seed(RowSeed(&self))? {
            rows.push(row);
        }
        Ok(rows)
    }
}

struct RowSeed<'s, 'c>(&'s RowsSeed<'c>);

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = Row;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Row, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = Row;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
        let columns = self.0.columns;
        let mut row: Vec<Value> = columns.iter().map(|c| Value::null_of(c.ty)).collect();
        while let Some(position) = map.next_key_seed(KeySeed(self.0))? {
            match position {
                Some(i) => {
                    let raw: &RawValue = map.next_value()?;
                    row[i] = self.0.cell(i, raw.get());
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(row)
    }
}

/// A row key, as the position of its column (without copying the key).
struct KeySeed<'s, 'c>(&'s RowsSeed<'c>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a column name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.position(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kql::datetime::format_datetime;

    #[test]
    fn accepts_every_documented_variant() {
        let body = br#"{
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
            "schema": [{"name": "Timestamp", "type": "DateTime"}, {"Name": "Count", "Type": "Int64"},
                       {"name": "RawEventData", "type": "Object"}, {"name": "AccountDisplayName", "type": "String"}],
            "results": [
                {"Timestamp": "2024-03-26T09:39:50.7688641Z", "Count": 3, "RawEventData": {"Operation": "x"},
                 "AccountDisplayName": "Ann \"A\" \u00e9"},
                {"timestamp": "2026-09-12T08:00:00Z", "count": "12", "RawEventData": "{\"Operation\":\"y\"}",
                 "Unknown": [1, 2]},
                {"Timestamp": "2026-09-12T08:00:00.5Z"}
            ]}"#;
        let answer = parse_answer(body).expect("a valid answer");
        let table = answer.table;
        assert!(!answer.truncated);
        let types: Vec<Type> = table.columns.iter().map(|c| c.ty).collect();
        assert_eq!(types, [Type::DateTime, Type::Long, Type::Dynamic, Type::String]);
        let Value::DateTime(t) = table.rows[0][0] else { panic!("a datetime") };
        assert_eq!(format_datetime(t), "2024-03-26T09:39:50.7688641Z");
        let Value::DateTime(t) = table.rows[1][0] else { panic!("a datetime") };
        assert_eq!(format_datetime(t), "2026-09-12T08:00:00.0000000Z");
        assert!(matches!(table.rows[2][0], Value::DateTime(_)));
        assert_eq!(table.rows[0][1], Value::Long(3));
        assert_eq!(table.rows[1][1], Value::Long(12));
        // The same dynamic value, sent as JSON and as JSON text, reads the same.
        let operation = |row: usize| match &table.rows[row][2] {
            Value::Dynamic(d) => d.member("Operation").to_text().to_string(),
            other => panic!("expected a dynamic value, found {other:?}"),
        };
        assert_eq!(operation(0), "x");
        assert_eq!(operation(1), "y");
        assert_eq!(table.rows[0][3], Value::string("Ann \"A\" é"));
        assert_eq!(table.rows[1][3], Value::empty_string());
    }

    #[test]
    fn reports_what_is_wrong() {
        assert!(parse_answer(b"{\"schema\": [], \"results\": [").unwrap_err().contains("not a hunting result"));
        assert!(parse_answer(b"{\"results\": []}").unwrap_err().contains("no `schema`"));
        assert!(parse_answer(b"<html>").is_err());
    }

    #[test]
    fn a_lone_surrogate_is_read_as_the_replacement_character_and_counted() {
        let body = br#"{"schema": [{"name": "FileName", "type": "String"}, {"name": "RawEventData", "type": "Object"}],
            "results": [{"FileName": "a\udc80.exe", "RawEventData": {"ActionComment": "x\ud800", "DeviceName": "pc1"}},
                        {"FileName": "b.exe", "RawEventData": "{\"DeviceName\":\"pc2\\udc80\"}"}]}"#;
        let answer = parse_answer(body).expect("read, not refused");
        // The two in the answer's own text; the third is inside JSON text, read when that text is.
        assert_eq!(answer.repaired, 2);
        let rows = &answer.table.rows;
        assert_eq!(rows[0][0], Value::string("a\u{fffd}.exe"));
        let raw = rows[0][1].to_text();
        assert!(raw.contains("x\u{fffd}") && raw.contains("\"DeviceName\":\"pc1\""), "{raw}");
        assert!(rows[1][1].to_text().contains("pc2\u{fffd}"), "{:?}", rows[1][1]);
    }

    #[test]
    fn the_row_limit_marks_the_result_truncated() {
        let rows = vec!["{\"N\":1}"; ROW_LIMIT].join(",");
        let body = format!("{{\"schema\":[{{\"name\":\"N\",\"type\":\"Int64\"}}],\"results\":[{rows}]}}");
        let answer = parse_answer(body.as_bytes()).expect("valid");
        assert_eq!(answer.table.rows.len(), ROW_LIMIT);
        assert!(answer.truncated);
    }

    #[test]
    fn the_request_names_query_and_timespan() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).expect("valid").with_timezone(&chrono::Utc);
        let window = Window { start: at("2026-11-20T12:00:00Z"), end: at("2026-11-20T12:15:00.5Z") };
        let body: serde_json::Value = serde_json::from_str(&request_body("T | take 1", Some(window))).expect("json");
        assert_eq!(body["Query"], "T | take 1");
        assert_eq!(body["Timespan"], "2026-11-20T12:00:00Z/2026-11-20T12:15:00.500Z");
    }
}
