//! Logging in and out, refresh rotation, password changes, and the token attacks of
//! QUALITY.md 4-5.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

use crate::support::*;

fn refresh(server: &Server, token: &str) -> Response {
    server.post("/v1/auth/refresh", None, json!({"refresh_token": token}))
}

both_backends!(login_answers_a_token_pair_that_reaches_me, |server| {
    let operator = server.operator("operator");
    let by_email =
        server.post("/v1/auth/login", None, json!({"login": "OPERATOR@operators.test", "password": PASSWORD}));
    assert_eq!(by_email.status, 200, "the email logs in too, case-insensitively: {}", by_email.body);
    assert_eq!(by_email.body["token_type"], "Bearer");
    assert_eq!(by_email.body["expires_in"], 900);
    assert!(by_email.str("refresh_token").starts_with("hr_"));
    assert_eq!(by_email.header("cache-control"), Some("no-store"), "tokens are never cached");
    let me = server.get("/v1/me", Some(&operator.token));
    assert_eq!(me.body["kind"], "operator");
    assert_eq!(me.body["login"], "operator");
    assert_eq!(me.body["impersonated_by"], Value::Null);
    assert!(me.header("etag").is_some());
    for secret in ["password", "password_hash", "token_version"] {
        assert!(me.body.get(secret).is_none(), "{secret} must never be answered");
    }
});

both_backends!(wrong_login_and_wrong_password_answer_alike, |server| {
    server.operator("operator");
    let wrong_password =
        server.post("/v1/auth/login", None, json!({"login": "operator", "password": "not the password at all"}));
    let no_such_login =
        server.post("/v1/auth/login", None, json!({"login": "nobody-here", "password": "not the password at all"}));
    assert_eq!((wrong_password.status, no_such_login.status), (401, 401));
    assert_eq!(wrong_password.code(), "invalid_credentials");
    let mut a = wrong_password.body.clone();
    let mut b = no_such_login.body.clone();
    a["request_id"] = Value::Null;
    b["request_id"] = Value::Null;
    assert_eq!(a, b, "the bodies differ only by request id");
});

both_backends!(a_refresh_token_is_spent_by_its_use_and_reuse_ends_the_session, |server| {
    let operator = server.operator("operator");
    let first = refresh(&server, &operator.refresh);
    assert_eq!(first.status, 200, "{}", first.body);
    let second = refresh(&server, &first.str("refresh_token"));
    assert_eq!(second.status, 200, "the new refresh token works once");
    let newest_access = second.str("access_token");
    assert_eq!(server.get("/v1/me", Some(&newest_access)).status, 200);

    let replayed = refresh(&server, &operator.refresh);
    assert_eq!(replayed.status, 401);
    assert_eq!(replayed.code(), "refresh_token_reused");
    assert_eq!(server.get("/v1/me", Some(&newest_access)).status, 401, "the whole session ended");
    assert_eq!(refresh(&server, &second.str("refresh_token")).status, 401, "its refresh tokens too");
    let other_session = server.login("operator", PASSWORD);
    assert_eq!(server.get("/v1/me", Some(&other_session.token)).status, 200, "other sessions live on");
});

both_backends!(parallel_refreshes_of_one_token_yield_one_pair, |server| {
    let operator = server.operator("operator");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6).map(|_| scope.spawn(|| refresh(&server, &operator.refresh).status)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "a token is spent once: {statuses:?}");
});

both_backends!(logout_ends_this_session_and_everywhere_ends_them_all, |server| {
    let operator = server.operator("operator");
    let laptop = server.login("operator", PASSWORD);
    let out = server.post("/v1/auth/logout", Some(&operator.token), json!({}));
    assert_eq!(out.status, 204);
    assert_eq!(server.get("/v1/me", Some(&operator.token)).status, 401);
    assert_eq!(refresh(&server, &operator.refresh).status, 401);
    assert_eq!(server.get("/v1/me", Some(&laptop.token)).status, 200, "another session is untouched");

    let phone = server.login("operator", PASSWORD);
    let everywhere = server.post("/v1/auth/logout", Some(&phone.token), json!({"everywhere": true}));
    assert_eq!(everywhere.status, 204);
    for session in [&laptop, &phone] {
        assert_eq!(server.get("/v1/me", Some(&session.token)).status, 401);
        assert_eq!(refresh(&server, &session.refresh).status, 401);
    }
    assert_eq!(server.get("/v1/me", Some(&server.login("operator", PASSWORD).token)).status, 200);
});

both_backends!(a_password_change_ends_every_token_and_checks_both_passwords, |server| {
    let operator = server.operator("operator");
    let other = server.login("operator", PASSWORD);
    let wrong = server.put(
        "/v1/me/password",
        Some(&operator.token),
        json!({"current_password": "wrong wrong wrong", "new_password": "a new long passphrase"}),
    );
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.code(), "invalid_credentials");
    assert_eq!(wrong.pointers(), vec!["/current_password"]);
    let weak = server.put(
        "/v1/me/password",
        Some(&operator.token),
        json!({"current_password": PASSWORD, "new_password": "password1"}),
    );
    assert_eq!(weak.status, 422);
    assert_eq!(weak.pointers(), vec!["/new_password"]);
    assert_eq!(weak.body["errors"][0]["code"], "password_too_common");

    let changed = server.put(
        "/v1/me/password",
        Some(&operator.token),
        json!({"current_password": PASSWORD, "new_password": "a new long passphrase"}),
    );
    assert_eq!(changed.status, 204, "{}", changed.body);
    for session in [&operator, &other] {
        assert_eq!(server.get("/v1/me", Some(&session.token)).status, 401, "the caller's token ends too");
        assert_eq!(refresh(&server, &session.refresh).status, 401);
    }
    assert_eq!(server.post("/v1/auth/login", None, json!({"login": "operator", "password": PASSWORD})).status, 401);
    server.login("operator", "a new long passphrase");
});

