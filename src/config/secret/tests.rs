//! The redactor against the forms a server may echo a secret in, for every kind of secret the configuration
//! holds. The encoders here are written from each format's rules (and the habits of the servers that write
//! them: Python's `ensure_ascii`, .NET's `JavaScriptEncoder`, OWASP's HTML escaping), not from the redactor.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{REDACTED, Redactor, Secret};

/// What percent-encoding leaves alone in a URL component: the unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn utf16_escapes(character: char, upper: bool) -> String {
    let mut units = [0u16; 2];
    character
        .encode_utf16(&mut units)
        .iter()
        .map(|unit| if upper { format!("\\u{unit:04X}") } else { format!("\\u{unit:04x}") })
        .collect()
}

/// JSON as serde (and Go, and most) write it: `"` and `\` escaped, controls as `\n` or `\u001f`, the rest as is.
fn json(text: &str) -> String {
    let quoted = serde_json::to_string(text).expect("a string");
    quoted[1..quoted.len() - 1].to_string()
}

/// Python's `json.dumps` (`ensure_ascii=True`, the default): every non-ASCII character as `\uXXXX`.
fn json_ensure_ascii(text: &str) -> String {
    json(text).chars().map(|c| if c.is_ascii() { c.to_string() } else { utf16_escapes(c, false) }).collect()
}

/// .NET's `System.Text.Json` default encoder: HTML-sensitive characters and every non-ASCII one as `\u00XX`.
fn json_dotnet(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\\' => "\\\\".to_string(),
            '"' | '&' | '\'' | '+' | '<' | '>' | '`' => utf16_escapes(c, true),
            c if !c.is_ascii() || c.is_control() => utf16_escapes(c, true),
            c => c.to_string(),
        })
        .collect()
}

/// PHP's `json_encode` and older .NET: `/` as `\/`.
fn json_slashes(text: &str) -> String {
    json(text).replace('/', "\\/")
}

