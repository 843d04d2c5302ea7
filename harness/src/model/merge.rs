//! `authbench merge`: the shards of one run (`authbench run --shard I/N` on several hosts) as one
//! run, exactly. Per case the latency histograms are added (HdrHistogram `add`) and the
//! percentiles read from the sum; requests, errors and saturated requests are summed; the window
//! is the wall-clock span from the earliest shard's window opening to the latest one's close, so
//! throughput is the merged requests over it (shards that drifted apart lower it, never raise it);
//! timelines are summed by wall-clock second; the load generators' CPU is summed. Summaries over
//! repetitions are recomputed from the merged cases by [`Summary::of_cases`].
//!
//! What a target measured (its CPU, bytes at its socket, store operations, memory, pool) depends on
//! [`ShardTargets`]. With `Shared` every shard's scrape saw the whole target, so those figures come
//! from shard 0 alone and are never counted twice. With `Own` (each shard started its own target
//! per case, as `authbench run` does today) each target served only its shard's requests: the
//! per-request figures are recovered as totals (figure × the requests that target served), summed
//! and divided by the requests all targets served — the figures of the shards' targets together.
//! Core shares are per process, not sums: the busiest target's and the busiest load generator's
//! (a load generator is bound on its own host, whatever the others did). Per-second percentiles
//! cannot be combined without per-second histograms: a merged second that several shards
//! completed requests in has none (not measured); the case's percentiles come from its merged
//! histogram. Probes, seeds, protocol checks, ladders and the environment are those of shard 0.

use std::collections::BTreeMap;
use std::fmt;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::histogram::{self, HistogramError};
use super::pool::PoolBusy;
use super::population::{Replay, StoreTouch};
use super::results::{
    Bytes, Case, Cpu, CpuSource, Latency, Results, RunStatus, Second, Shares, Skipped, Summary, Timeline,
};
use super::shard::{ShardRecord, ShardTargets, StartAt};

/// Which shards a merged run was combined from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedFrom {
    pub count: u32,
    pub start_at: Option<StartAt>,
    pub targets: ShardTargets,
    /// Each shard's run id, by index.
    pub shards: Vec<MergedShard>,
}

/// One shard of a merged run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedShard {
    pub index: u32,
    pub run_id: String,
}

/// What shards of one run must share; [`MergeError::Differs`] names the one that did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Schema,
    /// authbench version, git commit and build profile: the same code measured every shard.
    Build,
    Profile,
    Matrix,
    Options,
    Stores,
    StartAt,
    Targets,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Schema => "results schema",
            Part::Build => "build (authbench version, git commit, debug or release)",
            Part::Profile => "profile",
            Part::Matrix => "matrix (targets, loads, windows)",
            Part::Options => "command-line options",
            Part::Stores => "stores (throwaway or external)",
            Part::StartAt => "--start-at time",
            Part::Targets => "targets (own or shared)",
        })
    }
}

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give the results directory of every shard")]
    Empty,
    #[error("{run_id} is not a shard (its run config records none): merge runs made with authbench run --shard I/N")]
    NotAShard { run_id: String },
    #[error("{run_id} is a shard of {found}, {first} of {expected}: merge the shards of one run, all with the same N")]
    Count { run_id: String, found: u32, first: String, expected: u32 },
    #[error("shard {index} is given twice ({first} and {second}): give each shard's directory once")]
    Duplicate { index: u32, first: String, second: String },
    #[error("shard {index} of {count} is missing: give the results directories of shards 0 to {last}", last = count - 1)]
    Missing { index: u32, count: u32 },
    #[error("{run_id} differs from {first} in its {part}: the shards of one run share it; rerun the odd shard")]
    Differs { run_id: String, first: String, part: Part },
    #[error(
        "case {case}: {run_id} measured {found_warmup} s warm-up and a {found} s window, {first} {warmup} s and {duration} s: \
         rerun the shards with the same --warmup and --duration"
    )]
    Window { case: String, run_id: String, first: String, found_warmup: f64, found: f64, warmup: f64, duration: f64 },
    #[error("case {case} is in {has} but not in {lacks} (a failed or interrupted case?): rerun that shard")]
    CaseMissing { case: String, has: String, lacks: String },
    #[error("case {case} of {run_id}: {source}")]
    Histogram { case: String, run_id: String, source: HistogramError },
    #[error("case {case}: adding {run_id}'s histogram failed: {reason}")]
    Add { case: String, run_id: String, reason: String },
}

