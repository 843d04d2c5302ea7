//! `authbench report` from fixture results: every chart decodes, every section is there, two
//! renders are byte-identical, verdicts follow the figures.

use std::collections::BTreeMap;
use std::path::PathBuf;

use authbench_harness::probe::{ProbeResult, WindowResult};
use authbench_harness::results::{self, Bytes, Case, Cpu, HistogramData, Latency, Load, Results, TargetInfo};

fn target(strategy: &str, store: Option<&str>, denylist: Option<&str>, alg: &str) -> TargetInfo {
    let mut id = strategy.to_owned();
    if let Some(s) = store {
        id = format!("{id}-{s}");
    }
    if let Some(d) = denylist {
        id = format!("{id}-denylist-{d}");
    }
    if strategy != "session" {
        id = format!("{id}-{alg}");
    }
    TargetInfo {
        id,
        strategy: strategy.into(),
        store: store.map(Into::into),
        denylist: denylist.map(Into::into),
        alg: (strategy != "session").then(|| alg.to_owned()),
        transport: "bearer".into(),
        ttls: serde_json::json!({"token": "7d", "access": "15m", "refresh": "30d", "session": "7d"}),
    }
}

/// A case with made-up but self-consistent figures: fixtures for rendering, not measurements.
fn case(t: TargetInfo, model: &str, k: f64) -> Case {
    let mut h = authbench_scenarios::recorder::new_histogram();
    for i in 1..=2000u64 {
        h.record((50.0 * k) as u64 + i * (3 + (k as u64 % 5))).unwrap();
    }
    let session = t.strategy == "session" || t.denylist.is_some();
    let auth = if t.strategy == "session" {
        67.0
    } else if t.alg.as_deref() == Some("RS256") {
        599.0
    } else {
        300.0
    };
    let target_cpu = 20.0 + 3.0 * k;
    Case {
        id: format!("{}/browse-{model}-16u", t.id),
        scenario: "browse".into(),
        load: Load {
            model: model.into(),
            users: 16,
            rate_rps: (model == "open").then_some(2000.0),
            duration_s: 5.0,
            warmup_s: 2.0,
        },
        window_s: 5.0,
        requests: h.len(),
        errors: BTreeMap::new(),
        throughput_rps: 40_000.0 / k.max(1.0),
        latency_us: Latency {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        },
        latency_saturated: 0,
        histogram: HistogramData {
            unit: "microseconds".into(),
            encoding: "HdrHistogram V2 deflate, base64".into(),
            data: authbench_harness::export::encode(&h).unwrap(),
            hgrm: "histograms/x.hgrm".into(),
            hlog: "histograms/x.hlog".into(),
        },
        target_requests: h.len() as f64,
        bytes_per_request: Bytes { received: 110.0 + auth, sent: 150.0, auth, auth_received: auth, auth_sent: 0.0 },
        store_ops_per_request: if session { 1.0 } else { 0.0 },
        store_op_latency_us: session.then_some(40.0),
        cpu_us_per_request: Cpu { target: target_cpu, store: Some(if session { 8.0 } else { 0.0 }), loadgen: 30.0 },
        req_per_core_s: Some(1e6 / target_cpu),
        peak_rss_bytes: Some(20_000_000),
        goose_report: "goose/x.json".into(),
        target: t,
    }
}

fn probe(t: &TargetInfo) -> ProbeResult {
    let (measured, capped, bound) = match (t.strategy.as_str(), t.denylist.is_some()) {
        ("session", _) | ("jwt", true) => (Some(0.01), false, 0),
        ("jwt", false) => (None, true, 604_801),
        _ => (None, true, 901),
    };
    let w =
        WindowResult { measured_s: measured, still_accepted_at_cap: capped, bound_s: bound, accepted_after_change: 0 };
    ProbeResult {
        target: t.id.clone(),
        users: 4,
        cap_s: 3.0,
        poll_interval_ms: 20,
        revocation: w.clone(),
        stale_role: w,
        method: "fixture".into(),
    }
}

