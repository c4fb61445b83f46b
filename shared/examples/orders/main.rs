//! The orders function: `cargo run --example orders` under cargo-lambda, or deployed as a
//! `provided.al2023` function with `ORDERS_TABLE` and the guard's env (`TABLE_PREFIX`,
//! `AUTH_MODE`, ...): behind signatures or behind an API Gateway JWT authorizer, the same code.

mod orders;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let app = orders::Orders {
        guard: replaysafe::Guard::from_env().await?,
        table: std::env::var("ORDERS_TABLE").unwrap_or_else(|_| "orders".into()),
    };
    replaysafe::lambda::run(app, "POST /orders", orders::create_order).await
}
