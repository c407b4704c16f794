//! DNS zones on a real PowerDNS (issue 16): the server binary with
//! `HOSTADMIN_DNS_DRIVER=powerdns` against a pdns_server started for the test. What
//! PowerDNS answers over DNS is `GET /v1/domains/{name}/dns/zone`, record for record;
//! a change answers at once with the zone `pending`, also while PowerDNS is down, and
//! becomes `ready` once it is back, with no manual step; a removed domain's zone is gone.
//! A silent ACME CA delays no zone change.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use hostadmin::drivers::{DnsDriver as _, Rrset, RrsetChange};
use hostadmin_persistence::provisioning_states;

use crate::support::*;

use crate::dns_wire::{response_code, served_records, zone_text_records};
use crate::servers::{unique, PowerDnsServer};

/// The API server driving `pdns`, with a worker that looks for jobs every 100 ms.
fn start(backend: TestBackend, pdns: &PowerDnsServer) -> Option<Server> {
    let env = [
        ("HOSTADMIN_DNS_DRIVER", "powerdns"),
        ("HOSTADMIN_POWERDNS_URL", pdns.api_url.as_str()),
        ("HOSTADMIN_POWERDNS_API_KEY", pdns.api_key.as_str()),
        ("HOSTADMIN_WORKER_INTERVAL_MS", "100"),
    ];
    Server::start(backend, &env)
}

