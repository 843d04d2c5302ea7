//! Credentials the targets hand out: signed JWTs and random opaque tokens.

pub mod alg;
pub mod jwt;
pub mod keys;
pub mod opaque;

/// Seconds since the Unix epoch; the one clock every token and store uses.
pub fn unix_now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}
