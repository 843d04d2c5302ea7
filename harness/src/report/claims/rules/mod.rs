//! One function per rule, each deciding its claim from the run's typed cases and probes.
//!
//! A rule finds the cases it compares by their [`TargetSpec`](authbench_targets::spec::TargetSpec),
//! never by id, and answers [`Missing`] for any case or figure the run lacks: an unknown figure
//! makes the claim "not measured", never a zero.

mod cost;
mod security;
mod store;
mod wire;

use authbench_targets::spec::{StoreKind, StrategyKind};
use authbench_targets::token::alg::Alg;

use super::rule::Rule;
use super::verdict::{Decision, Missing};
use crate::model::results::{Case, Results};

/// Decides one claim's rule from the run.
pub fn decide(rule: &Rule, r: &Results) -> Decision {
    match *rule {
        Rule::JwtCostUs { claimed_us } => cost::jwt_cost_us(r, claimed_us),
        Rule::JwtReqPerCore { claimed_rps } => cost::jwt_req_per_core(r, claimed_rps),
        Rule::SessionStoreBound => store::session_store_bound(r),
        Rule::RedisLookupUs { claimed_us } => store::redis_lookup_us(r, claimed_us),
        Rule::HybridStoreShare { claimed_share } => store::hybrid_store_share(r, claimed_share),
        Rule::SessionCapacity { claimed_rps } => cost::session_capacity(r, claimed_rps),
        Rule::ExtraCoresAt { claimed_rps } => cost::extra_cores_at(r, claimed_rps),
        Rule::JwtBytes => wire::jwt_bytes(r),
        Rule::JwtRevocation => security::jwt_revocation(r),
        Rule::JwtStaleRole => security::jwt_stale_role(r),
        Rule::DenylistOps => store::denylist_ops(r),
    }
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
