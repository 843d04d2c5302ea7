//! Turns what was read at the two edges of a measured window into a [`Case`]: every per-request
//! figure is a delta of the target's own counters or /proc, divided by the requests it served.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use authbench_scenarios::recorder::Window;
use authbench_targets::contract::metric;
use authbench_targets::spec::{StoreKind, TargetSpec};

use super::provision::Stores;
use super::scrape::{scrape_all, Snapshot};
use super::serving::Serving;
use super::timeline::{self, Sampled, ScrapeBytes};
use super::{cpu, export, Timing};
use crate::model::histogram;
use crate::model::matrix::LoadSpec;
use crate::model::pool::PoolBusy;
use crate::model::results::{Bytes, Case, Cpu, CpuSource, HistogramData, Latency, Shares};

/// Counters and CPU read at one edge of the window.
pub struct Edge {
    pub metrics: Snapshot,
    pub target_cpu_us: u64,
    /// Where `target_cpu_us` was read.
    pub cpu_source: CpuSource,
    /// None when the store's processes are not visible (an external server).
    pub store_cpu_us: Option<u64>,
    /// The delay relay's CPU; None without a relay (or when its process could not be read).
    pub relay_cpu_us: Option<u64>,
    /// Each replica's CPU, summed in `target_cpu_us`; empty for a single target.
    pub replica_cpu_us: Vec<u64>,
    /// The balancer's CPU; None without replicas behind one.
    pub balancer_cpu_us: Option<u64>,
    pub loadgen_cpu_us: u64,
    /// The machine's CPU ticks, for steal; None when /proc/stat could not be read.
    pub machine: Option<cpu::MachineTicks>,
    /// When the target's CPU was read: shares divide CPU by the time between the two readings,
    /// a few ms wider than the recorded window.
    pub cpu_at: Instant,
}

/// CPU of the target and of its store's processes: a started target's from /proc (each replica's,
/// summed), a deployed one's from the `process_cpu_seconds_total` of its scrape (summed over
/// replicas), whose store the harness did not start and cannot see.
fn server_cpu(
    target: Serving<'_>,
    metrics: &Snapshot,
    stores: &Stores,
    spec: &TargetSpec,
) -> anyhow::Result<ServerCpu> {
    if let Serving::Deployed(d) = target {
        let seconds = metrics.process_cpu_seconds.with_context(|| {
            format!(
                "{} does not export {} on /metrics: deploy an authbench-target of this version",
                d.urls.join(", "),
                metric::PROCESS_CPU_SECONDS
            )
        })?;
        return Ok(ServerCpu { target_us: (seconds * 1e6).round() as u64, replicas_us: Vec::new(), store_us: None });
    }
    let replicas_us = target
        .pids()
        .into_iter()
        .map(|pid| cpu::process_us(pid).with_context(|| format!("target process {pid} vanished")))
        .collect::<anyhow::Result<Vec<u64>>>()?;
    let store_us = match spec.needed_store() {
        None | Some(StoreKind::Memory) => Some(0),
        Some(kind) => stores.endpoint(kind).ok().flatten().and_then(|e| e.cpu_us()),
    };
    let target_us = replicas_us.iter().sum();
    let replicas_us = if replicas_us.len() > 1 { replicas_us } else { Vec::new() };
    Ok(ServerCpu { target_us, replicas_us, store_us })
}

/// Target CPU (with each replica's when there are several) and store CPU at one edge.
struct ServerCpu {
    target_us: u64,
    replicas_us: Vec<u64>,
    store_us: Option<u64>,
}

/// The CPU of the processes the harness runs beside the target: the delay relay before its
/// store, the balancer before its replicas (None where there is none).
struct Beside {
    relay_us: Option<u64>,
    balancer_us: Option<u64>,
}

impl Beside {
    fn read(target: Serving<'_>) -> Beside {
        match target {
            Serving::Started(t) => Beside { relay_us: t.relay_pid().and_then(cpu::process_us), balancer_us: None },
            Serving::Replicated(r) => Beside { relay_us: None, balancer_us: cpu::process_us(r.balancer.pid) },
            Serving::Deployed(_) => Beside { relay_us: None, balancer_us: None },
        }
    }
}

