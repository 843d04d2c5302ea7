//! Run matrices: which target configurations meet which loads. Profiles are TOML files under
//! `scenarios/profiles/`; a user can pass their own with `--matrix FILE`.

use std::fmt;
use std::path::Path;

use authbench_scenarios::{LoadModel, ScenarioKind};

use super::dimensions::{self, Dimensions};
use super::fault::FaultSpec;
use super::ladder::LadderSpec;
use super::population::{PopulationError, PopulationSpec};
use authbench_targets::spec::{Span, StoreKind, TargetSpec};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// The matrices compiled into the binary, so it works from any directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// CI, under a minute.
    Smoke,
    /// About three minutes.
    Quick,
    /// About 50 minutes: every strategy and store, every algorithm, three repetitions, four ladders.
    Standard,
    /// Sweeps of users, rates and TTLs.
    Full,
}

impl Profile {
    /// Lower-case name, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Smoke => "smoke",
            Profile::Quick => "quick",
            Profile::Standard => "standard",
            Profile::Full => "full",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Profile::Smoke => include_str!("../../../scenarios/profiles/smoke.toml"),
            Profile::Quick => include_str!("../../../scenarios/profiles/quick.toml"),
            Profile::Standard => include_str!("../../../scenarios/profiles/standard.toml"),
            Profile::Full => include_str!("../../../scenarios/profiles/full.toml"),
        }
    }

    /// The profile's matrix.
    pub fn matrix(self) -> Result<Matrix, MatrixError> {
        parse(self.text(), &format!("built-in profile {}", self.as_str()))
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store to keep when narrowing a matrix; `none` keeps targets without a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreFilter {
    Postgres,
    Redis,
    /// `redis-cluster` (no built-in profile has one: give a matrix file with such targets).
    #[serde(rename = "redis-cluster")]
    RedisCluster,
    Memory,
    None,
}

impl StoreFilter {
    /// Whether a target on `store` passes this filter.
    pub fn keeps(self, store: Option<StoreKind>) -> bool {
        match (self, store) {
            (StoreFilter::Postgres, Some(StoreKind::Postgres))
            | (StoreFilter::Redis, Some(StoreKind::Redis))
            | (StoreFilter::RedisCluster, Some(StoreKind::RedisCluster))
            | (StoreFilter::Memory, Some(StoreKind::Memory))
            | (StoreFilter::None, None) => true,
            (
                StoreFilter::Postgres
                | StoreFilter::Redis
                | StoreFilter::RedisCluster
                | StoreFilter::Memory
                | StoreFilter::None,
                _,
            ) => false,
        }
    }
}

/// A whole run matrix as written in a profile file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    pub description: String,
    /// Load before the measured window.
    pub warmup: Span,
    /// Measured window per case.
    pub duration: Span,
    /// How long the security probe waits for a revoked credential to be refused.
    pub probe_cap: Span,
    /// Users seeded into every target.
    pub seed_users: u64,
    /// Users the probe logs in and revokes.
    pub probe_users: u32,
    /// Sessions or refresh families created to measure bytes per stored record.
    #[serde(default = "default_storage_records")]
    pub storage_records: u64,
    /// Sessions or refresh families stored in each PostgreSQL or Redis configuration's namespace
    /// before its first case, so lookups meet a deployment-sized keyspace; 0: none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seed_sessions: u64,
    /// How many times each case runs, interleaved across configurations (A B C A B C).
    #[serde(default = "one")]
    pub repetitions: u32,
    /// Rate ladders to saturation and capacity at an SLO; None: no ladder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<LadderSpec>,
    /// Measure the load generator's own ceiling on a bare endpoint, beside wrk's.
    #[serde(default)]
    pub loadgen_ceiling: bool,
    #[serde(rename = "target")]
    pub targets: Vec<TargetSpec>,
    #[serde(rename = "load")]
    pub loads: Vec<MatrixLoad>,
    /// Fault cases, run once each after the speed cases.
    #[serde(default, rename = "fault", skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Store round trips and pool sizes swept over the targets (`[dimensions]`, or several
    /// `[[dimensions]]`); consumed when the matrix is read (the targets then list every variant),
    /// so a results file records only the expanded list.
    #[serde(default, deserialize_with = "dimensions::one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimensions>,
}

