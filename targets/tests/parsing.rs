//! Property tests of everything that reads a credential off the wire, called as library functions:
//! Authorization and Cookie headers, JWT-like strings through the codec of every algorithm, claims
//! signed with the real key, the jwt refresh, and opaque tokens. Whatever the input: no panic, and a
//! refusal is always a `Failure` that maps to a 4xx, never a 5xx.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000 cargo test -p authbench-targets --test
//! parsing` for a long run. Inputs a run once found are kept as plain tests at the end.

use std::sync::OnceLock;

use authbench_targets::error::Failure;
use authbench_targets::http::credentials::{
    access_credential, cookie, ACCESS_COOKIE, MAX_CREDENTIAL_HEADER, REFRESH_COOKIE,
};
use authbench_targets::spec::Transport;
use authbench_targets::strategy::jwt::JwtStrategy;
use authbench_targets::token::alg::Alg;
use authbench_targets::token::jwt::{JwtCodec, MAX_TOKEN_LEN, TYP_ACCESS, TYP_JWT};
use authbench_targets::token::{keys, opaque};
use authbench_targets::users::{Directory, Role};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::EncodingKey;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{json, Value};

const ALGS: [Alg; 4] = [Alg::Hs256, Alg::Rs256, Alg::Es256, Alg::EdDsa];
const TTL_S: u64 = 3600;
const LEEWAY_S: u64 = 2;
const ABSOLUTE_S: u64 = 7200;
const ISS: &str = "authbench";
const AUD: &str = "authbench-api";

/// One key per algorithm for the whole test binary: a jwt strategy (no denylist) and a hybrid
/// access-token codec over it, and the key itself for signing test tokens.
struct Keyed {
    alg: Alg,
    strategy: JwtStrategy,
    access: JwtCodec,
    signing: EncodingKey,
}

impl Keyed {
    fn jwt(&self) -> &JwtCodec {
        &self.strategy.codec
    }
}

fn keyed() -> &'static [Keyed] {
    static KEYS: OnceLock<Vec<Keyed>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        ALGS.iter()
            .map(|&alg| {
                let material = || keys::load_or_generate(dir.path(), alg).unwrap();
                let codec = |typ| JwtCodec::new(alg, material(), TTL_S, LEEWAY_S, typ, ISS, AUD);
                let strategy = JwtStrategy { codec: codec(TYP_JWT), denylist: None, absolute_s: ABSOLUTE_S };
                Keyed { alg, strategy, access: codec(TYP_ACCESS), signing: material().encoding }
            })
            .collect()
    })
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A refusal a client can be given: 4xx, never a 5xx that a forgery could provoke.
fn assert_client_error(f: Failure, input: &dyn std::fmt::Debug) -> Result<(), TestCaseError> {
    prop_assert!(f.status().is_client_error(), "{f:?} is {} for {input:?}", f.status());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JOSE header as an attacker might write one.
fn header_json() -> impl Strategy<Value = Value> {
    let alg = prop_oneof![
        Just("HS256"),
        Just("HS384"),
        Just("RS256"),
        Just("PS256"),
        Just("ES256"),
        Just("ES384"),
        Just("EdDSA"),
        Just("none"),
        Just("None"),
        Just(""),
    ];
    let typ =
        prop_oneof![Just(json!("JWT")), Just(json!("at+jwt")), Just(json!("jwt")), Just(Value::Null), json_value()];
    (alg, typ, proptest::option::of(json_value()), proptest::option::of(json_value())).prop_map(
        |(alg, typ, crit, kid)| {
            let mut h = json!({ "alg": alg, "typ": typ });
            if let Some(c) = crit {
                h["crit"] = c;
            }
            if let Some(k) = kid {
                h["kid"] = k;
            }
            h
        },
    )
}

/// One dot-free segment of a JWT-like string.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{0,48}",
        "[ -~]{0,24}".prop_map(|s| s.replace('.', "")),
        vec(any::<u8>(), 0..96).prop_map(b64),
        json_value().prop_map(|v| b64(v.to_string())),
        header_json().prop_map(|v| b64(v.to_string())),
        Just(String::new()),
    ]
}

