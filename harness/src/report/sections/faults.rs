//! "Failure modes": the fault cases, apart from every speed figure. Per `[[fault]]` of the matrix,
//! a chart and a table of what each configuration's clients saw while the harness froze,
//! restarted or slowed a store it started, or restarted the target, read off the per-second
//! timeline. The grouping ([`groups`]) is shared with the fault charts and the availability claims.

use crate::model::fault::RECOVERED_ERROR_SHARE;
use crate::model::fault::{DataAfterRestart, Fault, FaultRecord, FaultSubject, Recovery, TargetHealth};
use crate::model::matrix::LoadSpec;
use crate::model::results::{Case, CaseRole, Results, Second};
use crate::report::document::{Block, ChartRef, Section, Text};

const HEADING: &str = "Failure modes";

const HEAD: [&str; 11] = [
    "configuration",
    "touched",
    "fault, s of the window",
    "first error",
    "error share during the fault",
    "successes/s during vs before",
    "highest p99 of a second during the fault",
    "401 / 503 / other during the fault",
    "recovery",
    "sessions lost / re-logins / failed re-logins",
    "target after the window",
];

/// A fault case with its record, so no reader has to unwrap `Case::fault` again.
#[derive(Clone, Copy)]
pub(crate) struct FaultCase<'a> {
    pub case: &'a Case,
    pub record: &'a FaultRecord,
}

/// The fault cases of one `[[fault]]`: one load and one fault, a case per configuration.
pub(crate) struct FaultGroup<'a> {
    pub load: LoadSpec,
    pub fault: Fault,
    pub cases: Vec<FaultCase<'a>>,
}

impl FaultGroup<'_> {
    /// The `[[fault]]`'s id, as case ids end: "browse-open-16u-1000rps/store_outage".
    pub(crate) fn id(&self) -> String {
        format!("{}/{}", self.load.id(), self.fault.kind())
    }
}

/// The run's fault cases by `[[fault]]` (same load, same fault), in run order.
pub(crate) fn groups(r: &Results) -> Vec<FaultGroup<'_>> {
    let mut out: Vec<FaultGroup<'_>> = Vec::new();
    for case in r.cases.iter().filter(|c| c.role == CaseRole::Fault) {
        let Some(record) = case.fault.as_ref() else {
            continue;
        };
        let fc = FaultCase { case, record };
        match out.iter_mut().find(|g| g.load == case.load && g.fault == record.fault) {
            Some(g) => g.cases.push(fc),
            None => out.push(FaultGroup { load: case.load, fault: record.fault, cases: vec![fc] }),
        }
    }
    out
}

/// Errors by status in the seconds that overlap a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByStatus {
    pub unauthorized: u64,
    pub unavailable: u64,
    /// Every other non-2xx answer and transport error.
    pub other: u64,
}

/// Whether second `s` counts as during a fault from `start_s` to `end_s` (timeline clock), exactly
/// as [`crate::model::fault::TimelineFigures`] counts the error share: the second the fault started
/// in, and every later second whose middle lies inside the fault.
pub(crate) fn overlaps(s: &Second, start_s: f64, end_s: f64) -> bool {
    let (t, first) = (f64::from(s.t_s), start_s.floor());
    t == first || (t > first && t + 0.5 <= end_s.max(start_s))
}

impl FaultCase<'_> {
    /// Where the measured window opened on the timeline's clock; None without a timeline.
    pub(crate) fn window_start_s(&self) -> Option<f64> {
        self.case.timeline.as_ref().map(|t| t.window_start_s)
    }

    /// The errors of the seconds overlapping the fault, by status; None without a timeline.
    pub(crate) fn during(&self) -> Option<ByStatus> {
        let (start, end) = (self.record.start_s, self.record.end_s);
        let seconds = self.case.timeline.as_ref()?.seconds.iter().filter(|s| overlaps(s, start, end));
        Some(seconds.fold(ByStatus { unauthorized: 0, unavailable: 0, other: 0 }, |b, s| ByStatus {
            unauthorized: b.unauthorized + s.unauthorized,
            unavailable: b.unavailable + s.unavailable,
            other: b.other + s.errors.saturating_sub(s.unauthorized + s.unavailable),
        }))
    }
}

/// What the harness acted on, in words.
pub(crate) fn touched(s: FaultSubject) -> String {
    match s {
        FaultSubject::Store { store } => format!("{store} store"),
        FaultSubject::Target => "target process".into(),
        FaultSubject::Control => "nothing — no store outside the process (control)".into(),
    }
}

