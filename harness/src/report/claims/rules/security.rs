//! Rules on the security windows the probe measures on a jwt target without denylist.

use authbench_targets::spec::StrategyKind;

use crate::model::probe::{ProbeResult, WindowResult};
use crate::model::results::Results;
use crate::report::claims::verdict::{need, Decision, Outcome};

/// "A JWT stays valid after revocation until it expires".
pub(super) fn jwt_revocation(r: &Results) -> Decision {
    window(
        r,
        |p| &p.revocation,
        "nothing server-side can invalidate an issued token before exp; a denylist or short TTL (hybrid) closes \
         the window",
    )
}

/// "Role changes do not reach JWTs already issued".
pub(super) fn jwt_stale_role(r: &Results) -> Decision {
    window(
        r,
        |p| &p.stale_role,
        "an issued token carries the role it was signed with until exp; only a new login or a refresh (or a short TTL) picks it up",
    )
}

/// Supported when the token was still accepted at the probe's cap and the bound reaches past it.
fn window(r: &Results, pick: fn(&ProbeResult) -> &WindowResult, why: &str) -> Decision {
    let plain_jwt = |p: &&ProbeResult| p.target.spec.strategy == StrategyKind::Jwt && p.target.spec.denylist.is_none();
    let p = need(r.probes.iter().find(plain_jwt), || "security probe of a jwt target".into())?;
    let w = pick(p);
    // measured_s is None when the token outlived the cap: a finding, not a missing figure.
    let m = match w.measured_s {
        Some(s) => format!("refused after {s:.2} s (bound {} s)", w.bound_s),
        None => format!(
            "still accepted after the {:.0} s cap; bound {} s ({:.1} days)",
            p.cap_s,
            w.bound_s,
            w.bound_s as f64 / 86_400.0
        ),
    };
    let rule = format!(
        "{m} (security probe of {}); rule: supported when the token was still accepted at the probe's {:.0} s cap and its \
         exp lies beyond the cap, refuted when it was refused before its exp",
        p.target.id, p.cap_s
    );
    Ok(if w.still_accepted_at_cap && w.bound_s as f64 >= p.cap_s {
        Outcome::supported(m, format!("{rule}: {why}"))
    } else {
        Outcome::refuted(m, format!("{rule}: the token was refused before its exp"))
    })
}
