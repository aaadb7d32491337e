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

/// Nothing in `text` renders as markdown, and nothing starts a new line or hides. The oracle is a CommonMark
/// parser (pulldown-cmark, with the GitHub extensions Teams renders: strikethrough, tables, task lists), not a
/// list of rules: the text must parse as one paragraph of plain text, and what it shows must be the text with
/// CommonMark's backslash escapes taken out (so an entity such as `&lt;` that would show as `<` is caught).
/// Adaptive Cards' own text functions (`{{DATE(…)}}`) are checked apart: they are not markdown.
pub fn assert_inert(text: &str) {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    assert!(!text.contains(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}', '\u{202e}', '\u{0}', '\u{1b}']), "{text:?}");
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    let mut shown = String::new();
    for event in Parser::new_ext(text, options) {
        match event {
            Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) => {}
            Event::Text(part) => shown.push_str(&part),
            other => panic!("{text:?} renders as markdown: {other:?}"),
        }
    }
    // CommonMark: a backslash before ASCII punctuation shows the punctuation; any other backslash shows.
    let mut unescaped = String::new();
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match characters.peek().copied() {
            Some(next) if character == '\\' && next.is_ascii_punctuation() => {
                unescaped.push(next);
                characters.next();
            }
            _ => unescaped.push(character),
        }
    }
    assert_eq!(shown, unescaped.trim(), "{text:?} does not show as the text it is");
    let functions = text.to_ascii_uppercase();
    assert!(!functions.contains("{{DATE(") && !functions.contains("{{TIME("), "a text function in {text:?}");
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
