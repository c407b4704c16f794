//! A service's lifecycle: suspend, unsuspend, terminate, cancel and withdraw, renew,
//! change plan (quotes and proration), the service password, and usage; who may do
//! each, what each refuses, and that each change is audited.

use chrono::{DateTime, Months, Utc};

use crate::support::*;

/// A plan body: `service_kind`, prices as `(cycle, amount_minor, currency)`, quotas.
fn plan_body(name: &str, kind: &str, prices: &[(&str, i64, &str)], quotas: Value, public: bool) -> Value {
    let prices: Vec<Value> = prices
        .iter()
        .map(|(cycle, amount, currency)| json!({"cycle": cycle, "amount_minor": amount, "currency": currency}))
        .collect();
    json!({"name": name, "service_kind": kind, "quotas": quotas, "prices": prices, "public": public})
}

fn plan(server: &Server, seller: &Account, body: Value) -> String {
    let response = server.post("/v1/plans", Some(&seller.token), body);
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

/// A web hosting plan sold monthly and annually in EUR.
fn web_plan(server: &Server, seller: &Account, name: &str, annual: i64) -> String {
    let quotas = json!({"disk_mb": 10240, "mailboxes": 10});
    plan(
        server,
        seller,
        plan_body(name, "web_hosting", &[("monthly", annual / 10, "EUR"), ("annual", annual, "EUR")], quotas, true),
    )
}

/// Sells a service and answers it.
fn sell(server: &Server, seller: &Account, owner: &Account, plan_id: &str, cycle: &str) -> Value {
    let response = server.post(
        "/v1/services",
        Some(&seller.token),
        json!({"owner_id": owner.id, "plan_id": plan_id, "cycle": cycle, "name": format!("{} site", owner.login)}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.body
}

fn action(server: &Server, account: &Account, id: &str, verb: &str, body: Value) -> Response {
    server.post(&format!("/v1/services/{id}/{verb}"), Some(&account.token), body)
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("a time: {value}")).parse().unwrap()
}

/// The audit events about a service, newest first, as (action, details).
fn events(server: &Server, reader: &Account, id: &str) -> Vec<(String, Value)> {
    let response = server.get(&format!("/v1/audit-events?target_id={id}&limit=100"), Some(&reader.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| (event["action"].as_str().unwrap().to_owned(), event["details"].clone()))
        .collect()
}

fn stored_password_hash(server: &Server, id: &str) -> Option<String> {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        password_hash: Option<String>,
    }
    let rows: Vec<Row> = diesel::sql_query(format!("SELECT password_hash FROM services WHERE id = '{id}'"))
        .load(&mut server.database.connect())
        .unwrap();
    rows.into_iter().next().and_then(|row| row.password_hash)
}

/// Sets a status no route sets yet (the worker will expire services).
fn force_status(server: &Server, id: &str, status: &str) {
    use diesel::RunQueryDsl as _;
    diesel::sql_query(format!("UPDATE services SET status = '{status}', version = version + 1 WHERE id = '{id}'"))
        .execute(&mut server.database.connect())
        .unwrap();
}

both_backends!(suspend_unsuspend_and_terminate_follow_the_lifecycle_and_are_audited, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan_id = web_plan(&server, &reseller, "Web", 12000);
    let service = sell(&server, &reseller, &customer, &plan_id, "monthly");
    let id = service["id"].as_str().unwrap().to_owned();

    // Input first, with pointers; nothing changes.
    let refused = action(&server, &reseller, &id, "suspend", json!({}));
    assert_eq!((refused.status, refused.pointers()), (422, vec!["/reason".to_owned()]));
    let refused = action(&server, &reseller, &id, "suspend", json!({"reason": "   "}));
    assert_eq!(refused.pointers(), vec!["/reason"]);
    let refused = action(&server, &reseller, &id, "suspend", json!({"reason": "x".repeat(1001)}));
    assert_eq!(refused.pointers(), vec!["/reason"]);
    let refused = action(&server, &reseller, &id, "suspend", json!({"reason": "unpaid", "status": "active"}));
    assert_eq!((refused.code(), refused.pointers()), ("unknown_field", vec!["/status".to_owned()]));
    let refused = action(&server, &reseller, &id, "terminate", json!({}));
    assert_eq!(refused.pointers(), vec!["/reason"], "terminate needs a reason too");

    // If-Match: a stale tag changes nothing, the current one works.
    let etag = server.get(&format!("/v1/services/{id}"), Some(&reseller.token)).header("etag").unwrap().to_owned();
    server.patch(&format!("/v1/services/{id}"), Some(&reseller.token), json!({"name": "Renamed"}));
    let stale = server.send(
        "POST",
        &format!("/v1/services/{id}/suspend"),
        Some(&reseller.token),
        Body::Json(json!({"reason": "unpaid"})),
        &[("if-match", &etag)],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let read = server.get(&format!("/v1/services/{id}"), Some(&reseller.token));
    assert_eq!(read.body["status"], "active", "a stale If-Match changes nothing");
    let fresh = read.header("etag").unwrap().to_owned();

    let suspended = server.send(
        "POST",
        &format!("/v1/services/{id}/suspend"),
        Some(&reseller.token),
        Body::Json(json!({"reason": "  unpaid invoice  "})),
        &[("if-match", &fresh)],
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(suspended.body["status"], "suspended");
    assert_eq!(suspended.body["suspension_reason"], "unpaid invoice");
    let etag = suspended.header("etag").unwrap().to_owned();
    assert_ne!(etag, fresh, "every action answers the new ETag");
    assert_eq!(server.get(&format!("/v1/services/{id}"), Some(&customer.token)).header("etag"), Some(etag.as_str()));

    let again = action(&server, &reseller, &id, "suspend", json!({"reason": "twice"}));
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));

    // Unsuspend takes no body at all, or an optional reason.
    let unsuspended =
        server.send("POST", &format!("/v1/services/{id}/unsuspend"), Some(&reseller.token), Body::None, &[]);
    assert_eq!(unsuspended.status, 200, "{}", unsuspended.body);
    assert_eq!(unsuspended.body["status"], "active");
    assert_eq!(unsuspended.body["suspension_reason"], Value::Null);
    let again = action(&server, &reseller, &id, "unsuspend", json!({"reason": "paid"}));
    assert_eq!((again.status, again.code()), (409, "invalid_transition"), "an active service is not suspended");

    // Suspended services can be terminated; terminated ones can do nothing more.
    assert_eq!(action(&server, &reseller, &id, "suspend", json!({"reason": "abuse"})).status, 200);
    let terminated = action(&server, &reseller, &id, "terminate", json!({"reason": "abuse confirmed"}));
    assert_eq!(terminated.status, 200, "{}", terminated.body);
    assert_eq!(terminated.body["status"], "terminated");
    assert_eq!(terminated.body["suspension_reason"], Value::Null);
    for (verb, body) in [
        ("suspend", json!({"reason": "x"})),
        ("unsuspend", json!({})),
        ("terminate", json!({"reason": "x"})),
        ("cancel", json!({"type": "immediate", "reason": "x"})),
        ("renew", json!({})),
    ] {
        let refused = action(&server, &reseller, &id, verb, body);
        assert_eq!((refused.status, refused.code()), (409, "invalid_transition"), "{verb} a terminated service");
    }

    // One event per change, in the same transaction, readable by the owner too.
    let log = events(&server, &customer, &id);
    let actions: Vec<&str> = log.iter().map(|(action, _)| action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "service.terminate",
            "service.suspend",
            "service.unsuspend",
            "service.suspend",
            "service.update",
            "service.create"
        ]
    );
    assert_eq!(log[3].1["reason"], "unpaid invoice");
    assert_eq!(log[0].1["reason"], "abuse confirmed");
});

