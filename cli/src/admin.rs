//! `replaysafe admin …`: talks to DynamoDB (and SQS for `create-queues`) directly, with the
//! caller's AWS credentials; and `admin token`, which signs a token with the local key of a
//! `jwt`-mode stack.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::{Args, Subcommand};
use payments::PaymentsTables;
use replaysafe::clock::rfc3339;
use replaysafe::config::SecretsAtRest;
use replaysafe::store::clients::ClientRecord;
use replaysafe::store::keys::{KeyError, KeyRecord, NewKey};
use replaysafe::store::schema::{create_tables, TableSpec};
use replaysafe::store::sealing::{self, DataKey};
use replaysafe::store::{dynamodb_is_local, sdk_client};
use replaysafe::{ClientId, Clock, KeyId, Store, SystemClock, Tables};
use replaysafe_client::Credentials;

mod audit;
mod idempotency;

use crate::jwt::{self, TokenArgs};
use crate::queue;
use crate::Failure;

#[derive(Subcommand)]
pub enum Admin {
    /// Create the guard's tables (clients, idempotency, nonces), and with --with-app-tables the
    /// payments app's (accounts, transfers); skips those that exist, turns on TTL.
    CreateTables(CreateTables),
    /// Create a client and print `{"client_id", "secret"}` on stdout: its first key, whose key id
    /// is the client id.
    CreateClient(Target),
    /// Add a key to a client and print it once: `{"client_id", "key_id", "alg", "secret"}`. It
    /// works at once. A client has at most two active keys (revoked and expired ones do not
    /// count): a third is refused.
    #[command(after_help = KEY_EXAMPLES)]
    CreateKey(CreateKey),
    /// Revoke one of a client's keys (its first key's id is the client id). Its signatures are
    /// refused within CLIENT_CACHE_SECONDS (60 by default).
    #[command(after_help = KEY_EXAMPLES)]
    RevokeKey(RevokeKey),
    /// Print a client's keys, one JSON object a line: key_id, alg, status (active, revoked or
    /// expired), created_at, expires_at, last_used_at (may lag by a minute). Never a secret.
    #[command(after_help = KEY_EXAMPLES)]
    ListKeys(ListKeys),
    /// Print an RS256 JWT for SUB, signed with the local key of a `jwt`-mode stack
    /// (`.local/jwt-dev.json`, written by `AUTH_MODE=jwt make run`).
    #[command(after_help = TOKEN_EXAMPLES)]
    Token(TokenArgs),
    /// Create a deployment's data key under a KMS key (KMS GenerateDataKey) and print its
    /// encrypted form, base64: the value of SECRETS_DATA_KEY (the stack's SecretsDataKey
    /// parameter). The plaintext key is never printed or kept.
    #[command(after_help = SECRETS_EXAMPLES)]
    CreateDataKey(CreateDataKey),
    /// Seal, in place, every HMAC secret of the clients table still stored as plaintext (items
    /// written before secrets were sealed), under the data key SECRETS_DATA_KEY names. Safe to
    /// repeat; prints how many it sealed.
    #[command(after_help = SECRETS_EXAMPLES)]
    SealSecrets(Target),
    /// Create the payout queue and its dead-letter queue (<prefix>payouts, <prefix>payouts-dlq,
    /// redrive after 5 receives); keeps those that exist. Prints {"queue_url", "dlq_url",
    /// "queue_arn", "dlq_arn"}.
    CreateQueues(queue::CreateQueues),
    /// What the idempotency table holds under one key (show), and removing it (purge).
    #[command(subcommand)]
    Idempotency(idempotency::IdempotencyCmd),
    /// Reconcile the payments app's tables: every balance against its initial balance and the
    /// transfers and withdrawals that name its account, money per currency, no negative
    /// balance, no operation on a missing account. Exit 0 clean, 1 violations (listed), 2 it
    /// could not run.
    #[command(after_help = audit::EXAMPLES)]
    Audit(audit::Audit),
}

const TOKEN_EXAMPLES: &str = "Examples:
  replaysafe admin token --sub alice
  replaysafe account get acc_alice --token \"$(replaysafe admin token --sub alice)\"
  export REPLAYSAFE_TOKEN=\"$(replaysafe admin token --sub alice --expires-in 600)\"

