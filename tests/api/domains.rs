//! Domains: adding a name to a hosting service (any spelling, one canonical form, one
//! owner per name), reading and changing it (name servers, lock, move), redirects,
//! child hosts, delete, and the domain bulk actions; who may do what.

use crate::support::*;

fn plan(server: &Server, seller: &Account, name: &str, quotas: Value) -> String {
    let response = server.post(
        "/v1/plans",
        Some(&seller.token),
        json!({"name": name, "service_kind": "web_hosting", "quotas": quotas, "public": true,
               "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

fn add(server: &Server, who: &Account, name: &str, service: &str) -> Response {
    server.post("/v1/domains", Some(&who.token), json!({"name": name, "service_id": service}))
}

fn events(server: &Server, action: &str) -> i64 {
    server.count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'"))
}

both_backends!(a_domain_is_added_in_any_spelling_and_kept_in_one_form, |server| {
    let tree = Tree::build(&server);
    let plan_a = server.web_plan(&tree.reseller_a, "A web");
    let service = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);

    let created = add(&server, &tree.customer_a1, "BÜCHER.example.", &service);
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["name"], "xn--bcher-kva.example");
    assert_eq!(created.body["unicode_name"], "bücher.example");
    assert_eq!(created.body["kind"], "hosted");
    assert_eq!(created.body["hosting_service_id"], service.as_str());
    assert_eq!(created.body["service_id"], Value::Null);
    assert_eq!(created.body["nameservers"], Value::Null);
    assert_eq!(created.body["dns_managed"], true);
    assert_eq!(created.body["locked"], false);
    assert_eq!(created.body["redirect"], Value::Null);
    assert_eq!(created.header("location"), Some("/v1/domains/xn--bcher-kva.example"));
    assert!(created.header("etag").is_some());
    assert_eq!(events(&server, "domain.create"), 1);

    // Every spelling reaches it.
    for path in ["xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE.", "b%C3%BCcher.example", "B%C3%9CCHER.example."] {
        let read = server.get(&format!("/v1/domains/{path}"), Some(&tree.customer_a1.token));
        assert_eq!(read.status, 200, "{path}: {}", read.body);
        assert_eq!(read.body["name"], "xn--bcher-kva.example");
    }
    // The same name in another spelling is taken.
    let again = add(&server, &tree.customer_a1, "xn--bcher-kva.example", &service);
    assert_eq!((again.status, again.code()), (409, "domain_taken"));

    // Listed, with q on the name and the service filter.
    assert_eq!(add(&server, &tree.customer_a1, "shop.test", &service).status, 201);
    let list = server.get("/v1/domains", Some(&tree.customer_a1.token));
    assert_eq!(list.status, 200, "{}", list.body);
    let names: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["shop.test", "xn--bcher-kva.example"], "newest first");
    let q = server.get("/v1/domains?q=SHOP", Some(&tree.customer_a1.token));
    assert_eq!(q.body["data"].as_array().unwrap().len(), 1);
    let q = server.get("/v1/domains?q=b%C3%BC", Some(&tree.customer_a1.token));
    assert_eq!(q.body["data"][0]["name"], "xn--bcher-kva.example", "q matches the Unicode name");
    let by_service = server.get(&format!("/v1/domains?service_id={service}&limit=1"), Some(&tree.customer_a1.token));
    assert_eq!(by_service.body["data"].as_array().unwrap().len(), 1);
    assert!(by_service.body["next_cursor"].is_string());
    // The seller sees its customer's; another tenant sees none.
    assert_eq!(server.get("/v1/domains", Some(&tree.reseller_a.token)).body["data"].as_array().unwrap().len(), 2);
    assert!(server.get("/v1/domains", Some(&tree.customer_a2.token)).body["data"].as_array().unwrap().is_empty());
    assert!(server.get("/v1/domains", Some(&tree.reseller_b.token)).body["data"].as_array().unwrap().is_empty());
});

both_backends!(bad_names_and_bodies_are_refused_with_pointers, |server| {
    let tree = Tree::build(&server);
    let plan_a = server.web_plan(&tree.reseller_a, "A web");
    let service = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);
    for bad in ["co.uk", "uk", "-a.example", "a_b.example", "example..com", "example.123", ""] {
        let refused = add(&server, &tree.customer_a1, bad, &service);
        assert_eq!((refused.status, refused.code()), (422, "validation_failed"), "{bad:?}: {}", refused.body);
        assert_eq!(refused.pointers(), vec!["/name"], "{bad:?}");
    }
    let long_label = format!("{}.example", "a".repeat(64));
    assert_eq!(add(&server, &tree.customer_a1, &long_label, &service).pointers(), vec!["/name"]);
    let unknown = server.post(
        "/v1/domains",
        Some(&tree.customer_a1.token),
        json!({"name": "ok.example", "service_id": service, "extra": 1}),
    );
    assert_eq!((unknown.status, unknown.code()), (422, "unknown_field"));
    // A service id that is not one is 404, like a service out of reach.
    let missing = add(&server, &tree.customer_a1, "ok.example", "not-an-id");
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM domains"), 0);

    assert_eq!(add(&server, &tree.customer_a1, "ok.example", &service).status, 201);
    let path = "/v1/domains/ok.example";
    let one = server.patch(path, Some(&tree.customer_a1.token), json!({"nameservers": ["ns1.example.net"]}));
    assert_eq!((one.status, one.pointers()), (422, vec!["/nameservers".to_owned()]));
    let dup = server.patch(
        path,
        Some(&tree.customer_a1.token),
        json!({"nameservers": ["ns1.example.net", "NS1.example.net."]}),
    );
    assert_eq!(dup.pointers(), vec!["/nameservers/1"]);
    let ip =
        server.patch(path, Some(&tree.customer_a1.token), json!({"nameservers": ["ns1.example.net", "192.0.2.1"]}));
    assert_eq!(ip.pointers(), vec!["/nameservers/1"]);
    let locked_null = server.patch(path, Some(&tree.customer_a1.token), json!({"locked": null}));
    assert_eq!(locked_null.pointers(), vec!["/locked"]);
    for (body, pointer) in [
        (json!({"type": "307", "target": "https://example.com"}), "/type"),
        (json!({"type": "301", "target": "example.com"}), "/target"),
        (json!({"type": "301", "target": "ftp://example.com"}), "/target"),
        (json!({"type": "301", "target": "https://user:pw@example.com/"}), "/target"),
        (json!({"type": "302", "target": format!("https://example.com/{}", "a".repeat(2000))}), "/target"),
    ] {
        let refused = server.put(&format!("{path}/redirect"), Some(&tree.customer_a1.token), body.clone());
        assert_eq!((refused.status, refused.pointers()), (422, vec![pointer.to_owned()]), "{body}");
    }
    for (body, pointer) in [
        (json!({"hostname": "ns1.other.example", "ips": ["192.0.2.1"]}), "/hostname"),
        (json!({"hostname": "ok.example", "ips": ["192.0.2.1"]}), "/hostname"),
        (json!({"hostname": "ns1.ok.example", "ips": []}), "/ips"),
        (json!({"hostname": "ns1.ok.example", "ips": ["192.0.2.1", "192.0.2.300"]}), "/ips/1"),
        (json!({"hostname": "ns1.ok.example", "ips": ["2001:db8::1", "2001:DB8:0::1"]}), "/ips/1"),
    ] {
        let refused = server.post(&format!("{path}/hosts"), Some(&tree.customer_a1.token), body.clone());
        assert_eq!((refused.status, refused.pointers()), (422, vec![pointer.to_owned()]), "{body}");
    }
    // Unparsable names in a path are 404.
    assert_eq!(server.get("/v1/domains/co.uk", Some(&tree.customer_a1.token)).status, 404);
    assert_eq!(server.get("/v1/domains/a_b.example", Some(&tree.customer_a1.token)).status, 404);
});

