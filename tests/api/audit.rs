//! The audit log (QUALITY.md 29, API.md "Audit log"): every change is read back with its
//! actor, key, address, request id, action and target; filters and pages work; each
//! caller sees its own part of the tree; nothing changes the log, through the API or
//! directly in the database.

// Helpers outside `#[test]` functions may fail loudly too (clippy's test exemption
// does not reach them).

use std::collections::BTreeSet;

use diesel::{QueryDsl, RunQueryDsl};
use hostadmin_persistence::schema::audit_events;

use crate::support::*;

const NEW_PASSWORD: &str = "a different horse, still stapled";

/// The `X-Request-Id` of an answer.
fn request_id(response: &Response) -> String {
    response.header("x-request-id").expect("x-request-id header").to_owned()
}

/// Every event the caller sees with `filters`, newest first, page after page.
fn events(server: &Server, token: &str, filters: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = format!("/v1/audit-events?limit=100&{filters}");
    loop {
        let page = server.get(&path, Some(token));
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        all.extend(page.body["data"].as_array().expect("data").iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/audit-events?limit=100&{filters}&cursor={cursor}"),
            None => return all,
        }
    }
}

/// The one event the operator sees with `filters`.
fn the_event(server: &Server, operator: &str, filters: &str) -> Value {
    let found = events(server, operator, filters);
    assert_eq!(found.len(), 1, "one event for {filters}: {found:#?}");
    found.into_iter().next().expect("one event")
}

fn field<'a>(event: &'a Value, name: &str) -> &'a str {
    event[name].as_str().unwrap_or_default()
}

/// The `sid` claim of an access token (its payload is base64url JSON).
fn session_of(access_token: &str) -> String {
    let payload = access_token.split('.').nth(1).expect("a JWT payload");
    let mut bytes = Vec::new();
    let (mut bits, mut count) = (0u32, 0u32);
    for c in payload.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => continue,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push(u8::try_from((bits >> count) & 0xff).expect("a byte"));
        }
    }
    let claims: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["sid"].as_str().expect("sid claim").to_owned()
}

fn count_rows(server: &Server) -> i64 {
    let mut conn = server.database.connect();
    audit_events::table.count().get_result(&mut conn).expect("count audit events")
}

/// One audited change: its answer and what the log must say of it.
struct Change<'a> {
    action: &'a str,
    answer: &'a Response,
    api_key: Option<&'a str>,
    target_type: &'a str,
    target_id: &'a str,
}

