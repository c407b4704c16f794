//! One-click login links (API.md "One-click login links"): made by whoever may manage the
//! service, through the built-in driver's URL templates, and redeemed once, within 60
//! seconds, by a tool holding a tool key.

use diesel::prelude::*;

use hostadmin_persistence::schema::login_links;

use crate::support::*;

const ANY_TOOL_KEY: &str = "tool-key-for-every-tool-0123456789abcdef";
const WEBMAIL_KEY: &str = "tool-key-for-webmail-only-0123456789abcdef";

const ENV: &[(&str, &str)] = &[
    ("HOSTADMIN_LOGIN_URL_PANEL", "https://panel.example/sso?token={token}"),
    ("HOSTADMIN_LOGIN_URL_WEBMAIL", "https://webmail.example/login/{token}"),
    ("HOSTADMIN_LOGIN_URL_DATABASE", "https://db.example/?sso={token}"),
    (
        "HOSTADMIN_TOOL_KEYS",
        "tool-key-for-every-tool-0123456789abcdef, webmail=tool-key-for-webmail-only-0123456789abcdef",
    ),
];

/// A reseller, its customer, and the customer's web hosting service.
fn setup(server: &Server) -> (Account, Account, String) {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    (reseller, customer, service)
}

fn link(server: &Server, account: &Account, service: &str, tool: &str) -> Response {
    server.post(&format!("/v1/services/{service}/login-links"), Some(&account.token), json!({"tool": tool}))
}

/// The token in a link made from one of the templates above.
fn token_of(url: &str) -> String {
    url.rsplit(['=', '/']).next().unwrap().to_owned()
}

fn redeem(server: &Server, key: Option<&str>, token: &str) -> Response {
    server.post("/v1/login-links/redeem", key, json!({"token": token}))
}

both_backends!(a_link_logs_the_owner_in_once, env = ENV, |server| {
    let (_, customer, service) = setup(&server);
    let made = link(&server, &customer, &service, "webmail");
    assert_eq!(made.status, 201, "{}", made.body);
    let url = made.str("url");
    assert!(url.starts_with("https://webmail.example/login/"), "{url}");
    let token = token_of(&url);
    assert_eq!(token.len(), 43, "256 random bits");
    let expires: chrono::DateTime<chrono::Utc> = made.str("expires_at").parse().unwrap();
    let lifetime = (expires - chrono::Utc::now()).num_seconds();
    assert!((55..=60).contains(&lifetime), "valid 60 seconds: {lifetime}");

    let redeemed = redeem(&server, Some(ANY_TOOL_KEY), &token);
    assert_eq!(redeemed.status, 200, "{}", redeemed.body);
    let number = server.get(&format!("/v1/services/{service}"), Some(&customer.token)).body["number"].clone();
    assert_eq!(
        redeemed.body,
        json!({"service_id": service, "service_number": number, "account_id": customer.id,
               "login": format!("s{number}"), "tool": "webmail"})
    );
    let again = redeem(&server, Some(ANY_TOOL_KEY), &token);
    assert_eq!((again.status, again.code()), (410, "link_expired"), "single use");

    // The database keeps only the token's digest, and the audit log never the token.
    let stored = server.count(&format!("SELECT COUNT(*) AS n FROM login_links WHERE token_hash = '{token}'"));
    assert_eq!(stored, 0);
    let audit = server.get("/v1/audit-events?target_type=service", Some(&customer.token));
    let actions: Vec<&str> =
        audit.body["data"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"service.login_link") && actions.contains(&"service.login_link_redeem"), "{actions:?}");
    assert!(!audit.text.contains(&token));
});

both_backends!(of_ten_parallel_redeems_exactly_one_succeeds, env = ENV, |server| {
    let (_, customer, service) = setup(&server);
    let token = token_of(&link(&server, &customer, &service, "panel").str("url"));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> =
            (0..10).map(|_| scope.spawn(|| redeem(&server, Some(ANY_TOOL_KEY), &token).status)).collect();
        racers.into_iter().map(|racer| racer.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 410).count(), 9, "{statuses:?}");
});

