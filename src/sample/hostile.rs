//! Hostile values for the fields a person types: comments, file names, rule names, alert titles, role names.
//!
//! Real audit data carries whatever an analyst (or an attacker holding an analyst's session) typed, and huntbook
//! renders it into HTML mail, Teams cards and Markdown. The sample data therefore carries script tags, broken-out
//! attributes, Markdown links, header-injection line breaks, very long text, non-ASCII text and a right-to-left
//! override. Every value is placed at least once (the first time its field is asked for); after that a small share
//! of typed values is hostile, so the count grows with the data. This module decides *which* text to use; the
//! scenarios decide where it goes.

use super::random::{SampleRng, chance, index};

/// Every hostile value. Each appears verbatim inside some typed value of the sample data: appended to an ordinary
/// comment or name (as an attacker or a careless paste would), or as a file name.
pub(crate) const HOSTILE_TEXTS: [&str; 10] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(document.domain)>",
    "[click here](https://evil.example/x)",
    "**bold**",
    "'single' \"double\"",
    "run `whoami /all` first",
    "stage 1 | stage 2",
    "\r\nBcc: attacker@evil.example",
    "Ünïcødé ✓ 日本語",
    "invoice_2026\u{202E}fdp.exe",
];

/// The file name that hides its real extension behind a right-to-left override.
const RIGHT_TO_LEFT_FILE_NAME: usize = 9;
/// The header-injection value, appended without a space so the line break directly follows the text.
const HEADER_INJECTION: usize = 7;

/// The length of the very long comment: longer than any table cell or card field should show unabridged.
pub(crate) const LONG_COMMENT_LENGTH: usize = 2_000;

/// The kinds of typed fields that may carry hostile text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypedField {
    IsolationComment,
    ReleaseComment,
    ActionComment,
    FileName,
    RuleName,
    AlertTitle,
    RoleName,
}

/// Which hostile values each field is guaranteed to receive, in order.
const GUARANTEED: [(TypedField, Hostile); 11] = [
    (TypedField::IsolationComment, Hostile::Text(0)),
    (TypedField::IsolationComment, Hostile::LongComment),
    (TypedField::ReleaseComment, Hostile::Text(7)),
    (TypedField::ReleaseComment, Hostile::Text(2)),
    (TypedField::ActionComment, Hostile::Text(5)),
    (TypedField::FileName, Hostile::Text(9)),
    (TypedField::FileName, Hostile::Text(8)),
    (TypedField::RuleName, Hostile::Text(3)),
    (TypedField::RuleName, Hostile::Text(6)),
    (TypedField::AlertTitle, Hostile::Text(1)),
    (TypedField::RoleName, Hostile::Text(4)),
];

/// The share of typed values (after the guaranteed ones) that are hostile.
const HOSTILE_SHARE: f64 = 0.015;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hostile {
    Text(usize),
    LongComment,
}

/// Hands out typed values: the guaranteed hostile ones first, then mostly the ordinary value offered by the caller.
pub(crate) struct HostileSupply {
    pending: Vec<(TypedField, Hostile)>,
}

impl HostileSupply {
    pub(crate) fn new() -> HostileSupply {
        HostileSupply { pending: GUARANTEED.to_vec() }
    }

    /// The value a person typed into `field`: `ordinary` most of the time, a hostile value otherwise.
    pub(crate) fn typed(&mut self, rng: &mut SampleRng, field: TypedField, ordinary: String) -> String {
        if let Some(position) = self.pending.iter().position(|(pending_field, _)| *pending_field == field) {
            let (_, hostile) = self.pending.remove(position);
            return render(hostile, field, &ordinary);
        }
        if chance(rng, HOSTILE_SHARE) {
            let hostile = if index(rng, HOSTILE_TEXTS.len() + 1) == 0 {
                Hostile::LongComment
            } else {
                Hostile::Text(index(rng, HOSTILE_TEXTS.len()))
            };
            return render(hostile, field, &ordinary);
        }
        ordinary
    }
}

/// Shapes a hostile value for its field: a file name of its own, or text appended to the ordinary value.
fn render(hostile: Hostile, field: TypedField, ordinary: &str) -> String {
    match (hostile, field) {
        (Hostile::Text(RIGHT_TO_LEFT_FILE_NAME), TypedField::FileName) => {
            HOSTILE_TEXTS[RIGHT_TO_LEFT_FILE_NAME].to_owned()
        }
        (Hostile::Text(text), TypedField::FileName) => format!("{}.docx", HOSTILE_TEXTS[text]),
        (Hostile::Text(HEADER_INJECTION), _) => {
            format!("{ordinary}{}", HOSTILE_TEXTS[HEADER_INJECTION])
        }
        (Hostile::Text(text), _) => format!("{ordinary} {}", HOSTILE_TEXTS[text]),
        (Hostile::LongComment, TypedField::FileName) => ordinary.to_owned(),
        (Hostile::LongComment, _) => long_comment(ordinary),
    }
}

/// `ordinary`, padded with a pasted log excerpt to exactly `LONG_COMMENT_LENGTH` characters.
fn long_comment(ordinary: &str) -> String {
    const PASTED: &str = " | pasted from the EDR timeline: powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0A";
    let mut comment: String = ordinary.chars().take(LONG_COMMENT_LENGTH).collect();
    while comment.chars().count() < LONG_COMMENT_LENGTH {
        comment.push_str(PASTED);
    }
    comment.chars().take(LONG_COMMENT_LENGTH).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn guaranteed_values_come_first_then_mostly_ordinary_ones() {
        let mut rng = SampleRng::seed_from_u64(3);
        let mut supply = HostileSupply::new();
        let first = supply.typed(&mut rng, TypedField::IsolationComment, "plain".to_owned());
        let second = supply.typed(&mut rng, TypedField::IsolationComment, "plain".to_owned());
        assert_eq!(first, format!("plain {}", HOSTILE_TEXTS[0]));
        assert_eq!(second.chars().count(), LONG_COMMENT_LENGTH);
        let ordinary = (0..1_000)
            .filter(|_| supply.typed(&mut rng, TypedField::IsolationComment, "plain".to_owned()) == "plain")
            .count();
        assert!(ordinary > 950, "{ordinary}");
    }

    #[test]
    fn hostile_file_names_stay_file_names() {
        let mut rng = SampleRng::seed_from_u64(4);
        let mut supply = HostileSupply::new();
        let rtl = supply.typed(&mut rng, TypedField::FileName, "a.exe".to_owned());
        let unicode = supply.typed(&mut rng, TypedField::FileName, "a.exe".to_owned());
        assert!(rtl.contains('\u{202E}'));
        assert_eq!(unicode, "Ünïcødé ✓ 日本語.docx");
    }
}
