//! The alarms and the dashboard watch what the code emits: every metric they name is one of
//! `replaysafe::metrics::METRIC_NAMES` or `payments::metrics::METRIC_NAMES`, in the stack's
//! namespace with its `Service` dimension; every alarm notifies the alarm topic; every
//! dead-letter queue has an alarm; and every function is told the namespace and the service.

use super::*;

/// Every metric the functions emit.
fn emitted() -> BTreeSet<&'static str> {
    replaysafe::metrics::METRIC_NAMES
        .iter()
        .chain(payments::metrics::METRIC_NAMES)
        .copied()
        .collect()
}

/// The SNS topic the alarms notify: the stack's own when `AlarmTopicArn` is empty, else it.
fn alarm_topic() -> Value {
    json!({ "Fn::If": ["CreateAlarmTopic", { "Ref": "AlarmTopic" }, { "Ref": "AlarmTopicArn" }] })
}

/// The dead-letter queues: those a queue's redrive policy names, and those an event source
/// mapping sends what it gave up on to (`DestinationConfig.OnFailure`).
fn dead_letter_queues(template: &Value) -> BTreeSet<&str> {
    let mut queues: BTreeSet<&str> = resources_of_type(template, "AWS::SQS::Queue")
        .values()
        .filter_map(|q| arn_of(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .collect();
    on_failure_destinations(&template["Resources"], &mut queues);
    queues
}

fn on_failure_destinations<'a>(v: &'a Value, into: &mut BTreeSet<&'a str>) {
    match v {
        Value::Object(map) => {
            if let Some(queue) = map.get("OnFailure").and_then(|f| arn_of(&f["Destination"])) {
                into.insert(queue);
            }
            map.values().for_each(|v| on_failure_destinations(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| on_failure_destinations(v, into)),
        _ => {}
    }
}

/// An `AWS/SQS` metric's queue: the dead-letter queue a `QueueName` names, by logical id.
fn queue_named(value: &Value) -> Option<&str> {
    let parts = value.get("Fn::GetAtt")?.as_array()?;
    (parts.len() == 2 && parts[1] == "QueueName")
        .then(|| parts[0].as_str())
        .flatten()
}

#[test]
fn every_alarm_watches_an_emitted_metric_and_notifies_the_topic() {
    let template = yaml("template.yaml");
    let alarms = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    let emitted = emitted();
    let dlqs = dead_letter_queues(&template);
    assert!(
        !dlqs.is_empty(),
        "the payouts queue has a dead-letter queue"
    );
    let mut watched = BTreeSet::new();
    let mut watched_queues = BTreeSet::new();
    for (id, alarm) in &alarms {
        let p = &alarm["Properties"];
        assert_eq!(
            p["AlarmActions"],
            json!([alarm_topic()]),
            "{id}: AlarmActions"
        );
        assert_eq!(
            p["TreatMissingData"], "notBreaching",
            "{id}: no traffic is no alarm"
        );
        let description = p["AlarmDescription"].as_str().unwrap_or_default();
        assert!(
            description.len() > 80 && description.len() <= 1024,
            "{id}: the description says what it means and what to do, within CloudWatch's 1024"
        );
        let metric = p["MetricName"].as_str().expect("MetricName");
        let dimensions = p["Dimensions"].as_array().expect("Dimensions");
        if p["Namespace"] == "AWS/SQS" {
            assert_eq!(metric, "ApproximateNumberOfMessagesVisible", "{id}");
            let queue = dimensions
                .iter()
                .find(|d| d["Name"] == "QueueName")
                .and_then(|d| queue_named(&d["Value"]))
                .unwrap_or_else(|| panic!("{id}: QueueName: !GetAtt <queue>.QueueName"));
            assert!(
                dlqs.contains(queue),
                "{id}: {queue} is not a dead-letter queue"
            );
            watched_queues.insert(queue);
            continue;
        }
        assert_eq!(
            reference(&p["Namespace"]),
            Some("MetricsNamespace"),
            "{id}: the functions' namespace"
        );
        assert!(
            emitted.contains(metric),
            "{id}: {metric} is not a metric the code emits ({emitted:?})"
        );
        assert_eq!(
            dimensions.as_slice(),
            [json!({ "Name": "Service", "Value": { "Ref": "AWS::StackName" } })],
            "{id}: the [Service] dimension set, the stack's name"
        );
        watched.insert(metric);
    }
    for metric in [
        "NonceReused",
        "SignatureInvalid",
        "RequestStale",
        "AttemptSuperseded",
        "ServerErrors",
        "LedgerViolations",
    ] {
        assert!(watched.contains(metric), "no alarm on {metric}");
    }
    assert_eq!(watched_queues, dlqs, "an alarm per dead-letter queue");
}

#[test]
fn the_alarm_topic_is_the_given_one_or_the_stacks_own() {
    let template = yaml("template.yaml");
    let parameter = &template["Parameters"]["AlarmTopicArn"];
    assert_eq!(parameter["Default"], "", "deployable without a topic");
    assert_eq!(
        template["Conditions"]["CreateAlarmTopic"],
        json!({ "Fn::Equals": [{ "Ref": "AlarmTopicArn" }, ""] })
    );
    let topic = &template["Resources"]["AlarmTopic"];
    assert_eq!(topic["Type"], "AWS::SNS::Topic");
    assert_eq!(topic["Condition"], "CreateAlarmTopic");
    assert_eq!(template["Outputs"]["AlarmTopicArn"]["Value"], alarm_topic());
    let operations = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        .as_array()
        .expect("ParameterGroups")
        .iter()
        .find(|g| g["Label"]["default"] == "Operations")
        .expect("an Operations parameter group");
    for (name, p) in template["Parameters"].as_object().expect("Parameters") {
        if name.ends_with("AlarmThreshold") || name == "AlarmTopicArn" {
            assert!(
                as_list(&operations["Parameters"]).contains(&&json!(name)),
                "{name} is in the Operations group"
            );
            assert!(p["Description"].is_string(), "{name}");
        }
    }
}

/// The dashboard body with every `${...}` of its `!Sub` replaced by a placeholder: `$NAME`.
fn dashboard_body(template: &Value) -> Value {
    let dashboards = resources_of_type(template, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let body = dashboards.values().next().unwrap()["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("DashboardBody: !Sub of a JSON string");
    let mut out = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').expect("a closed ${...}");
        out.push_str(&rest[..start]);
        out.push('$');
        out.push_str(&rest[start + 2..end]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}"))
}

/// What a SEARCH expression reads: its namespace, dimension names, metric and Service value.
fn search_terms(expression: &str) -> (Vec<&str>, &str, &str) {
    let schema = expression
        .split_once('{')
        .and_then(|(_, s)| s.split_once('}'))
        .map(|(s, _)| s.split(',').map(str::trim).collect())
        .unwrap_or_else(|| panic!("SEARCH('{{namespace,dimensions}} …'): {expression}"));
    let term = |name: &str| {
        let start = expression
            .find(&format!("{name}=\""))
            .unwrap_or_else(|| panic!("{name}=\"…\" in {expression}"))
            + name.len()
            + 2;
        let len = expression[start..].find('"').expect("a closing quote");
        &expression[start..start + len]
    };
    (schema, term("MetricName"), term("Service"))
}

#[test]
fn every_dashboard_widget_shows_an_emitted_metric_of_this_stack() {
    let template = yaml("template.yaml");
    let body = dashboard_body(&template);
    let emitted = emitted();
    let dlqs = dead_letter_queues(&template);
    let mut shown = BTreeSet::new();
    let widgets = body["widgets"].as_array().expect("widgets");
    for widget in widgets {
        let title = widget["properties"]["title"].as_str().expect("a title");
        assert_eq!(widget["properties"]["region"], "$AWS::Region", "{title}");
        let metrics = widget["properties"]["metrics"].as_array().expect("metrics");
        assert!(!metrics.is_empty(), "{title}");
        for line in metrics {
            let line = line.as_array().expect("a metric line");
            if let Some(expression) = line[0]["expression"].as_str() {
                let (schema, metric, service) = search_terms(expression);
                assert_eq!(schema[0], "$MetricsNamespace", "{title}: {expression}");
                assert!(schema.contains(&"Service"), "{title}: {expression}");
                assert!(emitted.contains(metric), "{title}: {metric} is not emitted");
                assert_eq!(service, "$AWS::StackName", "{title}: {expression}");
                shown.insert(metric.to_owned());
                continue;
            }
            let text: Vec<&str> = line.iter().filter_map(Value::as_str).collect();
            match text.as_slice() {
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue] => {
                    let queue = queue
                        .strip_prefix('$')
                        .and_then(|q| q.strip_suffix(".QueueName"))
                        .unwrap_or_else(|| panic!("{title}: {queue} is not a queue's name"));
                    assert!(
                        dlqs.contains(queue),
                        "{title}: {queue} is not a dead-letter queue"
                    );
                    shown.insert(format!("dead letters of {queue}"));
                }
                [namespace, metric, dimensions @ ..] => {
                    assert_eq!(*namespace, "$MetricsNamespace", "{title}: {line:?}");
                    assert!(emitted.contains(metric), "{title}: {metric} is not emitted");
                    assert_eq!(
                        dimensions,
                        ["Service", "$AWS::StackName"],
                        "{title}: {metric} on the [Service] dimension set"
                    );
                    shown.insert((*metric).to_owned());
                }
                _ => panic!("{title}: not a metric line: {line:?}"),
            }
        }
    }
    for metric in replaysafe::metrics::METRIC_NAMES
        .iter()
        .chain(payments::metrics::METRIC_NAMES)
    {
        assert!(
            shown.contains(*metric),
            "the dashboard does not show {metric}"
        );
    }
    for queue in dlqs {
        assert!(
            shown.contains(&format!("dead letters of {queue}")),
            "{queue}"
        );
    }
}

#[test]
fn every_function_is_told_the_metrics_namespace_and_its_service() {
    let template = yaml("template.yaml");
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        reference(&globals["METRICS_NAMESPACE"]),
        Some("MetricsNamespace")
    );
    assert_eq!(
        reference(&globals["METRICS_SERVICE"]),
        Some("AWS::StackName")
    );
    for f in functions(&template) {
        let own = &f_properties(&template, f.id)["Environment"]["Variables"];
        for var in ["METRICS_NAMESPACE", "METRICS_SERVICE"] {
            assert!(
                own[var].is_null(),
                "{}: its own {var} would split its metrics from the alarms'",
                f.id
            );
        }
    }
}
