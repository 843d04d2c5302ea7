//! JWT issue and verification with every check jsonwebtoken leaves to the caller.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::KeyMaterial;
use super::opaque::random_bytes;
use crate::error::Failure;
use crate::token::alg::Alg;
use crate::users::Role;

/// Longest token accepted before any decoding work is spent on it.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Most clock skew a target may be told to tolerate on exp and iat, in seconds.
pub const MAX_LEEWAY_S: u64 = 5;

/// `typ` header of jwt-strategy tokens.
pub const TYP_JWT: &str = "JWT";

/// `typ` header of hybrid access tokens (RFC 9068), so nothing else can pass as one.
pub const TYP_ACCESS: &str = "at+jwt";

/// Claims carried by every token the targets issue.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub role: Role,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    /// When the user logged in (RFC 9068 `auth_time`): carried unchanged along a jwt refresh chain,
    /// so the chain can be capped by an absolute lifetime. Hybrid access tokens leave it out.
    #[serde(default)]
    pub auth_time: Option<u64>,
}

#[derive(Serialize)]
struct ClaimsOut<'a> {
    sub: &'a str,
    name: &'a str,
    role: Role,
    iat: u64,
    exp: u64,
    iss: &'a str,
    aud: &'a str,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
}

/// Where a token sits in a renewable chain: when its login happened, and the instant (Unix seconds)
/// no token of the chain may outlive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    pub auth_time: u64,
    pub not_after: u64,
}

/// Signs and verifies one kind of token with one pinned algorithm and key.
pub struct JwtCodec {
    keys: KeyMaterial,
    header: Header,
    validation: Validation,
    ttl_s: u64,
    leeway_s: u64,
    typ: &'static str,
    issuer: String,
    audience: String,
}

/// A freshly signed token and what the caller needs to report about it.
pub struct Issued {
    pub token: String,
    pub jti: String,
    pub expires_in: u64,
}

impl JwtCodec {
    /// Builds the codec once per process: header template and validation rules are reused.
    pub fn new(
        alg: Alg,
        keys: KeyMaterial,
        ttl_s: u64,
        leeway_s: u64,
        typ: &'static str,
        issuer: &str,
        audience: &str,
    ) -> Self {
        let leeway_s = leeway_s.min(MAX_LEEWAY_S);
        let mut header = Header::new(alg.jose());
        header.typ = Some(typ.to_owned());
        // The kid the JWKS publishes, so a relying party can pick the key (and notice a new one).
        header.kid = keys.jwks.keys.first().and_then(|k| k.common.key_id.clone());
        let mut validation = Validation::new(alg.jose());
        validation.leeway = leeway_s;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        JwtCodec {
            keys,
            header,
            validation,
            ttl_s,
            leeway_s,
            typ,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Public keys for /.well-known/jwks.json.
    pub fn jwks(&self) -> &jsonwebtoken::jwk::JwkSet {
        &self.keys.jwks
    }

    /// Lifetime given to issued tokens.
    pub fn ttl_s(&self) -> u64 {
        self.ttl_s
    }

    /// Signs a token for a user, valid for the full TTL and outside any refresh chain (hybrid access tokens).
    pub fn issue(&self, user_id: u64, username: &str, role: Role, now: u64) -> Result<Issued, Failure> {
        self.sign(user_id, username, role, now, now.saturating_add(self.ttl_s), None)
    }

    /// Signs a token of a refresh chain: it carries the chain's login time and expires at the TTL or
    /// at the chain's end, whichever comes first. A chain that has ended gets nothing.
    pub fn issue_in_chain(
        &self,
        user_id: u64,
        username: &str,
        role: Role,
        chain: Chain,
        now: u64,
    ) -> Result<Issued, Failure> {
        let exp = now.saturating_add(self.ttl_s).min(chain.not_after);
        if exp <= now {
            return Err(Failure::Expired);
        }
        self.sign(user_id, username, role, now, exp, Some(chain.auth_time))
    }

    fn sign(
        &self,
        user_id: u64,
        username: &str,
        role: Role,
        now: u64,
        exp: u64,
        auth_time: Option<u64>,
    ) -> Result<Issued, Failure> {
        let jti = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, random_bytes::<16>());
        let sub = user_id.to_string();
        let claims = ClaimsOut {
            sub: &sub,
            name: username,
            role,
            iat: now,
            exp,
            iss: &self.issuer,
            aud: &self.audience,
            jti: &jti,
            auth_time,
        };
        let token = encode(&self.header, &claims, &self.keys.encoding)
            .map_err(|_| Failure::Internal("signing a token failed"))?;
        Ok(Issued { token, jti, expires_in: exp - now })
    }

    /// The first second at which [`verify`](Self::verify) refuses a token expiring at `exp` on its
    /// own: it accepts through `exp + leeway`. A denylist entry must last until then, not until `exp`.
    pub fn refused_from(&self, exp: u64) -> u64 {
        exp.saturating_add(self.leeway_s).saturating_add(1)
    }

    /// Verifies signature, algorithm, type, issuer, audience, lifetime and shape; any doubt is a 401.
    pub fn verify(&self, token: &str, now: u64) -> Result<(u64, Claims), Failure> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Failure::Oversized);
        }
        if token.bytes().filter(|b| *b == b'.').count() != 2 {
            return Err(Failure::Malformed);
        }
        let data = decode::<Claims>(token, &self.keys.decoding, &self.validation).map_err(|e| classify(e.kind()))?;
        if data.header.crit.is_some() {
            return Err(Failure::Malformed);
        }
        if data.header.typ.as_deref() != Some(self.typ) {
            return Err(Failure::WrongType);
        }
        let c = data.claims;
        if c.exp.saturating_sub(c.iat) > self.ttl_s || c.iat > now.saturating_add(self.leeway_s) {
            return Err(Failure::BadClaims);
        }
        if c.auth_time.is_some_and(|at| at > c.iat) {
            return Err(Failure::BadClaims);
        }
        let user_id = crate::users::parse_id(&c.sub).ok_or(Failure::BadClaims)?;
        Ok((user_id, c))
    }
}

