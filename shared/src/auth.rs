//! Checks 1 to 5 of the contract, in its order, before anything touches DynamoDB beyond the
//! (cached) key: body size, idempotency key, RFC 9421 signature, RFC 9530 digest, freshness.
//! The nonce (check 6) is the guard's, because it is a write. Where keys come from
//! ([`KeySource`]) and how signatures are checked ([`SignatureAlgorithm`], chosen by the key's
//! `alg`) are the app's choice.

mod algorithm;
mod cache;
mod keys;

use std::sync::Arc;

pub use algorithm::{Ed25519, HmacSha256, SignatureAlgorithm};
pub(crate) use cache::KeyCache;
pub use cache::{KEY_USE_INTERVAL, UNKNOWN_KEY_CACHE};
pub use keys::{KeyLookup, KeySource, KeyUse};

use replaysafe_signing::{
    normalize_authority, parse_signature, signature_base, verify_content_digest, Message,
    SignatureError, SignatureInput,
};

use crate::config::{ExpectedAuthority, SignatureProfile};
use crate::error::GuardError;
use crate::http::Incoming;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{ClientId, KeyId};

/// The shortest key material the guard accepts: HMAC-SHA256's own block of security (an
/// Ed25519 public key is 32 bytes too).
pub const MIN_SECRET_BYTES: usize = 32;

/// A request whose signature, digest and freshness passed. Its nonce is not yet consumed.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The client whose key verified the signature: the principal, whichever of its keys signed.
    pub client_id: ClientId,
    /// The key that verified it: the signature's `keyid`.
    pub key_id: KeyId,
    /// The signature's `nonce`, not yet consumed.
    pub nonce: String,
    /// The signature's `created` (unix seconds), within the replay window of `now`.
    pub created: i64,
    /// The `now` every later check and expiry of this request uses.
    pub now: i64,
    /// The Lambda request id of this invocation; it marks the nonce, record or fence it writes,
    /// so that meeting one of them again is recognised as its own.
    pub request_id: String,
    /// Present on POST.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Of method, path and body: a retry under the same key must match it to get the stored
    /// answer.
    pub fingerprint: Fingerprint,
}

/// Checks 1 to 5 of the contract for one request, with what they need. It consumes no nonce,
/// so passing it alone is not replay-safe: endpoints go through [`Guard::post`](crate::Guard::post)
/// or [`Guard::read`](crate::Guard::read), which build one and add the nonce.
pub(crate) struct Verifier<'a> {
    /// The warm function's keys, in front of the key source.
    pub keys: &'a KeyCache,
    /// What signatures are checked with: the one named by the key's `alg`.
    pub algorithms: &'a [Arc<dyn SignatureAlgorithm>],
    /// How far `created` may lie from `now`, before or after.
    pub replay_window_seconds: i64,
    /// Longer bodies are refused with 413 before any other check.
    pub max_body_bytes: usize,
    /// What a signature must carry beyond the contract's minimum.
    pub profile: &'a SignatureProfile,
}

