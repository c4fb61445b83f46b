//! Serving a [`Bank`] over HTTP/1.1 connections.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::bank::Bank;
use crate::wire::{read_request, Read};

/// Serves `bank` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, bank: Arc<Bank>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let bank = bank.clone();
                tokio::spawn(async move { serve_connection(stream, &bank).await });
            }
            // Out of descriptors, say: the next accept may succeed once some close.
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Answers the requests of one connection in order. A handler runs to its end even when the
/// client has gone (a timed-out client does not undo a payment), since nothing reads the
/// connection while it runs.
async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, bank: &Bank) {
    let mut buf = Vec::new();
    loop {
        let (answer, keep_alive) = match read_request(&mut stream, &mut buf).await {
            Ok(Read::Request(req, keep_alive)) => {
                let started = Instant::now();
                let answer = bank.handle(&req).await;
                tracing::info!(
                    method = %req.method,
                    path = %req.path,
                    status = answer.status,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "request"
                );
                (answer, keep_alive)
            }
            Ok(Read::Closed) => return,
            Err(answer) => {
                tracing::info!(status = answer.status, "unreadable request");
                (answer, false)
            }
        };
        let written = stream.write_all(&answer.to_bytes(keep_alive)).await;
        if written.is_err() || !keep_alive {
            let _ = stream.shutdown().await;
            return;
        }
    }
}
