//! Scoring the run's configurations against the user's priorities.

use authbench_targets::spec::{StrategyKind, TargetSpec};

use super::priorities::{Criterion, Priorities, Scale};
use crate::model::results::{Case, Results};

/// Why no decision record can be written from a run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdrError {
    #[error(
        "the run has no browse (closed) case with a security probe to decide from: use a results directory of a run \
         with browse (closed) cases whose security probe finished"
    )]
    NoCandidates,
    #[error(
        "no option has a measured figure for the drivers weighed ({weighed}): weigh one of the measured drivers too \
         with --priority"
    )]
    NothingMeasured { weighed: String },
}

/// How a configuration uses its store, decided by its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorePath {
    /// No store at all.
    NoStore,
    /// The store is needed for login and refresh, not for API requests.
    RefreshOnly,
    /// Every API request looks something up in the store.
    EveryRequest,
}

impl StorePath {
    /// The store path of a configuration.
    pub fn of(spec: &TargetSpec) -> StorePath {
        match spec.strategy {
            StrategyKind::Jwt => match spec.denylist {
                Some(_) => StorePath::EveryRequest,
                None => StorePath::NoStore,
            },
            StrategyKind::Session => StorePath::EveryRequest,
            StrategyKind::Hybrid => StorePath::RefreshOnly,
            StrategyKind::None => StorePath::NoStore,
        }
    }

    /// The simplicity score: 1 without a store, 0.5 with a store touched only on refresh, 0 with a
    /// lookup per request.
    pub fn simplicity(self) -> f64 {
        match self {
            StorePath::NoStore => 1.0,
            StorePath::RefreshOnly => 0.5,
            StorePath::EveryRequest => 0.0,
        }
    }

    /// The cell of the options table.
    pub fn as_str(self) -> &'static str {
        match self {
            StorePath::NoStore => "none",
            StorePath::RefreshOnly => "on refresh only",
            StorePath::EveryRequest => "every request",
        }
    }

    pub(super) fn consequence(self) -> &'static str {
        match self {
            StorePath::NoStore => "none",
            StorePath::RefreshOnly => "the store is needed for login and refresh only",
            StorePath::EveryRequest => "every request needs the store; its availability bounds the API's",
        }
    }
}

/// One candidate with its raw figures and score.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub target: String,
    pub spec: TargetSpec,
    /// Seconds a revoked credential may still be used (measured, or the bound when the probe capped).
    pub revocation_s: f64,
    /// Target CPU µs per request.
    pub target_cpu_us: f64,
    /// Target plus store CPU µs per request; None when the store's share was not measured (external store).
    pub cpu_us: Option<f64>,
    pub p99_us: f64,
    pub bytes: f64,
    pub store_path: StorePath,
    /// Weighted score; None when none of the weighed drivers was measured for this candidate.
    pub score: Option<f64>,
}

impl Candidate {
    /// The raw figure a criterion scores; None when the run did not measure it.
    pub fn figure(&self, criterion: Criterion) -> Option<f64> {
        match criterion {
            Criterion::Revocation => Some(self.revocation_s),
            Criterion::Cpu => self.cpu_us,
            Criterion::Latency => Some(self.p99_us),
            Criterion::Bandwidth => Some(self.bytes),
            Criterion::Simplicity => Some(self.store_path.simplicity()),
        }
    }
}

/// An option the decision can pick: every configuration but the `none` floor, which authenticates nothing.
fn is_option(c: &Case) -> bool {
    c.target.spec.strategy != StrategyKind::None
}

fn candidate(r: &Results, c: &Case) -> Option<Candidate> {
    let p = r.probe(&c.target.id).filter(|_| is_option(c))?;
    Some(Candidate {
        target: c.target.id.clone(),
        spec: c.target.spec,
        revocation_s: p.revocation.measured_or_bound_s(p.cap_s),
        target_cpu_us: c.cpu_us_per_request.target,
        cpu_us: c.cpu_us_per_request.target_and_store(),
        p99_us: c.latency_us.p99 as f64,
        bytes: c.bytes_per_request.total(),
        store_path: StorePath::of(&c.target.spec),
        score: None,
    })
}

/// Configurations with a closed browse case but no security probe: they cannot be candidates.
pub fn unprobed(r: &Results) -> Vec<&str> {
    let unprobed = |c: &&Case| is_option(c) && r.probe(&c.target.id).is_none();
    r.closed_browse().into_iter().filter(unprobed).map(|c| c.target.id.as_str()).collect()
}

/// Normalises lower-is-better figures to 1 (best) .. 0 (worst) across the measured ones; log scale
/// for windows spanning decades. A figure not measured stays None.
fn norm_low(values: &[Option<f64>], log: bool) -> Vec<Option<f64>> {
    let t: Vec<Option<f64>> = values.iter().map(|v| v.map(|v| if log { (v + 0.01).log10() } else { v })).collect();
    let (lo, hi) = t.iter().flatten().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    t.iter().map(|v| v.map(|v| if hi > lo { (hi - v) / (hi - lo) } else { 1.0 })).collect()
}

fn scores(opts: &[Candidate], criterion: Criterion) -> Vec<Option<f64>> {
    let raw: Vec<Option<f64>> = opts.iter().map(|o| o.figure(criterion)).collect();
    match criterion.scale() {
        Scale::LowerIsBetter => norm_low(&raw, false),
        Scale::LowerIsBetterLog => norm_low(&raw, true),
        Scale::Score => raw,
    }
}

/// Ranks the candidates for the given weighted priorities, best first; candidates without a score
/// (nothing weighed was measured for them) come last.
pub fn rank(r: &Results, priorities: &Priorities) -> Result<Vec<Candidate>, AdrError> {
    let mut opts: Vec<Candidate> = r.closed_browse().into_iter().filter_map(|c| candidate(r, c)).collect();
    if opts.is_empty() {
        return Err(AdrError::NoCandidates);
    }
    let columns: Vec<(f64, Vec<Option<f64>>)> =
        priorities.iter().map(|p| (p.level.weight(), scores(&opts, p.criterion))).collect();
    let total: f64 = columns.iter().map(|(w, _)| w).sum();
    for (i, o) in opts.iter_mut().enumerate() {
        let (sum, measured) = columns
            .iter()
            .filter_map(|(w, s)| s[i].map(|s| (w * s, *w)))
            .fold((0.0, 0.0), |(sum, weight), (ws, w)| (sum + ws, weight + w));
        o.score = if measured == total {
            Some(sum)
        } else if measured > 0.0 {
            // Left out of what was not measured: the mean of the rest, at the full weight.
            Some(sum / measured * total)
        } else {
            None
        };
    }
    opts.sort_by(|a, b| {
        match (a.score, b.score) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.target.cmp(&b.target))
    });
    if opts[0].score.is_none() {
        let weighed: Vec<&str> = priorities.iter().map(|p| p.criterion.as_str()).collect();
        return Err(AdrError::NothingMeasured { weighed: weighed.join(", ") });
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_skips_what_was_not_measured() {
        assert_eq!(norm_low(&[Some(10.0), None, Some(20.0)], false), [Some(1.0), None, Some(0.0)]);
        assert_eq!(norm_low(&[None, Some(5.0)], false), [None, Some(1.0)]);
    }
}
