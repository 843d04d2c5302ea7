//! `results.json`: schema `authbench.results/1`, written after every finished case so an
//! interrupted run keeps what it measured.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::probe::ProbeResult;

/// Schema identifier; bump when a field changes meaning.
pub const SCHEMA: &str = "authbench.results/1";

/// A whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub schema: String,
    pub run_id: String,
    /// `running`, `complete` or `interrupted`.
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub profile: String,
    pub environment: serde_json::Value,
    /// The matrix as run and the command-line overrides.
    pub config: serde_json::Value,
    /// How each figure was measured, in words, for the report's method section.
    pub method: BTreeMap<String, String>,
    pub cases: Vec<Case>,
    pub probes: Vec<ProbeResult>,
    pub skipped: Vec<Skipped>,
}

/// Target configuration as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    pub id: String,
    pub strategy: String,
    pub store: Option<String>,
    pub denylist: Option<String>,
    pub alg: Option<String>,
    pub transport: String,
    pub ttls: serde_json::Value,
}

/// The offered load.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Load {
    pub model: String,
    pub users: usize,
    pub rate_rps: Option<f64>,
    pub duration_s: f64,
    pub warmup_s: f64,
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

/// CPU microseconds per request, by process group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cpu {
    pub target: f64,
    /// None when the store runs outside this machine's view (an external URL).
    pub store: Option<f64>,
    pub loadgen: f64,
}

/// The serialized histogram and where its standard-format copies are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistogramData {
    pub unit: String,
    pub encoding: String,
    pub data: String,
    pub hgrm: String,
    pub hlog: String,
}

/// One measured case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub target: TargetInfo,
    pub scenario: String,
    pub load: Load,
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
    pub goose_report: String,
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
        self.cases
            .iter()
            .filter(|c| c.scenario == "browse" && c.load.model == "closed" && seen.insert(c.target.id.as_str()))
            .collect()
    }
}

/// Writes the document atomically (temp file + rename): a crash never leaves half a file.
pub fn write(results: &Results, dir: &Path) -> anyhow::Result<()> {
    let tmp = dir.join("results.json.tmp");
    let text = serde_json::to_string_pretty(results)?;
    std::fs::write(&tmp, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join("results.json"))
        .map_err(|e| anyhow::anyhow!("cannot move results into place: {e}"))?;
    Ok(())
}

/// Reads a results document, checking the schema.
pub fn read(dir: &Path) -> anyhow::Result<Results> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let r: Results = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not an authbench results file: {e}", path.display()))?;
    anyhow::ensure!(r.schema == SCHEMA, "{} has schema {}, this authbench reads {SCHEMA}", path.display(), r.schema);
    Ok(r)
}

/// The method notes every results file carries.
pub fn method() -> BTreeMap<String, String> {
    [
        ("latency_us", "Every request timed by the load generator from send (closed model) or from its intended send time (open model: a request sent late because an earlier response was slow counts from its intended send time, correcting coordinated omission as wrk2 does; one sent on schedule counts from its actual send, so timer wake-up lateness is not charged to the target) until the response body was read; recorded in per-user HdrHistograms at 1 µs resolution (3 significant digits) and merged exactly."),
        ("throughput_rps", "Requests recorded in the measured window divided by the window's length, timed by the harness."),
        ("bytes_per_request", "Delta of the target's socket byte counters (a wrapper around every accepted TCP stream) over the window, minus the exact bytes of the two /metrics scrapes, divided by target_requests. auth counts Authorization/Cookie header lines received plus Set-Cookie lines and token strings sent."),
        ("store_ops_per_request", "Delta of the target's store operation counter (all kinds except health pings) divided by target_requests."),
        ("cpu_us_per_request", "Delta of utime+stime from /proc over the window (10 ms ticks) for the target process, the store processes (Redis server; PostgreSQL postmaster, its backends and reaped children) and this process (the load generator), divided by target_requests. Store CPU is 0 when there is no separate store process (jwt without denylist; the memory store runs inside the target, so its work is in target CPU) and null when the store is external."),
        ("req_per_core_s", "1e6 / target CPU µs per request: requests per second one core of target CPU sustains. On a machine where load generator, target and stores share cores, this is the figure that transfers."),
        ("peak_rss_bytes", "VmHWM of the target process read at the end of the case: its high-water mark since start, login phase (argon2id buffers) included."),
        ("windows", "Each case runs on a freshly started target: users log in, a warm-up runs unrecorded, then the measured window; /metrics is scraped at both edges."),
        ("security", "See each probe's method."),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
