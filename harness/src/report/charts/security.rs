//! Security windows against speed: per configuration, how long a revoked user, a demoted admin and
//! a logged-out user kept access, against requests per core. A window the probe stopped waiting for
//! is drawn hollow at the bound the TTLs imply and labelled "bound"; a window not measured at all
//! (results from before the logout probe) is left out.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{axis, distinct, err, write_answered, Chart, DESC_PT, FONT, LABEL_PT, SMALL_PT, TITLE_PT};
use super::{case_color, Ctx};
use crate::model::probe::{ProbeResult, WindowResult};
use crate::model::results::{Case, Results};
use crate::report::document::ChartRef;

/// Windows below this are drawn at it: the log axis has no 0.
pub(super) const WINDOW_FLOOR_S: f64 = 0.01;

/// Which window a marker shows; each has its own shape and offset within its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Revoked,
    Demoted,
    LoggedOut,
}

impl Window {
    const ALL: [Window; 3] = [Window::Revoked, Window::Demoted, Window::LoggedOut];

    fn name(self) -> &'static str {
        match self {
            Window::Revoked => "revoked user",
            Window::Demoted => "demoted admin",
            Window::LoggedOut => "logged-out user",
        }
    }

    /// Pixels left or right of the configuration's x, so three markers at one speed stay apart.
    fn dx(self) -> i32 {
        match self {
            Window::Revoked => -10,
            Window::Demoted => 0,
            Window::LoggedOut => 10,
        }
    }

    fn of(self, p: &ProbeResult) -> Option<&WindowResult> {
        match self {
            Window::Revoked => Some(&p.revocation),
            Window::Demoted => Some(&p.stale_role),
            Window::LoggedOut => p.logout.as_ref(),
        }
    }
}

/// One window of one configuration, in seconds (floored for the log axis).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mark {
    window: Window,
    y: f64,
    reading: Reading,
}

/// What a marker's height is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Measured,
    /// Still accepted at the probe's cap: `y` is the bound the TTLs imply.
    Bound,
    /// Still accepted at the cap past a shorter bound (replicas that do not share a memory
    /// store): `y` is the cap, a lower bound of the window.
    AtLeastCap,
}

impl Reading {
    fn hollow(self) -> bool {
        self != Reading::Measured
    }
}

fn mark(window: Window, w: &WindowResult, cap_s: f64) -> Mark {
    let reading = match w.measured_s {
        Some(_) => Reading::Measured,
        None if (w.bound_s as f64) < cap_s => Reading::AtLeastCap,
        None => Reading::Bound,
    };
    Mark { window, y: w.measured_or_bound_s(cap_s).max(WINDOW_FLOOR_S), reading }
}

/// The windows a probe measured or bounded; one it never measured gets no marker.
fn marks(p: &ProbeResult) -> Vec<Mark> {
    Window::ALL.iter().filter_map(|&k| k.of(p).map(|w| mark(k, w, p.cap_s))).collect()
}

/// One configuration: its speed and its windows.
struct Group {
    name: String,
    color: RGBColor,
    /// Requests per core-second, browse (closed).
    x: f64,
    marks: Vec<Mark>,
}

impl Group {
    fn top(&self) -> f64 {
        self.marks.iter().map(|m| m.y).fold(WINDOW_FLOOR_S, f64::max)
    }
}

/// Every window of every probed configuration against its speed.
struct SecurityScatter {
    title: String,
    groups: Vec<Group>,
}

const KEY_LINE: u32 = 20;

impl SecurityScatter {
    /// The shape line, then the configurations two to a line.
    fn key_height(&self) -> u32 {
        KEY_LINE * (self.groups.len().div_ceil(2) as u32 + 1) + 14
    }

    fn x_max(&self) -> f64 {
        self.groups.iter().map(|g| g.x).fold(1.0, f64::max) * 1.15
    }

    fn y_max(&self) -> f64 {
        self.groups.iter().map(Group::top).fold(1.0, f64::max) * 5.0
    }

    /// How many earlier groups sit close enough to this one that its number must move up.
    fn crowding(&self, i: usize) -> i32 {
        let (g, xmax) = (&self.groups[i], self.x_max());
        self.groups[..i]
            .iter()
            .filter(|q| (q.x - g.x).abs() < xmax * 0.03 && (q.top().log10() - g.top().log10()).abs() < 0.3)
            .count() as i32
    }
}

fn style(c: &RGBColor, bound: bool) -> ShapeStyle {
    if bound {
        c.stroke_width(2)
    } else {
        c.filled()
    }
}

/// A closed triangle centred on pixel `(x, y)`.
fn triangle(x: i32, y: i32) -> [(i32, i32); 4] {
    [(x, y - 7), (x - 6, y + 5), (x + 6, y + 5), (x, y - 7)]
}

