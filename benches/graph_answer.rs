//! The Graph answer path: a 100,000-row `CloudAppEvents` result (~50 MB) fetched from `huntbook emulate` and
//! turned into hits, against a plain `serde_json::from_slice` of the same body to a `serde_json::Value`, in
//! the same process. Run by `bench/graph`, which starts the emulator; or `cargo bench --bench graph_answer --
//! --url http://127.0.0.1:PORT` against one already running.
//!
//! Time is the median of the runs, both parsers in this process. Memory is measured in a fresh process per
//! parser (this binary again, with `--measure`), because freed memory stays resident: the peak resident size
//! (VmHWM) while the body is read and parsed, over the resident size before, as a multiple of the body.

use std::sync::Arc;
use std::time::{Duration, Instant};

use huntbook::config::secret::Secret;
use huntbook::config::tenant::{Cloud, TenantAuth, TenantConfig};
use huntbook::graph::hunting::parse_answer;
use huntbook::graph::timer::SystemTimer;
use huntbook::graph::{Environment, GraphClient, RetryPolicy, http_client};

/// Columns of `CloudAppEvents` that bring 100,000 rows near Graph's 50 MB.
const QUERY: &str = "CloudAppEvents | take 100000 | project Timestamp, ActionType, Application, AccountObjectId, \
                     AccountDisplayName, IPAddress, CountryCode, ISP, UserAgent, ObjectName, ReportId, \
                     IsAdminOperation, AdditionalFields";

fn kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `step` and returns its time.
fn measure<T>(step: impl FnOnce() -> T) -> (Duration, T) {
    let started = Instant::now();
    let output = step();
    (started.elapsed(), output)
}

/// In a fresh process: reads the body from `path`, parses it with `parser`, prints the peak bytes over the
/// resident size before the body was read.
fn measure_memory(parser: &str, path: &str) -> Result<(), String> {
    let before = kib("VmRSS:").unwrap_or(0);
    let body = std::fs::read(path).map_err(|e| e.to_string())?;
    match parser {
        "plain" => drop(serde_json::from_slice::<serde_json::Value>(&body).map_err(|e| e.to_string())?),
        _ => drop(parse_answer(&body)?),
    }
    println!("{}", kib("VmHWM:").unwrap_or(0).saturating_sub(before) * 1024);
    Ok(())
}

/// The peak of a parser, from a fresh process.
fn peak_of(parser: &str, path: &std::path::Path) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = std::process::Command::new(exe)
        .args(["--measure", parser, "--body"])
        .arg(path)
        .output()
        .map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| format!("measuring {parser} failed: {}", String::from_utf8_lossy(&output.stderr)))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    if let (Some(parser), Some(path)) = (flag("--measure"), flag("--body")) {
        return measure_memory(&parser, &path);
    }
    let Some(url) = flag("--url").or_else(|| std::env::var("HUNTBOOK_EMULATOR").ok()) else {
        eprintln!("graph_answer: no emulator (use bench/graph, or --url URL); skipped");
        return Ok(());
    };
    let runs: usize = flag("--runs").and_then(|r| r.parse().ok()).unwrap_or(5);
    let base = url::Url::parse(&url).map_err(|e| e.to_string())?;
    let tenant = TenantConfig {
        tenant_id: "contoso.onmicrosoft.com".into(),
        cloud: Cloud::Global,
        login_url: Some(base.clone()),
        graph_url: Some(base.clone()),
        mde_url: None,
        auth: TenantAuth::ClientSecret {
            client_id: "11111111-1111-1111-1111-111111111111".into(),
            secret: Secret::new("bench"),
        },
        hunting_calls_per_minute: 1000,
        concurrent_queries: 1,
    };
    let environment = Environment {
        http: http_client()?,
        timer: Arc::new(SystemTimer),
        policy: RetryPolicy::default(),
        var: Box::new(|_| None),
        waits: None,
        redactor: Default::default(),
    };
    let client = GraphClient::new("bench", &tenant, &environment)?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;

    // The body as it comes off the wire, once, for both parsers.
    let body = runtime.block_on(async {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", "bench"),
            ("client_secret", "bench"),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let token = environment
            .http
            .post(base.join("contoso/oauth2/v2.0/token").map_err(|e| e.to_string())?)
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let token: serde_json::Value = serde_json::from_slice(&token).map_err(|e| e.to_string())?;
        let token = token["access_token"].as_str().unwrap_or_default().to_string();
        environment
            .http
            .post(base.join("v1.0/security/runHuntingQuery").map_err(|e| e.to_string())?)
            .bearer_auth(token)
            .header("Content-Type", "application/json; charset=utf-8")
            .body(serde_json::json!({ "Query": QUERY }).to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())
    })?;
    let size = body.len() as f64;

    let (mut plain_times, mut ours_times, mut fetch_times) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0;
    for _ in 0..runs {
        let (time, value) = measure(|| serde_json::from_slice::<serde_json::Value>(&body));
        drop(value.map_err(|e| e.to_string())?);
        plain_times.push(time.as_secs_f64());
        let (time, answer) = measure(|| parse_answer(&body));
        rows = answer?.table.rows.len();
        ours_times.push(time.as_secs_f64());
        let (time, fetched) = measure(|| runtime.block_on(client.run_hunting_query(QUERY, None)));
        fetched.map_err(|e| e.to_string())?;
        fetch_times.push(time.as_secs_f64());
    }
    let file = std::env::temp_dir().join(format!("huntbook-graph-answer-{}.json", std::process::id()));
    std::fs::write(&file, &body).map_err(|e| e.to_string())?;
    let (plain_mem, ours_mem) = (peak_of("plain", &file), peak_of("ours", &file));
    let _ = std::fs::remove_file(&file);
    let (plain_mem, ours_mem) = (plain_mem?, ours_mem?);
    let (plain, ours) = (median(plain_times), median(ours_times));
    println!("graph answer: {rows} rows, body {:.1} MB, median of {runs} runs", size / 1e6);
    println!(
        "  serde_json::from_slice -> Value  {:>7.3} s   peak {:>6.1} MB with the body ({:.2}x the body)",
        plain,
        plain_mem / 1e6,
        plain_mem / size
    );
    println!(
        "  huntbook parse_answer -> hits    {:>7.3} s   peak {:>6.1} MB with the body ({:.2}x the body)",
        ours,
        ours_mem / 1e6,
        ours_mem / size
    );
    println!(
        "  ratio (huntbook / plain): time {:.2}x (target <= 1.5x); huntbook's peak {:.2}x the body (target <= 2x)",
        ours / plain,
        ours_mem / size
    );
    println!(
        "  whole step through the client (HTTP, emulator's query and serialisation, parse): {:.3} s",
        median(fetch_times)
    );
    Ok(())
}
