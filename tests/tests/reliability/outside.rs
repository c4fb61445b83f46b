//! The bank workload beyond HTTP: payouts delivered in batches with duplicates and concurrent
//! redeliveries, and withdrawals to the fake bank under its faults, all while the proxy injects
//! faults between the guard and DynamoDB. Money is conserved at every check (balances, plus held
//! and paid withdrawals); at the end every payout is settled once and every paid withdrawal was
//! paid by the bank once.
//!
//! Sized by the environment (bounded for `make test`; `make soak` raises them):
//! `BANK_PAYOUTS` (60), `BANK_WITHDRAWALS` (16), `BANK_FAULT_RATE` (0.03), `BANK_SEED`.

use std::collections::BTreeMap;

use fake_bank::FaultMode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use replaysafe::Clock;
use replaysafe_tests::faults::{FaultMix, FaultProxy};
use replaysafe_tests::outside::{
    deliver, failed, payout_body, sqs_event, start_bank, Message, QUEUE_ARN,
};
use replaysafe_tests::{endpoint, send_via, TestApp};

use super::faults::app_behind;

const PAYOUT_ACCOUNTS: [&str; 4] = ["acc_p0", "acc_p1", "acc_p2", "acc_p3"];
const WITHDRAWAL_ACCOUNT: &str = "acc_w";
const OPENING: u64 = 50_000;
const GOOD_IBAN: &str = "DE89370400440532013000";
const BAD_IBAN: &str = "DE00370400440532013000";

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn payout_balances(app: &TestApp) -> u64 {
    let mut sum = 0;
    for id in PAYOUT_ACCOUNTS {
        sum += app.balance(id).await;
    }
    sum
}

/// The withdrawal account's balance, and its withdrawals' amounts by status.
async fn withdrawal_books(app: &TestApp) -> (u64, BTreeMap<String, u64>) {
    let mut by_status = BTreeMap::new();
    for item in app.scan_all(&app.ledger.tables().withdrawals).await {
        let amount: u64 = item["amount"].as_n().unwrap().parse().unwrap();
        *by_status
            .entry(item["status"].as_s().unwrap().clone())
            .or_default() += amount;
    }
    (app.balance(WITHDRAWAL_ACCOUNT).await, by_status)
}

