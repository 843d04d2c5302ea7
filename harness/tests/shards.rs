//! Two shards of one run, as two `authbench run --shard I/2` processes starting together, merged by
//! `authbench merge`: the merged case holds every request of both, its histogram is their sum,
//! and `authbench report` renders it. Counts and invariants only; timings are never asserted.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use authbench_harness::model::histogram;
use authbench_harness::model::results::{self, Case, Results};
use authbench_harness::model::shard::ShardTargets;

/// The smallest useful matrix: one stored-session configuration, a closed browse load whose 5
/// users split 3 + 2, short windows.
const MATRIX: &str = r#"
description = "two-shard test"
warmup = "1s"
duration = "2s"
probe_cap = "1s"
seed_users = 20
probe_users = 2
storage_records = 10

[[target]]
strategy = "session"
store = "redis"

[[load]]
scenario = "browse"
model = "closed"
users = 5
"#;

const CASE: &str = "session-redis/browse-closed-5u";

fn authbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_authbench"))
}

fn case(r: &Results) -> &Case {
    r.cases.iter().find(|c| c.id == CASE).unwrap_or_else(|| panic!("{CASE} missing from {}", r.run_id))
}

fn timeline_requests(c: &Case) -> u64 {
    c.timeline.as_ref().expect("a timeline").seconds.iter().map(|s| s.requests).sum()
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "expected a refusal");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn two_shards_merge_into_one_exact_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let matrix = dir.join("matrix.toml");
    std::fs::write(&matrix, MATRIX).unwrap();
    let start = humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(8)).to_string();
    let shard = |i: usize| {
        authbench()
            .args(["run", "--matrix"])
            .arg(&matrix)
            .args(["--shard", &format!("{i}/2"), "--start-at", &start, "--out"])
            .arg(dir.join(format!("shard{i}")))
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..2).map(shard).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a shard failed");
    }
    let shards: Vec<Results> = (0..2).map(|i| results::read(&dir.join(format!("shard{i}"))).unwrap()).collect();
    for (i, r) in shards.iter().enumerate() {
        let rec = r.config.shard.expect("the shard is recorded");
        assert_eq!((rec.index as usize, rec.count, rec.targets), (i, 2, ShardTargets::Own));
        assert_eq!(rec.start_at.map(|s| s.0), humantime::parse_rfc3339(&start).ok());
        // The first case's warm-up began at --start-at: its window opened a warm-up after it.
        let slot_ms = humantime::parse_rfc3339(&start).unwrap().duration_since(std::time::UNIX_EPOCH).unwrap();
        let opened = case(r).window_start_unix_ms.expect("the window's wall-clock opening");
        assert!(u128::from(opened) >= slot_ms.as_millis() + 1000, "{}: opened {opened}", r.run_id);
        assert_eq!(r.skipped.len(), 0, "{:?}", r.skipped);
    }

    let merged_dir = dir.join("merged");
    let out = authbench()
        .arg("merge")
        .arg(dir.join("shard1"))
        .arg(dir.join("shard0"))
        .arg("--out")
        .arg(&merged_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let merged = results::read(&merged_dir).expect("the merged results read back");
    let from = merged.config.merged.as_ref().expect("merged results say where they came from");
    let ids: Vec<&str> = from.shards.iter().map(|s| s.run_id.as_str()).collect();
    assert_eq!(ids, ["shard0", "shard1"]);
    assert_eq!(merged.config.shard, None);

    let (a, b, m) = (case(&shards[0]), case(&shards[1]), case(&merged));
    assert!(a.requests > 0 && b.requests > 0);
    assert_eq!(m.requests, a.requests + b.requests, "merged requests are the shards' sum");
    let h = histogram::decode(&m.histogram.data).unwrap();
    assert_eq!(h.len(), m.requests, "the merged histogram holds every request");
    let max = |c: &Case| histogram::decode(&c.histogram.data).unwrap().max();
    assert_eq!(h.max(), max(a).max(max(b)));
    assert_eq!(m.latency_us.max, h.max());
    assert_eq!(m.target_requests, a.target_requests + b.target_requests, "each shard's own target, summed");
    assert!(m.window_s >= a.window_s.max(b.window_s), "the aligned window spans both");
    assert_eq!(timeline_requests(m), timeline_requests(a) + timeline_requests(b));
    assert_eq!(merged.summaries.len(), 1);
    assert_eq!(merged.summaries[0].case_ids, [CASE]);
    assert!(merged_dir.join(&m.histogram.hgrm).exists() && merged_dir.join(&m.histogram.hlog).exists());

    let report = authbench().arg("report").arg(&merged_dir).output().unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let text = std::fs::read_to_string(merged_dir.join("REPORT.md")).unwrap();
    assert!(text.contains("session-redis"), "the report shows the merged configuration");
    assert!(text.contains("Merged from 2 shards: shard 0 (run shard0), shard 1 (run shard1)."), "{text}");
    for args in [vec!["plan", "--rps", "1000", "--from"], vec!["adr", "--from"]] {
        let out = authbench().args(&args).arg(&merged_dir).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("session-redis"), "{args:?}");
    }

    refusals(dir);
}

/// A shard given twice or missing is refused, naming what to do.
fn refusals(dir: &Path) {
    let twice = authbench()
        .arg("merge")
        .arg(dir.join("shard0"))
        .arg(dir.join("shard0"))
        .arg("--out")
        .arg(dir.join("x"))
        .output()
        .unwrap();
    assert!(failed(&twice).contains("shard 0 is given twice"));
    let missing = authbench().arg("merge").arg(dir.join("shard1")).arg("--out").arg(dir.join("y")).output().unwrap();
    assert!(failed(&missing).contains("shard 0 of 2 is missing"));
}