both_backends!(a_late_link_is_expired_and_a_tool_key_is_required, env = ENV, |server| {
    let (_, customer, service) = setup(&server);
    let token = token_of(&link(&server, &customer, &service, "panel").str("url"));
    for key in [None, Some("not-a-tool-key-but-long-enough-0123456789"), Some(customer.token.as_str())] {
        let refused = redeem(&server, key, &token);
        assert_eq!((refused.status, refused.code()), (401, "unauthenticated"), "{key:?}");
    }
    // A key for webmail only does not open the panel (and spends nothing).
    let wrong_tool = redeem(&server, Some(WEBMAIL_KEY), &token);
    assert_eq!((wrong_tool.status, wrong_tool.code()), (410, "link_expired"));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM login_links WHERE used_at IS NULL"), 1);
    // Sixty seconds later (the test clock: the link's expiry moved back).
    diesel::update(login_links::table)
        .set(login_links::expires_at.eq(login_links::created_at))
        .execute(&mut server.database.connect())
        .unwrap();
    let late = redeem(&server, Some(ANY_TOOL_KEY), &token);
    assert_eq!((late.status, late.code()), (410, "link_expired"));
    let unknown = redeem(&server, Some(ANY_TOOL_KEY), "never-issued");
    assert_eq!((unknown.status, unknown.code()), (410, "link_expired"));
    let empty = redeem(&server, Some(ANY_TOOL_KEY), "");
    assert_eq!(empty.pointers(), vec!["/token"]);

    let webmail = token_of(&link(&server, &customer, &service, "webmail").str("url"));
    assert_eq!(redeem(&server, Some(WEBMAIL_KEY), &webmail).body["tool"], "webmail");
});

both_backends!(links_need_manage_an_offered_tool_and_an_active_service, env = ENV, |server| {
    let (reseller, customer, service) = setup(&server);
    // The seller above may make one too.
    assert_eq!(link(&server, &reseller, &service, "database").status, 201);
    // Not configured, or not a tool at all.
    let files = link(&server, &customer, &service, "files");
    assert_eq!((files.status, files.code()), (422, "tool_not_offered"), "{}", files.body);
    assert_eq!(files.pointers(), vec!["/tool"]);
    let ssh = link(&server, &customer, &service, "ssh");
    assert_eq!((ssh.status, ssh.pointers()), (422, vec!["/tool".to_owned()]));
    // A key needs services:write; the answer holds a secret, so no Idempotency-Key.
    let reader =
        server.post("/v1/me/api-keys", Some(&customer.token), json!({"name": "r", "scopes": ["services:read"]}));
    let reader = reader.str("key");
    let scoped = server.post(&format!("/v1/services/{service}/login-links"), Some(&reader), json!({"tool": "panel"}));
    assert_eq!((scoped.status, scoped.code()), (403, "insufficient_scope"));
    let keyed = server.send(
        "POST",
        &format!("/v1/services/{service}/login-links"),
        Some(&customer.token),
        Body::Json(json!({"tool": "panel"})),
        &[("idempotency-key", "k")],
    );
    assert_eq!((keyed.status, keyed.code()), (400, "idempotency_not_supported"));
    // A grantee with `view` only may not; with `manage` it may.
    let friend = server.create(&reseller, "friend", "customer");
    let grant = server.post(
        "/v1/authorizations",
        Some(&customer.token),
        json!({"grantee": "friend", "permissions": ["view"], "service_ids": [service]}),
    );
    assert_eq!(grant.status, 201, "{}", grant.body);
    let grant_id = grant.str("id");
    server.post(&format!("/v1/authorizations/{grant_id}/accept"), Some(&friend.token), json!({}));
    let viewer = link(&server, &friend, &service, "panel");
    assert_eq!((viewer.status, viewer.code()), (403, "insufficient_grant"));
    let upgraded = server.patch(
        &format!("/v1/authorizations/{grant_id}"),
        Some(&customer.token),
        json!({"permissions": ["manage"]}),
    );
    assert_eq!(upgraded.status, 200, "{}", upgraded.body);
    assert_eq!(link(&server, &friend, &service, "panel").status, 201);
    // A suspended service has no logins.
    let suspended =
        server.post(&format!("/v1/services/{service}/suspend"), Some(&reseller.token), json!({"reason": "abuse"}));
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let refused = link(&server, &customer, &service, "panel");
    assert_eq!((refused.status, refused.code()), (409, "service_not_active"));
});
