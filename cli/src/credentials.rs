//! The `{"client_id", "secret"}` file that `admin create-client` prints.

use std::path::Path;

use replaysafe_signing::Signer;
use serde::{Deserialize, Serialize};

use crate::Failure;

#[derive(Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    /// 32 bytes, standard base64.
    pub secret: String,
}

impl Credentials {
    pub fn load(path: &Path) -> Result<Signer, Failure> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::Usage(format!("cannot read client file {}: {e}", path.display()))
        })?;
        let c: Credentials = serde_json::from_str(&text)
            .map_err(|e| Failure::Usage(format!("{} is not a client file: {e}", path.display())))?;
        Signer::from_base64(c.client_id, &c.secret)
            .map_err(|_| Failure::Usage(format!("{}: secret is not base64", path.display())))
    }
}
