//! Everything a client is configured with is checked here, once, so that no request can be
//! signed for an endpoint the signature cannot protect (a query or fragment in the base, no
//! host) and no policy can forbid the first attempt.

use std::sync::Arc;
use std::time::Duration;

use super::retry_loop::{RetryEvent, RetryHook};
use super::{Client, Inner};
use crate::attempts::Ledger;
use crate::auth::Auth;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::transport;

pub struct ClientBuilder {
    endpoint: String,
    auth: Auth,
    /// The client a signer signs for, when it is not the signer's key id (a later key's).
    client_id: Option<String>,
    policy: RetryPolicy,
    on_retry: Option<RetryHook>,
    connect_timeout: Duration,
}

impl ClientBuilder {
    pub(super) fn new(endpoint: &str, auth: Auth) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            auth,
            client_id: None,
            policy: RetryPolicy::default(),
            on_retry: None,
            connect_timeout: Duration::from_secs(5),
        }
    }

    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Called before every retry (e.g. to log it).
    pub fn on_retry(mut self, hook: impl Fn(&RetryEvent) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// The client the signer signs for, when its key id is not the client id: what
    /// [`Client::client_id`] answers. [`Client::builder`] sets it from the credentials.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Time to establish a connection (default 5 s), within the attempt's timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Builds the client. Installs rustls' ring provider as the process default when none is
    /// installed yet (HTTPS endpoints need one; this workspace never uses aws-lc).
    pub fn build(self) -> Result<Client, Error> {
        let (origin, base_path) = split_endpoint(&self.endpoint)?;
        if self.policy.max_attempts == 0 {
            return Err(Error::InvalidInput(
                "max attempts must be at least 1".into(),
            ));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = transport::http_client(self.connect_timeout)
            .map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        let client_id = match &self.auth {
            // A client's first key has the client id as its key id.
            Auth::Signature(signer) => Some(self.client_id.unwrap_or(signer.client_id.clone())),
            Auth::Bearer(_) => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                client_id,
                http,
                origin,
                base_path,
                auth: self.auth,
                policy: self.policy,
                on_retry: self.on_retry,
                ledger: Ledger::default(),
            }),
        })
    }
}

/// `http(s)://host[:port][/base]` as its origin and its base path (no trailing slash).
fn split_endpoint(endpoint: &str) -> Result<(String, String), Error> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| Error::InvalidInput(format!("invalid endpoint {endpoint:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::InvalidInput(format!(
            "invalid endpoint {endpoint:?}: expected http(s)://host[:port][/base]"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidInput(format!(
            "invalid endpoint {endpoint:?}: no query or fragment"
        )));
    }
    let origin = url.origin().ascii_serialization();
    let base_path = url.path().trim_end_matches('/').to_owned();
    Ok((origin, base_path))
}
