//! DynamoDB capacity per request, computed from the requests' items by AWS's published rules,
//! not read from `ConsumedCapacity` (DynamoDB Local under-reports it for transactions).
//!
//! Every call is described in one shape, whoever made it: the operation's name, its parameters
//! and its answer as DynamoDB JSON (what boto3's client takes and botocore parses; the Rust
//! SDK's typed input and output are converted to it in [`crate::calls`]). The rules:
//!
//! - item size: attribute names plus values (strings and binaries their bytes, a number 1 byte
//!   per two significant digits plus 1, a boolean or null 1, a list or map 3 plus 1 per element
//!   plus the elements);
//! - a write: 1 WCU per KB (rounded up, per item) of the larger of the item before and after
//!   it; a write whose condition fails: the item that is there (at least 1);
//! - a read: 1 RCU per 4 KB of the item read (at least 1 for an item that is not there),
//!   half of that when eventually consistent;
//! - a transaction: twice that per item (a `ConditionCheck` is a transactional read). A
//!   cancelled transaction is charged here as if it committed: the documentation does not say
//!   what a cancelled one costs, so this is the upper bound.
//!
//! The items written before (an update's or a replaced item's "before") are known from the
//! writes this process saw: every put's item is remembered by table and key. An update's
//! "after" is its `SET`s applied to that: a value (`:v`) replaces the attribute, arithmetic
//! (`#balance - :amount`) keeps its size (a digit more or less moves no item over a 1 KB or
//! 4 KB boundary here).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};

use serde_json::{Map, Value};

/// An item as DynamoDB JSON: `{"name": {"S": "value"}, ...}`.
pub type Item = Map<String, Value>;

/// Write and read capacity units.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capacity {
    pub wcu: f64,
    pub rcu: f64,
}

impl std::ops::AddAssign for Capacity {
    fn add_assign(&mut self, other: Self) {
        self.wcu += other.wcu;
        self.rcu += other.rcu;
    }
}

/// Whether calls are described and charged (setup and the capacity pass), or only timed.
static CAPTURE: AtomicBool = AtomicBool::new(true);

pub fn capturing() -> bool {
    CAPTURE.load(Ordering::Relaxed)
}

/// Turns the description of calls on or off: off while timing, so its cost is not measured.
pub fn capture(on: bool) {
    CAPTURE.store(on, Ordering::Relaxed);
}

/// The items last written or read, by table and key.
static ITEMS: LazyLock<Mutex<HashMap<String, Item>>> = LazyLock::new(Default::default);

/// The key attributes of the bench's tables (the guard's `pk`, Powertools' `id`, the app's).
const KEY_NAMES: [&str; 5] = ["pk", "id", "account_id", "transfer_id", "client_id"];

fn key_of(table: &str, item_or_key: &Item) -> String {
    let name = KEY_NAMES
        .iter()
        .find(|n| item_or_key.contains_key(**n))
        .copied()
        .unwrap_or("?");
    format!(
        "{table}|{name}={}",
        item_or_key.get(name).unwrap_or(&Value::Null)
    )
}

fn known(key: &str) -> Option<Item> {
    ITEMS.lock().unwrap().get(key).cloned()
}

fn remember(key: String, item: Item) {
    ITEMS.lock().unwrap().insert(key, item);
}

fn forget(key: &str) {
    ITEMS.lock().unwrap().remove(key);
}

/// A number's size: 1 byte per two significant digits, plus 1.
fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.max(1).div_ceil(2) + 1
}

fn value_size(v: &Value) -> usize {
    let Some((kind, x)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let str_len = |x: &Value| x.as_str().map_or(0, str::len);
    let list = |x: &Value| x.as_array().cloned().unwrap_or_default();
    match kind.as_str() {
        "S" => str_len(x),
        "N" => number_size(x.as_str().unwrap_or("0")),
        // Base64 on the wire; the raw bytes count.
        "B" => str_len(x) * 3 / 4,
        "BOOL" | "NULL" => 1,
        "L" => 3 + list(x).iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        "M" => {
            3 + x.as_object().map_or(0, |m| {
                m.iter().map(|(k, e)| 1 + k.len() + value_size(e)).sum()
            })
        }
        "SS" => list(x).iter().map(str_len).sum(),
        "NS" => list(x)
            .iter()
            .map(|e| number_size(e.as_str().unwrap_or("0")))
            .sum(),
        "BS" => list(x).iter().map(|e| str_len(e) * 3 / 4).sum(),
        _ => 0,
    }
}

/// An item's size in bytes: its attribute names and values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn units(bytes: usize, per: usize) -> f64 {
    bytes.div_ceil(per).max(1) as f64
}

fn obj(v: &Value) -> Item {
    v.as_object().cloned().unwrap_or_default()
}

/// An update's `SET`s applied to `before`: a value replaces the attribute; arithmetic keeps
/// it (or, on an attribute not there yet, takes the value it names).
fn updated(before: &Item, params: &Value) -> Item {
    let mut after = before.clone();
    for (k, v) in obj(&params["Key"]) {
        after.entry(k).or_insert(v);
    }
    let names = obj(&params["ExpressionAttributeNames"]);
    let values = obj(&params["ExpressionAttributeValues"]);
    let expr = params["UpdateExpression"].as_str().unwrap_or("");
    let Some(set) = expr.trim().strip_prefix("SET ") else {
        return after;
    };
    for clause in set.split(',') {
        let Some((lhs, rhs)) = clause.split_once('=') else {
            continue;
        };
        let lhs = lhs.trim();
        let name = names
            .get(lhs)
            .and_then(Value::as_str)
            .unwrap_or(lhs)
            .to_owned();
        if let Some(v) = values.get(rhs.trim()) {
            after.insert(name, v.clone());
        } else if !after.contains_key(&name) {
            if let Some(v) = rhs.split_whitespace().find_map(|t| values.get(t)) {
                after.insert(name, v.clone());
            }
        }
    }
    after
}

