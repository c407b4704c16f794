//! Logging in as a customer (QUALITY.md 10): ancestors only, a short token carrying the
//! real actor, refused on credential routes, audited with both people, and ended with
//! the actor's own tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::support::*;

fn impersonate(server: &Server, actor: &Account, target_id: &str) -> Response {
    server.post(&format!("/v1/customers/{target_id}/impersonate"), Some(&actor.token), json!({}))
}

fn token_of(server: &Server, actor: &Account, target_id: &str) -> String {
    let response = impersonate(server, actor, target_id);
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("access_token")
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

both_backends!(
    an_ancestor_acts_as_a_customer_and_both_are_in_the_audit_log,
    env = &[("HOSTADMIN_ACCESS_TOKEN_TTL_SECONDS", "3600")],
    |server| {
        let tree = Tree::build(&server);
        let response = impersonate(&server, &tree.reseller_a, &tree.customer_a1.id);
        assert_eq!(response.status, 201, "{}", response.body);
        assert_eq!(response.body["token_type"], "Bearer");
        assert_eq!(response.body["expires_in"], 900, "at most 15 minutes, however long normal tokens live");
        assert!(response.body.get("refresh_token").is_none(), "no refresh token");
        assert_eq!(response.header("cache-control"), Some("no-store"));
        let token = response.str("access_token");
        let claims = claims(&token);
        assert_eq!(claims["sub"], tree.customer_a1.id.as_str());
        assert_eq!(claims["act"]["sub"], tree.reseller_a.id.as_str(), "the token carries the real actor");
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);

        let me = server.get("/v1/me", Some(&token));
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.body["id"], tree.customer_a1.id.as_str());
        assert_eq!(me.body["impersonated_by"], tree.reseller_a.id.as_str());
        assert_eq!(server.get("/v1/me", Some(&tree.customer_a1.token)).body["impersonated_by"], Value::Null);

        let (actor, customer) = (&tree.reseller_a.id, &tree.customer_a1.id);
        let started = format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'customer.impersonate' AND actor_id = '{actor}' \
         AND target_id = '{customer}' AND details LIKE '%{actor}%' AND details LIKE '%{customer}%'"
        );
        assert_eq!(server.count(&started), 1);
        let renamed = server.patch("/v1/me", Some(&token), json!({"name": "Renamed by support"}));
        assert_eq!(renamed.status, 200, "profile changes are allowed: {}", renamed.body);
        let on_behalf = format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'account.update' AND actor_id = '{actor}' \
         AND on_behalf_of = '{customer}'"
        );
        assert_eq!(server.count(&on_behalf), 1, "changes under the token name the actor and the customer");

        let refresh = server.post("/v1/auth/refresh", None, json!({"refresh_token": tree.customer_a1.refresh}));
        assert_eq!(refresh.status, 200, "the customer's own session is untouched");
        let deeper = impersonate(&server, &tree.operator, &tree.sub_customer.id);
        assert_eq!(deeper.status, 201, "operators reach every non-operator account");
        assert_eq!(impersonate(&server, &tree.reseller_a, &tree.sub_reseller.id).status, 201, "resellers too");
    }
);

both_backends!(only_ancestors_impersonate, |server| {
    let tree = Tree::build(&server);
    let other_operator = server.operator("operator-two");
    let cases: [(&Account, &str, u16, &str); 7] = [
        (&tree.reseller_b, &tree.customer_a1.id, 404, "not_found"),
        (&tree.sub_reseller, &tree.customer_a1.id, 404, "not_found"),
        (&tree.sub_reseller, &tree.reseller_a.id, 404, "not_found"),
        (&tree.reseller_a, &tree.reseller_a.id, 404, "not_found"),
        (&tree.operator, &other_operator.id, 404, "not_found"),
        (&tree.customer_a1, &tree.customer_a2.id, 403, "forbidden"),
        (&tree.operator, "not-an-id", 404, "not_found"),
    ];
    for (actor, target, status, code) in cases {
        let refused = impersonate(&server, actor, target);
        assert_eq!((refused.status, refused.code()), (status, code), "{} -> {target}", actor.login);
    }
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM sessions WHERE impersonator_id IS NOT NULL"), 0);

    let keyed = server.send(
        "POST",
        &format!("/v1/customers/{}/impersonate", tree.customer_a1.id),
        Some(&tree.reseller_a.token),
        Body::Json(json!({})),
        &[("idempotency-key", "k1")],
    );
    assert_eq!((keyed.status, keyed.code()), (400, "idempotency_not_supported"));

    let key_without = server.post(
        "/v1/me/api-keys",
        Some(&tree.reseller_a.token),
        json!({"name": "no impersonation", "scopes": ["customers:read", "customers:write"]}),
    );
    let refused = server.post(
        &format!("/v1/customers/{}/impersonate", tree.customer_a1.id),
        Some(&key_without.str("key")),
        json!({}),
    );
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    let key_with = server.post(
        "/v1/me/api-keys",
        Some(&tree.reseller_a.token),
        json!({"name": "support", "scopes": ["impersonate"]}),
    );
    let allowed = server.post(
        &format!("/v1/customers/{}/impersonate", tree.customer_a1.id),
        Some(&key_with.str("key")),
        json!({}),
    );
    assert_eq!(allowed.status, 201, "{}", allowed.body);
    assert_eq!(
        server.get("/v1/me", Some(&allowed.str("access_token"))).body["impersonated_by"],
        tree.reseller_a.id.as_str()
    );
});

