//! Forgeries and privilege-retention attacks against running targets, for every signing algorithm an
//! attack applies to. A forged credential gets 401 on every route that reads one (GET /api/me,
//! /api/admin; POST /auth/refresh, /auth/logout on jwt targets), never a 5xx, and the target goes on
//! serving a valid token afterwards.
//!
//! Cases security.rs already covers are not repeated: `alg: none` in any case, stripped, truncated or
//! extra segments, HS256 keyed with the RS256 JWK or its modulus, wrong iss/aud, expired, missing
//! claims, `crit: ["exp"]`, a forged `at+jwt` typ, a jwt token or refresh token on a hybrid target.

mod support;

use std::time::Duration;

use authbench_targets::contract::{self, route, ADMIN_USER};
use authbench_targets::spec::{StoreKind, StrategyKind};
use authbench_targets::token::alg::Alg;
use authbench_targets::token::keys;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{jwt_header, jwt_payload, spec, Target};

/// The signing algorithms with distinct verification code (RS256-4096 differs from RS256 only in size).
const ALGS: [Alg; 4] = [Alg::Hs256, Alg::Rs256, Alg::Es256, Alg::EdDsa];

/// Order of the P-256 group: a valid ECDSA scalar r or s lies in [1, n-1].
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Claims shaped like the ones the targets issue, for user `sub`.
fn claims(sub: u64, role: &str) -> Value {
    let n = now();
    json!({"sub": sub.to_string(), "name": contract::username(sub), "role": role, "iat": n, "exp": n + 600,
           "auth_time": n, "iss": "authbench", "aud": "authbench-api", "jti": format!("forged-{sub}-{n}")})
}

fn header(alg: Algorithm) -> Header {
    Header { typ: Some("JWT".into()), ..Header::new(alg) }
}

/// The JOSE name of an algorithm, as it appears in a header.
fn jose_name(alg: Algorithm) -> String {
    serde_json::to_value(alg).unwrap().as_str().unwrap().to_owned()
}

