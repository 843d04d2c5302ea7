//! Claims from files and their verdicts on fixture results: a team's file loads through
//! `from_file`, mistakes are refused when it is loaded, cases are found by spec and a figure the
//! run lacks makes a claim "not measured", never a verdict computed from zero.

mod fixture;

use authbench_harness::model::probe::Reply;
use authbench_harness::model::results::{Case, Results, Shares};
use authbench_harness::report::claims::{builtin, from_file, judge, Verdict, VerdictKind};
use authbench_harness::report::findings::Economics;
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec, Transport};
use authbench_targets::token::alg::Alg;
use fixture::{fixture, repeated, resummarize, shares, twenty, with_ladder};

fn write(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

fn verdict<'a>(v: &'a [Verdict], id: &str) -> &'a Verdict {
    v.iter().find(|x| x.id == id).unwrap_or_else(|| panic!("claim {id} missing from {v:?}"))
}

/// The builtin verdicts of `r` after `change` is applied to the closed browse case of `target`.
fn judged_after(mut r: Results, target: &str, change: impl FnOnce(&mut Case)) -> Vec<Verdict> {
    let case = r.cases.iter_mut().find(|c| c.target.id == target && c.is_closed_browse());
    change(case.unwrap_or_else(|| panic!("no closed browse case of {target}")));
    judge(&builtin().unwrap(), &r, &Economics::default())
}

const TEAM: &str = r#"
[[claim]]
id = "our-redis-budget"
claim = "A Redis session lookup costs ~500 µs"
source = "Platform team SLO"
metric = "mean Redis session_get latency seen by the target"
rule = "redis_lookup_us"
claimed_us = 500.0
states = "latency"
condition = "unstated"

[[claim]]
id = "fast-jwt"
claim = "JWT serves 40,000 req/s per core"
source = "Platform team"
metric = "jwt HS256 requests per second per core of target CPU"
rule = "jwt_req_per_core"
claimed_rps = 40000
states = "throughput"
condition = "unstated"
"#;

#[test]
fn a_team_file_is_judged_in_file_order() {
    let f = write(TEAM);
    let v = judge(&from_file(f.path()).unwrap(), &fixture(twenty()), &Economics::default());
    assert_eq!(v.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), ["our-redis-budget", "fast-jwt"]);
    // 40 µs against 500: under half of it.
    assert_eq!(v[0].verdict, VerdictKind::Refuted, "{:?}", v[0]);
    let b = &v[0].because;
    let redis = TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256);
    let case = closed_browse_case(&redis);
    assert!(
        b.starts_with(&format!("{case} (store RTT 0): 40 µs (one window, no interval) (band 20 µs to 80 µs)")),
        "{b}"
    );
    assert!(b.contains("rule (tolerance 2×)") && b.contains("a lookup of 0.5 ms needs a network hop"), "{b}");
    // 1e6 / 23 µs = 43,478 req/s per core against 40,000: the same order.
    assert_eq!(v[1].verdict, VerdictKind::Supported, "{:?}", v[1]);
    assert_eq!(v[1].measured, "jwt-HS256, browse-closed-16u: 43478 req/s (one window, no interval)");
    assert!(v[1].because.contains("40000 req/s were measured with the load generator"), "{}", v[1].because);
}

#[test]
fn a_misspelled_rule_is_refused_when_the_file_is_loaded() {
    let f = write(&TEAM.replace("rule = \"jwt_req_per_core\"", "rule = \"jwt_req_per_cpu\""));
    let e = from_file(f.path()).unwrap_err().to_string();
    assert!(e.contains(&f.path().display().to_string()), "{e}");
    assert!(e.contains("line 17, column 8") && e.contains("unknown variant `jwt_req_per_cpu`"), "{e}");
}

#[test]
fn an_old_value_field_is_refused_naming_the_threshold_fields() {
    let f = write(&TEAM.replace("claimed_us = 500.0", "value = 500.0"));
    let e = from_file(f.path()).unwrap_err().to_string();
    assert!(e.contains("line 8, column 1") && e.contains("unknown field `value`"), "{e}");
    assert!(e.contains("`claimed_us`, `claimed_rps`, `claimed_share`"), "{e}");
}

