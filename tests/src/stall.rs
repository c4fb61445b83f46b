//! A TCP proxy in front of DynamoDB Local that can be told to stall: from then on it accepts
//! connections and reads requests but never answers, new connections and pooled ones alike,
//! as a DynamoDB endpoint that hangs would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct StallingProxy {
    pub url: String,
    stalled: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl StallingProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream` (`host:port`) until stalled.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let stalled = Arc::new(AtomicBool::new(false));
        let flag = stalled.clone();
        let upstream = upstream.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream.clone(), flag.clone()));
            }
        });
        Self { url, stalled, task }
    }

    pub fn stall(&self, on: bool) {
        self.stalled.store(on, Ordering::SeqCst);
    }
}

impl Drop for StallingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, upstream: String, stalled: Arc<AtomicBool>) {
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let (client_rx, client_tx) = client.into_split();
    let (server_rx, server_tx) = server.into_split();
    tokio::join!(
        pump(client_rx, server_tx, stalled.clone()),
        pump(server_rx, client_tx, stalled)
    );
}

/// Copies until either side closes. Once stalled, it holds what it read and never sends it on,
/// not even later: a late delivery would be another fault than a hang.
async fn pump(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    stalled: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stalled.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
