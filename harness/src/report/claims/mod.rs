//! Published claims and the verdicts this run's measurements give them.
//!
//! Claims are data: `harness/claims.toml` is built in, and `authbench report DIR --claims FILE`
//! judges a team's own file instead. Each `[[claim]]` names one [`Rule`] (`rule = "..."`) and
//! the threshold that rule takes, if any; the file is checked when it is loaded, so an unknown
//! rule or field, or a missing threshold, is refused with its line before anything is rendered:
//!
//! ```toml
//! [[claim]]
//! id = "our-redis-budget"
//! claim = "A Redis session lookup costs ~500 µs"
//! source = "Platform team SLO, 2025"
//! metric = "mean Redis session_get latency seen by the target"
//! rule = "redis_lookup_us"
//! claimed_us = 500.0
//!
//! [[claim]]
//! id = "jwt-revocation"
//! claim = "A logged-out JWT keeps working until it expires"
//! source = "Security review"
//! metric = "security probe, jwt without denylist: revocation window"
//! rule = "jwt_revocation"
//! ```
//!
//! The rules, their thresholds and optional settings, and the one rule deciding supported /
//! refuted / depends-on are documented at the top of `harness/claims.toml` and in `verdict`.
//!
//! - `file`: loading, with [`ClaimsError`] saying where a file is wrong.
//! - `rule`: the [`Rule`] enum, its threshold fields and the optional [`Setting`]s.
//! - `rules`: one function per rule, dispatched by an exhaustive `match`.
//! - `verdict`: [`Verdict`] and [`VerdictKind`]; a figure the run lacks gives "not measured".

mod file;
mod rule;
mod rules;
mod verdict;

pub use file::{builtin, from_file, ClaimsError, Position, Problem};
pub use rule::{MetricKind, Rule, RuleName, Setting, Settings, Threshold};
pub use verdict::{Verdict, VerdictKind, DEFAULT_TOLERANCE};

use std::borrow::Cow;

use crate::model::results::Results;
use crate::report::findings::Economics;

/// One claim as loaded from a claims file.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub id: String,
    pub claim: String,
    pub source: String,
    /// Where the source can be read, when the file gives it.
    pub url: Option<String>,
    /// The figure the claim is checked against, in words.
    pub metric: String,
    /// The kind of figure the claim states; its rule judges that kind.
    pub states: MetricKind,
    /// The load or condition the claim was stated under, as published ("unstated" when it names none).
    pub condition: String,
    pub rule: Rule,
    /// The tolerance factor of the verdict rule (the `tolerance` field, default 2×).
    pub tolerance: f64,
}

/// Verdicts for every claim, in file order; cost claims price the run with `economics`. Claims
/// are judged on configurations of one target process: replicas behind a balancer are a
/// deployment's shape, which no claim states (their section of the report shows them).
pub fn judge(claims: &[Claim], r: &Results, economics: &Economics) -> Vec<Verdict> {
    let r = &*single_process(r);
    claims
        .iter()
        .map(|c| {
            let outcome = rules::decide(&c.rule, c.tolerance, r, economics).unwrap_or_else(verdict::Outcome::from);
            Verdict {
                id: c.id.clone(),
                claim: c.claim.clone(),
                source: c.source.clone(),
                url: c.url.clone(),
                metric: c.metric.clone(),
                states: c.states,
                condition: c.condition.clone(),
                measured: outcome.measured,
                verdict: outcome.verdict,
                because: outcome.because,
            }
        })
        .collect()
}

/// The run without its replicated configurations (borrowed when it has none).
fn single_process(r: &Results) -> Cow<'_, Results> {
    let one = |spec: &authbench_targets::spec::TargetSpec| spec.replicas == 1;
    let replicated = r.cases.iter().any(|c| !one(&c.target.spec)) || r.probes.iter().any(|p| !one(&p.target.spec));
    if !replicated {
        return Cow::Borrowed(r);
    }
    let mut single = r.clone();
    single.cases.retain(|c| one(&c.target.spec));
    single.summaries.retain(|s| one(&s.target.spec));
    single.probes.retain(|p| one(&p.target.spec));
    single.ladders.retain(|l| one(&l.target.spec));
    Cow::Owned(single)
}