/// Balance + held + paid: what the withdrawal account received.
async fn withdrawal_total(app: &TestApp) -> u64 {
    let (balance, by_status) = withdrawal_books(app).await;
    balance + by_status.get("pending").unwrap_or(&0) + by_status.get("paid").unwrap_or(&0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payouts_and_withdrawals_under_faults_move_money_once_and_conserve_it() {
    let total_payouts: usize = env("BANK_PAYOUTS", 60);
    let total_withdrawals: usize = env("BANK_WITHDRAWALS", 16);
    let fault_rate: f64 = env("BANK_FAULT_RATE", 0.03);
    let seed: u64 = env("BANK_SEED", 11);
    let mut rng = StdRng::seed_from_u64(seed);

    let proxy = FaultProxy::start(&endpoint(), seed).await;
    let app = app_behind(&proxy).await;
    for id in PAYOUT_ACCOUNTS.iter().chain([&WITHDRAWAL_ACCOUNT]) {
        app.open_account(&app.alice, id, "EUR", OPENING).await;
    }
    let payouts = app.payouts().await;
    let bank = start_bank().await;
    let withdrawals = app.with_bank(bank.url(), 4, 1).await;
    proxy.set_mix(FaultMix::all(fault_rate));

    // Payouts: batches of 10 with duplicates inside, some delivered by two invocations at
    // once; what is reported comes back (as the queue redelivers) until nothing is.
    let bodies: Vec<(String, String)> = (0..total_payouts)
        .map(|i| {
            let from = PAYOUT_ACCOUNTS[rng.random_range(0..4)];
            let to = loop {
                let to = PAYOUT_ACCOUNTS[rng.random_range(0..4)];
                if to != from {
                    break to;
                }
            };
            // Some are larger than any balance: refused, for good.
            let amount = if rng.random_bool(0.1) {
                10 * OPENING
            } else {
                rng.random_range(1..5_000)
            };
            let id = format!("po_{i}");
            (
                format!("m-{i}"),
                payout_body(&id, &app.alice.id, from, to, amount),
            )
        })
        .collect();
    let mut violations = Vec::new();
    for batch in bodies.chunks(10) {
        let mut messages: Vec<Message> = batch
            .iter()
            .map(|(id, body)| Message { id, body })
            .collect();
        for (id, body) in batch.iter().filter(|_| rng.random_bool(0.2)) {
            messages.push(Message { id, body });
        }
        let mut pending = messages;
        for round in 0..50 {
            let event = sqs_event(QUEUE_ARN, &pending);
            let failures = if rng.random_bool(0.3) {
                let (a, b) =
                    tokio::join!(deliver(&payouts, event.clone()), deliver(&payouts, event));
                let mut both = failed(&a);
                both.extend(failed(&b));
                both
            } else {
                failed(&deliver(&payouts, event).await)
            };
            pending.retain(|m| failures.iter().any(|f| f == m.id));
            if pending.is_empty() {
                break;
            }
            if round == 10 {
                proxy.calm();
            }
        }
        assert!(
            pending.is_empty(),
            "records still failing after 50 deliveries"
        );
        let sum = payout_balances(&app).await;
        if sum != 4 * OPENING {
            violations.push(format!("payout accounts hold {sum}, not {}", 4 * OPENING));
        }
        proxy.set_mix(FaultMix::all(fault_rate));
    }

    // Withdrawals: each under a random bank fault, retried (the clock past the lease when
    // told to wait) until the answer is final.
    let faults = [
        FaultMode::Ok,
        FaultMode::Slow,
        FaultMode::Fail,
        FaultMode::FailAfter,
        FaultMode::HangBefore,
    ];
    for i in 0..total_withdrawals {
        let iban = if rng.random_bool(0.15) {
            BAD_IBAN
        } else {
            GOOD_IBAN
        };
        let amount = rng.random_range(1..3_000);
        let body = format!(
            r#"{{"from":"{WITHDRAWAL_ACCOUNT}","amount":{amount},"currency":"EUR","iban":"{iban}"}}"#
        );
        let call = app.signed(&app.alice, "POST", "/withdrawals", &body);
        bank.set_fault(faults[rng.random_range(0..faults.len())], 1, 1_500)
            .await;
        let mut answer = send_via(&withdrawals, &call).await;
        for _ in 0..20 {
            if matches!(answer.status, 201 | 400 | 404 | 422)
                || answer.code() == "insufficient-funds"
            {
                break;
            }
            app.clock.advance(5);
            answer = send_via(&withdrawals, &call.resigned(app.clock.now())).await;
        }
        assert!(
            matches!(answer.status, 201 | 422) || answer.code() == "insufficient-funds",
            "withdrawal {i} never settled: {} {}",
            answer.status,
            answer.body
        );
        let total = withdrawal_total(&app).await;
        if total != OPENING {
            violations.push(format!(
                "withdrawal {i}: balance + held + paid = {total}, not {OPENING}"
            ));
        }
    }
    proxy.calm();

    // Every payout settled once: one payout item each, one transfer per paid one.
    let payout_items = app.scan_all(&app.ledger.tables().payouts).await;
    let paid = payout_items
        .iter()
        .filter(|i| i["status"].as_s().unwrap() == "paid")
        .count();
    if payout_items.len() != total_payouts {
        violations.push(format!(
            "{} payouts settled, not {total_payouts}",
            payout_items.len()
        ));
    }
    let transfers = app.scan_count(&app.ledger.tables().transfers).await;
    if transfers != paid {
        violations.push(format!("{transfers} transfers for {paid} paid payouts"));
    }
    // Every paid withdrawal paid by the bank once, none left pending.
    let (balance, by_status) = withdrawal_books(&app).await;
    let bank_paid: u64 = bank.payments().await.iter().map(|p| p.amount).sum();
    if by_status.contains_key("pending") {
        violations.push(format!("withdrawals left pending: {by_status:?}"));
    }
    if bank_paid != *by_status.get("paid").unwrap_or(&0) {
        violations.push(format!(
            "the bank paid {bank_paid}, the books say {by_status:?}"
        ));
    }
    if balance + bank_paid != OPENING {
        violations.push(format!(
            "{balance} left + {bank_paid} paid out != {OPENING}"
        ));
    }
    assert!(violations.is_empty(), "{violations:#?}");
}
