//! What we deploy agrees with the code: `template.yaml` against the tables the local bootstrap
//! creates (`TABLE_SPECS`) and against the DynamoDB calls each function makes; the routes of
//! `openapi.yaml`, `template.yaml` and the cargo-lambda router in `Cargo.toml`; and every event
//! in `events/`, signed as `replaysafe sign-event` signs it, through its real handler; the
//! consumers' queues, dead-letter queues and event source mappings against the contract; the
//! ledger auditor's streams. What `make endpoints` derives from the endpoint, consumer and
//! stream consumer tables (`payments/src/routes.rs`) is fresh.

use replaysafe::store::grants::GUARD_KMS_GRANTS;
use replaysafe::store::sealing::KMS_ENCRYPTION_CONTEXT;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::operation::{
    delete_item::DeleteItemInput, get_item::GetItemInput, put_item::PutItemInput,
    transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;

use lambda_http::aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::Request;
use payments::routes::{Grant, Row, CONSUMERS, ENDPOINTS, STREAM_CONSUMERS};
use payments::store::create_all_tables;
use payments::{Payments, PaymentsError, PaymentsTables, Payouts};
use replaysafe::lease::LeaseTerms;
use replaysafe::store::schema::{TableSpec, TABLE_SPECS};
use replaysafe::store::sdk_client;
use replaysafe::{Clock, GuardError, Tables};
use replaysafe_client::events::{sign_event, EventEdits};
use replaysafe_signing::random_nonce;
use replaysafe_tests::{endpoint, guard_on, Answer, TestApp, TestClient};
use serde_json::{json, Value};
use xtask::endpoints::{
    yaml_to_json, BATCH_SIZE, FUNCTION_ENVIRONMENT, MAX_RECEIVE_COUNT, QUEUE_RETENTION_SECONDS,
    SQS_ACTIONS, STREAM_ACTIONS,
};

#[path = "deploy/alarms.rs"]
mod alarms;

/// The env var that names each table, as `shared/src/config.rs` and `payments/src/store`
/// read them, in `TABLE_SPECS` order (the guard's, then the app's).
const TABLE_ENV: [(&str, &str); 8] = [
    ("CLIENTS_TABLE", "clients"),
    ("IDEMPOTENCY_TABLE", "idempotency"),
    ("NONCES_TABLE", "nonces"),
    ("ACCOUNTS_TABLE", "accounts"),
    ("TRANSFERS_TABLE", "transfers"),
    ("PAYOUTS_TABLE", "payouts"),
    ("WITHDRAWALS_TABLE", "withdrawals"),
    ("AUDIT_TABLE", "ledger-audit"),
];

/// Every table the deployed app uses, with its spec, under `prefix`.
fn all_specs(tables: &(Tables, PaymentsTables)) -> Vec<(&str, TableSpec<'_>)> {
    let mut all = tables.0.specs().to_vec();
    all.extend(tables.1.specs());
    all
}

/// The function of `name`'s row in the endpoint table.
fn row(name: &str) -> &'static Row {
    ENDPOINTS
        .iter()
        .find(|r| r.function == name)
        .unwrap_or_else(|| panic!("no row for function {name} in payments/src/routes.rs"))
}

/// Every function of the stack: each row's of the endpoint table, then each consumer's, then
/// each stream consumer's.
fn all_functions() -> Vec<&'static str> {
    ENDPOINTS
        .iter()
        .map(|r| r.function)
        .chain(CONSUMERS.iter().map(|c| c.function))
        .chain(STREAM_CONSUMERS.iter().map(|c| c.function))
        .collect()
}

/// The DynamoDB actions each function's code makes, on which table (by logical name), as its
/// row says: the guard's (every request reads its key, may record the key's use and consumes
/// its nonce; a POST reads
/// its idempotency record and claims the key inside its transaction, see `shared/src/store/`),
/// then the handler's own; a consumer's, as its row in the consumer table says.
fn expected_grants(function: &str) -> Grants {
    let consumer = CONSUMERS
        .iter()
        .map(|c| (c.function, c.grants))
        .chain(STREAM_CONSUMERS.iter().map(|c| (c.function, c.grants)))
        .find(|(f, _)| *f == function);
    let grants: Vec<Grant> = match consumer {
        Some((_, grants)) => grants.to_vec(),
        None => row(function).all_grants(),
    };
    grants
        .into_iter()
        .flat_map(|g| {
            g.actions
                .iter()
                .map(move |a| (g.table.to_owned(), format!("dynamodb:{a}")))
        })
        .collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A YAML file as JSON, CloudFormation short forms (`!Ref`, `!GetAtt`, `!Sub`) in their long
/// forms, so either spelling in the template reads the same.
fn yaml(relative: &str) -> Value {
    yaml_to_json(&read(relative)).unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"))
}

fn reference(v: &Value) -> Option<&str> {
    v.get("Ref")?.as_str()
}

/// The resource whose `Arn` `v` is (`!GetAtt X.Arn`).
fn arn_of(v: &Value) -> Option<&str> {
    attribute_of(v, "Arn")
}

/// The table whose stream's ARN `v` is (`!GetAtt X.StreamArn`).
fn stream_of(v: &Value) -> Option<&str> {
    attribute_of(v, "StreamArn")
}

fn attribute_of<'a>(v: &'a Value, attribute: &str) -> Option<&'a str> {
    let parts = v.get("Fn::GetAtt")?.as_array()?;
    (parts.len() == 2 && parts[1] == attribute)
        .then(|| parts[0].as_str())
        .flatten()
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str(), r))
        .collect()
}

/// Table logical ids by the env var that names them (from `Globals.Function.Environment`).
fn tables_by_env(template: &Value) -> BTreeMap<&str, &str> {
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    TABLE_ENV
        .iter()
        .map(|(var, _)| {
            let id = reference(&env[*var])
                .unwrap_or_else(|| panic!("Globals: {var} must be !Ref to its table"));
            (*var, id)
        })
        .collect()
}

/// A serverless function: its binary, its routes (method, path), the queues it consumes
/// (logical ids), the tables whose streams it reads and the queues their failed batches go to
/// (logical ids), its role.
#[derive(Debug)]
struct Function<'a> {
    id: &'a str,
    binary: String,
    routes: Vec<(String, String)>,
    queues: Vec<&'a str>,
    streams: Vec<&'a str>,
    failure_queues: BTreeSet<&'a str>,
    role: &'a str,
}

