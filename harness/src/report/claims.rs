//! Published claims and the verdicts this run's measurements give them.

use serde::{Deserialize, Serialize};

use authbench_scenarios::ScenarioKind;
use authbench_targets::spec::{StoreKind, StrategyKind};
use authbench_targets::token::alg::Alg;

use crate::model::results::{Case, Results};

/// One claim as written in `harness/claims.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct Claim {
    pub id: String,
    pub claim: String,
    pub source: String,
    pub metric: String,
    pub rule: String,
    pub value: Option<f64>,
}

#[derive(Deserialize)]
struct File {
    claim: Vec<Claim>,
}

/// A claim with what this run measured and the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub id: String,
    pub claim: String,
    pub source: String,
    pub metric: String,
    pub measured: String,
    /// supported, refuted, depends-on, or not measured.
    pub verdict: String,
    /// For depends-on: the condition; otherwise why.
    pub because: String,
}

/// The claims shipped with authbench.
pub fn builtin() -> anyhow::Result<Vec<Claim>> {
    let f: File = toml::from_str(include_str!("../../claims.toml"))?;
    Ok(f.claim)
}

/// A team's own claims, in the same format as the built-in file.
pub fn from_file(path: &std::path::Path) -> anyhow::Result<Vec<Claim>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read claims file {}: {e}", path.display()))?;
    let f: File =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("claims file {} is not valid: {e}", path.display()))?;
    Ok(f.claim)
}

fn closed(r: &Results, pred: impl Fn(&Case) -> bool) -> Option<&Case> {
    r.closed_browse().into_iter().find(|c| pred(c))
}

fn jwt<'a>(r: &'a Results, alg: Alg) -> Option<&'a Case> {
    closed(r, |c| {
        let s = &c.target.spec;
        s.strategy == StrategyKind::Jwt && s.denylist.is_none() && s.alg == alg
    })
}

fn session<'a>(r: &'a Results, store: StoreKind) -> Option<&'a Case> {
    closed(r, |c| c.target.spec.strategy == StrategyKind::Session && c.target.spec.store == Some(store))
}

fn total_cpu(c: &Case) -> f64 {
    c.cpu_us_per_request.target + c.cpu_us_per_request.store.unwrap_or(0.0)
}

fn v(verdict: &str, measured: String, because: String) -> (String, String, String) {
    (measured, verdict.to_owned(), because)
}

fn missing(what: &str) -> (String, String, String) {
    ("—".into(), "not measured".into(), format!("this run has no {what}"))
}

