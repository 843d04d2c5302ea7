//! A configuration's rate ladder: the open model at each listed rate (fractions of the
//! closed-loop saturation measured earlier in the run, or explicit rates), then bisection between
//! the last step that met the SLO and the first that did not.

use authbench_scenarios::{LoadModel, ScenarioKind};
use authbench_targets::spec::TargetSpec;

use super::case::CaseKey;
use super::target::Launch;
use super::{interrupt, Runner};
use crate::model::ladder::{bracket, Capacity, Ladder, LadderSpec, Step};
use crate::model::matrix::LoadSpec;
use crate::model::results::{CaseRole, Skipped};

/// Bisection stops once the bracket is narrower than this share of its lower end: closer than
/// run-to-run noise, another step would not say more.
const NARROWEST_BRACKET: f64 = 0.02;

/// The next rate to measure between the bracket's ends, or None when the SLO search is done.
pub(super) fn next_refinement(steps: &[Step]) -> Option<f64> {
    match bracket(steps) {
        Capacity::Found { rps, next_rps } if next_rps - rps > rps * NARROWEST_BRACKET => {
            let mid = ((rps + next_rps) / 2.0).round();
            // At low rates rounding can land on an end: that step is measured already.
            (mid > rps && mid < next_rps).then_some(mid)
        }
        Capacity::Found { .. } | Capacity::NoSlo | Capacity::AtLeast { .. } | Capacity::Below { .. } => None,
    }
}

/// Climbs one configuration's ladder; None when its rates cannot be known (no saturation measured).
pub(super) async fn climb(
    spec: &TargetSpec,
    launch: &Launch<'_>,
    ladder: &LadderSpec,
    runner: &mut Runner<'_>,
) -> anyhow::Result<Option<Ladder>> {
    let tid = spec.id();
    let saturation_rps = runner.results.saturation(&tid).map(|s| s.throughput_rps.median);
    let Some(rates) = ladder.rates(saturation_rps) else {
        runner.results.skipped.push(Skipped {
            id: format!("{tid}/ladder"),
            reason: "its rates are fractions of the closed-loop browse saturation, which this run did not measure"
                .into(),
        });
        return Ok(None);
    };
    let climb = Climb { spec, launch, ladder, saturation_rps };
    let mut steps = Vec::new();
    for rate in rates {
        if let Some(step) = climb.step(runner, rate, false).await? {
            steps.push(step);
        }
    }
    for _ in 0..ladder.refine {
        let Some(rate) = next_refinement(&steps) else { break };
        match climb.step(runner, rate, true).await? {
            Some(step) => steps.push(step),
            None => break,
        }
    }
    if steps.is_empty() {
        runner.results.skipped.push(Skipped {
            id: format!("{tid}/ladder"),
            reason: "no step completed (interrupted, or every step failed: see the skipped steps)".into(),
        });
        return Ok(None);
    }
    steps.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
    let capacity = bracket(&steps);
    Ok(Some(Ladder {
        target: spec.into(),
        scenario: ScenarioKind::Browse,
        users: ladder.users,
        saturation_rps,
        slo: ladder.slo,
        steps,
        capacity,
    }))
}

/// What every step of one configuration's ladder shares.
struct Climb<'a, 'l> {
    spec: &'a TargetSpec,
    launch: &'a Launch<'l>,
    ladder: &'a LadderSpec,
    saturation_rps: Option<f64>,
}

impl Climb<'_, '_> {
    /// One step at `rate`; None when it did not complete (interrupted or failed, as results.json says).
    async fn step(&self, runner: &mut Runner<'_>, rate: f64, refined: bool) -> anyhow::Result<Option<Step>> {
        if interrupt::is_set() {
            return Ok(None);
        }
        let rate = rate.round().max(1.0);
        let load = LoadSpec {
            scenario: ScenarioKind::Browse,
            model: LoadModel::Open { rate_rps: rate },
            users: self.ladder.users,
            population: None,
        };
        let id = format!("{}/ladder/{}", self.spec.id(), load.id());
        let role = if refined { CaseRole::Refine } else { CaseRole::Ladder };
        let case = runner.case(CaseKey { id: &id, repetition: 1, role }, self.spec, &load, self.launch).await?;
        Ok(case.map(|c| Step::of(&c, rate, self.saturation_rps, self.ladder.slo, refined)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::Cpu;

    /// A step as a target whose p99 crosses the SLO at `knee` would give.
    fn synthetic(offered: f64, knee: f64) -> Step {
        Step {
            case_id: format!("s{offered}"),
            offered_rps: offered,
            achieved_rps: offered.min(knee * 1.1),
            p50_us: 100,
            p99_us: if offered <= knee { 5_000 } else { 50_000 },
            errors: 0,
            cpu_us_per_request: Cpu {
                target: 50.0,
                store: None,
                loadgen: 10.0,
                relay: None,
                source: crate::model::results::CpuSource::Proc,
                balancer: None,
                per_replica: Vec::new(),
            },
            utilization: None,
            met_slo: Some(offered <= knee),
            refined: false,
        }
    }

    #[test]
    fn bisection_ends_on_a_passing_step_whose_next_step_failed() {
        let knee = 3_337.0;
        let mut steps: Vec<Step> = [1000.0, 2000.0, 4000.0, 5000.0].iter().map(|r| synthetic(*r, knee)).collect();
        let mut probes = 0;
        while let Some(rate) = next_refinement(&steps) {
            assert!(rate > 2000.0 && rate < 4000.0, "refinement stays inside the first bracket: {rate}");
            steps.push(Step { refined: true, ..synthetic(rate, knee) });
            probes += 1;
            assert!(probes < 20, "bisection must terminate");
        }
        let Capacity::Found { rps, next_rps } = bracket(&steps) else { panic!("no bracket") };
        let at = |r: f64| steps.iter().find(|s| s.offered_rps == r).unwrap();
        assert_eq!(at(rps).met_slo, Some(true));
        assert_eq!(at(next_rps).met_slo, Some(false));
        assert!(rps <= knee && knee < next_rps);
        assert!(next_rps - rps <= rps * NARROWEST_BRACKET, "{rps}..{next_rps}");
    }

    #[test]
    fn bisection_never_measures_a_rate_twice() {
        let steps = [synthetic(10.0, 10.0), synthetic(11.0, 10.0)];
        assert_eq!(next_refinement(&steps), None, "round(10.5) = 11 is measured already");
    }

    #[test]
    fn nothing_to_refine_without_a_failure_or_a_pass() {
        assert_eq!(next_refinement(&[synthetic(1000.0, 5000.0)]), None);
        assert_eq!(next_refinement(&[synthetic(1000.0, 10.0)]), None);
        let no_slo = Step { met_slo: None, ..synthetic(1000.0, 5000.0) };
        assert_eq!(next_refinement(&[no_slo]), None);
    }
}
