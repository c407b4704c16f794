//! Host and domain names as regular expressions, for the OpenAPI document: the ASCII
//! forms the validators accept (crate::domains, crate::dns and the API's certificate
//! names), built from one label rule. Like the text patterns (crate::text) they use only
//! what ECMA-262, Rust's `regex` and Python's `re` read alike, and the tests check them
//! against the validators.
//!
//! Where a validator applies UTS #46 (domain and host names), Unicode names are accepted
//! too and mapped to punycode; the patterns state the ASCII form, and leave out labels
//! starting `xn-` (an `xn--` label must also be valid punycode, which no pattern says).
//! Label lengths are bounded (1-63) except for a last label that starts with a digit;
//! whole names are bounded by `maxLength`.

/// The character classes of one label rule.
struct Classes {
    /// A label's first or last character.
    edge: &'static str,
    /// Any character of a label.
    inner: &'static str,
    /// A character that is not a digit (so a last label is not all digits).
    non_digit: &'static str,
    /// A first character that is not a digit.
    letter: &'static str,
}

const LDH: Classes = Classes { edge: "[A-Za-z0-9]", inner: "[A-Za-z0-9-]", non_digit: "[A-Za-z-]", letter: "[A-Za-z]" };
const LDH_UNDERSCORE: Classes =
    Classes { edge: "[A-Za-z0-9_]", inner: "[A-Za-z0-9_-]", non_digit: "[A-Za-z_-]", letter: "[A-Za-z_]" };

/// A label: 1-63 characters, not starting or ending with a hyphen.
fn label(c: &Classes) -> String {
    format!("{edge}(?:{inner}{{0,61}}{edge})?", edge = c.edge, inner = c.inner)
}

/// An LDH label that does not start with `xn-` (in any case).
fn label_without_punycode() -> String {
    let (a, h) = (LDH.edge, LDH.inner);
    format!(
        "(?:[A-WYZa-wyz0-9](?:{h}{{0,61}}{a})?|[xX](?:[A-MO-Za-mo-z0-9]|[A-MO-Za-mo-z0-9-]{h}{{0,60}}{a})?|[xX][nN](?:{a}(?:{h}{{0,59}}{a})?)?)"
    )
}

/// A last label (not all digits) starting with a digit, at most 63 characters: digits,
/// then a letter to end it, or digits, a non-digit and more. (The second form keeps
/// each part to 30 characters, which leaves out some long labels the validators take.)
fn digit_first_last_label(c: &Classes) -> String {
    format!(
        "[0-9]{{1,62}}{letter}|[0-9]{{1,30}}{non_digit}{inner}{{0,30}}{edge}",
        inner = c.inner,
        non_digit = c.non_digit,
        edge = c.edge,
        letter = c.letter
    )
}

/// A last label: a label that is not all digits.
fn last_label(c: &Classes) -> String {
    format!(
        "(?:{letter}(?:{inner}{{0,61}}{edge})?|{digit_first})",
        letter = c.letter,
        inner = c.inner,
        edge = c.edge,
        digit_first = digit_first_last_label(c)
    )
}

/// [`last_label`] of LDH labels without `xn-`.
fn last_label_without_punycode() -> String {
    let (a, h) = (LDH.edge, LDH.inner);
    format!(
        "(?:[A-WYZa-wyz](?:{h}{{0,61}}{a})?|[xX](?:[A-MO-Za-mo-z0-9]|[A-MO-Za-mo-z0-9-]{h}{{0,60}}{a})?|[xX][nN](?:{a}(?:{h}{{0,59}}{a})?)?|{digit_first})",
        digit_first = digit_first_last_label(&LDH)
    )
}

/// A domain name (`POST /v1/domains`) in ASCII: two or more labels, the last not all
/// digits, an optional final dot.
pub fn domain_name() -> String {
    format!("^(?:{}\\.)+{}\\.?$", label_without_punycode(), last_label_without_punycode())
}

/// A host name (child hosts) in ASCII: one or more labels, the last not all digits, an
/// optional final dot.
pub fn host_name() -> String {
    format!("^(?:{}\\.)*{}\\.?$", label_without_punycode(), last_label_without_punycode())
}

