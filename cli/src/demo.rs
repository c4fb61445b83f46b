//! `replaysafe demo`: the replay scenarios against a running stack, step by step, as an attacker
//! and as a retrying client see them.
//!
//! One function a scenario, so that `run` reads as the story the README tells; what every
//! scenario shares (printing an answer against what the contract promises, keeping the
//! surprises for the exit code) is in `report`, so all of them judge alike.

mod report;
mod rotation;
mod scenarios;

use std::sync::{Arc, Mutex};

use clap::Args;
use replaysafe_client::{Client, PreparedRequest, RawResponse};

use crate::connect::ApiArgs;
use crate::Failure;

pub const EXAMPLES: &str = "Plays an attacker and a retrying client against a running stack: capture and exact
replay, delayed replay, tampered body, a retry after a lost answer, concurrent duplicates, with
balances before and after; then a key rotation with requests flowing. Creates two new accounts of
its own (fresh ids) each run, and for the rotation a client of its own with two keys, written
to the stack's clients table (--endpoint-url and --table-prefix name its DynamoDB: for an API on
loopback, `make run`'s DynamoDB Local by default; the rotation is skipped, saying so, when the
table cannot be written; --no-rotation skips it).

Examples:
  make run            # in another terminal: the API at http://127.0.0.1:9000 and a demo client
  replaysafe demo --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com --client prod-client.json

Exit code 0 when every scenario behaved as the contract says, 1 when one did not.";

#[derive(Args)]
pub struct DemoArgs {
    /// Identical requests sent at once in the last scenario.
    #[arg(long, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(2..=64))]
    duplicates: u16,
    #[command(flatten)]
    api: ApiArgs,
    #[command(flatten)]
    rotation: rotation::RotationArgs,
}

pub async fn run(args: DemoArgs) -> Result<(), Failure> {
    if args.api.json {
        return Err(Failure::Usage(
            "demo tells a story for people: it has no --json output".into(),
        ));
    }
    if args.api.auth.bearer() {
        return Err(Failure::Usage(
            "demo plays the signature-mode scenarios (captured signed requests, nonces, \
             tampered signatures): run it against a signature-mode API, without --token or --sub"
                .into(),
        ));
    }
    let mut demo = Demo::connect(&args.api)?;
    println!(
        "replaysafe demo against {} as client {}\n",
        args.api.endpoint,
        demo.client.client_id().unwrap_or_default()
    );
    let accounts = demo.setup().await?;
    let before = demo.balances(&accounts).await?;
    let capture = demo.captured_payment(&accounts).await?;
    demo.exact_replay(&capture).await?;
    demo.delayed_replay(&capture).await?;
    demo.tampered_body(&capture).await?;
    demo.retry_after_lost_answer(&capture).await?;
    demo.concurrent_duplicates(&accounts, usize::from(args.duplicates))
        .await;
    demo.balances_moved(&accounts, before).await?;
    demo.key_rotation(&args.rotation).await?;
    demo.finish()
}

struct Demo<'a> {
    api: &'a ApiArgs,
    client: Client,
    /// The reason of every retry the client made, as `on_retry` reports it.
    retries: Arc<Mutex<Vec<String>>>,
    /// Steps whose answer was not the contract's: the exit code is 1 when there is one.
    surprises: Vec<String>,
}

/// The demo's two accounts, new each run.
struct Accounts {
    alice: String,
    bob: String,
}

impl Accounts {
    fn ids(&self) -> [&str; 2] {
        [&self.alice, &self.bob]
    }
}

impl<'a> Demo<'a> {
    /// A client that records its retries instead of printing them: scenario 6 counts them.
    fn connect(api: &'a ApiArgs) -> Result<Self, Failure> {
        let retries: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = retries.clone();
        let client = api
            .builder()?
            .retry_policy(api.policy()?)
            .on_retry(move |e| log.lock().expect("not poisoned").push(e.reason.clone()))
            .build()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        Ok(Self {
            api,
            client,
            retries,
            surprises: Vec::new(),
        })
    }

    async fn send(&self, request: &PreparedRequest) -> Result<RawResponse, Failure> {
        self.client
            .send_once(request)
            .await
            .map_err(|e| self.api.fail(e))
    }

    async fn balances(&self, accounts: &Accounts) -> Result<[u64; 2], Failure> {
        let mut out = [0; 2];
        for (slot, id) in out.iter_mut().zip(accounts.ids()) {
            *slot = self
                .client
                .get_account(id)
                .await
                .map_err(|e| self.api.fail(e))?
                .value
                .balance;
        }
        Ok(out)
    }
}