fn provisioning(server: &Server, account: &Account, zone: &str) -> Value {
    let response = server.get(&format!("/v1/domains/{zone}"), Some(&account.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["provisioning"].clone()
}

fn status(server: &Server, account: &Account, zone: &str) -> String {
    provisioning(server, account, zone)["status"].as_str().unwrap_or_default().to_owned()
}

/// Whether PowerDNS answers every record of the zone text hostadmin shows.
fn serves_the_zone(server: &Server, account: &Account, pdns: &PowerDnsServer, zone: &str) -> bool {
    let text = server.get(&format!("/v1/domains/{zone}/dns/zone"), Some(&account.token));
    assert_eq!(text.status, 200, "{}", text.text);
    let expected = zone_text_records(&text.text);
    served_records(pdns.dns, &format!("{zone}."), &expected) == expected
}

fn add_record(server: &Server, account: &Account, zone: &str, record: Value) -> Response {
    let response = server.post(&format!("/v1/domains/{zone}/dns/records"), Some(&account.token), record.clone());
    assert_eq!(response.status, 201, "{record}: {}", response.body);
    response
}

fn zones_follow_hostadmin(backend: TestBackend) {
    let Some(mut pdns) = PowerDnsServer::start() else { return };
    let Some(server) = start(backend, &pdns) else { return };
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let zone = format!("{}.test", unique("live"));

    let added = server.post("/v1/domains", Some(&customer.token), json!({"name": zone, "service_id": service}));
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["provisioning"]["status"], "pending", "{}", added.body);
    eventually(30, "the zone to be ready", || status(&server, &customer, &zone) == "ready");
    assert!(serves_the_zone(&server, &customer, &pdns, &zone), "PowerDNS serves the new zone's SOA and NS");

    for record in [
        json!({"type": "A", "name": "www", "content": "192.0.2.1"}),
        json!({"type": "AAAA", "name": "www", "content": "2001:db8::1"}),
        json!({"type": "MX", "name": "@", "content": "mail", "priority": 10}),
        json!({"type": "A", "name": "mail", "content": "192.0.2.25"}),
        json!({"type": "TXT", "name": "@", "content": "v=spf1 mx -all"}),
        json!({"type": "CNAME", "name": "shop", "content": "www"}),
    ] {
        add_record(&server, &customer, &zone, record);
    }
    eventually(30, "PowerDNS to serve every record", || {
        status(&server, &customer, &zone) == "ready" && serves_the_zone(&server, &customer, &pdns, &zone)
    });

    // PowerDNS down: each change is answered at once and waits, pending, for the server.
    // The second fails 2 s after the first, so its retry comes after the first's.
    pdns.stop();
    for (name, address) in [("late", "192.0.2.77"), ("later", "192.0.2.78")] {
        let asked = Instant::now();
        add_record(&server, &customer, &zone, json!({"type": "A", "name": name, "content": address}));
        assert!(asked.elapsed() < Duration::from_secs(5), "answered without waiting for PowerDNS");
        eventually(20, "the failed attempt to be shown", || {
            let state = provisioning(&server, &customer, &zone);
            state["status"] == "pending" && state["error"].as_str().is_some_and(|error| !error.is_empty())
        });
        std::thread::sleep(Duration::from_secs(2));
    }
    pdns.resume();
    eventually(60, "the zone to be ready again after PowerDNS came back", || {
        status(&server, &customer, &zone) == "ready" && serves_the_zone(&server, &customer, &pdns, &zone)
    });

    // Someone edits PowerDNS behind hostadmin's back. The jobs still waiting to retry
    // were carried out by the first that got through: they end without pushing the zone
    // again. `hostadmin reconcile` puts it back.
    let edits = [
        RrsetChange::Replace(Rrset::new(&format!("www.{zone}"), "A", 3600, ["198.51.100.66".to_owned()])),
        RrsetChange::Replace(Rrset::new(&format!("extra.{zone}"), "A", 3600, ["198.51.100.67".to_owned()])),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(pdns.driver().apply(&zone, &edits)).unwrap();
    assert!(!serves_the_zone(&server, &customer, &pdns, &zone), "the edit is served");
    eventually(30, "every provision job to end", || {
        server.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'provision' AND status IN ('queued', 'running')") == 0
    });
    assert!(!serves_the_zone(&server, &customer, &pdns, &zone), "no job pushed the zone again once it was ready");
    let reconciled = server.cli(&["reconcile"], "");
    let printed = String::from_utf8_lossy(&reconciled.stdout).into_owned();
    assert!(reconciled.status.success(), "{printed}{}", String::from_utf8_lossy(&reconciled.stderr));
    assert!(printed.contains(&format!("dns {zone}: repaired")), "{printed}");
    assert!(printed.contains(&format!("www.{zone}. A restored")), "{printed}");
    assert!(printed.contains(&format!("extra.{zone}. A removed")), "{printed}");
    assert!(serves_the_zone(&server, &customer, &pdns, &zone), "the zone is hostadmin's again");
    let again = server.cli(&["reconcile"], "");
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "no drift");

    // A repair holds the zone as a job does: while a job applies it, reconcile leaves it
    // to the job (its older read of the zone could otherwise land after the job's).
    let mut conn = server.database.connect();
    let domain_id = hostadmin_persistence::domains::find_by_name(&mut conn, &zone).unwrap().unwrap().id;
    let now = hostadmin_domain::time::now();
    let held = provisioning_states::hold(
        &mut conn,
        "dns_zone",
        &domain_id,
        "a-running-job",
        now,
        now + chrono::Duration::minutes(2),
    );
    assert!(matches!(held.unwrap(), provisioning_states::Hold::Taken(_)));
    runtime.block_on(pdns.driver().apply(&zone, &edits)).unwrap();
    let reconciled = server.cli(&["reconcile"], "");
    let printed = String::from_utf8_lossy(&reconciled.stdout).into_owned();
    assert!(printed.contains(&format!("dns {zone}: a job applies it now; left to it")), "{printed}");
    assert!(!serves_the_zone(&server, &customer, &pdns, &zone), "reconcile did not push the held zone");
    provisioning_states::release(&mut conn, "dns_zone", &domain_id, "a-running-job").unwrap();
    let reconciled = server.cli(&["reconcile"], "");
    assert!(String::from_utf8_lossy(&reconciled.stdout).contains(&format!("dns {zone}: repaired")));
    assert!(serves_the_zone(&server, &customer, &pdns, &zone), "the zone is hostadmin's again");
    let left_held = "SELECT COUNT(*) AS n FROM provisioning_states WHERE held_by IS NOT NULL";
    assert_eq!(server.count(left_held), 0, "reconcile gives back its holds");

    // The domain goes: so does its zone.
    let removed = server.delete(&format!("/v1/domains/{zone}"), Some(&customer.token));
    assert_eq!(removed.status, 204, "{}", removed.body);
    eventually(30, "the zone to be removed from PowerDNS", || {
        response_code(pdns.dns, &format!("www.{zone}."), RecordType::A) == ResponseCode::Refused
    });
}

#[test]
fn zones_follow_hostadmin_on_sqlite() {
    zones_follow_hostadmin(TestBackend::Sqlite);
}

#[test]
fn zones_follow_hostadmin_on_postgres() {
    zones_follow_hostadmin(TestBackend::Postgres);
}

/// A configured PowerDNS that does not answer: the server starts and serves, `/readyz`
/// is `503` naming the driver (never its key), and a change still answers at once.
fn an_unreachable_driver_is_reported_not_fatal(backend: TestBackend) {
    let port = crate::servers::free_port().to_string();
    let url = format!("http://127.0.0.1:{port}");
    let env = [
        ("HOSTADMIN_DNS_DRIVER", "powerdns"),
        ("HOSTADMIN_POWERDNS_URL", url.as_str()),
        ("HOSTADMIN_POWERDNS_API_KEY", "secret-key-never-shown"),
    ];
    let Some(server) = Server::start(backend, &env) else { return };
    assert_eq!(server.get("/healthz", None).status, 200);
    let ready = server.get("/readyz", None);
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert!(ready.text.contains("dns:powerdns"), "{}", ready.text);
    assert!(!ready.text.contains("secret-key-never-shown"), "{}", ready.text);
}

#[test]
fn an_unreachable_driver_is_reported_not_fatal_on_sqlite() {
    an_unreachable_driver_is_reported_not_fatal(TestBackend::Sqlite);
}

#[test]
fn an_unreachable_driver_is_reported_not_fatal_on_postgres() {
    an_unreachable_driver_is_reported_not_fatal(TestBackend::Postgres);
}

/// A TCP server that takes every connection and never answers: a CA behind a network
/// partition. Counts the connections it took.
struct SilentServer {
    address: std::net::SocketAddr,
    taken: Arc<AtomicUsize>,
}

impl SilentServer {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let taken = Arc::new(AtomicUsize::new(0));
        let counter = taken.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Self { address, taken }
    }
}

