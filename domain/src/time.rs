//! Time at the storage boundary.
//!
//! Every instant the API accepts, computes or stores lies within the years 0001-9999:
//! RFC 3339 has four-digit years, and stored text timestamps (SQLite) sort as time only
//! while every year has four digits.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Utc};

use crate::validation::Invalid;

/// Now, in UTC, truncated to microseconds: PostgreSQL keeps microseconds and SQLite
/// nanoseconds, so values must be truncated to round-trip identically on both.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A stored UTC time as an RFC 3339 timestamp for the API.
pub fn to_utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// The first instant the API keeps: 0001-01-01T00:00:00Z.
pub fn earliest() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN).and_time(NaiveTime::MIN)
}

/// The last instant the API keeps: 9999-12-31T23:59:59.999999Z.
pub fn latest() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|day| day.and_hms_micro_opt(23, 59, 59, 999_999))
        .unwrap_or(NaiveDateTime::MAX)
}

/// Whether `at` is within the years 0001-9999.
pub fn in_range(at: NaiveDateTime) -> bool {
    (earliest()..=latest()).contains(&at)
}

/// `at` if it is within the years 0001-9999, else `out_of_range`.
pub fn checked(at: NaiveDateTime) -> Result<NaiveDateTime, Invalid> {
    if in_range(at) {
        Ok(at)
    } else {
        Err(Invalid::new("out_of_range", "dates are within the years 0001 to 9999"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_the_four_digit_years() {
        assert_eq!(earliest().to_string(), "0001-01-01 00:00:00");
        assert_eq!(latest().to_string(), "9999-12-31 23:59:59.999999");
        assert!(in_range(now()));
        assert!(!in_range(latest() + chrono::Duration::microseconds(1)));
        assert!(!in_range(earliest() - chrono::Duration::microseconds(1)));
        assert_eq!(checked(latest()), Ok(latest()));
        assert_eq!(checked(NaiveDateTime::MAX).map_err(|e| e.code), Err("out_of_range"));
        assert_eq!(to_utc(latest()).to_rfc3339(), "9999-12-31T23:59:59.999999+00:00");
    }
}
