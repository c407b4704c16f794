//! Two-factor login (QUALITY.md 7): enrolment with the password, confirmation with ten
//! recovery codes, login with a code or a recovery code (each accepted once, also
//! against parallel requests), disabling, and an ancestor's reset.

use hostadmin_domain::two_factor::{step_of, TotpSecret};

use crate::support::*;

fn now_step() -> i64 {
    step_of(chrono::Utc::now().timestamp())
}

fn code(secret: &TotpSecret, step: i64) -> String {
    secret.code_at_step(step)
}

fn login_with(server: &Server, login: &str, extra: Value) -> Response {
    let mut body = json!({"login": login, "password": PASSWORD});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    server.post("/v1/auth/login", None, body)
}

/// Enrols and confirms with the current step's code; answers the secret, the step the
/// confirmation used and the recovery codes.
fn enable(server: &Server, account: &Account) -> (TotpSecret, i64, Vec<String>) {
    let started = server.post("/v1/me/two-factor", Some(&account.token), json!({"password": PASSWORD}));
    assert_eq!(started.status, 201, "{}", started.body);
    let secret = TotpSecret::from_base32(&started.str("secret")).expect("a 20-byte base32 secret");
    let step = now_step();
    let confirmed =
        server.post("/v1/me/two-factor/confirm", Some(&account.token), json!({"code": code(&secret, step)}));
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let codes = confirmed.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned());
    (secret, step, codes.collect())
}

both_backends!(enrolment_confirms_with_a_code_and_login_then_needs_one, |server| {
    let tree = Tree::build(&server);
    let customer = &tree.customer_a1;
    let started = server.post("/v1/me/two-factor", Some(&customer.token), json!({"password": PASSWORD}));
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(started.header("cache-control"), Some("no-store"));
    let secret_text = started.str("secret");
    let uri = started.str("otpauth_uri");
    assert!(uri.starts_with("otpauth://totp/hostadmin:customer-a1?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret_text}")), "{uri}");
    let me = server.get("/v1/me", Some(&customer.token));
    assert_eq!(me.body["two_factor_enabled"], false, "not on before the confirmation");
    assert_eq!(server.post("/v1/auth/login", None, json!({"login": "customer-a1", "password": PASSWORD})).status, 200);

    let secret = TotpSecret::from_base32(&secret_text).unwrap();
    let step = now_step();
    let confirmed =
        server.post("/v1/me/two-factor/confirm", Some(&customer.token), json!({"code": code(&secret, step)}));
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let codes: Vec<&str> =
        confirmed.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10, "all different");
    for recovery in &codes {
        assert_eq!(recovery.len(), 19, "{recovery}");
        assert!(recovery.chars().all(|c| c == '-' || c.is_ascii_uppercase() || ('2'..='7').contains(&c)));
    }
    assert_eq!(server.get("/v1/me", Some(&customer.token)).body["two_factor_enabled"], true);

    // The database keeps the secret sealed and the recovery codes hashed.
    let id = &customer.id;
    assert_eq!(
        server.count(&format!(
            "SELECT COUNT(*) AS n FROM accounts WHERE id = '{id}' AND totp_secret_sealed LIKE 'v1.%' \
             AND totp_secret_sealed NOT LIKE '%{secret_text}%' AND totp_pending_secret_sealed IS NULL"
        )),
        1
    );
    assert_eq!(server.count(&format!("SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = '{id}'")), 10);
    for recovery in &codes {
        let plain = recovery.replace('-', "");
        let stored = server.count(&format!(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE code_hash LIKE '%{plain}%' OR code_hash LIKE '%{recovery}%'"
        ));
        assert_eq!(stored, 0, "recovery codes are stored hashed");
    }

    let missing = login_with(&server, "customer-a1", json!({}));
    assert_eq!(missing.status, 401);
    assert_eq!(missing.code(), "totp_required");
    let wrong_password =
        server.post("/v1/auth/login", None, json!({"login": "customer-a1", "password": "not the password at all"}));
    assert_eq!(wrong_password.code(), "invalid_credentials", "the second factor is asked only after the password");
    let replayed = login_with(&server, "customer-a1", json!({"totp_code": code(&secret, step)}));
    assert_eq!(replayed.status, 401, "the confirming code was used: {}", replayed.body);
    assert_eq!(replayed.code(), "invalid_totp");
    let wrong = login_with(&server, "customer-a1", json!({"totp_code": code(&secret, step + 5)}));
    assert_eq!(wrong.code(), "invalid_totp");

    let next = code(&secret, step + 1);
    let logged_in = login_with(&server, "customer-a1", json!({"totp_code": next}));
    assert_eq!(logged_in.status, 200, "the next step is within the skew: {}", logged_in.body);
    assert_eq!(server.get("/v1/me", Some(&logged_in.str("access_token"))).status, 200);
    let again = login_with(&server, "customer-a1", json!({"totp_code": next}));
    assert_eq!((again.status, again.code()), (401, "invalid_totp"), "a code works once");
    let older = login_with(&server, "customer-a1", json!({"totp_code": code(&secret, step)}));
    assert_eq!(older.code(), "invalid_totp", "an older step after a newer one");

    let both = login_with(&server, "customer-a1", json!({"totp_code": "123456", "recovery_code": codes[0]}));
    assert_eq!(both.status, 422);
    assert_eq!(both.pointers(), vec!["/recovery_code"]);
    let events = server.count(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'account.two_factor_enable' AND actor_id = '{id}' AND target_id = '{id}'"
    ));
    assert_eq!(events, 1);
});

