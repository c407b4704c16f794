//! The webhook outbox on both backends: an audited change queues exactly the deliveries
//! of the endpoints that may hear of it, in its own transaction, and workers take an
//! endpoint one at a time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use diesel::connection::Connection;
use diesel::prelude::*;
use serde_json::json;

use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::ids::new_id;
use hostadmin_domain::time;
use hostadmin_domain::webhooks::{DeliveryStatus, EventFilters};
use hostadmin_persistence::accounts::{self, NewAccount};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::schema::webhook_deliveries;
use hostadmin_persistence::webhook_deliveries::{self as deliveries, Attempt, Recorded};
use hostadmin_persistence::webhooks::{self, NewWebhook};
use hostadmin_persistence::{both_backends, write_transaction, DbConnection, DieselError};

fn account(conn: &mut DbConnection, login: &str, kind: AccountKind, parent: Option<&str>) -> String {
    let id = new_id();
    accounts::insert(
        conn,
        &NewAccount {
            id: id.clone(),
            kind,
            parent_id: parent.map(str::to_owned),
            login: login.into(),
            email: format!("{login}@example.test"),
            email_normalized: format!("{login}@example.test"),
            name: login.into(),
            profile: Default::default(),
            password_hash: None,
            now: time::now(),
        },
    )
    .unwrap();
    id
}

fn webhook(conn: &mut DbConnection, owner: &str, operator: bool, events: &[&str], enabled: bool) -> String {
    let id = new_id();
    let filters = EventFilters::parse(&events.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>()).unwrap();
    webhooks::insert(
        conn,
        &NewWebhook {
            id: &id,
            account_id: owner,
            sees_all: operator,
            url: "https://hooks.example.com/",
            events: &filters,
            description: "",
            enabled,
            secret_sealed: "sealed",
        },
        time::now(),
    )
    .unwrap();
    id
}

fn record(conn: &mut DbConnection, action: &str, account_id: Option<&str>, details: serde_json::Value) -> String {
    let event = NewEvent { action, target_type: "service", target_id: "s", account_id, details };
    audit::append(conn, &AuditContext::default(), event, time::now()).unwrap()
}

