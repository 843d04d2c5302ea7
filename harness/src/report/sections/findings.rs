//! The sections that judge the run: security windows, claims, caveats and what was skipped.

use crate::model::probe::{ProbeResult, WindowResult};
use crate::model::results::{CaseRole, Results, RunStatus};
use crate::report::claims::Verdict;
use crate::report::document::{Block, Section, Text};

fn window(w: &WindowResult, cap: f64) -> String {
    match w.measured_s {
        Some(s) => format!("{s:.2} s"),
        None => format!("still accepted after {cap:.0} s (cap)"),
    }
}

const SECURITY_HEAD: [&str; 6] =
    ["target", "revoked user served for", "bound", "demoted admin served for", "bound", "store bytes per session"];

fn security_row(p: &ProbeResult) -> Vec<String> {
    vec![
        p.target.id.clone(),
        window(&p.revocation, p.cap_s),
        format!("{} s", p.revocation.bound_s),
        window(&p.stale_role, p.cap_s),
        format!("{} s", p.stale_role.bound_s),
        p.storage.as_ref().map_or("—".into(), |s| format!("{:.0}", s.bytes_per_record)),
    ]
}

/// Each probe's windows beside their bounds, then how the probe measured them.
pub fn security(r: &Results) -> Section {
    let mut blocks = vec![Block::table(&SECURITY_HEAD, r.probes.iter().map(security_row).collect())];
    if let Some(p) = r.probes.first() {
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
