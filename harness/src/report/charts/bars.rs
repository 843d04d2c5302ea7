//! Horizontal (stacked) bars: one row per configuration, readable from 2 to 20+ rows. A figure
//! that was not measured draws no bar and says so beside the row, never a bar of length 0.

use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{axis, err, legend, Chart, DESC_PT, FONT, LABEL_PT, ROW, SMALL_PT, TITLE_PT};
use crate::report::document::num;

/// One part of a bar; `value` is None when it was not measured.
pub(super) struct Segment {
    pub value: Option<f64>,
    pub color: RGBColor,
    /// What the part is, named when it is missing ("store").
    pub name: &'static str,
}

impl Segment {
    /// A single-part bar's only segment.
    pub fn whole(value: Option<f64>, color: RGBColor) -> Segment {
        Segment { value, color, name: "" }
    }
}

/// One horizontal bar, possibly stacked from several segments, or a group's header.
pub(super) struct Row {
    pub label: String,
    pub segments: Vec<Segment>,
    /// The figure written at the bar's end when it is not the parts' total.
    pub note: Option<String>,
}

impl Row {
    /// A bar whose end says its total (and which parts were not measured).
    pub fn new(label: impl Into<String>, segments: Vec<Segment>) -> Row {
        Row { label: label.into(), segments, note: None }
    }

    /// A group's header: its name in the label column, no bar.
    pub fn header(name: impl Into<String>) -> Row {
        Row::new(format!("▸ {}", name.into()), Vec::new())
    }

    fn measured(&self) -> impl Iterator<Item = (f64, RGBColor)> + '_ {
        self.segments.iter().filter_map(|s| Some((s.value?, s.color)))
    }

    fn total(&self) -> f64 {
        self.measured().map(|s| s.0).sum()
    }

    /// The figure written at the bar's end: its total, and which parts were not measured.
    fn end_label(&self) -> String {
        if self.segments.is_empty() {
            return String::new();
        }
        if let Some(n) = &self.note {
            return n.clone();
        }
        let missing: Vec<&str> = self.segments.iter().filter(|s| s.value.is_none()).map(|s| s.name).collect();
        if missing.len() == self.segments.len() {
            return "not measured".into();
        }
        let named: Vec<&str> = missing.into_iter().filter(|n| !n.is_empty()).collect();
        match named.is_empty() {
            true => num(self.total()),
            false => format!("{} ({} not measured)", num(self.total()), named.join(", ")),
        }
    }
}

/// A bar chart with a title, an axis description and a colour key.
pub(super) struct Bars {
    pub title: String,
    pub x_desc: String,
    pub rows: Vec<Row>,
    pub legend: Vec<(String, RGBColor)>,
}

impl Bars {
    fn legend_height(&self) -> u32 {
        22 * self.legend.len().div_ceil(3) as u32
    }

    /// The x axis' end: past the longest bar by room for its figure, more when a figure names
    /// what was not measured.
    fn x_max(&self) -> f64 {
        let max = self.rows.iter().map(Row::total).fold(0.0, f64::max);
        let long_labels = self.rows.iter().any(|r| r.end_label().len() > 12);
        match (max > 0.0, long_labels) {
            (false, _) => 1.0,
            (true, false) => max * 1.15,
            (true, true) => max * 1.4,
        }
    }
}

/// Value along x, one segment per row along y.
type BarCoords = Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordusize>>;

impl Chart for Bars {
    fn height(&self) -> u32 {
        140 + ROW * self.rows.len() as u32 + self.legend_height()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let n = self.rows.len();
        let max = self.x_max();
        let (top, bottom) = root.split_vertically(self.height() - self.legend_height() - 10);
        let mut chart = ChartBuilder::on(&top)
            .caption(&self.title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(300)
            .build_cartesian_2d(0f64..max, (0..n).into_segmented())
            .map_err(err)?;
        let labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n.max(1))
            .y_label_formatter(&|v| match v {
                // The first row on top: slot 0 is the axis' bottom.
                SegmentValue::CenterOf(i) if *i < n => labels.get(n - 1 - i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(self.x_desc.as_str())
            .x_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        for (i, row) in self.rows.iter().enumerate() {
            draw_row(&mut chart, n - 1 - i, row, max)?;
        }
        legend(&bottom, &self.legend)
    }
}

/// One row's segments end to end, then its figure.
fn draw_row<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, BarCoords>,
    i: usize,
    row: &Row,
    max: f64,
) -> Result<(), String> {
    let mut x = 0.0;
    for (v, c) in row.measured() {
        let mut r = Rectangle::new([(x, SegmentValue::Exact(i)), (x + v, SegmentValue::Exact(i + 1))], c.filled());
        r.set_margin(4, 4, 0, 0);
        chart.draw_series(std::iter::once(r)).map_err(err)?;
        x += v;
    }
    let style = TextStyle::from((FONT, SMALL_PT).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let text = Text::new(row.end_label(), (x + max * 0.005, SegmentValue::CenterOf(i)), style);
    chart.draw_series(std::iter::once(text)).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(value: Option<f64>, name: &'static str) -> Segment {
        Segment { value, color: BLACK, name }
    }

    #[test]
    fn an_unmeasured_figure_is_said_not_drawn_as_zero() {
        let row = |segments| Row::new("x", segments);
        assert_eq!(row(vec![seg(None, "")]).end_label(), "not measured");
        assert_eq!(row(vec![seg(Some(0.0), "")]).end_label(), "0.00");
        let cpu = row(vec![seg(Some(40.0), "target"), seg(None, "store"), seg(Some(8.0), "load generator")]);
        assert_eq!(cpu.end_label(), "48.0 (store not measured)");
        assert_eq!(cpu.measured().count(), 2);
        assert_eq!(Row::header("jwt").end_label(), "");
    }
}
