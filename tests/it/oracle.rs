//! Kusto.Language — Microsoft's own KQL parser and binder, `@kusto/language-service-next` on npm, pinned in
//! `tests/oracle/package-lock.json` — referees the local engine on every query the project owns: the engine's
//! table tests (`crates/kql/src/tests/`), `tests/diagnostics/`, the shipped playbooks and recipes, and the
//! KQL examples of the README and `docs/`. Both must accept a query or both refuse it, and where both accept,
//! the result schemas (names, order, types) must be equal. What Kusto.Language itself cannot judge is listed in
//! `KNOWN`, once, with the reason; a listed disagreement that no longer happens fails the test too.
//!
//! It needs node and `npm ci --prefix tests/oracle` (`.ci/run` does both); without them it says so and passes,
//! unless `HUNTBOOK_REQUIRE_ORACLE` is set, as in CI.

use std::io::Write;
use std::process::{Command, Stdio};

use huntbook::kql;
use huntbook::kql::plan::Column;
use huntbook::kql::table::MemoryCatalog;
use huntbook::kql::types::Type;
use serde_json::{Value, json};

use crate::common::repo;

/// One query the project owns, and where it comes from.
struct Case {
    origin: String,
    query: String,
}

/// What one side says of a query.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Accepted, with the result's columns as `name:type` when they are known. The engine accepts a query for
    /// Graph when nothing in it is certainly wrong (what it only lacks is a warning); its columns are known
    /// when it compiled and none comes from the data (`bag_unpack` and `pivot` without an output schema).
    Accepted(Option<Vec<String>>),
    /// Refused, with the first reason.
    Refused(String),
}

/// A disagreement Kusto.Language cannot settle, and why.
struct Known {
    /// Matches the query (a substring of its text).
    query: &'static str,
    reason: &'static str,
}

/// The disagreements that are Kusto.Language's limits (or a choice of huntbook's, said so), not the engine's
/// mistakes. Each must still happen: a listed one that no longer does fails the test.
const KNOWN: &[Known] = &[
    Known {
        query: "ApplicationId == \"11161\"",
        reason: "Kusto.Language does not type-check `==` between types; Kusto refuses it: \"Cannot compare values of \
                 types int and string\"",
    },
    Known {
        query: "matches regex \"([a-z\"",
        reason: "Kusto.Language does not read regular expressions; RE2 refuses an unclosed character class",
    },
    Known {
        query: "datetime(2026-13-45)",
        reason: "Kusto.Language does not check what a datetime literal holds; there is no 13th month",
    },
    Known {
        query: "let since = ago(7d);\nsince",
        reason: "Kusto.Language binds a scalar `let` used as a table; Kusto refuses it",
    },
    Known {
        query: "let isolations = CloudAppEvents | where ActionType == \"IsolateDevice\";",
        reason: "a query of `let` statements alone returns no rows: huntbook refuses it (a playbook needs rows), \
                 Kusto.Language parses it",
    },
    Known {
        query: "union kind=inner",
        reason: "Kusto.Language gives `union kind=inner` every leg's columns; Kusto keeps only the columns common to \
                 all (union operator docs: \"inner causes the result to have the subset of columns that are common \
                 to all of the input tables\")",
    },
    Known {
        query: "| scan declare",
        reason: "Kusto.Language adds scan's match_id column always; Kusto adds it only when `with_match_id` names it \
                 (the scan docs' cumulative example outputs x and cumulative_x)",
    },
    Known {
        query: "make_timespan(1, 12, 30, 55.2)",
        reason: "Kusto.Language declares make_timespan's seconds an integer; the docs say real (example: \
                 make_timespan(1,12,30,55.123) is 1.12:30:55.1230000)",
    },
    Known {
        query: "ignoredProperties=dynamic(['b'])",
        reason: "Kusto.Language expects a string for bag_unpack's ignoredProperties; the docs say dynamic (a set of \
                 property names)",
    },
    Known {
        query: "jaccard_index(",
        reason: "Kusto.Language types jaccard_index as a dynamic array of reals; the docs give one real (example: \
                 jaccard_index(dynamic([1,2,3]), dynamic([1,2,3,4])) is 0.75)",
    },
];

