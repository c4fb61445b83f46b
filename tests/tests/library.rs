//! The library's seams against DynamoDB Local, through the payments handlers: keys from a
//! source of the app's choosing, a plugged signature algorithm, and the guard's items under
//! attribute names and a key prefix of the app's choosing. Replays still have no effect and
//! refusals still stay refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use payments::Payments;
use replaysafe::auth::{HmacSha256, KeyLookup, KeySource, SignatureAlgorithm};
use replaysafe::store::clients::ClientRecord;
use replaysafe::store::keys::KeyRecord;
use replaysafe::store::schema::create_tables;
use replaysafe::store::AttributeValue;
use replaysafe::{ClientId, Clock, Config, Guard, KeyId, Tables};
use replaysafe_tests::{send_via, TestApp, TestClient};

/// Keys held in memory, as an app would load them from Secrets Manager; counts lookups.
struct MemoryKeys {
    keys: HashMap<String, (Vec<u8>, bool)>,
    lookups: AtomicUsize,
}

impl KeySource for MemoryKeys {
    fn key<'a>(&'a self, key_id: &'a KeyId) -> KeyLookup<'a> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let record = self
            .keys
            .get(key_id.as_str())
            .map(|(secret, active)| KeyRecord {
                key_id: key_id.clone(),
                client_id: ClientId::parse(key_id.as_str()).unwrap(),
                alg: "hmac-sha256".into(),
                material: secret.clone(),
                active: *active,
                created_at: 0,
                expires_at: None,
                last_used_at: None,
            });
        Box::pin(async move { Ok(record) })
    }
}

fn memory_client(name: &str) -> TestClient {
    TestClient {
        id: format!("cli_{name}"),
        secret: rand::random::<[u8; 32]>().to_vec(),
    }
}

/// The payments app on `guard`, over the test app's ledger.
fn payments_on(app: &TestApp, guard: Guard) -> Payments {
    Payments::new(guard, app.ledger.clone())
}

fn guard_with(app: &TestApp, config: Config) -> replaysafe::guard::GuardBuilder {
    Guard::builder(config)
        .sdk_client(app.store.client().clone())
        .clock(app.clock.clone())
}

const ACCOUNT: &str = r#"{"account_id":"acc_keys","currency":"EUR","initial_balance":100}"#;

#[tokio::test]
async fn keys_from_the_apps_own_source_sign_for_clients_the_clients_table_never_heard_of() {
    let app = TestApp::new().await;
    let (carol, mallory) = (memory_client("carol"), memory_client("mallory"));
    let keys = Arc::new(MemoryKeys {
        keys: HashMap::from([
            (carol.id.clone(), (carol.secret.clone(), true)),
            (mallory.id.clone(), (mallory.secret.clone(), false)),
        ]),
        lookups: AtomicUsize::new(0),
    });
    let mut config = app.guard().config().clone();
    // The clients table does not exist: any read of it would fail the request.
    config.tables.clients = "no-such-table".into();
    let guard = guard_with(&app, config)
        .keys(keys.clone())
        .build()
        .await
        .expect("a valid config");
    let payments = payments_on(&app, guard);

    let call = app.signed(&carol, "POST", "/accounts", ACCOUNT);
    let first = send_via(&payments, &call).await;
    assert_eq!(first.status, 201, "{}", first.body);
    app.clock.advance(1);
    let retry = send_via(&payments, &call.resigned(app.clock.now())).await;
    assert!(retry.replayed());
    assert_eq!(retry.body, first.body);
    send_via(&payments, &call.replayed())
        .await
        .assert_problem(401, "nonce-reused");
    assert_eq!(app.balance("acc_keys").await, 100);
    assert_eq!(
        keys.lookups.load(Ordering::SeqCst),
        1,
        "the guard caches what the source told it"
    );

    let revoked = app.signed(&mallory, "POST", "/accounts", ACCOUNT);
    send_via(&payments, &revoked)
        .await
        .assert_problem(401, "unknown-key");
    let stranger = app.signed(&memory_client("eve"), "POST", "/accounts", ACCOUNT);
    send_via(&payments, &stranger)
        .await
        .assert_problem(401, "unknown-key");
}

/// Verifies as HMAC-SHA256 does, or refuses everything.
struct Plugged {
    name: &'static str,
    accept: bool,
}

impl SignatureAlgorithm for Plugged {
    fn name(&self) -> &str {
        self.name
    }
    fn verify(&self, key: &[u8], base: &str, signature: &[u8]) -> bool {
        self.accept && HmacSha256.verify(key, base, signature)
    }
}

