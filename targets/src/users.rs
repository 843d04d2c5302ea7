//! Seeded users, their roles, and the argon2id password check every login pays.
//!
//! Seeded users are benchmark fixtures: `user{i}` has password `pass-{i}`. Seeding must be fast
//! (10,000 users in well under 5 s), so one argon2id hash is computed at start and shared. Every
//! login attempt — right password, wrong password or unknown user — runs exactly one argon2id
//! verification at the configured cost against it and compares the password in constant time,
//! so a login costs what a real one does and timing tells nothing about which usernames exist.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::token::opaque::random_bytes;

/// What a user may do; `admin` unlocks /api/admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    /// Text form used in stores and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// Parses the text form; anything else is not a role.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Role::Admin => 0,
            Role::User => 1,
        }
    }

    fn from_u8(v: u8) -> Role {
        if v == 0 {
            Role::Admin
        } else {
            Role::User
        }
    }
}

/// A user id in the one form the targets write it: decimal digits, no sign, no leading zero ("+7"
/// or "007" would parse to 7 as well, and a second spelling of an id is a second credential).
pub fn parse_id(text: &str) -> Option<u64> {
    let canonical = text.bytes().all(|b| b.is_ascii_digit()) && (text.len() == 1 || !text.starts_with('0'));
    text.parse().ok().filter(|_| canonical)
}

/// One account.
pub struct User {
    pub id: u64,
    pub username: String,
    role: AtomicU8,
}

impl User {
    /// Current role; changes through the control API are visible here at once.
    pub fn role(&self) -> Role {
        Role::from_u8(self.role.load(Ordering::Acquire))
    }
}

/// Why the password hasher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2id parameters rejected (m={m_kib} KiB, t={t}, p={p}): {reason}")]
    Params { m_kib: u32, t: u32, p: u32, reason: String },
}

/// The account table: read-mostly, roles updated atomically.
pub struct Directory {
    users: Vec<User>,
    by_name: HashMap<String, u64>,
    hasher: Argon2<'static>,
    salt: [u8; 16],
    digest: [u8; 32],
}

const SEED_SECRET: &[u8] = b"authbench seeded account";

impl Directory {
    /// Creates users user0..user{n-1}; user0 is admin. Idempotent: the same n gives the same users.
    pub fn seeded(n: u64, m_kib: u32, t: u32, p: u32) -> Result<Directory, PasswordError> {
        let params = Params::new(m_kib, t, p, Some(32)).map_err(|e| PasswordError::Params {
            m_kib,
            t,
            p,
            reason: e.to_string(),
        })?;
        let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = random_bytes::<16>();
        let mut digest = [0u8; 32];
        hasher.hash_password_into(SEED_SECRET, &salt, &mut digest).map_err(|e| PasswordError::Params {
            m_kib,
            t,
            p,
            reason: e.to_string(),
        })?;
        let users: Vec<User> = (0..n)
            .map(|id| User {
                id,
                username: crate::contract::username(id),
                role: AtomicU8::new(if id == crate::contract::ADMIN_USER { Role::Admin } else { Role::User }.to_u8()),
            })
            .collect();
        let by_name = users.iter().map(|u| (u.username.clone(), u.id)).collect();
        Ok(Directory { users, by_name, hasher, salt, digest })
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when no users were seeded.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Looks a user up by id.
    pub fn get(&self, id: u64) -> Option<&User> {
        usize::try_from(id).ok().and_then(|i| self.users.get(i))
    }

    /// Changes a user's role; returns false for an unknown id.
    pub fn set_role(&self, id: u64, role: Role) -> bool {
        match self.get(id) {
            Some(u) => {
                u.role.store(role.to_u8(), Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Argon2 memory blocks one password check needs (`memory` of [`Directory::check_password`]).
    pub fn hash_blocks(&self) -> usize {
        self.hasher.params().block_count()
    }

    /// Checks a username and password with one argon2id verification whatever the outcome, in
    /// the caller's argon2 memory (at least [`Directory::hash_blocks`] blocks, reused across
    /// calls so hashing never allocates). Blocking: call from a hashing thread.
    pub fn check_password(&self, username: &str, password: &str, memory: &mut [Block]) -> Option<&User> {
        let mut computed = [0u8; 32];
        let hashed = self.hasher.hash_password_into_with_memory(SEED_SECRET, &self.salt, &mut computed, memory).is_ok();
        let hash_ok = hashed && bool::from(computed.ct_eq(&self.digest));
        let user = self.by_name.get(username).and_then(|id| self.get(*id));
        let expected = match user {
            Some(u) => crate::contract::password(u.id),
            None => String::from("\u{0}no such user"),
        };
        let password_ok = bool::from(expected.as_bytes().ct_eq(password.as_bytes()));
        if hash_ok && password_ok {
            user
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(n: u64) -> Directory {
        Directory::seeded(n, 256, 1, 1).unwrap()
    }

    #[test]
    fn seeding_makes_admin_and_users() {
        let d = dir(3);
        assert_eq!(d.len(), 3);
        assert_eq!(d.get(0).unwrap().role(), Role::Admin);
        assert_eq!(d.get(2).unwrap().role(), Role::User);
        assert_eq!(d.get(2).unwrap().username, "user2");
        assert!(d.get(3).is_none());
    }

    #[test]
    fn password_check() {
        let d = dir(3);
        let mut m = vec![Block::default(); d.hash_blocks()];
        assert_eq!(d.check_password("user1", "pass-1", &mut m).map(|u| u.id), Some(1));
        assert!(d.check_password("user1", "pass-2", &mut m).is_none());
        assert!(d.check_password("user1", "", &mut m).is_none());
        assert!(d.check_password("nobody", "pass-1", &mut m).is_none());
        assert!(d.check_password("user9", "pass-9", &mut m).is_none());
        // Reused memory holds the previous hash's blocks: the right password still matches.
        assert_eq!(d.check_password("user2", "pass-2", &mut m).map(|u| u.id), Some(2));
    }

    #[test]
    fn too_little_memory_refuses_rather_than_accepts() {
        let d = dir(3);
        let mut m = vec![Block::default(); 1];
        assert!(d.check_password("user1", "pass-1", &mut m).is_none());
    }

    #[test]
    fn role_change_is_visible() {
        let d = dir(2);
        assert!(d.set_role(0, Role::User));
        assert_eq!(d.get(0).unwrap().role(), Role::User);
        assert!(!d.set_role(5, Role::Admin));
    }

    #[test]
    fn ten_thousand_users_seed_with_owasp_cost() {
        let d = Directory::seeded(10_000, 19_456, 2, 1).unwrap();
        assert_eq!(d.len(), 10_000);
        let mut m = vec![Block::default(); d.hash_blocks()];
        assert_eq!(d.check_password("user9999", "pass-9999", &mut m).map(|u| u.id), Some(9999));
    }

    #[test]
    fn bad_cost_is_a_clear_error() {
        let err = Directory::seeded(1, 1, 0, 1).err().unwrap();
        assert!(err.to_string().contains("argon2id parameters"), "{err}");
    }
}
