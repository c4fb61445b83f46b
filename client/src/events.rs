//! API Gateway HTTP API (payload format 2.0) events, as the JSON a function receives: signing a
//! template so that the function accepts it.
//!
//! Signatures expire (`REPLAY_WINDOW_SECONDS`) and nonces are single use, so the events in
//! `events/` are templates without signature headers. [`sign_event`] writes `Content-Digest`,
//! `Signature-Input` and `Signature` the way a client would have sent them, for the request the
//! event describes (`requestContext.http.method`, `rawPath`, `rawQueryString`, `body`,
//! `idempotency-key`). `replaysafe sign-event` and the deploy tests both call it.
//!
//! The event stays JSON (`serde_json::Value`) from end to end: fields this module does not know
//! are kept as they are.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use replaysafe_signing::{valid_idempotency_key, Signer};
use serde_json::{Map, Value};
use thiserror::Error;

/// Why an event cannot be signed.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct EventError(String);

fn error(message: impl Into<String>) -> EventError {
    EventError(message.into())
}

/// Changes to make to the template before signing it.
#[derive(Debug, Default, Clone)]
pub struct EventEdits<'a> {
    /// A new `rawPath` (e.g. the id of a transfer that exists); `requestContext.http.path` and
    /// `pathParameters` follow, matched against the event's `routeKey`.
    pub path: Option<&'a str>,
    /// A new body (text); `isBase64Encoded` becomes false.
    pub body: Option<&'a str>,
    /// A new `Idempotency-Key` header value.
    pub idempotency_key: Option<&'a str>,
}

/// The headers [`sign_event`] writes (API Gateway delivers header names in lower case).
const SIGNATURE_HEADERS: [&str; 3] = ["content-digest", "signature-input", "signature"];

/// Returns `event` with `edits` applied and signed by `signer` at `created` (unix seconds) with
/// `nonce`. `requestContext.time`/`timeEpoch` and `content-length` are set to match.
pub fn sign_event(
    event: &Value,
    signer: &Signer,
    created: i64,
    nonce: &str,
    edits: &EventEdits<'_>,
) -> Result<Value, EventError> {
    let mut event = event.clone();
    let root = event
        .as_object_mut()
        .ok_or_else(|| error("an event is a JSON object"))?;
    if root.get("version").and_then(Value::as_str) != Some("2.0") {
        return Err(error(
            "not an API Gateway HTTP API event: \"version\" must be \"2.0\" (payload format 2.0)",
        ));
    }
    if let Some(path) = edits.path {
        set_path(root, path)?;
    }
    if let Some(body) = edits.body {
        root.insert("body".into(), Value::String(body.to_owned()));
        root.insert("isBase64Encoded".into(), Value::Bool(false));
    }
    if let Some(key) = edits.idempotency_key {
        set_header(root, "idempotency-key", key);
    }

    let method = root
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .and_then(|h| h.get("method"))
        .and_then(Value::as_str)
        .ok_or_else(|| error("the event has no requestContext.http.method"))?
        .to_ascii_uppercase();
    let path = root
        .get("rawPath")
        .and_then(Value::as_str)
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| error("the event has no rawPath starting with '/'"))?
        .to_owned();
    let path_and_query = match root.get("rawQueryString").and_then(Value::as_str) {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path,
    };
    let body = body_bytes(root)?;
    let key = header(root, "idempotency-key").map(str::to_owned);
    match &key {
        Some(k) if !valid_idempotency_key(k) => {
            return Err(error(
                "the idempotency-key header must be 1 to 255 visible ASCII characters",
            ))
        }
        None if method == "POST" => {
            return Err(error("a POST event needs an idempotency-key header"))
        }
        _ => {}
    }

    let signed = signer.sign(
        &method,
        &path_and_query,
        &body,
        key.as_deref(),
        created,
        nonce,
    );
    let headers = headers_mut(root)?;
    headers.retain(|name, _| {
        !SIGNATURE_HEADERS
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
    });
    if let Some(digest) = signed.content_digest {
        headers.insert("content-digest".into(), Value::String(digest));
    }
    headers.insert(
        "signature-input".into(),
        Value::String(signed.signature_input),
    );
    headers.insert("signature".into(), Value::String(signed.signature));
    if body.is_empty() {
        headers.retain(|name, _| !name.eq_ignore_ascii_case("content-length"));
    } else {
        set_header(root, "content-length", &body.len().to_string());
    }

    if let Some(context) = root
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        context.insert(
            "timeEpoch".into(),
            Value::from(created.saturating_mul(1000)),
        );
        if let Some(time) = apigw_time(created) {
            context.insert("time".into(), Value::String(time));
        }
    }
    Ok(event)
}

