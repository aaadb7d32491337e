//! `huntbook emulate`: starts the Graph emulator and serves until stopped.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};

use super::Outcome;
use crate::cli::EmulateArgs;
use crate::emulate::faults::parse_faults;
use crate::emulate::{EmulatorOptions, router};
use crate::graph::classify::parse_retry_after;
use crate::kql::load::DataDir;
use crate::source::local::LocalSource;

pub fn emulate(args: EmulateArgs) -> Result<Outcome> {
    let catalog = DataDir::open(&args.data)
        .map_err(|e| super::usage(format!("--data {}: {}", args.data.display(), e.message)))?;
    let now = match &args.now {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    super::usage(format!("--now '{text}' is not a time: use ISO 8601, such as 2026-11-20T12:00:00Z"))
                })?
                .with_timezone(&Utc),
        ),
    };
    if let Some(value) = &args.retry_after
        && parse_retry_after(value, Utc::now()).is_none()
    {
        return Err(super::usage(format!("--retry-after '{value}' is neither a number of seconds nor an HTTP date")));
    }
    if !(0.0..=1.0).contains(&args.truncate_body) {
        return Err(super::usage("--truncate-body must be between 0 and 1"));
    }
    let certificate = match &args.certificate {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading --certificate {}", path.display()))?),
        None => None,
    };
    let options = EmulatorOptions {
        source: Arc::new(LocalSource::new(Arc::new(catalog), args.rebase_time)),
        now,
        client_id: args.client_id,
        client_secret: args.client_secret,
        certificate,
        identity_header: args.identity_header,
        federated_subject: args.federated_subject,
        token_lifetime: Duration::from_secs(args.token_lifetime),
        token_uses: args.token_uses,
        faults: parse_faults(&args.fail).map_err(super::usage)?,
        file_faults: parse_faults(&args.fail_files).map_err(super::usage)?,
        retry_after: args.retry_after,
        latency: Duration::from_millis(args.latency),
        truncate_body: args.truncate_body,
        seed: args.seed,
        row_limit: args.row_limit,
    };
    let open = options.client_secret.is_none() && options.certificate.is_none();
    let app = router(options).map_err(|e| anyhow!(e))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let address = listener.local_addr().context("reading the listening address")?;
        let mut out = std::io::stdout();
        writeln!(out, "huntbook emulate: listening on http://{address}")?;
        writeln!(
            out,
            "  point a tenant at it: login_url: http://{address}  graph_url: http://{address}{}",
            if open { "  (any credential is accepted)" } else { "" }
        )?;
        out.flush()?;
        axum::serve(listener, app).await.context("serving")
    })?;
    Ok(Outcome::Success)
}
