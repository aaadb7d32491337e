//! The Adaptive Card 1.4 elements the card is made of, as JSON: text blocks, facts, columns, links, and the
//! Teams Workflows envelope around the card. Nothing here escapes: callers pass text made by `text::plain`.

use serde_json::{Map, Value, json};

use crate::render::links::Link;

/// An element under construction: a JSON object with a `type`, built up property by property.
pub struct Element(Map<String, Value>);

impl Element {
    pub fn new(kind: &str) -> Element {
        let mut properties = Map::new();
        properties.insert("type".into(), Value::from(kind));
        Element(properties)
    }

    /// A `TextBlock` that wraps (Teams cuts unwrapped text at the card's edge).
    pub fn text(text: String) -> Element {
        Element::new("TextBlock").with("text", text).with("wrap", true)
    }

    pub fn container(items: Vec<Value>) -> Element {
        Element::new("Container").with("items", items)
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Element {
        self.0.insert(key.into(), value.into());
        self
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// A `Column` holding one text block, `weight` wide relative to its siblings.
pub fn column(weight: usize, item: Value) -> Value {
    Element::new("Column").with("width", weight).with("items", vec![item]).build()
}

pub fn fact(title: String, value: String) -> Value {
    json!({ "title": title, "value": value })
}

pub fn open_url(link: &Link) -> Value {
    json!({ "type": "Action.OpenUrl", "title": link.title, "url": link.url })
}

/// The Teams Workflows webhook payload carrying one Adaptive Card 1.4, full width.
pub fn envelope(body: Vec<Value>, actions: Vec<Value>) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": { "width": "Full" },
                "body": body,
                "actions": actions,
            },
        }],
    })
}

/// The size of `value` as the compact UTF-8 JSON that is posted.
pub fn byte_size(value: &Value) -> usize {
    serde_json::to_string(value).map_or(usize::MAX, |text| text.len())
}