#[test]
fn a_missing_threshold_is_refused_when_the_file_is_loaded() {
    let f = write(&TEAM.replace("claimed_rps = 40000\n", ""));
    let e = from_file(f.path()).unwrap_err().to_string();
    assert!(e.contains("line 17, column 8") && e.contains("rule `jwt_req_per_core` needs `claimed_rps`"), "{e}");
}

#[test]
fn unknown_req_per_core_is_not_measured_not_zero() {
    // From 0 req/s per core the old rule said "supported: capacity is near the claimed ceiling".
    let v = judged_after(fixture(twenty()), "session-postgres", |c| c.req_per_core_s = None);
    let s = verdict(&v, "sessions-below-10rps");
    assert_eq!(s.verdict, VerdictKind::NotMeasured, "{s:?}");
    assert_eq!(s.measured, "—");
    assert!(s.because.starts_with("this run has no req/s per core for session-postgres"), "{}", s.because);
    let v = judged_after(fixture(twenty()), "jwt-HS256", |c| c.req_per_core_s = None);
    let j = verdict(&v, "jwt-throughput");
    assert_eq!(j.verdict, VerdictKind::NotMeasured);
    assert!(j.because.contains("req/s per core for jwt-HS256"), "{}", j.because);
}

#[test]
fn unknown_store_cpu_is_not_measured() {
    let v = judged_after(fixture(twenty()), "session-postgres", |c| c.cpu_us_per_request.store = None);
    for id in ["session-db-bound", "jwt-pays-off-10k"] {
        let x = verdict(&v, id);
        assert_eq!(x.verdict, VerdictKind::NotMeasured, "{x:?}");
        assert!(x.because.contains("store CPU for session-postgres") && x.because.contains("throwaway"), "{x:?}");
    }
    // jwt's store CPU counts too: unknown is not zero.
    let v = judged_after(fixture(twenty()), "jwt-HS256", |c| c.cpu_us_per_request.store = None);
    assert_eq!(verdict(&v, "jwt-pays-off-10k").verdict, VerdictKind::NotMeasured);
}

#[test]
fn unknown_lookup_latency_is_not_measured() {
    let v = judged_after(fixture(twenty()), "session-redis", |c| c.store_op_latency_us = None);
    let x = verdict(&v, "redis-lookup");
    assert_eq!(x.verdict, VerdictKind::NotMeasured);
    assert_eq!(x.because, "this run has no session_get latency for session-redis");
}

#[test]
fn cases_are_found_by_spec_not_by_id() {
    let r = fixture(twenty());
    let before: Vec<VerdictKind> =
        judge(&builtin().unwrap(), &r, &Economics::default()).iter().map(|v| v.verdict).collect();
    // Every configuration renamed the same way wherever results.json names it.
    let mut renamed = r.clone();
    let mut names = std::collections::BTreeMap::new();
    let mut rename = |id: &mut String| {
        let n = names.len();
        *id = names.entry(id.clone()).or_insert_with(|| format!("config-{n}")).clone();
    };
    renamed.cases.iter_mut().for_each(|c| rename(&mut c.target.id));
    renamed.summaries.iter_mut().for_each(|s| rename(&mut s.target.id));
    renamed.probes.iter_mut().for_each(|p| rename(&mut p.target.id));
    assert!(renamed.cases.iter().all(|c| c.target.id.starts_with("config-")));
    let after: Vec<VerdictKind> =
        judge(&builtin().unwrap(), &renamed, &Economics::default()).iter().map(|v| v.verdict).collect();
    assert_eq!(before, after);
}

