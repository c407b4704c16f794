//! Suspend, unsuspend, block and unblock an account below: the cascade to everything
//! below it and their services, its exact undo, the end of every credential at a block,
//! who may do it, and the races.

use crate::support::*;

fn hold(server: &Server, by: &Account, id: &str, verb: &str, body: Value) -> Response {
    server.post(&format!("/v1/customers/{id}/{verb}"), Some(&by.token), body)
}

fn account_status(server: &Server, reader: &Account, account: &Account) -> String {
    let response = server.get(&format!("/v1/customers/{}", account.id), Some(&reader.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.str("status")
}

fn service(server: &Server, reader: &Account, id: &str) -> Value {
    let response = server.get(&format!("/v1/services/{id}"), Some(&reader.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// The audit actions about a target, newest first.
fn actions_on(server: &Server, reader: &Account, id: &str) -> Vec<(String, Value)> {
    let response = server.get(&format!("/v1/audit-events?target_id={id}&limit=100"), Some(&reader.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| (event["action"].as_str().unwrap().to_owned(), event["details"].clone()))
        .collect()
}

both_backends!(a_suspension_cascades_and_unsuspend_undoes_exactly_that_suspension, |server| {
    let tree = Tree::build(&server);
    let plan_a = server.web_plan(&tree.reseller_a, "A web");
    let plan_sub = server.web_plan(&tree.sub_reseller, "Sub web");
    let plan_b = server.web_plan(&tree.reseller_b, "B web");
    let a1 = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);
    let a1_own = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);
    let a2 = server.sell(&tree.reseller_a, &tree.customer_a2, &plan_a);
    let deep = server.sell(&tree.sub_reseller, &tree.sub_customer, &plan_sub);
    let b1 = server.sell(&tree.reseller_b, &tree.customer_b1, &plan_b);

    // Held for reasons of their own before: a sub-customer and one service.
    let own = hold(&server, &tree.sub_reseller, &tree.sub_customer.id, "suspend", json!({"reason": "unpaid"}));
    assert_eq!((own.status, own.body["status"].clone()), (200, json!("suspended")), "{}", own.body);
    let own = server.post(
        &format!("/v1/services/{a1_own}/suspend"),
        Some(&tree.reseller_a.token),
        json!({"reason": "abuse"}),
    );
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(service(&server, &tree.operator, &deep)["status"], "suspended", "held with its owner");

    let suspended = hold(&server, &tree.operator, &tree.reseller_a.id, "suspend", json!({"reason": "  chargeback  "}));
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(suspended.body["status"], "suspended");
    assert_eq!(suspended.body["id"], tree.reseller_a.id.as_str());
    assert!(suspended.header("etag").is_some());

    for account in [&tree.reseller_a, &tree.customer_a1, &tree.customer_a2, &tree.sub_reseller, &tree.sub_customer] {
        assert_eq!(account_status(&server, &tree.operator, account), "suspended", "{}", account.login);
    }
    for account in [&tree.reseller_b, &tree.customer_b1] {
        assert_eq!(account_status(&server, &tree.operator, account), "active", "{}", account.login);
    }
    for id in [&a1, &a1_own, &a2, &deep] {
        assert_eq!(service(&server, &tree.operator, id)["status"], "suspended", "{id}");
    }
    assert_eq!(service(&server, &tree.operator, &b1)["status"], "active");

    // Read-only from the next request on: reads answer, changes are refused.
    for account in [&tree.reseller_a, &tree.customer_a1, &tree.sub_customer] {
        assert_eq!(server.get("/v1/me", Some(&account.token)).status, 200);
        assert_eq!(server.get("/v1/services", Some(&account.token)).status, 200);
        let refused = server.patch("/v1/me", Some(&account.token), json!({"name": "New name"}));
        assert_eq!((refused.status, refused.code()), (403, "account_suspended"), "{}", account.login);
    }
    let refused = server.post(
        "/v1/customers",
        Some(&tree.reseller_a.token),
        json!({"login": "new-one", "password": PASSWORD, "name": "New", "email": "new-one@example.test"}),
    );
    assert_eq!((refused.status, refused.code()), (403, "account_suspended"));
    let refused = server.post(
        &format!("/v1/services/{a1}/cancel"),
        Some(&tree.customer_a1.token),
        json!({"type": "immediate", "reason": "x"}),
    );
    assert_eq!((refused.status, refused.code()), (403, "account_suspended"));
    assert_eq!(server.patch("/v1/me", Some(&tree.customer_b1.token), json!({"name": "B1"})).status, 200);

    // A held service comes back only with its owner; suspending twice is a conflict.
    let refused = server.post(&format!("/v1/services/{a1}/unsuspend"), Some(&tree.operator.token), json!({}));
    assert_eq!((refused.status, refused.code()), (409, "invalid_transition"));
    let again = hold(&server, &tree.operator, &tree.reseller_a.id, "suspend", json!({"reason": "twice"}));
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));
    let nothing = hold(&server, &tree.operator, &tree.customer_a2.id, "unsuspend", json!({}));
    assert_eq!((nothing.status, nothing.code()), (409, "invalid_transition"), "no suspension of its own");

    let lifted = server.send(
        "POST",
        &format!("/v1/customers/{}/unsuspend", tree.reseller_a.id),
        Some(&tree.operator.token),
        Body::None,
        &[],
    );
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    assert_eq!(lifted.body["status"], "active");
    for account in [&tree.reseller_a, &tree.customer_a1, &tree.customer_a2, &tree.sub_reseller] {
        assert_eq!(account_status(&server, &tree.operator, account), "active", "{}", account.login);
    }
    assert_eq!(account_status(&server, &tree.operator, &tree.sub_customer), "suspended", "its own suspension stays");
    assert_eq!(service(&server, &tree.operator, &a1)["status"], "active");
    assert_eq!(service(&server, &tree.operator, &a1)["suspension_reason"], Value::Null);
    assert_eq!(service(&server, &tree.operator, &a2)["status"], "active");
    let own_service = service(&server, &tree.operator, &a1_own);
    assert_eq!(
        (own_service["status"].clone(), own_service["suspension_reason"].clone()),
        (json!("suspended"), json!("abuse"))
    );
    assert_eq!(service(&server, &tree.operator, &deep)["status"], "suspended", "its owner is still suspended");
    assert_eq!(server.patch("/v1/me", Some(&tree.customer_a1.token), json!({"name": "A1"})).status, 200);

    let again = hold(&server, &tree.operator, &tree.reseller_a.id, "unsuspend", json!({"reason": "paid"}));
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));

    // The sub-customer's own suspension lifted: its service follows.
    let lifted = hold(&server, &tree.sub_reseller, &tree.sub_customer.id, "unsuspend", json!({"reason": "paid"}));
    assert_eq!(lifted.body["status"], "active", "{}", lifted.body);
    assert_eq!(service(&server, &tree.operator, &deep)["status"], "active");

    let log = actions_on(&server, &tree.operator, &tree.reseller_a.id);
    let names: Vec<&str> = log.iter().map(|(action, _)| action.as_str()).collect();
    assert_eq!(&names[..2], ["customer.unsuspend", "customer.suspend"]);
    assert_eq!(log[1].1["reason"], "chargeback");
    assert_eq!(log[1].1["accounts_changed"], 4, "the sub-customer was suspended already");
    assert_eq!(log[1].1["services_changed"], 2);
    let service_log = actions_on(&server, &tree.customer_a1, &a1);
    assert_eq!(service_log[0].0, "service.unsuspend");
    assert_eq!(service_log[1].0, "service.suspend");
});

