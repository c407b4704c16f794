//! Time at the storage boundary.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Now, in UTC, truncated to microseconds: PostgreSQL keeps microseconds and SQLite
/// nanoseconds, so values must be truncated to round-trip identically on both.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A stored UTC time as an RFC 3339 timestamp for the API.
pub fn to_utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}
