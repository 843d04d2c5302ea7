//! Command-line and environment configuration of a target process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::spec::{parse_duration, StrategyKind, TargetSpec};

/// Everything a target process needs to know, from flags or environment.
#[derive(Clone, Debug, Parser)]
#[command(name = "authbench-target", version, about = "One authentication strategy behind the authbench HTTP contract")]
pub struct Config {
    /// What to serve: strategy, store, algorithm, transport and lifetimes.
    #[command(flatten)]
    pub spec: TargetSpec,

    /// Directory holding signing keys; missing keys are generated there. With --tls the target's
    /// certificate is written there too (tls-cert.pem), for clients to trust.
    #[arg(long, default_value = "keys")]
    pub key_dir: PathBuf,

    /// With --tls: the certificate chain to serve (PEM) instead of a generated self-signed one.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// With --tls: the private key of --tls-cert (PEM, PKCS#8, SEC1 or PKCS#1).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

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

    /// Redis Cluster URL, any node plus the others as `node` parameters, e.g.
    /// redis-cluster://127.0.0.1:7000?node=127.0.0.1:7001&node=127.0.0.1:7002.
    #[arg(long, env = "AUTHBENCH_REDIS_CLUSTER_URL")]
    pub redis_cluster_url: Option<String>,

    /// Prefix for store keys and the PostgreSQL schema, so several targets can share one server.
    #[arg(long, default_value = "authbench", value_parser = parse_namespace)]
    pub namespace: String,

    /// Key required in the x-control-key header by /control endpoints and /metrics; at least 16
    /// bytes (e.g. `openssl rand -base64 24`). Without it they answer 403. Prefer the environment
    /// variable: a command line is visible to every local user in `ps`.
    #[arg(long, env = "AUTHBENCH_CONTROL_KEY", hide_env_values = true)]
    pub control_key: Option<String>,

    /// Most connections open at once; more are answered 503 and closed. Keep it below `ulimit -n`.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,

    /// Longest a client may take to send a request's headers, and longest an idle keep-alive
    /// connection stays open; then the connection is closed.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// Longest a request may take, body included, before it is answered 503; /control routes are
    /// exempt (seeding a million records takes longer).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Logins allowed to wait for a password-hashing slot; beyond that a login is answered 503 with
    /// Retry-After at once instead of queueing without bound.
    #[arg(long, default_value_t = 256)]
    pub max_pending_logins: usize,

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
    #[arg(long, default_value = ISSUER)]
    pub issuer: String,

    /// Audience written into and required from tokens.
    #[arg(long, default_value = AUDIENCE)]
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
        if !self.spec.tls && (self.tls_cert.is_some() || self.tls_key.is_some()) {
            return Err("--tls-cert and --tls-key only make sense with --tls: add --tls or drop them".into());
        }
        if self.spec.pool_size == 0 {
            return Err("--pool-size must be at least 1".into());
        }
        if self.workers == Some(0) {
            return Err("--workers must be at least 1".into());
        }
        if self.spec.strategy == StrategyKind::None && !self.listen.ip().is_loopback() {
            return Err(format!(
                "--strategy none checks no credential, so it listens on loopback only, not {}: use --listen 127.0.0.1:PORT",
                self.listen
            ));
        }
        if let Some(key) = &self.control_key {
            if key.len() < MIN_CONTROL_KEY {
                return Err(format!(
                    "the control key (--control-key or AUTHBENCH_CONTROL_KEY) is {} bytes; it must be at least \
                     {MIN_CONTROL_KEY} bytes, e.g. `openssl rand -base64 24`, or unset to turn /control and /metrics off",
                    key.len()
                ));
            }
        }
        if self.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        if self.header_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err("--header-timeout and --request-timeout must be longer than 0s".into());
        }
        Ok(())
    }
}

/// Default issuer of tokens (`--issuer`).
pub const ISSUER: &str = "authbench";

/// Default audience of tokens (`--audience`).
pub const AUDIENCE: &str = "authbench-api";

/// Shortest control key accepted: 128 bits if random.
pub const MIN_CONTROL_KEY: usize = 16;

