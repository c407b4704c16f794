//! Customers: creation, uniqueness, validation, lists with filters and cursors, reads,
//! merge-patch changes with ETags, and the race for one login.

use crate::support::*;

fn new_customer(login: &str) -> Value {
    json!({"login": login, "password": PASSWORD, "name": format!("Name of {login}"), "email": format!("{login}@example.test")})
}

both_backends!(a_reseller_creates_reads_and_changes_a_customer, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let created = server.post(
        "/v1/customers",
        Some(&reseller.token),
        json!({"login": "Shop-1", "password": PASSWORD, "name": "Shop One", "email": "Owner@Shop.test",
               "profile": {"company": "Shop BV", "country": "NL", "phone": "+31201234567"}, "send_welcome_email": true}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.str("id");
    assert_eq!(created.header("location"), Some(format!("/v1/customers/{id}").as_str()));
    assert_eq!(created.body["login"], "shop-1", "logins are folded to lowercase");
    assert_eq!(created.body["kind"], "customer");
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["parent_id"], reseller.id.as_str());
    assert_eq!(created.body["email_verified"], false);
    assert_eq!(created.body["profile"]["country"], "NL");

    let read = server.get(&format!("/v1/customers/{id}"), Some(&reseller.token));
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created.body);
    let etag = read.header("etag").unwrap().to_owned();

    let changed = server.send(
        "PATCH",
        &format!("/v1/customers/{id}"),
        Some(&reseller.token),
        Body::Json(json!({"name": "Shop Uno", "profile": {"phone": null, "city": "Utrecht"}})),
        &[("content-type", "application/merge-patch+json"), ("if-match", &etag)],
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["name"], "Shop Uno");
    assert_eq!(
        changed.body["profile"],
        json!({"company": "Shop BV", "country": "NL", "city": "Utrecht"}),
        "merged, phone removed"
    );
    assert_ne!(changed.header("etag"), Some(etag.as_str()));

    let stale = server.send(
        "PATCH",
        &format!("/v1/customers/{id}"),
        Some(&reseller.token),
        Body::Json(json!({"name": "Too late"})),
        &[("if-match", &etag)],
    );
    assert_eq!(stale.status, 412);
    assert_eq!(stale.code(), "precondition_failed");
    assert_eq!(
        server.get(&format!("/v1/customers/{id}"), Some(&reseller.token)).body["name"],
        "Shop Uno",
        "nothing changed"
    );

    let customer = server.login("shop-1", PASSWORD);
    assert_eq!(server.get("/v1/me", Some(&customer.token)).body["name"], "Shop Uno");
});

both_backends!(logins_and_email_addresses_are_unique_case_insensitively, |server| {
    let operator = server.operator("operator");
    assert_eq!(server.post("/v1/customers", Some(&operator.token), new_customer("alice")).status, 201);
    let same_login = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "ALICE", "password": PASSWORD, "name": "A", "email": "other@example.test"}),
    );
    assert_eq!(same_login.status, 409);
    assert_eq!(same_login.code(), "login_taken");
    let same_email = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "alice2", "password": PASSWORD, "name": "A", "email": "ALICE@Example.Test"}),
    );
    assert_eq!(same_email.status, 409);
    assert_eq!(same_email.code(), "email_taken");
    let operator_email = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "bob", "password": PASSWORD, "name": "B", "email": "operator@operators.test"}),
    );
    assert_eq!(operator_email.code(), "email_taken");
});

both_backends!(invalid_customers_are_refused_field_by_field, |server| {
    let operator = server.operator("operator");
    let invalid = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "-x", "password": "short", "name": "", "email": "not-an-address", "profile": {"country": "Netherlands"}}),
    );
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.code(), "validation_failed");
    assert_eq!(invalid.pointers(), vec!["/login", "/password", "/name", "/email", "/profile/country"]);
    let missing = server.post("/v1/customers", Some(&operator.token), json!({"login": "carol"}));
    assert_eq!(missing.status, 422);
    assert_eq!(missing.pointers(), vec!["/password"], "the first missing field");
    let long_password = "x".repeat(129);
    let too_long = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "carol", "password": long_password, "name": "C", "email": "c@example.test"}),
    );
    assert_eq!(too_long.body["errors"][0]["code"], "password_too_long");
    let bad_kind = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "carol", "password": PASSWORD, "name": "C", "email": "c@example.test", "kind": "operator"}),
    );
    assert_eq!(bad_kind.status, 422, "operators are never created through the API");
    assert_eq!(bad_kind.pointers(), vec!["/kind"]);
});

both_backends!(fields_the_caller_may_not_set_are_refused_and_change_nothing, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    for (field, value) in [
        ("kind", json!("reseller")),
        ("parent_id", json!(operator.id)),
        ("status", json!("blocked")),
        ("email_verified", json!(true)),
        ("balance", json!(100)),
    ] {
        let through_me = server.patch("/v1/me", Some(&customer.token), json!({ field: value }));
        assert_eq!(through_me.status, 422, "{field}");
        assert_eq!(through_me.code(), "unknown_field");
        assert_eq!(through_me.pointers(), vec![format!("/{field}")]);
        let through_reseller =
            server.patch(&format!("/v1/customers/{}", customer.id), Some(&reseller.token), json!({ field: value }));
        assert_eq!(through_reseller.code(), "unknown_field", "{field}");
    }
    let in_profile = server.patch("/v1/me", Some(&customer.token), json!({"profile": {"balance": 5}}));
    assert_eq!(in_profile.code(), "unknown_field");
    assert_eq!(in_profile.pointers(), vec!["/profile/balance"]);
    let me = server.get("/v1/me", Some(&customer.token));
    assert_eq!((me.body["kind"].clone(), me.body["status"].clone()), (json!("customer"), json!("active")));
    assert_eq!(me.body["parent_id"], reseller.id.as_str());
});

