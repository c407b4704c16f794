//! Databases of a hosting service: stored names and users prefixed with the service
//! number and at most 32 characters, unique per engine (also when requests race), the
//! password kept sealed for the provisioner and never returned, quotas, tenancy,
//! grants, scopes and restrictions.

use base64::Engine as _;
use hostadmin_domain::sealing::Sealer;

use crate::ftp_users::text;
use crate::support::*;

struct Fixture {
    reseller_a: Account,
    owner: Account,
    sibling: Account,
    other: Account,
    service: String,
    number: i64,
    second: String,
    siblings: String,
}

impl Fixture {
    fn build(server: &Server) -> Self {
        let operator = server.operator("operator");
        let reseller_a = server.create(&operator, "reseller-a", "reseller");
        let reseller_b = server.create(&operator, "reseller-b", "reseller");
        let owner = server.create(&reseller_a, "owner", "customer");
        let sibling = server.create(&reseller_a, "sibling", "customer");
        let other = server.create(&reseller_b, "other", "customer");
        let response = server.post(
            "/v1/plans",
            Some(&reseller_a.token),
            json!({"name": "Web DB", "service_kind": "web_hosting", "quotas": {"databases": 2}, "public": true,
                   "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
        );
        assert_eq!(response.status, 201, "{}", response.body);
        let plan = response.str("id");
        let service = server.sell(&reseller_a, &owner, &plan);
        let second = server.sell(&reseller_a, &owner, &plan);
        let siblings = server.sell(&reseller_a, &sibling, &plan);
        let number = server.get(&format!("/v1/services/{service}"), Some(&owner.token)).body["number"]
            .as_i64()
            .expect("a service number");
        Self { reseller_a, owner, sibling, other, service, number, second, siblings }
    }
}

fn path(service: &str) -> String {
    format!("/v1/services/{service}/databases")
}

fn create(server: &Server, account: &Account, service: &str, body: Value) -> Response {
    server.post(&path(service), Some(&account.token), body)
}

fn created(server: &Server, account: &Account, service: &str, name: &str, engine: &str) -> Response {
    let response =
        create(server, account, service, json!({"name": name, "engine": engine, "user": name, "password": PASSWORD}));
    assert_eq!(response.status, 201, "{}", response.body);
    response
}

fn opened(server: &Server, id: &str) -> String {
    let sealed = text(server, &format!("SELECT password_sealed AS t FROM databases WHERE id = '{id}'"));
    let key: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(ENCRYPTION_KEY)
        .expect("the test key is base64")
        .try_into()
        .expect("32 bytes");
    let clear = Sealer::new(&key).open(&format!("database:{id}"), &sealed).expect("the sealed password opens");
    String::from_utf8(clear).expect("UTF-8")
}

fn events(server: &Server, action: &str, target: &str) -> i64 {
    server
        .count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}' AND target_id = '{target}'"))
}

both_backends!(a_database_is_created_with_prefixed_names_and_a_sealed_password, |server| {
    let f = Fixture::build(&server);
    let secret = "database passphrase 42";
    let response = create(
        &server,
        &f.owner,
        &f.service,
        json!({"name": "shop", "engine": "mysql", "user": "shop_rw", "password": secret}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    let id = response.str("id");
    assert_eq!(response.header("location"), Some(format!("/v1/services/{}/databases/{id}", f.service).as_str()));
    assert_eq!(response.header("etag"), Some("\"v1\""));
    assert_eq!(response.body["name"], format!("{}_shop", f.number));
    assert_eq!(response.body["user"], format!("{}_shop_rw", f.number));
    assert_eq!(response.body["engine"], "mysql");
    assert!(response.body.get("password").is_none() && response.body.get("password_sealed").is_none());
    assert!(!response.text.contains(secret));

    // Kept sealed, bound to the database's id, opening to the password.
    assert_eq!(
        server.count(&format!("SELECT COUNT(*) AS n FROM databases WHERE password_sealed LIKE '%{secret}%'")),
        0
    );
    assert_eq!(opened(&server, &id), secret);
    assert_eq!(events(&server, "database.create", &id), 1);
    assert_eq!(
        server.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE target_id = '{id}' AND details LIKE '%{secret}%'"
        )),
        0
    );

    let one = server.get(&format!("{}/{id}", path(&f.service)), Some(&f.owner.token));
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["user"], format!("{}_shop_rw", f.number));
    assert!(!one.text.contains("v1.") && !one.text.contains(secret));
    let pg = created(&server, &f.owner, &f.service, "shop", "postgresql");
    let list = server.get(&path(&f.service), Some(&f.owner.token));
    assert_eq!(list.ids(), vec![pg.str("id"), id.clone()], "newest first");
    let mysql_only = server.get(&format!("{}?engine=mysql", path(&f.service)), Some(&f.owner.token));
    assert_eq!(mysql_only.ids(), vec![id.clone()]);
    let by_name = server.get(&format!("{}?q={}_SH", path(&f.service), f.number), Some(&f.owner.token));
    assert_eq!(by_name.ids().len(), 2);

    // A new password is sealed again; the answer never shows it.
    let item = format!("{}/{id}", path(&f.service));
    let stale = server.send(
        "PATCH",
        &item,
        Some(&f.owner.token),
        Body::Json(json!({"password": "another long passphrase"})),
        &[("if-match", "\"v7\"")],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    assert_eq!(opened(&server, &id), secret, "a refused change changes nothing");
    let changed = server.patch(&item, Some(&f.owner.token), json!({"password": "another long passphrase"}));
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.header("etag"), Some("\"v2\""));
    assert!(!changed.text.contains("another long passphrase"));
    assert_eq!(opened(&server, &id), "another long passphrase");
    assert_eq!(events(&server, "database.update", &id), 1);
    let renamed = server.patch(&item, Some(&f.owner.token), json!({"name": "other"}));
    assert_eq!((renamed.status, renamed.code()), (422, "unknown_field"));

    let removed = server.send("DELETE", &item, Some(&f.owner.token), Body::None, &[("if-match", "\"v2\"")]);
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert_eq!(server.get(&item, Some(&f.owner.token)).status, 404);
    assert_eq!(events(&server, "database.delete", &id), 1);
});

