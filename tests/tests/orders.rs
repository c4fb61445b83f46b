//! The orders example (`shared/examples/orders/`), an endpoint of another domain on the
//! library's public API, against DynamoDB Local: a retry replays, a taken id is refused and
//! stays refused, a bad body changes nothing.

#[path = "../../shared/examples/orders/orders.rs"]
mod orders;

use orders::{create_order, Orders};
use replaysafe::store::schema::{create_tables, TableSpec};
use replaysafe::{Clock, Guard};
use replaysafe_tests::{Answer, Call, TestApp};

async fn orders_app(app: &TestApp) -> Orders {
    let table = format!(
        "{}orders",
        app.store.tables().clients.trim_end_matches("clients")
    );
    let spec = TableSpec {
        logical: "orders",
        partition_key: "order_id",
        ttl_attribute: None,
    };
    create_tables(app.store.client(), &[(table.as_str(), spec)])
        .await
        .expect("orders table");
    Orders {
        guard: Guard::new(
            app.store.clone(),
            app.guard().config().clone(),
            app.clock.clone(),
        ),
        table,
    }
}

async fn send(orders: &Orders, call: &Call) -> Answer {
    let req = call.request();
    Answer::of(replaysafe::lambda::serve(orders, &req, create_order).await)
}

async fn order_count(app: &TestApp, orders: &Orders) -> usize {
    app.scan_count(&orders.table).await
}

const ORDER: &str = r#"{"order_id":"ord_1","sku":"sku-7","quantity":2}"#;

#[tokio::test]
async fn an_order_is_created_once_and_its_retry_gets_the_first_answer() {
    let app = TestApp::new().await;
    let orders = orders_app(&app).await;
    let call = app.signed(&app.alice, "POST", "/orders", ORDER);

    let first = send(&orders, &call).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("location"), Some("/orders/ord_1"));

    app.clock.advance(1);
    let retry = send(&orders, &call.resigned(app.clock.now())).await;
    assert_eq!(retry.status, 201);
    assert!(retry.replayed());
    assert_eq!(retry.body, first.body);
    assert_eq!(order_count(&app, &orders).await, 1);
}

#[tokio::test]
async fn a_taken_order_id_is_refused_with_the_apps_own_code_and_stays_refused() {
    let app = TestApp::new().await;
    let orders = orders_app(&app).await;
    assert_eq!(
        send(&orders, &app.signed(&app.alice, "POST", "/orders", ORDER))
            .await
            .status,
        201
    );
    let held = app.signed(&app.alice, "POST", "/orders", ORDER);
    app.clock.advance(1);
    send(&orders, &held.resigned(app.clock.now()))
        .await
        .assert_problem(409, "order-exists");
    send(&orders, &held)
        .await
        .assert_problem(409, "attempt-superseded");
    assert_eq!(order_count(&app, &orders).await, 1);
}

#[tokio::test]
async fn a_bad_order_body_is_a_clear_400_and_writes_no_order() {
    let app = TestApp::new().await;
    let orders = orders_app(&app).await;
    for body in [
        r#"{"order_id":"ord 1","sku":"s","quantity":1}"#,
        r#"{"order_id":"ord_1","sku":"s","quantity":0}"#,
        r#"{"order_id":"ord_1","sku":"s","quantity":1,"extra":true}"#,
        "[",
    ] {
        send(&orders, &app.signed(&app.alice, "POST", "/orders", body))
            .await
            .assert_problem(400, "validation-failed");
    }
    assert_eq!(order_count(&app, &orders).await, 0);
}
