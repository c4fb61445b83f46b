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
    /// 32 random bytes, standard base64.
    pub secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// A client's first key: its key id is the client id.
    pub fn new(client_id: impl Into<String>, secret_base64: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            key_id: None,
            secret: secret_base64.into(),
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
                "not a client file ({{\"client_id\", \"secret\"}}, and \"key_id\" for a later key): {e}"
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

    /// The signer for these credentials (checks that the secret is base64).
    pub fn signer(&self) -> Result<Signer, Error> {
        Signer::from_base64(self.key_id().to_owned(), &self.secret)
            .map_err(|_| Error::Credentials("the client secret is not standard base64".into()))
    }
}
