//! `authbench report` from fixture results: every chart decodes, every section is there, two
//! renders are byte-identical, REPORT.md, report.html and the terminal text say the same, an
//! unmeasured figure is "—" and never a bar of 0, verdicts follow the figures.

mod fixture;

use std::path::{Path, PathBuf};

use authbench_harness::model::results::{self, Results};
use authbench_harness::report;
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use fixture::{fixture, twenty};

/// Criterion output as `cargo bench -p authbench-targets` leaves it, under `root`.
fn criterion_fixture(root: &Path) -> PathBuf {
    let root = root.join("criterion");
    for (id, ns) in [
        ("request_auth_cpu/jwt-HS256", 3_000.0),
        ("request_auth/jwt-HS256", 3_100.0),
        ("request_auth_cpu/session-redis", 47_000.0),
        ("request_auth/session-redis", 100_000.0),
        ("request_auth_cpu_16/session-redis", 8_000.0),
        ("jwt_issue/HS256", 1_900.0),
        ("jwt_verify/HS256", 2_900.0),
        ("jwt_signature/sign-jsonwebtoken/RS256", 877_000.0),
        ("jwt_signature/sign-cached-key/RS256", 357_000.0),
        ("jwt_signature/verify-jsonwebtoken/RS256", 21_800.0),
        ("jwt_signature/verify-cached-key/RS256", 18_900.0),
        ("session_lookup/redis", 93_000.0),
        ("jwt_signature/verify-jsonwebtoken/EdDSA", 40_800.0),
        ("jwt_signature/verify-cached-key/EdDSA", 41_500.0),
    ] {
        let dir = root.join(id).join("new");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("benchmark.json"), format!(r#"{{"full_id":"{id}"}}"#)).unwrap();
        let point = format!(
            r#"{{"point_estimate":{ns},"confidence_interval":{{"lower_bound":{},"upper_bound":{}}}}}"#,
            ns * 0.99,
            ns * 1.01
        );
        std::fs::write(dir.join("estimates.json"), format!(r#"{{"mean":{point},"slope":{point}}}"#)).unwrap();
    }
    root
}

fn time_section(md: &str) -> &str {
    let start = md.find("## Where the time goes").expect("REPORT.md lacks ## Where the time goes");
    let end = md[start..].find("## Security windows").map_or(md.len(), |e| start + e);
    &md[start..end]
}

/// Renders `r` into a directory deleted when the returned guard is dropped.
fn render(name: &str, r: &Results, criterion: &Path) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new().prefix(&format!("authbench-report-{name}-")).tempdir().unwrap();
    results::write(r, tmp.path()).unwrap();
    authbench_harness::report::render(tmp.path(), &authbench_harness::report::Inputs::new(criterion)).unwrap();
    tmp
}

fn check(name: &str, r: &Results) {
    let bench = tempfile::tempdir().unwrap();
    let criterion = criterion_fixture(bench.path());
    let tmp = render(name, r, &criterion);
    let dir = tmp.path();
    for chart in ["throughput", "req_per_core", "bytes", "cpu", "latency_open", "security"] {
        let svg = std::fs::read_to_string(dir.join("charts").join(format!("{chart}.svg")))
            .unwrap_or_else(|e| panic!("{chart}.svg: {e}"));
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{chart}.svg does not parse: {e}"));
        let png =
            image::open(dir.join("charts").join(format!("{chart}.png"))).unwrap_or_else(|e| panic!("{chart}.png: {e}"));
        assert!(png.width() > 500 && png.height() > 200, "{chart}.png is {}x{}", png.width(), png.height());
    }
    let md = std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    for section in [
        "## Environment and method",
        "## Summary",
        "## Charts",
        "## Where the time goes",
        "## Security windows",
        "## Claims",
        "## Caveats",
    ] {
        assert!(md.contains(section), "REPORT.md lacks {section}");
    }
    for c in &r.cases {
        assert!(md.contains(&c.target.id), "summary lacks {}", c.target.id);
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("src=\"charts/"), "charts must be inlined");
    // Deterministic: rendering again gives the same bytes.
    let again_tmp = render(&format!("{name}-again"), r, &criterion);
    let again = again_tmp.path();
    for f in ["REPORT.md", "report.html", "charts/latency_open.svg", "charts/bytes.png", "charts/security.png"] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs between renders"
        );
    }
}

#[test]
fn two_configurations() {
    check(
        "two",
        &fixture(vec![
            TargetSpec::jwt(Alg::Hs256),
            TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
        ]),
    );
}

