//! No secret reaches what huntbook prints or keeps — also when a server says it back. Each sink delivers to a
//! real server on loopback that answers with an error page echoing the request (a Teams webhook's URL with its
//! `sig`, an SMTP server repeating the credentials, a Graph that repeats the bearer token), through the real
//! binary; then every output, `outbox list`, `outbox show`, `runs` and the state file's bytes are searched.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use common::emulator::Emulator;
use common::smtp::{Options, SmtpServer, USER, certificates};
use common::webhook::{Answer, Echo, Webhook};
use common::{copy_playbooks, huntbook, sample_data, stderr, stdout};

/// A workspace over the sample data (`source` a YAML `source:` line, or `None` for the local files) with the
/// given shipped playbooks and more configuration (`extra`: receivers and what they need).
fn workspace(source: Option<&str>, playbooks: &[&str], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_playbooks(&dir.path().join("playbooks"), playbooks);
    let local = format!("source: {{ kind: local, data: '{}', rebase_time: true }}", sample_data().display());
    std::fs::write(
        dir.path().join("huntbook.yaml"),
        format!(
            "state: huntbook.db\nplaybooks: playbooks\n{}\nfirst_lookback: 30d\ndelivery: {{ wait: 10s }}\n{extra}",
            source.unwrap_or(&local)
        ),
    )
    .expect("write the configuration");
    dir
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = huntbook();
    command.current_dir(dir).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("huntbook runs")
}

