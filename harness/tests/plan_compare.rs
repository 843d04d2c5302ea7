//! Plan arithmetic against hand-computed values; compare's verdict flips at the threshold; the ADR
//! follows the priorities; a figure a run did not measure is "not measured", never 0.

mod fixture;

use authbench_harness::cli::Cli;
use authbench_harness::report::adr::{self, Criterion, Priorities};
use authbench_harness::report::compare::{self, Figure};
use authbench_harness::report::plan::{self, SessionStorage};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use clap::Parser;
use fixture::fixture;

fn priorities(text: &str) -> Priorities {
    text.parse().unwrap()
}

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
    let SessionStorage::Bytes(bytes) = s.session_storage else { panic!("{:?}", s.session_storage) };
    assert!((bytes - 10_000_000.0).abs() < 1e-6);
    // 10,000 x 150 bytes x 2,592,000 s = 3,888 GB; at $0.10: $388.80.
    assert!((s.egress_gb_month - 3888.0).abs() < 1e-6, "{}", s.egress_gb_month);
    assert!((s.egress_usd_month - 388.8).abs() < 1e-6);
    assert!((s.ingress_gb_month - 10_000.0 * 177.0 * 2_592_000.0 / 1e9).abs() < 1e-6);
    let j = lines.iter().find(|l| l.target == "jwt-HS256").unwrap();
    assert_eq!(j.store_ops_s, 0.0);
    assert_eq!(j.session_storage, SessionStorage::Nothing, "jwt stores no sessions");
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
        .any(|c| c.figure == Figure::CpuTargetUsPerRequest && !c.worse));
}

#[test]
fn adr_follows_the_priorities() {
    let r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
        TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Redis, Alg::Hs256),
    ]);
    let pick = |p: &str| adr::rank(&r, &priorities(p)).unwrap()[0].target.clone();
    assert_eq!(pick("revocation=high"), "session-redis", "only the session revokes at once in this fixture");
    assert_eq!(pick("simplicity=high,revocation=low"), "jwt-HS256", "jwt needs no store");
    let text = adr::render(&r, &priorities("revocation=high,cpu=medium"), "Auth").unwrap();
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

#[test]
fn plan_says_not_measured_instead_of_zero() {
    let deny = fixture::target(StrategyKind::Jwt, None, Some(StoreKind::Redis), Alg::Hs256);
    let mut r = fixture(vec![TargetSpec::jwt(Alg::Hs256), deny]);
    // The denylist's store runs elsewhere: its CPU is not visible.
    r.cases[2].cpu_us_per_request.store = None;
    let input = plan::PlanInput { rps: 1000.0, active_sessions: 10, utilization: 0.5, egress_usd_per_gb: 0.1 };
    let lines = plan::compute(&r, &input);
    let d = lines.iter().find(|l| l.target == "jwt-denylist-redis-HS256").unwrap();
    assert_eq!(d.store_cores, None);
    assert_eq!(d.session_storage, SessionStorage::NotMeasured, "a denylist stores records the probe does not size");
    let text = plan::render(&r, &input);
    let row = text.lines().find(|l| l.starts_with("| jwt-denylist-redis-HS256 |")).unwrap();
    assert!(row.contains("| unknown (external store) |") && row.contains("| not measured |"), "{row}");
    let row = text.lines().find(|l| l.starts_with("| jwt-HS256 |")).unwrap();
    assert!(row.contains("| none |"), "{row}");
}

#[test]
fn a_figure_measured_on_one_side_only_is_not_measured_not_compared() {
    let before = fixture(vec![TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)]);
    let mut after = before.clone();
    after.run_id = "after".into();
    after.cases[0].req_per_core_s = None;
    assert!(compare::changes(&before, &after, 0.05).is_empty(), "nothing is compared against a missing figure");
    let missing = compare::not_measured(&before, &after);
    assert_eq!(missing.len(), 1);
    assert_eq!((missing[0].figure, missing[0].after), (Figure::ReqPerCoreS, None));
    let (text, worse) = compare::render(&before, &after, 0.05);
    assert!(!worse, "a figure that was not measured is no regression:\n{text}");
    let row = text.lines().find(|l| l.contains("| req_per_core_s |")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.ends_with("| not measured |"), "{row}");
    // The other way round too.
    let (text, _) = compare::render(&after, &before, 0.05);
    let row = text.lines().find(|l| l.contains("| req_per_core_s |")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("| not measured | "), "{row}");
    assert!(Figure::ALL.iter().all(|f| !f.name().is_empty() && !f.unit().is_empty()));
}

