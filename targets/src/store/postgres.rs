//! PostgreSQL store: a deadpool connection pool, prepared statements, schema created at start.

use anyhow::Context;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::{FamilyId, Rotation, SeededFamily, SeededSession, SessionRecord, StoreSettings};
use crate::error::StoreError;
use crate::metrics::Metrics;
use crate::token::opaque::TokenHash;
use crate::users::Role;

/// SQL text of every statement, built once with the namespace's schema; prepared per connection.
struct Sql {
    settle: String,
    get_session: String,
    get_session_sliding: String,
    put_session: String,
    rotate_session: String,
    delete_session: String,
    revoke_user_sessions: String,
    set_session_role: String,
    put_refresh: String,
    rotate_refresh: String,
    reuse_refresh: String,
    revoke_family_of: String,
    revoke_user_refresh: String,
    deny_token: String,
    deny_user: String,
    is_denied: String,
    sweep: String,
    seed_sessions: String,
    seed_families: String,
}

// Concurrency: every statement that changes a session or a family is one statement on one row, or
// finds its rows by a key that rotation does not change (user_id, family), so PostgreSQL's row locks
// order them. A DELETE or UPDATE that meets a row a concurrent rotation has locked waits for it and
// re-checks its condition on the rotated row (READ COMMITTED), so revoke-all, logout, role changes
// and reuse detection reach the rotated credential instead of missing it. Rotation updates the
// session or family row in place rather than inserting a copy: a copy committed after another
// statement's snapshot would be invisible to it and survive.
impl Sql {
    fn new(ns: &str) -> Sql {
        Sql {
            settle: format!("VACUUM (ANALYZE) {ns}.sessions, {ns}.refresh_tokens"),
            get_session: format!("SELECT user_id, username, role, expires_at FROM {ns}.sessions WHERE token_hash = $1 AND expires_at > $2"),
            get_session_sliding: format!(
                "UPDATE {ns}.sessions SET idle_deadline = $2 + $3 WHERE token_hash = $1 AND expires_at > $2 AND idle_deadline > $2 \
                 RETURNING user_id, username, role, expires_at"
            ),
            put_session: format!(
                "INSERT INTO {ns}.sessions (token_hash, user_id, username, role, expires_at, deadline, idle_deadline) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            rotate_session: format!(
                "UPDATE {ns}.sessions SET token_hash = $2, prev_hash = $1, expires_at = LEAST($4, deadline), idle_deadline = $5 \
                 WHERE token_hash = $1 AND expires_at > $3 AND idle_deadline > $3 \
                 RETURNING user_id, username, role, expires_at"
            ),
            // The hash a rotation just replaced still names the session: a logout that lost the race
            // to a refresh of the same token ends the rotated session.
            delete_session: format!("DELETE FROM {ns}.sessions WHERE token_hash = $1 OR prev_hash = $1"),
            revoke_user_sessions: format!("DELETE FROM {ns}.sessions WHERE user_id = $1"),
            set_session_role: format!("UPDATE {ns}.sessions SET role = $2 WHERE user_id = $1"),
            put_refresh: format!(
                "INSERT INTO {ns}.refresh_tokens (token_hash, family, user_id, expires_at, deadline) \
                 VALUES ($1, $2, $3, LEAST($4::bigint, $5::bigint), $5)"
            ),
            // One row per family holds its live token; the spent one is remembered (as long as its
            // successor lives) for reuse detection.
            rotate_refresh: format!(
                "WITH cur AS (UPDATE {ns}.refresh_tokens SET token_hash = $2, expires_at = LEAST($4, deadline) \
                   WHERE token_hash = $1 AND expires_at > $3 RETURNING family, user_id, expires_at), \
                 spent AS (INSERT INTO {ns}.refresh_spent (token_hash, family, expires_at) \
                   SELECT $1, family, expires_at FROM cur) \
                 SELECT user_id, expires_at FROM cur"
            ),
            reuse_refresh: format!(
                "DELETE FROM {ns}.refresh_tokens WHERE family = \
                   (SELECT family FROM {ns}.refresh_spent WHERE token_hash = $1 AND expires_at > $2) \
                 RETURNING user_id"
            ),
            revoke_family_of: format!(
                "DELETE FROM {ns}.refresh_tokens WHERE family = \
                   (SELECT family FROM {ns}.refresh_tokens WHERE token_hash = $1 \
                    UNION ALL SELECT family FROM {ns}.refresh_spent WHERE token_hash = $1 LIMIT 1)"
            ),
            revoke_user_refresh: format!("DELETE FROM {ns}.refresh_tokens WHERE user_id = $1"),
            deny_token: format!("INSERT INTO {ns}.denied_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING"),
            deny_user: format!(
                "INSERT INTO {ns}.denied_users (user_id, revoked_at) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET revoked_at = GREATEST({ns}.denied_users.revoked_at, EXCLUDED.revoked_at)"
            ),
            is_denied: format!(
                "SELECT EXISTS (SELECT 1 FROM {ns}.denied_tokens WHERE jti = $1) \
                 OR EXISTS (SELECT 1 FROM {ns}.denied_users WHERE user_id = $2 AND revoked_at >= $3)"
            ),
            // Bulk seeding: one statement per batch, the rows passed as arrays.
            seed_sessions: format!(
                "INSERT INTO {ns}.sessions (token_hash, user_id, username, role, expires_at, deadline, idle_deadline) \
                 SELECT h, u, n, r, LEAST(e, d), d, $7 \
                 FROM unnest($1::bytea[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) AS t(h, u, n, r, e, d)"
            ),
            seed_families: format!(
                "INSERT INTO {ns}.refresh_tokens (token_hash, family, user_id, expires_at, deadline) \
                 SELECT h, f, u, LEAST(e, d), d \
                 FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bigint[], $5::bigint[]) AS t(h, f, u, e, d)"
            ),
            sweep: format!(
                "DELETE FROM {ns}.sessions WHERE expires_at <= $1 OR idle_deadline <= $1; \
                 DELETE FROM {ns}.refresh_tokens WHERE expires_at <= $1; \
                 DELETE FROM {ns}.refresh_spent s WHERE s.expires_at <= $1 \
                   OR NOT EXISTS (SELECT 1 FROM {ns}.refresh_tokens t WHERE t.family = s.family); \
                 DELETE FROM {ns}.denied_tokens WHERE expires_at <= $1"
            ),
        }
    }
}

