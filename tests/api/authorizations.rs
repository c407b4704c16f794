//! Authorized users: giving, accepting, changing, withdrawing and giving back grants;
//! what a grantee reaches through them (and only through active ones, only what they
//! cover, only what their permissions allow), from the very next request on.

use crate::support::*;

/// The fixture: a grantor and a bystander below reseller A, a grantee below reseller B,
/// the grantor with two services and the bystander with one.
struct Fixture {
    operator: Account,
    reseller_a: Account,
    reseller_b: Account,
    grantor: Account,
    grantee: Account,
    bystander: Account,
    plan_id: String,
    first: String,
    second: String,
    bystanders: String,
}

fn web_plan() -> Value {
    json!({
        "name": "Web", "service_kind": "web_hosting", "public": true, "quotas": {"disk_mb": 10240},
        "prices": [{"cycle": "monthly", "amount_minor": 499, "currency": "EUR"}]
    })
}

fn sell(server: &Server, seller: &Account, owner: &Account, plan_id: &str, name: &str) -> String {
    let response = server.post(
        "/v1/services",
        Some(&seller.token),
        json!({"owner_id": owner.id, "plan_id": plan_id, "cycle": "monthly", "name": name}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

impl Fixture {
    fn build(server: &Server) -> Self {
        let operator = server.operator("operator");
        let reseller_a = server.create(&operator, "reseller-a", "reseller");
        let reseller_b = server.create(&operator, "reseller-b", "reseller");
        let grantor = server.create(&reseller_a, "grantor", "customer");
        let bystander = server.create(&reseller_a, "bystander", "customer");
        let grantee = server.create(&reseller_b, "grantee", "customer");
        let response = server.post("/v1/plans", Some(&reseller_a.token), web_plan());
        assert_eq!(response.status, 201, "{}", response.body);
        let plan_id = response.str("id");
        let first = sell(server, &reseller_a, &grantor, &plan_id, "first");
        let second = sell(server, &reseller_a, &grantor, &plan_id, "second");
        let bystanders = sell(server, &reseller_a, &bystander, &plan_id, "bystander's");
        Self { operator, reseller_a, reseller_b, grantor, grantee, bystander, plan_id, first, second, bystanders }
    }
}

fn give(server: &Server, grantor: &Account, body: Value) -> Response {
    server.post("/v1/authorizations", Some(&grantor.token), body)
}

/// Gives a grant that must be created; its id.
fn given(server: &Server, grantor: &Account, body: Value) -> String {
    let response = give(server, grantor, body);
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

fn accept(server: &Server, grantee: &Account, id: &str) -> Response {
    server.post(&format!("/v1/authorizations/{id}/accept"), Some(&grantee.token), json!({}))
}

/// Gives and accepts a grant; its id.
fn active(server: &Server, grantor: &Account, grantee: &Account, body: Value) -> String {
    let id = given(server, grantor, body);
    let response = accept(server, grantee, &id);
    assert_eq!(response.status, 200, "{}", response.body);
    id
}

/// The ids and owners of the services `account` lists.
fn listed(server: &Server, account: &Account) -> Vec<(String, String)> {
    let response = server.get("/v1/services?limit=100", Some(&account.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s["owner_id"].as_str().unwrap().to_owned()))
        .collect()
}

fn listed_ids(server: &Server, account: &Account) -> Vec<String> {
    listed(server, account).into_iter().map(|(id, _)| id).collect()
}

fn read_service(server: &Server, account: &Account, id: &str) -> u16 {
    server.get(&format!("/v1/services/{id}"), Some(&account.token)).status
}

fn events(server: &Server, action: &str, target: &str) -> i64 {
    server
        .count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}' AND target_id = '{target}'"))
}

both_backends!(a_grant_gives_nothing_until_accepted_then_the_grantee_sees_the_services_with_their_owner, |server| {
    let f = Fixture::build(&server);
    let response = give(&server, &f.grantor, json!({"grantee": "grantee", "permissions": ["view"]}));
    assert_eq!(response.status, 201, "{}", response.body);
    let id = response.str("id");
    assert_eq!(response.header("location"), Some(format!("/v1/authorizations/{id}").as_str()));
    assert!(response.header("etag").is_some());
    assert_eq!(response.body["status"], "pending");
    assert_eq!(response.body["grantor_id"], f.grantor.id.as_str());
    assert_eq!(response.body["grantee_id"], f.grantee.id.as_str());
    assert_eq!(response.body["permissions"], json!(["view"]));
    assert_eq!(response.body["service_ids"], Value::Null, "every service");

    // Pending: nothing reached yet, but the grantee sees the offer.
    assert_eq!(listed_ids(&server, &f.grantee), Vec::<String>::new());
    assert_eq!(read_service(&server, &f.grantee, &f.first), 404);
    let received = server.get("/v1/authorizations/received", Some(&f.grantee.token));
    assert_eq!(received.status, 200, "{}", received.body);
    assert_eq!(received.ids(), vec![id.clone()]);
    assert_eq!(server.get("/v1/authorizations", Some(&f.grantor.token)).ids(), vec![id.clone()]);

    let accepted = accept(&server, &f.grantee, &id);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "active");
    assert!(accepted.body["accepted_at"].is_string());

    // In force on the next request: both of the grantor's services, with their owner.
    let mut seen = listed(&server, &f.grantee);
    seen.sort();
    let mut expected = vec![(f.first.clone(), f.grantor.id.clone()), (f.second.clone(), f.grantor.id.clone())];
    expected.sort();
    assert_eq!(seen, expected);
    let service = server.get(&format!("/v1/services/{}", f.first), Some(&f.grantee.token));
    assert_eq!(service.status, 200, "{}", service.body);
    assert_eq!(service.body["owner_id"], f.grantor.id.as_str());
    assert_eq!(read_service(&server, &f.grantee, &f.bystanders), 404, "another account's service");
    // The filter by owner works on granted services too.
    let by_owner = server.get(&format!("/v1/services?owner_id={}", f.grantor.id), Some(&f.grantee.token));
    assert_eq!(by_owner.ids().len(), 2);

    let again = accept(&server, &f.grantee, &id);
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));
    assert_eq!(events(&server, "authorization.create", &id), 1);
    assert_eq!(events(&server, "authorization.accept", &id), 1);
});