/// The marker of `window` at pixel `(x, y)` of a drawing area (the key).
fn shape<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    window: Window,
    (x, y): (i32, i32),
    s: ShapeStyle,
) -> Result<(), String> {
    match window {
        Window::Revoked => area.draw(&Circle::new((x, y), 6, s)),
        Window::Demoted if s.filled => area.draw(&Polygon::new(triangle(x, y).to_vec(), s)),
        Window::Demoted => area.draw(&PathElement::new(triangle(x, y).to_vec(), s)),
        Window::LoggedOut => area.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], s)),
    }
    .map_err(err)
}

type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, LogCoord<f64>>>;

/// The marker of `m` at `x`, shifted by its window's offset.
fn point<DB: DrawingBackend>(chart: &mut Plot<'_, DB>, x: f64, m: &Mark, c: &RGBColor) -> Result<(), String> {
    let (at, dx, s) = (EmptyElement::at((x, m.y)), m.window.dx(), style(c, m.reading.hollow()));
    match m.window {
        Window::Revoked => chart.draw_series(std::iter::once(at + Circle::new((dx, 0), 6, s))),
        // Plotters fills its triangle marker whatever the style, so a hollow one is drawn as a path.
        Window::Demoted if s.filled => {
            chart.draw_series(std::iter::once(at + Polygon::new(triangle(dx, 0).to_vec(), s)))
        }
        Window::Demoted => chart.draw_series(std::iter::once(at + PathElement::new(triangle(dx, 0).to_vec(), s))),
        Window::LoggedOut => chart.draw_series(std::iter::once(at + Rectangle::new([(dx - 5, -5), (dx + 5, 5)], s))),
    }
    .map_err(err)?;
    Ok(())
}

