//! Opaque tokens: 256 random bits for the client, only their SHA-256 for the store.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Random bytes in an opaque token: 256 bits, twice the 128-bit minimum.
pub const TOKEN_BYTES: usize = 32;

/// Length of the base64url text the client carries.
pub const TOKEN_TEXT_LEN: usize = 43;

/// SHA-256 of a token: what the store keeps, so a leaked store yields no usable credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

/// Appends bytes as lower-case hex, so a key can be built in one buffer.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

impl TokenHash {
    /// Lower-case hex, for Redis keys and values.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        push_hex(&mut s, &self.0);
        s
    }
}

/// A freshly generated token: the text goes to the client, the hash to the store.
pub struct OpaqueToken {
    pub text: String,
    pub hash: TokenHash,
}

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // SystemRandom reads getrandom(2); it fails only if the kernel has no entropy source at all.
    SystemRandom::new().fill(&mut buf).expect("the operating system's random number generator is unavailable");
    buf
}

/// Issues a new opaque token.
pub fn generate() -> OpaqueToken {
    let raw: [u8; TOKEN_BYTES] = random_bytes();
    let text = URL_SAFE_NO_PAD.encode(raw);
    let hash = hash_text(&text);
    OpaqueToken { text, hash }
}

/// Bytes of a [`SlotTag`] at the start of a tagged token (the rest, 224 bits, is random).
pub const TAG_BYTES: usize = 4;

/// The first bytes of a tagged token: a Redis Cluster store keeps everything of one user under one
/// hash slot named by it, so a token alone says which slot its session lives in. It is a keyed
/// hash of the user id (see `store::redis`), so it names no user to whoever lacks the store's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotTag(pub [u8; TAG_BYTES]);

impl SlotTag {
    /// Lower-case hex, as it appears between the braces of a Redis key.
    pub fn to_hex(self) -> String {
        let mut s = String::with_capacity(2 * TAG_BYTES);
        push_hex(&mut s, &self.0);
        s
    }
}

/// Issues a token that starts with `tag`, followed by 224 random bits (well above the 128-bit
/// minimum); same length and alphabet as an untagged one.
pub fn generate_tagged(tag: SlotTag) -> OpaqueToken {
    let mut raw: [u8; TOKEN_BYTES] = random_bytes();
    raw[..TAG_BYTES].copy_from_slice(&tag.0);
    let text = URL_SAFE_NO_PAD.encode(raw);
    let hash = hash_tagged(&text);
    OpaqueToken { text, hash }
}

/// The tag a token starts with, read from its first 8 characters (6 bytes, no padding involved);
/// None when the text is too short or not base64url.
pub fn tag_of(text: &str) -> Option<SlotTag> {
    let head = URL_SAFE_NO_PAD.decode(text.get(..8)?).ok()?;
    let mut tag = [0u8; TAG_BYTES];
    tag.copy_from_slice(head.get(..TAG_BYTES)?);
    Some(SlotTag(tag))
}

/// What the store keeps of a tagged token: its tag, then the first 28 bytes of its SHA-256. The
/// tag is no secret (it is in the token and names no user); the 224 hashed bits stay unusable as
/// a credential. A text that is no tagged token hashes under tag 0, where nothing is stored.
pub fn hash_tagged(text: &str) -> TokenHash {
    let d = digest::digest(&digest::SHA256, text.as_bytes());
    let mut out = [0u8; 32];
    out[..TAG_BYTES].copy_from_slice(&tag_of(text).unwrap_or(SlotTag([0; TAG_BYTES])).0);
    out[TAG_BYTES..].copy_from_slice(&d.as_ref()[..32 - TAG_BYTES]);
    TokenHash(out)
}

impl TokenHash {
    /// The slot tag a [`hash_tagged`] hash starts with (meaningless for an untagged hash).
    pub fn tag(&self) -> SlotTag {
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&self.0[..TAG_BYTES]);
        SlotTag(tag)
    }
}

/// Hashes what the client presented; the store is queried with this.
pub fn hash_text(text: &str) -> TokenHash {
    let d = digest::digest(&digest::SHA256, text.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    TokenHash(out)
}

/// Cheap shape check so garbage never reaches the store.
pub fn looks_valid(text: &str) -> bool {
    text.len() == TOKEN_TEXT_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_well_formed_and_hashed() {
        let a = generate();
        let b = generate();
        assert_ne!(a.text, b.text);
        assert_eq!(a.text.len(), TOKEN_TEXT_LEN);
        assert!(looks_valid(&a.text));
        assert_eq!(hash_text(&a.text), a.hash);
        assert_ne!(a.hash.0.as_slice(), a.text.as_bytes().get(..32).unwrap_or_default());
        assert_eq!(a.hash.to_hex().len(), 64);
    }

    #[test]
    fn tagged_tokens_carry_their_tag_and_stay_random_and_hashed() {
        let tag = SlotTag([0xde, 0xad, 0xbe, 0xef]);
        let a = generate_tagged(tag);
        let b = generate_tagged(tag);
        assert_ne!(a.text, b.text);
        assert!(looks_valid(&a.text), "same shape as an untagged token: {}", a.text);
        assert_eq!((tag_of(&a.text), a.hash.tag(), tag.to_hex()), (Some(tag), tag, "deadbeef".to_owned()));
        assert_eq!(hash_tagged(&a.text), a.hash);
        assert_ne!(a.hash, hash_text(&a.text), "the tagged hash is its own scheme");
        assert_eq!(a.hash.0[TAG_BYTES..], hash_text(&a.text).0[..32 - TAG_BYTES]);
        assert_eq!(tag_of("short"), None);
        assert_eq!(hash_tagged("!!!!!!!!").tag(), SlotTag([0; TAG_BYTES]));
    }

    #[test]
    fn hex_is_lower_case_and_zero_padded() {
        let mut s = String::from("k:");
        push_hex(&mut s, &[0x00, 0x0f, 0xab, 0xff]);
        assert_eq!(s, "k:000fabff");
    }

    #[test]
    fn shape_check_rejects_garbage() {
        assert!(!looks_valid(""));
        assert!(!looks_valid("a.b.c"));
        assert!(!looks_valid(&"a".repeat(44)));
        assert!(!looks_valid(&"=".repeat(43)));
    }
}
