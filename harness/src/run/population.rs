//! What a case does differently for a population load, and what every hybrid case reads about
//! its store: the target started with the time-scaled access TTL (the configuration's id stays
//! unscaled), users arriving over the warm-up rather than at once, and the store-touching
//! requests counted by route from the target's own counters.

use std::time::Duration;

use authbench_scenarios::population::Population;
use authbench_scenarios::recorder::Window;
use authbench_scenarios::Plan;
use authbench_targets::contract::route;
use authbench_targets::spec::TargetSpec;

use super::scrape::Snapshot;
use crate::model::matrix::LoadSpec;
use crate::model::population::{PopulationRecord, Replay, Scaled, StoreTouch};
use crate::model::results::Case;

/// Population users arrive over the warm-up, but over no more than this: every user must have
/// logged in before the harness's two-minute patience runs out (argon2 makes logins slow).
const MAX_ARRIVALS: Duration = Duration::from_secs(60);

/// The configuration a case starts its target with: a population's time scale divides the hybrid
/// access TTL; everything else, and the recorded id, stays as configured.
pub(super) fn run_spec(spec: &TargetSpec, load: &LoadSpec) -> anyhow::Result<TargetSpec> {
    let Some(p) = load.population.filter(|_| spec.strategy.has_refresh_token()) else {
        return Ok(*spec);
    };
    let access = p.scaled_access(spec.ttls.access).map_err(|e| anyhow::anyhow!("{}: {e}", spec.id()))?;
    let mut scaled = *spec;
    scaled.ttls.access = access;
    Ok(scaled)
}

/// How a population's users behave in this case: think time scaled, arrivals over the warm-up.
pub(super) fn users(load: &LoadSpec, warmup: Duration) -> Option<Population> {
    load.population.map(|p| Population {
        think: p.scaled_think().0,
        session_requests: p.session_requests,
        arrivals: warmup.min(MAX_ARRIVALS),
    })
}

/// goose's hatch rate, users per second: a population spread over its arrivals, other loads
/// within a quarter of a second.
pub(super) fn hatch_rate(plan: &Plan) -> String {
    match plan.population.filter(|p| !p.arrivals.is_zero()) {
        Some(p) => format!("{:.3}", (plan.users as f64 / p.arrivals.as_secs_f64()).max(0.001)),
        None => format!("{}", (plan.users * 4).max(1)),
    }
}

/// A population case's clocks and, for a hybrid target, the analytic shares; None for other loads.
pub(super) fn record(spec: &TargetSpec, load: &LoadSpec) -> Option<PopulationRecord> {
    let p = load.population?;
    let access = spec.strategy.has_refresh_token().then_some(spec.ttls.access);
    let access = access.and_then(|configured| Some(Scaled { configured, run: p.scaled_access(configured).ok()? }));
    Some(PopulationRecord::of(&p, access))
}

/// Requests to `path` the target counted between the two edges, every status.
fn on_route(b: &Snapshot, a: &Snapshot, path: &str) -> f64 {
    let count = |s: &Snapshot| s.requests.iter().filter(|((r, _), _)| r == path).map(|(_, n)| n).sum::<f64>();
    count(a) - count(b)
}

/// A hybrid case's store-touching requests over the window, and the refresh scenario's replay of
/// spent refresh tokens; None for strategies without refresh tokens.
pub(super) fn store_touch(spec: &TargetSpec, b: &Snapshot, a: &Snapshot, w: &Window) -> Option<StoreTouch> {
    if !spec.strategy.has_refresh_token() {
        return None;
    }
    let routes = [route::LOGIN, route::REFRESH, route::LOGOUT].map(|r| on_route(b, a, r));
    let mut touch = StoreTouch::of(a.served() - b.served(), routes[0], routes[1], routes[2])?;
    touch.replay = (w.spent_replayed > 0).then_some(Replay { presented: w.spent_replayed, refused: w.spent_refused });
    Some(touch)
}