impl Verifier<'_> {
    /// Runs the checks in the contract's order at `now` (unix seconds) and returns what the
    /// signature established, or the first failed check's error. A POST must carry a valid
    /// `Idempotency-Key`; a `Content-Digest`, when present, must match the body.
    pub(crate) async fn verify(&self, req: &Incoming<'_>, now: i64) -> Result<Signed, GuardError> {
        if req.body.len() > self.max_body_bytes {
            return Err(GuardError::BodyTooLarge {
                limit: self.max_body_bytes,
            });
        }
        let idempotency_key = if req.method == "POST" {
            Some(IdempotencyKey::parse(
                req.single_header("idempotency-key")?,
            )?)
        } else {
            None
        };

        let (Some(input_header), Some(signature_header)) = (
            req.joined_header("signature-input"),
            req.joined_header("signature"),
        ) else {
            return Err(GuardError::SignatureMissing);
        };
        let (input, mac) = parse_signature(&input_header, &signature_header).map_err(invalid)?;
        // An `alg` the guard cannot verify is refused before any key is looked up.
        if input
            .alg
            .as_deref()
            .is_some_and(|alg| self.algorithm(alg).is_none())
        {
            return Err(invalid(SignatureError::UnsupportedAlg));
        }
        required_by_profile(self.profile, &input).map_err(invalid)?;
        // Normalised as API Gateway serves it (HTTPS only): a `Host` with `:443` is the host.
        let authority = match &self.profile.authority {
            Some(ExpectedAuthority::Fixed(host)) => Some(host.clone()),
            _ => req.authority().map(|a| normalize_authority("https", a)),
        };
        let base = {
            // `Message` borrows a non-Sync closure: it must not live across an await.
            let header = |name: &str| req.header_values(name);
            let message = Message {
                method: req.method,
                path: req.path,
                query: req.query,
                authority: authority.as_deref(),
                header: &header,
            };
            signature_base(&input, &message, !req.body.is_empty()).map_err(invalid)?
        };

        let key_id = KeyId::parse(&input.keyid).map_err(|_| GuardError::UnknownKey)?;
        // A revoked key is refused once its cache entry is renewed; an expired one at once.
        let key = self
            .keys
            .get(&key_id)
            .await?
            .filter(|k| k.is_active(now))
            .ok_or(GuardError::UnknownKey)?;
        if input.alg.as_deref().is_some_and(|alg| alg != key.alg) {
            return Err(invalid(SignatureError::UnsupportedAlg));
        }
        let Some(algorithm) = self.algorithm(&key.alg) else {
            tracing::error!(key_id = %key_id, alg = %key.alg, "a key's algorithm is not one the guard verifies");
            return Err(GuardError::UnknownKey);
        };
        if key.material.len() < MIN_SECRET_BYTES {
            // Anyone can compute a MAC under an empty or guessable key: such a key is no key,
            // wherever it came from.
            tracing::error!(key_id = %key_id, "a key is shorter than 32 bytes");
            return Err(GuardError::UnknownKey);
        }
        if !algorithm.verify(&key.material, &base, &mac) {
            return Err(invalid(SignatureError::Mismatch));
        }

        if let Some(digest) = req.joined_header("content-digest") {
            verify_content_digest(&digest, req.body)
                .map_err(|e| GuardError::DigestMismatch(e.to_string()))?;
        }

        let window = self.replay_window_seconds;
        if (now - input.created).abs() > window || input.expires.is_some_and(|e| now > e) {
            return Err(GuardError::StaleRequest);
        }

        self.keys.record_use(&key_id, now);
        Ok(Signed {
            client_id: key.client_id,
            key_id,
            nonce: input.nonce,
            created: input.created,
            now,
            request_id: req.request_id.clone(),
            idempotency_key,
            fingerprint: Fingerprint::of(req.method, req.path, req.body),
        })
    }
}

impl Verifier<'_> {
    /// The algorithm answering to `name`, if the guard has one.
    fn algorithm(&self, name: &str) -> Option<&dyn SignatureAlgorithm> {
        self.algorithms
            .iter()
            .find(|a| a.name() == name)
            .map(|a| a.as_ref())
    }
}

/// The profile's demands on the signature's parameters and coverage. The authority's value
/// needs no comparison here: the server puts the expected host in the base, so a signature
/// made for another host fails as a mismatch.
fn required_by_profile(
    profile: &SignatureProfile,
    input: &SignatureInput,
) -> Result<(), SignatureError> {
    if let Some(tag) = &profile.tag {
        input.require_tag(tag)?;
    }
    if profile.authority.is_some() && !input.covers("@authority") {
        return Err(SignatureError::NotCovered("@authority"));
    }
    Ok(())
}

fn invalid(e: SignatureError) -> GuardError {
    match e {
        SignatureError::Missing => GuardError::SignatureMissing,
        e => GuardError::SignatureInvalid(e.to_string()),
    }
}
