//! `make endpoints`: everything about deploying an endpoint that follows from its row in the
//! endpoint table (`payments/src/routes.rs`, [`ENDPOINTS`]) and its path in `openapi.yaml`:
//!
//! - `functions/<function>/Cargo.toml` and `src/main.rs` (one `replaysafe::lambda::run`);
//! - the cargo-lambda router in `Cargo.toml`;
//! - in `template.yaml`, each route of the HTTP API with the JWT authorizer in `AuthMode` jwt,
//!   each function with its log group and least-privilege role, and its output (between
//!   `BEGIN GENERATED` and `END GENERATED` lines; the rest is hand-written);
//! - `events/<function>.json`, a payload 2.0 sample event built from the operation's examples
//!   in `openapi.yaml` (path parameters, JSON body).
//!
//! And for each consumer of the consumer table ([`CONSUMERS`]): its package (one
//! `replaysafe::lambda::consume`), in `template.yaml` its function with its SQS event source
//! mapping, its queue and dead-letter queue, role, log group and outputs, and
//! `events/<function>.json`, an SQS event carrying the message example of `openapi.yaml`
//! (`components.schemas.<message>`, e.g. `PayoutMessage`).
//!
//! And for each stream consumer ([`STREAM_CONSUMERS`]): its package, in `template.yaml` its
//! function with one DynamoDB event source mapping per table it reads, its on-failure queue,
//! role, log group and outputs, and `events/<function>.json`, a DynamoDB stream event (an
//! account debited by a transfer). Folders under `events/` (recorded events) are not generated.
//!
//! [`wanted`] computes every generated file from the files on disk; the `endpoints` binary
//! writes them ([`write`]) and the deploy tests compare them ([`stale`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use payments::routes::{
    Consumer, Grant, KmsGrant, Row, StreamConsumer, CONSUMERS, ENDPOINTS, STREAM_CONSUMERS,
};
use replaysafe::store::sealing::KMS_ENCRYPTION_CONTEXT;
use serde_json::{json, Map, Value};

/// Where the generated files come from, as they say at their top.
const SOURCE: &str = "`make endpoints` from payments/src/routes.rs";

/// How long a consumer's queue keeps a message: SQS's default, 4 days. A constant, not a
/// parameter, because the consumer's idempotency records must outlive it (a message can come
/// back until then) and CloudFormation cannot compare two numbers; the function is told both
/// (`QUEUE_RETENTION_SECONDS`, `IDEMPOTENCY_TTL_SECONDS`) and refuses to start otherwise.
pub const QUEUE_RETENTION_SECONDS: u32 = 4 * 24 * 3600;

/// How long a consumer's dead-letter queue keeps a message: SQS's longest, 14 days, longer
/// than the queue's (a message keeps its first enqueue time when it is moved there).
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 14 * 24 * 3600;

/// How many receives of a message before SQS moves it to the dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// How many records Lambda hands a consumer at once.
pub const BATCH_SIZE: u32 = 10;

/// How many stream records Lambda hands a stream consumer at once.
pub const STREAM_BATCH_SIZE: u32 = 100;

/// How often Lambda retries a stream batch that failed (after bisecting it) before it sends
/// the batch's description to the on-failure queue and moves on.
pub const STREAM_MAX_RETRIES: u32 = 10;

/// What Lambda's event source mapping calls on a table's stream, with the function's role.
pub const STREAM_ACTIONS: [&str; 4] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

/// What a function reads beyond `Globals` (function, variable, value as YAML): the bank's URL
/// is a stack parameter, and only the function that pays the bank is told it.
pub const FUNCTION_ENVIRONMENT: &[(&str, &str, &str)] =
    &[("create-withdrawal", "BANK_URL", "!Ref BankUrl")];

/// A generated file: its path from the workspace root and its contents.
pub type File = (String, String);

