//! Requests that match no route: `405` with `Allow` when the path exists under another
//! method, `404` otherwise, both as problem+json. The route table is the OpenAPI
//! document's (crate::http::route_table), so the two cannot disagree.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::http::problem::ApiError;
use crate::http::route_table::RouteTable;

pub async fn not_matched(request: HttpRequest, routes: web::Data<Arc<RouteTable>>) -> HttpResponse {
    match routes.allowed(request.path()) {
        Some(methods) => {
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
        None => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").error_response(),
    }
}
