//! HTTPS for a target (`--tls`): TLS 1.3 through rustls, layered on top of the byte-counting
//! socket so records and handshakes are in the socket counters, with each handshake's bytes also
//! counted apart; HTTP/1.1 or HTTP/2 as ALPN agreed, under the same timeouts and connection cap as
//! plain HTTP.
//!
//! The certificate is generated once per key directory (ECDSA P-256, self-signed for localhost and
//! the loopback addresses) unless `--tls-cert`/`--tls-key` are given, and its PEM is written to
//! [`CERT_FILE`] there: clients trust exactly that certificate, and a restarted target serves the
//! same one, so clients connected before a restart can connect again.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::net::CountingStream;
use crate::spec::Protocol;

/// The certificate a TLS target serves, as PEM, in its key directory: what clients trust.
pub const CERT_FILE: &str = "tls-cert.pem";

/// The generated key and certificate in one file, so targets sharing a key directory agree on one pair.
const IDENTITY_FILE: &str = "tls-identity.pem";

/// HTTP/2 streams one connection may have open at once; more are refused by the protocol itself.
const MAX_CONCURRENT_STREAMS: u32 = 256;

/// Largest HTTP/2 header list a client may send, as HTTP/1's limits bound a request head.
const MAX_HEADER_LIST: u32 = 16 * 1024;

/// TLS record type of application data: in TLS 1.3 every encrypted record has it, so the first one a
/// client sends is its Finished message (early data is never accepted here).
const APPLICATION_DATA: u8 = 23;

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source} (check --tls-cert and --tls-key)")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} holds no {what} in PEM form (give a PEM certificate chain with --tls-cert and its key with --tls-key, or delete a generated file to have it made again)")]
    Pem { path: PathBuf, what: &'static str },
    #[error("generating the self-signed certificate failed: {0}")]
    Generate(String),
    #[error("cannot write the TLS certificate: {0}")]
    Write(#[from] crate::token::keys::KeyError),
    #[error(
        "the certificate and key do not make a TLS 1.3 server: {0} (check that the key belongs to the certificate)"
    )]
    Config(#[from] rustls::Error),
}

/// A certificate chain and its private key.
struct Identity {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Parses a chain and a key from PEM text (one file may hold both).
    fn parse(cert_pem: &[u8], key_pem: &[u8], path: &Path) -> Result<Identity, TlsError> {
        let missing = |what| TlsError::Pem { path: path.to_owned(), what };
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem).collect::<Result<_, _>>().map_err(|_| missing("certificate"))?;
        if certs.is_empty() {
            return Err(missing("certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| missing("private key"))?;
        Ok(Identity { certs, key })
    }

    /// The chain as PEM, for clients to trust.
    fn cert_pem(&self) -> String {
        self.certs.iter().map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c.as_ref().to_vec()))).collect()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
}

/// Names a generated certificate is valid for: localhost, both loopback addresses and the
/// address the target listens on when it is a specific one.
fn subject_names(listen: IpAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), Ipv4Addr::LOCALHOST.to_string(), Ipv6Addr::LOCALHOST.to_string()];
    if !listen.is_unspecified() && !names.contains(&listen.to_string()) {
        names.push(listen.to_string());
    }
    names
}

/// A new ECDSA P-256 key and a certificate for it, signed by itself, as one PEM text.
fn generate(listen: IpAddr) -> Result<String, TlsError> {
    let fail = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?;
    let mut params = rcgen::CertificateParams::new(subject_names(listen)).map_err(fail)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "authbench target");
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok(format!("{}{}", key.serialize_pem(), cert.pem()))
}

/// The identity from --tls-cert/--tls-key, or the key directory's, generated there when missing.
fn identity(cfg: &Config) -> Result<Identity, TlsError> {
    if let (Some(cert), Some(key)) = (&cfg.tls_cert, &cfg.tls_key) {
        return Identity::parse(&read(cert)?, &read(key)?, cert);
    }
    let path = cfg.key_dir.join(IDENTITY_FILE);
    if !path.exists() {
        std::fs::create_dir_all(&cfg.key_dir).map_err(|source| TlsError::Read { path: cfg.key_dir.clone(), source })?;
        crate::token::keys::publish(&path, generate(cfg.listen.ip())?.as_bytes())?;
    }
    let pem = read(&path)?;
    Identity::parse(&pem, &pem, &path)
}

