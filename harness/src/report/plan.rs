//! `authbench plan`: a capacity plan for a target request rate, every line traceable to a
//! measured figure with its formula shown.

use std::fmt::{self, Write as _};
use std::time::Duration;

use authbench_targets::spec::TargetSpec;

use crate::model::ladder::CurvePoint;
use crate::model::pool::{self, PoolUse};
use crate::model::probe::WindowResult;
use crate::model::results::{Case, Results};

/// The share of each core a plan fills before it buys another, unless told (`--utilization`).
pub const DEFAULT_UTILIZATION: f64 = 0.6;

/// What the user plans for.
pub struct PlanInput {
    pub rps: f64,
    pub active_sessions: u64,
    /// Fraction of a core a plan may use before it needs another (headroom).
    pub utilization: f64,
    pub egress_usd_per_gb: f64,
    /// Round trip to the store in the deployment (`--store-rtt`); None: each configuration's own
    /// (0 unless the run measured it at a distance).
    pub store_rtt: Option<Duration>,
}

/// One strategy's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub target: String,
    pub app_cores: f64,
    /// The target CPU per request `app_cores` stands on, and where it was read.
    pub app_cpu: AppCpu,
    pub store_cores: Option<f64>,
    pub store_ops_s: f64,
    pub session_storage: SessionStorage,
    pub ingress_gb_month: f64,
    pub egress_gb_month: f64,
    pub egress_usd_month: f64,
    pub window: Window,
    pub pool: PoolPlan,
}

/// Store connections a configuration needs at the planned rate, with the inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolPlan {
    /// No store outside the target (jwt without denylist, memory stores).
    NoPool,
    /// Redis: the client pipelines on each connection, so the pool does not cap the rate.
    Pipelined,
    /// rps × store ops/request × (RTT + service time) ÷ utilization (Little's law, with headroom).
    Connections { connections: f64, ops_s: f64, rtt: Duration, rtt_given: bool, service: pool::ServiceTime },
    /// The run has no RTT-0 store latency for this configuration.
    NotMeasured,
}

impl PoolPlan {
    fn of(r: &Results, c: &Case, i: &PlanInput) -> PoolPlan {
        let spec = &c.target.spec;
        match spec.needed_store().and_then(PoolUse::of) {
            None => return PoolPlan::NoPool,
            Some(PoolUse::Pipelined) => return PoolPlan::Pipelined,
            Some(PoolUse::OneAtATime) => {}
        }
        let Some(service) = pool::service_time(r, spec) else { return PoolPlan::NotMeasured };
        let rtt = i.store_rtt.unwrap_or(spec.store_rtt.0);
        let ops_s = i.rps * c.store_ops_per_request;
        let connections = pool::connections_needed(ops_s, rtt, service.us, i.utilization);
        PoolPlan::Connections { connections, ops_s, rtt, rtt_given: i.store_rtt.is_some(), service }
    }

    /// The table's cell: whole connections, rounded up.
    fn cell(&self) -> String {
        match self {
            PoolPlan::NoPool => "none".into(),
            PoolPlan::Pipelined => "any (pipelined)".into(),
            PoolPlan::Connections { connections, .. } => format!("{:.0}", connections.ceil().max(1.0)),
            PoolPlan::NotMeasured => "not measured".into(),
        }
    }
}

impl fmt::Display for PoolPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolPlan::NoPool => f.write_str("no store connections"),
            PoolPlan::Pipelined => f.write_str(
                "Redis: fred pipelines commands on every connection, so the round trip adds latency but the pool \
                 puts no ceiling on the rate; a small pool (the default 8) suffices",
            ),
            PoolPlan::Connections { connections, ops_s, rtt, rtt_given, service } => write!(
                f,
                "{connections:.1} connections = {ops_s:.0} store ops/s × ({:.0} µs RTT {} + {:.0} µs service time at \
                 RTT 0 from {}) ÷ utilisation",
                rtt.as_secs_f64() * 1e6,
                if *rtt_given { "(--store-rtt)" } else { "(as measured)" },
                service.us,
                service.case_id
            ),
            PoolPlan::NotMeasured => f.write_str("not measured: the run has no store latency for it at RTT 0"),
        }
    }
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
    /// A credential was still accepted at the probe's cap although the configuration promised a
    /// shorter bound (replicas that do not share a memory store): the window is at least the cap.
    Broken { bound_s: u64, cap_s: f64 },
    /// The run has no probe for this configuration.
    NotProbed,
    /// The `none` floor checks no credential: nothing is ever refused.
    NoAuth,
}

