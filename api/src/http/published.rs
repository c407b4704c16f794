//! Public answers that many clients ask for at once (the status page): rendered once,
//! shared for a few seconds by every request to this instance, with a strong `ETag` so
//! that a client holding the same version gets `304 Not Modified` without a body.
//!
//! A change made through this instance drops the rendered answer at once; other
//! instances render theirs again within [`FRESH_FOR`], which is well inside what the
//! answers' `Cache-Control` already lets clients keep.

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};

use crate::http::problem::ApiError;

/// How long a rendered answer is served before it is rendered again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// A rendered answer.
#[derive(Debug)]
pub struct Rendered {
    pub body: Bytes,
    /// A strong validator of the body (a digest of it).
    pub etag: String,
    made_at: Instant,
}

impl Rendered {
    pub fn new(body: Vec<u8>) -> Self {
        use sha2::Digest as _;
        let digest: String = sha2::Sha256::digest(&body).iter().take(16).map(|b| format!("{b:02x}")).collect();
        Self { etag: format!("\"{digest}\""), body: Bytes::from(body), made_at: Instant::now() }
    }

    /// `304` with the validator when the request already holds this version, otherwise
    /// `200` with the body; both with `Cache-Control: public, max-age=<max_age>`.
    pub fn respond(&self, request: &HttpRequest, content_type: &str, max_age: u32) -> HttpResponse {
        let cache_control = format!("public, max-age={max_age}");
        if holds(request, &self.etag) {
            return HttpResponse::NotModified()
                .insert_header((header::ETAG, self.etag.clone()))
                .insert_header((header::CACHE_CONTROL, cache_control))
                .finish();
        }
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::ETAG, self.etag.clone()))
            .insert_header((header::CACHE_CONTROL, cache_control))
            .body(self.body.clone())
    }
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak tags compare by their value
/// (RFC 9110 13.1.2).
fn holds(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// One shared answer, rendered again when it is older than [`FRESH_FOR`] or dropped.
#[derive(Debug, Default)]
pub struct Published {
    current: RwLock<Option<Arc<Rendered>>>,
    /// Only one request renders at a time; the others wait and take its answer.
    rendering: tokio::sync::Mutex<()>,
}

impl Published {
    fn fresh(&self) -> Option<Arc<Rendered>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().filter(|rendered| rendered.made_at.elapsed() < FRESH_FOR).cloned()
    }

    /// The shared answer, rendered by `render` when there is no fresh one.
    pub async fn get<F, Fut>(&self, render: F) -> Result<Arc<Rendered>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, ApiError>>,
    {
        if let Some(rendered) = self.fresh() {
            return Ok(rendered);
        }
        let _turn = self.rendering.lock().await;
        if let Some(rendered) = self.fresh() {
            return Ok(rendered);
        }
        let rendered = Arc::new(Rendered::new(render().await?));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(rendered.clone());
        Ok(rendered)
    }

    /// Drops the shared answer: the next request renders it again.
    pub fn invalidate(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[tokio::test]
    async fn renders_once_until_dropped() {
        let published = Published::default();
        let first = published.get(|| async { Ok(b"one".to_vec()) }).await.unwrap();
        let again = published.get(|| async { Ok(b"two".to_vec()) }).await.unwrap();
        assert_eq!(again.body, first.body, "still fresh");
        published.invalidate();
        let after = published.get(|| async { Ok(b"two".to_vec()) }).await.unwrap();
        assert_eq!(after.body, Bytes::from_static(b"two"));
        assert_ne!(after.etag, first.etag);
    }

    #[tokio::test]
    async fn a_client_holding_the_version_gets_304() {
        let rendered = Rendered::new(b"{}".to_vec());
        let same =
            TestRequest::default().insert_header((header::IF_NONE_MATCH, rendered.etag.clone())).to_http_request();
        assert_eq!(rendered.respond(&same, "application/json", 30).status(), 304);
        let weak = format!("\"x\", W/{}", rendered.etag);
        let listed = TestRequest::default().insert_header((header::IF_NONE_MATCH, weak)).to_http_request();
        assert_eq!(rendered.respond(&listed, "application/json", 30).status(), 304);
        let other = TestRequest::default().insert_header((header::IF_NONE_MATCH, "\"x\"")).to_http_request();
        let full = rendered.respond(&other, "application/json", 30);
        assert_eq!(full.status(), 200);
        assert_eq!(full.headers().get(header::CACHE_CONTROL).unwrap(), "public, max-age=30");
    }
}