/// Something that looks like a compact JWS, and sometimes nearly is one.
fn jwt_like() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (segment(), segment(), segment()).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        1 => vec(segment(), 0..6).prop_map(|s| s.join(".")),
        1 => "[ -~]{0,64}",
        1 => (MAX_TOKEN_LEN - 4..MAX_TOKEN_LEN + 4).prop_map(|n| format!("a.{}.b", "A".repeat(n - 4))),
    ]
}

/// Bytes for a header value: mostly scheme-shaped, some arbitrary, some around the size limit.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let scheme = prop_oneof![
        Just("Bearer".to_owned()),
        Just("bearer".to_owned()),
        Just("BEARER".to_owned()),
        Just("Basic".to_owned()),
        Just(String::new()),
        "[A-Za-z]{0,8}",
    ];
    let credential = prop_oneof![jwt_like(), "[ -~\t]{0,48}", "[\u{80}-\u{ff}]{0,8}"];
    prop_oneof![
        4 => (scheme, "[ \t]{0,3}", credential).prop_map(|(s, sep, c)| format!("{s}{sep}{c}").into_bytes()),
        2 => vec(any::<u8>(), 0..64),
        1 => (MAX_CREDENTIAL_HEADER - 8..MAX_CREDENTIAL_HEADER + 8)
            .prop_map(|n| format!("Bearer {}", "a".repeat(n - 7)).into_bytes()),
    ]
}

/// A Cookie header: name/value pairs with the credential cookies among look-alikes, odd separators.
fn cookie_header() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        3 => Just(ACCESS_COOKIE.to_owned()),
        2 => Just(REFRESH_COOKIE.to_owned()),
        1 => Just(format!(" {ACCESS_COOKIE} ")),
        1 => Just(ACCESS_COOKIE.to_lowercase()),
        1 => Just(String::new()),
        2 => "[!-~]{0,12}".prop_map(|s| s.replace(['=', ';'], "")),
    ];
    let value = prop_oneof![
        jwt_like().prop_map(|s| s.replace(';', "")),
        "[A-Za-z0-9_-]{0,44}",
        "\"[ -~]{0,20}\"",
        "[ -~]{0,20}",
        "[\u{80}-\u{ff}]{0,4}",
    ];
    let eq = prop_oneof![Just("="), Just(""), Just("=="), Just(" = ")];
    let sep = prop_oneof![Just("; "), Just(";"), Just(" ; "), Just(","), Just(";;")];
    prop_oneof![
        6 => vec((name, eq, value, sep), 0..6).prop_map(|pairs| {
            pairs.into_iter().map(|(n, e, v, s)| format!("{n}{e}{v}{s}")).collect::<String>().into_bytes()
        }),
        1 => vec(any::<u8>(), 0..64),
        1 => (MAX_CREDENTIAL_HEADER - 8..MAX_CREDENTIAL_HEADER + 8)
            .prop_map(|n| format!("{ACCESS_COOKIE}={}", "a".repeat(n - ACCESS_COOKIE.len() - 1)).into_bytes()),
    ]
}

/// What to do to one claim of a well-formed token.
#[derive(Debug, Clone)]
enum Edit {
    Keep,
    Drop,
    /// Seconds from now for time claims; a number woven into the text for the others.
    Offset(i64),
    Raw(Value),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => Just(Edit::Keep),
        1 => Just(Edit::Drop),
        2 => (-2 * TTL_S as i64..2 * TTL_S as i64).prop_map(Edit::Offset),
        1 => json_value().prop_map(Edit::Raw),
    ]
}

const CLAIMS: [&str; 10] = ["sub", "name", "role", "iat", "exp", "nbf", "auth_time", "iss", "aud", "jti"];

