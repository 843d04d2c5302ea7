//! `results.json`: schema `authbench.results/2`, written after every finished case so an
//! interrupted run keeps what it measured. Version 1 files are upgraded on read ([`super::upgrade`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use authbench_scenarios::{LoadModel, ScenarioKind};
use authbench_targets::spec::{StoreKind, TargetSpec};
use serde::{Deserialize, Serialize};

use super::environment::Environment;
use super::ladder::{Ladder, Slo};
use super::matrix::{LoadSpec, Matrix};
use super::probe::ProbeResult;
use super::stats::Estimate;

/// Schema identifier; bump when a field changes meaning.
pub const SCHEMA: &str = "authbench.results/2";

/// Where a run is: a file that says `running` was cut short without a clean stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Complete,
    Interrupted,
}

impl RunStatus {
    /// Lower-case name, as in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// Whether a store was started for the run or given by the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreOrigin {
    /// Started by the harness from local binaries, its CPU attributable.
    Throwaway,
    /// A server the user runs: its CPU is not visible from here.
    External,
}

/// Where each store of the run came from (None: the run needed no such store).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreOrigins {
    pub postgres: Option<StoreOrigin>,
    pub redis: Option<StoreOrigin>,
    /// Absent from runs that needed no Redis Cluster (and from runs before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_cluster: Option<StoreOrigin>,
}

/// The command-line filters and overrides that shaped the matrix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Overrides {
    pub strategies: Vec<authbench_targets::spec::StrategyKind>,
    pub stores: Vec<super::matrix::StoreFilter>,
    pub algs: Vec<authbench_targets::token::alg::Alg>,
    pub scenarios: Vec<ScenarioKind>,
    pub users: Option<usize>,
    pub rate: Option<f64>,
    pub duration: Option<authbench_targets::spec::Span>,
    pub warmup: Option<authbench_targets::spec::Span>,
    pub repetitions: Option<u32>,
    pub slo: Option<Slo>,
    pub postgres_url_given: bool,
    pub redis_url_given: bool,
    /// The deployed targets' URLs (`--target-url`); empty when the harness started its targets.
    pub target_urls: Vec<String>,
}

/// What was asked for: the matrix as run, where it came from and how it was narrowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub matrix: Matrix,
    pub cli: Overrides,
    pub stores: StoreOrigins,
    /// The shard this run was (`--shard I/N`): its cases hold its share of each load only; None
    /// for a whole run and in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::ShardRecord>,
    /// The shards `authbench merge` combined into this run; None for a run measured in one piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<super::merge::MergedFrom>,
}

/// A whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub schema: String,
    pub run_id: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The profile name or the matrix file's path.
    pub profile: String,
    pub environment: Environment,
    pub config: RunConfig,
    /// How each figure was measured, in words, for the report's method section.
    pub method: BTreeMap<String, String>,
    pub cases: Vec<Case>,
    /// Each (configuration, load) over its repetitions: the headline figures with intervals.
    #[serde(default)]
    pub summaries: Vec<Summary>,
    #[serde(default)]
    pub ladders: Vec<Ladder>,
    /// The load generator's own ceiling on a bare endpoint, beside wrk's; None when not measured.
    #[serde(default)]
    pub loadgen_ceiling: Option<LoadgenCeiling>,
    pub probes: Vec<ProbeResult>,
    pub skipped: Vec<Skipped>,
    /// Per configuration with `seed_sessions`, what seeding its namespace did to the store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<super::seed::SeedRecord>,
    /// Per TLS configuration, bytes per request and per new connection for goose's client and
    /// h2load, measured at the target's socket; empty when the run had no TLS configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub h2load: Vec<super::protocol::ProtocolCheck>,
}

/// A target configuration as recorded: its id (the join key of reports and benches) and its spec.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetRecord {
    pub id: String,
    pub spec: TargetSpec,
}

