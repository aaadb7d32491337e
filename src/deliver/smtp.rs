//! The SMTP sink: the stored MIME, byte for byte (the same as the `.eml` file sink writes, `Message-ID`
//! included), through lettre's pooled async transport. TLS is verified against the system's authorities plus
//! `smtp.ca_file`; there is no switch to turn verification off. `tls: none` is accepted by the configuration
//! only for a server on this machine.

use std::time::Duration;

use futures_util::future::BoxFuture;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Tokio1Executor};

use super::{Delivery, Outgoing, Sink, classify, mime};
use crate::config::{SmtpConfig, SmtpTls};

/// How long one SMTP command may take before the attempt counts as failed (and is retried later).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections kept open to the server.
const POOL_SIZE: u32 = 4;

pub struct SmtpSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

impl SmtpSink {
    /// A sink for `config`'s server. Fails when the `ca_file` is unreadable or not PEM certificates.
    pub fn new(config: &SmtpConfig) -> Result<SmtpSink, String> {
        let server = format!("{}:{}", config.host, config.port);
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters(config)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(config)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(POOL_SIZE).idle_timeout(Duration::from_secs(60)));
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder
                .credentials(Credentials::new(username.clone(), password.expose().to_string()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(SmtpSink { transport: builder.build(), server })
    }

    async fn send(&self, message: &Outgoing<'_>) -> Delivery {
        let envelope = match mime::envelope(message.payload).and_then(|e| smtp_envelope(&e)) {
            Ok(envelope) => envelope,
            Err(problem) => return Delivery::GiveUp { error: problem },
        };
        classify::smtp(&self.server, self.transport.send_raw(&envelope, message.payload).await)
    }
}

fn smtp_envelope(envelope: &mime::Envelope) -> Result<Envelope, String> {
    let parse =
        |text: &str| text.parse::<Address>().map_err(|e| format!("the address {text:?} in the queued message: {e}"));
    let from = parse(&envelope.from)?;
    let to = envelope.recipients.iter().map(|r| parse(r)).collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(from), to).map_err(|e| format!("the queued message's envelope: {e}"))
}

fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("smtp.ca_file {}: {e}", path.display()))?;
        let certificate = Certificate::from_pem(&pem)
            .map_err(|e| format!("smtp.ca_file {}: not PEM certificates: {e}", path.display()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|e| format!("setting up TLS for {}: {e}", config.host))
}

impl Sink for SmtpSink {
    fn deliver<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Delivery> {
        Box::pin(self.send(message))
    }

    fn describe(&self) -> String {
        format!("SMTP {}", self.server)
    }
}
