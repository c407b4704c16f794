//! `Idempotency-Key` on creating and charging POSTs: the first request with a key runs
//! and its answer is stored; a retry (same principal and key) gets that answer back; the
//! same key with another request is `422 idempotency_key_reused`; a retry while the
//! first still runs is `409 idempotency_in_progress`. Records live 24 hours.

use std::future::Future;

use actix_web::body::to_bytes;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::Duration;
use serde::{Deserialize, Serialize};

use hostadmin_domain::time;
use hostadmin_persistence::idempotency::{self, Claim};

use crate::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::problem::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
const KEEP_FOR_HOURS: i64 = 24;
/// A first request that has not finished after this long is taken to have died.
const LOCK_SECONDS: i64 = 60;

/// Headers of a stored answer that a replay must repeat.
const REPLAYED_HEADERS: [HeaderName; 2] = [header::LOCATION, header::ETAG];

#[derive(Debug, Serialize, Deserialize)]
struct StoredHeaders(Vec<(String, String)>);

fn key_of(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get(HEADER) else { return Ok(None) };
    let key = value.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !value.to_str().is_ok_and(|k| k.chars().all(|c| c.is_ascii_graphic())) {
        return Err(ApiError::invalid(
            "validation_failed",
            "/headers/idempotency-key",
            "an Idempotency-Key is 1-255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Routes whose answer holds a secret refuse the header: replaying a stored secret
/// would keep it in the database.
pub fn refuse(request: &HttpRequest) -> Result<(), ApiError> {
    if request.headers().contains_key(HEADER) {
        return Err(ApiError::bad_request(
            "idempotency_not_supported",
            "this route's answer holds a secret and is never stored: send it without Idempotency-Key",
        ));
    }
    Ok(())
}

/// Runs `handle` at most once per idempotency key (when the request has one).
pub async fn once<F, Fut>(
    state: &AppState,
    request: &HttpRequest,
    principal: &Principal,
    body: &JsonBody,
    handle: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<HttpResponse, ApiError>>,
{
    let Some(key) = key_of(request)? else { return handle().await };
    let owner = principal.key();
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let fingerprint = hostadmin_domain::credentials::digest(&format!("{method} {path} {}", body.canonical()));

    let claim = {
        let (owner, key, method, path, fingerprint) =
            (owner.clone(), key.clone(), method.clone(), path.clone(), fingerprint.clone());
        state
            .db
            .write(move |conn| {
                let now = time::now();
                let request = idempotency::Request {
                    principal: &owner,
                    key: &key,
                    method: &method,
                    path: &path,
                    request_hash: &fingerprint,
                };
                Ok(idempotency::claim(
                    conn,
                    &request,
                    now,
                    now + Duration::seconds(LOCK_SECONDS),
                    now + Duration::hours(KEEP_FOR_HOURS),
                )?)
            })
            .await?
    };
    if let Claim::Existing(row) = claim {
        if row.request_hash != fingerprint {
            return Err(ApiError::invalid(
                "idempotency_key_reused",
                "/headers/idempotency-key",
                "this Idempotency-Key was used for another request",
            ));
        }
        return match (row.status_code, row.response_body) {
            (Some(status), Some(body)) => Ok(replay(status, body, row.response_headers.as_deref())),
            _ => Err(ApiError::conflict(
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still running; retry shortly",
            )),
        };
    }

    let outcome = handle().await;
    let response = match outcome {
        Ok(response) => response,
        Err(error) => actix_web::ResponseError::error_response(&error),
    };
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        // Worth retrying: give the key back instead of pinning the failure to it.
        let _ = state.db.write(move |conn| Ok(idempotency::release(conn, &owner, &key)?)).await;
        return Ok(response);
    }
    let headers: Vec<(String, String)> = REPLAYED_HEADERS
        .iter()
        .chain(std::iter::once(&header::CONTENT_TYPE))
        .filter_map(|name| Some((name.to_string(), response.headers().get(name)?.to_str().ok()?.to_owned())))
        .collect();
    let (response, body) = response.into_parts();
    let bytes = to_bytes(body).await.map_err(|_| ApiError::internal("reading an answer to store it"))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let stored_headers = serde_json::to_string(&StoredHeaders(headers)).unwrap_or_default();
    let stored_body = text.clone();
    state
        .db
        .write(move |conn| {
            Ok(idempotency::complete(conn, &owner, &key, i32::from(status.as_u16()), &stored_body, &stored_headers)?)
        })
        .await?;
    Ok(response.set_body(text).map_into_boxed_body())
}

fn replay(status: i32, body: String, headers: Option<&str>) -> HttpResponse {
    let status = u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    let stored: StoredHeaders = headers.and_then(|h| serde_json::from_str(h).ok()).unwrap_or(StoredHeaders(Vec::new()));
    for (name, value) in stored.0 {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            response.insert_header((name, value));
        }
    }
    response.insert_header(("idempotent-replayed", "true"));
    response.body(body)
}

/// The `Idempotency-Key` request header as the OpenAPI document declares it; an
/// operation that lists it also gets its `409 idempotency_in_progress` answer
/// (crate::openapi).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// Makes a retry safe: a retry with the same key (and body) answers the stored result
    /// for 24 hours; the same key with another body is `422 idempotency_key_reused`; a
    /// retry while the first still runs is `409 idempotency_in_progress`.
    #[param(rename = "Idempotency-Key", value_type = Option<String>, min_length = 1, max_length = 255, pattern = "^[\\x21-\\x7e]{1,255}$")]
    pub idempotency_key: Option<String>,
}
