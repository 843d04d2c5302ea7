//! What every chart shares: the font, colours by configuration, sizes, axis text and the writer
//! that draws one chart to SVG and PNG.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};

use crate::report::document::ChartRef;

/// Font used to measure and rasterise chart text (SVGs reference the family by name).
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// The family name charts ask for; [`font`] registers [`FONT_PATH`] under it.
pub(super) const FONT: &str = "sans-serif";
/// Width of every chart, pixels.
pub(super) const WIDTH: u32 = 1100;
/// Height of one bar row, pixels.
pub(super) const ROW: u32 = 26;
/// Title, axis tick and axis description sizes.
pub(super) const TITLE_PT: u32 = 20;
pub(super) const LABEL_PT: u32 = 13;
pub(super) const DESC_PT: u32 = 14;
pub(super) const SMALL_PT: u32 = 12;

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
    use StoreKind::{Memory, Postgres, Redis, RedisCluster};
    match (spec.strategy, spec.store, spec.denylist) {
        (StrategyKind::Jwt, _, Some(Memory)) => RGBColor(188, 160, 220),
        (StrategyKind::Jwt, _, Some(Redis | RedisCluster)) => RGBColor(148, 103, 189),
        (StrategyKind::Jwt, _, Some(Postgres)) => RGBColor(84, 39, 143),
        (StrategyKind::Jwt, _, None) => RGBColor(31, 119, 180),
        (StrategyKind::Session, Some(Memory), _) => RGBColor(116, 196, 118),
        (StrategyKind::Session, Some(Redis), _) => RGBColor(44, 160, 44),
        (StrategyKind::Session, _, _) => RGBColor(0, 100, 0),
        (StrategyKind::Hybrid, Some(Memory), _) => RGBColor(253, 174, 107),
        (StrategyKind::Hybrid, Some(Redis), _) => RGBColor(255, 127, 14),
        (StrategyKind::Hybrid, _, _) => RGBColor(166, 86, 40),
        (StrategyKind::None, _, _) => RGBColor(127, 127, 127),
    }
}

/// A strategy's hue (0–1 around the colour wheel) and saturation: every configuration of one
/// strategy shares them, so a chart reads by strategy first.
fn hue(strategy: StrategyKind) -> (f64, f64) {
    match strategy {
        StrategyKind::Jwt => (0.58, 0.65),
        StrategyKind::Session => (0.33, 0.55),
        StrategyKind::Hybrid => (0.07, 0.85),
        StrategyKind::None => (0.0, 0.0),
    }
}

/// One colour per configuration, in order: the strategy's hue, configurations of one strategy
/// spread from dark to light and nudged around the hue, so 20+ configurations stay apart.
pub(super) fn palette(specs: &[&TargetSpec]) -> Vec<RGBColor> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let same = |t: &&&TargetSpec| t.strategy == s.strategy;
            let (k, n) = (specs[..i].iter().filter(same).count(), specs.iter().filter(same).count());
            shade_of(s.strategy, k, n)
        })
        .collect()
}

/// The k-th of n colours of a strategy.
fn shade_of(strategy: StrategyKind, k: usize, n: usize) -> RGBColor {
    let (h, sat) = hue(strategy);
    let t = if n > 1 { k as f64 / (n - 1) as f64 } else { 0.5 };
    let nudge = ((k % 3) as f64 - 1.0) * 0.03;
    let (r, g, b) = HSLColor((h + nudge).rem_euclid(1.0), sat, 0.28 + 0.42 * t).rgb();
    RGBColor(r, g, b)
}

/// A strategy's middle shade, for a key that names strategies.
pub(super) fn strategy_color(strategy: StrategyKind) -> RGBColor {
    shade_of(strategy, 1, 3)
}