/// More repetitions than this would take days at any profile's window; the CLI caps it too.
pub const MAX_REPETITIONS: u32 = 100;

fn one() -> u32 {
    1
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn default_storage_records() -> u64 {
    2000
}

/// Whether load is offered by a fixed number of users back to back or at a fixed rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Closed,
    Open,
}

impl ModelKind {
    /// Lower-case name, as in files.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Closed => "closed",
            ModelKind::Open => "open",
        }
    }
}

/// One load: scenario, model (with its rate) and users.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LoadFields", into = "LoadFields")]
pub struct LoadSpec {
    pub scenario: ScenarioKind,
    pub model: LoadModel,
    pub users: usize,
    /// Think time, session length and time scale of the population scenario; None otherwise.
    pub population: Option<PopulationSpec>,
}

/// A `[[load]]` of a matrix: the load, and which configurations, window and repetitions it runs
/// with (a population needs a longer window, and rarely every configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LoadFields", into = "LoadFields")]
pub struct MatrixLoad {
    pub load: LoadSpec,
    /// Configuration ids the load runs against; empty: every [[target]].
    pub targets: Vec<String>,
    /// Warm-up and window of this load's cases in place of the matrix's.
    pub warmup: Option<Span>,
    pub duration: Option<Span>,
    /// At most this many of the matrix's repetitions.
    pub repetitions: Option<u32>,
}

/// The written form of a [`LoadSpec`] and of a [`MatrixLoad`]: `model` names the kind,
/// `rate_rps` goes with `open` only, the population fields with `population` only, and
/// `targets`/`warmup`/`duration`/`repetitions` with a matrix's `[[load]]` only.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadFields {
    scenario: ScenarioKind,
    model: ModelKind,
    users: usize,
    #[serde(default)]
    rate_rps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    think_time: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_requests: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warmup: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    repetitions: Option<u32>,
}

/// Why a load as written cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("closed loads take no rate_rps")]
    RateOnClosed,
    #[error("open loads need rate_rps > 0")]
    OpenWithoutRate,
    #[error("users must be at least 1")]
    NoUsers,
    #[error(transparent)]
    Population(#[from] PopulationError),
    #[error("targets, warmup, duration and repetitions belong to a [[load]] of the matrix, not to this load")]
    MatrixOnly,
    #[error("a [[load]]'s repetitions must be at least 1")]
    NoRepetitions,
    #[error("a [[load]]'s duration must be longer than 0s")]
    NoDuration,
}

impl TryFrom<LoadFields> for LoadSpec {
    type Error = LoadError;

    fn try_from(f: LoadFields) -> Result<LoadSpec, LoadError> {
        let model = match (f.model, f.rate_rps) {
            (ModelKind::Closed, None) => LoadModel::Closed,
            (ModelKind::Closed, Some(_)) => return Err(LoadError::RateOnClosed),
            (ModelKind::Open, Some(rate_rps)) if rate_rps.is_finite() && rate_rps > 0.0 => LoadModel::Open { rate_rps },
            (ModelKind::Open, _) => return Err(LoadError::OpenWithoutRate),
        };
        if f.users == 0 {
            return Err(LoadError::NoUsers);
        }
        let matrix_only =
            !f.targets.is_empty() || f.warmup.is_some() || f.duration.is_some() || f.repetitions.is_some();
        if matrix_only {
            return Err(LoadError::MatrixOnly);
        }
        let population =
            PopulationSpec::from_fields(f.scenario, model, f.think_time, f.session_requests, f.time_scale)?;
        Ok(LoadSpec { scenario: f.scenario, model, users: f.users, population })
    }
}

impl From<LoadSpec> for LoadFields {
    fn from(l: LoadSpec) -> LoadFields {
        let p = l.population;
        LoadFields {
            scenario: l.scenario,
            model: l.model_kind(),
            users: l.users,
            rate_rps: l.rate_rps(),
            think_time: p.map(|p| p.think_time),
            session_requests: p.map(|p| p.session_requests),
            time_scale: p.map(|p| p.time_scale),
            targets: Vec::new(),
            warmup: None,
            duration: None,
            repetitions: None,
        }
    }
}

impl TryFrom<LoadFields> for MatrixLoad {
    type Error = LoadError;

