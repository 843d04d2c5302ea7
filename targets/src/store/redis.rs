//! Redis store: one multiplexed fred connection (every command pipelined on it); TTLs set atomically with values, per-user indexes for revoke-all.
//!
//! Keys, under `{namespace}:`:
//! - `s:{hash}` session "uid role exp deadline prev username" (`prev`: the hash it was known by
//!   before its last rotation, or `-`); `sm:{hash}` the hash a rotated-away session moved to, so a
//!   logout presenting it still ends the session; `ss:{uid}` sorted set of a user's session hashes
//!   scored by expiry.
//! - `r:{hash}` refresh token (live or spent) → its family; `f:{family}` the family "uid live-hash
//!   deadline", which only the live token matches; `fu:{uid}` sorted set of a user's families scored
//!   by expiry.
//! - `dj:{jti}` and `du:{uid}` denylist entries.
//!
//! # Redis Cluster (`--store redis-cluster`)
//! In a cluster every key one script touches must hash to one slot. The scripts touch, each for
//! one user: PUT_SESSION `s:{hash}` `ss:{uid}`; GET_SESSION_SLIDING `s:{hash}`; ROTATE_SESSION
//! `s:{old}` `s:{new}` `sm:{old}` `sm:{prev}` `ss:{uid}`; DELETE_SESSION `s:{hash}` `sm:{hash}`
//! `s:{moved}` `sm:{prev}` `ss:{uid}`; REVOKE_USER_SESSIONS and SET_SESSION_ROLE `ss:{uid}` and
//! every `s:` / `sm:` it names; PUT_REFRESH `r:{hash}` `f:{family}` `fu:{uid}`; ROTATE_REFRESH
//! `r:{old}` `r:{new}` `r:{live}` `f:{family}` `fu:{uid}`; REVOKE_FAMILY_OF `r:{hash}` `r:{live}`
//! `f:{family}` `fu:{uid}`; REVOKE_USER_REFRESH `fu:{uid}` and every `f:` / `r:` it names;
//! DENY_USER `du:{uid}`; the seed scripts what PUT_SESSION / PUT_REFRESH touch, per record.
//! Some are found from a token only (logout, rotation), some from a user id only (revoke-all,
//! role change), so a user's keys share one hash tag that both can name:
//! `{namespace}:{TAG}:{kind}:{id}` with TAG the hex of the user's [`SlotTag`], which is
//! HMAC-SHA-256(store key, user id) cut to 4 bytes. The store key is 256 random bits kept in the
//! cluster at `{namespace}:tag-key` (created by the first target, read by every other), so every
//! replica derives the same tag and a token's tag names no user to anyone without it. Operations
//! that derive a tag from a user id (login, seed, revoke-all, role change) re-read the key first
//! (one GET), so after a cluster lost its data and another target re-created the key, no target
//! stores a login where another's revoke-all would not look. Tokens
//! carry the tag in their first 4 bytes (then 224 random bits; same 43 characters as untagged
//! ones); a rotation keeps the presented token's tag. The stored hash of a tagged token is the tag
//! then 224 bits of its SHA-256 (`opaque::hash_tagged`). Scripts build their further keys from the
//! tagged prefix they are given, so they stay on the slot of their declared keys and keep their
//! atomicity. The denylist keys (`dj:`, `du:`) are single-key operations and stay untagged; the
//! per-request check reads its two keys with two concurrent GETs instead of one MGET. A script the
//! node has not cached runs by EVAL (which caches it), so no script has to be loaded on every node.
//!
//! Every write touching more than one key is one Lua script, so it is atomic against every other
//! (Redis runs one script at a time) and one round trip. Indexes hold only what can still be live:
//! entries are replaced on rotation, removed on logout and revoke, and expired ones are cut
//! (ZREMRANGEBYSCORE) whenever the index is written, so scripts that walk them walk live logins only.

use anyhow::Context;
use std::borrow::Cow;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use aws_lc_rs::hmac;
use fred::prelude::*;
use fred::types::{ClusterHash, CustomCommand, MultipleKeys, MultipleValues};

use super::{FamilyId, Rotation, SeededFamily, SeededSession, SessionRecord, StoreSettings};
use crate::error::StoreError;
use crate::token::opaque::{SlotTag, TokenHash, TAG_BYTES};
use crate::users::Role;

/// KEYS: s:{hash}, ss:{uid}. ARGV: value, key ttl, hash, expires_at, now, ttl.
const PUT_SESSION: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[6]) then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
return 1";

const GET_SESSION_SLIDING: &str = r"
local v = redis.call('GET', KEYS[1])
if v then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return v";

