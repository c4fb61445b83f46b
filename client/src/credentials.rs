//! A client's credentials: the `{"client_id", "secret"}` that `replaysafe admin create-client`
//! prints and `make run` writes to `.local/demo-client.json`.

use std::fmt;
use std::path::Path;

use replaysafe_signing::Signer;
use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    /// 32 random bytes, standard base64.
    pub secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    pub fn new(client_id: impl Into<String>, secret_base64: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            secret: secret_base64.into(),
        }
    }

    pub fn from_json(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| {
            Error::Credentials(format!(
                "not a client file ({{\"client_id\", \"secret\"}}): {e}"
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
        Signer::from_base64(self.client_id.clone(), &self.secret)
            .map_err(|_| Error::Credentials("the client secret is not standard base64".into()))
    }
}
