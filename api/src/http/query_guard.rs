//! Query strings are checked before any handler sees them: a NUL character (`%00`) is
//! refused (no parameter may hold one, and PostgreSQL refuses it in text); a parameter
//! the operation does not declare is `422 unknown_parameter` (a misspelt filter must not
//! silently answer everything); a declared one whose value its schema does not allow is
//! `422` naming it (`/query/limit`). What is declared is the OpenAPI document's
//! (crate::http::route_table). For an operation that needs a credential the query is
//! checked after authentication (by the `Principal` extractor, through [`refusal`]), so
//! that an unauthenticated request is `401` whatever its query. A method the path's
//! most specific template does not have is `405` before anything else
//! (crate::http::fallback::wrong_method).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest, ResponseError};

use hostadmin_domain::validation::Invalid;

use crate::http::fallback;
use crate::http::problem::{ApiError, FieldError};
use crate::http::route_table::{ParamKind, RouteTable};

fn holds_nul(query: &str) -> bool {
    query.as_bytes().windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(refused) = fallback::wrong_method(request.request()) {
        return Ok(request.into_response(refused));
    }
    if holds_nul(request.query_string()) {
        let refusal =
            ApiError::field("/query", Invalid::new("invalid_characters", "query parameters must not contain %00"));
        return Ok(request.into_response(refusal.error_response()));
    }
    if let Some(refused) = refusal(request.request(), false) {
        return Ok(request.into_response(refused.error_response()));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// The `422` for the request's query, if its operation is `secured` as asked (public
/// operations are checked by the middleware, secured ones after authentication; `None`:
/// either, for a handler's query that failed to parse, to name the parameter).
pub fn refusal(request: &HttpRequest, secured: impl Into<Option<bool>>) -> Option<ApiError> {
    if request.query_string().is_empty() {
        return None;
    }
    let routes = request.app_data::<web::Data<Arc<RouteTable>>>()?;
    let (declared, is_secured) = routes.query_of(request.method().as_str(), request.path())?;
    if secured.into().is_some_and(|secured| secured != is_secured) {
        return None;
    }
    let refusals = refusals(declared, request.query_string());
    if refusals.is_empty() {
        return None;
    }
    let code =
        if refusals.iter().all(|r| r.code == "unknown_parameter") { "unknown_parameter" } else { "validation_failed" };
    Some(ApiError::Validation { code, errors: refusals })
}

/// What is wrong with the query: each parameter not declared, and each declared one
/// whose value its schema refuses.
fn refusals(declared: &BTreeMap<String, ParamKind>, query: &str) -> Vec<FieldError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).map(web::Query::into_inner).unwrap_or_default();
    pairs
        .iter()
        .filter_map(|(name, value)| {
            let pointer = format!("/query/{name}");
            match declared.get(name) {
                None => Some(FieldError::new(
                    pointer,
                    Invalid::new("unknown_parameter", format!("this operation takes no parameter {name:?}")),
                )),
                Some(kind) => kind.check(value).err().map(|invalid| FieldError::new(pointer, invalid)),
            }
        })
        .take(20)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::holds_nul;

    #[test]
    fn only_an_encoded_nul_is_refused() {
        assert!(holds_nul("q=a%00b"));
        assert!(!holds_nul("q=100&limit=20"));
        assert!(!holds_nul("q=a%2500"), "an encoded percent sign followed by 00 is text");
    }
}
