//! `POST /orders` on the replaysafe guard: a complete endpoint of another domain, using only
//! the library's public API (tested against DynamoDB Local in `tests/tests/orders.rs`, in both
//! modes). Six names of the library: `Guard`, `Incoming`, `Reply`, `Effect`, `Problem`, and
//! `lambda::run` in `main.rs`.
//!
//! Its table: `orders`, partition key `order_id` (string), no TTL. Its IAM grants: the guard's
//! (signature mode: `clients`: `GetItem`; `nonces`: `PutItem`; `idempotency`: `GetItem`,
//! `PutItem`; authorizer mode: `idempotency`: `PutItem`) and `orders`: `PutItem`. DynamoDB
//! authorises a `TransactWriteItems` per item action, so no `TransactWriteItems` grant is needed
//! beyond those.

use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use replaysafe::http::{Incoming, Reply};
use replaysafe::store::AttributeValue;
use replaysafe::{Effect, Guard, Problem};
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

/// The orders app's errors: what each is. That a 400 or a 409 is a final refusal follows.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("{0}")]
    Invalid(String),
    #[error("an order with this id already exists")]
    Exists,
}

impl Problem for OrderError {
    fn status(&self) -> u16 {
        match self {
            Self::Invalid(_) => 400,
            Self::Exists => 409,
        }
    }
    fn code(&self) -> &str {
        match self {
            Self::Invalid(_) => "validation-failed",
            Self::Exists => "order-exists",
        }
    }
    fn title(&self) -> &str {
        match self {
            Self::Invalid(_) => "Validation failed",
            Self::Exists => "Order exists",
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
}

/// POST /orders: the order and the idempotency record in one transaction; a retry gets the
/// first 201, an id taken by another order gets 409 `order-exists`, final.
pub async fn create_order(app: &Orders, req: Incoming<'_>) -> Reply<OrderError> {
    app.guard
        .post(&req, NewOrder::parse, async |op, order| {
            let put = Put::builder()
                .table_name(&app.table)
                .item("order_id", AttributeValue::S(order.order_id.clone()))
                .item("sku", AttributeValue::S(order.sku.clone()))
                .item("quantity", AttributeValue::N(order.quantity.to_string()))
                .item("owner", AttributeValue::S(op.principal().to_string()))
                .condition_expression("attribute_not_exists(order_id)")
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .expect("table, item and condition are set");
            let created = Created {
                order_id: &order.order_id,
                sku: &order.sku,
                quantity: order.quantity,
            };
            Ok(Effect::json(201, &created)
                .header("location", format!("/orders/{}", order.order_id))
                .write(TransactWriteItem::builder().put(put).build(), |_| {
                    OrderError::Exists
                }))
        })
        .await
}