#[test]
fn a_missing_case_names_it() {
    let r = fixture(vec![TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)]);
    let v = judge(&builtin().unwrap(), &r, &Economics::default());
    for (id, lacks) in [
        ("jwt-latency", "jwt HS256 browse (closed) case"),
        ("session-db-bound", "session-postgres and jwt HS256 browse (closed) cases"),
        ("hybrid-one-percent", "hybrid browse (closed) case"),
        ("jwt-revocation", "security probe of a jwt target"),
        ("denylist-lookup", "jwt + denylist browse (closed) case"),
    ] {
        let x = verdict(&v, id);
        assert_eq!(
            (x.verdict, x.because.as_str()),
            (VerdictKind::NotMeasured, format!("this run has no {lacks}").as_str())
        );
    }
    assert_eq!(verdict(&v, "redis-lookup").verdict, VerdictKind::Refuted);
    assert_eq!(verdict(&v, "sessions-below-10rps").verdict, VerdictKind::Refuted);
}

#[test]
fn verdicts_serialize_as_the_report_words() {
    let v = judge(&builtin().unwrap(), &fixture(vec![TargetSpec::jwt(Alg::Hs256)]), &Economics::default());
    let json = serde_json::to_value(verdict(&v, "redis-lookup")).unwrap();
    assert_eq!(json["verdict"], "not measured");
    let json = serde_json::to_value(verdict(&v, "jwt-revocation")).unwrap();
    assert_eq!(json["verdict"], "supported");
}

/// The builtin verdicts of `r` after `change` is applied to every closed browse case `pick` selects.
fn judged_all(mut r: Results, pick: impl Fn(&Case) -> bool, change: impl Fn(&mut Case)) -> Vec<Verdict> {
    r.cases.iter_mut().filter(|c| c.is_closed_browse() && pick(c)).for_each(change);
    resummarize(&mut r);
    judge(&builtin().unwrap(), &r, &Economics::default())
}

fn is_jwt_hs256(c: &Case) -> bool {
    c.target.spec == TargetSpec::jwt(Alg::Hs256)
}

/// The jwt-latency verdict with the jwt HS256 closed p50 at `p50_us` (its CPU left alone).
/// How a reason names a configuration's closed browse case of the fixture: "<id>, <load id>".
fn closed_browse_case(spec: &TargetSpec) -> String {
    let r = fixture(twenty());
    let c = r.closed_browse().into_iter().find(|c| c.target.spec == *spec).expect("the fixture has the configuration");
    format!("{}, {}", c.target.id, c.load.id())
}

fn latency_verdict(p50_us: u64) -> Verdict {
    let v = judged_all(fixture(twenty()), is_jwt_hs256, |c| c.latency_us.p50 = p50_us);
    verdict(&v, "jwt-latency").clone()
}

#[test]
fn the_latency_claim_is_judged_on_latency_and_changes_with_it() {
    // 970 µs claimed: 900 and 1,200 µs are within 2×, their doubles or tenfolds are not.
    let base = latency_verdict(900);
    assert_eq!(base.verdict, VerdictKind::Supported, "{base:?}");
    assert_eq!(latency_verdict(9000).verdict, VerdictKind::Refuted);
    assert_eq!(latency_verdict(1200).verdict, VerdictKind::Supported);
    let doubled = latency_verdict(2400);
    assert_eq!(doubled.verdict, VerdictKind::Refuted, "{doubled:?}");
    let b = &doubled.because;
    let case = closed_browse_case(&TargetSpec::jwt(Alg::Hs256));
    assert!(b.starts_with(&format!("{case} p50 (closed loop, 16 users): 2400 µs")), "{b}");
    assert!(b.contains("(band 1200 µs to 4800 µs) → refuted") && b.contains("rule (tolerance 2×)"), "{b}");
    // The CPU figure is named, not judged: 23 µs of CPU never made the claim refuted.
    assert!(b.contains("the target's own CPU per request is 23.0 µs"), "{b}");
}

const LATENCY_AT: &str = r#"
[[claim]]
id = "latency-at"
claim = "A JWT-authenticated request takes ~0.97 ms"
source = "test"
metric = "jwt HS256 p50 at an offered rate"
states = "latency"
condition = "unstated"
rule = "jwt_latency_us"
claimed_us = 970.0
at_rps = RATE
"#;

fn latency_at(r: &Results, rate: f64) -> Verdict {
    let f = write(&LATENCY_AT.replace("RATE", &rate.to_string()));
    judge(&from_file(f.path()).unwrap(), r, &Economics::default()).remove(0)
}