/// The table of the engine's own tests (`crates/kql/src/tests.rs`), by the same name and columns.
fn events() -> Vec<Column> {
    vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("ActionType", Type::String),
        Column::new("Device", Type::String),
        Column::new("Actor", Type::String),
        Column::new("Size", Type::Long),
        Column::new("RawEventData", Type::Dynamic),
    ]
}

/// What the queries read: every advanced-hunting table, `FileProfile`, and `Events`.
fn catalog() -> MemoryCatalog {
    kql::schema::catalog().with_table("Events", events(), Vec::new())
}

/// The names a playbook's query may use besides the tables (`huntbook_window_start`, `huntbook_window_end`).
const DECLARED: &str = "let huntbook_window_start = datetime(2026-11-20T00:00:00Z); let huntbook_window_end = datetime(2026-11-20T01:00:00Z);\n";

/// `Events`, as Kusto.Language is told of it (the advanced-hunting tables and Defender's functions it declares
/// itself, from the same schema files).
fn tables() -> Value {
    let columns: Vec<Value> = events().iter().map(|c| json!({ "name": c.name, "type": c.ty.to_string() })).collect();
    json!([{ "name": "Events", "columns": columns }])
}

/// The engine's verdict.
fn ours(query: &str, catalog: &MemoryCatalog) -> Verdict {
    match kql::compile_declaring(query, catalog, DECLARED) {
        Ok(plan) if plan.is_open() => Verdict::Accepted(None),
        Ok(plan) => Verdict::Accepted(Some(
            plan.root
                .schemas
                .last()
                .map(|schema| schema.iter().map(|c| format!("{}:{}", c.name, c.ty)).collect())
                .unwrap_or_default(),
        )),
        // Nothing certainly wrong: the query goes to Graph (`validate` warns that it cannot run locally).
        Err(errors) if errors.0.iter().all(|e| !e.is_certain()) => Verdict::Accepted(None),
        Err(errors) => {
            Verdict::Refused(errors.0.iter().find(|e| e.is_certain()).map(|e| e.message.clone()).unwrap_or_default())
        }
    }
}

