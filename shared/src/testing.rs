//! The test kit (feature `testing`): what a first test of a guarded endpoint needs, against
//! DynamoDB Local. Requests signed as a client signs them or vouched for as API Gateway's
//! authorizer does, the guard's tables, a client with a key, and the guard's own steps for
//! staging races. A settable clock is [`ManualClock`]; the metric documents a guard writes are
//! kept by a [`CapturedMetrics`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use replaysafe::testing::{self, Client};
//! use replaysafe::{Clock, Config, Guard, ManualClock};
//!
//! # async fn first_test() {
//! let sdk = testing::local_sdk_client("http://127.0.0.1:8000").await;
//! let config = Config::builder().table_prefix("test-").build().unwrap();
//! testing::create_tables(&sdk, &config.tables).await.unwrap();
//! let clock = Arc::new(ManualClock::new(1_763_812_800));
//! let guard = Guard::builder(config)
//!     .sdk_client(sdk)
//!     .clock(clock.clone())
//!     .build()
//!     .await
//!     .unwrap();
//! let alice = Client::create(guard.store(), clock.now()).await;
//! let req = alice.post("/orders", br#"{"sku":"a"}"#, "key-1", clock.now());
//! # let _ = req;
//! # }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client as SdkClient;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Context, Request, RequestExt};
use replaysafe_signing::{random_nonce, Signer};

use crate::config::Tables;
use crate::effect::Effect;
use crate::error::{Error, GuardError, Problem};
use crate::guard::{Admitted, Guard};
use crate::http::Incoming;
use crate::ids::ClientId;
use crate::metrics::{Metrics, Scheme};
use crate::store::clients::ClientRecord;
use crate::store::schema::{create_tables as create, SchemaError};
use crate::store::Store;

pub use crate::clock::ManualClock;
pub use crate::guard::outcome::Committed;

/// An SDK client for a DynamoDB Local at `endpoint`, with dummy credentials and region.
pub async fn local_sdk_client(endpoint: &str) -> SdkClient {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "testing",
        ))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    SdkClient::from_conf(config)
}

/// Creates the guard's three tables (existing ones are kept), without TTL: a test's clock
/// usually stands far from the real one, and DynamoDB Local's TTL would delete what it wrote
/// whenever it likes. The guard compares expiries with its own clock.
pub async fn create_tables(sdk: &SdkClient, tables: &Tables) -> Result<(), SchemaError> {
    let mut specs: Vec<_> = tables.specs().to_vec();
    for (_, spec) in &mut specs {
        spec.ttl_attribute = None;
    }
    create(sdk, &specs).await.map(drop)
}

/// A signing client: its id and secret.
#[derive(Clone)]
pub struct Client {
    /// The `keyid` its signatures carry.
    pub id: ClientId,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A new active client with a random 32-byte secret, written to `store`'s clients table.
    pub async fn create(store: &Store, now: i64) -> Self {
        let client = Self::with_secret(ClientId::generate(), rand::random::<[u8; 32]>().to_vec());
        let record = ClientRecord {
            client_id: client.id.clone(),
            secret: client.secret.clone(),
            active: true,
        };
        store.put_client(&record, now).await.expect("put client");
        client
    }

    /// A client with a secret of the caller's choosing (not written anywhere).
    pub fn with_secret(id: ClientId, secret: Vec<u8>) -> Self {
        Self { id, secret }
    }

    /// A POST signed at `created` with a fresh nonce, under `key`, as the client crate sends it.
    pub fn post(&self, path: &str, body: &[u8], key: &str, created: i64) -> Request {
        self.request("POST", path, body, Some(key), created)
    }

    /// A GET signed at `created` with a fresh nonce.
    pub fn get(&self, path: &str, created: i64) -> Request {
        self.request("GET", path, b"", None, created)
    }

    /// Any request, signed at `created` with a fresh nonce.
    pub fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        key: Option<&str>,
        created: i64,
    ) -> Request {
        let signer = Signer::new(self.id.to_string(), self.secret.clone());
        let signed = signer.sign(method, path_and_query, body, key, created, &random_nonce());
        let mut headers = vec![
            ("signature-input", signed.signature_input),
            ("signature", signed.signature),
        ];
        if let Some(digest) = signed.content_digest {
            headers.push(("content-digest", digest));
        }
        build(method, path_and_query, body, key, &headers)
    }
}

/// A request as API Gateway hands it on after its JWT authorizer accepted a token whose `sub`
/// is `sub`: the claim in the request context, no signature.
pub fn authorized(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    key: Option<&str>,
    sub: &str,
) -> Request {
    build(method, path_and_query, body, key, &[]).with_request_context(jwt_context(sub))
}

/// API Gateway's request context after its JWT authorizer accepted a token for `sub`: put it on
/// a request of your own making with `RequestExt::with_request_context`.
pub fn jwt_context(sub: &str) -> RequestContext {
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims = HashMap::from([("sub".to_owned(), sub.to_owned())]);
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    RequestContext::ApiGatewayV2(context)
}

fn build(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    key: Option<&str>,
    headers: &[(&str, String)],
) -> Request {
    let mut builder = http::Request::builder().method(method).uri(path_and_query);
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    if !body.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    let body = match body.is_empty() {
        true => Body::Empty,
        false => Body::Binary(body.to_vec()),
    };
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    builder
        .body(body)
        .expect("a valid request")
        .with_lambda_context(context)
}

/// The first step of a signed POST alone (verified, nonce consumed, the key's state read):
/// stage what happens between it and the transaction, then [`commit`].
pub async fn admit(guard: &Guard, req: &Incoming<'_>) -> Result<Admitted, GuardError> {
    guard.admit_signed(req).await
}

/// The transaction step alone, for an admitted POST: commit it twice to see what an SDK
/// re-send meets.
pub async fn commit<E: Problem>(
    guard: &Guard,
    admitted: &Admitted,
    effect: Effect<E>,
) -> Result<Committed, Error<E>> {
    guard.commit(admitted, effect).await
}

/// The metric documents of a guard built with [`CapturedMetrics::metrics`], kept in memory in
/// the order they were written, each as the EMF line stdout would have got. A capture per
/// guard, so that tests running at once see only their own.
///
/// ```
/// use replaysafe::metrics::Scheme;
/// use replaysafe::testing::CapturedMetrics;
/// use replaysafe::{Config, Guard};
///
/// # async fn doc() {
/// let captured = CapturedMetrics::new();
/// let guard = Guard::builder(Config::builder().build().unwrap())
///     .metrics(captured.metrics(Scheme::new("replaysafe", "test")))
///     .build()
///     .await
///     .unwrap();
/// // ... requests through `replaysafe::http::respond` ...
/// for doc in captured.documents() {
///     assert_eq!(doc["Requests"], 1);
/// }
/// # let _ = guard;
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CapturedMetrics(Arc<Mutex<Vec<u8>>>);

impl CapturedMetrics {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// A destination writing here, named by `scheme`: give it to
    /// [`GuardBuilder::metrics`](crate::guard::GuardBuilder::metrics).
    pub fn metrics(&self, scheme: Scheme) -> Metrics {
        Metrics::to_writer(scheme, self.clone())
    }

    /// Every document written so far, each as its line.
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("not poisoned");
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Every document written so far, parsed.
    pub fn documents(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).expect("a document is one JSON line"))
            .collect()
    }
}

impl std::io::Write for CapturedMetrics {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