fn claims(operator: &Account, overrides: Value) -> Value {
    let me_sid = {
        let parts: Vec<&str> = operator.token.split('.').collect();
        let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload
    };
    let mut claims = me_sid;
    for (key, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

fn sign(algorithm: Algorithm, secret: &str, claims: &Value) -> String {
    encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

both_backends!(forged_and_misused_tokens_are_refused, |server| {
    let operator = server.operator("operator");
    let now = chrono::Utc::now().timestamp();
    let valid = claims(&operator, json!({}));
    assert_eq!(
        server.get("/v1/me", Some(&sign(Algorithm::HS256, JWT_SECRET, &valid))).status,
        200,
        "the control case is accepted"
    );

    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(valid.to_string())
    );
    let mut tampered = operator.token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let attacks = [
        ("alg none", unsigned),
        ("another algorithm", sign(Algorithm::HS512, JWT_SECRET, &valid)),
        ("a changed signature", tampered),
        ("another secret", sign(Algorithm::HS256, "another-secret-of-at-least-thirty-two-bytes", &valid)),
        ("no aud", sign(Algorithm::HS256, JWT_SECRET, &claims(&operator, json!({"aud": null})))),
        ("a foreign aud", sign(Algorithm::HS256, JWT_SECRET, &claims(&operator, json!({"aud": "another-api"})))),
        ("no sid", sign(Algorithm::HS256, JWT_SECRET, &claims(&operator, json!({"sid": null})))),
        ("no purpose", sign(Algorithm::HS256, JWT_SECRET, &claims(&operator, json!({"typ": null})))),
        ("a reset token", sign(Algorithm::HS256, JWT_SECRET, &claims(&operator, json!({"typ": "password_reset"})))),
        (
            "expired",
            sign(Algorithm::HS256, JWT_SECRET, &claims(&operator, json!({"iat": now - 3600, "exp": now - 600}))),
        ),
        ("an older token version", sign(Algorithm::HS256, JWT_SECRET, &claims(&operator, json!({"ver": -1})))),
        ("a refresh token", operator.refresh.clone()),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (name, token) in attacks {
        let response = server.get("/v1/me", Some(&token));
        assert_eq!(response.status, 401, "{name}: {}", response.body);
        assert!(matches!(response.code(), "unauthenticated" | "token_expired"), "{name}");
    }
    let expired = server.get(
        "/v1/me",
        Some(&sign(Algorithm::HS256, JWT_SECRET, &claims(&operator, json!({"iat": now - 3600, "exp": now - 600})))),
    );
    assert_eq!(expired.code(), "token_expired");
    let basic = server.send("GET", "/v1/me", None, Body::None, &[("authorization", "Basic b3BlcmF0b3I6eA==")]);
    assert_eq!(basic.status, 401);
});

both_backends!(login_input_is_checked, |server| {
    let missing = server.post("/v1/auth/login", None, json!({"login": "someone"}));
    assert_eq!(missing.status, 422);
    assert_eq!(missing.pointers(), vec!["/password"]);
    let extra = server.post("/v1/auth/login", None, json!({"login": "someone", "password": "x", "remember": true}));
    assert_eq!(extra.code(), "unknown_field");
    assert_eq!(extra.pointers(), vec!["/remember"]);
});

both_backends!(the_password_hash_is_argon2id_with_owasp_parameters, |server| {
    server.operator("operator");
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        password_hash: String,
    }
    let rows: Vec<Row> =
        diesel::sql_query("SELECT password_hash FROM accounts").load(&mut server.database.connect()).unwrap();
    let phc = &rows[0].password_hash;
    assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
    let params: Vec<&str> = phc.split('$').nth(3).unwrap().split(',').collect();
    let value = |name: &str| -> u32 {
        params.iter().find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap().parse().unwrap()
    };
    assert!(value("m") >= 19_456 && value("t") >= 2 && value("p") >= 1, "{phc}");
    assert!(!phc.contains(PASSWORD));
});

both_backends!(
    the_access_token_lifetime_is_configured,
    env = &[("HOSTADMIN_ACCESS_TOKEN_TTL_SECONDS", "60")],
    |server| {
        server.operator("operator");
        let login = server.post("/v1/auth/login", None, json!({"login": "operator", "password": PASSWORD}));
        assert_eq!(login.body["expires_in"], 60);
        let payload: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(login.str("access_token").split('.').nth(1).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 60);
        for claim in ["iss", "aud", "sub", "sid", "typ", "ver"] {
            assert!(!payload[claim].is_null(), "{claim} is present");
        }
    }
);