/// KEYS: s:{old}, s:{new}. ARGV: prefix, old hash, new hash, now, new expires_at, idle seconds (0: none).
const ROTATE_SESSION: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return false end
local uid, role, exp, dl, prev, name = string.match(v, '^(%S+) (%S+) (%S+) (%S+) (%S+) (.*)$')
if not uid then return redis.error_reply('session record is corrupt') end
local now = tonumber(ARGV[4])
if tonumber(exp) <= now then return false end
local nexp = math.min(tonumber(ARGV[5]), tonumber(dl))
local ttl = nexp - now
local kttl = ttl
local idle = tonumber(ARGV[6])
if idle > 0 and idle < kttl then kttl = idle end
local nv = uid .. ' ' .. role .. ' ' .. string.format('%d', nexp) .. ' ' .. dl .. ' ' .. ARGV[2] .. ' ' .. name
local p = ARGV[1]
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], nv, 'EX', kttl)
redis.call('SET', p .. 'sm:' .. ARGV[2], ARGV[3], 'EX', ttl)
if prev ~= '-' then redis.call('DEL', p .. 'sm:' .. prev) end
local uk = p .. 'ss:' .. uid
redis.call('ZREM', uk, ARGV[2])
redis.call('ZADD', uk, nexp, ARGV[3])
redis.call('ZREMRANGEBYSCORE', uk, '-inf', now)
if redis.call('TTL', uk) < ttl then redis.call('EXPIRE', uk, ttl) end
return nv";

/// KEYS: s:{hash}. ARGV: prefix, hash. A hash rotated away ends the session it moved to.
const DELETE_SESSION: &str = r"
local p = ARGV[1]
local key, hex = KEYS[1], ARGV[2]
local v = redis.call('GET', key)
if not v then
  local moved = redis.call('GET', p .. 'sm:' .. hex)
  if not moved then return 0 end
  redis.call('DEL', p .. 'sm:' .. hex)
  key, hex = p .. 's:' .. moved, moved
  v = redis.call('GET', key)
  if not v then return 0 end
end
local uid, prev = string.match(v, '^(%S+) %S+ %S+ %S+ (%S+)')
redis.call('DEL', key)
if prev and prev ~= '-' then redis.call('DEL', p .. 'sm:' .. prev) end
if uid then redis.call('ZREM', p .. 'ss:' .. uid, hex) end
return 1";

/// KEYS: ss:{uid}. ARGV: prefix.
const REVOKE_USER_SESSIONS: &str = r"
local n = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[1] .. 's:' .. h
  local v = redis.call('GET', k)
  if v then
    local prev = string.match(v, '^%S+ %S+ %S+ %S+ (%S+)')
    if prev and prev ~= '-' then redis.call('DEL', ARGV[1] .. 'sm:' .. prev) end
    n = n + redis.call('DEL', k)
  end
end
redis.call('DEL', KEYS[1])
return n";

/// KEYS: ss:{uid}. ARGV: prefix, role.
const SET_SESSION_ROLE: &str = r"
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[1] .. 's:' .. h
  local v = redis.call('GET', k)
  if v then
    local uid, _, rest = string.match(v, '^(%S+) (%S+) (.*)$')
    redis.call('SET', k, uid .. ' ' .. ARGV[2] .. ' ' .. rest, 'KEEPTTL')
  else
    redis.call('ZREM', KEYS[1], h)
  end
end
return 1";

/// KEYS: r:{hash}, f:{family}, fu:{uid}. ARGV: family, ttl, family value, expires_at, now.
const PUT_REFRESH: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[5])
if redis.call('TTL', KEYS[3]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[3], ARGV[2]) end
return 1";

/// KEYS: r:{old}, r:{new}. ARGV: prefix, old hash, new hash, now, new expires_at.
/// Returns {1, uid, expires_at} rotated, {2, uid, 0} reused (family revoked), {0, '0', 0} invalid.
const ROTATE_REFRESH: &str = r"
local fam = redis.call('GET', KEYS[1])
if not fam then return {0, '0', 0} end
local p = ARGV[1]
local fk = p .. 'f:' .. fam
local f = redis.call('GET', fk)
if not f then return {0, '0', 0} end
local uid, cur, dl = string.match(f, '^(%S+) (%S+) (%S+)$')
if not uid then return redis.error_reply('refresh family record is corrupt') end
if cur ~= ARGV[2] then
  redis.call('DEL', fk, p .. 'r:' .. cur)
  redis.call('ZREM', p .. 'fu:' .. uid, fam)
  return {2, uid, 0}
