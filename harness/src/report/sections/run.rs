//! The sections about the run itself: its introduction, environment and method, the summary of
//! every case, and the charts.

use crate::model::results::{Case, Results};
use crate::report::document::{opt, Block, ChartRef, Section, Text};

/// The report's title.
pub fn title(r: &Results) -> String {
    format!("authbench report — run {}", r.run_id)
}

/// Profile, times, status and counts.
pub fn intro(r: &Results) -> Vec<Block> {
    let text = Text::plain("Profile ")
        .code(r.profile.clone())
        .and(format!(", started {}, finished {}, status ", r.started_at, r.finished_at.as_deref().unwrap_or("—")))
        .strong(r.status.as_str())
        .and(format!(". {} cases, {} security probes, {} skipped.", r.cases.len(), r.probes.len(), r.skipped.len()));
    vec![Block::Paragraph(text)]
}

/// The machine and toolchain, then how each figure was measured.
pub fn environment_and_method(r: &Results) -> Section {
    let environment = r.environment.rows().into_iter().map(|(k, v)| vec![k.to_owned(), v]).collect();
    let method = r.method.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
    Section::new(
        "Environment and method",
        vec![Block::table(&["what", "value"], environment), Block::table(&["figure", "how it was measured"], method)],
    )
}

const SUMMARY_HEAD: [&str; 14] = [
    "target",
    "scenario",
    "load",
    "req/s",
    "p50 µs",
    "p99 µs",
    "p99.9 µs",
    "store ops/req",
    "target CPU µs/req",
    "store CPU µs/req",
    "req/core·s",
    "bytes/req",
    "auth bytes/req",
    "errors",
];

fn load(c: &Case) -> String {
    match c.load.rate_rps() {
        Some(rate) => format!("open {rate:.0} req/s, {} users", c.load.users),
        None => format!("closed, {} users", c.load.users),
    }
}

fn summary_row(c: &Case) -> Vec<String> {
    vec![
        c.target.id.clone(),
        c.load.scenario.to_string(),
        load(c),
        format!("{:.0}", c.throughput_rps),
        c.latency_us.p50.to_string(),
        c.latency_us.p99.to_string(),
        c.latency_us.p999.to_string(),
        format!("{:.2}", c.store_ops_per_request),
        format!("{:.1}", c.cpu_us_per_request.target),
        opt(c.cpu_us_per_request.store, 1),
        opt(c.req_per_core_s, 0),
        format!("{:.0}", c.bytes_per_request.total()),
        format!("{:.0}", c.bytes_per_request.auth),
        c.error_count().to_string(),
    ]
}

/// One row per finished case.
pub fn summary(r: &Results) -> Section {
    Section::new("Summary", vec![Block::table(&SUMMARY_HEAD, r.cases.iter().map(summary_row).collect())])
}

/// Every chart the run supports, in the order they were drawn.
pub fn charts(charts: &[ChartRef]) -> Section {
    Section::new("Charts", charts.iter().cloned().map(Block::Chart).collect())
}
