//! The scenarios, in the order the demo tells them. Each prints its own heading and judges its
//! own answers, so that one can be read (or changed) without the others; they share only the
//! accounts and step 1's capture, which is what the attacker and the retrying client reuse.

use replaysafe_client::signing::{content_digest, random_nonce};
use replaysafe_client::{
    now_unix, Created, Error, IdempotencyKey, NewAccount, NewTransfer, PreparedRequest, Transfer,
};

use super::report::describe;
use super::{Accounts, Demo};
use crate::Failure;

/// Step 1's payment: the request the attacker captured, and what the client knows of it.
pub(super) struct Capture {
    payment: NewTransfer,
    body: Vec<u8>,
    key: IdempotencyKey,
    request: PreparedRequest,
    transfer_id: String,
}

/// How the concurrent copies of one operation ended.
#[derive(Default)]
struct Tally {
    executed: usize,
    replayed: usize,
    transfer_ids: Vec<String>,
}

impl Demo<'_> {
    pub(super) async fn setup(&self) -> Result<Accounts, Failure> {
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let accounts = Accounts {
            alice: format!("acc_demo_{tag}_alice"),
            bob: format!("acc_demo_{tag}_bob"),
        };
        println!("Setup: two new EUR accounts, both owned by this client");
        for (id, balance) in [(&accounts.alice, 10_000), (&accounts.bob, 0)] {
            let account = NewAccount::new("EUR", balance).with_id(id.as_str());
            self.client
                .create_account(&account)
                .await
                .map_err(|e| self.api.fail(e))?;
            println!("   {id:<28} {balance:>6}");
        }
        Ok(accounts)
    }

    /// 1. A payment, captured on the way.
    pub(super) async fn captured_payment(
        &mut self,
        accounts: &Accounts,
    ) -> Result<Capture, Failure> {
        let payment = NewTransfer::new(&accounts.alice, &accounts.bob, 1500, "EUR")
            .with_reference("demo payment");
        let body = body_of(&payment);
        let key = IdempotencyKey::new_v4();
        println!("\n1. The client pays bob 1500; an attacker on the path captures the request");
        let request = self.client.prepare("POST", "/transfers", &body, Some(&key));
        println!("   {}", describe(&request));
        let first = self.send(&request).await?;
        self.expect("1", &first, 201, "");
        let transfer_id = serde_json::from_slice::<serde_json::Value>(&first.body)
            .ok()
            .and_then(|v| v["transfer_id"].as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("   transfer {transfer_id}");
        Ok(Capture {
            payment,
            body,
            key,
            request,
            transfer_id,
        })
    }

    /// 2. Exact replay.
    pub(super) async fn exact_replay(&mut self, capture: &Capture) -> Result<(), Failure> {
        println!("\n2. Attacker: sends the captured bytes again, unchanged");
        let replay = self.send(&capture.request).await?;
        self.expect("2", &replay, 401, "nonce-reused");
        println!("   The signature is valid, but its nonce was consumed by the first request.");
        Ok(())
    }

    /// 3. Delayed replay.
    pub(super) async fn delayed_replay(&mut self, capture: &Capture) -> Result<(), Failure> {
        println!("\n3. Attacker: replays it later");
        println!(
            "   `created` is signed, so moving it needs the client's secret. By the time the \
             nonce record\n   expires (created + window + 60 s), the capture is outside the \
             freshness window (300 s by\n   default, 3600 s at most). Shown with a request the \
             client itself signed two hours ago:"
        );
        let old = self.client.prepare_at(
            "POST",
            "/transfers",
            &capture.body,
            Some(&capture.key),
            now_unix() - 7200,
            &random_nonce(),
        );
        println!("   {}", describe(&old));
        let stale = self.send(&old).await?;
        self.expect("3", &stale, 401, "stale-request");
        Ok(())
    }

    /// 4. Tampering.
    pub(super) async fn tampered_body(&mut self, capture: &Capture) -> Result<(), Failure> {
        let mut bigger = capture.payment.clone();
        bigger.amount = 150_000;
        let mut tampered = capture.request.clone();
        tampered.body = body_of(&bigger);
        println!("\n4. Attacker: edits the captured body (amount 1500 → 150000)");
        println!("   a. and recomputes Content-Digest (no secret needed for that):");
        let mut redigested = tampered.clone();
        redigested.set_header("content-digest", content_digest(&redigested.body));
        let answer = self.send(&redigested).await?;
        self.expect("4a", &answer, 401, "signature-invalid");
        println!("   b. and keeps the signed Content-Digest:");
        let answer = self.send(&tampered).await?;
        self.expect("4b", &answer, 400, "digest-mismatch");
        Ok(())
    }

    /// 5. A retry after a lost answer.
    pub(super) async fn retry_after_lost_answer(
        &mut self,
        capture: &Capture,
    ) -> Result<(), Failure> {
        println!(
            "\n5. The client never saw step 1's answer (say its connection dropped). It retries: \
             signs again\n   (new nonce, new created) with the SAME Idempotency-Key and the same \
             body bytes"
        );
        let retry = self
            .client
            .create_transfer_with_key(&capture.payment, capture.key.clone())
            .await
            .map_err(|e| self.api.fail(e))?;
        println!(
            "   POST /transfers  Idempotency-Key {}  → 201, replayed: {}",
            retry.idempotency_key, retry.replayed
        );
        self.check(
            "5",
            retry.replayed && retry.value.transfer_id == capture.transfer_id,
            format!(
                "the stored answer: transfer {} again, no second transfer",
                retry.value.transfer_id
            ),
        );
        Ok(())
    }

    /// 6. Concurrent duplicates.
    pub(super) async fn concurrent_duplicates(&mut self, accounts: &Accounts, n: usize) {
        let second = NewTransfer::new(&accounts.alice, &accounts.bob, 500, "EUR")
            .with_reference("demo duplicates");
        let key = IdempotencyKey::new_v4();
        println!(
            "\n6. {n} copies of a new transfer of 500 sent at once: one Idempotency-Key {key},\n   \
             each copy signed on its own"
        );
        self.retries.lock().expect("not poisoned").clear();
        let results = self.send_copies(&second, &key, n).await;
        let in_progress = self
            .retries
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|r| r.contains("request-in-progress"))
            .count();
        let tally = self.tally(results);
        println!(
            "   {} executed, {} got the stored answer ({in_progress} retries after 409 \
             request-in-progress)",
            tally.executed, tally.replayed
        );
        self.check(
            "6",
            tally.executed == 1 && tally.transfer_ids.len() == 1,
            format!("one transfer: {}", tally.transfer_ids.join(", ")),
        );
    }

    /// `n` copies of one operation at once, each on its own task (signed on its own).
    async fn send_copies(
        &self,
        transfer: &NewTransfer,
        key: &IdempotencyKey,
        n: usize,
    ) -> Vec<Result<Created<Transfer>, Error>> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (client, transfer, key) = (self.client.clone(), transfer.clone(), key.clone());
                tokio::spawn(async move { client.create_transfer_with_key(&transfer, key).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("task did not panic"));
        }
        results
    }

    /// Counts the copies that executed and that got the stored answer; a failed copy is a
    /// surprise.
    fn tally(&mut self, results: Vec<Result<Created<Transfer>, Error>>) -> Tally {
        let mut tally = Tally::default();
        for result in results {
            match result {
                Ok(c) => {
                    if c.replayed {
                        tally.replayed += 1;
                    } else {
                        tally.executed += 1;
                    }
                    tally.transfer_ids.push(c.value.transfer_id);
                }
                Err(e) => {
                    println!("   one copy failed: {e}");
                    self.surprises.push(format!("6: a copy failed: {e}"));
                }
            }
        }
        tally.transfer_ids.sort();
        tally.transfer_ids.dedup();
        tally
    }

    /// Balances: the money moved once per operation, however many requests carried it.
    pub(super) async fn balances_moved(
        &mut self,
        accounts: &Accounts,
        before: [u64; 2],
    ) -> Result<(), Failure> {
        let after = self.balances(accounts).await?;
        println!("\nBalances (minor units)      before    after");
        for (i, id) in accounts.ids().into_iter().enumerate() {
            println!("   {id:<24} {:>6} → {:>6}", before[i], after[i]);
        }
        self.check(
            "balances",
            after == [before[0] - 2000, before[1] + 2000],
            "money moved exactly twice: 1500 once and 500 once".into(),
        );
        Ok(())
    }
}

fn body_of(transfer: &NewTransfer) -> Vec<u8> {
    serde_json::to_vec(transfer).expect("serializable")
}
