//! `.jsonl` tables (one JSON object per line), scanned in place: the file is split into byte ranges that
//! threads scan independently, and each line is decoded only as far as the query needs. One pass of
//! `serde_json` finds where each wanted column's value is (skipping the others without building them);
//! the filter's columns are decoded and tested first, and the rest of the row only for lines that pass.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::super::error::KqlError;
use super::super::plan::{Column, Row};
use super::super::table::{ScanRequest, ScanStats, TableSource};
use super::super::types::Type;
use super::super::unicode::{may_hold_surrogates, repair_lone_surrogates};
use super::super::value::{Dyn, Str, Value};
use super::decode::from_raw_json;
use super::members::for_each_member;

/// Bytes per partition: large enough that a partition's setup is noise, small enough to balance threads.
const PARTITION_BYTES: u64 = 16 << 20;

#[derive(Debug)]
pub struct JsonLinesTable {
    name: String,
    path: PathBuf,
    columns: Vec<Column>,
    positions: HashMap<String, usize>,
    size: u64,
}

impl JsonLinesTable {
    pub fn new(name: String, path: PathBuf, columns: Vec<Column>, size: u64) -> Self {
        let positions = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        JsonLinesTable { name, path, columns, positions, size }
    }

    /// The column of a key, trying the column after the previous key first (rows usually keep one order).
    fn position(&self, key: &str, guess: &mut usize) -> Option<usize> {
        let found = match self.columns.get(*guess) {
            Some(column) if column.name == key => Some(*guess),
            _ => self.positions.get(key).copied(),
        };
        if let Some(index) = found {
            *guess = index + 1;
        }
        found
    }

    /// Finds the raw values of the wanted columns of a line: with the fast member walk, or, when the line
    /// is not shaped like an object, with `serde_json` (for its exact error).
    fn wanted_values<'l>(
        &self,
        line: &'l str,
        request: &ScanRequest,
        found: &mut [Option<&'l str>],
    ) -> Result<(), String> {
        let mut remaining =
            (0..self.columns.len()).filter(|i| request.columns.get(*i).copied().unwrap_or(true)).count();
        let mut guess = 0;
        let walked = for_each_member(line, |key, value| {
            if let Some(index) = self.position(&key, &mut guess)
                && request.columns.get(index).copied().unwrap_or(true)
            {
                if found[index].is_none() {
                    remaining = remaining.saturating_sub(1);
                }
                found[index] = Some(value);
            }
            // Every wanted column is found: the rest of the line is not read.
            remaining > 0
        });
        if walked.is_ok() {
            return Ok(());
        }
        found.iter_mut().for_each(|slot| *slot = None);
        let mut raw: Vec<Option<&RawValue>> = vec![None; self.columns.len()];
        let mut deserializer = serde_json::Deserializer::from_str(line);
        let visitor = LineVisitor { table: self, wanted: request.columns, found: &mut raw };
        deserializer.deserialize_map(visitor).map_err(|e| e.to_string())?;
        deserializer.end().map_err(|e| e.to_string())?;
        for (slot, value) in found.iter_mut().zip(raw) {
            *slot = value.map(RawValue::get);
        }
        Ok(())
    }

    /// `line 12` for the line that starts at byte `offset`, counted when a problem is reported (a scan starts
    /// anywhere in the file, so it does not know its line numbers); `the line at byte N` if the file cannot be
    /// read again.
    fn line_called(&self, offset: u64) -> String {
        let counted = (|| -> std::io::Result<u64> {
            let mut file = File::open(&self.path)?;
            let mut buffer = vec![0u8; 1 << 16];
            let (mut left, mut newlines) = (offset, 0u64);
            while left > 0 {
                let wanted = usize::try_from(left).unwrap_or(usize::MAX).min(buffer.len());
                let read = std::io::Read::read(&mut file, &mut buffer[..wanted])?;
                if read == 0 {
                    break;
                }
                newlines += memchr::memchr_iter(b'\n', &buffer[..read]).count() as u64;
                left -= read as u64;
            }
            Ok(newlines + 1)
        })();
        match counted {
            Ok(line) => format!("line {line}"),
            Err(_) => format!("the line at byte {offset}"),
        }
    }

