//! Requests per minute per account or API key (GCRA via governor). Counted per
//! instance: this limit protects capacity, not secrets. Login failures, which guard
//! passwords, are counted in the database instead (see `app::sessions`).

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::http::problem::ApiError;

#[derive(Clone)]
pub struct RequestLimiter {
    limiter: Arc<RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>>,
}

impl RequestLimiter {
    pub fn per_minute(requests: u32) -> Self {
        let burst = NonZeroU32::new(requests.max(1)).unwrap_or(NonZeroU32::MIN);
        Self { limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(burst))) }
    }

    /// Counts one request of `key`; refuses with `429` and the wait when over the limit.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(wait.as_secs() + 1)
        })
    }

    /// Forgets keys that are back to a full quota (called by the worker).
    pub fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}