both_backends!(name_servers_lock_redirect_hosts_move_and_delete, |server| {
    let tree = Tree::build(&server);
    let plan_a = server.web_plan(&tree.reseller_a, "A web");
    let first = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);
    let second = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);
    let foreign = server.sell(&tree.reseller_a, &tree.customer_a2, &plan_a);
    let token = Some(tree.customer_a1.token.as_str());
    assert_eq!(add(&server, &tree.customer_a1, "example.com", &first).status, 201);
    let path = "/v1/domains/example.com";

    let ns = server.patch(path, token, json!({"nameservers": ["NS1.example.net.", "ns2.example.net"]}));
    assert_eq!(ns.status, 200, "{}", ns.body);
    assert_eq!(ns.body["nameservers"], json!(["ns1.example.net", "ns2.example.net"]));
    assert_eq!(ns.body["dns_managed"], false);
    let etag = ns.header("etag").unwrap().to_owned();
    let back = server.patch(path, token, json!({"nameservers": null}));
    assert_eq!((back.body["nameservers"].clone(), back.body["dns_managed"].clone()), (Value::Null, json!(true)));
    // A stale If-Match changes nothing.
    let stale = server.send("PATCH", path, token, Body::Json(json!({"auto_renew": false})), &[("if-match", &etag)]);
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));

    let redirect =
        server.put(&format!("{path}/redirect"), token, json!({"type": "masked", "target": "https://example.org/x"}));
    assert_eq!(redirect.status, 200, "{}", redirect.body);
    assert_eq!(redirect.body["redirect"], json!({"type": "masked", "target": "https://example.org/x"}));
    // An internationalised host is kept and shown as the URL parser writes it, and so
    // is a `%` that starts no escape (schemathesis sent one; browsers keep it too).
    let target = "https://Bücher.example/ä%U";
    let idn = server.put(&format!("{path}/redirect"), token, json!({"type": "301", "target": target}));
    assert_eq!(idn.body["redirect"], json!({"type": "301", "target": "https://xn--bcher-kva.example/%C3%A4%U"}));
    assert_eq!(server.delete(&format!("{path}/redirect"), token).status, 204);
    assert_eq!(server.get(path, token).body["redirect"], Value::Null);
    assert_eq!(events(&server, "domain.redirect"), 3);

    let host = server.post(
        &format!("{path}/hosts"),
        token,
        json!({"hostname": "NS1.Example.com", "ips": ["192.0.2.1", "2001:DB8::1"]}),
    );
    assert_eq!(host.status, 201, "{}", host.body);
    assert_eq!(host.body["hostname"], "ns1.example.com");
    assert_eq!(host.body["ips"], json!(["192.0.2.1", "2001:db8::1"]));
    let twice =
        server.post(&format!("{path}/hosts"), token, json!({"hostname": "ns1.example.com", "ips": ["192.0.2.2"]}));
    assert_eq!((twice.status, twice.code()), (409, "hostname_taken"));
    let hosts = server.get(&format!("{path}/hosts"), token);
    assert_eq!(hosts.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(server.delete(&format!("{path}/hosts/ns2.example.com"), token).status, 404);
    assert_eq!(server.delete(&format!("{path}/hosts/ns1.example.com"), token).status, 204);
    assert!(server.get(&format!("{path}/hosts"), token).body["data"].as_array().unwrap().is_empty());

    // Locked: neither moved nor deleted.
    let locked = server.patch(path, token, json!({"locked": true}));
    assert_eq!((locked.status, locked.body["locked"].clone()), (200, json!(true)));
    let moved = server.patch(path, token, json!({"hosting_service_id": second}));
    assert_eq!((moved.status, moved.code()), (409, "domain_locked"));
    let deleted = server.delete(path, token);
    assert_eq!((deleted.status, deleted.code()), (409, "domain_locked"));
    assert_eq!(server.patch(path, token, json!({"locked": false})).status, 200);

    // A move goes to another service of the same owner only.
    let other_owner = server.patch(path, token, json!({"hosting_service_id": foreign}));
    assert_eq!((other_owner.status, other_owner.code()), (404, "not_found"));
    let moved = server.patch(path, token, json!({"hosting_service_id": second}));
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["hosting_service_id"], second.as_str());
    let listed = server.get(&format!("/v1/domains?service_id={second}"), token);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);

    // Deleted with its hosts.
    server.post(&format!("{path}/hosts"), token, json!({"hostname": "ns1.example.com", "ips": ["192.0.2.1"]}));
    assert_eq!(server.delete(path, token).status, 204);
    assert_eq!(server.get(path, token).status, 404);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM domain_hosts"), 0);
    assert_eq!(events(&server, "domain.delete"), 1);
    assert_eq!(events(&server, "domain.host_create"), 2);
    assert_eq!(events(&server, "domain.host_delete"), 1);
    assert!(events(&server, "domain.update") >= 5);
    // The name is free again, for anyone.
    assert_eq!(add(&server, &tree.customer_a2, "example.com", &foreign).status, 201);
});

