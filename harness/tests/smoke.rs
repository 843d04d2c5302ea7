//! A real smoke run: every expected case is in results.json and every figure obeys the invariants
//! the strategies promise. Counts and invariants only; timings are never asserted.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use authbench_harness::model::ladder::{Capacity, Step};
use authbench_harness::model::results::{CaseRole, Results};
use authbench_targets::spec::TargetSpec;
use authbench_targets::token::alg::Alg;
use serde_json::Value;

/// A results directory deleted when the test ends.
fn out_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("authbench-{name}-")).tempdir().expect("temporary results directory")
}

fn read(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results.json written"))
        .expect("results.json is JSON")
}

fn case<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["cases"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("case {id} missing"))
}

fn probe<'a>(r: &'a Value, target: &str) -> &'a Value {
    r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["target"]["id"] == target)
        .unwrap_or_else(|| panic!("probe {target} missing"))
}

/// Seconds consecutive from 0 through the one the window closed in, holding every window request.
fn check_timeline(id: &str, c: &Value, requests: u64) {
    let t = &c["timeline"];
    let seconds = t["seconds"].as_array().unwrap_or_else(|| panic!("{id}: no timeline"));
    let end = t["window_start_s"].as_f64().unwrap() + c["window_s"].as_f64().unwrap();
    assert!(t["window_start_s"].as_f64().unwrap() >= c["warmup_s"].as_f64().unwrap(), "{id}: {t}");
    assert_eq!(seconds.len(), end.ceil() as usize, "{id}: {t}");
    assert!(seconds.iter().enumerate().all(|(i, s)| s["t_s"].as_u64() == Some(i as u64)), "{id}: {t}");
    let total: u64 = seconds.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
    assert!(total >= requests, "{id}: the timeline holds {total} requests, the window {requests}");
    for s in seconds {
        assert!(s["errors"].as_u64() <= s["requests"].as_u64(), "{id}: {s}");
        assert_eq!(s["p50_us"].is_u64(), s["requests"].as_u64() > Some(0), "{id}: {s}");
        assert!(s["p50_us"].as_u64() <= s["p99_us"].as_u64(), "{id}: {s}");
        if id.starts_with("jwt") {
            assert!(s["store_ops"].as_f64().is_none_or(|o| o == 0.0), "{id}: {s}");
        }
    }
}

