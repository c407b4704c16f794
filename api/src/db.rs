//! The one way requests reach the database: off the async workers, on a bounded number
//! of blocking threads (as many as there are pooled connections), inside the request's
//! tracing span.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use hostadmin_persistence::{write_transaction, ConnectionPool, DbConnection};

use crate::http::problem::ApiError;

/// A transaction that lost a race for a lock is tried this many times before the
/// client is told `503 unavailable`.
const WRITE_ATTEMPTS: u32 = 4;

#[derive(Clone)]
pub struct Db {
    pool: ConnectionPool,
    slots: Arc<Semaphore>,
}

impl Db {
    pub fn new(pool: ConnectionPool, size: u32) -> Self {
        Self { pool, slots: Arc::new(Semaphore::new(size as usize)) }
    }

    /// Runs `work` with a pooled connection, without a transaction of its own.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let _slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Unavailable("database slots closed".into()))?;
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let mut conn = pool.get().map_err(|e| ApiError::Unavailable(e.to_string()))?;
                work(&mut conn)
            })
        })
        .await
        .map_err(|e| ApiError::internal(format!("database task failed: {e}")))?
    }

    /// Runs `work` in one writing transaction, retried a few times when it lost a race
    /// for a lock (SQLite busy, PostgreSQL serialization failure).
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: Fn(&mut DbConnection) -> Result<T, ApiError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        let work = Arc::new(work);
        let mut attempt = 1;
        loop {
            let step = work.clone();
            match self.run(move |conn| write_transaction(conn, |conn| step(conn))).await {
                Err(ApiError::Busy(cause)) if attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, cause = %cause, "transaction busy; retrying");
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}
