//! The one way requests reach the database: off the async workers, on a bounded number
//! of blocking threads (as many as there are pooled connections), inside the request's
//! tracing span, and within a bounded time.
//!
//! Every operation, retries included, ends within `limit` (the configured
//! `database_timeout_ms`): waiting for a slot, for a pooled connection and for the work
//! itself. Beyond it the caller gets `503 unavailable` with `Retry-After`. The work's
//! thread keeps its slot until the work really ends: when the database is frozen (a
//! network partition), the stuck threads hold at most every slot, later requests wait for
//! one no longer than `limit`, and everything resumes when the database answers again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use hostadmin_persistence::{discard_if_lost, write_transaction, ConnectionPool, DbConnection};

use crate::http::problem::ApiError;

/// A transaction that lost a race for a lock is tried this many times before the
/// client is told `503 unavailable`.
const WRITE_ATTEMPTS: u32 = 4;

#[derive(Clone)]
pub struct Db {
    pool: ConnectionPool,
    slots: Arc<Semaphore>,
    limit: Duration,
}

impl Db {
    pub fn new(pool: ConnectionPool, size: u32, limit: Duration) -> Self {
        Self { pool, slots: Arc::new(Semaphore::new(size as usize)), limit }
    }

    /// Runs `work` with a pooled connection, without a transaction of its own.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.bounded(self.unbounded_run(work)).await
    }

    async fn unbounded_run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Unavailable("database slots closed".into()))?;
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            span.in_scope(|| {
                let mut conn = pool.get().map_err(|e| ApiError::Unavailable(e.to_string()))?;
                let result = work(&mut conn);
                if matches!(result, Err(ApiError::Unavailable(_) | ApiError::Internal(_))) {
                    discard_if_lost(&mut conn);
                }
                result
            })
        })
        .await
        .map_err(|e| ApiError::internal(format!("database task failed: {e}")))?
    }

    /// `operation`, or `503 unavailable` once it has taken longer than the limit.
    async fn bounded<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        tokio::time::timeout(self.limit, operation).await.unwrap_or_else(|_| {
            Err(ApiError::Unavailable(format!("the database did not answer within {} ms", self.limit.as_millis())))
        })
    }

    /// Whether the database answers `probe` within `limit` (for `/readyz`, which must
    /// answer fast whatever the database does).
    pub async fn probe<T, F>(&self, limit: Duration, probe: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        tokio::time::timeout(limit, self.unbounded_run(probe)).await.unwrap_or_else(|_| {
            Err(ApiError::Unavailable(format!("the database did not answer within {} ms", limit.as_millis())))
        })
    }

    /// Runs `work` in one writing transaction, retried a few times when it lost a race
    /// for a lock (SQLite busy, PostgreSQL serialization failure).
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: Fn(&mut DbConnection) -> Result<T, ApiError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        let work = Arc::new(work);
        self.bounded(async {
            let mut attempt = 1;
            loop {
                let step = work.clone();
                match self.unbounded_run(move |conn| write_transaction(conn, |conn| step(conn))).await {
                    Err(ApiError::Busy(cause)) if attempt < WRITE_ATTEMPTS => {
                        tracing::debug!(attempt, cause = %cause, "transaction busy; retrying");
                        tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        })
        .await
    }
}
