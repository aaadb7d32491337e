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
