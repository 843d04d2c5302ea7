//! Hybrid against access TTL: store operations per request of each configuration's closed browse
//! case, and the revocation window its probe measured, one series per family (a hybrid
//! configuration with its access TTL set aside). A measured point is filled and joined to the
//! measured points beside it; a bound (the probe stopped waiting) is hollow, labelled "bound" and
//! joined to nothing. A TTL whose clients refresh nowhere inside the measured window is left out of
//! store operations, and the answer says so.

use std::collections::BTreeMap;

use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use authbench_scenarios::steps::REFRESH_AT;
use authbench_targets::spec::{StrategyKind, TargetSpec, Ttls};

use super::style::{
    axis, err, palette, series_key, sig, write_answered, Chart, DESC_PT, FONT, LABEL_PT, SMALL_PT, TITLE_PT,
};
use super::Ctx;
use crate::model::results::{Case, Results};
use crate::report::document::{num, ChartRef};

/// One access TTL of a family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct TtlPoint {
    pub ttl_s: f64,
    pub y: Reading,
}

/// What a point is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Reading {
    Measured(f64),
    /// An upper bound, not a measurement: the probe stopped waiting before the window closed.
    Bound(f64),
    /// Nothing to draw: the clients refreshed nowhere inside the measured window.
    OutsideWindow,
}

/// A family's points, by TTL.
pub(super) struct Family {
    pub name: String,
    pub spec: TargetSpec,
    pub points: Vec<TtlPoint>,
}

/// The configuration a hybrid spec is with its default access TTL: the family it sweeps.
fn family_of(spec: &TargetSpec) -> TargetSpec {
    TargetSpec { ttls: Ttls { access: Ttls::ACCESS, ..spec.ttls }, ..*spec }
}

/// Whether a closed browse client of this case refreshed inside the measured window: it logs in as
/// the warm-up starts and refreshes every [`REFRESH_AT`] of the access TTL.
pub(super) fn refreshes_within(c: &Case) -> bool {
    let every = REFRESH_AT * c.target.spec.ttls.access.0.as_secs_f64();
    let first_inside = (c.warmup_s / every).ceil().max(1.0) * every;
    every > 0.0 && first_inside <= c.warmup_s + c.window_s
}

/// Points grouped by family, families with two access TTLs or more.
fn families(items: Vec<(&TargetSpec, Reading)>) -> Vec<Family> {
    let mut by: BTreeMap<String, Family> = BTreeMap::new();
    for (spec, y) in items {
        let fam = family_of(spec);
        let f = by.entry(fam.id()).or_insert_with(|| Family { name: fam.id(), spec: fam, points: Vec::new() });
        f.points.push(TtlPoint { ttl_s: spec.ttls.access.0.as_secs_f64(), y });
    }
    let mut out: Vec<Family> = by.into_values().filter(|f| f.points.len() >= 2).collect();
    for f in &mut out {
        f.points.sort_by(|a, b| a.ttl_s.total_cmp(&b.ttl_s));
    }
    out
}

fn is_hybrid(spec: &TargetSpec) -> bool {
    spec.strategy == StrategyKind::Hybrid
}

/// Store operations per request of the closed browse cases (the median repetition).
pub(super) fn store_ops_families(r: &Results) -> Vec<Family> {
    let items = r.closed_browse().into_iter().filter(|c| is_hybrid(&c.target.spec)).map(|c| {
        let y = if refreshes_within(c) { Reading::Measured(c.store_ops_per_request) } else { Reading::OutsideWindow };
        (&c.target.spec, y)
    });
    families(items.collect())
}

/// Revocation windows of the probes: measured, or the bound where the probe stopped waiting.
pub(super) fn window_families(r: &Results) -> Vec<Family> {
    let items = r.probes.iter().filter(|p| is_hybrid(&p.target.spec)).map(|p| {
        let w = &p.revocation;
        let y = w.measured_s.map_or(Reading::Bound(w.bound_s as f64), Reading::Measured);
        (&p.target.spec, y)
    });
    families(items.collect())
}