fn loadgen_cpu() -> anyhow::Result<u64> {
    cpu::self_us().context("reading this process's CPU time from /proc failed")
}

impl Edge {
    /// The opening edge: the scrape first, then target and store, the machine's ticks, the load
    /// generator's CPU last, so neither the scrape nor the harness's own readings land inside the
    /// window's CPU figures.
    pub async fn open(target: Serving<'_>, stores: &Stores, spec: &TargetSpec) -> anyhow::Result<Edge> {
        let metrics = scrape_all(&target.scrape_at()?, target.control_key()).await?;
        let server = server_cpu(target, &metrics, stores, spec)?;
        let beside = Beside::read(target);
        let cpu_at = Instant::now();
        let machine = cpu::machine_ticks();
        let loadgen_cpu_us = loadgen_cpu()?;
        Ok(Edge::assemble(target, metrics, server, beside, (loadgen_cpu_us, machine, cpu_at)))
    }

    /// The closing edge, in the reverse order of [`Edge::open`] (a deployed target's CPU comes
    /// with its scrape, last).
    pub async fn close(target: Serving<'_>, stores: &Stores, spec: &TargetSpec) -> anyhow::Result<Edge> {
        let loadgen_cpu_us = loadgen_cpu()?;
        let machine = cpu::machine_ticks();
        let beside = Beside::read(target);
        let started = match target {
            Serving::Started(_) | Serving::Replicated(_) => {
                Some(server_cpu(target, &Snapshot::default(), stores, spec)?)
            }
            Serving::Deployed(_) => None,
        };
        let cpu_at = Instant::now();
        let metrics = scrape_all(&target.scrape_at()?, target.control_key()).await?;
        let server = match started {
            Some(read) => read,
            None => server_cpu(target, &metrics, stores, spec)?,
        };
        Ok(Edge::assemble(target, metrics, server, beside, (loadgen_cpu_us, machine, cpu_at)))
    }

    /// One edge from its readings; `harness` is the load generator's CPU, the machine's ticks and
    /// when the target's CPU was read.
    fn assemble(
        target: Serving<'_>,
        metrics: Snapshot,
        server: ServerCpu,
        beside: Beside,
        harness: (u64, Option<cpu::MachineTicks>, Instant),
    ) -> Edge {
        let (loadgen_cpu_us, machine, cpu_at) = harness;
        Edge {
            metrics,
            target_cpu_us: server.target_us,
            replica_cpu_us: server.replicas_us,
            cpu_source: target.cpu_source(),
            store_cpu_us: server.store_us,
            relay_cpu_us: beside.relay_us,
            balancer_cpu_us: beside.balancer_us,
            loadgen_cpu_us,
            machine,
            cpu_at,
        }
    }
}

/// A completed window: both edges, its length and when it started, and the timeline's sampling.
pub struct Measured {
    pub before: Edge,
    pub after: Edge,
    pub window: Duration,
    pub wall_start: SystemTime,
    pub sampled: Sampled,
}

/// Where a case's files go and how it is named.
pub struct CaseFiles<'a> {
    pub out: &'a Path,
    pub key: super::case::CaseKey<'a>,
    /// The id made safe for a file name.
    pub stem: String,
    pub goose_report: PathBuf,
}

impl CaseFiles<'_> {
    fn relative(&self, p: &Path) -> PathBuf {
        p.strip_prefix(self.out).unwrap_or(p).to_owned()
    }
}

fn store_op_latency_us(before: &Snapshot, after: &Snapshot, ops: f64) -> Option<f64> {
    let seconds: f64 = after
        .store_seconds
        .iter()
        .filter(|(op, _)| op.as_str() != metric::PING_OP)
        .map(|(op, s)| s - before.store_seconds.get(op).copied().unwrap_or(0.0))
        .sum();
    (ops > 0.0).then(|| seconds * 1e6 / ops)
}

