//! Test harness: each test gets its own tables (a fresh prefix) in the one DynamoDB Local that
//! `make test` starts, its own clients, and a clock it moves by hand. Requests go through the
//! same handlers the Lambda functions run, built and signed as a real client would.

use std::sync::Arc;

use http::HeaderMap;
use lambda_http::{Body, Context, Request, RequestExt};
use replaysafe::store::clients::ClientRecord;
use replaysafe::store::schema::create_tables;
use replaysafe::store::sdk_client;
use replaysafe::{api, Clock, Config, Guard, ManualClock, Store, Tables};
use replaysafe_signing::{random_nonce, Signer};
use serde_json::Value;

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
    pub guard: Guard,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    pub alice: TestClient,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(tune: impl FnOnce(&mut Config)) -> Self {
        let prefix = format!("t{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let tables = Tables::with_prefix(&prefix);
        let client = sdk_client(Some(&endpoint())).await;
        create_tables(&client, &tables)
            .await
            .expect("create tables");
        let store = Store::new(client, tables.clone());
        let mut config = Config::new(tables);
        tune(&mut config);
        let clock = Arc::new(ManualClock::new(T0));
        let guard = Guard::new(store.clone(), config, clock.clone());
        let alice = new_client(&store).await;
        Self {
            guard,
            clock,
            store,
            alice,
        }
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
            unsigned: false,
            request_id: uuid::Uuid::new_v4().to_string(),
        }
        .sign()
    }

    pub async fn send(&self, call: &Call) -> Answer {
        let req = call.request();
        let response = match (
            call.method.as_str(),
            call.path.split('?').next().unwrap_or(""),
        ) {
            ("POST", "/accounts") => api::serve(&self.guard, &req, api::create_account).await,
            ("POST", "/transfers") => api::serve(&self.guard, &req, api::create_transfer).await,
            ("GET", p) if p.starts_with("/accounts/") => {
                api::serve(&self.guard, &req, api::get_account).await
            }
            ("GET", p) if p.starts_with("/transfers/") => {
                api::serve(&self.guard, &req, api::get_transfer).await
            }
            (m, p) => panic!("no route for {m} {p}"),
        };
        let (parts, body) = response.into_parts();
        let body = match body {
            Body::Text(t) => t,
            Body::Binary(b) => String::from_utf8(b).expect("utf-8 body"),
            Body::Empty => String::new(),
            _ => String::new(),
        };
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
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
        let id = replaysafe::domain::AccountId::parse(id).unwrap();
        self.store
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

async fn new_client(store: &Store) -> TestClient {
    let id = replaysafe::domain::ClientId::generate();
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
    pub unsigned: bool,
    /// The Lambda request id it arrives under; the same id means the same invocation.
    pub request_id: String,
}

/// `Signer` is not `Clone` (it holds a secret); tests need to re-sign copies.
pub struct SignerBox(Signer);

impl Clone for SignerBox {
    fn clone(&self) -> Self {
        Self(Signer::new(self.0.client_id.clone(), self.0.secret.clone()))
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
        builder
            .body(body)
            .expect("valid request")
            .with_lambda_context(context)
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
