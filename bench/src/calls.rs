//! Where a request's time goes: an SDK interceptor records each DynamoDB call's interval into
//! the log of the request that made it (a task-local, so concurrent requests keep their calls
//! apart); calls that overlap count as one sequential round trip. While
//! [`capacity::capturing`], it also describes each call (its parameters and answer as DynamoDB
//! JSON) and adds what it consumed to the log.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemInput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use serde_json::{json, Map, Value};

use crate::capacity::{self, Capacity};
use crate::stats::Sample;

/// One request's calls: their intervals, and what they consumed.
#[derive(Default)]
struct Log {
    calls: Vec<(Instant, Instant)>,
    capacity: Capacity,
}

tokio::task_local! {
    static LOG: Arc<Mutex<Log>>;
}

/// A call's operation and parameters as DynamoDB JSON, kept until its answer.
#[derive(Debug, Clone)]
struct Described(&'static str, Value);
impl Storable for Described {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug, Clone)]
struct Started(Instant);
impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// The interceptor: put it on the SDK client the code under test uses.
#[derive(Debug, Default, Clone)]
pub struct CallTimer;

impl Intercept for CallTimer {
    fn name(&self) -> &'static str {
        "CallTimer"
    }

    fn read_before_execution(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if capacity::capturing() {
            if let Some((op, params)) = describe_input(ctx.input()) {
                cfg.interceptor_state().store_put(Described(op, params));
            }
        }
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let ended = Instant::now();
        let used = cfg
            .load::<Described>()
            .map(|Described(op, params)| capacity::charge(op, params, &describe_answer(ctx)));
        if let Some(Started(at)) = cfg.load::<Started>() {
            let _ = LOG.try_with(|log| {
                let mut log = log.lock().unwrap();
                log.calls.push((*at, ended));
                if let Some(used) = used {
                    log.capacity += used;
                }
            });
        }
        Ok(())
    }
}

/// `client` with the [`CallTimer`] added.
pub fn instrumented(client: &aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(client.config().to_builder().interceptor(CallTimer).build())
}

/// Runs `work` and returns its output with what it cost: total time and its DynamoDB calls.
pub async fn measure<F: Future>(work: F) -> (F::Output, Sample) {
    let log = Arc::new(Mutex::new(Log::default()));
    let started = Instant::now();
    let out = LOG.scope(log.clone(), work).await;
    let total = started.elapsed();
    let log = std::mem::take(&mut *log.lock().unwrap());
    let offsets = log
        .calls
        .into_iter()
        .map(|(s, e)| (s.saturating_duration_since(started), e - started))
        .collect();
    (out, Sample::new(total, offsets).with_capacity(log.capacity))
}

fn av(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        // Only its length counts: base64 of that many bytes.
        AttributeValue::B(b) => json!({ "B": "A".repeat(b.as_ref().len().div_ceil(3) * 4) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(av).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item(m) }),
        AttributeValue::Ss(l) => json!({ "SS": l }),
        AttributeValue::Ns(l) => json!({ "NS": l }),
        AttributeValue::Bs(l) => {
            json!({ "BS": l.iter().map(|b| "A".repeat(b.as_ref().len().div_ceil(3) * 4)).collect::<Vec<_>>() })
        }
        _ => json!({}),
    }
}

fn item(m: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), av(v))).collect())
}

fn opt_item(m: Option<&std::collections::HashMap<String, AttributeValue>>) -> Value {
    m.map_or(Value::Null, item)
}

fn names(m: Option<&std::collections::HashMap<String, String>>) -> Value {
    m.map_or(Value::Null, |m| json!(m))
}