both_backends!(who_may_do_what, |server| {
    let tree = Tree::build(&server);
    let plan_a = server.web_plan(&tree.reseller_a, "A web");
    let plan_b = server.web_plan(&tree.reseller_b, "B web");
    let service = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);
    let sibling = server.sell(&tree.reseller_a, &tree.customer_a2, &plan_a);
    let b_service = server.sell(&tree.reseller_b, &tree.customer_b1, &plan_b);
    assert_eq!(add(&server, &tree.customer_a1, "mine.example", &service).status, 201);
    let path = "/v1/domains/mine.example";

    // Another tenant's domain and a sibling customer's service do not exist for them.
    for other in [&tree.customer_a2, &tree.customer_b1, &tree.reseller_b, &tree.sub_reseller] {
        assert_eq!(server.get(path, Some(&other.token)).status, 404, "{}", other.login);
        assert_eq!(server.delete(path, Some(&other.token)).status, 404, "{}", other.login);
        assert_eq!(server.patch(path, Some(&other.token), json!({"locked": true})).status, 404);
    }
    let into_sibling = add(&server, &tree.customer_a1, "other.example", &sibling);
    assert_eq!((into_sibling.status, into_sibling.code()), (404, "not_found"));
    let into_b = add(&server, &tree.customer_a1, "other.example", &b_service);
    assert_eq!(into_b.status, 404);
    // The seller reaches its customer's domain.
    assert_eq!(server.get(path, Some(&tree.reseller_a.token)).status, 200);
    assert_eq!(server.get(path, Some(&tree.operator.token)).status, 200);

    // An API key without the domains scope.
    let key = server.post(
        "/v1/me/api-keys",
        Some(&tree.customer_a1.token),
        json!({"name": "ro", "scopes": ["domains:read"]}),
    );
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.str("key");
    assert_eq!(server.get(path, Some(&key)).status, 200);
    let refused = add(&server, &Account { token: key.clone(), ..tree.customer_a1.clone() }, "k.example", &service);
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    let refused = server.delete(path, Some(&key));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));

    // A restriction on deleting domains.
    let set = server.put(
        &format!("/v1/customers/{}/restrictions", tree.customer_a1.id),
        Some(&tree.reseller_a.token),
        json!({"disabled_actions": ["domain.delete", "domain.lock"]}),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let refused = server.delete(path, Some(&tree.customer_a1.token));
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"));
    let refused = server.patch(path, Some(&tree.customer_a1.token), json!({"locked": true}));
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"));
    let refused = server.post(
        "/v1/domains/bulk",
        Some(&tree.customer_a1.token),
        json!({"action": "lock", "domains": ["mine.example"]}),
    );
    assert_eq!((refused.status, refused.code()), (403, "action_restricted"));
    // Other changes still work.
    assert_eq!(server.patch(path, Some(&tree.customer_a1.token), json!({"auto_renew": false})).status, 200);

    // A view-only grantee reads but does not write.
    let grant = server.post(
        "/v1/authorizations",
        Some(&tree.customer_a1.token),
        json!({"grantee": "customer-b2", "permissions": ["view"]}),
    );
    assert_eq!(grant.status, 201, "{}", grant.body);
    let accepted = server.post(
        &format!("/v1/authorizations/{}/accept", grant.str("id")),
        Some(&tree.customer_b2.token),
        json!({}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let grantee = Some(tree.customer_b2.token.as_str());
    assert_eq!(server.get(path, grantee).status, 200);
    assert_eq!(server.get("/v1/domains", grantee).body["data"].as_array().unwrap().len(), 1);
    for response in [
        server.patch(path, grantee, json!({"auto_renew": true})),
        server.put(&format!("{path}/redirect"), grantee, json!({"type": "301", "target": "https://example.org"})),
        server.delete(path, grantee),
        add(&server, &tree.customer_b2, "granted.example", &service),
    ] {
        assert_eq!((response.status, response.code()), (403, "insufficient_grant"), "{}", response.body);
    }
    let bulk = server.post(
        "/v1/domains/bulk",
        grantee,
        json!({"action": "unlock", "domains": ["mine.example", "nope.example"]}),
    );
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.body["results"][0]["error"]["code"], "insufficient_grant");
    assert_eq!(bulk.body["results"][1]["error"]["code"], "not_found");
});

