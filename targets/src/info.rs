//! What /control/info tells the harness and the reader about a target's guarantees.

use serde::Serialize;

use crate::config::{Config, StrategyKind};

/// How long a revoked user, or a demoted admin, can still be served, and at what per-request cost.
#[derive(Debug, Serialize)]
pub struct Capabilities {
    /// Store operations an ordinary authenticated request costs.
    pub store_ops_per_request: u32,
    /// What logout invalidates.
    pub logout: &'static str,
    /// When a revoke-all takes effect.
    pub revoke: &'static str,
    /// Upper bound, in seconds, of the window in which a revoked credential is still accepted.
    pub revoke_window_bound_s: u64,
    /// Upper bound, in seconds, of the window in which an old role is still honoured.
    pub role_change_window_bound_s: u64,
    /// What /auth/refresh does for this strategy.
    pub refresh: &'static str,
}

/// Derives a configuration's capabilities from its strategy and TTLs.
pub fn capabilities(cfg: &Config) -> Capabilities {
    // A token is accepted through the whole second of its exp, plus any configured leeway.
    let slack = cfg.leeway.as_secs() + 1;
    let token = cfg.token_ttl.as_secs() + slack;
    let access = cfg.access_ttl.as_secs() + slack;
    match (cfg.strategy, cfg.denylist) {
        (StrategyKind::Jwt, None) => Capabilities {
            store_ops_per_request: 0,
            logout: "nothing: the token stays valid until exp; the client only forgets it",
            revoke: "impossible: issued tokens stay valid until exp",
            revoke_window_bound_s: token,
            role_change_window_bound_s: token,
            refresh: "exchanges a valid token for a new one with the same claims",
        },
        (StrategyKind::Jwt, Some(_)) => Capabilities {
            store_ops_per_request: 1,
            logout: "denies the token's jti until its exp",
            revoke: "immediate: every token issued up to now is denied",
            revoke_window_bound_s: 0,
            role_change_window_bound_s: token,
            refresh: "exchanges a valid token for a new one and denies the old one",
        },
        (StrategyKind::Session, _) => Capabilities {
            store_ops_per_request: 1,
            logout: "deletes the session",
            revoke: "immediate: every session of the user is deleted",
            revoke_window_bound_s: 0,
            role_change_window_bound_s: 0,
            refresh: "rotates the session id: new token, fresh lifetime, old token deleted",
        },
        (StrategyKind::Hybrid, _) => Capabilities {
            store_ops_per_request: 0,
            logout: "revokes the refresh-token family; the access token lives until exp",
            revoke: "refresh tokens at once; access tokens at their exp",
            revoke_window_bound_s: access,
            role_change_window_bound_s: access,
            refresh: "rotates the refresh token; replaying a spent one revokes the family",
        },
    }
}

/// Renders the /control/info document once at start.
pub fn render(cfg: &Config, users: usize, workers: usize) -> String {
    let uses_jwt = cfg.strategy != StrategyKind::Session;
    let doc = serde_json::json!({
        "strategy": cfg.strategy,
        "store": match cfg.strategy { StrategyKind::Jwt => None, _ => Some(cfg.store) },
        "denylist": cfg.denylist,
        "alg": uses_jwt.then_some(cfg.alg),
        "transport": cfg.transport,
        "ttls_s": {
            "token": cfg.token_ttl.as_secs(),
            "access": cfg.access_ttl.as_secs(),
            "refresh": cfg.refresh_ttl.as_secs(),
            "session": cfg.session_ttl.as_secs(),
            "session_idle": cfg.session_idle.as_secs(),
            "leeway": cfg.leeway.as_secs(),
        },
        "capabilities": capabilities(cfg),
        "argon2id": { "m_kib": cfg.argon2_m_kib, "t": cfg.argon2_t, "p": cfg.argon2_p },
        "users": users,
        "workers": workers,
        "namespace": cfg.namespace,
        "version": env!("CARGO_PKG_VERSION"),
    });
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn bounds_follow_ttls() {
        let jwt = Config::parse_from(["t", "--strategy", "jwt", "--token-ttl", "7d"]);
        assert_eq!(capabilities(&jwt).revoke_window_bound_s, 7 * 86_400 + 1);
        assert_eq!(capabilities(&jwt).store_ops_per_request, 0);
        let deny = Config::parse_from(["t", "--strategy", "jwt", "--denylist", "memory"]);
        assert_eq!(capabilities(&deny).revoke_window_bound_s, 0);
        assert_eq!(capabilities(&deny).store_ops_per_request, 1);
        let hybrid = Config::parse_from(["t", "--strategy", "hybrid", "--access-ttl", "2m"]);
        assert_eq!(capabilities(&hybrid).revoke_window_bound_s, 120 + 1);
        let session = Config::parse_from(["t", "--strategy", "session"]);
        assert_eq!(capabilities(&session).role_change_window_bound_s, 0);
        let text = render(&session, 3, 2);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["strategy"], "session");
        assert_eq!(v["alg"], serde_json::Value::Null);
    }
}