/// A shard's results with its record, in index order after [`ordered`].
struct ShardPart<'a> {
    record: ShardRecord,
    results: &'a Results,
}

/// Merges every shard of one run into one results document named `run_id`.
pub fn merge(shards: &[Results], run_id: String) -> Result<Results, MergeError> {
    let parts = ordered(shards)?;
    compatible(&parts)?;
    let first = parts[0].results;
    let targets = parts[0].record.targets;
    let cases = merge_cases(&parts, targets)?;
    let all = || parts.iter().map(|p| p.results);
    let mut method = first.method.clone();
    method.insert("merge".into(), METHOD.into());
    let mut config = first.config.clone();
    config.shard = None;
    config.merged = Some(MergedFrom {
        count: parts[0].record.count,
        start_at: parts[0].record.start_at,
        targets,
        shards: parts.iter().map(|p| MergedShard { index: p.record.index, run_id: p.results.run_id.clone() }).collect(),
    });
    Ok(Results {
        run_id,
        status: all().map(|r| r.status).max_by_key(|s| status_rank(*s)).unwrap_or(RunStatus::Complete),
        started_at: all().map(|r| r.started_at.clone()).min().unwrap_or_default(),
        finished_at: all().map(|r| r.finished_at.clone()).collect::<Option<Vec<_>>>().and_then(|v| v.into_iter().max()),
        config,
        method,
        summaries: Summary::of_cases(&cases),
        cases,
        skipped: skipped(all()),
        ..first.clone()
    })
}

const METHOD: &str = "Merged from shards run on several load hosts: latency histograms added exactly, requests, \
    errors and load-generator CPU summed, throughput over the span from the first window's opening to the last \
    one's close, timelines summed by wall-clock second; target figures from the shards' own targets together, \
    or from shard 0 when all drove one target.";

/// Complete is the best a merged run can be; any shard still running or interrupted says so.
fn status_rank(s: RunStatus) -> u8 {
    match s {
        RunStatus::Complete => 0,
        RunStatus::Interrupted => 1,
        RunStatus::Running => 2,
    }
}

/// The shards in index order: each a shard, of the same count, every index once.
fn ordered(shards: &[Results]) -> Result<Vec<ShardPart<'_>>, MergeError> {
    let first = shards.first().ok_or(MergeError::Empty)?;
    let record = |r: &Results| r.config.shard.ok_or_else(|| MergeError::NotAShard { run_id: r.run_id.clone() });
    let count = record(first)?.count;
    let mut slots: Vec<Option<ShardPart<'_>>> = (0..count).map(|_| None).collect();
    for r in shards {
        let rec = record(r)?;
        if rec.count != count {
            let (run_id, first) = (r.run_id.clone(), first.run_id.clone());
            return Err(MergeError::Count { run_id, found: rec.count, first, expected: count });
        }
        let slot = &mut slots[rec.index as usize];
        if let Some(seen) = slot {
            let (first, second) = (seen.results.run_id.clone(), r.run_id.clone());
            return Err(MergeError::Duplicate { index: rec.index, first, second });
        }
        *slot = Some(ShardPart { record: rec, results: r });
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.ok_or(MergeError::Missing { index: u32::try_from(i).unwrap_or(u32::MAX), count }))
        .collect()
}