The token has header alg RS256 and kid, and claims iss, aud (the file's issuer and audience), sub,
iat, nbf (now) and exp (now + --expires-in). `account` and `transfer` commands mint one the same
way with --sub SUB.";

const KEY_EXAMPLES: &str = "Rotating a client's key, with no failed request:
  replaysafe admin create-key --client cli_7f3a > new-key.json   # {client_id, key_id, alg, secret}
  # sign with new-key.json (its key_id is the keyid), then retire the old key:
  replaysafe admin revoke-key --client cli_7f3a --key-id cli_7f3a
  replaysafe admin list-keys --client cli_7f3a

A client's first key (the one create-client printed) has the client id as its key id.";

const SECRETS_EXAMPLES: &str = "HMAC secrets are sealed under a data key (docs/guard.md, Secrets at rest):
  create-client, create-key and seal-secrets use SECRETS_DATA_KEY (decrypted with KMS) when set,
  else the development key, which they refuse for anything but DynamoDB Local unless
  SECRETS_MODE=dev.

Examples:
  replaysafe admin create-data-key --kms-key-id alias/replaysafe-secrets
  export SECRETS_DATA_KEY=\"$(replaysafe admin create-data-key --kms-key-id alias/replaysafe-secrets)\"
  replaysafe admin seal-secrets --table-prefix my-stack-";

#[derive(Args)]
pub struct CreateDataKey {
    /// The KMS key (id, ARN or alias/NAME): the stack's SecretsKey output.
    #[arg(long)]
    kms_key_id: String,
}

#[derive(Args)]
pub struct CreateKey {
    /// The client the key signs for.
    #[arg(long)]
    client: String,
    /// The key's algorithm.
    #[arg(long, value_enum, default_value_t = Alg::HmacSha256)]
    alg: Alg,
    /// Seconds from now until the key is refused. Default: it does not expire.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    expires_in: Option<u32>,
    #[command(flatten)]
    target: Target,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Alg {
    #[value(name = "hmac-sha256")]
    HmacSha256,
    #[value(name = "ed25519")]
    Ed25519,
}

#[derive(Args)]
pub struct RevokeKey {
    /// The client whose key it is.
    #[arg(long)]
    client: String,
    /// The key to revoke.
    #[arg(long)]
    key_id: String,
    #[command(flatten)]
    target: Target,
}

#[derive(Args)]
pub struct ListKeys {
    /// The client whose keys to list.
    #[arg(long)]
    client: String,
    #[command(flatten)]
    target: Target,
}

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

    async fn store(&self) -> Store {
        let (client, tables) = self.connect().await;
        Store::new(client, tables)
    }

    /// The store, sealing secrets under the data key the environment names (see
    /// [`SecretsAtRest::from_vars`]); the development key only for DynamoDB Local, unless
    /// `SECRETS_MODE=dev` says so.
    async fn sealing_store(&self) -> Result<Store, Failure> {
        let env = |name: &str| std::env::var(name).ok();
        let secrets =
            SecretsAtRest::from_vars(env, false).map_err(|e| Failure::Usage(e.to_string()))?;
        let data_key = match secrets {
            SecretsAtRest::Kms { encrypted_data_key } => {
                DataKey::kms(sealing::kms_client().await, encrypted_data_key)
            }
            SecretsAtRest::Development => {
                let explicit = env("SECRETS_MODE").as_deref() == Some("dev");
                if !explicit && !dynamodb_is_local(self.endpoint_url.as_deref()) {
                    return Err(Failure::Usage(
                        "SECRETS_DATA_KEY is unset: secrets would be sealed under the \
                         development key (set it, or SECRETS_MODE=dev)"
                            .into(),
                    ));
                }
                DataKey::development()
            }
        };
        Ok(self.store().await.with_data_key(data_key))
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
        Admin::Idempotency(cmd) => idempotency::run(cmd).await,
        Admin::Audit(args) => audit::run(args).await,
        Admin::CreateQueues(args) => queue::create_queues(args).await,
        Admin::CreateDataKey(args) => {
            let kms = sealing::kms_client().await;
            let encrypted = sealing::generate_data_key(&kms, &args.kms_key_id)
                .await
                .map_err(|e| Failure::Unreachable(format!("KMS failed: {e}")))?;
            println!("{}", STANDARD.encode(encrypted));
            Ok(())
        }
        Admin::SealSecrets(target) => {
            let store = target.sealing_store().await?;
            let sealed = store
                .seal_plaintext_secrets()
                .await
                .map_err(|e| Failure::Unreachable(format!("sealing failed: {e}")))?;
            eprintln!("sealed  {sealed}");
            Ok(())
        }
        Admin::CreateKey(args) => create_key(args).await,
        Admin::RevokeKey(args) => {
            let client = client_id(&args.client)?;
            let key_id = KeyId::parse(&args.key_id).map_err(|e| Failure::Usage(e.to_string()))?;
            let store = args.target.store().await;
            store
                .revoke_key(&client, &key_id)
                .await
                .map_err(key_failure)?;
            eprintln!("revoked  {key_id}");
            Ok(())
        }
        Admin::ListKeys(args) => {
            let client = client_id(&args.client)?;
            let store = args.target.store().await;
            let keys = store.list_keys(&client).await.map_err(key_failure)?;
            let now = SystemClock.now();
            for key in &keys {
                println!("{}", listed(key, now));
            }
            Ok(())
        }
        Admin::CreateClient(target) => {
            let store = target.sealing_store().await?;
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
                STANDARD.encode(&record.secret),
            );
            println!("{}", serde_json::to_string(&out).expect("serializable"));
            Ok(())
        }
    }
}

