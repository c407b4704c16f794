//! FTP users of a hosting service: usernames unique across the installation (also when
//! many requests arrive at once), home directories confined to the service's root,
//! passwords stored only as argon2id hashes, quotas, tenancy, grants, scopes and
//! restrictions.

use crate::support::*;

/// Reseller A sells `owner` (and `sibling`) web hosting with 2 FTP users; reseller B
/// sells `other` the same kind of plan.
struct Fixture {
    reseller_a: Account,
    reseller_b: Account,
    owner: Account,
    sibling: Account,
    other: Account,
    service: String,
    second: String,
    siblings: String,
    others: String,
}

fn plan(server: &Server, seller: &Account, quotas: Value) -> String {
    let response = server.post(
        "/v1/plans",
        Some(&seller.token),
        json!({"name": "Web FTP", "service_kind": "web_hosting", "quotas": quotas, "public": true,
               "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

impl Fixture {
    fn build(server: &Server) -> Self {
        let operator = server.operator("operator");
        let reseller_a = server.create(&operator, "reseller-a", "reseller");
        let reseller_b = server.create(&operator, "reseller-b", "reseller");
        let owner = server.create(&reseller_a, "owner", "customer");
        let sibling = server.create(&reseller_a, "sibling", "customer");
        let other = server.create(&reseller_b, "other", "customer");
        let plan_a = plan(server, &reseller_a, json!({"ftp_users": 2, "databases": 2}));
        let plan_b = plan(server, &reseller_b, json!({}));
        let service = server.sell(&reseller_a, &owner, &plan_a);
        let second = server.sell(&reseller_a, &owner, &plan_a);
        let siblings = server.sell(&reseller_a, &sibling, &plan_a);
        let others = server.sell(&reseller_b, &other, &plan_b);
        Self { reseller_a, reseller_b, owner, sibling, other, service, second, siblings, others }
    }
}

fn path(service: &str) -> String {
    format!("/v1/services/{service}/ftp-users")
}

fn create(server: &Server, account: &Account, service: &str, body: Value) -> Response {
    server.post(&path(service), Some(&account.token), body)
}

fn created(server: &Server, account: &Account, service: &str, username: &str) -> String {
    let response = create(server, account, service, json!({"username": username, "password": PASSWORD}));
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

/// The text a `SELECT ... AS t` answers, read straight from the database.
pub fn text(server: &Server, sql: &str) -> String {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let rows: Vec<Text> = diesel::sql_query(sql).load(&mut server.database.connect()).expect("a text");
    rows.into_iter().next().map(|row| row.t).expect("one row")
}

fn events(server: &Server, action: &str, target: &str) -> i64 {
    server
        .count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}' AND target_id = '{target}'"))
}

both_backends!(an_ftp_user_is_created_read_changed_and_removed_without_its_password_ever_leaving, |server| {
    let f = Fixture::build(&server);
    let secret = "ftp upload passphrase 42";
    let response = create(
        &server,
        &f.owner,
        &f.service,
        json!({"username": "shop-upload", "password": secret, "directory": "a//b/./c/"}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    let id = response.str("id");
    assert_eq!(response.header("location"), Some(format!("/v1/services/{}/ftp-users/{id}", f.service).as_str()));
    assert_eq!(response.header("etag"), Some("\"v1\""));
    assert_eq!(response.body["username"], "shop-upload");
    assert_eq!(response.body["directory"], "a/b/c", "the directory is normalised");
    assert_eq!(response.body["service_id"], f.service.as_str());
    assert!(response.body.get("password").is_none() && response.body.get("password_hash").is_none());
    assert!(!response.text.contains(secret) && !response.text.contains("argon2"), "{}", response.text);

    // Stored as an argon2id PHC string with OWASP's minimums, never in clear.
    let hashed = server.count(&format!(
        "SELECT COUNT(*) AS n FROM ftp_users WHERE id = '{id}' AND password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'"
    ));
    assert_eq!(hashed, 1);
    assert_eq!(server.count(&format!("SELECT COUNT(*) AS n FROM ftp_users WHERE password_hash LIKE '%{secret}%'")), 0);
    assert_eq!(events(&server, "ftp_user.create", &id), 1);
    assert_eq!(
        server.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE target_id = '{id}' AND details LIKE '%{secret}%'"
        )),
        0
    );

    // Without a directory: the service's root.
    let root = create(&server, &f.owner, &f.service, json!({"username": "shop-root", "password": PASSWORD}));
    assert_eq!(root.status, 201, "{}", root.body);
    assert_eq!(root.body["directory"], "");

    let one = server.get(&format!("{}/{id}", path(&f.service)), Some(&f.owner.token));
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["directory"], "a/b/c");
    assert!(!one.text.contains("argon2"));
    let list = server.get(&path(&f.service), Some(&f.owner.token));
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.ids(), vec![root.str("id"), id.clone()], "newest first");
    let found = server.get(&format!("{}?q=SHOP-U", path(&f.service)), Some(&f.owner.token));
    assert_eq!(found.ids(), vec![id.clone()], "q is a case-insensitive prefix");
    let paged = server.get(&format!("{}?limit=1", path(&f.service)), Some(&f.owner.token));
    assert_eq!(paged.ids().len(), 1);
    assert!(paged.body["next_cursor"].is_string());

    // PATCH: a stale If-Match changes nothing; a fresh one moves the directory.
    let item = format!("{}/{id}", path(&f.service));
    let stale = server.send(
        "PATCH",
        &item,
        Some(&f.owner.token),
        Body::Json(json!({"directory": "x"})),
        &[("if-match", "\"v0\"")],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let moved = server.send(
        "PATCH",
        &item,
        Some(&f.owner.token),
        Body::Json(json!({"directory": "public_html/./uploads/"})),
        &[("if-match", "\"v1\""), ("content-type", "application/merge-patch+json")],
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["directory"], "public_html/uploads");
    assert_eq!(moved.header("etag"), Some("\"v2\""));
    let to_root = server.patch(&item, Some(&f.owner.token), json!({"directory": null}));
    assert_eq!(to_root.body["directory"], "", "null is the root");

    // A new password replaces the hash.
    let stored_hash = || text(&server, &format!("SELECT password_hash AS t FROM ftp_users WHERE id = '{id}'"));
    let before = stored_hash();
    let repassword = server.patch(&item, Some(&f.owner.token), json!({"password": "another long passphrase"}));
    assert_eq!(repassword.status, 200, "{}", repassword.body);
    assert!(!repassword.text.contains("another long passphrase"));
    let after = stored_hash();
    assert!(after != before && after.starts_with("$argon2id$"), "{before} -> {after}");
    assert_eq!(events(&server, "ftp_user.update", &id), 3);
    let cleared = server.patch(&item, Some(&f.owner.token), json!({"password": null}));
    assert_eq!((cleared.status, cleared.pointers()), (422, vec!["/password".to_owned()]));

    let removed = server.delete(&item, Some(&f.owner.token));
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert_eq!(server.get(&item, Some(&f.owner.token)).status, 404);
    assert_eq!(events(&server, "ftp_user.delete", &id), 1);
    // The name is free again.
    created(&server, &f.owner, &f.service, "shop-upload");
});

both_backends!(bad_input_is_refused_with_pointers, |server| {
    let f = Fixture::build(&server);
    let refused = |body: Value| {
        let response = create(&server, &f.owner, &f.service, body);
        assert_eq!(response.status, 422, "{}", response.body);
        response
    };
    for directory in ["../x", "a/../../etc", "..", "/etc", "//srv", "a\\b", "a\u{0}b", "a\nb", "\u{7f}"] {
        let response = refused(json!({"username": "shop", "password": PASSWORD, "directory": directory}));
        assert_eq!(response.pointers(), vec!["/directory".to_owned()], "{directory:?}: {}", response.body);
    }
    for username in ["ab", "Shop", "1shop", "sh..op", "shop.", "root", "a b", &"x".repeat(33)] {
        let response = refused(json!({"username": username, "password": PASSWORD}));
        assert_eq!(response.pointers(), vec!["/username".to_owned()], "{username:?}: {}", response.body);
    }
    for password in ["short", "password123", "line\nbreak password"] {
        let response = refused(json!({"username": "shop", "password": password}));
        assert_eq!(response.pointers(), vec!["/password".to_owned()], "{password:?}: {}", response.body);
    }
    let all = refused(json!({"username": "x", "password": "short", "directory": "/"}));
    assert_eq!(all.code(), "validation_failed");
    assert_eq!(all.pointers(), vec!["/username", "/password", "/directory"]);
    let unknown = refused(json!({"username": "shop", "password": PASSWORD, "password_hash": "x"}));
    assert_eq!(unknown.code(), "unknown_field");
    let missing = refused(json!({"username": "shop"}));
    assert_eq!(missing.status, 422);
    let id = created(&server, &f.owner, &f.service, "shop");
    let patch =
        server.patch(&format!("{}/{id}", path(&f.service)), Some(&f.owner.token), json!({"directory": "../up"}));
    assert_eq!((patch.status, patch.pointers()), (422, vec!["/directory".to_owned()]));
    let patch = server.patch(&format!("{}/{id}", path(&f.service)), Some(&f.owner.token), json!({"username": "new"}));
    assert_eq!((patch.status, patch.code()), (422, "unknown_field"), "the username cannot change");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM ftp_users"), 1, "nothing refused was stored");
});

both_backends!(other_tenants_services_and_other_services_ftp_users_are_not_found, |server| {
    let f = Fixture::build(&server);
    let mine = created(&server, &f.owner, &f.service, "mine");
    let in_second = created(&server, &f.owner, &f.second, "second");
    let item = |service: &str, id: &str| format!("{}/{id}", path(service));
    for outsider in [&f.sibling, &f.other, &f.reseller_b] {
        assert_eq!(
            create(&server, outsider, &f.service, json!({"username": "intruder", "password": PASSWORD})).status,
            404
        );
        assert_eq!(server.get(&path(&f.service), Some(&outsider.token)).status, 404);
        let read = server.get(&item(&f.service, &mine), Some(&outsider.token));
        assert_eq!((read.status, read.code()), (404, "not_found"));
        assert_eq!(
            server.patch(&item(&f.service, &mine), Some(&outsider.token), json!({"directory": "x"})).status,
            404
        );
        assert_eq!(server.delete(&item(&f.service, &mine), Some(&outsider.token)).status, 404);
    }
    // The sibling's own id under its own service does not reach mine either.
    assert_eq!(server.get(&item(&f.siblings, &mine), Some(&f.sibling.token)).status, 404);
    // Another service's FTP user under my service: 404, whatever the method.
    assert_eq!(server.get(&item(&f.service, &in_second), Some(&f.owner.token)).status, 404);
    assert_eq!(
        server.patch(&item(&f.service, &in_second), Some(&f.owner.token), json!({"directory": "x"})).status,
        404
    );
    assert_eq!(server.delete(&item(&f.service, &in_second), Some(&f.owner.token)).status, 404);
    assert_eq!(server.get(&item(&f.service, "not-an-id"), Some(&f.owner.token)).status, 404);
    assert_eq!(server.get(&path("not-an-id"), Some(&f.owner.token)).status, 404);
    // The seller above reaches them.
    assert_eq!(server.get(&item(&f.service, &mine), Some(&f.reseller_a.token)).status, 200);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM ftp_users"), 2);
    let _ = &f.others;
});

both_backends!(scopes_restrictions_and_grants_decide_who_writes, |server| {
    let f = Fixture::build(&server);
    let id = created(&server, &f.owner, &f.service, "shop");
    let item = format!("{}/{id}", path(&f.service));

    // An API key with hosting:read only reads.
    let key = server.post("/v1/me/api-keys", Some(&f.owner.token), json!({"name": "ro", "scopes": ["hosting:read"]}));
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.str("key");
    assert_eq!(server.get(&path(&f.service), Some(&key)).status, 200);
    let refused = server.post(&path(&f.service), Some(&key), json!({"username": "bykey", "password": PASSWORD}));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    let refused = server.patch(&item, Some(&key), json!({"directory": "x"}));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    let refused = server.delete(&item, Some(&key));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));

    // A view grantee reads but may not write.
    let grant = server.post(
        "/v1/authorizations",
        Some(&f.owner.token),
        json!({"grantee": f.other.login, "permissions": ["view"], "service_ids": [f.service]}),
    );
    assert_eq!(grant.status, 201, "{}", grant.body);
    let accepted =
        server.post(&format!("/v1/authorizations/{}/accept", grant.str("id")), Some(&f.other.token), json!({}));
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(server.get(&path(&f.service), Some(&f.other.token)).status, 200);
    assert_eq!(server.get(&item, Some(&f.other.token)).status, 200);
    let refused = create(&server, &f.other, &f.service, json!({"username": "grantee", "password": PASSWORD}));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_grant"));
    let refused = server.patch(&item, Some(&f.other.token), json!({"directory": "x"}));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_grant"));
    let refused = server.delete(&item, Some(&f.other.token));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_grant"));
    // The grant covers one service only.
    assert_eq!(server.get(&path(&f.second), Some(&f.other.token)).status, 404);

    // The seller disables hosting.write: the owner still reads, writes are refused.
    let restricted = server.put(
        &format!("/v1/customers/{}/restrictions", f.owner.id),
        Some(&f.reseller_a.token),
        json!({"disabled_actions": ["hosting.write"]}),
    );
    assert_eq!(restricted.status, 200, "{}", restricted.body);
    assert_eq!(server.get(&path(&f.service), Some(&f.owner.token)).status, 200);
    let refused = create(&server, &f.owner, &f.service, json!({"username": "restricted", "password": PASSWORD}));
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"));
    let refused = server.delete(&item, Some(&f.owner.token));
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM ftp_users"), 1);
});

both_backends!(parallel_creations_of_one_username_across_owners_create_one, |server| {
    let f = Fixture::build(&server);
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let (account, service) = if i % 2 == 0 { (&f.owner, &f.service) } else { (&f.other, &f.others) };
                let server = &server;
                scope.spawn(move || {
                    let response =
                        create(server, account, service, json!({"username": "contested", "password": PASSWORD}));
                    let code = if response.status == 201 { String::new() } else { response.code().to_owned() };
                    (response.status, code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners = statuses.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(winners, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|(status, code)| *status == 201 || (*status == 409 && code == "username_taken")),
        "{statuses:?}"
    );
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM ftp_users WHERE username = 'contested'"), 1);
    // Also taken for a later request of anyone.
    let late = create(&server, &f.sibling, &f.siblings, json!({"username": "contested", "password": PASSWORD}));
    assert_eq!((late.status, late.code()), (409, "username_taken"));
});

both_backends!(the_plan_quota_holds_and_only_active_services_get_ftp_users, |server| {
    let f = Fixture::build(&server);
    created(&server, &f.owner, &f.service, "first");
    created(&server, &f.owner, &f.service, "second");
    let third = create(&server, &f.owner, &f.service, json!({"username": "third", "password": PASSWORD}));
    assert_eq!((third.status, third.code()), (409, "quota_exceeded"));
    // The quota is per service: the owner's second service has room.
    created(&server, &f.owner, &f.second, "third");

    let suspended = server.post(
        &format!("/v1/services/{}/suspend", f.second),
        Some(&f.reseller_a.token),
        json!({"reason": "unpaid"}),
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let refused = create(&server, &f.owner, &f.second, json!({"username": "fourth", "password": PASSWORD}));
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
    let id = server.get(&path(&f.second), Some(&f.owner.token)).ids()[0].clone();
    let item = format!("{}/{id}", path(&f.second));
    let refused = server.patch(&item, Some(&f.reseller_a.token), json!({"directory": "x"}));
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
    let refused = server.delete(&item, Some(&f.reseller_a.token));
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
    // Input is checked before state.
    let invalid = create(&server, &f.reseller_a, &f.second, json!({"username": "x", "password": PASSWORD}));
    assert_eq!(invalid.status, 422);
    assert_eq!(server.count(&format!("SELECT COUNT(*) AS n FROM ftp_users WHERE service_id = '{}'", f.second)), 1);
});

both_backends!(a_retry_with_the_same_idempotency_key_creates_once, |server| {
    let f = Fixture::build(&server);
    let body = json!({"username": "retried", "password": PASSWORD});
    let send = || {
        server.send(
            "POST",
            &path(&f.service),
            Some(&f.owner.token),
            Body::Json(body.clone()),
            &[("idempotency-key", "k-1")],
        )
    };
    let first = send();
    assert_eq!(first.status, 201, "{}", first.body);
    let again = send();
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.str("id"), first.str("id"));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM ftp_users"), 1);
    let _ = (&f.reseller_b, &f.sibling);
});

both_backends!(only_services_that_can_limit_them_hold_ftp_users_and_databases, |server| {
    let fixture = Fixture::build(&server);
    // A mail hosting plan cannot limit FTP users or databases: its services hold none,
    // or a cheap mail plan would carry unlimited ones.
    let mail_plan = server.post(
        "/v1/plans",
        Some(&fixture.reseller_a.token),
        json!({"name": "Mail", "service_kind": "mail_hosting", "quotas": {"mailboxes": 5}, "public": true,
               "prices": [{"cycle": "monthly", "amount_minor": 200, "currency": "EUR"}]}),
    );
    assert_eq!(mail_plan.status, 201, "{}", mail_plan.body);
    let mail = server.sell(&fixture.reseller_a, &fixture.owner, &mail_plan.str("id"));

    let ftp = create(&server, &fixture.owner, &mail, json!({"username": "mail-ftp", "password": PASSWORD}));
    assert_eq!((ftp.status, ftp.code()), (409, "wrong_service_kind"), "{}", ftp.body);
    let database = server.post(
        &format!("/v1/services/{mail}/databases"),
        Some(&fixture.owner.token),
        json!({"name": "shop", "engine": "mysql", "user": "shop", "password": PASSWORD}),
    );
    assert_eq!((database.status, database.code()), (409, "wrong_service_kind"), "{}", database.body);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM ftp_users"), 0);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM databases"), 0);

    // The web hosting service next to it takes them.
    assert_eq!(
        create(&server, &fixture.owner, &fixture.service, json!({"username": "web-ftp", "password": PASSWORD})).status,
        201
    );
});