impl From<&TargetSpec> for TargetRecord {
    fn from(spec: &TargetSpec) -> TargetRecord {
        TargetRecord { id: spec.id(), spec: *spec }
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Latency {
    /// The percentiles a case reports, read from its histogram.
    pub fn from_histogram(h: &hdrhistogram::Histogram<u64>) -> Latency {
        Latency {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// Bytes on the wire per request, counted on the target's sockets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bytes {
    pub received: f64,
    pub sent: f64,
    /// Auth material in both directions: Authorization/Cookie lines in, Set-Cookie lines and tokens out.
    pub auth: f64,
    pub auth_received: f64,
    pub auth_sent: f64,
}

impl Bytes {
    /// Both directions.
    pub fn total(&self) -> f64 {
        self.received + self.sent
    }
}

/// Where a case's target CPU and memory were read: the report's method says which.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuSource {
    /// /proc of a target process the harness started (every run before `--target-url`).
    #[default]
    Proc,
    /// The target's own /metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`):
    /// a deployed target whose /proc the harness cannot read.
    Metrics,
}

/// CPU microseconds per request, by process group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cpu {
    pub target: f64,
    /// None when the store runs outside this machine's view (an external URL).
    pub store: Option<f64>,
    pub loadgen: f64,
    /// The delay relay between target and store (its own process, never charged to either);
    /// None when the configuration had no relay.
    #[serde(default)]
    pub relay: Option<f64>,
    /// Where `target` was read; files older than the field were all read from /proc.
    #[serde(default)]
    pub source: CpuSource,
    /// The balancer in front of replicas (HAProxy, its own process, never charged to them); None
    /// for a single target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balancer: Option<f64>,
    /// Each replica's share of `target`, in replica order; empty for a single target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_replica: Vec<f64>,
}

impl Cpu {
    /// Target plus store, where the store's share is known.
    pub fn target_and_store(&self) -> Option<f64> {
        self.store.map(|s| self.target + s)
    }
}

/// The serialized histogram and where its standard-format copies are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistogramData {
    pub unit: String,
    pub encoding: String,
    pub data: String,
    pub hgrm: PathBuf,
    pub hlog: PathBuf,
}

/// Why a case ran: as a cell of the matrix, or as a step of a configuration's rate ladder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseRole {
    #[default]
    Matrix,
    /// A listed ladder step.
    Ladder,
    /// A step the SLO bisection added between two ladder steps.
    Refine,
    /// A fault case: a store or target fault inside the window, never part of a speed summary.
    Fault,
}

/// Each process group's CPU over the window as a share of one core (1.0 = a whole core), and
/// the machine's steal time as a share of all its CPU time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Shares {
    pub target: f64,
    /// None when the store's processes are not visible.
    pub store: Option<f64>,
    pub loadgen: f64,
    /// None when /proc/stat could not be read.
    pub steal: Option<f64>,
    /// The delay relay's process; None when the configuration had no relay.
    #[serde(default)]
    pub relay: Option<f64>,
    /// The balancer in front of replicas; None for a single target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balancer: Option<f64>,
}

/// A load generator at or above this share of a core, with the target under it, limited the case.
pub const LOADGEN_BOUND_SHARE: f64 = 0.9;
/// Steal time above this share of the machine's CPU makes a window's figures suspect.
pub const STEAL_WARNING_SHARE: f64 = 0.02;

impl Shares {
    /// Whether the load generator, not the target, was the limit: the load generator at or near a
    /// full core while the target was not.
    pub fn loadgen_bound(&self) -> bool {
        self.loadgen >= LOADGEN_BOUND_SHARE && self.target < LOADGEN_BOUND_SHARE
    }

    /// Whether steal time was high enough to warn about.
    pub fn steal_warning(&self) -> bool {
        self.steal.is_some_and(|s| s > STEAL_WARNING_SHARE)
    }
}

/// One second of a case, from the start of its warm-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Second {
    /// Seconds since the warm-up started (the start of this second).
    pub t_s: u32,
    /// Requests completed in this second.
    pub requests: u64,
    /// Non-2xx answers and transport errors in this second.
    pub errors: u64,
    /// 401 answers in this second: credentials the target no longer accepts (0 in older files).
    #[serde(default)]
    pub unauthorized: u64,
    /// 503 answers in this second: the target could not serve, e.g. its store was down.
    #[serde(default)]
    pub unavailable: u64,
    /// 401s in this second that made a client drop its session and log in again.
    #[serde(default)]
    pub sessions_lost: u64,
    /// None in a second without requests.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// Store operations the target counted in this second; None when not sampled.
    pub store_ops: Option<f64>,
}

/// A case second by second, warm-up included, so a stall shows where it happened. Seconds run
/// consecutively from 0 to the one the window closed in, which is therefore partial.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Timeline {
    /// Where the measured window opened, seconds from the warm-up's start.
    pub window_start_s: f64,
    pub seconds: Vec<Second>,
}

