//! The GETs. A read carries no key and changes nothing, so the retry loop may repeat it freely;
//! what a caller needs back is the ETag, to ask again cheaply (`If-None-Match` → 304).

use serde::de::DeserializeOwned;

use super::response::RawResponse;
use super::Client;
use crate::error::Error;
use crate::types::{check_id, Account, Conditional, Fetched, Transfer};

impl Client {
    /// `GET /accounts/{id}`.
    pub async fn get_account(&self, account_id: &str) -> Result<Fetched<Account>, Error> {
        check_id("account", account_id)?;
        self.get(&format!("/accounts/{account_id}")).await
    }

    /// `GET /accounts/{id}` with `If-None-Match: etag`: [`Conditional::NotModified`] on 304.
    pub async fn get_account_if_none_match(
        &self,
        account_id: &str,
        etag: &str,
    ) -> Result<Conditional<Account>, Error> {
        check_id("account", account_id)?;
        if etag.contains(['\r', '\n']) {
            return Err(Error::InvalidInput("an ETag has no line breaks".into()));
        }
        let path = format!("/accounts/{account_id}");
        let response = self
            .execute("GET", &path, Vec::new(), None, &[("if-none-match", etag)])
            .await?;
        if response.status == 304 {
            return Ok(Conditional::NotModified {
                etag: response.header("etag").map(str::to_owned),
            });
        }
        fetched(response).map(Conditional::Modified)
    }

    /// `GET /transfers/{id}`.
    pub async fn get_transfer(&self, transfer_id: &str) -> Result<Fetched<Transfer>, Error> {
        check_id("transfer", transfer_id)?;
        self.get(&format!("/transfers/{transfer_id}")).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Fetched<T>, Error> {
        let response = self.execute("GET", path, Vec::new(), None, &[]).await?;
        fetched(response)
    }
}

fn fetched<T: DeserializeOwned>(response: RawResponse) -> Result<Fetched<T>, Error> {
    if response.status != 200 {
        return Err(Error::Api(response.problem()));
    }
    Ok(Fetched {
        value: response.decode()?,
        etag: response.header("etag").map(str::to_owned),
        attempts: response.attempts,
    })
}
