//! One chart per `[[fault]]`: small multiples, a panel per configuration (four to a row) on one
//! shared scale, each a stacked column per second of the measured window — answered 2xx, 401,
//! 503, other errors — with the fault shaded and its start and end marked. The window's last
//! second, cut short where it closed, is left out (a few milliseconds of requests would stand
//! beside whole seconds).

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{axis, err, legend, write_answered, Chart, FONT, LABEL_PT, SMALL_PT, TITLE_PT};
use super::Ctx;
use crate::model::fault::{DataAfterRestart, Fault, FaultSubject, Recovery};
use crate::model::results::Second;
use crate::report::document::ChartRef;
use crate::report::sections::faults::{groups, kind_title, FaultCase, FaultGroup};

/// Every fault chart's file name starts with this.
const STEM_PREFIX: &str = "fault_";

/// The outcomes a column stacks, bottom up, with their colours.
const OUTCOMES: [(&str, RGBColor); 4] = [
    ("answered 2xx", RGBColor(107, 174, 214)),
    ("401: credentials refused", RGBColor(255, 127, 14)),
    ("503: target could not serve", RGBColor(214, 39, 40)),
    ("other errors", RGBColor(90, 90, 90)),
];
/// The fault's window, and the lines at its start and end.
const SHADE: RGBColor = RGBColor(255, 236, 179);
const MARK: RGBColor = RGBColor(184, 134, 11);

/// Panels per row, and the height of a row, of the title and of the key.
const COLUMNS: usize = 4;
const PANEL_H: u32 = 290;
const TITLE_H: u32 = 50;
const KEY_H: u32 = 60;

/// One second of the window: where it lies on the window's clock and its requests by outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Column {
    pub from: f64,
    pub to: f64,
    /// Requests per outcome, in [`OUTCOMES`] order.
    pub parts: [f64; 4],
}

/// One configuration's panel.
pub(super) struct Panel {
    pub title: String,
    pub columns: Vec<Column>,
    /// The fault's start and end on the window's clock; None without a timeline.
    pub fault: Option<(f64, f64)>,
}

/// One `[[fault]]`'s panels.
pub(super) struct FaultChart {
    pub title: String,
    pub panels: Vec<Panel>,
    /// The measured window's length, seconds: every panel's x axis.
    pub window_s: f64,
}

/// A second's requests by outcome: 2xx, 401, 503, the rest of its errors.
fn parts(s: &Second) -> [f64; 4] {
    let other = s.errors.saturating_sub(s.unauthorized + s.unavailable);
    [s.requests.saturating_sub(s.errors), s.unauthorized, s.unavailable, other].map(|n| n as f64)
}

/// The whole seconds that overlap the window, on the window's clock (the partial last one left out).
fn columns(fc: FaultCase<'_>) -> Vec<Column> {
    let Some(t) = fc.case.timeline.as_ref() else {
        return Vec::new();
    };
    let whole = &t.seconds[..t.seconds.len().saturating_sub(1)];
    whole
        .iter()
        .filter_map(|s| {
            let from = f64::from(s.t_s) - t.window_start_s;
            (from + 1.0 > 0.0).then(|| Column { from: from.max(0.0), to: from + 1.0, parts: parts(s) })
        })
        .collect()
}

/// What was touched, short enough for a panel's title.
fn subject(s: FaultSubject) -> String {
    match s {
        FaultSubject::Store { store } => format!("{store} store"),
        FaultSubject::Target => "target restarted".into(),
        FaultSubject::Control => "control, nothing touched".into(),
    }
}

fn panel(fc: FaultCase<'_>) -> Panel {
    let fault = fc.window_start_s().map(|w| (fc.record.start_s - w, fc.record.end_s - w));
    Panel { title: format!("{} · {}", fc.case.target.id, subject(fc.record.subject)), columns: columns(fc), fault }
}

impl FaultChart {
    fn rows(&self) -> usize {
        self.panels.len().div_ceil(COLUMNS).max(1)
    }

    /// One scale for every panel, so panels compare at a glance.
    fn y_max(&self) -> f64 {
        let top = self.panels.iter().flat_map(|p| &p.columns).map(|c| c.parts.iter().sum::<f64>());
        top.fold(1.0, f64::max) * 1.12
    }
}

type Coords = Cartesian2d<RangedCoordf64, RangedCoordf64>;

