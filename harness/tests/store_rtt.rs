//! A store at a network distance, on real servers the run starts itself: a `[dimensions]` sweep of
//! store round trips runs every configuration at each, through a relay whose CPU is recorded apart
//! from the target's and the store's; the distance changes how long a store operation takes, never
//! how many a request makes; a slow-store fault adds its delay on top of the configuration's own
//! round trip and takes it away again; and seeded namespaces hold exactly the records asked for.
//! Counts and invariants only; the only timing asserted is the lower bound the relay must add.

use std::path::Path;
use std::process::Command;

use authbench_harness::model::results::{Case, Results};
use authbench_harness::model::seed::StoreSize;

const MATRIX: &str = r#"
description = "store round trips under test"
warmup = "1s"
duration = "2s"
probe_cap = "1s"
seed_users = 40
probe_users = 1
storage_records = 100
seed_sessions = 10000

[dimensions]
store_rtt = ["0", "1ms"]

[[target]]
strategy = "session"
store = "redis"

[[target]]
strategy = "session"
store = "postgres"

[[load]]
scenario = "browse"
model = "closed"
users = 8

[[fault]]
targets = ["session-redis", "session-redis-rtt1ms"]
load = { scenario = "browse", model = "open", rate_rps = 200.0, users = 8 }
fault = { kind = "store_slow", at = "1s", lasting = "2s", rtt = "20ms" }
duration = "5s"
"#;

fn run(dir: &Path) -> Results {
    let file = dir.join("matrix.toml");
    std::fs::write(&file, MATRIX).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["run", "--matrix"])
        .arg(&file)
        .arg("--out")
        .arg(dir.join("out"))
        .env_remove("AUTHBENCH_REDIS_URL")
        .env_remove("AUTHBENCH_POSTGRES_URL")
        .status()
        .unwrap();
    assert!(status.success());
    authbench_harness::model::results::read(&dir.join("out")).unwrap()
}

fn case<'a>(r: &'a Results, target: &str) -> &'a Case {
    let id = format!("{target}/browse-closed-8u");
    r.cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("{id} missing; skipped: {:?}", r.skipped))
}

#[test]
fn round_trips_change_time_per_store_operation_not_their_number() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path());
    for store in ["redis", "postgres"] {
        let near = case(&r, &format!("session-{store}"));
        let far = case(&r, &format!("session-{store}-rtt1ms"));
        for c in [near, far] {
            // One lookup per request, whatever the distance; a request in flight at a window edge
            // may have its lookup counted on the other side of the edge: at most the 8 users' worth
            // at each of the two edges.
            let ops = c.store_ops_per_request * c.target_requests;
            assert!(
                (ops - c.target_requests).abs() <= 16.0,
                "{}: {ops} store operations for {} requests",
                c.id,
                c.target_requests
            );
            assert_eq!(c.error_count(), 0, "{}: {:?}", c.id, c.errors);
        }
        assert_eq!(near.cpu_us_per_request.relay, None, "{store}: no relay at RTT 0");
        assert!(near.shares.as_ref().unwrap().relay.is_none());
        let relay_cpu = far.cpu_us_per_request.relay.expect("the relay's CPU is read at RTT > 0");
        assert!(relay_cpu > 0.0, "{store}: relay CPU {relay_cpu}");
        assert!(far.shares.as_ref().unwrap().relay.is_some_and(|s| s > 0.0));
        // The relay holds each direction for half the round trip: a lookup takes at least 1 ms.
        let op_us = far.store_op_latency_us.unwrap();
        assert!(op_us >= 1000.0, "{store}: a store operation through a 1 ms round trip took {op_us} µs");
        assert!(far.latency_us.p50 >= 1000, "{store}: p50 {} µs", far.latency_us.p50);
    }
    check_seeds(&r);
    check_slow_store(&r);
    let report = std::fs::read_to_string(dir.path().join("out").join("REPORT.md")).unwrap();
    assert!(report.contains("## Stores at a network distance"), "the round-trip section is in the report");
    assert!(dir.path().join("out/charts/store_rtt_latency.svg").exists());
}

/// The slow-store fault goes through the target's relay: every second inside the fault is at least
/// its delay slower, and the relay's CPU is the relay's whatever the configuration's round trip.
fn check_slow_store(r: &Results) {
    for target in ["session-redis", "session-redis-rtt1ms"] {
        let id = format!("{target}/browse-open-8u-200rps/store_slow");
        let c = r.cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("{id} missing: {:?}", r.skipped));
        assert!(c.cpu_us_per_request.relay.is_some(), "{id}: the relay's CPU is its own");
        let f = c.fault.as_ref().unwrap();
        let t = c.timeline.as_ref().unwrap();
        let inside: Vec<_> = t
            .seconds
            .iter()
            .filter(|s| f64::from(s.t_s) >= f.start_s && f64::from(s.t_s) + 1.0 <= f.end_s && s.requests > 0)
            .collect();
        assert!(!inside.is_empty(), "{id}: no whole second inside the fault: {f:?}");
        for s in inside {
            assert!(
                s.p50_us.is_some_and(|p| p >= 20_000),
                "{id}: second {} p50 {:?} under the 20 ms added",
                s.t_s,
                s.p50_us
            );
        }
        assert_eq!(c.error_count(), 0, "{id}: {:?}", c.errors);
    }
}

/// Each configuration's namespace got exactly the sessions asked for, counted in the store.
fn check_seeds(r: &Results) {
    let ids: Vec<&str> = r.seeds.iter().map(|s| s.target.id.as_str()).collect();
    assert_eq!(ids.len(), 4, "every store configuration is seeded once: {ids:?}; skipped {:?}", r.skipped);
    for s in &r.seeds {
        assert_eq!((s.records, s.counted), (10_000, Some(10_000)), "{}: {}", s.target.id, s.note);
        assert!(s.bytes_per_record.is_some_and(|b| b > 0.0), "{}: {:?}", s.target.id, s.bytes_per_record);
        let postgres = matches!(s.after, Some(StoreSize::Postgres { .. }));
        assert_eq!(postgres, s.target.id.contains("postgres"), "{}: {:?}", s.target.id, s.after);
    }
}