both_backends!(a_blocked_account_cannot_be_impersonated, |server| {
    let tree = Tree::build(&server);
    let token = token_of(&server, &tree.reseller_a, &tree.customer_a1.id);
    let blocked = server.post(
        &format!("/v1/customers/{}/block", tree.customer_a1.id),
        Some(&tree.reseller_a.token),
        json!({"reason": "chargeback"}),
    );
    assert_eq!(blocked.status, 200, "{}", blocked.body);
    assert_eq!(server.get("/v1/me", Some(&token)).status, 401, "the running impersonation ends with the block");
    let refused = impersonate(&server, &tree.reseller_a, &tree.customer_a1.id);
    assert_eq!((refused.status, refused.code()), (409, "account_blocked"));
});

both_backends!(credential_routes_answer_impersonation_forbidden, |server| {
    let tree = Tree::build(&server);
    let key = server.post(
        "/v1/me/api-keys",
        Some(&tree.sub_reseller.token),
        json!({"name": "own key", "scopes": ["customers:read"]}),
    );
    let key_id = key.str("id");
    // A reseller is impersonated, so that routes resellers may call are refused for the
    // impersonation alone.
    let token = token_of(&server, &tree.reseller_a, &tree.sub_reseller.id);
    let key_path = format!("/v1/me/api-keys/{key_id}");
    let impersonate_path = format!("/v1/customers/{}/impersonate", tree.sub_customer.id);
    // Grants are refused before any lookup, so an id that does not exist shows it too.
    let grant_path = "/v1/authorizations/01900000-0000-7000-8000-000000000000";
    let accept_path = format!("{grant_path}/accept");
    let refused: Vec<(&str, &str, Body)> = vec![
        (
            "PUT",
            "/v1/me/password",
            Body::Json(json!({"current_password": PASSWORD, "new_password": "another long passphrase"})),
        ),
        ("PATCH", "/v1/me", Body::Json(json!({"email": "new@example.test", "current_password": PASSWORD}))),
        ("POST", "/v1/me/two-factor", Body::Json(json!({"password": PASSWORD}))),
        ("POST", "/v1/me/two-factor/confirm", Body::Json(json!({"code": "123456"}))),
        ("POST", "/v1/me/two-factor/disable", Body::Json(json!({"password": PASSWORD, "code": "123456"}))),
        ("GET", "/v1/me/api-keys", Body::None),
        ("POST", "/v1/me/api-keys", Body::Json(json!({"name": "sneaky", "scopes": ["customers:read"]}))),
        ("GET", key_path.as_str(), Body::None),
        ("DELETE", key_path.as_str(), Body::None),
        ("POST", "/v1/auth/logout", Body::Json(json!({"everywhere": true}))),
        ("POST", impersonate_path.as_str(), Body::Json(json!({}))),
        ("POST", "/v1/authorizations", Body::Json(json!({"grantee": "customer-a2", "permissions": ["view"]}))),
        ("PATCH", grant_path, Body::Json(json!({"permissions": ["view"]}))),
        ("DELETE", grant_path, Body::None),
        ("POST", accept_path.as_str(), Body::Json(json!({}))),
    ];
    for (method, path, body) in refused {
        let response = server.send(method, path, Some(&token), body, &[]);
        assert_eq!((response.status, response.code()), (403, "impersonation_forbidden"), "{method} {path}");
    }
    // Nothing changed: the key lives, the password and email are the same.
    assert_eq!(server.get(&key_path, Some(&tree.sub_reseller.token)).status, 200);
    assert_eq!(server.get("/v1/me", Some(&tree.sub_reseller.token)).body["pending_email"], Value::Null);
    assert_eq!(server.post("/v1/auth/login", None, json!({"login": "sub-reseller", "password": PASSWORD})).status, 200);

    // What the customer may do is allowed: reading, and ending this session.
    assert_eq!(server.get("/v1/customers", Some(&token)).status, 200);
    assert_eq!(server.post("/v1/auth/logout", Some(&token), json!({})).status, 204);
    assert_eq!(server.get("/v1/me", Some(&token)).status, 401, "logging out ends the impersonation");
    assert_eq!(server.get("/v1/me", Some(&tree.sub_reseller.token)).status, 200, "not the customer's sessions");
});

