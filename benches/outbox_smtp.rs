//! The outbox path against a plain lettre loop: 10,000 queued e-mails delivered to a local SMTP server
//! (mailin-embedded on loopback, in this process) by huntbook's outbox loop — read from the SQLite state file,
//! sent by the SMTP sink, each marked sent in its own transaction — against a loop of lettre `send_raw` calls
//! over one pooled connection to the same server, with the same bytes. Run by `bench/outbox`, or
//! `cargo bench --bench outbox_smtp -- [--messages N] [--runs N]`.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use huntbook::config::secret::Redactor;
use huntbook::config::{SmtpConfig, SmtpTls};
use huntbook::deliver::Sink;
use huntbook::deliver::outbox::{Outbox, RetryPolicy};
use huntbook::deliver::smtp::SmtpSink;
use huntbook::graph::timer::{SystemTimer, Timer};
use huntbook::store::{MessageKind, NewMessage, RunCommit, RunRecord, RunStatus, Store};
use lettre::address::Envelope;
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Tokio1Executor};
use mailin_embedded::{Handler, Response, Server, SslConfig};

#[derive(Clone)]
struct Counter(Arc<AtomicUsize>);

impl Handler for Counter {
    fn data_end(&mut self) -> Response {
        self.0.fetch_add(1, Ordering::Relaxed);
        mailin_embedded::response::OK
    }
}

/// A message like the ones huntbook sends: a few KB of MIME with an HTML table.
fn mime(index: usize) -> Vec<u8> {
    let rows: String = (0..20)
        .map(|row| format!("<tr><td>device-{index}-{row}</td><td>alice@contoso.example</td><td>Full</td></tr>"))
        .collect();
    format!(
        "From: huntbook@contoso.example\r\nTo: soc@contoso.example\r\nSubject: Device isolated by a person ({index})\r\n\
         Message-ID: <bench-{index}@huntbook.local>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <html><body><table>{rows}</table></body></html>\r\n"
    )
    .into_bytes()
}

fn queue(store: &mut Store, count: usize) {
    let now = Utc::now();
    let run = RunRecord {
        archived: 0,
        silenced: 0,
        suppressed: 0,
        backfill: false,
        id: "bench-run".into(),
        playbook: "bench".into(),
        tenant: None,
        started: now,
        finished: now,
        window_start: now - TimeDelta::hours(1),
        window_end: now,
        rows: count as u64,
        new_hits: count as u64,
        messages: count as u64,
        truncated: false,
        status: RunStatus::Succeeded,
        error: None,
    };
    let messages: Vec<NewMessage> = (0..count)
        .map(|index| NewMessage {
            id: format!("m{index:08}"),
            playbook: "bench".into(),
            run_id: run.id.clone(),
            receiver: "soc-mail".into(),
            kind: MessageKind::Email,
            subject: format!("Device isolated by a person ({index})"),
            payload: mime(index),
            created: now,
        })
        .collect();
    store
        .commit_run(&RunCommit {
            archives: &[],
            quiet: &[],
            suppressions: &[],
            profiles: &[],
            run: &run,
            seen_keys: &[],
            messages: &messages,
            watermark: None,
        })
        .expect("queue");
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let count = arg("--messages", 10_000);
    let runs = arg("--runs", 3);
    let received = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut server = Server::new(Counter(Arc::clone(&received)));
    server.with_name("bench.local").with_num_threads(4).with_tcp_listener(listener);
    server.with_ssl(SslConfig::None).expect("no TLS");
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let payloads: Vec<Vec<u8>> = (0..count).map(mime).collect();
    let envelope = Envelope::new(
        Some("huntbook@contoso.example".parse().expect("address")),
        vec!["soc@contoso.example".parse().expect("address")],
    )
    .expect("envelope");

    let (mut plain_times, mut outbox_times) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        // The plain loop: lettre over one pooled connection.
        let before = received.load(Ordering::Relaxed);
        let started = Instant::now();
        runtime.block_on(async {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
                .port(port)
                .pool_config(PoolConfig::new().max_size(1))
                .build();
            for payload in &payloads {
                transport.send_raw(&envelope, payload).await.expect("sent");
            }
        });
        plain_times.push(started.elapsed());
        assert_eq!(received.load(Ordering::Relaxed) - before, count);

        // The outbox: queued in a state file, delivered by the loop and the SMTP sink, each marked sent.
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("huntbook.db")).expect("store");
        queue(&mut store, count);
        let before = received.load(Ordering::Relaxed);
        let started = Instant::now();
        runtime.block_on(async {
            let config = SmtpConfig {
                host: "127.0.0.1".into(),
                port,
                tls: SmtpTls::None,
                username: None,
                password: None,
                ca_file: None,
            };
            let sink: Arc<dyn Sink> = Arc::new(SmtpSink::new(&config).expect("sink"));
            let shared = Mutex::new(&mut store);
            let sink_for = |_: &str| Some(Arc::clone(&sink));
            let timer = SystemTimer;
            let redactor = Redactor::default();
            let outbox = Outbox::new(&shared, &sink_for, &timer, RetryPolicy::default(), &redactor);
            let report = outbox.deliver_until(timer.now()).await.expect("delivered");
            assert_eq!(report.delivered, count);
        });
        outbox_times.push(started.elapsed());
        assert_eq!(received.load(Ordering::Relaxed) - before, count);
    }
    let (plain, outbox) = (median(plain_times), median(outbox_times));
    let rate = |time: Duration| count as f64 / time.as_secs_f64();
    println!("{count} e-mails to a local SMTP server, median of {runs} runs");
    println!(
        "  plain lettre loop (one pooled connection): {:>7.3} s  {:>8.0} messages/s",
        plain.as_secs_f64(),
        rate(plain)
    );
    println!(
        "  huntbook outbox (SQLite + SMTP sink):      {:>7.3} s  {:>8.0} messages/s",
        outbox.as_secs_f64(),
        rate(outbox)
    );
    println!("  outbox throughput / plain throughput: {:.2}x (target >= 0.8x)", rate(outbox) / rate(plain));
}