fn functions(template: &Value) -> Vec<Function<'_>> {
    resources_of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, f)| {
            assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
            let binary = f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: Metadata.BuildProperties.Binary"))
                .to_owned();
            let p = &f["Properties"];
            assert_eq!(p["CodeUri"], format!("functions/{binary}"), "{id}");
            let routes = p["Events"]
                .as_object()
                .map(|events| {
                    events
                        .values()
                        .filter(|e| e["Type"] == "HttpApi")
                        .map(|e| {
                            let e = &e["Properties"];
                            assert_eq!(reference(&e["ApiId"]), Some("Api"), "{id}: ApiId");
                            assert_eq!(e["PayloadFormatVersion"], "2.0", "{id}");
                            let method = e["Method"].as_str().expect("Method").to_uppercase();
                            (method, e["Path"].as_str().expect("Path").to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            let queues = p["Events"]
                .as_object()
                .into_iter()
                .flat_map(|events| events.values())
                .filter(|e| e["Type"] == "SQS")
                .map(|e| {
                    arn_of(&e["Properties"]["Queue"])
                        .unwrap_or_else(|| panic!("{id}: an SQS event's Queue: !GetAtt X.Arn"))
                })
                .collect();
            let stream_events: Vec<&Value> = p["Events"]
                .as_object()
                .into_iter()
                .flat_map(|events| events.values())
                .filter(|e| e["Type"] == "DynamoDB")
                .map(|e| &e["Properties"])
                .collect();
            let streams = stream_events
                .iter()
                .map(|e| {
                    stream_of(&e["Stream"]).unwrap_or_else(|| {
                        panic!("{id}: a DynamoDB event's Stream: !GetAtt X.StreamArn")
                    })
                })
                .collect();
            let failure_queues = stream_events
                .iter()
                .filter_map(|e| arn_of(&e["DestinationConfig"]["OnFailure"]["Destination"]))
                .collect();
            let role = arn_of(&p["Role"]).unwrap_or_else(|| panic!("{id}: Role: !GetAtt X.Arn"));
            Function {
                id,
                binary,
                routes,
                queues,
                streams,
                failure_queues,
                role,
            }
        })
        .collect()
}

#[tokio::test]
async fn template_tables_match_the_local_bootstrap() {
    let template = yaml("template.yaml");
    let logicals: Vec<&str> = TABLE_SPECS
        .iter()
        .chain(&payments::store::TABLE_SPECS)
        .map(|s| s.logical)
        .collect();
    let env_logicals: Vec<&str> = TABLE_ENV.iter().map(|(_, l)| *l).collect();
    assert_eq!(env_logicals, logicals, "TABLE_ENV follows TABLE_SPECS");

    // What the local bootstrap (`replaysafe admin create-tables`, the tests) really creates.
    let client = sdk_client(Some(&endpoint())).await;
    let prefix = format!("deploy{}-", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let tables = (
        Tables::with_prefix(&prefix),
        PaymentsTables::with_prefix(&prefix),
    );
    create_all_tables(&client, &tables.0, &tables.1)
        .await
        .expect("create tables");

    let by_env = tables_by_env(&template);
    let declared = resources_of_type(&template, "AWS::DynamoDB::Table");
    let referenced: BTreeSet<&str> = by_env.values().copied().collect();
    assert_eq!(
        declared.keys().copied().collect::<BTreeSet<_>>(),
        referenced,
        "every table in template.yaml is named by one env var, and only those"
    );

    for ((var, logical), (name, spec)) in TABLE_ENV.iter().zip(all_specs(&tables)) {
        assert_eq!(*logical, spec.logical);
        let id = by_env[var];
        let table = &declared[id];
        let p = &table["Properties"];
        let what = format!("{id} ({var})");

        // The template's side.
        assert_eq!(
            p["TableName"],
            json!({ "Fn::Sub": format!("${{AWS::StackName}}-{logical}") }),
            "{what}: named <stack>-{logical}, so --table-prefix <stack>- finds it"
        );
        assert_eq!(
            p["KeySchema"],
            json!([{ "AttributeName": spec.partition_key, "KeyType": "HASH" }]),
            "{what}: key schema"
        );
        assert_eq!(
            p["AttributeDefinitions"],
            json!([{ "AttributeName": spec.partition_key, "AttributeType": "S" }]),
            "{what}: attribute definitions"
        );
        let ttl = &p["TimeToLiveSpecification"];
        match spec.ttl_attribute {
            Some(attribute) => assert_eq!(
                ttl,
                &json!({ "AttributeName": attribute, "Enabled": true }),
                "{what}: TTL"
            ),
            None => assert!(ttl.is_null(), "{what}: no TTL in TABLE_SPECS"),
        }
        for index in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
            assert!(p[index].is_null(), "{what}: {index} (TABLE_SPECS has none)");
        }
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{what}");
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
            "{what}: PITR"
        );
        assert_eq!(p["SSESpecification"]["SSEEnabled"], true, "{what}: SSE");
        assert_eq!(
            reference(&p["DeletionProtectionEnabled"]),
            Some("DeletionProtection"),
            "{what}: deletion protection is a parameter"
        );
        assert_eq!(table["UpdateReplacePolicy"], "Retain", "{what}");

        // The bootstrap's side, as DynamoDB describes it.
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .expect("describe table");
        let t = described.table().expect("table description");
        let keys: Vec<(String, String)> = t
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![(spec.partition_key.to_owned(), "HASH".to_owned())],
            "{name}: key schema"
        );
        let attributes: Vec<(String, String)> = t
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_owned(),
                    a.attribute_type().as_str().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            attributes,
            vec![(spec.partition_key.to_owned(), "S".to_owned())],
            "{name}: attributes"
        );
        assert!(t.global_secondary_indexes().is_empty(), "{name}: GSIs");
        assert!(t.local_secondary_indexes().is_empty(), "{name}: LSIs");
        let ttl = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .expect("describe TTL");
        let ttl_attribute = ttl
            .time_to_live_description()
            .filter(|d| {
                d.time_to_live_status().map(|s| s.as_str()) == Some("ENABLED")
                    || d.time_to_live_status().map(|s| s.as_str()) == Some("ENABLING")
            })
            .and_then(|d| d.attribute_name());
        assert_eq!(ttl_attribute, spec.ttl_attribute, "{name}: TTL");
    }

    for (name, _) in all_specs(&tables) {
        let _ = client.delete_table().table_name(name).send().await;
    }
}

/// The router `cargo lambda watch` serves, as `cargo metadata` reads Cargo.toml.
fn watch_router() -> BTreeSet<(String, String, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(root().join("Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let router = metadata["metadata"]["lambda"]["watch"]["router"]
        .as_object()
        .expect("[workspace.metadata.lambda.watch.router] in Cargo.toml");
    router
        .iter()
        .flat_map(|(path, routes)| {
            routes
                .as_array()
                .expect("a list of routes")
                .iter()
                .map(|r| {
                    (
                        r["method"].as_str().expect("method").to_uppercase(),
                        path.clone(),
                        r["function"].as_str().expect("function").to_owned(),
                    )
                })
        })
        .collect()
}

/// Everything `make endpoints` derives from the endpoint table and `openapi.yaml` is as it
/// would write it: the function packages, the router in `Cargo.toml`, the generated regions of
/// `template.yaml`, the events; and nothing is left over from a removed row.
#[test]
fn generated_files_are_fresh() {
    let stale = xtask::endpoints::stale(&root())
        .unwrap_or_else(|e| panic!("make endpoints cannot derive the deployment: {e}"));
    assert!(
        stale.is_empty(),
        "out of date with the endpoint table (payments/src/routes.rs) or openapi.yaml: run \
         `make endpoints`\n  {}",
        stale.join("\n  ")
    );
}

#[test]
fn routes_agree_across_openapi_template_and_router() {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let openapi = yaml("openapi.yaml");
    let documented: BTreeSet<(String, String)> = openapi["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_uppercase(), path.clone()))
        })
        .collect();

    let template = yaml("template.yaml");
    let deployed: BTreeSet<(String, String, String)> = functions(&template)
        .into_iter()
        .filter(|f| f.queues.is_empty() && f.streams.is_empty())
        .flat_map(|f| {
            assert_eq!(f.routes.len(), 1, "{}: one route per HTTP function", f.id);
            f.routes
                .into_iter()
                .map(move |(m, p)| (m, p, f.binary.clone()))
        })
        .collect();

    let served = watch_router();
    assert_eq!(deployed, served, "template.yaml vs the cargo-lambda router");
    let routes = |set: &BTreeSet<(String, String, String)>| -> BTreeSet<(String, String)> {
        set.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect()
    };
    assert_eq!(
        routes(&deployed),
        documented,
        "template.yaml vs openapi.yaml"
    );
    let table: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|r| (r.method.to_owned(), r.route.to_owned()))
        .collect();
    assert_eq!(
        documented, table,
        "openapi.yaml's paths vs the endpoint table (payments/src/routes.rs): each row's path is \
         documented in openapi.yaml, and only those"
    );

    // Each function is a workspace member, and has its sample event for the same route.
    for (method, path, function) in &deployed {
        assert!(
            root()
                .join("functions")
                .join(function)
                .join("Cargo.toml")
                .exists(),
            "functions/{function}"
        );
        let event: Value =
            serde_json::from_str(&read(&format!("events/{function}.json"))).expect("event JSON");
        assert_eq!(
            event["routeKey"],
            format!("{method} {path}"),
            "events/{function}.json"
        );
        assert_eq!(event["requestContext"]["stage"], "$default");
    }

    // Each consumer likewise, with an SQS event whose record is a message of its queue.
    for consumer in CONSUMERS {
        let f = consumer.function;
        assert!(
            root().join("functions").join(f).join("Cargo.toml").exists(),
            "functions/{f}"
        );
        let event: Value =
            serde_json::from_str(&read(&format!("events/{f}.json"))).expect("event JSON");
        let records = event["Records"].as_array().expect("an SQS event's Records");
        assert_eq!(records.len(), 1, "events/{f}.json: one record");
        assert_eq!(records[0]["eventSource"], "aws:sqs", "events/{f}.json");
        assert!(
            records[0]["body"].is_string(),
            "events/{f}.json: the body is the message's JSON text"
        );
    }
}