both_backends!(a_recovery_code_logs_in_once, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let (_, _, codes) = enable(&server, &reseller);
    let typed = codes[3].to_lowercase().replace('-', " ");
    let first = login_with(&server, "reseller", json!({"recovery_code": typed}));
    assert_eq!(first.status, 200, "any case, any separators: {}", first.body);
    let again = login_with(&server, "reseller", json!({"recovery_code": codes[3]}));
    assert_eq!((again.status, again.code()), (401, "invalid_totp"), "a recovery code is single-use");
    let unknown = login_with(&server, "reseller", json!({"recovery_code": "AAAA-BBBB-CCCC-DDDD"}));
    assert_eq!(unknown.code(), "invalid_totp");
    let id = &reseller.id;
    assert_eq!(
        server
            .count(&format!("SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = '{id}' AND used_at IS NULL")),
        9
    );
    assert_eq!(login_with(&server, "reseller", json!({"recovery_code": codes[4]})).status, 200);
});

both_backends!(parallel_logins_with_one_code_or_one_recovery_code_succeed_once, |server| {
    let operator = server.operator("operator");
    let customer = server.create(&operator, "customer", "customer");
    let (secret, step, codes) = enable(&server, &customer);
    let next = code(&secret, step + 1);
    for extra in [json!({"totp_code": next}), json!({"recovery_code": codes[0]})] {
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                (0..6).map(|_| scope.spawn(|| login_with(&server, "customer", extra.clone()).status)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{extra}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
    }
});

both_backends!(
    wrong_second_factors_count_as_failed_logins,
    env = &[("HOSTADMIN_LOGIN_FAILURES_PER_LOGIN", "3")],
    |server| {
        let operator = server.operator("operator");
        let customer = server.create(&operator, "customer", "customer");
        let (secret, step, _) = enable(&server, &customer);
        let missing = login_with(&server, "customer", json!({}));
        assert_eq!(missing.code(), "totp_required", "a missing code is the normal first step, not a failure");
        for _ in 0..3 {
            assert_eq!(login_with(&server, "customer", json!({"totp_code": "000000"})).status, 401);
        }
        let locked = login_with(&server, "customer", json!({"totp_code": code(&secret, step + 1)}));
        assert_eq!(locked.status, 429, "{}", locked.body);
        assert!(locked.header("retry-after").is_some());
    }
);

both_backends!(enrolment_refuses_bad_input_wrong_credentials_and_wrong_states, |server| {
    let operator = server.operator("operator");
    let customer = server.create(&operator, "customer", "customer");
    let token = Some(customer.token.as_str());
    let wrong = server.post("/v1/me/two-factor", token, json!({"password": "not the password at all"}));
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.code(), "invalid_credentials");
    assert_eq!(wrong.pointers(), vec!["/password"]);
    let unknown = server.post("/v1/me/two-factor", token, json!({"password": PASSWORD, "secret": "MINE"}));
    assert_eq!((unknown.status, unknown.code()), (422, "unknown_field"));
    let keyed = server.send(
        "POST",
        "/v1/me/two-factor",
        token,
        Body::Json(json!({"password": PASSWORD})),
        &[("idempotency-key", "k1")],
    );
    assert_eq!((keyed.status, keyed.code()), (400, "idempotency_not_supported"));

    let not_started = server.post("/v1/me/two-factor/confirm", token, json!({"code": "123456"}));
    assert_eq!((not_started.status, not_started.code()), (409, "invalid_transition"));
    let started = server.post("/v1/me/two-factor", token, json!({"password": PASSWORD}));
    let secret = TotpSecret::from_base32(&started.str("secret")).unwrap();
    let malformed = server.post("/v1/me/two-factor/confirm", token, json!({"code": "12ab56"}));
    assert_eq!(malformed.status, 422);
    assert_eq!(malformed.pointers(), vec!["/code"]);
    let step = now_step();
    let wrong_code = server.post("/v1/me/two-factor/confirm", token, json!({"code": code(&secret, step + 4)}));
    assert_eq!((wrong_code.status, wrong_code.code()), (422, "invalid_totp"));
    assert_eq!(wrong_code.pointers(), vec!["/code"]);
    assert_eq!(server.get("/v1/me", token).body["two_factor_enabled"], false);

    // Starting again replaces the pending secret: the first one no longer confirms.
    let restarted = server.post("/v1/me/two-factor", token, json!({"password": PASSWORD}));
    let secret_two = TotpSecret::from_base32(&restarted.str("secret")).unwrap();
    assert_ne!(secret, secret_two);
    let stale = server.post("/v1/me/two-factor/confirm", token, json!({"code": code(&secret, step)}));
    assert_eq!(stale.code(), "invalid_totp");
    let confirmed = server.post("/v1/me/two-factor/confirm", token, json!({"code": code(&secret_two, step)}));
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let twice = server.post("/v1/me/two-factor/confirm", token, json!({"code": code(&secret_two, step + 1)}));
    assert_eq!((twice.status, twice.code()), (409, "invalid_transition"));
    let on_already = server.post("/v1/me/two-factor", token, json!({"password": PASSWORD}));
    assert_eq!((on_already.status, on_already.code()), (409, "invalid_transition"));
});

