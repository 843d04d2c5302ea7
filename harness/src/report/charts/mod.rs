//! Charts from results.json, each written as SVG and PNG with one shared [`style`], one file per
//! chart kind. A figure that was not measured is left out or marked "not measured", never drawn as 0.

pub mod auth_cost;
mod bars;
mod cost;
mod cpu_curve;
mod curves;
mod fault;
mod groups;
mod hybrid_share;
mod ladder;
mod lines;
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
use crate::report::document::num;
use crate::report::document::ChartRef;
use bars::{Bars, Row, Segment};
use curves::Curves;
use groups::{extreme, grouped_rows, per_strategy, strategy_key};
use style::write_answered;

pub use style::color;

/// A named, coloured line.
type Series = (String, RGBColor, Vec<(f64, f64)>);

fn case_color(c: &Case) -> RGBColor {
    color(&c.target.spec)
}

/// Where charts go and which run they show.
struct Ctx<'a> {
    dir: &'a Path,
    run: String,
}

/// Saturation throughput per configuration, grouped by strategy.
fn throughput_chart(closed: &[&Case], ctx: &Ctx) -> anyhow::Result<ChartRef> {
    let question = "Which configuration of each strategy serves the most requests per second on this machine?";
    let rps = |c: &Case| Some(c.throughput_rps);
    let answer = per_strategy(closed, |g| extreme(g, rps, true), |c| format!("{} req/s", num(c.throughput_rps)));
    let chart = Bars {
        title: format!("Saturation throughput, browse (closed) — {}", ctx.run),
        x_desc: "requests per second (load generator and target share the machine)".into(),
        rows: grouped_rows(closed, |c, color| vec![Row::new(c.target.id.clone(), vec![Segment::whole(rps(c), color)])]),
        legend: strategy_key(closed),
    };
    write_answered(&chart, ctx.dir, ChartRef::new("throughput", question, format!("most of each: {answer}")))
}

/// The bytes chart's answer: per strategy, the range of auth bytes per request over its HTTP/1.1
/// configurations (over h2 HPACK codes the header text, so the count is not what crossed the wire).
fn bytes_answer(closed: &[&Case]) -> String {
    let plain: Vec<&Case> =
        closed.iter().copied().filter(|c| c.target.spec.protocol != authbench_targets::spec::Protocol::H2).collect();
    let auth = |c: &Case| Some(c.bytes_per_request.auth);
    let ranges: Vec<String> = groups::by_strategy(&plain)
        .into_iter()
        .filter(|(s, _)| *s != authbench_targets::spec::StrategyKind::None)
        .filter_map(|(s, g)| {
            let (lo, hi) = (extreme(g.clone(), auth, false)?, extreme(g, auth, true)?);
            let (a, b) = (lo.bytes_per_request.auth, hi.bytes_per_request.auth);
            Some(match lo.target.id == hi.target.id {
                true => format!("{s} {} B ({})", num(a), lo.target.id),
                false => format!("{s} {}–{} B ({} to {})", num(a), num(b), lo.target.id, hi.target.id),
            })
        })
        .collect();
    match ranges.is_empty() {
        true => "not measured".into(),
        false => format!("auth material per request, both directions, HTTP/1.1: {}", ranges.join("; ")),
    }
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
    let rows = grouped_rows(closed, |c, _| {
        let b = &c.bytes_per_request;
        let h2 = c.target.spec.protocol == authbench_targets::spec::Protocol::H2;
        let (inward, outward) = if h2 {
            (vec![part(b.received, hpack)], vec![part(b.sent, hpack)])
        } else {
            (split(b.received, b.auth_received, rest_in), split(b.sent, b.auth_sent, rest_out))
        };
        vec![Row::new(format!("{} · in", c.target.id), inward), Row::new(format!("{} · out", c.target.id), outward)]
    });
    let chart = Bars {
        title: format!("Bytes on the wire per request, browse (closed) — {}", ctx.run),
        x_desc: "bytes per request, counted on the target's sockets".into(),
        rows,
        legend: vec![
            ("auth material (token / cookie)".into(), auth),
            ("rest of request".into(), rest_in),
            ("rest of response".into(), rest_out),
            ("h2, HPACK-coded: credential share in the TLS and HTTP/2 section".into(), hpack),
        ],
    };
    let question = "How many bytes does each strategy's credential add to a request?";
    write_answered(&chart, ctx.dir, ChartRef::new("bytes", question, bytes_answer(closed)))
}

/// The charts that compare configurations by their closed browse case.
fn closed_browse_charts(closed: &[&Case], ctx: &Ctx) -> anyhow::Result<Vec<ChartRef>> {
    if closed.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![
        throughput_chart(closed, ctx)?,
        cost::per_core_chart(closed, ctx)?,
        cost::cpu_chart(closed, ctx)?,
        bytes_chart(closed, ctx)?,
    ])
}

/// The open-model latency chart's answer: per strategy, the configuration with the lowest p99.
fn latency_answer(cases: &[&Case]) -> String {
    let p99 = |c: &Case| Some(c.latency_us.p99 as f64);
    let rates: Vec<String> = cases.iter().filter_map(|c| c.load.rate_rps()).map(num).collect();
    let at = match rates.first() {
        Some(r) if rates.iter().all(|x| x == r) => format!(" at {r} req/s offered"),
        _ => String::new(),
    };
    let answer = per_strategy(cases, |g| extreme(g, p99, false), |c| format!("p99 {} µs", c.latency_us.p99));
    format!("lowest p99 of each strategy{at}: {answer}")
}

/// Browse latency percentile curves at an offered rate (the open model; a closed model's latency
/// is its users over its throughput, which the throughput chart already shows); with repetitions,
/// the one with the median throughput (ladder steps have their own chart).
fn latency_chart(r: &Results, ctx: &Ctx) -> anyhow::Result<Option<ChartRef>> {
    let cases: Vec<&Case> = r
        .summaries
        .iter()
        .filter(|s| s.load.scenario == ScenarioKind::Browse && s.load.model_kind() == ModelKind::Open)
        .filter_map(|s| r.representative(s))
        .collect();
    if cases.is_empty() {
        return Ok(None);
    }
    let specs: Vec<_> = cases.iter().map(|c| &c.target.spec).collect();
    let series: Vec<Series> = cases
        .iter()
        .zip(style::palette(&specs))
        .map(|(c, color)| Ok((c.target.id.clone(), color, curves::percentile_points(c)?)))
        .collect::<anyhow::Result<_>>()?;
    let question = "At the same offered rate, which configuration has the shortest latency tail?";
    let chart = Curves { title: format!("Latency by percentile, browse (open model) — {}", ctx.run), series };
    write_answered(&chart, ctx.dir, ChartRef::new("latency_open", question, latency_answer(&cases))).map(Some)
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
    out.extend(latency_chart(r, &ctx)?);
    out.extend(security::security_chart(r, &closed, &ctx)?);
    out.extend(sweeps::render(r, &ctx)?);
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