/// Every shard ran the same schema, profile, matrix, options, stores, start time and targets.
fn compatible(parts: &[ShardPart<'_>]) -> Result<(), MergeError> {
    let a = parts[0].results;
    for p in &parts[1..] {
        let b = p.results;
        let differs = [
            (Part::Schema, a.schema != b.schema),
            (Part::Build, build(a) != build(b)),
            (Part::Profile, a.profile != b.profile),
            (Part::Matrix, a.config.matrix != b.config.matrix),
            (Part::Options, a.config.cli != b.config.cli),
            (Part::Stores, a.config.stores != b.config.stores),
            (Part::StartAt, parts[0].record.start_at != p.record.start_at),
            (Part::Targets, parts[0].record.targets != p.record.targets),
        ];
        if let Some((part, _)) = differs.into_iter().find(|(_, d)| *d) {
            return Err(MergeError::Differs { run_id: b.run_id.clone(), first: a.run_id.clone(), part });
        }
    }
    Ok(())
}

fn build(r: &Results) -> (&Option<String>, &Option<String>, Option<super::environment::BuildProfile>) {
    let e = &r.environment;
    (&e.authbench_version, &e.git_sha, e.build_profile)
}

/// Shard 0's cases in its order, each merged with the same case of every other shard.
fn merge_cases(parts: &[ShardPart<'_>], targets: ShardTargets) -> Result<Vec<Case>, MergeError> {
    let first = parts[0].results;
    for p in &parts[1..] {
        if let Some(extra) = p.results.cases.iter().find(|c| !first.cases.iter().any(|f| f.id == c.id)) {
            let (has, lacks) = (p.results.run_id.clone(), first.run_id.clone());
            return Err(MergeError::CaseMissing { case: extra.id.clone(), has, lacks });
        }
    }
    first
        .cases
        .iter()
        .map(|c| {
            let same: Vec<(&str, &Case)> = parts
                .iter()
                .map(|p| {
                    let found = p.results.cases.iter().find(|o| o.id == c.id);
                    found.map(|o| (p.results.run_id.as_str(), o)).ok_or_else(|| MergeError::CaseMissing {
                        case: c.id.clone(),
                        has: first.run_id.clone(),
                        lacks: p.results.run_id.clone(),
                    })
                })
                .collect::<Result<_, _>>()?;
            merge_case(&same, targets)
        })
        .collect()
}

/// One case measured by every shard (shard 0 first), as one case.
fn merge_case(same: &[(&str, &Case)], targets: ShardTargets) -> Result<Case, MergeError> {
    let (first_id, c0) = same[0];
    for (run_id, c) in &same[1..] {
        if c.warmup_s != c0.warmup_s || c.duration_s != c0.duration_s {
            return Err(MergeError::Window {
                case: c0.id.clone(),
                run_id: (*run_id).to_owned(),
                first: first_id.to_owned(),
                found_warmup: c.warmup_s,
                found: c.duration_s,
                warmup: c0.warmup_s,
                duration: c0.duration_s,
            });
        }
    }
    let cases: Vec<&Case> = same.iter().map(|(_, c)| *c).collect();
    let h = added_histogram(same)?;
    let (window_s, window_start_unix_ms) = aligned_window(&cases);
    let server = server_side(&cases, targets);
    let requests = h.len();
    let loadgen: f64 = cases.iter().map(|c| c.cpu_us_per_request.loadgen * c.target_requests).sum();
    let cpu = Cpu { loadgen: loadgen / server.served.max(f64::MIN_POSITIVE), ..server.cpu };
    Ok(Case {
        window_s,
        window_start_unix_ms,
        requests,
        errors: summed_errors(&cases),
        throughput_rps: requests as f64 / window_s,
        latency_us: Latency::from_histogram(&h),
        latency_saturated: cases.iter().map(|c| c.latency_saturated).sum(),
        histogram: super::results::HistogramData {
            data: histogram::encode(&h).map_err(|source| MergeError::Histogram {
                case: c0.id.clone(),
                run_id: first_id.to_owned(),
                source,
            })?,
            ..c0.histogram.clone()
        },
        target_requests: server.served,
        bytes_per_request: server.bytes,
        store_ops_per_request: server.store_ops,
        store_op_latency_us: server.store_op_latency_us,
        req_per_core_s: (cpu.target > 0.0).then(|| 1e6 / cpu.target),
        cpu_us_per_request: cpu,
        peak_rss_bytes: server.peak_rss_bytes,
        shares: merged_shares(&cases, targets),
        timeline: merged_timeline(&cases, targets),
        pool: server.pool,
        store_touch: merged_store_touch(&cases, targets),
        ..c0.clone()
    })
}

/// Every shard's histogram of one case, added.
fn added_histogram(same: &[(&str, &Case)]) -> Result<Histogram<u64>, MergeError> {
    let mut sum: Option<Histogram<u64>> = None;
    for (run_id, c) in same {
        let h = histogram::decode(&c.histogram.data).map_err(|source| MergeError::Histogram {
            case: c.id.clone(),
            run_id: (*run_id).to_owned(),
            source,
        })?;
        match &mut sum {
            None => {
                let mut h = h;
                h.auto(true);
                sum = Some(h);
            }
            Some(s) => s.add(&h).map_err(|e| MergeError::Add {
                case: c.id.clone(),
                run_id: (*run_id).to_owned(),
                reason: format!("{e:?}"),
            })?,
        }
    }
    sum.ok_or(MergeError::Empty)
}

/// The wall-clock span from the first window's opening to the last one's close, seconds, and
/// when it opened; without every opening time, the longest window, opening unknown.
fn aligned_window(cases: &[&Case]) -> (f64, Option<u64>) {
    let longest = cases.iter().map(|c| c.window_s).fold(0.0, f64::max);
    let opens: Option<Vec<u64>> = cases.iter().map(|c| c.window_start_unix_ms).collect();
    let Some(opens) = opens else { return (longest, None) };
    let open = opens.iter().copied().min().unwrap_or_default();
    // Relative to the opening, so the shard that opened first keeps its window to the last bit.
    let span = cases.iter().zip(&opens).map(|(c, o)| (o - open) as f64 / 1e3 + c.window_s).fold(0.0, f64::max);
    (span, Some(open))
}

fn summed_errors(cases: &[&Case]) -> BTreeMap<String, u64> {
    let mut errors = BTreeMap::new();
    for (status, n) in cases.iter().flat_map(|c| &c.errors) {
        *errors.entry(status.clone()).or_insert(0) += n;
    }
    errors
}

/// What the target side measured, merged as [`ShardTargets`] says.
struct ServerSide {
    served: f64,
    bytes: Bytes,
    store_ops: f64,
    store_op_latency_us: Option<f64>,
    /// Loadgen is filled in by the caller.
    cpu: Cpu,
    peak_rss_bytes: Option<u64>,
    pool: Option<PoolBusy>,
}

fn server_side(cases: &[&Case], targets: ShardTargets) -> ServerSide {
    let c0 = cases[0];
    match targets {
        ShardTargets::Shared => ServerSide {
            served: c0.target_requests,
            bytes: c0.bytes_per_request.clone(),
            store_ops: c0.store_ops_per_request,
            store_op_latency_us: c0.store_op_latency_us,
            cpu: c0.cpu_us_per_request.clone(),
            peak_rss_bytes: c0.peak_rss_bytes,
            pool: c0.pool,
        },
        ShardTargets::Own => own_targets(cases),
    }
}

/// Each shard's own target: per-request figures as totals, summed, over all requests served.
fn own_targets(cases: &[&Case]) -> ServerSide {
    let served: f64 = cases.iter().map(|c| c.target_requests).sum();
    let per = |f: &dyn Fn(&Case) -> f64| {
        cases.iter().map(|c| f(c) * c.target_requests).sum::<f64>() / served.max(f64::MIN_POSITIVE)
    };
    let known = |f: &dyn Fn(&Case) -> Option<f64>| {
        let all: Option<Vec<f64>> = cases.iter().map(|c| f(c)).collect();
        all.map(|_| per(&|c| f(c).unwrap_or_default()))
    };
    let b = |f: fn(&Bytes) -> f64| per(&|c| f(&c.bytes_per_request));
    let ops = |c: &Case| c.store_ops_per_request * c.target_requests;
    ServerSide {
        served,
        bytes: Bytes {
            received: b(|x| x.received),
            sent: b(|x| x.sent),
            auth: b(|x| x.auth),
            auth_received: b(|x| x.auth_received),
            auth_sent: b(|x| x.auth_sent),
        },
        store_ops: per(&|c| c.store_ops_per_request),
        store_op_latency_us: weighted(cases.iter().map(|c| (c.store_op_latency_us, ops(c)))),
        cpu: Cpu {
            target: per(&|c| c.cpu_us_per_request.target),
            store: known(&|c| c.cpu_us_per_request.store),
            loadgen: 0.0,
            relay: known(&|c| c.cpu_us_per_request.relay),
            // Own targets are started by each shard: read where the shards read them.
            source: cases.first().map_or(CpuSource::Proc, |c| c.cpu_us_per_request.source),
            balancer: known(&|c| c.cpu_us_per_request.balancer),
            // Replicas are the shards' own: no one replica of one shard stands for a replica of another.
            per_replica: Vec::new(),
        },
        peak_rss_bytes: cases.iter().filter_map(|c| c.peak_rss_bytes).max(),
        pool: own_pools(cases),
    }
}

/// The mean of the known values weighted by their weights; None when none is known.
fn weighted(values: impl Iterator<Item = (Option<f64>, f64)>) -> Option<f64> {
    let (sum, weight) =
        values.filter_map(|(v, w)| Some((v? * w, w))).fold((0.0, 0.0), |(s, ws), (x, w)| (s + x, ws + w));
    (weight > 0.0).then(|| sum / weight)
}

/// The targets' pools together: connection time over their windows, and per store operation.
fn own_pools(cases: &[&Case]) -> Option<PoolBusy> {
    let pools: Vec<(&PoolBusy, &Case)> = cases.iter().filter_map(|c| c.pool.as_ref().map(|p| (p, *c))).collect();
    if pools.len() != cases.len() {
        return None;
    }
    let share = weighted(pools.iter().map(|(p, c)| (Some(p.share), c.window_s)))?;
    let held = weighted(pools.iter().map(|(p, c)| (p.held_us_per_op, c.store_ops_per_request * c.target_requests)));
    Some(PoolBusy { share, held_us_per_op: held })
}

/// Core shares per process: the busiest load generator, and the busiest (own) or the one
/// (shared) target, store and relay; None unless every shard recorded shares.
fn merged_shares(cases: &[&Case], targets: ShardTargets) -> Option<Shares> {
    let all: Vec<&Shares> = cases.iter().map(|c| c.shares.as_ref()).collect::<Option<_>>()?;
    let most = |f: fn(&Shares) -> f64| all.iter().map(|s| f(s)).fold(0.0, f64::max);
    let most_known = |f: fn(&Shares) -> Option<f64>| {
        all.iter().map(|s| f(s)).collect::<Option<Vec<f64>>>().map(|v| v.into_iter().fold(0.0, f64::max))
    };
    let loadgen = most(|s| s.loadgen);
    let steal = most_known(|s| s.steal);
    Some(match targets {
        ShardTargets::Shared => Shares { loadgen, steal, ..all[0].clone() },
        ShardTargets::Own => Shares {
            target: most(|s| s.target),
            store: most_known(|s| s.store),
            loadgen,
            steal,
            relay: most_known(|s| s.relay),
            balancer: most_known(|s| s.balancer),
        },
    })
}

/// Store touches: counted by the targets (own: summed; shared: shard 0's); replays by the
/// clients, summed either way.
fn merged_store_touch(cases: &[&Case], targets: ShardTargets) -> Option<StoreTouch> {
    let replay = cases
        .iter()
        .filter_map(|c| c.store_touch.as_ref()?.replay)
        .reduce(|a, b| Replay { presented: a.presented + b.presented, refused: a.refused + b.refused });
    let touch = match targets {
        ShardTargets::Shared => cases[0].store_touch.clone(),
        ShardTargets::Own => {
            let all: Vec<&StoreTouch> = cases.iter().map(|c| c.store_touch.as_ref()).collect::<Option<_>>()?;
            let sum = |f: fn(&StoreTouch) -> f64| all.iter().map(|t| f(t)).sum::<f64>();
            StoreTouch::of(sum(|t| t.requests), sum(|t| t.logins), sum(|t| t.refreshes), sum(|t| t.logouts))
        }
    };
    touch.map(|t| StoreTouch { replay, ..t })
}

/// The shards' timelines summed by wall-clock second, from the earliest warm-up start; None
/// unless every shard recorded one.
fn merged_timeline(cases: &[&Case], targets: ShardTargets) -> Option<Timeline> {
    let lines: Vec<&Timeline> = cases.iter().map(|c| c.timeline.as_ref()).collect::<Option<_>>()?;
    // Each warm-up's start in ms: the window's opening less the warm-up before it.
    let starts: Option<Vec<f64>> = cases
        .iter()
        .zip(&lines)
        .map(|(c, t)| c.window_start_unix_ms.map(|w| w as f64 - t.window_start_s * 1e3))
        .collect();
    let origin = starts.as_ref().map(|s| s.iter().copied().fold(f64::INFINITY, f64::min));
    let offsets: Vec<usize> = match (&starts, origin) {
        (Some(s), Some(o)) => s.iter().map(|x| ((x - o) / 1e3).round() as usize).collect(),
        _ => vec![0; lines.len()],
    };
    let len = lines.iter().zip(&offsets).map(|(t, o)| o + t.seconds.len()).max().unwrap_or(0);
    let seconds = (0..len).map(|k| merged_second(k, &lines, &offsets, targets)).collect();
    let window_start_s = match (aligned_window(cases).1, origin) {
        (Some(open), Some(o)) => (open as f64 - o) / 1e3,
        _ => lines[0].window_start_s,
    };
    Some(Timeline { window_start_s, seconds })
}

/// Merged second `k`: counts summed over the shards that had it; percentiles only where one
/// shard completed requests in it; store operations as the target figures are merged.
fn merged_second(k: usize, lines: &[&Timeline], offsets: &[usize], targets: ShardTargets) -> Second {
    let at: Vec<Option<&Second>> =
        lines.iter().zip(offsets).map(|(t, o)| k.checked_sub(*o).and_then(|i| t.seconds.get(i))).collect();
    let here: Vec<&Second> = at.iter().flatten().copied().collect();
    let sum = |f: fn(&Second) -> u64| here.iter().map(|s| f(s)).sum::<u64>();
    let busy: Vec<&&Second> = here.iter().filter(|s| s.requests > 0).collect();
    let (p50_us, p99_us) = match busy.as_slice() {
        [one] => (one.p50_us, one.p99_us),
        _ => (None, None),
    };
    let store_ops = match targets {
        ShardTargets::Shared => at[0].and_then(|s| s.store_ops),
        // A second no shard sampled is not measured, not 0.
        ShardTargets::Own if here.is_empty() => None,
        ShardTargets::Own => here.iter().map(|s| s.store_ops).sum::<Option<f64>>(),
    };
    Second {
        t_s: u32::try_from(k).unwrap_or(u32::MAX),
        requests: sum(|s| s.requests),
        errors: sum(|s| s.errors),
        unauthorized: sum(|s| s.unauthorized),
        unavailable: sum(|s| s.unavailable),
        sessions_lost: sum(|s| s.sessions_lost),
        p50_us,
        p99_us,
        store_ops,
    }
}

/// Every shard's skipped cases, each id once.
fn skipped<'a>(all: impl Iterator<Item = &'a Results>) -> Vec<Skipped> {
    let mut out: Vec<Skipped> = Vec::new();
    for s in all.flat_map(|r| &r.skipped) {
        if !out.iter().any(|o| o.id == s.id) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests;
