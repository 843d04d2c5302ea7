//! Fault cases in the report and the claims: the "Failure modes" section and its charts appear
//! only with fault cases, after the speed sections, and the fault cases stay out of every speed
//! figure; the availability claims are not measured without fault cases and flip with the figures.

mod fixture;

use std::path::Path;
use std::time::Duration;

use authbench_harness::model::fault::{DataAfterRestart, Fault};
use authbench_harness::model::results::{self, Case, Results, Shares};
use authbench_harness::report;
use authbench_harness::report::claims::{builtin, judge, Verdict, VerdictKind};
use authbench_harness::report::findings::Economics;
use authbench_targets::spec::{Span, StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use fixture::{fault_case, fixture};

/// One second of a fault timeline: (requests, errors, 401s, 503s).
type Sec = (u64, u64, u64, u64);

const CALM: Sec = (100, 0, 0, 0);
/// The partial second the window closed in.
const TAIL: Sec = (30, 0, 0, 0);

fn secs(s: u64) -> Span {
    Span(Duration::from_secs(s))
}

/// Store unreachable from 3 s into the window for 2 s: seconds 5 and 6 of the timeline.
fn outage() -> Fault {
    Fault::StoreOutage { at: secs(3), lasting: secs(2) }
}

fn restart_lost() -> Fault {
    Fault::StoreRestart { at: secs(3), down: secs(2), data: DataAfterRestart::Lost }
}

/// Thirteen seconds (2 s warm-up, the window, its partial last second) with `during` in seconds 5
/// and 6 and `after` in second 7.
fn timeline(during: Sec, after: Sec) -> Vec<Sec> {
    let mut out = vec![CALM; 12];
    out[5] = during;
    out[6] = during;
    out[7] = after;
    out.push(TAIL);
    out
}

fn calm() -> Vec<Sec> {
    timeline(CALM, CALM)
}

/// Every request refused with a 503 while the store is frozen, 5 % still failing the second after.
fn refused() -> Vec<Sec> {
    timeline((40, 40, 0, 40), (100, 5, 0, 5))
}

fn jwt() -> TargetSpec {
    TargetSpec::jwt(Alg::Hs256)
}

fn session(store: StoreKind) -> TargetSpec {
    TargetSpec::stored(StrategyKind::Session, store, Alg::Hs256)
}

fn hybrid() -> TargetSpec {
    TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Redis, Alg::Hs256)
}

/// The two-configuration fixture with `faults` appended.
fn with_faults(faults: Vec<Case>) -> Results {
    let mut r = fixture(vec![jwt(), session(StoreKind::Redis)]);
    r.cases.extend(faults);
    r
}

/// jwt calm (`jwt_seconds` aside), both sessions refused, hybrid calm: a store outage.
fn outage_cases(jwt_seconds: Vec<Sec>) -> Vec<Case> {
    vec![
        fault_case(jwt(), outage(), &jwt_seconds, (0, 0, 0)),
        fault_case(session(StoreKind::Redis), outage(), &refused(), (0, 0, 0)),
        fault_case(session(StoreKind::Postgres), outage(), &refused(), (0, 0, 0)),
        fault_case(hybrid(), outage(), &calm(), (0, 0, 0)),
    ]
}

/// session-redis restarted empty: 503s while down, then `lost` 401s that send clients to log in.
fn restart_cases(lost: u64) -> Vec<Case> {
    let seconds = timeline((40, 40, 0, 40), (100, lost, lost, 0));
    vec![
        fault_case(jwt(), restart_lost(), &calm(), (0, 0, 0)),
        fault_case(session(StoreKind::Redis), restart_lost(), &seconds, (lost, lost, 1)),
    ]
}

fn verdict(r: &Results, id: &str) -> Verdict {
    let v = judge(&builtin().unwrap(), r, &Economics::default());
    v.into_iter().find(|x| x.id == id).unwrap_or_else(|| panic!("claim {id} missing"))
}

