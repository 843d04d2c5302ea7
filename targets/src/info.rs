//! What /control/info tells the harness and the reader about a target's guarantees.

use crate::config::Config;
use crate::contract::{Argon2Params, Capabilities, Info, InfoTtls};
use crate::spec::{StrategyKind, TargetSpec};

/// Derives a configuration's capabilities from its strategy and TTLs.
pub fn capabilities(spec: &TargetSpec, leeway_s: u64) -> Capabilities {
    // A token is accepted through the whole second of its exp, plus any configured leeway.
    let slack = leeway_s + 1;
    // A jwt token lives for its TTL but never past login + absolute-ttl, and a refresh re-reads the
    // role: an old role outlives a change by one token at most. Without a denylist a revoked user
    // can still refresh, but no token of the chain outlives login + absolute-ttl.
    let jwt_token = spec.ttls.token.secs().min(spec.ttls.absolute.secs()) + slack;
    let jwt_chain = spec.ttls.absolute.secs() + slack;
    let access = spec.ttls.access.secs() + slack;
    let text = |logout: &str, revoke: &str, refresh: &str| (logout.to_owned(), revoke.to_owned(), refresh.to_owned());
    // Bounds as (revoke, role change, logout). Without a denylist a logged-out jwt token can still
    // be refreshed, so its bound is the chain's, like a revoked one's.
    let (ops, (logout, revoke, refresh), (revoke_bound, role_bound, logout_bound)) =
        match (spec.strategy, spec.denylist) {
            (StrategyKind::Jwt, None) => (
                0,
                text(
                    "nothing: the token stays valid until exp; the client only forgets it",
                    "impossible: issued tokens stay valid until exp and can be refreshed until login + absolute-ttl",
                    "exchanges a valid token for a new one with the user's current role; the old one stays valid \
                 until exp; no refresh reaches past login + absolute-ttl",
                ),
                (Some(jwt_chain), Some(jwt_token), Some(jwt_chain)),
            ),
            (StrategyKind::Jwt, Some(_)) => (
                1,
                text(
                    "denies the token's jti until its exp plus leeway",
                    "immediate: every token issued up to now is denied and can no longer be refreshed",
                    "exchanges a valid token for a new one with the user's current role and denies the old one; \
                 no refresh reaches past login + absolute-ttl",
                ),
                (Some(0), Some(jwt_token), Some(0)),
            ),
            (StrategyKind::Session, _) => (
                1,
                text(
                    "deletes the session",
                    "immediate: every session of the user is deleted",
                    "rotates the session id: new token, fresh lifetime, old token deleted",
                ),
                (Some(0), Some(0), Some(0)),
            ),
            (StrategyKind::Hybrid, _) => (
                0,
                text(
                    "revokes the refresh-token family; the access token lives until exp",
                    "refresh tokens at once; access tokens at their exp",
                    "rotates the refresh token; replaying a spent one revokes the family",
                ),
                (Some(access), Some(access), Some(access)),
            ),
            (StrategyKind::None, _) => (
                0,
                text(
                    "nothing: no credential is checked",
                    "impossible: a request only names its user, and that is never checked",
                    "hands back a credential naming the same user",
                ),
                (None, Some(0), None),
            ),
        };
    Capabilities {
        store_ops_per_request: ops,
        logout,
        revoke,
        revoke_window_bound_s: revoke_bound,
        role_change_window_bound_s: role_bound,
        logout_window_bound_s: logout_bound,
        refresh,
        replicas: Some(spec.replica_state()),
    }
}

