use std::collections::BTreeMap;

use authbench_scenarios::{LoadModel, ScenarioKind};
use authbench_targets::spec::TargetSpec;
use authbench_targets::token::alg::Alg;

use super::*;
use crate::model::environment::Environment;
use crate::model::matrix::{LoadSpec, Profile};
use crate::model::results::{CaseRole, HistogramData, Overrides, RunConfig, StoreOrigins, SCHEMA};

/// A case whose histogram holds `latencies`, with `served` requests at the target, one second
/// of timeline per latency starting at `open_ms`.
fn case(latencies: &[u64], open_ms: u64, cpu_target: f64) -> Case {
    let mut h = authbench_scenarios::recorder::new_histogram();
    for v in latencies {
        h.record(*v).unwrap();
    }
    let load = LoadSpec { scenario: ScenarioKind::Browse, model: LoadModel::Closed, users: 8, population: None };
    let target = TargetSpec::jwt(Alg::Hs256);
    let n = h.len();
    let seconds = (0..3)
        .map(|t| Second {
            t_s: t,
            requests: if t == 0 { 0 } else { n },
            errors: 0,
            unauthorized: 0,
            unavailable: 0,
            sessions_lost: 0,
            p50_us: (t > 0).then(|| h.value_at_quantile(0.5)),
            p99_us: (t > 0).then(|| h.value_at_quantile(0.99)),
            store_ops: Some(0.0),
        })
        .collect();
    Case {
        id: format!("{}/{}", target.id(), load.id()),
        target: (&target).into(),
        load,
        repetition: 1,
        role: CaseRole::Matrix,
        warmup_s: 1.0,
        duration_s: 2.0,
        window_s: 2.0,
        window_start_unix_ms: Some(open_ms),
        requests: n,
        errors: BTreeMap::from([("401".to_owned(), 1)]),
        throughput_rps: n as f64 / 2.0,
        latency_us: Latency::from_histogram(&h),
        latency_saturated: 0,
        histogram: HistogramData {
            unit: "microseconds".into(),
            encoding: "HdrHistogram V2 deflate, base64".into(),
            data: histogram::encode(&h).unwrap(),
            hgrm: "histograms/x.hgrm".into(),
            hlog: "histograms/x.hlog".into(),
        },
        target_requests: n as f64,
        bytes_per_request: Bytes { received: 300.0, sent: 150.0, auth: 200.0, auth_received: 200.0, auth_sent: 0.0 },
        store_ops_per_request: 0.0,
        store_op_latency_us: None,
        cpu_us_per_request: Cpu {
            target: cpu_target,
            store: Some(0.0),
            loadgen: 10.0,
            relay: None,
            source: CpuSource::Proc,
            balancer: None,
            per_replica: Vec::new(),
        },
        req_per_core_s: Some(1e6 / cpu_target),
        peak_rss_bytes: Some(1000),
        goose_report: "goose/x.json".into(),
        shares: Some(Shares { target: 0.5, store: Some(0.0), loadgen: 0.4, steal: None, relay: None, balancer: None }),
        timeline: Some(Timeline { window_start_s: 1.0, seconds }),
        pool: None,
        fault: None,
        store_touch: None,
        population: None,
    }
}

fn shard(index: u32, count: u32, cases: Vec<Case>) -> Results {
    let mut matrix = Profile::Smoke.matrix().unwrap();
    matrix.ladder = None;
    Results {
        schema: SCHEMA.into(),
        run_id: format!("shard{index}"),
        status: RunStatus::Complete,
        started_at: format!("2026-11-26T09:00:0{index}Z"),
        finished_at: Some("2026-11-26T09:01:00Z".into()),
        profile: "smoke".into(),
        environment: Environment::default(),
        config: RunConfig {
            matrix,
            cli: Overrides::default(),
            stores: StoreOrigins::default(),
            shard: Some(ShardRecord { index, count, start_at: None, targets: ShardTargets::Own }),
            merged: None,
        },
        method: BTreeMap::new(),
        summaries: Summary::of_cases(&cases),
        cases,
        ladders: Vec::new(),
        loadgen_ceiling: None,
        probes: Vec::new(),
        skipped: vec![Skipped { id: "x/probe".into(), reason: "none".into() }],
        seeds: Vec::new(),
        h2load: Vec::new(),
    }
}

fn two() -> Vec<Results> {
    vec![
        shard(0, 2, vec![case(&[100, 200, 300, 400], 10_000, 20.0)]),
        shard(1, 2, vec![case(&[150, 250, 9000], 10_400, 40.0)]),
    ]
}

