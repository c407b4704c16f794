//! Domain names and what hangs off a domain: name servers, redirects, child hosts.
//!
//! A name arrives in any form people type (Unicode or punycode, any case, with or
//! without the final dot) and is kept in one canonical form: lowercase punycode without
//! the final dot (RFC 5890 A-labels, RFC 1035 lengths). Two spellings of one name must
//! compare equal, or the unique index could not keep one owner per name.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use crate::validation::Invalid;

/// RFC 1035 2.3.4: a label is at most 63 octets.
pub const MAX_LABEL: usize = 63;
/// RFC 1035 2.3.4 allows 255 octets on the wire; in text form without the final dot
/// that leaves 253 characters.
pub const MAX_NAME: usize = 253;
/// Longer input is refused before IDNA processing, whose cost grows with the input.
const MAX_INPUT: usize = 1024;

/// A domain name somebody can hold: at least two labels and not a public suffix alone
/// (`co.uk` and `uk` are refused; `example.com`, `shop.test` are accepted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DomainName(String);

/// A host name (name servers, redirect and record targets): the label rules of a
/// domain name without the public-suffix rule; the last label is not all digits, so an
/// IPv4 address is never mistaken for a host name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostName(String);

fn invalid(detail: impl Into<String>) -> Invalid {
    Invalid::new("invalid_domain_name", detail)
}

/// UTS #46 processing to lowercase punycode, then the RFC 1035/5890 checks on the
/// result. Shared by [`DomainName`] and [`HostName`].
fn canonical(input: &str) -> Result<String, Invalid> {
    if input.len() > MAX_INPUT {
        return Err(invalid(format!("must be at most {MAX_NAME} characters long")));
    }
    // One final dot marks an absolute name; it is not part of the canonical form.
    let trimmed = input.strip_suffix('.').unwrap_or(input);
    if trimmed.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if trimmed.contains('_') {
        return Err(Invalid::new("invalid_characters", "`_` is not allowed in a host or domain name"));
    }
    // STD3 rules refuse everything but letters, digits and hyphens (and mapped Unicode);
    // hyphen placement and lengths are checked below with clearer messages.
    let ascii = Uts46::new()
        .to_ascii(trimmed.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow, DnsLength::Ignore)
        .map_err(|_| Invalid::new("invalid_characters", "contains characters not allowed in a domain name"))?;
    let ascii = ascii.into_owned();
    if ascii.len() > MAX_NAME {
        return Err(invalid(format!("must be at most {MAX_NAME} characters long")));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(invalid("must not contain empty labels"));
        }
        if label.len() > MAX_LABEL {
            return Err(invalid(format!("labels must be at most {MAX_LABEL} characters long")));
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(Invalid::new("invalid_characters", "labels may contain only letters, digits and hyphens"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("labels must not start or end with a hyphen"));
        }
    }
    let last = ascii.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("the last label must not be all digits"));
    }
    Ok(ascii)
}

fn unicode_of(ascii: &str) -> String {
    // The ASCII form already passed UTS #46, so decoding cannot fail; should it, the
    // ASCII form is still a faithful name to show.
    let (unicode, result) = idna::domain_to_unicode(ascii);
    match result {
        Ok(()) => unicode,
        Err(_) => ascii.to_owned(),
    }
}

