//! What the bank remembers: the payments made, the answer stored under each idempotency key,
//! the requests counted per key, and the queued fault. One `Mutex` guards all of it, so that
//! deciding on a key and recording the outcome happen as one step: concurrent requests with one
//! key pay once.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use crate::faults::Fault;
use crate::iban;
use crate::wire::Response;

/// One payment the bank made (an element of `GET /_control/payments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The bank's own id for it, `bnk_` and 32 hex digits.
    pub bank_reference: String,
    /// The `Idempotency-Key` it was made under.
    pub idempotency_key: String,
    /// The account paid, as the request spelled it.
    pub iban: String,
    /// In minor units (cents).
    pub amount: u64,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
    /// The payer's reference, if the request had one.
    pub reference: Option<String>,
    /// When it was made, RFC 3339.
    pub paid_at: String,
}

/// The body of `POST /payments`; two requests with one key are the same request when these
/// are equal (whatever their JSON spacing or key order).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct PaymentRequest {
    iban: String,
    amount: u64,
    currency: String,
    #[serde(default)]
    reference: Option<String>,
}

impl PaymentRequest {
    fn parse(body: &[u8]) -> Option<Self> {
        let request: Self = serde_json::from_slice(body).ok()?;
        let currency_ok =
            request.currency.len() == 3 && request.currency.bytes().all(|b| b.is_ascii_uppercase());
        (request.amount > 0 && currency_ok).then_some(request)
    }
}

/// The first answer given under a key, and the request it answered.
#[derive(Debug)]
struct Stored {
    request: PaymentRequest,
    answer: Response,
}

/// The bank's whole state.
#[derive(Debug)]
pub(crate) struct Ledger {
    pub(crate) payments: Vec<Payment>,
    answers: HashMap<String, Stored>,
    pub(crate) requests: BTreeMap<String, u64>,
    pub(crate) fault: Fault,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            payments: Vec::new(),
            answers: HashMap::new(),
            requests: BTreeMap::new(),
            fault: Fault::NONE,
        }
    }
}

/// How a `POST /payments` was decided, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Paid,
    Replayed,
    Refused,
    KeyReused,
    Invalid,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Replayed => "replayed",
            Outcome::Refused => "refused",
            Outcome::KeyReused => "key-reused",
            Outcome::Invalid => "invalid-request",
        }
    }
}

impl Ledger {
    /// Decides the payment request `body` under `key` and records the outcome; `refuse` is
    /// the `refuse` fault, which turns what would be a payment into a stored refusal.
    pub(crate) fn decide(&mut self, key: &str, body: &[u8], refuse: bool) -> (Response, Outcome) {
        let Some(request) = PaymentRequest::parse(body) else {
            return (Response::error(400, "invalid-request"), Outcome::Invalid);
        };
        if let Some(stored) = self.answers.get(key) {
            if stored.request != request {
                return (
                    Response::error(409, "idempotency-key-reused"),
                    Outcome::KeyReused,
                );
            }
            let mut replay = stored.answer.clone();
            replay
                .headers
                .push(("idempotent-replayed", "true".to_owned()));
            return (replay, Outcome::Replayed);
        }
        let (answer, outcome) = if let Err(why) = iban::validate(&request.iban) {
            let answer = Response::error_detail(422, "invalid-iban", &why.to_string());
            (answer, Outcome::Refused)
        } else if refuse {
            let detail = "the bank refused the payment (refuse fault)";
            (
                Response::error_detail(422, "refused", detail),
                Outcome::Refused,
            )
        } else {
            (self.pay(key, &request), Outcome::Paid)
        };
        let stored = Stored {
            request,
            answer: answer.clone(),
        };
        self.answers.insert(key.to_owned(), stored);
        (answer, outcome)
    }

