//! none: no authentication at all. The credential is the user's id in decimal and is never
//! checked; the user's record comes from the directory. It exists as the floor: the same server,
//! instrumentation and response as every strategy, without the auth work, so each strategy's cost
//! is measured against it rather than against zero. The target serves it on loopback only.

use super::{Grant, Principal};
use crate::error::Failure;
use crate::users::{parse_id, Directory, User};

/// The no-auth floor.
pub struct NoneStrategy {
    /// The lifetime handed out with a credential (the jwt token TTL), so clients behave alike.
    pub expires_in: u64,
}

impl NoneStrategy {
    /// The user a credential names; a credential that names nobody is still a 401.
    pub fn authenticate(&self, users: &Directory, credential: &str) -> Result<Principal, Failure> {
        let id = parse_id(credential).ok_or(Failure::Malformed)?;
        let user = users.get(id).ok_or(Failure::Unknown)?;
        Ok(Principal { id, username: user.username.clone(), role: user.role() })
    }

    /// A credential naming the user.
    pub fn issue(&self, user: &User) -> Grant {
        Grant { access: user.id.to_string(), expires_in: self.expires_in, refresh: None }
    }

    /// Exchanges a credential for the same one: there is nothing to renew.
    pub fn refresh(&self, users: &Directory, credential: &str) -> Result<Grant, Failure> {
        let id = parse_id(credential).ok_or(Failure::Malformed)?;
        users.get(id).map(|user| self.issue(user)).ok_or(Failure::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_canonical_id_of_a_known_user_gets_through() {
        let users = Directory::seeded(3, 8, 1, 1).unwrap();
        let s = NoneStrategy { expires_in: 60 };
        assert_eq!(s.authenticate(&users, "2").unwrap().id, 2);
        assert_eq!(s.authenticate(&users, "0").unwrap().role, crate::users::Role::Admin);
        for bad in ["", "02", "+2", "2 ", "x", "18446744073709551616"] {
            assert!(matches!(s.authenticate(&users, bad), Err(Failure::Malformed)), "{bad:?}");
        }
        assert!(matches!(s.authenticate(&users, "9"), Err(Failure::Unknown)));
        assert_eq!(s.refresh(&users, "1").unwrap().access, "1");
    }
}
