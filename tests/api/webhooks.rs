//! Webhooks (API.md "Webhooks"): endpoints, signed deliveries checked by a receiver in
//! the test against the Standard Webhooks specification, retries after a 500 and a
//! timeout, the schedule's end and the disabling after 5 days (with a test clock: times
//! moved back in the database), manual retries, secret rotation, event filters, disabled
//! endpoints, tenancy of events, the outbox's transaction, several workers and a crashed
//! one's lease, the delivery log's status filter, audit entries, and the SSRF guard.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;

use hostadmin_persistence::schema::{webhook_deliveries, webhooks};

use crate::receiver::{verifies, Received, Receiver, Reply};
use crate::support::*;

/// The worker looks for due deliveries every 100 ms; the receiver listens on loopback,
/// which the provider allows here.
const ENV: &[(&str, &str)] = &[("HOSTADMIN_WORKER_INTERVAL_MS", "100"), ("HOSTADMIN_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")];

/// Creates an endpoint; answers its id and secret.
fn endpoint(server: &Server, owner: &Account, url: &str, events: &[&str]) -> (String, String) {
    let created = server.post("/v1/webhooks", Some(&owner.token), json!({"url": url, "events": events}));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("location"), Some(format!("/v1/webhooks/{}", created.str("id")).as_str()));
    (created.str("id"), created.str("secret"))
}

fn send_test(server: &Server, owner: &Account, webhook: &str) -> Value {
    let queued = server.post(&format!("/v1/webhooks/{webhook}/test"), Some(&owner.token), json!({}));
    assert_eq!(queued.status, 202, "{}", queued.body);
    queued.body
}

fn deliveries(server: &Server, owner: &Account, webhook: &str) -> Vec<Value> {
    let list = server.get(&format!("/v1/webhooks/{webhook}/deliveries?limit=100"), Some(&owner.token));
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["data"].as_array().cloned().unwrap_or_default()
}

fn delivery(server: &Server, owner: &Account, webhook: &str, id: &str) -> Value {
    deliveries(server, owner, webhook).into_iter().find(|d| d["id"] == id).unwrap_or_else(|| panic!("delivery {id}"))
}

/// Waits until the delivery has made `attempts` attempts, and answers it.
fn after_attempts(server: &Server, owner: &Account, webhook: &str, id: &str, attempts: i64, seconds: u64) -> Value {
    let mut found = Value::Null;
    eventually(seconds, &format!("attempt {attempts} of {id}"), || {
        found = delivery(server, owner, webhook, id);
        found["attempts"].as_i64() >= Some(attempts)
    });
    found
}

/// The test clock: the delivery's next attempt is due now.
fn due_now(server: &Server, id: &str) {
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(id)))
        .set(webhook_deliveries::next_attempt_at.eq(webhook_deliveries::created_at.nullable()))
        .execute(&mut server.database.connect())
        .unwrap();
}

fn seller_and_customer(server: &Server) -> (Account, Account) {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    (reseller, customer)
}

