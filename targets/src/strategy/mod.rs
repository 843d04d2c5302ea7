//! The strategy a target serves, behind one interface the HTTP layer calls.

pub mod hybrid;
pub mod jwt;
pub mod none;
pub mod session;

use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use crate::config::Config;
use crate::deadline::Deadlines;
use crate::error::Failure;
use crate::hashing::{HashError, Hashers};
use crate::metrics::Metrics;
use crate::spec::StrategyKind;
use crate::store::{Store, StoreSettings, StoreUrls};
use crate::token::jwt::{JwtCodec, TYP_ACCESS, TYP_JWT};
use crate::token::{keys, unix_now};
use crate::users::{Directory, Role};

/// Records per seed batch: one statement or script each, small enough to stay well inside a
/// store's command timeout.
const SEED_BATCH: u64 = 5_000;

/// Who a valid credential belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub id: u64,
    pub username: String,
    pub role: Role,
}

/// What a login or refresh hands to the client.
#[derive(Debug)]
pub struct Grant {
    pub access: String,
    pub expires_in: u64,
    /// Hybrid only: refresh token and its lifetime in seconds.
    pub refresh: Option<(String, u64)>,
}

/// One of the strategies.
pub enum Strategy {
    Jwt(jwt::JwtStrategy),
    Session(session::SessionStrategy),
    Hybrid(hybrid::HybridStrategy),
    None(none::NoneStrategy),
}

/// The strategy plus the user directory and the threads that check passwords.
pub struct Auth {
    pub strategy: Strategy,
    pub users: Arc<Directory>,
    /// A fixed number of argon2 runs at once, each in memory allocated once, and a bounded queue,
    /// so a login storm neither grows memory nor queues without end.
    hashing: Hashers,
    /// The request and store-operation deadlines of this target's runtime.
    pub deadlines: Arc<Deadlines>,
}

/// Result of a revoke-all through the control API.
#[derive(Debug, Serialize)]
pub struct RevokeOutcome {
    /// False when the strategy cannot invalidate issued credentials (jwt without denylist).
    pub effective: bool,
    pub note: &'static str,
}

impl Auth {
    /// Builds keys, stores and users for a configuration; errors say which flag to fix.
    pub async fn build(cfg: &Config, metrics: Arc<Metrics>, hashing_slots: usize) -> anyhow::Result<Auth> {
        let users = Directory::seeded(cfg.seed_users, cfg.argon2_m_kib, cfg.argon2_t, cfg.argon2_p)?;
        let spec = &cfg.spec;
        // A user-wide denylist entry must outlive every token it covers, leeway included.
        let max_token_ttl = spec.ttls.longest() + cfg.leeway + std::time::Duration::from_secs(1);
        let settings = StoreSettings {
            namespace: cfg.namespace.clone(),
            pool_size: usize::try_from(spec.pool_size).unwrap_or(usize::MAX),
            session_idle: cfg.session_idle,
            max_token_ttl,
        };
        let deadlines = Deadlines::start();
        let store = match spec.needed_store() {
            Some(kind) => Some(
                Store::connect(
                    kind,
                    StoreUrls {
                        postgres: cfg.postgres_url.as_deref(),
                        redis: cfg.redis_url.as_deref(),
                        redis_cluster: cfg.redis_cluster_url.as_deref(),
                    },
                    settings,
                    metrics,
                    Arc::clone(&deadlines),
                )
                .await?,
            ),
            None => None,
        };
        let codec = |ttl: crate::spec::Span, typ| -> anyhow::Result<JwtCodec> {
            let material = keys::load_or_generate(&cfg.key_dir, spec.alg)?;
            Ok(JwtCodec::new(spec.alg, material, ttl.secs(), cfg.leeway.as_secs(), typ, &cfg.issuer, &cfg.audience))
        };
        let strategy = match (spec.strategy, store) {
            (StrategyKind::Jwt, denylist) => Strategy::Jwt(jwt::JwtStrategy {
                codec: codec(spec.ttls.token, TYP_JWT)?,
                denylist,
                absolute_s: spec.ttls.absolute.secs(),
            }),
            (StrategyKind::Session, Some(store)) => Strategy::Session(session::SessionStrategy {
                store,
                ttl_s: spec.ttls.session.secs(),
                absolute_s: spec.ttls.absolute.secs(),
                role_writes: tokio::sync::Mutex::new(()),
            }),
            (StrategyKind::Hybrid, Some(store)) => Strategy::Hybrid(hybrid::HybridStrategy {
                codec: codec(spec.ttls.access, TYP_ACCESS)?,
                store,
                refresh_ttl_s: spec.ttls.refresh.secs(),
                absolute_s: spec.ttls.absolute.secs(),
            }),
            (StrategyKind::None, None) => Strategy::None(none::NoneStrategy { expires_in: spec.ttls.token.secs() }),
            (StrategyKind::None, Some(_)) => {
                anyhow::bail!("strategy none keeps nothing: remove --store and --denylist")
            }
            (kind, None) => anyhow::bail!("strategy {kind:?} needs a store: pass --store"),
        };
        let users = Arc::new(users);
        let hashing = Hashers::start(Arc::clone(&users), hashing_slots, cfg.max_pending_logins)
            .context("starting the password-hashing threads")?;
        Ok(Auth { strategy, users, hashing, deadlines })
    }

