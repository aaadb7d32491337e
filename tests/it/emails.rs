//! E-mails as a reader gets them: every rendered message is parsed back as MIME (mail-parser) and checked
//! for what a person sees — headers, the text and HTML parts, the table's rows, the "and N more" line, the
//! CSV attachment — and for what an attacker who controls a hit's values must not get: markup in the HTML,
//! a header of their own, a gigantic cell.

use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use huntbook::kql::datetime::{format_datetime, parse_datetime};
use huntbook::kql::plan::{Column, Row};
use huntbook::kql::types::Type;
use huntbook::kql::value::Value;
use huntbook::playbook::severity::Severity;
use huntbook::render::email::{EmailSettings, RenderError, RenderedEmail, Templates, check_subject, render_email};
use huntbook::route::message::{Message, PlaybookSummary};
use mail_parser::{MessageParser, MimeHeaders};
use regex::Regex;

use crate::common;

const PORTAL: &str = "https://security.microsoft.com";
const OUTBOX_ID: &str = "0193a0f2-5d7e-7c4e-9b61-3c2f0e8d9a17";

static TEMPLATES: LazyLock<Templates> =
    LazyLock::new(|| Templates::load(None).unwrap_or_else(|errors| panic!("shipped templates: {errors:?}")));

fn date() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 7, 16, 5).unwrap()
}

fn ticks(text: &str) -> i64 {
    parse_datetime(text).unwrap()
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("ReportId", Type::Long),
        Column::new("AccountDisplayName", Type::String),
        Column::new("UserId", Type::String),
        Column::new("ClientIP", Type::String),
        Column::new("OsFamily", Type::String),
        Column::new("DeviceId", Type::String),
    ]
}

/// The `n`th download of an offboarding package (0-based), as the query returns it.
fn download(n: usize) -> Row {
    vec![
        Value::DateTime(ticks("2026-11-20T07:01:00Z") + n as i64 * 10_000_000),
        Value::Long(7_000 + n as i64),
        Value::string(format!("Analyst {n}")),
        Value::string(format!("analyst{n}@contoso.example")),
        Value::string(format!("203.0.113.{}", n % 250)),
        Value::string(if n.is_multiple_of(2) { "Windows" } else { "macOS" }),
        Value::string(format!("{:040x}", n + 1)),
    ]
}

fn message(hits: Vec<Row>) -> Message {
    Message {
        playbook: PlaybookSummary {
            id: "offboarding-package-download".to_string(),
            title: "Defender offboarding package downloaded".to_string(),
            description: "Whoever holds an offboarding package and local admin rights can remove a device from \
                          Defender for Endpoint (T1562.001)."
                .to_string(),
            severity: Severity::High,
            tags: vec!["mde".to_string(), "T1562.001".to_string()],
        },
        run_id: "run-42".to_string(),
        started: Utc.with_ymd_and_hms(2026, 11, 20, 7, 15, 0).unwrap(),
        window_start: Utc.with_ymd_and_hms(2026, 11, 20, 7, 0, 0).unwrap(),
        window_end: Utc.with_ymd_and_hms(2026, 11, 20, 7, 15, 0).unwrap(),
        columns: columns(),
        hits,
        truncated: false,
        notes: Vec::new(),
        tenant: Some("contoso".to_string()),
        subject_template: None,
        title_template: None,
        shown: None,
        links: Default::default(),
        chart: None,
    }
}

fn downloads(count: usize) -> Message {
    message((0..count).map(download).collect())
}

struct Receiver {
    to: Vec<String>,
    cc: Vec<String>,
    from: String,
    template: String,
    max_rows: usize,
    timezone: chrono_tz::Tz,
    layout: huntbook::render::email::TableLayout,
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver {
            to: vec!["soc@contoso.example".to_string(), "Duty Officer <duty@contoso.example>".to_string()],
            cc: vec!["audit@contoso.example".to_string()],
            from: "huntbook <huntbook@contoso.example>".to_string(),
            template: "email-table".to_string(),
            max_rows: 200,
            timezone: chrono_tz::Europe::Amsterdam,
            layout: Default::default(),
        }
    }
}

