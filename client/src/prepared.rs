//! One HTTP request, signed or carrying a bearer token, exactly as it goes on the wire.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use replaysafe_signing::{content_digest, AttemptParams, Signer};

use crate::auth::BearerToken;
use crate::types::IdempotencyKey;

/// A request as one attempt sends it: signed ([`PreparedRequest::sign`]) or with a bearer token
/// ([`PreparedRequest::bearer`]). Signing it again (a retry) makes a new one; sending this one
/// twice is what an attacker replaying a capture does. Its `Debug` hides an `Authorization`
/// value.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub method: String,
    /// The path the server receives (what `"@path"` signs), with any query string.
    pub path: String,
    /// Lowercase names, in sending order: `idempotency-key`, `content-type`, `content-digest`,
    /// then `signature-input`, `signature` (signed) or `authorization` (bearer), then any
    /// unsigned extras (`if-none-match`).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| match n.eq_ignore_ascii_case("authorization") {
                true => (n.as_str(), "<redacted>"),
                false => (n.as_str(), v.as_str()),
            })
            .collect();
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl PreparedRequest {
    /// Signs `method path` with `body` with the attempt's `created`, `expires` and nonce. A
    /// POST needs a key.
    pub fn sign(
        signer: &Signer,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
        attempt: &AttemptParams,
    ) -> Self {
        // The key type only holds visible ASCII, so the signer's CR/LF panic cannot happen.
        let key = idempotency_key.map(IdempotencyKey::as_str);
        let signed = signer.sign_attempt(method, path, body, key, attempt);
        let mut headers = Vec::with_capacity(5);
        if let Some(key) = key {
            headers.push(("idempotency-key".to_owned(), key.to_owned()));
        }
        if let Some(digest) = signed.content_digest {
            headers.push(("content-type".into(), "application/json".into()));
            headers.push(("content-digest".into(), digest));
        }
        headers.push(("signature-input".into(), signed.signature_input));
        headers.push(("signature".into(), signed.signature));
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            headers,
            body: body.to_vec(),
        }
    }

    /// `method path` with `body` and `Authorization: Bearer <token>`, for a `jwt`-mode API: no
    /// signature. A body gets its `Content-Digest` (RFC 9530) all the same: optional in that
    /// mode, and the server checks it when sent (400 `digest-mismatch`), so bytes altered on
    /// the way are refused rather than executed. A POST needs a key.
    pub fn bearer(
        token: &BearerToken,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Self {
        let mut headers = Vec::with_capacity(4);
        if let Some(key) = idempotency_key {
            headers.push(("idempotency-key".to_owned(), key.as_str().to_owned()));
        }
        if !body.is_empty() {
            headers.push(("content-type".into(), "application/json".into()));
            headers.push(("content-digest".into(), content_digest(body)));
        }
        headers.push(("authorization".into(), token.header_value()));
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            headers,
            body: body.to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces (or adds) a header, without re-signing.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => *v = value,
            None => self.headers.push((name.to_ascii_lowercase(), value)),
        }
    }

    /// The `created` the signature carries.
    pub fn created(&self) -> Option<i64> {
        signature_param(self.header("signature-input")?, "created")?
            .parse()
            .ok()
    }

    /// The `expires` the signature carries, if any.
    pub fn expires(&self) -> Option<i64> {
        signature_param(self.header("signature-input")?, "expires")?
            .parse()
            .ok()
    }

    /// The nonce the signature carries.
    pub fn nonce(&self) -> Option<String> {
        signature_param(self.header("signature-input")?, "nonce")
            .map(|n| n.trim_matches('"').to_owned())
    }
}

fn signature_param<'a>(input: &'a str, name: &str) -> Option<&'a str> {
    let params = input.rsplit_once(')')?.1;
    params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim())
}

/// Unix time in seconds: every attempt's `created`.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Waits until the wall clock is past the second `created` (at most 10 s: longer means the
/// clock stepped back, and waiting for it would not help), so that an attempt signed by another
/// process after this returns carries a later `created`.
pub async fn wait_past(created: i64) {
    let past = UNIX_EPOCH + Duration::from_secs(created.saturating_add(1).max(0) as u64);
    if let Ok(wait) = past.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait.min(Duration::from_secs(10))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_vector() {
        let signer =
            Signer::from_base64("cli_7f3a", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
                .unwrap();
        let key = IdempotencyKey::parse("5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a21").unwrap();
        let body = br#"{"from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR"}"#;
        let r = PreparedRequest::sign(
            &signer,
            "POST",
            "/transfers",
            body,
            Some(&key),
            &AttemptParams {
                created: 1_763_812_800,
                expires: None,
                nonce: "q9X2mY7rT1vK4pLs8dWz3A",
            },
        );
        assert_eq!(
            r.header("Content-Digest"),
            Some("sha-256=:bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=:")
        );
        assert_eq!(
            r.header("signature"),
            Some("sig1=:wxeW+lfvQjNP5Zzu/OaUr5KssobE4jlR5kRwUxUJgwo=:")
        );
        assert_eq!(r.header("idempotency-key"), Some(key.as_str()));
        assert_eq!(r.created(), Some(1_763_812_800));
        assert_eq!(r.nonce().as_deref(), Some("q9X2mY7rT1vK4pLs8dWz3A"));
        assert_eq!(r.expires(), None);
        assert_eq!(r.body, body);
    }

    #[test]
    fn bearer_requests_carry_the_token_and_no_signature() {
        let token = BearerToken::new("h.p.s").unwrap();
        let key = IdempotencyKey::parse("k-1").unwrap();
        let body = br#"{"a":1}"#;
        let r = PreparedRequest::bearer(&token, "POST", "/transfers", body, Some(&key));
        let names: Vec<_> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "idempotency-key",
                "content-type",
                "content-digest",
                "authorization"
            ]
        );
        assert_eq!(r.header("authorization"), Some("Bearer h.p.s"));
        assert_eq!(
            r.header("content-digest"),
            Some(content_digest(body).as_str())
        );
        assert_eq!((r.created(), r.nonce()), (None, None));
        assert!(!format!("{r:?}").contains("h.p.s"), "{r:?}");
        let get = PreparedRequest::bearer(&token, "GET", "/accounts/a", b"", None);
        let names: Vec<_> = get.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["authorization"]);
    }

    #[test]
    fn get_has_no_digest_or_key() {
        let signer = Signer::new("c", vec![7; 32]);
        let attempt = AttemptParams {
            created: 1,
            expires: Some(16),
            nonce: "n",
        };
        let r = PreparedRequest::sign(&signer, "GET", "/accounts/a", b"", None, &attempt);
        let names: Vec<_> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["signature-input", "signature"]);
        assert_eq!((r.created(), r.expires()), (Some(1), Some(16)));
    }
}
