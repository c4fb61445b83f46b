//! The orders example (`shared/examples/orders/`), an endpoint of another domain, tested as an
//! adopter would: with the library's test kit (`replaysafe::testing`) alone, against DynamoDB
//! Local, in both modes. A retry replays, a taken id is refused and stays refused, a bad body
//! changes nothing.

#[path = "../../shared/examples/orders/orders.rs"]
mod orders;

use std::sync::Arc;

use lambda_http::{Body, Request};
use orders::{create_order, Orders};
use replaysafe::store::schema::{create_tables, TableSpec};
use replaysafe::testing::{self, Client};
use replaysafe::{Auth, Clock, Config, Guard, ManualClock};

const T0: i64 = 1_763_812_800;
const ORDER: &[u8] = br#"{"order_id":"ord_1","sku":"sku-7","quantity":2}"#;

struct Shop {
    orders: Orders,
    clock: Arc<ManualClock>,
}

async fn shop(auth: Auth) -> Shop {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("AWS_ENDPOINT_URL_DYNAMODB: run with `make test`, which starts DynamoDB Local");
    let sdk = testing::local_sdk_client(&endpoint).await;
    let prefix = format!("o{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let config = Config::builder()
        .table_prefix(&prefix)
        .auth(auth)
        .problem_type_base("https://shop.example/problems/")
        .build()
        .unwrap();
    testing::create_tables(&sdk, &config.tables).await.unwrap();
    let table = format!("{prefix}orders");
    let spec = TableSpec {
        logical: "orders",
        partition_key: "order_id",
        ttl_attribute: None,
    };
    create_tables(&sdk, &[(table.as_str(), spec)])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let guard = Guard::builder(config)
        .sdk_client(sdk)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    Shop {
        orders: Orders { guard, table },
        clock,
    }
}

struct Answer {
    status: u16,
    replayed: bool,
    body: serde_json::Value,
}

impl Shop {
    async fn send(&self, req: Request) -> Answer {
        let response = replaysafe::lambda::serve(&self.orders, &req, create_order).await;
        let body = match response.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            _ => serde_json::Value::Null,
        };
        Answer {
            status: response.status().as_u16(),
            replayed: response.headers().get("idempotent-replayed").is_some(),
            body,
        }
    }

    async fn order_count(&self) -> usize {
        let store = self.orders.guard.store();
        let out = store.client().scan().table_name(&self.orders.table).send();
        out.await.unwrap().items().len()
    }

    async fn alice(&self) -> Client {
        Client::create(self.orders.guard.store(), self.clock.now()).await
    }
}

impl Answer {
    /// The adopter's problem: status, code and its own problem type. Not the harness's
    /// `Answer::assert_problem`: this test uses the library's test kit alone, as an adopter
    /// would, and its stored refusals are replayed (the harness's problems never are).
    #[track_caller]
    fn assert_shop_problem(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code))
        );
        let kind = format!("https://shop.example/problems/{code}");
        assert_eq!(
            self.body["type"],
            kind.as_str(),
            "the adopter's problem types"
        );
    }
}

#[tokio::test]
async fn a_signed_order_is_created_once_and_its_retry_gets_the_first_answer() {
    let shop = shop(Auth::Signatures).await;
    let alice = shop.alice().await;

    let first = shop.send(alice.post("/orders", ORDER, "k1", T0)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    shop.clock.advance(1);
    let retry = shop.send(alice.post("/orders", ORDER, "k1", T0 + 1)).await;
    assert_eq!((retry.status, retry.replayed), (201, true));
    assert_eq!(retry.body, first.body);
    assert_eq!(shop.order_count().await, 1);
}

#[tokio::test]
async fn a_signed_order_refused_for_a_taken_id_stays_refused() {
    let shop = shop(Auth::Signatures).await;
    let alice = shop.alice().await;
    assert_eq!(
        shop.send(alice.post("/orders", ORDER, "k1", T0))
            .await
            .status,
        201
    );

    // An attempt signed now and held back, then a later attempt refused: the held one is
    // superseded, never executed.
    let held = alice.post("/orders", ORDER, "k2", T0);
    shop.clock.advance(1);
    let refused = shop.send(alice.post("/orders", ORDER, "k2", T0 + 1)).await;
    refused.assert_shop_problem(409, "order-exists");
    shop.send(held)
        .await
        .assert_shop_problem(409, "attempt-superseded");
    assert_eq!(shop.order_count().await, 1);
}

#[tokio::test]
async fn a_bad_order_body_is_a_clear_400_and_writes_no_order_in_either_mode() {
    for auth in [Auth::Signatures, Auth::jwt()] {
        let shop = shop(auth.clone()).await;
        let alice = shop.alice().await;
        for (i, body) in [
            r#"{"order_id":"ord 1","sku":"s","quantity":1}"#,
            r#"{"order_id":"ord_1","sku":"s","quantity":0}"#,
            r#"{"order_id":"ord_1","sku":"s","quantity":1,"extra":true}"#,
            "[",
        ]
        .into_iter()
        .enumerate()
        {
            let key = format!("bad-{i}");
            let req = match auth {
                Auth::Signatures => alice.post("/orders", body.as_bytes(), &key, T0),
                _ => testing::authorized("POST", "/orders", body.as_bytes(), Some(&key), "alice"),
            };
            shop.send(req)
                .await
                .assert_shop_problem(400, "validation-failed");
        }
        assert_eq!(shop.order_count().await, 0, "{auth:?}");
    }
}

#[tokio::test]
async fn behind_an_authorizer_an_order_is_created_once_per_key_and_principal() {
    let shop = shop(Auth::jwt()).await;
    let post = |key: &str, sub: &str| testing::authorized("POST", "/orders", ORDER, Some(key), sub);

    let first = shop.send(post("k1", "alice")).await;
    assert_eq!(
        (first.status, first.replayed),
        (201, false),
        "{}",
        first.body
    );
    let retry = shop.send(post("k1", "alice")).await;
    assert_eq!((retry.status, retry.replayed), (201, true));
    assert_eq!(retry.body, first.body);

    // Bob's key of the same name is his own operation: the id is taken, refused, no effect.
    shop.send(post("k1", "bob"))
        .await
        .assert_shop_problem(409, "order-exists");
    assert_eq!(shop.order_count().await, 1);
}

#[tokio::test]
async fn behind_an_authorizer_a_refusal_is_the_keys_final_answer() {
    let shop = shop(Auth::jwt()).await;
    let post = |key: &str| testing::authorized("POST", "/orders", ORDER, Some(key), "alice");
    assert_eq!(shop.send(post("k1")).await.status, 201);

    let refused = shop.send(post("k2")).await;
    refused.assert_shop_problem(409, "order-exists");
    assert!(!refused.replayed);
    let again = shop.send(post("k2")).await;
    again.assert_shop_problem(409, "order-exists");
    assert!(again.replayed, "the stored refusal, replayed");
    assert_eq!(again.body, refused.body);
    assert_eq!(shop.order_count().await, 1);
}

#[tokio::test]
async fn behind_an_authorizer_a_request_without_a_principal_is_401_and_changes_nothing() {
    let shop = shop(Auth::jwt()).await;
    let alice = shop.alice().await;
    // A signature is not a principal in this mode.
    let signed = alice.post("/orders", ORDER, "k1", T0);
    shop.send(signed)
        .await
        .assert_shop_problem(401, "unauthenticated");
    let no_sub = testing::authorized("POST", "/orders", ORDER, Some("k1"), "");
    shop.send(no_sub)
        .await
        .assert_shop_problem(401, "unauthenticated");
    assert_eq!(shop.order_count().await, 0);
}