#[tokio::test]
async fn the_plugged_algorithm_decides_for_the_keys_of_its_name() {
    let app = TestApp::new().await;
    let config = app.guard().config().clone();
    for (algorithm, expected) in [
        (
            Plugged {
                name: "hmac-sha256",
                accept: true,
            },
            201,
        ),
        (
            Plugged {
                name: "hmac-sha256",
                accept: false,
            },
            401,
        ),
    ] {
        let guard = guard_with(&app, config.clone())
            .algorithm(algorithm)
            .build()
            .await
            .unwrap();
        let payments = payments_on(&app, guard);
        let body = format!(
            r#"{{"account_id":"acc_{expected}_{}","currency":"EUR","initial_balance":1}}"#,
            app.clock.now()
        );
        let answer = send_via(
            &payments,
            &app.signed(&app.alice, "POST", "/accounts", &body),
        )
        .await;
        if expected == 401 {
            answer.assert_problem(401, "signature-invalid");
        } else {
            assert_eq!(answer.status, 201, "{}", answer.body);
        }
        app.clock.advance(1);
    }
    assert_eq!(
        app.snapshot().await.accounts.len(),
        1,
        "only the accepted signature opened one"
    );
}

#[tokio::test]
async fn the_guards_items_take_the_apps_attribute_names_and_key_prefix() {
    let app = TestApp::new().await;
    let base = app.guard().config().tables.clone();
    let tables = Tables {
        idempotency: format!("{}guard-keys", app.table_prefix()),
        nonces: format!("{}guard-nonces", app.table_prefix()),
        partition_key: "id".into(),
        expires_at: "ttl".into(),
        key_prefix: "replaysafe#".into(),
        ..base
    };
    let specs: Vec<_> = tables.specs()[1..]
        .iter()
        .map(|&(name, mut spec)| {
            spec.ttl_attribute = None; // the tests' clock is in the past: see TestApp
            (name, spec)
        })
        .collect();
    create_tables(app.store.client(), &specs).await.unwrap();
    let config = Config::builder()
        .tables(tables.clone())
        .build()
        .expect("valid names");
    let guard = guard_with(&app, config).build().await.unwrap();
    let payments = payments_on(&app, guard);

    let open = app.signed(&app.alice, "POST", "/accounts", ACCOUNT);
    assert_eq!(send_via(&payments, &open).await.status, 201);
    app.clock.advance(1);
    assert!(send_via(&payments, &open.resigned(app.clock.now()))
        .await
        .replayed());

    // A refusal is fenced under the same names, and a held attempt stays refused.
    let other = ACCOUNT.replace("acc_keys", "acc_other");
    let open_other = app.signed(&app.alice, "POST", "/accounts", &other);
    assert_eq!(send_via(&payments, &open_other).await.status, 201);
    let too_much = TestApp::transfer_body("acc_keys", "acc_other", 1_000);
    let held = app.signed(&app.alice, "POST", "/transfers", &too_much);
    app.clock.advance(1);
    let refused = held.resigned(app.clock.now());
    send_via(&payments, &refused)
        .await
        .assert_problem(409, "insufficient-funds");
    send_via(&payments, &held)
        .await
        .assert_problem(409, "attempt-superseded");

    for table in [&tables.idempotency, &tables.nonces] {
        let items = app.scan_all(table).await;
        assert!(!items.is_empty(), "{table} holds the guard's items");
        for item in items {
            let id = item.get("id").and_then(|v| v.as_s().ok());
            assert!(
                id.is_some_and(|id| id.starts_with("replaysafe#")),
                "{table}: {item:?}"
            );
            assert!(matches!(item.get("ttl"), Some(AttributeValue::N(_))));
            assert!(!item.contains_key("pk") && !item.contains_key("expires_at"));
        }
    }
    assert_eq!(
        app.scan_count(&base_idempotency(&app)).await,
        0,
        "nothing under the default names"
    );
}

fn base_idempotency(app: &TestApp) -> String {
    app.guard().config().tables.idempotency.clone()
}

