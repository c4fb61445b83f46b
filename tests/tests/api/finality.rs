//! "An answered operation is final": an attempt signed before a refusal and delivered after it
//! (lost, throttled, held back by someone on the path) never takes effect, whatever changed in
//! between; an attempt signed after the refusal proceeds.

use payments::PaymentsError;
use replaysafe::http::Incoming;
use replaysafe::{Clock, Effect, GuardError};
use replaysafe_tests::{staged_answer, Answer, Call, TestApp, World, T0};

const WINDOW: i64 = 300;

/// The named [`World`], plus Alice's `acc_savings` (50 000 EUR) to fund her from.
async fn world() -> World {
    let world = World::open().await;
    world
        .app
        .open_account(&world.app.alice, "acc_savings", "EUR", 50_000)
        .await;
    world
}

fn pay(app: &TestApp, to: &str, amount: u64) -> Call {
    let body = TestApp::transfer_body("acc_alice", to, amount);
    app.signed(&app.alice, "POST", "/transfers", &body)
}

/// The same operation (key), signed anew at the app clock's now with `body`.
fn attempt_with_body(app: &TestApp, of: &Call, body: &str) -> Call {
    let mut next = of.clone();
    next.body = body.as_bytes().to_vec();
    next.resigned(app.clock.now())
}

