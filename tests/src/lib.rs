//! Test harness: each test gets its own tables (a fresh prefix) in the one DynamoDB Local that
//! `make test` starts, its own clients, and a clock it moves by hand. Requests go through the
//! same handlers the Lambda functions run, built and signed as a real client would.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use http::HeaderMap;
use lambda_http::{Body, Context, Request, RequestExt};
use payments::routes::Endpoint;
use payments::{Payments, PaymentsStore, PaymentsTables};
use replaysafe::store::clients::ClientRecord;
use replaysafe::store::schema::create_tables;
use replaysafe::store::sdk_client;
use replaysafe::{Clock, Config, Guard, ManualClock, Store, Tables};
use replaysafe_signing::{
    hmac_sha256, parse_signature, random_nonce, signature_base, Message, Signer,
};
use serde_json::Value;

/// A stand-in answer for commits staged through the guard directly.
pub fn staged_answer() -> replaysafe::idempotency::StoredResponse {
    replaysafe::idempotency::StoredResponse::new(201, r#"{"mine":true}"#)
}

/// 2025-11-22T12:00:00Z, the contract's test-vector time.
pub const T0: i64 = 1_763_812_800;

pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with `make test`, which starts \
         DynamoDB Local",
    )
}

pub struct TestClient {
    pub id: String,
    pub secret: Vec<u8>,
}

impl TestClient {
    pub fn signer(&self) -> Signer {
        Signer::new(self.id.clone(), self.secret.clone())
    }
}

pub struct TestApp {
    /// The app the functions run: the guard and the payments store.
    pub app: Payments,
    pub clock: Arc<ManualClock>,
    /// The guard's tables (clients, nonces, idempotency).
    pub store: Store,
    /// The app's tables (accounts, transfers).
    pub ledger: PaymentsStore,
    pub alice: TestClient,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// The app behind an API Gateway JWT authorizer (`AUTH_MODE=jwt`): its calls carry the
    /// client's id as the token's `sub`, and their signatures are ignored.
    pub async fn authorized() -> Self {
        Self::with_config(|c| c.auth = replaysafe::Auth::jwt()).await
    }

    pub async fn with_config(tune: impl FnOnce(&mut Config)) -> Self {
        Self::with_sdk_client(sdk_client(Some(&endpoint())).await, tune).await
    }