    fn pay(&mut self, key: &str, request: &PaymentRequest) -> Response {
        let payment = Payment {
            bank_reference: format!("bnk_{}", uuid::Uuid::new_v4().simple()),
            idempotency_key: key.to_owned(),
            iban: request.iban.clone(),
            amount: request.amount,
            currency: request.currency.clone(),
            reference: request.reference.clone(),
            paid_at: time::OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .expect("a formattable time"),
        };
        let answer = Response::json(
            201,
            &serde_json::json!({
                "bank_reference": payment.bank_reference,
                "iban": payment.iban,
                "amount": payment.amount,
                "currency": payment.currency,
                "reference": payment.reference,
                "idempotency_key": payment.idempotency_key,
                "paid_at": payment.paid_at,
            }),
        );
        self.payments.push(payment);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        br#"{"iban":"DE89370400440532013000","amount":1250,"currency":"EUR","reference":"w-1"}"#;

    #[test]
    fn the_same_request_is_paid_once_and_replayed() {
        let mut ledger = Ledger::default();
        let (first, outcome) = ledger.decide("k", BODY, false);
        assert_eq!((first.status, outcome), (201, Outcome::Paid));
        let respaced = br#"{ "currency": "EUR", "reference": "w-1", "amount": 1250, "iban": "DE89370400440532013000" }"#;
        let (again, outcome) = ledger.decide("k", respaced, false);
        assert_eq!(outcome, Outcome::Replayed);
        assert_eq!((again.status, &again.body), (201, &first.body));
        assert_eq!(again.headers, [("idempotent-replayed", "true".to_owned())]);
        assert_eq!(ledger.payments.len(), 1);
        let answer: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
        assert_eq!(answer["bank_reference"], ledger.payments[0].bank_reference);
    }

    #[test]
    fn another_request_under_a_used_key_is_a_conflict() {
        let mut ledger = Ledger::default();
        ledger.decide("k", BODY, false);
        let other = br#"{"iban":"DE89370400440532013000","amount":1251,"currency":"EUR","reference":"w-1"}"#;
        let (answer, outcome) = ledger.decide("k", other, false);
        assert_eq!((answer.status, outcome), (409, Outcome::KeyReused));
        assert_eq!(ledger.payments.len(), 1);
    }

    #[test]
    fn refusals_are_stored_and_replayed() {
        let mut ledger = Ledger::default();
        let bad = br#"{"iban":"DE00370400440532013000","amount":1,"currency":"EUR"}"#;
        let (first, _) = ledger.decide("k", bad, false);
        assert_eq!(first.status, 422);
        let (again, outcome) = ledger.decide("k", bad, false);
        assert_eq!(
            (again.status, &again.body, outcome),
            (422, &first.body, Outcome::Replayed)
        );
        let (refused, _) = ledger.decide("r", BODY, true);
        assert_eq!(refused.status, 422);
        let (again, _) = ledger.decide("r", BODY, false);
        assert_eq!((again.status, &again.body), (422, &refused.body));
        assert!(ledger.payments.is_empty());
    }

    #[test]
    fn malformed_requests_are_400_and_not_stored() {
        let mut ledger = Ledger::default();
        for body in [
            &b"not json"[..],
            br#"{"iban":"DE89370400440532013000","amount":0,"currency":"EUR"}"#,
            br#"{"iban":"DE89370400440532013000","amount":-5,"currency":"EUR"}"#,
            br#"{"iban":"DE89370400440532013000","amount":1.5,"currency":"EUR"}"#,
            br#"{"iban":"DE89370400440532013000","amount":1,"currency":"eur"}"#,
            br#"{"iban":"DE89370400440532013000","amount":1,"currency":"EURO"}"#,
            br#"{"iban":"DE89370400440532013000","amount":1}"#,
            br#"{"iban":7,"amount":1,"currency":"EUR"}"#,
        ] {
            let (answer, _) = ledger.decide("k", body, false);
            assert_eq!(answer.status, 400, "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(ledger.decide("k", BODY, false).0.status, 201);
    }
}
