//! The Teams card as Teams receives it: every card huntbook can build is a valid Adaptive Card 1.4 (checked
//! against the official schema, vendored in `tests/fixtures/`), in the documented Workflows envelope, within
//! the size limit, with "and N more" telling the truth, with portal links only where a hit names something,
//! and with hostile values shown as literal text, never as markdown.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use huntbook::kql::datetime::UNIX_EPOCH_TICKS;
use huntbook::kql::plan::{Column, Row};
use huntbook::kql::types::Type;
use huntbook::kql::value::{Dyn, Str, Value};
use huntbook::playbook::severity::Severity;
use huntbook::render::card::{CardSettings, build_card};
use huntbook::render::links;
use huntbook::route::message::{Message, PlaybookSummary};
use serde_json::{Value as Json, json};

use crate::common;
use common::cards::{assert_valid_card, texts, validator};

const DEVICE_ID: &str = "4f0c7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b";

// ---------------------------------------------------------------------------------------------------------
// Messages

fn window_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).single().unwrap_or_default()
}

fn message(columns: Vec<Column>, hits: Vec<Row>) -> Message {
    Message {
        playbook: PlaybookSummary {
            id: "encoded-powershell".into(),
            title: "Encoded PowerShell launched by an Office application".into(),
            description: "Office apps that start PowerShell with -EncodedCommand: a common first stage.".into(),
            severity: Severity::High,
            tags: vec!["execution".into()],
        },
        run_id: "run-0193a7c2".into(),
        started: window_start() + chrono::Duration::hours(1),
        window_start: window_start(),
        window_end: window_start() + chrono::Duration::hours(1),
        columns,
        hits,
        truncated: false,
        notes: Vec::new(),
        tenant: None,
        subject_template: None,
        title_template: None,
        shown: None,
        links: Default::default(),
        chart: None,
    }
}

fn ticks(instant: DateTime<Utc>) -> i64 {
    UNIX_EPOCH_TICKS + instant.timestamp() * 10_000_000 + i64::from(instant.timestamp_subsec_nanos() / 100)
}

fn process_columns() -> Vec<Column> {
    vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("DeviceName", Type::String),
        Column::new("AccountName", Type::String),
        Column::new("ProcessCommandLine", Type::String),
        Column::new("DeviceId", Type::String),
        Column::new("SHA256", Type::String),
    ]
}

