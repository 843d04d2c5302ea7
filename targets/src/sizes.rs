//! Bytes each strategy puts on the wire for its credentials, measured on real tokens issued, sent and
//! refreshed through the targets' own code (memory store, default TTLs, one seeded user).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::Parser;
use serde::Serialize;

use crate::config::Config;
use crate::contract;
use crate::http::auth::grant_response;
use crate::http::credentials::{access_credential, cookie, ACCESS_COOKIE, REFRESH_COOKIE};
use crate::http::header_line_bytes;
use crate::metrics::Metrics;
use crate::spec::{StoreKind, StrategyKind, TargetSpec, Transport};
use crate::strategy::{Auth, Grant};
use crate::token::alg::Alg;

/// What one strategy, algorithm and transport costs in bytes per credential exchange.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WireSizes {
    pub strategy: StrategyKind,
    /// None for session, whose opaque token involves no algorithm.
    pub alg: Option<Alg>,
    pub transport: Transport,
    /// Characters of the credential every API request carries.
    pub access_token_chars: usize,
    /// JWT signature bytes before base64url; None for opaque tokens.
    pub signature_bytes: Option<usize>,
    /// Hybrid only: characters of the refresh token.
    pub refresh_token_chars: Option<usize>,
    /// The Authorization or Cookie header line on every API request, CRLF included.
    pub request_header_bytes: u64,
    pub login_set_cookie_bytes: u64,
    pub login_body_bytes: u64,
    /// What a refresh request carries: its credential header line plus any JSON body.
    pub refresh_request_bytes: u64,
    pub refresh_set_cookie_bytes: u64,
    pub refresh_body_bytes: u64,
}

impl WireSizes {
    /// "jwt HS256", "session", "hybrid ES256": how tables name a row.
    pub fn label(&self) -> String {
        match self.alg {
            Some(alg) => format!("{} {}", self.strategy.as_str(), alg.as_str()),
            None => self.strategy.as_str().to_owned(),
        }
    }
}

/// Every strategy with every algorithm (session once), for one transport.
pub async fn measure_all(transport: Transport, key_dir: &Path) -> anyhow::Result<Vec<WireSizes>> {
    let mut rows = Vec::new();
    for strategy in [StrategyKind::Jwt, StrategyKind::Session, StrategyKind::Hybrid] {
        let algs: &[Alg] = if strategy == StrategyKind::Session { &[Alg::Hs256] } else { &Alg::ALL };
        for &alg in algs {
            rows.push(measure(strategy, alg, transport, key_dir).await?);
        }
    }
    Ok(rows)
}

/// Logs a user in, sends the credential back the way a client would, refreshes, and counts each step.
pub async fn measure(
    strategy: StrategyKind,
    alg: Alg,
    transport: Transport,
    key_dir: &Path,
) -> anyhow::Result<WireSizes> {
    let what = format!("{} {} over {}", strategy.as_str(), alg.as_str(), transport.as_str());
    let spec = match strategy {
        StrategyKind::Jwt => TargetSpec { transport, ..TargetSpec::jwt(alg) },
        StrategyKind::None => TargetSpec { strategy, transport, ..TargetSpec::jwt(alg) },
        StrategyKind::Session | StrategyKind::Hybrid => {
            TargetSpec { transport, ..TargetSpec::stored(strategy, StoreKind::Memory, alg) }
        }
    };
    // Only sizes are measured: a cheap password hash keeps this quick.
    let args = ["authbench-target", "--seed-users", "2", "--argon2-m-kib", "1024", "--argon2-t", "1"];
    let mut cfg = Config::try_parse_from(args).with_context(|| format!("configuring {what}"))?;
    cfg.spec = spec;
    cfg.key_dir = key_dir.to_owned();
    let auth = Auth::build(&cfg, Arc::new(Metrics::new()), 1).await.with_context(|| format!("building {what}"))?;
    let fail = |step: &str, e: crate::error::Failure| anyhow::anyhow!("{step} failed for {what}: {e:?}");
    let login = auth.login(contract::username(1), contract::password(1)).await.map_err(|e| fail("login", e))?;
    let (login_set_cookie_bytes, login_body_bytes) = response_bytes(grant_response(&login, transport)).await?;

    let hybrid = strategy == StrategyKind::Hybrid;
    let api = credential_headers(transport, &login.access, None)?;
    if access_credential(&api, transport) != Ok(login.access.as_str()) {
        anyhow::bail!("{what}: the target does not read back the credential header built for it");
    }
    let refresh_token = login.refresh.as_ref().map(|(r, _)| r.as_str());
    // A browser sends every cookie whose path matches, so /auth/refresh gets access and refresh cookies.
    // What is presented is read back with the target's own parsers where a header carries it.
    let (refresh_headers, refresh_body, presented) = match (hybrid, transport) {
        (true, Transport::Cookie) => {
            let h = credential_headers(transport, &login.access, refresh_token)?;
            let presented = cookie(&h, REFRESH_COOKIE).ok().map(str::to_owned);
            (h, String::new(), presented)
        }
        (true, Transport::Bearer) => {
            let body = serde_json::json!({ "refresh_token": refresh_token.unwrap_or_default() }).to_string();
            (HeaderMap::new(), body, refresh_token.map(str::to_owned))
        }
        (false, _) => (api.clone(), String::new(), Some(login.access.clone())),
    };
    let presented = presented.with_context(|| format!("{what}: no refresh credential to present"))?;
    let refreshed = auth.refresh(&presented).await.map_err(|e| fail("refresh", e))?;
    let (refresh_set_cookie_bytes, refresh_body_bytes) = response_bytes(grant_response(&refreshed, transport)).await?;

    Ok(WireSizes {
        strategy,
        alg: spec.signing_alg(),
        transport,
        access_token_chars: login.access.len(),
        signature_bytes: signature_bytes(&login, strategy)?,
        refresh_token_chars: refresh_token.map(str::len),
        request_header_bytes: credential_line_bytes(&api),
        login_set_cookie_bytes,
        login_body_bytes,
        refresh_request_bytes: credential_line_bytes(&refresh_headers) + refresh_body.len() as u64,
        refresh_set_cookie_bytes,
        refresh_body_bytes,
    })
}

