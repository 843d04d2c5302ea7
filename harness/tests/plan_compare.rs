//! Plan arithmetic against hand-computed values; compare's verdict flips at the threshold; the ADR
//! follows the priorities; a figure a run did not measure is "not measured", never 0.

mod fixture;

use authbench_harness::cli::Cli;
use authbench_harness::model::ladder::Slo;
use authbench_harness::report::adr::{self, Criterion, Priorities};
use authbench_harness::report::compare::{self, Figure, Separation};
use authbench_harness::report::plan::{self, AppCpu, Bound, SessionStorage};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use clap::Parser;
use fixture::{fixture, repeated, resummarize, with_ladder};

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
    let input = plan::PlanInput {
        rps: 10_000.0,
        active_sessions: 50_000,
        utilization: 0.5,
        egress_usd_per_gb: 0.1,
        store_rtt: None,
    };
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
    // Without a ladder in the run, the saturated figure is used and not called a bound.
    assert_eq!(s.app_cpu, AppCpu::Saturated { us: 26.0, bound: Bound::Unknown, ladder_range: None });
    let text = plan::render(&r, &input);
    assert!(text.contains("app cores = rps × target CPU µs/request"), "formulas shown");
    assert!(
        text.contains("- session-redis: target CPU 26.0 µs/req at saturation (closed loop), no ladder measured"),
        "{text}"
    );
    assert!(!text.contains("lower bound:") && !text.contains("| ≥"), "{text}");
}

fn laddered() -> authbench_harness::model::results::Results {
    let mut r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
    ]);
    with_ladder(&mut r, "session-redis", Some("p99<=10ms".parse::<Slo>().unwrap()));
    r
}

#[test]
fn plan_reads_target_cpu_off_the_curve_at_the_planned_utilization() {
    let r = laddered();
    let input = plan::PlanInput {
        rps: 10_000.0,
        active_sessions: 1,
        utilization: 0.6,
        egress_usd_per_gb: 0.1,
        store_rtt: None,
    };
    let lines = plan::compute(&r, &input);
    let s = lines.iter().find(|l| l.target == "session-redis").unwrap();
    // Fixture curve 26 µs × (1 + 0.8 (1 − u)), read between its 50 % and 75 % steps: 26 × 1.32 at 60 %.
    let AppCpu::Curve(p) = s.app_cpu else { panic!("{:?}", s.app_cpu) };
    assert_eq!(p.between, (0.5, 0.75));
    assert!((p.target_us - 34.32).abs() < 1e-9, "{p:?}");
    // 10,000 req/s × 34.32 µs ÷ (1e6 × 0.6) = 0.572 cores.
    assert!((s.app_cores - 0.572).abs() < 1e-9, "{}", s.app_cores);
    // jwt climbed no ladder: its saturated 23 µs, a lower bound since every step of the ladder cost more.
    let j = lines.iter().find(|l| l.target == "jwt-HS256").unwrap();
    assert_eq!(j.app_cpu, AppCpu::Saturated { us: 23.0, bound: Bound::LowerBound { ladders: 1 }, ladder_range: None });
    let text = plan::render(&r, &input);
    for line in [
        "- session-redis: target CPU 34.3 µs/req read at 60 % of saturation, between measured 50 % and 75 %",
        "- jwt-HS256: target CPU 23.0 µs/req at saturation (closed loop), saturated lower bound: CPU per request at \
         lower utilization was higher in every ladder measured (1)",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let row = text.lines().find(|l| l.starts_with("| jwt-HS256 |")).unwrap();
    assert!(row.starts_with("| jwt-HS256 | ≥ 0.38 | 23.0 |"), "{row}");
    let row = text.lines().find(|l| l.starts_with("| session-redis |")).unwrap();
    assert!(row.starts_with("| session-redis | 0.57 | 34.3 |"), "{row}");
}

#[test]
fn the_saturated_figure_is_called_a_bound_only_when_every_ladder_says_so() {
    let mut r = laddered();
    // One step below saturation cheaper than saturation: the saturated figure bounds nothing.
    r.ladders[0].steps[0].cpu_us_per_request.target = 10.0;
    let input = plan::PlanInput {
        rps: 10_000.0,
        active_sessions: 1,
        utilization: 0.6,
        egress_usd_per_gb: 0.1,
        store_rtt: None,
    };
    let j = plan::compute(&r, &input).into_iter().find(|l| l.target == "jwt-HS256").unwrap();
    assert!(matches!(j.app_cpu, AppCpu::Saturated { bound: Bound::NotABound, .. }), "{:?}", j.app_cpu);
    let text = plan::render(&r, &input);
    assert!(!text.contains("lower bound:") && !text.contains("| ≥"), "{text}");
    // Outside the ladder's measured range the configuration falls back and says what was measured.
    let input = plan::PlanInput { utilization: 0.95, ..input };
    let s = plan::compute(&laddered(), &input).into_iter().find(|l| l.target == "session-redis").unwrap();
    let AppCpu::Saturated { us, ladder_range, .. } = s.app_cpu else { panic!("{:?}", s.app_cpu) };
    assert_eq!((us, ladder_range), (26.0, Some((0.1, 0.9))));
    assert!(s.app_cpu.to_string().ends_with("; its ladder measured 10 % to 90 % only"), "{}", s.app_cpu);
}

#[test]
fn compare_flips_at_the_threshold() {
    let before = fixture(vec![TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)]);
    let mut after = before.clone();
    after.run_id = "after".into();
    // 8 % slower: under a 10 % threshold nothing is reported, over a 5 % one it is a regression.
    after.cases[0].cpu_us_per_request.target *= 1.08;
    resummarize(&mut after);
    assert!(!compare::render(&before, &after, 0.10).1);
    let (text, worse) = compare::render(&before, &after, 0.05);
    assert!(worse, "{text}");
    // One repetition a side: no interval, the threshold alone decides, and the row says so.
    let row = text.lines().find(|l| l.contains("| cpu_target_us_per_request |")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.ends_with("| no interval | worse |"), "{row}");
    // Faster is reported but is not a regression.
    let mut faster = before.clone();
    faster.cases[0].cpu_us_per_request.target *= 0.5;
    resummarize(&mut faster);
    let (_, worse) = compare::render(&before, &faster, 0.05);
    assert!(!worse);
    assert!(compare::changes(&before, &faster, 0.05)
        .iter()
        .any(|c| c.figure == Figure::CpuTargetUsPerRequest && !c.worse && !c.regression()));
}

