//! Charts from results.json, each written as SVG and PNG with one shared style.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use authbench_scenarios::ScenarioKind;
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;

use crate::model::matrix::ModelKind;
use crate::model::results::{Case, Results};

/// Font used to measure and rasterise chart text (SVGs reference the family by name).
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1100;
const ROW: u32 = 26;

/// Registers the chart font once; a missing font is a clear error, not a blank chart.
fn font() -> anyhow::Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let bytes = std::fs::read(FONT_PATH).map_err(|e| {
            format!("cannot read {FONT_PATH} ({e}): install fonts-dejavu-core (scripts/install-deps.sh) for the charts")
        })?;
        plotters::style::register_font(FONT, FontStyle::Normal, Box::leak(bytes.into_boxed_slice()))
            .map_err(|_| format!("{FONT_PATH} is not a usable font"))
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// Colour of a target configuration: hue by strategy, shade by store.
pub fn color(spec: &TargetSpec) -> RGBColor {
    use StoreKind::{Memory, Postgres, Redis};
    match (spec.strategy, spec.store, spec.denylist) {
        (StrategyKind::Jwt, _, Some(Memory)) => RGBColor(188, 160, 220),
        (StrategyKind::Jwt, _, Some(Redis)) => RGBColor(148, 103, 189),
        (StrategyKind::Jwt, _, Some(Postgres)) => RGBColor(84, 39, 143),
        (StrategyKind::Jwt, _, None) => RGBColor(31, 119, 180),
        (StrategyKind::Session, Some(Memory), _) => RGBColor(116, 196, 118),
        (StrategyKind::Session, Some(Redis), _) => RGBColor(44, 160, 44),
        (StrategyKind::Session, _, _) => RGBColor(0, 100, 0),
        (StrategyKind::Hybrid, Some(Memory), _) => RGBColor(253, 174, 107),
        (StrategyKind::Hybrid, Some(Redis), _) => RGBColor(255, 127, 14),
        (StrategyKind::Hybrid, _, _) => RGBColor(166, 86, 40),
    }
}

fn case_color(c: &Case) -> RGBColor {
    color(&c.target.spec)
}

/// Something drawable on any plotters backend.
trait Chart {
    fn height(&self) -> u32;
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

fn write<C: Chart>(chart: &C, dir: &Path, name: &str) -> anyhow::Result<Vec<String>> {
    // Both backends measure text with the registered font, the SVG one to lay labels out.
    font()?;
    let size = (WIDTH, chart.height());
    let svg = dir.join(format!("{name}.svg"));
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        chart.draw(&root).map_err(|e| anyhow::anyhow!("drawing {name}.svg: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("writing {}: {e:?}", svg.display()))?;
    }
    let png = dir.join(format!("{name}.png"));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        chart.draw(&root).map_err(|e| anyhow::anyhow!("drawing {name}.png: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("writing {}: {e:?}", png.display()))?;
    }
    Ok(vec![format!("{name}.svg"), format!("{name}.png")])
}

/// One horizontal bar, possibly stacked from several segments.
struct Row {
    label: String,
    segments: Vec<(f64, RGBColor)>,
}

/// Horizontal (stacked) bars: one row per configuration, readable from 2 to 20+ rows.
struct Bars {
    title: String,
    x_desc: String,
    rows: Vec<Row>,
    legend: Vec<(String, RGBColor)>,
}

impl Chart for Bars {
    fn height(&self) -> u32 {
        140 + ROW * self.rows.len() as u32 + 22 * self.legend.len().div_ceil(3) as u32
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let n = self.rows.len();
        let max = self.rows.iter().map(|r| r.segments.iter().map(|s| s.0).sum::<f64>()).fold(0.0, f64::max);
        let max = if max > 0.0 { max * 1.15 } else { 1.0 };
        let legend_h = 22 * self.legend.len().div_ceil(3) as u32;
        let (top, bottom) = root.split_vertically(self.height() - legend_h - 10);
        let mut chart = ChartBuilder::on(&top)
            .caption(&self.title, (FONT, 20))
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
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(self.x_desc.as_str())
            .x_label_formatter(&axis)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        for (i, row) in self.rows.iter().enumerate() {
            let mut x = 0.0;
            for (v, c) in &row.segments {
                let mut r =
                    Rectangle::new([(x, SegmentValue::Exact(i)), (x + v, SegmentValue::Exact(i + 1))], c.filled());
                r.set_margin(4, 4, 0, 0);
                chart.draw_series(std::iter::once(r)).map_err(err)?;
                x += v;
            }
            let total: f64 = row.segments.iter().map(|s| s.0).sum();
            chart
                .draw_series(std::iter::once(Text::new(
                    fmt_num(total),
                    (x + max * 0.005, SegmentValue::CenterOf(i)),
                    TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
                )))
                .map_err(err)?;
        }
        legend(&bottom, &self.legend)
    }
}

fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, items: &[(String, RGBColor)]) -> Result<(), String> {
    for (i, (name, c)) in items.iter().enumerate() {
        let (x, y) = (320 + (i % 3) as i32 * 250, 4 + (i / 3) as i32 * 22);
        area.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], c.filled())).map_err(err)?;
        area.draw(&Text::new(name.clone(), (x + 20, y), (FONT, 13))).map_err(err)?;
    }
    Ok(())
}