both_backends!(only_an_account_above_the_owner_suspends_and_other_tenants_see_nothing, |server| {
    let tree = Tree::build(&server);
    let web = web_plan(&server, &tree.reseller_a, "A web", 12000);
    let provider_web = web_plan(&server, &tree.operator, "Provider web", 12000);
    let sub_web = web_plan(&server, &tree.sub_reseller, "Sub web", 12000);
    let a1 = sell(&server, &tree.reseller_a, &tree.customer_a1, &web, "annual")["id"].as_str().unwrap().to_owned();
    let own =
        sell(&server, &tree.operator, &tree.reseller_a, &provider_web, "annual")["id"].as_str().unwrap().to_owned();
    let deep =
        sell(&server, &tree.sub_reseller, &tree.sub_customer, &sub_web, "annual")["id"].as_str().unwrap().to_owned();
    let reason = json!({"reason": "check"});

    // Customers may never suspend, renew or apply a plan: 403 before any lookup.
    for (verb, body) in [
        ("suspend", reason.clone()),
        ("unsuspend", json!({})),
        ("terminate", reason.clone()),
        ("renew", json!({})),
        ("change-plan", json!({"plan_id": web})),
    ] {
        for target in [a1.as_str(), "0190aaaa-0000-7000-8000-000000000000", "not-an-id"] {
            let refused = action(&server, &tree.customer_a1, target, verb, body.clone());
            assert_eq!((refused.status, refused.code()), (403, "forbidden"), "customer {verb} {target}");
        }
    }

    // A reseller sees its own service but is not above it.
    for (verb, body) in [("suspend", reason.clone()), ("terminate", reason.clone()), ("renew", json!({}))] {
        let refused = action(&server, &tree.reseller_a, &own, verb, body);
        assert_eq!((refused.status, refused.code()), (403, "forbidden"), "reseller {verb} its own service");
    }
    let refused = action(&server, &tree.reseller_a, &own, "change-plan", json!({"plan_id": provider_web}));
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    assert_eq!(server.get(&format!("/v1/services/{own}"), Some(&tree.reseller_a.token)).body["status"], "active");

    // Another tenant's service is 404 on every route, whatever the body.
    let routes: Vec<(&str, &str, Value)> = vec![
        ("POST", "suspend", reason.clone()),
        ("POST", "unsuspend", json!({})),
        ("POST", "terminate", reason.clone()),
        ("POST", "cancel", json!({"type": "immediate", "reason": "x"})),
        ("DELETE", "cancel", json!({})),
        ("POST", "renew", json!({})),
        ("POST", "change-plan", json!({"plan_id": web})),
        ("POST", "change-plan", json!({"plan_id": web, "quote_only": true})),
        ("POST", "password", json!({"generate": true})),
        ("GET", "usage", json!({})),
    ];
    let sellers_only = ["suspend", "unsuspend", "terminate", "renew"];
    for (method, verb, body) in &routes {
        let send = |who: &Account, id: &str| {
            let body = if *method == "POST" { Body::Json(body.clone()) } else { Body::None };
            server.send(method, &format!("/v1/services/{id}/{verb}"), Some(&who.token), body, &[])
        };
        assert_eq!(send(&tree.reseller_b, &a1).status, 404, "reseller B {method} {verb} on A's customer's service");
        assert_eq!(send(&tree.sub_reseller, &a1).status, 404, "a sub-reseller does not reach its parent's customers");
        assert_eq!(send(&tree.reseller_a, "not-an-id").status, 404, "a malformed id is 404");
        let by_sibling = send(&tree.customer_a2, &a1);
        let applies_plan = *verb == "change-plan" && body.get("quote_only").is_none();
        let customers_never_call = sellers_only.contains(verb) || applies_plan;
        if !customers_never_call {
            assert_eq!(by_sibling.status, 404, "a sibling customer {method} {verb}");
        } else {
            assert_eq!(by_sibling.status, 403, "a customer may never {method} {verb}");
        }
    }
    assert_eq!(server.get(&format!("/v1/services/{a1}"), Some(&tree.customer_a1.token)).body["status"], "active");

    // Above means anywhere above: reseller A and the operator act on the sub-reseller's customer.
    let suspended = action(&server, &tree.reseller_a, &deep, "suspend", reason.clone());
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(action(&server, &tree.operator, &deep, "unsuspend", json!({})).status, 200);
    assert_eq!(action(&server, &tree.sub_reseller, &deep, "suspend", reason.clone()).status, 200);
    let refused = action(&server, &tree.sub_customer, &deep, "unsuspend", json!({}));
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    assert_eq!(
        action(&server, &tree.operator, &own, "suspend", reason.clone()).status,
        200,
        "operators: any non-operator"
    );

    // An API key needs services:write for changes; services:read quotes and reads usage.
    let key = server.post(
        "/v1/me/api-keys",
        Some(&tree.reseller_a.token),
        json!({"name": "reader", "scopes": ["services:read"]}),
    );
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.str("key");
    let refused = server.post(&format!("/v1/services/{a1}/suspend"), Some(&key), reason.clone());
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    let quote =
        server.post(&format!("/v1/services/{a1}/change-plan"), Some(&key), json!({"plan_id": web, "quote_only": true}));
    assert_eq!(quote.status, 200, "{}", quote.body);
    assert_eq!(server.get(&format!("/v1/services/{a1}/usage"), Some(&key)).status, 200);
});

