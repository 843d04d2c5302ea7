//! Rules on CPU cost per request and the capacity it gives.

use authbench_targets::spec::StoreKind;

use super::{figure_of, jwt_hs256, reading, session, store_cpu};
use crate::model::results::{Case, Results};
use crate::report::claims::verdict::{
    judge_figures, need, Decision, Direction, Figure, Missing, Outcome, Reading, Stated, VerdictKind,
};
use crate::report::findings::cost::{CostPerMillion, Wire};
use crate::report::findings::Economics;

/// Requests per second one core of target CPU serves in `c`, over its repetitions.
fn req_per_core(r: &Results, c: &Case) -> Result<Reading, Missing> {
    reading(
        r,
        c,
        |x| x.req_per_core_s,
        |x| format!("req/s per core for {} (its target CPU was not measured)", x.target.id),
    )
}

/// The session cases the capacity rules cover: PostgreSQL and Redis, those the run has.
fn stored_sessions(r: &Results) -> Vec<&Case> {
    [StoreKind::Postgres, StoreKind::Redis].into_iter().filter_map(|s| session(r, s)).collect()
}

/// A rate claim's figure as printed.
fn rate(value: f64, direction: Direction) -> Stated {
    Stated { value, direction, unit: " req/s", digits: 0, scale: 1.0 }
}

/// "JWT costs ~claimed_us of CPU per request": jwt HS256 target CPU per request. A claim about how
/// long a request takes belongs to `jwt_latency_us`.
pub(super) fn jwt_cost_us(r: &Results, claimed_us: f64, t: f64) -> Decision {
    let j = jwt_hs256(r)?;
    let x = reading(r, j, |c| Some(c.cpu_us_per_request.target), |c| format!("target CPU for {}", c.id))?;
    let stated = Stated { value: claimed_us, direction: Direction::About, unit: " µs", digits: 1, scale: 1.0 };
    let why = "This is the target's CPU time per request (user + system over the window), not the request's latency.";
    judge_figures(&stated, &[x], t, why)
}

/// "JWT auth serves ~claimed_rps": requests per second per core of target CPU.
pub(super) fn jwt_req_per_core(r: &Results, claimed_rps: f64, t: f64) -> Decision {
    let j = jwt_hs256(r)?;
    let x = req_per_core(r, j)?;
    let why = format!(
        "Per core of target CPU: one core of this target serves {:.1}× the claimed rate ({:.0} req/s were measured \
         with the load generator on the same cores). It comes from CPU per request, so it holds below saturation \
         too; the hardware and the implementation behind the claimed figure are not known.",
        x.figure.median / claimed_rps,
        j.throughput_rps
    );
    judge_figures(&rate(claimed_rps, Direction::About), &[x], t, &why)
}

/// "Sessions are only for apps under ~claimed_rps": session requests per second per core, on each
/// store the run has, must be at most the claimed rate.
pub(super) fn session_capacity(r: &Results, claimed_rps: f64, t: f64) -> Decision {
    let cases = stored_sessions(r);
    if cases.is_empty() {
        return Err(Missing("session browse (closed) case".into()));
    }
    let readings = cases.into_iter().map(|s| req_per_core(r, s)).collect::<Result<Vec<_>, _>>()?;
    let why = "Per core of target CPU: the rate one core of the session target serves in a closed loop.";
    judge_figures(&rate(claimed_rps, Direction::AtMost), &readings, t, why)
}

/// "JWT only pays off above ~claimed_rps": the rate at which sessions cost `max_cores` more CPU
/// (target + store) than jwt must be at least the claimed rate.
pub(super) fn extra_cores_at(r: &Results, claimed_rps: f64, max_cores: f64, t: f64) -> Decision {
    let missing = || Missing("session and jwt HS256 browse (closed) cases".into());
    let j = jwt_hs256(r).map_err(|_| missing())?;
    let sessions = stored_sessions(r);
    if sessions.is_empty() {
        return Err(missing());
    }
    let j_cpu = total_cpu(r, j)?;
    let mut readings = Vec::new();
    let mut notes = Vec::new();
    for s in sessions {
        let s_cpu = total_cpu(r, s)?;
        let extra = Figure {
            median: s_cpu.median - j_cpu.median,
            low: s_cpu.low - j_cpu.high,
            high: s_cpu.high - j_cpu.low,
            n: s_cpu.n.min(j_cpu.n),
        };
        notes.push(format!(
            "{}: {} vs jwt {} CPU per request (target + store), {:.2} extra cores at {claimed_rps:.0} req/s",
            s.target.id,
            s_cpu.show(1, " µs"),
            j_cpu.show(1, " µs"),
            extra.median * claimed_rps / 1e6
        ));
        let condition = format!(
            "{} vs {}, {}: rate where sessions cost {max_cores} extra core(s)",
            s.target.id,
            j.target.id,
            s.load.id()
        );
        readings.push(Reading { condition, figure: breakeven(&extra, max_cores) });
    }
    let why = format!(
        "{}. Read the claim as \"below {claimed_rps:.0} req/s sessions cost under {max_cores} extra core(s), so JWT \
         saves little\": a break-even rate at or above the claimed one supports it (sessions are fine below it), one \
         well below refutes it. ∞ means sessions cost no more CPU than jwt.",
        notes.join("; ")
    );
    judge_figures(&rate(claimed_rps, Direction::AtLeast), &readings, t, &why)
}

