//! Rate ladders and capacity at an SLO: the open model offered at rising rates per configuration,
//! and the highest offered rate whose step met the SLO, refined by bisection.

use std::fmt;
use std::str::FromStr;

use authbench_scenarios::ScenarioKind;
use serde::{Deserialize, Serialize};

use super::results::{Case, Cpu, TargetRecord};

/// A latency percentile an SLO can bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Percentile {
    P50,
    P90,
    P99,
    P999,
}

impl Percentile {
    /// The name as written in an SLO.
    pub fn as_str(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
            Percentile::P999 => "p999",
        }
    }

    /// This percentile of a case, µs.
    pub fn of(self, c: &Case) -> u64 {
        match self {
            Percentile::P50 => c.latency_us.p50,
            Percentile::P90 => c.latency_us.p90,
            Percentile::P99 => c.latency_us.p99,
            Percentile::P999 => c.latency_us.p999,
        }
    }
}

/// A service-level objective: a latency percentile at or under a bound, and no errors at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slo {
    pub percentile: Percentile,
    pub max_us: u64,
}

/// Why an SLO as written cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{0:?} is not an SLO: write a percentile, <= and a latency, e.g. p99<=10ms (p50, p90, p99 or p999; us, ms or s)"
)]
pub struct SloError(String);

impl FromStr for Slo {
    type Err = SloError;

    fn from_str(s: &str) -> Result<Slo, SloError> {
        let bad = || SloError(s.to_owned());
        let (p, bound) = s.split_once("<=").ok_or_else(bad)?;
        let percentile = match p.trim().to_ascii_lowercase().as_str() {
            "p50" => Percentile::P50,
            "p90" => Percentile::P90,
            "p99" => Percentile::P99,
            "p999" | "p99.9" => Percentile::P999,
            _ => return Err(bad()),
        };
        let bound = bound.trim();
        let (num, scale) = [("us", 1.0), ("µs", 1.0), ("ms", 1e3), ("s", 1e6)]
            .iter()
            .find_map(|(unit, scale)| bound.strip_suffix(unit).map(|n| (n.trim(), *scale)))
            .ok_or_else(bad)?;
        let v: f64 = num.parse().map_err(|_| bad())?;
        let max_us = v * scale;
        if !(max_us.is_finite() && max_us >= 1.0) {
            return Err(bad());
        }
        Ok(Slo { percentile, max_us: max_us.round() as u64 })
    }
}

impl TryFrom<String> for Slo {
    type Error = SloError;
    fn try_from(s: String) -> Result<Slo, SloError> {
        s.parse()
    }
}

impl From<Slo> for String {
    fn from(s: Slo) -> String {
        s.to_string()
    }
}

impl fmt::Display for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.max_us.is_multiple_of(1000) {
            write!(f, "{}<={}ms", self.percentile.as_str(), self.max_us / 1000)
        } else {
            write!(f, "{}<={}us", self.percentile.as_str(), self.max_us)
        }
    }
}

impl Slo {
    /// Whether a measured step met the objective: the percentile within bound and zero errors.
    pub fn met_by(&self, c: &Case) -> bool {
        c.error_count() == 0 && self.percentile.of(c) <= self.max_us
    }
}

/// The offered rates of a ladder, as written in a matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rungs {
    /// Fractions of the configuration's closed-loop saturation measured earlier in the run.
    Fractions(Vec<f64>),
    /// Explicit rates, requests per second.
    Rates(Vec<f64>),
}

/// The `[ladder]` table of a matrix: which configurations climb which rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LadderSpec {
    /// Target ids (as `TargetSpec::id`) that get a ladder; empty means all.
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(flatten)]
    pub rungs: Rungs,
    /// Open-model users offering the rate.
    pub users: usize,
    /// Bisection steps between the last step that met the SLO and the first that did not.
    #[serde(default)]
    pub refine: u32,
    /// The objective capacity is measured against; `--slo` overrides it.
    #[serde(default)]
    pub slo: Option<Slo>,
}