/// Something drawable on any plotters backend.
pub(super) trait Chart {
    fn height(&self) -> u32;
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// A plotters error as text.
pub(super) fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draws `chart` to the files `r` names in `dir` and hands `r` (question and answer) back.
pub(super) fn write_answered<C: Chart>(chart: &C, dir: &Path, r: ChartRef) -> anyhow::Result<ChartRef> {
    // Both backends measure text with the registered font, the SVG one to lay labels out.
    font()?;
    let stem = r.stem.as_str();
    let size = (WIDTH, chart.height());
    let svg = dir.join(format!("{stem}.svg"));
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        chart.draw(&root).map_err(|e| anyhow::anyhow!("drawing {stem}.svg: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("writing {}: {e:?}", svg.display()))?;
    }
    let png = dir.join(format!("{stem}.png"));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        chart.draw(&root).map_err(|e| anyhow::anyhow!("drawing {stem}.png: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("writing {}: {e:?}", png.display()))?;
    }
    Ok(r)
}

/// Colour swatches with names, three to a line.
pub(super) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor)],
) -> Result<(), String> {
    for (i, (name, c)) in items.iter().enumerate() {
        let (x, y) = (320 + (i % 3) as i32 * 250, 4 + (i / 3) as i32 * 22);
        area.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], c.filled())).map_err(err)?;
        area.draw(&Text::new(name.clone(), (x + 20, y), (FONT, LABEL_PT))).map_err(err)?;
    }
    Ok(())
}

/// The key of a chart's named series, in one style for every chart.
pub(super) fn series_key<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, SMALL_PT))
        .draw()
        .map_err(err)
}

/// Axis tick text: no spurious decimals on large values, enough on small ones.
pub(super) fn axis(v: &f64) -> String {
    if v.abs() >= 1.0 || *v == 0.0 {
        format!("{v:.0}")
    } else {
        // Three decimals at most, trailing zeros dropped: 0.6 not 0.6000000000000001.
        let t = format!("{v:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A figure for a caption with three significant digits, so 0.00014 does not read as 0.00.
pub(super) fn sig(v: f64) -> String {
    if v == 0.0 || v.abs() >= 10.0 {
        return crate::report::document::num(v);
    }
    let digits = (2.0 - v.abs().log10().floor()).max(0.0) as usize;
    format!("{v:.digits$}")
}

/// Gives repeated colours distinct shades, so several configurations of one strategy stay apart.
pub(super) fn distinct(colors: &[RGBColor]) -> Vec<RGBColor> {
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
            shade(*c, k)
        })
        .collect()
}

/// The k-th variant of a colour: alternately lighter and darker, further each time.
fn shade(c: RGBColor, k: u32) -> RGBColor {
    let f = 0.28 * f64::from(k.div_ceil(2));
    let mix = |x: u8, target: f64| (f64::from(x) + (target - f64::from(x)) * f.min(0.8)).round() as u8;
    let t = if k % 2 == 1 { 255.0 } else { 0.0 };
    RGBColor(mix(c.0, t), mix(c.1, t), mix(c.2, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_figures_keep_three_significant_digits() {
        assert_eq!(sig(0.000140030), "0.000140");
        assert_eq!(sig(5.5486), "5.55");
        assert_eq!(sig(0.0), "0.00");
        assert_eq!(sig(123.4), "123");
    }

    #[test]
    fn axis_text_has_no_float_noise() {
        assert_eq!(axis(&0.6000000000000001), "0.6");
        assert_eq!(axis(&1234.5), "1234");
        assert_eq!(axis(&0.0), "0");
    }

    #[test]
    fn configurations_of_one_strategy_share_a_hue_but_differ() {
        use authbench_targets::token::alg::Alg;
        let specs = [
            TargetSpec::jwt(Alg::Hs256),
            TargetSpec::jwt(Alg::Rs256),
            TargetSpec::jwt(Alg::Es256),
            TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
        ];
        let refs: Vec<&TargetSpec> = specs.iter().collect();
        let p = palette(&refs);
        assert!(p[0] != p[1] && p[1] != p[2] && p[0] != p[2]);
        // Blue dominates every jwt shade, green the session one.
        assert!(p[..3].iter().all(|c| c.2 > c.0));
        assert!(p[3].1 > p[3].0 && p[3].1 > p[3].2);
    }

    #[test]
    fn repeated_colours_get_distinct_shades() {
        let c = RGBColor(100, 100, 100);
        let d = distinct(&[c, c, c]);
        assert_eq!(d[0], c);
        assert!(d[1] != c && d[2] != c && d[1] != d[2]);
    }
}