impl Window {
    /// The window a probe measured, or the bound where it stopped waiting.
    pub fn of(w: &WindowResult, cap_s: f64) -> Window {
        match w.measured_s {
            Some(s) => Window::Measured { s, bound_s: w.bound_s },
            None if (w.bound_s as f64) < cap_s => Window::Broken { bound_s: w.bound_s, cap_s },
            None => Window::Bound { bound_s: w.bound_s, cap_s },
        }
    }

    /// Seconds to compare windows by: the measurement, the bound, or the cap a broken bound was
    /// outlived by (a lower bound of that window); None without a probe.
    pub fn seconds(&self) -> Option<f64> {
        match *self {
            Window::Measured { s, .. } => Some(s),
            Window::Bound { bound_s, .. } => Some(bound_s as f64),
            Window::Broken { cap_s, .. } => Some(cap_s),
            Window::NotProbed | Window::NoAuth => None,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Measured { s, bound_s } => write!(f, "{s:.2} s measured (bound {bound_s} s)"),
            Window::Bound { bound_s, cap_s } => write!(f, "up to {bound_s} s (bound; probe cap {cap_s:.0} s reached)"),
            Window::Broken { bound_s, cap_s } => {
                write!(
                    f,
                    "at least {cap_s:.0} s (still accepted at the probe's cap; its {bound_s} s bound did not hold)"
                )
            }
            Window::NotProbed => f.write_str("not probed"),
            Window::NoAuth => f.write_str("never: no authentication (the floor, not an option)"),
        }
    }
}

/// Where a plan's target CPU per request comes from: the CPU curve at the planned utilization, or
/// the saturated closed-loop figure with what the run's ladders say about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AppCpu {
    /// Read from the configuration's ladder at the planned utilization (a share of saturation).
    Curve(CurvePoint),
    /// The closed-loop case's figure; `ladder_range` is the utilization its own ladder measured
    /// when that has no reading at the planned one.
    Saturated { us: f64, bound: Bound, ladder_range: Option<(f64, f64)> },
}

/// What the run's ladders say about a saturated figure standing in for lower utilization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// In each of `ladders` ladders every error-free step below saturation cost more target CPU
    /// per request than the configuration's saturated closed-loop case.
    LowerBound { ladders: usize },
    /// Some step below saturation cost no more than its saturated figure.
    NotABound,
    /// No ladder measured CPU per request below saturation.
    Unknown,
}

impl AppCpu {
    /// Target CPU µs per request.
    pub fn us(&self) -> f64 {
        match self {
            AppCpu::Curve(p) => p.target_us,
            AppCpu::Saturated { us, .. } => *us,
        }
    }
}

fn percent(u: f64) -> String {
    format!("{:.0} %", u * 100.0)
}

impl fmt::Display for AppCpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AppCpu::Curve(p) if p.between.0 == p.between.1 => {
                write!(
                    f,
                    "target CPU {:.1} µs/req read at {} of saturation, measured there",
                    p.target_us,
                    percent(p.utilization)
                )
            }
            AppCpu::Curve(p) => write!(
                f,
                "target CPU {:.1} µs/req read at {} of saturation, between measured {} and {}",
                p.target_us,
                percent(p.utilization),
                percent(p.between.0),
                percent(p.between.1)
            ),
            AppCpu::Saturated { us, bound, ladder_range } => {
                write!(f, "target CPU {us:.1} µs/req at saturation (closed loop), {bound}")?;
                match ladder_range {
                    Some((lo, hi)) => write!(f, "; its ladder measured {} to {} only", percent(lo), percent(hi)),
                    None => Ok(()),
                }
            }
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::LowerBound { ladders } => write!(
                f,
                "saturated lower bound: CPU per request at lower utilization was higher in every ladder \
                 measured ({ladders})"
            ),
            Bound::NotABound => f.write_str(
                "not a bound: in some ladder a step below saturation cost no more CPU per request than saturation",
            ),
            Bound::Unknown => f.write_str("no ladder measured CPU per request at lower utilization"),
        }
    }
}

