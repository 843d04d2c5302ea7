//! Session, refresh-token and denylist storage behind one timed, counted interface.

pub mod memory;
pub mod postgres;
pub mod redis;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::deadline::Deadlines;
use crate::error::StoreError;
use crate::metrics::Metrics;
use crate::spec::StoreKind;
use crate::token::opaque::{self, OpaqueToken, TokenHash};
use crate::users::Role;

/// Longest a store operation may take before the request gets a 503 instead of hanging.
pub const OP_TIMEOUT: Duration = Duration::from_millis(800);

/// What a session lookup returns: enough to answer /api/me without touching anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_id: u64,
    pub username: String,
    pub role: Role,
    /// Absolute expiry, Unix seconds.
    pub expires_at: u64,
}

/// Identifies all refresh tokens descended from one login, so reuse can revoke them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FamilyId(pub [u8; 16]);

impl FamilyId {
    /// A fresh random family.
    pub fn generate() -> FamilyId {
        FamilyId(crate::token::opaque::random_bytes())
    }

    /// Hex text for Redis keys.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(32);
        crate::token::opaque::push_hex(&mut s, &self.0);
        s
    }
}

/// Outcome of presenting a refresh token for rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live; it is now spent and the new one, valid until `expires_at` (Unix seconds,
    /// never past the family's absolute deadline), is its family's live token.
    Rotated { user_id: u64, expires_at: u64 },
    /// The token was already spent: someone replayed it, so its whole family was revoked.
    Reused { user_id: u64 },
    /// Unknown, expired, or of a family that was revoked.
    Invalid,
}

/// A session a bulk seed stores, as a login would have: the hash of a token nobody holds.
#[derive(Debug, Clone)]
pub struct SeededSession {
    pub hash: TokenHash,
    pub rec: SessionRecord,
    /// Absolute end of the session, Unix seconds.
    pub deadline: u64,
}

/// The first refresh token of a family a bulk seed stores, as a login would have.
#[derive(Debug, Clone, Copy)]
pub struct SeededFamily {
    pub hash: TokenHash,
    pub family: FamilyId,
    pub user_id: u64,
    pub expires_at: u64,
    /// The family's absolute end, Unix seconds.
    pub deadline: u64,
}

/// Longest a bulk seed batch may take: thousands of rows per statement or script, far past what
/// [`OP_TIMEOUT`] allows one request's operation.
const SEED_TIMEOUT: Duration = Duration::from_secs(120);

/// Settings every backend needs.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub namespace: String,
    pub pool_size: usize,
    /// Session idle timeout; zero disables sliding.
    pub session_idle: Duration,
    /// Longest any token lives: how long a user-wide denylist entry must be kept.
    pub max_token_ttl: Duration,
}

/// Where the store servers are; only the one the store kind needs is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreUrls<'a> {
    pub postgres: Option<&'a str>,
    pub redis: Option<&'a str>,
    pub redis_cluster: Option<&'a str>,
}

enum Backend {
    Memory(memory::MemoryStore),
    Postgres(postgres::PgStore),
    Redis(redis::RedisStore),
}

/// A connected store; every operation is counted and timed in /metrics.
pub struct Store {
    backend: Backend,
    kind: StoreKind,
    metrics: Arc<Metrics>,
    /// Where each operation's [`OP_TIMEOUT`] is kept (see [`crate::deadline`]).
    deadlines: Arc<Deadlines>,
}

macro_rules! dispatch {
    ($self:ident, $op:literal, $s:ident => $call:expr) => {{
        let start = Instant::now();
        let result = match &$self.backend {
            Backend::Memory($s) => $call.await,
            // Boxed, each sized to its own backend: a network client's future is kilobytes (fred's
            // over ten) and inline it would size every future above it, the request handler's
            // included, which axum moves onto the heap per request (memmove was the largest
            // per-request cost the same-shape handler did not have).
            Backend::Postgres($s) => Box::pin(bounded(&$self.deadlines, $call)).await,
            Backend::Redis($s) => Box::pin(bounded(&$self.deadlines, $call)).await,
        };
        $self.metrics.store_op($op, start.elapsed());
        result
    }};
}

/// `fut` within [`OP_TIMEOUT`]. A plain function, not an `async fn`: one of those would keep `fut`
/// and the bounded future beside each other, twice the size.
fn bounded<'d, T, F: std::future::Future<Output = Result<T, StoreError>>>(
    deadlines: &'d Deadlines,
    fut: F,
) -> impl std::future::Future<Output = Result<T, StoreError>> + use<'d, T, F> {
    use futures_util::FutureExt;
    deadlines.bound(OP_TIMEOUT, fut).map(|r| {
        r.unwrap_or_else(|_| Err(StoreError::Unavailable(format!("no answer within {} ms", OP_TIMEOUT.as_millis()))))
    })
}

