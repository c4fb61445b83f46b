//! Secrets at rest: an HMAC key's secret is stored sealed (AES-256-GCM) under a data key, never
//! as plaintext, so a read of the clients table alone gives no signing power.
//!
//! # Stored form
//!
//! `sealed_secret` = base64 of `0x01 || nonce (12 bytes) || ciphertext and tag (secret + 16
//! bytes)`. The first byte is the format's version. The associated data binds the ciphertext
//! to the item it was written for (its key id and its owner, the client id): a sealed secret
//! copied to another key's item does not open there.
//!
//! # The data key
//!
//! Deployed, the data key is a KMS data key ([`DataKey::kms`]): generated once per deployment
//! under the stack's KMS key (`replaysafe admin create-data-key`), kept only in its encrypted
//! form (`SECRETS_DATA_KEY`), and decrypted by KMS once per warm function, on first need (the
//! guard's init-phase warm-up). Locally, and in tests, it is the fixed, public
//! [`DEVELOPMENT_DATA_KEY`] ([`DataKey::development`]): it protects nothing, and a function in
//! Lambda refuses to start on it unless told (see
//! [`SecretsAtRest`](crate::config::SecretsAtRest)).

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::OnceCell;

use crate::error::GuardError;
use crate::ids::{ClientId, KeyId};

/// The data key of `make run` and the tests: fixed and public, so it protects nothing. Never
/// deployed: a function in Lambda refuses it unless `SECRETS_MODE=dev` says so.
pub const DEVELOPMENT_DATA_KEY: [u8; 32] = *b"replaysafe-DEVELOPMENT-ONLY-key!";

/// The version byte of the stored form.
const FORMAT_V1: u8 = 1;

/// The KMS encryption context of the data key: KMS decrypts it only when asked with the same
/// context, and CloudTrail records it with every call.
pub const KMS_ENCRYPTION_CONTEXT: (&str, &str) = ("purpose", "replaysafe-client-secrets");

/// Why a sealed secret did not open. Says nothing of the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not base64, too short, or an unknown version.
    #[error("a sealed secret is malformed")]
    Malformed,
    /// The tag did not verify: tampered with, sealed for another item, or under another data
    /// key.
    #[error(
        "a sealed secret does not open: tampered, moved from another item, or another data key"
    )]
    DoesNotOpen,
}

/// AES-256-GCM over a 32-byte data key: seals a secret for one item of the clients table, and
/// opens it there only. Its `Debug` leaves the key out.
///
/// ```
/// use replaysafe::store::sealing::SecretSealer;
/// use replaysafe::{ClientId, KeyId};
///
/// let sealer = SecretSealer::new([9; 32]);
/// let client = ClientId::parse("cli_a").unwrap();
/// let key = KeyId::generate();
/// let sealed = sealer.seal(&[7; 32], &key, &client);
/// assert_eq!(sealer.open(&sealed, &key, &client).unwrap(), vec![7; 32]);
/// // Copied to another key's item, it does not open.
/// assert!(sealer.open(&sealed, &KeyId::generate(), &client).is_err());
/// ```
pub struct SecretSealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSealer").finish_non_exhaustive()
    }
}

impl SecretSealer {
    /// A sealer over `data_key`.
    pub fn new(data_key: [u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, &data_key).expect("AES-256 takes a 32-byte key");
        Self {
            key: LessSafeKey::new(key),
            random: SystemRandom::new(),
        }
    }

    /// A sealer over [`DEVELOPMENT_DATA_KEY`]: local runs and tests only.
    pub fn development() -> Self {
        Self::new(DEVELOPMENT_DATA_KEY)
    }

    /// `secret` sealed for the item of `key_id`, owned by `client_id`: the stored form (see the
    /// [module docs](self)), with a fresh random nonce.
    pub fn seal(&self, secret: &[u8], key_id: &KeyId, client_id: &ClientId) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        // The OS's randomness failing is not something to write a secret through.
        self.random
            .fill(&mut nonce)
            .expect("the system random number generator failed");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + secret.len() + 16);
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        let mut in_out = secret.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(key_id, client_id)),
                &mut in_out,
            )
            .expect("AES-GCM seals any secret shorter than 64 GiB");
        sealed.extend_from_slice(&in_out);
        STANDARD.encode(sealed)
    }

    /// The secret `stored` holds, if it was sealed by this data key for the item of `key_id`,
    /// owned by `client_id`.
    pub fn open(
        &self,
        stored: &str,
        key_id: &KeyId,
        client_id: &ClientId,
    ) -> Result<Vec<u8>, SealError> {
        let bytes = STANDARD.decode(stored).map_err(|_| SealError::Malformed)?;
        let (version, rest) = bytes.split_first().ok_or(SealError::Malformed)?;
        if *version != FORMAT_V1 || rest.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
        let mut in_out = ciphertext.to_vec();
        let secret = self
            .key
            .open_in_place(
                nonce,
                Aad::from(associated_data(key_id, client_id)),
                &mut in_out,
            )
            .map_err(|_| SealError::DoesNotOpen)?;
        Ok(secret.to_vec())
    }
}

