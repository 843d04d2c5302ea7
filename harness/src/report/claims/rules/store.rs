//! Rules on what the store does per request: who limits throughput, lookup latency, how often
//! hybrid and denylist targets touch it.

use authbench_scenarios::ScenarioKind;
use authbench_targets::spec::{StoreKind, StrategyKind};

use super::{closed, condition, figure_of, jwt_hs256, plain_shape, reading, session, store_cpu, target_limited_rps};
use crate::model::results::{Case, Results};
use crate::report::claims::verdict::{
    judge_figures, need, Decision, Direction, Missing, Outcome, Reading, Stated, VerdictKind,
};

/// "With sessions the database becomes the limit": PostgreSQL's CPU against the target's, and
/// session throughput against `max_ratio` of jwt's.
pub(super) fn session_store_bound(r: &Results, max_ratio: f64) -> Decision {
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
    let rule = format!(
        "{m} ({} vs {}, {}, the median-throughput repetitions); rule: supported when PostgreSQL spends more CPU per request than \
         the target and session throughput is under {:.0} % of jwt's (max_throughput_ratio), refuted otherwise",
        s.target.id,
        j.target.id,
        s.load.id(),
        max_ratio * 100.0
    );
    Ok(match (store > target, ratio < max_ratio) {
        (true, true) => Outcome::supported(m, format!("{rule}: the database spends more and throughput falls")),
        (false, true) => Outcome::refuted(
            m,
            format!("{rule}: throughput falls, but the target, not the database, spends most CPU per request here"),
        ),
        (_, false) => {
            Outcome::refuted(m, format!("{rule}: throughput stays near jwt's, so the database is not the limit"))
        }
    })
}

/// "A Redis session lookup costs ~claimed_us": mean session_get latency the target saw, judged at
/// each store round trip the run measured session-redis at (Bearer over plain HTTP/1.1).
pub(super) fn redis_lookup_us(r: &Results, claimed_us: f64, t: f64) -> Decision {
    let cases = sessions_on(r, StrategyKind::Session, StoreKind::Redis);
    need(cases.first(), || "session-redis browse (closed) case".into())?;
    let readings = cases
        .iter()
        .map(|c| {
            let x = reading(r, c, |c| c.store_op_latency_us, |c| format!("session_get latency for {}", c.target.id))?;
            let rtt = crate::report::document::rtt(c.target.spec.store_rtt);
            Ok(Reading { condition: format!("{} (store RTT {rtt})", x.condition), ..x })
        })
        .collect::<Result<Vec<_>, Missing>>()?;
    let stated = Stated { value: claimed_us, direction: Direction::About, unit: " µs", digits: 0, scale: 1.0 };
    let why = format!(
        "Mean session_get latency as the target timed it, at each round trip the harness put between target and \
         Redis (RTT 0: loopback on the same machine); a lookup of {} ms needs a network hop of about that much or a \
         saturated server.",
        plain_number(claimed_us / 1000.0)
    );
    judge_figures(&stated, &readings, t, &why)
}

/// The plain-shape closed browse cases of `strategy` on `store` (default TTLs), one per store round trip.
fn sessions_on(r: &Results, strategy: StrategyKind, store: StoreKind) -> Vec<&Case> {
    let wanted = |c: &Case| {
        let s = &c.target.spec;
        s.strategy == strategy && s.store == Some(store) && plain_shape(c) && s.ttls == Default::default()
    };
    r.closed_browse().into_iter().filter(|c| wanted(c)).collect()
}

