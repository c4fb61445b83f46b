//! CloudWatch metrics, as Embedded Metric Format documents on stdout: one per request (per
//! record for a consumer), no extra calls.
//!
//! Every document is in the namespace `METRICS_NAMESPACE` (default `replaysafe`) and carries
//! two dimension sets: `[Service]` (what the alarms watch) and `[Service, Route, Outcome]` (what
//! the dashboard breaks down). `Service` is `METRICS_SERVICE` (default `replaysafe`; the
//! template sets the stack's name). Client ids and principals are properties, never
//! dimensions.

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
