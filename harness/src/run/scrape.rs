//! Reads a target's /metrics over a raw connection, so the scrape's own bytes are known exactly
//! and can be taken out of the byte counters. Over TLS the connection is tokio-rustls on top of a
//! socket that counts its bytes, so the scrape's handshake and records are known exactly too.

use anyhow::Context;
use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use authbench_scenarios::client::ClientSpec;
use authbench_targets::contract::{metric, route, CONTROL_KEY_HEADER};

/// One scrape: the counters and the exact size of the scrape's request and response.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Requests by (route, status).
    pub requests: BTreeMap<(String, u16), f64>,
    pub store_ops: BTreeMap<String, f64>,
    pub store_seconds: BTreeMap<String, f64>,
    /// Seconds the target's PostgreSQL connections were checked out of its pool.
    pub pool_held_seconds: f64,
    pub bytes_received: f64,
    pub bytes_sent: f64,
    pub auth_received: f64,
    pub auth_sent: f64,
    pub request_len: u64,
    pub response_len: u64,
    /// Of `request_len`, the scrape's own TLS handshake (0 over plain HTTP).
    pub handshake_request_len: u64,
    /// Of `response_len`, the target's TLS handshake: written before it rendered the counters
    /// this scrape read, unlike the rest of the response (0 over plain HTTP).
    pub handshake_response_len: u64,
    /// TLS handshakes the target completed, by key exchange group; empty for a plain target.
    pub tls_groups: BTreeMap<String, f64>,
    /// Socket bytes of those handshakes (received, sent); None for a plain target.
    pub tls_handshake_bytes: Option<(f64, f64)>,
    /// The key exchange group of this scrape's own handshake; None over plain HTTP.
    pub scrape_group: Option<String>,
    /// The target's own user + system CPU seconds (`process_cpu_seconds_total`); None from a
    /// target that does not export it.
    pub process_cpu_seconds: Option<f64>,
    /// The target's resident memory (`process_resident_memory_bytes`); None when not exported.
    pub resident_bytes: Option<f64>,
    /// Each scraped replica's `process_start_time_seconds`, in scrape order: another value at the
    /// next scrape means another process answered (a restart, or a balancer's other replica).
    pub process_starts: Vec<f64>,
}

impl Snapshot {
    /// Requests other than /metrics scrapes.
    pub fn served(&self) -> f64 {
        self.requests.iter().filter(|((r, _), _)| r != route::METRICS).map(|(_, n)| n).sum()
    }

    /// The response bytes the target wrote after rendering the counters this scrape read.
    pub fn response_after_render(&self) -> u64 {
        self.response_len - self.handshake_response_len
    }

    /// TLS handshakes the target completed; None for a plain target.
    pub fn tls_handshakes(&self) -> Option<f64> {
        (!self.tls_groups.is_empty()).then(|| self.tls_groups.values().sum())
    }