/// Axis tick text: no spurious decimals on large values, enough on small ones.
fn axis(v: &f64) -> String {
    if v.abs() >= 1.0 || *v == 0.0 {
        format!("{v:.0}")
    } else {
        // Three decimals at most, trailing zeros dropped: 0.6 not 0.6000000000000001.
        let t = format!("{v:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Gives repeated colours distinct shades, so several configurations of one strategy stay apart.
fn distinct(colors: &[RGBColor]) -> Vec<RGBColor> {
    let mut seen: Vec<(RGBColor, u32)> = Vec::new();
    colors
        .iter()
        .map(|c| {
            let k = match seen.iter_mut().find(|(s, _)| s == c) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    seen.push((*c, 0));
                    0
                }
            };
            let f = 0.28 * f64::from(k.div_ceil(2));
            let mix = |x: u8, target: f64| (f64::from(x) + (target - f64::from(x)) * f.min(0.8)).round() as u8;
            let t = if k % 2 == 1 { 255.0 } else { 0.0 };
            RGBColor(mix(c.0, t), mix(c.1, t), mix(c.2, t))
        })
        .collect()
}

/// Formats a figure compactly for labels.
pub fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A named, coloured line.
type Series = (String, RGBColor, Vec<(f64, f64)>);

/// Latency percentile curves, HdrHistogram style: x is 1/(1-p) on a log axis.
struct Curves {
    title: String,
    series: Vec<Series>,
}

const NINES: f64 = 4.0;

impl Chart for Curves {
    fn height(&self) -> u32 {
        560 + 20 * self.series.len().div_ceil(2) as u32
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let ys = self.series.iter().flat_map(|s| s.2.iter().map(|p| p.1));
        let (lo, hi) = ys.fold((f64::MAX, 1.0f64), |(a, b), y| (a.min(y), b.max(y)));
        let lo = if lo == f64::MAX { 1.0 } else { lo.max(1.0) * 0.8 };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..NINES + 0.15, (lo..hi * 1.3).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .x_label_formatter(&|x| match x.round() as i32 {
                0 => "0%".into(),
                1 => "90%".into(),
                2 => "99%".into(),
                3 => "99.9%".into(),
                4 => "99.99%".into(),
                _ => String::new(),
            })
            .x_desc("percentile")
            .y_desc("latency (µs, log scale)")
            .y_label_formatter(&axis)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 12))
            .draw()
            .map_err(err)
    }
}

/// Points of a percentile curve from a serialized histogram.
fn percentile_points(c: &Case) -> anyhow::Result<Vec<(f64, f64)>> {
    let h = crate::model::histogram::decode(&c.histogram.data)?;
    let mut pts = Vec::new();
    for v in h.iter_quantiles(4) {
        let q = v.quantile_iterated_to();
        let x = if q >= 1.0 { NINES } else { (-(1.0 - q).log10()).min(NINES) };
        pts.push((x, v.value_iterated_to().max(1) as f64));
        if x >= NINES {
            break;
        }
    }
    Ok(pts)
}

/// Scatter of security window against speed.
struct Scatter {
    title: String,
    points: Vec<(String, RGBColor, f64, f64, bool)>,
}

const WINDOW_FLOOR_S: f64 = 0.01;