both_backends!(quota_names_of_other_owners_and_bulk, |server| {
    let tree = Tree::build(&server);
    let one = plan(&server, &tree.reseller_a, "One domain", json!({"domains": 1}));
    let plan_b = server.web_plan(&tree.reseller_b, "B web");
    let small = server.sell(&tree.reseller_a, &tree.customer_a1, &one);
    let b_service = server.sell(&tree.reseller_b, &tree.customer_b1, &plan_b);
    assert_eq!(add(&server, &tree.customer_a1, "first.example", &small).status, 201);
    let full = add(&server, &tree.customer_a1, "second.example", &small);
    assert_eq!((full.status, full.code()), (409, "quota_exceeded"));

    // Names below or above another owner's domain are taken.
    for name in ["www.first.example", "FIRST.example"] {
        let taken = add(&server, &tree.customer_b1, name, &b_service);
        assert_eq!((taken.status, taken.code()), (409, "domain_taken"), "{name}");
    }
    assert_eq!(add(&server, &tree.customer_b1, "deep.b.example", &b_service).status, 201);
    let above = add(&server, &tree.customer_a1, "b.example", &small);
    assert_eq!(above.status, 409);

    // Bulk: lock and name servers on several, each checked on its own.
    assert_eq!(add(&server, &tree.customer_b1, "two.example", &b_service).status, 201);
    let token = Some(tree.customer_b1.token.as_str());
    let locked = server.post(
        "/v1/domains/bulk",
        token,
        json!({"action": "lock", "domains": ["deep.b.example", "TWO.example.", "first.example", "bad_name"]}),
    );
    assert_eq!(locked.status, 200, "{}", locked.body);
    let oks: Vec<bool> =
        locked.body["results"].as_array().unwrap().iter().map(|r| r["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, vec![true, true, false, false]);
    assert_eq!(locked.body["results"][2]["error"]["code"], "not_found");
    assert_eq!(server.get("/v1/domains/two.example", token).body["locked"], true);
    let ns = server.post(
        "/v1/domains/bulk",
        token,
        json!({"action": "set_nameservers", "domains": ["two.example"], "params": {"nameservers": ["ns1.example.net", "ns2.example.net"]}}),
    );
    assert_eq!(ns.body["results"][0]["ok"], true, "{}", ns.body);
    assert_eq!(server.get("/v1/domains/two.example", token).body["dns_managed"], false);
    let bad = server.post(
        "/v1/domains/bulk",
        token,
        json!({"action": "set_nameservers", "domains": ["two.example"], "params": {"nameservers": ["ns1.example.net"]}}),
    );
    assert_eq!((bad.status, bad.pointers()), (422, vec!["/params/nameservers".to_owned()]));
    let dup =
        server.post("/v1/domains/bulk", token, json!({"action": "unlock", "domains": ["two.example", "TWO.EXAMPLE"]}));
    assert_eq!((dup.status, dup.pointers()), (422, vec!["/domains/1".to_owned()]));
    let many: Vec<String> = (0..101).map(|i| format!("d{i}.example")).collect();
    let too_many = server.post("/v1/domains/bulk", token, json!({"action": "unlock", "domains": many}));
    assert_eq!((too_many.status, too_many.pointers()), (422, vec!["/domains".to_owned()]));
});

both_backends!(parallel_adds_of_one_name_by_two_owners_create_one, |server| {
    let tree = Tree::build(&server);
    let plan_a = server.web_plan(&tree.reseller_a, "A web");
    let plan_b = server.web_plan(&tree.reseller_b, "B web");
    let a = server.sell(&tree.reseller_a, &tree.customer_a1, &plan_a);
    let b = server.sell(&tree.reseller_b, &tree.customer_b1, &plan_b);
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let (who, service) = if i % 2 == 0 { (&tree.customer_a1, &a) } else { (&tree.customer_b1, &b) };
                let server = &server;
                scope.spawn(move || {
                    let response = add(server, who, "contested.example", service);
                    let code = if response.status == 201 { String::new() } else { response.code().to_owned() };
                    (response.status, code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = statuses.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(statuses.iter().all(|(s, c)| *s == 201 || (*s == 409 && c == "domain_taken")), "{statuses:?}");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM domains WHERE name = 'contested.example'"), 1);
    assert_eq!(events(&server, "domain.create"), 1);
});