#[test]
fn without_fault_cases_the_availability_claims_are_not_measured_and_say_what_to_run() {
    let r = fixture(vec![jwt(), session(StoreKind::Redis), hybrid()]);
    for id in ["jwt-store-outage", "session-restart-logout", "hybrid-store-outage"] {
        let v = verdict(&r, id);
        assert_eq!(v.verdict, VerdictKind::NotMeasured, "{v:?}");
        assert!(v.because.contains("[[fault]]") && v.because.contains("--profile standard"), "{v:?}");
    }
    // A restart fault says nothing about an outage.
    let v = verdict(&with_faults(restart_cases(16)), "jwt-store-outage");
    assert_eq!(v.verdict, VerdictKind::NotMeasured);
    assert!(v.because.starts_with("this run has no store_outage fault case"), "{v:?}");
}

#[test]
fn jwt_serving_through_the_outage_supports_the_claim_and_flips_with_its_errors() {
    let v = verdict(&with_faults(outage_cases(calm())), "jwt-store-outage");
    assert_eq!(v.verdict, VerdictKind::Supported, "{v:?}");
    let case = "jwt-HS256, browse-open-16u-100rps/store_outage";
    assert!(v.because.starts_with(&format!("{case}: 0.0 % (one window, no interval)")), "{v:?}");
    assert!(v.because.contains("session-redis, browse-open-16u-100rps/store_outage: 100.0 %"), "{v:?}");
    assert!(v.because.contains("rule (tolerance 1×): the claim says at most 1.0 %"), "{v:?}");
    assert!(v.measured.contains("sessions: session-redis"), "{v:?}");
    // jwt failing a fifth of its requests in the same seconds: refuted.
    let failing = timeline((100, 20, 0, 0), CALM);
    let v = verdict(&with_faults(outage_cases(failing)), "jwt-store-outage");
    assert_eq!(v.verdict, VerdictKind::Refuted, "{v:?}");
    assert!(v.because.starts_with(&format!("{case}: 20.0 %")), "{v:?}");
}

#[test]
fn an_outage_no_session_felt_shows_nothing_about_jwt() {
    let mut cases = outage_cases(calm());
    cases[1] = fault_case(session(StoreKind::Redis), outage(), &calm(), (0, 0, 0));
    cases[2] = fault_case(session(StoreKind::Postgres), outage(), &calm(), (0, 0, 0));
    let v = verdict(&with_faults(cases), "jwt-store-outage");
    assert_eq!(v.verdict, VerdictKind::NotMeasured, "{v:?}");
    assert!(v.because.contains("never reached their clients"), "{v:?}");
    // Clients that hang on the frozen store answer little but fail nothing: that too is not serving.
    let mut cases = outage_cases(calm());
    let hung = timeline((3, 0, 0, 0), CALM);
    cases[1] = fault_case(session(StoreKind::Redis), outage(), &hung, (0, 0, 0));
    cases[2] = fault_case(session(StoreKind::Postgres), outage(), &calm(), (0, 0, 0));
    let v = verdict(&with_faults(cases), "jwt-store-outage");
    assert_eq!(v.verdict, VerdictKind::Supported, "{v:?}");
    assert!(v.because.contains("0.0 % errors, successes/s at 3 % of before"), "{v:?}");
    // Without any session under the outage there is nothing to contrast with.
    let v = verdict(&with_faults(vec![fault_case(jwt(), outage(), &calm(), (0, 0, 0))]), "jwt-store-outage");
    assert_eq!(v.verdict, VerdictKind::NotMeasured);
    assert!(v.because.contains("both a jwt configuration without denylist and a session"), "{v:?}");
}

