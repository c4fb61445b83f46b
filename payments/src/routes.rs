//! The one table of endpoints: method, route, Lambda function, handler. The test dispatchers
//! route through it, and the deploy tests check it against the cargo-lambda router in
//! `Cargo.toml`, `template.yaml` and `openapi.yaml`.

use lambda_http::{Body, Request, Response};

use crate::Payments;

/// One endpoint of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /accounts`
    CreateAccount,
    /// `GET /accounts/{account_id}`
    GetAccount,
    /// `POST /transfers`
    CreateTransfer,
    /// `GET /transfers/{transfer_id}`
    GetTransfer,
}

/// Every endpoint: (endpoint, method, route, function package).
pub const ENDPOINTS: [(Endpoint, &str, &str, &str); 4] = [
    (
        Endpoint::CreateAccount,
        "POST",
        "/accounts",
        "create-account",
    ),
    (
        Endpoint::GetAccount,
        "GET",
        "/accounts/{account_id}",
        "get-account",
    ),
    (
        Endpoint::CreateTransfer,
        "POST",
        "/transfers",
        "create-transfer",
    ),
    (
        Endpoint::GetTransfer,
        "GET",
        "/transfers/{transfer_id}",
        "get-transfer",
    ),
];

impl Endpoint {
    /// The endpoint serving `method` `path` (no query string), as API Gateway routes it: a
    /// `{param}` matches one non-empty segment.
    pub fn route(method: &str, path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.split('/').collect();
        ENDPOINTS.iter().find_map(|&(endpoint, m, route, _)| {
            let pattern: Vec<&str> = route.split('/').collect();
            let matches = m == method
                && pattern.len() == segments.len()
                && pattern.iter().zip(&segments).all(|(p, s)| {
                    if p.starts_with('{') {
                        !s.is_empty()
                    } else {
                        p == s
                    }
                });
            matches.then_some(endpoint)
        })
    }

    /// Serves `req` with this endpoint's handler, as its function does.
    pub async fn serve(self, app: &Payments, req: &Request) -> Response<Body> {
        use replaysafe::lambda::serve;
        match self {
            Endpoint::CreateAccount => serve(app, req, crate::create_account).await,
            Endpoint::GetAccount => serve(app, req, crate::get_account).await,
            Endpoint::CreateTransfer => serve(app, req, crate::create_transfer).await,
            Endpoint::GetTransfer => serve(app, req, crate::get_transfer).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_watch_router() {
        let route = Endpoint::route;
        assert_eq!(route("POST", "/accounts"), Some(Endpoint::CreateAccount));
        assert_eq!(route("GET", "/accounts/acc_a"), Some(Endpoint::GetAccount));
        assert_eq!(route("POST", "/transfers"), Some(Endpoint::CreateTransfer));
        assert_eq!(
            route("GET", "/transfers/trf_1"),
            Some(Endpoint::GetTransfer)
        );
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
}
