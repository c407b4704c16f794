//! Restrictions: actions a seller disables for an account and everything below it,
//! enforced by the one policy from the next request on.

use crate::support::*;

fn restrict(server: &Server, by: &Account, account: &Account, actions: &[&str]) -> Response {
    server.put(
        &format!("/v1/customers/{}/restrictions", account.id),
        Some(&by.token),
        json!({"disabled_actions": actions}),
    )
}

fn cancel(server: &Server, by: &Account, service: &str) -> Response {
    server.post(
        &format!("/v1/services/{service}/cancel"),
        Some(&by.token),
        json!({"type": "end_of_period", "reason": "moving"}),
    )
}

both_backends!(a_restriction_on_a_reseller_stops_its_customers_on_the_next_request, |server| {
    let tree = Tree::build(&server);
    let plan_a = server.web_plan(&tree.reseller_a, "A web");
    let plan_sub = server.web_plan(&tree.sub_reseller, "Sub web");
    let plan_b = server.web_plan(&tree.reseller_b, "B web");
    let a1 = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);
    let a2 = server.sell(&tree.reseller_a, &tree.customer_a2, &plan_a);
    let deep = server.sell(&tree.sub_reseller, &tree.sub_customer, &plan_sub);
    let b1 = server.sell(&tree.reseller_b, &tree.customer_b1, &plan_b);

    let set = restrict(&server, &tree.operator, &tree.reseller_a, &["service.cancel", "customer.write"]);
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["disabled_actions"], json!(["customer.write", "service.cancel"]));
    assert_eq!(set.body["inherited"], json!([]));
    assert!(set.header("etag").is_some());

    for (who, service) in [(&tree.customer_a1, &a1), (&tree.sub_customer, &deep)] {
        let refused = cancel(&server, who, service);
        assert_eq!((refused.status, refused.code()), (403, "action_restricted"), "{}", who.login);
    }
    assert_eq!(cancel(&server, &tree.customer_b1, &b1).status, 200, "another tenant is not restricted");

    // The reseller itself is bound too, with its session and with an API key.
    let refused = server.post(
        "/v1/customers",
        Some(&tree.reseller_a.token),
        json!({"login": "new-one", "password": PASSWORD, "name": "New", "email": "new-one@example.test"}),
    );
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"));
    let key = server.post(
        "/v1/me/api-keys",
        Some(&tree.sub_reseller.token),
        json!({"name": "ci", "scopes": ["customers:write"]}),
    );
    let key = key.str("key");
    let refused = server.put(
        &format!("/v1/customers/{}/restrictions", tree.sub_customer.id),
        Some(&key),
        json!({"disabled_actions": []}),
    );
    assert_eq!(
        (refused.status, refused.code()),
        (403, "action_restricted"),
        "setting restrictions is a customer write"
    );

    // What an account below sees: its own list and what it inherits.
    let read = server.get(&format!("/v1/customers/{}/restrictions", tree.customer_a1.id), Some(&tree.operator.token));
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body, json!({"disabled_actions": [], "inherited": ["customer.write", "service.cancel"]}));
    let read =
        server.get(&format!("/v1/customers/{}/restrictions", tree.sub_customer.id), Some(&tree.sub_reseller.token));
    assert_eq!(read.body["inherited"], json!(["customer.write", "service.cancel"]));

    // Lifted: allowed again on the next request.
    let lifted = restrict(&server, &tree.operator, &tree.reseller_a, &[]);
    assert_eq!((lifted.status, lifted.body["disabled_actions"].clone()), (200, json!([])));
    assert_eq!(cancel(&server, &tree.customer_a1, &a1).status, 200);
    assert_eq!(cancel(&server, &tree.customer_a2, &a2).status, 200);

    // A reseller restricts one customer: only that one.
    let set = restrict(&server, &tree.reseller_a, &tree.sub_reseller, &["service.cancel"]);
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(cancel(&server, &tree.sub_customer, &deep).code(), "action_restricted");

    let events = server.get(
        &format!("/v1/audit-events?target_id={}&action=customer.set_restrictions", tree.reseller_a.id),
        Some(&tree.operator.token),
    );
    let details: Vec<Value> = events.body["data"].as_array().unwrap().iter().map(|e| e["details"].clone()).collect();
    assert_eq!(details.len(), 2);
    assert_eq!(details[0], json!({"from": ["customer.write", "service.cancel"], "to": []}));
});