async fn create_key(args: CreateKey) -> Result<(), Failure> {
    let client = client_id(&args.client)?;
    let made = match args.alg {
        Alg::HmacSha256 => {
            let secret = rand::random::<[u8; 32]>().to_vec();
            MadeKey {
                alg: "hmac-sha256",
                private: ("secret", STANDARD.encode(&secret)),
                material: secret,
            }
        }
        Alg::Ed25519 => ed25519_key()?,
    };
    let now = SystemClock.now();
    let key = NewKey {
        key_id: KeyId::generate(),
        alg: made.alg.to_owned(),
        material: made.material,
        expires_at: args.expires_in.map(|s| now + i64::from(s)),
    };
    // An Ed25519 key's public key is not sealed: no data key needed.
    let store = match args.alg {
        Alg::HmacSha256 => args.target.sealing_store().await?,
        Alg::Ed25519 => args.target.store().await,
    };
    store
        .create_key(&client, &key, now)
        .await
        .map_err(key_failure)?;
    let mut out = serde_json::json!({
        "client_id": client.as_str(),
        "key_id": key.key_id.as_str(),
        "alg": made.alg,
    });
    out[made.private.0] = made.private.1.into();
    println!("{out}");
    Ok(())
}

/// A key `create-key` made: what the server keeps, and what only the client gets.
struct MadeKey {
    alg: &'static str,
    /// What the server verifies with: the secret, or the public key.
    material: Vec<u8>,
    /// The field and base64 value printed once: `secret`, or `private_key`.
    private: (&'static str, String),
}

/// A new Ed25519 key: the server keeps its public key; the private seed is printed once.
fn ed25519_key() -> Result<MadeKey, Failure> {
    let seed = rand::random::<[u8; 32]>();
    let public = replaysafe_signing::ed25519_public_key(&seed);
    Ok(MadeKey {
        alg: "ed25519",
        material: public.to_vec(),
        private: ("private_key", STANDARD.encode(seed)),
    })
}

fn client_id(text: &str) -> Result<ClientId, Failure> {
    ClientId::parse(text).map_err(|e| Failure::Usage(e.to_string()))
}

/// A key operation's failure: refused (exit 1) or DynamoDB unreachable or failing (exit 3).
fn key_failure(e: KeyError) -> Failure {
    match e {
        KeyError::Store(e) => Failure::Unreachable(format!("DynamoDB failed: {e}")),
        refused => Failure::Refused(refused.to_string()),
    }
}

/// One line of `list-keys`: everything but the key material.
fn listed(key: &KeyRecord, now: i64) -> serde_json::Value {
    serde_json::json!({
        "key_id": key.key_id.as_str(),
        "alg": key.alg,
        "status": key.status(now).as_str(),
        "created_at": rfc3339(key.created_at),
        "expires_at": key.expires_at.map(rfc3339),
        "last_used_at": key.last_used_at.map(rfc3339),
    })
}