fn bytes(b: &Snapshot, a: &Snapshot, timeline: ScrapeBytes, per: impl Fn(f64) -> f64) -> Bytes {
    // The scrapes' own bytes: the closing scrape's request landed inside the window, the opening
    // scrape's response too, and the timeline's scrapes between them whole.
    let received = a.bytes_received - b.bytes_received - a.request_len as f64 - timeline.request as f64;
    // Over TLS a scrape's handshake is sent before the counters are rendered, its response after.
    let (opening, closing) = (b.response_after_render(), a.handshake_response_len);
    let sent = a.bytes_sent - b.bytes_sent - opening as f64 - closing as f64 - timeline.response as f64;
    let (auth_in, auth_out) = (a.auth_received - b.auth_received, a.auth_sent - b.auth_sent);
    Bytes {
        received: per(received),
        sent: per(sent),
        auth: per(auth_in + auth_out),
        auth_received: per(auth_in),
        auth_sent: per(auth_out),
    }
}

fn cpu_per_request(before: &Edge, after: &Edge, per: impl Fn(f64) -> f64) -> Cpu {
    Cpu {
        target: per(after.target_cpu_us.saturating_sub(before.target_cpu_us) as f64),
        store: before.store_cpu_us.zip(after.store_cpu_us).map(|(b, a)| per(a.saturating_sub(b) as f64)),
        loadgen: per(after.loadgen_cpu_us.saturating_sub(before.loadgen_cpu_us) as f64),
        relay: before.relay_cpu_us.zip(after.relay_cpu_us).map(|(b, a)| per(a.saturating_sub(b) as f64)),
        source: after.cpu_source,
        balancer: before.balancer_cpu_us.zip(after.balancer_cpu_us).map(|(b, a)| per(a.saturating_sub(b) as f64)),
        per_replica: before
            .replica_cpu_us
            .iter()
            .zip(&after.replica_cpu_us)
            .map(|(b, a)| per(a.saturating_sub(*b) as f64))
            .collect(),
    }
}

/// Each process group's CPU between the edges' CPU readings (`span` apart) as a share of one
/// core, and the machine's steal.
fn shares(before: &Edge, after: &Edge, span: Duration) -> Shares {
    let core_us = span.as_secs_f64() * 1e6;
    let share = |b: u64, a: u64| a.saturating_sub(b) as f64 / core_us;
    Shares {
        target: share(before.target_cpu_us, after.target_cpu_us),
        store: before.store_cpu_us.zip(after.store_cpu_us).map(|(b, a)| share(b, a)),
        loadgen: share(before.loadgen_cpu_us, after.loadgen_cpu_us),
        steal: cpu::steal_share(before.machine, after.machine),
        relay: before.relay_cpu_us.zip(after.relay_cpu_us).map(|(b, a)| share(b, a)),
        balancer: before.balancer_cpu_us.zip(after.balancer_cpu_us).map(|(b, a)| share(b, a)),
    }
}

fn write_histograms(w: &Window, m: &Measured, files: &CaseFiles<'_>) -> anyhow::Result<HistogramData> {
    let dir = files.out.join("histograms");
    let hgrm = dir.join(format!("{}.hgrm", files.stem));
    let hlog = dir.join(format!("{}.hlog", files.stem));
    export::write_hgrm(&w.histogram, &hgrm).with_context(|| format!("cannot write {}", hgrm.display()))?;
    export::write_hlog(&w.histogram, m.wall_start, m.window, &files.stem, &hlog)
        .with_context(|| format!("cannot write {}", hlog.display()))?;
    Ok(HistogramData {
        unit: "microseconds".into(),
        encoding: "HdrHistogram V2 deflate, base64".into(),
        data: histogram::encode(&w.histogram)?,
        hgrm: files.relative(&hgrm),
        hlog: files.relative(&hlog),
    })
}

