//! Keys against DynamoDB Local, through the payments handlers: a client rotates from its first
//! key to a second with no failed request and no lost state (accounts, stored answers and nonces
//! belong to the client, whichever key signed); at most two active keys, however many creations
//! race; a revoked key is refused within the cache bound and an expired one at its expiry,
//! while the other key keeps working; `alg` must be the key's; a client item written before
//! keys existed is its first key.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use payments::Payments;
use replaysafe::auth::{HmacSha256, SignatureAlgorithm};
use replaysafe::store::keys::{KeyError, KeyStatus, NewKey};
use replaysafe::store::AttributeValue;
use replaysafe::{ClientId, Clock, Guard, KeyId};
use replaysafe_signing::random_nonce;
use replaysafe_tests::{send_via, Call, SignerBox, TestApp, TestClient, T0};

/// A new HMAC key of `client`, active now, expiring at `expires_at`: the signer of its requests.
async fn new_key(app: &TestApp, client: &TestClient, expires_at: Option<i64>) -> TestClient {
    let secret = rand::random::<[u8; 32]>().to_vec();
    let key = NewKey {
        key_id: KeyId::generate(),
        alg: "hmac-sha256".into(),
        material: secret.clone(),
        expires_at,
    };
    app.store
        .create_key(&client_id(client), &key, app.clock.now())
        .await
        .expect("create key");
    TestClient {
        id: key.key_id.to_string(),
        secret,
    }
}

fn client_id(client: &TestClient) -> ClientId {
    ClientId::parse(&client.id).unwrap()
}

