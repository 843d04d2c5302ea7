//! Hybrid's store-touching share against access TTL: each population case's measured share as a
//! point, the share the client's policy predicts as a curve per (think time, session length), and
//! the simple formula 1 / (1 + 0.8·TTL/t) dashed beside it (refreshes only: no logins or logouts).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{axis, distinct, err, series_key, sig, Chart, DESC_PT, FONT, LABEL_PT, TITLE_PT};
use super::{case_color, Ctx};
use crate::model::population::Analytic;
use crate::model::results::{Case, CaseRole, Results};
use crate::report::document::ChartRef;
use authbench_scenarios::steps::REFRESH_AT;
use authbench_targets::spec::Span;

/// Points along each analytic curve.
const CURVE_POINTS: u32 = 60;

/// A measured share at an access TTL (configured, seconds), in percent.
struct Measured {
    name: String,
    color: RGBColor,
    ttl_s: f64,
    share_pct: f64,
}

/// A predicted share against TTL: the policy's formula, or (dashed) the simple one.
struct Curve {
    label: String,
    points: Vec<(f64, f64)>,
    simple: bool,
}

/// Measured points and predicted curves on a log TTL axis.
struct HybridShare {
    title: String,
    points: Vec<Measured>,
    curves: Vec<Curve>,
}

/// The population cases of hybrid configurations with both figures.
fn cases(r: &Results) -> Vec<&Case> {
    r.cases
        .iter()
        .filter(|c| c.role == CaseRole::Matrix && c.store_touch.is_some())
        .filter(|c| c.population.as_ref().is_some_and(|p| p.analytic.is_some()))
        .collect()
}

/// The think time and session length of a population case, which pick its curve.
fn shape(c: &Case) -> Option<(String, std::time::Duration, u32)> {
    let p = c.load.population?;
    let label = format!("analytic: think {}, {} requests per session", p.think_time, p.session_requests);
    Some((label, p.think_time.0, p.session_requests))
}

/// The two predictions for one (think time, session length) along `ttls`, in percent.
fn predictions(label: String, think: std::time::Duration, k: u32, ttls: &[f64]) -> [Curve; 2] {
    let t = think.as_secs_f64();
    let exact = ttls
        .iter()
        .filter_map(|ttl| Some((*ttl, Analytic::of(std::time::Duration::from_secs_f64(*ttl), think, k)?.store_share)))
        .map(|(x, y)| (x, y * 100.0))
        .collect();
    let simple = ttls.iter().map(|ttl| (*ttl, 100.0 / (1.0 + REFRESH_AT * ttl / t))).collect();
    let simple_label = format!("simple formula 1 / (1 + 0.8·TTL/t), t = {}: refreshes only", Span(think));
    [Curve { label, points: exact, simple: false }, Curve { label: simple_label, points: simple, simple: true }]
}

/// The predictions of every distinct (think time, session length), across the TTLs measured.
fn curves(cases: &[&Case], (lo, hi): (f64, f64)) -> Vec<Curve> {
    let mut shapes: Vec<(String, std::time::Duration, u32)> = Vec::new();
    for s in cases.iter().filter_map(|c| shape(c)) {
        if !shapes.iter().any(|x| x.0 == s.0) {
            shapes.push(s);
        }
    }
    let (llo, lhi) = ((lo / 2.0).ln(), (hi * 2.0).ln());
    let ttls: Vec<f64> =
        (0..=CURVE_POINTS).map(|i| (llo + (lhi - llo) * f64::from(i) / f64::from(CURVE_POINTS)).exp()).collect();
    shapes.into_iter().flat_map(|(label, think, k)| predictions(label, think, k, &ttls)).collect()
}

impl HybridShare {
    fn x_range(&self) -> (f64, f64) {
        let xs =
            self.curves.iter().flat_map(|c| c.points.iter().map(|p| p.0)).chain(self.points.iter().map(|p| p.ttl_s));
        xs.fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(x), b.max(x)))
    }

    fn y_max(&self) -> f64 {
        let ys = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.1))
            .chain(self.points.iter().map(|p| p.share_pct));
        ys.fold(0.0, f64::max).max(0.01) * 1.2
    }
}

