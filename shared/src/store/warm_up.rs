//! The init-phase warm-up: what the SDK would otherwise set up lazily on the first request.

use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;

use super::attrs::s;
use super::Store;

/// No client can have this id (ids never contain `#`), so the read finds nothing.
const NO_CLIENT: &str = "#warm-up";

impl Store {
    /// Two cheap reads on the clients table, at once, made once per cold start before the first
    /// request. The SDK builds its connector (with HTTPS, loading the TLS trust store),
    /// resolves credentials and the endpoint, and opens connections (TCP, and TLS on HTTPS,
    /// kept in its pool) on the first calls it makes: without this, the first request pays for
    /// all of it. Two, because a request's first DynamoDB round trip is two calls at once (nonce
    /// put ∥ read): one pooled connection would leave the second to be opened, TLS handshake
    /// included, during the first request. A failure is logged and ignored: the first request
    /// then pays, as it would have.
    pub async fn warm_up(&self) {
        let read = || {
            let read = self
                .client
                .get_item()
                .table_name(&self.tables.clients)
                .key("client_id", s(NO_CLIENT))
                .send();
            async {
                match tokio::time::timeout(Duration::from_secs(2), read).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %DisplayErrorContext(&e), "warm-up read failed")
                    }
                    Err(_) => tracing::warn!("warm-up read timed out"),
                }
            }
        };
        tokio::join!(read(), read());
    }
}
