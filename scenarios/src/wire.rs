//! The lean request path for plain HTTP/1.1 targets: each user drives one keep-alive connection
//! through hyper directly, instead of goose's request path (reqwest's pool, goose's per-request
//! metric records), which cost the load generator several times a small target's CPU per
//! request. goose still schedules the users and runs the transactions; only the request inside a
//! transaction goes this way. It sends the very header lines goose's client sends, in its order,
//! so bytes per request stay comparable (a test holds the two to the byte).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, HOST, SET_COOKIE, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

use goose::prelude::GooseUser;

use crate::client::{ClientSpec, TIMEOUT, USER_AGENT as AGENT};
use crate::recorder::TRANSPORT_ERROR;

/// What came back: status ([`TRANSPORT_ERROR`] when no answer did), body and Set-Cookie lines.
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    pub set_cookies: Vec<String>,
}

impl Reply {
    fn failed() -> Reply {
        Reply { status: TRANSPORT_ERROR, body: Bytes::new(), set_cookies: Vec::new() }
    }
}

/// One user's connection to a plain HTTP/1.1 target, opened on first use and again after a
/// transport error. Cloning shares the connection (goose requires user data to be Clone).
#[derive(Clone)]
pub struct Wire {
    addr: SocketAddr,
    host: HeaderValue,
    conn: Arc<Mutex<Option<SendRequest<Full<Bytes>>>>>,
}

impl Wire {
    /// A wire to the target at `addr`; nothing is connected until the first request.
    pub fn new(addr: SocketAddr) -> Wire {
        let host = HeaderValue::try_from(addr.to_string()).unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        Wire { addr, host, conn: Arc::new(Mutex::new(None)) }
    }

    /// The wire for a goose user whose target is plain HTTP/1.1 at an IP address (goose's base
    /// URL); None otherwise, and the user's requests take goose's path.
    pub fn for_user(user: &GooseUser, client: &ClientSpec) -> Option<Wire> {
        let url = &user.base_url;
        let ip: IpAddr = url.host_str()?.trim_matches(['[', ']']).parse().ok()?;
        let port = url.port_or_known_default()?;
        (*client == ClientSpec::Plain).then(|| Wire::new(SocketAddr::new(ip, port)))
    }

    /// Sends one request and reads its body to the end, within goose's request timeout.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        header: Option<(&'static str, &str)>,
        body: Option<String>,
    ) -> Reply {
        let Ok(req) = self.request(method, path, header, body) else {
            return Reply::failed();
        };
        match tokio::time::timeout(TIMEOUT, self.exchange(req)).await {
            Ok(Some(reply)) => reply,
            _ => Reply::failed(),
        }
    }

    /// The request with goose's client's header lines, in its order.
    fn request(
        &self,
        method: Method,
        path: &str,
        header: Option<(&'static str, &str)>,
        body: Option<String>,
    ) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some((name, value)) = header {
            b = b.header(name, value);
        }
        if body.is_some() {
            b = b.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        b.header(ACCEPT, HeaderValue::from_static("*/*"))
            .header(USER_AGENT, HeaderValue::from_static(AGENT))
            .header(ACCEPT_ENCODING, HeaderValue::from_static("gzip"))
            .header(HOST, self.host.clone())
            .body(Full::new(body.map(Bytes::from).unwrap_or_default()))
    }

    /// Sends on the user's connection (opening it when there is none); a transport error drops the
    /// connection so the next request opens a fresh one. None when no answer came.
    async fn exchange(&self, req: Request<Full<Bytes>>) -> Option<Reply> {
        let taken = self.conn.lock().ok()?.take();
        let mut sender = match taken {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        sender.ready().await.ok()?;
        let resp = sender.send_request(req).await.ok()?;
        let status = resp.status().as_u16();
        let set_cookies =
            resp.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect();
        let body = resp.into_body().collect().await.ok()?.to_bytes();
        if let Ok(mut slot) = self.conn.lock() {
            *slot = Some(sender);
        }
        Some(Reply { status, body, set_cookies })
    }

    async fn connect(&self) -> Option<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(self.addr).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(async move {
            // Ends when the target or the user closes the connection; the next request reconnects.
            let _ = conn.await;
        });
        Some(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// The bytes of the first request a client sends to a listener that answers 204.
    async fn first_request(send: impl FnOnce(SocketAddr) -> tokio::task::JoinHandle<()>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = send(addr);
        let (mut s, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("\r\n\r\n")
            || (seen.starts_with(b"POST") && !seen.ends_with(b"{\"a\":1}"))
        {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "client closed early: {:?}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.unwrap();
        client.await.unwrap();
        String::from_utf8(seen).unwrap().replace(&addr.to_string(), "ADDR")
    }

    #[tokio::test]
    async fn sends_the_same_bytes_as_gooses_client() {
        let via_reqwest = |method: Method, path: &'static str, body: Option<&'static str>| {
            move |addr: SocketAddr| {
                tokio::spawn(async move {
                    let c = crate::client::ClientSpec::Plain.build().unwrap();
                    let mut rb = c.request(method, format!("http://{addr}{path}")).header("authorization", "Bearer t");
                    if let Some(b) = body {
                        rb = rb.header("content-type", "application/json").body(b);
                    }
                    assert_eq!(rb.send().await.unwrap().status(), 204);
                })
            }
        };
        let via_wire = |method: Method, path: &'static str, body: Option<&'static str>| {
            move |addr: SocketAddr| {
                tokio::spawn(async move {
                    let wire = Wire::new(addr);
                    let r = wire.send(method, path, Some(("authorization", "Bearer t")), body.map(String::from)).await;
                    assert_eq!(r.status, 204);
                })
            }
        };
        for (method, path, body) in [(Method::GET, "/api/me", None), (Method::POST, "/auth/login", Some("{\"a\":1}"))] {
            let goose = first_request(via_reqwest(method.clone(), path, body)).await;
            let lean = first_request(via_wire(method.clone(), path, body)).await;
            assert_eq!(lean, goose, "{method} {path}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_transport_error_and_the_next_request_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let wire = Wire::new(addr);
        assert_eq!(wire.send(Method::GET, "/", None, None).await.status, TRANSPORT_ERROR);
        let listener = TcpListener::bind(addr).await.unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.unwrap();
        });
        let reply = wire.send(Method::GET, "/", None, None).await;
        assert_eq!((reply.status, &reply.body[..]), (200, &b"ok"[..]));
        server.await.unwrap();
    }
}
