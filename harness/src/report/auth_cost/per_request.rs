//! Auth work per request: criterion's `request_auth*` benchmarks of each configuration beside the
//! load test's target CPU per request for the same configuration.

use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec, Transport};
use authbench_targets::token::alg::Alg;

use crate::model::results::Results;
use crate::report::charts::auth_cost::Bar;
use crate::report::criterion::Estimates;
use crate::report::document::{opt_num, Block, ChartRef, Text};

/// The benchmark groups of `targets/benches/requests.rs`; each names a configuration by `TargetSpec::id()`.
#[derive(Clone, Copy)]
enum Group {
    /// Wall time of one authentication at a time.
    Wall,
    /// Thread CPU of one authentication at a time.
    Cpu,
    /// Thread CPU per authentication with 16 in flight (store round-trip configurations only).
    CpuInFlight,
}

impl Group {
    fn prefix(self) -> &'static str {
        match self {
            Group::Wall => "request_auth/",
            Group::Cpu => "request_auth_cpu/",
            Group::CpuInFlight => "request_auth_cpu_16/",
        }
    }

    fn us(self, e: &Estimates, id: &str) -> Option<f64> {
        e.us(&format!("{}{id}", self.prefix()))
    }
}

/// Whether a configuration asks a store over the network on every request: sessions and jwt
/// denylists on Redis, a Redis Cluster or PostgreSQL; hybrid verifies locally. The benches measure these with
/// lookups in flight too.
pub fn store_round_trip(spec: &TargetSpec) -> bool {
    let remote = matches!(spec.needed_store(), Some(StoreKind::Redis | StoreKind::RedisCluster | StoreKind::Postgres));
    remote && spec.strategy != StrategyKind::Hybrid
}

/// Every configuration with default lifetimes: what the benches may have measured beyond the run.
fn default_configurations() -> Vec<TargetSpec> {
    let mut bearer = Vec::new();
    for alg in Alg::ALL {
        bearer.push(TargetSpec::jwt(alg));
        bearer.extend(StoreKind::ALL.iter().map(|&d| TargetSpec { denylist: Some(d), ..TargetSpec::jwt(alg) }));
        bearer.extend(StoreKind::ALL.iter().map(|&s| TargetSpec::stored(StrategyKind::Hybrid, s, alg)));
    }
    bearer.extend(StoreKind::ALL.iter().map(|&s| TargetSpec::stored(StrategyKind::Session, s, Alg::Hs256)));
    Transport::ALL.iter().flat_map(|&transport| bearer.iter().map(move |s| TargetSpec { transport, ..*s })).collect()
}

/// The configuration a benchmark id names: the run's own first, then any default configuration.
fn configuration(id: &str, r: &Results, defaults: &[TargetSpec]) -> Option<TargetSpec> {
    let run = r.cases.iter().map(|c| &c.target).chain(r.probes.iter().map(|p| &p.target));
    run.clone().find(|t| t.id == id).map(|t| t.spec).or_else(|| defaults.iter().find(|s| s.id() == id).copied())
}

/// One configuration's per-request auth work and, when the run had it, the whole request's CPU.
pub struct PerRequest {
    pub id: String,
    /// None when the id names no configuration this harness knows (its store round trip is unknown).
    pub spec: Option<TargetSpec>,
    pub cpu_us: Option<f64>,
    pub in_flight_cpu_us: Option<f64>,
    pub wall_us: Option<f64>,
    /// Target CPU per request in this run's closed browse case.
    pub load_test_us: Option<f64>,
}

impl PerRequest {
    fn round_trip(&self) -> Option<bool> {
        self.spec.as_ref().map(store_round_trip)
    }

    /// The auth CPU comparable with a loaded target's: with lookups in flight when a store is asked.
    fn comparable_cpu_us(&self) -> Option<f64> {
        match self.round_trip()? {
            true => self.in_flight_cpu_us,
            false => self.cpu_us,
        }
    }

    fn share(&self) -> String {
        match (self.comparable_cpu_us(), self.load_test_us) {
            (Some(a), Some(t)) if t > 0.0 => format!("{:.0} %", 100.0 * a / t),
            _ => "—".to_owned(),
        }
    }

    fn cells(&self) -> Vec<String> {
        let round_trip = self.round_trip().map_or("—", |t| if t { "yes" } else { "no" });
        vec![
            self.id.clone(),
            opt_num(self.cpu_us),
            opt_num(self.in_flight_cpu_us),
            opt_num(self.wall_us),
            round_trip.to_owned(),
            opt_num(self.load_test_us),
            self.share(),
        ]
    }
}