/// One measured case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub target: TargetRecord,
    pub load: LoadSpec,
    /// Which repetition of its (configuration, load) this is, from 1.
    #[serde(default = "first_repetition")]
    pub repetition: u32,
    #[serde(default)]
    pub role: CaseRole,
    /// Configured warm-up and window, seconds.
    pub warmup_s: f64,
    pub duration_s: f64,
    /// Measured window as timed by the harness, seconds.
    pub window_s: f64,
    /// When the measured window opened, wall clock in Unix milliseconds: aligns the windows and
    /// timelines of shards run on several hosts. None in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start_unix_ms: Option<u64>,
    /// Requests recorded in the window (the histogram's count).
    pub requests: u64,
    /// Non-2xx answers by status; "0" means no HTTP answer at all.
    pub errors: BTreeMap<String, u64>,
    pub throughput_rps: f64,
    pub latency_us: Latency,
    /// Requests slower than the histogram's 60 s ceiling (recorded at the ceiling).
    pub latency_saturated: u64,
    pub histogram: HistogramData,
    /// Requests the target served in the window, from its own counters: the denominator of the
    /// per-request figures below.
    pub target_requests: f64,
    pub bytes_per_request: Bytes,
    pub store_ops_per_request: f64,
    /// Mean store operation latency in µs, from the target's histogram; None without store ops.
    pub store_op_latency_us: Option<f64>,
    pub cpu_us_per_request: Cpu,
    /// 1e6 / target CPU µs per request: requests one core of target CPU serves per second.
    pub req_per_core_s: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub goose_report: PathBuf,
    /// None in files written before shares were recorded.
    #[serde(default)]
    pub shares: Option<Shares>,
    #[serde(default)]
    pub timeline: Option<Timeline>,
    /// PostgreSQL configurations: how busy the target's connection pool was; None otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<super::pool::PoolBusy>,
    /// The fault a fault case performed and what it did; None for every other case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<super::fault::FaultRecord>,
    /// A hybrid case's store-touching requests (logins, refreshes, logouts) from the target's own
    /// counters; None for other strategies and in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_touch: Option<super::population::StoreTouch>,
    /// A population case's time scaling and analytic store share; None for other scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<super::population::PopulationRecord>,
}

fn first_repetition() -> u32 {
    1
}

/// A (configuration, load) over its repetitions: every headline figure as median and interval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub target: TargetRecord,
    pub load: LoadSpec,
    pub case_ids: Vec<String>,
    pub throughput_rps: Estimate,
    pub p50_us: Estimate,
    pub p99_us: Estimate,
    pub target_cpu_us: Estimate,
    pub bytes_per_request: Estimate,
    /// Repetitions in which the load generator was the limit.
    pub loadgen_bound: usize,
}

impl Summary {
    /// The summaries of matrix cases, grouped by (configuration, load) in run order.
    pub fn of_cases(cases: &[Case]) -> Vec<Summary> {
        let mut groups: Vec<(&Case, Vec<&Case>)> = Vec::new();
        for c in cases.iter().filter(|c| c.role == CaseRole::Matrix) {
            match groups.iter_mut().find(|(k, _)| k.target.id == c.target.id && k.load == c.load) {
                Some((_, v)) => v.push(c),
                None => groups.push((c, vec![c])),
            }
        }
        groups.into_iter().filter_map(|(k, v)| Summary::of_group(k, &v)).collect()
    }

    fn of_group(key: &Case, v: &[&Case]) -> Option<Summary> {
        let est = |f: &dyn Fn(&Case) -> f64| Estimate::of(&v.iter().map(|c| f(c)).collect::<Vec<_>>());
        Some(Summary {
            target: key.target.clone(),
            load: key.load,
            case_ids: v.iter().map(|c| c.id.clone()).collect(),
            throughput_rps: est(&|c| c.throughput_rps)?,
            p50_us: est(&|c| c.latency_us.p50 as f64)?,
            p99_us: est(&|c| c.latency_us.p99 as f64)?,
            target_cpu_us: est(&|c| c.cpu_us_per_request.target)?,
            bytes_per_request: est(&|c| c.bytes_per_request.total())?,
            loadgen_bound: v.iter().filter(|c| c.shares.as_ref().is_some_and(Shares::loadgen_bound)).count(),
        })
    }
}

/// The load generator's ceiling on an endpoint that does no auth work, beside wrk's on the same
/// endpoint and connections: whether "saturation" elsewhere was the target's or the generator's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadgenCeiling {
    pub endpoint: String,
    /// Goose users, and wrk's -c: the matrix's first closed load's users.
    pub connections: usize,
    /// Goose's measured window, seconds; wrk ran for the matrix's duration rounded up to whole seconds.
    pub duration_s: f64,
    pub authbench_rps: f64,
    /// The harness process's CPU over goose's window, in cores (as [`Shares::loadgen`]).
    pub authbench_loadgen_share: f64,
    /// None when wrk is not installed or failed; `wrk_note` says why.
    pub wrk_rps: Option<f64>,
    pub wrk_note: Option<String>,
}

impl Case {
    /// Every non-2xx answer.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// True for the closed-model browse case of the matrix, the one configurations are compared by.
    pub fn is_closed_browse(&self) -> bool {
        self.role == CaseRole::Matrix
            && self.load.scenario == ScenarioKind::Browse
            && self.load.model == LoadModel::Closed
    }

