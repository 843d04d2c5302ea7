//! The TLS and HTTP/2 cross-check (`Results.h2load`): after the matrix cases, each TLS
//! configuration, and each plain one with a TLS variant in the matrix (the baseline it is compared
//! with), gets a fresh target that two clients drive with a logged-in user's credential,
//! goose's own (reqwest, rustls, Rust h2) and h2load (nghttp2, OpenSSL), each once over long-lived
//! connections and once with a new connection per request. Bytes per request and per handshake
//! come from the target's socket counters between two scrapes (the scrapes' own bytes taken out);
//! h2load's `traffic:` line, which counts what it received after TLS decryption, stands beside
//! them. Without h2load its runs are recorded as not measured, with why, and the run goes on.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use authbench_targets::contract::route;
use authbench_targets::spec::{Protocol, TargetSpec};

use super::case::file_stem;
use super::client::{self, Credential};
use super::scrape::{scrape, Snapshot};
use super::target::{Launch, TargetProcess};
use super::{cpu, interrupt, Runner};
use crate::model::protocol::{
    ClientKind, ClientRun, Handshakes, NotMeasured, PerRequest, ProtocolCheck, Shape, Traffic,
};
use crate::model::results::{self, Skipped};

/// h2load over long-lived connections: requests, connections, and streams per h2 connection
/// (HTTP/1.1 gets one request at a time per connection: browsers do not pipeline).
const H2LOAD_KEEP_ALIVE: (u32, u32, u32) = (20_000, 4, 16);
/// New connections, one request each, for h2load and for goose's client.
const NEW_CONNECTIONS: u32 = 1_000;
/// goose's client over long-lived connections: users (a client and connection each), requests each.
const RUST_KEEP_ALIVE: (u32, u32) = (4, 2_500);
/// Longest an h2load run may take before it counts as failed.
const H2LOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// What a missing h2load is recorded as.
const H2LOAD_MISSING: &str =
    "h2load not installed: scripts/install-deps.sh installs it (Debian package nghttp2-client)";