#[test]
fn every_function_role_grants_exactly_what_its_code_uses() {
    let template = yaml("template.yaml");
    let resources = template["Resources"].as_object().expect("Resources");
    let table_logical: BTreeMap<&str, &str> = tables_by_env(&template)
        .into_iter()
        .map(|(var, id)| {
            let logical = TABLE_ENV.iter().find(|(v, _)| *v == var).unwrap().1;
            (id, logical)
        })
        .collect();

    // No wildcard anywhere: not as a resource, not in an action.
    for (id, resource) in resources {
        let statements: Vec<&Value> = match resource["Type"].as_str() {
            Some("AWS::IAM::Role") => resource["Properties"]["Policies"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| as_list(&p["PolicyDocument"]["Statement"]))
                .collect(),
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy") => {
                as_list(&resource["Properties"]["PolicyDocument"]["Statement"])
            }
            Some("AWS::Serverless::Function") => {
                assert!(
                    resource["Properties"]["Policies"].is_null(),
                    "{id}: permissions belong in its own role"
                );
                continue;
            }
            _ => continue,
        };
        for s in statements {
            assert_eq!(s["Effect"], "Allow", "{id}");
            for action in as_list(&s["Action"]) {
                let action = action.as_str().expect("an action name");
                assert!(!action.contains('*'), "{id}: wildcard action {action}");
            }
            for r in as_list(&s["Resource"]) {
                assert!(
                    !r.as_str().is_some_and(|r| r.contains('*')),
                    "{id}: wildcard resource {r}"
                );
            }
            assert!(
                s["NotAction"].is_null() && s["NotResource"].is_null(),
                "{id}"
            );
        }
    }

    let functions = functions(&template);
    assert_eq!(
        functions
            .iter()
            .map(|f| f.binary.as_str())
            .collect::<BTreeSet<_>>(),
        all_functions().into_iter().collect(),
        "one function per row of the endpoint and consumer tables: run `make endpoints`"
    );
    let mut roles = BTreeSet::new();
    for f in &functions {
        assert!(roles.insert(f.role), "{}: a role of its own", f.id);
        let role = &resources[f.role];
        assert_eq!(role["Type"], "AWS::IAM::Role", "{}", f.role);
        assert_eq!(
            role["Properties"]["ManagedPolicyArns"],
            Value::Null,
            "{}: no managed policies (they grant on *)",
            f.role
        );
        let log_group = reference(&f_properties(&template, f.id)["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{}: LoggingConfig.LogGroup", f.id))
            .to_owned();
        let mut dynamodb = BTreeSet::new();
        let mut sqs = BTreeSet::new();
        let mut kms = BTreeSet::new();
        let mut streams = BTreeSet::new();
        for policy in role["Properties"]["Policies"].as_array().expect("Policies") {
            for s in as_list(&policy["PolicyDocument"]["Statement"]) {
                // A stream's grants: what Lambda's event source mapping calls on it.
                let read = as_list(&s["Resource"]).into_iter().filter_map(stream_of);
                for table in read.collect::<Vec<_>>() {
                    assert!(
                        f.streams.contains(&table),
                        "{}: a stream it does not read",
                        f.role
                    );
                    for action in as_list(&s["Action"]) {
                        streams.insert((table.to_owned(), action.as_str().unwrap().to_owned()));
                    }
                }
                let resources: Vec<&str> = as_list(&s["Resource"])
                    .into_iter()
                    .filter(|r| stream_of(r).is_none())
                    .map(|r| arn_of(r).unwrap_or_else(|| panic!("{}: resource {r}", f.role)))
                    .collect();
                for action in as_list(&s["Action"]) {
                    let action = action.as_str().unwrap();
                    for resource in &resources {
                        if let Some(logical) = table_logical.get(resource) {
                            dynamodb.insert((logical.to_string(), action.to_owned()));
                        } else if action.starts_with("kms:") {
                            assert_eq!(
                                *resource, "SecretsKey",
                                "{}: {action} on {resource}, not the secrets key",
                                f.role
                            );
                            // Only for the data key: not any ciphertext of the key.
                            let (name, value) = KMS_ENCRYPTION_CONTEXT;
                            assert_eq!(
                                s["Condition"]["StringEquals"]
                                    [format!("kms:EncryptionContext:{name}")],
                                value,
                                "{}: {action} without the data key's encryption context",
                                f.role
                            );
                            kms.insert(action.to_owned());
                        } else if action.starts_with("sqs:") {
                            assert!(
                                f.queues.contains(resource) || f.failure_queues.contains(resource),
                                "{}: {action} on {resource}, not a queue it consumes or \
                                 describes failed batches on",
                                f.role
                            );
                            sqs.insert((resource.to_string(), action.to_owned()));
                        } else {
                            assert_eq!(
                                *resource, log_group,
                                "{}: {action} on {resource}, not its own log group",
                                f.role
                            );
                            assert!(
                                ["logs:CreateLogStream", "logs:PutLogEvents"].contains(&action),
                                "{}: {action} on its log group",
                                f.role
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(dynamodb, expected_grants(&f.binary), "{}", f.role);
        // What Lambda's event source mapping needs on each queue it reads, with this role.
        // And sends the description of a batch that kept failing to its on-failure queue.
        let wanted: BTreeSet<(String, String)> = f
            .queues
            .iter()
            .flat_map(|q| SQS_ACTIONS.map(|a| (q.to_string(), a.to_owned())))
            .chain(
                f.failure_queues
                    .iter()
                    .map(|q| (q.to_string(), "sqs:SendMessage".to_owned())),
            )
            .collect();
        assert_eq!(sqs, wanted, "{}: SQS actions", f.role);
        let wanted: BTreeSet<(String, String)> = f
            .streams
            .iter()
            .flat_map(|t| STREAM_ACTIONS.map(|a| (t.to_string(), a.to_owned())))
            .collect();
        assert_eq!(streams, wanted, "{}: stream actions", f.role);
        // Every HTTP function verifies signatures, so opens the data key: Decrypt, nothing
        // more; a consumer verifies none, so has nothing on the key.
        let wanted: BTreeSet<String> = match ENDPOINTS.iter().all(|r| r.function != f.binary) {
            true => BTreeSet::new(),
            false => GUARD_KMS_GRANTS
                .iter()
                .flat_map(|g| g.actions.iter().map(|a| format!("kms:{a}")))
                .collect(),
        };
        assert_eq!(kms, wanted, "{}: KMS actions", f.role);
    }
}

#[test]
fn every_function_seals_secrets_under_the_stacks_kms_key() {
    let template = yaml("template.yaml");
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        reference(&globals["SECRETS_DATA_KEY"]),
        Some("SecretsDataKey"),
        "every function gets the data key"
    );
    // No function may run on the development key: nothing sets SECRETS_MODE.
    let text = read("template.yaml");
    assert!(
        !text.contains("SECRETS_MODE:"),
        "SECRETS_MODE in template.yaml"
    );
    for f in functions(&template) {
        let vars = &f_properties(&template, f.id)["Environment"]["Variables"];
        assert!(
            vars["SECRETS_DATA_KEY"].is_null() && vars["SECRETS_MODE"].is_null(),
            "{}: the data key is the stack's, from Globals",
            f.id
        );
    }
    let key = &template["Resources"]["SecretsKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(
        key["DeletionPolicy"], "Retain",
        "losing it loses every secret"
    );
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    assert_eq!(key["Properties"]["KeySpec"], "SYMMETRIC_DEFAULT");
    // The key policy only lets the account's IAM policies grant it (the AWS default): what a
    // function may do with it is its role's, which the role test checks.
    let statements = as_list(&key["Properties"]["KeyPolicy"]["Statement"]);
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Sid"], "AccountIamPoliciesGrantIt");
    let parameter = &template["Parameters"]["SecretsDataKey"];
    assert_eq!(parameter["Type"], "String");
}

fn f_properties<'a>(template: &'a Value, id: &str) -> &'a Value {
    &template["Resources"][id]["Properties"]
}

#[test]
fn the_functions_are_configured_for_the_contract() {
    let template = yaml("template.yaml");
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(
        globals["Architectures"],
        json!([{ "Ref": "Architecture" }]),
        "the architecture is a parameter"
    );
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "arm64");
    let memory = globals["MemorySize"].as_u64().expect("MemorySize");
    assert!((128..=256).contains(&memory), "modest memory: {memory}");
    let timeout = globals["Timeout"].as_u64().expect("Timeout");
    assert!(timeout <= 15, "short timeout: {timeout}");
    let env = &globals["Environment"]["Variables"];
    assert_eq!(
        env["FUNCTION_TIMEOUT_SECONDS"].as_str(),
        Some(timeout.to_string().as_str()),
        "the guard's time budget is the function's Timeout"
    );
    for (var, parameter) in [
        ("REPLAY_WINDOW_SECONDS", "ReplayWindowSeconds"),
        ("IDEMPOTENCY_TTL_SECONDS", "IdempotencyTtlSeconds"),
        ("CLIENT_CACHE_SECONDS", "ClientCacheSeconds"),
    ] {
        assert_eq!(reference(&env[var]), Some(parameter), "{var}");
        assert!(template["Parameters"][parameter].is_object(), "{parameter}");
    }
    for f in functions(&template) {
        let p = f_properties(&template, f.id);
        // SAM merges a function's variables into Globals': it may add what only it reads, and
        // a consumer sets its queue's retention and the idempotency TTL that outlives it.
        let own: BTreeSet<&str> = p["Environment"]["Variables"]
            .as_object()
            .into_iter()
            .flat_map(|v| v.keys().map(String::as_str))
            .collect();
        let mut allowed: BTreeSet<&str> = FUNCTION_ENVIRONMENT
            .iter()
            .filter(|(function, _, _)| *function == f.binary)
            .map(|(_, var, _)| *var)
            .collect();
        if !f.queues.is_empty() {
            allowed.extend(["QUEUE_RETENTION_SECONDS", "IDEMPOTENCY_TTL_SECONDS"]);
        }
        assert!(
            own.is_subset(&allowed),
            "{}: its own Environment sets {own:?}; only {allowed:?} may differ from Globals",
            f.id
        );
        assert_eq!(p["LoggingConfig"]["LogFormat"], "JSON", "{}", f.id);
    }

    let api = &template["Resources"]["Api"];
    assert_eq!(api["Type"], "AWS::Serverless::HttpApi");
    assert_eq!(api["Properties"]["StageName"], "$default");
    let throttling = &api["Properties"]["DefaultRouteSettings"];
    assert_eq!(
        reference(&throttling["ThrottlingBurstLimit"]),
        Some("ThrottlingBurstLimit")
    );
    assert_eq!(
        reference(&throttling["ThrottlingRateLimit"]),
        Some("ThrottlingRateLimit")
    );
    let outputs = template["Outputs"].as_object().expect("Outputs");
    assert!(outputs.contains_key("ApiUrl"));
    for id in tables_by_env(&template).values() {
        assert!(
            outputs.values().any(|o| reference(&o["Value"]) == Some(id)),
            "an output names {id}"
        );
    }
}

/// No combination of the template's parameters deploys a retention shorter than the window
/// needs: the functions would refuse it at cold start.
#[test]
fn the_template_cannot_deploy_a_retention_too_short_for_its_window() {
    let template = yaml("template.yaml");
    let params = &template["Parameters"];
    let number = |name: &str, bound: &str| {
        params[name][bound]
            .as_i64()
            .unwrap_or_else(|| panic!("{name}.{bound} is a number"))
    };
    let widest_window = number("ReplayWindowSeconds", "MaxValue");
    let shortest_ttl = number("IdempotencyTtlSeconds", "MinValue");
    assert!(
        shortest_ttl >= replaysafe::config::min_idempotency_ttl(widest_window),
        "IdempotencyTtlSeconds.MinValue {shortest_ttl} is below the floor for a window of \
         {widest_window} s"
    );
    assert!(
        number("IdempotencyTtlSeconds", "Default") >= shortest_ttl,
        "the default is allowed"
    );
}

/// A number as CloudFormation takes it: a YAML number, or a string of one.
fn number(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{what}: a number, not {v}"))
}

/// Each consumer (contract-modes §2) as its function, event source mapping and queues deploy
/// it: a standard queue, batches of 10 with a partial batch response, a dead-letter queue after
/// 5 receives that keeps a message longer than the queue, a message hidden for 6 × the
/// function's timeout once handed over, and a retention no longer than the consumer's
/// idempotency records live (a message can come back until it ends, and the function refuses
/// to start otherwise). Both queues' URLs are outputs.
#[test]
fn each_consumer_reads_its_queue_as_the_contract_says() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let globals = &template["Globals"]["Function"];
    let functions = functions(&template);
    let outputs = template["Outputs"].as_object().expect("Outputs");
    assert!(!CONSUMERS.is_empty());
    for consumer in CONSUMERS {
        let f = functions
            .iter()
            .find(|f| f.binary == consumer.function)
            .unwrap_or_else(|| panic!("no function for consumer {}", consumer.function));
        let p = f_properties(&template, f.id);
        let events = p["Events"].as_object().expect("Events");
        assert_eq!(events.len(), 1, "{}: one event source, its queue", f.id);
        let event = events.values().next().unwrap();
        assert_eq!(event["Type"], "SQS", "{}", f.id);
        let mapping = &event["Properties"];
        assert_eq!(number(&mapping["BatchSize"], "BatchSize"), 10, "{}", f.id);
        assert_eq!(u64::from(BATCH_SIZE), 10);
        assert_eq!(
            mapping["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"]),
            "{}: a partial batch response, so only the failed records come back",
            f.id
        );
        assert!(f.routes.is_empty(), "{}: no HTTP route", f.id);

        let queue_id = f.queues[0];
        let queue = &resources[queue_id];
        assert_eq!(queue["Type"], "AWS::SQS::Queue", "{queue_id}");
        let q = &queue["Properties"];
        assert!(
            q["FifoQueue"].is_null() || q["FifoQueue"] == false,
            "{queue_id}: a standard queue"
        );
        let redrive = &q["RedrivePolicy"];
        assert_eq!(
            number(&redrive["maxReceiveCount"], "maxReceiveCount"),
            5,
            "{queue_id}: to the dead-letter queue after 5 receives"
        );
        assert_eq!(MAX_RECEIVE_COUNT, 5);
        let dlq_id = arn_of(&redrive["deadLetterTargetArn"])
            .unwrap_or_else(|| panic!("{queue_id}: deadLetterTargetArn: !GetAtt X.Arn"));
        assert_ne!(dlq_id, queue_id);
        let dlq = &resources[dlq_id];
        assert_eq!(dlq["Type"], "AWS::SQS::Queue", "{dlq_id}");

        let retention = number(&q["MessageRetentionPeriod"], "MessageRetentionPeriod");
        let dlq_retention = number(
            &dlq["Properties"]["MessageRetentionPeriod"],
            "the dead-letter queue's MessageRetentionPeriod",
        );
        assert!(
            dlq_retention > retention,
            "{dlq_id}: a message keeps its first enqueue time there, so it must keep messages \
             longer than {queue_id} ({dlq_retention} s vs {retention} s)"
        );
        let timeout = number(
            if p["Timeout"].is_null() {
                &globals["Timeout"]
            } else {
                &p["Timeout"]
            },
            "Timeout",
        );
        let visibility = number(&q["VisibilityTimeout"], "VisibilityTimeout");
        assert!(
            visibility >= 6 * timeout,
            "{queue_id}: VisibilityTimeout {visibility} s under 6 × the function's {timeout} s"
        );

        let env = &p["Environment"]["Variables"];
        assert_eq!(
            number(&env["QUEUE_RETENTION_SECONDS"], "QUEUE_RETENTION_SECONDS"),
            retention,
            "{}: QUEUE_RETENTION_SECONDS is its queue's MessageRetentionPeriod",
            f.id
        );
        let ttl = number(&env["IDEMPOTENCY_TTL_SECONDS"], "IDEMPOTENCY_TTL_SECONDS");
        assert!(
            ttl >= retention,
            "{}: IDEMPOTENCY_TTL_SECONDS {ttl} s is shorter than the queue's retention {retention} \
             s: a message could come back after its key",
            f.id
        );
        let widest_window = template["Parameters"]["ReplayWindowSeconds"]["MaxValue"]
            .as_i64()
            .expect("ReplayWindowSeconds.MaxValue");
        assert!(
            ttl as i64 >= replaysafe::config::min_idempotency_ttl(widest_window),
            "{}: IDEMPOTENCY_TTL_SECONDS under the guard's floor",
            f.id
        );

        for id in [queue_id, dlq_id] {
            assert!(
                outputs.values().any(|o| reference(&o["Value"]) == Some(id)),
                "an output gives {id}'s URL"
            );
        }
    }
}

