//! `authbench compare A B`: what changed between two runs, case by case, with an exit code for CI.
//!
//! A figure one run measured and the other did not is listed as "not measured" on that side; it is
//! never compared as 0 and never counts as a regression.

use std::fmt::{self, Write as _};

use crate::model::results::{Case, Results};

/// A figure compared between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Figure {
    ThroughputRps,
    ReqPerCoreS,
    LatencyP50Us,
    LatencyP90Us,
    LatencyP99Us,
    LatencyP999Us,
    CpuTargetUsPerRequest,
    BytesPerRequest,
}

impl Figure {
    /// Every figure, in the order changes are listed.
    pub const ALL: [Figure; 8] = [
        Figure::ThroughputRps,
        Figure::ReqPerCoreS,
        Figure::LatencyP50Us,
        Figure::LatencyP90Us,
        Figure::LatencyP99Us,
        Figure::LatencyP999Us,
        Figure::CpuTargetUsPerRequest,
        Figure::BytesPerRequest,
    ];

    /// The figure's name, as in results.json and in the comparison table.
    pub fn name(self) -> &'static str {
        match self {
            Figure::ThroughputRps => "throughput_rps",
            Figure::ReqPerCoreS => "req_per_core_s",
            Figure::LatencyP50Us => "latency_p50_us",
            Figure::LatencyP90Us => "latency_p90_us",
            Figure::LatencyP99Us => "latency_p99_us",
            Figure::LatencyP999Us => "latency_p999_us",
            Figure::CpuTargetUsPerRequest => "cpu_target_us_per_request",
            Figure::BytesPerRequest => "bytes_per_request",
        }
    }

    /// The unit a value is printed with.
    pub fn unit(self) -> &'static str {
        match self {
            Figure::ThroughputRps => "req/s",
            Figure::ReqPerCoreS => "req/s per core",
            Figure::LatencyP50Us
            | Figure::LatencyP90Us
            | Figure::LatencyP99Us
            | Figure::LatencyP999Us
            | Figure::CpuTargetUsPerRequest => "µs",
            Figure::BytesPerRequest => "B",
        }
    }

    /// True when a higher value is an improvement.
    pub fn higher_is_better(self) -> bool {
        match self {
            Figure::ThroughputRps | Figure::ReqPerCoreS => true,
            Figure::LatencyP50Us
            | Figure::LatencyP90Us
            | Figure::LatencyP99Us
            | Figure::LatencyP999Us
            | Figure::CpuTargetUsPerRequest
            | Figure::BytesPerRequest => false,
        }
    }

    /// A value with its unit, at the precision the figure is measured to.
    pub fn format(self, v: f64) -> String {
        let unit = self.unit();
        match self {
            Figure::ThroughputRps | Figure::CpuTargetUsPerRequest => format!("{v:.1} {unit}"),
            Figure::ReqPerCoreS
            | Figure::LatencyP50Us
            | Figure::LatencyP90Us
            | Figure::LatencyP99Us
            | Figure::LatencyP999Us
            | Figure::BytesPerRequest => format!("{v:.0} {unit}"),
        }
    }

    /// The figure in a case; None when the run did not measure it.
    pub fn value(self, c: &Case) -> Option<f64> {
        match self {
            Figure::ThroughputRps => Some(c.throughput_rps),
            Figure::ReqPerCoreS => c.req_per_core_s,
            Figure::LatencyP50Us => Some(c.latency_us.p50 as f64),
            Figure::LatencyP90Us => Some(c.latency_us.p90 as f64),
            Figure::LatencyP99Us => Some(c.latency_us.p99 as f64),
            Figure::LatencyP999Us => Some(c.latency_us.p999 as f64),
            Figure::CpuTargetUsPerRequest => Some(c.cpu_us_per_request.target),
            Figure::BytesPerRequest => Some(c.bytes_per_request.total()),
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One figure that moved past the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub case: String,
    pub figure: Figure,
    pub before: f64,
    pub after: f64,
    /// Relative change, after / before - 1.
    pub change: f64,
    /// True when the change is for the worse (slower, costlier, bigger).
    pub worse: bool,
}

/// A figure of a case both runs share that only one of them measured: it cannot be compared.
#[derive(Debug, Clone, PartialEq)]
pub struct NotMeasured {
    pub case: String,
    pub figure: Figure,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

/// The cases both runs share, paired by id.
fn shared<'a>(a: &'a Results, b: &'a Results) -> impl Iterator<Item = (&'a Case, &'a Case)> {
    a.cases.iter().filter_map(|ca| b.cases.iter().find(|c| c.id == ca.id).map(|cb| (ca, cb)))
}

/// Every figure of every case both runs share whose relative change exceeds `threshold`.
pub fn changes(a: &Results, b: &Results, threshold: f64) -> Vec<Change> {
    let mut out = Vec::new();
    for (ca, cb) in shared(a, b) {
        for figure in Figure::ALL {
            let (Some(x), Some(y)) = (figure.value(ca), figure.value(cb)) else { continue };
            if x <= 0.0 {
                continue;
            }
            let change = y / x - 1.0;
            if change.abs() > threshold {
                out.push(Change {
                    case: ca.id.clone(),
                    figure,
                    before: x,
                    after: y,
                    change,
                    worse: (change < 0.0) == figure.higher_is_better(),
                });
            }
        }
    }
    out
}

/// Every figure of every case both runs share that one run measured and the other did not.
pub fn not_measured(a: &Results, b: &Results) -> Vec<NotMeasured> {
    let mut out = Vec::new();
    for (ca, cb) in shared(a, b) {
        for figure in Figure::ALL {
            let (before, after) = (figure.value(ca), figure.value(cb));
            if before.is_some() != after.is_some() {
                out.push(NotMeasured { case: ca.id.clone(), figure, before, after });
            }
        }
    }
    out
}

/// The comparison as Markdown; the bool says whether anything got worse past the threshold.
pub fn render(a: &Results, b: &Results, threshold: f64) -> (String, bool) {
    let list = changes(a, b, threshold);
    let missing = not_measured(a, b);
    let only_a: Vec<&str> =
        a.cases.iter().filter(|c| !b.cases.iter().any(|x| x.id == c.id)).map(|c| c.id.as_str()).collect();
    let only_b: Vec<&str> =
        b.cases.iter().filter(|c| !a.cases.iter().any(|x| x.id == c.id)).map(|c| c.id.as_str()).collect();
    let mut s = format!("# {} → {}\n\nChanges beyond ±{:.0} %:\n\n", a.run_id, b.run_id, threshold * 100.0);
    if list.is_empty() {
        s.push_str("none\n");
    } else {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|c| {
                vec![
                    c.case.clone(),
                    c.figure.to_string(),
                    c.figure.format(c.before),
                    c.figure.format(c.after),
                    format!("{:+.1} %", c.change * 100.0),
                    if c.worse { "worse" } else { "better" }.to_owned(),
                ]
            })
            .collect();
        s.push_str(&super::render::markdown::table(&["case", "figure", "before", "after", "change", ""], &rows));
    }
    if !missing.is_empty() {
        let cell = |f: Figure, v: Option<f64>| v.map_or_else(|| "not measured".to_owned(), |v| f.format(v));
        let rows: Vec<Vec<String>> = missing
            .iter()
            .map(|m| vec![m.case.clone(), m.figure.to_string(), cell(m.figure, m.before), cell(m.figure, m.after)])
            .collect();
        s.push_str("\nNot compared, measured in one run only (not a regression):\n\n");
        s.push_str(&super::render::markdown::table(&["case", "figure", "before", "after"], &rows));
    }
    if !only_a.is_empty() || !only_b.is_empty() {
        let _ =
            write!(s, "\nOnly in {}: {}\n\nOnly in {}: {}\n", a.run_id, only_a.join(", "), b.run_id, only_b.join(", "));
    }
    if !a.environment.same_machine_kind(&b.environment) {
        s.push_str("\nThe runs were made on different machines: compare CPU per request, not req/s.\n");
    }
    (s, list.iter().any(|c| c.worse))
}
