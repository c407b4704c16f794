//! API keys (QUALITY 6; API.md "API key scopes"): shown once, stored as a hash, scoped,
//! never more than their owner, never on credential routes, revocable, expiring, never
//! accepted outside `Authorization: Bearer`.

use sha2::{Digest as _, Sha256};

use crate::support::*;

const ALL_SCOPES: [&str; 18] = [
    "account:read",
    "customers:read",
    "customers:write",
    "authorizations:read",
    "authorizations:write",
    "catalog:read",
    "catalog:write",
    "services:read",
    "services:write",
    "domains:read",
    "domains:write",
    "dns:read",
    "dns:write",
    "mail:read",
    "mail:write",
    "hosting:read",
    "hosting:write",
    "impersonate",
];

/// Creates a key for `owner`; answers the whole 201.
fn create_key(server: &Server, owner: &Account, scopes: &[&str]) -> Response {
    let response = server.post("/v1/me/api-keys", Some(&owner.token), json!({"name": "integration", "scopes": scopes}));
    assert_eq!(response.status, 201, "create key: {}", response.body);
    response
}

fn key_of(server: &Server, owner: &Account, scopes: &[&str]) -> String {
    create_key(server, owner, scopes).str("key")
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn customer(login: &str) -> Value {
    json!({"login": login, "password": PASSWORD, "name": format!("Name of {login}"), "email": format!("{login}@example.test")})
}

fn assert_code(response: &Response, status: u16, code: &str, what: &str) {
    assert_eq!(response.status, status, "{what}: {}", response.body);
    assert_eq!(response.code(), code, "{what}");
}

both_backends!(a_key_is_shown_once_and_stored_as_a_hash, |server| {
    let operator = server.operator("operator");
    let created = create_key(&server, &operator, &["customers:read"]);
    let key = created.str("key");
    let id = created.str("id");
    let secret = key.strip_prefix("hk_").unwrap_or_else(|| panic!("{key} lacks hk_"));
    assert!(secret.len() >= 43, "at least 128 random bits (here 256): {key}");
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{key}");
    let prefix = created.str("prefix");
    assert!(prefix.starts_with("hk_") && key.starts_with(&prefix) && prefix.len() < key.len() / 2, "{prefix}");
    assert_eq!(created.body["name"], "integration");
    assert_eq!(created.body["scopes"], json!(["customers:read"]));
    assert_eq!(created.body["expires_at"], Value::Null);
    assert_eq!(created.body["last_used_at"], Value::Null);
    assert_eq!(created.header("location"), Some(format!("/v1/me/api-keys/{id}").as_str()));
    assert_eq!(created.header("cache-control"), Some("no-store"));

    let another = key_of(&server, &operator, &["customers:read"]);
    assert_ne!(another, key);

    let list = server.get("/v1/me/api-keys", Some(&operator.token));
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.ids().len(), 2);
    assert!(list.ids().contains(&id));
    assert!(!list.text.contains(&key) && !list.text.contains(&another), "the list never shows a key: {}", list.body);
    for item in list.body["data"].as_array().into_iter().flatten() {
        assert!(item.get("key").is_none(), "{item}");
        assert!(item["prefix"].as_str().is_some_and(|p| p.starts_with("hk_")), "{item}");
    }
    let one = server.get(&format!("/v1/me/api-keys/{id}"), Some(&operator.token));
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(one.body.get("key").is_none() && !one.text.contains(&key), "{}", one.body);

    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        key_hash: String,
    }
    let rows: Vec<Row> =
        diesel::sql_query("SELECT key_hash FROM api_keys").load(&mut server.database.connect()).unwrap();
    assert_eq!(rows.len(), 2);
    let stored: Vec<&str> = rows.iter().map(|r| r.key_hash.as_str()).collect();
    for (plain, hash) in [(&key, sha256_hex(&key)), (&another, sha256_hex(&another))] {
        assert!(stored.contains(&hash.as_str()), "the SHA-256 of the key is stored: {stored:?}");
        for value in &stored {
            assert!(!value.contains(plain.as_str()) && !value.contains(secret), "the key itself is stored: {value}");
        }
    }
    // The stored value does not work as a key.
    assert_eq!(server.get("/v1/customers", Some(&format!("hk_{}", stored[0]))).status, 401);
    assert_eq!(server.get("/v1/customers", Some(stored[0])).status, 401);
});

