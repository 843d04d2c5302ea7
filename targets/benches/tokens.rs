//! Where a token's microseconds go, through the targets' own code: JWT issue and full verification per
//! algorithm, what jsonwebtoken's per-call key parsing costs, opaque tokens, credential headers.
//!
//! `cargo bench -p authbench-targets --bench tokens`; estimates land in target/criterion, where
//! `authbench report` reads them.

mod support;

use std::hint::black_box;
use std::path::Path;

use authbench_targets::http::credentials::{access_credential, ACCESS_COOKIE};
use authbench_targets::spec::Transport;
use authbench_targets::token::alg::Alg;
use authbench_targets::token::jwt::{JwtCodec, TYP_JWT};
use authbench_targets::token::{keys, opaque, unix_now};
use authbench_targets::users::Role;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{BenchmarkId, Criterion};
use jsonwebtoken::{DecodingKey, EncodingKey};

/// The same keys parsed once and kept: what jsonwebtoken would cost if it did not re-parse per call.
enum CachedKey {
    Hmac(Box<hmac::Key>),
    Rsa(RsaKeyPair, ParsedPublicKey),
    Ec(EcdsaKeyPair, ParsedPublicKey),
    Ed(Ed25519KeyPair, ParsedPublicKey),
}

impl CachedKey {
    fn new(alg: Alg, encoding: &EncodingKey) -> CachedKey {
        let der = encoding.as_bytes();
        match alg {
            Alg::Hs256 => CachedKey::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, der))),
            Alg::Rs256 | Alg::Rs256_4096 => {
                let pair = RsaKeyPair::from_der(der).expect("RSA key from the key directory");
                let public = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref())
                    .expect("RSA public key");
                CachedKey::Rsa(pair, public)
            }
            Alg::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).expect("P-256 key");
                let public =
                    ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref()).expect("P-256 public");
                CachedKey::Ec(pair, public)
            }
            Alg::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8(der).expect("Ed25519 key");
                let public = ParsedPublicKey::new(&ED25519, pair.public_key().as_ref()).expect("Ed25519 public");
                CachedKey::Ed(pair, public)
            }
        }
    }

    /// Signs and base64url-encodes, as `jsonwebtoken::crypto::sign` does.
    fn sign(&self, msg: &[u8]) -> String {
        let rng = SystemRandom::new();
        match self {
            CachedKey::Hmac(k) => URL_SAFE_NO_PAD.encode(hmac::sign(k, msg)),
            CachedKey::Rsa(pair, _) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig).expect("RSA signing");
                URL_SAFE_NO_PAD.encode(sig)
            }
            CachedKey::Ec(pair, _) => URL_SAFE_NO_PAD.encode(pair.sign(&rng, msg).expect("ECDSA signing")),
            CachedKey::Ed(pair, _) => URL_SAFE_NO_PAD.encode(pair.sign(msg)),
        }
    }

    /// Decodes and checks a signature, as `jsonwebtoken::crypto::verify` does.
    fn verify(&self, sig_b64: &str, msg: &[u8]) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig_b64) else { return false };
        match self {
            CachedKey::Hmac(k) => hmac::verify(k, msg, &sig).is_ok(),
            CachedKey::Rsa(_, p) | CachedKey::Ec(_, p) | CachedKey::Ed(_, p) => p.verify_sig(msg, &sig).is_ok(),
        }
    }
}

fn jwt(c: &mut Criterion, dir: &Path) {
    let now = unix_now();
    for alg in Alg::ALL {
        let material = keys::load_or_generate(dir, alg).expect("keys for the benchmark");
        let encoding = material.encoding.clone();
        let decoding: DecodingKey = material.decoding.clone();
        let codec = JwtCodec::new(alg, material, 900, 0, TYP_JWT, "authbench", "authbench-api");
        let token = codec.issue(7, "user7", Role::User, now).expect("issue").token;
        assert!(codec.verify(&token, now).is_ok(), "{alg:?}: a freshly issued token must verify");

        c.benchmark_group("jwt_issue").bench_function(alg.as_str(), |b| {
            b.iter(|| codec.issue(black_box(7), "user7", Role::User, now).map(|t| t.token))
        });
        c.benchmark_group("jwt_verify")
            .bench_function(alg.as_str(), |b| b.iter(|| codec.verify(black_box(&token), now)));

        // Signature only, same signing input: jsonwebtoken's call (key parsed on every call) against
        // aws-lc-rs with the key parsed once. The difference is the per-call key parsing.
        let (msg, sig) = token.rsplit_once('.').expect("three-part token");
        let cached = CachedKey::new(alg, &encoding);
        assert!(cached.verify(sig, msg.as_bytes()), "{alg:?}: cached key must verify the codec's token");
        let jose = alg.jose();
        let mut g = c.benchmark_group("jwt_signature");
        g.bench_function(BenchmarkId::new("sign-jsonwebtoken", alg.as_str()), |b| {
            b.iter(|| jsonwebtoken::crypto::sign(black_box(msg.as_bytes()), &encoding, jose))
        });
        g.bench_function(BenchmarkId::new("sign-cached-key", alg.as_str()), |b| {
            b.iter(|| cached.sign(black_box(msg.as_bytes())))
        });
        g.bench_function(BenchmarkId::new("verify-jsonwebtoken", alg.as_str()), |b| {
            b.iter(|| jsonwebtoken::crypto::verify(black_box(sig), msg.as_bytes(), &decoding, jose))
        });
        g.bench_function(BenchmarkId::new("verify-cached-key", alg.as_str()), |b| {
            b.iter(|| cached.verify(black_box(sig), msg.as_bytes()))
        });
        g.finish();
    }
}

fn opaque_tokens(c: &mut Criterion) {
    let mut g = c.benchmark_group("opaque_token");
    g.bench_function("generate", |b| b.iter(opaque::generate));
    let text = opaque::generate().text;
    g.bench_function("hash", |b| b.iter(|| opaque::hash_text(black_box(&text))));
    g.finish();
}

fn credential_headers(c: &mut Criterion, dir: &Path) {
    let material = keys::load_or_generate(dir, Alg::Hs256).expect("keys for the benchmark");
    let codec = JwtCodec::new(Alg::Hs256, material, 900, 0, TYP_JWT, "authbench", "authbench-api");
    let token = codec.issue(7, "user7", Role::User, unix_now()).expect("issue").token;
    let mut bearer = HeaderMap::new();
    bearer.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).expect("header value"));
    // A browser sends its other cookies for the site too; the credential is one of three.
    let mut cookie = HeaderMap::new();
    let jar = format!("theme=dark; {ACCESS_COOKIE}={token}; consent=essential");
    cookie.insert(COOKIE, HeaderValue::from_str(&jar).expect("header value"));
    assert_eq!(access_credential(&cookie, Transport::Cookie), Ok(token.as_str()));

    let mut g = c.benchmark_group("credential_header");
    g.bench_function("bearer", |b| b.iter(|| access_credential(black_box(&bearer), Transport::Bearer).map(str::len)));
    g.bench_function("cookie", |b| b.iter(|| access_credential(black_box(&cookie), Transport::Cookie).map(str::len)));
    g.finish();
}

fn main() {
    support::release_on_interrupt("tokens");
    let dir = support::key_dir("tokens");
    let mut c = support::criterion();
    jwt(&mut c, &dir);
    opaque_tokens(&mut c);
    credential_headers(&mut c, &dir);
    c.final_summary();
    support::release();
}