/// `BankUrl` (contract-modes §3: in AWS the bank's URL is a parameter) reaches the one function
/// that pays the bank, as `BANK_URL`, and no other.
/// The money tables stream their changes with both images, and no other table does; the ledger
/// auditor reads each of those streams with one event source mapping as docs/ledger-auditor.md
/// says: from the oldest record kept, a partial batch response (the first record it could not
/// check), a failing batch bisected and retried a bounded number of times, then described on an
/// on-failure queue that keeps it 14 days and is an output.
#[test]
fn the_ledger_auditor_reads_every_money_tables_stream() {
    let template = yaml("template.yaml");
    let streamed: BTreeSet<&str> = payments::store::STREAMED_TABLES.into_iter().collect();
    let by_env = tables_by_env(&template);
    for (var, logical) in TABLE_ENV {
        let p = f_properties(&template, by_env[var]);
        let stream = &p["StreamSpecification"];
        if streamed.contains(logical) {
            assert_eq!(
                stream,
                &json!({ "StreamViewType": "NEW_AND_OLD_IMAGES" }),
                "{logical}: the auditor reads both images"
            );
        } else {
            assert!(stream.is_null(), "{logical}: nothing reads its stream");
        }
    }
    let outputs = template["Outputs"].as_object().expect("Outputs");
    let functions = functions(&template);
    assert!(!STREAM_CONSUMERS.is_empty());
    for consumer in STREAM_CONSUMERS {
        let f = functions
            .iter()
            .find(|f| f.binary == consumer.function)
            .unwrap_or_else(|| panic!("no function for {}", consumer.function));
        let read: BTreeSet<&str> = f.streams.iter().copied().collect();
        let wanted: BTreeSet<String> = consumer
            .tables
            .iter()
            .map(|t| by_env[TABLE_ENV.iter().find(|(_, l)| l == t).unwrap().0].to_owned())
            .collect();
        assert_eq!(
            read.iter().map(|t| t.to_string()).collect::<BTreeSet<_>>(),
            wanted,
            "{}: one mapping per table it reads",
            f.id
        );
        assert_eq!(
            f.streams.len(),
            read.len(),
            "{}: one mapping per stream",
            f.id
        );
        let events = f_properties(&template, f.id)["Events"]
            .as_object()
            .expect("Events");
        assert!(events.values().all(|e| e["Type"] == "DynamoDB"), "{}", f.id);
        for event in events.values() {
            let m = &event["Properties"];
            assert_eq!(m["StartingPosition"], "TRIM_HORIZON", "{}", f.id);
            assert_eq!(
                m["FunctionResponseTypes"],
                json!(["ReportBatchItemFailures"]),
                "{}",
                f.id
            );
            assert_eq!(m["BisectBatchOnFunctionError"], true, "{}", f.id);
            let retries = number(&m["MaximumRetryAttempts"], "MaximumRetryAttempts");
            assert!((1..=100).contains(&retries), "{}: bounded retries", f.id);
            let queue = arn_of(&m["DestinationConfig"]["OnFailure"]["Destination"])
                .unwrap_or_else(|| panic!("{}: an on-failure destination", f.id));
            let q = &template["Resources"][queue];
            assert_eq!(q["Type"], "AWS::SQS::Queue", "{queue}");
            assert_eq!(
                number(
                    &q["Properties"]["MessageRetentionPeriod"],
                    "MessageRetentionPeriod"
                ),
                14 * 24 * 3600,
                "{queue}"
            );
            assert!(
                outputs
                    .values()
                    .any(|o| reference(&o["Value"]) == Some(queue)),
                "an output names {queue}"
            );
        }
    }
}

