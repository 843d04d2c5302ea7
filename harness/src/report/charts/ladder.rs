//! Latency against offered rate along each configuration's rate ladder (p99 solid, p50 dashed, log
//! latency axis), the SLO as a horizontal line and each configuration's capacity marked.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{axis, color, distinct, err, write_answered, Chart, DESC_PT, FONT, LABEL_PT, SMALL_PT, TITLE_PT};
use super::Ctx;
use crate::model::ladder::{Capacity, Ladder, Slo, Step};
use crate::model::results::Results;
use crate::report::document::{num, ChartRef};

/// The SLO line's colour: apart from every configuration's hue.
const SLO_COLOR: RGBColor = RGBColor(214, 39, 40);
/// Height of one line of the key under the chart.
const KEY_LINE: u32 = 22;

/// One configuration's ladder as drawn.
pub(super) struct Climb {
    pub name: String,
    pub color: RGBColor,
    /// (offered req/s, latency µs) per step, in offered order.
    pub p50: Vec<(f64, f64)>,
    pub p99: Vec<(f64, f64)>,
    /// Per step, whether it had errors (and so missed any SLO, whatever its latency).
    pub errors: Vec<bool>,
    /// The offered rate capacity is marked at, when a step met the SLO.
    pub mark: Option<f64>,
    /// Capacity in the key's words.
    pub capacity: String,
}

/// Latency against offered rate for every laddered configuration.
pub(super) struct LadderChart {
    pub title: String,
    pub climbs: Vec<Climb>,
    /// Each distinct SLO of the run.
    pub slos: Vec<Slo>,
}

impl LadderChart {
    fn key_height(&self) -> u32 {
        KEY_LINE * (self.climbs.len() as u32 + 1) + 8
    }

    fn x_max(&self) -> f64 {
        self.climbs.iter().flat_map(|c| c.p99.iter().map(|p| p.0)).fold(1.0, f64::max) * 1.08
    }

    /// From under the fastest p50 to over the slowest p99 and every SLO bound.
    fn y_range(&self) -> (f64, f64) {
        let ys = self.climbs.iter().flat_map(|c| c.p50.iter().chain(&c.p99).map(|p| p.1));
        let bounds = self.slos.iter().map(|s| s.max_us as f64);
        let (lo, hi) = ys.chain(bounds).fold((f64::MAX, 1.0f64), |(a, b), y| (a.min(y), b.max(y)));
        (if lo == f64::MAX { 1.0 } else { lo.max(1.0) * 0.6 }, hi * 2.0)
    }
}