#[test]
fn twenty_configurations() {
    let r = fixture(twenty());
    assert_eq!(r.probes.len(), 20);
    check("twenty", &r);
}

#[test]
fn verdicts_follow_the_figures() {
    use authbench_harness::report::claims::{builtin, judge, VerdictKind};
    let r = fixture(twenty());
    let v = judge(&builtin().unwrap(), &r, &authbench_harness::report::findings::Economics::default());
    let get = |id: &str| v.iter().find(|x| x.id == id).unwrap_or_else(|| panic!("claim {id} missing"));
    assert_eq!(get("jwt-bloat").verdict, VerdictKind::Supported, "{:?}", get("jwt-bloat"));
    assert_eq!(get("jwt-revocation").verdict, VerdictKind::Supported);
    assert_eq!(get("denylist-lookup").verdict, VerdictKind::Supported);
    assert_eq!(get("redis-lookup").verdict, VerdictKind::Refuted, "40 µs is not 2-3 ms");
    assert_eq!(get("sessions-below-10rps").verdict, VerdictKind::Refuted);
    // Every claim but the availability ones, which need fault cases the fixture does not have, the
    // refresh one, which needs the refresh scenario, the TLS one, which needs a TLS twin, and the
    // cookie one, which needs a cookie configuration.
    let availability = [
        "jwt-store-outage",
        "session-restart-logout",
        "hybrid-store-outage",
        "refresh-means-storage",
        "https-costs-little",
        "cookies-secure-samesite",
    ];
    assert!(
        v.iter().all(|x| x.verdict != VerdictKind::NotMeasured || availability.contains(&x.id.as_str())),
        "twenty configurations measure every speed and security claim: {v:?}"
    );
    let only_jwt = fixture(vec![TargetSpec::jwt(Alg::Hs256)]);
    let v = judge(&builtin().unwrap(), &only_jwt, &authbench_harness::report::findings::Economics::default());
    assert_eq!(v.iter().find(|x| x.id == "redis-lookup").unwrap().verdict, VerdictKind::NotMeasured);
}

#[test]
fn where_the_time_goes_joins_microbenchmarks_with_the_run() {
    let r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
    ]);
    let bench = tempfile::tempdir().unwrap();
    let tmp = render("time", &r, &criterion_fixture(bench.path()));
    let dir = tmp.path();
    let md = std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    let section = time_section(&md);
    let jwt_row = section.lines().find(|l| l.starts_with("| jwt-HS256 |")).expect("per-request row for jwt-HS256");
    let load_test = r.cases.iter().find(|c| c.target.id == "jwt-HS256").unwrap().cpu_us_per_request.target;
    let share = format!("{:.0} %", 100.0 * 3.0 / load_test);
    assert!(jwt_row.contains("| 3.00 | — | 3.10 | no |") && jwt_row.ends_with(&format!("| {share} |")), "{jwt_row}");
    // A row that asks a store takes its share from the in-flight figure.
    let redis_row = section.lines().find(|l| l.starts_with("| session-redis |")).expect("row for session-redis");
    let load_test = r.cases.iter().find(|c| c.target.id == "session-redis").unwrap().cpu_us_per_request.target;
    let share = format!("{:.0} %", 100.0 * 8.0 / load_test);
    assert!(
        redis_row.contains("| 47.0 | 8.00 | 100 | yes |") && redis_row.ends_with(&format!("| {share} |")),
        "{redis_row}"
    );
    // jsonwebtoken's key parsing: 877 - 357 = 520 µs per RSA signature, +146 %.
    assert!(section.contains("RS256 +520 µs (+146 %)"), "sign overhead missing:\n{section}");
    assert!(section.contains("RS256 +2.90 µs (+15 %), EdDSA within noise"), "verify overhead missing:\n{section}");
    assert!(
        section.contains("![How much of a request's CPU is the authentication itself?](charts/auth_cost.svg)"),
        "{section}"
    );
    let svg = std::fs::read_to_string(dir.join("charts/auth_cost.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let labels: Vec<&str> = doc.descendants().filter_map(|n| n.text()).map(str::trim).collect();
    // session-redis is drawn with its in-flight figure, the one its share uses.
    assert!(labels.contains(&"8.00") && !labels.contains(&"47.0"), "{labels:?}");
    // Sizes come from real tokens: an RS256-4096 signature is 512 bytes.
    let rsa4096 = section.lines().find(|l| l.starts_with("| jwt | RS256-4096 | bearer |")).expect("size row");
    assert_eq!(rsa4096.split(" | ").nth(4), Some("512"), "{rsa4096}");
}

#[test]
fn without_microbenchmarks_the_section_says_how_to_get_them() {
    let r = fixture(vec![TargetSpec::jwt(Alg::Hs256)]);
    let tmp = tempfile::Builder::new().prefix("authbench-report-nobench-").tempdir().unwrap();
    let dir = tmp.path();
    results::write(&r, dir).unwrap();
    authbench_harness::report::render(
        dir,
        &authbench_harness::report::Inputs::new(Path::new("/nonexistent/criterion")),
    )
    .unwrap();
    let md = std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    let section = time_section(&md);
    assert!(section.contains("No criterion estimates at `/nonexistent/criterion`"), "{section}");
    assert!(section.contains("| session | — | bearer | 43 |"), "sizes are shown without benchmarks:\n{section}");
    assert!(!dir.join("charts/auth_cost.svg").exists());
}

/// Text of an SVG's text elements, trimmed.
fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts = doc.descendants().filter(|n| n.is_text()).filter_map(|n| n.text());
    texts.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

#[test]
fn markdown_and_html_carry_the_same_sections_and_the_probe_method() {
    let r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
    ]);
    let tmp = render("parity", &r, Path::new("/nonexistent/criterion"));
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    let md_headings: Vec<&str> = md.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    let html_headings: Vec<&str> = html.split("<h2>").skip(1).filter_map(|h| h.split("</h2>").next()).collect();
    assert_eq!(md_headings, html_headings);
    assert_eq!(md_headings.len(), 12, "{md_headings:?}");
    let method = format!("Method: {}", r.probes[0].method);
    assert!(md.contains(&method), "REPORT.md lacks the probe method");
    assert!(html.contains(&format!("<p>{method}</p>")), "report.html lacks the probe method");
    // Every chart Markdown points at is inlined in the HTML, labelled with the same caption.
    for line in md.lines().filter(|l| l.starts_with("![")) {
        let caption = &line[2..line.find("](").unwrap()];
        assert!(html.contains(&format!("<figure role=\"img\" aria-label=\"{caption}\"><svg")), "{caption}");
    }
}

