//! The provisioner interface: with a deferring driver a new service is `pending` (and
//! refuses lifecycle actions) until the worker has carried out its `provision` job;
//! with the built-in local driver it is `active` at once and no job is queued.

use diesel::RunQueryDsl as _;

use crate::support::*;

const DEFERRED: &[(&str, &str)] = &[("HOSTADMIN_PROVISIONER", "deferred"), ("HOSTADMIN_WORKER_INTERVAL_MS", "100")];

fn web_plan(server: &Server, seller: &Account) -> String {
    let response = server.post(
        "/v1/plans",
        Some(&seller.token),
        json!({"name": "Web", "service_kind": "web_hosting", "quotas": {"disk_mb": 1024},
               "prices": [{"cycle": "monthly", "amount_minor": 1000, "currency": "EUR"}], "public": true}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

fn sell(server: &Server, seller: &Account, owner: &Account, plan_id: &str) -> Response {
    let response = server.post(
        "/v1/services",
        Some(&seller.token),
        json!({"owner_id": owner.id, "plan_id": plan_id, "cycle": "monthly", "name": "site"}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response
}

fn status_of(server: &Server, account: &Account, id: &str) -> String {
    let response = server.get(&format!("/v1/services/{id}"), Some(&account.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.str("status")
}

both_backends!(a_deferred_service_is_pending_until_the_worker_provisions_it, env = DEFERRED, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = web_plan(&server, &reseller);

    let created = sell(&server, &reseller, &customer, &plan);
    assert_eq!(created.str("status"), "pending", "{}", created.body);
    let id = created.str("id");
    assert_eq!(
        server.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'provision'"),
        1,
        "the create is queued in the creating transaction"
    );

    eventually(20, "the service to be provisioned", || status_of(&server, &reseller, &id) == "active");
    let provisioned = server.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.provisioned' AND target_id = '{id}' AND actor_id IS NULL"
        ),
    );
    assert_eq!(provisioned, 1, "one service.provisioned event, without an actor");
    let done = || server.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'provision' AND status = 'done'");
    eventually(20, "the provision job to be done", || done() == 1);

    // A lifecycle change applies locally at once and queues its operation for the worker.
    let suspended =
        server.post(&format!("/v1/services/{id}/suspend"), Some(&reseller.token), json!({"reason": "unpaid"}));
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(suspended.str("status"), "suspended", "{}", suspended.body);
    eventually(20, "the suspension to be carried out", || done() == 2);
    let audited = server.count(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.provisioned' AND target_id = '{id}'"
    ));
    assert_eq!(audited, 1, "only a create is audited as provisioned");

    // While pending (here: as if its job had not been carried out yet), a service refuses
    // lifecycle actions.
    diesel::sql_query(format!("UPDATE services SET status = 'pending' WHERE id = '{id}'"))
        .execute(&mut server.database.connect())
        .unwrap();
    for action in ["suspend", "terminate"] {
        let refused =
            server.post(&format!("/v1/services/{id}/{action}"), Some(&reseller.token), json!({"reason": "unpaid"}));
        assert_eq!(refused.status, 409, "{action}: {}", refused.body);
        assert_eq!(refused.str("code"), "invalid_transition", "{}", refused.body);
    }
});

both_backends!(the_local_provisioner_completes_at_once, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = web_plan(&server, &reseller);
    let created = sell(&server, &reseller, &customer, &plan);
    assert_eq!(created.str("status"), "active", "{}", created.body);
    let id = created.str("id");
    let suspended =
        server.post(&format!("/v1/services/{id}/suspend"), Some(&reseller.token), json!({"reason": "unpaid"}));
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'provision'"), 0, "nothing is queued");
});