end
local now = tonumber(ARGV[4])
local exp = math.min(tonumber(ARGV[5]), tonumber(dl))
if exp <= now then return {0, '0', 0} end
local ttl = exp - now
redis.call('SET', fk, uid .. ' ' .. ARGV[3] .. ' ' .. dl, 'EX', ttl)
redis.call('SET', KEYS[2], fam, 'EX', ttl)
redis.call('SET', KEYS[1], fam, 'EX', ttl)
local uk = p .. 'fu:' .. uid
redis.call('ZADD', uk, exp, fam)
redis.call('ZREMRANGEBYSCORE', uk, '-inf', now)
if redis.call('TTL', uk) < ttl then redis.call('EXPIRE', uk, ttl) end
return {1, uid, exp}";

/// KEYS: r:{hash}. ARGV: prefix.
const REVOKE_FAMILY_OF: &str = r"
local fam = redis.call('GET', KEYS[1])
if not fam then return 0 end
local fk = ARGV[1] .. 'f:' .. fam
local f = redis.call('GET', fk)
if not f then return 0 end
local uid, cur = string.match(f, '^(%S+) (%S+)')
redis.call('DEL', fk, ARGV[1] .. 'r:' .. cur)
redis.call('ZREM', ARGV[1] .. 'fu:' .. uid, fam)
return 1";

/// KEYS: fu:{uid}. ARGV: prefix.
const REVOKE_USER_REFRESH: &str = r"
local n = 0
for _, fam in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fk = ARGV[1] .. 'f:' .. fam
  local f = redis.call('GET', fk)
  if f then
    redis.call('DEL', ARGV[1] .. 'r:' .. string.match(f, '^%S+ (%S+)'))
    n = n + redis.call('DEL', fk)
  end
end
redis.call('DEL', KEYS[1])
return n";

// KEYS[1] user denial; ARGV revoked_at, ttl_s. Keeps the latest cut-off: revoke-alls that land out
// of order never move it back.
const DENY_USER: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1";

/// Bulk seed: what PUT_SESSION does, for a batch of sessions in one call. ARGV: prefix, now, then
/// per session: hash, uid, value, expires_at, key ttl.
const SEED_SESSIONS: &str = r"
local p, now = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV, 5 do
  local hash, uid, exp = ARGV[i], ARGV[i + 1], ARGV[i + 3]
  redis.call('SET', p .. 's:' .. hash, ARGV[i + 2], 'EX', ARGV[i + 4])
  local uk = p .. 'ss:' .. uid
  redis.call('ZADD', uk, exp, hash)
  local ttl = math.max(tonumber(exp) - now, 1)
  if redis.call('TTL', uk) < ttl then redis.call('EXPIRE', uk, ttl) end
end
return (#ARGV - 2) / 5";

/// Bulk seed: what PUT_REFRESH does, for a batch of families in one call. ARGV: prefix, now, then
/// per family: hash, family, uid, family value, expires_at.
const SEED_FAMILIES: &str = r"
local p, now = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV, 5 do
  local hash, fam, uid, exp = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 4]
  local ttl = math.max(tonumber(exp) - now, 1)
  redis.call('SET', p .. 'r:' .. hash, fam, 'EX', ttl)
  redis.call('SET', p .. 'f:' .. fam, ARGV[i + 3], 'EX', ttl)
  local uk = p .. 'fu:' .. uid
  redis.call('ZADD', uk, exp, fam)
  if redis.call('TTL', uk) < ttl then redis.call('EXPIRE', uk, ttl) end
end
return (#ARGV - 2) / 5";

/// A Lua script and the SHA1 the server knows it by.
struct Script {
    lua: &'static str,
    sha: String,
}

struct Scripts {
    put_session: Script,
    get_session_sliding: Script,
    rotate_session: Script,
    delete_session: Script,
    revoke_user_sessions: Script,
    set_session_role: Script,
    put_refresh: Script,
    rotate_refresh: Script,
    revoke_family_of: Script,
    revoke_user_refresh: Script,
    deny_user: Script,
    seed_sessions: Script,
    seed_families: Script,
}

/// Whether the server is one Redis or a Redis Cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One server: keys untagged, scripts may touch any key.
    Single,
    /// A Redis Cluster: a user's keys share a hash tag (see the module doc).
    Cluster,
}

/// Sessions, refresh tokens and denylist in Redis.
pub struct RedisStore {
    /// One connection, pipelined: measured against a pool of 8 it serves a third more lookups per
    /// second on the same CPU, since each write to the socket carries more commands. In a cluster,
    /// one such connection per primary.
    client: Client,
    /// `{namespace}:`, the start of every key.
    prefix: String,
    /// In a cluster, the key a user's [`SlotTag`] is derived with, as last read from the cluster
    /// (boxed: a key schedule is large); None on a single server.
    tag_key: Option<Box<RwLock<TagKey>>>,
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
    let mut it = v.splitn(6, ' ');
    let (Some(uid), Some(role), Some(exp), Some(_deadline), Some(_prev), Some(name)) =
        (it.next(), it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(corrupt("session"));
    };
    Ok(SessionRecord {
        user_id: uid.parse().map_err(|_| corrupt("session"))?,
        role: Role::parse(role).ok_or_else(|| corrupt("session"))?,
        expires_at: exp.parse().map_err(|_| corrupt("session"))?,
        username: name.to_owned(),
    })
}

