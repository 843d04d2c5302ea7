//! The sections about the run itself: its introduction, environment and method, the summary of
//! the matrix over its repetitions, and the charts.

use authbench_targets::spec::StrategyKind;

use crate::model::results::{Case, CaseRole, Results, Summary};
use crate::model::stats::IntervalMethod;
use crate::report::document::{opt, Block, ChartRef, Section, Text};

/// The report's title.
pub fn title(r: &Results) -> String {
    format!("authbench report — run {}", r.run_id)
}

/// Profile, times, status and counts.
pub fn intro(r: &Results) -> Vec<Block> {
    let text = Text::plain("Profile ")
        .code(r.profile.clone())
        .and(format!(", started {}, finished {}, status ", r.started_at, r.finished_at.as_deref().unwrap_or("—")))
        .strong(r.status.as_str())
        .and(format!(". {}, {} security probes, {} skipped.", case_counts(r), r.probes.len(), r.skipped.len()));
    let text = match &r.config.merged {
        Some(m) => text.and(format!(" Merged from {} shards: {}.", m.count, shard_runs(m))),
        None => text,
    };
    vec![Block::Paragraph(text)]
}

/// "shard 0 (run a), shard 1 (run b)".
fn shard_runs(m: &crate::model::merge::MergedFrom) -> String {
    let runs: Vec<String> = m.shards.iter().map(|s| format!("shard {} (run {})", s.index, s.run_id)).collect();
    runs.join(", ")
}

/// "115 cases (69 matrix windows: 23 configuration × load pairs × 3 repetitions; 46 ladder steps)",
/// fault cases counted apart (they are neither matrix windows nor ladder steps).
fn case_counts(r: &Results) -> String {
    let count = |f: fn(&CaseRole) -> bool| r.cases.iter().filter(|c| f(&c.role)).count();
    let matrix = count(|k| *k == CaseRole::Matrix);
    let ladder = count(|k| matches!(k, CaseRole::Ladder | CaseRole::Refine));
    let faults = count(|k| *k == CaseRole::Fault);
    let reps = r.config.matrix.repetitions;
    let mut parts = vec![format!(
        "{matrix} matrix window{}{}",
        if matrix == 1 { "" } else { "s" },
        match (reps > 1, r.summaries.iter().all(|s| s.throughput_rps.n == reps as usize)) {
            (false, _) => String::new(),
            (true, true) => format!(": {} configuration × load pairs × {reps} repetitions", r.summaries.len()),
            // A [[load]] may run fewer repetitions than the matrix (a population, once).
            (true, false) =>
                format!(": {} configuration × load pairs, up to {reps} repetitions each", r.summaries.len()),
        }
    )];
    if ladder > 0 {
        parts.push(format!("{ladder} ladder step{}", if ladder == 1 { "" } else { "s" }));
    }
    if faults > 0 {
        parts.push(format!("{faults} fault case{} (see Failure modes)", if faults == 1 { "" } else { "s" }));
    }
    format!("{} cases ({})", r.cases.len(), parts.join("; "))
}

/// The machine and toolchain, then how each figure was measured.
pub fn environment_and_method(r: &Results) -> Section {
    let environment = r.environment.rows().into_iter().map(|(k, v)| vec![k.to_owned(), v]).collect();
    let method = r.method.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
    let mut blocks =
        vec![Block::table(&["what", "value"], environment), Block::table(&["figure", "how it was measured"], method)];
    blocks.extend(intervals(r).map(Block::paragraph));
    Section::new("Environment and method", blocks)
}

/// The interval methods the run's summaries used, in order of first use.
fn interval_methods(r: &Results) -> Vec<IntervalMethod> {
    let mut methods: Vec<IntervalMethod> = Vec::new();
    for m in r.summaries.iter().filter_map(|s| s.throughput_rps.interval.map(|i| i.method)) {
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    methods
}

/// How the summary's "median [low–high]" figures are made, for the repetitions this run has;
/// None without summaries.
fn intervals(r: &Results) -> Option<String> {
    let mut ns: Vec<usize> = r.summaries.iter().map(|s| s.throughput_rps.n).collect();
    ns.sort_unstable();
    ns.dedup();
    if ns.is_empty() {
        return None;
    }
    let counts = ns.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    let mut text = format!(
        "Repetitions: each matrix case ran n times (n = {counts} here). The summary shows a figure as the median of \
         its repetitions with a 95 % interval in brackets, [low–high], meant to tell a real difference from \
         run-to-run noise. "
    );
    let methods = interval_methods(r);
    if methods.is_empty() {
        text.push_str("Every case ran once, so no figure has an interval: a difference cannot be told from noise.");
    } else {
        let how = methods.iter().map(|m| m.describe()).collect::<Vec<_>>().join("; ");
        text.push_str(&format!(
            "The interval is computed by {how}. With n = 1 there is no interval, only the one value."
        ));
    }
    if methods.contains(&IntervalMethod::StudentT) {
        text.push_str(
            " A t interval from few repetitions is wide: with 3 it reaches about 2.5 standard deviations of the \
             repetitions either side of their mean, so only a change well beyond the noise separates two intervals.",
        );
    }
    Some(text)
}

const SUMMARY_HEAD: [&str; 17] = [
    "target",
    "scenario",
    "load",
    "n",
    "req/s",
    "p50 µs",
    "p99 µs",
    "p99.9 µs",
    "store ops/req",
    "target CPU µs/req",
    "over the floor µs/req",
    "store CPU µs/req",
    "req/core·s",
    "bytes/req",
    "auth bytes/req (as header text)",
    "peak RSS MiB",
    "errors",
];

fn load(c: &Case) -> String {
    let base = match c.load.rate_rps() {
        Some(rate) => format!("open {rate:.0} req/s, {} users", c.load.users),
        None => format!("closed, {} users", c.load.users),
    };
    match super::population::load_note(c) {
        Some(note) => format!("{base}, {note}"),
        None => base,
    }
}

/// The `none` floor's summary under the same load, transport and protocol as `s`: what the same
/// server costs without authenticating.
fn floor<'a>(r: &'a Results, s: &Summary) -> Option<&'a Summary> {
    let (a, load) = (&s.target.spec, s.load);
    r.summaries.iter().find(|f| {
        let b = &f.target.spec;
        b.strategy == StrategyKind::None
            && f.load == load
            && (b.transport, b.tls, b.protocol) == (a.transport, a.tls, a.protocol)
    })
}

