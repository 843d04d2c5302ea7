//! Load from several hosts: `authbench run --shard I/N` drives shard I's share of every load
//! (closed-loop users split as evenly as possible, the remainder to the low indices; an open
//! load's rate divided by N), `--start-at` makes every shard begin at the same wall-clock instant,
//! and [`super::merge`] combines the shards' results exactly. A shard's results.json records the
//! whole load in each case (the ids and the matrix stay those of the unsharded run) and its
//! [`ShardRecord`] in the run config, from which its share follows.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use authbench_scenarios::LoadModel;
use serde::{Deserialize, Serialize};

use super::matrix::LoadSpec;

/// Shard `index` of `count` (0-based), as `--shard I/N` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Why a shard cannot be formed or cannot take its share of a load.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShardError {
    #[error("{0:?} is not a shard: write I/N with 0 <= I < N, e.g. --shard 0/2 and --shard 1/2")]
    Syntax(String),
    #[error("shard {index}/{count}: the index must be below the count (shards are numbered 0 to {count} - 1)")]
    OutOfRange { index: u32, count: u32 },
    #[error(
        "load {load}: {users} users cannot be split over {count} shards (shard {index} would get none); \
         use at most {users} shards or give the load more users with --users"
    )]
    NoUsers { load: String, users: usize, index: u32, count: u32 },
}

impl Shard {
    /// A shard, checked: `index < count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if index < count {
            Ok(Shard { index, count })
        } else {
            Err(ShardError::OutOfRange { index, count })
        }
    }

    /// This shard's closed-loop users out of `users`: as even as possible, the remainder to the
    /// low indices, so the shares sum to `users`.
    pub fn users(self, users: usize) -> usize {
        let (n, i) = (self.count as usize, self.index as usize);
        users / n + usize::from(i < users % n)
    }

    /// The load this shard drives: its users, and an open load's rate divided by the count. An
    /// error when the shard would get no user.
    pub fn share(self, load: &LoadSpec) -> Result<LoadSpec, ShardError> {
        let users = self.users(load.users);
        if users == 0 {
            let (index, count) = (self.index, self.count);
            return Err(ShardError::NoUsers { load: load.id(), users: load.users, index, count });
        }
        let model = match load.model {
            LoadModel::Closed => LoadModel::Closed,
            LoadModel::Open { rate_rps } => LoadModel::Open { rate_rps: rate_rps / f64::from(self.count) },
        };
        Ok(LoadSpec { users, model, ..*load })
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(s.to_owned());
        let (i, n) = s.trim().split_once('/').ok_or_else(syntax)?;
        let index = i.trim().parse().map_err(|_| syntax())?;
        let count = n.trim().parse().map_err(|_| syntax())?;
        Shard::new(index, count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A wall-clock instant given as RFC 3339 in UTC (`2026-11-26T09:00:00Z`), when every shard begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StartAt(pub SystemTime);

/// Why a start time was not understood.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 time in UTC: write e.g. 2026-11-26T09:00:00Z (date, T, time, Z)")]
pub struct StartAtError(String);

impl FromStr for StartAt {
    type Err = StartAtError;

    fn from_str(s: &str) -> Result<StartAt, StartAtError> {
        humantime::parse_rfc3339(s.trim()).map(StartAt).map_err(|_| StartAtError(s.to_owned()))
    }
}

impl fmt::Display for StartAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(self.0))
    }
}

impl Serialize for StartAt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StartAt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StartAt, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How late a start may be before a shard refuses it: later than this, the other shards are
/// already well into their first window.
pub const START_TOLERANCE: Duration = Duration::from_secs(5);

/// What a shard does about its start time at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Wait this long, then begin.
    Wait(Duration),
    /// Begin now: the time passed by this much, within [`START_TOLERANCE`].
    Late(Duration),
    /// Refuse: the time passed by this much, beyond the tolerance.
    TooLate(Duration),
}

impl StartAt {
    /// Whether to wait, begin or refuse at `now`.
    pub fn at(self, now: SystemTime) -> Start {
        match self.0.duration_since(now) {
            Ok(wait) => Start::Wait(wait),
            Err(e) if e.duration() <= START_TOLERANCE => Start::Late(e.duration()),
            Err(e) => Start::TooLate(e.duration()),
        }
    }
}

/// Whether the shards of a run each started their own target or all drove one deployed target:
/// it decides how [`super::merge`] combines what the targets measured (CPU, bytes, store ops).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardTargets {
    /// Each shard started its own target per case (`authbench run` on each host): every target
    /// served only its shard's requests, so the targets' totals add up.
    #[default]
    Own,
    /// Every shard drove the same target: each shard's scrape saw the whole target, so its
    /// figures come from one shard, never summed.
    Shared,
}

/// A shard's place in its run, as results.json records it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub index: u32,
    pub count: u32,
    /// The instant every shard was told to begin; None when none was given.
    pub start_at: Option<StartAt>,
    #[serde(default)]
    pub targets: ShardTargets,
}

impl ShardRecord {
    /// The shard itself.
    pub fn shard(&self) -> Shard {
        Shard { index: self.index, count: self.count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authbench_scenarios::ScenarioKind;

    fn load(users: usize, model: LoadModel) -> LoadSpec {
        LoadSpec { scenario: ScenarioKind::Browse, model, users, population: None }
    }

    #[test]
    fn users_split_evenly_with_the_remainder_to_the_low_indices() {
        let shares: Vec<usize> = (0..3).map(|i| Shard::new(i, 3).unwrap().users(8)).collect();
        assert_eq!(shares, [3, 3, 2]);
        assert_eq!((0..4).map(|i| Shard::new(i, 4).unwrap().users(8)).sum::<usize>(), 8);
        let err = Shard::new(2, 3).unwrap().share(&load(2, LoadModel::Closed)).unwrap_err();
        assert!(err.to_string().contains("cannot be split over 3 shards"), "{err}");
    }

    #[test]
    fn an_open_rate_is_divided_by_the_count() {
        let l = Shard::new(1, 4).unwrap().share(&load(8, LoadModel::Open { rate_rps: 1000.0 })).unwrap();
        assert_eq!((l.users, l.model), (2, LoadModel::Open { rate_rps: 250.0 }));
    }

    #[test]
    fn shards_parse_as_index_slash_count() {
        assert_eq!("1/2".parse::<Shard>(), Ok(Shard { index: 1, count: 2 }));
        assert_eq!("2/2".parse::<Shard>(), Err(ShardError::OutOfRange { index: 2, count: 2 }));
        assert!(matches!("2".parse::<Shard>(), Err(ShardError::Syntax(_))));
        assert!(matches!("0/0".parse::<Shard>(), Err(ShardError::OutOfRange { .. })));
    }

    #[test]
    fn a_start_waits_begins_late_or_refuses() {
        let t: StartAt = "2026-11-26T09:00:00Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-26T09:00:00.000Z");
        let s = |late: u64| t.at(t.0 + Duration::from_secs(late));
        assert_eq!(t.at(t.0 - Duration::from_secs(3)), Start::Wait(Duration::from_secs(3)));
        assert_eq!(s(2), Start::Late(Duration::from_secs(2)));
        assert_eq!(s(60), Start::TooLate(Duration::from_secs(60)));
        assert!("09:00".parse::<StartAt>().is_err());
        let back: StartAt = serde_json::from_value(serde_json::to_value(t).unwrap()).unwrap();
        assert_eq!(back, t);
    }
}