both_backends!(view_reads_manage_acts_billing_quotes_and_each_change_counts_on_the_next_request, |server| {
    let f = Fixture::build(&server);
    let id = active(&server, &f.grantor, &f.grantee, json!({"grantee": "grantee", "permissions": ["view"]}));
    let path = format!("/v1/services/{}", f.first);
    let token = Some(f.grantee.token.as_str());

    assert_eq!(server.get(&format!("{path}/usage"), token).status, 200);
    // Inside the grant without `manage`: 403, before the body is looked at (422).
    for (method, suffix, body) in [
        ("PATCH", "", json!({"name": "renamed"})),
        ("PATCH", "", json!({"name": ""})),
        ("POST", "/cancel", json!({"type": "immediate", "reason": "no"})),
        ("POST", "/password", json!({"generate": true})),
        ("POST", "/change-plan", json!({"plan_id": f.plan_id, "quote_only": true})),
    ] {
        let response = server.send(method, &format!("{path}{suffix}"), token, Body::Json(body), &[]);
        assert_eq!((response.status, response.code()), (403, "insufficient_grant"), "{method} {suffix}");
    }
    // Outside the grant the same request is 404.
    let outside = server.patch(&format!("/v1/services/{}", f.bystanders), token, json!({"name": "x"}));
    assert_eq!((outside.status, outside.code()), (404, "not_found"));

    let changed = server.patch(
        &format!("/v1/authorizations/{id}"),
        Some(&f.grantor.token),
        json!({"permissions": ["view", "manage"]}),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["status"], "active", "a change keeps the grant in force");
    assert_eq!(events(&server, "authorization.update", &id), 1);

    let renamed = server.patch(&path, token, json!({"name": "renamed by grantee"}));
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "renamed by grantee");
    let bad = server.patch(&path, token, json!({"name": ""}));
    assert_eq!((bad.status, bad.pointers()), (422, vec!["/name".to_owned()]), "inside the grant, input is checked");
    let password = server.post(&format!("{path}/password"), token, json!({"generate": true}));
    assert_eq!(password.status, 200, "{}", password.body);
    let quote = server.post(&format!("{path}/change-plan"), token, json!({"plan_id": f.plan_id, "quote_only": true}));
    assert_eq!((quote.status, quote.code()), (403, "insufficient_grant"), "quotes need billing");

    let billing = server.patch(
        &format!("/v1/authorizations/{id}"),
        Some(&f.grantor.token),
        json!({"permissions": ["manage", "billing"]}),
    );
    assert_eq!(billing.status, 200, "{}", billing.body);
    let quote = server.post(&format!("{path}/change-plan"), token, json!({"plan_id": f.plan_id, "quote_only": true}));
    assert_eq!(quote.status, 200, "the owner's seller's public plans: {}", quote.body);
    assert_eq!(quote.body["applied"], false);
    // A customer never renews for free, grant or not.
    let renew = server.post(&format!("{path}/renew"), token, json!({}));
    assert_eq!((renew.status, renew.code()), (403, "forbidden"));
    let cancel = server.post(&format!("{path}/cancel"), token, json!({"type": "immediate", "reason": "moving"}));
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    assert_eq!(cancel.body["status"], "cancelled");
});

