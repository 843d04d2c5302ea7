//! A case second by second, one chart per configuration (its closed browse case): requests and
//! store operations per second on top, p50 and p99 below, against seconds since the warm-up
//! started, the warm-up shaded and seconds with errors marked. A second is drawn at its middle;
//! the last one, cut short where the window closed, is left out (a few milliseconds of requests
//! would stand beside whole seconds), except for its error mark.

use plotters::coord::combinators::BindKeyPoints;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{axis, err, series_key, write_answered, Chart, DESC_PT, FONT, LABEL_PT, SMALL_PT, TITLE_PT};
use super::{case_color, Ctx};
use crate::model::results::{Case, Second, Timeline};
use crate::report::document::ChartRef;

/// Every timeline chart's file name starts with this.
const STEM_PREFIX: &str = "timeline_";

const WARMUP: RGBColor = RGBColor(215, 215, 215);
const ERRORS: RGBColor = RGBColor(214, 39, 40);
const STORE_OPS: RGBColor = RGBColor(90, 90, 90);
/// Room above the highest point for the series key, as a factor of it.
const KEY_ROOM: f64 = 1.45;
/// Most x-axis ticks; short runs get one per second.
const MAX_X_TICKS: usize = 16;

/// One configuration's timeline.
struct TimelineChart<'a> {
    title: String,
    timeline: &'a Timeline,
    /// Where the window closed, seconds from the warm-up's start.
    end_s: f64,
    color: RGBColor,
}

impl TimelineChart<'_> {
    /// The middle of the recorded part of second `s`, and whether all of it was recorded.
    fn place(&self, s: &Second) -> (f64, bool) {
        let t = f64::from(s.t_s);
        let until = (t + 1.0).min(self.end_s);
        ((t + until) / 2.0, until >= t + 1.0)
    }

    /// Points of a figure over the whole seconds that have it.
    fn points(&self, y: impl Fn(&Second) -> Option<f64>) -> Vec<(f64, f64)> {
        self.timeline
            .seconds
            .iter()
            .filter_map(|s| {
                let (x, whole) = self.place(s);
                whole.then(|| Some((x, y(s)?))).flatten()
            })
            .collect()
    }

    /// One tick per second for short runs, at most [`MAX_X_TICKS`].
    fn x_ticks(&self) -> usize {
        (self.end_s.ceil() as usize + 1).min(MAX_X_TICKS)
    }

    /// The warm-up as a grey band over the panel's height, named in the top panel.
    fn shade_warmup<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
        (lo, hi): (f64, f64),
        label: bool,
    ) -> Result<(), String> {
        let w = self.timeline.window_start_s;
        chart.draw_series([Rectangle::new([(0.0, lo), (w, hi)], WARMUP.filled())]).map_err(err)?;
        if label {
            let text = EmptyElement::at((0.0, hi)) + Text::new("warm-up", (6, 6), (FONT, SMALL_PT).into_font());
            chart.draw_series([text]).map_err(err)?;
        }
        Ok(())
    }

    /// Axes with the shared text sizes.
    fn mesh<DB: DrawingBackend, Y>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
        y_desc: &str,
    ) -> Result<(), String>
    where
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        chart
            .configure_mesh()
            .x_labels(self.x_ticks())
            // A log axis draws a minor line per unit step: in a dense decade they merge into bands.
            .light_line_style(TRANSPARENT)
            .x_desc("seconds since the warm-up started")
            .y_desc(y_desc)
            .x_label_formatter(&axis)
            .y_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)
    }

    /// A triangle and the count at the foot of the panel for every second with errors.
    fn mark_errors<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        y_max: f64,
    ) -> Result<(), String> {
        let marks: Vec<(f64, u64)> =
            self.timeline.seconds.iter().filter(|s| s.errors > 0).map(|s| (self.place(s).0, s.errors)).collect();
        if marks.is_empty() {
            return Ok(());
        }
        let y = y_max * 0.05;
        chart
            .draw_series(marks.iter().map(|(x, _)| TriangleMarker::new((*x, y), 7, ERRORS.filled())))
            .map_err(err)?
            .label("seconds with errors (count beside)")
            .legend(|(x, y)| TriangleMarker::new((x + 9, y), 6, ERRORS.filled()));
        let style = (FONT, SMALL_PT).into_font().color(&ERRORS);
        let counts =
            marks.iter().map(|(x, n)| EmptyElement::at((*x, y)) + Text::new(n.to_string(), (9, -18), style.clone()));
        chart.draw_series(counts).map_err(err)?;
        Ok(())
    }

    /// The top panel: requests and store operations per second, error marks.
    fn rates<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let rps = self.points(|s| Some(s.requests as f64));
        let ops = self.points(|s| s.store_ops);
        // Headroom for the key in the upper right.
        let y_max = rps.iter().chain(&ops).map(|p| p.1).fold(0.0, f64::max).max(1.0) * KEY_ROOM;
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..self.end_s, 0.0..y_max)
            .map_err(err)?;
        self.shade_warmup(&mut chart, (0.0, y_max), true)?;
        self.mesh(&mut chart, "per second")?;
        line(&mut chart, rps, "requests completed", Pen { color: self.color, width: 3, dashed: false })?;
        line(&mut chart, ops, "store operations (sampled)", Pen { color: STORE_OPS, width: 2, dashed: true })?;
        self.mark_errors(&mut chart, y_max)?;
        series_key(&mut chart, SeriesLabelPosition::UpperRight)
    }

    /// The bottom panel: p50 and p99 per second on a log axis.
    fn latencies<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let ms = |v: Option<u64>| v.map(|us| us as f64 / 1000.0);
        let p50 = self.points(|s| ms(s.p50_us));
        let p99 = self.points(|s| ms(s.p99_us));
        let ys = p50.iter().chain(&p99).map(|p| p.1);
        let (lo, hi) = ys.fold((f64::MAX, 0.0f64), |(a, b), y| (a.min(y), b.max(y)));
        // On a log axis the key's headroom is a share of the decades shown.
        let (lo, hi) = if hi > 0.0 { (lo / 1.6, hi * (hi / lo).powf(0.4).max(KEY_ROOM)) } else { (0.001, 1.0) };
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..self.end_s, (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)))
            .map_err(err)?;
        self.shade_warmup(&mut chart, (lo, hi), false)?;
        self.mesh(&mut chart, "latency, ms (log scale)")?;
        line(&mut chart, p99, "p99", Pen { color: self.color, width: 2, dashed: false })?;
        line(&mut chart, p50, "p50", Pen { color: self.color, width: 2, dashed: true })?;
        series_key(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Ticks for a log axis: 1, 2 and 5 of each decade, or every digit when that gives fewer than four.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = lo.log10().floor() as i32..=hi.log10().ceil() as i32;
    let within = |digits: &[f64]| -> Vec<f64> {
        decades
            .clone()
            // Dividing for negative decades keeps 0.3 from becoming 0.30000000000000004.
            .flat_map(|d| digits.iter().map(move |m| if d < 0 { m / 10f64.powi(-d) } else { m * 10f64.powi(d) }))
            .filter(|v| (lo..=hi).contains(v))
            .collect()
    };
    let ticks = within(&[1.0, 2.0, 5.0]);
    if ticks.len() >= 4 {
        ticks
    } else {
        within(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    }
}

/// How a series is drawn.
#[derive(Clone, Copy)]
struct Pen {
    color: RGBColor,
    width: u32,
    dashed: bool,
}

/// Points split where a second is missing, so no line crosses a second without the figure.
fn runs(points: Vec<(f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in points {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|q| p.0 - q.0 <= 1.0 + 1e-9) => run.push(p),
            _ => out.push(vec![p]),
        }
    }
    out
}