both_backends!(each_change_is_read_back, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");

    // session.login, with the session id the access token carries.
    let login = server.post("/v1/auth/login", None, json!({"login": "reseller", "password": PASSWORD}));
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.str("access_token");
    let session = session_of(&token);

    let created = server.post(
        "/v1/customers",
        Some(&token),
        json!({"login": "customer", "password": PASSWORD, "name": "Customer", "email": "customer@example.test"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let customer = created.str("id");

    // An incoming request id is kept, in the answer and in the log.
    let updated = server.send(
        "PATCH",
        &format!("/v1/customers/{customer}"),
        Some(&token),
        Body::Json(json!({"name": "Renamed"})),
        &[("x-request-id", "audit-test:patch-1")],
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(request_id(&updated), "audit-test:patch-1");

    let key = server.post("/v1/me/api-keys", Some(&token), json!({"name": "ci", "scopes": ["customers:write"]}));
    assert_eq!(key.status, 201, "{}", key.body);
    let key_id = key.str("id");

    // A change made with the key names the key and its owner.
    let by_key = server.post(
        "/v1/customers",
        Some(&key.str("key")),
        json!({"login": "by-key", "password": PASSWORD, "name": "By key", "email": "by-key@example.test"}),
    );
    assert_eq!(by_key.status, 201, "{}", by_key.body);
    let by_key_customer = by_key.str("id");

    let revoked = server.delete(&format!("/v1/me/api-keys/{key_id}"), Some(&token));
    assert_eq!(revoked.status, 204, "{}", revoked.body);

    let logout = server.post("/v1/auth/logout", Some(&token), json!({}));
    assert_eq!(logout.status, 204, "{}", logout.body);

    // account.password_change ends every token, the caller's included.
    let fresh = server.login("reseller", PASSWORD);
    let changed = server.put(
        "/v1/me/password",
        Some(&fresh.token),
        json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    );
    assert_eq!(changed.status, 204, "{}", changed.body);
    assert_eq!(server.get("/v1/me", Some(&fresh.token)).status, 401, "the token ended with the password change");
    let relogin = server.login("reseller", NEW_PASSWORD);

    // Each change's answer and what the log must say of it; the actor is the reseller.
    let change =
        |action, answer, target_type, target_id| Change { action, answer, api_key: None, target_type, target_id };
    let changes = [
        change("session.login", &login, "session", &session),
        change("customer.create", &created, "account", &customer),
        change("customer.update", &updated, "account", &customer),
        change("api_key.create", &key, "api_key", &key_id),
        Change { api_key: Some(&key_id), ..change("customer.create", &by_key, "account", &by_key_customer) },
        change("api_key.revoke", &revoked, "api_key", &key_id),
        change("session.logout", &logout, "session", &session),
        change("account.password_change", &changed, "account", &reseller.id),
    ];
    for Change { action, answer, api_key, target_type, target_id } in &changes {
        let event = the_event(&server, &operator.token, &format!("action={action}&target_id={target_id}"));
        let what = format!("{action} on {target_id}: {event:#}");
        assert_eq!(field(&event, "action"), *action, "{what}");
        assert_eq!(field(&event, "actor_id"), reseller.id, "{what}");
        assert_eq!(event["api_key_id"].as_str(), *api_key, "{what}");
        assert!(event["on_behalf_of"].is_null(), "{what}");
        assert_eq!(field(&event, "target_type"), *target_type, "{what}");
        assert_eq!(field(&event, "target_id"), *target_id, "{what}");
        assert_eq!(field(&event, "ip"), "127.0.0.1", "{what}");
        assert_eq!(field(&event, "request_id"), request_id(answer), "{what}");
        assert!(!field(&event, "id").is_empty() && !field(&event, "at").is_empty(), "{what}");
        assert!(event["details"].is_object(), "{what}");
    }
    let update = the_event(&server, &operator.token, &format!("action=customer.update&target_id={customer}"));
    assert_eq!(update["details"]["fields"], json!(["name"]), "{update}");
    assert!(!update.to_string().contains(PASSWORD), "no password in the log");

    // The filters: each one alone and together.
    let creations = events(&server, &operator.token, "action=customer.create");
    let targets: BTreeSet<&str> = creations.iter().map(|e| field(e, "target_id")).collect();
    assert!(creations.iter().all(|e| field(e, "action") == "customer.create"), "{creations:#?}");
    assert_eq!(targets, BTreeSet::from([reseller.id.as_str(), customer.as_str(), by_key_customer.as_str()]));

    let on_customer = events(&server, &operator.token, &format!("target_id={customer}"));
    let actions: Vec<&str> = on_customer.iter().map(|e| field(e, "action")).collect();
    assert_eq!(actions, ["customer.update", "customer.create"], "newest first");

    let by_reseller = events(&server, &operator.token, &format!("actor_id={}", reseller.id));
    let actions: Vec<&str> = by_reseller.iter().map(|e| field(e, "action")).collect();
    assert_eq!(
        actions,
        [
            "session.login", // relogin
            "account.password_change",
            "session.login", // fresh
            "session.logout",
            "api_key.revoke",
            "customer.create", // with the key
            "api_key.create",
            "customer.update",
            "customer.create",
            "session.login", // the login above
            "session.login", // the harness's, after its creation
        ],
        "{by_reseller:#?}"
    );
    assert!(by_reseller.iter().all(|e| field(e, "actor_id") == reseller.id));
    let by_operator = events(&server, &operator.token, &format!("actor_id={}&action=customer.create", operator.id));
    assert_eq!(by_operator.len(), 1, "{by_operator:#?}");
    assert_eq!(field(&by_operator[0], "target_id"), reseller.id);
    let logins =
        events(&server, &operator.token, &format!("actor_id={}&target_type=session&action=session.login", reseller.id));
    assert_eq!(logins.len(), 4, "{logins:#?}");
    assert!(events(&server, &operator.token, "since=2999-01-01T00:00:00Z").is_empty());
    assert!(events(&server, &operator.token, "until=2000-01-01T00:00:00Z").is_empty());
    assert!(events(&server, &operator.token, "action=customer.delete").is_empty());

    // Pagination: one event a page, the cursor walks the same list in the same order.
    let filters = format!("actor_id={}", reseller.id);
    let mut walked = Vec::new();
    let mut path = format!("/v1/audit-events?limit=1&{filters}");
    loop {
        let page = server.get(&path, Some(&operator.token));
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_eq!(page.ids().len(), 1, "{path}: {}", page.body);
        walked.extend(page.ids());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{cursor}");
                path = format!("/v1/audit-events?limit=1&{filters}&cursor={cursor}");
            }
            None => break,
        }
        assert!(walked.len() <= by_reseller.len(), "the walk does not end: {walked:?}");
    }
    let listed: Vec<String> = by_reseller.iter().map(|e| field(e, "id").to_owned()).collect();
    assert_eq!(walked, listed);
    // A cursor is bound to its filters.
    let first = server.get(&format!("/v1/audit-events?limit=1&{filters}"), Some(&operator.token));
    let cursor = first.str("next_cursor");
    let other =
        server.get(&format!("/v1/audit-events?limit=1&action=session.login&cursor={cursor}"), Some(&operator.token));
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(other.code(), "invalid_cursor");

    // The reseller reads its own changes back too, with its new session.
    let own = events(&server, &relogin.token, &format!("target_id={customer}"));
    assert_eq!(own.len(), 2, "{own:#?}");
});

/// The account an event is about: the target when it is an account, else the account
/// that acted on its own session or key.
fn owner(event: &Value) -> &str {
    if field(event, "target_type") == "account" {
        field(event, "target_id")
    } else {
        field(event, "actor_id")
    }
}

both_backends!(each_caller_sees_its_part_of_the_tree, |server| {
    let tree = Tree::build(&server);
    // A few more events in each subtree.
    for (actor, target) in [
        (&tree.reseller_b, &tree.customer_b1),
        (&tree.sub_reseller, &tree.sub_customer),
        (&tree.reseller_a, &tree.customer_a2),
    ] {
        let patched =
            server.patch(&format!("/v1/customers/{}", target.id), Some(&actor.token), json!({"name": "Renamed"}));
        assert_eq!(patched.status, 200, "{}", patched.body);
    }
    for account in [&tree.customer_b2, &tree.customer_a1] {
        let key =
            server.post("/v1/me/api-keys", Some(&account.token), json!({"name": "mine", "scopes": ["account:read"]}));
        assert_eq!(key.status, 201, "{}", key.body);
    }
    let logout = server.post("/v1/auth/logout", Some(&tree.customer_a2.token), json!({}));
    assert_eq!(logout.status, 204, "{}", logout.body);
    let customer_a2 = server.login("customer-a2", PASSWORD);

    // The operator sees every row of the table.
    let all = events(&server, &tree.operator.token, "");
    assert_eq!(i64::try_from(all.len()).expect("a count"), count_rows(&server), "the operator sees every event");
    let all_ids: BTreeSet<&str> = all.iter().map(|e| field(e, "id")).collect();
    assert_eq!(all_ids.len(), all.len(), "no event twice");

    let roles: Vec<(&str, &Account)> = tree
        .all()
        .into_iter()
        .map(|(role, account)| if role == "customer_a2" { (role, &customer_a2) } else { (role, account) })
        .collect();
    let id_of = |role: &str| roles.iter().find(|(r, _)| *r == role).expect("role").1.id.clone();
    for (role, account) in &roles {
        if *role == "operator" {
            continue;
        }
        let mut mine: BTreeSet<String> = tree.below(role).into_iter().map(id_of).collect();
        mine.insert(account.id.clone());
        let want: BTreeSet<&str> = all.iter().filter(|e| mine.contains(owner(e))).map(|e| field(e, "id")).collect();
        let seen = events(&server, &account.token, "");
        let got: BTreeSet<&str> = seen.iter().map(|e| field(e, "id")).collect();
        assert_eq!(got, want, "what {role} sees");
        // Its own login at least, and for a reseller every account below it.
        let owners: BTreeSet<&str> = seen.iter().map(owner).collect();
        assert_eq!(owners, mine.iter().map(String::as_str).collect(), "{role} sees events of each account of its part");
        if Tree::is_customer(role) {
            assert!(seen.iter().all(|e| owner(e) == account.id), "{role}: {seen:#?}");
            assert!(seen.iter().any(|e| field(e, "action") == "session.login"), "{role} sees its own login");
        }
    }

    // Reseller A sees nothing of reseller B's subtree, and the other way round; a filter
    // naming the other subtree finds nothing rather than widening the view.
    let subtree_b: BTreeSet<String> = ["reseller_b", "customer_b1", "customer_b2"].into_iter().map(id_of).collect();
    let subtree_a: BTreeSet<String> =
        ["reseller_a", "customer_a1", "customer_a2", "sub_reseller", "sub_customer"].into_iter().map(id_of).collect();
    for (reader, other) in [(&tree.reseller_a, &subtree_b), (&tree.reseller_b, &subtree_a)] {
        let seen = events(&server, &reader.token, "");
        let leaked: Vec<&Value> = seen
            .iter()
            .filter(|e| {
                other.contains(owner(e))
                    || other.contains(field(e, "actor_id"))
                    || other.contains(field(e, "target_id"))
            })
            .collect();
        assert!(leaked.is_empty(), "{} sees the other subtree: {leaked:#?}", reader.login);
        for id in other {
            assert!(
                events(&server, &reader.token, &format!("target_id={id}")).is_empty(),
                "{} filters on {id}",
                reader.login
            );
            assert!(
                events(&server, &reader.token, &format!("actor_id={id}")).is_empty(),
                "{} filters on {id}",
                reader.login
            );
        }
    }
    assert!(events(&server, &tree.customer_a1.token, &format!("target_id={}", tree.customer_a2.id)).is_empty());
    assert!(events(&server, &tree.sub_reseller.token, &format!("target_id={}", tree.reseller_a.id)).is_empty());
    assert!(events(&server, &tree.customer_b1.token, &format!("actor_id={}", tree.reseller_b.id))
        .iter()
        .all(|e| field(e, "target_id") == tree.customer_b1.id));
});

both_backends!(the_log_is_read_only, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let before = events(&server, &operator.token, "");
    assert!(before.len() >= 3, "{before:#?}");

    // No route changes the log.
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for token in [&operator.token, &reseller.token] {
            let body = if method == "DELETE" { Body::None } else { Body::Json(json!({"action": "x"})) };
            let response = server.send(method, "/v1/audit-events", Some(token), body, &[]);
            assert_eq!(response.status, 405, "{method}: {}", response.text);
            assert_eq!(response.code(), "method_not_allowed");
            assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}");
        }
    }
    let id = field(&before[0], "id");
    for method in ["PUT", "PATCH", "DELETE"] {
        let body = if method == "DELETE" { Body::None } else { Body::Json(json!({"action": "x"})) };
        let response = server.send(method, &format!("/v1/audit-events/{id}"), Some(&operator.token), body, &[]);
        assert!([404, 405].contains(&response.status), "{method} one event: {}", response.text);
    }

    // Nor does SQL: the migrations' triggers refuse UPDATE, DELETE and (PostgreSQL has it)
    // TRUNCATE.
    let rows = count_rows(&server);
    let mut conn = server.database.connect();
    let mut statements = vec![
        "UPDATE audit_events SET action = 'x'".to_owned(),
        format!("UPDATE audit_events SET actor_id = NULL WHERE id = '{id}'"),
        "DELETE FROM audit_events".to_owned(),
        format!("DELETE FROM audit_events WHERE id = '{id}'"),
    ];
    if server.backend == TestBackend::Postgres {
        statements.push("TRUNCATE audit_events".to_owned());
    }
    for statement in &statements {
        let result = diesel::sql_query(statement).execute(&mut conn);
        assert!(result.is_err(), "{statement} on {}: {result:?}", server.backend);
    }
    assert_eq!(count_rows(&server), rows);
    let after = events(&server, &operator.token, "");
    assert_eq!(after, before, "the log is unchanged");
});
