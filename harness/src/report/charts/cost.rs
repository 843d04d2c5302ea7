//! What a request costs in CPU, the store's included: CPU µs per request stacked target + store,
//! and requests per core-second counting both (target alone beside it). A store whose CPU was not
//! measured (an external one) is said "store not measured", never counted as 0.

use plotters::style::RGBColor;

use super::bars::{Bars, Row, Segment};
use super::groups::{by_strategy, grouped_rows, strategy_key};
use super::style::write_answered;
use super::Ctx;
use crate::model::results::Case;
use crate::report::document::{num, ChartRef};

/// The store's part of a stacked bar: one neutral colour apart from every strategy's hue.
const STORE: RGBColor = RGBColor(90, 90, 90);
/// What counting the target alone would add to requests per core: drawn faint.
const TARGET_ALONE: RGBColor = RGBColor(215, 215, 215);

const CPU_QUESTION: &str = "Which strategy needs the fewest cores per request, its store's CPU included?";
const CORE_QUESTION: &str = "How many requests per second does one core serve, the store's CPU included?";

/// Target and store CPU µs per request of a case; the store None when it was not measured.
pub(super) fn cpu(c: &Case) -> (f64, Option<f64>) {
    (c.cpu_us_per_request.target, c.cpu_us_per_request.store)
}

/// Requests per core-second counting target and store, None when either was not measured.
pub(super) fn per_core_with_store(c: &Case) -> Option<f64> {
    let (t, s) = cpu(c);
    let total = t + s?;
    (total > 0.0).then(|| 1e6 / total)
}

/// One case's CPU in words: "10.4 µs target" or "21.1 µs target + 9.8 µs store".
fn cpu_words(c: &Case) -> String {
    match cpu(c) {
        (t, Some(s)) if s > 0.0 => format!("{} µs target + {} µs store", num(t), num(s)),
        (t, Some(_)) => format!("{} µs target, no store process", num(t)),
        (t, None) => format!("{} µs target + store not measured", num(t)),
    }
}

/// Whether a case's store runs in processes of its own (PostgreSQL, Redis), not in the target.
fn has_store_process(c: &Case) -> bool {
    matches!(c.target.spec.needed_store(), Some(s) if s != authbench_targets::spec::StoreKind::Memory)
}

/// Per strategy, the case with the lowest target + store CPU, and the lowest among those with a
/// store process of their own when that is another case (a case whose store was not measured
/// comes last: its total is not known).
fn cheapest<'a>(cases: &[&'a Case]) -> Vec<&'a Case> {
    let key = |c: &&Case| {
        let (t, s) = cpu(c);
        (s.is_none(), t + s.unwrap_or(0.0))
    };
    let order = |a: &&Case, b: &&Case| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    };
    let mut out = Vec::new();
    for (_, g) in by_strategy(cases) {
        let best = g.iter().copied().min_by(order);
        let stored = g.iter().copied().filter(|c| has_store_process(c)).min_by(order);
        out.extend(best);
        out.extend(stored.filter(|s| best.is_none_or(|b| b.target.id != s.target.id)));
    }
    out
}

/// The CPU chart's answer: each strategy's cheapest configuration and its CPU per request.
pub(super) fn cpu_answer(cases: &[&Case]) -> String {
    let parts: Vec<String> = cheapest(cases).iter().map(|c| format!("{}: {}", c.target.id, cpu_words(c))).collect();
    match parts.is_empty() {
        true => "not measured".into(),
        false => format!("cheapest of each strategy, and with a store process of its own: {}", parts.join("; ")),
    }
}

/// The per-core chart's answer: each strategy's cheapest configuration in requests per core-second.
pub(super) fn per_core_answer(cases: &[&Case]) -> String {
    let words = |c: &Case| match (per_core_with_store(c), c.req_per_core_s) {
        (Some(w), Some(a)) if (a - w).abs() > 0.5 => format!("{} with its store ({} target alone)", num(w), num(a)),
        (Some(w), _) => num(w),
        (None, Some(a)) => format!("{} target alone, store not measured", num(a)),
        (None, None) => "not measured".into(),
    };
    let parts: Vec<String> = cheapest(cases).iter().map(|c| format!("{}: {}", c.target.id, words(c))).collect();
    match parts.is_empty() {
        true => "not measured".into(),
        false => {
            format!("req/core·s of each strategy's cheapest, and with a store process of its own: {}", parts.join("; "))
        }
    }
}

/// A case's CPU bar: target in its shade, then the store (or "store not measured").
fn cpu_row(c: &Case, color: RGBColor) -> Vec<Row> {
    let (t, s) = cpu(c);
    vec![Row::new(
        c.target.id.clone(),
        vec![Segment { value: Some(t), color, name: "target" }, Segment { value: s, color: STORE, name: "store" }],
    )]
}

