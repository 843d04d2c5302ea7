//! What judging a claim gives: the verdict, what was measured and why, and the one rule every
//! numeric claim is judged by.
//!
//! The rule. A claim states a figure (970 µs, 5,527 req/s, 1 %); the run measures the same figure
//! as the median of its repetitions with a 95 % interval (a single window has no interval: the
//! interval is then the median alone). With the claim's tolerance factor `t` (the `tolerance`
//! field, default [`DEFAULT_TOLERANCE`] = 2×), the measured band is [interval low / t, interval
//! high × t], and by the claim's [`Direction`]:
//! - about (`~X`): supported when X lies in the band, refuted when it lies outside it;
//! - at most (`only under X`): supported when interval low ≤ X × t, refuted when even the low end
//!   of the interval is above X × t;
//! - at least (`only above X`): supported when interval high × t ≥ X, refuted when even the high
//!   end is below X / t.
//!
//! A claim covering several measured conditions (stores, configurations, scenarios; for latency,
//! the repetitions the load generator limited against those it did not) is judged under each; it is depends-on only when those verdicts differ, naming each condition's verdict.
//! A figure the run lacks makes it "not measured" (see [`Missing`]), never a verdict from zero.

use std::fmt;

use serde::Serialize;

use crate::model::stats::Estimate;

/// The four answers a run can give a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum VerdictKind {
    #[serde(rename = "supported")]
    Supported,
    #[serde(rename = "refuted")]
    Refuted,
    /// True under some conditions only; `because` names them.
    #[serde(rename = "depends-on")]
    DependsOn,
    /// A case or a figure the claim needs is missing from the run; `because` says which.
    #[serde(rename = "not measured")]
    NotMeasured,
}

impl VerdictKind {
    /// The word the report prints.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Supported => "supported",
            VerdictKind::Refuted => "refuted",
            VerdictKind::DependsOn => "depends-on",
            VerdictKind::NotMeasured => "not measured",
        }
    }
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claim with what this run measured and the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub id: String,
    pub claim: String,
    pub source: String,
    pub url: Option<String>,
    pub metric: String,
    pub states: super::rule::MetricKind,
    /// What the claim was stated under, as published.
    pub condition: String,
    /// The figures the verdict rests on, in words; "—" when not measured.
    pub measured: String,
    pub verdict: VerdictKind,
    /// For depends-on: the condition; for not measured: what the run lacks; otherwise why.
    pub because: String,
}

/// A rule's decision on figures the run has.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub measured: String,
    pub verdict: VerdictKind,
    pub because: String,
}

impl Outcome {
    pub fn supported(measured: String, because: impl Into<String>) -> Outcome {
        Outcome { measured, verdict: VerdictKind::Supported, because: because.into() }
    }

    pub fn refuted(measured: String, because: impl Into<String>) -> Outcome {
        Outcome { measured, verdict: VerdictKind::Refuted, because: because.into() }
    }
}

/// What the run lacks for a rule to decide: a case, or a figure of a case (`None` in results.json).
#[derive(Debug, Clone, PartialEq)]
pub struct Missing(pub String);

impl From<Missing> for Outcome {
    fn from(m: Missing) -> Outcome {
        Outcome {
            measured: "—".into(), verdict: VerdictKind::NotMeasured, because: format!("this run has no {}", m.0)
        }
    }
}

/// A rule's answer: decided from the figures, or not measured for want of one.
pub type Decision = Result<Outcome, Missing>;

/// The value, or the claim is not measured for want of `what`.
pub fn need<T>(value: Option<T>, what: impl FnOnce() -> String) -> Result<T, Missing> {
    value.ok_or_else(|| Missing(what()))
}

/// The tolerance factor a claim gets when its file does not state one: "~X" read as X/2 to 2X.
pub const DEFAULT_TOLERANCE: f64 = 2.0;

/// Which side of its figure a claim commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// "~X": the figure is about X.
    About,
    /// "only under X": the figure is at most X.
    AtMost,
    /// "only above X": the figure is at least X.
    AtLeast,
}

/// A measured figure: the median of its repetitions and their 95 % interval (low = high = median
/// for a single window).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Figure {
    pub median: f64,
    pub low: f64,
    pub high: f64,
    pub n: usize,
}

