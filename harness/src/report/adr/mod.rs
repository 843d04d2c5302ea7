//! `authbench adr`: an architecture decision record from a run and the user's priorities.
//!
//! Each measured configuration is scored on five criteria normalised across the candidates
//! (1 = best of this run, 0 = worst); the user's priorities weight them high = 3, medium = 2, low = 1.
//! A figure the run did not measure (the CPU of an external store) is never read as 0: the candidate
//! is left out of that criterion, and its score is the weighted mean of the criteria it was measured
//! on, scaled to the full weight. The ADR says so wherever it happens.

mod priorities;
mod rank;

use std::fmt::Write as _;

use authbench_targets::spec::StoreKind;

pub use self::priorities::{Criterion, Level, Priorities, Priority, PriorityError};
pub use self::rank::{rank, unprobed, AdrError, Candidate, StorePath};
use crate::model::results::Results;

fn score_cell(score: Option<f64>) -> String {
    score.map_or_else(|| "not scored (nothing weighed was measured)".to_owned(), |s| format!("{s:.2}"))
}

/// Options lacking a figure, per criterion, with how the scoring treats them.
fn not_measured_note(opts: &[Candidate], priorities: &Priorities) -> String {
    let mut s = String::new();
    for criterion in Criterion::ALL {
        let missing: Vec<&str> =
            opts.iter().filter(|o| o.figure(criterion).is_none()).map(|o| o.target.as_str()).collect();
        if missing.is_empty() {
            continue;
        }
        let weighed = priorities.iter().any(|p| p.criterion == criterion);
        let _ = write!(
            s,
            "\nThe {criterion} figure was not measured for {} ({}). ",
            missing.join(", "),
            criterion.why_not_measured()
        );
        if weighed {
            s.push_str(
                "These options are left out of this driver, never counted as 0: the driver is normalised across the \
                 options that measured it, and each of these options scores the weighted mean of the drivers it was \
                 measured on, scaled to the full weight, so the missing figure counts neither as best nor as worst.\n",
            );
        } else {
            s.push_str("The driver is not weighed here, so the scores do not depend on it.\n");
        }
    }
    s
}

/// The ADR in MADR format, citing the run's figures.
pub fn render(r: &Results, priorities: &Priorities, title: &str) -> Result<String, AdrError> {
    let opts = rank(r, priorities)?;
    let mut s = context(r, priorities, title);
    s.push_str(&options(r, &opts, priorities));
    s.push_str(&outcome(&opts));
    Ok(s)
}

fn context(r: &Results, priorities: &Priorities, title: &str) -> String {
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
    for p in priorities.iter() {
        let _ = writeln!(s, "* {} ({}): {}", p.criterion, p.level, p.criterion.what());
    }
    s
}

fn options(r: &Results, opts: &[Candidate], priorities: &Priorities) -> String {
    let rows: Vec<Vec<String>> = opts
        .iter()
        .map(|o| {
            vec![
                o.target.clone(),
                format!("{:.2}", o.revocation_s),
                o.cpu_us.map_or_else(
                    || format!("not measured (external store; target alone {:.1})", o.target_cpu_us),
                    |v| format!("{v:.1}"),
                ),
                format!("{:.0}", o.p99_us),
                format!("{:.0}", o.bytes),
                o.store_path.as_str().to_owned(),
                score_cell(o.score),
            ]
        })
        .collect();
    let mut s = String::from("\n## Considered Options\n\n");
    s.push_str(&crate::report::render::markdown::table(
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
    s.push_str(&not_measured_note(opts, priorities));
    let left_out = unprobed(r);
    if !left_out.is_empty() {
        let _ = writeln!(
            s,
            "\nLeft out: {} (no security probe in this run, so no revocation window to weigh).",
            left_out.join(", ")
        );
    }
    s
}

fn outcome(opts: &[Candidate]) -> String {
    let best = &opts[0];
    let score = score_cell(best.score);
    let why = match opts.get(1) {
        Some(o) => format!("{score}; the runner-up, {}, scores {}", o.target, score_cell(o.score)),
        None => format!("{score}; it is the only option in this run"),
    };
    let cpu = match best.cpu_us {
        Some(v) => format!("{v:.1} µs of CPU (target + store)"),
        None => format!("{:.1} µs of target CPU (the external store's share was not measured)", best.target_cpu_us),
    };
    let memory = match best.spec.needed_store() {
        Some(StoreKind::Memory) => {
            "* The store lives in the target's memory: one instance only, and every session or denylist entry is lost on \
             restart. With more than one instance, take the best Redis or PostgreSQL option above.\n"
        }
        Some(StoreKind::Postgres | StoreKind::Redis | StoreKind::RedisCluster) | None => "",
    };
    format!(
        "\n## Decision Outcome\n\nChosen option: **{}**, because it scores highest for these drivers ({why}).\n\n\
         ### Consequences\n\n\
         * A revoked credential can be used for up to {:.2} s.\n\
         * Each request costs {cpu} and {:.0} bytes on the wire; p99 was {:.0} µs at saturation.\n\
         * Store dependency: {}.\n{memory}\n## Method\n\nEach driver is normalised across the options of this run (1 = \
         best, 0 = worst; the revocation window on a log scale) and weighted high = 3, medium = 2, low = 1. The \
         revocation window is the security probe's measurement, or the TTL bound where the probe stopped waiting.\n",
        best.target,
        best.revocation_s,
        best.bytes,
        best.p99_us,
        best.store_path.consequence(),
    )
}
