//! Charts from results.json, each written as SVG and PNG with one shared [`style`], one file per
//! chart kind. A figure that was not measured is left out or marked "not measured", never drawn as 0.

pub mod auth_cost;
mod bars;
mod cpu_curve;
mod curves;
mod fault;
mod hybrid_share;
mod ladder;
mod lines;
// The security chart moved to security.rs; only scatter's WINDOW_FLOOR_S is still used, and its
// old one-window Scatter is left for its owner to delete.
#[allow(dead_code)]
mod scatter;
mod security;
mod store_rtt;
pub mod style;
mod sweeps;
mod timeline;

use std::path::Path;

use plotters::style::RGBColor;

use authbench_scenarios::ScenarioKind;

use crate::model::matrix::ModelKind;
use crate::model::results::{Case, Results};
use crate::report::document::ChartRef;
use bars::{Bars, Row, Segment};
use curves::Curves;
use style::write;

pub use style::color;

/// A named, coloured line.
type Series = (String, RGBColor, Vec<(f64, f64)>);

fn case_color(c: &Case) -> RGBColor {
    color(&c.target.spec)
}

/// One single-figure row per configuration; None draws no bar and says "not measured".
fn per_config(cases: &[&Case], value: impl Fn(&Case) -> Option<f64>) -> Vec<Row> {
    cases
        .iter()
        .map(|c| Row { label: c.target.id.clone(), segments: vec![Segment::whole(value(c), case_color(c))] })
        .collect()
}

/// A key entry per strategy and store, in the order the configurations appear.
fn strategy_legend(cases: &[&Case]) -> Vec<(String, RGBColor)> {
    let mut out: Vec<(String, RGBColor)> = Vec::new();
    for c in cases {
        let spec = &c.target.spec;
        let name = match (spec.denylist, spec.store) {
            (Some(d), _) => format!("jwt + {d} denylist"),
            (None, Some(s)) => format!("{} on {s}", spec.strategy),
            (None, None) => spec.strategy.to_string(),
        };
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, case_color(c)));
        }
    }
    out
}

/// Bars of one figure per configuration, coloured by strategy.
fn config_bars(
    closed: &[&Case],
    (stem, caption, x_desc): (&str, &str, &str),
    value: impl Fn(&Case) -> Option<f64>,
    ctx: &Ctx,
) -> anyhow::Result<ChartRef> {
    let chart = Bars {
        title: format!("{caption} — {}", ctx.run),
        x_desc: x_desc.into(),
        rows: per_config(closed, value),
        legend: strategy_legend(closed),
    };
    write(&chart, ctx.dir, stem, caption)
}

/// Where charts go and which run they show.
struct Ctx<'a> {
    dir: &'a Path,
    run: String,
}

fn bytes_chart(closed: &[&Case], ctx: &Ctx) -> anyhow::Result<ChartRef> {
    let (auth, rest_in, rest_out) = (RGBColor(214, 39, 40), RGBColor(158, 202, 225), RGBColor(49, 130, 189));
    let hpack = RGBColor(150, 150, 150);
    let part = |value: f64, color| Segment { value: Some(value), color, name: "" };
    // Over h2 the header text the target counts is not what crossed the wire (HPACK codes it), so
    // an h2 row is drawn whole; its credential's cost on the wire is in the TLS and HTTP/2 section.
    let split = |whole: f64, of_it: f64, rest| {
        if of_it <= whole {
            vec![part(of_it, auth), part(whole - of_it, rest)]
        } else {
            vec![part(whole, hpack)]
        }
    };
    let rows = closed
        .iter()
        .flat_map(|c| {
            let b = &c.bytes_per_request;
            let h2 = c.target.spec.protocol == authbench_targets::spec::Protocol::H2;
            let (inward, outward) = if h2 {
                (vec![part(b.received, hpack)], vec![part(b.sent, hpack)])
            } else {
                (split(b.received, b.auth_received, rest_in), split(b.sent, b.auth_sent, rest_out))
            };
            [
                Row { label: format!("{} · in", c.target.id), segments: inward },
                Row { label: format!("{} · out", c.target.id), segments: outward },
            ]
        })
        .collect();
    let caption = "Bytes on the wire per request, browse (closed)";
    let chart = Bars {
        title: format!("{caption} — {}", ctx.run),
        x_desc: "bytes per request, counted on the target's sockets".into(),
        rows,
        legend: vec![
            ("auth material (token / cookie)".into(), auth),
            ("rest of request".into(), rest_in),
            ("rest of response".into(), rest_out),
            ("h2, HPACK-coded: credential share in the TLS and HTTP/2 section".into(), hpack),
        ],
    };
    write(&chart, ctx.dir, "bytes", caption)
}

