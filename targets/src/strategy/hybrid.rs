//! hybrid: a short access JWT verified locally, and an opaque refresh token stored hashed and rotated.

use super::{Grant, Principal};
use crate::error::Failure;
use crate::store::{FamilyId, Rotation, SeededFamily, Store};
use crate::token::jwt::JwtCodec;
use crate::token::opaque;
use crate::users::{Directory, User};

/// Access tokens plus stored refresh tokens.
pub struct HybridStrategy {
    pub codec: JwtCodec,
    pub store: Store,
    /// Lifetime of each refresh token (a rotation starts a new one).
    pub refresh_ttl_s: u64,
    /// Absolute lifetime of a login's refresh-token family: no rotated token outlives login + this.
    pub absolute_s: u64,
}

impl HybridStrategy {
    /// Per request: verify the access token only; the store is not touched.
    pub fn authenticate(&self, token: &str, now: u64) -> Result<Principal, Failure> {
        let (id, claims) = self.codec.verify(token, now)?;
        Ok(Principal { id, username: claims.name, role: claims.role })
    }

    /// Signs an access token and starts a new refresh-token family.
    pub async fn issue(&self, user: &User, now: u64) -> Result<Grant, Failure> {
        let refresh = self.store.issue_token(user.id);
        let deadline = now + self.absolute_s;
        let expires_at = (now + self.refresh_ttl_s).min(deadline);
        self.store.put_refresh(&refresh.hash, FamilyId::generate(), user.id, expires_at, deadline).await?;
        self.grant(user, refresh.text, expires_at - now, now)
    }

    /// Starts a refresh-token family per user in one batch, as logins at `now` would have (of
    /// tokens nobody holds), without signing access tokens no one will use.
    pub async fn seed(&self, users: &[&User], now: u64) -> Result<(), Failure> {
        let deadline = now + self.absolute_s;
        let batch: Vec<SeededFamily> = users
            .iter()
            .map(|u| SeededFamily {
                hash: self.store.seed_hash(u.id),
                family: FamilyId::generate(),
                user_id: u.id,
                expires_at: (now + self.refresh_ttl_s).min(deadline),
                deadline,
            })
            .collect();
        Ok(self.store.seed_families(&batch).await?)
    }

    fn grant(&self, user: &User, refresh: String, refresh_ttl_s: u64, now: u64) -> Result<Grant, Failure> {
        let t = self.codec.issue(user.id, &user.username, user.role(), now)?;
        Ok(Grant { access: t.token, expires_in: t.expires_in, refresh: Some((refresh, refresh_ttl_s)) })
    }

    /// Spends the refresh token and issues a new pair; replaying a spent one revokes its family. The
    /// new refresh token never outlives the family's absolute deadline.
    pub async fn refresh(&self, users: &Directory, presented: &str, now: u64) -> Result<Grant, Failure> {
        if !opaque::looks_valid(presented) {
            return Err(Failure::Malformed);
        }
        let next = self.store.rotated_token(presented);
        match self
            .store
            .rotate_refresh(&self.store.hash_token(presented), &next.hash, now, now + self.refresh_ttl_s)
            .await?
        {
            Rotation::Rotated { user_id, expires_at } => {
                let user = users.get(user_id).ok_or(Failure::Unknown)?;
                self.grant(user, next.text, expires_at.saturating_sub(now), now)
            }
            Rotation::Reused { user_id } => {
                tracing::warn!(user_id, "spent refresh token replayed: family revoked");
                Err(Failure::RefreshReused)
            }
            Rotation::Invalid => Err(Failure::Unknown),
        }
    }

    /// Revokes the refresh family; an access token already issued lives until its exp.
    pub async fn logout(&self, refresh: &str) -> Result<bool, Failure> {
        if !opaque::looks_valid(refresh) {
            return Err(Failure::Malformed);
        }
        Ok(self.store.revoke_refresh_family(&self.store.hash_token(refresh)).await?)
    }
}