both_backends!(lists_filter_search_and_page_through_the_subtree, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    for login in ["anna", "anders", "bert", "berta", "carl"] {
        assert_eq!(server.post("/v1/customers", Some(&reseller.token), new_customer(login)).status, 201);
    }
    let sub = server.create(&reseller, "sub", "reseller");
    assert_eq!(server.post("/v1/customers", Some(&sub.token), new_customer("deep")).status, 201);

    let logins = |response: &Response| -> Vec<String> {
        response.body["data"].as_array().unwrap().iter().map(|c| c["login"].as_str().unwrap().to_owned()).collect()
    };
    let all = server.get("/v1/customers?limit=100", Some(&reseller.token));
    assert_eq!(
        logins(&all),
        vec!["deep", "sub", "carl", "berta", "bert", "anders", "anna"],
        "newest first, the subtree included"
    );
    assert_eq!(logins(&server.get("/v1/customers?q=BER", Some(&reseller.token))), vec!["berta", "bert"]);
    assert_eq!(
        logins(&server.get("/v1/customers?q=name%20of%20an", Some(&reseller.token))),
        vec!["anders", "anna"],
        "by name"
    );
    assert_eq!(logins(&server.get("/v1/customers?q=carl%40", Some(&reseller.token))), vec!["carl"], "by email");
    assert_eq!(
        logins(&server.get("/v1/customers?q=%25", Some(&reseller.token))),
        Vec::<String>::new(),
        "wildcards match themselves"
    );
    assert_eq!(logins(&server.get("/v1/customers?kind=reseller", Some(&reseller.token))), vec!["sub"]);
    assert_eq!(
        logins(&server.get(&format!("/v1/customers?parent_id={}", sub.id), Some(&reseller.token))),
        vec!["deep"]
    );
    assert_eq!(logins(&server.get("/v1/customers?status=blocked", Some(&reseller.token))).len(), 0);
    assert_eq!(server.get("/v1/customers?status=gone", Some(&reseller.token)).status, 422);

    let mut seen = Vec::new();
    let mut path = "/v1/customers?limit=3".to_owned();
    loop {
        let page = server.get(&path, Some(&reseller.token));
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(logins(&page));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/customers?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, logins(&all), "the pages add up to the list");
    let first = server.get("/v1/customers?limit=1&kind=customer", Some(&reseller.token));
    let cursor = first.str("next_cursor");
    let mismatched = server.get(&format!("/v1/customers?limit=1&cursor={cursor}"), Some(&reseller.token));
    assert_eq!(mismatched.code(), "invalid_cursor");
});

both_backends!(an_email_change_waits_for_verification, |server| {
    let operator = server.operator("operator");
    let customer = server.create(&operator, "customer", "customer");
    server.create(&operator, "other", "customer");
    let no_password = server.patch("/v1/me", Some(&customer.token), json!({"email": "new@example.test"}));
    assert_eq!(no_password.status, 422);
    assert_eq!(no_password.pointers(), vec!["/current_password"]);
    let wrong = server.patch(
        "/v1/me",
        Some(&customer.token),
        json!({"email": "new@example.test", "current_password": "not it at all"}),
    );
    assert_eq!(wrong.code(), "invalid_credentials");
    let taken = server.patch(
        "/v1/me",
        Some(&customer.token),
        json!({"email": "OTHER@example.test", "current_password": PASSWORD}),
    );
    assert_eq!(taken.status, 409);
    assert_eq!(taken.code(), "email_taken");
    let pending = server.patch(
        "/v1/me",
        Some(&customer.token),
        json!({"email": "new@example.test", "current_password": PASSWORD}),
    );
    assert_eq!(pending.status, 200, "{}", pending.body);
    assert_eq!(pending.body["email"], "customer@example.test", "the old address stays in use");
    assert_eq!(pending.body["pending_email"], "new@example.test");
    let by_reseller = server.patch(
        &format!("/v1/customers/{}", customer.id),
        Some(&operator.token),
        json!({"email": "third@example.test"}),
    );
    assert_eq!(by_reseller.status, 200);
    assert_eq!(by_reseller.body["pending_email"], "third@example.test");
});

both_backends!(customers_have_nobody_below_them, |server| {
    let operator = server.operator("operator");
    let customer = server.create(&operator, "customer", "customer");
    for (method, path) in [
        ("GET", "/v1/customers".to_owned()),
        ("POST", "/v1/customers".to_owned()),
        ("GET", format!("/v1/customers/{}", customer.id)),
        ("PATCH", format!("/v1/customers/{}", customer.id)),
    ] {
        let response = server.send(method, &path, Some(&customer.token), Body::Json(new_customer("nested")), &[]);
        assert_eq!(response.status, 403, "{method} {path}");
        assert_eq!(response.code(), "forbidden");
    }
});

both_backends!(parallel_creations_of_one_login_create_one_account, |server| {
    let operator = server.operator("operator");
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let server = &server;
                let token = operator.token.clone();
                scope.spawn(move || {
                    let body = json!({"login": "contested", "password": PASSWORD, "name": "C", "email": format!("contested{i}@example.test")});
                    let response = server.post("/v1/customers", Some(&token), body);
                    let code = if response.status == 201 { String::new() } else { response.code().to_owned() };
                    (response.status, code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|(s, _)| *s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|(s, code)| *s == 201 || (*s == 409 && code == "login_taken")), "{statuses:?}");
    let list = server.get("/v1/customers?q=contested", Some(&operator.token));
    assert_eq!(list.ids().len(), 1);
});
