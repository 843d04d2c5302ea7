//! Users like real users, on real target processes: the refresh scenario rotates on every step and
//! the target refuses every refresh token a rotation spent; a time-scaled population of users
//! with think time touches hybrid's store as often as the client's policy predicts (within a
//! stated ratio tolerance, over enough store-touching requests); a `[[load]]`'s own targets
//! filter keeps it off the others. Counts and ratios only; timings are never asserted.

use std::path::Path;
use std::process::Command;

use authbench_harness::model::results::{Case, Results};
use authbench_scenarios::ScenarioKind;
use authbench_targets::spec::StrategyKind;

/// Hybrid on the in-process store (nothing to provision) with a 3-minute access TTL, run at ×60:
/// 3 s, with a 3 s think time run as 50 ms, so a short window holds hundreds of refreshes. Long
/// sessions (200 requests) keep argon2 logins rare enough for a debug build.
const MATRIX: &str = r#"
description = "population and refresh rotation under test"
warmup = "1s"
duration = "2s"
probe_cap = "1s"
seed_users = 100
probe_users = 1

[[target]]
strategy = "hybrid"
store = "memory"
alg = "HS256"
access_ttl = "3m"

[[target]]
strategy = "jwt"
alg = "HS256"

[[load]]
scenario = "refresh"
model = "closed"
users = 4
targets = ["hybrid-memory-HS256-access3m"]

[[load]]
scenario = "population"
model = "closed"
users = 40
think_time = "3s"
session_requests = 200
time_scale = 60.0
warmup = "6s"
duration = "10s"
"#;

/// The measured share may differ from the analytic one by this ratio either way: the window is
/// short, and the population starts from every user freshly logged in.
const TOLERANCE: f64 = 0.3;
/// Fewer store-touching requests than this would make the ratio noise, not a check.
const ENOUGH: f64 = 100.0;

fn run(dir: &Path) -> Results {
    let file = dir.join("matrix.toml");
    std::fs::write(&file, MATRIX).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["run", "--matrix"])
        .arg(&file)
        .arg("--out")
        .arg(dir.join("out"))
        .status()
        .unwrap();
    assert!(status.success());
    authbench_harness::model::results::read(&dir.join("out")).unwrap()
}

fn case<'a>(r: &'a Results, id: &str) -> &'a Case {
    r.cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("{id} missing; skipped: {:?}", r.skipped))
}

#[test]
fn refresh_rotates_and_a_scaled_population_touches_the_store_as_predicted() {
    let tmp = tempfile::Builder::new().prefix("authbench-population-").tempdir().unwrap();
    let r = run(tmp.path());
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    let jwt_refresh =
        |c: &&Case| c.target.spec.strategy == StrategyKind::Jwt && c.load.scenario == ScenarioKind::Refresh;
    assert!(!r.cases.iter().any(|c| jwt_refresh(&c)), "the load's targets keep it off jwt");

    let rotation = case(&r, "hybrid-memory-HS256-access3m/refresh-closed-4u");
    let t = rotation.store_touch.as_ref().expect("a hybrid case counts its store-touching requests");
    assert!(t.refreshes > 0.0 && rotation.error_count() == 0, "{t:?} {:?}", rotation.errors);
    assert!((t.refresh_share - 0.5).abs() < 0.05, "a refresh, then one request: {t:?}");
    let replay = t.replay.expect("each user replays its last spent refresh token");
    assert_eq!((replay.presented, replay.refused), (4, 4), "rotation kills the spent token: {replay:?}");

    let p = case(&r, "hybrid-memory-HS256-access3m/population-closed-40u-think3s-200req-x60");
    let record = p.population.as_ref().expect("a population case records its scaling");
    let note = record.scaling.note().unwrap_or_default();
    assert_eq!(note, "time-scaled ×60: access TTL 3m → 3s, think time 3s → 50ms");
    assert_eq!(p.target.spec.ttls.access.secs(), 180, "the configuration is recorded unscaled");
    let analytic = record.analytic.expect("hybrid has an analytic share");
    let measured = p.store_touch.as_ref().expect("hybrid counts its store");
    let touching = measured.logins + measured.refreshes + measured.logouts;
    assert!(touching >= ENOUGH && measured.refreshes > 0.0, "too few to compare: {measured:?}");
    for (what, got, want) in [
        ("store-touching", measured.store_share, analytic.store_share),
        ("refresh", measured.refresh_share, analytic.refresh_share),
    ] {
        let ratio = got / want;
        assert!((ratio - 1.0).abs() <= TOLERANCE, "{what} share {got:.4} vs analytic {want:.4} (×{ratio:.2})");
    }
    assert!(p.error_count() == 0 && p.latency_us.p50 <= p.latency_us.p99, "{:?}", p.errors);

    let jwt = case(&r, "jwt-HS256/population-closed-40u-think3s-200req-x60");
    assert!(jwt.store_touch.is_none() && jwt.requests > 0 && jwt.error_count() == 0, "{:?}", jwt.errors);
    let j = jwt.population.as_ref().unwrap();
    assert!(j.analytic.is_none() && j.scaling.access_ttl.is_none(), "jwt has no access TTL to scale: {j:?}");
}