    fn try_from(mut f: LoadFields) -> Result<MatrixLoad, LoadError> {
        let targets = std::mem::take(&mut f.targets);
        let (warmup, duration, repetitions) = (f.warmup.take(), f.duration.take(), f.repetitions.take());
        if repetitions == Some(0) {
            return Err(LoadError::NoRepetitions);
        }
        if duration.is_some_and(|d| d.0.is_zero()) {
            return Err(LoadError::NoDuration);
        }
        Ok(MatrixLoad { load: LoadSpec::try_from(f)?, targets, warmup, duration, repetitions })
    }
}

impl From<MatrixLoad> for LoadFields {
    fn from(m: MatrixLoad) -> LoadFields {
        LoadFields {
            targets: m.targets,
            warmup: m.warmup,
            duration: m.duration,
            repetitions: m.repetitions,
            ..LoadFields::from(m.load)
        }
    }
}

impl MatrixLoad {
    /// Whether the load runs against the configuration `id`.
    pub fn includes(&self, id: &str) -> bool {
        self.targets.is_empty() || self.targets.iter().any(|t| t == id)
    }

    /// How many of the matrix's `repetitions` run this load.
    pub fn repetitions_in(&self, repetitions: u32) -> u32 {
        self.repetitions.map_or(repetitions, |n| n.min(repetitions))
    }

    /// Whether repetition `r` (from 1) of the matrix runs this load.
    pub fn runs_in(&self, r: u32) -> bool {
        self.repetitions.is_none_or(|n| r <= n)
    }

    /// Its targets exist, and a population's time scale leaves each hybrid access TTL usable.
    fn validate(&self, targets: &[TargetSpec]) -> Result<(), String> {
        let ids: Vec<String> = targets.iter().map(TargetSpec::id).collect();
        if let Some(unknown) = self.targets.iter().find(|t| !ids.contains(t)) {
            return Err(format!(
                "load {}: target {unknown:?} is not a [[target]] of this matrix (ids: {})",
                self.load.id(),
                ids.join(", ")
            ));
        }
        let Some(p) = self.load.population else { return Ok(()) };
        p.check_targets(targets.iter().filter(|t| self.includes(&t.id())))
            .map_err(|e| format!("load {}: {e}", self.load.id()))
    }
}

/// Why a matrix file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("cannot read matrix {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("matrix {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

/// Reads a user's matrix file.
pub fn from_file(path: &Path) -> Result<Matrix, MatrixError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| MatrixError::Read { path: shown.clone(), source })?;
    parse(&text, &shown)
}

fn parse(text: &str, path: &str) -> Result<Matrix, MatrixError> {
    let mut m: Matrix =
        toml::from_str(text).map_err(|e| MatrixError::Invalid { path: path.into(), message: e.to_string() })?;
    if !m.dimensions.is_empty() {
        let sweeps = std::mem::take(&mut m.dimensions);
        m.targets = dimensions::expand_all(&sweeps, &m.targets)
            .map_err(|message| MatrixError::Invalid { path: path.into(), message })?;
    }
    m.validate().map_err(|message| MatrixError::Invalid { path: path.into(), message })?;
    Ok(m)
}

impl Matrix {
    /// What the types cannot say: the matrix is not empty and the probe has users to work with.
    fn validate(&self) -> Result<(), String> {
        if self.targets.is_empty() || self.loads.is_empty() {
            return Err("a matrix needs at least one [[target]] and one [[load]]".into());
        }
        if self.duration.0.is_zero() {
            return Err("duration must be longer than 0s".into());
        }
        if self.probe_users == 0 {
            return Err("probe_users must be at least 1".into());
        }
        if self.seed_users < 2 {
            return Err("seed_users must be at least 2 (user0 is the admin)".into());
        }
        if !(1..=MAX_REPETITIONS).contains(&self.repetitions) {
            return Err(format!("repetitions must be 1 to {MAX_REPETITIONS}"));
        }
        if let Some(l) = &self.ladder {
            l.validate()?;
            let ids: Vec<String> = self.targets.iter().map(TargetSpec::id).collect();
            if let Some(unknown) = l.targets.iter().find(|t| !ids.contains(t)) {
                return Err(format!(
                    "ladder target {unknown:?} is not a [[target]] of this matrix (ids: {})",
                    ids.join(", ")
                ));
            }
        }
        self.loads.iter().try_for_each(|l| l.validate(&self.targets))?;
        if let Some(f) = self.faults.iter().find(|f| f.load.scenario == ScenarioKind::Population) {
            return Err(format!("{}: fault cases run browse-like users; put population loads in [[load]]", f.id()));
        }
        self.faults.iter().try_for_each(|f| f.validate(&self.targets))
    }
}

