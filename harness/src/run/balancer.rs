//! HAProxy in front of a configuration's replicas, as a deployment's balancer runs: HTTP mode,
//! round-robin per request, keep-alive to the clients and to the replicas. It is a process of its
//! own (Debian's `haproxy`, installed by scripts/install-deps.sh), so its CPU is read as its own
//! component, never charged to the replicas.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::process::{Child, Command};

/// How long HAProxy may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(5);

/// A running HAProxy; killed when dropped.
pub(crate) struct Balancer {
    child: Child,
    pub addr: SocketAddr,
    pub pid: i32,
    pub log_path: PathBuf,
}

/// The configuration for `backends` (host:port each), listening on `port` of loopback.
fn config(port: u16, backends: &[String]) -> String {
    let servers: String =
        backends.iter().enumerate().map(|(i, b)| format!("  server replica{i} {b}\n")).collect::<Vec<_>>().concat();
    format!(
        "global\n  maxconn 4096\n\ndefaults\n  mode http\n  option http-keep-alive\n  http-reuse always\n  \
         timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  timeout http-keep-alive 10s\n\n\
         frontend authbench\n  bind 127.0.0.1:{port}\n  default_backend replicas\n\n\
         backend replicas\n  balance roundrobin\n{servers}"
    )
}

/// A loopback port nobody listens on now (HAProxy binds it right after).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Balancer {
    /// Starts HAProxy over `backends`, its configuration and log in `dir`, and waits until it
    /// accepts connections.
    pub async fn start(backends: &[String], dir: &Path, name: &str) -> anyhow::Result<Balancer> {
        anyhow::ensure!(!backends.is_empty(), "a balancer needs at least one replica");
        let port = free_port().context("finding a free loopback port for HAProxy")?;
        let cfg_path = dir.join(format!("{name}.haproxy.cfg"));
        std::fs::write(&cfg_path, config(port, backends)).with_context(|| format!("writing {}", cfg_path.display()))?;
        let log_path = dir.join(format!("{name}.haproxy.log"));
        let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start haproxy: run scripts/install-deps.sh (Debian package haproxy)")?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).context("haproxy exited at once")?;
        let mut b = Balancer { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), pid, log_path };
        b.wait_ready().await?;
        Ok(b)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let start = Instant::now();
        while start.elapsed() < READY_WITHIN {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
                anyhow::bail!("haproxy exited ({status}) before accepting connections: {}", log.trim());
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("haproxy did not accept connections on {} within {READY_WITHIN:?}", self.addr)
    }

    /// Stops HAProxy and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An HTTP/1.1 server answering every request on a kept-alive connection with `body`.
    async fn replica(body: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut seen = Vec::new();
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                            if s.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    #[test]
    fn the_configuration_lists_every_replica_round_robin() {
        let c = config(8080, &["127.0.0.1:1".into(), "127.0.0.1:2".into()]);
        assert!(c.contains("bind 127.0.0.1:8080") && c.contains("balance roundrobin"), "{c}");
        assert!(c.contains("server replica0 127.0.0.1:1\n  server replica1 127.0.0.1:2"), "{c}");
        assert!(c.contains("mode http") && c.contains("option http-keep-alive"), "{c}");
    }

    #[tokio::test]
    async fn requests_on_one_kept_alive_connection_alternate_between_replicas() {
        let dir = tempfile::tempdir().unwrap();
        let backends = vec![replica("a").await, replica("b").await];
        let b = Balancer::start(&backends, dir.path(), "test").await.unwrap();
        let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
        let mut bodies = String::new();
        for _ in 0..4 {
            let r = client.get(format!("http://{}/", b.addr)).send().await.unwrap();
            bodies.push_str(&r.text().await.unwrap());
        }
        b.stop().await;
        assert!(bodies == "abab" || bodies == "baba", "round-robin per request: {bodies}");
    }

    #[tokio::test]
    async fn a_configuration_haproxy_refuses_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let e = Balancer::start(&["not an address".into()], dir.path(), "bad").await.err().unwrap();
        assert!(e.to_string().contains("haproxy exited"), "{e:#}");
    }
}