/// Every generated file as it should read, given the hand-written files under `root`.
pub fn wanted(root: &Path) -> Result<Vec<File>, String> {
    let read = |relative: &str| {
        std::fs::read_to_string(root.join(relative)).map_err(|e| format!("read {relative}: {e}"))
    };
    let openapi = yaml_to_json(&read("openapi.yaml")?).map_err(|e| format!("openapi.yaml: {e}"))?;
    let mut files = Vec::new();
    // Each function's package (manifest and `main.rs`) and sample event.
    let mut function = |f: &str, main: String, event: String| {
        files.push((format!("functions/{f}/Cargo.toml"), package_manifest(f)));
        files.push((format!("functions/{f}/src/main.rs"), main));
        files.push((format!("events/{f}.json"), event));
    };
    for row in ENDPOINTS {
        function(row.function, main_rs(row), event(row, &openapi)?);
    }
    for consumer in CONSUMERS {
        let event = sqs_event(consumer, &openapi)?;
        function(consumer.function, consumer_main_rs(consumer), event);
    }
    for consumer in STREAM_CONSUMERS {
        let main = stream_consumer_main_rs(consumer);
        function(consumer.function, main, stream_event());
    }
    let cargo = replace_region(&read("Cargo.toml")?, "router", &router())
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    files.push(("Cargo.toml".into(), cargo));
    let hand_written = read("template.yaml")?;
    let timeout = yaml_to_json(&hand_written).map_err(|e| format!("template.yaml: {e}"))?
        ["Globals"]["Function"]["Timeout"]
        .as_u64()
        .ok_or("template.yaml: Globals.Function.Timeout, a number of seconds")?;
    let template = replace_region(&hand_written, "routes", &routes())
        .and_then(|t| replace_region(&t, "functions", &resources(timeout)))
        .and_then(|t| replace_region(&t, "outputs", &outputs()))
        .map_err(|e| format!("template.yaml: {e}"))?;
    files.push(("template.yaml".into(), template));
    Ok(files)
}

/// Generated paths on disk that no row asks for: a function package or event left over from a
/// row that was removed.
fn leftovers(root: &Path) -> Vec<String> {
    let functions: BTreeSet<&str> = ENDPOINTS
        .iter()
        .map(|r| r.function)
        .chain(CONSUMERS.iter().map(|c| c.function))
        .chain(STREAM_CONSUMERS.iter().map(|c| c.function))
        .collect();
    let mut found = Vec::new();
    for (dir, suffix) in [("functions", ""), ("events", ".json")] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            // Recorded events live in folders of their own.
            if dir == "events" && entry.path().is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let function = name.strip_suffix(suffix).unwrap_or(&name);
            if !name.ends_with(suffix) || !functions.contains(function) {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    found.sort();
    found
}

/// What differs from [`wanted`]: one line per stale, missing or left-over file. Empty when
/// every generated file is fresh.
pub fn stale(root: &Path) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for (path, contents) in wanted(root)? {
        match std::fs::read_to_string(root.join(&path)) {
            Ok(on_disk) if on_disk == contents => {}
            Ok(_) => problems.push(format!("{path} is stale")),
            Err(_) => problems.push(format!("{path} is missing")),
        }
    }
    for path in leftovers(root) {
        problems.push(format!(
            "{path} has no row in the endpoint table or the consumer table"
        ));
    }
    Ok(problems)
}

/// Writes every generated file that differs and deletes the left-overs; returns what changed.
pub fn write(root: &Path) -> Result<Vec<String>, String> {
    let mut changed = Vec::new();
    for (path, contents) in wanted(root)? {
        let full = root.join(&path);
        if std::fs::read_to_string(&full).ok().as_deref() == Some(contents.as_str()) {
            continue;
        }
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        }
        std::fs::write(&full, contents).map_err(|e| format!("write {path}: {e}"))?;
        changed.push(format!("wrote {path}"));
    }
    for path in leftovers(root) {
        let full = root.join(&path);
        let removed = if full.is_dir() {
            std::fs::remove_dir_all(&full)
        } else {
            std::fs::remove_file(&full)
        };
        removed.map_err(|e| format!("delete {path}: {e}"))?;
        changed.push(format!("deleted {path}"));
    }
    Ok(changed)
}

