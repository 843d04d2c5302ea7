//! A target configuration as one typed value: what the target binary parses from its flags, what
//! a run matrix lists, what results record and what reports group by.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::token::alg::Alg;

/// Which authentication strategy the target serves; the comparison is between these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// Self-contained signed token, verified locally on every request.
    Jwt,
    /// Opaque token looked up in a store on every request.
    Session,
    /// Short-lived JWT plus a stored, rotating refresh token.
    Hybrid,
    /// No authentication: the credential names a user and is never checked. The floor every
    /// strategy's cost is measured against (same server, same instrumentation); loopback only.
    None,
}

/// Where sessions, refresh tokens or denylist entries live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// PostgreSQL through a deadpool connection pool.
    Postgres,
    /// Redis through a fred connection pool.
    Redis,
    /// A Redis Cluster through fred's cluster mode: keys hash-tagged per user, so each Lua script
    /// stays on one slot (see `store::redis`).
    #[serde(rename = "redis-cluster")]
    RedisCluster,
    /// A concurrent map inside the target process.
    Memory,
}

/// How the credential travels between client and target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// HttpOnly, Secure, SameSite cookies.
    Cookie,
    /// `Authorization: Bearer` header and tokens in JSON bodies.
    Bearer,
}

macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in the order tables list them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// Lower-case name, as on the command line, in files and in metrics.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(StrategyKind { Jwt => "jwt", Session => "session", Hybrid => "hybrid", None => "none" });

impl StrategyKind {
    /// Whether clients hold a refresh token that renews a short-lived access token.
    pub fn has_refresh_token(self) -> bool {
        match self {
            StrategyKind::Hybrid => true,
            StrategyKind::Jwt | StrategyKind::Session | StrategyKind::None => false,
        }
    }
}
names!(StoreKind { Postgres => "postgres", Redis => "redis", RedisCluster => "redis-cluster", Memory => "memory" });
names!(Transport { Cookie => "cookie", Bearer => "bearer" });

/// The HTTP version clients speak to the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP/1.1, keep-alive.
    Http1,
    /// HTTP/2 over TLS (ALPN `h2`): one connection, multiplexed streams, HPACK header compression.
    H2,
}
names!(Protocol { Http1 => "http1", H2 => "h2" });

/// A duration written as `90s`, `15m` or `7d` wherever a person reads or types it (lifetimes,
/// windows, warm-ups).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub Duration);

impl Span {
    /// Whole seconds, as tokens and stores count them.
    pub fn secs(self) -> u64 {
        self.0.as_secs()
    }
}

impl fmt::Display for Span {
    /// The largest unit that divides the lifetime exactly, so `15m` stays `15m` in ids and files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        let units = [("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000)];
        for (unit, size) in units {
            if us >= size && us.is_multiple_of(size) {
                return write!(f, "{}{unit}", us / size);
            }
        }
        write!(f, "{us}us")
    }
}

