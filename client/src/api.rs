//! The client: typed calls on top of one retrying, re-signing `execute`.
//!
//! One `impl Client` spread over a module a concern, so that each rule of the contract (one key
//! per operation, one attempt at a time, `created` always later, no answer ≠ no effect) is read
//! in one short place. The submodules are children of this one to share `Inner` without
//! widening its fields to the crate.

mod builder;
mod reads;
mod response;
mod retry_loop;
mod send;
mod sign;
mod writes;

use std::sync::Arc;

use replaysafe_signing::Signer;

use crate::attempts::Ledger;
use crate::auth::Auth;
use crate::credentials::Credentials;
use crate::error::Error;
use crate::retry::RetryPolicy;

pub use builder::ClientBuilder;
pub use response::RawResponse;
pub use retry_loop::RetryEvent;
pub use sign::check_path;

use retry_loop::RetryHook;

/// A client of the API for one set of credentials (signing) or one bearer token ([`Auth`]).
/// Cheap to clone (shared connection pool, and
/// shared memory of the keys it signed: each key's latest `created`, and which keys have an
/// operation running, so a clone never runs a second operation with a key at the same time).
///
/// It follows no redirect (the signature does not cover the host unless
/// [`ClientBuilder::cover_authority`] asks, so a redirect would hand a valid attempt, and on
/// 307/308 its body, to wherever it points) and reads at most
/// [`crate::MAX_ANSWER_BYTES`] of an answer.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `http://127.0.0.1:9000`
    origin: String,
    /// The endpoint's path (no trailing slash), prefixed to every request's path and signed.
    base_path: String,
    auth: Auth,
    /// The client a signing client signs for; `None` with a bearer token.
    client_id: Option<String>,
    policy: RetryPolicy,
    on_retry: Option<RetryHook>,
    ledger: Ledger,
}

impl Client {
    /// A signing client with the default [`RetryPolicy`].
    pub fn new(endpoint: &str, credentials: &Credentials) -> Result<Self, Error> {
        Self::builder(endpoint, credentials)?.build()
    }

    /// A signing client (`signature` mode), signing with the credentials' key (`key_id`, or
    /// the client id for the client's first key).
    pub fn builder(endpoint: &str, credentials: &Credentials) -> Result<ClientBuilder, Error> {
        Ok(Self::builder_with_signer(endpoint, credentials.signer()?)
            .client_id(credentials.client_id.clone()))
    }

    /// A signing client (`signature` mode); the signer's key id is taken for the client id
    /// unless [`ClientBuilder::client_id`] says otherwise.
    pub fn builder_with_signer(endpoint: &str, signer: Signer) -> ClientBuilder {
        Self::builder_with_auth(endpoint, Auth::Signature(signer))
    }

    /// A client that sends `Authorization: Bearer <token>` (`jwt` mode, behind an API Gateway
    /// JWT authorizer): see [`Auth::bearer`] for what a token may be.
    pub fn builder_with_token(endpoint: &str, token: &str) -> Result<ClientBuilder, Error> {
        Ok(Self::builder_with_auth(endpoint, Auth::bearer(token)?))
    }

    /// A client that authenticates as `auth` says: signing or a bearer token.
    pub fn builder_with_auth(endpoint: &str, auth: Auth) -> ClientBuilder {
        ClientBuilder::new(endpoint, auth)
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// How this client authenticates.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The id of the client it signs for (the principal, whichever of its keys signs); None for
    /// a bearer-token client, whose principal is the token's `sub` claim as the API's
    /// authorizer verified it.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// The key it signs with: the signatures' `keyid`; None for a bearer-token client.
    pub fn key_id(&self) -> Option<&str> {
        match &self.inner.auth {
            Auth::Signature(signer) => Some(&signer.client_id),
            Auth::Bearer(_) => None,
        }
    }

    /// The `"@authority"` every signature covers ([`ClientBuilder::cover_authority`]), if any.
    pub fn signed_authority(&self) -> Option<&str> {
        match &self.inner.auth {
            Auth::Signature(signer) => signer.authority(),
            Auth::Bearer(_) => None,
        }
    }

    /// The URL a request path goes to.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.inner.origin, self.inner.base_path)
    }
}
