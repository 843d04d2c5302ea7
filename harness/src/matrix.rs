//! Run matrices: which target configurations meet which loads. Profiles are TOML files under
//! `scenarios/profiles/`; a user can pass their own with `--matrix FILE`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A whole run matrix as written in a profile file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    pub description: String,
    /// Load before the measured window, e.g. "2s".
    pub warmup: String,
    /// Measured window per case, e.g. "10s".
    pub duration: String,
    /// How long the security probe waits for a revoked credential to be refused.
    pub probe_cap: String,
    /// Users seeded into every target.
    pub seed_users: u64,
    /// Users the probe logs in and revokes.
    pub probe_users: u32,
    /// Sessions or refresh families created to measure bytes per stored record.
    #[serde(default = "default_storage_records")]
    pub storage_records: u64,
    #[serde(rename = "target")]
    pub targets: Vec<TargetSpec>,
    #[serde(rename = "load")]
    pub loads: Vec<LoadSpec>,
}

/// One target configuration.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub strategy: String,
    pub store: Option<String>,
    pub denylist: Option<String>,
    #[serde(default = "default_alg")]
    pub alg: String,
    #[serde(default = "default_transport")]
    pub transport: String,
    pub token_ttl: Option<String>,
    pub access_ttl: Option<String>,
    pub refresh_ttl: Option<String>,
    pub session_ttl: Option<String>,
}

fn default_storage_records() -> u64 {
    2000
}

fn default_alg() -> String {
    "HS256".into()
}

fn default_transport() -> String {
    "bearer".into()
}

/// One load: scenario, model, users and (open model) rate.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    pub scenario: String,
    pub model: String,
    pub users: usize,
    pub rate_rps: Option<f64>,
}

/// Why a matrix file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("unknown profile {0:?}: use smoke, quick, standard or full, or pass --matrix FILE")]
    UnknownProfile(String),
    #[error("cannot read matrix {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("matrix {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

/// Built-in profiles, compiled in so the binary works from any directory.
pub fn builtin(name: &str) -> Result<Matrix, MatrixError> {
    let text = match name {
        "smoke" => include_str!("../../scenarios/profiles/smoke.toml"),
        "quick" => include_str!("../../scenarios/profiles/quick.toml"),
        "standard" => include_str!("../../scenarios/profiles/standard.toml"),
        "full" => include_str!("../../scenarios/profiles/full.toml"),
        other => return Err(MatrixError::UnknownProfile(other.into())),
    };
    parse(text, &format!("built-in profile {name}"))
}

/// Reads a user's matrix file.
pub fn from_file(path: &str) -> Result<Matrix, MatrixError> {
    let text = std::fs::read_to_string(path).map_err(|source| MatrixError::Read { path: path.into(), source })?;
    parse(&text, path)
}

fn parse(text: &str, path: &str) -> Result<Matrix, MatrixError> {
    let m: Matrix =
        toml::from_str(text).map_err(|e| MatrixError::Invalid { path: path.into(), message: e.to_string() })?;
    m.validate().map_err(|message| MatrixError::Invalid { path: path.into(), message })?;
    Ok(m)
}

/// Parses a duration field, naming the field on error.
pub fn duration(field: &str, value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| format!("{field} = {value:?} is not a duration like 10s: {e}"))
}

impl Matrix {
    fn validate(&self) -> Result<(), String> {
        duration("warmup", &self.warmup)?;
        if duration("duration", &self.duration)?.is_zero() {
            return Err("duration must be positive".into());
        }
        duration("probe_cap", &self.probe_cap)?;
        if self.seed_users < 2 {
            return Err("seed_users must be at least 2 (user0 is the admin)".into());
        }
        for t in &self.targets {
            match (t.strategy.as_str(), t.store.as_deref()) {
                ("jwt", None) => {}
                ("jwt", Some(_)) => return Err("jwt targets take `denylist`, not `store`".into()),
                ("session" | "hybrid", Some("postgres" | "redis" | "memory")) => {}
                ("session" | "hybrid", _) => {
                    return Err(format!("{} targets need store = postgres|redis|memory", t.strategy))
                }
                (other, _) => return Err(format!("unknown strategy {other:?}: use jwt, session or hybrid")),
            }
            if let Some(d) = &t.denylist {
                if !matches!(d.as_str(), "postgres" | "redis" | "memory") {
                    return Err(format!("unknown denylist store {d:?}"));
                }
            }
            if !matches!(t.alg.as_str(), "HS256" | "RS256" | "RS256-4096" | "ES256" | "EdDSA") {
                return Err(format!("unknown alg {:?}", t.alg));
            }
            if !matches!(t.transport.as_str(), "bearer" | "cookie") {
                return Err(format!("unknown transport {:?}", t.transport));
            }
            for (f, v) in [
                ("token_ttl", &t.token_ttl),
                ("access_ttl", &t.access_ttl),
                ("refresh_ttl", &t.refresh_ttl),
                ("session_ttl", &t.session_ttl),
            ] {
                if let Some(v) = v {
                    duration(f, v)?;
                }
            }
        }
        for l in &self.loads {
            if !matches!(l.scenario.as_str(), "browse" | "login" | "refresh" | "mixed") {
                return Err(format!("unknown scenario {:?}: use browse, login, refresh or mixed", l.scenario));
            }
            match (l.model.as_str(), l.rate_rps) {
                ("closed", None) => {}
                ("open", Some(r)) if r > 0.0 => {}
                ("closed", Some(_)) => return Err("closed loads take no rate_rps".into()),
                ("open", _) => return Err("open loads need rate_rps > 0".into()),
                (m, _) => return Err(format!("unknown model {m:?}: use closed or open")),
            }
            if l.users == 0 {
                return Err("users must be at least 1".into());
            }
        }
        Ok(())
    }
}