    /// Adds another replica's scrape: every counter and every scrape length is a sum over the
    /// replicas, so the window's deltas and the scrapes' own bytes subtract as for one target.
    pub fn add(&mut self, o: &Snapshot) {
        fn sum<K: Ord + Clone>(into: &mut BTreeMap<K, f64>, from: &BTreeMap<K, f64>) {
            for (k, v) in from {
                *into.entry(k.clone()).or_insert(0.0) += v;
            }
        }
        let both = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a + b);
        sum(&mut self.requests, &o.requests);
        sum(&mut self.store_ops, &o.store_ops);
        sum(&mut self.store_seconds, &o.store_seconds);
        sum(&mut self.tls_groups, &o.tls_groups);
        self.pool_held_seconds += o.pool_held_seconds;
        self.bytes_received += o.bytes_received;
        self.bytes_sent += o.bytes_sent;
        self.auth_received += o.auth_received;
        self.auth_sent += o.auth_sent;
        self.request_len += o.request_len;
        self.response_len += o.response_len;
        self.handshake_request_len += o.handshake_request_len;
        self.handshake_response_len += o.handshake_response_len;
        self.tls_handshake_bytes = match (self.tls_handshake_bytes, o.tls_handshake_bytes) {
            (Some((r, s)), Some((or, os))) => Some((r + or, s + os)),
            (a, b) => a.or(b),
        };
        self.scrape_group = self.scrape_group.take().or_else(|| o.scrape_group.clone());
        self.process_cpu_seconds = both(self.process_cpu_seconds, o.process_cpu_seconds);
        self.resident_bytes = both(self.resident_bytes, o.resident_bytes);
        self.process_starts.extend(&o.process_starts);
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
            metric::STORE_POOL_HELD_SECONDS => s.pool_held_seconds = v,
            metric::BYTES_RECEIVED => s.bytes_received = v,
            metric::BYTES_SENT => s.bytes_sent = v,
            metric::AUTH_BYTES_RECEIVED => s.auth_received = v,
            metric::AUTH_BYTES_SENT => s.auth_sent = v,
            metric::TLS_HANDSHAKES => {
                if let Some(group) = label(labels, "group") {
                    s.tls_groups.insert(group.to_owned(), v);
                }
            }
            metric::PROCESS_CPU_SECONDS => s.process_cpu_seconds = Some(v),
            metric::PROCESS_RESIDENT_MEMORY => s.resident_bytes = Some(v),
            metric::PROCESS_START_TIME => s.process_starts = vec![v],
            metric::TLS_HANDSHAKE_BYTES => {
                let (received, sent) = s.tls_handshake_bytes.get_or_insert((0.0, 0.0));
                match label(labels, "direction") {
                    Some("received") => *received = v,
                    Some("sent") => *sent = v,
                    _ => {}
                }
            }
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

/// Where a scrape connects: the target's address and, for a TLS target, a TLS client trusting
/// exactly its certificate.
#[derive(Clone)]
pub struct ScrapeAt {
    /// host:port
    pub addr: String,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl ScrapeAt {
    /// A plain-HTTP target at `addr`.
    pub fn plain(addr: &str) -> ScrapeAt {
        ScrapeAt { addr: addr.to_owned(), tls: None }
    }

    /// The target at `addr` that clients reach as `client` says. Over TLS no ALPN is offered, so a
    /// target serving h2 answers this one request in HTTP/1.1, whose bytes are known exactly.
    pub fn new(addr: &str, client: &ClientSpec) -> anyhow::Result<ScrapeAt> {
        let ClientSpec::Tls { root_pem, .. } = client else {
            return Ok(ScrapeAt::plain(addr));
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(root_pem) {
            roots.add(cert.context("the target's certificate is not PEM")?)?;
        }
        anyhow::ensure!(!roots.is_empty(), "the target's certificate file holds no certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(ScrapeAt { addr: addr.to_owned(), tls: Some(tokio_rustls::TlsConnector::from(Arc::new(config))) })
    }
}

/// Scrapes the target at `at` once.
pub async fn scrape(at: &ScrapeAt, control_key: &str) -> anyhow::Result<Snapshot> {
    let addr = &at.addr;
    tokio::time::timeout(SCRAPE_TIMEOUT, scrape_once(at, control_key))
        .await
        .map_err(|_| anyhow::anyhow!("/metrics at {addr} did not answer within {} s", SCRAPE_TIMEOUT.as_secs()))?
}

/// Scrapes every replica in turn and sums their counters ([`Snapshot::add`]); one replica is one
/// scrape, as [`scrape`].
pub async fn scrape_all(at: &[ScrapeAt], control_key: &str) -> anyhow::Result<Snapshot> {
    let (first, rest) = at.split_first().context("no target to scrape")?;
    let mut total = scrape(first, control_key).await?;
    for replica in rest {
        total.add(&scrape(replica, control_key).await?);
    }
    Ok(total)
}

/// Bytes a scrape exchanged at the socket: in total, and during its TLS handshake.
#[derive(Default)]
struct Exchanged {
    request: u64,
    response: u64,
    handshake_request: u64,
    handshake_response: u64,
    group: Option<String>,
}

/// One request and the whole response until the target closes, over plain TCP.
async fn exchange_plain(mut stream: TcpStream, request: &[u8]) -> io::Result<(Vec<u8>, Exchanged)> {
    stream.write_all(request).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let lens = Exchanged { request: request.len() as u64, response: response.len() as u64, ..Exchanged::default() };
    Ok((response, lens))
}

/// One request and the whole response over TLS, counting socket bytes. The target sends nothing
/// after its handshake until it has the request, so what was read when the handshake completed is
/// exactly its handshake.
async fn exchange_tls(
    connector: &tokio_rustls::TlsConnector,
    addr: &str,
    stream: TcpStream,
    request: &[u8],
) -> io::Result<(Vec<u8>, Exchanged)> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut tls = connector.connect(name, Counted::new(stream)).await?;
    let (io, conn) = tls.get_ref();
    let (handshake_request, handshake_response) = (io.written, io.read);
    let group = conn.negotiated_key_exchange_group().and_then(|g| g.name().as_str()).map(str::to_owned);
    tls.write_all(request).await?;
    tls.flush().await?;
    let mut response = Vec::new();
    match tls.read_to_end(&mut response).await {
        Ok(_) => {}
        // A close without close_notify after a complete response still ends it.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e),
    }
    let io = tls.get_ref().0;
    Ok((response, Exchanged { request: io.written, response: io.read, handshake_request, handshake_response, group }))
}

async fn scrape_once(at: &ScrapeAt, control_key: &str) -> anyhow::Result<Snapshot> {
    let addr = &at.addr;
    let request = request(addr, control_key);
    let stream =
        TcpStream::connect(addr).await.with_context(|| format!("cannot reach target at {addr} for /metrics"))?;
    let (response, lens) = match &at.tls {
        None => exchange_plain(stream, request.as_bytes()).await?,
        Some(connector) => exchange_tls(connector, addr, stream, request.as_bytes())
            .await
            .with_context(|| format!("/metrics over TLS at {addr} failed"))?,
    };
    let text = String::from_utf8_lossy(&response);
    let (head, body) =
        text.split_once("\r\n\r\n").ok_or_else(|| anyhow::anyhow!("malformed /metrics response from {addr}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        anyhow::bail!("/metrics at {addr} answered {}", head.lines().next().unwrap_or_default());
    }
    let mut s = parse(body);
    s.request_len = lens.request;
    s.response_len = lens.response;
    s.handshake_request_len = lens.handshake_request;
    s.handshake_response_len = lens.handshake_response;
    s.scrape_group = lens.group;
    Ok(s)
}

/// A TCP stream that counts the bytes it reads and writes.
struct Counted {
    inner: TcpStream,
    read: u64,
    written: u64,
}

impl Counted {
    fn new(inner: TcpStream) -> Counted {
        Counted { inner, read: 0, written: 0 }
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            self.read += (buf.filled().len() - before) as u64;
        }
        res
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = res {
            self.written += n as u64;
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
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
    fn replicas_sum_counters_scrape_lengths_and_process_cpu() {
        let text = |ops: u32, cpu: &str| {
            format!(
                "authbench_http_requests_total{{route=\"/api/me\",status=\"200\"}} {ops}\n\
                 authbench_store_operations_total{{op=\"session_get\"}} {ops}\n\
                 authbench_http_bytes_received_total 1000\n{cpu}"
            )
        };
        let mut a = parse(&text(
            10,
            "process_cpu_seconds_total 1.5\nprocess_resident_memory_bytes 4096\nprocess_start_time_seconds 7\n",
        ));
        a.request_len = 80;
        let mut b = parse(&text(5, "process_cpu_seconds_total 0.25\nprocess_resident_memory_bytes 1024\n"));
        b.request_len = 81;
        b.process_starts = vec![9.0];
        assert_eq!((a.process_cpu_seconds, a.resident_bytes), (Some(1.5), Some(4096.0)));
        a.add(&b);
        assert_eq!((a.served(), a.store_ops_total(), a.bytes_received, a.request_len), (15.0, 15.0, 2000.0, 161));
        assert_eq!((a.process_cpu_seconds, a.resident_bytes), (Some(1.75), Some(5120.0)));
        assert_eq!(a.process_starts, [7.0, 9.0], "each replica's process, in scrape order");
        // A replica without the process metrics makes the sum unknown, never a partial figure.
        a.add(&parse(&text(1, "")));
        assert_eq!((a.process_cpu_seconds, a.resident_bytes), (None, None));
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
        assert_eq!(s.tls_handshakes(), None, "a plain target has no handshakes: not measured, not 0");
        let tls = parse(
            r#"authbench_tls_handshakes_total{group="X25519"} 3
authbench_tls_handshakes_total{group="secp256r1"} 1
authbench_tls_handshake_bytes_total{direction="received"} 1000
authbench_tls_handshake_bytes_total{direction="sent"} 2500
"#,
        );
        assert_eq!(tls.tls_handshakes(), Some(4.0));
        assert_eq!(tls.tls_handshake_bytes, Some((1000.0, 2500.0)));
    }

    /// An in-process TLS target: two scrapes back to back, nothing else on the wire, so every
    /// counted byte must be a scrape's, split at the render as `run::measure` assumes.
    #[tokio::test]
    async fn tls_scrapes_know_their_socket_bytes_exactly() {
        use authbench_targets::spec::{Protocol, TargetSpec};
        use authbench_targets::token::alg::Alg;
        for protocol in [Protocol::Http1, Protocol::H2] {
            let keys = tempfile::tempdir().unwrap();
            let spec = TargetSpec { tls: true, protocol, ..TargetSpec::jwt(Alg::Hs256) };
            let key = "k".repeat(24);
            let mut args = spec.args();
            args.extend(["--key-dir".into(), keys.path().display().to_string(), "--control-key".into(), key.clone()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let t = authbench_targets::local::start(&args).await.unwrap();
            let at = ScrapeAt::new(&t.addr.to_string(), &ClientSpec::for_target(&spec, keys.path()).unwrap()).unwrap();
            let b = scrape(&at, &key).await.unwrap();
            let a = scrape(&at, &key).await.unwrap();
            assert!(b.handshake_request_len > 0 && b.handshake_response_len > 0, "{protocol}");
            assert!(a.request_len > request(&at.addr, &key).len() as u64, "{protocol}: TLS records add bytes");
            assert_eq!(a.bytes_received - b.bytes_received, a.request_len as f64, "{protocol}");
            let sent = b.response_after_render() + a.handshake_response_len;
            assert_eq!(a.bytes_sent - b.bytes_sent, sent as f64, "{protocol}");
            assert_eq!(a.tls_handshakes().unwrap() - b.tls_handshakes().unwrap(), 1.0, "{protocol}");
            let (hs_in, hs_out) = (a.tls_handshake_bytes.unwrap(), b.tls_handshake_bytes.unwrap());
            assert_eq!(hs_in.0 - hs_out.0, a.handshake_request_len as f64, "{protocol}: the target's count agrees");
            assert_eq!(hs_in.1 - hs_out.1, a.handshake_response_len as f64, "{protocol}");
            let group = a.scrape_group.clone().unwrap();
            assert_eq!(a.tls_groups[&group] - b.tls_groups.get(&group).copied().unwrap_or(0.0), 1.0, "{protocol}");
        }
    }
}
