//! Starting a bank and paying through it, as the payments system does.

use std::path::Path;
use std::time::Duration;

use fake_bank::BankProcess;
use serde_json::{json, Value};

/// A valid IBAN (the ISO 13616 example).
pub const IBAN: &str = "DE89370400440532013000";

/// One answer from the bank.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// It carried `Idempotent-Replayed: true`.
    pub replayed: bool,
    pub body: Value,
}

pub async fn start() -> BankProcess {
    BankProcess::start(Path::new(env!("CARGO_BIN_EXE_fake-bank")))
        .await
        .expect("the fake bank starts")
}

/// A payment request body of `amount` cents to [`IBAN`].
pub fn payment(amount: u64) -> Value {
    json!({ "iban": IBAN, "amount": amount, "currency": "EUR", "reference": "withdrawal w-1" })
}

fn http_client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// `POST /payments` with `key` (none when `None`) and `body`, giving up after `timeout`.
pub async fn try_pay(
    bank: &BankProcess,
    key: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> Result<Answer, reqwest::Error> {
    let mut request = http_client(timeout)
        .post(format!("{}/payments", bank.url()))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let replayed = match response.headers().get("idempotent-replayed") {
        None => false,
        Some(value) => {
            assert_eq!(value, "true");
            true
        }
    };
    let body = serde_json::from_slice(&response.bytes().await?).expect("a JSON answer");
    Ok(Answer {
        status,
        replayed,
        body,
    })
}

/// `POST /payments` of `body` under `key`.
pub async fn pay(bank: &BankProcess, key: &str, body: &Value) -> Answer {
    let bytes = serde_json::to_vec(body).unwrap();
    try_pay(bank, Some(key), &bytes, Duration::from_secs(30))
        .await
        .expect("the bank answers")
}

/// Any request, for the routes other than `POST /payments`.
pub async fn send(bank: &BankProcess, method: &str, path: &str, body: &str) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = http_client(Duration::from_secs(30))
        .request(method, format!("{}{path}", bank.url()))
        .body(body.to_owned())
        .send()
        .await
        .expect("the bank answers");
    let status = response.status().as_u16();
    let body = serde_json::from_slice(&response.bytes().await.unwrap()).expect("a JSON answer");
    (status, body)
}
