//! Operational endpoints: liveness, metrics, public keys.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::App;
use crate::error::Failure;

/// GET /healthz: 200 when the process and its store answer, 503 when the store does not.
pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    let Some(store) = app.auth.store() else {
        return Json(serde_json::json!({ "status": "ok", "store": "none" })).into_response();
    };
    match store.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "store": store.kind().as_str() })).into_response(),
        Err(e) => {
            // The detail (addresses, driver messages) goes to the log, not to whoever asks.
            tracing::warn!(error = %e, "health check: store unavailable");
            let body = serde_json::json!({ "status": "degraded", "store": store.kind().as_str(), "error": "store unavailable" });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// GET /metrics: Prometheus text, for holders of the control key (refusal counts by reason tell an
/// attacker which forgeries get furthest).
pub async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<impl IntoResponse, Failure> {
    app.control_allowed(&headers)?;
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], app.metrics.render()))
}

/// GET /.well-known/jwks.json: public keys for asymmetric algorithms; empty for HMAC and sessions.
pub async fn jwks(State(app): State<Arc<App>>) -> Response {
    match app.auth.jwks() {
        Some(set) => Json(set).into_response(),
        None => Json(serde_json::json!({ "keys": [] })).into_response(),
    }
}