fn html_minimal(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn html_decimal(text: &str) -> String {
    html_minimal(text).replace('\'', "&#39;")
}

/// OWASP's recommendation: `'` as `&#x27;` and `/` as `&#x2F;`.
fn html_owasp(text: &str) -> String {
    html_minimal(text).replace('\'', "&#x27;").replace('/', "&#x2F;")
}

fn hex(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}

/// The characters of `prefix ‖ secret ‖ suffix` in base64 that encode the secret's bytes alone.
fn base64_inside(engine: &base64::engine::GeneralPurpose, prefix: &[u8], secret: &str) -> (String, String) {
    let mut whole = prefix.to_vec();
    whole.extend_from_slice(secret.as_bytes());
    whole.extend_from_slice(b"-and-what-follows");
    let encoded = engine.encode(&whole);
    let first = (8 * prefix.len()).div_ceil(6);
    let last = 8 * (prefix.len() + secret.len()) / 6;
    (encoded.clone(), encoded[first..last].to_string())
}

/// Every form of `secret` a server may echo: (name of the form, the text echoed, the part of it that must go).
fn forms(secret: &str) -> Vec<(&'static str, String, String)> {
    let same = |name: &'static str, text: String| (name, text.clone(), text);
    let mut forms = vec![
        same("plain", secret.to_string()),
        same("percent-encoded", utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string()),
        same("percent-encoded, lower case", utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string().to_lowercase()),
        same("percent-encoded component", utf8_percent_encode(secret, COMPONENT).to_string()),
        same("form field", url::form_urlencoded::byte_serialize(secret.as_bytes()).collect()),
        same("JSON", json(secret)),
        same("JSON, ensure_ascii", json_ensure_ascii(secret)),
        same("JSON, .NET", json_dotnet(secret)),
        same("JSON, slashes escaped", json_slashes(secret)),
        same("HTML", html_minimal(secret)),
        same("HTML, &#39;", html_decimal(secret)),
        same("HTML, OWASP", html_owasp(secret)),
        same("base64", STANDARD.encode(secret)),
        same("base64 unpadded", STANDARD_NO_PAD.encode(secret)),
        same("base64 URL-safe", URL_SAFE.encode(secret)),
        same("base64 URL-safe unpadded", URL_SAFE_NO_PAD.encode(secret)),
        same("hex", hex(secret)),
        same("HEX", hex(secret).to_uppercase()),
        same("percent-encoded inside JSON", json_dotnet(&utf8_percent_encode(secret, COMPONENT).to_string())),
        same("JSON inside a percent-encoded query", utf8_percent_encode(&json(secret), NON_ALPHANUMERIC).to_string()),
        same("JSON inside HTML", html_decimal(&json_ensure_ascii(secret))),
    ];
    for (name, engine) in [("base64 inside a blob", &STANDARD), ("URL-safe base64 inside a blob", &URL_SAFE)] {
        for prefix in [&b"\0user@contoso.example\0"[..], b"x:", b"ab:"] {
            let (blob, core) = base64_inside(engine, prefix, secret);
            forms.push((name, blob, core));
        }
    }
    forms
}

/// Every run of `width` characters of `text`.
fn windows(text: &str, width: usize) -> Vec<String> {
    let characters: Vec<char> = text.chars().collect();
    characters.windows(width.min(characters.len())).map(|window| window.iter().collect()).collect()
}

/// Echoes every form of `secret` inside a server's answer and checks that no eight characters of it survive.
fn assert_every_form_redacted(kind: &str, redactor: &Redactor, secret: &str) {
    for (form, echo, must_go) in forms(secret) {
        let answer = format!("«answer» {echo} «end»");
        let redacted = redactor.redact(&answer);
        assert!(redacted.contains(REDACTED), "{kind}, {form}: nothing redacted in {answer}");
        assert!(redacted.starts_with("«answer» ") && redacted.ends_with(" «end»"), "{kind}, {form}: {redacted}");
        for window in windows(&must_go, 8) {
            assert!(
                !redacted.to_lowercase().contains(&window.to_lowercase()),
                "{kind}, {form}: `{window}` of `{must_go}` survived in {redacted}"
            );
        }
    }
}

const WEBHOOK: &str = "https://prod-01.westeurope.logic.azure.com:443/workflows/8f1c2d3e4f5a/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=AbCdEf0123456789xyz_-Q";

#[test]
fn every_form_of_every_kind_of_secret_is_redacted() {
    let client_secret = Secret::new("Qx7~\"p\\é/a&b=c+d<e>'f.Z9");
    let password = Secret::new("hunter2-P@ss\"é\\ ü&");
    let webhook = Secret::new(WEBHOOK);
    let http_token = Secret::new("hb-status-Tok3n/+=~");
    let redactor =
        Redactor::new([&client_secret, &password, &webhook, &http_token], &[("huntbook@contoso.example", &password)]);
    let bearer = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLXBhcnQ";
    let with_token = redactor.with([&Secret::new(bearer)]);

    assert_every_form_redacted("client secret", &redactor, client_secret.expose());
    assert_every_form_redacted("SMTP password", &redactor, password.expose());
    assert_every_form_redacted("webhook URL", &redactor, WEBHOOK);
    assert_every_form_redacted("webhook path", &redactor, "/workflows/8f1c2d3e4f5a/triggers/manual/paths/invoke");
    assert_every_form_redacted("webhook signature", &redactor, "AbCdEf0123456789xyz_-Q");
    assert_every_form_redacted("HTTP token", &redactor, http_token.expose());
    assert_every_form_redacted("bearer token", &with_token, bearer);
    // The token is the Graph client's alone: the configuration's redactor does not know it.
    assert_eq!(redactor.redact(bearer), bearer);
}

#[test]
fn the_smtp_auth_plain_blob_goes_whole() {
    let password = Secret::new("hunter2-P@ss");
    let redactor = Redactor::new([&password], &[("huntbook@contoso.example", &password)]);
    let blob = STANDARD.encode("\0huntbook@contoso.example\0hunter2-P@ss");
    assert_eq!(redactor.redact(&format!("535 auth failed: {blob}")), "535 auth failed: [redacted]");
}

#[test]
fn ordinary_text_is_left_alone() {
    let redactor = Redactor::new([&Secret::new(WEBHOOK), &Secret::new("hunter2-P@ss")], &[]);
    for text in [
        "202 Accepted",
        "400 Bad Request: {\"error\":{\"code\":\"BadRequest\",\"message\":\"Query could not be parsed at 'x'\"}}",
        "api-version=2016-06-01 &amp; %20 \\u0041 aGVsbG8gd29ybGQ=",
        "",
    ] {
        assert_eq!(redactor.redact(text), text);
    }
    assert_eq!(Redactor::default().redact("hunter2-P@ss"), "hunter2-P@ss");
    // A secret too short to search for is not searched for: it would blot out ordinary words.
    assert_eq!(Redactor::new([&Secret::new("abc")], &[]).redact("abc abcdef"), "abc abcdef");
}

#[test]
fn a_secret_across_the_cut_is_redacted_before_the_cut() {
    let webhook = Secret::new(WEBHOOK);
    let redactor = Redactor::new([&webhook], &[]);
    let encoded = utf8_percent_encode(WEBHOOK, NON_ALPHANUMERIC).to_string();
    for padding in [250, 280, 295, 299, 300, 310] {
        let answer = format!("{{\"error\":{{\"message\":\"{} {encoded} | {WEBHOOK}\"}}}}", "p".repeat(padding));
        let shown = redactor.shown(&answer, 300);
        assert!(shown.chars().count() <= 300, "{padding}: {shown}");
        for window in windows(&encoded, 8).iter().chain(windows(WEBHOOK, 8).iter()) {
            if window.chars().all(|c| c == 'p' || c == ' ')
                || "https://prod-01.westeurope.logic.azure.com".contains(window.as_str())
            {
                continue;
            }
            assert!(!shown.contains(window.as_str()), "{padding}: `{window}` shown in {shown}");
        }
        // Cut before the marker, never through it.
        let tail = shown.trim_end_matches('…');
        assert!(!tail.ends_with("[redac") && !tail.ends_with('['), "{padding}: {shown}");
    }
    assert_eq!(redactor.shown("a\n\n b\tc", 300), "a b c");
    // A cut just after the marker keeps it; one through it moves before it.
    let plain = Redactor::new([&Secret::new("SECRETVALUE1")], &[]);
    assert_eq!(plain.shown("ab SECRETVALUE1 tail tail", 14), "ab [redacted]…");
    assert_eq!(plain.shown("ab SECRETVALUE1 tail tail", 10), "ab …");
    assert_eq!(redactor.shown(&format!("x {WEBHOOK} y"), 5), "x …");
}

#[test]
fn never_prints_and_redacts_urls() {
    let secret = Secret::new("https://prod-01.westeurope.logic.azure.com/workflows/abc/invoke?sig=SECRET");
    assert_eq!(format!("{secret} {secret:?}"), "<secret> <secret>");
    let redacted = secret.redacted_url();
    assert!(redacted.starts_with("prod-01.westeurope.logic.azure.com#") && !redacted.contains("SECRET"), "{redacted}");
}
