//! `huntbook validate`'s promise, for the configuration and the playbooks: every problem of every file at
//! once, each at its exact `file:line:col` with the line, a caret under the right characters and a hint. The
//! fixtures are in `tests/validate/`: broken files (one kind of problem each, and files with many), and good
//! files whose loaded values are checked field by field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use huntbook::config::{
    Cloud, Config, EmailVia, Receiver, SmtpTls, SourceConfig, TeamsTarget, TenantAuth, load_config, parse_config,
};
use huntbook::diagnostics::{SourceText, render_diagnostics};
use huntbook::playbook::{Per, Playbook, Severity, TestData, Trigger, load_playbooks, parse_playbook};

use crate::common::{copy_playbooks, huntbook, repo, stderr, stdout, write_local_config};

/// The configuration the playbooks are checked against: receivers `soc-mail`, `soc-teams`, `soc-digest`
/// and the tenant `contoso`.
fn config() -> Config {
    load_config(Some(Path::new("tests/validate/config/local.yaml"))).expect("valid")
}

fn templates(name: &str) -> bool {
    matches!(name, "email-table" | "digest")
}

fn template_names() -> Vec<String> {
    vec!["digest".to_string(), "email-table".to_string()]
}

/// The rendered problems of one broken playbook, checked against the built-in table schemas.
fn broken(file: &str) -> String {
    let path = Path::new("tests/validate/playbooks/broken").join(file);
    let text = std::fs::read_to_string(&path).expect("fixture");
    match parse_playbook(&path, &text, &config(), &huntbook::kql::schema::catalog(), &templates) {
        Ok(_) => panic!("{file} is valid"),
        Err(problems) => render_diagnostics(&problems),
    }
}

fn broken_config(file: &str) -> String {
    let path = Path::new("tests/validate/config").join(file);
    render_diagnostics(&load_config(Some(&path)).expect_err("invalid"))
}

fn good_playbooks() -> Vec<Playbook> {
    let (playbooks, problems) = load_playbooks(
        Path::new("tests/validate/playbooks/good"),
        &config(),
        &huntbook::kql::schema::catalog(),
        &template_names(),
    );
    assert_eq!(render_diagnostics(&problems), "");
    playbooks
}

/// Top level, `schedule`, a `notify` entry and a `tests` entry; a required key that is only misspelt is not
/// reported missing as well.
#[test]
fn unknown_keys_at_every_level_get_a_did_you_mean() {
    assert_eq!(
        broken("unknown-keys.yaml"),
        r##"error: unknown key `titel`
 --> tests/validate/playbooks/broken/unknown-keys.yaml:1:1
  |
1 | titel: Offboarding package downloaded
  | ^^^^^ did you mean `title`?

error: unknown key `overlab`
 --> tests/validate/playbooks/broken/unknown-keys.yaml:5:3
  |
5 |   overlab: 10m
  |   ^^^^^^^ did you mean `overlap`?

error: unknown key `sujbect`
 --> tests/validate/playbooks/broken/unknown-keys.yaml:9:5
  |
9 |     sujbect: "Download"
  |     ^^^^^^^ did you mean `subject`?

error: unknown key `expct`
  --> tests/validate/playbooks/broken/unknown-keys.yaml:14:5
   |
14 |     expct: { hits: 1 }
   |     ^^^^^ did you mean `expect`?
"##
    );
}

/// The query starts on the line after `query: |`, two columns in: the caret is under `ActionTyp` in the file.
#[test]
fn a_query_error_is_placed_inside_the_block_scalar() {
    assert_eq!(
        broken("query-error.yaml"),
        r##"error: 'where' operator: Failed to resolve scalar expression named 'ActionTyp'
 --> tests/validate/playbooks/broken/query-error.yaml:7:11
  |
7 |   | where ActionTyp == "IsolateDevice"
  |           ^^^^^^^^^ did you mean 'ActionType'?
"##
    );
}

/// A string where a condition belongs, an unknown column inside a quoted string, a syntax error at the end.
#[test]
fn when_conditions_are_type_checked_against_the_output_columns() {
    assert_eq!(
        broken("when.yaml"),
        r##"error: a `when` condition must be of type bool, not string
  --> tests/validate/playbooks/broken/when.yaml:11:11
   |
11 |     when: AccountDisplayName
   |           ^^^^^^^^^^^^^^^^^^ compare it with something, such as `Column == "value"`

error: Failed to resolve scalar expression named 'DeviceTyp'
  --> tests/validate/playbooks/broken/when.yaml:13:12
   |
13 |     when: 'DeviceTyp == "Desktop"'
   |            ^^^^^^^^^ did you mean 'DeviceType'?

error: Syntax error: expected an expression, found the end of the query
  --> tests/validate/playbooks/broken/when.yaml:15:24
   |
15 |     when: DeviceType ==
   |                        ^
"##
    );
}

