//! Get account: the guard and the payments store are built once per cold start, then every
//! invocation is served by `payments::get_account`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    replaysafe::lambda::run(payments::Payments::from_env().await?, payments::get_account).await
}