/// Session-redis three times, its throughput spread by `spread` either side of the middle one.
fn three(run_id: &str, throughput: f64, spread: f64) -> authbench_harness::model::results::Results {
    let t = TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256);
    let mut r = repeated(vec![t], &[1.0 - spread, 1.0, 1.0 + spread]);
    r.run_id = run_id.into();
    for c in &mut r.cases {
        c.throughput_rps *= throughput;
    }
    resummarize(&mut r);
    r
}

#[test]
fn a_change_past_the_threshold_is_a_regression_only_when_the_intervals_are_disjoint() {
    // 20 % less throughput, far past a 5 % threshold in every case below.
    let base = three("base", 1.0, 0.01);
    let tight = three("tight", 0.8, 0.01);
    let noisy = three("noisy", 0.8, 0.15);
    let throughput = |a, b| {
        compare::changes(a, b, 0.05)
            .into_iter()
            .find(|c| c.figure == Figure::ThroughputRps && c.case.contains("closed"))
    };
    let c = throughput(&base, &tight).unwrap();
    assert_eq!((c.separation, c.worse, c.regression()), (Separation::Disjoint, true, true), "{c:?}");
    assert!(compare::render(&base, &tight, 0.05).1);
    // Noisy repetitions: the intervals overlap, so the same median change is not called a regression.
    let c = throughput(&base, &noisy).unwrap();
    let (b, a) = (c.before.interval.unwrap(), c.after.interval.unwrap());
    assert!(!b.disjoint(&a), "{b:?} {a:?}");
    assert_eq!((c.separation, c.worse, c.regression()), (Separation::Overlapping, true, false));
    let (text, worse) = compare::render(&base, &noisy, 0.05);
    assert!(!worse, "{text}");
    let row = text.lines().find(|l| l.contains("closed-16u | throughput_rps |")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.ends_with("| overlap | within noise |") && row.contains("(n = 3)"), "{row}");
    // Under the threshold nothing is listed, however disjoint the intervals.
    assert!(compare::changes(&base, &tight, 0.25).is_empty());
}

