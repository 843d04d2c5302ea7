//! `results.json`: schema `authbench.results/2`, written after every finished case so an
//! interrupted run keeps what it measured. Version 1 files are upgraded on read ([`super::upgrade`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use authbench_scenarios::{LoadModel, ScenarioKind};
use authbench_targets::spec::{StoreKind, TargetSpec};
use serde::{Deserialize, Serialize};

use super::environment::Environment;
use super::matrix::{LoadSpec, Matrix};
use super::probe::ProbeResult;

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
    pub postgres_url_given: bool,
    pub redis_url_given: bool,
}

/// What was asked for: the matrix as run, where it came from and how it was narrowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub matrix: Matrix,
    pub cli: Overrides,
    pub stores: StoreOrigins,
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
    pub probes: Vec<ProbeResult>,
    pub skipped: Vec<Skipped>,
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

/// CPU microseconds per request, by process group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cpu {
    pub target: f64,
    /// None when the store runs outside this machine's view (an external URL).
    pub store: Option<f64>,
    pub loadgen: f64,
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

/// One measured case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub target: TargetRecord,
    pub load: LoadSpec,
    /// Configured warm-up and window, seconds.
    pub warmup_s: f64,
    pub duration_s: f64,
    /// Measured window as timed by the harness, seconds.
    pub window_s: f64,
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
}

impl Case {
    /// Every non-2xx answer.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// True for the closed-model browse case, the one configurations are compared by.
    pub fn is_closed_browse(&self) -> bool {
        self.load.scenario == ScenarioKind::Browse && self.load.model == LoadModel::Closed
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
    /// The first closed-model browse case of each target configuration, in run order: the case
    /// that charts, claims, plans and ADRs compare configurations by.
    pub fn closed_browse(&self) -> Vec<&Case> {
        let mut seen = std::collections::BTreeSet::new();
        self.cases.iter().filter(|c| c.is_closed_browse() && seen.insert(c.target.id.as_str())).collect()
    }

    /// The probe of a target configuration.
    pub fn probe(&self, target_id: &str) -> Option<&ProbeResult> {
        self.probes.iter().find(|p| p.target.id == target_id)
    }
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
    serde_json::from_value(doc).map_err(parse_err)
}