both_backends!(api_keys_never_reach_two_factor_routes, |server| {
    let operator = server.operator("operator");
    let created = server.post(
        "/v1/me/api-keys",
        Some(&operator.token),
        json!({"name": "everything", "scopes": ["account:read", "customers:write", "customers:read"]}),
    );
    let key = created.str("key");
    for (path, body) in [
        ("/v1/me/two-factor", json!({"password": PASSWORD})),
        ("/v1/me/two-factor/confirm", json!({"code": "123456"})),
        ("/v1/me/two-factor/disable", json!({"password": PASSWORD, "code": "123456"})),
    ] {
        let refused = server.post(path, Some(&key), body);
        assert_eq!((refused.status, refused.code()), (403, "forbidden"), "{path}");
    }
    assert_eq!(server.post("/v1/me/two-factor", None, json!({"password": PASSWORD})).status, 401);
});

both_backends!(disabling_needs_the_password_and_a_code, |server| {
    let operator = server.operator("operator");
    let customer = server.create(&operator, "customer", "customer");
    let token = Some(customer.token.as_str());
    let off = server.post("/v1/me/two-factor/disable", token, json!({"password": PASSWORD, "code": "123456"}));
    assert_eq!((off.status, off.code()), (409, "invalid_transition"), "nothing to disable");
    let (secret, step, codes) = enable(&server, &customer);

    let wrong_password =
        server.post("/v1/me/two-factor/disable", token, json!({"password": "wrong password here", "code": "1"}));
    assert_eq!((wrong_password.status, wrong_password.code()), (422, "invalid_credentials"));
    assert_eq!(wrong_password.pointers(), vec!["/password"]);
    let replay =
        server.post("/v1/me/two-factor/disable", token, json!({"password": PASSWORD, "code": code(&secret, step)}));
    assert_eq!((replay.status, replay.code()), (422, "invalid_totp"), "the confirming code was used");
    assert_eq!(replay.pointers(), vec!["/code"]);
    assert_eq!(server.get("/v1/me", token).body["two_factor_enabled"], true);

    let disabled =
        server.post("/v1/me/two-factor/disable", token, json!({"password": PASSWORD, "code": code(&secret, step + 1)}));
    assert_eq!(disabled.status, 204, "{}", disabled.body);
    assert_eq!(server.get("/v1/me", token).body["two_factor_enabled"], false);
    assert_eq!(login_with(&server, "customer", json!({})).status, 200, "the password alone logs in again");
    let id = &customer.id;
    assert_eq!(
        server.count(&format!("SELECT COUNT(*) AS n FROM accounts WHERE id = '{id}' AND totp_secret_sealed IS NULL")),
        1
    );
    assert_eq!(server.count(&format!("SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = '{id}'")), 0);
    assert_eq!(
        server.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'account.two_factor_disable' AND target_id = '{id}'"
        )),
        1
    );
    assert!(!codes.is_empty());

    // A recovery code also disables (the device is lost).
    let (_, _, codes) = enable(&server, &customer);
    let by_recovery = server.post("/v1/me/two-factor/disable", token, json!({"password": PASSWORD, "code": codes[0]}));
    assert_eq!(by_recovery.status, 204, "{}", by_recovery.body);
});

