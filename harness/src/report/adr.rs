//! `authbench adr`: an architecture decision record from a run and the user's priorities.
//!
//! Each measured configuration is scored on five criteria normalised across the candidates
//! (1 = best of this run, 0 = worst); the user's priorities weight them high = 3, medium = 2, low = 1.

use std::fmt::Write as _;

use crate::model::results::{Case, Results};

/// Criteria a user can weigh.
pub const CRITERIA: [&str; 5] = ["revocation", "cpu", "latency", "bandwidth", "simplicity"];

/// Parses `revocation=high,latency=medium,...` into (criterion, weight).
pub fn parse_priorities(text: &str) -> anyhow::Result<Vec<(String, f64)>> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (name, level) = p.split_once('=').unwrap_or((p, "high"));
            let (name, level) = (name.trim(), level.trim());
            anyhow::ensure!(CRITERIA.contains(&name), "unknown priority {name:?}: use {}", CRITERIA.join(", "));
            let w = match level {
                "high" => 3.0,
                "medium" => 2.0,
                "low" => 1.0,
                other => anyhow::bail!("priority level {other:?} for {name}: use high, medium or low"),
            };
            Ok((name.to_owned(), w))
        })
        .collect()
}

/// One candidate with its raw figures and score.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub target: String,
    /// Seconds a revoked credential may still be used (measured, or the bound when the probe capped).
    pub revocation_s: f64,
    pub cpu_us: f64,
    pub p99_us: f64,
    pub bytes: f64,
    /// 1 without any store, 0.5 with a store touched only on refresh, 0 with a lookup per request.
    pub simplicity: f64,
    pub score: f64,
}

fn candidates(r: &Results) -> Vec<Candidate> {
    r.closed_browse()
        .into_iter()
        .filter_map(|c: &Case| {
            let p = r.probe(&c.target.id)?;
            Some(Candidate {
                target: c.target.id.clone(),
                revocation_s: p.revocation.measured_s.unwrap_or(p.revocation.bound_s as f64),
                cpu_us: c.cpu_us_per_request.target + c.cpu_us_per_request.store.unwrap_or(0.0),
                p99_us: c.latency_us.p99 as f64,
                bytes: c.bytes_per_request.received + c.bytes_per_request.sent,
                simplicity: if c.target.spec.needed_store().is_none() {
                    1.0
                } else if c.store_ops_per_request < 0.5 {
                    0.5
                } else {
                    0.0
                },
                score: 0.0,
            })
        })
        .collect()
}

/// Normalises lower-is-better figures to 1 (best) .. 0 (worst); log scale for windows spanning decades.
fn norm_low(values: &[f64], log: bool) -> Vec<f64> {
    let t: Vec<f64> = values.iter().map(|v| if log { (v + 0.01).log10() } else { *v }).collect();
    let (lo, hi) = t.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    t.iter().map(|v| if hi > lo { (hi - v) / (hi - lo) } else { 1.0 }).collect()
}

/// Ranks the candidates for the given weighted priorities.
pub fn rank(r: &Results, priorities: &[(String, f64)]) -> anyhow::Result<Vec<Candidate>> {
    for (p, _) in priorities {
        anyhow::ensure!(CRITERIA.contains(&p.as_str()), "unknown priority {p:?}: use {}", CRITERIA.join(", "));
    }
    let mut opts = candidates(r);
    anyhow::ensure!(!opts.is_empty(), "the run has no browse (closed) case with a security probe to decide from");
    let column = |f: fn(&Candidate) -> f64| opts.iter().map(f).collect::<Vec<f64>>();
    let scores = [
        ("revocation", norm_low(&column(|o| o.revocation_s), true)),
        ("cpu", norm_low(&column(|o| o.cpu_us), false)),
        ("latency", norm_low(&column(|o| o.p99_us), false)),
        ("bandwidth", norm_low(&column(|o| o.bytes), false)),
        ("simplicity", column(|o| o.simplicity)),
    ];
    for (i, o) in opts.iter_mut().enumerate() {
        o.score = priorities
            .iter()
            .map(|(p, w)| scores.iter().find(|(name, _)| name == p).map_or(0.0, |(_, s)| w * s[i]))
            .sum();
    }
    opts.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.target.cmp(&b.target)));
    Ok(opts)
}

