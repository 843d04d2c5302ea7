//! `authbench compare A B`: what changed between two runs, per configuration and load, with an exit
//! code for CI.
//!
//! Each (configuration, load) is compared by its summary: the median of its repetitions and, with
//! two or more, a 95 % interval. A change is a regression only when it is for the worse, beyond the
//! threshold, and the two intervals share no value. When either side ran once there is no interval:
//! the threshold alone decides and the row says "no interval". A throughput measured while the load
//! generator was the limit is the generator's and never counts as a regression.

use std::fmt::{self, Write as _};

use crate::model::results::{Results, Summary};
use crate::model::stats::Estimate;

/// A figure compared between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Figure {
    ThroughputRps,
    LatencyP50Us,
    LatencyP99Us,
    CpuTargetUsPerRequest,
    BytesPerRequest,
}

impl Figure {
    /// Every figure a summary carries, in the order changes are listed.
    pub const ALL: [Figure; 5] = [
        Figure::ThroughputRps,
        Figure::LatencyP50Us,
        Figure::LatencyP99Us,
        Figure::CpuTargetUsPerRequest,
        Figure::BytesPerRequest,
    ];

    /// The figure's name, as in results.json and in the comparison table.
    pub fn name(self) -> &'static str {
        match self {
            Figure::ThroughputRps => "throughput_rps",
            Figure::LatencyP50Us => "latency_p50_us",
            Figure::LatencyP99Us => "latency_p99_us",
            Figure::CpuTargetUsPerRequest => "cpu_target_us_per_request",
            Figure::BytesPerRequest => "bytes_per_request",
        }
    }

    /// The unit a value is printed with.
    pub fn unit(self) -> &'static str {
        match self {
            Figure::ThroughputRps => "req/s",
            Figure::LatencyP50Us | Figure::LatencyP99Us | Figure::CpuTargetUsPerRequest => "µs",
            Figure::BytesPerRequest => "B",
        }
    }

    /// True when a higher value is an improvement.
    pub fn higher_is_better(self) -> bool {
        match self {
            Figure::ThroughputRps => true,
            Figure::LatencyP50Us | Figure::LatencyP99Us | Figure::CpuTargetUsPerRequest | Figure::BytesPerRequest => {
                false
            }
        }
    }

    /// Decimals the figure is measured to.
    fn digits(self) -> usize {
        match self {
            Figure::ThroughputRps | Figure::CpuTargetUsPerRequest => 1,
            Figure::LatencyP50Us | Figure::LatencyP99Us | Figure::BytesPerRequest => 0,
        }
    }

    /// An estimate with its unit: "26.0 [25.1–27.0] µs (n = 3)".
    pub fn format(self, e: &Estimate) -> String {
        format!("{} {} (n = {})", e.show(self.digits()), self.unit(), e.n)
    }

    /// The figure in a summary.
    pub fn estimate(self, s: &Summary) -> &Estimate {
        match self {
            Figure::ThroughputRps => &s.throughput_rps,
            Figure::LatencyP50Us => &s.p50_us,
            Figure::LatencyP99Us => &s.p99_us,
            Figure::CpuTargetUsPerRequest => &s.target_cpu_us,
            Figure::BytesPerRequest => &s.bytes_per_request,
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the two runs' intervals tell a change from noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separation {
    /// The intervals share no value: the change is more than the runs' noise.
    Disjoint,
    /// The intervals overlap: the change is within the noise, whatever the threshold says.
    Overlapping,
    /// One side ran once and has no interval: the threshold alone decides.
    NoInterval,
}

impl Separation {
    fn of(before: &Estimate, after: &Estimate) -> Separation {
        match (before.interval, after.interval) {
            (Some(a), Some(b)) if a.disjoint(&b) => Separation::Disjoint,
            (Some(_), Some(_)) => Separation::Overlapping,
            _ => Separation::NoInterval,
        }
    }

    /// The comparison table's words.
    pub fn as_str(self) -> &'static str {
        match self {
            Separation::Disjoint => "disjoint",
            Separation::Overlapping => "overlap",
            Separation::NoInterval => "no interval",
        }
    }
}