both_backends!(cancel_at_the_end_of_the_period_withdraw_it_or_cancel_at_once, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan_id = web_plan(&server, &reseller, "Web", 12000);
    let service = sell(&server, &reseller, &customer, &plan_id, "annual");
    let id = service["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/services/{id}/cancel");

    let refused = action(&server, &customer, &id, "cancel", json!({"type": "someday", "reason": "x"}));
    assert_eq!((refused.status, refused.pointers()), (422, vec!["/type".to_owned()]));
    let refused = action(&server, &customer, &id, "cancel", json!({"type": "immediate"}));
    assert_eq!(refused.pointers(), vec!["/reason"]);

    let withdraw = server.delete(&path, Some(&customer.token));
    assert_eq!((withdraw.status, withdraw.code()), (409, "invalid_transition"), "nothing to withdraw");

    // The owner cancels at the end of the period: still active, cancellation pending.
    let pending = action(&server, &customer, &id, "cancel", json!({"type": "end_of_period", "reason": "moving away"}));
    assert_eq!(pending.status, 200, "{}", pending.body);
    assert_eq!(pending.body["status"], "active");
    assert_eq!(pending.body["cancellation"]["type"], "end_of_period");
    assert_eq!(pending.body["cancellation"]["reason"], "moving away");
    assert!(at(&pending.body["cancellation"]["requested_at"]) <= Utc::now());
    assert_eq!(pending.body["next_due_at"], service["next_due_at"], "the due date stays");
    let twice = action(&server, &customer, &id, "cancel", json!({"type": "end_of_period", "reason": "again"}));
    assert_eq!((twice.status, twice.code()), (409, "invalid_transition"));
    assert!(twice.body["detail"].as_str().unwrap().contains("already pending"), "{}", twice.body);

    // Withdrawn (with a stale tag first): 204 with the new ETag.
    let etag = pending.header("etag").unwrap().to_owned();
    server.patch(&format!("/v1/services/{id}"), Some(&customer.token), json!({"auto_renew": false}));
    let stale = server.send("DELETE", &path, Some(&customer.token), Body::None, &[("if-match", &etag)]);
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let withdrawn = server.delete(&path, Some(&customer.token));
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.text);
    assert!(withdrawn.text.is_empty());
    let read = server.get(&format!("/v1/services/{id}"), Some(&customer.token));
    assert_eq!(read.body["cancellation"], Value::Null);
    assert_eq!(withdrawn.header("etag"), read.header("etag"));
    assert_eq!(server.delete(&path, Some(&customer.token)).status, 409, "withdrawn once");

    // The reseller above may cancel for the customer; at once it ends the service.
    let pending = action(&server, &customer, &id, "cancel", json!({"type": "end_of_period", "reason": "later"}));
    assert_eq!(pending.status, 200);
    let cancelled = action(&server, &reseller, &id, "cancel", json!({"type": "immediate", "reason": "asked by phone"}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["cancellation"]["type"], "immediate", "replaces the pending one");
    assert_eq!(cancelled.body["cancellation"]["reason"], "asked by phone");
    for body in [json!({"type": "immediate", "reason": "x"}), json!({"type": "end_of_period", "reason": "x"})] {
        let refused = action(&server, &customer, &id, "cancel", body);
        assert_eq!((refused.status, refused.code()), (409, "invalid_transition"), "cancelled is final");
    }
    assert_eq!(server.delete(&path, Some(&customer.token)).code(), "invalid_transition");

    // A suspended service is cancelled at once but never at the end of its period.
    let other = sell(&server, &reseller, &customer, &plan_id, "monthly")["id"].as_str().unwrap().to_owned();
    assert_eq!(action(&server, &reseller, &other, "suspend", json!({"reason": "unpaid"})).status, 200);
    let refused = action(&server, &customer, &other, "cancel", json!({"type": "end_of_period", "reason": "x"}));
    assert_eq!((refused.status, refused.code()), (409, "invalid_transition"));
    let cancelled = action(&server, &customer, &other, "cancel", json!({"type": "immediate", "reason": "x"}));
    assert_eq!(
        (cancelled.body["status"].clone(), cancelled.body["suspension_reason"].clone()),
        (json!("cancelled"), Value::Null)
    );

    let log = events(&server, &customer, &id);
    let actions: Vec<&str> = log.iter().map(|(action, _)| action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "service.cancel",
            "service.cancel",
            "service.cancel_withdraw",
            "service.update",
            "service.cancel",
            "service.create"
        ]
    );
    assert_eq!(log[0].1, json!({"type": "immediate", "reason": "asked by phone"}));
    assert_eq!(log[2].1["withdrawn"]["reason"], "moving away");
});

