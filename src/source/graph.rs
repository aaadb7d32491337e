//! `source.kind: graph`: queries run in the customer's tenants through Graph `runHuntingQuery`. One client per
//! tenant (its token, call rate and concurrency shared by every playbook); the async client is driven from the
//! runner's threads by one runtime.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{QueryRequest, QueryResponse, Source, SourceError};
use crate::config::tenant::TenantConfig;
use crate::graph::{Environment, GraphClient, GraphError};
use crate::kql::error::KqlError;

pub struct GraphSource {
    runtime: tokio::runtime::Runtime,
    clients: BTreeMap<String, Arc<GraphClient>>,
}

impl GraphSource {
    pub fn new(tenants: &BTreeMap<String, TenantConfig>, environment: &Environment) -> Result<GraphSource, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("starting the async runtime: {e}"))?;
        let mut clients = BTreeMap::new();
        for (name, tenant) in tenants {
            clients.insert(name.clone(), Arc::new(GraphClient::new(name, tenant, environment)?));
        }
        Ok(GraphSource { runtime, clients })
    }

    pub fn client(&self, tenant: &str) -> Option<&GraphClient> {
        self.clients.get(tenant).map(Arc::as_ref)
    }

    /// Runs a future on this source's runtime (for `huntbook query --tenant`).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn client_for(&self, tenant: Option<&str>) -> Result<&GraphClient, SourceError> {
        let failed = |message: String| SourceError::Failed(KqlError::runtime(message));
        match tenant {
            Some(name) => self.client(name).ok_or_else(|| failed(format!("no tenant {name} in huntbook.yaml"))),
            None => match self.clients.values().next() {
                Some(client) if self.clients.len() == 1 => Ok(client),
                Some(_) => Err(failed("the query does not say which tenant to run in".into())),
                None => Err(failed("`source: graph` needs a tenant under `tenants:` in huntbook.yaml".into())),
            },
        }
    }
}

impl Source for GraphSource {
    fn run_query(&self, request: &QueryRequest) -> Result<QueryResponse, SourceError> {
        let client = self.client_for(request.tenant)?;
        let answer =
            self.runtime.block_on(client.run_hunting_query(request.query, Some(request.window))).map_err(|error| {
                match error {
                    GraphError::Query(message) => SourceError::Rejected(message),
                    other => SourceError::Failed(KqlError::runtime(format!("tenant {}: {other}", client.name()))),
                }
            })?;
        let repaired = answer.repaired as u64;
        Ok(QueryResponse {
            table: answer.table,
            truncated: answer.truncated,
            repaired_rows: repaired,
            first_repaired: (repaired > 0).then(|| {
                format!(
                    "Graph's answer held {repaired} lone UTF-16 surrogate escapes (such as \\udc80), read as U+FFFD"
                )
            }),
            ..QueryResponse::default()
        })
    }

    fn tenants(&self) -> Vec<String> {
        self.clients.keys().cloned().collect()
    }

    fn file_profile(&self, tenant: Option<&str>, hash: &str) -> Result<Option<super::FileInfo>, SourceError> {
        let client = self.client_for(tenant)?;
        let entity = self.runtime.block_on(client.file_info(hash)).map_err(|error| {
            // Not "Graph refused the query": the files API is not Graph, and this is no query.
            let said = match error {
                GraphError::Permission(message) => message,
                other => other.to_string(),
            };
            SourceError::Failed(KqlError::runtime(format!("tenant {}: {said}", client.name())))
        })?;
        Ok(entity.map(|entity| super::file_info_from_api(&entity)))
    }
}
