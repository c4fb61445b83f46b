//! The ledger auditor: a function on the streams of the money tables (accounts, transfers,
//! payouts, withdrawals; `NEW_AND_OLD_IMAGES`) that checks, record by record, that every
//! balance change is explained by exactly one operation (docs/ledger-auditor.md).
//!
//! Every write to an account names the operation that made it (`last_operation`, see
//! [`crate::domain::Operation`]), and the operation's item is written in the same transaction,
//! so a balance change is checked by reading that one item (a consistent `GetItem`): it exists,
//! it is in the account's currency, it moves exactly the change, and the account is on its
//! side. The auditor's memory ([`memory`]) counts each leg once, so a redelivered record
//! counts nothing twice and an operation applied twice is seen. A violation is a finding
//! (one ERROR line of a fixed shape and a metric), never a retry; a record that could not be
//! checked (DynamoDB unavailable) is reported in the partial batch response.

mod memory;
mod violation;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_http::LambdaEvent;
use replaysafe::config::ConfigError;
use replaysafe::metrics::Scheme;
use replaysafe::store::attrs::{get_n, get_s, s, Item};
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use memory::{Direction, Leg, Memory, CHECKED_MARK_SECONDS};
pub use violation::{Violation, ViolationKind, METRIC_ROUTE};

use crate::domain::Operation;
use crate::store::{PaymentsStore, PaymentsTables};

/// Why a record could not be checked: it is delivered again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A DynamoDB call failed.
    #[error("DynamoDB: {0}")]
    Unavailable(String),
}

/// What the auditor found in one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Checked: nothing wrong.
    Clean,
    /// Checked: these violations (each logged, and counted in the record's metric).
    Violations(Vec<Violation>),
    /// Checked to the end before: counted nothing this time.
    Redelivered,
    /// Not checked (reported in the partial batch response).
    Unavailable(AuditError),
}

impl Outcome {
    /// The `Outcome` dimension: `clean`, the first violation's kind, `redelivered` or
    /// `unavailable`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Clean => "clean",
            Self::Violations(found) => found.first().map_or("clean", |v| v.kind.as_str()),
            Self::Redelivered => "redelivered",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// The kinds found, in the order found.
    pub fn kinds(&self) -> Vec<ViolationKind> {
        match self {
            Self::Violations(found) => found.iter().map(|v| v.kind).collect(),
            _ => Vec::new(),
        }
    }
}

/// One batch's audit: each record's outcome (by sequence number), and the answer to Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchAudit {
    /// Each record of the batch that was looked at, in order, with its sequence number.
    pub records: Vec<(String, Outcome)>,
    /// The partial batch response: the first record that could not be checked (Lambda
    /// delivers it and every later record of the shard again).
    pub response: DynamoDbEventResponse,
}

impl BatchAudit {
    /// Every violation kind found, in order.
    pub fn kinds(&self) -> Vec<ViolationKind> {
        self.records.iter().flat_map(|(_, o)| o.kinds()).collect()
    }
}

/// What the `ledger-auditor` function gets: the app's tables and where its metrics go, built
/// once per cold start.
pub struct Auditor {
    store: PaymentsStore,
    memory: Memory,
    metrics: Scheme,
}

impl Auditor {
    /// On a store of the caller's making; its memory is the store's audit table.
    pub fn new(store: PaymentsStore, metrics: Scheme) -> Self {
        let memory = Memory::new(store.client().clone(), store.tables().audit.clone());
        Self {
            store,
            memory,
            metrics,
        }
    }

