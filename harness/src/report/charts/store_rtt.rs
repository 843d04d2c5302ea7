//! Latency and target CPU per request against the store's round trip: one line per strategy and
//! store (and closed load), drawn where the run measured at least two round trips of it.

use std::collections::BTreeMap;

use plotters::style::RGBColor;

use super::lines::Lines;
use super::style::{color, write_answered};
use super::{Ctx, Series};
use crate::model::pool::{store_points, StorePoint};
use crate::model::results::Results;
use crate::report::document::{num, ChartRef};

const LATENCY: &str = "What does the store's network distance do to each strategy's latency?";
const CPU: &str = "What does the store's network distance do to each strategy's CPU per request?";

/// A series' name: the configuration at RTT 0, and the users when the run had several closed loads.
fn name(p: &StorePoint<'_>, several_loads: bool) -> String {
    let base = if p.pool == authbench_targets::spec::TargetSpec::POOL {
        p.family.id()
    } else {
        format!("{}-pool{}", p.family.id(), p.pool)
    };
    if several_loads {
        format!("{base} ({}u)", p.load.users)
    } else {
        base
    }
}

/// Points by series, keeping only series with two round trips or more.
fn grouped<'p, 'r>(points: &'p [StorePoint<'r>]) -> BTreeMap<String, Vec<&'p StorePoint<'r>>> {
    let mut users: Vec<usize> = points.iter().map(|p| p.load.users).collect();
    users.sort_unstable();
    users.dedup();
    let several = users.len() > 1;
    let mut by: BTreeMap<String, Vec<&StorePoint<'_>>> = BTreeMap::new();
    for p in points {
        by.entry(name(p, several)).or_default().push(p);
    }
    by.retain(|_, v| {
        let mut rtts: Vec<_> = v.iter().map(|p| p.rtt).collect();
        rtts.dedup();
        rtts.len() >= 2
    });
    by
}

fn series(
    by: &BTreeMap<String, Vec<&StorePoint<'_>>>,
    suffix: &str,
    shade: impl Fn(RGBColor) -> RGBColor,
    y: impl Fn(&StorePoint<'_>) -> f64,
) -> Vec<Series> {
    by.iter()
        .map(|(n, v)| {
            let mut pts: Vec<(f64, f64)> = v.iter().map(|p| (p.rtt.as_secs_f64() * 1e6, y(p))).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (format!("{n}{suffix}"), shade(color(&v[0].family)), pts)
        })
        .collect()
}

/// A lighter shade of a configuration's colour (halfway to white), for its p99 beside its p50.
fn lighter(c: RGBColor) -> RGBColor {
    let half = |x: u8| x / 2 + 128;
    RGBColor(half(c.0), half(c.1), half(c.2))
}

/// Per series, a figure at the shortest and the longest round trip measured.
fn answer(series: &[Series], what: &str) -> String {
    let words = |(name, _, pts): &Series| {
        let (a, b) = (pts.first()?, pts.last()?);
        Some(format!("{name} {} → {} µs ({} → {} µs added)", num(a.1), num(b.1), num(a.0), num(b.0)))
    };
    let parts: Vec<String> = series.iter().filter_map(words).collect();
    match parts.is_empty() {
        true => "not measured".into(),
        false => format!("{what}: {}", parts.join("; ")),
    }
}

/// The two charts, when some configuration was measured at two round trips or more.
pub(super) fn render(r: &Results, ctx: &Ctx) -> anyhow::Result<Vec<ChartRef>> {
    let points = store_points(r);
    let by = grouped(&points);
    if by.is_empty() {
        return Ok(Vec::new());
    }
    let line = |caption: &str, y_desc: &str, series| Lines {
        title: format!("{caption} — {}", ctx.run),
        x_desc: "store round trip added, µs".into(),
        y_desc: y_desc.into(),
        log_x: false,
        series,
    };
    let mut latency = series(&by, " p50", |c| c, |p| p.summary.p50_us.median);
    latency.extend(series(&by, " p99", lighter, |p| p.summary.p99_us.median));
    let cpu = series(&by, "", |c| c, |p| p.summary.target_cpu_us.median);
    let p50: Vec<Series> =
        latency.iter().filter_map(|(n, c, pts)| Some((n.strip_suffix(" p50")?.to_owned(), *c, pts.clone()))).collect();
    let (latency_answer, cpu_answer) =
        (answer(&p50, "p50 at the shortest and longest round trip"), answer(&cpu, "target CPU per request"));
    Ok(vec![
        write_answered(
            &line(LATENCY, "latency µs, browse (closed), median of repetitions", latency),
            ctx.dir,
            ChartRef::new("store_rtt_latency", LATENCY, latency_answer),
        )?,
        write_answered(
            &line(CPU, "target CPU µs per request (relay not included)", cpu),
            ctx.dir,
            ChartRef::new("store_rtt_cpu", CPU, cpu_answer),
        )?,
    ])
}