both_backends!(a_block_ends_every_token_and_key_below_at_once_and_unblock_keeps_keys_revoked, |server| {
    let tree = Tree::build(&server);
    let plan = server.web_plan(&tree.reseller_a, "A web");
    let a1 = server.sell(&tree.reseller_a, &tree.customer_a1, &plan);
    let key = server.post(
        "/v1/me/api-keys",
        Some(&tree.customer_a1.token),
        json!({"name": "ci", "scopes": ["account:read"]}),
    );
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.str("key");
    let seller_key = server.post(
        "/v1/me/api-keys",
        Some(&tree.sub_reseller.token),
        json!({"name": "ci", "scopes": ["customers:read"]}),
    );
    let seller_key = seller_key.str("key");
    assert_eq!(server.get("/v1/me", Some(&key)).status, 200);

    let blocked =
        hold(&server, &tree.operator, &tree.reseller_a.id, "block", json!({"reason": "fraud ring", "fraud": true}));
    assert_eq!(blocked.status, 200, "{}", blocked.body);
    assert_eq!((blocked.body["status"].clone(), blocked.body["fraud"].clone()), (json!("blocked"), json!(true)));

    for (what, token) in [
        ("reseller", tree.reseller_a.token.as_str()),
        ("customer", tree.customer_a1.token.as_str()),
        ("deep customer", tree.sub_customer.token.as_str()),
        ("customer key", key.as_str()),
        ("seller key", seller_key.as_str()),
    ] {
        let refused = server.get("/v1/me", Some(token));
        assert_eq!((refused.status, refused.code()), (401, "unauthenticated"), "{what}");
    }
    let refresh = server.post("/v1/auth/refresh", None, json!({"refresh_token": tree.customer_a1.refresh}));
    assert_eq!(refresh.status, 401, "{}", refresh.body);
    assert_eq!(server.get("/v1/me", Some(&tree.customer_b1.token)).status, 200, "another tenant goes on");

    let login = server.post("/v1/auth/login", None, json!({"login": "customer-a1", "password": PASSWORD}));
    assert_eq!((login.status, login.code()), (403, "account_blocked"));
    let wrong = server.post("/v1/auth/login", None, json!({"login": "customer-a1", "password": "not the password"}));
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"), "blocked is told only after the password");
    assert_eq!(account_status(&server, &tree.operator, &tree.sub_customer), "blocked");
    assert_eq!(service(&server, &tree.operator, &a1)["status"], "suspended");
    assert_eq!(account_status(&server, &tree.operator, &tree.customer_a1), "blocked");

    let again = hold(&server, &tree.operator, &tree.reseller_a.id, "block", json!({"reason": "twice"}));
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));

    let unblocked = hold(&server, &tree.operator, &tree.reseller_a.id, "unblock", json!({"reason": "cleared"}));
    assert_eq!(unblocked.status, 200, "{}", unblocked.body);
    assert_eq!((unblocked.body["status"].clone(), unblocked.body["fraud"].clone()), (json!("active"), json!(false)));
    let customer = server.login("customer-a1", PASSWORD);
    assert_eq!(server.get("/v1/me", Some(&customer.token)).body["status"], "active");
    assert_eq!(server.get("/v1/me", Some(&key)).status, 401, "a revoked key stays revoked");
    assert_eq!(server.get("/v1/me", Some(&tree.customer_a1.token)).status, 401, "old tokens stay ended");
    assert_eq!(service(&server, &customer, &a1)["status"], "active");

    let log = actions_on(&server, &tree.operator, &tree.reseller_a.id);
    assert_eq!(log[0].0, "customer.unblock");
    assert_eq!(log[1].0, "customer.block");
    assert_eq!((log[1].1["reason"].clone(), log[1].1["fraud"].clone()), (json!("fraud ring"), json!(true)));
    assert_eq!(log[1].1["api_keys_revoked"], 2);

    // Operators are never below anyone: another operator is not found.
    let other = server.operator("operator-two");
    let refused = hold(&server, &tree.operator, &other.id, "block", json!({"reason": "x"}));
    assert_eq!((refused.status, refused.code()), (404, "not_found"));
});