/// "Microservices already share a Redis, so hybrid still wins by skipping it on most requests":
/// hybrid on Redis against sessions on Redis, target + store CPU per request, at each store round
/// trip the run has both at. Supported when hybrid's interval lies wholly below the session's.
pub(super) fn hybrid_beats_session(r: &Results) -> Decision {
    let sessions = sessions_on(r, StrategyKind::Session, StoreKind::Redis);
    let hybrids = sessions_on(r, StrategyKind::Hybrid, StoreKind::Redis);
    let pairs: Vec<(&Case, &Case)> = sessions
        .iter()
        .filter_map(|s| hybrids.iter().find(|h| h.target.spec.store_rtt == s.target.spec.store_rtt).map(|h| (*h, *s)))
        .collect();
    need(pairs.first(), || "hybrid and session browse (closed) cases on Redis at one store round trip".into())?;
    let mut measured = Vec::new();
    let mut kinds = Vec::new();
    for (h, s) in &pairs {
        let what = |x: &Case| format!("store CPU for {} (external store)", x.target.id);
        let hf = figure_of(r, h, |x| x.cpu_us_per_request.target_and_store(), what)?;
        let sf = figure_of(r, s, |x| x.cpu_us_per_request.target_and_store(), what)?;
        let wins = hf.high < sf.low;
        kinds.push(if wins { VerdictKind::Supported } else { VerdictKind::Refuted });
        measured.push(format!(
            "store RTT {}: {} {} against {} {} target + store CPU per request, {:.3} vs {:.2} store ops per request → {}",
            crate::report::document::rtt(s.target.spec.store_rtt),
            h.target.id,
            hf.show(1, " µs"),
            s.target.id,
            sf.show(1, " µs"),
            h.store_ops_per_request,
            s.store_ops_per_request,
            if wins { "supported" } else { "refuted" }
        ));
    }
    let verdict = if kinds.iter().all(|k| *k == kinds[0]) { kinds[0] } else { VerdictKind::DependsOn };
    let because = format!(
        "{}; rule: supported at a round trip when hybrid's 95 % interval of target + store CPU per request lies \
         wholly below the session's, refuted when it does not (browse, closed loop). A shared Redis still serves \
         every session lookup; hybrid asks it only at login, refresh and logout.",
        measured.join("; ")
    );
    Ok(Outcome { measured: measured.join("; "), verdict, because })
}

/// "Needing refresh tokens means storage anyway, so statelessness is lost": store operations per
/// refresh in the refresh scenario of each hybrid configuration (a refresh needs the store at
/// least once), beside how few browse requests touch it.
pub(super) fn refresh_needs_store(r: &Results, t: f64) -> Decision {
    let refreshing = |c: &&Case| {
        c.target.spec.strategy == StrategyKind::Hybrid
            && c.load.scenario == ScenarioKind::Refresh
            && c.store_touch.as_ref().is_some_and(|s| s.refreshes > 0.0)
    };
    let cases: Vec<&Case> = r.summaries.iter().filter_map(|s| r.representative(s)).filter(refreshing).collect();
    need(cases.first(), || "hybrid refresh case with counted refreshes".into())?;
    let per_refresh = |c: &Case| c.store_touch.as_ref().map(|s| c.store_ops_per_request * s.requests / s.refreshes);
    let readings = cases
        .iter()
        .map(|c| reading(r, c, per_refresh, |x| format!("refreshes counted for {}", x.id)))
        .collect::<Result<Vec<_>, _>>()?;
    let stated =
        Stated { value: 1.0, direction: Direction::AtLeast, unit: " store ops per refresh", digits: 2, scale: 1.0 };
    let browse = sessions_on(r, StrategyKind::Hybrid, StoreKind::Redis)
        .first()
        .map(|c| format!("; in {} browse {:.4} store ops per request", c.target.id, c.store_ops_per_request))
        .unwrap_or_default();
    let why = format!(
        "Storage is needed: every refresh reads and rotates its family in the store. It is off the request path \
         otherwise{browse}: what is lost is statelessness at refresh, not on every request."
    );
    judge_figures(&stated, &readings, t, &why)
}