impl Receiver {
    fn settings(&self) -> EmailSettings<'_> {
        EmailSettings {
            to: &self.to,
            cc: &self.cc,
            from: &self.from,
            template: &self.template,
            max_rows: self.max_rows,
            portal: PORTAL,
            timezone: self.timezone,
            layout: self.layout,
        }
    }

    fn render_with(&self, message: &Message, templates: &Templates) -> RenderedEmail {
        render_email(message, &self.settings(), templates, OUTBOX_ID, date()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn render(&self, message: &Message) -> RenderedEmail {
        self.render_with(message, &TEMPLATES)
    }
}

fn parse(mime: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(mime).expect("the MIME parses")
}

/// The decoded text part, with the CRLF line ends of MIME read back as `\n`.
fn text_part(parsed: &mail_parser::Message) -> String {
    parsed.body_text(0).expect("a text part").replace("\r\n", "\n")
}

/// The decoded HTML part, with the CRLF line ends of MIME read back as `\n`.
fn html_part(parsed: &mail_parser::Message) -> String {
    parsed.body_html(0).expect("an HTML part").replace("\r\n", "\n")
}

/// The header section of the raw message, as text.
fn raw_headers(mime: &[u8]) -> String {
    let text = String::from_utf8_lossy(mime);
    text.split("\r\n\r\n").next().unwrap_or_default().to_string()
}

/// The hits table of an HTML part: its header row and the text of each body row's cells (tags removed,
/// entities decoded), as a reader sees them.
/// The hits of an e-mail's HTML as a header and rows, from its table — or from its blocks, one per hit, when
/// the table would be too wide (the block's names make the header, its links the `Defender` cell).
fn html_table(html: &str) -> (Vec<String>, Vec<Vec<String>>) {
    if !html.contains("<table role=\"table\"") {
        return html_blocks(html);
    }
    let start = html.find("<table role=\"table\"").expect("a hits table");
    let end = start + html[start..].find("</table>").expect("the table ends");
    let table = &html[start..end];
    let header_cell = Regex::new(r"(?s)<th[^>]*>(.*?)</th>").unwrap();
    let row = Regex::new(r"(?s)<tr[^>]*>(.*?)</tr>").unwrap();
    let cell = Regex::new(r"(?s)<td[^>]*>(.*?)</td>").unwrap();
    let tag = Regex::new(r"<[^>]+>").unwrap();
    let text = |inner: &str| common::html_unescape(&tag.replace_all(&inner.replace("<br>", " "), ""));
    let header = header_cell.captures_iter(table).map(|c| text(&c[1])).collect();
    let body = &table[table.find("<tbody>").expect("a body")..];
    let rows = row.captures_iter(body).map(|r| cell.captures_iter(&r[1]).map(|c| text(&c[1])).collect()).collect();
    (header, rows)
}

fn csv_records(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
    reader.records().map(|record| record.unwrap().iter().map(str::to_string).collect()).collect()
}

fn attachments(parsed: &mail_parser::Message) -> Vec<(String, String, Vec<u8>)> {
    parsed
        .attachments()
        .map(|part| {
            let content_type = part.content_type().expect("a content type");
            let kind = format!("{}/{}", content_type.ctype(), content_type.subtype().unwrap_or_default());
            (part.attachment_name().unwrap_or_default().to_string(), kind, part.contents().to_vec())
        })
        .collect()
}

#[test]
fn one_hit_has_the_headers_parts_and_table_a_reader_sees() {
    let hit = downloads(1);
    let email = Receiver::default().render(&hit);
    let parsed = parse(&email.mime);

    assert_eq!(parsed.subject(), Some("[High] Defender offboarding package downloaded (1 hit)"));
    assert_eq!(email.subject, "[High] Defender offboarding package downloaded (1 hit)");
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!((from.name(), from.address()), (Some("huntbook"), Some("huntbook@contoso.example")));
    let to: Vec<_> = parsed.to().unwrap().iter().map(|a| (a.name(), a.address())).collect();
    assert_eq!(to, vec![(None, Some("soc@contoso.example")), (Some("Duty Officer"), Some("duty@contoso.example"))]);
    let cc: Vec<_> = parsed.cc().unwrap().iter().map(|a| a.address()).collect();
    assert_eq!(cc, vec![Some("audit@contoso.example")]);
    assert_eq!(parsed.message_id(), Some(format!("{OUTBOX_ID}@huntbook.local").as_str()));
    assert_eq!(parsed.date().unwrap().to_timestamp(), date().timestamp());
    assert!(raw_headers(&email.mime).contains("\r\nDate: Fri, 20 Nov 2026 07:16:05 +0000\r\n"));
    assert_eq!(parsed.attachment_count(), 0, "all rows shown, nothing cut: no attachment");

    // The text part.
    let text = text_part(&parsed);
    assert_eq!(text, email.text);
    assert!(text.contains("[High] Defender offboarding package downloaded (tenant contoso)"), "{text}");
    assert!(text.contains("1 hit between 2026-11-20 08:00 CET and 2026-11-20 08:15 CET."), "{text}");
    assert!(text.contains("  AccountDisplayName  Analyst 0\n"), "{text}");
    assert!(text.contains("  Timestamp           2026-11-20 08:01:00 CET\n"), "{text}");
    assert!(text.contains(&format!("  Open device         {PORTAL}/machines/v2/{:040x}/overview", 1)), "{text}");
    assert!(text.contains("Run run-42, started 2026-11-20 08:15 CET · playbook offboarding-package-download"));

    // The HTML part: what the table says.
    let html = html_part(&parsed);
    assert_eq!(html, email.html);
    assert!(html.contains("1 hit</strong> between 2026-11-20 08:00 CET and 2026-11-20 08:15 CET."));
    assert!(html.contains("Whoever holds an offboarding package"));
    assert!(html.contains(">High</td>"), "the severity badge");
    let (header, rows) = html_table(&html);
    let expected_header: Vec<String> = ["#"]
        .into_iter()
        .chain(columns().iter().map(|c| c.name.as_str()))
        .chain(["Defender"])
        .map(String::from)
        .collect();
    assert_eq!(header, expected_header);
    assert_eq!(
        rows,
        vec![vec![
            "1".to_string(),
            "2026-11-20 08:01:00 CET".to_string(),
            "7000".to_string(),
            "Analyst 0".to_string(),
            "analyst0@contoso.example".to_string(),
            "203.0.113.0".to_string(),
            "Windows".to_string(),
            format!("{:040x}", 1),
            "Device User".to_string(),
        ]]
    );
    assert!(html.contains(&format!("href=\"{PORTAL}/machines/v2/{:040x}/overview\"", 1)));
    assert!(html.contains(&format!("href=\"{PORTAL}/user?upn&#x3D;analyst0%40contoso%2Eexample\"")));
    assert!(!html.contains("more</strong>"));
}

fn html_blocks(html: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let block = Regex::new(r#"(?s)<table role="presentation" data-hit="(\d+)".*?</table>"#).unwrap();
    let pair = Regex::new(r"(?s)<tr valign=.top.><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td></tr>").unwrap();
    let link = Regex::new(r"(?s)<a [^>]*>Open (\w+)</a>").unwrap();
    let tag = Regex::new(r"<[^>]+>").unwrap();
    let text = |inner: &str| common::html_unescape(&tag.replace_all(inner, ""));
    let mut header = vec!["#".to_string()];
    let mut rows = Vec::new();
    for found in block.captures_iter(html) {
        let mut row = vec![found[1].to_string()];
        let mut names = vec!["#".to_string()];
        for cells in pair.captures_iter(&found[0]) {
            names.push(text(&cells[1]));
            row.push(text(&cells[2]));
        }
        let links: Vec<String> = link
            .captures_iter(&found[0])
            .map(|l| {
                let word = &l[1];
                word[..1].to_uppercase() + &word[1..]
            })
            .collect();
        if !links.is_empty() {
            names.push("Defender".to_string());
            row.push(links.join(" "));
        }
        header = names;
        rows.push(row);
    }
    assert!(!rows.is_empty(), "a hits table or blocks");
    (header, rows)
}

/// A table wider than a mail client shows side by side is one block per hit; `columns:` (a few) keeps a table.
#[test]
fn wide_hits_are_blocks_and_a_few_chosen_columns_a_table() {
    let settings = Receiver::default();
    let wide = settings.render(&downloads(2));
    assert!(!wide.html.contains("<table role=\"table\""), "seven columns and links are too wide for a table");
    assert_eq!(wide.html.matches("data-hit=").count(), 2);
    let mut narrow = downloads(2);
    narrow.shown = Some(vec![0, 3, 5]);
    let email = settings.render(&narrow);
    let (header, rows) = html_table(&email.html);
    assert!(email.html.contains("<table role=\"table\""));
    assert_eq!(header, ["#", "Timestamp", "UserId", "OsFamily", "Defender"]);
    assert_eq!(rows[1][2], "analyst1@contoso.example");
    // What the table leaves out is in the attachment, and the e-mail says so.
    assert!(email.html.contains("4 more columns are in the full result, attached as CSV"), "{}", email.html);
    let parsed = mail_parser::MessageParser::default().parse(&email.mime).expect("MIME");
    let csv = parsed.attachments().next().expect("a CSV attachment");
    let csv = String::from_utf8_lossy(csv.contents());
    assert!(
        csv.trim_start_matches('\u{feff}')
            .starts_with("Timestamp,ReportId,AccountDisplayName,UserId,ClientIP,OsFamily,DeviceId")
    );

    // `layout: table` keeps the wide one a table (a wide aggregate read across); `layout: blocks` makes the
    // narrow one blocks.
    use huntbook::render::email::TableLayout;
    let table = Receiver { layout: TableLayout::Table, ..Receiver::default() }.render(&downloads(2));
    let (header, rows) = html_table(&table.html);
    assert_eq!(header.len(), 1 + 7 + 1, "#, the seven columns and Defender: {header:?}");
    assert_eq!(rows.len(), 2);
    assert!(!table.html.contains("data-hit="));
    let blocks = Receiver { layout: TableLayout::Blocks, ..Receiver::default() }.render(&narrow);
    assert!(!blocks.html.contains("<table role=\"table\"") && blocks.html.matches("data-hit=").count() == 2);
}

#[test]
fn rows_beyond_max_rows_are_counted_and_attached_as_csv() {
    let hits = downloads(40);
    let receiver = Receiver { max_rows: 25, ..Receiver::default() };
    let email = receiver.render(&hits);
    let parsed = parse(&email.mime);

    assert_eq!(parsed.subject(), Some("[High] Defender offboarding package downloaded (40 hits)"));
    let (_, rows) = html_table(&html_part(&parsed));
    assert_eq!(rows.len(), 25);
    assert_eq!(rows[24][3], "Analyst 24");
    let html = html_part(&parsed);
    let csv_name = "offboarding-package-download-20261120T0715Z.csv";
    assert!(html.contains(&format!("… and 15 more</strong> — the full result is attached as CSV ({csv_name})")));
    let text = text_part(&parsed);
    assert!(text.contains(&format!("… and 15 more — the full result is attached as CSV ({csv_name})")), "{text}");
    assert!(text.contains("#25\n") && !text.contains("#26\n"));

    let attached = attachments(&parsed);
    assert_eq!(attached.len(), 1);
    let (name, kind, bytes) = &attached[0];
    assert_eq!((name.as_str(), kind.as_str()), (csv_name, "text/csv"));
    let records = csv_records(bytes);
    assert_eq!(records.len(), 41, "a header row and every hit");
    assert_eq!(records[0], columns().iter().map(|c| c.name.clone()).collect::<Vec<_>>());
    for (index, record) in records[1..].iter().enumerate() {
        let source = download(index);
        let Value::DateTime(time) = source[0] else { unreachable!() };
        assert_eq!(record[0], format_datetime(time), "datetimes in ISO 8601 UTC");
        let rest: Vec<String> = source[1..].iter().map(|v| v.to_text().to_string()).collect();
        assert_eq!(record[1..], rest[..]);
    }
}

#[test]
fn forty_rows_within_max_rows_are_all_shown_without_an_attachment() {
    let email = Receiver::default().render(&downloads(40));
    let parsed = parse(&email.mime);
    let (_, rows) = html_table(&html_part(&parsed));
    assert_eq!(rows.len(), 40);
    assert_eq!(
        rows.iter().map(|row| row[0].clone()).collect::<Vec<_>>(),
        (1..=40).map(|n| n.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(parsed.attachment_count(), 0);
    assert!(!html_part(&parsed).contains("more</strong>"));
}

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "[click](https://evil.example)",
    "'quotes' and `backticks` & ampersands",
    "innocent\r\nBcc: attacker@evil.example",
    "Überweisung für 東京 — ملف",
    "invoice\u{202E}fdp.exe",
];

fn hostile_message() -> Message {
    let huge = "A".repeat(100 * 1024);
    let mut values: Vec<String> = HOSTILE.iter().map(|v| v.to_string()).collect();
    values.push(huge);
    let mut hit = message(Vec::new());
    hit.columns = vec![Column::new("Comment", Type::String), Column::new("FileName", Type::String)];
    hit.hits = values.iter().map(|value| vec![Value::string(value.as_str()), Value::string(value.as_str())]).collect();
    hit
}

#[test]
fn hostile_values_are_escaped_cut_and_kept_whole_in_the_csv() {
    let hit = hostile_message();
    let email = Receiver::default().render(&hit);
    let parsed = parse(&email.mime);
    let html = html_part(&parsed);
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script") && !lower.contains("<img"), "no markup from data");
    assert!(!lower.contains("onerror="), "no attribute from data");
    assert!(!html.contains("href=\"https://evil.example"), "markdown is not a link");
    let unbroken = html.replace("<wbr>", "");
    assert!(unbroken.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(unbroken.contains("&#x27;quotes&#x27; and &#x60;backticks&#x60; &amp; ampersands"));

    let (_, rows) = html_table(&html);
    let comments: Vec<&str> = rows.iter().map(|row| row[1].as_str()).collect();
    assert_eq!(
        comments[..7],
        [
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "[click](https://evil.example)",
            "'quotes' and `backticks` & ampersands",
            "innocent Bcc: attacker@evil.example",
            "Überweisung für 東京 — ملف",
            "invoice‹U+202E›fdp.exe",
        ]
    );
    let huge_cell = comments[7];
    assert!(huge_cell.chars().count() <= 300 && huge_cell.ends_with('…'), "cut: {} chars", huge_cell.len());
    assert!(html.len() < 40_000, "the huge value is not in the HTML ({} bytes)", html.len());

    // No header from data: exactly one Subject, no Bcc, every header line ASCII.
    let headers = raw_headers(&email.mime);
    assert!(parsed.bcc().is_none());
    assert_eq!(parsed.headers().iter().filter(|h| h.name().eq_ignore_ascii_case("Subject")).count(), 1);
    assert!(!headers.lines().any(|line| line.to_ascii_lowercase().starts_with("bcc")), "{headers}");
    assert!(headers.is_ascii());

    // The text part carries the same values, one line each.
    let text = text_part(&parsed);
    assert!(text.contains("  Comment      innocent Bcc: attacker@evil.example\n"), "{text}");
    assert!(!text.contains('\u{202E}') && text.contains("invoice‹U+202E›fdp.exe"));

    // A value was cut, so the whole result goes along, uncut and unchanged — but for the right-to-left
    // override, shown by its code point there too (a spreadsheet would reorder the text).
    let attached = attachments(&parsed);
    assert_eq!(attached.len(), 1);
    let records = csv_records(&attached[0].2);
    assert_eq!(records.len(), 1 + hit.hits.len());
    for (record, row) in records[1..].iter().zip(&hit.hits) {
        let original = row[0].to_text().replace('\u{202E}', "‹U+202E›");
        assert_eq!(record, &vec![original.clone(), original]);
    }
    assert!(html.contains("Some values were too long to show in full — the full result is attached as CSV"));
}

/// Values short enough for a cell that never wraps (at most 24 characters), where markup hides best.
const SHORT_HOSTILE: &[&str] =
    &["<img src=x onerror=a()>", "\"><svg/onload=a()>", "<b>bold</b>", "&amp; &lt;", "'x'`y`"];

#[test]
fn short_hostile_values_in_a_narrow_table_are_escaped_too() {
    let mut hit = message(Vec::new());
    hit.columns = vec![Column::new("Comment", Type::String), Column::new("DeviceName", Type::String)];
    hit.hits = SHORT_HOSTILE.iter().map(|value| vec![Value::string(*value), Value::string("pc-1")]).collect();
    assert!(SHORT_HOSTILE.iter().all(|value| value.chars().count() <= 24));
    let email = Receiver::default().render(&hit);
    let html = html_part(&parse(&email.mime));
    let lower = html.to_lowercase();
    for markup in ["<img", "<svg", "<b>", "onerror=", "onload="] {
        assert!(!lower.contains(markup), "`{markup}` from data in the HTML:\n{html}");
    }
    let (_, rows) = html_table(&html);
    let shown: Vec<&str> = rows.iter().map(|row| row[1].as_str()).collect();
    assert_eq!(shown, SHORT_HOSTILE, "each value shown as the text it is");
}

#[test]
fn a_subject_template_cannot_inject_a_header() {
    let mut hit = message(vec![download(0)]);
    hit.hits[0][3] = Value::string("eve@contoso.example\r\nBcc: attacker@evil.example\r\n\r\n<b>body</b>");
    hit.subject_template = Some("Offboarding package downloaded by {{first.UserId}} on {{first.OsFamily}}".to_string());
    let email = Receiver::default().render(&hit);
    let parsed = parse(&email.mime);
    let expected =
        "Offboarding package downloaded by eve@contoso.example Bcc: attacker@evil.example <b>body</b> on Windows";
    assert_eq!(email.subject, expected);
    assert_eq!(parsed.subject(), Some(expected));
    assert!(parsed.bcc().is_none());
    assert_eq!(parsed.headers().iter().filter(|h| h.name().eq_ignore_ascii_case("Subject")).count(), 1);
    assert!(!raw_headers(&email.mime).lines().any(|line| line.to_ascii_lowercase().starts_with("bcc")));
    // The body is untouched by the subject: the HTML part still escapes the value.
    assert!(html_part(&parsed).contains("&lt;b&gt;body&lt;/b&gt;"));
}

#[test]
fn a_huge_or_non_ascii_subject_stays_one_readable_line() {
    let mut hit = message(vec![download(0)]);
    hit.hits[0][2] = Value::string(format!("Jürgen Müller 東京 {}", "x ".repeat(50_000)));
    hit.subject_template = Some("Téléchargement par {{first.AccountDisplayName}}".to_string());
    let email =
        Receiver { from: "Hüntböök Alerts <huntbook@contoso.example>".to_string(), ..Receiver::default() }.render(&hit);
    let parsed = parse(&email.mime);
    let subject = parsed.subject().unwrap();
    assert!(subject.starts_with("Téléchargement par Jürgen Müller 東京 x x x"), "{subject}");
    assert!(subject.chars().count() <= 200 && subject.ends_with('…'), "{subject}");
    assert_eq!(subject, email.subject);
    assert_eq!(parsed.from().unwrap().first().unwrap().name(), Some("Hüntböök Alerts"));
    let headers = raw_headers(&email.mime);
    assert!(headers.is_ascii(), "non-ASCII is encoded (RFC 2047)");
    assert!(headers.lines().all(|line| line.len() <= 998));
}

#[test]
fn the_digest_has_a_clear_empty_state() {
    let mut empty = message(Vec::new());
    empty.playbook.title = "Weekly release review".to_string();
    empty.playbook.severity = Severity::Informational;
    let receiver = Receiver { template: "digest".to_string(), ..Receiver::default() };
    let email = receiver.render(&empty);
    let parsed = parse(&email.mime);
    assert_eq!(parsed.subject(), Some("[Informational] Weekly release review (no hits)"));
    let html = html_part(&parsed);
    assert!(html.contains("Nothing was found in this window."));
    assert!(html.contains("No hit between 2026-11-20 08:00 CET and 2026-11-20 08:15 CET."));
    assert!(!html.contains("<table role=\"table\""));
    let text = text_part(&parsed);
    assert!(text.contains("Nothing was found in this window.\n"), "{text}");
    assert_eq!(parsed.attachment_count(), 0);
}

fn releases() -> Message {
    let columns = vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("DeviceName", Type::String),
        Column::new("DeviceId", Type::String),
        Column::new("ReleasedBy", Type::String),
        Column::new("IsolationTime", Type::DateTime),
        Column::new("IsolatedBy", Type::String),
        Column::new("IsolationComment", Type::String),
        Column::new("IsolationScope", Type::String),
    ];
    let hits = (0..3)
        .map(|n| {
            vec![
                Value::DateTime(ticks("2026-11-18T14:00:00Z") + n * 36_000_000_000),
                Value::string(format!("pc-{n:04}.contoso.example")),
                Value::string(format!("{:040x}", n + 100)),
                Value::string("megan.bowen@contoso.example"),
                Value::DateTime(ticks("2026-11-17T09:30:00Z")),
                Value::string("alex.wilber@contoso.example"),
                Value::string(format!("Suspicious PowerShell on device {n}")),
                Value::string(if n == 1 { "Selective" } else { "Full" }),
            ]
        })
        .collect();
    let mut release = message(hits);
    release.columns = columns;
    release.playbook.id = "weekly-release-review".to_string();
    release.playbook.title = "Weekly release review".to_string();
    release.window_start = Utc.with_ymd_and_hms(2026, 11, 16, 7, 0, 0).unwrap();
    release.window_end = Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap();
    release
}

#[test]
fn the_digest_lists_every_hit_with_its_values() {
    let receiver = Receiver { template: "digest".to_string(), ..Receiver::default() };
    let email = receiver.render(&releases());
    let parsed = parse(&email.mime);
    let html = html_part(&parsed);
    assert!(html.contains("2026-11-16 08:00 CET – 2026-11-23 08:00 CET"));
    for n in 0..3 {
        assert!(html.contains(&format!("<strong>#{}</strong>", n + 1)));
        assert!(html.contains(&format!(">pc-{n:04}.contoso.example</td>")));
        assert!(html.contains(&format!(">Suspicious PowerShell on device {n}</td>")));
        assert!(html.contains(&format!("href=\"{PORTAL}/machines/v2/{:040x}/overview\"", n + 100)));
    }
    assert!(html.contains(">2026-11-17 10:30:00 CET</td>"), "isolation time in the receiver's zone");
    let text = text_part(&parsed);
    assert!(text.contains("3 hits in this window."), "{text}");
    assert!(text.contains("  IsolationComment  Suspicious PowerShell on device 2\n"), "{text}");
}

#[test]
fn a_user_template_replaces_the_shipped_one_of_the_same_name() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("email-table.html.hbs"),
        "<html><body><h2>Ours: {{playbook.title}}, {{count}} hits</h2>{{table}}\
         <p>{{#each hits}}{{UserId}} / {{/each}}</p><p>{{device_link first.DeviceId label=\"device page\"}}</p>\
         <p>{{datetime window.end \"%d %B %Y, %H:%M\" timezone=\"America/New_York\"}}</p></body></html>",
    )
    .unwrap();
    std::fs::write(directory.path().join("README.md"), "not a template").unwrap();
    let templates = Templates::load(Some(directory.path())).unwrap_or_else(|errors| panic!("{errors:?}"));
    assert_eq!(templates.names(), vec!["digest", "email-table"]);
    let email = Receiver::default().render_with(&downloads(3), &templates);
    let parsed = parse(&email.mime);
    let html = html_part(&parsed);
    assert!(html.contains("<h2>Ours: Defender offboarding package downloaded, 3 hits</h2>"), "{html}");
    assert!(html.contains("<p>analyst0@contoso.example / analyst1@contoso.example / analyst2@contoso.example / </p>"));
    assert!(html.contains(&format!("<a href=\"{PORTAL}/machines/v2/{:040x}/overview\"", 1)));
    assert!(html.contains(">device page</a>"));
    assert!(html.contains("<p>20 November 2026, 02:15</p>"), "{html}");
    assert_eq!(html_table(&html).1.len(), 3);
    // Only the HTML part was replaced: the text part is still the shipped one.
    assert!(text_part(&parsed).contains("3 hits between 2026-11-20 08:00 CET and 2026-11-20 08:15 CET."));
}

#[test]
fn a_broken_user_template_is_reported_with_its_file_and_line() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("email-table.html.hbs");
    std::fs::write(&path, "<html>\n<body>\n{{#each hits}}\n<p>{{UserId}}</p>\n{{/if}}\n</body>\n</html>\n").unwrap();
    std::fs::write(directory.path().join("weekly.html.hbs"), "<p>\n  {{datetime window.end \"%Q\"}}\n</p>\n").unwrap();
    let errors = Templates::load(Some(directory.path())).err().expect("broken templates are errors");
    assert_eq!(errors.len(), 2, "{errors:?}");
    let broken = &errors[0];
    assert_eq!(broken.file, path.display().to_string());
    assert_eq!(broken.line, 5);
    assert!(broken.message.contains("each") && broken.message.contains("if"), "{}", broken.message);
    assert!(broken.render().contains(&format!("{}:5:1", path.display())), "{}", broken.render());
    let runtime = &errors[1];
    assert!(runtime.file.ends_with("weekly.html.hbs"));
    assert_eq!((runtime.line, runtime.column), (2, 3));
    assert!(runtime.message.contains("not a valid format"), "{}", runtime.message);
}