impl Matrix {
    /// The matrix narrowed and overridden as the command line asked; an empty result is an error
    /// that names the filter which emptied it.
    pub fn narrowed(mut self, o: &crate::model::results::Overrides) -> Result<Matrix, String> {
        fn keep<T: PartialEq>(list: &[T], v: T) -> bool {
            list.is_empty() || list.contains(&v)
        }
        self.targets.retain(|t| {
            keep(&o.strategies, t.strategy)
                && (o.stores.is_empty() || o.stores.iter().any(|f| f.keeps(t.needed_store())))
                && t.signing_alg().is_none_or(|alg| keep(&o.algs, alg))
        });
        self.loads.retain(|l| keep(&o.scenarios, l.load.scenario));
        if self.targets.is_empty() {
            return Err("no target configuration left after --strategies/--stores/--algs".into());
        }
        let kept: Vec<String> = self.targets.iter().map(TargetSpec::id).collect();
        self.loads.retain_mut(|l| {
            let filtered = !l.targets.is_empty();
            l.targets.retain(|t| kept.contains(t));
            !(filtered && l.targets.is_empty())
        });
        if self.loads.is_empty() {
            return Err("no load left after --scenarios (and the loads' own targets)".into());
        }
        for l in &mut self.loads {
            if let Some(users) = o.users {
                l.load.users = users;
            }
            if let (Some(rate_rps), LoadModel::Open { .. }) = (o.rate, l.load.model) {
                l.load.model = LoadModel::Open { rate_rps };
            }
            // The command line's window wins over a load's own.
            l.warmup = l.warmup.filter(|_| o.warmup.is_none());
            l.duration = l.duration.filter(|_| o.duration.is_none());
        }
        self.duration = o.duration.unwrap_or(self.duration);
        self.warmup = o.warmup.unwrap_or(self.warmup);
        self.repetitions = o.repetitions.unwrap_or(self.repetitions);
        if o.slo.is_some() && self.ladder.is_none() {
            return Err("--slo needs a [ladder] in the matrix (the standard profile has one)".into());
        }
        if let Some(l) = &mut self.ladder {
            l.slo = o.slo.or(l.slo);
            let kept: Vec<String> = self.targets.iter().map(TargetSpec::id).collect();
            if !l.targets.is_empty() {
                l.targets.retain(|t| kept.contains(t));
                if l.targets.is_empty() {
                    if o.slo.is_some() {
                        return Err("--slo: no configuration that climbs the ladder is left after the filters".into());
                    }
                    self.ladder = None;
                }
            }
        }
        Ok(self)
    }
}

impl LoadSpec {
    /// Closed or open, without the rate.
    pub fn model_kind(&self) -> ModelKind {
        match self.model {
            LoadModel::Closed => ModelKind::Closed,
            LoadModel::Open { .. } => ModelKind::Open,
        }
    }

    /// The offered rate of an open load.
    pub fn rate_rps(&self) -> Option<f64> {
        match self.model {
            LoadModel::Closed => None,
            LoadModel::Open { rate_rps } => Some(rate_rps),
        }
    }

    /// Readable id: scenario, model, users, rate; a population's think time, session length and
    /// time scale ("population-closed-1000u-think30s-50req-x60").
    pub fn id(&self) -> String {
        match (self.model, self.population) {
            (_, Some(p)) => format!("{}-closed-{}u-{}", self.scenario, self.users, p.id_part()),
            (LoadModel::Open { rate_rps }, None) => format!("{}-open-{}u-{rate_rps}rps", self.scenario, self.users),
            (LoadModel::Closed, None) => format!("{}-closed-{}u", self.scenario, self.users),
        }
    }