both_backends!(names_users_and_passwords_are_checked_with_pointers, |server| {
    let f = Fixture::build(&server);
    let prefix = format!("{}_", f.number).len();
    let longest = "a".repeat(32 - prefix);
    let too_long = "a".repeat(33 - prefix);
    let refused = |body: Value| {
        let response = create(&server, &f.owner, &f.service, body);
        assert_eq!(response.status, 422, "{}", response.body);
        response
    };
    for name in ["", "Shop", "1shop", "_shop", "sho-p", "shop;drop", "shöp", too_long.as_str()] {
        let response = refused(json!({"name": name, "engine": "mysql", "user": "u", "password": PASSWORD}));
        assert_eq!(response.pointers(), vec!["/name".to_owned()], "{name:?}: {}", response.body);
        let response = refused(json!({"name": "db", "engine": "mysql", "user": name, "password": PASSWORD}));
        assert_eq!(response.pointers(), vec!["/user".to_owned()], "{name:?}: {}", response.body);
    }
    let both = refused(json!({"name": too_long, "engine": "mysql", "user": too_long, "password": "short"}));
    assert_eq!(both.pointers(), vec!["/name", "/user", "/password"]);
    assert_eq!(both.body["errors"][0]["code"], "too_long");
    let engine = refused(json!({"name": "db", "engine": "mariadb", "user": "u", "password": PASSWORD}));
    assert_eq!(engine.pointers(), vec!["/engine".to_owned()], "{}", engine.body);
    let unknown = refused(json!({"name": "db", "engine": "mysql", "user": "u", "password": PASSWORD, "host": "x"}));
    assert_eq!(unknown.code(), "unknown_field");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM databases"), 0);

    // Exactly 32 characters fit.
    let fits = created(&server, &f.owner, &f.service, &longest, "postgresql");
    assert_eq!(fits.str("name").len(), 32);
    let id = fits.str("id");
    let cleared = server.patch(&format!("{}/{id}", path(&f.service)), Some(&f.owner.token), json!({"password": null}));
    assert_eq!((cleared.status, cleared.pointers()), (422, vec!["/password".to_owned()]));
    let weak =
        server.patch(&format!("{}/{id}", path(&f.service)), Some(&f.owner.token), json!({"password": "12345678"}));
    assert_eq!((weak.status, weak.pointers()), (422, vec!["/password".to_owned()]));
});

