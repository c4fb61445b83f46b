//! CloudWatch metrics, as Embedded Metric Format documents on stdout: one per request (per
//! record for a consumer), no extra calls.
//!
//! Every document is in the namespace `METRICS_NAMESPACE` (default `replaysafe`) and carries
//! two dimension sets: `[Service]` (what the alarms watch) and `[Service, Route, Outcome]` (what
//! the dashboard breaks down). `Service` is `METRICS_SERVICE` (default `replaysafe`; the
//! template sets the stack's name). Client ids and principals are properties, never
//! dimensions.
//!
//! - `Route` is the HTTP route key (`POST /transfers`) when the function knows it
//!   ([`crate::lambda::run`], [`crate::http::respond_route`]), else the Lambda function's name
//!   (`AWS_LAMBDA_FUNCTION_NAME`), else `unrouted`. For a record it is the source and the
//!   function, `sqs payouts` (the name [`crate::records::Consumer::named`] gives, else the
//!   Lambda function's name, else `local`).
//! - `Outcome` is `ok` for a fresh success, `replayed` for the key's stored answer, else the
//!   problem's code (`nonce-reused`, `insufficient-funds`, `internal`). For a record it is one
//!   of [`RECORD_OUTCOMES`].
//!
//! Every document carries every metric of [`METRIC_NAMES`], 0 when it did not happen, so an
//! alarm sees zeros rather than missing data. The properties beside them say which request it
//! was: `RequestId` (a record's `RecordId`), `Principal`, `Status`, `Code`; never a header
//! value, a body, a token, a signature or a secret. One HTTP request's document:
//!
//! ```json
//! {"_aws":{"CloudWatchMetrics":[{"Namespace":"replaysafe","Dimensions":[["Service"],["Service","Route","Outcome"]],"Metrics":[{"Name":"Requests"},{"Name":"Replayed"},{"Name":"NonceReused"},{"Name":"SignatureInvalid"},{"Name":"RequestStale"},{"Name":"KeyUnknown"},{"Name":"AttemptSuperseded"},{"Name":"KeyReused"},{"Name":"InProgress"},{"Name":"Unavailable"},{"Name":"ServerErrors"},{"Name":"TransactionRetries"},{"Name":"LeaseTakeovers"},{"Name":"Latency","Unit":"Milliseconds"}]}],"Timestamp":1763812800000},"Requests":1,"Replayed":0,"NonceReused":1,"SignatureInvalid":0,"RequestStale":0,"KeyUnknown":0,"AttemptSuperseded":0,"KeyReused":0,"InProgress":0,"Unavailable":0,"ServerErrors":0,"TransactionRetries":0,"LeaseTakeovers":0,"Latency":3.2,"Status":401,"Service":"replaysafe","Route":"POST /transfers","Outcome":"nonce-reused","RequestId":"3f6c1a52-0000-4000-8000-000000000001","Principal":"cli_4a75","Code":"nonce-reused"}
//! ```
//!
//! The documents are [metrique](https://docs.rs/metrique) unit-of-work entries in its EMF
//! format. Where they go is the guard's [`Metrics`] ([`crate::guard::GuardBuilder::metrics`]):
//! stdout in Lambda, where CloudWatch Logs turns them into metrics. An app's own unit of work
//! goes in the same namespace and dimensions through [`Scheme::emf`] and [`Scheme::dimensions`].

mod document;
mod tally;

use std::io::Write;

use metrique::emf::Emf;
use metrique::unit_of_work::metrics;
use metrique::writer::sink::FlushImmediatelyBuilder;
use metrique::writer::{BoxEntrySink, EntrySink, FormatExt};

#[cfg(feature = "lambda")]
pub(crate) use document::RecordOutcome;
pub(crate) use document::{Answered, Document};
#[cfg(feature = "lambda")]
pub(crate) use tally::noted;
pub(crate) use tally::{note, tallied, Tally};

/// One per request or record.
pub const REQUESTS: &str = "Requests";
/// 1 when the answer was the key's stored one (`Idempotent-Replayed: true`, or a duplicate
/// record): the flag a business metric filters on.
pub const REPLAYED: &str = "Replayed";
/// 401 `nonce-reused`: a captured request sent again.
pub const NONCE_REUSED: &str = "NonceReused";
/// 401 `signature-invalid`, `signature-missing` or `digest-mismatch`.
pub const SIGNATURE_INVALID: &str = "SignatureInvalid";
/// 401 `stale-request`.
pub const REQUEST_STALE: &str = "RequestStale";
/// 401 `unknown-key`.
pub const KEY_UNKNOWN: &str = "KeyUnknown";
/// 409 `attempt-superseded`.
pub const ATTEMPT_SUPERSEDED: &str = "AttemptSuperseded";
/// 422 `idempotency-key-reused` (a record under a key it does not match, too).
pub const KEY_REUSED: &str = "KeyReused";
/// 409 `request-in-progress` (a live lease included).
pub const IN_PROGRESS: &str = "InProgress";
/// 503 `unavailable` (a record left for redelivery, too).
pub const UNAVAILABLE: &str = "Unavailable";
/// Any 5xx.
pub const SERVER_ERRORS: &str = "ServerErrors";
/// Transactions sent again after a conflict or throttling.
pub const TRANSACTION_RETRIES: &str = "TransactionRetries";
/// Expired leases taken over.
pub const LEASE_TAKEOVERS: &str = "LeaseTakeovers";
/// Milliseconds from arrival to answer.
pub const LATENCY: &str = "Latency";

