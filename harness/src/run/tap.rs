//! An observer on the path between a client and a target: a loopback TCP relay that keeps every
//! byte the client sent, as anyone on the network between the two could.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bytes kept at most: one request's head and more.
const KEEP: usize = 64 * 1024;

/// A relay for one connection to `upstream`, keeping what the client sent.
pub(crate) struct Tap {
    pub addr: SocketAddr,
    kept: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

impl Tap {
    /// Listens on a free loopback port and relays its first connection to `upstream`.
    pub async fn start(upstream: &str) -> std::io::Result<Tap> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let kept = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_owned();
        let sink = Arc::clone(&kept);
        let task = tokio::spawn(async move {
            if let Ok((client, _)) = listener.accept().await {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    relay(client, server, &sink).await;
                }
            }
        });
        Ok(Tap { addr, kept, task })
    }

    /// What the client sent so far; the relay stops.
    pub fn captured(self) -> Vec<u8> {
        self.task.abort();
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }
}

async fn relay(client: TcpStream, server: TcpStream, kept: &Mutex<Vec<u8>>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let back = tokio::spawn(async move { tokio::io::copy(&mut from_server, &mut to_client).await });
    let mut buf = [0u8; 4096];
    while let Ok(n) = from_client.read(&mut buf).await {
        if n == 0 || to_server.write_all(&buf[..n]).await.is_err() {
            break;
        }
        if let Ok(mut k) = kept.lock() {
            let room = KEEP.saturating_sub(k.len()).min(n);
            k.extend_from_slice(&buf[..room]);
        }
    }
    back.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_tap_relays_both_ways_and_keeps_what_the_client_sent() {
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = upstream.local_addr().unwrap().to_string();
        let echo = tokio::spawn(async move {
            let (mut s, _) = upstream.accept().await.unwrap();
            let mut b = [0u8; 5];
            s.read_exact(&mut b).await.unwrap();
            s.write_all(b"pong!").await.unwrap();
        });
        let tap = Tap::start(&at).await.unwrap();
        let mut c = TcpStream::connect(tap.addr).await.unwrap();
        c.write_all(b"ping!").await.unwrap();
        let mut answer = [0u8; 5];
        c.read_exact(&mut answer).await.unwrap();
        echo.await.unwrap();
        assert_eq!(&answer, b"pong!");
        assert_eq!(tap.captured(), b"ping!");
    }
}
