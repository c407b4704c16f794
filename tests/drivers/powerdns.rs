//! The PowerDNS driver: what PowerDNS answers over DNS is the zone text of
//! `GET /v1/domains/{name}/dns/zone`, record for record, after every change.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use hostadmin::drivers::{DnsDriver as _, DriverError, Rrset, RrsetChange, ZoneSpec};
use hostadmin_domain::dns::{render_zone, DnsRecord, RecordInput, ZoneSettings};

use crate::dns_wire::{response_code, served_records, zone_text_records};
use crate::servers::{unique, PowerDnsServer};

fn settings() -> ZoneSettings {
    ZoneSettings {
        nameservers: vec!["ns1.provider.test".into(), "ns2.provider.test".into()],
        hostmaster: "hostmaster@provider.test".into(),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 300,
    }
}

/// (type, name, content, priority)
type Input<'a> = (&'a str, &'a str, &'a str, Option<i64>);

fn records(zone: &str, inputs: &[Input<'_>]) -> Vec<DnsRecord> {
    inputs
        .iter()
        .map(|(kind, name, content, priority)| {
            let input = RecordInput { record_type: kind, name, content, ttl: None, priority: *priority };
            DnsRecord::parse(&input, zone).unwrap_or_else(|e| panic!("{kind} {name} {content}: {e:?}"))
        })
        .collect()
}

fn every_type(long_txt: &str) -> Vec<Input<'_>> {
    vec![
        ("A", "@", "192.0.2.10", None),
        ("A", "www", "192.0.2.1", None),
        ("A", "www", "192.0.2.2", None),
        ("A", "*.dev", "192.0.2.3", None),
        ("AAAA", "v6", "2001:db8::1", None),
        ("CNAME", "alias", "www", None),
        ("CNAME", "sel._domainkey", "sel._domainkey.mail.example.net.", None),
        ("MX", "@", "mail", Some(10)),
        ("MX", "@", "mx.example.net.", Some(20)),
        ("MX", "nomail", ".", Some(0)),
        ("A", "mail", "192.0.2.25", None),
        ("TXT", "@", "v=spf1 mx -all", None),
        ("TXT", "_dmarc", "v=DMARC1; p=none", None),
        ("TXT", "long", long_txt, None),
        ("TXT", "empty", "", None),
        ("SRV", "_sip._tcp", "5 5060 sip.example.net.", Some(10)),
        ("SRV", "_imap._tcp", "0 0 .", Some(0)),
        ("CAA", "@", "0 issue \"letsencrypt.org\"", None),
        ("CAA", "@", "0 iodef \"mailto:security@example.com\"", None),
        ("CAA", "@", "128 issuewild \";\"", None),
        ("NS", "sub", "ns1.example.net.", None),
        ("NS", "sub", "ns2.example.net.", None),
    ]
}

fn long_txt() -> String {
    format!("{} quote \" backslash \\ ünïcödé {}", "x".repeat(250), "y".repeat(200))
}

/// Puts `records` on the server at `serial` and checks every record is answered as the
/// zone text says.
async fn put_and_compare(server: &PowerDnsServer, zone: &str, serial: u32, records: &[DnsRecord]) -> usize {
    let driver = server.driver();
    let spec = ZoneSpec::new(zone, serial, &settings(), records).unwrap();
    let changes = driver.ensure_zone(&spec).await.unwrap();
    let text = render_zone(zone, serial, &settings(), records);
    let expected = zone_text_records(&text);
    let served = served_records(server.dns, &format!("{zone}."), &expected);
    assert_eq!(served, expected, "PowerDNS answers the zone text:\n{text}");
    changes.len()
}

#[tokio::test]
async fn every_record_type_is_answered_as_the_zone_text_says_and_twice_changes_nothing() {
    let Some(server) = PowerDnsServer::start() else { return };
    let zone = format!("{}.test", unique("every"));
    let long = long_txt();
    let all = records(&zone, &every_type(&long));
    let changes = put_and_compare(&server, &zone, 2026120100, &all).await;
    assert!(changes > 0, "the zone was created");

    let again = ZoneSpec::new(&zone, 2026120100, &settings(), &all).unwrap();
    assert_eq!(server.driver().ensure_zone(&again).await.unwrap(), vec![], "the same zone twice changes nothing");
    let read = server.driver().read_zone(&zone).await.unwrap().unwrap();
    assert_eq!(read, again.rrsets, "the read-back is hostadmin's zone");
    assert!(server.driver().remove_zone(&zone).await.unwrap());
}