/// Builds the case from the recorder's window and the two edges.
pub fn build_case(
    spec: &TargetSpec,
    load: &LoadSpec,
    timing: &Timing,
    w: &Window,
    m: &Measured,
    files: &CaseFiles<'_>,
    peak_rss_bytes: Option<u64>,
) -> anyhow::Result<Case> {
    let (b, a) = (&m.before.metrics, &m.after.metrics);
    let requests = w.histogram.len();
    anyhow::ensure!(requests > 0, "no request completed in the measured window (see the target log)");
    let served = a.served() - b.served();
    // The denominator of every per-request figure: a target that counted nothing makes them unknowable.
    anyhow::ensure!(served > 0.0, "the target's own counters recorded no request in the window (see the target log)");
    let per = |x: f64| x / served;
    let store_ops = a.store_ops_total() - b.store_ops_total();
    let cpu = cpu_per_request(&m.before, &m.after, per);
    Ok(Case {
        id: files.key.id.to_owned(),
        target: spec.into(),
        load: *load,
        repetition: files.key.repetition,
        role: files.key.role,
        warmup_s: timing.warmup.as_secs_f64(),
        duration_s: timing.duration.as_secs_f64(),
        window_s: m.window.as_secs_f64(),
        window_start_unix_ms: m
            .wall_start
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok()),
        requests,
        errors: w.statuses.iter().filter(|(s, _)| !(200..300).contains(*s)).map(|(s, n)| (s.to_string(), *n)).collect(),
        throughput_rps: requests as f64 / m.window.as_secs_f64(),
        latency_us: Latency::from_histogram(&w.histogram),
        latency_saturated: w.saturated,
        histogram: write_histograms(w, m, files)?,
        target_requests: served,
        bytes_per_request: bytes(b, a, m.sampled.window_bytes, per),
        store_ops_per_request: per(store_ops),
        store_op_latency_us: store_op_latency_us(b, a, store_ops),
        req_per_core_s: (cpu.target > 0.0).then(|| 1e6 / cpu.target),
        cpu_us_per_request: cpu,
        peak_rss_bytes,
        goose_report: files.relative(&files.goose_report),
        shares: Some(shares(&m.before, &m.after, m.after.cpu_at.duration_since(m.before.cpu_at))),
        timeline: Some(timeline::build(w, &m.sampled, m.window)),
        pool: (spec.needed_store() == Some(StoreKind::Postgres))
            .then(|| PoolBusy::of(a.pool_held_seconds - b.pool_held_seconds, m.window, spec.pool_size, store_ops))
            .flatten(),
        fault: None,
        store_touch: super::population::store_touch(spec, b, a, w),
        population: super::population::record(spec, load),
    })
}

#[cfg(test)]
mod shares_tests {
    use super::*;
    use crate::model::results::LOADGEN_BOUND_SHARE;

    fn edge(target: u64, store: Option<u64>, loadgen: u64, machine: Option<(u64, u64)>) -> Edge {
        Edge {
            metrics: Snapshot::default(),
            target_cpu_us: target,
            cpu_source: CpuSource::Proc,
            store_cpu_us: store,
            relay_cpu_us: None,
            replica_cpu_us: Vec::new(),
            balancer_cpu_us: None,
            loadgen_cpu_us: loadgen,
            machine: machine.map(|(total, steal)| cpu::MachineTicks { total, steal }),
            cpu_at: std::time::Instant::now(),
        }
    }

    #[test]
    fn shares_are_cpu_deltas_over_the_window_in_cores() {
        let before = edge(1_000_000, Some(500_000), 2_000_000, Some((10_000, 100)));
        let after = edge(4_000_000, Some(1_500_000), 7_700_000, Some((10_800, 124)));
        let s = shares(&before, &after, Duration::from_secs(6));
        assert_eq!(s.target, 0.5);
        assert_eq!(s.store, Some(1.0 / 6.0));
        assert_eq!(s.loadgen, 0.95);
        assert_eq!(s.steal, Some(0.03));
        assert!(s.loadgen_bound() && s.steal_warning());
    }

    #[test]
    fn what_was_not_read_stays_unknown() {
        let before = edge(0, None, 0, None);
        let after = edge(2_000_000, None, 1_900_000, Some((900, 9)));
        let s = shares(&before, &after, Duration::from_secs(2));
        assert_eq!((s.store, s.steal), (None, None));
        assert!(!s.steal_warning());
        assert_eq!(s.target, 1.0);
        // A busy target under a busy generator is the target's limit, not the generator's.
        assert!(s.target >= LOADGEN_BOUND_SHARE && !s.loadgen_bound());
    }
}