/// Everything a person or a process could read afterwards: the run's output, `outbox list`, `outbox show` of
/// every message, `runs`, and the bytes of the state file and its WAL.
fn everything_shown(dir: &Path, first: &Output, env: &[(&str, &str)]) -> String {
    let mut all = format!("{}{}", stdout(first), stderr(first));
    let listed = run(dir, &["outbox", "list", "--all"], env);
    all.push_str(&stdout(&listed));
    all.push_str(&stderr(&listed));
    for line in stdout(&listed).lines().skip(1) {
        if let Some(id) = line.split_whitespace().next() {
            let shown = run(dir, &["outbox", "show", id], env);
            all.push_str(&stdout(&shown));
            all.push_str(&stderr(&shown));
        }
    }
    let runs = run(dir, &["runs"], env);
    all.push_str(&stdout(&runs));
    for file in ["huntbook.db", "huntbook.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(file)) {
            all.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    all
}

fn assert_absent(all: &str, secrets: &[&str]) {
    for secret in secrets {
        let lower = all.to_lowercase();
        assert!(!lower.contains(&secret.to_lowercase()), "`{secret}` leaked");
    }
}

#[test]
fn a_webhook_echoing_its_url_leaks_no_signature() {
    let webhook = Webhook::start(vec![
        Answer::echo(400, Echo::Raw),
        Answer::echo(400, Echo::Percent),
        Answer::echo(400, Echo::Json),
        Answer::echo(500, Echo::Raw),
    ]);
    let dir = workspace(
        None,
        &["manual-device-isolation"],
        "receivers:\n  soc-teams: { teams: { webhook: '${env:HB_WEBHOOK}', per_second: 4 } }\n",
    );
    let env = [("HB_WEBHOOK", webhook.url.as_str())];
    let first = run(dir.path(), &["run", "--all"], &env);
    let posted = webhook.posted();
    assert!(posted.len() >= 4, "the server answered with its echoes: {}", stderr(&first));
    let all = everything_shown(dir.path(), &first, &env);
    assert!(all.contains("[redacted]"), "the echoes are kept, redacted: {}", stderr(&first));
    assert!(all.contains("answered 400 Bad Request"), "{}", stderr(&first));
    let url = url::Url::parse(&webhook.url).expect("url");
    let encoded = percent_encoding::utf8_percent_encode(url.path(), percent_encoding::NON_ALPHANUMERIC).to_string();
    assert_absent(&all, &["TOPSECRETsig", url.path(), &encoded, "workflows\\/WfPath", "WfPathSecret777"]);
}

#[test]
fn an_smtp_server_repeating_the_credentials_leaks_no_password() {
    const WRONG: &str = "Wr0ng-Passw0rd!x";
    let certs = Arc::new(certificates());
    let server =
        SmtpServer::start(Options { tls: Some(Arc::clone(&certs)), echo_credentials: true, ..Options::default() });
    let dir = workspace(
        None,
        &["offboarding-package-download"],
        &format!(
            "smtp: {{ host: 127.0.0.1, port: {}, username: {USER}, password: '${{env:HB_SMTP}}', ca_file: '{}' }}\n\
             receivers:\n  soc-mail: {{ email: {{ to: [soc@contoso.example], from: huntbook@contoso.example }} }}\n",
            server.port,
            certs.ca.display()
        ),
    );
    let env = [("HB_SMTP", WRONG)];
    let first = run(dir.path(), &["run", "--all"], &env);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(!server.logins().is_empty(), "the client tried to sign in");
    let all = everything_shown(dir.path(), &first, &env);
    assert!(all.contains("535") && all.contains("[redacted]"), "{}", stderr(&first));
    use base64::Engine;
    let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0{USER}\0{WRONG}"));
    assert_absent(&all, &[WRONG, &plain]);
}

#[test]
fn a_graph_echoing_the_bearer_token_leaks_no_token() {
    const SECRET: &str = "an-entra-client-secret";
    // Sign-in at the emulator; sendMail and hunting at a server that repeats the request, token included.
    let emulator = Emulator::start(&["--client-secret", SECRET]);
    let echo = Webhook::start((0..40).map(|_| Answer::echo(400, Echo::Json)).collect());
    let root = echo.url.split("/workflows").next().expect("the server's root").to_string();
    let tenant = format!(
        "tenants:\n  contoso:\n    tenant_id: contoso.onmicrosoft.com\n    login_url: {login}\n    graph_url: {root}\n    \
         auth:\n      client_id: 11111111-1111-1111-1111-111111111111\n      client_secret: ${{env:HB_SECRET}}\n",
        login = emulator.url
    );
    let env = [("HB_SECRET", SECRET)];
    // The query runs on local files, and the e-mail goes through Graph sendMail.
    let mail = workspace(
        None,
        &["offboarding-package-download"],
        &format!(
            "{tenant}receivers:\n  soc-mail: {{ email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: graph, tenant: contoso }} }}\n"
        ),
    );
    let mailed = run(mail.path(), &["run", "--all"], &env);
    assert_eq!(mailed.status.code(), Some(1), "{}", stderr(&mailed));
    // The query goes to Graph.
    let hunt = workspace(
        Some("source: graph"),
        &["offboarding-package-download"],
        &format!("{tenant}receivers:\n  soc-mail: {{ file: {{ dir: outbox }} }}\n"),
    );
    let hunted = run(hunt.path(), &["run", "--all"], &env);
    assert_eq!(hunted.status.code(), Some(1), "{}", stderr(&hunted));

    // And the sign-in, at a server that repeats the client secret it was sent.
    let login = Webhook::start(vec![Answer::echo(400, Echo::Entra)]);
    let login_root = login.url.split("/workflows").next().expect("the server's root").to_string();
    let signing = workspace(
        Some("source: graph"),
        &["offboarding-package-download"],
        &format!(
            "{}receivers:\n  soc-mail: {{ file: {{ dir: outbox }} }}\n",
            tenant.replace(&emulator.url, &login_root)
        ),
    );
    let signed = run(signing.path(), &["run", "--all"], &env);
    assert_eq!(signed.status.code(), Some(1), "{}", stderr(&signed));
    let form = String::from_utf8_lossy(&login.posted()[0].body).into_owned();
    assert!(form.contains(&format!("client_secret={SECRET}")), "{form}");
    let all = everything_shown(signing.path(), &signed, &env);
    assert!(all.contains("AADSTS7000215") && all.contains("[redacted]"), "{}", stderr(&signed));
    assert_absent(&all, &[SECRET]);

    let tokens: Vec<String> =
        echo.posted().iter().map(|request| request.authorization.trim_start_matches("Bearer ").to_string()).collect();
    assert!(tokens.len() >= 2 && tokens.iter().all(|t| t.len() > 10), "both were sent with a token: {tokens:?}");
    let paths: Vec<String> = echo.posted().iter().map(|request| request.path_and_query.clone()).collect();
    assert!(paths.iter().any(|p| p.ends_with("/sendMail")) && paths.iter().any(|p| p.ends_with("/runHuntingQuery")));
    for (dir, output) in [(&mail, &mailed), (&hunt, &hunted)] {
        let all = everything_shown(dir.path(), output, &env);
        assert!(all.contains("no flow for") && all.contains("[redacted]"), "{}", stderr(output));
        let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
        secrets.push(SECRET);
        assert_absent(&all, &secrets);
    }
}

/// The ways a secret may be written that must not be found anywhere: as it is, JSON-escaped (with and without
/// `ensure_ascii`), percent-encoded, and twelve characters of its base64 at any alignment, standard or URL-safe.
fn written_forms(secret: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let json = serde_json::to_string(secret).expect("a string").trim_matches('"').to_string();
    let ascii: String =
        json.chars().map(|c| if c.is_ascii() { c.to_string() } else { format!("\\u{:04x}", u32::from(c)) }).collect();
    let mut forms = vec![
        secret.to_string(),
        json,
        ascii,
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC).to_string(),
    ];
    for offset in 0..3 {
        let mut bytes = vec![b'.'; offset];
        bytes.extend_from_slice(secret.as_bytes());
        let (first, last) = ((8 * offset).div_ceil(6), 8 * (offset + secret.len()) / 6);
        for engine in [STANDARD, URL_SAFE] {
            let core: Vec<char> = engine.encode(&bytes).chars().skip(first).take(last - first).collect();
            forms.extend(core.windows(12).map(|window| window.iter().collect::<String>()));
        }
    }
    forms
}

