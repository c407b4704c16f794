//! Password hashing under its own limit: about one hash per core at a time, so a flood
//! of logins cannot exhaust memory (19 MiB each) or starve the database threads. A
//! request waits up to 10 seconds for a slot, then is told `503` with `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use hostadmin_domain::passwords::{self, NewPassword};

use crate::http::problem::ApiError;

/// How long a request waits for a hashing slot before it is answered 503.
pub const WAIT_FOR_SLOT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl Hasher {
    pub fn new(concurrency: u32, wait: Duration) -> Self {
        Self { slots: Arc::new(Semaphore::new(concurrency.max(1) as usize)), wait }
    }

    async fn slotted<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let slot = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Unavailable(format!("no password hashing slot within {:?}", self.wait)))?
            .map_err(|_| ApiError::Unavailable("password hashing closed".into()))?;
        let result = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| ApiError::internal(format!("hashing task failed: {e}")))?;
        Ok(result)
    }

    /// The PHC string to store for a new password.
    pub async fn hash(&self, password: NewPassword) -> Result<String, ApiError> {
        self.slotted(move || passwords::hash(&password)).await?.map_err(ApiError::internal)
    }

    /// Whether `candidate` matches `stored`; with no stored hash a dummy one is checked
    /// so that the answer takes as long either way.
    pub async fn verify(&self, candidate: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.slotted(move || match stored {
            Some(phc) => passwords::verify(&candidate, &phc),
            None => {
                passwords::verify(&candidate, passwords::dummy_hash());
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_that_finds_no_slot_in_time_is_told_to_come_back() {
        let hasher = Hasher::new(1, Duration::from_millis(50));
        let _busy = hasher.slots.clone().acquire_owned().await.unwrap();
        let refused = hasher.verify("candidate".into(), None).await;
        assert!(matches!(refused, Err(ApiError::Unavailable(_))), "{refused:?}");
        let response = actix_web::ResponseError::error_response(&refused.unwrap_err());
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
    }

    #[tokio::test]
    async fn hashes_verify_once_a_slot_is_free() {
        let hasher = Hasher::new(1, Duration::from_secs(10));
        let password = NewPassword::parse("a long enough passphrase").unwrap();
        let stored = hasher.hash(password).await.unwrap();
        assert!(hasher.verify("a long enough passphrase".into(), Some(stored.clone())).await.unwrap());
        assert!(!hasher.verify("another passphrase".into(), Some(stored)).await.unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap(), "no account never matches");
    }
}
