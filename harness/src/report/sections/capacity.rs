//! "Capacity at the SLO": per configuration that climbed a rate ladder, its closed-loop saturation,
//! the SLO, the capacity the ladder found, every step, and target CPU per request read from the CPU
//! curve at shares of that capacity — what a plan needs and a single saturated figure cannot give.

use authbench_scenarios::{LoadModel, ScenarioKind};

use crate::model::ladder::{Capacity, Ladder, Step};
use crate::model::results::{Results, Shares};
use crate::report::document::{num, opt, Block, Section, Text};

const HEADING: &str = "Capacity at the SLO";

/// Shares of capacity the CPU curve is read at.
const SHARES: [f64; 3] = [0.1, 0.5, 0.9];

/// The section: each ladder, or how to get one when the run climbed none.
pub(crate) fn section(r: &Results) -> Section {
    if r.ladders.is_empty() {
        let text = Text::plain("This run climbed no rate ladder, so capacity at an SLO was not measured. A ")
            .code("[ladder]")
            .and(" table in the matrix (the standard profile has one) offers the open model at rising rates; ")
            .code("--slo p99<=10ms")
            .and(" sets the objective.");
        return Section::new(HEADING, vec![Block::Paragraph(text)]);
    }
    let mut blocks = vec![Block::paragraph(
        "Each configuration below was offered the open model at rising rates (as the matrix lists them, usually \
         fractions of its closed-loop saturation), then at rates halfway between the last step that met the SLO \
         and the first that did not. A step meets the SLO when its latency percentile is within the bound and it \
         had no errors; capacity is the highest offered rate that met it below the lowest that did not. The \
         second table reads target CPU per request off the CPU curve (interpolated between error-free steps) \
         at 10, 50 and 90 % of that capacity, at utilization = share × capacity ÷ saturation.",
    )];
    for l in &r.ladders {
        blocks.extend(ladder_blocks(r, l));
    }
    Section::new(HEADING, blocks)
}

/// A configuration's heading line, its steps and its CPU curve readings.
fn ladder_blocks(r: &Results, l: &Ladder) -> Vec<Block> {
    let head = Text::plain("").strong(l.target.id.clone()).and(format!(
        " ({}, open model, {} users): saturation {}; SLO {}; capacity {}.",
        l.scenario,
        l.users,
        saturation(r, l),
        l.slo.map_or_else(|| "none given".to_owned(), |s| s.to_string()),
        capacity_words(&l.capacity)
    ));
    let mut blocks = vec![Block::Paragraph(head)];
    blocks.extend(generator_limited(r, l));
    blocks.extend([steps_table(r, l), curve_readings(l)]);
    blocks
}

/// Whether the load generator, not the target, limited a step (from its case's CPU shares).
fn step_bound(r: &Results, s: &Step) -> Option<bool> {
    let case = r.cases.iter().find(|c| c.id == s.case_id)?;
    case.shares.as_ref().map(Shares::loadgen_bound)
}

/// A warning when the step that missed the SLO was load-generator bound: then the capacity found is
/// the load generator's on this machine, and the target's own is only known to be at least as high.
fn generator_limited(r: &Results, l: &Ladder) -> Option<Block> {
    let Capacity::Found { rps, next_rps } = l.capacity else { return None };
    let missed = l.steps.iter().find(|s| s.offered_rps == next_rps)?;
    step_bound(r, missed)?.then(|| {
        Block::paragraph(format!(
            "The step that missed the SLO ({} req/s) was load-generator bound: this capacity is the load \
             generator's on this machine; the target's own is at least {} req/s.",
            num(next_rps),
            num(rps)
        ))
    })
}

/// The closed-loop saturation the ladder's fractions and utilizations are relative to.
fn saturation(r: &Results, l: &Ladder) -> String {
    let Some(sat) = l.saturation_rps else {
        return "not measured".into();
    };
    let closed = r.summaries.iter().find(|s| {
        s.target.id == l.target.id && s.load.scenario == ScenarioKind::Browse && s.load.model == LoadModel::Closed
    });
    match closed.map(|s| &s.throughput_rps) {
        Some(e) if e.n == 1 => format!("{} req/s (closed loop, one repetition)", e.show(0)),
        Some(e) => format!("{} req/s (closed loop, median of {} repetitions)", e.show(0), e.n),
        None => format!("{sat:.0} req/s (closed loop, median)"),
    }
}

