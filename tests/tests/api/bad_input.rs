//! Bad input gets an RFC 9457 4xx and changes nothing: no balance moves, no transfer or account
//! appears, and nothing is stored under the request's Idempotency-Key, so the client can fix
//! the request and retry it with the same key.

use replaysafe::Clock;
use replaysafe_signing::content_digest;
use replaysafe_tests::{Answer, Call, TestApp};

const TRANSFER_OK: &str = r#"{"from":"acc_alice","to":"acc_bob","amount":1,"currency":"EUR"}"#;
const ACCOUNT_OK: &str = r#"{"currency":"EUR","initial_balance":0}"#;

/// Alice owns acc_alice (EUR 10 000), acc_bob (EUR 0) and acc_usd (USD 5 000); another client
/// owns acc_carol (EUR 1 000).
async fn app() -> TestApp {
    populated(TestApp::new().await).await
}

/// The same accounts, behind an authorizer.
async fn authorized_app() -> TestApp {
    populated(TestApp::authorized().await).await
}

async fn populated(app: TestApp) -> TestApp {
    app.open_account(&app.alice, "acc_alice", "EUR", 10_000)
        .await;
    app.open_account(&app.alice, "acc_bob", "EUR", 0).await;
    app.open_account(&app.alice, "acc_usd", "USD", 5_000).await;
    let carol = app.new_client().await;
    app.open_account(&carol, "acc_carol", "EUR", 1_000).await;
    app
}

/// Sends `call`, expects the problem, and checks that the store and the key are untouched.
async fn refused(app: &TestApp, call: &Call, status: u16, code: &str, what: &str) -> Answer {
    let before = app.snapshot().await;
    let answer = app.send(call).await;
    answer.assert_problem_in(status, code, what);
    assert_eq!(app.snapshot().await, before, "{what}: the store changed");
    if let Some(key) = &call.idempotency_key {
        assert!(
            !app.has_idempotency_record(&app.alice, key).await,
            "{what}: a record was stored under the key"
        );
    }
    answer
}

/// The same key again, with `body` and clean headers, signed anew a second later (as the
/// contract asks of a retry after a refusal): it must execute (201, not a replay), which proves
/// the refusal stored no answer under the key.
async fn corrected_retry_succeeds(app: &TestApp, call: &Call, body: &str, what: &str) {
    app.clock.advance(1);
    let mut fixed = call.clone();
    fixed.body = body.as_bytes().to_vec();
    fixed.headers.retain(|(n, _)| n != "idempotency-key");
    let fixed = fixed.resigned(app.clock.now());
    let answer = app.send(&fixed).await;
    assert_eq!(
        answer.status, 201,
        "{what}: corrected retry: {}",
        answer.body
    );
    assert!(!answer.replayed(), "{what}: corrected retry was a replay");
}

/// A call from alice with `body` as the exact bytes, signed correctly.
fn post(app: &TestApp, path: &str, body: &[u8]) -> Call {
    let mut call = app.signed(&app.alice, "POST", path, "");
    call.body = body.to_vec();
    call.sign()
}