fn fixture(targets: Vec<TargetInfo>) -> Results {
    let mut cases = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        cases.push(case(t.clone(), "closed", 1.0 + i as f64));
        cases.push(case(t.clone(), "open", 1.0 + i as f64));
    }
    Results {
        schema: results::SCHEMA.into(),
        run_id: "fixture".into(),
        status: "complete".into(),
        started_at: "2026-11-23T00:00:00Z".into(),
        finished_at: Some("2026-11-23T00:10:00Z".into()),
        profile: "fixture".into(),
        environment: serde_json::json!({"cores": 2, "cpu_model": "fixture CPU", "build_profile": "release"}),
        config: serde_json::json!({}),
        method: results::method(),
        probes: targets.iter().map(probe).collect(),
        cases,
        skipped: Vec::new(),
    }
}

fn twenty() -> Vec<TargetInfo> {
    let mut t = Vec::new();
    for alg in ["HS256", "RS256", "RS256-4096", "ES256", "EdDSA"] {
        t.push(target("jwt", None, None, alg));
    }
    for s in ["memory", "postgres", "redis"] {
        t.push(target("jwt", None, Some(s), "HS256"));
        t.push(target("session", Some(s), None, "HS256"));
        for alg in ["HS256", "ES256", "EdDSA", "RS256"] {
            t.push(target("hybrid", Some(s), None, alg));
        }
    }
    t.truncate(20);
    t
}

fn render(name: &str, r: &Results) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authbench-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    results::write(r, &dir).unwrap();
    authbench_harness::report::render(&dir).unwrap();
    dir
}

fn check(name: &str, r: &Results) {
    let dir = render(name, r);
    for chart in
        ["throughput", "req_per_core", "store_ops", "bytes", "cpu", "latency_closed", "latency_open", "security"]
    {
        let svg = std::fs::read_to_string(dir.join("charts").join(format!("{chart}.svg")))
            .unwrap_or_else(|e| panic!("{chart}.svg: {e}"));
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{chart}.svg does not parse: {e}"));
        let png =
            image::open(dir.join("charts").join(format!("{chart}.png"))).unwrap_or_else(|e| panic!("{chart}.png: {e}"));
        assert!(png.width() > 500 && png.height() > 200, "{chart}.png is {}x{}", png.width(), png.height());
    }
    let md = std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    for section in
        ["## Environment and method", "## Summary", "## Charts", "## Security windows", "## Claims", "## Caveats"]
    {
        assert!(md.contains(section), "REPORT.md lacks {section}");
    }
    for c in &r.cases {
        assert!(md.contains(&c.target.id), "summary lacks {}", c.target.id);
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("src=\"charts/"), "charts must be inlined");
    // Deterministic: rendering again gives the same bytes.
    let again = render(&format!("{name}-again"), r);
    for f in ["REPORT.md", "report.html", "charts/latency_closed.svg", "charts/bytes.png", "charts/security.png"] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs between renders"
        );
    }
}

#[test]
fn two_configurations() {
    check("two", &fixture(vec![target("jwt", None, None, "HS256"), target("session", Some("redis"), None, "HS256")]));
}

#[test]
fn twenty_configurations() {
    let r = fixture(twenty());
    assert_eq!(r.probes.len(), 20);
    check("twenty", &r);
}

#[test]
fn verdicts_follow_the_figures() {
    let r = fixture(twenty());
    let v = authbench_harness::report::claims::judge(&authbench_harness::report::claims::builtin().unwrap(), &r);
    let get = |id: &str| v.iter().find(|x| x.id == id).unwrap_or_else(|| panic!("claim {id} missing"));
    assert_eq!(get("jwt-bloat").verdict, "supported", "{:?}", get("jwt-bloat"));
    assert_eq!(get("jwt-revocation").verdict, "supported");
    assert_eq!(get("denylist-lookup").verdict, "supported");
    assert_eq!(get("redis-lookup").verdict, "refuted", "40 µs is not 2-3 ms");
    assert_eq!(get("sessions-below-10rps").verdict, "refuted");
    assert!(v.iter().all(|x| ["supported", "refuted", "depends-on", "not measured"].contains(&x.verdict.as_str())));
    let only_jwt = fixture(vec![target("jwt", None, None, "HS256")]);
    let v = authbench_harness::report::claims::judge(&authbench_harness::report::claims::builtin().unwrap(), &only_jwt);
    assert_eq!(v.iter().find(|x| x.id == "redis-lookup").unwrap().verdict, "not measured");
}