async fn seed_bounded(fut: impl std::future::Future<Output = Result<(), StoreError>>) -> Result<(), StoreError> {
    match tokio::time::timeout(SEED_TIMEOUT, fut).await {
        Ok(r) => r,
        Err(_) => Err(StoreError::Unavailable(format!("a seed batch took over {} s", SEED_TIMEOUT.as_secs()))),
    }
}

impl Store {
    /// Connects to (or creates) the store and prepares its schema.
    pub async fn connect(
        kind: StoreKind,
        urls: StoreUrls<'_>,
        settings: StoreSettings,
        metrics: Arc<Metrics>,
        deadlines: Arc<Deadlines>,
    ) -> Result<Store, anyhow::Error> {
        let backend = match kind {
            StoreKind::Memory => Backend::Memory(memory::MemoryStore::new(settings)),
            StoreKind::Postgres => {
                let url = urls.postgres.ok_or_else(|| {
                    anyhow::anyhow!("--store postgres needs --postgres-url or AUTHBENCH_POSTGRES_URL (start one with scripts/services.sh up)")
                })?;
                Backend::Postgres(postgres::PgStore::connect(url, settings, Arc::clone(&metrics)).await?)
            }
            StoreKind::Redis => {
                let url = urls.redis.ok_or_else(|| {
                    anyhow::anyhow!("--store redis needs --redis-url or AUTHBENCH_REDIS_URL (start one with scripts/services.sh up)")
                })?;
                Backend::Redis(Box::pin(redis::RedisStore::connect(url, redis::Topology::Single, settings)).await?)
            }
            StoreKind::RedisCluster => {
                let url = urls.redis_cluster.ok_or_else(|| {
                    anyhow::anyhow!("--store redis-cluster needs --redis-cluster-url or AUTHBENCH_REDIS_CLUSTER_URL (start one with scripts/services.sh up)")
                })?;
                Backend::Redis(Box::pin(redis::RedisStore::connect(url, redis::Topology::Cluster, settings)).await?)
            }
        };
        Ok(Store { backend, kind, metrics, deadlines })
    }

    /// Which backend this is.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// A new opaque token for a login of `user_id`: in a Redis Cluster it starts with the user's
    /// slot tag (so the token finds its session's slot), elsewhere it is all random.
    pub fn issue_token(&self, user_id: u64) -> OpaqueToken {
        match self.user_tag(user_id) {
            Some(tag) => opaque::generate_tagged(tag),
            None => opaque::generate(),
        }
    }

    /// The token a rotation of `presented` hands out: on the presented token's slot in a cluster.
    pub fn rotated_token(&self, presented: &str) -> OpaqueToken {
        if !self.is_tagged() {
            return opaque::generate();
        }
        opaque::generate_tagged(opaque::hash_tagged(presented).tag())
    }

    /// What the store keys a presented token by (tag plus hash in a cluster, SHA-256 elsewhere).
    pub fn hash_token(&self, text: &str) -> TokenHash {
        if self.is_tagged() {
            opaque::hash_tagged(text)
        } else {
            opaque::hash_text(text)
        }
    }

    /// The hash of a token nobody holds, for a bulk seed of `user_id`'s records.
    pub fn seed_hash(&self, user_id: u64) -> TokenHash {
        let mut raw: [u8; 32] = opaque::random_bytes();
        if let Some(tag) = self.user_tag(user_id) {
            raw[..opaque::TAG_BYTES].copy_from_slice(&tag.0);
        }
        TokenHash(raw)
    }

    fn user_tag(&self, user_id: u64) -> Option<opaque::SlotTag> {
        match &self.backend {
            Backend::Redis(s) => s.user_tag(user_id),
            Backend::Memory(_) | Backend::Postgres(_) => None,
        }
    }

    fn is_tagged(&self) -> bool {
        matches!(&self.backend, Backend::Redis(s) if s.is_tagged())
    }

