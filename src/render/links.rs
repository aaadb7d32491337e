//! Links from a hit to the Defender portal: the page of a device, a file or a user that the hit names. Both
//! the e-mail and the Teams card use these; every part taken from a hit is percent-encoded, and a value that
//! does not look like the identifier it should be (a device id is 40 hex characters) makes no link at all.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::kql::plan::{Column, Row};

/// The Defender portal of a cloud (`global`, `usgov`, `usgov-dod`).
pub fn portal_for_cloud(cloud: &str) -> &'static str {
    match cloud {
        "usgov" => "https://security.microsoft.us",
        "usgov-dod" => "https://security.apps.mil",
        _ => "https://security.microsoft.com",
    }
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

fn is_hex(value: &str, lengths: &[usize]) -> bool {
    lengths.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_guid(value: &str) -> bool {
    value.len() == 36
        && value
            .bytes()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() })
}

/// The device page, from a Defender device id (40 hex characters).
pub fn device_url(portal: &str, device_id: &str) -> Option<String> {
    is_hex(device_id, &[40]).then(|| format!("{portal}/machines/v2/{}/overview", device_id.to_ascii_lowercase()))
}

/// The file page, from a SHA1 or SHA256.
pub fn file_url(portal: &str, hash: &str) -> Option<String> {
    is_hex(hash, &[40, 64]).then(|| format!("{portal}/file/{}", hash.to_ascii_lowercase()))
}

/// The user page, from an Entra object id (a GUID) or a user principal name.
pub fn user_url(portal: &str, user: &str) -> Option<String> {
    if is_guid(user) {
        Some(format!("{portal}/user?aad={}", user.to_ascii_lowercase()))
    } else if user.contains('@') && !user.chars().any(|c| c.is_whitespace() || c.is_control()) && user.len() <= 256 {
        Some(format!("{portal}/user?upn={}", encode(user)))
    } else {
        None
    }
}

/// A portal link a hit gives: what it opens and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// `Open device`, `Open file`, `Open user`.
    pub title: &'static str,
    pub url: String,
}

/// The columns that name each kind of entity, in order of preference.
pub const DEVICE_COLUMNS: &[&str] = &["DeviceId", "MachineId"];
pub const FILE_COLUMNS: &[&str] =
    &["SHA256", "FileSHA256", "SHA1", "FileSHA1", "InitiatingProcessSHA256", "InitiatingProcessSHA1"];
pub const USER_COLUMNS: &[&str] = &["AccountObjectId", "AccountUpn", "UserId", "Actor", "AccountId"];

/// Where a portal button's identifier comes from (`links:` of a `notify` entry): the first of these columns
/// that holds a valid one. The default is the conventions of Defender's tables, in order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkColumns {
    pub device: Vec<String>,
    pub file: Vec<String>,
    pub user: Vec<String>,
}

impl Default for LinkColumns {
    fn default() -> Self {
        let owned = |names: &[&str]| names.iter().map(|name| name.to_string()).collect();
        LinkColumns { device: owned(DEVICE_COLUMNS), file: owned(FILE_COLUMNS), user: owned(USER_COLUMNS) }
    }
}

fn first_valid(
    columns: &[Column],
    row: &Row,
    names: &[String],
    make: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    names.iter().find_map(|name| {
        let index = columns.iter().position(|c| &c.name == name)?;
        let value = row.get(index)?.to_text();
        make(value.trim())
    })
}

/// The portal pages one hit names: its device, its file, its user (each at most once).
pub fn links_for_hit(portal: &str, sources: &LinkColumns, columns: &[Column], row: &Row) -> Vec<Link> {
    let mut links = Vec::new();
    if let Some(url) = first_valid(columns, row, &sources.device, |v| device_url(portal, v)) {
        links.push(Link { title: "Open device", url });
    }
    if let Some(url) = first_valid(columns, row, &sources.file, |v| file_url(portal, v)) {
        links.push(Link { title: "Open file", url });
    }
    if let Some(url) = first_valid(columns, row, &sources.user, |v| user_url(portal, v)) {
        links.push(Link { title: "Open user", url });
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kql::types::Type;
    use crate::kql::value::Value;

    #[test]
    fn links_only_from_values_that_look_right() {
        let portal = portal_for_cloud("global");
        assert_eq!(
            device_url(portal, "4F0C7A1B2C3D4E5F60718293A4B5C6D7E8F90A1B").as_deref(),
            Some("https://security.microsoft.com/machines/v2/4f0c7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b/overview")
        );
        assert_eq!(device_url(portal, "javascript:alert(1)"), None);
        assert_eq!(
            file_url(portal, &"a".repeat(64)).as_deref(),
            Some(&*format!("https://security.microsoft.com/file/{}", "a".repeat(64)))
        );
        assert_eq!(file_url(portal, "../../etc"), None);
        assert_eq!(
            user_url(portal, "megan.bowen@contoso.example").as_deref(),
            Some("https://security.microsoft.com/user?upn=megan%2Ebowen%40contoso%2Eexample")
        );
        assert_eq!(user_url(portal, "a b@x\"><script>"), None);
        assert_eq!(portal_for_cloud("usgov-dod"), "https://security.apps.mil");
    }

    #[test]
    fn a_hit_gives_each_kind_of_link_once() {
        let columns = vec![
            Column::new("DeviceId", Type::String),
            Column::new("FileSHA256", Type::String),
            Column::new("UserId", Type::String),
        ];
        let row =
            vec![Value::string("a".repeat(40)), Value::string("b".repeat(64)), Value::string("svc@contoso.example")];
        let titles: Vec<&str> =
            links_for_hit("https://security.microsoft.com", &LinkColumns::default(), &columns, &row)
                .iter()
                .map(|l| l.title)
                .collect();
        assert_eq!(titles, vec!["Open device", "Open file", "Open user"]);
        // `links: { user: UserId, file: none }`: the file button goes, the user comes from the named column.
        let sources = LinkColumns { file: Vec::new(), user: vec!["UserId".into()], ..LinkColumns::default() };
        let titles: Vec<&str> =
            links_for_hit("https://security.microsoft.com", &sources, &columns, &row).iter().map(|l| l.title).collect();
        assert_eq!(titles, vec!["Open device", "Open user"]);
    }
}
