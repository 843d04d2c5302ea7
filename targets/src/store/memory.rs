//! The embedded store: concurrent maps inside the target process, with expiry.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

use super::{FamilyId, Rotation, SeededFamily, SeededSession, SessionRecord, StoreSettings};
use crate::error::StoreError;
use crate::token::opaque::TokenHash;
use crate::users::Role;

struct Session {
    rec: SessionRecord,
    /// Absolute end: rotations never renew `rec.expires_at` past it.
    deadline: u64,
    idle_deadline: AtomicU64,
    /// The token this session was known by before its last rotation, whose `Replaced` slot points here.
    prev: Option<TokenHash>,
}

/// What a token hash names in the session map.
enum Slot {
    Live(Session),
    /// A token rotated away: it authenticates nothing, but a logout presenting it (one that raced the
    /// refresh and lost) ends the session it moved to. Kept until that session's next rotation or end.
    Replaced {
        by: TokenHash,
        user_id: u64,
        expires_at: u64,
    },
}

/// One login's refresh-token family: exactly one live token, the `current` one.
struct Family {
    user_id: u64,
    current: TokenHash,
    expires_at: u64,
    /// Absolute end: no rotated token outlives it.
    deadline: u64,
}

/// Sessions, refresh tokens and denylist entries in process memory; lost on restart by design.
///
/// Writers take locks in one order only, so DashMap shard locks cannot deadlock: `user_sessions`
/// before `sessions`; `user_families` before `families` before `refresh`. The per-user index entry
/// serialises every write to that user's sessions (rotation, logout, role change, revoke-all); the
/// family entry serialises every write to that family (rotation, reuse detection, revocation).
pub struct MemoryStore {
    idle_s: u64,
    max_token_ttl_s: u64,
    sessions: DashMap<TokenHash, Slot>,
    /// Live session hashes per user.
    user_sessions: DashMap<u64, HashSet<TokenHash>>,
    /// Every refresh token (live or spent) to its family, with the time it is remembered until.
    refresh: DashMap<TokenHash, (FamilyId, u64)>,
    families: DashMap<FamilyId, Family>,
    /// Live families per user.
    user_families: DashMap<u64, HashSet<FamilyId>>,
    denied_tokens: DashMap<String, u64>,
    denied_users: DashMap<u64, u64>,
}

impl Slot {
    fn alive_at(&self, now: u64) -> bool {
        match self {
            Slot::Live(s) => s.rec.expires_at > now && s.idle_deadline.load(Ordering::Relaxed) > now,
            Slot::Replaced { expires_at, .. } => *expires_at > now,
        }
    }
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