#[test]
fn the_bank_url_reaches_only_create_withdrawal() {
    let template = yaml("template.yaml");
    let parameter = &template["Parameters"]["BankUrl"];
    assert_eq!(parameter["Type"], "String");
    assert_eq!(parameter["Default"], "", "deployable without a bank");
    assert!(parameter["Description"].is_string());
    assert!(
        template["Globals"]["Function"]["Environment"]["Variables"]["BANK_URL"].is_null(),
        "Globals would give every function the bank"
    );
    let told: Vec<String> = functions(&template)
        .into_iter()
        .filter(|f| {
            let bank = &f_properties(&template, f.id)["Environment"]["Variables"]["BANK_URL"];
            if bank.is_null() {
                return false;
            }
            assert_eq!(reference(bank), Some("BankUrl"), "{}: BANK_URL", f.id);
            true
        })
        .map(|f| f.binary)
        .collect();
    assert_eq!(told, ["create-withdrawal"]);
}

/// The value of parameter `name`: the one given in `parameters`, else the template's default.
fn parameter_value(template: &Value, parameters: &[(&str, &str)], name: &str) -> String {
    parameters
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| (*v).to_owned())
        .or_else(|| {
            template["Parameters"][name]["Default"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("parameter {name} has no value and no default"))
}

/// The template as CloudFormation reads it for `parameters` (the others at their defaults):
/// each condition evaluated (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`, `Ref`
/// to a parameter), every `Fn::If` replaced by its branch, and `!Ref AWS::NoValue` dropped. Refs
/// in values other than conditions stay as they are.
fn resolved(template: &Value, parameters: &[(&str, &str)]) -> Value {
    let value_of = |name: &str| parameter_value(template, parameters, name);
    let conditions: BTreeMap<String, bool> = template["Conditions"]
        .as_object()
        .map(|all| {
            all.iter()
                .map(|(name, c)| (name.clone(), condition(c, &value_of, template)))
                .collect()
        })
        .unwrap_or_default();
    let mut out = template.clone();
    resolve_ifs(&mut out, &conditions);
    out
}

fn condition(c: &Value, value_of: &dyn Fn(&str) -> String, template: &Value) -> bool {
    let operand = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            other => value_of(reference(other).unwrap_or_else(|| panic!("operand {other}"))),
        }
    };
    let args = |f: &str| {
        c[f].as_array()
            .unwrap_or_else(|| panic!("{f} takes a list: {c}"))
    };
    let (name, _) = c
        .as_object()
        .and_then(|o| o.iter().next())
        .unwrap_or_else(|| panic!("not a condition: {c}"));
    match name.as_str() {
        "Fn::Equals" => operand(&args(name)[0]) == operand(&args(name)[1]),
        "Fn::Not" => !condition(&args(name)[0], value_of, template),
        "Fn::And" => args(name).iter().all(|x| condition(x, value_of, template)),
        "Fn::Or" => args(name).iter().any(|x| condition(x, value_of, template)),
        "Condition" => {
            let other = c["Condition"].as_str().expect("a condition name");
            condition(&template["Conditions"][other], value_of, template)
        }
        other => panic!("condition function {other} is not evaluated here"),
    }
}

fn is_no_value(v: &Value) -> bool {
    reference(v) == Some("AWS::NoValue")
}

fn resolve_ifs(v: &mut Value, conditions: &BTreeMap<String, bool>) {
    if let Some(branches) = v.get("Fn::If").and_then(Value::as_array) {
        let name = branches[0].as_str().expect("Fn::If names a condition");
        let holds = *conditions
            .get(name)
            .unwrap_or_else(|| panic!("Fn::If on an undefined condition {name}"));
        *v = branches[if holds { 1 } else { 2 }].clone();
        resolve_ifs(v, conditions);
        return;
    }
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                resolve_ifs(child, conditions);
            }
            map.retain(|_, child| !is_no_value(child));
        }
        Value::Array(items) => {
            for child in items.iter_mut() {
                resolve_ifs(child, conditions);
            }
            items.retain(|child| !is_no_value(child));
        }
        _ => {}
    }
}

/// Whether the template's rules let a stack with `parameters` be created: every rule whose
/// `RuleCondition` holds has all its assertions true.
fn rules_accept(template: &Value, parameters: &[(&str, &str)]) -> bool {
    let value_of = |name: &str| parameter_value(template, parameters, name);
    template["Rules"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(_, rule)| {
            let applies = rule
                .get("RuleCondition")
                .is_none_or(|c| condition(c, &value_of, template));
            !applies
                || rule["Assertions"]
                    .as_array()
                    .expect("Assertions")
                    .iter()
                    .all(|a| condition(&a["Assert"], &value_of, template))
        })
}