/// `create-account` → `CreateAccount`: the prefix of the function's logical ids.
pub fn pascal(kebab: &str) -> String {
    kebab
        .split(['-', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// Replaces the lines between `# BEGIN GENERATED <name>` and `# END GENERATED <name>` (both
/// kept) with `body`.
fn replace_region(text: &str, name: &str, body: &str) -> Result<String, String> {
    let begin = format!("# BEGIN GENERATED {name}");
    let end = format!("# END GENERATED {name}");
    let line_with = |marker: &str, from: usize| -> Result<(usize, usize), String> {
        let at = text[from..]
            .find(marker)
            .map(|i| from + i)
            .ok_or_else(|| format!("no `{marker}` line"))?;
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let stop = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        Ok((start, stop))
    };
    let (_, body_start) = line_with(&begin, 0)?;
    let (body_end, _) = line_with(&end, body_start)?;
    Ok(format!(
        "{}{body}{}",
        &text[..body_start],
        &text[body_end..]
    ))
}

/// A function package's `Cargo.toml`, HTTP or consumer alike.
fn package_manifest(function: &str) -> String {
    format!(
        r#"# Generated by {SOURCE}: do not edit.
[package]
name = "{function}"
edition.workspace = true
version.workspace = true
license.workspace = true
publish = false

[dependencies]
replaysafe.workspace = true
payments.workspace = true
lambda_http.workspace = true
tokio.workspace = true
"#
    )
}

/// The function's `main.rs`, laid out as rustfmt lays it out (the three arguments of the one
/// call on lines of their own), so `cargo fmt` leaves it as generated.
fn main_rs(row: &Row) -> String {
    const APP: &str = "payments::Payments::from_env().await?";
    let handler = format!("payments::{}", row.handler);
    let route = format!("\"{}\"", row.route_key());
    let call = format!(
        "    replaysafe::lambda::run(\n        {APP},\n        {route},\n        {handler},\n    )\n    .await\n"
    );
    format!(
        "//! Generated by {SOURCE}: do not edit.\n\
         //!\n\
         //! `{} {}`: the guard and the payments store are built once per cold\n\
         //! start, then every invocation of this route is served by `{handler}`.\n\
         \n\
         #[tokio::main]\n\
         async fn main() -> Result<(), lambda_http::Error> {{\n\
         {call}\
         }}\n",
        row.method, row.route
    )
}

/// A consumer's `main.rs`, laid out as rustfmt lays it out.
fn consumer_main_rs(consumer: &Consumer) -> String {
    let handler = format!("payments::{}", consumer.handler);
    let about = format!(
        "Batches of records from its SQS queue: the guard (as a consumer) and the payments\n\
         store are built once per cold start, then every record is handled by\n\
         `{handler}`, whose partial batch response names the records to\n\
         deliver again."
    );
    any_consumer_main_rs(consumer.app, &handler, &about)
}

/// A stream consumer's `main.rs`, laid out as rustfmt lays it out.
fn stream_consumer_main_rs(consumer: &StreamConsumer) -> String {
    let handler = format!("payments::{}", consumer.handler);
    let about = format!(
        "Batches of records from the DynamoDB streams of the tables it reads: the app\n\
         is built once per cold start, then every batch is handled by\n\
         `{handler}`, whose partial batch response names the first record to\n\
         deliver again."
    );
    any_consumer_main_rs(consumer.app, &handler, &about)
}

/// One `replaysafe::lambda::consume` of `handler` on `payments::<app>`, under the doc `about`.
fn any_consumer_main_rs(app: &str, handler: &str, about: &str) -> String {
    let app = format!("payments::{app}::from_env().await?");
    let about: String = about.lines().map(|l| format!("//! {l}\n")).collect();
    // rustfmt keeps the call on one line when it fits in 100 columns.
    let one_line = format!("    replaysafe::lambda::consume({app}, {handler}).await\n");
    let call = if one_line.len() <= 101 {
        one_line
    } else {
        format!("    replaysafe::lambda::consume(\n        {app},\n        {handler},\n    )\n    .await\n")
    };
    format!(
        "//! Generated by {SOURCE}: do not edit.\n\
         //!\n\
         {about}\
         \n\
         #[tokio::main]\n\
         async fn main() -> Result<(), lambda_http::Error> {{\n\
         {call}\
         }}\n"
    )
}

/// The `[workspace.metadata.lambda.watch.router]` table: one key per route, its methods in a
/// list.
fn router() -> String {
    let mut out = String::from("[workspace.metadata.lambda.watch.router]\n");
    let mut routes: Vec<&str> = Vec::new();
    for row in ENDPOINTS {
        if !routes.contains(&row.route) {
            routes.push(row.route);
        }
    }
    for route in routes {
        let methods: Vec<String> = ENDPOINTS
            .iter()
            .filter(|r| r.route == route)
            .map(|r| {
                format!(
                    "{{ method = \"{}\", function = \"{}\" }}",
                    r.method, r.function
                )
            })
            .collect();
        let _ = writeln!(out, "\"{route}\" = [{}]", methods.join(", "));
    }
    out
}

/// Each route of the HTTP API (`DefinitionBody.paths`), secured by the JWT authorizer when the
/// stack's `AuthMode` is `jwt` (condition `JwtMode`) and by nothing in front of the function
/// otherwise. SAM adds the integration from the function's `HttpApi` event.
fn routes() -> String {
    let mut out = String::new();
    let mut paths: Vec<&str> = Vec::new();
    for row in ENDPOINTS {
        if !paths.contains(&row.route) {
            paths.push(row.route);
        }
    }
    for path in paths {
        let _ = writeln!(out, "          {path}:");
        for row in ENDPOINTS.iter().filter(|r| r.route == path) {
            let _ = write!(
                out,
                "            {}:\n              \
                 security: !If [JwtMode, [{{ JwtAuthorizer: [] }}], !Ref AWS::NoValue]\n",
                row.method.to_ascii_lowercase()
            );
        }
    }
    out
}

/// Each function, its log group and its role; then each consumer, its queues and its role.
/// `timeout` is the functions' `Timeout` (`Globals`): a consumer's queue hides a message it
/// handed over for 6 times that, as AWS recommends, so a batch still running is not delivered
/// again.
fn resources(timeout: u64) -> String {
    let mut out = String::new();
    for row in ENDPOINTS {
        let (method, route, function) = (row.method, row.route, row.function);
        function_head(
            &mut out,
            function,
            &format!("{method} {route}"),
            &environment(function, &[]),
        );
        let _ = write!(
            out,
            r#"        Route:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: {method}
            Path: {route}
            PayloadFormatVersion: "2.0"

"#
        );
        log_group_and_role(
            &mut out,
            function,
            None,
            &row.all_grants(),
            row.kms_grants(),
        );
    }
    for consumer in CONSUMERS {
        let id = pascal(consumer.function);
        let function = consumer.function;
        let handler = consumer.handler;
        let retention = QUEUE_RETENTION_SECONDS.to_string();
        // The key of a message is kept as long as the message can come back, and at least as
        // long as the HTTP functions' floor (what `IdempotencyTtlSeconds` allows at its least).
        let ttl = QUEUE_RETENTION_SECONDS.to_string();
        function_head(
            &mut out,
            function,
            &format!("consumes {id}Queue (payments::{handler})"),
            &environment(
                function,
                &[
                    ("QUEUE_RETENTION_SECONDS", format!("\"{retention}\"")),
                    ("IDEMPOTENCY_TTL_SECONDS", format!("\"{ttl}\"")),
                ],
            ),
        );
        let _ = write!(
            out,
            r#"        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt {id}Queue.Arn
            BatchSize: {BATCH_SIZE}
            FunctionResponseTypes: [ReportBatchItemFailures]

  {id}Queue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: {QUEUE_RETENTION_SECONDS}
      VisibilityTimeout: {}
      SqsManagedSseEnabled: true
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt {id}DeadLetterQueue.Arn
        maxReceiveCount: {MAX_RECEIVE_COUNT}

  {id}DeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: {DEAD_LETTER_RETENTION_SECONDS}
      SqsManagedSseEnabled: true

"#,
            6 * timeout
        );
        log_group_and_role(
            &mut out,
            function,
            Some(&format!("{id}Queue")),
            consumer.grants,
            // A consumer verifies no signature: it never opens the data key.
            &[],
        );
    }
    for consumer in STREAM_CONSUMERS {
        stream_consumer_resources(&mut out, consumer);
    }
    out
}

/// A stream consumer's function, with one event source mapping per table it reads (from the
/// oldest record kept, a partial batch response, a failing batch split in two and retried a
/// bounded number of times, then described on its on-failure queue), that queue, its log group
/// and its role.
fn stream_consumer_resources(out: &mut String, consumer: &StreamConsumer) {
    let id = pascal(consumer.function);
    let (function, handler) = (consumer.function, consumer.handler);
    let description = format!(
        "reads the {} streams (payments::{handler})",
        consumer.tables.join(", ")
    );
    function_head(out, function, &description, "");
    for table in consumer.tables {
        let table_id = pascal(table);
        let _ = write!(
            out,
            r#"        {table_id}Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt {table_id}Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: {STREAM_BATCH_SIZE}
            BisectBatchOnFunctionError: true
            MaximumRetryAttempts: {STREAM_MAX_RETRIES}
            FunctionResponseTypes: [ReportBatchItemFailures]
            DestinationConfig:
              OnFailure:
                Destination: !GetAtt {id}FailureQueue.Arn
"#
        );
    }
    let _ = write!(
        out,
        r#"
  {id}FailureQueue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: {DEAD_LETTER_RETENTION_SECONDS}
      SqsManagedSseEnabled: true

"#
    );
    let mut sources = String::from(
        r#"        - PolicyName: streams
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
"#,
    );
    for table in consumer.tables {
        let table_id = pascal(table);
        let _ = write!(
            sources,
            "              - Sid: Read{table_id}Stream\n                Effect: Allow\n                \
             Action: [{}]\n                Resource: !GetAtt {table_id}Table.StreamArn\n",
            STREAM_ACTIONS.join(", ")
        );
    }
    sources.push_str(&sqs_policy(
        "DescribeFailedBatches",
        "sqs:SendMessage",
        &format!("{id}FailureQueue"),
    ));
    log_group_and_role_with(out, function, &sources, consumer.grants, &[]);
}

/// A function's resource up to its `Events:` line (its events follow): its binary, its
/// `description`, its role and log group, and `environment` (its own `Environment`, if any).
fn function_head(out: &mut String, function: &str, description: &str, environment: &str) {
    let id = pascal(function);
    let _ = write!(
        out,
        r#"  {id}Function:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: {function}
    Properties:
      Description: {description}
      CodeUri: functions/{function}
      Role: !GetAtt {id}Role.Arn
{environment}      LoggingConfig:
        LogFormat: JSON
        ApplicationLogLevel: INFO
        SystemLogLevel: WARN
        LogGroup: !Ref {id}Logs
      Events:
"#
    );
}

/// A function's `Environment`: what it reads beyond `Globals` (SAM merges the two), from
/// [`FUNCTION_ENVIRONMENT`] and `more`; nothing when there is none.
fn environment(function: &str, more: &[(&str, String)]) -> String {
    let variables: Vec<(&str, String)> = FUNCTION_ENVIRONMENT
        .iter()
        .filter(|(f, _, _)| *f == function)
        .map(|(_, var, value)| (*var, (*value).to_owned()))
        .chain(more.iter().cloned())
        .collect();
    if variables.is_empty() {
        return String::new();
    }
    let mut out = String::from("      Environment:\n        Variables:\n");
    for (var, value) in variables {
        let _ = writeln!(out, "          {var}: {value}");
    }
    out
}

/// A function's log group and its role: its logs, receiving from `queue` (a consumer's),
/// exactly `grants` on DynamoDB, and `kms` on the secrets key (`SecretsKey`), only for the data
/// key's encryption context.
fn log_group_and_role(
    out: &mut String,
    function: &str,
    queue: Option<&str>,
    grants: &[Grant],
    kms: &[KmsGrant],
) {
    // What Lambda's event source mapping calls with the function's role.
    let sources = queue.map_or(String::new(), |queue| {
        sqs_policy("ReceiveAndDelete", &SQS_ACTIONS.join(", "), queue)
    });
    log_group_and_role_with(out, function, &sources, grants, kms);
}

/// A role's `sqs` policy: one statement `sid` allowing `actions` on `queue`.
fn sqs_policy(sid: &str, actions: &str, queue: &str) -> String {
    format!(
        r#"        - PolicyName: sqs
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: {sid}
                Effect: Allow
                Action: [{actions}]
                Resource: !GetAtt {queue}.Arn
"#
    )
}

/// [`log_group_and_role`], with `sources` (the policies its event sources need) after its
/// logs policy.
fn log_group_and_role_with(
    out: &mut String,
    function: &str,
    sources: &str,
    grants: &[Grant],
    kms: &[KmsGrant],
) {
    let id = pascal(function);
    let _ = write!(
        out,
        r#"  {id}Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref LogRetentionDays

  {id}Role:
    Type: AWS::IAM::Role
    Properties:
      Description: replaysafe {function}
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{ Service: lambda.amazonaws.com }}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: logs
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [logs:CreateLogStream, logs:PutLogEvents]
                Resource: !GetAtt {id}Logs.Arn
"#
    );
    out.push_str(sources);
    if !kms.is_empty() {
        out.push_str(
            r#"        - PolicyName: kms
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
"#,
        );
        let (name, value) = KMS_ENCRYPTION_CONTEXT;
        for grant in kms {
            let actions: Vec<String> = grant.actions.iter().map(|a| format!("kms:{a}")).collect();
            let _ = write!(
                out,
                "              - Sid: {}\n                Effect: Allow\n                \
                 Action: [{}]\n                Resource: !GetAtt SecretsKey.Arn\n                \
                 Condition:\n                  StringEquals:\n                    \
                 kms:EncryptionContext:{name}: {value}\n",
                grant.sid,
                actions.join(", "),
            );
        }
    }
    out.push_str(
        r#"        - PolicyName: dynamodb
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
"#,
    );
    for grant in grants {
        let actions: Vec<String> = grant
            .actions
            .iter()
            .map(|a| format!("dynamodb:{a}"))
            .collect();
        let _ = write!(
            out,
            "              - Sid: {}\n                Effect: Allow\n                \
             Action: [{}]\n                Resource: !GetAtt {}Table.Arn\n",
            grant.sid,
            actions.join(", "),
            pascal(grant.table)
        );
    }
    out.push('\n');
}

/// What Lambda's event source mapping calls on a consumer's queue, with the function's role
/// (the actions of AWS's `AWSLambdaSQSQueueExecutionRole`, on the one queue).
pub const SQS_ACTIONS: [&str; 3] = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

/// Each function's name, for `cargo lambda deploy` and `cargo lambda invoke --remote`; each
/// consumer's queue URLs.
fn outputs() -> String {
    let mut out = String::new();
    let functions = ENDPOINTS
        .iter()
        .map(|r| r.function)
        .chain(CONSUMERS.iter().map(|c| c.function))
        .chain(STREAM_CONSUMERS.iter().map(|c| c.function));
    for (i, function) in functions.enumerate() {
        let id = pascal(function);
        let _ = writeln!(out, "  {id}FunctionName:");
        if i == 0 {
            out.push_str(
                "    Description: For `cargo lambda deploy` (code updates) and \
                 `cargo lambda invoke --remote`\n",
            );
        }
        let _ = writeln!(out, "    Value: !Ref {id}Function");
    }
    for consumer in CONSUMERS {
        let id = pascal(consumer.function);
        let _ = write!(
            out,
            "  {id}QueueUrl:\n    Description: Where {function} messages are sent \
             (`aws sqs send-message --queue-url <this>`)\n    Value: !Ref {id}Queue\n  \
             {id}DeadLetterQueueUrl:\n    Description: Where a {function} message goes after \
             {MAX_RECEIVE_COUNT} receives that failed\n    Value: !Ref {id}DeadLetterQueue\n",
            function = consumer.function
        );
    }
    for consumer in STREAM_CONSUMERS {
        let id = pascal(consumer.function);
        let _ = write!(
            out,
            "  {id}FailureQueueUrl:\n    Description: Where a {} batch that kept failing is \
             described (its shard and sequence numbers)\n    Value: !Ref {id}FailureQueue\n",
            consumer.function
        );
    }
    out
}

/// The operation of `row` in `openapi.yaml`.
fn operation<'a>(row: &Row, openapi: &'a Value) -> Result<&'a Value, String> {
    openapi["paths"][row.route]
        .get(row.method.to_lowercase())
        .ok_or_else(|| {
            format!(
                "openapi.yaml has no `{}: {}:` operation for {}: document its path there",
                row.route,
                row.method.to_lowercase(),
                row.function
            )
        })
}

