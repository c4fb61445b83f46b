//! A client's credentials: the `{"client_id", "secret"}` that `replaysafe admin create-client`
//! prints and `make run` writes to `.local/demo-client.json`, or the
//! `{"client_id", "key_id", "alg", "secret"}` of a later key that `replaysafe admin create-key`
//! prints.

use std::fmt;
use std::path::Path;

use replaysafe_signing::Signer;
use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// The client it signs for: the owner of accounts, idempotency keys and nonces.
    pub client_id: String,
    /// The key the secret belongs to, the signatures' `keyid`. Absent: the client's first key,
    /// whose key id is the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// An HMAC-SHA256 key: 32 random bytes, standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// An Ed25519 key (`"alg": "ed25519"`): the 32-byte private seed, standard base64, as
    /// `admin create-key --alg ed25519` prints it. The server holds only its public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// The key's algorithm: `hmac-sha256` (the default) or `ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("alg", &self.alg)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Credentials {
    /// A client's first key: its key id is the client id.
    pub fn new(client_id: impl Into<String>, secret_base64: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            key_id: None,
            secret: Some(secret_base64.into()),
            private_key: None,
            alg: None,
        }
    }

    /// Another key of the client: `key_id` is what its signatures name.
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// The signatures' `keyid`: the key id, or the client id for the client's first key.
    pub fn key_id(&self) -> &str {
        self.key_id.as_deref().unwrap_or(&self.client_id)
    }

    pub fn from_json(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| {
            Error::Credentials(format!(
                "not a client file ({{\"client_id\", \"secret\"}}, and \"key_id\" for a later key, \
                 or \"private_key\" and \"alg\": \"ed25519\" for an Ed25519 key): {e}"
            ))
        })
    }

    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Credentials(format!("cannot read client file {}: {e}", path.display()))
        })?;
        Self::from_json(&text).map_err(|e| Error::Credentials(format!("{}: {e}", path.display())))
    }

    /// An Ed25519 key of the client, from the private seed `create-key --alg ed25519` printed.
    ///
    /// ```
    /// use replaysafe_client::Credentials;
    ///
    /// let seed = "n4Ni+HpISpVObnQMW0wOhCKROaIKqKtW/2ZYb2p9KcU=";
    /// let creds = Credentials::ed25519("cli_7f3a", "key_01", seed);
    /// assert_eq!(creds.signer().unwrap().alg(), "ed25519");
    /// assert!(!format!("{creds:?}").contains(seed));
    /// ```
    pub fn ed25519(
        client_id: impl Into<String>,
        key_id: impl Into<String>,
        private_key_base64: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            key_id: Some(key_id.into()),
            secret: None,
            private_key: Some(private_key_base64.into()),
            alg: Some(replaysafe_signing::ED25519.to_owned()),
        }
    }

    /// The signer for these credentials: HMAC-SHA256 with `secret`, or Ed25519 with
    /// `private_key` (checks that the key is base64 of the right length).
    pub fn signer(&self) -> Result<Signer, Error> {
        let key_id = self.key_id().to_owned();
        match (self.alg.as_deref(), &self.secret, &self.private_key) {
            (Some(replaysafe_signing::ED25519) | None, None, Some(private)) => {
                Signer::ed25519_from_base64(key_id, private).map_err(|_| {
                    Error::Credentials(
                        "the private_key is not standard base64 of a 32-byte Ed25519 seed".into(),
                    )
                })
            }
            (Some(replaysafe_signing::HMAC_SHA256) | None, Some(secret), None) => {
                Signer::from_base64(key_id, secret).map_err(|_| {
                    Error::Credentials("the client secret is not standard base64".into())
                })
            }
            (alg, _, _) => Err(Error::Credentials(format!(
                "a client file has a secret (hmac-sha256) or a private_key (ed25519), one of them, \
                 matching its alg (here {})",
                alg.unwrap_or("none")
            ))),
        }
    }
}