/// One write (`Put`, `Update` or `Delete` parameters) and its WCU before any transactional
/// doubling: its condition failed on `failed` (the item there, when DynamoDB handed it back),
/// or it went through; `commit` records what the table then holds.
fn write(kind: &str, p: &Value, failed: Option<Option<&Item>>, commit: bool) -> f64 {
    let table = p["TableName"].as_str().unwrap_or("");
    let key = match kind {
        "Put" => key_of(table, &obj(&p["Item"])),
        _ => key_of(table, &obj(&p["Key"])),
    };
    let before = known(&key);
    let before_size = before.as_ref().map_or(0, item_size);
    if let Some(there) = failed {
        return units(there.map_or(before_size, item_size), 1024);
    }
    let after = match kind {
        "Put" => Some(obj(&p["Item"])),
        "Update" => Some(updated(&before.unwrap_or_default(), p)),
        _ => None,
    };
    let after_size = after.as_ref().map_or(0, item_size);
    if commit {
        match after {
            Some(item) => remember(key, item),
            None => forget(&key),
        }
    }
    units(before_size.max(after_size), 1024)
}

/// One read of `key` in `table`, with the item it returned if any: its RCU at full price (a
/// strongly consistent read).
fn read(table: &str, key: &Item, returned: Option<&Item>) -> f64 {
    let key = key_of(table, key);
    let item = returned.cloned().or_else(|| known(&key));
    if let Some(item) = returned {
        remember(key, item.clone());
    }
    units(item.as_ref().map_or(0, item_size), 4096)
}

/// What one call consumed: `op` (`PutItem`, `TransactWriteItems`, ...), its parameters and its
/// answer (`Item`, `Error.Code`, `CancellationReasons`) as DynamoDB JSON. Calls that touch no
/// item (table management) cost nothing here.
pub fn charge(op: &str, params: &Value, answer: &Value) -> Capacity {
    let error = answer["Error"]["Code"].as_str();
    let returned = answer.get("Item").and_then(Value::as_object);
    let condition_failed =
        matches!(error, Some(code) if code.ends_with("ConditionalCheckFailedException"));
    match op {
        "GetItem" => {
            let rcu = read(
                params["TableName"].as_str().unwrap_or(""),
                &obj(&params["Key"]),
                returned,
            );
            let consistent = params["ConsistentRead"].as_bool().unwrap_or(false);
            Capacity {
                wcu: 0.0,
                rcu: if consistent { rcu } else { rcu / 2.0 },
            }
        }
        "PutItem" | "UpdateItem" | "DeleteItem" => {
            let kind = op.trim_end_matches("Item");
            let failed = condition_failed.then_some(returned);
            Capacity {
                wcu: write(kind, params, failed, error.is_none()),
                rcu: 0.0,
            }
        }
        "TransactWriteItems" => {
            let reasons = answer["CancellationReasons"].as_array();
            let commit = error.is_none();
            let mut c = Capacity::default();
            for (i, item) in params["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let reason = reasons.and_then(|r| r.get(i));
                let failed = reason
                    .filter(|r| r["Code"].as_str() == Some("ConditionalCheckFailed"))
                    .map(|r| r.get("Item").and_then(Value::as_object));
                let Some((kind, p)) = item.as_object().and_then(|o| o.iter().next()) else {
                    continue;
                };
                if kind == "ConditionCheck" {
                    let table = p["TableName"].as_str().unwrap_or("");
                    c.rcu += 2.0 * read(table, &obj(&p["Key"]), None);
                } else {
                    c.wcu += 2.0 * write(kind, p, failed, commit);
                }
            }
            c
        }
        _ => Capacity::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_follow_the_published_rules() {
        let item = obj(&json!({
            "pk": {"S": "abc"},
            "n": {"N": "12345"},
            "l": {"L": [{"S": "ab"}, {"S": "c"}]},
            "b": {"BOOL": true}
        }));
        // pk 2+3, n 1+(3+1), l 1+3+(1+2)+(1+1), b 1+1
        assert_eq!(item_size(&item), 5 + 5 + 9 + 2);
        assert_eq!(number_size("1000000000"), 2);
        assert_eq!(number_size("-0.0125"), 3);
    }

    #[test]
    fn a_transaction_costs_twice_per_item_and_an_update_keeps_the_larger_size() {
        let table = "t-cap-accounts";
        let account = json!({"TableName": table, "Item": {
            "account_id": {"S": "a"}, "balance": {"N": "5"}, "blob": {"S": "x".repeat(1500)}
        }});
        assert_eq!(charge("PutItem", &account, &json!({})).wcu, 2.0);
        let debit = json!({"TransactItems": [
            {"Update": {"TableName": table, "Key": {"account_id": {"S": "a"}},
                "UpdateExpression": "SET #b = #b - :x, updated_at = :now",
                "ExpressionAttributeNames": {"#b": "balance"},
                "ExpressionAttributeValues": {":x": {"N": "1"}, ":now": {"N": "17"}}}},
            {"Put": {"TableName": "t-cap-idem", "Item": {"pk": {"S": "k"}}}},
            {"ConditionCheck": {"TableName": table, "Key": {"account_id": {"S": "a"}}}}
        ]});
        let c = charge("TransactWriteItems", &debit, &json!({}));
        assert_eq!(
            c,
            Capacity {
                wcu: 2.0 * 2.0 + 2.0,
                rcu: 2.0
            }
        );
        let read = json!({"TableName": table, "Key": {"account_id": {"S": "a"}}});
        assert_eq!(charge("GetItem", &read, &json!({})).rcu, 0.5);
    }
}