impl Panel {
    fn draw<DB: DrawingBackend>(&self, cell: &DrawingArea<DB, Shift>, window_s: f64, y_max: f64) -> Result<(), String> {
        let mut chart = ChartBuilder::on(cell)
            .caption(&self.title, (FONT, LABEL_PT))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..window_s, 0.0..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(7)
            .y_labels(6)
            .light_line_style(TRANSPARENT)
            .x_desc("seconds of the window")
            .y_desc("requests per second")
            .x_label_formatter(&axis)
            .y_label_formatter(&axis)
            .label_style((FONT, SMALL_PT))
            .axis_desc_style((FONT, SMALL_PT))
            .draw()
            .map_err(err)?;
        if let Some(window) = self.fault {
            shade(&mut chart, clip(window, window_s), y_max)?;
        }
        if self.columns.is_empty() {
            let note = Text::new("not measured: no timeline", (window_s * 0.05, y_max * 0.5), (FONT, SMALL_PT));
            return chart.draw_series([note]).map(|_| ()).map_err(err);
        }
        chart.draw_series(self.columns.iter().flat_map(stack)).map_err(err)?;
        if let Some(window) = self.fault {
            mark(&mut chart, clip(window, window_s), y_max)?;
        }
        Ok(())
    }
}

/// The fault's window inside the axis.
fn clip((start, end): (f64, f64), window_s: f64) -> (f64, f64) {
    (start.clamp(0.0, window_s), end.clamp(0.0, window_s))
}

/// A column's outcomes stacked from 0, a little narrower than its second so columns stay apart.
fn stack(c: &Column) -> Vec<Rectangle<(f64, f64)>> {
    let (x0, x1) = (c.from + 0.06, (c.to - 0.06).max(c.from + 0.06));
    let mut y = 0.0;
    let mut out = Vec::new();
    for (v, (_, color)) in c.parts.iter().zip(OUTCOMES) {
        if *v > 0.0 {
            out.push(Rectangle::new([(x0, y), (x1, y + v)], color.filled()));
            y += v;
        }
    }
    out
}

/// The fault's window as a band behind the columns.
fn shade<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Coords>,
    (start, end): (f64, f64),
    y_max: f64,
) -> Result<(), String> {
    chart.draw_series([Rectangle::new([(start, 0.0), (end, y_max)], SHADE.filled())]).map_err(err)?;
    Ok(())
}

/// Lines at the fault's start and end over the columns, named at the top.
fn mark<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Coords>,
    (start, end): (f64, f64),
    y_max: f64,
) -> Result<(), String> {
    let style = MARK.stroke_width(2);
    for x in [start, end] {
        chart.draw_series(DashedLineSeries::new([(x, 0.0), (x, y_max)], 5, 4, style)).map_err(err)?;
    }
    let font = (FONT, SMALL_PT).into_font().color(&MARK);
    let label = EmptyElement::at((start, y_max)) + Text::new("fault", (4, 4), font);
    chart.draw_series([label]).map_err(err)?;
    Ok(())
}

impl Chart for FaultChart {
    fn height(&self) -> u32 {
        TITLE_H + self.rows() as u32 * PANEL_H + KEY_H
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let area = root.titled(&self.title, (FONT, TITLE_PT)).map_err(err)?;
        let (grid, key) = area.split_vertically(self.rows() as u32 * PANEL_H);
        let cells = grid.split_evenly((self.rows(), self.panels.len().clamp(1, COLUMNS)));
        let y_max = self.y_max();
        for (p, cell) in self.panels.iter().zip(&cells) {
            p.draw(cell, self.window_s, y_max)?;
        }
        let mut items: Vec<(String, RGBColor)> = OUTCOMES.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect();
        items.push(("the fault, start to end (dashed)".into(), SHADE));
        legend(&key, &items)
    }
}

/// The question a fault's chart answers.
fn question(f: &Fault) -> &'static str {
    match f {
        Fault::StoreOutage { .. } => {
            "Which strategies keep serving while the store is down, and how fast do they come back?"
        }
        Fault::StoreRestart { data: DataAfterRestart::Kept, .. } => {
            "Which strategies keep serving while the store restarts, and how fast do they come back?"
        }
        Fault::StoreRestart { data: DataAfterRestart::Lost, .. } => {
            "Which strategies log their users out when the store comes back empty, and how fast do they recover?"
        }
        Fault::StoreSlow { .. } => "Which strategies slow down or fail while the store is slow, and do they recover?",
        Fault::TargetRestart { .. } => {
            "How fast does each configuration serve again after its process restarts, and are its users logged out?"
        }
    }
}

/// A group id as a file name under the prefix.
fn stem(id: &str) -> String {
    let safe: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    format!("{STEM_PREFIX}{safe}")
}

/// One configuration's outcome in words: service kept during the fault, recovery, sessions lost.
fn outcome_words(fc: &FaultCase<'_>) -> String {
    let o = &fc.record.outcome;
    let kept = o.availability.map_or("service kept not measured".to_owned(), |a| format!("{:.0} % served", a * 100.0));
    let back = match o.recovery {
        Recovery::Undisturbed => "undisturbed".to_owned(),
        Recovery::After { s } => format!("back {s:.0} s after"),
        Recovery::NotWithinWindow => "not back within the window".to_owned(),
    };
    let lost = match o.sessions_lost {
        0 => String::new(),
        n => format!(", {n} sessions lost"),
    };
    format!("{} {kept}, {back}{lost}", fc.case.target.id)
}

