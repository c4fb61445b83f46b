//! `replaysafe admin idempotency show|purge`: what the idempotency table holds under one key,
//! and removing it, as an operator does when a client must run an operation again under a key
//! it already used.

use std::io::{BufRead, IsTerminal, Write};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::{ArgGroup, Args, Subcommand};
use replaysafe::clock::rfc3339;
use replaysafe::idempotency::{IdempotencyKey, KeyState};
use replaysafe::store::inspect::KeyDelete;
use replaysafe::store::keys::KeyError;
use replaysafe::{ClientId, Clock, GuardError, Principal, Store, SystemClock};
use serde_json::{json, Value};

use super::Target;
use crate::Failure;

#[derive(Subcommand)]
pub enum IdempotencyCmd {
    /// Print what is stored under a key, as JSON: its state (answered, fenced, leased), the
    /// request's fingerprint, when it was written and expires, when it may be purged, and the
    /// stored answer's status, headers and size (its body only with --body). Never a secret.
    #[command(after_help = EXAMPLES)]
    Show(Show),
    /// Delete what is stored under a key, so that the key runs its operation again. Prints it
    /// first, asks on a terminal (--yes skips), and deletes only that item. Refused while an
    /// attempt signed before it was written could still arrive (--force overrides).
    #[command(after_help = EXAMPLES)]
    Purge(Purge),
}

const EXAMPLES: &str = "Examples:
  replaysafe admin idempotency show --client cli_7f3a --key invoice-42
  replaysafe admin idempotency show --sub alice --key invoice-42 --body
  replaysafe admin idempotency purge --client cli_7f3a --key invoice-42
  replaysafe admin idempotency purge --principal sub:YWxpY2U --key invoice-42 --yes

The key's owner: --client (a signing client's id), --sub (a JWT authorizer's sub claim), or
--principal (the principal as the tables store it, e.g. an account's owner attribute: a client
id, sub:<base64url> or src:<base64url>).

A key's item may be purged once no attempt signed before it was written can still pass the
freshness check: 2 × REPLAY_WINDOW_SECONDS + 60 s after an answer was written, and once a
refusal's fence has expired. The item keeps only its expiry, so the time it was written is
read as expires_at − IDEMPOTENCY_TTL_SECONDS: give the deployment's values (the stack's
ReplayWindowSeconds and IdempotencyTtlSeconds parameters). A TTL shorter than the real one
only makes the rule stricter (a payout's records live QUEUE_RETENTION_SECONDS).";

/// Whose key, and which.
#[derive(Args)]
#[command(group(ArgGroup::new("owner").required(true).args(["client", "sub", "principal"])))]
pub struct KeyArgs {
    /// A signing client's id.
    #[arg(long)]
    client: Option<String>,
    /// A principal a JWT authorizer vouched for: its `sub` claim.
    #[arg(long)]
    sub: Option<String>,
    /// The principal as stored: a client id, `sub:<base64url>` or `src:<base64url>`.
    #[arg(long)]
    principal: Option<String>,
    /// The Idempotency-Key, as the client sent it (`abc` or `"abc"`).
    #[arg(long)]
    key: String,
    /// The deployment's REPLAY_WINDOW_SECONDS.
    #[arg(long, env = "REPLAY_WINDOW_SECONDS", default_value_t = 300)]
    replay_window: i64,
    /// The deployment's IDEMPOTENCY_TTL_SECONDS.
    #[arg(long, env = "IDEMPOTENCY_TTL_SECONDS", default_value_t = 86_400)]
    idempotency_ttl: i64,
    #[command(flatten)]
    target: Target,
}

#[derive(Args)]
pub struct Show {
    #[command(flatten)]
    key: KeyArgs,
    /// Also print the stored body (or a lease's held state): it may hold business data.
    #[arg(long)]
    body: bool,
}

#[derive(Args)]
pub struct Purge {
    #[command(flatten)]
    key: KeyArgs,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long)]
    yes: bool,
    /// Purge even while an attempt signed before the item was written could still arrive: that
    /// attempt would then run the operation again.
    #[arg(long)]
    force: bool,
}

