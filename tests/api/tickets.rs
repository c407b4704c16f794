//! Support tickets: who answered decides the status, numbers per seller, internal notes
//! that never reach the customer's side, support grants, outgoing tickets, tenancy, and
//! the mails of new tickets and answers (read from the `.eml` files).

use crate::support::*;

/// The worker looks at the outbox ten times a second.
const FAST_WORKER: &[(&str, &str)] = &[("HOSTADMIN_WORKER_INTERVAL_MS", "100")];

pub fn open(server: &Server, by: &Account, body: Value) -> Response {
    server.post("/v1/tickets", Some(&by.token), body)
}

/// Opens a ticket that must be opened; its body.
pub fn opened(server: &Server, by: &Account, body: Value) -> Value {
    let response = open(server, by, body);
    assert_eq!(response.status, 201, "{}", response.body);
    assert_eq!(response.header("location"), Some(format!("/v1/tickets/{}", response.str("id")).as_str()));
    response.body
}

pub fn reply(server: &Server, by: &Account, ticket: &str, body: Value) -> Response {
    server.post(&format!("/v1/tickets/{ticket}/messages"), Some(&by.token), body)
}

fn ticket(server: &Server, by: &Account, id: &str) -> Response {
    server.get(&format!("/v1/tickets/{id}"), Some(&by.token))
}

fn status_of(server: &Server, by: &Account, id: &str) -> String {
    let read = ticket(server, by, id);
    assert_eq!(read.status, 200, "{}", read.body);
    read.str("status")
}