both_backends!(only_accounts_above_hold_and_input_and_preconditions_are_checked, |server| {
    let tree = Tree::build(&server);
    let body = json!({"reason": "check"});
    for verb in ["suspend", "unsuspend", "block", "unblock"] {
        let refused = hold(&server, &tree.customer_a1, &tree.customer_a2.id, verb, body.clone());
        assert_eq!((refused.status, refused.code()), (403, "forbidden"), "customer {verb}");
        for (by, target) in [
            (&tree.reseller_a, &tree.customer_b1),
            (&tree.reseller_a, &tree.reseller_a),
            (&tree.sub_reseller, &tree.reseller_a),
            (&tree.reseller_b, &tree.sub_customer),
        ] {
            let refused = hold(&server, by, &target.id, verb, body.clone());
            assert_eq!((refused.status, refused.code()), (404, "not_found"), "{} {verb} {}", by.login, target.login);
        }
        let refused = hold(&server, &tree.reseller_a, "not-an-id", verb, body.clone());
        assert_eq!(refused.status, 404);
    }

    let target = &tree.customer_a1.id;
    for (verb, body, pointer) in [
        ("suspend", json!({}), "/reason"),
        ("suspend", json!({"reason": "   "}), "/reason"),
        ("suspend", json!({"reason": "x".repeat(1001)}), "/reason"),
        ("block", json!({"reason": "x", "fraud": "yes"}), "/fraud"),
        ("unsuspend", json!({"reason": ""}), "/reason"),
    ] {
        let refused = hold(&server, &tree.reseller_a, target, verb, body);
        assert_eq!((refused.status, refused.pointers()), (422, vec![pointer.to_owned()]), "{verb}: {}", refused.body);
    }
    let refused = hold(&server, &tree.reseller_a, target, "block", json!({"reason": "x", "status": "active"}));
    assert_eq!((refused.code(), refused.pointers()), ("unknown_field", vec!["/status".to_owned()]));

    // If-Match: a stale tag changes nothing.
    let etag =
        server.get(&format!("/v1/customers/{target}"), Some(&tree.reseller_a.token)).header("etag").unwrap().to_owned();
    assert_eq!(
        server
            .patch(&format!("/v1/customers/{target}"), Some(&tree.reseller_a.token), json!({"name": "Renamed"}))
            .status,
        200
    );
    let stale = server.send(
        "POST",
        &format!("/v1/customers/{target}/suspend"),
        Some(&tree.reseller_a.token),
        Body::Json(json!({"reason": "late"})),
        &[("if-match", &etag)],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    assert_eq!(account_status(&server, &tree.reseller_a, &tree.customer_a1), "active");
    let fresh =
        server.get(&format!("/v1/customers/{target}"), Some(&tree.reseller_a.token)).header("etag").unwrap().to_owned();
    let suspended = server.send(
        "POST",
        &format!("/v1/customers/{target}/suspend"),
        Some(&tree.reseller_a.token),
        Body::Json(json!({"reason": "late"})),
        &[("if-match", &fresh)],
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_ne!(suspended.header("etag"), Some(fresh.as_str()));

    // A hold placed from above is not the reseller's to lift.
    let placed = hold(&server, &tree.operator, &tree.customer_a2.id, "block", json!({"reason": "provider decision"}));
    assert_eq!(placed.status, 200, "{}", placed.body);
    let refused = hold(&server, &tree.reseller_a, &tree.customer_a2.id, "unblock", json!({}));
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    assert_eq!(account_status(&server, &tree.operator, &tree.customer_a2), "blocked");
});

both_backends!(parallel_suspensions_of_one_account_let_exactly_one_through, |server| {
    let tree = Tree::build(&server);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (server, tree) = (&server, &tree);
                scope.spawn(move || {
                    hold(
                        server,
                        &tree.reseller_a,
                        &tree.customer_a1.id,
                        "suspend",
                        json!({"reason": format!("race {i}")}),
                    )
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let log = actions_on(&server, &tree.operator, &tree.customer_a1.id);
    assert_eq!(log.iter().filter(|(action, _)| action == "customer.suspend").count(), 1);
    assert_eq!(
        server.count(&format!("SELECT COUNT(*) AS n FROM account_holds WHERE account_id = '{}'", tree.customer_a1.id)),
        1
    );
});

/// The suspension reason a service gets while its owner is held.
const HELD_REASON: &str = "the owner's account is suspended or blocked";

fn order(server: &Server, seller: &Account, owner: &Account, plan_id: &str, name: &str) -> Response {
    server.post(
        "/v1/services",
        Some(&seller.token),
        json!({"owner_id": owner.id, "plan_id": plan_id, "cycle": "monthly", "name": name}),
    )
}

fn services_of(server: &Server, owner: &Account) -> i64 {
    server.count(&format!("SELECT COUNT(*) AS n FROM services WHERE owner_id = '{}'", owner.id))
}

both_backends!(a_sale_to_a_suspended_owner_is_held_with_it_and_a_blocked_owner_cannot_order, |server| {
    let tree = Tree::build(&server);
    let plan = server.web_plan(&tree.reseller_a, "A web");
    let suspended = hold(&server, &tree.reseller_a, &tree.customer_a1.id, "suspend", json!({"reason": "unpaid"}));
    assert_eq!(suspended.status, 200, "{}", suspended.body);

    let sold = order(&server, &tree.reseller_a, &tree.customer_a1, &plan, "held site");
    assert_eq!(sold.status, 201, "{}", sold.body);
    assert_eq!(
        (sold.body["status"].clone(), sold.body["held"].clone(), sold.body["suspension_reason"].clone()),
        (json!("suspended"), json!(true), json!(HELD_REASON)),
        "{}",
        sold.body
    );
    let id = sold.str("id");
    assert_eq!(service(&server, &tree.customer_a1, &id)["status"], "suspended", "the owner reads it");
    let log: Vec<String> = actions_on(&server, &tree.operator, &id).into_iter().map(|(action, _)| action).collect();
    assert_eq!(log, ["service.suspend", "service.create"], "created, then suspended like the cascade does");
    let refused = server.post(&format!("/v1/services/{id}/unsuspend"), Some(&tree.reseller_a.token), json!({}));
    assert_eq!((refused.status, refused.code()), (409, "invalid_transition"), "it comes back only with its owner");

    // A hold further up holds the sale too.
    let above = hold(&server, &tree.reseller_a, &tree.sub_reseller.id, "suspend", json!({"reason": "audit"}));
    assert_eq!(above.status, 200, "{}", above.body);
    let deep = order(&server, &tree.reseller_a, &tree.sub_customer, &plan, "deep site");
    assert_eq!(
        (deep.status, deep.body["status"].clone(), deep.body["held"].clone()),
        (201, json!("suspended"), json!(true)),
        "{}",
        deep.body
    );

    // Lifting the hold releases what it held, the new services included.
    let lifted = hold(&server, &tree.reseller_a, &tree.customer_a1.id, "unsuspend", json!({}));
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    let released = service(&server, &tree.customer_a1, &id);
    assert_eq!(
        (released["status"].clone(), released["held"].clone(), released["suspension_reason"].clone()),
        (json!("active"), json!(false), Value::Null)
    );
    let lifted = hold(&server, &tree.reseller_a, &tree.sub_reseller.id, "unsuspend", json!({}));
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    assert_eq!(service(&server, &tree.operator, &deep.str("id"))["status"], "active");
    let active = order(&server, &tree.reseller_a, &tree.customer_a1, &plan, "after the hold");
    assert_eq!(
        (active.status, active.body["status"].clone(), active.body["held"].clone()),
        (201, json!("active"), json!(false))
    );

    // A blocked owner, or one below a blocked account, can no longer order: nothing is created.
    let blocked = hold(&server, &tree.reseller_a, &tree.customer_a2.id, "block", json!({"reason": "fraud"}));
    assert_eq!(blocked.status, 200, "{}", blocked.body);
    let blocked = hold(&server, &tree.reseller_a, &tree.sub_reseller.id, "block", json!({"reason": "fraud"}));
    assert_eq!(blocked.status, 200, "{}", blocked.body);
    let before = server.count("SELECT COUNT(*) AS n FROM services");
    let events = server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.create'");
    for owner in [&tree.customer_a2, &tree.sub_customer] {
        let refused = order(&server, &tree.reseller_a, owner, &plan, "refused");
        assert_eq!((refused.status, refused.code()), (409, "account_blocked"), "{}: {}", owner.login, refused.body);
        assert!(refused.body["detail"].as_str().unwrap().contains(&owner.login), "{}", refused.body);
        let refused = order(&server, &tree.operator, owner, &plan, "refused");
        assert_eq!((refused.status, refused.code()), (409, "account_blocked"), "operators too");
    }
    assert_eq!(services_of(&server, &tree.customer_a2), 0);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM services"), before, "nothing created");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.create'"), events);

    // Reach and input come before the owner's state: nothing is told about it to others.
    let b_plan = server.web_plan(&tree.reseller_b, "B web");
    let refused = order(&server, &tree.reseller_b, &tree.customer_a2, &b_plan, "elsewhere");
    assert_eq!((refused.status, refused.code()), (404, "not_found"));
    let refused = order(&server, &tree.reseller_a, &tree.customer_a2, &plan, "");
    assert_eq!((refused.status, refused.pointers()), (422, vec!["/name".to_owned()]), "{}", refused.body);
    let refused = order(&server, &tree.customer_a1, &tree.customer_a1, &plan, "self-service");
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));

    // Unblocked, it orders again.
    let unblocked = hold(&server, &tree.reseller_a, &tree.customer_a2.id, "unblock", json!({}));
    assert_eq!(unblocked.status, 200, "{}", unblocked.body);
    let sold = order(&server, &tree.reseller_a, &tree.customer_a2, &plan, "welcome back");
    assert_eq!((sold.status, sold.body["status"].clone()), (201, json!("active")), "{}", sold.body);
    assert_eq!(services_of(&server, &tree.customer_a2), 1);
});

