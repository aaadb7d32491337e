//! Where queries run. `Source::run_query` takes a query and a window and returns rows; `local` runs them with
//! the embedded KQL engine over files, and the Graph source (`runHuntingQuery`) plugs in beside it. Sources
//! know nothing of playbooks, state or delivery.

pub mod graph;
pub mod local;

use chrono::{DateTime, Utc};

use crate::kql::error::{KqlError, KqlErrors};
use crate::kql::table::Table;
use crate::schedule::Window;

/// One query to run.
#[derive(Clone, Copy, Debug)]
pub struct QueryRequest<'a> {
    pub query: &'a str,
    /// Every table the query reads is restricted to this window (Graph's `Timespan`).
    pub window: Window,
    /// What `now()` and `ago()` mean.
    pub now: DateTime<Utc>,
    pub tenant: Option<&'a str>,
}

/// What a query returned.
#[derive(Clone, Debug, Default)]
pub struct QueryResponse {
    pub table: Table,
    /// The source cut the result at its row or size limit.
    pub truncated: bool,
    /// Rows of the data that could not be read (bad lines in a local file), and the first one's description.
    pub skipped_rows: u64,
    pub first_skipped: Option<String>,
    /// Rows kept after a repair (a lone UTF-16 surrogate escape read as U+FFFD), and the first one's description.
    pub repaired_rows: u64,
    pub first_repaired: Option<String>,
    /// Ticks the source added to every datetime column to make old data look fresh (`rebase_time`); zero for
    /// real sources. Hit keys are computed on the values before the shift, so that a hit keeps its key from run
    /// to run while the shift grows with the clock.
    pub time_shift: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The query is wrong: running it again will not help. Each error has a span into the query text.
    #[error("the query is not valid: {0}")]
    Invalid(KqlErrors),
    /// The service refused the query as wrong (Graph's 400): its message, verbatim — Kusto's own diagnostic.
    #[error("Graph rejected the query: {0}")]
    Rejected(String),
    /// Running it failed (a file, the network, a throttle).
    #[error("{}", .0.message)]
    Failed(KqlError),
}

/// Runs hunting queries.
pub trait Source: Send + Sync {
    fn run_query(&self, request: &QueryRequest) -> Result<QueryResponse, SourceError>;

    /// The tenants queries can run in (Graph); none for a source that has no tenants (local files).
    fn tenants(&self) -> Vec<String> {
        Vec::new()
    }

    /// A file's profile through the MDE files API (`GET /api/files/{hash}`), under `FileProfile`'s column names;
    /// `None` for a file the service does not know.
    fn file_profile(&self, tenant: Option<&str>, hash: &str) -> Result<Option<FileInfo>, SourceError> {
        let _ = (tenant, hash);
        Err(SourceError::Failed(KqlError::runtime("this source has no MDE files API: use `via: hunting`")))
    }
}

/// A file's profile, as JSON values under `FileProfile`'s column names.
pub type FileInfo = serde_json::Map<String, serde_json::Value>;

/// The profile columns of a files API answer (the File entity).
pub fn file_info_from_api(entity: &serde_json::Value) -> FileInfo {
    use serde_json::Value as J;
    let get = |key: &str| entity.get(key).cloned().unwrap_or(J::Null);
    let signer = get("signer");
    let valid = get("isValidCertificate");
    // The files API has no signature state: it follows from the signer and the certificate, in FileProfile's words.
    let state = match (signer.as_str().is_some_and(|s| !s.is_empty()), valid.as_bool()) {
        (false, _) => "Unsigned",
        (true, Some(true)) => "SignedValid",
        (true, Some(false)) => "SignedInvalid",
        (true, None) => "Unknown",
    };
    let threat = get("determinationValue");
    let mut info = FileInfo::new();
    info.insert("GlobalPrevalence".into(), get("globalPrevalence"));
    info.insert("GlobalFirstSeen".into(), get("globalFirstObserved"));
    info.insert("GlobalLastSeen".into(), get("globalLastObserved"));
    info.insert("Signer".into(), signer);
    info.insert("Issuer".into(), get("issuer"));
    info.insert("SignatureState".into(), J::String(state.into()));
    info.insert("IsCertificateValid".into(), valid);
    info.insert(
        "ThreatName".into(),
        if threat.as_str().is_some_and(|t| !t.is_empty()) { threat } else { J::String(String::new()) },
    );
    info.insert("ProfileAvailability".into(), J::String("Available".into()));
    info
}

/// Ticks of the KQL engine (100 ns since 0001-01-01) for an instant.
pub fn to_ticks(instant: DateTime<Utc>) -> i64 {
    let seconds = instant.timestamp();
    let hundreds_of_nanos = i64::from(instant.timestamp_subsec_nanos()) / 100;
    crate::kql::datetime::UNIX_EPOCH_TICKS + seconds * crate::kql::lexer::TICKS_PER_SECOND + hundreds_of_nanos
}

/// The instant of KQL ticks.
pub fn from_ticks(ticks: i64) -> Option<DateTime<Utc>> {
    let since_epoch = ticks - crate::kql::datetime::UNIX_EPOCH_TICKS;
    let per_second = crate::kql::lexer::TICKS_PER_SECOND;
    DateTime::from_timestamp(since_epoch.div_euclid(per_second), (since_epoch.rem_euclid(per_second) * 100) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_trip() {
        let instant = DateTime::parse_from_rfc3339("2026-11-20T12:34:56.7654321Z").expect("valid").with_timezone(&Utc);
        let ticks = to_ticks(instant);
        assert_eq!(crate::kql::datetime::format_datetime(ticks), "2026-11-20T12:34:56.7654321Z");
        assert_eq!(from_ticks(ticks), Some(instant));
    }
}
