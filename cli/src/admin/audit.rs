//! `replaysafe admin audit`: reconciles the payments app's tables, read whole (strongly
//! consistent, paginated Scans), against what its operations say (see [`ledger`]).
//!
//! Exit codes as `diff` has them, for a script or a scheduled job: 0 every balance reconciles
//! (one summary line), 1 violations (one line each on stdout), 2 the audit could not run
//! (a table missing, DynamoDB unreachable).

mod ledger;

use aws_sdk_dynamodb::Client;
use clap::Args;
use payments::PaymentsTables;
use replaysafe::store::attrs::Item;

use super::Target;
use crate::Failure;
use ledger::Ledger;

pub const EXAMPLES: &str = "Examples:
  replaysafe admin audit --table-prefix replaysafe-      # a deployed stack: its TablePrefix output
  replaysafe admin audit --endpoint-url http://127.0.0.1:8000   # make run's DynamoDB Local

Rules: each account's balance = its initial_balance - what its transfers sent + what they
received - its pending and paid withdrawals (a refused one gave the money back); per currency,
the balances add up to the initial balances less those withdrawals; every transfer's and
withdrawal's accounts exist and are in its currency; no balance is negative; every paid payout's
transfer exists.

The tables are read one after the other while the API may be writing: an operation that commits
during the audit can show as a violation once. Run it again; a violation that stays is real.

Exit codes: 0 clean, 1 violations (one line each on stdout), 2 the audit could not run (a table
missing, DynamoDB unreachable, bad arguments).";

#[derive(Args)]
pub struct Audit {
    #[command(flatten)]
    target: Target,
}

pub async fn run(args: Audit) -> Result<(), Failure> {
    let (client, _) = args.target.connect().await;
    let tables = PaymentsTables::with_prefix_and_env(&args.target.table_prefix);
    let ledger = read(&client, &tables).await?;
    let violations = ledger.violations();
    let summary = format!(
        "{} accounts, {} transfers, {} withdrawals, {} paid payouts",
        ledger.accounts.len(),
        ledger.transfers.len(),
        ledger.withdrawals.len(),
        ledger.paid_payouts.len()
    );
    if violations.is_empty() {
        println!("audit ok: {summary}; every balance reconciles");
        return Ok(());
    }
    for v in &violations {
        println!("{v}");
    }
    Err(Failure::Refused(format!(
        "audit: {} violation(s) in {summary}",
        violations.len()
    )))
}

/// Every item of the app's tables the audit reads, decoded; an item that does not decode is
/// kept as unreadable, not skipped.
async fn read(client: &Client, tables: &PaymentsTables) -> Result<Ledger, Failure> {
    let mut unreadable = Vec::new();
    let mut ledger = Ledger {
        accounts: decoded(
            client,
            &tables.accounts,
            "account_id",
            ledger::account,
            &mut unreadable,
        )
        .await?,
        transfers: decoded(
            client,
            &tables.transfers,
            "transfer_id",
            ledger::transfer,
            &mut unreadable,
        )
        .await?,
        withdrawals: decoded(
            client,
            &tables.withdrawals,
            "withdrawal_id",
            ledger::withdrawal,
            &mut unreadable,
        )
        .await?,
        paid_payouts: decoded(
            client,
            &tables.payouts,
            "payout_key",
            ledger::payout,
            &mut unreadable,
        )
        .await?
        .into_iter()
        .flatten()
        .collect(),
        ..Ledger::default()
    };
    ledger.unreadable = unreadable;
    Ok(ledger)
}

/// The items of `table` that `decode` reads; the key attribute of each that it cannot goes to
/// `unreadable`.
async fn decoded<T>(
    client: &Client,
    table: &str,
    key: &str,
    decode: fn(&Item) -> Option<T>,
    unreadable: &mut Vec<(String, String)>,
) -> Result<Vec<T>, Failure> {
    let mut out = Vec::new();
    for item in scan(client, table).await? {
        match decode(&item) {
            Some(value) => out.push(value),
            None => {
                let id = replaysafe::store::attrs::get_s(&item, key).unwrap_or("(no key)");
                unreadable.push((table.to_owned(), id.to_owned()));
            }
        }
    }
    Ok(out)
}

/// A whole table, page by page, each page strongly consistent.
async fn scan(client: &Client, table: &str) -> Result<Vec<Item>, Failure> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| {
                let why = match e.as_service_error() {
                    Some(s) if s.is_resource_not_found_exception() => "it does not exist".into(),
                    _ => aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
                };
                Failure::CouldNotRun(format!("audit could not read the table {table}: {why}"))
            })?;
        items.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}
