//! Withdrawals to the fake bank: the bank is paid at most once per operation, whatever is
//! retried, sent concurrently, timed out or taken over; a refusal gives the funds back and is
//! final; money is conserved: balance + held + paid = what the account received.

use fake_bank::FaultMode;
use payments::Payments;
use replaysafe::Clock;
use replaysafe_tests::outside::start_bank;
use replaysafe_tests::{send_via, Answer, Call, TestApp, World};

const GOOD_IBAN: &str = "DE89370400440532013000";
/// Valid syntax for the API, an unknown account for the bank: it refuses with 422.
const BAD_IBAN: &str = "DE00370400440532013000";

fn withdrawal(amount: u64, iban: &str) -> String {
    format!(
        r#"{{"from":"{}","amount":{amount},"currency":"EUR","iban":"{iban}"}}"#,
        World::ALICE
    )
}

/// Alice's withdrawal request (a fresh key).
fn withdraw(app: &TestApp, amount: u64, iban: &str) -> Call {
    app.signed(
        &app.alice,
        "POST",
        "/withdrawals",
        &withdrawal(amount, iban),
    )
}

/// The same operation again: a new signature, the same key.
fn retry(app: &TestApp, call: &Call) -> Call {
    call.resigned(app.clock.now())
}

/// Balance + held (pending) + paid, for alice's account.
async fn conserved(app: &TestApp) -> u64 {
    let mut total = app.balance(World::ALICE).await;
    for item in app.scan_all(&app.ledger.tables().withdrawals).await {
        let status = item["status"].as_s().unwrap();
        if status == "pending" || status == "paid" {
            total += item["amount"].as_n().unwrap().parse::<u64>().unwrap();
        }
    }
    total
}

async fn statuses(app: &TestApp) -> Vec<String> {
    let mut all: Vec<String> = app
        .scan_all(&app.ledger.tables().withdrawals)
        .await
        .iter()
        .map(|i| i["status"].as_s().unwrap().clone())
        .collect();
    all.sort();
    all
}

async fn send(payments: &Payments, call: &Call) -> Answer {
    send_via(payments, call).await
}

#[tokio::test]
async fn a_withdrawal_pays_the_bank_once_and_a_retry_gets_the_first_answer() {
    let world = World::open().await;
    let app = &world.app;
    let bank = start_bank().await;
    let payments = app.with_bank(bank.url(), 10, 3).await;
    let call = withdraw(app, 1500, GOOD_IBAN);
    let first = send(&payments, &call).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let body = first.json();
    assert_eq!(body["status"], "paid");
    assert_eq!(body["amount"], 1500);
    let id = body["withdrawal_id"].as_str().unwrap().to_owned();
    assert_eq!(
        first.header("location"),
        Some(format!("/withdrawals/{id}").as_str())
    );

    let again = send(&payments, &retry(app, &call)).await;
    assert_eq!((again.status, again.replayed()), (201, true));
    assert_eq!(again.body, first.body);
    assert_eq!(bank.payments().await.len(), 1);
    assert_eq!(bank.payments().await[0].amount, 1500);
    assert_eq!(app.balance(World::ALICE).await, 10_000 - 1500);
    assert_eq!(conserved(app).await, 10_000);

    let shown = send(
        &payments,
        &app.signed(&app.alice, "GET", &format!("/withdrawals/{id}"), ""),
    )
    .await;
    assert_eq!(shown.json()["status"], "paid");
    assert_eq!(shown.json()["bank_reference"], body["bank_reference"]);
    let bobs_look = send(
        &payments,
        &app.signed(&world.bob, "GET", &format!("/withdrawals/{id}"), ""),
    )
    .await;
    bobs_look.assert_problem(404, "not-found");
}

