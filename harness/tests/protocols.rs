//! A run with a TLS + HTTP/2 configuration: goose's users reach the target over h2, the
//! cross-check records goose's client and, when h2load is installed, h2load (or says why not), and
//! the report gets its "TLS and HTTP/2" section. Counts and invariants only; timings never asserted.

use std::path::Path;
use std::process::Command;

use authbench_harness::model::protocol::{ClientKind, ProtocolCheck, Shape};
use authbench_harness::model::results::Results;

const MATRIX: &str = r#"
description = "TLS and HTTP/2 under test"
warmup = "1s"
duration = "1s"
probe_cap = "1s"
seed_users = 8
probe_users = 1

[[target]]
strategy = "jwt"
alg = "HS256"
tls = true
protocol = "h2"

[[load]]
scenario = "browse"
model = "closed"
users = 2
"#;

/// Runs the matrix; with `no_path`, under an empty PATH, as on a machine without h2load.
fn run(dir: &Path, no_path: bool) -> Results {
    let file = dir.join("matrix.toml");
    std::fs::write(&file, MATRIX).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authbench"));
    cmd.args(["run", "--matrix"]).arg(&file).arg("--out").arg(dir.join("out"));
    if no_path {
        cmd.env("PATH", dir);
    }
    let status = cmd.status().unwrap();
    assert!(status.success());
    authbench_harness::model::results::read(&dir.join("out")).unwrap()
}

fn h2load_installed() -> bool {
    Command::new("h2load").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn keep_alive(s: &Shape) -> bool {
    matches!(s, Shape::KeepAlive { .. })
}

fn new_connections(s: &Shape) -> bool {
    matches!(s, Shape::NewConnections)
}

/// goose's client: exact request counts, one handshake per new connection, none on a kept one,
/// and the Bearer token on the wire on every h2 request.
fn check_goose_client(c: &ProtocolCheck) {
    let kept = c.run(ClientKind::Reqwest, keep_alive, true).expect("goose's client, keep-alive");
    assert_eq!(kept.requests, 10_000, "4 tasks × 2,500 requests, all inside the window");
    assert_eq!(kept.failed, 0);
    assert_eq!(kept.protocol, "h2");
    assert!(kept.handshakes.is_none(), "the connection was open before the window: {:?}", kept.handshakes);
    let fresh = c.run(ClientKind::Reqwest, new_connections, true).expect("goose's client, new connections");
    let hs = fresh.handshakes.as_ref().expect("handshakes of new connections");
    assert_eq!((fresh.requests, hs.count), (1_000, 1_000), "one handshake per new connection");
    assert!(hs.received_per > 0.0 && hs.sent_per > hs.received_per, "{hs:?}");
    let token = c.credential_header_bytes as f64 - "authorization: Bearer \r\n".len() as f64;
    let wire = c.credential_on_wire(ClientKind::Reqwest).expect("measured with and without the credential");
    assert!(wire >= 0.7 * token, "{wire:.0} B of a {token}-byte token on the wire per h2 request");
}

/// h2load, when installed: its counts, and its decrypted byte count under the target's socket count.
fn check_h2load(c: &ProtocolCheck, installed: bool) {
    if !installed {
        assert!(c.runs.iter().all(|r| r.client != ClientKind::H2load));
        assert!(c.not_measured.iter().all(|n| n.reason.contains("nghttp2-client")), "{:?}", c.not_measured);
        assert_eq!(c.not_measured.len(), 3);
        return;
    }
    assert!(c.not_measured.is_empty(), "{:?}", c.not_measured);
    let kept = c.run(ClientKind::H2load, keep_alive, true).expect("h2load, keep-alive");
    assert_eq!((kept.requests, kept.failed), (20_000, 0));
    assert_eq!(kept.handshakes.as_ref().map(|h| h.count), Some(4), "h2load's 4 connections");
    let traffic = kept.h2load_traffic.expect("h2load's traffic line");
    assert!(traffic.total > 0.0 && traffic.total < kept.per_request.sent, "TLS framing is positive: {traffic:?}");
    assert!(kept.tls.as_deref().is_some_and(|t| t.contains("TLSv1.3")), "{:?}", kept.tls);
    let fresh = c.run(ClientKind::H2load, new_connections, true).expect("h2load, new connections");
    assert_eq!(fresh.handshakes.as_ref().map(|h| h.count), Some(1_000));
    assert!(c.run(ClientKind::H2load, keep_alive, false).is_some(), "the baseline without the credential");
}

/// The run's case, its cross-check and its report section.
fn check_run(dir: &Path, r: &Results, h2load: bool) {
    let case =
        r.cases.iter().find(|c| c.id == "jwt-HS256-h2/browse-closed-2u").unwrap_or_else(|| panic!("{:?}", r.skipped));
    assert!(case.requests > 0 && case.errors.is_empty(), "{:?}", case.errors);
    assert!(case.bytes_per_request.received > 0.0 && case.bytes_per_request.sent > 0.0);
    assert_eq!(r.h2load.len(), 1, "skipped: {:?}", r.skipped);
    let c = &r.h2load[0];
    assert_eq!(c.target.id, "jwt-HS256-h2");
    check_goose_client(c);
    check_h2load(c, h2load);
    let report = std::fs::read_to_string(dir.join("out").join("REPORT.md")).unwrap();
    assert!(report.contains("## TLS and HTTP/2"), "the report has the protocol section");
}

#[test]
fn a_tls_h2_run_completes_and_cross_checks_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), false);
    check_run(dir.path(), &r, h2load_installed());
}

#[test]
fn without_h2load_its_figures_are_not_measured_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), true);
    check_run(dir.path(), &r, false);
    let report = std::fs::read_to_string(dir.path().join("out").join("REPORT.md")).unwrap();
    assert!(report.contains("not measured: h2load not installed"), "the report says why");
}
