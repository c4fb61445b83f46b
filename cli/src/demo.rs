//! `replaysafe demo`: the replay scenarios against a running stack, step by step, as an attacker
//! and as a retrying client see them.

use std::sync::{Arc, Mutex};

use clap::Args;
use replaysafe_client::signing::content_digest;
use replaysafe_client::{
    now_unix, Client, IdempotencyKey, NewAccount, NewTransfer, PreparedRequest, RawResponse,
};

use crate::connect::ApiArgs;
use crate::Failure;

pub const EXAMPLES: &str = "Plays an attacker and a retrying client against a running stack: capture and exact
replay, delayed replay, tampered body, a retry after a lost answer, concurrent duplicates, with
balances before and after. Creates two new accounts of its own (fresh ids) each run.

Examples:
  make run            # in another terminal: the API at http://127.0.0.1:9000 and a demo client
  replaysafe demo
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
}

struct Demo {
    client: Client,
    surprises: Vec<String>,
}

impl Demo {
    /// Prints an answer and checks it is the one the contract promises.
    fn expect(&mut self, step: &str, got: &RawResponse, status: u16, code: &str) {
        let problem = (!got.is_success()).then(|| got.problem());
        let shown = match &problem {
            Some(p) => p.to_string(),
            None if got.replayed() => format!("{} (Idempotent-Replayed: true)", got.status),
            None if got.status == 201 => "201 Created".to_owned(),
            None => got.status.to_string(),
        };
        let got_code = problem
            .as_ref()
            .map(|p| p.code.to_string())
            .unwrap_or_default();
        if got.status == status && got_code == code {
            println!("   → {shown}   ✓");
        } else {
            let want = if code.is_empty() {
                status.to_string()
            } else {
                format!("{status} {code}")
            };
            println!("   → {shown}   ✗ expected {want}");
            self.surprises
                .push(format!("{step}: got {shown}, expected {want}"));
        }
    }

    fn check(&mut self, step: &str, ok: bool, what: String) {
        if ok {
            println!("   {what}   ✓");
        } else {
            println!("   {what}   ✗");
            self.surprises.push(format!("{step}: {what}"));
        }
    }

    async fn send(&self, api: &ApiArgs, request: &PreparedRequest) -> Result<RawResponse, Failure> {
        self.client
            .send_once(request)
            .await
            .map_err(|e| api.fail(e))
    }

    async fn balances(&self, api: &ApiArgs, ids: [&str; 2]) -> Result<[u64; 2], Failure> {
        let mut out = [0; 2];
        for (slot, id) in out.iter_mut().zip(ids) {
            *slot = self
                .client
                .get_account(id)
                .await
                .map_err(|e| api.fail(e))?
                .value
                .balance;
        }
        Ok(out)
    }
}

fn describe(request: &PreparedRequest) -> String {
    format!(
        "{} {}  Idempotency-Key {}  created={}  nonce={}",
        request.method,
        request.path,
        request.header("idempotency-key").unwrap_or("-"),
        request.created().unwrap_or_default(),
        request.nonce().unwrap_or_default()
    )
}

fn body_of(transfer: &NewTransfer) -> Vec<u8> {
    serde_json::to_vec(transfer).expect("serializable")
}