/// Decides one claim from the run.
fn decide(c: &Claim, r: &Results) -> (String, String, String) {
    let value = c.value.unwrap_or(0.0);
    match c.rule.as_str() {
        "jwt_cost_us" => match jwt(r, Alg::Hs256) {
            Some(j) => {
                let cpu = j.cpu_us_per_request.target;
                let m = format!(
                    "{cpu:.1} µs CPU per request (p50 latency {} µs at {} users)",
                    j.latency_us.p50, j.load.users
                );
                if cpu < value / 10.0 {
                    v("refuted", m, format!("the whole request costs under a tenth of {value:.0} µs of CPU; a ~1 ms figure is queueing and network latency at some load, not the cost of JWT auth"))
                } else {
                    v("supported", m, "the measured cost is of the claimed order".into())
                }
            }
            None => missing("jwt HS256 browse (closed) case"),
        },
        "jwt_req_per_core" => match jwt(r, Alg::Hs256).and_then(|j| j.req_per_core_s.map(|x| (j, x))) {
            Some((j, rpc)) => {
                let m = format!(
                    "{rpc:.0} req/s per core ({:.0} req/s measured with the load generator on the same cores)",
                    j.throughput_rps
                );
                if rpc > value * 2.0 {
                    v(
                        "depends-on",
                        m,
                        format!(
                            "hardware and implementation: one core of this target serves {:.1}× the claimed rate",
                            rpc / value
                        ),
                    )
                } else if rpc >= value * 0.5 {
                    v("supported", m, "same order as claimed".into())
                } else {
                    v("refuted", m, "this target is slower than claimed".into())
                }
            }
            None => missing("jwt HS256 browse (closed) case"),
        },
        "session_store_bound" => match (session(r, StoreKind::Postgres), jwt(r, Alg::Hs256)) {
            (Some(s), Some(j)) => {
                let store = s.cpu_us_per_request.store;
                let ratio = s.throughput_rps / j.throughput_rps;
                let m = format!(
                    "session-postgres {:.0} req/s vs jwt {:.0} req/s ({:.0} %); store CPU {} vs target CPU {:.1} µs per request",
                    s.throughput_rps,
                    j.throughput_rps,
                    ratio * 100.0,
                    store.map_or("unknown (external store)".into(), |x| format!("{x:.1} µs")),
                    s.cpu_us_per_request.target
                );
                match store {
                    Some(st) if st > s.cpu_us_per_request.target && ratio < 0.75 => v("supported", m, "PostgreSQL spends more CPU per request than the target and throughput falls below jwt's".into()),
                    Some(_) if ratio < 0.75 => v("depends-on", m, "load and deployment: throughput drops, but the target, not the database, spends most CPU per request here".into()),
                    Some(_) => v("refuted", m, "at this load the database is not what limits throughput".into()),
                    None => v("depends-on", m, "store CPU is not visible for an external store".into()),
                }
            }
            _ => missing("session-postgres and jwt HS256 browse (closed) cases"),
        },
        "redis_lookup_us" => match session(r, StoreKind::Redis).and_then(|s| s.store_op_latency_us.map(|l| (s, l))) {
            Some((_, lat)) => {
                let m = format!("{lat:.0} µs mean session_get as seen by the target");
                if lat < value / 2.0 {
                    v("refuted", m, format!("a loopback Redis lookup takes well under {:.0} ms; milliseconds need a network hop or a saturated server", value / 1000.0))
                } else {
                    v("supported", m, "of the claimed order".into())
                }
            }
            None => missing("session-redis browse (closed) case"),
        },
        "hybrid_store_share" => {
            let browse = closed(r, |c| c.target.spec.strategy == StrategyKind::Hybrid);
            // The refresh scenario is meant for short access TTLs: take the shortest one measured.
            let ttl = |c: &&Case| c.target.spec.ttls.access;
            let refresh = r
                .cases
                .iter()
                .filter(|c| c.target.spec.strategy == StrategyKind::Hybrid && c.load.scenario == ScenarioKind::Refresh)
                .min_by_key(ttl);
            match browse {
                Some(b) => {
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
                    v("depends-on", m, "the share is refreshes / requests = 1 / (requests a client makes per access-token lifetime): it falls with the TTL and the client's request rate, so 1 % holds for one TTL and rate only".into())
                }
                None => missing("hybrid browse (closed) case"),
            }
        }
        "session_capacity" => match session(r, StoreKind::Postgres).or_else(|| session(r, StoreKind::Redis)) {
            Some(s) => {
                let rpc = s.req_per_core_s.unwrap_or(0.0);
                let m = format!("{}: {rpc:.0} req/s per core, {:.0} req/s measured", s.target.id, s.throughput_rps);
                if rpc > value * 100.0 {
                    v("refuted", m, format!("sessions serve over {:.0}× the claimed ceiling per core", rpc / value))
                } else {
                    v("supported", m, "capacity is near the claimed ceiling".into())
                }
            }
            None => missing("session browse (closed) case"),
        },
        "extra_cores_at" => {
            match (session(r, StoreKind::Postgres).or_else(|| session(r, StoreKind::Redis)), jwt(r, Alg::Hs256)) {
                (Some(s), Some(j)) if s.cpu_us_per_request.store.is_some() => {
                    let extra = (total_cpu(s) - total_cpu(j)) * value / 1e6;
                    let m = format!("{}: {:.1} µs vs jwt {:.1} µs CPU per request (target + store): {extra:.2} extra cores at {value:.0} req/s", s.target.id, total_cpu(s), total_cpu(j));
                    if extra <= 1.0 {
                        v("refuted", m, format!("even at {value:.0} req/s sessions cost at most one extra core; below it JWT saves less"))
                    } else {
                        v("supported", m, format!("sessions need {extra:.1} extra cores at {value:.0} req/s"))
                    }
                }
                (Some(_), Some(_)) => v(
                    "depends-on",
                    "store CPU not visible".into(),
                    "the store is external; run with throwaway stores to attribute its CPU".into(),
                ),
                _ => missing("session and jwt HS256 browse (closed) cases"),
            }
        }
        "jwt_bytes" => match (
            jwt(r, Alg::Hs256),
            session(r, StoreKind::Redis)
                .or_else(|| session(r, StoreKind::Postgres))
                .or_else(|| session(r, StoreKind::Memory)),
        ) {
            (Some(j), Some(s)) => {
                let mut m = format!(
                    "auth bytes per request: jwt HS256 {:.0}, session {:.0}",
                    j.bytes_per_request.auth, s.bytes_per_request.auth
                );
                let rsa = jwt(r, Alg::Rs256).map(|x| x.bytes_per_request.auth);
                if let Some(b) = rsa {
                    m.push_str(&format!(", jwt RS256 {b:.0}"));
                }
                let bigger = j.bytes_per_request.auth > s.bytes_per_request.auth;
                match (bigger, rsa) {
                    (true, Some(b)) if b > j.bytes_per_request.auth => v(
                        "supported",
                        m,
                        "every request carries the whole token; an RSA signature adds 256 bytes before base64".into(),
                    ),
                    (true, None) => v("supported", m, "RS256 not in this run; the JWT part of the claim holds".into()),
                    _ => v("refuted", m, "the JWT is not larger here".into()),
                }
            }
            _ => missing("jwt HS256 and session browse (closed) cases"),
        },
        "jwt_revocation" | "jwt_stale_role" => {
            let probe = r
                .probes
                .iter()
                .find(|p| p.target.spec.strategy == StrategyKind::Jwt && p.target.spec.denylist.is_none());
            match probe {
                Some(p) => {
                    let w = if c.rule == "jwt_revocation" { &p.revocation } else { &p.stale_role };
                    let m = match w.measured_s {
                        Some(s) => format!("refused after {s:.2} s (bound {} s)", w.bound_s),
                        None => format!(
                            "still accepted after the {:.0} s cap; bound {} s ({:.1} days)",
                            p.cap_s,
                            w.bound_s,
                            w.bound_s as f64 / 86_400.0
                        ),
                    };
                    let why = if c.rule == "jwt_revocation" {
                        "nothing server-side can invalidate an issued token before exp; a denylist or short TTL (hybrid) closes the window"
                    } else {
                        "an issued token carries the role it was signed with until exp; only a new login (or a short TTL) picks it up"
                    };
                    if w.still_accepted_at_cap && w.bound_s as f64 >= p.cap_s {
                        v("supported", m, why.into())
                    } else {
                        v("refuted", m, "the token was refused before its exp".into())
                    }
                }
                None => missing("security probe of a jwt target"),
            }
        }
        "denylist_ops" => match closed(r, |c| c.target.spec.denylist.is_some()) {
            Some(d) => {
                let m = format!("{}: {:.2} store ops per request", d.target.id, d.store_ops_per_request);
                if (d.store_ops_per_request - 1.0).abs() < 0.05 {
                    v("supported", m, "revocation is bought back with exactly the lookup sessions make".into())
                } else {
                    v("refuted", m, "the denylist did not cost one lookup per request".into())
                }
            }
            None => missing("jwt + denylist browse (closed) case"),
        },
        other => ("—".into(), "not measured".into(), format!("unknown rule {other}")),
    }
}

/// Verdicts for every claim, in file order.
pub fn judge(claims: &[Claim], r: &Results) -> Vec<Verdict> {
    claims
        .iter()
        .map(|c| {
            let (measured, verdict, because) = decide(c, r);
            Verdict {
                id: c.id.clone(),
                claim: c.claim.clone(),
                source: c.source.clone(),
                metric: c.metric.clone(),
                measured,
                verdict,
                because,
            }
        })
        .collect()
}
