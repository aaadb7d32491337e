//! The handlebars helpers of the e-mail templates. The same names exist in the HTML and the text registry;
//! `table` and the link helpers write HTML in one and plain text in the other, escaping everything they take
//! from the context themselves (their output is not escaped again). The others return values, which the
//! registry escapes like any `{{value}}`.
//!
//! Helpers read the receiver's timezone and the portal from the context's root (`timezone`, `portal`), so one
//! registry serves every receiver.

use std::fmt::Write;

use chrono::format::{Item, StrftimeItems};
use chrono_tz::Tz;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, Output, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use serde_json::Value as Json;
use unicode_width::UnicodeWidthStr;

use super::context::parse_context_datetime;
use super::sanitize::{cut, escape_html};
use crate::render::links::{device_url, file_url, user_url};

/// Which registry a helper writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Html,
    Text,
}

/// The default format of `{{datetime value}}`: `2026-11-20 08:00 CET`.
const DEFAULT_DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M %Z";

/// Registers every helper for `mode`.
pub fn register(registry: &mut Handlebars<'static>, mode: Mode) {
    registry.register_helper("table", Box::new(TableHelper { mode }));
    registry.register_helper("datetime", Box::new(DatetimeHelper));
    registry.register_helper("default", Box::new(DefaultHelper));
    registry.register_helper("json", Box::new(JsonHelper));
    registry.register_helper("truncate", Box::new(TruncateHelper));
    registry.register_helper("plural", Box::new(PluralHelper));
    registry.register_helper("device_link", Box::new(LinkHelper { mode, kind: LinkKind::Device }));
    registry.register_helper("file_link", Box::new(LinkHelper { mode, kind: LinkKind::File }));
    registry.register_helper("user_link", Box::new(LinkHelper { mode, kind: LinkKind::User }));
}

fn other(message: String) -> RenderError {
    RenderErrorReason::Other(message).into()
}

fn root_timezone(context: &Context) -> Tz {
    context.data().get("timezone").and_then(Json::as_str).and_then(|name| name.parse().ok()).unwrap_or(Tz::UTC)
}

fn root_portal(context: &Context) -> &str {
    context.data().get("portal").and_then(Json::as_str).unwrap_or("https://security.microsoft.com")
}

/// A parameter's text: strings as they are, numbers and booleans printed, null and missing values empty.
fn param_text(helper: &Helper, index: usize) -> String {
    helper.param(index).map(|param| param.value().render()).unwrap_or_default()
}

/// A string argument given by position or by name (`{{datetime x "%H:%M"}}`, `{{datetime x format="%H:%M"}}`).
fn string_argument(helper: &Helper, index: usize, name: &str) -> Option<String> {
    helper.param(index).or_else(|| helper.hash_get(name)).and_then(|param| param.value().as_str().map(str::to_string))
}

/// `{{datetime value [format] [timezone="Europe/Amsterdam"]}}`: a datetime of the context (or any ISO 8601
/// text) in another format or timezone. Text that is no datetime is printed as it is.
struct DatetimeHelper;

impl HelperDef for DatetimeHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        context: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let format = string_argument(helper, 1, "format").unwrap_or_else(|| DEFAULT_DATETIME_FORMAT.to_string());
        let items: Vec<Item> = StrftimeItems::new(&format).collect();
        if items.iter().any(|item| matches!(item, Item::Error)) {
            return Err(other(format!("datetime: '{format}' is not a valid format (see chrono's strftime)")));
        }
        let source_timezone = root_timezone(context);
        let timezone = match helper.hash_get("timezone").map(|param| param.value().render()) {
            Some(name) => name.parse::<Tz>().map_err(|_| other(format!("datetime: unknown timezone '{name}'")))?,
            None => source_timezone,
        };
        let text = param_text(helper, 0);
        let Some(instant) = parse_context_datetime(&text, source_timezone) else {
            return Ok(Json::String(text).into());
        };
        let mut out = String::new();
        write!(out, "{}", instant.with_timezone(&timezone).format_with_items(items.iter()))
            .map_err(|_| other(format!("datetime: '{format}' cannot format this datetime")))?;
        Ok(Json::String(out).into())
    }
}

