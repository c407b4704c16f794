//! Zones as DNS servers hold them: RRsets (every record of one name and type, one TTL)
//! with RDATA in presentation form, and the changes that turn what a server holds into
//! what hostadmin says.
//!
//! RDATA is kept in one canonical form, so that what a server answers compares equal to
//! what hostadmin rendered when both mean the same bytes on the wire: names lowercase,
//! addresses as Rust prints them (RFC 5952 for IPv6), and character-strings (TXT, the
//! CAA value) quoted with every byte outside printable ASCII as `\DDD`. The zone text of
//! `GET /v1/domains/{name}/dns/zone` keeps UTF-8 as it is; both decode to the same
//! octets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use hostadmin_domain::dns::{DnsRecord, ZoneSettings, DEFAULT_TTL};

use super::DriverError;

/// Every record of one name and type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rrset {
    /// Absolute, lowercase, with its final dot.
    pub name: String,
    /// Upper case: `A`, `TXT`, `SOA`, ...
    pub rtype: String,
    pub ttl: u32,
    /// RDATA in canonical presentation form, sorted, each once.
    pub records: Vec<String>,
}

impl Rrset {
    /// An RRset with its name and RDATA made canonical.
    pub fn new(name: &str, rtype: &str, ttl: u32, records: impl IntoIterator<Item = String>) -> Self {
        let rtype = rtype.to_ascii_uppercase();
        let mut records: Vec<String> = records.into_iter().map(|rdata| canonical_rdata(&rtype, &rdata)).collect();
        records.sort();
        records.dedup();
        Self { name: absolute_name(name), rtype, ttl, records }
    }

    /// A TXT set at `_acme-challenge.<name>`: written by certificate issuance, not part of
    /// hostadmin's zone, so never removed by [`ZoneSpec::changes_from`].
    pub fn is_acme_challenge(&self) -> bool {
        self.rtype == "TXT" && self.name.starts_with("_acme-challenge.")
    }

    fn key(&self) -> (&str, &str) {
        (&self.name, &self.rtype)
    }
}

/// One change of a zone on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RrsetChange {
    /// The set becomes exactly this (created when absent).
    Replace(Rrset),
    /// The set of this name and type goes.
    Delete { name: String, rtype: String },
}

/// A zone as hostadmin says it: the SOA and apex NS from configuration, then the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    /// The zone's name, lowercase, without a final dot.
    pub name: String,
    pub serial: u32,
    /// Sorted by name and type.
    pub rrsets: Vec<Rrset>,
}

impl ZoneSpec {
    /// The zone of `origin` at `serial`: the same SOA, NS and records as
    /// `hostadmin_domain::dns::render_zone` writes, grouped into RRsets. Records of one
    /// name and type with different TTLs share the lowest (RFC 2181 5.2: one TTL per set).
    pub fn new(origin: &str, serial: u32, settings: &ZoneSettings, records: &[DnsRecord]) -> Result<Self, DriverError> {
        let name = zone_name(origin)?;
        let apex = format!("{name}.");
        let mut sets: BTreeMap<(String, String), (u32, Vec<String>)> = BTreeMap::new();
        sets.insert((apex.clone(), "SOA".into()), (DEFAULT_TTL, vec![settings.soa(&name, serial)]));
        sets.insert((apex, "NS".into()), (DEFAULT_TTL, settings.nameserver_names()));
        for record in records {
            let key = (record.name.fqdn(&name), record.record_type().as_str().to_owned());
            let entry = sets.entry(key).or_insert((record.ttl, Vec::new()));
            entry.0 = entry.0.min(record.ttl);
            entry.1.push(record.data.render());
        }
        let rrsets =
            sets.into_iter().map(|((owner, rtype), (ttl, rdata))| Rrset::new(&owner, &rtype, ttl, rdata)).collect();
        Ok(Self { name, serial, rrsets })
    }

    /// The changes that turn `served` (a server's RRsets of this zone) into this zone:
    /// sets that differ are replaced, sets hostadmin does not have are deleted, except
    /// ACME challenges. Empty when the server already holds the zone.
    pub fn changes_from(&self, served: &[Rrset]) -> Vec<RrsetChange> {
        let served_by_key: BTreeMap<(&str, &str), &Rrset> = served.iter().map(|set| (set.key(), set)).collect();
        let wanted: BTreeMap<(&str, &str), &Rrset> = self.rrsets.iter().map(|set| (set.key(), set)).collect();
        let mut changes: Vec<RrsetChange> = self
            .rrsets
            .iter()
            .filter(|set| served_by_key.get(&set.key()) != Some(set))
            .map(|set| RrsetChange::Replace(set.clone()))
            .collect();
        changes.extend(
            served
                .iter()
                .filter(|set| !wanted.contains_key(&set.key()) && !set.is_acme_challenge())
                .map(|set| RrsetChange::Delete { name: set.name.clone(), rtype: set.rtype.clone() }),
        );
        changes
    }
}