/// Writes the served chain where clients look for it: a new file renamed into place, so a client
/// never reads half of it.
fn write_cert(dir: &Path, pem: &str) -> Result<(), TlsError> {
    let path = dir.join(CERT_FILE);
    let tmp = dir.join(format!("{CERT_FILE}.tmp{}", std::process::id()));
    let io = |source| crate::token::keys::KeyError::File { path: path.clone(), source };
    std::fs::write(&tmp, pem).and_then(|()| std::fs::rename(&tmp, &path)).map_err(io)?;
    Ok(())
}

/// The ALPN protocol id a target offers for `protocol`.
pub fn alpn(protocol: Protocol) -> &'static [u8] {
    match protocol {
        Protocol::Http1 => b"http/1.1",
        Protocol::H2 => b"h2",
    }
}

/// TLS 1.3 only, ALPN offering exactly the configured protocol, and no session tickets: no client
/// measured here resumes a session, so every new connection is a full handshake.
fn server_config(identity: Identity, protocol: Protocol) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(identity.certs, identity.key)?;
    config.alpn_protocols = vec![alpn(protocol).to_vec()];
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// Everything a TLS target needs per connection: the acceptor, the HTTP builders and the counters.
pub struct Tls {
    acceptor: TlsAcceptor,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
    metrics: Arc<Metrics>,
    /// Longest a handshake may take, and longest an HTTP/2 connection may sit without a request.
    header_timeout: Duration,
}

impl Tls {
    /// Loads or generates the certificate, writes it to the key directory for clients, and builds
    /// the server side; call before announcing the address, so a client never misses the file.
    pub fn new(cfg: &Config, metrics: Arc<Metrics>) -> Result<Tls, TlsError> {
        let identity = identity(cfg)?;
        write_cert(&cfg.key_dir, &identity.cert_pem())?;
        let config = server_config(identity, cfg.spec.protocol)?;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(cfg.header_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
            .max_header_list_size(MAX_HEADER_LIST);
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            http1: builder.clone().http1_only(),
            http2: builder.http2_only(),
            metrics,
            header_timeout: cfg.header_timeout,
        })
    }

    /// Serves one accepted connection: the handshake (bounded by the header timeout), then HTTP/2
    /// when ALPN chose h2 and HTTP/1.1 otherwise, until the client leaves or the server drains.
    pub async fn serve(self: Arc<Self>, io: CountingStream, app: crate::http::Service, drain: Watcher) {
        let Some(stream) = self.handshake(io).await else {
            return;
        };
        let h2 = stream.get_ref().1.alpn_protocol() == Some(alpn(Protocol::H2));
        let activity = Arc::new(Activity::new());
        // HTTP/1.1 has hyper's header timeout; HTTP/2 has none, so a connection without a request
        // in flight is closed after the same time, as an idle HTTP/1.1 keep-alive is.
        let idle = h2.then_some(self.header_timeout);
        let io = TokioIo::new(IdleClose::new(stream, Arc::clone(&activity), idle));
        // Every request holds the connection busy until it is answered or cancelled.
        let service = hyper::service::service_fn(move |mut req| {
            host_from_authority(&mut req);
            let busy = Busy::start(Arc::clone(&activity));
            let answer = hyper::service::Service::call(&app, req);
            async move {
                let res = answer.await;
                drop(busy);
                res
            }
        });
        let builder = if h2 { &self.http2 } else { &self.http1 };
        let conn = builder.serve_connection(io, service);
        if let Err(e) = drain.watch(conn).await {
            tracing::debug!(error = %e, "TLS connection ended with an error");
        }
    }

    /// The handshake, counted apart from the requests that follow; None when it failed or timed out.
    async fn handshake(&self, io: CountingStream) -> Option<TlsStream<Metered<CountingStream>>> {
        let accepted = tokio::time::timeout(self.header_timeout, self.acceptor.accept(Metered::new(io))).await;
        let stream = match accepted {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                return None;
            }
            Err(_) => {
                tracing::debug!("TLS handshake took longer than --header-timeout");
                return None;
            }
        };
        let (metered, conn) = stream.get_ref();
        let group = conn.negotiated_key_exchange_group().and_then(|g| g.name().as_str()).unwrap_or("unknown");
        self.metrics.tls_handshake(group, metered.handshake_received(), metered.written);
        Some(stream)
    }
}

