//! The one place that decides what an answer from Graph (or from the sign-in endpoint) means for the caller:
//! use it, sign in again, wait and retry, or give up. The sending code only acts on the verdict.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The permission `runHuntingQuery` needs, named in every 403.
pub const HUNTING_PERMISSION: &str = "ThreatHunting.Read.All";

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// 2xx: the answer is in the body.
    Success,
    /// 401: the token was refused (expired, revoked): sign in again and try once more.
    Reauthenticate { detail: String },
    /// 429: throttled. Wait `after` (the `Retry-After` header) or, without one, back off.
    Throttled { after: Option<Duration>, detail: String },
    /// 408, 5xx, timeouts, connection errors, a body cut short or not JSON: try again after a backoff, a
    /// bounded number of times.
    Transient { detail: String },
    /// Trying again cannot help.
    Fatal(Fatal),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Fatal {
    /// 400: the query is wrong. Graph's message is Kusto's own diagnostic, shown verbatim.
    Query(String),
    /// 403: the app lacks a permission or a role.
    Permission(String),
    /// Anything else (404, 413, …), with what the server said.
    Other(String),
}

/// What the status, headers and body of an answer from Graph mean.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Verdict {
    if status.is_success() {
        return Verdict::Success;
    }
    let said = graph_error(body);
    let detail = describe(status, said.as_ref());
    match status.as_u16() {
        400 => Verdict::Fatal(Fatal::Query(said.map_or(detail, |e| e.message))),
        401 => Verdict::Reauthenticate { detail },
        403 => Verdict::Fatal(Fatal::Permission(format!(
            "{detail}; the app registration needs the application permission {HUNTING_PERMISSION}, with admin \
             consent"
        ))),
        429 => Verdict::Throttled { after: retry_after(headers, now), detail },
        408 | 500..=599 => Verdict::Transient { detail },
        _ => Verdict::Fatal(Fatal::Other(detail)),
    }
}

/// What a failure to get an answer at all means: always worth another try.
pub fn classify_transport(error: &reqwest::Error, timeout: Duration) -> Verdict {
    Verdict::Transient { detail: transport_detail(error, timeout) }
}

/// What went wrong on the way, in a few words.
pub fn transport_detail(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!("no answer within {} s", timeout.as_secs_f64())
    } else if error.is_connect() {
        format!("could not connect: {}", root_cause(error))
    } else if error.is_body() || error.is_decode() {
        format!("the answer was cut short: {}", root_cause(error))
    } else {
        format!("the request failed: {}", root_cause(error))
    }
}

/// The innermost cause of an error, which says what happened ("connection refused") rather than where.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Graph's error envelope: `{"error": {"code": …, "message": …, "innerError": {…}}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphErrorBody {
    pub code: String,
    pub message: String,
}

pub fn graph_error(body: &[u8]) -> Option<GraphErrorBody> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    // What a server says reaches terminals and logs: its line breaks, escape sequences and bidi controls are
    // shown by their code points, so that it cannot forge a log line or rewrite the screen.
    let inert = |text: String| crate::render::visible::made_visible(&text, &[]).into_owned();
    Some(GraphErrorBody { code: inert(envelope.error.code), message: inert(envelope.error.message) })
}

fn describe(status: StatusCode, said: Option<&GraphErrorBody>) -> String {
    let status = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("(no reason)"));
    match said {
        Some(error) if !error.message.is_empty() => format!("{status}: {}: {}", error.code, error.message),
        Some(error) if !error.code.is_empty() => format!("{status}: {}", error.code),
        _ => status,
    }
}

/// `Retry-After` as a wait: a number of seconds (`10`, or `2.128` as Graph once sent), or an HTTP date. A
/// date in the past means now; a value that is neither is ignored (the caller backs off instead).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(text, now)
}

pub fn parse_retry_after(text: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(seconds) = text.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-10-21T07:27:50Z").expect("valid").with_timezone(&Utc)
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("10", now()), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("2.128", now()), Some(Duration::from_millis(2128)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now()), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:00:00 GMT", now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-3", now()), None);
        assert_eq!(parse_retry_after("soon", now()), None);
    }

    #[test]
    fn statuses() {
        let body = br#"{"error":{"code":"BadRequest","message":"'summarize' operator: Failed to resolve scalar expression named 'TimeGenerated'. Fix semantic errors in your query.","innerError":{"date":"2024-12-11T14:33:31"}}}"#;
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, &HeaderMap::new(), body, now()),
            Verdict::Fatal(Fatal::Query(
                "'summarize' operator: Failed to resolve scalar expression named 'TimeGenerated'. Fix semantic \
                 errors in your query."
                    .into()
            ))
        );
        let Verdict::Fatal(Fatal::Permission(text)) = classify(StatusCode::FORBIDDEN, &HeaderMap::new(), b"", now())
        else {
            panic!("403 is a permission problem")
        };
        assert!(text.contains(HUNTING_PERMISSION), "{text}");
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().expect("valid header"));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, &headers, b"", now()),
            Verdict::Throttled { after: Some(wait), .. } if wait == Duration::from_secs(3)
        ));
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE, &headers, b"not json", now()),
            Verdict::Transient { .. }
        ));
        assert!(matches!(classify(StatusCode::UNAUTHORIZED, &headers, b"", now()), Verdict::Reauthenticate { .. }));
        assert!(matches!(classify(StatusCode::NOT_FOUND, &headers, b"", now()), Verdict::Fatal(Fatal::Other(_))));
    }
}