#[test]
fn durations_name_the_accepted_forms() {
    assert_eq!(
        broken("durations.yaml"),
        r##"error: `15` is not a duration
 --> tests/validate/playbooks/broken/durations.yaml:4:10
  |
4 |   every: 15
  |          ^^ add a unit, such as `15m` or `15h`

error: the first lookback must be longer than zero and at most 30 days
 --> tests/validate/playbooks/broken/durations.yaml:5:19
  |
5 |   first_lookback: 45d
  |                   ^^^ Graph keeps 30 days of advanced-hunting data

error: `1.5h` is not a duration
 --> tests/validate/playbooks/broken/durations.yaml:6:12
  |
6 |   overlap: 1.5h
  |            ^^^^ durations are whole numbers: write 90m

error: `5 minutes` is not a duration
 --> tests/validate/playbooks/broken/durations.yaml:7:10
  |
7 |   delay: 5 minutes
  |          ^^^^^^^^^ write 5m
"##
    );
}

#[test]
fn cron_and_time_zone_problems_point_at_the_field() {
    assert_eq!(
        broken("cron.yaml"),
        r##"error: `MOM` is not a valid day of the week
 --> tests/validate/playbooks/broken/cron.yaml:4:18
  |
4 |   cron: "0 8 * * MOM"
  |                  ^^^ did you mean `MON`?

error: unknown time zone `Europe/Amsterdm`
 --> tests/validate/playbooks/broken/cron.yaml:5:13
  |
5 |   timezone: Europe/Amsterdm
  |             ^^^^^^^^^^^^^^^ did you mean `Europe/Amsterdam`?
"##
    );
}

#[test]
fn receivers_tenants_severities_and_columns_must_exist() {
    assert_eq!(
        broken("references.yaml"),
        r##"error: unknown severity `hgh`
 --> tests/validate/playbooks/broken/references.yaml:2:11
  |
2 | severity: hgh
  |           ^^^ did you mean `high`?

error: unknown tenant `contosso`
 --> tests/validate/playbooks/broken/references.yaml:3:11
  |
3 | tenants: [contosso]
  |           ^^^^^^^^ did you mean `contoso`?

error: the query has no column `ReportID`
 --> tests/validate/playbooks/broken/references.yaml:9:7
  |
9 | key: [ReportID]
  |       ^^^^^^^^ did you mean `ReportId`?

error: unknown receiver `soc-mial`
  --> tests/validate/playbooks/broken/references.yaml:11:10
   |
11 |   - to: [soc-mial, soc-teams]
   |          ^^^^^^^^ did you mean `soc-mail`?

error: the query has no column `DeviceNam`
  --> tests/validate/playbooks/broken/references.yaml:12:11
   |
12 |     per: [DeviceNam]
   |           ^^^^^^^^^ did you mean `DeviceName`?

error: unknown receiver `pager`
  --> tests/validate/playbooks/broken/references.yaml:13:10
   |
13 |   - to: [pager]
   |          ^^^^^ the receivers are soc-digest, soc-mail or soc-teams

error: expected run, hit or a list of columns, found `DeviceName`
  --> tests/validate/playbooks/broken/references.yaml:14:10
   |
14 |     per: DeviceName
   |          ^^^^^^^^^^ to group by a column, write `per: [DeviceName]`
"##
    );
}

#[test]
fn a_subject_must_be_a_valid_template() {
    assert_eq!(
        broken("subject.yaml"),
        r##"error: the subject is not a valid template: invalid handlebars syntax
 --> tests/validate/playbooks/broken/subject.yaml:7:55
  |
7 |     subject: "New report {{#if ReportId}} {{ReportId}}"
  |                                                       ^ check that every `{{` has its `}}` and every `{{#block}}` its `{{/block}}`
"##
    );
}

#[test]
fn tests_name_existing_files_tables_receivers_and_columns() {
    assert_eq!(
        broken("tests.yaml"),
        r##"error: the file tests/validate/playbooks/broken/data/nowhere.jsonl does not exist
 --> tests/validate/playbooks/broken/tests.yaml:8:11
  |
8 |     data: data/nowhere.jsonl
  |           ^^^^^^^^^^^^^^^^^^

error: expected a time, found `2026-11-20 noon`
 --> tests/validate/playbooks/broken/tests.yaml:9:10
  |
9 |     now: 2026-11-20 noon
  |          ^^^^^^^^^^^^^^^ write it in ISO 8601 with a zone, such as 2026-11-20T12:00:00Z

error: this playbook does not notify `soc-teams`
  --> tests/validate/playbooks/broken/tests.yaml:10:36
   |
10 |     expect: { hits: 1, messages: { soc-teams: 1 } }
   |                                    ^^^^^^^^^ it notifies soc-mail

error: unknown table `CloudAppEvent`
  --> tests/validate/playbooks/broken/tests.yaml:12:13
   |
12 |     data: { CloudAppEvent: ../good/data/offboarding.jsonl, DeviceInfo: ../good/data/offboarding.txt }
   |             ^^^^^^^^^^^^^ did you mean `CloudAppEvents`?

error: `../good/data/offboarding.txt` is not a table file
  --> tests/validate/playbooks/broken/tests.yaml:12:72
   |
12 |     data: { CloudAppEvent: ../good/data/offboarding.jsonl, DeviceInfo: ../good/data/offboarding.txt }
   |                                                                        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ use .jsonl (one JSON object per line), .json or .csv

error: the query has no column `AccountName`
  --> tests/validate/playbooks/broken/tests.yaml:16:13
   |
16 |         - { AccountName: Irvin Moreau }
   |             ^^^^^^^^^^^ the query's columns are Timestamp, ReportId, AccountDisplayName

error: two tests are named `tables`
  --> tests/validate/playbooks/broken/tests.yaml:17:11
   |
17 |   - name: tables
   |           ^^^^^^ give each test its own name

error: `expect` expects nothing
  --> tests/validate/playbooks/broken/tests.yaml:20:13
   |
20 |     expect: {}
   |             ^ add `hits:`, `messages:`, `rows:` or `archived:`
"##
    );
}

