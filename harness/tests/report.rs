//! `authbench report` from fixture results: every chart decodes, every section is there, two
//! renders are byte-identical, verdicts follow the figures.

mod fixture;

use std::path::PathBuf;

use authbench_harness::results::{self, Results};
use fixture::{fixture, target, twenty};

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