/// Whether every ladder of the run puts its saturated closed-loop figure under every error-free
/// step below saturation.
fn bound(r: &Results, closed: &[&Case]) -> Bound {
    let mut ladders = 0;
    for l in &r.ladders {
        let Some(c) = closed.iter().find(|c| c.target.id == l.target.id) else { continue };
        let below: Vec<f64> = l
            .steps
            .iter()
            .filter(|s| s.errors == 0 && s.utilization.is_some_and(|u| u < 1.0))
            .map(|s| s.cpu_us_per_request.target)
            .collect();
        if below.iter().any(|cpu| *cpu <= c.cpu_us_per_request.target) {
            return Bound::NotABound;
        }
        ladders += usize::from(!below.is_empty());
    }
    if ladders == 0 {
        Bound::Unknown
    } else {
        Bound::LowerBound { ladders }
    }
}

/// The configuration's CPU curve at `utilization`, else its saturated figure.
fn app_cpu(r: &Results, c: &Case, utilization: f64, bound: Bound) -> AppCpu {
    let ladder = r.ladder(&c.target.id);
    if let Some(p) = ladder.and_then(|l| l.target_cpu_at(utilization)) {
        return AppCpu::Curve(p);
    }
    let measured = ladder.iter().flat_map(|l| l.steps.iter()).filter(|s| s.errors == 0).filter_map(|s| s.utilization);
    let ladder_range =
        measured.fold(None, |acc: Option<(f64, f64)>, u| Some(acc.map_or((u, u), |(lo, hi)| (lo.min(u), hi.max(u)))));
    AppCpu::Saturated { us: c.cpu_us_per_request.target, bound, ladder_range }
}

const SECONDS_PER_MONTH: f64 = 30.0 * 86_400.0;

/// Computes the plan from the closed-model browse case of each configuration and, where it climbed
/// a ladder, its CPU curve.
pub fn compute(r: &Results, input: &PlanInput) -> Vec<Line> {
    let closed = r.closed_browse();
    let bound = bound(r, &closed);
    closed.iter().map(|c| line(r, c, input, bound)).collect()
}

fn line(r: &Results, c: &Case, i: &PlanInput, bound: Bound) -> Line {
    let per_core = 1e6 * i.utilization;
    let b = &c.bytes_per_request;
    let probe = r.probe(&c.target.id);
    let seeded = r.seed(&c.target.id).and_then(|s| s.bytes_per_record);
    let per_record = seeded.or(probe.and_then(|p| p.storage.as_ref()).map(|s| s.bytes_per_record));
    let window = match (c.target.spec.strategy, probe) {
        (authbench_targets::spec::StrategyKind::None, _) => Window::NoAuth,
        (_, None) => Window::NotProbed,
        (_, Some(p)) => Window::of(&p.revocation, p.cap_s),
    };
    let app_cpu = app_cpu(r, c, i.utilization, bound);
    Line {
        target: c.target.id.clone(),
        app_cores: i.rps * app_cpu.us() / per_core,
        app_cpu,
        store_cores: c.cpu_us_per_request.store.map(|s| i.rps * s / per_core),
        store_ops_s: i.rps * c.store_ops_per_request,
        session_storage: SessionStorage::of(&c.target.spec, per_record, i.active_sessions),
        ingress_gb_month: i.rps * b.received * SECONDS_PER_MONTH / 1e9,
        egress_gb_month: i.rps * b.sent * SECONDS_PER_MONTH / 1e9,
        egress_usd_month: i.rps * b.sent * SECONDS_PER_MONTH / 1e9 * i.egress_usd_per_gb,
        window,
        pool: PoolPlan::of(r, c, i),
    }
}