both_backends!(deliveries_are_signed_per_standard_webhooks, env = ENV, |server| {
    let receiver = Receiver::start();
    let (reseller, customer) = seller_and_customer(&server);
    let (webhook, secret) = endpoint(&server, &reseller, &receiver.url("/hook"), &["service.*"]);
    assert!(secret.starts_with("whsec_") && secret.len() == 6 + 44, "{secret}");
    let read = server.get(&format!("/v1/webhooks/{webhook}"), Some(&reseller.token));
    assert_eq!(read.status, 200);
    assert!(read.body.get("secret").is_none(), "the secret is shown once: {}", read.body);

    // A change to an account below the reseller reaches the reseller's endpoint.
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let sold = receiver.wait_for("/hook", "service.create");
    assert!(verifies(&sold, &secret), "signature per the specification: {:?}", sold.headers);
    assert_eq!(sold.header("content-type"), "application/json");
    let payload = sold.json();
    assert_eq!(payload["id"], sold.header("webhook-id"), "the event id is the message id");
    assert_eq!(payload["data"]["target_type"], "service");
    assert_eq!(payload["data"]["target_id"], service);
    assert_eq!(payload["data"]["account_id"], customer.id);
    assert_eq!(payload["data"]["actor_id"], reseller.id);
    assert!(payload["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{payload}");
    assert!(!verifies(&sold, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "another secret does not verify");

    // The test event reaches this endpoint whatever its filters.
    let queued = send_test(&server, &reseller, &webhook);
    assert_eq!(queued["event_type"], "webhook.test");
    let test = receiver.wait_for("/hook", "webhook.test");
    assert!(verifies(&test, &secret));
    eventually(10, "the log says delivered", || {
        let logged = delivery(&server, &reseller, &webhook, queued["id"].as_str().unwrap());
        logged["status"] == "delivered" && logged["attempts"] == 1 && logged["last_status_code"] == 204
    });

    // A mailbox's password never travels in an event.
    server.post(
        &format!("/v1/services/{service}/mailboxes"),
        Some(&reseller.token),
        json!({"address": "info@nowhere.test", "password": PASSWORD}),
    );
    let renamed = server.patch(&format!("/v1/services/{service}"), Some(&customer.token), json!({"name": "Shop"}));
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    receiver.wait_for("/hook", "service.update");
    for request in receiver.received() {
        assert!(!request.text().contains(PASSWORD), "{}", request.text());
    }
    // Audited as changes, and read back in the log.
    let audit = server.get("/v1/audit-events?action=webhook.create", Some(&reseller.token));
    assert_eq!(audit.body["data"].as_array().map(Vec::len), Some(1), "{}", audit.body);
    assert!(!audit.text.contains(&secret[6..]), "never the secret");
});

both_backends!(a_500_is_retried_after_five_seconds_with_the_same_event, env = ENV, |server| {
    // The first answer is a 500 with a long body; the retry is accepted.
    let receiver = Receiver::answering(|_, before| if before == 0 { Reply::Status(500) } else { Reply::Status(200) });
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, secret) = endpoint(&server, &reseller, &receiver.url("/hook"), &["webhook.test"]);
    let queued = send_test(&server, &reseller, &webhook);
    let id = queued["id"].as_str().unwrap();

    let failed = after_attempts(&server, &reseller, &webhook, id, 1, 20);
    assert_eq!(failed["status"], "pending", "{failed}");
    assert_eq!(failed["last_status_code"], 500);
    assert_eq!(failed["last_response_body"].as_str().map(str::len), Some(1024), "truncated before storing");
    let last: chrono::DateTime<Utc> = failed["last_attempt_at"].as_str().unwrap().parse().unwrap();
    let next: chrono::DateTime<Utc> = failed["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((next - last).num_seconds(), 5, "the first retry comes after 5 s: {failed}");

    let retried = receiver.wait_for_count("/hook", 2, 20);
    assert_eq!(retried[0].header("webhook-id"), retried[1].header("webhook-id"));
    assert_eq!(retried[0].body, retried[1].body, "the same event, byte for byte");
    assert!(verifies(&retried[1], &secret));
    let delivered = after_attempts(&server, &reseller, &webhook, id, 2, 10);
    assert_eq!(delivered["status"], "delivered", "{delivered}");
    assert!(delivered["next_attempt_at"].is_null());
});

both_backends!(a_redirect_is_a_failure_and_never_followed, env = ENV, |server| {
    let receiver =
        Receiver::answering(
            |request, _| {
                if request.path == "/moved" {
                    Reply::Redirect("/elsewhere")
                } else {
                    Reply::Status(200)
                }
            },
        );
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, _) = endpoint(&server, &reseller, &receiver.url("/moved"), &["webhook.test"]);
    let queued = send_test(&server, &reseller, &webhook);
    let failed = after_attempts(&server, &reseller, &webhook, queued["id"].as_str().unwrap(), 1, 20);
    assert_eq!((failed["status"].clone(), failed["last_status_code"].clone()), (json!("pending"), json!(302)));
    assert!(receiver.at("/elsewhere").is_empty(), "the redirect was not followed");
});

both_backends!(no_answer_within_ten_seconds_is_a_failure_retried, env = ENV, |server| {
    let receiver =
        Receiver::answering(
            |_, before| {
                if before == 0 {
                    Reply::Slow(Duration::from_secs(12))
                } else {
                    Reply::Status(200)
                }
            },
        );
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, _) = endpoint(&server, &reseller, &receiver.url("/slow"), &["webhook.test"]);
    let queued = send_test(&server, &reseller, &webhook);
    let id = queued["id"].as_str().unwrap();
    let timed_out = after_attempts(&server, &reseller, &webhook, id, 1, 30);
    assert_eq!(timed_out["status"], "pending", "{timed_out}");
    assert!(timed_out["last_status_code"].is_null());
    assert_eq!(timed_out["last_error"], "no answer within 10 seconds");
    let delivered = after_attempts(&server, &reseller, &webhook, id, 2, 30);
    assert_eq!(delivered["status"], "delivered", "{delivered}");
});

