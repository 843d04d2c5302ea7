//! "Users like real users": the population cases (users that log in, think, leave and come back)
//! with hybrid's store-touching share measured against the formula the client's policy implies,
//! and the refresh scenario's rotations with its replay of spent refresh tokens.

use crate::model::population::{Analytic, StoreTouch};
use crate::model::results::{Case, CaseRole, Results};
use crate::report::document::{Block, ChartRef, Section, Text};

/// A share as a percentage, or "—" when it was not measured.
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{:.2} %", x * 100.0))
}

/// "think 30s, 50 requests per session, time-scaled ×60: access TTL 15m → 15s, think time 30s →
/// 500ms": what a population load adds to its description; None for other loads.
pub(crate) fn load_note(c: &Case) -> Option<String> {
    let p = c.load.population?;
    let scaled = c.population.as_ref().and_then(|r| r.scaling.note()).map(|n| format!(", {n}")).unwrap_or_default();
    Some(format!("think {}, {} requests per session{scaled}", p.think_time, p.session_requests))
}

const HEAD: [&str; 12] = [
    "configuration",
    "users",
    "think time",
    "session, requests",
    "access TTL",
    "time scale",
    "req/s",
    "p50 µs",
    "p99 µs",
    "store-touching share: measured",
    "analytic",
    "refresh share: measured / analytic",
];

/// The access TTL as configured, and as it ran when time-scaled.
fn access(c: &Case) -> String {
    match c.population.as_ref().and_then(|p| p.scaling.access_ttl) {
        Some(a) if a.run != a.configured => format!("{} (ran {})", a.configured, a.run),
        Some(a) => a.configured.to_string(),
        None => "—".to_owned(),
    }
}

fn row(c: &Case) -> Option<Vec<String>> {
    let p = c.load.population?;
    let record = c.population.as_ref()?;
    let touch: Option<&StoreTouch> = c.store_touch.as_ref();
    let analytic: Option<Analytic> = record.analytic;
    let scale = record.scaling.note().unwrap_or_else(|| "none (real time)".to_owned());
    Some(vec![
        c.target.id.clone(),
        c.load.users.to_string(),
        p.think_time.to_string(),
        p.session_requests.to_string(),
        access(c),
        scale,
        format!("{:.0}", c.throughput_rps),
        c.latency_us.p50.to_string(),
        c.latency_us.p99.to_string(),
        pct(touch.map(|t| t.store_share)),
        pct(analytic.map(|a| a.store_share)),
        format!("{} / {}", pct(touch.map(|t| t.refresh_share)), pct(analytic.map(|a| a.refresh_share))),
    ])
}

fn explanation() -> Text {
    Text::plain(
        "Each virtual user arrives (spread over the warm-up), logs in, and makes requests with an exponential think \
         time between them; after a geometric number of requests (mean: the session length) it logs out, thinks, \
         and logs in again, so users come and go while the population stays the same size. Each user keeps one \
         keep-alive connection. A hybrid client refreshes just before the first request at or after 80 % of its \
         access token's lifetime. With D = 0.8 · access TTL, t the mean think time and k the mean session length, \
         p = 1/k and q = exp(−p·D/t): a session holds E[R] = q / (1 − (1 − p)·q) refreshes, so the ",
    )
    .strong("analytic store-touching share")
    .and(
        " is (E[R] + 2) / (k + 2 + E[R]) (refreshes, the login and the logout among every request) and the refresh \
         share E[R] / (k + 2 + E[R]); for long sessions refreshes per API request tend to 1 / (1 + 0.8·TTL/t). The \
         measured shares count the target's own requests by route over the window (every status). A time scale S \
         divides the access TTL and the think time alike, so their ratio, and the shares, are those of the real \
         clocks; the table names the scaling beside each figure measured that way.",
    )
}

/// The refresh scenario's cases: rotations in the window and spent refresh tokens refused.
fn rotations(r: &Results) -> Option<Block> {
    let rows: Vec<Vec<String>> = r
        .cases
        .iter()
        .filter(|c| c.role == CaseRole::Matrix && c.load.scenario == authbench_scenarios::ScenarioKind::Refresh)
        .filter_map(|c| {
            let t = c.store_touch.as_ref()?;
            let replay =
                t.replay.map_or_else(|| "not measured".to_owned(), |p| format!("{}/{}", p.refused, p.presented));
            Some(vec![c.id.clone(), format!("{:.0}", t.refreshes), pct(Some(t.refresh_share)), replay])
        })
        .collect();
    (!rows.is_empty()).then(|| {
        Block::table(&["refresh case", "refreshes in the window", "share of requests", "spent tokens refused"], rows)
    })
}

/// The section; None when the run has neither population cases nor refresh-scenario rotations.
pub fn section(r: &Results, chart: Option<&ChartRef>) -> Option<Section> {
    let rows: Vec<Vec<String>> = r.cases.iter().filter(|c| c.role == CaseRole::Matrix).filter_map(row).collect();
    let rotations = rotations(r);
    if rows.is_empty() && rotations.is_none() {
        return None;
    }
    let mut blocks = Vec::new();
    if !rows.is_empty() {
        blocks.push(Block::Paragraph(explanation()));
        blocks.push(Block::table(&HEAD, rows));
    }
    blocks.extend(chart.cloned().map(Block::Chart));
    if let Some(t) = rotations {
        blocks.push(Block::paragraph(
            "The refresh scenario rotates on every step (a refresh, then one request with the new access token); \
             when it stops, each user presents the refresh token its last rotation spent, which the target must \
             refuse:",
        ));
        blocks.push(t);
    }
    Some(Section::new("Users like real users: population and refresh rotation", blocks))
}