#[test]
fn a_latency_claim_at_a_rate_reads_the_ladder_step_at_or_below_it() {
    let mut r = fixture(twenty());
    with_ladder(&mut r, "jwt-HS256", None);
    // Saturation 40,000 req/s: the 90 % step (36,000 req/s) has p50 1,000 µs, the 50 % step 200 µs.
    let high = latency_at(&r, 37_000.0);
    assert_eq!(high.verdict, VerdictKind::Supported, "{high:?}");
    assert!(high.because.contains("ladder step offered 36000 req/s") && high.because.contains("1000 µs"), "{high:?}");
    // The CPU named is the step's own: 23 µs × (1 + 0.8 × 0.1) on the fixture's curve.
    assert!(high.because.contains("own CPU per request is 24.8 µs (one window)"), "{high:?}");
    let mid = latency_at(&r, 21_000.0);
    assert_eq!(mid.verdict, VerdictKind::Refuted, "{mid:?}");
    assert!(
        mid.because.contains("ladder step offered 20000 req/s (achieved 20000): 200 µs (one window, no interval)"),
        "{mid:?}"
    );
    // Below every step: the closed case, saying why.
    let low = latency_at(&r, 100.0);
    assert!(low.because.contains("browse-closed-16u") && low.because.contains("no jwt HS256 ladder step"), "{low:?}");
}

#[test]
fn the_hybrid_share_is_judged_from_the_data() {
    let hybrid = |c: &Case| c.target.spec.strategy == StrategyKind::Hybrid;
    let v = judged_all(fixture(twenty()), hybrid, |c| c.store_ops_per_request = 0.01);
    let at_one = verdict(&v, "hybrid-one-percent");
    assert_eq!(at_one.verdict, VerdictKind::Supported, "{at_one:?}");
    let v = judged_all(fixture(twenty()), hybrid, |c| c.store_ops_per_request = 0.05);
    let at_five = verdict(&v, "hybrid-one-percent");
    assert_eq!(at_five.verdict, VerdictKind::Refuted, "{at_five:?}");
    let b = &at_five.because;
    assert!(b.contains("5.000 %") && b.contains("against the claimed 1.000 %"), "{b}");
    assert!(b.contains("1 / (requests per user per access TTL)") && b.contains("access TTL 15m"), "{b}");
    assert!(b.contains("shorter than one TTL"), "{b}");
}

#[test]
fn a_load_generator_bound_jwt_case_leaves_throughput_claims_not_measured() {
    let before = judge(&builtin().unwrap(), &fixture(twenty()), &Economics::default());
    assert_ne!(verdict(&before, "session-db-bound").verdict, VerdictKind::NotMeasured);
    let v = judged_all(fixture(twenty()), is_jwt_hs256, |c| {
        c.shares = Some(Shares { loadgen: 1.2, target: 0.5, ..shares(23.0, false, 40_000.0) })
    });
    let x = verdict(&v, "session-db-bound");
    assert_eq!(x.verdict, VerdictKind::NotMeasured, "{x:?}");
    assert!(x.because.contains("saturation throughput for jwt-HS256: the load generator was the limit"), "{x:?}");
    // Requests per core come from CPU per request, which does not need the target saturated.
    let j = verdict(&v, "jwt-throughput");
    assert_eq!(j.verdict, verdict(&before, "jwt-throughput").verdict);
    assert!(j.because.contains("holds below saturation"), "{j:?}");
    // The latency verdict says its closed-loop figure includes the generator's queueing.
    assert!(verdict(&v, "jwt-latency").because.contains("The load generator was the limit in 1 of 1 repetitions"));
}

