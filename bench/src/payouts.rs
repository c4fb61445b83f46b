//! Batches of payouts from SQS: replaysafe's `consume_payouts` in-process beside the Powertools
//! peer (`bench/peer/payouts.py`: `BatchProcessor` and `@idempotent_function`) making the same
//! writes, on one DynamoDB Local. Each batch is 10 fresh payouts, every one of which succeeds,
//! then the same 10 messages redelivered (duplicates: answered from their records). The two
//! consumers take turns batch by batch, who goes first alternating.
//!
//! Record `i` of a batch moves money from the `i`-th payer to the `i`-th payee: the records
//! of a batch touch no item in common, as payouts from many payers would not, so that running
//! them concurrently (replaysafe does, 10 at a time) meets no transaction conflict.

use std::time::{Duration, Instant};

use lambda_http::aws_lambda_events::event::sqs::SqsEvent;
use payments::Payouts;
use replaysafe_tests::outside::{deliver, failed, payout_body, sqs_event, Message, QUEUE_ARN};
use replaysafe_tests::TestApp;
use serde_json::Value;

use crate::calls::measure;
use crate::capacity;
use crate::peer::Peer;
use crate::stats::{Rounds, Sample};

/// Payouts per batch: SQS's default batch size for a Lambda event source mapping.
pub const BATCH: usize = 10;

/// The amount of every payout: payers hold enough for any run.
const AMOUNT: u64 = 1;

/// What a batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Batch {
    /// 10 payouts never seen: each moves money.
    Fresh,
    /// The same 10 messages again: each is answered from its record.
    Redelivered,
}

impl Batch {
    /// Every one, in the report's order.
    pub const ALL: [Batch; 2] = [Batch::Fresh, Batch::Redelivered];

    /// As the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Batch::Fresh => "batch of 10 payouts, fresh",
            Batch::Redelivered => "batch of 10 payouts, redelivered",
        }
    }
}

/// Who consumes the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Consumer {
    /// `payments::consume_payouts`, in-process.
    Ours,
    /// Powertools' `BatchProcessor` and `@idempotent_function`, in its Python process.
    Peer,
}

impl Consumer {
    /// Every one, in the report's order.
    pub const ALL: [Consumer; 2] = [Consumer::Ours, Consumer::Peer];

    /// As the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Ours => "replaysafe consume_payouts",
            Consumer::Peer => "Powertools BatchProcessor + idempotent_function",
        }
    }
}

/// Every batch's sample, by consumer and batch, with its round.
pub type BatchResults = Rounds<(Consumer, Batch)>;

/// The payer and payee account ids of record `i` of a batch.
pub fn accounts(i: usize) -> (String, String) {
    (format!("acc_payer{i}"), format!("acc_payee{i}"))
}

/// Opens the accounts every batch's records move money between, in `app`'s tables, owned by
/// its `alice`.
pub async fn open_accounts(app: &TestApp) {
    for i in 0..BATCH {
        let (payer, payee) = accounts(i);
        app.open_account(&app.alice, &payer, "EUR", 1_000_000_000)
            .await;
        app.open_account(&app.alice, &payee, "EUR", 0).await;
    }
}

/// The two consumers, each on tables of its own (the same layout) on one DynamoDB Local.
pub struct Subjects {
    /// replaysafe's tables and instrumented client; its payouts are `alice`'s.
    pub ours_app: TestApp,
    /// `consume_payouts`' app on those tables (a queue keeping messages a day).
    pub ours: Payouts,
    /// The peer's tables (created and filled through our API, then left to the peer).
    pub peer_app: TestApp,
    /// `bench/peer/payouts.py` under the emulator, on the peer's tables.
    pub peer: Peer,
}

