//! Latency percentile curves, HdrHistogram style: x is 1/(1-p) on a log axis, one line per
//! configuration.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{axis, distinct, err, series_key, Chart, DESC_PT, FONT, LABEL_PT, TITLE_PT};
use super::Series;
use crate::model::results::Case;

/// Nines drawn on the x axis: 99.99 %.
const NINES: f64 = 4.0;

/// Percentile curves of several configurations.
pub(super) struct Curves {
    pub title: String,
    pub series: Vec<Series>,
}

impl Curves {
    /// The latency axis: from a little below the fastest to a little above the slowest.
    fn y_range(&self) -> (f64, f64) {
        let ys = self.series.iter().flat_map(|s| s.2.iter().map(|p| p.1));
        let (lo, hi) = ys.fold((f64::MAX, 1.0f64), |(a, b), y| (a.min(y), b.max(y)));
        let lo = if lo == f64::MAX { 1.0 } else { lo.max(1.0) * 0.8 };
        (lo, hi * 1.3)
    }
}

fn percentile_tick(x: &f64) -> String {
    match x.round() as i32 {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        3 => "99.9%".into(),
        4 => "99.99%".into(),
        _ => String::new(),
    }
}

impl Chart for Curves {
    fn height(&self) -> u32 {
        560 + 20 * self.series.len().div_ceil(2) as u32
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (lo, hi) = self.y_range();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..NINES + 0.15, (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .x_label_formatter(&percentile_tick)
            .x_desc("percentile")
            .y_desc("latency (µs, log scale)")
            .y_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        let colors = distinct(&self.series.iter().map(|s| s.1).collect::<Vec<_>>());
        for ((name, _, pts), color) in self.series.iter().zip(colors) {
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
        }
        series_key(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// Points of a percentile curve from a case's serialized histogram.
pub(super) fn percentile_points(c: &Case) -> anyhow::Result<Vec<(f64, f64)>> {
    let h = crate::model::histogram::decode(&c.histogram.data)?;
    let mut pts = Vec::new();
    for v in h.iter_quantiles(4) {
        let q = v.quantile_iterated_to();
        let x = if q >= 1.0 { NINES } else { (-(1.0 - q).log10()).min(NINES) };
        // The log axis has no 0: a sub-microsecond latency is drawn at 1 µs.
        pts.push((x, v.value_iterated_to().max(1) as f64));
        if x >= NINES {
            break;
        }
    }
    Ok(pts)
}
