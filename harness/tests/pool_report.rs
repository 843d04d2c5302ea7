//! The report's store sections from fixture results: a PostgreSQL pool swept at a 1 ms round trip
//! gets its analytic ceiling and the limit its own counters show (pool, CPU, or CPU through the
//! pool); Redis gets no ceiling; the round-trip section and chart appear only when a round trip
//! was measured; seeded namespaces get their storage rows. Figures are made up, rules are real.

mod fixture;

use std::path::Path;
use std::time::Duration;

use authbench_harness::model::pool::PoolBusy;
use authbench_harness::model::results::{self, Results, Shares, TargetRecord};
use authbench_harness::model::seed::{SeedRecord, StoreSize};
use authbench_harness::report;
use authbench_targets::spec::{Span, StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use fixture::{fixture, resummarize};

fn spec(store: StoreKind, rtt_ms: u64, pool: u32) -> TargetSpec {
    let base = TargetSpec::stored(StrategyKind::Session, store, Alg::Hs256);
    TargetSpec { store_rtt: Span(Duration::from_millis(rtt_ms)), pool_size: pool, ..base }
}

fn shares(cores_busy: f64) -> Shares {
    Shares {
        target: cores_busy / 2.0,
        store: Some(cores_busy / 4.0),
        loadgen: cores_busy / 4.0,
        steal: None,
        relay: None,
        balancer: None,
    }
}

/// session-postgres at RTT 0 (pool 8), and at 1 ms with pools 4 (pool-bound), 16 (CPU through the
/// pool) and 32 (CPU); session-redis at RTT 0 and 1 ms.
fn swept() -> Results {
    let pg = [spec(StoreKind::Postgres, 0, 8), spec(StoreKind::Postgres, 1, 4), spec(StoreKind::Postgres, 1, 16)];
    let targets = [
        pg.as_slice(),
        &[spec(StoreKind::Postgres, 1, 32), spec(StoreKind::Redis, 0, 8), spec(StoreKind::Redis, 1, 8)],
    ]
    .concat();
    let mut r = fixture(targets);
    // (id, req/s, pool busy share, connection µs per op, cores busy)
    let figures = [
        ("session-postgres", 12_000.0, Some((0.5, 250.0)), 1.9),
        ("session-postgres-pool4-rtt1ms", 3_000.0, Some((0.97, 1_300.0)), 0.9),
        ("session-postgres-pool16-rtt1ms", 9_000.0, Some((0.98, 1_750.0)), 1.8),
        ("session-postgres-pool32-rtt1ms", 10_000.0, Some((0.6, 1_900.0)), 1.9),
        ("session-redis", 20_000.0, None, 1.5),
        ("session-redis-rtt1ms", 15_000.0, None, 1.9),
    ];
    for c in r.cases.iter_mut().filter(|c| c.is_closed_browse()) {
        let (_, rps, pool, busy) = figures.iter().find(|f| f.0 == c.target.id).unwrap();
        c.throughput_rps = *rps;
        c.pool = pool.map(|(share, held)| PoolBusy { share, held_us_per_op: Some(held) });
        c.shares = Some(shares(*busy));
    }
    resummarize(&mut r);
    r
}

fn render(r: &Results) -> (tempfile::TempDir, String) {
    let tmp = tempfile::Builder::new().prefix("authbench-pool-").tempdir().unwrap();
    results::write(r, tmp.path()).unwrap();
    report::render(tmp.path(), &report::Inputs::new(Path::new("/nonexistent/criterion"))).unwrap();
    let md = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    (tmp, md)
}

fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md.find(&format!("## {heading}\n")).unwrap_or_else(|| panic!("REPORT.md lacks ## {heading}"));
    let end = md[start + 3..].find("\n## ").map_or(md.len(), |e| start + 3 + e);
    &md[start..end]
}

