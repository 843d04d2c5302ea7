//! session: an opaque random token whose hash keys a stored session, looked up on every request.

use super::{Grant, Principal};
use crate::error::Failure;
use crate::store::{SessionRecord, Store};
use crate::token::opaque;
use crate::users::User;

/// Server-side sessions.
pub struct SessionStrategy {
    pub store: Store,
    pub ttl_s: u64,
}

impl SessionStrategy {
    /// The one store lookup per request; role and expiry come from the store, so changes apply at once.
    pub async fn authenticate(&self, token: &str, now: u64) -> Result<Principal, Failure> {
        let rec = self.lookup(token, now).await?;
        Ok(Principal { id: rec.user_id, username: rec.username, role: rec.role })
    }

    async fn lookup(&self, token: &str, now: u64) -> Result<SessionRecord, Failure> {
        if token.len() > crate::token::jwt::MAX_TOKEN_LEN {
            return Err(Failure::Oversized);
        }
        if !opaque::looks_valid(token) {
            return Err(Failure::Malformed);
        }
        self.store.get_session(&opaque::hash_text(token), now).await?.ok_or(Failure::Unknown)
    }

    /// Creates a session for the user.
    pub async fn issue(&self, user: &User, now: u64) -> Result<Grant, Failure> {
        let rec = SessionRecord {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role(),
            expires_at: now + self.ttl_s,
        };
        self.create(&rec).await
    }

    async fn create(&self, rec: &SessionRecord) -> Result<Grant, Failure> {
        let token = opaque::generate();
        self.store.put_session(&token.hash, rec).await?;
        Ok(Grant { access: token.text, expires_in: self.ttl_s, refresh: None })
    }

    /// Session refresh is id rotation: a new token with a fresh lifetime replaces the presented one.
    pub async fn refresh(&self, token: &str, now: u64) -> Result<Grant, Failure> {
        let mut rec = self.lookup(token, now).await?;
        rec.expires_at = now + self.ttl_s;
        let grant = self.create(&rec).await?;
        self.store.delete_session(&opaque::hash_text(token)).await?;
        Ok(grant)
    }

    /// Deletes the presented session.
    pub async fn logout(&self, token: &str) -> Result<bool, Failure> {
        if !opaque::looks_valid(token) {
            return Err(Failure::Malformed);
        }
        self.store.delete_session(&opaque::hash_text(token)).await?;
        Ok(true)
    }
}