impl TargetSpec {
    /// The store this configuration uses, if any.
    pub fn store_needed(&self) -> Option<&str> {
        self.store.as_deref().or(self.denylist.as_deref())
    }

    /// Stable, readable id: strategy, store, algorithm where it matters, transport, non-default TTLs.
    pub fn id(&self) -> String {
        let mut id = authbench_targets::config::configuration_id(
            &self.strategy,
            self.store.as_deref(),
            self.denylist.as_deref(),
            &self.alg,
        );
        if self.transport != "bearer" {
            id.push('-');
            id.push_str(&self.transport);
        }
        for (name, v) in [
            ("token", &self.token_ttl),
            ("access", &self.access_ttl),
            ("refresh", &self.refresh_ttl),
            ("session", &self.session_ttl),
        ] {
            if let Some(v) = v {
                id.push_str(&format!("-{name}{v}"));
            }
        }
        id
    }

    /// Command-line flags for authbench-target.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--strategy".into(),
            self.strategy.clone(),
            "--alg".into(),
            self.alg.clone(),
            "--transport".into(),
            self.transport.clone(),
        ];
        for (flag, v) in [
            ("--store", &self.store),
            ("--denylist", &self.denylist),
            ("--token-ttl", &self.token_ttl),
            ("--access-ttl", &self.access_ttl),
            ("--refresh-ttl", &self.refresh_ttl),
            ("--session-ttl", &self.session_ttl),
        ] {
            if let Some(v) = v {
                a.push(flag.into());
                a.push(v.clone());
            }
        }
        a
    }
}

impl LoadSpec {
    /// Readable id: scenario, model, users, rate.
    pub fn id(&self) -> String {
        match self.rate_rps {
            Some(r) => format!("{}-{}-{}u-{}rps", self.scenario, self.model, self.users, r),
            None => format!("{}-{}-{}u", self.scenario, self.model, self.users),
        }
    }

    /// Why this load cannot run against a target, if it cannot.
    pub fn incompatible_with(&self, t: &TargetSpec) -> Option<String> {
        (self.scenario == "refresh" && t.strategy != "hybrid").then(|| {
            "the refresh scenario measures hybrid refresh-token rotation; other strategies have no refresh token".into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_parse() {
        for p in ["smoke", "quick", "standard", "full"] {
            let m = builtin(p).unwrap_or_else(|e| panic!("{e}"));
            assert!(!m.targets.is_empty() && !m.loads.is_empty(), "{p}");
        }
        assert!(builtin("nope").is_err());
    }

    #[test]
    fn smoke_covers_the_ci_configurations() {
        let ids: Vec<String> = builtin("smoke").unwrap().targets.iter().map(TargetSpec::id).collect();
        for want in ["jwt-HS256", "session-postgres", "session-redis", "hybrid-redis-HS256", "session-memory"] {
            assert!(ids.iter().any(|i| i == want), "{want} missing from {ids:?}");
        }
    }

    #[test]
    fn invalid_matrices_are_explained() {
        let base = include_str!("../../scenarios/profiles/smoke.toml");
        for (bad, expect) in [
            (base.replace("strategy = \"jwt\"", "strategy = \"magic\""), "unknown strategy"),
            (base.replace("model = \"closed\"", "model = \"closed\"\nrate_rps = 5.0"), "closed loads take no rate_rps"),
            (base.replace("duration = \"3s\"", "duration = \"soon\""), "duration"),
        ] {
            let err = parse(&bad, "test.toml").err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(expect), "{err}");
        }
    }

    #[test]
    fn refresh_only_runs_against_hybrid() {
        let load = LoadSpec { scenario: "refresh".into(), model: "closed".into(), users: 1, rate_rps: None };
        let m = builtin("smoke").unwrap();
        for t in &m.targets {
            assert_eq!(load.incompatible_with(t).is_none(), t.strategy == "hybrid");
        }
    }
}