#[tokio::test]
async fn a_bank_refusal_gives_the_funds_back_and_is_final() {
    let world = World::open().await;
    let app = &world.app;
    let bank = start_bank().await;
    let payments = app.with_bank(bank.url(), 10, 3).await;
    let call = withdraw(app, 2500, BAD_IBAN);
    let refused = send(&payments, &call).await;
    refused.assert_problem(422, "bank-refused");
    assert_eq!(app.balance(World::ALICE).await, 10_000);
    assert_eq!(statuses(app).await, ["refused"]);

    // Final: the same operation again gets the same refusal, and the bank is not asked again.
    let again = send(&payments, &retry(app, &call)).await;
    assert_eq!((again.status, again.replayed()), (422, true));
    assert_eq!(again.code(), "bank-refused");
    assert_eq!(bank.requests().await.values().sum::<u64>(), 1);
    assert!(bank.payments().await.is_empty());
    assert_eq!(conserved(app).await, 10_000);
}

#[tokio::test]
async fn refusals_of_the_hold_call_no_bank() {
    let world = World::open().await;
    let app = &world.app;
    let bank = start_bank().await;
    let payments = app.with_bank(bank.url(), 10, 3).await;
    send(&payments, &withdraw(app, 20_000, GOOD_IBAN))
        .await
        .assert_problem(409, "insufficient-funds");
    let bobs = app.signed(
        &world.bob,
        "POST",
        "/withdrawals",
        &withdrawal(10, GOOD_IBAN),
    );
    send(&payments, &bobs)
        .await
        .assert_problem(404, "not-found");
    let usd = withdrawal(10, GOOD_IBAN).replace("EUR", "USD");
    let usd = app.signed(&app.alice, "POST", "/withdrawals", &usd);
    send(&payments, &usd)
        .await
        .assert_problem(409, "currency-mismatch");
    for bad in [
        withdrawal(10, "DE89"),
        withdrawal(10, "DE89 3704 0044"),
        withdrawal(0, GOOD_IBAN),
        "{".into(),
    ] {
        let call = app.signed(&app.alice, "POST", "/withdrawals", &bad);
        let answer = send(&payments, &call).await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
    }
    assert!(bank.requests().await.is_empty());
    assert!(statuses(app).await.is_empty());
    assert_eq!(app.balance(World::ALICE).await, 10_000);
}

#[tokio::test]
async fn concurrent_duplicates_get_409_before_any_bank_call() {
    let world = World::open().await;
    let app = &world.app;
    let bank = start_bank().await;
    let payments = app.with_bank(bank.url(), 10, 3).await;
    bank.set_fault(FaultMode::HangBefore, 1, 1500).await;
    let call = withdraw(app, 1000, GOOD_IBAN);
    let duplicate = retry(app, &call);
    let (first, second) = tokio::join!(send(&payments, &call), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        send(&payments, &duplicate).await
    });
    assert_eq!(first.status, 201, "{}", first.body);
    second.assert_problem(409, "request-in-progress");
    let after: u64 = second.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=10).contains(&after),
        "Retry-After {after}: until the lease ends"
    );
    assert_eq!(bank.requests().await.values().sum::<u64>(), 1);
    assert_eq!(bank.payments().await.len(), 1);
    assert_eq!(conserved(app).await, 10_000);
}

