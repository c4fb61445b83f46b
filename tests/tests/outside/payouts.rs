//! The payouts consumer: a redelivered, duplicated or concurrently delivered payout moves money
//! once, and its metrics count it once; a refusal is its final result; a bad record reports only itself; a FIFO batch stops at
//! its first failure.

use replaysafe_tests::outside::{
    deliver, failed, payout_body, sqs_event, Message, FIFO_ARN, QUEUE_ARN,
};
use replaysafe_tests::{TestApp, World};

/// Alice's payout of `amount` from ALICE to BOB.
fn payout(world: &World, id: &str, amount: u64) -> String {
    payout_body(id, &world.app.alice.id, World::ALICE, World::BOB, amount)
}

async fn balances(app: &TestApp) -> (u64, u64) {
    (
        app.balance(World::ALICE).await,
        app.balance(World::BOB).await,
    )
}

/// The payout as GET /payouts/{id} shows it to alice.
async fn shown(world: &World, id: &str) -> serde_json::Value {
    let app = &world.app;
    let answer = app
        .send(&app.signed(&app.alice, "GET", &format!("/payouts/{id}"), ""))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

#[tokio::test]
async fn a_redelivered_payout_moves_money_once() {
    let world = World::open().await;
    let app = &world.app;
    let payouts = app.payouts().await;
    let body = payout(&world, "po_redelivered", 1500);
    for attempt in 0..3 {
        // A redelivery is the same message (its id) again; a producer's resend is a new one.
        let id = if attempt == 2 { "m-2" } else { "m-1" };
        let event = sqs_event(QUEUE_ARN, &[Message { id, body: &body }]);
        assert!(failed(&deliver(&payouts, event).await).is_empty());
    }
    assert_eq!(balances(app).await, (10_000 - 1500, 1500));
    assert_eq!(app.scan_count(&app.ledger.tables().transfers).await, 1);
    let shown = shown(&world, "po_redelivered").await;
    assert_eq!(shown["status"], "paid");
    assert_eq!(shown["amount"], 1500);
    assert!(shown["transfer_id"].is_string());
    // The replay flag a business metric filters on: the payout counts once, however it came
    // back.
    let outcomes: Vec<_> = app
        .documents()
        .into_iter()
        .filter(|d| d["Route"] == "sqs payouts")
        .map(|d| {
            (
                d["RecordId"].clone(),
                d["Outcome"].clone(),
                d["Replayed"].clone(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("m-1".into(), "executed".into(), 0.into()),
            ("m-1".into(), "duplicate".into(), 1.into()),
            ("m-2".into(), "duplicate".into(), 1.into()),
        ]
    );
}

#[tokio::test]
async fn the_same_payout_twice_in_one_batch_moves_money_once() {
    let world = World::open().await;
    let app = &world.app;
    let body = payout(&world, "po_twice", 700);
    let event = sqs_event(
        QUEUE_ARN,
        &[
            Message {
                id: "m-a",
                body: &body,
            },
            Message {
                id: "m-b",
                body: &body,
            },
        ],
    );
    let response = deliver(&app.payouts().await, event).await;
    // Both are done: one executed, the other found the first's record (or, racing it, is
    // reported and comes back to find it).
    assert!(failed(&response).len() <= 1);
    assert_eq!(balances(app).await, (10_000 - 700, 700));
}

#[tokio::test]
async fn concurrent_invocations_with_the_same_payout_move_money_once() {
    let world = World::open().await;
    let app = &world.app;
    let payouts = app.payouts().await;
    let body = payout(&world, "po_concurrent", 900);
    let deliveries = (0..8).map(|i| {
        let id = format!("m-{i}");
        let event = sqs_event(
            QUEUE_ARN,
            &[Message {
                id: &id,
                body: &body,
            }],
        );
        deliver(&payouts, event)
    });
    let responses = futures::future::join_all(deliveries).await;
    let reported = responses.iter().filter(|r| !failed(r).is_empty()).count();
    // A delivery that met another mid-transaction is reported and comes back: deliver again.
    for _ in 0..reported {
        let event = sqs_event(
            QUEUE_ARN,
            &[Message {
                id: "m-again",
                body: &body,
            }],
        );
        assert!(failed(&deliver(&payouts, event).await).is_empty());
    }
    assert_eq!(balances(app).await, (10_000 - 900, 900));
    assert_eq!(app.scan_count(&app.ledger.tables().transfers).await, 1);
}

#[tokio::test]
async fn one_bad_record_reports_only_itself() {
    let world = World::open().await;
    let app = &world.app;
    let (first, third) = (
        payout(&world, "po_one", 100),
        payout(&world, "po_three", 300),
    );
    let bad = first.replace("100", "1.5");
    let event = sqs_event(
        QUEUE_ARN,
        &[
            Message {
                id: "m-1",
                body: &first,
            },
            Message {
                id: "m-bad",
                body: &bad,
            },
            Message {
                id: "m-json",
                body: "{not json",
            },
            Message {
                id: "m-3",
                body: &third,
            },
        ],
    );
    let response = deliver(&app.payouts().await, event).await;
    assert_eq!(failed(&response), ["m-bad", "m-json"]);
    assert_eq!(balances(app).await, (10_000 - 400, 400));
}

#[tokio::test]
async fn a_refused_payout_stays_refused_when_funds_arrive() {
    let world = World::open().await;
    let app = &world.app;
    let payouts = app.payouts().await;
    let body = payout(&world, "po_broke", 20_000);
    let event = || {
        sqs_event(
            QUEUE_ARN,
            &[Message {
                id: "m-1",
                body: &body,
            }],
        )
    };
    // A refusal is done: not reported, never retried by the queue.
    assert!(failed(&deliver(&payouts, event()).await).is_empty());
    let refused = shown(&world, "po_broke").await;
    assert_eq!(refused["status"], "refused");
    assert_eq!(refused["code"], "insufficient-funds");
    assert!(refused.get("transfer_id").is_none());

    // Funds arrive; the same payout delivered again (and resent) is still refused.
    app.open_account(&app.alice, "acc_rich", "EUR", 50_000)
        .await;
    let top_up = TestApp::transfer_body("acc_rich", World::ALICE, 15_000);
    let top_up = app
        .send(&app.signed(&app.alice, "POST", "/transfers", &top_up))
        .await;
    assert_eq!(top_up.status, 201, "{}", top_up.body);
    let resent = sqs_event(
        QUEUE_ARN,
        &[Message {
            id: "m-2",
            body: &body,
        }],
    );
    assert!(failed(&deliver(&payouts, event()).await).is_empty());
    assert!(failed(&deliver(&payouts, resent).await).is_empty());
    assert_eq!(balances(app).await, (25_000, 0));
    assert_eq!(shown(&world, "po_broke").await["status"], "refused");
}

#[tokio::test]
async fn the_same_payout_id_with_another_body_has_no_effect() {
    let world = World::open().await;
    let app = &world.app;
    let payouts = app.payouts().await;
    let first = payout(&world, "po_same", 100);
    let second = payout(&world, "po_same", 5000);
    for (id, body) in [("m-1", &first), ("m-2", &second)] {
        let event = sqs_event(QUEUE_ARN, &[Message { id, body }]);
        assert!(
            failed(&deliver(&payouts, event).await).is_empty(),
            "done, not reported"
        );
    }
    assert_eq!(balances(app).await, (10_000 - 100, 100));
    assert_eq!(shown(&world, "po_same").await["amount"], 100);
}

#[tokio::test]
async fn an_owner_that_does_not_own_the_account_is_refused_not_found() {
    let world = World::open().await;
    let app = &world.app;
    let payouts = app.payouts().await;
    // Bob's payout from Alice's account; and one for an owner nobody knows.
    let bobs = payout_body("po_bob", &world.bob.id, World::ALICE, World::BOB, 100);
    let nobody = payout_body("po_nobody", "cli_nobody", World::ALICE, World::BOB, 100);
    let event = sqs_event(
        QUEUE_ARN,
        &[
            Message {
                id: "m-1",
                body: &bobs,
            },
            Message {
                id: "m-2",
                body: &nobody,
            },
        ],
    );
    assert!(failed(&deliver(&payouts, event).await).is_empty());
    assert_eq!(balances(app).await, (10_000, 0));
    // Alice cannot see Bob's payout: payouts are scoped to their owner.
    let answer = app
        .send(&app.signed(&app.alice, "GET", "/payouts/po_bob", ""))
        .await;
    answer.assert_problem(404, "not-found");
    let bob_sees = app
        .send(&app.signed(&world.bob, "GET", "/payouts/po_bob", ""))
        .await;
    assert_eq!(bob_sees.json()["code"], "not-found");
    assert_eq!(bob_sees.json()["status"], "refused");
}

#[tokio::test]
async fn a_fifo_batch_stops_at_its_first_failure() {
    let world = World::open().await;
    let app = &world.app;
    let (one, three) = (payout(&world, "po_f1", 100), payout(&world, "po_f3", 300));
    let event = sqs_event(
        FIFO_ARN,
        &[
            Message {
                id: "m-1",
                body: &one,
            },
            Message {
                id: "m-2",
                body: "{}",
            },
            Message {
                id: "m-3",
                body: &three,
            },
        ],
    );
    let response = deliver(&app.payouts().await, event).await;
    assert_eq!(failed(&response), ["m-2", "m-3"]);
    // The third did not run: order is kept for its redelivery.
    assert_eq!(balances(app).await, (10_000 - 100, 100));
}

/// Each record ends with one metric document of its own, `Route` `sqs payouts`, its `Outcome`
/// how it ended; a duplicate is counted as replayed, a key holding another body as reused.
#[tokio::test]
async fn each_record_has_a_document_saying_how_it_ended() {
    let world = World::open().await;
    let app = &world.app;
    let payouts = app.payouts().await;
    let first = payout(&world, "po_one", 100);
    let once = sqs_event(
        QUEUE_ARN,
        &[Message {
            id: "m-1",
            body: &first,
        }],
    );
    assert!(failed(&deliver(&payouts, once).await).is_empty());
    let (other, poor) = (
        payout(&world, "po_one", 200),
        payout(&world, "po_poor", 20_000),
    );
    let batch = sqs_event(
        QUEUE_ARN,
        &[
            // The producer sent the payout again: another message, the same payout.
            Message {
                id: "m-2",
                body: &first,
            },
            Message {
                id: "m-json",
                body: "{not json",
            },
            Message {
                id: "m-poor",
                body: &poor,
            },
            Message {
                id: "m-other",
                body: &other,
            },
        ],
    );
    assert_eq!(failed(&deliver(&payouts, batch).await), ["m-json"]);

    let records: Vec<_> = app
        .documents()
        .into_iter()
        .filter(|d| d["Route"] == "sqs payouts")
        .collect();
    assert_eq!(records.len(), 5, "{records:?}");
    let last = |id: &str| {
        let of: Vec<_> = records.iter().filter(|d| d["RecordId"] == id).collect();
        assert_eq!(of.len(), 1, "{id}: {records:?}");
        of[0]
    };
    for (id, outcome, replayed, reused) in [
        ("m-2", "duplicate", 1, 0),
        ("m-json", "invalid", 0, 0),
        ("m-poor", "refused", 0, 0),
        ("m-other", "key-reused", 0, 1),
    ] {
        let doc = last(id);
        assert_eq!(doc["Outcome"], outcome, "{doc}");
        assert_eq!(doc["Replayed"], replayed, "{doc}");
        assert_eq!(doc["KeyReused"], reused, "{doc}");
        assert_eq!(doc["Requests"], 1, "{doc}");
    }
    assert_eq!(last("m-1")["Outcome"], "executed");
    assert_eq!(last("m-1")["Principal"], app.alice.id.as_str());
    assert_eq!(last("m-poor")["Code"], "insufficient-funds");
}
