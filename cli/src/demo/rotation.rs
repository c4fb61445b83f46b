//! Scenario 7, key rotation with requests flowing: a client of the demo's own (so that the
//! user's client file keeps its key) pays in a loop while a second key is created, the signer
//! switches to it and the first key is revoked; not one request fails, and an operation begun
//! under the first key is answered under the second.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use replaysafe::store::clients::ClientRecord;
use replaysafe::store::keys::NewKey;
use replaysafe::store::sdk_client;
use replaysafe::{ClientId, Clock, KeyId, Store, SystemClock, Tables};
use replaysafe_client::{Client, Credentials, IdempotencyKey, NewAccount, NewTransfer};
use tokio::sync::watch;

use super::Demo;
use crate::Failure;

/// Where the rotation scenario provisions its client and keys: the stack's clients table.
#[derive(Args)]
#[command(next_help_heading = "Key rotation (scenario 7)")]
pub struct RotationArgs {
    /// Skip the key rotation scenario (it writes a client and two keys to the clients table).
    #[arg(long)]
    no_rotation: bool,
    /// DynamoDB endpoint of the stack, for the rotation scenario's client and keys. Default:
    /// the SDK's (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL), else, for an API on loopback,
    /// `make run`'s DynamoDB Local (http://127.0.0.1:8000), else AWS itself.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Prefix of the stack's table names.
    #[arg(long, env = "TABLE_PREFIX", default_value = "replaysafe-")]
    table_prefix: String,
}

/// How many payments the loop makes before, between and after the key changes, at least.
const PAYMENTS_PER_PHASE: usize = 4;

impl Demo<'_> {
    pub(super) async fn key_rotation(&mut self, args: &RotationArgs) -> Result<(), Failure> {
        if args.no_rotation {
            return Ok(());
        }
        println!(
            "\n7. Key rotation while requests flow: a new client pays in a loop; a second key is \
             created, the signer switches to it, the first key is revoked"
        );
        let endpoint_url = args
            .endpoint_url
            .clone()
            .or_else(|| local_dynamodb(&self.api.endpoint));
        let store = Store::new(
            sdk_client(endpoint_url.as_deref()).await,
            Tables::with_prefix_and_env(&args.table_prefix),
        );
        let Some((client_id, first)) = self.new_client(&store).await else {
            return Ok(());
        };
        let signer_a = self.client_for(&first)?;
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let (from, to) = (format!("acc_rot_{tag}_a"), format!("acc_rot_{tag}_b"));
        for (id, balance) in [(&from, 100_000), (&to, 0)] {
            signer_a
                .create_account(&NewAccount::new("EUR", balance).with_id(id.as_str()))
                .await
                .map_err(|e| self.api.fail(e))?;
        }
        println!("   client {client_id}, key A = {client_id} (its first key)");

        // One operation begun under key A: retried under key B later, it must get A's answer.
        let carried = IdempotencyKey::new_v4();
        let carried_payment = NewTransfer::new(&from, &to, 7, "EUR").with_reference("carried");
        let under_a = signer_a
            .create_transfer_with_key(&carried_payment, carried.clone())
            .await
            .map_err(|e| self.api.fail(e))?;

        let (current, watched) = watch::channel((String::from("A"), signer_a));
        let (stop, stopped) = watch::channel(false);
        let (paid, mut progress) = watch::channel(0usize);
        let payer = tokio::spawn(pay_in_a_loop(
            watched,
            stopped,
            paid,
            from.clone(),
            to.clone(),
        ));
        // Each key change waits for a few more payments, however fast the stack answers.
        let mut phase = 0;
        let mut next_phase = async || {
            phase += PAYMENTS_PER_PHASE;
            let _ = progress.wait_for(|n| *n >= phase).await;
        };

        next_phase().await;
        let second = new_key(&store, &client_id).await?;
        println!("   key B = {} created", second.key_id());
        let signer_b = self.client_for(&second)?;
        current.send_replace(("B".into(), signer_b.clone()));
        println!("   the signer now uses key B");
        next_phase().await;
        store
            .revoke_key(&client_id, &KeyId::first_of(&client_id))
            .await
            .map_err(|e| Failure::Unreachable(format!("revoking key A failed: {e}")))?;
        println!("   key A revoked (refused within CLIENT_CACHE_SECONDS; B is unaffected)");
        next_phase().await;
        stop.send_replace(true);
        let outcome = payer.await.expect("the payment loop did not panic");

        let by_key = |k: &str| outcome.paid.iter().filter(|(key, _)| key == k).count();
        println!(
            "   {} payments: {} signed with key A, {} with key B, {} failed",
            outcome.paid.len(),
            by_key("A"),
            by_key("B"),
            outcome.failed.len()
        );
        for failure in &outcome.failed {
            println!("   failed: {failure}");
        }
        self.check(
            "7",
            outcome.failed.is_empty() && by_key("A") > 0 && by_key("B") > 0,
            "no request failed across the rotation".into(),
        );

        let under_b = signer_b
            .create_transfer_with_key(&carried_payment, carried)
            .await
            .map_err(|e| self.api.fail(e))?;
        self.check(
            "7",
            under_b.replayed && under_b.value.transfer_id == under_a.value.transfer_id,
            format!(
                "the operation begun under key A, retried under key B: {} again (replayed: {})",
                under_a.value.transfer_id, under_b.replayed
            ),
        );
        let moved = signer_b
            .get_account(&to)
            .await
            .map_err(|e| self.api.fail(e))?
            .value
            .balance;
        let expected = 7 + outcome.paid.len() as u64;
        self.check(
            "7",
            moved == expected,
            format!("{to} received {moved}: every payment once"),
        );
        Ok(())
    }

    /// A fresh client in the clients table, and the credentials of its first key; `None`, said
    /// on stdout, when the clients table cannot be written: the demo may run where the API is
    /// reachable and its DynamoDB is not.
    async fn new_client(&self, store: &Store) -> Option<(ClientId, Credentials)> {
        let record = ClientRecord {
            client_id: ClientId::generate(),
            secret: rand::random::<[u8; 32]>().to_vec(),
            active: true,
        };
        if let Err(e) = store.put_client(&record, SystemClock.now()).await {
            println!(
                "   skipped: the stack's clients table could not be written ({e}); \
                 --endpoint-url and --table-prefix name its DynamoDB"
            );
            return None;
        }
        let credentials = Credentials::new(
            record.client_id.to_string(),
            STANDARD.encode(&record.secret),
        );
        Some((record.client_id, credentials))
    }

    /// A client of the API signing with `credentials`, retrying as the demo's does.
    fn client_for(&self, credentials: &Credentials) -> Result<Client, Failure> {
        let policy = self.api.policy()?;
        Client::builder(&self.api.endpoint, credentials)
            .and_then(|b| b.retry_policy(policy).build())
            .map_err(|e| Failure::Usage(e.to_string()))
    }
}

