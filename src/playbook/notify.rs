//! `notify:` who hears about a playbook's hits: receivers, how hits are grouped into messages, which hits (a
//! `when` condition) and the subject line. Each entry is checked against the configuration's receivers and the
//! query's output columns; routing the hits is `route`'s job at run time.

use super::query::{Condition, read_columns, read_condition};
use crate::config::receiver_list;
use crate::config::yaml::Value;
use crate::kql::plan::Column;
use crate::kql::table::Catalog;

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
    let fields = value.fields(&["to", "per", "when", "subject"])?;
    let to = fields.required("to").and_then(|v| receiver_list(v, receivers));
    let per = fields.get("per").map_or(Some(Per::Run), |v| read_per(v, columns));
    let when = fields.get("when").map_or(Some(None), |v| read_condition(v, columns, catalog).map(Some));
    let subject = fields.get("subject").map_or(Some(None), |v| read_subject(v).map(Some));
    Some(Notify { to: to?, per: per?, when: when?, subject: subject? })
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

/// A subject template: it must compile, and render with sample hits.
fn read_subject(value: Value) -> Option<String> {
    let text = value.non_empty_string()?;
    let reader = value.reader();
    if let Err(error) = handlebars::Template::compile(&text) {
        let place = match (error.pos(), value.scalar()) {
            (Some((line, column)), Some(scalar)) => {
                let offset =
                    text.split('\n').take(line.saturating_sub(1)).map(|l| l.chars().count() + 1).sum::<usize>()
                        + column.saturating_sub(1);
                reader.scalar_place(scalar, offset, offset + 1)
            }
            _ => value.place(),
        };
        // The grammar's own message lists every rule it expected; what helps is where, and what to check.
        let reason = match error.reason() {
            handlebars::TemplateErrorReason::InvalidSyntax(_) => "invalid handlebars syntax".to_string(),
            other => other.to_string(),
        };
        reader.report(
            reader
                .at(place, format!("the subject is not a valid template: {reason}"))
                .with_hint("check that every `{{` has its `}}` and every `{{#block}}` its `{{/block}}`"),
        );
        return None;
    }
    if let Err(message) = crate::render::email::check_subject(&text) {
        value.report(format!("the subject does not render: {message}"));
        return None;
    }
    Some(text)
}