#[test]
fn the_terminal_rendering_has_the_summary_rows_without_markup() {
    let r = fixture(twenty());
    let tmp = tempfile::Builder::new().prefix("authbench-report-terminal-").tempdir().unwrap();
    results::write(&r, tmp.path()).unwrap();
    let doc = report::render_document(tmp.path(), &report::Inputs::new(Path::new("/nonexistent/criterion"))).unwrap();
    let text = report::render::terminal::document(&doc, tmp.path());
    let summary = &text[text.find("Summary\n-------\n").expect("a Summary heading")..];
    let summary = &summary[..summary.find("\nCharts\n").expect("Charts follows Summary")];
    for c in &r.cases {
        let load = match c.load.rate_rps() {
            Some(rate) => format!("open {rate:.0} req/s, 16 users"),
            None => "closed, 16 users".to_owned(),
        };
        let row = summary.lines().find(|l| l.starts_with(&format!("{} ", c.target.id)) && l.contains(&load));
        let row = row.unwrap_or_else(|| panic!("no summary row for {} {load}:\n{summary}", c.target.id));
        assert!(row.contains(&format!("{:.0}", c.throughput_rps)), "{row}");
    }
    for markup in ["**", "`", "|---", "<p>", "![", "## "] {
        assert!(!text.contains(markup), "terminal text contains {markup:?}");
    }
    let chart = tmp.path().join("charts/throughput.svg").display().to_string();
    assert!(text.contains(&chart), "charts are listed by file");
}

