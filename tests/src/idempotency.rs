//! The idempotency table read and staged past the API: the record or fence under a key, the
//! guard's admission and commit steps on their own (to stage what happens between them), and
//! TTL's deletions done by hand.

use aws_sdk_dynamodb::types::AttributeValue;
use replaysafe::Clock;

use crate::{Call, TestApp, TestClient};

/// A stand-in answer for commits staged through the guard directly.
pub fn staged_answer() -> replaysafe::idempotency::StoredResponse {
    replaysafe::idempotency::StoredResponse::new(201, r#"{"mine":true}"#)
}

impl TestApp {
    /// The live record under `client`'s idempotency key at the app clock's now, read past the API.
    pub async fn idempotency_record(
        &self,
        client: &TestClient,
        key: &str,
    ) -> Option<replaysafe::idempotency::IdempotencyRecord> {
        let client_id = replaysafe::ClientId::parse(&client.id).unwrap();
        let key = replaysafe::idempotency::IdempotencyKey::parse(Some(key)).unwrap();
        match self.key_state(&client_id, &key).await {
            Some(replaysafe::idempotency::KeyState::Answered(record)) => Some(record),
            _ => None,
        }
    }

    /// A POST admitted by the guard (nonce consumed, its key read and found empty), not yet
    /// committed: for staging what happens between the read and the transaction.
    pub async fn admit(&self, call: &Call) -> replaysafe::Admitted {
        let req = call.request();
        let incoming = replaysafe::http::Incoming::from_lambda(&req);
        let key = incoming.single_header("idempotency-key").unwrap().unwrap();
        let key = replaysafe::idempotency::IdempotencyKey::parse(Some(key)).unwrap();
        let owner = replaysafe::Principal::from_stored(call.signer.0.client_id.clone());
        assert_eq!(
            self.store
                .get_key_state(&owner, &key, self.clock.now())
                .await
                .unwrap(),
            None,
            "nothing under the key yet"
        );
        replaysafe::testing::admit(self.guard(), &incoming)
            .await
            .expect("admitted")
    }

    /// Commits `staged_answer()` for an admitted POST with no writes, the guard's transaction
    /// step alone.
    pub async fn commit_staged(
        &self,
        admitted: &replaysafe::Admitted,
        answer: replaysafe::idempotency::StoredResponse,
    ) -> Result<replaysafe::testing::Committed, replaysafe::GuardError> {
        let effect = replaysafe::Effect::<std::convert::Infallible>::new(answer);
        replaysafe::testing::commit(self.guard(), admitted, effect)
            .await
            .map_err(|e| match e {
                replaysafe::Error::Guard(e) => e,
                replaysafe::Error::App(never) => match never {},
            })
    }

    /// What lives under a key at the app clock's now (a record or a fence), read past the API.
    pub async fn key_state(
        &self,
        client_id: &replaysafe::ClientId,
        key: &replaysafe::idempotency::IdempotencyKey,
    ) -> Option<replaysafe::idempotency::KeyState> {
        self.store
            .get_key_state(&self.principal_of(client_id), key, self.clock.now())
            .await
            .expect("read idempotency table")
    }

    /// Who a client is to the guard: itself when it signs, or the principal its id names as a
    /// JWT's `sub` behind an authorizer.
    pub fn principal_of(&self, client_id: &replaysafe::ClientId) -> replaysafe::Principal {
        if self.behind_authorizer() {
            replaysafe::Principal::authorized(client_id.as_str()).expect("a client id is a sub")
        } else {
            replaysafe::Principal::client(client_id)
        }
    }

    /// The live fence under `client`'s idempotency key, read past the API.
    pub async fn fence(
        &self,
        client: &TestClient,
        key: &str,
    ) -> Option<replaysafe::idempotency::Fence> {
        let client_id = replaysafe::ClientId::parse(&client.id).unwrap();
        let key = replaysafe::idempotency::IdempotencyKey::parse(Some(key)).unwrap();
        match self.key_state(&client_id, &key).await {
            Some(replaysafe::idempotency::KeyState::Fenced(fence)) => Some(fence),
            _ => None,
        }
    }

    /// Deletes what the idempotency table holds under `client`'s key, as DynamoDB's TTL does
    /// some time after it expired.
    pub async fn delete_key_item(&self, client: &TestClient, key: &str) {
        let tables = self.store.tables();
        let owner = self.principal_of(&replaysafe::ClientId::parse(&client.id).unwrap());
        let pk = format!("{}{owner}#{key}", tables.key_prefix);
        self.store
            .client()
            .delete_item()
            .table_name(&tables.idempotency)
            .key(&tables.partition_key, AttributeValue::S(pk))
            .send()
            .await
            .expect("delete the key's item");
    }

    /// The `expires_at` of every item physically in the idempotency table, expired ones
    /// included (DynamoDB deletes them lazily, if at all).
    pub async fn idempotency_expiries(&self) -> Vec<i64> {
        let out = self
            .store
            .client()
            .scan()
            .table_name(&self.store.tables().idempotency)
            .send()
            .await
            .expect("scan");
        out.items()
            .iter()
            .filter_map(|item| item.get(replaysafe::store::schema::TTL_ATTRIBUTE))
            .filter_map(|v| v.as_n().ok()?.parse().ok())
            .collect()
    }

    /// Whether a live idempotency record (a stored answer, not a fence) holds `key` for `client`.
    pub async fn has_idempotency_record(&self, client: &TestClient, key: &str) -> bool {
        if replaysafe::idempotency::IdempotencyKey::parse(Some(key)).is_err() {
            return false;
        }
        self.idempotency_record(client, key).await.is_some()
    }
}