#[test]
fn saving_under_a_core_at_the_claimed_rate_supports_the_claim() {
    let sessions = |c: &Case| c.target.spec.strategy == StrategyKind::Session;
    let before = judge(&builtin().unwrap(), &fixture(twenty()), &Economics::default());
    let x = verdict(&before, "jwt-pays-off-10k");
    // A few tens of µs per request more: well under one core at 10,000 req/s.
    assert_eq!(x.verdict, VerdictKind::Supported, "{x:?}");
    assert!(x.because.contains("extra cores at 10000 req/s") && x.because.contains("at least 5000 req/s"), "{x:?}");
    // 500 µs more per request: five extra cores at 10,000 req/s, break-even at 2,000 req/s.
    let v = judged_all(fixture(twenty()), sessions, |c| c.cpu_us_per_request.target += 500.0);
    let x = verdict(&v, "jwt-pays-off-10k");
    assert_eq!(x.verdict, VerdictKind::Refuted, "{x:?}");
    // Only PostgreSQL's sessions that costly: the verdict depends on the store, naming each.
    let postgres = |c: &Case| sessions(c) && c.target.spec.store == Some(StoreKind::Postgres);
    let v = judged_all(fixture(twenty()), postgres, |c| c.cpu_us_per_request.target += 500.0);
    let x = verdict(&v, "jwt-pays-off-10k");
    assert_eq!(x.verdict, VerdictKind::DependsOn, "{x:?}");
    assert!(x.because.contains("session-postgres vs jwt-HS256") && x.because.contains("→ refuted"), "{x:?}");
    assert!(x.because.contains("session-redis vs jwt-HS256") && x.because.contains("→ supported"), "{x:?}");
}

#[test]
fn every_judged_reason_names_its_rule() {
    for v in judge(&builtin().unwrap(), &fixture(twenty()), &Economics::default()) {
        if v.verdict != VerdictKind::NotMeasured {
            assert!(v.because.contains("rule"), "{v:?}");
        }
    }
}

#[test]
fn a_latency_that_changes_with_the_load_generator_limit_depends_on_it() {
    // Three repetitions at about 900 µs: supported.
    let mut r = repeated(twenty(), &[0.95, 1.0, 1.05]);
    let jwt: Vec<usize> =
        (0..r.cases.len()).filter(|&i| is_jwt_hs256(&r.cases[i]) && r.cases[i].is_closed_browse()).collect();
    for (n, &i) in jwt.iter().enumerate() {
        r.cases[i].latency_us.p50 = 880 + 20 * n as u64;
    }
    let v = judge(&builtin().unwrap(), &r, &Economics::default());
    assert_eq!(verdict(&v, "jwt-latency").verdict, VerdictKind::Supported);
    // Two of them load-generator bound with ten times the latency: the verdict depends on it.
    for &i in &jwt[1..] {
        let c = &mut r.cases[i];
        c.latency_us.p50 *= 10;
        c.shares = Some(Shares { loadgen: 1.2, target: 0.5, ..shares(23.0, false, 40_000.0) });
    }
    resummarize(&mut r);
    let v = judge(&builtin().unwrap(), &r, &Economics::default());
    let x = verdict(&v, "jwt-latency");
    assert_eq!(x.verdict, VerdictKind::DependsOn, "{x:?}");
    assert!(x.because.contains("2 repetitions the load generator limited") && x.because.contains("→ refuted"), "{x:?}");
    assert!(
        x.because.contains("1 repetitions it did not: 880 µs (one window") && x.because.contains("→ supported"),
        "{x:?}"
    );
}

/// The builtin verdicts of `r` with `economics`.
fn priced(r: &Results, economics: &Economics) -> Vec<Verdict> {
    judge(&builtin().unwrap(), r, economics)
}

#[test]
fn a_hybrid_window_claim_follows_the_probed_windows() {
    let mut r = fixture(twenty());
    // The fixture's hybrid targets keep the 15 min access TTL: the bound, 901 s, is over 5 minutes.
    let v = priced(&r, &Economics::default());
    assert_eq!(
        verdict(&v, "access-five-minutes").verdict,
        VerdictKind::Refuted,
        "{:?}",
        verdict(&v, "access-five-minutes")
    );
    let fifteen = verdict(&v, "access-fifteen-refresh-thirty");
    assert_eq!(fifteen.verdict, VerdictKind::Supported, "{fifteen:?}");
    assert!(fifteen.because.contains("the bound: still accepted at the probe's 3 s cap"), "{fifteen:?}");
    // Measured windows of a few seconds support both.
    for p in r.probes.iter_mut().filter(|p| p.target.spec.strategy == StrategyKind::Hybrid) {
        p.revocation.measured_s = Some(5.5);
        p.revocation.still_accepted_at_cap = false;
    }
    let v = priced(&r, &Economics::default());
    assert_eq!(verdict(&v, "access-five-minutes").verdict, VerdictKind::Supported);
    assert!(verdict(&v, "access-five-minutes").because.contains("5.5 s (one window, no interval)"));
}