impl Runner<'_> {
    /// The cross-check of every TLS configuration and of the plain variants they are compared with,
    /// recorded as each finishes; a configuration whose check fails is listed as skipped with why.
    pub(super) async fn protocol_checks(&mut self, ready: &[(&TargetSpec, &Launch<'_>)]) -> anyhow::Result<()> {
        let specs: Vec<TargetSpec> = ready.iter().map(|(s, _)| **s).collect();
        for (spec, launch) in ready.iter().filter(|(s, _)| compared(s, &specs)) {
            if interrupt::is_set() {
                return Ok(());
            }
            eprintln!("authbench: {}: TLS and HTTP/2 cross-check (goose's client and h2load)", spec.id());
            match check(spec, launch).await {
                Ok(c) => {
                    eprintln!("{}", summary(&c));
                    self.results.h2load.push(c);
                }
                Err(e) => {
                    eprintln!("authbench: cross-check of {} failed: {e:#}", spec.id());
                    let id = format!("{}/h2load", spec.id());
                    self.results.skipped.push(Skipped { id, reason: format!("failed: {e:#}") });
                }
            }
            results::write(self.results, launch.out)?;
        }
        Ok(())
    }
}

/// Whether a configuration is cross-checked: it serves TLS, or it is the plain HTTP/1.1 variant
/// of one that does.
pub(super) fn compared(spec: &TargetSpec, all: &[TargetSpec]) -> bool {
    let plain = |s: &TargetSpec| TargetSpec { tls: false, protocol: Protocol::Http1, ..*s };
    spec.tls || all.iter().any(|other| other.tls && plain(other) == *spec)
}

/// The one line a finished check prints: per client, bytes received per request, what the
/// credential costs on the wire and a handshake's bytes.
fn summary(c: &ProtocolCheck) -> String {
    let keep_alive = |s: &Shape| matches!(s, Shape::KeepAlive { .. });
    let new = |s: &Shape| matches!(s, Shape::NewConnections);
    let clients: Vec<String> = [ClientKind::Reqwest, ClientKind::H2load]
        .into_iter()
        .filter_map(|client| {
            let run = c.run(client, keep_alive, true)?;
            let cost = c.credential_on_wire(client).map_or(String::new(), |b| format!(" (credential {b:.0})"));
            let hs = c.run(client, new, true).and_then(|r| r.handshakes.as_ref());
            let hs = hs.map_or(String::new(), |h| format!(", handshake {:.0}+{:.0} B", h.received_per, h.sent_per));
            let name = match client {
                ClientKind::Reqwest => "goose's client",
                ClientKind::H2load => "h2load",
            };
            Some(format!("{name} {:.0} B/req in{cost}{hs}", run.per_request.received))
        })
        .collect();
    let missing = c.not_measured.first().map(|n| format!("; {}", n.reason)).unwrap_or_default();
    format!("✓ {}/h2load: {}{missing}", c.target.id, clients.join("; "))
}

/// The check on a fresh target of `spec`.
async fn check(spec: &TargetSpec, launch: &Launch<'_>) -> anyhow::Result<ProtocolCheck> {
    let target = TargetProcess::start(spec, launch, &format!("{}_h2load", file_stem(&spec.id()))).await?;
    let checked = runs(&target, spec).await;
    target.stop().await;
    checked
}

async fn runs(target: &TargetProcess, spec: &TargetSpec) -> anyhow::Result<ProtocolCheck> {
    let http = client::http(target, Duration::from_secs(10))?;
    let credential = client::login(&http, &target.url(), spec.transport, 1).await.context("the cross-check's login")?;
    let line = format!("{}: {}\r\n", credential.0, credential.1);
    let mut check = ProtocolCheck {
        target: spec.into(),
        credential_header_bytes: line.len() as u64,
        runs: Vec::new(),
        not_measured: Vec::new(),
    };
    // With the credential, then the same requests without it: the baseline its cost is read against.
    for cred in [Some(&credential), None] {
        check.runs.push(rust_keep_alive(target, cred, spec.protocol).await?);
    }
    check.runs.push(rust_new_connections(target, &credential, spec.protocol).await?);
    let (n, c, m) = H2LOAD_KEEP_ALIVE;
    let streams = if spec.protocol == Protocol::H2 { m } else { 1 };
    let keep_alive = Shape::KeepAlive { connections: c, streams };
    let plan = [
        (keep_alive, n, Some(&credential)),
        (keep_alive, n, None),
        (Shape::NewConnections, NEW_CONNECTIONS, Some(&credential)),
    ];
    for (shape, requests, cred) in plan {
        match h2load_run(target, spec.protocol, cred, shape, requests).await? {
            Ok(run) => check.runs.push(run),
            Err(why) => check.not_measured.push(NotMeasured {
                client: ClientKind::H2load,
                shape,
                credential: cred.is_some(),
                reason: why.to_string(),
            }),
        }
    }
    Ok(check)
}

/// The target's counters before and after a run, and its CPU between them.
struct Window {
    before: Snapshot,
    after: Snapshot,
    cpu_us: u64,
}

/// Runs `work` between two scrapes of `target`'s counters and two readings of its CPU.
async fn measured<T>(target: &TargetProcess, work: impl Future<Output = T>) -> anyhow::Result<(T, Window)> {
    let at = target.scrape_at()?;
    let before = scrape(&at, &target.control_key).await?;
    let cpu = || cpu::process_us(target.pid).with_context(|| format!("target process {} vanished", target.pid));
    let cpu_before = cpu()?;
    let out = work.await;
    let cpu_us = cpu()?.saturating_sub(cpu_before);
    let after = scrape(&at, &target.control_key).await?;
    Ok((out, Window { before, after, cpu_us }))
}

impl Window {
    /// Requests the target served between the scrapes.
    fn served(&self) -> f64 {
        self.after.served() - self.before.served()
    }

    /// Socket bytes between the scrapes, without the scrapes' own: (received, sent).
    fn socket(&self) -> (f64, f64) {
        let (b, a) = (&self.before, &self.after);
        let received = a.bytes_received - b.bytes_received - a.request_len as f64;
        let sent = a.bytes_sent - b.bytes_sent - b.response_after_render() as f64 - a.handshake_response_len as f64;
        (received, sent)
    }

    /// Handshakes between the scrapes without the closing scrape's own: (count, received, sent,
    /// by group); a plain target has none.
    fn handshakes(&self) -> (f64, f64, f64, BTreeMap<String, u64>) {
        let (b, a) = (&self.before, &self.after);
        let count = match (a.tls_handshakes(), b.tls_handshakes()) {
            // The closing scrape's own connection is the last handshake counted.
            (Some(after), Some(before)) => after - before - 1.0,
            _ => 0.0,
        };
        let bytes = |s: &Snapshot| s.tls_handshake_bytes.unwrap_or((0.0, 0.0));
        let received = bytes(a).0 - bytes(b).0 - a.handshake_request_len as f64;
        let sent = bytes(a).1 - bytes(b).1 - a.handshake_response_len as f64;
        let mut groups: BTreeMap<String, u64> = a
            .tls_groups
            .iter()
            .map(|(g, n)| (g.clone(), (n - b.tls_groups.get(g).copied().unwrap_or(0.0)) as u64))
            .collect();
        if let Some(n) = a.scrape_group.as_ref().and_then(|g| groups.get_mut(g)) {
            *n = n.saturating_sub(1);
        }
        groups.retain(|_, n| *n > 0);
        (count, received, sent, groups)
    }

    /// Per request, handshakes left out (they are reported per connection).
    fn per_request(&self) -> PerRequest {
        let served = self.served().max(1.0);
        let ((received, sent), (_, hs_in, hs_out, _)) = (self.socket(), self.handshakes());
        PerRequest {
            received: (received - hs_in) / served,
            sent: (sent - hs_out) / served,
            auth_received: (self.after.auth_received - self.before.auth_received) / served,
        }
    }

    /// The run's handshakes, per handshake; None when it opened no connection.
    fn handshakes_per(&self) -> Option<Handshakes> {
        let (count, received, sent, groups) = self.handshakes();
        (count >= 1.0).then(|| Handshakes {
            count: count as u64,
            received_per: received / count,
            sent_per: sent / count,
            groups,
        })
    }

    fn cpu_per_request(&self) -> f64 {
        self.cpu_us as f64 / self.served().max(1.0)
    }

    /// The run's figures as the target counted them; client-side figures are added by the caller.
    fn run(&self, client: ClientKind, shape: Shape, credential: bool, protocol: Protocol, failed: u64) -> ClientRun {
        ClientRun {
            client,
            shape,
            credential,
            protocol: alpn_name(protocol),
            command: None,
            requests: self.served() as u64,
            failed,
            per_request: self.per_request(),
            handshakes: self.handshakes_per(),
            h2load_traffic: None,
            target_cpu_us_per_request: self.cpu_per_request(),
            tls: None,
        }
    }
}

fn alpn_name(protocol: Protocol) -> String {
    String::from_utf8_lossy(authbench_targets::tls::alpn(protocol)).into_owned()
}

/// One GET /api/me, with the credential when given; whether it was answered 200.
async fn get_me(http: &reqwest::Client, url: &str, credential: Option<&Credential>) -> anyhow::Result<bool> {
    let mut req = http.get(url);
    if let Some((name, value)) = credential {
        req = req.header(*name, value);
    }
    Ok(req.send().await?.status() == 200)
}

/// goose's client as goose's users use it: each of a few users its own client and connection,
/// opened before the window, one request at a time; with the credential or (the baseline) without.
async fn rust_keep_alive(
    target: &TargetProcess,
    credential: Option<&Credential>,
    protocol: Protocol,
) -> anyhow::Result<ClientRun> {
    let (users, each) = RUST_KEEP_ALIVE;
    let url = format!("{}{}", target.url(), route::ME);
    let clients =
        (0..users).map(|_| client::http(target, Duration::from_secs(10))).collect::<anyhow::Result<Vec<_>>>()?;
    // Nothing is sent until the future is polled: inside the window, not before its first scrape.
    let burst = |n: u32| {
        let (clients, url) = (&clients, &url);
        async move {
            let jobs = clients.iter().map(|http| {
                let (http, url, credential) = (http.clone(), url.clone(), credential.cloned());
                tokio::spawn(async move {
                    let mut failed = 0u64;
                    for _ in 0..n {
                        failed += u64::from(!get_me(&http, &url, credential.as_ref()).await?);
                    }
                    anyhow::Ok(failed)
                })
            });
            futures_sum(jobs.collect()).await
        }
    };
    burst(1).await?;
    let (failed, w) = measured(target, burst(each)).await?;
    anyhow::ensure!(w.served() >= 1.0, "the target served none of goose's client's requests");
    let shape = Shape::KeepAlive { connections: users, streams: 1 };
    Ok(w.run(ClientKind::Reqwest, shape, credential.is_some(), protocol, failed?))
}

/// Sums the failures the tasks counted.
async fn futures_sum(jobs: Vec<tokio::task::JoinHandle<anyhow::Result<u64>>>) -> anyhow::Result<u64> {
    let mut failed = 0;
    for job in jobs {
        failed += job.await.context("a request task panicked")??;
    }
    Ok(failed)
}

/// goose's client, a new client (and connection) per request.
async fn rust_new_connections(
    target: &TargetProcess,
    credential: &Credential,
    protocol: Protocol,
) -> anyhow::Result<ClientRun> {
    let url = format!("{}{}", target.url(), route::ME);
    let work = async {
        let mut failed = 0u64;
        for _ in 0..NEW_CONNECTIONS {
            let fresh = client::http(target, Duration::from_secs(10))?;
            failed += u64::from(!get_me(&fresh, &url, Some(credential)).await?);
        }
        anyhow::Ok(failed)
    };
    let (failed, w) = measured(target, work).await?;
    anyhow::ensure!(w.served() >= 1.0, "the target served none of goose's client's requests");
    Ok(w.run(ClientKind::Reqwest, Shape::NewConnections, true, protocol, failed?))
}

/// Why an h2load run has no figures.
#[derive(Debug)]
enum Unmeasured {
    NotInstalled,
    Failed(String),
}

impl fmt::Display for Unmeasured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unmeasured::NotInstalled => f.write_str(H2LOAD_MISSING),
            Unmeasured::Failed(why) => write!(f, "h2load failed: {why}"),
        }
    }
}