both_backends!(a_grant_limited_to_services_reaches_only_those_until_the_grantor_widens_it, |server| {
    let f = Fixture::build(&server);
    let id = active(
        &server,
        &f.grantor,
        &f.grantee,
        json!({"grantee": "grantee@example.test", "permissions": ["view"], "service_ids": [f.first]}),
    );
    let grant = server.get(&format!("/v1/authorizations/{id}"), Some(&f.grantee.token));
    assert_eq!(grant.body["service_ids"], json!([f.first]));
    assert_eq!(listed_ids(&server, &f.grantee), vec![f.first.clone()]);
    assert_eq!(read_service(&server, &f.grantee, &f.second), 404);

    let widened =
        server.patch(&format!("/v1/authorizations/{id}"), Some(&f.grantor.token), json!({"service_ids": null}));
    assert_eq!(widened.status, 200, "{}", widened.body);
    assert_eq!(widened.body["service_ids"], Value::Null);
    assert_eq!(read_service(&server, &f.grantee, &f.second), 200);

    let moved =
        server.patch(&format!("/v1/authorizations/{id}"), Some(&f.grantor.token), json!({"service_ids": [f.second]}));
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(read_service(&server, &f.grantee, &f.first), 404);
    assert_eq!(listed_ids(&server, &f.grantee), vec![f.second.clone()]);
});

both_backends!(withdrawing_declining_and_giving_back_end_a_grant_on_the_next_request, |server| {
    let f = Fixture::build(&server);
    let id = active(&server, &f.grantor, &f.grantee, json!({"grantee": "grantee", "permissions": ["view"]}));
    assert_eq!(read_service(&server, &f.grantee, &f.first), 200);
    let withdrawn = server.delete(&format!("/v1/authorizations/{id}"), Some(&f.grantor.token));
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.body);
    assert_eq!(read_service(&server, &f.grantee, &f.first), 404);
    assert!(listed_ids(&server, &f.grantee).is_empty());
    assert_eq!(server.get(&format!("/v1/authorizations/{id}"), Some(&f.grantee.token)).status, 404);
    assert_eq!(events(&server, "authorization.withdraw", &id), 1);

    let back = active(&server, &f.grantor, &f.grantee, json!({"grantee": "grantee", "permissions": ["manage"]}));
    assert_eq!(read_service(&server, &f.grantee, &f.second), 200);
    assert_eq!(server.delete(&format!("/v1/authorizations/{back}"), Some(&f.grantee.token)).status, 204);
    assert_eq!(read_service(&server, &f.grantee, &f.second), 404, "given back");
    assert!(server.get("/v1/authorizations", Some(&f.grantor.token)).ids().is_empty());

    let declined = given(&server, &f.grantor, json!({"grantee": "grantee", "permissions": ["view"]}));
    assert_eq!(server.delete(&format!("/v1/authorizations/{declined}"), Some(&f.grantee.token)).status, 204);
    assert_eq!(accept(&server, &f.grantee, &declined).status, 404);
    assert_eq!(events(&server, "authorization.decline", &back), 1);
    assert_eq!(events(&server, "authorization.decline", &declined), 1);
});