#[test]
fn hybrid_beats_session_on_redis_only_when_its_cpu_is_clearly_lower() {
    let redis =
        |strategy| move |c: &Case| c.target.spec.strategy == strategy && c.target.spec.store == Some(StoreKind::Redis);
    let v = judged_all(fixture(twenty()), redis(StrategyKind::Hybrid), |c| c.cpu_us_per_request.target = 5.0);
    let x = verdict(&v, "shared-redis-hybrid-wins");
    assert_eq!(x.verdict, VerdictKind::Supported, "{x:?}");
    assert!(x.because.contains("store RTT 0") || x.because.contains("store RTT 0s"), "{x:?}");
    let v = judged_all(fixture(twenty()), redis(StrategyKind::Hybrid), |c| c.cpu_us_per_request.target = 500.0);
    assert_eq!(verdict(&v, "shared-redis-hybrid-wins").verdict, VerdictKind::Refuted);
}

#[test]
fn the_bytes_cost_claim_follows_the_prices() {
    let sessions = |c: &Case| c.target.spec.strategy == StrategyKind::Session || is_jwt_hs256(c);
    // jwt and sessions at the same CPU: jwt saves nothing, so any price on its extra bytes supports it.
    let mut r = fixture(twenty());
    r.cases.iter_mut().filter(|c| c.is_closed_browse() && sessions(c)).for_each(|c| {
        c.cpu_us_per_request.target = 20.0;
        c.cpu_us_per_request.store = Some(if is_jwt_hs256(c) { 0.0 } else { 10.0 });
        c.bytes_per_request.received = if is_jwt_hs256(c) { 600.0 } else { 300.0 };
    });
    resummarize(&mut r);
    // Ingress free (the default): jwt's request bytes cost nothing, its 10 µs less CPU saves money.
    let free = verdict(&priced(&r, &Economics::default()), "jwt-bytes-cost").clone();
    assert_eq!(free.verdict, VerdictKind::Refuted, "{free:?}");
    assert!(free.because.contains("+300 B in"), "{free:?}");
    // Ingress billed at $1/GB: 300 B × 1e6 = $0.30 per million, far above 10 µs of CPU.
    let mut billed = Economics::default();
    billed.prices.ingress_gb_usd = 1.0;
    let paid = verdict(&priced(&r, &billed), "jwt-bytes-cost").clone();
    assert_eq!(paid.verdict, VerdictKind::Supported, "{paid:?}");
    assert!(paid.because.contains("ingress-gb=1"), "{paid:?}");
}

#[test]
fn the_redis_lookup_is_judged_at_each_store_round_trip() {
    let far = TargetSpec {
        store_rtt: authbench_targets::spec::Span(std::time::Duration::from_millis(1)),
        ..TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)
    };
    let mut targets = twenty();
    targets.push(far);
    let r = fixture(targets);
    let v = judged_after(r, &far.id(), |c| c.store_op_latency_us = Some(1500.0));
    let x = verdict(&v, "redis-lookup");
    assert_eq!(x.verdict, VerdictKind::DependsOn, "{x:?}");
    assert!(x.because.contains("(store RTT 0): 40 µs") && x.because.contains("→ refuted"), "{x:?}");
    assert!(x.because.contains("(store RTT 1ms): 1500 µs") && x.because.contains("→ supported"), "{x:?}");
}

