//! `authbench plan`: a capacity plan for a target request rate, every line traceable to a
//! measured figure with its formula shown.

use std::fmt::{self, Write as _};

use authbench_targets::spec::TargetSpec;

use crate::model::results::{Case, Results};

/// What the user plans for.
pub struct PlanInput {
    pub rps: f64,
    pub active_sessions: u64,
    /// Fraction of a core a plan may use before it needs another (headroom).
    pub utilization: f64,
    pub egress_usd_per_gb: f64,
}

/// One strategy's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub target: String,
    pub app_cores: f64,
    pub store_cores: Option<f64>,
    pub store_ops_s: f64,
    pub session_storage: SessionStorage,
    pub ingress_gb_month: f64,
    pub egress_gb_month: f64,
    pub egress_usd_month: f64,
    pub window: Window,
}

/// Store memory for the planned active sessions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SessionStorage {
    /// The configuration stores nothing (jwt without a denylist).
    Nothing,
    /// Active sessions × the bytes per record the run measured.
    Bytes(f64),
    /// The configuration stores records, but the run did not measure their size.
    NotMeasured,
}

impl SessionStorage {
    fn of(spec: &TargetSpec, bytes_per_record: Option<f64>, active_sessions: u64) -> SessionStorage {
        match (bytes_per_record, spec.needed_store()) {
            (Some(b), _) => SessionStorage::Bytes(active_sessions as f64 * b),
            (None, None) => SessionStorage::Nothing,
            (None, Some(_)) => SessionStorage::NotMeasured,
        }
    }
}

impl fmt::Display for SessionStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionStorage::Nothing => f.write_str("none"),
            SessionStorage::Bytes(b) => write!(f, "{:.1} MB", b / 1e6),
            SessionStorage::NotMeasured => f.write_str("not measured"),
        }
    }
}

/// How long a revoked credential keeps working, from the run's security probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// The probe saw the last credential refused after `s` seconds.
    Measured { s: f64, bound_s: u64 },
    /// A credential was still accepted when the probe stopped waiting: the TTL bound applies.
    Bound { bound_s: u64, cap_s: f64 },
    /// The run has no probe for this configuration.
    NotProbed,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Measured { s, bound_s } => write!(f, "{s:.2} s measured (bound {bound_s} s)"),
            Window::Bound { bound_s, cap_s } => write!(f, "up to {bound_s} s (bound; probe cap {cap_s:.0} s reached)"),
            Window::NotProbed => f.write_str("not probed"),
        }
    }
}

const SECONDS_PER_MONTH: f64 = 30.0 * 86_400.0;

/// Computes the plan from the closed-model browse case of each configuration.
pub fn compute(r: &Results, input: &PlanInput) -> Vec<Line> {
    r.closed_browse().into_iter().map(|c| line(r, c, input)).collect()
}

fn line(r: &Results, c: &Case, i: &PlanInput) -> Line {
    let per_core = 1e6 * i.utilization;
    let b = &c.bytes_per_request;
    let probe = r.probe(&c.target.id);
    let per_record = probe.and_then(|p| p.storage.as_ref()).map(|s| s.bytes_per_record);
    let window = probe.map_or(Window::NotProbed, |p| match p.revocation.measured_s {
        Some(s) => Window::Measured { s, bound_s: p.revocation.bound_s },
        None => Window::Bound { bound_s: p.revocation.bound_s, cap_s: p.cap_s },
    });
    Line {
        target: c.target.id.clone(),
        app_cores: i.rps * c.cpu_us_per_request.target / per_core,
        store_cores: c.cpu_us_per_request.store.map(|s| i.rps * s / per_core),
        store_ops_s: i.rps * c.store_ops_per_request,
        session_storage: SessionStorage::of(&c.target.spec, per_record, i.active_sessions),
        ingress_gb_month: i.rps * b.received * SECONDS_PER_MONTH / 1e9,
        egress_gb_month: i.rps * b.sent * SECONDS_PER_MONTH / 1e9,
        egress_usd_month: i.rps * b.sent * SECONDS_PER_MONTH / 1e9 * i.egress_usd_per_gb,
        window,
    }
}

/// The plan as Markdown, formulas included.
pub fn render(r: &Results, input: &PlanInput) -> String {
    let lines = compute(r, input);
    let mut s = format!(
        "# Capacity plan for {:.0} req/s (run {})\n\nEvery figure is this run's measurement times the planned rate; \
         cores assume {:.0} % utilisation. Measured on: {} cores, {}.\n\n",
        input.rps,
        r.run_id,
        input.utilization * 100.0,
        r.environment.cores.map_or_else(|| "unknown".to_owned(), |n| n.to_string()),
        r.environment.cpu_model.as_deref().unwrap_or("unknown CPU")
    );
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.target.clone(),
                format!("{:.2}", l.app_cores),
                l.store_cores.map_or("unknown (external store)".into(), |c| format!("{c:.2}")),
                format!("{:.0}", l.store_ops_s),
                l.session_storage.to_string(),
                format!("{:.1}", l.ingress_gb_month),
                format!("{:.1}", l.egress_gb_month),
                format!("{:.2}", l.egress_usd_month),
                l.window.to_string(),
            ]
        })
        .collect();
    s.push_str(&super::render::markdown::table(
        &[
            "target",
            "app cores",
            "store cores",
            "store ops/s",
            "session storage",
            "ingress GB/month",
            "egress GB/month",
            "egress $/month",
            "revocation window",
        ],
        &rows,
    ));
    let _ = write!(
        s,
        "\n## Formulas\n\n\
         - app cores = rps × target CPU µs/request ÷ (1e6 × utilisation)\n\
         - store cores = rps × store CPU µs/request ÷ (1e6 × utilisation)\n\
         - store ops/s = rps × store operations/request\n\
         - session storage = active sessions ({}) × bytes per stored record, measured by the run (store growth after \
           creating many sessions or refresh families; the report lists it per configuration); none for jwt without a \
           denylist, which stores nothing; not measured where the run has no record size (the probe sizes sessions and refresh families, not denylist entries)\n\
         - ingress / egress GB per month = rps × bytes received / sent per request × 2,592,000 s ÷ 1e9\n\
         - egress $ per month = egress GB × {} $/GB\n\
         - revocation window: from the run's security probe\n",
        input.active_sessions, input.egress_usd_per_gb
    );
    s
}
