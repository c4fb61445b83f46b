//! `POST /withdrawals` in-process against the fake bank (a real process on loopback): the hold
//! (one transaction: the debit, the pending withdrawal and the lease), the bank call, then the
//! settlement (one transaction: the withdrawal paid, the answer replacing the lease); and the
//! retry, answered from the record. Signed, and behind an authorizer. Each request's DynamoDB
//! calls are counted on the SDK client, its bank calls on the bank's own counters (read
//! between requests, untimed).

use std::time::{Duration, Instant};

use fake_bank::BankProcess;
use payments::Payments;
use replaysafe::testing;
use replaysafe::Clock;
use replaysafe_tests::{send_via, Answer, TestApp};

use crate::calls::measure;
use crate::paths::{serve, SUB};
use crate::stats::{Rounds, Sample};

/// An IBAN the fake bank pays.
pub const IBAN: &str = "DE89370400440532013000";

/// The signed caller's account, opened by `alice`.
pub const SIGNED_ACCOUNT: &str = "acc_wsigned";
/// The authorizer caller's account, opened by [`SUB`].
pub const AUTHORIZED_ACCOUNT: &str = "acc_wjwt";

/// Which request of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Request {
    /// A new key: hold, bank call, settle.
    Fresh,
    /// The same key again: the first answer, from the record.
    Retry,
}

impl Request {
    /// Every one, in the report's order.
    pub const ALL: [Request; 2] = [Request::Fresh, Request::Retry];

    /// As the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Request::Fresh => "POST /withdrawals, fresh",
            Request::Retry => "POST /withdrawals, retry (replayed)",
        }
    }
}

/// How the caller is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// RFC 9421 signatures checked by the guard, a nonce put before the hold.
    Signed,
    /// Behind an API Gateway JWT authorizer: no signature, no nonce.
    Authorizer,
}

impl Mode {
    /// Every one, in the report's order.
    pub const ALL: [Mode; 2] = [Mode::Signed, Mode::Authorizer];

    /// As the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Signed => "replaysafe",
            Mode::Authorizer => "replaysafe, authorizer",
        }
    }
}

/// One request's cost: its DynamoDB calls (in the sample) and its bank calls.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Its time and DynamoDB calls.
    pub sample: Sample,
    /// The `POST /payments` the bank received while it ran.
    pub bank_calls: u64,
}

/// Every request's cost, by mode and request, with its round.
#[derive(Debug, Clone, Default)]
pub struct WithdrawalResults {
    /// Time and DynamoDB calls of each request.
    pub samples: Rounds<(Mode, Request)>,
    /// Bank calls of each request, in the order of `samples`.
    pub bank_calls: std::collections::BTreeMap<(Mode, Request), Vec<u64>>,
}

impl WithdrawalResults {
    /// One request's cost, taken in `round`.
    pub fn push(&mut self, at: (Mode, Request), round: usize, m: Measured) {
        self.samples.push(at, round, m.sample);
        self.bank_calls.entry(at).or_default().push(m.bank_calls);
    }
}

/// The app paying out to the bank, signed and behind an authorizer, on one set of tables.
pub struct Subjects {
    /// The tables, instrumented client and clock; `alice` signs.
    pub app: TestApp,
    /// The app with the guard checking signatures.
    pub signed: Payments,
    /// The same app behind a JWT authorizer (`Auth::jwt()`), its caller [`SUB`].
    pub authorized: Payments,
    /// The fake bank both pay out to.
    pub bank: BankProcess,
}

fn body(account: &str) -> String {
    format!(r#"{{"from":"{account}","amount":1,"currency":"EUR","iban":"{IBAN}"}}"#)
}

impl Subjects {
    /// The bank's payment requests so far, every key's together.
    async fn bank_requests(&self) -> u64 {
        self.bank.requests().await.values().sum()
    }

    /// `send` timed, its bank calls counted around it.
    async fn measured(
        &self,
        send: impl std::future::Future<Output = Answer>,
        want_replayed: bool,
        what: &str,
    ) -> Measured {
        let before = self.bank_requests().await;
        let (answer, sample) = measure(send).await;
        assert_eq!(answer.status, 201, "{what}: {}", answer.body);
        assert_eq!(answer.replayed(), want_replayed, "{what}: {}", answer.body);
        Measured {
            sample,
            bank_calls: self.bank_requests().await - before,
        }
    }

    /// A fresh withdrawal, then its retry, in `mode`.
    pub async fn iteration(&self, mode: Mode, round: usize, out: &mut WithdrawalResults) {
        match mode {
            Mode::Signed => {
                let app = &self.app;
                let call = app.signed(&app.alice, "POST", "/withdrawals", &body(SIGNED_ACCOUNT));
                let fresh = self
                    .measured(send_via(&self.signed, &call), false, "signed, fresh")
                    .await;
                out.push((mode, Request::Fresh), round, fresh);
                let retry = call.resigned(app.clock.now());
                let replayed = self
                    .measured(send_via(&self.signed, &retry), true, "signed, retry")
                    .await;
                out.push((mode, Request::Retry), round, replayed);
            }
            Mode::Authorizer => {
                let key = uuid::Uuid::new_v4().to_string();
                let body = body(AUTHORIZED_ACCOUNT);
                let req = || {
                    testing::authorized("POST", "/withdrawals", body.as_bytes(), Some(&key), SUB)
                };
                let (first, again) = (req(), req());
                let fresh = self
                    .measured(serve(&self.authorized, &first), false, "authorizer, fresh")
                    .await;
                out.push((mode, Request::Fresh), round, fresh);
                let replayed = self
                    .measured(serve(&self.authorized, &again), true, "authorizer, retry")
                    .await;
                out.push((mode, Request::Retry), round, replayed);
            }
        }
    }

    /// Both modes for `duration`, before anything is measured.
    pub async fn warm_up(&self, duration: Duration) -> usize {
        let until = Instant::now() + duration;
        let mut scratch = WithdrawalResults::default();
        let mut n = 0;
        while Instant::now() < until {
            for mode in Mode::ALL {
                self.iteration(mode, 0, &mut scratch).await;
                n += 1;
            }
        }
        n
    }

    /// `rounds` rounds of `per_round` iterations of each mode, taking turns, who goes first
    /// alternating.
    pub async fn run(&self, rounds: usize, per_round: usize) -> WithdrawalResults {
        let mut out = WithdrawalResults::default();
        for round in 0..rounds {
            for i in 0..per_round {
                let mut order = Mode::ALL;
                if i % 2 == 1 {
                    order.reverse();
                }
                for mode in order {
                    self.iteration(mode, round, &mut out).await;
                }
            }
        }
        out
    }
}