    /// Why this load cannot run against a target, if it cannot.
    pub fn incompatible_with(&self, t: &TargetSpec) -> Option<&'static str> {
        let has_refresh_token = t.strategy.has_refresh_token();
        let needs_refresh_token = match self.scenario {
            ScenarioKind::Refresh => true,
            ScenarioKind::Browse | ScenarioKind::Login | ScenarioKind::Mixed | ScenarioKind::Population => false,
        };
        (needs_refresh_token && !has_refresh_token).then_some(
            "the refresh scenario measures hybrid refresh-token rotation; other strategies have no refresh token",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authbench_targets::spec::StrategyKind;

    #[test]
    fn builtin_profiles_parse() {
        for p in Profile::value_variants() {
            let m = p.matrix().unwrap_or_else(|e| panic!("{e}"));
            assert!(!m.targets.is_empty() && !m.loads.is_empty(), "{p}");
        }
    }

    #[test]
    fn smoke_covers_the_ci_configurations() {
        let ids: Vec<String> = Profile::Smoke.matrix().unwrap().targets.iter().map(TargetSpec::id).collect();
        for want in ["jwt-HS256", "session-postgres", "session-redis", "hybrid-redis-HS256", "session-memory"] {
            assert!(ids.iter().any(|i| i == want), "{want} missing from {ids:?}");
        }
    }

    #[test]
    fn a_matrix_file_runs_redis_cluster_targets_and_the_store_filter_keeps_them() {
        let text = Profile::Smoke.text().to_owned()
            + "\n[[target]]\nstrategy = \"session\"\nstore = \"redis-cluster\"\n\n[[target]]\nstrategy = \"hybrid\"\nstore = \"redis-cluster\"\n";
        let m = parse(&text, "cluster.toml").unwrap_or_else(|e| panic!("{e}"));
        let filter: StoreFilter = clap::ValueEnum::from_str("redis-cluster", false).expect("--stores redis-cluster");
        let o = crate::model::results::Overrides { stores: vec![filter], ..Default::default() };
        let ids: Vec<String> = m.clone().narrowed(&o).unwrap().targets.iter().map(TargetSpec::id).collect();
        assert_eq!(ids, ["session-redis-cluster", "hybrid-redis-cluster-HS256"]);
        let redis_only = crate::model::results::Overrides { stores: vec![StoreFilter::Redis], ..Default::default() };
        let ids: Vec<String> = m.narrowed(&redis_only).unwrap().targets.iter().map(TargetSpec::id).collect();
        assert!(!ids.iter().any(|i| i.contains("cluster")), "--stores redis keeps no cluster target: {ids:?}");
        for p in [Profile::Standard, Profile::Smoke] {
            let stores: Vec<_> = p.matrix().unwrap().targets.iter().filter_map(TargetSpec::needed_store).collect();
            assert!(!stores.contains(&StoreKind::RedisCluster), "{p} runs no cluster");
        }
    }

    #[test]
    fn invalid_matrices_are_explained() {
        let base = Profile::Smoke.text();
        for (bad, expect) in [
            (base.replace("strategy = \"jwt\"", "strategy = \"magic\""), "unknown variant `magic`"),
            (base.replace("model = \"closed\"", "model = \"closed\"\nrate_rps = 5.0"), "closed loads take no rate_rps"),
            (base.replace("duration = \"3s\"", "duration = \"soon\""), "duration like"),
            (base.replace("scenario = \"browse\"", "scenario = \"brwose\""), "unknown variant `brwose`"),
        ] {
            let err = parse(&bad, "test.toml").err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(expect), "{err}");
        }
    }

    #[test]
    fn loads_round_trip_through_their_written_form() {
        let m = Profile::Full.matrix().unwrap();
        let back: Matrix = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        let open = m.loads.iter().find(|l| l.load.model_kind() == ModelKind::Open).unwrap();
        assert_eq!(open.load.id(), "browse-open-48u-3000rps");
    }

