//! DNS records and zones (API.md "Domains and DNS"): records validated as DNS defines
//! them, the plan's record quota (exactly, also under parallel creations), `409
//! dns_not_managed`, and the zone as RFC 1035 text that a real parser (hickory) reads
//! back into exactly the records created.

use std::collections::BTreeSet;

use hickory_proto::rr::RData;
use hickory_proto::serialize::txt::Parser;

use crate::support::*;

const ZONE: &str = "dns-example.test";

/// A reseller, its customer with a web hosting service allowing `records` DNS records,
/// and a domain on that service.
struct Fixture {
    operator: Account,
    reseller: Account,
    customer: Account,
    service: String,
}

fn plan(server: &Server, seller: &Account, records: u64) -> String {
    let response = server.post(
        "/v1/plans",
        Some(&seller.token),
        json!({"name": format!("DNS {records}"), "service_kind": "web_hosting", "public": true,
               "quotas": {"disk_mb": 1024, "dns_records": records},
               "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

fn add_domain(server: &Server, owner: &Account, service: &str, name: &str) {
    let response = server.post("/v1/domains", Some(&owner.token), json!({"name": name, "service_id": service}));
    assert_eq!(response.status, 201, "{}", response.body);
}

fn fixture(server: &Server, records: u64) -> Fixture {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan_id = plan(server, &reseller, records);
    let service = server.sell(&reseller, &customer, &plan_id);
    add_domain(server, &customer, &service, ZONE);
    Fixture { operator, reseller, customer, service }
}

fn records_path(zone: &str) -> String {
    format!("/v1/domains/{zone}/dns/records")
}

fn create(server: &Server, account: &Account, record: Value) -> Response {
    server.post(&records_path(ZONE), Some(&account.token), record)
}

fn created(server: &Server, account: &Account, record: Value) -> String {
    let response = create(server, account, record.clone());
    assert_eq!(response.status, 201, "{record}: {}", response.body);
    response.str("id")
}

fn refused(server: &Server, account: &Account, record: Value, pointer: &str, code: &str) {
    let response = create(server, account, record.clone());
    assert_eq!(response.status, 422, "{record}: {}", response.body);
    assert_eq!(response.code(), "validation_failed", "{record}: {}", response.body);
    assert!(response.pointers().contains(&pointer.to_owned()), "{record}: {}", response.body);
    let codes: Vec<&str> =
        response.body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&code), "{record}: {}", response.body);
}

fn zone_of(server: &Server, account: &Account) -> Response {
    server.get(&format!("/v1/domains/{ZONE}/dns/zone"), Some(&account.token))
}

/// Every record of a zone text as (owner, type, ttl, data), read by hickory's RFC 1035
/// parser; the SOA's data is "mname rname serial refresh retry expire minimum".
fn parsed(zone: &str) -> BTreeSet<(String, String, u32, String)> {
    let (origin, sets) = Parser::new(zone, None, None).parse().unwrap_or_else(|e| panic!("{e}\n{zone}"));
    assert_eq!(origin.to_ascii(), format!("{ZONE}."));
    let mut records = BTreeSet::new();
    for set in sets.values() {
        for record in set.records_without_rrsigs() {
            let data = match &record.data {
                RData::A(a) => a.0.to_string(),
                RData::AAAA(a) => a.0.to_string(),
                RData::CNAME(name) => name.0.to_ascii(),
                RData::NS(name) => name.0.to_ascii(),
                RData::MX(mx) => format!("{} {}", mx.preference, mx.exchange.to_ascii()),
                RData::TXT(txt) => {
                    assert!(txt.txt_data.iter().all(|s| s.len() <= 255));
                    let strings: Vec<String> =
                        txt.txt_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
                    format!("{}|{}", strings.len(), strings.concat())
                }
                RData::SRV(srv) => format!("{} {} {} {}", srv.priority, srv.weight, srv.port, srv.target.to_ascii()),
                RData::CAA(caa) => format!("{} {} {}", caa.flags(), caa.tag, String::from_utf8_lossy(&caa.value)),
                RData::SOA(soa) => format!(
                    "{} {} {} {} {} {} {}",
                    soa.mname.to_ascii(),
                    soa.rname.to_ascii(),
                    soa.serial,
                    soa.refresh,
                    soa.retry,
                    soa.expire,
                    soa.minimum
                ),
                other => panic!("unexpected record {other:?}"),
            };
            records.insert((record.name.to_ascii(), record.record_type().to_string(), record.ttl, data));
        }
    }
    records
}

fn soa_serial(zone: &str) -> u32 {
    parsed(zone)
        .into_iter()
        .find(|(_, kind, _, _)| kind == "SOA")
        .and_then(|(_, _, _, data)| data.split(' ').nth(2).and_then(|s| s.parse().ok()))
        .expect("a SOA serial")
}

both_backends!(a_zone_with_every_record_type_parses_back_into_exactly_those_records, |server| {
    let f = fixture(&server, 50);
    let empty = zone_of(&server, &f.customer);
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert!(empty.header("content-type").unwrap().starts_with("text/dns"), "{:?}", empty.headers);
    let first_serial = soa_serial(&empty.text);

    let long_txt = format!("v=DKIM1; k=rsa; p={}\"quoted\" back\\slash ünï", "A".repeat(400));
    let records = [
        json!({"type": "A", "name": "@", "content": "192.0.2.1"}),
        json!({"type": "A", "name": "www", "content": "192.0.2.2", "ttl": 60}),
        json!({"type": "A", "name": "*.dev", "content": "192.0.2.3"}),
        json!({"type": "AAAA", "name": "www", "content": "2001:DB8::0:1"}),
        json!({"type": "CNAME", "name": "shop", "content": "www"}),
        json!({"type": "CNAME", "name": "blog", "content": "Hosted.Example.Net."}),
        json!({"type": "MX", "name": "@", "content": "mail", "priority": 10}),
        json!({"type": "MX", "name": "@", "content": "backup.example.net.", "priority": 20}),
        json!({"type": "TXT", "name": "@", "content": "v=spf1 mx -all"}),
        json!({"type": "TXT", "name": "sel._domainkey", "content": long_txt}),
        json!({"type": "SRV", "name": "_sip._tcp", "content": "5 5060 sip.example.net.", "priority": 10}),
        json!({"type": "SRV", "name": "_xmpp._tcp", "content": "0 5222 chat", "priority": 0, "ttl": 604800}),
        json!({"type": "CAA", "name": "@", "content": "0 issue \"letsencrypt.org\""}),
        json!({"type": "CAA", "name": "@", "content": "128 iodef \"mailto:security@dns-example.test\""}),
        json!({"type": "NS", "name": "delegated", "content": "ns1.elsewhere.example."}),
    ];
    let mut ids = Vec::new();
    for record in &records {
        let response = create(&server, &f.customer, record.clone());
        assert_eq!(response.status, 201, "{record}: {}", response.body);
        let id = response.str("id");
        assert_eq!(response.header("location"), Some(format!("/v1/domains/{ZONE}/dns/records/{id}").as_str()));
        assert!(response.header("etag").is_some());
        ids.push(id);
    }
    // Stored in canonical form: lowercase names, compressed IPv6, quoted CAA values.
    let aaaa = server.get(&format!("{}/{}", records_path(ZONE), ids[3]), Some(&f.customer.token));
    assert_eq!(aaaa.status, 200, "{}", aaaa.body);
    assert_eq!(aaaa.body["content"], "2001:db8::1");
    assert_eq!(aaaa.body["ttl"], 3600);
    assert_eq!(aaaa.body["priority"], Value::Null);
    let blog = server.get(&format!("{}/{}", records_path(ZONE), ids[5]), Some(&f.customer.token));
    assert_eq!(blog.body["content"], "hosted.example.net.");

    let zone = zone_of(&server, &f.customer);
    assert_eq!(zone.status, 200, "{}", zone.text);
    let apex = format!("{ZONE}.");
    let at = |label: &str| format!("{label}.{ZONE}.");
    let txt_strings = long_txt.len().div_ceil(255);
    let serial = soa_serial(&zone.text);
    let expected: BTreeSet<(String, String, u32, String)> = [
        (
            apex.clone(),
            "SOA",
            3600,
            format!("ns1.hostadmin.test. hostmaster.hostadmin.test. {serial} 3600 600 1209600 300"),
        ),
        (apex.clone(), "NS", 3600, "ns1.hostadmin.test.".to_owned()),
        (apex.clone(), "NS", 3600, "ns2.hostadmin.test.".to_owned()),
        (apex.clone(), "A", 3600, "192.0.2.1".to_owned()),
        (at("www"), "A", 60, "192.0.2.2".to_owned()),
        (at("*.dev"), "A", 3600, "192.0.2.3".to_owned()),
        (at("www"), "AAAA", 3600, "2001:db8::1".to_owned()),
        (at("shop"), "CNAME", 3600, at("www")),
        (at("blog"), "CNAME", 3600, "hosted.example.net.".to_owned()),
        (apex.clone(), "MX", 3600, format!("10 {}", at("mail"))),
        (apex.clone(), "MX", 3600, "20 backup.example.net.".to_owned()),
        (apex.clone(), "TXT", 3600, "1|v=spf1 mx -all".to_owned()),
        (at("sel._domainkey"), "TXT", 3600, format!("{txt_strings}|{long_txt}")),
        (at("_sip._tcp"), "SRV", 3600, "10 5 5060 sip.example.net.".to_owned()),
        (at("_xmpp._tcp"), "SRV", 604800, format!("0 0 5222 {}", at("chat"))),
        (apex.clone(), "CAA", 3600, "0 issue letsencrypt.org".to_owned()),
        (apex.clone(), "CAA", 3600, "128 iodef mailto:security@dns-example.test".to_owned()),
        (at("delegated"), "NS", 3600, "ns1.elsewhere.example.".to_owned()),
    ]
    .into_iter()
    .map(|(owner, kind, ttl, data)| (owner, kind.to_owned(), ttl, data))
    .collect();
    assert_eq!(parsed(&zone.text), expected, "{}", zone.text);
    assert!(txt_strings >= 2, "the long TXT is split");
    assert!(serial > first_serial, "{serial} after {first_serial}");

    // The list: newest first, filtered by type and name prefix, paginated.
    let list = server.get(&records_path(ZONE), Some(&f.customer.token));
    assert_eq!(list.status, 200, "{}", list.body);
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(list.ids(), newest_first);
    let mx = server.get(&format!("{}?type=MX", records_path(ZONE)), Some(&f.customer.token));
    assert_eq!(mx.ids(), vec![ids[7].clone(), ids[6].clone()]);
    let w = server.get(&format!("{}?q=WW", records_path(ZONE)), Some(&f.customer.token));
    assert_eq!(w.ids(), vec![ids[3].clone(), ids[1].clone()]);
    let page = server.get(&format!("{}?limit=10", records_path(ZONE)), Some(&f.customer.token));
    let next = page.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = server.get(&format!("{}?limit=10&cursor={next}", records_path(ZONE)), Some(&f.customer.token));
    assert_eq!(rest.ids().len(), records.len() - 10);

    // PATCH changes a record (validated as a whole), DELETE removes one; each gives the
    // zone a new serial and is audited.
    let path = format!("{}/{}", records_path(ZONE), ids[1]);
    let before = server.get(&path, Some(&f.customer.token));
    let etag = before.header("etag").unwrap().to_owned();
    let changed = server.patch(&path, Some(&f.customer.token), json!({"content": "192.0.2.9", "ttl": null}));
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["content"], "192.0.2.9");
    assert_eq!(changed.body["ttl"], 3600);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    let stale =
        server.send("PATCH", &path, Some(&f.customer.token), Body::Json(json!({"ttl": 120})), &[("if-match", &etag)]);
    assert_eq!(stale.status, 412, "{}", stale.body);
    let deleted = server.delete(&format!("{}/{}", records_path(ZONE), ids[14]), Some(&f.customer.token));
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let after = zone_of(&server, &f.customer).text;
    let records_after = parsed(&after);
    assert!(records_after.contains(&(at("www"), "A".to_owned(), 3600, "192.0.2.9".to_owned())), "{after}");
    assert!(!records_after.iter().any(|(owner, _, _, _)| owner == &at("delegated")), "{after}");
    assert!(soa_serial(&after) > serial);
    for (action, count) in [("dns.record_create", 15), ("dns.record_update", 1), ("dns.record_delete", 1)] {
        assert_eq!(server.count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'")), count);
    }
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM dns_records"), 14);

    // A retry with the same Idempotency-Key gets the stored answer and creates nothing.
    let key = [("idempotency-key", "dns-retry-1")];
    let body = json!({"type": "TXT", "name": "retry", "content": "once"});
    let first = server.send("POST", &records_path(ZONE), Some(&f.customer.token), Body::Json(body.clone()), &key);
    let again = server.send("POST", &records_path(ZONE), Some(&f.customer.token), Body::Json(body), &key);
    assert_eq!((first.status, again.status), (201, 201), "{}", again.body);
    assert_eq!(first.str("id"), again.str("id"));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM dns_records WHERE name = 'retry'"), 1);
    // The seller and the operator read the same zone.
    assert_eq!(zone_of(&server, &f.reseller).status, 200);
    assert_eq!(zone_of(&server, &f.operator).status, 200);
});

both_backends!(records_that_dns_does_not_define_are_refused_with_their_pointer, |server| {
    let f = fixture(&server, 50);
    let c = &f.customer;
    refused(&server, c, json!({"type": "CNAME", "name": "@", "content": "example.net."}), "/type", "cname_at_apex");
    // A CNAME beside other data, whichever comes second.
    created(&server, c, json!({"type": "A", "name": "www", "content": "192.0.2.1"}));
    refused(&server, c, json!({"type": "CNAME", "name": "www", "content": "example.net."}), "/type", "cname_conflict");
    created(&server, c, json!({"type": "CNAME", "name": "shop", "content": "example.net."}));
    refused(&server, c, json!({"type": "A", "name": "shop", "content": "192.0.2.1"}), "/type", "cname_conflict");
    refused(&server, c, json!({"type": "TXT", "name": "SHOP", "content": "x"}), "/type", "cname_conflict");
    refused(
        &server,
        c,
        json!({"type": "MX", "name": "@", "content": "192.0.2.1", "priority": 10}),
        "/content",
        "address_not_host_name",
    );
    refused(
        &server,
        c,
        json!({"type": "MX", "name": "@", "content": "mail.example.123", "priority": 10}),
        "/content",
        "invalid_host_name",
    );
    refused(&server, c, json!({"type": "MX", "name": "@", "content": "mail"}), "/priority", "required");
    refused(
        &server,
        c,
        json!({"type": "A", "name": "@", "content": "192.0.2.1", "priority": 10}),
        "/priority",
        "not_allowed",
    );
    refused(&server, c, json!({"type": "A", "name": "@", "content": "192.0.2.1", "ttl": 59}), "/ttl", "out_of_range");
    refused(
        &server,
        c,
        json!({"type": "A", "name": "@", "content": "192.0.2.1", "ttl": 604801}),
        "/ttl",
        "out_of_range",
    );
    refused(&server, c, json!({"type": "A", "name": "@", "content": "2001:db8::1"}), "/content", "invalid_ipv4");
    refused(&server, c, json!({"type": "A", "name": "a..b", "content": "192.0.2.1"}), "/name", "invalid_name");
    refused(&server, c, json!({"type": "A", "name": "www", "content": "192.0.2.1"}), "/content", "duplicate_record");
    refused(&server, c, json!({"type": "SPF", "name": "@", "content": "x"}), "/type", "invalid_type");
    refused(
        &server,
        c,
        json!({"type": "SRV", "name": "_sip._tcp", "content": "5 5060 10.0.0.1", "priority": 1}),
        "/content",
        "address_not_host_name",
    );
    refused(
        &server,
        c,
        json!({"type": "CAA", "name": "@", "content": "0 is-sue \"x\""}),
        "/content",
        "invalid_content",
    );
    refused(&server, c, json!({"type": "NS", "name": "@", "content": "ns1.example.net."}), "/name", "apex_nameservers");
    let unknown = create(&server, c, json!({"type": "A", "name": "@", "content": "192.0.2.1", "weight": 1}));
    assert_eq!((unknown.status, unknown.code()), (422, "unknown_field"), "{}", unknown.body);
    // A change is validated as a whole record against the rest of the zone.
    let other = created(&server, c, json!({"type": "A", "name": "other", "content": "192.0.2.5"}));
    let path = format!("{}/{other}", records_path(ZONE));
    let to_cname =
        server.patch(&path, Some(&c.token), json!({"type": "CNAME", "name": "www", "content": "example.net."}));
    assert_eq!(to_cname.status, 422, "{}", to_cname.body);
    assert_eq!(to_cname.pointers(), vec!["/type"]);
    let to_mx = server.patch(&path, Some(&c.token), json!({"type": "MX", "content": "mail"}));
    assert_eq!(to_mx.pointers(), vec!["/priority"], "{}", to_mx.body);
    let clear = server.patch(&path, Some(&c.token), json!({"content": null}));
    assert_eq!(clear.pointers(), vec!["/content"], "{}", clear.body);
    let to_self = server.patch(&path, Some(&c.token), json!({"type": "CNAME", "content": "example.net."}));
    assert_eq!(to_self.status, 200, "a record's own former self does not conflict: {}", to_self.body);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM dns_records"), 3);
});

both_backends!(who_may_read_and_change_records, |server| {
    let f = fixture(&server, 50);
    let record = created(&server, &f.customer, json!({"type": "A", "name": "www", "content": "192.0.2.1"}));
    let record_path = format!("{}/{record}", records_path(ZONE));
    let a_record = json!({"type": "A", "name": "new", "content": "192.0.2.7"});

    // A key without dns:write reads but does not write.
    let key = server.post("/v1/me/api-keys", Some(&f.customer.token), json!({"name": "read", "scopes": ["dns:read"]}));
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.str("key");
    assert_eq!(server.get(&records_path(ZONE), Some(&key)).status, 200);
    assert_eq!(server.get(&format!("/v1/domains/{ZONE}/dns/zone"), Some(&key)).status, 200);
    let denied = server.post(&records_path(ZONE), Some(&key), a_record.clone());
    assert_eq!((denied.status, denied.code()), (403, "insufficient_scope"), "{}", denied.body);
    let denied = server.delete(&record_path, Some(&key));
    assert_eq!((denied.status, denied.code()), (403, "insufficient_scope"));
    let no_dns =
        server.post("/v1/me/api-keys", Some(&f.customer.token), json!({"name": "svc", "scopes": ["services:read"]}));
    let no_dns = no_dns.str("key");
    let denied = server.get(&records_path(ZONE), Some(&no_dns));
    assert_eq!((denied.status, denied.code()), (403, "insufficient_scope"));

    // Another tenant's domain, and a sibling customer's, are not there at all.
    let other = server.create(&f.operator, "other-reseller", "reseller");
    let sibling = server.create(&f.reseller, "sibling", "customer");
    for stranger in [&other, &sibling] {
        assert_eq!(server.get(&records_path(ZONE), Some(&stranger.token)).status, 404);
        assert_eq!(server.get(&format!("/v1/domains/{ZONE}/dns/zone"), Some(&stranger.token)).status, 404);
        let response = server.post(&records_path(ZONE), Some(&stranger.token), a_record.clone());
        assert_eq!((response.status, response.code()), (404, "not_found"));
        assert_eq!(server.patch(&record_path, Some(&stranger.token), json!({"ttl": 60})).status, 404);
        assert_eq!(server.delete(&record_path, Some(&stranger.token)).status, 404);
    }
    // A record id of another zone (or a malformed one) is not in this zone.
    let sibling_plan = plan(&server, &f.reseller, 10);
    let sibling_service = server.sell(&f.reseller, &sibling, &sibling_plan);
    add_domain(&server, &sibling, &sibling_service, "sibling-zone.test");
    let sibling_record = server.post(
        &records_path("sibling-zone.test"),
        Some(&sibling.token),
        json!({"type": "A", "name": "@", "content": "192.0.2.1"}),
    );
    assert_eq!(sibling_record.status, 201, "{}", sibling_record.body);
    let foreign = format!("{}/{}", records_path(ZONE), sibling_record.str("id"));
    assert_eq!(server.get(&foreign, Some(&f.customer.token)).status, 404);
    assert_eq!(server.delete(&foreign, Some(&f.customer.token)).status, 404);
    assert_eq!(server.get(&format!("{}/not-an-id", records_path(ZONE)), Some(&f.customer.token)).status, 404);

    // A grantee with `view` reads records and the zone, and may not change them.
    let grantee = server.create(&other, "grantee", "customer");
    let grant = server.post(
        "/v1/authorizations",
        Some(&f.customer.token),
        json!({"grantee": "grantee", "permissions": ["view"]}),
    );
    assert_eq!(grant.status, 201, "{}", grant.body);
    let accepted =
        server.post(&format!("/v1/authorizations/{}/accept", grant.str("id")), Some(&grantee.token), json!({}));
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(server.get(&records_path(ZONE), Some(&grantee.token)).status, 200);
    assert_eq!(server.get(&record_path, Some(&grantee.token)).status, 200);
    assert_eq!(zone_of(&server, &grantee).status, 200);
    for response in [
        server.post(&records_path(ZONE), Some(&grantee.token), a_record.clone()),
        server.patch(&record_path, Some(&grantee.token), json!({"ttl": 60})),
        server.delete(&record_path, Some(&grantee.token)),
    ] {
        assert_eq!((response.status, response.code()), (403, "insufficient_grant"), "{}", response.body);
    }

    // A seller disables dns.write for the customer: reads go on, writes stop.
    let restricted = server.put(
        &format!("/v1/customers/{}/restrictions", f.customer.id),
        Some(&f.reseller.token),
        json!({"disabled_actions": ["dns.write"]}),
    );
    assert_eq!(restricted.status, 200, "{}", restricted.body);
    assert_eq!(server.get(&records_path(ZONE), Some(&f.customer.token)).status, 200);
    let response = server.post(&records_path(ZONE), Some(&f.customer.token), a_record.clone());
    assert_eq!((response.status, response.code()), (403, "action_restricted"), "{}", response.body);
    let response = server.delete(&record_path, Some(&f.customer.token));
    assert_eq!((response.status, response.code()), (403, "action_restricted"));
    // The seller itself still manages the zone of its customer.
    assert_eq!(server.post(&records_path(ZONE), Some(&f.reseller.token), a_record).status, 201);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM dns_records WHERE name = 'www'"), 1);
});

both_backends!(records_change_only_while_dns_is_managed_and_within_the_quota, |server| {
    let f = fixture(&server, 3);
    let c = &f.customer;
    let first = created(&server, c, json!({"type": "A", "name": "one", "content": "192.0.2.1"}));
    let moved = server.patch(
        &format!("/v1/domains/{ZONE}"),
        Some(&c.token),
        json!({"nameservers": ["ns1.elsewhere.example", "ns2.elsewhere.example"]}),
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    let response = create(&server, c, json!({"type": "A", "name": "two", "content": "192.0.2.2"}));
    assert_eq!((response.status, response.code()), (409, "dns_not_managed"), "{}", response.body);
    let path = format!("{}/{first}", records_path(ZONE));
    let response = server.patch(&path, Some(&c.token), json!({"ttl": 60}));
    assert_eq!((response.status, response.code()), (409, "dns_not_managed"));
    let response = server.delete(&path, Some(&c.token));
    assert_eq!((response.status, response.code()), (409, "dns_not_managed"));
    // Input is checked before state: a bad record is 422 even then.
    let response = create(&server, c, json!({"type": "A", "name": "two", "content": "x"}));
    assert_eq!(response.status, 422);
    // Records stay readable.
    assert_eq!(server.get(&records_path(ZONE), Some(&c.token)).ids(), vec![first.clone()]);
    let back = server.patch(&format!("/v1/domains/{ZONE}"), Some(&c.token), json!({"nameservers": null}));
    assert_eq!(back.status, 200, "{}", back.body);

    // The plan allows 3 records: the fourth is refused, and a deletion makes room.
    created(&server, c, json!({"type": "A", "name": "two", "content": "192.0.2.2"}));
    created(&server, c, json!({"type": "A", "name": "three", "content": "192.0.2.3"}));
    let response = create(&server, c, json!({"type": "A", "name": "four", "content": "192.0.2.4"}));
    assert_eq!((response.status, response.code()), (409, "quota_exceeded"), "{}", response.body);
    assert_eq!(server.delete(&path, Some(&c.token)).status, 204);
    created(&server, c, json!({"type": "A", "name": "four", "content": "192.0.2.4"}));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM dns_records"), 3);

    // A suspended service keeps its zone but takes no changes.
    let suspended = server.post(
        &format!("/v1/services/{}/suspend", f.service),
        Some(&f.reseller.token),
        json!({"reason": "unpaid"}),
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let response = server.patch(
        &format!("{}/{}", records_path(ZONE), server.get(&records_path(ZONE), Some(&c.token)).ids()[0]),
        Some(&c.token),
        json!({"ttl": 60}),
    );
    assert_eq!((response.status, response.code()), (409, "service_not_active"), "{}", response.body);
    assert_eq!(zone_of(&server, c).status, 200);
});

both_backends!(twenty_parallel_creations_against_a_quota_of_five_create_exactly_five, |server| {
    let f = fixture(&server, 5);
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (server, customer) = (&server, &f.customer);
                scope.spawn(move || {
                    let response = create(
                        server,
                        customer,
                        json!({"type": "A", "name": format!("host{i}"), "content": "192.0.2.1"}),
                    );
                    let code = if response.status == 201 { String::new() } else { response.code().to_owned() };
                    (response.status, code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = statuses.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 5, "{statuses:?}");
    assert!(
        statuses.iter().all(|(status, code)| *status == 201 || (*status == 409 && code == "quota_exceeded")),
        "{statuses:?}"
    );
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM dns_records"), 5);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'dns.record_create'"), 5);
    let zone = zone_of(&server, &f.customer).text;
    assert_eq!(parsed(&zone).iter().filter(|(_, kind, _, _)| kind == "A").count(), 5, "{zone}");
});

/// Every zone the renderer can produce parses with hickory into the records it holds.
mod rendered_zones_parse {
    use hostadmin_domain::dns::{render_zone, DnsRecord, RecordInput, ZoneSettings};
    use proptest::prelude::*;

    fn settings() -> ZoneSettings {
        ZoneSettings {
            nameservers: vec!["ns1.hostadmin.test".into(), "ns2.hostadmin.test".into()],
            hostmaster: "hostmaster.hostadmin.test".into(),
            refresh: 3600,
            retry: 600,
            expire: 1_209_600,
            minimum: 300,
        }
    }

    fn record() -> impl Strategy<Value = (String, String, String, Option<i64>)> {
        let label = "[a-z]([a-z0-9-]{0,8}[a-z0-9])?";
        prop_oneof![
            (label, any::<[u8; 4]>()).prop_map(|(n, ip)| (
                "A".into(),
                n,
                std::net::Ipv4Addr::from(ip).to_string(),
                None
            )),
            (label, any::<[u16; 8]>()).prop_map(|(n, ip)| (
                "AAAA".into(),
                n,
                std::net::Ipv6Addr::from(ip).to_string(),
                None
            )),
            (label, label, any::<bool>()).prop_map(|(n, t, abs)| (
                "CNAME".into(),
                n,
                if abs { format!("{t}.example.net.") } else { t },
                None
            )),
            (label, 0..=65535i64).prop_map(|(t, p)| ("MX".into(), "@".into(), format!("{t}.mx"), Some(p))),
            ("[ -~é€]{0,700}").prop_map(|t| ("TXT".into(), "txt".into(), t, None)),
            (any::<u16>(), any::<u16>(), label).prop_map(|(w, port, t)| (
                "SRV".into(),
                "_s._tcp".into(),
                format!("{w} {port} {t}.example.net."),
                Some(1)
            )),
            (any::<u8>(), "[ -~]{0,80}").prop_map(|(flags, v)| {
                let quoted = v.replace('\\', "\\\\").replace('"', "\\\"");
                ("CAA".into(), "@".into(), format!("{flags} tbs \"{quoted}\""), None)
            }),
            (label, label).prop_map(|(n, t)| ("NS".into(), format!("d{n}"), format!("{t}.example.net."), None)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_zone_parses_back(inputs in prop::collection::vec(record(), 0..12)) {
            let mut records: Vec<DnsRecord> = Vec::new();
            for (kind, name, content, priority) in &inputs {
                let input = RecordInput { record_type: kind, name, content, ttl: None, priority: *priority };
                let record = DnsRecord::parse(&input, "zone.test").map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                if record.check_beside(&records).is_ok() {
                    records.push(record);
                }
            }
            let zone = render_zone("zone.test", 2026120100, &settings(), &records);
            let (_, sets) = hickory_proto::serialize::txt::Parser::new(zone.as_str(), None, None)
                .parse()
                .map_err(|e| TestCaseError::fail(format!("{e}\n{zone}")))?;
            let parsed: usize = sets.values().map(|set| set.records_without_rrsigs().count()).sum();
            // SOA, two NS, and every record.
            prop_assert_eq!(parsed, 3 + records.len(), "{}", zone);
        }
    }
}
