//! Who was the bottleneck, and how honest the environment was: each representative case's CPU
//! shares (target, store, load generator) with the machine's steal, the load generator's ceiling
//! beside wrk's, and the warnings that open the report.

use crate::model::environment::BuildProfile;
use crate::model::results::{
    Case, CaseRole, LoadgenCeiling, Results, Shares, Summary, LOADGEN_BOUND_SHARE, STEAL_WARNING_SHARE,
};
use crate::report::document::{num, opt, opt_num, Block, Section, Text};

/// A share of the machine's CPU as a percentage.
fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

fn dirty(r: &Results) -> Option<Text> {
    (r.environment.git_dirty == Some(true)).then(|| {
        Text::plain("Measured from uncommitted source (git_dirty = true): commit ")
            .code(r.environment.git_sha.clone().unwrap_or_else(|| "unknown".into()))
            .and(" does not identify the code that ran.")
    })
}

fn debug(r: &Results) -> Option<Text> {
    (r.environment.build_profile == Some(BuildProfile::Debug))
        .then(|| Text::plain("A debug build measured this run: its figures say nothing about release performance."))
}

/// The cases of `cases` whose shares `pred` picks, each described by `show`, or None when there are none.
fn cases_where<'a>(
    cases: impl Iterator<Item = &'a Case>,
    pred: fn(&Shares) -> bool,
    show: fn(&Shares) -> String,
) -> Option<Vec<String>> {
    let hits: Vec<String> = cases
        .filter_map(|c| c.shares.as_ref().filter(|s| pred(s)).map(|s| format!("{} ({})", c.id, show(s))))
        .collect();
    (!hits.is_empty()).then_some(hits)
}

fn steal(r: &Results) -> Option<Text> {
    // Every window, fault cases included: steal makes their per-second figures suspect too.
    let hits = cases_where(r.cases.iter(), Shares::steal_warning, |s| s.steal.map_or_else(String::new, percent))?;
    Some(Text::plain(format!(
        "Steal time above {:.0} % of the machine's CPU in {} window(s): {}. The hypervisor took CPU this machine \
         wanted, so their latencies and rates are suspect.",
        STEAL_WARNING_SHARE * 100.0,
        hits.len(),
        hits.join(", ")
    )))
}

fn bound(r: &Results) -> Option<Text> {
    // A fault case's req/s is no speed figure: whether the generator limited it is beside the point.
    let mut per_config: Vec<(&str, usize)> = Vec::new();
    let bound_cases =
        r.cases.iter().filter(|c| c.role != CaseRole::Fault && c.shares.as_ref().is_some_and(Shares::loadgen_bound));
    for c in bound_cases {
        match per_config.iter_mut().find(|(id, _)| *id == c.target.id) {
            Some((_, n)) => *n += 1,
            None => per_config.push((&c.target.id, 1)),
        }
    }
    let total: usize = per_config.iter().map(|(_, n)| n).sum();
    (total > 0).then(|| {
        let each = per_config.iter().map(|(id, n)| format!("{id} ({n})")).collect::<Vec<_>>().join(", ");
        Text::plain(format!(
            "Load-generator bound in {total} case(s) of {} configuration(s): {each}. The load generator used at least \
             {LOADGEN_BOUND_SHARE} of a core while the target used less, so their req/s is the generator's limit, not \
             the target's; claims on saturation throughput do not use them, and the bottleneck section lists each \
             case with its shares.",
            per_config.len()
        ))
    })
}

/// The summary table's mark on req/s when the load generator limited some repetitions.
pub(super) fn bound_mark(s: &Summary) -> String {
    match s.loadgen_bound {
        0 => String::new(),
        k => format!(" (load-generator bound in {k} of {})", s.case_ids.len()),
    }
}

/// The warnings that open the report: uncommitted source, a debug build, steal, load-generator
/// bound cases; empty when there is nothing to warn about.
pub(super) fn warnings(r: &Results) -> Vec<Block> {
    let items: Vec<Text> = [dirty(r), debug(r), steal(r), bound(r)].into_iter().flatten().collect();
    if items.is_empty() {
        return Vec::new();
    }
    vec![
        Block::Paragraph(Text::plain("").strong("Warnings").and(": read the figures below with these in mind.")),
        Block::List(items),
    ]
}