/// A series with its points marked, broken where a second has no figure, named once in the key.
fn line<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    points: Vec<(f64, f64)>,
    name: &str,
    pen: Pen,
) -> Result<(), String> {
    let style = pen.color.stroke_width(pen.width);
    for (i, run) in runs(points).into_iter().enumerate() {
        let anno = if pen.dashed {
            chart.draw_series(DashedLineSeries::new(run.clone(), 6, 4, style)).map_err(err)?;
            chart.draw_series(run.into_iter().map(|p| Circle::new(p, 2, pen.color.filled())))
        } else {
            chart.draw_series(LineSeries::new(run, style).point_size(pen.width + 1))
        }
        .map_err(err)?;
        match (i, pen.dashed) {
            (0, false) => {
                anno.label(name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
            (0, true) => {
                anno.label(name).legend(move |(x, y)| {
                    let dash = |from: i32| PathElement::new(vec![(from, 0), (from + 5, 0)], style);
                    EmptyElement::at((x, y)) + dash(0) + dash(7) + dash(14)
                });
            }
            _ => {}
        }
    }
    Ok(())
}

impl Chart for TimelineChart<'_> {
    fn height(&self) -> u32 {
        700
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let area = root.titled(&self.title, (FONT, TITLE_PT)).map_err(err)?;
        let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 / 2);
        self.rates(&top)?;
        self.latencies(&bottom)
    }
}

/// A target id as a file name.
fn stem(id: &str) -> String {
    let safe: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    format!("{STEM_PREFIX}{safe}")
}