/// h2load's arguments for a run of `requests` in `shape`, with the credential when given.
fn h2load_args(
    protocol: Protocol,
    credential: Option<&Credential>,
    shape: Shape,
    requests: u32,
    url: &str,
) -> Vec<String> {
    let (clients, streams) = match shape {
        Shape::KeepAlive { connections, streams } => (connections, streams),
        Shape::NewConnections => (requests, 1),
    };
    let mut args = vec![format!("-n{requests}"), format!("-c{clients}"), format!("-m{streams}")];
    if protocol == Protocol::Http1 {
        args.push("--h1".to_owned());
    }
    if let Some((name, value)) = credential {
        args.extend(["-H".to_owned(), format!("{name}: {value}")]);
    }
    args.push(url.to_owned());
    args
}

/// The command line as recorded, the credential shortened so results do not carry a live token.
fn shown(args: &[String]) -> String {
    let shorten = |a: &String| match a.split_once(": ") {
        Some((name, value)) if value.len() > 16 => format!("'{name}: {}…'", value.chars().take(12).collect::<String>()),
        _ => a.clone(),
    };
    std::iter::once("h2load".to_owned()).chain(args.iter().map(shorten)).collect::<Vec<_>>().join(" ")
}

/// One h2load run in `shape`; Err inside when h2load is missing or failed (not measured).
async fn h2load_run(
    target: &TargetProcess,
    protocol: Protocol,
    credential: Option<&Credential>,
    shape: Shape,
    requests: u32,
) -> anyhow::Result<Result<ClientRun, Unmeasured>> {
    let args = h2load_args(protocol, credential, shape, requests, &format!("{}{}", target.url(), route::ME));
    let (out, w) = measured(target, run_h2load(&args)).await?;
    let report = match out {
        Ok(text) => text,
        Err(why) => return Ok(Err(why)),
    };
    let Some(counts) = read_requests(&report) else {
        return Ok(Err(Unmeasured::Failed("no `requests:` line in its output".into())));
    };
    // Without the credential every request is refused (401) by design; with it, none may be.
    if w.served() < 1.0 || (credential.is_some() && counts.succeeded == 0) {
        return Ok(Err(Unmeasured::Failed(format!("no request succeeded ({} failed)", counts.failed))));
    }
    let served = w.served();
    let per = |n: u64| n as f64 / served;
    let mut run = w.run(ClientKind::H2load, shape, credential.is_some(), protocol, counts.failed);
    run.command = Some(shown(&args));
    run.h2load_traffic = read_traffic(&report).map(|t| Traffic {
        total: per(t.total),
        headers: per(t.headers),
        data: per(t.data),
        header_savings_pct: t.savings_pct,
    });
    run.tls = read_tls(&report);
    Ok(Ok(run))
}