fn sell_due(server: &Server, reader: &Account, id: &str) -> Value {
    server.get(&format!("/v1/services/{id}"), Some(&reader.token)).body["next_due_at"].clone()
}

both_backends!(renew_moves_the_due_date_by_whole_cycles_and_brings_expired_services_back, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan_id = web_plan(&server, &reseller, "Web", 12000);
    let annual = sell(&server, &reseller, &customer, &plan_id, "annual");
    let id = annual["id"].as_str().unwrap().to_owned();
    let due = at(&annual["next_due_at"]);
    let years = |n: u32| due.checked_add_months(Months::new(12 * n)).unwrap();

    for (cycles, pointer) in
        [(json!(0), "/cycles"), (json!(11), "/cycles"), (json!(-1), "/cycles"), (json!("2"), "/cycles")]
    {
        let refused = action(&server, &reseller, &id, "renew", json!({"cycles": cycles}));
        assert_eq!((refused.status, refused.pointers()), (422, vec![pointer.to_owned()]), "cycles {cycles}");
    }

    let renewed = action(&server, &reseller, &id, "renew", json!({}));
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    assert_eq!(at(&renewed.body["next_due_at"]), years(1), "one cycle by default");
    assert_eq!(renewed.body["status"], "active");
    assert!(renewed.header("etag").is_some());

    // Idempotency-Key: a retry answers the stored result and renews once.
    let send = |key: &str, body: Value| {
        server.send(
            "POST",
            &format!("/v1/services/{id}/renew"),
            Some(&reseller.token),
            Body::Json(body),
            &[("idempotency-key", key)],
        )
    };
    let first = send("renew-3", json!({"cycles": 3}));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(at(&first.body["next_due_at"]), years(4));
    let retry = send("renew-3", json!({"cycles": 3}));
    assert_eq!((retry.status, retry.body.clone()), (200, first.body.clone()));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(at(&sell_due(&server, &customer, &id)), years(4), "renewed once");
    let reused = send("renew-3", json!({"cycles": 2}));
    assert_eq!((reused.status, reused.code()), (422, "idempotency_key_reused"));

    // Monthly cycles move by calendar months; a suspended service stays suspended.
    let monthly = sell(&server, &reseller, &customer, &plan_id, "monthly");
    let monthly_id = monthly["id"].as_str().unwrap();
    assert_eq!(action(&server, &reseller, monthly_id, "suspend", json!({"reason": "unpaid"})).status, 200);
    let renewed = action(&server, &reseller, monthly_id, "renew", json!({"cycles": 2}));
    assert_eq!(renewed.body["status"], "suspended");
    assert_eq!(
        at(&renewed.body["next_due_at"]),
        at(&monthly["next_due_at"]).checked_add_months(Months::new(2)).unwrap()
    );

    // Expired (set by the worker later; here by hand) -> renew -> active.
    force_status(&server, &id, "expired");
    let password = action(&server, &customer, &id, "password", json!({"generate": true}));
    assert_eq!((password.status, password.code()), (409, "service_not_active"));
    let back = action(&server, &reseller, &id, "renew", json!({"cycles": 1}));
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.body["status"], "active");
    assert_eq!(at(&back.body["next_due_at"]), years(5));

    let log = events(&server, &reseller, &id);
    assert_eq!(log[0].0, "service.renew");
    assert_eq!(log[0].1["cycles"], 1);
    assert_eq!(log[0].1["status"], "active");
    assert_eq!(log.iter().filter(|(action, _)| action == "service.renew").count(), 3, "the retry left no event");
});