#[test]
fn smoke_run_writes_complete_trustworthy_results() {
    let tmp = out_dir("smoke");
    let out = tmp.path();
    let status = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["run", "--profile", "smoke", "--out"])
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
    let r = read(out);
    assert_eq!(r["schema"], authbench_harness::model::results::SCHEMA);
    let typed = authbench_harness::model::results::read(out).expect("results.json reads back into the model");
    assert_eq!(typed.cases.len(), r["cases"].as_array().unwrap().len());
    assert_eq!(r["status"], "complete");
    assert_eq!(r["skipped"].as_array().unwrap().len(), 0, "{}", r["skipped"]);
    assert!(r["environment"]["cores"].as_u64().unwrap() >= 1);
    assert!(r["environment"]["postgres_version"].is_string() && r["environment"]["redis_version"].is_string());

    let ids = ["jwt-HS256", "session-postgres", "session-redis", "hybrid-redis-HS256", "session-memory"];
    let matrix_cases = typed.cases.iter().filter(|c| c.role == CaseRole::Matrix).count();
    assert_eq!(matrix_cases, ids.len());
    assert_eq!(typed.summaries.len(), ids.len(), "one summary per configuration and load");
    assert!(typed.summaries.iter().all(|s| s.throughput_rps.n == 1 && s.throughput_rps.interval.is_none()));
    ladder_is_consistent(&typed);
    for id in ids {
        let c = case(&r, &format!("{id}/browse-closed-8u"));
        let requests = c["requests"].as_u64().unwrap();
        assert!(requests > 0, "{id}");
        let h = authbench_harness::model::histogram::decode(c["histogram"]["data"].as_str().unwrap()).unwrap();
        assert_eq!(h.len(), requests, "{id}: requests == histogram count");
        let l = &c["latency_us"];
        let p: Vec<u64> = ["p50", "p90", "p99", "p999", "max"].iter().map(|k| l[k].as_u64().unwrap()).collect();
        assert!(p.windows(2).all(|w| w[0] <= w[1]), "{id}: percentiles not monotone: {p:?}");
        assert!(c["errors"].as_object().unwrap().is_empty(), "{id}: {}", c["errors"]);
        let served = c["target_requests"].as_f64().unwrap();
        // The target's counters span scrape to scrape, a few ms wider than the recorded window.
        assert!(
            (served - requests as f64).abs() / (requests as f64) < 0.02,
            "{id}: target served {served}, recorded {requests}"
        );
        assert!(c["cpu_us_per_request"]["target"].as_f64().unwrap() > 0.0, "{id}");
        assert!(
            c["bytes_per_request"]["received"].as_f64().unwrap() > 0.0
                && c["bytes_per_request"]["sent"].as_f64().unwrap() > 0.0
        );
        for f in ["hgrm", "hlog"] {
            assert!(out.join(c["histogram"][f].as_str().unwrap()).exists(), "{id}: {f} file");
        }
        assert!(out.join(c["goose_report"].as_str().unwrap()).exists(), "{id}: goose report");
        check_timeline(id, c, requests);
    }
    for c in r["cases"].as_array().unwrap() {
        let target = c["shares"]["target"].as_f64();
        assert!(target.is_some_and(|t| t > 0.0), "{}: the window's target CPU share: {}", c["id"], c["shares"]);
    }
    let ops = |id: &str| case(&r, &format!("{id}/browse-closed-8u"))["store_ops_per_request"].as_f64().unwrap();
    assert_eq!(ops("jwt-HS256"), 0.0);
    for s in ["session-postgres", "session-redis", "session-memory"] {
        assert!((ops(s) - 1.0).abs() < 0.01, "{s}: {}", ops(s));
    }
    assert!(ops("hybrid-redis-HS256") < 0.05);
    let auth = |id: &str| case(&r, &format!("{id}/browse-closed-8u"))["bytes_per_request"]["auth"].as_f64().unwrap();
    assert!(auth("jwt-HS256") > auth("session-redis"), "a JWT carries more auth bytes than a 43-byte session token");

    // Every stored-session configuration measured what one record costs its store.
    for s in ["session-postgres", "session-redis", "session-memory", "hybrid-redis-HS256"] {
        let st = &probe(&r, s)["storage"];
        assert_eq!(st["records"], 2000, "{s}: {st}");
        assert!(st["bytes_per_record"].as_f64().unwrap() > 32.0, "{s}: a record holds at least its 32-byte hash: {st}");
    }
    assert!(probe(&r, "jwt-HS256")["storage"].is_null());
    let cap = 3.0;
    for s in ["session-postgres", "session-redis", "session-memory"] {
        let p = probe(&r, s);
        assert!(p["revocation"]["measured_s"].as_f64().unwrap() < 1.0, "{s}: {p}");
        assert!(p["stale_role"]["measured_s"].as_f64().unwrap() < 1.0, "{s}: {p}");
    }
    let h = probe(&r, "hybrid-redis-HS256");
    match h["revocation"]["measured_s"].as_f64() {
        Some(s) => assert!(s <= 15.0 * 60.0 + 1.0, "{h}"),
        None => assert!(
            h["revocation"]["still_accepted_at_cap"].as_bool().unwrap()
                && h["revocation"]["bound_s"].as_f64().unwrap() > cap
        ),
    }
    assert_eq!(h["stale_role"]["still_accepted_at_cap"], true, "a 15 min access token keeps the old role: {h}");
    let j = probe(&r, "jwt-HS256");
    assert_eq!(j["revocation"]["still_accepted_at_cap"], true, "plain jwt cannot revoke: {j}");
    // Without a denylist a revoked user keeps refreshing until the login's absolute lifetime ends.
    assert_eq!(j["revocation"]["bound_s"], authbench_targets::spec::Ttls::ABSOLUTE.secs() + 1);
    assert!(!out.join("keys").exists(), "signing keys must not land in the results directory");
}