/// Claims built from edits of a valid set, at `now`.
fn edited_claims(edits: &[Edit], now: u64) -> Value {
    let at = |o: i64| json!(now as i64 + o);
    let mut c = serde_json::Map::new();
    for (name, e) in CLAIMS.iter().zip(edits) {
        let keep = match *name {
            "sub" => json!("1"),
            "name" => json!("user1"),
            "role" => json!("user"),
            "iat" => json!(now),
            "exp" => json!(now + 600),
            "nbf" => json!(now - 10),
            "auth_time" => json!(now - 100),
            "iss" => json!(ISS),
            "aud" => json!(AUD),
            _ => json!("jti"),
        };
        let v = match e {
            Edit::Keep => keep,
            Edit::Drop => continue,
            Edit::Offset(o) => match *name {
                "iat" | "exp" | "nbf" | "auth_time" => at(*o),
                "sub" => json!(o.to_string()),
                "role" => json!(if o % 2 == 0 { "admin" } else { "root" }),
                "aud" => json!([AUD, format!("other{o}")]),
                _ => json!(format!("{keep}{o}")),
            },
            Edit::Raw(v) => v.clone(),
        };
        c.insert((*name).to_owned(), v);
    }
    Value::Object(c)
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #[test]
    fn authorization_headers_parse_or_fail_4xx(values in vec(header_bytes(), 0..3)) {
        let mut headers = HeaderMap::new();
        for v in &values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                headers.append(AUTHORIZATION, v);
            }
        }
        match access_credential(&headers, Transport::Bearer) {
            Ok(token) => {
                prop_assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
                prop_assert!(!token.is_empty() && token.trim() == token, "{:?}", token);
                prop_assert!(token.len() <= MAX_CREDENTIAL_HEADER);
                for k in keyed() {
                    let f = k.jwt().verify(token, now()).expect_err("an unsigned string verified");
                    assert_client_error(f, &token)?;
                }
            }
            Err(f) => assert_client_error(f, &values)?,
        }
    }

    #[test]
    fn cookie_headers_parse_or_fail_4xx(values in vec(cookie_header(), 0..3)) {
        let mut headers = HeaderMap::new();
        for v in &values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                headers.append(COOKIE, v);
            }
        }
        for (result, name) in [
            (access_credential(&headers, Transport::Cookie), ACCESS_COOKIE),
            (cookie(&headers, REFRESH_COOKIE), REFRESH_COOKIE),
        ] {
            match result {
                Ok(value) => {
                    prop_assert!(!value.is_empty());
                    let sent = headers.get_all(COOKIE).iter().any(|h| {
                        h.to_str().is_ok_and(|t| t.contains(name) && t.contains(value))
                    });
                    prop_assert!(sent, "{} = {:?} is in no Cookie header", name, value);
                    for k in keyed() {
                        assert_client_error(k.jwt().verify(value, now()).expect_err("verified"), &value)?;
                    }
                    prop_assert!(!opaque::looks_valid(value) || value.len() == opaque::TOKEN_TEXT_LEN);
                }
                Err(f) => assert_client_error(f, &values)?,
            }
        }
    }

    #[test]
    fn jwt_like_strings_fail_4xx_under_every_algorithm(token in jwt_like()) {
        for k in keyed() {
            for codec in [k.jwt(), &k.access] {
                let f = codec.verify(&token, now()).expect_err("an unsigned string verified");
                assert_client_error(f, &(k.alg, &token))?;
            }
        }
    }

    #[test]
    fn any_header_and_signature_on_valid_claims_fail_4xx(header in header_json(), sig in vec(any::<u8>(), 0..600)) {
        let n = now();
        let claims = json!({"sub": "1", "name": "user1", "role": "admin", "iat": n, "exp": n + 600,
                            "iss": ISS, "aud": AUD, "jti": "j"});
        let token = format!("{}.{}.{}", b64(header.to_string()), b64(claims.to_string()), b64(&sig));
        for k in keyed() {
            let f = k.jwt().verify(&token, n).expect_err("a random signature verified");
            assert_client_error(f, &(k.alg, &header))?;
        }
    }

    /// Claims signed with the real key: whatever gets through satisfies every check the codec promises.
    #[test]
    fn signed_claims_verify_only_when_every_check_holds(
        edits in vec(edit(), CLAIMS.len()),
        typ in prop_oneof![4 => Just(Some(TYP_JWT)), 1 => Just(Some(TYP_ACCESS)), 1 => Just(None)],
        which in 0..ALGS.len(),
    ) {
        let k = &keyed()[which];
        let n = now();
        let claims = edited_claims(&edits, n);
        let header = jsonwebtoken::Header { typ: typ.map(str::to_owned), ..jsonwebtoken::Header::new(k.alg.jose()) };
        let token = jsonwebtoken::encode(&header, &claims, &k.signing).unwrap();
        match k.jwt().verify(&token, n) {
            Ok((id, c)) => {
                prop_assert_eq!(typ, Some(TYP_JWT));
                prop_assert_eq!(&c.sub, &id.to_string());
                prop_assert!(c.exp + LEEWAY_S >= n, "expired token accepted: {}", claims);
                prop_assert!(c.exp.saturating_sub(c.iat) <= TTL_S, "lifetime over the TTL: {}", claims);
                prop_assert!(c.iat <= n + LEEWAY_S + 1, "issued in the future: {}", claims);
                prop_assert!(c.auth_time.is_none_or(|at| at <= c.iat), "login after issue: {}", claims);
                prop_assert_eq!(&claims["iss"], &json!(ISS));
                let aud_ok = claims["aud"] == json!(AUD)
                    || claims["aud"].as_array().is_some_and(|a| a.contains(&json!(AUD)));
                prop_assert!(aud_ok, "{}", claims);
                if let Some(nbf) = claims.get("nbf") {
                    prop_assert!(nbf.as_u64().is_some_and(|nbf| nbf <= n + LEEWAY_S + 1), "{}", claims);
                }
            }
            Err(f) => assert_client_error(f, &claims)?,
        }
    }

    /// The jwt refresh, fed any validly signed claims: it answers 4xx or a token with the directory's
    /// role that does not outlive auth_time + absolute.
    #[test]
    fn jwt_refresh_never_outlives_the_chain_nor_copies_the_role(edits in vec(edit(), CLAIMS.len()), which in 0..ALGS.len()) {
        let k = &keyed()[which];
        let strategy = &k.strategy;
        let n = now();
        let claims = edited_claims(&edits, n);
        let header = jsonwebtoken::Header::new(k.alg.jose());
        let token = jsonwebtoken::encode(&header, &claims, &k.signing).unwrap();
        match block_on(strategy.refresh(directory(), &token, n)) {
            Ok(grant) => {
                let (id, c) = strategy.codec.verify(&grant.access, n).expect("a refreshed token verifies");
                let user = directory().get(id).expect("refreshed for a user that exists");
                prop_assert_eq!(c.role, user.role());
                prop_assert_eq!(&c.name, &user.username);
                let auth_time = c.auth_time.expect("chain tokens carry auth_time");
                prop_assert_eq!(Some(auth_time), claims["auth_time"].as_u64());
                prop_assert!(c.exp <= auth_time + ABSOLUTE_S, "{} outlives the chain of {}", c.exp, claims);
                prop_assert_eq!(grant.expires_in, c.exp - c.iat);
            }
            Err(f) => assert_client_error(f, &claims)?,
        }
    }

    #[test]
    fn opaque_tokens_shape_check_and_hash_never_panic(text in prop_oneof![
        "[A-Za-z0-9_-]{43}",
        "[A-Za-z0-9_=+/.-]{40,46}",
        "\\PC{0,64}",
    ]) {
        let valid = opaque::looks_valid(&text);
        let expected = text.len() == opaque::TOKEN_TEXT_LEN
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        prop_assert_eq!(valid, expected, "{:?}", text);
        prop_assert_eq!(opaque::hash_text(&text), opaque::hash_text(&text));
        prop_assert_ne!(opaque::hash_text(&text), opaque::hash_text(&format!("{text}x")));
    }
}

