//! The findings page's figures: per option (strategy, store and algorithm, served the plain way —
//! Bearer over HTTP/1.1 without TLS, default TTLs and pool) what an architect decides on, each from
//! this run: cores per 10,000 req/s with the store's, p99 at one offered load shared by every
//! option, bytes per request by protocol, the security windows and money per million requests;
//! then which options another beats on every one of them.
//!
//! - `cost`: the prices (`--price`) and dollars per million requests.
//! - `dominance`: which options are strictly worse than another, criterion by criterion.

pub mod cost;
pub(crate) mod dominance;

use authbench_scenarios::ScenarioKind;
use authbench_targets::spec::{Protocol, ReplicaState, StrategyKind, TargetSpec, Ttls};

use crate::model::matrix::ModelKind;
use crate::model::probe::{ProbeResult, WindowResult};
use crate::model::results::{Case, Results};
use crate::model::stats::Estimate;
use crate::report::plan::Window;
use cost::{CostPerMillion, Prices, Wire};

/// The economic inputs of the findings page: stated on it, changed with `--price` and `--utilization`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Economics {
    pub prices: Prices,
    /// Share of each core a deployment may use before it buys another.
    pub utilization: f64,
}

impl Default for Economics {
    fn default() -> Economics {
        Economics { prices: Prices::default(), utilization: crate::report::plan::DEFAULT_UTILIZATION }
    }
}

/// Two poll intervals of the run's slowest probe: windows closer than this are the same window.
pub fn window_resolution_s(r: &Results) -> f64 {
    r.probes.iter().map(|p| 2.0 * p.poll_interval_ms as f64 / 1e3).fold(0.0, f64::max)
}

/// The request rate cores are quoted for.
pub const PER_RPS: f64 = 10_000.0;

/// An option's bytes per request (both directions) over TLS and h2, where the run served its
/// twins that way (the median of their repetitions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ByProtocol {
    pub tls: Option<f64>,
    pub h2: Option<f64>,
}

/// One option with the figures the page compares, each over the repetitions of its closed browse
/// load unless said otherwise.
#[derive(Clone, Debug)]
pub struct Candidate<'a> {
    /// The closed browse case shown (median throughput of the repetitions).
    pub case: &'a Case,
    pub target_cpu_us: Estimate,
    /// None when the store ran outside the harness's view.
    pub store_cpu_us: Option<Estimate>,
    /// Target plus store per repetition; None when the store's CPU was not measured.
    pub total_cpu_us: Option<Estimate>,
    /// p99 at the page's shared offered load; None when this option was not run at it.
    pub p99_us: Option<Estimate>,
    /// Both directions over plain HTTP/1.1.
    pub bytes: Estimate,
    pub bytes_by_protocol: ByProtocol,
    pub bytes_sent: Estimate,
    pub bytes_received: Estimate,
    pub revocation: Window,
    pub stale_role: Window,
    /// How long a logged-out credential kept working; NotProbed for files from before the probe.
    pub logout: Window,
    /// None when the store's CPU was not measured (an external store).
    pub cost: Option<CostPerMillion>,
}

impl Candidate<'_> {
    pub fn spec(&self) -> &TargetSpec {
        &self.case.target.spec
    }

    /// The `none` floor: shown for reference, never an option.
    pub fn is_floor(&self) -> bool {
        self.spec().strategy == StrategyKind::None
    }

    /// Whether two replicas behind a balancer see the same credentials: an in-process store is one
    /// replica's alone, by construction.
    pub fn shares_state_across_replicas(&self) -> bool {
        self.spec().replica_state() != ReplicaState::ProcessLocal
    }

    /// Cores per [`PER_RPS`] req/s for `cpu` µs per request at `utilization`.
    pub fn cores(cpu: &Estimate, utilization: f64) -> Estimate {
        scale(cpu, PER_RPS / 1e6 / utilization)
    }
}

/// An estimate times a positive factor.
fn scale(e: &Estimate, k: f64) -> Estimate {
    let mut out = *e;
    out.median *= k;
    if let Some(i) = out.interval.as_mut() {
        i.low *= k;
        i.high *= k;
    }
    out
}

/// The options of the page, in run order, and the offered load their p99 was read at.
pub struct Findings<'a> {
    pub candidates: Vec<Candidate<'a>>,
    /// The open-model browse rate most options were run at; None when the run has none.
    pub equal_load_rps: Option<f64>,
    pub economics: Economics,
}

/// The plain way to serve an option; its variants (cookie, TLS, h2, TTLs, pools) have sections of their own.
fn plain_shape(s: &TargetSpec) -> bool {
    s.is_plain() && s.ttls == Ttls::default()
}