#[test]
fn a_throughput_drop_while_the_load_generator_was_the_limit_is_never_a_regression() {
    let base = three("base", 1.0, 0.01);
    let mut bound = three("bound", 0.8, 0.01);
    for c in &mut bound.cases {
        let s = c.shares.as_mut().expect("the fixture records shares");
        (s.loadgen, s.target) = (1.1, 0.7);
    }
    resummarize(&mut bound);
    let c = compare::changes(&base, &bound, 0.05)
        .into_iter()
        .find(|c| c.figure == Figure::ThroughputRps && c.case.contains("closed"))
        .unwrap();
    assert_eq!((c.separation, c.worse, c.generator_bound, c.regression()), (Separation::Disjoint, true, true, false));
    let (text, worse) = compare::render(&base, &bound, 0.05);
    assert!(!worse && text.contains("load generator's limit"), "{text}");
}

#[test]
fn one_repetition_on_either_side_falls_back_to_the_threshold() {
    let base = three("base", 1.0, 0.15);
    let mut single = fixture(vec![TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)]);
    single.run_id = "single".into();
    for c in &mut single.cases {
        c.throughput_rps *= 0.8;
    }
    resummarize(&mut single);
    // The ids differ ("/r2" against none): runs pair by configuration and load, not by case id.
    for (a, b) in [(&base, &single), (&single, &base)] {
        let c = compare::changes(a, b, 0.05);
        let t = c.iter().find(|c| c.figure == Figure::ThroughputRps && c.case.contains("closed")).unwrap();
        assert_eq!(t.separation, Separation::NoInterval, "{t:?}");
    }
    let (text, worse) = compare::render(&base, &single, 0.05);
    assert!(worse, "20 % worse with no interval to say otherwise:\n{text}");
    assert!(text.contains("| no interval | worse |"), "{text}");
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
    resummarize(&mut new);
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
    let input =
        plan::PlanInput { rps: 1000.0, active_sessions: 10, utilization: 0.5, egress_usd_per_gb: 0.1, store_rtt: None };
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
fn a_configuration_in_one_run_only_is_listed_not_compared() {
    let before = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
    ]);
    let mut after = fixture(vec![TargetSpec::jwt(Alg::Hs256)]);
    after.run_id = "after".into();
    assert!(compare::changes(&before, &after, 0.05).is_empty(), "nothing is compared against a missing summary");
    let (text, worse) = compare::render(&before, &after, 0.05);
    assert!(!worse, "a configuration that was not measured is no regression:\n{text}");
    let only = text.lines().find(|l| l.starts_with("Only in fixture")).unwrap_or_else(|| panic!("{text}"));
    assert!(only.contains("session-redis/browse-closed-16u") && !only.contains("jwt-HS256"), "{only}");
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

#[test]
fn plan_sizes_postgres_pools_from_the_round_trip_and_the_measured_service_time() {
    // Fixture store-backed cases: 1 store op per request at a mean 40 µs, measured at RTT 0.
    let r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Postgres, Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
    ]);
    let rtt = std::time::Duration::from_millis(1);
    let input = plan::PlanInput {
        rps: 10_000.0,
        active_sessions: 1,
        utilization: 0.5,
        egress_usd_per_gb: 0.1,
        store_rtt: Some(rtt),
    };
    let lines = plan::compute(&r, &input);
    let pg = lines.iter().find(|l| l.target == "session-postgres").unwrap();
    // 10,000 ops/s × (1,000 + 40) µs = 10.4 connections busy; at 50 % utilisation, 20.8.
    let plan::PoolPlan::Connections { connections, rtt: used, rtt_given, .. } = &pg.pool else {
        panic!("{:?}", pg.pool)
    };
    assert!((connections - 20.8).abs() < 1e-9, "{connections}");
    assert_eq!((*used, *rtt_given), (rtt, true));
    let redis = lines.iter().find(|l| l.target == "session-redis").unwrap();
    assert_eq!(redis.pool, plan::PoolPlan::Pipelined, "fred pipelines: no per-connection ceiling");
    let jwt = lines.iter().find(|l| l.target == "jwt-HS256").unwrap();
    assert_eq!(jwt.pool, plan::PoolPlan::NoPool);
    let text = plan::render(&r, &input);
    assert!(text.contains("| 21 |"), "whole connections, rounded up: {text}");
    assert!(text.contains("20.8 connections = 10000 store ops/s × (1000 µs RTT (--store-rtt) + 40 µs"), "{text}");
    // Without --store-rtt, each configuration's own round trip: 0 in this run.
    let own = plan::compute(&r, &plan::PlanInput { store_rtt: None, ..input });
    let pg = own.iter().find(|l| l.target == "session-postgres").unwrap();
    let plan::PoolPlan::Connections { connections, .. } = &pg.pool else { panic!("{:?}", pg.pool) };
    assert!((connections - 0.8).abs() < 1e-9, "{connections}");
}