    /// The store the target used, if any.
    pub fn store(&self) -> Option<StoreKind> {
        self.target.spec.needed_store()
    }
}

/// A case or probe that did not run, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

impl Results {
    /// The closed-model browse case of each target configuration, in run order: the case that
    /// charts, claims, plans and ADRs compare configurations by. A matrix with several closed
    /// browse loads contributes its first (the one [`Results::saturation`] reads); with
    /// repetitions, the one whose throughput is the median (the lower middle for an even count),
    /// so the figures shown beside its summary's interval come from one real window.
    pub fn closed_browse(&self) -> Vec<&Case> {
        let mut groups: Vec<Vec<&Case>> = Vec::new();
        for c in self.cases.iter().filter(|c| c.is_closed_browse()) {
            match groups.iter_mut().find(|g| g[0].target.id == c.target.id) {
                Some(g) if g[0].load == c.load => g.push(c),
                Some(_) => {}
                None => groups.push(vec![c]),
            }
        }
        groups.into_iter().filter_map(median_throughput).collect()
    }

    /// A configuration's closed-loop browse saturation: the summary of its first closed browse
    /// load, the one a ladder's fractions and the CPU curve's utilization are relative to.
    pub fn saturation(&self, target_id: &str) -> Option<&Summary> {
        self.summaries.iter().find(|s| {
            s.target.id == target_id && s.load.scenario == ScenarioKind::Browse && s.load.model == LoadModel::Closed
        })
    }

    /// The repetition of a summary whose single-window figures (p99.9, store CPU, …) the report
    /// shows beside its intervals: the one with the median throughput, as in [`Results::closed_browse`].
    pub fn representative(&self, s: &Summary) -> Option<&Case> {
        median_throughput(s.case_ids.iter().filter_map(|id| self.cases.iter().find(|c| &c.id == id)).collect())
    }

    /// The summary of a configuration under a load.
    pub fn summary(&self, target_id: &str, load: &LoadSpec) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.target.id == target_id && &s.load == load)
    }

    /// The ladder of a configuration.
    pub fn ladder(&self, target_id: &str) -> Option<&Ladder> {
        self.ladders.iter().find(|l| l.target.id == target_id)
    }

    /// The seeding of a target configuration's namespace.
    pub fn seed(&self, target_id: &str) -> Option<&super::seed::SeedRecord> {
        self.seeds.iter().find(|s| s.target.id == target_id)
    }

    /// The probe of a target configuration.
    pub fn probe(&self, target_id: &str) -> Option<&ProbeResult> {
        self.probes.iter().find(|p| p.target.id == target_id)
    }
}

/// The case with the median throughput (the lower middle for an even count); None for no cases.
fn median_throughput(mut g: Vec<&Case>) -> Option<&Case> {
    g.sort_by(|a, b| a.throughput_rps.total_cmp(&b.throughput_rps));
    g.get(g.len().checked_sub(1)? / 2).copied()
}

/// Why a results file cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {source} (is this a results directory written by authbench run?)")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not an authbench results file: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path} has schema {found:?}; this authbench reads {SCHEMA} and upgrades authbench.results/1")]
    Schema { path: PathBuf, found: String },
}

/// Writes the document atomically (temp file + rename): a crash never leaves half a file.
pub fn write(results: &Results, dir: &Path) -> Result<(), ResultsError> {
    let tmp = dir.join("results.json.tmp");
    let text =
        serde_json::to_string_pretty(results).map_err(|e| ResultsError::Parse { path: tmp.clone(), source: e })?;
    std::fs::write(&tmp, text).map_err(|source| ResultsError::Write { path: tmp.clone(), source })?;
    let path = dir.join("results.json");
    std::fs::rename(&tmp, &path).map_err(|source| ResultsError::Write { path, source })
}

/// Reads a results document, upgrading schema 1 and refusing any other.
pub fn read(dir: &Path) -> Result<Results, ResultsError> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ResultsError::Read { path: path.clone(), source })?;
    let parse_err = |source| ResultsError::Parse { path: path.clone(), source };
    let mut doc: serde_json::Value = serde_json::from_str(&text).map_err(parse_err)?;
    let found = doc["schema"].as_str().unwrap_or("none").to_owned();
    match found.as_str() {
        SCHEMA => {}
        super::upgrade::V1 => super::upgrade::v1_to_v2(&mut doc),
        _ => return Err(ResultsError::Schema { path, found }),
    }
    let mut r: Results = serde_json::from_value(doc).map_err(parse_err)?;
    // Files written before summaries existed (schema 1 among them): summarise their cases.
    if r.summaries.is_empty() {
        r.summaries = Summary::of_cases(&r.cases);
    }
    Ok(r)
}