/// Computes the page from the run's closed browse cases of the plain shape.
pub fn compute(r: &Results, economics: Economics) -> Findings<'_> {
    let equal_load_rps = equal_load_rate(r);
    let candidates = r
        .closed_browse()
        .into_iter()
        .filter(|c| plain_shape(&c.target.spec))
        .filter_map(|c| candidate(r, c, equal_load_rps, economics))
        .collect();
    Findings { candidates, equal_load_rps, economics }
}

/// The figure `f` of each repetition of `c`'s closed browse load; None when any lacks it.
fn over_repetitions(r: &Results, c: &Case, f: impl Fn(&Case) -> Option<f64>) -> Option<Estimate> {
    let s = r.summary(&c.target.id, &c.load)?;
    let values =
        s.case_ids.iter().map(|id| r.cases.iter().find(|x| &x.id == id).and_then(&f)).collect::<Option<Vec<f64>>>()?;
    Estimate::of(&values)
}

fn candidate<'a>(r: &'a Results, c: &'a Case, equal_rps: Option<f64>, e: Economics) -> Option<Candidate<'a>> {
    let target_cpu_us = over_repetitions(r, c, |x| Some(x.cpu_us_per_request.target))?;
    let store_cpu_us = over_repetitions(r, c, |x| x.cpu_us_per_request.store);
    let total_cpu_us = over_repetitions(r, c, |x| x.cpu_us_per_request.target_and_store());
    let bytes_sent = over_repetitions(r, c, |x| Some(x.bytes_per_request.sent))?;
    let bytes_received = over_repetitions(r, c, |x| Some(x.bytes_per_request.received))?;
    let wire = Wire { sent: bytes_sent.median, received: bytes_received.median };
    let probe = r.probe(&c.target.id);
    let floor = c.target.spec.strategy == StrategyKind::None;
    let window = |pick: fn(&ProbeResult) -> Option<&WindowResult>| match probe {
        _ if floor => Window::NoAuth,
        None => Window::NotProbed,
        Some(p) => pick(p).map_or(Window::NotProbed, |w| Window::of(w, p.cap_s)),
    };
    Some(Candidate {
        case: c,
        p99_us: equal_rps.and_then(|rate| p99_at(r, &c.target.id, rate)),
        bytes: over_repetitions(r, c, |x| Some(x.bytes_per_request.total()))?,
        bytes_by_protocol: by_protocol(r, &c.target.spec),
        cost: total_cpu_us.map(|t| CostPerMillion::of(t.median, wire, e.utilization, &e.prices)),
        revocation: window(|p| Some(&p.revocation)),
        stale_role: window(|p| Some(&p.stale_role)),
        logout: window(|p| p.logout.as_ref()),
        target_cpu_us,
        store_cpu_us,
        total_cpu_us,
        bytes_sent,
        bytes_received,
    })
}

/// Open-model browse summaries of the matrix.
fn open_browse(r: &Results) -> impl Iterator<Item = &crate::model::results::Summary> {
    r.summaries.iter().filter(|s| s.load.scenario == ScenarioKind::Browse && s.load.model_kind() == ModelKind::Open)
}

/// The open browse rate the most configurations ran at (the lower one on a tie).
fn equal_load_rate(r: &Results) -> Option<f64> {
    let mut rates: Vec<(f64, usize)> = Vec::new();
    for rate in open_browse(r).filter_map(|s| s.load.rate_rps()) {
        match rates.iter_mut().find(|(x, _)| *x == rate) {
            Some((_, n)) => *n += 1,
            None => rates.push((rate, 1)),
        }
    }
    rates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
    rates.first().map(|(rate, _)| *rate)
}

fn p99_at(r: &Results, target_id: &str, rate: f64) -> Option<Estimate> {
    open_browse(r).find(|s| s.target.id == target_id && s.load.rate_rps() == Some(rate)).map(|s| s.p99_us)
}

/// Bytes per request of the option's TLS and h2 twins (the same configuration otherwise).
fn by_protocol(r: &Results, spec: &TargetSpec) -> ByProtocol {
    let twin = |tls: bool, protocol: Protocol| {
        let want = TargetSpec { tls, protocol, ..*spec };
        let c = r.closed_browse().into_iter().find(|c| c.target.spec == want)?;
        r.summary(&c.target.id, &c.load).map(|s| s.bytes_per_request.median)
    };
    ByProtocol { tls: twin(true, Protocol::Http1), h2: twin(true, Protocol::H2) }
}