fn schema(ns: &str) -> String {
    // The advisory lock serialises targets that start together against one server.
    format!(
        "BEGIN;
         SELECT pg_advisory_xact_lock(4242001);
         CREATE SCHEMA IF NOT EXISTS {ns};
         CREATE TABLE IF NOT EXISTS {ns}.sessions (
             token_hash bytea PRIMARY KEY, prev_hash bytea, user_id bigint NOT NULL, username text NOT NULL,
             role text NOT NULL, expires_at bigint NOT NULL, deadline bigint NOT NULL, idle_deadline bigint NOT NULL);
         CREATE INDEX IF NOT EXISTS sessions_user_id ON {ns}.sessions (user_id);
         CREATE INDEX IF NOT EXISTS sessions_prev_hash ON {ns}.sessions (prev_hash) WHERE prev_hash IS NOT NULL;
         CREATE TABLE IF NOT EXISTS {ns}.refresh_tokens (
             token_hash bytea PRIMARY KEY, family bytea NOT NULL UNIQUE, user_id bigint NOT NULL,
             expires_at bigint NOT NULL, deadline bigint NOT NULL);
         CREATE INDEX IF NOT EXISTS refresh_tokens_user_id ON {ns}.refresh_tokens (user_id);
         CREATE TABLE IF NOT EXISTS {ns}.refresh_spent (
             token_hash bytea PRIMARY KEY, family bytea NOT NULL, expires_at bigint NOT NULL);
         CREATE TABLE IF NOT EXISTS {ns}.denied_tokens (jti text PRIMARY KEY, expires_at bigint NOT NULL);
         CREATE TABLE IF NOT EXISTS {ns}.denied_users (user_id bigint PRIMARY KEY, revoked_at bigint NOT NULL);
         COMMIT;"
    )
}

/// Sessions, refresh tokens and denylist in PostgreSQL tables.
pub struct PgStore {
    pool: Pool,
    sql: Sql,
    idle_s: i64,
    metrics: Arc<Metrics>,
}

/// A connection checked out of the pool; the time until it goes back is counted as the pool's
/// busy time (a connection serves one query at a time, so this is what caps the rate).
struct Held<'a> {
    client: Object,
    since: Instant,
    metrics: &'a Metrics,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.metrics.pool_held(self.since.elapsed());
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("PostgreSQL: {e}"))
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) if !db.code().code().starts_with("57") && !db.code().code().starts_with("08") => {
            StoreError::Corrupt(format!("PostgreSQL: {db}"))
        }
        _ => unavailable(e),
    }
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn uint(row: &Row, idx: usize) -> Result<u64, StoreError> {
    let v: i64 = row.try_get(idx).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative value {v} in column {idx}")))
}

fn session_from(row: &Row) -> Result<SessionRecord, StoreError> {
    let role: &str = row.try_get(2).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(SessionRecord {
        user_id: uint(row, 0)?,
        username: row.try_get(1).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role:?}")))?,
        expires_at: uint(row, 3)?,
    })
}