/// `{{default value fallback}}`: the value, or the fallback when it is missing, null or empty.
struct DefaultHelper;

impl HelperDef for DefaultHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let value = helper.param(0).map(|param| param.value().clone()).unwrap_or(Json::Null);
        let empty = match &value {
            Json::Null => true,
            Json::String(text) => text.trim().is_empty(),
            _ => false,
        };
        if empty {
            Ok(helper.param(1).map(|param| param.value().clone()).unwrap_or(Json::Null).into())
        } else {
            Ok(value.into())
        }
    }
}

/// `{{json value}}`: the value as compact JSON (escaped like any value in HTML).
struct JsonHelper;

impl HelperDef for JsonHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let value = helper.param(0).map(|param| param.value().clone()).unwrap_or(Json::Null);
        Ok(Json::String(value.to_string()).into())
    }
}

/// `{{truncate value 40}}`: at most 40 characters, the last one `…` when it was cut.
struct TruncateHelper;

impl HelperDef for TruncateHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let limit = helper
            .param(1)
            .and_then(|param| param.value().as_u64())
            .ok_or_else(|| other("truncate: give the length as a number, as in {{truncate value 40}}".to_string()))?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(1);
        Ok(Json::String(cut(&param_text(helper, 0), limit)).into())
    }
}

/// `{{plural count "hit" "hits"}}`: `1 hit`, `3 hits`.
struct PluralHelper;

impl HelperDef for PluralHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let count = helper.param(0).and_then(|param| param.value().as_u64()).unwrap_or(0);
        let singular = param_text(helper, 1);
        let plural = helper.param(2).map(|param| param.value().render()).unwrap_or_else(|| format!("{singular}s"));
        let word = if count == 1 { singular } else { plural };
        Ok(Json::String(format!("{count} {word}")).into())
    }
}

#[derive(Clone, Copy)]
enum LinkKind {
    Device,
    File,
    User,
}

/// `{{device_link value [label="…"]}}`, `{{file_link …}}`, `{{user_link …}}`: a link to the portal page of a
/// device id, a file hash, a user (object id or UPN). A value that is not such an identifier makes no link:
/// its text is printed instead. In text templates the link is the bare URL.
struct LinkHelper {
    mode: Mode,
    kind: LinkKind,
}

impl HelperDef for LinkHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        context: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let value = param_text(helper, 0);
        let value = value.trim();
        let portal = root_portal(context);
        let url = match self.kind {
            LinkKind::Device => device_url(portal, value),
            LinkKind::File => file_url(portal, value),
            LinkKind::User => user_url(portal, value),
        };
        let label = helper.hash_get("label").map(|param| param.value().render()).unwrap_or_else(|| value.to_string());
        let written = match (self.mode, url) {
            (Mode::Html, Some(url)) => {
                format!("<a href=\"{}\" style=\"{LINK_STYLE}\">{}</a>", escape_html(&url), escape_html(&label))
            }
            (Mode::Html, None) => escape_html(&label),
            (Mode::Text, Some(url)) => url,
            (Mode::Text, None) => label,
        };
        out.write(&written)?;
        Ok(())
    }
}

const FONT: &str = "font-family:Segoe UI,Arial,Helvetica,sans-serif;";
const LINK_STYLE: &str = "color:#0b57d0;text-decoration:underline;";

/// `{{table}}`: the shown hits as a table (HTML: a header row, zebra rows, portal links per row; text: one
/// block per hit, names aligned).
struct TableHelper {
    mode: Mode,
}

/// What `table` reads from the context root.
struct TableData<'a> {
    columns: Vec<&'a str>,
    rows: &'a [Json],
    /// `auto`, `table` or `blocks` (`TableLayout`).
    layout: &'a str,
}

