//! DNS records of a zone the provider serves, and the zone as RFC 1035 master-file text.
//!
//! A record arrives as `{type, name, content, ttl?, priority?}` relative to its zone
//! (API.md "Domains and DNS") and is accepted only in a form DNS defines:
//!
//! - `name`: `@` (the apex) or labels below it (also written absolute, with the zone and
//!   a final dot). Labels are 1-63 letters, digits, hyphens and underscores (RFC 2181
//!   section 11 allows any octet; underscores are what service names such as `_sip._tcp`
//!   and `_dmarc` need, RFC 8552), not starting or ending with a hyphen (RFC 1123 2.1).
//!   A wildcard `*` may stand only as the whole first label (RFC 4592 2.1.1), and not
//!   for NS (RFC 4592 4.2) or SRV. SRV names start `_service._proto` (RFC 2782). The
//!   whole name, zone included, is at most 253 characters (255 octets on the wire,
//!   RFC 1035 2.3.4). Only ASCII: internationalized labels are written as punycode.
//! - targets of MX, NS and SRV are host names (RFC 1123 2.1, RFC 2181 10.3): letters,
//!   digits and hyphens, never an address, and a name whose last label is all digits is
//!   not a host name. A CNAME target names another record, which may be a service
//!   name: it also takes underscores (DKIM delegations point at `sel._domainkey...`).
//!   A final dot makes a target absolute, otherwise it is relative to the zone; `@` is
//!   the apex. MX and SRV also take `.`: "no service" (RFC 7505, RFC 2782).
//! - TXT is the raw text, printable (control characters are refused); rendering splits
//!   it into character-strings of at most 255 bytes (RFC 1035 3.3.14) at character
//!   boundaries and escapes `"` and `\` (RFC 1035 5.1).
//! - CAA is `flags tag value` (RFC 8659 4.1): flags 0-255, a tag of 1-15 ASCII letters
//!   and digits, the value printable ASCII, quoted or a single word; `issue` and
//!   `issuewild` values are `[issuer-domain-name] *(";" key=value)` (4.2), `iodef` a
//!   `mailto:`, `http:` or `https:` URL (4.4).
//! - `priority` (0-65535) is required for MX and SRV and refused for the rest; `ttl` is
//!   60-604800 seconds, 3600 when left out.
//! - A CNAME stands alone (RFC 1034 3.6.2, RFC 2181 10.1): not at the apex (which has
//!   SOA and NS) and not beside another record of the same name. NS records are for
//!   delegating names below the apex: the apex's name servers come from configuration.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::Invalid;

pub const MIN_TTL: i64 = 60;
pub const MAX_TTL: i64 = 604_800;
pub const DEFAULT_TTL: u32 = 3600;
/// The most TXT text one record takes, in bytes: room for 16 character-strings, far
/// above SPF, DKIM or verification tokens, and a zone that stays readable.
pub const MAX_TXT_BYTES: usize = 4080;
/// A CAA value is one <character-string> in presentation form (RFC 8659 4.1.1).
pub const MAX_CAA_VALUE_BYTES: usize = 255;
/// Longest name in text form (255 octets on the wire, RFC 1035 2.3.4).
const MAX_NAME: usize = 253;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Srv,
    Caa,
    Ns,
}

impl RecordType {
    pub const ALL: [Self; 8] = [Self::A, Self::Aaaa, Self::Cname, Self::Mx, Self::Txt, Self::Srv, Self::Caa, Self::Ns];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Cname => "CNAME",
            Self::Mx => "MX",
            Self::Txt => "TXT",
            Self::Srv => "SRV",
            Self::Caa => "CAA",
            Self::Ns => "NS",
        }
    }

    /// Case-insensitive, as in zone files.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str().eq_ignore_ascii_case(text))
    }

    fn takes_priority(self) -> bool {
        matches!(self, Self::Mx | Self::Srv)
    }
}

impl std::fmt::Display for RecordType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record's name relative to its zone: `@` or lowercase labels without the zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordName(String);

impl RecordName {
    pub const APEX: &'static str = "@";