    /// Readiness check for /healthz.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, "ping", s => s.ping())
    }

    /// Stores a new session under its token hash. `deadline` (Unix seconds) is its absolute end:
    /// no rotation renews it past that (login time plus the absolute lifetime).
    pub async fn put_session(&self, hash: &TokenHash, rec: &SessionRecord, deadline: u64) -> Result<(), StoreError> {
        dispatch!(self, "session_put", s => s.put_session(hash, rec, deadline))
    }

    /// Session id rotation as one atomic operation: if `old` is a live session, it moves to `new`
    /// with a lifetime to `new_expires_at` capped at its deadline, and `old` stops working. Against
    /// a concurrent revoke-all, logout or role change the rotation is all or nothing: either it
    /// lands first and they reach the moved session, or it finds nothing to rotate. Returns the
    /// moved session, or None when `old` was not live.
    pub async fn rotate_session(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        dispatch!(self, "session_rotate", s => s.rotate_session(old, new, now, new_expires_at))
    }

    /// The per-request lookup: one operation returning user, current role and expiry.
    pub async fn get_session(&self, hash: &TokenHash, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        dispatch!(self, "session_get", s => s.get_session(hash, now))
    }

    /// Ends one session (logout). The token a rotation just replaced still names its session here,
    /// so a logout that loses the race to a refresh of the same token ends the rotated session.
    pub async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        dispatch!(self, "session_delete", s => s.delete_session(hash))
    }

    /// Ends every session of a user; returns how many there were.
    pub async fn revoke_user_sessions(&self, user_id: u64) -> Result<u64, StoreError> {
        dispatch!(self, "session_revoke_user", s => s.revoke_user_sessions(user_id))
    }

    /// Rewrites the role in every live session of a user so the next request sees it.
    pub async fn set_session_role(&self, user_id: u64, role: Role) -> Result<(), StoreError> {
        dispatch!(self, "session_set_role", s => s.set_session_role(user_id, role))
    }

    /// Stores the first refresh token of a new family; `deadline` (Unix seconds) is the family's
    /// absolute end, which no rotated token outlives.
    pub async fn put_refresh(
        &self,
        hash: &TokenHash,
        family: FamilyId,
        user_id: u64,
        expires_at: u64,
        deadline: u64,
    ) -> Result<(), StoreError> {
        dispatch!(self, "refresh_put", s => s.put_refresh(hash, family, user_id, expires_at, deadline))
    }

    /// Atomically spends `old` and makes `new` its family's live token, until `new_expires_at` capped
    /// at the family's deadline; of concurrent callers exactly one wins. A revocation of the family
    /// (logout, revoke-all, reuse detection) racing it wins too: the rotated token dies with it.
    pub async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        dispatch!(self, "refresh_rotate", s => s.rotate_refresh(old, new, now, new_expires_at))
    }

    /// Revokes the family a refresh token belongs to (logout); returns false if it was unknown.
    pub async fn revoke_refresh_family(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        dispatch!(self, "refresh_revoke_family", s => s.revoke_refresh_family(hash))
    }

    /// Revokes every refresh-token family of a user; returns how many there were.
    pub async fn revoke_user_refresh(&self, user_id: u64) -> Result<u64, StoreError> {
        dispatch!(self, "refresh_revoke_user", s => s.revoke_user_refresh(user_id))
    }

    /// Denies one token id until it would have expired anyway.
    /// Returns false when the token was already denied: of concurrent callers exactly one gets true.
    pub async fn deny_token(&self, jti: &str, expires_at: u64) -> Result<bool, StoreError> {
        dispatch!(self, "denylist_put", s => s.deny_token(jti, expires_at))
    }

    /// Denies every token of a user issued at or before `revoked_at`.
    pub async fn deny_user(&self, user_id: u64, revoked_at: u64) -> Result<(), StoreError> {
        dispatch!(self, "denylist_put", s => s.deny_user(user_id, revoked_at))
    }

    /// The per-request denylist check: one operation covering the token and its user.
    pub async fn is_denied(&self, jti: &str, user_id: u64, iat: u64) -> Result<bool, StoreError> {
        dispatch!(self, "denylist_get", s => s.is_denied(jti, user_id, iat))
    }

    /// Stores a batch of sessions in one round trip (PostgreSQL: one INSERT … SELECT FROM unnest;
    /// Redis: one script), so a deployment-sized keyspace is seeded in seconds, not per login.
    pub async fn seed_sessions(&self, batch: &[SeededSession]) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = match &self.backend {
            Backend::Memory(s) => s.seed_sessions(batch).await,
            Backend::Postgres(s) => Box::pin(seed_bounded(s.seed_sessions(batch))).await,
            Backend::Redis(s) => Box::pin(seed_bounded(s.seed_sessions(batch))).await,
        };
        self.metrics.store_op("session_seed", start.elapsed());
        result
    }

    /// Stores a batch of refresh-token families in one round trip, as [`Store::seed_sessions`] does sessions.
    pub async fn seed_families(&self, batch: &[SeededFamily]) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = match &self.backend {
            Backend::Memory(s) => s.seed_families(batch).await,
            Backend::Postgres(s) => Box::pin(seed_bounded(s.seed_families(batch))).await,
            Backend::Redis(s) => Box::pin(seed_bounded(s.seed_families(batch))).await,
        };
        self.metrics.store_op("refresh_seed", start.elapsed());
        result
    }

    /// After a bulk seed, brings the store to the steady state a deployment's is in, so the first
    /// measured case does not meet the store's own catch-up on a million fresh records (PostgreSQL:
    /// autovacuum setting hint bits and the visibility map, analyze). Redis and memory have none.
    pub async fn settle(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Postgres(s) => seed_bounded(s.settle()).await,
            Backend::Memory(_) | Backend::Redis(_) => Ok(()),
        }
    }

    /// Removes expired records (and the index entries of the memory store) where the backend does not
    /// expire them itself (Redis does, and prunes its indexes as it writes them).
    pub async fn sweep(&self, now: u64) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(s) => {
                s.sweep(now);
                Ok(())
            }
            Backend::Postgres(s) => bounded(&self.deadlines, s.sweep(now)).await,
            Backend::Redis(_) => Ok(()),
        }
    }
}