both_backends!(the_schedule_ends_failed_and_five_days_of_failures_disable_the_endpoint, env = ENV, |server| {
    let receiver = Receiver::answering(|_, _| Reply::Status(503));
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, _) = endpoint(&server, &reseller, &receiver.url("/down"), &["webhook.test"]);
    let queued = send_test(&server, &reseller, &webhook);
    let id = queued["id"].as_str().unwrap();
    // Eight attempts in all: the test clock makes each retry due at once.
    for attempt in 1..=8 {
        let logged = after_attempts(&server, &reseller, &webhook, id, attempt, 20);
        if attempt < 8 {
            assert_eq!(logged["status"], "pending", "after attempt {attempt}: {logged}");
            due_now(&server, id);
        } else {
            assert_eq!(logged["status"], "failed", "{logged}");
            assert!(logged["next_attempt_at"].is_null());
        }
    }
    let read = server.get(&format!("/v1/webhooks/{webhook}"), Some(&reseller.token));
    assert_eq!(read.body["enabled"], true, "a day of failures does not disable it");
    assert!(read.body["failing_since"].is_string());

    // Five days of nothing but failures: the next failure disables it and mails the owner.
    let five_days_ago = (Utc::now() - chrono::Duration::days(5) - chrono::Duration::minutes(1)).naive_utc();
    diesel::update(webhooks::table.filter(webhooks::id.eq(&webhook)))
        .set(webhooks::failing_since.eq(Some(five_days_ago)))
        .execute(&mut server.database.connect())
        .unwrap();
    send_test(&server, &reseller, &webhook);
    eventually(20, "the endpoint is disabled", || {
        let read = server.get(&format!("/v1/webhooks/{webhook}"), Some(&reseller.token));
        read.body["enabled"] == false && read.body["disabled_reason"] == "failing"
    });
    eventually(20, "the owner's mail", || {
        server.mails_to("reseller@example.test").iter().any(|m| m.subject == "A webhook endpoint was disabled")
    });
    let audit = server.get("/v1/audit-events?action=webhook.disable", Some(&reseller.token));
    assert_eq!(audit.body["data"].as_array().map(Vec::len), Some(1), "{}", audit.body);
    let refused = server.post(&format!("/v1/webhooks/{webhook}/test"), Some(&reseller.token), json!({}));
    assert_eq!((refused.status, refused.code()), (409, "webhook_disabled"));

    // Enabling it again forgets the failures.
    let enabled = server.patch(&format!("/v1/webhooks/{webhook}"), Some(&reseller.token), json!({"enabled": true}));
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert!(enabled.body["failing_since"].is_null() && enabled.body["disabled_reason"].is_null());
});

both_backends!(after_a_rotation_both_secrets_sign_for_a_day, env = ENV, |server| {
    let receiver = Receiver::start();
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, old) = endpoint(&server, &reseller, &receiver.url("/hook"), &["webhook.test"]);
    let rotated = server.post(&format!("/v1/webhooks/{webhook}/rotate-secret"), Some(&reseller.token), json!({}));
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.str("secret");
    assert_ne!(new, old);
    let until: chrono::DateTime<Utc> = rotated.str("previous_secret_expires_at").parse().unwrap();
    assert!((until - Utc::now() - chrono::Duration::hours(24)).num_seconds().abs() < 60, "{until}");

    send_test(&server, &reseller, &webhook);
    let during = receiver.wait_for_count("/hook", 1, 20).remove(0);
    assert_eq!(during.header("webhook-signature").split(' ').count(), 2, "{:?}", during.headers);
    assert!(verifies(&during, &new) && verifies(&during, &old), "a receiver on either secret verifies");

    // A day later only the new one signs.
    diesel::update(webhooks::table.filter(webhooks::id.eq(&webhook)))
        .set(webhooks::previous_secret_until.eq(Some((Utc::now() - chrono::Duration::seconds(1)).naive_utc())))
        .execute(&mut server.database.connect())
        .unwrap();
    send_test(&server, &reseller, &webhook);
    let after = receiver.wait_for_count("/hook", 2, 20).remove(1);
    assert_eq!(after.header("webhook-signature").split(' ').count(), 1);
    assert!(verifies(&after, &new) && !verifies(&after, &old));
    let read = server.get(&format!("/v1/webhooks/{webhook}"), Some(&reseller.token));
    assert!(read.body["previous_secret_expires_at"].is_null(), "{}", read.body);
});

both_backends!(an_event_reaches_the_owner_and_those_above_never_a_sibling, env = ENV, |server| {
    let receiver = Receiver::start();
    let tree = Tree::build(&server);
    let paths = [
        ("operator", &tree.operator),
        ("reseller_a", &tree.reseller_a),
        ("reseller_b", &tree.reseller_b),
        ("customer_a1", &tree.customer_a1),
        ("customer_a2", &tree.customer_a2),
        ("sub_reseller", &tree.sub_reseller),
    ];
    let mut endpoints = BTreeMap::new();
    for (role, account) in paths {
        let (id, _) = endpoint(&server, account, &receiver.url(&format!("/{role}")), &["*"]);
        endpoints.insert(role, id);
    }
    // A sale to customer A2: its own event.
    let plan = server.web_plan(&tree.reseller_a, "Web");
    let service = server.sell(&tree.reseller_a, &tree.customer_a2, &plan);
    for role in ["operator", "reseller_a", "customer_a2"] {
        let got = receiver.wait_for(&format!("/{role}"), "service.create");
        assert_eq!(got.json()["data"]["target_id"], service, "{role}");
    }
    // Test events behind it: an endpoint's deliveries go oldest first, so once its test
    // event arrived, anything queued for it before has arrived too.
    for role in ["reseller_b", "customer_a1", "sub_reseller"] {
        let owner = paths.iter().find(|(r, _)| *r == role).unwrap().1;
        send_test(&server, owner, &endpoints[role]);
        receiver.wait_for(&format!("/{role}"), "webhook.test");
        let leaked: Vec<String> = receiver
            .at(&format!("/{role}"))
            .iter()
            .filter(|r| r.text().contains(&service))
            .map(Received::text)
            .collect();
        assert!(leaked.is_empty(), "{role} heard of customer A2's service: {leaked:?}");
    }
});