    /// On a client of the caller's making (the benchmark counts calls through one).
    pub async fn with_sdk_client(
        client: aws_sdk_dynamodb::Client,
        tune: impl FnOnce(&mut Config),
    ) -> Self {
        let prefix = format!("t{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let tables = Tables::with_prefix(&prefix);
        let app_tables = PaymentsTables::with_prefix(&prefix);
        // TTL off: the tests' clock starts at T0, a year before the real one, so DynamoDB
        // Local's TTL would delete every record, nonce and fence they write at a moment of its
        // choosing. The guard compares expiries with its own `now`, which is what they test.
        let mut specs: Vec<_> = tables.specs().to_vec();
        specs.extend(app_tables.specs());
        for (_, spec) in &mut specs {
            spec.ttl_attribute = None;
        }
        create_tables(&client, &specs).await.expect("create tables");
        let store = Store::new(client.clone(), tables.clone());
        let ledger = PaymentsStore::new(client, app_tables);
        let mut config = Config::new(tables);
        config.problem_type_base = payments::PROBLEM_TYPE_BASE.into();
        tune(&mut config);
        let clock = Arc::new(ManualClock::new(T0));
        let guard = guard_on(store.clone(), config, clock.clone()).await;
        let alice = new_client(&store).await;
        Self {
            app: Payments::new(guard, ledger.clone()),
            clock,
            store,
            ledger,
            alice,
        }
    }

    /// The guard the endpoints run under.
    pub fn guard(&self) -> &Guard {
        self.app.guard()
    }

    /// The same app, but its guard on `store` (e.g. tables that do not exist, an SDK client
    /// behind a faulty proxy) and `clock`.
    pub fn app_on(&self, store: Store, clock: Arc<dyn Clock>) -> Payments {
        self.app_with(store, self.ledger.clone(), clock)
    }

    /// The same app on the same tables and clock, behind the other front door `auth`.
    pub fn app_in_mode(&self, auth: replaysafe::Auth) -> Payments {
        let config = Config {
            auth,
            ..self.guard().config().clone()
        };
        let guard =
            futures::executor::block_on(guard_on(self.store.clone(), config, self.clock.clone()));
        Payments::new(guard, self.ledger.clone())
    }

    /// The same app on the same tables and clock, its guard's config changed by `tune` (a
    /// signature profile, a nonce table of its own): another deployment of the API, while the
    /// fixtures are made through this one.
    pub fn app_tuned(&self, tune: impl FnOnce(&mut Config)) -> Payments {
        let mut config = self.guard().config().clone();
        tune(&mut config);
        let guard =
            futures::executor::block_on(guard_on(self.store.clone(), config, self.clock.clone()));
        Payments::new(guard, self.ledger.clone())
    }

    /// [`TestApp::app_on`], with the app's tables on `ledger` too.
    pub fn app_with(&self, store: Store, ledger: PaymentsStore, clock: Arc<dyn Clock>) -> Payments {
        let config = Config {
            tables: store.tables().clone(),
            ..self.guard().config().clone()
        };
        let guard = futures::executor::block_on(guard_on(store, config, clock));
        Payments::new(guard, ledger)
    }

    pub async fn new_client(&self) -> TestClient {
        new_client(&self.store).await
    }

    /// A signed request from `client`, at the app clock's now, with a fresh nonce and, for a
    /// POST, a fresh idempotency key. Adjust before `send`.
    pub fn signed(&self, client: &TestClient, method: &str, path: &str, body: &str) -> Call {
        let key = (method == "POST").then(|| uuid::Uuid::new_v4().to_string());
        Call {
            method: method.to_owned(),
            path: path.to_owned(),
            body: body.as_bytes().to_vec(),
            idempotency_key: key,
            created: self.clock.now(),
            nonce: random_nonce(),
            signer: SignerBox(client.signer()),
            headers: Vec::new(),
            authorized_as: self.behind_authorizer().then(|| client.id.clone()),
            request_id: uuid::Uuid::new_v4().to_string(),
            domain_name: None,
        }
        .sign()
    }

    /// Whether the guard sits behind an authorizer (its callers are principals, not signers).
    pub fn behind_authorizer(&self) -> bool {
        self.guard().config().auth != replaysafe::Auth::Signatures
    }

    pub async fn send(&self, call: &Call) -> Answer {
        send_via(&self.app, call).await
    }

    /// Creates an account owned by `client`.
    pub async fn open_account(&self, client: &TestClient, id: &str, currency: &str, balance: u64) {
        let body = format!(
            r#"{{"account_id":"{id}","currency":"{currency}","initial_balance":{balance}}}"#
        );
        let answer = self
            .send(&self.signed(client, "POST", "/accounts", &body))
            .await;
        assert_eq!(answer.status, 201, "open {id}: {}", answer.body);
    }

    /// The balance as stored, read past the API.
    pub async fn balance(&self, id: &str) -> u64 {
        let id = payments::domain::AccountId::parse(id).unwrap();
        self.ledger
            .get_account(&id)
            .await
            .unwrap()
            .expect("account exists")
            .balance
    }

    pub fn transfer_body(from: &str, to: &str, amount: u64) -> String {
        format!(r#"{{"from":"{from}","to":"{to}","amount":{amount},"currency":"EUR"}}"#)
    }

    /// Every item in one of this app's tables.
    pub async fn scan_count(&self, table: &str) -> usize {
        let out = self
            .store
            .client()
            .scan()
            .table_name(table)
            .send()
            .await
            .expect("scan");
        out.items().len()
    }
}

/// A guard over `store` with `config` as the test tuned it (a retention of a minute, say: no
/// deployment may have one, so it is built unchecked) and `clock`.
pub async fn guard_on(store: Store, config: Config, clock: Arc<dyn Clock>) -> Guard {
    Guard::builder(config)
        .sdk_client(store.client().clone())
        .clock(clock)
        .warm_up(false)
        .build_unchecked()
        .await
}

async fn new_client(store: &Store) -> TestClient {
    let id = replaysafe::ClientId::generate();
    let secret: Vec<u8> = rand::random::<[u8; 32]>().to_vec();
    let record = ClientRecord {
        client_id: id.clone(),
        secret: secret.clone(),
        active: true,
    };
    store.put_client(&record, T0).await.expect("put client");
    TestClient {
        id: id.to_string(),
        secret,
    }
}

/// The fixture world the contract and finality tests start from, by name: Alice
/// (`app.alice`) owns [`World::ALICE`] with 10 000 EUR; Bob owns [`World::BOB`] with 0 EUR.
pub struct World {
    pub app: TestApp,
    pub bob: TestClient,
}

impl World {
    pub const ALICE: &str = "acc_alice";
    pub const BOB: &str = "acc_bob";

    pub async fn open() -> Self {
        Self::open_with(|_| {}).await
    }

    /// The world on a guard whose config `tune` changed.
    pub async fn open_with(tune: impl FnOnce(&mut Config)) -> Self {
        let app = TestApp::with_config(tune).await;
        let bob = app.new_client().await;
        app.open_account(&app.alice, Self::ALICE, "EUR", 10_000)
            .await;
        app.open_account(&bob, Self::BOB, "EUR", 0).await;
        Self { app, bob }
    }
}

/// A request as a client sends it: its parts can be edited and re-signed, or replayed as is.
#[derive(Clone)]
pub struct Call {
    pub method: String,
    /// Path with any query string.
    pub path: String,
    pub body: Vec<u8>,
    pub idempotency_key: Option<String>,
    pub created: i64,
    pub nonce: String,
    pub signer: SignerBox,
    /// Headers as sent: the signature's and any extra.
    pub headers: Vec<(String, String)>,
    /// The `sub` API Gateway's JWT authorizer vouched for (in the request context), if any:
    /// what an authorizer-mode guard reads instead of the signature.
    pub authorized_as: Option<String>,
    /// The Lambda request id it arrives under; the same id means the same invocation.
    pub request_id: String,
    /// The host API Gateway received it on (`requestContext.domainName`), if any: the host
    /// a guard verifies `"@authority"` against.
    pub domain_name: Option<String>,
}

/// `Signer` is not `Clone` (it holds a secret); tests need to re-sign copies.
pub struct SignerBox(Signer);

impl Clone for SignerBox {
    fn clone(&self) -> Self {
        let mut signer = Signer::new(self.0.client_id.clone(), self.0.secret.clone());
        if let Some(tag) = self.0.tag() {
            signer = signer.with_tag(tag).expect("a tag the signer held");
        }
        if let Some(authority) = self.0.authority() {
            signer = signer
                .covering_authority(authority)
                .expect("an authority the signer held");
        }
        Self(signer)
    }
}

impl From<Signer> for SignerBox {
    fn from(s: Signer) -> Self {
        Self(s)
    }
}

impl Call {
    /// Signs (again) from the current parts, with a new nonce unless one was set by hand
    /// after the last signing.
    pub fn sign(mut self) -> Self {
        let signed = self.signer.0.sign(
            &self.method,
            &self.path,
            &self.body,
            self.idempotency_key.as_deref(),
            self.created,
            &self.nonce,
        );
        self.headers.retain(|(n, _)| {
            !matches!(
                n.as_str(),
                "signature" | "signature-input" | "content-digest"
            )
        });
        if let Some(d) = signed.content_digest {
            self.headers.push(("content-digest".into(), d));
        }
        self.headers
            .push(("signature-input".into(), signed.signature_input));
        self.headers.push(("signature".into(), signed.signature));
        self
    }

    /// The same logical request as a retrying client sends it: same key and body, new nonce,
    /// new `created`, new invocation.
    pub fn resigned(&self, created: i64) -> Self {
        let mut next = self.clone();
        next.created = created;
        next.nonce = random_nonce();
        next.request_id = uuid::Uuid::new_v4().to_string();
        next.sign()
    }

    /// The exact bytes again, as an attacker who captured them would send them.
    pub fn replayed(&self) -> Self {
        let mut next = self.clone();
        next.request_id = uuid::Uuid::new_v4().to_string();
        next
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    pub fn request(&self) -> Request {
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri(self.path.as_str());
        if let Some(key) = &self.idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        if !self.body.is_empty() {
            builder = builder.header("content-type", "application/json");
        }
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let body = if self.body.is_empty() {
            Body::Empty
        } else {
            Body::Binary(self.body.clone())
        };
        let mut context = Context::default();
        context.request_id = self.request_id.clone();
        let request = builder
            .body(body)
            .expect("valid request")
            .with_lambda_context(context);
        let context = self
            .authorized_as
            .as_deref()
            .map(replaysafe::testing::jwt_context);
        let context = match (context, &self.domain_name) {
            (context, None) => context,
            (context, Some(domain)) => {
                let mut ctx = match context {
                    Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx,
                    _ => Default::default(),
                };
                ctx.domain_name = Some(domain.clone());
                Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx))
            }
        };
        match context {
            None => request,
            Some(context) => request.with_request_context(context),
        }
    }

    /// The same call, as API Gateway hands it on when received on `domain`
    /// (`requestContext.domainName`): not re-signed, so a call signed for one deployment can
    /// be delivered to another.
    pub fn on_domain(mut self, domain: &str) -> Self {
        self.domain_name = Some(domain.to_owned());
        self
    }

    /// The same call, as API Gateway hands it on after its JWT authorizer accepted a token
    /// for `sub` (`None`: no authorizer context at all).
    pub fn authorized_as(mut self, sub: Option<&str>) -> Self {
        self.authorized_as = sub.map(str::to_owned);
        self
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }

    /// An RFC 9457 problem with the contract's status and code, marked `no-store`, never a
    /// replay, with `Retry-After` where the contract asks for one.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        self.assert_problem_in(status, code, code);
    }