/// A zone's name as drivers take it: lowercase letters, digits and hyphens in labels of
/// 1-63, at most 253 characters, a final dot allowed. Anything else never reaches a URL
/// or a server.
pub fn zone_name(text: &str) -> Result<String, DriverError> {
    let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(DriverError::Refused(format!("{text:?} is not a zone name")));
    }
    Ok(name)
}

/// `name` lowercase with a final dot.
fn absolute_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.")
    }
}

/// RDATA of `rtype` in canonical presentation form (see the module's comment). Text that
/// does not parse is kept as it is, trimmed: it then compares unequal, which reconcile
/// repairs.
pub fn canonical_rdata(rtype: &str, text: &str) -> String {
    let text = text.trim();
    match rtype {
        "A" => text.parse::<Ipv4Addr>().map(|a| a.to_string()).unwrap_or_else(|_| text.to_owned()),
        "AAAA" => text.parse::<Ipv6Addr>().map(|a| a.to_string()).unwrap_or_else(|_| text.to_owned()),
        "TXT" | "SPF" => {
            let strings = character_strings(text);
            if strings.is_empty() {
                quote(b"")
            } else {
                strings.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" ")
            }
        }
        "CAA" => {
            let mut parts = text.splitn(3, char::is_whitespace);
            match (parts.next(), parts.next(), parts.next()) {
                (Some(flags), Some(tag), Some(value)) => {
                    let value = character_strings(value).into_iter().next().unwrap_or_default();
                    format!("{flags} {} {}", tag.to_ascii_lowercase(), quote(&value))
                }
                _ => text.to_owned(),
            }
        }
        _ => text.split_whitespace().map(str::to_ascii_lowercase).collect::<Vec<_>>().join(" "),
    }
}

/// The character-strings of RFC 1035 5.1 presentation text: quoted or bare, separated by
/// white space, with `\X` (X itself) and `\DDD` (a decimal octet) escapes.
pub fn character_strings(text: &str) -> Vec<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut strings = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let quoted = bytes[i] == b'"';
        if quoted {
            i += 1;
        }
        let mut current = Vec::new();
        while i < bytes.len() {
            let b = bytes[i];
            if (quoted && b == b'"') || (!quoted && b.is_ascii_whitespace()) {
                i += 1;
                break;
            }
            if b == b'\\' && i + 1 < bytes.len() {
                let digits = &bytes[i + 1..bytes.len().min(i + 4)];
                if digits.len() == 3 && digits.iter().all(u8::is_ascii_digit) {
                    let value = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
                    current.push(u8::try_from(value).unwrap_or(u8::MAX));
                    i += 4;
                } else {
                    current.push(bytes[i + 1]);
                    i += 2;
                }
                continue;
            }
            current.push(b);
            i += 1;
        }
        strings.push(current);
    }
    strings
}