both_backends!(a_rolled_back_change_sends_nothing, env = ENV, |server| {
    use hostadmin_persistence::audit::{append, AuditContext, NewEvent};
    let receiver = Receiver::start();
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, _) = endpoint(&server, &reseller, &receiver.url("/hook"), &["*"]);
    let event = |action| NewEvent {
        action,
        target_type: "account",
        target_id: &reseller.id,
        account_id: Some(&reseller.id),
        details: json!({}),
    };
    let mut conn = server.database.connect();
    let mut rolled_back = String::new();
    let outcome: Result<(), diesel::result::Error> = hostadmin_persistence::write_transaction(&mut conn, |conn| {
        rolled_back = append(conn, &AuditContext::default(), event("account.rolled_back"), Utc::now().naive_utc())
            .expect("appended");
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(outcome.is_err());
    let committed = conn
        .transaction::<_, diesel::result::Error, _>(|conn| {
            Ok(append(conn, &AuditContext::default(), event("account.committed"), Utc::now().naive_utc())
                .expect("appended"))
        })
        .unwrap();
    send_test(&server, &reseller, &webhook);
    receiver.wait_for("/hook", "webhook.test");
    let ids: Vec<String> = receiver.at("/hook").iter().map(|r| r.header("webhook-id").to_owned()).collect();
    assert!(ids.contains(&committed), "the committed change was sent: {ids:?}");
    assert!(!ids.contains(&rolled_back), "the rolled-back one never: {ids:?}");
});

both_backends!(several_workers_deliver_each_event_once_and_in_order, env = ENV, |server| {
    let receiver = Receiver::start();
    let (reseller, customer) = seller_and_customer(&server);
    let (webhook, _) = endpoint(&server, &reseller, &receiver.url("/hook"), &["account.*", "customer.*"]);
    let _first = server.spawn_worker(&[("HOSTADMIN_WORKER_INTERVAL_MS", "20")]);
    let _second = server.spawn_worker(&[("HOSTADMIN_WORKER_INTERVAL_MS", "20")]);
    let changes = 30;
    for index in 0..changes {
        let renamed = server.patch(
            &format!("/v1/customers/{}", customer.id),
            Some(&reseller.token),
            json!({"name": format!("Name {index}")}),
        );
        assert_eq!(renamed.status, 200, "{}", renamed.body);
    }
    let got = receiver.wait_for_count("/hook", changes, 60);
    // Give a duplicate the time to arrive, if one were on its way.
    std::thread::sleep(Duration::from_secs(2));
    let ids: Vec<String> = receiver.at("/hook").iter().map(|r| r.header("webhook-id").to_owned()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), changes, "each event once: {ids:?}");
    assert_eq!(unique, ids, "in the order of the events (ids are time-ordered)");
    assert!(got.iter().all(|r| r.event_type() == "customer.update"));
    let logged = deliveries(&server, &reseller, &webhook);
    assert!(logged.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1), "{logged:?}");
});

both_backends!(private_and_loopback_urls_are_refused_at_creation, |server| {
    let (reseller, _) = seller_and_customer(&server);
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://localhost/hook",
        "https://localhost./hook",
        "http://127.0.0.1:9/hook",
        "http://hooks.example.com/hook",
    ] {
        let refused = server.post("/v1/webhooks", Some(&reseller.token), json!({"url": url, "events": ["*"]}));
        assert_eq!((refused.status, refused.code()), (422, "webhook_url_refused"), "{url}: {}", refused.body);
        assert_eq!(refused.pointers(), vec!["/url"], "{url}");
        if url.contains("localhost") {
            // Refused for what it resolves to: a name that simply did not resolve would
            // be refused too, and must not pass for this.
            let detail = refused.body["errors"][0]["detail"].as_str().unwrap_or_default();
            let address = detail
                .strip_prefix("localhost resolves to ")
                .and_then(|rest| rest.strip_suffix(", which is not a public address"))
                .and_then(|address| address.parse::<std::net::IpAddr>().ok());
            assert!(address.is_some_and(|a| a.is_loopback()), "{url}: {detail}");
        }
    }
    let listed = server.get("/v1/webhooks", Some(&reseller.token));
    assert_eq!(listed.body["data"], json!([]), "nothing was created");
});

