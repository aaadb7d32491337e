//! Every shipped playbook, run by the real binary with `source: graph` against `huntbook emulate` serving the
//! sample data, yields exactly the hits and messages it yields with `source: local` over the same files.

use crate::common;

use std::path::Path;

use common::emulator::Emulator;

const WINDOW: [&str; 5] = ["--all", "--since", "2026-10-21T00:00:00Z", "--until", "2026-11-21T00:00:00Z"];
const SECRET: &str = "graph-run-secret";

/// A Graph source whose one tenant, `contoso`, signs in and queries at `url` (an emulator), with the secret
/// from `GRAPH_RUN_SECRET`.
fn graph_source(url: &str) -> String {
    format!(
        "source: graph\ntenants:\n  contoso:\n    tenant_id: contoso.onmicrosoft.com\n    login_url: {url}\n    \
         graph_url: {url}\n    auth:\n      client_id: 11111111-1111-1111-1111-111111111111\n      \
         client_secret: ${{env:GRAPH_RUN_SECRET}}"
    )
}

fn write_config(dir: &Path, source: &str) -> std::path::PathBuf {
    let repo = common::repo();
    let outbox = dir.join("outbox");
    let config = format!(
        "state: {state}\nplaybooks: {playbooks}\ntemplates: {templates}\n{source}\nreceivers:\n  \
         soc-mail:\n    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: {o}/soc-mail }}\n  \
         soc-teams:\n    teams: {{ dir: {o}/soc-teams }}\n  \
         soc-digest:\n    email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: {o}/soc-digest, template: digest }}\n",
        state = dir.join("huntbook.db").display(),
        playbooks = repo.join("playbooks").display(),
        templates = repo.join("templates").display(),
        o = outbox.display(),
    );
    let path = dir.join("huntbook.yaml");
    std::fs::write(&path, config).expect("config written");
    path
}

/// Each message delivered, as the reader sees it, with the run's id (random per run) and start blanked (a start
/// on a whole minute is shown without its seconds: the two runs of a test may fall either side of one); sorted.
fn delivered(dir: &Path) -> Vec<String> {
    let run = regex::Regex::new(
        r"(?i)run [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(, started \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC)?",
    )
    .expect("regex");
    let mut messages = Vec::new();
    for receiver in ["soc-mail", "soc-teams", "soc-digest"] {
        let Ok(entries) = std::fs::read_dir(dir.join("outbox").join(receiver)) else { continue };
        for entry in entries {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("readable");
            let text = if path.extension().is_some_and(|e| e == "eml") {
                let message = mail_parser::MessageParser::default().parse(&bytes).expect("MIME");
                format!(
                    "{receiver} {}\n{}",
                    message.subject().unwrap_or_default(),
                    message.body_text(0).unwrap_or_default()
                )
            } else {
                format!("{receiver} {}", String::from_utf8_lossy(&bytes))
            };
            messages.push(run.replace_all(&text, "run R").into_owned());
        }
    }
    messages.sort();
    messages
}

