//! Bulk service actions, background jobs, and the worker's due-date processing: per-item
//! results, validation, large bulks becoming jobs a worker finishes, jobs visible only to
//! their requester, end-of-period cancellations and expiries, and two workers racing for
//! the same due services.

use std::time::Duration;

use chrono::Utc;
use diesel::RunQueryDsl as _;

use crate::support::*;

const FAST_WORKER: &[(&str, &str)] = &[("HOSTADMIN_WORKER_INTERVAL_MS", "100")];

fn bulk(server: &Server, account: &Account, body: Value) -> Response {
    server.post("/v1/services/bulk", Some(&account.token), body)
}

fn status_of(server: &Server, account: &Account, id: &str) -> Value {
    let response = server.get(&format!("/v1/services/{id}"), Some(&account.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// A well-formed UUIDv7 that names no service.
fn absent_id(index: usize) -> String {
    format!("0190a000-0000-7000-8000-{index:012x}")
}

fn set_due(server: &Server, id: &str, ago: chrono::Duration) {
    let at = (Utc::now() - ago).format("%Y-%m-%d %H:%M:%S");
    diesel::sql_query(format!("UPDATE services SET next_due_at = '{at}' WHERE id = '{id}'"))
        .execute(&mut server.database.connect())
        .unwrap();
}

fn results(response: &Response) -> Vec<(String, bool, Option<String>)> {
    response.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results in {}", response.body))
        .iter()
        .map(|item| {
            (
                item["service_id"].as_str().unwrap().to_owned(),
                item["ok"].as_bool().unwrap(),
                item["error"]["code"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

both_backends!(bulk_checks_every_item_on_its_own, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let other = server.create(&operator, "other-reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let stranger = server.create(&other, "stranger", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let other_plan = server.web_plan(&other, "Web");
    let own = server.sell(&reseller, &customer, &plan);
    let suspended = server.sell(&reseller, &customer, &plan);
    let foreign = server.sell(&other, &stranger, &other_plan);
    let refused =
        server.post(&format!("/v1/services/{suspended}/suspend"), Some(&reseller.token), json!({"reason": "first"}));
    assert_eq!(refused.status, 200, "{}", refused.body);

    let absent = absent_id(9);
    let response = bulk(
        &server,
        &reseller,
        json!({"action": "suspend", "service_ids": [own, foreign, suspended, absent], "params": {"reason": "unpaid"}}),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        results(&response),
        vec![
            (own.clone(), true, None),
            (foreign.clone(), false, Some("not_found".to_owned())),
            (suspended.clone(), false, Some("invalid_transition".to_owned())),
            (absent.clone(), false, Some("not_found".to_owned())),
        ]
    );
    assert!(response.body["results"][0].get("error").is_none(), "no error on a success: {}", response.body);
    assert!(response.body["results"][1]["error"]["detail"].is_string());
    let read = status_of(&server, &reseller, &own);
    assert_eq!((read["status"].as_str(), read["suspension_reason"].as_str()), (Some("suspended"), Some("unpaid")));
    assert_eq!(status_of(&server, &other, &foreign)["status"], "active", "a foreign service is untouched");
    let audited = server.count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.suspend' AND target_id = '{own}' AND actor_id = '{}'", reseller.id),
    );
    assert_eq!(audited, 1, "each item's change is audited with its actor");

    // Unsuspend and renew through bulk, with the same per-item rules.
    let response = bulk(&server, &reseller, json!({"action": "unsuspend", "service_ids": [own, suspended]}));
    assert_eq!(results(&response).iter().filter(|item| item.1).count(), 2, "{}", response.body);
    let before = status_of(&server, &reseller, &own)["next_due_at"].clone();
    let response = bulk(&server, &reseller, json!({"action": "renew", "service_ids": [own], "params": {"cycles": 2}}));
    assert_eq!(results(&response), vec![(own.clone(), true, None)]);
    assert_ne!(status_of(&server, &reseller, &own)["next_due_at"], before, "renewed");

    // Customers: no renew/suspend at all; set_auto_renew on what they reach only.
    for action in [
        json!({"action": "renew", "service_ids": [own]}),
        json!({"action": "suspend", "service_ids": [own], "params": {"reason": "x"}}),
    ] {
        let refused = bulk(&server, &customer, action);
        assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    }
    let response = bulk(
        &server,
        &customer,
        json!({"action": "set_auto_renew", "service_ids": [own, foreign], "params": {"auto_renew": false}}),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        results(&response),
        vec![(own.clone(), true, None), (foreign.clone(), false, Some("not_found".to_owned()))]
    );
    assert_eq!(status_of(&server, &customer, &own)["auto_renew"], false);
    assert_eq!(status_of(&server, &other, &foreign)["auto_renew"], true);

    // The owner itself may not suspend its own service (only from above): an item error.
    let response =
        bulk(&server, &other, json!({"action": "suspend", "service_ids": [foreign], "params": {"reason": "x"}}));
    assert!(results(&response)[0].1, "a reseller suspends its customer's service");

    // Idempotency-Key: a retry gets the stored answer and changes nothing again.
    let body = json!({"action": "renew", "service_ids": [own], "params": {"cycles": 1}});
    let send = || {
        server.send(
            "POST",
            "/v1/services/bulk",
            Some(&reseller.token),
            Body::Json(body.clone()),
            &[("idempotency-key", "bulk-1")],
        )
    };
    let first = send();
    let due = status_of(&server, &reseller, &own)["next_due_at"].clone();
    let again = send();
    assert_eq!((first.status, again.body.clone()), (200, first.body.clone()));
    assert_eq!(status_of(&server, &reseller, &own)["next_due_at"], due, "the retry renewed nothing");
});

both_backends!(bulk_refuses_invalid_requests_with_pointers, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let id = absent_id(1);
    let cases = [
        (json!({"action": "unsuspend", "service_ids": []}), "/service_ids"),
        (json!({"action": "unsuspend", "service_ids": (0..1001).map(absent_id).collect::<Vec<_>>()}), "/service_ids"),
        (json!({"action": "unsuspend", "service_ids": [id, absent_id(2), id]}), "/service_ids/2"),
        (json!({"action": "unsuspend", "service_ids": [id, "g059dfbf-1aea-2441-84f5-5c517de44d4c"]}), "/service_ids/1"),
        (json!({"action": "suspend", "service_ids": [id]}), "/params/reason"),
        (json!({"action": "suspend", "service_ids": [id], "params": {"reason": " "}}), "/params/reason"),
        (json!({"action": "renew", "service_ids": [id], "params": {"cycles": 11}}), "/params/cycles"),
        (json!({"action": "set_auto_renew", "service_ids": [id], "params": {}}), "/params/auto_renew"),
        (
            json!({"action": "set_auto_renew", "service_ids": [id], "params": {"auto_renew": true, "extra": 1}}),
            "/params/extra",
        ),
        (json!({"action": "delete", "service_ids": [id]}), "/action"),
        (json!({"service_ids": [id]}), "/action"),
        (json!({"action": "unsuspend", "service_ids": [id], "extra": 1}), "/extra"),
    ];
    for (body, pointer) in cases {
        let refused = bulk(&server, &reseller, body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        refused.code();
        assert_eq!(refused.pointers(), vec![pointer.to_owned()], "{body}");
    }
    let unauthenticated = server.post("/v1/services/bulk", None, json!({"action": "unsuspend", "service_ids": [id]}));
    assert_eq!(unauthenticated.status, 401);
});

both_backends!(a_large_bulk_becomes_a_job_the_worker_finishes, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let other = server.create(&operator, "other-reseller", "reseller");
    let plan = server.web_plan(&reseller, "Web");
    let first = server.sell(&reseller, &customer, &plan);
    let second = server.sell(&reseller, &customer, &plan);
    let mut ids = vec![first.clone(), second.clone()];
    ids.extend((0..99).map(absent_id));

    let accepted =
        bulk(&server, &reseller, json!({"action": "suspend", "service_ids": ids, "params": {"reason": "abuse"}}));
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let job = accepted.str("id");
    assert_eq!(accepted.header("location"), Some(format!("/v1/jobs/{job}").as_str()));
    assert_eq!(accepted.body["progress"], json!({"done": 0, "total": 101}));
    assert_eq!(accepted.body["status"], "queued");
    assert!(accepted.body["finished_at"].is_null());

    let mut finished = Value::Null;
    eventually(60, "the job to finish", || {
        let read = server.get(&format!("/v1/jobs/{job}"), Some(&reseller.token));
        assert_eq!(read.status, 200, "{}", read.body);
        finished = read.body;
        finished["status"] == "done"
    });
    assert_eq!(finished["progress"], json!({"done": 101, "total": 101}));
    assert!(finished["finished_at"].is_string() && finished["created_at"].is_string());
    let items = finished["results"].as_array().unwrap();
    assert_eq!(items.len(), 101);
    assert_eq!((items[0]["service_id"].as_str(), items[0]["ok"].as_bool()), (Some(first.as_str()), Some(true)));
    assert_eq!(items[1]["ok"], true);
    assert!(items[2..].iter().all(|item| item["ok"] == false && item["error"]["code"] == "not_found"));
    for id in [&first, &second] {
        assert_eq!(status_of(&server, &reseller, id)["status"], "suspended");
    }
    let audited = server.count(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.suspend' AND actor_id = '{}'",
        reseller.id
    ));
    assert_eq!(audited, 2, "each changed item audited once, with the requester as actor");

    // Only the requester sees the job.
    for outsider in [&operator, &customer, &other] {
        let hidden = server.get(&format!("/v1/jobs/{job}"), Some(&outsider.token));
        assert_eq!((hidden.status, hidden.code()), (404, "not_found"), "{}", outsider.login);
    }
    for bad in [absent_id(7), "not-an-id".to_owned()] {
        let missing = server.get(&format!("/v1/jobs/{bad}"), Some(&reseller.token));
        assert_eq!(missing.status, 404);
    }
    assert_eq!(server.get(&format!("/v1/jobs/{job}"), None).status, 401);
});

both_backends!(due_services_are_cancelled_or_expired_by_the_worker, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let cancelling = server.sell(&reseller, &customer, &plan);
    let lapsed = server.sell(&reseller, &customer, &plan);
    let lapsed_suspended = server.sell(&reseller, &customer, &plan);
    let in_grace = server.sell(&reseller, &customer, &plan);
    let cancelling_later = server.sell(&reseller, &customer, &plan);

    for id in [&cancelling, &cancelling_later] {
        let cancelled = server.post(
            &format!("/v1/services/{id}/cancel"),
            Some(&customer.token),
            json!({"type": "end_of_period", "reason": "moving"}),
        );
        assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    }
    let suspended =
        server.post(&format!("/v1/services/{lapsed_suspended}/suspend"), Some(&reseller.token), json!({"reason": "x"}));
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    set_due(&server, &cancelling, chrono::Duration::hours(1));
    set_due(&server, &lapsed, chrono::Duration::days(8));
    set_due(&server, &lapsed_suspended, chrono::Duration::days(30));
    set_due(&server, &in_grace, chrono::Duration::days(6));

    eventually(30, "the due services to end", || {
        status_of(&server, &reseller, &cancelling)["status"] == "cancelled"
            && status_of(&server, &reseller, &lapsed)["status"] == "expired"
            && status_of(&server, &reseller, &lapsed_suspended)["status"] == "expired"
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status_of(&server, &reseller, &in_grace)["status"], "active", "still within the grace period");
    assert_eq!(status_of(&server, &reseller, &cancelling_later)["status"], "active", "its period has not ended");
    assert!(status_of(&server, &reseller, &lapsed_suspended)["suspension_reason"].is_null());

    let events = |action: &str, id: &str| {
        server.count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}' AND target_id = '{id}' AND actor_id IS NULL"),
        )
    };
    assert_eq!(events("service.cancel_at_period_end", &cancelling), 1);
    assert_eq!(events("service.expire", &lapsed), 1);
    assert_eq!(events("service.expire", &lapsed_suspended), 1);
    assert_eq!(events("service.expire", &in_grace), 0);

    // The owner reads the events of its services; renewing brings an expired one back.
    let log = server.get(&format!("/v1/audit-events?target_id={lapsed}"), Some(&customer.token));
    assert_eq!(log.status, 200, "{}", log.body);
    assert!(log.body["data"].as_array().unwrap().iter().any(|e| e["action"] == "service.expire"), "{}", log.body);
    let renewed = server.post(&format!("/v1/services/{lapsed}/renew"), Some(&reseller.token), json!({"cycles": 1}));
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    assert_eq!(renewed.body["status"], "active");
});

// The server's own worker runs one round at start and then sleeps for an hour, so the
// two `hostadmin worker` processes are the ones that race.
both_backends!(
    two_workers_expire_each_due_service_exactly_once,
    env = &[("HOSTADMIN_WORKER_INTERVAL_MS", "3600000")],
    |server| {
        let operator = server.operator("operator");
        let reseller = server.create(&operator, "reseller", "reseller");
        let customer = server.create(&reseller, "customer", "customer");
        let plan = server.web_plan(&reseller, "Web");
        let ids: Vec<String> = (0..30).map(|_| server.sell(&reseller, &customer, &plan)).collect();
        for id in &ids {
            set_due(&server, id, chrono::Duration::days(10));
        }

        let fast = [("HOSTADMIN_WORKER_INTERVAL_MS", "20")];
        let workers = [server.spawn_worker(&fast), server.spawn_worker(&fast)];
        let list = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
        eventually(60, "every due service to expire", || {
            server.count(&format!("SELECT COUNT(*) AS n FROM services WHERE status = 'expired' AND id IN ({list})"))
                == 30
        });
        // Give a slow second worker the chance to (wrongly) apply something twice.
        std::thread::sleep(Duration::from_millis(500));
        drop(workers);

        #[derive(diesel::QueryableByName)]
        struct PerService {
            #[diesel(sql_type = diesel::sql_types::Text)]
            target_id: String,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Vec<PerService> = diesel::sql_query(
            "SELECT target_id, COUNT(*) AS n FROM audit_events WHERE action = 'service.expire' GROUP BY target_id",
        )
        .load(&mut server.database.connect())
        .unwrap();
        assert_eq!(rows.len(), 30, "one group per service");
        assert!(rows.iter().all(|row| row.n == 1 && ids.contains(&row.target_id)), "exactly one service.expire each");
    }
);

both_backends!(
    a_job_done_again_after_a_lost_lease_renews_nothing_twice,
    env = &[("HOSTADMIN_WORKER_INTERVAL_MS", "3600000")],
    |server| {
        let operator = server.operator("operator");
        let reseller = server.create(&operator, "reseller", "reseller");
        let customer = server.create(&reseller, "customer", "customer");
        let plan = server.web_plan(&reseller, "Web");
        let services = [server.sell(&reseller, &customer, &plan), server.sell(&reseller, &customer, &plan)];
        let due_before: Vec<Value> =
            services.iter().map(|id| status_of(&server, &reseller, id)["next_due_at"].clone()).collect();
        let mut ids = services.to_vec();
        ids.extend((0..99).map(absent_id));
        let accepted =
            bulk(&server, &reseller, json!({"action": "renew", "service_ids": ids, "params": {"cycles": 1}}));
        assert_eq!(accepted.status, 202, "{}", accepted.body);
        let job = accepted.str("id");
        let done = || server.get(&format!("/v1/jobs/{job}"), Some(&reseller.token)).body["status"] == "done";
        {
            let _worker = server.spawn_worker(&[("HOSTADMIN_WORKER_INTERVAL_MS", "50")]);
            eventually(60, "the first run of the job", done);
        }
        let renewed: Vec<Value> =
            services.iter().map(|id| status_of(&server, &reseller, id)["next_due_at"].clone()).collect();
        assert!(renewed.iter().zip(&due_before).all(|(after, before)| after != before), "renewed once");

        // As if the first worker had died before saving its progress: the job is back
        // in the queue with nothing recorded, and another worker carries it out again.
        diesel::sql_query(format!(
            "UPDATE jobs SET status = 'queued', results = '[]', progress_done = 0, claimed_by = NULL, \
             lease_until = NULL, finished_at = NULL WHERE id = '{job}'"
        ))
        .execute(&mut server.database.connect())
        .unwrap();
        {
            let _worker = server.spawn_worker(&[("HOSTADMIN_WORKER_INTERVAL_MS", "50")]);
            eventually(60, "the second run of the job", done);
        }
        let again = server.get(&format!("/v1/jobs/{job}"), Some(&reseller.token));
        let items = again.body["results"].as_array().unwrap();
        for item in &items[..2] {
            assert_eq!(item["ok"], true, "done by the job's first run, and listed so: {item}");
        }
        let after: Vec<Value> =
            services.iter().map(|id| status_of(&server, &reseller, id)["next_due_at"].clone()).collect();
        assert_eq!(after, renewed, "no service was renewed twice");
        let renewals = server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.renew'");
        assert_eq!(renewals, 2, "one renewal per service");
    }
);

fn add_domain(server: &Server, account: &Account, name: &str, service_id: &str) {
    let added = server.post("/v1/domains", Some(&account.token), json!({"name": name, "service_id": service_id}));
    assert_eq!(added.status, 201, "{}", added.body);
}

fn domain_of(server: &Server, account: &Account, name: &str) -> Value {
    let read = server.get(&format!("/v1/domains/{name}"), Some(&account.token));
    assert_eq!(read.status, 200, "{}", read.body);
    read.body
}

both_backends!(bulk_domain_actions_change_every_domain_of_each_service, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let other = server.create(&operator, "other-reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let second_customer = server.create(&reseller, "customer-two", "customer");
    let stranger = server.create(&other, "stranger", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let other_plan = server.web_plan(&other, "Web");
    let first = server.sell(&reseller, &customer, &plan);
    let second = server.sell(&reseller, &second_customer, &plan);
    let foreign = server.sell(&other, &stranger, &other_plan);
    add_domain(&server, &customer, "one.example", &first);
    add_domain(&server, &customer, "two.example", &first);
    add_domain(&server, &second_customer, "three.example", &second);
    add_domain(&server, &stranger, "foreign.example", &foreign);
    let names = ["one.example", "two.example", "three.example"];

    let locked = bulk(&server, &reseller, json!({"action": "lock", "service_ids": [first, second]}));
    assert_eq!(locked.status, 200, "{}", locked.body);
    assert_eq!(results(&locked), vec![(first.clone(), true, None), (second.clone(), true, None)]);
    for name in names {
        assert_eq!(domain_of(&server, &reseller, name)["locked"], true, "{name}");
    }
    let audited = server.count(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'domain.update' AND actor_id = '{}'",
        reseller.id
    ));
    assert_eq!(audited, 3, "each changed domain audited once");

    let unlocked = bulk(&server, &reseller, json!({"action": "unlock", "service_ids": [first, second]}));
    assert_eq!(results(&unlocked), vec![(first.clone(), true, None), (second.clone(), true, None)]);
    for name in names {
        assert_eq!(domain_of(&server, &reseller, name)["locked"], false, "{name}");
    }

    let nameservers = json!(["ns1.example.net", "ns2.example.net"]);
    let set = bulk(
        &server,
        &reseller,
        json!({"action": "set_nameservers", "service_ids": [first, second], "params": {"nameservers": nameservers}}),
    );
    assert_eq!(results(&set), vec![(first.clone(), true, None), (second.clone(), true, None)]);
    for name in names {
        let domain = domain_of(&server, &reseller, name);
        assert_eq!((&domain["nameservers"], &domain["dns_managed"]), (&nameservers, &json!(false)), "{name}");
    }
    let back = bulk(
        &server,
        &reseller,
        json!({"action": "set_nameservers", "service_ids": [first, second], "params": {"nameservers": null}}),
    );
    assert_eq!(results(&back), vec![(first.clone(), true, None), (second.clone(), true, None)]);
    for name in names {
        let domain = domain_of(&server, &reseller, name);
        assert_eq!((&domain["nameservers"], &domain["dns_managed"]), (&Value::Null, &json!(true)), "{name}");
    }

    // Params are checked as PATCH /v1/domains/{name} checks them.
    for (list, pointer) in [
        (json!(["ns1.example.net"]), "/params/nameservers"),
        (json!(["a.example.net", "A.example.net"]), "/params/nameservers/1"),
    ] {
        let bad = bulk(
            &server,
            &reseller,
            json!({"action": "set_nameservers", "service_ids": [first], "params": {"nameservers": list}}),
        );
        assert_eq!((bad.status, bad.pointers()), (422, vec![pointer.to_owned()]), "{}", bad.body);
    }
    let bad = bulk(&server, &reseller, json!({"action": "lock", "service_ids": [first], "params": {"x": 1}}));
    assert_eq!((bad.status, bad.pointers()), (422, vec!["/params/x".to_owned()]));

    // An unreachable service is an item error; the others are done.
    let mixed = bulk(&server, &reseller, json!({"action": "lock", "service_ids": [first, foreign, second]}));
    assert_eq!(mixed.status, 200, "{}", mixed.body);
    assert_eq!(
        results(&mixed),
        vec![(first.clone(), true, None), (foreign.clone(), false, Some("not_found".to_owned())), (second, true, None)]
    );
    assert_eq!(domain_of(&server, &stranger, "foreign.example")["locked"], false);
    assert_eq!(domain_of(&server, &customer, "one.example")["locked"], true);

    // A key without domains:write is refused before anything.
    let key =
        server.post("/v1/me/api-keys", Some(&customer.token), json!({"name": "svc", "scopes": ["services:write"]}));
    assert_eq!(key.status, 201, "{}", key.body);
    let key = Account { token: key.str("key"), ..customer.clone() };
    let refused = bulk(&server, &key, json!({"action": "unlock", "service_ids": [first]}));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"), "{}", refused.body);
    let refused = bulk(
        &server,
        &key,
        json!({"action": "set_nameservers", "service_ids": [first], "params": {"nameservers": null}}),
    );
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    assert_eq!(domain_of(&server, &customer, "one.example")["locked"], true);
    // The customer's own session may.
    let own = bulk(&server, &customer, json!({"action": "unlock", "service_ids": [first]}));
    assert_eq!(results(&own), vec![(first.clone(), true, None)]);

    // A restriction domain.lock on the reseller refuses lock and unlock, not name servers.
    let restricted = server.put(
        &format!("/v1/customers/{}/restrictions", reseller.id),
        Some(&operator.token),
        json!({"disabled_actions": ["domain.lock"]}),
    );
    assert_eq!(restricted.status, 200, "{}", restricted.body);
    for action in ["lock", "unlock"] {
        let refused = bulk(&server, &reseller, json!({"action": action, "service_ids": [first]}));
        assert_eq!((refused.status, refused.code()), (403, "action_restricted"), "{action}: {}", refused.body);
    }
    assert_eq!(domain_of(&server, &customer, "one.example")["locked"], false);
    let allowed = bulk(
        &server,
        &reseller,
        json!({"action": "set_nameservers", "service_ids": [first], "params": {"nameservers": null}}),
    );
    assert_eq!(results(&allowed), vec![(first, true, None)]);
});

both_backends!(a_large_bulk_lock_becomes_a_job, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    add_domain(&server, &customer, "one.example", &service);
    add_domain(&server, &customer, "two.example", &service);
    let mut ids = vec![service.clone()];
    ids.extend((0..100).map(absent_id));

    let accepted = bulk(&server, &reseller, json!({"action": "lock", "service_ids": ids}));
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let job = accepted.str("id");
    let mut finished = Value::Null;
    eventually(60, "the job to finish", || {
        finished = server.get(&format!("/v1/jobs/{job}"), Some(&reseller.token)).body;
        finished["status"] == "done"
    });
    let items = finished["results"].as_array().unwrap();
    assert_eq!((items[0]["service_id"].as_str(), items[0]["ok"].as_bool()), (Some(service.as_str()), Some(true)));
    assert!(items[1..].iter().all(|item| item["error"]["code"] == "not_found"));
    for name in ["one.example", "two.example"] {
        assert_eq!(domain_of(&server, &reseller, name)["locked"], true, "{name}");
    }
});

// A worker killed (SIGKILL) in the middle of a 300-item bulk renewal, after some items
// were committed and before its progress was saved: the worker that takes the job over
// lists every item `ok: true`, and every service is renewed exactly once.
both_backends!(
    a_job_taken_over_after_a_crash_reports_what_happened,
    env = &[("HOSTADMIN_WORKER_INTERVAL_MS", "3600000")],
    |server| {
        let operator = server.operator("operator");
        let reseller = server.create(&operator, "reseller", "reseller");
        let customer = server.create(&reseller, "customer", "customer");
        let plan = server.web_plan(&reseller, "Web");
        let ids: Vec<String> = (0..300).map(|_| server.sell(&reseller, &customer, &plan)).collect();
        let accepted =
            bulk(&server, &reseller, json!({"action": "renew", "service_ids": ids, "params": {"cycles": 1}}));
        assert_eq!(accepted.status, 202, "{}", accepted.body);
        let job = accepted.str("id");
        let saved = format!("SELECT progress_done AS n FROM jobs WHERE id = '{job}'");
        let renewed = "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.renew'";

        let mut first = server.spawn_worker(&[("HOSTADMIN_WORKER_INTERVAL_MS", "20")]);
        // Killed while items it committed are not yet in its saved progress.
        eventually(60, "items done beyond the saved progress", || {
            let done = server.count(&saved);
            (20..260).contains(&done) && server.count(renewed) > done
        });
        first.kill();
        let (done, listed) = (server.count(renewed), server.count(&saved));
        eprintln!("killed with {done} items done and {listed} listed");

        // The lease runs out (the test clock), and another worker takes the job over.
        diesel::sql_query(format!("UPDATE jobs SET lease_until = '2000-01-01 00:00:00' WHERE id = '{job}'"))
            .execute(&mut server.database.connect())
            .unwrap();
        let _second = server.spawn_worker(&[("HOSTADMIN_WORKER_INTERVAL_MS", "20")]);
        let mut finished = Value::Null;
        eventually(120, "the job to finish", || {
            finished = server.get(&format!("/v1/jobs/{job}"), Some(&reseller.token)).body;
            finished["status"] == "done"
        });
        let items = finished["results"].as_array().unwrap();
        assert_eq!(items.len(), 300);
        let failed: Vec<&Value> = items.iter().filter(|item| item["ok"] != true).collect();
        assert!(failed.is_empty(), "every item was done, and is listed so: {failed:?}");
        assert_eq!(server.count(renewed), 300, "each service renewed once");
        assert_eq!(
            server.count("SELECT COUNT(DISTINCT target_id) AS n FROM audit_events WHERE action = 'service.renew'"),
            300
        );
    }
);