/// Target CPU per request above the floor's (medians), "floor" on the floor's own row, "—" without one.
fn over_floor(r: &Results, s: &Summary) -> String {
    if s.target.spec.strategy == StrategyKind::None {
        return "floor".to_owned();
    }
    let over = floor(r, s).map(|f| s.target_cpu_us.median - f.target_cpu_us.median);
    opt(over, 1)
}

/// A summary's row: its estimates, then the single-window figures of `c`, its repetition with the
/// median throughput, and the errors of every repetition.
fn summary_row(r: &Results, s: &Summary, c: &Case, errors: u64) -> Vec<String> {
    vec![
        c.target.id.clone(),
        c.load.scenario.to_string(),
        load(c),
        s.throughput_rps.n.to_string(),
        format!("{}{}", s.throughput_rps.show(0), super::bottleneck::bound_mark(s)),
        s.p50_us.show(0),
        s.p99_us.show(0),
        c.latency_us.p999.to_string(),
        format!("{:.2}", c.store_ops_per_request),
        s.target_cpu_us.show(1),
        over_floor(r, s),
        opt(c.cpu_us_per_request.store, 1),
        opt(c.req_per_core_s, 0),
        s.bytes_per_request.show(0),
        format!("{:.0}", c.bytes_per_request.auth),
        opt(c.peak_rss_bytes.map(|b| b as f64 / 1_048_576.0), 1),
        errors.to_string(),
    ]
}

/// The errors of every repetition of a summary.
fn errors(r: &Results, s: &Summary) -> u64 {
    r.cases.iter().filter(|c| s.case_ids.contains(&c.id)).map(Case::error_count).sum()
}

/// One row per configuration and load of the matrix, over its repetitions.
pub fn summary(r: &Results) -> Section {
    let rows = r.summaries.iter().filter_map(|s| Some(summary_row(r, s, r.representative(s)?, errors(r, s)))).collect();
    let mut note = "n is the number of repetitions; req/s, p50, p99, target CPU and bytes are their median with a \
                    95 % interval in brackets (see Environment and method). p99.9, store operations, store CPU, \
                    req/core·s and auth bytes are those of the repetition with the median throughput; errors count \
                    every repetition. \"Over the floor\" is target CPU per request minus that of the none \
                    configuration (same server and instrumentation, no credential check) under the same load, \
                    transport and protocol: what authentication itself costs. Peak RSS is the target's resident \
                    high-water mark (VmHWM) at the end of the case: code, keys, the seeded user directory, \
                    connection buffers and the password-hashing threads' argon2id memory (one block per thread, \
                    allocated once), whatever the scenario."
        .to_owned();
    if !r.ladders.is_empty() {
        note.push_str(" Rate-ladder steps are not in this table: see Capacity at the SLO.");
    }
    Section::new("Summary", vec![Block::table(&SUMMARY_HEAD, rows), Block::paragraph(note)])
}

/// Every chart the run supports but the timelines, in the order they were drawn, after how to
/// read them.
pub fn charts(charts: &[ChartRef]) -> Section {
    let how = "Each chart is captioned with the question it answers and the answer this run's figures give. Bars \
               are grouped by strategy, every configuration of a strategy in a shade of its hue. CPU counts the \
               store's processes beside the target's; an external store's CPU is not visible from here and is \
               said \"store not measured\", never counted as 0. A bound is drawn hollow and labelled, never as a \
               measurement.";
    let mut blocks = vec![Block::paragraph(how)];
    blocks.extend(charts.iter().cloned().map(Block::Chart));
    Section::new("Charts", blocks)
}