#[test]
fn the_logout_and_reuse_claims_follow_the_probes() {
    use authbench_harness::model::probe::{Answer, Applicability, Reply};
    let mut r = fixture(twenty());
    let v = priced(&r, &Economics::default());
    assert_eq!(
        verdict(&v, "logout-needs-list").verdict,
        VerdictKind::Supported,
        "{:?}",
        verdict(&v, "logout-needs-list")
    );
    assert_eq!(verdict(&v, "refresh-reuse-detection").verdict, VerdictKind::Supported);
    // A jwt without denylist whose logged-out token was refused at once: the claim is refuted.
    let bare = r.probes.iter_mut().find(|p| p.target.spec == TargetSpec::jwt(Alg::Hs256)).unwrap();
    let w = bare.logout.as_mut().unwrap();
    (w.measured_s, w.still_accepted_at_cap) = (Some(0.01), false);
    // One hybrid whose successor survived the replay: detection depends on the configuration.
    let hybrid = r.probes.iter_mut().find(|p| p.target.spec.strategy == StrategyKind::Hybrid).unwrap();
    if let Some(Applicability::Measured(u)) = hybrid.reuse.as_mut() {
        u.successor = Reply { answer: Answer::Accepted, status: 200 };
    }
    let v = priced(&r, &Economics::default());
    assert_eq!(verdict(&v, "logout-needs-list").verdict, VerdictKind::Refuted);
    let reuse = verdict(&v, "refresh-reuse-detection");
    assert_eq!(reuse.verdict, VerdictKind::DependsOn, "{reuse:?}");
    assert!(reuse.because.contains("SpentRefused"), "{reuse:?}");
}

#[test]
fn the_tls_share_is_judged_against_the_plain_twin() {
    let plain = TargetSpec::jwt(Alg::Hs256);
    let tls = TargetSpec { tls: true, ..plain };
    let judged = |factor: f64| {
        let mut r = repeated(vec![plain, tls], &[0.98, 1.0, 1.02]);
        let base =
            r.cases.iter().find(|c| c.target.spec == plain && c.is_closed_browse()).unwrap().cpu_us_per_request.target;
        for c in r.cases.iter_mut().filter(|c| c.target.spec == tls) {
            c.cpu_us_per_request.target = base * factor;
        }
        resummarize(&mut r);
        verdict(&priced(&r, &Economics::default()), "https-costs-little").clone()
    };
    // A fifth more CPU over TLS: far above 1 %, refuted.
    let costly = judged(1.25);
    assert_eq!(costly.verdict, VerdictKind::Refuted, "{costly:?}");
    assert!(costly.because.contains("jwt-HS256-tls against jwt-HS256"), "{costly:?}");
    // The same CPU: TLS adds nothing measurable, supported.
    assert_eq!(judged(1.0).verdict, VerdictKind::Supported);
}

#[test]
fn the_https_claim_follows_what_the_observer_read_and_was_served() {
    let plain = TargetSpec::jwt(Alg::Hs256);
    let tls = TargetSpec { tls: true, ..plain };
    let r = fixture(vec![plain, tls]);
    let v = judge(&builtin().unwrap(), &r, &Economics::default());
    let held = verdict(&v, "https-required");
    assert_eq!(held.verdict, VerdictKind::Supported, "{held:?}");
    assert!(held.because.contains("authorization header read in clear"), "{held:?}");
    assert!(
        held.because.contains("TLS: nothing readable in the captured records (1 configuration: jwt-HS256-tls)"),
        "{held:?}"
    );

    // A credential bound to the client: read off the wire but refused to the observer.
    let mut bound = r.clone();
    bound.probes.iter_mut().filter(|p| !p.target.spec.tls).for_each(|p| {
        p.exposure.as_mut().unwrap().replay = Some(Reply::of(401));
    });
    let v = judge(&builtin().unwrap(), &bound, &Economics::default());
    assert_eq!(verdict(&v, "https-required").verdict, VerdictKind::DependsOn, "plain refuted, TLS held");

    let mut before = r;
    before.probes.iter_mut().for_each(|p| p.exposure = None);
    let v = judge(&builtin().unwrap(), &before, &Economics::default());
    assert_eq!(verdict(&v, "https-required").verdict, VerdictKind::NotMeasured, "a run from before the step");
}

