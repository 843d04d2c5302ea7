//! session: an opaque random token whose hash keys a stored session, looked up on every request.

use super::{Grant, Principal};
use crate::error::Failure;
use crate::store::{SeededSession, SessionRecord, Store};
use crate::token::opaque;
use crate::users::{Directory, Role, User};

/// Server-side sessions.
pub struct SessionStrategy {
    pub store: Store,
    /// Lifetime a login or a refresh gives the session.
    pub ttl_s: u64,
    /// Absolute lifetime of a login: refreshes never carry a session past login + this.
    pub absolute_s: u64,
    /// Held across "directory write + store write" of a role, so two role changes (or a change and a
    /// login's correction) reach the store in the order they reached the directory.
    pub role_writes: tokio::sync::Mutex<()>,
}

impl SessionStrategy {
    /// Changes a user's role in the directory and in every live session, in one order with any
    /// other role write.
    pub async fn set_role(&self, users: &Directory, user_id: u64, role: Role) -> Result<bool, Failure> {
        let _order = self.role_writes.lock().await;
        if !users.set_role(user_id, role) {
            return Ok(false);
        }
        self.store.set_session_role(user_id, role).await?;
        Ok(true)
    }

    /// The one store lookup per request; role and expiry come from the store, so changes apply at once.
    pub async fn authenticate(&self, token: &str, now: u64) -> Result<Principal, Failure> {
        let rec = self.lookup(token, now).await?;
        Ok(Principal { id: rec.user_id, username: rec.username, role: rec.role })
    }

    async fn lookup(&self, token: &str, now: u64) -> Result<SessionRecord, Failure> {
        check_shape(token)?;
        self.store.get_session(&self.store.hash_token(token), now).await?.ok_or(Failure::Unknown)
    }

    /// Creates a session for the user.
    pub async fn issue(&self, user: &User, now: u64) -> Result<Grant, Failure> {
        let deadline = now + self.absolute_s;
        let role = user.role();
        let rec = SessionRecord {
            user_id: user.id,
            username: user.username.clone(),
            role,
            expires_at: (now + self.ttl_s).min(deadline),
        };
        let token = self.store.issue_token(user.id);
        self.store.put_session(&token.hash, &rec, deadline).await?;
        // A role change landing between reading the role above and storing the session updated
        // every session but this one: store what the directory says now.
        if user.role() != role {
            let _order = self.role_writes.lock().await;
            self.store.set_session_role(user.id, user.role()).await?;
        }
        Ok(Grant { access: token.text, expires_in: rec.expires_at - now, refresh: None })
    }

    /// Stores a session per user in one batch, as logins at `now` would have (the token hashes are
    /// of tokens nobody holds): a realistic keyspace for lookups, without argon2 per record.
    pub async fn seed(&self, users: &[&User], now: u64) -> Result<(), Failure> {
        let deadline = now + self.absolute_s;
        let batch: Vec<SeededSession> = users
            .iter()
            .map(|u| SeededSession {
                hash: self.store.seed_hash(u.id),
                rec: SessionRecord {
                    user_id: u.id,
                    username: u.username.clone(),
                    role: u.role(),
                    expires_at: (now + self.ttl_s).min(deadline),
                },
                deadline,
            })
            .collect();
        Ok(self.store.seed_sessions(&batch).await?)
    }

    /// Session refresh is id rotation: in one atomic store operation the session moves to a new
    /// token with a fresh lifetime (never past the login's absolute deadline) and the presented
    /// token stops working.
    pub async fn refresh(&self, token: &str, now: u64) -> Result<Grant, Failure> {
        check_shape(token)?;
        let next = self.store.rotated_token(token);
        let rec = self
            .store
            .rotate_session(&self.store.hash_token(token), &next.hash, now, now + self.ttl_s)
            .await?
            .ok_or(Failure::Unknown)?;
        Ok(Grant { access: next.text, expires_in: rec.expires_at.saturating_sub(now), refresh: None })
    }

    /// Deletes the presented session (or, if a refresh just rotated it, the session it moved to).
    pub async fn logout(&self, token: &str) -> Result<bool, Failure> {
        if !opaque::looks_valid(token) {
            return Err(Failure::Malformed);
        }
        self.store.delete_session(&self.store.hash_token(token)).await?;
        Ok(true)
    }
}

fn check_shape(token: &str) -> Result<(), Failure> {
    if token.len() > crate::token::jwt::MAX_TOKEN_LEN {
        return Err(Failure::Oversized);
    }
    if !opaque::looks_valid(token) {
        return Err(Failure::Malformed);
    }
    Ok(())
}
