//! The API Gateway HTTP API (payload format 2.0) event for one request, built from
//! `aws_lambda_events`' own types (the ones `lambda_http` parses), and the function's
//! payload 2.0 answer turned back into an HTTP response.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use serde_json::Value;

/// The account id, API id and domain prefix the local events carry.
pub const ACCOUNT_ID: &str = "000000000000";
pub const API_ID: &str = "local";

/// One request as the gateway received it.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub method: String,
    /// The request target: path and any `?query`, exactly as received.
    pub target: String,
    /// Every header line in order, names as received.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub peer: SocketAddr,
    /// The address the client connected to (`x-forwarded-port`, the default domain name).
    pub local: SocketAddr,
}

impl Incoming {
    /// The path, without the query string.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The query string after `?`, as received (empty when none).
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    /// Every line of header `name` (case-insensitive), joined by `,` as API Gateway does.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }
}

/// What the authorizer passes on: the claims as strings, and the token's scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwtContext {
    pub claims: BTreeMap<String, String>,
    pub scopes: Option<Vec<String>>,
}

/// Headers for the event: names lower-cased, the lines of one name joined by `,` in the order
/// received, `cookie` lines taken out (they go to `cookies`), and the `x-forwarded-*` headers
/// API Gateway adds. A value that is not UTF-8 is passed with U+FFFD in place of its bad
/// bytes (the event is JSON text).
pub fn event_headers(req: &Incoming, request_id: &str) -> HeaderMap {
    let mut joined: Vec<(String, String)> = Vec::new();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            continue;
        }
        let value = String::from_utf8_lossy(value);
        match joined.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => joined.push((name, value.into_owned())),
        }
    }
    let mut set = |name: &str, value: String| match joined.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = value,
        None => joined.push((name.to_owned(), value)),
    };
    let forwarded_for = match req.header("x-forwarded-for") {
        Some(earlier) => format!("{earlier}, {}", req.peer.ip()),
        None => req.peer.ip().to_string(),
    };
    set("x-forwarded-for", forwarded_for);
    set("x-forwarded-port", req.local.port().to_string());
    set("x-forwarded-proto", "http".into());
    // The form of API Gateway's trace header: Root=1-<epoch seconds, hex>-<96 random bits>.
    let trace = format!(
        "Root=1-{:08x}-{}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        &request_id.replace('-', "")[..24]
    );
    set("x-amzn-trace-id", trace);

    let mut map = HeaderMap::new();
    for (name, value) in joined {
        // httparse accepted the name as a token; a value with a control byte cannot be a
        // HeaderValue, and gets U+FFFD for it instead.
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        let value = HeaderValue::from_str(&value).unwrap_or_else(|_| {
            let clean: String = value
                .chars()
                .map(|c| {
                    if c.is_control() && c != '\t' {
                        '\u{fffd}'
                    } else {
                        c
                    }
                })
                .collect();
            HeaderValue::from_str(&clean).expect("no control characters left")
        });
        map.insert(name, value);
    }
    map
}

/// The `cookies` of the event: every `Cookie` line split at `;`, trimmed, empty ones dropped.
pub fn event_cookies(req: &Incoming) -> Option<Vec<String>> {
    let cookies: Vec<String> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| {
            String::from_utf8_lossy(v)
                .split(';')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty())
        .collect();
    (!cookies.is_empty()).then_some(cookies)
}