/// What binds a sealed secret to its item: the format, the item's key id and its owner. Neither
/// id contains a NUL, so the encoding is unambiguous.
fn associated_data(key_id: &KeyId, client_id: &ClientId) -> Vec<u8> {
    format!(
        "replaysafe/clients/v1\0{}\0{}",
        key_id.as_str(),
        client_id.as_str()
    )
    .into_bytes()
}

/// Where the data key comes from, opened once, on first need, then kept for the life of the
/// warm function: the [`Store`](super::Store) seals and opens secrets with it. Cheap to clone
/// (the clones share one opened key).
///
/// ```
/// use replaysafe::store::sealing::DataKey;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let key = DataKey::development();
/// assert!(key.is_development());
/// let sealer = key.sealer().await.unwrap();
/// # let _ = sealer;
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct DataKey(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    source: Source,
    opened: OnceCell<SecretSealer>,
}

#[derive(Debug)]
enum Source {
    Development,
    Fixed,
    #[cfg(feature = "kms")]
    Kms {
        client: aws_sdk_kms::Client,
        encrypted: Vec<u8>,
    },
}

impl DataKey {
    /// [`DEVELOPMENT_DATA_KEY`]: what a [`Store`](super::Store) has until told otherwise.
    pub fn development() -> Self {
        Self::with(Source::Development, None)
    }

    /// A data key of the caller's (a test's, or one opened elsewhere).
    pub fn fixed(sealer: SecretSealer) -> Self {
        Self::with(Source::Fixed, Some(sealer))
    }

    /// `encrypted` (a KMS ciphertext blob: `SECRETS_DATA_KEY`, decoded), decrypted by `client`
    /// on first need, once. Feature `kms`.
    #[cfg(feature = "kms")]
    pub fn kms(client: aws_sdk_kms::Client, encrypted: Vec<u8>) -> Self {
        Self::with(Source::Kms { client, encrypted }, None)
    }

    fn with(source: Source, opened: Option<SecretSealer>) -> Self {
        let opened = match opened {
            Some(sealer) => OnceCell::new_with(Some(sealer)),
            None => OnceCell::new(),
        };
        Self(Arc::new(Inner { source, opened }))
    }

    /// Whether it is [`DEVELOPMENT_DATA_KEY`].
    pub fn is_development(&self) -> bool {
        matches!(self.0.source, Source::Development)
    }

    /// The sealer, the data key opened: with KMS, one `Decrypt` the first time (concurrent
    /// first callers wait for the one call), none after. A failure is not kept: the next call
    /// tries again. [`GuardError::Unavailable`] when KMS could not be reached or throttled,
    /// [`GuardError::Internal`] when it refused (the key, the grant, the blob).
    pub async fn sealer(&self) -> Result<&SecretSealer, GuardError> {
        self.0
            .opened
            .get_or_try_init(|| async {
                match &self.0.source {
                    Source::Development => Ok(SecretSealer::development()),
                    // Made opened.
                    Source::Fixed => Err(GuardError::internal("a fixed data key is missing")),
                    #[cfg(feature = "kms")]
                    Source::Kms { client, encrypted } => {
                        kms::decrypt_data_key(client, encrypted).await
                    }
                }
            })
            .await
    }
}

#[cfg(feature = "kms")]
pub use kms::{generate_data_key, kms_client};

#[cfg(feature = "kms")]
mod kms {
    use aws_sdk_kms::error::{DisplayErrorContext, SdkError};
    use aws_sdk_kms::primitives::Blob;
    use aws_sdk_kms::types::DataKeySpec;
    use aws_smithy_http_client::tls;

    use super::{SecretSealer, KMS_ENCRYPTION_CONTEXT};
    use crate::error::GuardError;

    /// A KMS client the standard way (credentials, region, `AWS_ENDPOINT_URL_KMS`), over HTTPS
    /// with rustls on ring, as the DynamoDB client. Call once per cold start.
    pub async fn kms_client() -> aws_sdk_kms::Client {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .load()
            .await;
        aws_sdk_kms::Client::new(&config)
    }