fn transfer(amount: &str) -> String {
    format!(r#"{{"from":"acc_alice","to":"acc_bob","amount":{amount},"currency":"EUR"}}"#)
}

fn transfer_with(field: &str, value: &str) -> String {
    let mut body: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(TRANSFER_OK).unwrap();
    body.remove(field);
    let rest = serde_json::Value::Object(body).to_string();
    format!(r#"{{"{field}":{value},{}"#, &rest[1..])
}

fn transfer_body_cases() -> Vec<(String, Vec<u8>, &'static str)> {
    let cases: Vec<(String, String, &'static str)> =
        vec![
        // Not JSON.
        ("truncated".into(), r#"{"from":"acc_alice","#.into(), "invalid-json"),
        ("single quotes".into(), "{'from':'acc_alice'}".into(), "invalid-json"),
        ("trailing bytes".into(), format!("{TRANSFER_OK} x"), "invalid-json"),
        ("two objects".into(), format!("{TRANSFER_OK}{TRANSFER_OK}"), "invalid-json"),
        ("bare word".into(), "hello".into(), "invalid-json"),
        ("whitespace only".into(), "   \n".into(), "invalid-json"),
        ("trailing comma".into(), TRANSFER_OK.replace('}', ",}"), "invalid-json"),
        ("deep nesting".into(), "[".repeat(10_000), "invalid-json"),
        // JSON, but not an object.
        (
            "array of the fields in order".into(),
            r#"["acc_alice","acc_bob",1,"EUR",null]"#.into(),
            "validation-failed",
        ),
        ("empty array".into(), "[]".into(), "validation-failed"),
        ("string".into(), r#""acc_alice""#.into(), "validation-failed"),
        ("number".into(), "42".into(), "validation-failed"),
        ("null".into(), "null".into(), "validation-failed"),
        ("true".into(), "true".into(), "validation-failed"),
        // Shape.
        ("empty object".into(), "{}".into(), "validation-failed"),
        (
            "missing amount".into(),
            r#"{"from":"acc_alice","to":"acc_bob","currency":"EUR"}"#.into(),
            "validation-failed",
        ),
        (
            "unknown field".into(),
            TRANSFER_OK.replace('}', r#","memo":"x"}"#),
            "validation-failed",
        ),
        (
            "unknown field null".into(),
            TRANSFER_OK.replace('}', r#","fee":null}"#),
            "validation-failed",
        ),
        (
            "duplicate amount".into(),
            r#"{"from":"acc_alice","to":"acc_bob","amount":1,"amount":5000,"currency":"EUR"}"#
                .into(),
            "validation-failed",
        ),
        (
            "duplicate to".into(),
            r#"{"from":"acc_alice","to":"acc_bob","to":"acc_carol","amount":1,"currency":"EUR"}"#
                .into(),
            "validation-failed",
        ),
        ("from is a number".into(), transfer_with("from", "1"), "validation-failed"),
        ("from is null".into(), transfer_with("from", "null"), "validation-failed"),
        ("to is an object".into(), transfer_with("to", "{}"), "validation-failed"),
        ("currency is a number".into(), transfer_with("currency", "978"), "validation-failed"),
        ("reference is a number".into(), transfer_with("reference", "42"), "validation-failed"),
        ("amount is null".into(), transfer("null"), "validation-failed"),
        ("amount is true".into(), transfer("true"), "validation-failed"),
        ("amount is an array".into(), transfer("[1]"), "validation-failed"),
        // Amounts.
        ("float amount".into(), transfer("15.5"), "validation-failed"),
        // Integers to JSON Schema, refused as openapi.yaml says (integer literals only).
        ("integral float amount".into(), transfer("15.0"), "validation-failed"),
        ("exponent amount".into(), transfer("1e2"), "validation-failed"),
        ("negative amount".into(), transfer("-1"), "validation-failed"),
        ("negative zero".into(), transfer("-0"), "validation-failed"),
        ("zero amount".into(), transfer("0"), "validation-failed"),
        ("amount 10^12 + 1".into(), transfer("1000000000001"), "validation-failed"),
        ("amount 1e30".into(), transfer("1e30"), "validation-failed"),
        ("amount 2^63".into(), transfer("9223372036854775808"), "validation-failed"),
        ("amount 2^64 - 1".into(), transfer("18446744073709551615"), "validation-failed"),
        ("amount 2^64".into(), transfer("18446744073709551616"), "validation-failed"),
        ("amount 2^64 + 1".into(), transfer("18446744073709551617"), "validation-failed"),
        ("string amount".into(), transfer(r#""1500""#), "validation-failed"),
        // Ids.
        ("unicode from".into(), transfer_with("from", r#""acc_é""#), "validation-failed"),
        ("emoji to".into(), transfer_with("to", r#""acc_😀""#), "validation-failed"),
        (
            "escaped unicode to".into(),
            transfer_with("to", r#""acc_\u00e9""#),
            "validation-failed",
        ),
        (
            "65-char from".into(),
            transfer_with("from", &format!(r#""{}""#, "a".repeat(65))),
            "validation-failed",
        ),
        (
            "65-char to".into(),
            transfer_with("to", &format!(r#""{}""#, "b".repeat(65))),
            "validation-failed",
        ),
        ("empty to".into(), transfer_with("to", r#""""#), "validation-failed"),
        ("to with a space".into(), transfer_with("to", r#""acc bob""#), "validation-failed"),
        ("to with a slash".into(), transfer_with("to", r#""acc/bob""#), "validation-failed"),
        ("to with #".into(), transfer_with("to", r#""acc#bob""#), "validation-failed"),
        ("from == to".into(), transfer_with("to", r#""acc_alice""#), "validation-failed"),
        // Currency.
        ("lower-case currency".into(), transfer_with("currency", r#""eur""#), "validation-failed"),
        ("2-letter currency".into(), transfer_with("currency", r#""EU""#), "validation-failed"),
        ("4-letter currency".into(), transfer_with("currency", r#""EURO""#), "validation-failed"),
        ("digit in currency".into(), transfer_with("currency", r#""E1R""#), "validation-failed"),
        ("accented currency".into(), transfer_with("currency", r#""ÉUR""#), "validation-failed"),
        ("empty currency".into(), transfer_with("currency", r#""""#), "validation-failed"),
        ("padded currency".into(), transfer_with("currency", r#"" EUR""#), "validation-failed"),
        // Reference.
        (
            "141-char reference".into(),
            transfer_with("reference", &format!(r#""{}""#, "r".repeat(141))),
            "validation-failed",
        ),
        (
            "141 multibyte chars".into(),
            transfer_with("reference", &format!(r#""{}""#, "é".repeat(141))),
            "validation-failed",
        ),
        (
            "141 emoji".into(),
            transfer_with("reference", &format!(r#""{}""#, "😀".repeat(141))),
            "validation-failed",
        ),
    ];
    let mut out: Vec<(String, Vec<u8>, &'static str)> = cases
        .into_iter()
        .map(|(n, b, c)| (n, b.into_bytes(), c))
        .collect();
    let mut not_utf8 = TRANSFER_OK.as_bytes().to_vec();
    let at = not_utf8.len() - 1;
    not_utf8.splice(
        at..at,
        br#","reference":"x"#.iter().copied().chain([0xff, b'"']),
    );
    out.push(("invalid utf-8".into(), not_utf8, "invalid-json"));
    out
}

#[tokio::test]
async fn transfer_bodies_that_fail_validation_change_nothing_and_free_the_key() {
    for app in [app().await, authorized_app().await] {
        for (what, body, code) in transfer_body_cases() {
            let what = format!("POST /transfers, {what}");
            let call = post(&app, "/transfers", &body);
            refused(&app, &call, 400, code, &what).await;
            corrected_retry_succeeds(&app, &call, TRANSFER_OK, &what).await;
        }
    }
}

#[tokio::test]
async fn an_empty_post_body_is_invalid_json() {
    let app = app().await;
    for path in ["/transfers", "/accounts"] {
        let call = post(&app, path, b"");
        assert!(call.sent_header("content-digest").is_none());
        let what = format!("POST {path} with no body");
        refused(&app, &call, 400, "invalid-json", &what).await;
        let ok = if path == "/transfers" {
            TRANSFER_OK
        } else {
            ACCOUNT_OK
        };
        corrected_retry_succeeds(&app, &call, ok, &what).await;
    }
}

fn account_body_cases() -> Vec<(&'static str, String, &'static str)> {
    let balance = |v: &str| format!(r#"{{"currency":"EUR","initial_balance":{v}}}"#);
    let id = |v: &str| format!(r#"{{"currency":"EUR","account_id":{v}}}"#);
    vec![
        ("truncated", r#"{"currency":"#.into(), "invalid-json"),
        ("bare word", "EUR".into(), "invalid-json"),
        ("trailing bytes", format!("{ACCOUNT_OK}]"), "invalid-json"),
        ("array", r#"["EUR",0,null]"#.into(), "validation-failed"),
        ("string", r#""EUR""#.into(), "validation-failed"),
        ("null", "null".into(), "validation-failed"),
        ("empty object", "{}".into(), "validation-failed"),
        (
            "unknown field",
            r#"{"currency":"EUR","owner":"cli_x"}"#.into(),
            "validation-failed",
        ),
        (
            "duplicate currency",
            r#"{"currency":"EUR","currency":"USD"}"#.into(),
            "validation-failed",
        ),
        (
            "duplicate balance",
            r#"{"currency":"EUR","initial_balance":0,"initial_balance":1000000}"#.into(),
            "validation-failed",
        ),
        (
            "currency is a number",
            r#"{"currency":978}"#.into(),
            "validation-failed",
        ),
        (
            "currency lower-case",
            r#"{"currency":"eur"}"#.into(),
            "validation-failed",
        ),
        (
            "currency 4 letters",
            r#"{"currency":"EURO"}"#.into(),
            "validation-failed",
        ),
        (
            "currency accented",
            r#"{"currency":"ÉUR"}"#.into(),
            "validation-failed",
        ),
        ("float balance", balance("10.5"), "validation-failed"),
        // Integers to JSON Schema, refused as openapi.yaml says (integer literals only).
        (
            "integral float balance",
            balance("288.0"),
            "validation-failed",
        ),
        ("exponent balance", balance("2.88e2"), "validation-failed"),
        ("negative balance", balance("-1"), "validation-failed"),
        (
            "balance 10^12 + 1",
            balance("1000000000001"),
            "validation-failed",
        ),
        ("balance 1e30", balance("1e30"), "validation-failed"),
        (
            "balance 2^64",
            balance("18446744073709551616"),
            "validation-failed",
        ),
        ("string balance", balance(r#""100""#), "validation-failed"),
        ("null balance", balance("null"), "validation-failed"),
        ("numeric id", id("5"), "validation-failed"),
        ("unicode id", id(r#""acc_é""#), "validation-failed"),
        ("emoji id", id(r#""acc_😀""#), "validation-failed"),
        (
            "65-char id",
            id(&format!(r#""{}""#, "a".repeat(65))),
            "validation-failed",
        ),
        ("empty id", id(r#""""#), "validation-failed"),
        ("id with a slash", id(r#""acc/x""#), "validation-failed"),
        ("id with #", id(r#""acc#x""#), "validation-failed"),
    ]
}

#[tokio::test]
async fn account_bodies_that_fail_validation_change_nothing_and_free_the_key() {
    for app in [app().await, authorized_app().await] {
        for (what, body, code) in account_body_cases() {
            let what = format!("POST /accounts, {what}");
            let call = post(&app, "/accounts", body.as_bytes());
            refused(&app, &call, 400, code, &what).await;
            corrected_retry_succeeds(&app, &call, ACCOUNT_OK, &what).await;
        }
    }
}

#[tokio::test]
async fn an_existing_account_id_is_refused_and_frees_the_key() {
    let app = app().await;
    for id in ["acc_bob", "acc_carol"] {
        let body = format!(r#"{{"account_id":"{id}","currency":"EUR","initial_balance":77}}"#);
        let call = post(&app, "/accounts", body.as_bytes());
        let what = format!("POST /accounts for existing {id}");
        refused(&app, &call, 409, "account-exists", &what).await;
        corrected_retry_succeeds(&app, &call, ACCOUNT_OK, &what).await;
    }
}

#[tokio::test]
async fn the_edges_of_the_valid_range_are_accepted() {
    let app = app().await;
    let alice = &app.alice;
    let max = 1_000_000_000_000u64;
    let long_id = "a".repeat(64);
    app.open_account(alice, &long_id, "EUR", max).await;
    app.open_account(alice, "acc_zero", "EUR", 0).await;

    let reference = "é".repeat(140);
    let body = format!(
        r#"{{"from":"{long_id}","to":"acc_zero","amount":{max},"currency":"EUR","reference":"{reference}"}}"#
    );
    let answer = app.send(&post(&app, "/transfers", body.as_bytes())).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.json()["reference"], reference.as_str());
    assert_eq!(answer.json()["amount"], max);
    assert_eq!(app.balance(&long_id).await, 0);
    assert_eq!(app.balance("acc_zero").await, max);

    let emoji = "😀".repeat(140);
    let body = format!(
        r#"{{"from":"acc_zero","to":"acc_bob","amount":1,"currency":"EUR","reference":"{emoji}"}}"#
    );
    let answer = app.send(&post(&app, "/transfers", body.as_bytes())).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.json()["reference"], emoji.as_str());
}

#[tokio::test]
async fn business_refusals_change_nothing_and_free_the_key() {
    let app = app().await;
    let body = |from: &str, to: &str, amount: u64, currency: &str| {
        format!(r#"{{"from":"{from}","to":"{to}","amount":{amount},"currency":"{currency}"}}"#)
    };
    let cases = [
        (
            "to unknown",
            body("acc_alice", "acc_nobody", 1, "EUR"),
            404,
            "not-found",
        ),
        (
            "from unknown",
            body("acc_nobody", "acc_bob", 1, "EUR"),
            404,
            "not-found",
        ),
        (
            "from not owned",
            body("acc_carol", "acc_bob", 1, "EUR"),
            404,
            "not-found",
        ),
        (
            "from not owned, to unknown",
            body("acc_carol", "acc_nobody", 1, "EUR"),
            404,
            "not-found",
        ),
        (
            "to in another currency",
            body("acc_alice", "acc_usd", 1, "EUR"),
            409,
            "currency-mismatch",
        ),
        (
            "from in another currency",
            body("acc_usd", "acc_bob", 1, "EUR"),
            409,
            "currency-mismatch",
        ),
        (
            "request currency matches neither",
            body("acc_alice", "acc_bob", 1, "USD"),
            409,
            "currency-mismatch",
        ),
        (
            "request currency matches neither, both unfunded",
            body("acc_bob", "acc_alice", 1_000_000, "GBP"),
            409,
            "currency-mismatch",
        ),
        (
            "currency mismatch and no funds",
            body("acc_bob", "acc_usd", 1_000_000, "EUR"),
            409,
            "currency-mismatch",
        ),
        (
            "insufficient funds",
            body("acc_alice", "acc_bob", 10_001, "EUR"),
            409,
            "insufficient-funds",
        ),
    ];
    for (what, body, status, code) in cases {
        let what = format!("POST /transfers, {what}");
        let call = post(&app, "/transfers", body.as_bytes());
        refused(&app, &call, status, code, &what).await;
        corrected_retry_succeeds(&app, &call, TRANSFER_OK, &what).await;
    }
}

#[tokio::test]
async fn a_transfer_refused_for_funds_succeeds_when_retried_with_the_same_key_after_funding() {
    let app = app().await;
    let alice = &app.alice;
    app.open_account(alice, "acc_rich", "EUR", 100_000).await;
    let body = TestApp::transfer_body("acc_alice", "acc_bob", 25_000);
    let first = post(&app, "/transfers", body.as_bytes());
    refused(&app, &first, 409, "insufficient-funds", "first attempt").await;

    let funding = post(
        &app,
        "/transfers",
        TestApp::transfer_body("acc_rich", "acc_alice", 20_000).as_bytes(),
    );
    assert_eq!(app.send(&funding).await.status, 201);

    // The captured first attempt cannot be replayed into success now that funds arrived.
    let replay = app.send(&first.replayed()).await;
    replay.assert_problem_in(401, "nonce-reused", "replay after funding");
    assert_eq!(app.balance("acc_alice").await, 30_000);

    app.clock.advance(3);
    let retry = app.send(&first.resigned(app.clock.now())).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(!retry.replayed());
    assert_eq!(app.balance("acc_alice").await, 5_000);
    assert_eq!(app.balance("acc_bob").await, 25_000);

    // And from now on the key answers with that stored 201.
    let again = app.send(&first.resigned(app.clock.now())).await;
    assert_eq!(again.status, 201);
    assert!(again.replayed());
    assert_eq!(again.body, retry.body);
    assert_eq!(app.balance("acc_alice").await, 5_000);
}

/// A JSON body of exactly `len` bytes: a valid transfer padded with spaces.
fn padded(body: &str, len: usize) -> Vec<u8> {
    let mut bytes = body.as_bytes().to_vec();
    bytes.pop();
    bytes.resize(len - 1, b' ');
    bytes.push(b'}');
    bytes
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413_and_free_the_key() {
    for app in [app().await, authorized_app().await] {
        oversized_bodies_are_refused(&app).await;
    }
}

async fn oversized_bodies_are_refused(app: &TestApp) {
    let limit = 64 * 1024;
    for (path, ok) in [("/transfers", TRANSFER_OK), ("/accounts", ACCOUNT_OK)] {
        for len in [limit + 1, limit + 1000, 1024 * 1024] {
            let what = format!("POST {path}, {len}-byte body");
            let call = post(app, path, &padded(ok, len));
            refused(app, &call, 413, "body-too-large", &what).await;
            corrected_retry_succeeds(app, &call, ok, &what).await;
        }
        // Oversized and unsigned: size is the first check.
        let call = post(app, path, &padded(ok, limit + 1))
            .without_header("signature")
            .without_header("signature-input");
        refused(app, &call, 413, "body-too-large", "unsigned oversized").await;

        let exact = app.send(&post(app, path, &padded(ok, limit))).await;
        assert_eq!(
            exact.status, 201,
            "a body of exactly 64 KiB: {}",
            exact.body
        );
    }
}

#[tokio::test]
async fn bad_headers_are_refused_and_change_nothing() {
    let app = app().await;
    let base = || post(&app, "/transfers", TRANSFER_OK.as_bytes());
    let with_key = |key: &str| {
        let mut call = base();
        call.idempotency_key = Some(key.to_owned());
        call.sign()
    };
    let replace =
        |call: Call, name: &str, value: &str| call.without_header(name).with_header(name, value);
    let mut no_key = base();
    no_key.idempotency_key = None;
    let sha512 = "sha-512=:z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==:";
    let mut edited_body = base();
    edited_body.body = TestApp::transfer_body("acc_alice", "acc_bob", 9_000).into_bytes();

    // (what, call, status, code, may the corrected request reuse the key)
    let cases: Vec<(&str, Call, u16, &str, bool)> = vec![
        (
            "no Idempotency-Key",
            no_key,
            400,
            "idempotency-key-missing",
            false,
        ),
        (
            "non-ASCII key",
            with_key("ключ-1"),
            400,
            "idempotency-key-invalid",
            false,
        ),
        (
            "key with é",
            with_key("caf\u{e9}"),
            400,
            "idempotency-key-invalid",
            false,
        ),
        (
            "256-char key",
            with_key(&"k".repeat(256)),
            400,
            "idempotency-key-invalid",
            false,
        ),
        (
            "empty key",
            with_key(""),
            400,
            "idempotency-key-invalid",
            false,
        ),
        (
            "key with a space",
            with_key("a b"),
            400,
            "idempotency-key-invalid",
            false,
        ),
        (
            "key with a tab",
            with_key("a\tb"),
            400,
            "idempotency-key-invalid",
            false,
        ),
        (
            "repeated key, same value",
            {
                let c = base();
                let k = c.idempotency_key.clone().unwrap();
                c.with_header("idempotency-key", &k)
            },
            400,
            "idempotency-key-invalid",
            true,
        ),
        (
            "repeated key, other value",
            base().with_header("idempotency-key", "other-key"),
            400,
            "idempotency-key-invalid",
            true,
        ),
        (
            "no signature headers",
            base()
                .without_header("signature")
                .without_header("signature-input"),
            401,
            "signature-missing",
            true,
        ),
        (
            "garbage Signature-Input",
            replace(base(), "signature-input", "garbage"),
            401,
            "signature-invalid",
            true,
        ),
        (
            "Signature-Input unterminated",
            replace(base(), "signature-input", r#"sig1=("@method" "@path""#),
            401,
            "signature-invalid",
            true,
        ),
        (
            "Signature-Input with no parameters",
            replace(
                base(),
                "signature-input",
                r#"sig1=("@method" "@path" "content-digest" "idempotency-key")"#,
            ),
            401,
            "signature-invalid",
            true,
        ),
        (
            "garbage Signature",
            replace(base(), "signature", "garbage"),
            401,
            "signature-invalid",
            true,
        ),
        (
            "Signature not base64",
            replace(base(), "signature", "sig1=:!!!!:"),
            401,
            "signature-invalid",
            true,
        ),
        (
            "Signature of the wrong bytes",
            replace(
                base(),
                "signature",
                "sig1=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:",
            ),
            401,
            "signature-invalid",
            true,
        ),
        (
            "Signature under another label",
            {
                let c = base();
                let sig = c
                    .sent_header("signature")
                    .unwrap()
                    .replacen("sig1", "sig2", 1);
                replace(c, "signature", &sig)
            },
            401,
            "signature-invalid",
            true,
        ),
        (
            "two signatures",
            {
                let c = base();
                let sig = c.sent_header("signature").unwrap().to_owned();
                c.with_header("signature", &sig.replacen("sig1", "sig2", 1))
            },
            401,
            "signature-invalid",
            true,
        ),
        (
            "Content-Digest removed",
            base().without_header("content-digest"),
            401,
            "signature-invalid",
            true,
        ),
        (
            "Content-Digest with only sha-512, signed",
            base().sign_with_digest(sha512),
            400,
            "digest-mismatch",
            true,
        ),
        (
            "Content-Digest of other bytes, signed",
            base().sign_with_digest(&content_digest(b"{}")),
            400,
            "digest-mismatch",
            true,
        ),
        (
            "Content-Digest malformed, signed",
            base().sign_with_digest("sha-256=garbage"),
            400,
            "digest-mismatch",
            true,
        ),
        (
            "Content-Digest with sha-256 twice, signed",
            base().sign_with_digest(&format!(
                "{}, {}",
                content_digest(TRANSFER_OK.as_bytes()),
                content_digest(b"{}")
            )),
            400,
            "digest-mismatch",
            true,
        ),
        (
            "body edited after signing",
            edited_body,
            400,
            "digest-mismatch",
            true,
        ),
    ];
    for (what, call, status, code, key_reusable) in cases {
        refused(&app, &call, status, code, what).await;
        if key_reusable {
            corrected_retry_succeeds(&app, &call, TRANSFER_OK, what).await;
        }
    }

    // The digest check ignores other algorithms beside sha-256: this one is accepted.
    let both = format!("{sha512}, {}", content_digest(TRANSFER_OK.as_bytes()));
    let answer = app.send(&base().sign_with_digest(&both)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

#[tokio::test]
async fn malformed_ids_in_a_get_path_are_refused() {
    let app = app().await;
    let cases = [
        "/accounts/acc_%C3%A9".to_owned(),
        "/accounts/acc_%F0%9F%98%80".to_owned(),
        format!("/accounts/{}", "a".repeat(65)),
        "/accounts/acc%23alice".to_owned(),
        "/accounts/".to_owned(),
        "/transfers/tr_%C3%A9".to_owned(),
        format!("/transfers/{}", "t".repeat(65)),
        "/transfers/".to_owned(),
    ];
    for path in cases {
        let before = app.snapshot().await;
        let answer = app.send(&app.signed(&app.alice, "GET", &path, "")).await;
        assert!(
            (400..500).contains(&answer.status),
            "GET {path}: {} {}",
            answer.status,
            answer.body
        );
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json"),
            "GET {path}"
        );
        let code = answer.code();
        assert!(
            ["validation-failed", "not-found"].contains(&code.as_str()),
            "GET {path}: {}",
            answer.body
        );
        answer.assert_problem_in(answer.status, &code, &path);
        assert_eq!(app.snapshot().await, before, "GET {path}");
    }
}