/// The table row of a configuration at a round trip and pool size.
fn row<'a>(s: &'a str, id: &str, rtt: &str, pool: u32) -> Vec<&'a str> {
    let cells = |l: &'a str| l.split('|').map(str::trim).filter(|c| !c.is_empty()).collect::<Vec<_>>();
    s.lines()
        .map(cells)
        .find(|c| c.len() > 3 && c[0] == id && c[2] == rtt && c[3] == pool.to_string())
        .unwrap_or_else(|| panic!("no row {id} {rtt} pool {pool} in {s}"))
}

#[test]
fn pool_rows_give_the_ceiling_and_what_limited_each_case() {
    let (tmp, md) = render(&swept());
    let s = section(&md, "Store pools at a distance");
    // Service time: the lowest connection time per operation at RTT 0, 250 µs. Pool 4 at 1 ms:
    // 4 / 1.25 ms = 3,200 req/s at 1 store operation per request.
    let four = row(s, "session-postgres", "1.00 ms", 4);
    assert_eq!((four[5], four[6], four[7]), ("3200", "94 %", "250"), "{four:?}");
    assert_eq!(four.last(), Some(&"pool"));
    let sixteen = row(s, "session-postgres", "1.00 ms", 16);
    assert_eq!(sixteen[5], "12800");
    assert!(sixteen.last().unwrap().starts_with("CPU (1.80 of 2 cores busy), through the pool"), "{sixteen:?}");
    let thirty_two = row(s, "session-postgres", "1.00 ms", 32);
    assert_eq!(thirty_two.last(), Some(&"CPU (1.90 of 2 cores busy)"));
    let redis = row(s, "session-redis", "1.00 ms", 8);
    assert_eq!((redis[5], redis[6], redis[9]), ("none (pipelined)", "—", "—"), "{redis:?}");
    assert!(s.contains("fred pipelines commands"));
    let rtt = section(&md, "Stores at a network distance");
    assert_eq!(row(rtt, "session-redis", "1.00 ms", 8)[10], "1.00", "store ops per request");
    for stem in ["store_rtt_latency", "store_rtt_cpu"] {
        assert!(tmp.path().join(format!("charts/{stem}.svg")).exists(), "{stem}");
        assert!(md.contains(&format!("](charts/{stem}.svg)")), "{stem} is shown");
    }
    assert!(md.contains("What does the store's network distance do to each strategy's latency?"));
}

#[test]
fn without_a_round_trip_pool_or_seed_the_sections_stay_out() {
    let (tmp, md) = render(&fixture(vec![TargetSpec::jwt(Alg::Hs256), spec(StoreKind::Redis, 0, 8)]));
    for heading in ["Stores at a network distance", "Store pools at a distance", "Session storage at deployment size"] {
        assert!(!md.contains(&format!("## {heading}")), "{heading}");
    }
    assert!(!tmp.path().join("charts/store_rtt_latency.svg").exists());
}

#[test]
fn seeded_namespaces_report_bytes_per_session_beside_the_probe() {
    let mut r = fixture(vec![spec(StoreKind::Postgres, 0, 8)]);
    let (before, after) = (
        StoreSize::Postgres { table: 8_192, indexes: 16_384 },
        StoreSize::Postgres { table: 117_000_000, indexes: 86_000_000 },
    );
    r.seeds.push(SeedRecord {
        target: TargetRecord::from(&spec(StoreKind::Postgres, 0, 8)),
        records: 1_000_000,
        seconds: 5.0,
        before: Some(before),
        after: Some(after),
        counted: Some(1_000_000),
        bytes_per_record: SeedRecord::per_record(Some(before), Some(after), 1_000_000),
        note: "pg_table_size and pg_indexes_size".into(),
    });
    let (_tmp, md) = render(&r);
    let s = section(&md, "Session storage at deployment size");
    let cells: Vec<&str> = s.lines().find(|l| l.starts_with("| session-postgres")).unwrap().split(" | ").collect();
    assert_eq!(cells[7], "203", "(203,000,000 − 24,576) / 1,000,000: {cells:?}");
    assert_eq!(cells[8].trim_end_matches(" |"), "200 (of 1000)", "the probe's figure beside it");
}