    /// `text` relative to `zone` (a canonical domain name), or absolute within it.
    pub fn parse(text: &str, zone: &str) -> Result<Self, Invalid> {
        if text == Self::APEX {
            return Ok(Self(Self::APEX.to_owned()));
        }
        let lower = text.to_ascii_lowercase();
        let relative = match lower.strip_suffix('.') {
            None => lower.as_str(),
            Some(absolute) if absolute == zone => return Ok(Self(Self::APEX.to_owned())),
            Some(absolute) => {
                absolute.strip_suffix(zone).and_then(|below| below.strip_suffix('.')).ok_or_else(|| {
                    Invalid::new("out_of_zone", format!("an absolute name must end in the zone's name {zone}."))
                })?
            }
        };
        if relative.is_empty() {
            return Err(Invalid::new("invalid_name", "a name is `@` or labels relative to the zone"));
        }
        for (index, label) in relative.split('.').enumerate() {
            if index == 0 && label == "*" {
                continue;
            }
            check_label(label, true).map_err(|detail| Invalid::new("invalid_name", detail))?;
        }
        if relative.len() + 1 + zone.len() > MAX_NAME {
            return Err(Invalid::new("invalid_name", format!("the whole name is at most {MAX_NAME} characters")));
        }
        Ok(Self(relative.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_apex(&self) -> bool {
        self.0 == Self::APEX
    }

    fn is_wildcard(&self) -> bool {
        self.0 == "*" || self.0.starts_with("*.")
    }

    /// The absolute name with its final dot.
    pub fn fqdn(&self, zone: &str) -> String {
        if self.is_apex() {
            format!("{zone}.")
        } else {
            format!("{}.{zone}.", self.0)
        }
    }
}

/// Why `label` is not a label: 1-63 letters, digits, hyphens (and underscores where
/// allowed), not starting or ending with a hyphen.
fn check_label(label: &str, underscore: bool) -> Result<(), String> {
    if label.is_empty() || label.len() > 63 {
        return Err("each label (between dots) is 1 to 63 characters".to_owned());
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (underscore && c == '_');
    if let Some(c) = label.chars().find(|c| !allowed(*c)) {
        return Err(if underscore {
            format!("{c:?} is not allowed: labels are letters, digits, hyphens and underscores (punycode for others)")
        } else {
            format!("{c:?} is not allowed: host names are letters, digits and hyphens (punycode for others)")
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("a label does not start or end with a hyphen".to_owned());
    }
    Ok(())
}

/// A name another record points at, as written (lowercased) and absolute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    written: String,
    fqdn: String,
}

impl Target {
    /// The root `.`: "no such service" for MX (RFC 7505) and SRV (RFC 2782).
    pub fn is_root(&self) -> bool {
        self.fqdn == "."
    }

    /// As the client wrote it (lowercase): relative, absolute with a final dot, `@`, `.`.
    pub fn written(&self) -> &str {
        &self.written
    }

    /// Absolute with its final dot.
    pub fn fqdn(&self) -> &str {
        &self.fqdn
    }

    /// `service_name`: a CNAME's target may have underscores; `root`: `.` is allowed.
    fn parse(text: &str, zone: &str, service_name: bool, root: bool) -> Result<Self, Invalid> {
        if text == "." {
            return if root {
                Ok(Self { written: ".".to_owned(), fqdn: ".".to_owned() })
            } else {
                Err(Invalid::new("invalid_host_name", "the root `.` is not a target for this type"))
            };
        }
        if text == RecordName::APEX {
            return Ok(Self { written: RecordName::APEX.to_owned(), fqdn: format!("{zone}.") });
        }
        let bare = text.strip_suffix('.').unwrap_or(text);
        if text.parse::<IpAddr>().is_ok() || bare.parse::<IpAddr>().is_ok() {
            return Err(Invalid::new("address_not_host_name", "the target is a host name, not an address"));
        }
        let lower = text.to_ascii_lowercase();
        let (relative, absolute) = match lower.strip_suffix('.') {
            Some(name) => (name, true),
            None => (lower.as_str(), false),
        };
        if relative.is_empty() {
            return Err(Invalid::new("invalid_host_name", "a host name has at least one label"));
        }
        for label in relative.split('.') {
            check_label(label, service_name).map_err(|detail| Invalid::new("invalid_host_name", detail))?;
        }
        if relative.rsplit('.').next().is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit())) {
            return Err(Invalid::new("invalid_host_name", "a name whose last label is all digits is not a host name"));
        }
        let fqdn = if absolute { format!("{relative}.") } else { format!("{relative}.{zone}.") };
        if fqdn.len() - 1 > MAX_NAME {
            return Err(Invalid::new("invalid_host_name", format!("the whole name is at most {MAX_NAME} characters")));
        }
        Ok(Self { written: lower, fqdn })
    }
}

/// The data of a record, by type; priorities live here with the types that have them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Target),
    Mx { preference: u16, exchange: Target },
    Txt(String),
    Srv { priority: u16, weight: u16, port: u16, target: Target },
    Caa { flags: u8, tag: String, value: String },
    Ns(Target),
}

impl RecordData {
    pub fn record_type(&self) -> RecordType {
        match self {
            Self::A(_) => RecordType::A,
            Self::Aaaa(_) => RecordType::Aaaa,
            Self::Cname(_) => RecordType::Cname,
            Self::Mx { .. } => RecordType::Mx,
            Self::Txt(_) => RecordType::Txt,
            Self::Srv { .. } => RecordType::Srv,
            Self::Caa { .. } => RecordType::Caa,
            Self::Ns(_) => RecordType::Ns,
        }
    }

    /// `content` in the API's form: zone-file data without the priority, targets as
    /// written, TXT raw.
    pub fn content(&self) -> String {
        match self {
            Self::A(address) => address.to_string(),
            Self::Aaaa(address) => address.to_string(),
            Self::Cname(target) | Self::Ns(target) => target.written().to_owned(),
            Self::Mx { exchange, .. } => exchange.written().to_owned(),
            Self::Txt(text) => text.clone(),
            Self::Srv { weight, port, target, .. } => format!("{weight} {port} {}", target.written()),
            Self::Caa { flags, tag, value } => format!("{flags} {tag} {}", quoted(value.as_bytes())),
        }
    }

    pub fn priority(&self) -> Option<u16> {
        match self {
            Self::Mx { preference, .. } => Some(*preference),
            Self::Srv { priority, .. } => Some(*priority),
            _ => None,
        }
    }

    /// The RDATA in master-file form (RFC 1035 5.1), targets absolute: what the zone text
    /// holds, and what a DNS server's driver hands its server.
    pub fn render(&self) -> String {
        match self {
            Self::A(address) => address.to_string(),
            Self::Aaaa(address) => address.to_string(),
            Self::Cname(target) | Self::Ns(target) => target.fqdn().to_owned(),
            Self::Mx { preference, exchange } => format!("{preference} {}", exchange.fqdn()),
            Self::Txt(text) => txt_strings(text).iter().map(|s| quoted(s.as_bytes())).collect::<Vec<_>>().join(" "),
            Self::Srv { priority, weight, port, target } => format!("{priority} {weight} {port} {}", target.fqdn()),
            Self::Caa { flags, tag, value } => format!("{flags} {tag} {}", quoted(value.as_bytes())),
        }
    }
}

/// TXT text cut into character-strings of at most 255 bytes, at character boundaries
/// (so each piece stays valid UTF-8 in the zone text); empty text is one empty string.
pub fn txt_strings(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > 255 {
        let mut cut = 255;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

/// A <character-string> in quotes (RFC 1035 5.1): `"` and `\` escaped with `\`, bytes
/// outside printable ASCII as `\DDD`, except the bytes of non-ASCII characters, which
/// stay as they are so the zone text remains UTF-8.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let text = String::from_utf8_lossy(bytes);
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c if c.is_ascii() => {
                let _ = write!(out, "\\{:03}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A validated record of a zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsRecord {
    pub name: RecordName,
    pub ttl: u32,
    pub data: RecordData,
}

/// A record as the API receives it (and as it is stored).
#[derive(Debug, Clone, Copy)]
pub struct RecordInput<'a> {
    pub record_type: &'a str,
    pub name: &'a str,
    pub content: &'a str,
    pub ttl: Option<i64>,
    pub priority: Option<i64>,
}

/// A refusal and the JSON pointer of the field it concerns.
pub type FieldInvalid = (&'static str, Invalid);

impl DnsRecord {
    /// Validates `input` for `zone` (a canonical domain name: lowercase punycode, no
    /// final dot); every refusal with its field's pointer.
    pub fn parse(input: &RecordInput<'_>, zone: &str) -> Result<Self, Vec<FieldInvalid>> {
        let mut errors: Vec<FieldInvalid> = Vec::new();
        let record_type = RecordType::parse(input.record_type);
        if record_type.is_none() {
            errors.push((
                "/type",
                Invalid::new("invalid_type", "the type is one of A, AAAA, CNAME, MX, TXT, SRV, CAA, NS"),
            ));
        }
        let name = RecordName::parse(input.name, zone).map_err(|invalid| errors.push(("/name", invalid))).ok();
        let ttl = match input.ttl {
            None => Some(DEFAULT_TTL),
            Some(ttl) if (MIN_TTL..=MAX_TTL).contains(&ttl) => u32::try_from(ttl).ok(),
            Some(_) => {
                errors
                    .push(("/ttl", Invalid::new("out_of_range", format!("the TTL is {MIN_TTL} to {MAX_TTL} seconds"))));
                None
            }
        };
        let priority = match (record_type, input.priority) {
            (Some(kind), None) if kind.takes_priority() => {
                errors.push(("/priority", Invalid::new("required", format!("{kind} records need a priority"))));
                None
            }
            (Some(kind), Some(_)) if !kind.takes_priority() => {
                errors.push((
                    "/priority",
                    Invalid::new("not_allowed", format!("only MX and SRV records have a priority, not {kind}")),
                ));
                None
            }
            (_, Some(priority)) => match u16::try_from(priority) {
                Ok(priority) => Some(priority),
                Err(_) => {
                    errors.push(("/priority", Invalid::new("out_of_range", "the priority is 0 to 65535")));
                    None
                }
            },
            (_, None) => None,
        };
        let data = record_type.and_then(|kind| match parse_content(kind, input.content, zone, priority) {
            Ok(data) => data,
            Err(invalid) => {
                errors.push(("/content", invalid));
                None
            }
        });
        if let (Some(kind), Some(name)) = (record_type, &name) {
            if let Some(refusal) = name_rule(kind, name) {
                errors.push(refusal);
            }
        }
        match (name, ttl, data) {
            (Some(name), Some(ttl), Some(data)) if errors.is_empty() => Ok(Self { name, ttl, data }),
            _ => Err(errors),
        }
    }

    pub fn record_type(&self) -> RecordType {
        self.data.record_type()
    }

    /// Whether `self` may join `others` (the zone's other records, without the one it
    /// replaces): a CNAME stands alone at its name, whichever came first, and a record
    /// set holds each record once.
    pub fn check_beside(&self, others: &[Self]) -> Result<(), FieldInvalid> {
        for other in others.iter().filter(|other| other.name == self.name) {
            let kinds = (self.record_type(), other.record_type());
            if kinds.0 == RecordType::Cname || kinds.1 == RecordType::Cname {
                return Err((
                    "/type",
                    Invalid::new(
                        "cname_conflict",
                        format!(
                            "{} already has a {} record; a CNAME cannot share its name with other records",
                            self.name.as_str(),
                            kinds.1
                        ),
                    ),
                ));
            }
            if other.data == self.data {
                return Err(("/content", Invalid::new("duplicate_record", "the zone already has this record")));
            }
        }
        Ok(())
    }
}

/// Rules on where a type may stand.
fn name_rule(kind: RecordType, name: &RecordName) -> Option<FieldInvalid> {
    match kind {
        RecordType::Cname if name.is_apex() => Some((
            "/type",
            Invalid::new("cname_at_apex", "a CNAME cannot stand at the apex, which has the zone's SOA and NS records"),
        )),
        RecordType::Ns if name.is_apex() => Some((
            "/name",
            Invalid::new(
                "apex_nameservers",
                "the apex's name servers are the provider's; NS records delegate names below it",
            ),
        )),
        RecordType::Ns if name.is_wildcard() => {
            Some(("/name", Invalid::new("invalid_name", "a wildcard name cannot be delegated (RFC 4592 4.2)")))
        }
        RecordType::Srv => {
            let mut labels = name.as_str().split('.');
            let service = labels.next().is_some_and(|l| l.len() > 1 && l.starts_with('_'));
            let proto = labels.next().is_some_and(|l| l.len() > 1 && l.starts_with('_'));
            (!(service && proto)).then(|| {
                ("/name", Invalid::new("invalid_name", "an SRV name starts with _service._proto, e.g. _sip._tcp"))
            })
        }
        _ => None,
    }
}

fn number<T: std::str::FromStr>(token: Option<&str>, what: &str, bounds: &str) -> Result<T, Invalid> {
    let token = token.ok_or_else(|| Invalid::new("invalid_content", format!("the {what} is missing")))?;
    if !token.bytes().all(|b| b.is_ascii_digit()) || token.len() > 5 {
        return Err(Invalid::new("invalid_content", format!("the {what} is a whole number {bounds}")));
    }
    token.parse().map_err(|_| Invalid::new("invalid_content", format!("the {what} is a whole number {bounds}")))
}

/// The content of one type; `Ok(None)` when the priority it needs was refused already.
fn parse_content(
    kind: RecordType,
    content: &str,
    zone: &str,
    priority: Option<u16>,
) -> Result<Option<RecordData>, Invalid> {
    let data = match kind {
        RecordType::A => RecordData::A(
            content.parse().map_err(|_| Invalid::new("invalid_ipv4", "an A record holds an IPv4 address"))?,
        ),
        RecordType::Aaaa => RecordData::Aaaa(
            content.parse().map_err(|_| Invalid::new("invalid_ipv6", "an AAAA record holds an IPv6 address"))?,
        ),
        RecordType::Cname => RecordData::Cname(Target::parse(content, zone, true, false)?),
        RecordType::Ns => RecordData::Ns(Target::parse(content, zone, false, false)?),
        RecordType::Mx => {
            let exchange = Target::parse(content, zone, false, true)?;
            let Some(preference) = priority else { return Ok(None) };
            RecordData::Mx { preference, exchange }
        }
        RecordType::Txt => {
            if content.len() > MAX_TXT_BYTES {
                return Err(Invalid::new("invalid_length", format!("TXT text is at most {MAX_TXT_BYTES} bytes")));
            }
            if content.chars().any(char::is_control) {
                return Err(Invalid::new("invalid_character", "TXT text has no control characters"));
            }
            RecordData::Txt(content.to_owned())
        }
        RecordType::Srv => {
            let mut tokens = content.split_ascii_whitespace();
            let weight = number(tokens.next(), "weight", "from 0 to 65535")?;
            let port = number(tokens.next(), "port", "from 0 to 65535")?;
            let target = tokens
                .next()
                .ok_or_else(|| Invalid::new("invalid_content", "SRV content is \"weight port target\""))?;
            if tokens.next().is_some() {
                return Err(Invalid::new(
                    "invalid_content",
                    "SRV content is \"weight port target\"; the priority is separate",
                ));
            }
            let target = Target::parse(target, zone, false, true)?;
            let Some(priority) = priority else { return Ok(None) };
            RecordData::Srv { priority, weight, port, target }
        }
        RecordType::Caa => parse_caa(content)?,
    };
    Ok(Some(data))
}

mod caa;
mod zone;

use caa::parse_caa;
pub use zone::{first_serial, next_serial, render_zone, ZoneSettings};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ZONE: &str = "example.com";
    /// type, name, content, priority, stored name, stored content
    type Valid<'a> = (&'a str, &'a str, &'a str, Option<i64>, &'a str, &'a str);
    /// type, name, content, priority, (pointer, code)
    type Refused<'a> = (&'a str, &'a str, &'a str, Option<i64>, (&'a str, &'a str));

    fn input<'a>(kind: &'a str, name: &'a str, content: &'a str, priority: Option<i64>) -> RecordInput<'a> {
        RecordInput { record_type: kind, name, content, ttl: None, priority }
    }

