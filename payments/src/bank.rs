//! The bank withdrawals pay out to, over HTTP: `POST {BANK_URL}/payments` with an
//! `Idempotency-Key` the bank honours (the same key returns the first result and pays once).

use std::time::Duration;

use serde::Deserialize;

use crate::domain::Withdrawal;

/// How long connecting to the bank may take, within the call's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The bank's client, built once per cold start.
#[derive(Debug, Clone)]
pub struct Bank {
    http: reqwest::Client,
    url: String,
}

/// What the bank answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankAnswer {
    /// It paid (now or on an earlier attempt with the same key).
    Paid { bank_reference: String },
    /// It refused, for good: the code it gave (an invalid IBAN, say).
    Refused { code: String },
}

/// The bank did not settle the payment: a timeout, a 5xx, an answer we cannot read. It may
/// have paid; a retry with the same key finds out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BankUnsettled(String);

#[derive(Deserialize)]
struct Paid {
    bank_reference: String,
}

#[derive(Deserialize)]
struct Refusal {
    error: String,
}

impl Bank {
    /// The bank at `url` (no trailing `/`).
    pub fn new(url: &str) -> Self {
        // The ring provider for TLS to a real bank; `install_default` fails only when one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with a TLS provider builds");
        Self {
            http,
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    /// `BANK_URL`, when set.
    pub fn from_env() -> Option<Self> {
        std::env::var("BANK_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(|u| Self::new(&u))
    }

    /// Pays `w` out under `key`, giving up after `timeout`.
    pub async fn pay(
        &self,
        w: &Withdrawal,
        key: &str,
        timeout: Duration,
    ) -> Result<BankAnswer, BankUnsettled> {
        let body = serde_json::json!({
            "iban": w.iban,
            "amount": w.amount,
            "currency": w.currency,
            "reference": w.withdrawal_id,
        });
        let answer = self
            .http
            .post(format!("{}/payments", self.url))
            .header("idempotency-key", key)
            .json(&body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| BankUnsettled(format!("the bank call failed: {e}")))?;
        let status = answer.status().as_u16();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| BankUnsettled(format!("the bank's answer was cut: {e}")))?;
        match status {
            200 | 201 => serde_json::from_slice::<Paid>(&bytes)
                .map(|p| BankAnswer::Paid {
                    bank_reference: p.bank_reference,
                })
                .map_err(|e| BankUnsettled(format!("the bank's 2xx does not read: {e}"))),
            422 => Ok(BankAnswer::Refused {
                code: serde_json::from_slice::<Refusal>(&bytes)
                    .map(|r| r.error)
                    .unwrap_or_else(|_| "refused".into()),
            }),
            other => Err(BankUnsettled(format!("the bank answered {other}"))),
        }
    }
}
