//! `huntbook schema`: JSON Schemas (draft 2020-12) of the playbook and configuration files, for editors
//! (yaml-language-server completes keys, shows their documentation and marks misspelt ones). They describe the
//! shape — keys, kinds of values, the choices of a keyword — and leave the rest to `huntbook validate`, which
//! stays the authority: a query's columns, receivers that exist, templates that render.
//!
//! Every mapping's keys are the very lists the readers accept (`playbook::KEYS`, `notify::NOTIFY_KEYS`, …): a
//! test compares them, so that a key added to a reader and not here fails the build's tests.

use serde_json::{Map, Value, json};

/// Which file a schema is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaKind {
    Playbook,
    Config,
}

const DURATION: &str = "a whole number and a unit: 30s, 15m, 1h, 7d, 1w";

fn duration(description: &str) -> Value {
    json!({
        "type": "string",
        "pattern": r"^\s*(0|[0-9]+\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?))\s*$",
        "description": format!("{description} ({DURATION})"),
    })
}

fn text(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn names(description: &str) -> Value {
    json!({ "type": "array", "items": { "type": "string" }, "minItems": 1, "description": description })
}

fn keyword(choices: &[&str], description: &str) -> Value {
    json!({ "enum": choices, "description": description })
}

/// A mapping whose keys are exactly `keys`, each described by `properties` (a key without an entry there takes
/// any value). `keys` is the reader's own list.
fn object(keys: &[&str], properties: Vec<(&str, Value)>, description: &str) -> Value {
    let mut described: Map<String, Value> = properties.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut ordered = Map::new();
    for key in keys {
        ordered.insert((*key).to_string(), described.remove(*key).unwrap_or_else(|| json!({})));
    }
    debug_assert!(described.is_empty(), "properties not in the reader's keys: {:?}", described.keys());
    json!({ "type": "object", "properties": ordered, "additionalProperties": false, "description": description })
}

fn with_required(mut schema: Value, required: &[&str]) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.insert("required".to_string(), json!(required));
    }
    schema
}

/// The schema of one kind of file, as a JSON value.
pub fn schema(kind: SchemaKind) -> Value {
    let (title, root) = match kind {
        SchemaKind::Playbook => ("huntbook playbook", playbook()),
        SchemaKind::Config => ("huntbook configuration (huntbook.yaml)", config()),
    };
    let mut root = root;
    if let Some(object) = root.as_object_mut() {
        object.insert("$schema".to_string(), json!("https://json-schema.org/draft/2020-12/schema"));
        object.insert("title".to_string(), json!(title));
    }
    root
}

