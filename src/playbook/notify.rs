//! `notify:` who hears about a playbook's hits: receivers, how hits are grouped into messages, which hits (a
//! `when` condition) and the subject line. Each entry is checked against the configuration's receivers and the
//! query's output columns; routing the hits is `route`'s job at run time.

use super::query::{Condition, read_columns, read_condition, unknown_column};
use crate::config::receiver_list;
use crate::config::yaml::Value;
use crate::kql::plan::Column;
use crate::kql::table::Catalog;
pub use crate::render::links::LinkColumns;

/// The keys of this mapping (also what `huntbook schema` lists).
pub const NOTIFY_KEYS: &[&str] =
    &["to", "per", "when", "subject", "title", "template", "layout", "columns", "links", "suppress", "chart"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const LINK_KEYS: &[&str] = &["device", "file", "user"];

/// The keys of this mapping (also what `huntbook schema` lists).
pub const SUPPRESS_KEYS: &[&str] = &["for", "by"];

/// One `notify:` entry. Entries are independent: each one whose `when` holds for a hit gets that hit.
#[derive(Clone, Debug)]
pub struct Notify {
    /// `to:` receiver names, each defined under `receivers:` in huntbook.yaml.
    pub to: Vec<String>,
    /// `per:` `run` (one message with every hit of the run; default), `hit` (one message per hit) or a list of
    /// columns (one message per distinct value).
    pub per: Per,
    /// `when:` a KQL condition over the hit's columns; without it every hit.
    pub when: Option<Condition>,
    /// `subject:` a handlebars template for the e-mail subject, such as `New download by {{first.UserId}}`.
    pub subject: Option<String>,
    /// `title:` a handlebars template for the Teams card's title (default: the playbook's title).
    pub title: Option<String>,
    /// `template:` the e-mail layout this entry's e-mails use (a shipped or user template, such as `digest`),
    /// in place of their receiver's `template:`.
    pub template: Option<String>,
    /// Where `template:` is written: the place its problem is reported at when no such template exists (known
    /// only once the templates are loaded).
    pub template_at: Option<crate::diagnostics::Diagnostic>,
    /// `layout:` `table` (always a table, also a wide one) or `blocks` (one block per hit); default: a table of
    /// up to 4 columns, blocks beyond.
    pub layout: crate::render::email::TableLayout,
    /// `columns:` the hit columns the e-mail table and the card show, in order (default: all); every column
    /// still goes into the CSV attachment.
    pub columns: Option<Vec<String>>,
    /// `links:` the columns the portal buttons are made from.
    pub links: LinkColumns,
    /// `suppress:` no second message to the same receiver for the same values within a time.
    pub suppress: Option<Suppress>,
    /// `chart:` a query over the hits ending in `render` (`summarize Releases = count() by bin(ReleasedAt, 1d) |
    /// render columnchart`), drawn in the e-mails; held as the whole query over the table `hits`.
    pub chart: Option<String>,
}

/// `suppress: { for: 24h, by: [UserId] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppress {
    /// `for:` how long after a message the same values send nothing more to that receiver.
    pub duration: chrono::TimeDelta,
    /// `by:` the columns whose values make hits "the same"; none: any hit of the playbook.
    pub by: Vec<String>,
}

/// `per:` how hits become messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Per {
    /// `per: run`: one message with every hit of the run.
    Run,
    /// `per: hit`: one message per hit.
    Hit,
    /// `per: [DeviceName]`: one message per distinct value of these output columns.
    Columns(Vec<String>),
}

pub(super) fn read_notify(
    value: Value,
    receivers: &[&str],
    columns: Option<&[Column]>,
    catalog: &dyn Catalog,
) -> Option<Vec<Notify>> {
    let entries = value.list()?;
    if entries.is_empty() {
        value.report_hint("a playbook needs at least one `notify:` entry", "add `- to: [RECEIVER]`");
        return None;
    }
    let notify: Vec<Option<Notify>> =
        entries.into_iter().map(|entry| read_entry(entry, receivers, columns, catalog)).collect();
    notify.into_iter().collect()
}

