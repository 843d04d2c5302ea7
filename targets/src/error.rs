//! Why a request was refused, and how each reason maps onto HTTP.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why a request was not served; the variant name is the `reason` label in /metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("no credential presented")]
    Missing,
    #[error("credential is malformed")]
    Malformed,
    #[error("credential is longer than any token this target issues")]
    Oversized,
    #[error("credential header is too large")]
    HeaderTooLarge,
    #[error("signature does not verify")]
    BadSignature,
    #[error("token uses another algorithm than the pinned one")]
    WrongAlgorithm,
    #[error("token is of the wrong type")]
    WrongType,
    #[error("credential expired")]
    Expired,
    #[error("claims fail validation")]
    BadClaims,
    #[error("credential was revoked")]
    Revoked,
    #[error("credential is unknown to the store")]
    Unknown,
    #[error("wrong username or password")]
    BadLogin,
    #[error("refresh token was already used: its family is revoked")]
    RefreshReused,
    #[error("role does not allow this")]
    Forbidden,
    #[error("control key missing or wrong")]
    ControlDenied,
    #[error("store unavailable")]
    StoreUnavailable,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error("state-changing request from another site (cookie mode)")]
    CrossSite,
    #[error("body is not declared as application/json")]
    UnsupportedMediaType,
    #[error("too many logins waiting for a password-hashing slot")]
    Busy,
    #[error("request took longer than --request-timeout")]
    Timeout,
}

/// Reason attached to a refused response so the metrics layer can count it by label.
#[derive(Debug, Clone, Copy)]
pub struct FailureReason(pub &'static str);

impl Failure {
    /// Label value for `authbench_auth_failures_total{reason}`.
    pub fn reason(self) -> &'static str {
        match self {
            Failure::Missing => "missing",
            Failure::Malformed => "malformed",
            Failure::Oversized => "oversized",
            Failure::HeaderTooLarge => "header_too_large",
            Failure::BadSignature => "bad_signature",
            Failure::WrongAlgorithm => "wrong_algorithm",
            Failure::WrongType => "wrong_type",
            Failure::Expired => "expired",
            Failure::BadClaims => "bad_claims",
            Failure::Revoked => "revoked",
            Failure::Unknown => "unknown",
            Failure::BadLogin => "bad_login",
            Failure::RefreshReused => "refresh_reused",
            Failure::Forbidden => "forbidden",
            Failure::ControlDenied => "control_denied",
            Failure::StoreUnavailable => "store_unavailable",
            Failure::BadRequest(_) => "bad_request",
            Failure::Internal(_) => "internal",
            Failure::CrossSite => "cross_site",
            Failure::UnsupportedMediaType => "unsupported_media_type",
            Failure::Busy => "busy",
            Failure::Timeout => "timeout",
        }
    }

    /// HTTP status: every credential problem is 401 so a forgery cannot provoke a 500.
    pub fn status(self) -> StatusCode {
        match self {
            Failure::HeaderTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Failure::Forbidden | Failure::ControlDenied | Failure::CrossSite => StatusCode::FORBIDDEN,
            Failure::StoreUnavailable | Failure::Busy | Failure::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Failure::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = self.status();
        // One body per status: the client learns nothing about which credential check failed.
        let body = match self {
            Failure::BadRequest(m) => serde_json::json!({ "error": m }).to_string(),
            Failure::Busy | Failure::Timeout => r#"{"error":"busy, retry later"}"#.to_owned(),
            _ => match status {
                StatusCode::UNAUTHORIZED => r#"{"error":"unauthorized"}"#,
                StatusCode::FORBIDDEN => r#"{"error":"forbidden"}"#,
                StatusCode::SERVICE_UNAVAILABLE => r#"{"error":"store unavailable, retry later"}"#,
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => r#"{"error":"credential header too large"}"#,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => r#"{"error":"body must be application/json"}"#,
                _ => r#"{"error":"internal error"}"#,
            }
            .to_owned(),
        };
        if let Failure::Internal(what) = self {
            tracing::error!(what, "internal error");
        }
        let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp.extensions_mut().insert(FailureReason(self.reason()));
        resp
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unreachable: {0}")]
    Unavailable(String),
    #[error("store returned data this target cannot read: {0}")]
    Corrupt(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(msg) => {
                tracing::warn!(%msg, "store unavailable");
                Failure::StoreUnavailable
            }
            StoreError::Corrupt(msg) => {
                tracing::error!(%msg, "corrupt store record");
                Failure::Internal("corrupt store record")
            }
        }
    }
}