fn playbook() -> Value {
    use crate::playbook::enrich::{ARCHIVE_KEYS, FILE_PROFILE_KEYS, ISOLATION_REASON_KEYS, LOOKUP_KEYS};
    use crate::playbook::notify::{LINK_KEYS, NOTIFY_KEYS, SUPPRESS_KEYS};
    use crate::playbook::schedule::SCHEDULE_KEYS;
    use crate::playbook::test_case::{EXPECT_KEYS, RUN_KEYS, TEST_KEYS};

    let column_or_none = json!({ "type": "string", "description": "a column of the hits, or `none`" });
    let notify = with_required(
        object(
            NOTIFY_KEYS,
            vec![
                ("to", names("receivers of huntbook.yaml")),
                (
                    "per",
                    json!({
                        "description": "run: one message with every hit (default); hit: one per hit; [Columns]: one per distinct value",
                        "anyOf": [{ "enum": ["run", "hit"] }, { "type": "array", "items": { "type": "string" }, "minItems": 1 }],
                    }),
                ),
                ("when", text("a KQL condition over the hit's columns: only the hits it holds for")),
                ("subject", text("the e-mail subject, a handlebars template: {{first.Column}}, {{count}}")),
                ("title", text("the Teams card's title, a handlebars template (default: the playbook's title)")),
                (
                    "template",
                    text(
                        "the e-mail layout of this entry's e-mails (email-table, digest, or one of yours), in place of the receiver's",
                    ),
                ),
                ("columns", names("the columns e-mail tables and cards show, in order; the CSV attachment has all")),
                (
                    "chart",
                    text(
                        "a query over the hits ending in `render columnchart|barchart|timechart|linechart|piechart`, drawn in the e-mails",
                    ),
                ),
                (
                    "links",
                    json!({
                        "description": "the columns the portal buttons come from, or `none` for no buttons",
                        "anyOf": [
                            { "const": "none" },
                            object(LINK_KEYS, vec![
                                ("device", column_or_none.clone()),
                                ("file", column_or_none.clone()),
                                ("user", column_or_none.clone()),
                            ], "one column per kind of portal page"),
                        ],
                    }),
                ),
                (
                    "suppress",
                    with_required(
                        object(
                            SUPPRESS_KEYS,
                            vec![
                                ("for", duration("after a message, how long the same values send nothing more to it")),
                                ("by", names("the columns whose values make hits the same (default: any hit)")),
                            ],
                            "no second message to a receiver for the same values within `for`",
                        ),
                        &["for"],
                    ),
                ),
            ],
            "who hears of the hits, how they are grouped and shown",
        ),
        &["to"],
    );
    let enrichment = |name: &str, body: Value, description: &str| {
        let mut properties = Map::new();
        properties.insert(name.to_string(), body);
        properties.insert(
            "on_error".to_string(),
            keyword(
                &["deliver", "fail"],
                "deliver (default): send with the columns empty and a note; fail: fail the run",
            ),
        );
        json!({
            "type": "object",
            "properties": properties,
            "required": [name],
            "additionalProperties": false,
            "description": description,
        })
    };
    let enrich = json!({
        "type": "array",
        "description": "enrichers, run in order after the query; each adds columns to every hit",
        "items": { "anyOf": [
            enrichment("isolation_reason", with_required(object(ISOLATION_REASON_KEYS, vec![
                ("device", text("the column with the device name")),
                ("at", text("the column with the time the isolation must be before")),
                ("from", text("an archive of isolations (`archive.name` of a recorder playbook)")),
                ("rename", json!({ "type": "object", "additionalProperties": { "type": "string" }, "description": "new names for the added columns" })),
            ], "the latest isolation of the device before `at`"), &["device", "at", "from"]), "adds IsolatedAt, IsolatedBy, IsolationComment, IsolationScope"),
            enrichment("file_profile", object(FILE_PROFILE_KEYS, vec![
                ("sha256", text("the column with the file's SHA256")),
                ("sha1", text("the column with the file's SHA1")),
                ("via", keyword(&["hunting", "mde_api"], "hunting (default): FileProfile() in a hunting query; mde_api: the Defender files API")),
            ], "the file's prevalence, signer and verdict"), "adds the file's profile columns"),
            enrichment("lookup", with_required(object(LOOKUP_KEYS, vec![
                ("query", text("a KQL query with {{values}} for the run's distinct values of the first `on` column")),
                ("on", names("the columns to join on")),
                ("columns", names("the columns to add (default: all but `on`)")),
                ("lookback", duration("the time the query covers before the run's window end")),
            ], "columns from another query, joined on `on`"), &["query", "on"]), "adds the lookup's columns"),
        ]},
    });
    let schedule = object(
        SCHEDULE_KEYS,
        vec![
            ("every", duration("run at this interval")),
            ("cron", text("a cron expression (5 or 6 fields), such as \"0 8 * * MON\"")),
            ("timezone", text("an IANA time zone for cron, such as Europe/Amsterdam (default UTC)")),
            ("first_lookback", duration("the first run's window (default: one interval; at most 30d)")),
            ("overlap", duration("each window starts this long before the previous one ended")),
            ("delay", duration("each window ends this long before now (ingestion delay)")),
        ],
        "when the playbook runs: `every` or `cron`",
    );
    let data = json!({
        "description": "a fixture file (.jsonl, .json, .csv), or a mapping of table (or archive.NAME) to file",
        "anyOf": [{ "type": "string" }, { "type": "object", "additionalProperties": { "type": "string" } }],
    });
    let expect = object(
        EXPECT_KEYS,
        vec![
            ("hits", json!({ "type": "integer", "minimum": 0, "description": "new hits of the run" })),
            (
                "messages",
                json!({ "type": "object", "additionalProperties": { "type": "integer", "minimum": 0 }, "description": "messages per receiver; receivers not listed must get none" }),
            ),
            (
                "rows",
                json!({ "type": "array", "items": { "type": "object" }, "description": "each must match some hit (the text of the listed columns)" }),
            ),
            ("archived", json!({ "type": "integer", "minimum": 0, "description": "rows the run archived" })),
            ("silenced", json!({ "type": "integer", "minimum": 0, "description": "hits a silence kept quiet" })),
            (
                "suppressed",
                json!({ "type": "integer", "minimum": 0, "description": "hits suppression kept from some receiver" }),
            ),
        ],
        "what the run must produce",
    );
    let test = with_required(
        object(
            TEST_KEYS,
            vec![
                ("name", text("what the test shows; unique in the playbook")),
                ("data", data),
                (
                    "now",
                    json!({ "type": "string", "format": "date-time", "description": "the time of the run (the window ends there)" }),
                ),
                ("silences", names("KQL conditions, each a silence in force during the test's runs")),
                ("expect", expect.clone()),
                (
                    "runs",
                    json!({
                        "type": "array",
                        "minItems": 1,
                        "description": "several runs in order against one state, instead of `now` and `expect`",
                        "items": with_required(
                            object(
                                RUN_KEYS,
                                vec![
                                    (
                                        "now",
                                        json!({ "type": "string", "format": "date-time", "description": "the time of the run (the window ends there)" }),
                                    ),
                                    ("data", json!({ "description": "rows added before this run to those before it (a file, or a table → file mapping)" })),
                                    ("expect", expect),
                                ],
                                "one run of the test",
                            ),
                            &["now", "expect"],
                        ),
                    }),
                ),
            ],
            "one test: fixtures in, hits and messages out (one run: `now` and `expect`; several: `runs`)",
        ),
        &["name", "data"],
    );
    let archive = with_required(
        object(
            ARCHIVE_KEYS,
            vec![
                ("name", text("the archive's name: a table to local queries and enrichers")),
                ("retention", duration("rows older than this are deleted (default 400d)")),
            ],
            "keep every new hit in the state file",
        ),
        &["name"],
    );
    with_required(
        object(
            crate::playbook::KEYS,
            vec![
                ("id", text("stable: the state hangs off it (default: the file name)")),
                ("title", text("what the messages are called")),
                ("description", text("what the playbook looks for and why; shown in messages")),
                ("severity", keyword(&["informational", "low", "medium", "high", "critical"], "how urgent a hit is")),
                ("tags", json!({ "type": "array", "items": { "type": "string" } })),
                ("enabled", json!({ "type": "boolean", "description": "false: never runs (default true)" })),
                ("tenants", names("the tenants of huntbook.yaml the query runs in (default: all)")),
                ("schedule", schedule),
                ("query", text("the KQL hunting query")),
                ("key", names("the columns that make a hit the same hit (default: ReportId, else the whole row)")),
                ("enrich", enrich),
                ("archive", archive),
                ("notify", json!({ "type": "array", "items": notify, "description": "who hears of the hits" })),
                (
                    "send_empty",
                    json!({ "type": "boolean", "description": "true: a run without hits still sends (digests)" }),
                ),
                (
                    "tests",
                    json!({ "type": "array", "items": test, "description": "the playbook's own tests (huntbook test)" }),
                ),
            ],
            "one huntbook playbook",
        ),
        &["title", "severity", "schedule", "query"],
    )
}