    /// Decodes one line; `Ok(None)` when the scan's filter rejects it. `repaired` counts the lone surrogate
    /// escapes the line held (read as U+FFFD).
    fn decode_line(&self, line: &[u8], request: &ScanRequest, repaired: &mut usize) -> Result<Option<Row>, String> {
        let line = std::str::from_utf8(line).map_err(|e| format!("not UTF-8: {e}"))?;
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        let fixed = if may_hold_surrogates(line.as_bytes()) { repair_lone_surrogates(line) } else { None };
        let line = match &fixed {
            Some((text, count)) => {
                *repaired = *count;
                text.as_str()
            }
            None => line,
        };
        let mut found: Vec<Option<&str>> = vec![None; self.columns.len()];
        self.wanted_values(line, request, &mut found)?;
        // Columns the query never reads stay null: never looked at, and cheaper than `""`.
        let mut row: Row = self
            .columns
            .iter()
            .enumerate()
            .map(
                |(i, c)| {
                    if request.columns.get(i).copied().unwrap_or(true) { Value::null_of(c.ty) } else { Value::Null }
                },
            )
            .collect();
        let decode = |row: &mut Row, index: usize| {
            if let Some(raw) = found[index] {
                let members = request.members.get(index).and_then(Option::as_deref);
                row[index] = match members {
                    Some(members) => decode_members(raw, members),
                    None => from_raw_json(raw, self.columns[index].ty),
                };
            }
        };
        if let Some(filter) = request.filter {
            for index in (0..self.columns.len()).filter(|i| request.filter_columns.get(*i).copied().unwrap_or(false)) {
                decode(&mut row, index);
            }
            if !filter(&row) {
                return Ok(None);
            }
        }
        for index in 0..self.columns.len() {
            let wanted = request.columns.get(index).copied().unwrap_or(true);
            let done = request.filter.is_some() && request.filter_columns.get(index).copied().unwrap_or(false);
            if wanted && !done {
                decode(&mut row, index);
            }
        }
        Ok(Some(row))
    }
}

/// A dynamic value of which the query reads only some members: a bag holding just those, without
/// building the rest. A value that is not a bag (or JSON text holding one) is decoded whole.
fn decode_members(raw: &str, members: &[String]) -> Value {
    let trimmed = raw.trim_start();
    let object_text: std::borrow::Cow<str> = if trimmed.starts_with('{') {
        std::borrow::Cow::Borrowed(raw)
    } else if trimmed.starts_with('"') {
        match serde_json::from_str::<String>(raw) {
            // JSON text in a string: its own escapes were not seen by the line's repair.
            Ok(inner) if inner.trim_start().starts_with('{') => std::borrow::Cow::Owned(
                match may_hold_surrogates(inner.as_bytes()).then(|| repair_lone_surrogates(&inner)).flatten() {
                    Some((repaired, _)) => repaired,
                    None => inner,
                },
            ),
            _ => return from_raw_json(raw, Type::Dynamic),
        }
    } else {
        return from_raw_json(raw, Type::Dynamic);
    };
    let mut pairs: Vec<(Str, Dyn)> = Vec::with_capacity(members.len());
    let mut failed = false;
    let walked = for_each_member(&object_text, |key, value| {
        if let Some(index) = members.iter().position(|m| *m == key) {
            match serde_json::from_str::<Dyn>(value) {
                Ok(parsed) => pairs.push((Str::from(members[index].as_str()), parsed)),
                Err(_) => failed = true,
            }
        }
        !failed && pairs.len() < members.len()
    });
    if walked.is_ok() && !failed {
        return Value::Dynamic(Dyn::object(pairs));
    }
    let mut deserializer = serde_json::Deserializer::from_str(&object_text);
    match deserializer.deserialize_map(MembersVisitor { members }) {
        Ok(bag) => Value::Dynamic(bag),
        Err(_) => Value::Dynamic(Dyn::Null),
    }
}

struct MembersVisitor<'m> {
    members: &'m [String],
}