pub async fn run(cmd: IdempotencyCmd) -> Result<(), Failure> {
    match cmd {
        IdempotencyCmd::Show(args) => {
            let found = Found::read(&args.key).await?;
            println!("{}", found.view(args.body));
            Ok(())
        }
        IdempotencyCmd::Purge(args) => purge(args).await,
    }
}

async fn purge(args: Purge) -> Result<(), Failure> {
    let found = Found::read(&args.key).await?;
    println!("{}", found.view(false));
    let now = SystemClock.now();
    if let Some(why) = found.unsafe_to_purge(now) {
        if !args.force {
            return Err(Failure::Refused(format!(
                "not purged: {why} (--force purges anyway)"
            )));
        }
    }
    if !args.yes {
        confirm(&found)?;
    }
    match found
        .store
        .delete_key_state(&found.principal, &found.key, &found.state)
        .await
        .map_err(unreachable)?
    {
        KeyDelete::Deleted => {
            eprintln!("purged  {} {}", found.principal, found.key.as_str());
            Ok(())
        }
        KeyDelete::Changed => Err(Failure::Refused(
            "not purged: the key's item changed since it was read (run show again)".into(),
        )),
    }
}

/// Asks on the terminal; without one, `--yes` is the only way to say yes.
fn confirm(found: &Found) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "stdin is not a terminal: give --yes to purge without confirmation".into(),
        ));
    }
    eprint!(
        "purge the key {} of {}? a request with it will run again [y/N] ",
        found.key.as_str(),
        found.principal
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::Refused("not purged".into()))
    }
}

/// The item under a key, and where it was read.
struct Found {
    store: Store,
    principal: Principal,
    key: IdempotencyKey,
    state: KeyState,
    replay_window: i64,
    idempotency_ttl: i64,
}

impl Found {
    /// Checks the arguments before any call, then the owner, then reads the key's item.
    async fn read(args: &KeyArgs) -> Result<Self, Failure> {
        let key = IdempotencyKey::parse(Some(&args.key)).map_err(|_| {
            Failure::Usage(format!(
                "--key {:?}: an Idempotency-Key is 1 to 255 visible ASCII characters",
                args.key
            ))
        })?;
        for (name, value) in [
            ("--replay-window", args.replay_window),
            ("--idempotency-ttl", args.idempotency_ttl),
        ] {
            if value < 1 {
                return Err(Failure::Usage(format!("{name} must be at least 1 second")));
            }
        }
        let principal = principal(args)?;
        let store = args.target.store().await;
        // A client's key is looked up only once the client is known: a mistyped id says so
        // rather than "nothing stored". (A `sub:` or `src:` principal has no item of its own.)
        if let Ok(client) = ClientId::parse(principal.as_str()) {
            match store.list_keys(&client).await {
                Ok(_) => {}
                Err(KeyError::Store(e)) => return Err(unreachable(e)),
                Err(e) => return Err(Failure::Refused(e.to_string())),
            }
        }
        let state = store
            .read_key_state(&principal, &key)
            .await
            .map_err(unreachable)?
            .ok_or_else(|| {
                Failure::Refused(format!(
                    "nothing is stored under the key {} of {principal}",
                    key.as_str()
                ))
            })?;
        Ok(Self {
            store,
            principal,
            key,
            state,
            replay_window: args.replay_window,
            idempotency_ttl: args.idempotency_ttl,
        })
    }

    fn expires_at(&self) -> i64 {
        match &self.state {
            KeyState::Answered(r) => r.expires_at,
            KeyState::Fenced(f) => f.expires_at,
            KeyState::Leased(l) => l.expires_at,
        }
    }

    /// When the item was written, as far as it says: its expiry less the retention.
    fn written_at(&self) -> i64 {
        self.expires_at() - self.idempotency_ttl
    }

    /// From when no attempt signed before the item was written can pass freshness: an attempt
    /// signed up to a window ahead of the clock arrives up to two windows after the commit
    /// (`replaysafe::config::min_idempotency_ttl`); a fence covers its attempts until it
    /// expires. A lease has no such time: see [`Found::unsafe_to_purge`].
    fn purgeable_from(&self) -> Option<i64> {
        match &self.state {
            KeyState::Answered(_) => Some(self.written_at() + 2 * self.replay_window + 60),
            KeyState::Fenced(f) => Some(f.expires_at),
            KeyState::Leased(_) => None,
        }
    }