/// `$ref: "#/components/…"` resolved.
fn resolve<'a>(openapi: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .trim_start_matches("#/")
            .split('/')
            .fold(openapi, |at, key| &at[key]),
        None => v,
    }
}

/// 64-bit FNV-1a of `s`, `round` folded in: the generated events' ids, stable per function.
fn fnv(s: &str, round: u8) -> u64 {
    s.bytes()
        .chain([round])
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// The function's sample event: a payload 2.0 request on the `$default` stage, unsigned
/// (`replaysafe sign-event` signs it), with the operation's examples in `openapi.yaml` for its
/// path parameters and JSON body.
fn event(row: &Row, openapi: &Value) -> Result<String, String> {
    let op = operation(row, openapi)?;
    let what = format!("openapi.yaml, {} {}", row.method, row.route);
    let mut path = row.route.to_owned();
    let mut path_parameters = Map::new();
    let parameters = openapi["paths"][row.route]["parameters"]
        .as_array()
        .into_iter()
        .chain(op["parameters"].as_array())
        .flatten()
        .map(|p| resolve(openapi, p))
        .filter(|p| p["in"] == "path");
    for p in parameters {
        let name = p["name"]
            .as_str()
            .ok_or(format!("{what}: a nameless parameter"))?;
        let example = p["example"].as_str().ok_or(format!(
            "{what}: path parameter {name} needs a string example"
        ))?;
        path = path.replace(&format!("{{{name}}}"), example);
        path_parameters.insert(name.to_owned(), json!(example));
    }
    if path.contains('{') {
        return Err(format!("{what}: a path parameter is not documented"));
    }
    let body = match op.get("requestBody") {
        Some(b) => {
            let example = &resolve(openapi, b)["content"]["application/json"]["example"];
            if example.is_null() {
                return Err(format!("{what}: the JSON request body needs an example"));
            }
            Some(example.to_string())
        }
        None => None,
    };

    let host = "r4nd0m1d2e.execute-api.eu-west-1.amazonaws.com";
    let route_key = format!("{} {}", row.method, row.route);
    let mut headers = Map::new();
    headers.insert("accept".into(), json!("application/json"));
    if let Some(body) = &body {
        headers.insert("content-length".into(), json!(body.len().to_string()));
        headers.insert("content-type".into(), json!("application/json"));
    }
    headers.insert("host".into(), json!(host));
    if row.method == "POST" {
        headers.insert(
            "idempotency-key".into(),
            json!(format!("evt-{}", row.function)),
        );
    }
    headers.insert("user-agent".into(), json!("replaysafe/0.1.0"));
    let trace = format!(
        "Root=1-6921a5c0-{:016x}{:08x}",
        fnv(row.function, 0),
        fnv(row.function, 1) as u32
    );
    headers.insert("x-amzn-trace-id".into(), json!(trace));
    headers.insert("x-forwarded-for".into(), json!("203.0.113.7"));
    headers.insert("x-forwarded-port".into(), json!("443"));
    headers.insert("x-forwarded-proto".into(), json!("https"));
    let request_id = STANDARD.encode(&fnv(row.function, 2).to_be_bytes()[..8]);

    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(route_key));
    event.insert("rawPath".into(), json!(path));
    event.insert("rawQueryString".into(), json!(""));
    event.insert("headers".into(), Value::Object(headers));
    if !path_parameters.is_empty() {
        event.insert("pathParameters".into(), Value::Object(path_parameters));
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": "123456789012",
            "apiId": "r4nd0m1d2e",
            "domainName": host,
            "domainPrefix": "r4nd0m1d2e",
            "http": {
                "method": row.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "replaysafe/0.1.0"
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": "22/Nov/2025:12:00:00 +0000",
            "timeEpoch": 1_763_812_800_000_u64
        }),
    );
    if let Some(body) = body {
        event.insert("body".into(), json!(body));
    }
    event.insert("isBase64Encoded".into(), json!(false));
    let mut text = serde_json::to_string_pretty(&Value::Object(event)).expect("JSON");
    text.push('\n');
    Ok(text)
}