both_backends!(change_plan_quotes_the_prorated_difference_and_applies_it, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let other_reseller = server.create(&operator, "other", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let small = web_plan(&server, &reseller, "Small", 12000);
    let big = plan(
        &server,
        &reseller,
        json!({"name": "Big", "service_kind": "web_hosting", "public": true,
               "quotas": {"disk_mb": 51200, "mailboxes": 50},
               "prices": [{"cycle": "annual", "amount_minor": 24000, "currency": "EUR"}],
               "addons": [{"code": "backup", "name": "Backups", "quota_delta": {"disk_mb": 10240},
                           "prices": [{"cycle": "annual", "amount_minor": 1200, "currency": "EUR"}]}]}),
    );
    let private =
        plan(&server, &reseller, plan_body("Private", "web_hosting", &[("annual", 30000, "EUR")], json!({}), false));
    let monthly_only =
        plan(&server, &reseller, plan_body("Monthly", "web_hosting", &[("monthly", 999, "EUR")], json!({}), true));
    let dollars =
        plan(&server, &reseller, plan_body("Dollars", "web_hosting", &[("annual", 24000, "USD")], json!({}), true));
    let mail = plan(&server, &reseller, plan_body("Mail", "mail_hosting", &[("annual", 6000, "EUR")], json!({}), true));
    let foreign = web_plan(&server, &other_reseller, "Foreign", 24000);

    let service = sell(&server, &reseller, &customer, &small, "annual");
    let id = service["id"].as_str().unwrap().to_owned();
    let today = at(&service["registered_at"]).date_naive().to_string();
    let change = |who: &Account, body: Value| action(&server, who, &id, "change-plan", body);

    // Created today on an annual cycle: the whole cycle is left, so the quote is the
    // full difference 240.00 - 120.00 EUR.
    let quote = change(&customer, json!({"plan_id": big, "quote_only": true}));
    assert_eq!(quote.status, 200, "{}", quote.body);
    assert_eq!(
        quote.body,
        json!({"amount_minor": 12000, "currency": "EUR", "effective_at": today, "applied": false, "service": null})
    );
    let with_addon = change(&customer, json!({"plan_id": big, "addons": ["backup"], "quote_only": true}));
    assert_eq!(with_addon.body["amount_minor"], 13200, "the add-on's price counts");
    let refused = change(&customer, json!({"plan_id": big}));
    assert_eq!((refused.status, refused.code()), (403, "forbidden"), "customers only ask for quotes");
    for plan_id in [&private, &foreign] {
        let hidden = change(&customer, json!({"plan_id": plan_id, "quote_only": true}));
        assert_eq!((hidden.status, hidden.code()), (404, "not_found"), "not offered to the customer");
    }
    assert_eq!(change(&reseller, json!({"plan_id": foreign})).status, 404, "another reseller's plan");
    assert_eq!(change(&reseller, json!({"plan_id": "0190aaaa-0000-7000-8000-000000000000"})).status, 404);

    // What a plan change refuses, with pointers; nothing changes.
    for (body, pointer, code) in [
        (json!({"plan_id": mail}), "/plan_id", "kind_mismatch"),
        (json!({"plan_id": monthly_only}), "/plan_id", "not_offered"),
        (json!({"plan_id": dollars}), "/plan_id", "currency_mismatch"),
        (json!({"plan_id": big, "addons": ["nope"]}), "/addons/0", "unknown_addon"),
        (json!({"addons": []}), "/plan_id", "required"),
        (json!({"plan_id": big, "quote_only": "yes"}), "/quote_only", "invalid_value"),
        (json!({"plan_id": big, "cycle": "monthly"}), "/cycle", "unknown_field"),
    ] {
        let refused = change(&reseller, body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![pointer], "{body}");
        assert_eq!(refused.body["errors"][0]["code"], code, "{body}");
    }

    // A stale If-Match changes nothing; then the reseller applies it.
    let etag = server.get(&format!("/v1/services/{id}"), Some(&reseller.token)).header("etag").unwrap().to_owned();
    server.patch(&format!("/v1/services/{id}"), Some(&reseller.token), json!({"name": "Renamed"}));
    let stale = server.send(
        "POST",
        &format!("/v1/services/{id}/change-plan"),
        Some(&reseller.token),
        Body::Json(json!({"plan_id": big})),
        &[("if-match", &etag)],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    assert_eq!(server.get(&format!("/v1/services/{id}"), Some(&reseller.token)).body["plan_id"], small.as_str());

    let applied = change(&reseller, json!({"plan_id": big, "addons": ["backup"]}));
    assert_eq!(applied.status, 200, "{}", applied.body);
    assert_eq!(applied.body["amount_minor"], 13200);
    assert_eq!(applied.body["applied"], true);
    let after = &applied.body["service"];
    assert_eq!(after["plan_id"], big.as_str());
    assert_eq!(after["addons"], json!(["backup"]));
    assert_eq!(after["recurring_amount_minor"], 25200);
    assert_eq!(after["quotas"]["disk_mb"], 61440, "the plan's quotas with the add-on's");
    assert_eq!(after["quotas"]["mailboxes"], 50);
    assert_eq!(after["cycle"], "annual");
    assert_eq!(after["next_due_at"], service["next_due_at"], "the paid period stays");
    assert_eq!(server.get(&format!("/v1/services/{id}"), Some(&customer.token)).body, *after);

    // Absent add-ons are kept, and must then exist on the new plan; downgrades credit.
    let refused = change(&reseller, json!({"plan_id": small}));
    assert_eq!((refused.status, refused.pointers()), (422, vec!["/addons".to_owned()]));
    let downgrade = change(&customer, json!({"plan_id": small, "addons": [], "quote_only": true}));
    assert_eq!(downgrade.body["amount_minor"], -13200, "a credit");

    // Only an active service changes plan; a quote is still given.
    assert_eq!(action(&server, &reseller, &id, "suspend", json!({"reason": "unpaid"})).status, 200);
    let refused = change(&reseller, json!({"plan_id": small, "addons": []}));
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
    assert_eq!(change(&customer, json!({"plan_id": small, "addons": [], "quote_only": true})).status, 200);

    let log = events(&server, &customer, &id);
    let changes: Vec<&Value> =
        log.iter().filter(|(action, _)| action == "service.change_plan").map(|(_, d)| d).collect();
    assert_eq!(changes.len(), 1, "quotes and refusals are not changes: {log:?}");
    assert_eq!(changes[0]["from_plan_id"], small.as_str());
    assert_eq!(changes[0]["plan_id"], big.as_str());
    assert_eq!(changes[0]["amount_minor"], 13200);
    assert_eq!(changes[0]["currency"], "EUR");
    assert_eq!(changes[0]["recurring_amount_minor"], 25200);
});

both_backends!(service_passwords_are_set_or_generated_shown_once_and_stored_hashed, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan_id = web_plan(&server, &reseller, "Web", 12000);
    let id = sell(&server, &reseller, &customer, &plan_id, "annual")["id"].as_str().unwrap().to_owned();
    let etag = server.get(&format!("/v1/services/{id}"), Some(&customer.token)).header("etag").unwrap().to_owned();
    assert_eq!(stored_password_hash(&server, &id), None);

    for (body, pointer, code) in [
        (json!({}), "/password", "required"),
        (json!({"generate": false}), "/password", "required"),
        (json!({"password": "a long enough passphrase", "generate": true}), "/generate", "mutually_exclusive"),
        (json!({"password": "short"}), "/password", "password_too_short"),
        (json!({"password": "password123"}), "/password", "password_too_common"),
        (json!({"password": "x".repeat(129)}), "/password", "password_too_long"),
        (json!({"generate": true, "length": 40}), "/length", "unknown_field"),
    ] {
        let refused = action(&server, &customer, &id, "password", body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![pointer], "{body}");
        assert_eq!(refused.body["errors"][0]["code"], code, "{body}");
    }
    let keyed = server.send(
        "POST",
        &format!("/v1/services/{id}/password"),
        Some(&customer.token),
        Body::Json(json!({"generate": true})),
        &[("idempotency-key", "k1")],
    );
    assert_eq!((keyed.status, keyed.code()), (400, "idempotency_not_supported"), "the answer holds a secret");
    assert_eq!(stored_password_hash(&server, &id), None, "refusals store nothing");

    // The owner chooses one: it is echoed once, never cached, stored as argon2id.
    let chosen = "a long enough passphrase";
    let set = action(&server, &customer, &id, "password", json!({"password": chosen}));
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body, json!({"password": chosen}));
    assert_eq!(set.header("cache-control"), Some("no-store"));
    let hash = stored_password_hash(&server, &id).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(hostadmin_domain::passwords::verify(chosen, &hash));

    // The reseller above has one generated: 20 unambiguous characters, a new hash.
    let generated = action(&server, &reseller, &id, "password", json!({"generate": true}));
    assert_eq!(generated.status, 200, "{}", generated.body);
    assert_eq!(generated.header("cache-control"), Some("no-store"));
    let password = generated.str("password");
    assert!(password.chars().count() >= 16, "{password}");
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric() && !"0Oo1lI".contains(c)), "{password}");
    let again = action(&server, &reseller, &id, "password", json!({"generate": true})).str("password");
    assert_ne!(password, again, "random each time");
    let hash = stored_password_hash(&server, &id).unwrap();
    assert!(
        hostadmin_domain::passwords::verify(&again, &hash) && !hostadmin_domain::passwords::verify(&password, &hash)
    );
    assert_eq!(
        server.get(&format!("/v1/services/{id}"), Some(&customer.token)).header("etag"),
        Some(etag.as_str()),
        "the password is not part of the service's representation"
    );

    // The audit log says who set it and whether it was generated, never the password.
    let log = events(&server, &customer, &id);
    let passwords: Vec<&Value> =
        log.iter().filter(|(action, _)| action == "service.password").map(|(_, d)| d).collect();
    assert_eq!(passwords, vec![&json!({"generated": true}), &json!({"generated": true}), &json!({"generated": false})]);
    let raw = server.get(&format!("/v1/audit-events?target_id={id}"), Some(&operator.token)).text;
    for secret in [chosen, password.as_str(), again.as_str()] {
        assert!(!raw.contains(secret), "the audit log holds a password");
    }

    // Only an active service takes a password; If-Match is honoured.
    let stale = server.send(
        "POST",
        &format!("/v1/services/{id}/password"),
        Some(&customer.token),
        Body::Json(json!({"generate": true})),
        &[("if-match", "\"v999\"")],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    assert_eq!(action(&server, &reseller, &id, "suspend", json!({"reason": "unpaid"})).status, 200);
    let refused = action(&server, &customer, &id, "password", json!({"password": "another long passphrase"}));
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
    assert!(hostadmin_domain::passwords::verify(&again, &stored_password_hash(&server, &id).unwrap()), "unchanged");
});

