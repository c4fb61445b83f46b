//! The one table of endpoints: method, route, Lambda function, handler and the DynamoDB grants
//! its function needs. Everything else about an endpoint is derived from it: the test
//! dispatchers route through it, and `make endpoints` writes from it the function packages
//! (`functions/<name>/`), the cargo-lambda router in `Cargo.toml`, each function's resources in
//! `template.yaml` (function, least-privilege role, log group, route, output) and the sample
//! event `events/<name>.json`. The consumer table ([`CONSUMERS`]) does the same for the
//! functions an SQS queue invokes, with their queues, and the stream consumer table
//! ([`STREAM_CONSUMERS`]) for the functions the tables' DynamoDB streams invoke. The deploy tests
//! (`tests/tests/deploy.rs`) fail when any of those is stale, and check the table against
//! `openapi.yaml`, which stays hand-written.
//!
//! Adding an endpoint: write its handler (in `endpoints/`, re-exported at the crate root), add
//! its row below, add its path to `openapi.yaml`, run `make endpoints`.

use lambda_http::{Body, Request, Response};
pub use replaysafe::store::grants::{
    Grant, KmsGrant, GUARD_GRANTS, GUARD_KMS_GRANTS, GUARD_LEASE_GRANTS, GUARD_POST_GRANTS,
};

use crate::Payments;

const fn grant(sid: &'static str, table: &'static str, actions: &'static [&'static str]) -> Grant {
    Grant::new(sid, table, actions)
}

/// One row of the endpoint table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The endpoint, as the variant that serves it.
    pub endpoint: Route,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// The route as API Gateway spells it: `{param}` matches one non-empty segment.
    pub route: &'static str,
    /// The Lambda function: package and binary `functions/<function>/`, sample event
    /// `events/<function>.json`.
    pub function: &'static str,
    /// The handler's name at the crate root (`payments::<handler>`).
    pub handler: &'static str,
    /// The DynamoDB calls the handler itself makes, beyond the guard's.
    pub grants: &'static [Grant],
}

impl Row {
    /// `"METHOD /route"`, as API Gateway names a route and `replaysafe::lambda::run` takes it.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.route)
    }

    /// Every DynamoDB grant the function needs: the guard's (for every request, and for a
    /// POST), then the handler's own.
    pub fn all_grants(&self) -> Vec<Grant> {
        let mut all = GUARD_GRANTS.to_vec();
        if self.method == "POST" {
            all.extend(GUARD_POST_GRANTS);
        }
        all.extend(self.grants);
        all
    }

    /// The KMS grants the function needs: every HTTP function verifies signatures, so it opens
    /// the data key HMAC secrets are sealed under (`kms:Decrypt`, once per warm function).
    pub fn kms_grants(&self) -> &'static [KmsGrant] {
        &GUARD_KMS_GRANTS
    }
}

/// The endpoint table: each row names its variant, method, route, function and handler, and
/// the grants the handler's own DynamoDB calls need. Expands to [`Route`], [`ENDPOINTS`]
/// and [`Route::serve`], so a row is the only place an endpoint is listed.
macro_rules! endpoints {
    ($(
        $variant:ident: $method:literal $route:literal => $function:literal, $handler:ident,
            grants [$($grant:expr),* $(,)?];
    )*) => {
        /// One endpoint of the API, by its route (not to be confused with the library's
        /// `replaysafe::lambda::Endpoint`, the handler trait each of these serves through).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Route {
            $(
                #[doc = concat!("`", $method, " ", $route, "`: `", stringify!($handler), "`")]
                $variant,
            )*
        }

        /// Every endpoint, in the order the generated files list them.
        pub const ENDPOINTS: &[Row] = &[$(
            Row {
                endpoint: Route::$variant,
                method: $method,
                route: $route,
                function: $function,
                handler: stringify!($handler),
                grants: &[$($grant),*],
            },
        )*];

        impl Route {
            /// Serves `req` with this endpoint's handler, as its function does (its metric
            /// document names this route).
            pub async fn serve(self, app: &Payments, req: &Request) -> Response<Body> {
                use replaysafe::lambda::serve_route;
                match self {
                    $(Route::$variant => {
                        serve_route(app, concat!($method, " ", $route), req, crate::$handler).await
                    })*
                }
            }
        }
    };
}

endpoints! {
    CreateAccount: "POST" "/accounts" => "create-account", create_account,
        grants [grant("CreateAccount", "accounts", &["PutItem"])];
    GetAccount: "GET" "/accounts/{account_id}" => "get-account", get_account,
        grants [grant("ReadAccount", "accounts", &["GetItem"])];
    CreateTransfer: "POST" "/transfers" => "create-transfer", create_transfer,
        grants [
            grant("DebitAndCredit", "accounts", &["UpdateItem"]),
            grant("RecordTransfer", "transfers", &["PutItem"]),
        ];
    GetTransfer: "GET" "/transfers/{transfer_id}" => "get-transfer", get_transfer,
        grants [grant("ReadTransfer", "transfers", &["GetItem"])];
    CreateWithdrawal: "POST" "/withdrawals" => "create-withdrawal", create_withdrawal,
        grants [
            GUARD_LEASE_GRANTS[0],
            grant("HoldAndRefund", "accounts", &["UpdateItem"]),
            grant("RecordWithdrawal", "withdrawals", &["PutItem", "UpdateItem"]),
        ];
    GetWithdrawal: "GET" "/withdrawals/{withdrawal_id}" => "get-withdrawal", get_withdrawal,
        grants [grant("ReadWithdrawal", "withdrawals", &["GetItem"])];
    GetPayout: "GET" "/payouts/{payout_id}" => "get-payout", get_payout,
        grants [grant("ReadPayout", "payouts", &["GetItem"])];
}

