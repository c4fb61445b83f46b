//! The POSTs. A write is one operation under one key, chosen here (or given, to resume one)
//! before the first attempt, and its body serialized once: every retry must carry the same key
//! and the same bytes, or the server would see a new operation and could execute it twice.

use serde::de::DeserializeOwned;

use super::Client;
use crate::error::Error;
use crate::types::{check_id, Account, Created, IdempotencyKey, NewAccount, NewTransfer, Transfer};

impl Client {
    /// `POST /accounts` with a fresh key.
    pub async fn create_account(&self, account: &NewAccount) -> Result<Created<Account>, Error> {
        self.create_account_with_key(account, IdempotencyKey::new_v4())
            .await
    }

    /// `POST /accounts` under `key`: the same key and body again returns the stored answer.
    pub async fn create_account_with_key(
        &self,
        account: &NewAccount,
        key: IdempotencyKey,
    ) -> Result<Created<Account>, Error> {
        if let Some(id) = &account.account_id {
            check_id("account", id)?;
        }
        self.create("/accounts", json_body(account), key).await
    }

    /// `POST /transfers` with a fresh key.
    pub async fn create_transfer(
        &self,
        transfer: &NewTransfer,
    ) -> Result<Created<Transfer>, Error> {
        self.create_transfer_with_key(transfer, IdempotencyKey::new_v4())
            .await
    }

    /// `POST /transfers` under `key`: the same key and body again (e.g. after a crash, within
    /// the server's idempotency retention) returns the stored answer, never a second transfer.
    pub async fn create_transfer_with_key(
        &self,
        transfer: &NewTransfer,
        key: IdempotencyKey,
    ) -> Result<Created<Transfer>, Error> {
        check_id("account", &transfer.from)?;
        check_id("account", &transfer.to)?;
        self.create("/transfers", json_body(transfer), key).await
    }

    async fn create<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Vec<u8>,
        key: IdempotencyKey,
    ) -> Result<Created<T>, Error> {
        let response = self.execute("POST", path, body, Some(&key), &[]).await?;
        if !(200..300).contains(&response.status) {
            return Err(Error::Api(response.problem()));
        }
        Ok(Created {
            value: response.decode()?,
            replayed: response.replayed(),
            idempotency_key: key,
            location: response.header("location").map(str::to_owned),
            attempts: response.attempts,
        })
    }
}

fn json_body<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("request bodies serialize")
}