/// A fully qualified host name (name servers): [`host_name`] of two or more labels.
pub fn qualified_host_name() -> String {
    format!("^(?:{}\\.)+{}\\.?$", label_without_punycode(), last_label_without_punycode())
}

/// A name a certificate covers: a host name of two or more labels (no IDNA: punycode
/// as given), optionally `*.` in front, an optional final dot.
pub fn certificate_name() -> String {
    format!("^(?:\\*\\.)?(?:{}\\.)+{}\\.?$", label(&LDH), last_label(&LDH))
}

/// A DNS record's name relative to its zone: `@`, or labels with underscores (a `*`
/// as the whole first label). Absolute names (with the zone and a final dot) are
/// accepted too; they depend on the zone, which no pattern knows.
pub fn record_name() -> String {
    let l = label(&LDH_UNDERSCORE);
    format!("^(?:@|(?:\\*|{l})(?:\\.{l})*)$")
}

/// A record's target host name (MX, NS, SRV): `@` (the apex), or labels, the last not
/// all digits, with a final dot when absolute; with `root`, also `.` (no service);
/// with `underscore` (CNAME), labels may hold underscores.
pub fn record_target(underscore: bool, root: bool) -> String {
    let c = if underscore { &LDH_UNDERSCORE } else { &LDH };
    let root = if root { "|\\." } else { "" };
    format!("^(?:@{root}|(?:{}\\.)*{}\\.?)$", label(c), last_label(c))
}

/// The host of an http(s) URL as the patterns below state it: an ASCII host name.
fn url_host() -> String {
    format!("(?:{}\\.)*{}\\.?", label_without_punycode(), last_label_without_punycode())
}

/// A port, 0-65535.
const PORT: &str = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})";
/// What a path or query may hold here: unreserved and sub-delimiter characters (not
/// `'`, which a query percent-encodes), `:`, `@`, `%`, `/`, `?`.
const URL_TAIL: &str = "[A-Za-z0-9._~!$&()*+,;=:@%/?-]";

/// An absolute `http` or `https` URL with a host name, an optional port, path and query,
/// and (with `fragment`) an optional fragment; no user name or password.
///
/// Query and fragment come after a path (`https://host/?q`): the URL parser adds the
/// `/` otherwise, and a redirect's length is counted as stored.
pub fn http_url(fragment: bool) -> String {
    let fragment = if fragment { format!("(?:#{URL_TAIL}*)?") } else { String::new() };
    format!("^[Hh][Tt][Tt][Pp][Ss]?://{}(?::{PORT})?(?:/{URL_TAIL}*{fragment})?$", url_host())
}

/// An address hosted on a service (a mailbox, a forward's source): a dot-atom of
/// `A-Z a-z 0-9 . _ -`, `@`, a domain name (without a final dot). The part before `@` is
/// at most 64 characters; the pattern keeps it to four atoms of at most 16.
pub fn hosted_address() -> String {
    format!(
        "^[A-Za-z0-9_-]{{1,16}}(?:\\.[A-Za-z0-9_-]{{1,15}}){{0,3}}@(?:{}\\.)+{}$",
        label_without_punycode(),
        last_label_without_punycode()
    )
}

/// Where a forward delivers: an RFC 5322 dot-atom (four atoms of at most 16, within
/// the 64 the part before `@` may have), `@`, a host name of two or more labels
/// (without a final dot).
pub fn destination_address() -> String {
    let atext = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
    format!(
        "^{atext}{{1,16}}(?:\\.{atext}{{1,15}}){{0,3}}@(?:{}\\.)+{}$",
        label_without_punycode(),
        last_label_without_punycode()
    )
}

/// Six digits, white space anywhere (what people paste from an authenticator app).
pub fn totp_code() -> String {
    let white = r"[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*";
    format!("^{white}{}$", format!("[0-9]{white}").repeat(6))
}

/// A webhook's event filter: `*`, `area.*` or `area.verb` (lowercase letters, digits and
/// `_`, starting with a letter, 1-60 characters each).
pub fn event_filter() -> String {
    let name = "[a-z][a-z0-9_]{0,59}";
    format!("^(?:\\*|{name}\\.(?:\\*|{name}))$")
}

