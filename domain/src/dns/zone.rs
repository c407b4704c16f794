//! A zone as RFC 1035 master-file text, with the SOA and NS records configuration gives,
//! and the SOA serial (`YYYYMMDDnn`, always growing: RFC 1912 2.2, RFC 1982).

use std::cmp::Ordering;
use std::fmt::Write as _;

use super::{DnsRecord, DEFAULT_TTL};

/// What configuration says about every zone: its name servers and SOA timers.

#[derive(Debug, Clone)]
pub struct ZoneSettings {
    /// Host names of the provider's name servers; the first is the SOA's primary.
    pub nameservers: Vec<String>,
    /// The responsible mailbox, as an address (`hostmaster@example.net`) or already in
    /// domain-name form (`hostmaster.example.net`).
    pub hostmaster: String,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

/// A configured name in absolute form.
fn absolute(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// RNAME of the SOA (RFC 1035 3.3.13, 8): `local@domain` becomes `local.domain.`, dots
/// in the local part escaped.
fn mailbox_name(hostmaster: &str) -> String {
    match hostmaster.rsplit_once('@') {
        Some((local, domain)) => format!("{}.{}", local.replace('.', "\\."), absolute(domain)),
        None => absolute(hostmaster),
    }
}

/// Zone order: the apex first, then by name, type and data, so that a zone renders the
/// same whatever order its records were loaded in.
fn zone_order(a: &DnsRecord, b: &DnsRecord) -> Ordering {
    (!a.name.is_apex(), a.name.as_str(), a.record_type(), a.data.render()).cmp(&(
        !b.name.is_apex(),
        b.name.as_str(),
        b.record_type(),
        b.data.render(),
    ))
}

impl ZoneSettings {
    /// The apex's name servers, absolute.
    pub fn nameserver_names(&self) -> Vec<String> {
        self.nameservers.iter().map(|ns| absolute(ns)).collect()
    }

    /// The SOA RDATA of `origin`'s zone at `serial`: the first name server as primary (the
    /// apex itself when none is configured), the hostmaster as a domain name, the timers.
    pub fn soa(&self, origin: &str, serial: u32) -> String {
        let primary = self.nameservers.first().map(|ns| absolute(ns)).unwrap_or_else(|| format!("{origin}."));
        format!(
            "{primary} {} {serial} {} {} {} {}",
            mailbox_name(&self.hostmaster),
            self.refresh,
            self.retry,
            self.expire,
            self.minimum
        )
    }
}

/// The zone of `origin` as RFC 1035 master-file text: `$ORIGIN`, `$TTL`, the SOA and NS
/// records from `settings`, then `records`.
pub fn render_zone(origin: &str, serial: u32, settings: &ZoneSettings, records: &[DnsRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "$ORIGIN {origin}.");
    let _ = writeln!(out, "$TTL {DEFAULT_TTL}");
    let _ = writeln!(out, "@ {DEFAULT_TTL} IN SOA {}", settings.soa(origin, serial));
    for ns in &settings.nameserver_names() {
        let _ = writeln!(out, "@ {DEFAULT_TTL} IN NS {ns}");
    }
    let mut sorted: Vec<&DnsRecord> = records.iter().collect();
    sorted.sort_by(|a, b| zone_order(a, b));
    for record in sorted {
        let _ = writeln!(
            out,
            "{} {} IN {} {}",
            record.name.as_str(),
            record.ttl,
            record.record_type(),
            record.data.render()
        );
    }
    out
}

/// The next SOA serial in the `YYYYMMDDnn` convention (RFC 1912 2.2): today's first
/// number, or one more than the last when that is already today's or later, so it always
/// grows (RFC 1982) even past 99 changes a day.
pub fn next_serial(current: i64, today: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    let first_today =
        i64::from(today.year()) * 1_000_000 + i64::from(today.month()) * 10_000 + i64::from(today.day()) * 100;
    first_today.max(current.saturating_add(1))
}

/// A serial for a zone that has not changed since `created`: that day's first.
pub fn first_serial(created: chrono::NaiveDate) -> i64 {
    next_serial(0, created)
}