#[test]
fn an_unmeasured_req_per_core_is_a_dash_not_a_bar_of_zero() {
    let mut r = fixture(vec![
        TargetSpec::jwt(Alg::Hs256),
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
        TargetSpec::jwt(Alg::Es256),
    ]);
    for c in r.cases.iter_mut().filter(|c| c.target.id == "session-redis") {
        c.req_per_core_s = None;
        c.cpu_us_per_request.store = None;
    }
    let tmp = render("unmeasured", &r, Path::new("/nonexistent/criterion"));
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    let row = md.lines().find(|l| l.starts_with("| session-redis | browse | closed")).expect("summary row");
    let cells: Vec<&str> = row.split(" | ").collect();
    assert_eq!((cells[10], cells[11]), ("—", "—"), "store CPU and req/core·s: {row}");
    // The bar chart says so instead of drawing a bar of length 0.
    let texts = svg_texts(&tmp.path().join("charts/req_per_core.svg"));
    assert_eq!(texts.iter().filter(|t| *t == "not measured").count(), 1, "{texts:?}");
    assert!(!texts.iter().any(|t| t == "0.00"), "{texts:?}");
    // Every chart says its question and this run's answer under it; a missing figure is said.
    let per_core = md.lines().find(|l| l.starts_with("How many requests per second does one core")).expect("answer");
    assert!(per_core.contains(" — ") && per_core.contains("session-redis: not measured"), "{per_core}");
    let cpu = svg_texts(&tmp.path().join("charts/cpu.svg"));
    assert!(cpu.iter().any(|t| t.ends_with("(store not measured)")), "{cpu:?}");
    // The scatter leaves the configuration out rather than placing it at 0 req/core·s.
    let security = svg_texts(&tmp.path().join("charts/security.svg"));
    assert!(!security.iter().any(|t| t.contains("session-redis")), "{security:?}");
    assert!(security.iter().any(|t| t.contains("jwt-ES256")), "{security:?}");
}

#[test]
fn a_schema_1_run_still_reads_and_renders() {
    // The reference run of 2026-11-23, as written then (schema 1).
    let old = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture/schema1/results.json");
    let text = std::fs::read_to_string(&old).unwrap();
    assert!(text.contains("\"schema\": \"authbench.results/1\""), "the fixture is the schema 1 upgrade test");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("results.json"), &text).unwrap();
    let r = results::read(tmp.path()).unwrap();
    assert_eq!(r.cases.len(), 43);
    assert_eq!(r.probes.len(), 18);
    assert!(r.probes.iter().all(|p| p.target.id == p.target.spec.id()), "every probe found its target's spec");
    for c in &r.cases {
        assert_eq!(c.id, format!("{}/{}", c.target.spec.id(), c.load.id()));
    }
    report::render(tmp.path(), &report::Inputs::new(Path::new("/nonexistent/criterion"))).unwrap();
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    assert!(md.contains("| hybrid-redis-HS256-access5s | refresh |"), "{md}");
}

#[test]
fn the_committed_reference_run_reads_and_renders_with_its_ladders() {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/standard/results.json");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(&reference, tmp.path().join("results.json")).unwrap();
    let r = results::read(tmp.path()).unwrap();
    assert_eq!(r.config.matrix.repetitions, 3);
    assert_eq!(r.environment.git_dirty, Some(false), "the reference run is measured from committed source");
    // Every load runs the matrix's three repetitions except the population, which runs once.
    for s in &r.summaries {
        let once = s.load.scenario == authbench_scenarios::ScenarioKind::Population;
        let (n, interval) = (s.throughput_rps.n, s.throughput_rps.interval.is_some());
        assert_eq!((n, interval), if once { (1, false) } else { (3, true) }, "{}/{}", s.target.id, s.load.id());
    }
    let laddered: Vec<&str> = r.ladders.iter().map(|l| l.target.id.as_str()).collect();
    assert_eq!(laddered, ["jwt-HS256", "session-postgres", "session-redis", "hybrid-redis-HS256"]);
    for l in &r.ladders {
        assert!(matches!(l.capacity, authbench_harness::model::ladder::Capacity::Found { .. }), "{}", l.target.id);
    }
    report::render(tmp.path(), &report::Inputs::new(Path::new("/nonexistent/criterion"))).unwrap();
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    assert!(md.contains("## Capacity at the SLO") && md.contains("capacity found between"), "{md}");
    let counts =
        "217 cases (171 matrix windows: 59 configuration × load pairs, up to 3 repetitions each; 32 ladder steps; \
                  14 fault cases (see Failure modes))";
    assert!(md.contains(counts), "{md}");
    let part = |heading: &str| md.split("\n## ").find(|p| p.starts_with(heading)).unwrap_or_default().to_owned();
    // The findings page opens the report, the floor among its rows, p99 read at the shared load.
    assert_eq!(md.lines().find_map(|l| l.strip_prefix("## ")), Some("Findings"));
    assert!(part("Findings").contains("| none (floor, not an option) |"), "{}", part("Findings"));
    assert!(part("Findings").contains("p99 in µs at 2000 req/s offered to every option"));
    assert!(!part("Findings").contains("| not measured |"), "every plain option ran at the shared load");
    assert!(!part("Charts").contains("timeline_"), "timelines have their own section");
    assert!(part("Second by second").contains("charts/timeline_session-postgres.svg"));
    // Two replicas behind HAProxy: a memory store makes them disagree, a shared Redis does not.
    let replicas = part("Replicas behind a balancer");
    let row = |id: &str| replicas.lines().find(|l| l.starts_with(&format!("| {id} |"))).unwrap_or_default().to_owned();
    assert!(row("session-memory-x2").ends_with("| disagree: one replica's answer is not another's |"), "{replicas}");
    assert!(row("session-redis-x2").ends_with("| agree |"), "{replicas}");
}