/// Builds the /control/info document once at start.
pub fn describe(cfg: &Config, users: usize, workers: usize) -> Info {
    let spec = &cfg.spec;
    Info {
        id: spec.id(),
        strategy: spec.strategy,
        store: spec.store,
        denylist: spec.denylist,
        alg: spec.signing_alg(),
        transport: spec.transport,
        ttls_s: InfoTtls {
            token: spec.ttls.token.secs(),
            access: spec.ttls.access.secs(),
            refresh: spec.ttls.refresh.secs(),
            session: spec.ttls.session.secs(),
            absolute: spec.ttls.absolute.secs(),
            session_idle: cfg.session_idle.as_secs(),
            leeway: cfg.leeway.as_secs(),
        },
        capabilities: capabilities(spec, cfg.leeway.as_secs()),
        argon2id: Argon2Params { m_kib: cfg.argon2_m_kib, t: cfg.argon2_t, p: cfg.argon2_p },
        users,
        workers,
        namespace: cfg.namespace.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Renders the /control/info body.
pub fn render(cfg: &Config, users: usize, workers: usize) -> String {
    serde_json::to_string(&describe(cfg, users, workers)).unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn caps(args: &[&str]) -> Capabilities {
        let cfg = Config::parse_from(std::iter::once("t").chain(args.iter().copied()));
        capabilities(&cfg.spec, cfg.leeway.as_secs())
    }

    #[test]
    fn bounds_follow_ttls() {
        let jwt = caps(&["--strategy", "jwt", "--token-ttl", "7d"]);
        assert_eq!(jwt.revoke_window_bound_s, Some(30 * 86_400 + 1), "refreshable until login + absolute-ttl (30d)");
        assert_eq!(jwt.role_change_window_bound_s, Some(7 * 86_400 + 1), "refresh picks up the new role");
        assert_eq!(jwt.store_ops_per_request, 0);
        let capped = caps(&["--strategy", "jwt", "--token-ttl", "7d", "--absolute-ttl", "1d", "--leeway", "5s"]);
        assert_eq!(
            (capped.revoke_window_bound_s, capped.role_change_window_bound_s),
            (Some(86_400 + 6), Some(86_400 + 6))
        );
        assert_eq!(jwt.logout_window_bound_s, Some(30 * 86_400 + 1), "a logged-out token can still be refreshed");
        let deny = caps(&["--strategy", "jwt", "--denylist", "memory"]);
        assert_eq!(deny.logout_window_bound_s, Some(0), "logout denies the token");
        assert_eq!(deny.revoke_window_bound_s, Some(0));
        assert_eq!(deny.role_change_window_bound_s, Some(7 * 86_400 + 1));
        assert_eq!(deny.store_ops_per_request, 1);
        let hybrid = caps(&["--strategy", "hybrid", "--store", "memory", "--access-ttl", "2m"]);
        assert_eq!(hybrid.revoke_window_bound_s, Some(120 + 1));
        assert_eq!(hybrid.logout_window_bound_s, Some(120 + 1), "logout leaves the access token to its exp");
        let session = Config::parse_from(["t", "--strategy", "session", "--store", "memory"]);
        let session_caps = capabilities(&session.spec, 0);
        assert_eq!((session_caps.role_change_window_bound_s, session_caps.logout_window_bound_s), (Some(0), Some(0)));
        let none = caps(&["--strategy", "none"]);
        assert_eq!((none.revoke_window_bound_s, none.role_change_window_bound_s), (None, Some(0)));
        assert_eq!(none.logout_window_bound_s, None);
        let back: Info = serde_json::from_str(&render(&session, 3, 2)).unwrap();
        assert_eq!(back.strategy, StrategyKind::Session);
        assert_eq!(back.alg, None);
        assert!(back.describes(&session.spec));
    }

    #[test]
    fn info_says_whether_replicas_would_agree() {
        use crate::spec::ReplicaState;
        let state = |args: &[&str]| caps(args).replicas;
        assert_eq!(state(&["--strategy", "jwt"]), Some(ReplicaState::None));
        assert_eq!(state(&["--strategy", "session", "--store", "memory"]), Some(ReplicaState::ProcessLocal));
        assert_eq!(state(&["--strategy", "jwt", "--denylist", "memory"]), Some(ReplicaState::ProcessLocal));
        assert_eq!(state(&["--strategy", "hybrid", "--store", "redis"]), Some(ReplicaState::SharedStore));
        assert_eq!(state(&["--strategy", "session", "--store", "redis-cluster"]), Some(ReplicaState::SharedStore));
        assert_eq!(state(&["--strategy", "jwt", "--denylist", "postgres"]), Some(ReplicaState::SharedStore));
        let mut old = serde_json::to_value(caps(&["--strategy", "jwt"])).unwrap();
        old.as_object_mut().unwrap().remove("replicas");
        let back: Capabilities = serde_json::from_value(old).unwrap();
        assert_eq!(back.replicas, None, "a document of an older target says nothing, not 'none'");
    }
}