/// Whether the measured window was steady, from its whole seconds: the slowest and fastest
/// second against the median, the worst p99 and the seconds with errors.
fn answer(timeline: &Timeline, end_s: f64) -> String {
    let inside: Vec<&Second> = timeline
        .seconds
        .iter()
        .filter(|s| f64::from(s.t_s) >= timeline.window_start_s.floor() && f64::from(s.t_s) + 1.0 <= end_s)
        .collect();
    let mut rates: Vec<u64> = inside.iter().map(|s| s.requests).collect();
    rates.sort_unstable();
    let Some(median) = rates.get(rates.len() / 2).copied().filter(|m| *m > 0) else {
        return "not measured: no whole second of the window has requests".into();
    };
    let pct = |v: u64| (v as f64 / median as f64 - 1.0) * 100.0;
    let (lo, hi) = (rates[0], rates[rates.len() - 1]);
    let p99 = inside.iter().filter_map(|s| s.p99_us).max();
    let errors = inside.iter().filter(|s| s.errors > 0).count();
    format!(
        "{} whole seconds in the window: requests per second {lo} to {hi} ({:+.0} % to {:+.0} % of the median {median}), \
         worst second's p99 {}, {errors} second{} with errors",
        inside.len(),
        pct(lo),
        pct(hi),
        p99.map_or("not measured".to_owned(), |v| format!("{v} µs")),
        if errors == 1 { "" } else { "s" },
    )
}

/// The chart of one case, when it has a timeline with requests in it.
fn chart(c: &Case, ctx: &Ctx) -> anyhow::Result<Option<ChartRef>> {
    let Some(timeline) = c.timeline.as_ref().filter(|t| t.seconds.iter().any(|s| s.requests > 0)) else {
        return Ok(None);
    };
    let end_s = timeline.window_start_s + c.window_s;
    let caption = format!("Was {}'s measured window steady second by second (browse, closed)?", c.target.id);
    let chart = TimelineChart {
        title: format!("Second by second, browse (closed): {} — {}", c.target.id, ctx.run),
        timeline,
        end_s,
        color: case_color(c),
    };
    let r = ChartRef::new(stem(&c.target.id), caption, answer(timeline, end_s));
    write_answered(&chart, ctx.dir, r).map(Some)
}

/// One timeline chart per configuration, from its closed browse case; cases recorded without a
/// timeline have none.
pub(super) fn render(closed: &[&Case], ctx: &Ctx) -> anyhow::Result<Vec<ChartRef>> {
    let mut out = Vec::new();
    for c in closed {
        out.extend(chart(c, ctx)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(t_s: u32) -> Second {
        Second {
            t_s,
            requests: 10,
            errors: 0,
            unauthorized: 0,
            unavailable: 0,
            sessions_lost: 0,
            p50_us: Some(100),
            p99_us: Some(900),
            store_ops: Some(10.0),
        }
    }

    #[test]
    fn the_answer_follows_the_seconds() {
        let mut timeline = Timeline { window_start_s: 1.0, seconds: (0..6).map(second).collect() };
        let steady = answer(&timeline, 5.5);
        assert!(steady.starts_with("4 whole seconds in the window"), "{steady}");
        timeline.seconds[2].requests /= 2;
        timeline.seconds[3].errors = 3;
        let dip = answer(&timeline, 5.5);
        assert!(dip != steady && dip.contains("1 second with errors"), "{dip}");
        timeline.seconds.iter_mut().for_each(|s| s.requests = 0);
        assert!(answer(&timeline, 5.5).starts_with("not measured"));
    }

    #[test]
    fn the_partial_last_second_is_not_drawn() {
        let timeline = Timeline { window_start_s: 1.2, seconds: (0..4).map(second).collect() };
        let chart = TimelineChart { title: String::new(), timeline: &timeline, end_s: 3.5, color: WHITE };
        let xs = |pts: Vec<(f64, f64)>| pts.into_iter().map(|p| p.0).collect::<Vec<_>>();
        assert_eq!(xs(chart.points(|s| Some(s.requests as f64))), [0.5, 1.5, 2.5]);
        assert_eq!(chart.place(&timeline.seconds[3]), (3.25, false), "its error mark goes mid-way");
    }

    #[test]
    fn log_ticks_fall_inside_the_axis_and_are_never_too_few() {
        assert_eq!(log_ticks(0.06, 30.0), [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
        let narrow = log_ticks(0.17, 1.75);
        assert_eq!(narrow, [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
        assert!(narrow.iter().all(|v| (0.17..=1.75).contains(v)));
    }

    #[test]
    fn lines_break_at_seconds_without_the_figure() {
        let r = runs(vec![(0.5, 1.0), (1.5, 2.0), (3.5, 3.0), (5.5, 1.0), (6.5, 1.0)]);
        assert_eq!(r.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1, 2]);
    }

    #[test]
    fn stems_are_file_names_under_the_prefix() {
        assert_eq!(stem("hybrid-redis-HS256-access5s"), "timeline_hybrid-redis-HS256-access5s");
        assert_eq!(stem("a/b c"), "timeline_a_b_c");
    }
}