/// `x` to three decimals without trailing zeros: 1.0 → "1", 0.5 → "0.5" (not "0" as `{:.0}` gives).
fn plain_number(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// "Hybrid auth touches storage on ~claimed_share of requests": the share of requests that touched
/// the store (logins, refreshes, logouts; store operations per request where that was not
/// counted) in the hybrid browse case and in every hybrid population case, whose users log in,
/// think, refresh at 80 % of the access lifetime and leave as real users do. (The refresh
/// scenario rotates on every step by design, so it says nothing about this share.)
pub(super) fn hybrid_store_share(r: &Results, claimed_share: f64, t: f64) -> Decision {
    let hybrid = |c: &Case| c.target.spec.strategy == StrategyKind::Hybrid;
    // A browse window shorter than one access TTL holds no refresh: its share says nothing of the
    // claim. Those whose clients refresh inside the window, else the first (its reason says so).
    let browse: Vec<&Case> = r.closed_browse().into_iter().filter(|c| hybrid(c)).collect();
    let refreshing: Vec<&Case> = browse.iter().copied().filter(|c| refreshes_in_window(c)).collect();
    let browse = if refreshing.is_empty() { browse.into_iter().take(1).collect() } else { refreshing };
    need(browse.first(), || "hybrid browse (closed) case".into())?;
    let population = r
        .summaries
        .iter()
        .filter_map(|s| r.representative(s))
        .filter(|c| hybrid(c) && c.load.scenario == ScenarioKind::Population);
    let cases: Vec<&Case> = browse.into_iter().chain(population).collect();
    let share = |c: &Case| Some(c.store_touch.as_ref().map_or(c.store_ops_per_request, |t| t.store_share));
    let readings = cases
        .iter()
        .map(|c| reading(r, c, share, |x| format!("store-touching requests for {}", x.id)))
        .collect::<Result<Vec<_>, _>>()?;
    let stated = Stated { value: claimed_share, direction: Direction::About, unit: " %", digits: 3, scale: 100.0 };
    let why = format!(
        "The share is not a constant: it depends on the access TTL and the request rate per user, roughly \
         1 / (requests per user per access TTL) — {}. A window shorter than one access TTL may hold no refresh at all.",
        cases.iter().map(|c| analytic(c)).collect::<Vec<_>>().join("; ")
    );
    judge_figures(&stated, &readings, t, &why)
}

/// Whether a hybrid case's warm-up and window together last at least one access TTL.
fn refreshes_in_window(c: &Case) -> bool {
    c.warmup_s + c.window_s >= c.target.spec.ttls.access.secs() as f64
}

/// The analytic share of a hybrid case and how its window compares with its access TTL; a
/// population case's from the formula its client's policy implies.
fn analytic(c: &Case) -> String {
    if let Some(a) = c.population.as_ref().and_then(|p| p.analytic) {
        let scaled = c.population.as_ref().and_then(|p| p.scaling.note()).map(|n| format!(", {n}")).unwrap_or_default();
        return format!(
            "{}: access TTL {}{scaled}: the population's policy predicts {:.3} % of requests touching the store",
            condition(c),
            c.target.spec.ttls.access,
            a.store_share * 100.0
        );
    }
    let ttl = c.target.spec.ttls.access;
    let per_user = c.throughput_rps / c.load.users.max(1) as f64;
    let per_ttl = per_user * ttl.secs() as f64;
    let share = if per_ttl > 0.0 { format!("{:.3} %", 100.0 / per_ttl) } else { "unknown".into() };
    let window = c.warmup_s + c.window_s;
    let fits = if window < ttl.secs() as f64 { "shorter than" } else { "at least" };
    format!(
        "{}: access TTL {ttl}, {per_user:.0} req/s per user → {share}; its warm-up + window of {window:.0} s is {fits} \
         one TTL",
        condition(c)
    )
}

/// "A JWT denylist puts a store lookup back on every request": one store operation per request,
/// within the claim's tolerance.
pub(super) fn denylist_ops(r: &Results, t: f64) -> Decision {
    let d = need(closed(r, |c| c.target.spec.denylist.is_some()), || "jwt + denylist browse (closed) case".into())?;
    let x = reading(r, d, |c| Some(c.store_ops_per_request), |c| format!("store ops for {}", c.id))?;
    let stated =
        Stated { value: 1.0, direction: Direction::About, unit: " store ops per request", digits: 2, scale: 1.0 };
    let why =
        "Every request looks its token up in the denylist: revocation is bought back with the lookup sessions make.";
    judge_figures(&stated, &[x], t, why)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_drops_trailing_zeros() {
        assert_eq!(super::plain_number(0.01 * 100.0), "1");
        assert_eq!(super::plain_number(2000.0 / 1000.0), "2");
        assert_eq!(super::plain_number(500.0 / 1000.0), "0.5");
        assert_eq!(super::plain_number(12.5), "12.5");
    }
}
