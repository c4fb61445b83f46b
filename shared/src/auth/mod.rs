//! Checks 1 to 5 of the contract, in its order, before anything touches DynamoDB beyond the
//! (cached) client secret: body size, idempotency key, RFC 9421 signature, RFC 9530 digest,
//! freshness. The nonce (check 6) is the guard's, because it is a write. Where keys come from
//! ([`KeySource`]) and how signatures are checked ([`SignatureAlgorithm`]) are the app's choice.

mod algorithm;
mod clients;
mod keys;

pub use algorithm::{HmacSha256, SignatureAlgorithm};
pub(crate) use clients::ClientCache;
pub use clients::UNKNOWN_KEY_CACHE;
pub use keys::{ClientLookup, KeySource};

use replaysafe_signing::{
    normalize_authority, parse_signature, signature_base, verify_content_digest, Message,
    SignatureError, SignatureInput,
};

use crate::config::{ExpectedAuthority, SignatureProfile};
use crate::error::GuardError;
use crate::http::Incoming;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::ClientId;

/// The shortest client secret the guard accepts: HMAC-SHA256's own block of security.
pub const MIN_SECRET_BYTES: usize = 32;

/// A request whose signature, digest and freshness passed. Its nonce is not yet consumed.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The client whose secret verified the signature: its `keyid`.
    pub client_id: ClientId,
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
    /// The warm function's client secrets, in front of the key source.
    pub clients: &'a ClientCache,
    /// What signatures are checked with.
    pub algorithm: &'a dyn SignatureAlgorithm,
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
        if input
            .alg
            .as_deref()
            .is_some_and(|alg| alg != self.algorithm.name())
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

        let client_id = ClientId::parse(&input.keyid).map_err(|_| GuardError::UnknownKey)?;
        let client = self
            .clients
            .get(&client_id)
            .await?
            .filter(|c| c.active)
            .ok_or(GuardError::UnknownKey)?;
        if client.secret.len() < MIN_SECRET_BYTES {
            // Anyone can compute a MAC under an empty or guessable key: such a client is no
            // client, wherever its key came from.
            tracing::error!(client_id = %client_id, "a client's secret is shorter than 32 bytes");
            return Err(GuardError::UnknownKey);
        }
        if !self.algorithm.verify(&client.secret, &base, &mac) {
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

        Ok(Signed {
            client_id,
            nonce: input.nonce,
            created: input.created,
            now,
            request_id: req.request_id.clone(),
            idempotency_key,
            fingerprint: Fingerprint::of(req.method, req.path, req.body),
        })
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