/// A session's stored value: "uid role exp deadline - username" (`-`: never rotated).
fn session_value(rec: &SessionRecord, exp: u64, deadline: u64) -> String {
    format!("{} {} {exp} {deadline} - {}", rec.user_id, rec.role.as_str(), rec.username)
}

/// Longest a seed script may take (the store layer bounds a whole batch at 120 s).
const SEED_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

impl RedisStore {
    /// Connects one multiplexed connection that reconnects on its own, and loads the scripts. Its
    /// commands are bounded by the store layer's operation timeout, not by a second timer of fred's
    /// (a timer per command costs more CPU than the lookup's own work).
    pub async fn connect(url: &str, topology: Topology, settings: StoreSettings) -> anyhow::Result<RedisStore> {
        let config = Config::from_url(url).with_context(|| format!("{url:?} is not a Redis URL"))?;
        let clustered = config.server.is_clustered();
        match (topology, clustered) {
            (Topology::Cluster, false) => anyhow::bail!(
                "--redis-cluster-url {url:?} names no cluster: write it as redis-cluster://host:port (other nodes as ?node=host:port)"
            ),
            (Topology::Single, true) => anyhow::bail!(
                "--redis-url {url:?} names a cluster: use --store redis-cluster with --redis-cluster-url for it"
            ),
            _ => {}
        }
        let mut builder = Builder::from_config(config);
        builder
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_millis(500);
                c.internal_command_timeout = Duration::from_millis(500);
                c.tcp = TcpConfig { nodelay: Some(true), ..Default::default() };
            })
            .set_policy(ReconnectPolicy::new_constant(0, 100));
        let client = builder.build()?;
        client.init().await.map_err(|e| {
            anyhow::anyhow!(
                "Redis not reachable at {url}: {e}: start it with scripts/services.sh up or pass --redis-url"
            )
        })?;
        let load = |lua: &'static str| {
            let client = client.clone();
            async move {
                let sha: String = client.script_load(lua).await.context("loading a Lua script into Redis failed")?;
                anyhow::Ok(Script { lua, sha })
            }
        };
        let scripts = Scripts {
            put_session: load(PUT_SESSION).await?,
            get_session_sliding: load(GET_SESSION_SLIDING).await?,
            rotate_session: load(ROTATE_SESSION).await?,
            delete_session: load(DELETE_SESSION).await?,
            revoke_user_sessions: load(REVOKE_USER_SESSIONS).await?,
            set_session_role: load(SET_SESSION_ROLE).await?,
            put_refresh: load(PUT_REFRESH).await?,
            rotate_refresh: load(ROTATE_REFRESH).await?,
            revoke_family_of: load(REVOKE_FAMILY_OF).await?,
            revoke_user_refresh: load(REVOKE_USER_REFRESH).await?,
            deny_user: load(DENY_USER).await?,
            seed_sessions: load(SEED_SESSIONS).await?,
            seed_families: load(SEED_FAMILIES).await?,
        };
        let prefix = format!("{}:", settings.namespace);
        let tag_key = match topology {
            Topology::Single => None,
            Topology::Cluster => {
                let stored = stored_tag_key(&client, &prefix)
                    .await
                    .with_context(|| format!("reading or creating the slot-tag key {prefix}tag-key failed"))?;
                Some(Box::new(RwLock::new(TagKey::new(stored))))
            }
        };
        Ok(RedisStore {
            client,
            prefix,
            tag_key,
            scripts,
            idle_s: settings.session_idle.as_secs(),
            max_token_ttl_s: settings.max_token_ttl.as_secs(),
        })
    }

    /// The slot tag of a user's keys and tokens: in a cluster, HMAC-SHA-256(tag key, user id)
    /// cut to [`TAG_BYTES`]; None on a single server, whose tokens carry no tag.
    pub(super) fn user_tag(&self, user_id: u64) -> Option<SlotTag> {
        let key = self.tag_key.as_ref()?.read().unwrap_or_else(PoisonError::into_inner);
        let mac = hmac::sign(&key.key, &user_id.to_be_bytes());
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&mac.as_ref()[..TAG_BYTES]);
        Some(SlotTag(tag))
    }

    /// Re-reads the cluster's tag key before an operation that derives a user's tag, so a target
    /// follows a key another target re-created after the cluster lost its data (else its logins
    /// and another's revoke-all would name different slots). One GET; nothing on a single server.
    async fn follow_tag_key(&self) -> Result<(), StoreError> {
        let Some(lock) = &self.tag_key else {
            return Ok(());
        };
        let stored = stored_tag_key(&self.client, &self.prefix).await.map_err(redis_err)?;
        let mut current = lock.write().unwrap_or_else(PoisonError::into_inner);
        if current.stored != stored {
            tracing::warn!("the Redis Cluster's slot-tag key changed (did the cluster lose its data?): following it");
            *current = TagKey::new(stored);
        }
        Ok(())
    }

    /// Whether this store keys by slot tag (a cluster).
    pub(super) fn is_tagged(&self) -> bool {
        self.tag_key.is_some()
    }

    /// Start of the keys of one slot tag: `{namespace}:` on a single server, `{namespace}:{TAG}:`
    /// in a cluster.
    fn prefix_of(&self, tag: SlotTag) -> Cow<'_, str> {
        if !self.is_tagged() {
            return Cow::Borrowed(&self.prefix);
        }
        let mut p = String::with_capacity(self.prefix.len() + 3 + 2 * TAG_BYTES);
        p.push_str(&self.prefix);
        p.push('{');
        crate::token::opaque::push_hex(&mut p, &tag.0);
        p.push_str("}:");
        Cow::Owned(p)
    }

    /// Start of a user's keys (see [`Self::prefix_of`]).
    fn user_prefix(&self, user_id: u64) -> Cow<'_, str> {
        match self.user_tag(user_id) {
            Some(tag) => self.prefix_of(tag),
            None => Cow::Borrowed(&self.prefix),
        }
    }

    /// Start of the keys of a token's session or family: its hash's tag in a cluster. Borrowed on a
    /// single server, so the per-request session lookup allocates only its key.
    fn token_prefix(&self, hash: &TokenHash) -> Cow<'_, str> {
        self.prefix_of(hash.tag())
    }

    /// `{prefix}{kind}:{id}` in one allocation, ids written straight in (no temporary strings).
    fn key(prefix: &str, kind: &str, id: impl std::fmt::Display) -> String {
        use std::fmt::Write as _;
        let mut k = String::with_capacity(prefix.len() + kind.len() + 33);
        k.push_str(prefix);
        k.push_str(kind);
        k.push(':');
        let _ = write!(k, "{id}");
        k
    }

    /// Key of a token hash, built in one allocation (the session lookup is on every request's path).
    fn hash_key(prefix: &str, kind: &str, hash: &TokenHash) -> String {
        let mut k = String::with_capacity(prefix.len() + kind.len() + 65);
        k.push_str(prefix);
        k.push_str(kind);
        k.push(':');
        crate::token::opaque::push_hex(&mut k, &hash.0);
        k
    }

    /// Runs a script by SHA; if the node does not know it (a restart, or a cluster node it was
    /// never loaded on), runs it once by EVAL, which caches it there.
    async fn run<R: FromValue>(&self, script: &Script, keys: Vec<String>, args: Vec<String>) -> Result<R, StoreError> {
        // Converted once: fred's keys and values share their bytes, so the copy kept for a retry is
        // reference counts, not the strings again.
        let keys = MultipleKeys::from(keys);
        let args = MultipleValues::try_from(args).map_err(redis_err)?;
        match self.client.evalsha(script.sha.as_str(), keys.clone(), args.clone()).await {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                self.client.eval(script.lua, keys, args).await.map_err(redis_err)
            }
            r => r.map_err(redis_err),
        }
    }

    /// A seed batch: 5,000 records in one script, which may meet the server growing its keyspace
    /// table (a large allocation at tens of millions of keys), so it gets [`SEED_COMMAND_TIMEOUT`]
    /// instead of a request's command timeout (fred takes per-command options only through
    /// `custom`, hence EVALSHA spelled out).
    /// In a cluster the batch is one slot tag's records and `route` a key of that slot, declared
    /// so the script runs on the node that owns it.
    async fn run_seed(&self, script: &Script, route: Option<String>, args: Vec<String>) -> Result<(), StoreError> {
        let patient = self.client.with_options(&Options { timeout: Some(SEED_COMMAND_TIMEOUT), ..Options::default() });
        let mut argv: Vec<Value> = Vec::with_capacity(3 + args.len());
        argv.push(Value::from(script.sha.as_str()));
        let hash = match route {
            Some(key) => {
                argv.extend([Value::from(1), Value::from(key)]);
                ClusterHash::Offset(2)
            }
            None => {
                argv.push(Value::from(0));
                ClusterHash::Random
            }
        };
        argv.extend(args.into_iter().map(Value::from));
        let command = |name: &'static str| CustomCommand::new_static(name, hash.clone(), false);
        match patient.custom::<i64, Value>(command("EVALSHA"), argv.clone()).await {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                argv[0] = Value::from(script.lua);
                patient.custom::<i64, Value>(command("EVAL"), argv).await.map(|_| ()).map_err(redis_err)
            }
            r => r.map(|_| ()).map_err(redis_err),
        }
    }

    /// Splits seed records by slot tag (one group, untagged, on a single server), so each script
    /// call stays on one slot; returns each group's prefix with its records.
    fn by_tag<T>(&self, items: impl Iterator<Item = (SlotTag, T)>) -> Vec<(Option<SlotTag>, Vec<T>)> {
        if !self.is_tagged() {
            return vec![(None, items.map(|(_, t)| t).collect())];
        }
        let mut groups: std::collections::BTreeMap<SlotTag, Vec<T>> = std::collections::BTreeMap::new();
        for (tag, t) in items {
            groups.entry(tag).or_default().push(t);
        }
        groups.into_iter().map(|(tag, v)| (Some(tag), v)).collect()
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.client.ping::<String>(None).await.map(|_| ()).map_err(redis_err)
    }

    /// Key TTL of a session living `ttl` more seconds: the idle timeout when that is shorter.
    fn session_key_ttl(&self, ttl: u64) -> u64 {
        if self.idle_s == 0 {
            ttl
        } else {
            ttl.min(self.idle_s)
        }
    }

    /// In a cluster a token's keys and its user's must share a slot: a token issued by
    /// `Store::issue_token` carries its user's tag; anything else is refused rather than stored
    /// where no lookup would find it.
    /// Called after [`Self::follow_tag_key`]: a mismatch means the key changed since the token was
    /// issued (the login is refused once; the next one gets the new tag) or a caller's bug.
    fn check_tag(&self, hash: &TokenHash, user_id: u64) -> Result<(), StoreError> {
        match self.user_tag(user_id) {
            Some(tag) if tag != hash.tag() => Err(StoreError::Unavailable(
                "the token's slot tag is not its user's under the cluster's current tag key (it changed, or the \
                 token was not issued through Store::issue_token): log in again"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    /// A rotation's new token must stay on the presented one's slot (`Store::rotated_token`).
    fn check_same_tag(&self, old: &TokenHash, new: &TokenHash) -> Result<(), StoreError> {
        if self.is_tagged() && old.tag() != new.tag() {
            return Err(StoreError::Corrupt(
                "a rotated token's slot tag differs from the presented one's: issue it through Store::rotated_token"
                    .into(),
            ));
        }
        Ok(())
    }

    pub(super) async fn put_session(
        &self,
        hash: &TokenHash,
        rec: &SessionRecord,
        deadline: u64,
    ) -> Result<(), StoreError> {
        self.follow_tag_key().await?;
        self.check_tag(hash, rec.user_id)?;
        let p = self.user_prefix(rec.user_id).into_owned();
        let hex = hash.to_hex();
        let now = crate::token::unix_now();
        let exp = rec.expires_at.min(deadline);
        let ttl = exp.saturating_sub(now).max(1);
        let value = session_value(rec, exp, deadline);
        let keys = vec![Self::key(&p, "s", &hex), Self::key(&p, "ss", rec.user_id)];
        let args =
            vec![value, self.session_key_ttl(ttl).to_string(), hex, exp.to_string(), now.to_string(), ttl.to_string()];
        self.run::<i64>(&self.scripts.put_session, keys, args).await.map(|_| ())
    }

    /// Runs one seed script per slot-tag group (one group on a single server), all pipelined.
    async fn seed_groups(
        &self,
        script: &Script,
        index: &str,
        groups: Vec<(Option<SlotTag>, Vec<[String; 5]>)>,
    ) -> Result<(), StoreError> {
        let now = crate::token::unix_now().to_string();
        let calls = groups.into_iter().map(|(tag, records)| {
            let p = match tag {
                Some(tag) => self.prefix_of(tag).into_owned(),
                None => self.prefix.clone(),
            };
            let route = tag.map(|_| Self::key(&p, index, "seed"));
            let mut args = Vec::with_capacity(2 + 5 * records.len());
            args.extend([p, now.clone()]);
            args.extend(records.into_iter().flatten());
            self.run_seed(script, route, args)
        });
        futures_util::future::try_join_all(calls).await.map(|_| ())
    }

    pub(super) async fn seed_sessions(&self, batch: &[SeededSession]) -> Result<(), StoreError> {
        let now = crate::token::unix_now();
        self.follow_tag_key().await?;
        for s in batch {
            self.check_tag(&s.hash, s.rec.user_id)?;
        }
        let records = batch.iter().map(|s| {
            let exp = s.rec.expires_at.min(s.deadline);
            let key_ttl = self.session_key_ttl(exp.saturating_sub(now).max(1));
            let value = session_value(&s.rec, exp, s.deadline);
            (s.hash.tag(), [s.hash.to_hex(), s.rec.user_id.to_string(), value, exp.to_string(), key_ttl.to_string()])
        });
        let groups = self.by_tag(records);
        self.seed_groups(&self.scripts.seed_sessions, "ss", groups).await
    }

    pub(super) async fn seed_families(&self, batch: &[SeededFamily]) -> Result<(), StoreError> {
        self.follow_tag_key().await?;
        for f in batch {
            self.check_tag(&f.hash, f.user_id)?;
        }
        let records = batch.iter().map(|f| {
            let (hex, fam) = (f.hash.to_hex(), f.family.to_hex());
            let value = format!("{} {hex} {}", f.user_id, f.deadline);
            let exp = f.expires_at.min(f.deadline);
            (f.hash.tag(), [hex, fam, f.user_id.to_string(), value, exp.to_string()])
        });
        let groups = self.by_tag(records);
        self.seed_groups(&self.scripts.seed_families, "fu", groups).await
    }

    pub(super) async fn get_session(&self, hash: &TokenHash, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let key = Self::hash_key(&self.token_prefix(hash), "s", hash);
        let v: Option<String> = if self.idle_s == 0 {
            self.client.get(key).await.map_err(redis_err)?
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

    pub(super) async fn rotate_session(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.check_same_tag(old, new)?;
        let p = self.token_prefix(old).into_owned();
        let (old_hex, new_hex) = (old.to_hex(), new.to_hex());
        let keys = vec![Self::key(&p, "s", &old_hex), Self::key(&p, "s", &new_hex)];
        let args = vec![p, old_hex, new_hex, now.to_string(), new_expires_at.to_string(), self.idle_s.to_string()];
        let moved: Option<String> = self.run(&self.scripts.rotate_session, keys, args).await?;
        moved.as_deref().map(parse_session).transpose()
    }

    pub(super) async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let p = self.token_prefix(hash).into_owned();
        let hex = hash.to_hex();
        let keys = vec![Self::key(&p, "s", &hex)];
        self.run::<i64>(&self.scripts.delete_session, keys, vec![p, hex]).await.map(|_| ())
    }

    pub(super) async fn revoke_user_sessions(&self, user_id: u64) -> Result<u64, StoreError> {
        self.follow_tag_key().await?;
        let p = self.user_prefix(user_id).into_owned();
        let keys = vec![Self::key(&p, "ss", user_id)];
        self.run(&self.scripts.revoke_user_sessions, keys, vec![p]).await
    }

    pub(super) async fn set_session_role(&self, user_id: u64, role: Role) -> Result<(), StoreError> {
        self.follow_tag_key().await?;
        let p = self.user_prefix(user_id).into_owned();
        let keys = vec![Self::key(&p, "ss", user_id)];
        let args = vec![p, role.as_str().to_owned()];
        self.run::<i64>(&self.scripts.set_session_role, keys, args).await.map(|_| ())
    }

    pub(super) async fn put_refresh(
        &self,
        hash: &TokenHash,
        family: FamilyId,
        user_id: u64,
        expires_at: u64,
        deadline: u64,
    ) -> Result<(), StoreError> {
        self.follow_tag_key().await?;
        self.check_tag(hash, user_id)?;
        let p = self.user_prefix(user_id).into_owned();
        let (hex, fam) = (hash.to_hex(), family.to_hex());
        let now = crate::token::unix_now();
        let exp = expires_at.min(deadline);
        let ttl = exp.saturating_sub(now).max(1);
        let keys = vec![Self::key(&p, "r", &hex), Self::key(&p, "f", &fam), Self::key(&p, "fu", user_id)];
        let value = format!("{user_id} {hex} {deadline}");
        let args = vec![fam, ttl.to_string(), value, exp.to_string(), now.to_string()];
        self.run::<i64>(&self.scripts.put_refresh, keys, args).await.map(|_| ())
    }

    pub(super) async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        self.check_same_tag(old, new)?;
        let p = self.token_prefix(old).into_owned();
        let (old_hex, new_hex) = (old.to_hex(), new.to_hex());
        let keys = vec![Self::key(&p, "r", &old_hex), Self::key(&p, "r", &new_hex)];
        let args = vec![p, old_hex, new_hex, now.to_string(), new_expires_at.to_string()];
        let (outcome, uid, expires_at): (i64, String, i64) = self.run(&self.scripts.rotate_refresh, keys, args).await?;
        let user_id = || uid.parse::<u64>().map_err(|_| corrupt("refresh family"));
        Ok(match outcome {
            1 => Rotation::Rotated {
                user_id: user_id()?,
                expires_at: u64::try_from(expires_at).map_err(|_| corrupt("refresh family"))?,
            },
            2 => Rotation::Reused { user_id: user_id()? },
            _ => Rotation::Invalid,
        })
    }

    pub(super) async fn revoke_refresh_family(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let p = self.token_prefix(hash).into_owned();
        let keys = vec![Self::hash_key(&p, "r", hash)];
        Ok(self.run::<i64>(&self.scripts.revoke_family_of, keys, vec![p]).await? > 0)
    }

    pub(super) async fn revoke_user_refresh(&self, user_id: u64) -> Result<u64, StoreError> {
        self.follow_tag_key().await?;
        let p = self.user_prefix(user_id).into_owned();
        let keys = vec![Self::key(&p, "fu", user_id)];
        self.run(&self.scripts.revoke_user_refresh, keys, vec![p]).await
    }

    pub(super) async fn deny_token(&self, jti: &str, expires_at: u64) -> Result<bool, StoreError> {
        let exp = Some(Expiration::EXAT(i64::try_from(expires_at).unwrap_or(i64::MAX)));
        let key = Self::key(&self.prefix, "dj", jti);
        let set: Option<String> = self.client.set(key, 1, exp, Some(SetOptions::NX), false).await.map_err(redis_err)?;
        Ok(set.is_some())
    }

    pub(super) async fn deny_user(&self, user_id: u64, revoked_at: u64) -> Result<(), StoreError> {
        let args = vec![revoked_at.to_string(), self.max_token_ttl_s.max(1).to_string()];
        let keys = vec![Self::key(&self.prefix, "du", user_id)];
        self.run::<i64>(&self.scripts.deny_user, keys, args).await.map(|_| ())
    }

    /// One MGET on a single server; in a cluster the two keys hash to different slots, so two GETs
    /// sent together.
    pub(super) async fn is_denied(&self, jti: &str, user_id: u64, iat: u64) -> Result<bool, StoreError> {
        let (token_key, user_key) = (Self::key(&self.prefix, "dj", jti), Self::key(&self.prefix, "du", user_id));
        let (token, user): (Option<String>, Option<String>) = if self.is_tagged() {
            let (token, user) = tokio::join!(self.client.get(token_key), self.client.get(user_key));
            (token.map_err(redis_err)?, user.map_err(redis_err)?)
        } else {
            self.client.mget(vec![token_key, user_key]).await.map_err(redis_err)?
        };
        let user_revoked_at = user.map(|v| v.parse::<u64>().map_err(|_| corrupt("denylist entry"))).transpose()?;
        Ok(token.is_some() || user_revoked_at.is_some_and(|at| iat <= at))
    }
}

/// The cluster's tag key as stored, and the HMAC key made from it.
struct TagKey {
    stored: String,
    key: hmac::Key,
}

impl TagKey {
    fn new(stored: String) -> TagKey {
        let key = hmac::Key::new(hmac::HMAC_SHA256, stored.as_bytes());
        TagKey { stored, key }
    }
}

/// The cluster's tag key: 256 random bits at `{namespace}:tag-key`, created by the first target
/// to need it (SET NX) and read by every other, so all replicas derive the same tags. Never
/// expires; one GET when it exists.
async fn stored_tag_key(client: &Client, prefix: &str) -> Result<String, Error> {
    let key = format!("{prefix}tag-key");
    if let Some(stored) = client.get::<Option<String>, _>(key.as_str()).await? {
        return Ok(stored);
    }
    let mut fresh = String::with_capacity(64);
    crate::token::opaque::push_hex(&mut fresh, &crate::token::opaque::random_bytes::<32>());
    let _: Option<String> = client.set(key.as_str(), fresh, None, Some(SetOptions::NX), false).await?;
    client.get::<Option<String>, _>(key.as_str()).await?.ok_or_else(|| {
        Error::new(ErrorKind::NotFound, format!("the slot-tag key {key} vanished right after it was set"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_values_round_trip_and_reject_garbage() {
        let rec = parse_session("7 admin 1800000000 1800000900 - user7").unwrap();
        assert_eq!(
            (rec.user_id, rec.role, rec.expires_at, rec.username.as_str()),
            (7, Role::Admin, 1_800_000_000, "user7")
        );
        assert_eq!(parse_session("7 user 1 2 00ff with space").unwrap().username, "with space");
        for bad in ["", "7", "7 user 1 2 -", "7 root 1 2 - u", "x user 1 2 - u", "7 user -1 2 - u"] {
            assert!(parse_session(bad).is_err(), "{bad}");
        }
    }
}
