//! Authorizer mode (contract part 2, section 1), end to end through the real handlers: the
//! caller is the `sub` API Gateway's JWT authorizer vouched for; no signature, nonce or window;
//! idempotency as with signatures, except that a business refusal is the key's final answer.

use replaysafe::{Auth, Clock};
use replaysafe_tests::{send_via, Call, TestApp, World};

async fn world() -> World {
    World::open_with(|c| c.auth = Auth::jwt()).await
}

fn pay(app: &TestApp, amount: u64) -> Call {
    let body = TestApp::transfer_body(World::ALICE, World::BOB, amount);
    app.signed(&app.alice, "POST", "/transfers", &body)
}

/// The same key with another body, as another invocation.
fn with_body(call: &Call, body: &str) -> Call {
    let mut next = call.replayed();
    next.body = body.as_bytes().to_vec();
    next.sign()
}

async fn balances(app: &TestApp) -> (u64, u64) {
    (
        app.balance(World::ALICE).await,
        app.balance(World::BOB).await,
    )
}

#[tokio::test]
async fn a_transfer_moves_money_once_and_its_retry_gets_the_first_answer() {
    let World { app, .. } = world().await;
    let call = pay(&app, 700);
    let first = app.send(&call).await;
    assert_eq!(
        (first.status, first.replayed()),
        (201, false),
        "{}",
        first.body
    );
    for retry in [call.replayed(), call.resigned(app.clock.now() + 30)] {
        let again = app.send(&retry).await;
        assert_eq!((again.status, again.replayed()), (201, true));
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("location"), first.header("location"));
    }
    assert_eq!(balances(&app).await, (9_300, 700));
    assert_eq!(app.transfers().await.len(), 1);
}

#[tokio::test]
async fn a_request_without_a_principal_is_401_unauthenticated_and_changes_nothing() {
    let World { app, .. } = world().await;
    let call = pay(&app, 700);
    let too_long = "s".repeat(256);
    for (sub, what) in [
        (
            None,
            "no authorizer context (a valid signature is not a principal here)",
        ),
        (Some(""), "an empty sub"),
        (Some(too_long.as_str()), "a sub of 256 characters"),
    ] {
        let answer = app.send(&call.clone().authorized_as(sub)).await;
        answer.assert_problem_in(401, "unauthenticated", what);
    }
    assert_eq!(balances(&app).await, (10_000, 0));
    // Nothing was stored under the key: the same key with a principal executes.
    assert_eq!(app.send(&call).await.status, 201);
}

#[tokio::test]
async fn a_business_refusal_is_the_keys_final_answer_even_after_its_cause_is_gone() {
    let World { app, bob } = world().await;
    let call = pay(&app, 20_000);
    let refused = app.send(&call).await;
    refused.assert_problem(409, "insufficient-funds");

    // Funds arrive: Bob pays Alice 20 000 from a rich account of his.
    app.open_account(&bob, "acc_bob_rich", "EUR", 50_000).await;
    let body = TestApp::transfer_body("acc_bob_rich", World::ALICE, 20_000);
    let topped_up = app
        .send(&app.signed(&bob, "POST", "/transfers", &body))
        .await;
    assert_eq!(topped_up.status, 201, "{}", topped_up.body);

    // The same key and request: the stored refusal again, marked replayed, no effect.
    let again = app.send(&call.replayed()).await;
    assert_eq!((again.status, again.replayed()), (409, true));
    assert_eq!(again.body, refused.body);
    assert_eq!(again.header("cache-control"), Some("no-store"));
    assert_eq!(balances(&app).await, (30_000, 0));

    // A new key is a new operation.
    let fresh = app.send(&pay(&app, 20_000)).await;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert_eq!(balances(&app).await, (10_000, 20_000));
}