/// A plausible process event; every other hit names no device (its `DeviceId` is empty).
fn process_hit(index: usize) -> Row {
    let time = window_start() + chrono::Duration::seconds(37 * index as i64);
    vec![
        Value::DateTime(ticks(time)),
        Value::string(format!("wks-{index:04}.contoso.example")),
        Value::string(format!("user{index}")),
        Value::string("powershell.exe -NoProfile -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"),
        if index.is_multiple_of(2) { Value::string(DEVICE_ID) } else { Value::empty_string() },
        Value::string("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    ]
}

fn process_message(count: usize) -> Message {
    message(process_columns(), (0..count).map(process_hit).collect())
}

fn huge() -> Str {
    static HUGE: OnceLock<Str> = OnceLock::new();
    HUGE.get_or_init(|| Arc::from("A".repeat(100 * 1024) + "[tail](https://evil.example/)")).clone()
}

/// Values an attacker can put in a hit (an isolation comment, a file name, a rule name).
fn hostile_strings() -> Vec<Str> {
    let texts = [
        "[click here](https://evil.example/x)",
        "**bold** and __also bold__",
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "a `backtick` here",
        "pipe | table | row",
        "first line\r\nsecond line\nthird\rfourth",
        "Ünïcødé 漢字テキスト ✓ 🚨 مرحبا بالعالم",
        "invoice\u{202e}fdp.exe",
        "bell\u{7} null\u{0} escape\u{1b} delete\u{7f} next-line\u{85}",
        "_italic_ ~~strike~~ {{DATE(2026-11-20T08:00:00Z, SHORT)}} &lt;b&gt;",
        "- list item",
        "1. numbered item",
        "# heading",
        "> quote",
        "![image](https://evil.example/pixel.png)",
        "<https://evil.example/autolink>",
        "\\[escaped by the attacker\\](https://evil.example/)",
    ];
    let mut strings: Vec<Str> = texts.iter().map(|text| Arc::from(*text)).collect();
    strings.push(huge());
    strings
}

/// Hits whose every cell is hostile, the hostile strings rotating through the columns.
fn hostile_message(count: usize, column_count: usize) -> Message {
    let strings = hostile_strings();
    let columns = (0..column_count).map(|index| Column::new(format!("Field{index}"), Type::String)).collect();
    let hits = (0..count)
        .map(|row| {
            (0..column_count).map(|column| Value::String(strings[(row + column) % strings.len()].clone())).collect()
        })
        .collect();
    message(columns, hits)
}

/// Every kind of value a hit can hold.
fn typed_message(count: usize) -> Message {
    let columns = vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("Count", Type::Long),
        Column::new("Score", Type::Real),
        Column::new("IsRemote", Type::Bool),
        Column::new("AdditionalFields", Type::Dynamic),
        Column::new("Missing", Type::DateTime),
        Column::new("Duration", Type::TimeSpan),
        Column::new("Small", Type::Int),
        Column::new("ReportId", Type::Guid),
    ];
    let hit = |index: usize| -> Row {
        let fields: Arc<[(Str, Dyn)]> = Arc::from(vec![
            (Arc::from("Comment"), Dyn::String(Arc::from("[x](https://evil.example/) **y**"))),
            (Arc::from("Nested"), Dyn::Array(Arc::from(vec![Dyn::Long(1), Dyn::Null, Dyn::Bool(true)]))),
        ]);
        vec![
            Value::DateTime(ticks(window_start() + chrono::Duration::minutes(index as i64))),
            Value::Long(i64::MAX - index as i64),
            Value::Real(if index == 0 { f64::NAN } else { 1.0 / (index as f64) }),
            Value::Bool(index.is_multiple_of(2)),
            Value::Dynamic(Dyn::Object(fields)),
            Value::Null,
            Value::TimeSpan(-36_000_000_000 * index as i64),
            Value::Int(i32::MIN),
            Value::string("5b6a9f36-2c1e-4f8e-9b1a-0f2d3c4b5a69"),
        ]
    };
    message(columns, (0..count).map(hit).collect())
}

/// A hit with many columns, each with a long name.
fn wide_message(count: usize, column_count: usize, name_length: usize) -> Message {
    let columns = (0..column_count)
        .map(|index| Column::new(format!("{index}{}", "N".repeat(name_length)), Type::String))
        .collect();
    let hits = (0..count)
        .map(|row| (0..column_count).map(|column| Value::string(format!("r{row}c{column}"))).collect())
        .collect();
    message(columns, hits)
}

// ---------------------------------------------------------------------------------------------------------
// What every card must be

/// Builds the card and checks what holds for every card; returns the payload for the test's own checks.
fn card(message: &Message, settings: &CardSettings) -> Json {
    let payload = build_card(message, settings);
    assert_valid_card(&payload, settings.max_bytes);
    payload
}

/// What a CommonMark renderer shows for `text`: its backslash escapes resolved.
fn rendered(text: &str) -> String {
    let mut out = String::new();
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match characters.peek() {
            Some(&next) if character == '\\' && next.is_ascii_punctuation() => {
                out.push(next);
                characters.next();
            }
            _ => out.push(character),
        }
    }
    out
}

fn content(payload: &Json) -> &Json {
    &payload["attachments"][0]["content"]
}

fn body(payload: &Json) -> &Vec<Json> {
    content(payload)["body"].as_array().expect("a body")
}

