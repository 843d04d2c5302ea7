//! The HTTP contract every target serves, whatever its strategy.

pub mod api;
pub mod auth;
pub mod control;
pub mod credentials;
pub mod ops;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::contract::{route, CONTROL_KEY_HEADER};
use crate::error::{Failure, FailureReason};
use crate::metrics::Metrics;
use crate::spec::Transport;
use crate::strategy::Auth;

/// Largest request body accepted; logins and refreshes are tiny.
pub const MAX_BODY: usize = 16 * 1024;

/// Shared state of a running target.
pub struct App {
    pub auth: Auth,
    pub metrics: Arc<Metrics>,
    pub transport: Transport,
    /// Key for /control and /metrics; None turns them off (403). At least 16 bytes when set.
    pub control_key: Option<String>,
    /// Longest a public request may take, body included, before it is answered 503.
    pub request_timeout: Duration,
    /// /control/info body, rendered once at start.
    pub info: String,
}

/// The router behind request accounting: what a connection serves.
#[derive(Clone)]
pub struct Service {
    router: Router,
    app: Arc<App>,
}

/// Builds the router, with request accounting wrapped around it (not layered onto each route: a
/// per-route middleware clones and boxes the route's service on every request, which cost more
/// CPU than a session lookup's own work).
pub fn router(app: Arc<App>) -> Service {
    let router = Router::new()
        .route(route::LOGIN, post(auth::login))
        .route(route::REFRESH, post(auth::refresh))
        .route(route::LOGOUT, post(auth::logout))
        .route(route::ME, get(api::me))
        .route(route::ADMIN, get(api::admin))
        .route(route::JWKS, get(ops::jwks))
        .route(route::HEALTHZ, get(ops::healthz))
        .route(route::METRICS, get(ops::metrics))
        .route(route::REVOKE, post(control::revoke))
        .route(route::ROLE, post(control::role))
        .route(route::INFO, get(control::info))
        .route(route::SEED, post(control::seed))
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, r#"{"error":"not found"}"#) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::clone(&app));
    Service { router, app }
}

impl Service {
    /// The deadlines the target's requests are bounded by, for hyper's header-read timer too.
    pub fn deadlines(&self) -> Arc<crate::deadline::Deadlines> {
        Arc::clone(&self.app.auth.deadlines)
    }
}

impl<B> hyper::service::Service<axum::http::Request<B>> for Service
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send>>;

    fn call(&self, req: axum::http::Request<B>) -> Self::Future {
        let (mut router, app) = (self.router.clone(), Arc::clone(&self.app));
        let route = route_label(req.uri().path());
        let auth_in = auth_bytes_in(req.headers());
        let answer = tower_service::Service::call(&mut router, req.map(Body::new));
        Box::pin(async move {
            let resp = match route::is_control(route) {
                true => answer.await,
                false => app
                    .auth
                    .deadlines
                    .bound(app.request_timeout, answer)
                    .await
                    .unwrap_or_else(|_| Ok(Failure::Timeout.into_response())),
            };
            let resp = resp.unwrap_or_else(|never| match never {});
            account(&app, route, auth_in, &resp);
            Ok(resp)
        })
    }
}

/// The route a path matches, as axum matches it (a `{id}` stands for one non-empty segment), or
/// "other". Plain routes by equality first: a substring search per pattern on every request cost
/// more than the label is worth.
fn route_label(path: &str) -> &'static str {
    if let Some(plain) = route::ALL.iter().copied().find(|r| *r == path) {
        return plain;
    }
    let matches = |pattern: &str| match pattern.split_once("{id}") {
        None => false,
        Some((prefix, suffix)) => path
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(|id| !id.is_empty() && !id.contains('/')),
    };
    match route::is_control(path) {
        true => route::ALL.iter().copied().find(|r| matches(r)).unwrap_or("other"),
        false => "other",
    }
}