    fn parse(kind: &str, name: &str, content: &str, priority: Option<i64>) -> Result<DnsRecord, Vec<FieldInvalid>> {
        DnsRecord::parse(&input(kind, name, content, priority), ZONE)
    }

    fn refused(kind: &str, name: &str, content: &str, priority: Option<i64>) -> Vec<(&'static str, &'static str)> {
        match parse(kind, name, content, priority) {
            Ok(record) => panic!("{kind} {name} {content:?} was accepted as {record:?}"),
            Err(errors) => errors.into_iter().map(|(pointer, invalid)| (pointer, invalid.code)).collect(),
        }
    }

    #[test]
    fn valid_records_and_their_content() {
        let cases: &[Valid] = &[
            // type, name, content, priority, stored name, stored content
            ("A", "@", "192.0.2.1", None, "@", "192.0.2.1"),
            ("a", "WWW", "192.0.2.1", None, "www", "192.0.2.1"),
            ("A", "www.example.com.", "192.0.2.1", None, "www", "192.0.2.1"),
            ("A", "example.com.", "192.0.2.1", None, "@", "192.0.2.1"),
            ("A", "*", "192.0.2.1", None, "*", "192.0.2.1"),
            ("A", "*.dev", "192.0.2.1", None, "*.dev", "192.0.2.1"),
            ("AAAA", "v6", "2001:DB8:0:0:0:0:0:1", None, "v6", "2001:db8::1"),
            ("CNAME", "www", "example.net.", None, "www", "example.net."),
            ("CNAME", "www", "@", None, "www", "@"),
            (
                "CNAME",
                "sel._domainkey",
                "sel._domainkey.mail.example.net.",
                None,
                "sel._domainkey",
                "sel._domainkey.mail.example.net.",
            ),
            ("MX", "@", "Mail", Some(10), "@", "mail"),
            ("MX", "@", "mx.example.net.", Some(0), "@", "mx.example.net."),
            ("MX", "nomail", ".", Some(0), "nomail", "."), // RFC 7505 null MX
            ("TXT", "@", "v=spf1 -all", None, "@", "v=spf1 -all"),
            ("TXT", "_dmarc", "v=DMARC1; p=none", None, "_dmarc", "v=DMARC1; p=none"),
            ("TXT", "@", "", None, "@", ""),
            ("TXT", "@", "quote \" and backslash \\ and ünïcödé", None, "@", "quote \" and backslash \\ and ünïcödé"),
            ("SRV", "_sip._tcp", "5 5060 sip", Some(10), "_sip._tcp", "5 5060 sip"),
            (
                "SRV",
                "_xmpp._tcp.chat",
                "0 5222 xmpp.example.net.",
                Some(0),
                "_xmpp._tcp.chat",
                "0 5222 xmpp.example.net.",
            ),
            ("SRV", "_imap._tcp", "0 0 .", Some(0), "_imap._tcp", "0 0 ."), // RFC 2782: no service
            ("CAA", "@", "0 issue \"letsencrypt.org\"", None, "@", "0 issue \"letsencrypt.org\""),
            ("CAA", "@", "0 issue letsencrypt.org", None, "@", "0 issue \"letsencrypt.org\""),
            ("CAA", "@", "128 ISSUEWILD \";\"", None, "@", "128 issuewild \";\""),
            (
                "CAA",
                "@",
                "0 issue \"ca.example.net; account=230123\"",
                None,
                "@",
                "0 issue \"ca.example.net; account=230123\"",
            ),
            (
                "CAA",
                "@",
                "0 iodef \"mailto:security@example.com\"",
                None,
                "@",
                "0 iodef \"mailto:security@example.com\"",
            ),
            ("CAA", "@", "0 tbs \"Unknown \\\"tag\\\"\"", None, "@", "0 tbs \"Unknown \\\"tag\\\"\""),
            ("NS", "sub", "ns1.example.net.", None, "sub", "ns1.example.net."),
            ("NS", "sub", "ns1.sub", None, "sub", "ns1.sub"),
        ];
        for (kind, name, content, priority, stored_name, stored_content) in cases {
            let record =
                parse(kind, name, content, *priority).unwrap_or_else(|e| panic!("{kind} {name} {content}: {e:?}"));
            assert_eq!(record.name.as_str(), *stored_name, "{kind} {name} {content}");
            assert_eq!(record.data.content(), *stored_content, "{kind} {name} {content}");
            assert_eq!(record.data.priority().map(i64::from), *priority);
            assert_eq!(record.ttl, DEFAULT_TTL);
        }
    }