/// A second key for `client_id`, as `admin create-key` makes one.
async fn new_key(store: &Store, client_id: &ClientId) -> Result<Credentials, Failure> {
    let secret = rand::random::<[u8; 32]>().to_vec();
    let key = NewKey {
        key_id: KeyId::generate(),
        alg: "hmac-sha256".into(),
        material: secret.clone(),
        expires_at: None,
    };
    store
        .create_key(client_id, &key, SystemClock.now())
        .await
        .map_err(|e| Failure::Unreachable(format!("creating key B failed: {e}")))?;
    Ok(
        Credentials::new(client_id.to_string(), STANDARD.encode(&secret))
            .with_key_id(key.key_id.as_str()),
    )
}

/// What the payment loop saw.
struct Outcome {
    /// Each payment made, with the key (A or B) it was signed with.
    paid: Vec<(String, String)>,
    failed: Vec<String>,
}

/// Pays 1 from `from` to `to`, again and again with whichever signer `current` holds, until told
/// to stop; `progress` counts the payments and failures.
async fn pay_in_a_loop(
    current: watch::Receiver<(String, Client)>,
    stop: watch::Receiver<bool>,
    progress: watch::Sender<usize>,
    from: String,
    to: String,
) -> Outcome {
    let mut outcome = Outcome {
        paid: Vec::new(),
        failed: Vec::new(),
    };
    while !*stop.borrow() {
        let (key, client) = current.borrow().clone();
        match client
            .create_transfer(&NewTransfer::new(&from, &to, 1, "EUR"))
            .await
        {
            Ok(created) => outcome.paid.push((key, created.value.transfer_id)),
            Err(e) => outcome.failed.push(format!("under key {key}: {e}")),
        }
        progress.send_replace(outcome.paid.len() + outcome.failed.len());
    }
    outcome
}

/// `make run`'s DynamoDB Local, when the API is on loopback and the environment names no
/// DynamoDB endpoint.
fn local_dynamodb(api_endpoint: &str) -> Option<String> {
    let named = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|u| !u.is_empty()));
    let host = api_endpoint
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or_default());
    let loopback = matches!(host, Some("127.0.0.1" | "localhost"));
    (!named && loopback).then(|| "http://127.0.0.1:8000".to_owned())
}