impl Chart for Scatter {
    fn height(&self) -> u32 {
        560 + 20 * self.points.len().div_ceil(2) as u32
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let key_h = 20 * self.points.len().div_ceil(2) as u32 + 10;
        let (top, key) = root.split_vertically(self.height() - key_h);
        let xmax = self.points.iter().map(|p| p.2).fold(1.0, f64::max) * 1.15;
        let ymax = self.points.iter().map(|p| p.3).fold(1.0, f64::max) * 5.0;
        let mut chart = ChartBuilder::on(&top)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..xmax, (WINDOW_FLOOR_S * 0.5..ymax).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("requests per second per core of target CPU (browse, closed)")
            .y_desc("revocation window, s (log; 0 drawn at 0.01 s)")
            .x_label_formatter(&axis)
            .y_label_formatter(&axis)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        let colors = distinct(&self.points.iter().map(|p| p.1).collect::<Vec<_>>());
        for (i, ((_, _, x, y, capped), c)) in self.points.iter().zip(&colors).enumerate() {
            let style = if *capped { c.stroke_width(2) } else { c.filled() };
            // Numbers, not names, beside the points: names go in the key, so 20 points stay legible.
            let near = self.points[..i]
                .iter()
                .filter(|p| (p.2 - x).abs() < xmax * 0.03 && (p.3.log10() - y.log10()).abs() < 0.3)
                .count() as i32;
            let font = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
            let element = EmptyElement::at((*x, *y))
                + Circle::new((0, 0), 7, style)
                + Text::new(format!("{}", i + 1), (6, -6 - 13 * near), font);
            chart.draw_series(std::iter::once(element)).map_err(err)?;
        }
        for (i, ((name, _, _, _, capped), c)) in self.points.iter().zip(&colors).enumerate() {
            let (x, y) = (100 + (i % 2) as i32 * 480, 4 + (i / 2) as i32 * 20);
            let style = if *capped { c.stroke_width(2) } else { c.filled() };
            key.draw(&Circle::new((x, y + 7), 6, style)).map_err(err)?;
            let text = if *capped {
                format!("{}  {name}: bound shown, still accepted at the probe's cap", i + 1)
            } else {
                format!("{}  {name}", i + 1)
            };
            key.draw(&Text::new(text, (x + 12, y), (FONT, 13))).map_err(err)?;
        }
        Ok(())
    }
}

/// Lines against a numeric x (sweeps).
struct Lines {
    title: String,
    x_desc: String,
    y_desc: String,
    log_x: bool,
    series: Vec<Series>,
}

impl Chart for Lines {
    fn height(&self) -> u32 {
        520
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let xs = self.series.iter().flat_map(|s| s.2.iter().map(|p| p.0));
        let (xlo, xhi) = xs.fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
        let ymax = self.series.iter().flat_map(|s| s.2.iter().map(|p| p.1)).fold(0.0, f64::max).max(1e-6) * 1.2;
        let mut builder = ChartBuilder::on(root);
        builder.caption(&self.title, (FONT, 20)).margin(12).x_label_area_size(45).y_label_area_size(90);
        let xlo = if xlo == f64::MAX { 1.0 } else { xlo };
        macro_rules! body {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(self.x_desc.as_str())
                    .y_desc(self.y_desc.as_str())
                    .x_label_formatter(&axis)
                    .label_style((FONT, 13))
                    .axis_desc_style((FONT, 14))
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
                    .label_font((FONT, 12))
                    .draw()
                    .map_err(err)
            }};
        }
        if self.log_x {
            body!(builder.build_cartesian_2d((xlo * 0.8..xhi * 1.25).log_scale(), 0f64..ymax).map_err(err)?)
        } else {
            body!(builder.build_cartesian_2d(xlo * 0.9..xhi * 1.1, 0f64..ymax).map_err(err)?)
        }
    }
}

fn per_config(cases: &[&Case], value: impl Fn(&Case) -> f64) -> Vec<Row> {
    cases.iter().map(|c| Row { label: c.target.id.clone(), segments: vec![(value(c), case_color(c))] }).collect()
}

fn strategy_legend(cases: &[&Case]) -> Vec<(String, RGBColor)> {
    let mut out: Vec<(String, RGBColor)> = Vec::new();
    for c in cases {
        let spec = &c.target.spec;
        let name = match (spec.denylist, spec.store) {
            (Some(d), _) => format!("jwt + {d} denylist"),
            (None, Some(s)) => format!("{} on {s}", spec.strategy),
            (None, None) => spec.strategy.to_string(),
        };
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, case_color(c)));
        }
    }
    out
}