    /// The store in use, if any (session/refresh store or jwt denylist).
    pub fn store(&self) -> Option<&Store> {
        match &self.strategy {
            Strategy::Jwt(s) => s.denylist.as_ref(),
            Strategy::Session(s) => Some(&s.store),
            Strategy::Hybrid(s) => Some(&s.store),
            Strategy::None(_) => None,
        }
    }

    /// Public signing keys, when the algorithm is asymmetric.
    pub fn jwks(&self) -> Option<&jsonwebtoken::jwk::JwkSet> {
        match &self.strategy {
            Strategy::Jwt(s) => Some(s.codec.jwks()),
            Strategy::Hybrid(s) => Some(s.codec.jwks()),
            Strategy::Session(_) | Strategy::None(_) => None,
        }
    }

    /// Checks the credential a request carries.
    pub async fn authenticate(&self, credential: &str) -> Result<Principal, Failure> {
        let now = unix_now();
        match &self.strategy {
            Strategy::Jwt(s) => s.authenticate(credential, now).await,
            Strategy::Session(s) => s.authenticate(credential, now).await,
            Strategy::Hybrid(s) => s.authenticate(credential, now),
            Strategy::None(s) => s.authenticate(&self.users, credential),
        }
    }

    /// Verifies the password (argon2id on a hashing thread) and issues credentials.
    pub async fn login(&self, username: String, password: String) -> Result<Grant, Failure> {
        if username.len() > 256 || password.len() > 1024 {
            return Err(Failure::BadLogin);
        }
        // Full queue: refuse at once (503 + Retry-After) rather than let waiting logins pile up.
        let id = self.hashing.check(username, password).await.map_err(|e| match e {
            HashError::Busy => Failure::Busy,
            HashError::Stopped => Failure::Internal("password-hashing threads stopped"),
        })?;
        let user = id.and_then(|id| self.users.get(id)).ok_or(Failure::BadLogin)?;
        let now = unix_now();
        match &self.strategy {
            Strategy::Jwt(s) => s.issue(user, now),
            Strategy::Session(s) => s.issue(user, now).await,
            Strategy::Hybrid(s) => s.issue(user, now).await,
            Strategy::None(s) => Ok(s.issue(user)),
        }
    }

    /// Exchanges the presented credential (hybrid: the refresh token) for a new grant.
    pub async fn refresh(&self, presented: &str) -> Result<Grant, Failure> {
        let now = unix_now();
        match &self.strategy {
            Strategy::Jwt(s) => s.refresh(&self.users, presented, now).await,
            Strategy::Session(s) => s.refresh(presented, now).await,
            Strategy::Hybrid(s) => s.refresh(&self.users, presented, now).await,
            Strategy::None(s) => s.refresh(&self.users, presented),
        }
    }