    /// A new data key under the KMS key `kms_key_id` (an id, ARN or alias), in its encrypted
    /// form only (KMS `GenerateDataKey`; the plaintext it also returns is dropped at once): what
    /// `SECRETS_DATA_KEY` holds, base64-encoded.
    pub async fn generate_data_key(
        client: &aws_sdk_kms::Client,
        kms_key_id: &str,
    ) -> Result<Vec<u8>, GuardError> {
        let out = client
            .generate_data_key()
            .key_id(kms_key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(KMS_ENCRYPTION_CONTEXT.0, KMS_ENCRYPTION_CONTEXT.1)
            .send()
            .await
            .map_err(|e| failure("GenerateDataKey", e))?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| GuardError::internal("KMS GenerateDataKey returned no ciphertext"))
    }

    /// The data key `encrypted` holds, decrypted by KMS.
    pub(super) async fn decrypt_data_key(
        client: &aws_sdk_kms::Client,
        encrypted: &[u8],
    ) -> Result<SecretSealer, GuardError> {
        let out = client
            .decrypt()
            .ciphertext_blob(Blob::new(encrypted))
            .encryption_context(KMS_ENCRYPTION_CONTEXT.0, KMS_ENCRYPTION_CONTEXT.1)
            .send()
            .await
            .map_err(|e| failure("Decrypt", e))?;
        let key: [u8; 32] = out
            .plaintext
            .as_ref()
            .and_then(|p| p.as_ref().try_into().ok())
            .ok_or_else(|| GuardError::internal("the KMS data key is not 32 bytes"))?;
        tracing::info!("opened the secrets data key with KMS");
        Ok(SecretSealer::new(key))
    }

