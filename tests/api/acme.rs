//! Automatic certificates (issue 16): the server binary with PowerDNS as its DNS driver
//! and pebble as its ACME CA, both started for the test. A hosting domain gets its
//! certificate when it is added; a client orders one for names of its service and gets
//! `202` and a `pending` row at once; the worker proves each name with DNS-01 through
//! PowerDNS and stores the certificate, whose chain verifies against pebble's root; the
//! CA's refusal ends as `failed` with its reason; a due renewal replaces the certificate;
//! the key is never stored in clear and the ACME account is made once.

use std::io::Write as _;

use crate::pebble::{verify, PebbleServer};
use crate::servers::{unique, PowerDnsServer};
use crate::support::*;

struct Installation {
    server: Server,
    pebble: PebbleServer,
    _pdns: PowerDnsServer,
    _ca_file: tempfile::NamedTempFile,
}

/// PowerDNS, pebble asking it, and the API server driving both, with a worker that looks
/// for jobs every 100 ms. `None` (with the reason printed) where they are not installed.
fn start(backend: TestBackend) -> Option<Installation> {
    let pdns = PowerDnsServer::start()?;
    let pebble = PebbleServer::start(pdns.dns)?;
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    ca_file.write_all(pebble.tls_root_pem.as_bytes()).unwrap();
    let ca_path = ca_file.path().display().to_string();
    let env = [
        ("HOSTADMIN_DNS_DRIVER", "powerdns"),
        ("HOSTADMIN_POWERDNS_URL", pdns.api_url.as_str()),
        ("HOSTADMIN_POWERDNS_API_KEY", pdns.api_key.as_str()),
        ("HOSTADMIN_ACME_DIRECTORY_URL", pebble.directory_url.as_str()),
        ("HOSTADMIN_ACME_CA_FILE", ca_path.as_str()),
        ("HOSTADMIN_ACME_CONTACT", "mailto:certificates@provider.test"),
        ("HOSTADMIN_WORKER_INTERVAL_MS", "100"),
    ];
    let server = Server::start(backend, &env)?;
    Some(Installation { server, pebble, _pdns: pdns, _ca_file: ca_file })
}

fn certificates(server: &Server, account: &Account, service: &str) -> Vec<Value> {
    let listed = server.get(&format!("/v1/services/{service}/certificates"), Some(&account.token));
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body["data"].as_array().cloned().unwrap_or_default()
}

fn certificate(server: &Server, account: &Account, service: &str, id: &str) -> Value {
    let read = server.get(&format!("/v1/services/{service}/certificates/{id}"), Some(&account.token));
    assert_eq!(read.status, 200, "{}", read.body);
    read.body
}

/// Waits for the certificate's order to end; answers it as it then is.
fn settled(server: &Server, account: &Account, service: &str, id: &str) -> Value {
    eventually(90, "the ACME order to end", || certificate(server, account, service, id)["status"] != "pending");
    certificate(server, account, service, id)
}

/// What the database holds of the row: the chain (leaf first) and the sealed key.
fn stored(server: &Server, id: &str) -> (String, String) {
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        chain: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
    }
    use diesel::RunQueryDsl as _;
    let rows: Vec<Stored> = diesel::sql_query(format!(
        "SELECT certificate_pem || COALESCE(chain_pem, '') AS chain, private_key_sealed AS key FROM certificates WHERE id = '{id}'"
    ))
    .load(&mut server.database.connect())
    .unwrap();
    let row = rows.into_iter().next().expect("the certificate's row");
    (row.chain, row.key)
}