    /// Invalidates what the strategy can; returns whether anything server-side was invalidated.
    pub async fn logout(&self, presented: &str) -> Result<bool, Failure> {
        match &self.strategy {
            Strategy::Jwt(s) => s.logout(presented, unix_now()).await,
            Strategy::Session(s) => s.logout(presented).await,
            Strategy::Hybrid(s) => s.logout(presented).await,
            // Checked like any request, so a credential naming nobody is a 401 here too.
            Strategy::None(s) => s.authenticate(&self.users, presented).map(|_| false),
        }
    }

    /// "Log out everywhere": invalidates every credential of the user the strategy can reach.
    pub async fn revoke_user(&self, user_id: u64) -> Result<RevokeOutcome, Failure> {
        self.users.get(user_id).ok_or(Failure::BadRequest("no such user"))?;
        Ok(match &self.strategy {
            Strategy::Jwt(s) => {
                if s.revoke_user(user_id, unix_now()).await? {
                    RevokeOutcome { effective: true, note: "tokens issued so far are denied on their next request" }
                } else {
                    RevokeOutcome { effective: false, note: "jwt without denylist: issued tokens stay valid until exp" }
                }
            }
            Strategy::Session(s) => {
                s.store.revoke_user_sessions(user_id).await?;
                RevokeOutcome { effective: true, note: "sessions deleted: the next request is refused" }
            }
            Strategy::Hybrid(s) => {
                s.store.revoke_user_refresh(user_id).await?;
                RevokeOutcome { effective: true, note: "refresh tokens revoked; access tokens live until their exp" }
            }
            Strategy::None(_) => {
                RevokeOutcome { effective: false, note: "none checks no credential: there is nothing to revoke" }
            }
        })
    }

    /// Creates `count` sessions (session) or refresh-token families (hybrid) for seeded users without
    /// paying argon2, in batches of [`SEED_BATCH`] (one statement or script each, two in flight), so
    /// the harness can fill a store to a deployment's size and measure what one record costs.
    pub async fn seed_records(&self, count: u64) -> Result<u64, Failure> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        if self.users.len() < 2 {
            return Err(Failure::BadRequest("seed at least 2 users first"));
        }
        if matches!(self.strategy, Strategy::Jwt(_) | Strategy::None(_)) {
            return Err(Failure::BadRequest("jwt and none keep no per-session state"));
        }
        let now = unix_now();
        let users = self.users.len() as u64 - 1;
        let user = |i: u64| self.users.get(1 + i % users).ok_or(Failure::Internal("seeded user missing"));
        let batches = (0..count).step_by(SEED_BATCH as usize).map(|start| start..(start + SEED_BATCH).min(count));
        stream::iter(batches)
            .map(|range| async move {
                let batch: Vec<_> = range.map(user).collect::<Result<_, _>>()?;
                match &self.strategy {
                    Strategy::Session(s) => s.seed(&batch, now).await,
                    Strategy::Hybrid(h) => h.seed(&batch, now).await,
                    Strategy::Jwt(_) | Strategy::None(_) => {
                        Err(Failure::BadRequest("jwt and none keep no per-session state"))
                    }
                }
            })
            // Two batches in flight: the store works on one while the next is built and sent.
            .buffer_unordered(2)
            .try_collect::<Vec<()>>()
            .await?;
        if let Some(store) = self.store() {
            store.settle().await?;
        }
        Ok(count)
    }

    /// Changes a user's role; sessions see it at once, issued JWTs never do.
    pub async fn set_role(&self, user_id: u64, role: Role) -> Result<(), Failure> {
        let known = match &self.strategy {
            Strategy::Session(s) => s.set_role(&self.users, user_id, role).await?,
            Strategy::Jwt(_) | Strategy::Hybrid(_) | Strategy::None(_) => self.users.set_role(user_id, role),
        };
        if known {
            Ok(())
        } else {
            Err(Failure::BadRequest("no such user"))
        }
    }
}
