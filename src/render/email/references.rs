//! The hit columns a template names, so that `validate` can say that `{{first.AccountDisplayNam}}` names nothing
//! (handlebars renders a missing name as an empty string, without a word). It reads the mustaches of the text,
//! not handlebars' parse tree: `{{first.X}}`, `{{first.[X]}}`, `{{hits.[0].X}}`, `{{hits.0.X}}` anywhere, and
//! `{{X}}` / `{{this.X}}` (also as a helper's argument) inside `{{#each hits}}` or `{{#with first}}`.

use std::sync::LazyLock;

use regex::Regex;

/// A column named in a template, and where (characters of the template's text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnReference {
    pub column: String,
    pub offset: usize,
    pub length: usize,
}

/// The helpers and keywords a mustache may start with that are not a hit's column.
const NOT_COLUMNS: &[&str] = &[
    "table",
    "datetime",
    "default",
    "json",
    "truncate",
    "plural",
    "device_link",
    "file_link",
    "user_link",
    "if",
    "unless",
    "each",
    "with",
    "lookup",
    "log",
    "else",
    "this",
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "and",
    "or",
    "not",
    "len",
];

static MUSTACHE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)\{\{\{?~?(?P<body>.*?)~?\}?\}\}").unwrap_or_else(|_| unreachable!("a valid regex"))
});
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|(?:\[[^\]]*\]|[^\s()=\[])+"#)
        .unwrap_or_else(|_| unreachable!("a valid regex"))
});
static HIT_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:first|hits\.\[?\d+\]?)\.(?:\[(?P<bracketed>[^\]]+)\]|(?P<column>[^\].\s\[]+))$")
        .unwrap_or_else(|_| unreachable!("a valid regex"))
});
static IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:this\.)?\[?(?P<column>[A-Za-z_][A-Za-z0-9_]*)\]?$")
        .unwrap_or_else(|_| unreachable!("a valid regex"))
});

/// Every hit column `template` names, in order of appearance.
pub fn column_references(template: &str) -> Vec<ColumnReference> {
    // One entry per open block: whether its body is a hit.
    let mut blocks: Vec<bool> = Vec::new();
    let mut found = Vec::new();
    for mustache in MUSTACHE.captures_iter(template) {
        let Some(body) = mustache.name("body") else { continue };
        let text = body.as_str().trim_start();
        let start = body.start() + (body.as_str().len() - text.len());
        if text.starts_with('!') {
            continue;
        }
        if text.starts_with('/') {
            blocks.pop();
            continue;
        }
        let (text, start, opens) = match text.strip_prefix(['#', '^']) {
            Some(rest) => (rest, start + 1, true),
            None => (text, start, false),
        };
        if text.starts_with('>') {
            continue;
        }
        let in_hit = blocks.last().copied().unwrap_or(false);
        let tokens: Vec<(usize, &str)> =
            TOKEN.find_iter(text).map(|token| (start + token.start(), token.as_str())).collect();
        for (position, (at, token)) in tokens.iter().enumerate() {
            if token.starts_with(['"', '\'', '@']) || token.starts_with("..") || token.contains('=') {
                continue;
            }
            let reference = |column: &str, column_at: usize| ColumnReference {
                column: column.to_string(),
                offset: template[..column_at].chars().count(),
                length: column.chars().count(),
            };
            if let Some(path) = HIT_PATH.captures(token) {
                if let Some(column) = path.name("bracketed").or_else(|| path.name("column")) {
                    found.push(reference(column.as_str(), at + column.start()));
                }
                continue;
            }
            // In a hit's block, a bare name is a column unless it is the helper the mustache calls.
            let is_helper = position == 0 && (tokens.len() > 1 || opens);
            if in_hit
                && !is_helper
                && !NOT_COLUMNS.contains(token)
                && let Some(path) = IDENTIFIER.captures(token)
                && let Some(column) = path.name("column")
            {
                found.push(reference(column.as_str(), at + column.start()));
            }
        }
        if opens {
            let helper = tokens.first().map(|(_, token)| *token).unwrap_or_default();
            let argument = tokens.get(1).map(|(_, token)| *token).unwrap_or_default();
            let hit_body = match helper {
                "each" => argument == "hits",
                "with" => argument == "first" || HIT_PATH.is_match(argument) || argument.starts_with("hits."),
                // `if`/`unless` keep the context they are in.
                "if" | "unless" => in_hit,
                _ => false,
            };
            blocks.push(hit_body);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(template: &str) -> Vec<String> {
        column_references(template).into_iter().map(|reference| reference.column).collect()
    }

    #[test]
    fn names_of_hits_are_found_where_they_are_written() {
        let references = column_references("New download by {{first.AccountDisplayNam}}");
        assert_eq!(references, vec![ColumnReference { column: "AccountDisplayNam".into(), offset: 24, length: 17 }]);
        assert_eq!(
            columns("{{hits.[0].DeviceName}} {{hits.1.Os}} {{first.[Odd Name]}}"),
            ["DeviceName", "Os", "Odd Name"]
        );
        assert_eq!(columns("{{default first.UserId \"nobody\"}} {{truncate first.Comment 40}}"), ["UserId", "Comment"]);
    }

    #[test]
    fn inside_each_hits_a_bare_name_is_a_column_and_outside_it_is_not() {
        let template = "{{count}} {{#each hits}}{{DeviceName}} {{datetime Timestamp}} {{this.Actor}} {{@index}}\
                        {{#if Comment}}{{Comment}}{{else}}-{{/if}}{{/each}} {{playbook.title}} {{table}}";
        assert_eq!(columns(template), ["DeviceName", "Timestamp", "Actor", "Comment", "Comment"]);
        assert_eq!(columns("{{#with first}}{{UserId}}{{/with}}{{UserId}}"), ["UserId"]);
        assert_eq!(columns("{{#each rows}}{{number}}{{/each}}{{! first.Nothing }}"), Vec::<String>::new());
    }
}
