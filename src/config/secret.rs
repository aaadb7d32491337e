//! A secret value from the configuration (`${env:X}`, `${file:X}`): a password, a client secret, a Teams
//! webhook URL. It never prints: `Debug` and `Display` show `<secret>`, and a webhook URL is shown by its host
//! and a short hash (`Secret::redacted_url`). What a server says back may still hold one — a webhook (or the
//! proxy before it) echoing the request URL in its error page — so every server answer that is kept or shown
//! goes through a `Redactor` that knows every secret of the configuration.

mod views;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use sha2::{Digest, Sha256};

use views::{Escaping, View};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    /// False for a reference whose secret is not at hand where the configuration was only checked (`validate`
    /// in a CI without production secrets): its value is empty, and nothing may be sent with it.
    available: bool,
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret { value: value.into(), available: true }
    }

    /// A secret referred to but not at hand here.
    pub fn unavailable() -> Self {
        Secret { value: String::new(), available: false }
    }

    pub fn is_available(&self) -> bool {
        self.available
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// A URL shown without its path and query (where webhook signatures are): `host#1a2b3c4d`.
    pub fn redacted_url(&self) -> String {
        let digest = Sha256::digest(self.value.as_bytes());
        let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let host = url::Url::parse(&self.value)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "?".into());
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

/// Removes every secret it knows from text — in any form a server may echo it. What it searches for, for each
/// secret (and, for a webhook URL, also its path and query alone and each long query value, the `sig`):
///
/// | form | how it is found |
/// |---|---|
/// | as it is | searched for (ASCII case ignored) |
/// | percent-encoded, upper or lower case, or as a form field (`+` for a space) | in the text with percent-encoding undone |
/// | JSON-escaped (`\"`, `\\`, `\/`, `\u00e9` with or without `ensure_ascii`, .NET's `\u0026`) | in the text with JSON escapes undone |
/// | HTML-escaped (`&amp;`, `&quot;`, `&#39;`, `&#x27;`) | in the text with character references undone |
/// | two of these, one inside the other (a percent-encoded URL in a JSON error) | in the text with both undone |
/// | base64, standard or URL-safe, alone or inside a longer blob (SMTP AUTH PLAIN) | its base64 at each of the three alignments, without the edge characters it shares with its neighbours |
/// | hexadecimal, either case | searched for |
///
/// Whatever is cut or squeezed for display is cut after redaction ([`Redactor::shown`]): a cut through a
/// secret would leave a part that no form matches.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// The plain texts searched for (each secret, and the parts of a webhook URL), before their encoded forms.
    plain: Vec<String>,
    /// SMTP (username, password) pairs, whose AUTH PLAIN blob is searched for whole.
    logins: Vec<(String, String)>,
    automaton: Option<AhoCorasick>,
}