/// Writes "bound" (or "≥ cap") under a hollow marker unless an earlier label sits close enough to
/// say it already: clustered configurations share one label rather than overprinting a dozen.
fn bound_label<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    x: f64,
    m: &Mark,
    placed: &mut Vec<(i32, i32)>,
) -> Result<(), String> {
    let (px, py) = chart.backend_coord(&(x, m.y));
    let px = px + m.window.dx();
    if placed.iter().any(|&(qx, qy)| (qx - px).abs() < 44 && (qy - py).abs() < 14) {
        return Ok(());
    }
    placed.push((px, py));
    let font = TextStyle::from((FONT, SMALL_PT).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    let text = if m.reading == Reading::AtLeastCap { "≥ cap" } else { "bound" };
    let label = EmptyElement::at((x, m.y)) + Text::new(text, (m.window.dx(), 8), font);
    chart.draw_series(std::iter::once(label)).map_err(err)?;
    Ok(())
}

impl Chart for SecurityScatter {
    fn height(&self) -> u32 {
        560 + self.key_height()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (top, key) = root.split_vertically(self.height() - self.key_height());
        let mut chart = ChartBuilder::on(&top)
            .caption(&self.title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..self.x_max(), (WINDOW_FLOOR_S * 0.5..self.y_max()).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("requests per second per core of target CPU (browse, closed)")
            .y_desc("seconds the old credential kept working (log; 0 drawn at 0.01 s)")
            .x_label_formatter(&axis)
            .y_label_formatter(&axis)
            .label_style((FONT, LABEL_PT))
            .axis_desc_style((FONT, DESC_PT))
            .draw()
            .map_err(err)?;
        let colors = distinct(&self.groups.iter().map(|g| g.color).collect::<Vec<_>>());
        let mut placed = Vec::new();
        for (i, (g, c)) in self.groups.iter().zip(&colors).enumerate() {
            for m in &g.marks {
                point(&mut chart, g.x, m, c)?;
                if m.reading.hollow() {
                    bound_label(&mut chart, g.x, m, &mut placed)?;
                }
            }
            // Numbers, not names, beside the groups: names go in the key, so 20 groups stay legible.
            let font = TextStyle::from((FONT, SMALL_PT).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
            let number = EmptyElement::at((g.x, g.top()))
                + Text::new(format!("{}", i + 1), (16, -6 - 13 * self.crowding(i)), font);
            chart.draw_series(std::iter::once(number)).map_err(err)?;
        }
        self.draw_key(&key, &colors)
    }
}

impl SecurityScatter {
    fn draw_key<DB: DrawingBackend>(&self, key: &DrawingArea<DB, Shift>, colors: &[RGBColor]) -> Result<(), String> {
        let grey = RGBColor(90, 90, 90);
        let mut x = 100;
        for w in Window::ALL {
            shape(key, w, (x, 14), style(&grey, false))?;
            key.draw(&Text::new(w.name(), (x + 12, 7), (FONT, LABEL_PT))).map_err(err)?;
            x += 170;
        }
        shape(key, Window::Revoked, (x, 14), style(&grey, true))?;
        let hollow = "hollow: still accepted at the cap, drawn at the bound (≥ cap: past a shorter one)";
        key.draw(&Text::new(hollow, (x + 12, 7), (FONT, LABEL_PT))).map_err(err)?;
        for (i, (g, c)) in self.groups.iter().zip(colors).enumerate() {
            let (x, y) = (100 + (i % 2) as i32 * 480, 4 + KEY_LINE as i32 + 10 + (i / 2) as i32 * KEY_LINE as i32);
            key.draw(&Rectangle::new([(x - 6, y + 1), (x + 6, y + 13)], c.filled())).map_err(err)?;
            key.draw(&Text::new(format!("{}  {}", i + 1, g.name), (x + 12, y), (FONT, LABEL_PT))).map_err(err)?;
        }
        Ok(())
    }
}

/// The probed configurations that also have a closed browse case with a speed.
fn groups(r: &Results, closed: &[&Case]) -> Vec<Group> {
    r.probes
        .iter()
        .filter_map(|p| {
            let c = closed.iter().find(|c| c.target.id == p.target.id)?;
            let (x, marks) = (c.req_per_core_s?, marks(p));
            (!marks.is_empty()).then(|| Group { name: p.target.id.clone(), color: case_color(c), x, marks })
        })
        .collect()
}

/// Revocation, stale-role and logout windows against requests per core; configurations without a
/// probe or a speed are left out.
pub(super) fn security_chart(r: &Results, closed: &[&Case], ctx: &Ctx) -> anyhow::Result<Option<ChartRef>> {
    let groups = groups(r, closed);
    if groups.is_empty() {
        return Ok(None);
    }
    let caption = "How long does a revoked / demoted / logged-out user keep access, and at what speed?";
    let chart = SecurityScatter { title: format!("Security windows against speed — {}", ctx.run), groups };
    write_answered(&chart, ctx.dir, ChartRef::new("security", caption, answer(&r.probes))).map(Some)
}

/// The chart's answer from the probes: how many configurations refused a revoked user within the
/// probe's measurement and how quickly, and which kept access longest up to its bound.
fn answer(probes: &[ProbeResult]) -> String {
    let (measured, bound): (Vec<&ProbeResult>, Vec<&ProbeResult>) =
        probes.iter().partition(|p| p.revocation.measured_s.is_some());
    let worst = measured.iter().filter_map(|p| p.revocation.measured_s).fold(0.0, f64::max);
    let fast = format!(
        "a revoked user was refused within {worst:.2} s in {} of {} configurations",
        measured.len(),
        probes.len()
    );
    match bound.iter().max_by_key(|p| p.revocation.bound_s) {
        Some(p) => format!(
            "{fast}; {} kept access past the probe's cap, up to its bound, longest {} ({} s)",
            bound.len(),
            p.target.id,
            p.revocation.bound_s
        ),
        None => fast,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(measured_s: Option<f64>, bound_s: u64) -> WindowResult {
        WindowResult { measured_s, still_accepted_at_cap: measured_s.is_none(), bound_s, accepted_after_change: 0 }
    }

    fn probe(logout: Option<WindowResult>) -> ProbeResult {
        use authbench_targets::spec::TargetSpec;
        ProbeResult {
            target: (&TargetSpec::jwt(authbench_targets::token::alg::Alg::Hs256)).into(),
            users: 1,
            cap_s: 2.0,
            poll_interval_ms: 20,
            revocation: window(None, 604_801),
            stale_role: window(Some(0.0), 0),
            logout,
            refresh_after_revoke: None,
            reuse: None,
            method: String::new(),
            storage: None,
            exposure: None,
            agreement: None,
        }
    }

    #[test]
    fn the_answer_counts_measured_windows_and_names_the_longest_bound() {
        let mut fast = probe(None);
        fast.revocation = window(Some(0.02), 0);
        let a = answer(&[probe(None), fast]);
        assert_eq!(
            a,
            "a revoked user was refused within 0.02 s in 1 of 2 configurations; 1 kept access past the probe's cap, \
             up to its bound, longest jwt-HS256 (604801 s)"
        );
    }

    #[test]
    fn a_capped_window_is_a_bound_and_an_unmeasured_one_is_left_out() {
        let m = marks(&probe(None));
        assert_eq!(m.len(), 2, "no logout marker for a file from before the logout probe: {m:?}");
        assert_eq!(m[0], Mark { window: Window::Revoked, y: 604_801.0, reading: Reading::Bound });
        let floor = Mark { window: Window::Demoted, y: WINDOW_FLOOR_S, reading: Reading::Measured };
        assert_eq!(m[1], floor, "0 sits on the floor");
        let m = marks(&probe(Some(window(Some(2.5), 3))));
        assert_eq!(m[2], Mark { window: Window::LoggedOut, y: 2.5, reading: Reading::Measured });
        // Still accepted at the cap although the bound is 0 s: drawn at the cap, not at 0.
        let m = marks(&probe(Some(window(None, 0))));
        let cap = probe(None).cap_s;
        assert_eq!(m[2], Mark { window: Window::LoggedOut, y: cap, reading: Reading::AtLeastCap });
    }
}
