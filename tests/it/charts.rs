//! Charts in e-mails, through the real binary: a query ending in `render` and a `notify` entry's `chart:` are
//! drawn as a PNG that the HTML part shows inline (`cid:`), described in the text part and the image's `alt`;
//! what cannot be drawn is a warning of `validate` (for a query) or an error pointing into the `chart:`.

use std::path::Path;
use std::process::Output;

use mail_parser::{MessageParser, MimeHeaders, PartType};

use crate::common;

/// A project with one hourly playbook over `data/CloudAppEvents.jsonl` (three downloads by two people), its
/// e-mails written as `.eml` files under `out/`.
fn project(query_end: &str, notify_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("playbooks")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(
        dir.path().join("playbooks/downloads.yaml"),
        format!(
            "id: downloads\ntitle: Offboarding packages\nseverity: high\n\
             schedule: {{ every: 1d, first_lookback: 1d, overlap: 0m, delay: 0m }}\n\
             query: |\n  CloudAppEvents\n  | where ActionType == \"DownloadOffboardingPkg\"\n{query_end}\
             notify:\n  - to: [soc]\n{notify_extra}"
        ),
    )
    .expect("playbook");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        "state: huntbook.db\nplaybooks: playbooks\nsource: { kind: local, data: data }\n\
         receivers:\n  soc:\n    email: { to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: out }\n",
    )
    .expect("config");
    let rows: String = [
        ("2026-11-20T06:10:00Z", "Megan Bowen", "r1"),
        ("2026-11-20T06:40:00Z", "Megan Bowen", "r2"),
        ("2026-11-20T08:05:00Z", "Alex Wilber", "r3"),
    ]
    .iter()
    .map(|(time, account, report)| {
        format!(
            "{}\n",
            serde_json::json!({ "Timestamp": time, "ActionType": "DownloadOffboardingPkg",
                                "AccountDisplayName": account, "ReportId": report })
        )
    })
    .collect();
    std::fs::write(dir.path().join("data/CloudAppEvents.jsonl"), rows).expect("data");
    dir
}

fn huntbook(dir: &Path, args: &[&str]) -> Output {
    common::huntbook()
        .current_dir(dir)
        .args(args)
        .env_remove("HUNTBOOK_CONFIG")
        .env("HUNTBOOK_NOW", "2026-11-20T12:00:00Z")
        .output()
        .expect("huntbook runs")
}

/// The one e-mail written.
fn the_email(dir: &Path) -> Vec<u8> {
    let files: Vec<_> = std::fs::read_dir(dir.join("out")).expect("out").map(|e| e.expect("entry").path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read(&files[0]).expect("eml")
}

/// The PNG's width and height, from its header.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    (number(16), number(20))
}