/// An FTP user's home directory relative to the service's root: no control characters,
/// no backslash, no leading `/`, no `..` segment; empty is the root itself.
pub fn relative_directory() -> String {
    let c = r"\x00-\x1f\x7f-\x9f\\/";
    let any = format!("[^{c}]");
    let not_dot = format!("[^{c}.]");
    // A segment other than `..` (empty and `.` are allowed).
    let segment = format!("(?:\\.|{not_dot}{any}*|\\.{not_dot}{any}*|\\.\\.{any}+)?");
    let first = format!("(?:\\.|{not_dot}{any}*|\\.{not_dot}{any}*|\\.\\.{any}+)");
    format!("^(?:{first}(?:/{segment})*)?$")
}

/// An FTP login name: a letter, then letters and digits with single `.`, `_` or `-`
/// between them, ending with a letter or digit (the length, 3-32, is the schema's).
pub fn ftp_username() -> String {
    "^[a-z](?:[._-]?[a-z0-9])+$".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsRecord, RecordInput};
    use crate::domains::{DomainName, HostName};
    use proptest::prelude::*;
    use regex::Regex;

    fn compiled(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap_or_else(|error| panic!("{pattern}: {error}"))
    }

    /// Names from the characters where the rules have their edges, in labels of
    /// lengths around 63.
    fn names() -> impl Strategy<Value = String> {
        let label = prop_oneof![
            proptest::string::string_regex("[a-zA-Z0-9_*@-]{0,5}").unwrap_or_else(|_| unreachable!()),
            proptest::string::string_regex("(xn|XN|xN)-{0,2}[a-z0-9-]{0,3}").unwrap_or_else(|_| unreachable!()),
            proptest::string::string_regex("[0-9]{1,4}").unwrap_or_else(|_| unreachable!()),
            proptest::string::string_regex("[a-z]{62,64}").unwrap_or_else(|_| unreachable!()),
        ];
        (proptest::collection::vec(label, 1..5), any::<bool>()).prop_map(|(labels, dot)| {
            let name = labels.join(".");
            if dot {
                format!("{name}.")
            } else {
                name
            }
        })
    }

    const ZONE: &str = "example.com";

    fn record(kind: &str, name: &str, content: &str, priority: Option<i64>) -> Result<DnsRecord, Vec<&'static str>> {
        DnsRecord::parse(&RecordInput { record_type: kind, name, content, ttl: None, priority }, ZONE)
            .map_err(|errors| errors.into_iter().map(|(pointer, _)| pointer).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn domain_and_host_names(name in names()) {
            let long = name.trim_end_matches('.').len() > 253;
            let domain = DomainName::parse(&name);
            let refused_as_suffix = domain.as_ref().err().is_some_and(|e| e.code == "public_suffix");
            let punycode = name.to_ascii_lowercase().split('.').any(|l| l.starts_with("xn-"));
            if !long && !refused_as_suffix && !punycode {
                prop_assert_eq!(compiled(&domain_name()).is_match(&name), domain.is_ok(), "domain {:?}", name);
                prop_assert_eq!(compiled(&host_name()).is_match(&name), HostName::parse(&name).is_ok(), "host {:?}", name);
            }
        }

        #[test]
        fn record_names_and_targets(name in names()) {
            let name = name.trim_end_matches('.');
            prop_assume!(name.len() + ZONE.len() < 253);
            let accepted = record("A", name, "192.0.2.1", None).is_ok();
            prop_assert_eq!(compiled(&record_name()).is_match(name), accepted, "name {:?}", name);
        }

        #[test]
        fn record_targets(target in names()) {
            prop_assume!(target.trim_end_matches('.').len() + ZONE.len() < 252);
            let cases = [("NS", false, false, None), ("MX", false, true, Some(10)), ("CNAME", true, false, None)];
            for (kind, underscore, root, priority) in cases {
                let accepted = record(kind, "x", &target, priority).is_ok();
                prop_assert_eq!(
                    compiled(&record_target(underscore, root)).is_match(&target),
                    accepted,
                    "{} target {:?}", kind, target
                );
            }
        }
    }

    fn url_chars() -> impl Strategy<Value = String> {
        proptest::string::string_regex("([hH][tT][tT][pP][sS]?|ftp)://([a-z0-9.:@#?/%'*-]|xn--|%2[aA]){0,12}")
            .unwrap_or_else(|_| unreachable!())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn urls(url in url_chars()) {
            let webhook = crate::webhooks::WebhookUrl::parse(&url).is_ok();
            let redirect = crate::domains::RedirectTarget::parse(&url).is_ok();
            // The patterns may refuse what the parser takes (IPv4 hosts, other
            // characters), never the other way round.
            if compiled(&http_url(false)).is_match(&url) {
                prop_assert!(webhook, "webhook {:?}", url);
            }
            if compiled(&http_url(true)).is_match(&url) {
                prop_assert!(redirect, "redirect {:?}", url);
            }
            // What is stored is shown under the same schema: an accepted host name
            // (not IDNA, which the pattern leaves out) must match it.
            if let Ok(target) = crate::domains::RedirectTarget::parse(&url) {
                let stored = url::Url::parse(target.as_str()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                if let Some(url::Host::Domain(host)) = stored.host() {
                    if !host.split('.').any(|l| l.starts_with("xn--")) {
                        prop_assert!(compiled(&format!("^{}$", url_host())).is_match(host), "stored host {:?} of {:?}", host, url);
                    }
                }
            }
        }

        #[test]
        fn addresses(local in "[a-zA-Z0-9._+-]{0,6}", domain in names()) {
            let address = format!("{local}@{domain}");
            let punycode = domain.to_ascii_lowercase().split('.').any(|l| l.starts_with("xn-"));
            let suffix = crate::domains::DomainName::parse(domain.trim_end_matches('.'))
                .err()
                .is_some_and(|e| e.code == "public_suffix");
            if punycode || suffix || address.len() > 200 {
                return Ok(());
            }
            prop_assert_eq!(
                compiled(&hosted_address()).is_match(&address),
                crate::mailboxes::HostedAddress::parse(&address).is_ok(),
                "hosted {:?}", address
            );
            if compiled(&destination_address()).is_match(&address) {
                prop_assert!(crate::mailboxes::Destination::parse(&address).is_ok(), "destination {:?}", address);
            }
        }

        #[test]
        fn totp_codes(code in "[0-9 \t\u{a0}a]{0,9}") {
            prop_assert_eq!(
                compiled(&totp_code()).is_match(&code),
                crate::two_factor::normalize_totp_code(&code).is_some(),
                "{:?}", code
            );
        }

        #[test]
        fn event_filters(filter in "[a-z0-9_.*A-]{0,8}") {
            prop_assert_eq!(
                compiled(&event_filter()).is_match(&filter),
                crate::webhooks::EventFilter::parse(&filter).is_ok(),
                "{:?}", filter
            );
        }

        #[test]
        fn ftp_usernames(name in "[az09._A-]{0,8}") {
            let parsed = crate::ftp::FtpUsername::parse(&name);
            let reserved = parsed.as_ref().is_err_and(|refused| refused.code == "reserved_username");
            let lengths = crate::ftp::USERNAME_MIN..=crate::ftp::USERNAME_MAX;
            let schema = compiled(&ftp_username()).is_match(&name) && lengths.contains(&name.len());
            prop_assert_eq!(schema, parsed.is_ok() || reserved, "{:?}", name);
        }

        #[test]
        fn directories(directory in "[a./\\\u{1}\u{85}é-]{0,8}") {
            prop_assert_eq!(
                compiled(&relative_directory()).is_match(&directory),
                crate::ftp::HomeDirectory::parse(&directory).is_ok(),
                "{:?}", directory
            );
        }
    }

    #[test]
    fn examples() {
        for good in ["example.com", "shop.test.", "EXAMPLE.COM", "a-b.c1", "x.xn.io", "1a.com", "a.1a"] {
            assert!(compiled(&domain_name()).is_match(good), "{good}");
        }
        for bad in ["com", "-a.com", "a-.com", "a..com", "a.123", "xn--abc.com", "a_b.com", "192.0.2.1"] {
            assert!(!compiled(&domain_name()).is_match(bad), "{bad}");
        }
        assert!(compiled(&certificate_name()).is_match("*.example.com"));
        assert!(compiled(&certificate_name()).is_match("xn--bcher-kva.example"));
        assert!(!compiled(&certificate_name()).is_match("example"));
        assert!(compiled(&record_name()).is_match("_sip._tcp"));
        assert!(compiled(&record_name()).is_match("*.dev"));
        assert!(!compiled(&record_name()).is_match("a.*"));
    }
}