    /// [`Answer::assert_problem`], saying `what` was sent when it fails.
    #[track_caller]
    pub fn assert_problem_in(&self, status: u16, code: &str, what: &str) {
        assert_eq!(
            self.status, status,
            "{what}: expected {code}: {}",
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{what}"
        );
        let problem = self.json();
        assert_eq!(problem["code"], code, "{what}: {}", self.body);
        assert_eq!(problem["status"], status, "{what}: {}", self.body);
        let kind = problem["type"].as_str().expect("type is a string");
        assert!(kind.ends_with(&format!("/{code}")), "{what}: type {kind}");
        assert!(
            problem["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{what}: {}",
            self.body
        );
        assert!(problem["detail"].is_string(), "{what}: {}", self.body);
        if matches!(code, "request-in-progress" | "unavailable") {
            let after = self.header("retry-after").expect("Retry-After");
            assert!(after.parse::<u32>().is_ok(), "{what}: Retry-After: {after}");
        }
        assert!(!self.replayed(), "{what}: an error is never a replay");
        assert_eq!(self.header("cache-control"), Some("no-store"), "{what}");
    }

    /// The problem code, for an error.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed") == Some("true")
    }
}

impl Call {
    /// Signs by hand, covering exactly `components` in that order (a client that covers less, or
    /// more, than the library's signer), with `extra_params` (e.g. `;expires=123`) appended after
    /// `created`, `nonce`, `keyid` and `alg`. Headers a component names are read from the call.
    pub fn sign_covering(mut self, components: &[&str], extra_params: &str) -> Self {
        let (path, query) = match self.path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (self.path.clone(), None),
        };
        let digest =
            (!self.body.is_empty()).then(|| replaysafe_signing::content_digest(&self.body));
        let listed: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
        let params = format!(
            r#"({});created={};nonce="{}";keyid="{}";alg="hmac-sha256"{extra_params}"#,
            listed.join(" "),
            self.created,
            self.nonce,
            self.signer.0.client_id,
        );
        let mut base = String::new();
        for c in components {
            let value = match *c {
                "@method" => self.method.clone(),
                "@path" => path.clone(),
                "@query" => format!("?{}", query.clone().unwrap_or_default()),
                // The host it is delivered to: API Gateway's domain name, else its Host header.
                "@authority" => self
                    .domain_name
                    .clone()
                    .or_else(|| {
                        let host = self.headers.iter().find(|(n, _)| n == "host");
                        host.map(|(_, v)| v.clone())
                    })
                    .expect("a domain name or Host header to cover")
                    .to_ascii_lowercase(),
                "content-digest" => digest.clone().expect("a body to digest"),
                "idempotency-key" => self.idempotency_key.clone().expect("an idempotency key"),
                other => self
                    .headers
                    .iter()
                    .find(|(n, _)| n == other)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("no {other} header to cover")),
            };
            base.push_str(&format!("\"{c}\": {value}\n"));
        }
        base.push_str(&format!("\"@signature-params\": {params}"));
        let mac = replaysafe_signing::hmac_sha256(&self.signer.0.secret, &base);
        use base64::Engine;
        let mac = base64::engine::general_purpose::STANDARD.encode(mac);
        self.headers.retain(|(n, _)| {
            !matches!(
                n.as_str(),
                "signature" | "signature-input" | "content-digest"
            )
        });
        if let Some(d) = digest {
            self.headers.push(("content-digest".into(), d));
        }
        self.headers
            .push(("signature-input".into(), format!("sig1={params}")));
        self.headers
            .push(("signature".into(), format!("sig1=:{mac}:")));
        self
    }

    /// Rewrites one header's value as a man in the middle would, without re-signing.
    pub fn edit_header(mut self, name: &str, edit: impl Fn(&str) -> String) -> Self {
        for (n, v) in &mut self.headers {
            if n == name {
                *v = edit(v);
            }
        }
        self
    }
}