fn credential_headers(transport: Transport, access: &str, refresh: Option<&str>) -> anyhow::Result<HeaderMap> {
    let (name, value) = match transport {
        Transport::Bearer => (AUTHORIZATION, format!("Bearer {access}")),
        Transport::Cookie => match refresh {
            Some(r) => (COOKIE, format!("{ACCESS_COOKIE}={access}; {REFRESH_COOKIE}={r}")),
            None => (COOKIE, format!("{ACCESS_COOKIE}={access}")),
        },
    };
    let mut h = HeaderMap::new();
    h.insert(name, HeaderValue::from_str(&value).context("a token is not valid header text")?);
    Ok(h)
}

fn credential_line_bytes(h: &HeaderMap) -> u64 {
    header_line_bytes("authorization", h.get_all(AUTHORIZATION).iter())
        + header_line_bytes("cookie", h.get_all(COOKIE).iter())
}

async fn response_bytes(resp: Response) -> anyhow::Result<(u64, u64)> {
    let set_cookie = header_line_bytes("set-cookie", resp.headers().get_all(SET_COOKIE).iter());
    let body = axum::body::to_bytes(resp.into_body(), crate::http::MAX_BODY).await.context("reading a grant body")?;
    Ok((set_cookie, body.len() as u64))
}

fn signature_bytes(grant: &Grant, strategy: StrategyKind) -> anyhow::Result<Option<usize>> {
    if strategy == StrategyKind::Session {
        return Ok(None);
    }
    let sig = grant.access.rsplit('.').next().unwrap_or_default();
    let raw = URL_SAFE_NO_PAD.decode(sig).context("a JWT signature is not base64url")?;
    Ok(Some(raw.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn signatures_have_their_algorithms_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let rows = measure_all(Transport::Bearer, dir.path()).await.unwrap();
        let sig = |strategy: StrategyKind, alg: Alg| {
            rows.iter().find(|r| r.strategy == strategy && r.alg == Some(alg)).and_then(|r| r.signature_bytes)
        };
        for strategy in [StrategyKind::Jwt, StrategyKind::Hybrid] {
            assert_eq!(sig(strategy, Alg::Hs256), Some(32), "HMAC-SHA256 tag");
            assert_eq!(sig(strategy, Alg::Rs256), Some(256), "RSA-2048 signature");
            assert_eq!(sig(strategy, Alg::Rs256_4096), Some(512), "RSA-4096 signature");
            assert_eq!(sig(strategy, Alg::Es256), Some(64), "P-256 r||s");
            assert_eq!(sig(strategy, Alg::EdDsa), Some(64), "Ed25519 signature");
        }
        assert_eq!(rows.len(), 11, "5 jwt + 1 session + 5 hybrid");
        let session = rows.iter().find(|r| r.strategy == StrategyKind::Session).unwrap();
        assert_eq!((session.access_token_chars, session.signature_bytes), (43, None), "256-bit opaque token");
    }

    #[tokio::test]
    async fn byte_counts_follow_the_wire_format() {
        let dir = tempfile::tempdir().unwrap();
        for transport in [Transport::Bearer, Transport::Cookie] {
            let mut rest_by_strategy = std::collections::HashMap::new();
            for r in measure_all(transport, dir.path()).await.unwrap() {
                let t = r.access_token_chars as u64;
                // "authorization: Bearer <t>\r\n" or "cookie: __Host-authbench=<t>\r\n"
                let line = match transport {
                    Transport::Bearer => "authorization: Bearer ".len() as u64 + t + 2,
                    Transport::Cookie => "cookie: ".len() as u64 + ACCESS_COOKIE.len() as u64 + 1 + t + 2,
                };
                assert_eq!(r.request_header_bytes, line, "{} {transport:?}", r.label());
                // Whatever the algorithm, the rest of the answer is the same size: only the tokens vary.
                let tokens = t + r.refresh_token_chars.unwrap_or(0) as u64;
                let (carrier, rest) = match transport {
                    Transport::Bearer => (r.login_body_bytes, r.login_set_cookie_bytes),
                    Transport::Cookie => (r.login_set_cookie_bytes, r.login_body_bytes),
                };
                let fixed = (r.strategy, carrier - tokens, rest);
                let first = *rest_by_strategy.entry(r.strategy.as_str()).or_insert(fixed);
                assert_eq!(first, fixed, "{} {transport:?}: token bytes outside the carrier", r.label());
                if transport == Transport::Bearer {
                    assert_eq!(rest, 0, "{}: bearer answers set no cookies", r.label());
                }
                let hybrid = r.strategy == StrategyKind::Hybrid;
                assert_eq!(r.refresh_token_chars, hybrid.then_some(43), "{}", r.label());
                // jwt and session refresh with the access credential; hybrid with its refresh token.
                let refresh_request = match (hybrid, transport) {
                    (false, _) => r.request_header_bytes,
                    (true, Transport::Bearer) => r#"{"refresh_token":""}"#.len() as u64 + 43,
                    (true, Transport::Cookie) => r.request_header_bytes + 2 + REFRESH_COOKIE.len() as u64 + 1 + 43,
                };
                assert_eq!(r.refresh_request_bytes, refresh_request, "{} {transport:?}", r.label());
            }
        }
    }
}