    #[test]
    fn narrowing_keeps_what_was_asked_and_names_an_empty_result() {
        use crate::model::results::Overrides;
        let m = Profile::Standard.matrix().unwrap();
        let o = Overrides {
            stores: vec![StoreFilter::None],
            algs: vec![authbench_targets::token::alg::Alg::Es256],
            users: Some(3),
            ..Overrides::default()
        };
        let n = m.clone().narrowed(&o).unwrap();
        let ids: Vec<String> = n.targets.iter().map(TargetSpec::id).collect();
        assert_eq!(ids, ["none", "jwt-ES256"], "the floor has no store and no algorithm to filter it out");
        assert!(n.loads.iter().all(|l| l.load.users == 3));
        let o = Overrides {
            strategies: vec![StrategyKind::Session],
            algs: vec![authbench_targets::token::alg::Alg::EdDsa],
            ..Overrides::default()
        };
        assert_eq!(m.clone().narrowed(&o).unwrap().targets.len(), 10, "session targets have no algorithm to filter");
        let o = Overrides {
            strategies: vec![StrategyKind::Jwt],
            stores: vec![StoreFilter::Postgres, StoreFilter::Redis],
            scenarios: vec![ScenarioKind::Login],
            ..Overrides::default()
        };
        assert!(m.clone().narrowed(&o).unwrap_err().contains("--scenarios"));
        let slo = "p99<=5ms".parse().ok();
        let o = Overrides {
            strategies: vec![StrategyKind::Jwt],
            algs: vec![authbench_targets::token::alg::Alg::Es256],
            slo,
            ..Overrides::default()
        };
        assert!(m.clone().narrowed(&o).unwrap_err().contains("--slo"), "no laddered configuration is ES256");
        let o = Overrides { stores: vec![StoreFilter::Redis], slo, ..Overrides::default() };
        let n = m.narrowed(&o).unwrap();
        let l = n.ladder.unwrap();
        assert_eq!(l.targets, ["session-redis", "hybrid-redis-HS256"]);
        assert_eq!(l.slo, slo, "--slo overrides the profile's objective");
    }

    const SWEPT: &str = r#"
description = "dimensions under test"
warmup = "1s"
duration = "1s"
probe_cap = "1s"
seed_users = 10
probe_users = 1
seed_sessions = 10000

[dimensions]
store_rtt = ["0", "1ms"]
pool_size = [4, 8]
targets = ["session-postgres"]

[ladder]
targets = ["session-postgres-pool4-rtt1ms"]
fractions = [0.5]
users = 64

[[target]]
strategy = "jwt"

[[target]]
strategy = "session"
store = "postgres"

[[load]]
scenario = "browse"
model = "closed"
users = 64

[[fault]]
targets = ["session-postgres-rtt1ms"]
load = { scenario = "browse", model = "open", rate_rps = 100.0, users = 8 }
fault = { kind = "store_outage", at = "1s", lasting = "1s" }
duration = "5s"
"#;

