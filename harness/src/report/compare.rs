//! `authbench compare A B`: what changed between two runs, case by case, with an exit code for CI.

use std::fmt::Write as _;

use crate::model::results::Results;

/// One figure that moved past the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub case: String,
    pub metric: &'static str,
    pub before: f64,
    pub after: f64,
    /// Relative change, after / before - 1.
    pub change: f64,
    /// True when the change is for the worse (slower, costlier, bigger).
    pub worse: bool,
}

/// Figures compared, and whether higher is better for each.
const METRICS: [(&str, bool); 8] = [
    ("throughput_rps", true),
    ("req_per_core_s", true),
    ("latency_p50_us", false),
    ("latency_p90_us", false),
    ("latency_p99_us", false),
    ("latency_p999_us", false),
    ("cpu_target_us_per_request", false),
    ("bytes_per_request", false),
];

fn value(c: &crate::model::results::Case, metric: &str) -> Option<f64> {
    Some(match metric {
        "throughput_rps" => c.throughput_rps,
        "req_per_core_s" => c.req_per_core_s?,
        "latency_p50_us" => c.latency_us.p50 as f64,
        "latency_p90_us" => c.latency_us.p90 as f64,
        "latency_p99_us" => c.latency_us.p99 as f64,
        "latency_p999_us" => c.latency_us.p999 as f64,
        "cpu_target_us_per_request" => c.cpu_us_per_request.target,
        "bytes_per_request" => c.bytes_per_request.received + c.bytes_per_request.sent,
        _ => return None,
    })
}

/// Every figure of every case both runs share whose relative change exceeds `threshold`.
pub fn changes(a: &Results, b: &Results, threshold: f64) -> Vec<Change> {
    let mut out = Vec::new();
    for ca in &a.cases {
        let Some(cb) = b.cases.iter().find(|c| c.id == ca.id) else { continue };
        for (metric, higher_is_better) in METRICS {
            let (Some(x), Some(y)) = (value(ca, metric), value(cb, metric)) else { continue };
            if x <= 0.0 {
                continue;
            }
            let change = y / x - 1.0;
            if change.abs() > threshold {
                out.push(Change {
                    case: ca.id.clone(),
                    metric,
                    before: x,
                    after: y,
                    change,
                    worse: (change < 0.0) == higher_is_better,
                });
            }
        }
    }
    out
}

/// The comparison as Markdown; the bool says whether anything got worse past the threshold.
pub fn render(a: &Results, b: &Results, threshold: f64) -> (String, bool) {
    let list = changes(a, b, threshold);
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
                    c.metric.to_string(),
                    format!("{:.1}", c.before),
                    format!("{:.1}", c.after),
                    format!("{:+.1} %", c.change * 100.0),
                    if c.worse { "worse" } else { "better" }.to_owned(),
                ]
            })
            .collect();
        s.push_str(&super::markdown::table(&["case", "figure", "before", "after", "change", ""], &rows));
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