/// Signs `header.payload` exactly as written, so a test can put what serde would never emit
/// (duplicate keys, odd number forms) under a valid signature.
fn sign_raw(header: &str, payload: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// The target's own signing key, read from its key directory: forging with it leaves only the
/// header and claim checks between a forgery and acceptance.
fn real_key(t: &Target) -> EncodingKey {
    keys::load_or_generate(&t.key_dir, t.spec.alg).unwrap().encoding
}

/// A key of the same algorithm that the target has never seen, and its public JWK.
fn attacker_key(alg: Alg) -> (EncodingKey, Jwk) {
    if alg == Alg::Hs256 {
        let secret = b"attacker-chosen-secret-0123456789abcdef";
        let jwk = serde_json::from_value(json!({"kty": "oct", "k": b64(secret)})).unwrap();
        return (EncodingKey::from_secret(secret), jwk);
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = keys::load_or_generate(dir.path(), alg).unwrap();
    (keys.encoding, keys.jwks.keys[0].clone())
}

async fn jwt_target(alg: Alg) -> (Target, String) {
    let t = spec(StrategyKind::Jwt).alg(alg).start().await;
    let valid = t.login_ok(1).await.token();
    (t, valid)
}

/// Every route that reads the credential refuses it with 401.
async fn assert_refused(t: &Target, token: &str, what: &str) {
    for path in [route::ME, route::ADMIN] {
        let status = t.get_bearer(path, token).await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {what} on GET {path}", t.spec.id());
    }
    if t.spec.strategy == StrategyKind::Jwt {
        for path in [route::REFRESH, route::LOGOUT] {
            let status = t.post_bearer(path, token).await.status();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {what} on POST {path}", t.spec.id());
        }
    }
}

/// The target still accepts a valid token and never answered with a 5xx.
async fn assert_still_serving(t: &Target, valid: &str) {
    assert_eq!(t.me(valid).await, StatusCode::OK, "{}: valid token refused after the attacks", t.spec.id());
    let m = t.metrics().await;
    assert!(!m.contains("status=\"5"), "{}: a 5xx was served:\n{m}", t.spec.id());
}

/// `v + n` if it still fits in 32 bytes: the same scalar mod n, for a verifier that reduces.
fn plus_n(v: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let sum = u16::from(v[i]) + u16::from(P256_N[i]) + carry;
        out[i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    (carry == 0).then_some(out)
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }`: the X.509 form of an ECDSA signature, not the JOSE one.
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    let seq = [der_integer(r), der_integer(s)].concat();
    der(0x30, &seq)
}

fn der_integer(v: &[u8]) -> Vec<u8> {
    let v = &v[v.iter().position(|b| *b != 0).unwrap_or(v.len() - 1)..];
    let mut content = Vec::with_capacity(v.len() + 1);
    if v[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(v);
    der(0x02, &content)
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n @ 0..=0x7f => out.push(n as u8),
        n @ 0x80..=0xff => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

#[tokio::test]
async fn es256_signatures_out_of_range_or_der_encoded_are_401() {
    let (t, valid) = jwt_target(Alg::Es256).await;
    let (signed, signature) = valid.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert_eq!(sig.len(), 64, "JOSE ES256 signatures are r || s, 32 bytes each");
    let (r, s) = sig.split_at(32);
    let cat = |a: &[u8], b: &[u8]| [a, b].concat();
    let (zero, max) = ([0u8; 32], [0xffu8; 32]);
    let mut cases = vec![
        ("all-zero signature (r = s = 0)".to_owned(), vec![0u8; 64]),
        ("r = 0".into(), cat(&zero, s)),
        ("s = 0".into(), cat(r, &zero)),
        ("r = n".into(), cat(&P256_N, s)),
        ("s = n".into(), cat(r, &P256_N)),
        ("r = 2^256 - 1".into(), cat(&max, s)),
        ("s = 2^256 - 1".into(), cat(r, &max)),
        ("r and s swapped".into(), cat(s, r)),
        ("DER-encoded signature".into(), der_signature(r, s)),
        ("DER-encoded all-zero signature".into(), der_signature(&zero, &zero)),
        ("65 bytes (trailing zero)".into(), cat(&sig, &[0])),
        ("65 bytes (leading zero)".into(), cat(&[0], &sig)),
        ("63 bytes".into(), sig[..63].to_vec()),
    ];
    for (name, scalar) in [("r", r), ("s", s)] {
        if let Some(bigger) = plus_n(scalar) {
            let forged = if name == "r" { cat(&bigger, s) } else { cat(r, &bigger) };
            cases.push((format!("{name} + n"), forged));
        }
    }
    for (what, forged) in cases {
        assert_refused(&t, &format!("{signed}.{}", b64(&forged)), &what).await;
    }
    // The same forgeries with admin claims: a verifier that skipped the range check would accept
    // r = s = 0 for any message.
    let admin = b64(&serde_json::to_vec(&claims(ADMIN_USER, "admin")).unwrap());
    let head = signed.split('.').next().unwrap();
    assert_refused(&t, &format!("{head}.{admin}.{}", b64(&[0u8; 64])), "psychic signature on admin claims").await;
    assert_still_serving(&t, &valid).await;
}

/// The public key as an attacker finds it published, in every form an HMAC key might be taken from.
fn public_key_forms(jwk: &Value) -> Vec<(&'static str, Vec<u8>)> {
    let field = |k: &str| URL_SAFE_NO_PAD.decode(jwk[k].as_str().unwrap()).unwrap();
    let mut forms = Vec::new();
    let spki = match jwk["kty"].as_str().unwrap() {
        // The JWK itself and the bare modulus are in security.rs.
        "RSA" => {
            let pkcs1 = der(0x30, &[der_integer(&field("n")), der_integer(&field("e"))].concat());
            forms.push(("PKCS#1 DER", pkcs1.clone()));
            let alg_id = der(
                0x30,
                &[&[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01][..], &[0x05, 0x00]].concat(),
            );
            der(0x30, &[alg_id, der(0x03, &[&[0u8][..], &pkcs1].concat())].concat())
        }
        "EC" => {
            let point = [&[0x04][..], &field("x"), &field("y")].concat();
            forms.push(("JWK JSON", serde_json::to_vec(jwk).unwrap()));
            forms.push(("x", field("x")));
            forms.push(("x || y", [field("x"), field("y")].concat()));
            forms.push(("uncompressed point", point.clone()));
            let prefix = hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
            [prefix, point].concat()
        }
        "OKP" => {
            forms.push(("JWK JSON", serde_json::to_vec(jwk).unwrap()));
            forms.push(("x", field("x")));
            forms.push(("x as base64url text", jwk["x"].as_str().unwrap().as_bytes().to_vec()));
            [hex("302a300506032b6570032100"), field("x")].concat()
        }
        other => panic!("unexpected key type {other}"),
    };
    let pem_of = |ending| {
        pem::encode_config(&pem::Pem::new("PUBLIC KEY", spki.clone()), pem::EncodeConfig::new().set_line_ending(ending))
    };
    forms.push(("PEM, LF", pem_of(pem::LineEnding::LF).into_bytes()));
    forms.push(("PEM, CRLF", pem_of(pem::LineEnding::CRLF).into_bytes()));
    forms.push(("SPKI DER", spki));
    forms
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[tokio::test]
async fn hmac_keyed_with_the_published_public_key_is_401() {
    for alg in [Alg::Rs256, Alg::Es256, Alg::EdDsa] {
        let (t, valid) = jwt_target(alg).await;
        let jwks: Value = t.client.get(t.at(route::JWKS)).send().await.unwrap().json().await.unwrap();
        for (form, secret) in public_key_forms(&jwks["keys"][0]) {
            for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let forged =
                    encode(&header(hs), &claims(ADMIN_USER, "admin"), &EncodingKey::from_secret(&secret)).unwrap();
                assert_refused(&t, &forged, &format!("{hs:?} keyed with the {alg} public key as {form}")).await;
            }
        }
        assert_still_serving(&t, &valid).await;
    }
}

#[tokio::test]
async fn hs256_with_empty_or_common_secrets_is_401() {
    for alg in ALGS {
        let (t, valid) = jwt_target(alg).await;
        for secret in ["", "secret", "your-256-bit-secret", "authbench", "changeme"] {
            let forged = encode(
                &header(Algorithm::HS256),
                &claims(ADMIN_USER, "admin"),
                &EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap();
            assert_refused(&t, &forged, &format!("HS256 with secret {secret:?}")).await;
        }
        assert_still_serving(&t, &valid).await;
    }
}

#[tokio::test]
async fn embedded_or_referenced_keys_are_not_trusted() {
    for alg in ALGS {
        let (t, valid) = jwt_target(alg).await;
        let (key, jwk) = attacker_key(alg);
        let (_, spki_jwk) = attacker_key(if alg == Alg::Hs256 { Alg::Es256 } else { alg });
        // Not a parseable certificate: the target must not fetch or parse x5c/x5u at all.
        let x5c = vec![STANDARD.encode(serde_json::to_vec(&spki_jwk).unwrap())];
        let base = || header(alg.jose());
        let headers = [
            ("embedded jwk", Header { jwk: Some(jwk.clone()), ..base() }),
            (
                "jku to the attacker",
                Header { jku: Some("http://127.0.0.1:9/jwks.json".into()), kid: Some("evil".into()), ..base() },
            ),
            ("x5u to the attacker", Header { x5u: Some("http://127.0.0.1:9/cert.pem".into()), ..base() }),
            ("x5c chain", Header { x5c: Some(x5c.clone()), ..base() }),
            (
                "jwk, jku, x5u and x5c together",
                Header {
                    jwk: Some(jwk.clone()),
                    jku: Some("http://127.0.0.1:9/jwks.json".into()),
                    x5u: Some("http://127.0.0.1:9/cert.pem".into()),
                    x5c: Some(x5c.clone()),
                    ..base()
                },
            ),
        ];
        for (what, h) in headers {
            let forged = encode(&h, &claims(ADMIN_USER, "admin"), &key).unwrap();
            assert_refused(&t, &forged, &format!("{what}, signed with the matching attacker key")).await;
        }
        assert_still_serving(&t, &valid).await;
    }
}

#[tokio::test]
async fn kid_path_traversal_and_sql_are_401() {
    let passwd = std::fs::read("/etc/passwd").unwrap_or_default();
    for alg in ALGS {
        let (t, valid) = jwt_target(alg).await;
        let (attacker, _) = attacker_key(alg);
        let kids = [
            "../../etc/passwd",
            "../../../../../../../../dev/null",
            "/dev/null",
            "' OR 1=1--",
            "x' UNION SELECT 'AAAA'--",
            "authbench-hs256\u{0}../../etc/passwd",
        ];
        for kid in kids {
            // What a server that looked the key up by kid would end up verifying with.
            for (secret_name, secret) in [("empty", &b""[..]), ("/etc/passwd", &passwd[..]), ("AAAA", b"AAAA")] {
                let h = Header { kid: Some(kid.into()), ..header(Algorithm::HS256) };
                let forged = encode(&h, &claims(ADMIN_USER, "admin"), &EncodingKey::from_secret(secret)).unwrap();
                assert_refused(&t, &forged, &format!("kid {kid:?}, HS256 with the {secret_name} secret")).await;
            }
            let h = Header { kid: Some(kid.into()), ..header(alg.jose()) };
            let forged = encode(&h, &claims(ADMIN_USER, "admin"), &attacker).unwrap();
            assert_refused(&t, &forged, &format!("kid {kid:?}, {alg} with an attacker key")).await;
        }
        assert_still_serving(&t, &valid).await;
    }
}

/// A JSON object written key by key, so keys can repeat and values take any textual form.
fn object(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", json!(k))).collect();
    format!("{{{}}}", body.join(","))
}

#[tokio::test]
async fn claims_and_headers_of_the_wrong_shape_are_401_even_when_signed_with_the_real_key() {
    for alg in ALGS {
        let (t, valid) = jwt_target(alg).await;
        let key = real_key(&t);
        let jose = alg.jose();
        let name = json!(jose_name(jose)).to_string();
        let n = now();
        let good: Vec<(&str, String)> = vec![
            ("sub", json!("1").to_string()),
            ("name", json!("user1").to_string()),
            ("role", json!("user").to_string()),
            ("iat", n.to_string()),
            ("exp", (n + 600).to_string()),
            ("auth_time", n.to_string()),
            ("iss", json!("authbench").to_string()),
            ("aud", json!("authbench-api").to_string()),
            ("jti", json!(format!("shape-{n}")).to_string()),
        ];
        let replaced = |k: &str, v: String| -> Vec<(&str, String)> {
            good.iter().map(|(key, old)| (*key, if *key == k { v.clone() } else { old.clone() })).collect()
        };
        let added = |k: &'static str, v: String| -> Vec<(&str, String)> {
            let mut f = good.clone();
            f.push((k, v));
            f
        };
        let good_header = object(&[("alg", name.clone()), ("typ", json!("JWT").to_string())]);
        let control = sign_raw(&good_header, &object(&good), &key, jose);
        assert_eq!(
            t.me(&control).await,
            StatusCode::OK,
            "{alg}: the control forgery must pass, or the cases prove nothing"
        );

        let payloads = [
            ("exp as a string", replaced("exp", json!((n + 600).to_string()).to_string())),
            ("exp as a float", replaced("exp", format!("{}.5", n + 600))),
            ("exp as an integral float", replaced("exp", format!("{}.0", n + 600))),
            ("exp in exponent form", replaced("exp", "1e10".into())),
            ("exp negative", replaced("exp", "-1".into())),
            ("exp past u64", replaced("exp", "18446744073709551616".into())),
            ("exp null", replaced("exp", "null".into())),
            ("iat as a string", replaced("iat", json!(n.to_string()).to_string())),
            ("aud as an array without the audience", replaced("aud", json!(["other-api", "evil"]).to_string())),
            ("aud as an empty array", replaced("aud", "[]".into())),
            ("aud as a number", replaced("aud", "1".into())),
            ("aud as an object", replaced("aud", json!({"authbench-api": true}).to_string())),
            ("iss as an array without the issuer", replaced("iss", json!(["evil"]).to_string())),
            ("sub as a number", replaced("sub", "1".into())),
            ("sub with a sign", replaced("sub", json!("+1").to_string())),
            ("role as an array", replaced("role", json!(["admin"]).to_string())),
            ("nbf in the future", added("nbf", (n + 600).to_string())),
            ("nbf as a string", added("nbf", json!(n.to_string()).to_string())),
            ("auth_time after iat", replaced("auth_time", (n + 60).to_string())),
            ("auth_time as a string", replaced("auth_time", json!(n.to_string()).to_string())),
            ("duplicate role (user, then admin)", added("role", json!("admin").to_string())),
            ("duplicate sub (1, then 0)", added("sub", json!("0").to_string())),
            ("duplicate exp", added("exp", (n + 10 * 86_400).to_string())),
            ("duplicate jti", added("jti", json!("other").to_string())),
            ("payload is an array", vec![]),
        ];
        for (what, fields) in payloads {
            let payload = if fields.is_empty() { format!("[{}]", object(&good)) } else { object(&fields) };
            assert_refused(&t, &sign_raw(&good_header, &payload, &key, jose), what).await;
        }

        let typ = || ("typ", json!("JWT").to_string());
        let alg_field = || ("alg", name.clone());
        let headers = [
            ("crit: []", object(&[alg_field(), typ(), ("crit", "[]".into())])),
            (
                "crit naming an unknown extension",
                object(&[alg_field(), typ(), ("crit", json!(["b64"]).to_string()), ("b64", "false".into())]),
            ),
            ("duplicate alg (real, then none)", object(&[alg_field(), typ(), ("alg", json!("none").to_string())])),
            ("duplicate typ (at+jwt, then JWT)", object(&[alg_field(), ("typ", json!("at+jwt").to_string()), typ()])),
            ("no typ", object(&[alg_field()])),
            ("typ null", object(&[alg_field(), ("typ", "null".into())])),
            ("header is an array", json!([jose_name(jose)]).to_string()),
        ];
        for (what, h) in headers {
            assert_refused(&t, &sign_raw(&h, &object(&good), &key, jose), what).await;
        }
        assert_still_serving(&t, &valid).await;
    }
}

#[tokio::test]
async fn hybrid_and_jwt_tokens_signed_with_the_same_key_are_not_interchangeable() {
    for alg in [Alg::Hs256, Alg::Es256] {
        let dir = tempfile::tempdir().unwrap();
        let jwt = spec(StrategyKind::Jwt).alg(alg).key_dir(dir.path().to_owned()).start().await;
        let hybrid =
            spec(StrategyKind::Hybrid).alg(alg).store(StoreKind::Memory).key_dir(dir.path().to_owned()).start().await;
        let jwt_token = jwt.login_ok(1).await.token();
        let grant = hybrid.login_ok(1).await;
        let (access, refresh) = (grant.token(), grant.refresh_token());
        assert_eq!(jwt_header(&access)["typ"], "at+jwt");
        assert_eq!(jwt_header(&jwt_token)["typ"], "JWT");
        assert_eq!(hybrid.me(&access).await, StatusCode::OK, "control: the access token is valid where it was issued");

        // A hybrid access token is no jwt-strategy token, on any route (/auth/refresh would
        // otherwise turn a 15-minute access token into a 7-day one).
        assert_refused(&jwt, &access, "hybrid access token (typ at+jwt)").await;
        assert_refused(&jwt, &refresh, "hybrid refresh token").await;
        // Hybrid refresh and logout take the refresh token; an access token of either kind is refused.
        for (what, presented) in [("hybrid access token", &access), ("jwt-strategy token", &jwt_token)] {
            for path in [route::REFRESH, route::LOGOUT] {
                let r = hybrid
                    .client
                    .post(hybrid.at(path))
                    .header("content-type", "application/json")
                    .body(json!({ "refresh_token": presented }).to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{alg}: {what} as the refresh token on {path}");
                let r = hybrid.post_bearer(path, presented).await;
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{alg}: {what} as a bearer credential on {path}");
            }
        }
        assert_still_serving(&jwt, &jwt_token).await;
        assert_still_serving(&hybrid, &access).await;
        assert_eq!(
            hybrid.refresh_body(&refresh).await.status(),
            StatusCode::OK,
            "{alg}: the refresh token still rotates"
        );
    }
}

async fn spent_refresh_token_replayed_after_expiry(store: StoreKind) {
    let t = spec(StrategyKind::Hybrid).store(store).refresh_ttl(Duration::from_secs(2)).start().await;
    let login = t.login_ok(1).await;
    let issued_at = jwt_payload(&login.token())["iat"].as_u64().unwrap();
    let first = login.refresh_token();
    let r = t.refresh_body(&first).await;
    assert_eq!(r.status(), StatusCode::OK, "{store}");
    let second = r.json::<Value>().await.unwrap()["refresh_token"].as_str().unwrap().to_owned();
    while now() <= issued_at + 3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        t.refresh_body(&first).await.status(),
        StatusCode::UNAUTHORIZED,
        "{store}: expired spent token replayed"
    );
    assert_eq!(t.refresh_body(&second).await.status(), StatusCode::UNAUTHORIZED, "{store}: expired live token");
    let fresh = t.login_ok(1).await;
    assert_eq!(t.refresh_body(&fresh.refresh_token()).await.status(), StatusCode::OK, "{store}: still serving");
    assert_still_serving(&t, &fresh.token()).await;
}

#[tokio::test]
async fn spent_refresh_token_replayed_after_expiry_is_401() {
    tokio::join!(
        spent_refresh_token_replayed_after_expiry(StoreKind::Memory),
        spent_refresh_token_replayed_after_expiry(StoreKind::Redis),
        spent_refresh_token_replayed_after_expiry(StoreKind::Postgres),
    );
}

/// A token is accepted until exp + leeway: a denylist entry that ends at exp lets a logged-out or
/// refreshed-away token back in for the leeway.
async fn denied_tokens_stay_denied_through_the_leeway(store: StoreKind) {
    let t =
        spec(StrategyKind::Jwt).denylist(store).token_ttl(Duration::from_secs(2)).arg("--leeway", "5s").start().await;
    let logged_out = t.login_ok(1).await.token();
    let refreshed_away = t.login_ok(2).await.token();
    let untouched = t.login_ok(3).await.token();
    let r = t.post_bearer(route::LOGOUT, &logged_out).await;
    assert_eq!(r.status(), StatusCode::OK, "{store}");
    assert_eq!(r.json::<Value>().await.unwrap()["server_side"], true);
    t.refresh_bearer_ok(&refreshed_away).await;
    let exps: Vec<u64> =
        [&logged_out, &refreshed_away, &untouched].iter().map(|t| jwt_payload(t)["exp"].as_u64().unwrap()).collect();
    let (first_exp, last_exp) = (*exps.iter().min().unwrap(), *exps.iter().max().unwrap());
    while now() < last_exp + 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(now() <= first_exp + 4, "{store}: the test itself ran too slowly to land inside the leeway");
    assert_eq!(t.me(&untouched).await, StatusCode::OK, "{store}: control: past exp, inside the 5 s leeway");
    assert_eq!(t.me(&logged_out).await, StatusCode::UNAUTHORIZED, "{store}: logged-out token back within the leeway");
    assert_eq!(
        t.me(&refreshed_away).await,
        StatusCode::UNAUTHORIZED,
        "{store}: refreshed-away token back within the leeway"
    );
    assert_eq!(t.post_bearer(route::REFRESH, &logged_out).await.status(), StatusCode::UNAUTHORIZED, "{store}");
}

#[tokio::test]
async fn denylisted_token_within_its_leeway_is_401() {
    tokio::join!(
        denied_tokens_stay_denied_through_the_leeway(StoreKind::Memory),
        denied_tokens_stay_denied_through_the_leeway(StoreKind::Redis),
        denied_tokens_stay_denied_through_the_leeway(StoreKind::Postgres),
    );
}

#[tokio::test]
async fn jwt_refresh_takes_the_current_role_from_the_directory() {
    for denylist in [None, Some(StoreKind::Memory)] {
        let mut s = spec(StrategyKind::Jwt).alg(Alg::Es256);
        if let Some(store) = denylist {
            s = s.denylist(store);
        }
        let t = s.start().await;
        let admin = t.login_ok(ADMIN_USER).await.token();
        assert_eq!(t.admin(&admin).await, StatusCode::OK);
        t.set_role(ADMIN_USER, "user").await;
        let renewed = t.refresh_bearer_ok(&admin).await;
        assert_eq!(jwt_payload(&renewed)["role"], "user", "{}: refresh re-signed the old role", t.spec.id());
        assert_eq!(
            t.admin(&renewed).await,
            StatusCode::FORBIDDEN,
            "{}: demoted admin kept admin by refreshing",
            t.spec.id()
        );
        t.set_role(ADMIN_USER, "admin").await;
        let promoted = t.refresh_bearer_ok(&renewed).await;
        assert_eq!(t.admin(&promoted).await, StatusCode::OK, "{}: promotion seen at the next refresh", t.spec.id());
    }
}

#[tokio::test]
async fn jwt_refresh_rebuilds_the_claims_from_the_directory() {
    let t = spec(StrategyKind::Jwt).seed_users(3).start().await;
    let key = real_key(&t);
    let sign = |c: &Value| encode(&header(Algorithm::HS256), c, &key).unwrap();
    // Signed with the real key (a leaked token or a past role, not a forgery): refresh must still
    // ask the directory instead of copying what the token says.
    let ghost = sign(&claims(99, "user"));
    assert_eq!(
        t.post_bearer(route::REFRESH, &ghost).await.status(),
        StatusCode::UNAUTHORIZED,
        "user 99 does not exist"
    );
    let mut stale = claims(1, "admin");
    stale["name"] = json!("root");
    let renewed = t.refresh_bearer_ok(&sign(&stale)).await;
    let p = jwt_payload(&renewed);
    assert_eq!((p["sub"].as_str(), p["name"].as_str(), p["role"].as_str()), (Some("1"), Some("user1"), Some("user")));
    // A token without the login time cannot start a chain of its own.
    let mut no_auth_time = claims(1, "user");
    no_auth_time.as_object_mut().unwrap().remove("auth_time");
    assert_eq!(t.post_bearer(route::REFRESH, &sign(&no_auth_time)).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn jwt_refresh_chain_ends_at_the_absolute_lifetime() {
    // Tokens shorter than the cap: the chain renews until auth_time + absolute, then stops.
    let t =
        spec(StrategyKind::Jwt).token_ttl(Duration::from_secs(2)).absolute_ttl(Duration::from_secs(4)).start().await;
    let mut token = t.login_ok(1).await.token();
    let auth_time = jwt_payload(&token)["auth_time"].as_u64().expect("tokens carry the login time (auth_time)");
    let cap = auth_time + 4;
    let mut renewals = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let r = t.post_bearer(route::REFRESH, &token).await;
        if r.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
        assert!(now() <= cap, "refresh granted {} s after the absolute lifetime ended", now() - cap);
        let body: Value = r.json().await.unwrap();
        token = body["access_token"].as_str().unwrap().to_owned();
        let p = jwt_payload(&token);
        assert_eq!(p["auth_time"], auth_time, "the login time is carried along the chain");
        let (iat, exp) = (p["iat"].as_u64().unwrap(), p["exp"].as_u64().unwrap());
        assert!(exp <= cap, "token of the chain lives to {exp}, past auth_time + absolute = {cap}");
        assert_eq!(body["expires_in"].as_u64(), Some(exp - iat), "expires_in says the shortened lifetime");
        renewals += 1;
    }
    assert!(renewals >= 3, "the chain renewed only {renewals} times inside a 4 s cap");
    assert!(now() + 1 >= cap, "refused {} s before the cap", cap - now());
    // Accepted through the whole second of its exp (the +1 of the info bounds), refused after.
    while now() <= cap {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(t.me(&token).await, StatusCode::UNAUTHORIZED, "the last token of the chain ends with it");

    // Tokens longer than the cap: already the login's token ends at the cap.
    let t =
        spec(StrategyKind::Jwt).token_ttl(Duration::from_secs(3600)).absolute_ttl(Duration::from_secs(3)).start().await;
    let l = t.login_ok(1).await;
    let p = jwt_payload(&l.token());
    assert!(p["exp"].as_u64().unwrap() <= p["auth_time"].as_u64().unwrap() + 3, "{p}");
    assert!(l.body["expires_in"].as_u64().unwrap() <= 3, "{}", l.body);
    let info = t.info().await.capabilities;
    assert_eq!(info.role_change_window_bound_s, Some(3 + 1), "an old role lives as long as one token: here the cap");
    assert_eq!(
        info.revoke_window_bound_s,
        Some(3 + 1),
        "without a denylist, refresh extends a revoked user to the cap"
    );
}

#[tokio::test]
async fn jwt_revoked_user_cannot_refresh_with_a_denylist() {
    for store in [StoreKind::Memory, StoreKind::Redis] {
        let t = spec(StrategyKind::Jwt).denylist(store).start().await;
        let token = t.login_ok(2).await.token();
        let other = t.login_ok(3).await.token();
        t.revoke(2).await;
        assert_eq!(t.post_bearer(route::REFRESH, &token).await.status(), StatusCode::UNAUTHORIZED, "{store}");
        assert_eq!(t.me(&token).await, StatusCode::UNAUTHORIZED, "{store}");
        assert_still_serving(&t, &t.refresh_bearer_ok(&other).await).await;
    }
}

#[tokio::test]
async fn issued_tokens_name_the_published_key() {
    for alg in [Alg::Rs256, Alg::Es256, Alg::EdDsa] {
        let (t, valid) = jwt_target(alg).await;
        let jwks: Value = t.client.get(t.at(route::JWKS)).send().await.unwrap().json().await.unwrap();
        let kid = &jwks["keys"][0]["kid"];
        assert!(kid.as_str().is_some_and(|k| !k.is_empty()), "{alg}: {jwks}");
        assert_eq!(&jwt_header(&valid)["kid"], kid, "{alg}: the token's kid is not the one the JWKS publishes");
        assert_eq!(jwks["keys"][0]["alg"], json!(jose_name(alg.jose())), "{alg}: {jwks}");
    }
}
