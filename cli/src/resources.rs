//! `replaysafe account create|get` and `replaysafe transfer create|get`, on the client crate.

use clap::{Args, Subcommand};
use replaysafe_client::{
    Account, Client, Conditional, Created, Error, Fetched, IdempotencyKey, NewAccount, NewTransfer,
    Transfer,
};
use serde_json::json;

use crate::connect::ApiArgs;
use crate::Failure;

const ACCOUNT_EXAMPLES: &str = "Examples:
  replaysafe account create --currency EUR --initial-balance 10000 --id acc_alice
  replaysafe account create --currency EUR                  # the server picks the id
  replaysafe account get acc_alice
  replaysafe account get acc_alice --if-none-match '\"v2\"'  # exit 0 and \"not modified\" on 304
  replaysafe account get acc_alice --json | jq .account.balance";

const TRANSFER_EXAMPLES: &str = "Examples:
  replaysafe transfer create --from acc_alice --to acc_bob --amount 1500 --currency EUR
  replaysafe transfer create --from acc_alice --to acc_bob --amount 1500 --currency EUR \\
      --reference 'invoice 42' --idempotency-key invoice-42   # run it twice: one transfer
  replaysafe transfer get tr_6f1c0d2e9b8a4f3c8e7d6c5b4a392817
  replaysafe transfer create ... --json | jq -r .transfer.transfer_id

Amounts are integers in minor units (cents): 1500 EUR is 15.00 EUR.";

#[derive(Args)]
#[command(after_help = ACCOUNT_EXAMPLES)]
pub struct AccountCmd {
    #[command(subcommand)]
    command: AccountCommand,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Open an account you own: POST /accounts.
    Create {
        /// ISO 4217 currency code, e.g. EUR.
        #[arg(long)]
        currency: String,
        /// Opening balance in minor units (cents).
        #[arg(long, default_value_t = 0, value_name = "MINOR_UNITS")]
        initial_balance: u64,
        /// The account id (A-Z a-z 0-9 _ -, at most 64). Default: the server generates one.
        #[arg(long, value_name = "ACCOUNT_ID")]
        id: Option<String>,
        /// Idempotency-Key of this operation. Default: a new UUID. Give the same key to retry
        /// it safely (you get the stored answer back).
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// Show one of your accounts: GET /accounts/{id}.
    Get {
        account_id: String,
        /// An ETag from an earlier answer: the API answers 304 when nothing changed.
        #[arg(long, value_name = "ETAG")]
        if_none_match: Option<String>,
    },
}

#[derive(Args)]
#[command(after_help = TRANSFER_EXAMPLES)]
pub struct TransferCmd {
    #[command(subcommand)]
    command: TransferCommand,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Subcommand)]
