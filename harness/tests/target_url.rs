//! `authbench run --target-url` against a target started by hand gives the same per-request counts
//! (store operations, bytes, auth bytes) as a run on a target the harness started itself, exactly
//! but for the requests in flight at the window's edges; CPU comes from the target's /metrics there
//! and from /proc here, and the results say which.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use authbench_harness::model::results::{self, Case, CpuSource, Results};
use authbench_harness::run::deployed::{Deployed, DeployedError};

const KEY: &str = "target-url-test-control-key";

/// One configuration the hand-started target serves and one it does not, a login load (one user:
/// every request the same bytes) and a browse load (one store lookup per request).
const MATRIX: &str = r#"
description = "--target-url against a hand-started target"
warmup = "1s"
duration = "2s"
probe_cap = "3s"
seed_users = 10
probe_users = 2

[[target]]
strategy = "session"
store = "memory"

[[target]]
strategy = "jwt"
alg = "HS256"

[[load]]
scenario = "login"
model = "closed"
users = 1

[[load]]
scenario = "browse"
model = "closed"
users = 1
"#;

fn target_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_authbench")).with_file_name("authbench-target")
}

/// An authbench-target started as a user would (scripts/same-shape.sh does the same), killed on drop.
struct HandStarted {
    child: Child,
    url: String,
    _keys: Option<tempfile::TempDir>,
}

impl HandStarted {
    fn start(args: &[&str]) -> HandStarted {
        let keys = tempfile::tempdir().unwrap();
        let mut t = HandStarted::start_in(args, keys.path());
        t._keys = Some(keys);
        t
    }

    /// Started with its signing keys in `keys` (replicas share them, as a deployment does).
    fn start_in(args: &[&str], keys: &Path) -> HandStarted {
        let mut child = Command::new(target_bin())
            .args(args)
            .args(["--seed-users", "10", "--listen", "127.0.0.1:0", "--key-dir"])
            .arg(keys)
            .env("AUTHBENCH_CONTROL_KEY", KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("authbench-target builds with the workspace (cargo build -p authbench-targets)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line {line:?}")).to_owned();
        HandStarted { child, url, _keys: None }
    }
}

impl Drop for HandStarted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(matrix: &Path, out: &Path, extra: &[&str]) -> Results {
    let status = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["run", "--matrix"])
        .arg(matrix)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("AUTHBENCH_CONTROL_KEY", KEY)
        .status()
        .unwrap();
    assert!(status.success(), "authbench run {extra:?} failed");
    results::read(out).expect("results.json")
}

/// Requests one user can have in flight at a window's edge: counted on one side of the edge
/// scrape, its store operation and bytes on the other.
const IN_FLIGHT: f64 = 1.0;

/// Both runs' per-request figure is one exact constant c per cycle of requests (one user repeating
/// a login, or browsing with /api/admin every fourth request) up to the requests in flight at the
/// two edges and a cycle's unfinished part (`partial` requests), each off by less than c: each
/// run's figure lies within c * (2 * IN_FLIGHT + partial) / requests of the cycle's.
fn agree_but_for_in_flight(what: &str, partial: f64, (x, nx): (f64, f64), (y, ny): (f64, f64)) {
    let c = x.max(y);
    let allowed = c * (2.0 * IN_FLIGHT + partial) * (1.0 / nx + 1.0 / ny);
    assert!((x - y).abs() <= allowed, "{what}: {x} over {nx} requests vs {y} over {ny} (allowed {allowed})");
}

fn case<'a>(r: &'a Results, id: &str) -> &'a Case {
    r.cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("case {id} missing: {:?}", r.skipped))
}