    /// The tables from the environment (`TABLE_PREFIX`, `*_TABLE`), metrics from
    /// `METRICS_NAMESPACE` and `METRICS_SERVICE`.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let client = replaysafe::store::sdk_client(None).await;
        let store = PaymentsStore::new(client, PaymentsTables::from_env());
        Ok(Self::new(store, Scheme::from_env()))
    }

    /// The app's tables.
    pub fn store(&self) -> &PaymentsStore {
        &self.store
    }

    /// Audits a batch in order. A violation is logged and counted; the first record that
    /// cannot be checked is reported, and the records after it are left for the redelivery
    /// (their order matters: a leg is counted at the version the record carries).
    pub async fn audit(&self, event: &Event) -> BatchAudit {
        let mut records = Vec::new();
        let mut response = DynamoDbEventResponse::default();
        for record in &event.records {
            let sequence = record.change.sequence_number.clone().unwrap_or_default();
            // Boxed: the checks' SDK futures nest deep enough to overflow the compiler's
            // layout queries in the function's `main`.
            let outcome = Box::pin(self.audit_record(record)).await;
            violation::emit(
                &self.metrics,
                outcome.name(),
                match &outcome {
                    Outcome::Violations(found) => found.len(),
                    _ => 0,
                },
            );
            let stop = matches!(outcome, Outcome::Unavailable(_));
            if let Outcome::Unavailable(e) = &outcome {
                tracing::warn!(event_id = %record.event_id, error = %e, "record not checked: delivered again");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence.clone());
                response.batch_item_failures.push(failure);
            }
            records.push((sequence, outcome));
            if stop {
                break;
            }
        }
        BatchAudit { records, response }
    }

    async fn audit_record(&self, record: &EventRecord) -> Outcome {
        let checked = async {
            if self.memory.was_checked(&record.event_id).await? {
                return Ok(None);
            }
            let found = self.check(record).await?;
            for violation in &found {
                violation.log(&record.event_id);
            }
            self.memory.checked(&record.event_id, now()).await?;
            Ok(Some(found))
        };
        match checked.await {
            Ok(None) => Outcome::Redelivered,
            Ok(Some(found)) if found.is_empty() => Outcome::Clean,
            Ok(Some(found)) => Outcome::Violations(found),
            Err(e) => Outcome::Unavailable(e),
        }
    }

    /// The violations in one record.
    async fn check(&self, record: &EventRecord) -> Result<Vec<Violation>, AuditError> {
        let Some(table) = self.table_of(record) else {
            tracing::warn!(event_id = %record.event_id, "a record of a table the auditor does not read: skipped");
            return Ok(Vec::new());
        };
        let at = Found::new(table);
        let change = &record.change;
        if record.event_name == "REMOVE" {
            let key = item::<Keyed>(&change.keys).ok();
            return Ok(vec![at
                .with_keys(table, key.as_ref())
                .of(ViolationKind::Removed)]);
        }
        match table {
            "accounts" => self.check_account(record, at).await,
            "transfers" if record.event_name == "INSERT" => {
                let Ok(t) = item::<TransferImage>(&change.new_image) else {
                    return Ok(vec![at.of(ViolationKind::MalformedItem)]);
                };
                let at = at.operation(Operation::Transfer(t.transfer_id.clone()).to_string());
                let mut found = Vec::new();
                if t.amount <= 0 {
                    found.push(at.of(ViolationKind::InvalidAmount));
                }
                for account in [&t.from, &t.to] {
                    if self
                        .currency_of(account)
                        .await?
                        .is_some_and(|c| c != t.currency)
                    {
                        found.push(at.account(account).of(ViolationKind::CurrencyMismatch));
                    }
                }
                Ok(found)
            }
            "withdrawals" if record.event_name == "INSERT" => {
                let Ok(w) = item::<WithdrawalImage>(&change.new_image) else {
                    return Ok(vec![at.of(ViolationKind::MalformedItem)]);
                };
                let at = at
                    .operation(Operation::Withdrawal(w.withdrawal_id.clone()).to_string())
                    .account(&w.from);
                let mut found = Vec::new();
                if w.amount <= 0 {
                    found.push(at.of(ViolationKind::InvalidAmount));
                }
                if self
                    .currency_of(&w.from)
                    .await?
                    .is_some_and(|c| c != w.currency)
                {
                    found.push(at.of(ViolationKind::CurrencyMismatch));
                }
                Ok(found)
            }
            "payouts" if record.event_name == "INSERT" => self.check_payout(record, at).await,
            // A withdrawal settling, or anything else that moves no money.
            _ => Ok(Vec::new()),
        }
    }

    async fn check_account(
        &self,
        record: &EventRecord,
        at: Found,
    ) -> Result<Vec<Violation>, AuditError> {
        let Ok(new) = item::<AccountImage>(&record.change.new_image) else {
            return Ok(vec![at.of(ViolationKind::MalformedItem)]);
        };
        let at = at.account(&new.account_id);
        let (mut kinds, at) = match record.event_name.as_str() {
            "MODIFY" => self.explain(record, &new, at).await?,
            _ => (Vec::new(), at),
        };
        if new.balance < 0 {
            kinds.push(ViolationKind::NegativeBalance);
        }
        Ok(kinds.into_iter().map(|k| at.of(k)).collect())
    }

    /// What is wrong with an account change by the operation it names, and where (the account,
    /// and the operation once it is known).
    async fn explain(
        &self,
        record: &EventRecord,
        new: &AccountImage,
        at: Found,
    ) -> Result<(Vec<ViolationKind>, Found), AuditError> {
        let Ok(old) = item::<AccountImage>(&record.change.old_image) else {
            return Ok((vec![ViolationKind::MalformedItem], at));
        };
        let delta = new.balance - old.balance;
        if delta == 0 {
            return Ok((Vec::new(), at));
        }
        // A real write names its operation and bumps the version; a write that did neither
        // moved money on its own.
        let named = new
            .last_operation
            .as_deref()
            .filter(|_| new.version > old.version);
        let Some(named) = named else {
            return Ok((vec![ViolationKind::NoOperation], at));
        };
        let at = at.operation(named.to_owned());
        let lookup = match Operation::parse(named) {
            Some(Operation::Transfer(id)) => self.transfer(&id).await?,
            Some(Operation::Withdrawal(id)) => self.withdrawal(&id).await?,
            // Opening sets a balance; it never changes one.
            Some(Operation::Open) => return Ok((vec![ViolationKind::NoOperation], at)),
            None => None,
        };
        let Some(op) = lookup else {
            return Ok((vec![ViolationKind::UnknownOperation], at));
        };
        let direction = if delta < 0 {
            Direction::Debit
        } else {
            Direction::Credit
        };
        let mut broken = Vec::new();
        if op.currency != new.currency {
            broken.push(ViolationKind::CurrencyMismatch);
        }
        if delta.unsigned_abs() != op.amount.unsigned_abs() {
            broken.push(ViolationKind::AmountMismatch);
        }
        let side = match direction {
            Direction::Debit => op.debits == new.account_id,
            Direction::Credit => op.credits.as_deref() == Some(new.account_id.as_str()),
        };
        if !side {
            broken.push(ViolationKind::WrongSide);
        }
        let leg = self
            .memory
            .leg(named, &new.account_id, direction, new.version, now())
            .await?;
        if let Leg::AppliedBefore { version } = leg {
            tracing::debug!(
                first_version = version,
                "the leg was counted at another version"
            );
            broken.push(ViolationKind::AppliedTwice);
        }
        Ok((broken, at))
    }

    async fn check_payout(
        &self,
        record: &EventRecord,
        at: Found,
    ) -> Result<Vec<Violation>, AuditError> {
        let Ok(p) = item::<PayoutImage>(&record.change.new_image) else {
            return Ok(vec![at.of(ViolationKind::MalformedItem)]);
        };
        let at = at.operation(format!("payout#{}", p.payout_key));
        if p.status != "paid" {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        if p.amount <= 0 {
            found.push(at.of(ViolationKind::InvalidAmount));
        }
        let transfer = match &p.transfer_id {
            Some(id) => self.transfer(id).await?,
            None => None,
        };
        let Some(t) = transfer else {
            found.push(at.of(ViolationKind::UnknownOperation));
            return Ok(found);
        };
        if t.amount != p.amount {
            found.push(at.of(ViolationKind::AmountMismatch));
        }
        if t.currency != p.currency {
            found.push(at.of(ViolationKind::CurrencyMismatch));
        }
        if t.debits != p.from || t.credits.as_deref() != Some(p.to.as_str()) {
            found.push(at.of(ViolationKind::WrongSide));
        }
        Ok(found)
    }

    /// The logical name of the table a record comes from, by its stream's ARN
    /// (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`).
    fn table_of(&self, record: &EventRecord) -> Option<&'static str> {
        let arn = record.event_source_arn.as_deref()?;
        let name = arn.split_once(":table/")?.1.split('/').next()?;
        self.store
            .tables()
            .streamed()
            .into_iter()
            .find(|(_, physical)| *physical == name)
            .map(|(logical, _)| logical)
    }

    async fn get(&self, table: &str, key: &str, id: &str) -> Result<Option<Item>, AuditError> {
        let out = self
            .store
            .client()
            .get_item()
            .table_name(table)
            .key(key, s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(memory::unavailable)?;
        Ok(out.item)
    }

    async fn currency_of(&self, account_id: &str) -> Result<Option<String>, AuditError> {
        let item = self
            .get(&self.store.tables().accounts, "account_id", account_id)
            .await?;
        Ok(item.and_then(|a| get_s(&a, "currency").map(str::to_owned)))
    }

    async fn transfer(&self, id: &str) -> Result<Option<Moves>, AuditError> {
        let item = self
            .get(&self.store.tables().transfers, "transfer_id", id)
            .await?;
        Ok(item.and_then(|t| {
            Some(Moves {
                amount: get_n(&t, "amount")?,
                currency: get_s(&t, "currency")?.to_owned(),
                debits: get_s(&t, "from")?.to_owned(),
                credits: Some(get_s(&t, "to")?.to_owned()),
            })
        }))
    }

    /// A withdrawal takes from its account, and pays it back only once refused.
    async fn withdrawal(&self, id: &str) -> Result<Option<Moves>, AuditError> {
        let item = self
            .get(&self.store.tables().withdrawals, "withdrawal_id", id)
            .await?;
        Ok(item.and_then(|w| {
            let from = get_s(&w, "from")?.to_owned();
            Some(Moves {
                amount: get_n(&w, "amount")?,
                currency: get_s(&w, "currency")?.to_owned(),
                credits: (get_s(&w, "status") == Some("refused")).then(|| from.clone()),
                debits: from,
            })
        }))
    }
}

