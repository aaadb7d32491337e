//! The sinks of a configuration, one per receiver, built once per process: every SMTP receiver shares one
//! pooled transport, every `via: graph` receiver of a tenant shares one Graph client (and token), every mailbox
//! one sendMail semaphore. A receiver whose sink cannot be built (an unreadable `smtp.ca_file`, a certificate
//! that does not load) keeps its messages queued, and the problem is reported.
//!
//! Build inside a tokio runtime: the SMTP pool starts its housekeeping task when it is made.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Sink;
use super::file::FileSink;
use super::graph_mail::{GraphMailSink, Mailboxes};
use super::smtp::SmtpSink;
use super::teams::TeamsSink;
use crate::config::{Config, EmailVia, Receiver, TeamsTarget};
use crate::graph::{Environment, GraphClient};

pub struct Sinks {
    by_receiver: BTreeMap<String, Result<Arc<dyn Sink>, String>>,
}

impl Sinks {
    /// The sink of every receiver of `config`. `webhooks` is the HTTP client of Teams webhooks.
    pub fn from_config(config: &Config, graph: &Environment, webhooks: &reqwest::Client) -> Sinks {
        let smtp: Option<Result<Arc<dyn Sink>, String>> = config.smtp.as_ref().map(|smtp| {
            SmtpSink::new(smtp).map(|sink| Arc::new(sink) as Arc<dyn Sink>).map_err(|e| format!("smtp: {e}"))
        });
        let mailboxes = Arc::new(Mailboxes::default());
        let mut clients: BTreeMap<String, Result<Arc<GraphClient>, String>> = BTreeMap::new();
        let mut by_receiver = BTreeMap::new();
        for (name, receiver) in &config.receivers {
            let sink: Result<Arc<dyn Sink>, String> = match receiver {
                Receiver::Email(email) => match &email.via {
                    EmailVia::File(dir) => Ok(Arc::new(FileSink::new(dir))),
                    EmailVia::Smtp => {
                        smtp.clone().unwrap_or_else(|| Err("`via: smtp` and there is no `smtp:` section".into()))
                    }
                    EmailVia::Graph => {
                        let tenant = email.tenant.clone().unwrap_or_default();
                        let client = clients
                            .entry(tenant.clone())
                            .or_insert_with(|| match config.tenants.get(&tenant) {
                                Some(settings) => GraphClient::new(&tenant, settings, graph).map(Arc::new),
                                None => Err(format!("no tenant {tenant:?} to send through")),
                            })
                            .clone();
                        client
                            .map(|client| Arc::new(GraphMailSink::new(client, Arc::clone(&mailboxes))) as Arc<dyn Sink>)
                    }
                },
                Receiver::Teams(teams) => match &teams.target {
                    TeamsTarget::Directory(dir) => Ok(Arc::new(FileSink::new(dir))),
                    TeamsTarget::Webhook(url) => Ok(Arc::new(TeamsSink::new(
                        webhooks.clone(),
                        url.clone(),
                        teams.per_second,
                        Arc::clone(&graph.timer),
                    ))),
                },
                Receiver::File(file) => Ok(Arc::new(FileSink::new(&file.dir))),
            };
            by_receiver.insert(name.clone(), sink);
        }
        Sinks { by_receiver }
    }

    /// The sink of `receiver`, when it has one that works.
    pub fn get(&self, receiver: &str) -> Option<Arc<dyn Sink>> {
        self.by_receiver.get(receiver).and_then(|sink| sink.as_ref().ok()).cloned()
    }

    /// The receivers whose sink could not be built, and why.
    pub fn problems(&self) -> Vec<(String, String)> {
        self.by_receiver
            .iter()
            .filter_map(|(name, sink)| sink.as_ref().err().map(|problem| (name.clone(), problem.clone())))
            .collect()
    }
}