/// `queryStringParameters`: percent-decoded, the values of a repeated name joined by `,`.
fn query_parameters(query: &str) -> QueryMap {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.entry(percent_decode(k))
            .or_default()
            .push(percent_decode(v));
    }
    QueryMap::from(map)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push(hex(h).unwrap() * 16 + hex(l).unwrap());
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `requestContext.time`: `06/Dec/2026:13:04:28 +0000`.
fn request_time(now: time::OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        now.day(),
        MONTHS[now.month() as usize - 1],
        now.year(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Everything of one request's event but the request itself.
pub struct EventParts<'a> {
    pub route_key: &'a str,
    pub path_parameters: &'a BTreeMap<String, String>,
    pub request_id: &'a str,
    pub jwt: Option<&'a JwtContext>,
    pub now: time::OffsetDateTime,
}

/// The payload 2.0 event, as `aws_lambda_events` types.
pub fn build_event(
    req: &Incoming,
    parts: &EventParts<'_>,
) -> Result<ApiGatewayV2httpRequest, String> {
    let method = Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
    let headers = event_headers(req, parts.request_id);
    let domain_name = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| req.local.to_string());

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method;
    http.path = Some(req.path().to_owned());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(req.peer.ip().to_string());
    http.user_agent = Some(req.header("user-agent").unwrap_or_default());

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(parts.route_key.to_owned());
    context.account_id = Some(ACCOUNT_ID.into());
    context.stage = Some("$default".into());
    context.request_id = Some(parts.request_id.to_owned());
    context.apiid = Some(API_ID.into());
    context.domain_prefix = Some(domain_name.split('.').next().unwrap_or_default().to_owned());
    context.domain_name = Some(domain_name);
    context.time = Some(request_time(parts.now));
    context.time_epoch = (parts.now.unix_timestamp_nanos() / 1_000_000) as i64;
    context.http = http;
    if let Some(jwt) = parts.jwt {
        let mut description = ApiGatewayRequestAuthorizerJwtDescription::default();
        description.claims = jwt.claims.clone().into_iter().collect();
        description.scopes = jwt.scopes.clone();
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(description);
        context.authorizer = Some(authorizer);
    }

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(parts.route_key.to_owned());
    event.raw_path = Some(req.path().to_owned());
    event.raw_query_string = Some(req.query().to_owned());
    event.cookies = event_cookies(req);
    event.headers = headers;
    event.query_string_parameters = query_parameters(req.query());
    event.path_parameters = parts.path_parameters.clone().into_iter().collect();
    event.request_context = context;
    if !req.body.is_empty() {
        match std::str::from_utf8(&req.body) {
            Ok(text) => event.body = Some(text.to_owned()),
            Err(_) => {
                event.body = Some(STANDARD.encode(&req.body));
                event.is_base64_encoded = true;
            }
        }
    }
    Ok(event)
}

/// The event as the JSON API Gateway sends: the types' serialization, without the fields they
/// carry for other payloads (REST API, custom authorizer v1), which a payload 2.0 event has not.
pub fn event_json(event: &ApiGatewayV2httpRequest) -> Result<Value, String> {
    let mut json = serde_json::to_value(event).map_err(|e| e.to_string())?;
    let object = json.as_object_mut().ok_or("the event is not an object")?;
    for field in [
        "type",
        "methodArn",
        "httpMethod",
        "identitySource",
        "authorizationToken",
        "resource",
    ] {
        object.remove(field);
    }
    if object
        .get("stageVariables")
        .and_then(Value::as_object)
        .is_some_and(|m| m.is_empty())
    {
        object.remove("stageVariables");
    }
    Ok(json)
}