/// An ACME CA that does not answer holds one of the worker's job slots, not the worker:
/// a record added while the domain's automatic certificate order waits on the CA (5 s
/// for each attempt, the drivers' connect timeout, which the TLS handshake is part of)
/// is on PowerDNS before that attempt ends.
fn a_silent_acme_ca_delays_no_zone_change(backend: TestBackend) {
    let Some(pdns) = PowerDnsServer::start() else { return };
    let ca = SilentServer::start();
    let directory = format!("https://{}/dir", ca.address);
    let env = [
        ("HOSTADMIN_DNS_DRIVER", "powerdns"),
        ("HOSTADMIN_POWERDNS_URL", pdns.api_url.as_str()),
        ("HOSTADMIN_POWERDNS_API_KEY", pdns.api_key.as_str()),
        ("HOSTADMIN_ACME_DIRECTORY_URL", directory.as_str()),
        ("HOSTADMIN_WORKER_INTERVAL_MS", "100"),
    ];
    let Some(server) = Server::start(backend, &env) else { return };
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let zone = format!("{}.test", unique("silent"));
    let added = server.post("/v1/domains", Some(&customer.token), json!({"name": zone, "service_id": service}));
    assert_eq!(added.status, 201, "{}", added.body);
    eventually(30, "the zone to be ready", || status(&server, &customer, &zone) == "ready");
    // The start-up check of the drivers took connections too; the order, tried again
    // once the zone is ready, takes a new one.
    let taken = ca.taken.load(Ordering::SeqCst);
    eventually(30, "the automatic certificate order to reach the CA", || ca.taken.load(Ordering::SeqCst) > taken);

    add_record(&server, &customer, &zone, json!({"type": "A", "name": "www", "content": "192.0.2.10"}));
    eventually(3, "the record to be served while the order waits on the CA", || {
        status(&server, &customer, &zone) == "ready" && serves_the_zone(&server, &customer, &pdns, &zone)
    });
    let orders = server.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'certificate.acme' AND status = 'running'");
    assert_eq!(orders, 1, "the order still waits on the CA");
}

#[test]
fn a_silent_acme_ca_delays_no_zone_change_on_sqlite() {
    a_silent_acme_ca_delays_no_zone_change(TestBackend::Sqlite);
}

#[test]
fn a_silent_acme_ca_delays_no_zone_change_on_postgres() {
    a_silent_acme_ca_delays_no_zone_change(TestBackend::Postgres);
}
