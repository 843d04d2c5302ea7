//! HTTPS and HTTP/2 (`--tls`, `--protocol h2`): a TLS target answers over HTTP/1.1 and h2 with the
//! version ALPN promised, refuses forged and malformed credentials as over plain HTTP, lets cookies
//! work as a browser sends them, counts TLS records and every handshake at the socket, and keeps
//! its timeouts and connection cap. Counts, statuses and invariants only; timings are never asserted.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authbench_targets::contract::{metric, route, ACCESS_COOKIE};
use authbench_targets::spec::{Protocol, StoreKind, StrategyKind, TargetSpec, Transport};
use authbench_targets::tls::CERT_FILE;
use authbench_targets::token::alg::Alg;
use reqwest::{StatusCode, Version};
use support::{client_for, sum_metric, Spec, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn tls(strategy: StrategyKind, protocol: Protocol) -> TargetSpec {
    let base = match strategy {
        StrategyKind::Jwt => TargetSpec::jwt(Alg::Hs256),
        _ => TargetSpec::stored(strategy, StoreKind::Memory, Alg::Hs256),
    };
    TargetSpec { tls: true, protocol, ..base }
}

fn version(protocol: Protocol) -> Version {
    match protocol {
        Protocol::Http1 => Version::HTTP_11,
        Protocol::H2 => Version::HTTP_2,
    }
}

/// The socket and handshake counters of a target, read over its own client's connection.
#[derive(Debug, Clone, Copy)]
struct Counters {
    received: f64,
    sent: f64,
    connections: f64,
    handshakes: f64,
    handshake_received: f64,
    handshake_sent: f64,
}

async fn counters(t: &Target) -> Counters {
    let m = t.metrics().await;
    let handshake_bytes =
        |direction: &str| sum_metric(&m, &format!("{}{{direction=\"{direction}\"}}", metric::TLS_HANDSHAKE_BYTES));
    Counters {
        received: sum_metric(&m, metric::BYTES_RECEIVED),
        sent: sum_metric(&m, metric::BYTES_SENT),
        connections: sum_metric(&m, metric::CONNECTIONS),
        handshakes: sum_metric(&m, metric::TLS_HANDSHAKES),
        handshake_received: handshake_bytes("received"),
        handshake_sent: handshake_bytes("sent"),
    }
}

/// `token` with the last character of its signature changed.
fn forged(token: &str) -> String {
    let mut t = token.to_owned();
    let last = t.pop().unwrap();
    t.push(if last == 'A' { 'B' } else { 'A' });
    t
}

#[tokio::test]
async fn a_tls_target_answers_with_the_negotiated_version_and_refuses_forged_credentials() {
    for protocol in [Protocol::Http1, Protocol::H2] {
        let t = Spec::from(tls(StrategyKind::Jwt, protocol)).start().await;
        assert!(t.url.starts_with("https://127.0.0.1:"), "{}", t.url);
        let token = t.login_ok(1).await.token();
        let r = t.get_bearer(route::ME, &token).await;
        assert_eq!(r.status(), StatusCode::OK, "{protocol}");
        assert_eq!(r.version(), version(protocol), "{protocol}: ALPN must agree on the configured protocol");
        for (what, bad) in [("forged", forged(&token)), ("malformed", "not.a-jwt".to_owned()), ("empty", String::new())]
        {
            assert_eq!(t.me(&bad).await, StatusCode::UNAUTHORIZED, "{protocol}: a {what} token");
        }
        assert_eq!(t.client.get(t.at(route::ME)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    // A client offering both protocols gets HTTP/1.1 from an http1 target; one offering only
    // HTTP/1.1 cannot reach an h2 target, whose ALPN offers h2 alone.
    let h1 = Spec::from(tls(StrategyKind::Jwt, Protocol::Http1)).start().await;
    let both = client_for(&tls(StrategyKind::Jwt, Protocol::H2), &h1.key_dir).build().unwrap();
    assert_eq!(both.get(h1.at(route::HEALTHZ)).send().await.unwrap().version(), Version::HTTP_11);
    let h2 = Spec::from(tls(StrategyKind::Jwt, Protocol::H2)).start().await;
    let h1_only = client_for(&tls(StrategyKind::Jwt, Protocol::Http1), &h2.key_dir).build().unwrap();
    assert!(h1_only.get(h2.at(route::HEALTHZ)).send().await.is_err(), "ALPN without h2 must fail the handshake");
}

#[tokio::test]
async fn a_plain_client_and_an_untrusting_client_are_refused() {
    let t = Spec::from(tls(StrategyKind::Jwt, Protocol::H2)).start().await;
    let plain = t.url.replacen("https://", "http://", 1);
    let r = reqwest::Client::new().get(format!("{plain}{}", route::HEALTHZ)).send().await;
    assert!(r.is_err() || r.unwrap().status() != StatusCode::OK, "plain HTTP must not be served on a TLS port");
    let other = tempfile::tempdir().unwrap();
    let other_target = Spec::from(tls(StrategyKind::Jwt, Protocol::H2)).key_dir(other.path().to_owned()).start().await;
    drop(other_target);
    let wrong_trust = client_for(&t.spec, other.path()).build().unwrap();
    assert!(
        wrong_trust.get(t.at(route::HEALTHZ)).send().await.is_err(),
        "a client trusting another target's certificate must not connect"
    );
}

#[tokio::test]
async fn cookies_work_over_tls_as_a_browser_sends_them() {
    for protocol in [Protocol::Http1, Protocol::H2] {
        let spec = tls(StrategyKind::Session, protocol);
        let t = Spec::from(spec).transport(Transport::Cookie).start().await;
        let origin = format!("https://{}", t.addr());
        let login = |origin: String| {
            t.client
                .post(t.at(route::LOGIN))
                .header("content-type", "application/json")
                .header("origin", origin)
                .body(authbench_targets::contract::login_body(1))
                .send()
        };
        // A browser's same-origin login carries Origin; over h2 the host is in :authority only.
        let r = login(origin.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{protocol}: same-origin login");
        assert_eq!(r.version(), version(protocol));
        let set: Vec<String> =
            r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let access = set.iter().find(|c| c.starts_with(&format!("{ACCESS_COOKIE}="))).expect("access cookie");
        // What a browser requires before it stores a __Host- cookie set over HTTPS.
        for attr in ["Secure", "Path=/", "HttpOnly"] {
            assert!(access.contains(attr), "{protocol}: {access} lacks {attr}");
        }
        assert!(!access.contains("Domain"), "{protocol}: a __Host- cookie must not set Domain: {access}");
        let pair = access.split(';').next().unwrap().to_owned();
        // Browsers split cookies into separate fields over HTTP/2 (RFC 9113, 8.2.3).
        let r = t.client.get(t.at(route::ME)).header("cookie", "theme=dark").header("cookie", &pair).send().await;
        assert_eq!(r.unwrap().status(), StatusCode::OK, "{protocol}: credential in a second cookie field");
        let r = t.client.get(t.at(route::ME)).header("cookie", format!("theme=dark; {pair}")).send().await;
        assert_eq!(r.unwrap().status(), StatusCode::OK, "{protocol}: credential in one cookie field");
        let r = login("https://evil.example".to_owned()).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{protocol}: a cross-site login");
    }
}

/// Logs user 1 in, then sends `n` GET /api/me with its Bearer token over the target's client and
/// returns the counters before and after (the connection is open before the first reading).
async fn bearer_requests(t: &Target, n: usize) -> (Counters, Counters, String) {
    let token = t.login_ok(1).await.token();
    let before = counters(t).await;
    for _ in 0..n {
        let r = t.client.get(t.at(route::ME)).header("authorization", format!("Bearer {token}")).send().await;
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.version(), version(t.spec.protocol));
    }
    (before, counters(t).await, token)
}

#[tokio::test]
async fn http1_over_tls_counts_more_socket_bytes_than_plain_http1_for_the_same_requests() {
    const N: usize = 100;
    let plain = Spec::from(TargetSpec::jwt(Alg::Hs256)).start().await;
    let secure = Spec::from(tls(StrategyKind::Jwt, Protocol::Http1)).start().await;
    let (pb, pa, plain_token) = bearer_requests(&plain, N).await;
    let (tb, ta, tls_token) = bearer_requests(&secure, N).await;
    assert_eq!(plain_token.len(), tls_token.len(), "the same requests need tokens of one size");
    let (plain_in, tls_in) = (pa.received - pb.received, ta.received - tb.received);
    // Every request is one TLS record at least: 5 bytes of header, 1 of content type, 16 of AEAD tag.
    assert!(tls_in >= plain_in + 22.0 * N as f64, "received: TLS {tls_in} B, plain {plain_in} B for {N} requests");
    assert!(ta.sent - tb.sent > pa.sent - pb.sent, "sent: TLS {:?} .. {:?}, plain {pb:?} .. {pa:?}", tb, ta);
    assert_eq!(ta.handshakes, tb.handshakes, "the requests reused one connection");
    assert_eq!(pa.handshakes, 0.0, "a plain target counts no handshakes");
}

#[tokio::test]
async fn over_h2_the_rust_client_sends_the_credential_with_every_request() {
    const N: usize = 100;
    let t = Spec::from(tls(StrategyKind::Jwt, Protocol::H2)).start().await;
    let (before, after, token) = bearer_requests(&t, N).await;
    assert_eq!(after.handshakes, before.handshakes, "all requests on one connection");
    let per_request = (after.received - before.received) / N as f64;
    // HPACK's Huffman code shrinks the token at most to ~0.75 of its length; h2 never indexes
    // `authorization`, so no request gets away with a reference to an earlier one.
    assert!(
        per_request >= 0.7 * token.len() as f64,
        "{per_request:.0} B per request received for a {}-byte token",
        token.len()
    );
    // Cookies are not indexed by the Rust client either (h2 leaves `cookie` out of its table).
    let c = Spec::from(tls(StrategyKind::Session, Protocol::H2)).transport(Transport::Cookie).start().await;
    let set = c.login_ok(1).await.set_cookies;
    let pair = set.iter().find(|s| s.starts_with(ACCESS_COOKIE)).unwrap().split(';').next().unwrap().to_owned();
    let before = counters(&c).await;
    for _ in 0..N {
        assert_eq!(c.client.get(c.at(route::ME)).header("cookie", &pair).send().await.unwrap().status(), 200);
    }
    let after = counters(&c).await;
    let per_request = (after.received - before.received) / N as f64;
    assert!(per_request >= 0.7 * pair.len() as f64, "{per_request:.0} B per request for a {}-byte cookie", pair.len());
}

/// The DER length of the certificate a target serves.
fn cert_der_len(key_dir: &Path) -> usize {
    let pem = std::fs::read(key_dir.join(CERT_FILE)).unwrap();
    let block = pem::parse(pem).unwrap();
    block.contents().len()
}

#[tokio::test]
async fn each_new_connection_counts_one_handshake_and_its_bytes_apart() {
    const K: usize = 10;
    for protocol in [Protocol::Http1, Protocol::H2] {
        let t = Spec::from(tls(StrategyKind::Jwt, protocol)).start().await;
        let before = counters(&t).await;
        for _ in 0..K {
            let fresh = client_for(&t.spec, &t.key_dir).build().unwrap();
            assert_eq!(fresh.get(t.at(route::HEALTHZ)).send().await.unwrap().status(), StatusCode::OK);
        }
        let after = counters(&t).await;
        assert_eq!(after.handshakes - before.handshakes, K as f64, "{protocol}: one handshake per new connection");
        assert_eq!(after.connections - before.connections, K as f64, "{protocol}");
        let (hs_in, hs_out) =
            (after.handshake_received - before.handshake_received, after.handshake_sent - before.handshake_sent);
        // The same client sends the same ClientHello and Finished every time: counted exactly, the
        // request that may share their packet is never part of it.
        assert!(hs_in > 0.0 && hs_in % K as f64 == 0.0, "{protocol}: {hs_in} B received over {K} handshakes");
        // A full handshake sends the certificate every time.
        let cert = cert_der_len(&t.key_dir) as f64;
        assert!(hs_out / K as f64 > cert, "{protocol}: {hs_out} B sent over {K} handshakes, certificate {cert} B");
        // Handshakes are part of the socket counts, which also hold the requests.
        assert!(after.received - before.received > hs_in && after.sent - before.sent > hs_out, "{protocol}");
    }
}

/// A TLS client that trusts the target's certificate and offers `alpn`.
fn raw_client(key_dir: &Path, alpn: &[u8]) -> tokio_rustls::TlsConnector {
    let pem = std::fs::read(key_dir.join(CERT_FILE)).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn handshake(t: &Target, alpn: &[u8]) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(t.addr()).await?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    raw_client(&t.key_dir, alpn).connect(name, tcp).await
}

/// Reads until the peer closes or `within` passes; whether it closed.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(s: &mut S, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn silent_handshakes_idle_h2_connections_and_slow_headers_are_closed_after_the_header_timeout() {
    let spec = tls(StrategyKind::Jwt, Protocol::H2);
    let t = Spec::from(spec).arg("--header-timeout", "1s").start().await;
    let mut silent = TcpStream::connect(t.addr()).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(20)).await, "a TCP connection without a ClientHello");
    let mut idle = handshake(&t, b"h2").await.unwrap();
    // The client preface and an empty SETTINGS frame, then nothing: no request ever arrives.
    idle.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").await.unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(20)).await, "an h2 connection without a request");
    assert_eq!(t.me(&t.login_ok(1).await.token()).await, StatusCode::OK, "others are served meanwhile");

    let h1 = Spec::from(tls(StrategyKind::Jwt, Protocol::Http1)).arg("--header-timeout", "1s").start().await;
    let mut slow = handshake(&h1, b"http/1.1").await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n").await.unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(20)).await, "HTTP/1.1 headers that never finish");
}

#[tokio::test]
async fn the_connection_cap_holds_under_tls() {
    let t = Spec::from(tls(StrategyKind::Jwt, Protocol::H2))
        .arg("--max-connections", "2")
        .arg("--header-timeout", "60s")
        .start()
        .await;
    // The test's own client holds no connection yet; two handshaken connections fill the cap.
    let held = [handshake(&t, b"h2").await.unwrap(), handshake(&t, b"h2").await.unwrap()];
    assert!(handshake(&t, b"h2").await.is_err(), "a third connection over a cap of 2 must be refused");
    drop(held);
    let mut served = false;
    for _ in 0..40 {
        let fresh = client_for(&t.spec, &t.key_dir).timeout(Duration::from_secs(5)).build().unwrap();
        if let Ok(r) = fresh.get(t.at(route::HEALTHZ)).send().await {
            served = r.status() == StatusCode::OK;
            if served {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(served, "not served within 10 s of the held connections closing");
}