fn read_entry(value: Value, receivers: &[&str], columns: Option<&[Column]>, catalog: &dyn Catalog) -> Option<Notify> {
    let fields = value.fields(NOTIFY_KEYS)?;
    let to = fields.required("to").and_then(|v| receiver_list(v, receivers));
    let per = fields.get("per").map_or(Some(Per::Run), |v| read_per(v, columns));
    let when = fields.get("when").map_or(Some(None), |v| read_condition(v, columns, catalog).map(Some));
    let subject = fields.get("subject").map_or(Some(None), |v| read_template(v, "subject", columns).map(Some));
    let title = fields.get("title").map_or(Some(None), |v| read_template(v, "title", columns).map(Some));
    let layout = fields.get("layout").map_or(Some(crate::render::email::TableLayout::Auto), |v| {
        use crate::render::email::TableLayout;
        v.keyword(
            "layout",
            &[("table", TableLayout::Table), ("blocks", TableLayout::Blocks), ("auto", TableLayout::Auto)],
        )
    });
    let template = fields.get("template").map_or(Some(None), |v| {
        let name = v.non_empty_string()?;
        Some(Some((name, v.reader().at(v.place(), String::new()))))
    });
    let shown = fields.get("columns").map_or(Some(None), |v| read_columns(v, columns).map(Some));
    let links = fields.get("links").map_or(Some(LinkColumns::default()), |v| read_links(v, columns));
    let suppress = fields.get("suppress").map_or(Some(None), |v| read_suppress(v, columns).map(Some));
    let chart = fields.get("chart").map_or(Some(None), |v| read_chart(v, columns).map(Some));
    Some(Notify {
        to: to?,
        per: per?,
        when: when?,
        subject: subject?,
        title: title?,
        template: template.clone()?.map(|(name, _)| name),
        template_at: template?.map(|(_, at)| at),
        layout: layout?,
        columns: shown?,
        links: links?,
        suppress: suppress?,
        chart: chart?,
    })
}

/// `chart:` the operators applied to the hits, ending in a `render` huntbook draws; checked against the hits'
/// columns when they are known. Errors point into the text as written (without the `hits |` put before it).
fn read_chart(value: Value, columns: Option<&[Column]>) -> Option<String> {
    use crate::kql::error::KqlError;
    use crate::render::chart::{DRAWN, HITS_TABLE, chart_query, check};
    let written = value.non_empty_string()?;
    let scalar = value.scalar()?;
    let reader = value.reader();
    let (text, prefix) = chart_query(&written);
    let located = |mut error: KqlError| {
        error.span =
            crate::kql::span::Span::new(error.span.start.saturating_sub(prefix), error.span.end.saturating_sub(prefix));
        reader.kql_diagnostic(scalar, &error)
    };
    let Some(visualization) = crate::kql::visualization::visualization(&text) else {
        value.report_hint(
            "a chart is a query over the hits that ends in `render`",
            "for example `summarize Hits = count() by bin(Timestamp, 1d) | render columnchart`",
        );
        return None;
    };
    if !DRAWN.contains(&visualization.kind.as_str()) {
        let message = format!("huntbook does not draw a '{}'", visualization.kind);
        let error = KqlError::semantic(visualization.span, message).with_hint(format!("it draws {}", DRAWN.join(", ")));
        reader.report(located(error));
        return None;
    }
    let Some(columns) = columns else { return Some(text) };
    let catalog = crate::kql::table::MemoryCatalog::new().with_table(HITS_TABLE, columns.to_vec(), Vec::new());
    match crate::kql::compile(&text, &catalog) {
        Ok(plan) if plan.is_open() => Some(text),
        Ok(plan) => match check(&visualization, plan.root.schema()) {
            Ok(()) => Some(text),
            Err(problem) => {
                reader.report(located(KqlError::semantic(visualization.span, problem.to_string())));
                None
            }
        },
        Err(errors) => {
            reader.extend(errors.0.into_iter().map(located));
            None
        }
    }
}

/// `links: { device: DeviceId, file: SHA256, user: AccountObjectId }`; a kind set to `none` makes no button,
/// a kind not named keeps the default columns; `links: none` makes no buttons at all.
fn read_links(value: Value, columns: Option<&[Column]>) -> Option<LinkColumns> {
    if value.written() == Some("none") {
        return Some(LinkColumns { device: Vec::new(), file: Vec::new(), user: Vec::new() });
    }
    let fields = value.fields(LINK_KEYS)?;
    let mut links = LinkColumns::default();
    let mut valid = true;
    for (kind, slot) in [("device", &mut links.device), ("file", &mut links.file), ("user", &mut links.user)] {
        let Some(entry) = fields.get(kind) else { continue };
        let Some(name) = entry.non_empty_string() else {
            valid = false;
            continue;
        };
        if name == "none" {
            slot.clear();
            continue;
        }
        if let Some((message, hint)) = columns.and_then(|columns| unknown_column(&name, columns)) {
            entry.report_hint(message, hint);
            valid = false;
            continue;
        }
        *slot = vec![name];
    }
    valid.then_some(links)
}