const DEFERRED: &[(&str, &str)] = &[("HOSTADMIN_PROVISIONER", "deferred"), ("HOSTADMIN_WORKER_INTERVAL_MS", "100")];

both_backends!(a_deferred_sale_to_a_suspended_owner_is_held_once_provisioned, env = DEFERRED, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let suspended = hold(&server, &reseller, &customer.id, "suspend", json!({"reason": "unpaid"}));
    assert_eq!(suspended.status, 200, "{}", suspended.body);

    let sold = order(&server, &reseller, &customer, &plan, "site");
    assert_eq!((sold.status, sold.body["status"].clone()), (201, json!("pending")), "{}", sold.body);
    let id = sold.str("id");
    eventually(20, "the provisioned service to be held", || {
        let read = service(&server, &reseller, &id);
        read["status"] == "suspended" && read["held"] == true
    });
    let done = || server.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'provision' AND status = 'done'");
    eventually(20, "the create and the suspension to be carried out", || done() == 2);

    let lifted = hold(&server, &reseller, &customer.id, "unsuspend", json!({}));
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    assert_eq!(service(&server, &reseller, &id)["status"], "active");
    eventually(20, "the unsuspension to be carried out", || done() == 3);
});

both_backends!(sales_racing_a_suspension_all_end_up_held_with_the_owner, |server| {
    let tree = Tree::build(&server);
    let plan = server.web_plan(&tree.reseller_a, "A web");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let (server, tree, plan) = (&server, &tree, &plan);
        let suspend = scope.spawn(move || {
            hold(server, &tree.reseller_a, &tree.customer_a1.id, "suspend", json!({"reason": "race"})).status
        });
        let sales: Vec<_> = (0..8)
            .map(|i| {
                scope.spawn(move || order(server, &tree.reseller_a, &tree.customer_a1, plan, &format!("s{i}")).status)
            })
            .collect();
        std::iter::once(suspend).chain(sales).map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(statuses[1..].iter().all(|s| *s == 201), "{statuses:?}");
    let not_held = format!(
        "SELECT COUNT(*) AS n FROM services WHERE owner_id = '{}' AND NOT (status = 'suspended' AND held)",
        tree.customer_a1.id
    );
    assert_eq!(services_of(&server, &tree.customer_a1), 8);
    assert_eq!(server.count(&not_held), 0, "no sale slipped past the cascade");
    let lifted = hold(&server, &tree.reseller_a, &tree.customer_a1.id, "unsuspend", json!({}));
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    let active =
        format!("SELECT COUNT(*) AS n FROM services WHERE owner_id = '{}' AND status = 'active'", tree.customer_a1.id);
    assert_eq!(server.count(&active), 8);
});