#[test]
fn an_unknown_schema_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("results.json"), r#"{"schema": "authbench.results/9"}"#).unwrap();
    let err = results::read(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("authbench.results/9") && err.contains("authbench.results/2"), "{err}");
}

/// The section of REPORT.md under `heading`, up to the next one.
fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md.find(&format!("## {heading}\n")).unwrap_or_else(|| panic!("REPORT.md lacks ## {heading}"));
    let end = md[start + 3..].find("\n## ").map_or(md.len(), |e| start + 3 + e);
    &md[start..end]
}

#[test]
fn repetitions_and_ladders_are_summarised_once_and_laddered_configurations_get_capacity() {
    let mut r = fixture::repeated(
        vec![TargetSpec::jwt(Alg::Hs256), TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256)],
        &[0.97, 1.0, 1.02],
    );
    fixture::with_ladder(&mut r, "session-redis", Some("p99<=10ms".parse().unwrap()));
    let tmp = render("ladder", &r, Path::new("/nonexistent/criterion"));
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    // One row per (configuration, load): neither the repetitions nor the ladder steps add rows.
    let summary = section(&md, "Summary");
    let rows: Vec<&str> = summary.lines().filter(|l| l.starts_with("| jwt-") || l.starts_with("| session-")).collect();
    assert_eq!(rows.len(), r.summaries.len(), "{summary}");
    assert!(rows.iter().all(|l| l.contains(" | 3 | ") && l.contains(" [")), "n and intervals: {summary}");
    assert!(!summary.contains("ladder") || summary.contains("Rate-ladder steps are not in this table"), "{summary}");
    let closed = r.summaries.iter().find(|s| s.target.id == "session-redis" && s.load.rate_rps().is_none()).unwrap();
    let row = rows.iter().find(|l| l.starts_with("| session-redis | browse | closed")).unwrap();
    assert!(row.contains(&format!("| {} |", closed.throughput_rps.show(0))), "{row}");
    let method = section(&md, "Environment and method");
    assert!(method.contains("Student's t") && method.contains("with 3 it reaches"), "{method}");
    // Capacity: the bracket in words, every step, and the curve read at shares of capacity.
    let capacity = section(&md, "Capacity at the SLO");
    assert!(capacity.contains("capacity found between 16500 and 18000 req/s"), "{capacity}");
    let steps = capacity.lines().filter(|l| l.ends_with("| yes |") || l.ends_with("| no |"));
    assert_eq!(steps.count(), fixture::LADDER.len(), "every step, the refined one included: {capacity}");
    assert!(capacity.contains("| 10 % | 1650 | 8 % | — | outside the measured range |"), "{capacity}");
    assert!(capacity.contains("| 50 % | 8250 | 41 % | 38.2 | between measured 25 % and 50 % |"), "{capacity}");
    assert!(!capacity.contains("jwt-HS256"), "jwt climbed no ladder: {capacity}");
    // The two ladder charts, each with its question in the caption.
    for (stem, expect) in [
        ("ladder_latency", "session-redis: capacity 16500 req/s (met the SLO; 18000 req/s did not)"),
        ("cpu_curve", "session-redis"),
    ] {
        let texts = svg_texts(&tmp.path().join(format!("charts/{stem}.svg")));
        assert!(texts.iter().any(|t| t == expect), "{stem}: {texts:?}");
        let png = image::open(tmp.path().join(format!("charts/{stem}.png"))).unwrap();
        assert!(png.width() > 500 && png.height() > 200);
        let line = md.lines().find(|l| l.ends_with(&format!("](charts/{stem}.svg)"))).unwrap();
        assert!(line.contains('?'), "a caption that asks its question: {line}");
    }
    assert!(svg_texts(&tmp.path().join("charts/ladder_latency.svg")).iter().any(|t| t == "SLO p99<=10ms"));
    // Latency curves: one line per configuration, whatever the repetitions and ladder steps.
    let legend = svg_texts(&tmp.path().join("charts/latency_open.svg"));
    assert_eq!(legend.iter().filter(|t| *t == "session-redis").count(), 1, "{legend:?}");
}

