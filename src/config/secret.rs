//! A secret value from the configuration (`${env:X}`, `${file:X}`): a password, a client secret, a Teams
//! webhook URL. It never prints: `Debug` and `Display` show `<secret>`, and a webhook URL is shown by its host
//! and a short hash (`Secret::redacted_url`). What a server says back may still hold one — a webhook (or the
//! proxy before it) echoing the request URL in its error page — so every server answer that is kept or shown
//! goes through a `Redactor` that knows every secret of the configuration.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A URL shown without its path and query (where webhook signatures are): `host#1a2b3c4d`.
    pub fn redacted_url(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let host =
            url::Url::parse(&self.0).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| "?".into());
        format!("{host}#{short}")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// What stands where a secret was.
pub const REDACTED: &str = "[redacted]";

/// A secret shorter than this is not searched for: it would blot out ordinary words, and a secret that short
/// protects nothing anyway.
const SHORTEST: usize = 6;

/// Removes every secret it knows from text — in any form a server may echo it: as it is, percent-encoded
/// (upper or lower case, or as a form field), JSON-escaped (`\/`, `\u0026`), HTML-escaped (`&amp;`), and for a webhook URL also
/// its path and query alone and each long query value (the `sig`); for an SMTP password also base64 (AUTH
/// LOGIN) and the AUTH PLAIN blob.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    automaton: Option<AhoCorasick>,
}

/// What percent-encoding leaves alone in a URL component: the unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

impl Redactor {
    /// A redactor for `secrets`; `logins` are SMTP (username, password) pairs, whose AUTH forms are searched too.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>, logins: &[(&str, &Secret)]) -> Redactor {
        let mut plain: Vec<String> = Vec::new();
        for secret in secrets {
            let value = secret.expose();
            plain.push(value.to_string());
            if let Ok(url) = url::Url::parse(value)
                && url.has_host()
            {
                let query = url.query().unwrap_or_default();
                plain.push(url.path().to_string());
                plain.push(query.to_string());
                plain.push(format!("{}?{query}", url.path()));
                // Long values only: a signature is, `api-version=2016-06-01` is not a secret.
                plain.extend(url.query_pairs().map(|(_, value)| value.into_owned()).filter(|value| value.len() >= 16));
            }
        }
        let mut encoded: Vec<String> = Vec::new();
        for (user, password) in logins {
            let engine = base64::engine::general_purpose::STANDARD;
            encoded.push(engine.encode(password.expose()));
            encoded.push(engine.encode(format!("\0{user}\0{}", password.expose())));
        }
        for text in plain.iter().filter(|text| text.len() >= SHORTEST) {
            encoded.push(text.clone());
            encoded.push(utf8_percent_encode(text, NON_ALPHANUMERIC).to_string());
            encoded.push(utf8_percent_encode(text, COMPONENT).to_string());
            encoded.push(url::form_urlencoded::byte_serialize(text.as_bytes()).collect());
            encoded.push(text.replace('/', "\\/"));
            encoded.push(text.replace('&', "\\u0026").replace('=', "\\u003d").replace('/', "\\/"));
            encoded.push(text.replace('&', "\\u0026").replace('=', "\\u003d"));
            encoded.push(text.replace('&', "&amp;"));
        }
        encoded.retain(|text| text.len() >= SHORTEST);
        encoded.sort();
        encoded.dedup();
        let automaton = (!encoded.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .ascii_case_insensitive(true)
                    .build(&encoded)
                    .ok()
            })
            .flatten();
        Redactor { automaton }
    }

    /// `text` with every secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        match &self.automaton {
            Some(automaton) if automaton.is_match(text) => {
                let mut out = String::with_capacity(text.len());
                automaton.replace_all_with(text, &mut out, |_, _, out| {
                    out.push_str(REDACTED);
                    true
                });
                out
            }
            _ => text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Redactor, Secret};

    #[test]
    fn every_echo_of_a_secret_is_redacted() {
        let webhook = Secret::new(
            "https://prod-01.westeurope.logic.azure.com:443/workflows/8f1c2d3e4f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=AbCdEf0123456789xyz",
        );
        let password = Secret::new("hunter2-P@ss");
        let redactor = Redactor::new([&webhook, &password], &[("huntbook@contoso.example", &password)]);
        let echoes = [
            webhook.expose().to_string(),
            "error for /workflows/8f1c2d3e4f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=AbCdEf0123456789xyz".to_string(),
            "bad signature AbCdEf0123456789xyz".to_string(),
            percent_encoding::utf8_percent_encode(webhook.expose(), percent_encoding::NON_ALPHANUMERIC).to_string(),
            percent_encoding::utf8_percent_encode(webhook.expose(), percent_encoding::NON_ALPHANUMERIC)
                .to_string()
                .to_lowercase(),
            webhook.expose().replace('/', "\\/").replace('&', "\\u0026"),
            webhook.expose().replace('&', "&amp;"),
            "535 5.7.8 password hunter2-P@ss is wrong".to_string(),
            "535 auth failed: AGh1bnRib29rQGNvbnRvc28uZXhhbXBsZQBodW50ZXIyLVBAc3M=".to_string(),
            "334 aHVudGVyMi1QQHNz".to_string(),
            "invalid client_secret=hunter2-P%40ss given".to_string(),
        ];
        for echo in echoes {
            let redacted = redactor.redact(&echo);
            assert!(redacted.contains("[redacted]"), "{echo} → {redacted}");
            for leak in ["AbCdEf0123456789", "8f1c2d3e4f", "hunter2", "aHVudGVyMi1QQHNz", "AGh1bnRib29r"] {
                assert!(!redacted.to_lowercase().contains(&leak.to_lowercase()), "{echo} → {redacted}");
            }
        }
        assert_eq!(redactor.redact("202 Accepted"), "202 Accepted");
        assert_eq!(Redactor::default().redact("anything"), "anything");
    }

    #[test]
    fn never_prints_and_redacts_urls() {
        let secret = Secret::new("https://prod-01.westeurope.logic.azure.com/workflows/abc/invoke?sig=SECRET");
        assert_eq!(format!("{secret} {secret:?}"), "<secret> <secret>");
        let redacted = secret.redacted_url();
        assert!(
            redacted.starts_with("prod-01.westeurope.logic.azure.com#") && !redacted.contains("SECRET"),
            "{redacted}"
        );
    }
}