impl TestApp {
    /// The live record under `client`'s idempotency key at the app clock's now, read past the API.
    pub async fn idempotency_record(
        &self,
        client: &TestClient,
        key: &str,
    ) -> Option<replaysafe::idempotency::IdempotencyRecord> {
        let client_id = replaysafe::ClientId::parse(&client.id).unwrap();
        let key = replaysafe::idempotency::IdempotencyKey::parse(Some(key)).unwrap();
        match self.key_state(&client_id, &key).await {
            Some(replaysafe::idempotency::KeyState::Answered(record)) => Some(record),
            _ => None,
        }
    }

    /// A POST admitted by the guard (nonce consumed, its key read and found empty), not yet
    /// committed: for staging what happens between the read and the transaction.
    pub async fn admit(&self, call: &Call) -> replaysafe::Admitted {
        let req = call.request();
        let incoming = replaysafe::http::Incoming::from_lambda(&req);
        let key = incoming.single_header("idempotency-key").unwrap().unwrap();
        let key = replaysafe::idempotency::IdempotencyKey::parse(Some(key)).unwrap();
        let owner = replaysafe::Principal::from_stored(call.signer.0.client_id.clone());
        assert_eq!(
            self.store
                .get_key_state(&owner, &key, self.clock.now())
                .await
                .unwrap(),
            None,
            "nothing under the key yet"
        );
        replaysafe::testing::admit(self.guard(), &incoming)
            .await
            .expect("admitted")
    }