/// An HTTP/2 request names its host in `:authority`, not in a Host header; the handlers (cookie
/// mode's Origin check) read Host, so it is copied over as an HTTP/2-to-HTTP/1.1 gateway must
/// (RFC 9113, section 8.3.1).
fn host_from_authority<B>(req: &mut hyper::Request<B>) {
    if req.headers().contains_key(hyper::header::HOST) {
        return;
    }
    if let Some(value) = req.uri().authority().and_then(|a| hyper::header::HeaderValue::from_str(a.as_str()).ok()) {
        req.headers_mut().insert(hyper::header::HOST, value);
    }
}

/// Requests in flight on one connection and since when it has had none.
struct Activity {
    base: Instant,
    in_flight: AtomicUsize,
    /// Nanoseconds after `base` when the last request in flight finished.
    idle_since_ns: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { base: Instant::now(), in_flight: AtomicUsize::new(0), idle_since_ns: AtomicU64::new(0) }
    }

    /// Since when the connection has had no request in flight; None while one is.
    fn idle_since(&self) -> Option<Instant> {
        (self.in_flight.load(Ordering::Acquire) == 0)
            .then(|| self.base + Duration::from_nanos(self.idle_since_ns.load(Ordering::Acquire)))
    }
}

/// One request in flight; when it ends (answered or cancelled) the connection's idle time restarts.
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: Arc<Activity>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let a = &self.0;
        let ns = u64::try_from(a.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        a.idle_since_ns.store(ns, Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stream that reads as closed once its connection has had no request in flight for `idle`
/// (None: never), so the HTTP layer ends the connection.
struct IdleClose<S> {
    inner: S,
    activity: Arc<Activity>,
    idle: Option<Duration>,
    timer: Pin<Box<Sleep>>,
}

impl<S> IdleClose<S> {
    fn new(inner: S, activity: Arc<Activity>, idle: Option<Duration>) -> IdleClose<S> {
        let first = Instant::now() + idle.unwrap_or_default();
        IdleClose { inner, activity, idle, timer: Box::pin(tokio::time::sleep_until(first)) }
    }

    /// Ready when the connection has been idle too long; otherwise arms the timer for the next check.
    fn poll_idle(&mut self, idle: Duration, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let now = Instant::now();
            let next = match self.activity.idle_since() {
                Some(since) if since + idle <= now => return Poll::Ready(()),
                Some(since) => since + idle,
                // Busy: look again after `idle`, unless a check is already due before that.
                None if self.timer.deadline() > now => self.timer.deadline(),
                None => now + idle,
            };
            if self.timer.deadline() != next {
                self.timer.as_mut().reset(next);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleClose<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Poll::Ready(res) = Pin::new(&mut this.inner).poll_read(cx, buf) {
            return Poll::Ready(res);
        }
        match this.idle.map(|idle| this.poll_idle(idle, cx)) {
            // End of stream: the HTTP layer closes the connection as if the client had.
            Some(Poll::Ready(())) => {
                tracing::debug!("closing a connection idle for longer than --header-timeout");
                Poll::Ready(Ok(()))
            }
            _ => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleClose<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
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

/// Where a client's handshake ends in the bytes it sends: the end of its first application-data
/// record (its Finished). Reading stops there only in the count: a client may send its first
/// request in the same packet, and those bytes belong to the request.
#[derive(Debug, Default)]
struct ClientFlight {
    /// Bytes of the current record header seen so far (a header is 5 bytes).
    header: [u8; 5],
    header_len: usize,
    /// Body bytes of the current record still to come.
    body_left: usize,
    seen: u64,
    /// Bytes up to and including the client's Finished, once it has been seen.
    end: Option<u64>,
}

impl ClientFlight {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.end.is_none() {
            let n = if self.header_len < self.header.len() {
                let n = (self.header.len() - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&bytes[..n]);
                self.header_len += n;
                if self.header_len == self.header.len() {
                    self.body_left = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                }
                n
            } else {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                n
            };
            self.seen += n as u64;
            bytes = &bytes[n..];
            if self.header_len == self.header.len() && self.body_left == 0 {
                if self.header[0] == APPLICATION_DATA {
                    self.end = Some(self.seen);
                }
                self.header_len = 0;
            }
        }
    }
}

/// The socket stream under TLS with this connection's own counts, for its handshake's bytes.
struct Metered<S> {
    inner: S,
    flight: ClientFlight,
    read: u64,
    written: u64,
}

impl<S> Metered<S> {
    fn new(inner: S) -> Metered<S> {
        Metered { inner, flight: ClientFlight::default(), read: 0, written: 0 }
    }

    /// Bytes the client's handshake took; all bytes read when its end was never seen.
    fn handshake_received(&self) -> u64 {
        self.flight.end.unwrap_or(self.read)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            let fresh = &buf.filled()[before..];
            self.read += fresh.len() as u64;
            if self.flight.end.is_none() {
                self.flight.feed(fresh);
            }
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = res {
            self.written += n as u64;
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
            self.written += n as u64;
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

    fn record(kind: u8, len: usize) -> Vec<u8> {
        let mut r = vec![kind, 3, 3];
        r.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        r.extend(std::iter::repeat_n(0xAB, len));
        r
    }

    #[test]
    fn the_client_flight_ends_after_its_first_application_data_record() {
        let hello = record(22, 517);
        let ccs = record(20, 1);
        let finished = record(APPLICATION_DATA, 53);
        let request = record(APPLICATION_DATA, 120);
        let wire: Vec<u8> = [hello, ccs, finished, request].concat();
        let want = 5 + 517 + 5 + 1 + 5 + 53;
        // However the bytes arrive: whole, one at a time, or in odd chunks across record headers.
        for chunk in [wire.len(), 1, 3, 7, 522, 600] {
            let mut flight = ClientFlight::default();
            for piece in wire.chunks(chunk) {
                flight.feed(piece);
            }
            assert_eq!(flight.end, Some(want), "chunks of {chunk}");
        }
        let mut partial = ClientFlight::default();
        partial.feed(&wire[..want as usize - 1]);
        assert_eq!(partial.end, None);
    }

    #[test]
    fn a_generated_certificate_names_localhost_and_the_listen_address() {
        let pem = generate("10.1.2.3".parse().unwrap()).unwrap();
        let id = Identity::parse(pem.as_bytes(), pem.as_bytes(), Path::new("x")).unwrap();
        assert_eq!(id.certs.len(), 1);
        assert!(id.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!id.cert_pem().contains("PRIVATE KEY"), "the public file must not carry the key");
        let names = subject_names("0.0.0.0".parse().unwrap());
        assert_eq!(names, ["localhost", "127.0.0.1", "::1"]);
        assert!(subject_names("10.1.2.3".parse().unwrap()).contains(&"10.1.2.3".to_owned()));
        assert!(server_config(id, Protocol::H2).is_ok());
    }

    #[test]
    fn an_http2_request_gets_its_host_from_the_authority() {
        let mut req = hyper::Request::builder().uri("https://127.0.0.1:8443/api/me").body(()).unwrap();
        host_from_authority(&mut req);
        assert_eq!(req.headers()[hyper::header::HOST], "127.0.0.1:8443");
        let mut given = hyper::Request::builder().uri("https://a:1/").header("host", "b:2").body(()).unwrap();
        host_from_authority(&mut given);
        assert_eq!(given.headers()[hyper::header::HOST], "b:2", "a Host header the client sent is kept");
    }

    #[test]
    fn a_file_without_a_key_is_refused_with_its_name() {
        let pem = generate(Ipv4Addr::LOCALHOST.into()).unwrap();
        let cert_only: String = pem.split_inclusive('\n').skip_while(|l| !l.contains("BEGIN CERTIFICATE")).collect();
        let err = Identity::parse(cert_only.as_bytes(), cert_only.as_bytes(), Path::new("/x/c.pem")).err().unwrap();
        assert!(err.to_string().contains("/x/c.pem") && err.to_string().contains("private key"), "{err}");
    }
}
