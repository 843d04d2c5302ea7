//! Configurations grouped by strategy for bar charts: a header row per strategy, the strategy's
//! hue for all its configurations in distinct shades, and a key naming each strategy's hue.

use plotters::style::RGBColor;

use authbench_targets::spec::StrategyKind;

use super::bars::Row;
use super::style::{palette, strategy_color};
use crate::model::results::Case;

/// Strategies in the order groups are drawn: the floor first, then from least to most stored.
const ORDER: [StrategyKind; 4] = [StrategyKind::None, StrategyKind::Jwt, StrategyKind::Session, StrategyKind::Hybrid];

/// The cases by strategy in [`ORDER`], each group in the run's order, strategies without a case left out.
pub(super) fn by_strategy<'a>(cases: &[&'a Case]) -> Vec<(StrategyKind, Vec<&'a Case>)> {
    ORDER
        .iter()
        .map(|s| (*s, cases.iter().copied().filter(|c| c.target.spec.strategy == *s).collect::<Vec<_>>()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// A header per strategy, then `rows` of each of its cases, given the case's colour.
pub(super) fn grouped_rows(cases: &[&Case], rows: impl Fn(&Case, RGBColor) -> Vec<Row>) -> Vec<Row> {
    let mut out = Vec::new();
    for (strategy, group) in by_strategy(cases) {
        let specs: Vec<_> = group.iter().map(|c| &c.target.spec).collect();
        let n = group.len();
        out.push(Row::header(format!("{strategy} ({n} configuration{})", if n == 1 { "" } else { "s" })));
        for (c, color) in group.iter().zip(palette(&specs)) {
            out.extend(rows(c, color));
        }
    }
    out
}

/// One key entry per strategy present: its hue.
pub(super) fn strategy_key(cases: &[&Case]) -> Vec<(String, RGBColor)> {
    by_strategy(cases)
        .into_iter()
        .map(|(s, _)| (format!("{s}: one shade per configuration"), strategy_color(s)))
        .collect()
}

/// An answer naming, per strategy, the case `pick` chooses in `words`: "jwt-HS256: …; session-…";
/// "not measured" when no strategy has one.
pub(super) fn per_strategy(
    cases: &[&Case],
    pick: impl Fn(Vec<&Case>) -> Option<&Case>,
    words: impl Fn(&Case) -> String,
) -> String {
    let parts: Vec<String> = by_strategy(cases)
        .into_iter()
        .filter_map(|(_, g)| pick(g))
        .map(|c| format!("{}: {}", c.target.id, words(c)))
        .collect();
    match parts.is_empty() {
        true => "not measured".into(),
        false => parts.join("; "),
    }
}

/// The case of a group with the highest (or lowest) figure, among those measured.
pub(super) fn extreme(group: Vec<&Case>, figure: impl Fn(&Case) -> Option<f64>, highest: bool) -> Option<&Case> {
    let measured = group.into_iter().filter_map(|c| Some((figure(c)?, c)));
    let best =
        if highest { measured.max_by(|a, b| a.0.total_cmp(&b.0)) } else { measured.min_by(|a, b| a.0.total_cmp(&b.0)) };
    best.map(|(_, c)| c)
}
