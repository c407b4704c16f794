//! A followed resource is `ready` only once its server holds every change queued for it:
//! a job that read what to apply before a later change was queued leaves it `pending`
//! for that change's job.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDateTime;
use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::jobs::JobKind;
use hostadmin_persistence::accounts::{self, NewAccount};
use hostadmin_persistence::both_backends;
use hostadmin_persistence::provisioning_states::{self as states, Hold, StateRow};
use hostadmin_persistence::testing::TestDatabase;
use hostadmin_persistence::DbConnection;
use hostadmin_persistence::{jobs, leases};

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

both_backends!(one_job_at_a_time_applies_a_resource, |db: TestDatabase| {
    let mut conn = db.connect();
    let (first, second) = ("0190a000-0000-7000-8000-0000000000j1", "0190a000-0000-7000-8000-0000000000j2");
    assert_eq!(states::hold(&mut conn, "dns_zone", ZONE, first, at(0), at(30)).unwrap(), Hold::Missing);
    states::queue(&mut conn, "dns_zone", ZONE, at(0)).unwrap();

    let Hold::Taken(row) = states::hold(&mut conn, "dns_zone", ZONE, first, at(1), at(30)).unwrap() else {
        panic!("a free resource is taken")
    };
    assert_eq!((row.held_by.as_deref(), row.changes), (Some(first), 1));
    assert_eq!(states::hold(&mut conn, "dns_zone", ZONE, second, at(2), at(31)).unwrap(), Hold::Busy);
    assert!(
        matches!(states::hold(&mut conn, "dns_zone", ZONE, first, at(3), at(33)).unwrap(), Hold::Taken(_)),
        "the holder takes it again (its job, retried by another worker)"
    );

    states::release(&mut conn, "dns_zone", ZONE, second).unwrap();
    assert_eq!(
        states::hold(&mut conn, "dns_zone", ZONE, second, at(4), at(34)).unwrap(),
        Hold::Busy,
        "only the holder releases"
    );
    states::release(&mut conn, "dns_zone", ZONE, first).unwrap();
    assert!(matches!(states::hold(&mut conn, "dns_zone", ZONE, second, at(5), at(35)).unwrap(), Hold::Taken(_)));

    assert_eq!(states::hold(&mut conn, "dns_zone", ZONE, first, at(34), at(59)).unwrap(), Hold::Busy);
    assert!(
        matches!(states::hold(&mut conn, "dns_zone", ZONE, first, at(36), at(59)).unwrap(), Hold::Taken(_)),
        "a hold that ran out (its job died) is taken"
    );
});

both_backends!(a_stopping_worker_gives_back_what_its_jobs_hold, |db: TestDatabase| {
    let mut conn = db.connect();
    let operator = new_id();
    let account = NewAccount {
        id: operator.clone(),
        kind: AccountKind::Operator,
        parent_id: None,
        login: "operator".into(),
        email: "operator@example.test".into(),
        email_normalized: "operator@example.test".into(),
        name: "Operator".into(),
        profile: Default::default(),
        password_hash: None,
        now: at(0),
    };
    accounts::insert(&mut conn, &account).unwrap();
    let job = new_id();
    let new = jobs::NewJob {
        id: &job,
        kind: JobKind::Provision,
        params: "{}",
        total: 1,
        requested_by: &operator,
        now: at(0),
    };
    jobs::insert(&mut conn, &new).unwrap();
    let claimed = jobs::claim_next(&mut conn, "worker-1", at(1), at(31)).unwrap().expect("the job");
    states::queue(&mut conn, "dns_zone", ZONE, at(0)).unwrap();
    assert!(matches!(states::hold(&mut conn, "dns_zone", ZONE, &claimed.id, at(1), at(50)).unwrap(), Hold::Taken(_)));

    leases::release_all(&mut conn, "worker-1").unwrap();
    assert_eq!(zone(&mut conn).held_by, None);
    assert!(matches!(states::hold(&mut conn, "dns_zone", ZONE, "another-job", at(2), at(50)).unwrap(), Hold::Taken(_)));
});