    /// Commits `staged_answer()` for an admitted POST with no writes, the guard's transaction
    /// step alone.
    pub async fn commit_staged(
        &self,
        admitted: &replaysafe::Admitted,
        answer: replaysafe::idempotency::StoredResponse,
    ) -> Result<replaysafe::testing::Committed, replaysafe::GuardError> {
        let effect = replaysafe::Effect::<std::convert::Infallible>::new(answer);
        replaysafe::testing::commit(self.guard(), admitted, effect)
            .await
            .map_err(|e| match e {
                replaysafe::Error::Guard(e) => e,
                replaysafe::Error::App(never) => match never {},
            })
    }

    /// What lives under a key at the app clock's now (a record or a fence), read past the API.
    pub async fn key_state(
        &self,
        client_id: &replaysafe::ClientId,
        key: &replaysafe::idempotency::IdempotencyKey,
    ) -> Option<replaysafe::idempotency::KeyState> {
        self.store
            .get_key_state(&self.principal_of(client_id), key, self.clock.now())
            .await
            .expect("read idempotency table")
    }

    /// Who a client is to the guard: itself when it signs, or the principal its id names as a
    /// JWT's `sub` behind an authorizer.
    pub fn principal_of(&self, client_id: &replaysafe::ClientId) -> replaysafe::Principal {
        if self.behind_authorizer() {
            replaysafe::Principal::authorized(client_id.as_str()).expect("a client id is a sub")
        } else {
            replaysafe::Principal::client(client_id)
        }
    }

    /// The live fence under `client`'s idempotency key, read past the API.
    pub async fn fence(
        &self,
        client: &TestClient,
        key: &str,
    ) -> Option<replaysafe::idempotency::Fence> {
        let client_id = replaysafe::ClientId::parse(&client.id).unwrap();
        let key = replaysafe::idempotency::IdempotencyKey::parse(Some(key)).unwrap();
        match self.key_state(&client_id, &key).await {
            Some(replaysafe::idempotency::KeyState::Fenced(fence)) => Some(fence),
            _ => None,
        }
    }

    /// Deletes what the idempotency table holds under `client`'s key, as DynamoDB's TTL does
    /// some time after it expired.
    pub async fn delete_key_item(&self, client: &TestClient, key: &str) {
        let tables = self.store.tables();
        let owner = self.principal_of(&replaysafe::ClientId::parse(&client.id).unwrap());
        let pk = format!("{}{owner}#{key}", tables.key_prefix);
        self.store
            .client()
            .delete_item()
            .table_name(&tables.idempotency)
            .key(&tables.partition_key, AttributeValue::S(pk))
            .send()
            .await
            .expect("delete the key's item");
    }