/// Every metric the library emits, in every document.
pub const METRIC_NAMES: &[&str] = &[
    REQUESTS,
    REPLAYED,
    NONCE_REUSED,
    SIGNATURE_INVALID,
    REQUEST_STALE,
    KEY_UNKNOWN,
    ATTEMPT_SUPERSEDED,
    KEY_REUSED,
    IN_PROGRESS,
    UNAVAILABLE,
    SERVER_ERRORS,
    TRANSACTION_RETRIES,
    LEASE_TAKEOVERS,
    LATENCY,
];

/// The dimension every alarm filters on.
pub const SERVICE_DIMENSION: &str = "Service";

/// The dimension that names the route (or a consumer's source and function).
pub const ROUTE_DIMENSION: &str = "Route";
/// The dimension that says how the request or record ended.
pub const OUTCOME_DIMENSION: &str = "Outcome";
/// The namespace when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "replaysafe";
/// The `Service` dimension's value when `METRICS_SERVICE` is unset.
pub const DEFAULT_SERVICE: &str = "replaysafe";
/// The `Route` of a request whose route nobody named, outside Lambda.
pub const UNROUTED: &str = "unrouted";
/// The function in a consumer's `Route` outside Lambda, when the consumer was not named.
pub const LOCAL_FUNCTION: &str = "local";
/// A fresh success's `Outcome`.
pub const OK: &str = "ok";
/// The `Outcome` of an answer that was the key's stored one.
pub const REPLAYED_OUTCOME: &str = "replayed";
/// Every `Outcome` of a record: its effect committed, it was already committed under its key,
/// the app refused it (stored as final), its key holds another body, it is invalid, or it
/// failed and is left for redelivery.
pub const RECORD_OUTCOMES: &[&str] = &[
    "executed",
    "duplicate",
    "refused",
    "key-reused",
    "invalid",
    "failed",
];

/// The two dimension sets every document carries.
pub fn dimension_sets() -> Vec<Vec<String>> {
    vec![
        vec![SERVICE_DIMENSION.into()],
        vec![
            SERVICE_DIMENSION.into(),
            ROUTE_DIMENSION.into(),
            OUTCOME_DIMENSION.into(),
        ],
    ]
}

/// What the documents are named by: the namespace, the `Service`, and the Lambda function
/// (for the `Route` of what has no route). Read from the environment once, at cold start.
///
/// An app's own unit of work (an audit run, a batch job) goes in the same namespace and
/// dimensions with metrique directly: [`Scheme::emf`] is the format, [`Scheme::dimensions`]
/// the three dimensions to flatten into the entry.
///
/// ```
/// use metrique::unit_of_work::metrics;
/// use metrique::writer::format::Format;
/// use metrique::writer::sink::FlushImmediatelyBuilder;
/// use metrique::writer::FormatExt;
/// use metrique::{CloseValue, RootEntry};
/// use replaysafe::metrics::{Dimensions, Scheme};
///
/// #[metrics(rename_all = "PascalCase")]
/// struct Audit {
///     #[metrics(flatten)]
///     dimensions: Dimensions,
///     ledger_violations: u64,
/// }
///
/// /// In the function: one document on stdout when the audit ends.
/// fn audit(scheme: &Scheme) {
///     let stdout = scheme.emf().output_to_makewriter(|| std::io::stdout().lock());
///     let sink = FlushImmediatelyBuilder::new().build_boxed(stdout);
///     let mut audit = Audit {
///         dimensions: scheme.dimensions("audit ledger", "ok"),
///         ledger_violations: 0,
///     }
///     .append_on_drop(sink);
///     audit.ledger_violations += 1;
/// }
///
/// // What that document is:
/// let scheme = Scheme::new("replaysafe", "payments-prod");
/// let entry = Audit {
///     dimensions: scheme.dimensions("audit ledger", "ok"),
///     ledger_violations: 1,
/// };
/// let mut line = Vec::new();
/// scheme.emf().format(&RootEntry::new(entry.close()), &mut line).unwrap();
/// let doc: serde_json::Value = serde_json::from_slice(&line).unwrap();
/// assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "replaysafe");
/// assert_eq!(doc["Service"], "payments-prod");
/// assert_eq!(doc["Route"], "audit ledger");
/// assert_eq!(doc["LedgerViolations"], 1);
/// # let _ = audit;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    namespace: String,
    service: String,
    function: Option<String>,
}