#[test]
fn a_playbook_with_many_problems_reports_all_of_them_in_file_order() {
    assert_eq!(
        broken("many-problems.yaml"),
        r##"error: `Many Problems` is not a valid playbook id
 --> tests/validate/playbooks/broken/many-problems.yaml:1:5
  |
1 | id: Many Problems
  |     ^^^^^^^^^^^^^ use letters, digits, `-`, `_` and `.`

error: `title` needs a value
 --> tests/validate/playbooks/broken/many-problems.yaml:2:1
  |
2 | title:
  | ^^^^^

error: unknown severity `severe`
 --> tests/validate/playbooks/broken/many-problems.yaml:3:11
  |
3 | severity: severe
  |           ^^^^^^ use informational, low, medium, high or critical

error: expected true or false, found `yes`
 --> tests/validate/playbooks/broken/many-problems.yaml:4:10
  |
4 | enabled: yes
  |          ^^^ write true or false

error: a schedule has `every:` or `cron:`, not both
 --> tests/validate/playbooks/broken/many-problems.yaml:7:3
  |
7 |   cron: "*/5 * * * *"
  |   ^^^^ keep one

error: Syntax error: expected '|', ';' or the end of the query, found '='
  --> tests/validate/playbooks/broken/many-problems.yaml:11:22
   |
11 |   | where ActionType = "IsolateDevice"
   |                      ^

error: `a day` is not a duration
  --> tests/validate/playbooks/broken/many-problems.yaml:16:22
   |
16 |     suppress: { for: a day }
   |                      ^^^^^ write a whole number and a unit: 30s, 15m, 1h, 7d or 1w

error: the file tests/validate/playbooks/broken/data/missing.jsonl does not exist
  --> tests/validate/playbooks/broken/many-problems.yaml:19:11
   |
19 |     data: data/missing.jsonl
   |           ^^^^^^^^^^^^^^^^^^

error: expected a time, found `tomorrow`
  --> tests/validate/playbooks/broken/many-problems.yaml:20:10
   |
20 |     now: tomorrow
   |          ^^^^^^^^ write it in ISO 8601 with a zone, such as 2026-11-20T12:00:00Z

error: expected a number of hits, found `one`
  --> tests/validate/playbooks/broken/many-problems.yaml:21:21
   |
21 |     expect: { hits: one }
   |                     ^^^
"##
    );
}

#[test]
fn every_problem_of_a_file_is_in_file_order() {
    for file in ["many-problems.yaml", "tests.yaml", "references.yaml"] {
        let path = Path::new("tests/validate/playbooks/broken").join(file);
        let text = std::fs::read_to_string(&path).expect("fixture");
        let problems = parse_playbook(&path, &text, &config(), &huntbook::kql::schema::catalog(), &templates)
            .expect_err("invalid");
        let positions: Vec<(usize, usize)> = problems.iter().map(|p| (p.line, p.column)).collect();
        let mut sorted = positions.clone();
        sorted.sort();
        assert_eq!(positions, sorted, "{file}");
        assert!(problems.len() >= 7, "{file}: {}", problems.len());
    }
}

