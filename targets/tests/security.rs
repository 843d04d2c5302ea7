//! Every malformed or forged credential gets 401 (431 for oversized headers), never 500.

mod support;

use authbench_targets::contract::{self, route};
use authbench_targets::spec::{StoreKind, StrategyKind};
use authbench_targets::token::alg::Alg;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{spec, Target};

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(sub: u64, role: &str) -> Value {
    let n = now();
    json!({"sub": sub.to_string(), "name": contract::username(sub), "role": role, "iat": n, "exp": n + 600,
           "iss": "authbench", "aud": "authbench-api", "jti": "forged"})
}

fn with(mut v: Value, key: &str, val: Value) -> Value {
    v[key] = val;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

async fn assert_refused(t: &Target, token: &str, what: &str) {
    for path in [route::ME, route::ADMIN] {
        let r = t.client.get(t.at(path)).header("authorization", format!("Bearer {token}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what} on {path}");
    }
}

fn shape_cases(valid: &str) -> Vec<(String, String)> {
    let p: Vec<&str> = valid.split('.').collect();
    let admin = claims(1, "admin");
    let mut cases = vec![
        ("stripped signature".into(), format!("{}.{}.", p[0], p[1])),
        ("two segments".into(), format!("{}.{}", p[0], p[1])),
        ("four segments".into(), format!("{valid}.{}", p[2])),
        ("truncated signature".into(), format!("{}.{}.{}", p[0], p[1], &p[2][..p[2].len() / 2])),
        ("tampered payload".into(), format!("{}.{}.{}", p[0], b64(&admin), p[2])),
        ("garbage".into(), "not-a-token".into()),
        ("empty segments".into(), "..".into()),
        ("non-base64".into(), "@@@.###.$$$".into()),
        ("json but not jwt".into(), b64(&json!({"a": 1}))),
        ("oversized token".into(), format!("{}.{}.{}", p[0], "A".repeat(6000), p[2])),
    ];
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = b64(&json!({"alg": alg, "typ": "JWT"}));
        cases.push((format!("alg {alg}"), format!("{h}.{}.", b64(&admin))));
        cases.push((format!("alg {alg} with signature"), format!("{h}.{}.{}", b64(&admin), p[2])));
    }
    cases
}

#[tokio::test]
async fn forged_and_malformed_jwts_are_401() {
    let t = spec(StrategyKind::Jwt).start().await;
    let valid = t.login_ok(1).await.token();
    for (what, token) in shape_cases(&valid) {
        assert_refused(&t, &token, &what).await;
    }
    // Tokens signed with the target's real secret but with bad claims or headers.
    let secret = std::fs::read(t.key_dir.join("hs256.key")).unwrap();
    let key = EncodingKey::from_secret(&secret);
    let header = || Header { typ: Some("JWT".into()), ..Header::new(Algorithm::HS256) };
    let sign = |h: Header, c: &Value| encode(&h, c, &key).unwrap();
    let good = claims(1, "user");
    assert_eq!(t.me(&sign(header(), &good)).await, StatusCode::OK, "control case must pass");
    let n = now();
    let bad_claims = [
        ("expired", with(with(good.clone(), "iat", json!(n - 1200)), "exp", json!(n - 600))),
        ("wrong issuer", with(good.clone(), "iss", json!("evil"))),
        ("wrong audience", with(good.clone(), "aud", json!("other-api"))),
        ("lifetime beyond ttl", with(good.clone(), "exp", json!(n + 30 * 86_400))),
        ("issued in the future", with(with(good.clone(), "iat", json!(n + 3600)), "exp", json!(n + 3700))),
        ("missing sub", without(good.clone(), "sub")),
        ("missing iat", without(good.clone(), "iat")),
        ("missing exp", without(good.clone(), "exp")),
        ("missing iss", without(good.clone(), "iss")),
        ("missing aud", without(good.clone(), "aud")),
        ("non-numeric sub", with(good.clone(), "sub", json!("admin"))),
        ("unknown role", with(good.clone(), "role", json!("root"))),
    ];
    for (what, c) in bad_claims {
        assert_refused(&t, &sign(header(), &c), what).await;
    }
    let mut crit = header();
    crit.crit = Some(vec!["exp".into()]);
    assert_refused(&t, &sign(crit, &good), "crit header").await;
    let access_typ = Header { typ: Some("at+jwt".into()), ..Header::new(Algorithm::HS256) };
    assert_refused(&t, &sign(access_typ, &good), "hybrid access typ on jwt target").await;
    let hs384 = Header { typ: Some("JWT".into()), ..Header::new(Algorithm::HS384) };
    assert_refused(&t, &sign(hs384, &good), "HS384 with the right secret").await;
    let other_key = encode(&header(), &good, &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef")).unwrap();
    assert_refused(&t, &other_key, "signed with another secret").await;
}

#[tokio::test]
async fn algorithm_confusion_with_the_public_key_is_401() {
    let t = spec(StrategyKind::Jwt).alg(Alg::Rs256).start().await;
    let jwks: Value = t.client.get(t.at(route::JWKS)).send().await.unwrap().json().await.unwrap();
    let jwk = &jwks["keys"][0];
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let header = Header { typ: Some("JWT".into()), ..Header::new(Algorithm::HS256) };
    let good = claims(1, "admin");
    for secret in [serde_json::to_vec(jwk).unwrap(), n, jwk["n"].as_str().unwrap().as_bytes().to_vec()] {
        let forged = encode(&header, &good, &EncodingKey::from_secret(&secret)).unwrap();
        assert_refused(&t, &forged, "HS256 signed with the RS256 public key").await;
    }
    let valid = t.login_ok(1).await.token();
    for (what, token) in shape_cases(&valid) {
        assert_refused(&t, &token, &what).await;
    }
}

#[tokio::test]
async fn hybrid_rejects_tokens_of_the_wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = spec(StrategyKind::Jwt).key_dir(dir.path().to_owned()).start().await;
    let hybrid = spec(StrategyKind::Hybrid).store(StoreKind::Memory).key_dir(dir.path().to_owned()).start().await;
    let jwt_token = jwt.login_ok(1).await.token();
    assert_eq!(jwt.me(&jwt_token).await, StatusCode::OK);
    assert_refused(&hybrid, &jwt_token, "jwt-strategy token (typ JWT) presented as access token").await;
    let refresh = hybrid.login_ok(1).await.refresh_token();
    assert_refused(&hybrid, &refresh, "refresh token presented as access token").await;
}

#[tokio::test]
async fn opaque_session_tokens_reject_guesses_and_garbage() {
    let t = spec(StrategyKind::Session).store(StoreKind::Redis).start().await;
    let valid = t.login_ok(1).await.token();
    assert_eq!(valid.len(), 43, "256-bit token in base64url");
    let mut flipped = valid.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let cases = [
        String::from_utf8(flipped).unwrap(),
        "A".repeat(43),
        valid[..42].to_owned(),
        format!("{valid}A"),
        "garbage".into(),
        "' OR 1=1 --".into(),
        "a".repeat(6000),
    ];
    for c in cases {
        assert_refused(&t, &c, &format!("session token {c:.20}")).await;
    }
}

#[tokio::test]
async fn oversized_and_odd_headers_never_500() {
    for t in [spec(StrategyKind::Jwt).start().await, spec(StrategyKind::Session).store(StoreKind::Memory).start().await]
    {
        let big = format!("Bearer {}", "a".repeat(10_000));
        let r = t.client.get(t.at(route::ME)).header("authorization", big).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        for h in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "bearer\tabc", "Token abc"] {
            let r = t.client.get(t.at(route::ME)).header("authorization", h).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{h:?}");
        }
        let r = t
            .client
            .get(t.at(route::ME))
            .header("authorization", "Bearer a")
            .header("authorization", "Bearer b")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "two Authorization headers");
        let r = t
            .client
            .post(t.at(route::LOGIN))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // The server answers 413 and closes the connection, so this goes on its own client.
        let r = reqwest::Client::new()
            .post(t.at(route::LOGIN))
            .header("content-type", "application/json")
            .body(vec![b'x'; 100_000])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "huge body: {}", r.status());
        let m = t.metrics().await;
        assert!(!m.contains("status=\"500\""), "{m}");
    }
}

#[tokio::test]
async fn bad_logins_are_indistinguishable() {
    let t = spec(StrategyKind::Session).store(StoreKind::Memory).start().await;
    let (user1, unseeded) = (contract::username(1), 99);
    let mut seen = std::collections::HashSet::new();
    for (u, p) in [
        (user1.clone(), "wrong".to_owned()),
        ("nobody".to_owned(), contract::password(1)),
        (user1.clone(), String::new()),
        (String::new(), String::new()),
        (user1.clone(), "x".repeat(5000)),
        (contract::username(unseeded), contract::password(unseeded)),
    ] {
        let l = t.login(&u, &p).await;
        assert_eq!(l.status, StatusCode::UNAUTHORIZED, "{u}/{p:.10}");
        seen.insert(l.body.to_string());
    }
    assert_eq!(seen.len(), 1, "bodies differ: {seen:?}");
}