impl<'de> Visitor<'de> for MembersVisitor<'_> {
    type Value = Dyn;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dyn, A::Error> {
        let mut pairs = Vec::with_capacity(self.members.len());
        while let Some(key) = map.next_key_seed(MemberKey { members: self.members })? {
            match key {
                Some(index) => pairs.push((Str::from(self.members[index].as_str()), map.next_value::<Dyn>()?)),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Dyn::object(pairs))
    }
}

/// A bag key, as the index of the wanted member it is (if it is one), read without allocating.
struct MemberKey<'m> {
    members: &'m [String],
}

impl<'de> DeserializeSeed<'de> for MemberKey<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for MemberKey<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a property name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.members.iter().position(|m| m == key))
    }
}

struct LineVisitor<'t, 'f, 'de> {
    table: &'t JsonLinesTable,
    wanted: &'t [bool],
    found: &'f mut Vec<Option<&'de RawValue>>,
}

impl<'de> Visitor<'de> for LineVisitor<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object (one row per line)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut guess = 0;
        while let Some(position) = map.next_key_seed(KeySeed { table: self.table, guess: &mut guess })? {
            match position {
                Some(index) if self.wanted.get(index).copied().unwrap_or(true) => {
                    self.found[index] = Some(map.next_value::<&'de RawValue>()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Reads a key and maps it to a column position without allocating.
struct KeySeed<'t, 'g> {
    table: &'t JsonLinesTable,
    guess: &'g mut usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a column name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.table.position(key, self.guess))
    }
}

impl TableSource for JsonLinesTable {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn partition_count(&self) -> usize {
        self.size.div_ceil(PARTITION_BYTES).max(1) as usize
    }

    fn size_hint(&self) -> u64 {
        self.size
    }

    /// A partition owns the lines that start inside its byte range.
    fn scan_partition(
        &self,
        partition: usize,
        request: &ScanRequest,
        sink: &mut dyn FnMut(Row) -> bool,
    ) -> Result<ScanStats, KqlError> {
        let start = partition as u64 * PARTITION_BYTES;
        let end = (start + PARTITION_BYTES).min(self.size);
        let file_name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let io_error = |e: std::io::Error| KqlError::runtime(format!("reading {file_name}: {e}"));
        let mut file = File::open(&self.path).map_err(io_error)?;
        let mut offset = start.saturating_sub(1);
        file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::with_capacity(4096);
        if start > 0 {
            // Skip the line that began in the previous partition (or just the newline before `start`).
            offset += reader.read_until(b'\n', &mut line).map_err(io_error)? as u64;
        }
        let mut stats = ScanStats::default();
        let mut unreported = 0u64;
        while offset < end {
            line.clear();
            let read = reader.read_until(b'\n', &mut line).map_err(io_error)?;
            if read == 0 {
                break;
            }
            let line_start = offset;
            offset += read as u64;
            unreported += read as u64;
            if unreported >= 1 << 20 {
                if let Some(progress) = request.progress {
                    progress.fetch_add(unreported, Ordering::Relaxed);
                }
                unreported = 0;
                if request.cancel.load(Ordering::Relaxed) {
                    break;
                }
            }
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            stats.rows_read += 1;
            if request.prefilter.is_some_and(|p| !p.may_match(text)) {
                continue;
            }
            let mut repaired = 0;
            let decoded = self.decode_line(text, request, &mut repaired);
            if repaired > 0 {
                stats.repaired_rows += 1;
                if stats.first_repaired_row.is_none() {
                    stats.first_repaired_row = Some(format!(
                        "{file_name}: {} holds {repaired} lone UTF-16 surrogate escape{} \
                         (such as \\udc80), read as U+FFFD",
                        self.line_called(line_start),
                        if repaired == 1 { "" } else { "s" }
                    ));
                }
            }
            match decoded {
                Ok(Some(row)) => {
                    if !sink(row) {
                        break;
                    }
                }
                Ok(None) => {}
                Err(message) => {
                    stats.bad_rows += 1;
                    if stats.first_bad_row.is_none() {
                        let line = self.line_called(line_start);
                        stats.first_bad_row = Some(format!("{file_name}: {line} is not a JSON object: {message}"));
                    }
                }
            }
        }
        if let Some(progress) = request.progress {
            progress.fetch_add(unreported, Ordering::Relaxed);
        }
        Ok(stats)
    }
}
