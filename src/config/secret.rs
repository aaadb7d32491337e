//! A secret value from the configuration (`${env:X}`, `${file:X}`): a password, a client secret, a Teams
//! webhook URL. It never prints: `Debug` and `Display` show `<secret>`, and a webhook URL is shown by its host
//! and a short hash (`Secret::redacted_url`).

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

#[cfg(test)]
mod tests {
    use super::Secret;

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