/// `text` with the password of every URL in it (`scheme://user:PASSWORD@host`) and every
/// `password=VALUE` (query parameter or libpq key=value) replaced by `***`, for messages and logs.
pub fn redact(text: &str) -> String {
    let ends_value = |c: char| c.is_whitespace() || matches!(c, '&' | '"' | '\'' | ')' | ',' | ';');
    let mut out = String::with_capacity(text.len());
    // Lower-cased once: ASCII case folding keeps byte offsets, so `rest` maps onto its tail.
    let lower = text.to_ascii_lowercase();
    let mut rest = text;
    while !rest.is_empty() {
        let url = rest.find("://").map(|i| (i, "://"));
        let kv = lower[text.len() - rest.len()..].find("password=").map(|i| (i, "password="));
        let Some((at, what)) = [url, kv].into_iter().flatten().min_by_key(|(i, _)| *i) else {
            out.push_str(rest);
            break;
        };
        let start = at + what.len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if what == "password=" {
            let end = rest.find(ends_value).unwrap_or(rest.len());
            if end > 0 {
                out.push_str("***");
            }
            rest = &rest[end..];
            continue;
        }
        // The authority ends at the first '/', '?', '#' or separator; userinfo is before its last '@'.
        let end = rest.find(|c: char| matches!(c, '/' | '?' | '#') || ends_value(c)).unwrap_or(rest.len());
        let authority = &rest[..end];
        match authority.rfind('@').and_then(|at| authority[..at].find(':').map(|colon| (colon, at))) {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &rest[end..];
    }
    out
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
    fn redact_hides_passwords_only() {
        let cases = [
            ("postgres://authbench:s3cret@127.0.0.1:5432/db", "postgres://authbench:***@127.0.0.1:5432/db"),
            ("redis://:s3cret@127.0.0.1:6379", "redis://:***@127.0.0.1:6379"),
            ("postgres://authbench@127.0.0.1:5432/postgres", "postgres://authbench@127.0.0.1:5432/postgres"),
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("postgres://u:p%40ss@h/db?sslmode=disable", "postgres://u:***@h/db?sslmode=disable"),
            ("postgres://u@h/db?password=s3cret&x=1", "postgres://u@h/db?password=***&x=1"),
            ("host=h user=u password=s3cret dbname=d", "host=h user=u password=*** dbname=d"),
            (
                "not reachable at postgres://a:b@h:1/x: error; and redis://:c@h:2 too",
                "not reachable at postgres://a:***@h:1/x: error; and redis://:***@h:2 too",
            ),
            ("\"postgres://a:b@h\"", "\"postgres://a:***@h\""),
            ("no url here", "no url here"),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(redact(raw), want, "{raw}");
        }
    }

    #[test]
    fn control_key_needs_16_bytes() {
        let with = |k: &str| Config::parse_from(["t", "--strategy", "jwt", "--control-key", k]).validate();
        assert!(with("").unwrap_err().contains("16 bytes"));
        assert!(with("fifteen-bytes!!").is_err());
        assert!(!with("fifteen-bytes!!").unwrap_err().contains("fifteen"), "the error must not echo the key");
        assert!(with("sixteen-bytes!!!").is_ok());
        assert!(Config::parse_from(["t", "--strategy", "jwt"]).validate().is_ok());
    }

    #[test]
    fn none_listens_on_loopback_only() {
        let at = |addr: &str| Config::parse_from(["t", "--strategy", "none", "--listen", addr]).validate();
        assert!(at("0.0.0.0:8080").unwrap_err().contains("loopback"));
        assert!(at("127.0.0.1:0").is_ok() && at("[::1]:0").is_ok());
    }

    #[test]
    fn a_certificate_needs_its_key_and_tls() {
        let parse = |args: &[&str]| Config::try_parse_from(["t", "--strategy", "jwt"].iter().chain(args));
        assert!(parse(&["--tls", "--tls-cert", "c.pem"]).is_err(), "a certificate without its key");
        let without_tls = parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        assert!(without_tls.validate().unwrap_err().contains("--tls"));
        assert!(parse(&["--tls", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap().validate().is_ok());
        assert!(parse(&["--tls", "--protocol", "h2"]).unwrap().validate().is_ok());
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
