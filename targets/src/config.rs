//! Command-line and environment configuration of a target process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::spec::{parse_duration, TargetSpec};

/// Everything a target process needs to know, from flags or environment.
#[derive(Clone, Debug, Parser)]
#[command(name = "authbench-target", version, about = "One authentication strategy behind the authbench HTTP contract")]
pub struct Config {
    /// What to serve: strategy, store, algorithm, transport and lifetimes.
    #[command(flatten)]
    pub spec: TargetSpec,

    /// Directory holding signing keys; missing keys are generated there.
    #[arg(long, default_value = "keys")]
    pub key_dir: PathBuf,

    /// Idle timeout of a session (0 = none); when set, every lookup also slides the idle deadline.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub session_idle: Duration,

    /// Clock skew tolerated on exp and iat (at most 5s); 0 is right when one clock signs and verifies.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub leeway: Duration,

    /// Address to listen on; port 0 picks a free port, printed on the first stdout line.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// PostgreSQL URL, e.g. postgres://user@127.0.0.1:5432/postgres.
    #[arg(long, env = "AUTHBENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,

    /// Redis URL, e.g. redis://127.0.0.1:6379.
    #[arg(long, env = "AUTHBENCH_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Prefix for store keys and the PostgreSQL schema, so several targets can share one server.
    #[arg(long, default_value = "authbench", value_parser = parse_namespace)]
    pub namespace: String,

    /// Connections in the store pool.
    #[arg(long, default_value_t = 8)]
    pub pool_size: usize,

    /// Key required in the x-control-key header by /control endpoints; without it they answer 403.
    #[arg(long, env = "AUTHBENCH_CONTROL_KEY", hide_env_values = true)]
    pub control_key: Option<String>,

    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,

    /// Argon2id memory cost in KiB (OWASP: 19456).
    #[arg(long, default_value_t = 19_456)]
    pub argon2_m_kib: u32,

    /// Argon2id iterations (OWASP: 2).
    #[arg(long, default_value_t = 2)]
    pub argon2_t: u32,

    /// Argon2id parallelism (OWASP: 1).
    #[arg(long, default_value_t = 1)]
    pub argon2_p: u32,

    /// Create users user0..user{N-1} with password pass-{i}; user0 is admin.
    #[arg(long, default_value_t = 0)]
    pub seed_users: u64,

    /// Issuer written into and required from tokens.
    #[arg(long, default_value = "authbench")]
    pub issuer: String,

    /// Audience written into and required from tokens.
    #[arg(long, default_value = "authbench-api")]
    pub audience: String,
}

fn parse_namespace(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("`{s}` is not a namespace: use 1-40 characters of a-z, 0-9 and _, starting with a letter"))
    }
}

impl Config {
    /// Rejects combinations that cannot work, with a message saying what to change.
    pub fn validate(&self) -> Result<(), String> {
        self.spec.validate().map_err(|e| e.to_string())?;
        if self.leeway.as_secs() > crate::token::jwt::MAX_LEEWAY_S {
            return Err(format!("--leeway must be at most {}s", crate::token::jwt::MAX_LEEWAY_S));
        }
        if self.pool_size == 0 {
            return Err("--pool-size must be at least 1".into());
        }
        if self.workers == Some(0) {
            return Err("--workers must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::StoreKind;

    #[test]
    fn namespace_rejects_sql_and_key_metacharacters() {
        assert!(parse_namespace("bench_1").is_ok());
        for bad in ["", "1abc", "a;drop", "A", "a-b", "a b"] {
            assert!(parse_namespace(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn denylist_only_with_jwt() {
        let c = Config::parse_from(["t", "--strategy", "session", "--store", "redis", "--denylist", "redis"]);
        assert!(c.validate().is_err());
        let c = Config::parse_from(["t", "--strategy", "session"]);
        assert!(c.validate().unwrap_err().contains("need a store"));
        let c = Config::parse_from(["t", "--strategy", "jwt", "--denylist", "redis"]);
        assert!(c.validate().is_ok());
        assert_eq!(c.spec.needed_store(), Some(StoreKind::Redis));
    }
}
