//! How long after a record change is applied PowerDNS answers it: 100 changes, median
//! and p99. Outside CI (`#[ignore]`); run it with
//! `cargo test --release -p hostadmin --test drivers -- --ignored --nocapture latency`
//! and note the numbers in docs/performance.md.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use hickory_proto::rr::{RData, RecordType};

use hostadmin::drivers::{DnsDriver as _, ZoneSpec};
use hostadmin_domain::dns::{DnsRecord, RecordInput, ZoneSettings};

use crate::dns_wire::query;
use crate::servers::{unique, PowerDnsServer};

const CHANGES: u32 = 100;

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::test]
#[ignore = "a measurement, not a check: run by hand"]
async fn latency_from_a_record_change_to_powerdns_answering_it() {
    let Some(server) = PowerDnsServer::start() else { return };
    let driver = server.driver();
    let zone = format!("{}.test", unique("latency"));
    let settings = ZoneSettings {
        nameservers: vec!["ns1.provider.test".into()],
        hostmaster: "hostmaster@provider.test".into(),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 60,
    };
    let name = format!("www.{zone}.");
    let (mut applied, mut answered) = (Vec::new(), Vec::new());
    for change in 0..CHANGES {
        let address = Ipv4Addr::new(192, 0, 2, u8::try_from(change % 250).unwrap() + 1);
        let content = address.to_string();
        let input = RecordInput { record_type: "A", name: "www", content: &content, ttl: Some(60), priority: None };
        let records = [DnsRecord::parse(&input, &zone).unwrap()];
        let spec = ZoneSpec::new(&zone, 2026120100 + change, &settings, &records).unwrap();
        let start = Instant::now();
        driver.ensure_zone(&spec).await.unwrap();
        applied.push(start.elapsed());
        loop {
            let answer = query(server.dns, &name, RecordType::A);
            if answer.answers.iter().any(|record| matches!(&record.data, RData::A(a) if a.0 == address)) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "change {change} never answered");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        answered.push(start.elapsed());
    }
    driver.remove_zone(&zone).await.unwrap();
    applied.sort();
    answered.sort();
    println!(
        "{CHANGES} record changes: driver call (read zone + PATCH) median {:.1} ms, p99 {:.1} ms; \
         change applied -> answered by PowerDNS median {:.1} ms, p99 {:.1} ms",
        percentile(&applied, 0.5).as_secs_f64() * 1000.0,
        percentile(&applied, 0.99).as_secs_f64() * 1000.0,
        percentile(&answered, 0.5).as_secs_f64() * 1000.0,
        percentile(&answered, 0.99).as_secs_f64() * 1000.0,
    );
}