/// A character-string quoted in the canonical form: `"` and `\` escaped, printable ASCII
/// as it is, every other octet `\DDD`.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hostadmin_domain::dns::RecordInput;
    use proptest::prelude::*;

    fn settings() -> ZoneSettings {
        ZoneSettings {
            nameservers: vec!["ns1.provider.test".into(), "NS2.provider.test.".into()],
            hostmaster: "host.master@provider.test".into(),
            refresh: 3600,
            retry: 600,
            expire: 1_209_600,
            minimum: 300,
        }
    }

    fn record(kind: &str, name: &str, content: &str, ttl: Option<i64>, priority: Option<i64>) -> DnsRecord {
        let input = RecordInput { record_type: kind, name, content, ttl, priority };
        DnsRecord::parse(&input, "example.com").unwrap()
    }

    #[test]
    fn a_zone_becomes_rrsets_with_soa_and_ns_from_configuration() {
        let records = vec![
            record("A", "www", "192.0.2.1", None, None),
            record("A", "www", "192.0.2.2", Some(300), None),
            record("MX", "@", "mail", None, Some(10)),
            record("TXT", "@", &format!("{}é\"", "y".repeat(300)), None, None),
            record("SRV", "_sip._tcp", "5 5060 sip.example.net.", None, Some(1)),
            record("CAA", "@", "0 issue letsencrypt.org", None, None),
            record("AAAA", "v6", "2001:DB8:0:0:0:0:0:1", None, None),
            record("CNAME", "alias", "@", None, None),
            record("NS", "sub", "ns1.sub", None, None),
        ];
        let zone = ZoneSpec::new("Example.com.", 2026120101, &settings(), &records).unwrap();
        assert_eq!(zone.name, "example.com");
        let find = |name: &str, rtype: &str| {
            zone.rrsets.iter().find(|s| s.name == name && s.rtype == rtype).unwrap_or_else(|| panic!("{name} {rtype}"))
        };
        assert_eq!(
            find("example.com.", "SOA").records,
            vec!["ns1.provider.test. host\\.master.provider.test. 2026120101 3600 600 1209600 300"]
        );
        assert_eq!(find("example.com.", "NS").records, vec!["ns1.provider.test.", "ns2.provider.test."]);
        let www = find("www.example.com.", "A");
        assert_eq!((www.ttl, www.records.clone()), (300, vec!["192.0.2.1".to_owned(), "192.0.2.2".to_owned()]));
        assert_eq!(find("example.com.", "MX").records, vec!["10 mail.example.com."]);
        assert_eq!(
            find("example.com.", "TXT").records,
            vec![format!("\"{}\" \"{}\\195\\169\\\"\"", "y".repeat(255), "y".repeat(45))]
        );
        assert_eq!(find("_sip._tcp.example.com.", "SRV").records, vec!["1 5 5060 sip.example.net."]);
        assert_eq!(find("example.com.", "CAA").records, vec!["0 issue \"letsencrypt.org\""]);
        assert_eq!(find("v6.example.com.", "AAAA").records, vec!["2001:db8::1"]);
        assert_eq!(find("alias.example.com.", "CNAME").records, vec!["example.com."]);
        assert_eq!(find("sub.example.com.", "NS").records, vec!["ns1.sub.example.com."]);
        assert_eq!(zone.rrsets.len(), 10);
    }

    #[test]
    fn changes_replace_what_differs_and_delete_what_hostadmin_lacks() {
        let zone =
            ZoneSpec::new("example.com", 1, &settings(), &[record("A", "www", "192.0.2.1", None, None)]).unwrap();
        assert!(zone.changes_from(&zone.rrsets).is_empty(), "the same zone twice changes nothing");

        let mut served = zone.rrsets.clone();
        served.retain(|s| s.rtype != "NS");
        served.push(Rrset::new("intruder.example.com", "A", 60, ["198.51.100.1".to_owned()]));
        served.push(Rrset::new("_acme-challenge.www.example.com.", "TXT", 60, ["\"token\"".to_owned()]));
        if let Some(www) = served.iter_mut().find(|s| s.rtype == "A" && s.name.starts_with("www")) {
            www.ttl = 60;
        }
        let changes = zone.changes_from(&served);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(changes.iter().any(|c| matches!(c, RrsetChange::Replace(s) if s.rtype == "NS")));
        assert!(changes
            .iter()
            .any(|c| matches!(c, RrsetChange::Replace(s) if s.name == "www.example.com." && s.ttl == 3600)));
        assert!(changes.contains(&RrsetChange::Delete { name: "intruder.example.com.".into(), rtype: "A".into() }));
    }

    #[test]
    fn servers_spellings_compare_equal() {
        assert_eq!(canonical_rdata("TXT", "\"a\\\"b\" \"\\195\\169\""), canonical_rdata("TXT", "\"a\\\"b\" \"é\""));
        assert_eq!(canonical_rdata("TXT", "\"\""), "\"\"");
        assert_eq!(canonical_rdata("TXT", ""), "\"\"");
        assert_eq!(canonical_rdata("MX", "10  Mail.Example.com."), "10 mail.example.com.");
        assert_eq!(canonical_rdata("AAAA", "2001:0db8::0001"), "2001:db8::1");
        assert_eq!(canonical_rdata("CAA", "0 ISSUE \"ca.example; account=1\""), "0 issue \"ca.example; account=1\"");
        assert_eq!(canonical_rdata("CAA", "128 issuewild ca.example"), "128 issuewild \"ca.example\"");
    }

    #[test]
    fn zone_names_are_checked_before_any_url() {
        assert_eq!(zone_name("Shop.Test.").unwrap(), "shop.test");
        for bad in ["", ".", "a..b", "-a.test", "a_b.test", "a/b.test", "shop.test/../x", "é.test", "a b"] {
            assert!(zone_name(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn quoting_round_trips_every_octet(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let quoted = quote(&bytes);
            prop_assert_eq!(character_strings(&quoted), vec![bytes]);
        }

        #[test]
        fn canonical_text_is_a_fixed_point(text in "\\PC{0,200}") {
            let once = canonical_rdata("TXT", &text);
            prop_assert_eq!(canonical_rdata("TXT", &once), once.clone());
        }
    }
}
