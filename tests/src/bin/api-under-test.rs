//! Every endpoint over HTTP on fresh tables in the DynamoDB Local named by
//! `AWS_ENDPOINT_URL_DYNAMODB`, for tools that test the running API from outside (schemathesis,
//! see scripts/schemathesis.sh). Prints one JSON line, `{"url", "client_id", "secret"}`, then
//! serves until stdin closes.
//!
//! The client owns `acc_alice` (EUR, 10^9) and `acc_bob` (EUR, 0), so generated requests that
//! name them can succeed. Withdrawals are paid out to a fake bank (target/debug/fake-bank) of
//! its own, which lives as long as it does.

use std::io::Read;

use replaysafe_tests::TestApp;

#[tokio::main]
async fn main() {
    let app = TestApp::with_system_clock().await;
    app.open_account(&app.alice, "acc_alice", "EUR", 1_000_000_000)
        .await;
    app.open_account(&app.alice, "acc_bob", "EUR", 0).await;
    let bank = replaysafe_tests::outside::start_bank().await;
    let server = app.http_server_with_bank(bank.url()).await;
    let mut line: serde_json::Value =
        serde_json::from_str(&app.alice.credentials_json()).expect("credentials are JSON");
    line["url"] = server.url.clone().into();
    println!("{line}");
    // Serve until the caller closes our stdin (or dies, which closes it too).
    tokio::task::spawn_blocking(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    })
    .await
    .expect("stdin reader");
}