both_backends!(only_the_parties_see_a_grant_and_each_does_only_its_own_part, |server| {
    let f = Fixture::build(&server);
    let id = given(&server, &f.grantor, json!({"grantee": "grantee", "permissions": ["view"]}));
    let path = format!("/v1/authorizations/{id}");

    let by_grantee = server.patch(&path, Some(&f.grantee.token), json!({"permissions": ["manage"]}));
    assert_eq!((by_grantee.status, by_grantee.code()), (403, "forbidden"));
    assert!(server.get("/v1/authorizations", Some(&f.grantee.token)).ids().is_empty(), "given, not received");
    assert!(server.get("/v1/authorizations/received", Some(&f.grantor.token)).ids().is_empty());
    let by_grantor = accept(&server, &f.grantor, &id);
    assert_eq!((by_grantor.status, by_grantor.code()), (403, "forbidden"));

    // Anyone else, sellers above either party included: it does not exist.
    for outsider in [&f.bystander, &f.reseller_a, &f.reseller_b, &f.operator] {
        assert_eq!(server.get(&path, Some(&outsider.token)).status, 404, "{}", outsider.login);
        assert_eq!(server.patch(&path, Some(&outsider.token), json!({"permissions": ["view"]})).status, 404);
        assert_eq!(accept(&server, outsider, &id).status, 404);
        assert_eq!(server.delete(&path, Some(&outsider.token)).status, 404);
    }
    assert_eq!(server.get("/v1/authorizations/not-an-id", Some(&f.grantor.token)).status, 404);

    // ETag and If-Match like every resource.
    let read = server.get(&path, Some(&f.grantor.token));
    let tag = read.header("etag").unwrap().to_owned();
    let changed = server.send(
        "PATCH",
        &path,
        Some(&f.grantor.token),
        Body::Json(json!({"permissions": ["view", "billing"]})),
        &[("if-match", &tag)],
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    let stale = server.send(
        "PATCH",
        &path,
        Some(&f.grantor.token),
        Body::Json(json!({"permissions": ["view"]})),
        &[("if-match", &tag)],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let stale_accept =
        server.send("POST", &format!("{path}/accept"), Some(&f.grantee.token), Body::None, &[("if-match", &tag)]);
    assert_eq!(stale_accept.status, 412);
    assert_eq!(server.get(&path, Some(&f.grantor.token)).body["permissions"], json!(["view", "billing"]));
});

both_backends!(bad_grants_are_refused_in_the_contracts_order, |server| {
    let f = Fixture::build(&server);
    let refused = |body: Value| {
        let response = give(&server, &f.grantor, body);
        (response.status, response.code().to_owned(), response.pointers())
    };
    let p = |s: &str| vec![s.to_owned()];
    assert_eq!(
        refused(json!({"grantee": "nobody", "permissions": ["view"]})),
        (422, "grantee_not_found".into(), p("/grantee"))
    );
    assert_eq!(
        refused(json!({"grantee": "GRANTOR", "permissions": ["view"]})),
        (422, "validation_failed".into(), p("/grantee"))
    );
    assert_eq!(
        refused(json!({"grantee": "grantee", "permissions": []})),
        (422, "validation_failed".into(), p("/permissions"))
    );
    assert_eq!(
        refused(json!({"grantee": "grantee", "permissions": ["view", "view"]})),
        (422, "validation_failed".into(), p("/permissions/1"))
    );
    assert_eq!(
        refused(json!({"grantee": "grantee", "permissions": ["view", "admin"]})),
        (422, "validation_failed".into(), p("/permissions/1"))
    );
    assert_eq!(
        refused(json!({"grantee": "grantee", "permissions": ["view"], "status": "active"})),
        (422, "unknown_field".into(), p("/status"))
    );
    assert_eq!(
        refused(json!({"grantee": "grantee", "permissions": ["view"], "service_ids": []})),
        (422, "validation_failed".into(), p("/service_ids"))
    );
    assert_eq!(
        refused(json!({"grantee": "grantee", "permissions": ["view"], "service_ids": [f.first, f.first]})),
        (422, "validation_failed".into(), p("/service_ids/1"))
    );
    // Services the grantor does not own are out of reach: 404, before the grantee.
    for service in [f.bystanders.as_str(), "not-an-id", "0190a0a0-0000-7000-8000-000000000000"] {
        let response =
            give(&server, &f.grantor, json!({"grantee": "nobody", "permissions": ["view"], "service_ids": [service]}));
        assert_eq!((response.status, response.code()), (404, "not_found"), "{service}");
    }
    // A seller reaches its customers' services, but grants only its own.
    let response =
        give(&server, &f.reseller_a, json!({"grantee": "grantee", "permissions": ["view"], "service_ids": [f.first]}));
    assert_eq!(response.status, 404);

    let id = given(&server, &f.grantor, json!({"grantee": "grantee", "permissions": ["view"]}));
    let cleared =
        server.patch(&format!("/v1/authorizations/{id}"), Some(&f.grantor.token), json!({"permissions": null}));
    assert_eq!((cleared.status, cleared.pointers()), (422, p("/permissions")));
    let foreign = server.patch(
        &format!("/v1/authorizations/{id}"),
        Some(&f.grantor.token),
        json!({"service_ids": [f.bystanders]}),
    );
    assert_eq!(foreign.status, 404);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM authorizations"), 1, "nothing refused was stored");

    // A retry with the same Idempotency-Key gets the stored answer, once.
    let body = json!({"grantee": "grantee", "permissions": ["billing"]});
    let headers = [("idempotency-key", "grant-1")];
    let first = server.send("POST", "/v1/authorizations", Some(&f.grantor.token), Body::Json(body.clone()), &headers);
    let second = server.send("POST", "/v1/authorizations", Some(&f.grantor.token), Body::Json(body), &headers);
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.body["id"], second.body["id"]);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM authorizations"), 2);
});

both_backends!(a_resellers_grant_covers_its_own_services_never_its_customers, |server| {
    let f = Fixture::build(&server);
    let response = server.post("/v1/plans", Some(&f.operator.token), web_plan());
    let provider_plan = response.str("id");
    let own = sell(&server, &f.operator, &f.reseller_a, &provider_plan, "reseller's own");
    active(&server, &f.reseller_a, &f.grantee, json!({"grantee": "grantee", "permissions": ["manage"]}));
    assert_eq!(listed_ids(&server, &f.grantee), vec![own.clone()]);
    for customers in [&f.first, &f.second, &f.bystanders] {
        assert_eq!(read_service(&server, &f.grantee, customers), 404);
    }
});

both_backends!(a_reseller_grantee_never_acts_as_the_owners_seller_through_a_grant, |server| {
    let f = Fixture::build(&server);
    // Reseller B receives every permission on a service of reseller A's customer.
    active(
        &server,
        &f.grantor,
        &f.reseller_b,
        json!({"grantee": "reseller-b", "permissions": ["view", "manage", "billing", "support"]}),
    );
    let path = format!("/v1/services/{}", f.first);
    let token = Some(f.reseller_b.token.as_str());
    assert_eq!(server.get(&path, token).status, 200);
    for verb in ["suspend", "terminate"] {
        let response = server.post(&format!("{path}/{verb}"), token, json!({"reason": "mine now"}));
        assert_eq!((response.status, response.code()), (403, "insufficient_grant"), "{verb}");
    }
    let unsuspend = server.post(&format!("{path}/unsuspend"), token, json!({}));
    assert_eq!((unsuspend.status, unsuspend.code()), (403, "insufficient_grant"));
    // Billing, but renewing and plan changes are free until billing exists: sellers only.
    let renew = server.post(&format!("{path}/renew"), token, json!({}));
    assert_eq!((renew.status, renew.code()), (403, "forbidden"));
    let apply = server.post(&format!("{path}/change-plan"), token, json!({"plan_id": f.plan_id}));
    assert_eq!((apply.status, apply.code()), (403, "forbidden"));
    let patch = server.patch(&path, token, json!({"auto_renew": false}));
    assert_eq!(patch.status, 200, "{}", patch.body);

    // Bulk items follow the same rules, item by item.
    let bulk = server.post(
        "/v1/services/bulk",
        token,
        json!({"action": "suspend", "service_ids": [f.first, f.bystanders], "params": {"reason": "x"}}),
    );
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.body["results"][0]["error"]["code"], "insufficient_grant");
    assert_eq!(bulk.body["results"][1]["error"]["code"], "not_found");
    let auto = server.post(
        "/v1/services/bulk",
        token,
        json!({"action": "set_auto_renew", "service_ids": [f.first], "params": {"auto_renew": true}}),
    );
    assert_eq!(auto.body["results"][0]["ok"], true, "{}", auto.body);
    assert_eq!(server.get(&path, Some(&f.grantor.token)).body["status"], "active");
});