fn cpu_chart(closed: &[&Case], ctx: &Ctx) -> anyhow::Result<ChartRef> {
    let (t, s, l) = (RGBColor(31, 119, 180), RGBColor(44, 160, 44), RGBColor(189, 189, 189));
    let rows = closed
        .iter()
        .map(|c| Row {
            label: c.target.id.clone(),
            segments: vec![
                Segment { value: Some(c.cpu_us_per_request.target), color: t, name: "target" },
                // An external store's CPU is not visible from here: marked, not drawn as 0.
                Segment { value: c.cpu_us_per_request.store, color: s, name: "store" },
                Segment { value: Some(c.cpu_us_per_request.loadgen), color: l, name: "load generator" },
            ],
        })
        .collect();
    let caption = "CPU µs per request, browse (closed)";
    let chart = Bars {
        title: format!("{caption} — {}", ctx.run),
        x_desc: "CPU microseconds per request (from /proc)".into(),
        rows,
        legend: vec![
            ("target".into(), t),
            ("store (not measured when external)".into(), s),
            ("load generator".into(), l),
        ],
    };
    write(&chart, ctx.dir, "cpu", caption)
}

/// The charts that compare configurations by their closed browse case.
fn closed_browse_charts(closed: &[&Case], ctx: &Ctx) -> anyhow::Result<Vec<ChartRef>> {
    if closed.is_empty() {
        return Ok(Vec::new());
    }
    let saturation = (
        "throughput",
        "Saturation throughput, browse (closed)",
        "requests per second (load generator and target share the machine)",
    );
    let per_core = (
        "req_per_core",
        "Requests per second per core of target CPU, browse (closed)",
        "1e6 / target CPU µs per request",
    );
    let ops = ("store_ops", "Store operations per request, browse (closed)", "store operations per request");
    Ok(vec![
        config_bars(closed, saturation, |c| Some(c.throughput_rps), ctx)?,
        config_bars(closed, per_core, |c| c.req_per_core_s, ctx)?,
        config_bars(closed, ops, |c| Some(c.store_ops_per_request), ctx)?,
        bytes_chart(closed, ctx)?,
        cpu_chart(closed, ctx)?,
    ])
}

/// Browse latency percentile curves of the matrix, one chart per load model; with repetitions, the
/// one with the median throughput (ladder steps have their own chart).
fn latency_charts(r: &Results, ctx: &Ctx) -> anyhow::Result<Vec<ChartRef>> {
    let mut out = Vec::new();
    for model in [ModelKind::Closed, ModelKind::Open] {
        let series: Vec<Series> = r
            .summaries
            .iter()
            .filter(|s| s.load.scenario == ScenarioKind::Browse && s.load.model_kind() == model)
            .filter_map(|s| r.representative(s))
            .map(|c| Ok((c.target.id.clone(), case_color(c), curves::percentile_points(c)?)))
            .collect::<anyhow::Result<_>>()?;
        if series.is_empty() {
            continue;
        }
        let caption = format!("Latency by percentile, browse ({} model)", model.as_str());
        let chart = Curves { title: format!("{caption} — {}", ctx.run), series };
        out.push(write(&chart, ctx.dir, &format!("latency_{}", model.as_str()), &caption)?);
    }
    Ok(out)
}

/// The charts a report shows: the timelines and the fault charts apart, since they have sections
/// of their own.
pub struct Drawn {
    pub charts: Vec<ChartRef>,
    pub timelines: Vec<ChartRef>,
    /// One chart per `[[fault]]`, keyed by its id ("browse-open-16u-1000rps/store_outage").
    pub faults: Vec<(String, ChartRef)>,
    /// Hybrid's store-touching share against access TTL, measured and analytic, when the run has
    /// hybrid population cases.
    pub population: Option<ChartRef>,
}

/// Renders every chart the results support into `dir`, in report order (the auth-cost chart is
/// drawn by "Where the time goes", see [`auth_cost::draw`]).
pub fn render(r: &Results, dir: &Path) -> anyhow::Result<Drawn> {
    std::fs::create_dir_all(dir)?;
    let ctx = Ctx { dir, run: format!("run {}", r.run_id) };
    let closed = r.closed_browse();
    let mut out = closed_browse_charts(&closed, &ctx)?;
    out.extend(latency_charts(r, &ctx)?);
    out.extend(security::security_chart(r, &closed, &ctx)?);
    out.extend(sweeps::render(r, dir, &ctx.run)?);
    out.extend(ladder::render(r, &ctx)?);
    out.extend(cpu_curve::render(r, &ctx)?);
    out.extend(store_rtt::render(r, &ctx)?);
    Ok(Drawn {
        charts: out,
        timelines: timeline::render(&closed, &ctx)?,
        faults: fault::render(r, &ctx)?,
        population: hybrid_share::render(r, &ctx)?,
    })
}
