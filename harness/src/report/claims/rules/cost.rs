//! Rules on CPU cost per request and the capacity it gives.

use authbench_targets::spec::StoreKind;

use super::{jwt_hs256, session, store_cpu};
use crate::model::results::{Case, Results};
use crate::report::claims::verdict::{need, Decision, Missing, Outcome};

/// Requests per second one core of target CPU serves in `c`.
fn req_per_core(c: &Case) -> Result<f64, Missing> {
    need(c.req_per_core_s, || format!("req/s per core for {} (its target CPU was not measured)", c.target.id))
}

/// The session case the capacity rules take: PostgreSQL, else Redis.
fn stored_session(r: &Results) -> Option<&Case> {
    session(r, StoreKind::Postgres).or_else(|| session(r, StoreKind::Redis))
}

/// "A JWT-authenticated request takes ~claimed_us": refuted when the whole request's CPU is under a tenth.
pub fn jwt_cost_us(r: &Results, claimed_us: f64) -> Decision {
    let j = jwt_hs256(r)?;
    let cpu = j.cpu_us_per_request.target;
    let m = format!("{cpu:.1} µs CPU per request (p50 latency {} µs at {} users)", j.latency_us.p50, j.load.users);
    Ok(if cpu < claimed_us / 10.0 {
        Outcome::refuted(
            m,
            format!(
                "the whole request costs under a tenth of {claimed_us:.0} µs of CPU; a ~1 ms figure is queueing \
                 and network latency at some load, not the cost of JWT auth"
            ),
        )
    } else {
        Outcome::supported(m, "the measured cost is of the claimed order")
    })
}

/// "JWT auth serves ~claimed_rps": per core of target CPU, within a factor of two either way.
pub fn jwt_req_per_core(r: &Results, claimed_rps: f64) -> Decision {
    let j = jwt_hs256(r)?;
    let rpc = req_per_core(j)?;
    let m = format!(
        "{rpc:.0} req/s per core ({:.0} req/s measured with the load generator on the same cores)",
        j.throughput_rps
    );
    Ok(if rpc > claimed_rps * 2.0 {
        Outcome::depends_on(
            m,
            format!(
                "hardware and implementation: one core of this target serves {:.1}× the claimed rate",
                rpc / claimed_rps
            ),
        )
    } else if rpc >= claimed_rps * 0.5 {
        Outcome::supported(m, "same order as claimed")
    } else {
        Outcome::refuted(m, "this target is slower than claimed")
    })
}

/// "Sessions are only for apps under ~claimed_rps": refuted above a hundred times that per core.
pub fn session_capacity(r: &Results, claimed_rps: f64) -> Decision {
    let s = stored_session(r).ok_or_else(|| Missing("session browse (closed) case".into()))?;
    let rpc = req_per_core(s)?;
    let m = format!("{}: {rpc:.0} req/s per core, {:.0} req/s measured", s.target.id, s.throughput_rps);
    Ok(if rpc > claimed_rps * 100.0 {
        Outcome::refuted(m, format!("sessions serve over {:.0}× the claimed ceiling per core", rpc / claimed_rps))
    } else {
        Outcome::supported(m, "capacity is near the claimed ceiling")
    })
}

/// "JWT only pays off above ~claimed_rps": the extra cores sessions cost at that rate, target + store CPU.
pub fn extra_cores_at(r: &Results, claimed_rps: f64) -> Decision {
    let missing = || Missing("session and jwt HS256 browse (closed) cases".into());
    let (s, j) = stored_session(r).zip(jwt_hs256(r).ok()).ok_or_else(missing)?;
    let (s_cpu, j_cpu) = (s.cpu_us_per_request.target + store_cpu(s)?, j.cpu_us_per_request.target + store_cpu(j)?);
    let extra = (s_cpu - j_cpu) * claimed_rps / 1e6;
    let m = format!(
        "{}: {s_cpu:.1} µs vs jwt {j_cpu:.1} µs CPU per request (target + store): {extra:.2} extra cores at \
         {claimed_rps:.0} req/s",
        s.target.id
    );
    Ok(if extra <= 1.0 {
        Outcome::refuted(
            m,
            format!("even at {claimed_rps:.0} req/s sessions cost at most one extra core; below it JWT saves less"),
        )
    } else {
        Outcome::supported(m, format!("sessions need {extra:.1} extra cores at {claimed_rps:.0} req/s"))
    })
}