    /// The `expires_at` of every item physically in the idempotency table, expired ones
    /// included (DynamoDB deletes them lazily, if at all).
    pub async fn idempotency_expiries(&self) -> Vec<i64> {
        let out = self
            .store
            .client()
            .scan()
            .table_name(&self.store.tables().idempotency)
            .send()
            .await
            .expect("scan");
        out.items()
            .iter()
            .filter_map(|item| item.get(replaysafe::store::schema::TTL_ATTRIBUTE))
            .filter_map(|v| v.as_n().ok()?.parse().ok())
            .collect()
    }
}

/// The endpoint with an id under the path's first segment (`GET /accounts/` → get-account):
/// API Gateway answers such paths itself, but the handlers must refuse their ids all the same.
fn by_collection(method: &str, path: &str) -> Option<Endpoint> {
    let collection = path.split('/').nth(1)?;
    payments::routes::ENDPOINTS
        .iter()
        .find(|row| {
            row.method == method
                && row.route.contains('{')
                && row.route.split('/').nth(1) == Some(collection)
        })
        .map(|row| row.endpoint)
}

/// Sends `call` through the handlers of any app (e.g. one whose guard sits on tables that do
/// not exist), routed by the endpoint table.
pub async fn send_via(app: &Payments, call: &Call) -> Answer {
    let req = call.request();
    let path = call.path.split('?').next().unwrap_or("");
    let endpoint = Endpoint::route(&call.method, path)
        .or_else(|| by_collection(&call.method, path))
        .unwrap_or_else(|| panic!("no route for {} {path}", call.method));
    Answer::of(endpoint.serve(app, &req).await)
}

impl Answer {
    /// A handler's response, as a client reads it.
    pub fn of(response: lambda_http::Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let body = match body {
            Body::Text(t) => t,
            Body::Binary(b) => String::from_utf8(b).expect("utf-8 body"),
            _ => String::new(),
        };
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

/// What requests can change in the store, read past the API: every account's
/// (balance, version), and how many transfer and idempotency records (stored answers) exist.
/// Fences and nonces are left out on purpose: a refusal fences its key, and a request that
/// passed the signature checks consumes its nonce, whatever its outcome: a request that passed the signature checks consumes its nonce whatever its
/// outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub accounts: BTreeMap<String, (u64, u64)>,
    pub transfers: usize,
    pub idempotency: usize,
}

/// A transfer record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTransfer {
    pub transfer_id: String,
    pub from: String,
    pub to: String,
    pub amount: u64,
}

impl TestApp {
    /// The table prefix of this app's tables (every table name starts with it).
    pub fn table_prefix(&self) -> String {
        let clients = &self.store.tables().clients;
        clients
            .strip_suffix("clients")
            .unwrap_or(clients)
            .to_owned()
    }

    /// Every item of a table, across pages, read consistently.
    pub async fn scan_all(&self, table: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .store
                .client()
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return items,
            }
        }
    }

    pub async fn snapshot(&self) -> Snapshot {
        let tables = self.store.tables().clone();
        let ledger = self.ledger.tables().clone();
        let accounts = self
            .scan_all(&ledger.accounts)
            .await
            .iter()
            .map(|item| {
                let s = |k: &str| item[k].as_s().expect("string").clone();
                let n = |k: &str| item[k].as_n().expect("number").parse::<u64>().unwrap();
                (s("account_id"), (n("balance"), n("version")))
            })
            .collect();
        Snapshot {
            accounts,
            transfers: self.scan_all(&ledger.transfers).await.len(),
            // Stored answers only: a refusal's fence is not an effect (it stores no answer).
            idempotency: self
                .scan_all(&tables.idempotency)
                .await
                .iter()
                .filter(|item| item.contains_key("fingerprint"))
                .count(),
        }
    }

    /// For a finding's report: every idempotency item (record or fence) and transfer record
    /// that mentions one of `needles` (an idempotency key, a transfer id), as stored.
    pub async fn evidence(&self, needles: &[&str]) -> String {
        let tables = [
            self.store.tables().idempotency.clone(),
            self.ledger.tables().transfers.clone(),
        ];
        let mut out = format!("evidence for {needles:?}:");
        for table in tables {
            for item in self.scan_all(&table).await {
                let shown = format!("{:?}", BTreeMap::from_iter(item.iter()));
                if needles.iter().any(|n| !n.is_empty() && shown.contains(n)) {
                    out.push_str(&format!("\n  {table}: {shown}"));
                }
            }
        }
        out
    }

    pub async fn transfers(&self) -> Vec<StoredTransfer> {
        let table = self.ledger.tables().transfers.clone();
        self.scan_all(&table)
            .await
            .iter()
            .map(|item| {
                let s = |k: &str| item[k].as_s().expect("string").clone();
                StoredTransfer {
                    transfer_id: s("transfer_id"),
                    from: s("from"),
                    to: s("to"),
                    amount: item["amount"].as_n().expect("number").parse().unwrap(),
                }
            })
            .collect()
    }

    /// Whether a live idempotency record (a stored answer, not a fence) holds `key` for `client`.
    pub async fn has_idempotency_record(&self, client: &TestClient, key: &str) -> bool {
        if replaysafe::idempotency::IdempotencyKey::parse(Some(key)).is_err() {
            return false;
        }
        self.idempotency_record(client, key).await.is_some()
    }
}

