//! The routes API Gateway would declare: the workspace's cargo-lambda router table
//! (`[workspace.metadata.lambda.watch.router]` in the root Cargo.toml, written by
//! `make endpoints`). A request whose method and path match no row reaches no function.

use std::collections::BTreeMap;

/// One declared route: `METHOD /path/{param}` served by `function`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Upper-case method, or `ANY` (a row given as a bare function name).
    pub method: String,
    /// The path as declared, e.g. `/accounts/{account_id}`.
    pub path: String,
    pub function: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A request matched to its route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched<'a> {
    pub route: &'a Route,
    /// `METHOD /path/{param}`, as API Gateway's `routeKey`.
    pub route_key: String,
    /// Each `{param}` with the path segment it matched, as received (not percent-decoded).
    pub path_parameters: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Route {
    pub fn new(method: &str, path: &str, function: &str) -> Result<Self, String> {
        if !path.starts_with('/') {
            return Err(format!("route {path:?}: a path starts with /"));
        }
        let segments = path
            .split('/')
            .skip(1)
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) if !name.is_empty() => Ok(Segment::Param(name.to_owned())),
                    Some(_) => Err(format!("route {path:?}: an empty {{}}")),
                    None if s.contains(['{', '}']) => {
                        Err(format!("route {path:?}: a {{param}} is a whole segment"))
                    }
                    None => Ok(Segment::Literal(s.to_owned())),
                },
            )
            .collect::<Result<_, _>>()?;
        Ok(Self {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            function: function.to_owned(),
            segments,
        })
    }

    /// The path parameters when `path` matches this route's path: same number of segments,
    /// literals equal (case-sensitive), each `{param}` one non-empty segment.
    fn match_path(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let got: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if got.len() != self.segments.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        for (want, got) in self.segments.iter().zip(got) {
            match want {
                Segment::Literal(l) if l == got => {}
                Segment::Param(name) if !got.is_empty() => {
                    params.insert(name.clone(), got.to_owned());
                }
                _ => return None,
            }
        }
        Some(params)
    }
}

