//! A real run of redis-cluster configurations on a three-master Redis Cluster the harness starts
//! itself: provisioning, targets reaching the cluster, seeding, load and probes. Counts and
//! invariants only; timings are never asserted.

use std::process::Command;

use serde_json::Value;

const MATRIX: &str = r#"
description = "redis-cluster configurations only"
warmup = "1s"
duration = "2s"
probe_cap = "3s"
seed_users = 50
probe_users = 2
seed_sessions = 500

[[target]]
strategy = "session"
store = "redis-cluster"

[[target]]
strategy = "hybrid"
store = "redis-cluster"
alg = "HS256"

[[target]]
strategy = "session"
store = "memory"

[[load]]
scenario = "browse"
model = "closed"
users = 4
"#;

fn case<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["cases"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("case {id} missing"))
}

#[test]
fn a_run_provisions_a_throwaway_cluster_and_measures_its_configurations() {
    let tmp = tempfile::Builder::new().prefix("authbench-cluster-").tempdir().expect("temporary directory");
    let matrix = tmp.path().join("cluster.toml");
    std::fs::write(&matrix, MATRIX).expect("matrix file");
    let out = tmp.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["run", "--stores", "redis-cluster", "--matrix"])
        .arg(&matrix)
        .arg("--out")
        .arg(&out)
        // Not the cluster scripts/test.sh started: this run must start its own.
        .env_remove("AUTHBENCH_REDIS_CLUSTER_URL")
        .status()
        .expect("authbench runs");
    assert!(status.success());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("results.json"))
        .expect("results.json is JSON");
    assert_eq!(r["status"], "complete");
    assert_eq!(r["config"]["stores"]["redis_cluster"], "throwaway", "{}", r["config"]["stores"]);

    let ids: Vec<&str> = r["cases"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(!ids.iter().any(|i| i.contains("memory")), "--stores redis-cluster kept only the cluster: {ids:?}");
    for id in ["session-redis-cluster", "hybrid-redis-cluster-HS256"] {
        let c = case(&r, &format!("{id}/browse-closed-4u"));
        assert!(c["requests"].as_u64().unwrap() > 0, "{id}");
        assert!(c["errors"].as_object().unwrap().is_empty(), "{id}: {}", c["errors"]);
        let ops = c["store_ops_per_request"].as_f64().unwrap();
        let expected = if id.starts_with("session") { 1.0 } else { 0.0 };
        assert!((ops - expected).abs() < 0.05, "{id}: {ops} store operations per request");
    }

    // Seeded like any store, with the sizes it cannot read reported as not measured.
    let seeds = r["seeds"].as_array().expect("seed records");
    assert_eq!(seeds.len(), 2, "{seeds:?}");
    for s in seeds {
        assert_eq!(s["records"], 500, "{s}");
        assert!(s["bytes_per_record"].is_null() && s["counted"].is_null(), "not measured, not 0: {s}");
        assert!(s["note"].as_str().unwrap().contains("not measured"), "{s}");
    }

    // A revoked session user is refused at once on the cluster too.
    let probe = r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["target"]["id"] == "session-redis-cluster")
        .expect("a probe of session-redis-cluster");
    assert!(probe["revocation"]["measured_s"].as_f64().unwrap() < 1.0, "{probe}");
    eprintln!("skipped: {}", r["skipped"]);
}
