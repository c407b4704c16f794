//! `X-Request-Id`: kept when the client sent a sensible one, made otherwise; carried by
//! the request's tracing span, every problem body and the answer's header.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

use crate::http::metrics::Metrics;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The request id, as stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// 1-200 of `A-Z a-z 0-9 - _ . :`; anything else is replaced, so that logs cannot be
/// forged through the header.
fn acceptable(id: &str) -> bool {
    (1..=200).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(hostadmin_domain::ids::new_id);
    request.extensions_mut().insert(RequestId(id.clone()));
    let metrics = request.app_data::<actix_web::web::Data<Metrics>>().cloned();
    let method = request.method().clone();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %request.path());
    let started = Instant::now();
    let mut response = REQUEST_ID.scope(id.clone(), next.call(request)).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| tracing::info!(status, duration_ms = elapsed.as_secs_f64() * 1000.0, "answered"));
    if let Some(metrics) = metrics {
        let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        metrics.observe(method.as_str(), &route, status, elapsed);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_plain_ids_are_kept() {
        assert!(acceptable("0192f7a8-abcd-7def-8123-456789abcdef"));
        assert!(acceptable("lb:42.7"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("x\ninjected log line"));
        assert!(!acceptable(&"a".repeat(201)));
    }
}