/// The endpoints a delivery of `event` was queued for.
fn receivers(conn: &mut DbConnection, event: &str) -> Vec<String> {
    let mut ids: Vec<String> = webhook_deliveries::table
        .filter(webhook_deliveries::event_id.eq(event))
        .select(webhook_deliveries::webhook_id)
        .load(conn)
        .unwrap();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

both_backends!(
    events_reach_the_owner_those_above_and_operators_never_a_sibling,
    |db: hostadmin_persistence::testing::TestDatabase| {
        let mut conn = db.connect();
        let operator = account(&mut conn, "op", AccountKind::Operator, None);
        let reseller = account(&mut conn, "res", AccountKind::Reseller, Some(&operator));
        let customer = account(&mut conn, "cus", AccountKind::Customer, Some(&reseller));
        let sibling = account(&mut conn, "sib", AccountKind::Customer, Some(&reseller));
        let other_operator = account(&mut conn, "op2", AccountKind::Operator, None);

        let to_operator = webhook(&mut conn, &other_operator, true, &["*"], true);
        let to_reseller = webhook(&mut conn, &reseller, false, &["service.*"], true);
        let to_customer = webhook(&mut conn, &customer, false, &["service.suspend"], true);
        let _to_sibling = webhook(&mut conn, &sibling, false, &["*"], true);
        let _disabled = webhook(&mut conn, &customer, false, &["*"], false);
        let _other_area = webhook(&mut conn, &reseller, false, &["invoice.*"], true);

        let suspended = record(&mut conn, "service.suspend", Some(&customer), json!({}));
        assert_eq!(
            receivers(&mut conn, &suspended),
            sorted(vec![to_operator.clone(), to_reseller.clone(), to_customer.clone()])
        );

        let renamed = record(&mut conn, "service.update", Some(&customer), json!({}));
        assert_eq!(receivers(&mut conn, &renamed), sorted(vec![to_operator.clone(), to_reseller.clone()]), "filters");

        let internal = record(&mut conn, "service.update", Some(&customer), json!({"internal": true}));
        assert_eq!(
            receivers(&mut conn, &internal),
            sorted(vec![to_operator.clone(), to_reseller.clone()]),
            "not the owner"
        );

        let system = record(&mut conn, "service.expire", None, json!({}));
        assert_eq!(receivers(&mut conn, &system), vec![to_operator.clone()], "no account: operators only");

        let test = record(&mut conn, "webhook.test", Some(&customer), json!({}));
        assert!(receivers(&mut conn, &test).is_empty(), "the test event is addressed, not fanned out");
    }
);

both_backends!(a_rolled_back_change_queues_nothing, |db: hostadmin_persistence::testing::TestDatabase| {
    let mut conn = db.connect();
    let operator = account(&mut conn, "op", AccountKind::Operator, None);
    webhook(&mut conn, &operator, true, &["*"], true);
    let outcome: Result<(), DieselError> = write_transaction(&mut conn, |conn| {
        record(conn, "service.suspend", Some(&operator), json!({}));
        Err(DieselError::RollbackTransaction)
    });
    assert!(outcome.is_err());
    let queued: i64 = webhook_deliveries::table.count().get_result(&mut conn).unwrap();
    assert_eq!(queued, 0);
    conn.transaction::<_, DieselError, _>(|conn| {
        record(conn, "service.suspend", Some(&operator), json!({}));
        Ok(())
    })
    .unwrap();
    let queued: i64 = webhook_deliveries::table.count().get_result(&mut conn).unwrap();
    assert_eq!(queued, 1);
});

both_backends!(
    one_worker_holds_an_endpoint_and_records_while_it_does,
    |db: hostadmin_persistence::testing::TestDatabase| {
        let mut conn = db.connect();
        let operator = account(&mut conn, "op", AccountKind::Operator, None);
        let endpoint = webhook(&mut conn, &operator, true, &["*"], true);
        let first = record(&mut conn, "service.suspend", Some(&operator), json!({}));
        let _second = record(&mut conn, "service.unsuspend", Some(&operator), json!({}));
        let now = time::now();
        let lease = now + chrono::Duration::seconds(60);

        assert_eq!(deliveries::due_endpoints(&mut conn, now, 10).unwrap(), vec![endpoint.clone()]);
        assert!(deliveries::claim_endpoint(&mut conn, &endpoint, "w1", now, lease).unwrap().is_some());
        assert!(deliveries::claim_endpoint(&mut conn, &endpoint, "w2", now, lease).unwrap().is_none(), "held");
        assert!(deliveries::due_endpoints(&mut conn, now, 10).unwrap().is_empty(), "held endpoints are not due");

        let next = deliveries::next_due(&mut conn, &endpoint, 1, now).unwrap().unwrap();
        assert_eq!(next.event_id, first, "oldest first");
        let attempt = |worker| Attempt {
            delivery_id: &next.id,
            webhook_id: &endpoint,
            worker,
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(now + chrono::Duration::seconds(5)),
            status_code: Some(500),
            error: None,
            response_body: Some("oops"),
            now,
            lease_until: lease,
        };
        assert_eq!(deliveries::record(&mut conn, &attempt("w2")).unwrap(), Recorded::LostEndpoint);
        assert_eq!(deliveries::record(&mut conn, &attempt("w1")).unwrap(), Recorded::Failed { failing_since: now });
        let after = deliveries::next_due(&mut conn, &endpoint, 1, now).unwrap().unwrap();
        assert_ne!(after.id, next.id, "a delivery waiting for its retry lets the next one pass");

        assert!(deliveries::next_due(&mut conn, &endpoint, 2, now).unwrap().is_none(), "changed since it was taken");
        deliveries::release_endpoint(&mut conn, &endpoint, "w1").unwrap();
        let later = now + chrono::Duration::seconds(61);
        assert!(deliveries::claim_endpoint(&mut conn, &endpoint, "w2", later, later).unwrap().is_some());
    }
);
