//! Dominated options: one another option beats on some criterion and loses to on none, each
//! comparison read from this run's figures with their noise.
//!
//! Two timed figures (CPU, p99) differ only when their 95 % intervals share no value, and a single
//! window, which has no interval, decides nothing; byte counts differ by whole bytes; two windows
//! differ only by more than two of the probe's poll intervals, the
//! resolution it measured them at. A criterion measured for neither option is left out; one
//! measured for only one of them makes the comparison undecided, never a win. Options are compared
//! only where they would serve the same deployment: the same store round trip, unless one keeps no
//! store across the network.

use std::fmt;
use std::time::Duration;

use authbench_targets::spec::StoreKind;

use super::Candidate;
use crate::model::stats::Estimate;
use crate::report::plan::Window;

/// What two options are compared on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// Target and store cores per 10,000 req/s (CPU per request).
    Cores,
    /// p99 at the offered load every option ran at.
    P99,
    /// Bytes per request over plain HTTP/1.1, both directions.
    Bytes,
    /// How long a revoked user is still served.
    Revocation,
    /// How long a demoted admin keeps the old role.
    StaleRole,
    /// How long a credential keeps working after its own logout.
    Logout,
    /// Whether replicas behind a balancer share the credentials' state.
    Replicas,
}

impl Criterion {
    pub const ALL: [Criterion; 7] = [
        Criterion::Cores,
        Criterion::P99,
        Criterion::Bytes,
        Criterion::Revocation,
        Criterion::StaleRole,
        Criterion::Logout,
        Criterion::Replicas,
    ];

    /// The criterion in words.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Cores => "CPU per request",
            Criterion::P99 => "p99 at equal load",
            Criterion::Bytes => "bytes per request",
            Criterion::Revocation => "revocation window",
            Criterion::StaleRole => "stale-role window",
            Criterion::Logout => "logout window",
            Criterion::Replicas => "state shared by replicas",
        }
    }
}

/// How one option does against another on a criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Better,
    Same,
    Worse,
    /// Measured for one of the two only.
    Undecided,
    /// Measured for neither: left out of the comparison.
    NotMeasured,
}

/// How a figure's repetitions vary, which decides what a difference must clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Noise {
    /// Timings and CPU: only disjoint 95 % intervals differ; a single window has no interval, so
    /// it leaves the comparison undecided.
    Timed,
    /// Byte counts: whole bytes, so intervals are compared after rounding, and a single window by
    /// its rounded value.
    Counted,
}

/// Lower is better.
fn estimates(this: Option<&Estimate>, other: Option<&Estimate>, noise: Noise) -> Outcome {
    let range = |e: &Estimate| {
        let (low, high) = e.interval.map_or((e.median, e.median), |i| (i.low, i.high));
        match noise {
            Noise::Timed => (low, high),
            Noise::Counted => (low.round(), high.round()),
        }
    };
    match (this, other) {
        (None, None) => Outcome::NotMeasured,
        (None, Some(_)) | (Some(_), None) => Outcome::Undecided,
        (Some(a), Some(b)) if noise == Noise::Timed && (a.interval.is_none() || b.interval.is_none()) => {
            Outcome::Undecided
        }
        (Some(a), Some(b)) => {
            let ((a_low, a_high), (b_low, b_high)) = (range(a), range(b));
            if b_high < a_low {
                Outcome::Better
            } else if b_low > a_high {
                Outcome::Worse
            } else {
                Outcome::Same
            }
        }
    }
}

/// Shorter is better, by more than `resolution_s`.
fn windows(this: &Window, other: &Window, resolution_s: f64) -> Outcome {
    match (this.seconds(), other.seconds()) {
        (None, None) => Outcome::NotMeasured,
        (None, Some(_)) | (Some(_), None) => Outcome::Undecided,
        (Some(a), Some(b)) if b + resolution_s < a => Outcome::Better,
        (Some(a), Some(b)) if b > a + resolution_s => Outcome::Worse,
        _ => Outcome::Same,
    }
}