#[test]
fn a_restart_without_persistence_logs_everyone_out_or_does_not() {
    let v = verdict(&with_faults(restart_cases(16)), "session-restart-logout");
    assert_eq!(v.verdict, VerdictKind::Supported, "{v:?}");
    let case = "session-redis, browse-open-16u-100rps/store_restart_lost";
    assert!(v.because.starts_with(&format!("{case}: 100 % of users (one window, no interval)")), "{v:?}");
    assert!(v.because.contains("16 sessions lost of 16 users, 16 re-logins, failed login attempts: 1"), "{v:?}");
    assert!(v.because.contains("jwt-HS256 (nothing — no store outside the process (control)): 0 sessions lost"));
    // A quarter of the users logged out is not everyone.
    let v = verdict(&with_faults(restart_cases(4)), "session-restart-logout");
    assert_eq!(v.verdict, VerdictKind::Refuted, "{v:?}");
    assert!(v.because.starts_with(&format!("{case}: 25 % of users")), "{v:?}");
    // Clients still out when the window closed are said, not hidden.
    let mut cases = restart_cases(16);
    let o = &mut cases[1].fault.as_mut().unwrap().outcome;
    o.relogins = 10;
    let v = verdict(&with_faults(cases), "session-restart-logout");
    assert!(v.because.contains("6 had not logged in again when the window closed"), "{v:?}");
}

#[test]
fn hybrid_keeps_serving_unless_its_access_tokens_expire_during_the_outage() {
    let v = verdict(&with_faults(outage_cases(calm())), "hybrid-store-outage");
    assert_eq!(v.verdict, VerdictKind::Supported, "{v:?}");
    assert!(v.because.contains("hybrid-redis-HS256 access TTL 15m"), "{v:?}");
    // A 5 s access TTL expires inside the outage: its refreshes fail, so the verdict depends on the TTL.
    let mut short = hybrid();
    short.ttls.access = secs(5);
    let mut cases = outage_cases(calm());
    cases.push(fault_case(short, outage(), &timeline((100, 30, 0, 30), CALM), (0, 0, 0)));
    let v = verdict(&with_faults(cases), "hybrid-store-outage");
    assert_eq!(v.verdict, VerdictKind::DependsOn, "{v:?}");
    assert!(v.because.contains("hybrid-redis-HS256-access5s, browse-open-16u-100rps/store_outage: 30.0 %"), "{v:?}");
}

/// Renders `r` into a temporary directory without microbenchmarks.
fn render(r: &Results) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new().prefix("authbench-faults-").tempdir().unwrap();
    results::write(r, tmp.path()).unwrap();
    report::render(tmp.path(), &report::Inputs::new(Path::new("/nonexistent/criterion"))).unwrap();
    tmp
}

/// The section of REPORT.md under `heading`, up to the next one.
fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md.find(&format!("## {heading}\n")).unwrap_or_else(|| panic!("REPORT.md lacks ## {heading}"));
    let end = md[start + 3..].find("\n## ").map_or(md.len(), |e| start + 3 + e);
    &md[start..end]
}

fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts = doc.descendants().filter(|n| n.is_text()).filter_map(|n| n.text());
    texts.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