/// A case's per-core bar: counting the store, then faint what counting the target alone adds.
fn per_core_row(c: &Case, color: RGBColor) -> Vec<Row> {
    let label = c.target.id.clone();
    let row = match (per_core_with_store(c), c.req_per_core_s) {
        (Some(w), Some(a)) if (a - w).abs() > 0.5 => Row {
            label,
            segments: vec![Segment::whole(Some(w), color), Segment::whole(Some(a - w), TARGET_ALONE)],
            note: Some(format!("{} ({} target alone)", num(w), num(a))),
        },
        (Some(w), _) => Row::new(label, vec![Segment::whole(Some(w), color)]),
        (None, Some(a)) => Row {
            label,
            segments: vec![Segment::whole(Some(a), TARGET_ALONE)],
            note: Some(format!("{} target alone (store not measured)", num(a))),
        },
        (None, None) => Row::new(label, vec![Segment::whole(None, color)]),
    };
    vec![row]
}

/// CPU µs per request, target + store stacked, grouped by strategy.
pub(super) fn cpu_chart(closed: &[&Case], ctx: &Ctx) -> anyhow::Result<ChartRef> {
    let mut legend = strategy_key(closed);
    legend.push(("store CPU (\"store not measured\" when external)".into(), STORE));
    let chart = Bars {
        title: format!("CPU µs per request, target + store, browse (closed) — {}", ctx.run),
        x_desc: "CPU microseconds per request (from /proc; the load generator's not included)".into(),
        rows: grouped_rows(closed, cpu_row),
        legend,
    };
    write_answered(&chart, ctx.dir, ChartRef::new("cpu", CPU_QUESTION, cpu_answer(closed)))
}

/// Requests per core-second counting target and store, grouped by strategy.
pub(super) fn per_core_chart(closed: &[&Case], ctx: &Ctx) -> anyhow::Result<ChartRef> {
    let mut legend = strategy_key(closed);
    legend.push(("faint: what counting the target's CPU alone would add".into(), TARGET_ALONE));
    let chart = Bars {
        title: format!("Requests per core-second, target + store CPU, browse (closed) — {}", ctx.run),
        x_desc: "1e6 / (target + store CPU µs per request)".into(),
        rows: grouped_rows(closed, per_core_row),
        legend,
    };
    write_answered(&chart, ctx.dir, ChartRef::new("req_per_core", CORE_QUESTION, per_core_answer(closed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::{self, Results};

    /// The reference run: 27 configurations, Redis and PostgreSQL measured beside the targets.
    fn reference() -> Results {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/standard");
        results::read(&dir).expect("the reference run reads")
    }

    fn case<'a>(r: &'a Results, id: &str) -> &'a Case {
        r.closed_browse().into_iter().find(|c| c.target.id == id).expect("a closed browse case")
    }

    #[test]
    fn a_store_backed_case_serves_fewer_requests_per_core_once_its_store_counts() {
        let r = reference();
        let c = case(&r, "session-redis");
        let (with, alone) = (per_core_with_store(c).expect("measured"), c.req_per_core_s.expect("measured"));
        assert!(with < alone, "{with} with the store, {alone} target alone");
        let row = &per_core_row(c, RGBColor(0, 0, 0))[0];
        assert!(row.note.as_deref().is_some_and(|n| n.contains("target alone")), "{:?}", row.note);
    }

    #[test]
    fn an_unmeasured_store_is_said_not_counted_as_zero() {
        let mut r = reference();
        let closed: Vec<&mut Case> = r.cases.iter_mut().filter(|c| c.target.id == "session-redis").collect();
        for c in closed {
            c.cpu_us_per_request.store = None;
        }
        let c = case(&r, "session-redis");
        assert_eq!(per_core_with_store(c), None);
        assert!(cpu_words(c).ends_with("store not measured"), "{}", cpu_words(c));
        let row = &per_core_row(c, RGBColor(0, 0, 0))[0];
        assert_eq!(row.note.as_deref().map(|n| n.ends_with("(store not measured)")), Some(true));
    }

    #[test]
    fn the_answers_follow_the_figures() {
        let mut r = reference();
        let before = cpu_answer(&r.closed_browse());
        assert!(before.contains("session-redis") || before.contains("session-postgres"), "{before}");
        for c in r.cases.iter_mut().filter(|c| c.target.id == "jwt-HS256") {
            c.cpu_us_per_request.target /= 4.0;
            c.req_per_core_s = c.req_per_core_s.map(|x| x * 4.0);
        }
        let (after, cores) = (cpu_answer(&r.closed_browse()), per_core_answer(&r.closed_browse()));
        assert_ne!(before, after);
        let jwt = case(&r, "jwt-HS256");
        assert!(after.contains(&format!("jwt-HS256: {} µs target", num(jwt.cpu_us_per_request.target))), "{after}");
        let per_core = per_core_with_store(jwt).expect("measured");
        assert!(cores.contains(&format!("jwt-HS256: {}", num(per_core))), "{cores}");
        assert_eq!(cpu_answer(&[]), "not measured");
    }
}
