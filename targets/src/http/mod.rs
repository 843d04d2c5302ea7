//! The HTTP contract every target serves, whatever its strategy.

pub mod api;
pub mod auth;
pub mod control;
pub mod credentials;
pub mod ops;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::config::Transport;
use crate::error::{Failure, FailureReason};
use crate::metrics::Metrics;
use crate::strategy::Auth;

/// Largest request body accepted; logins and refreshes are tiny.
pub const MAX_BODY: usize = 16 * 1024;

/// Shared state of a running target.
pub struct App {
    pub auth: Auth,
    pub metrics: Arc<Metrics>,
    pub transport: Transport,
    pub control_key: Option<String>,
    /// /control/info body, rendered once at start.
    pub info: String,
}

/// Builds the router with request accounting around every route.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/api/me", get(api::me))
        .route("/api/admin", get(api::admin))
        .route("/.well-known/jwks.json", get(ops::jwks))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/control/users/{id}/revoke", post(control::revoke))
        .route("/control/users/{id}/role", post(control::role))
        .route("/control/info", get(control::info))
        .route("/control/sessions/seed", post(control::seed))
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, r#"{"error":"not found"}"#) })
        .layer(middleware::from_fn_with_state(Arc::clone(&app), account))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

fn route_label(path: Option<&MatchedPath>) -> &'static str {
    const ROUTES: [&str; 12] = [
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/api/me",
        "/api/admin",
        "/.well-known/jwks.json",
        "/healthz",
        "/metrics",
        "/control/users/{id}/revoke",
        "/control/users/{id}/role",
        "/control/info",
        "/control/sessions/seed",
    ];
    path.and_then(|p| ROUTES.iter().find(|r| **r == p.as_str()).copied()).unwrap_or("other")
}

/// Bytes of header lines as they cross the wire, so every auth byte count means the same thing.
pub fn header_line_bytes<'a>(name: &str, values: impl Iterator<Item = &'a axum::http::HeaderValue>) -> u64 {
    // "Name: value\r\n" as it crosses the wire.
    values.map(|v| (name.len() + 4 + v.len()) as u64).sum()
}

/// Counts requests by route and status, refusal reasons, and auth-material bytes.
async fn account(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let route = route_label(req.extensions().get::<MatchedPath>());
    let h = req.headers();
    let auth_in = header_line_bytes("authorization", h.get_all(AUTHORIZATION).iter())
        + header_line_bytes("cookie", h.get_all(COOKIE).iter());
    if auth_in > 0 {
        app.metrics.auth_bytes_received.inc_by(auth_in);
    }
    let resp = next.run(req).await;
    let set_cookie = header_line_bytes("set-cookie", resp.headers().get_all(SET_COOKIE).iter());
    if set_cookie > 0 {
        app.metrics.auth_bytes_sent.inc_by(set_cookie);
    }
    if let Some(FailureReason(reason)) = resp.extensions().get::<FailureReason>() {
        app.metrics.failure(reason);
    }
    app.metrics.request(route, resp.status().as_u16());
    resp
}

/// Body-or-rejection helper: malformed JSON is a 400 with a message, never a 422 or a panic.
pub fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(|_| Failure::BadRequest(what))
}

impl App {
    /// Checks the control key in constant time.
    pub fn control_allowed(&self, headers: &axum::http::HeaderMap) -> Result<(), Failure> {
        use subtle::ConstantTimeEq;
        let Some(expected) = &self.control_key else {
            return Err(Failure::ControlDenied);
        };
        let given = headers.get("x-control-key").map(|v| v.as_bytes()).unwrap_or_default();
        if bool::from(given.ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(Failure::ControlDenied)
        }
    }
}