#[test]
fn failure_modes_follow_the_speed_sections_with_a_chart_and_a_row_per_configuration() {
    let mut faults = outage_cases(calm());
    faults.extend(restart_cases(16));
    let r = with_faults(faults);
    let tmp = render(&r);
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    let headings: Vec<&str> = md.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    let at = |h: &str| headings.iter().position(|x| *x == h).unwrap_or_else(|| panic!("no {h} in {headings:?}"));
    assert_eq!(at("Failure modes"), at("Where the time goes") + 1, "{headings:?}");
    assert_eq!(at("Security windows"), at("Failure modes") + 1, "{headings:?}");
    let s = section(&md, "Failure modes");
    assert!(s.contains("≤ 1 s resolution") && s.contains("SIGSTOP") && s.contains("SHUTDOWN SAVE"), "{s}");
    let row = |id: &str| s.lines().filter(|l| l.starts_with(&format!("| {id} |"))).collect::<Vec<_>>();
    assert_eq!(row("jwt-HS256").len(), 2, "one row per fault: {s}");
    let jwt = row("jwt-HS256")[0];
    assert!(
        jwt.contains("| nothing — no store outside the process (control) | 3.0–5.0 s | none | 0.0 % | 100 % | 2.0 ms | 0 / 0 / 0 | not disturbed |"),
        "{jwt}"
    );
    let redis = row("session-redis")[0];
    assert!(
        redis.contains(
            "| redis store | 3.0–5.0 s | 0 s | 100.0 % | 0 % | 2.0 ms | 0 / 80 / 0 | 1.0 s after the fault ended |"
        ),
        "{redis}"
    );
    assert!(redis.ends_with("| running, /healthz 200, RSS 20.0 MB → 21.0 MB |"), "{redis}");
    let lost = row("session-redis")[1];
    assert!(lost.contains("| 16 / 16 / 1 |"), "{lost}");
    // One chart per fault, its panels named, pointed at from the section.
    for (stem, kind) in [("store_outage", "Store outage"), ("store_restart_lost", "Store restart, data lost")] {
        let stem = format!("fault_browse-open-16u-100rps_{stem}");
        assert!(s.contains(&format!("](charts/{stem}.svg)")), "{s}");
        let texts = svg_texts(&tmp.path().join(format!("charts/{stem}.svg")));
        assert!(texts.iter().any(|t| t.starts_with(kind)), "{texts:?}");
        assert!(texts.iter().any(|t| t == "jwt-HS256 · control, nothing touched"), "{texts:?}");
        assert!(texts.iter().any(|t| t == "session-redis · redis store"), "{texts:?}");
    }
    assert!(md.contains("Which strategies keep serving while the store is down, and how fast do they come back?"));
    // Fault cases are counted apart and add no speed row.
    assert!(md.contains("; 6 fault cases (see Failure modes))"), "{md}");
    let summary = section(&md, "Summary");
    assert_eq!(summary.lines().filter(|l| l.contains("store_outage") || l.contains("100 req/s")).count(), 0);
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("<h2>Failure modes</h2>"));
    let doc = report::render_document(tmp.path(), &report::Inputs::new(Path::new("/nonexistent/criterion"))).unwrap();
    let text = report::render::terminal::document(&doc, tmp.path());
    assert!(text.contains("Failure modes\n-------------\n") && text.contains("nothing — no store outside the process"));
}

#[test]
fn without_fault_cases_there_is_no_failure_modes_section() {
    let tmp = render(&fixture(vec![jwt(), session(StoreKind::Redis)]));
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    assert!(!md.contains("## Failure modes"), "{md}");
    assert!(!std::fs::read_dir(tmp.path().join("charts"))
        .unwrap()
        .any(|e| { e.unwrap().file_name().to_string_lossy().starts_with("fault_") }));
}

#[test]
fn fault_cases_raise_no_speed_warning_or_caveat() {
    // A restarted store's CPU is unknown by design, and an idle target beside a busy generator
    // looks load-generator bound: neither is about speed in a fault case.
    let mut faults = restart_cases(16);
    for c in &mut faults {
        c.cpu_us_per_request.store = None;
        c.shares =
            Some(Shares { target: 0.1, store: None, loadgen: 1.2, steal: Some(0.001), relay: None, balancer: None });
    }
    let r = with_faults(faults);
    let before = verdict(&fixture(vec![jwt(), session(StoreKind::Redis)]), "redis-lookup");
    assert_eq!(verdict(&r, "redis-lookup").verdict, before.verdict, "speed claims ignore fault cases");
    let tmp = render(&r);
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    assert!(!md.contains("Load-generator bound in"), "{md}");
    assert!(!section(&md, "Caveats").contains("Some stores were external"), "{md}");
    assert_eq!(r.summaries.len(), 4, "fault cases make no summary");
}