#[test]
fn a_hand_started_target_gives_the_same_counts_per_request_as_a_harness_started_one() {
    let dir = tempfile::tempdir().unwrap();
    let matrix = dir.path().join("matrix.toml");
    std::fs::write(&matrix, MATRIX).unwrap();
    let target = HandStarted::start(&["--strategy", "session", "--store", "memory"]);
    let deployed = run(&matrix, &dir.path().join("deployed"), &["--target-url", &target.url]);
    let local = run(&matrix, &dir.path().join("local"), &["--strategies", "session"]);

    let browse_cycle = (authbench_scenarios::steps::ADMIN_EVERY - 1) as f64;
    for (id, partial) in [("session-memory/login-closed-1u", 0.0), ("session-memory/browse-closed-1u", browse_cycle)] {
        let (d, l) = (case(&deployed, id), case(&local, id));
        let (db, lb) = (&d.bytes_per_request, &l.bytes_per_request);
        for (what, x, y) in [
            ("store ops", d.store_ops_per_request, l.store_ops_per_request),
            ("bytes received", db.received, lb.received),
            ("bytes sent", db.sent, lb.sent),
            ("auth bytes", db.auth, lb.auth),
        ] {
            agree_but_for_in_flight(&format!("{id} {what}"), partial, (x, d.target_requests), (y, l.target_requests));
        }
        // One session write per login, one lookup per request: the counters, edges aside.
        for c in [d, l] {
            let off = (c.store_ops_per_request - 1.0) * c.target_requests;
            assert!(
                off.abs() <= 2.0 * IN_FLIGHT,
                "{id}: {} store ops for {} requests",
                off + c.target_requests,
                c.target_requests
            );
        }
        assert_eq!(d.cpu_us_per_request.source, CpuSource::Metrics, "{id}");
        assert_eq!(l.cpu_us_per_request.source, CpuSource::Proc, "{id}");
        assert!(d.cpu_us_per_request.target > 0.0 && l.cpu_us_per_request.target > 0.0, "{id}");
        assert_eq!(d.cpu_us_per_request.store, None, "{id}: the harness did not start the deployed store");
        assert_eq!(d.cpu_us_per_request.relay, None, "{id}");
        assert!(d.peak_rss_bytes.is_some_and(|b| b > 0), "{id}");
    }

    let method = |r: &Results| r.method.get("cpu_source").cloned();
    assert!(method(&deployed).is_some_and(|m| m.contains("process_cpu_seconds_total")), "{:?}", deployed.method);
    assert_eq!(method(&local), None, "a local run's method is as before");
    assert_eq!(deployed.config.cli.target_urls, std::slice::from_ref(&target.url));
    let skipped: Vec<&str> = deployed.skipped.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(skipped, ["jwt-HS256/login-closed-1u", "jwt-HS256/browse-closed-1u", "jwt-HS256/probe"]);
    assert!(deployed.skipped.iter().all(|s| s.reason.contains("serves session-memory")), "{:?}", deployed.skipped);
    assert_eq!(deployed.probes.len(), 1, "the probe runs through the control key");
}

#[tokio::test]
async fn replicas_of_different_configurations_or_a_wrong_key_are_refused() {
    let session = HandStarted::start(&["--strategy", "session", "--store", "memory"]);
    let jwt = HandStarted::start(&["--strategy", "jwt"]);
    let urls = [session.url.clone(), jwt.url.clone()];
    let err = Deployed::connect(&urls, None, KEY.into()).await.unwrap_err();
    assert!(matches!(err, DeployedError::Mixed { .. }), "{err}");
    assert!(err.to_string().contains("session-memory") && err.to_string().contains("jwt-HS256"), "{err}");
    let err = Deployed::connect(&urls[..1], None, "not-the-key-of-this-target".into()).await.unwrap_err();
    assert!(matches!(err, DeployedError::Refused { status: 403, .. }), "{err}");
    let d = Deployed::connect(&[session.url.clone(), session.url.clone()], None, KEY.into()).await.unwrap();
    assert_eq!(d.info.id, "session-memory");
}