impl FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Span, String> {
        parse_duration(s).map(Span)
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses human durations such as `90s`, `15m` or `7d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration like 90s, 15m or 7d: {e}"))
}

/// The lifetimes that decide a strategy's security windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Args)]
pub struct Ttls {
    /// Lifetime of a jwt-strategy token.
    #[arg(long = "token-ttl", default_value_t = Ttls::TOKEN)]
    pub token: Span,
    /// Lifetime of a hybrid access token.
    #[arg(long = "access-ttl", default_value_t = Ttls::ACCESS)]
    pub access: Span,
    /// Lifetime of a hybrid refresh token (each rotation starts a new one).
    #[arg(long = "refresh-ttl", default_value_t = Ttls::REFRESH)]
    pub refresh: Span,
    /// Absolute lifetime of a session.
    #[arg(long = "session-ttl", default_value_t = Ttls::SESSION)]
    pub session: Span,
    /// Longest a login's credentials can be renewed: no refresh (session, hybrid family, jwt chain)
    /// reaches past login + this (OWASP absolute timeout).
    #[arg(long = "absolute-ttl", default_value_t = Ttls::ABSOLUTE)]
    pub absolute: Span,
}

impl Ttls {
    /// Default lifetime of a jwt-strategy token.
    pub const TOKEN: Span = Span(Duration::from_secs(7 * 86_400));
    /// Default lifetime of a hybrid access token.
    pub const ACCESS: Span = Span(Duration::from_secs(15 * 60));
    /// Default lifetime of a hybrid refresh token.
    pub const REFRESH: Span = Span(Duration::from_secs(30 * 86_400));
    /// Default absolute lifetime of a session.
    pub const SESSION: Span = Span(Duration::from_secs(7 * 86_400));
    /// Default cap on renewing one login's credentials.
    pub const ABSOLUTE: Span = Span(Duration::from_secs(30 * 86_400));
}

impl Default for Ttls {
    fn default() -> Ttls {
        Ttls {
            token: Ttls::TOKEN,
            access: Ttls::ACCESS,
            refresh: Ttls::REFRESH,
            session: Ttls::SESSION,
            absolute: Ttls::ABSOLUTE,
        }
    }
}

impl Ttls {
    /// Each lifetime with its name and its default, for ids, flags and checks.
    fn named(&self) -> [(&'static str, Span, Span); 5] {
        [
            ("token", self.token, Ttls::TOKEN),
            ("access", self.access, Ttls::ACCESS),
            ("refresh", self.refresh, Ttls::REFRESH),
            ("session", self.session, Ttls::SESSION),
            ("absolute", self.absolute, Ttls::ABSOLUTE),
        ]
    }

    /// The longest lifetime, which bounds how long any stored record must live.
    pub fn longest(&self) -> Duration {
        self.named().iter().map(|(_, t, _)| t.0).max().unwrap_or_default()
    }
}

/// Where the state that decides whether a credential is still good lives, as replicas behind a
/// balancer see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaState {
    /// No server-side state: every replica verifies alone and they all agree (and a revocation
    /// reaches none of them).
    None,
    /// In a store every replica reaches: a logout or revocation on one is seen by all.
    SharedStore,
    /// In this process's memory: a second replica does not see a login, logout or revocation made
    /// on the first.
    ProcessLocal,
}

/// One target configuration: what is being compared, independent of where it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Args, Serialize, Deserialize)]
#[serde(try_from = "SpecFields", into = "SpecFields")]
pub struct TargetSpec {
    /// Authentication strategy to serve.
    #[arg(long, value_enum, default_value_t = StrategyKind::Jwt)]
    pub strategy: StrategyKind,
    /// Store for sessions (session) or refresh tokens (hybrid).
    #[arg(long, value_enum)]
    pub store: Option<StoreKind>,
    /// Optional denylist for the jwt strategy: makes logout and revoke immediate at one lookup per request.
    #[arg(long, value_enum)]
    pub denylist: Option<StoreKind>,
    /// JWT signing algorithm (jwt and hybrid).
    #[arg(long, value_enum, default_value_t = Alg::Hs256)]
    pub alg: Alg,
    /// How credentials travel.
    #[arg(long, value_enum, default_value_t = Transport::Bearer)]
    pub transport: Transport,
    #[command(flatten)]
    pub ttls: Ttls,
    /// Connections in the PostgreSQL pool: at a store round trip of R it caps the target near
    /// pool_size / R lookups per second. Redis pipelines every command over one connection, so it
    /// has no pool to size.
    #[arg(long, default_value_t = TargetSpec::POOL)]
    pub pool_size: u32,
    /// Serve HTTPS (rustls; a self-signed ECDSA certificate unless one is given).
    #[arg(long)]
    pub tls: bool,
    /// HTTP version clients speak: http1, or h2 (needs --tls; negotiated by ALPN).
    #[arg(long, value_enum, default_value_t = Protocol::Http1)]
    pub protocol: Protocol,
    /// Round trip the harness puts between the target and its store through a delay relay; the
    /// target itself does not see it, so it is not a target flag.
    #[arg(skip = Span(Duration::ZERO))]
    pub store_rtt: Span,
    /// Target processes the harness starts behind one HAProxy (round-robin per request); each is
    /// an ordinary target, so it is not a target flag either.
    #[arg(skip = 1u32)]
    pub replicas: u32,
}

/// Why a combination of settings cannot make a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{0} targets need a store: set store = postgres, redis, redis-cluster or memory (--store)")]
    StoreMissing(StrategyKind),
    #[error("jwt targets keep no sessions: use denylist = {0} (--denylist) instead of store")]
    StoreOnJwt(StoreKind),
    #[error("denylist applies to jwt targets only; {0} already revokes through its store")]
    DenylistOnStored(StrategyKind),
    #[error("session and none targets sign nothing: remove alg")]
    AlgOnSession,
    #[error("none checks no credential and keeps nothing: remove store and denylist")]
    StoreOnNone,
    #[error("{0} ttl must be at least 1s")]
    TtlTooShort(&'static str),
    #[error("protocol h2 runs over TLS here: set tls = true (--tls)")]
    H2WithoutTls,
    #[error("pool_size must be at least 1")]
    EmptyPool,
    #[error("pool_size sizes a PostgreSQL pool; {0} has none (Redis pipelines over one connection): remove pool_size")]
    PoolWithoutPostgres(String),
    #[error("store_rtt needs a store outside the target behind one address (postgres or redis); {0} has none (a redis-cluster's nodes are reached directly, past any relay)")]
    RttWithoutStore(String),
    #[error("replicas must be at least 1")]
    NoReplicas,
    #[error(
        "replicas sit behind an HTTP balancer here, in front of plain HTTP/1.1 targets without a store round trip; \
         {0} has TLS or a store_rtt: remove one of them"
    )]
    ReplicasUnsupported(String),
}

impl TargetSpec {
    /// A jwt target with every other setting at its default.
    pub fn jwt(alg: Alg) -> TargetSpec {
        TargetSpec {
            strategy: StrategyKind::Jwt,
            store: None,
            denylist: None,
            alg,
            transport: Transport::Bearer,
            ttls: Ttls::default(),
            pool_size: TargetSpec::POOL,
            tls: false,
            protocol: Protocol::Http1,
            store_rtt: Span(Duration::ZERO),
            replicas: 1,
        }
    }

    /// Default store pool size.
    pub const POOL: u32 = 8;

    /// A target of a stored strategy (session or hybrid) on `store`.
    pub fn stored(strategy: StrategyKind, store: StoreKind, alg: Alg) -> TargetSpec {
        TargetSpec { strategy, store: Some(store), ..TargetSpec::jwt(alg) }
    }

    /// Rejects combinations that cannot work, saying what to change.
    pub fn validate(&self) -> Result<(), SpecError> {
        match (self.strategy, self.store, self.denylist) {
            (StrategyKind::Jwt, Some(store), _) => return Err(SpecError::StoreOnJwt(store)),
            (StrategyKind::None, Some(_), _) | (StrategyKind::None, _, Some(_)) => return Err(SpecError::StoreOnNone),
            (StrategyKind::Session | StrategyKind::Hybrid, None, _) => {
                return Err(SpecError::StoreMissing(self.strategy))
            }
            (StrategyKind::Session | StrategyKind::Hybrid, _, Some(_)) => {
                return Err(SpecError::DenylistOnStored(self.strategy))
            }
            _ => {}
        }
        if let Some((name, _, _)) = self.ttls.named().iter().find(|(_, t, _)| t.secs() == 0) {
            return Err(SpecError::TtlTooShort(name));
        }
        if self.protocol == Protocol::H2 && !self.tls {
            return Err(SpecError::H2WithoutTls);
        }
        if self.pool_size == 0 {
            return Err(SpecError::EmptyPool);
        }
        // A relay in front of a cluster would be bypassed: clients reach its nodes at the addresses the
        // cluster announces.
        let remote = matches!(self.needed_store(), Some(StoreKind::Postgres | StoreKind::Redis));
        if !self.store_rtt.0.is_zero() && !remote {
            return Err(SpecError::RttWithoutStore(self.id()));
        }
        if self.pool_size != TargetSpec::POOL && self.needed_store() != Some(StoreKind::Postgres) {
            return Err(SpecError::PoolWithoutPostgres(self.id()));
        }
        if self.replicas == 0 {
            return Err(SpecError::NoReplicas);
        }
        if self.replicas > 1 && (self.tls || !self.store_rtt.0.is_zero()) {
            return Err(SpecError::ReplicasUnsupported(self.id()));
        }
        Ok(())
    }

    /// Whether clients reach the target over HTTPS.
    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// Whether the target is served the plain way: one process, Bearer over HTTP/1.1 without TLS,
    /// default pool; its cookie, TLS, h2, pool and replica variants are measured as variants of it.
    pub fn is_plain(&self) -> bool {
        self.transport == Transport::Bearer
            && !self.tls
            && self.protocol == Protocol::Http1
            && self.pool_size == Self::POOL
            && self.replicas == 1
    }

    /// The store this configuration needs, if any.
    pub fn needed_store(&self) -> Option<StoreKind> {
        match self.strategy {
            StrategyKind::Jwt => self.denylist,
            StrategyKind::Session | StrategyKind::Hybrid => self.store,
            StrategyKind::None => None,
        }
    }

    /// Where the state that decides a credential lives, which decides whether replicas agree on it.
    pub fn replica_state(&self) -> ReplicaState {
        match self.needed_store() {
            None => ReplicaState::None,
            Some(StoreKind::Memory) => ReplicaState::ProcessLocal,
            Some(StoreKind::Postgres | StoreKind::Redis | StoreKind::RedisCluster) => ReplicaState::SharedStore,
        }
    }

    /// The algorithm, where the strategy signs tokens.
    pub fn signing_alg(&self) -> Option<Alg> {
        match self.strategy {
            StrategyKind::Jwt | StrategyKind::Hybrid => Some(self.alg),
            StrategyKind::Session | StrategyKind::None => None,
        }
    }

    /// The name a configuration goes by ("jwt-HS256", "session-redis", "jwt-denylist-redis-HS256",
    /// "hybrid-redis-HS256-access5s"): one scheme for runs, benches and reports, so their figures join.
    pub fn id(&self) -> String {
        let mut id = self.strategy.as_str().to_owned();
        if let Some(store) = self.store {
            id.push('-');
            id.push_str(store.as_str());
        }
        if let Some(denylist) = self.denylist {
            id.push_str("-denylist-");
            id.push_str(denylist.as_str());
        }
        if let Some(alg) = self.signing_alg() {
            id.push('-');
            id.push_str(alg.as_str());
        }
        if self.transport != Transport::Bearer {
            id.push('-');
            id.push_str(self.transport.as_str());
        }
        for (name, ttl, default) in self.ttls.named() {
            if ttl != default {
                id.push_str(&format!("-{name}{ttl}"));
            }
        }
        match (self.tls, self.protocol) {
            (_, Protocol::H2) => id.push_str("-h2"),
            (true, Protocol::Http1) => id.push_str("-tls"),
            (false, Protocol::Http1) => {}
        }
        if self.pool_size != TargetSpec::POOL {
            id.push_str(&format!("-pool{}", self.pool_size));
        }
        if !self.store_rtt.0.is_zero() {
            id.push_str(&format!("-rtt{}", self.store_rtt));
        }
        if self.replicas != 1 {
            id.push_str(&format!("-x{}", self.replicas));
        }
        id
    }

    /// Command-line flags that make `authbench-target` serve this configuration.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--strategy".to_owned(),
            self.strategy.to_string(),
            "--alg".to_owned(),
            self.alg.to_string(),
            "--transport".to_owned(),
            self.transport.to_string(),
        ];
        for (flag, store) in [("--store", self.store), ("--denylist", self.denylist)] {
            if let Some(s) = store {
                a.extend([flag.to_owned(), s.to_string()]);
            }
        }
        for (name, ttl, _) in self.ttls.named() {
            a.extend([format!("--{name}-ttl"), ttl.to_string()]);
        }
        a.extend(["--pool-size".to_owned(), self.pool_size.to_string()]);
        a.extend(["--protocol".to_owned(), self.protocol.to_string()]);
        if self.tls {
            a.push("--tls".to_owned());
        }
        a
    }
}

/// The written form of a [`TargetSpec`] in matrices and results: flat, defaults omitted on input.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFields {
    strategy: StrategyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    store: Option<StoreKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    denylist: Option<StoreKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<Alg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transport: Option<Transport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_ttl: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_ttl: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_ttl: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_ttl: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    absolute_ttl: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<Protocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    store_rtt: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replicas: Option<u32>,
}

impl TryFrom<SpecFields> for TargetSpec {
    type Error = SpecError;

    fn try_from(f: SpecFields) -> Result<TargetSpec, SpecError> {
        if matches!(f.strategy, StrategyKind::Session | StrategyKind::None) && f.alg.is_some() {
            return Err(SpecError::AlgOnSession);
        }
        let spec = TargetSpec {
            strategy: f.strategy,
            store: f.store,
            denylist: f.denylist,
            alg: f.alg.unwrap_or(Alg::Hs256),
            transport: f.transport.unwrap_or(Transport::Bearer),
            ttls: Ttls {
                token: f.token_ttl.unwrap_or(Ttls::TOKEN),
                access: f.access_ttl.unwrap_or(Ttls::ACCESS),
                refresh: f.refresh_ttl.unwrap_or(Ttls::REFRESH),
                session: f.session_ttl.unwrap_or(Ttls::SESSION),
                absolute: f.absolute_ttl.unwrap_or(Ttls::ABSOLUTE),
            },
            pool_size: f.pool_size.unwrap_or(TargetSpec::POOL),
            tls: f.tls.unwrap_or(false),
            protocol: f.protocol.unwrap_or(Protocol::Http1),
            store_rtt: f.store_rtt.unwrap_or(Span(Duration::ZERO)),
            replicas: f.replicas.unwrap_or(1),
        };
        spec.validate()?;
        Ok(spec)
    }
}

impl From<TargetSpec> for SpecFields {
    fn from(s: TargetSpec) -> SpecFields {
        SpecFields {
            strategy: s.strategy,
            store: s.store,
            denylist: s.denylist,
            alg: s.signing_alg(),
            transport: Some(s.transport),
            token_ttl: Some(s.ttls.token),
            access_ttl: Some(s.ttls.access),
            refresh_ttl: Some(s.ttls.refresh),
            session_ttl: Some(s.ttls.session),
            absolute_ttl: Some(s.ttls.absolute),
            pool_size: Some(s.pool_size),
            tls: Some(s.tls),
            protocol: Some(s.protocol),
            store_rtt: Some(s.store_rtt),
            replicas: (s.replicas != 1).then_some(s.replicas),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_like: &str) -> Result<TargetSpec, String> {
        serde_json::from_str(toml_like).map_err(|e| e.to_string())
    }

    #[test]
    fn durations_parse_human_units_and_print_back_the_same() {
        for (text, secs) in [("90s", 90), ("15m", 900), ("7d", 7 * 86_400), ("2h", 7200)] {
            let t: Span = text.parse().unwrap();
            assert_eq!(t.secs(), secs);
            assert_eq!(t.to_string(), text);
        }
        assert_eq!(Span(Duration::from_millis(1500)).to_string(), "1500ms");
        let us: Span = "200us".parse().unwrap();
        assert_eq!((us.0, us.to_string()), (Duration::from_micros(200), "200us".to_owned()));
        assert_eq!(Span(Duration::from_millis(3)).to_string(), "3ms");
        assert!("soon".parse::<Span>().is_err());
    }

    #[test]
    fn ids_name_what_differs_from_the_defaults() {
        assert_eq!(TargetSpec::jwt(Alg::Rs256_4096).id(), "jwt-RS256-4096");
        let deny = TargetSpec { denylist: Some(StoreKind::Redis), ..TargetSpec::jwt(Alg::Hs256) };
        assert_eq!(deny.id(), "jwt-denylist-redis-HS256");
        assert_eq!(TargetSpec::stored(StrategyKind::Session, StoreKind::Postgres, Alg::Hs256).id(), "session-postgres");
        let cluster = TargetSpec::stored(StrategyKind::Session, StoreKind::RedisCluster, Alg::Hs256);
        assert_eq!(cluster.id(), "session-redis-cluster");
        assert_eq!(serde_json::to_string(&StoreKind::RedisCluster).unwrap(), r#""redis-cluster""#);
        let mut relayed = cluster;
        relayed.store_rtt = Span(Duration::from_micros(500));
        assert!(matches!(relayed.validate(), Err(SpecError::RttWithoutStore(_))), "a relay cannot front a cluster");
        let mut hybrid = TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Redis, Alg::Es256);
        hybrid.ttls.access = Span(Duration::from_secs(5));
        hybrid.transport = Transport::Cookie;
        assert_eq!(hybrid.id(), "hybrid-redis-ES256-cookie-access5s");
        let mut far = TargetSpec::stored(StrategyKind::Session, StoreKind::Postgres, Alg::Hs256);
        far.store_rtt = Span(Duration::from_micros(500));
        far.pool_size = 16;
        far.tls = true;
        far.protocol = Protocol::H2;
        assert_eq!(far.id(), "session-postgres-h2-pool16-rtt500us");
        let replicated =
            TargetSpec { replicas: 3, ..TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256) };
        assert_eq!(replicated.id(), "session-redis-x3");
        assert!(!replicated.is_plain(), "replicas are a variant of the plain way");
    }

    #[test]
    fn replicas_are_written_only_when_there_are_several() {
        let one = TargetSpec::jwt(Alg::Hs256);
        assert!(!serde_json::to_string(&one).unwrap().contains("replicas"), "older files stay byte-identical");
        let two = parse(r#"{"strategy":"session","store":"memory","replicas":2}"#).unwrap();
        assert_eq!(two.replicas, 2);
        assert_eq!(serde_json::from_str::<TargetSpec>(&serde_json::to_string(&two).unwrap()).unwrap(), two);
    }

    #[test]
    fn written_form_round_trips_and_refuses_what_cannot_run() {
        let spec = parse(r#"{"strategy":"hybrid","store":"redis","alg":"EdDSA","access_ttl":"5s"}"#).unwrap();
        assert_eq!(spec.ttls.access.secs(), 5);
        let back: TargetSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
        for (bad, expect) in [
            (r#"{"strategy":"magic"}"#, "unknown variant `magic`"),
            (r#"{"strategy":"session"}"#, "need a store"),
            (r#"{"strategy":"jwt","store":"redis"}"#, "use denylist = redis"),
            (r#"{"strategy":"session","store":"redis","alg":"HS256"}"#, "remove alg"),
            (r#"{"strategy":"hybrid","store":"redis","denylist":"redis"}"#, "jwt targets only"),
            (r#"{"strategy":"jwt","access_ttl":"0s"}"#, "access ttl"),
            (r#"{"strategy":"jwt","colour":"red"}"#, "unknown field `colour`"),
            (r#"{"strategy":"jwt","protocol":"h2"}"#, "set tls = true"),
            (r#"{"strategy":"jwt","store_rtt":"1ms"}"#, "needs a store outside"),
            (r#"{"strategy":"session","store":"memory","store_rtt":"1ms"}"#, "needs a store outside"),
            (r#"{"strategy":"session","store":"redis-cluster","store_rtt":"1ms"}"#, "reached directly"),
            (r#"{"strategy":"session","store":"redis","pool_size":0}"#, "at least 1"),
            (r#"{"strategy":"jwt","replicas":0}"#, "replicas must be at least 1"),
            (r#"{"strategy":"jwt","replicas":2,"tls":true}"#, "remove one of them"),
            (r#"{"strategy":"session","store":"redis","replicas":2,"store_rtt":"1ms"}"#, "remove one of them"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(expect), "{bad}: {err}");
        }
    }

    #[test]
    fn flags_rebuild_the_same_spec() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            spec: TargetSpec,
        }
        let mut spec = TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Postgres, Alg::Rs256);
        spec.ttls.refresh = Span(Duration::from_secs(3600));
        spec.pool_size = 32;
        spec.tls = true;
        spec.protocol = Protocol::H2;
        let args = std::iter::once("t".to_owned()).chain(spec.args());
        let parsed = <Cli as clap::Parser>::parse_from(args).spec;
        assert_eq!(parsed, spec);
        assert_eq!(parsed.needed_store(), Some(StoreKind::Postgres));
    }
}
