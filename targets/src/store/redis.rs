//! Redis store: a fred connection pool; TTLs set atomically with values, per-user indexes for revoke-all.
//!
//! Keys, under `{namespace}:`: `s:{hash}` session "uid role exp username"; `su:{uid}` set of a
//! user's session hashes; `r:{hash}` refresh token "family uid a|u" (active or spent); `rf:{family}`
//! set of a family's token hashes; `ru:{uid}` set of a user's families; `dj:{jti}` and `du:{uid}`
//! denylist entries. Multi-key updates run as Lua scripts so each is atomic and one round trip.

use anyhow::Context;
use std::time::Duration;

use fred::prelude::*;
use fred::types::{MultipleKeys, MultipleValues};

use super::{FamilyId, Rotation, SessionRecord, StoreSettings};
use crate::error::StoreError;
use crate::token::opaque::TokenHash;
use crate::users::Role;

const PUT_SESSION: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return 1";

const GET_SESSION_SLIDING: &str = r"
local v = redis.call('GET', KEYS[1])
if v then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return v";

const REVOKE_USER_SESSIONS: &str = r"
local n = 0
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do n = n + redis.call('DEL', ARGV[1] .. h) end
redis.call('DEL', KEYS[1])
return n";

const SET_SESSION_ROLE: &str = r"
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. h
  local v = redis.call('GET', k)
  if v then
    local uid, _, rest = string.match(v, '^(%S+) (%S+) (.*)$')
    redis.call('SET', k, uid .. ' ' .. ARGV[2] .. ' ' .. rest, 'KEEPTTL')
  else
    redis.call('SREM', KEYS[1], h)
  end
end
return 1";

const PUT_REFRESH: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
redis.call('SADD', KEYS[3], ARGV[4])
if redis.call('TTL', KEYS[3]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[3], ARGV[2]) end
return 1";

const ROTATE_REFRESH: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return {0, '0'} end
local fam, uid, st = string.match(v, '^(%S+) (%S+) (%S+)$')
local fk = ARGV[3] .. 'rf:' .. fam
if st ~= 'a' then
  for _, h in ipairs(redis.call('SMEMBERS', fk)) do redis.call('DEL', ARGV[3] .. 'r:' .. h) end
  redis.call('DEL', fk)
  return {2, uid}
end
redis.call('SET', KEYS[1], fam .. ' ' .. uid .. ' u', 'KEEPTTL')
redis.call('SET', KEYS[2], fam .. ' ' .. uid .. ' a', 'EX', ARGV[1])
redis.call('SADD', fk, ARGV[2])
if redis.call('TTL', fk) < tonumber(ARGV[1]) then redis.call('EXPIRE', fk, ARGV[1]) end
local uk = ARGV[3] .. 'ru:' .. uid
if redis.call('TTL', uk) < tonumber(ARGV[1]) then redis.call('EXPIRE', uk, ARGV[1]) end
return {1, uid}";

const REVOKE_FAMILY_OF: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local fk = ARGV[1] .. 'rf:' .. string.match(v, '^(%S+) ')
for _, h in ipairs(redis.call('SMEMBERS', fk)) do redis.call('DEL', ARGV[1] .. 'r:' .. h) end
redis.call('DEL', fk)
return 1";

const REVOKE_USER_REFRESH: &str = r"
local n = 0
for _, fam in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local fk = ARGV[1] .. 'rf:' .. fam
  for _, h in ipairs(redis.call('SMEMBERS', fk)) do n = n + redis.call('DEL', ARGV[1] .. 'r:' .. h) end
  redis.call('DEL', fk)
end
redis.call('DEL', KEYS[1])
return n";

/// A Lua script and the SHA1 the server knows it by.
struct Script {
    lua: &'static str,
    sha: String,
}

struct Scripts {
    put_session: Script,
    get_session_sliding: Script,
    revoke_user_sessions: Script,
    set_session_role: Script,
    put_refresh: Script,
    rotate_refresh: Script,
    revoke_family_of: Script,
    revoke_user_refresh: Script,
}

/// Sessions, refresh tokens and denylist in Redis.
pub struct RedisStore {
    pool: Pool,
    prefix: String,
    scripts: Scripts,
    idle_s: u64,
    max_token_ttl_s: u64,
}

fn redis_err(e: Error) -> StoreError {
    match e.kind() {
        ErrorKind::Parse | ErrorKind::Protocol => StoreError::Corrupt(format!("Redis: {e}")),
        _ => StoreError::Unavailable(format!("Redis: {e}")),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("Redis record is not a valid {what}"))
}