/// The run's closed browse configurations, then any other the benches measured, that have a figure.
pub fn rows(r: &Results, e: &Estimates) -> Vec<PerRequest> {
    let closed = r.closed_browse();
    let mut ids: Vec<String> = closed.iter().map(|c| c.target.id.clone()).collect();
    for id in e.by_id.keys().filter_map(|k| k.strip_prefix(Group::Cpu.prefix())) {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }
    let defaults = default_configurations();
    ids.into_iter()
        .filter_map(|id| {
            let (cpu_us, wall_us) = (Group::Cpu.us(e, &id), Group::Wall.us(e, &id));
            cpu_us.or(wall_us)?;
            Some(PerRequest {
                spec: configuration(&id, r, &defaults),
                in_flight_cpu_us: Group::CpuInFlight.us(e, &id),
                load_test_us: closed.iter().find(|c| c.target.id == id).map(|c| c.cpu_us_per_request.target),
                cpu_us,
                wall_us,
                id,
            })
        })
        .collect()
}

/// The chart's bars: configurations whose comparable auth CPU is known.
pub fn bars(rows: &[PerRequest]) -> Vec<Bar> {
    rows.iter()
        .filter_map(|p| {
            Some(Bar {
                label: p.id.clone(),
                auth: p.comparable_cpu_us()?,
                round_trip: p.round_trip()?,
                whole: p.load_test_us,
            })
        })
        .collect()
}

const HEAD: [&str; 7] = [
    "configuration",
    "auth CPU µs, one at a time",
    "auth CPU µs, 16 in flight",
    "auth wall µs, one at a time",
    "store round trip",
    "whole request in the load test, target CPU µs",
    "auth share of the request",
];

fn explanation() -> Text {
    Text::plain("Auth work per request: reading the credential header plus the strategy's ")
        .code("Auth::authenticate")
        .and(
            " — JWT verification with every claim check, or the hashed-token store lookup — on a current-thread \
             runtime. CPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so the store client's work \
             counts and the store's does not: the same split as the load test's target CPU per request, which the \
             table repeats from this run's closed browse case. One call at a time, a store lookup pays its own \
             wake-ups and system calls; a loaded target shares them among the requests in flight, so rows that ask \
             a store are also measured with 16 lookups in flight, and that figure gives their share.",
        )
}

/// The explanation, the table and the chart (when drawn); nothing without rows.
pub fn blocks(rows: &[PerRequest], chart: Option<&ChartRef>) -> Vec<Block> {
    if rows.is_empty() {
        return Vec::new();
    }
    let mut out =
        vec![Block::Paragraph(explanation()), Block::table(&HEAD, rows.iter().map(PerRequest::cells).collect())];
    out.extend(chart.cloned().map(Block::Chart));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(strategy: StrategyKind, store: Option<StoreKind>, denylist: Option<StoreKind>) -> TargetSpec {
        TargetSpec { strategy, store, denylist, ..TargetSpec::jwt(Alg::Hs256) }
    }

    #[test]
    fn only_remote_stores_asked_per_request_count_as_round_trips() {
        use StoreKind::{Memory, Postgres, Redis};
        use StrategyKind::{Hybrid, Jwt, Session};
        assert!(store_round_trip(&spec(Session, Some(Redis), None)));
        assert!(store_round_trip(&spec(Jwt, None, Some(Postgres))));
        assert!(!store_round_trip(&spec(Session, Some(Memory), None)));
        assert!(!store_round_trip(&spec(Jwt, None, Some(Memory))));
        assert!(!store_round_trip(&spec(Hybrid, Some(Redis), None)), "hybrid verifies locally on every request");
        assert!(!store_round_trip(&TargetSpec::jwt(Alg::Rs256)));
    }

    #[test]
    fn default_configurations_name_every_benchmarked_id() {
        let ids: Vec<String> = default_configurations().iter().map(TargetSpec::id).collect();
        for id in [
            "jwt-RS256-4096",
            "jwt-denylist-redis-HS256",
            "session-postgres",
            "hybrid-redis-EdDSA",
            "session-redis-cookie",
        ] {
            assert!(ids.iter().any(|i| i == id), "{id}");
        }
        assert!(default_configurations().iter().all(|s| s.validate().is_ok()));
    }
}
