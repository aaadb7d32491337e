//! Loading the e-mail templates: the shipped ones (compiled into the binary from `templates/`), replaced by
//! same-named files of the user's template directory. Loading reports every broken template at once, with
//! `file:line:column`: syntax errors from handlebars, and errors that only show when a template runs (an
//! unknown helper, a bad `datetime` format), found by rendering each template against sample messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use handlebars::template::TemplateElement;
use handlebars::{Handlebars, Template, TemplateError};

use super::context::{ContextSettings, build};
use super::helpers::{Mode, register};
use super::sanitize::{escape_html, escape_text};
use crate::diagnostics::Diagnostic;
use crate::kql::plan::Column;
use crate::kql::types::Type;
use crate::kql::value::Value;
use crate::playbook::severity::Severity;
use crate::route::message::{Message, PlaybookSummary};

/// The shipped templates: name, HTML source, text source.
const SHIPPED: &[(&str, &str, &str)] = &[
    (
        "email-table",
        include_str!("../../../templates/email-table.html.hbs"),
        include_str!("../../../templates/email-table.text.hbs"),
    ),
    ("digest", include_str!("../../../templates/digest.html.hbs"), include_str!("../../../templates/digest.text.hbs")),
];

/// The shipped templates as files: `(file name, text)`, such as `("digest.html.hbs", "...")`. `huntbook init`
/// writes them for the user to edit.
pub fn shipped_templates() -> impl Iterator<Item = (String, &'static str)> {
    SHIPPED.iter().flat_map(|(name, html, text)| {
        [(format!("{name}{HTML_SUFFIX}"), *html), (format!("{name}{TEXT_SUFFIX}"), *text)]
    })
}

/// The template whose text part stands in for a template that has none.
pub const FALLBACK_TEXT_TEMPLATE: &str = "email-table";

const HTML_SUFFIX: &str = ".html.hbs";
const TEXT_SUFFIX: &str = ".text.hbs";

/// The e-mail templates: the shipped ones (embedded in the binary from `templates/`), and same-named files
/// of a user directory that replace them. A template `NAME` is `NAME.html.hbs` plus an optional
/// `NAME.text.hbs`; a template without a text part gets the text part of `email-table`.
pub struct Templates {
    /// HTML templates: values are HTML-escaped.
    pub(super) html: Handlebars<'static>,
    /// Text templates and subjects: nothing is escaped, control characters are dropped.
    pub(super) text: Handlebars<'static>,
}

/// A template's source and where it came from (a path shown in diagnostics).
struct Source {
    file: String,
    text: String,
}

#[derive(Default)]
struct Pair {
    html: Option<Source>,
    text: Option<Source>,
}

/// An empty registry of `mode`, with its escaping and helpers.
pub(super) fn registry(mode: Mode) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    match mode {
        Mode::Html => registry.register_escape_fn(escape_html),
        Mode::Text => registry.register_escape_fn(escape_text),
    }
    register(&mut registry, mode);
    registry
}

impl Templates {
    /// The shipped templates, replaced by same-named files of `user_dir`. Every broken template is reported,
    /// with `file:line:column` when handlebars gives one.
    pub fn load(user_dir: Option<&Path>) -> Result<Templates, Vec<Diagnostic>> {
        let mut diagnostics = Vec::new();
        let mut pairs: BTreeMap<String, Pair> = BTreeMap::new();
        for (name, html, text) in SHIPPED {
            let pair = pairs.entry((*name).to_string()).or_default();
            pair.html = Some(Source { file: format!("templates/{name}{HTML_SUFFIX}"), text: (*html).to_string() });
            pair.text = Some(Source { file: format!("templates/{name}{TEXT_SUFFIX}"), text: (*text).to_string() });
        }
        if let Some(directory) = user_dir {
            read_user_directory(directory, &mut pairs, &mut diagnostics);
        }
        let mut templates = Templates { html: registry(Mode::Html), text: registry(Mode::Text) };
        for (name, pair) in &pairs {
            let Some(html) = &pair.html else {
                if let Some(text) = &pair.text {
                    diagnostics.push(Diagnostic::plain(format!(
                        "{}: a text template needs an HTML template next to it ({name}{HTML_SUFFIX})",
                        text.file
                    )));
                }
                continue;
            };
            let mut compiled = true;
            let parts = [(&mut templates.html, Some(html)), (&mut templates.text, pair.text.as_ref())];
            for (registry, source) in parts {
                let Some(source) = source else { continue };
                let problem = match check_template(&source.text) {
                    Err(refused) => Some(refused_diagnostic(source, refused)),
                    Ok(()) => registry
                        .register_template_string(name, &source.text)
                        .err()
                        .map(|error| template_diagnostic(source, &error)),
                };
                if let Some(diagnostic) = problem {
                    diagnostics.push(diagnostic);
                    compiled = false;
                }
            }
            if compiled {
                diagnostics.extend(trial_render(&templates, name, pair));
            }
        }
        if diagnostics.is_empty() { Ok(templates) } else { Err(diagnostics) }
    }

