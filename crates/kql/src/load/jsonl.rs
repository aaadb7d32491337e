//! `.jsonl` tables (one JSON object per line), scanned in place: the file is split into byte ranges that
//! threads scan independently, and each line is decoded only as far as the query needs. One pass of
//! `serde_json` finds where each wanted column's value is (skipping the others without building them);
//! the filter's columns are decoded and tested first, and the rest of the row only for lines that pass.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::super::error::KqlError;
use super::super::plan::{Column, Row};
use super::super::table::{Prefilter, ScanRequest, ScanStats, TableSource};
use super::super::types::Type;
use super::super::unicode::{may_hold_surrogates, repair_lone_surrogates};
use super::super::value::{Dyn, Str, Value};
use super::decode::from_raw_json;
use super::members::{Members, Visit, value_len, walk_members};

/// Bytes per partition: large enough that a partition's setup is noise, small enough to balance threads.
const PARTITION_BYTES: u64 = 16 << 20;

#[derive(Debug)]
pub struct JsonLinesTable {
    name: String,
    path: PathBuf,
    columns: Vec<Column>,
    positions: HashMap<String, usize>,
    size: u64,
    /// Bytes per partition and per read (constants but in tests, which make them small).
    partition_bytes: u64,
    block: usize,
}

impl JsonLinesTable {
    pub fn new(name: String, path: PathBuf, columns: Vec<Column>, size: u64) -> Self {
        let positions = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        JsonLinesTable { name, path, columns, positions, size, partition_bytes: PARTITION_BYTES, block: Lines::BLOCK }
    }

    /// The same table, scanned in partitions of `partition_bytes` read `block` bytes at a time.
    pub fn with_sizes(self, partition_bytes: u64, block: usize) -> Self {
        JsonLinesTable { partition_bytes, block, ..self }
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
    /// The last wanted column, when the query reads only members of it, is handed over with the rest of the
    /// line (`open_ended`): its members are looked for without first walking the whole bag to its end.
    fn wanted_values<'l>(
        &self,
        line: &'l str,
        request: &ScanRequest,
        found: &mut [Option<&'l str>],
        open_ended: &mut Option<usize>,
    ) -> Result<(), String> {
        let mut walk = LineMembers {
            table: self,
            request,
            found,
            remaining: (0..self.columns.len()).filter(|i| request.columns.get(*i).copied().unwrap_or(true)).count(),
            guess: 0,
            current: None,
            open_ended: None,
        };
        let walked = walk_members(line, &mut walk);
        *open_ended = walk.open_ended;
        match walked {
            Ok(None) => return Ok(()),
            Ok(Some(end)) if line[end..].trim_ascii_start().is_empty() => return Ok(()),
            _ => {}
        }
        *open_ended = None;
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
        // SIMD validation; std's, for its exact error, only when the line is not UTF-8.
        let line = match simdutf8::basic::from_utf8(line) {
            Ok(line) => line,
            Err(_) => std::str::from_utf8(line).map_err(|e| format!("not UTF-8: {e}"))?,
        };
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
        let mut open_ended = None;
        self.wanted_values(line, request, &mut found, &mut open_ended)?;
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
                    Some(members) => decode_members(raw, members, open_ended == Some(index)),
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

/// The walk over a line's members: the wanted columns' raw values, the last one (when only its members are
/// read) open-ended.
struct LineMembers<'t, 'f, 'l> {
    table: &'t JsonLinesTable,
    request: &'t ScanRequest<'t>,
    found: &'f mut [Option<&'l str>],
    remaining: usize,
    guess: usize,
    current: Option<usize>,
    open_ended: Option<usize>,
}

impl<'l> Members<'l> for LineMembers<'_, '_, 'l> {
    fn choose(&mut self, key: &str) -> Visit {
        let wanted = |index: &usize| self.request.columns.get(*index).copied().unwrap_or(true);
        self.current = self.table.position(key, &mut self.guess).filter(wanted);
        match self.current {
            None => Visit::Skip,
            Some(index)
                if self.remaining == 1
                    && self.found[index].is_none()
                    && self.request.members.get(index).is_some_and(Option::is_some) =>
            {
                self.open_ended = Some(index);
                Visit::TakeRest
            }
            Some(_) => Visit::Take,
        }
    }