impl Chart for HybridShare {
    fn height(&self) -> u32 {
        560
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (lo, hi) = self.x_range();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d((lo * 0.9..hi * 1.1).log_scale(), 0f64..self.y_max())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("access TTL as configured, s (log; time-scaled runs ran it shorter, think time alike)")
            .y_desc("requests that touch the store, %")
            .x_label_formatter(&axis)
            .y_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        let greys = [RGBColor(90, 90, 90), RGBColor(40, 40, 40), RGBColor(150, 150, 150)];
        for (curve, c) in self.curves.iter().zip(greys.iter().flat_map(|g| [g, g]).cycle()) {
            let style = c.stroke_width(2);
            let pts = curve.points.iter().copied();
            let drawn = if curve.simple {
                chart.draw_series(DashedLineSeries::new(pts, 8, 6, style)).map_err(err)?
            } else {
                chart.draw_series(LineSeries::new(pts, style)).map_err(err)?
            };
            let simple = curve.simple;
            drawn.label(curve.label.clone()).legend(move |(x, y)| {
                let dash = if simple { x + 8 } else { x + 18 };
                PathElement::new(vec![(x, y), (dash, y)], style)
            });
        }
        let colors = distinct(&self.points.iter().map(|p| p.color).collect::<Vec<_>>());
        for (p, c) in self.points.iter().zip(colors) {
            chart
                .draw_series(std::iter::once(Circle::new((p.ttl_s, p.share_pct), 7, c.filled())))
                .map_err(err)?
                .label(format!("measured: {}", p.name))
                .legend(move |(x, y)| Circle::new((x + 9, y), 6, c.filled()));
        }
        series_key(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Each case's measured share beside the share its policy predicts, by configured access TTL.
fn answer(cases: &[&Case]) -> String {
    let words = |c: &&Case| {
        let ttl = c.population.as_ref()?.scaling.access_ttl?.configured;
        let measured = c.store_touch.as_ref()?.store_share * 100.0;
        let predicted = c.population.as_ref()?.analytic.map(|a| a.store_share * 100.0);
        let predicted = predicted.map_or("not measured".to_owned(), |p| format!("{} %", sig(p)));
        Some(format!("{} at TTL {ttl}: measured {} %, predicted {predicted}", c.target.id, sig(measured)))
    };
    let parts: Vec<String> = cases.iter().filter_map(words).collect();
    match parts.is_empty() {
        true => "not measured".into(),
        false => format!("share of requests that touch the store: {}", parts.join("; ")),
    }
}

/// The chart; None without a hybrid population case.
pub(super) fn render(r: &Results, ctx: &Ctx) -> anyhow::Result<Option<ChartRef>> {
    let cases = cases(r);
    let points: Vec<Measured> = cases
        .iter()
        .filter_map(|c| {
            let ttl = c.population.as_ref()?.scaling.access_ttl?.configured;
            let scale = c.load.population.map(|p| p.time_scale).filter(|s| *s != 1.0);
            let name = format!("{}{}", c.id, scale.map(|s| format!(" (time-scaled ×{s})")).unwrap_or_default());
            let share_pct = c.store_touch.as_ref()?.store_share * 100.0;
            Some(Measured { name, color: case_color(c), ttl_s: ttl.0.as_secs_f64(), share_pct })
        })
        .collect();
    if points.is_empty() {
        return Ok(None);
    }
    let ttls = points.iter().map(|p| p.ttl_s).fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let caption = "How often does hybrid really touch its store, and does the simple formula predict it?";
    let chart = HybridShare { title: format!("{caption} — {}", ctx.run), curves: curves(&cases, ttls), points };
    super::style::write_answered(&chart, ctx.dir, ChartRef::new("hybrid_share", caption, answer(&cases))).map(Some)
}