/// How to read the shares table, in one sentence.
fn how_to_read() -> String {
    format!(
        "Shares are CPU over the measured window in cores (1.00 = one core busy the whole window): a load \
         generator at or above {LOADGEN_BOUND_SHARE:.2} of a core while the target stays below marks the case \
         load-generator bound, its req/s the generator's limit rather than the target's, and steal is the share of \
         the machine's CPU the hypervisor gave to other guests. Machine busy adds target, store and load generator \
         over all the machine's cores: near 100 % the machine itself was the limit, whichever process the bound rule \
         names. The share of the load generator's ceiling (its req/s on the none floor with as many connections, \
         below) says how near a saturation figure came to what the generator could offer at all."
    )
}

const SHARES_HEAD: [&str; 10] = [
    "target",
    "users",
    "req/s",
    "of the load generator's ceiling",
    "target cores",
    "store cores",
    "load generator cores",
    "machine busy",
    "steal",
    "load-generator bound",
];

/// Target, store and load generator together over the machine's cores: near 100 %, the machine
/// itself was the limit, whichever process the bound rule names.
fn machine_busy(s: &Shares, cores: Option<usize>) -> String {
    match (s.store, cores.filter(|n| *n > 0)) {
        (Some(store), Some(n)) => percent((s.target + store + s.loadgen) / n as f64),
        _ => "—".into(),
    }
}

/// The case's req/s as a share of the load generator's ceiling, when the ceiling was measured with
/// as many connections as the case has users.
fn of_ceiling(c: &Case, ceiling: Option<&LoadgenCeiling>) -> String {
    ceiling
        .filter(|l| l.connections == c.load.users && l.authbench_rps > 0.0)
        .map_or_else(|| "—".into(), |l| percent(c.throughput_rps / l.authbench_rps))
}

fn shares_row(c: &Case, cores: Option<usize>, ceiling: Option<&LoadgenCeiling>) -> Vec<String> {
    let s = c.shares.as_ref();
    vec![
        c.target.id.clone(),
        c.load.users.to_string(),
        format!("{:.0}", c.throughput_rps),
        of_ceiling(c, ceiling),
        opt(s.map(|s| s.target), 2),
        opt(s.and_then(|s| s.store), 2),
        opt(s.map(|s| s.loadgen), 2),
        s.map_or_else(|| "—".into(), |s| machine_busy(s, cores)),
        s.and_then(|s| s.steal).map_or_else(|| "—".into(), percent),
        s.map_or("—", |s| if s.loadgen_bound() { "yes" } else { "no" }).to_owned(),
    ]
}

/// The ceiling beside wrk's, and how near the fastest configuration came to it.
fn ceiling(r: &Results, c: &LoadgenCeiling) -> Vec<Block> {
    let rows = vec![
        vec!["authbench (goose)".into(), num(c.authbench_rps), num(c.authbench_loadgen_share)],
        vec!["wrk -t1".into(), opt_num(c.wrk_rps), "—".into()],
    ];
    let mut blocks = vec![
        Block::paragraph(Text::plain("Load generator ceiling on ").code(c.endpoint.clone()).and(format!(
            " (no auth, no store) with {} connections for {:.1} s: authbench's req/s is the most it can \
                     offer any target with these connections, and wrk's shows how much of that limit is the load \
                     generator's own cost.",
            c.connections, c.duration_s
        ))),
        Block::table(&["load generator", "req/s", "its CPU (cores)"], rows),
    ];
    if let Some(note) = &c.wrk_note {
        blocks.push(Block::paragraph(format!("wrk: {note}.")));
    }
    let fastest = r.closed_browse().into_iter().max_by(|a, b| a.throughput_rps.total_cmp(&b.throughput_rps));
    if let Some(f) = fastest {
        blocks.push(Block::paragraph(format!(
            "The fastest configuration, {}, reached {:.0} % of authbench's ceiling: near or above 100 %, its req/s \
             is what this load generator could offer rather than what the target could serve.",
            f.target.id,
            100.0 * f.throughput_rps / c.authbench_rps
        )));
    }
    blocks
}

/// Each representative closed-browse case's shares, then the load generator's ceiling.
pub(super) fn section(r: &Results) -> Section {
    let limit = r.loadgen_ceiling.as_ref();
    let rows = r.closed_browse().into_iter().map(|c| shares_row(c, r.environment.cores, limit)).collect();
    let mut blocks = vec![Block::paragraph(how_to_read()), Block::table(&SHARES_HEAD, rows)];
    match &r.loadgen_ceiling {
        Some(c) => blocks.extend(ceiling(r, c)),
        None => blocks.push(Block::paragraph(
            "The load generator's ceiling was not measured in this run: a matrix with loadgen_ceiling = true \
             (the standard profile) measures it.",
        )),
    }
    Section::new("Bottleneck", blocks)
}
