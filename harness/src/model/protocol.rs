//! The TLS and HTTP/2 cross-check of a run: per TLS configuration, bytes per request and per new
//! connection measured at the target's socket for two clients, goose's own (reqwest on rustls and
//! Rust's h2) and h2load (nghttp2 on OpenSSL). Every figure names its client: HPACK indexing and
//! TLS key shares differ between clients, so a figure means nothing without it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::results::TargetRecord;

/// Which client produced a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// goose's client: reqwest 0.13 on hyper, Rust's h2 (which never indexes `authorization` or
    /// `cookie` in HPACK) and rustls with aws-lc-rs.
    Reqwest,
    /// h2load from nghttp2, on OpenSSL; nghttp2's HPACK indexes cookies of 20 bytes or more,
    /// never `authorization`.
    H2load,
}

impl ClientKind {
    /// How tables and the report name the client.
    pub fn label(self) -> &'static str {
        match self {
            ClientKind::Reqwest => "goose's client (reqwest + rustls, Rust h2)",
            ClientKind::H2load => "h2load (nghttp2 + OpenSSL)",
        }
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How a run's requests reached the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Shape {
    /// Long-lived connections carrying many requests each; on h2 up to `streams` at once per connection.
    KeepAlive { connections: u32, streams: u32 },
    /// A new connection, and so a full TLS handshake, for every request.
    NewConnections,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::KeepAlive { connections, streams } => {
                let plural = |n: &u32, one: &str| if *n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
                write!(f, "keep-alive, {} × {}", plural(connections, "connection"), plural(streams, "stream"))
            }
            Shape::NewConnections => f.write_str("a new connection per request"),
        }
    }
}

/// Socket bytes per request at the target (TLS records included), and the credential's share as
/// the target counts it: the `Authorization`/`Cookie` header line as HTTP/1.1 text, which HPACK
/// may shrink on an h2 wire.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerRequest {
    pub received: f64,
    pub sent: f64,
    pub auth_received: f64,
}

/// The TLS handshakes a run made, from the target's handshake counters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handshakes {
    pub count: u64,
    /// Socket bytes per handshake from the client (ClientHello to its Finished).
    pub received_per: f64,
    /// Socket bytes per handshake to the client (ServerHello to the server's Finished).
    pub sent_per: f64,
    /// Handshakes by key exchange group (X25519, secp256r1, ...).
    pub groups: BTreeMap<String, u64>,
}

/// h2load's `traffic:` line, per request: what it received from the target after TLS decryption.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    pub total: f64,
    pub headers: f64,
    pub data: f64,
    /// HPACK's saving on response headers as h2load states it, in percent (0 over HTTP/1.1).
    pub header_savings_pct: Option<f64>,
}

/// One client's run against a fresh target of a TLS configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientRun {
    pub client: ClientKind,
    pub shape: Shape,
    /// Whether requests carried the credential. The same requests without it (answered 401) are
    /// the baseline: the difference in bytes received per request is what the credential costs on
    /// the wire, after HPACK on h2.
    #[serde(default = "with_credential")]
    pub credential: bool,
    /// HTTP version the client spoke ("h2", "http/1.1").
    pub protocol: String,
    /// The command line, for h2load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Requests the target served in the run, by its own counters.
    pub requests: u64,
    /// Requests the client counted as failed.
    pub failed: u64,
    pub per_request: PerRequest,
    /// None when the run made no new connection (keep-alive on a connection opened before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshakes: Option<Handshakes>,
    /// h2load's own count, beside the target's; None for other clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h2load_traffic: Option<Traffic>,
    /// The target's CPU per request over the run, µs.
    pub target_cpu_us_per_request: f64,
    /// TLS as the client reported it (h2load: version, cipher, server key exchange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
}

fn with_credential() -> bool {
    true
}

/// A run that was not measured, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotMeasured {
    pub client: ClientKind,
    pub shape: Shape,
    #[serde(default = "with_credential")]
    pub credential: bool,
    pub reason: String,
}

/// One TLS configuration's cross-check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtocolCheck {
    pub target: TargetRecord,
    /// The credential each request carried: `authorization: Bearer …` or `cookie: …`, by the
    /// configuration's transport; its length in bytes.
    pub credential_header_bytes: u64,
    pub runs: Vec<ClientRun>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_measured: Vec<NotMeasured>,
}

impl ProtocolCheck {
    /// The run of `client` in `shape`, with or without the credential, when it was measured.
    pub fn run(&self, client: ClientKind, shape: fn(&Shape) -> bool, credential: bool) -> Option<&ClientRun> {
        self.runs.iter().find(|r| r.client == client && shape(&r.shape) && r.credential == credential)
    }

    /// What the credential costs `client` on the wire per request over long-lived connections:
    /// bytes received with it minus without it; None unless both runs were measured.
    pub fn credential_on_wire(&self, client: ClientKind) -> Option<f64> {
        let keep_alive = |s: &Shape| matches!(s, Shape::KeepAlive { .. });
        let with = self.run(client, keep_alive, true)?;
        let without = self.run(client, keep_alive, false)?;
        Some(with.per_request.received - without.per_request.received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authbench_targets::spec::{Protocol, TargetSpec};
    use authbench_targets::token::alg::Alg;

    #[test]
    fn a_check_round_trips_through_json_with_its_client_named() {
        let spec = TargetSpec { tls: true, protocol: Protocol::H2, ..TargetSpec::jwt(Alg::Hs256) };
        let run = ClientRun {
            client: ClientKind::H2load,
            shape: Shape::KeepAlive { connections: 4, streams: 16 },
            credential: true,
            protocol: "h2".into(),
            command: Some("h2load -n 20000".into()),
            requests: 20_000,
            failed: 0,
            per_request: PerRequest { received: 160.0, sent: 80.0, auth_received: 140.0 },
            handshakes: None,
            h2load_traffic: Some(Traffic { total: 60.0, headers: 9.0, data: 30.0, header_savings_pct: Some(90.0) }),
            target_cpu_us_per_request: 12.0,
            tls: Some("TLSv1.3".into()),
        };
        let mut bare = run.clone();
        bare.credential = false;
        bare.per_request.received = 35.0;
        let check = ProtocolCheck {
            target: TargetRecord::from(&spec),
            credential_header_bytes: 170,
            runs: vec![run, bare],
            not_measured: vec![NotMeasured {
                client: ClientKind::H2load,
                shape: Shape::NewConnections,
                credential: true,
                reason: "h2load not installed".into(),
            }],
        };
        let json = serde_json::to_string(&check).unwrap();
        assert!(json.contains(r#""client":"h2load""#) && json.contains(r#""shape":"keep_alive""#), "{json}");
        let back: ProtocolCheck = serde_json::from_str(&json).unwrap();
        assert_eq!(back, check);
        assert!(back.run(ClientKind::H2load, |s| matches!(s, Shape::KeepAlive { .. }), true).is_some());
        assert!(back.run(ClientKind::Reqwest, |_| true, true).is_none());
        assert_eq!(back.credential_on_wire(ClientKind::H2load), Some(125.0));
        assert_eq!(back.credential_on_wire(ClientKind::Reqwest), None, "not measured, not 0");
    }
}
