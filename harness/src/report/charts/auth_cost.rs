//! The auth-cost chart: each configuration's auth work per request (microbenchmark) right above
//! the whole request's target CPU (load test).

use std::path::Path;

use plotters::style::RGBColor;

use super::bars::{Bars, Row, Segment};
use super::style::write_answered;
use crate::report::document::{num, ChartRef};

/// One configuration in the chart: its auth work and, when the run had it, the whole request.
pub struct Bar {
    pub label: String,
    pub auth: f64,
    /// The auth work includes a store round trip, measured with lookups in flight.
    pub round_trip: bool,
    /// Target CPU per request in the load test; None when the run did not measure this configuration.
    pub whole: Option<f64>,
}

const AUTH: RGBColor = RGBColor(230, 85, 13);
const TRIP: RGBColor = RGBColor(253, 174, 107);
const WHOLE: RGBColor = RGBColor(150, 150, 150);

/// The question the chart answers, its caption.
pub const CAPTION: &str = "How much of a request's CPU is the authentication itself?";
/// The chart's title, with the run.
const TITLE: &str = "Auth work per request next to the whole request";

/// Per configuration, the auth work against the whole request's target CPU.
fn answer(bars: &[Bar]) -> String {
    let words = |b: &Bar| match b.whole {
        Some(w) if w > 0.0 => {
            format!("{} {} of {} µs ({:.0} %)", b.label, num(b.auth), num(w), b.auth / w * 100.0)
        }
        _ => format!("{} {} µs of a request not measured", b.label, num(b.auth)),
    };
    format!(
        "auth work per request (microbenchmark) of the whole: {}",
        bars.iter().map(words).collect::<Vec<_>>().join("; ")
    )
}

fn rows(bars: &[Bar]) -> Vec<Row> {
    let mut rows = Vec::new();
    for b in bars {
        let color = if b.round_trip { TRIP } else { AUTH };
        rows.push(Row::new(format!("{} · auth", b.label), vec![Segment::whole(Some(b.auth), color)]));
        if let Some(w) = b.whole {
            rows.push(Row::new(format!("{} · request", b.label), vec![Segment::whole(Some(w), WHOLE)]));
        }
    }
    rows
}

/// Draws the chart as `<stem>.svg`/`.png` in `dir`; None (nothing written) without bars.
pub fn draw(bars: &[Bar], run: &str, dir: &Path, stem: &str) -> anyhow::Result<Option<ChartRef>> {
    if bars.is_empty() {
        return Ok(None);
    }
    let mut legend = vec![("auth work (microbenchmark)".to_owned(), AUTH)];
    if bars.iter().any(|b| b.round_trip) {
        legend.push(("auth, store lookups in flight".to_owned(), TRIP));
    }
    legend.push(("whole request (load test)".to_owned(), WHOLE));
    let chart = Bars {
        title: format!("{TITLE} — {run}"),
        x_desc: "CPU µs per request: auth = thread CPU in a microbenchmark; request = target CPU under load".into(),
        rows: rows(bars),
        legend,
    };
    write_answered(&chart, dir, ChartRef::new(stem, CAPTION, answer(bars))).map(Some)
}