/// One figure whose median moved past the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Configuration and load, as "target-id/load-id".
    pub case: String,
    pub figure: Figure,
    pub before: Estimate,
    pub after: Estimate,
    /// Relative change of the medians, after / before - 1.
    pub change: f64,
    /// True when the change is for the worse (slower, costlier, bigger).
    pub worse: bool,
    pub separation: Separation,
    /// A throughput whose repetitions were load-generator bound on either side: the change is the
    /// generator's, never a regression of the target.
    pub generator_bound: bool,
}

impl Change {
    /// Worse past the threshold, and not within the runs' noise.
    pub fn regression(&self) -> bool {
        self.worse && self.separation != Separation::Overlapping && !self.generator_bound
    }

    fn verdict(&self) -> &'static str {
        match (self.separation, self.worse) {
            _ if self.generator_bound => "load generator's limit",
            (Separation::Overlapping, _) => "within noise",
            (_, true) => "worse",
            (_, false) => "better",
        }
    }
}

/// "target-id/load-id": a summary's configuration and load.
fn key(s: &Summary) -> String {
    format!("{}/{}", s.target.id, s.load.id())
}

/// The summary of `b` for the same configuration and load as `s`.
fn counterpart<'a>(s: &Summary, b: &'a Results) -> Option<&'a Summary> {
    b.summary(&s.target.id, &s.load)
}

/// Every figure of every (configuration, load) both runs share whose median moved by more than
/// `threshold`.
pub fn changes(a: &Results, b: &Results, threshold: f64) -> Vec<Change> {
    let mut out = Vec::new();
    for (sa, sb) in a.summaries.iter().filter_map(|s| Some((s, counterpart(s, b)?))) {
        for figure in Figure::ALL {
            let (x, y) = (figure.estimate(sa), figure.estimate(sb));
            if x.median <= 0.0 {
                continue;
            }
            let change = y.median / x.median - 1.0;
            if change.abs() > threshold {
                out.push(Change {
                    case: key(sa),
                    figure,
                    before: *x,
                    after: *y,
                    change,
                    worse: (change < 0.0) == figure.higher_is_better(),
                    separation: Separation::of(x, y),
                    generator_bound: figure == Figure::ThroughputRps && (sa.loadgen_bound > 0 || sb.loadgen_bound > 0),
                });
            }
        }
    }
    out
}

/// The keys of `a`'s summaries that `b` does not have.
fn only_in(a: &Results, b: &Results) -> Vec<String> {
    a.summaries.iter().filter(|s| counterpart(s, b).is_none()).map(key).collect()
}

fn changes_table(list: &[Change]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.case.clone(),
                c.figure.to_string(),
                c.figure.format(&c.before),
                c.figure.format(&c.after),
                format!("{:+.1} %", c.change * 100.0),
                c.separation.as_str().to_owned(),
                c.verdict().to_owned(),
            ]
        })
        .collect();
    super::render::markdown::table(&["case", "figure", "before", "after", "change", "intervals", ""], &rows)
}

/// The comparison as Markdown; the bool says whether anything regressed (see [`Change::regression`]).
pub fn render(a: &Results, b: &Results, threshold: f64) -> (String, bool) {
    let list = changes(a, b, threshold);
    let mut s = format!(
        "# {} → {}\n\nMedians that moved beyond ±{:.0} %, with their 95 % intervals in brackets. A change is a \
         regression only when it is worse and the two intervals are disjoint; \"no interval\" marks a side that \
         ran once, where the threshold alone decides. A throughput measured while the load generator was the \
         limit (in any repetition, on either side) is listed but never a regression.\n\n",
        a.run_id,
        b.run_id,
        threshold * 100.0
    );
    if list.is_empty() {
        s.push_str("none\n");
    } else {
        s.push_str(&changes_table(&list));
    }
    for (run, only) in [(a, only_in(a, b)), (b, only_in(b, a))] {
        if !only.is_empty() {
            let _ = write!(s, "\nOnly in {} (not compared): {}\n", run.run_id, only.join(", "));
        }
    }
    if !a.environment.same_machine_kind(&b.environment) {
        s.push_str("\nThe runs were made on different machines: compare CPU per request, not req/s.\n");
    }
    (s, list.iter().any(Change::regression))
}
