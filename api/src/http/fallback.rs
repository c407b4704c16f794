//! Requests that match no route: `405` with `Allow` when the path exists under another
//! method, `404` otherwise, both as problem+json. The route table is the OpenAPI
//! document's (crate::http::route_table), so the two cannot disagree.
//!
//! A path whose most specific template lacks the method is `405` even when a less
//! specific template would take it (`PATCH /v1/services/bulk` is not
//! `PATCH /v1/services/{id}` with the id `bulk`): [`wrong_method`] answers it before
//! routing.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::http::problem::ApiError;
use crate::http::route_table::RouteTable;

pub async fn not_matched(request: HttpRequest, routes: web::Data<Arc<RouteTable>>) -> HttpResponse {
    match routes.allowed(request.path()) {
        Some(methods) => method_not_allowed(&request, &methods),
        None => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").error_response(),
    }
}

/// The `405` for a request whose path the document has, but not under its method
/// (`OPTIONS` is left to CORS and the fallback).
pub fn wrong_method(request: &HttpRequest) -> Option<HttpResponse> {
    if request.method() == Method::OPTIONS {
        return None;
    }
    let routes = request.app_data::<web::Data<Arc<RouteTable>>>()?;
    let methods = routes.refused_method(request.path(), request.method().as_str())?;
    Some(method_not_allowed(request, &methods))
}

fn method_not_allowed(request: &HttpRequest, methods: &[String]) -> HttpResponse {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed here; use {}", request.method(), methods.join(", ")),
    )
    .error_response();
    if let Ok(value) = header::HeaderValue::from_str(&methods.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}