fn level(w: f64) -> &'static str {
    if w >= 3.0 {
        "high"
    } else if w >= 2.0 {
        "medium"
    } else {
        "low"
    }
}

/// The ADR in MADR format, citing the run's figures.
pub fn render(r: &Results, priorities: &[(String, f64)], title: &str) -> anyhow::Result<String> {
    let opts = rank(r, priorities)?;
    let best = &opts[0];
    let mut s = format!(
        "# {title}\n\n* Status: proposed\n* Evidence: authbench run {} ({}, {} cores, {})\n\n\
         ## Context and Problem Statement\n\nAPI requests must be authenticated. The options differ in what each request \
         costs and in how long a revoked user keeps access. Every figure below was measured in the run above, on real \
         PostgreSQL and Redis, not taken from published claims.\n\n## Decision Drivers\n\n",
        r.run_id,
        r.environment.cpu_model.as_deref().unwrap_or("unknown CPU"),
        r.environment.cores.map_or_else(|| "unknown".to_owned(), |n| n.to_string()),
        r.started_at
    );
    for (p, w) in priorities {
        let what = match p.as_str() {
            "revocation" => "how long a revoked credential keeps working",
            "cpu" => "CPU per request, target and store",
            "latency" => "p99 latency under saturation",
            "bandwidth" => "bytes on the wire per request",
            _ => "fewer moving parts: no store on the request path",
        };
        let _ = writeln!(s, "* {p} ({}): {what}", level(*w));
    }
    let rows: Vec<Vec<String>> = opts
        .iter()
        .map(|o| {
            let stores = match o.simplicity {
                x if x >= 1.0 => "none",
                x if x > 0.0 => "on refresh only",
                _ => "every request",
            };
            vec![
                o.target.clone(),
                format!("{:.2}", o.revocation_s),
                format!("{:.1}", o.cpu_us),
                format!("{:.0}", o.p99_us),
                format!("{:.0}", o.bytes),
                stores.to_owned(),
                format!("{:.2}", o.score),
            ]
        })
        .collect();
    s.push_str("\n## Considered Options\n\n");
    s.push_str(&super::markdown::table(
        &[
            "option",
            "revocation window (s)",
            "CPU µs/request (target + store)",
            "p99 µs",
            "bytes/request",
            "store on the request path",
            "score",
        ],
        &rows,
    ));
    let _ = write!(
        s,
        "\n## Decision Outcome\n\nChosen option: **{}**, because it scores highest for these drivers ({:.2}; the runner-up, \
         {}, scores {:.2}).\n\n### Consequences\n\n\
         * A revoked credential can be used for up to {:.2} s.\n\
         * Each request costs {:.1} µs of CPU (target + store) and {:.0} bytes on the wire; p99 was {:.0} µs at saturation.\n\
         * Store dependency: {}.\n{}\n## Method\n\nEach driver is normalised across the options of this run (1 = best, \
         0 = worst; the revocation window on a log scale) and weighted high = 3, medium = 2, low = 1. The revocation \
         window is the security probe's measurement, or the TTL bound where the probe stopped waiting.\n",
        best.target,
        best.score,
        opts.get(1).map_or("none", |o| o.target.as_str()),
        opts.get(1).map_or(0.0, |o| o.score),
        best.revocation_s,
        best.cpu_us,
        best.bytes,
        best.p99_us,
        if best.simplicity >= 1.0 {
            "none"
        } else if best.simplicity > 0.0 {
            "the store is needed for login and refresh only"
        } else {
            "every request needs the store; its availability bounds the API's"
        },
        if best.target.contains("memory") {
            "* The store lives in the target's memory: one instance only, and every session or denylist entry is lost on \
             restart. With more than one instance, take the best Redis or PostgreSQL option above.\n"
        } else {
            ""
        },
    );
    Ok(s)
}