both_backends!(restrictions_are_for_accounts_above_with_known_names_and_fresh_etags, |server| {
    let tree = Tree::build(&server);
    let path = |account: &Account| format!("/v1/customers/{}/restrictions", account.id);

    for (method, body) in [("GET", Body::None), ("PUT", Body::Json(json!({"disabled_actions": []})))] {
        let refused = server.send(method, &path(&tree.customer_a2), Some(&tree.customer_a1.token), body, &[]);
        assert_eq!((refused.status, refused.code()), (403, "forbidden"), "customer {method}");
    }
    for (by, target) in [
        (&tree.reseller_a, &tree.customer_b1),
        (&tree.reseller_a, &tree.reseller_a),
        (&tree.sub_reseller, &tree.reseller_a),
    ] {
        assert_eq!(server.get(&path(target), Some(&by.token)).status, 404, "{} reads {}", by.login, target.login);
        let refused = restrict(&server, by, target, &[]);
        assert_eq!((refused.status, refused.code()), (404, "not_found"), "{} sets {}", by.login, target.login);
    }

    let refused =
        restrict(&server, &tree.reseller_a, &tree.customer_a1, &["dns.write", "launch.missiles", "mail.write", "x"]);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.pointers(), vec!["/disabled_actions/1", "/disabled_actions/3"]);
    let refused = server.put(
        &path(&tree.customer_a1),
        Some(&tree.reseller_a.token),
        json!({"disabled_actions": [], "all": true}),
    );
    assert_eq!((refused.code(), refused.pointers()), ("unknown_field", vec!["/all".to_owned()]));
    let refused = server.put(&path(&tree.customer_a1), Some(&tree.reseller_a.token), json!({}));
    assert_eq!(refused.status, 422);
    let read = server.get(&path(&tree.customer_a1), Some(&tree.reseller_a.token));
    assert_eq!(read.body["disabled_actions"], json!([]), "nothing changed");

    // If-Match: the list's own version.
    let etag = read.header("etag").unwrap().to_owned();
    assert_eq!(restrict(&server, &tree.reseller_a, &tree.customer_a1, &["dns.write"]).status, 200);
    let stale = server.send(
        "PUT",
        &path(&tree.customer_a1),
        Some(&tree.reseller_a.token),
        Body::Json(json!({"disabled_actions": ["mail.write"]})),
        &[("if-match", &etag)],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let read = server.get(&path(&tree.customer_a1), Some(&tree.reseller_a.token));
    assert_eq!(read.body["disabled_actions"], json!(["dns.write"]));
    let fresh = read.header("etag").unwrap().to_owned();
    let set = server.send(
        "PUT",
        &path(&tree.customer_a1),
        Some(&tree.reseller_a.token),
        Body::Json(json!({"disabled_actions": ["mail.write", "mail.write"]})),
        &[("if-match", &fresh)],
    );
    assert_eq!((set.status, set.body["disabled_actions"].clone()), (200, json!(["mail.write"])));
    assert_ne!(set.header("etag"), Some(fresh.as_str()));

    // The OpenAPI document names every action that can be disabled.
    let document = server.get("/v1/openapi.json", None);
    let names = document.body["components"]["schemas"]["RestrictableAction"].to_string();
    for name in ["customer.write", "service.cancel", "dns.write", "domain.nameservers", "mail.write"] {
        assert!(names.contains(name), "{name} in {names}");
    }
});

both_backends!(a_seller_in_between_cannot_lift_what_was_set_above_it, |server| {
    let tree = Tree::build(&server);
    let path = format!("/v1/customers/{}/restrictions", tree.sub_customer.id);
    let plan = server.web_plan(&tree.sub_reseller, "Sub web");
    let service = server.sell(&tree.sub_reseller, &tree.sub_customer, &plan);

    let set = restrict(&server, &tree.operator, &tree.sub_customer, &["service.cancel"]);
    assert_eq!(set.status, 200, "{}", set.body);
    let sub_etag = server.get(&path, Some(&tree.sub_reseller.token)).header("etag").unwrap().to_owned();

    // The sub-reseller (and the reseller above it) replace only their own lists.
    for seller in [&tree.sub_reseller, &tree.reseller_a] {
        let own = restrict(&server, seller, &tree.sub_customer, &[]);
        assert_eq!(own.status, 200, "{}", own.body);
        assert_eq!(own.body, json!({"disabled_actions": [], "inherited": ["service.cancel"]}), "{}", seller.login);
    }
    let refused = cancel(&server, &tree.sub_customer, &service);
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"), "{}", refused.body);
    let read = server.get(&path, Some(&tree.sub_reseller.token));
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body, json!({"disabled_actions": [], "inherited": ["service.cancel"]}));

    // Each list has its own version: the operator's change does not make the
    // sub-reseller's ETag stale, its own change does.
    let sub_etag_after = read.header("etag").unwrap().to_owned();
    assert_ne!(sub_etag_after, sub_etag, "the sub-reseller's PUT moved its own version");
    assert_eq!(restrict(&server, &tree.operator, &tree.sub_customer, &["service.cancel", "mail.write"]).status, 200);
    let stale = server.send(
        "PUT",
        &path,
        Some(&tree.sub_reseller.token),
        Body::Json(json!({"disabled_actions": ["dns.write"]})),
        &[("if-match", &sub_etag)],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let fresh = server.send(
        "PUT",
        &path,
        Some(&tree.sub_reseller.token),
        Body::Json(json!({"disabled_actions": ["dns.write"]})),
        &[("if-match", &sub_etag_after)],
    );
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(fresh.body, json!({"disabled_actions": ["dns.write"], "inherited": ["service.cancel", "mail.write"]}));

    // Each seller sees its own list, and the others' as inherited.
    let operator_view = server.get(&path, Some(&tree.operator.token));
    assert_eq!(
        operator_view.body,
        json!({"disabled_actions": ["service.cancel", "mail.write"], "inherited": ["dns.write"]})
    );

    // The operator lifts its list: the customer may cancel again; the sub-reseller's stays.
    assert_eq!(restrict(&server, &tree.operator, &tree.sub_customer, &[]).status, 200);
    let read = server.get(&path, Some(&tree.reseller_a.token));
    assert_eq!(read.body, json!({"disabled_actions": [], "inherited": ["dns.write"]}));
    assert_eq!(cancel(&server, &tree.sub_customer, &service).status, 200);

    let events = server.get(
        &format!("/v1/audit-events?target_id={}&action=customer.set_restrictions", tree.sub_customer.id),
        Some(&tree.operator.token),
    );
    let actors: Vec<&str> =
        events.body["data"].as_array().unwrap().iter().map(|e| e["actor_id"].as_str().unwrap()).collect();
    assert_eq!(actors.len(), 6, "{actors:?}");
    assert_eq!(actors[1], tree.sub_reseller.id, "newest first: the sub-reseller's last change");
});
