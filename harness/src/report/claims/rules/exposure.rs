//! Rules on what an observer on the path gets (the probe's exposure step): the credential read off
//! a plain connection and served again, and the attributes the login's cookies carried.

use authbench_targets::spec::Transport;

use crate::model::probe::{Exposure, ProbeResult};
use crate::model::results::Results;
use crate::report::claims::verdict::{need, Decision, Outcome, VerdictKind};

/// The probes that ran the exposure step, with it.
fn exposed(r: &Results) -> impl Iterator<Item = (&ProbeResult, &Exposure)> {
    r.probes.iter().filter_map(|p| p.exposure.as_ref().map(|e| (p, e)))
}

/// What one configuration's exposure shows, and whether it bears the claim out: over plain HTTP
/// the credential read and served to the observer, over TLS nothing readable.
fn reading(p: &ProbeResult, e: &Exposure) -> (String, bool) {
    match (p.target.spec.tls, e.lifted, e.replay) {
        (false, Some(h), Some(reply)) => (
            format!("plain HTTP: the {} header read in clear, answered {}", h.as_str(), reply.status),
            e.replay_served(),
        ),
        (false, _, _) => ("plain HTTP: no credential readable".into(), false),
        (true, None, _) => ("TLS: nothing readable in the captured records".into(), true),
        (true, Some(h), _) => (format!("TLS: the {} header read in clear", h.as_str()), false),
    }
}

/// Configurations grouped by what their exposure showed: supported when every one bears the claim
/// out, refuted when none does, depends-on otherwise.
fn verdict(each: Vec<(&ProbeResult, (String, bool))>, rule: &str) -> Outcome {
    let mut groups: Vec<(String, bool, Vec<&str>)> = Vec::new();
    for (p, (line, ok)) in &each {
        match groups.iter_mut().find(|(l, _, _)| l == line) {
            Some(g) => g.2.push(&p.target.id),
            None => groups.push((line.clone(), *ok, vec![&p.target.id])),
        }
    }
    let held = each.iter().filter(|(_, (_, ok))| *ok).count();
    let measured = groups
        .iter()
        .map(|(line, _, ids)| {
            let n = if ids.len() == 1 { "1 configuration".into() } else { format!("{} configurations", ids.len()) };
            format!("{line} ({n}: {})", ids.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    let because = format!("{measured}; rule: {rule} ({held} of {} configurations bear it out).", each.len());
    match held {
        n if n == each.len() => Outcome::supported(measured, because),
        0 => Outcome::refuted(measured, because),
        _ => Outcome { measured, verdict: VerdictKind::DependsOn, because },
    }
}

/// "Credentials need HTTPS": from the exposure step of every probed configuration.
pub(super) fn cleartext_replay(r: &Results) -> Decision {
    need(exposed(r).find(|(p, _)| !p.target.spec.tls), || {
        "exposure step of the security probe of a configuration served without TLS (runs from before it lack it)".into()
    })?;
    Ok(verdict(
        exposed(r).map(|(p, e)| (p, reading(p, e))).collect(),
        "supported when over plain HTTP the observer read the credential header and was served with it, and over \
         TLS read nothing; refuted when a plain credential could not be read or replayed, or a TLS one could",
    ))
}

/// "Cookies need Secure and SameSite": the attributes each cookie configuration's login set, what
/// they cost, and what a cookie read off a plain connection (which Secure keeps a browser from
/// sending) got the observer.
pub(super) fn cookie_flags(r: &Results) -> Decision {
    let cookies: Vec<(&ProbeResult, &Exposure)> =
        exposed(r).filter(|(p, _)| p.target.spec.transport == Transport::Cookie).collect();
    need(cookies.iter().find(|(p, _)| !p.target.spec.tls), || {
        "exposure step of a cookie configuration served without TLS".into()
    })?;
    let attributes = cookies.iter().map(|(p, e)| format!("{}: {}", p.target.id, flags(e))).collect::<Vec<_>>();
    let plain = cookies.iter().filter(|(p, _)| !p.target.spec.tls).map(|(p, e)| (*p, reading(p, e))).collect();
    let mut out = verdict(
        plain,
        "supported when a session cookie read off a plain connection, which Secure keeps a browser from sending there, \
         served the observer; refuted when it did not. SameSite acts in browsers on cross-site requests, which this \
         run does not make: its need is not measured, only that the targets set it",
    );
    out.measured = format!("{}; set: {}", out.measured, attributes.join("; "));
    out.because = format!("set: {}; {}", attributes.join("; "), out.because);
    Ok(out)
}

/// The attributes of one login's cookies, and their bytes (on that answer only, never sent back).
fn flags(e: &Exposure) -> String {
    if e.set_cookies.is_empty() {
        return "no Set-Cookie on the login answer".into();
    }
    e.set_cookies
        .iter()
        .map(|c| {
            let mut a = Vec::new();
            a.extend(c.http_only.then_some("HttpOnly".to_owned()));
            a.extend(c.secure.then_some("Secure".to_owned()));
            a.push(c.same_site.map_or("no SameSite".into(), |s| format!("SameSite={}", s.as_str())));
            format!("{} {} (+{} B on the login answer, 0 B per request)", c.name, a.join(" "), c.attribute_bytes)
        })
        .collect::<Vec<_>>()
        .join(", ")
}