#[test]
fn without_a_ladder_the_capacity_section_says_how_to_get_one_and_no_ladder_chart_is_drawn() {
    let r = fixture(vec![TargetSpec::jwt(Alg::Hs256)]);
    let tmp = render("noladder", &r, Path::new("/nonexistent/criterion"));
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    assert!(section(&md, "Capacity at the SLO").contains("climbed no rate ladder"), "{md}");
    assert!(
        !tmp.path().join("charts/ladder_latency.svg").exists() && !tmp.path().join("charts/cpu_curve.svg").exists()
    );
}

/// REPORT.md of `r` rendered with `economics`.
fn markdown_priced(r: &Results, economics: authbench_harness::report::findings::Economics) -> String {
    let tmp = tempfile::tempdir().unwrap();
    results::write(r, tmp.path()).unwrap();
    let inputs = report::Inputs { economics, ..report::Inputs::new(Path::new("/nonexistent/criterion")) };
    report::render(tmp.path(), &inputs).unwrap();
    std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap()
}

fn table_row<'a>(text: &'a str, first_cell: &str) -> &'a str {
    let prefix = format!("| {first_cell} |");
    text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no row {first_cell} in {text}"))
}

#[test]
fn the_findings_page_opens_the_report_with_figures_prices_and_dominated_options() {
    use authbench_harness::report::findings::Economics;
    let mut targets = vec![TargetSpec { strategy: StrategyKind::None, ..TargetSpec::jwt(Alg::Hs256) }];
    targets.extend(twenty());
    // Three repetitions: CPU and p99 differ only between intervals, which a single window lacks.
    let mut r = fixture::repeated(targets, &[0.97, 1.0, 1.03]);
    let md = markdown_priced(&r, Economics::default());
    let first = md.lines().find_map(|l| l.strip_prefix("## ")).unwrap();
    assert_eq!(first, "Findings", "the findings page comes first");
    let page = section(&md, "Findings");
    assert!(page.contains("| none (floor, not an option) |"), "{page}");
    assert!(page.contains("p99 in µs at 2000 req/s offered to every option"), "{page}");
    // The fixture's session-redis: p99 read at the shared open load, and its store CPU counted.
    let redis = table_row(page, "session-redis");
    assert!(redis.contains(" store |") || redis.contains(" store"), "{redis}");
    assert!(!redis.contains("not measured |"), "{redis}");
    assert!(page.contains("--price cpu-hour=0.04,egress-gb=0.09,ingress-gb=0"), "{page}");
    assert!(!section(&md, "Dominated options").contains("| none"), "the floor is no option");

    // Free prices make every option cost nothing: the money comes from the prices, not a constant.
    let free = Economics { prices: "cpu-hour=0,egress-gb=0".parse().unwrap(), ..Economics::default() };
    let page_free = markdown_priced(&r, free);
    assert!(
        table_row(section(&page_free, "Findings"), "session-redis").contains("| 0.0000 (CPU 0.0000 + egress 0.0000) |")
    );

    // jwt-ES256 made ten times as costly, large and slow as jwt-HS256: HS256 dominates it. Before,
    // the fixture's ES256 had the lower p99 at equal load, so it was not dominated.
    let es = TargetSpec::jwt(Alg::Es256).id();
    let dominators = |md: &str| -> Vec<String> {
        let row = section(md, "Dominated options").lines().find(|l| l.starts_with(&format!("| {es} |")));
        row.map_or_else(Vec::new, |l| l.split('|').nth(2).unwrap().split(", ").map(|x| x.trim().to_owned()).collect())
    };
    assert!(!dominators(&md).contains(&"jwt-HS256".to_owned()), "{:?}", dominators(&md));
    let hs = r.cases.iter().find(|c| c.target.id == TargetSpec::jwt(Alg::Hs256).id()).unwrap().latency_us.clone();
    for c in r.cases.iter_mut().filter(|c| c.target.id == es) {
        c.cpu_us_per_request.target *= 10.0;
        c.bytes_per_request.received *= 10.0;
        c.latency_us.p99 = hs.p99 * 10;
    }
    fixture::resummarize(&mut r);
    let after = markdown_priced(&r, Economics::default());
    assert!(dominators(&after).contains(&"jwt-HS256".to_owned()), "{:?}", dominators(&after));
    assert!(table_row(section(&after, "Dominated options"), &es).contains("better on CPU per request"));
}