/// Unknown keys and kinds, bad values in every section, a literal secret (masked in the line shown),
/// receivers that do not exist: all of them, in file order.
#[test]
fn a_config_with_many_problems_reports_all_of_them_in_file_order() {
    let rendered = broken_config("many-problems.yaml");
    assert_eq!(
        rendered,
        r##"error: unknown key `stat`
 --> tests/validate/config/many-problems.yaml:1:1
  |
1 | stat: huntbook.db
  | ^^^^ did you mean `state`?

error: unknown source kind `locall`
 --> tests/validate/config/many-problems.yaml:3:9
  |
3 |   kind: locall
  |         ^^^^^^ did you mean `local`?

error: expected a tenant id, found `contoso`
 --> tests/validate/config/many-problems.yaml:6:16
  |
6 |     tenant_id: contoso
  |                ^^^^^^^ a GUID such as 00000000-0000-0000-0000-000000000000, or a domain such as contoso.onmicrosoft.com

error: unknown cloud `globl`
 --> tests/validate/config/many-problems.yaml:7:12
  |
7 |     cloud: globl
  |            ^^^^^ did you mean `global`?

error: `client_secret` is a secret and must not be written in the file
  --> tests/validate/config/many-problems.yaml:10:22
   |
10 |       client_secret: *******
   |                      ^^^^^^^ keep it in the environment or a file: ${env:NAME} or ${file:/path}

error: `tls: none` would send the password and the messages unencrypted
  --> tests/validate/config/many-problems.yaml:13:8
   |
13 |   tls: none
   |        ^^^^ use starttls or tls; none is accepted only for a server on this machine (localhost)

error: unknown key `prot`
  --> tests/validate/config/many-problems.yaml:14:3
   |
14 |   prot: 25
   |   ^^^^ did you mean `port`?

error: unknown key `emial`
  --> tests/validate/config/many-problems.yaml:17:5
   |
17 |     emial: { to: [soc@contoso.example] }
   |     ^^^^^ did you mean `email`?

error: a Teams receiver has `webhook:` or `dir:`, not both
  --> tests/validate/config/many-problems.yaml:19:65
   |
19 |     teams: { webhook: "${env:HUNTBOOK_TEST_NEVER_SET_WEBHOOK}", dir: outbox }
   |                                                                 ^^^ make a second receiver

error: expected an e-mail address, found `not-an-address`
  --> tests/validate/config/many-problems.yaml:21:19
   |
21 |     email: { to: [not-an-address], from: huntbook@contoso.example, via: file, max_rows: many, timezone: Europe/Amsterdm }
   |                   ^^^^^^^^^^^^^^ write soc@contoso.com or "SOC <soc@contoso.com>"

error: `via: file` needs a directory
  --> tests/validate/config/many-problems.yaml:21:73
   |
21 |     email: { to: [not-an-address], from: huntbook@contoso.example, via: file, max_rows: many, timezone: Europe/Amsterdm }
   |                                                                         ^^^^ add `dir: outbox/NAME`

error: expected a number of rows, found `many`
  --> tests/validate/config/many-problems.yaml:21:89
   |
21 |     email: { to: [not-an-address], from: huntbook@contoso.example, via: file, max_rows: many, timezone: Europe/Amsterdm }
   |                                                                                         ^^^^

error: unknown time zone `Europe/Amsterdm`
  --> tests/validate/config/many-problems.yaml:21:105
   |
21 |     email: { to: [not-an-address], from: huntbook@contoso.example, via: file, max_rows: many, timezone: Europe/Amsterdm }
   |                                                                                                         ^^^^^^^^^^^^^^^ did you mean `Europe/Amsterdam`?

error: unknown receiver `soc-mial`
  --> tests/validate/config/many-problems.yaml:23:8
   |
23 |   to: [soc-mial]
   |        ^^^^^^^^ did you mean `soc-mail`?

error: expected a number of runs, found `often`
  --> tests/validate/config/many-problems.yaml:24:21
   |
24 |   when_failing_for: often
   |                     ^^^^^ write `when_failing_for: 3 runs`

error: expected an address and a port, found `localhost:9464`
  --> tests/validate/config/many-problems.yaml:25:17
   |
25 | http: { listen: "localhost:9464" }
   |                 ^^^^^^^^^^^^^^^^ write an IP address and a port, such as 127.0.0.1:9464
"##
    );
    assert!(!rendered.contains("hunter2"), "a literal secret is never shown");
}

#[test]
fn a_missing_environment_variable_is_named_at_its_reference() {
    assert_eq!(
        broken_config("missing-env.yaml"),
        r##"error: the environment variable HUNTBOOK_TEST_NEVER_SET_PASSWORD is not set
 --> tests/validate/config/missing-env.yaml:5:13
  |
5 |   password: ${env:HUNTBOOK_TEST_NEVER_SET_PASSWORD}
  |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ set HUNTBOOK_TEST_NEVER_SET_PASSWORD, or read the secret from a file with ${file:/path}

error: the environment variable HUNTBOOK_TEST_NEVER_SET_WEBHOOK is not set
 --> tests/validate/config/missing-env.yaml:9:17
  |
9 |       webhook: "${env:HUNTBOOK_TEST_NEVER_SET_WEBHOOK}"
  |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ set HUNTBOOK_TEST_NEVER_SET_WEBHOOK, or read the secret from a file with ${file:/path}
"##
    );
}

/// `{ webhook: ${env:X} }` opens a YAML mapping inside a mapping: the hint says to quote it.
#[test]
fn invalid_yaml_is_placed_and_explained() {
    assert_eq!(
        broken_config("not-yaml.yaml"),
        r##"error: this is not valid YAML: while parsing a flow mapping, did not find expected ',' or '}'
 --> tests/validate/config/not-yaml.yaml:3:24
  |
3 |     teams: { webhook: ${env:HUNTBOOK_TEAMS_SOC} }
  |                        ^ inside `{ }` or `[ ]`, quote a value with a reference: "${env:NAME}"
"##
    );
}