#[tokio::test]
async fn a_client_secret_under_32_bytes_signs_nothing_wherever_it_comes_from() {
    let app = TestApp::new().await;
    let weak = |name: &str, len: usize| TestClient {
        id: format!("cli_{name}"),
        secret: vec![7u8; len],
    };
    let (empty, short, enough) = (weak("empty", 0), weak("short", 31), weak("enough", 32));
    let keys =
        HashMap::from([&empty, &short, &enough].map(|c| (c.id.clone(), (c.secret.clone(), true))));
    let keys = MemoryKeys {
        keys,
        lookups: AtomicUsize::new(0),
    };
    let guard = guard_with(&app, app.guard().config().clone())
        .keys(keys)
        .build()
        .await
        .expect("a valid config");
    let payments = payments_on(&app, guard);
    // Anyone can compute a MAC under an empty or short key.
    for client in [&empty, &short] {
        let call = app.signed(client, "POST", "/accounts", ACCOUNT);
        send_via(&payments, &call)
            .await
            .assert_problem(401, "unknown-key");
    }
    assert_eq!(app.scan_count(&app.ledger.tables().accounts).await, 0);
    let call = app.signed(&enough, "POST", "/accounts", ACCOUNT);
    assert_eq!(send_via(&payments, &call).await.status, 201);

    // Nor does the clients table take one.
    let record = ClientRecord {
        client_id: ClientId::parse("cli_short").unwrap(),
        secret: short.secret.clone(),
        active: true,
    };
    assert!(app.store.put_client(&record, 0).await.is_err());
}

#[tokio::test]
async fn a_lambda_or_iam_authorizers_principal_plugs_in_by_json_pointer() {
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerIamDescription,
        ApiGatewayV2httpRequestContext,
    };
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    use payments::routes::Route;
    use replaysafe::Auth;
    use replaysafe_tests::Answer;

    let app = TestApp::new().await;
    let send = async |payments: &Payments, authorizer: ApiGatewayRequestAuthorizer, id: &str| {
        let body = format!(r#"{{"account_id":"{id}","currency":"EUR","initial_balance":1}}"#);
        let call = app.signed(&app.alice, "POST", "/accounts", &body);
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.authorizer = Some(authorizer);
        let req = call
            .request()
            .with_request_context(RequestContext::ApiGatewayV2(context));
        Answer::of(Route::CreateAccount.serve(payments, &req).await)
    };

    // A Lambda authorizer's context, `principalId` in it.
    let lambda = app.app_in_mode(Auth::Authorizer {
        principal: "/lambda/principalId".into(),
    });
    let mut from_lambda = ApiGatewayRequestAuthorizer::default();
    from_lambda.fields = HashMap::from([("principalId".to_owned(), "user-7".into())]);
    assert_eq!(send(&lambda, from_lambda, "acc_l").await.status, 201);
    send(&lambda, ApiGatewayRequestAuthorizer::default(), "acc_l2")
        .await
        .assert_problem(401, "unauthenticated");

    // IAM authorization: the caller's ARN.
    let iam = app.app_in_mode(Auth::Authorizer {
        principal: "/iam/userArn".into(),
    });
    let mut caller = ApiGatewayRequestAuthorizerIamDescription::default();
    caller.user_arn = Some("arn:aws:iam::123456789012:user/ops".into());
    let mut from_iam = ApiGatewayRequestAuthorizer::default();
    from_iam.iam = Some(caller);
    assert_eq!(send(&iam, from_iam, "acc_i").await.status, 201);
}

/// A key source that takes its time, and counts its lookups.
struct SlowKeys(AtomicUsize);

impl KeySource for SlowKeys {
    fn key<'a>(&'a self, _: &'a KeyId) -> KeyLookup<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Ok(None)
        })
    }
}

#[tokio::test]
async fn an_unknown_key_id_costs_one_lookup_however_many_requests_name_it() {
    let app = TestApp::new().await;
    let keys = Arc::new(SlowKeys(AtomicUsize::new(0)));
    let guard = guard_with(&app, app.guard().config().clone())
        .keys(keys.clone())
        .build()
        .await
        .expect("a valid config");
    let payments = payments_on(&app, guard);
    let ghost = memory_client("ghost");
    let calls: Vec<_> = (0..8)
        .map(|_| app.signed(&ghost, "POST", "/accounts", ACCOUNT))
        .collect();
    // Eight at once: one lookup between them (the others wait for its answer).
    let answers = futures::future::join_all(calls.iter().map(|c| send_via(&payments, c))).await;
    for answer in &answers {
        answer.assert_problem(401, "unknown-key");
    }
    // And for a few seconds after, the id is known to be unknown.
    send_via(&payments, &app.signed(&ghost, "POST", "/accounts", ACCOUNT))
        .await
        .assert_problem(401, "unknown-key");
    assert_eq!(keys.0.load(Ordering::SeqCst), 1);
    assert_eq!(app.scan_count(&app.ledger.tables().accounts).await, 0);
}
