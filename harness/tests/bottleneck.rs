//! Who was the bottleneck, from fixture results: the warnings that open the report, the summary's
//! mark on load-generator-bound cases, the claim that stops judging their throughput, the shares
//! table and the load generator ceiling beside wrk's.

mod fixture;

use std::path::Path;

use authbench_harness::model::results::{self, LoadgenCeiling, Results, Shares};
use authbench_harness::report::claims::{builtin, judge, VerdictKind};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use fixture::{fixture, resummarize};

const JWT_CLOSED: &str = "jwt-HS256/browse-closed-16u";

fn three() -> Results {
    fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Postgres, Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
    ])
}

/// The fixture run from uncommitted source, its jwt closed case limited by the load generator and
/// the session-redis closed window stolen from.
fn dishonest() -> Results {
    let mut r = three();
    r.environment.git_dirty = Some(true);
    r.environment.git_sha = Some("0123abc".into());
    for c in &mut r.cases {
        let s = c.shares.as_mut().unwrap();
        if c.id == JWT_CLOSED {
            (s.loadgen, s.target) = (0.97, 0.41);
        }
        if c.id == "session-redis/browse-closed-16u" {
            s.steal = Some(0.05);
        }
    }
    resummarize(&mut r);
    r
}

/// REPORT.md of `r`, rendered into a directory deleted at the end of the call.
fn markdown(r: &Results) -> String {
    let tmp = tempfile::Builder::new().prefix("authbench-bottleneck-").tempdir().unwrap();
    results::write(r, tmp.path()).unwrap();
    authbench_harness::report::render(
        tmp.path(),
        &authbench_harness::report::Inputs::new(Path::new("/nonexistent/criterion")),
    )
    .unwrap();
    std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap()
}

/// The text before the first section: the title and introduction.
fn intro(md: &str) -> &str {
    &md[..md.find("\n## ").expect("a section")]
}

fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md.find(&format!("## {heading}\n")).unwrap_or_else(|| panic!("no {heading} section"));
    let end = md[start + 3..].find("\n## ").map_or(md.len(), |e| start + 3 + e);
    &md[start..end]
}

#[test]
fn the_bound_rule_needs_a_busy_generator_and_a_target_below_it() {
    let s = |target, loadgen| Shares { target, store: None, loadgen, steal: None, relay: None, balancer: None };
    assert!(s(0.4, 0.9).loadgen_bound(), "at the threshold counts");
    assert!(!s(0.4, 0.89).loadgen_bound());
    assert!(!s(1.5, 1.2).loadgen_bound(), "a target using more than the threshold is its own limit");
    assert!(!Shares { steal: Some(0.02), ..s(0.1, 0.1) }.steal_warning(), "2 % itself is not above 2 %");
    assert!(Shares { steal: Some(0.021), ..s(0.1, 0.1) }.steal_warning());
}

#[test]
fn warnings_open_the_report_when_source_is_dirty_and_a_case_is_load_generator_bound() {
    let r = dishonest();
    assert_eq!(r.summaries.iter().map(|s| s.loadgen_bound).sum::<usize>(), 1);
    let md = markdown(&r);
    let top = intro(&md);
    assert!(top.contains("**Warnings**"), "{top}");
    assert!(top.contains("Measured from uncommitted source (git_dirty = true): commit `0123abc`"), "{top}");
    assert!(top.contains("Load-generator bound in 1 case(s) of 1 configuration(s): jwt-HS256 (1)."), "{top}");
    assert!(
        top.contains(
            "Steal time above 2 % of the machine's CPU in 1 window(s): session-redis/browse-closed-16u (5.0 %)"
        ),
        "{top}"
    );
    assert!(!top.contains("debug build"), "a release build is not warned about: {top}");

    let summary = section(&md, "Summary");
    let row = summary.lines().find(|l| l.starts_with("| jwt-HS256 | browse | closed")).expect("jwt closed row");
    assert!(row.contains("(load-generator bound in 1 of 1)"), "{row}");
    let others = summary.lines().filter(|l| l.starts_with("| session-"));
    assert!(others.clone().count() >= 2 && others.into_iter().all(|l| !l.contains("load-generator bound")));

    let shares = section(&md, "Bottleneck");
    assert!(shares.contains("| jwt-HS256 | 16 | 40000 | — | 0.41 | 0.00 | 0.97 | 69.0 % | 0.1 % | yes |"), "{shares}");
    assert!(shares.contains("| session-redis |") && shares.contains("| 5.0 % | no |"), "{shares}");
}

#[test]
fn a_debug_build_is_warned_about_and_a_clean_run_has_no_warnings() {
    let clean = markdown(&three());
    assert!(!intro(&clean).contains("Warnings"), "{}", intro(&clean));
    let mut r = three();
    r.environment.build_profile = Some(authbench_harness::model::environment::BuildProfile::Debug);
    let md = markdown(&r);
    assert!(intro(&md).contains("A debug build measured this run"), "{}", intro(&md));
}

#[test]
fn throughput_of_a_load_generator_bound_case_is_not_judged() {
    let get = |r: &Results| {
        judge(&builtin().unwrap(), r, &authbench_harness::report::findings::Economics::default())
            .into_iter()
            .find(|v| v.id == "session-db-bound")
            .expect("session-db-bound")
    };
    let fair = get(&three());
    assert_ne!(fair.verdict, VerdictKind::NotMeasured, "{fair:?}");
    let v = get(&dishonest());
    assert_eq!(v.verdict, VerdictKind::NotMeasured, "{v:?}");
    assert!(v.because.contains("saturation throughput for jwt-HS256: the load generator was the limit"), "{v:?}");
    assert_eq!(v.measured, "—");
}

#[test]
fn the_ceiling_is_shown_beside_wrk_and_an_unmeasured_wrk_is_a_dash() {
    let without = markdown(&three());
    assert!(section(&without, "Bottleneck").contains("The load generator's ceiling was not measured in this run"));
    let mut r = three();
    r.loadgen_ceiling = Some(LoadgenCeiling {
        endpoint: "/api/me".into(),
        connections: 16,
        duration_s: 5.0,
        authbench_rps: 50_000.0,
        authbench_loadgen_share: 0.97,
        wrk_rps: None,
        wrk_note: Some("wrk not installed: scripts/install-deps.sh installs it".into()),
    });
    let md = markdown(&r);
    let s = section(&md, "Bottleneck");
    assert!(s.contains("Load generator ceiling on `/api/me` (no auth, no store) with 16 connections"), "{s}");
    assert!(s.contains("| authbench (goose) | 50000 | 0.97 |"), "{s}");
    assert!(s.contains("| wrk -t1 | — | — |"), "{s}");
    assert!(s.contains("wrk: wrk not installed: scripts/install-deps.sh installs it."), "{s}");
    assert!(s.contains("The fastest configuration, jwt-HS256, reached 80 % of authbench's ceiling"), "{s}");
    assert!(
        s.contains("| jwt-HS256 | 16 | 40000 | 80.0 % |"),
        "each 16-user case beside the 16-connection ceiling: {s}"
    );
}

#[test]
fn the_environment_table_lists_the_crypto_flags() {
    let mut r = three();
    r.environment.cpu_flags = Some(vec!["avx2".into(), "sha_ni".into()]);
    assert!(markdown(&r).contains("| cpu_flags | avx2 sha_ni |"));
    r.environment.cpu_flags = None;
    assert!(markdown(&r).contains("| cpu_flags | unknown |"));
}
