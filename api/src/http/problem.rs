//! Errors as RFC 9457 `application/problem+json`, with a stable `code`.
//!
//! Every failure of a request becomes an [`ApiError`]. A 5xx answer is opaque: its
//! cause is logged with the request id, never sent.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::policy::Denied;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::StoreError;

use crate::http::request_id;

/// One refused field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer into the request body (`/profile/country`), or the query parameter
    /// (`/query/limit`).
    pub pointer: String,
    pub code: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, invalid: Invalid) -> Self {
        Self { pointer: pointer.into(), code: invalid.code.to_owned(), detail: invalid.detail }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code (see the API reference).
    pub code: String,
    pub request_id: String,
    /// Present for 422: each refused field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{code}: {detail}")]
    Status { status: StatusCode, code: &'static str, detail: String, retry_after: Option<u64> },
    /// 422 with the refused fields; `code` is `validation_failed` unless one refusal
    /// names the whole problem (`unknown_field`, `invalid_cursor`, `invalid_credentials`).
    #[error("{code}: {errors:?}")]
    Validation { code: &'static str, errors: Vec<FieldError> },
    /// A failure of ours; the cause goes to the log, not to the client.
    #[error("internal error: {0}")]
    Internal(String),
    /// No connection or hashing slot in time: the client may try again.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Lock contention or a serialization failure: the transaction may be retried.
    #[error("busy: {0}")]
    Busy(String),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self::Status { status, code, detail: detail.into(), retry_after: None }
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such object")
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn field(pointer: impl Into<String>, invalid: Invalid) -> Self {
        Self::fields(vec![FieldError::new(pointer, invalid)])
    }

    pub fn fields(errors: Vec<FieldError>) -> Self {
        Self::Validation { code: "validation_failed", errors }
    }

    /// A 422 whose one refused field also names the problem's code.
    pub fn invalid(code: &'static str, pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Validation { code, errors: vec![FieldError::new(pointer, Invalid::new(code, detail))] }
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        Self::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            detail: "too many requests; try again later".into(),
            retry_after: Some(retry_after.max(1)),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Status { code, .. } => code,
            Self::Validation { code, .. } => code,
            Self::Internal(_) => "internal",
            Self::Unavailable(_) | Self::Busy(_) => "unavailable",
        }
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        Self::new(StatusCode::FORBIDDEN, denied.code(), denied.detail())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Busy(cause) => Self::Busy(cause),
            StoreError::Pool(cause) => Self::Unavailable(cause),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<hostadmin_persistence::DieselError> for ApiError {
    fn from(error: hostadmin_persistence::DieselError) -> Self {
        StoreError::from(error).into()
    }
}

fn title(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").to_owned()
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Status { status, .. } => *status,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (detail, errors, retry_after) = match self {
            Self::Status { detail, retry_after, .. } => (detail.clone(), None, *retry_after),
            Self::Validation { errors, .. } => {
                ("the request has invalid fields".to_owned(), Some(errors.clone()), None)
            }
            Self::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                ("something went wrong on our side; the request id identifies it".to_owned(), None, None)
            }
            Self::Unavailable(cause) | Self::Busy(cause) => {
                tracing::warn!(cause = %cause, "unavailable");
                ("the service is busy; try again shortly".to_owned(), None, Some(1))
            }
        };
        let problem = Problem {
            type_: format!("https://hostadmin.dev/problems/{}", self.code().replace('_', "-")),
            title: title(status),
            status: status.as_u16(),
            detail,
            code: self.code().to_owned(),
            request_id: request_id::current().unwrap_or_default(),
            errors,
        };
        problem_response(status, &problem, retry_after)
    }
}

pub fn problem_response(status: StatusCode, problem: &Problem, retry_after: Option<u64>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
    if let Some(seconds) = retry_after {
        response.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750 3: how to authenticate, and why a token sent was refused.
        let challenge = match problem.code.as_str() {
            "token_expired" => r#"Bearer realm="hostadmin", error="invalid_token", error_description="expired""#,
            _ => r#"Bearer realm="hostadmin""#,
        };
        response.insert_header((header::WWW_AUTHENTICATE, challenge));
    }
    match serde_json::to_vec(problem) {
        Ok(body) => response.body(body),
        Err(_) => response.finish(),
    }
}