/// Kusto.Language's verdicts, or why it could not be asked.
fn theirs(queries: &[String]) -> Result<Vec<Verdict>, String> {
    let script = repo().join("tests/oracle/oracle.js");
    if !repo().join("tests/oracle/node_modules/@kusto/language-service-next").is_dir() {
        return Err("tests/oracle/node_modules is missing: run `npm ci --prefix tests/oracle`".into());
    }
    let with_declarations: Vec<String> = queries.iter().map(|q| format!("{DECLARED}{q}")).collect();
    let request = json!({ "defender": true, "tables": tables(), "queries": with_declarations });
    let mut child = match Command::new("node")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => return Err(format!("node cannot be started: {error}")),
    };
    let mut stdin = child.stdin.take().expect("piped");
    let body = request.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
    let output = child.wait_with_output().expect("node runs");
    writer.join().expect("the writer ends").expect("the request is written");
    assert!(output.status.success(), "the oracle failed: {}", String::from_utf8_lossy(&output.stderr));
    let answers: Vec<Value> = serde_json::from_slice(&output.stdout).expect("the oracle answers JSON");
    Ok(answers
        .iter()
        .map(|answer| match answer["errors"].as_array().and_then(|e| e.first()) {
            Some(error) => Verdict::Refused(error["message"].as_str().unwrap_or_default().to_string()),
            None => Verdict::Accepted(Some(
                answer["columns"]
                    .as_array()
                    .map(|columns| {
                        columns
                            .iter()
                            .map(|c| {
                                format!("{}:{}", c["name"].as_str().unwrap_or(""), c["type"].as_str().unwrap_or(""))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
        })
        .collect())
}

/// The string literals the engine's table tests give as queries: the first element of each `(query, rows)`
/// pair, and the argument of `rows`, `columns` and `error`.
fn engine_test_queries() -> Vec<Case> {
    use syn::visit::Visit;

    struct Queries<'a> {
        file: &'a str,
        source: &'a str,
        found: Vec<Case>,
    }
    impl Queries<'_> {
        fn literal(&mut self, expr: &syn::Expr) {
            if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) = expr {
                let query = text.value();
                // The line of the literal, found by its first line as written (good enough to find the case).
                let head: String = query.lines().next().unwrap_or("").chars().take(40).collect();
                let line = self.source.find(&head).map_or(0, |at| self.source[..at].lines().count());
                self.found.push(Case { origin: format!("{}:{line}", self.file), query });
            }
        }
    }
    impl<'ast> Visit<'ast> for Queries<'_> {
        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            if let syn::Expr::Path(path) = &*call.func
                && let Some(name) = path.path.segments.last().map(|s| s.ident.to_string())
            {
                match name.as_str() {
                    "rows" | "columns" | "error" => {
                        if let Some(first) = call.args.first() {
                            self.literal(first);
                        }
                    }
                    "table" | "table_in" => {
                        let pairs = call.args.iter().find_map(|arg| match arg {
                            syn::Expr::Reference(reference) => match &*reference.expr {
                                syn::Expr::Array(array) => Some(array),
                                _ => None,
                            },
                            _ => None,
                        });
                        for pair in pairs.into_iter().flat_map(|array| array.elems.iter()) {
                            if let syn::Expr::Tuple(tuple) = pair
                                && let Some(first) = tuple.elems.first()
                            {
                                self.literal(first);
                            }
                        }
                    }
                    _ => {}
                }
            }
            syn::visit::visit_expr_call(self, call);
        }
    }

    let dir = repo().join("crates/kql/src/tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("the engine's tests").flatten().map(|e| e.path()).collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("a test file");
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        let name = format!("crates/kql/src/tests/{}", path.file_name().expect("a name").to_string_lossy());
        let mut visitor = Queries { file: &name, source: &text, found: Vec::new() };
        visitor.visit_file(&file);
        cases.append(&mut visitor.found);
    }
    cases
}

fn diagnostics_queries() -> Vec<Case> {
    let dir = repo().join("tests/diagnostics");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/diagnostics")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "kql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| Case {
            origin: format!("tests/diagnostics/{}", path.file_name().expect("a name").to_string_lossy()),
            query: std::fs::read_to_string(&path).expect("a query"),
        })
        .collect()
}

/// The `query:` of every shipped playbook and recipe.
fn playbook_queries() -> Vec<Case> {
    let mut cases = Vec::new();
    for dir in ["playbooks", "examples/recipes"] {
        let mut files: Vec<_> = std::fs::read_dir(repo().join(dir))
            .expect("a playbook directory")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("a playbook");
            let node = marked_yaml::parse_yaml(0, &text).expect("a playbook parses");
            let query = node
                .as_mapping()
                .and_then(|m| m.get_scalar("query"))
                .map(|q| q.as_str().to_string())
                .unwrap_or_else(|| panic!("{} has a query", path.display()));
            cases
                .push(Case { origin: format!("{dir}/{}", path.file_name().expect("a name").to_string_lossy()), query });
        }
    }
    cases
}

/// Every ```kql (or ```kusto) block of the README and `docs/`.
fn docs_queries() -> Vec<Case> {
    let mut pages = vec![repo().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(repo().join("docs"))
        .expect("docs")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.append(&mut docs);
    let mut cases = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("a page");
        let name = page.strip_prefix(repo()).unwrap_or(&page).display().to_string();
        let mut block: Option<(usize, String)> = None;
        for (number, line) in text.lines().enumerate() {
            match &mut block {
                None if matches!(line.trim(), "```kql" | "```kusto") => block = Some((number + 1, String::new())),
                Some((start, query)) if line.trim() == "```" => {
                    cases.push(Case { origin: format!("{name}:{}", *start), query: std::mem::take(query) });
                    block = None;
                }
                Some((_, query)) => {
                    query.push_str(line);
                    query.push('\n');
                }
                None => {}
            }
        }
    }
    cases
}

