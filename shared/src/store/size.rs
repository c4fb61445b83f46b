//! Item sizes as DynamoDB counts them (names and values, by its published rules), to refuse
//! a transaction over its 4 MB before the call rather than by DynamoDB's error after it.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::attrs::Item;

/// The bytes of one attribute value.
fn value_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        // Up to 38 significant digits, 2 per byte, plus one.
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_bytes(e)).sum::<usize>(),
        AttributeValue::M(m) => 3 + item_bytes(m) + m.len(),
        _ => 0,
    }
}

/// The bytes of an item: each attribute's name and value.
pub fn item_bytes(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_bytes(v)).sum()
}

/// The bytes a transaction's write counts for: a put's item, an update's key and values, a
/// delete's or condition check's key.
pub fn write_bytes(write: &TransactWriteItem) -> usize {
    let values = |v: Option<&std::collections::HashMap<String, AttributeValue>>| {
        v.map(item_bytes).unwrap_or_default()
    };
    if let Some(put) = write.put() {
        item_bytes(put.item())
    } else if let Some(update) = write.update() {
        item_bytes(update.key()) + values(update.expression_attribute_values())
    } else if let Some(delete) = write.delete() {
        item_bytes(delete.key())
    } else if let Some(check) = write.condition_check() {
        item_bytes(check.key())
    } else {
        0
    }
}
