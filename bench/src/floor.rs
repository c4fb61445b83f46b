//! The floor: the DynamoDB calls a path must make, and nothing else, through the same SDK
//! client, with the same items as the guard writes (same tables, attributes and sizes).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use payments::domain::{AccountId, Amount, Currency, Principal, Transfer, TransferId};
use payments::PaymentsStore;
use replaysafe::idempotency::Fingerprint;
use replaysafe::Store;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[derive(Clone, Copy)]
enum Claim {
    /// Signature mode's claim (fences ordered by `created`).
    Signed,
    /// Authorizer mode's claim (no fences).
    Authorized,
}

pub struct Floor {
    pub client: Client,
    pub store: Store,
    pub ledger: PaymentsStore,
    pub owner: Principal,
    pub now: i64,
}

impl Floor {
    /// The nonce put: conditional, as the guard makes it.
    pub async fn put_nonce(&self) {
        let nonce = replaysafe_signing::random_nonce();
        self.client
            .put_item()
            .table_name(&self.store.tables().nonces)
            .item("pk", s(format!("{}#{nonce}", self.owner)))
            .item("request_id", s(uuid::Uuid::new_v4().to_string()))
            .item("expires_at", n(self.now + 360))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now OR (attribute_not_exists(fingerprint) AND fence < :created)",
            )
            .expression_attribute_values(":now", n(self.now))
            .expression_attribute_values(":created", n(self.now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .expect("nonce put");
    }

    /// The consistent read of a key's idempotency record.
    pub async fn read_record(&self, key: &str) {
        self.client
            .get_item()
            .table_name(&self.store.tables().idempotency)
            .key("pk", s(format!("{}#{key}", self.owner)))
            .consistent_read(true)
            .send()
            .await
            .expect("record read");
    }

    pub async fn read_account(&self, id: &str) {
        self.client
            .get_item()
            .table_name(&self.ledger.tables().accounts)
            .key("account_id", s(id))
            .consistent_read(true)
            .send()
            .await
            .expect("account read");
    }

    /// The 4-item transaction: key claim, debit, credit, transfer record. `Ok` when it
    /// committed, `Err` when a condition cancelled it.
    pub async fn transact(&self, key: &str, from: &str, to: &str, amount: u64) -> Result<(), ()> {
        self.send(self.items(key, from, to, amount, Claim::Signed))
            .await
            .map_err(drop)
    }

    /// The authorizer mode's one transaction, bare: the same 4 items, the claim under the
    /// condition without fences, as the guard writes it (`pk`, fingerprint, status, the
    /// `location` header, body, request id, expiry). `Err(true)` when the claim's condition
    /// cancelled it (the key is held: its item comes back), `Err(false)` for another write's.
    pub async fn one_transaction(
        &self,
        key: &str,
        from: &str,
        to: &str,
        amount: u64,
    ) -> Result<(), bool> {
        self.send(self.items(key, from, to, amount, Claim::Authorized))
            .await
    }

    fn items(
        &self,
        key: &str,
        from: &str,
        to: &str,
        amount: u64,
        claim: Claim,
    ) -> Vec<TransactWriteItem> {
        let transfer = Transfer {
            transfer_id: TransferId::generate(),
            owner: self.owner.clone(),
            from: AccountId::parse(from).expect("account id"),
            to: AccountId::parse(to).expect("account id"),
            amount: Amount::parse(amount).expect("amount"),
            currency: Currency::parse("EUR").expect("currency"),
            reference: None,
            created_at: self.now,
        };
        let operation = payments::domain::Operation::Transfer(transfer.transfer_id.to_string());
        // The stored answer has the size of a real one: the transfer's JSON view.
        let body = format!(
            r#"{{"transfer_id":"{}","from":"{from}","to":"{to}","amount":{amount},"currency":"EUR","reference":null,"created_at":"2025-11-22T12:00:00Z"}}"#,
            transfer.transfer_id
        );
        let location = format!("/transfers/{}", transfer.transfer_id);
        let claim = match claim {
            Claim::Signed => Put::builder()
                .table_name(&self.store.tables().idempotency)
                .item("pk", s(format!("{}#{key}", self.owner)))
                .item("fingerprint", s("0".repeat(64)))
                .item("status", n(201))
                .item("body", s(body))
                .item("request_id", s(uuid::Uuid::new_v4().to_string()))
                .item("expires_at", n(self.now + 86_400))
                .item("location", s(location))
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_at <= :now OR (attribute_not_exists(fingerprint) AND fence < :created)",
                )
                .expression_attribute_values(":now", n(self.now))
                .expression_attribute_values(":created", n(self.now)),
            Claim::Authorized => {
                let request = format!(
                    r#"{{"from":"{from}","to":"{to}","amount":{amount},"currency":"EUR"}}"#
                );
                let tables = self.store.tables();
                Put::builder()
                    .table_name(&tables.idempotency)
                    .item(
                        &tables.partition_key,
                        s(format!("{}{}#{key}", tables.key_prefix, self.owner)),
                    )
                    .item(
                        "fingerprint",
                        s(Fingerprint::of("POST", "/transfers", request.as_bytes()).as_str()),
                    )
                    .item("status", n(201))
                    .item(
                        "headers",
                        AttributeValue::L(vec![AttributeValue::L(vec![
                            s("location"),
                            s(location),
                        ])]),
                    )
                    .item("body", s(body))
                    .item("request_id", s(uuid::Uuid::new_v4().to_string()))
                    .item(&tables.expires_at, n(self.now + 86_400))
                    .condition_expression("attribute_not_exists(#pk) OR #expires_at <= :now")
                    .expression_attribute_names("#pk", &tables.partition_key)
                    .expression_attribute_names("#expires_at", &tables.expires_at)
                    .expression_attribute_values(":now", n(self.now))
            }
        }
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .expect("claim");
        vec![
            TransactWriteItem::builder().put(claim).build(),
            self.ledger
                .credit(
                    &transfer.to,
                    &transfer.currency,
                    transfer.amount,
                    &operation,
                    self.now,
                )
                .item()
                .clone(),
            self.ledger
                .debit(
                    &transfer.from,
                    &self.owner,
                    &transfer.currency,
                    transfer.amount,
                    &operation,
                    self.now,
                )
                .item()
                .clone(),
            self.ledger.put_transfer(&transfer).item().clone(),
        ]
    }

    /// `Err(true)` when the first item's (the claim's) condition cancelled it.
    async fn send(&self, items: Vec<TransactWriteItem>) -> Result<(), bool> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                let claim_failed = match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                        .cancellation_reasons()
                        .first()
                        .is_some_and(|r| r.code() == Some("ConditionalCheckFailed")),
                    _ => false,
                };
                Err(claim_failed)
            }
            Err(e) => panic!(
                "transaction: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            ),
        }
    }
}
