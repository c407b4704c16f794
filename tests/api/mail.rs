//! Mail: password reset, email verification (on change and resent), the welcome mail
//! and self-registration, each followed from the `.eml` file the server wrote through
//! to its end over HTTP; tokens single-use and expiring; no enumeration; the limits.

use crate::support::*;

/// The worker looks at the outbox ten times a second.
const FAST_WORKER: &[(&str, &str)] = &[("HOSTADMIN_WORKER_INTERVAL_MS", "100")];
const WITH_REGISTRATION: &[(&str, &str)] =
    &[("HOSTADMIN_WORKER_INTERVAL_MS", "100"), ("HOSTADMIN_REGISTRATION_ENABLED", "true")];
const NEW_PASSWORD: &str = "a brand new passphrase of words";

fn execute(server: &Server, sql: &str) {
    use diesel::RunQueryDsl as _;
    diesel::sql_query(sql).execute(&mut server.database.connect()).expect(sql);
}

fn reset(server: &Server, email: &str) -> Response {
    server.post("/v1/auth/password-reset", None, json!({"email": email}))
}

fn confirm(server: &Server, token: &str, password: &str) -> Response {
    server.post("/v1/auth/password-reset/confirm", None, json!({"token": token, "new_password": password}))
}

both_backends!(a_password_reset_from_the_mail_ends_every_session, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let ann = server.create(&operator, "ann", "customer");
    let known = reset(&server, "ANN@example.test");
    let unknown = reset(&server, "nobody@example.test");
    assert_eq!((known.status, known.text.as_str()), (202, ""), "202 with an empty body");
    assert_eq!((unknown.status, unknown.text.as_str()), (known.status, known.text.as_str()), "alike");
    assert_eq!(reset(&server, "not an address").pointers(), vec!["/email"]);

    let mail = server.wait_for_mails("ann@example.test", 1).remove(0);
    assert_eq!(mail.subject, "Reset your password");
    assert!(mail.text.contains("/reset-password?token=") && mail.text.contains("within 1 hour:"), "{}", mail.text);
    let token = mail.token();
    assert_eq!(
        server.count(&format!("SELECT COUNT(*) AS n FROM email_tokens WHERE token_hash = '{token}'")),
        0,
        "only the digest is stored"
    );
    eventually(10, "the delivered body to be blanked", || {
        server.count("SELECT COUNT(*) AS n FROM outbox WHERE carries_secret = TRUE AND text_body <> ''") == 0
    });

    let weak = confirm(&server, &token, "short");
    assert_eq!(weak.status, 422);
    assert_eq!(weak.pointers(), vec!["/new_password"]);
    let bogus = confirm(&server, "not-a-token", NEW_PASSWORD);
    assert_eq!((bogus.status, bogus.code()), (422, "invalid_token"));
    assert_eq!(bogus.pointers(), vec!["/token"]);

    let done = confirm(&server, &token, NEW_PASSWORD);
    assert_eq!(done.status, 204, "{}", done.body);
    assert_eq!(server.get("/v1/me", Some(&ann.token)).status, 401, "the old access token ended");
    let refreshed = server.post("/v1/auth/refresh", None, json!({"refresh_token": ann.refresh}));
    assert_eq!(refreshed.status, 401, "the old session ended");
    let old = server.post("/v1/auth/login", None, json!({"login": "ann", "password": PASSWORD}));
    assert_eq!(old.status, 401);
    server.login("ann", NEW_PASSWORD);
    let again = confirm(&server, &token, "yet another long passphrase");
    assert_eq!((again.status, again.code()), (422, "invalid_token"), "single-use");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'account.password_reset'"), 1);
    assert_eq!(server.mails_to("nobody@example.test").len(), 0);
});

both_backends!(reset_tokens_expire_and_blocked_accounts_get_no_mail, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    server.create(&operator, "ann", "customer");
    server.create(&operator, "bob", "customer");
    assert_eq!(reset(&server, "ann@example.test").status, 202);
    let token = server.wait_for_mails("ann@example.test", 1)[0].token();
    let an_hour_before = match server.backend {
        TestBackend::Sqlite => "datetime(created_at, '-1 hour')",
        _ => "created_at - INTERVAL '1 hour'",
    };
    execute(&server, &format!("UPDATE email_tokens SET expires_at = {an_hour_before}"));
    let expired = confirm(&server, &token, NEW_PASSWORD);
    assert_eq!((expired.status, expired.code()), (422, "token_expired"));
    server.login("ann", PASSWORD);

    execute(&server, "UPDATE accounts SET status = 'blocked' WHERE login = 'bob'");
    let blocked = reset(&server, "bob@example.test");
    assert_eq!((blocked.status, blocked.text.as_str()), (202, ""));
    // A later mail to ann shows the worker has passed the blocked account's request.
    assert_eq!(reset(&server, "ann@example.test").status, 202);
    server.wait_for_mails("ann@example.test", 2);
    assert_eq!(server.mails_to("bob@example.test").len(), 0);
});