/// A TTL as configured: "1s", "15m".
fn ttl_words(ttl_s: f64) -> String {
    authbench_targets::spec::Span(std::time::Duration::from_secs_f64(ttl_s)).to_string()
}

/// One family's points in words; `unit` follows a measured figure.
fn family_words(f: &Family, unit: &str, window_s: Option<f64>) -> String {
    let measured: Vec<String> = f
        .points
        .iter()
        .filter_map(|p| match p.y {
            Reading::Measured(v) => Some(format!("{} {}{unit}", ttl_words(p.ttl_s), sig(v))),
            _ => None,
        })
        .collect();
    let bounds: Vec<String> = f
        .points
        .iter()
        .filter_map(|p| match p.y {
            Reading::Bound(v) => Some(format!("{} at most {}{unit} (bound, not measured)", ttl_words(p.ttl_s), num(v))),
            _ => None,
        })
        .collect();
    let outside: Vec<String> =
        f.points.iter().filter(|p| p.y == Reading::OutsideWindow).map(|p| ttl_words(p.ttl_s)).collect();
    let mut parts = vec![match measured.is_empty() {
        true => "no TTL measured".to_owned(),
        false => measured.join(", "),
    }];
    parts.extend(bounds);
    if !outside.is_empty() {
        let window = window_s.map_or(String::new(), |w| format!(" {} s", num(w)));
        parts.push(format!("{} left out (no refresh inside the{window} window)", outside.join(", ")));
    }
    if measured.len() < 3 {
        parts.push(format!(
            "only {} measured TTL{}: fewer points",
            measured.len(),
            if measured.len() == 1 { "" } else { "s" }
        ));
    }
    format!("{}: {}", f.name, parts.join("; "))
}

/// Answer of a sweep chart: each family's points in words.
fn answer(fams: &[Family], unit: &str, window_s: Option<f64>) -> String {
    fams.iter().map(|f| family_words(f, unit, window_s)).collect::<Vec<_>>().join(" | ")
}

/// A sweep chart: x the access TTL (log), measured points joined, bounds hollow.
struct TtlChart {
    title: String,
    y_desc: String,
    log_y: bool,
    families: Vec<Family>,
}

impl TtlChart {
    fn values(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.families.iter().flat_map(|f| {
            f.points.iter().filter_map(|p| match p.y {
                Reading::Measured(v) | Reading::Bound(v) => Some((p.ttl_s, v)),
                Reading::OutsideWindow => None,
            })
        })
    }

    fn x_range(&self) -> (f64, f64) {
        let (lo, hi) = self.values().fold((f64::MAX, 0.0f64), |(a, b), (x, _)| (a.min(x), b.max(x)));
        if lo == f64::MAX {
            (0.5, 2.0)
        } else {
            (lo * 0.6, hi * 1.8)
        }
    }

    fn y_range(&self) -> (f64, f64) {
        let (lo, hi) = self.values().fold((f64::MAX, 0.0f64), |(a, b), (_, y)| (a.min(y), b.max(y)));
        match (self.log_y, lo == f64::MAX) {
            (_, true) => (0.1, 1.0),
            (true, false) => (lo.max(1e-3) * 0.5, hi.max(1e-3) * 3.0),
            (false, false) => (0.0, hi.max(1e-6) * 1.25),
        }
    }