/// The fault kind as a heading: "Store outage".
pub(crate) fn kind_title(f: &Fault) -> &'static str {
    match f {
        Fault::StoreOutage { .. } => "Store outage",
        Fault::StoreRestart { data: DataAfterRestart::Kept, .. } => "Store restart, data kept",
        Fault::StoreRestart { data: DataAfterRestart::Lost, .. } => "Store restart, data lost",
        Fault::StoreSlow { .. } => "Slow store",
        Fault::TargetRestart { .. } => "Target restart",
    }
}

fn when(fc: FaultCase<'_>) -> String {
    match fc.window_start_s() {
        Some(w) => format!("{:.1}–{:.1} s", fc.record.start_s - w, fc.record.end_s - w),
        None => "not measured".into(),
    }
}

fn first_error(s: Option<u32>) -> String {
    s.map_or_else(|| "none".into(), |s| format!("{s} s"))
}

/// An error share in percent; "not measured" when no request completed in the fault's seconds.
pub(crate) fn share(s: Option<f64>) -> String {
    s.map_or_else(|| "not measured (no request completed)".into(), |s| format!("{:.1} %", s * 100.0))
}

/// Successes per second during the fault as a share of those before it.
fn served(a: Option<f64>) -> String {
    a.map_or_else(|| "not measured (no baseline)".into(), |a| format!("{:.0} %", a * 100.0))
}

fn by_status(fc: FaultCase<'_>) -> String {
    fc.during()
        .map_or_else(|| "not measured".into(), |b| format!("{} / {} / {}", b.unauthorized, b.unavailable, b.other))
}

/// Recovery in words.
fn recovery(r: Recovery) -> String {
    match r {
        Recovery::Undisturbed => "not disturbed".into(),
        Recovery::After { s } => format!("{s:.1} s after the fault ended"),
        Recovery::NotWithinWindow => "not within the window".into(),
    }
}

