//! `ETag` and `If-Match`: a resource's tag is its version; a change sent with a stale
//! `If-Match` is refused with `412` and changes nothing.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;

use crate::http::problem::ApiError;

pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// What `If-Match` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    Absent,
    /// `*`: any current version.
    Any,
    /// One of these versions.
    Versions(Vec<i64>),
}

impl IfMatch {
    pub fn from_request(request: &HttpRequest) -> Self {
        let values: Vec<&str> = request
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            return Self::Absent;
        }
        if values.contains(&"*") {
            return Self::Any;
        }
        // Tags of another form than ours can match no version.
        Self::Versions(
            values.iter().filter_map(|tag| tag.strip_prefix("\"v")?.strip_suffix('"')?.parse().ok()).collect(),
        )
    }

    /// Refuses with 412 unless `current` satisfies the precondition.
    pub fn check(&self, current: i64) -> Result<(), ApiError> {
        match self {
            Self::Absent | Self::Any => Ok(()),
            Self::Versions(versions) if versions.contains(&current) => Ok(()),
            Self::Versions(_) => Err(precondition_failed()),
        }
    }
}

pub fn precondition_failed() -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
        "the resource changed since the ETag in If-Match; read it again",
    )
}

/// The `If-Match` request header as the OpenAPI document declares it; an operation that
/// lists it also gets its `412` answer (crate::openapi).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// The `ETag` last read. Optional; when sent and stale, the answer is `412
    /// precondition_failed` and nothing changes. Without it, concurrent changes are applied
    /// one after the other.
    #[param(rename = "If-Match", value_type = Option<String>, example = "\"v3\"")]
    pub if_match: Option<String>,
}