#[tokio::test]
async fn changes_and_deletions_are_followed_and_a_removed_zone_is_refused() {
    let Some(server) = PowerDnsServer::start() else { return };
    let driver = server.driver();
    let zone = format!("{}.test", unique("change"));
    let first = records(&zone, &[("A", "www", "192.0.2.1", None), ("TXT", "gone", "bye", None)]);
    put_and_compare(&server, &zone, 2026120100, &first).await;

    let second = records(
        &zone,
        &[("A", "www", "192.0.2.99", None), ("AAAA", "www", "2001:db8::99", None), ("MX", "@", "www", Some(5))],
    );
    let changes = put_and_compare(&server, &zone, 2026120101, &second).await;
    // SOA (serial), www A, www AAAA, MX replaced; gone TXT deleted.
    assert_eq!(changes, 5);
    assert_eq!(response_code(server.dns, &format!("gone.{zone}."), RecordType::TXT), ResponseCode::NXDomain);

    assert!(driver.remove_zone(&zone).await.unwrap());
    assert_eq!(response_code(server.dns, &format!("www.{zone}."), RecordType::A), ResponseCode::Refused);
    assert!(!driver.remove_zone(&zone).await.unwrap(), "removing it again is a success that found nothing");
    assert_eq!(driver.read_zone(&zone).await.unwrap(), None);

    // The zone comes back when its domain's name servers return.
    put_and_compare(&server, &zone, 2026120102, &second).await;
    assert!(driver.remove_zone(&zone).await.unwrap());
}

#[tokio::test]
async fn a_zone_edited_behind_the_drivers_back_is_detected_and_repaired() {
    let Some(server) = PowerDnsServer::start() else { return };
    let driver = server.driver();
    let zone = format!("{}.test", unique("drift"));
    let wanted = records(&zone, &[("A", "www", "192.0.2.1", None), ("MX", "@", "www", Some(10))]);
    put_and_compare(&server, &zone, 2026120100, &wanted).await;
    let spec = ZoneSpec::new(&zone, 2026120100, &settings(), &wanted).unwrap();

    // Someone edits PowerDNS directly: a changed address, an extra name, a lost MX. An
    // ACME challenge is on the server too, legitimately.
    let challenge = Rrset::new(&format!("_acme-challenge.{zone}"), "TXT", 60, ["\"token\"".to_owned()]);
    driver
        .apply(
            &zone,
            &[
                RrsetChange::Replace(Rrset::new(&format!("www.{zone}"), "A", 3600, ["198.51.100.66".to_owned()])),
                RrsetChange::Replace(Rrset::new(&format!("intruder.{zone}"), "A", 60, ["198.51.100.7".to_owned()])),
                RrsetChange::Delete { name: format!("{zone}."), rtype: "MX".into() },
                RrsetChange::Replace(challenge.clone()),
            ],
        )
        .await
        .unwrap();

    let served = driver.read_zone(&zone).await.unwrap().unwrap();
    let drift = spec.changes_from(&served);
    assert_eq!(drift.len(), 3, "the read-back shows the three edits: {drift:?}");
    assert!(drift.contains(&RrsetChange::Delete { name: format!("intruder.{zone}."), rtype: "A".into() }));

    let repaired = driver.ensure_zone(&spec).await.unwrap();
    assert_eq!(repaired, drift, "the repair is the drift");
    put_and_compare(&server, &zone, 2026120100, &wanted).await;
    let after = driver.read_zone(&zone).await.unwrap().unwrap();
    assert!(after.contains(&challenge), "an ACME challenge is not hostadmin's to remove");
    assert!(driver.remove_zone(&zone).await.unwrap());
}

#[tokio::test]
async fn a_stopped_server_is_worth_a_retry_and_a_wrong_key_is_not() {
    let Some(mut server) = PowerDnsServer::start() else { return };
    let zone = format!("{}.test", unique("fault"));
    let spec = ZoneSpec::new(&zone, 1, &settings(), &records(&zone, &[("A", "www", "192.0.2.1", None)])).unwrap();

    server.stop();
    let error = server.driver().ensure_zone(&spec).await.unwrap_err();
    assert!(matches!(error, DriverError::Unreachable(_)), "{error:?}");
    assert!(error.is_retryable());
    assert!(server.driver().check().await.is_err());

    server.resume();
    server.driver().check().await.unwrap();
    assert!(!server.driver().ensure_zone(&spec).await.unwrap().is_empty(), "after the restart it goes through");

    let wrong = hostadmin::drivers::powerdns::PowerDns::new(&server.api_url, "wrong-key", "localhost").unwrap();
    let refused = wrong.read_zone(&zone).await.unwrap_err();
    assert!(matches!(&refused, DriverError::Refused(detail) if detail.contains("401")), "{refused:?}");
    assert!(!refused.is_retryable());

    let invalid = server
        .driver()
        .apply(&zone, &[RrsetChange::Replace(Rrset::new(&format!("x.{zone}"), "A", 60, ["300.1.1.1".to_owned()]))])
        .await
        .unwrap_err();
    assert!(matches!(&invalid, DriverError::Refused(detail) if detail.contains("300.1.1.1")), "{invalid:?}");
    assert!(server.driver().remove_zone(&zone).await.unwrap());
}
