//! The real Graph client against `huntbook emulate` (the real binary, on a loopback port): sign-in with a
//! secret and a certificate, tokens that expire, and every failure Graph produces. Time is injected: every
//! wait the client makes is recorded by a virtual clock instead of slept.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::emulator::Emulator;
use huntbook::config::secret::Secret;
use huntbook::config::tenant::{Cloud, TenantAuth, TenantConfig};
use huntbook::graph::timer::VirtualTimer;
use huntbook::graph::{Environment, GraphClient, GraphError, RetryPolicy, http_client};
use huntbook::kql::value::Value;

const CLIENT_ID: &str = "11111111-1111-1111-1111-111111111111";
const SECRET: &str = "emulator-secret";
const WINDOW_QUERY: &str = "CloudAppEvents | where ActionType == 'SetAdvancedFeatures' | count";

/// The virtual clock starts at the real time: the emulator checks client assertions' `exp` on its own clock,
/// as Entra does.
fn start_time() -> DateTime<Utc> {
    Utc::now()
}

fn tenant(emulator: &Emulator, auth: TenantAuth, calls_per_minute: u32) -> TenantConfig {
    let url = url::Url::parse(&emulator.url).expect("the emulator's URL");
    TenantConfig {
        tenant_id: "contoso.onmicrosoft.com".into(),
        cloud: Cloud::Global,
        login_url: Some(url.clone()),
        graph_url: Some(url),
        mde_url: None,
        auth,
        hunting_calls_per_minute: calls_per_minute,
        concurrent_queries: 2,
    }
}

fn secret_auth(secret: &str) -> TenantAuth {
    TenantAuth::ClientSecret { client_id: CLIENT_ID.into(), secret: Secret::new(secret) }
}

struct Setup {
    client: GraphClient,
    timer: Arc<VirtualTimer>,
    runtime: tokio::runtime::Runtime,
}

fn client_with(emulator: &Emulator, auth: TenantAuth, policy: RetryPolicy, per_minute: u32) -> Result<Setup, String> {
    let timer = Arc::new(VirtualTimer::new(start_time()));
    let environment = Environment {
        http: http_client()?,
        timer: timer.clone(),
        policy,
        var: Box::new(|_| None),
        waits: None,
        redactor: Default::default(),
    };
    let client = GraphClient::new("contoso", &tenant(emulator, auth, per_minute), &environment)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    Ok(Setup { client, timer, runtime })
}

fn client(emulator: &Emulator) -> Setup {
    client_with(emulator, secret_auth(SECRET), RetryPolicy::default(), 40).expect("a client")
}

impl Setup {
    fn run(&self, query: &str) -> Result<huntbook::graph::hunting::HuntingAnswer, GraphError> {
        self.runtime.block_on(self.client.run_hunting_query(query, None))
    }
}

fn secret_emulator(flags: &[&str]) -> Emulator {
    let mut all = vec!["--client-id", CLIENT_ID, "--client-secret", SECRET, "--now", "2026-11-20T12:00:00Z"];
    all.extend_from_slice(flags);
    Emulator::start(&all)
}

fn count_of(answer: &huntbook::graph::hunting::HuntingAnswer) -> i64 {
    match answer.table.rows.first().and_then(|row| row.first()) {
        Some(Value::Long(n)) => *n,
        other => panic!("expected a count, found {other:?}"),
    }
}

#[test]
fn a_client_secret_signs_in_and_a_wrong_one_is_refused_with_entras_message() {
    let emulator = secret_emulator(&[]);
    let setup = client(&emulator);
    let answer = setup.run(WINDOW_QUERY).expect("the query runs");
    assert!(count_of(&answer) > 0, "the sample has advanced-feature changes");
    assert_eq!(emulator.statuses("/oauth2/v2.0/token"), [200]);
    assert_eq!(emulator.statuses("/runHuntingQuery"), [200]);

    let wrong = client_with(&emulator, secret_auth("not-the-secret"), RetryPolicy::default(), 40).expect("a client");
    let error = wrong.run(WINDOW_QUERY).expect_err("a wrong secret cannot sign in");
    let text = error.to_string();
    assert!(matches!(error, GraphError::SignIn(_)), "{error:?}");
    assert!(text.contains("AADSTS7000215") && text.contains("invalid_client"), "{text}");
    assert!(!text.contains("not-the-secret"), "the secret leaked into the error: {text}");
    // Refused once, not retried, and no hunting call made without a token.
    assert_eq!(emulator.statuses("/oauth2/v2.0/token"), [200, 401]);
    assert_eq!(emulator.statuses("/runHuntingQuery"), [200]);
}