    /// Logs the cause (KMS errors never carry key material); unavailable when KMS could not be
    /// reached or throttled, internal when it refused.
    fn failure<E, R>(call: &'static str, e: SdkError<E, R>) -> GuardError
    where
        E: std::error::Error + aws_sdk_kms::error::ProvideErrorMetadata + 'static,
        R: std::fmt::Debug,
    {
        let transient = match &e {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ServiceError(s) => matches!(
                s.err().code(),
                Some("ThrottlingException" | "KMSInternalException" | "DependencyTimeoutException")
            ),
            _ => false,
        };
        tracing::error!(call, error = %DisplayErrorContext(&e), "KMS call failed");
        if transient {
            GuardError::Unavailable
        } else {
            GuardError::internal(format!("KMS {call} refused"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (KeyId, ClientId) {
        (KeyId::generate(), ClientId::parse("cli_a").unwrap())
    }

    #[test]
    fn a_sealed_secret_opens_for_its_item_only() {
        let sealer = SecretSealer::new([3; 32]);
        let (key, client) = ids();
        let secret = [42u8; 32];
        let sealed = sealer.seal(&secret, &key, &client);
        assert_eq!(sealer.open(&sealed, &key, &client), Ok(secret.to_vec()));
        // The stored form holds no plaintext, and two seals differ (fresh nonces).
        let raw = STANDARD.decode(&sealed).unwrap();
        assert!(!raw.windows(32).any(|w| w == secret));
        assert_ne!(sealed, sealer.seal(&secret, &key, &client));
        // Another key's item, another owner, another data key.
        assert_eq!(
            sealer.open(&sealed, &KeyId::generate(), &client),
            Err(SealError::DoesNotOpen)
        );
        let other = ClientId::parse("cli_b").unwrap();
        assert_eq!(
            sealer.open(&sealed, &key, &other),
            Err(SealError::DoesNotOpen)
        );
        assert_eq!(
            SecretSealer::development().open(&sealed, &key, &client),
            Err(SealError::DoesNotOpen)
        );
    }

    #[test]
    fn a_tampered_or_malformed_secret_does_not_open() {
        let sealer = SecretSealer::new([3; 32]);
        let (key, client) = ids();
        let sealed = STANDARD
            .decode(sealer.seal(&[1; 32], &key, &client))
            .unwrap();
        for at in [1, 13, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[at] ^= 1;
            assert_eq!(
                sealer.open(&STANDARD.encode(&tampered), &key, &client),
                Err(SealError::DoesNotOpen),
                "byte {at}"
            );
        }
        let mut version = sealed.clone();
        version[0] = 2;
        assert_eq!(
            sealer.open(&STANDARD.encode(&version), &key, &client),
            Err(SealError::Malformed)
        );
        assert_eq!(
            sealer.open(&STANDARD.encode(&sealed[..20]), &key, &client),
            Err(SealError::Malformed)
        );
        assert_eq!(
            sealer.open("not base64!", &key, &client),
            Err(SealError::Malformed)
        );
    }

    /// The KMS path, on mocked KMS and DynamoDB (DynamoDB Local has no KMS): a guard decrypts
    /// its data key once, in its build (the init phase), and never again for any request,
    /// however many keys it opens; what KMS is asked carries the blob and the encryption
    /// context.
    #[cfg(feature = "kms")]
    #[tokio::test]
    async fn kms_decrypts_the_data_key_once_per_cold_start() {
        use std::collections::HashMap;

        use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
        use aws_sdk_dynamodb::types::AttributeValue;
        use aws_sdk_kms::operation::decrypt::DecryptOutput;
        use aws_sdk_kms::primitives::Blob;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};

        use crate::config::{Config, SecretsAtRest, Tables};
        use crate::Guard;

        const BLOB: &[u8] = b"encrypted data key";
        let data_key = [5u8; 32];
        let decrypt = mock!(aws_sdk_kms::Client::decrypt)
            .match_requests(|r| {
                r.ciphertext_blob().map(|b| b.as_ref()) == Some(BLOB)
                    && r.encryption_context()
                        .and_then(|c| c.get(KMS_ENCRYPTION_CONTEXT.0))
                        .map(String::as_str)
                        == Some(KMS_ENCRYPTION_CONTEXT.1)
            })
            .then_output(move || {
                DecryptOutput::builder()
                    .plaintext(Blob::new(data_key))
                    .build()
            });
        let kms = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&decrypt]);

        let (key, client) = ids();
        let secret = [8u8; 32];
        let sealed = SecretSealer::new(data_key).seal(&secret, &key, &client);
        let item_key = key.clone();
        let owner = client.clone();
        let get_item = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
            let item = HashMap::from([
                (
                    "client_id".to_owned(),
                    AttributeValue::S(item_key.to_string()),
                ),
                ("owner".to_owned(), AttributeValue::S(owner.to_string())),
                (
                    "sealed_secret".to_owned(),
                    AttributeValue::S(sealed.clone()),
                ),
                ("status".to_owned(), AttributeValue::S("active".into())),
            ]);
            GetItemOutput::builder().set_item(Some(item)).build()
        });
        let dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get_item]);

        let mut config = Config::new(Tables::with_prefix("t-"));
        config.secrets = SecretsAtRest::Kms {
            encrypted_data_key: BLOB.to_vec(),
        };
        let guard = Guard::builder(config)
            .sdk_client(dynamodb)
            .kms_client(kms)
            .build()
            .await
            .unwrap();
        assert_eq!(decrypt.num_calls(), 1, "decrypted in the init phase");
        for _ in 0..3 {
            let found = guard.store().get_key(&key).await.unwrap().unwrap();
            assert_eq!(found.material, secret);
        }
        assert_eq!(decrypt.num_calls(), 1, "never again per request");
        assert!(get_item.num_calls() >= 3);
    }

    /// KMS refusing (the key, the grant) is an internal error, tried again at the next need;
    /// unreachable or throttling is unavailable (503, retried by the client).
    #[cfg(feature = "kms")]
    #[tokio::test]
    async fn a_kms_failure_is_not_kept() {
        use aws_sdk_kms::operation::decrypt::DecryptError;
        use aws_sdk_kms::types::error::{InvalidCiphertextException, KmsInternalException};
        use aws_smithy_mocks::{mock, mock_client, RuleMode};

        let refused = mock!(aws_sdk_kms::Client::decrypt).then_error(|| {
            DecryptError::InvalidCiphertextException(InvalidCiphertextException::builder().build())
        });
        let kms = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&refused]);
        let key = DataKey::kms(kms, b"blob".to_vec());
        for _ in 0..2 {
            assert!(matches!(key.sealer().await, Err(GuardError::Internal(_))));
        }
        assert_eq!(refused.num_calls(), 2);

        let busy = mock!(aws_sdk_kms::Client::decrypt).then_error(|| {
            // As KMS answers it: the code in the error's metadata.
            let meta = aws_sdk_kms::error::ErrorMetadata::builder()
                .code("KMSInternalException")
                .build();
            DecryptError::KmsInternalException(KmsInternalException::builder().meta(meta).build())
        });
        let kms = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&busy]);
        let key = DataKey::kms(kms, b"blob".to_vec());
        assert!(matches!(key.sealer().await, Err(GuardError::Unavailable)));
    }
}