both_backends!(
    a_name_that_resolves_to_a_private_address_later_is_refused_at_delivery,
    env = &[("HOSTADMIN_WORKER_INTERVAL_MS", "100")],
    |server| {
        let receiver = Receiver::start();
        let (reseller, _) = seller_and_customer(&server);
        // Created for a public address; nothing is allowed beyond public addresses here.
        let (webhook, _) = endpoint(&server, &reseller, "https://93.184.215.14/hook", &["webhook.test"]);
        // Later the endpoint's name points at loopback (here: its URL now names `localhost`,
        // as a DNS change would make it; the address is judged again at delivery).
        diesel::update(webhooks::table.filter(webhooks::id.eq(&webhook)))
            .set(webhooks::url.eq(format!("https://localhost:{}/hook", receiver.port)))
            .execute(&mut server.database.connect())
            .unwrap();
        let queued = send_test(&server, &reseller, &webhook);
        let refused = after_attempts(&server, &reseller, &webhook, queued["id"].as_str().unwrap(), 1, 20);
        let error = refused["last_error"].as_str().unwrap_or_default();
        assert!(error.starts_with("refused: localhost resolves to"), "{refused}");
        assert!(error.contains("not a public address"), "{refused}");
        assert!(receiver.received().is_empty(), "nothing reached the receiver");
    }
);

both_backends!(endpoints_validate_their_input_and_follow_the_conventions, env = ENV, |server| {
    let (reseller, customer) = seller_and_customer(&server);
    let token = Some(reseller.token.as_str());
    let bad = server.post("/v1/webhooks", token, json!({"url": "not a url", "events": ["*", "nope", "*"]}));
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.pointers(), vec!["/url", "/events/1", "/events/2"]);
    let none = server.post("/v1/webhooks", token, json!({"url": "http://127.0.0.1:9/", "events": []}));
    assert_eq!(none.pointers(), vec!["/events"]);
    let unknown =
        server.post("/v1/webhooks", token, json!({"url": "http://127.0.0.1:9/", "events": ["*"], "secret": "x"}));
    assert_eq!((unknown.status, unknown.code()), (422, "unknown_field"));
    let keyed = server.send(
        "POST",
        "/v1/webhooks",
        token,
        Body::Json(json!({"url": "http://127.0.0.1:9/", "events": ["*"]})),
        &[("idempotency-key", "k1")],
    );
    assert_eq!((keyed.status, keyed.code()), (400, "idempotency_not_supported"), "the answer holds a secret");

    let (webhook, _) = endpoint(&server, &reseller, "http://127.0.0.1:9/", &["*"]);
    let path = format!("/v1/webhooks/{webhook}");
    let cleared = server.patch(&path, token, json!({"events": null, "url": null}));
    assert_eq!(cleared.pointers(), vec!["/url", "/events"]);
    let stale = server.send("PATCH", &path, token, Body::Json(json!({"description": "x"})), &[("if-match", "\"v9\"")]);
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    let changed = server.send(
        "PATCH",
        &path,
        token,
        Body::Json(json!({"description": "Billing sync", "events": ["service.*"], "enabled": false})),
        &[("if-match", "\"v1\"")],
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!((changed.body["events"].clone(), changed.body["enabled"].clone()), (json!(["service.*"]), json!(false)));
    assert_eq!(changed.header("etag"), Some("\"v2\""));

    // Other accounts do not see it; keys need the scopes.
    assert_eq!(server.get(&path, Some(&customer.token)).status, 404);
    let reader = server.post("/v1/me/api-keys", token, json!({"name": "r", "scopes": ["webhooks:read"]})).str("key");
    assert_eq!(server.get(&path, Some(&reader)).status, 200);
    let write = server.post("/v1/webhooks", Some(&reader), json!({"url": "http://127.0.0.1:9/", "events": ["*"]}));
    assert_eq!((write.status, write.code()), (403, "insufficient_scope"));

    // At most 20 per account.
    for _ in 1..20 {
        endpoint(&server, &reseller, "http://127.0.0.1:9/", &["webhook.test"]);
    }
    let full = server.post("/v1/webhooks", token, json!({"url": "http://127.0.0.1:9/", "events": ["*"]}));
    assert_eq!((full.status, full.code()), (409, "quota_exceeded"));
    assert_eq!(server.delete(&path, token).status, 204);
    assert_eq!(server.get(&path, token).status, 404);
});

both_backends!(an_internal_note_reaches_only_the_sellers_hooks, env = ENV, |server| {
    let receiver = Receiver::start();
    let (reseller, customer) = seller_and_customer(&server);
    let (sellers, _) = endpoint(&server, &reseller, &receiver.url("/seller"), &["ticket.*"]);
    let (customers, _) = endpoint(&server, &customer, &receiver.url("/customer"), &["ticket.*"]);
    let opened = server.post("/v1/tickets", Some(&customer.token), json!({"subject": "Refund?", "body": "Please."}));
    assert_eq!(opened.status, 201, "{}", opened.body);
    let ticket = opened.str("id");
    let note = server.post(
        &format!("/v1/tickets/{ticket}/messages"),
        Some(&reseller.token),
        json!({"body": "Known abuser, say no.", "internal": true}),
    );
    assert_eq!(note.status, 201, "{}", note.body);

    // Queued with the change, so the logs tell at once.
    let types = |owner: &Account, webhook: &str| -> Vec<String> {
        let mut types: Vec<String> = deliveries(&server, owner, webhook)
            .iter()
            .map(|d| d["event_type"].as_str().unwrap_or_default().to_owned())
            .collect();
        types.sort();
        types
    };
    assert_eq!(types(&reseller, &sellers), vec!["ticket.create", "ticket.internal_note"]);
    assert_eq!(
        types(&customer, &customers),
        vec!["ticket.create"],
        "the customer hears of its ticket, not of the note"
    );
    let heard = receiver.wait_for("/seller", "ticket.internal_note").json();
    assert_eq!(
        (heard["data"]["target_type"].clone(), heard["data"]["account_id"].clone()),
        (json!("ticket_note"), json!(reseller.id))
    );
    assert!(!heard.to_string().contains("Known abuser"), "never the note's text: {heard}");
});