/// The body as the function will see it: decoded when `isBase64Encoded`.
fn body_bytes(root: &Map<String, Value>) -> Result<Vec<u8>, EventError> {
    let Some(body) = root.get("body").and_then(Value::as_str) else {
        return Ok(Vec::new());
    };
    if root.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        STANDARD
            .decode(body)
            .map_err(|_| error("isBase64Encoded is true but the body is not base64"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

fn headers_mut(root: &mut Map<String, Value>) -> Result<&mut Map<String, Value>, EventError> {
    root.entry("headers")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| error("\"headers\" must be an object"))
}

fn header<'a>(root: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    root.get("headers")?
        .as_object()?
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// Sets one header, replacing any of the same name in another case.
fn set_header(root: &mut Map<String, Value>, name: &str, value: &str) {
    if let Ok(headers) = headers_mut(root) {
        headers.retain(|n, _| !n.eq_ignore_ascii_case(name));
        headers.insert(name.to_owned(), Value::String(value.to_owned()));
    }
}

/// Sets `rawPath`, `requestContext.http.path` and `pathParameters` (from the `{name}` segments
/// of `routeKey`).
fn set_path(root: &mut Map<String, Value>, path: &str) -> Result<(), EventError> {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    if !path.starts_with('/') {
        return Err(error(format!("the path {path:?} must start with '/'")));
    }
    let route = root
        .get("routeKey")
        .and_then(Value::as_str)
        .and_then(|k| k.split_once(' '))
        .map(|(_, route)| route.to_owned());
    let mut parameters = Map::new();
    if let Some(route) = route.filter(|r| r.starts_with('/')) {
        let (want, have): (Vec<&str>, Vec<&str>) =
            (route.split('/').collect(), path.split('/').collect());
        if want.len() != have.len() {
            return Err(error(format!(
                "the path {path:?} does not match the event's route {route:?}"
            )));
        }
        for (w, h) in want.iter().zip(&have) {
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !h.is_empty() => {
                    parameters.insert(name.to_owned(), Value::String((*h).to_owned()));
                }
                _ if w == h => {}
                _ => {
                    return Err(error(format!(
                        "the path {path:?} does not match the event's route {route:?}"
                    )))
                }
            }
        }
    }
    root.insert("rawPath".into(), Value::String(path.to_owned()));
    if let Some(query) = query {
        root.insert("rawQueryString".into(), Value::String(query.to_owned()));
    }
    if parameters.is_empty() {
        root.remove("pathParameters");
    } else {
        root.insert("pathParameters".into(), Value::Object(parameters));
    }
    if let Some(http) = root
        .get_mut("requestContext")
        .and_then(|c| c.get_mut("http"))
        .and_then(Value::as_object_mut)
    {
        http.insert("path".into(), Value::String(path.to_owned()));
    }
    Ok(())
}

/// `requestContext.time` as API Gateway writes it: `22/Nov/2025:12:00:00 +0000`.
fn apigw_time(unix_seconds: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds).ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][usize::from(u8::from(t.month())) - 1];
    Some(format!(
        "{:02}/{month}/{}:{:02}:{:02}:{:02} +0000",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Value {
        json!({
            "version": "2.0",
            "routeKey": "POST /transfers",
            "rawPath": "/transfers",
            "rawQueryString": "",
            "headers": {
                "content-type": "application/json",
                "idempotency-key": "5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a21",
                "Signature": "sig1=:stale:"
            },
            "requestContext": {"http": {"method": "POST", "path": "/transfers"}, "stage": "$default"},
            "body": "{\"from\":\"acc_alice\",\"to\":\"acc_bob\",\"amount\":1500,\"currency\":\"EUR\"}",
            "isBase64Encoded": false
        })
    }

    fn vector_signer() -> Signer {
        Signer::from_base64("cli_7f3a", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
    }

    #[test]
    fn signs_the_contract_test_vector() {
        let signed = sign_event(
            &template(),
            &vector_signer(),
            1_763_812_800,
            "q9X2mY7rT1vK4pLs8dWz3A",
            &EventEdits::default(),
        )
        .unwrap();
        let h = &signed["headers"];
        assert_eq!(
            h["content-digest"],
            "sha-256=:bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=:"
        );
        assert_eq!(
            h["signature"],
            "sig1=:wxeW+lfvQjNP5Zzu/OaUr5KssobE4jlR5kRwUxUJgwo=:"
        );
        assert!(h.get("Signature").is_none(), "the stale signature is gone");
        assert_eq!(h["content-length"], "66");
        assert_eq!(signed["requestContext"]["timeEpoch"], 1_763_812_800_000i64);
        assert_eq!(
            signed["requestContext"]["time"],
            "22/Nov/2025:12:00:00 +0000"
        );
    }

    #[test]
    fn a_base64_body_is_signed_as_its_bytes() {
        let mut event = template();
        let body = event["body"].as_str().unwrap().to_owned();
        event["body"] = Value::String(STANDARD.encode(body));
        event["isBase64Encoded"] = Value::Bool(true);
        let signed = sign_event(
            &event,
            &vector_signer(),
            1_763_812_800,
            "q9X2mY7rT1vK4pLs8dWz3A",
            &EventEdits::default(),
        )
        .unwrap();
        assert_eq!(
            signed["headers"]["signature"],
            "sig1=:wxeW+lfvQjNP5Zzu/OaUr5KssobE4jlR5kRwUxUJgwo=:"
        );
    }

    #[test]
    fn a_new_path_sets_the_path_parameters() {
        let event = json!({
            "version": "2.0",
            "routeKey": "GET /transfers/{transfer_id}",
            "rawPath": "/transfers/tr_example",
            "pathParameters": {"transfer_id": "tr_example"},
            "requestContext": {"http": {"method": "GET", "path": "/transfers/tr_example"}}
        });
        let edits = EventEdits {
            path: Some("/transfers/tr_123"),
            ..Default::default()
        };
        let signed = sign_event(
            &event,
            &vector_signer(),
            1,
            "q9X2mY7rT1vK4pLs8dWz3A",
            &edits,
        )
        .unwrap();
        assert_eq!(signed["rawPath"], "/transfers/tr_123");
        assert_eq!(signed["pathParameters"]["transfer_id"], "tr_123");
        assert_eq!(
            signed["requestContext"]["http"]["path"],
            "/transfers/tr_123"
        );
        assert!(signed["headers"].get("content-digest").is_none());
        assert!(signed["headers"]["signature-input"]
            .as_str()
            .unwrap()
            .starts_with(r#"sig1=("@method" "@path");created=1;"#));

        let wrong = EventEdits {
            path: Some("/accounts/a/b"),
            ..Default::default()
        };
        assert!(sign_event(
            &event,
            &vector_signer(),
            1,
            "q9X2mY7rT1vK4pLs8dWz3A",
            &wrong
        )
        .is_err());
    }

    #[test]
    fn refuses_what_it_cannot_sign() {
        let s = vector_signer();
        let n = "q9X2mY7rT1vK4pLs8dWz3A";
        let none = EventEdits::default();
        let mut v1 = template();
        v1["version"] = json!("1.0");
        assert!(sign_event(&v1, &s, 1, n, &none).is_err());
        let mut keyless = template();
        keyless["headers"]
            .as_object_mut()
            .unwrap()
            .remove("idempotency-key");
        assert!(sign_event(&keyless, &s, 1, n, &none).is_err());
        let bad_key = EventEdits {
            idempotency_key: Some("has space"),
            ..Default::default()
        };
        assert!(sign_event(&template(), &s, 1, n, &bad_key).is_err());
    }
}
