//! Command-line and environment configuration of a target process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::Serialize;

/// Which authentication strategy the target serves; the comparison is between these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// Self-contained signed token, verified locally on every request.
    Jwt,
    /// Opaque token looked up in a store on every request.
    Session,
    /// Short-lived JWT plus a stored, rotating refresh token.
    Hybrid,
}

impl StrategyKind {
    /// Lower-case name, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyKind::Jwt => "jwt",
            StrategyKind::Session => "session",
            StrategyKind::Hybrid => "hybrid",
        }
    }
}

/// Where sessions, refresh tokens or denylist entries live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// PostgreSQL through a deadpool connection pool.
    Postgres,
    /// Redis through a fred connection pool.
    Redis,
    /// A concurrent map inside the target process.
    Memory,
}

impl StoreKind {
    /// Stable lower-case name used in metrics, JSON and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Postgres => "postgres",
            StoreKind::Redis => "redis",
            StoreKind::Memory => "memory",
        }
    }
}

/// JWT signing algorithm; RS256-4096 is RS256 with a 4096-bit key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
pub enum Alg {
    #[value(name = "HS256")]
    #[serde(rename = "HS256")]
    Hs256,
    #[value(name = "RS256")]
    #[serde(rename = "RS256")]
    Rs256,
    #[value(name = "RS256-4096")]
    #[serde(rename = "RS256-4096")]
    Rs256_4096,
    #[value(name = "ES256")]
    #[serde(rename = "ES256")]
    Es256,
    #[value(name = "EdDSA")]
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Alg {
    /// Name as written on the command line and in results.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Rs256_4096 => "RS256-4096",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The JOSE algorithm that goes into the token header.
    pub fn jose(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::Hs256 => jsonwebtoken::Algorithm::HS256,
            Alg::Rs256 | Alg::Rs256_4096 => jsonwebtoken::Algorithm::RS256,
            Alg::Es256 => jsonwebtoken::Algorithm::ES256,
            Alg::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

/// How the credential travels between client and target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// HttpOnly, Secure, SameSite cookies.
    Cookie,
    /// `Authorization: Bearer` header and tokens in JSON bodies.
    Bearer,
}

impl Transport {
    /// Lower-case name, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Cookie => "cookie",
            Transport::Bearer => "bearer",
        }
    }
}

/// Everything a target process needs to know, from flags or environment.
#[derive(Clone, Debug, Parser)]
#[command(name = "authbench-target", version, about = "One authentication strategy behind the authbench HTTP contract")]
pub struct Config {
    /// Authentication strategy to serve.
    #[arg(long, value_enum, default_value = "jwt")]
    pub strategy: StrategyKind,

    /// Store for sessions (session) or refresh tokens (hybrid).
    #[arg(long, value_enum, default_value = "memory")]
    pub store: StoreKind,

    /// Optional denylist for the jwt strategy: makes logout and revoke immediate at one lookup per request.
    #[arg(long, value_enum)]
    pub denylist: Option<StoreKind>,

    /// JWT signing algorithm.
    #[arg(long, value_enum, default_value = "HS256")]
    pub alg: Alg,

    /// Directory holding signing keys; missing keys are generated there.
    #[arg(long, default_value = "keys")]
    pub key_dir: PathBuf,

    /// Lifetime of a jwt-strategy token.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// Lifetime of a hybrid access token.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub access_ttl: Duration,

    /// Lifetime of a hybrid refresh token (each rotation starts a new one).
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub refresh_ttl: Duration,

    /// Absolute lifetime of a session.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    pub session_ttl: Duration,

    /// Idle timeout of a session (0 = none); when set, every lookup also slides the idle deadline.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub session_idle: Duration,

    /// Clock skew tolerated on exp and iat (at most 5s); 0 is right when one clock signs and verifies.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub leeway: Duration,

    /// How credentials travel.
    #[arg(long, value_enum, default_value = "bearer")]
    pub transport: Transport,

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

/// The name a target configuration goes by ("jwt-HS256", "session-redis", "jwt-denylist-redis-HS256"):
/// one scheme for the harness, the benches and reports, so their figures can be joined.
pub fn configuration_id(strategy: &str, store: Option<&str>, denylist: Option<&str>, alg: &str) -> String {
    let mut id = strategy.to_owned();
    for (prefix, part) in [("-", store), ("-denylist-", denylist)] {
        if let Some(p) = part {
            id.push_str(prefix);
            id.push_str(p);
        }
    }
    if strategy != "session" {
        id.push('-');
        id.push_str(alg);
    }
    id
}

/// Parses human durations such as `90s`, `15m` or `7d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration like 90s, 15m or 7d: {e}"))
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
    /// The store this configuration needs, if any.
    pub fn needed_store(&self) -> Option<StoreKind> {
        match self.strategy {
            StrategyKind::Jwt => self.denylist,
            StrategyKind::Session | StrategyKind::Hybrid => Some(self.store),
        }
    }

    /// Lifetime of the token the client presents on every request.
    pub fn access_lifetime(&self) -> Duration {
        match self.strategy {
            StrategyKind::Jwt => self.token_ttl,
            StrategyKind::Session => self.session_ttl,
            StrategyKind::Hybrid => self.access_ttl,
        }
    }

    /// Rejects combinations that cannot work, with a message saying what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.strategy != StrategyKind::Jwt && self.denylist.is_some() {
            return Err(
                "--denylist applies to --strategy jwt only; session and hybrid already revoke through --store".into()
            );
        }
        for (name, d) in [
            ("--token-ttl", self.token_ttl),
            ("--access-ttl", self.access_ttl),
            ("--refresh-ttl", self.refresh_ttl),
            ("--session-ttl", self.session_ttl),
        ] {
            if d.as_secs() == 0 {
                return Err(format!("{name} must be at least 1s"));
            }
        }
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

    #[test]
    fn durations_parse_human_units() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn namespace_rejects_sql_and_key_metacharacters() {
        assert!(parse_namespace("bench_1").is_ok());
        for bad in ["", "1abc", "a;drop", "A", "a-b", "a b"] {
            assert!(parse_namespace(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn configuration_ids_name_what_differs() {
        assert_eq!(configuration_id("jwt", None, None, "RS256-4096"), "jwt-RS256-4096");
        assert_eq!(configuration_id("jwt", None, Some("redis"), "HS256"), "jwt-denylist-redis-HS256");
        assert_eq!(configuration_id("session", Some("postgres"), None, "HS256"), "session-postgres");
        assert_eq!(configuration_id("hybrid", Some("redis"), None, "ES256"), "hybrid-redis-ES256");
    }

    #[test]
    fn denylist_only_with_jwt() {
        let c = Config::parse_from(["t", "--strategy", "session", "--denylist", "redis"]);
        assert!(c.validate().is_err());
        let c = Config::parse_from(["t", "--strategy", "jwt", "--denylist", "redis"]);
        assert!(c.validate().is_ok());
        assert_eq!(c.needed_store(), Some(StoreKind::Redis));
    }
}
