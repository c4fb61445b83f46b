//! Create transfer: the guard and the payments store are built once per cold start, then every
//! invocation is served by `payments::create_transfer`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    replaysafe::lambda::run(
        payments::Payments::from_env().await?,
        payments::create_transfer,
    )
    .await
}
