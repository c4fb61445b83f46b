//! `replaysafe admin …`: talks to DynamoDB (and SQS for `create-queues`) directly, with the
//! caller's AWS credentials; and `admin token`, which signs a token with the local key of a
//! `jwt`-mode stack.

use base64::Engine;
use clap::{Args, Subcommand};
use payments::PaymentsTables;
use replaysafe::store::clients::ClientRecord;
use replaysafe::store::schema::{create_tables, TableSpec};
use replaysafe::store::sdk_client;
use replaysafe::{ClientId, Clock, Store, SystemClock, Tables};
use replaysafe_client::Credentials;

use crate::jwt::{self, TokenArgs};
use crate::queue;
use crate::Failure;

#[derive(Subcommand)]
pub enum Admin {
    /// Create the guard's tables (clients, idempotency, nonces), and with --with-app-tables the
    /// payments app's (accounts, transfers); skips those that exist, turns on TTL.
    CreateTables(CreateTables),
    /// Create a client and print `{"client_id", "secret"}` on stdout.
    CreateClient(Target),
    /// Print an RS256 JWT for SUB, signed with the local key of a `jwt`-mode stack
    /// (`.local/jwt-dev.json`, written by `AUTH_MODE=jwt make run`).
    #[command(after_help = TOKEN_EXAMPLES)]
    Token(TokenArgs),
    /// Create the payout queue and its dead-letter queue (<prefix>payouts, <prefix>payouts-dlq,
    /// redrive after 5 receives); keeps those that exist. Prints {"queue_url", "dlq_url",
    /// "queue_arn", "dlq_arn"}.
    CreateQueues(queue::CreateQueues),
}

const TOKEN_EXAMPLES: &str = "Examples:
  replaysafe admin token --sub alice
  replaysafe account get acc_alice --token \"$(replaysafe admin token --sub alice)\"
  export REPLAYSAFE_TOKEN=\"$(replaysafe admin token --sub alice --expires-in 600)\"

The token has header alg RS256 and kid, and claims iss, aud (the file's issuer and audience), sub,
iat, nbf (now) and exp (now + --expires-in). `account` and `transfer` commands mint one the same
way with --sub SUB.";

#[derive(Args)]
pub struct CreateTables {
    /// Also create the payments app's tables (accounts, transfers), as `make run` does. The
    /// guard's tables are what any app using the library needs; an app brings its own.
    #[arg(long)]
    with_app_tables: bool,
    #[command(flatten)]
    target: Target,
}

#[derive(Args)]
pub struct Target {
    /// DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local. Default: the SDK's
    /// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, or AWS itself).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Prefix of the table names (a deployed stack's is its tables' common prefix). Per-table
    /// env vars (CLIENTS_TABLE, …) override it.
    #[arg(long, env = "TABLE_PREFIX", default_value = "replaysafe-")]
    table_prefix: String,
}

impl Target {
    async fn connect(&self) -> (aws_sdk_dynamodb::Client, Tables) {
        let client = sdk_client(self.endpoint_url.as_deref()).await;
        let tables = Tables::with_prefix_and_env(&self.table_prefix);
        (client, tables)
    }
}

pub async fn run(admin: Admin) -> Result<(), Failure> {
    match admin {
        Admin::CreateTables(CreateTables {
            with_app_tables,
            target,
        }) => {
            let (client, tables) = target.connect().await;
            let app = PaymentsTables::with_prefix_and_env(&target.table_prefix);
            let mut specs: Vec<(&str, TableSpec)> = tables.specs().to_vec();
            if with_app_tables {
                specs.extend(app.specs());
            }
            let created = create_tables(&client, &specs)
                .await
                .map_err(|e| Failure::Unreachable(format!("creating tables failed: {e}")))?;
            for (name, _) in &specs {
                let state = if created.iter().any(|c| c == name) {
                    "created"
                } else {
                    "exists"
                };
                eprintln!("{state:>7}  {name}");
            }
            Ok(())
        }
        Admin::Token(args) => jwt::token(args),
        Admin::CreateQueues(args) => queue::create_queues(args).await,
        Admin::CreateClient(target) => {
            let (client, tables) = target.connect().await;
            let store = Store::new(client, tables);
            let secret = rand::random::<[u8; 32]>().to_vec();
            let record = ClientRecord {
                client_id: ClientId::generate(),
                secret,
                active: true,
            };
            store
                .put_client(&record, SystemClock.now())
                .await
                .map_err(|e| Failure::Unreachable(format!("writing the client failed: {e}")))?;
            let out = Credentials::new(
                record.client_id.to_string(),
                base64::engine::general_purpose::STANDARD.encode(&record.secret),
            );
            println!("{}", serde_json::to_string(&out).expect("serializable"));
            Ok(())
        }
    }
}