#[test]
fn resolved_secrets_never_print() {
    let config = load_config(Some(Path::new("tests/validate/config/good.yaml"))).expect("valid");
    let debug = format!("{config:?}");
    for secret in ["client-secret-value", "smtp-password-value", "SIGNATURE"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

/// The first file (by name) keeps the id; the others are reported where their id comes from (the `id:`
/// value, or the first line when the id is the file name) and left out.
#[test]
fn duplicate_ids_across_files() {
    let (playbooks, problems) = load_playbooks(
        Path::new("tests/validate/playbooks/duplicates"),
        &config(),
        &huntbook::kql::schema::catalog(),
        &template_names(),
    );
    assert_eq!(
        playbooks.iter().map(|p| p.file.clone()).collect::<Vec<_>>(),
        [Path::new("tests/validate/playbooks/duplicates/first.yaml")]
    );
    assert_eq!(
        render_diagnostics(&problems),
        r##"error: the id `isolation` (from the file name) is already used by tests/validate/playbooks/duplicates/first.yaml
 --> tests/validate/playbooks/duplicates/isolation.yaml:1:1
  |
1 | title: Manual device isolation (copy)
  | ^ each playbook needs its own `id:`

error: the id `isolation` is already used by tests/validate/playbooks/duplicates/first.yaml
 --> tests/validate/playbooks/duplicates/second.yaml:2:5
  |
2 | id: isolation
  |     ^^^^^^^^^ each playbook needs its own `id:`
"##
    );
}

/// Templates are named by the configuration's receivers and known only with the playbooks: the problem is
/// placed at the receiver's `template:`, or at `email:` for the default.
#[test]
fn unknown_templates_are_placed_in_the_configuration() {
    let (_, problems) = load_playbooks(
        Path::new("tests/validate/playbooks/good"),
        &config(),
        &huntbook::kql::schema::catalog(),
        &["email-table".to_string()],
    );
    assert_eq!(
        render_diagnostics(&problems),
        r##"error: unknown template `digest`
  --> tests/validate/config/local.yaml:11:118
   |
11 |     email: { to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: outbox/soc-digest, template: digest }
   |                                                                                                                      ^^^^^^ the templates are email-table; another is a file digest.html.hbs in the templates directory
"##
    );
    let (_, problems) = load_playbooks(
        Path::new("tests/validate/playbooks/good"),
        &config(),
        &huntbook::kql::schema::catalog(),
        &["digest".to_string()],
    );
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].message, "unknown template `email-table` (the default)");
    assert_eq!(problems[0].location(), "tests/validate/config/local.yaml:7:5");
    // A near miss is named.
    let (_, problems) = load_playbooks(
        Path::new("tests/validate/playbooks/good"),
        &config(),
        &huntbook::kql::schema::catalog(),
        &["digests".to_string(), "email-table".to_string()],
    );
    assert_eq!(problems[0].hint.as_deref(), Some("did you mean `digests`?"));
}

#[test]
fn a_missing_playbook_directory_is_one_problem() {
    let (playbooks, problems) = load_playbooks(
        Path::new("tests/validate/nowhere"),
        &config(),
        &huntbook::kql::schema::catalog(),
        &template_names(),
    );
    assert!(playbooks.is_empty());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.starts_with("cannot read the playbook directory tests/validate/nowhere: "));
}

#[test]
fn the_embedded_default_configuration_loads() {
    let config = load_config(None).expect("valid");
    let here = std::env::current_dir().expect("current directory");
    assert_eq!(config.file, None);
    assert_eq!(config.base_dir, here);
    assert_eq!(config.source, SourceConfig::Local { data: here.join("examples/data"), rebase_time: true });
    assert!(config.tenants.is_empty() && config.smtp.is_none());
    let Some(Receiver::Email(mail)) = config.receivers.get("soc-mail") else { panic!("soc-mail") };
    assert_eq!(mail.via, EmailVia::File(here.join("outbox/soc-mail")));
    let Some(Receiver::Email(digest)) = config.receivers.get("soc-digest") else { panic!("soc-digest") };
    assert_eq!((digest.template.as_str(), &digest.via), ("digest", &EmailVia::File(here.join("outbox/soc-digest"))));
    let Some(Receiver::Teams(teams)) = config.receivers.get("soc-teams") else { panic!("soc-teams") };
    assert!(matches!(&teams.target, TeamsTarget::Directory(dir) if *dir == here.join("outbox/soc-teams")));
}

