//! Run matrices: which target configurations meet which loads. Profiles are TOML files under
//! `scenarios/profiles/`; a user can pass their own with `--matrix FILE`.

use std::fmt;
use std::path::Path;

use authbench_scenarios::{LoadModel, ScenarioKind};

use super::fault::FaultSpec;
use super::ladder::LadderSpec;
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
    /// About 22 minutes: every strategy and store, every algorithm, three repetitions, four ladders.
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
    Memory,
    None,
}

impl StoreFilter {
    /// Whether a target on `store` passes this filter.
    pub fn keeps(self, store: Option<StoreKind>) -> bool {
        match (self, store) {
            (StoreFilter::Postgres, Some(StoreKind::Postgres))
            | (StoreFilter::Redis, Some(StoreKind::Redis))
            | (StoreFilter::Memory, Some(StoreKind::Memory))
            | (StoreFilter::None, None) => true,
            (StoreFilter::Postgres | StoreFilter::Redis | StoreFilter::Memory | StoreFilter::None, _) => false,
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
    pub loads: Vec<LoadSpec>,
    /// Fault cases, run once each after the speed cases.
    #[serde(default, rename = "fault", skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
}

/// More repetitions than this would take days at any profile's window; the CLI caps it too.
pub const MAX_REPETITIONS: u32 = 100;

fn one() -> u32 {
    1
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
}

/// The written form of a [`LoadSpec`]: `model` names the kind, `rate_rps` goes with `open` only.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadFields {
    scenario: ScenarioKind,
    model: ModelKind,
    users: usize,
    #[serde(default)]
    rate_rps: Option<f64>,
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
        Ok(LoadSpec { scenario: f.scenario, model, users: f.users })
    }
}

impl From<LoadSpec> for LoadFields {
    fn from(l: LoadSpec) -> LoadFields {
        LoadFields { scenario: l.scenario, model: l.model_kind(), users: l.users, rate_rps: l.rate_rps() }
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
    let m: Matrix =
        toml::from_str(text).map_err(|e| MatrixError::Invalid { path: path.into(), message: e.to_string() })?;
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
        self.loads.retain(|l| keep(&o.scenarios, l.scenario));
        if self.targets.is_empty() {
            return Err("no target configuration left after --strategies/--stores/--algs".into());
        }
        if self.loads.is_empty() {
            return Err("no load left after --scenarios".into());
        }
        for l in &mut self.loads {
            if let Some(users) = o.users {
                l.users = users;
            }
            if let (Some(rate_rps), LoadModel::Open { .. }) = (o.rate, l.model) {
                l.model = LoadModel::Open { rate_rps };
            }
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

    /// Readable id: scenario, model, users, rate.
    pub fn id(&self) -> String {
        match self.model {
            LoadModel::Open { rate_rps } => format!("{}-open-{}u-{rate_rps}rps", self.scenario, self.users),
            LoadModel::Closed => format!("{}-closed-{}u", self.scenario, self.users),
        }
    }

    /// Why this load cannot run against a target, if it cannot.
    pub fn incompatible_with(&self, t: &TargetSpec) -> Option<&'static str> {
        let has_refresh_token = t.strategy.has_refresh_token();
        let needs_refresh_token = match self.scenario {
            ScenarioKind::Refresh => true,
            ScenarioKind::Browse | ScenarioKind::Login | ScenarioKind::Mixed => false,
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
        let open = m.loads.iter().find(|l| l.model_kind() == ModelKind::Open).unwrap();
        assert_eq!(open.id(), "browse-open-48u-3000rps");
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
        assert_eq!(ids, ["jwt-ES256"]);
        assert!(n.loads.iter().all(|l| l.users == 3));
        let o = Overrides {
            strategies: vec![StrategyKind::Session],
            algs: vec![authbench_targets::token::alg::Alg::EdDsa],
            ..Overrides::default()
        };
        assert_eq!(m.clone().narrowed(&o).unwrap().targets.len(), 3, "session targets have no algorithm to filter");
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

    #[test]
    fn refresh_only_runs_against_hybrid() {
        let load = LoadSpec { scenario: ScenarioKind::Refresh, model: LoadModel::Closed, users: 1 };
        for t in &Profile::Smoke.matrix().unwrap().targets {
            assert_eq!(load.incompatible_with(t).is_none(), t.strategy == StrategyKind::Hybrid);
        }
    }
}
