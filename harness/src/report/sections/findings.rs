//! The sections that judge the run: security windows, claims, caveats and what was skipped.

use crate::model::probe::{
    Answer, Applicability, Exposure, ProbeResult, RefreshAfterRevoke, Reply, Reuse, ReuseOutcome, Skip, WindowResult,
};
use crate::model::results::{CaseRole, Results, RunStatus};
use crate::report::claims::Verdict;
use crate::report::document::{Block, Section, Text};

fn window(w: &WindowResult, cap: f64) -> String {
    match w.measured_s {
        Some(s) => format!("{s:.2} s"),
        None => format!("still accepted after {cap:.0} s (cap)"),
    }
}

const SECURITY_HEAD: [&str; 11] = [
    "target",
    "revoked user served for",
    "bound",
    "demoted admin served for",
    "bound",
    "logged-out user served for",
    "bound",
    "refresh after revoke",
    "spent refresh replayed",
    "observer on the path",
    "store bytes per session",
];

/// How to read the table, in one sentence.
const SECURITY_READING: &str = "How to read it: each window is how long a credential kept working after its user was \
     revoked, demoted or logged out (still accepted at the cap means the probe stopped waiting, and the bound is what \
     the TTLs allow); refresh after revoke is what /auth/refresh answered to the revoked user's pre-revoke refresh \
     credential, and spent refresh replayed is what presenting a rotated-away refresh credential again did to it and to \
     its successor, where family revoked is reuse detection; observer on the path is what someone relaying the \
     connection read in one authenticated request and whether presenting it got them served.";

const NOT_MEASURED: &str = "not measured";

fn skip_text(skip: Skip) -> String {
    match skip {
        Skip::NoRefreshToken => "does not apply: no refresh token".into(),
    }
}

fn reply_text(r: Reply) -> String {
    match r.answer {
        Answer::Accepted => format!("accepted ({})", r.status),
        Answer::Refused => format!("refused ({})", r.status),
        Answer::Other => format!("neither ({})", r.status),
    }
}

fn refresh_after_revoke_cell(a: Option<&Applicability<RefreshAfterRevoke>>) -> String {
    match a {
        None => NOT_MEASURED.into(),
        Some(Applicability::NotApplicable(skip)) => skip_text(*skip),
        Some(Applicability::Measured(m)) => match m.refused_after_s {
            Some(s) => format!("{} after {s:.3} s", reply_text(m.reply)),
            None => reply_text(m.reply),
        },
    }
}

fn reuse_cell(a: Option<&Applicability<Reuse>>) -> String {
    let m = match a {
        None => return NOT_MEASURED.into(),
        Some(Applicability::NotApplicable(skip)) => return skip_text(*skip),
        Some(Applicability::Measured(m)) => m,
    };
    let outcome = match m.outcome() {
        ReuseOutcome::FamilyRevoked => "family revoked",
        ReuseOutcome::SpentRefused => "successor still works",
        ReuseOutcome::SpentAccepted => "never spent",
        ReuseOutcome::Inconclusive => "inconclusive",
    };
    format!("{}, successor {}: {outcome}", reply_text(m.replay), reply_text(m.successor))
}

fn observer_cell(e: Option<&Exposure>) -> String {
    let Some(e) = e else { return NOT_MEASURED.into() };
    match (e.lifted, e.replay) {
        (Some(h), Some(reply)) => format!("read the {} header: {}", h.as_str(), reply_text(reply)),
        (Some(h), None) => format!("read the {} header", h.as_str()),
        (None, _) => format!("nothing readable in {} B", e.captured_bytes),
    }
}

fn security_row(p: &ProbeResult) -> Vec<String> {
    vec![
        p.target.id.clone(),
        window(&p.revocation, p.cap_s),
        format!("{} s", p.revocation.bound_s),
        window(&p.stale_role, p.cap_s),
        format!("{} s", p.stale_role.bound_s),
        p.logout.as_ref().map_or(NOT_MEASURED.into(), |w| window(w, p.cap_s)),
        p.logout.as_ref().map_or("—".into(), |w| format!("{} s", w.bound_s)),
        refresh_after_revoke_cell(p.refresh_after_revoke.as_ref()),
        reuse_cell(p.reuse.as_ref()),
        observer_cell(p.exposure.as_ref()),
        p.storage.as_ref().map_or("—".into(), |s| format!("{:.0}", s.bytes_per_record)),
    ]
}

/// Each probe's windows beside their bounds and the refresh checks, then how to read them and how
/// the probe measured them.
pub fn security(r: &Results) -> Section {
    let mut blocks = vec![Block::table(&SECURITY_HEAD, r.probes.iter().map(security_row).collect())];
    if let Some(p) = r.probes.first() {
        blocks.push(Block::paragraph(SECURITY_READING.to_owned()));
        blocks.push(Block::paragraph(format!("Method: {}", p.method)));
    }
    Section::new("Security windows", blocks)
}

fn claim_row(v: &Verdict) -> Vec<String> {
    let source = match &v.url {
        Some(url) => format!("{} ({url})", v.source),
        None => v.source.clone(),
    };
    vec![
        v.claim.clone(),
        source,
        format!("{}, stated under: {}", v.states, v.condition),
        v.measured.clone(),
        format!("{} — {}", v.verdict, v.because),
    ]
}

