//! The one document a request or a record ends with, and how its outcome and counters follow
//! from how it ended.

use std::time::Duration;

use metrique::emf::flags::NoMetric;
use metrique::timers::Timestamp;
use metrique::unit::Millisecond;
use metrique::unit_of_work::metrics;

use super::{Dimensions, Scheme, Tally, OK, REPLAYED_OUTCOME};

/// One request's or record's document. Its metric fields are [`super::METRIC_NAMES`], in
/// that order (a test holds them to it); the rest are dimensions and properties.
#[metrics(rename_all = "PascalCase")]
pub(crate) struct Document {
    #[metrics(timestamp)]
    timestamp: Timestamp,
    #[metrics(flatten)]
    dimensions: Dimensions,
    requests: u32,
    replayed: u32,
    nonce_reused: u32,
    signature_invalid: u32,
    request_stale: u32,
    key_unknown: u32,
    attempt_superseded: u32,
    key_reused: u32,
    in_progress: u32,
    unavailable: u32,
    server_errors: u32,
    transaction_retries: u32,
    lease_takeovers: u32,
    #[metrics(unit = Millisecond)]
    latency: Duration,
    request_id: Option<String>,
    record_id: Option<String>,
    principal: Option<String>,
    #[metrics(flags(NoMetric))]
    status: Option<u16>,
    code: Option<String>,
}

/// How an HTTP request ended, as its log line says it.
pub(crate) struct Answered<'a> {
    /// The route key, or what stands for it (see the module docs of `metrics`).
    pub route: &'a str,
    pub request_id: &'a str,
    pub status: u16,
    /// The problem's code, when the answer was an error.
    pub code: Option<&'a str>,
    /// Whether the answer was the key's stored one.
    pub replayed: bool,
    pub latency: Duration,
}

/// How a record ended (its `Outcome`).
#[cfg(feature = "lambda")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordOutcome {
    Executed,
    Duplicate,
    Refused,
    KeyReused,
    Invalid,
    Failed,
}

#[cfg(feature = "lambda")]
impl RecordOutcome {
    #[cfg(test)]
    pub(crate) const ALL: [Self; 6] = [
        Self::Executed,
        Self::Duplicate,
        Self::Refused,
        Self::KeyReused,
        Self::Invalid,
        Self::Failed,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Executed => "executed",
            Self::Duplicate => "duplicate",
            Self::Refused => "refused",
            Self::KeyReused => "key-reused",
            Self::Invalid => "invalid",
            Self::Failed => "failed",
        }
    }
}

impl Document {
    /// An HTTP request's document.
    pub(crate) fn http(scheme: &Scheme, answered: Answered<'_>, tally: Tally) -> Self {
        let outcome = match (answered.replayed, answered.code) {
            (true, _) => REPLAYED_OUTCOME.to_owned(),
            (false, Some(code)) => code.to_owned(),
            // An error answered without a problem code: its status stands in.
            (false, None) if answered.status >= 400 => answered.status.to_string(),
            (false, None) => OK.to_owned(),
        };
        let mut doc = Self::new(scheme.dimensions(answered.route, outcome), tally);
        doc.latency = answered.latency;
        doc.request_id = Some(answered.request_id.to_owned());
        doc.replayed = answered.replayed.into();
        doc.counted(answered.code, answered.status)
    }

    /// A record's document; `refusal` is the status and code it was refused or failed with.
    #[cfg(feature = "lambda")]
    pub(crate) fn record(
        scheme: &Scheme,
        route: &str,
        record_id: Option<&str>,
        outcome: RecordOutcome,
        refusal: Option<(u16, &str)>,
        tally: Tally,
        latency: Duration,
    ) -> Self {
        let mut doc = Self::new(scheme.dimensions(route, outcome.as_str()), tally);
        doc.latency = latency;
        doc.record_id = record_id.map(str::to_owned);
        match outcome {
            RecordOutcome::Duplicate => doc.replayed = 1,
            RecordOutcome::KeyReused => doc.key_reused = 1,
            _ => {}
        }
        if let Some((status, code)) = refusal {
            doc = doc.counted(Some(code), status);
        }
        if outcome == RecordOutcome::Failed {
            // Left for redelivery, whatever the cause: the consumer's `Unavailable`.
            doc.unavailable = 1;
        }
        doc
    }

    fn new(dimensions: Dimensions, tally: Tally) -> Self {
        Self {
            timestamp: Timestamp::now(),
            dimensions,
            requests: 1,
            replayed: 0,
            nonce_reused: 0,
            signature_invalid: 0,
            request_stale: 0,
            key_unknown: 0,
            attempt_superseded: 0,
            key_reused: 0,
            in_progress: 0,
            unavailable: 0,
            server_errors: 0,
            transaction_retries: tally.transaction_retries,
            lease_takeovers: tally.lease_takeovers,
            latency: Duration::ZERO,
            request_id: None,
            record_id: None,
            principal: tally.principal,
            status: None,
            code: None,
        }
    }

