//! What every Teams card huntbook posts must be, shared by the card tests and the end-to-end run tests: a
//! valid Adaptive Card 1.4 (the official schema, vendored in `tests/fixtures/`), in the documented Workflows
//! envelope, with every text inert as Teams markdown.

use std::sync::OnceLock;

use serde_json::{Value as Json, json};

pub fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/adaptive-card-1.4.json");
        let text = std::fs::read_to_string(path).expect("the vendored schema is readable");
        let mut schema: Json = serde_json::from_str(&text).expect("the vendored schema is JSON");
        // The official schema forbids unknown card properties, and `msteams` is Teams' documented extension
        // (`{"width": "Full"}`, cards-format.md). Allow exactly that and nothing more.
        schema["definitions"]["AdaptiveCard"]["properties"]["msteams"] = json!({
            "type": "object",
            "properties": { "width": { "enum": ["Full"] } },
            "additionalProperties": false,
        });
        jsonschema::options().should_validate_formats(true).build(&schema).expect("the schema compiles")
    })
}

pub fn assert_envelope(payload: &Json) {
    let object = payload.as_object().expect("an object");
    assert_eq!(object.keys().collect::<Vec<_>>(), ["type", "attachments"]);
    assert_eq!(payload["type"], "message");
    let attachments = payload["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1);
    let attachment = attachments[0].as_object().expect("an attachment");
    assert_eq!(attachment.keys().collect::<Vec<_>>(), ["contentType", "contentUrl", "content"]);
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(attachment["contentUrl"], Json::Null);
    let content = attachment["content"].as_object().expect("a card");
    assert_eq!(content.keys().collect::<Vec<_>>(), ["$schema", "type", "version", "msteams", "body", "actions"]);
    assert_eq!(content["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
    assert_eq!(content["type"], "AdaptiveCard");
    assert_eq!(content["version"], "1.4");
    assert_eq!(content["msteams"], json!({ "width": "Full" }));
}

/// Every text Teams reads as markdown: text blocks, fact titles and values.
pub fn texts(element: &Json) -> Vec<String> {
    let mut found = Vec::new();
    collect_texts(element, &mut found);
    found
}

pub fn collect_texts(element: &Json, found: &mut Vec<String>) {
    match element {
        Json::Object(object) => {
            if object.get("type").and_then(Json::as_str) == Some("TextBlock") {
                found.extend(object.get("text").and_then(Json::as_str).map(str::to_string));
            }
            if let Some(facts) = object.get("facts").and_then(Json::as_array) {
                for fact in facts {
                    found.extend(["title", "value"].iter().filter_map(|key| fact[key].as_str().map(str::to_string)));
                }
            }
            object.values().for_each(|value| collect_texts(value, found));
        }
        Json::Array(items) => items.iter().for_each(|item| collect_texts(item, found)),
        _ => {}
    }
}

/// Nothing in `text` renders as markdown, read as a CommonMark renderer reads it (a backslash before ASCII
/// punctuation makes it literal), and nothing starts a new line.
pub fn assert_inert(text: &str) {
    assert!(!text.contains(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}', '\u{202e}', '\u{0}', '\u{1b}']), "{text:?}");
    let characters: Vec<char> = text.chars().collect();
    let mut literal = vec![false; characters.len()];
    let mut index = 0;
    while index < characters.len() {
        if characters[index] == '\\' && characters.get(index + 1).is_some_and(char::is_ascii_punctuation) {
            literal[index + 1] = true;
            index += 2;
        } else {
            index += 1;
        }
    }
    for (index, &character) in characters.iter().enumerate() {
        if literal[index] || (character == '\\' && characters.get(index + 1).is_some_and(char::is_ascii_punctuation)) {
            continue;
        }
        let previous = index.checked_sub(1).map(|before| characters[before]);
        let next = characters.get(index + 1).copied();
        let renders = match character {
            '*' | '`' | '[' | ']' | '<' | '~' | '|' => true,
            '_' => !(previous.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric)),
            '(' => previous == Some(']'),
            '&' => next.is_some_and(|after| after.is_ascii_alphanumeric() || after == '#'),
            '{' => next == Some('{') && !literal[index + 1],
            '#' | '>' | '-' | '+' => index == 0,
            '.' | ')' => {
                index > 0
                    && characters[..index].iter().all(char::is_ascii_digit)
                    && next.is_none_or(char::is_whitespace)
            }
            _ => false,
        };
        assert!(!renders, "{character:?} at {index} would render as markdown in {text:?}");
    }
}

/// Checks everything every card must be: the envelope, the schema, the size limit, inert texts.
pub fn assert_valid_card(payload: &Json, max_bytes: usize) {
    assert_envelope(payload);
    let content = &payload["attachments"][0]["content"];
    let errors: Vec<String> =
        validator().iter_errors(content).map(|error| format!("{error} at {}", error.instance_path())).collect();
    assert!(errors.is_empty(), "the card is not Adaptive Card 1.4: {errors:#?}\n{content:#}");
    let size = serde_json::to_string(payload).map(|text| text.len()).unwrap_or(usize::MAX);
    assert!(size <= max_bytes, "{size} bytes > {max_bytes}");
    for text in texts(content) {
        assert_inert(&text);
    }
}
