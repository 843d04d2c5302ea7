//! Lines against a numeric x, for sweeps: one line per store, points marked.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{axis, err, Chart, DESC_PT, FONT, LABEL_PT, SMALL_PT, TITLE_PT};
use super::Series;

/// A line chart; x on a log axis when `log_x`.
pub(super) struct Lines {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub log_x: bool,
    pub series: Vec<Series>,
}

impl Lines {
    fn x_range(&self) -> (f64, f64) {
        let xs = self.series.iter().flat_map(|s| s.2.iter().map(|p| p.0));
        let (lo, hi) = xs.fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
        (if lo == f64::MAX { 1.0 } else { lo }, hi)
    }

    fn y_max(&self) -> f64 {
        self.series.iter().flat_map(|s| s.2.iter().map(|p| p.1)).fold(0.0, f64::max).max(1e-6) * 1.2
    }

    /// Axes, lines and key on coordinates already built.
    fn plot<'a, DB: DrawingBackend + 'a, X>(
        &self,
        mut chart: ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>,
    ) -> Result<(), String>
    where
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            .x_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        for (name, c, pts) in &self.series {
            let color = *c;
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)).point_size(4))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, SMALL_PT))
            .draw()
            .map_err(err)
    }
}

fn build<'a, 'b, DB: DrawingBackend, X: AsRangedCoord<Value = f64>>(
    builder: &mut ChartBuilder<'a, 'b, DB>,
    x: X,
    y_max: f64,
) -> Result<ChartContext<'a, DB, Cartesian2d<X::CoordDescType, RangedCoordf64>>, String> {
    builder.build_cartesian_2d(x, 0f64..y_max).map_err(err)
}

impl Chart for Lines {
    fn height(&self) -> u32 {
        520
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (xlo, xhi) = self.x_range();
        let mut builder = ChartBuilder::on(root);
        builder.caption(&self.title, (FONT, TITLE_PT)).margin(12).x_label_area_size(45).y_label_area_size(90);
        if self.log_x {
            self.plot(build(&mut builder, (xlo * 0.8..xhi * 1.25).log_scale(), self.y_max())?)
        } else {
            self.plot(build(&mut builder, xlo * 0.9..xhi * 1.1, self.y_max())?)
        }
    }
}