/// The smoke ladder: offered rates ascend, every step is a recorded case, and the capacity is a
/// step that met the SLO whose next measured step did not (or a bound the steps justify).
fn ladder_is_consistent(r: &Results) {
    assert_eq!(r.ladders.len(), 1, "the smoke profile climbs one ladder");
    let l = &r.ladders[0];
    assert_eq!(l.target.id, "jwt-HS256");
    let saturation = l.saturation_rps.expect("saturation from the closed browse case");
    let listed: Vec<&Step> = l.steps.iter().filter(|s| !s.refined).collect();
    assert_eq!(listed.len(), 2, "{:?}", l.steps);
    for (step, fraction) in listed.iter().zip([0.3, 1.2]) {
        assert!((step.offered_rps - (fraction * saturation).round()).abs() < 1.0, "{step:?}");
    }
    assert!(l.steps.windows(2).all(|w| w[0].offered_rps < w[1].offered_rps), "ladder monotone in offered rate");
    assert!(l.steps.iter().filter(|s| s.refined).count() <= 1);
    for step in &l.steps {
        let case = r.cases.iter().find(|c| c.id == step.case_id).expect("every step is a recorded case");
        assert_ne!(case.role, CaseRole::Matrix);
        assert_eq!(step.met_slo, Some(l.slo.unwrap().met_by(case)));
    }
    let at = |rps: f64| l.steps.iter().find(|s| s.offered_rps == rps).expect("capacity names a measured step");
    match l.capacity {
        Capacity::Found { rps, next_rps } => {
            assert_eq!(at(rps).met_slo, Some(true));
            assert_eq!(at(next_rps).met_slo, Some(false));
            assert!(l.steps.iter().filter(|s| s.offered_rps < rps).all(|s| s.met_slo == Some(true)));
        }
        Capacity::AtLeast { rps } => {
            assert!(l.steps.iter().all(|s| s.met_slo == Some(true)) && at(rps).met_slo.is_some())
        }
        Capacity::Below { rps } => assert_eq!(at(rps).met_slo, Some(false)),
        Capacity::NoSlo => panic!("the smoke ladder has an SLO"),
    }
}

fn processes_mentioning(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(needle))
        .count()
}

#[test]
fn interrupted_run_keeps_finished_cases_and_stops_its_children() {
    let tmp = out_dir("interrupt");
    let out = tmp.path();
    // No store URLs: the run starts its own throwaway PostgreSQL and Redis, which must not outlive it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["run", "--profile", "smoke", "--duration", "4s", "--out"])
        .arg(out)
        .env_remove("AUTHBENCH_POSTGRES_URL")
        .env_remove("AUTHBENCH_REDIS_URL")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let cases = std::fs::read_to_string(out.join("results.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .map_or(0, |r| r["cases"].as_array().map_or(0, Vec::len));
        if cases >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no case finished within 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let namespace = format!("ab{}_", child.id());
    assert!(processes_mentioning(&namespace) > 0, "a target should be running mid-run");
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "an interrupted run exits cleanly");
    let r = read(out);
    assert_eq!(r["status"], "interrupted");
    assert!(!r["cases"].as_array().unwrap().is_empty(), "finished cases are kept");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(processes_mentioning(&namespace), 0, "target processes left running");
    let pid = child.id();
    assert_eq!(processes_mentioning(&format!("authbench-postgres-{pid}-")), 0, "throwaway PostgreSQL left running");
    assert_eq!(processes_in(&format!("authbench-redis-{pid}-")), 0, "throwaway Redis left running");
}

/// Processes whose working directory contains `needle` (redis-server chdirs into its --dir).
fn processes_in(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path().join("cwd")).ok())
        .filter(|p| p.to_string_lossy().contains(needle))
        .count()
}

#[test]
fn unreachable_store_skips_its_cases_and_runs_the_rest() {
    let tmp = out_dir("nostore");
    let out = tmp.path();
    let port = authbench_targets::throwaway::free_port().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["run", "--profile", "smoke", "--stores", "redis,none", "--warmup", "0s", "--duration", "1s", "--out"])
        .arg(out)
        .args(["--redis-url", &format!("redis://127.0.0.1:{port}")])
        .status()
        .unwrap();
    assert!(status.success(), "a missing store is not a failed run");
    let r = read(out);
    assert_eq!(r["status"], "complete");
    let ran: Vec<&str> = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"]["kind"] == "matrix")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["jwt-HS256/browse-closed-8u"]);
    let typed = authbench_harness::model::results::read(out).expect("results.json reads back into the model");
    let jwt = TargetSpec::jwt(Alg::Hs256);
    assert!(
        typed.cases.iter().all(|c| c.target.spec == jwt),
        "only the configuration without a store ran, its ladder included"
    );
    let skipped = r["skipped"].as_array().unwrap();
    for id in ["session-redis/browse-closed-8u", "hybrid-redis-HS256/browse-closed-8u", "session-redis/probe"] {
        let s =
            skipped.iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("{id} not marked skipped: {skipped:?}"));
        assert!(s["reason"].as_str().unwrap().contains("Redis not reachable"), "{s}");
    }
}