    /// Whether a template of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.html.has_template(name)
    }

    /// The names of every template, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.html.get_templates().keys().cloned().collect();
        names.sort();
        names
    }
}

/// Reads `NAME.html.hbs` and `NAME.text.hbs` files of `directory` into `pairs`, replacing shipped ones.
fn read_user_directory(directory: &Path, pairs: &mut BTreeMap<String, Pair>, diagnostics: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) => {
            diagnostics.push(Diagnostic::plain(format!("template directory {}: {error}", directory.display())));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
    paths.sort();
    for path in paths {
        let Some(file_name) = path.file_name().and_then(|name| name.to_str()) else { continue };
        let (name, is_html) = if let Some(name) = file_name.strip_suffix(HTML_SUFFIX) {
            (name, true)
        } else if let Some(name) = file_name.strip_suffix(TEXT_SUFFIX) {
            (name, false)
        } else {
            continue;
        };
        if name.is_empty() || !path.is_file() {
            continue;
        }
        let file = path.display().to_string();
        let text = match crate::diagnostics::read_text_file(&path) {
            Ok(text) => text,
            Err(problem) => {
                diagnostics.push(*problem);
                continue;
            }
        };
        let pair = pairs.entry(name.to_string()).or_default();
        let source = Some(Source { file, text });
        if is_html {
            pair.html = source;
        } else {
            pair.text = source;
        }
    }
}

