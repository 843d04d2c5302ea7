//! Control API for the harness: revoke a user, change a role, describe the target.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::{json_body, require_json, App};
use crate::error::Failure;
use crate::strategy::RevokeOutcome;
use crate::users::Role;

#[derive(Deserialize)]
struct RoleRequest {
    role: String,
}

fn user_id(raw: &str) -> Result<u64, Failure> {
    raw.parse().map_err(|_| Failure::BadRequest("user id must be a non-negative integer"))
}

/// POST /control/users/{id}/revoke: log the user out everywhere.
pub async fn revoke(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<RevokeOutcome>, Failure> {
    app.control_allowed(&headers)?;
    Ok(Json(app.auth.revoke_user(user_id(&id)?).await?))
}

/// POST /control/users/{id}/role {"role"}: promote or demote.
pub async fn role(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Failure> {
    app.control_allowed(&headers)?;
    require_json(&headers)?;
    let req: RoleRequest = json_body(&body, "body must be JSON {\"role\": \"admin\"|\"user\"}")?;
    let role = Role::parse(&req.role).ok_or(Failure::BadRequest("role must be \"admin\" or \"user\""))?;
    let id = user_id(&id)?;
    app.auth.set_role(id, role).await?;
    Ok(Json(serde_json::json!({ "id": id, "role": role })))
}

#[derive(Deserialize)]
struct SeedRequest {
    count: u64,
}

/// Most records one seed call creates.
pub const MAX_SEED: u64 = 1_000_000;

/// POST /control/sessions/seed {"count"}: store `count` sessions or refresh families, for measuring storage.
pub async fn seed(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Failure> {
    app.control_allowed(&headers)?;
    require_json(&headers)?;
    let req: SeedRequest = json_body(&body, "body must be JSON {\"count\": N}")?;
    if req.count == 0 || req.count > MAX_SEED {
        return Err(Failure::BadRequest("count must be between 1 and 1000000"));
    }
    let created = app.auth.seed_records(req.count).await?;
    Ok(Json(serde_json::json!({ "created": created })))
}

/// GET /control/info: strategy, store, algorithm, TTLs and what the strategy can and cannot do.
pub async fn info(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<impl IntoResponse, Failure> {
    app.control_allowed(&headers)?;
    Ok(([(CONTENT_TYPE, "application/json")], app.info.clone()))
}
