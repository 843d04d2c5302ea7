//! What the user weighs: decision drivers and their levels, parsed from `--priority`.

use std::fmt;
use std::str::FromStr;

/// How a criterion's raw figures become scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scale {
    /// Lower is better, normalised linearly across the candidates.
    LowerIsBetter,
    /// Lower is better, normalised on a log scale (windows spanning decades).
    LowerIsBetterLog,
    /// The figure is already a 0..1 score.
    Score,
}

/// A decision driver the user can weigh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Criterion {
    /// How long a revoked credential keeps working.
    Revocation,
    /// CPU per request, target and store.
    Cpu,
    /// p99 latency under saturation.
    Latency,
    /// Bytes on the wire per request.
    Bandwidth,
    /// No store on the request path.
    Simplicity,
}

impl Criterion {
    /// Every criterion, in the order help texts list them.
    pub const ALL: [Criterion; 5] =
        [Criterion::Revocation, Criterion::Cpu, Criterion::Latency, Criterion::Bandwidth, Criterion::Simplicity];

    /// Lower-case name, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Revocation => "revocation",
            Criterion::Cpu => "cpu",
            Criterion::Latency => "latency",
            Criterion::Bandwidth => "bandwidth",
            Criterion::Simplicity => "simplicity",
        }
    }

    /// What the driver means, for the ADR's list of drivers.
    pub fn what(self) -> &'static str {
        match self {
            Criterion::Revocation => "how long a revoked credential keeps working",
            Criterion::Cpu => "CPU per request, target and store",
            Criterion::Latency => "p99 latency under saturation",
            Criterion::Bandwidth => "bytes on the wire per request",
            Criterion::Simplicity => "fewer moving parts: no store on the request path",
        }
    }

    /// Why a candidate can lack this figure, for the ADR's note.
    pub(super) fn why_not_measured(self) -> &'static str {
        match self {
            Criterion::Cpu => "the store is external, so its CPU is not visible from the run",
            Criterion::Revocation | Criterion::Latency | Criterion::Bandwidth | Criterion::Simplicity => {
                "the run recorded no figure"
            }
        }
    }

    /// How raw figures become 0 (worst) .. 1 (best) scores.
    pub(super) fn scale(self) -> Scale {
        match self {
            Criterion::Revocation => Scale::LowerIsBetterLog,
            Criterion::Cpu | Criterion::Latency | Criterion::Bandwidth => Scale::LowerIsBetter,
            Criterion::Simplicity => Scale::Score,
        }
    }

    fn list() -> String {
        Criterion::ALL.map(Criterion::as_str).join(", ")
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a driver weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    /// Every level, strongest first.
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    /// Lower-case name, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    /// The weight a score is multiplied by.
    pub fn weight(self) -> f64 {
        match self {
            Level::High => 3.0,
            Level::Medium => 2.0,
            Level::Low => 1.0,
        }
    }

    fn list() -> String {
        Level::ALL.map(Level::as_str).join(", ")
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One weighted driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    pub criterion: Criterion,
    pub level: Level,
}

/// The drivers a decision weighs, each once, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priorities(Vec<Priority>);

impl Priorities {
    /// Refuses an empty list and a criterion given twice.
    pub fn new(list: Vec<Priority>) -> Result<Priorities, PriorityError> {
        if list.is_empty() {
            return Err(PriorityError::Empty);
        }
        for (i, p) in list.iter().enumerate() {
            if list[..i].iter().any(|q| q.criterion == p.criterion) {
                return Err(PriorityError::Repeated(p.criterion));
            }
        }
        Ok(Priorities(list))
    }

    /// The drivers in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Priority> {
        self.0.iter()
    }
}

impl FromStr for Priorities {
    type Err = PriorityError;

    /// Reads `revocation=high,cpu=medium,…`; a criterion without `=level` weighs high.
    fn from_str(text: &str) -> Result<Priorities, PriorityError> {
        let list = text
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (name, level) = p.split_once('=').unwrap_or((p, Level::High.as_str()));
                let (name, level) = (name.trim(), level.trim());
                let criterion = Criterion::ALL
                    .into_iter()
                    .find(|c| c.as_str() == name)
                    .ok_or_else(|| PriorityError::UnknownCriterion { given: name.to_owned() })?;
                let level = Level::ALL
                    .into_iter()
                    .find(|l| l.as_str() == level)
                    .ok_or_else(|| PriorityError::UnknownLevel { criterion, given: level.to_owned() })?;
                Ok(Priority { criterion, level })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Priorities::new(list)
    }
}

/// Why a priority list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriorityError {
    #[error("unknown criterion {given:?}: use one of {}, as criterion=level", Criterion::list())]
    UnknownCriterion { given: String },
    #[error("unknown level {given:?} for {criterion}: use one of {}", Level::list())]
    UnknownLevel { criterion: Criterion, given: String },
    #[error("{0} is given twice: give each criterion once")]
    Repeated(Criterion),
    #[error(
        "no priorities given: weigh at least one of {} as criterion=level (level: {})",
        Criterion::list(),
        Level::list()
    )]
    Empty,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_read_names_and_levels() {
        let p: Priorities = "revocation=high, cpu = medium,latency".parse().unwrap();
        let got: Vec<(Criterion, Level)> = p.iter().map(|p| (p.criterion, p.level)).collect();
        assert_eq!(
            got,
            [(Criterion::Revocation, Level::High), (Criterion::Cpu, Level::Medium), (Criterion::Latency, Level::High)]
        );
    }

    #[test]
    fn bad_priorities_say_what_is_allowed() {
        let e = "speed=high".parse::<Priorities>().unwrap_err().to_string();
        assert!(e.contains("\"speed\"") && e.contains("revocation, cpu, latency, bandwidth, simplicity"), "{e}");
        let e = "latency=urgent".parse::<Priorities>().unwrap_err().to_string();
        assert!(e.contains("\"urgent\"") && e.contains("high, medium, low"), "{e}");
        assert_eq!("cpu=low,cpu=high".parse::<Priorities>(), Err(PriorityError::Repeated(Criterion::Cpu)));
        assert_eq!(" , ".parse::<Priorities>(), Err(PriorityError::Empty));
    }
}