#[test]
fn adr_leaves_an_unmeasured_figure_out_instead_of_scoring_it_as_zero() {
    let deny = fixture::target(StrategyKind::Jwt, None, Some(StoreKind::Redis), Alg::Hs256);
    let mut r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
        deny,
    ]);
    // session-redis on an external Redis: target CPU 26 µs known, the store's share not.
    r.cases[2].cpu_us_per_request.store = None;
    let ranked = adr::rank(&r, &priorities("cpu=high,revocation=high")).unwrap();
    let s = ranked.iter().find(|o| o.target == "session-redis").unwrap();
    assert_eq!(s.cpu_us, None);
    assert_eq!(s.figure(Criterion::Cpu), None);
    // Revocation is its only measured driver (best of the run: 1.0 x 3), scaled to the full weight 6.
    assert_eq!(s.score, Some(6.0));
    // Weighing only what it lacks leaves it unscored, after every scored option.
    let ranked = adr::rank(&r, &priorities("cpu=high")).unwrap();
    assert_eq!(ranked.last().map(|o| (o.target.as_str(), o.score)), Some(("session-redis", None)));
    assert_eq!(ranked[0].target, "jwt-HS256", "cheapest measured CPU");
    let text = adr::render(&r, &priorities("cpu=high,revocation=high"), "Auth").unwrap();
    let row = text.lines().find(|l| l.starts_with("| session-redis |")).unwrap();
    assert!(row.contains("not measured (external store; target alone 26.0)"), "{row}");
    assert!(text.contains("The cpu figure was not measured for session-redis") && text.contains("never counted as 0"));
    // With every store measured, no such note.
    let full = fixture(vec![TargetSpec::jwt(Alg::Hs256)]);
    let text = adr::render(&full, &priorities("cpu=high"), "Auth").unwrap();
    assert!(!text.contains("not measured") && text.contains("it is the only option in this run"), "{text}");
}

#[test]
fn clap_refuses_unknown_criteria_and_levels_with_the_allowed_list() {
    let parse = |p: &str| Cli::try_parse_from(["authbench", "adr", "--from", "r", "--priority", p]);
    let err = parse("speed=high").err().unwrap().to_string();
    assert!(err.contains("speed"), "{err}");
    for c in Criterion::ALL {
        assert!(err.contains(c.as_str()), "{err}");
    }
    let err = parse("latency=urgent").err().unwrap().to_string();
    assert!(err.contains("urgent") && err.contains("high, medium, low"), "{err}");
    assert!(parse("cpu=high,cpu=low").is_err(), "a criterion given twice is refused");
    assert!(parse("revocation=high,cpu=medium,latency").is_ok());
    assert!(Cli::try_parse_from(["authbench", "adr", "--from", "r"]).is_ok(), "the default priorities parse");
    for bad in [["--rps", "0"], ["--rps", "fast"], ["--utilization", "1.5"], ["--egress-usd-per-gb", "-1"]] {
        let mut args = vec!["authbench", "plan", "--from", "r"];
        if bad[0] != "--rps" {
            args.extend(["--rps", "1000"]);
        }
        args.extend(bad);
        assert!(Cli::try_parse_from(&args).is_err(), "{args:?}");
    }
}

#[test]
fn the_adr_command_refuses_an_unknown_criterion_before_reading_anything() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authbench"))
        .args(["adr", "--from", "/nonexistent", "--priority", "speed=high"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown criterion \"speed\"") && err.contains("revocation, cpu, latency"), "{err}");
}