#[test]
fn graph_and_local_sources_send_the_same_messages() {
    let emulator = Emulator::start(&["--client-secret", SECRET, "--fail", "429:0.2", "--retry-after", "0"]);
    let local = tempfile::tempdir().expect("temp dir");
    let graph = tempfile::tempdir().expect("temp dir");
    let local_config =
        write_config(local.path(), &format!("source: {{ kind: local, data: {} }}", common::sample_data().display()));
    let graph_config = write_config(graph.path(), &graph_source(&emulator.url));
    let run = |config: &Path| {
        let output = common::huntbook()
            .arg("run")
            .arg("-c")
            .arg(config)
            .args(WINDOW)
            .env("GRAPH_RUN_SECRET", SECRET)
            .output()
            .expect("huntbook runs");
        assert!(output.status.success(), "{}{}", common::stdout(&output), common::stderr(&output));
        // The summary lines without the window (the same) : playbook, rows, new hits, messages.
        (common::stdout(&output), common::stderr(&output))
    };
    let (local_summary, local_said) = run(&local_config);
    let (graph_summary, graph_said) = run(&graph_config);
    // The window starts further back than advanced hunting keeps: said for Graph, not for local files.
    let days = (chrono::Utc::now()
        - chrono::DateTime::parse_from_rfc3339(WINDOW[2]).expect("time").with_timezone(&chrono::Utc))
    .num_days();
    if days > 30 {
        assert!(
            graph_said.contains("warning: --since 2026-10-21 00:00:00 is ")
                && graph_said.contains(" days back; advanced hunting keeps 30 days, so Graph finds nothing before "),
            "{graph_said}"
        );
        assert!(!local_said.contains("advanced hunting keeps"), "{local_said}");
    }
    // Runs over a window given by hand are backfills.
    let runs = common::huntbook().arg("runs").arg("-c").arg(&graph_config).output().expect("huntbook runs");
    let listed = common::stdout(&runs);
    assert!(listed.lines().skip(1).all(|line| line.ends_with(", backfill")), "{listed}");
    let graph_summary = graph_summary.replace(&graph.path().display().to_string(), &local.path().display().to_string());
    assert_eq!(local_summary, graph_summary);
    assert!(local_summary.contains("delivered 28 messages"), "{local_summary}");
    let (local_messages, graph_messages) = (delivered(local.path()), delivered(graph.path()));
    assert_eq!(local_messages.len(), 28);
    for (local, graph) in local_messages.iter().zip(&graph_messages) {
        let cut = |text: &str| text.chars().take(400).collect::<String>();
        assert!(local == graph, "a message differs:\nlocal: {}\ngraph: {}", cut(local), cut(graph));
    }
    assert_eq!(local_messages.len(), graph_messages.len());
    // The emulator throttled some calls, and the run still got everything.
    let statuses = emulator.statuses("/runHuntingQuery");
    assert!(statuses.contains(&429), "{statuses:?}");
    // One query per playbook (8), the isolations the digest's enrichment looked up for released devices the
    // archive did not explain (1: the recorder ran first, in the same run, but over 30 days of sample data some
    // isolations fall before its window), and the profiles of the collected files (1).
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10);
}

/// A failed run does not use up its slot: the weekly digest failing against Graph on Monday morning, then a
/// run against a healthy Graph a couple of minutes later, sends the digest (it used to say "no playbook is due:
/// the next is isolation-release-review at 2026-12-14", and that week's releases were never reported).
#[test]
fn a_weekly_digest_that_failed_runs_again_minutes_later_not_next_week() {
    // Graph refuses the first hunting call (403: no retry), then answers.
    let emulator = Emulator::start(&[
        "--client-secret",
        SECRET,
        "--fail",
        "403*1",
        "--now",
        "2026-12-07T07:00:00Z",
        "--rebase-time",
    ]);
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    common::copy_playbooks(&playbooks, &["isolation-release-review", "isolation-history"]);
    // The digest reads the recorder's archive; the recorder is off here, so that the one failure injected is
    // the digest's own query (its enrichment then asks Graph for the isolations the empty archive lacks).
    let recorder = playbooks.join("isolation-history.yaml");
    let text = std::fs::read_to_string(&recorder).expect("copied") + "\nenabled: false\n";
    std::fs::write(&recorder, text).expect("written");
    let config_path = write_config(dir.path(), &graph_source(&emulator.url));
    let config = std::fs::read_to_string(&config_path).expect("config written");
    let config =
        config.replace(&common::repo().join("playbooks").display().to_string(), &playbooks.display().to_string());
    std::fs::write(&config_path, config).expect("config written");
    let run_at = |now: &str| {
        common::huntbook()
            .arg("run")
            .arg("-c")
            .arg(&config_path)
            .env("GRAPH_RUN_SECRET", SECRET)
            .env("HUNTBOOK_NOW", now)
            .output()
            .expect("huntbook runs")
    };
    // Monday 08:00 in Amsterdam is 07:00 UTC.
    let failed = run_at("2026-12-07T07:00:05Z");
    assert_eq!(failed.status.code(), Some(1), "{}{}", common::stdout(&failed), common::stderr(&failed));
    assert!(common::stderr(&failed).contains("403"), "{}", common::stderr(&failed));

    let too_soon = run_at("2026-12-07T07:00:20Z");
    assert!(
        common::stdout(&too_soon)
            .contains("the next is isolation-release-review, again after its failed run, at 2026-12-07 07:01:05"),
        "{}",
        common::stdout(&too_soon)
    );

    let healthy = run_at("2026-12-07T07:02:00Z");
    assert_eq!(healthy.status.code(), Some(0), "{}{}", common::stdout(&healthy), common::stderr(&healthy));
    assert!(common::stdout(&healthy).contains("delivered 1 message"), "{}", common::stdout(&healthy));
    let digests = delivered(dir.path());
    assert_eq!(digests.len(), 1);
    assert!(digests[0].starts_with("soc-digest "), "{}", digests[0]);

    let after = run_at("2026-12-07T07:10:00Z");
    assert!(
        common::stdout(&after).contains("the next is isolation-release-review at 2026-12-14 07:00:00 UTC"),
        "the slot is used up by the successful run: {}",
        common::stdout(&after)
    );
}