#[tokio::test]
async fn a_refusal_for_a_foreign_account_is_stored_as_the_keys_answer_too() {
    let World { app, bob } = world().await;
    // Alice asks to debit Bob's account: 404, and the key keeps that answer.
    let body = TestApp::transfer_body(World::BOB, World::ALICE, 1);
    let call = app.signed(&app.alice, "POST", "/transfers", &body);
    app.send(&call).await.assert_problem(404, "not-found");
    let again = app.send(&call.replayed()).await;
    assert_eq!(
        (again.status, again.replayed(), again.code()),
        (404, true, "not-found".into())
    );
    // Bob's own key of the same name is his operation, not Alice's.
    app.open_account(&bob, "acc_bob_rich", "EUR", 50).await;
    let body = TestApp::transfer_body("acc_bob_rich", World::ALICE, 1);
    let mut his = app.signed(&bob, "POST", "/transfers", &body);
    his.idempotency_key = call.idempotency_key.clone();
    let his = app.send(&his.sign()).await;
    assert_eq!((his.status, his.replayed()), (201, false), "{}", his.body);
}

#[tokio::test]
async fn an_invalid_body_stores_nothing_and_the_key_stays_free() {
    let World { app, .. } = world().await;
    let call = pay(&app, 700);
    let bad = with_body(
        &call,
        r#"{"from":"acc_alice","to":"acc_bob","amount":0,"currency":"EUR"}"#,
    );
    app.send(&bad)
        .await
        .assert_problem(400, "validation-failed");
    app.send(&with_body(&call, "{"))
        .await
        .assert_problem(400, "invalid-json");
    let good = app.send(&call).await;
    assert_eq!(
        (good.status, good.replayed()),
        (201, false),
        "{}",
        good.body
    );
    assert_eq!(balances(&app).await, (9_300, 700));
}

#[tokio::test]
async fn the_same_key_with_another_request_is_422_and_moves_nothing() {
    let World { app, .. } = world().await;
    let call = pay(&app, 700);
    assert_eq!(app.send(&call).await.status, 201);
    let other = with_body(
        &call,
        &TestApp::transfer_body(World::ALICE, World::BOB, 800),
    );
    app.send(&other)
        .await
        .assert_problem(422, "idempotency-key-reused");
    assert_eq!(balances(&app).await, (9_300, 700));
}

#[tokio::test]
async fn a_content_digest_is_optional_and_must_match_when_sent() {
    let World { app, .. } = world().await;
    let without = pay(&app, 100).without_header("content-digest");
    assert_eq!(app.send(&without).await.status, 201);
    let wrong = pay(&app, 100).without_header("content-digest").with_header(
        "content-digest",
        "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:",
    );
    app.send(&wrong)
        .await
        .assert_problem(400, "digest-mismatch");
    assert_eq!(balances(&app).await, (9_900, 100));
}

#[tokio::test]
async fn principals_never_share_accounts_or_keys_with_each_other_or_with_signing_clients() {
    let app = TestApp::authorized().await;
    // Principals compared exactly: no case folding, no Unicode normalisation.
    let subs = [
        "alice",
        "Alice",
        "\u{e9}",
        "e\u{301}",
        app.alice.id.as_str(),
    ];
    for (i, sub) in subs.iter().enumerate() {
        let body = format!(r#"{{"account_id":"acc_{i}","currency":"EUR","initial_balance":5}}"#);
        let mut call = app.signed(&app.alice, "POST", "/accounts", &body);
        call.idempotency_key = Some("one-key-for-all".into());
        let answer = app.send(&call.sign().authorized_as(Some(sub))).await;
        assert_eq!(
            (answer.status, answer.replayed()),
            (201, false),
            "{sub:?}: {}",
            answer.body
        );
        for (j, other) in subs.iter().enumerate() {
            let read = app.signed(&app.alice, "GET", &format!("/accounts/acc_{i}"), "");
            let seen = app.send(&read.authorized_as(Some(other))).await;
            let expected = if i == j { 200 } else { 404 };
            assert_eq!(seen.status, expected, "{other:?} reading {sub:?}'s account");
        }
    }

    // The signing client whose id is the last principal's text: a stranger to it.
    let signed = app.app_in_mode(Auth::Signatures);
    let read = app.signed(&app.alice, "GET", "/accounts/acc_4", "");
    let seen = send_via(&signed, &read.authorized_as(None)).await;
    seen.assert_problem(404, "not-found");
}
