//! The catalog: who sells and who sees which plans, what a plan may hold, and that plans
//! are archived instead of deleted.

use crate::support::*;

fn web_plan(name: &str, public: bool) -> Value {
    json!({
        "name": name, "service_kind": "web_hosting", "public": public,
        "quotas": {"disk_mb": 10240, "mailboxes": 10, "mailbox_default_mb": 1024},
        "prices": [{"cycle": "monthly", "amount_minor": 499, "currency": "EUR"}, {"cycle": "annual", "amount_minor": 4990, "currency": "EUR"}],
        "addons": [{"code": "extra-disk", "name": "10 GB more", "quota_delta": {"disk_mb": 10240}, "prices": [{"cycle": "monthly", "amount_minor": 200, "currency": "EUR"}]}]
    })
}

fn create(server: &Server, seller: &Account, name: &str, public: bool) -> String {
    let response = server.post("/v1/plans", Some(&seller.token), web_plan(name, public));
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

fn names(server: &Server, account: &Account, query: &str) -> Vec<String> {
    let response = server.get(&format!("/v1/plans{query}"), Some(&account.token));
    assert_eq!(response.status, 200, "{}", response.body);
    let mut names: Vec<String> =
        response.body["data"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

both_backends!(each_account_sees_its_own_plans_and_the_public_plans_above_it, |server| {
    let operator = server.operator("operator");
    let reseller_a = server.create(&operator, "reseller-a", "reseller");
    let reseller_b = server.create(&operator, "reseller-b", "reseller");
    let direct = server.create(&operator, "direct", "customer");
    let customer_a = server.create(&reseller_a, "customer-a", "customer");
    create(&server, &operator, "Provider public", true);
    create(&server, &operator, "Provider private", false);
    let a_public = create(&server, &reseller_a, "A public", true);
    create(&server, &reseller_a, "A private", false);
    create(&server, &reseller_b, "B public", true);

    assert_eq!(
        names(&server, &operator, ""),
        vec!["A private", "A public", "B public", "Provider private", "Provider public"]
    );
    assert_eq!(names(&server, &reseller_a, ""), vec!["A private", "A public", "Provider public"]);
    assert_eq!(names(&server, &reseller_b, ""), vec!["B public", "Provider public"]);
    assert_eq!(names(&server, &customer_a, ""), vec!["A public"]);
    assert_eq!(names(&server, &direct, ""), vec!["Provider public"]);
    assert_eq!(server.get(&format!("/v1/plans/{a_public}"), Some(&customer_a.token)).status, 200);
    assert_eq!(
        server.get(&format!("/v1/plans/{a_public}"), Some(&reseller_b.token)).status,
        404,
        "another seller's plan"
    );
    assert_eq!(server.get(&format!("/v1/plans/{a_public}"), Some(&direct.token)).status, 404);
    assert_eq!(names(&server, &operator, &format!("?owner_id={}", reseller_a.id)), vec!["A private", "A public"]);
});

both_backends!(a_plan_is_stored_as_sent_and_answered_with_its_etag, |server| {
    let operator = server.operator("operator");
    let created = server.post("/v1/plans", Some(&operator.token), web_plan("Web S", true));
    assert_eq!(created.status, 201);
    let id = created.str("id");
    assert_eq!(created.header("location"), Some(format!("/v1/plans/{id}").as_str()));
    assert!(created.header("etag").is_some());
    assert_eq!(created.body["owner_id"], Value::Null, "the provider's plan");
    assert_eq!(created.body["quotas"]["disk_mb"], 10240);
    assert_eq!(created.body["quotas"]["databases"], Value::Null, "absent is unlimited");
    assert_eq!(created.body["prices"][1], json!({"cycle": "annual", "amount_minor": 4990, "currency": "EUR"}));
    assert_eq!(created.body["addons"][0]["quota_delta"]["disk_mb"], 10240);
    let read = server.get(&format!("/v1/plans/{id}"), Some(&operator.token));
    assert_eq!(read.body, created.body);
});

both_backends!(plans_are_checked_rule_by_rule, |server| {
    let operator = server.operator("operator");
    let refused = |body: Value| -> (String, Vec<String>) {
        let response = server.post("/v1/plans", Some(&operator.token), body);
        assert_eq!(response.status, 422, "{}", response.body);
        (response.code().to_owned(), response.pointers())
    };
    let mut plan = web_plan("Web", true);
    plan["quotas"]["customers"] = json!(5);
    assert_eq!(refused(plan).1, vec!["/quotas/customers"], "customers apply to reseller packages only");
    let mut plan = web_plan("Web", true);
    plan["prices"][1]["cycle"] = json!("monthly");
    assert_eq!(refused(plan).1, vec!["/prices/1/cycle"], "one price per cycle");
    let mut plan = web_plan("Web", true);
    plan["prices"][1]["currency"] = json!("USD");
    assert_eq!(refused(plan).1, vec!["/prices/1/currency"], "one currency per plan");
    let mut plan = web_plan("Web", true);
    plan["prices"][0]["currency"] = json!("eur");
    assert_eq!(refused(plan).1, vec!["/prices/0/currency"]);
    let mut plan = web_plan("Web", true);
    plan["prices"][0]["amount_minor"] = json!(-1);
    assert_eq!(refused(plan).1, vec!["/prices/0/amount_minor"]);
    let mut plan = web_plan("Web", true);
    plan["addons"][0]["prices"][0]["cycle"] = json!("triennial");
    assert_eq!(refused(plan).1, vec!["/addons/0/prices/0/cycle"], "add-ons are sold in the plan's cycles");
    let mut plan = web_plan("Web", true);
    plan["addons"][0]["code"] = json!("Extra Disk");
    assert_eq!(refused(plan).1, vec!["/addons/0/code"]);
    let mut plan = web_plan("Web", true);
    plan["prices"] = json!([]);
    assert_eq!(refused(plan).1, vec!["/prices"]);
    let mut plan = web_plan("Web", true);
    plan["quotas"]["inodes"] = json!(1);
    assert_eq!(refused(plan), ("unknown_field".to_owned(), vec!["/quotas/inodes".to_owned()]));
    let mut plan = web_plan("Web", true);
    plan["service_kind"] = json!("vps");
    assert_eq!(refused(plan).1, vec!["/service_kind"]);
    let mut plan = web_plan("", true);
    plan["quotas"]["services"] = json!(1);
    assert_eq!(refused(plan).1, vec!["/name", "/quotas/services"], "every refusal at once");
});

both_backends!(only_sellers_write_plans_and_only_their_own, |server| {
    let operator = server.operator("operator");
    let reseller_a = server.create(&operator, "reseller-a", "reseller");
    let reseller_b = server.create(&operator, "reseller-b", "reseller");
    let customer = server.create(&reseller_a, "customer", "customer");
    let provider_plan = create(&server, &operator, "Provider", true);
    let a_plan = create(&server, &reseller_a, "A", true);

    let by_customer = server.post("/v1/plans", Some(&customer.token), web_plan("Mine", true));
    assert_eq!((by_customer.status, by_customer.code()), (403, "forbidden"));
    for (method, path) in [("PATCH", format!("/v1/plans/{a_plan}")), ("DELETE", format!("/v1/plans/{a_plan}"))] {
        let response = server.send(method, &path, Some(&customer.token), Body::Json(json!({"name": "x"})), &[]);
        assert_eq!(response.status, 403, "a customer never writes the catalog: {method}");
    }
    let on_parents_plan =
        server.patch(&format!("/v1/plans/{provider_plan}"), Some(&reseller_a.token), json!({"name": "Mine now"}));
    assert_eq!(on_parents_plan.status, 404, "visible, but not the reseller's to change");
    assert_eq!(server.delete(&format!("/v1/plans/{a_plan}"), Some(&reseller_b.token)).status, 404);
    assert_eq!(
        server.patch(&format!("/v1/plans/{a_plan}"), Some(&operator.token), json!({"public": false})).status,
        200,
        "operators act on everything"
    );
    assert_eq!(server.get("/v1/plans/not-an-id", Some(&reseller_a.token)).status, 404);
});

both_backends!(plans_change_by_merge_patch_and_are_archived_not_deleted, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let id = create(&server, &reseller, "Web S", true);
    let read = server.get(&format!("/v1/plans/{id}"), Some(&reseller.token));
    let etag = read.header("etag").unwrap().to_owned();

    let changed = server.send(
        "PATCH",
        &format!("/v1/plans/{id}"),
        Some(&reseller.token),
        Body::Json(json!({"name": "Web S+", "addons": null, "quotas": {"disk_mb": 20480}})),
        &[("content-type", "application/merge-patch+json"), ("if-match", &etag)],
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["name"], "Web S+");
    assert_eq!(changed.body["addons"], json!([]));
    assert_eq!(changed.body["quotas"]["mailboxes"], Value::Null, "quotas are replaced as a whole");
    assert_eq!(changed.body["prices"], read.body["prices"], "absent fields stay");
    let stale = server.send(
        "PATCH",
        &format!("/v1/plans/{id}"),
        Some(&reseller.token),
        Body::Json(json!({"name": "Late"})),
        &[("if-match", &etag)],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let cleared = server.patch(&format!("/v1/plans/{id}"), Some(&reseller.token), json!({"prices": null}));
    assert_eq!(cleared.pointers(), vec!["/prices"]);
    let kind = server.patch(&format!("/v1/plans/{id}"), Some(&reseller.token), json!({"service_kind": "domain"}));
    assert_eq!(kind.code(), "unknown_field", "the kind of a plan never changes");

    assert_eq!(server.delete(&format!("/v1/plans/{id}"), Some(&reseller.token)).status, 204);
    assert!(names(&server, &customer, "").is_empty(), "no longer sold");
    assert_eq!(names(&server, &reseller, "?archived=true"), vec!["Web S+"]);
    let archived = server.get(&format!("/v1/plans/{id}"), Some(&reseller.token));
    assert!(archived.body["archived_at"].is_string(), "still readable: services keep their plan");
    assert_eq!(
        server.delete(&format!("/v1/plans/{id}"), Some(&reseller.token)).status,
        204,
        "archiving twice is harmless"
    );

    let events = server.get(&format!("/v1/audit-events?target_id={id}"), Some(&reseller.token));
    let actions: Vec<&str> =
        events.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["plan.archive", "plan.update", "plan.create"], "one event per change, none for the no-op");
});

both_backends!(a_resellers_plans_never_exceed_its_own_package, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let unbounded = server.create(&operator, "unbounded", "reseller");
    let package_plan = server.post(
        "/v1/plans",
        Some(&operator.token),
        json!({"name": "Reseller M", "service_kind": "reseller_hosting",
               "quotas": {"disk_mb": 50000, "mailboxes": 100, "databases": 10, "customers": 20, "services": 40},
               "prices": [{"cycle": "monthly", "amount_minor": 2500, "currency": "EUR"}]}),
    );
    assert_eq!(package_plan.status, 201, "{}", package_plan.body);
    let package = server.post(
        "/v1/services",
        Some(&operator.token),
        json!({"owner_id": reseller.id, "plan_id": package_plan.str("id"), "cycle": "monthly", "name": "Package"}),
    );
    assert_eq!(package.status, 201, "{}", package.body);

    let plan = |quotas: Value, addons: Value| {
        json!({"name": "Web", "service_kind": "web_hosting", "quotas": quotas, "addons": addons,
               "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]})
    };
    let within = json!({"disk_mb": 50000, "mailboxes": 100, "databases": 10, "bandwidth_mb": 1, "domains": 1,
                        "mailbox_default_mb": 1, "forwards": 1, "ftp_users": 1, "dns_records": 1});
    let fits = server.post("/v1/plans", Some(&reseller.token), plan(within.clone(), json!([])));
    assert_eq!(fits.status, 201, "a plan up to the package's limits: {}", fits.body);

    let mut too_much_disk = within.clone();
    too_much_disk["disk_mb"] = json!(50001);
    let refused = server.post("/v1/plans", Some(&reseller.token), plan(too_much_disk, json!([])));
    assert_eq!((refused.status, refused.code()), (422, "exceeds_reseller_package"));
    assert_eq!(refused.pointers(), vec!["/quotas/disk_mb"]);

    let mut unlimited_databases = within.clone();
    unlimited_databases["databases"] = Value::Null;
    let refused = server.post("/v1/plans", Some(&reseller.token), plan(unlimited_databases, json!([])));
    assert_eq!(refused.pointers(), vec!["/quotas/databases"], "unlimited exceeds any limit");

    let addon = json!([{"code": "more", "name": "More disk", "quota_delta": {"disk_mb": 1},
                        "prices": [{"cycle": "monthly", "amount_minor": 100, "currency": "EUR"}]}]);
    let refused = server.post("/v1/plans", Some(&reseller.token), plan(within.clone(), addon));
    assert_eq!(refused.pointers(), vec!["/quotas/disk_mb"], "add-ons count");

    let raised = server.patch(
        &format!("/v1/plans/{}", fits.str("id")),
        Some(&reseller.token),
        json!({"quotas": {"disk_mb": 60000}}),
    );
    assert_eq!(raised.code(), "exceeds_reseller_package", "a change is held to the package too");

    let free = server.post("/v1/plans", Some(&unbounded.token), plan(json!({}), json!([])));
    assert_eq!(free.status, 201, "a reseller without a package has no ceiling");
    let provider = server.post("/v1/plans", Some(&operator.token), plan(json!({}), json!([])));
    assert_eq!(provider.status, 201, "nor has the provider");
});