/// A template that cannot be used, and where (1-based line and column, when known).
pub(super) struct Refused {
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl Refused {
    /// The message, with its place when it has one.
    pub fn describe(&self) -> String {
        match self.position {
            Some((line, column)) => format!("{} at line {line}, column {column}", self.message),
            None => self.message.clone(),
        }
    }
}

/// Compiles a template and refuses what huntbook does not support: partials and decorators (`{{> name}}`,
/// `{{#> name}}`, `{{#*inline}}`). A partial that includes itself recurses until the stack overflows, which
/// would abort the whole process, not fail one render.
pub(super) fn check_template(source: &str) -> Result<(), Refused> {
    let template = Template::compile(source)
        .map_err(|error| Refused { position: error.pos(), message: format!("template syntax: {}", error.reason()) })?;
    match find_partial(&template) {
        Some(position) => Err(Refused {
            position,
            message: "partials and decorators ({{> name}}, {{#*inline}}) are not supported in e-mail templates"
                .to_string(),
        }),
        None => Ok(()),
    }
}

/// The place of the first partial or decorator in `template` (`Some(None)` when handlebars gives no place).
fn find_partial(template: &Template) -> Option<Option<(usize, usize)>> {
    for (index, element) in template.elements.iter().enumerate() {
        let position = template.mapping.get(index).map(|mapping| (mapping.0, mapping.1));
        match element {
            TemplateElement::PartialExpression(_)
            | TemplateElement::PartialBlock(_)
            | TemplateElement::DecoratorExpression(_)
            | TemplateElement::DecoratorBlock(_) => return Some(position),
            TemplateElement::HelperBlock(block) => {
                let nested = [block.template.as_ref(), block.inverse.as_ref()];
                if let Some(found) = nested.into_iter().flatten().find_map(find_partial) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

/// The width of the `{{…}}` expression at a 1-based line and column, for the caret.
fn expression_width(source: &str, line: usize, column: usize) -> usize {
    let Some(text) = source.lines().nth(line.saturating_sub(1)) else { return 1 };
    let rest: String = text.chars().skip(column.saturating_sub(1)).collect();
    if rest.starts_with("{{")
        && let Some(end) = rest.find("}}")
    {
        return rest[..end + 2].chars().count();
    }
    1
}

fn located(source: &Source, line: Option<usize>, column: Option<usize>, message: String) -> Diagnostic {
    match (line, column) {
        (Some(line), Some(column)) => {
            let width = expression_width(&source.text, line, column);
            Diagnostic::in_file(&source.file, &source.text, line, column, width, message)
        }
        _ => Diagnostic::plain(format!("{}: {message}", source.file)),
    }
}

fn template_diagnostic(source: &Source, error: &TemplateError) -> Diagnostic {
    let (line, column) = error.pos().unzip();
    located(source, line, column, format!("template syntax: {}", error.reason()))
}

fn refused_diagnostic(source: &Source, refused: Refused) -> Diagnostic {
    let (line, column) = refused.position.unzip();
    located(source, line, column, refused.message)
}

/// Renders a freshly compiled template against sample messages (with hits, more rows than shown and a cut
/// result; and without hits), so that errors that only show at run time are found by `huntbook validate`.
fn trial_render(templates: &Templates, name: &str, pair: &Pair) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for message in [sample_message(3), sample_message(0)] {
        let settings = ContextSettings { max_rows: 2, portal: "https://security.microsoft.com", timezone: Tz::UTC };
        let context = build(&message, &settings, "sample.csv".to_string()).context;
        let parts = [(&templates.html, pair.html.as_ref()), (&templates.text, pair.text.as_ref())];
        for (registry, source) in parts {
            let Some(source) = source else { continue };
            if let Err(error) = registry.render(name, &context) {
                let message = format!("template fails when rendered: {}", error.reason());
                let diagnostic = located(source, error.line_no, error.column_no, message);
                if !diagnostics.contains(&diagnostic) {
                    diagnostics.push(diagnostic);
                }
            }
        }
    }
    diagnostics
}

/// A message like the ones playbooks make, with `hits` rows, for trial renders and `check_subject`.
pub(super) fn sample_message(hits: usize) -> Message {
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 7, 0, 0).single().unwrap_or_default();
    let end = Utc.with_ymd_and_hms(2026, 11, 20, 7, 15, 0).single().unwrap_or_default();
    let columns = vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("DeviceId", Type::String),
        Column::new("DeviceName", Type::String),
        Column::new("AccountUpn", Type::String),
        Column::new("Comment", Type::String),
        Column::new("Details", Type::Dynamic),
    ];
    let ticks = crate::kql::datetime::parse_datetime("2026-11-20T07:05:00Z").unwrap_or_default();
    let row = vec![
        Value::DateTime(ticks),
        Value::string("4f0c7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b"),
        Value::string("pc-0042.contoso.example"),
        Value::string("megan.bowen@contoso.example"),
        Value::string("Isolated during an investigation"),
        Value::Dynamic(crate::kql::value::Dyn::Null),
    ];
    Message {
        playbook: PlaybookSummary {
            id: "sample-playbook".to_string(),
            title: "Sample playbook".to_string(),
            description: "A sample.".to_string(),
            severity: Severity::High,
            tags: vec!["sample".to_string()],
        },
        run_id: "00000000-0000-0000-0000-000000000000".to_string(),
        started: end,
        window_start: start,
        window_end: end,
        columns,
        hits: vec![row; hits],
        truncated: hits > 0,
        notes: Vec::new(),
        tenant: Some("contoso".to_string()),
        subject_template: None,
        title_template: None,
        shown: None,
        links: Default::default(),
        chart: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Templates>();
    }

    #[test]
    fn shipped_templates_load() {
        let templates = Templates::load(None).map_err(|d| crate::diagnostics::render_diagnostics(&d)).unwrap();
        assert_eq!(templates.names(), vec!["digest".to_string(), "email-table".to_string()]);
        assert!(templates.contains("email-table"));
        assert!(!templates.contains("nope"));
    }

    #[test]
    fn every_broken_template_is_reported_with_its_place() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("one.html.hbs"), "<p>\n  {{#if count}}\n</p>\n").unwrap();
        std::fs::write(directory.path().join("two.html.hbs"), "<p>{{nosuchhelper count}}</p>").unwrap();
        std::fs::write(directory.path().join("three.text.hbs"), "alone").unwrap();
        std::fs::write(directory.path().join("four.html.hbs"), "{{datetime window.start \"%Q\"}}").unwrap();
        let diagnostics = Templates::load(Some(directory.path())).err().unwrap();
        let rendered = crate::diagnostics::render_diagnostics(&diagnostics);
        assert_eq!(diagnostics.len(), 4, "{rendered}");
        assert!(rendered.contains("one.html.hbs:"), "{rendered}");
        assert!(rendered.contains("two.html.hbs:1:4"), "{rendered}");
        assert!(rendered.contains("Helper not found nosuchhelper"), "{rendered}");
        assert!(rendered.contains("three.text.hbs: a text template needs an HTML template"), "{rendered}");
        assert!(rendered.contains("four.html.hbs:1:1"), "{rendered}");
    }

    #[test]
    fn partials_are_refused_before_they_can_recurse() {
        let directory = tempfile::tempdir().unwrap();
        let recursive = "<p>\n{{#if count}}\n  {{#*inline \"p\"}}{{> p}}{{/inline}}{{> p}}\n{{/if}}\n</p>";
        std::fs::write(directory.path().join("loop.html.hbs"), recursive).unwrap();
        std::fs::write(directory.path().join("a.html.hbs"), "{{> b}}").unwrap();
        std::fs::write(directory.path().join("b.html.hbs"), "x\n {{> a}}").unwrap();
        let diagnostics = Templates::load(Some(directory.path())).err().unwrap();
        let rendered = crate::diagnostics::render_diagnostics(&diagnostics);
        assert_eq!(diagnostics.len(), 3, "{rendered}");
        assert!(diagnostics.iter().all(|d| d.message.contains("partials")), "{rendered}");
        assert!(rendered.contains("loop.html.hbs:3:3"), "{rendered}");
        assert!(rendered.contains("b.html.hbs:2:2"), "{rendered}");
    }

    #[test]
    fn carets_cover_the_expression() {
        assert_eq!(expression_width("a\n  {{#each rows}}x", 2, 3), 14);
        assert_eq!(expression_width("abc", 1, 2), 1);
        assert_eq!(expression_width("", 5, 1), 1);
    }
}