/// Renders every chart the results support; returns the file names written.
pub fn render(r: &Results, dir: &Path) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let run = format!("run {}", r.run_id);
    let mut files = Vec::new();
    let closed = r.closed_browse();
    if !closed.is_empty() {
        let legend = strategy_legend(&closed);
        files.extend(write(
            &Bars {
                title: format!("Saturation throughput, browse (closed) — {run}"),
                x_desc: "requests per second (load generator and target share the machine)".into(),
                rows: per_config(&closed, |c| c.throughput_rps),
                legend: legend.clone(),
            },
            dir,
            "throughput",
        )?);
        files.extend(write(
            &Bars {
                title: format!("Requests per second per core of target CPU, browse (closed) — {run}"),
                x_desc: "1e6 / target CPU µs per request".into(),
                rows: per_config(&closed, |c| c.req_per_core_s.unwrap_or(0.0)),
                legend: legend.clone(),
            },
            dir,
            "req_per_core",
        )?);
        files.extend(write(
            &Bars {
                title: format!("Store operations per request, browse (closed) — {run}"),
                x_desc: "store operations per request".into(),
                rows: per_config(&closed, |c| c.store_ops_per_request),
                legend,
            },
            dir,
            "store_ops",
        )?);
        let (auth, rest_in, rest_out) = (RGBColor(214, 39, 40), RGBColor(158, 202, 225), RGBColor(49, 130, 189));
        let rows = closed
            .iter()
            .flat_map(|c| {
                let b = &c.bytes_per_request;
                [
                    Row {
                        label: format!("{} · in", c.target.id),
                        segments: vec![(b.auth_received, auth), ((b.received - b.auth_received).max(0.0), rest_in)],
                    },
                    Row {
                        label: format!("{} · out", c.target.id),
                        segments: vec![(b.auth_sent, auth), ((b.sent - b.auth_sent).max(0.0), rest_out)],
                    },
                ]
            })
            .collect();
        files.extend(write(
            &Bars {
                title: format!("Bytes on the wire per request, browse (closed) — {run}"),
                x_desc: "bytes per request, counted on the target's sockets".into(),
                rows,
                legend: vec![
                    ("auth material (token / cookie)".into(), auth),
                    ("rest of request".into(), rest_in),
                    ("rest of response".into(), rest_out),
                ],
            },
            dir,
            "bytes",
        )?);
        let (t, s, l) = (RGBColor(31, 119, 180), RGBColor(44, 160, 44), RGBColor(189, 189, 189));
        files.extend(write(
            &Bars {
                title: format!("CPU µs per request, browse (closed) — {run}"),
                x_desc: "CPU microseconds per request (from /proc)".into(),
                rows: closed
                    .iter()
                    .map(|c| Row {
                        label: c.target.id.clone(),
                        segments: vec![
                            (c.cpu_us_per_request.target, t),
                            (c.cpu_us_per_request.store.unwrap_or(0.0), s),
                            (c.cpu_us_per_request.loadgen, l),
                        ],
                    })
                    .collect(),
                legend: vec![
                    ("target".into(), t),
                    ("store (0 or unknown when external)".into(), s),
                    ("load generator".into(), l),
                ],
            },
            dir,
            "cpu",
        )?);
    }
    for model in [ModelKind::Closed, ModelKind::Open] {
        let series: Vec<_> = r
            .cases
            .iter()
            .filter(|c| c.load.scenario == ScenarioKind::Browse && c.load.model_kind() == model)
            .map(|c| Ok((c.target.id.clone(), case_color(c), percentile_points(c)?)))
            .collect::<anyhow::Result<_>>()?;
        if !series.is_empty() {
            files.extend(write(
                &Curves {
                    title: format!("Latency by percentile, browse ({} model) — {run}", model_name(model)),
                    series,
                },
                dir,
                &format!("latency_{}", model_name(model)),
            )?);
        }
    }
    let points: Vec<_> = r
        .probes
        .iter()
        .filter_map(|p| {
            let c = closed.iter().find(|c| c.target.id == p.target.id)?;
            let capped = p.revocation.measured_s.is_none();
            let y = p.revocation.measured_s.unwrap_or(p.revocation.bound_s as f64).max(WINDOW_FLOOR_S);
            Some((p.target.id.clone(), case_color(c), c.req_per_core_s?, y, capped))
        })
        .collect();
    if !points.is_empty() {
        files.extend(write(
            &Scatter { title: format!("Security window against speed — {run}"), points },
            dir,
            "security",
        )?);
    }
    files.extend(sweeps(r, dir, &run)?);
    Ok(files)
}

fn model_name(m: ModelKind) -> &'static str {
    match m {
        ModelKind::Closed => "closed",
        ModelKind::Open => "open",
    }
}

