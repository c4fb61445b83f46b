//! A request is fresh only inside the window and before its own `expires`: a capture replayed
//! later is stale.

use replaysafe::Clock;
use replaysafe_tests::{World, T0};

use crate::support::{assert_balances, assert_fresh, pay, WINDOW};

#[tokio::test]
async fn a_request_created_longer_ago_than_the_window_is_stale() {
    let World { app, .. } = World::open().await;
    app.clock.set(T0 + 1_000);
    let now = app.clock.now();

    let at_edge = pay(&app, 100).resigned(now - WINDOW);
    assert_fresh(&app.send(&at_edge).await);

    let too_old = pay(&app, 100).resigned(now - WINDOW - 1);
    app.send(&too_old)
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 9_900, 100).await;
}

#[tokio::test]
async fn a_request_created_further_ahead_than_the_window_is_stale() {
    let World { app, .. } = World::open().await;
    let now = app.clock.now();

    let at_edge = pay(&app, 100).resigned(now + WINDOW);
    assert_fresh(&app.send(&at_edge).await);

    let too_new = pay(&app, 100).resigned(now + WINDOW + 1);
    app.send(&too_new)
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 9_900, 100).await;
}

#[tokio::test]
async fn a_capture_replayed_after_the_window_is_refused_as_stale() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    assert_fresh(&app.send(&first).await);

    app.clock.advance(WINDOW + 1);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 8_500, 1_500).await;
}

#[tokio::test]
async fn a_signature_whose_expires_has_passed_is_stale() {
    let World { app, .. } = World::open().await;
    let now = app.clock.now();
    let full = ["@method", "@path", "content-digest", "idempotency-key"];

    let expired = pay(&app, 100).sign_covering(&full, &format!(";expires={}", now - 1));
    app.send(&expired)
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 10_000, 0).await;

    // The same hand-made signature, still valid: the refusal above was the expiry.
    let expires_now = pay(&app, 100).sign_covering(&full, &format!(";expires={now}"));
    assert_fresh(&app.send(&expires_now).await);
    let later = pay(&app, 100).sign_covering(&full, &format!(";expires={}", now + 30));
    assert_fresh(&app.send(&later).await);
    assert_balances(&app, 9_800, 200).await;
}

#[tokio::test]
async fn a_capture_replayed_after_its_expires_is_refused_as_stale_even_inside_the_window() {
    let World { app, .. } = World::open().await;
    let full = ["@method", "@path", "content-digest", "idempotency-key"];
    let first = pay(&app, 100).sign_covering(&full, &format!(";expires={}", T0 + 10));
    assert_fresh(&app.send(&first).await);

    app.clock.advance(10);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "nonce-reused");
    app.clock.advance(1);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 9_900, 100).await;
}
