//! Repetitions into a figure with an interval: the median of the repetitions and a 95 % interval
//! that provably contains it, so "changed" can be told from "noise".
//!
//! Two to five repetitions: Student's t interval around the mean (assumes roughly normal
//! repetitions). It contains the median because |mean − median| ≤ the population standard
//! deviation ≤ s, and t(0.975, n−1)/√n ≥ 1.24 for n ≤ 5. Six or more: the distribution-free
//! order-statistic interval for the median (binomial ranks), which contains it by construction.
//! One repetition: no interval at all, never a made-up one.

use serde::{Deserialize, Serialize};

/// How an interval was computed; the report prints it beside the figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// Student's t around the mean of 2–5 repetitions.
    StudentT,
    /// Binomial order statistics around the median of 6 or more repetitions.
    OrderStatistic,
}

impl IntervalMethod {
    /// Words for the report's method line.
    pub fn describe(self) -> &'static str {
        match self {
            IntervalMethod::StudentT => "Student's t around the mean of the repetitions (2-5 repetitions)",
            IntervalMethod::OrderStatistic => "distribution-free order statistics around the median (6+ repetitions)",
        }
    }
}

/// A 95 % interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    pub method: IntervalMethod,
}

impl Interval {
    /// Whether two intervals share no value: the only case `compare` calls a real change.
    pub fn disjoint(&self, other: &Interval) -> bool {
        self.high < other.low || other.high < self.low
    }
}

/// A figure measured `n` times: the median, and the interval when there are two or more.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub median: f64,
    pub n: usize,
    /// None with a single repetition.
    pub interval: Option<Interval>,
}

impl Estimate {
    /// The estimate of finite samples; None when there are none.
    pub fn of(samples: &[f64]) -> Option<Estimate> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        let interval = match n {
            1 => None,
            2..=5 => Some(student_t(&v)),
            _ => Some(order_statistic(&v)),
        };
        Some(Estimate { median, n, interval })
    }

    /// "12.3 [11.9–12.8]" with `digits` decimals; the bare median for one repetition.
    pub fn show(&self, digits: usize) -> String {
        match self.interval {
            Some(i) => format!("{:.digits$} [{:.digits$}–{:.digits$}]", self.median, i.low, i.high),
            None => format!("{:.digits$}", self.median),
        }
    }
}

/// t(0.975, df) for df = 1..=4, the only ones [`student_t`] is used with.
const T_975: [f64; 4] = [12.706, 4.303, 3.182, 2.776];

fn student_t(v: &[f64]) -> Interval {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = T_975[v.len() - 2] * (var / n).sqrt();
    Interval { low: mean - half, high: mean + half, method: IntervalMethod::StudentT }
}

/// Ranks j < k (1-based, symmetric) with P(X(j) ≤ median ≤ X(k)) ≥ 0.95 under Binomial(n, ½).
fn order_statistic(v: &[f64]) -> Interval {
    let n = v.len();
    // P(B ≤ j−1) for B ~ Binomial(n, ½), accumulated until it would exceed 2.5 %.
    let mut coeff = 1.0_f64;
    let mut below = 0.0_f64;
    let total = 2f64.powi(i32::try_from(n).unwrap_or(i32::MAX));
    let mut j = 0;
    while j < n / 2 {
        let next = below + coeff / total;
        if next > 0.025 {
            break;
        }
        below = next;
        coeff = coeff * (n - j) as f64 / (j + 1) as f64;
        j += 1;
    }
    // j counts the ranks excluded on each side; j = 0 is impossible for n ≥ 6 (P(B=0) ≤ 1/64).
    let j = j.max(1);
    Interval { low: v[j - 1], high: v[n - j], method: IntervalMethod::OrderStatistic }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_repetition_has_no_interval() {
        let e = Estimate::of(&[5.0]).unwrap();
        assert_eq!((e.median, e.n, e.interval), (5.0, 1, None));
        assert!(Estimate::of(&[]).is_none());
        assert!(Estimate::of(&[f64::NAN]).is_none());
    }

    #[test]
    fn three_repetitions_use_t_and_known_values() {
        let e = Estimate::of(&[10.0, 12.0, 14.0]).unwrap();
        let i = e.interval.unwrap();
        assert_eq!(i.method, IntervalMethod::StudentT);
        assert_eq!(e.median, 12.0);
        // s = 2, half width = 4.303 * 2 / sqrt(3)
        assert!((i.high - 12.0 - 4.303 * 2.0 / 3f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn many_repetitions_use_order_statistics() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let i = Estimate::of(&v).unwrap().interval.unwrap();
        assert_eq!(i.method, IntervalMethod::OrderStatistic);
        // n = 20: ranks 6 and 15 (the textbook 95 % interval for the median).
        assert_eq!((i.low, i.high), (6.0, 15.0));
    }

    proptest! {
        #[test]
        fn the_interval_contains_the_median(v in proptest::collection::vec(-1e6f64..1e6, 2..40)) {
            let e = Estimate::of(&v).unwrap();
            let i = e.interval.unwrap();
            prop_assert!(i.low <= e.median && e.median <= i.high, "{e:?}");
        }
    }

    #[test]
    fn disjoint_means_no_shared_value() {
        let a = Interval { low: 1.0, high: 2.0, method: IntervalMethod::StudentT };
        let b = Interval { low: 2.5, high: 3.0, method: IntervalMethod::StudentT };
        let c = Interval { low: 1.5, high: 3.0, method: IntervalMethod::StudentT };
        assert!(a.disjoint(&b) && b.disjoint(&a));
        assert!(!a.disjoint(&c));
    }
}