/// Runs h2load; its standard output, or why there is none.
async fn run_h2load(args: &[String]) -> Result<String, Unmeasured> {
    let run = tokio::process::Command::new("h2load").args(args).stdin(Stdio::null()).kill_on_drop(true).output();
    let out = match tokio::time::timeout(H2LOAD_TIMEOUT, run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unmeasured::NotInstalled),
        Ok(Err(e)) => return Err(Unmeasured::Failed(format!("could not start: {e}"))),
        Err(_) => return Err(Unmeasured::Failed(format!("did not finish within {} s", H2LOAD_TIMEOUT.as_secs()))),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Unmeasured::Failed(format!("{} ({})", err.lines().next().unwrap_or_default(), out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// h2load's request counts.
#[derive(Debug, PartialEq)]
struct Requests {
    succeeded: u64,
    failed: u64,
}

/// The number before `what` in a comma-separated h2load line ("100 total, 100 started, ...").
fn count_of(line: &str, what: &str) -> Option<u64> {
    line.split(',').find_map(|part| part.trim().strip_suffix(what).and_then(|n| n.trim().parse().ok()))
}

fn read_requests(out: &str) -> Option<Requests> {
    let line = out.lines().find_map(|l| l.strip_prefix("requests:"))?;
    Some(Requests { succeeded: count_of(line, "succeeded")?, failed: count_of(line, "failed")? })
}

/// h2load's `traffic:` line, in bytes.
#[derive(Debug, PartialEq)]
struct TrafficLine {
    total: u64,
    headers: u64,
    data: u64,
    savings_pct: Option<f64>,
}

/// A byte count as h2load prints it: "16.41KB (16800) total" or, in older versions, "16800 bytes total".
fn bytes_of(part: &str) -> Option<u64> {
    match part.split_once('(').and_then(|(_, rest)| rest.split_once(')')) {
        Some((n, _)) if n.chars().all(|c| c.is_ascii_digit()) => n.parse().ok(),
        _ => part.split_whitespace().next()?.parse().ok(),
    }
}

fn read_traffic(out: &str) -> Option<TrafficLine> {
    let line = out.lines().find_map(|l| l.strip_prefix("traffic:"))?;
    let part = |what: &str| line.split(", ").find(|p| p.trim_end().ends_with(what) || p.contains(&format!(" {what} ")));
    let savings = line
        .split_once("space savings ")
        .and_then(|(_, rest)| rest.split_once('%'))
        .and_then(|(pct, _)| pct.trim().parse().ok());
    Some(TrafficLine {
        total: bytes_of(part("total")?)?,
        headers: bytes_of(part("headers")?)?,
        data: bytes_of(part("data")?)?,
        savings_pct: savings,
    })
}

/// "TLSv1.3, TLS_AES_128_GCM_SHA256, X25519 253 bits" from h2load's TLS lines.
fn read_tls(out: &str) -> Option<String> {
    let field = |name: &str| out.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
    let parts: Vec<&str> =
        [field("TLS Protocol:"), field("Cipher:"), field("Server Temp Key:")].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "starting benchmark...
spawning thread #0: 2 total client(s). 100 total requests
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
progress: 100% done

finished in 7.44ms, 13442.67 req/s, 2.15MB/s
requests: 100 total, 100 started, 100 done, 98 succeeded, 2 failed, 0 errored, 0 timeout
status codes: 98 2xx, 0 3xx, 2 4xx, 0 5xx
traffic: 16.41KB (16800) total, 9.67KB (9900) headers (space savings 91.25%), 2.34KB (2400) data
";

    #[test]
    fn reads_h2loads_report() {
        assert_eq!(read_requests(OUTPUT), Some(Requests { succeeded: 98, failed: 2 }));
        let t = read_traffic(OUTPUT).unwrap();
        assert_eq!((t.total, t.headers, t.data), (16_800, 9_900, 2_400));
        assert_eq!(t.savings_pct, Some(91.25));
        assert_eq!(read_tls(OUTPUT).as_deref(), Some("TLSv1.3, TLS_AES_128_GCM_SHA256, X25519 253 bits"));
        let old =
            "traffic: 4125025824 bytes total, 11023424 bytes headers (space savings 93.07%), 4096000000 bytes data";
        let t = read_traffic(old).unwrap();
        assert_eq!((t.total, t.headers, t.data), (4_125_025_824, 11_023_424, 4_096_000_000));
        assert_eq!(read_requests("no report"), None);
        assert_eq!(read_tls("plain"), None);
    }

    #[test]
    fn the_command_carries_the_credential_but_the_record_does_not() {
        let cred: Credential = ("authorization", format!("Bearer {}", "x".repeat(200)));
        let args = h2load_args(Protocol::Http1, Some(&cred), Shape::NewConnections, 200, "https://127.0.0.1:1/api/me");
        assert!(
            args.contains(&"--h1".to_owned()) && args.contains(&"-c200".to_owned()) && args.contains(&"-m1".to_owned())
        );
        assert!(args.iter().any(|a| a.ends_with(&"x".repeat(200))));
        let shown = shown(&args);
        assert!(!shown.contains(&"x".repeat(20)), "{shown}");
        assert!(shown.starts_with("h2load -n200 -c200 -m1 --h1 -H 'authorization: Bearer xxxxx…'"), "{shown}");
        let h2 = h2load_args(Protocol::H2, None, Shape::KeepAlive { connections: 4, streams: 16 }, 20_000, "u");
        assert!(!h2.contains(&"--h1".to_owned()) && h2.contains(&"-c4".to_owned()) && h2.contains(&"-m16".to_owned()));
        assert!(!h2.contains(&"-H".to_owned()), "the baseline carries no credential");
    }

    #[test]
    fn tls_configurations_and_their_plain_variants_are_compared() {
        use authbench_targets::token::alg::Alg;
        let plain = TargetSpec::jwt(Alg::Hs256);
        let h2 = TargetSpec { tls: true, protocol: Protocol::H2, ..plain };
        let cookie = TargetSpec { transport: authbench_targets::spec::Transport::Cookie, ..plain };
        let all = [plain, h2, cookie];
        assert!(compared(&h2, &all) && compared(&plain, &all));
        assert!(!compared(&cookie, &all), "no TLS variant of the cookie configuration in the matrix");
        assert!(!compared(&plain, &[plain, cookie]), "a matrix without TLS runs no cross-check");
    }

    #[test]
    fn missing_h2load_names_the_package() {
        assert!(Unmeasured::NotInstalled.to_string().contains("nghttp2-client"));
    }
}