/// `suppress: { for: 24h, by: [UserId] }`.
fn read_suppress(value: Value, columns: Option<&[Column]>) -> Option<Suppress> {
    let fields = value.fields(SUPPRESS_KEYS)?;
    let duration = fields.required("for").and_then(|v| {
        let duration = v.duration()?;
        if duration <= chrono::TimeDelta::zero() {
            v.report("`for` must be longer than nothing");
            return None;
        }
        Some(duration)
    });
    let by = fields.get("by").map_or(Some(Vec::new()), |v| read_columns(v, columns));
    Some(Suppress { duration: duration?, by: by? })
}

fn read_per(value: Value, columns: Option<&[Column]>) -> Option<Per> {
    if value.node().as_sequence().is_some() {
        return read_columns(value, columns).map(Per::Columns);
    }
    let text = value.string()?;
    match text.as_str() {
        "run" => Some(Per::Run),
        "hit" => Some(Per::Hit),
        _ => {
            let is_column = columns.is_some_and(|columns| columns.iter().any(|column| column.name == text));
            let hint = if is_column {
                format!("to group by a column, write `per: [{text}]`")
            } else {
                crate::config::yaml::did_you_mean(&text, ["run", "hit"])
                    .unwrap_or_else(|| "write `per: run`, `per: hit` or `per: [Column, ...]`".to_string())
            };
            value.report_hint(format!("expected run, hit or a list of columns, found {}", value.describe()), hint);
            None
        }
    }
}

/// A `subject:` or `title:` template: it must compile, render with sample hits, and name only columns the hits
/// have (`{{first.X}}`, `{{hits.[0].X}}`, `{{X}}` inside `{{#each hits}}`).
fn read_template(value: Value, what: &str, columns: Option<&[Column]>) -> Option<String> {
    let text = value.non_empty_string()?;
    let reader = value.reader();
    let place_of = |offset: usize, length: usize| match value.scalar() {
        Some(scalar) => reader.scalar_place(scalar, offset, offset + length.max(1)),
        None => value.place(),
    };
    if let Err(error) = handlebars::Template::compile(&text) {
        let place = match error.pos() {
            Some((line, column)) => {
                let offset =
                    text.split('\n').take(line.saturating_sub(1)).map(|l| l.chars().count() + 1).sum::<usize>()
                        + column.saturating_sub(1);
                place_of(offset, 1)
            }
            None => value.place(),
        };
        // The grammar's own message lists every rule it expected; what helps is where, and what to check.
        let reason = match error.reason() {
            handlebars::TemplateErrorReason::InvalidSyntax(_) => "invalid handlebars syntax".to_string(),
            other => other.to_string(),
        };
        reader.report(
            reader
                .at(place, format!("the {what} is not a valid template: {reason}"))
                .with_hint("check that every `{{` has its `}}` and every `{{#block}}` its `{{/block}}`"),
        );
        return None;
    }
    if let Err(message) = crate::render::email::check_subject(&text) {
        value.report(format!("the {what} does not render: {message}"));
        return None;
    }
    if let Some(columns) = columns {
        let names: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
        let mut valid = true;
        for reference in crate::render::email::column_references(&text) {
            if names.contains(&reference.column.as_str()) {
                continue;
            }
            let hint =
                crate::config::yaml::did_you_mean(&reference.column, names.iter().copied()).unwrap_or_else(|| {
                    let listed: Vec<&str> = names.iter().copied().take(12).collect();
                    let more = if names.len() > listed.len() { ", ..." } else { "" };
                    format!("the hits' columns are {}{more}", listed.join(", "))
                });
            // The scalar's text is the template as written only when it is on one line; else point at the key.
            let place = if text.contains('\n') { value.place() } else { place_of(reference.offset, reference.length) };
            reader.report(
                reader
                    .at(place, format!("the {what} names `{}`, which the hits do not have", reference.column))
                    .with_hint(hint),
            );
            valid = false;
        }
        if !valid {
            return None;
        }
    }
    Some(text)
}