/// Bytes of header lines as they cross the wire, so every auth byte count means the same thing.
pub fn header_line_bytes<'a>(name: &str, values: impl Iterator<Item = &'a axum::http::HeaderValue>) -> u64 {
    // "Name: value\r\n" as it crosses the wire.
    values.map(|v| (name.len() + 4 + v.len()) as u64).sum()
}

fn auth_bytes_in(h: &HeaderMap) -> u64 {
    header_line_bytes("authorization", h.get_all(AUTHORIZATION).iter())
        + header_line_bytes("cookie", h.get_all(COOKIE).iter())
}

/// Counts a request by route and status, its refusal reason, and its auth-material bytes. Public
/// requests that outlast --request-timeout (reading their body included) were answered 503;
/// control calls carry the key and may run long (seeding a million records): they have no deadline.
fn account(app: &App, route: &'static str, auth_in: u64, resp: &Response) {
    if auth_in > 0 {
        app.metrics.auth_bytes_received.inc_by(auth_in);
    }
    let set_cookie = header_line_bytes("set-cookie", resp.headers().get_all(SET_COOKIE).iter());
    if set_cookie > 0 {
        app.metrics.auth_bytes_sent.inc_by(set_cookie);
    }
    if let Some(FailureReason(reason)) = resp.extensions().get::<FailureReason>() {
        app.metrics.failure(reason);
    }
    app.metrics.request(route, resp.status().as_u16());
}

/// Body-or-rejection helper: malformed JSON is a 400 with a message, never a 422 or a panic.
pub fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(|_| Failure::BadRequest(what))
}

/// A JSON body must say so: anything else, a missing Content-Type included, is 415. A cross-site
/// form can only send text/plain, urlencoded or multipart bodies, so this closes login CSRF too.
pub fn require_json(headers: &HeaderMap) -> Result<(), Failure> {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let value = values.next().ok_or(Failure::UnsupportedMediaType)?;
    let essence = value.to_str().ok().and_then(|v| v.split(';').next()).map(str::trim);
    match essence {
        Some(e) if e.eq_ignore_ascii_case("application/json") && values.next().is_none() => Ok(()),
        _ => Err(Failure::UnsupportedMediaType),
    }
}

/// Cookie mode's CSRF rule for state-changing requests (login, refresh, logout), as in Go's
/// `http.CrossOriginProtection`: a browser's `Sec-Fetch-Site` must be `same-origin` or `none`;
/// without it, an `Origin` must name this host (the Host header); a request with neither header
/// comes from a non-browser client (curl, the harness) and is allowed. Otherwise 403.
pub fn same_origin(headers: &HeaderMap) -> Result<(), Failure> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(Failure::CrossSite),
        };
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| Failure::CrossSite)?;
    let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    match (authority, headers.get(HOST)) {
        (Some(a), Some(host)) if !a.is_empty() && a.as_bytes().eq_ignore_ascii_case(host.as_bytes()) => Ok(()),
        _ => Err(Failure::CrossSite),
    }
}

impl App {
    /// Checks the control key in constant time.
    pub fn control_allowed(&self, headers: &axum::http::HeaderMap) -> Result<(), Failure> {
        use subtle::ConstantTimeEq;
        // Config::validate refuses short keys; an empty one must never match a missing header.
        let Some(expected) = self.control_key.as_ref().filter(|k| !k.is_empty()) else {
            return Err(Failure::ControlDenied);
        };
        let given = headers.get(CONTROL_KEY_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if bool::from(given.ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(Failure::ControlDenied)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_get_the_label_of_the_route_axum_matches() {
        assert_eq!(route_label("/api/me"), route::ME);
        assert_eq!(route_label("/control/users/17/revoke"), route::REVOKE);
        assert_eq!(route_label("/control/users/0/role"), route::ROLE);
        for unmatched in ["/api/me/", "/api", "/control/users//revoke", "/control/users/1/2/revoke", "/nope"] {
            assert_eq!(route_label(unmatched), "other", "{unmatched}");
        }
    }
}