    fn plot<'a, DB: DrawingBackend + 'a, Y>(
        &self,
        mut chart: ChartContext<'a, DB, SweepCoords<Y>>,
    ) -> Result<(), String>
    where
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        chart
            .configure_mesh()
            .x_desc("access token TTL, s (log)")
            .y_desc(self.y_desc.as_str())
            .x_label_formatter(&axis)
            .y_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        let specs: Vec<&TargetSpec> = self.families.iter().map(|f| &f.spec).collect();
        for (f, color) in self.families.iter().zip(palette(&specs)) {
            draw_family(&mut chart, f, color)?;
        }
        let bound = BLACK.stroke_width(2);
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(err)?
            .label("hollow, dashed: bound, not a measurement")
            .legend(move |(x, y)| Circle::new((x + 9, y), 5, bound));
        series_key(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// Measured points filled and joined; each bound hollow, with a dashed drop line and its label.
fn draw_family<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    f: &Family,
    color: RGBColor,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let measured: Vec<(f64, f64)> = f
        .points
        .iter()
        .filter_map(|p| match p.y {
            Reading::Measured(v) => Some((p.ttl_s, v)),
            _ => None,
        })
        .collect();
    chart
        .draw_series(LineSeries::new(measured.iter().copied(), color.stroke_width(2)))
        .map_err(err)?
        .label(f.name.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
    chart.draw_series(measured.iter().map(|p| Circle::new(*p, 5, color.filled()))).map_err(err)?;
    let font = TextStyle::from((FONT, SMALL_PT).into_font()).color(&color).pos(Pos::new(HPos::Left, VPos::Bottom));
    for p in &f.points {
        if let Reading::Bound(v) = p.y {
            let hollow = EmptyElement::at((p.ttl_s, v))
                + Circle::new((0, 0), 7, color.stroke_width(2))
                + Text::new(format!("bound {} s", num(v)), (9, -6), font.clone());
            chart.draw_series(std::iter::once(hollow)).map_err(err)?;
            let below = (p.ttl_s, v * 0.6);
            chart
                .draw_series(DashedLineSeries::new([below, (p.ttl_s, v)], 5, 4, color.stroke_width(2)))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Coordinates of a sweep: log TTL along x.
type SweepCoords<Y> = Cartesian2d<LogCoord<f64>, Y>;

fn build<'a, 'b, DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
    builder: &mut ChartBuilder<'a, 'b, DB>,
    (xlo, xhi): (f64, f64),
    y: Y,
) -> Result<ChartContext<'a, DB, SweepCoords<Y::CoordDescType>>, String> {
    builder.build_cartesian_2d((xlo..xhi).log_scale(), y).map_err(err)
}

impl Chart for TtlChart {
    fn height(&self) -> u32 {
        520
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (lo, hi) = self.y_range();
        let mut builder = ChartBuilder::on(root);
        builder.caption(&self.title, (FONT, TITLE_PT)).margin(12).x_label_area_size(45).y_label_area_size(90);
        if self.log_y {
            self.plot(build(&mut builder, self.x_range(), (lo..hi).log_scale())?)
        } else {
            self.plot(build(&mut builder, self.x_range(), lo..hi)?)
        }
    }
}

/// The measured window of the closed browse cases, when they share one.
fn browse_window_s(r: &Results) -> Option<f64> {
    let ws: Vec<f64> = r.closed_browse().iter().map(|c| c.duration_s).collect();
    ws.first().filter(|w| ws.iter().all(|x| (x - **w).abs() < 1e-9)).copied()
}

/// Both sweep charts, each when some family has two access TTLs or more.
pub(super) fn render(r: &Results, ctx: &Ctx) -> anyhow::Result<Vec<ChartRef>> {
    let mut out = Vec::new();
    let ops = store_ops_families(r);
    if !ops.is_empty() {
        let question = "How often does a browsing hybrid client touch its store at each access TTL?";
        let text = answer(&ops, " store ops/request", browse_window_s(r));
        let chart = TtlChart {
            title: format!("Hybrid: store operations per request against access TTL, browse (closed) — {}", ctx.run),
            y_desc: "store operations per request (measured window)".into(),
            log_y: false,
            families: ops,
        };
        out.push(write_answered(&chart, ctx.dir, ChartRef::new("sweep_ttl_store_ops", question, text))?);
    }
    let windows = window_families(r);
    if !windows.is_empty() {
        let question = "How long does a revoked hybrid user keep access at each access TTL?";
        let text = answer(&windows, " s", None);
        let chart = TtlChart {
            title: format!("Hybrid: revocation window against access TTL — {}", ctx.run),
            y_desc: "revocation window, s (log)".into(),
            log_y: true,
            families: windows,
        };
        out.push(write_answered(&chart, ctx.dir, ChartRef::new("sweep_ttl_window", question, text))?);
    }
    Ok(out)
}
