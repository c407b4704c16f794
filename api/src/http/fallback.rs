//! Requests that match no route: `405` with `Allow` when the path exists under another
//! method, `404` otherwise, both as problem+json. The route table is the OpenAPI
//! document's, so the two cannot disagree.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::http::problem::ApiError;

/// Path templates (`/v1/customers/{id}`) with their methods.
#[derive(Debug, Default)]
pub struct RouteTable(Vec<(Vec<String>, Vec<String>)>);

impl RouteTable {
    pub fn from_openapi(document: &utoipa::openapi::OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.split('/').map(str::to_owned).collect();
                let methods = methods_of(item);
                (segments, methods)
            })
            .collect();
        Self(routes)
    }

    /// The methods allowed on `path`, if any template matches it.
    fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let wanted: Vec<&str> = path.split('/').collect();
        let mut allowed: Vec<String> = self
            .0
            .iter()
            .filter(|(template, _)| {
                template.len() == wanted.len()
                    && template
                        .iter()
                        .zip(&wanted)
                        .all(|(t, w)| (t.starts_with('{') && t.ends_with('}') && !w.is_empty()) || t == w)
            })
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        allowed.sort();
        allowed.dedup();
        (!allowed.is_empty()).then_some(allowed)
    }
}

fn methods_of(item: &utoipa::openapi::PathItem) -> Vec<String> {
    let mut methods = Vec::new();
    for (name, operation) in
        [("GET", &item.get), ("POST", &item.post), ("PUT", &item.put), ("PATCH", &item.patch), ("DELETE", &item.delete)]
    {
        if operation.is_some() {
            methods.push(name.to_owned());
        }
    }
    methods
}

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