fn account(id: &str, balance: u64) -> String {
    format!(r#"{{"account_id":"{id}","currency":"EUR","initial_balance":{balance}}}"#)
}

/// `call` as `signer` signs it: the same operation (key, body), a new attempt.
fn signed_by(call: &Call, signer: &TestClient, created: i64) -> Call {
    let mut next = call.clone();
    next.signer = SignerBox::from(signer.signer());
    next.resigned(created)
}

#[tokio::test]
async fn a_rotation_fails_no_request_and_loses_no_state() {
    let app = TestApp::new().await;
    let key_a = &app.alice;
    let send = async |call: &Call| app.send(call).await;

    // Key A (the first, its id the client id) opens the accounts and pays.
    for (id, balance) in [("acc_rot_a", 10_000), ("acc_rot_b", 0)] {
        let answer = send(&app.signed(key_a, "POST", "/accounts", &account(id, balance))).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    let transfer = TestApp::transfer_body("acc_rot_a", "acc_rot_b", 10);
    let mut paid = 0;
    for _ in 0..3 {
        app.clock.advance(1);
        let answer = send(&app.signed(key_a, "POST", "/transfers", &transfer)).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        paid += 10;
    }

    // Key B: works at once, for the same client, while A still works.
    let key_b = new_key(&app, key_a, None).await;
    assert_ne!(key_b.id, key_a.id);
    for key in [key_a, &key_b, key_a, &key_b] {
        app.clock.advance(1);
        let answer = send(&app.signed(key, "POST", "/transfers", &transfer)).await;
        assert_eq!(answer.status, 201, "under {}: {}", key.id, answer.body);
        paid += 10;
    }
    let read = send(&app.signed(&key_b, "GET", "/accounts/acc_rot_a", "")).await;
    assert_eq!(read.status, 200, "A's account is B's: {}", read.body);

    // An operation begun under A and retried under B gets A's stored answer, with no effect.
    app.clock.advance(1);
    let under_a = app.signed(key_a, "POST", "/transfers", &transfer);
    let first = send(&under_a).await;
    assert_eq!(first.status, 201, "{}", first.body);
    paid += 10;
    let retry = send(&signed_by(&under_a, &key_b, app.clock.now() + 1)).await;
    assert!(retry.replayed(), "{} {}", retry.status, retry.body);
    assert_eq!(retry.body, first.body);
    // And a key A used with another body is refused under B too: the key is the client's.
    let mut reused = under_a.clone();
    reused.body = TestApp::transfer_body("acc_rot_a", "acc_rot_b", 11).into_bytes();
    send(&signed_by(&reused, &key_b, app.clock.now() + 2))
        .await
        .assert_problem(422, "idempotency-key-reused");

    // A nonce used under A is used for the client: B cannot use it again.
    app.clock.advance(3);
    let nonce = random_nonce();
    let mut read_a = app.signed(key_a, "GET", "/accounts/acc_rot_b", "");
    read_a.nonce = nonce.clone();
    assert_eq!(send(&read_a.sign()).await.status, 200);
    let mut read_b = app.signed(&key_b, "GET", "/accounts/acc_rot_b", "");
    read_b.nonce = nonce;
    send(&read_b.sign())
        .await
        .assert_problem(401, "nonce-reused");

    // A revoked: B goes on.
    app.store
        .revoke_key(&client_id(key_a), &KeyId::parse(&key_a.id).unwrap())
        .await
        .unwrap();
    app.clock.advance(1);
    let answer = send(&app.signed(&key_b, "POST", "/transfers", &transfer)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    paid += 10;

    assert_eq!(app.balance("acc_rot_b").await, paid);
    assert_eq!(app.balance("acc_rot_a").await, 10_000 - paid);
    assert_eq!(app.transfers().await.len() as u64, paid / 10);
}

#[tokio::test]
async fn a_third_active_key_is_refused_however_many_creations_race() {
    let app = TestApp::new().await;
    for round in 0..5 {
        let client = app.new_client().await;
        let id = client_id(&client);
        // The first key and N racing creations: exactly one gets the second slot.
        let racers = 2 + round % 3;
        let keys: Vec<NewKey> = (0..racers)
            .map(|_| NewKey {
                key_id: KeyId::generate(),
                alg: "hmac-sha256".into(),
                material: rand::random::<[u8; 32]>().to_vec(),
                expires_at: None,
            })
            .collect();
        let results = futures::future::join_all(
            keys.iter()
                .map(|key| app.store.create_key(&id, key, app.clock.now())),
        )
        .await;
        let created = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(created, 1, "round {round}: {results:?}");
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(refused, KeyError::TooManyKeys(_)), "{refused:?}");
        }
        let listed = app.store.list_keys(&id).await.unwrap();
        let active = listed.iter().filter(|k| k.is_active(app.clock.now()));
        assert_eq!(active.count(), 2, "round {round}: {listed:?}");
    }

    // Revoked and expired keys do not count.
    let client = app.new_client().await;
    let id = client_id(&client);
    let second = new_key(&app, &client, None).await;
    assert!(matches!(
        app.store
            .create_key(&id, &fresh_key(None), app.clock.now())
            .await,
        Err(KeyError::TooManyKeys(_))
    ));
    app.store
        .revoke_key(&id, &KeyId::parse(&second.id).unwrap())
        .await
        .unwrap();
    let now = app.clock.now();
    app.store
        .create_key(&id, &fresh_key(Some(now + 10)), now)
        .await
        .expect("a revoked key does not count");
    assert!(app
        .store
        .create_key(&id, &fresh_key(None), now)
        .await
        .is_err());
    app.store
        .create_key(&id, &fresh_key(None), now + 10)
        .await
        .expect("an expired key does not count");
}

fn fresh_key(expires_at: Option<i64>) -> NewKey {
    NewKey {
        key_id: KeyId::generate(),
        alg: "hmac-sha256".into(),
        material: rand::random::<[u8; 32]>().to_vec(),
        expires_at,
    }
}

/// The cache bound of the tests below: what `CLIENT_CACHE_SECONDS` is to a deployment.
const CACHE: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_revoked_key_gets_unknown_key_within_the_cache_bound_while_the_other_works() {
    let app = TestApp::with_config(|c| c.client_cache = CACHE).await;
    let key_a = &app.alice;
    let key_b = new_key(&app, key_a, None).await;
    let read = |key: &TestClient| app.signed(key, "GET", "/accounts/acc_rev", "");
    app.send(&app.signed(key_a, "POST", "/accounts", &account("acc_rev", 5)))
        .await;
    // Both keys cached.
    assert_eq!(app.send(&read(key_a)).await.status, 200);
    assert_eq!(app.send(&read(&key_b)).await.status, 200);

    app.store
        .revoke_key(&client_id(key_a), &KeyId::parse(&key_a.id).unwrap())
        .await
        .unwrap();
    let revoked = Instant::now();
    let refused_after = loop {
        let b = app.send(&read(&key_b)).await;
        assert_eq!(b.status, 200, "key B throughout: {}", b.body);
        let a = app.send(&read(key_a)).await;
        if a.status == 401 {
            a.assert_problem(401, "unknown-key");
            break revoked.elapsed();
        }
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(
            revoked.elapsed() < CACHE + Duration::from_millis(500),
            "key A still accepted past the cache bound"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(refused_after <= CACHE + Duration::from_millis(500));
    // And it stays refused.
    tokio::time::sleep(CACHE).await;
    app.send(&read(key_a))
        .await
        .assert_problem(401, "unknown-key");
    assert_eq!(app.send(&read(&key_b)).await.status, 200);

    let listed = app.store.list_keys(&client_id(key_a)).await.unwrap();
    let statuses: Vec<_> = listed.iter().map(|k| k.status(app.clock.now())).collect();
    assert_eq!(statuses, [KeyStatus::Revoked, KeyStatus::Active]);
}

#[tokio::test]
async fn an_expired_key_gets_unknown_key_at_its_expiry_while_the_other_works() {
    // A cache far longer than the key's life: the expiry is checked at every use.
    let app = TestApp::with_config(|c| c.client_cache = Duration::from_secs(600)).await;
    let key_a = &app.alice;
    let key_b = new_key(&app, key_a, Some(T0 + 30)).await;
    app.send(&app.signed(key_a, "POST", "/accounts", &account("acc_exp", 5)))
        .await;
    let read = |key: &TestClient| app.signed(key, "GET", "/accounts/acc_exp", "");
    app.clock.advance(29);
    assert_eq!(app.send(&read(&key_b)).await.status, 200, "cached now");
    app.clock.advance(1);
    app.send(&read(&key_b))
        .await
        .assert_problem(401, "unknown-key");
    assert_eq!(app.send(&read(key_a)).await.status, 200);
    let listed = app.store.list_keys(&client_id(key_a)).await.unwrap();
    assert_eq!(listed[1].status(app.clock.now()), KeyStatus::Expired);
}

/// Verifies HMAC-SHA256 under the name `ed25519`: a stand-in that shows the guard verifies
/// with the algorithm the key names.
struct StandIn;

impl SignatureAlgorithm for StandIn {
    fn name(&self) -> &str {
        "ed25519"
    }
    fn verify(&self, key: &[u8], base: &str, signature: &[u8]) -> bool {
        HmacSha256.verify(key, base, signature)
    }
}

/// A signed GET of `path` by `key`, with `alg` as its `alg` parameter (none when `None`).
fn get_with_alg(app: &TestApp, key: &TestClient, path: &str, alg: Option<&str>) -> Call {
    let mut call = app.signed(key, "GET", path, "");
    let alg = alg.map(|a| format!(r#";alg="{a}""#)).unwrap_or_default();
    let params = format!(
        r#"("@method" "@path");created={};nonce="{}";keyid="{}"{alg}"#,
        call.created, call.nonce, key.id
    );
    let base = format!("\"@method\": GET\n\"@path\": {path}\n\"@signature-params\": {params}");
    let mac = STANDARD.encode(replaysafe_signing::hmac_sha256(&key.secret, &base));
    call.headers
        .retain(|(n, _)| n != "signature" && n != "signature-input");
    call.headers
        .push(("signature-input".into(), format!("sig1={params}")));
    call.headers
        .push(("signature".into(), format!("sig1=:{mac}:")));
    call
}

#[tokio::test]
async fn alg_when_sent_must_be_the_keys_algorithm() {
    let app = TestApp::new().await;
    let guard = Guard::builder(app.guard().config().clone())
        .sdk_client(app.store.client().clone())
        .clock(app.clock.clone())
        .algorithm(StandIn)
        .build()
        .await
        .unwrap();
    let payments = Payments::new(guard, app.ledger.clone());
    let hmac_key = &app.alice;
    let ed_key = {
        let secret = rand::random::<[u8; 32]>().to_vec();
        let key = NewKey {
            key_id: KeyId::generate(),
            alg: "ed25519".into(),
            material: secret.clone(),
            expires_at: None,
        };
        app.store
            .create_key(&client_id(hmac_key), &key, T0)
            .await
            .unwrap();
        TestClient {
            id: key.key_id.to_string(),
            secret,
        }
    };
    app.send(&app.signed(hmac_key, "POST", "/accounts", &account("acc_alg", 5)))
        .await;
    let path = "/accounts/acc_alg";
    for (key, alg, expected) in [
        (hmac_key, Some("hmac-sha256"), 200),
        (hmac_key, None, 200),
        (hmac_key, Some("ed25519"), 401),
        (&ed_key, Some("ed25519"), 200),
        (&ed_key, None, 200),
        (&ed_key, Some("hmac-sha256"), 401),
    ] {
        let answer = send_via(&payments, &get_with_alg(&app, key, path, alg)).await;
        if expected == 401 {
            answer.assert_problem_in(401, "signature-invalid", &format!("{} {alg:?}", key.id));
        } else {
            assert_eq!(answer.status, 200, "{} {alg:?}: {}", key.id, answer.body);
        }
    }
    // A guard without the algorithm refuses a signature naming it before any lookup.
    let answer = app
        .send(&get_with_alg(&app, hmac_key, path, Some("ed25519")))
        .await;
    answer.assert_problem(401, "signature-invalid");
}

#[tokio::test]
async fn a_client_item_written_before_keys_existed_is_its_first_key() {
    let app = TestApp::new().await;
    // The item as `create-client` has always written it: no alg, no owner, no key set.
    let id = ClientId::generate();
    let secret = rand::random::<[u8; 32]>().to_vec();
    app.store
        .client()
        .put_item()
        .table_name(&app.store.tables().clients)
        .item("client_id", AttributeValue::S(id.to_string()))
        .item("secret", AttributeValue::S(STANDARD.encode(&secret)))
        .item("status", AttributeValue::S("active".into()))
        .item("created_at", AttributeValue::N(T0.to_string()))
        .send()
        .await
        .unwrap();
    let old = TestClient {
        id: id.to_string(),
        secret,
    };
    let answer = app
        .send(&app.signed(&old, "POST", "/accounts", &account("acc_old", 5)))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);

    let listed = app.store.list_keys(&id).await.unwrap();
    assert_eq!(listed.len(), 1);
    let first = &listed[0];
    assert_eq!(first.key_id.as_str(), id.as_str());
    assert_eq!(first.client_id, id);
    assert_eq!(first.alg, "hmac-sha256");
    assert_eq!(first.status(T0), KeyStatus::Active);

    // Its use is recorded (off the request's path, so a moment later), once a minute at most.
    let used = async || app.store.list_keys(&id).await.unwrap()[0].last_used_at;
    let deadline = Instant::now() + Duration::from_secs(5);
    while used().await.is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(used().await, Some(T0));
    app.clock.advance(5);
    let answer = app
        .send(&app.signed(&old, "GET", "/accounts/acc_old", ""))
        .await;
    assert_eq!(answer.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(used().await, Some(T0), "not again within the minute");

    // It can still get a second key, which works beside it.
    let second = new_key(&app, &old, None).await;
    let answer = app
        .send(&app.signed(&second, "GET", "/accounts/acc_old", ""))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// The clients table item stored under `id`, as DynamoDB holds it.
async fn raw_item(app: &TestApp, id: &str) -> std::collections::HashMap<String, AttributeValue> {
    app.store
        .client()
        .get_item()
        .table_name(&app.store.tables().clients)
        .key("client_id", AttributeValue::S(id.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the key's item")
}

/// Whether `secret` shows anywhere in `item`: as base64, or as raw bytes in any attribute's
/// value, decoded from base64 or not.
fn holds_secret(item: &std::collections::HashMap<String, AttributeValue>, secret: &[u8]) -> bool {
    let encoded = STANDARD.encode(secret);
    item.values().any(|value| {
        let text = match value {
            AttributeValue::S(s) => s.clone(),
            other => format!("{other:?}"),
        };
        let decoded = STANDARD.decode(&text).unwrap_or_default();
        text.contains(&encoded)
            || [text.as_bytes(), &decoded]
                .iter()
                .any(|bytes| bytes.windows(secret.len()).any(|w| w == secret))
    })
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_and_sign_end_to_end() {
    let app = TestApp::new().await;
    let first = &app.alice;
    let second = new_key(&app, first, None).await;
    for key in [first, &second] {
        let item = raw_item(&app, &key.id).await;
        assert!(
            !item.contains_key("secret"),
            "{} stored in plaintext",
            key.id
        );
        assert!(item.contains_key("sealed_secret"));
        assert!(!holds_secret(&item, &key.secret), "{} in its item", key.id);
        // The whole table, for good measure.
        for item in app.scan_all(&app.store.tables().clients).await {
            assert!(!holds_secret(&item, &key.secret));
        }
    }
    // The check can fail: a plaintext item is caught.
    let mut plaintext = raw_item(&app, &first.id).await;
    plaintext.insert(
        "secret".into(),
        AttributeValue::S(STANDARD.encode(&first.secret)),
    );
    assert!(holds_secret(&plaintext, &first.secret));

    for (key, id) in [(first, "acc_sealed_a"), (&second, "acc_sealed_b")] {
        let answer = app
            .send(&app.signed(key, "POST", "/accounts", &account(id, 5)))
            .await;
        assert_eq!(answer.status, 201, "under {}: {}", key.id, answer.body);
    }
    // Listing keys opens no secret.
    let listed = app.store.list_keys(&client_id(first)).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|k| k.material.is_empty()));
}

#[tokio::test]
async fn a_sealed_secret_moved_or_tampered_with_makes_its_key_unusable() {
    let app = TestApp::new().await;
    let victim = app.new_client().await;
    let other = new_key(&app, &victim, None).await;
    let tampered = app.new_client().await;
    // The other key's sealed secret copied into the first key's item: whoever holds the other
    // key's secret must not sign as the first key.
    let moved = raw_item(&app, &other.id).await["sealed_secret"].clone();
    let mut flipped = STANDARD
        .decode(
            raw_item(&app, &tampered.id).await["sealed_secret"]
                .as_s()
                .unwrap(),
        )
        .unwrap();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    for (id, sealed) in [
        (&victim.id, moved),
        (&tampered.id, AttributeValue::S(STANDARD.encode(flipped))),
    ] {
        app.store
            .client()
            .update_item()
            .table_name(&app.store.tables().clients)
            .key("client_id", AttributeValue::S(id.clone()))
            .update_expression("SET sealed_secret = :s")
            .expression_attribute_values(":s", sealed)
            .send()
            .await
            .unwrap();
    }
    let as_victim = TestClient {
        id: victim.id.clone(),
        secret: other.secret.clone(),
    };
    for (signer, what) in [
        (&as_victim, "moved"),
        (&victim, "moved, the right secret"),
        (&tampered, "tampered"),
    ] {
        let answer = app
            .send(&app.signed(signer, "GET", "/accounts/acc_none", ""))
            .await;
        answer.assert_problem_in(500, "internal", what);
    }
    // The key it was moved from still works.
    let answer = app
        .send(&app.signed(&other, "GET", "/accounts/acc_none", ""))
        .await;
    answer.assert_problem(404, "not-found");
}

#[tokio::test]
async fn plaintext_secrets_are_sealed_in_place() {
    let app = TestApp::new().await;
    let id = ClientId::generate();
    let secret = rand::random::<[u8; 32]>().to_vec();
    app.store
        .client()
        .put_item()
        .table_name(&app.store.tables().clients)
        .item("client_id", AttributeValue::S(id.to_string()))
        .item("secret", AttributeValue::S(STANDARD.encode(&secret)))
        .item("status", AttributeValue::S("active".into()))
        .send()
        .await
        .unwrap();
    let old = TestClient {
        id: id.to_string(),
        secret: secret.clone(),
    };
    assert!(holds_secret(&raw_item(&app, &old.id).await, &secret));

    assert_eq!(app.store.seal_plaintext_secrets().await.unwrap(), 1);
    assert_eq!(
        app.store.seal_plaintext_secrets().await.unwrap(),
        0,
        "again"
    );
    let item = raw_item(&app, &old.id).await;
    assert!(!item.contains_key("secret"));
    assert!(!holds_secret(&item, &secret));
    // A guard that never saw the plaintext (a cold one) verifies with the sealed secret.
    let cold = app.app_tuned(|_| {});
    let answer = send_via(
        &cold,
        &app.signed(&old, "POST", "/accounts", &account("acc_m", 1)),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}