    #[test]
    fn invalid_records_name_their_field() {
        let cases: &[Refused] = &[
            ("PTR", "@", "x", None, ("/type", "invalid_type")),
            ("A", "", "192.0.2.1", None, ("/name", "invalid_name")),
            ("A", "a..b", "192.0.2.1", None, ("/name", "invalid_name")),
            ("A", ".www", "192.0.2.1", None, ("/name", "invalid_name")),
            ("A", "-www", "192.0.2.1", None, ("/name", "invalid_name")),
            ("A", "www-", "192.0.2.1", None, ("/name", "invalid_name")),
            ("A", "w w", "192.0.2.1", None, ("/name", "invalid_name")),
            ("A", "bücher", "192.0.2.1", None, ("/name", "invalid_name")),
            ("A", "a.*", "192.0.2.1", None, ("/name", "invalid_name")), // wildcard only first (RFC 4592)
            ("A", "*x", "192.0.2.1", None, ("/name", "invalid_name")),
            ("A", &"a".repeat(64), "192.0.2.1", None, ("/name", "invalid_name")), // RFC 1035 2.3.4
            ("A", "www.example.org.", "192.0.2.1", None, ("/name", "out_of_zone")),
            ("A", "@", "192.0.2", None, ("/content", "invalid_ipv4")),
            ("A", "@", "192.0.2.256", None, ("/content", "invalid_ipv4")),
            ("A", "@", "2001:db8::1", None, ("/content", "invalid_ipv4")),
            ("A", "@", "192.0.2.1", Some(10), ("/priority", "not_allowed")),
            ("AAAA", "@", "192.0.2.1", None, ("/content", "invalid_ipv6")),
            ("CNAME", "@", "example.net.", None, ("/type", "cname_at_apex")),
            ("CNAME", "www", "192.0.2.1", None, ("/content", "address_not_host_name")),
            ("CNAME", "www", ".", None, ("/content", "invalid_host_name")),
            ("MX", "@", "192.0.2.1", Some(10), ("/content", "address_not_host_name")),
            ("MX", "@", "192.0.2.1.", Some(10), ("/content", "address_not_host_name")),
            ("MX", "@", "2001:db8::1", Some(10), ("/content", "address_not_host_name")),
            ("MX", "@", "mail.123", Some(10), ("/content", "invalid_host_name")), // last label all digits
            ("MX", "@", "mail_x.example.net.", Some(10), ("/content", "invalid_host_name")), // RFC 1123: no _
            ("MX", "@", "mail", None, ("/priority", "required")),
            ("MX", "@", "mail", Some(65536), ("/priority", "out_of_range")),
            ("MX", "@", "mail", Some(-1), ("/priority", "out_of_range")),
            ("NS", "@", "ns1.example.net.", None, ("/name", "apex_nameservers")),
            ("NS", "*.x", "ns1.example.net.", None, ("/name", "invalid_name")),
            ("NS", "sub", "1.2.3.4", None, ("/content", "address_not_host_name")),
            ("TXT", "@", "bell \u{7}", None, ("/content", "invalid_character")),
            ("TXT", "@", &"x".repeat(MAX_TXT_BYTES + 1), None, ("/content", "invalid_length")),
            ("SRV", "_sip._tcp", "5 5060", Some(1), ("/content", "invalid_content")),
            ("SRV", "_sip._tcp", "5 5060 sip extra", Some(1), ("/content", "invalid_content")),
            ("SRV", "_sip._tcp", "5 65536 sip", Some(1), ("/content", "invalid_content")),
            ("SRV", "_sip._tcp", "5 5060 192.0.2.1", Some(1), ("/content", "address_not_host_name")),
            ("SRV", "sip._tcp", "5 5060 sip", Some(1), ("/name", "invalid_name")), // RFC 2782
            ("SRV", "_sip._tcp", "5 5060 sip", None, ("/priority", "required")),
            ("CAA", "@", "0 issue", None, ("/content", "invalid_content")),
            ("CAA", "@", "256 issue \"ca.example\"", None, ("/content", "invalid_content")),
            ("CAA", "@", "0 is-sue \"ca.example\"", None, ("/content", "invalid_content")), // RFC 8659 4.1
            ("CAA", "@", "0 abcdefghijklmnop \"x\"", None, ("/content", "invalid_content")), // tag > 15
            ("CAA", "@", "0 issue \"ca.example", None, ("/content", "invalid_content")),
            ("CAA", "@", "0 issue \"ca..example\"", None, ("/content", "invalid_content")),
            ("CAA", "@", "0 issue \"ca.example; =x\"", None, ("/content", "invalid_content")),
            ("CAA", "@", "0 iodef \"ftp://example.com/\"", None, ("/content", "invalid_content")),
            ("CAA", "@", "0 issue ca example", None, ("/content", "invalid_content")),
            ("CAA", "@", "0 issue \"ca.example\"", Some(1), ("/priority", "not_allowed")),
        ];
        for (kind, name, content, priority, expected) in cases {
            let errors = refused(kind, name, content, *priority);
            assert!(errors.contains(expected), "{kind} {name:?} {content:?}: {errors:?}, expected {expected:?}");
        }
    }

