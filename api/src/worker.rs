//! Background upkeep. Every step is a set-based statement that is safe to run from any
//! number of instances at once (deleting expired rows twice deletes them once).

use std::time::Duration;

use chrono::Duration as Span;

use hostadmin_domain::time;
use hostadmin_persistence::{idempotency, login_failures};

use crate::db::Db;
use crate::http::rate_limit::RequestLimiter;

const INTERVAL: Duration = Duration::from_secs(60);

/// Runs forever: prunes expired idempotency records and login failures older than
/// their window.
pub async fn run(db: Db, limiter: Option<RequestLimiter>) {
    let mut ticker = tokio::time::interval(INTERVAL);
    loop {
        ticker.tick().await;
        let result = db
            .write(|conn| {
                let now = time::now();
                let keys = idempotency::prune(conn, now)?;
                let failures = login_failures::prune(conn, now - Span::hours(1))?;
                Ok((keys, failures))
            })
            .await;
        match result {
            Ok((keys, failures)) if keys + failures > 0 => {
                tracing::info!(idempotency_records = keys, login_failures = failures, "pruned")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "upkeep failed; trying again next round"),
        }
        if let Some(limiter) = &limiter {
            limiter.shrink();
        }
    }
}
