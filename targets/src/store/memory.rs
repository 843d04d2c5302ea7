//! The embedded store: concurrent maps inside the target process, with expiry.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

use super::{FamilyId, Rotation, SessionRecord, StoreSettings};
use crate::error::StoreError;
use crate::token::opaque::TokenHash;
use crate::users::Role;

struct Session {
    rec: SessionRecord,
    idle_deadline: AtomicU64,
}

struct Refresh {
    family: FamilyId,
    user_id: u64,
    expires_at: u64,
    spent: bool,
}

/// Sessions, refresh tokens and denylist entries in process memory; lost on restart by design.
pub struct MemoryStore {
    idle_s: u64,
    max_token_ttl_s: u64,
    sessions: DashMap<TokenHash, Session>,
    user_sessions: DashMap<u64, HashSet<TokenHash>>,
    refresh: DashMap<TokenHash, Refresh>,
    families: DashMap<FamilyId, Vec<TokenHash>>,
    user_families: DashMap<u64, HashSet<FamilyId>>,
    denied_tokens: DashMap<String, u64>,
    denied_users: DashMap<u64, u64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new(settings: StoreSettings) -> MemoryStore {
        MemoryStore {
            idle_s: settings.session_idle.as_secs(),
            max_token_ttl_s: settings.max_token_ttl.as_secs(),
            sessions: DashMap::new(),
            user_sessions: DashMap::new(),
            refresh: DashMap::new(),
            families: DashMap::new(),
            user_families: DashMap::new(),
            denied_tokens: DashMap::new(),
            denied_users: DashMap::new(),
        }
    }

    /// Drops expired entries; called periodically so memory stays bounded under churn.
    pub fn sweep(&self, now: u64) {
        self.sessions.retain(|_, s| s.rec.expires_at > now);
        self.refresh.retain(|_, r| r.expires_at > now);
        self.denied_tokens.retain(|_, exp| *exp > now);
        self.denied_users.retain(|_, at| at.saturating_add(self.max_token_ttl_s) > now);
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    pub(super) async fn put_session(&self, hash: &TokenHash, rec: &SessionRecord) -> Result<(), StoreError> {
        let idle = if self.idle_s == 0 { u64::MAX } else { crate::token::unix_now() + self.idle_s };
        self.sessions.insert(*hash, Session { rec: rec.clone(), idle_deadline: AtomicU64::new(idle) });
        self.user_sessions.entry(rec.user_id).or_default().insert(*hash);
        Ok(())
    }

    pub(super) async fn get_session(&self, hash: &TokenHash, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let Some(s) = self.sessions.get(hash) else {
            return Ok(None);
        };
        if s.rec.expires_at <= now || s.idle_deadline.load(Ordering::Relaxed) <= now {
            return Ok(None);
        }
        if self.idle_s != 0 {
            s.idle_deadline.store(now + self.idle_s, Ordering::Relaxed);
        }
        Ok(Some(s.rec.clone()))
    }

    pub(super) async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        if let Some((_, s)) = self.sessions.remove(hash) {
            if let Some(mut set) = self.user_sessions.get_mut(&s.rec.user_id) {
                set.remove(hash);
            }
        }
        Ok(())
    }

    pub(super) async fn revoke_user_sessions(&self, user_id: u64) -> Result<u64, StoreError> {
        let hashes = self.user_sessions.remove(&user_id).map(|(_, set)| set).unwrap_or_default();
        let mut n = 0;
        for h in hashes {
            n += u64::from(self.sessions.remove(&h).is_some());
        }
        Ok(n)
    }

    pub(super) async fn set_session_role(&self, user_id: u64, role: Role) -> Result<(), StoreError> {
        if let Some(set) = self.user_sessions.get(&user_id) {
            for h in set.iter() {
                if let Some(mut s) = self.sessions.get_mut(h) {
                    s.rec.role = role;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn put_refresh(
        &self,
        hash: &TokenHash,
        family: FamilyId,
        user_id: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.refresh.insert(*hash, Refresh { family, user_id, expires_at, spent: false });
        self.families.entry(family).or_default().push(*hash);
        self.user_families.entry(user_id).or_default().insert(family);
        Ok(())
    }

    pub(super) async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        // The entry guard holds the shard lock: check-and-spend is atomic against concurrent rotations.
        let (family, user_id) = {
            let Some(mut r) = self.refresh.get_mut(old) else {
                return Ok(Rotation::Invalid);
            };
            if r.expires_at <= now {
                return Ok(Rotation::Invalid);
            }
            if r.spent {
                let (family, user_id) = (r.family, r.user_id);
                drop(r);
                self.drop_family(family);
                return Ok(Rotation::Reused { user_id });
            }
            r.spent = true;
            (r.family, r.user_id)
        };
        self.put_refresh(new, family, user_id, new_expires_at).await?;
        Ok(Rotation::Rotated { user_id })
    }

    fn drop_family(&self, family: FamilyId) -> bool {
        match self.families.remove(&family) {
            Some((_, hashes)) => {
                for h in hashes {
                    self.refresh.remove(&h);
                }
                true
            }
            None => false,
        }
    }

    pub(super) async fn revoke_refresh_family(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let family = self.refresh.get(hash).map(|r| r.family);
        Ok(family.is_some_and(|f| self.drop_family(f)))
    }

    pub(super) async fn revoke_user_refresh(&self, user_id: u64) -> Result<u64, StoreError> {
        let families = self.user_families.remove(&user_id).map(|(_, f)| f).unwrap_or_default();
        Ok(families.into_iter().filter(|f| self.drop_family(*f)).count() as u64)
    }

    pub(super) async fn deny_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.denied_tokens.insert(jti.to_owned(), expires_at);
        Ok(())
    }

    pub(super) async fn deny_user(&self, user_id: u64, revoked_at: u64) -> Result<(), StoreError> {
        self.denied_users.insert(user_id, revoked_at);
        Ok(())
    }

    pub(super) async fn is_denied(&self, jti: &str, user_id: u64, iat: u64) -> Result<bool, StoreError> {
        Ok(self.denied_tokens.contains_key(jti) || self.denied_users.get(&user_id).is_some_and(|at| iat <= *at))
    }
}