/// A self-signed certificate and its RSA key in one PEM file, and the certificate alone.
fn certificate(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("an RSA key");
    let params = rcgen::CertificateParams::new(vec!["huntbook".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("a certificate");
    let both = dir.join(format!("{name}.pem"));
    std::fs::write(&both, format!("{}{}", cert.pem(), key.serialize_pem())).expect("written");
    let public = dir.join(format!("{name}.crt"));
    std::fs::write(&public, cert.pem()).expect("written");
    (both, public)
}

#[test]
fn a_certificate_signs_in_with_a_ps256_assertion_and_another_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (registered, registered_public) = certificate(dir.path(), "registered");
    let (other, _) = certificate(dir.path(), "other");
    let public = registered_public.to_str().expect("utf-8 path");
    let emulator = Emulator::start(&["--client-id", CLIENT_ID, "--certificate", public]);

    let auth = |path: std::path::PathBuf| TenantAuth::Certificate { client_id: CLIENT_ID.into(), path };
    let setup = client_with(&emulator, auth(registered), RetryPolicy::default(), 40).expect("a client");
    setup.run(WINDOW_QUERY).expect("the registered certificate signs in");
    // A second client signs in again: a fresh assertion (new jti) is accepted, a replayed one would not be.
    let again =
        client_with(&emulator, auth(dir.path().join("registered.pem")), RetryPolicy::default(), 40).expect("a client");
    again.run(WINDOW_QUERY).expect("a second assertion signs in");

    let stranger = client_with(&emulator, auth(other), RetryPolicy::default(), 40).expect("a client");
    let error = stranger.run(WINDOW_QUERY).expect_err("an unregistered certificate cannot sign in");
    assert!(error.to_string().contains("AADSTS700027"), "{error}");
    assert_eq!(emulator.statuses("/oauth2/v2.0/token"), [200, 200, 401]);
}

#[test]
fn a_token_is_reused_until_five_minutes_before_it_expires() {
    let emulator = secret_emulator(&["--token-lifetime", "600"]);
    let setup = client(&emulator);
    setup.run(WINDOW_QUERY).expect("first query");
    setup.timer.advance(Duration::from_secs(240));
    setup.run(WINDOW_QUERY).expect("second query, same token");
    assert_eq!(emulator.statuses("/oauth2/v2.0/token").len(), 1);
    // 310 s after sign-in the token has less than five minutes left: the client replaces it mid-run.
    setup.timer.advance(Duration::from_secs(70));
    setup.run(WINDOW_QUERY).expect("third query, new token");
    assert_eq!(emulator.statuses("/oauth2/v2.0/token").len(), 2);
    assert_eq!(emulator.statuses("/runHuntingQuery"), [200, 200, 200]);
}

#[test]
fn a_token_graph_says_has_expired_is_replaced_once_and_the_query_retried() {
    // Each token is good for one hunting call, whatever its expires_in says.
    let emulator = secret_emulator(&["--token-uses", "1"]);
    let setup = client(&emulator);
    setup.run(WINDOW_QUERY).expect("first query");
    setup.run(WINDOW_QUERY).expect("second query, after one 401");
    assert_eq!(emulator.statuses("/runHuntingQuery"), [200, 401, 200]);
    assert_eq!(emulator.statuses("/oauth2/v2.0/token").len(), 2);
    assert!(setup.timer.waits().is_empty(), "a 401 is answered by signing in, not by waiting");
}

#[test]
fn a_401_once_signs_in_again_and_a_401_twice_fails() {
    let emulator = secret_emulator(&["--fail", "401*1"]);
    let setup = client(&emulator);
    setup.run(WINDOW_QUERY).expect("one 401 is survived");
    assert_eq!(emulator.statuses("/runHuntingQuery"), [401, 200]);
    assert_eq!(emulator.statuses("/oauth2/v2.0/token").len(), 2);

    let emulator = secret_emulator(&["--fail", "401*2"]);
    let setup = client(&emulator);
    let error = setup.run(WINDOW_QUERY).expect_err("two 401s in a row fail the query");
    assert!(matches!(error, GraphError::SignIn(_)), "{error:?}");
    assert!(error.to_string().contains("refused a fresh token"), "{error}");
    assert_eq!(emulator.statuses("/runHuntingQuery"), [401, 401]);
}

#[test]
fn a_403_names_the_missing_permission_and_is_not_retried() {
    let emulator = secret_emulator(&["--fail", "403*1"]);
    let setup = client(&emulator);
    let error = setup.run(WINDOW_QUERY).expect_err("403 fails");
    assert!(matches!(error, GraphError::Permission(_)), "{error:?}");
    assert!(error.to_string().contains("ThreatHunting.Read.All"), "{error}");
    assert_eq!(emulator.statuses("/runHuntingQuery"), [403]);
    assert!(setup.timer.waits().is_empty());
}

#[test]
fn a_400_shows_kustos_message_verbatim_and_is_not_retried() {
    let emulator = secret_emulator(&[]);
    let setup = client(&emulator);
    let error = setup.run("CloudAppEvents | summarize count() by Nope").expect_err("a bad query fails");
    assert_eq!(
        error,
        GraphError::Query("'summarize' operator: Failed to resolve scalar expression named 'Nope'".into())
    );
    assert_eq!(emulator.statuses("/runHuntingQuery"), [400]);
    assert!(setup.timer.waits().is_empty());
}

fn throttled_waits(retry_after: Option<&str>) -> (Vec<Duration>, Vec<u64>) {
    let mut flags = vec!["--fail", "429*2"];
    if let Some(value) = retry_after {
        flags.extend(["--retry-after", value]);
    }
    let emulator = secret_emulator(&flags);
    let setup = client(&emulator);
    setup.run(WINDOW_QUERY).expect("the query runs after two 429s");
    (setup.timer.waits(), emulator.statuses("/runHuntingQuery"))
}

#[test]
fn a_429_waits_as_long_as_retry_after_says_in_seconds_fractions_or_a_date() {
    let (waits, statuses) = throttled_waits(Some("3"));
    assert_eq!(waits, [Duration::from_secs(3), Duration::from_secs(3)]);
    assert_eq!(statuses, [429, 429, 200]);
    let (waits, _) = throttled_waits(Some("2.128"));
    assert_eq!(waits, [Duration::from_millis(2128), Duration::from_millis(2128)]);
    // An HTTP date 10 s ahead (to the second): the first wait reaches it, the second finds it passed.
    let date = (Utc::now() + chrono::TimeDelta::seconds(10)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let (waits, _) = throttled_waits(Some(&date));
    assert!(waits[0] > Duration::from_secs(8) && waits[0] <= Duration::from_secs(10), "{waits:?}");
    assert!(waits[1] < Duration::from_secs(1), "{waits:?}");
}

#[test]
fn a_429_without_retry_after_backs_off_exponentially_with_jitter() {
    let (waits, statuses) = throttled_waits(None);
    assert_eq!(statuses, [429, 429, 200]);
    let backoff = RetryPolicy::default().backoff;
    assert!(waits[0] >= backoff / 2 && waits[0] <= backoff, "{waits:?}");
    assert!(waits[1] >= backoff && waits[1] <= backoff * 2, "{waits:?}");
}

#[test]
fn a_503_storm_is_retried_a_bounded_number_of_times_then_fails() {
    let emulator = secret_emulator(&["--fail", "503:1", "--retry-after", "1"]);
    let setup = client(&emulator);
    let error = setup.run(WINDOW_QUERY).expect_err("a storm fails the query");
    let attempts = RetryPolicy::default().attempts;
    assert!(matches!(&error, GraphError::GaveUp { calls, .. } if *calls == attempts), "{error:?}");
    assert!(error.to_string().contains("503 Service Unavailable"), "{error}");
    assert_eq!(emulator.statuses("/runHuntingQuery"), vec![503; attempts as usize]);
    assert_eq!(setup.timer.waits().len(), attempts as usize - 1, "a wait between tries, none after the last");
}

#[test]
fn a_slow_answer_times_out_and_is_retried_within_bounds() {
    let emulator = secret_emulator(&["--latency", "2000"]);
    let policy = RetryPolicy { attempts: 2, timeout: Duration::from_millis(300), ..RetryPolicy::default() };
    let setup = client_with(&emulator, secret_auth(SECRET), policy, 40).expect("a client");
    let error = setup.run(WINDOW_QUERY).expect_err("no answer in time");
    assert!(matches!(&error, GraphError::GaveUp { calls: 2, .. }), "{error:?}");
    assert!(error.to_string().contains("no answer within 0.3 s"), "{error}");
    assert_eq!(setup.client.calls().len(), 2);
}

#[test]
fn a_body_cut_short_is_retried_and_then_fails() {
    let emulator = secret_emulator(&["--truncate-body", "1"]);
    let setup = client(&emulator);
    let error = setup.run(WINDOW_QUERY).expect_err("every answer is cut");
    assert!(error.to_string().contains("cut short"), "{error}");
    assert_eq!(setup.client.calls().len(), RetryPolicy::default().attempts as usize);
}

#[test]
fn a_result_at_the_row_cap_is_reported_truncated() {
    // 110,000 small rows within the emulator's 30 days (the sample generator's full rows took most of the time).
    let dir = tempfile::tempdir().expect("temp dir");
    let rows: String = (0..110_000)
        .map(|i| {
            format!(
                "{{\"Timestamp\":\"2026-11-{:02}T{:02}:{:02}:00Z\",\"ActionType\":\"FileAccessed\",\"ReportId\":\"r{i}\"}}\n",
                1 + i % 19,
                i % 24,
                i % 60
            )
        })
        .collect();
    std::fs::write(dir.path().join("CloudAppEvents.jsonl"), rows).expect("data");
    let emulator = Emulator::start_over(dir.path(), &["--now", "2026-11-20T12:00:00Z"]);
    let setup = client(&emulator);
    let answer = setup.run("CloudAppEvents | project Timestamp, ActionType").expect("the query runs");
    assert_eq!(answer.table.rows.len(), 100_000);
    assert!(answer.truncated);
    let small = setup.run("CloudAppEvents | project Timestamp | take 99999").expect("the query runs");
    assert!(!small.truncated);
}

#[test]
fn twenty_queries_at_once_under_throttling_get_the_right_rows_within_the_call_rate() {
    let emulator = secret_emulator(&["--fail", "429:0.3", "--seed", "7"]);
    let per_minute = 5;
    let setup = client_with(&emulator, secret_auth(SECRET), RetryPolicy::default(), per_minute).expect("a client");
    let actions = ["FileAccessed", "MailItemsAccessed", "Send", "FileUploaded", "SetAdvancedFeatures"];
    let queries: Vec<String> = (0..20)
        .map(|i| match i {
            // One playbook's query is wrong: it must be tried exactly once.
            13 => "CloudAppEvents | where Nope == 1".to_string(),
            _ => format!("CloudAppEvents | where ActionType == '{}' | count", actions[i % actions.len()]),
        })
        .collect();
    let answers = setup.runtime.block_on(async {
        let runs = queries.iter().map(|q| setup.client.run_hunting_query(q, None));
        futures_util::future::join_all(runs).await
    });
    // The right rows: each count equals the local engine's over the same data.
    let expected: BTreeMap<&str, i64> = actions
        .iter()
        .map(|action| {
            let output = common::query(
                &common::sample_data(),
                &["--format", "csv"],
                &format!("CloudAppEvents | where Timestamp > datetime(2026-10-21T12:00:00Z) | where ActionType == '{action}' | count"),
            );
            (*action, common::stdout(&output).lines().nth(1).and_then(|l| l.trim().parse().ok()).expect("a count"))
        })
        .collect();
    for (i, answer) in answers.iter().enumerate() {
        match (i, answer) {
            (13, Err(GraphError::Query(message))) => assert!(message.contains("Nope"), "{message}"),
            (13, other) => panic!("the bad query: {other:?}"),
            (_, Ok(answer)) => assert_eq!(count_of(answer), expected[actions[i % actions.len()]], "query {i}"),
            (_, Err(error)) => panic!("query {i} failed: {error}"),
        }
    }
    // Never more than the rate in any 60 s (on the client's clock, which the waits move).
    let calls = setup.client.calls();
    for (i, at) in calls.iter().enumerate() {
        let in_minute = calls[..=i].iter().filter(|earlier| *at - **earlier < chrono::TimeDelta::seconds(60)).count();
        assert!(in_minute <= per_minute as usize, "call {i}: {in_minute} calls within a minute");
    }
    // Every call the server saw went through the limiter; the bad query was sent once; some were throttled.
    let statuses = emulator.statuses("/runHuntingQuery");
    assert_eq!(statuses.len(), calls.len());
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 1);
    assert!(statuses.contains(&429), "the seed throttles some calls: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 19);
}

#[test]
fn a_managed_identity_gets_its_token_from_identity_endpoint_with_identity_header() {
    let emulator = Emulator::start(&["--identity-header", "rotated-header-value"]);
    let endpoint = format!("{}/msi/token", emulator.url);
    let timer = Arc::new(VirtualTimer::new(start_time()));
    let environment = Environment {
        http: http_client().expect("http"),
        timer,
        policy: RetryPolicy::default(),
        var: Box::new(move |name| match name {
            "IDENTITY_ENDPOINT" => Some(endpoint.clone()),
            "IDENTITY_HEADER" => Some("rotated-header-value".to_string()),
            _ => None,
        }),
        waits: None,
        redactor: Default::default(),
    };
    let auth = TenantAuth::ManagedIdentity { client_id: None };
    let client = GraphClient::new("contoso", &tenant(&emulator, auth, 40), &environment).expect("a client");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(client.run_hunting_query(WINDOW_QUERY, None)).expect("the identity signs in");
    assert_eq!(emulator.statuses("/msi/token"), [200]);
    assert_eq!(emulator.statuses("/runHuntingQuery"), [200]);
}