/// `AuthMode` (contract-modes §1): in `jwt` mode every route of the HTTP API has the JWT
/// authorizer (identity source `Authorization`, the stack's issuer and audience), in
/// `signature` mode none has; every function reads `AUTH_MODE`; jwt mode cannot be deployed
/// without an issuer and an audience.
#[test]
fn the_auth_mode_puts_a_jwt_authorizer_on_every_route_and_tells_every_function() {
    let template = yaml("template.yaml");
    let params = &template["Parameters"];
    assert_eq!(params["AuthMode"]["Default"], "signature");
    assert_eq!(
        params["AuthMode"]["AllowedValues"],
        json!(["signature", "jwt"])
    );
    for p in ["JwtIssuer", "JwtAudience"] {
        assert_eq!(params[p]["Type"], "String", "{p}");
    }

    // Every function reads AUTH_MODE: Globals set it, and no function replaces its env.
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(reference(&env["AUTH_MODE"]), Some("AuthMode"));
    let functions = functions(&template);
    assert_eq!(functions.len(), all_functions().len());
    for f in &functions {
        assert!(
            f_properties(&template, f.id)["Environment"]["Variables"]["AUTH_MODE"].is_null(),
            "{}: its own AUTH_MODE would differ from the stack's",
            f.id
        );
    }

    let issuer = ("JwtIssuer", "https://issuer.example.com");
    let audience = ("JwtAudience", "payments");
    for mode in ["signature", "jwt"] {
        let stack = resolved(&template, &[("AuthMode", mode), issuer, audience]);
        let api = &stack["Resources"]["Api"]["Properties"];
        // SAM's Auth would apply in both modes; an event's Auth could take a route out of it.
        assert!(
            api["Auth"].is_null(),
            "{mode}: the authorizer is in DefinitionBody"
        );
        let body = &api["DefinitionBody"];
        let paths = body["paths"].as_object().expect("DefinitionBody.paths");
        let mut declared = BTreeSet::new();
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("a path item") {
                declared.insert((method.to_uppercase(), path.clone()));
                let security = &operation["security"];
                if mode == "jwt" {
                    assert_eq!(
                        *security,
                        json!([{ "JwtAuthorizer": [] }]),
                        "jwt: {method} {path}"
                    );
                } else {
                    assert!(security.is_null(), "signature: {method} {path}: {security}");
                }
            }
        }
        let routes: BTreeSet<(String, String)> = functions
            .iter()
            .filter(|f| f.queues.is_empty())
            .flat_map(|f| {
                let events = f_properties(&stack, f.id)["Events"].as_object().unwrap();
                for e in events.values() {
                    assert!(e["Properties"]["Auth"].is_null(), "{}: event Auth", f.id);
                }
                f.routes.clone()
            })
            .collect();
        assert_eq!(
            declared, routes,
            "{mode}: DefinitionBody.paths vs the functions' routes"
        );

        let scheme = &body["components"]["securitySchemes"]["JwtAuthorizer"];
        if mode == "jwt" {
            assert_eq!(scheme["type"], "oauth2");
            let authorizer = &scheme["x-amazon-apigateway-authorizer"];
            assert_eq!(authorizer["type"], "jwt");
            assert_eq!(
                authorizer["identitySource"],
                "$request.header.Authorization"
            );
            let config = &authorizer["jwtConfiguration"];
            assert_eq!(reference(&config["issuer"]), Some("JwtIssuer"));
            assert_eq!(config["audience"], json!([{ "Ref": "JwtAudience" }]));
        } else {
            assert!(
                body["components"].is_null(),
                "signature: {}",
                body["components"]
            );
        }
    }

    // jwt mode needs both; signature mode needs neither.
    assert!(rules_accept(
        &template,
        &[("AuthMode", "jwt"), issuer, audience]
    ));
    assert!(!rules_accept(&template, &[("AuthMode", "jwt"), audience]));
    assert!(!rules_accept(&template, &[("AuthMode", "jwt"), issuer]));
    assert!(rules_accept(&template, &[("AuthMode", "signature")]));
}

/// `288.0` is an integer to JSON Schema, and the server refuses it where an integer is asked
/// for (tests/tests/api/bad_input.rs): no schema keyword can say so, so each such field's
/// description must, where a client generating requests from the schema reads it.
#[test]
fn openapi_says_integer_fields_take_integer_literals_only() {
    let openapi = yaml("openapi.yaml");
    let schemas = &openapi["components"]["schemas"];
    let balance = &schemas["CreateAccountRequest"]["properties"]["initial_balance"];
    for (name, schema) in [("Amount", &schemas["Amount"]), ("initial_balance", balance)] {
        assert_eq!(schema["type"], "integer", "{name}");
        let description = schema["description"].as_str().unwrap_or_default();
        assert!(
            description.contains("`288.0`") && description.contains("refused"),
            "{name}: the description does not say that 288.0 is refused: {description:?}"
        );
    }
}

/// Every problem code the server can answer with is in openapi.yaml, and nothing else.
#[test]
fn openapi_documents_every_problem_code() {
    use replaysafe::Error;
    use GuardError::*;
    use PaymentsError::{
        AccountExists, BankRefused, BankUnavailable, CurrencyMismatch, InsufficientFunds,
        InvalidJson, ValidationFailed,
    };
    // Matches without a wildcard: a new variant does not compile until it is listed here.
    fn listed_guard(e: &GuardError) -> bool {
        match e {
            BodyTooLarge { .. }
            | NotFound
            | Unauthenticated
            | IdempotencyKeyMissing
            | IdempotencyKeyInvalid
            | SignatureMissing
            | SignatureInvalid(_)
            | UnknownKey
            | DigestMismatch(_)
            | StaleRequest
            | NonceReused
            | RequestInProgress
            | IdempotencyKeyReused
            | AttemptSuperseded
            | Unavailable
            | Internal(_) => true,
            // The codes of RequestInProgress and Unavailable, with a Retry-After of their own.
            LeaseHeld { .. } | Unsettled { .. } => false,
            // Answers again a refusal listed below, with its code; or `internal`.
            Refused(_) | ResponseTooLarge => false,
        }
    }
    fn listed(e: &Error<PaymentsError>) -> bool {
        match e {
            Error::Guard(g) => listed_guard(g),
            Error::App(
                InvalidJson(_)
                | ValidationFailed(_)
                | PaymentsError::NotFound
                | AccountExists
                | CurrencyMismatch
                | InsufficientFunds
                | BankRefused(_)
                | BankUnavailable(_)
                | PaymentsError::Internal(_),
            ) => true,
        }
    }
    let all: Vec<Error<PaymentsError>> = [
        BodyTooLarge { limit: 1 },
        NotFound,
        Unauthenticated,
        IdempotencyKeyMissing,
        IdempotencyKeyInvalid,
        SignatureMissing,
        SignatureInvalid(String::new()),
        UnknownKey,
        DigestMismatch(String::new()),
        StaleRequest,
        NonceReused,
        RequestInProgress,
        IdempotencyKeyReused,
        AttemptSuperseded,
        Unavailable,
        GuardError::internal("any"),
    ]
    .into_iter()
    .map(Error::Guard)
    .chain(
        [
            InvalidJson(String::new()),
            ValidationFailed(String::new()),
            PaymentsError::NotFound,
            AccountExists,
            CurrencyMismatch,
            InsufficientFunds,
            BankRefused(String::new()),
            BankUnavailable(String::new()),
            PaymentsError::Internal("any"),
        ]
        .map(Error::App),
    )
    .collect();
    assert!(all.iter().all(listed));
    let openapi = yaml("openapi.yaml");
    let documented: BTreeSet<&str> = openapi["components"]["schemas"]["Problem"]["properties"]
        ["code"]["enum"]
        .as_array()
        .expect("Problem.code enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let codes: BTreeSet<&str> = all.iter().map(|e| e.code()).collect();
    assert_eq!(documented, codes);
    // Every status the server answers with is listed where it can occur: once at least.
    let text = read("openapi.yaml");
    for e in &all {
        assert!(
            text.contains(&format!("\"{}\":", e.status())),
            "openapi.yaml lists no {} response",
            e.status()
        );
    }
}

/// IAM grants: (table, action).
type Grants = BTreeSet<(String, String)>;

/// The DynamoDB calls made through a client, as the IAM actions they need: (table name,
/// action). A `TransactWriteItems` is authorized item by item, so it counts as its items.
#[derive(Debug, Clone, Default)]
struct CallRecorder {
    calls: Arc<Mutex<Vec<(String, String)>>>,
    /// What each function's invocations needed, by table logical name.
    made: Arc<Mutex<BTreeMap<String, Grants>>>,
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_execution(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = ctx.input();
        let one = |table: Option<&str>, action: &str| {
            vec![(table.unwrap_or_default().to_owned(), action.to_owned())]
        };
        let calls = if let Some(i) = input.downcast_ref::<GetItemInput>() {
            one(i.table_name(), "GetItem")
        } else if let Some(i) = input.downcast_ref::<PutItemInput>() {
            one(i.table_name(), "PutItem")
        } else if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            one(i.table_name(), "UpdateItem")
        } else if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
            one(i.table_name(), "DeleteItem")
        } else if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
            t.transact_items()
                .iter()
                .flat_map(|item| {
                    [
                        item.put().map(|w| (w.table_name(), "PutItem")),
                        item.update().map(|w| (w.table_name(), "UpdateItem")),
                        item.delete().map(|w| (w.table_name(), "DeleteItem")),
                        item.condition_check()
                            .map(|w| (w.table_name(), "ConditionCheckItem")),
                    ]
                })
                .flatten()
                .map(|(table, action)| (table.to_owned(), action.to_owned()))
                .collect()
        } else {
            one(
                None,
                "an operation deploy.rs does not know: teach CallRecorder",
            )
        };
        self.calls.lock().unwrap().extend(calls);
        Ok(())
    }
}

impl CallRecorder {
    /// Files what was called since the last time under `function`.
    fn file_under(&self, function: &str, prefix: &str) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap());
        let mut made = self.made.lock().unwrap();
        let entry = made.entry(function.to_owned()).or_default();
        for (table, action) in calls {
            let logical = table.strip_prefix(prefix).unwrap_or(&table).to_owned();
            entry.insert((logical, format!("dynamodb:{action}")));
        }
    }
}

