//! The one error type every agent-facing handler answers with: a status and a JSON body that
//! says what went wrong.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthError;
use crate::protocol::{ErrorBody, InvalidSessionId};
use crate::store::stream::StoreError;

/// An HTTP error with a JSON body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    message: String,
    /// Seconds, for `Retry-After`.
    retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "bad_request",
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "unauthorized",
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            error: "not_found",
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error: "forbidden",
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            error: "conflict",
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 503 with `Retry-After`: the node cannot answer yet.
    pub fn not_ready(message: impl Into<String>, retry_after_s: u64) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "not_ready",
            message: message.into(),
            retry_after_s: Some(retry_after_s),
        }
    }

    pub fn too_many(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "too_many",
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 410: what was asked for existed and is no more; `error` says how (`expired`, `used`).
    pub fn gone(error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::GONE,
            error,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// Adds `Retry-After`, in seconds.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::bad_request(e.body_text())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let (status, error, retry_after_s) = match e {
            AuthError::Throttled { retry_after_s } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many",
                Some(retry_after_s),
            ),
            _ => (StatusCode::UNAUTHORIZED, "unauthorized", None),
        };
        Self {
            status,
            error,
            message: e.to_string(),
            retry_after_s,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let (status, error) = match &e {
            StoreError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            StoreError::Ended { .. } => (StatusCode::GONE, "ended"),
            StoreError::TakenOver(_) | StoreError::Contended(_) => {
                (StatusCode::CONFLICT, "conflict")
            }
            StoreError::Unavailable(_) | StoreError::Config(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
            }
        };
        Self {
            status,
            error,
            message: e.to_string(),
            retry_after_s: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error.to_string(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
        }
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<InvalidSessionId> for ApiError {
    fn from(e: InvalidSessionId) -> Self {
        Self::bad_request(e.to_string())
    }
}