#[test]
fn a_query_ending_in_render_sends_its_chart_inline() {
    let dir = project(
        "  | summarize Downloads = count() by Hour = bin(Timestamp, 1h), AccountDisplayName\n\
         \x20 | render columnchart with (title=\"Downloads per hour\", kind=stacked)\n",
        "",
    );
    let validated = huntbook(dir.path(), &["validate"]);
    assert_eq!(validated.status.code(), Some(0), "{}", common::stderr(&validated));
    assert!(!common::stderr(&validated).contains("warning"), "{}", common::stderr(&validated));
    let run = huntbook(dir.path(), &["run"]);
    assert_eq!(run.status.code(), Some(0), "{}{}", common::stdout(&run), common::stderr(&run));

    let raw = the_email(dir.path());
    let email = MessageParser::new().parse(&raw).expect("MIME");
    let html = email.body_html(0).expect("HTML part").into_owned();
    let cid = regex::Regex::new(r#"<img src="cid:([^"]+)""#).unwrap();
    let cid = cid.captures(&html).unwrap_or_else(|| panic!("no inline image in {html}"))[1].to_string();
    let alt = regex::Regex::new(r#"alt="([^"]*)""#).unwrap().captures(&html).expect("alt")[1].to_string();
    assert_eq!(
        common::html_unescape(&alt),
        "Column chart \"Downloads per hour\": Megan Bowen: 20 Nov 06:00 2; Alex Wilber: 20 Nov 08:00 1"
    );
    // The image is a part of the message, referenced by its Content-ID, next to the HTML (multipart/related).
    let image = email
        .parts
        .iter()
        .find(|part| part.content_id().is_some_and(|id| id.trim_matches(['<', '>']) == cid))
        .unwrap_or_else(|| panic!("no part with Content-ID {cid}"));
    let kind = image.content_type().expect("content type");
    assert_eq!((kind.ctype(), kind.subtype()), ("image", Some("png")));
    let (PartType::Binary(bytes) | PartType::InlineBinary(bytes)) = &image.body else { panic!("binary image") };
    assert_eq!(png_size(bytes), (1280, 640), "drawn at twice the 640 × 320 it is shown at");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Content-Type: multipart/related"), "the HTML and its image travel together");
    let plain = email.body_text(0).expect("text part");
    assert!(plain.contains("Chart (in the HTML part): Column chart \"Downloads per hour\""), "{plain}");
}

#[test]
fn what_cannot_be_drawn_is_a_warning_and_the_email_goes_without_it() {
    let dir = project("  | project Timestamp, AccountDisplayName\n  | render piechart\n", "");
    let validated = huntbook(dir.path(), &["validate"]);
    assert_eq!(validated.status.code(), Some(0), "the query still runs: {}", common::stderr(&validated));
    let warned = common::stderr(&validated);
    assert!(
        warned.contains(
            "e-mails go without a chart: the result has no numeric column to draw besides the x axis 'Timestamp' \
             (its columns: Timestamp (datetime), AccountDisplayName (string))"
        ),
        "{warned}"
    );
    assert!(warned.contains("downloads.yaml:9:5"), "the warning points at the render line: {warned}");
    let run = huntbook(dir.path(), &["run"]);
    assert_eq!(run.status.code(), Some(0), "{}", common::stderr(&run));
    let email = the_email(dir.path());
    let html = MessageParser::new().parse(&email).expect("MIME").body_html(0).expect("HTML").into_owned();
    assert!(!html.contains("<img"), "no chart");
    assert!(html.contains("Megan Bowen"), "the hits are all there");

    let dir = project("  | summarize n = count() by AccountDisplayName\n  | render treemap\n", "");
    let warned = common::stderr(&huntbook(dir.path(), &["validate"]));
    assert!(warned.contains("e-mails go without a chart: huntbook does not draw a 'treemap'"), "{warned}");
}

#[test]
fn a_chart_entry_is_checked_against_the_hits_columns() {
    let cases = [
        (
            "    chart: summarize n = count() by Acount | render columnchart\n",
            "downloads.yaml:11:",
            "Failed to resolve scalar expression named 'Acount'",
        ),
        (
            "    chart: summarize n = count() by AccountDisplayName | render columnchart with (ycolumns=Count)\n",
            "downloads.yaml:11:",
            "render's ycolumns names 'Count', which is not a column of the result (its columns: AccountDisplayName, n)",
        ),
        ("    chart: summarize n = count() by AccountDisplayName\n", "downloads.yaml:11:", "ends in `render`"),
        (
            "    chart: summarize n = count() by AccountDisplayName | render ladderchart\n",
            "downloads.yaml:11:",
            "huntbook does not draw a 'ladderchart'",
        ),
    ];
    for (chart, place, message) in cases {
        let dir = project("  | project Timestamp, AccountDisplayName, ReportId\n", chart);
        let output = huntbook(dir.path(), &["validate"]);
        let said = format!("{}{}", common::stdout(&output), common::stderr(&output));
        assert_eq!(output.status.code(), Some(2), "{chart}: {said}");
        assert!(said.contains(place) && said.contains(message), "{chart}: {said}");
    }
    // The caret is under the name in the chart as written (not shifted by the `hits |` before it).
    let dir = project(
        "  | project Timestamp, AccountDisplayName, ReportId\n",
        "    chart: summarize n = count() by Acount | render columnchart\n",
    );
    let said = common::stderr(&huntbook(dir.path(), &["validate"]));
    let line = said.lines().find(|line| line.contains("chart: summarize")).expect("the line shown");
    let caret = said.lines().skip_while(|l| !l.contains("chart: summarize")).nth(1).expect("caret line");
    let at = caret.find('^').expect("caret");
    assert_eq!(&line[at..at + 6], "Acount", "{said}");
}

#[test]
fn a_chart_entry_draws_from_the_hits() {
    let dir = project(
        "  | project Timestamp, AccountDisplayName, ReportId\n",
        "    chart: |\n      summarize Downloads = count() by AccountDisplayName\n      | render barchart with (title='Who downloads')\n",
    );
    let run = huntbook(dir.path(), &["run"]);
    assert_eq!(run.status.code(), Some(0), "{}", common::stderr(&run));
    let raw = the_email(dir.path());
    let email = MessageParser::new().parse(&raw).expect("MIME");
    let plain = email.body_text(0).expect("text").into_owned();
    assert!(
        plain.contains("Chart (in the HTML part): Bar chart \"Who downloads\": Megan Bowen 2, Alex Wilber 1"),
        "{plain}"
    );
    assert!(email.body_html(0).expect("HTML").contains("Megan Bowen"), "the hits are still listed");
}

#[test]
fn the_weekly_digest_shows_releases_per_day() {
    let out = tempfile::tempdir().expect("temp dir");
    let output = common::huntbook()
        .current_dir(common::repo())
        .args(["preview", "isolation-release-review", "-o"])
        .arg(out.path())
        .env_remove("HUNTBOOK_CONFIG")
        .output()
        .expect("huntbook runs");
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    let page = std::fs::read_to_string(out.path().join("01-soc-digest.html")).expect("the digest's page");
    // The preview shows the inline image from the message itself.
    assert!(page.contains("data:image/png;base64,"), "the chart is shown");
    assert!(!page.contains("cid:"), "no reference is left unresolved");
    // Srcdoc holds the e-mail's HTML escaped once more.
    let shown = common::html_unescape(&common::html_unescape(&page));
    assert!(
        shown.contains("alt=\"Column chart \"Releases per day\": Wed 18 Nov 1, Thu 19 Nov 1, Fri 20 Nov 1\""),
        "{shown}"
    );
}

#[test]
fn query_draws_a_render_into_a_file_and_says_what_it_drew() {
    let dir = project("", "");
    let out = dir.path().join("downloads.png");
    let output = common::query(
        &dir.path().join("data"),
        &["--chart", out.to_str().expect("a path"), "--format", "csv"],
        "CloudAppEvents | summarize Downloads = count() by AccountDisplayName | render piechart with (title='Who')",
    );
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    assert_eq!(png_size(&std::fs::read(&out).expect("the PNG")), (1280, 640));
    let said = common::stderr(&output);
    assert!(said.contains("(Pie chart \"Who\": Megan Bowen 2, Alex Wilber 1)"), "{said}");
    assert!(common::stdout(&output).starts_with("AccountDisplayName,Downloads\n"), "the rows as usual");

    let plain = common::query(&dir.path().join("data"), &["--chart", "x.png"], "CloudAppEvents | count");
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        common::stderr(&plain).contains("--chart: the query does not end in `render`"),
        "{}",
        common::stderr(&plain)
    );
}