both_backends!(usage_lists_every_quota_of_the_kind_and_packages_count_below_their_owner, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let package_plan = plan(
        &server,
        &operator,
        plan_body(
            "Reseller M",
            "reseller_hosting",
            &[("monthly", 2900, "EUR")],
            json!({"customers": 10, "services": 20, "disk_mb": 102400}),
            true,
        ),
    );
    let tiny_package = plan(
        &server,
        &operator,
        plan_body("Reseller XS", "reseller_hosting", &[("monthly", 900, "EUR")], json!({"customers": 1}), true),
    );
    let package = sell(&server, &operator, &reseller, &package_plan, "monthly")["id"].as_str().unwrap().to_owned();
    let customer = server.create(&reseller, "customer", "customer");
    let sub = server.create(&reseller, "sub", "reseller");
    server.create(&sub, "sub-customer", "customer");
    let web = web_plan(&server, &reseller, "Web", 12000);
    let site = sell(&server, &reseller, &customer, &web, "annual")["id"].as_str().unwrap().to_owned();
    let spare = sell(&server, &reseller, &customer, &web, "monthly")["id"].as_str().unwrap().to_owned();
    assert_eq!(action(&server, &reseller, &spare, "terminate", json!({"reason": "unused"})).status, 200);

    // A web hosting service: every hosting quota, none in use yet, null is unlimited.
    let usage = server.get(&format!("/v1/services/{site}/usage"), Some(&customer.token));
    assert_eq!(usage.status, 200, "{}", usage.body);
    let keys: Vec<&String> = usage.body.as_object().unwrap().keys().collect();
    let mut expected = vec![
        "bandwidth_mb",
        "databases",
        "disk_mb",
        "dns_records",
        "domains",
        "ftp_users",
        "mailbox_default_mb",
        "mailboxes",
        "forwards",
    ];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(usage.body["disk_mb"], json!({"used": 0, "limit": 10240}));
    assert_eq!(usage.body["mailboxes"], json!({"used": 0, "limit": 10}));
    assert_eq!(usage.body["databases"], json!({"used": 0, "limit": null}));

    // The package counts the accounts below the reseller (at any depth) and their
    // services in force; the terminated one does not count.
    let usage = server.get(&format!("/v1/services/{package}/usage"), Some(&reseller.token));
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(usage.body.as_object().unwrap().len(), 11, "every quota applies to a package");
    assert_eq!(usage.body["customers"], json!({"used": 3, "limit": 10}));
    assert_eq!(usage.body["services"], json!({"used": 1, "limit": 20}));
    assert_eq!(usage.body["disk_mb"], json!({"used": 0, "limit": 102400}));

    // A package smaller than what is in use is refused; the quote is still given.
    let refused = action(&server, &operator, &package, "change-plan", json!({"plan_id": tiny_package}));
    assert_eq!((refused.status, refused.code()), (409, "quota_exceeded"), "{}", refused.body);
    let quote =
        action(&server, &operator, &package, "change-plan", json!({"plan_id": tiny_package, "quote_only": true}));
    assert_eq!(quote.status, 200, "{}", quote.body);
    assert!(quote.body["amount_minor"].as_i64().unwrap() < 0, "a cheaper package is a credit");
    assert_eq!(
        server.get(&format!("/v1/services/{package}"), Some(&reseller.token)).body["plan_id"],
        package_plan.as_str()
    );

    // The customer reads its own usage; nobody else's.
    assert_eq!(server.get(&format!("/v1/services/{package}/usage"), Some(&customer.token)).status, 404);
});
