//! Raw uploads: a file as the request body (not JSON), read by the handler after
//! authentication, authorization and the lookup, up to a limit of its own. A body that
//! declares more than the limit is refused before a byte is read; one that turns out
//! longer stops being read at the limit. Few uploads are read at once, so that their
//! buffers cannot exhaust memory.

use std::time::Duration;

use actix_web::http::header::{self, ContentDisposition, Header};
use actix_web::http::StatusCode;
use actix_web::web::{Bytes, BytesMut, Payload};
use actix_web::HttpRequest;
use futures_util::StreamExt as _;
use tokio::sync::Semaphore;

use crate::http::problem::ApiError;

/// Uploads read at the same time, in this process.
static READING: Semaphore = Semaphore::const_new(16);
/// How long an upload waits for its turn before `503`.
const WAIT_FOR_TURN: Duration = Duration::from_secs(10);

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the file may be at most {limit} bytes"))
}

/// The body, at most `limit` bytes; `413 payload_too_large` beyond.
pub async fn read_bounded(request: &HttpRequest, mut payload: Payload, limit: usize) -> Result<Bytes, ApiError> {
    let declared: Option<usize> =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let _turn = tokio::time::timeout(WAIT_FOR_TURN, READING.acquire())
        .await
        .map_err(|_| ApiError::Unavailable("too many uploads at once".into()))?
        .map_err(|_| ApiError::Unavailable("uploads are closed".into()))?;
    let mut bytes = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("malformed_body", format!("reading the body failed: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// The declared `Content-Type`, if any.
pub fn content_type(request: &HttpRequest) -> Option<String> {
    request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The file name of `Content-Disposition` (`filename*` preferred over `filename`), if
/// the header names one.
pub fn disposition_filename(request: &HttpRequest) -> Option<String> {
    let disposition = ContentDisposition::parse(request).ok()?;
    let extended = disposition.get_filename_ext().and_then(|value| String::from_utf8(value.value.clone()).ok());
    extended.or_else(|| disposition.get_filename().map(str::to_owned))
}