/// Runs a signed event through the handler its function runs, as the Lambda runtime would
/// hand it over (payload 2.0 JSON into `lambda_http::Request`); `calls` files the DynamoDB
/// calls it made under `function`.
async fn invoke(app: &TestApp, calls: &CallRecorder, function: &str, event: &Value) -> Answer {
    invoke_on(app, &app.app, calls, function, event).await
}

/// [`invoke`], the function running `payments` (one with a bank, say) on `app`'s tables.
async fn invoke_on(
    app: &TestApp,
    payments: &Payments,
    calls: &CallRecorder,
    function: &str,
    event: &Value,
) -> Answer {
    calls.file_under("(not an invocation)", &app.table_prefix());
    let req: Request =
        lambda_http::request::from_str(&event.to_string()).expect("a payload 2.0 event");
    assert_eq!(
        req.uri().path(),
        event["rawPath"].as_str().unwrap(),
        "the $default stage adds no prefix to the path that is signed"
    );
    let answer = Answer::of(row(function).endpoint.serve(payments, &req).await);
    calls.file_under(function, &app.table_prefix());
    answer
}

/// Runs an SQS event through the consumer `function` runs (`payouts`), as its event source
/// mapping would hand it over with a minute left; `calls` files the DynamoDB calls it made.
async fn consume(
    app: &TestApp,
    payouts: &Payouts,
    calls: &CallRecorder,
    function: &str,
    event: &Value,
) -> SqsBatchResponse {
    calls.file_under("(not an invocation)", &app.table_prefix());
    let payload: SqsEvent = serde_json::from_value(event.clone()).expect("an SQS event");
    let mut context = lambda_http::Context::default();
    let deadline = std::time::SystemTime::now() + Duration::from_secs(60);
    context.deadline = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let answer =
        payments::consume_payouts(payouts, lambda_http::LambdaEvent::new(payload, context)).await;
    calls.file_under(function, &app.table_prefix());
    answer
}

/// The same guard and tables as `app`'s, as a deployed consumer is configured: its
/// idempotency records outlive its queue's retention.
async fn payouts_on(app: &TestApp) -> Payouts {
    let config = replaysafe::Config {
        idempotency_ttl_seconds: i64::from(QUEUE_RETENTION_SECONDS),
        ..app.guard().config().clone()
    };
    let guard = guard_on(app.store.clone(), config, app.clock.clone()).await;
    Payouts::new(
        guard,
        app.ledger.clone(),
        i64::from(QUEUE_RETENTION_SECONDS),
    )
    .expect("a consumer configured as template.yaml configures it")
}

/// The same app as `app`'s, paying out to the bank at `url`.
async fn with_bank(app: &TestApp, url: &str) -> Payments {
    let guard = guard_on(
        app.store.clone(),
        app.guard().config().clone(),
        app.clock.clone(),
    )
    .await;
    let lease = LeaseTerms::new(Duration::from_secs(15), Duration::from_secs(5)).expect("lease");
    Payments::new(guard, app.ledger.clone()).with_bank(payments::bank::Bank::new(url), lease)
}

fn template_event(function: &str) -> Value {
    serde_json::from_str(&read(&format!("events/{function}.json")))
        .unwrap_or_else(|e| panic!("events/{function}.json: {e}"))
}

/// What `replaysafe sign-event` does, at the app clock's now.
fn signed(app: &TestApp, client: &TestClient, template: &Value, edits: &EventEdits) -> Value {
    sign_event(
        template,
        &client.signer(),
        app.clock.now(),
        &random_nonce(),
        edits,
    )
    .expect("sign the event")
}

