//! `"@path"` on AWS: the signed path is the path API Gateway received, not a normalised one.

use payments::routes::Route;
use replaysafe::Clock;
use replaysafe_tests::{TestApp, TestClient, World};

/// An API Gateway HTTP API event for `GET raw_path`, signed by `client` over `signed_path`.
fn gateway_get(
    app: &TestApp,
    client: &TestClient,
    raw_path: &str,
    signed_path: &str,
) -> lambda_http::Request {
    use lambda_http::RequestExt;
    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/get-account.json"
    ))
    .expect("events/get-account.json");
    let mut event: serde_json::Value = serde_json::from_str(&event).expect("event JSON");
    let signed = client.signer().sign(
        "GET",
        signed_path,
        b"",
        None,
        app.clock.now(),
        &replaysafe_signing::random_nonce(),
    );
    event["rawPath"] = raw_path.into();
    event["requestContext"]["http"]["path"] = raw_path.into();
    event["headers"]["signature-input"] = signed.signature_input.into();
    event["headers"]["signature"] = signed.signature.into();
    let mut context = lambda_http::Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    lambda_http::request::from_str(&event.to_string())
        .expect("a payload 2.0 event")
        .with_lambda_context(context)
}

#[tokio::test]
async fn the_signed_path_is_the_path_api_gateway_received_not_a_normalised_one() {
    let World { app, .. } = World::open().await;
    let raw = "/accounts/x/../acc_alice";

    let as_sent = gateway_get(&app, &app.alice, raw, raw);
    let answer = Route::GetAccount.serve(&app.app, &as_sent).await;
    assert_eq!(answer.status(), 200, "{:?}", answer.body());

    // Signed over what a normaliser would make of it: not what the server received.
    let normalised = gateway_get(&app, &app.alice, raw, "/accounts/acc_alice");
    let answer = Route::GetAccount.serve(&app.app, &normalised).await;
    assert_eq!(answer.status(), 401);
}
