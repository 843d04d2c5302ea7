//! Target CPU per request against utilization (achieved rate over closed-loop saturation) along each
//! configuration's ladder, with the saturated closed-loop figure the plan falls back to.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{axis, color, distinct, err, series_key, write_answered, Chart, DESC_PT, FONT, LABEL_PT, TITLE_PT};
use super::Ctx;
use crate::model::ladder::Ladder;
use crate::model::results::Results;
use crate::report::document::{num, ChartRef};

/// One configuration's curve.
pub(super) struct Curve {
    pub name: String,
    pub color: RGBColor,
    /// (utilization, target CPU µs per request) of the error-free steps, by utilization.
    pub points: Vec<(f64, f64)>,
    /// (utilization, target CPU µs per request) of the closed-loop case the plan falls back to.
    pub saturated: Option<(f64, f64)>,
}

/// CPU per request against utilization.
pub(super) struct CpuCurve {
    pub title: String,
    pub curves: Vec<Curve>,
}

impl CpuCurve {
    fn x_max(&self) -> f64 {
        self.curves.iter().flat_map(|c| c.points.iter().map(|p| p.0)).fold(1.0, f64::max) * 1.08
    }

    fn y_max(&self) -> f64 {
        let ys = self.curves.iter().flat_map(|c| c.points.iter().chain(&c.saturated).map(|p| p.1));
        ys.fold(1e-6, f64::max) * 1.2
    }
}

impl Chart for CpuCurve {
    fn height(&self) -> u32 {
        540
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..self.x_max(), 0f64..self.y_max())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("utilization: achieved rate ÷ closed-loop saturation (steps with errors left out)")
            .y_desc("target CPU µs per request")
            .x_label_formatter(&|x| format!("{:.0} %", x * 100.0))
            .y_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        let colors = distinct(&self.curves.iter().map(|c| c.color).collect::<Vec<_>>());
        for (c, color) in self.curves.iter().zip(colors) {
            draw_curve(&mut chart, c, color)?;
        }
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(err)?
            .label("ring: the saturated closed-loop case")
            .legend(|(x, y)| Circle::new((x + 9, y), 6, BLACK.stroke_width(2)));
        series_key(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// A configuration's line with a dot per step, and its saturated figure as a ring.
fn draw_curve<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    c: &Curve,
    color: RGBColor,
) -> Result<(), String> {
    chart
        .draw_series(LineSeries::new(c.points.iter().copied(), color.stroke_width(3)))
        .map_err(err)?
        .label(c.name.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
    chart.draw_series(c.points.iter().map(|p| Circle::new(*p, 4, color.filled()))).map_err(err)?;
    chart.draw_series(c.saturated.map(|p| Circle::new(p, 7, color.stroke_width(2)))).map_err(err)?;
    Ok(())
}

fn curve(r: &Results, l: &Ladder) -> Curve {
    let mut points: Vec<(f64, f64)> = l
        .steps
        .iter()
        .filter(|s| s.errors == 0)
        .filter_map(|s| Some((s.utilization?, s.cpu_us_per_request.target)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let closed = r.closed_browse().into_iter().find(|c| c.target.id == l.target.id);
    let saturated = closed
        .zip(l.saturation_rps.filter(|s| *s > 0.0))
        .map(|(c, s)| (c.throughput_rps / s, c.cpu_us_per_request.target));
    Curve { name: l.target.id.clone(), color: color(&l.target.spec), points, saturated }
}

/// Per configuration, CPU per request at its least and most busy error-free step.
fn answer(curves: &[Curve]) -> String {
    let words = |c: &Curve| {
        let (lo, hi) = (c.points.first()?, c.points.last()?);
        let ratio = if hi.1 > 0.0 { format!(" ({:.1}×)", lo.1 / hi.1) } else { String::new() };
        Some(format!(
            "{} {} µs at {:.0} % vs {} µs at {:.0} %{ratio}",
            c.name,
            num(lo.1),
            lo.0 * 100.0,
            num(hi.1),
            hi.0 * 100.0
        ))
    };
    let parts: Vec<String> = curves.iter().filter_map(words).collect();
    match parts.is_empty() {
        true => "not measured".into(),
        false => format!("target CPU per request, least vs most busy step: {}", parts.join("; ")),
    }
}

/// The chart, when some ladder has a step with a known utilization.
pub(super) fn render(r: &Results, ctx: &Ctx) -> anyhow::Result<Option<ChartRef>> {
    let curves: Vec<Curve> = r.ladders.iter().map(|l| curve(r, l)).filter(|c| !c.points.is_empty()).collect();
    if curves.is_empty() {
        return Ok(None);
    }
    let caption = "Target CPU per request against utilization, browse: does a request cost more CPU when the target \
                   is less busy?";
    let text = answer(&curves);
    let chart = CpuCurve { title: format!("Target CPU per request along the rate ladder — {}", ctx.run), curves };
    write_answered(&chart, ctx.dir, ChartRef::new("cpu_curve", caption, text)).map(Some)
}
