//! A scatter of security window against speed, numbered points with a key underneath.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{axis, distinct, err, Chart, DESC_PT, FONT, LABEL_PT, SMALL_PT, TITLE_PT};

/// Windows below this are drawn at it: the log axis has no 0.
pub(super) const WINDOW_FLOOR_S: f64 = 0.01;

/// One configuration on the scatter.
pub(super) struct Point {
    pub name: String,
    pub color: RGBColor,
    /// Requests per core-second.
    pub x: f64,
    /// Revocation window, seconds (the bound when `capped`).
    pub y: f64,
    /// Still accepted when the probe stopped waiting: drawn hollow, at the bound.
    pub capped: bool,
}

/// Security window against speed.
pub(super) struct Scatter {
    pub title: String,
    pub points: Vec<Point>,
}

impl Scatter {
    fn key_height(&self) -> u32 {
        20 * self.points.len().div_ceil(2) as u32 + 10
    }

    fn x_max(&self) -> f64 {
        self.points.iter().map(|p| p.x).fold(1.0, f64::max) * 1.15
    }

    /// How many earlier points sit close enough to this one that its number must move up.
    fn crowding(&self, i: usize) -> i32 {
        let (p, xmax) = (&self.points[i], self.x_max());
        self.points[..i]
            .iter()
            .filter(|q| (q.x - p.x).abs() < xmax * 0.03 && (q.y.log10() - p.y.log10()).abs() < 0.3)
            .count() as i32
    }
}

fn marker(c: &RGBColor, capped: bool) -> ShapeStyle {
    if capped {
        c.stroke_width(2)
    } else {
        c.filled()
    }
}

impl Chart for Scatter {
    fn height(&self) -> u32 {
        560 + 20 * self.points.len().div_ceil(2) as u32
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (top, key) = root.split_vertically(self.height() - self.key_height());
        let ymax = self.points.iter().map(|p| p.y).fold(1.0, f64::max) * 5.0;
        let mut chart = ChartBuilder::on(&top)
            .caption(&self.title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..self.x_max(), (WINDOW_FLOOR_S * 0.5..ymax).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("requests per second per core of target CPU (browse, closed)")
            .y_desc("revocation window, s (log; 0 drawn at 0.01 s)")
            .x_label_formatter(&axis)
            .y_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        let colors = distinct(&self.points.iter().map(|p| p.color).collect::<Vec<_>>());
        for (i, (p, c)) in self.points.iter().zip(&colors).enumerate() {
            // Numbers, not names, beside the points: names go in the key, so 20 points stay legible.
            let font = TextStyle::from((FONT, SMALL_PT).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
            let element = EmptyElement::at((p.x, p.y))
                + Circle::new((0, 0), 7, marker(c, p.capped))
                + Text::new(format!("{}", i + 1), (6, -6 - 13 * self.crowding(i)), font);
            chart.draw_series(std::iter::once(element)).map_err(err)?;
        }
        self.draw_key(&key, &colors)
    }
}

impl Scatter {
    fn draw_key<DB: DrawingBackend>(&self, key: &DrawingArea<DB, Shift>, colors: &[RGBColor]) -> Result<(), String> {
        for (i, (p, c)) in self.points.iter().zip(colors).enumerate() {
            let (x, y) = (100 + (i % 2) as i32 * 480, 4 + (i / 2) as i32 * 20);
            key.draw(&Circle::new((x, y + 7), 6, marker(c, p.capped))).map_err(err)?;
            let text = if p.capped {
                format!("{}  {}: bound shown, still accepted at the probe's cap", i + 1, p.name)
            } else {
                format!("{}  {}", i + 1, p.name)
            };
            key.draw(&Text::new(text, (x + 12, y), (FONT, LABEL_PT))).map_err(err)?;
        }
        Ok(())
    }
}