#[test]
fn histograms_add_exactly_and_counts_sum() {
    let shards = two();
    let m = merge(&shards, "merged".into()).unwrap();
    let c = &m.cases[0];
    let h = histogram::decode(&c.histogram.data).unwrap();
    assert_eq!(h.len(), 7, "merged count is the sum of the shards'");
    assert_eq!(c.requests, 7);
    assert_eq!(h.max(), histogram::decode(&shards[1].cases[0].histogram.data).unwrap().max());
    assert_eq!(c.latency_us.max, h.max(), "percentiles read from the merged histogram");
    assert_eq!(c.errors["401"], 2);
    // Windows 10.0-12.0 s and 10.4-12.4 s: 2.4 s aligned.
    assert!((c.window_s - 2.4).abs() < 1e-9, "{}", c.window_s);
    assert_eq!(c.window_start_unix_ms, Some(10_000));
    assert!((c.throughput_rps - 7.0 / 2.4).abs() < 1e-9);
    // Own targets: CPU per request over all requests (4 × 20 + 3 × 40) / 7.
    assert!((c.cpu_us_per_request.target - 200.0 / 7.0).abs() < 1e-9);
    assert!((c.cpu_us_per_request.loadgen - 10.0).abs() < 1e-9);
    assert_eq!(c.target_requests, 7.0);
    assert_eq!(m.summaries.len(), 1);
    assert_eq!(m.summaries[0].case_ids, std::slice::from_ref(&c.id));
    assert_eq!(m.config.shard, None);
    let from = m.config.merged.as_ref().unwrap();
    assert_eq!(from.shards.iter().map(|s| s.run_id.as_str()).collect::<Vec<_>>(), ["shard0", "shard1"]);
    assert_eq!(m.skipped.len(), 1, "the same skipped id once");
    assert_eq!(m.started_at, "2026-11-26T09:00:00Z");
}

#[test]
fn timelines_sum_by_wall_clock_second() {
    let mut shards = two();
    // Shard 1 opened its window a whole second after shard 0.
    shards[1].cases[0].window_start_unix_ms = Some(11_000);
    let m = merge(&shards, "merged".into()).unwrap();
    let t = m.cases[0].timeline.as_ref().unwrap();
    let requests: Vec<u64> = t.seconds.iter().map(|s| s.requests).collect();
    assert_eq!(requests, [0, 4, 7, 3]);
    assert_eq!(t.seconds[1].p99_us, shards[0].cases[0].timeline.as_ref().unwrap().seconds[1].p99_us);
    assert_eq!(t.seconds[2].p99_us, None, "two shards' percentiles cannot be combined");
    assert!((t.window_start_s - 1.0).abs() < 1e-9);
}

#[test]
fn a_shared_target_is_counted_once() {
    let mut shards = two();
    for s in &mut shards {
        s.config.shard = s.config.shard.map(|r| ShardRecord { targets: ShardTargets::Shared, ..r });
        s.cases[0].target_requests = 7.0;
    }
    let m = merge(&shards, "merged".into()).unwrap();
    let c = &m.cases[0];
    assert_eq!(c.target_requests, 7.0, "shard 0 saw the whole target");
    assert_eq!(c.cpu_us_per_request.target, 20.0);
    // Each generator's 10 µs × 7 requests, over the 7 the target served.
    assert!((c.cpu_us_per_request.loadgen - 20.0).abs() < 1e-9);
}

fn refused(shards: Vec<Results>) -> String {
    merge(&shards, "merged".into()).unwrap_err().to_string()
}

#[test]
fn incompatible_shards_are_refused() {
    assert!(refused(Vec::new()).contains("nothing to merge"));

    let mut s = two();
    s[1].config.shard = None;
    assert!(refused(s).contains("shard1 is not a shard"));

    let mut s = two();
    s[1].config.shard = Some(ShardRecord { index: 1, count: 3, start_at: None, targets: ShardTargets::Own });
    assert!(refused(s).contains("shard1 is a shard of 3, shard0 of 2"));

    let mut s = two();
    s[1].config.shard = Some(ShardRecord { index: 0, count: 2, start_at: None, targets: ShardTargets::Own });
    assert!(refused(s).contains("shard 0 is given twice"));

    let s = vec![two().remove(0)];
    assert!(refused(s).contains("shard 1 of 2 is missing"));

    for (part, change) in [
        ("matrix", (|r: &mut Results| r.config.matrix.duration = "9s".parse().unwrap()) as fn(&mut Results)),
        ("command-line options", |r| r.config.cli.users = Some(3)),
        ("profile", |r| r.profile = "quick".into()),
        ("results schema", |r| r.schema = "authbench.results/1".into()),
        ("build", |r| r.environment.git_sha = Some("0123abc".into())),
        ("stores", |r| r.config.stores.redis = Some(crate::model::results::StoreOrigin::External)),
        ("--start-at", |r| {
            r.config.shard = r.config.shard.map(|s| ShardRecord { start_at: "2026-11-26T09:00:00Z".parse().ok(), ..s })
        }),
        ("targets (own or shared)", |r| {
            r.config.shard = r.config.shard.map(|s| ShardRecord { targets: ShardTargets::Shared, ..s })
        }),
    ] {
        let mut s = two();
        change(&mut s[1]);
        let err = refused(s);
        assert!(err.contains(part) && err.contains("shard1 differs from shard0"), "{part}: {err}");
    }

    let mut s = two();
    s[1].cases[0].duration_s = 5.0;
    assert!(refused(s).contains("rerun the shards with the same --warmup and --duration"));
    let mut s = two();
    s[1].cases[0].warmup_s = 0.0;
    assert!(refused(s).contains("0 s warm-up"));

    let mut s = two();
    s[1].cases[0].histogram.data = "not base64!".into();
    assert!(refused(s).contains("of shard1: histogram data is not base64"));

    let mut s = two();
    s[1].cases.clear();
    assert!(refused(s).contains("is in shard0 but not in shard1"));
    let mut s = two();
    s[0].cases.clear();
    assert!(refused(s).contains("is in shard1 but not in shard0"));
}
