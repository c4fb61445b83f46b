//! `POST /payments`: the idempotency key, the queued fault, then the ledger's decision.

use std::time::Duration;

use crate::bank::Bank;
use crate::faults::FaultMode;
use crate::wire::{Request, Response};

/// The longest `Idempotency-Key` the bank takes.
const MAX_KEY_LEN: usize = 255;

/// The answer to one `POST /payments`.
pub(crate) async fn pay(bank: &Bank, req: &Request) -> Response {
    let key = idempotency_key(req);
    let fault = {
        let mut ledger = bank.ledger();
        if let Ok(key) = &key {
            *ledger.requests.entry(key.clone()).or_default() += 1;
        }
        ledger.fault.take()
    };
    let (mode, delay) = match fault {
        Some((mode, delay_ms)) => (Some(mode), Duration::from_millis(delay_ms)),
        None => (None, Duration::ZERO),
    };
    match mode {
        // An unavailable bank answers before reading anything.
        Some(FaultMode::Fail) => return Response::error(503, "unavailable"),
        Some(FaultMode::HangBefore) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let key = match key {
        Ok(key) => key,
        Err(refusal) => return refusal,
    };
    let refuse = mode == Some(FaultMode::Refuse);
    let (answer, outcome) = bank.ledger().decide(&key, &req.body, refuse);
    tracing::info!(
        idempotency_key = %key,
        outcome = outcome.as_str(),
        fault = mode.map_or("none", FaultMode::name),
        "payment request"
    );
    match mode {
        Some(FaultMode::Slow) => {
            tokio::time::sleep(delay).await;
            answer
        }
        Some(FaultMode::FailAfter) => Response::error(500, "internal"),
        _ => answer,
    }
}

/// The request's one `Idempotency-Key`: 1 to 255 visible ASCII characters.
fn idempotency_key(req: &Request) -> Result<String, Response> {
    let mut values = req.header_values("idempotency-key");
    let Some(value) = values.next() else {
        return Err(Response::error(400, "idempotency-key-missing"));
    };
    let visible = |b: &u8| b.is_ascii_graphic();
    if values.next().is_some() || value.len() > MAX_KEY_LEN || !value.iter().all(visible) {
        return Err(Response::error(400, "idempotency-key-invalid"));
    }
    match std::str::from_utf8(value) {
        Ok(key) if !key.is_empty() => Ok(key.to_owned()),
        _ => Err(Response::error(400, "idempotency-key-invalid")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_keys(keys: &[&[u8]]) -> Request {
        Request {
            method: "POST".into(),
            path: "/payments".into(),
            headers: keys
                .iter()
                .map(|k| ("Idempotency-Key".to_owned(), k.to_vec()))
                .collect(),
            body: Vec::new(),
        }
    }

    fn error_of(result: Result<String, Response>) -> String {
        let answer = result.unwrap_err();
        let doc: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        format!("{} {}", answer.status, doc["error"].as_str().unwrap())
    }

    #[test]
    fn takes_one_visible_ascii_key_of_1_to_255() {
        assert_eq!(
            idempotency_key(&with_keys(&[b"w-1:a/b"])).unwrap(),
            "w-1:a/b"
        );
        let longest = vec![b'k'; 255];
        assert_eq!(idempotency_key(&with_keys(&[&longest])).unwrap().len(), 255);
        assert_eq!(
            error_of(idempotency_key(&with_keys(&[]))),
            "400 idempotency-key-missing"
        );
        for bad in [&b""[..], b"a b", b"caf\xc3\xa9", b"tab\t", &[b'k'; 256]] {
            assert_eq!(
                error_of(idempotency_key(&with_keys(&[bad]))),
                "400 idempotency-key-invalid",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            error_of(idempotency_key(&with_keys(&[b"a", b"b"]))),
            "400 idempotency-key-invalid"
        );
    }
}