both_backends!(names_and_users_are_unique_per_engine_even_when_racing, |server| {
    let f = Fixture::build(&server);
    created(&server, &f.owner, &f.service, "shop", "mysql");
    let same_name = create(
        &server,
        &f.owner,
        &f.service,
        json!({"name": "shop", "engine": "mysql", "user": "other", "password": PASSWORD}),
    );
    assert_eq!((same_name.status, same_name.code()), (409, "database_taken"));
    let same_user = create(
        &server,
        &f.owner,
        &f.service,
        json!({"name": "other", "engine": "mysql", "user": "shop", "password": PASSWORD}),
    );
    assert_eq!((same_user.status, same_user.code()), (409, "database_taken"));
    // Another engine is another server: the same names are free there.
    created(&server, &f.owner, &f.service, "shop", "postgresql");
    // Another service has another prefix.
    created(&server, &f.owner, &f.second, "shop", "mysql");

    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let server = &server;
                let f = &f;
                scope.spawn(move || {
                    let response = create(
                        server,
                        &f.sibling,
                        &f.siblings,
                        json!({"name": "race", "engine": "mysql", "user": "race", "password": PASSWORD}),
                    );
                    let code = if response.status == 201 { String::new() } else { response.code().to_owned() };
                    (response.status, code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|(s, _)| *s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|(s, c)| *s == 201 || (*s == 409 && c == "database_taken")), "{statuses:?}");
});

both_backends!(tenancy_grants_scopes_and_restrictions, |server| {
    let f = Fixture::build(&server);
    let mine = created(&server, &f.owner, &f.service, "mine", "mysql").str("id");
    let in_second = created(&server, &f.owner, &f.second, "second", "mysql").str("id");
    let item = |service: &str, id: &str| format!("{}/{id}", path(service));
    for outsider in [&f.sibling, &f.other] {
        let body = json!({"name": "x", "engine": "mysql", "user": "x", "password": PASSWORD});
        assert_eq!(create(&server, outsider, &f.service, body).status, 404);
        assert_eq!(server.get(&path(&f.service), Some(&outsider.token)).status, 404);
        assert_eq!(server.get(&item(&f.service, &mine), Some(&outsider.token)).status, 404);
        assert_eq!(server.patch(&item(&f.service, &mine), Some(&outsider.token), json!({})).status, 404);
        assert_eq!(server.delete(&item(&f.service, &mine), Some(&outsider.token)).status, 404);
    }
    assert_eq!(server.get(&item(&f.siblings, &mine), Some(&f.sibling.token)).status, 404);
    assert_eq!(server.get(&item(&f.service, &in_second), Some(&f.owner.token)).status, 404);
    assert_eq!(server.delete(&item(&f.service, &in_second), Some(&f.owner.token)).status, 404);
    assert_eq!(server.get(&item(&f.service, "nope"), Some(&f.owner.token)).status, 404);

    let key = server.post("/v1/me/api-keys", Some(&f.owner.token), json!({"name": "ro", "scopes": ["hosting:read"]}));
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.str("key");
    assert_eq!(server.get(&item(&f.service, &mine), Some(&key)).status, 200);
    let refused = server.post(
        &path(&f.service),
        Some(&key),
        json!({"name": "k", "engine": "mysql", "user": "k", "password": PASSWORD}),
    );
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));

    let grant = server.post(
        "/v1/authorizations",
        Some(&f.owner.token),
        json!({"grantee": f.other.login, "permissions": ["view"], "service_ids": [f.service]}),
    );
    assert_eq!(grant.status, 201, "{}", grant.body);
    let accepted =
        server.post(&format!("/v1/authorizations/{}/accept", grant.str("id")), Some(&f.other.token), json!({}));
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(server.get(&item(&f.service, &mine), Some(&f.other.token)).status, 200);
    let refused =
        server.patch(&item(&f.service, &mine), Some(&f.other.token), json!({"password": "grantee passphrase"}));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_grant"));
    let refused = server.post(
        &path(&f.service),
        Some(&f.other.token),
        json!({"name": "g", "engine": "mysql", "user": "g", "password": PASSWORD}),
    );
    assert_eq!((refused.status, refused.code()), (403, "insufficient_grant"));

    let restricted = server.put(
        &format!("/v1/customers/{}/restrictions", f.owner.id),
        Some(&f.reseller_a.token),
        json!({"disabled_actions": ["hosting.write"]}),
    );
    assert_eq!(restricted.status, 200, "{}", restricted.body);
    let refused = server.delete(&item(&f.service, &mine), Some(&f.owner.token));
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM databases"), 2);
});

both_backends!(the_plan_quota_holds_and_only_active_services_get_databases, |server| {
    let f = Fixture::build(&server);
    created(&server, &f.owner, &f.service, "one", "mysql");
    created(&server, &f.owner, &f.service, "two", "postgresql");
    let third = create(
        &server,
        &f.owner,
        &f.service,
        json!({"name": "three", "engine": "mysql", "user": "three", "password": PASSWORD}),
    );
    assert_eq!((third.status, third.code()), (409, "quota_exceeded"));

    let suspended = server.post(
        &format!("/v1/services/{}/suspend", f.second),
        Some(&f.reseller_a.token),
        json!({"reason": "unpaid"}),
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let refused = create(
        &server,
        &f.owner,
        &f.second,
        json!({"name": "one", "engine": "mysql", "user": "one", "password": PASSWORD}),
    );
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
    assert_eq!(server.count(&format!("SELECT COUNT(*) AS n FROM databases WHERE service_id = '{}'", f.second)), 0);
});