    /// Drops expired entries and the index entries that named them; called periodically so memory
    /// stays bounded under churn.
    pub fn sweep(&self, now: u64) {
        self.sessions.retain(|_, slot| slot.alive_at(now));
        // Index after records, each lock alone or in the one order (user index, then records).
        self.user_sessions.retain(|_, set| {
            set.retain(|h| self.sessions.get(h).is_some_and(|slot| matches!(*slot, Slot::Live(_))));
            !set.is_empty()
        });
        let mut ended = Vec::new();
        self.families.retain(|_, f| {
            let keep = f.expires_at > now;
            if !keep {
                ended.push(f.current);
            }
            keep
        });
        for h in ended {
            self.refresh.remove(&h);
        }
        self.user_families.retain(|_, set| {
            set.retain(|f| self.families.contains_key(f));
            !set.is_empty()
        });
        self.refresh.retain(|_, (_, until)| *until > now);
        // Spent tokens of revoked families: families are looked up with no `refresh` lock held (a
        // rotation takes `families` then `refresh`). A token is inserted after its family, so a
        // token whose family is missing here is one whose family is gone for good.
        let live: HashSet<FamilyId> = self.families.iter().map(|f| *f.key()).collect();
        let orphans: Vec<(TokenHash, FamilyId)> =
            self.refresh.iter().filter(|r| !live.contains(&r.value().0)).map(|r| (*r.key(), r.value().0)).collect();
        for (h, family) in orphans {
            if !self.families.contains_key(&family) {
                self.refresh.remove_if(&h, |_, (f, _)| *f == family);
            }
        }
        self.denied_tokens.retain(|_, exp| *exp > now);
        self.denied_users.retain(|_, at| at.saturating_add(self.max_token_ttl_s) > now);
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn idle_deadline(&self, now: u64) -> u64 {
        if self.idle_s == 0 {
            u64::MAX
        } else {
            now + self.idle_s
        }
    }

    pub(super) async fn put_session(
        &self,
        hash: &TokenHash,
        rec: &SessionRecord,
        deadline: u64,
    ) -> Result<(), StoreError> {
        let idle = AtomicU64::new(self.idle_deadline(crate::token::unix_now()));
        let mut index = self.user_sessions.entry(rec.user_id).or_default();
        let session = Session { rec: rec.clone(), deadline, idle_deadline: idle, prev: None };
        self.sessions.insert(*hash, Slot::Live(session));
        index.insert(*hash);
        Ok(())
    }

    pub(super) async fn get_session(&self, hash: &TokenHash, now: u64) -> Result<Option<SessionRecord>, StoreError> {
        let Some(slot) = self.sessions.get(hash) else {
            return Ok(None);
        };
        let Slot::Live(s) = &*slot else {
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

    /// The user a session token belongs to, live or just replaced; the guard is released on return.
    fn session_user(&self, hash: &TokenHash) -> Option<u64> {
        self.sessions.get(hash).map(|slot| match &*slot {
            Slot::Live(s) => s.rec.user_id,
            Slot::Replaced { user_id, .. } => *user_id,
        })
    }

    pub(super) async fn rotate_session(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let Some(user_id) = self.session_user(old) else {
            return Ok(None);
        };
        // The user's index entry is held to the end: no revoke-all, logout or role change of this
        // user runs in between, and a revoke-all that came first has taken `old` out of it.
        let Some(mut index) = self.user_sessions.get_mut(&user_id) else {
            return Ok(None);
        };
        if !index.contains(old) {
            return Ok(None);
        }
        let (mut rec, deadline, prev) = match self.sessions.get(old).as_deref() {
            Some(slot @ Slot::Live(s)) if slot.alive_at(now) => (s.rec.clone(), s.deadline, s.prev),
            _ => return Ok(None),
        };
        rec.expires_at = new_expires_at.min(deadline);
        let idle = AtomicU64::new(self.idle_deadline(now));
        let moved = Session { rec: rec.clone(), deadline, idle_deadline: idle, prev: Some(*old) };
        self.sessions.insert(*new, Slot::Live(moved));
        self.sessions.insert(*old, Slot::Replaced { by: *new, user_id, expires_at: rec.expires_at });
        if let Some(p) = prev {
            self.sessions.remove_if(&p, |_, slot| matches!(slot, Slot::Replaced { .. }));
        }
        index.remove(old);
        index.insert(*new);
        Ok(Some(rec))
    }

    /// Removes a live session and the `Replaced` slot pointing at it; true if it was live.
    fn remove_live(&self, hash: &TokenHash) -> bool {
        match self.sessions.remove_if(hash, |_, slot| matches!(slot, Slot::Live(_))) {
            Some((_, Slot::Live(s))) => {
                if let Some(p) = s.prev {
                    self.sessions.remove_if(&p, |_, slot| matches!(slot, Slot::Replaced { .. }));
                }
                true
            }
            _ => false,
        }
    }

    pub(super) async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let Some(user_id) = self.session_user(hash) else {
            return Ok(());
        };
        // Under the user's index entry (if a revoke-all has not just taken it) no rotation moves
        // the session while it is looked up again and removed.
        let index = self.user_sessions.get_mut(&user_id);
        let target = match self.sessions.get(hash).as_deref() {
            Some(Slot::Live(_)) => *hash,
            Some(Slot::Replaced { by, .. }) => *by,
            None => return Ok(()),
        };
        self.remove_live(&target);
        if target != *hash {
            self.sessions.remove(hash);
        }
        if let Some(mut index) = index {
            index.remove(&target);
            drop(index);
            self.user_sessions.remove_if(&user_id, |_, set| set.is_empty());
        }
        Ok(())
    }

    pub(super) async fn revoke_user_sessions(&self, user_id: u64) -> Result<u64, StoreError> {
        // Taking the index entry waits for a rotation holding it; rotations after find it gone.
        let hashes = self.user_sessions.remove(&user_id).map(|(_, set)| set).unwrap_or_default();
        Ok(hashes.iter().filter(|h| self.remove_live(h)).count() as u64)
    }

    pub(super) async fn set_session_role(&self, user_id: u64, role: Role) -> Result<(), StoreError> {
        if let Some(index) = self.user_sessions.get_mut(&user_id) {
            for h in index.iter() {
                if let Some(mut slot) = self.sessions.get_mut(h) {
                    if let Slot::Live(s) = &mut *slot {
                        s.rec.role = role;
                    }
                }
            }
        }
        Ok(())
    }

    /// A seed batch, record by record: the map is in this process, there is no round trip to save.
    pub(super) async fn seed_sessions(&self, batch: &[SeededSession]) -> Result<(), StoreError> {
        for s in batch {
            self.put_session(&s.hash, &s.rec, s.deadline).await?;
        }
        Ok(())
    }

    /// A seed batch of refresh-token families, record by record.
    pub(super) async fn seed_families(&self, batch: &[SeededFamily]) -> Result<(), StoreError> {
        for f in batch {
            self.put_refresh(&f.hash, f.family, f.user_id, f.expires_at, f.deadline).await?;
        }
        Ok(())
    }

    pub(super) async fn put_refresh(
        &self,
        hash: &TokenHash,
        family: FamilyId,
        user_id: u64,
        expires_at: u64,
        deadline: u64,
    ) -> Result<(), StoreError> {
        let expires_at = expires_at.min(deadline);
        let mut index = self.user_families.entry(user_id).or_default();
        self.families.insert(family, Family { user_id, current: *hash, expires_at, deadline });
        self.refresh.insert(*hash, (family, expires_at));
        index.insert(family);
        Ok(())
    }

    pub(super) async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: u64,
        new_expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        let Some((family, remembered_until)) = self.refresh.get(old).map(|r| *r) else {
            return Ok(Rotation::Invalid);
        };
        if remembered_until <= now {
            return Ok(Rotation::Invalid);
        }
        // The family entry's lock is held through check, spend and store: a revocation of the
        // family waits for it and then removes the rotated token too, or came first and left nothing.
        let Entry::Occupied(mut entry) = self.families.entry(family) else {
            return Ok(Rotation::Invalid);
        };
        let f = entry.get_mut();
        if f.current != *old {
            let (_, gone) = entry.remove_entry();
            self.forget_family(family, &gone);
            return Ok(Rotation::Reused { user_id: gone.user_id });
        }
        if f.expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        let expires_at = new_expires_at.min(f.deadline);
        f.current = *new;
        f.expires_at = expires_at;
        self.refresh.insert(*new, (family, expires_at));
        // The spent token is remembered as long as the one replacing it, for reuse detection.
        self.refresh.insert(*old, (family, expires_at));
        Ok(Rotation::Rotated { user_id: f.user_id, expires_at })
    }

    /// After a family is removed: its live token and its entry in the user's index go too; spent
    /// tokens are left to the sweep (nothing lists them).
    fn forget_family(&self, family: FamilyId, gone: &Family) {
        self.refresh.remove(&gone.current);
        if let Some(mut set) = self.user_families.get_mut(&gone.user_id) {
            set.remove(&family);
        }
        self.user_families.remove_if(&gone.user_id, |_, set| set.is_empty());
    }

    pub(super) async fn revoke_refresh_family(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let Some(family) = self.refresh.get(hash).map(|r| r.0) else {
            return Ok(false);
        };
        match self.families.remove(&family) {
            Some((_, gone)) => {
                self.forget_family(family, &gone);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub(super) async fn revoke_user_refresh(&self, user_id: u64) -> Result<u64, StoreError> {
        let families = self.user_families.remove(&user_id).map(|(_, f)| f).unwrap_or_default();
        let mut n = 0;
        for family in families {
            if let Some((_, gone)) = self.families.remove(&family) {
                self.refresh.remove(&gone.current);
                n += 1;
            }
        }
        Ok(n)
    }

    pub(super) async fn deny_token(&self, jti: &str, expires_at: u64) -> Result<bool, StoreError> {
        Ok(self.denied_tokens.insert(jti.to_owned(), expires_at).is_none())
    }

    pub(super) async fn deny_user(&self, user_id: u64, revoked_at: u64) -> Result<(), StoreError> {
        // Out-of-order revoke-alls never move the cut-off back.
        self.denied_users.entry(user_id).and_modify(|at| *at = (*at).max(revoked_at)).or_insert(revoked_at);
        Ok(())
    }

    pub(super) async fn is_denied(&self, jti: &str, user_id: u64, iat: u64) -> Result<bool, StoreError> {
        Ok(self.denied_tokens.contains_key(jti) || self.denied_users.get(&user_id).is_some_and(|at| iat <= *at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::opaque;
    use std::sync::Arc;
    use std::time::Duration;

    fn store() -> MemoryStore {
        MemoryStore::new(StoreSettings {
            namespace: "t".into(),
            pool_size: 1,
            session_idle: Duration::ZERO,
            max_token_ttl: Duration::from_secs(60),
        })
    }

    fn rec(user_id: u64, expires_at: u64) -> SessionRecord {
        SessionRecord { user_id, username: format!("user{user_id}"), role: Role::User, expires_at }
    }

    fn hash() -> TokenHash {
        opaque::generate().hash
    }

    fn indexed_sessions(s: &MemoryStore) -> usize {
        s.user_sessions.iter().map(|e| e.len()).sum()
    }

    fn indexed_families(s: &MemoryStore) -> usize {
        s.user_families.iter().map(|e| e.len()).sum()
    }

    #[tokio::test]
    async fn session_indexes_hold_only_live_sessions() {
        let s = store();
        let now = crate::token::unix_now();
        for _ in 0..50 {
            s.put_session(&hash(), &rec(1, now + 1), now + 1).await.unwrap();
        }
        let mut cur = hash();
        s.put_session(&cur, &rec(2, now + 100), now + 1000).await.unwrap();
        for _ in 0..100 {
            let next = hash();
            assert!(s.rotate_session(&cur, &next, now, now + 100).await.unwrap().is_some());
            cur = next;
        }
        // One live session of user 2 and the one token it replaced last; 51 index entries in all.
        assert_eq!((s.sessions.len(), indexed_sessions(&s)), (52, 51));
        s.sweep(now + 10);
        assert_eq!((s.sessions.len(), indexed_sessions(&s), s.user_sessions.len()), (2, 1, 1));
        s.revoke_user_sessions(2).await.unwrap();
        assert_eq!((s.sessions.len(), s.user_sessions.len()), (0, 0));
    }

    #[tokio::test]
    async fn family_indexes_hold_only_live_families() {
        let s = store();
        let now = crate::token::unix_now();
        let mut cur = hash();
        s.put_refresh(&cur, FamilyId::generate(), 1, now + 100, now + 1000).await.unwrap();
        for _ in 0..100 {
            let next = hash();
            assert!(matches!(s.rotate_refresh(&cur, &next, now, now + 100).await.unwrap(), Rotation::Rotated { .. }));
            cur = next;
        }
        // One family, indexed once; spent tokens are remembered (for reuse detection) until they expire.
        assert_eq!((s.families.len(), indexed_families(&s), s.refresh.len()), (1, 1, 101));
        let other = hash();
        s.put_refresh(&other, FamilyId::generate(), 1, now + 5, now + 5).await.unwrap();
        assert!(s.revoke_refresh_family(&cur).await.unwrap());
        assert_eq!((s.families.len(), indexed_families(&s)), (1, 1), "logout unindexes the family at once");
        s.sweep(now);
        assert_eq!(s.refresh.len(), 1, "spent tokens of a revoked family are swept");
        s.sweep(now + 10);
        assert_eq!((s.families.len(), s.user_families.len(), s.refresh.len()), (0, 0, 0));
    }

    #[tokio::test]
    async fn lifetimes_never_pass_the_absolute_deadline() {
        let s = store();
        let now = crate::token::unix_now();
        let (a, b) = (hash(), hash());
        s.put_session(&a, &rec(1, now + 10), now + 15).await.unwrap();
        assert_eq!(s.rotate_session(&a, &b, now + 8, now + 18).await.unwrap().unwrap().expires_at, now + 15);
        assert!(s.rotate_session(&b, &hash(), now + 15, now + 25).await.unwrap().is_none());
        let (r1, r2) = (hash(), hash());
        s.put_refresh(&r1, FamilyId::generate(), 1, now + 10, now + 15).await.unwrap();
        assert_eq!(
            s.rotate_refresh(&r1, &r2, now + 8, now + 18).await.unwrap(),
            Rotation::Rotated { user_id: 1, expires_at: now + 15 }
        );
        assert_eq!(s.rotate_refresh(&r2, &hash(), now + 15, now + 25).await.unwrap(), Rotation::Invalid);
    }

    #[tokio::test]
    async fn logout_with_the_token_a_refresh_just_replaced_ends_the_session() {
        let s = store();
        let now = crate::token::unix_now();
        let (t0, t1, t2) = (hash(), hash(), hash());
        s.put_session(&t0, &rec(1, now + 100), now + 1000).await.unwrap();
        s.rotate_session(&t0, &t1, now, now + 100).await.unwrap().unwrap();
        assert!(s.get_session(&t0, now).await.unwrap().is_none(), "a replaced token authenticates nothing");
        s.rotate_session(&t1, &t2, now, now + 100).await.unwrap().unwrap();
        s.delete_session(&t0).await.unwrap();
        assert!(s.get_session(&t2, now).await.unwrap().is_some(), "only the last replaced token names the session");
        s.delete_session(&t1).await.unwrap();
        assert!(s.get_session(&t2, now).await.unwrap().is_none());
        assert_eq!((s.sessions.len(), s.user_sessions.len()), (0, 0));
    }

    /// Rotation racing revoke-all and logout on two OS threads, thousands of times: nothing survives.
    #[test]
    fn rotation_never_outlives_a_racing_revocation() {
        let s = Arc::new(store());
        let now = crate::token::unix_now();
        let block_on = |f: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>| {
            tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
        };
        for round in 0..2000u64 {
            let (t0, t1) = (hash(), hash());
            let family = FamilyId::generate();
            block_on(Box::pin(async {
                s.put_session(&t0, &rec(1, now + 100), now + 1000).await.unwrap();
                s.put_refresh(&t0, family, 1, now + 100, now + 1000).await.unwrap();
            }));
            let gate = Arc::new(std::sync::Barrier::new(2));
            let (s1, g1) = (Arc::clone(&s), Arc::clone(&gate));
            let rotate = std::thread::spawn(move || {
                g1.wait();
                let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
                rt.block_on(async {
                    s1.rotate_session(&t0, &t1, now, now + 100).await.unwrap();
                    s1.rotate_refresh(&t0, &t1, now, now + 100).await.unwrap();
                });
            });
            gate.wait();
            block_on(Box::pin(async {
                if round % 2 == 0 {
                    s.revoke_user_sessions(1).await.unwrap();
                    s.revoke_user_refresh(1).await.unwrap();
                } else {
                    s.delete_session(&t0).await.unwrap();
                    s.revoke_refresh_family(&t0).await.unwrap();
                }
            }));
            rotate.join().unwrap();
            block_on(Box::pin(async {
                for t in [t0, t1] {
                    assert!(s.get_session(&t, now).await.unwrap().is_none(), "round {round}: session survived");
                    let next = hash();
                    let r = s.rotate_refresh(&t, &next, now, now + 100).await.unwrap();
                    assert!(!matches!(r, Rotation::Rotated { .. }), "round {round}: refresh token survived");
                }
            }));
        }
        s.sweep(now);
        assert_eq!((s.sessions.len(), s.user_sessions.len(), s.families.len(), s.user_families.len()), (0, 0, 0, 0));
    }
}