/// How `other` does against `this` on `c`.
fn outcome(c: Criterion, this: &Candidate, other: &Candidate, resolution_s: f64) -> Outcome {
    match c {
        Criterion::Cores => estimates(this.total_cpu_us.as_ref(), other.total_cpu_us.as_ref(), Noise::Timed),
        Criterion::P99 => estimates(this.p99_us.as_ref(), other.p99_us.as_ref(), Noise::Timed),
        Criterion::Bytes => estimates(Some(&this.bytes), Some(&other.bytes), Noise::Counted),
        Criterion::Revocation => windows(&this.revocation, &other.revocation, resolution_s),
        Criterion::StaleRole => windows(&this.stale_role, &other.stale_role, resolution_s),
        Criterion::Logout => windows(&this.logout, &other.logout, resolution_s),
        Criterion::Replicas => match (this.shares_state_across_replicas(), other.shares_state_across_replicas()) {
            (false, true) => Outcome::Better,
            (true, false) => Outcome::Worse,
            _ => Outcome::Same,
        },
    }
}

/// The store round trip an option's requests cross; None when it keeps no store across the network.
fn network_store_rtt(c: &Candidate) -> Option<Duration> {
    match c.spec().needed_store() {
        None | Some(StoreKind::Memory) => None,
        Some(_) => Some(c.spec().store_rtt.0),
    }
}

/// Whether the two options would serve the same deployment.
fn comparable(a: &Candidate, b: &Candidate) -> bool {
    !a.is_floor()
        && !b.is_floor()
        && match (network_store_rtt(a), network_store_rtt(b)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

/// One criterion of a comparison, with both options' figures in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub criterion: Criterion,
    pub outcome: Outcome,
    pub this: String,
    pub other: String,
}

/// An option and the options that beat it, each with the comparison that shows it.
#[derive(Clone, Debug)]
pub struct Dominated<'a> {
    pub option: &'a Candidate<'a>,
    pub by: Vec<(&'a Candidate<'a>, Vec<Point>)>,
}

/// An estimate with its interval, or alone when the repetitions agreed to the digits shown.
fn show(e: &Estimate, digits: usize, unit: &str) -> String {
    let same = e.interval.is_none_or(|i| format!("{:.digits$}", i.low) == format!("{:.digits$}", i.high));
    if same {
        format!("{:.digits$}{unit}", e.median)
    } else {
        format!("{}{unit}", e.show(digits))
    }
}

/// A candidate's figure on a criterion, as the table prints it.
fn figure(c: Criterion, x: &Candidate) -> String {
    let est = |e: Option<&Estimate>, unit: &str| e.map_or_else(|| "not measured".into(), |e| show(e, 1, unit));
    match c {
        Criterion::Cores => est(x.total_cpu_us.as_ref(), " µs"),
        Criterion::P99 => x.p99_us.as_ref().map_or_else(|| "not measured".into(), |e| show(e, 0, " µs")),
        Criterion::Bytes => show(&x.bytes, 0, " B"),
        Criterion::Revocation => x.revocation.to_string(),
        Criterion::StaleRole => x.stale_role.to_string(),
        Criterion::Logout => x.logout.to_string(),
        Criterion::Replicas => if x.shares_state_across_replicas() { "shared" } else { "one replica's own" }.into(),
    }
}

/// The comparison of `other` against `this`, when `other` dominates it.
fn dominates(this: &Candidate, other: &Candidate, resolution_s: f64) -> Option<Vec<Point>> {
    if !comparable(this, other) {
        return None;
    }
    let points: Vec<Point> = Criterion::ALL
        .into_iter()
        .map(|c| Point {
            criterion: c,
            outcome: outcome(c, this, other, resolution_s),
            this: figure(c, this),
            other: figure(c, other),
        })
        .filter(|p| p.outcome != Outcome::NotMeasured)
        .collect();
    let never_worse = points.iter().all(|p| matches!(p.outcome, Outcome::Better | Outcome::Same));
    let once_better = points.iter().any(|p| p.outcome == Outcome::Better);
    (never_worse && once_better).then_some(points)
}