impl LadderSpec {
    /// What the types cannot say.
    pub fn validate(&self) -> Result<(), String> {
        let (values, what) = match &self.rungs {
            Rungs::Fractions(v) => (v, "fractions"),
            Rungs::Rates(v) => (v, "rates"),
        };
        if values.is_empty() || values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(format!("ladder {what} must be a non-empty list of numbers above 0"));
        }
        if self.users == 0 {
            return Err("ladder users must be at least 1".into());
        }
        Ok(())
    }

    /// Most cases one configuration's ladder runs: its listed rungs and the whole refinement budget.
    pub fn planned_steps(&self) -> usize {
        let listed = match &self.rungs {
            Rungs::Fractions(v) | Rungs::Rates(v) => v.len(),
        };
        listed + self.refine as usize
    }

    /// Whether a configuration climbs this ladder.
    pub fn includes(&self, target_id: &str) -> bool {
        self.targets.is_empty() || self.targets.iter().any(|t| t == target_id)
    }

    /// The offered rates, ascending; None when they are fractions and saturation is unknown.
    pub fn rates(&self, saturation_rps: Option<f64>) -> Option<Vec<f64>> {
        let mut v = match &self.rungs {
            Rungs::Rates(r) => r.clone(),
            Rungs::Fractions(f) => {
                let sat = saturation_rps?;
                f.iter().map(|x| x * sat).collect()
            }
        };
        v.sort_by(f64::total_cmp);
        v.dedup();
        Some(v)
    }
}

/// One measured step of a ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub case_id: String,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub errors: u64,
    pub cpu_us_per_request: Cpu,
    /// Achieved rate over the closed-loop saturation: where on the CPU curve this step sits.
    pub utilization: Option<f64>,
    /// None without an SLO.
    pub met_slo: Option<bool>,
    /// Added by the bisection rather than listed in the ladder.
    pub refined: bool,
}

impl Step {
    /// A step from its case.
    pub fn of(c: &Case, offered_rps: f64, saturation_rps: Option<f64>, slo: Option<Slo>, refined: bool) -> Step {
        Step {
            case_id: c.id.clone(),
            offered_rps,
            achieved_rps: c.throughput_rps,
            p50_us: c.latency_us.p50,
            p99_us: c.latency_us.p99,
            errors: c.error_count(),
            cpu_us_per_request: c.cpu_us_per_request.clone(),
            utilization: saturation_rps.filter(|s| *s > 0.0).map(|s| c.throughput_rps / s),
            met_slo: slo.map(|s| s.met_by(c)),
            refined,
        }
    }
}

/// Capacity at the SLO, as the ladder found it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Capacity {
    /// No SLO was given.
    NoSlo,
    /// `rps` met the SLO and `next_rps`, the next step measured above it, did not.
    Found { rps: f64, next_rps: f64 },
    /// Every step met the SLO: capacity is at least the highest offered rate.
    AtLeast { rps: f64 },
    /// Even the lowest step missed the SLO: capacity is below it.
    Below { rps: f64 },
}

/// The bracket a ladder's steps put around capacity: the highest passing rate below the lowest
/// failing one. Steps are read in offered-rate order, so a lucky pass above a failure never counts.
pub fn bracket(steps: &[Step]) -> Capacity {
    let mut sorted: Vec<&Step> = steps.iter().collect();
    sorted.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
    let Some(first_fail) = sorted.iter().position(|s| s.met_slo == Some(false)) else {
        return match sorted.last() {
            Some(s) if s.met_slo == Some(true) => Capacity::AtLeast { rps: s.offered_rps },
            _ => Capacity::NoSlo,
        };
    };
    match first_fail.checked_sub(1).map(|i| sorted[i]) {
        Some(pass) => Capacity::Found { rps: pass.offered_rps, next_rps: sorted[first_fail].offered_rps },
        None => Capacity::Below { rps: sorted[first_fail].offered_rps },
    }
}

/// A configuration's ladder as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ladder {
    pub target: TargetRecord,
    pub scenario: ScenarioKind,
    pub users: usize,
    /// Median closed-loop throughput of the configuration's browse cases; None when not measured.
    pub saturation_rps: Option<f64>,
    pub slo: Option<Slo>,
    /// In offered-rate order.
    pub steps: Vec<Step>,
    pub capacity: Capacity,
}