impl DomainName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let ascii = canonical(input)?;
        if !ascii.contains('.') {
            return Err(invalid("must have at least two labels (a top-level domain alone is a public suffix)"));
        }
        // The public suffix list (ICANN and private sections): a suffix alone is
        // nobody's domain. Unknown TLDs (RFC 2606 `.test`, `.example`, new TLDs) fall
        // under the implicit `*` rule, so only their single label is a suffix.
        if let Some(suffix) = psl::suffix(ascii.as_bytes()) {
            if suffix.as_bytes() == ascii.as_bytes() {
                return Err(Invalid::new("public_suffix", "is a public suffix; add a name below it"));
            }
        }
        Ok(Self(ascii))
    }

    /// Lowercase punycode without the final dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as people read it (U-labels decoded).
    pub fn unicode(&self) -> String {
        unicode_of(&self.0)
    }

    /// Whether `host` is this name or below it (`www.example.com` below `example.com`).
    pub fn contains(&self, host: &HostName) -> bool {
        host.0 == self.0 || host.0.strip_suffix(&self.0).is_some_and(|rest| rest.ends_with('.'))
    }

    /// Whether `host` is strictly below this name.
    pub fn is_parent_of(&self, host: &HostName) -> bool {
        host.0 != self.0 && self.contains(host)
    }

    /// The names this one is below, nearest first, that could themselves be held
    /// (`a.b.example.com` → `b.example.com`, `example.com`; public suffixes excluded).
    pub fn ancestors(&self) -> Vec<DomainName> {
        let mut out = Vec::new();
        let mut rest = self.0.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if let Ok(name) = DomainName::parse(parent) {
                out.push(name);
            }
            rest = parent;
        }
        out
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl HostName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        canonical(input).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn unicode(&self) -> String {
        unicode_of(&self.0)
    }

    pub fn label_count(&self) -> usize {
        self.0.split('.').count()
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DomainName> for HostName {
    fn from(name: DomainName) -> Self {
        Self(name.0)
    }
}

/// Where an item of a list was refused: its index and why.
pub type ItemInvalid = (usize, Invalid);

/// A domain's own name servers: 2-13 distinct fully qualified host names (registries
/// ask for at least two; 13 is what fits a referral, RFC 1035 / RFC 2181).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nameservers(Vec<HostName>);

impl Nameservers {
    pub const MIN: usize = 2;
    pub const MAX: usize = 13;

    /// Errors carry the index of the offending item, or `None` for the list as a whole.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, (Option<usize>, Invalid)> {
        if items.len() < Self::MIN || items.len() > Self::MAX {
            return Err((
                None,
                Invalid::new("invalid_length", format!("must list {} to {} name servers", Self::MIN, Self::MAX)),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut hosts = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let host = HostName::parse(item.as_ref()).map_err(|e| (Some(index), e))?;
            if host.label_count() < 2 {
                return Err((Some(index), invalid("a name server needs a fully qualified host name")));
            }
            if !seen.insert(host.clone()) {
                return Err((Some(index), Invalid::new("duplicate", "name servers must be distinct")));
            }
            hosts.push(host);
        }
        Ok(Self(hosts))
    }

    /// The stored form: space-separated, in the order given.
    pub fn to_stored(&self) -> String {
        self.0.iter().map(HostName::as_str).collect::<Vec<_>>().join(" ")
    }

    pub fn from_stored(stored: &str) -> Vec<String> {
        stored.split_whitespace().map(str::to_owned).collect()
    }

    pub fn hosts(&self) -> &[HostName] {
        &self.0
    }
}

/// How a redirect answers: permanent, temporary, or a frame keeping the address bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectType {
    Permanent,
    Temporary,
    Masked,
}

impl RedirectType {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        match text {
            "301" => Ok(Self::Permanent),
            "302" => Ok(Self::Temporary),
            "masked" => Ok(Self::Masked),
            _ => Err(Invalid::new("invalid_choice", "must be \"301\", \"302\" or \"masked\"")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permanent => "301",
            Self::Temporary => "302",
            Self::Masked => "masked",
        }
    }
}

/// A redirect target: an absolute http or https URL (WHATWG URL parsing) with a host,
/// no user name or password in it (they would be shown to every visitor), at most
/// 2000 characters (what browsers reliably accept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget(String);

impl RedirectTarget {
    pub const MAX: usize = 2000;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        if input.is_empty() || input.chars().count() > Self::MAX {
            return Err(Invalid::new("invalid_length", format!("must be 1 to {} characters long", Self::MAX)));
        }
        let url = url::Url::parse(input).map_err(|_| Invalid::new("invalid_url", "must be an absolute URL"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Invalid::new("invalid_url", "must be an http or https URL"));
        }
        if !names_a_host(&url) {
            return Err(Invalid::new("invalid_url", "must name a host: a host name or an IP address"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new("invalid_url", "must not contain credentials"));
        }
        let text = url.to_string();
        if text.chars().count() > Self::MAX {
            return Err(Invalid::new("invalid_length", format!("must be 1 to {} characters long", Self::MAX)));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a URL names a host a browser or a delivery can reach: an IP address, or a
/// name that keeps the label rules. The URL parser lets through hosts no DNS name
/// holds (`*`, `%2A` decoded, `a..b`), which would then be stored and shown.
pub fn names_a_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        Some(url::Host::Domain(name)) => canonical(name).is_ok(),
        None => false,
    }
}

/// The addresses of a child host: 1-13 distinct IPv4/IPv6 addresses (std's parsers:
/// dotted-quad without leading zeros, RFC 4291 text for IPv6), kept in canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddresses(Vec<IpAddr>);

impl HostAddresses {
    pub const MAX: usize = 13;

    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, (Option<usize>, Invalid)> {
        if items.is_empty() || items.len() > Self::MAX {
            return Err((None, Invalid::new("invalid_length", format!("must list 1 to {} addresses", Self::MAX))));
        }
        let mut seen = BTreeSet::new();
        let mut ips = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let ip: IpAddr = item
                .as_ref()
                .parse()
                .map_err(|_| (Some(index), Invalid::new("invalid_ip", "must be an IPv4 or IPv6 address")))?;
            if !seen.insert(ip) {
                return Err((Some(index), Invalid::new("duplicate", "addresses must be distinct")));
            }
            ips.push(ip);
        }
        Ok(Self(ips))
    }

    pub fn to_stored(&self) -> String {
        self.0.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(" ")
    }

    pub fn from_stored(stored: &str) -> Vec<String> {
        stored.split_whitespace().map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(n: usize) -> String {
        "a".repeat(n)
    }

    /// A name of exactly `total` characters made of 63-character labels and a `.com`.
    fn name_of_length(total: usize) -> String {
        let mut name = String::from("com");
        while name.len() < total {
            let room = total - name.len() - 1;
            let take = room.min(MAX_LABEL);
            name = format!("{}.{name}", label(take.max(1)));
        }
        name
    }

    #[test]
    fn domain_names_valid() {
        let cases: &[(&str, &str)] = &[
            ("example.com", "example.com"),
            ("EXAMPLE.COM", "example.com"),
            ("Example.Com.", "example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("XN--BCHER-KVA.EXAMPLE.", "xn--bcher-kva.example"),
            ("shop.test", "shop.test"),
            ("www.example.org", "www.example.org"),
            ("example.co.uk", "example.co.uk"),
            ("a-b.example", "a-b.example"),
            ("1.example", "1.example"),
            ("123.example.com", "123.example.com"),
        ];
        for (input, expected) in cases {
            let name = DomainName::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(name.as_str(), *expected, "{input}");
        }
        assert_eq!(DomainName::parse("xn--bcher-kva.example").unwrap().unicode(), "bücher.example");
    }

    #[test]
    fn domain_names_invalid() {
        let long_label = format!("{}.example", label(64));
        let cases: &[(&str, &str)] = &[
            ("", "invalid_domain_name"),
            (".", "invalid_domain_name"),
            ("com", "invalid_domain_name"),
            ("uk", "invalid_domain_name"),
            ("co.uk", "public_suffix"),
            ("CO.UK.", "public_suffix"),
            ("com.", "invalid_domain_name"),
            ("-example.com", "invalid_domain_name"),
            ("example-.com", "invalid_domain_name"),
            ("exa_mple.com", "invalid_characters"),
            ("_dmarc.example.com", "invalid_characters"),
            ("example..com", "invalid_domain_name"),
            (".example.com", "invalid_domain_name"),
            ("example.com..", "invalid_domain_name"),
            ("example.123", "invalid_domain_name"),
            ("192.168.1.1", "invalid_domain_name"),
            ("exa mple.com", "invalid_characters"),
            ("example.com/", "invalid_characters"),
            ("ex@mple.com", "invalid_characters"),
            (long_label.as_str(), "invalid_domain_name"),
        ];
        for (input, code) in cases {
            match DomainName::parse(input) {
                Ok(name) => panic!("{input:?} accepted as {name}"),
                Err(e) => assert_eq!(e.code, *code, "{input:?}: {}", e.detail),
            }
        }
    }

    #[test]
    fn label_and_name_lengths_at_the_limits() {
        let ok_label = format!("{}.example", label(63));
        assert!(DomainName::parse(&ok_label).is_ok());
        assert!(DomainName::parse(&format!("{}.example", label(64))).is_err());
        let n253 = name_of_length(253);
        assert_eq!(n253.len(), 253);
        assert!(DomainName::parse(&n253).is_ok());
        assert!(DomainName::parse(&format!("{n253}.")).is_ok(), "the final dot does not count");
        let n254 = name_of_length(254);
        assert_eq!(n254.len(), 254);
        assert!(DomainName::parse(&n254).is_err());
        assert!(DomainName::parse(&"a".repeat(5000)).is_err());
    }

    #[test]
    fn host_names() {
        for (input, expected) in
            [("NS1.Example.COM.", "ns1.example.com"), ("localhost", "localhost"), ("co.uk", "co.uk")]
        {
            assert_eq!(HostName::parse(input).unwrap().as_str(), expected);
        }
        for input in ["", "1.2.3.4", "a..b", "-a.b", "a_b.c", "host.123"] {
            assert!(HostName::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn containment() {
        let domain = DomainName::parse("example.com").unwrap();
        assert!(domain.is_parent_of(&HostName::parse("ns1.example.com").unwrap()));
        assert!(!domain.is_parent_of(&HostName::parse("example.com").unwrap()));
        assert!(!domain.is_parent_of(&HostName::parse("badexample.com").unwrap()));
        let deep = DomainName::parse("a.b.example.co.uk").unwrap();
        let ancestors: Vec<String> = deep.ancestors().into_iter().map(DomainName::into_string).collect();
        assert_eq!(ancestors, vec!["b.example.co.uk", "example.co.uk"]);
    }

    #[test]
    fn nameservers() {
        let ok = Nameservers::parse(&["ns1.example.net", "NS2.example.net."]).unwrap();
        assert_eq!(ok.to_stored(), "ns1.example.net ns2.example.net");
        assert_eq!(Nameservers::parse(&["ns1.example.net"]).unwrap_err().0, None);
        assert_eq!(Nameservers::parse(&["ns1.example.net", "ns1.example.net."]).unwrap_err().0, Some(1));
        assert_eq!(Nameservers::parse(&["ns1.example.net", "ns2"]).unwrap_err().0, Some(1));
        assert_eq!(Nameservers::parse(&["1.2.3.4", "ns2.example.net"]).unwrap_err().0, Some(0));
        let fourteen: Vec<String> = (0..14).map(|i| format!("ns{i}.example.net")).collect();
        assert!(Nameservers::parse(&fourteen).is_err());
        assert!(Nameservers::parse(&fourteen[..13]).is_ok());
    }

    #[test]
    fn redirect_targets() {
        for ok in [
            "https://example.com",
            "http://example.com/path?q=1#x",
            "https://bücher.example/",
            "http://192.0.2.1/",
            "https://example.com./",
        ] {
            assert!(RedirectTarget::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "/relative",
            "ftp://example.com",
            "javascript:alert(1)",
            "https://user:pw@example.com",
            "https://user@example.com",
            "file:///etc/passwd",
            "http://x4.6290177x0.*/",
            "http://x4.example.%2A/",
            "https://a..example/",
            "https://-a.example/",
        ] {
            assert!(RedirectTarget::parse(bad).is_err(), "{bad}");
        }
        assert!(RedirectTarget::parse(&format!("https://example.com/{}", "a".repeat(2000))).is_err());
        for (text, ok) in [("301", true), ("302", true), ("masked", true), ("303", false), ("MASKED", false)] {
            assert_eq!(RedirectType::parse(text).is_ok(), ok, "{text}");
        }
    }

    #[test]
    fn host_addresses() {
        let ok = HostAddresses::parse(&["192.0.2.1", "2001:DB8::1"]).unwrap();
        assert_eq!(ok.to_stored(), "192.0.2.1 2001:db8::1");
        assert_eq!(HostAddresses::parse::<&str>(&[]).unwrap_err().0, None);
        assert_eq!(HostAddresses::parse(&["192.0.2.1", "192.0.2.256"]).unwrap_err().0, Some(1));
        assert_eq!(HostAddresses::parse(&["2001:db8::1", "2001:db8:0::1"]).unwrap_err().0, Some(1));
        assert!(HostAddresses::parse(&["ns1.example.com"]).is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsing_never_panics(input in "\\PC{0,80}") {
            let _ = DomainName::parse(&input);
            let _ = HostName::parse(&input);
        }

        #[test]
        fn canonical_form_is_idempotent(input in "[a-zA-Z0-9äöüß.-]{1,70}\\.?") {
            if let Ok(name) = DomainName::parse(&input) {
                let again = DomainName::parse(name.as_str()).expect("the canonical form parses");
                prop_assert_eq!(&again, &name);
                let via_unicode = DomainName::parse(&name.unicode()).expect("the Unicode form parses");
                prop_assert_eq!(via_unicode, name);
            }
        }

        #[test]
        fn accepted_names_keep_the_rules(input in "[a-z0-9.-]{1,300}") {
            if let Ok(name) = DomainName::parse(&input) {
                prop_assert!(name.as_str().len() <= MAX_NAME);
                prop_assert!(name.as_str().split('.').all(|l| !l.is_empty() && l.len() <= MAX_LABEL
                    && !l.starts_with('-') && !l.ends_with('-')));
            }
        }
    }
}