both_backends!(a_key_acts_within_its_scopes_and_its_owner, |server| {
    let operator = server.operator("operator");
    let reader = create_key(&server, &operator, &["customers:read"]);
    let key = reader.str("key");

    let list = server.get("/v1/customers", Some(&key));
    assert_eq!(list.status, 200, "{}", list.body);
    assert_code(
        &server.post("/v1/customers", Some(&key), customer("by-key")),
        403,
        "insufficient_scope",
        "POST /v1/customers",
    );
    assert_code(&server.get("/v1/me", Some(&key)), 403, "insufficient_scope", "GET /v1/me without account:read");
    // The refused write changed nothing.
    assert_eq!(server.get("/v1/customers", Some(&operator.token)).ids(), Vec::<String>::new());

    let keys = server.get("/v1/me/api-keys", Some(&operator.token));
    let used = keys.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["id"] == reader.body["id"])
        .cloned()
        .unwrap_or_default();
    assert!(used["last_used_at"].is_string(), "last_used_at is set after a use: {used}");

    // A key with every scope still never reaches the credential routes.
    let everything = key_of(&server, &operator, &ALL_SCOPES);
    let me = server.get("/v1/me", Some(&everything));
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.str("id"), operator.id);
    let write = server.post("/v1/customers", Some(&everything), customer("by-key"));
    assert_eq!(write.status, 201, "{}", write.body);
    for (method, path, body) in [
        ("GET", "/v1/me/api-keys".to_owned(), Body::None),
        ("POST", "/v1/me/api-keys".to_owned(), Body::Json(json!({"name": "child", "scopes": ["customers:read"]}))),
        ("GET", format!("/v1/me/api-keys/{}", reader.str("id")), Body::None),
        ("DELETE", format!("/v1/me/api-keys/{}", reader.str("id")), Body::None),
        (
            "PUT",
            "/v1/me/password".to_owned(),
            Body::Json(json!({"current_password": PASSWORD, "new_password": "a different long passphrase"})),
        ),
        ("POST", "/v1/auth/logout".to_owned(), Body::Json(json!({}))),
        ("POST", "/v1/auth/logout".to_owned(), Body::Json(json!({"everywhere": true}))),
        (
            "PATCH",
            "/v1/me".to_owned(),
            Body::Json(json!({"email": "new@operators.test", "current_password": PASSWORD})),
        ),
    ] {
        let response = server.send(method, &path, Some(&everything), body, &[]);
        assert_code(&response, 403, "forbidden", &format!("{method} {path} with an API key"));
    }
    // Nothing of that happened: the session, the password and the first key still work.
    assert_eq!(server.get("/v1/me", Some(&operator.token)).status, 200);
    assert_eq!(server.get("/v1/customers", Some(&key)).status, 200);
    assert_eq!(server.get("/v1/me", Some(&operator.token)).body["pending_email"], Value::Null);

    // A key can do no more than its owner: customers never list customers.
    let client = server.create(&operator, "client", "customer");
    let client_key = key_of(&server, &client, &["customers:read", "account:read"]);
    assert_code(&server.get("/v1/customers", Some(&client_key)), 403, "forbidden", "a customer's key on /v1/customers");
    assert_eq!(server.get("/v1/me", Some(&client_key)).status, 200);

    // Only `Authorization: Bearer` carries a key.
    for (path, headers) in [
        (format!("/v1/customers?api_key={key}"), vec![]),
        (format!("/v1/customers?access_token={key}"), vec![]),
        ("/v1/customers".to_owned(), vec![("x-api-key", key.as_str())]),
        ("/v1/customers".to_owned(), vec![("authorization", key.as_str())]),
    ] {
        let response = server.send("GET", &path, None, Body::None, &headers);
        assert_code(&response, 401, "unauthenticated", &format!("{path} {headers:?}"));
    }
});

