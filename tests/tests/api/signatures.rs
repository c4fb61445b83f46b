//! A signature must name a known, active key and cover what the contract requires: unknown
//! and revoked keys, missing signatures and uncovered components are refused.

use replaysafe::store::clients::ClientRecord;
use replaysafe_tests::{TestClient, World, T0};

use crate::support::{
    assert_balances, assert_counted_once, assert_fresh, pay, read_account, stranger,
};

#[tokio::test]
async fn an_unknown_keyid_is_refused_with_unknown_key() {
    let World { app, .. } = World::open().await;
    let read = read_account(&app, &stranger(), "acc_alice");
    app.send(&read).await.assert_problem(401, "unknown-key");
    let doc = assert_counted_once(&app, &read, "KeyUnknown");
    assert!(
        doc.get("Principal").is_none(),
        "no one was authenticated: {doc}"
    );

    let malformed = TestClient {
        id: "not a client id".into(),
        secret: vec![9; 32],
    };
    let read = read_account(&app, &malformed, "acc_alice");
    app.send(&read).await.assert_problem(401, "unknown-key");
}

#[tokio::test]
async fn a_revoked_client_is_refused_with_unknown_key() {
    let World { app, .. } = World::open().await;
    let revoked = TestClient {
        id: replaysafe::ClientId::generate().to_string(),
        secret: rand::random::<[u8; 32]>().to_vec(),
    };
    let record = ClientRecord {
        client_id: replaysafe::ClientId::parse(&revoked.id).unwrap(),
        secret: revoked.secret.clone(),
        active: false,
    };
    app.store.put_client(&record, T0).await.unwrap();

    let create = app.signed(&revoked, "POST", "/accounts", r#"{"currency":"EUR"}"#);
    app.send(&create).await.assert_problem(401, "unknown-key");
    app.send(&read_account(&app, &revoked, "acc_alice"))
        .await
        .assert_problem(401, "unknown-key");
}

#[tokio::test]
async fn a_request_without_signature_headers_is_refused_with_signature_missing() {
    let World { app, .. } = World::open().await;
    let cases: [&[&str]; 3] = [
        &["signature", "signature-input"],
        &["signature"],
        &["signature-input"],
    ];
    for removed in cases {
        let mut call = pay(&app, 100);
        for name in removed {
            call = call.without_header(name);
        }
        app.send(&call)
            .await
            .assert_problem(401, "signature-missing");
    }
    assert_balances(&app, 10_000, 0).await;
}

#[tokio::test]
async fn a_query_string_not_covered_by_query_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    let mut uncovered = read_account(&app, &app.alice, "acc_alice");
    uncovered.path.push_str("?expand=owner");
    app.send(&uncovered)
        .await
        .assert_problem(401, "signature-invalid");

    let covered = app.signed(&app.alice, "GET", "/accounts/acc_alice?expand=owner", "");
    let answer = app.send(&covered).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let mut edited = covered.resigned(T0);
    edited.path = "/accounts/acc_alice?expand=everything".into();
    app.send(&edited)
        .await
        .assert_problem(401, "signature-invalid");
}

#[tokio::test]
async fn a_post_not_covering_its_idempotency_key_or_digest_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    let no_key = pay(&app, 100).sign_covering(&["@method", "@path", "content-digest"], "");
    app.send(&no_key)
        .await
        .assert_problem(401, "signature-invalid");
    let no_digest = pay(&app, 100).sign_covering(&["@method", "@path", "idempotency-key"], "");
    app.send(&no_digest)
        .await
        .assert_problem(401, "signature-invalid");
    assert_balances(&app, 10_000, 0).await;

    // The same hand-made signature covering everything, in any order, is accepted.
    let reordered = pay(&app, 100).sign_covering(
        &["idempotency-key", "content-digest", "@path", "@method"],
        "",
    );
    assert_fresh(&app.send(&reordered).await);
    assert_balances(&app, 9_900, 100).await;
}