#[test]
fn the_good_configuration_loads_into_the_expected_values() {
    let config = load_config(Some(Path::new("tests/validate/config/good.yaml"))).expect("valid");
    let base = std::path::absolute("tests/validate/config").expect("absolute");
    assert_eq!(config.base_dir, base);
    assert_eq!(config.state, base.join("state/huntbook.db"));
    assert_eq!(config.playbooks, base.join("../playbooks/good"));
    assert_eq!(config.templates, Some(base.join("../templates")));
    assert_eq!(config.source, SourceConfig::Graph);

    let contoso = &config.tenants["contoso"];
    assert_eq!((contoso.cloud, contoso.hunting_calls_per_minute, contoso.concurrent_queries), (Cloud::Global, 30, 2));
    let TenantAuth::ClientSecret { client_id, secret } = &contoso.auth else { panic!("client secret") };
    assert_eq!((client_id.as_str(), secret.expose()), ("11111111-1111-1111-1111-111111111111", "client-secret-value"));
    let fabrikam = &config.tenants["fabrikam"];
    assert_eq!((fabrikam.tenant_id.as_str(), fabrikam.cloud.name()), ("fabrikam.onmicrosoft.com", "usgov"));
    assert_eq!(fabrikam.graph_url.as_ref().map(|u| u.as_str()), Some("http://127.0.0.1:8080/"));
    assert!(
        matches!(&fabrikam.auth, TenantAuth::Certificate { path, .. } if *path == base.join("secrets/fabrikam.pem"))
    );
    assert!(matches!(config.tenants["woodgrove"].auth, TenantAuth::ManagedIdentity { client_id: None }));

    let smtp = config.smtp.as_ref().expect("smtp");
    assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), ("smtp.contoso.example", 465, SmtpTls::Tls));
    assert_eq!(smtp.password.as_ref().map(|p| p.expose()), Some("smtp-password-value"));

    let Receiver::Email(mail) = &config.receivers["soc-mail"] else { panic!("soc-mail") };
    assert_eq!(mail.from, "Huntbook <huntbook@contoso.example>");
    assert_eq!((&mail.via, mail.template.as_str(), mail.max_rows), (&EmailVia::Smtp, "email-table", 50));
    assert_eq!(mail.timezone, chrono_tz::Europe::Amsterdam);
    let Receiver::Email(digest) = &config.receivers["soc-digest"] else { panic!("soc-digest") };
    assert_eq!(
        (digest.to.clone(), digest.cc.clone()),
        (vec!["soc@contoso.example".to_string()], vec!["ciso@contoso.example".to_string()])
    );
    assert_eq!((&digest.via, digest.template.as_str(), digest.max_rows), (&EmailVia::Graph, "digest", 200));
    assert_eq!(digest.tenant.as_deref(), Some("contoso"));
    let Receiver::Teams(teams) = &config.receivers["soc-teams"] else { panic!("soc-teams") };
    let TeamsTarget::Webhook(webhook) = &teams.target else { panic!("webhook") };
    assert!(webhook.expose().ends_with("?sig=SIGNATURE"));
    assert!(matches!(&config.receivers["archive"], Receiver::File(file) if file.dir == base.join("outbox/archive")));

    let meta = config.meta.as_ref().expect("meta");
    assert_eq!((meta.to.clone(), meta.when_failing_for), (vec!["soc-mail".to_string()], 5));
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:9464");
}

#[test]
fn environment_variables_are_looked_up_through_the_given_function() {
    let text = "source: { kind: local, data: . }\nsmtp:\n  host: localhost\n  tls: none\n  username: u\n  password: ${env:PASSWORD}\n";
    let environment = |name: &str| (name == "PASSWORD").then(|| "s3cret".to_string());
    let config = parse_config(Some(Path::new("x.yaml")), text, Path::new("."), &environment).expect("valid");
    let smtp = config.smtp.expect("smtp");
    assert_eq!((smtp.tls, smtp.port), (SmtpTls::None, 587));
    assert_eq!(smtp.password.map(|p| p.expose().to_string()), Some("s3cret".to_string()));
}