both_backends!(revoked_and_expired_keys_stop_working, |server| {
    let operator = server.operator("operator");
    let created = create_key(&server, &operator, &["customers:read"]);
    let (id, key) = (created.str("id"), created.str("key"));
    assert_eq!(server.get("/v1/customers", Some(&key)).status, 200);
    let revoked = server.delete(&format!("/v1/me/api-keys/{id}"), Some(&operator.token));
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert_code(&server.get("/v1/customers", Some(&key)), 401, "unauthenticated", "a revoked key");
    assert_code(
        &server.delete(&format!("/v1/me/api-keys/{id}"), Some(&operator.token)),
        404,
        "not_found",
        "revoking twice",
    );
    assert!(!server.get("/v1/me/api-keys", Some(&operator.token)).ids().contains(&id));
    // Another account's key is not the caller's to revoke.
    let other = server.operator("other");
    let theirs = create_key(&server, &other, &["customers:read"]);
    assert_code(
        &server.delete(&format!("/v1/me/api-keys/{}", theirs.str("id")), Some(&operator.token)),
        404,
        "not_found",
        "another account's key",
    );
    assert_eq!(server.get("/v1/customers", Some(&theirs.str("key"))).status, 200);
    assert_code(&server.delete("/v1/me/api-keys/not-an-id", Some(&operator.token)), 404, "not_found", "a malformed id");

    let expires_at =
        (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let expiring = server.post(
        "/v1/me/api-keys",
        Some(&operator.token),
        json!({"name": "short-lived", "scopes": ["customers:read"], "expires_at": expires_at}),
    );
    assert_eq!(expiring.status, 201, "{}", expiring.body);
    assert!(expiring.body["expires_at"].is_string(), "{}", expiring.body);
    let short = expiring.str("key");
    assert_eq!(server.get("/v1/customers", Some(&short)).status, 200);
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_code(&server.get("/v1/customers", Some(&short)), 401, "unauthenticated", "an expired key");
});

both_backends!(key_requests_are_validated, |server| {
    let operator = server.operator("operator");
    let token = Some(operator.token.as_str());
    let refused = |body: Value, pointer: &str| {
        let response = server.post("/v1/me/api-keys", token, body.clone());
        assert_eq!(response.status, 422, "{body}: {}", response.body);
        response.code();
        assert!(response.pointers().contains(&pointer.to_owned()), "{body}: {:?}", response.pointers());
    };
    refused(json!({"name": "k", "scopes": ["customers:read", "customers:delete"]}), "/scopes/1");
    refused(json!({"name": "k", "scopes": []}), "/scopes");
    refused(json!({"name": "k", "scopes": ["customers:read"], "expires_at": "2020-01-01T00:00:00Z"}), "/expires_at");
    // The clock decides these two, so they have codes of their own.
    for (expires_at, code) in [("2020-01-01T00:00:00Z", "in_the_past"), ("2999-01-01T00:00:00Z", "too_far_ahead")] {
        let response = server.post(
            "/v1/me/api-keys",
            token,
            json!({"name": "k", "scopes": ["customers:read"], "expires_at": expires_at}),
        );
        assert_eq!(response.body["errors"][0]["code"], code, "{}", response.body);
    }
    refused(json!({"name": "k", "scopes": ["customers:read"], "expires_at": "tomorrow"}), "/expires_at");
    refused(json!({"name": "", "scopes": ["customers:read"]}), "/name");
    refused(json!({"name": "k"}), "/scopes");
    refused(json!({"name": "k", "scopes": ["customers:read"], "owner": "someone"}), "/owner");

    let idempotent = server.send(
        "POST",
        "/v1/me/api-keys",
        token,
        Body::Json(json!({"name": "k", "scopes": ["customers:read"]})),
        &[("idempotency-key", "once")],
    );
    assert_code(&idempotent, 400, "idempotency_not_supported", "Idempotency-Key on a secret's route");
    assert_eq!(server.get("/v1/me/api-keys", token).ids(), Vec::<String>::new(), "no key was created");
});

both_backends!(keys_survive_a_password_change, |server| {
    let operator = server.operator("operator");
    let key = key_of(&server, &operator, &["customers:read", "account:read"]);
    let changed = server.put(
        "/v1/me/password",
        Some(&operator.token),
        json!({"current_password": PASSWORD, "new_password": "a different long passphrase"}),
    );
    assert_eq!(changed.status, 204, "{}", changed.body);
    assert_code(&server.get("/v1/me", Some(&operator.token)), 401, "unauthenticated", "the old access token");
    assert_eq!(server.get("/v1/customers", Some(&key)).status, 200);
    assert_eq!(server.get("/v1/me", Some(&key)).status, 200);
    let again = server.login("operator", "a different long passphrase");
    assert_eq!(again.id, operator.id);
});

both_backends!(a_suspended_account_sees_and_revokes_its_keys_but_makes_none, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let made = server.post("/v1/me/api-keys", Some(&customer.token), json!({"name": "ci", "scopes": ["account:read"]}));
    assert_eq!(made.status, 201, "{}", made.body);
    let suspended =
        server.post(&format!("/v1/customers/{}/suspend", customer.id), Some(&reseller.token), json!({"reason": "x"}));
    assert_eq!(suspended.status, 200, "{}", suspended.body);

    let listed = server.get("/v1/me/api-keys", Some(&customer.token));
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.ids(), [made.str("id")]);
    let one = format!("/v1/me/api-keys/{}", made.str("id"));
    assert_eq!(server.get(&one, Some(&customer.token)).status, 200);
    let another = server.post("/v1/me/api-keys", Some(&customer.token), json!({"name": "x", "scopes": []}));
    assert_eq!((another.status, another.code()), (403, "account_suspended"));
    // A key that may have leaked is revoked even while suspended.
    assert_eq!(server.delete(&one, Some(&customer.token)).status, 204);
    assert_eq!(server.get(&one, Some(&customer.token)).status, 404);
});