fn classify(kind: &ErrorKind) -> Failure {
    match kind {
        ErrorKind::ExpiredSignature => Failure::Expired,
        ErrorKind::InvalidSignature => Failure::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Failure::WrongAlgorithm,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience | ErrorKind::ImmatureSignature => Failure::BadClaims,
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidSubject => Failure::BadClaims,
        _ => Failure::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::keys::from_bytes;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn codec(alg: Alg) -> JwtCodec {
        let dir = tempfile::tempdir().unwrap();
        let keys = crate::token::keys::load_or_generate(dir.path(), alg).unwrap();
        JwtCodec::new(alg, keys, 3600, 0, TYP_JWT, "iss", "aud")
    }

    fn b64(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn claims(now: u64) -> serde_json::Value {
        serde_json::json!({"sub":"7","name":"user7","role":"user","iat":now,"exp":now+600,"iss":"iss","aud":"aud","jti":"x"})
    }

    #[test]
    fn round_trip_every_algorithm() {
        for alg in [Alg::Hs256, Alg::Rs256, Alg::Es256, Alg::EdDsa] {
            let c = codec(alg);
            let now = jsonwebtoken::get_current_timestamp();
            let t = c.issue(7, "user7", Role::User, now).unwrap();
            let (id, cl) = c.verify(&t.token, now).unwrap();
            assert_eq!((id, cl.name.as_str(), cl.role), (7, "user7", Role::User), "{alg:?}");
        }
    }

    #[test]
    fn alg_none_in_any_case_is_rejected() {
        let c = codec(Alg::Hs256);
        let now = jsonwebtoken::get_current_timestamp();
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = format!("{}.{}.", b64(&serde_json::json!({"alg":alg,"typ":"JWT"})), b64(&claims(now)));
            assert!(c.verify(&t, now).is_err(), "{alg}");
        }
    }

    #[test]
    fn hs256_signed_with_rsa_public_key_is_rejected() {
        let c = codec(Alg::Rs256);
        let now = jsonwebtoken::get_current_timestamp();
        let public = serde_json::to_vec(&c.jwks().keys[0]).unwrap();
        let forged = encode(
            &Header { typ: Some(TYP_JWT.into()), ..Header::new(jsonwebtoken::Algorithm::HS256) },
            &claims(now),
            &jsonwebtoken::EncodingKey::from_secret(&public),
        )
        .unwrap();
        assert!(matches!(c.verify(&forged, now), Err(Failure::WrongAlgorithm)));
    }

    #[test]
    fn tampering_and_shape_errors_are_rejected() {
        let c = codec(Alg::Es256);
        let now = jsonwebtoken::get_current_timestamp();
        let t = c.issue(1, "user1", Role::User, now).unwrap().token;
        let parts: Vec<&str> = t.split('.').collect();
        let admin = serde_json::json!({"sub":"1","name":"user1","role":"admin","iat":now,"exp":now+600,"iss":"iss","aud":"aud","jti":"x"});
        let cases = [
            format!("{}.{}.", parts[0], parts[1]),
            format!("{}.{}", parts[0], parts[1]),
            format!("{}.{}.{}", parts[0], parts[1], &parts[2][..parts[2].len() / 2]),
            format!("{}.{}.{}", parts[0], b64(&admin), parts[2]),
            format!("{t}.extra"),
            "garbage".to_owned(),
            "a.b.c".to_owned(),
            "x".repeat(MAX_TOKEN_LEN + 1),
        ];
        for case in cases {
            assert!(c.verify(&case, now).is_err(), "accepted {case}");
        }
    }

    #[test]
    fn chain_tokens_carry_the_login_time_and_end_with_the_chain() {
        let c = codec(Alg::EdDsa);
        let now = jsonwebtoken::get_current_timestamp();
        let chain = Chain { auth_time: now - 100, not_after: now + 60 };
        let t = c.issue_in_chain(3, "user3", Role::Admin, chain, now).unwrap();
        assert_eq!(t.expires_in, 60, "capped by the chain, not the 3600 s TTL");
        let (_, cl) = c.verify(&t.token, now).unwrap();
        assert_eq!((cl.auth_time, cl.exp, cl.iat), (Some(now - 100), now + 60, now));
        let long = Chain { auth_time: now, not_after: now + 86_400 };
        assert_eq!(c.issue_in_chain(3, "user3", Role::User, long, now).unwrap().expires_in, 3600);
        let ended = Chain { auth_time: now - 100, not_after: now };
        assert!(matches!(c.issue_in_chain(3, "user3", Role::User, ended, now), Err(Failure::Expired)));
        assert_eq!(c.verify(&c.issue(3, "user3", Role::User, now).unwrap().token, now).unwrap().1.auth_time, None);
        assert_eq!(c.refused_from(now), now + 1, "leeway 0: refused from the second after exp");
    }

    #[test]
    fn typ_separates_jwt_tokens_from_access_tokens_under_one_key() {
        let dir = tempfile::tempdir().unwrap();
        for alg in [Alg::Hs256, Alg::Es256] {
            let keys = || crate::token::keys::load_or_generate(dir.path(), alg).unwrap();
            let jwt = JwtCodec::new(alg, keys(), 3600, 0, TYP_JWT, "iss", "aud");
            let access = JwtCodec::new(alg, keys(), 3600, 0, TYP_ACCESS, "iss", "aud");
            let now = jsonwebtoken::get_current_timestamp();
            let (jt, at) =
                (jwt.issue(1, "user1", Role::User, now).unwrap(), access.issue(1, "u", Role::User, now).unwrap());
            assert!(jwt.verify(&jt.token, now).is_ok() && access.verify(&at.token, now).is_ok(), "{alg:?}");
            assert!(matches!(jwt.verify(&at.token, now), Err(Failure::WrongType)), "{alg:?}: at+jwt accepted as JWT");
            assert!(
                matches!(access.verify(&jt.token, now), Err(Failure::WrongType)),
                "{alg:?}: JWT accepted as at+jwt"
            );
        }
    }

    #[test]
    fn issued_tokens_carry_the_published_kid() {
        for alg in [Alg::Rs256, Alg::Es256, Alg::EdDsa] {
            let c = codec(alg);
            let t = c.issue(1, "user1", Role::User, jsonwebtoken::get_current_timestamp()).unwrap();
            let kid = jsonwebtoken::decode_header(&t.token).unwrap().kid;
            assert!(kid.is_some(), "{alg:?}");
            assert_eq!(kid, c.jwks().keys[0].common.key_id, "{alg:?}");
        }
        let hs = codec(Alg::Hs256);
        let t = hs.issue(1, "user1", Role::User, jsonwebtoken::get_current_timestamp()).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&t.token).unwrap().kid, None, "no JWKS, so no kid to name");
    }

    #[test]
    fn claim_checks() {
        let dir = tempfile::tempdir().unwrap();
        let keys = crate::token::keys::load_or_generate(dir.path(), Alg::Hs256).unwrap();
        let secret = keys.encoding.as_bytes().to_vec();
        let c = JwtCodec::new(Alg::Hs256, from_bytes(Alg::Hs256, &secret).unwrap(), 3600, 0, TYP_JWT, "iss", "aud");
        let key = jsonwebtoken::EncodingKey::from_secret(&secret);
        let now = jsonwebtoken::get_current_timestamp();
        let sign = |header: Header, v: serde_json::Value| encode(&header, &v, &key).unwrap();
        let h = || Header { typ: Some(TYP_JWT.into()), ..Header::new(jsonwebtoken::Algorithm::HS256) };
        assert!(c.verify(&sign(h(), claims(now)), now).is_ok(), "baseline must pass");
        let mut expired = claims(now - 4000);
        expired["exp"] = (now - 10).into();
        let mut wrong_iss = claims(now);
        wrong_iss["iss"] = "other".into();
        let mut wrong_aud = claims(now);
        wrong_aud["aud"] = "other".into();
        let mut too_long = claims(now);
        too_long["exp"] = (now + 7200).into();
        let mut no_sub = claims(now);
        no_sub.as_object_mut().unwrap().remove("sub");
        let mut no_iat = claims(now);
        no_iat.as_object_mut().unwrap().remove("iat");
        let mut future_iat = claims(now + 600);
        future_iat["exp"] = (now + 700).into();
        let mut late_login = claims(now);
        late_login["auth_time"] = (now + 1).into();
        let mut plus_sub = claims(now);
        plus_sub["sub"] = "+7".into();
        let mut zero_sub = claims(now);
        zero_sub["sub"] = "07".into();
        let mut big_sub = claims(now);
        big_sub["sub"] = "18446744073709551616".into();
        for (name, v) in [
            ("expired", expired),
            ("iss", wrong_iss),
            ("aud", wrong_aud),
            ("lifetime", too_long),
            ("sub", no_sub),
            ("iat", no_iat),
            ("future iat", future_iat),
            ("auth_time after iat", late_login),
            ("sub with a sign", plus_sub),
            ("sub with a leading zero", zero_sub),
            ("sub past u64", big_sub),
        ] {
            assert!(c.verify(&sign(h(), v), now).is_err(), "{name} accepted");
        }
        let mut crit = h();
        crit.crit = Some(vec!["exp".into()]);
        assert!(c.verify(&sign(crit, claims(now)), now).is_err(), "crit accepted");
        let wrong_typ = Header { typ: Some(TYP_ACCESS.into()), ..Header::new(jsonwebtoken::Algorithm::HS256) };
        assert!(c.verify(&sign(wrong_typ, claims(now)), now).is_err(), "typ accepted");
        let mut with_jku = h();
        with_jku.jku = Some("http://127.0.0.1/evil".into());
        with_jku.kid = Some("../../etc/passwd".into());
        assert!(c.verify(&sign(with_jku, claims(now)), now).is_ok(), "kid/jku must be ignored, not trusted");
    }
}