fn millis(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn megabytes(b: Option<u64>) -> String {
    b.map_or_else(|| "not measured".into(), |b| format!("{:.1} MB", b as f64 / 1e6))
}

fn health(h: &TargetHealth) -> String {
    format!(
        "{}, /healthz {}, RSS {} → {}",
        if h.alive { "running" } else { "not running" },
        h.healthz_after.map_or_else(|| "no answer".into(), |c| c.to_string()),
        megabytes(h.rss_before_bytes),
        megabytes(h.rss_after_bytes)
    )
}

fn row(fc: FaultCase<'_>) -> Vec<String> {
    let o = &fc.record.outcome;
    vec![
        fc.case.target.id.clone(),
        touched(fc.record.subject),
        when(fc),
        first_error(o.first_error_s),
        share(o.error_share),
        served(o.availability),
        o.worst_p99_us.map_or_else(|| "not measured".into(), millis),
        by_status(fc),
        recovery(o.recovery),
        format!("{} / {} / {}", o.sessions_lost, o.relogins, o.relogin_failures),
        health(&o.health),
    ]
}

/// How every figure of the section is computed, and what each fault does.
fn method() -> String {
    let band = RECOVERED_ERROR_SHARE * 100.0;
    format!(
        "Method. Each fault case ran once (no repetitions) after the speed cases: one configuration under the load \
         named, while the harness acted on a store or target it had started itself inside the measured window. None \
         of these windows is in the summary, the charts, capacity or the speed claims above. Every figure is read off \
         the case's per-second timeline, so each has 1 s resolution. Fault: when it was performed, in seconds from the \
         opening of the measured window. First error: whole seconds from the fault's start to the first second with \
         an error (≤ 1 s resolution; none: no error from the fault's start on). Error share: errors per answer in \
         the seconds the fault covered (the second it started in and every later second whose middle lies inside \
         it); 401 / 503 / other splits those seconds' errors by status (other: any other non-2xx answer or \
         transport error). Successes/s during vs before: successful answers per second in those seconds over those \
         per second in the window before the fault, so clients the fault blocked, who send less, show here rather \
         than in the error share (not measured without a second of window before the fault). Highest p99: the \
         largest of those seconds' own 99th percentiles (from the intended send time), what a slow store does to \
         latency. Recovery: from the fault's end to the first whole second after it \
         with at least {:.0} % successes (not disturbed: no second from the fault's start on had more than {band:.0} % \
         errors; the window's last, partial second never counts). Sessions lost: 401s that sent a client back to log \
         in; re-logins: the logins those clients completed; failed: login attempts that failed (whole window). Target \
         after: whether its process still ran when the window closed, what GET /healthz answered after it, and its \
         resident memory when the fault started → when the window closed. The faults: outage = the store's processes \
         frozen with SIGSTOP, then resumed with SIGCONT (connections stay open and nothing answers, as in a network \
         partition); restart with data kept = Redis SHUTDOWN SAVE and a restart that reloads the snapshot, PostgreSQL \
         stopped immediately and restarted replaying its write-ahead log; restart with data lost = Redis, running \
         without persistence, killed with SIGKILL and restarted empty; slow = a delay relay between target and store \
         adds a round trip time; target restart = the target process killed and started again on the same address. \
         Under a store fault a configuration without a store outside its process (jwt without denylist, in-memory \
         stores) is the control: the same load over the same window, nothing touched. Clients log in again after a \
         401. A restarted store's CPU over the window is not measured.",
        100.0 - band
    )
}

/// One `[[fault]]`: what was done, its chart when drawn, a row per configuration.
fn group_blocks(g: &FaultGroup<'_>, chart: Option<&ChartRef>) -> Vec<Block> {
    let head = Text::plain("").strong(kind_title(&g.fault)).and(format!(": {}, under ", g.fault)).code(g.load.id());
    let mut out = vec![Block::Paragraph(head)];
    out.extend(chart.cloned().map(Block::Chart));
    out.push(Block::table(&HEAD, g.cases.iter().map(|fc| row(*fc)).collect()));
    out
}

/// The section, when the run has fault cases; `charts` are the fault charts keyed by group id.
pub(super) fn section(r: &Results, charts: &[(String, ChartRef)]) -> Option<Section> {
    let groups = groups(r);
    if groups.is_empty() {
        return None;
    }
    let intro = "What clients saw when something broke: per fault, a panel per configuration (requests per second \
                 by outcome, the fault shaded) and a row per configuration. These are availability figures, apart \
                 from the speed figures above.";
    let mut blocks = vec![Block::paragraph(intro), Block::paragraph(method())];
    for g in &groups {
        let id = g.id();
        blocks.extend(group_blocks(g, charts.iter().find(|(k, _)| *k == id).map(|(_, c)| c)));
    }
    Some(Section::new(HEADING, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(t_s: u32) -> Second {
        Second {
            t_s,
            requests: 100,
            errors: 0,
            unauthorized: 0,
            unavailable: 0,
            sessions_lost: 0,
            p50_us: None,
            p99_us: None,
            store_ops: None,
        }
    }

    #[test]
    fn a_second_overlaps_the_fault_as_the_error_share_counts_it() {
        // Fault from 3.2 s to 5.6 s: seconds 3 and 4, and 5 whose middle lies inside it.
        let hit: Vec<u32> = (0..8).map(second).filter(|s| overlaps(s, 3.2, 5.6)).map(|s| s.t_s).collect();
        assert_eq!(hit, [3, 4, 5]);
        // A restart over in 0.1 s covers the second it happened in.
        let hit: Vec<u32> = (0..8).map(second).filter(|s| overlaps(s, 3.2, 3.3)).map(|s| s.t_s).collect();
        assert_eq!(hit, [3]);
        // The same seconds as the error share: errors only in the seconds counted give the same share.
        let seconds: Vec<Second> = (0..9).map(|t| Second { errors: u64::from(t) * 3, ..second(t) }).collect();
        let t = crate::model::results::Timeline { window_start_s: 1.0, seconds };
        for (start, end) in [(3.2, 5.6), (3.2, 3.3), (2.9, 6.4), (4.0, 4.0)] {
            let during: Vec<&Second> = t.seconds.iter().filter(|s| overlaps(s, start, end)).collect();
            let (e, n) = during.iter().fold((0, 0), |(e, n), s| (e + s.errors, n + s.requests));
            let figures = crate::model::fault::TimelineFigures::of(&t, start, end);
            assert_eq!(figures.error_share, Some(e as f64 / n as f64), "{start}–{end}");
        }
    }

    #[test]
    fn figures_read_in_words_and_unmeasured_is_said() {
        assert_eq!(recovery(Recovery::Undisturbed), "not disturbed");
        assert_eq!(recovery(Recovery::After { s: 1.62 }), "1.6 s after the fault ended");
        assert_eq!(recovery(Recovery::NotWithinWindow), "not within the window");
        assert_eq!(share(None), "not measured (no request completed)");
        assert_eq!(share(Some(0.0)), "0.0 %");
        assert_eq!(first_error(None), "none");
        assert_eq!(touched(FaultSubject::Control), "nothing — no store outside the process (control)");
        let h = TargetHealth {
            alive: true,
            rss_before_bytes: Some(20_000_000),
            rss_after_bytes: None,
            healthz_after: None,
        };
        assert_eq!(health(&h), "running, /healthz no answer, RSS 20.0 MB → not measured");
    }
}