/// Each claim with what it states and under which condition, what this run measured and its verdict.
pub fn claims(verdicts: &[Verdict]) -> Section {
    let rule = "One rule decides every claim with a figure: the run's median and 95 % interval over repetitions, \
                widened by the claim's tolerance, either holds the claimed figure (about), stays on its side (at \
                most, at least) or not; a claim is judged under each measured condition it covers (store, round \
                trip, access TTL, load) and is depends-on only when those verdicts differ. harness/claims.toml \
                states the rule and each claim's thresholds; a figure the run lacks makes the claim not measured.";
    Section::new(
        "Claims",
        vec![
            Block::paragraph(rule),
            Block::table(
                &["claim", "source", "states", "this run measured", "verdict"],
                verdicts.iter().map(claim_row).collect(),
            ),
        ],
    )
}

fn shared_machine(r: &Results) -> String {
    format!(
        "Load generator, targets and stores shared {} cores of one machine: absolute req/s mostly measures the load \
         generator; CPU µs per request and req/core·s describe the target alone and transfer.",
        r.environment.cores.map_or_else(|| "an unknown number of".to_owned(), |n| n.to_string())
    )
}

/// What limits the figures of this run.
pub fn caveats(r: &Results) -> Section {
    let mut out = vec![shared_machine(r)];
    // A fault case that restarted its store has no store CPU by design, not because it was external.
    if r.cases.iter().any(|c| c.role != CaseRole::Fault && c.cpu_us_per_request.store.is_none()) {
        out.push("Some stores were external: their CPU is not visible from here and shows as —.".into());
    }
    out.push(
        "CPU comes from /proc in 10 ms ticks: short windows at low rates carry a few percent of quantisation.".into(),
    );
    let intervals: std::collections::BTreeSet<u64> = r.probes.iter().map(|p| p.poll_interval_ms).collect();
    if !intervals.is_empty() {
        let every = intervals.iter().map(|ms| format!("{ms} ms")).collect::<Vec<_>>().join(" or ");
        out.push(format!(
            "Security windows are measured by polling every {every} up to a cap; a window reported as the cap only \
             says the probe stopped waiting."
        ));
    }
    if r.status != RunStatus::Complete {
        out.push(format!("The run is {}: only finished cases are shown.", r.status.as_str()));
    }
    Section::new("Caveats", vec![Block::List(out.into_iter().map(Text::plain).collect())])
}

/// Cases and probes that did not run, and why; None when everything ran.
pub fn skipped(r: &Results) -> Option<Section> {
    if r.skipped.is_empty() {
        return None;
    }
    let rows = r.skipped.iter().map(|s| vec![s.id.clone(), s.reason.clone()]).collect();
    Some(Section::new("Skipped", vec![Block::table(&["case", "reason"], rows)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::probe::RefreshCredential;
    use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
    use authbench_targets::token::alg::Alg;

    fn probe(strategy: StrategyKind) -> ProbeResult {
        let w =
            WindowResult { measured_s: Some(0.01), still_accepted_at_cap: false, bound_s: 0, accepted_after_change: 0 };
        ProbeResult {
            target: (&TargetSpec::stored(strategy, StoreKind::Redis, Alg::Hs256)).into(),
            users: 1,
            cap_s: 2.0,
            poll_interval_ms: 20,
            revocation: w.clone(),
            stale_role: w,
            logout: None,
            refresh_after_revoke: None,
            reuse: None,
            method: "m".into(),
            storage: None,
            exposure: None,
            agreement: None,
        }
    }

    #[test]
    fn a_file_from_before_the_new_probes_says_not_measured() {
        let row = security_row(&probe(StrategyKind::Session));
        assert_eq!(row.len(), SECURITY_HEAD.len());
        assert_eq!(row[5..9], ["not measured", "—", "not measured", "not measured"]);
    }

    #[test]
    fn rows_carry_the_logout_window_and_the_refresh_answers() {
        let mut s = probe(StrategyKind::Session);
        s.logout = Some(s.revocation.clone());
        s.refresh_after_revoke = Some(Applicability::NotApplicable(Skip::NoRefreshToken));
        s.reuse = Some(Applicability::NotApplicable(Skip::NoRefreshToken));
        let row = security_row(&s);
        assert_eq!(
            row[5..9],
            ["0.01 s", "0 s", "does not apply: no refresh token", "does not apply: no refresh token"]
        );

        let mut h = probe(StrategyKind::Hybrid);
        h.logout =
            Some(WindowResult { measured_s: None, still_accepted_at_cap: true, bound_s: 3, accepted_after_change: 9 });
        let credential = RefreshCredential::RefreshToken;
        let after = RefreshAfterRevoke { credential, reply: Reply::of(401), refused_after_s: Some(0.0042) };
        h.refresh_after_revoke = Some(Applicability::Measured(after));
        h.reuse =
            Some(Applicability::Measured(Reuse { credential, replay: Reply::of(401), successor: Reply::of(401) }));
        let row = security_row(&h);
        assert_eq!(row[5], "still accepted after 2 s (cap)");
        assert_eq!(row[6], "3 s");
        assert_eq!(row[7], "refused (401) after 0.004 s");
        assert_eq!(row[8], "refused (401), successor refused (401): family revoked");

        let mut j = probe(StrategyKind::Jwt);
        let credential = RefreshCredential::AccessToken;
        let after = RefreshAfterRevoke { credential, reply: Reply::of(200), refused_after_s: None };
        j.refresh_after_revoke = Some(Applicability::Measured(after));
        j.reuse =
            Some(Applicability::Measured(Reuse { credential, replay: Reply::of(200), successor: Reply::of(200) }));
        let row = security_row(&j);
        assert_eq!(row[7..9], ["accepted (200)", "accepted (200), successor accepted (200): never spent"]);
        assert!(!SECURITY_READING.contains('`'), "the terminal text carries no backticks");
    }
}