    /// The counters a problem `code` and a `status` stand for, and both as properties.
    fn counted(mut self, code: Option<&str>, status: u16) -> Self {
        let counter = match code.unwrap_or_default() {
            "nonce-reused" => Some(&mut self.nonce_reused),
            "signature-invalid" | "signature-missing" | "digest-mismatch" => {
                Some(&mut self.signature_invalid)
            }
            "stale-request" => Some(&mut self.request_stale),
            "unknown-key" => Some(&mut self.key_unknown),
            "attempt-superseded" => Some(&mut self.attempt_superseded),
            "idempotency-key-reused" => Some(&mut self.key_reused),
            "request-in-progress" => Some(&mut self.in_progress),
            _ => None,
        };
        if let Some(counter) = counter {
            *counter = 1;
        }
        self.unavailable = (status == 503).into();
        self.server_errors = (status >= 500).into();
        self.status = Some(status);
        self.code = code.map(str::to_owned);
        self
    }
}

#[cfg(test)]
mod tests {
    use metrique::writer::format::Format;
    use metrique::{CloseValue, RootEntry};

    use super::*;
    use crate::metrics::METRIC_NAMES;

    fn scheme() -> Scheme {
        Scheme::new("replaysafe", "test")
    }

    fn line(doc: Document) -> serde_json::Value {
        let mut out = Vec::new();
        scheme()
            .emf()
            .format(&RootEntry::new(doc.close()), &mut out)
            .expect("a valid entry");
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with('\n') && text.matches('\n').count() == 1,
            "{text}"
        );
        serde_json::from_str(&text).unwrap()
    }

    fn http(status: u16, code: Option<&str>, replayed: bool) -> serde_json::Value {
        let answered = Answered {
            route: "POST /orders",
            request_id: "r-1",
            status,
            code,
            replayed,
            latency: Duration::from_micros(1500),
        };
        line(Document::http(&scheme(), answered, Tally::default()))
    }

    #[test]
    fn a_document_declares_exactly_the_contract_metrics_in_order() {
        let doc = http(201, None, false);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, METRIC_NAMES);
        assert_eq!(directive["Metrics"][13]["Unit"], "Milliseconds");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Service"], ["Service", "Route", "Outcome"]])
        );
        assert_eq!(doc["Latency"], 1.5);
        assert_eq!(doc["Status"], 201);
        assert_eq!(doc["Outcome"], "ok");
    }

    #[test]
    fn each_code_sets_its_one_counter() {
        let cases = [
            ("nonce-reused", 401, "NonceReused"),
            ("signature-invalid", 401, "SignatureInvalid"),
            ("signature-missing", 401, "SignatureInvalid"),
            ("digest-mismatch", 400, "SignatureInvalid"),
            ("stale-request", 401, "RequestStale"),
            ("unknown-key", 401, "KeyUnknown"),
            ("attempt-superseded", 409, "AttemptSuperseded"),
            ("idempotency-key-reused", 422, "KeyReused"),
            ("request-in-progress", 409, "InProgress"),
        ];
        for (code, status, metric) in cases {
            let doc = http(status, Some(code), false);
            assert_eq!(doc["Outcome"], code);
            assert_eq!(doc["Code"], code);
            for name in &METRIC_NAMES[1..METRIC_NAMES.len() - 1] {
                let want = u64::from(*name == metric);
                assert_eq!(doc[*name], want, "{code}: {name}");
            }
        }
        let busy = http(503, Some("unavailable"), false);
        assert_eq!(
            (&busy["Unavailable"], &busy["ServerErrors"]),
            (&1.into(), &1.into())
        );
        let broken = http(500, Some("internal"), false);
        assert_eq!(
            (&broken["Unavailable"], &broken["ServerErrors"]),
            (&0.into(), &1.into())
        );
        let refused = http(409, Some("insufficient-funds"), false);
        assert_eq!(refused["Outcome"], "insufficient-funds");
    }

    #[test]
    fn a_stored_answer_is_replayed_whatever_its_status() {
        for status in [201, 409] {
            let doc = http(status, None, true);
            assert_eq!(
                (&doc["Outcome"], &doc["Replayed"]),
                (&"replayed".into(), &1.into())
            );
        }
    }

    #[cfg(feature = "lambda")]
    #[test]
    fn a_record_counts_by_how_it_ended() {
        assert_eq!(
            RecordOutcome::ALL.map(RecordOutcome::as_str).as_slice(),
            crate::metrics::RECORD_OUTCOMES
        );
        let record = |outcome, refusal| {
            let tally = Tally {
                transaction_retries: 2,
                ..Tally::default()
            };
            let at = Some("m-1");
            line(Document::record(
                &scheme(),
                "sqs local",
                at,
                outcome,
                refusal,
                tally,
                Duration::ZERO,
            ))
        };
        let duplicate = record(RecordOutcome::Duplicate, None);
        assert_eq!(duplicate["Replayed"], 1);
        assert_eq!(duplicate["TransactionRetries"], 2);
        assert_eq!(duplicate["RecordId"], "m-1");
        assert_eq!(duplicate["Route"], "sqs local");
        let reused = record(
            RecordOutcome::KeyReused,
            Some((422, "idempotency-key-reused")),
        );
        assert_eq!(reused["KeyReused"], 1);
        let failed = record(RecordOutcome::Failed, Some((409, "request-in-progress")));
        assert_eq!(
            (&failed["Unavailable"], &failed["InProgress"]),
            (&1.into(), &1.into())
        );
        let refused = record(RecordOutcome::Refused, Some((409, "insufficient-funds")));
        assert_eq!(
            (&refused["Outcome"], &refused["Code"]),
            (&"refused".into(), &"insufficient-funds".into())
        );
    }
}