enum TransferCommand {
    /// Move money from an account you own: POST /transfers.
    Create {
        /// The account to debit: one of yours.
        #[arg(long, value_name = "ACCOUNT_ID")]
        from: String,
        /// The account to credit: any account in the same currency.
        #[arg(long, value_name = "ACCOUNT_ID")]
        to: String,
        /// Minor units (cents), 1 to 10^12.
        #[arg(long, value_name = "MINOR_UNITS")]
        amount: u64,
        /// ISO 4217 currency code of both accounts, e.g. EUR.
        #[arg(long)]
        currency: String,
        /// Free text, at most 140 characters.
        #[arg(long)]
        reference: Option<String>,
        /// Idempotency-Key of this operation. Default: a new UUID. Give the same key to retry
        /// it safely: money moves once, you get the stored answer back.
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// Show a transfer you made: GET /transfers/{id}.
    Get { transfer_id: String },
}

fn key(given: Option<String>) -> Result<IdempotencyKey, Failure> {
    match given {
        Some(k) => IdempotencyKey::parse(k).map_err(|e| Failure::Usage(e.to_string())),
        None => Ok(IdempotencyKey::new_v4()),
    }
}

/// A failed POST: refused, or its outcome unknown. Before exiting, wait until the clock is past
/// the second of its last attempt: the server may have fenced the key at that `created`, and a
/// command run right after this one to retry with the same key must sign a later one, or it is
/// refused as `attempt-superseded`. (At most a second, unless retries signed ahead of the clock.)
async fn fail_post(api: &ApiArgs, client: &Client, key: &IdempotencyKey, e: Error) -> Failure {
    client.wait_past_last_attempt(key).await;
    api.fail_resumable(e)
}

pub async fn account(cmd: AccountCmd) -> Result<(), Failure> {
    let api = cmd.api;
    let client = api.connect()?;
    match cmd.command {
        AccountCommand::Create {
            currency,
            initial_balance,
            id,
            idempotency_key,
        } => {
            let mut new = NewAccount::new(currency, initial_balance);
            new.account_id = id;
            let key = key(idempotency_key)?;
            let created = match client.create_account_with_key(&new, key.clone()).await {
                Ok(created) => created,
                Err(e) => return Err(fail_post(&api, &client, &key, e).await),
            };
            print_created(&api, "account", &created, |a| {
                let mut lines = account_lines(a);
                if let Some(at) = &a.created_at {
                    lines.push(("created_at", at.clone()));
                }
                (a.account_id.clone(), String::new(), lines)
            });
        }
        AccountCommand::Get {
            account_id,
            if_none_match,
        } => {
            let answer = match if_none_match {
                Some(etag) => client
                    .get_account_if_none_match(&account_id, &etag)
                    .await
                    .map_err(|e| api.fail(e))?,
                None => Conditional::Modified(
                    client
                        .get_account(&account_id)
                        .await
                        .map_err(|e| api.fail(e))?,
                ),
            };
            match answer {
                Conditional::Modified(fetched) => print_account(&api, &fetched),
                Conditional::NotModified { etag } => {
                    if api.json {
                        println!("{}", json!({"not_modified": true, "etag": etag}));
                    } else {
                        println!(
                            "account {account_id} not modified (ETag {})",
                            etag.as_deref().unwrap_or("?")
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

pub async fn transfer(cmd: TransferCmd) -> Result<(), Failure> {
    let api = cmd.api;
    let client = api.connect()?;
    match cmd.command {
        TransferCommand::Create {
            from,
            to,
            amount,
            currency,
            reference,
            idempotency_key,
        } => {
            let mut new = NewTransfer::new(from, to, amount, currency);
            new.reference = reference;
            let key = key(idempotency_key)?;
            let created = match client.create_transfer_with_key(&new, key.clone()).await {
                Ok(created) => created,
                Err(e) => return Err(fail_post(&api, &client, &key, e).await),
            };
            print_created(&api, "transfer", &created, |t| {
                let summary = format!(": {} {} from {} to {}", t.amount, t.currency, t.from, t.to);
                (t.transfer_id.clone(), summary, transfer_lines(t))
            });
        }
        TransferCommand::Get { transfer_id } => {
            let fetched = client
                .get_transfer(&transfer_id)
                .await
                .map_err(|e| api.fail(e))?;
            if api.json {
                println!("{}", json!({"transfer": fetched.value}));
            } else {
                let t = &fetched.value;
                println!(
                    "transfer {}: {} {} from {} to {}",
                    t.transfer_id, t.amount, t.currency, t.from, t.to
                );
                print_lines(&transfer_lines(t));
            }
        }
    }
    Ok(())
}

type Lines = Vec<(&'static str, String)>;

fn account_lines(a: &Account) -> Lines {
    vec![
        ("currency", a.currency.clone()),
        ("balance", format!("{} (minor units)", a.balance)),
        ("version", a.version.to_string()),
    ]
}

fn transfer_lines(t: &Transfer) -> Lines {
    let mut lines = Vec::new();
    if let Some(r) = &t.reference {
        lines.push(("reference", r.clone()));
    }
    lines.push(("created_at", t.created_at.clone()));
    lines
}

fn print_lines(lines: &[(&str, String)]) {
    for (name, value) in lines {
        println!("  {name:<16} {value}");
    }
}

fn print_account(api: &ApiArgs, fetched: &Fetched<Account>) {
    if api.json {
        println!(
            "{}",
            json!({"account": fetched.value, "etag": fetched.etag})
        );
        return;
    }
    let a = &fetched.value;
    println!("account {}", a.account_id);
    let mut lines = account_lines(a);
    if let Some(at) = &a.updated_at {
        lines.push(("updated_at", at.clone()));
    }
    if let Some(etag) = &fetched.etag {
        lines.push(("etag", etag.clone()));
    }
    print_lines(&lines);
}

/// `describe` gives the id, a summary after it, and the detail lines.
fn print_created<T: serde::Serialize>(
    api: &ApiArgs,
    kind: &str,
    created: &Created<T>,
    describe: impl Fn(&T) -> (String, String, Lines),
) {
    if api.json {
        println!(
            "{}",
            json!({
                kind: created.value,
                "replayed": created.replayed,
                "idempotency_key": created.idempotency_key.as_str(),
                "location": created.location,
                "attempts": created.attempts,
            })
        );
        return;
    }
    let (id, summary, mut lines) = describe(&created.value);
    if created.replayed {
        println!("{kind} {id}{summary}");
        println!(
            "  replayed         the stored answer of an earlier request with this \
             Idempotency-Key; nothing happened this time"
        );
    } else {
        println!("{kind} {id} created{summary}");
    }
    lines.push(("idempotency-key", created.idempotency_key.to_string()));
    if created.attempts > 1 {
        lines.push(("attempts", created.attempts.to_string()));
    }
    print_lines(&lines);
}