impl Scheme {
    /// `METRICS_NAMESPACE` and `METRICS_SERVICE` (each `replaysafe` when unset or empty), and
    /// the function Lambda runs (`AWS_LAMBDA_FUNCTION_NAME`).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            namespace: var("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
            service: var("METRICS_SERVICE").unwrap_or_else(|| DEFAULT_SERVICE.into()),
            function: var("AWS_LAMBDA_FUNCTION_NAME"),
        }
    }

    /// `namespace` and `service`, outside any Lambda function.
    pub fn new(namespace: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            service: service.into(),
            function: None,
        }
    }

    /// The same, as if in the Lambda function `name`.
    pub fn in_function(mut self, name: impl Into<String>) -> Self {
        self.function = Some(name.into());
        self
    }

    /// The CloudWatch namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The `Service` dimension's value.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The Lambda function this runs in, if any.
    pub fn function(&self) -> Option<&str> {
        self.function.as_deref()
    }

    /// metrique's EMF format for this namespace and the two dimension sets: an entry written
    /// with it must carry `Service`, `Route` and `Outcome` (flatten [`Scheme::dimensions`]).
    pub fn emf(&self) -> Emf {
        Emf::builder(self.namespace.clone(), dimension_sets()).build()
    }

    /// The three dimensions of a document for `route` that ended in `outcome`.
    pub fn dimensions(&self, route: impl Into<String>, outcome: impl Into<String>) -> Dimensions {
        Dimensions {
            service: self.service.clone(),
            route: route.into(),
            outcome: outcome.into(),
        }
    }
}

/// `Service`, `Route` and `Outcome`, to flatten into a metrique entry (see [`Scheme`]).
#[metrics(subfield_owned, rename_all = "PascalCase")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimensions {
    service: String,
    route: String,
    outcome: String,
}

/// Where a guard's documents go, and the [`Scheme`] they are named by: built once per cold
/// start ([`Metrics::from_env`] unless [`crate::guard::GuardBuilder::metrics`] says otherwise).
/// Each document is written whole, when its request or record ends: nothing is queued for
/// later, so a frozen or ended Lambda environment loses none.
///
/// ```
/// use replaysafe::metrics::{Metrics, Scheme};
///
/// // Every document on stdout, wherever this runs (another HTTP stack, a container whose
/// // stdout goes to CloudWatch Logs).
/// let metrics = Metrics::stdout(Scheme::from_env());
/// assert_eq!(metrics.scheme().namespace(), "replaysafe");
/// ```
#[derive(Clone)]
pub struct Metrics {
    scheme: Scheme,
    sink: Option<BoxEntrySink>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("scheme", &self.scheme)
            .field("writes", &self.sink.is_some())
            .finish()
    }
}

impl Metrics {
    /// [`Scheme::from_env`]; documents on stdout in Lambda (`AWS_LAMBDA_FUNCTION_NAME` set,
    /// `cargo lambda watch` included), where CloudWatch Logs reads them, and nowhere elsewhere,
    /// where stdout is a terminal or a test's output.
    pub fn from_env() -> Self {
        let scheme = Scheme::from_env();
        match scheme.function() {
            Some(_) => Self::stdout(scheme),
            None => Self::off(scheme),
        }
    }

    /// Every document on stdout, one line each, written under stdout's lock so that no log
    /// line lands inside it.
    pub fn stdout(scheme: Scheme) -> Self {
        let stream = scheme
            .emf()
            .output_to_makewriter(|| std::io::stdout().lock());
        Self::to_sink(scheme, FlushImmediatelyBuilder::new().build_boxed(stream))
    }

    /// Every document to `out`, one line each.
    pub fn to_writer(scheme: Scheme, out: impl Write + Send + Sync + 'static) -> Self {
        let stream = scheme.emf().output_to(out);
        Self::to_sink(scheme, FlushImmediatelyBuilder::new().build_boxed(stream))
    }

    /// Every document to a metrique sink of the caller's making (a background queue, a test
    /// sink); its format should be [`Scheme::emf`].
    pub fn to_sink(scheme: Scheme, sink: BoxEntrySink) -> Self {
        Self {
            scheme,
            sink: Some(sink),
        }
    }

    /// No documents at all.
    pub fn off(scheme: Scheme) -> Self {
        Self { scheme, sink: None }
    }

    /// What the documents are named by.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Writes `document` (a request's or a record's) now.
    pub(crate) fn emit(&self, document: Document) {
        if let Some(sink) = &self.sink {
            sink.append(metrique::RootEntry::new(metrique::CloseValue::close(
                document,
            )));
        }
    }
}