/// The `ledger-auditor` function's handler: audits the batch, answers the partial batch
/// response.
pub async fn audit_ledger(app: &Auditor, event: LambdaEvent<Event>) -> DynamoDbEventResponse {
    app.audit(&event.payload).await.response
}

/// What an operation moves: `amount` in `currency`, from `debits` to `credits` (if anyone).
struct Moves {
    amount: i64,
    currency: String,
    debits: String,
    credits: Option<String>,
}

/// Where a violation was found, filled in as the check learns the keys.
#[derive(Clone)]
struct Found {
    table: &'static str,
    account_id: Option<String>,
    operation: Option<String>,
}

impl Found {
    fn new(table: &'static str) -> Self {
        Self {
            table,
            account_id: None,
            operation: None,
        }
    }

    fn account(&self, id: &str) -> Self {
        Self {
            account_id: Some(id.to_owned()),
            ..self.clone()
        }
    }

    fn operation(&self, name: String) -> Self {
        Self {
            operation: Some(name),
            ..self.clone()
        }
    }

    /// The keys of a removed item, by its table.
    fn with_keys(&self, table: &str, keys: Option<&Keyed>) -> Self {
        let Some(k) = keys else {
            return self.clone();
        };
        match table {
            "accounts" => k
                .account_id
                .as_deref()
                .map_or(self.clone(), |a| self.account(a)),
            "transfers" => k.transfer_id.as_ref().map_or(self.clone(), |t| {
                self.operation(Operation::Transfer(t.clone()).to_string())
            }),
            "withdrawals" => k.withdrawal_id.as_ref().map_or(self.clone(), |w| {
                self.operation(Operation::Withdrawal(w.clone()).to_string())
            }),
            _ => k
                .payout_key
                .as_ref()
                .map_or(self.clone(), |p| self.operation(format!("payout#{p}"))),
        }
    }

