//! Plan arithmetic against hand-computed values; compare's verdict flips at the threshold; the ADR
//! follows the priorities.

mod fixture;

use authbench_harness::report::{adr, compare, plan};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use fixture::fixture;

#[test]
fn plan_arithmetic_matches_hand_computation() {
    // Fixture session-redis closed case (second target, k = 2): target CPU 26 µs, store CPU 8 µs,
    // 1 store op, 177 bytes received and 150 sent per request.
    let r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
    ]);
    let input = plan::PlanInput { rps: 10_000.0, active_sessions: 50_000, utilization: 0.5, egress_usd_per_gb: 0.1 };
    let lines = plan::compute(&r, &input);
    assert_eq!(lines.len(), 2);
    let s = lines.iter().find(|l| l.target == "session-redis").unwrap();
    // 10,000 req/s x 26 µs = 0.26 core-seconds per second; at 50 % utilisation: 0.52 cores.
    assert!((s.app_cores - 0.52).abs() < 1e-9, "{}", s.app_cores);
    // 10,000 x 8 µs / 0.5e6 = 0.16 cores.
    assert!((s.store_cores.unwrap() - 0.16).abs() < 1e-9);
    assert!((s.store_ops_s - 10_000.0).abs() < 1e-9);
    // 50,000 sessions x 200 bytes = 10 MB.
    assert!((s.session_memory_bytes.unwrap() - 10_000_000.0).abs() < 1e-6);
    // 10,000 x 150 bytes x 2,592,000 s = 3,888 GB; at $0.10: $388.80.
    assert!((s.egress_gb_month - 3888.0).abs() < 1e-6, "{}", s.egress_gb_month);
    assert!((s.egress_usd_month - 388.8).abs() < 1e-6);
    assert!((s.ingress_gb_month - 10_000.0 * 177.0 * 2_592_000.0 / 1e9).abs() < 1e-6);
    let j = lines.iter().find(|l| l.target == "jwt-HS256").unwrap();
    assert_eq!(j.store_ops_s, 0.0);
    assert!(j.session_memory_bytes.is_none(), "jwt stores no sessions");
    let text = plan::render(&r, &input);
    assert!(text.contains("app cores = rps × target CPU µs/request"), "formulas shown");
}

#[test]
fn compare_flips_at_the_threshold() {
    let before = fixture(vec![TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)]);
    let mut after = before.clone();
    after.run_id = "after".into();
    // 8 % slower: under a 10 % threshold nothing is reported, over a 5 % one it is a regression.
    after.cases[0].cpu_us_per_request.target *= 1.08;
    assert!(!compare::render(&before, &after, 0.10).1);
    let (text, worse) = compare::render(&before, &after, 0.05);
    assert!(worse, "{text}");
    assert!(text.contains("cpu_target_us_per_request"));
    // Faster is reported but is not a regression.
    let mut faster = before.clone();
    faster.cases[0].cpu_us_per_request.target *= 0.5;
    let (_, worse) = compare::render(&before, &faster, 0.05);
    assert!(!worse);
    assert!(compare::changes(&before, &faster, 0.05)
        .iter()
        .any(|c| c.metric == "cpu_target_us_per_request" && !c.worse));
}

#[test]
fn adr_follows_the_priorities() {
    let r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
        TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Redis, Alg::Hs256),
    ]);
    let pick = |p: &str| adr::rank(&r, &adr::parse_priorities(p).unwrap()).unwrap()[0].target.clone();
    assert_eq!(pick("revocation=high"), "session-redis", "only the session revokes at once in this fixture");
    assert_eq!(pick("simplicity=high,revocation=low"), "jwt-HS256", "jwt needs no store");
    assert!(adr::parse_priorities("speed=high").is_err(), "unknown drivers are refused");
    assert!(adr::parse_priorities("latency=urgent").is_err(), "unknown levels are refused");
    let text = adr::render(&r, &adr::parse_priorities("revocation=high,cpu=medium").unwrap(), "Auth").unwrap();
    for section in [
        "## Context and Problem Statement",
        "## Decision Drivers",
        "## Considered Options",
        "## Decision Outcome",
        "### Consequences",
    ] {
        assert!(text.contains(section), "{section}");
    }
}

#[test]
fn compare_exit_code_flips_at_the_threshold() {
    let base = fixture(vec![TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)]);
    let mut new = base.clone();
    new.run_id = "new".into();
    new.cases[0].latency_us.p99 = (new.cases[0].latency_us.p99 as f64 * 1.08) as u64;
    let dir = std::env::temp_dir().join(format!("authbench-compare-{}", std::process::id()));
    for (name, r) in [("base", &base), ("new", &new)] {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        authbench_harness::model::results::write(r, &dir.join(name)).unwrap();
    }
    let code = |threshold: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_authbench"))
            .args(["compare"])
            .arg(dir.join("base"))
            .arg(dir.join("new"))
            .args(["--threshold", threshold])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code("10%"), Some(0), "8 % worse is within a 10 % threshold");
    assert_eq!(code("5%"), Some(3), "8 % worse crosses a 5 % threshold");
    assert_eq!(code("0.05"), Some(3));
    std::fs::remove_dir_all(&dir).unwrap();
}