/// The local engine is an aid, never a gate: with a Graph source, a playbook over a table the engine has no
/// schema for, or using an operator or a function it does not implement, validates with a warning and runs in
/// Graph — here the emulator, which answers what it cannot run with a 400 in Graph's envelope, and the run
/// reports that as it would Graph's answer. A query Kusto would refuse for certain is still an error.
#[test]
fn a_query_beyond_the_local_engine_is_run_in_graph_not_left_out() {
    let emulator = Emulator::start(&["--client-secret", SECRET]);
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    common::copy_playbooks(&playbooks, &["offboarding-package-download"]);
    // With `key`, `per` and `when` over the columns the engine cannot know: they are checked in Graph's answer.
    let beyond = [
        ("unknown-table", "SecurityEvent | where EventID == 4624 | project TimeGenerated, Account", "Account"),
        ("unsupported-operator", "DeviceProcessEvents | evaluate autocluster()", "SegmentId"),
        (
            "unsupported-function",
            "DeviceProcessEvents | extend Parts = some_future_function(ProcessCommandLine)",
            "Parts",
        ),
    ];
    for (id, query, column) in beyond {
        std::fs::write(
            playbooks.join(format!("{id}.yaml")),
            format!(
                "id: {id}\ntitle: {id}\nseverity: low\nschedule: {{ every: 1h }}\nquery: |\n  {query}\n\
                 key: [{column}]\nnotify:\n  - to: [soc-mail]\n    per: [{column}]\n    when: isnotempty({column})\ntests:\n  - name: a fixture\n    data: tests/offboarding-package-download.jsonl\n    \
                 now: 2026-11-20T12:00:00Z\n    expect: {{ hits: 0 }}\n"
            ),
        )
        .expect("write a playbook");
    }
    let config_path = write_config(dir.path(), &graph_source(&emulator.url));
    let config = std::fs::read_to_string(&config_path).expect("config written");
    let config =
        config.replace(&common::repo().join("playbooks").display().to_string(), &playbooks.display().to_string());
    std::fs::write(&config_path, config).expect("config written");
    let huntbook = |args: &[&str]| {
        common::huntbook()
            .args(args)
            .arg("-c")
            .arg(&config_path)
            .env("GRAPH_RUN_SECRET", SECRET)
            .output()
            .expect("runs")
    };

    let validated = huntbook(&["validate"]);
    assert_eq!(validated.status.code(), Some(0), "{}{}", common::stdout(&validated), common::stderr(&validated));
    let warnings = common::stderr(&validated);
    for (id, _, _) in beyond {
        assert!(warnings.contains(&format!("playbooks/{id}.yaml")), "{id}: {warnings}");
    }
    assert_eq!(warnings.matches("warning: runs in Graph; cannot run locally").count(), 3, "{warnings}");
    assert!(
        common::stdout(&validated).contains("ok: 4 playbooks")
            && common::stdout(&validated).contains("3 run in Graph only")
    );

    let tested = huntbook(&["test"]);
    let said = common::stdout(&tested);
    assert_eq!(tested.status.code(), Some(0), "{said}{}", common::stderr(&tested));
    assert_eq!(said.matches("cannot run locally:").count(), 3, "{said}");
    assert!(said.contains("1 passed, 0 failed, 3 cannot run locally"), "{said}");

    let ran = huntbook(&["run", "--all", "--since", "2026-10-21T00:00:00Z", "--until", "2026-11-21T00:00:00Z"]);
    let (out, err) = (common::stdout(&ran), common::stderr(&ran));
    assert!(out.lines().any(|l| l.starts_with("offboarding-package-download") && l.contains("messages   1")), "{out}");
    for (id, _, _) in beyond {
        assert!(
            out.lines().any(|l| l.starts_with(id) && l.contains("failed")),
            "{id} ran (and Graph refused it): {out}"
        );
    }
    // The emulated tenant has only its data: a table it lacks is Kusto's error there, as in a Defender tenant
    // without Sentinel; an operator or a function the engine lacks is the emulator's limit, not the query's.
    assert!(
        err.contains("Graph rejected the query: Failed to resolve table or column expression named 'SecurityEvent'"),
        "{err}"
    );
    assert_eq!(err.matches("Graph rejected the query: not supported locally").count(), 2, "{err}");
    assert_eq!(emulator.statuses("/runHuntingQuery").len(), 4, "every playbook was sent to Graph");

    // What Kusto refuses for certain still keeps a playbook out.
    std::fs::write(
        playbooks.join("typo.yaml"),
        "id: typo\ntitle: typo\nseverity: low\nschedule: { every: 1h }\nquery: DeviceProcessEvents | where FileNme == 'a'\nnotify:\n  - to: [soc-mail]\n",
    )
    .expect("write a playbook");
    let refused = huntbook(&["validate"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        common::stderr(&refused)
            .contains("error: 'where' operator: Failed to resolve scalar expression named 'FileNme'")
    );
}

/// `evaluate bag_unpack` makes its columns from the data: a playbook keying and filtering on one of them
/// validates (the names are checked when the query runs, against the data it runs on) and its tests pass
/// locally, with the unpacked values in the hits.
#[test]
fn a_playbook_over_unpacked_columns_validates_and_runs_locally() {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(playbooks.join("tests")).expect("playbooks dir");
    std::fs::copy(
        common::repo().join("playbooks/tests/offboarding-package-download.jsonl"),
        playbooks.join("tests/offboarding.jsonl"),
    )
    .expect("fixture copied");
    std::fs::write(
        playbooks.join("unpacked.yaml"),
        "id: unpacked\ntitle: unpacked\nseverity: low\nschedule: { every: 1d }\nquery: |\n  \
         CloudAppEvents\n  | where ActionType == 'DownloadOffboardingPkg'\n  \
         | evaluate bag_unpack(RawEventData, 'Raw_')\n  | where Raw_OsFamily == 'WindowsServer'\n\
         key: [Raw_UserId]\nnotify:\n  - to: [soc-mail]\n    when: Raw_UserId endswith '@contoso.example'\ntests:\n  \
         - name: the server packages\n    data: { CloudAppEvents: tests/offboarding.jsonl }\n    \
         now: 2026-11-20T12:00:00Z\n    expect:\n      hits: 1\n      messages: { soc-mail: 1 }\n      rows:\n        \
         - { Raw_UserId: johanna.andersen@contoso.example, Raw_OsFamily: WindowsServer }\n",
    )
    .expect("write a playbook");
    let source = format!("source: {{ kind: local, data: {} }}", common::sample_data().display());
    let config_path = write_config(dir.path(), &source);
    let config = std::fs::read_to_string(&config_path).expect("config written");
    let config =
        config.replace(&common::repo().join("playbooks").display().to_string(), &playbooks.display().to_string());
    std::fs::write(&config_path, config).expect("config written");
    let huntbook = |args: &[&str]| common::huntbook().args(args).arg("-c").arg(&config_path).output().expect("runs");

    let validated = huntbook(&["validate"]);
    assert_eq!(validated.status.code(), Some(0), "{}{}", common::stdout(&validated), common::stderr(&validated));
    let tested = huntbook(&["test"]);
    assert_eq!(tested.status.code(), Some(0), "{}{}", common::stdout(&tested), common::stderr(&tested));
    assert!(common::stdout(&tested).contains("1 passed"), "{}", common::stdout(&tested));
}

/// A service account token as the kubelet projects it: a JWT for Entra's token exchange.
fn service_account_token(subject: &str, expires: i64) -> String {
    let claims = serde_json::json!({
        "aud": ["api://AzureADTokenExchange"],
        "iss": "https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/",
        "sub": subject,
        "exp": expires,
        "iat": expires - 3600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"the cluster's key, which the emulator does not check"),
    )
    .expect("a JWT")
}

#[test]
fn workload_identity_signs_in_with_the_projected_service_account_token_as_aks_sets_it_up() {
    let subject = "system:serviceaccount:soc:huntbook";
    let client_id = "22222222-2222-2222-2222-222222222222";
    let emulator = Emulator::start(&["--federated-subject", subject, "--client-id", client_id]);
    let dir = tempfile::tempdir().expect("temp dir");
    // No login_url: the authority comes from AZURE_AUTHORITY_HOST, the client from AZURE_CLIENT_ID.
    let config = write_config(
        dir.path(),
        "source: graph\ntenants:\n  contoso:\n    tenant_id: contoso.onmicrosoft.com\n    graph_url: GRAPH\n    \
         auth: { workload_identity: {} }"
            .replace("GRAPH", &emulator.url)
            .as_str(),
    );
    let token_file = dir.path().join("azure-identity-token");
    let later = chrono::Utc::now().timestamp() + 3600;
    let run = |token: &str| {
        std::fs::write(&token_file, token).expect("the projected token");
        common::huntbook()
            .args(["run", "offboarding-package-download", "-c"])
            .arg(&config)
            .args(&WINDOW[1..])
            .env("AZURE_CLIENT_ID", client_id)
            .env("AZURE_TENANT_ID", "contoso.onmicrosoft.com")
            .env("AZURE_FEDERATED_TOKEN_FILE", &token_file)
            .env("AZURE_AUTHORITY_HOST", format!("{}/", emulator.url))
            .output()
            .expect("huntbook runs")
    };
    let signed_in = run(&service_account_token(subject, later));
    assert!(signed_in.status.success(), "{}", common::stderr(&signed_in));
    assert!(common::stdout(&signed_in).contains("messages   1"), "{}", common::stdout(&signed_in));
    assert_eq!(emulator.statuses("/oauth2/v2.0/token"), [200]);

    // Another service account's token is refused, with Entra's reason; the token itself is never shown.
    let other = service_account_token("system:serviceaccount:default:intruder", later);
    let refused = run(&other);
    assert_eq!(refused.status.code(), Some(1));
    let said = common::stderr(&refused);
    assert!(said.contains("No matching federated identity record") && said.contains("intruder"), "{said}");
    assert!(!said.contains(&other));
    // Outside a federated pod, the daemon says what is missing.
    let outside = common::huntbook()
        .args(["run", "--all", "-c"])
        .arg(&config)
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("AZURE_CLIENT_ID")
        .output()
        .expect("huntbook runs");
    assert!(
        common::stderr(&outside).contains("workload identity needs AZURE_CLIENT_ID"),
        "{}",
        common::stderr(&outside)
    );
}

/// On a terminal, a retry says what it waits for (it used to be a silent pause of up to half a minute); piped,
/// nothing is added to what a cron job mails.
#[test]
fn on_a_terminal_a_retry_says_what_it_waits_for() {
    let throttled_once = || {
        let emulator = Emulator::start(&["--client-secret", SECRET, "--fail", "429*1", "--retry-after", "0"]);
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_config(dir.path(), &graph_source(&emulator.url));
        (emulator, dir, config)
    };
    let (emulator, _dir, config) = throttled_once();
    let binary = env!("CARGO_BIN_EXE_huntbook");
    let command = format!("{binary} query -c {} --tenant contoso 'CloudAppEvents | take 1'", config.display());
    // `script` runs the command with a pseudo-terminal as its stdout and stderr.
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("GRAPH_RUN_SECRET", SECRET)
        .env_remove("HUNTBOOK_CONFIG")
        .output()
        .expect("script runs");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert!(shown.contains("waiting 0 s before asking again (tenant contoso): throttled (Graph, try 1 of "), "{shown}");
    assert!(emulator.statuses("/runHuntingQuery").contains(&429));

    let (emulator, _dir, config) = throttled_once();
    let piped = common::huntbook()
        .args(["query", "-c"])
        .arg(&config)
        .args(["--tenant", "contoso", "CloudAppEvents | take 1"])
        .env("GRAPH_RUN_SECRET", SECRET)
        .output()
        .expect("huntbook runs");
    assert_eq!(piped.status.code(), Some(0), "{}", common::stderr(&piped));
    assert!(emulator.statuses("/runHuntingQuery").contains(&429), "throttled here too");
    assert!(!common::stderr(&piped).contains("waiting"), "{}", common::stderr(&piped));

    // With -v the log has every wait, piped too (as cron and systemd read it), in text and in JSON.
    for format in ["text", "json"] {
        let (emulator, _dir, config) = throttled_once();
        let logged = common::huntbook()
            .args(["-v", "--log-format", format, "query", "-c"])
            .arg(&config)
            .args(["--tenant", "contoso", "CloudAppEvents | take 1"])
            .env("GRAPH_RUN_SECRET", SECRET)
            .output()
            .expect("huntbook runs");
        assert_eq!(logged.status.code(), Some(0), "{}", common::stderr(&logged));
        assert!(emulator.statuses("/runHuntingQuery").contains(&429));
        let said = common::stderr(&logged);
        assert_eq!(said.matches("waiting before asking Graph again").count(), 1, "{format}: {said}");
        assert!(said.contains("throttled (Graph, try 1 of ") && said.contains("contoso"), "{format}: {said}");
    }
}