fn bodies(server: &Server, by: &Account, id: &str) -> Vec<String> {
    let list = server.get(&format!("/v1/tickets/{id}/messages"), Some(&by.token));
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["data"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect()
}

both_backends!(replies_move_the_status_to_whoever_must_answer_next, |server| {
    let tree = Tree::build(&server);
    let t = opened(
        &server,
        &tree.customer_a1,
        json!({"subject": "  Mail is down ", "body": "Since 9:00.", "priority": "high"}),
    );
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(t["status"], "open");
    assert_eq!(
        (t["number"].clone(), t["subject"].clone(), t["priority"].clone()),
        (json!(1), json!("Mail is down"), json!("high"))
    );
    assert_eq!((t["direction"].clone(), t["customer_id"].clone()), (json!("incoming"), json!(tree.customer_a1.id)));
    assert_eq!(
        (t["seller_id"].clone(), t["created_by"].clone()),
        (json!(tree.reseller_a.id), json!(tree.customer_a1.id))
    );

    let answered = reply(&server, &tree.reseller_a, &id, json!({"body": "We are on it."}));
    assert_eq!(answered.status, 201, "{}", answered.body);
    assert_eq!((answered.body["side"].clone(), answered.body["internal"].clone()), (json!("seller"), json!(false)));
    assert_eq!(status_of(&server, &tree.customer_a1, &id), "answered");
    assert_eq!(reply(&server, &tree.customer_a1, &id, json!({"body": "Still down."})).status, 201);
    assert_eq!(status_of(&server, &tree.reseller_a, &id), "open");
    // Every account above the seller reads and answers too.
    assert_eq!(reply(&server, &tree.operator, &id, json!({"body": "Escalated."})).status, 201);
    assert_eq!(status_of(&server, &tree.customer_a1, &id), "answered");

    let etag = ticket(&server, &tree.customer_a1, &id).header("etag").unwrap().to_owned();
    let closed = server.send(
        "PATCH",
        &format!("/v1/tickets/{id}"),
        Some(&tree.customer_a1.token),
        Body::Json(json!({"status": "closed"})),
        &[("if-match", &etag)],
    );
    assert_eq!((closed.status, closed.body["status"].clone()), (200, json!("closed")), "{}", closed.body);
    let stale = server.send(
        "PATCH",
        &format!("/v1/tickets/{id}"),
        Some(&tree.customer_a1.token),
        Body::Json(json!({"priority": "low"})),
        &[("if-match", &etag)],
    );
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    // A reply to a closed ticket reopens it, from either side.
    assert_eq!(reply(&server, &tree.customer_a1, &id, json!({"body": "It is back down."})).status, 201);
    assert_eq!(status_of(&server, &tree.customer_a1, &id), "open");
    let again = server.patch(&format!("/v1/tickets/{id}"), Some(&tree.reseller_a.token), json!({"status": "closed"}));
    assert_eq!(again.body["status"], "closed");
    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Fixed for good."})).status, 201);
    assert_eq!(status_of(&server, &tree.customer_a1, &id), "answered");
    assert_eq!(bodies(&server, &tree.customer_a1, &id).len(), 6, "newest first, the opening message included");
    assert_eq!(bodies(&server, &tree.customer_a1, &id)[0], "Fixed for good.");

    // Only `closed` may be set; numbers are per seller.
    let open_again =
        server.patch(&format!("/v1/tickets/{id}"), Some(&tree.customer_a1.token), json!({"status": "open"}));
    assert_eq!((open_again.status, open_again.pointers()), (422, vec!["/status".to_owned()]));
    assert_eq!(opened(&server, &tree.customer_a2, json!({"subject": "Two", "body": "x"}))["number"], 2);
    assert_eq!(opened(&server, &tree.customer_b1, json!({"subject": "B", "body": "x"}))["number"], 1);
    let deep = opened(&server, &tree.sub_customer, json!({"subject": "Deep", "body": "x"}));
    assert_eq!((deep["number"].clone(), deep["seller_id"].clone()), (json!(1), json!(tree.sub_reseller.id)));
    let top = opened(&server, &tree.reseller_a, json!({"subject": "To the provider", "body": "x"}));
    assert_eq!((top["number"].clone(), top["seller_id"].clone()), (json!(1), Value::Null));
    let deep_id = deep["id"].as_str().unwrap();
    assert_eq!(reply(&server, &tree.reseller_a, deep_id, json!({"body": "From above the seller"})).status, 201);

    // Lists: own, received, and for sellers everything below; filters.
    let listed = |who: &Account, query: &str| server.get(&format!("/v1/tickets{query}"), Some(&who.token)).ids().len();
    assert_eq!(listed(&tree.customer_a1, ""), 1);
    assert_eq!(listed(&tree.reseller_a, ""), 4, "its customers', the sub-customer's and its own");
    assert_eq!(listed(&tree.sub_reseller, ""), 1);
    assert_eq!(listed(&tree.operator, ""), 5);
    assert_eq!(listed(&tree.reseller_a, "?status=answered"), 2);
    assert_eq!(listed(&tree.reseller_a, &format!("?customer_id={}", tree.customer_a2.id)), 1);
    assert_eq!(listed(&tree.reseller_a, "?q=MAIL"), 1);
    assert_eq!(listed(&tree.reseller_b, "?q=1"), 1, "an all-digit q matches the number");
});

both_backends!(internal_notes_never_reach_the_customers_side, |server| {
    let tree = Tree::build(&server);
    let id = opened(&server, &tree.customer_a1, json!({"subject": "Refund?", "body": "Please."}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = ticket(&server, &tree.customer_a1, &id);
    let note = reply(&server, &tree.reseller_a, &id, json!({"body": "Known abuser, say no.", "internal": true}));
    assert_eq!((note.status, note.body["internal"].clone()), (201, json!(true)), "{}", note.body);
    let note_id = note.str("id");

    // Nothing the customer's side reads changes: status, last reply, version.
    let after = ticket(&server, &tree.customer_a1, &id);
    assert_eq!(after.body, before.body);
    assert_eq!(after.header("etag"), before.header("etag"));
    assert_eq!(bodies(&server, &tree.customer_a1, &id), vec!["Please."]);
    assert_eq!(bodies(&server, &tree.reseller_a, &id), vec!["Known abuser, say no.", "Please."]);
    assert_eq!(bodies(&server, &tree.operator, &id).len(), 2);
    let listed = server.get("/v1/tickets", Some(&tree.customer_a1.token));
    assert_eq!(listed.body["data"][0], after.body);

    // The customer's side cannot write one, and never sees it in the audit log.
    let refused = reply(&server, &tree.customer_a1, &id, json!({"body": "sneaky", "internal": true}));
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    let log = server.get("/v1/audit-events?limit=100", Some(&tree.customer_a1.token));
    assert!(!log.text.contains(&note_id) && !log.text.contains("internal_note"), "{}", log.text);
    assert!(log.text.contains("ticket.create"), "its own events are there: {}", log.text);
    let sellers_log = server.get("/v1/audit-events?action=ticket.internal_note", Some(&tree.reseller_a.token));
    assert_eq!(sellers_log.ids().len(), 1, "{}", sellers_log.text);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM ticket_messages WHERE internal"), 1);
});

both_backends!(a_support_grant_reaches_a_services_tickets_and_a_view_grant_does_not, |server| {
    let tree = Tree::build(&server);
    let plan = server.web_plan(&tree.reseller_a, "Web");
    let service = server.sell(&tree.reseller_a, &tree.customer_a1, &plan);
    let grant = |grantee: &Account, permissions: Value| {
        let given = server.post(
            "/v1/authorizations",
            Some(&tree.customer_a1.token),
            json!({"grantee": grantee.login, "permissions": permissions, "service_ids": [service]}),
        );
        assert_eq!(given.status, 201, "{}", given.body);
        let path = format!("/v1/authorizations/{}/accept", given.str("id"));
        assert_eq!(server.post(&path, Some(&grantee.token), json!({})).status, 200);
    };
    grant(&tree.customer_b1, json!(["view", "manage"]));
    grant(&tree.customer_b2, json!(["support"]));

    // The helper opens a ticket about the service for its owner.
    let t = opened(
        &server,
        &tree.customer_b2,
        json!({"subject": "For my client", "body": "Site is slow.", "service_id": service}),
    );
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (t["customer_id"].clone(), t["seller_id"].clone()),
        (json!(tree.customer_a1.id), json!(tree.reseller_a.id))
    );
    assert_eq!((t["created_by"].clone(), t["service_id"].clone()), (json!(tree.customer_b2.id), json!(service)));
    let own = opened(&server, &tree.customer_a1, json!({"subject": "Mine", "body": "Not about the service."}));

    // Without `support`: reached, refused.
    let view = &tree.customer_b1;
    let refused = open(&server, view, json!({"subject": "x", "body": "y", "service_id": service}));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_grant"), "{}", refused.body);
    for (method, path, body) in [
        ("GET", format!("/v1/tickets/{id}"), None),
        ("GET", format!("/v1/tickets/{id}/messages"), None),
        ("POST", format!("/v1/tickets/{id}/messages"), Some(json!({"body": "hi"}))),
        ("PATCH", format!("/v1/tickets/{id}"), Some(json!({"status": "closed"}))),
    ] {
        let body = body.map_or(Body::None, Body::Json);
        let response = server.send(method, &path, Some(&view.token), body, &[]);
        assert_eq!((response.status, response.code()), (403, "insufficient_grant"), "{method} {path}");
    }
    assert!(server.get("/v1/tickets", Some(&view.token)).ids().is_empty());
    // With `support`: the service's tickets (not the owner's others), on the customer's side.
    let helper = &tree.customer_b2;
    assert_eq!(server.get("/v1/tickets", Some(&helper.token)).ids(), vec![id.clone()]);
    assert_eq!(ticket(&server, helper, own["id"].as_str().unwrap()).status, 404);
    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Answer"})).status, 201);
    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Note", "internal": true})).status, 201);
    let answer = reply(&server, helper, &id, json!({"body": "Thanks"}));
    assert_eq!((answer.status, answer.body["side"].clone()), (201, json!("customer")));
    assert_eq!(status_of(&server, &tree.customer_a1, &id), "open");
    assert_eq!(bodies(&server, helper, &id), vec!["Thanks", "Answer", "Site is slow."], "no internal note");
    let note = reply(&server, helper, &id, json!({"body": "x", "internal": true}));
    assert_eq!((note.status, note.code()), (403, "forbidden"));
});

both_backends!(outgoing_tickets_go_to_accounts_directly_below_and_tenants_stay_apart, |server| {
    let tree = Tree::build(&server);
    let plan = server.web_plan(&tree.reseller_a, "Web");
    let service = server.sell(&tree.reseller_a, &tree.customer_a1, &plan);
    let out = opened(
        &server,
        &tree.reseller_a,
        json!({"customer_id": tree.customer_a1.id, "subject": "Maintenance", "body": "Tonight.", "service_id": service}),
    );
    assert_eq!((out["direction"].clone(), out["status"].clone()), (json!("outgoing"), json!("answered")));
    assert_eq!(
        (out["customer_id"].clone(), out["seller_id"].clone()),
        (json!(tree.customer_a1.id), json!(tree.reseller_a.id))
    );
    let id = out["id"].as_str().unwrap().to_owned();
    assert_eq!(reply(&server, &tree.customer_a1, &id, json!({"body": "OK"})).status, 201);
    assert_eq!(status_of(&server, &tree.reseller_a, &id), "open");
    let provider =
        opened(&server, &tree.operator, json!({"customer_id": tree.reseller_b.id, "subject": "Hi", "body": "x"}));
    assert_eq!(provider["seller_id"], Value::Null);

    // Another tenant: 404 for the ticket everywhere (its file too, which its parties
    // read), and for its customer as a target.
    let file = server.send(
        "POST",
        &format!("/v1/tickets/{id}/attachments"),
        Some(&tree.customer_a1.token),
        Body::Raw(Some("text/plain"), b"the log".to_vec()),
        &[],
    );
    assert_eq!(file.status, 201, "{}", file.body);
    let sent = reply(&server, &tree.customer_a1, &id, json!({"body": "Attached.", "attachment_ids": [file.str("id")]}));
    assert_eq!(sent.status, 201, "{}", sent.body);
    let file = format!("/v1/tickets/{id}/attachments/{}", file.str("id"));
    assert_eq!(server.get(&file, Some(&tree.reseller_a.token)).status, 200);
    for who in [&tree.reseller_b, &tree.customer_b1, &tree.customer_a2, &tree.sub_reseller] {
        for (method, path, body) in [
            ("GET", format!("/v1/tickets/{id}"), None),
            ("PATCH", format!("/v1/tickets/{id}"), Some(json!({"status": "closed"}))),
            ("GET", format!("/v1/tickets/{id}/messages"), None),
            ("POST", format!("/v1/tickets/{id}/messages"), Some(json!({"body": "x"}))),
            ("GET", file.clone(), None),
        ] {
            let body = body.map_or(Body::None, Body::Json);
            let response = server.send(method, &path, Some(&who.token), body, &[]);
            assert_eq!((response.status, response.code()), (404, "not_found"), "{method} {path} as {}", who.login);
        }
        assert!(!server.get("/v1/tickets", Some(&who.token)).text.contains(&id), "{}", who.login);
    }
    let foreign =
        open(&server, &tree.reseller_b, json!({"customer_id": tree.customer_a1.id, "subject": "x", "body": "y"}));
    assert_eq!((foreign.status, foreign.code()), (404, "not_found"));
    let not_theirs = open(
        &server,
        &tree.reseller_b,
        json!({"customer_id": tree.customer_b1.id, "subject": "x", "body": "y", "service_id": service}),
    );
    assert_eq!((not_theirs.status, not_theirs.code()), (404, "not_found"), "another tenant's service");
    let deep =
        open(&server, &tree.reseller_a, json!({"customer_id": tree.sub_customer.id, "subject": "x", "body": "y"}));
    assert_eq!((deep.status, deep.pointers()), (422, vec!["/customer_id".to_owned()]), "its seller writes to it");
    let customer =
        open(&server, &tree.customer_a1, json!({"customer_id": tree.customer_a2.id, "subject": "x", "body": "y"}));
    assert_eq!((customer.status, customer.code()), (403, "forbidden"));
    let operator = open(&server, &tree.operator, json!({"subject": "x", "body": "y"}));
    assert_eq!(
        (operator.status, operator.pointers()),
        (422, vec!["/customer_id".to_owned()]),
        "operators have no seller"
    );
    assert_eq!(server.get("/v1/tickets/not-an-id", Some(&tree.operator.token)).status, 404);
});

both_backends!(bad_input_scopes_and_restrictions, |server| {
    let tree = Tree::build(&server);
    let bad = open(&server, &tree.customer_a1, json!({"subject": " ", "body": "", "priority": "soon"}));
    assert_eq!((bad.status, bad.pointers()), (422, vec!["/priority".to_owned()]), "{}", bad.body);
    let empty = open(&server, &tree.customer_a1, json!({"subject": " ", "body": ""}));
    assert_eq!((empty.status, empty.pointers()), (422, vec!["/subject".to_owned(), "/body".to_owned()]));
    let unknown = open(&server, &tree.customer_a1, json!({"subject": "x", "body": "y", "status": "closed"}));
    assert_eq!((unknown.status, unknown.code()), (422, "unknown_field"));
    let long = open(&server, &tree.customer_a1, json!({"subject": "x", "body": "y".repeat(10_001)}));
    assert_eq!(long.pointers(), vec!["/body"]);
    let id =
        opened(&server, &tree.customer_a1, json!({"subject": "x", "body": "y"}))["id"].as_str().unwrap().to_owned();
    let too_many: Vec<String> = (0..11).map(|i| format!("0190a000-0000-7000-8000-{i:012x}")).collect();
    let many = reply(&server, &tree.customer_a1, &id, json!({"body": "x", "attachment_ids": too_many}));
    assert_eq!(many.pointers(), vec!["/attachment_ids"]);
    let unknown_file =
        reply(&server, &tree.customer_a1, &id, json!({"body": "x", "attachment_ids": [tree.customer_a1.id]}));
    assert_eq!((unknown_file.status, unknown_file.code()), (404, "not_found"));

    let key = server.post(
        "/v1/me/api-keys",
        Some(&tree.customer_a1.token),
        json!({"name": "ro", "scopes": ["support:read"]}),
    );
    let key = key.str("key");
    assert_eq!(server.get("/v1/tickets", Some(&key)).status, 200);
    let write = open(
        &server,
        &Account { token: key.clone(), ..tree.customer_a1.clone() },
        json!({"subject": "x", "body": "y"}),
    );
    assert_eq!((write.status, write.code()), (403, "insufficient_scope"));

    let restricted = server.put(
        &format!("/v1/customers/{}/restrictions", tree.customer_a1.id),
        Some(&tree.reseller_a.token),
        json!({"disabled_actions": ["support.write"]}),
    );
    assert_eq!(restricted.status, 200, "{}", restricted.body);
    let refused = reply(&server, &tree.customer_a1, &id, json!({"body": "x"}));
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"));
    assert_eq!(ticket(&server, &tree.customer_a1, &id).status, 200, "reading stays");
    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "the seller still answers"})).status, 201);
});