#[tokio::test]
async fn every_event_invokes_its_function_once_signed() {
    let calls = CallRecorder::default();
    let client = sdk_client(Some(&endpoint())).await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(calls.clone())
            .build(),
    );
    // No secret cache: each function reads its caller's client as it would when cold, in its
    // own execution environment (here they share one app, so one cache).
    let app = TestApp::with_sdk_client(client, |c| c.client_cache = Duration::ZERO).await;
    let alice = &app.alice;
    let none = EventEdits::default();

    // Folders hold recorded events (events/ledger/, tests/tests/ledger.rs).
    let mut files: Vec<String> = std::fs::read_dir(root().join("events"))
        .expect("events/")
        .map(|e| e.unwrap())
        .filter(|e| !e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut wanted: Vec<String> = all_functions()
        .into_iter()
        .map(|f| format!("{f}.json"))
        .collect();
    wanted.sort();
    assert_eq!(
        files, wanted,
        "one event per function: run `make endpoints`"
    );

    // As committed, a template carries no signature: refused before anything happens.
    let unsigned = invoke(
        &app,
        &calls,
        "create-account",
        &template_event("create-account"),
    )
    .await;
    assert_eq!(
        (unsigned.status, unsigned.code().as_str()),
        (401, "signature-missing")
    );

    let account = signed(&app, alice, &template_event("create-account"), &none);
    let created = invoke(&app, &calls, "create-account", &account).await;
    assert_eq!(created.status, 201, "create-account: {}", created.body);
    let account_id = created.json()["account_id"].as_str().unwrap().to_owned();

    // The exact same signed event again is a replay: its nonce is spent.
    let replay = invoke(&app, &calls, "create-account", &account).await;
    assert_eq!(
        (replay.status, replay.code().as_str()),
        (401, "nonce-reused")
    );

    // The transfer template pays into an account that must exist.
    let payee = template_event("create-transfer")["body"]
        .as_str()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|b| b["to"].as_str().map(str::to_owned))
        .expect("the transfer template names its payee");
    app.open_account(&app.new_client().await, &payee, "EUR", 0)
        .await;

    let transfer_template = template_event("create-transfer");
    let transfer = invoke(
        &app,
        &calls,
        "create-transfer",
        &signed(&app, alice, &transfer_template, &none),
    )
    .await;
    assert_eq!(transfer.status, 201, "create-transfer: {}", transfer.body);
    assert!(!transfer.replayed());
    let body = transfer.json();
    let transfer_id = body["transfer_id"].as_str().unwrap().to_owned();
    assert_eq!(body["from"], account_id.as_str());
    assert_eq!(
        transfer.header("location"),
        Some(format!("/transfers/{transfer_id}").as_str())
    );

    // Signing the template again keeps its Idempotency-Key: a retry, answered from the record.
    let retry = invoke(
        &app,
        &calls,
        "create-transfer",
        &signed(&app, alice, &transfer_template, &none),
    )
    .await;
    assert_eq!(retry.status, 201);
    assert!(retry.replayed(), "a retry with the template's key replays");
    assert_eq!(retry.json()["transfer_id"], transfer_id.as_str());
    assert_eq!(app.transfers().await.len(), 1, "money moved once");

    let read_account = invoke(
        &app,
        &calls,
        "get-account",
        &signed(&app, alice, &template_event("get-account"), &none),
    )
    .await;
    assert_eq!(
        read_account.status, 200,
        "get-account: {}",
        read_account.body
    );
    let amount = body["amount"].as_u64().unwrap();
    let opening = created.json()["balance"].as_u64().unwrap();
    assert_eq!(read_account.json()["balance"], opening - amount);
    assert!(read_account.header("etag").is_some());

    // The get-transfer template names a transfer that does not exist here: point it at ours.
    let path = format!("/transfers/{transfer_id}");
    let read_transfer = invoke(
        &app,
        &calls,
        "get-transfer",
        &signed(
            &app,
            alice,
            &template_event("get-transfer"),
            &EventEdits {
                path: Some(&path),
                ..Default::default()
            },
        ),
    )
    .await;
    assert_eq!(
        read_transfer.status, 200,
        "get-transfer: {}",
        read_transfer.body
    );
    assert_eq!(read_transfer.json()["transfer_id"], transfer_id.as_str());

    // As committed, it answers 404 (signed, but no such transfer): an invocation that works.
    let unknown = invoke(
        &app,
        &calls,
        "get-transfer",
        &signed(&app, alice, &template_event("get-transfer"), &none),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.code().as_str()),
        (404, "not-found")
    );

    // A withdrawal as committed, first while the bank is down: 503, the funds held under the
    // operation's lease. Once the lease has expired, a retry takes it over and the bank (the
    // fake bank of `make run`, on loopback) pays.
    let down = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let down_url = format!("http://{}", down.local_addr().unwrap());
    drop(down);
    let withdrawal_template = template_event("create-withdrawal");
    let unsettled = invoke_on(
        &app,
        &with_bank(&app, &down_url).await,
        &calls,
        "create-withdrawal",
        &signed(&app, alice, &withdrawal_template, &none),
    )
    .await;
    assert_eq!(
        (unsettled.status, unsettled.code().as_str()),
        (503, "unavailable"),
        "create-withdrawal, the bank down: {}",
        unsettled.body
    );
    assert!(unsettled.header("retry-after").is_some());
    app.clock.advance(60);
    let bank = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the bank");
    let bank_url = format!("http://{}", bank.local_addr().unwrap());
    tokio::spawn(fake_bank::serve(bank, Arc::new(fake_bank::Bank::new())));
    let withdrawals = with_bank(&app, &bank_url).await;
    let withdrawal = invoke_on(
        &app,
        &withdrawals,
        &calls,
        "create-withdrawal",
        &signed(&app, alice, &withdrawal_template, &none),
    )
    .await;
    assert_eq!(
        withdrawal.status, 201,
        "create-withdrawal: {}",
        withdrawal.body
    );
    let paid = withdrawal.json();
    assert_eq!(paid["status"], "paid");
    let withdrawal_id = paid["withdrawal_id"].as_str().unwrap().to_owned();
    let path = format!("/withdrawals/{withdrawal_id}");
    assert_eq!(withdrawal.header("location"), Some(path.as_str()));
    let read_withdrawal = invoke(
        &app,
        &calls,
        "get-withdrawal",
        &signed(
            &app,
            alice,
            &template_event("get-withdrawal"),
            &EventEdits {
                path: Some(&path),
                ..Default::default()
            },
        ),
    )
    .await;
    assert_eq!(
        read_withdrawal.status, 200,
        "get-withdrawal: {}",
        read_withdrawal.body
    );
    assert_eq!(read_withdrawal.json(), paid);

    // The payout message of the template, acting for alice from her account: paid once,
    // however often it is delivered; the get-payout template names it.
    let mut payout_event = template_event("payouts");
    let record = &mut payout_event["Records"][0];
    let mut message: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    message["owner"] = json!(alice.id);
    message["from"] = json!(account_id);
    message["to"] = json!(payee);
    record["body"] = json!(message.to_string());
    let payouts = payouts_on(&app).await;
    for delivery in 1..=2 {
        let answer = consume(&app, &payouts, &calls, "payouts", &payout_event).await;
        assert!(
            answer.batch_item_failures.is_empty(),
            "payouts, delivery {delivery}: {answer:?}"
        );
    }
    let read_payout = invoke(
        &app,
        &calls,
        "get-payout",
        &signed(&app, alice, &template_event("get-payout"), &none),
    )
    .await;
    assert_eq!(read_payout.status, 200, "get-payout: {}", read_payout.body);
    assert_eq!(read_payout.json()["payout_id"], message["payout_id"]);
    assert_eq!(read_payout.json()["status"], "paid");
    assert_eq!(
        app.transfers().await.len(),
        2,
        "the transfer and the payout's, once"
    );
    assert_eq!(
        app.balance(&account_id).await,
        opening - amount - paid["amount"].as_u64().unwrap() - message["amount"].as_u64().unwrap()
    );

    // The ledger auditor: its event as generated (its transfer is not here: a finding, not a
    // failure), then clean recorded ones with the items they name, read from this app's tables.
    let auditor = replaysafe_tests::ledger::auditor(&app);
    let mut sample = template_event("ledger-auditor");
    let arn = format!("table/{}", app.ledger.tables().accounts);
    sample["Records"][0]["eventSourceARN"] = json!(sample["Records"][0]["eventSourceARN"]
        .as_str()
        .unwrap()
        .replace("table/replaysafe-accounts", &arn));
    let recorded = ["clean-transfer.json", "clean-withdrawals.json"]
        .map(|f| replaysafe_tests::ledger::recorded(&app, f));
    for event in std::iter::once(sample).chain(recorded) {
        replaysafe_tests::ledger::seed(&app, &event).await;
        calls.file_under("(not an invocation)", &app.table_prefix());
        let payload = serde_json::from_value(event).expect("a DynamoDB event");
        let answer = payments::audit_ledger(
            &auditor,
            lambda_http::LambdaEvent::new(payload, lambda_http::Context::default()),
        )
        .await;
        assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
        calls.file_under("ledger-auditor", &app.table_prefix());
    }

    // An endpoint the scenario above does not script: its event as generated (from the
    // examples in openapi.yaml), signed, is a request that works here.
    for row in ENDPOINTS {
        if calls.made.lock().unwrap().contains_key(row.function) {
            continue;
        }
        let event = signed(&app, alice, &template_event(row.function), &none);
        let answer = invoke(&app, &calls, row.function, &event).await;
        assert!(
            answer.status < 400,
            "{}: its event, signed: {} {}",
            row.function,
            answer.status,
            answer.body
        );
    }

    // What each function's code really called is what its row grants: no more (the role would
    // refuse it), no less (a grant nothing uses). Apart from that: a key's last use, which the
    // guard writes at most once a minute per key per warm function, in a task of its own, so
    // it lands under whichever invocation runs when it completes. It was written, and every
    // signed function may write it.
    let record_use = ("clients".to_owned(), "dynamodb:UpdateItem".to_owned());
    let mut made = calls.made.lock().unwrap().clone();
    assert!(
        made.values().any(|grants| grants.contains(&record_use)),
        "the signing key's last use was recorded"
    );
    for function in all_functions() {
        let mut expected = expected_grants(function);
        if ENDPOINTS.iter().any(|r| r.function == function) {
            assert!(
                expected.remove(&record_use),
                "{function} may record a key's use"
            );
        }
        let mut used = made.remove(function).unwrap_or_default();
        used.remove(&record_use);
        assert_eq!(
            used, expected,
            "{function}: the DynamoDB calls it made vs its grants in payments/src/routes.rs"
        );
    }
}

/// The project's contract holds the team's, word for word: all of part 1 (`api-contract.md`)
/// and every section of part 2 (`contract-modes.md`), where the team folder sits beside the
/// repository (as on our machines and in CI).
#[test]
fn docs_contract_holds_the_teams_contract() {
    let ours = read("docs/contract.md");
    let Ok(part1) = std::fs::read_to_string(root().join("../shared/api-contract.md")) else {
        return;
    };
    assert!(
        ours.starts_with(part1.trim_end()),
        "docs/contract.md does not start with ../shared/api-contract.md: copy it over"
    );
    let part2 = std::fs::read_to_string(root().join("../shared/contract-modes.md"))
        .expect("contract-modes.md beside api-contract.md");
    let start = |n: u8| {
        part2
            .find(&format!("\n## {n}. "))
            .unwrap_or_else(|| panic!("contract-modes.md has a section {n}"))
            + 1
    };
    for (n, end) in [
        (0, start(1)),
        (1, start(2)),
        (2, start(3)),
        (3, start(4)),
        (4, start(5)),
        (5, part2.len()),
    ] {
        let section = part2[start(n)..end].trim_end();
        assert!(
            ours.contains(section),
            "docs/contract.md lacks section {n} of ../shared/contract-modes.md: copy it over"
        );
    }
}

/// The project's own contract documents its own API, checked against the repository alone (so it
/// can fail in a fresh clone, where the team's folder is absent): every problem code of
/// `openapi.yaml` in one of the contract's code tables, and every path of `openapi.yaml` and
/// every route of the endpoint table spelt as they are.
#[test]
fn docs_contract_documents_every_code_path_and_route() {
    let contract = read("docs/contract.md");
    // The code tables' rows: `| 409 | `a`, `b` (a note) |`.
    let tabled: BTreeSet<&str> = contract
        .lines()
        .filter(|line| {
            let status = line.strip_prefix("| ").and_then(|l| l.get(..3));
            status.is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
        })
        .flat_map(|row| row.split('`').skip(1).step_by(2))
        .collect();
    let openapi = yaml("openapi.yaml");
    let codes = openapi["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .expect("Problem.code enum");
    assert!(!codes.is_empty(), "openapi.yaml lists no problem code");
    for code in codes {
        let code = code.as_str().expect("a code is a string");
        assert!(
            tabled.contains(code),
            "docs/contract.md has `{code}` in none of its code tables"
        );
    }
    let paths = openapi["paths"].as_object().expect("openapi.yaml paths");
    assert!(!paths.is_empty(), "openapi.yaml lists no path");
    for path in paths.keys() {
        assert!(
            contract.contains(&format!("{path}`")) || contract.contains(&format!("{path} ")),
            "docs/contract.md never names {path}"
        );
    }
    for row in ENDPOINTS {
        assert!(
            contract.contains(&format!("{} {}", row.method, row.route))
                || contract.contains(&format!("| {} | {} |", row.method, row.route)),
            "docs/contract.md never names {}",
            row.route_key()
        );
    }
}