fn config() -> Value {
    use crate::config::receiver::{EMAIL_KEYS, TEAMS_KEYS};
    use crate::config::smtp::SMTP_KEYS;
    use crate::config::tenant::{AUTH_KEYS, LIMIT_KEYS, TENANT_KEYS};
    use crate::config::{DAEMON_KEYS, DELIVERY_KEYS, HTTP_KEYS, META_KEYS, SOURCE_KEYS, TOP_KEYS};

    let secret = |description: &str| {
        text(&format!("{description}; write ${{env:NAME}} or ${{file:/path}} to keep it out of the file"))
    };
    let email = with_required(
        object(
            EMAIL_KEYS,
            vec![
                ("to", names("addresses")),
                ("cc", json!({ "type": "array", "items": { "type": "string" } })),
                ("from", text("the sender: an address, or Name <address>")),
                ("via", keyword(&["smtp", "graph", "file"], "smtp (default), Graph sendMail, or .eml files")),
                ("dir", text("with via: file, where the .eml files go")),
                ("tenant", text("with via: graph, the tenant whose app sends")),
                ("template", text("the e-mail template: email-table (default), digest, or one of templates/")),
                (
                    "max_rows",
                    json!({ "type": "integer", "minimum": 1, "description": "rows shown (default 200); all are in the CSV" }),
                ),
                ("timezone", text("times are shown in this IANA zone (default UTC)")),
            ],
            "an e-mail receiver",
        ),
        &["to", "from"],
    );
    let teams = object(
        TEAMS_KEYS,
        vec![
            ("webhook", secret("a Teams Workflows webhook URL")),
            ("dir", text("instead of webhook: write each card payload to this directory")),
            (
                "per_second",
                json!({ "type": "number", "exclusiveMinimum": 0, "description": "posts per second at most" }),
            ),
            ("timezone", text("times are shown in this IANA zone (default UTC)")),
        ],
        "a Teams receiver",
    );
    let receiver = json!({
        "type": "object",
        "description": "one of email, teams, file",
        "properties": {
            "email": email,
            "teams": teams,
            "file": { "type": "object", "properties": { "dir": text("where the JSON documents go") }, "required": ["dir"], "additionalProperties": false },
        },
        "additionalProperties": false,
        "minProperties": 1,
        "maxProperties": 1,
    });
    let auth = object(
        AUTH_KEYS,
        vec![
            ("client_id", text("the app registration's id (a GUID)")),
            ("client_secret", secret("the client secret")),
            (
                "certificate",
                json!({ "type": "object", "properties": { "path": text("a PEM file with the certificate and its key") }, "required": ["path"], "additionalProperties": false }),
            ),
            ("managed_identity", json!({ "description": "use the Azure managed identity: {}" })),
            ("workload_identity", json!({ "description": "use Kubernetes workload identity federation: {}" })),
        ],
        "how huntbook signs in: client_secret, certificate, managed_identity or workload_identity",
    );
    let tenant = with_required(
        object(
            TENANT_KEYS,
            vec![
                ("tenant_id", text("the Entra tenant id (a GUID)")),
                ("cloud", keyword(&["global", "usgov", "usgov-dod"], "the national cloud (default global)")),
                ("login_url", text("override of the sign-in endpoint (tests, the emulator)")),
                ("graph_url", text("override of the Graph endpoint (tests, the emulator)")),
                ("mde_url", text("override of the Defender API endpoint (tests, the emulator)")),
                ("auth", auth),
                (
                    "limits",
                    object(
                        LIMIT_KEYS,
                        vec![
                            ("hunting_calls_per_minute", json!({ "type": "integer", "minimum": 1 })),
                            ("concurrent_queries", json!({ "type": "integer", "minimum": 1 })),
                        ],
                        "the tenant's hunting limits",
                    ),
                ),
            ],
            "a Defender XDR tenant queried through Graph",
        ),
        &["tenant_id", "auth"],
    );
    let smtp = with_required(
        object(
            SMTP_KEYS,
            vec![
                ("host", text("the mail server")),
                ("port", json!({ "type": "integer", "minimum": 1, "maximum": 65535 })),
                (
                    "tls",
                    keyword(&["starttls", "tls", "none"], "starttls (default), tls (implicit), none (loopback only)"),
                ),
                ("username", text("the account")),
                ("password", secret("the password")),
                ("ca_file", text("a PEM file of CA certificates to trust besides the system's")),
            ],
            "the mail server for via: smtp",
        ),
        &["host"],
    );
    object(
        TOP_KEYS,
        vec![
            ("state", text("the SQLite state file (default huntbook.db)")),
            ("playbooks", text("the directory of playbook files (default playbooks)")),
            ("templates", text("a directory of e-mail templates (NAME.html.hbs, NAME.text.hbs)")),
            (
                "source",
                json!({
                    "description": "where queries run: `graph`, or a mapping",
                    "anyOf": [{ "const": "graph" },
                with_required(
                    object(
                        SOURCE_KEYS,
                        vec![
                            (
                                "kind",
                                keyword(&["local", "graph"], "local: the KQL engine over files; graph: the tenants"),
                            ),
                            ("data", text("with kind: local, a directory of table files")),
                            (
                                "rebase_time",
                                json!({ "type": "boolean", "description": "shift the data's times so that its newest row is an hour old" }),
                            ),
                        ],
                        "where queries run",
                    ),
                    &["kind"],
                )
                    ],
                }),
            ),
            ("first_lookback", duration("the first run of every playbook covers this much (overrides the playbooks')")),
            ("tenants", json!({ "type": "object", "additionalProperties": tenant, "description": "tenants by name" })),
            ("smtp", smtp),
            (
                "receivers",
                json!({ "type": "object", "additionalProperties": receiver, "description": "receivers by name" }),
            ),
            (
                "delivery",
                object(
                    DELIVERY_KEYS,
                    vec![
                        ("max_age", duration("a message not delivered within this is dead")),
                        ("wait", duration("how long `huntbook run` keeps delivering after the playbooks ran")),
                    ],
                    "how the outbox delivers",
                ),
            ),
            (
                "meta",
                with_required(
                    object(
                        META_KEYS,
                        vec![
                            ("to", names("receivers of huntbook's reports about itself")),
                            ("when_failing_for", text("a number of failed runs in a row, such as 3 runs")),
                            (
                                "stale_after",
                                text("a number of intervals (3 intervals) or a time (6h) without a successful run"),
                            ),
                        ],
                        "where huntbook reports its own trouble",
                    ),
                    &["to"],
                ),
            ),
            ("catch_up_window", duration("after downtime, missed time runs in windows of at most this (default 6h)")),
            (
                "http",
                object(
                    HTTP_KEYS,
                    vec![
                        ("listen", text("address:port of the daemon's HTTP server")),
                        ("token", secret("a bearer token for / and /metrics")),
                    ],
                    "the daemon's /healthz, /readyz, /metrics and status page",
                ),
            ),
            (
                "daemon",
                object(
                    DAEMON_KEYS,
                    vec![
                        ("shutdown_grace", duration("how long SIGTERM waits for runs and the outbox")),
                        ("jitter", duration("playbooks due at one instant start spread over this")),
                        ("runs_at_once", json!({ "type": "integer", "minimum": 1 })),
                    ],
                    "the daemon",
                ),
            ),
        ],
        "huntbook's configuration",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mapping of the schemas lists exactly the keys its reader accepts (`object` takes the reader's
    /// list): a described key the reader does not know would trip the debug assertion.
    #[test]
    fn the_schemas_build_and_describe_only_keys_the_readers_know() {
        for kind in [SchemaKind::Playbook, SchemaKind::Config] {
            let schema = schema(kind);
            assert_eq!(schema["additionalProperties"], json!(false));
            assert!(schema["properties"].as_object().is_some_and(|p| !p.is_empty()));
        }
        let playbook = schema(SchemaKind::Playbook);
        let notify = &playbook["properties"]["notify"]["items"]["properties"];
        assert!(notify["suppress"]["properties"]["for"].is_object());
    }
}