    fn take(&mut self, _: Cow<'l, str>, value: &'l str) -> bool {
        if let Some(index) = self.current {
            if self.found[index].is_none() {
                self.remaining = self.remaining.saturating_sub(1);
            }
            self.found[index] = Some(value);
        }
        // Every wanted column is found: the rest of the line is not read.
        self.remaining > 0
    }
}

/// The walk over a bag's members: the wanted ones, parsed.
struct BagMembers<'m> {
    members: &'m [String],
    pairs: Vec<(Str, Dyn)>,
    wanted: Option<usize>,
    failed: bool,
}

impl<'a> Members<'a> for BagMembers<'_> {
    fn choose(&mut self, key: &str) -> Visit {
        self.wanted = self.members.iter().position(|m| m == key);
        if self.wanted.is_some() { Visit::Take } else { Visit::Skip }
    }

    fn take(&mut self, _: Cow<'a, str>, value: &'a str) -> bool {
        if let Some(index) = self.wanted {
            match serde_json::from_str::<Dyn>(value) {
                Ok(parsed) => self.pairs.push((Str::from(self.members[index].as_str()), parsed)),
                Err(_) => self.failed = true,
            }
        }
        !self.failed && self.pairs.len() < self.members.len()
    }
}

/// A dynamic value of which the query reads only some members: a bag holding just those, without
/// building the rest. A value that is not a bag (or JSON text holding one) is decoded whole. When
/// `open_ended`, `raw` goes on past the value (the rest of the line): a bag is walked only as far as its
/// members, and any other value is cut at its end first.
fn decode_members(raw: &str, members: &[String], open_ended: bool) -> Value {
    if open_ended && !raw.starts_with('{') {
        return match value_len(raw) {
            Ok(length) => decode_members(&raw[..length], members, false),
            Err(_) => Value::Dynamic(Dyn::Null),
        };
    }
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
    let mut walk = BagMembers { members, pairs: Vec::with_capacity(members.len()), wanted: None, failed: false };
    let walked = walk_members(&object_text, &mut walk);
    let whole = |end: usize| open_ended || object_text[end..].trim_ascii_start().is_empty();
    if !walk.failed && (matches!(walked, Ok(None)) || matches!(walked, Ok(Some(end)) if whole(end))) {
        return Value::Dynamic(Dyn::object(walk.pairs));
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

/// The lines of a file from a byte offset on, read in large blocks and handed out in place (no copy per
/// line; the newline search is SIMD `memchr`).
struct Lines {
    file: File,
    buffer: Vec<u8>,
    /// The unread part of `buffer`.
    start: usize,
    end: usize,
    /// The file offset of `buffer[start]`.
    offset: u64,
    /// For `skip_to`: the starts of the lines found that may match, and how far the search went.
    candidates: std::collections::VecDeque<u64>,
    searched_to: u64,
}

impl Lines {
    const BLOCK: usize = 1 << 20;

    fn new(file: File, offset: u64, block: usize) -> Self {
        Lines {
            file,
            buffer: vec![0; block.max(1)],
            start: 0,
            end: 0,
            offset,
            candidates: Default::default(),
            searched_to: 0,
        }
    }

    /// The next line (with its newline, if it has one) and the offset it starts at; `None` at the end.
    fn next_line(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        let mut searched = 0;
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.buffer[self.start + searched..self.end]) {
                return Ok(Some(self.take(searched + at + 1)));
            }
            searched = self.end - self.start;
            // Keep the partial line, make room (a line longer than the buffer doubles it), and read on.
            if !self.fill()? {
                return Ok((self.end > self.start).then(|| self.take(self.end - self.start)));
            }
        }
    }

    /// Passes over the lines before the first one that may match the prefilter (and no line that starts at
    /// or after `end`, the partition's end): the next `next_line` is that line. Each stretch of whole lines is
    /// searched once; the starts of the lines that may match are queued. Returns the bytes passed over (their
    /// lines are not counted: that would be one more pass over them).
    fn skip_to(&mut self, prefilter: &Prefilter, end: u64) -> std::io::Result<u64> {
        let mut skipped = 0;
        loop {
            while self.candidates.front().is_some_and(|line| *line < self.offset) {
                self.candidates.pop_front();
            }
            // Up to the next line that may match, or over the whole stretch searched.
            let until = match self.candidates.front() {
                Some(line) => Some(*line),
                None if self.searched_to > self.offset => Some(self.searched_to),
                None => None,
            };
            if let Some(until) = until {
                let skip = usize::try_from(until - self.offset).unwrap_or(usize::MAX).min(self.end - self.start);
                skipped += skip as u64;
                self.start += skip;
                self.offset += skip as u64;
                if !self.candidates.is_empty() || self.offset >= end {
                    return Ok(skipped);
                }
                continue;
            }
            // Search the whole lines buffered that start before `end`.
            let buffered = &self.buffer[self.start..self.end];
            let Some(last_newline) = memchr::memrchr(b'\n', buffered) else {
                if !self.fill()? {
                    return Ok(skipped);
                }
                continue;
            };
            let mut region = last_newline + 1;
            let before_end = usize::try_from(end.saturating_sub(self.offset)).unwrap_or(usize::MAX);
            if before_end < region {
                // The line holding byte `end - 1` is the partition's last.
                region = before_end.saturating_sub(1);
                region = memchr::memchr(b'\n', &buffered[region..]).map_or(buffered.len(), |at| region + at + 1);
            }
            let mut found = Vec::new();
            prefilter.locate(&buffered[..region], &mut |at| found.push(at));
            let mut starts: Vec<u64> = found
                .into_iter()
                .map(|at| self.offset + memchr::memrchr(b'\n', &buffered[..at]).map_or(0, |newline| newline + 1) as u64)
                .collect();
            starts.sort_unstable();
            starts.dedup();
            self.candidates.extend(starts);
            self.searched_to = self.offset + region as u64;
            if self.candidates.is_empty() && region == 0 && !self.fill()? {
                return Ok(skipped);
            }
        }
    }

    /// Moves what is unread to the front, makes room (a line longer than the buffer doubles it) and reads
    /// more of the file behind it; `false` at the end of the file.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        let read = std::io::Read::read(&mut self.file, &mut self.buffer[self.end..])?;
        self.end += read;
        Ok(read > 0)
    }

    fn take(&mut self, length: usize) -> (u64, &[u8]) {
        let (offset, start) = (self.offset, self.start);
        self.start += length;
        self.offset += length as u64;
        (offset, &self.buffer[start..start + length])
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
        self.size.div_ceil(self.partition_bytes).max(1) as usize
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
        let start = partition as u64 * self.partition_bytes;
        let end = (start + self.partition_bytes).min(self.size);
        let file_name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let io_error = |e: std::io::Error| KqlError::runtime(format!("reading {file_name}: {e}"));
        let mut file = File::open(&self.path).map_err(io_error)?;
        let first = start.saturating_sub(1);
        file.seek(SeekFrom::Start(first)).map_err(io_error)?;
        let mut lines = Lines::new(file, first, self.block);
        if start > 0 {
            // Skip the line that began in the previous partition (or just the newline before `start`).
            lines.next_line().map_err(io_error)?;
        }
        let mut stats = ScanStats::default();
        let mut unreported = 0u64;
        while lines.offset < end {
            if let Some(prefilter) = request.prefilter {
                // The lines that cannot match are passed over in bulk, without being split one by one.
                unreported += lines.skip_to(prefilter, end).map_err(io_error)?;
                if lines.offset >= end {
                    break;
                }
            }
            let Some((line_start, line)) = lines.next_line().map_err(io_error)? else { break };
            let read = line.len() as u64;
            unreported += read;
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
