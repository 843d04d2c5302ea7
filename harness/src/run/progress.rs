//! What a person watching `authbench run` sees: a bar per case and one line per finished case
//! or probe.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::interrupt;
use crate::model::probe::{ProbeResult, WindowResult};
use crate::model::results::{Case, STEAL_WARNING_SHARE};

/// A bar for one case: warm-up plus window, in tenths of a second.
pub fn bar(len: Duration, id: &str, n: usize, total: usize) -> ProgressBar {
    let pb = ProgressBar::new((len.as_secs_f64() * 10.0) as u64);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>9} {bar:30.cyan/blue} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_prefix(format!("[{n}/{total}]"));
    pb.set_message(format!("{id}: starting"));
    pb
}

/// Sleeps `d` while advancing the bar; false when Ctrl-C cut it short.
pub async fn sleep_watching(d: Duration, pb: &ProgressBar) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if interrupt::is_set() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100).min(end.saturating_duration_since(Instant::now()))).await;
        pb.inc(1);
    }
    true
}

fn fmt_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// What the window's CPU shares warn about, or nothing.
fn share_warnings(c: &Case) -> String {
    let Some(s) = &c.shares else { return String::new() };
    let mut out = String::new();
    if s.loadgen_bound() {
        out.push_str(&format!(
            " — LOAD-GENERATOR BOUND (load generator {:.2} of a core, target {:.2}): req/s is the generator's limit",
            s.loadgen, s.target
        ));
    }
    if let Some(steal) = s.steal.filter(|_| s.steal_warning()) {
        out.push_str(&format!(
            " — steal {:.1} % of the machine's CPU (above {:.0} %): figures suspect",
            steal * 100.0,
            STEAL_WARNING_SHARE * 100.0
        ));
    }
    out
}

/// The one-line summary printed for each finished case.
pub fn summary(c: &Case) -> String {
    format!(
        "✓ {}: {:.0} req/s, p50 {} p99 {}, {:.2} store ops/req, target {:.1} µs CPU/req{}, {} B/req on the wire ({:.0} auth as header text), {} errors{}",
        c.id,
        c.throughput_rps,
        fmt_us(c.latency_us.p50 as f64),
        fmt_us(c.latency_us.p99 as f64),
        c.store_ops_per_request,
        c.cpu_us_per_request.target,
        c.req_per_core_s.map(|r| format!(" ({r:.0} req/core·s)")).unwrap_or_default(),
        c.bytes_per_request.total().round(),
        c.bytes_per_request.auth,
        c.error_count(),
        share_warnings(c)
    ) + &super::population::summary(c)
}

fn window_text(w: &WindowResult, cap: f64) -> String {
    match w.measured_s {
        Some(s) => format!("{s:.2} s (bound {} s)", w.bound_s),
        None => format!("still accepted after {cap:.0} s (bound {} s)", w.bound_s),
    }
}

/// The one-line summary printed for each finished probe.
pub fn probe_summary(p: &ProbeResult) -> String {
    format!(
        "✓ {}/probe: revoked user served for {}; demoted admin for {}; logged-out user for {}",
        p.target.id,
        window_text(&p.revocation, p.cap_s),
        window_text(&p.stale_role, p.cap_s),
        p.logout.as_ref().map_or_else(|| "not measured".to_owned(), |w| window_text(w, p.cap_s))
    )
}
