//! Query strings with a NUL character (`%00`) are refused before any handler sees them:
//! no parameter may hold one, and PostgreSQL refuses it in text.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use hostadmin_domain::validation::Invalid;

use crate::http::problem::ApiError;

fn holds_nul(query: &str) -> bool {
    query.as_bytes().windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if holds_nul(request.query_string()) {
        let refusal =
            ApiError::field("/query", Invalid::new("invalid_characters", "query parameters must not contain %00"));
        return Ok(request.into_response(refusal.error_response()));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
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