#[test]
fn the_good_playbooks_load_into_the_expected_values() {
    let playbooks = good_playbooks();
    assert_eq!(playbooks.len(), 2);

    let offboarding = &playbooks[0];
    assert_eq!(offboarding.id, "offboarding-package-download");
    assert_eq!(offboarding.file, Path::new("tests/validate/playbooks/good/offboarding.yaml"));
    assert_eq!((offboarding.severity, offboarding.enabled, offboarding.send_empty), (Severity::High, true, false));
    assert_eq!(offboarding.tags, ["mde", "defense-evasion", "T1562.001"]);
    assert_eq!(offboarding.tenants, ["contoso"]);
    assert!(offboarding.description.ends_with("known to the SOC."));
    let schedule = &offboarding.schedule;
    assert!(matches!(schedule.trigger, Trigger::Every(interval) if interval == TimeDelta::minutes(15)));
    assert_eq!(schedule.first_lookback, Some(TimeDelta::hours(24)));
    assert_eq!((schedule.overlap, schedule.delay), (TimeDelta::minutes(10), TimeDelta::minutes(5)));
    assert_eq!(schedule.timezone, chrono_tz::UTC);
    assert!(offboarding.query.starts_with("CloudAppEvents\n| where ActionType == \"DownloadOffboardingPkg\""));
    assert_eq!(offboarding.key, Some(vec!["ReportId".to_string()]));
    assert_eq!(offboarding.notify.len(), 2);
    assert_eq!(
        (offboarding.notify[0].to.clone(), &offboarding.notify[0].per),
        (vec!["soc-mail".to_string()], &Per::Run)
    );
    assert_eq!(offboarding.notify[0].subject.as_deref(), Some("Offboarding package downloaded by {{first.UserId}}"));
    assert_eq!(
        (offboarding.notify[1].to.clone(), &offboarding.notify[1].per),
        (vec!["soc-teams".to_string()], &Per::Hit)
    );
    let test = &offboarding.tests[0];
    assert_eq!(test.name, "a download is reported once");
    assert_eq!(test.data, TestData::File(PathBuf::from("tests/validate/playbooks/good/data/offboarding.jsonl")));
    assert_eq!(test.runs[0].now.to_rfc3339(), "2026-11-20T12:00:00+00:00");
    assert_eq!(test.runs[0].expect.hits, Some(1));
    assert_eq!(
        test.runs[0].expect.messages,
        BTreeMap::from([("soc-mail".to_string(), 1), ("soc-teams".to_string(), 1)])
    );

    let review = &playbooks[1];
    assert_eq!((review.id.as_str(), review.enabled, review.send_empty), ("release-review", false, true));
    assert_eq!((review.severity, review.description.as_str(), review.key.clone()), (Severity::Medium, "", None));
    let Trigger::Cron(cron) = &review.schedule.trigger else { panic!("cron") };
    assert_eq!(cron.expression, "0 8 * * MON");
    assert_eq!(review.schedule.timezone, chrono_tz::Europe::Amsterdam);
    assert_eq!(review.schedule.first_lookback, Some(TimeDelta::weeks(1)));
    // Monday 08:00 in Amsterdam is 07:00 UTC in winter.
    let after = chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z").expect("time");
    let next = cron.schedule.after(&after.with_timezone(&review.schedule.timezone)).next().expect("fires");
    assert_eq!(next.with_timezone(&chrono::Utc).to_rfc3339(), "2026-11-23T07:00:00+00:00");
    assert_eq!(review.notify[0].per, Per::Columns(vec!["DeviceName".to_string(), "AccountDisplayName".to_string()]));
    let test = &review.tests[0];
    assert_eq!(
        test.data,
        TestData::Tables(BTreeMap::from([(
            "CloudAppEvents".to_string(),
            PathBuf::from("tests/validate/playbooks/good/data/releases.jsonl")
        )]))
    );
    assert_eq!(test.runs[0].expect.messages, BTreeMap::from([("soc-digest".to_string(), 2)]));
    let rows: Vec<Vec<(&str, &str)>> = test.runs[0]
        .expect
        .rows
        .iter()
        .map(|row| row.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .collect();
    assert_eq!(rows, [vec![("Comment", "patched"), ("DeviceName", "pc1")], vec![("DeviceName", "pc2")]]);
}

/// What the run pipeline does with a query's and a condition's `QuerySource`: a run-time error lands on the
/// same file position as the text.
#[test]
fn query_and_condition_sources_give_file_positions() {
    let playbooks = good_playbooks();
    let offboarding = &playbooks[0];
    let name = offboarding.file.display().to_string();
    let at = |text: &str, source: &huntbook::playbook::QuerySource, needle: &str| {
        let source = SourceText {
            name: &name,
            text,
            first_line: source.first_line,
            first_column: source.first_column,
            indent: source.indent,
        };
        source.location(text.find(needle).expect("in the text"))
    };
    let query = &offboarding.query;
    assert_eq!(at(query, &offboarding.query_source, "CloudAppEvents"), format!("{name}:17:3"));
    assert_eq!(at(query, &offboarding.query_source, "OsFamily = "), format!("{name}:20:12"));
    let when = offboarding.notify[1].when.as_ref().expect("when");
    assert_eq!(when.text, "OsFamily == \"Windows\" and isnotempty(UserId)");
    assert_eq!(at(&when.text, &when.source, "isnotempty"), format!("{name}:29:37"));
}

/// A playbook repository's CI checks its playbooks without any production secret: `validate` and `test` say
/// which secrets are not available there (warnings) and succeed; the commands that send need them.
#[test]
fn validate_and_test_need_no_secret_and_the_commands_that_send_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_playbooks(&dir.path().join("playbooks"), &["offboarding-package-download", "manual-device-isolation"]);
    let config = dir.path().join("huntbook.yaml");
    std::fs::write(
        &config,
        format!(
            "state: huntbook.db\nplaybooks: playbooks\nsource: {{ kind: local, data: '{}', rebase_time: true }}\n\
             smtp: {{ host: smtp.contoso.example, username: hb@contoso.example, password: '${{env:HB_NEVER_SET_SMTP}}' }}\n\
             receivers:\n  soc-mail: {{ email: {{ to: [soc@contoso.example], from: hb@contoso.example }} }}\n  \
             soc-teams: {{ teams: {{ webhook: '${{file:secrets/teams-webhook}}' }} }}\n",
            repo().join("examples/data").display()
        ),
    )
    .expect("config");
    let command = |args: &[&str]| {
        huntbook().current_dir(dir.path()).args(args).env_remove("HB_NEVER_SET_SMTP").output().expect("runs")
    };
    let validated = command(&["validate"]);
    let said = stderr(&validated);
    assert_eq!(validated.status.code(), Some(0), "{said}");
    assert!(stdout(&validated).starts_with("ok: 2 playbooks"), "{}", stdout(&validated));
    assert!(said.contains("warning: the environment variable HB_NEVER_SET_SMTP is not set here"), "{said}");
    assert!(said.contains("warning: cannot read the secret file") && said.contains("secrets/teams-webhook"), "{said}");
    assert!(said.contains(" --> huntbook.yaml:4:"), "placed at the reference: {said}");
    let tested = command(&["test"]);
    assert_eq!(tested.status.code(), Some(0), "{}{}", stdout(&tested), stderr(&tested));
    // `run` sends: the missing secrets are errors there, named at their place.
    let ran = command(&["run"]);
    assert_eq!(ran.status.code(), Some(2), "{}", stderr(&ran));
    assert!(stderr(&ran).contains("error: the environment variable HB_NEVER_SET_SMTP is not set"), "{}", stderr(&ran));
    // A reference that is wrong, not merely missing here, is an error for validate too.
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, text.replace("${env:HB_NEVER_SET_SMTP}", "${vault:smtp}")).expect("config");
    let wrong = command(&["validate"]);
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("error: unknown reference `${vault:smtp}`"), "{}", stderr(&wrong));
}