both_backends!(an_impersonation_token_sees_no_received_grants_and_gives_none, |server| {
    let f = Fixture::build(&server);
    let id = active(&server, &f.grantor, &f.grantee, json!({"grantee": "grantee", "permissions": ["view"]}));
    let response =
        server.post(&format!("/v1/customers/{}/impersonate", f.grantee.id), Some(&f.reseller_b.token), json!({}));
    assert_eq!(response.status, 201, "{}", response.body);
    let token = response.str("access_token");
    assert!(server.get("/v1/services", Some(&token)).ids().is_empty());
    assert_eq!(server.get(&format!("/v1/services/{}", f.first), Some(&token)).status, 404);
    let bulk = server.post(
        "/v1/services/bulk",
        Some(&token),
        json!({"action": "set_auto_renew", "service_ids": [f.first], "params": {"auto_renew": false}}),
    );
    assert_eq!(bulk.body["results"][0]["error"]["code"], "not_found", "{}", bulk.body);
    // It may read the grants, but not give or answer them.
    assert_eq!(server.get("/v1/authorizations/received", Some(&token)).ids(), vec![id.clone()]);
    let give =
        server.post("/v1/authorizations", Some(&token), json!({"grantee": "bystander", "permissions": ["view"]}));
    assert_eq!((give.status, give.code()), (403, "impersonation_forbidden"));
    let back = server.delete(&format!("/v1/authorizations/{id}"), Some(&token));
    assert_eq!((back.status, back.code()), (403, "impersonation_forbidden"));
    // The grantee's own session still sees them.
    assert_eq!(read_service(&server, &f.grantee, &f.first), 200);
});

