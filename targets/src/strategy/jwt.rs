//! jwt: a self-contained signed token, verified locally; an optional denylist buys revocation back.

use super::{Grant, Principal};
use crate::error::Failure;
use crate::store::Store;
use crate::token::jwt::{Chain, JwtCodec};
use crate::users::{Directory, User};

/// Stateless tokens, optionally checked against a denylist.
pub struct JwtStrategy {
    pub codec: JwtCodec,
    pub denylist: Option<Store>,
    /// Longest a login's chain of refreshed tokens lasts (`--absolute-ttl`), in seconds: no token of
    /// the chain outlives its `auth_time` plus this.
    pub absolute_s: u64,
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

    /// Signs the first token of a chain with the user's current role; it carries the login time.
    pub fn issue(&self, user: &User, now: u64) -> Result<Grant, Failure> {
        let chain = Chain { auth_time: now, not_after: now.saturating_add(self.absolute_s) };
        self.grant(user, chain, now)
    }

    fn grant(&self, user: &User, chain: Chain, now: u64) -> Result<Grant, Failure> {
        let t = self.codec.issue_in_chain(user.id, &user.username, user.role(), chain, now)?;
        Ok(Grant { access: t.token, expires_in: t.expires_in, refresh: None })
    }

    /// jwt has no refresh token: a still-valid token is exchanged for a new one. The claims come from
    /// the directory, not the old token, so a role change or a vanished user shows at the next refresh;
    /// the login time is carried over, and the chain ends `absolute_s` after it. With a denylist the
    /// old token is denied; without one it stays valid until its own exp.
    pub async fn refresh(&self, users: &Directory, token: &str, now: u64) -> Result<Grant, Failure> {
        let (id, claims) = self.codec.verify(token, now)?;
        // A token that does not say when its login happened could start a chain of its own.
        let auth_time = claims.auth_time.ok_or(Failure::BadClaims)?;
        let chain = Chain { auth_time, not_after: auth_time.saturating_add(self.absolute_s) };
        if now >= chain.not_after {
            return Err(Failure::Expired);
        }
        let user = users.get(id).ok_or(Failure::Unknown)?;
        if let Some(store) = &self.denylist {
            // Denying the presented token is the spend: of two refreshes racing with it, one wins.
            if store.is_denied(&claims.jti, id, claims.iat).await?
                || !store.deny_token(&claims.jti, self.codec.refused_from(claims.exp)).await?
            {
                return Err(Failure::Revoked);
            }
        }
        self.grant(user, chain, now)
    }

    /// Denies the presented token when a denylist exists; otherwise nothing can be invalidated. The
    /// token is verified either way, so a forged one gets a 401 rather than a "logged out".
    pub async fn logout(&self, token: &str, now: u64) -> Result<bool, Failure> {
        let (_, claims) = self.codec.verify(token, now)?;
        let Some(store) = &self.denylist else {
            return Ok(false);
        };
        store.deny_token(&claims.jti, self.codec.refused_from(claims.exp)).await?;
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
