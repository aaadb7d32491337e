//! The one place that decides what a server's answer to a delivery means: delivered, try again later, or
//! give up. One function per kind of server; the sinks only send and hand the outcome here.
//!
//! | | delivered | try again later | give up (dead at once) |
//! |---|---|---|---|
//! | SMTP | 2xx after DATA | 4xx, refused or reset connections, timeouts | 5xx, an untrusted certificate, no STARTTLS |
//! | HTTP (Teams, Graph) | 2xx | 408, 425, 429 (`Retry-After`), 5xx, refused or reset connections, timeouts | 400, 401, 403, 404, 413 and every other answer |

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::Delivery;
use crate::graph::classify::{graph_error, retry_after, transport_detail};

/// What an SMTP send came to. `server` names the server in messages (`smtp.contoso.com:587`).
pub fn smtp(
    server: &str,
    result: Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error>,
) -> Delivery {
    match result {
        Ok(response) => Delivery::Delivered { answer: smtp_answer(&response) },
        Err(error) => smtp_error(server, &error),
    }
}

fn smtp_answer(response: &lettre::transport::smtp::response::Response) -> String {
    let text: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), text.join(" "))
}

fn smtp_error(server: &str, error: &lettre::transport::smtp::Error) -> Delivery {
    if let Some(problem) = certificate_problem(error) {
        return Delivery::GiveUp {
            error: format!(
                "{server}: the server's certificate is not trusted ({problem}); if it is an internal relay, add the \
                 authority that signed it with smtp.ca_file"
            ),
        };
    }
    let said = error.to_string();
    if error.is_permanent() {
        let hint = match error.status().map(|code| code.to_string()) {
            Some(code) if code == "535" || code == "534" || code == "530" => {
                " (the server refused the sign-in: check smtp.username and smtp.password)"
            }
            _ => "",
        };
        return Delivery::GiveUp { error: format!("{server} refused the message: {said}{hint}") };
    }
    if error.is_transient() {
        return Delivery::RetryLater { error: format!("{server} deferred the message: {said}"), after: None };
    }
    if error.is_timeout() {
        return Delivery::RetryLater { error: format!("{server}: no answer in time"), after: None };
    }
    if error.is_client() {
        // lettre's own checks: the server does not offer STARTTLS while `tls: starttls` requires it, or offers no
        // authentication mechanism huntbook can use. Retrying cannot help until the configuration changes.
        return Delivery::GiveUp { error: format!("{server}: {}", chain(error)) };
    }
    Delivery::RetryLater { error: format!("{server}: {}", chain(error)), after: None }
}

/// The rustls certificate error somewhere in `error`'s chain, if a certificate is why it failed.
fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(rustls::Error::InvalidCertificate(problem)) = current.downcast_ref::<rustls::Error>() {
            return Some(format!("{problem:?}"));
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && let Some(rustls::Error::InvalidCertificate(problem)) =
                io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(format!("{problem:?}"));
        }
        cause = current.source();
    }
    None
}

/// An error and its causes on one line: "Connection error: Connection refused (os error 111)".
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let next = current.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = current.source();
    }
    text
}

/// What an HTTP answer to a delivery (a Teams webhook, Graph sendMail) means. `target` names it in messages,
/// never with a secret in it.
pub fn http(target: &str, status: StatusCode, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Delivery {
    let said = answer_text(body);
    // What huntbook has to say comes before the server's answer, which the outbox may cut short.
    let hint = match status.as_u16() {
        401 | 403 => " (not allowed: check the URL, the permission or the sign-in)",
        413 => " (the message is too large for it)",
        _ => "",
    };
    let status_text = format!("{} {}{hint}", status.as_u16(), status.canonical_reason().unwrap_or(""));
    let shown = if said.is_empty() { status_text } else { format!("{status_text}: {said}") };
    if status.is_success() {
        return Delivery::Delivered { answer: shown };
    }
    match status.as_u16() {
        408 | 425 | 429 | 500..=599 => {
            Delivery::RetryLater { error: format!("{target} answered {shown}"), after: retry_after(headers, now) }
        }
        _ => Delivery::GiveUp { error: format!("{target} answered {shown}") },
    }
}

/// A request that got no answer: always worth another try.
pub fn http_transport(target: &str, error: &reqwest::Error, timeout: Duration) -> Delivery {
    Delivery::RetryLater { error: format!("{target}: {}", transport_detail(error, timeout)), after: None }
}

/// What a server said, for the record: Graph's error message when it is Graph's envelope, else the body. Whole:
/// the outbox redacts it before it cuts it short (a cut through a secret would leave a part no redaction finds).
fn answer_text(body: &[u8]) -> String {
    if let Some(error) = graph_error(body) {
        return format!("{}: {}", error.code, error.message);
    }
    String::from_utf8_lossy(body).trim().to_string()
}

/// `text` on one line (runs of white space made one space), inert (escape sequences and bidi controls shown by
/// their code points), cut to `width` characters with an ellipsis: for showing on a terminal.
pub fn one_line(text: &str, width: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = crate::render::visible::made_visible(&flat, &[]);
    if flat.chars().count() > width {
        format!("{}…", flat.chars().take(width.saturating_sub(1)).collect::<String>())
    } else {
        flat.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z").expect("valid").with_timezone(&Utc)
    }

    fn answer(code: u16, retry: Option<&str>, body: &str) -> Delivery {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).expect("header"));
        }
        http("teams host#1", StatusCode::from_u16(code).expect("status"), &headers, body.as_bytes(), now())
    }

    #[test]
    fn every_http_status_has_one_meaning() {
        assert!(matches!(answer(202, None, ""), Delivery::Delivered { .. }));
        assert!(matches!(answer(200, None, "1"), Delivery::Delivered { .. }));
        for code in [408, 425, 429, 500, 502, 503, 504] {
            assert!(matches!(answer(code, None, ""), Delivery::RetryLater { after: None, .. }), "{code}");
        }
        for code in [400, 401, 403, 404, 413, 410, 301] {
            assert!(matches!(answer(code, None, ""), Delivery::GiveUp { .. }), "{code}");
        }
        assert_eq!(
            answer(429, Some("7"), ""),
            Delivery::RetryLater {
                error: "teams host#1 answered 429 Too Many Requests".into(),
                after: Some(Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn the_servers_answer_is_kept_whole_for_the_outbox_to_redact_and_cut() {
        let Delivery::GiveUp { error } = answer(
            400,
            None,
            "{\"error\":{\"code\":\"ErrorInvalidRecipients\",\"message\":\"At least one recipient is not valid.\"}}",
        ) else {
            panic!("400 gives up")
        };
        assert_eq!(
            error,
            "teams host#1 answered 400 Bad Request: ErrorInvalidRecipients: At least one recipient is not valid."
        );
        let Delivery::RetryLater { error, .. } = answer(500, None, &format!("<html>\n{}</html>", "x".repeat(1000)))
        else {
            panic!("500 retries")
        };
        assert!(error.ends_with(&format!("<html>\n{}</html>", "x".repeat(1000))), "{error}");
    }
}