/// A function Lambda invokes with batches of records from its own SQS queue (an event source
/// mapping), not over HTTP: no client to authenticate and no nonce, so its grants are all its
/// own, the guard's idempotency records included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumer {
    /// The Lambda function: package and binary `functions/<function>/`, sample event
    /// `events/<function>.json`, queue `<Function>Queue`.
    pub function: &'static str,
    /// The app it runs on, at the crate root (`payments::<app>::from_env()`).
    pub app: &'static str,
    /// The handler's name at the crate root (`payments::<handler>`).
    pub handler: &'static str,
    /// The schema of its messages in `openapi.yaml` (`components.schemas`), whose example is
    /// the body of its sample event.
    pub message: &'static str,
    /// Every DynamoDB grant the function needs.
    pub grants: &'static [Grant],
}

/// The consumer table: `make endpoints` writes each one's package, its queue, dead-letter
/// queue, event source mapping, role and log group, and its sample SQS event.
pub const CONSUMERS: &[Consumer] = &[Consumer {
    function: "payouts",
    app: "Payouts",
    handler: "consume_payouts",
    message: "PayoutMessage",
    grants: &[
        // Claims a payout's key in the payout's transaction, or stores its refusal; a
        // conditional put that finds the key answers with the record (ALL_OLD), so nothing
        // reads it first.
        grant("ClaimIdempotencyKey", "idempotency", &["PutItem"]),
        grant("DebitAndCredit", "accounts", &["UpdateItem"]),
        grant("RecordTransfer", "transfers", &["PutItem"]),
        grant("RecordPayout", "payouts", &["PutItem"]),
    ],
}];

/// A function Lambda invokes with batches of records from DynamoDB streams (one event source
/// mapping per table), not over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConsumer {
    /// The Lambda function: package and binary `functions/<function>/`, sample event
    /// `events/<function>.json`.
    pub function: &'static str,
    /// The app it runs on, at the crate root (`payments::<app>::from_env()`).
    pub app: &'static str,
    /// The handler's name at the crate root (`payments::<handler>`).
    pub handler: &'static str,
    /// The tables whose streams it reads (`NEW_AND_OLD_IMAGES`), by logical name.
    pub tables: &'static [&'static str],
    /// Every DynamoDB grant the function needs beyond reading those streams.
    pub grants: &'static [Grant],
}

/// The stream consumer table: `make endpoints` writes each one's package, its event source
/// mappings (one per stream, with an on-failure queue), role and log group, and its sample
/// DynamoDB event.
pub const STREAM_CONSUMERS: &[StreamConsumer] = &[StreamConsumer {
    function: "ledger-auditor",
    app: "Auditor",
    handler: "audit_ledger",
    tables: &crate::store::STREAMED_TABLES,
    grants: &[
        // The operation a balance change names, and the accounts an operation names.
        grant("ReadAccounts", "accounts", &["GetItem"]),
        grant("ReadTransfers", "transfers", &["GetItem"]),
        grant("ReadWithdrawals", "withdrawals", &["GetItem"]),
        // What it counted: a conditional put per leg, a mark per record checked.
        grant("RememberLegs", "ledger-audit", &["GetItem", "PutItem"]),
    ],
}];

impl Route {
    /// The route serving `method` `path` (no query string), as API Gateway routes it: a
    /// `{param}` matches one non-empty segment.
    pub fn matching(method: &str, path: &str) -> Option<Self> {
        ENDPOINTS
            .iter()
            .find(|row| replaysafe::http::route_matches(&row.route_key(), method, path))
            .map(|row| row.endpoint)
    }

    /// This endpoint's row.
    pub fn row(self) -> &'static Row {
        ENDPOINTS
            .iter()
            .find(|row| row.endpoint == self)
            .expect("every endpoint has its row")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_watch_router() {
        let route = Route::matching;
        assert_eq!(route("POST", "/accounts"), Some(Route::CreateAccount));
        assert_eq!(route("GET", "/accounts/acc_a"), Some(Route::GetAccount));
        assert_eq!(route("POST", "/transfers"), Some(Route::CreateTransfer));
        assert_eq!(route("GET", "/transfers/trf_1"), Some(Route::GetTransfer));
        for (m, p) in [
            ("GET", "/accounts"),
            ("POST", "/accounts/acc_a"),
            ("GET", "/accounts/"),
            ("GET", "/accounts/a/b"),
            ("DELETE", "/transfers/t"),
            ("GET", "/"),
            ("GET", "transfers/t"),
        ] {
            assert_eq!(route(m, p), None, "{m} {p}");
        }
    }

    #[test]
    fn rows_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for row in ENDPOINTS {
            assert_eq!(row.endpoint.row(), row);
            assert!(["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&row.method));
            assert!(row.route.starts_with('/'), "{}", row.route);
            assert!(
                seen.insert((row.method, row.route)),
                "{} {}",
                row.method,
                row.route
            );
            assert!(seen.insert(("function", row.function)), "{}", row.function);
            assert!(
                row.function
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}: a package name in kebab case",
                row.function
            );
            for g in row.all_grants() {
                assert!(!g.actions.is_empty() && g.sid.chars().all(char::is_alphanumeric));
            }
        }
        let consumers = CONSUMERS
            .iter()
            .map(|c| (c.function, c.grants))
            .chain(STREAM_CONSUMERS.iter().map(|c| (c.function, c.grants)));
        for (function, grants) in consumers {
            assert!(seen.insert(("function", function)), "{function}");
            assert!(function
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-'));
            for g in grants {
                assert!(!g.actions.is_empty() && g.sid.chars().all(char::is_alphanumeric));
            }
        }
    }
}
