//! A followed resource is `ready` only once its server holds every change queued for it:
//! a job that read what to apply before a later change was queued leaves it `pending`
//! for that change's job.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDateTime;
use hostadmin_persistence::both_backends;
use hostadmin_persistence::provisioning_states::{self as states, StateRow};
use hostadmin_persistence::testing::TestDatabase;
use hostadmin_persistence::DbConnection;

const ZONE: &str = "0190a000-0000-7000-8000-0000000000d1";

fn at(second: u32) -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap().and_hms_opt(12, 0, second).unwrap()
}

fn zone(conn: &mut DbConnection) -> StateRow {
    states::find(conn, "dns_zone", ZONE).unwrap().expect("a state")
}

both_backends!(ready_waits_for_the_job_that_saw_the_last_change, |db: TestDatabase| {
    let mut conn = db.connect();
    states::queue(&mut conn, "dns_zone", ZONE, at(0)).unwrap();
    let first_job_saw = zone(&mut conn).changes;
    states::queue(&mut conn, "dns_zone", ZONE, at(1)).unwrap();

    let ready = states::applied(&mut conn, "dns_zone", ZONE, first_job_saw, at(2)).unwrap();
    assert!(!ready, "a change came after what the first job applied");
    let state = zone(&mut conn);
    assert_eq!((state.status.as_str(), state.changes, state.applied), ("pending", 2, 1));
    assert!(!state.is_current());

    let ready = states::applied(&mut conn, "dns_zone", ZONE, 2, at(3)).unwrap();
    assert!(ready);
    let state = zone(&mut conn);
    assert_eq!((state.status.as_str(), state.error.as_deref(), state.updated_at), ("ready", None, at(3)));
    assert!(state.is_current(), "a job claimed now has nothing to apply");

    let late = states::applied(&mut conn, "dns_zone", ZONE, 1, at(4)).unwrap();
    assert!(!late, "a job that saw less, finishing last, does not take back what was applied");
    assert_eq!(zone(&mut conn).applied, 2);
});

both_backends!(a_failure_keeps_the_error_until_the_next_change, |db: TestDatabase| {
    let mut conn = db.connect();
    states::queue(&mut conn, "dns_zone", ZONE, at(0)).unwrap();
    states::set_failure(&mut conn, "dns_zone", ZONE, "pending", "connection refused", at(1)).unwrap();
    let state = zone(&mut conn);
    assert_eq!((state.status.as_str(), state.error.as_deref()), ("pending", Some("connection refused")));

    states::queue(&mut conn, "dns_zone", ZONE, at(2)).unwrap();
    let state = zone(&mut conn);
    assert_eq!((state.status.as_str(), state.error.as_deref(), state.changes), ("pending", None, 2));
});