both_backends!(resets_beyond_twenty_an_hour_answer_alike_and_send_nothing, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    server.create(&operator, "ann", "customer");
    for _ in 0..23 {
        let answer = reset(&server, "ann@example.test");
        assert_eq!((answer.status, answer.text.as_str()), (202, ""));
    }
    server.wait_for_mails("ann@example.test", 20);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(server.mails_to("ann@example.test").len(), 20);
});

both_backends!(an_email_change_takes_effect_when_the_new_address_is_verified, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let ann = server.create(&operator, "ann", "customer");
    let changed =
        server.patch("/v1/me", Some(&ann.token), json!({"email": "Ann@New.test", "current_password": PASSWORD}));
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["email"], "ann@example.test");
    assert_eq!(changed.body["pending_email"], "Ann@New.test");

    let notice = server.wait_for_mails("ann@example.test", 1).remove(0);
    assert_eq!(notice.subject, "Your email address is being changed");
    assert!(notice.text.contains("Ann@New.test"), "{}", notice.text);
    assert!(!notice.text.contains("token="), "the old address gets no link");
    let verification = server.wait_for_mails("ann@new.test", 1).remove(0);
    assert!(verification.text.contains("/verify-email?token="), "{}", verification.text);

    let bad = server.post("/v1/auth/verify-email", None, json!({"token": "nope"}));
    assert_eq!((bad.status, bad.code()), (422, "invalid_token"));
    let unknown_field = server.post("/v1/auth/verify-email", None, json!({"token": "x", "extra": 1}));
    assert_eq!(unknown_field.code(), "unknown_field");
    let verified = server.post("/v1/auth/verify-email", None, json!({"token": verification.token()}));
    assert_eq!(verified.status, 204, "{}", verified.body);
    let me = server.get("/v1/me", Some(&ann.token));
    assert_eq!(me.body["email"], "Ann@New.test");
    assert_eq!(me.body["pending_email"], Value::Null);
    assert_eq!(me.body["email_verified"], true);
    let again = server.post("/v1/auth/verify-email", None, json!({"token": verification.token()}));
    assert_eq!(again.status, 422, "single-use");
    server.login("ann@new.test", PASSWORD);
});

both_backends!(a_stale_verification_link_does_not_verify_another_address, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let ann = server.create(&operator, "ann", "customer");
    let change = |email: &str| {
        let answer = server.patch("/v1/me", Some(&ann.token), json!({"email": email, "current_password": PASSWORD}));
        assert_eq!(answer.status, 200, "{}", answer.body);
    };
    change("first@new.test");
    let first = server.wait_for_mails("first@new.test", 1)[0].token();
    change("second@new.test");
    let stale = server.post("/v1/auth/verify-email", None, json!({"token": first}));
    assert_eq!((stale.status, stale.code()), (422, "invalid_token"));
    let me = server.get("/v1/me", Some(&ann.token));
    assert_eq!(
        (me.body["email"].as_str(), me.body["pending_email"].as_str()),
        (Some("ann@example.test"), Some("second@new.test"))
    );
});

both_backends!(sellers_resend_the_verification_mail_within_the_limit, env = FAST_WORKER, |server| {
    let tree = Tree::build(&server);
    let a1 = &tree.customer_a1;
    let path = format!("/v1/customers/{}/verification-email", a1.id);
    assert_eq!(server.post(&path, Some(&a1.token), json!({})).status, 403, "a customer may not");
    let other = server.post(&path, Some(&tree.reseller_b.token), json!({}));
    assert_eq!((other.status, other.code()), (404, "not_found"), "another tenant's customer");
    let missing = server.post("/v1/customers/nonsense/verification-email", Some(&tree.reseller_a.token), json!({}));
    assert_eq!(missing.status, 404);

    let sent = server.post(&path, Some(&tree.reseller_a.token), json!({}));
    assert_eq!((sent.status, sent.text.as_str()), (202, ""));
    let mail = server.wait_for_mails("customer-a1@example.test", 1).remove(0);
    assert_eq!(mail.subject, "Confirm your email address");
    let changed = server.patch(
        &format!("/v1/customers/{}", a1.id),
        Some(&tree.reseller_a.token),
        json!({"email": "a1@moved.test"}),
    );
    assert_eq!(changed.body["pending_email"], "a1@moved.test");
    server.wait_for_mails("customer-a1@example.test", 2);
    assert_eq!(server.post(&path, Some(&tree.reseller_a.token), json!({})).status, 202, "to the pending address");
    let mails = server.wait_for_mails("a1@moved.test", 2);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'customer.verification_email'"), 2);

    // Three limited mails came from this client address so far: 20 in all.
    for _ in 0..17 {
        assert_eq!(server.post(&path, Some(&tree.reseller_a.token), json!({})).status, 202);
    }
    let limited = server.post(&path, Some(&tree.reseller_a.token), json!({}));
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"), "the 21st within the hour");
    assert!(limited.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() > 0));

    let verified = server.post("/v1/auth/verify-email", None, json!({"token": mails[1].token()}));
    assert_eq!(verified.status, 204);
    let row = server.get(&format!("/v1/customers/{}", a1.id), Some(&tree.reseller_a.token));
    assert_eq!((row.body["email"].as_str(), row.body["email_verified"].as_bool()), (Some("a1@moved.test"), Some(true)));
});

