//! Claims from files and their verdicts on fixture results: a team's file loads through
//! `from_file`, mistakes are refused when it is loaded, cases are found by spec and a figure the
//! run lacks makes a claim "not measured", never a verdict computed from zero.

mod fixture;

use authbench_harness::model::results::{Case, Results};
use authbench_harness::report::claims::{builtin, from_file, judge, Verdict, VerdictKind};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use fixture::{fixture, twenty};

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
    judge(&builtin().unwrap(), &r)
}

const TEAM: &str = r#"
[[claim]]
id = "our-redis-budget"
claim = "A Redis session lookup costs ~500 µs"
source = "Platform team SLO"
metric = "mean Redis session_get latency seen by the target"
rule = "redis_lookup_us"
claimed_us = 500.0

[[claim]]
id = "fast-jwt"
claim = "JWT serves 40,000 req/s per core"
source = "Platform team"
metric = "jwt HS256 requests per second per core of target CPU"
rule = "jwt_req_per_core"
claimed_rps = 40000
"#;

#[test]
fn a_team_file_is_judged_in_file_order() {
    let f = write(TEAM);
    let v = judge(&from_file(f.path()).unwrap(), &fixture(twenty()));
    assert_eq!(v.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), ["our-redis-budget", "fast-jwt"]);
    // 40 µs against 500: under half of it.
    assert_eq!(v[0].verdict, VerdictKind::Refuted, "{:?}", v[0]);
    assert!(v[0].because.starts_with("a loopback Redis lookup takes well under 0.5 ms;"), "{}", v[0].because);
    // 1e6 / 23 µs = 43,478 req/s per core against 40,000: the same order.
    assert_eq!(v[1].verdict, VerdictKind::Supported, "{:?}", v[1]);
    assert_eq!(v[1].measured, "43478 req/s per core (40000 req/s measured with the load generator on the same cores)");
}

#[test]
fn a_misspelled_rule_is_refused_when_the_file_is_loaded() {
    let f = write(&TEAM.replace("rule = \"jwt_req_per_core\"", "rule = \"jwt_req_per_cpu\""));
    let e = from_file(f.path()).unwrap_err().to_string();
    assert!(e.contains(&f.path().display().to_string()), "{e}");
    assert!(e.contains("line 15, column 8") && e.contains("unknown variant `jwt_req_per_cpu`"), "{e}");
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
    assert!(e.contains("line 15, column 8") && e.contains("rule `jwt_req_per_core` needs `claimed_rps`"), "{e}");
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
    let before: Vec<VerdictKind> = judge(&builtin().unwrap(), &r).iter().map(|v| v.verdict).collect();
    let mut renamed = r.clone();
    for (i, c) in renamed.cases.iter_mut().enumerate() {
        c.target.id = format!("config-{i}");
    }
    for (i, p) in renamed.probes.iter_mut().enumerate() {
        p.target.id = format!("probe-{i}");
    }
    let after: Vec<VerdictKind> = judge(&builtin().unwrap(), &renamed).iter().map(|v| v.verdict).collect();
    assert_eq!(before, after);
}

#[test]
fn a_missing_case_names_it() {
    let r = fixture(vec![TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)]);
    let v = judge(&builtin().unwrap(), &r);
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
    let v = judge(&builtin().unwrap(), &fixture(vec![TargetSpec::jwt(Alg::Hs256)]));
    let json = serde_json::to_value(verdict(&v, "redis-lookup")).unwrap();
    assert_eq!(json["verdict"], "not measured");
    let json = serde_json::to_value(verdict(&v, "jwt-revocation")).unwrap();
    assert_eq!(json["verdict"], "supported");
}
