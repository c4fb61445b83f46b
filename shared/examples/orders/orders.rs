//! `POST /orders` on the replaysafe guard: a complete endpoint of another domain, using only
//! the library's public API (tested against DynamoDB Local in `tests/tests/orders.rs`).
//!
//! Its table: `orders`, partition key `order_id` (string), no TTL. Its IAM grants: the guard's
//! (`clients`: `GetItem`; `nonces`: `PutItem`; `idempotency`: `GetItem`, `PutItem`) and
//! `orders`: `PutItem`. DynamoDB authorises a `TransactWriteItems` per item action, so no
//! `TransactWriteItems` grant is needed beyond those.

use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use replaysafe::http::{Incoming, Reply};
use replaysafe::idempotency::StoredResponse;
use replaysafe::store::{AttributeValue, Write};
use replaysafe::{Guard, GuardError, Problem};
use serde::{Deserialize, Serialize};

/// The app: the guard and the orders table, built once per cold start.
pub struct Orders {
    pub guard: Guard,
    pub table: String,
}

impl AsRef<Guard> for Orders {
    fn as_ref(&self) -> &Guard {
        &self.guard
    }
}

/// The orders app's errors: its own, and the guard's.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("{0}")]
    Invalid(String),
    #[error("an order with this id already exists")]
    Exists,
    #[error(transparent)]
    Guard(#[from] GuardError),
}

impl Problem for OrderError {
    fn status(&self) -> u16 {
        match self {
            Self::Invalid(_) => 400,
            Self::Exists => 409,
            Self::Guard(e) => e.status(),
        }
    }
    fn code(&self) -> &str {
        match self {
            Self::Invalid(_) => "validation-failed",
            Self::Exists => "order-exists",
            Self::Guard(e) => e.code(),
        }
    }
    fn title(&self) -> &str {
        match self {
            Self::Invalid(_) => "Validation failed",
            Self::Exists => "Order exists",
            Self::Guard(e) => e.title(),
        }
    }
    fn retry_after(&self) -> Option<u32> {
        match self {
            Self::Guard(e) => e.retry_after(),
            _ => None,
        }
    }
    /// A bad body and a taken id are final answers: the guard fences the key before them.
    fn is_refusal(&self) -> bool {
        !matches!(self, Self::Guard(_))
    }
    /// The guard's internal causes reach the log through the app's error.
    fn cause(&self) -> Option<&replaysafe::error::Cause> {
        match self {
            Self::Guard(e) => e.cause(),
            _ => None,
        }
    }
}

/// The request body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub order_id: String,
    pub sku: String,
    pub quantity: u32,
}

impl NewOrder {
    pub fn parse(body: &[u8]) -> Result<Self, OrderError> {
        let order: Self =
            serde_json::from_slice(body).map_err(|e| OrderError::Invalid(e.to_string()))?;
        if !replaysafe::ids::is_valid_id(&order.order_id) || order.quantity == 0 {
            return Err(OrderError::Invalid(
                "order_id must be an id and quantity at least 1".into(),
            ));
        }
        Ok(order)
    }
}

/// The 201's body.
#[derive(Serialize)]
struct Created<'a> {
    order_id: &'a str,
    sku: &'a str,
    quantity: u32,
    owner: &'a str,
}

/// POST /orders: the order and the idempotency record in one transaction; a retry gets the
/// first 201, an id taken by another order gets 409 `order-exists`, fenced.
pub async fn create_order(app: &Orders, req: Incoming<'_>) -> Reply<OrderError> {
    let committed = app
        .guard
        .post(&req, NewOrder::parse, async |admitted, order| {
            let owner = admitted.client_id().as_str();
            let put = Put::builder()
                .table_name(&app.table)
                .item("order_id", AttributeValue::S(order.order_id.clone()))
                .item("sku", AttributeValue::S(order.sku.clone()))
                .item("quantity", AttributeValue::N(order.quantity.to_string()))
                .item("owner", AttributeValue::S(owner.to_owned()))
                .condition_expression("attribute_not_exists(order_id)")
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .expect("table, item and condition are set");
            let write = Write::new(TransactWriteItem::builder().put(put).build(), |_| {
                OrderError::Exists
            });
            let created = Created {
                order_id: &order.order_id,
                sku: &order.sku,
                quantity: order.quantity,
                owner,
            };
            let response = StoredResponse::json(201, &created)
                .with_header("location", format!("/orders/{}", order.order_id));
            app.guard.commit(admitted, vec![write], response).await
        })
        .await?;
    Ok(committed.into())
}
