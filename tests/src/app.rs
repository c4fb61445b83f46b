//! The app under test: the payments app on tables of its own (a fresh prefix) in the one
//! DynamoDB Local, its clients, the fixture [`World`], and the sender that routes a [`Call`]
//! through the same handlers the Lambda functions run.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use payments::routes::{Route, ENDPOINTS};
use payments::{Payments, PaymentsStore, PaymentsTables};
use replaysafe::guard::GuardBuilder;
use replaysafe::metrics::{Scheme, DEFAULT_NAMESPACE, DEFAULT_SERVICE};
use replaysafe::store::clients::ClientRecord;
use replaysafe::store::schema::create_tables;
use replaysafe::store::sdk_client;
use replaysafe::testing::CapturedMetrics;
use replaysafe::{Clock, Config, Guard, ManualClock, Store, Tables};
use replaysafe_signing::Signer;

use crate::server::ApiServer;
use crate::{endpoint, Answer, Call, T0};

/// A client the app knows (its record is in the clients table), with its signing secret.
pub struct TestClient {
    pub id: String,
    pub secret: Vec<u8>,
}

impl TestClient {
    pub fn signer(&self) -> Signer {
        Signer::new(self.id.clone(), self.secret.clone())
    }

    /// The `{"client_id", "secret"}` file content that `admin create-client` prints.
    pub fn credentials_json(&self) -> String {
        serde_json::json!({"client_id": self.id, "secret": STANDARD.encode(&self.secret)})
            .to_string()
    }
}

/// The payments app on fresh tables, with a clock the test moves and one client, Alice.
pub struct TestApp {
    /// The app the functions run: the guard and the payments store.
    pub app: Payments,
    pub clock: Arc<ManualClock>,
    /// The guard's tables (clients, nonces, idempotency).
    pub store: Store,
    /// The app's tables (accounts, transfers).
    pub ledger: PaymentsStore,
    pub alice: TestClient,
    /// The metric documents of every guard this app builds (its own, `app_on`, the payouts
    /// consumer, the withdrawals app): one per request or record, in order.
    pub metrics: CapturedMetrics,
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
        let metrics = CapturedMetrics::new();
        let guard = guard_captured(store.clone(), config, clock.clone(), &metrics).await;
        let alice = new_client(&store).await;
        Self {
            app: Payments::new(guard, ledger.clone()),
            clock,
            store,
            ledger,
            alice,
            metrics,
        }
    }

    /// The guard the endpoints run under.
    pub fn guard(&self) -> &Guard {
        self.app.guard()
    }

    /// The metric documents this app's guards wrote so far, each checked against the EMF
    /// specification ([`crate::emf`]).
    pub fn documents(&self) -> Vec<serde_json::Value> {
        let docs = self.metrics.documents();
        crate::emf::assert_valid(&docs);
        docs
    }

    /// The one document of the request `call` (by its request id).
    pub fn document_of(&self, call: &Call) -> serde_json::Value {
        let docs: Vec<_> = self
            .documents()
            .into_iter()
            .filter(|d| d["RequestId"] == call.request_id.as_str())
            .collect();
        assert_eq!(
            docs.len(),
            1,
            "one document for {}: {docs:?}",
            call.request_id
        );
        docs.into_iter().next().expect("one")
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
        let guard = futures::executor::block_on(self.guard_on(
            self.store.clone(),
            config,
            self.clock.clone(),
        ));
        Payments::new(guard, self.ledger.clone())
    }

    /// The same app on the same tables and clock, its guard's config changed by `tune` (a
    /// signature profile, a nonce table of its own): another deployment of the API, while the
    /// fixtures are made through this one.
    pub fn app_tuned(&self, tune: impl FnOnce(&mut Config)) -> Payments {
        let mut config = self.guard().config().clone();
        tune(&mut config);
        let guard = futures::executor::block_on(self.guard_on(
            self.store.clone(),
            config,
            self.clock.clone(),
        ));
        Payments::new(guard, self.ledger.clone())
    }

    /// [`TestApp::app_on`], with the app's tables on `ledger` too.
    pub fn app_with(&self, store: Store, ledger: PaymentsStore, clock: Arc<dyn Clock>) -> Payments {
        let config = Config {
            tables: store.tables().clone(),
            ..self.guard().config().clone()
        };
        let guard = futures::executor::block_on(self.guard_on(store, config, clock));
        Payments::new(guard, ledger)
    }

    /// [`guard_on`], its metric documents into [`TestApp::metrics`].
    pub async fn guard_on(&self, store: Store, config: Config, clock: Arc<dyn Clock>) -> Guard {
        guard_captured(store, config, clock, &self.metrics).await
    }

    pub async fn new_client(&self) -> TestClient {
        new_client(&self.store).await
    }

    /// A signed request from `client`, at the app clock's now, with a fresh nonce and, for a
    /// POST, a fresh idempotency key. Adjust before `send`.
    pub fn signed(&self, client: &TestClient, method: &str, path: &str, body: &str) -> Call {
        let mut call = Call::new(client.signer(), method, path, body, self.clock.now());
        call.authorized_as = self.behind_authorizer().then(|| client.id.clone());
        call
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

    /// An app whose guard reads the system clock, for clients that sign with the real time (the
    /// CLI, the client crate) through [`ApiServer`]. Its `clock` is set to the time of
    /// creation and does not move: helpers that read it see that time.
    pub async fn with_system_clock() -> Self {
        let mut app = Self::new().await;
        app.clock.set(replaysafe::SystemClock.now());
        app.app = app.app_on(app.store.clone(), Arc::new(replaysafe::SystemClock));
        app
    }

    /// Serves this app's tables over HTTP with the real clock (see
    /// [`TestApp::with_system_clock`]).
    pub async fn http_server(&self) -> ApiServer {
        ApiServer::start(self.app_on(self.store.clone(), Arc::new(replaysafe::SystemClock))).await
    }
}

/// A guard over `store` with `config` as the test tuned it (a retention of a minute, say: no
/// deployment may have one, so it is built unchecked) and `clock`.
pub async fn guard_on(store: Store, config: Config, clock: Arc<dyn Clock>) -> Guard {
    builder_on(store, config, clock).build_unchecked().await
}

/// [`guard_on`], its metric documents kept by `metrics`.
async fn guard_captured(
    store: Store,
    config: Config,
    clock: Arc<dyn Clock>,
    metrics: &CapturedMetrics,
) -> Guard {
    builder_on(store, config, clock)
        .metrics(metrics.metrics(Scheme::new(DEFAULT_NAMESPACE, DEFAULT_SERVICE)))
        .build_unchecked()
        .await
}

fn builder_on(store: Store, config: Config, clock: Arc<dyn Clock>) -> GuardBuilder {
    Guard::builder(config)
        .sdk_client(store.client().clone())
        .clock(clock)
        .warm_up(false)
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

/// The route with an id under the path's first segment (`GET /accounts/` → get-account):
/// API Gateway answers such paths itself, but the handlers must refuse their ids all the same.
fn by_collection(method: &str, path: &str) -> Option<Route> {
    let collection = path.split('/').nth(1)?;
    ENDPOINTS
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
    let route = Route::matching(&call.method, path)
        .or_else(|| by_collection(&call.method, path))
        .unwrap_or_else(|| panic!("no route for {} {path}", call.method));
    Answer::of(route.serve(app, &req).await)
}