impl Figure {
    /// The figure of an estimate over repetitions.
    pub fn of(e: &Estimate) -> Figure {
        let (low, high) = e.interval.map_or((e.median, e.median), |i| (i.low, i.high));
        Figure { median: e.median, low, high, n: e.n }
    }

    /// The figure through a monotone function (e.g. µs per request into requests per core).
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Figure {
        let (a, b) = (f(self.low), f(self.high));
        Figure { median: f(self.median), low: a.min(b), high: a.max(b), n: self.n }
    }

    /// "17.3 µs (95 % interval 16.9–17.8 over 3 repetitions)", or "(one window, no interval)".
    pub fn show(&self, digits: usize, unit: &str) -> String {
        let head = format!("{}{unit}", number(self.median, digits));
        if self.n > 1 {
            let (low, high) = (number(self.low, digits), number(self.high, digits));
            format!("{head} (95 % interval {low}–{high} over {} repetitions)", self.n)
        } else {
            format!("{head} (one window, no interval)")
        }
    }
}

/// `x` with `digits` decimals; "∞" for an unbounded figure (a break-even never reached).
fn number(x: f64, digits: usize) -> String {
    if x.is_infinite() {
        "∞".into()
    } else {
        format!("{x:.digits$}")
    }
}

/// What a claim states: its figure, the side it commits to, and how to print it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Stated {
    pub value: f64,
    pub direction: Direction,
    /// Printed after numbers, with its leading space (" µs", " req/s", " %").
    pub unit: &'static str,
    pub digits: usize,
    /// Printed figure = value × scale (100 for a share shown in %).
    pub scale: f64,
}

impl Stated {
    fn show(&self, x: f64) -> String {
        format!("{}{}", number(x * self.scale, self.digits), self.unit)
    }

    fn show_figure(&self, f: &Figure) -> String {
        f.map(|x| x * self.scale).show(self.digits, self.unit)
    }

    /// The verdict of one measured figure under the documented rule with tolerance `t`.
    pub fn verdict(&self, f: &Figure, t: f64) -> VerdictKind {
        let x = self.value;
        let holds = match self.direction {
            Direction::About => f.low / t <= x && x <= f.high * t,
            Direction::AtMost => f.low <= x * t,
            Direction::AtLeast => f.high * t >= x,
        };
        if holds {
            VerdictKind::Supported
        } else {
            VerdictKind::Refuted
        }
    }

    /// The band `f` gives an "about" claim with tolerance `t`, for the reason text.
    fn band(&self, f: &Figure, t: f64) -> String {
        match self.direction {
            Direction::About => format!(" (band {} to {})", self.show(f.low / t), self.show(f.high * t)),
            Direction::AtMost | Direction::AtLeast => String::new(),
        }
    }

    /// The rule in words.
    fn rule_text(&self, t: f64) -> String {
        let x = self.show(self.value);
        match self.direction {
            Direction::About => format!(
                "rule (tolerance {t}×): supported when the claimed {x} lies in the band [interval low / {t}, interval \
                 high × {t}], refuted outside it"
            ),
            Direction::AtMost => format!(
                "rule (tolerance {t}×): the claim says at most {x}; supported when the interval's low end is at most \
                 {}, refuted above it",
                self.show(self.value * t)
            ),
            Direction::AtLeast => format!(
                "rule (tolerance {t}×): the claim says at least {x}; supported when the interval's high end is at \
                 least {}, refuted below it",
                self.show(self.value / t)
            ),
        }
    }
}

/// A figure measured under one condition a claim covers, e.g. "jwt-HS256, browse-closed-32u".
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reading {
    pub condition: String,
    pub figure: Figure,
}