    #[test]
    fn ttl_bounds() {
        let with_ttl =
            |ttl| DnsRecord::parse(&RecordInput { ttl: Some(ttl), ..input("A", "@", "192.0.2.1", None) }, ZONE);
        assert_eq!(with_ttl(60).map(|r| r.ttl), Ok(60));
        assert_eq!(with_ttl(604_800).map(|r| r.ttl), Ok(604_800));
        for ttl in [59, 604_801, 0, -1, i64::MAX] {
            let errors = with_ttl(ttl).expect_err("out of range");
            assert_eq!(errors[0].0, "/ttl");
            assert_eq!(errors[0].1.code, "out_of_range");
        }
    }

    #[test]
    fn long_names_are_refused() {
        // 4 labels of 60 = 243 + the zone's 12 = 255 > 253.
        let name = ["a".repeat(60), "b".repeat(60), "c".repeat(60), "d".repeat(60)].join(".");
        assert_eq!(refused("A", &name, "192.0.2.1", None), vec![("/name", "invalid_name")]);
        let shorter = ["a".repeat(60), "b".repeat(60), "c".repeat(60), "d".repeat(58)].join(".");
        assert!(parse("A", &shorter, "192.0.2.1", None).is_ok());
    }

    #[test]
    fn a_cname_stands_alone_whichever_comes_second() {
        let a = parse("A", "www", "192.0.2.1", None).unwrap();
        let cname = parse("CNAME", "www", "example.net.", None).unwrap();
        let other_name = parse("A", "mail", "192.0.2.1", None).unwrap();
        assert_eq!(cname.check_beside(std::slice::from_ref(&a)).unwrap_err().0, "/type");
        assert_eq!(a.check_beside(std::slice::from_ref(&cname)).unwrap_err().1.code, "cname_conflict");
        assert_eq!(cname.check_beside(std::slice::from_ref(&cname)).unwrap_err().1.code, "cname_conflict");
        assert!(cname.check_beside(std::slice::from_ref(&other_name)).is_ok());
        assert_eq!(
            a.check_beside(std::slice::from_ref(&a)).unwrap_err(),
            ("/content", Invalid::new("duplicate_record", "the zone already has this record"))
        );
        let a2 = parse("A", "www", "192.0.2.2", None).unwrap();
        assert!(a2.check_beside(&[a, other_name]).is_ok());
    }