fn assert_no_form_of(all: &str, secret: &str) {
    let forms = written_forms(secret);
    assert_absent(all, &forms.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn an_answer_is_redacted_before_it_is_cut_short() {
    // The cut (a few hundred characters) falls inside the percent-encoded URL the webhook repeats.
    let webhook = Webhook::start([265, 280, 320, 340].map(|padding| Answer::echo(400, Echo::Padded(padding))).to_vec());
    let dir = workspace(
        None,
        &["manual-device-isolation"],
        "receivers:\n  soc-teams: { teams: { webhook: '${env:HB_WEBHOOK}', per_second: 4 } }\n",
    );
    let env = [("HB_WEBHOOK", webhook.url.as_str())];
    let first = run(dir.path(), &["run", "--all"], &env);
    assert!(webhook.posted().iter().filter(|p| p.status == 400).count() >= 4, "{}", stderr(&first));
    let all = everything_shown(dir.path(), &first, &env);
    assert!(all.contains("answered 400 Bad Request") && all.contains("[redacted]"), "{}", stderr(&first));
    assert_absent(&all, &["WfPath", "%2Fworkflows", "workflows%2F", "/workflows/", "TOPSECRET"]);
}

#[test]
fn a_sign_in_answer_repeating_the_secret_escaped_or_in_base64_leaks_nothing() {
    // A client secret with what JSON escapes (a quote, a backslash) and what ensure_ascii escapes (é).
    const SECRET: &str = "Qx7\"p\\é/a~Z9-client.secret";
    for echo in [Echo::EntraJsonDump, Echo::EntraBase64] {
        let login = Webhook::start(vec![Answer::echo(401, echo)]);
        let root = login.url.split("/workflows").next().expect("the server's root").to_string();
        let dir = workspace(
            Some("source: graph"),
            &["offboarding-package-download"],
            &format!(
                "tenants:\n  contoso:\n    tenant_id: contoso.onmicrosoft.com\n    login_url: {root}\n    \
                 graph_url: {root}\n    auth:\n      client_id: 11111111-1111-1111-1111-111111111111\n      \
                 client_secret: ${{env:HB_SECRET}}\nreceivers:\n  soc-mail: {{ file: {{ dir: outbox }} }}\n"
            ),
        );
        let env = [("HB_SECRET", SECRET)];
        let text = run(dir.path(), &["run", "--all", "-vv"], &env);
        assert_eq!(text.status.code(), Some(1), "{echo:?}: {}", stderr(&text));
        let json = run(dir.path(), &["--log-format", "json", "-vv", "run", "--all"], &env);
        assert_eq!(json.status.code(), Some(1), "{echo:?}: {}", stderr(&json));
        let form = String::from_utf8_lossy(&login.posted()[0].body).into_owned();
        assert!(form.contains("client_secret=Qx7%22p%5C%C3%A9"), "the secret was sent: {form}");
        let mut all = everything_shown(dir.path(), &text, &env);
        all.push_str(&stderr(&json));
        all.push_str(&stdout(&json));
        assert!(all.contains("AADSTS7000215") && all.contains("[redacted]"), "{echo:?}: {}", stderr(&text));
        assert_no_form_of(&all, SECRET);
    }
}

#[test]
fn a_graph_repeating_the_bearer_token_in_base64_leaks_no_token() {
    const SECRET: &str = "an-entra-client-secret";
    let emulator = Emulator::start(&["--client-secret", SECRET]);
    let echo = Webhook::start((0..10).map(|_| Answer::echo(400, Echo::Base64)).collect());
    let root = echo.url.split("/workflows").next().expect("the server's root").to_string();
    let dir = workspace(
        Some("source: graph"),
        &["offboarding-package-download"],
        &format!(
            "tenants:\n  contoso:\n    tenant_id: contoso.onmicrosoft.com\n    login_url: {login}\n    \
             graph_url: {root}\n    auth:\n      client_id: 11111111-1111-1111-1111-111111111111\n      \
             client_secret: ${{env:HB_SECRET}}\nreceivers:\n  soc-mail: {{ file: {{ dir: outbox }} }}\n",
            login = emulator.url
        ),
    );
    let env = [("HB_SECRET", SECRET)];
    let hunted = run(dir.path(), &["run", "--all"], &env);
    assert_eq!(hunted.status.code(), Some(1), "{}", stderr(&hunted));
    let all = everything_shown(dir.path(), &hunted, &env);
    assert!(all.contains("no flow for") && all.contains("[redacted]"), "{}", stderr(&hunted));
    let tokens: Vec<String> =
        echo.posted().iter().map(|request| request.authorization.trim_start_matches("Bearer ").to_string()).collect();
    assert!(!tokens.is_empty() && tokens.iter().all(|t| t.len() > 20), "sent with a token: {tokens:?}");
    for token in &tokens {
        assert_no_form_of(&all, token);
    }
}
