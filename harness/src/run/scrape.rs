//! Reads a target's /metrics over a raw connection, so the scrape's own bytes are known exactly
//! and can be taken out of the byte counters.

use anyhow::Context;
use std::collections::BTreeMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use authbench_targets::contract::{metric, route, CONTROL_KEY_HEADER};

/// One scrape: the counters and the exact size of the scrape's request and response.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Requests by (route, status).
    pub requests: BTreeMap<(String, u16), f64>,
    pub store_ops: BTreeMap<String, f64>,
    pub store_seconds: BTreeMap<String, f64>,
    pub bytes_received: f64,
    pub bytes_sent: f64,
    pub auth_received: f64,
    pub auth_sent: f64,
    pub request_len: u64,
    pub response_len: u64,
}

impl Snapshot {
    /// Requests other than /metrics scrapes.
    pub fn served(&self) -> f64 {
        self.requests.iter().filter(|((r, _), _)| r != route::METRICS).map(|(_, n)| n).sum()
    }

    /// Store operations of every kind except health pings.
    pub fn store_ops_total(&self) -> f64 {
        self.store_ops.iter().filter(|(op, _)| op.as_str() != metric::PING_OP).map(|(_, n)| n).sum()
    }
}

fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let end = labels[start..].find('"')? + start;
    Some(&labels[start..end])
}

/// Parses the Prometheus text a target serves.
pub fn parse(text: &str) -> Snapshot {
    let mut s = Snapshot::default();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(v) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = key.split_once('{').map_or((key, ""), |(n, l)| (n, l));
        match name {
            metric::HTTP_REQUESTS => {
                if let (Some(route), Some(status)) =
                    (label(labels, "route"), label(labels, "status").and_then(|s| s.parse().ok()))
                {
                    s.requests.insert((route.to_owned(), status), v);
                }
            }
            metric::STORE_OPERATIONS => {
                if let Some(op) = label(labels, "op") {
                    s.store_ops.insert(op.to_owned(), v);
                }
            }
            metric::STORE_SECONDS_SUM => {
                if let Some(op) = label(labels, "op") {
                    s.store_seconds.insert(op.to_owned(), v);
                }
            }
            metric::BYTES_RECEIVED => s.bytes_received = v,
            metric::BYTES_SENT => s.bytes_sent = v,
            metric::AUTH_BYTES_RECEIVED => s.auth_received = v,
            metric::AUTH_BYTES_SENT => s.auth_sent = v,
            _ => {}
        }
    }
    s
}

/// The exact bytes of one scrape request; /metrics answers only with the control key.
pub fn request(addr: &str, control_key: &str) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\n{CONTROL_KEY_HEADER}: {control_key}\r\nConnection: close\r\n\r\n",
        route::METRICS
    )
}

/// How long one scrape may take: a target too overloaded to answer /metrics within it fails the
/// case with a message instead of hanging the run.
const SCRAPE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Scrapes `addr` (host:port) once.
pub async fn scrape(addr: &str, control_key: &str) -> anyhow::Result<Snapshot> {
    tokio::time::timeout(SCRAPE_TIMEOUT, scrape_once(addr, control_key))
        .await
        .map_err(|_| anyhow::anyhow!("/metrics at {addr} did not answer within {} s", SCRAPE_TIMEOUT.as_secs()))?
}

async fn scrape_once(addr: &str, control_key: &str) -> anyhow::Result<Snapshot> {
    let request = request(addr, control_key);
    let mut stream =
        TcpStream::connect(addr).await.with_context(|| format!("cannot reach target at {addr} for /metrics"))?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) =
        text.split_once("\r\n\r\n").ok_or_else(|| anyhow::anyhow!("malformed /metrics response from {addr}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        anyhow::bail!("/metrics at {addr} answered {}", head.lines().next().unwrap_or_default());
    }
    let mut s = parse(body);
    s.request_len = request.len() as u64;
    s.response_len = response.len() as u64;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_the_key_and_is_counted_whole() {
        let r = request("127.0.0.1:1", "k".repeat(24).as_str());
        assert!(r.contains(&format!("\r\nx-control-key: {}\r\n", "k".repeat(24))), "{r}");
        assert!(r.starts_with("GET /metrics HTTP/1.1\r\n") && r.ends_with("\r\n\r\n"));
    }

    #[test]
    fn parses_target_metrics() {
        let text = r#"# HELP x
authbench_http_requests_total{route="/api/me",status="200"} 10
authbench_http_requests_total{route="/metrics",status="200"} 2
authbench_store_operations_total{op="session_get"} 10
authbench_store_operations_total{op="ping"} 1
authbench_store_operation_duration_seconds_sum{op="session_get"} 0.0003
authbench_http_bytes_received_total 1234
authbench_http_bytes_sent_total 5678
authbench_auth_bytes_received_total 99
"#;
        let s = parse(text);
        assert_eq!(s.served(), 10.0);
        assert_eq!(s.store_ops_total(), 10.0);
        assert_eq!(s.bytes_received, 1234.0);
        assert_eq!(s.bytes_sent, 5678.0);
        assert_eq!(s.auth_received, 99.0);
        assert_eq!(s.store_seconds["session_get"], 0.0003);
    }
}