/// Every option some other option dominates, in the order of `candidates`; `resolution_s` is the
/// width within which two windows count as the same.
pub fn find<'a>(candidates: &'a [Candidate<'a>], resolution_s: f64) -> Vec<Dominated<'a>> {
    candidates
        .iter()
        .filter_map(|this| {
            let by: Vec<_> = candidates
                .iter()
                .filter_map(|other| dominates(this, other, resolution_s).map(|p| (other, p)))
                .collect();
            (!by.is_empty()).then_some(Dominated { option: this, by })
        })
        .collect()
}

/// The options no comparable option dominates at one store round trip: those whose network store
/// sits at that round trip and those that keep none across the network.
pub struct Front<'a> {
    /// The round trip; zero when no option of the run keeps a store across the network.
    pub rtt: Duration,
    /// Options compared at this round trip (the floor left out).
    pub compared: usize,
    /// Each undominated option with the criteria it beats another undominated option on.
    pub undominated: Vec<(&'a Candidate<'a>, Vec<Criterion>)>,
}

/// The undominated options per store round trip the run measured.
pub fn fronts<'a>(candidates: &'a [Candidate<'a>], resolution_s: f64) -> Vec<Front<'a>> {
    let mut rtts: Vec<Duration> = candidates.iter().filter_map(network_store_rtt).collect();
    rtts.sort();
    rtts.dedup();
    if rtts.is_empty() {
        rtts.push(Duration::ZERO);
    }
    rtts.into_iter()
        .map(|rtt| {
            let group: Vec<&Candidate> =
                candidates.iter().filter(|c| !c.is_floor() && network_store_rtt(c).is_none_or(|x| x == rtt)).collect();
            let free: Vec<&Candidate> = group
                .iter()
                .copied()
                .filter(|this| !group.iter().any(|other| dominates(this, other, resolution_s).is_some()))
                .collect();
            let undominated = free.iter().map(|this| (*this, beats(this, &free, resolution_s))).collect();
            Front { rtt, compared: group.len(), undominated }
        })
        .collect()
}

/// The criteria `this` beats at least one of `others` on.
fn beats(this: &Candidate, others: &[&Candidate], resolution_s: f64) -> Vec<Criterion> {
    Criterion::ALL
        .into_iter()
        .filter(|&c| others.iter().any(|o| outcome(c, o, this, resolution_s) == Outcome::Better))
        .collect()
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} against {})", self.criterion.name(), self.other, self.this)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stats::Estimate;

    fn est(v: &[f64]) -> Estimate {
        Estimate::of(v).unwrap()
    }

    #[test]
    fn figures_differ_only_when_their_intervals_do_not_overlap() {
        let a = est(&[10.0, 11.0, 12.0]);
        let timed = |x: &Estimate, y: Option<&Estimate>| estimates(Some(x), y, Noise::Timed);
        assert_eq!(timed(&a, Some(&est(&[5.0, 5.5, 6.0]))), Outcome::Better);
        assert_eq!(timed(&a, Some(&est(&[20.0, 21.0, 22.0]))), Outcome::Worse);
        assert_eq!(timed(&a, Some(&est(&[9.0, 11.5, 14.0]))), Outcome::Same);
        assert_eq!(timed(&a, None), Outcome::Undecided);
        assert_eq!(estimates(None, None, Noise::Timed), Outcome::NotMeasured);
        // A single timed window has no interval: it tells nothing from noise.
        assert_eq!(timed(&est(&[720.0]), Some(&est(&[320.0]))), Outcome::Undecided);
        // Bytes are counted: one window each compares by whole bytes.
        assert_eq!(estimates(Some(&est(&[591.0])), Some(&est(&[564.0])), Noise::Counted), Outcome::Better);
        assert_eq!(estimates(Some(&est(&[326.2])), Some(&est(&[325.9])), Noise::Counted), Outcome::Same);
    }

    #[test]
    fn windows_differ_only_beyond_the_resolution_and_a_bound_counts_as_its_bound() {
        let measured = |s| Window::Measured { s, bound_s: 0 };
        assert_eq!(windows(&measured(0.03), &measured(0.01), 0.04), Outcome::Same);
        assert_eq!(windows(&measured(0.10), &measured(0.01), 0.04), Outcome::Better);
        let bound = Window::Bound { bound_s: 901, cap_s: 8.0 };
        assert_eq!(windows(&bound, &measured(0.01), 0.04), Outcome::Better);
        assert_eq!(windows(&measured(0.01), &bound, 0.04), Outcome::Worse);
        assert_eq!(windows(&Window::NotProbed, &bound, 0.04), Outcome::Undecided);
        assert_eq!(windows(&Window::NoAuth, &Window::NotProbed, 0.04), Outcome::NotMeasured);
    }
}