fn verifies(installation: &Installation, chain: &str, names: &[String]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let root = runtime.block_on(installation.pebble.issuing_root());
    for name in names {
        verify(chain, &root, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn issued_and_renewed(backend: TestBackend) {
    let Some(installation) = start(backend) else { return };
    let server = &installation.server;
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let zone = format!("{}.test", unique("tls"));

    // The domain is added: its certificate (the domain and www) is ordered with it.
    let added = server.post("/v1/domains", Some(&customer.token), json!({"name": zone, "service_id": service}));
    assert_eq!(added.status, 201, "{}", added.body);
    let automatic = certificates(server, &customer, &service);
    assert_eq!(automatic.len(), 1, "{automatic:?}");
    let www = format!("www.{zone}");
    assert_eq!(automatic[0]["source"], "acme");
    assert_eq!(automatic[0]["status"], "pending");
    assert_eq!(automatic[0]["sans"], json!([zone, www]));
    let automatic_id = automatic[0]["id"].as_str().unwrap().to_owned();
    let issued = settled(server, &customer, &service, &automatic_id);
    assert_eq!(issued["status"], "issued", "{issued}");
    assert!(issued["error"].is_null(), "{issued}");
    assert!(issued["renews_at"].as_str().is_some_and(|at| at > issued["not_before"].as_str().unwrap()), "{issued}");
    let (chain, key) = stored(server, &automatic_id);
    verifies(&installation, &chain, &[zone.clone(), www.clone()]);
    assert!(!key.contains("PRIVATE KEY") && !key.is_empty(), "the key is stored sealed");

    // A client orders one: 202 and pending at once, issued by the worker.
    let api = format!("api.{zone}");
    let path = format!("/v1/services/{service}/certificates/acme");
    let ordered = server.post(&path, Some(&customer.token), json!({"names": [api, api]}));
    assert_eq!(ordered.status, 202, "{}", ordered.body);
    assert_eq!(ordered.body["status"], "pending");
    assert_eq!(ordered.body["sans"], json!([api]), "a repeated name counts once");
    let location = ordered.header("location").unwrap().to_owned();
    assert_eq!(location, format!("/v1/services/{service}/certificates/{}", ordered.str("id")));
    let api_certificate = settled(server, &customer, &service, &ordered.str("id"));
    assert_eq!(api_certificate["status"], "issued", "{api_certificate}");
    verifies(&installation, &stored(server, &ordered.str("id")).0, std::slice::from_ref(&api));

    // The CA refuses a name delegated elsewhere: failed, with its reason.
    let delegated = json!({"type": "NS", "name": "lost", "content": "ns.elsewhere.test."});
    let record = server.post(&format!("/v1/domains/{zone}/dns/records"), Some(&customer.token), delegated);
    assert_eq!(record.status, 201, "{}", record.body);
    eventually(30, "the delegation to be served", || {
        server.get(&format!("/v1/domains/{zone}"), Some(&customer.token)).body["provisioning"]["status"] == "ready"
    });
    let lost = format!("lost.{zone}");
    let refused = server.post(&path, Some(&customer.token), json!({"names": [lost]}));
    assert_eq!(refused.status, 202, "{}", refused.body);
    let failed = settled(server, &customer, &service, &refused.str("id"));
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error"].as_str().is_some_and(|error| error.contains(&lost)), "{failed}");

    // The renewal falls due: the worker orders it again and the certificate is replaced.
    let before = certificate(server, &customer, &service, &automatic_id);
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).format("%Y-%m-%d %H:%M:%S").to_string();
    use diesel::RunQueryDsl as _;
    diesel::sql_query(format!("UPDATE certificates SET renew_at = '{past}' WHERE id = '{automatic_id}'"))
        .execute(&mut server.database.connect())
        .unwrap();
    eventually(90, "the certificate to be renewed", || {
        let now = certificate(server, &customer, &service, &automatic_id);
        now["status"] == "issued" && now["not_before"] != before["not_before"] && now["renews_at"].is_string()
    });
    let (renewed_chain, renewed_key) = stored(server, &automatic_id);
    assert_ne!(renewed_chain, chain, "a new certificate");
    assert_ne!(renewed_key, key, "with a new key");
    verifies(&installation, &renewed_chain, &[zone.clone(), www]);

    // What happened is in the audit log (and so in webhooks): orders, issues, the
    // refusal and the renewal; the ACME account was made once and kept sealed.
    let events =
        |action: &str| server.count(&format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'"));
    assert_eq!(events("certificate.acme_order"), 3);
    assert_eq!(events("certificate.issued"), 3);
    assert_eq!(events("certificate.failed"), 1);
    assert_eq!(events("certificate.renewal"), 1);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM acme_accounts"), 1);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM acme_accounts WHERE credentials_sealed LIKE '%{%'"), 0);

    // A service that ended renews nothing: the due renewal is dropped, not ordered.
    let terminated =
        server.post(&format!("/v1/services/{service}/terminate"), Some(&reseller.token), json!({"reason": "gone"}));
    assert_eq!(terminated.status, 200, "{}", terminated.body);
    diesel::sql_query(format!("UPDATE certificates SET renew_at = '{past}' WHERE id = '{automatic_id}'"))
        .execute(&mut server.database.connect())
        .unwrap();
    eventually(30, "the due renewal to be dropped", || {
        certificate(server, &customer, &service, &automatic_id)["renews_at"].is_null()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(events("certificate.renewal"), 1, "no renewal was ordered");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'certificate.acme' AND status <> 'done' AND status <> 'failed'"), 0);
}

#[test]
fn certificates_are_issued_refused_and_renewed_on_sqlite() {
    issued_and_renewed(TestBackend::Sqlite);
}

#[test]
fn certificates_are_issued_refused_and_renewed_on_postgres() {
    issued_and_renewed(TestBackend::Postgres);
}

/// Orders are checked before anything is queued: names, their domains, the caller's
/// reach and rights. Needs PowerDNS and pebble configured, not running: nothing is
/// ordered.
fn orders_are_checked(backend: TestBackend) {
    let port = crate::servers::free_port().to_string();
    let (dns, ca) = (format!("http://127.0.0.1:{port}"), format!("https://127.0.0.1:{port}/dir"));
    let env = [
        ("HOSTADMIN_DNS_DRIVER", "powerdns"),
        ("HOSTADMIN_POWERDNS_URL", dns.as_str()),
        ("HOSTADMIN_POWERDNS_API_KEY", "k"),
        ("HOSTADMIN_ACME_DIRECTORY_URL", ca.as_str()),
    ];
    let Some(server) = Server::start(backend, &env) else { return };
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let stranger = server.create(&reseller, "stranger", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let added = server.post("/v1/domains", Some(&customer.token), json!({"name": "shop.test", "service_id": service}));
    assert_eq!(added.status, 201, "{}", added.body);
    let elsewhere = json!({"name": "away.test", "service_id": service});
    assert_eq!(server.post("/v1/domains", Some(&customer.token), elsewhere).status, 201);
    let moved = server.patch(
        "/v1/domains/away.test",
        Some(&customer.token),
        json!({"nameservers": ["ns1.other.test", "ns2.other.test"]}),
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    let path = format!("/v1/services/{service}/certificates/acme");
    let orders = || server.count("SELECT COUNT(*) AS n FROM certificates WHERE source = 'acme'");
    let before = orders();
    assert_eq!(before, 2, "each hosting domain got its automatic order");

    for (body, pointer, code) in [
        (json!({"names": []}), "/names", "invalid_length"),
        (json!({"names": ["not a name"]}), "/names/0", "invalid_name"),
        (json!({"names": ["shop.test", "other.test"]}), "/names/1", "not_hosted"),
        (json!({"names": ["www.away.test"]}), "/names/0", "dns_not_managed"),
    ] {
        let refused = server.post(&path, Some(&customer.token), body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), [pointer], "{body}: {}", refused.body);
        assert_eq!(refused.body["errors"][0]["code"], code, "{body}: {}", refused.body);
    }
    let unknown = server.post(&path, Some(&customer.token), json!({"names": ["shop.test"], "key": "x"}));
    assert_eq!(unknown.status, 422, "{}", unknown.body);

    let key = server.post("/v1/me/api-keys", Some(&customer.token), json!({"name": "ro", "scopes": ["hosting:read"]}));
    assert_eq!(key.status, 201, "{}", key.body);
    let refused = server.post(&path, Some(&key.str("key")), json!({"names": ["shop.test"]}));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_scope"));
    let foreign = server.post(&path, Some(&stranger.token), json!({"names": ["shop.test"]}));
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    assert_eq!(orders(), before, "nothing refused was ordered");

    // The seller orders for its customer's service.
    let ordered = server.post(&path, Some(&reseller.token), json!({"names": ["*.shop.test"]}));
    assert_eq!(ordered.status, 202, "{}", ordered.body);
    assert_eq!(ordered.body["common_name"], "*.shop.test");
    assert_eq!(orders(), before + 1);
}

#[test]
fn orders_are_checked_on_sqlite() {
    orders_are_checked(TestBackend::Sqlite);
}

#[test]
fn orders_are_checked_on_postgres() {
    orders_are_checked(TestBackend::Postgres);
}

both_backends!(without_an_acme_ca_nothing_is_ordered, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let added = server.post("/v1/domains", Some(&customer.token), json!({"name": "plain.test", "service_id": service}));
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM certificates"), 0, "no automatic certificate");
    let path = format!("/v1/services/{service}/certificates/acme");
    let refused = server.post(&path, Some(&customer.token), json!({"names": ["plain.test"]}));
    assert_eq!((refused.status, refused.code()), (409, "acme_not_configured"), "{}", refused.body);
});
