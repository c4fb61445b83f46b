//! The CloudWatch Embedded Metric Format specification, as checks on one document:
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.
//! Written from the specification, not from what metrique emits, so that a document metrique
//! or the library got wrong fails here and not in CloudWatch, which drops it without a word.

use serde_json::{Map, Value};

/// The units a `MetricDefinition` may name (CloudWatch's `StandardUnit`).
pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// At most this many dimension keys in one `DimensionSet`.
pub const MAX_DIMENSIONS: usize = 30;
/// At most this many `MetricDefinition`s in one directive.
pub const MAX_METRICS: usize = 100;
/// At most this many values in one metric's array.
pub const MAX_VALUES: usize = 100;

/// Whether `doc` is a valid EMF document; the first rule it breaks otherwise.
pub fn check(doc: &Value) -> Result<(), String> {
    let root = doc.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no `_aws` metadata object")?;
    match aws.get("Timestamp") {
        Some(Value::Number(n)) if n.is_u64() => {}
        other => {
            return Err(format!(
                "`_aws.Timestamp` is not integer milliseconds: {other:?}"
            ))
        }
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("`_aws.CloudWatchMetrics` is not an array")?;
    if directives.is_empty() {
        return Err("`_aws.CloudWatchMetrics` declares no directive".into());
    }
    for directive in directives {
        check_directive(root, directive)?;
    }
    Ok(())
}

fn check_directive(root: &Map<String, Value>, directive: &Value) -> Result<(), String> {
    let directive = directive
        .as_object()
        .ok_or("a directive is not an object")?;
    match directive.get("Namespace").and_then(Value::as_str) {
        Some(ns) if (1..=255).contains(&ns.len()) => {}
        other => {
            return Err(format!(
                "`Namespace` is not a 1-255 character string: {other:?}"
            ))
        }
    }
    let sets = directive
        .get("Dimensions")
        .and_then(Value::as_array)
        .ok_or("`Dimensions` is not an array")?;
    for set in sets {
        let keys = set.as_array().ok_or("a dimension set is not an array")?;
        if keys.len() > MAX_DIMENSIONS {
            return Err(format!("a dimension set of {} keys", keys.len()));
        }
        for key in keys {
            let key = key.as_str().ok_or("a dimension key is not a string")?;
            match root.get(key) {
                Some(Value::String(_)) => {}
                Some(other) => return Err(format!("dimension {key} is not a string: {other}")),
                None => return Err(format!("dimension {key} is not a member of the root")),
            }
        }
    }
    let metrics = directive
        .get("Metrics")
        .and_then(Value::as_array)
        .ok_or("`Metrics` is not an array")?;
    if metrics.len() > MAX_METRICS {
        return Err(format!("{} metric definitions", metrics.len()));
    }
    for metric in metrics {
        let metric = metric
            .as_object()
            .ok_or("a metric definition is not an object")?;
        let name = metric
            .get("Name")
            .and_then(Value::as_str)
            .filter(|n| (1..=255).contains(&n.len()))
            .ok_or("a metric definition has no 1-255 character `Name`")?;
        if let Some(unit) = metric.get("Unit") {
            if !unit.as_str().is_some_and(|u| UNITS.contains(&u)) {
                return Err(format!("{name}: unit {unit} is not a CloudWatch unit"));
            }
        }
        if let Some(resolution) = metric.get("StorageResolution") {
            if resolution != 1 && resolution != 60 {
                return Err(format!("{name}: storage resolution {resolution}"));
            }
        }
        match root.get(name) {
            Some(Value::Number(_)) => {}
            Some(Value::Array(values))
                if values.len() <= MAX_VALUES && values.iter().all(Value::is_number) => {}
            Some(other) => return Err(format!("metric {name} is not a number: {other}")),
            None => return Err(format!("metric {name} is not a member of the root")),
        }
    }
    Ok(())
}

/// Panics, naming the rule and the document, unless every one of `docs` is valid EMF.
pub fn assert_valid(docs: &[Value]) {
    for doc in docs {
        if let Err(rule) = check(doc) {
            panic!("not a valid EMF document ({rule}): {doc}");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({
            "_aws": {"Timestamp": 1_763_812_800_000u64, "CloudWatchMetrics": [{
                "Namespace": "replaysafe",
                "Dimensions": [["Service"], ["Service", "Route"]],
                "Metrics": [{"Name": "Requests"}, {"Name": "Latency", "Unit": "Milliseconds"}],
            }]},
            "Service": "s", "Route": "POST /a", "Requests": 1, "Latency": [1.5, 2.0],
        })
    }

    /// An edit that breaks one rule.
    type Breaks = fn(&mut Value);

    #[test]
    fn each_rule_refuses_a_document_that_breaks_it() {
        assert_eq!(check(&valid()), Ok(()));
        let broken: [(&str, Breaks); 9] = [
            ("timestamp in seconds as a float", |d| {
                d["_aws"]["Timestamp"] = json!(1.5)
            }),
            ("no directives", |d| {
                d["_aws"]["CloudWatchMetrics"] = json!([])
            }),
            ("no namespace", |d| {
                d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!(7)
            }),
            ("a missing dimension", |d| {
                d.as_object_mut().unwrap().remove("Route");
            }),
            ("a numeric dimension", |d| d["Service"] = json!(3)),
            ("a unit CloudWatch lacks", |d| {
                d["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Unit"] = json!("Millis")
            }),
            ("a missing metric", |d| {
                d.as_object_mut().unwrap().remove("Requests");
            }),
            ("a string metric", |d| d["Requests"] = json!("1")),
            ("31 dimensions", |d| {
                let keys: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
                for k in &keys {
                    d[k.as_str()] = json!("v");
                }
                d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([keys]);
            }),
        ];
        for (what, breaks) in broken {
            let mut doc = valid();
            breaks(&mut doc);
            assert!(check(&doc).is_err(), "{what} passed: {doc}");
        }
    }
}
