//! Requests per minute per account or API key (GCRA via governor). Counted per
//! instance: this limit protects capacity, not secrets. Login failures, which guard
//! passwords, are counted in the database instead (see `app::sessions`).
//!
//! Every authenticated answer says where the caller stands, per the IETF RateLimit header
//! fields draft (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "requests";
//! q=1200;w=60` (the quota of the window) and `RateLimit: "requests";r=<remaining>;
//! t=<seconds until the quota is whole again>`.

use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::http::problem::ApiError;

const WINDOW_SECONDS: u64 = 60;
const POLICY: &str = "requests";

type Limiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

#[derive(Clone)]
pub struct RequestLimiter {
    limiter: Arc<Limiter>,
    per_minute: u32,
}

/// Where one caller stands after its request: put on the request, turned into headers
/// on the way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the quota is whole again.
    pub reset: u64,
}

impl Standing {
    fn headers(self) -> [(HeaderName, String); 2] {
        [
            (HeaderName::from_static("ratelimit-policy"), format!("\"{POLICY}\";q={};w={WINDOW_SECONDS}", self.limit)),
            (HeaderName::from_static("ratelimit"), format!("\"{POLICY}\";r={};t={}", self.remaining, self.reset)),
        ]
    }
}

impl RequestLimiter {
    pub fn per_minute(requests: u32) -> Self {
        let burst = NonZeroU32::new(requests.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::keyed(Quota::per_minute(burst)).with_middleware::<StateInformationMiddleware>();
        Self { limiter: Arc::new(limiter), per_minute: burst.get() }
    }

    /// Counts one request of `key`; answers where it stands, or refuses with `429`, the
    /// wait and the same standing (nothing left).
    pub fn check(&self, key: &str) -> Result<Standing, (ApiError, Standing)> {
        match self.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                Ok(Standing { limit: self.per_minute, remaining, reset: self.seconds_to_refill(remaining) })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs() + 1;
                let standing = Standing { limit: self.per_minute, remaining: 0, reset: self.seconds_to_refill(0) };
                Err((ApiError::rate_limited(wait), standing))
            }
        }
    }

    /// Each request's share of the window comes back after `window / limit`.
    fn seconds_to_refill(&self, remaining: u32) -> u64 {
        let missing = u64::from(self.per_minute.saturating_sub(remaining));
        (missing * WINDOW_SECONDS).div_ceil(u64::from(self.per_minute.max(1)))
    }

    /// Forgets keys that are back to a full quota (called by the worker).
    pub fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Adds the RateLimit header fields to the answer of a request whose caller was counted.
pub async fn headers(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut response = next.call(request).await?.map_into_boxed_body();
    let standing = response.request().extensions().get::<Standing>().copied();
    if let Some(standing) = standing {
        for (name, value) in standing.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standing_counts_down_and_says_when_the_quota_is_whole_again() {
        let limiter = RequestLimiter::per_minute(3);
        let first = limiter.check("k").unwrap();
        assert_eq!((first.limit, first.remaining, first.reset), (3, 2, 20));
        limiter.check("k").unwrap();
        let last = limiter.check("k").unwrap();
        assert_eq!((last.remaining, last.reset), (0, 60));
        let (refused, standing) = limiter.check("k").unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        assert_eq!(standing.remaining, 0);
        assert!(limiter.check("other").is_ok(), "keys are counted apart");
        let [(policy, policy_value), (state, state_value)] = last.headers();
        assert_eq!((policy.as_str(), policy_value.as_str()), ("ratelimit-policy", "\"requests\";q=3;w=60"));
        assert_eq!((state.as_str(), state_value.as_str()), ("ratelimit", "\"requests\";r=0;t=60"));
    }
}