fn sweeps(r: &Results, dir: &Path, run: &str) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    let mut by_store: std::collections::BTreeMap<StoreKind, Vec<(f64, f64, f64)>> = Default::default();
    for c in r.cases.iter().filter(|c| {
        let spec = &c.target.spec;
        spec.strategy == StrategyKind::Hybrid && c.load.scenario == ScenarioKind::Refresh && spec.alg == Alg::Hs256
    }) {
        let Some(store) = c.target.spec.store else { continue };
        let ttl = c.target.spec.ttls.access.0.as_secs_f64();
        let window =
            r.probe(&c.target.id).map_or(f64::NAN, |p| p.revocation.measured_s.unwrap_or(p.revocation.bound_s as f64));
        by_store.entry(store).or_default().push((ttl, c.store_ops_per_request, window));
    }
    by_store.retain(|_, v| v.len() >= 2);
    if !by_store.is_empty() {
        let series = |f: fn(&(f64, f64, f64)) -> f64| {
            by_store
                .iter()
                .map(|(s, v)| {
                    let mut pts: Vec<(f64, f64)> = v.iter().map(|p| (p.0, f(p))).filter(|p| p.1.is_finite()).collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let spec = TargetSpec::stored(StrategyKind::Hybrid, *s, Alg::Hs256);
                    (format!("hybrid on {s}"), color(&spec), pts)
                })
                .collect()
        };
        files.extend(write(
            &Lines {
                title: format!("Hybrid: store operations per request against access TTL (refresh scenario) — {run}"),
                x_desc: "access token TTL, s (log)".into(),
                y_desc: "store operations per request".into(),
                log_x: true,
                series: series(|p| p.1),
            },
            dir,
            "sweep_ttl_store_ops",
        )?);
        files.extend(write(
            &Lines {
                title: format!("Hybrid: revocation window against access TTL — {run}"),
                x_desc: "access token TTL, s (log)".into(),
                y_desc: "revocation window, s (measured, or bound when capped)".into(),
                log_x: true,
                series: series(|p| p.2),
            },
            dir,
            "sweep_ttl_window",
        )?);
    }
    let algs: Vec<&Case> = r
        .closed_browse()
        .into_iter()
        .filter(|c| c.target.spec.strategy == StrategyKind::Jwt && c.target.spec.denylist.is_none())
        .filter(|c| c.req_per_core_s.is_some())
        .collect();
    if algs.len() >= 2 {
        files.extend(write(
            &Bars {
                title: format!("jwt: requests per core-second by algorithm, browse (closed) — {run}"),
                x_desc: "1e6 / target CPU µs per request".into(),
                rows: algs
                    .iter()
                    .map(|c| Row {
                        label: c.target.spec.alg.to_string(),
                        segments: c.req_per_core_s.map(|v| (v, case_color(c))).into_iter().collect(),
                    })
                    .collect(),
                legend: Vec::new(),
            },
            dir,
            "sweep_alg",
        )?);
    }
    Ok(files)
}

/// One configuration in the auth-cost chart: its auth work and, when the run had it, the whole request.
pub struct Bar {
    pub label: String,
    pub auth: f64,
    /// The auth work includes a store round trip, measured with lookups in flight.
    pub round_trip: bool,
    pub whole: Option<f64>,
}

/// Auth work per request (microbenchmark) right above the whole request's target CPU (load test).
pub fn auth_cost(bars: &[Bar], run: &str, dir: &Path, name: &str) -> anyhow::Result<Vec<String>> {
    let (auth, trip, whole) = (RGBColor(230, 85, 13), RGBColor(253, 174, 107), RGBColor(150, 150, 150));
    let mut rows = Vec::new();
    for b in bars {
        let c = if b.round_trip { trip } else { auth };
        rows.push(Row { label: format!("{} · auth", b.label), segments: vec![(b.auth, c)] });
        if let Some(w) = b.whole {
            rows.push(Row { label: format!("{} · request", b.label), segments: vec![(w, whole)] });
        }
    }
    let mut legend = vec![("auth work (microbenchmark)".to_owned(), auth)];
    if bars.iter().any(|b| b.round_trip) {
        legend.push(("auth, store lookups in flight".to_owned(), trip));
    }
    legend.push(("whole request (load test)".to_owned(), whole));
    write(
        &Bars {
            title: format!("Auth work per request next to the whole request — {run}"),
            x_desc: "CPU µs per request: auth = thread CPU in a microbenchmark; request = target CPU under load".into(),
            rows,
            legend,
        },
        dir,
        name,
    )
}