fn table_data(context: &Context) -> TableData<'_> {
    let root = context.data();
    let columns = root
        .get("columns")
        .and_then(Json::as_array)
        .map(|columns| columns.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let rows = root.get("rows").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    let layout = root.get("layout").and_then(Json::as_str).unwrap_or("auto");
    TableData { columns, rows, layout }
}

fn row_cells(row: &Json) -> Vec<&str> {
    row.get("cells")
        .and_then(Json::as_array)
        .map(|cells| cells.iter().map(|cell| cell.get("text").and_then(Json::as_str).unwrap_or_default()).collect())
        .unwrap_or_default()
}

fn row_links(row: &Json) -> Vec<(&str, &str)> {
    row.get("links")
        .and_then(Json::as_array)
        .map(|links| {
            links.iter().filter_map(|link| Some((link.get("title")?.as_str()?, link.get("url")?.as_str()?))).collect()
        })
        .unwrap_or_default()
}

impl HelperDef for TableHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        _: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        context: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let data = table_data(context);
        if data.rows.is_empty() {
            return Ok(());
        }
        let written = match self.mode {
            Mode::Html => html_table(&data),
            Mode::Text => text_table(&data),
        };
        out.write(&written)?;
        Ok(())
    }
}

/// Cells up to this many characters never wrap (a time with its zone, an IP address, a name).
const NO_WRAP_UP_TO: usize = 24;
/// Longer cells wrap at spaces, and runs without a space longer than this get break opportunities that cut
/// them into equal pieces no longer than this, so that one hash or command line neither pushes the table
/// past the e-mail's width nor squeezes the other columns to a word per line.
const PIECE: usize = 20;