    #[test]
    fn txt_is_split_at_255_bytes_on_character_boundaries() {
        assert_eq!(txt_strings(""), vec![""]);
        let long = "x".repeat(600);
        assert_eq!(txt_strings(&long).iter().map(|s| s.len()).collect::<Vec<_>>(), vec![255, 255, 90]);
        let wide = format!("{}é", "x".repeat(254)); // é is two bytes: it may not be cut
        assert_eq!(txt_strings(&wide).iter().map(|s| s.len()).collect::<Vec<_>>(), vec![254, 2]);
        assert_eq!(quoted(b"a\"b\\c;d"), "\"a\\\"b\\\\c;d\"");
        assert_eq!(quoted(b"tab\there"), "\"tab\\009here\"");
    }

    fn settings() -> ZoneSettings {
        ZoneSettings {
            nameservers: vec!["ns1.provider.test".into(), "ns2.provider.test.".into()],
            hostmaster: "host.master@provider.test".into(),
            refresh: 3600,
            retry: 600,
            expire: 1_209_600,
            minimum: 300,
        }
    }

    #[test]
    fn zone_has_soa_and_ns_from_configuration_then_the_records() {
        let records = vec![
            parse("MX", "@", "mail", Some(10)).unwrap(),
            parse("A", "www", "192.0.2.1", None).unwrap(),
            parse("TXT", "@", &"y".repeat(300), None).unwrap(),
        ];
        let zone = render_zone(ZONE, 2026120101, &settings(), &records);
        let expected = format!(
            "$ORIGIN example.com.\n$TTL 3600\n\
             @ 3600 IN SOA ns1.provider.test. host\\.master.provider.test. 2026120101 3600 600 1209600 300\n\
             @ 3600 IN NS ns1.provider.test.\n@ 3600 IN NS ns2.provider.test.\n\
             @ 3600 IN MX 10 mail.example.com.\n@ 3600 IN TXT \"{}\" \"{}\"\nwww 3600 IN A 192.0.2.1\n",
            "y".repeat(255),
            "y".repeat(45)
        );
        assert_eq!(zone, expected);
    }