#[test]
fn the_cookie_claim_states_the_attributes_and_follows_the_replay() {
    let cookie = TargetSpec {
        transport: Transport::Cookie,
        ..TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)
    };
    let r = fixture(vec![TargetSpec::jwt(Alg::Hs256), cookie]);
    let v = judge(&builtin().unwrap(), &r, &Economics::default());
    let held = verdict(&v, "cookies-secure-samesite");
    assert_eq!(held.verdict, VerdictKind::Supported, "{held:?}");
    assert!(held.measured.contains("HttpOnly Secure SameSite=Strict"), "{held:?}");
    assert!(held.because.contains("not measured"), "SameSite's need is said to be unmeasured: {held:?}");
    assert!(!held.because.contains("jwt-HS256:"), "a Bearer configuration is no cookie evidence: {held:?}");

    let mut refused = r.clone();
    let p = refused.probes.iter_mut().find(|p| p.target.spec == cookie).unwrap();
    p.exposure.as_mut().unwrap().replay = Some(Reply::of(401));
    let v = judge(&builtin().unwrap(), &refused, &Economics::default());
    assert_eq!(verdict(&v, "cookies-secure-samesite").verdict, VerdictKind::Refuted);

    let v = judge(&builtin().unwrap(), &fixture(vec![TargetSpec::jwt(Alg::Hs256)]), &Economics::default());
    assert_eq!(verdict(&v, "cookies-secure-samesite").verdict, VerdictKind::NotMeasured, "no cookie configuration");
}

#[test]
fn the_decision_criteria_claim_is_refuted_when_one_option_wins_everything() {
    let jwt = TargetSpec::jwt(Alg::Hs256);
    let session = TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256);
    let r = repeated(vec![jwt, session], &[0.98, 1.0, 1.02]);
    let v = judge(&builtin().unwrap(), &r, &Economics::default());
    let tradeoff = verdict(&v, "decision-criteria");
    assert_eq!(tradeoff.verdict, VerdictKind::Supported, "jwt is cheaper, the session revokes at once: {tradeoff:?}");
    assert!(tradeoff.measured.contains("2 of 2 options undominated"), "{tradeoff:?}");

    // The session revokes, logs out and demotes at once; make it cheaper and lighter on every other criterion too.
    let mut lopsided = r;
    for c in lopsided.cases.iter_mut().filter(|c| c.target.spec == session) {
        *c = fixture::with_latency(c.clone(), 10.0, 20.0);
        c.cpu_us_per_request.target = 1.0;
        c.cpu_us_per_request.store = Some(0.1);
        c.bytes_per_request.received = 10.0;
        c.bytes_per_request.sent = 10.0;
    }
    resummarize(&mut lopsided);
    let v = judge(&builtin().unwrap(), &lopsided, &Economics::default());
    let one = verdict(&v, "decision-criteria");
    assert!(one.measured.contains("1 of 2 options undominated"), "{one:?}");
    assert_eq!(one.verdict, VerdictKind::Refuted, "{one:?}");
}

#[test]
fn replicas_behind_a_balancer_are_not_what_a_claim_states() {
    let mut r = fixture(twenty());
    let before = verdict(&priced(&r, &Economics::default()), "logout-needs-list").verdict;
    assert_eq!(before, VerdictKind::Supported);
    // Two replicas whose logout reached one of them (a memory denylist): the other still serves it.
    let denied = r.probes.iter().find(|p| p.target.spec.denylist.is_some()).unwrap();
    let mut replicated = denied.clone();
    replicated.target.spec.replicas = 2;
    replicated.target.id = replicated.target.spec.id();
    let w = replicated.logout.as_mut().unwrap();
    (w.measured_s, w.still_accepted_at_cap) = (None, true);
    r.probes.push(replicated);
    let after = verdict(&priced(&r, &Economics::default()), "logout-needs-list").clone();
    assert_eq!(after.verdict, VerdictKind::Supported, "{after:?}");
    assert!(!after.because.contains("-x2"), "{after:?}");
}
