//! One function per rule, each deciding its claim from the run's typed cases and probes; the
//! availability rules read the fault cases, every other rule only speed cases and probes.
//!
//! A rule finds the cases it compares by their [`TargetSpec`](authbench_targets::spec::TargetSpec),
//! never by id, and answers [`Missing`] for any case or figure the run lacks: an unknown figure
//! makes the claim "not measured", never a zero. Every rule with a figure reads it as a
//! [`Figure`] over the repetitions of its (configuration, load) and lets
//! [`judge_figures`](super::verdict::judge_figures) apply the one documented rule.

mod availability;
mod cost;
mod exposure;
mod latency;
mod security;
mod store;
mod tradeoff;
mod wire;

use authbench_targets::spec::{StoreKind, StrategyKind};
use authbench_targets::token::alg::Alg;

use super::rule::Rule;
use super::verdict::{Decision, Figure, Missing, Reading};
use crate::model::results::{Case, Results};
use crate::model::stats::Estimate;
use crate::report::findings::Economics;

/// Decides one claim's rule from the run, with the claim's tolerance factor `t`.
pub(super) fn decide(rule: &Rule, t: f64, r: &Results, economics: &Economics) -> Decision {
    match *rule {
        Rule::JwtCostUs { claimed_us } => cost::jwt_cost_us(r, claimed_us, t),
        Rule::JwtLatencyUs { claimed_us, percentile, at_rps } => {
            latency::jwt_latency_us(r, latency::Asked { claimed_us, percentile, at_rps }, t)
        }
        Rule::JwtReqPerCore { claimed_rps } => cost::jwt_req_per_core(r, claimed_rps, t),
        Rule::SessionStoreBound { max_throughput_ratio } => store::session_store_bound(r, max_throughput_ratio),
        Rule::RedisLookupUs { claimed_us } => store::redis_lookup_us(r, claimed_us, t),
        Rule::HybridStoreShare { claimed_share } => store::hybrid_store_share(r, claimed_share, t),
        Rule::SessionCapacity { claimed_rps } => cost::session_capacity(r, claimed_rps, t),
        Rule::ExtraCoresAt { claimed_rps, max_extra_cores } => cost::extra_cores_at(r, claimed_rps, max_extra_cores, t),
        Rule::JwtBytes => wire::jwt_bytes(r),
        Rule::JwtRevocation => security::jwt_revocation(r),
        Rule::JwtStaleRole => security::jwt_stale_role(r),
        Rule::DenylistOps => store::denylist_ops(r, t),
        Rule::JwtServesInOutage { max_error_share } => availability::jwt_serves_in_outage(r, max_error_share, t),
        Rule::RestartLogsOut { logged_out_share } => availability::restart_logs_out(r, logged_out_share, t),
        Rule::HybridServesInOutage { max_error_share } => availability::hybrid_serves_in_outage(r, max_error_share, t),
        Rule::HybridWindowS { claimed_s } => security::hybrid_window_s(r, claimed_s, t),
        Rule::JwtBytesCost => cost::jwt_bytes_cost(r, economics),
        Rule::HybridBeatsSession => store::hybrid_beats_session(r),
        Rule::RefreshNeedsStore => store::refresh_needs_store(r, t),
        Rule::LogoutNeedsList => security::logout_needs_list(r),
        Rule::ReuseRevokesFamily => security::reuse_revokes_family(r),
        Rule::TlsCpuShare { claimed_share } => wire::tls_cpu_share(r, claimed_share, t),
        Rule::CleartextReplay => exposure::cleartext_replay(r),
        Rule::CookieFlags => exposure::cookie_flags(r),
        Rule::NoSingleWinner => tradeoff::no_single_winner(r, economics),
    }
}

/// The repetitions of `c`'s (configuration, load), or `c` alone when it has no summary (a ladder step).
fn repetitions<'a>(r: &'a Results, c: &'a Case) -> Vec<&'a Case> {
    match r.summary(&c.target.id, &c.load) {
        Some(s) => s.case_ids.iter().filter_map(|id| r.cases.iter().find(|x| &x.id == id)).collect(),
        None => vec![c],
    }
}

/// A figure of `c` over its repetitions; Missing (`what` of the case) when any repetition lacks it.
fn figure_of(
    r: &Results,
    c: &Case,
    f: impl Fn(&Case) -> Option<f64>,
    what: impl Fn(&Case) -> String,
) -> Result<Figure, Missing> {
    let values =
        repetitions(r, c).into_iter().map(|x| f(x).ok_or_else(|| Missing(what(x)))).collect::<Result<Vec<_>, _>>()?;
    let e = Estimate::of(&values).ok_or_else(|| Missing(what(c)))?;
    Ok(Figure::of(&e))
}

/// The condition a case stands for in a verdict: configuration and load.
fn condition(c: &Case) -> String {
    format!("{}, {}", c.target.id, c.load.id())
}

/// A reading of `f` on `c` under its own condition.
fn reading(
    r: &Results,
    c: &Case,
    f: impl Fn(&Case) -> Option<f64>,
    what: impl Fn(&Case) -> String,
) -> Result<Reading, Missing> {
    Ok(Reading { condition: condition(c), figure: figure_of(r, c, f, what)? })
}

/// Whether `c` is served the plain way (Bearer over HTTP/1.1 without TLS, the default pool); its
/// TTLs and store round trip may differ.
fn plain_shape(c: &Case) -> bool {
    c.target.spec.is_plain()
}

/// The first closed-model browse case matching `pred`.
fn closed(r: &Results, pred: impl Fn(&Case) -> bool) -> Option<&Case> {
    r.closed_browse().into_iter().find(|c| pred(c))
}

/// The plain jwt target (no denylist) signing with `alg`.
fn jwt(r: &Results, alg: Alg) -> Option<&Case> {
    closed(r, |c| {
        let s = &c.target.spec;
        s.strategy == StrategyKind::Jwt && s.denylist.is_none() && s.alg == alg
    })
}

/// The session target on `store`.
fn session(r: &Results, store: StoreKind) -> Option<&Case> {
    closed(r, |c| c.target.spec.strategy == StrategyKind::Session && c.target.spec.store == Some(store))
}

/// The jwt HS256 case the cost rules compare against.
fn jwt_hs256(r: &Results) -> Result<&Case, Missing> {
    jwt(r, Alg::Hs256).ok_or_else(|| Missing("jwt HS256 browse (closed) case".into()))
}

/// The throughput of `c` as the target's saturation: Missing when the load generator, not the
/// target, limited its window. A case without shares (a file from before they were recorded) is
/// taken as it stands.
fn target_limited_rps(c: &Case) -> Result<f64, Missing> {
    match &c.shares {
        Some(s) if s.loadgen_bound() => Err(Missing(format!(
            "saturation throughput for {}: the load generator was the limit ({:.2} of a core, target {:.2}), so its \
             req/s measured the generator",
            c.target.id, s.loadgen, s.target
        ))),
        _ => Ok(c.throughput_rps),
    }
}

/// Store CPU per request of `c`, which an external store does not show.
fn store_cpu(c: &Case) -> Result<f64, Missing> {
    c.cpu_us_per_request.store.ok_or_else(|| {
        Missing(format!(
            "store CPU for {}: the store is external and its processes are not visible; \
             run with throwaway stores to attribute its CPU",
            c.target.id
        ))
    })
}