fn parse_session(v: &str) -> Result<SessionRecord, StoreError> {
    let mut it = v.splitn(4, ' ');
    let (Some(uid), Some(role), Some(exp), Some(name)) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(corrupt("session"));
    };
    Ok(SessionRecord {
        user_id: uid.parse().map_err(|_| corrupt("session"))?,
        role: Role::parse(role).ok_or_else(|| corrupt("session"))?,
        expires_at: exp.parse().map_err(|_| corrupt("session"))?,
        username: name.to_owned(),
    })
}

impl RedisStore {
    /// Connects a pool of `pool_size` connections that reconnect on their own, and loads the scripts.
    pub async fn connect(url: &str, settings: StoreSettings) -> anyhow::Result<RedisStore> {
        let config = Config::from_url(url).with_context(|| format!("--redis-url {url:?} is not a Redis URL"))?;
        let mut builder = Builder::from_config(config);
        builder
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_millis(500);
                c.internal_command_timeout = Duration::from_millis(500);
                c.tcp = TcpConfig { nodelay: Some(true), ..Default::default() };
            })
            .with_performance_config(|p| p.default_command_timeout = Duration::from_millis(700))
            .set_policy(ReconnectPolicy::new_constant(0, 100));
        let pool = builder.build_pool(settings.pool_size)?;
        pool.init().await.map_err(|e| {
            anyhow::anyhow!(
                "Redis not reachable at {url}: {e}: start it with scripts/services.sh up or pass --redis-url"
            )
        })?;
        let load = |lua: &'static str| {
            let pool = pool.clone();
            async move {
                let sha: String = pool.script_load(lua).await.context("loading a Lua script into Redis failed")?;
                anyhow::Ok(Script { lua, sha })
            }
        };
        let scripts = Scripts {
            put_session: load(PUT_SESSION).await?,
            get_session_sliding: load(GET_SESSION_SLIDING).await?,
            revoke_user_sessions: load(REVOKE_USER_SESSIONS).await?,
            set_session_role: load(SET_SESSION_ROLE).await?,
            put_refresh: load(PUT_REFRESH).await?,
            rotate_refresh: load(ROTATE_REFRESH).await?,
            revoke_family_of: load(REVOKE_FAMILY_OF).await?,
            revoke_user_refresh: load(REVOKE_USER_REFRESH).await?,
        };
        Ok(RedisStore {
            pool,
            prefix: format!("{}:", settings.namespace),
            scripts,
            idle_s: settings.session_idle.as_secs(),
            max_token_ttl_s: settings.max_token_ttl.as_secs(),
        })
    }

    /// `{namespace}:{kind}:{id}` in one allocation, ids written straight in (no temporary strings).
    fn key(&self, kind: &str, id: impl std::fmt::Display) -> String {
        use std::fmt::Write as _;
        let mut k = String::with_capacity(self.prefix.len() + kind.len() + 33);
        k.push_str(&self.prefix);
        k.push_str(kind);
        k.push(':');
        let _ = write!(k, "{id}");
        k
    }

    /// Key of a token hash, built in one allocation (the session lookup is on every request's path).
    fn hash_key(&self, kind: &str, hash: &TokenHash) -> String {
        let mut k = String::with_capacity(self.prefix.len() + kind.len() + 65);
        k.push_str(&self.prefix);
        k.push_str(kind);
        k.push(':');
        crate::token::opaque::push_hex(&mut k, &hash.0);
        k
    }

    /// Runs a script by SHA, reloading it once if the server forgot it (e.g. after a restart).
    async fn run<R: FromValue>(&self, script: &Script, keys: Vec<String>, args: Vec<String>) -> Result<R, StoreError> {
        // Converted once: fred's keys and values share their bytes, so the copy kept for a retry is
        // reference counts, not the strings again.
        let keys = MultipleKeys::from(keys);
        let args = MultipleValues::try_from(args).map_err(redis_err)?;
        match self.pool.evalsha(script.sha.as_str(), keys.clone(), args.clone()).await {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                let _: String = self.pool.script_load(script.lua).await.map_err(redis_err)?;
                self.pool.evalsha(script.sha.as_str(), keys, args).await.map_err(redis_err)
            }
            r => r.map_err(redis_err),
        }
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.pool.ping::<String>(None).await.map(|_| ()).map_err(redis_err)
    }

    pub(super) async fn put_session(&self, hash: &TokenHash, rec: &SessionRecord) -> Result<(), StoreError> {
        let hex = hash.to_hex();
        let ttl = rec.expires_at.saturating_sub(crate::token::unix_now()).max(1);
        let key_ttl = if self.idle_s == 0 { ttl } else { ttl.min(self.idle_s) };
        let value = format!("{} {} {} {}", rec.user_id, rec.role.as_str(), rec.expires_at, rec.username);
        let keys = vec![self.key("s", &hex), self.key("su", rec.user_id)];
        self.run::<i64>(&self.scripts.put_session, keys, vec![value, key_ttl.to_string(), hex, ttl.to_string()])
            .await
            .map(|_| ())
    }

    pub(super) async fn get_session(&self, hash: &TokenHash, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let key = self.hash_key("s", hash);
        let v: Option<String> = if self.idle_s == 0 {
            self.pool.get(key).await.map_err(redis_err)?
        } else {
            self.run(&self.scripts.get_session_sliding, vec![key], vec![self.idle_s.to_string()]).await?
        };
        match v {
            Some(v) => {
                let rec = parse_session(&v)?;
                Ok((rec.expires_at > now).then_some(rec))
            }
            None => Ok(None),
        }
    }

    pub(super) async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.pool.del::<i64, _>(self.hash_key("s", hash)).await.map(|_| ()).map_err(redis_err)
    }

    pub(super) async fn revoke_user_sessions(&self, user_id: u64) -> Result<u64, StoreError> {
        let keys = vec![self.key("su", user_id)];
        self.run(&self.scripts.revoke_user_sessions, keys, vec![self.key("s", "")]).await
    }

    pub(super) async fn set_session_role(&self, user_id: u64, role: Role) -> Result<(), StoreError> {
        let keys = vec![self.key("su", user_id)];
        let args = vec![self.key("s", ""), role.as_str().to_owned()];
        self.run::<i64>(&self.scripts.set_session_role, keys, args).await.map(|_| ())
    }

    pub(super) async fn put_refresh(
        &self,
        hash: &TokenHash,
        family: FamilyId,
        user_id: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let (hex, fam) = (hash.to_hex(), family.to_hex());
        let ttl = expires_at.saturating_sub(crate::token::unix_now()).max(1);
        let keys = vec![self.key("r", &hex), self.key("rf", &fam), self.key("ru", user_id)];
        let args = vec![format!("{fam} {user_id} a"), ttl.to_string(), hex, fam];
        self.run::<i64>(&self.scripts.put_refresh, keys, args).await.map(|_| ())
    }

    pub(super) async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        let new_hex = new.to_hex();
        let keys = vec![self.hash_key("r", old), self.key("r", &new_hex)];
        let ttl = new_expires_at.saturating_sub(now).max(1);
        let args = vec![ttl.to_string(), new_hex, self.prefix.clone()];
        let (outcome, uid): (i64, String) = self.run(&self.scripts.rotate_refresh, keys, args).await?;
        let user_id = || uid.parse::<u64>().map_err(|_| corrupt("refresh token"));
        Ok(match outcome {
            1 => Rotation::Rotated { user_id: user_id()? },
            2 => Rotation::Reused { user_id: user_id()? },
            _ => Rotation::Invalid,
        })
    }

    pub(super) async fn revoke_refresh_family(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let keys = vec![self.hash_key("r", hash)];
        Ok(self.run::<i64>(&self.scripts.revoke_family_of, keys, vec![self.prefix.clone()]).await? > 0)
    }

    pub(super) async fn revoke_user_refresh(&self, user_id: u64) -> Result<u64, StoreError> {
        let keys = vec![self.key("ru", user_id)];
        self.run(&self.scripts.revoke_user_refresh, keys, vec![self.prefix.clone()]).await
    }

    pub(super) async fn deny_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        let exp = Some(Expiration::EXAT(i64::try_from(expires_at).unwrap_or(i64::MAX)));
        self.pool.set::<(), _, _>(self.key("dj", jti), 1, exp, None, false).await.map_err(redis_err)
    }

    pub(super) async fn deny_user(&self, user_id: u64, revoked_at: u64) -> Result<(), StoreError> {
        let ttl = Some(Expiration::EX(i64::try_from(self.max_token_ttl_s.max(1)).unwrap_or(i64::MAX)));
        let key = self.key("du", user_id);
        self.pool.set::<(), _, _>(key, revoked_at.to_string(), ttl, None, false).await.map_err(redis_err)
    }

    pub(super) async fn is_denied(&self, jti: &str, user_id: u64, iat: u64) -> Result<bool, StoreError> {
        let keys = vec![self.key("dj", jti), self.key("du", user_id)];
        let (token, user): (Option<String>, Option<String>) = self.pool.mget(keys).await.map_err(redis_err)?;
        let user_revoked_at = user.map(|v| v.parse::<u64>().map_err(|_| corrupt("denylist entry"))).transpose()?;
        Ok(token.is_some() || user_revoked_at.is_some_and(|at| iat <= at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_values_round_trip_and_reject_garbage() {
        let rec = parse_session("7 admin 1800000000 user7").unwrap();
        assert_eq!(
            (rec.user_id, rec.role, rec.expires_at, rec.username.as_str()),
            (7, Role::Admin, 1_800_000_000, "user7")
        );
        for bad in ["", "7", "7 root 1 u", "x user 1 u", "7 user -1 u"] {
            assert!(parse_session(bad).is_err(), "{bad}");
        }
    }
}
