//! The rule on how long a JWT-authenticated request takes, judged on measured latency.

use authbench_targets::spec::StrategyKind;
use authbench_targets::token::alg::Alg;

use super::{condition, figure_of, jwt_hs256, repetitions};
use crate::model::ladder::{Ladder, Percentile, Step};
use crate::model::results::{Case, Results, Shares};
use crate::model::stats::Estimate;
use crate::report::claims::verdict::{judge_figures, Decision, Direction, Figure, Missing, Reading, Stated};

/// What a latency claim asks: its figure, the percentile, and the offered rate if it names one.
#[derive(Clone, Copy, Debug)]
pub(super) struct Asked {
    pub claimed_us: f64,
    pub percentile: Percentile,
    pub at_rps: Option<f64>,
}

/// "A JWT-authenticated request takes ~claimed_us": the jwt HS256 latency percentile at the
/// ladder step at or below `at_rps` when the claim names a rate and the run climbed one, else at
/// the closed browse case (median and interval over its repetitions).
pub(super) fn jwt_latency_us(r: &Results, a: Asked, t: f64) -> Decision {
    let j = jwt_hs256(r)?;
    let stated = Stated { value: a.claimed_us, direction: Direction::About, unit: " µs", digits: 0, scale: 1.0 };
    let p = a.percentile;
    let (readings, cpu, load_note) = match a.at_rps.and_then(|rate| ladder_step(r, rate)) {
        Some((step, c)) => {
            let cpu = format!("{:.1} µs (one window)", step.cpu_us_per_request.target);
            (vec![step_reading(step, c, p)], cpu, String::new())
        }
        None => {
            let what = |c: &Case| format!("target CPU for {}", c.id);
            let cpu = figure_of(r, j, |c| Some(c.cpu_us_per_request.target), what)?.show(1, " µs");
            (closed_readings(r, j, p)?, cpu, closed_note(r, j, a.at_rps))
        }
    };
    let why = format!(
        "Latency is the client-side {} of whole requests at that load, queueing and loopback network included; the \
         target's own CPU per request is {cpu} there (rule jwt_cost_us judges CPU claims).{load_note}",
        p.as_str()
    );
    judge_figures(&stated, &readings, t, &why)
}

/// The percentile over the closed browse case's repetitions; split in two readings when the load
/// generator was the limit in some repetitions only, so a verdict that changes with it depends on it.
fn closed_readings(r: &Results, j: &Case, p: Percentile) -> Result<Vec<Reading>, Missing> {
    let head = format!("{} {} (closed loop, {} users)", condition(j), p.as_str(), j.load.users);
    let reps = repetitions(r, j);
    let (bound, free): (Vec<&Case>, Vec<&Case>) =
        reps.iter().partition(|c| c.shares.as_ref().is_some_and(Shares::loadgen_bound));
    let groups = if bound.is_empty() || free.is_empty() {
        vec![(head, reps)]
    } else {
        vec![
            (format!("{head}, {} repetitions the load generator limited", bound.len()), bound),
            (format!("{head}, {} repetitions it did not", free.len()), free),
        ]
    };
    groups
        .into_iter()
        .map(|(condition, cases)| {
            let values: Vec<f64> = cases.iter().map(|c| p.of(c) as f64).collect();
            let e = Estimate::of(&values).ok_or_else(|| Missing(format!("{} latency for {}", p.as_str(), j.id)))?;
            Ok(Reading { condition, figure: Figure::of(&e) })
        })
        .collect()
}

/// Why the closed case was read and whether the load generator limited it.
fn closed_note(r: &Results, j: &Case, at_rps: Option<f64>) -> String {
    let mut note = match at_rps {
        Some(rate) => format!(
            " The claim names {rate:.0} req/s but the run has no jwt HS256 ladder step at or below it without \
             errors, so the closed browse case is read."
        ),
        None => String::new(),
    };
    let (bound, n) = r.summary(&j.target.id, &j.load).map_or((0, 1), |s| (s.loadgen_bound, s.case_ids.len()));
    if bound > 0 {
        note.push_str(&format!(
            " The load generator was the limit in {bound} of {n} repetitions, so the closed-loop latency includes \
             its own queueing."
        ));
    }
    note
}

/// The highest error-free step of the jwt HS256 ladder offered at or below `rate`, with its case.
fn ladder_step(r: &Results, rate: f64) -> Option<(&Step, &Case)> {
    let plain_hs256 = |l: &&Ladder| {
        let s = &l.target.spec;
        s.strategy == StrategyKind::Jwt && s.denylist.is_none() && s.alg == Alg::Hs256
    };
    let ladder = r.ladders.iter().find(plain_hs256)?;
    let step = ladder
        .steps
        .iter()
        .filter(|s| s.offered_rps <= rate && s.errors == 0)
        .max_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps))?;
    Some((step, r.cases.iter().find(|c| c.id == step.case_id)?))
}

/// One ladder step's percentile: a single window, so no interval.
fn step_reading(step: &Step, c: &Case, p: Percentile) -> Reading {
    let v = p.of(c) as f64;
    Reading {
        condition: format!(
            "{} {} at the ladder step offered {:.0} req/s (achieved {:.0})",
            c.target.id,
            p.as_str(),
            step.offered_rps,
            step.achieved_rps
        ),
        figure: Figure { median: v, low: v, high: v, n: 1 },
    }
}
