//! Rules on the security windows the probe measures: jwt without denylist, and hybrid per access TTL.

use authbench_targets::spec::StrategyKind;

use crate::model::probe::{Applicability, ProbeResult, Reuse, ReuseOutcome, WindowResult};
use crate::model::results::Results;
use crate::report::claims::verdict::{
    judge_figures, need, Decision, Direction, Figure, Outcome, Reading, Stated, VerdictKind,
};

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

/// "Access tokens of at most claimed_s bound a revoked user's access": the revocation window of
/// each hybrid configuration served the plain way, one per access TTL (measured, or the bound the
/// target promises where the probe stopped waiting).
pub(super) fn hybrid_window_s(r: &Results, claimed_s: f64, t: f64) -> Decision {
    let plain = |p: &&ProbeResult| {
        let s = &p.target.spec;
        s.strategy == StrategyKind::Hybrid && s.is_plain() && s.store_rtt.0.is_zero()
    };
    let mut probes: Vec<&ProbeResult> = r.probes.iter().filter(plain).collect();
    probes.sort_by_key(|p| p.target.spec.ttls.access.0);
    probes.dedup_by_key(|p| p.target.spec.ttls.access.0);
    need(probes.first(), || "security probe of a hybrid target".into())?;
    let readings: Vec<Reading> = probes.iter().map(|p| window_reading(p)).collect();
    let stated = Stated { value: claimed_s, direction: Direction::AtMost, unit: " s", digits: 1, scale: 1.0 };
    let why = "A revoked user keeps a valid access token until it expires, so the access TTL is the window; the \
               refresh token, refused at once, is what ends the session.";
    judge_figures(&stated, &readings, t, why)
}

/// A hybrid probe's revocation window as a one-window figure, the bound where the probe gave up.
fn window_reading(p: &ProbeResult) -> Reading {
    let s = p.revocation.measured_or_bound_s(p.cap_s);
    let how = match p.revocation.measured_s {
        Some(_) => "measured".to_owned(),
        None => format!("the bound: still accepted at the probe's {:.0} s cap", p.cap_s),
    };
    Reading {
        condition: format!("{} (access TTL {}, {how})", p.target.id, p.target.spec.ttls.access),
        figure: Figure { median: s, low: s, high: s, n: 1 },
    }
}

/// "Logging a JWT out needs an allow- or deny-list": from the logout probe, every jwt without a
/// denylist kept its logged-out token past the probe's cap, and every jwt with one refused it
/// within two poll intervals. Refuted by a list-less token refused early or a listed one served on.
pub(super) fn logout_needs_list(r: &Results) -> Decision {
    let jwt = |p: &&ProbeResult| p.target.spec.strategy == StrategyKind::Jwt && p.logout.is_some();
    let probes: Vec<&ProbeResult> = r.probes.iter().filter(jwt).collect();
    need(probes.first(), || "logout probe of a jwt target".into())?;
    let mut lines = Vec::new();
    let mut holds = true;
    for p in &probes {
        let Some(w) = p.logout.as_ref() else { continue };
        let resolution = 2.0 * p.poll_interval_ms as f64 / 1e3;
        let (line, ok) = match (p.target.spec.denylist, w.measured_s) {
            (None, None) => (
                format!("{}: still accepted after the {:.0} s cap (bound {} s)", p.target.id, p.cap_s, w.bound_s),
                true,
            ),
            (None, Some(s)) => (format!("{}: refused after {s:.2} s without a list", p.target.id), false),
            (Some(_), Some(s)) => (format!("{}: refused after {s:.3} s", p.target.id), s <= resolution),
            (Some(_), None) => {
                (format!("{}: still accepted after the {:.0} s cap with its denylist", p.target.id, p.cap_s), false)
            }
        };
        holds &= ok;
        lines.push(line);
    }
    let measured = lines.join("; ");
    let because = format!(
        "{measured} (logout probe: each user logs out, then its old token is polled until refused or the cap); rule: \
         supported when every jwt without a denylist still served the logged-out token at the cap and every jwt \
         with one refused it within two poll intervals, refuted otherwise. Logout of a bare JWT only forgets it \
         on the client."
    );
    Ok(if holds { Outcome::supported(measured, because) } else { Outcome::refuted(measured, because) })
}

/// "Rotating refresh tokens detects reuse: replaying a spent one revokes the active one": from the
/// reuse probe of each hybrid configuration, the spent token refused and its successor refused too.
pub(super) fn reuse_revokes_family(r: &Results) -> Decision {
    let hybrid = |p: &&ProbeResult| p.target.spec.strategy == StrategyKind::Hybrid;
    let found: Vec<(&ProbeResult, &Reuse)> = r
        .probes
        .iter()
        .filter(hybrid)
        .filter_map(|p| match &p.reuse {
            Some(Applicability::Measured(u)) => Some((p, u)),
            _ => None,
        })
        .collect();
    need(found.first(), || "reuse probe of a hybrid target".into())?;
    let each: Vec<(String, ReuseOutcome)> = found
        .iter()
        .map(|(p, u)| {
            let o = u.outcome();
            (format!("{}: replay {}, successor {} ({o:?})", p.target.id, u.replay.status, u.successor.status), o)
        })
        .collect();
    let measured = each.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join("; ");
    let revoked = each.iter().filter(|(_, o)| *o == ReuseOutcome::FamilyRevoked).count();
    let because = format!(
        "{measured}; rule: supported when in every hybrid configuration the replayed spent token was refused and \
         took its successor with it, refuted when any configuration accepted the replay or kept the successor, \
         depends-on when they differ ({revoked} of {} revoked the family).",
        each.len()
    );
    let undecided = each.iter().any(|(_, o)| *o == ReuseOutcome::Inconclusive);
    Ok(match (revoked, undecided) {
        (_, true) => Outcome {
            measured,
            verdict: VerdictKind::NotMeasured,
            because: format!("a probe answer was neither 200 nor 401: {because}"),
        },
        (n, false) if n == each.len() => Outcome::supported(measured, because),
        (0, false) => Outcome::refuted(measured, because),
        _ => Outcome { measured, verdict: VerdictKind::DependsOn, because },
    })
}