/// Capacity in words: a bracket, a floor, a ceiling, or nothing to judge by.
fn capacity_words(c: &Capacity) -> String {
    match *c {
        Capacity::NoSlo => "not judged".into(),
        Capacity::Found { rps, next_rps } => {
            format!("found between {} and {} req/s: the first met the SLO, the second did not", num(rps), num(next_rps))
        }
        Capacity::AtLeast { rps } => {
            format!("at least {} req/s: every step met the SLO, the highest offered included", num(rps))
        }
        Capacity::Below { rps } => format!("below {} req/s: even the lowest step missed the SLO", num(rps)),
    }
}

const STEPS_HEAD: [&str; 12] = [
    "offered req/s",
    "achieved req/s",
    "p50 µs",
    "p99 µs",
    "errors",
    "target CPU µs/req",
    "store CPU µs/req",
    "loadgen CPU µs/req",
    "utilization",
    "met SLO",
    "refined",
    "load-generator bound",
];

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn step_row(r: &Results, s: &Step) -> Vec<String> {
    let cpu = &s.cpu_us_per_request;
    vec![
        format!("{:.0}", s.offered_rps),
        format!("{:.0}", s.achieved_rps),
        s.p50_us.to_string(),
        s.p99_us.to_string(),
        s.errors.to_string(),
        format!("{:.1}", cpu.target),
        opt(cpu.store, 1),
        format!("{:.1}", cpu.loadgen),
        s.utilization.map_or_else(|| "—".to_owned(), |u| format!("{:.0} %", u * 100.0)),
        s.met_slo.map_or_else(|| "—".to_owned(), yes_no),
        yes_no(s.refined),
        step_bound(r, s).map_or_else(|| "—".to_owned(), yes_no),
    ]
}

fn steps_table(r: &Results, l: &Ladder) -> Block {
    Block::table(&STEPS_HEAD, l.steps.iter().map(|s| step_row(r, s)).collect())
}

const CURVE_HEAD: [&str; 5] = ["share of capacity", "req/s", "utilization", "target CPU µs/req", "read from"];

/// Target CPU per request at 10, 50 and 90 % of capacity, read from the curve of error-free steps.
fn curve_readings(l: &Ladder) -> Block {
    let not_read =
        |why: &str| Block::paragraph(format!("Target CPU per request at shares of capacity: not read, {why}."));
    let Some(sat) = l.saturation_rps.filter(|s| *s > 0.0) else {
        return not_read("the closed-loop saturation it is relative to was not measured");
    };
    let offered = match l.capacity {
        Capacity::Found { rps, .. } | Capacity::AtLeast { rps } => rps,
        Capacity::NoSlo => return not_read("without an SLO there is no capacity"),
        Capacity::Below { .. } => return not_read("no step met the SLO"),
    };
    // The curve's utilization is achieved / saturation, so capacity is read as the rate the
    // passing step achieved (for "at least", the highest step: a floor, as the words above say).
    let cap = l.steps.iter().find(|s| s.offered_rps == offered).map_or(offered, |s| s.achieved_rps);
    Block::table(&CURVE_HEAD, SHARES.iter().map(|f| reading(l, *f, f * cap, f * cap / sat)).collect())
}

/// One reading of the CPU curve at `rps`, `utilization` of saturation.
fn reading(l: &Ladder, share: f64, rps: f64, utilization: f64) -> Vec<String> {
    let (cpu, from) = match l.target_cpu_at(utilization) {
        Some(p) if p.between.0 == p.between.1 => (num(p.target_us), "the step measured there".to_owned()),
        Some(p) => (
            num(p.target_us),
            format!("between measured {:.0} % and {:.0} %", p.between.0 * 100.0, p.between.1 * 100.0),
        ),
        None => ("—".to_owned(), "outside the measured range".to_owned()),
    };
    vec![format!("{:.0} %", share * 100.0), num(rps), format!("{:.0} %", utilization * 100.0), cpu, from]
}