/// The owner's audit entries of `action`.
fn audit_entries(server: &Server, owner: &Account, action: &str) -> Vec<Value> {
    let audit = server.get(&format!("/v1/audit-events?action={action}"), Some(&owner.token));
    assert_eq!(audit.status, 200, "{}", audit.body);
    audit.body["data"].as_array().cloned().unwrap_or_default()
}

/// Takes a delivery through the whole schedule until it is `failed` (the receiver must
/// fail every attempt): the test clock makes each retry due at once.
fn through_the_schedule(server: &Server, owner: &Account, webhook: &str, id: &str) -> Value {
    for attempt in 1..8 {
        after_attempts(server, owner, webhook, id, attempt, 20);
        due_now(server, id);
    }
    let failed = after_attempts(server, owner, webhook, id, 8, 20);
    assert_eq!(failed["status"], "failed", "{failed}");
    failed
}

both_backends!(a_manual_retry_sends_a_delivery_again, env = ENV, |server| {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    // The receiver is down (503) until the test says it is back.
    let back = Arc::new(AtomicBool::new(false));
    let up = back.clone();
    let receiver = Receiver::answering(
        move |_, _| {
            if up.load(Ordering::SeqCst) {
                Reply::Status(204)
            } else {
                Reply::Status(503)
            }
        },
    );
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, secret) = endpoint(&server, &reseller, &receiver.url("/hook"), &["webhook.test"]);
    let queued = send_test(&server, &reseller, &webhook);
    let id = queued["id"].as_str().unwrap();
    let failed = through_the_schedule(&server, &reseller, &webhook, id);
    assert!(failed["next_attempt_at"].is_null(), "{failed}");
    assert_eq!(receiver.at("/hook").len(), 8);

    // Back up; a retry by hand queues it again at once.
    back.store(true, Ordering::SeqCst);
    let retry = format!("/v1/webhooks/{webhook}/deliveries/{id}/retry");
    let retried = server.post(&retry, Some(&reseller.token), json!({}));
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!((retried.str("id"), retried.str("status")), (id.to_owned(), "pending".to_owned()));
    let got = receiver.wait_for_count("/hook", 9, 20);
    assert_eq!(got[8].header("webhook-id"), got[0].header("webhook-id"), "the same event id");
    assert_eq!(got[8].body, got[0].body, "the same event, byte for byte");
    assert!(verifies(&got[8], &secret));
    let delivered = after_attempts(&server, &reseller, &webhook, id, 9, 20);
    assert_eq!((delivered["status"].clone(), delivered["last_status_code"].clone()), (json!("delivered"), json!(204)));
    assert_eq!(receiver.at("/hook").len(), 9, "sent once more, not more");

    let audit = audit_entries(&server, &reseller, "webhook.delivery_retry");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        (audit[0]["target_type"].clone(), audit[0]["target_id"].clone()),
        (json!("webhook_delivery"), json!(id))
    );
    assert_eq!(audit[0]["actor_id"], reseller.id);

    // A disabled endpoint is sent nothing, not even by hand.
    let disabled = server.patch(&format!("/v1/webhooks/{webhook}"), Some(&reseller.token), json!({"enabled": false}));
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    let refused = server.post(&retry, Some(&reseller.token), json!({}));
    assert_eq!((refused.status, refused.code()), (409, "webhook_disabled"), "{}", refused.body);
    assert_eq!(delivery(&server, &reseller, &webhook, id)["status"], "delivered", "nothing was queued");
    assert_eq!(audit_entries(&server, &reseller, "webhook.delivery_retry").len(), 1);
});