fn facts(payload: &Json) -> Vec<(String, String)> {
    body(payload)
        .iter()
        .filter(|element| element["type"] == "FactSet")
        .flat_map(|set| set["facts"].as_array().cloned().unwrap_or_default())
        .map(|fact| (rendered(fact["title"].as_str().unwrap_or("")), rendered(fact["value"].as_str().unwrap_or(""))))
        .collect()
}

/// The rows of the hits table (not its header).
fn table_rows(payload: &Json) -> Vec<&Json> {
    body(payload).iter().filter(|element| element["type"] == "ColumnSet" && element["separator"] == true).collect()
}

fn row_cells(row: &Json) -> Vec<String> {
    row["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|column| rendered(column["items"][0]["text"].as_str().unwrap_or("")))
        .collect()
}

/// The N of "…and N more hits not shown.", or 0 when there is no such line.
fn more(payload: &Json, noun: &str) -> usize {
    texts(content(payload))
        .iter()
        .find_map(|text| {
            let rest = rendered(text).strip_prefix("…and ")?.to_string();
            let (number, tail) = rest.split_once(' ')?;
            tail.starts_with(&format!("more {noun}")).then(|| number.parse().ok())?
        })
        .unwrap_or(0)
}

/// Whether `syntax` occurs in the JSON text of a payload without a (JSON-encoded) backslash before it.
fn contains_unescaped(json: &str, syntax: &str) -> bool {
    json.match_indices(syntax).any(|(index, _)| !json[..index].ends_with(r"\\"))
}

fn all_text(payload: &Json) -> String {
    texts(content(payload)).iter().map(|text| rendered(text)).collect::<Vec<_>>().join("\n")
}

// ---------------------------------------------------------------------------------------------------------
// Tests

#[test]
fn every_card_is_valid_1_4_within_the_limit_and_inert() {
    let settings = CardSettings::default();
    let messages = [
        process_message(0),
        process_message(1),
        process_message(40),
        process_message(5_000),
        hostile_message(1, 19),
        hostile_message(40, 6),
        hostile_message(5_000, 19),
        typed_message(1),
        typed_message(40),
        wide_message(1, 200, 30),
        wide_message(40, 200, 30),
        wide_message(1, 50, 10 * 1024),
        wide_message(40, 50, 10 * 1024),
    ];
    for message in &messages {
        let payload = card(message, &settings);
        let shown = if message.hits.len() > 1 { table_rows(&payload).len() } else { message.hits.len() };
        assert_eq!(shown + more(&payload, "hit"), message.hits.len(), "shown rows and \"and N more\" add up");
    }
}

/// The cap is bytes of the whole envelope as posted, with room left under Teams' 28 KB for what the Workflow
/// adds: a 2,000-hit card once came to 25,438 bytes, under the old 25 × 1,024 cap but too close to where
/// Teams starts refusing.
#[test]
fn the_default_limit_is_24000_bytes_of_the_whole_posted_envelope() {
    assert_eq!(CardSettings::default().max_bytes, 24_000);
    for message in [process_message(2_000), hostile_message(2_000, 19)] {
        let payload = build_card(&message, &CardSettings::default());
        let posted = serde_json::to_vec(&payload).expect("JSON");
        assert!(posted.len() <= 24_000, "{} bytes", posted.len());
    }
}

#[test]
fn the_limit_holds_for_smaller_limits_too() {
    for max_bytes in [16 * 1024, 8 * 1024, 4 * 1024, 2 * 1024] {
        let settings = CardSettings { max_bytes, ..CardSettings::default() };
        for message in
            [process_message(40), hostile_message(1, 19), hostile_message(300, 19), wide_message(40, 50, 10 * 1024)]
        {
            let payload = card(&message, &settings);
            if message.hits.len() > 1 {
                assert_eq!(table_rows(&payload).len() + more(&payload, "hit"), message.hits.len());
            }
        }
    }
}

#[test]
fn no_hits_says_so() {
    let payload = card(&process_message(0), &CardSettings::default());
    let text = all_text(&payload);
    assert!(text.contains("No hits\n"), "{text}");
    assert!(text.contains("2026-11-20 08:00 – 09:00 UTC"), "{text}");
    assert!(text.contains("found no hits in this window"), "{text}");
    assert!(table_rows(&payload).is_empty() && facts(&payload).is_empty());
    assert_eq!(content(&payload)["actions"], json!([]));
    // An empty digest is good news, not a high-severity alarm.
    assert_eq!(body(&payload)[0]["style"], "good");
}

#[test]
fn one_hit_shows_its_facts_and_portal_buttons() {
    let payload = card(&process_message(1), &CardSettings::default());
    let facts = facts(&payload);
    let names: Vec<&str> = facts.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["Timestamp", "DeviceName", "AccountName", "ProcessCommandLine", "DeviceId", "SHA256"]);
    assert_eq!(facts[0].1, "2026-11-20 08:00:00.000 UTC");
    assert_eq!(facts[1].1, "wks-0000.contoso.example");
    let actions = content(&payload)["actions"].as_array().cloned().unwrap_or_default();
    let portal = "https://security.microsoft.com";
    assert_eq!(
        actions,
        [
            json!({ "type": "Action.OpenUrl", "title": "Open device", "url": links::device_url(portal, DEVICE_ID) }),
            json!({ "type": "Action.OpenUrl", "title": "Open file",
                    "url": links::file_url(portal, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08") }),
        ]
    );
    assert!(all_text(&payload).contains("1 hit at 2026-11-20 08:00:00.000 UTC"));
    assert_eq!(body(&payload)[0]["style"], "attention");
}

#[test]
fn links_appear_only_for_hits_that_name_something() {
    let mut without = process_message(1);
    without.hits[0][4] = Value::string("not-a-device-id");
    without.hits[0][5] = Value::string("javascript:alert(1)");
    let payload = card(&without, &CardSettings::default());
    assert_eq!(content(&payload)["actions"], json!([]));

    let hostile = card(&hostile_message(40, 19), &CardSettings::default());
    assert!(!serde_json::to_string(&hostile).unwrap_or_default().contains("Action.OpenUrl"));

    // In a table, each row with a device opens it; the rows without one open nothing.
    let mut many = process_message(40);
    let keep = [0, 1, 4];
    many.columns = keep.iter().map(|&index| many.columns[index].clone()).collect();
    many.hits = many.hits.iter().map(|hit| keep.iter().map(|&index| hit[index].clone()).collect()).collect();
    let payload = card(&many, &CardSettings::default());
    let rows = table_rows(&payload);
    assert_eq!(rows.len(), 40);
    for (index, row) in rows.iter().enumerate() {
        if index % 2 == 0 {
            assert_eq!(
                row["selectAction"]["url"],
                json!(links::device_url("https://security.microsoft.com", DEVICE_ID))
            );
        } else {
            assert!(row.get("selectAction").is_none(), "row {index} names no device");
        }
    }
    assert!(all_text(&payload).contains("Select a row to open it in Microsoft Defender."));
}

#[test]
fn many_hits_make_a_table_of_the_first_columns() {
    let payload = card(&process_message(40), &CardSettings::default());
    let header = body(&payload).iter().find(|element| element["type"] == "ColumnSet").expect("a header row");
    assert_eq!(row_cells(header), ["Timestamp", "DeviceName", "AccountName", "ProcessCommandLine"]);
    let rows = table_rows(&payload);
    assert_eq!(rows.len() + more(&payload, "hit"), 40);
    assert!(rows.len() >= 20, "only {} rows fit", rows.len());
    assert_eq!(row_cells(rows[1])[..3], ["2026-11-20 08:00:37", "wks-0001.contoso.example", "user1"]);
    let text = all_text(&payload);
    assert!(text.contains("40 hits · 2026-11-20 08:00 – 09:00 UTC"), "{text}");
    assert!(text.contains("Showing the first 4 of 6 columns."), "{text}");
}

#[test]
fn a_large_result_says_how_many_more() {
    let payload = card(&process_message(5_000), &CardSettings::default());
    let shown = table_rows(&payload).len();
    assert!((10..=50).contains(&shown), "{shown} rows");
    assert_eq!(more(&payload, "hit"), 5_000 - shown);

    let mut cut = process_message(40);
    cut.truncated = true;
    let text = all_text(&card(&cut, &CardSettings::default()));
    assert!(text.contains("cut at the source's row or size limit"), "{text}");
}

#[test]
fn hostile_values_are_shown_literally() {
    let hostile = hostile_strings();
    let payload = card(&hostile_message(1, hostile.len()), &CardSettings::default());
    let shown: Vec<String> = facts(&payload).into_iter().map(|(_, value)| value).collect();
    let expected = [
        "[click here](https://evil.example/x)",
        "**bold** and __also bold__",
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "a `backtick` here",
        "pipe | table | row",
        "first line↵second line↵third↵fourth",
        "Ünïcødé 漢字テキスト ✓ 🚨 مرحبا بالعالم",
        "invoice‹U+202E›fdp.exe",
        "bell‹U+0007› null‹U+0000› escape‹U+001B› delete‹U+007F› next-line",
        "_italic_ ~~strike~~ {{DATE(2026-11-20T08:00:00Z, SHORT)}} &lt;b&gt;",
        "- list item",
        "1. numbered item",
        "# heading",
        "> quote",
        "![image](https://evil.example/pixel.png)",
        "<https://evil.example/autolink>",
        "\\[escaped by the attacker\\](https://evil.example/)",
    ];
    assert_eq!(shown[..expected.len()], expected);
    // A 100 KB value is cut, with an ellipsis, long before its hidden link.
    let long = &shown[expected.len()];
    assert!(long.ends_with('…') && long.chars().count() <= 500 && !long.contains("evil"), "{long}");
    // In the JSON itself: the escapes are there, the syntax is not.
    let json = serde_json::to_string(&payload).unwrap_or_default();
    assert!(json.contains(r"\\[click here\\]\\(https://evil.example/x)"), "{json}");
    assert!(json.contains(r"\\*\\*bold\\*\\*"));
    assert!(json.contains(r"\\<script>"));
    for syntax in ["[click here]", "](https:", "**bold**", "<script>", "<img", "`backtick`", "| table"] {
        assert!(!contains_unescaped(&json, syntax), "{syntax} in {json}");
    }
}

#[test]
fn table_cells_are_cut_and_inert() {
    let payload = card(&hostile_message(40, 6), &CardSettings::default());
    let rows = table_rows(&payload);
    assert!(!rows.is_empty());
    for row in rows {
        for cell in row_cells(row) {
            assert!(cell.chars().count() <= 80, "{cell}");
        }
    }
}

#[test]
fn times_are_shown_in_the_configured_zone() {
    let settings = CardSettings { timezone: chrono_tz::America::New_York, ..CardSettings::default() };
    let text = all_text(&card(&process_message(40), &settings));
    assert!(text.contains("40 hits · 2026-11-20 03:00 – 04:00 EST"), "{text}");
    let payload = card(&process_message(40), &settings);
    assert_eq!(row_cells(table_rows(&payload)[0])[0], "2026-11-20 03:00:00");
    let one = card(&typed_message(1), &settings);
    let facts = facts(&one);
    assert_eq!(facts[0], ("Timestamp".to_string(), "2026-11-20 03:00:00.000 EST".to_string()));
    assert_eq!(facts[5], ("Missing".to_string(), "—".to_string()));
    assert_eq!(facts[4].1, r#"{"Comment":"[x](https://evil.example/) **y**","Nested":[1,null,true]}"#);
}

#[test]
fn huge_column_names_shrink_until_the_card_fits() {
    let payload = card(&wide_message(1, 50, 10 * 1024), &CardSettings::default());
    let facts = facts(&payload);
    assert!(!facts.is_empty());
    assert_eq!(facts.len() + more(&payload, "column"), 50);
    assert!(facts.iter().all(|(name, _)| name.chars().count() <= 40));
}

#[test]
fn severity_colours_the_header() {
    let expected = [
        (Severity::Critical, "attention"),
        (Severity::High, "attention"),
        (Severity::Medium, "warning"),
        (Severity::Low, "accent"),
        (Severity::Informational, "emphasis"),
    ];
    for (severity, style) in expected {
        let mut message = process_message(3);
        message.playbook.severity = severity;
        let payload = card(&message, &CardSettings::default());
        assert_eq!(body(&payload)[0]["style"], style, "{severity}");
        assert!(all_text(&payload).contains(&format!("{} severity", severity.label())));
    }
}

#[test]
fn hostile_titles_and_column_names_are_inert_too() {
    for count in [0, 1, 40] {
        let mut message = hostile_message(count, 3);
        message.playbook.title = "**Pwned** [open me](https://evil.example/) <b>".into();
        message.playbook.description = "- a list\n1. and _more_ `code`".into();
        message.playbook.id = "[id](https://evil.example/)".into();
        message.run_id = "run\r\n**x**".into();
        message.columns[0].name = "[Name](https://evil.example/) **bold** | pipe".into();
        let payload = card(&message, &CardSettings::default());
        let text = all_text(&payload);
        assert!(text.contains("**Pwned** [open me](https://evil.example/) <b>"), "{text}");
        assert!(text.contains("[id](https://evil.example/)") && text.contains("run↵**x**"), "{text}");
    }
}

#[test]
fn the_schema_check_is_not_vacuous() {
    let mut payload = build_card(&process_message(1), &CardSettings::default());
    let content = &mut payload["attachments"][0]["content"];
    assert!(validator().is_valid(content));
    // A 1.5 `Table`, a 1.5 heading style, an unknown property: each would not render through Workflows.
    let broken = [
        json!({ "type": "Table", "columns": [], "rows": [] }),
        json!({ "type": "TextBlock", "text": "x", "style": "heading" }),
        json!({ "type": "FactSet", "facts": [{ "title": "a", "value": "b", "extra": 1 }] }),
    ];
    for element in broken {
        let mut card = content.clone();
        card["body"].as_array_mut().expect("a body").push(element.clone());
        assert!(!validator().is_valid(&card), "{element} passed");
    }
}

/// A failed enrichment is said on the card, in warning colour, with the hostile text of a server's answer inert.
#[test]
fn a_failed_enrichment_is_said_on_the_card() {
    for count in [1, 40] {
        let mut message = process_message(count);
        message.notes = vec![
            "file prevalence unavailable: the files API answered 429 [Retry](https://evil.example) <b>x</b>".into(),
        ];
        let payload = card(&message, &CardSettings::default());
        let text = all_text(&payload);
        assert!(
            text.contains("file prevalence unavailable: the files API answered 429 [Retry](https://evil.example) <b>x</b> — the columns it adds are empty."),
            "{text}"
        );
        let note = body(&payload)
            .iter()
            .find(|element| element["text"].as_str().is_some_and(|t| t.contains("file prevalence")))
            .expect("the note is a text block of the body");
        assert_eq!(note["color"], "attention");
    }
}

/// A card's `title:` sees the message's hits, not only the first (it used to be rendered with one row, so
/// `{{#each hits}}` listed one device whatever the count).
#[test]
fn a_card_title_sees_the_hits_of_its_message() {
    let templates = huntbook::render::email::Templates::load(None).unwrap_or_else(|errors| panic!("{errors:?}"));
    let message = process_message(3);
    let title = huntbook::render::email::render_line(
        &message,
        "{{count}} hosts: {{#each hits}}{{DeviceName}} {{/each}}",
        &templates,
        "https://security.microsoft.com",
        chrono_tz::UTC,
    )
    .expect("renders");
    assert_eq!(
        title.as_deref(),
        Some("3 hosts: wks-0000.contoso.example wks-0001.contoso.example wks-0002.contoso.example")
    );
}