pub async fn run(args: DemoArgs) -> Result<(), Failure> {
    let api = &args.api;
    if api.json {
        return Err(Failure::Usage(
            "demo tells a story for people: it has no --json output".into(),
        ));
    }
    let retries: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = retries.clone();
    let client = Client::builder(&api.endpoint, &api.credentials()?)
        .map_err(|e| Failure::Usage(e.to_string()))?
        .retry_policy(api.policy()?)
        .on_retry(move |e| log.lock().expect("not poisoned").push(e.reason.clone()))
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let mut demo = Demo {
        client: client.clone(),
        surprises: Vec::new(),
    };
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (alice, bob) = (
        format!("acc_demo_{tag}_alice"),
        format!("acc_demo_{tag}_bob"),
    );
    println!(
        "replaysafe demo against {} as client {}\n",
        api.endpoint,
        client.client_id()
    );

    println!("Setup: two new EUR accounts, both owned by this client");
    for (id, balance) in [(&alice, 10_000), (&bob, 0)] {
        let account = NewAccount::new("EUR", balance).with_id(id.as_str());
        client
            .create_account(&account)
            .await
            .map_err(|e| api.fail(e))?;
        println!("   {id:<28} {balance:>6}");
    }
    let accounts = [alice.as_str(), bob.as_str()];
    let before = demo.balances(api, accounts).await?;

    // 1. A payment, captured on the way.
    let payment = NewTransfer::new(&alice, &bob, 1500, "EUR").with_reference("demo payment");
    let body = body_of(&payment);
    let key = IdempotencyKey::new_v4();
    println!("\n1. The client pays bob 1500; an attacker on the path captures the request");
    let captured = client.prepare("POST", "/transfers", &body, Some(&key));
    println!("   {}", describe(&captured));
    let first = demo.send(api, &captured).await?;
    demo.expect("1", &first, 201, "");
    let transfer_id = serde_json::from_slice::<serde_json::Value>(&first.body)
        .ok()
        .and_then(|v| v["transfer_id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    println!("   transfer {transfer_id}");

    // 2. Exact replay.
    println!("\n2. Attacker: sends the captured bytes again, unchanged");
    let replay = demo.send(api, &captured).await?;
    demo.expect("2", &replay, 401, "nonce-reused");
    println!("   The signature is valid, but its nonce was consumed by the first request.");

    // 3. Delayed replay.
    println!("\n3. Attacker: replays it later");
    println!(
        "   `created` is signed, so moving it needs the client's secret. By the time the nonce \
         record\n   expires (created + window + 60 s), the capture is outside the freshness \
         window (300 s by\n   default, 3600 s at most). Shown with a request the client itself \
         signed two hours ago:"
    );
    let old = client.prepare_at(
        "POST",
        "/transfers",
        &body,
        Some(&key),
        now_unix() - 7200,
        &replaysafe_client::signing::random_nonce(),
    );
    println!("   {}", describe(&old));
    let stale = demo.send(api, &old).await?;
    demo.expect("3", &stale, 401, "stale-request");

    // 4. Tampering.
    let mut bigger = payment.clone();
    bigger.amount = 150_000;
    println!("\n4. Attacker: edits the captured body (amount 1500 → 150000)");
    let mut tampered = captured.clone();
    tampered.body = body_of(&bigger);
    println!("   a. and recomputes Content-Digest (no secret needed for that):");
    tampered.set_header("content-digest", content_digest(&tampered.body));
    let answer = demo.send(api, &tampered).await?;
    demo.expect("4a", &answer, 401, "signature-invalid");
    println!("   b. and keeps the signed Content-Digest:");
    let mut tampered = captured.clone();
    tampered.body = body_of(&bigger);
    let answer = demo.send(api, &tampered).await?;
    demo.expect("4b", &answer, 400, "digest-mismatch");

    // 5. A retry after a lost answer.
    println!(
        "\n5. The client never saw step 1's answer (say its connection dropped). It retries: \
         signs again\n   (new nonce, new created) with the SAME Idempotency-Key and the same \
         body bytes"
    );
    let retry = client
        .create_transfer_with_key(&payment, key.clone())
        .await
        .map_err(|e| api.fail(e))?;
    println!(
        "   POST /transfers  Idempotency-Key {}  → 201, replayed: {}",
        retry.idempotency_key, retry.replayed
    );
    demo.check(
        "5",
        retry.replayed && retry.value.transfer_id == transfer_id,
        format!(
            "the stored answer: transfer {} again, no second transfer",
            retry.value.transfer_id
        ),
    );

    // 6. Concurrent duplicates.
    let n = usize::from(args.duplicates);
    let second = NewTransfer::new(&alice, &bob, 500, "EUR").with_reference("demo duplicates");
    let key2 = IdempotencyKey::new_v4();
    println!(
        "\n6. {n} copies of a new transfer of 500 sent at once: one Idempotency-Key {key2},\n   \
         each copy signed on its own"
    );
    retries.lock().expect("not poisoned").clear();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, second, key2) = (client.clone(), second.clone(), key2.clone());
            tokio::spawn(async move { client.create_transfer_with_key(&second, key2).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task did not panic"));
    }
    let in_progress = retries
        .lock()
        .expect("not poisoned")
        .iter()
        .filter(|r| r.contains("request-in-progress"))
        .count();
    let mut executed = 0;
    let mut replayed = 0;
    let mut transfer_ids: Vec<String> = Vec::new();
    for result in results {
        match result {
            Ok(c) => {
                if c.replayed {
                    replayed += 1;
                } else {
                    executed += 1;
                }
                transfer_ids.push(c.value.transfer_id);
            }
            Err(e) => {
                println!("   one copy failed: {e}");
                demo.surprises.push(format!("6: a copy failed: {e}"));
            }
        }
    }
    transfer_ids.sort();
    transfer_ids.dedup();
    println!(
        "   {executed} executed, {replayed} got the stored answer ({in_progress} retries after \
         409 request-in-progress)"
    );
    demo.check(
        "6",
        executed == 1 && transfer_ids.len() == 1,
        format!("one transfer: {}", transfer_ids.join(", ")),
    );

    // Balances.
    let after = demo.balances(api, accounts).await?;
    println!("\nBalances (minor units)      before    after");
    for (i, id) in [&alice, &bob].into_iter().enumerate() {
        println!("   {id:<24} {:>6} → {:>6}", before[i], after[i]);
    }
    demo.check(
        "balances",
        after == [before[0] - 2000, before[1] + 2000],
        "money moved exactly twice: 1500 once and 500 once".into(),
    );

    if demo.surprises.is_empty() {
        println!(
            "\nEvery replay was refused, and every retry got the first answer back: replay-safe \
             and safe to retry."
        );
        Ok(())
    } else {
        eprintln!(
            "error: {} scenario(s) did not behave as the contract says: {}",
            demo.surprises.len(),
            demo.surprises.join("; ")
        );
        Err(Failure::Status)
    }
}