/// A batch of [`BATCH`] fresh payouts of `owner`'s, each with a message id of its own.
pub fn fresh_batch(owner: &str) -> SqsEvent {
    let bodies: Vec<(String, String)> = (0..BATCH)
        .map(|i| {
            let (payer, payee) = accounts(i);
            let payout_id = format!("po_{}", uuid::Uuid::new_v4().simple());
            let body = payout_body(&payout_id, owner, &payer, &payee, AMOUNT);
            (uuid::Uuid::new_v4().to_string(), body)
        })
        .collect();
    let messages: Vec<Message<'_>> = bodies
        .iter()
        .map(|(id, body)| Message { id, body })
        .collect();
    sqs_event(QUEUE_ARN, &messages)
}

/// The ids a Powertools partial batch response reports for redelivery.
pub fn reported(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
        .collect()
}

impl Subjects {
    /// One batch of `batch` through `consumer`, checked: no record reported.
    async fn consume(&self, consumer: Consumer, batch: Batch, event: &SqsEvent) -> Sample {
        match consumer {
            Consumer::Ours => {
                let (response, sample) = measure(deliver(&self.ours, event.clone())).await;
                let failed = failed(&response);
                assert!(failed.is_empty(), "{}: reported {failed:?}", batch.name());
                sample
            }
            Consumer::Peer => {
                let event = serde_json::to_value(event).expect("an SQS event serialises");
                let (response, sample) = self
                    .peer
                    .invoke(&event)
                    .await
                    .unwrap_or_else(|e| panic!("payouts peer: {e}"));
                let failed = reported(&response);
                assert!(
                    failed.is_empty(),
                    "peer {}: reported {failed:?}",
                    batch.name()
                );
                sample
            }
        }
    }

    /// A fresh batch, then the same messages redelivered, through `consumer`.
    pub async fn iteration(&self, consumer: Consumer, round: usize, out: &mut BatchResults) {
        let owner = match consumer {
            Consumer::Ours => &self.ours_app.alice.id,
            Consumer::Peer => &self.peer_app.alice.id,
        };
        let event = fresh_batch(owner);
        for batch in Batch::ALL {
            let sample = self.consume(consumer, batch, &event).await;
            out.push((consumer, batch), round, sample);
        }
    }

    /// Batches of both consumers for `duration`: the peer's interpreter and both sides'
    /// connections reach their steady state before anything is measured.
    pub async fn warm_up(&self, duration: Duration) -> usize {
        let until = Instant::now() + duration;
        let mut scratch = BatchResults::default();
        let mut n = 0;
        while Instant::now() < until {
            for consumer in Consumer::ALL {
                self.iteration(consumer, 0, &mut scratch).await;
                n += 1;
            }
        }
        n
    }

    /// `rounds` rounds of `per_round` iterations of each consumer, taking turns, who goes
    /// first alternating.
    pub async fn run(&self, rounds: usize, per_round: usize) -> BatchResults {
        let mut out = BatchResults::default();
        for round in 0..rounds {
            for i in 0..per_round {
                let mut order = Consumer::ALL;
                if i % 2 == 1 {
                    order.reverse();
                }
                for consumer in order {
                    self.iteration(consumer, round, &mut out).await;
                }
            }
        }
        out
    }

    /// One iteration of each consumer with its calls described (see [`crate::capacity`]),
    /// untimed: what a batch consumed.
    pub async fn capacity(&self) -> BatchResults {
        capacity::capture(true);
        let mut out = BatchResults::default();
        for consumer in Consumer::ALL {
            self.iteration(consumer, 0, &mut out).await;
        }
        capacity::capture(false);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_batch_is_ten_payouts_between_distinct_accounts() {
        let event = fresh_batch("cli_bench");
        assert_eq!(event.records.len(), BATCH);
        let mut payers = std::collections::BTreeSet::new();
        for record in &event.records {
            let body: Value = serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
            assert_eq!(body["owner"], "cli_bench");
            assert!(payers.insert(body["from"].as_str().unwrap().to_owned()));
        }
        let as_json = serde_json::to_value(&event).unwrap();
        assert!(as_json["Records"][0]["messageId"].is_string());
    }

    #[test]
    fn a_partial_batch_response_names_its_reported_records() {
        let response = serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]});
        assert_eq!(reported(&response), ["m-2"]);
        assert!(reported(&serde_json::json!({"batchItemFailures": []})).is_empty());
    }
}
