//! "Where the time goes": criterion's microbenchmarks of the per-request auth work beside the load
//! test's CPU per request, what jsonwebtoken's per-call key parsing costs, and bytes per credential.
//!
//! - `per_request`: auth work per configuration, joined with the run by `TargetSpec`.
//! - `algorithms`: issue, verify and key parsing by `Alg`.
//! - `pieces`: the smaller pieces, and the token sizes table.

mod algorithms;
mod per_request;
mod pieces;

use std::path::Path;

use authbench_targets::sizes::WireSizes;
use authbench_targets::spec::Transport;

use super::charts;
use super::criterion::{self, Estimates};
use super::document::{Block, ChartRef, Section, Text};
use super::tokens;
use crate::model::results::Results;

pub use per_request::PerRequest;

/// The section's heading.
pub const HEADING: &str = "Where the time goes";

/// What the section is built from: gathered by [`section`], or by a test.
pub struct Inputs<'a> {
    /// Where criterion's output was looked for, as the text names it.
    pub criterion_dir: &'a Path,
    pub estimates: Option<&'a Estimates>,
    pub per_request: &'a [PerRequest],
    /// The auth-cost chart, when it was drawn.
    pub chart: Option<&'a ChartRef>,
    pub sizes: &'a [WireSizes],
}

/// Where the estimates come from, how many samples they rest on, and a warning for --quick ones.
fn estimates_intro(e: &Estimates, criterion_dir: &Path) -> Text {
    let fewest = e.by_id.values().filter_map(|v| v.samples).min();
    let samples = fewest
        .map_or_else(|| "sample counts not recorded".to_owned(), |n| format!("at least {n} samples per benchmark"));
    let quick = if fewest.is_some_and(|n| n < 10) {
        " Some benchmarks have fewer than 10 samples (criterion --quick): treat their figures as rough and their \
         intervals as meaningless."
    } else {
        ""
    };
    Text::plain("Microbenchmarks of the targets' own code (")
        .code("cargo bench -p authbench-targets")
        .and(", criterion), read from ")
        .code(criterion_dir.display().to_string())
        .and(format!(
            ", files last modified {} (their modification time: a copy or checkout resets it); {samples}. Each figure is criterion's estimate of one call (the slope of time \
             against iterations), measured on its own, not during the load test.{quick}",
            e.written
        ))
}

/// How to get the estimates when there are none.
fn no_estimates(criterion_dir: &Path) -> Text {
    let dir = criterion_dir.display();
    Text::plain("No criterion estimates at ")
        .code(dir.to_string())
        .and(": run ")
        .code("cargo bench -p authbench-targets")
        .and(" (append ")
        .code("-- --quick")
        .and(" for a fast pass), then ")
        .code(format!("authbench report <this directory> --criterion {dir}"))
        .and(".")
}

/// The section's blocks: microbenchmarks when there are estimates, token sizes always.
pub fn blocks(i: &Inputs) -> Vec<Block> {
    let mut out = Vec::new();
    match i.estimates {
        Some(e) => {
            out.push(Block::Paragraph(estimates_intro(e, i.criterion_dir)));
            out.extend(per_request::blocks(i.per_request, i.chart));
            out.extend(algorithms::blocks(e));
            out.extend(pieces::blocks(e));
        }
        None => out.push(Block::Paragraph(no_estimates(i.criterion_dir))),
    }
    out.extend(pieces::size_blocks(i.sizes));
    out
}

/// The transports the run used (bearer when it has no cases), for the token sizes.
pub fn transports(r: &Results) -> Vec<Transport> {
    let mut out: Vec<Transport> = Vec::new();
    for c in &r.cases {
        if !out.contains(&c.target.spec.transport) {
            out.push(c.target.spec.transport);
        }
    }
    if out.is_empty() {
        out.push(Transport::Bearer);
    }
    out
}

/// Reads criterion's estimates from `criterion_dir`, draws the auth-cost chart into `charts_dir`
/// and measures token sizes, then builds the section.
pub fn section(r: &Results, criterion_dir: &Path, charts_dir: &Path) -> anyhow::Result<Section> {
    let estimates = criterion::read(criterion_dir)?;
    let per_request = estimates.as_ref().map(|e| per_request::rows(r, e)).unwrap_or_default();
    let bars = per_request::bars(&per_request);
    let chart = charts::auth_cost::draw(&bars, &format!("run {}", r.run_id), charts_dir, "auth_cost")?;
    let sizes = tokens::measure(&transports(r))?;
    let inputs = Inputs {
        criterion_dir,
        estimates: estimates.as_ref(),
        per_request: &per_request,
        chart: chart.as_ref(),
        sizes: &sizes,
    };
    Ok(Section::new(HEADING, blocks(&inputs)))
}