impl Router {
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    /// Reads `[workspace.metadata.lambda.watch.router]` from a Cargo.toml's text. Each entry
    /// is `"/path" = [{ method = "POST", function = "f" }, ...]` or `"/path" = "f"` (any
    /// method), as cargo-lambda reads it.
    pub fn from_manifest(text: &str) -> Result<Self, String> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| format!("Cargo.toml: {e}"))?;
        let table = ["workspace", "metadata", "lambda", "watch", "router"]
            .iter()
            .try_fold(&doc, |t, key| t.get(*key).and_then(|v| v.as_table()))
            .ok_or("Cargo.toml has no [workspace.metadata.lambda.watch.router] table")?;
        let mut routes = Vec::new();
        for (path, rows) in table {
            match rows {
                toml::Value::String(function) => routes.push(Route::new("ANY", path, function)?),
                toml::Value::Array(rows) => {
                    for row in rows {
                        let field = |name: &str| {
                            row.get(name).and_then(|v| v.as_str()).ok_or_else(|| {
                                format!("router entry {path:?}: each row needs {name} = \"...\"")
                            })
                        };
                        routes.push(Route::new(field("method")?, path, field("function")?)?);
                    }
                }
                _ => return Err(format!("router entry {path:?}: not a function or a list")),
            }
        }
        if routes.is_empty() {
            return Err("the router table declares no route".into());
        }
        Ok(Self { routes })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route for `method` and `path` (no query string). A route with literal segments
    /// wins over one with a `{param}` in the same place, and a method over `ANY`, as in
    /// API Gateway.
    pub fn route(&self, method: &str, path: &str) -> Option<Matched<'_>> {
        self.routes
            .iter()
            .filter(|r| r.method == method || r.method == "ANY")
            .filter_map(|r| r.match_path(path).map(|p| (r, p)))
            .max_by_key(|(r, _)| {
                let literals: Vec<bool> = r
                    .segments
                    .iter()
                    .map(|s| matches!(s, Segment::Literal(_)))
                    .collect();
                (literals, r.method != "ANY")
            })
            .map(|(route, path_parameters)| Matched {
                route,
                route_key: format!("{} {}", route.method, route.path),
                path_parameters,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
[workspace]
members = []

[workspace.metadata.lambda.watch.router]
"/accounts" = [{ method = "POST", function = "create-account" }]
"/accounts/{account_id}" = [{ method = "GET", function = "get-account" }]
"/transfers" = [{ method = "POST", function = "create-transfer" }]
"/transfers/{transfer_id}" = [{ method = "GET", function = "get-transfer" }]

[workspace.metadata.lambda.env]
TABLE_PREFIX = "replaysafe-"
"#;

    fn router() -> Router {
        Router::from_manifest(MANIFEST).unwrap()
    }

    fn function(method: &str, path: &str) -> Option<String> {
        router()
            .route(method, path)
            .map(|m| m.route.function.clone())
    }

    #[test]
    fn declared_routes_reach_their_function() {
        assert_eq!(
            function("POST", "/accounts").as_deref(),
            Some("create-account")
        );
        assert_eq!(
            function("POST", "/transfers").as_deref(),
            Some("create-transfer")
        );
        let router = router();
        let m = router.route("GET", "/accounts/acc_1").unwrap();
        assert_eq!(m.route.function, "get-account");
        assert_eq!(m.route_key, "GET /accounts/{account_id}");
        assert_eq!(m.path_parameters["account_id"], "acc_1");
    }

    #[test]
    fn anything_else_reaches_no_function() {
        for (method, path) in [
            ("POST", "/lambda-url/create-transfer/accounts"),
            ("GET", "/lambda-url/get-account/accounts/x"),
            ("POST", "/lambda-url/create-transfer"),
            ("GET", "/accounts"),
            ("DELETE", "/accounts/acc_1"),
            ("post", "/accounts"),
            ("POST", "/accounts/"),
            ("POST", "/Accounts"),
            ("GET", "/accounts/"),
            ("GET", "/accounts//"),
            ("GET", "/accounts/a/b"),
            ("POST", "/transfers/x"),
            ("GET", "/"),
            ("GET", ""),
            ("GET", "accounts/x"),
        ] {
            assert_eq!(function(method, path), None, "{method} {path}");
        }
    }

    #[test]
    fn literals_beat_params_and_methods_beat_any() {
        let router = Router::new(vec![
            Route::new("GET", "/a/{id}", "param").unwrap(),
            Route::new("GET", "/a/me", "literal").unwrap(),
            Route::new("ANY", "/b", "any").unwrap(),
            Route::new("PUT", "/b", "put").unwrap(),
        ]);
        let f = |m: &str, p: &str| router.route(m, p).map(|m| m.route.function.clone());
        let any = router.route("PATCH", "/b").unwrap();
        assert_eq!(f("GET", "/a/me").as_deref(), Some("literal"));
        assert_eq!(f("GET", "/a/you").as_deref(), Some("param"));
        assert_eq!(f("PUT", "/b").as_deref(), Some("put"));
        assert_eq!(f("PATCH", "/b").as_deref(), Some("any"));
        assert_eq!(any.route_key, "ANY /b");
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(Router::from_manifest("[workspace]\n").is_err());
        let bad = MANIFEST.replace("method = \"POST\", ", "");
        assert!(Router::from_manifest(&bad).is_err());
        assert!(Route::new("GET", "/a/x{id}", "f").is_err());
        assert!(Route::new("GET", "/a/{}", "f").is_err());
        assert!(Route::new("GET", "a", "f").is_err());
    }

    /// The table in this workspace's Cargo.toml parses and declares the four endpoints.
    #[test]
    fn reads_the_workspace_router() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
        let router = Router::from_manifest(&text).unwrap();
        assert!(router.routes().len() >= 4);
        assert!(router.route("POST", "/transfers").is_some());
    }
}