both_backends!(parallel_accepts_make_one_grant_active_once, |server| {
    let f = Fixture::build(&server);
    let id = given(&server, &f.grantor, json!({"grantee": "grantee", "permissions": ["view"]}));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| accept(&server, &f.grantee, &id).status)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    assert_eq!(events(&server, "authorization.accept", &id), 1);
});

both_backends!(a_grantee_is_held_to_the_owners_restrictions_and_suspension, |server| {
    let f = Fixture::build(&server);
    active(&server, &f.grantor, &f.grantee, json!({"grantee": "grantee", "permissions": ["manage"]}));
    let response =
        server.post("/v1/domains", Some(&f.grantor.token), json!({"name": "grantor.test", "service_id": f.first}));
    assert_eq!(response.status, 201, "{}", response.body);
    let record = json!({"type": "A", "name": "www", "content": "192.0.2.1"});
    let records = "/v1/domains/grantor.test/dns/records";
    assert_eq!(server.post(records, Some(&f.grantee.token), record.clone()).status, 201, "manage writes DNS");

    // The grantor's seller switches DNS changes off for it: its grantee is held to that too.
    let restrictions = format!("/v1/customers/{}/restrictions", f.grantor.id);
    let response = server.put(&restrictions, Some(&f.reseller_a.token), json!({"disabled_actions": ["dns.write"]}));
    assert_eq!(response.status, 200, "{}", response.body);
    let response =
        server.post(records, Some(&f.grantee.token), json!({"type": "A", "name": "mail", "content": "192.0.2.2"}));
    assert_eq!(response.status, 403, "{}", response.body);
    assert_eq!(response.code(), "action_restricted");
    assert_eq!(server.get(records, Some(&f.grantee.token)).status, 200, "reading stays allowed");
    let response = server.put(&restrictions, Some(&f.reseller_a.token), json!({"disabled_actions": []}));
    assert_eq!(response.status, 200, "{}", response.body);

    // The grantor is suspended: its services are read-only, also for its grantee.
    let rename =
        |token: &str| server.patch(&format!("/v1/services/{}", f.first), Some(token), json!({"name": "renamed"}));
    assert_eq!(rename(&f.grantee.token).status, 200);
    let response = server.post(
        &format!("/v1/customers/{}/suspend", f.grantor.id),
        Some(&f.reseller_a.token),
        json!({"reason": "unpaid"}),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let response = rename(&f.grantee.token);
    assert_eq!(response.status, 403, "{}", response.body);
    assert_eq!(response.code(), "account_suspended");
    let response =
        server.post(records, Some(&f.grantee.token), json!({"type": "A", "name": "ftp", "content": "192.0.2.3"}));
    assert_eq!(response.code(), "account_suspended");
    assert_eq!(server.get(&format!("/v1/services/{}", f.first), Some(&f.grantee.token)).status, 200);
    // The grantor's seller still acts: it is not acting as the grantor.
    assert_eq!(rename(&f.reseller_a.token).status, 200);

    let response =
        server.post(&format!("/v1/customers/{}/unsuspend", f.grantor.id), Some(&f.reseller_a.token), json!({}));
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(rename(&f.grantee.token).status, 200, "lifted on the next request");
});
