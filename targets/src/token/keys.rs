//! Signing keys: loaded from the key directory, generated there on first use, published as JWKS.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};

use super::opaque::random_bytes;
use crate::token::alg::Alg;

/// Why keys could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot use key directory {dir}: {source} (pass a writable --key-dir)")]
    Dir { dir: PathBuf, source: std::io::Error },
    #[error("cannot read or write key file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("key file {path} is not a valid {alg} key: {reason} (delete it to have a new one generated)")]
    Invalid { path: PathBuf, alg: &'static str, reason: String },
    #[error("generating a {alg} key failed")]
    Generate { alg: &'static str },
}

/// The key material one target signs and verifies with, built once per process.
pub struct KeyMaterial {
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// Public keys to publish; empty for HMAC, whose secret must never leave the process.
    pub jwks: JwkSet,
}

fn file_name(alg: Alg) -> &'static str {
    match alg {
        Alg::Hs256 => "hs256.key",
        Alg::Rs256 => "rs256-2048.pem",
        Alg::Rs256_4096 => "rs256-4096.pem",
        Alg::Es256 => "es256.pem",
        Alg::EdDsa => "eddsa.pem",
    }
}

fn generate(alg: Alg) -> Result<Vec<u8>, KeyError> {
    let fail = || KeyError::Generate { alg: alg.as_str() };
    let pkcs8 = match alg {
        Alg::Hs256 => return Ok(random_bytes::<32>().to_vec()),
        Alg::Rs256 | Alg::Rs256_4096 => {
            let size =
                if alg == Alg::Rs256 { aws_lc_rs::rsa::KeySize::Rsa2048 } else { aws_lc_rs::rsa::KeySize::Rsa4096 };
            let pair = aws_lc_rs::rsa::KeyPair::generate(size).map_err(|_| fail())?;
            let der = pair.as_der().map_err(|_| fail())?;
            der.as_ref().to_vec()
        }
        Alg::Es256 => {
            let rng = SystemRandom::new();
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|_| fail())?.as_ref().to_vec()
        }
        Alg::EdDsa => {
            let rng = SystemRandom::new();
            Ed25519KeyPair::generate_pkcs8v1(&rng).map_err(|_| fail())?.as_ref().to_vec()
        }
    };
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8)).into_bytes())
}

/// Writes a new key so that concurrent targets sharing a directory all end up with the same key.
pub(crate) fn publish(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    // Unique per call, not just per process: threads of one process may publish the same key at once.
    let mut suffix = format!("tmp{}-", std::process::id());
    super::opaque::push_hex(&mut suffix, &random_bytes::<8>());
    let tmp = path.with_extension(suffix);
    let io = |source| KeyError::File { path: path.to_owned(), source };
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io)?;
    // hard_link fails if another process published first; its key then wins and is read back.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// Loads the key for `alg` from `dir`, generating and saving it first when it is missing.
pub fn load_or_generate(dir: &Path, alg: Alg) -> Result<KeyMaterial, KeyError> {
    fs::create_dir_all(dir).map_err(|source| KeyError::Dir { dir: dir.to_owned(), source })?;
    let path = dir.join(file_name(alg));
    if !path.exists() {
        publish(&path, &generate(alg)?)?;
    }
    let bytes = fs::read(&path).map_err(|source| KeyError::File { path: path.clone(), source })?;
    from_bytes(alg, &bytes).map_err(|reason| KeyError::Invalid { path, alg: alg.as_str(), reason })
}

/// Builds signing and verifying keys from a key file's contents.
pub fn from_bytes(alg: Alg, bytes: &[u8]) -> Result<KeyMaterial, String> {
    let encoding = match alg {
        Alg::Hs256 => {
            if bytes.len() < 32 {
                return Err(format!("HMAC secret has {} bytes, need at least 32", bytes.len()));
            }
            let decoding = DecodingKey::from_secret(bytes);
            return Ok(KeyMaterial {
                encoding: EncodingKey::from_secret(bytes),
                decoding,
                jwks: JwkSet { keys: vec![] },
            });
        }
        Alg::Rs256 | Alg::Rs256_4096 => EncodingKey::from_rsa_pem(bytes),
        Alg::Es256 => EncodingKey::from_ec_pem(bytes),
        Alg::EdDsa => EncodingKey::from_ed_pem(bytes),
    }
    .map_err(|e| e.to_string())?;
    let mut jwk = Jwk::from_encoding_key(&encoding, alg.jose()).map_err(|e| e.to_string())?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    // The RFC 7638 thumbprint names this very key: a regenerated key gets a new kid, so a relying
    // party that caches the JWKS by kid fetches it again instead of checking against a stale key.
    jwk.common.key_id = Some(jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| e.to_string())?);
    jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
    Ok(KeyMaterial { encoding, decoding, jwks: JwkSet { keys: vec![jwk] } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("authbench-keys-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn generated_keys_are_saved_and_reloaded_identically() {
        let dir = temp_dir("reload");
        for alg in [Alg::Hs256, Alg::Rs256, Alg::Es256, Alg::EdDsa] {
            let first = load_or_generate(&dir, alg).unwrap();
            let second = load_or_generate(&dir, alg).unwrap();
            assert_eq!(first.encoding.as_bytes(), second.encoding.as_bytes(), "{alg:?}");
            let expected_public = usize::from(alg != Alg::Hs256);
            assert_eq!(first.jwks.keys.len(), expected_public, "{alg:?}");
        }
        let mode = fs::metadata(dir.join("hs256.key")).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0, "secret readable by others");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn kid_is_the_key_thumbprint() {
        let (a, b) = (temp_dir("kid-a"), temp_dir("kid-b"));
        for alg in [Alg::Rs256, Alg::Es256, Alg::EdDsa] {
            let kid = |dir: &Path| load_or_generate(dir, alg).unwrap().jwks.keys[0].common.key_id.clone().unwrap();
            assert_eq!(kid(&a).len(), 43, "{alg:?}: base64url SHA-256");
            assert_eq!(kid(&a), kid(&a), "{alg:?}: stable across reloads");
            assert_ne!(kid(&a), kid(&b), "{alg:?}: another key, another kid");
        }
        fs::remove_dir_all(&a).unwrap();
        fs::remove_dir_all(&b).unwrap();
    }

    #[test]
    fn concurrent_first_use_in_one_process_yields_one_key() {
        let dir = temp_dir("race");
        let keys: Vec<Vec<u8>> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..8)
                .map(|_| sc.spawn(|| load_or_generate(&dir, Alg::Es256).map(|k| k.encoding.as_bytes().to_vec())))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "threads ended up with different keys");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_key_file_is_reported_not_replaced() {
        let dir = temp_dir("corrupt");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("es256.pem"), b"not a key").unwrap();
        let err = load_or_generate(&dir, Alg::Es256).err().unwrap();
        assert!(err.to_string().contains("es256.pem"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