/// App cores, marked "≥" when they stand on a saturated lower bound.
fn app_cores(l: &Line) -> String {
    match l.app_cpu {
        AppCpu::Saturated { bound: Bound::LowerBound { .. }, .. } => format!("≥ {:.2}", l.app_cores),
        AppCpu::Curve(_) | AppCpu::Saturated { .. } => format!("{:.2}", l.app_cores),
    }
}

/// The plan's table, one row per configuration.
fn table(lines: &[Line]) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.target.clone(),
                app_cores(l),
                format!("{:.1}", l.app_cpu.us()),
                l.store_cores.map_or("unknown (external store)".into(), |c| format!("{c:.2}")),
                format!("{:.0}", l.store_ops_s),
                l.pool.cell(),
                l.session_storage.to_string(),
                format!("{:.1}", l.ingress_gb_month),
                format!("{:.1}", l.egress_gb_month),
                format!("{:.2}", l.egress_usd_month),
                l.window.to_string(),
            ]
        })
        .collect();
    super::render::markdown::table(
        &[
            "target",
            "app cores",
            "target CPU µs/req",
            "store cores",
            "store ops/s",
            "store connections",
            "session storage",
            "ingress GB/month",
            "egress GB/month",
            "egress $/month",
            "revocation window",
        ],
        &rows,
    )
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
    s.push_str(&table(&lines));
    s.push_str("\n## Target CPU per request\n\n");
    for l in &lines {
        let _ = writeln!(s, "- {}: {}", l.target, l.app_cpu);
    }
    s.push_str("\n## Store connection pools\n\n");
    for l in lines.iter().filter(|l| l.pool != PoolPlan::NoPool) {
        let _ = writeln!(s, "- {}: {}", l.target, l.pool);
    }
    let _ = write!(
        s,
        "\n## Formulas\n\n\
         - app cores = rps × target CPU µs/request ÷ (1e6 × utilisation); target CPU per request is read from the \
           configuration's CPU curve (its rate ladder) at the planned utilisation as a share of its closed-loop \
           saturation, else it is the saturated closed-loop figure (≥: a lower bound, see above). Reading the curve \
           there treats a share of the measured saturation as the same share of the target's cores: on the measuring \
           machine the target shared its cores with the load generator and the stores, so the two coincide only as \
           far as the target's own CPU scales with its rate\n\
         - store cores, store operations and bytes come from the saturated closed-loop case\n\
         - store cores = rps × store CPU µs/request ÷ (1e6 × utilisation)\n\
         - store ops/s = rps × store operations/request\n\
         - session storage = active sessions ({}) × bytes per stored record, measured by the run (store growth after \
           seeding the matrix's seed_sessions records into the configuration's namespace where the run seeded, else \
           after the probe created storage_records sessions or refresh families; the report lists both per \
           configuration); none for jwt without a denylist, which stores nothing; not measured where the run has no \
           record size (the probe sizes sessions and refresh families, not denylist entries)\n\
         - store connections (PostgreSQL) = store ops/s × (RTT + service time) ÷ utilisation: a connection serves one \
           query at a time, so by Little's law the pool must hold rate × time per query; service time is the lowest \
           connection time per operation the run measured for the configuration at RTT 0 (the target's pool counter; \
           under load it includes waiting for CPU, so it errs high; files without it use the mean store operation \
           latency); RTT is --store-rtt, else the configuration's own. Redis pipelines: any pool carries the rate\n\
         - ingress / egress GB per month = rps × bytes received / sent per request × 2,592,000 s ÷ 1e9\n\
         - egress $ per month = egress GB × {} $/GB\n\
         - revocation window: from the run's security probe\n",
        input.active_sessions, input.egress_usd_per_gb
    );
    s
}