both_backends!(new_tickets_and_answers_are_mailed_unless_replies_are_switched_off, env = FAST_WORKER, |server| {
    let tree = Tree::build(&server);
    let seller_inbox = "reseller-a@example.test";
    let customer_inbox = "customer-a1@example.test";
    let id =
        opened(&server, &tree.customer_a1, json!({"subject": "Mail <b>down</b>", "body": "Since 9:00 & counting."}))
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let new = server.wait_for_mails(seller_inbox, 1).remove(0);
    assert_eq!(new.subject, "A new support ticket");
    assert!(new.text.contains("customer-a1 opened support ticket #1: Mail <b>down</b>"), "{}", new.text);
    assert!(
        new.text.contains("Since 9:00 & counting.") && new.text.contains(&format!("/tickets/{id}")),
        "{}",
        new.text
    );
    assert!(new.html.contains("Mail &lt;b&gt;down") && !new.html.contains("<b>down"), "{}", new.html);

    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Restarted it."})).status, 201);
    let answer = server.wait_for_mails(customer_inbox, 1).remove(0);
    assert_eq!(answer.subject, "An answer on your support ticket");
    assert!(answer.text.contains("Restarted it.") && answer.text.contains("#1"), "{}", answer.text);
    assert_eq!(reply(&server, &tree.customer_a1, &id, json!({"body": "Works, thanks."})).status, 201);
    assert!(server.wait_for_mails(seller_inbox, 2)[1].text.contains("Works, thanks."));

    // Internal notes mail nobody; switched off, answers mail nobody either.
    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Secret", "internal": true})).status, 201);
    let settings = server.get("/v1/me/notifications", Some(&tree.customer_a1.token));
    assert_eq!((settings.status, settings.body.clone()), (200, json!({"ticket_replies": true})));
    let etag = settings.header("etag").unwrap().to_owned();
    let off = server.send(
        "PATCH",
        "/v1/me/notifications",
        Some(&tree.customer_a1.token),
        Body::Json(json!({"ticket_replies": false})),
        &[("if-match", &etag), ("content-type", "application/merge-patch+json")],
    );
    assert_eq!((off.status, off.body.clone()), (200, json!({"ticket_replies": false})), "{}", off.body);
    let stale = server.send(
        "PATCH",
        "/v1/me/notifications",
        Some(&tree.customer_a1.token),
        Body::Json(json!({"ticket_replies": true})),
        &[("if-match", &etag)],
    );
    assert_eq!(stale.status, 412);
    let null = server.patch("/v1/me/notifications", Some(&tree.customer_a1.token), json!({"ticket_replies": null}));
    assert_eq!(null.pointers(), vec!["/ticket_replies"]);
    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Anything else?"})).status, 201);
    // An outgoing ticket is mailed regardless; once it is, the answer before it was not.
    opened(
        &server,
        &tree.reseller_a,
        json!({"customer_id": tree.customer_a1.id, "subject": "Invoice", "body": "Attached."}),
    );
    let mails = server.wait_for_mails(customer_inbox, 2);
    assert_eq!(mails[1].subject, "A message from your provider");
    assert_eq!(mails.len(), 2, "no mail for the answer while ticket_replies is off");
    let queued = server.count(&format!("SELECT COUNT(*) AS n FROM outbox WHERE recipient = '{customer_inbox}'"));
    assert_eq!(queued, 2);
    for mail in server.mails_to(customer_inbox).iter().chain(server.mails_to(seller_inbox).iter()) {
        assert!(!mail.text.contains("Secret"), "{}", mail.text);
    }
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'account.notifications_update'"), 1);
});