both_backends!(an_ancestor_resets_a_descendants_second_factor, |server| {
    let tree = Tree::build(&server);
    enable(&server, &tree.sub_customer);
    assert_eq!(login_with(&server, "sub-customer", json!({})).code(), "totp_required");
    let path = format!("/v1/customers/{}/two-factor", tree.sub_customer.id);

    for outsider in [&tree.reseller_b, &tree.customer_a1] {
        let refused = server.delete(&path, Some(&outsider.token));
        assert!(refused.status == 404 || refused.status == 403, "{}", refused.body);
    }
    assert_eq!(server.delete(&path, Some(&tree.reseller_b.token)).code(), "not_found");
    assert_eq!(server.delete(&path, Some(&tree.customer_a1.token)).code(), "forbidden");
    assert_eq!(server.delete(&path, Some(&tree.sub_customer.token)).code(), "forbidden", "not one's own");
    assert_eq!(server.delete("/v1/customers/not-an-id/two-factor", Some(&tree.reseller_a.token)).status, 404);
    assert_eq!(login_with(&server, "sub-customer", json!({})).code(), "totp_required", "nothing changed");

    let reset = server.delete(&path, Some(&tree.reseller_a.token));
    assert_eq!(reset.status, 204, "{}", reset.body);
    let me = server.get("/v1/me", Some(&tree.sub_customer.token));
    assert_eq!(me.body["two_factor_enabled"], false);
    assert_eq!(login_with(&server, "sub-customer", json!({})).status, 200, "the password alone logs in");
    let (actor, target) = (&tree.reseller_a.id, &tree.sub_customer.id);
    let events = format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'customer.two_factor_reset' AND actor_id = '{actor}' AND target_id = '{target}'"
    );
    assert_eq!(server.count(&events), 1);
    assert_eq!(server.delete(&path, Some(&tree.operator.token)).status, 204, "off already: still 204");
    assert_eq!(server.count(&events), 1, "and no event for a reset that changed nothing");
});
