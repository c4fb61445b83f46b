//! Get transfer: wiring only. Config and the DynamoDB client are built once per cold start.

use lambda_http::{run, service_fn, Error, Request};
use replaysafe::{api, Guard};

#[tokio::main]
async fn main() -> Result<(), Error> {
    replaysafe::telemetry::init();
    let guard = &Guard::from_env().await?;
    run(service_fn(move |req: Request| async move {
        api::handle(guard, &req, api::get_transfer).await
    }))
    .await
}