/// What the group's figures answer: each configuration's outcome.
fn answer(g: &FaultGroup<'_>) -> String {
    match g.cases.is_empty() {
        true => "not measured".into(),
        false => g.cases.iter().map(outcome_words).collect::<Vec<_>>().join("; "),
    }
}

fn chart(g: &FaultGroup<'_>, ctx: &Ctx) -> anyhow::Result<ChartRef> {
    let caption = format!("{} ({}), {}: {}", kind_title(&g.fault), g.fault, g.load.id(), question(&g.fault));
    let chart = FaultChart {
        title: format!("{}, {} — {}", kind_title(&g.fault), g.load.id(), ctx.run),
        panels: g.cases.iter().map(|fc| panel(*fc)).collect(),
        window_s: g.cases.iter().map(|fc| fc.case.window_s).fold(1.0, f64::max),
    };
    write_answered(&chart, ctx.dir, ChartRef::new(stem(&g.id()), caption, answer(g)))
}

/// One chart per `[[fault]]` of the run, keyed by the group's id; none without fault cases.
pub(super) fn render(r: &crate::model::results::Results, ctx: &Ctx) -> anyhow::Result<Vec<(String, ChartRef)>> {
    groups(r).iter().map(|g| Ok((g.id(), chart(g, ctx)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(from: f64, parts: [f64; 4]) -> Column {
        Column { from, to: from + 1.0, parts }
    }

    fn fixture() -> FaultChart {
        let calm = (0..8).map(|t| column(f64::from(t), [100.0, 0.0, 0.0, 0.0])).collect();
        let hurt = (0..8)
            .map(|t| match t {
                3 | 4 => column(f64::from(t), [10.0, 0.0, 90.0, 0.0]),
                5 => column(f64::from(t), [60.0, 30.0, 0.0, 10.0]),
                _ => column(f64::from(t), [100.0, 0.0, 0.0, 0.0]),
            })
            .collect();
        FaultChart {
            title: "Store outage".into(),
            panels: vec![
                Panel { title: "jwt-HS256 · control, nothing touched".into(), columns: calm, fault: Some((3.2, 5.2)) },
                Panel { title: "session-redis · redis store".into(), columns: hurt, fault: Some((3.2, 5.2)) },
                Panel { title: "hybrid-redis-HS256 · redis store".into(), columns: Vec::new(), fault: None },
            ],
            window_s: 8.5,
        }
    }

    #[test]
    fn panels_series_and_the_shaded_fault_are_in_the_svg() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let drawn =
            super::super::style::write_answered(&fixture(), dir.path(), ChartRef::unanswered("fault_test", "caption?"))
                .expect("the chart draws");
        assert_eq!(drawn.stem, "fault_test");
        let svg = std::fs::read_to_string(dir.path().join("fault_test.svg")).expect("the SVG was written");
        let doc = roxmltree::Document::parse(&svg).expect("the SVG parses");
        let texts: Vec<&str> =
            doc.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).map(str::trim).collect();
        for want in [
            "jwt-HS256 · control, nothing touched",
            "session-redis · redis store",
            "hybrid-redis-HS256 · redis store",
            "answered 2xx",
            "401: credentials refused",
            "503: target could not serve",
            "other errors",
            "not measured: no timeline",
        ] {
            assert!(texts.contains(&want), "{want} missing from {texts:?}");
        }
        assert_eq!(texts.iter().filter(|t| **t == "fault").count(), 2, "one mark per panel with a timeline");
        let fill = |c: RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
        let rects = |c: RGBColor| {
            doc.descendants().filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(&fill(c))).count()
        };
        // Two shaded windows and the key's swatch.
        assert_eq!(rects(SHADE), 3);
        // 503s in two seconds of one panel, and their swatch; 401s and other errors in one second.
        assert_eq!(rects(OUTCOMES[2].1), 3);
        assert_eq!((rects(OUTCOMES[1].1), rects(OUTCOMES[3].1)), (2, 2));
        assert_eq!(rects(OUTCOMES[0].1), 16 + 1, "every second of both panels has successes");
    }

    #[test]
    fn columns_stack_bottom_up_and_skip_empty_outcomes() {
        let s = stack(&column(2.0, [60.0, 30.0, 0.0, 10.0]));
        assert_eq!(s.len(), 3);
        let seconds = Second {
            t_s: 4,
            requests: 100,
            errors: 40,
            unauthorized: 10,
            unavailable: 25,
            sessions_lost: 10,
            p50_us: None,
            p99_us: None,
            store_ops: None,
        };
        assert_eq!(parts(&seconds), [60.0, 10.0, 25.0, 5.0]);
        assert_eq!(clip((-1.0, 9.0), 8.5), (0.0, 8.5));
        assert_eq!(stem("browse-open-16u-1000rps/store_outage"), "fault_browse-open-16u-1000rps_store_outage");
    }
}