both_backends!(the_welcome_mail_carries_a_link_to_set_the_password, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let created = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "wendy", "password": PASSWORD, "name": "Wendy", "email": "wendy@example.test", "send_welcome_email": true}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let mail = server.wait_for_mails("wendy@example.test", 1).remove(0);
    assert!(mail.subject.starts_with("Welcome"));
    assert!(mail.text.contains("wendy") && !mail.text.contains(PASSWORD), "the login, never the password");
    assert!(mail.text.contains("/set-password?token="), "{}", mail.text);
    assert_eq!(confirm(&server, &mail.token(), NEW_PASSWORD).status, 204);
    let wendy = server.login("wendy", NEW_PASSWORD);
    assert_eq!(server.get("/v1/me", Some(&wendy.token)).body["email_verified"], true, "the link proved the address");

    let quiet = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "quiet", "password": PASSWORD, "name": "Quiet", "email": "quiet@example.test"}),
    );
    assert_eq!(quiet.status, 201);
    assert_eq!(reset(&server, "wendy@example.test").status, 202);
    server.wait_for_mails("wendy@example.test", 2);
    assert_eq!(server.mails_to("quiet@example.test").len(), 0, "no welcome mail unless asked");
});

both_backends!(registration_is_off_by_default, |server| {
    let answer = server.post(
        "/v1/auth/register",
        None,
        json!({"login": "newbie", "email": "newbie@example.test", "password": PASSWORD, "name": "Newbie"}),
    );
    assert_eq!((answer.status, answer.code()), (404, "not_found"));
});

both_backends!(registration_answers_alike_and_the_mail_says_what_happened, env = WITH_REGISTRATION, |server| {
    server.operator("operator");
    let register = |login: &str, email: &str| {
        server.post(
            "/v1/auth/register",
            None,
            json!({"login": login, "email": email, "password": PASSWORD, "name": "New Person"}),
        )
    };
    let bad = register("-bad", "not-an-address");
    assert_eq!(bad.status, 422);
    assert_eq!(bad.pointers(), vec!["/login", "/email"]);

    let fresh = register("newbie", "newbie@example.test");
    let email_taken = register("another", "NEWBIE@example.test");
    let login_taken = register("newbie", "someone@example.test");
    for answer in [&fresh, &email_taken, &login_taken] {
        assert_eq!((answer.status, answer.text.as_str()), (202, ""), "alike");
    }
    let mails = server.wait_for_mails("newbie@example.test", 2);
    assert_eq!(mails[0].subject, "Confirm your email address");
    assert_eq!(mails[1].subject, "You already have an account");
    assert!(mails[1].text.contains("newbie"));
    let other = server.wait_for_mails("someone@example.test", 1).remove(0);
    assert_eq!(other.subject, "That login is taken");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM accounts WHERE login IN ('newbie', 'another')"), 1);

    let newbie = server.login("newbie", PASSWORD);
    let me = server.get("/v1/me", Some(&newbie.token));
    assert_eq!((me.body["kind"].as_str(), me.body["email_verified"].as_bool()), (Some("customer"), Some(false)));
    assert_eq!(server.post("/v1/auth/verify-email", None, json!({"token": mails[0].token()})).status, 204);
    assert_eq!(server.get("/v1/me", Some(&newbie.token)).body["email_verified"], true);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'account.register'"), 1);
});

both_backends!(two_workers_never_send_one_mail_twice, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let _second = server.spawn_worker(&[]);
    let logins: Vec<String> = (0..8).map(|i| format!("user{i}")).collect();
    for login in &logins {
        server.create(&operator, login, "customer");
        assert_eq!(reset(&server, &format!("{login}@example.test")).status, 202);
    }
    for login in &logins {
        server.wait_for_mails(&format!("{login}@example.test"), 1);
    }
    std::thread::sleep(std::time::Duration::from_millis(1000));
    for login in &logins {
        assert_eq!(server.mails_to(&format!("{login}@example.test")).len(), 1, "{login} got one mail");
    }
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL"), 0);
});