#[test]
fn lookback_aggregates_and_the_window_names_are_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&playbooks).expect("mkdir");
    let write = |name: &str, schedule: &str, query: &str, extra: &str| {
        std::fs::write(
            playbooks.join(format!("{name}.yaml")),
            format!(
                "id: {name}\ntitle: {name}\nseverity: low\nschedule: {schedule}\nquery: |\n  {query}\n{extra}notify:\n  - to: [soc-mail]\n"
            ),
        )
        .expect("playbook");
    };
    let count = "CloudAppEvents | summarize n = count() by AccountDisplayName";
    write("keyed", "{ every: 1h }", count, "key: [AccountDisplayName]\n");
    write("overlapping", "{ every: 1h, overlap: 10m }", count, "");
    write("windowed", "{ every: 1h, lookback: 2h }", "CloudAppEvents | where Timestamp > huntbook_window_end - 1h", "");
    write_local_config(dir.path());
    let validated = huntbook().current_dir(dir.path()).arg("validate").output().expect("runs");
    let said = stderr(&validated);
    assert_eq!(validated.status.code(), Some(0), "{said}");
    assert!(said.contains("warning: the query's rows are aggregates, and `key:` dedups them across windows"), "{said}");
    assert!(said.contains("warning: the query's rows are aggregates, and `overlap` counts"), "{said}");
    assert!(!said.contains("windowed"), "the window's names are declared: {said}");

    write("both", "{ every: 1h, lookback: 2h, overlap: 10m }", count, "");
    write("too-long", "{ every: 1h, lookback: 31d }", count, "");
    let refused = huntbook().current_dir(dir.path()).arg("validate").output().expect("runs");
    let said = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(said.contains("error: `overlap` and `lookback` do not go together"), "{said}");
    assert!(said.contains("error: the look-back must be longer than zero and at most 30 days"), "{said}");
}

/// A query that does not compile does not hide the other problems, and the count says where they are.
#[test]
fn every_problem_is_reported_beside_a_broken_query_and_counted_where_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("playbooks")).expect("mkdir");
    std::fs::write(
        dir.path().join("playbooks/p.yaml"),
        "id: p\ntitle: P\nseverity: low\nschedule: { every: 1h }\nquery: |\n  CloudAppEvents | where Nope == 1\n\
         notify:\n  - to: [soc-mial]\n    template: digset\n",
    )
    .expect("playbook");
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: h.db\nplaybooks: playbooks\nsource: {{ kind: local, data: '{}' }}\nreceivers:\n  \
             soc-mail: {{ email: {{ to: [a@contoso.example], from: h@contoso.example, via: file, dir: out, template: nope }} }}\n",
            repo().join("examples/data").display()
        ),
    )
    .expect("config");
    let output = huntbook().current_dir(dir.path()).arg("validate").output().expect("runs");
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("error: unknown template `nope`"), "{said}");
    assert!(said.contains("Failed to resolve scalar expression named 'Nope'"), "{said}");
    assert!(said.contains("error: unknown receiver `soc-mial`") && said.contains("did you mean `soc-mail`?"), "{said}");
    // The entry's own template is checked too, though the query that gives the playbook its columns is broken.
    assert!(said.contains("error: unknown template `digset`") && said.contains("did you mean `digest`?"), "{said}");
    assert!(said.trim_end().ends_with("4 problems: 1 in the configuration, 3 in 1 of 1 playbook"), "{said}");
}
