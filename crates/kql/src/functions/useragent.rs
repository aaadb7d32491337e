//! `parse_user_agent(text, look_for)`: the browser, operating system and device a user-agent string names,
//! found as Kusto finds them — with the ua-parser project's shared patterns (uap-core, `data/uap-core.json`,
//! made by `tools/uap_core.py`): the first pattern of a list that matches wins, its groups or its
//! replacements (`$1`…`$9`) give the fields, and "Other" is the family nothing matched.

use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use super::super::types::Type;
use super::super::value::{Dyn, Str, Value};
use super::{CallContext, FunctionDef, Param, def, expect};

pub(super) static FUNCTIONS: [FunctionDef; 1] = [def(
    "parse_user_agent",
    2,
    2,
    |a| expect(a, &[Param::String, Param::Any]).map(|()| Type::Dynamic),
    parse_user_agent,
)];

#[derive(Deserialize)]
struct Patterns {
    user_agent_parsers: Vec<Pattern>,
    os_parsers: Vec<Pattern>,
    device_parsers: Vec<Pattern>,
}

/// One entry of a list: its regular expression and the replacements it names (by uap-core's keys).
#[derive(Deserialize)]
struct Pattern {
    regex: String,
    #[serde(default)]
    regex_flag: Option<String>,
    #[serde(flatten)]
    replacements: std::collections::HashMap<String, String>,
}

struct Compiled {
    regex: Regex,
    replacements: std::collections::HashMap<String, String>,
}

struct Parsers {
    browser: Vec<Compiled>,
    os: Vec<Compiled>,
    device: Vec<Compiled>,
}

/// The patterns, compiled once on first use (a pattern the engine cannot compile is left out, and the next
/// one in the list gets its chance, as a missing pattern would).
fn parsers() -> &'static Parsers {
    static PARSERS: OnceLock<Parsers> = OnceLock::new();
    PARSERS.get_or_init(|| {
        let patterns: Patterns = serde_json::from_str(include_str!("../../data/uap-core.json")).unwrap_or(Patterns {
            user_agent_parsers: Vec::new(),
            os_parsers: Vec::new(),
            device_parsers: Vec::new(),
        });
        let compile = |list: Vec<Pattern>| -> Vec<Compiled> {
            list.into_iter()
                .filter_map(|pattern| {
                    let flags = if pattern.regex_flag.as_deref() == Some("i") { "(?i)" } else { "" };
                    let translated = translate(&pattern.regex)?;
                    let regex = Regex::new(&format!("{flags}{translated}")).ok()?;
                    Some(Compiled { regex, replacements: pattern.replacements })
                })
                .collect()
        };
        Parsers {
            browser: compile(patterns.user_agent_parsers),
            os: compile(patterns.os_parsers),
            device: compile(patterns.device_parsers),
        }
    })
}

/// A uap-core pattern in the `regex` crate's spelling. The patterns are written for PCRE-like engines, where
/// `\ ` is a space (RE2 refuses that escape); otherwise RE2's reading applies (ASCII `\d`, literal `{`).
fn translate(pattern: &str) -> Option<String> {
    super::super::re2::translate(&pattern.replace("\\ ", " ")).ok()
}

/// Each field: the key of its replacement, the group that gives it without one, and its name in the result.
const BROWSER: &[(&str, usize, &str)] = &[
    ("family_replacement", 1, "Family"),
    ("v1_replacement", 2, "MajorVersion"),
    ("v2_replacement", 3, "MinorVersion"),
    ("v3_replacement", 4, "Patch"),
];
const OS: &[(&str, usize, &str)] = &[
    ("os_replacement", 1, "Family"),
    ("os_v1_replacement", 2, "MajorVersion"),
    ("os_v2_replacement", 3, "MinorVersion"),
    ("os_v3_replacement", 4, "Patch"),
    ("os_v4_replacement", 5, "PatchMinor"),
];
/// A device's brand has no group of its own: only its replacement gives it.
const DEVICE: &[(&str, usize, &str)] =
    &[("device_replacement", 1, "Family"), ("brand_replacement", 0, "Brand"), ("model_replacement", 1, "Model")];

/// The fields the first matching pattern gives; "Other" and empty fields when none matches.
fn fields(list: &[Compiled], fields: &[(&str, usize, &str)], text: &str) -> Dyn {
    let found = list.iter().find_map(|pattern| pattern.regex.captures(text).map(|groups| (pattern, groups)));
    let pairs = fields
        .iter()
        .enumerate()
        .map(|(index, (key, group, name))| {
            let value = match &found {
                None if index == 0 => "Other".to_string(),
                None => String::new(),
                Some((pattern, groups)) => match pattern.replacements.get(*key) {
                    Some(replacement) => substitute(replacement, groups),
                    None if *group > 0 => groups.get(*group).map_or("", |m| m.as_str()).to_string(),
                    None => String::new(),
                },
            };
            (Str::from(*name), Dyn::String(Str::from(value.trim())))
        })
        .collect();
    Dyn::object(pairs)
}

/// A replacement with `$1`…`$9` put in (a group that did not take part is empty).
fn substitute(replacement: &str, groups: &regex::Captures) -> String {
    let mut out = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().and_then(|d| d.to_digit(10))) {
            ('$', Some(digit)) if digit > 0 => {
                chars.next();
                out.push_str(groups.get(digit as usize).map_or("", |m| m.as_str()));
            }
            _ => out.push(c),
        }
    }
    out
}

/// `look_for`: "browser", "os" or "device", or an array of them; the result holds the ones asked for.
fn parse_user_agent(_: &CallContext, v: &[Value]) -> Value {
    let text = v[0].to_text();
    let wanted: Vec<String> = match v[1].as_dyn() {
        Some(Dyn::Array(items)) => items.iter().map(|item| item.to_text().to_ascii_lowercase()).collect(),
        _ => vec![v[1].to_text().to_ascii_lowercase()],
    };
    let parsers = parsers();
    let mut pairs = Vec::new();
    for (target, name) in [("browser", "Browser"), ("os", "OperatingSystem"), ("device", "Device")] {
        if !wanted.iter().any(|w| w == target) {
            continue;
        }
        let value = match target {
            "browser" => fields(&parsers.browser, BROWSER, &text),
            "os" => fields(&parsers.os, OS, &text),
            _ => fields(&parsers.device, DEVICE, &text),
        };
        pairs.push((Str::from(name), value));
    }
    if pairs.is_empty() {
        return Value::Dynamic(Dyn::Null);
    }
    Value::Dynamic(Dyn::object(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern left out would let the next one answer for it: every pattern of the set must compile.
    #[test]
    fn every_pattern_compiles() {
        let patterns: Patterns =
            serde_json::from_str(include_str!("../../data/uap-core.json")).expect("the bundled patterns parse");
        let total = patterns.user_agent_parsers.len() + patterns.os_parsers.len() + patterns.device_parsers.len();
        let parsers = parsers();
        assert!(total > 1000, "{total}");
        let failed: Vec<String> = patterns
            .user_agent_parsers
            .iter()
            .chain(&patterns.os_parsers)
            .chain(&patterns.device_parsers)
            .filter_map(|p| match translate(&p.regex) {
                Some(translated) => Regex::new(&translated).err().map(|e| format!("{}: {e}", p.regex)),
                None => Some(p.regex.clone()),
            })
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
        assert_eq!(parsers.browser.len() + parsers.os.len() + parsers.device.len(), total);
    }
}
