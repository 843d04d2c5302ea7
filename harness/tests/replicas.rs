//! `replicas = 2` puts two target processes behind HAProxy: the load goes through the balancer,
//! each replica's CPU is read and summed, HAProxy's CPU is its own, and the probe asks every
//! replica, so memory-backed sessions and denylists show that replicas disagree on a credential
//! while store-backed ones agree.

use std::path::Path;
use std::process::Command;

use authbench_harness::model::probe::{Answer, ProbeResult};
use authbench_harness::model::results::{self, Results};

/// session on memory and on Redis, and jwt with a memory denylist, each as two replicas; one
/// browse load, short windows, the probe with a short cap.
const MATRIX: &str = r#"
description = "replicas behind HAProxy"
warmup = "1s"
duration = "2s"
probe_cap = "2s"
seed_users = 10
probe_users = 2

[[target]]
strategy = "session"
store = "memory"
replicas = 2

[[target]]
strategy = "session"
store = "redis"
replicas = 2

[[target]]
strategy = "jwt"
denylist = "memory"
replicas = 2

[[load]]
scenario = "browse"
model = "closed"
users = 4
"#;

fn run(matrix: &Path, out: &Path) -> Results {
    let status = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["run", "--matrix"])
        .arg(matrix)
        .arg("--out")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "authbench run failed");
    results::read(out).expect("results.json")
}

fn probe<'a>(r: &'a Results, id: &str) -> &'a ProbeResult {
    r.probes.iter().find(|p| p.target.id == id).unwrap_or_else(|| panic!("probe {id} missing: {:?}", r.skipped))
}

fn answers(replies: &[authbench_harness::model::probe::Reply]) -> Vec<Answer> {
    replies.iter().map(|r| r.answer).collect()
}

#[test]
fn replicas_share_the_load_and_memory_stores_make_them_disagree() {
    let dir = tempfile::tempdir().unwrap();
    let matrix = dir.path().join("matrix.toml");
    std::fs::write(&matrix, MATRIX).unwrap();
    let r = run(&matrix, &dir.path().join("out"));

    for id in ["session-memory-x2", "session-redis-x2", "jwt-denylist-memory-HS256-x2"] {
        let case = r.cases.iter().find(|c| c.target.id == id).unwrap_or_else(|| panic!("{id}: {:?}", r.skipped));
        let cpu = &case.cpu_us_per_request;
        assert_eq!(cpu.per_replica.len(), 2, "{id}: {cpu:?}");
        assert!(cpu.per_replica.iter().all(|&us| us > 0.0), "round robin reaches both replicas: {id} {cpu:?}");
        let sum: f64 = cpu.per_replica.iter().sum();
        assert!((sum - cpu.target).abs() <= 1e-9 * cpu.target, "{id}: target CPU is the replicas' sum: {cpu:?}");
        assert!(cpu.balancer.is_some_and(|b| b > 0.0), "{id}: HAProxy's CPU is its own: {cpu:?}");
        assert!(case.target_requests > 0.0 && case.requests > 0, "{id}");
    }

    // A session kept in one replica's memory is unknown to the other.
    let memory = probe(&r, "session-memory-x2").agreement.as_ref().expect("asked every replica");
    let mut login = answers(&memory.after_login);
    login.sort_by_key(|a| *a != Answer::Accepted);
    assert_eq!(login, [Answer::Accepted, Answer::Refused], "{memory:?}");
    assert!(!memory.agrees());

    // A shared store: both replicas serve the session and both refuse it after the logout.
    let redis = probe(&r, "session-redis-x2").agreement.as_ref().expect("asked every replica");
    assert_eq!(answers(&redis.after_login), [Answer::Accepted, Answer::Accepted], "{redis:?}");
    assert_eq!(answers(&redis.after_logout), [Answer::Refused, Answer::Refused], "{redis:?}");
    assert!(redis.agrees());

    // A token verifies anywhere, but its logout lands in one replica's denylist only.
    let deny = probe(&r, "jwt-denylist-memory-HS256-x2").agreement.as_ref().expect("asked every replica");
    assert_eq!(answers(&deny.after_login), [Answer::Accepted, Answer::Accepted], "{deny:?}");
    let mut logout = answers(&deny.after_logout);
    logout.sort_by_key(|a| *a != Answer::Accepted);
    assert_eq!(logout, [Answer::Accepted, Answer::Refused], "{deny:?}");
    assert!(!deny.agrees());
    let window = probe(&r, "jwt-denylist-memory-HS256-x2").logout.as_ref().expect("logout window");
    assert!(window.still_accepted_at_cap, "the other replica keeps serving a logged-out token: {window:?}");

    let out = dir.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_authbench")).arg("report").arg(&out).status().unwrap();
    assert!(status.success(), "authbench report failed");
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    let after = report.split("## Replicas behind a balancer").nth(1).expect("the replicas section");
    let section = after.split("\n## ").next().unwrap_or(after);
    let rows: Vec<&str> = section.lines().filter(|l| l.contains("-x2 |")).collect();
    assert_eq!(rows.len(), 3, "{section}");
    assert!(rows.iter().any(|l| l.starts_with("| session-redis-x2") && l.ends_with("| agree |")), "{rows:?}");
    assert!(rows.iter().any(|l| l.starts_with("| session-memory-x2") && l.contains("disagree")), "{rows:?}");
}
