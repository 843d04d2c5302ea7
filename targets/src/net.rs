//! Accepting connections: a cap on how many are open at once, a timeout on reading request
//! headers, and sockets that count every byte read and written, so bytes on the wire are
//! measured, not estimated. With `--tls`, TLS sits on top of the counting socket ([`crate::tls`]),
//! so records and handshakes are counted too.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Count;

/// The socket counters every accepted stream adds to.
pub struct Counters {
    pub received: Count,
    pub sent: Count,
    pub connections: Count,
}

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; the next one is answered 503 and closed.
    pub max_connections: usize,
    /// Longest wait for a request's complete headers, and so also the longest idle keep-alive.
    pub header_timeout: Duration,
    /// On shutdown, how long requests in flight may take to finish.
    pub drain: Duration,
}

/// Written, best effort, to a connection over the cap before it is closed; no request is read.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 45\r\n\r\n{\"error\":\"too many connections, retry later\"}";

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: crate::http::Service,
    counters: Counters,
    limits: Limits,
    tls: Option<Arc<crate::tls::Tls>>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)));
    let mut http = hyper::server::conn::http1::Builder::new();
    // Without a timer hyper enforces no header timeout at all: a client sending one header line
    // a minute would hold its connection forever.
    http.timer(crate::deadline::Timer(app.deadlines())).header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Closed at once rather than queued: a flood cannot park connections in the backlog.
            // A TLS client is not told in plain text; it sees the connection closed.
            if let Some(n) = tls.is_none().then(|| stream.try_write(OVER_CAPACITY).ok()).flatten() {
                counters.sent.inc_by(n as u64);
            }
            tracing::debug!("connection refused: --max-connections reached");
            continue;
        };
        let _ = stream.set_nodelay(true);
        counters.connections.inc();
        let io = CountingStream {
            inner: stream,
            received: counters.received.clone(),
            sent: counters.sent.clone(),
            _slot: slot,
        };
        if let Some(tls) = &tls {
            tokio::spawn(Arc::clone(tls).serve(io, app.clone(), graceful.watcher()));
            continue;
        }
        let conn = graceful.watch(http.serve_connection(TokioIo::new(io), app.clone()));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // Header timeouts, resets and malformed requests end here; the client got its answer.
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight at shutdown were cut off");
    }
    Ok(())
}

/// A TCP stream that counts bytes as they cross the socket and holds a connection slot.
pub struct CountingStream {
    inner: TcpStream,
    received: Count,
    sent: Count,
    /// Released when the connection is dropped.
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for CountingStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            self.received.inc_by((buf.filled().len() - before) as u64);
        }
        res
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = res {
            self.sent.inc_by(n as u64);
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = res {
            self.sent.inc_by(n as u64);
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_capacity_answer_is_well_formed() {
        let text = std::str::from_utf8(OVER_CAPACITY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap().parse().unwrap();
        assert_eq!(len, body.len());
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
}