/// Judges `stated` under every reading with tolerance `t`; `why` explains the figure in the
/// claim's terms and closes the reason.
pub(crate) fn judge_figures(stated: &Stated, readings: &[Reading], t: f64, why: &str) -> Decision {
    if readings.is_empty() {
        return Err(Missing("measured condition for this claim".into()));
    }
    let kinds: Vec<VerdictKind> = readings.iter().map(|r| stated.verdict(&r.figure, t)).collect();
    let measured =
        readings.iter().map(|r| format!("{}: {}", r.condition, stated.show_figure(&r.figure))).collect::<Vec<_>>();
    let verdict = if kinds.iter().all(|k| *k == kinds[0]) { kinds[0] } else { VerdictKind::DependsOn };
    let each = readings
        .iter()
        .zip(&kinds)
        .map(|(r, k)| format!("{}: {}{} → {k}", r.condition, stated.show_figure(&r.figure), stated.band(&r.figure, t)))
        .collect::<Vec<_>>()
        .join("; ");
    let head = match verdict {
        VerdictKind::DependsOn => format!("the verdict changes between the measured conditions ({each})"),
        _ => format!("{each}, against the claimed {}", stated.show(stated.value)),
    };
    let because = format!("{head}; {}. {why}", stated.rule_text(t));
    Ok(Outcome { measured: measured.join("; "), verdict, because })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_print_and_serialize_as_the_report_words() {
        for (kind, word) in [
            (VerdictKind::Supported, "supported"),
            (VerdictKind::Refuted, "refuted"),
            (VerdictKind::DependsOn, "depends-on"),
            (VerdictKind::NotMeasured, "not measured"),
        ] {
            assert_eq!(kind.to_string(), word);
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::String(word.into()));
        }
    }

    #[test]
    fn missing_reads_as_not_measured() {
        let o: Outcome = need(None::<f64>, || "req/s per core for session-redis".into()).unwrap_err().into();
        assert_eq!(o.verdict, VerdictKind::NotMeasured);
        assert_eq!(o.measured, "—");
        assert_eq!(o.because, "this run has no req/s per core for session-redis");
    }

    fn stated(value: f64, direction: Direction) -> Stated {
        Stated { value, direction, unit: " µs", digits: 0, scale: 1.0 }
    }

    fn figure(low: f64, median: f64, high: f64) -> Figure {
        Figure { median, low, high, n: 3 }
    }

    #[test]
    fn about_holds_within_the_tolerance_of_the_interval() {
        let f = figure(400.0, 500.0, 600.0);
        assert_eq!(stated(1000.0, Direction::About).verdict(&f, 2.0), VerdictKind::Supported);
        assert_eq!(stated(1300.0, Direction::About).verdict(&f, 2.0), VerdictKind::Refuted);
        assert_eq!(stated(210.0, Direction::About).verdict(&f, 2.0), VerdictKind::Supported);
        assert_eq!(stated(190.0, Direction::About).verdict(&f, 2.0), VerdictKind::Refuted);
        assert_eq!(stated(1300.0, Direction::About).verdict(&f, 3.0), VerdictKind::Supported);
    }

    #[test]
    fn one_sided_claims_are_refuted_only_on_their_side() {
        let f = figure(400.0, 500.0, 600.0);
        assert_eq!(stated(10.0, Direction::AtMost).verdict(&f, 2.0), VerdictKind::Refuted);
        assert_eq!(stated(1e6, Direction::AtMost).verdict(&f, 2.0), VerdictKind::Supported);
        assert_eq!(stated(1e6, Direction::AtLeast).verdict(&f, 2.0), VerdictKind::Refuted);
        assert_eq!(stated(10.0, Direction::AtLeast).verdict(&f, 2.0), VerdictKind::Supported);
    }

    #[test]
    fn differing_conditions_depend_on_and_name_each() {
        let readings = [
            Reading { condition: "a".into(), figure: figure(900.0, 1000.0, 1100.0) },
            Reading { condition: "b".into(), figure: figure(40.0, 50.0, 60.0) },
        ];
        let o = judge_figures(&stated(1000.0, Direction::About), &readings, 2.0, "why.").unwrap();
        assert_eq!(o.verdict, VerdictKind::DependsOn);
        assert!(o.because.contains("a: 1000 µs") && o.because.contains("→ supported"), "{}", o.because);
        assert!(o.because.contains("b: 50 µs") && o.because.contains("→ refuted"), "{}", o.because);
        let o = judge_figures(&stated(1000.0, Direction::About), &readings[..1], 2.0, "why.").unwrap();
        assert_eq!(o.verdict, VerdictKind::Supported);
        assert!(o.because.contains("95 % interval 900–1100 over 3 repetitions"), "{}", o.because);
    }
}