impl Chart for LadderChart {
    fn height(&self) -> u32 {
        560 + self.key_height()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (top, key) = root.split_vertically(self.height() - self.key_height());
        let (lo, hi) = self.y_range();
        let mut chart = ChartBuilder::on(&top)
            .caption(&self.title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..self.x_max(), (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("offered rate, requests per second (open model)")
            .y_desc("latency, µs (log scale)")
            .x_label_formatter(&axis)
            .y_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        for s in &self.slos {
            draw_slo(&mut chart, s, self.x_max())?;
        }
        let colors = distinct(&self.climbs.iter().map(|c| c.color).collect::<Vec<_>>());
        for (c, color) in self.climbs.iter().zip(&colors) {
            draw_climb(&mut chart, c, *color, (lo, hi))?;
        }
        self.draw_key(&key, &colors)
    }
}

type Area<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::combinators::LogCoord<f64>>,
>;

/// The SLO's bound across the chart, labelled at its right end.
fn draw_slo<DB: DrawingBackend>(chart: &mut Area<'_, DB>, s: &Slo, x_max: f64) -> Result<(), String> {
    let y = s.max_us as f64;
    chart.draw_series(DashedLineSeries::new([(0.0, y), (x_max, y)], 10, 6, SLO_COLOR.stroke_width(2))).map_err(err)?;
    let font = TextStyle::from((FONT, LABEL_PT).into_font()).color(&SLO_COLOR).pos(Pos::new(HPos::Right, VPos::Bottom));
    chart.draw_series(std::iter::once(Text::new(format!("SLO {s}"), (x_max * 0.99, y * 1.08), font))).map_err(err)?;
    Ok(())
}

/// A configuration's two lines, its steps (crossed where they had errors) and its capacity mark.
fn draw_climb<DB: DrawingBackend>(
    chart: &mut Area<'_, DB>,
    c: &Climb,
    color: RGBColor,
    (lo, hi): (f64, f64),
) -> Result<(), String> {
    chart.draw_series(LineSeries::new(c.p99.iter().copied(), color.stroke_width(3))).map_err(err)?;
    chart.draw_series(DashedLineSeries::new(c.p50.iter().copied(), 8, 5, color.stroke_width(2))).map_err(err)?;
    let dots = c.p99.iter().chain(&c.p50).map(|p| Circle::new(*p, 4, color.filled()));
    chart.draw_series(dots).map_err(err)?;
    let crosses =
        c.p99.iter().zip(&c.errors).filter(|(_, e)| **e).map(|(p, _)| Cross::new(*p, 8, BLACK.stroke_width(2)));
    chart.draw_series(crosses).map_err(err)?;
    if let Some(x) = c.mark {
        chart.draw_series(DashedLineSeries::new([(x, lo), (x, hi)], 4, 4, color.stroke_width(2))).map_err(err)?;
        let on_p99 = c.p99.iter().find(|p| p.0 == x).map(|p| p.1);
        chart.draw_series(on_p99.map(|y| Circle::new((x, y), 9, color.stroke_width(3)))).map_err(err)?;
    }
    Ok(())
}

impl LadderChart {
    /// A line per configuration naming its capacity, then what the strokes mean.
    fn draw_key<DB: DrawingBackend>(&self, key: &DrawingArea<DB, Shift>, colors: &[RGBColor]) -> Result<(), String> {
        for (i, (c, color)) in self.climbs.iter().zip(colors).enumerate() {
            let y = 4 + i as i32 * KEY_LINE as i32;
            key.draw(&PathElement::new([(100, y + 8), (130, y + 8)], color.stroke_width(3))).map_err(err)?;
            let text = format!("{}: {}", c.name, c.capacity);
            key.draw(&Text::new(text, (140, y), (FONT, LABEL_PT))).map_err(err)?;
        }
        let y = 4 + self.climbs.len() as i32 * KEY_LINE as i32;
        let how = "solid: p99, dashed: p50, one dot per step, × a step with errors; dotted vertical line and ring: \
                   capacity (the highest offered rate that met the SLO below the first that missed it)";
        key.draw(&Text::new(how, (100, y), (FONT, SMALL_PT))).map_err(err)
    }
}

/// Capacity in a few words for the key.
fn capacity_words(c: &Capacity) -> String {
    match *c {
        Capacity::NoSlo => "no SLO given, capacity not judged".into(),
        Capacity::Found { rps, next_rps } => {
            format!("capacity {} req/s (met the SLO; {} req/s did not)", num(rps), num(next_rps))
        }
        Capacity::AtLeast { rps } => format!("capacity at least {} req/s (every step met the SLO)", num(rps)),
        Capacity::Below { rps } => format!("capacity below {} req/s (the lowest step missed the SLO)", num(rps)),
    }
}

/// A ladder as drawn.
fn climb(l: &Ladder) -> Climb {
    // The log axis has no 0: a sub-microsecond latency is drawn at 1 µs, as in the percentile curves.
    let pts = |f: fn(&Step) -> u64| l.steps.iter().map(|s| (s.offered_rps, f(s).max(1) as f64)).collect();
    let mark = match l.capacity {
        Capacity::Found { rps, .. } | Capacity::AtLeast { rps } => Some(rps),
        Capacity::NoSlo | Capacity::Below { .. } => None,
    };
    Climb {
        name: l.target.id.clone(),
        color: color(&l.target.spec),
        p50: pts(|s| s.p50_us),
        p99: pts(|s| s.p99_us),
        errors: l.steps.iter().map(|s| s.errors > 0).collect(),
        mark,
        capacity: capacity_words(&l.capacity),
    }
}

/// Each laddered configuration's capacity at the SLO, in a few words.
fn answer(ladders: &[&Ladder]) -> String {
    let words = |l: &&Ladder| {
        let cap = match l.capacity {
            Capacity::NoSlo => "no SLO given".to_owned(),
            Capacity::Found { rps, .. } => format!("{} req/s", num(rps)),
            Capacity::AtLeast { rps } => format!("at least {} req/s", num(rps)),
            Capacity::Below { rps } => format!("below {} req/s", num(rps)),
        };
        format!("{} {cap}", l.target.id)
    };
    format!("capacity at the SLO: {}", ladders.iter().map(words).collect::<Vec<_>>().join("; "))
}

/// The chart, when the run climbed at least one ladder.
pub(super) fn render(r: &Results, ctx: &Ctx) -> anyhow::Result<Option<ChartRef>> {
    let climbed: Vec<&Ladder> = r.ladders.iter().filter(|l| !l.steps.is_empty()).collect();
    let climbs: Vec<Climb> = climbed.iter().map(|l| climb(l)).collect();
    if climbs.is_empty() {
        return Ok(None);
    }
    let mut slos: Vec<Slo> = Vec::new();
    for s in r.ladders.iter().filter_map(|l| l.slo) {
        if !slos.contains(&s) {
            slos.push(s);
        }
    }
    let caption = "Latency against offered rate, browse (open model): up to which rate does each configuration meet \
                   the SLO?";
    let chart = LadderChart { title: format!("Latency along the rate ladder — {}", ctx.run), climbs, slos };
    write_answered(&chart, ctx.dir, ChartRef::new("ladder_latency", caption, answer(&climbed))).map(Some)
}