    #[test]
    fn dimensions_expand_before_ladders_faults_and_filters_see_the_targets() {
        let m = parse(SWEPT, "swept.toml").unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<String> = m.targets.iter().map(TargetSpec::id).collect();
        assert_eq!(
            ids,
            [
                "jwt-HS256",
                "session-postgres-pool4",
                "session-postgres",
                "session-postgres-pool4-rtt1ms",
                "session-postgres-rtt1ms"
            ]
        );
        assert_eq!(m.seed_sessions, 10_000);
        assert!(m.dimensions.is_empty(), "consumed: the results file lists the expanded targets only");
        let back: Matrix = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        let o = crate::model::results::Overrides { stores: vec![StoreFilter::Postgres], ..Default::default() };
        let n = m.narrowed(&o).unwrap();
        assert_eq!(n.targets.len(), 4);
        assert_eq!(n.ladder.unwrap().targets, ["session-postgres-pool4-rtt1ms"]);
        let vanished = SWEPT.replace(r#"store_rtt = ["0", "1ms"]"#, r#"store_rtt = ["1ms"]"#);
        let vanished =
            vanished.replace(r#"targets = ["session-postgres-rtt1ms"]"#, r#"targets = ["session-postgres"]"#);
        let err = parse(&vanished, "t.toml").unwrap_err().to_string();
        assert!(err.contains("fault target \"session-postgres\"") && err.contains("session-postgres-rtt1ms"), "{err}");
        let on_memory = SWEPT.replace(r#"targets = ["session-postgres"]"#, r#"targets = ["jwt-HS256"]"#);
        let err = parse(&on_memory, "t.toml").unwrap_err().to_string();
        assert!(err.contains("jwt-HS256-pool4, which cannot run: pool_size sizes a PostgreSQL pool"), "{err}");
    }

    const POPULATION: &str = r#"
description = "population under test"
warmup = "1s"
duration = "1s"
probe_cap = "1s"
seed_users = 10
probe_users = 1
repetitions = 3

[[target]]
strategy = "jwt"

[[target]]
strategy = "hybrid"
store = "redis"

[[load]]
scenario = "browse"
model = "closed"
users = 4

[[load]]
scenario = "population"
model = "closed"
users = 1000
think_time = "30s"
session_requests = 50
time_scale = 60.0
targets = ["hybrid-redis-HS256"]
warmup = "20s"
duration = "40s"
repetitions = 1
"#;

    #[test]
    fn population_loads_carry_their_own_targets_window_and_repetitions() {
        let m = parse(POPULATION, "p.toml").unwrap_or_else(|e| panic!("{e}"));
        let p = &m.loads[1];
        assert_eq!(p.load.id(), "population-closed-1000u-think30s-50req-x60");
        assert!(p.includes("hybrid-redis-HS256") && !p.includes("jwt-HS256") && m.loads[0].includes("jwt-HS256"));
        assert_eq!((p.warmup.map(Span::secs), p.duration.map(Span::secs)), (Some(20), Some(40)));
        assert_eq!((p.repetitions_in(3), p.runs_in(1), p.runs_in(2)), (1, true, false));
        let back: Matrix = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        let defaults = parse(&POPULATION.replace("think_time = \"30s\"\nsession_requests = 50\n", ""), "d.toml");
        let d = defaults.unwrap().loads[1].load.population.unwrap();
        assert_eq!((d.think_time, d.session_requests), (PopulationSpec::THINK_TIME, PopulationSpec::SESSION_REQUESTS));
        let o = crate::model::results::Overrides {
            strategies: vec![authbench_targets::spec::StrategyKind::Jwt],
            ..Default::default()
        };
        let n = m.clone().narrowed(&o).unwrap();
        assert_eq!(n.loads.len(), 1, "a load whose targets were all filtered out is dropped");
        let o = crate::model::results::Overrides { duration: "3s".parse().ok(), ..Default::default() };
        assert_eq!(m.narrowed(&o).unwrap().loads[1].duration, None, "the command line's window wins");
    }

    #[test]
    fn population_fields_are_refused_where_they_cannot_run() {
        let browse = "scenario = \"browse\"\nmodel = \"closed\"\nusers = 4";
        let fault = "\n[[fault]]\ntargets = [\"jwt-HS256\"]\nload = { scenario = \"population\", model = \"closed\", \
                     users = 8 }\nfault = { kind = \"target_restart\", at = \"1s\" }\nduration = \"8s\"\n";
        for (bad, expect) in [
            (POPULATION.replace("time_scale = 60.0", "time_scale = 900.0"), "under 2s"),
            (POPULATION.replace("time_scale = 60.0", "time_scale = 7.0"), "whole seconds"),
            (POPULATION.replace("time_scale = 60.0", "time_scale = 0.5"), "at least 1"),
            (POPULATION.replace(browse, &format!("{browse}\nthink_time = \"1s\"")), "population loads only"),
            (POPULATION.replace("users = 1000", "users = 1000\nrate_rps = 5.0"), "closed loads take no rate_rps"),
            (
                POPULATION
                    .replace("model = \"closed\"\nusers = 1000", "model = \"open\"\nrate_rps = 5.0\nusers = 1000"),
                "are closed",
            ),
            (POPULATION.replace("[\"hybrid-redis-HS256\"]", "[\"hybrid-memory-HS256\"]"), "is not a [[target]]"),
            (POPULATION.replace("repetitions = 1\n", "repetitions = 0\n"), "repetitions must be at least 1"),
            (POPULATION.replace("session_requests = 50", "session_requests = 0"), "session_requests"),
            (format!("{POPULATION}{fault}"), "put population loads in [[load]]"),
        ] {
            let err = parse(&bad, "p.toml").err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(expect), "want {expect:?}: {err}");
        }
    }

    #[test]
    fn refresh_only_runs_against_hybrid() {
        let load = LoadSpec { scenario: ScenarioKind::Refresh, model: LoadModel::Closed, users: 1, population: None };
        for t in &Profile::Smoke.matrix().unwrap().targets {
            assert_eq!(load.incompatible_with(t).is_none(), t.strategy == StrategyKind::Hybrid);
        }
    }
}
