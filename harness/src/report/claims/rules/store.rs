//! Rules on what the store does per request: who limits throughput, lookup latency, how often
//! hybrid and denylist targets touch it.

use authbench_scenarios::ScenarioKind;
use authbench_targets::spec::{StoreKind, StrategyKind};

use super::{closed, jwt_hs256, session, store_cpu, target_limited_rps};
use crate::model::results::{Case, Results};
use crate::report::claims::verdict::{need, Decision, Missing, Outcome};

/// "With sessions the database becomes the limit": PostgreSQL's CPU against the target's, and
/// session throughput against jwt's.
pub fn session_store_bound(r: &Results) -> Decision {
    let missing = || Missing("session-postgres and jwt HS256 browse (closed) cases".into());
    let (s, j) = session(r, StoreKind::Postgres).zip(jwt_hs256(r).ok()).ok_or_else(missing)?;
    let store = store_cpu(s)?;
    let target = s.cpu_us_per_request.target;
    let ratio = target_limited_rps(s)? / target_limited_rps(j)?;
    let m = format!(
        "session-postgres {:.0} req/s vs jwt {:.0} req/s ({:.0} %); store CPU {store:.1} µs vs target CPU {target:.1} µs \
         per request",
        s.throughput_rps,
        j.throughput_rps,
        ratio * 100.0,
    );
    Ok(if store > target && ratio < 0.75 {
        Outcome::supported(m, "PostgreSQL spends more CPU per request than the target and throughput falls below jwt's")
    } else if ratio < 0.75 {
        Outcome::depends_on(
            m,
            "load and deployment: throughput drops, but the target, not the database, spends most CPU per request here",
        )
    } else {
        Outcome::refuted(m, "at this load the database is not what limits throughput")
    })
}

/// "A Redis session lookup costs ~claimed_us": refuted under half of it.
pub fn redis_lookup_us(r: &Results, claimed_us: f64) -> Decision {
    let s = need(session(r, StoreKind::Redis), || "session-redis browse (closed) case".into())?;
    let lat = need(s.store_op_latency_us, || format!("session_get latency for {}", s.target.id))?;
    let m = format!("{lat:.0} µs mean session_get as seen by the target");
    Ok(if lat < claimed_us / 2.0 {
        Outcome::refuted(
            m,
            format!(
                "a loopback Redis lookup takes well under {} ms; milliseconds need a network hop or a saturated \
                 server",
                plain(claimed_us / 1000.0)
            ),
        )
    } else {
        Outcome::supported(m, "of the claimed order")
    })
}

/// `x` to three decimals without trailing zeros: 1.0 → "1", 0.5 → "0.5" (not "0" as `{:.0}` gives).
fn plain(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// "Hybrid auth touches storage on ~claimed_share of requests": always depends on TTL and rate.
pub fn hybrid_store_share(r: &Results, claimed_share: f64) -> Decision {
    let hybrid = |c: &Case| c.target.spec.strategy == StrategyKind::Hybrid;
    let b = need(closed(r, hybrid), || "hybrid browse (closed) case".into())?;
    // The refresh scenario is meant for short access TTLs: take the shortest one measured (with
    // repetitions, the one with the median throughput).
    let refresh = r
        .summaries
        .iter()
        .filter_map(|s| r.representative(s))
        .filter(|c| hybrid(c) && c.load.scenario == ScenarioKind::Refresh)
        .min_by_key(|c| c.target.spec.ttls.access);
    let mut m = format!("browse: {:.3} % of requests touch the store", b.store_ops_per_request * 100.0);
    if let Some(f) = refresh {
        m.push_str(&format!(
            "; refresh scenario, access TTL {}, {} users at {:.0} req/s: {:.3} %",
            f.target.spec.ttls.access,
            f.load.users,
            f.throughput_rps,
            f.store_ops_per_request * 100.0
        ));
    }
    Ok(Outcome::depends_on(
        m,
        format!(
            "the share is refreshes / requests = 1 / (requests a client makes per access-token lifetime): it falls \
             with the TTL and the client's request rate, so {} % holds for one TTL and rate only",
            plain(claimed_share * 100.0)
        ),
    ))
}

/// "A JWT denylist puts a store lookup back on every request": one store op per request, ±0.05.
pub fn denylist_ops(r: &Results) -> Decision {
    let d = need(closed(r, |c| c.target.spec.denylist.is_some()), || "jwt + denylist browse (closed) case".into())?;
    let m = format!("{}: {:.2} store ops per request", d.target.id, d.store_ops_per_request);
    Ok(if (d.store_ops_per_request - 1.0).abs() < 0.05 {
        Outcome::supported(m, "revocation is bought back with exactly the lookup sessions make")
    } else {
        Outcome::refuted(m, "the denylist did not cost one lookup per request")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_drops_trailing_zeros() {
        assert_eq!(super::plain(0.01 * 100.0), "1");
        assert_eq!(super::plain(2000.0 / 1000.0), "2");
        assert_eq!(super::plain(500.0 / 1000.0), "0.5");
        assert_eq!(super::plain(12.5), "12.5");
    }
}
