//! The rule on the decision criteria: whether one option wins on every criterion the run measures,
//! read off the findings page's dominance comparison.

use crate::model::results::Results;
use crate::report::claims::verdict::{Decision, Missing, Outcome, VerdictKind};
use crate::report::document::rtt;
use crate::report::findings::{self, dominance, Economics};

/// "The choice depends on the criteria weighed": per store round trip, more than one option no
/// other option beats on every criterion.
pub(super) fn no_single_winner(r: &Results, economics: &Economics) -> Decision {
    let f = findings::compute(r, *economics);
    let fronts = dominance::fronts(&f.candidates, findings::window_resolution_s(r));
    let judged: Vec<(String, bool)> = fronts
        .iter()
        .filter(|front| front.compared >= 2)
        .map(|front| {
            let mut by_wins: Vec<(String, Vec<&str>)> = Vec::new();
            for (c, wins) in &front.undominated {
                let on = wins.iter().map(|w| w.name()).collect::<Vec<_>>();
                let on = if on.is_empty() {
                    "ties the others".into()
                } else {
                    format!("beats another of them on {}", on.join(", "))
                };
                match by_wins.iter_mut().find(|(w, _)| *w == on) {
                    Some(g) => g.1.push(&c.case.target.id),
                    None => by_wins.push((on, vec![&c.case.target.id])),
                }
            }
            let each: Vec<String> = by_wins.iter().map(|(on, ids)| format!("{} ({on})", ids.join(", "))).collect();
            let line = format!(
                "store RTT {}: {} of {} options undominated: {}",
                rtt(authbench_targets::spec::Span(front.rtt)),
                front.undominated.len(),
                front.compared,
                each.join("; ")
            );
            (line, front.undominated.len() >= 2)
        })
        .collect();
    if judged.is_empty() {
        return Err(Missing("two options served the plain way with CPU, bytes and probe windows".into()));
    }
    let held = judged.iter().filter(|(_, ok)| *ok).count();
    let measured = judged.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join(" | ");
    let because = format!(
        "{measured}; rule: supported when at each store round trip at least two options remain that no other option \
         beats on every criterion (CPU per request, p99 at equal load, bytes, the revocation, logout and stale-role \
         windows, state shared by replicas: the dominated-options table), so which one to pick follows from the \
         criteria weighed; refuted when a single option beats or ties every other on all of them."
    );
    Ok(match held {
        n if n == judged.len() => Outcome::supported(measured, because),
        0 => Outcome::refuted(measured, because),
        _ => Outcome { measured, verdict: VerdictKind::DependsOn, because },
    })
}
