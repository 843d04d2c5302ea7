//! Rules on what travels on the wire with each request, and what protecting it costs.

use authbench_targets::spec::{Protocol, StoreKind, TargetSpec};
use authbench_targets::token::alg::Alg;

use super::{figure_of, jwt, jwt_hs256, session};
use crate::model::results::{Case, Results};
use crate::report::claims::verdict::{
    judge_figures, need, Decision, Direction, Figure, Missing, Outcome, Reading, Stated,
};

/// "JWTs grow every request, more with RSA keys": auth bytes of jwt HS256 against a session's,
/// and RS256's against HS256's where the run has RS256.
pub(super) fn jwt_bytes(r: &Results) -> Decision {
    let missing = || Missing("jwt HS256 and session browse (closed) cases".into());
    let any_session = session(r, StoreKind::Redis)
        .or_else(|| session(r, StoreKind::Postgres))
        .or_else(|| session(r, StoreKind::Memory));
    let (j, s) = jwt_hs256(r).ok().zip(any_session).ok_or_else(missing)?;
    let (jwt_auth, session_auth) = (j.bytes_per_request.auth, s.bytes_per_request.auth);
    let mut m = format!("auth bytes per request: jwt HS256 {jwt_auth:.0}, session {session_auth:.0}");
    let rsa = jwt(r, Alg::Rs256).map(|x| x.bytes_per_request.auth);
    if let Some(b) = rsa {
        m.push_str(&format!(", jwt RS256 {b:.0}"));
    }
    let rule = format!(
        "{m} ({} vs {}, {}); rule: supported when jwt HS256 carries more auth bytes per request than the \
         session and RS256 more than HS256, refuted otherwise",
        j.target.id,
        s.target.id,
        j.load.id()
    );
    Ok(match (jwt_auth > session_auth, rsa) {
        (true, Some(b)) if b > jwt_auth => Outcome::supported(
            m,
            format!("{rule}: every request carries the whole token; an RSA signature adds 256 bytes before base64"),
        ),
        (true, None) => {
            Outcome::supported(m, format!("{rule}: RS256 is not in this run; the JWT part of the claim holds"))
        }
        _ => Outcome::refuted(m, format!("{rule}: the JWT is not larger here")),
    })
}

/// "TLS is less than ~claimed_share of the CPU": for each configuration served over TLS on
/// HTTP/1.1 beside its plain twin (the same otherwise), the share of the TLS target's CPU per
/// request that TLS adds, over kept-alive connections.
pub(super) fn tls_cpu_share(r: &Results, claimed_share: f64, t: f64) -> Decision {
    let closed = r.closed_browse();
    let pairs: Vec<(&Case, &Case)> = closed
        .iter()
        .filter(|c| c.target.spec.tls && c.target.spec.protocol == Protocol::Http1)
        .filter_map(|tls| {
            let plain = TargetSpec { tls: false, ..tls.target.spec };
            closed.iter().find(|c| c.target.spec == plain).map(|p| (*tls, *p))
        })
        .collect();
    need(pairs.first(), || "TLS configuration on HTTP/1.1 with its plain twin, browse (closed)".into())?;
    let readings = pairs
        .iter()
        .map(|(tls, plain)| {
            let what = |x: &Case| format!("target CPU for {}", x.target.id);
            let a = figure_of(r, tls, |x| Some(x.cpu_us_per_request.target), what)?;
            let b = figure_of(r, plain, |x| Some(x.cpu_us_per_request.target), what)?;
            // The share TLS adds, from the two intervals' far ends for its own interval.
            let share = |tls_us: f64, plain_us: f64| (tls_us - plain_us) / tls_us;
            let figure = Figure {
                median: share(a.median, b.median),
                low: share(a.low, b.high),
                high: share(a.high, b.low),
                n: a.n.min(b.n),
            };
            Ok(Reading {
                condition: format!("{} against {}, {}", tls.target.id, plain.target.id, tls.load.id()),
                figure,
            })
        })
        .collect::<Result<Vec<_>, Missing>>()?;
    let stated = Stated { value: claimed_share, direction: Direction::AtMost, unit: " %", digits: 1, scale: 100.0 };
    let why = "TLS's share of the target's CPU per request over kept-alive connections (the handshake, paid once per \
               connection, is in the TLS and HTTP/2 section); on this machine the load generator's TLS shares the \
               same cores, so the share is the target's alone.";
    judge_figures(&stated, &readings, t, why)
}