/// A consumer's sample event: an SQS event with one record, as Lambda's event source mapping
/// hands it over, whose body is the example of its message's schema in `openapi.yaml`
/// (`components.schemas.<message>`).
fn sqs_event(consumer: &Consumer, openapi: &Value) -> Result<String, String> {
    let schema = consumer.message;
    let example = &openapi["components"]["schemas"][&schema]["example"];
    if !example.is_object() {
        return Err(format!(
            "openapi.yaml: components.schemas.{schema} needs an example (the message {} \
             consumes)",
            consumer.function
        ));
    }
    let body = example.to_string();
    let f = consumer.function;
    let id = |round: u8| {
        let (a, b) = (fnv(f, round), fnv(f, round + 1));
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    };
    let receipt: Vec<u8> = (0..6).flat_map(|r| fnv(f, 10 + r).to_be_bytes()).collect();
    let queue = format!("replaysafe-{}Queue-R4nd0m1d2e", pascal(f));
    let record = json!({
        "messageId": id(0),
        "receiptHandle": STANDARD.encode(receipt),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1763812800000",
            "SenderId": "AROAEXAMPLE123456789A:payroll",
            "ApproximateFirstReceiveTimestamp": "1763812800012"
        },
        "messageAttributes": {},
        "md5OfBody": md5_hex(body.as_bytes()),
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:eu-west-1:123456789012:{queue}"),
        "awsRegion": "eu-west-1"
    });
    let mut text = serde_json::to_string_pretty(&json!({ "Records": [record] })).expect("JSON");
    text.push('\n');
    Ok(text)
}