/// Users 0 (admin), 1 and 2, with user 1 promoted: tokens claim role `user`, so a copied role shows.
fn directory() -> &'static Directory {
    static USERS: OnceLock<Directory> = OnceLock::new();
    USERS.get_or_init(|| {
        let d = Directory::seeded(3, 256, 1, 1).unwrap();
        d.set_role(1, Role::Admin);
        d
    })
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

// ---------------------------------------------------------------------------------------------
// Fixed cases: the generators' baseline, and extremes they reach only by chance. An input a
// property run finds goes here as a plain test (none so far, at 100,000 cases per property).

/// The generators' starting point is a valid token, so the properties above test acceptance as
/// well as refusal.
#[test]
fn unedited_claims_verify_and_refresh_under_every_algorithm() {
    let n = now();
    let claims = edited_claims(&vec![Edit::Keep; CLAIMS.len()], n);
    for k in keyed() {
        let token = jsonwebtoken::encode(&jsonwebtoken::Header::new(k.alg.jose()), &claims, &k.signing).unwrap();
        assert!(k.jwt().verify(&token, n).is_ok(), "{:?}", k.alg);
        let grant = block_on(k.strategy.refresh(directory(), &token, n)).unwrap();
        let (_, c) = k.jwt().verify(&grant.access, n).unwrap();
        assert_eq!((c.role, c.auth_time), (Role::Admin, Some(n - 100)), "{:?}: role from the directory", k.alg);
    }
}