impl Call {
    /// Signs as `sign` does, but with `content_digest` as the (covered) Content-Digest header
    /// instead of the body's own digest: for requests whose signature is right but whose
    /// digest is not.
    pub fn sign_with_digest(mut self, content_digest: &str) -> Self {
        let (path, query) = match self.path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (self.path.clone(), None),
        };
        let mut components = vec![r#""@method""#, r#""@path""#];
        if query.as_deref().is_some_and(|q| !q.is_empty()) {
            components.push(r#""@query""#);
        }
        components.push(r#""content-digest""#);
        if self.idempotency_key.is_some() {
            components.push(r#""idempotency-key""#);
        }
        let input_header = format!(
            r#"sig1=({});created={};nonce="{}";keyid="{}";alg="hmac-sha256""#,
            components.join(" "),
            self.created,
            self.nonce,
            self.signer.0.client_id,
        );
        let (input, _) = parse_signature(&input_header, "sig1=:AAAA:").expect("valid input");
        let key = self.idempotency_key.clone();
        let header = |name: &str| -> Vec<String> {
            match name {
                "content-digest" => vec![content_digest.to_owned()],
                "idempotency-key" => key.iter().cloned().collect(),
                _ => vec![],
            }
        };
        let base = signature_base(
            &input,
            &Message {
                method: &self.method,
                path: &path,
                query: query.as_deref(),
                authority: None,
                header: &header,
            },
            true,
        )
        .expect("signature base");
        let mac = hmac_sha256(&self.signer.0.secret, &base);
        self.headers.retain(|(n, _)| {
            !matches!(
                n.as_str(),
                "signature" | "signature-input" | "content-digest"
            )
        });
        self.headers
            .push(("content-digest".into(), content_digest.to_owned()));
        self.headers.push(("signature-input".into(), input_header));
        self.headers.push((
            "signature".into(),
            format!("sig1=:{}:", STANDARD.encode(mac)),
        ));
        self
    }

    /// The value of a header as sent (the first one of that name).
    pub fn sent_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub mod crash;
pub mod faults;
pub mod function;
pub mod generate;
pub mod outside;
pub mod runtime_api;
pub mod server;
pub mod stall;
pub mod wire;

impl TestApp {
    /// An app whose guard reads the system clock, for clients that sign with the real time (the
    /// CLI, the client crate) through [`server::ApiServer`]. Its `clock` is set to the time of
    /// creation and does not move: helpers that read it see that time.
    pub async fn with_system_clock() -> Self {
        let mut app = Self::new().await;
        app.clock.set(replaysafe::SystemClock.now());
        app.app = app.app_on(app.store.clone(), Arc::new(replaysafe::SystemClock));
        app
    }

    /// Serves this app's tables over HTTP with the real clock (see
    /// [`TestApp::with_system_clock`]).
    pub async fn http_server(&self) -> server::ApiServer {
        server::ApiServer::start(self.app_on(self.store.clone(), Arc::new(replaysafe::SystemClock)))
            .await
    }
}

impl TestClient {
    /// The `{"client_id", "secret"}` file content that `admin create-client` prints.
    pub fn credentials_json(&self) -> String {
        serde_json::json!({"client_id": self.id, "secret": STANDARD.encode(&self.secret)})
            .to_string()
    }
}
