//! Login, refresh and logout.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::credentials::{access_credential, clear_cookie, cookie, set_cookie, ACCESS_COOKIE, REFRESH_COOKIE};
use super::{json_body, require_json, same_origin, App};
use crate::error::Failure;
use crate::spec::Transport;
use crate::strategy::{Grant, Strategy};

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

#[derive(Serialize)]
struct GrantBody<'a> {
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<&'a str>,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_in: Option<u64>,
}

/// The login or refresh answer for a grant: tokens in a JSON body (bearer) or in cookies.
pub fn grant_response(grant: &Grant, transport: Transport) -> Response {
    match transport {
        Transport::Bearer => {
            let refresh = grant.refresh.as_ref();
            Json(GrantBody {
                token_type: "Bearer",
                access_token: Some(&grant.access),
                expires_in: grant.expires_in,
                refresh_token: refresh.map(|(r, _)| r.as_str()),
                refresh_expires_in: refresh.map(|(_, ttl)| *ttl),
            })
            .into_response()
        }
        Transport::Cookie => {
            let mut resp = Json(GrantBody {
                token_type: "cookie",
                access_token: None,
                expires_in: grant.expires_in,
                refresh_token: None,
                refresh_expires_in: grant.refresh.as_ref().map(|(_, ttl)| *ttl),
            })
            .into_response();
            let h = resp.headers_mut();
            h.append(SET_COOKIE, set_cookie(ACCESS_COOKIE, &grant.access, grant.expires_in));
            if let Some((refresh, ttl)) = &grant.refresh {
                h.append(SET_COOKIE, set_cookie(REFRESH_COOKIE, refresh, *ttl));
            }
            resp
        }
    }
}

impl App {
    fn grant_response(&self, grant: &Grant) -> Response {
        if self.transport == Transport::Bearer {
            // Cookie bytes are counted from Set-Cookie lines by the accounting middleware.
            let tokens = grant.access.len() + grant.refresh.as_ref().map_or(0, |(r, _)| r.len());
            self.metrics.auth_bytes_sent.inc_by(tokens as u64);
        }
        grant_response(grant, self.transport)
    }

    /// What refresh and logout act on: hybrid's refresh token, otherwise the access credential.
    fn presented<'a>(&self, headers: &'a HeaderMap, body: &'a [u8]) -> Result<std::borrow::Cow<'a, str>, Failure> {
        if !matches!(self.auth.strategy, Strategy::Hybrid(_)) {
            return access_credential(headers, self.transport).map(std::borrow::Cow::Borrowed);
        }
        match self.transport {
            Transport::Cookie => cookie(headers, REFRESH_COOKIE).map(std::borrow::Cow::Borrowed),
            Transport::Bearer => {
                if body.is_empty() {
                    return Err(Failure::Missing);
                }
                require_json(headers)?;
                let r: RefreshRequest = json_body(body, "body must be JSON {\"refresh_token\"}")?;
                Ok(std::borrow::Cow::Owned(r.refresh_token))
            }
        }
    }

    /// Cookie mode: a browser on another site must not log in, refresh or log out on the user's behalf.
    fn csrf_check(&self, headers: &HeaderMap) -> Result<(), Failure> {
        match self.transport {
            Transport::Cookie => same_origin(headers),
            Transport::Bearer => Ok(()),
        }
    }
}

/// POST /auth/login.
pub async fn login(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    app.csrf_check(&headers)?;
    require_json(&headers)?;
    let req: LoginRequest = json_body(&body, "body must be JSON {\"username\",\"password\"}")?;
    let grant = app.auth.login(req.username, req.password).await?;
    Ok(app.grant_response(&grant))
}

/// POST /auth/refresh.
pub async fn refresh(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    app.csrf_check(&headers)?;
    let presented = app.presented(&headers, &body)?;
    let grant = app.auth.refresh(&presented).await?;
    Ok(app.grant_response(&grant))
}

/// POST /auth/logout.
pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    app.csrf_check(&headers)?;
    let presented = app.presented(&headers, &body)?;
    let server_side = app.auth.logout(&presented).await?;
    let note = if server_side {
        "credential invalidated on the server"
    } else {
        "jwt without denylist: nothing to invalidate, the token stays valid until exp"
    };
    let mut resp =
        Json(serde_json::json!({ "logged_out": true, "server_side": server_side, "note": note })).into_response();
    if app.transport == Transport::Cookie {
        resp.headers_mut().append(SET_COOKIE, clear_cookie(ACCESS_COOKIE));
        if matches!(app.auth.strategy, Strategy::Hybrid(_)) {
            resp.headers_mut().append(SET_COOKIE, clear_cookie(REFRESH_COOKIE));
        }
    }
    Ok(resp)
}