impl Ladder {
    /// Target CPU per request at `utilization` of saturation, interpolated between the two
    /// measured steps around it; None outside the measured range.
    pub fn target_cpu_at(&self, utilization: f64) -> Option<CurvePoint> {
        let mut pts: Vec<(f64, f64)> = self
            .steps
            .iter()
            .filter(|s| s.errors == 0)
            .filter_map(|s| s.utilization.map(|u| (u, s.cpu_us_per_request.target)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let hi = pts.iter().position(|p| p.0 >= utilization)?;
        let (u1, c1) = pts[hi];
        if hi == 0 {
            return ((u1 - utilization).abs() < 1e-9).then_some(CurvePoint {
                utilization,
                target_us: c1,
                between: (u1, u1),
            });
        }
        let (u0, c0) = pts[hi - 1];
        let t = if u1 > u0 { (utilization - u0) / (u1 - u0) } else { 0.0 };
        Some(CurvePoint { utilization, target_us: c0 + t * (c1 - c0), between: (u0, u1) })
    }
}

/// A reading of the CPU-per-request curve, with the measured utilizations it lies between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub utilization: f64,
    pub target_us: f64,
    pub between: (f64, f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(offered: f64, met: Option<bool>) -> Step {
        Step {
            case_id: format!("s{offered}"),
            offered_rps: offered,
            achieved_rps: offered,
            p50_us: 1,
            p99_us: 1,
            errors: 0,
            cpu_us_per_request: Cpu {
                target: 100.0 - offered / 100.0,
                store: None,
                loadgen: 1.0,
                relay: None,
                source: crate::model::results::CpuSource::Proc,
                balancer: None,
                per_replica: Vec::new(),
            },
            utilization: Some(offered / 10_000.0),
            met_slo: met,
            refined: false,
        }
    }

    #[test]
    fn slos_parse_and_print() {
        let s: Slo = "p99<=10ms".parse().unwrap();
        assert_eq!(s, Slo { percentile: Percentile::P99, max_us: 10_000 });
        assert_eq!(s.to_string(), "p99<=10ms");
        assert_eq!("p50 <= 250us".parse::<Slo>().unwrap().max_us, 250);
        assert_eq!("p999<=1.5s".parse::<Slo>().unwrap().max_us, 1_500_000);
        for bad in ["p99<10ms", "p98<=1ms", "p99<=fast", "p99<=0ms", "p99<=-3ms"] {
            assert!(bad.parse::<Slo>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_bracket_is_the_last_pass_below_the_first_failure() {
        let steps =
            [step(1000.0, Some(true)), step(3000.0, Some(false)), step(2000.0, Some(true)), step(4000.0, Some(true))];
        assert_eq!(bracket(&steps), Capacity::Found { rps: 2000.0, next_rps: 3000.0 });
        assert_eq!(bracket(&[step(1000.0, Some(true))]), Capacity::AtLeast { rps: 1000.0 });
        assert_eq!(bracket(&[step(1000.0, Some(false)), step(2000.0, Some(true))]), Capacity::Below { rps: 1000.0 });
        assert_eq!(bracket(&[step(1000.0, None)]), Capacity::NoSlo);
    }

    #[test]
    fn rates_come_from_fractions_of_saturation_in_order() {
        let spec = LadderSpec {
            targets: vec![],
            rungs: Rungs::Fractions(vec![0.5, 0.1, 0.5]),
            users: 8,
            refine: 0,
            slo: None,
        };
        assert_eq!(spec.rates(Some(1000.0)), Some(vec![100.0, 500.0]));
        assert_eq!(spec.rates(None), None);
        assert!(spec.includes("anything"));
    }

    #[test]
    fn the_cpu_curve_interpolates_inside_the_measured_range_only() {
        let ladder = Ladder {
            target: TargetRecord::from(&crate::model::matrix::Profile::Smoke.matrix().unwrap().targets[0]),
            scenario: ScenarioKind::Browse,
            users: 8,
            saturation_rps: Some(10_000.0),
            slo: None,
            steps: vec![step(1000.0, None), step(5000.0, None)],
            capacity: Capacity::NoSlo,
        };
        let p = ladder.target_cpu_at(0.3).unwrap();
        assert_eq!(p.between, (0.1, 0.5));
        assert!((p.target_us - 70.0).abs() < 1e-9);
        assert!(ladder.target_cpu_at(0.05).is_none());
        assert!(ladder.target_cpu_at(0.9).is_none());
        assert_eq!(ladder.target_cpu_at(0.1).unwrap().target_us, 90.0);
    }
}
