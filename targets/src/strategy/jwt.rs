//! jwt: a self-contained signed token, verified locally; an optional denylist buys revocation back.

use super::{Grant, Principal};
use crate::error::Failure;
use crate::store::Store;
use crate::token::jwt::JwtCodec;
use crate::users::User;

/// Stateless tokens, optionally checked against a denylist.
pub struct JwtStrategy {
    pub codec: JwtCodec,
    pub denylist: Option<Store>,
}

impl JwtStrategy {
    /// Verifies locally; with a denylist, one store lookup covering the token and its user.
    pub async fn authenticate(&self, token: &str, now: u64) -> Result<Principal, Failure> {
        let (id, claims) = self.codec.verify(token, now)?;
        if let Some(store) = &self.denylist {
            if store.is_denied(&claims.jti, id, claims.iat).await? {
                return Err(Failure::Revoked);
            }
        }
        Ok(Principal { id, username: claims.name, role: claims.role })
    }

    /// Signs a token with the user's current role.
    pub fn issue(&self, user: &User, now: u64) -> Result<Grant, Failure> {
        let t = self.codec.issue(user.id, &user.username, user.role(), now)?;
        Ok(Grant { access: t.token, expires_in: t.expires_in, refresh: None })
    }

    /// jwt has no refresh token: a still-valid token is exchanged for a fresh one with the same claims.
    /// Without a denylist the old token stays valid until its own exp.
    pub async fn refresh(&self, token: &str, now: u64) -> Result<Grant, Failure> {
        let (id, claims) = self.codec.verify(token, now)?;
        if let Some(store) = &self.denylist {
            if store.is_denied(&claims.jti, id, claims.iat).await? {
                return Err(Failure::Revoked);
            }
            store.deny_token(&claims.jti, claims.exp).await?;
        }
        let t = self.codec.issue(id, &claims.name, claims.role, now)?;
        Ok(Grant { access: t.token, expires_in: t.expires_in, refresh: None })
    }

    /// Denies the presented token when a denylist exists; otherwise nothing can be invalidated.
    pub async fn logout(&self, token: &str, now: u64) -> Result<bool, Failure> {
        let Some(store) = &self.denylist else {
            return Ok(false);
        };
        let (_, claims) = self.codec.verify(token, now)?;
        store.deny_token(&claims.jti, claims.exp).await?;
        Ok(true)
    }

    /// Denies every token the user holds, if there is a denylist.
    pub async fn revoke_user(&self, user_id: u64, now: u64) -> Result<bool, Failure> {
        let Some(store) = &self.denylist else {
            return Ok(false);
        };
        store.deny_user(user_id, now).await?;
        Ok(true)
    }
}