/// An HTTP response, ready to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Outgoing {
    /// One of API Gateway's own answers: `{"message":"..."}`.
    pub fn message(status: u16, message: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), b"application/json".to_vec())],
            body: serde_json::json!({ "message": message })
                .to_string()
                .into_bytes(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// The function's payload 2.0 answer as HTTP: `statusCode`, `headers`, `multiValueHeaders`,
/// `cookies` (one `set-cookie` each), `body` (base64-decoded when `isBase64Encoded`). An answer
/// without `statusCode` that is JSON is, as API Gateway reads it, a 200 whose body is that
/// JSON. Anything else is API Gateway's 500.
pub fn response_from_payload(payload: &[u8]) -> Outgoing {
    let internal = || Outgoing::message(500, "Internal Server Error");
    let Ok(doc) = serde_json::from_slice::<Value>(payload) else {
        return internal();
    };
    let Some(object) = doc.as_object().filter(|o| o.contains_key("statusCode")) else {
        return Outgoing {
            status: 200,
            headers: vec![("content-type".into(), b"application/json".to_vec())],
            body: match &doc {
                Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            },
        };
    };
    let Some(status) = object["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
    else {
        return internal();
    };
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(map) = object.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            if let Some(value) = scalar(value) {
                headers.push((name.to_ascii_lowercase(), value.into_bytes()));
            }
        }
    }
    if let Some(map) = object.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in map {
            let name = name.to_ascii_lowercase();
            if headers.iter().any(|(n, _)| *n == name) {
                continue;
            }
            for value in values.as_array().into_iter().flatten().filter_map(scalar) {
                headers.push((name.clone(), value.into_bytes()));
            }
        }
    }
    if let Some(cookies) = object.get("cookies").and_then(Value::as_array) {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            headers.push(("set-cookie".into(), cookie.as_bytes().to_vec()));
        }
    }
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if object.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            match STANDARD.decode(text) {
                Ok(bytes) => bytes,
                Err(_) => return internal(),
            }
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => return internal(),
    };
    Outgoing {
        status,
        headers,
        body,
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::request::LambdaRequest;
    use lambda_http::{Body, RequestExt};

    fn incoming(method: &str, target: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Incoming {
        Incoming {
            method: method.into(),
            target: target.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_vec()))
                .collect(),
            body: body.to_vec(),
            peer: "127.0.0.1:50000".parse().unwrap(),
            local: "127.0.0.1:9000".parse().unwrap(),
        }
    }

    fn event(req: &Incoming, jwt: Option<&JwtContext>) -> Value {
        let params = BTreeMap::from([("account_id".to_owned(), "acc_1".to_owned())]);
        let parts = EventParts {
            route_key: "POST /accounts",
            path_parameters: &params,
            request_id: "5d5b6c1e-8f2a-4c1e-9a0b-1c2d3e4f5a6b",
            jwt,
            now: time::OffsetDateTime::from_unix_timestamp(1_796_562_268).unwrap(),
        };
        event_json(&build_event(req, &parts).unwrap()).unwrap()
    }

    /// What `lambda_http` makes of the event: the request a function's handler sees.
    fn as_lambda_request(json: &Value) -> lambda_http::Request {
        let parsed: LambdaRequest =
            serde_json::from_value(json.clone()).expect("lambda_http parses it");
        parsed.into()
    }

    #[test]
    fn repeated_header_lines_are_joined_by_commas() {
        let req = incoming(
            "POST",
            "/accounts",
            &[
                ("Host", b"127.0.0.1:9000"),
                ("Signature", b"sig1=:AAAA:"),
                ("Idempotency-Key", b"k1"),
                ("signature", b"sig2=:BBBB:"),
                ("IDEMPOTENCY-KEY", b"k2"),
            ],
            b"{}",
        );
        let json = event(&req, None);
        assert_eq!(json["headers"]["signature"], "sig1=:AAAA:,sig2=:BBBB:");
        assert_eq!(json["headers"]["idempotency-key"], "k1,k2");
        assert!(json["headers"].get("Signature").is_none());
        let request = as_lambda_request(&json);
        let all: Vec<_> = request.headers().get_all("signature").iter().collect();
        assert_eq!(all, ["sig1=:AAAA:,sig2=:BBBB:"]);
    }

    #[test]
    fn a_body_that_is_not_utf8_goes_base64() {
        let body = b"{\"amount\": \xff\xfe}";
        let json = event(&incoming("POST", "/accounts", &[], body), None);
        assert_eq!(json["isBase64Encoded"], true);
        assert_eq!(json["body"], STANDARD.encode(body));
        match as_lambda_request(&json).body() {
            Body::Binary(bytes) => assert_eq!(bytes, body),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_utf8_body_goes_as_text_and_no_body_as_none() {
        let json = event(
            &incoming("POST", "/accounts", &[], "{\"é\":1}".as_bytes()),
            None,
        );
        assert_eq!(json["isBase64Encoded"], false);
        assert_eq!(json["body"], "{\"é\":1}");
        let json = event(&incoming("GET", "/accounts/acc_1", &[], b""), None);
        assert!(json.get("body").is_none());
        assert_eq!(as_lambda_request(&json).body(), &Body::Empty);
    }

    #[test]
    fn the_event_has_the_payload_2_fields() {
        let req = incoming(
            "POST",
            "/accounts?b=2&a=1&b=3&c=%20x",
            &[
                ("Host", b"127.0.0.1:9000"),
                ("User-Agent", b"curl/8"),
                ("Cookie", b"a=1; b=2"),
                ("cookie", b"c=3"),
            ],
            b"{}",
        );
        let json = event(&req, None);
        assert_eq!(json["version"], "2.0");
        assert_eq!(json["routeKey"], "POST /accounts");
        assert_eq!(json["rawPath"], "/accounts");
        assert_eq!(json["rawQueryString"], "b=2&a=1&b=3&c=%20x");
        assert_eq!(json["queryStringParameters"]["b"], "2,3");
        assert_eq!(json["queryStringParameters"]["c"], " x");
        assert_eq!(json["cookies"], serde_json::json!(["a=1", "b=2", "c=3"]));
        assert!(json["headers"].get("cookie").is_none());
        assert_eq!(json["headers"]["x-forwarded-for"], "127.0.0.1");
        assert_eq!(json["headers"]["x-forwarded-port"], "9000");
        assert_eq!(json["headers"]["x-forwarded-proto"], "http");
        assert_eq!(json["pathParameters"]["account_id"], "acc_1");
        let ctx = &json["requestContext"];
        assert_eq!(ctx["accountId"], ACCOUNT_ID);
        assert_eq!(ctx["apiId"], API_ID);
        assert_eq!(ctx["domainName"], "127.0.0.1:9000");
        assert_eq!(ctx["domainPrefix"], "127");
        assert_eq!(ctx["http"]["method"], "POST");
        assert_eq!(ctx["http"]["path"], "/accounts");
        assert_eq!(ctx["http"]["protocol"], "HTTP/1.1");
        assert_eq!(ctx["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(ctx["http"]["userAgent"], "curl/8");
        assert_eq!(ctx["requestId"], "5d5b6c1e-8f2a-4c1e-9a0b-1c2d3e4f5a6b");
        assert_eq!(ctx["routeKey"], "POST /accounts");
        assert_eq!(ctx["stage"], "$default");
        assert_eq!(ctx["time"], "06/Dec/2026:13:04:28 +0000");
        assert_eq!(ctx["timeEpoch"], 1_796_562_268_000i64);
        assert!(ctx.get("authorizer").is_none());
        for absent in [
            "httpMethod",
            "type",
            "methodArn",
            "resource",
            "stageVariables",
        ] {
            assert!(json.get(absent).is_none(), "{absent}");
        }

        let request = as_lambda_request(&json);
        assert_eq!(request.method(), "POST");
        assert_eq!(request.raw_http_path(), "/accounts");
        assert_eq!(request.uri().query(), Some("b=2&a=1&b=3&c=%20x"));
        assert_eq!(request.headers()["cookie"], "a=1; b=2; c=3");
    }

    #[test]
    fn the_raw_path_is_kept_as_received() {
        let json = event(&incoming("GET", "/accounts/acc%5F1", &[], b""), None);
        assert_eq!(json["rawPath"], "/accounts/acc%5F1");
        assert_eq!(json["requestContext"]["http"]["path"], "/accounts/acc%5F1");
        assert_eq!(
            as_lambda_request(&json).raw_http_path(),
            "/accounts/acc%5F1"
        );
    }

    #[test]
    fn jwt_claims_go_to_the_authorizer_context() {
        let jwt = JwtContext {
            claims: BTreeMap::from([
                ("sub".to_owned(), "user-1".to_owned()),
                ("exp".to_owned(), "1796562868".to_owned()),
            ]),
            scopes: Some(vec!["payments".into()]),
        };
        let json = event(&incoming("GET", "/accounts/acc_1", &[], b""), Some(&jwt));
        let authorizer = &json["requestContext"]["authorizer"]["jwt"];
        assert_eq!(authorizer["claims"]["sub"], "user-1");
        assert_eq!(authorizer["claims"]["exp"], "1796562868");
        assert_eq!(authorizer["scopes"], serde_json::json!(["payments"]));
        let request = as_lambda_request(&json);
        let lambda_http::request::RequestContext::ApiGatewayV2(ctx) = request.request_context()
        else {
            panic!("not an HTTP API context");
        };
        let claims = &ctx.authorizer.unwrap().jwt.unwrap().claims;
        assert_eq!(claims["sub"], "user-1");
    }

    #[test]
    fn header_values_that_are_not_utf8_are_passed_lossily() {
        let json = event(&incoming("GET", "/x", &[("X-Odd", b"a\xffb")], b""), None);
        assert_eq!(json["headers"]["x-odd"], "a\u{fffd}b");
    }

    #[test]
    fn function_answers_become_http() {
        let payload = serde_json::json!({
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "location": "/accounts/a"},
            "multiValueHeaders": {"vary": ["a", "b"], "location": ["/ignored"]},
            "cookies": ["s=1; Path=/"],
            "body": "{\"ok\":true}",
            "isBase64Encoded": false
        });
        let out = response_from_payload(payload.to_string().as_bytes());
        assert_eq!(out.status, 201);
        assert_eq!(out.header("content-type"), Some(&b"application/json"[..]));
        assert_eq!(out.header("location"), Some(&b"/accounts/a"[..]));
        let vary: Vec<_> = out.headers.iter().filter(|(n, _)| n == "vary").collect();
        assert_eq!(vary.len(), 2);
        assert_eq!(out.header("set-cookie"), Some(&b"s=1; Path=/"[..]));
        assert_eq!(out.body, b"{\"ok\":true}");

        let binary = serde_json::json!({"statusCode": 200, "body": STANDARD.encode([0xff, 0]), "isBase64Encoded": true});
        assert_eq!(
            response_from_payload(binary.to_string().as_bytes()).body,
            [0xff, 0]
        );

        let bare = response_from_payload(br#"{"hello":"world"}"#);
        assert_eq!(
            (bare.status, bare.body.as_slice()),
            (200, &br#"{"hello":"world"}"#[..])
        );

        for broken in [
            &b"not json"[..],
            br#"{"statusCode": 1000}"#,
            br#"{"statusCode": 200, "body": 5}"#,
        ] {
            let out = response_from_payload(broken);
            assert_eq!(
                (out.status, out.body.as_slice()),
                (500, &br#"{"message":"Internal Server Error"}"#[..])
            );
        }
    }
}