both_backends!(the_impersonation_ends_when_the_actors_tokens_end, |server| {
    let tree = Tree::build(&server);
    let token = token_of(&server, &tree.reseller_a, &tree.customer_a1.id);
    assert_eq!(server.get("/v1/me", Some(&token)).status, 200);
    let other = server.login("reseller-a", PASSWORD);
    assert_eq!(server.post("/v1/auth/logout", Some(&other.token), json!({"everywhere": true})).status, 204);
    assert_eq!(server.get("/v1/me", Some(&token)).status, 401, "the actor logged out everywhere");
    assert_eq!(server.get("/v1/me", Some(&tree.customer_a1.token)).status, 200, "the customer is untouched");

    let actor = server.login("reseller-a", PASSWORD);
    let token = token_of(&server, &actor, &tree.customer_a1.id);
    let changed = server.put(
        "/v1/me/password",
        Some(&actor.token),
        json!({"current_password": PASSWORD, "new_password": "a different long passphrase"}),
    );
    assert_eq!(changed.status, 204, "{}", changed.body);
    assert_eq!(server.get("/v1/me", Some(&token)).status, 401, "the actor changed its password");

    let operator_token = token_of(&server, &tree.operator, &tree.customer_b1.id);
    // Only the token version moves (no session is ended): the claim alone ends it.
    let operator_id = &tree.operator.id;
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!("UPDATE accounts SET token_version = token_version + 1 WHERE id = '{operator_id}'")),
        &mut server.database.connect(),
    )
    .unwrap();
    assert_eq!(server.get("/v1/me", Some(&operator_token)).status, 401);

    let block_actor = token_of(&server, &tree.reseller_b, &tree.customer_b2.id);
    let operator = server.login("operator", PASSWORD);
    let blocked = server.post(
        &format!("/v1/customers/{}/block", tree.reseller_b.id),
        Some(&operator.token),
        json!({"reason": "fraud"}),
    );
    assert_eq!(blocked.status, 200, "{}", blocked.body);
    assert_eq!(server.get("/v1/me", Some(&block_actor)).status, 401, "the actor is blocked");
});

both_backends!(a_suspended_actor_reads_through_its_impersonation_but_changes_nothing, |server| {
    let tree = Tree::build(&server);
    let token = token_of(&server, &tree.reseller_a, &tree.customer_a1.id);
    let rename = |name: &str| server.patch("/v1/me", Some(&token), json!({"name": name}));
    assert_eq!(rename("Before").status, 200);

    let suspended = server.post(
        &format!("/v1/customers/{}/suspend", tree.reseller_a.id),
        Some(&tree.operator.token),
        json!({"reason": "unpaid invoices"}),
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    // An actor is always above the account it logs in as, so its suspension reaches that
    // account too: the token reads, and changes nothing from the next request on.
    assert_eq!(server.get("/v1/me", Some(&token)).status, 200);
    let refused = rename("During");
    assert_eq!((refused.status, refused.code()), (403, "account_suspended"), "{}", refused.body);

    let lifted =
        server.post(&format!("/v1/customers/{}/unsuspend", tree.reseller_a.id), Some(&tree.operator.token), json!({}));
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    assert_eq!(rename("After").status, 200);
});
