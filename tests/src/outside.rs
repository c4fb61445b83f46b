//! What the tests of payouts and withdrawals share: SQS events as Lambda builds them, the
//! payouts consumer and the withdrawals app on a test app's tables and clock, and the fake bank.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::{Context, LambdaEvent};
use payments::bank::Bank;
use payments::{Payments, Payouts};
use replaysafe::lease::LeaseTerms;
use serde_json::json;

use crate::server::ApiServer;
use crate::TestApp;

/// The ARN of the standard payouts queue the events come from.
pub const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:000000000000:replaysafe-payouts";
/// A FIFO queue's: its batches run in order.
pub const FIFO_ARN: &str = "arn:aws:sqs:eu-west-1:000000000000:replaysafe-payouts.fifo";

/// One message: its id and body.
pub struct Message<'a> {
    pub id: &'a str,
    pub body: &'a str,
}

/// An SQS event from `arn` as Lambda's event source mapping delivers it.
pub fn sqs_event(arn: &str, messages: &[Message<'_>]) -> SqsEvent {
    let records: Vec<_> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.id,
                "receiptHandle": format!("rh-{}", uuid::Uuid::new_v4()),
                "body": m.body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "eu-west-1",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SQS event")
}

/// A payout message's body.
pub fn payout_body(payout_id: &str, owner: &str, from: &str, to: &str, amount: u64) -> String {
    json!({
        "payout_id": payout_id, "owner": owner, "from": from, "to": to,
        "amount": amount, "currency": "EUR", "reference": "december",
    })
    .to_string()
}

/// The ids the consumer reported for redelivery.
pub fn failed(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

impl TestApp {
    /// The payouts consumer on this app's tables and clock, for a queue keeping messages a day.
    pub async fn payouts(&self) -> Payouts {
        let guard = self
            .guard_on(
                self.store.clone(),
                self.guard().config().clone(),
                self.clock.clone(),
            )
            .await;
        Payouts::new(guard, self.ledger.clone(), 86_400).expect("retention within the TTL")
    }

    /// The app paying withdrawals out to the bank at `bank_url`, with a lease of
    /// `lease_seconds` over calls of at most `call_seconds`.
    pub async fn with_bank(
        &self,
        bank_url: &str,
        lease_seconds: u64,
        call_seconds: u64,
    ) -> Payments {
        self.with_bank_on(bank_url, lease_seconds, call_seconds, self.clock.clone())
            .await
    }

    /// Serves this app's tables over HTTP with the real clock, withdrawals paid out to the bank
    /// at `bank_url` (see [`TestApp::http_server`]).
    pub async fn http_server_with_bank(&self, bank_url: &str) -> ApiServer {
        let payments = self
            .with_bank_on(bank_url, 15, 5, Arc::new(replaysafe::SystemClock))
            .await;
        ApiServer::start(payments).await
    }

    async fn with_bank_on(
        &self,
        bank_url: &str,
        lease_seconds: u64,
        call_seconds: u64,
        clock: Arc<dyn replaysafe::Clock>,
    ) -> Payments {
        let guard = self
            .guard_on(self.store.clone(), self.guard().config().clone(), clock)
            .await;
        let lease = LeaseTerms::new(
            Duration::from_secs(lease_seconds),
            Duration::from_secs(call_seconds),
        )
        .expect("the call fits the lease");
        Payments::new(guard, self.ledger.clone()).with_bank(Bank::new(bank_url), lease)
    }
}

/// Hands `event` to the consumer as Lambda does.
pub async fn deliver(payouts: &Payouts, event: SqsEvent) -> SqsBatchResponse {
    payments::consume_payouts(payouts, LambdaEvent::new(event, Context::default())).await
}

/// The fake bank, a real process on loopback (target/debug/fake-bank, built by `make test`).
pub async fn start_bank() -> fake_bank::BankProcess {
    fake_bank::BankProcess::start(&fake_bank::binary_path())
        .await
        .expect("start the fake bank (cargo build -p fake-bank)")
}