#[tokio::test]
async fn a_bank_timeout_keeps_the_hold_and_a_retry_after_the_lease_pays_once() {
    for fault in [FaultMode::Slow, FaultMode::Fail, FaultMode::FailAfter] {
        let world = World::open().await;
        let app = &world.app;
        let bank = start_bank().await;
        let payments = app.with_bank(bank.url(), 5, 1).await;
        bank.set_fault(fault, 1, 2500).await;
        let call = withdraw(app, 1200, GOOD_IBAN);
        let first = send(&payments, &call).await;
        first.assert_problem_in(503, "unavailable", fault.name());
        // The funds stay held, the withdrawal pending, the lease live.
        assert_eq!(
            app.balance(World::ALICE).await,
            10_000 - 1200,
            "{}",
            fault.name()
        );
        assert_eq!(statuses(app).await, ["pending"], "{}", fault.name());
        assert_eq!(conserved(app).await, 10_000);
        send(&payments, &retry(app, &call))
            .await
            .assert_problem(409, "request-in-progress");

        // After the lease: taken over, the bank asked again with the same key.
        app.clock.advance(6);
        let taker = retry(app, &call);
        let done = send(&payments, &taker).await;
        assert_eq!(done.status, 201, "{}: {}", fault.name(), done.body);
        let (unsettled, took_over) = (app.document_of(&call), app.document_of(&taker));
        assert_eq!(
            (&unsettled["Unavailable"], &unsettled["LeaseTakeovers"]),
            (&1.into(), &0.into()),
            "{unsettled}"
        );
        assert_eq!(took_over["LeaseTakeovers"], 1, "{took_over}");
        assert_eq!(took_over["Route"], "POST /withdrawals");
        assert_eq!(bank.payments().await.len(), 1, "{}", fault.name());
        assert_eq!(statuses(app).await, ["paid"]);
        assert_eq!(app.balance(World::ALICE).await, 10_000 - 1200);
        assert_eq!(conserved(app).await, 10_000);
    }
}

#[tokio::test]
async fn a_lease_that_runs_out_mid_call_is_taken_over_and_the_late_holder_is_refused() {
    let world = World::open().await;
    let app = &world.app;
    let bank = start_bank().await;
    let payments = app.with_bank(bank.url(), 6, 4).await;
    // The first attempt's call hangs at the bank; meanwhile its lease runs out.
    bank.set_fault(FaultMode::HangBefore, 1, 2000).await;
    let call = withdraw(app, 800, GOOD_IBAN);
    let (late, (taker, second)) = tokio::join!(send(&payments, &call), async {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        app.clock.advance(7);
        let second = retry(app, &call);
        (send(&payments, &second).await, second)
    });
    assert_eq!(taker.status, 201, "{}", taker.body);
    assert!(!taker.replayed(), "the taker settled it");
    // The first holder's settlement was refused: it answers the taker's result, as a replay.
    assert_eq!((late.status, late.replayed()), (201, true), "{}", late.body);
    assert_eq!(late.json()["withdrawal_id"], taker.json()["withdrawal_id"]);
    // Each attempt's document counts its own part: one took the lease over, the other not.
    assert_eq!(app.document_of(&second)["LeaseTakeovers"], 1);
    let late = app.document_of(&call);
    assert_eq!(
        (&late["LeaseTakeovers"], &late["Outcome"]),
        (&0.into(), &"replayed".into())
    );
    assert_eq!(bank.payments().await.len(), 1);
    assert_eq!(statuses(app).await, ["paid"]);
    assert_eq!(app.balance(World::ALICE).await, 10_000 - 800);
    assert_eq!(conserved(app).await, 10_000);
}

#[tokio::test]
async fn behind_an_authorizer_a_withdrawal_is_paid_once_and_a_refusal_is_final() {
    let app = TestApp::authorized().await;
    app.open_account(&app.alice, World::ALICE, "EUR", 10_000)
        .await;
    let bank = start_bank().await;
    let payments = app.with_bank(bank.url(), 10, 3).await;
    let call = withdraw(&app, 700, GOOD_IBAN);
    assert_eq!(send(&payments, &call).await.status, 201);
    let again = send(&payments, &retry(&app, &call)).await;
    assert_eq!((again.status, again.replayed()), (201, true));
    let broke = withdraw(&app, 50_000, GOOD_IBAN);
    send(&payments, &broke)
        .await
        .assert_problem(409, "insufficient-funds");
    let still = send(&payments, &retry(&app, &broke)).await;
    assert_eq!((still.status, still.replayed()), (409, true));
    assert_eq!(bank.payments().await.len(), 1);
    assert_eq!(conserved(&app).await, 10_000);
}
