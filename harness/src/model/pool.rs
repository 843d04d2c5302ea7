//! Store connection pools against the store's round trip: the ceiling a pool puts on a target's
//! rate, and the pool a planned rate needs. Shared by the report's pool section and `plan`.

use std::time::Duration;

use authbench_targets::spec::{Span, StoreKind, TargetSpec};

use super::matrix::LoadSpec;
use super::results::{Case, CaseRole, Results, Summary};

/// How the target's client for a store uses a pooled connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolUse {
    /// One operation per connection at a time (deadpool checks a tokio-postgres connection out for
    /// the whole query): a pool of N carries at most N ÷ (RTT + service time) operations a second.
    OneAtATime,
    /// Commands pipelined on every connection (fred writes the next command without waiting for
    /// the previous answer): the round trip adds latency, the pool puts no such ceiling.
    Pipelined,
}

impl PoolUse {
    /// How a store's client uses its pool; None for the memory store, which has no pool.
    pub fn of(store: StoreKind) -> Option<PoolUse> {
        match store {
            StoreKind::Postgres => Some(PoolUse::OneAtATime),
            StoreKind::Redis | StoreKind::RedisCluster => Some(PoolUse::Pipelined),
            StoreKind::Memory => None,
        }
    }
}

/// How busy a PostgreSQL target's connection pool was over a window, from the time its
/// connections were checked out (the target's own counter).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PoolBusy {
    /// Connection-seconds in use ÷ (window × pool size): 1.0 is every connection busy all along.
    pub share: f64,
    /// Connection time per store operation, µs: round trip plus service time under this load.
    pub held_us_per_op: Option<f64>,
}

impl PoolBusy {
    /// From the held seconds, window and store operations of one window.
    pub fn of(held_s: f64, window: Duration, pool: u32, ops: f64) -> Option<PoolBusy> {
        let capacity = window.as_secs_f64() * f64::from(pool);
        (capacity > 0.0)
            .then(|| PoolBusy { share: held_s / capacity, held_us_per_op: (ops > 0.0).then(|| held_s * 1e6 / ops) })
    }
}

/// A configuration's store service time: how long one store operation kept a connection with no
/// round trip added, and the case it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceTime {
    pub us: f64,
    pub case_id: String,
    /// True: connection time per operation (the target's pool counter); false (files without it):
    /// the mean store operation latency, which also includes waiting for a free connection.
    pub held: bool,
}

/// The configuration with the store reached directly and the default pool: what a round-trip or
/// pool sweep varies around, and the key its rows are grouped by.
pub fn family(spec: &TargetSpec) -> TargetSpec {
    TargetSpec { store_rtt: Span(Duration::ZERO), pool_size: TargetSpec::POOL, ..*spec }
}

/// The lowest time per store operation among the run's matrix and ladder cases of the same family
/// at RTT 0, any pool size: connection time per operation where the target counted it, else the
/// mean operation latency. Under load both include waiting for CPU, so the lowest reading is the
/// closest to the service time and still errs high: ceilings computed from it err low.
pub fn service_time(r: &Results, spec: &TargetSpec) -> Option<ServiceTime> {
    let key = family(spec).id();
    let near: Vec<&Case> = r
        .cases
        .iter()
        .filter(|c| matches!(c.role, CaseRole::Matrix | CaseRole::Ladder | CaseRole::Refine))
        .filter(|c| c.target.spec.store_rtt.0.is_zero() && family(&c.target.spec).id() == key)
        .collect();
    let lowest = |held: bool, figure: &dyn Fn(&Case) -> Option<f64>| {
        near.iter()
            .filter_map(|c| Some((figure(c)?, *c)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(us, c)| ServiceTime { us, case_id: c.id.clone(), held })
    };
    lowest(true, &|c| c.pool.and_then(|p| p.held_us_per_op)).or_else(|| lowest(false, &|c| c.store_op_latency_us))
}

/// Operations a second a pool of `pool` connections carries at most when each operation holds its
/// connection for `rtt` plus `service_us`.
pub fn ceiling_ops_s(pool: u32, rtt: Duration, service_us: f64) -> f64 {
    f64::from(pool) / ((rtt.as_secs_f64() * 1e6 + service_us) / 1e6)
}

/// Connections `ops_s` operations a second keep busy (Little's law: rate × time each holds one),
/// divided by the planned utilization for headroom.
pub fn connections_needed(ops_s: f64, rtt: Duration, service_us: f64, utilization: f64) -> f64 {
    ops_s * (rtt.as_secs_f64() + service_us / 1e6) / utilization
}

/// A PostgreSQL or Redis configuration under a closed browse load, as the round-trip and pool
/// tables and charts read it: the summary over repetitions and the repetition shown beside it.
pub struct StorePoint<'r> {
    pub summary: &'r Summary,
    pub case: &'r Case,
    pub store: StoreKind,
    /// The configuration at RTT 0 with the default pool: what the row varies around.
    pub family: TargetSpec,
    pub load: LoadSpec,
    pub rtt: Duration,
    pub pool: u32,
}

/// Every PostgreSQL or Redis configuration's closed browse summaries, by family, load, round
/// trip and pool size.
pub fn store_points(r: &Results) -> Vec<StorePoint<'_>> {
    let mut out: Vec<StorePoint<'_>> = r
        .summaries
        .iter()
        .filter(|s| {
            s.load.scenario == authbench_scenarios::ScenarioKind::Browse
                && s.load.model_kind() == super::matrix::ModelKind::Closed
        })
        .filter_map(|s| {
            let spec = &s.target.spec;
            let store = spec.needed_store().filter(|k| PoolUse::of(*k).is_some())?;
            let case = r.representative(s)?;
            Some(StorePoint {
                summary: s,
                case,
                store,
                family: family(spec),
                load: s.load,
                rtt: spec.store_rtt.0,
                pool: spec.pool_size,
            })
        })
        .collect();
    out.sort_by_key(|a| (a.family.id(), a.load.users, a.rtt, a.pool));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_and_need_are_littles_law_both_ways() {
        let rtt = Duration::from_millis(1);
        assert!((ceiling_ops_s(8, rtt, 250.0) - 6400.0).abs() < 1e-6);
        assert!((ceiling_ops_s(4, Duration::ZERO, 100.0) - 40_000.0).abs() < 1e-6);
        // A pool sized for a rate at 100 % utilization carries exactly that rate.
        let need = connections_needed(6400.0, rtt, 250.0, 1.0);
        assert!((need - 8.0).abs() < 1e-9);
        assert!((connections_needed(6400.0, rtt, 250.0, 0.5) - 16.0).abs() < 1e-9);
    }

    #[test]
    fn only_postgres_has_a_per_connection_ceiling() {
        assert_eq!(PoolUse::of(StoreKind::Postgres), Some(PoolUse::OneAtATime));
        assert_eq!(PoolUse::of(StoreKind::Redis), Some(PoolUse::Pipelined));
        assert_eq!(PoolUse::of(StoreKind::Memory), None);
    }
}
