//! `HEAD` and conditional `GET`, for every route that answers `GET`.
//!
//! - `HEAD` is answered as the `GET` would be, without its body (RFC 9110 9.3.2): the
//!   request runs as `GET` and the body is dropped, the headers kept.
//! - `If-None-Match` (RFC 9110 13.1.2): a `GET` or `HEAD` whose `200` answer carries an
//!   `ETag` matching one of the tags sent (weak comparison), or any tag for `*`, is
//!   answered `304 Not Modified` with the `ETag` and no body.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

pub async fn middleware(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_head = request.method() == Method::HEAD;
    if is_head {
        request.head_mut().method = Method::GET;
    }
    let if_none_match =
        request.headers().get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let is_read = request.method() == Method::GET;
    let response = next.call(request).await?.map_into_boxed_body();
    let tag = response.headers().get(header::ETAG).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let not_modified = match (&if_none_match, &tag) {
        (Some(wanted), Some(tag)) => is_read && response.status() == StatusCode::OK && matches(wanted, tag),
        _ => false,
    };
    if not_modified {
        return Ok(response.map_body(|head, _| {
            head.status = StatusCode::NOT_MODIFIED;
            head.headers_mut().remove(header::CONTENT_TYPE);
            BoxBody::new(())
        }));
    }
    if is_head {
        return Ok(without_body(response));
    }
    Ok(response)
}

/// The answer to a `HEAD`: the `GET`'s status and headers, no body.
fn without_body(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let (request, response) = response.into_parts();
    let mut head = HttpResponse::build(response.status());
    for (name, value) in response.headers() {
        head.append_header((name.clone(), value.clone()));
    }
    ServiceResponse::new(request, head.finish().map_into_boxed_body())
}

/// Whether `If-None-Match: wanted` matches `tag` (weak comparison: `W/` is ignored).
fn matches(wanted: &str, tag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    wanted.trim() == "*" || wanted.split(',').any(|candidate| opaque(candidate) == opaque(tag))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_stars() {
        assert!(matches("\"v3\"", "\"v3\""));
        assert!(matches("W/\"v3\"", "\"v3\""));
        assert!(matches("\"v1\", \"v3\"", "\"v3\""));
        assert!(matches("*", "\"v9\""));
        assert!(!matches("\"v2\"", "\"v3\""));
        assert!(!matches("\"v3", "\"v3\""));
    }
}