#[test]
fn subject_templates_are_checked() {
    assert_eq!(check_subject("Download by {{first.UserId}} ({{count}})"), Ok(()));
    assert!(check_subject("{{#if count}}unclosed").is_err());
    let unknown = check_subject("{{shout first.UserId}}").unwrap_err();
    assert!(unknown.contains("shout"), "{unknown}");
}

#[test]
fn bad_addresses_are_named_and_stop_the_render() {
    let receiver = Receiver { to: vec!["soc@contoso.example".into(), "soc at contoso".into()], ..Receiver::default() };
    let error = render_email(&downloads(1), &receiver.settings(), &TEMPLATES, OUTBOX_ID, date()).err().unwrap();
    assert!(matches!(error, RenderError::Address { .. }));
    assert!(error.to_string().contains("soc at contoso"), "{error}");
    let unknown = Receiver { template: "nope".into(), ..Receiver::default() };
    let error = render_email(&downloads(1), &unknown.settings(), &TEMPLATES, OUTBOX_ID, date()).err().unwrap();
    assert!(error.to_string().contains("'nope'") && error.to_string().contains("email-table"), "{error}");
}

#[test]
fn the_same_message_renders_to_the_same_bytes() {
    let receiver = Receiver { max_rows: 10, ..Receiver::default() };
    let first = receiver.render(&downloads(12));
    let second = receiver.render(&downloads(12));
    assert_eq!(first.mime, second.mime, "a re-sent message keeps its Message-ID and its bytes");
    let raw = String::from_utf8_lossy(&first.mime);
    assert!(raw.contains("Content-Type: multipart/mixed;"));
    assert!(raw.contains("Content-Type: multipart/alternative;"));
    let text_at = raw.find("Content-Type: text/plain; charset=utf-8").unwrap();
    let html_at = raw.find("Content-Type: text/html; charset=utf-8").unwrap();
    assert!(text_at < html_at, "text first, then HTML");
    assert!(raw.split("\r\n").all(|line| line.len() <= 998), "no line over the RFC 5322 limit");
}