impl PgStore {
    /// Connects, creates the schema if needed and keeps a pool of `pool_size` connections.
    pub async fn connect(url: &str, settings: StoreSettings, metrics: Arc<Metrics>) -> anyhow::Result<PgStore> {
        let mut cfg: tokio_postgres::Config =
            url.parse().with_context(|| format!("--postgres-url {url:?} is not a PostgreSQL URL"))?;
        cfg.connect_timeout(Duration::from_millis(700));
        cfg.application_name("authbench-target");
        let manager = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        // Waiting for a free connection (and recycling one) is bounded by the store layer's deadline
        // on the whole operation; deadpool's own wait and recycle timeouts would add two runtime
        // timers to every lookup, whose shared wheel lock cost the lookup more than its own work.
        // Opening a connection is rare and keeps its own bound.
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_millis(700)))
            .build()?;
        let client = pool.get().await.map_err(|e| {
            anyhow::anyhow!(
                "PostgreSQL not reachable at {url}: {e}: start it with scripts/services.sh up or pass --postgres-url"
            )
        })?;
        client
            .batch_execute(&schema(&settings.namespace))
            .await
            .context("creating the authbench schema in PostgreSQL failed")?;
        let idle_s = int(settings.session_idle.as_secs());
        Ok(PgStore { pool, sql: Sql::new(&settings.namespace), idle_s, metrics })
    }

    /// A connection from the pool, timed until it is dropped.
    async fn checkout(&self) -> Result<Held<'_>, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        Ok(Held { client, since: Instant::now(), metrics: &self.metrics })
    }

    /// Every query here reads at most one row (a primary key, or one aggregate): no Vec per call.
    async fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, StoreError> {
        let held = self.checkout().await?;
        let stmt = held.client.prepare_cached(sql).await.map_err(pg_err)?;
        held.client.query_opt(&stmt, params).await.map_err(pg_err)
    }

    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let held = self.checkout().await?;
        let stmt = held.client.prepare_cached(sql).await.map_err(pg_err)?;
        held.client.execute(&stmt, params).await.map_err(pg_err)
    }

    /// Deletes expired rows so tables do not grow without bound.
    pub async fn sweep(&self, now: u64) -> Result<(), StoreError> {
        let held = self.checkout().await?;
        let sql = self.sql.sweep.replace("$1", &int(now).to_string());
        held.client.batch_execute(&sql).await.map_err(pg_err)
    }

    /// VACUUM (ANALYZE) of the seeded tables: sets the visibility map and hint bits and updates the
    /// statistics, as a deployment's long-lived tables have them. Then a CHECKPOINT, so the
    /// checkpointer does not write out the seed during the first case; it needs superuser or
    /// pg_checkpoint, which a shared server may not grant: without it the checkpoint is left to
    /// the server.
    pub(super) async fn settle(&self) -> Result<(), StoreError> {
        let held = self.checkout().await?;
        held.client.batch_execute(&self.sql.settle).await.map_err(pg_err)?;
        match held.client.batch_execute("CHECKPOINT").await {
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => Ok(()),
            r => r.map_err(pg_err),
        }
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.query_opt("SELECT 1", &[]).await.map(|_| ())
    }

    fn idle_deadline(&self, now: u64) -> i64 {
        if self.idle_s == 0 {
            i64::MAX
        } else {
            int(now).saturating_add(self.idle_s)
        }
    }

    pub(super) async fn put_session(
        &self,
        hash: &TokenHash,
        rec: &SessionRecord,
        deadline: u64,
    ) -> Result<(), StoreError> {
        let idle = self.idle_deadline(crate::token::unix_now());
        let (exp, deadline) = (int(rec.expires_at.min(deadline)), int(deadline));
        let p: [&(dyn ToSql + Sync); 7] =
            [&hash.0.as_slice(), &int(rec.user_id), &rec.username, &rec.role.as_str(), &exp, &deadline, &idle];
        self.execute(&self.sql.put_session, &p).await.map(|_| ())
    }

    pub(super) async fn seed_sessions(&self, batch: &[SeededSession]) -> Result<(), StoreError> {
        let idle = self.idle_deadline(crate::token::unix_now());
        let hashes: Vec<&[u8]> = batch.iter().map(|s| s.hash.0.as_slice()).collect();
        let users: Vec<i64> = batch.iter().map(|s| int(s.rec.user_id)).collect();
        let names: Vec<&str> = batch.iter().map(|s| s.rec.username.as_str()).collect();
        let roles: Vec<&str> = batch.iter().map(|s| s.rec.role.as_str()).collect();
        let exps: Vec<i64> = batch.iter().map(|s| int(s.rec.expires_at)).collect();
        let deadlines: Vec<i64> = batch.iter().map(|s| int(s.deadline)).collect();
        let p: [&(dyn ToSql + Sync); 7] = [&hashes, &users, &names, &roles, &exps, &deadlines, &idle];
        self.execute(&self.sql.seed_sessions, &p).await.map(|_| ())
    }

    pub(super) async fn seed_families(&self, batch: &[SeededFamily]) -> Result<(), StoreError> {
        let hashes: Vec<&[u8]> = batch.iter().map(|f| f.hash.0.as_slice()).collect();
        let families: Vec<&[u8]> = batch.iter().map(|f| f.family.0.as_slice()).collect();
        let users: Vec<i64> = batch.iter().map(|f| int(f.user_id)).collect();
        let exps: Vec<i64> = batch.iter().map(|f| int(f.expires_at)).collect();
        let deadlines: Vec<i64> = batch.iter().map(|f| int(f.deadline)).collect();
        let p: [&(dyn ToSql + Sync); 5] = [&hashes, &families, &users, &exps, &deadlines];
        self.execute(&self.sql.seed_families, &p).await.map(|_| ())
    }

    pub(super) async fn get_session(&self, hash: &TokenHash, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let now = int(now);
        let row = if self.idle_s == 0 {
            self.query_opt(&self.sql.get_session, &[&hash.0.as_slice(), &now]).await?
        } else {
            self.query_opt(&self.sql.get_session_sliding, &[&hash.0.as_slice(), &now, &self.idle_s]).await?
        };
        row.as_ref().map(session_from).transpose()
    }

    pub(super) async fn rotate_session(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let idle = self.idle_deadline(now);
        let p: [&(dyn ToSql + Sync); 5] =
            [&old.0.as_slice(), &new.0.as_slice(), &int(now), &int(new_expires_at), &idle];
        let row = self.query_opt(&self.sql.rotate_session, &p).await?;
        row.as_ref().map(session_from).transpose()
    }

    pub(super) async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.execute(&self.sql.delete_session, &[&hash.0.as_slice()]).await.map(|_| ())
    }

    pub(super) async fn revoke_user_sessions(&self, user_id: u64) -> Result<u64, StoreError> {
        self.execute(&self.sql.revoke_user_sessions, &[&int(user_id)]).await
    }

    pub(super) async fn set_session_role(&self, user_id: u64, role: Role) -> Result<(), StoreError> {
        self.execute(&self.sql.set_session_role, &[&int(user_id), &role.as_str()]).await.map(|_| ())
    }

    pub(super) async fn put_refresh(
        &self,
        hash: &TokenHash,
        family: FamilyId,
        user_id: u64,
        expires_at: u64,
        deadline: u64,
    ) -> Result<(), StoreError> {
        let p: [&(dyn ToSql + Sync); 5] =
            [&hash.0.as_slice(), &family.0.as_slice(), &int(user_id), &int(expires_at), &int(deadline)];
        self.execute(&self.sql.put_refresh, &p).await.map(|_| ())
    }

    pub(super) async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        let p: [&(dyn ToSql + Sync); 4] = [&old.0.as_slice(), &new.0.as_slice(), &int(now), &int(new_expires_at)];
        if let Some(row) = self.query_opt(&self.sql.rotate_refresh, &p).await? {
            return Ok(Rotation::Rotated { user_id: uint(&row, 0)?, expires_at: uint(&row, 1)? });
        }
        // Not live: a spent token of a family still alive is a replay, and takes the family down
        // (waiting for, and then including, a rotation of it in flight).
        match self.query_opt(&self.sql.reuse_refresh, &[&old.0.as_slice(), &int(now)]).await? {
            Some(row) => Ok(Rotation::Reused { user_id: uint(&row, 0)? }),
            None => Ok(Rotation::Invalid),
        }
    }

    pub(super) async fn revoke_refresh_family(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(self.execute(&self.sql.revoke_family_of, &[&hash.0.as_slice()]).await? > 0)
    }

    pub(super) async fn revoke_user_refresh(&self, user_id: u64) -> Result<u64, StoreError> {
        self.execute(&self.sql.revoke_user_refresh, &[&int(user_id)]).await
    }

    pub(super) async fn deny_token(&self, jti: &str, expires_at: u64) -> Result<bool, StoreError> {
        self.execute(&self.sql.deny_token, &[&jti, &int(expires_at)]).await.map(|inserted| inserted == 1)
    }

    pub(super) async fn deny_user(&self, user_id: u64, revoked_at: u64) -> Result<(), StoreError> {
        self.execute(&self.sql.deny_user, &[&int(user_id), &int(revoked_at)]).await.map(|_| ())
    }

    pub(super) async fn is_denied(&self, jti: &str, user_id: u64, iat: u64) -> Result<bool, StoreError> {
        let row = self.query_opt(&self.sql.is_denied, &[&jti, &int(user_id), &int(iat)]).await?;
        let row = row.ok_or_else(|| StoreError::Corrupt("denylist check returned no row".into()))?;
        row.try_get(0).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}
