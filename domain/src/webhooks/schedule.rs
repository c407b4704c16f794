//! When a delivery is tried again, and when an endpoint that keeps failing is switched
//! off. Pure functions of the attempts made and the clock, so that tests can move time.
//!
//! A delivery is tried at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
//! (eight attempts, about 27.6 hours); after the eighth failure it is `failed`. An
//! endpoint that has failed every attempt for 5 days is disabled.

use chrono::{Duration, NaiveDateTime};

/// The wait after the 1st, 2nd, ... failed attempt.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];

/// How long an endpoint may fail everything before it is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(NaiveDateTime),
    /// The schedule is spent: the delivery is `failed`.
    GiveUp,
}

/// After `attempts` attempts (the failed one included), made up to `now`.
pub fn after_failure(attempts: u32, now: NaiveDateTime) -> AfterFailure {
    let index = attempts.checked_sub(1).and_then(|i| usize::try_from(i).ok());
    match index.and_then(|i| RETRY_DELAYS.get(i)) {
        Some(delay) => AfterFailure::RetryAt(now + *delay),
        None => AfterFailure::GiveUp,
    }
}

/// Whether an endpoint failing every attempt since `failing_since` is to be disabled now.
pub fn should_disable(failing_since: NaiveDateTime, now: NaiveDateTime) -> bool {
    now - failing_since >= DISABLE_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap().naive_utc()
    }

    #[test]
    fn the_schedule_is_the_contracts() {
        let now = at(0);
        let waits: Vec<i64> = (1..=7)
            .map(|attempts| match after_failure(attempts, now) {
                AfterFailure::RetryAt(when) => (when - now).num_seconds(),
                AfterFailure::GiveUp => panic!("attempt {attempts} is retried"),
            })
            .collect();
        assert_eq!(waits, vec![5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
        assert_eq!(after_failure(8, now), AfterFailure::GiveUp, "eight attempts in all");
        assert_eq!(after_failure(50, now), AfterFailure::GiveUp, "a manual retry of a failed delivery");
        assert_eq!(after_failure(0, now), AfterFailure::GiveUp, "nothing to retry before an attempt");
    }

    #[test]
    fn an_endpoint_is_disabled_after_five_days_of_failures() {
        let since = at(0);
        assert!(!should_disable(since, at(5 * 86_400 - 1)));
        assert!(should_disable(since, at(5 * 86_400)));
    }
}