impl Redactor {
    /// A redactor for `secrets`; `logins` are SMTP (username, password) pairs, whose AUTH forms are searched too.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>, logins: &[(&str, &Secret)]) -> Redactor {
        let mut plain: Vec<String> = Vec::new();
        for secret in secrets {
            plain.extend(searched(secret.expose()));
        }
        let logins = logins.iter().map(|(user, password)| (user.to_string(), password.expose().to_string())).collect();
        Redactor::build(plain, logins)
    }

    /// This redactor with more secrets: a bearer token, which only the client that holds it knows.
    pub fn with<'a>(&self, secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let mut plain = self.plain.clone();
        for secret in secrets {
            plain.extend(searched(secret.expose()));
        }
        Redactor::build(plain, self.logins.clone())
    }

    /// What this redactor and `other` both redact.
    pub fn merged(&self, other: &Redactor) -> Redactor {
        let plain = self.plain.iter().chain(&other.plain).cloned().collect();
        let mut logins = self.logins.clone();
        logins.extend(other.logins.iter().filter(|login| !self.logins.contains(login)).cloned());
        Redactor::build(plain, logins)
    }

    fn build(mut plain: Vec<String>, logins: Vec<(String, String)>) -> Redactor {
        // A login's password is a secret in every form, besides its AUTH blobs.
        plain.extend(logins.iter().map(|(_, password)| password.clone()));
        plain.retain(|text| text.len() >= SHORTEST);
        plain.sort();
        plain.dedup();
        let mut patterns: Vec<String> = Vec::new();
        for (user, password) in &logins {
            patterns.push(base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}")));
        }
        for text in &plain {
            patterns.push(text.clone());
            patterns.extend(base64_cores(text.as_bytes()));
            patterns.push(text.bytes().map(|byte| format!("{byte:02x}")).collect());
        }
        patterns.retain(|text| text.len() >= SHORTEST);
        patterns.sort();
        patterns.dedup();
        let automaton = (!patterns.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .ascii_case_insensitive(true)
                    .build(&patterns)
                    .ok()
            })
            .flatten();
        Redactor { plain, logins, automaton }
    }

    /// `text` with every secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let Some(automaton) = &self.automaton else { return text.to_string() };
        let plain = View::plain(text);
        let mut views: Vec<View<'_>> = vec![];
        for first in [Escaping::Json, Escaping::Percent, Escaping::Html] {
            if let Some(once) = plain.decoded(first) {
                for second in [Escaping::Json, Escaping::Percent, Escaping::Html] {
                    if second != first
                        && let Some(twice) = once.decoded(second)
                    {
                        views.push(twice);
                    }
                }
                views.push(once);
            }
        }
        views.push(plain);
        let mut found: Vec<(usize, usize)> = Vec::new();
        for view in &views {
            for hit in automaton.find_iter(view.bytes.as_ref()) {
                found.push(view.original(hit.start(), hit.end()));
            }
        }
        if found.is_empty() {
            return text.to_string();
        }
        found.sort_unstable();
        let mut out: Vec<u8> = Vec::with_capacity(text.len());
        let mut written = 0;
        for (start, end) in found {
            if end <= written {
                continue;
            }
            if start >= written {
                out.extend_from_slice(&text.as_bytes()[written..start]);
                out.extend_from_slice(REDACTED.as_bytes());
            }
            written = end;
        }
        out.extend_from_slice(&text.as_bytes()[written..]);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// `text` redacted, then on one line (runs of white space made one space) and cut to `width` characters
    /// with an ellipsis — in that order, and never through a `[redacted]`.
    pub fn shown(&self, text: &str, width: usize) -> String {
        let flat = self.redact(text).split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= width {
            return flat;
        }
        let mut cut = flat.char_indices().nth(width.saturating_sub(1)).map_or(flat.len(), |(at, _)| at);
        // A cut through the marker moves before it.
        if let Some((marker, _)) = flat.match_indices(REDACTED).find(|(at, _)| *at < cut && cut < at + REDACTED.len()) {
            cut = marker;
        }
        format!("{}…", &flat[..cut])
    }
}

/// The plain texts searched for one secret: itself, and for a URL its path, its query, both, and each long query
/// value (a signature is long; `api-version=2016-06-01` is not a secret).
fn searched(value: &str) -> Vec<String> {
    let mut plain = vec![value.to_string()];
    if let Ok(url) = url::Url::parse(value)
        && url.has_host()
    {
        let query = url.query().unwrap_or_default();
        plain.push(url.path().to_string());
        plain.push(query.to_string());
        plain.push(format!("{}?{query}", url.path()));
        plain.extend(url.query_pairs().map(|(_, value)| value.into_owned()).filter(|value| value.len() >= 16));
    }
    plain
}

/// What `bytes` look like inside base64 text, standard and URL-safe, wherever they start in it: for each of the
/// three alignments, the characters made of `bytes` alone (the edge characters share bits with the neighbours).
fn base64_cores(bytes: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let mut cores = Vec::new();
    for offset in 0..3usize {
        let mut padded = vec![0u8; offset];
        padded.extend_from_slice(bytes);
        let first = (8 * offset).div_ceil(6);
        let last = 8 * (offset + bytes.len()) / 6;
        if last <= first {
            continue;
        }
        for engine in [&STANDARD, &URL_SAFE] {
            let encoded = engine.encode(&padded);
            if let Some(core) = encoded.get(first..last) {
                cores.push(core.to_string());
            }
        }
    }
    cores
}

#[cfg(test)]
mod tests;