/// What the case line adds: for a hybrid case the store-touching share, measured and (for a
/// population) analytic, and the replay of spent refresh tokens; for a population its scaling.
pub(super) fn summary(c: &Case) -> String {
    let mut out = String::new();
    if let Some(t) = &c.store_touch {
        let analytic = c.population.as_ref().and_then(|p| p.analytic);
        let vs = |x: Option<f64>| x.map(|x| format!(" (analytic {:.2} %)", x * 100.0)).unwrap_or_default();
        out.push_str(&format!(
            "; store touched by {:.2} % of requests{}, refreshes {:.2} %{}",
            t.store_share * 100.0,
            vs(analytic.map(|a| a.store_share)),
            t.refresh_share * 100.0,
            vs(analytic.map(|a| a.refresh_share))
        ));
        if let Some(r) = t.replay {
            out.push_str(&format!("; spent refresh tokens refused {}/{}", r.refused, r.presented));
        }
    }
    if let Some(note) = c.population.as_ref().and_then(|p| p.scaling.note()) {
        out.push_str(&format!(" [{note}]"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use authbench_scenarios::{LoadModel, ScenarioKind};
    use authbench_targets::spec::{StoreKind, StrategyKind};
    use authbench_targets::token::alg::Alg;

    fn population(scale: f64) -> LoadSpec {
        let p = crate::model::population::PopulationSpec {
            think_time: "30s".parse().unwrap(),
            session_requests: 50,
            time_scale: scale,
        };
        LoadSpec { scenario: ScenarioKind::Population, model: LoadModel::Closed, users: 1000, population: Some(p) }
    }

    #[test]
    fn only_the_hybrid_access_ttl_is_scaled_and_the_id_stays() {
        let hybrid = TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Redis, Alg::Hs256);
        let run = run_spec(&hybrid, &population(60.0)).unwrap();
        assert_eq!(run.ttls.access.secs(), 15);
        assert_eq!(run.ttls.refresh, hybrid.ttls.refresh);
        assert_eq!(hybrid.id(), "hybrid-redis-HS256", "the configuration keeps its id");
        let jwt = TargetSpec::jwt(Alg::Hs256);
        assert_eq!(run_spec(&jwt, &population(60.0)).unwrap(), jwt);
        let browse = LoadSpec { scenario: ScenarioKind::Browse, population: None, ..population(1.0) };
        assert_eq!(run_spec(&hybrid, &browse).unwrap(), hybrid);
        let r = record(&hybrid, &population(60.0)).unwrap();
        assert_eq!(r.scaling.access_ttl.map(|a| a.run.secs()), Some(15));
        assert!(r.analytic.is_some() && record(&jwt, &population(60.0)).unwrap().analytic.is_none());
    }

    #[test]
    fn a_population_arrives_over_the_warm_up() {
        let u = users(&population(60.0), Duration::from_secs(20)).unwrap();
        assert_eq!((u.think, u.arrivals), (Duration::from_millis(500), Duration::from_secs(20)));
        assert_eq!(users(&population(1.0), Duration::from_secs(600)).unwrap().arrivals, MAX_ARRIVALS);
    }

    #[test]
    fn store_touching_requests_are_counted_by_route_over_the_window() {
        let snap = |login: f64, refresh: f64, me: f64| {
            let mut s = Snapshot::default();
            for (r, n) in [(route::LOGIN, login), (route::REFRESH, refresh), (route::ME, me), (route::METRICS, 9.0)] {
                s.requests.insert((r.to_owned(), 200), n);
            }
            s.requests.insert((route::REFRESH.to_owned(), 401), 1.0);
            s
        };
        let (b, a) = (snap(10.0, 5.0, 100.0), snap(20.0, 25.0, 1070.0));
        let hybrid = TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Memory, Alg::Hs256);
        let w = authbench_scenarios::Recorder::new().take();
        let t = store_touch(&hybrid, &b, &a, &w).unwrap();
        assert_eq!((t.requests, t.logins, t.refreshes, t.logouts), (1000.0, 10.0, 20.0, 0.0));
        assert_eq!(t.store_share, 0.03);
        assert!(store_touch(&TargetSpec::jwt(Alg::Hs256), &b, &a, &w).is_none());
    }
}
