//! The ACME driver against pebble, which validates DNS-01 challenges by asking the test
//! PowerDNS: a certificate for shop.test and www.shop.test is issued, its chain verifies
//! against pebble's root, and a CA's refusal ends with its reason.

use std::sync::Arc;

use hostadmin::certificates::{key_matches, parse_certificate, parse_private_key};
use hostadmin::drivers::acme::Acme;
use hostadmin::drivers::{CertificateDriver as _, CertificateName, DnsDriver as _, DriverError, ZoneSpec};
use hostadmin_domain::dns::{DnsRecord, RecordInput, ZoneSettings};

use crate::pebble::{verify, PebbleServer};
use crate::servers::PowerDnsServer;

const ZONE: &str = "shop.test";

fn settings() -> ZoneSettings {
    ZoneSettings {
        nameservers: vec!["ns1.provider.test".into()],
        hostmaster: "hostmaster@provider.test".into(),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 60,
    }
}

fn record(kind: &str, name: &str, content: &str) -> DnsRecord {
    let input = RecordInput { record_type: kind, name, content, ttl: Some(60), priority: None };
    DnsRecord::parse(&input, ZONE).unwrap()
}

fn names(names: &[&str]) -> Vec<CertificateName> {
    names.iter().map(|name| CertificateName { name: (*name).into(), zone: ZONE.into() }).collect()
}

/// PowerDNS serving shop.test (with `lost` delegated elsewhere), and pebble asking it.
async fn servers() -> Option<(PowerDnsServer, PebbleServer)> {
    let pdns = PowerDnsServer::start()?;
    let zone = ZoneSpec::new(
        ZONE,
        1,
        &settings(),
        &[record("A", "@", "192.0.2.1"), record("A", "www", "192.0.2.1"), record("NS", "lost", "ns.elsewhere.test.")],
    )
    .unwrap();
    pdns.driver().ensure_zone(&zone).await.unwrap();
    let pebble = PebbleServer::start(pdns.dns)?;
    Some((pdns, pebble))
}

fn acme(pdns: &PowerDnsServer, pebble: &PebbleServer, credentials: Option<hostadmin::drivers::Password>) -> Acme {
    Acme::new(
        &pebble.directory_url,
        Some(pebble.tls_root_pem.as_bytes()),
        Some("mailto:certificates@provider.test"),
        Arc::new(pdns.driver()),
        credentials,
    )
    .unwrap()
}

#[tokio::test]
async fn a_certificate_for_shop_test_is_issued_through_dns_01_and_verifies_against_pebble_s_root() {
    let Some((pdns, pebble)) = servers().await else { return };
    let driver = acme(&pdns, &pebble, None);
    driver.check().await.unwrap();

    let issued = driver.issue(&names(&["shop.test", "www.shop.test"])).await.unwrap();
    assert!(!format!("{issued:?}").contains("PRIVATE KEY"), "the key is never printed");
    let leaf_pem = issued.chain_pem.split_inclusive("-----END CERTIFICATE-----").next().unwrap();
    let leaf = parse_certificate(leaf_pem).unwrap();
    assert_eq!(leaf.sans, vec!["shop.test".to_owned(), "www.shop.test".to_owned()]);
    let key = parse_private_key(issued.private_key_pem.expose()).unwrap();
    assert!(key_matches(&leaf, &key), "the key is the certificate's");

    let root = pebble.issuing_root().await;
    for name in ["shop.test", "www.shop.test"] {
        verify(&issued.chain_pem, &root, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert!(verify(&issued.chain_pem, &root, "other.shop.test").is_err(), "only for its names");

    let served = pdns.driver().read_zone(ZONE).await.unwrap().unwrap();
    assert!(!served.iter().any(|set| set.is_acme_challenge()), "the challenge records are removed: {served:?}");

    // The account is handed over once, and a driver made with it orders again.
    let credentials = driver.take_new_credentials().expect("a new account's credentials");
    assert!(driver.take_new_credentials().is_none());
    let again = acme(&pdns, &pebble, Some(credentials));
    let renewed = again.issue(&names(&["www.shop.test"])).await.unwrap();
    verify(&renewed.chain_pem, &root, "www.shop.test").unwrap();
    assert!(again.take_new_credentials().is_none(), "no new account was made");
}

#[tokio::test]
async fn a_ca_refusal_is_final_and_carries_the_ca_s_reason() {
    let Some((pdns, pebble)) = servers().await else { return };
    let driver = acme(&pdns, &pebble, None);

    // lost.shop.test is delegated away: PowerDNS answers the challenge's name with a
    // referral, pebble finds no TXT record and the authorization fails.
    let error = driver.issue(&names(&["lost.shop.test"])).await.unwrap_err();
    assert!(matches!(&error, DriverError::Refused(detail) if detail.contains("lost.shop.test")), "{error:?}");
    assert!(!error.is_retryable());
    let served = pdns.driver().read_zone(ZONE).await.unwrap().unwrap();
    assert!(!served.iter().any(|set| set.is_acme_challenge()), "cleaned up after a failure too");

    // A name outside its zone never reaches the CA.
    let outside = [CertificateName { name: "evil.test".into(), zone: ZONE.into() }];
    assert!(matches!(driver.issue(&outside).await, Err(DriverError::Refused(_))));
}

#[tokio::test]
async fn an_unreachable_ca_is_worth_a_retry() {
    let Some(pdns) = PowerDnsServer::start() else { return };
    let port = crate::servers::free_port();
    let driver =
        Acme::new(&format!("https://127.0.0.1:{port}/dir"), None, None, Arc::new(pdns.driver()), None).unwrap();
    let error = driver.issue(&names(&["shop.test"])).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert!(driver.check().await.unwrap_err().is_retryable());
}