/// Escaped cell text with `<wbr>` in long runs of non-space characters (copying still gives the value as it is).
fn breakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        let pieces = run.len().div_ceil(PIECE).max(1);
        let size = run.len().div_ceil(pieces).max(1);
        let chunks: Vec<String> =
            run.chunks(size).map(|chunk| escape_html(&chunk.iter().collect::<String>())).collect();
        out.push_str(&chunks.join("<wbr>"));
        run.clear();
    };
    for character in text.chars() {
        if character.is_whitespace() {
            flush(&mut run, &mut out);
            out.push(character);
        } else {
            run.push(character);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn capitalized(word: &str) -> String {
    let mut characters = word.chars();
    characters.next().map(|first| first.to_uppercase().chain(characters).collect()).unwrap_or_default()
}

/// Tables wider than this many columns (the links' column counts, `#` does not) become one block per hit: a mail client
/// 600 to 960 px wide shows about this many columns side by side before it cuts or squeezes them (looked at in
/// headless Chromium at both widths: at 960 px nine columns lost their last three, at 600 px five their last).
const MOST_TABLE_COLUMNS: usize = 4;

fn html_table(data: &TableData) -> String {
    let with_links = data.rows.iter().any(|row| !row_links(row).is_empty());
    let wide = data.columns.len() + usize::from(with_links) > MOST_TABLE_COLUMNS;
    if data.layout == "blocks" || (wide && data.layout != "table") {
        return html_blocks(data);
    }
    let header_cell = format!(
        "{FONT}font-size:12px;line-height:16px;font-weight:600;color:#374151;padding:8px 8px;\
         border-bottom:2px solid #d1d5db;white-space:nowrap;"
    );
    let cell = format!("{FONT}font-size:13px;line-height:18px;padding:6px 8px;border-bottom:1px solid #e5e7eb;");
    let mut html = String::new();
    // The wrapper scrolls sideways when a wide table meets a narrow screen, instead of widening the whole
    // e-mail (and cutting off its text).
    html.push_str("<div style=\"overflow-x:auto;\">\n");
    html.push_str(
        "<table role=\"table\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" \
         style=\"width:100%;border-collapse:collapse;color:#111827;\">\n<thead><tr>",
    );
    let _ = write!(html, "<th align=\"left\" nowrap style=\"{header_cell}\">#</th>");
    for column in &data.columns {
        let _ = write!(html, "<th align=\"left\" nowrap style=\"{header_cell}\">{}</th>", escape_html(column));
    }
    if with_links {
        let _ = write!(html, "<th align=\"left\" nowrap style=\"{header_cell}\">Defender</th>");
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (index, row) in data.rows.iter().enumerate() {
        let background = if index % 2 == 0 { "#ffffff" } else { "#f3f6fa" };
        let number = row.get("number").and_then(Json::as_u64).unwrap_or(index as u64 + 1);
        let _ = write!(
            html,
            "<tr valign=\"top\" bgcolor=\"{background}\" style=\"background-color:{background};\">\
             <td style=\"{cell}color:#6b7280;\">{number}</td>"
        );
        for text in row_cells(row) {
            if text.chars().count() <= NO_WRAP_UP_TO {
                let _ = write!(html, "<td nowrap style=\"{cell}white-space:nowrap;\">{}</td>", escape_html(text));
            } else {
                let _ = write!(html, "<td style=\"{cell}overflow-wrap:break-word;\">{}</td>", breakable(text));
            }
        }
        if with_links {
            let links: Vec<String> = row_links(row)
                .into_iter()
                .map(|(title, url)| {
                    // The column is headed "Defender": "Open device" reads as "Device" there, and the
                    // narrower column leaves room for the data.
                    let label = title.strip_prefix("Open ").map(capitalized).unwrap_or_else(|| title.to_string());
                    format!("<a href=\"{}\" style=\"{LINK_STYLE}\">{}</a>", escape_html(url), escape_html(&label))
                })
                .collect();
            let _ = write!(html, "<td nowrap style=\"{cell}white-space:nowrap;\">{}</td>", links.join("<br>"));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n</div>");
    html
}

/// One block per hit, for tables too wide to read side by side: `#1`, then a name–value table of its columns,
/// then its portal links.
fn html_blocks(data: &TableData) -> String {
    let name_cell = format!(
        "{FONT}font-size:12px;line-height:18px;font-weight:600;color:#374151;padding:3px 12px 3px 0;\
         white-space:nowrap;vertical-align:top;width:1%;"
    );
    let value_cell = format!("{FONT}font-size:13px;line-height:18px;padding:3px 0;overflow-wrap:break-word;");
    let mut html = String::new();
    for (index, row) in data.rows.iter().enumerate() {
        let number = row.get("number").and_then(Json::as_u64).unwrap_or(index as u64 + 1);
        let background = if index % 2 == 0 { "#ffffff" } else { "#f3f6fa" };
        let _ = write!(
            html,
            "<table role=\"presentation\" data-hit=\"{number}\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
             border=\"0\" bgcolor=\"{background}\" style=\"width:100%;border-collapse:collapse;color:#111827;\
             background-color:{background};border-top:2px solid #d1d5db;margin:0 0 8px 0;\">\n\
             <tr><td colspan=\"2\" style=\"{FONT}font-size:12px;line-height:16px;color:#6b7280;padding:6px 0 2px 0;\">#{number}</td></tr>\n"
        );
        for (column, text) in data.columns.iter().zip(row_cells(row)) {
            let _ = writeln!(
                html,
                "<tr valign=\"top\"><td style=\"{name_cell}\">{}</td><td style=\"{value_cell}\">{}</td></tr>",
                escape_html(column),
                breakable(text)
            );
        }
        let links: Vec<String> = row_links(row)
            .into_iter()
            .map(|(title, url)| {
                format!("<a href=\"{}\" style=\"{LINK_STYLE}\">{}</a>", escape_html(url), escape_html(title))
            })
            .collect();
        if !links.is_empty() {
            let _ = writeln!(
                html,
                "<tr><td colspan=\"2\" style=\"{FONT}font-size:13px;line-height:18px;padding:4px 0 6px 0;\">{}</td></tr>",
                links.join(" · ")
            );
        }
        html.push_str("</table>\n");
    }
    html
}

/// One block per hit: `#1`, then `Name  value` lines with the names aligned, then the portal links.
fn text_table(data: &TableData) -> String {
    let width = data.columns.iter().map(|column| column.width()).max().unwrap_or(0).max("Open device".len());
    let mut blocks = Vec::with_capacity(data.rows.len());
    for (index, row) in data.rows.iter().enumerate() {
        let number = row.get("number").and_then(Json::as_u64).unwrap_or(index as u64 + 1);
        let mut block = format!("#{number}\n");
        let lines = data.columns.iter().copied().zip(row_cells(row)).chain(row_links(row));
        for (name, value) in lines {
            let padding = width.saturating_sub(name.width());
            let line = format!("  {name}{}  {value}", " ".repeat(padding));
            let _ = writeln!(block, "{}", line.trim_end());
        }
        blocks.push(block);
    }
    blocks.join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::templates::registry;
    use super::*;

    #[test]
    fn value_helpers_format_and_escape() {
        let html = registry(Mode::Html);
        let text = registry(Mode::Text);
        let device = "a".repeat(40);
        let context = serde_json::json!({
            "timezone": "Europe/Amsterdam",
            "portal": "https://security.microsoft.com",
            "window": {"end": "2026-11-20 08:15 CET"},
            "count": 3,
            "first": {"DeviceId": device, "Comment": "", "Name": "<b>x</b>", "When": "2026-11-20T07:15:00Z"},
        });
        let render = |registry: &Handlebars, template: &str| registry.render_template(template, &context).unwrap();
        assert_eq!(render(&html, "{{datetime window.end \"%H:%M %Z\" timezone=\"UTC\"}}"), "07:15 UTC");
        assert_eq!(render(&html, "{{datetime first.When format=\"%d %b %H:%M\"}}"), "20 Nov 08:15");
        assert_eq!(render(&html, "{{datetime first.Name}}"), "&lt;b&gt;x&lt;/b&gt;", "not a datetime: as it is");
        assert!(html.render_template("{{datetime window.end timezone=\"Mars/Olympus\"}}", &context).is_err());
        assert_eq!(
            render(&html, "{{default first.Comment \"(none)\"}} {{default first.Name \"-\"}}"),
            "(none) &lt;b&gt;x&lt;/b&gt;"
        );
        assert_eq!(render(&html, "{{json first.Comment}}"), "&quot;&quot;");
        assert_eq!(render(&text, "{{json first.Name}}"), "\"<b>x</b>\"");
        assert_eq!(render(&html, "{{truncate first.Name 4}}"), "&lt;b&gt;…");
        assert_eq!(render(&text, "{{plural count \"hit\"}}, {{plural 1 \"entry\" \"entries\"}}"), "3 hits, 1 entry");
        let url = format!("https://security.microsoft.com/machines/v2/{device}/overview");
        assert_eq!(
            render(&html, "{{device_link first.DeviceId label=\"PC\"}}"),
            format!("<a href=\"{url}\" style=\"{LINK_STYLE}\">PC</a>")
        );
        assert_eq!(render(&text, "{{device_link first.DeviceId}}"), url);
        assert_eq!(render(&html, "{{device_link first.Name}}"), "&lt;b&gt;x&lt;/b&gt;", "no link from a non-id");
        assert_eq!(render(&html, "{{file_link first.Name}}|{{user_link first.Comment}}"), "&lt;b&gt;x&lt;/b&gt;|");
    }

    #[test]
    fn long_runs_get_even_break_opportunities_and_stay_escaped() {
        assert_eq!(breakable("short <b>"), "short &lt;b&gt;");
        let hash = "a".repeat(40);
        assert_eq!(breakable(&hash), format!("{}<wbr>{}", "a".repeat(20), "a".repeat(20)));
        let pieces = breakable(&format!("x {}", "b".repeat(64)));
        assert_eq!(
            pieces,
            format!("x {}<wbr>{}<wbr>{}<wbr>{}", "b".repeat(16), "b".repeat(16), "b".repeat(16), "b".repeat(16))
        );
        assert_eq!(breakable(&"<".repeat(30)).matches("<wbr>").count(), 1, "entities are never split");
        assert!(!breakable(&"<".repeat(30)).contains("&l<wbr>"));
    }
}