    fn of(&self, kind: ViolationKind) -> Violation {
        Violation {
            kind,
            table: self.table,
            account_id: self.account_id.clone(),
            operation: self.operation.clone(),
        }
    }
}

fn item<T: DeserializeOwned>(image: &serde_dynamo::Item) -> Result<T, serde_dynamo::Error> {
    serde_dynamo::from_item(image.clone())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What the auditor reads of an account image (a balance may be negative in a bad one).
#[derive(Deserialize)]
struct AccountImage {
    account_id: String,
    currency: String,
    balance: i64,
    #[serde(default)]
    version: i64,
    #[serde(default)]
    last_operation: Option<String>,
}

#[derive(Deserialize)]
struct TransferImage {
    transfer_id: String,
    from: String,
    to: String,
    amount: i64,
    currency: String,
}

#[derive(Deserialize)]
struct WithdrawalImage {
    withdrawal_id: String,
    from: String,
    amount: i64,
    currency: String,
}

#[derive(Deserialize)]
struct PayoutImage {
    payout_key: String,
    status: String,
    from: String,
    to: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    transfer_id: Option<String>,
}

/// A record's keys, whichever table it is of.
#[derive(Deserialize)]
struct Keyed {
    account_id: Option<String>,
    transfer_id: Option<String>,
    withdrawal_id: Option<String>,
    payout_key: Option<String>,
}