/// Requests a target served on /api/me, from its own /metrics.
fn served_me(url: &str) -> f64 {
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nx-control-key: {KEY}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with(r#"authbench_http_requests_total{route="/api/me""#))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Two users browsing jwt replicas: user 0 on the first, user 1 on the second.
const REPLICAS: &str = r#"
description = "--target-url with two replicas"
warmup = "1s"
duration = "2s"
probe_cap = "2s"
seed_users = 10
probe_users = 2

[[target]]
strategy = "jwt"
alg = "HS256"

[[load]]
scenario = "browse"
model = "closed"
users = 2
"#;

/// The REPLICAS matrix written into a fresh directory, and two jwt replicas sharing one key
/// directory (kept alive with them).
fn two_replicas() -> (tempfile::TempDir, PathBuf, tempfile::TempDir, HandStarted, HandStarted) {
    let dir = tempfile::tempdir().unwrap();
    let matrix = dir.path().join("matrix.toml");
    std::fs::write(&matrix, REPLICAS).unwrap();
    // Started one after the other, so the second finds the first's HS256 key instead of racing it.
    let keys = tempfile::tempdir().unwrap();
    let a = HandStarted::start_in(&["--strategy", "jwt"], keys.path());
    let b = HandStarted::start_in(&["--strategy", "jwt"], keys.path());
    (dir, matrix, keys, a, b)
}

#[test]
fn replicas_share_the_users_and_their_counters_add_up() {
    let (dir, matrix, _keys, a, b) = two_replicas();
    let urls = format!("{},{}", a.url, b.url);
    let r = run(&matrix, &dir.path().join("replicas"), &["--target-url", &urls]);
    let c = case(&r, "jwt-HS256/browse-closed-2u");
    let (on_a, on_b) = (served_me(&a.url), served_me(&b.url));
    assert!(on_a > 0.0 && on_b > 0.0, "each replica serves one of the two users: {on_a} and {on_b}");
    // The window's requests as the targets counted them are both replicas' (one replica alone
    // would hold about half of what the load generator recorded).
    let recorded = c.requests as f64;
    assert!(c.target_requests > 0.75 * recorded, "{} counted by the replicas, {recorded} recorded", c.target_requests);
    assert!(c.target_requests <= on_a + on_b, "{} in the window, {on_a} + {on_b} served in all", c.target_requests);
    assert_eq!(c.store_ops_per_request, 0.0);
    assert_eq!(c.cpu_us_per_request.source, CpuSource::Metrics);
    assert!(c.cpu_us_per_request.target > 0.0);
}

#[test]
fn shards_driving_one_deployed_target_share_it_and_only_shard_0_probes() {
    use authbench_harness::model::shard::ShardTargets;
    let dir = tempfile::tempdir().unwrap();
    let matrix = dir.path().join("matrix.toml");
    std::fs::write(&matrix, REPLICAS).unwrap();
    let target = HandStarted::start(&["--strategy", "jwt"]);
    let r = run(&matrix, &dir.path().join("shard1"), &["--target-url", &target.url, "--shard", "1/2"]);
    let shard = r.config.shard.expect("a shard's results say so");
    assert_eq!(shard.targets, ShardTargets::Shared, "every shard's scrapes see the whole deployed target");
    assert!(r.probes.is_empty(), "{:?}", r.probes);
    let skipped = r.skipped.iter().find(|s| s.id == "jwt-HS256/probe").expect("the probe is listed as skipped");
    assert!(skipped.reason.contains("shard 0"), "{}", skipped.reason);
    assert_eq!(case(&r, "jwt-HS256/browse-closed-2u").cpu_us_per_request.source, CpuSource::Metrics);
}

/// HAProxy in front of `backends` (host:port each) on a free loopback port, killed on drop.
struct Haproxy {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    fn start(backends: &[&str]) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let servers: String = backends.iter().enumerate().map(|(i, b)| format!("  server r{i} {b}\n")).collect();
        let cfg = format!(
            "defaults\n  mode http\n  option http-keep-alive\n  timeout connect 5s\n  timeout client 30s\n  \
             timeout server 30s\nfrontend f\n  bind 127.0.0.1:{port}\n  default_backend b\nbackend b\n  balance roundrobin\n{servers}"
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .spawn()
            .expect("haproxy not installed: run scripts/install-deps.sh (Debian package haproxy)");
        let addr = format!("127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Haproxy { child, url: format!("http://{addr}"), _dir: dir }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn through_a_balancer_the_load_reaches_every_replica_and_each_is_scraped_on_its_own() {
    let (dir, matrix, _keys, a, b) = two_replicas();
    let lb = Haproxy::start(&[a.url.trim_start_matches("http://"), b.url.trim_start_matches("http://")]);
    let urls = format!("{},{}", a.url, b.url);
    let r = run(&matrix, &dir.path().join("via"), &["--via", &lb.url, "--target-url", &urls]);
    let c = case(&r, "jwt-HS256/browse-closed-2u");
    let (on_a, on_b) = (served_me(&a.url), served_me(&b.url));
    assert!(on_a > 0.0 && on_b > 0.0, "round robin reaches both replicas: {on_a} and {on_b}");
    let recorded = c.requests as f64;
    assert!(c.target_requests > 0.75 * recorded, "{} counted by the replicas, {recorded} recorded", c.target_requests);
    assert!(c.target_requests <= on_a + on_b, "{} in the window, {on_a} + {on_b} served in all", c.target_requests);
    assert_eq!(r.probes.len(), 1, "the probe runs through the balancer: {:?}", r.skipped);
}
