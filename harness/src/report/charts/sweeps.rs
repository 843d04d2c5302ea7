//! Sweep charts: hybrid against access TTL (lines, one per store) and jwt by algorithm (bars).

use std::collections::BTreeMap;
use std::path::Path;

use authbench_scenarios::ScenarioKind;
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;

use super::bars::{Bars, Row, Segment};
use super::lines::Lines;
use super::style::{color, write};
use super::Series;
use crate::model::results::{Case, Results};
use crate::report::document::ChartRef;

/// One hybrid population case of a TTL sweep (users with think time refresh at the rate their
/// access TTL implies; the refresh scenario rotates on every step whatever the TTL).
struct TtlPoint {
    ttl_s: f64,
    store_ops: f64,
    /// Measured revocation window, or the bound when the probe was capped; None without a probe.
    window_s: Option<f64>,
}

fn is_ttl_sweep_case(c: &Case) -> bool {
    let spec = &c.target.spec;
    spec.strategy == StrategyKind::Hybrid && c.load.scenario == ScenarioKind::Population && spec.alg == Alg::Hs256
}

/// Hybrid HS256 population cases of the matrix by store (with repetitions, the one with the median
/// throughput), where a store has at least two TTLs.
fn ttl_points(r: &Results) -> BTreeMap<StoreKind, Vec<TtlPoint>> {
    let mut by_store: BTreeMap<StoreKind, Vec<TtlPoint>> = BTreeMap::new();
    for c in r.summaries.iter().filter_map(|s| r.representative(s)).filter(|c| is_ttl_sweep_case(c)) {
        let Some(store) = c.target.spec.store else { continue };
        let window_s = r.probe(&c.target.id).map(|p| p.revocation.measured_or_bound_s());
        let ttl_s = c.target.spec.ttls.access.0.as_secs_f64();
        by_store.entry(store).or_default().push(TtlPoint { ttl_s, store_ops: c.store_ops_per_request, window_s });
    }
    by_store.retain(|_, v| v.len() >= 2);
    by_store
}

/// One line per store; points without the figure are left out.
fn ttl_series(by_store: &BTreeMap<StoreKind, Vec<TtlPoint>>, y: fn(&TtlPoint) -> Option<f64>) -> Vec<Series> {
    by_store
        .iter()
        .map(|(s, v)| {
            let mut pts: Vec<(f64, f64)> = v.iter().filter_map(|p| Some((p.ttl_s, y(p)?))).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let spec = TargetSpec::stored(StrategyKind::Hybrid, *s, Alg::Hs256);
            (format!("hybrid on {s}"), color(&spec), pts)
        })
        .collect()
}

fn ttl_charts(r: &Results, dir: &Path, run: &str) -> anyhow::Result<Vec<ChartRef>> {
    let by_store = ttl_points(r);
    if by_store.is_empty() {
        return Ok(Vec::new());
    }
    let line = |caption: &str, y_desc: &str, series| Lines {
        title: format!("{caption} — {run}"),
        x_desc: "access token TTL, s (log)".into(),
        y_desc: y_desc.into(),
        log_x: true,
        series,
    };
    let ops = "Hybrid: store operations per request against access TTL (population scenario)";
    let window = "Hybrid: revocation window against access TTL";
    Ok(vec![
        write(
            &line(ops, "store operations per request", ttl_series(&by_store, |p| Some(p.store_ops))),
            dir,
            "sweep_ttl_store_ops",
            ops,
        )?,
        write(
            &line(
                window,
                "revocation window, s (measured, or bound when capped)",
                ttl_series(&by_store, |p| p.window_s),
            ),
            dir,
            "sweep_ttl_window",
            window,
        )?,
    ])
}

/// jwt without denylist by algorithm, where at least two algorithms have a figure.
fn alg_chart(r: &Results, dir: &Path, run: &str) -> anyhow::Result<Option<ChartRef>> {
    let algs: Vec<&Case> = r
        .closed_browse()
        .into_iter()
        .filter(|c| c.target.spec.strategy == StrategyKind::Jwt && c.target.spec.denylist.is_none())
        .filter(|c| c.req_per_core_s.is_some())
        .collect();
    if algs.len() < 2 {
        return Ok(None);
    }
    let caption = "jwt: requests per core-second by algorithm, browse (closed)";
    let rows = algs
        .iter()
        .map(|c| Row {
            label: c.target.spec.alg.to_string(),
            segments: vec![Segment::whole(c.req_per_core_s, color(&c.target.spec))],
        })
        .collect();
    let chart = Bars {
        title: format!("{caption} — {run}"),
        x_desc: "1e6 / target CPU µs per request".into(),
        rows,
        legend: Vec::new(),
    };
    write(&chart, dir, "sweep_alg", caption).map(Some)
}

/// Every sweep chart the results support.
pub(super) fn render(r: &Results, dir: &Path, run: &str) -> anyhow::Result<Vec<ChartRef>> {
    let mut out = ttl_charts(r, dir, run)?;
    out.extend(alg_chart(r, dir, run)?);
    Ok(out)
}