/// A plan whose services may have mailboxes.
fn mail_plan(server: &Server, seller: &Account) -> String {
    let response = server.post(
        "/v1/plans",
        Some(&seller.token),
        json!({"name": "Mail", "service_kind": "web_hosting", "quotas": {"disk_mb": 2000, "mailboxes": 10, "mailbox_default_mb": 500},
               "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}], "public": true}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

both_backends!(filters_choose_the_events, env = ENV, |server| {
    let receiver = Receiver::start();
    let (reseller, customer) = seller_and_customer(&server);
    // An exact event type, an area, another area.
    let filters: [(&str, &[&str]); 3] =
        [("/exact", &["service.create"]), ("/mailboxes", &["mailbox.*"]), ("/customers", &["customer.*"])];
    let endpoints: Vec<String> =
        filters.iter().map(|(path, events)| endpoint(&server, &reseller, &receiver.url(path), events).0).collect();

    // One event each filter asks for, and some none asks for: plan.create, domain.create
    // and service.update (in the exact filter's area, but not its name).
    let plan = mail_plan(&server, &reseller);
    let service = server.sell(&reseller, &customer, &plan);
    let renamed = server.patch(&format!("/v1/services/{service}"), Some(&customer.token), json!({"name": "Shop"}));
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let domain = server.post("/v1/domains", Some(&customer.token), json!({"name": "shop.test", "service_id": service}));
    assert_eq!(domain.status, 201, "{}", domain.body);
    let mailbox = server.post(
        &format!("/v1/services/{service}/mailboxes"),
        Some(&customer.token),
        json!({"address": "info@shop.test", "password": PASSWORD}),
    );
    assert_eq!(mailbox.status, 201, "{}", mailbox.body);
    let customer_renamed =
        server.patch(&format!("/v1/customers/{}", customer.id), Some(&reseller.token), json!({"name": "Renamed"}));
    assert_eq!(customer_renamed.status, 200, "{}", customer_renamed.body);

    // A test event behind everything: an endpoint's deliveries go oldest first, so once
    // its test event arrived, whatever was queued for it before has arrived too.
    for ((path, _), webhook) in filters.iter().zip(&endpoints) {
        send_test(&server, &reseller, webhook);
        receiver.wait_for(path, "webhook.test");
    }
    let heard = |path: &str| -> Vec<String> {
        receiver.at(path).iter().map(Received::event_type).filter(|t| t != "webhook.test").collect()
    };
    assert_eq!(heard("/exact"), vec!["service.create"]);
    assert_eq!(heard("/mailboxes"), vec!["mailbox.create"]);
    assert_eq!(heard("/customers"), vec!["customer.update"]);
});

both_backends!(a_disabled_endpoint_is_sent_nothing, env = ENV, |server| {
    let receiver = Receiver::start();
    let (reseller, customer) = seller_and_customer(&server);
    let (off, _) = endpoint(&server, &reseller, &receiver.url("/off"), &["customer.*"]);
    // The same filters on an endpoint left on: the change below is an event they ask for.
    endpoint(&server, &reseller, &receiver.url("/on"), &["customer.*"]);
    let path = format!("/v1/webhooks/{off}");
    let disabled = server.patch(&path, Some(&reseller.token), json!({"enabled": false}));
    assert_eq!((disabled.status, disabled.body["enabled"].clone()), (200, json!(false)), "{}", disabled.body);

    let renamed =
        server.patch(&format!("/v1/customers/{}", customer.id), Some(&reseller.token), json!({"name": "Renamed"}));
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    receiver.wait_for("/on", "customer.update");
    // Deliveries are queued in the change's transaction: once it answered, the log is what
    // it will be.
    assert_eq!(deliveries(&server, &reseller, &off), Vec::<Value>::new());
    assert!(receiver.at("/off").is_empty());

    // Switched on again, it does not catch up on what happened meanwhile: its test event
    // arrives, and nothing before it.
    let enabled = server.patch(&path, Some(&reseller.token), json!({"enabled": true}));
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    let queued = send_test(&server, &reseller, &off);
    receiver.wait_for("/off", "webhook.test");
    let sent: Vec<String> = receiver.at("/off").iter().map(Received::event_type).collect();
    assert_eq!(sent, vec!["webhook.test"]);
    let logged: Vec<Value> = deliveries(&server, &reseller, &off).into_iter().map(|d| d["id"].clone()).collect();
    assert_eq!(logged, vec![queued["id"].clone()]);
});

both_backends!(a_crashed_workers_endpoint_is_taken_over_after_its_lease, env = ENV, |server| {
    let receiver = Receiver::start();
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, _) = endpoint(&server, &reseller, &receiver.url("/hook"), &["webhook.test"]);
    let hold = |holder: Option<&str>, until: Option<chrono::DateTime<Utc>>| {
        diesel::update(webhooks::table.filter(webhooks::id.eq(&webhook)))
            .set((webhooks::claimed_by.eq(holder), webhooks::lease_until.eq(until.map(|at| at.naive_utc()))))
            .execute(&mut server.database.connect())
            .unwrap();
    };
    let holder = || -> Option<String> {
        webhooks::table
            .filter(webhooks::id.eq(&webhook))
            .select(webhooks::claimed_by)
            .first(&mut server.database.connect())
            .unwrap()
    };
    // A worker died holding the endpoint: its claim stays, with a lease still running.
    hold(Some("crashed-worker"), Some(Utc::now() + chrono::Duration::minutes(10)));
    let queued = send_test(&server, &reseller, &webhook);
    let id = queued["id"].as_str().unwrap();
    // Ten rounds of the live worker: it leaves the endpoint alone while the lease runs.
    std::thread::sleep(Duration::from_secs(1));
    assert!(receiver.received().is_empty(), "sent while another worker's lease ran");
    assert_eq!(delivery(&server, &reseller, &webhook, id)["attempts"], 0);
    assert_eq!(holder().as_deref(), Some("crashed-worker"));

    // The lease runs out: the live worker takes the endpoint over and delivers, once.
    hold(Some("crashed-worker"), Some(Utc::now() - chrono::Duration::seconds(1)));
    receiver.wait_for_count("/hook", 1, 20);
    let delivered = after_attempts(&server, &reseller, &webhook, id, 1, 20);
    assert_eq!(delivered["status"], "delivered", "{delivered}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(receiver.received().len(), 1, "exactly one delivery");
    eventually(10, "the worker lets go of the endpoint", || holder().is_none());
});

both_backends!(a_url_changed_to_a_private_address_is_refused, |server| {
    let (reseller, _) = seller_and_customer(&server);
    let token = Some(reseller.token.as_str());
    // An address literal is judged without a lookup.
    let (webhook, _) = endpoint(&server, &reseller, "https://93.184.215.14/hook", &["service.*"]);
    let path = format!("/v1/webhooks/{webhook}");
    let refused = server.patch(&path, token, json!({"url": "https://10.0.0.1/"}));
    assert_eq!((refused.status, refused.code()), (422, "webhook_url_refused"), "{}", refused.body);
    assert_eq!(refused.pointers(), vec!["/url"]);
    assert_eq!(refused.body["errors"][0]["detail"], "10.0.0.1 is not a public address", "{}", refused.body);
    let read = server.get(&path, token);
    assert_eq!(read.body["url"], "https://93.184.215.14/hook", "unchanged");
    assert_eq!(read.header("etag"), Some("\"v1\""));
    assert_eq!(audit_entries(&server, &reseller, "webhook.update"), Vec::<Value>::new());
});

both_backends!(changing_rotating_and_removing_an_endpoint_are_audited_once_each, env = ENV, |server| {
    let (reseller, _) = seller_and_customer(&server);
    let token = Some(reseller.token.as_str());
    // The URL's query holds the receiver's own token: it is not the audit log's to keep.
    let (webhook, first) = endpoint(&server, &reseller, "http://127.0.0.1:9/hook?token=receivers-own", &["service.*"]);
    let path = format!("/v1/webhooks/{webhook}");
    let changed = server.patch(&path, token, json!({"description": "Billing sync"}));
    assert_eq!(changed.status, 200, "{}", changed.body);
    let rotated = server.post(&format!("{path}/rotate-secret"), token, json!({}));
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = rotated.str("secret");
    assert_eq!(server.delete(&path, token).status, 204);

    for action in ["webhook.update", "webhook.rotate_secret", "webhook.delete"] {
        let entries = audit_entries(&server, &reseller, action);
        assert_eq!(entries.len(), 1, "{action}: {entries:?}");
        let entry = &entries[0];
        assert_eq!((entry["target_type"].clone(), entry["target_id"].clone()), (json!("webhook"), json!(webhook)));
        assert_eq!(entry["actor_id"], reseller.id, "{action}");
        let text = entry.to_string();
        assert!(!text.contains(&first[6..]) && !text.contains(&second[6..]), "{action} holds a secret: {text}");
        assert!(!text.contains("receivers-own"), "{action} holds the URL's query: {text}");
    }
});

both_backends!(the_delivery_log_filters_by_status, env = ENV, |server| {
    // The receiver accepts the first request and refuses every later one.
    let receiver = Receiver::answering(|_, before| if before == 0 { Reply::Status(204) } else { Reply::Status(503) });
    let (reseller, _) = seller_and_customer(&server);
    let (webhook, _) = endpoint(&server, &reseller, &receiver.url("/hook"), &["webhook.test"]);
    let queue = || send_test(&server, &reseller, &webhook)["id"].as_str().unwrap().to_owned();
    let delivered = queue();
    assert_eq!(after_attempts(&server, &reseller, &webhook, &delivered, 1, 20)["status"], "delivered");
    let failed = queue();
    through_the_schedule(&server, &reseller, &webhook, &failed);
    let pending = queue();
    assert_eq!(after_attempts(&server, &reseller, &webhook, &pending, 1, 20)["status"], "pending");

    let log = |query: &str| {
        let page = server.get(&format!("/v1/webhooks/{webhook}/deliveries?{query}"), Some(&reseller.token));
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        page.ids()
    };
    assert_eq!(log("status=delivered"), vec![delivered.clone()]);
    assert_eq!(log("status=failed"), vec![failed.clone()]);
    assert_eq!(log("status=pending"), vec![pending.clone()]);
    assert_eq!(log(""), vec![pending, failed, delivered], "all of them, newest first");
    let bogus = server.get(&format!("/v1/webhooks/{webhook}/deliveries?status=lost"), Some(&reseller.token));
    assert_eq!((bogus.status, bogus.pointers()), (422, vec!["/query/status".to_owned()]), "{}", bogus.body);
});