both_backends!(numbers_stay_gapless_and_unique_when_tickets_are_opened_at_once, |server| {
    let tree = Tree::build(&server);
    // The seller's first tickets race to create its counter, then keep racing on it.
    let start = std::sync::Barrier::new(8);
    let numbers: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (start, server) = (&start, &server);
                let who = if i % 2 == 0 { &tree.customer_a1 } else { &tree.customer_a2 };
                scope.spawn(move || {
                    start.wait();
                    let response = open(server, who, json!({"subject": format!("race {i}"), "body": "x"}));
                    assert_eq!(response.status, 201, "{}", response.body);
                    response.body["number"].as_i64().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=8).collect::<Vec<_>>(), "{numbers:?}");
    // A refused request takes no number.
    assert_eq!(
        open(&server, &tree.customer_a1, json!({"subject": "x", "body": "y", "service_id": tree.operator.id})).status,
        404
    );
    assert_eq!(opened(&server, &tree.customer_a1, json!({"subject": "next", "body": "y"}))["number"], 9);
});

/// A seller's billing settings, with `email` as the address for business with it.
fn billing_settings(legal_name: &str, email: Option<&str>) -> Value {
    json!({
        "legal_name": legal_name,
        "address": {"street": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam", "country": "NL"},
        "email": email,
    })
}

/// How many mails the outbox holds for `address`, sent or not: what was queued, without
/// waiting for the worker.
fn queued_for(server: &Server, address: &str) -> i64 {
    server.count(&format!("SELECT COUNT(*) AS n FROM outbox WHERE recipient = '{address}'"))
}

both_backends!(a_new_ticket_mails_the_sellers_billing_email, env = FAST_WORKER, |server| {
    let tree = Tree::build(&server);
    let (helpdesk, account_inbox) = ("helpdesk@reseller-a.test", "reseller-a@example.test");
    let put = server.put(
        "/v1/billing/settings",
        Some(&tree.reseller_a.token),
        billing_settings("Reseller A B.V.", Some(helpdesk)),
    );
    assert_eq!(put.status, 200, "{}", put.body);

    let id = opened(&server, &tree.customer_a1, json!({"subject": "Mail is down", "body": "Since 9:00."}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let new = server.wait_for_mails(helpdesk, 1).remove(0);
    assert_eq!((new.to.as_str(), new.subject.as_str()), (helpdesk, "A new support ticket"));
    assert!(new.text.contains("customer-a1 opened support ticket #1: Mail is down"), "{}", new.text);
    assert_eq!(queued_for(&server, account_inbox), 0, "not to the seller account's own address");
    // The customer's answers go to the same inbox.
    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Restarted it."})).status, 201);
    assert_eq!(reply(&server, &tree.customer_a1, &id, json!({"body": "Works, thanks."})).status, 201);
    assert!(server.wait_for_mails(helpdesk, 2)[1].text.contains("Works, thanks."));
    assert_eq!(queued_for(&server, account_inbox), 0);

    // Settings without an email leave the seller account's own address in charge.
    let put = server.put("/v1/billing/settings", Some(&tree.reseller_b.token), billing_settings("Reseller B", None));
    assert_eq!(put.status, 200, "{}", put.body);
    opened(&server, &tree.customer_b1, json!({"subject": "Hello", "body": "x"}));
    assert_eq!(server.wait_for_mails("reseller-b@example.test", 1)[0].subject, "A new support ticket");
});

both_backends!(
    a_new_ticket_to_the_provider_mails_its_billing_email_instead_of_the_operators,
    env = FAST_WORKER,
    |server| {
        let tree = Tree::build(&server);
        let (provider_inbox, operator_inbox) = ("support@provider.test", "operator@operators.test");
        // Top-level accounts' seller is the provider, whose settings the operators keep.
        opened(&server, &tree.reseller_a, json!({"subject": "Before", "body": "No settings yet."}));
        assert_eq!(server.wait_for_mails(operator_inbox, 1)[0].subject, "A new support ticket");
        let put = server.put(
            "/v1/billing/settings",
            Some(&tree.operator.token),
            billing_settings("Provider GmbH", Some(provider_inbox)),
        );
        assert_eq!(put.status, 200, "{}", put.body);

        let t = opened(&server, &tree.reseller_b, json!({"subject": "Invoice question", "body": "Why 21%?"}));
        assert_eq!(t["seller_id"], Value::Null);
        let id = t["id"].as_str().unwrap().to_owned();
        let new = server.wait_for_mails(provider_inbox, 1).remove(0);
        assert!(new.text.starts_with("Hello Provider GmbH,"), "greeted by the name on its invoices: {}", new.text);
        assert!(new.text.contains("reseller-b opened support ticket #2: Invoice question"), "{}", new.text);
        // Its answers too: the address belongs to no account, so no `ticket_replies` applies.
        assert_eq!(reply(&server, &tree.operator, &id, json!({"body": "The Dutch rate."})).status, 201);
        assert_eq!(reply(&server, &tree.reseller_b, &id, json!({"body": "Thanks."})).status, 201);
        assert!(server.wait_for_mails(provider_inbox, 2)[1].text.contains("Thanks."));
        assert_eq!(queued_for(&server, operator_inbox), 1, "only the ticket from before the settings");
    }
);

both_backends!(a_seller_with_ticket_replies_off_gets_no_answer_mails, env = FAST_WORKER, |server| {
    let tree = Tree::build(&server);
    let (seller_inbox, customer_inbox) = ("reseller-a@example.test", "customer-a1@example.test");
    let off = server.patch("/v1/me/notifications", Some(&tree.reseller_a.token), json!({"ticket_replies": false}));
    assert_eq!((off.status, off.body.clone()), (200, json!({"ticket_replies": false})), "{}", off.body);

    // A new ticket is not an answer: it is still mailed.
    let id = opened(&server, &tree.customer_a1, json!({"subject": "Slow site", "body": "Very slow."}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.wait_for_mails(seller_inbox, 1)[0].subject, "A new support ticket");
    // The seller's answer reaches the customer, the customer's answers reach nobody.
    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Which page?"})).status, 201);
    assert_eq!(reply(&server, &tree.customer_a1, &id, json!({"body": "The shop."})).status, 201);
    assert_eq!(reply(&server, &tree.customer_a1, &id, json!({"body": "And the blog."})).status, 201);
    assert_eq!(server.wait_for_mails(customer_inbox, 1)[0].subject, "An answer on your support ticket");
    assert_eq!(queued_for(&server, seller_inbox), 1, "the new ticket's mail alone");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM outbox WHERE template = 'ticket_reply'"), 1);
});

both_backends!(every_ticket_change_is_audited_once_and_a_note_file_stays_on_the_sellers_side, |server| {
    let tree = Tree::build(&server);
    let count =
        |action: &str| server.count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'"));
    let id =
        opened(&server, &tree.customer_a1, json!({"subject": "Audit", "body": "x"}))["id"].as_str().unwrap().to_owned();

    assert_eq!(reply(&server, &tree.reseller_a, &id, json!({"body": "Answer"})).status, 201);
    assert_eq!(count("ticket.reply"), 1);
    let path = format!("/v1/tickets/{id}");
    assert_eq!(server.patch(&path, Some(&tree.customer_a1.token), json!({"priority": "high"})).status, 200);
    assert_eq!(count("ticket.update"), 1);
    assert_eq!(server.patch(&path, Some(&tree.customer_a1.token), json!({"priority": "high"})).status, 200);
    assert_eq!(count("ticket.update"), 1, "asking for what already holds changes nothing");
    let upload = |by: &Account, text: &str| {
        let uploaded = server.send(
            "POST",
            &format!("/v1/tickets/{id}/attachments?filename=log.txt"),
            Some(&by.token),
            Body::Raw(Some("text/plain"), text.as_bytes().to_vec()),
            &[],
        );
        assert_eq!(uploaded.status, 201, "{}", uploaded.body);
        uploaded.str("id")
    };
    let customers_file = upload(&tree.customer_a1, "customer's log");
    assert_eq!(count("ticket.attachment_upload"), 1);

    // A file the seller uploads for an internal note is filed under the seller.
    let sellers_file = upload(&tree.reseller_a, "seller's log");
    let note =
        reply(&server, &tree.reseller_a, &id, json!({"body": "n", "internal": true, "attachment_ids": [sellers_file]}));
    assert_eq!(note.status, 201, "{}", note.body);
    assert_eq!(count("ticket.attachment_upload"), 2);
    let uploads = |by: &Account| {
        let log = server.get("/v1/audit-events?action=ticket.attachment_upload&limit=100", Some(&by.token));
        assert_eq!(log.status, 200, "{}", log.body);
        let mut targets: Vec<String> =
            log.body["data"].as_array().unwrap().iter().map(|e| e["target_id"].as_str().unwrap().to_owned()).collect();
        targets.sort();
        targets
    };
    assert_eq!(uploads(&tree.customer_a1), vec![customers_file.clone()], "never the seller's note file");
    let mut both = vec![customers_file, sellers_file.clone()];
    both.sort();
    assert_eq!(uploads(&tree.reseller_a), both);
    let everything = server.get("/v1/audit-events?limit=100", Some(&tree.customer_a1.token));
    assert!(!everything.text.contains(&sellers_file), "{}", everything.text);
});