/// A stream consumer's sample event: one DynamoDB stream record as Lambda hands it over, an
/// account debited by a transfer (`NEW_AND_OLD_IMAGES`).
fn stream_event() -> String {
    let image = |balance: u64, version: u64, operation: &str| {
        json!({
            "account_id": {"S": "acc_alice"},
            "owner": {"S": "cli_7f3a"},
            "currency": {"S": "EUR"},
            "balance": {"N": balance.to_string()},
            "initial_balance": {"N": "10000"},
            "version": {"N": version.to_string()},
            "last_operation": {"S": operation},
            "created_at": {"N": "1763812700"},
            "updated_at": {"N": "1763812800"}
        })
    };
    let record = json!({
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_763_812_800,
            "Keys": {"account_id": {"S": "acc_alice"}},
            "NewImage": image(8500, 2, "transfer#tr_2f1e6c0b7a9d4e3f8c5b1a2d3e4f5a6b"),
            "OldImage": image(10000, 1, "open"),
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 412,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/replaysafe-accounts/stream/2025-11-22T12:00:00.000"
    });
    let mut text = serde_json::to_string_pretty(&json!({ "Records": [record] })).expect("JSON");
    text.push('\n');
    text
}

/// The MD5 of `data` in lower-case hex (RFC 1321), as SQS's `md5OfBody` spells it.
fn md5_hex(data: &[u8]) -> String {
    const SHIFTS: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend(((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for block in message.chunks(64) {
        let words: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(words[g])
                .rotate_left(SHIFTS[(i / 16) * 4 + i % 4]);
            (a, d, c) = (d, c, b);
            b = b.wrapping_add(rotated);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    state
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A YAML document as JSON, CloudFormation short forms turned into their long forms:
/// `!Ref X` is `{"Ref": "X"}`, `!GetAtt A.Arn` is `{"Fn::GetAtt": ["A", "Arn"]}`, `!Sub s` is
/// `{"Fn::Sub": "s"}`, so either spelling in the template reads the same.
pub fn yaml_to_json(text: &str) -> Result<Value, String> {
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    Ok(to_json(value))
}

fn to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_norway::to_string(&other)
                            .expect("a scalar key")
                            .trim()
                            .to_owned(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            let value = to_json(tagged.value);
            match name {
                "Ref" => json!({ "Ref": value }),
                "GetAtt" => {
                    let parts = match value {
                        Value::String(s) => {
                            let (resource, attribute) =
                                s.split_once('.').expect("!GetAtt Resource.Attribute");
                            json!([resource, attribute])
                        }
                        other => other,
                    };
                    json!({ "Fn::GetAtt": parts })
                }
                other => json!({ format!("Fn::{other}"): value }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_replaced_between_their_markers() {
        let text = "a\n  # BEGIN GENERATED x: note\nold\n  # END GENERATED x\nb\n";
        assert_eq!(
            replace_region(text, "x", "new\n").unwrap(),
            "a\n  # BEGIN GENERATED x: note\nnew\n  # END GENERATED x\nb\n"
        );
        assert!(replace_region(text, "y", "").is_err());
    }

    #[test]
    fn md5_is_rfc_1321s() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            md5_hex(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
        assert_eq!(md5_hex(&[b'a'; 64]), "014842d480b571495a4a0363793f7367");
    }

    #[test]
    fn logical_ids_are_pascal_case() {
        assert_eq!(pascal("create-account"), "CreateAccount");
        assert_eq!(pascal("idempotency"), "Idempotency");
    }
}
