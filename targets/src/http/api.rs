//! The protected resources: what a load test calls on every request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::Json;

use super::credentials::access_credential;
use super::App;
use crate::error::Failure;
use crate::strategy::Principal;
use crate::users::Role;

/// GET /api/me: who the credential belongs to.
pub async fn me(State(app): State<Arc<App>>, req: Request) -> Result<Json<Principal>, Failure> {
    let credential = access_credential(req.headers(), app.transport)?;
    Ok(Json(app.auth.authenticate(credential).await?))
}

/// GET /api/admin: admins only, so stale role data shows up as a wrong 200.
pub async fn admin(State(app): State<Arc<App>>, req: Request) -> Result<Json<Principal>, Failure> {
    let credential = access_credential(req.headers(), app.transport)?;
    let p = app.auth.authenticate(credential).await?;
    if p.role != Role::Admin {
        return Err(Failure::Forbidden);
    }
    Ok(Json(p))
}
