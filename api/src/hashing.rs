//! Password hashing under its own limit: about one hash per core at a time, so a flood
//! of logins cannot exhaust memory (19 MiB each) or starve the database threads. A
//! request waits up to 10 seconds for a slot, then is told `503` with `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use hostadmin_domain::passwords::{self, NewPassword};

use crate::http::problem::ApiError;

const WAIT_FOR_SLOT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(concurrency: u32) -> Self {
        Self { slots: Arc::new(Semaphore::new(concurrency.max(1) as usize)) }
    }

    async fn slotted<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let slot = tokio::time::timeout(WAIT_FOR_SLOT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Unavailable("no password hashing slot within 10 s".into()))?
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