fn all_cases() -> Vec<Case> {
    let mut cases = engine_test_queries();
    cases.append(&mut diagnostics_queries());
    cases.append(&mut playbook_queries());
    cases.append(&mut docs_queries());
    cases
}

/// Kusto.Language's verdicts; `None` (the test says it skipped) where it is not installed, unless CI requires it.
fn theirs_or_skip(queries: &[String]) -> Option<Vec<Verdict>> {
    match theirs(queries) {
        Ok(verdicts) => Some(verdicts),
        Err(why) if std::env::var_os("HUNTBOOK_REQUIRE_ORACLE").is_none() => {
            eprintln!("skipped: Kusto.Language is not at hand ({why})");
            None
        }
        Err(why) => panic!("HUNTBOOK_REQUIRE_ORACLE is set and Kusto.Language is not at hand: {why}"),
    }
}

fn known(query: &str) -> Option<usize> {
    KNOWN.iter().position(|k| query.contains(k.query))
}

#[test]
fn kusto_language_agrees_with_the_engine_on_every_query_the_project_owns() {
    let cases = all_cases();
    assert!(cases.len() > 500, "the queries are collected ({} found)", cases.len());
    let queries: Vec<String> = cases.iter().map(|c| c.query.clone()).collect();
    let Some(verdicts) = theirs_or_skip(&queries) else { return };
    let catalog = catalog();
    let mut used = vec![false; KNOWN.len()];
    let mut disagreements = Vec::new();
    let (mut both_accept, mut both_refuse) = (0, 0);
    for (case, theirs) in cases.iter().zip(&verdicts) {
        let ours = ours(&case.query, &catalog);
        let agree = match (&ours, theirs) {
            (Verdict::Accepted(Some(a)), Verdict::Accepted(Some(b))) => a == b,
            (Verdict::Accepted(_), Verdict::Accepted(_)) => true,
            (Verdict::Refused(_), Verdict::Refused(_)) => true,
            _ => false,
        };
        match (&ours, theirs, agree) {
            (Verdict::Accepted(_), _, true) => both_accept += 1,
            (_, _, true) => both_refuse += 1,
            _ => match known(&case.query) {
                Some(index) => used[index] = true,
                None => disagreements.push(format!(
                    "{}\n    query:  {}\n    engine: {:?}\n    Kusto:  {:?}",
                    case.origin,
                    case.query.trim().replace('\n', "\n            "),
                    ours,
                    theirs
                )),
            },
        }
    }
    eprintln!(
        "oracle: {} queries; both accept {both_accept} (same schema), both refuse {both_refuse}, known {}, \
         disagreements {}",
        cases.len(),
        used.iter().filter(|u| **u).count(),
        disagreements.len()
    );
    let stale: Vec<&str> = KNOWN.iter().zip(&used).filter(|(_, used)| !**used).map(|(k, _)| k.reason).collect();
    assert!(
        disagreements.is_empty() && stale.is_empty(),
        "{} disagreements with Kusto.Language:\n{}\nlisted but no longer seen: {stale:?}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn the_oracle_is_not_vacuous() {
    // A query Kusto refuses and one it accepts, with its schema: the harness reads both answers.
    let queries = vec!["Events | where Nope == 1".to_string(), "Events | project Device, n = Size + 1".to_string()];
    let Some(verdicts) = theirs_or_skip(&queries) else { return };
    assert!(matches!(&verdicts[0], Verdict::Refused(message) if message.contains("Nope")), "{verdicts:?}");
    assert_eq!(verdicts[1], Verdict::Accepted(Some(vec!["Device:string".into(), "n:long".into()])));
}