#[test]
fn a_cut_off_result_says_so() {
    let mut hit = downloads(3);
    hit.truncated = true;
    let email = Receiver::default().render(&hit);
    let parsed = parse(&email.mime);
    assert_eq!(parsed.subject(), Some("[High] Defender offboarding package downloaded (3+ hits)"));
    assert!(html_part(&parsed).contains("The result was cut off"));
    assert!(text_part(&parsed).contains("The result was cut off"));
}

#[test]
fn a_subject_template_with_a_partial_is_refused_not_run() {
    // A partial that includes itself would recurse until the stack overflows and abort the process.
    let recursive = "{{#*inline \"p\"}}{{> p}}{{/inline}}{{> p}}";
    assert!(check_subject(recursive).unwrap_err().contains("partials"));
    let mut hit = downloads(1);
    hit.subject_template = Some(recursive.to_string());
    let error = render_email(&hit, &Receiver::default().settings(), &TEMPLATES, OUTBOX_ID, date()).err().unwrap();
    assert!(matches!(error, RenderError::Subject { .. }), "{error}");
}

#[test]
fn a_chart_that_cannot_be_drawn_is_said_in_both_parts_and_the_hits_still_go() {
    use huntbook::render::chart::ChartRequest;
    // Nothing numeric to draw: a chart query whose result is names only.
    let mut broken = message(vec![download(0), download(1)]);
    broken.chart = Some(ChartRequest::Query("hits | summarize by UserId | render columnchart".into()));
    let email = Receiver::default().render(&broken);
    let parsed = parse(&email.mime);
    let said = "The chart could not be drawn: the result has no numeric column to draw besides the x axis 'UserId'";
    assert!(common::html_unescape(&email.html).contains(said), "{}", email.html);
    assert!(text_part(&parsed).contains(said));
    assert!(!email.html.contains("<img"));
    assert_eq!(parsed.attachment_count(), 0, "no image");
    assert!(email.html.contains("Analyst 1") && text_part(&parsed).contains("analyst1@contoso.example"), "the hits");

    // A template that does not show the chart sends no image.
    let mut drawn = message(vec![download(0), download(1)]);
    drawn.chart = Some(ChartRequest::Query("hits | summarize n = count() by UserId | render barchart".into()));
    let shown = Receiver::default().render(&drawn);
    assert_eq!(parse(&shown.mime).attachment_count(), 1, "the chart");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("plain.html.hbs"), "<p>{{count}} hits</p>").expect("template");
    let templates = Templates::load(Some(dir.path())).unwrap_or_else(|errors| panic!("{errors:?}"));
    let plain = Receiver { template: "plain".to_string(), ..Receiver::default() }.render_with(&drawn, &templates);
    assert_eq!(parse(&plain.mime).attachment_count(), 0, "no image the HTML does not show");
}