    #[test]
    fn serials_grow() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(first_serial(day), 2026120100);
        assert_eq!(next_serial(2026120100, day), 2026120101);
        assert_eq!(next_serial(2026113099, day), 2026120100);
        assert_eq!(next_serial(2026120199, day), 2026120200); // past 99 a day it still grows
        assert!(u32::try_from(next_serial(0, chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap())).is_err());
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z]([a-z0-9-]{0,10}[a-z0-9])?"
    }

    fn host() -> impl Strategy<Value = String> {
        (prop::collection::vec(label(), 1..4), any::<bool>()).prop_map(|(labels, absolute)| {
            let name = format!("{}.x", labels.join("."));
            if absolute {
                format!("{name}.")
            } else {
                name
            }
        })
    }

    fn valid_input() -> impl Strategy<Value = (String, String, String, Option<i64>)> {
        prop_oneof![
            (label(), any::<[u8; 4]>()).prop_map(|(n, ip)| ("A".into(), n, Ipv4Addr::from(ip).to_string(), None)),
            (label(), any::<[u16; 8]>()).prop_map(|(n, ip)| ("AAAA".into(), n, Ipv6Addr::from(ip).to_string(), None)),
            (label(), host()).prop_map(|(n, h)| ("CNAME".into(), n, h, None)),
            (label(), host()).prop_map(|(n, h)| ("NS".into(), n, h, None)),
            (host(), 0..=65535i64).prop_map(|(h, p)| ("MX".into(), "@".into(), h, Some(p))),
            ("[ -~ä€]{0,600}").prop_map(|t| ("TXT".into(), "@".into(), t, None)),
            (any::<u16>(), any::<u16>(), host(), any::<u16>()).prop_map(|(w, port, h, p)| (
                "SRV".into(),
                "_s._tcp".into(),
                format!("{w} {port} {h}"),
                Some(i64::from(p))
            )),
            (any::<u8>(), "[a-z0-9]{1,15}", "[ -~]{0,100}").prop_map(|(f, tag, value)| {
                let tag = if tag.starts_with('i') { format!("x{}", &tag[..tag.len().min(14)]) } else { tag };
                ("CAA".into(), "@".into(), format!("{f} {tag} {}", quoted(value.as_bytes())), None)
            }),
        ]
    }

    proptest! {
        #[test]
        fn no_input_panics(kind in "[A-Za-z]{0,6}", name in "\\PC{0,80}", content in "\\PC{0,300}",
                           ttl in proptest::option::of(any::<i64>()), priority in proptest::option::of(any::<i64>())) {
            let input = RecordInput { record_type: &kind, name: &name, content: &content, ttl, priority };
            if let Ok(record) = DnsRecord::parse(&input, ZONE) {
                let _ = render_zone(ZONE, 1, &settings(), &[record]);
            }
            for kind in RecordType::ALL {
                let input = RecordInput { record_type: kind.as_str(), ..input };
                if let Ok(record) = DnsRecord::parse(&input, ZONE) {
                    let _ = render_zone(ZONE, 1, &settings(), &[record]);
                }
            }
        }

        #[test]
        fn every_valid_record_renders_and_parses_back((kind, name, content, priority) in valid_input()) {
            let record = DnsRecord::parse(&RecordInput { record_type: &kind, name: &name, content: &content, ttl: None, priority }, ZONE)
                .map_err(|e| TestCaseError::fail(format!("{kind} {name} {content:?}: {e:?}")))?;
            // What the API answers as content is accepted again as the same record.
            let again = record.data.content();
            let priority = record.data.priority().map(i64::from);
            let reparsed = DnsRecord::parse(&RecordInput { record_type: kind.as_str(), name: record.name.as_str(), content: &again, ttl: Some(i64::from(record.ttl)), priority }, ZONE);
            prop_assert_eq!(reparsed.as_ref(), Ok(&record));
            let zone = render_zone(ZONE, 1, &settings(), std::slice::from_ref(&record));
            prop_assert!(zone.lines().count() == 6);
        }
    }
}