    /// Why purging now could run the operation twice, if it could.
    fn unsafe_to_purge(&self, now: i64) -> Option<String> {
        if let KeyState::Leased(l) = &self.state {
            return Some(format!(
                "the key holds a lease (until {}): its operation's outside effect is under way or \
                 was left so, and its held writes (a withdrawal's funds) wait for an attempt with \
                 this key to settle them",
                rfc3339(l.until)
            ));
        }
        let from = self.purgeable_from()?;
        (now < from).then(|| {
            format!(
                "it is inside the replay window until {} (2 × {} s + 60 s after it was written): \
                 an attempt signed before then could still arrive, and once the item is gone it \
                 would run the operation again",
                rfc3339(from),
                self.replay_window
            )
        })
    }

    /// The JSON `show` prints: never a secret; the stored body only when asked.
    fn view(&self, with_body: bool) -> Value {
        let now = SystemClock.now();
        let mut out = json!({
            "principal": self.principal.as_str(),
            "key": self.key.as_str(),
            "live": self.expires_at() > now,
            "expires": rfc3339(self.expires_at()),
            "purgeable_from": self.purgeable_from().map(rfc3339),
        });
        let more = match &self.state {
            KeyState::Answered(r) => {
                let mut response = json!({
                    "status": r.response.status,
                    "headers": r.response.headers,
                    "body_bytes": r.response.body.len(),
                });
                if with_body {
                    response["body"] = r.response.body.clone().into();
                }
                json!({
                    "state": "answered",
                    "fingerprint": r.fingerprint.as_str(),
                    "request_id": r.request_id,
                    "created": rfc3339(self.written_at()),
                    "response": response,
                })
            }
            KeyState::Fenced(f) => json!({
                "state": "fenced",
                "request_id": f.request_id,
                "fence": rfc3339(f.created),
                "refusal": {
                    "status": f.refusal.status,
                    "code": f.refusal.code,
                    "title": f.refusal.title,
                    "detail": f.refusal.detail,
                },
            }),
            KeyState::Leased(l) => {
                let mut lease = json!({
                    "until": rfc3339(l.until),
                    "held_bytes": l.held.len(),
                });
                if with_body {
                    lease["held"] = l.held.clone().into();
                }
                json!({
                    "state": "leased",
                    "fingerprint": l.fingerprint.as_str(),
                    "request_id": l.request_id,
                    "created": rfc3339(self.written_at()),
                    "lease": lease,
                })
            }
        };
        for (name, value) in more.as_object().expect("an object") {
            out[name] = value.clone();
        }
        out
    }
}

/// The key's owner, from whichever of --client, --sub, --principal was given.
fn principal(args: &KeyArgs) -> Result<Principal, Failure> {
    if let Some(client) = &args.client {
        let id = ClientId::parse(client).map_err(|e| Failure::Usage(e.to_string()))?;
        return Ok(Principal::client(&id));
    }
    if let Some(sub) = &args.sub {
        return Principal::authorized(sub)
            .ok_or_else(|| Failure::Usage("--sub: 1 to 255 characters".into()));
    }
    let stored = args.principal.as_deref().unwrap_or_default();
    let encoded = stored
        .strip_prefix("sub:")
        .or_else(|| stored.strip_prefix("src:"));
    let valid = match encoded {
        Some(b64) => !b64.is_empty() && URL_SAFE_NO_PAD.decode(b64).is_ok(),
        None => ClientId::parse(stored).is_ok(),
    };
    if !valid {
        return Err(Failure::Usage(format!(
            "--principal {stored:?}: a client id, sub:<base64url> or src:<base64url>"
        )));
    }
    Ok(Principal::from_stored(stored))
}

/// A store call that failed (exit 3), with its cause: the guard's own errors say only
/// "internal error" or "busy", as a client must see them.
fn unreachable(e: GuardError) -> Failure {
    match e.cause() {
        Some(cause) => Failure::Unreachable(format!("DynamoDB failed: {cause}")),
        None => Failure::Unreachable(format!("DynamoDB did not answer in time: {e}")),
    }
}