/// Numbers at the edge of u64 in every time claim, signed with the real key: refused, no overflow.
#[test]
fn extreme_times_in_signed_claims_fail_4xx() {
    let n = now();
    for (claim, value) in
        [("exp", u64::MAX), ("iat", u64::MAX), ("nbf", u64::MAX), ("auth_time", u64::MAX), ("iat", 0), ("exp", 0)]
    {
        let mut claims = edited_claims(&vec![Edit::Keep; CLAIMS.len()], n);
        claims[claim] = json!(value);
        for k in keyed() {
            let token = jsonwebtoken::encode(&jsonwebtoken::Header::new(k.alg.jose()), &claims, &k.signing).unwrap();
            let verified = k.jwt().verify(&token, n);
            assert!(verified.as_ref().is_err_and(|f| f.status().is_client_error()), "{claim}={value}: {verified:?}");
            let refreshed = block_on(k.strategy.refresh(directory(), &token, n)).map(|g| g.expires_in);
            assert!(refreshed.is_err_and(|f| f.status().is_client_error()), "{claim}={value}: refresh");
        }
    }
}

/// The size limit is inclusive: a header of exactly the limit is read, one byte more is 431.
#[test]
fn credential_header_size_limit_is_exact() {
    for (len, expected) in [(MAX_CREDENTIAL_HEADER, None), (MAX_CREDENTIAL_HEADER + 1, Some(Failure::HeaderTooLarge))] {
        let mut headers = HeaderMap::new();
        let value = format!("Bearer {}", "a".repeat(len - 7));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        assert_eq!(access_credential(&headers, Transport::Bearer).err(), expected, "{len}");
        let mut headers = HeaderMap::new();
        let value = format!("{ACCESS_COOKIE}={}", "a".repeat(len - ACCESS_COOKIE.len() - 1));
        headers.insert(COOKIE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(access_credential(&headers, Transport::Cookie).err(), expected, "cookie {len}");
    }
}