/// The SDK's typed input as the operation's name and its DynamoDB JSON parameters.
fn describe_input(
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Option<(&'static str, Value)> {
    if let Some(i) = input.downcast_ref::<GetItemInput>() {
        return Some((
            "GetItem",
            json!({"TableName": i.table_name(), "Key": opt_item(i.key()),
                "ConsistentRead": i.consistent_read()}),
        ));
    }
    if let Some(i) = input.downcast_ref::<PutItemInput>() {
        return Some((
            "PutItem",
            json!({"TableName": i.table_name(), "Item": opt_item(i.item())}),
        ));
    }
    if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
        return Some((
            "UpdateItem",
            json!({"TableName": i.table_name(), "Key": opt_item(i.key()),
                "UpdateExpression": i.update_expression(),
                "ExpressionAttributeNames": names(i.expression_attribute_names()),
                "ExpressionAttributeValues": opt_item(i.expression_attribute_values())}),
        ));
    }
    if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
        return Some((
            "DeleteItem",
            json!({"TableName": i.table_name(), "Key": opt_item(i.key())}),
        ));
    }
    let i = input.downcast_ref::<TransactWriteItemsInput>()?;
    let items: Vec<Value> = i
        .transact_items()
        .iter()
        .map(|t| {
            if let Some(p) = t.put() {
                json!({"Put": {"TableName": p.table_name(), "Item": item(p.item())}})
            } else if let Some(u) = t.update() {
                json!({"Update": {"TableName": u.table_name(), "Key": item(u.key()),
                    "UpdateExpression": u.update_expression(),
                    "ExpressionAttributeNames": names(u.expression_attribute_names()),
                    "ExpressionAttributeValues": opt_item(u.expression_attribute_values())}})
            } else if let Some(d) = t.delete() {
                json!({"Delete": {"TableName": d.table_name(), "Key": item(d.key())}})
            } else if let Some(c) = t.condition_check() {
                json!({"ConditionCheck": {"TableName": c.table_name(), "Key": item(c.key())}})
            } else {
                json!({})
            }
        })
        .collect();
    Some(("TransactWriteItems", json!({ "TransactItems": items })))
}

/// The call's answer as botocore parses it: `Item`, or `Error.Code` with the item a failed
/// condition handed back, or a cancelled transaction's `CancellationReasons`.
fn describe_answer(ctx: &FinalizerInterceptorContextRef<'_>) -> Value {
    let mut out = Map::new();
    match ctx.output_or_error() {
        Some(Ok(output)) => {
            if let Some(o) = output.downcast_ref::<GetItemOutput>() {
                out.insert("Item".into(), opt_item(o.item()));
            }
        }
        Some(Err(e)) => {
            let op = e.as_operation_error();
            let failed_item = op
                .and_then(|e| e.downcast_ref::<PutItemError>())
                .and_then(|e| match e {
                    PutItemError::ConditionalCheckFailedException(c) => Some(c.item()),
                    _ => None,
                })
                .or_else(|| {
                    op.and_then(|e| e.downcast_ref::<UpdateItemError>())
                        .and_then(|e| match e {
                            UpdateItemError::ConditionalCheckFailedException(c) => Some(c.item()),
                            _ => None,
                        })
                });
            let cancelled = op
                .and_then(|e| e.downcast_ref::<TransactWriteItemsError>())
                .and_then(|e| match e {
                    TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                    _ => None,
                });
            let code = if let Some(found) = failed_item {
                out.insert("Item".into(), opt_item(found));
                "ConditionalCheckFailedException"
            } else if let Some(c) = cancelled {
                let reasons: Vec<Value> = c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| json!({"Code": r.code(), "Item": opt_item(r.item())}))
                    .collect();
                out.insert("CancellationReasons".into(), Value::Array(reasons));
                "TransactionCanceledException"
            } else {
                "Other"
            };
            out.insert("Error".into(), json!({ "Code": code }));
        }
        None => {
            out.insert("Error".into(), json!({"Code": "Other"}));
        }
    }
    Value::Object(out)
}

/// Overlapping intervals merged: (sequential round trips, time inside DynamoDB).
pub fn rounds(mut calls: Vec<(Duration, Duration)>) -> (usize, Duration) {
    calls.sort();
    let mut merged: Vec<(Duration, Duration)> = Vec::new();
    for (start, end) in calls {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    (merged.len(), merged.iter().map(|(s, e)| *e - *s).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(a: u64, b: u64) -> (Duration, Duration) {
        (Duration::from_millis(a), Duration::from_millis(b))
    }

    #[test]
    fn overlapping_calls_are_one_round_trip() {
        let (n, inside) = rounds(vec![ms(5, 9), ms(0, 2), ms(1, 3)]);
        assert_eq!(n, 2);
        assert_eq!(inside, Duration::from_millis(7));
    }
}