/// Target + store CPU per request of `c` over its repetitions; Missing without the store's CPU.
fn total_cpu(r: &Results, c: &Case) -> Result<Figure, Missing> {
    store_cpu(c)?;
    let what = |x: &Case| format!("store CPU for {} (external store)", x.target.id);
    figure_of(r, c, |x| x.cpu_us_per_request.target_and_store(), what)
}

/// The rate at which `extra` µs per request add up to `cores`: infinite when sessions cost no more.
fn breakeven(extra: &Figure, cores: f64) -> Figure {
    let at = |us: f64| if us > 0.0 { cores * 1e6 / us } else { f64::INFINITY };
    Figure { median: at(extra.median), low: at(extra.high), high: at(extra.low), n: extra.n }
}

/// "The bytes a JWT adds to every request cost real money": the dollars per million requests jwt
/// HS256's bytes add over each session store's (egress and ingress at the report's prices) against
/// the CPU dollars jwt saves there (target + store CPU at the report's utilization).
pub(super) fn jwt_bytes_cost(r: &Results, e: &Economics) -> Decision {
    let j = jwt_hs256(r)?;
    let sessions = stored_sessions(r);
    need(sessions.first(), || "session browse (closed) case on PostgreSQL or Redis".into())?;
    let j_cpu = total_cpu(r, j)?;
    let p = &e.prices;
    let mut lines = Vec::new();
    let mut kinds = Vec::new();
    for s in sessions {
        let s_cpu = total_cpu(r, s)?;
        let (jb, sb) = (&j.bytes_per_request, &s.bytes_per_request);
        let extra = Wire { sent: jb.sent - sb.sent, received: jb.received - sb.received };
        let bytes = CostPerMillion::of(0.0, extra, e.utilization, p);
        let bytes_usd = bytes.egress_usd + bytes.ingress_usd;
        let cpu_usd = CostPerMillion::of(s_cpu.median - j_cpu.median, Wire::NONE, e.utilization, p).cpu_usd;
        let costs_more = bytes_usd > cpu_usd;
        kinds.push(if costs_more { VerdictKind::Supported } else { VerdictKind::Refuted });
        // Adding 0.0 turns a negative zero into "0" rather than "-0".
        lines.push(format!(
            "against {}: jwt's bytes add ${:.5} per million requests ({:+.0} B in, {:+.0} B out per request), \
             its CPU saves ${cpu_usd:.5} ({} vs {} target + store) → {}",
            s.target.id,
            (bytes_usd * 1e5).round() / 1e5 + 0.0,
            (jb.received - sb.received).round() + 0.0,
            (jb.sent - sb.sent).round() + 0.0,
            j_cpu.show(1, " µs"),
            s_cpu.show(1, " µs"),
            if costs_more { "supported" } else { "refuted" }
        ));
    }
    let verdict = if kinds.iter().all(|k| *k == kinds[0]) { kinds[0] } else { VerdictKind::DependsOn };
    let because = format!(
        "{}; rule: supported where the bytes jwt adds cost more per million requests than the CPU it saves over the \
         session, refuted where they cost less. Prices: {p} (the token rides in requests: what a client sends is \
         ingress, which the large clouds do not bill; change it with --price); CPU at {:.0} % utilization.",
        lines.join("; "),
        e.utilization * 100.0
    );
    Ok(Outcome { measured: lines.join("; "), verdict, because })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breakeven_rate_falls_as_the_extra_cost_rises() {
        let f = breakeven(&Figure { median: 40.0, low: 20.0, high: 50.0, n: 3 }, 1.0);
        assert_eq!((f.low, f.median, f.high), (20_000.0, 25_000.0, 50_000.0));
        assert!(breakeven(&Figure { median: -1.0, low: -2.0, high: 1.0, n: 3 }, 1.0).median.is_infinite());
    }
}