async fn fund_alice(app: &TestApp, amount: u64) {
    let body = TestApp::transfer_body("acc_savings", "acc_alice", amount);
    let answer = app
        .send(&app.signed(&app.alice, "POST", "/transfers", &body))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

/// The operation of `held` retried a second later, and refused with `status` `code`: `held`
/// itself is still unsent, as an attempt held back on the way would be.
async fn refused_a_second_later(app: &TestApp, held: &Call, status: u16, code: &str) {
    app.clock.advance(1);
    app.send(&held.resigned(app.clock.now()))
        .await
        .assert_problem(status, code);
}

async fn transfer_count(app: &TestApp) -> usize {
    app.scan_count(&app.ledger.tables().transfers).await
}

#[tokio::test]
async fn a_held_attempt_delivered_after_a_refusal_for_funds_has_no_effect_once_funds_arrive() {
    let World { app, .. } = world().await;
    let held = pay(&app, "acc_bob", 15_000);
    refused_a_second_later(&app, &held, 409, "insufficient-funds").await;

    fund_alice(&app, 10_000).await;
    let before = app.snapshot().await;
    let transfers = transfer_count(&app).await;
    app.send(&held)
        .await
        .assert_problem(409, "attempt-superseded");

    assert_eq!(app.snapshot().await, before, "the held attempt moved money");
    assert_eq!(transfer_count(&app).await, transfers);
    assert_eq!(app.balance("acc_bob").await, 0);
    let key = held.idempotency_key.as_deref().unwrap();
    assert!(!app.has_idempotency_record(&app.alice, key).await);
}

#[tokio::test]
async fn a_held_attempt_to_an_account_opened_after_the_refusal_has_no_effect() {
    let World { app, bob } = world().await;
    let held = pay(&app, "acc_dave", 100);
    refused_a_second_later(&app, &held, 404, "not-found").await;

    app.open_account(&bob, "acc_dave", "EUR", 0).await;
    app.send(&held)
        .await
        .assert_problem(409, "attempt-superseded");

    assert_eq!(app.balance("acc_dave").await, 0);
    assert_eq!(app.balance("acc_alice").await, 10_000);
}

#[tokio::test]
async fn a_held_attempt_after_a_refused_body_under_its_key_has_no_effect() {
    let World { app, .. } = world().await;
    let held = pay(&app, "acc_bob", 100);
    app.clock.advance(1);
    let invalid = r#"{"from":"acc_alice","to":"acc_bob","amount":0,"currency":"EUR"}"#;
    app.send(&attempt_with_body(&app, &held, invalid))
        .await
        .assert_problem(400, "validation-failed");

    app.send(&held)
        .await
        .assert_problem(409, "attempt-superseded");
    assert_eq!(app.balance("acc_bob").await, 0);
}

#[tokio::test]
async fn an_attempt_signed_in_the_same_second_as_the_refused_one_is_superseded() {
    let World { app, .. } = world().await;
    let refused = pay(&app, "acc_bob", 15_000);
    let same_second = refused.resigned(refused.created);
    app.send(&refused)
        .await
        .assert_problem(409, "insufficient-funds");
    fund_alice(&app, 10_000).await;

    app.send(&same_second)
        .await
        .assert_problem(409, "attempt-superseded");
    assert_eq!(app.balance("acc_bob").await, 0);
}

#[tokio::test]
async fn an_attempt_signed_after_the_refusal_proceeds_and_the_held_one_then_replays_it() {
    let World { app, .. } = world().await;
    let held = pay(&app, "acc_bob", 15_000);
    refused_a_second_later(&app, &held, 409, "insufficient-funds").await;
    fund_alice(&app, 10_000).await;

    app.clock.advance(1);
    let fixed = app.send(&held.resigned(app.clock.now())).await;
    assert_eq!(fixed.status, 201, "{}", fixed.body);
    assert!(!fixed.replayed());

    let late = app.send(&held).await;
    assert_eq!(late.status, 201, "{}", late.body);
    assert!(late.replayed(), "the held attempt gets the stored answer");
    assert_eq!(late.body, fixed.body);
    assert_eq!(app.balance("acc_bob").await, 15_000, "money moved once");
}

#[tokio::test]
async fn the_refused_invocation_delivered_again_answers_its_refusal_not_superseded() {
    let World { app, .. } = world().await;
    let call = pay(&app, "acc_bob", 15_000);
    let first = app.send(&call).await;
    first.assert_problem(409, "insufficient-funds");

    // Lambda re-delivering the invocation: same bytes, same request id.
    let again = app.send(&call).await;
    again.assert_problem(409, "insufficient-funds");
    assert_eq!(again.body, first.body);
}

#[tokio::test]
async fn the_fence_holds_the_refused_attempt_and_lives_a_window_and_a_minute_past_it() {
    let World { app, .. } = world().await;
    let call = pay(&app, "acc_bob", 15_000);
    app.send(&call)
        .await
        .assert_problem(409, "insufficient-funds");

    let key = call.idempotency_key.as_deref().unwrap();
    let fence = app.fence(&app.alice, key).await.expect("a fence");
    assert_eq!(fence.created, T0);
    assert_eq!(fence.expires_at, T0 + WINDOW + 60);
    assert_eq!(fence.request_id, call.request_id);
    assert_eq!(fence.refusal.code, "insufficient-funds");
    assert_eq!(fence.refusal.status, 409);
}

#[tokio::test]
async fn an_existing_account_id_fences_the_key_too() {
    let World { app, bob } = world().await;
    let body = r#"{"account_id":"acc_new","currency":"EUR"}"#;
    let held = app.signed(&app.alice, "POST", "/accounts", body);
    app.open_account(&bob, "acc_new", "EUR", 0).await;
    refused_a_second_later(&app, &held, 409, "account-exists").await;

    app.send(&held)
        .await
        .assert_problem(409, "attempt-superseded");
    let key = held.idempotency_key.as_deref().unwrap();
    assert!(app.fence(&app.alice, key).await.is_some());
}

#[tokio::test]
async fn a_bad_body_under_a_key_that_succeeded_is_refused_without_touching_the_record() {
    let World { app, .. } = world().await;
    let call = pay(&app, "acc_bob", 100);
    let first = app.send(&call).await;
    assert_eq!(first.status, 201, "{}", first.body);

    app.clock.advance(1);
    app.send(&attempt_with_body(&app, &call, "{"))
        .await
        .assert_problem(400, "invalid-json");

    app.clock.advance(1);
    let retry = app.send(&call.resigned(app.clock.now())).await;
    assert!(retry.replayed());
    assert_eq!(retry.body, first.body, "the record still answers");
}

#[tokio::test]
async fn the_sf_string_and_the_bare_token_name_the_same_key() {
    let World { app, .. } = world().await;
    let mut quoted = pay(&app, "acc_bob", 100);
    quoted.idempotency_key = Some("\"order-7\"".into());
    let quoted = quoted.sign();
    let first = app.send(&quoted).await;
    assert_eq!(first.status, 201, "{}", first.body);

    let mut bare = quoted.clone();
    bare.idempotency_key = Some("order-7".into());
    app.clock.advance(1);
    let retry = app.send(&bare.resigned(app.clock.now())).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(retry.replayed(), "one key in two spellings");
    assert_eq!(app.balance("acc_bob").await, 100);
}

#[tokio::test]
async fn every_answer_is_no_store() {
    let World { app, .. } = world().await;
    let created = app.send(&pay(&app, "acc_bob", 1)).await;
    let read = app
        .send(&app.signed(&app.alice, "GET", "/accounts/acc_alice", ""))
        .await;
    let unsigned = app
        .send(
            &app.signed(&app.alice, "GET", "/accounts/acc_alice", "")
                .without_header("signature"),
        )
        .await;
    for answer in [&created, &read, &unsigned] {
        assert_eq!(
            answer.header("cache-control"),
            Some("no-store"),
            "{}",
            answer.status
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fence and claim race on one item: staged through the guard's own steps

#[tokio::test]
async fn a_claim_read_before_a_refusal_fails_on_the_fence_it_did_not_see() {
    for (held_at, refused_at) in [(T0, T0 + 1), (T0, T0)] {
        let World { app, .. } = world().await;
        let held = pay(&app, "acc_bob", 15_000);
        let admitted = app.admit(&held.resigned(held_at)).await;

        app.clock.set(refused_at);
        app.send(&held.resigned(refused_at))
            .await
            .assert_problem(409, "insufficient-funds");

        let outcome = app.commit_staged(&admitted, staged_answer()).await;
        assert_eq!(
            outcome,
            Err(GuardError::AttemptSuperseded),
            "held at {held_at}, refused at {refused_at}"
        );
        let key = held.idempotency_key.as_deref().unwrap();
        assert!(!app.has_idempotency_record(&app.alice, key).await);
    }
}

/// An attempt refused by the business rules (staged: `execute` says so) while, between its read
/// and its fence, another attempt of the key commits with `success_body`.
async fn refusal_meeting_a_success(success_body: &str) -> (Answer, Answer) {
    let World { app, .. } = world().await;
    let refused = pay(&app, "acc_bob", 100);
    let winner = attempt_with_body(&app, &refused, success_body);
    let req = refused.request();
    let mut success = None;
    let reply = app
        .guard()
        .post(
            &Incoming::from_lambda(&req),
            |_| Ok::<_, PaymentsError>(()),
            async |_, ()| {
                success = Some(app.send(&winner).await);
                Err(PaymentsError::InsufficientFunds.into())
            },
        )
        .await;
    let outcome = replaysafe::http::finish(reply, payments::PROBLEM_TYPE_BASE);
    (
        Answer::of(outcome.map(lambda_http::Body::Text)),
        success.expect("the winner ran"),
    )
}

#[tokio::test]
async fn a_refusal_whose_fence_meets_a_concurrent_success_answers_that_success() {
    let body = TestApp::transfer_body("acc_alice", "acc_bob", 100);
    let (outcome, success) = refusal_meeting_a_success(&body).await;
    assert_eq!(success.status, 201, "{}", success.body);
    assert_eq!(
        outcome.status, 201,
        "the success's answer: {}",
        outcome.body
    );
    assert!(outcome.replayed());
    assert_eq!(outcome.body, success.body);
}

#[tokio::test]
async fn a_refusal_whose_fence_meets_a_different_success_is_key_reused() {
    let body = TestApp::transfer_body("acc_alice", "acc_bob", 200);
    let (outcome, success) = refusal_meeting_a_success(&body).await;
    assert_eq!(success.status, 201, "{}", success.body);
    outcome.assert_problem(422, "idempotency-key-reused");
}

// ---------------------------------------------------------------------------------------------
// An attempt slow between its arrival and its transaction (an outside call, a paused process)

/// Runs a POST of `call` whose `execute` first lets `meanwhile` happen, then asks for Alice's
/// transfer as the handler would; answers as the client would read it.
async fn slow_transfer(app: &TestApp, call: &Call, meanwhile: impl AsyncFnOnce()) -> Answer {
    let req = call.request();
    let reply = app
        .guard()
        .post(
            &Incoming::from_lambda(&req),
            payments::domain::NewTransfer::parse,
            async |op, t| {
                meanwhile().await;
                let store = &app.ledger;
                let operation = payments::domain::Operation::Transfer("trf_late".into());
                let (from, amount, now) = (&t.from, t.amount, op.now());
                Ok(Effect::json(201, &"late")
                    .with(store.credit(&t.to, &t.currency, amount, &operation, now))
                    .with(store.debit(from, op.principal(), &t.currency, amount, &operation, now)))
            },
        )
        .await;
    let response = replaysafe::http::finish(reply, payments::PROBLEM_TYPE_BASE);
    Answer::of(response.map(lambda_http::Body::Text))
}

#[tokio::test]
async fn an_attempt_slower_than_the_fences_that_cover_it_never_commits() {
    let World { app, .. } = world().await;
    let slow = pay(&app, "acc_bob", 15_000);
    let key = slow.idempotency_key.clone().unwrap();
    let answer = slow_transfer(&app, &slow, async || {
        // While it waits: a later attempt of the key is refused and fenced...
        app.clock.set(T0 + 1);
        let refused = app.send(&slow.resigned(T0 + 1)).await;
        refused.assert_problem(409, "insufficient-funds");
        // ...the fence expires and DynamoDB's TTL deletes it; then funds arrive.
        app.clock.set(T0 + 1 + WINDOW + 60);
        app.delete_key_item(&app.alice, &key).await;
        fund_alice(&app, 20_000).await;
    })
    .await;
    answer.assert_problem(503, "unavailable");
    assert_eq!(app.balance("acc_alice").await, 30_000, "the refusal stands");
    assert_eq!(app.balance("acc_bob").await, 0);
}

#[tokio::test]
async fn an_attempt_slow_but_inside_what_its_fences_cover_commits() {
    let World { app, .. } = world().await;
    let slow = pay(&app, "acc_bob", 1_000);
    // The latest moment it may still commit: a DynamoDB call's timeout (3 s, rounded up)
    // before any fence covering it could expire.
    let answer = slow_transfer(&app, &slow, async || app.clock.set(T0 + WINDOW + 60 - 4)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(app.balance("acc_bob").await, 1_000);
}
