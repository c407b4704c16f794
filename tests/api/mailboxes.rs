//! Mailboxes and forwards of a hosting service: addresses on the service's own domains,
//! a password stored only as the hash Dovecot verifies, sizes within the plan and the
//! disk, one owner per address across the installation, and quotas that hold when many
//! requests arrive at once.

use crate::support::*;

/// A web hosting plan of `seller` with these quotas.
fn plan(server: &Server, seller: &Account, quotas: Value) -> String {
    let response = server.post(
        "/v1/plans",
        Some(&seller.token),
        json!({"name": "Mail plan", "service_kind": "web_hosting", "quotas": quotas, "public": true,
               "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

/// Adds the domain `name` to `service` as its owner.
fn add_domain(server: &Server, owner: &Account, name: &str, service: &str) {
    let response = server.post("/v1/domains", Some(&owner.token), json!({"name": name, "service_id": service}));
    assert_eq!(response.status, 201, "{}", response.body);
}

fn mailboxes(service: &str) -> String {
    format!("/v1/services/{service}/mailboxes")
}

fn forwards(service: &str) -> String {
    format!("/v1/services/{service}/forwards")
}

fn new_mailbox(server: &Server, token: &str, service: &str, body: Value) -> Response {
    server.post(&mailboxes(service), Some(token), body)
}

fn mailbox_body(address: &str) -> Value {
    json!({"address": address, "password": "a long mailbox passphrase"})
}

/// The stored hash of the mailbox `address`, straight from the database.
fn stored_hash(server: &Server, address: &str) -> String {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        password_hash: String,
    }
    let rows: Vec<Row> = diesel::sql_query(format!("SELECT password_hash FROM mailboxes WHERE address = '{address}'"))
        .load(&mut server.database.connect())
        .unwrap();
    assert_eq!(rows.len(), 1, "one mailbox {address}");
    rows.into_iter().next().unwrap().password_hash
}

fn events(server: &Server, action: &str, target: &str) -> i64 {
    server
        .count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}' AND target_id = '{target}'"))
}

/// The fixture: customer A1 with an active service on `shop.test` (10 mailboxes of at
/// most 500 MB, 3 forwards, 2000 MB disk), sibling A2 with its own service on
/// `sibling.test`, and customer B1 of another reseller.
struct Fixture {
    tree: Tree,
    service: String,
    sibling_service: String,
}

impl Fixture {
    fn build(server: &Server) -> Self {
        let tree = Tree::build(server);
        let plan_id = plan(
            server,
            &tree.reseller_a,
            json!({"disk_mb": 2000, "mailboxes": 10, "mailbox_default_mb": 500, "forwards": 3}),
        );
        let service = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_id);
        let sibling_service = server.sell(&tree.reseller_a, &tree.customer_a2, &plan_id);
        add_domain(server, &tree.customer_a1, "shop.test", &service);
        add_domain(server, &tree.customer_a2, "sibling.test", &sibling_service);
        Self { tree, service, sibling_service }
    }
}

both_backends!(a_mailbox_is_created_read_changed_and_removed_and_its_password_only_hashed, |server| {
    let f = Fixture::build(&server);
    let token = f.tree.customer_a1.token.as_str();
    let created = new_mailbox(
        &server,
        token,
        &f.service,
        json!({"address": "Info@SHOP.test", "password": "a long mailbox passphrase", "description": "Shop inbox",
               "panel_login": true}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.str("id");
    assert_eq!(created.header("location"), Some(format!("/v1/services/{}/mailboxes/{id}", f.service).as_str()));
    assert!(created.header("etag").is_some());
    assert_eq!(created.body["address"], "info@shop.test");
    assert_eq!(created.body["quota_mb"], 500, "the plan's default size");
    assert_eq!(created.body["panel_login"], true);
    assert_eq!(created.body["description"], "Shop inbox");
    assert!(!created.text.contains("password") && !created.text.contains("argon2"), "{}", created.text);

    // Stored as Dovecot reads it, and it verifies against the password with argon2.
    let hash = stored_hash(&server, "info@shop.test");
    assert!(hash.starts_with("{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    let phc = hash.strip_prefix("{ARGON2ID}").unwrap();
    assert!(hostadmin_domain::passwords::verify("a long mailbox passphrase", phc));
    assert!(!hostadmin_domain::passwords::verify("another passphrase", phc));
    assert_eq!(events(&server, "mailbox.create", &id), 1);
    let audit_text = server.count(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE target_id = '{id}' AND (details LIKE '%argon2%' OR details LIKE '%passphrase%')"
    ));
    assert_eq!(audit_text, 0, "the audit log holds neither the password nor its hash");

    let one = server.get(&format!("{}/{id}", mailboxes(&f.service)), Some(token));
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["address"], "info@shop.test");
    assert!(!one.text.contains("password"), "{}", one.text);
    let etag = one.header("etag").unwrap().to_owned();

    let second = new_mailbox(
        &server,
        token,
        &f.service,
        json!({"address": "sales@shop.test", "password": "another long passphrase", "quota_mb": 100}),
    );
    assert_eq!(second.status, 201, "{}", second.body);
    let list = server.get(&mailboxes(&f.service), Some(token));
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.ids(), vec![second.str("id"), id.clone()], "newest first");
    assert!(!list.text.contains("password"));
    let searched = server.get(&format!("{}?q=SAL", mailboxes(&f.service)), Some(token));
    assert_eq!(searched.ids(), vec![second.str("id")]);
    let paged = server.get(&format!("{}?limit=1", mailboxes(&f.service)), Some(token));
    let cursor = paged.body["next_cursor"].as_str().unwrap().to_owned();
    let next = server.get(&format!("{}?limit=1&cursor={cursor}", mailboxes(&f.service)), Some(token));
    assert_eq!(next.ids(), vec![id.clone()]);

    // PATCH: a new password, size and description; the hash changes and verifies.
    let path = format!("{}/{id}", mailboxes(&f.service));
    let changed = server.patch(
        &path,
        Some(token),
        json!({"password": "a brand new passphrase", "quota_mb": 300, "description": null}),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["quota_mb"], 300);
    assert_eq!(changed.body["description"], "");
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    let hash = stored_hash(&server, "info@shop.test");
    assert!(hostadmin_domain::passwords::verify("a brand new passphrase", hash.strip_prefix("{ARGON2ID}").unwrap()));
    let reset = server.patch(&path, Some(token), json!({"quota_mb": null}));
    assert_eq!(reset.body["quota_mb"], 500, "null returns the size to the plan's default");
    assert_eq!(events(&server, "mailbox.update", &id), 2);

    // A stale If-Match changes nothing.
    let stale = server.send("PATCH", &path, Some(token), Body::Json(json!({"quota_mb": 10})), &[("if-match", &etag)]);
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let stale = server.send("DELETE", &path, Some(token), Body::None, &[("if-match", &etag)]);
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    assert_eq!(server.get(&path, Some(token)).body["quota_mb"], 500);

    // Nor does a changed password reach the audit log.
    let jobs_with_password =
        server.count("SELECT COUNT(*) AS n FROM audit_events WHERE details LIKE '%a brand new passphrase%'");
    assert_eq!(jobs_with_password, 0);

    let removed = server.delete(&path, Some(token));
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_eq!(server.get(&path, Some(token)).status, 404);
    assert_eq!(events(&server, "mailbox.delete", &id), 1);
    // The address is free again, for a forward as for a mailbox.
    let forward = server.post(
        &forwards(&f.service),
        Some(token),
        json!({"source": "info@shop.test", "destinations": ["x@elsewhere.test"]}),
    );
    assert_eq!(forward.status, 201, "{}", forward.body);
});

both_backends!(forwards_deliver_to_one_to_fifty_distinct_destinations, |server| {
    let f = Fixture::build(&server);
    let token = f.tree.customer_a1.token.as_str();
    let created = server.post(
        &forwards(&f.service),
        Some(token),
        json!({"source": "Team@shop.test", "destinations": ["Alice@Example.ORG", "bob@example.net"]}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.str("id");
    assert_eq!(created.header("location"), Some(format!("/v1/services/{}/forwards/{id}", f.service).as_str()));
    assert_eq!(created.body["source"], "team@shop.test");
    assert_eq!(created.body["destinations"], json!(["Alice@example.org", "bob@example.net"]));
    assert_eq!(events(&server, "forward.create", &id), 1);

    let path = format!("{}/{id}", forwards(&f.service));
    let one = server.get(&path, Some(token));
    assert_eq!((one.status, one.body["source"].clone()), (200, json!("team@shop.test")));
    let list = server.get(&forwards(&f.service), Some(token));
    assert_eq!(list.ids(), vec![id.clone()]);

    let fifty: Vec<String> = (0..50).map(|i| format!("user{i}@example.com")).collect();
    let changed = server.patch(&path, Some(token), json!({"destinations": fifty}));
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["destinations"].as_array().unwrap().len(), 50);
    assert_eq!(events(&server, "forward.update", &id), 1);

    for (body, pointer, code) in [
        (
            json!({"destinations": (0..51).map(|i| format!("u{i}@example.com")).collect::<Vec<_>>()}),
            "/destinations",
            "invalid_length",
        ),
        (json!({"destinations": []}), "/destinations", "invalid_length"),
        (json!({"destinations": null}), "/destinations", "required"),
        (json!({"destinations": ["a@example.com", "A@example.com"]}), "/destinations/1", "duplicate"),
        (json!({"destinations": ["team@SHOP.test"]}), "/destinations/0", "forward_loop"),
        (json!({"destinations": ["not an address"]}), "/destinations/0", "invalid_email"),
        (json!({"source": "other@shop.test"}), "/source", "unknown_field"),
    ] {
        let refused = server.patch(&path, Some(token), body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![pointer.to_owned()], "{body}");
        assert_eq!(refused.body["errors"][0]["code"], code, "{body}");
    }

    let removed = server.delete(&path, Some(token));
    assert_eq!(removed.status, 204);
    assert_eq!(server.get(&path, Some(token)).status, 404);
    assert_eq!(events(&server, "forward.delete", &id), 1);

    // A retry with the same Idempotency-Key gets the stored answer and creates nothing more.
    let body = json!({"source": "retry@shop.test", "destinations": ["a@example.com"]});
    let key = [("idempotency-key", "forward-retry-1")];
    let first = server.send("POST", &forwards(&f.service), Some(token), Body::Json(body.clone()), &key);
    let again = server.send("POST", &forwards(&f.service), Some(token), Body::Json(body), &key);
    assert_eq!((first.status, again.status), (201, 201), "{}", again.body);
    assert_eq!(first.str("id"), again.str("id"));
    let other = server.send(
        "POST",
        &forwards(&f.service),
        Some(token),
        Body::Json(json!({"source": "other@shop.test", "destinations": ["a@example.com"]})),
        &key,
    );
    assert_eq!((other.status, other.code()), (422, "idempotency_key_reused"));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM forwards"), 1);
});

both_backends!(bad_input_is_refused_with_pointers_before_any_state_is_looked_at, |server| {
    let f = Fixture::build(&server);
    let token = f.tree.customer_a1.token.as_str();
    let long_local = format!("{}@shop.test", "x".repeat(65));
    for (body, pointer, code) in [
        (mailbox_body("info@sibling.test"), "/address", "domain_not_on_service"),
        (mailbox_body("info@nowhere.test"), "/address", "domain_not_on_service"),
        (mailbox_body("not-an-address"), "/address", "invalid_email"),
        (mailbox_body("a+b@shop.test"), "/address", "invalid_local_part"),
        (mailbox_body(&long_local), "/address", "invalid_email"),
        (
            json!({"address": "info@shop.test", "password": "a long mailbox passphrase", "quota_mb": 501}),
            "/quota_mb",
            "exceeds_plan",
        ),
        (
            json!({"address": "info@shop.test", "password": "a long mailbox passphrase", "quota_mb": 0}),
            "/quota_mb",
            "out_of_range",
        ),
        (
            json!({"address": "info@shop.test", "password": "a long mailbox passphrase", "quota_mb": -1}),
            "/quota_mb",
            "invalid_value",
        ),
        (json!({"address": "info@shop.test", "password": "short"}), "/password", "password_too_short"),
        (json!({"address": "info@shop.test", "password": "password123"}), "/password", "password_too_common"),
        // IMAP and POP3 send the password on one command line: no line breaks in it.
        (
            json!({"address": "info@shop.test", "password": "a long passphrase\r\nA001 LOGOUT"}),
            "/password",
            "invalid_characters",
        ),
        (json!({"address": "info@shop.test"}), "/password", "required"),
        (
            json!({"address": "info@shop.test", "password": "a long mailbox passphrase", "description": "x".repeat(10_001)}),
            "/description",
            "invalid_length",
        ),
        (
            json!({"address": "info@shop.test", "password": "a long mailbox passphrase", "password_hash": "x"}),
            "/password_hash",
            "unknown_field",
        ),
    ] {
        let refused = new_mailbox(&server, token, &f.service, body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![pointer.to_owned()], "{body}");
        assert_eq!(refused.body["errors"][0]["code"], code, "{body}");
    }
    for (body, pointer, code) in [
        (json!({"source": "team@sibling.test", "destinations": ["a@example.com"]}), "/source", "domain_not_on_service"),
        (
            json!({"source": "team@shop.test", "destinations": (0..51).map(|i| format!("u{i}@example.com")).collect::<Vec<_>>()}),
            "/destinations",
            "invalid_length",
        ),
        (
            json!({"source": "team@shop.test", "destinations": ["a@example.com", "b@localhost"]}),
            "/destinations/1",
            "invalid_email",
        ),
        (json!({"source": "@shop.test", "destinations": ["a@example.com"]}), "/source", "invalid_email"),
    ] {
        let refused = server.post(&forwards(&f.service), Some(token), body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![pointer.to_owned()], "{body}");
        assert_eq!(refused.body["errors"][0]["code"], code, "{body}");
    }
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM mailboxes"), 0);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM forwards"), 0);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM mail_addresses"), 0);

    // A bad body on an inactive service is still 422: input before state.
    let suspended = server.post(
        &format!("/v1/services/{}/suspend", f.service),
        Some(&f.tree.reseller_a.token),
        json!({"reason": "unpaid"}),
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let refused = new_mailbox(&server, token, &f.service, mailbox_body("info@sibling.test"));
    assert_eq!(refused.status, 422);
    let refused = new_mailbox(&server, token, &f.service, mailbox_body("info@shop.test"));
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
    let refused = server.post(
        &forwards(&f.service),
        Some(token),
        json!({"source": "a@shop.test", "destinations": ["b@example.com"]}),
    );
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
});

both_backends!(only_those_who_may_reach_the_service_see_or_change_its_mail, |server| {
    let f = Fixture::build(&server);
    let owner = &f.tree.customer_a1;
    let created = new_mailbox(&server, &owner.token, &f.service, mailbox_body("info@shop.test"));
    assert_eq!(created.status, 201, "{}", created.body);
    let mailbox = format!("{}/{}", mailboxes(&f.service), created.str("id"));
    let forward = server.post(
        &forwards(&f.service),
        Some(&owner.token),
        json!({"source": "team@shop.test", "destinations": ["a@example.com"]}),
    );
    assert_eq!(forward.status, 201, "{}", forward.body);
    let forward = format!("{}/{}", forwards(&f.service), forward.str("id"));

    // The seller above reaches it; a sibling customer and another reseller's do not.
    assert_eq!(server.get(&mailbox, Some(&f.tree.reseller_a.token)).status, 200);
    for stranger in [&f.tree.customer_a2, &f.tree.customer_b1, &f.tree.reseller_b, &f.tree.sub_reseller] {
        for (method, path, body) in [
            ("GET", mailboxes(&f.service), Body::None),
            ("POST", mailboxes(&f.service), Body::Json(mailbox_body("x@shop.test"))),
            ("GET", mailbox.clone(), Body::None),
            ("PATCH", mailbox.clone(), Body::Json(json!({"quota_mb": 10}))),
            ("DELETE", mailbox.clone(), Body::None),
            ("GET", forward.clone(), Body::None),
            ("PATCH", forward.clone(), Body::Json(json!({"destinations": ["z@example.com"]}))),
            ("DELETE", forward.clone(), Body::None),
        ] {
            let refused = server.send(method, &path, Some(&stranger.token), body, &[]);
            assert_eq!((refused.status, refused.code()), (404, "not_found"), "{} {method} {path}", stranger.login);
        }
    }
    // A mailbox id of another tenant under the sibling's own service is not found either.
    let sibling = &f.tree.customer_a2;
    let theirs = format!("{}/{}", mailboxes(&f.sibling_service), created.str("id"));
    for method in ["GET", "DELETE"] {
        let refused = server.send(method, &theirs, Some(&sibling.token), Body::None, &[]);
        assert_eq!((refused.status, refused.code()), (404, "not_found"), "{method}");
    }
    let malformed = server.get(&format!("{}/not-an-id", mailboxes(&f.service)), Some(&owner.token));
    assert_eq!((malformed.status, malformed.code()), (404, "not_found"));

    // A view-only grantee reads, and is refused every write before its body is read.
    let grant = server.post(
        "/v1/authorizations",
        Some(&owner.token),
        json!({"grantee": f.tree.customer_b1.login, "permissions": ["view"]}),
    );
    assert_eq!(grant.status, 201, "{}", grant.body);
    let accepted = server.post(
        &format!("/v1/authorizations/{}/accept", grant.str("id")),
        Some(&f.tree.customer_b1.token),
        json!({}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let viewer = f.tree.customer_b1.token.as_str();
    assert_eq!(server.get(&mailboxes(&f.service), Some(viewer)).status, 200);
    assert_eq!(server.get(&mailbox, Some(viewer)).status, 200);
    assert_eq!(server.get(&forwards(&f.service), Some(viewer)).status, 200);
    for (method, path, body) in [
        ("POST", mailboxes(&f.service), Body::Json(json!({"address": ""}))),
        ("PATCH", mailbox.clone(), Body::Json(json!({"quota_mb": 0}))),
        ("DELETE", mailbox.clone(), Body::None),
        ("POST", forwards(&f.service), Body::Json(json!({}))),
        ("PATCH", forward.clone(), Body::Json(json!({"destinations": []}))),
        ("DELETE", forward.clone(), Body::None),
    ] {
        let refused = server.send(method, &path, Some(viewer), body, &[]);
        assert_eq!((refused.status, refused.code()), (403, "insufficient_grant"), "{method} {path}");
    }

    // An API key needs mail:write to change mail, mail:read to see it.
    let key = server.post("/v1/me/api-keys", Some(&owner.token), json!({"name": "reader", "scopes": ["mail:read"]}));
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.str("key");
    assert_eq!(server.get(&mailboxes(&f.service), Some(&key)).status, 200);
    let refused = new_mailbox(&server, &key, &f.service, mailbox_body("x@shop.test"));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    let refused = server.delete(&forward, Some(&key));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    let other = server.post("/v1/me/api-keys", Some(&owner.token), json!({"name": "dns", "scopes": ["dns:read"]}));
    let other = other.str("key");
    let refused = server.get(&mailboxes(&f.service), Some(&other));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));

    // The seller disables mail.write: reads go on, writes stop on the next request.
    let set = server.put(
        &format!("/v1/customers/{}/restrictions", owner.id),
        Some(&f.tree.reseller_a.token),
        json!({"disabled_actions": ["mail.write"]}),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(server.get(&mailbox, Some(&owner.token)).status, 200);
    for (method, path, body) in [
        ("POST", mailboxes(&f.service), Body::Json(mailbox_body("x@shop.test"))),
        ("PATCH", mailbox.clone(), Body::Json(json!({"quota_mb": 10}))),
        ("DELETE", forward.clone(), Body::None),
    ] {
        let refused = server.send(method, &path, Some(&owner.token), body, &[]);
        assert_eq!((refused.status, refused.code()), (403, "action_restricted"), "{method} {path}");
    }
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM mailboxes"), 1);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM forwards"), 1);
});

both_backends!(an_address_is_held_once_and_quotas_and_the_disk_are_enforced, |server| {
    let f = Fixture::build(&server);
    let token = f.tree.customer_a1.token.as_str();
    assert_eq!(new_mailbox(&server, token, &f.service, mailbox_body("info@shop.test")).status, 201);
    // A mailbox's address cannot become a forward's source, nor another mailbox, in any case.
    let taken = server.post(
        &forwards(&f.service),
        Some(token),
        json!({"source": "INFO@shop.test", "destinations": ["a@example.com"]}),
    );
    assert_eq!((taken.status, taken.code()), (409, "address_taken"));
    let taken = new_mailbox(&server, token, &f.service, mailbox_body("Info@Shop.Test"));
    assert_eq!((taken.status, taken.code()), (409, "address_taken"));
    let forward = server.post(
        &forwards(&f.service),
        Some(token),
        json!({"source": "team@shop.test", "destinations": ["a@example.com"]}),
    );
    assert_eq!(forward.status, 201, "{}", forward.body);
    let taken = new_mailbox(&server, token, &f.service, mailbox_body("team@shop.test"));
    assert_eq!((taken.status, taken.code()), (409, "address_taken"));

    // The disk: 2000 MB, 500 already promised to info@. 3 × 500 fill it; then 1 MB more is too much.
    for local in ["a", "b", "c"] {
        let created = new_mailbox(&server, token, &f.service, mailbox_body(&format!("{local}@shop.test")));
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let full = new_mailbox(
        &server,
        token,
        &f.service,
        json!({"address": "d@shop.test", "password": "a long mailbox passphrase", "quota_mb": 1}),
    );
    assert_eq!((full.status, full.code()), (409, "quota_exceeded"), "{}", full.body);
    // Shrinking one makes room; growing it back past the disk is refused.
    let list = server.get(&mailboxes(&f.service), Some(token));
    let a = list.body["data"].as_array().unwrap().iter().find(|m| m["address"] == "a@shop.test").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{}/{a}", mailboxes(&f.service));
    assert_eq!(server.patch(&path, Some(token), json!({"quota_mb": 400})).status, 200);
    let fits = new_mailbox(
        &server,
        token,
        &f.service,
        json!({"address": "d@shop.test", "password": "a long mailbox passphrase", "quota_mb": 100}),
    );
    assert_eq!(fits.status, 201, "{}", fits.body);
    let grow = server.patch(&path, Some(token), json!({"quota_mb": 401}));
    assert_eq!((grow.status, grow.code()), (409, "quota_exceeded"));
    assert_eq!(server.get(&path, Some(token)).body["quota_mb"], 400, "nothing changed");

    // Forwards: 3 in the plan.
    for local in ["f1", "f2"] {
        let created = server.post(
            &forwards(&f.service),
            Some(token),
            json!({"source": format!("{local}@shop.test"), "destinations": ["a@example.com"]}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let full = server.post(
        &forwards(&f.service),
        Some(token),
        json!({"source": "f3@shop.test", "destinations": ["a@example.com"]}),
    );
    assert_eq!((full.status, full.code()), (409, "quota_exceeded"));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM mail_addresses"), 8);
});

both_backends!(parallel_creations_never_pass_the_quota_nor_take_one_address_twice, |server| {
    let tree = Tree::build(&server);
    let plan_id = plan(&server, &tree.reseller_a, json!({"mailboxes": 10, "mailbox_default_mb": 10, "forwards": 20}));
    let service = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_id);
    add_domain(&server, &tree.customer_a1, "race.test", &service);
    let token = tree.customer_a1.token.as_str();

    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..25)
            .map(|i| {
                let (server, service) = (&server, &service);
                scope.spawn(move || {
                    let response = new_mailbox(server, token, service, mailbox_body(&format!("box{i}@race.test")));
                    let code = if response.status == 201 { String::new() } else { response.code().to_owned() };
                    (response.status, code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = statuses.iter().filter(|(status, _)| *status == 201).count();
    let refused = statuses.iter().filter(|(status, code)| *status == 409 && code == "quota_exceeded").count();
    assert_eq!((created, refused), (10, 15), "{statuses:?}");
    assert_eq!(server.count(&format!("SELECT COUNT(*) AS n FROM mailboxes WHERE service_id = '{service}'")), 10);

    // A mailbox and a forward racing for one address: exactly one wins each time (on a
    // second service, so the full mailbox quota above plays no part).
    let open_plan = plan(&server, &tree.reseller_a, json!({"mailbox_default_mb": 10}));
    let open_service = server.sell(&tree.reseller_a, &tree.customer_a1, &open_plan);
    add_domain(&server, &tree.customer_a1, "race2.test", &open_service);
    let outcomes: Vec<Vec<(u16, String)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (server, service) = (&server, &open_service);
                let address = format!("contested{i}@race2.test");
                scope.spawn(move || {
                    let source = address.clone();
                    let forward = scope.spawn(move || {
                        server.post(
                            &forwards(service),
                            Some(token),
                            json!({"source": source, "destinations": ["x@example.com"]}),
                        )
                    });
                    let mailbox = new_mailbox(server, token, service, mailbox_body(&address));
                    [forward.join().unwrap(), mailbox]
                        .into_iter()
                        .map(|r| {
                            let code = if r.status == 201 { String::new() } else { r.code().to_owned() };
                            (r.status, code)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for pair in &outcomes {
        let mut pair = pair.clone();
        pair.sort();
        assert_eq!(pair, vec![(201, String::new()), (409, "address_taken".to_owned())], "{outcomes:?}");
    }
    let held = server.count("SELECT COUNT(*) AS n FROM mail_addresses WHERE address LIKE 'contested%'");
    let resources = server.count(&format!("SELECT COUNT(*) AS n FROM mailboxes WHERE service_id = '{open_service}'"))
        + server.count(&format!("SELECT COUNT(*) AS n FROM forwards WHERE service_id = '{open_service}'"));
    assert_eq!((held, resources), (6, 6));
});
