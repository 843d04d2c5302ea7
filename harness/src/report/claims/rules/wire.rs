//! Rules on what travels on the wire with each request.

use authbench_targets::spec::StoreKind;
use authbench_targets::token::alg::Alg;

use super::{jwt, jwt_hs256, session};
use crate::model::results::Results;
use crate::report::claims::verdict::{Decision, Missing, Outcome};

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
