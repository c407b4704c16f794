//! Mail hosted for a service: the addresses of mailboxes and forwards, a mailbox's size,
//! a forward's destinations, and the password hash form Dovecot verifies.
//!
//! Syntax comes from RFC 5322 (through [`EmailAddress`]) with RFC 5321's lengths; an
//! address hosted here is stricter than one merely written to, because its local part
//! becomes a lookup key in Postfix and a directory name in Dovecot.

use std::collections::HashSet;

use crate::accounts::EmailAddress;

use crate::validation::{check_trimmed_length, Invalid};

/// An address hosted on one of a service's domains: a mailbox or a forward's source.
///
/// The canonical form is all lowercase with the domain in punycode: Postfix and Dovecot
/// look addresses up case-insensitively, so `Info@` and `info@` would be one mailbox,
/// and the installation-wide uniqueness compares this form. The local part is a
/// dot-atom (RFC 5322 3.2.3) of `a-z 0-9 . _ -`, 1-64 octets (RFC 5321 4.5.3.1.1): no
/// quoted strings, no `/` (it names a directory on the mail server) and no `+`
/// (Postfix's usual recipient delimiter would make `a+b` shadow `a`'s subaddresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedAddress {
    address: String,
    at: usize,
}

fn invalid_email(detail: impl Into<String>) -> Invalid {
    Invalid::new("invalid_email", detail)
}

/// Splits a syntactically valid address at its last `@` (a quoted local part may hold
/// another one).
fn split(address: &EmailAddress) -> Result<(&str, &str), Invalid> {
    address.as_str().rsplit_once('@').ok_or_else(|| invalid_email("not a valid email address"))
}

fn check_local_part(local: &str) -> Result<(), Invalid> {
    let refused = |detail: &str| Invalid::new("invalid_local_part", detail.to_owned());
    if local.is_empty() || local.len() > HostedAddress::MAX_LOCAL_LENGTH {
        return Err(refused("the part before @ must be 1 to 64 characters long"));
    }
    if !local.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err(refused("the part before @ may hold only letters, digits, '.', '_' and '-'"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(refused("the part before @ may not start or end with '.' nor hold '..'"));
    }
    Ok(())
}

impl HostedAddress {
    /// RFC 5321 4.5.3.1.1.
    pub const MAX_LOCAL_LENGTH: usize = 64;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let syntax = EmailAddress::parse(text)?;
        let (local, domain) = split(&syntax)?;
        check_local_part(local)?;
        let domain = crate::domains::DomainName::parse(domain)
            .map_err(|refused| invalid_email(format!("the domain: {}", refused.detail)))?;
        let address = format!("{}@{}", local.to_ascii_lowercase(), domain.as_str());
        // Punycode can lengthen a name that was short enough in Unicode.
        if address.len() > EmailAddress::MAX_LENGTH {
            return Err(invalid_email(format!("at most {} characters", EmailAddress::MAX_LENGTH)));
        }
        Ok(Self { at: local.len(), address })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The domain: lowercase punycode without the final dot, as domains are stored.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }
}

/// One address a forward delivers to: any valid address (RFC 5322 syntax, RFC 5321
/// lengths). The local part is kept as written (RFC 5321 2.4: only the receiving host
/// may treat it case-insensitively); the domain is lowercased and put in punycode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination(String);

impl Destination {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let syntax = EmailAddress::parse(text)?;
        let (local, domain) = split(&syntax)?;
        let domain = crate::domains::HostName::parse(domain)
            .map_err(|refused| invalid_email(format!("the domain: {}", refused.detail)))?;
        let address = format!("{local}@{}", domain.as_str());
        if local.len() > HostedAddress::MAX_LOCAL_LENGTH || address.len() > EmailAddress::MAX_LENGTH {
            return Err(invalid_email("too long for an email address (RFC 5321)"));
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form two destinations are compared in: practically every mail host treats
    /// the local part case-insensitively, so `A@x` and `a@x` are one destination.
    fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A refused item of a list: its index, or `None` for the list as a whole.
pub type ItemRefusal = (Option<usize>, Invalid);

/// A forward's destinations: 1-50 valid addresses, each once, none the source itself
/// (a forward to itself would loop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardDestinations(Vec<Destination>);

impl ForwardDestinations {
    pub const MAX: usize = 50;

    /// Every refusal at once, each with the index it concerns. `source` is `None` when
    /// the source itself was refused: the other rules are still checked.
    pub fn parse(items: &[String], source: Option<&HostedAddress>) -> Result<Self, Vec<ItemRefusal>> {
        if items.is_empty() || items.len() > Self::MAX {
            return Err(vec![(None, Invalid::new("invalid_length", format!("give 1 to {} addresses", Self::MAX)))]);
        }
        let mut refusals = Vec::new();
        let mut seen = HashSet::new();
        let mut destinations = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match Destination::parse(item) {
                Err(invalid) => refusals.push((Some(index), invalid)),
                Ok(destination) if source.is_some_and(|source| destination.key() == source.as_str()) => refusals
                    .push((Some(index), Invalid::new("forward_loop", "a forward cannot deliver to its own source"))),
                Ok(destination) if !seen.insert(destination.key()) => {
                    refusals.push((Some(index), Invalid::new("duplicate", "each destination once")))
                }
                Ok(destination) => destinations.push(destination),
            }
        }
        if refusals.is_empty() {
            Ok(Self(destinations))
        } else {
            Err(refusals)
        }
    }

    pub fn as_slice(&self) -> &[Destination] {
        &self.0
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|d| d.as_str().to_owned()).collect()
    }
}

/// A mailbox's size in MB: at least 1, at most the plan's `mailbox_default_mb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MailboxQuota(u64);

impl MailboxQuota {
    /// The size of a mailbox when the plan sets no `mailbox_default_mb` (unlimited) and
    /// the request none either: a mailbox needs some size to count against the disk.
    pub const FALLBACK_MB: u64 = 1024;
    /// One TiB: beyond any mailbox, and far inside every integer type involved.
    pub const MAX_MB: u64 = 1_048_576;

    /// The requested size, or the plan's default when none was asked for. `plan_default`
    /// is the plan's `mailbox_default_mb` (`None`: unlimited; `Some(0)`: no mail space).
    pub fn parse(requested: Option<u64>, plan_default: Option<u64>) -> Result<Self, Invalid> {
        let mb = match requested {
            Some(mb) => mb,
            None => plan_default.unwrap_or(Self::FALLBACK_MB).min(Self::MAX_MB),
        };
        if let Some(most) = plan_default.filter(|most| mb > *most) {
            return Err(Invalid::new(
                "exceeds_plan",
                if most == 0 {
                    "the plan includes no mailbox space".to_owned()
                } else {
                    format!("the plan allows at most {most} MB per mailbox")
                },
            ));
        }
        if !(1..=Self::MAX_MB).contains(&mb) {
            return Err(Invalid::new("out_of_range", format!("must be 1 to {} MB", Self::MAX_MB)));
        }
        Ok(Self(mb))
    }

    /// A size read back from storage.
    pub fn from_stored(mb: i64) -> Option<Self> {
        u64::try_from(mb).ok().filter(|mb| (1..=Self::MAX_MB).contains(mb)).map(Self)
    }

    pub fn mb(self) -> u64 {
        self.0
    }

    /// The same, for storage (always fits: at most [`Self::MAX_MB`]).
    pub fn stored(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

/// Whether mailboxes summing to `others_mb` plus one of `quota` fit the service's
/// `disk_mb` (`None`: unlimited). Mailbox sizes are promises of disk space, so their sum
/// may not exceed the disk the service was sold.
pub fn fits_disk(others_mb: i64, quota: MailboxQuota, disk_mb: Option<u64>) -> bool {
    let Some(disk) = disk_mb else { return true };
    let others = u64::try_from(others_mb).unwrap_or(0);
    others.checked_add(quota.mb()).is_some_and(|total| total <= disk)
}

/// A mailbox's free-text description: 0-10,000 characters; line breaks and tabs but no
/// other control characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub const MAX_LENGTH: usize = 10_000;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        check_trimmed_length(text, 0, Self::MAX_LENGTH)?;
        let text = text.trim();
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(Invalid::new("invalid_characters", "must not contain control characters"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mailbox password hash as Dovecot's passdb reads it: the scheme in braces, then the
/// argon2id PHC string (`{ARGON2ID}$argon2id$v=19$m=...`; Dovecot 2.3 and later, built
/// with libsodium, verify it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DovecotHash(String);

impl DovecotHash {
    pub const SCHEME: &'static str = "{ARGON2ID}";

    /// Wraps an argon2id PHC string; `None` for any other algorithm, which Dovecot would
    /// read under the wrong scheme.
    pub fn from_phc(phc: &str) -> Option<Self> {
        phc.starts_with("$argon2id$").then(|| Self(format!("{}{phc}", Self::SCHEME)))
    }

    /// A hash read back from storage.
    pub fn from_stored(stored: &str) -> Option<Self> {
        Self::from_phc(stored.strip_prefix(Self::SCHEME)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PHC string alone, as argon2 libraries verify it.
    pub fn phc(&self) -> &str {
        &self.0[Self::SCHEME.len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hosted_addresses_are_lowercase_dot_atoms_on_a_domain() {
        for (input, canonical) in [
            ("info@example.com", "info@example.com"),
            ("Info@Example.COM", "info@example.com"),
            ("first.last@sub.example.test", "first.last@sub.example.test"),
            ("a_b-c@example.org", "a_b-c@example.org"),
            ("  padded@example.com ", "padded@example.com"),
            ("post@bücher.example", "post@xn--bcher-kva.example"),
            (&format!("{}@example.com", "x".repeat(64)), &format!("{}@example.com", "x".repeat(64))),
        ] {
            let address = HostedAddress::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(address.as_str(), canonical, "{input}");
        }
        let address = HostedAddress::parse("Sales@Shop.Example").unwrap();
        assert_eq!((address.local_part(), address.domain()), ("sales", "shop.example"));
    }

    #[test]
    fn hosted_addresses_refuse_what_a_mail_server_cannot_host() {
        for (input, code) in [
            ("", "invalid_email"),
            ("info", "invalid_email"),
            ("info@", "invalid_email"),
            ("@example.com", "invalid_email"),
            ("info@localhost", "invalid_email"),
            ("info@[192.0.2.1]", "invalid_email"),
            ("Name <info@example.com>", "invalid_email"),
            ("a b@example.com", "invalid_email"),
            ("\"a b\"@example.com", "invalid_local_part"),
            ("a+tag@example.com", "invalid_local_part"),
            ("a/b@example.com", "invalid_local_part"),
            (".a@example.com", "invalid_email"),
            ("a.@example.com", "invalid_email"),
            ("a..b@example.com", "invalid_email"),
            ("jürgen@example.com", "invalid_local_part"),
            (&format!("{}@example.com", "x".repeat(65)), "invalid_email"),
            ("info@-bad.example", "invalid_email"),
            ("info@exa_mple.com", "invalid_email"),
        ] {
            let refused = HostedAddress::parse(input).err().map(|e| e.code);
            assert_eq!(refused, Some(code), "{input:?}");
        }
    }

    #[test]
    fn destinations_keep_the_local_part_and_normalise_the_domain() {
        let d = Destination::parse("John.Doe+news@Example.COM").unwrap();
        assert_eq!(d.as_str(), "John.Doe+news@example.com");
        assert_eq!(Destination::parse("x@bücher.example").unwrap().as_str(), "x@xn--bcher-kva.example");
        assert_eq!(Destination::parse("\"a b\"@example.com").unwrap().as_str(), "\"a b\"@example.com");
        for bad in ["", "nobody", "x@localhost", "x@", "x@[::1]", "x@exa mple.com", "<x@example.com>"] {
            assert!(Destination::parse(bad).is_err(), "{bad:?}");
        }
        let long_local = format!("{}@example.com", "x".repeat(65));
        assert!(Destination::parse(&long_local).is_err(), "RFC 5321: at most 64 octets before @");
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn forward_destinations_are_one_to_fifty_distinct_addresses_other_than_the_source() {
        let source = HostedAddress::parse("sales@shop.example").unwrap();
        let ok = ForwardDestinations::parse(&strings(&["a@one.example", "B@two.example"]), Some(&source)).unwrap();
        assert_eq!(ok.to_strings(), vec!["a@one.example", "B@two.example"]);
        let fifty: Vec<String> = (0..50).map(|i| format!("user{i}@example.com")).collect();
        assert!(ForwardDestinations::parse(&fifty, Some(&source)).is_ok());
        assert!(ForwardDestinations::parse(&strings(&["sales@shop.example"]), None).is_ok(), "no source, no loop");

        let refusals = |items: Vec<String>| {
            ForwardDestinations::parse(&items, Some(&source))
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|(index, invalid)| (index, invalid.code))
                .collect::<Vec<_>>()
        };
        assert_eq!(refusals(vec![]), vec![(None, "invalid_length")]);
        let fifty_one: Vec<String> = (0..51).map(|i| format!("user{i}@example.com")).collect();
        assert_eq!(refusals(fifty_one), vec![(None, "invalid_length")]);
        assert_eq!(
            refusals(strings(&["a@x.example", "A@X.example", "nope", "Sales@Shop.example"])),
            vec![(Some(1), "duplicate"), (Some(2), "invalid_email"), (Some(3), "forward_loop")]
        );
    }

    #[test]
    fn mailbox_quotas_default_to_the_plan_and_stay_within_it() {
        let quota = |requested, plan| MailboxQuota::parse(requested, plan).map(MailboxQuota::mb).map_err(|e| e.code);
        assert_eq!(quota(None, Some(500)), Ok(500));
        assert_eq!(quota(Some(200), Some(500)), Ok(200));
        assert_eq!(quota(Some(500), Some(500)), Ok(500));
        assert_eq!(quota(Some(501), Some(500)), Err("exceeds_plan"));
        assert_eq!(quota(None, None), Ok(MailboxQuota::FALLBACK_MB));
        assert_eq!(quota(Some(4096), None), Ok(4096));
        assert_eq!(quota(Some(0), Some(500)), Err("out_of_range"));
        assert_eq!(quota(Some(0), None), Err("out_of_range"));
        assert_eq!(quota(None, Some(0)), Err("out_of_range"), "a plan without mail space");
        assert_eq!(quota(Some(1), Some(0)), Err("exceeds_plan"));
        assert_eq!(quota(Some(MailboxQuota::MAX_MB + 1), None), Err("out_of_range"));
        assert_eq!(quota(None, Some(u64::MAX)), Ok(MailboxQuota::MAX_MB), "a huge plan default is capped");
        assert_eq!(MailboxQuota::from_stored(0), None);
        assert_eq!(MailboxQuota::from_stored(300).map(MailboxQuota::mb), Some(300));
    }

    #[test]
    fn mailbox_sizes_sum_within_the_disk() {
        let q = |mb| MailboxQuota::parse(Some(mb), None).unwrap();
        assert!(fits_disk(0, q(1024), Some(1024)));
        assert!(fits_disk(512, q(512), Some(1024)));
        assert!(!fits_disk(513, q(512), Some(1024)));
        assert!(fits_disk(i64::MAX, q(1), None), "no disk limit");
        assert!(!fits_disk(0, q(2), Some(1)));
    }

    #[test]
    fn descriptions_are_bounded_free_text() {
        assert_eq!(Description::parse("  Sales team\nsecond line ").unwrap().as_str(), "Sales team\nsecond line");
        assert_eq!(Description::parse("").unwrap().as_str(), "");
        assert!(Description::parse(&"x".repeat(10_000)).is_ok());
        assert_eq!(Description::parse(&"x".repeat(10_001)).err().map(|e| e.code), Some("invalid_length"));
        assert_eq!(Description::parse("bell\u{7}").err().map(|e| e.code), Some("invalid_characters"));
    }

    #[test]
    fn dovecot_hashes_carry_the_argon2id_scheme() {
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        let hash = DovecotHash::from_phc(phc).unwrap();
        assert_eq!(hash.as_str(), format!("{{ARGON2ID}}{phc}"));
        assert_eq!(hash.phc(), phc);
        assert_eq!(DovecotHash::from_stored(hash.as_str()), Some(hash));
        assert_eq!(DovecotHash::from_phc("$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"), None);
        assert_eq!(DovecotHash::from_stored(phc), None, "without the scheme Dovecot would guess");
    }

    #[test]
    fn a_real_password_hash_verifies_in_dovecot_form() {
        let password = crate::passwords::NewPassword::parse("a long enough passphrase").unwrap();
        let hash = DovecotHash::from_phc(&crate::passwords::hash(&password).unwrap()).unwrap();
        assert!(hash.as_str().starts_with("{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(crate::passwords::verify("a long enough passphrase", hash.phc()));
    }

    proptest! {
        #[test]
        fn no_input_panics_and_canonical_forms_are_stable(text in "\\PC{0,80}", local in "[A-Za-z0-9._+-]{0,70}") {
            if let Ok(address) = HostedAddress::parse(&text) {
                prop_assert_eq!(HostedAddress::parse(address.as_str()), Ok(address.clone()));
                prop_assert_eq!(address.as_str().to_lowercase(), address.as_str());
            }
            let _ = Destination::parse(&text);
            let _ = Description::parse(&text);
            let _ = DovecotHash::from_stored(&text);
            let built = format!("{local}@example.com");
            if let Ok(address) = HostedAddress::parse(&built) {
                prop_assert_eq!(address.local_part(), local.to_ascii_lowercase());
            }
            let source = HostedAddress::parse("a@example.com").map_err(|e| TestCaseError::fail(e.detail))?;
            let _ = ForwardDestinations::parse(&[text.clone(), built], Some(&source));
        }

        #[test]
        fn quotas_never_panic(requested in proptest::option::of(any::<u64>()), plan in proptest::option::of(any::<u64>())) {
            if let Ok(quota) = MailboxQuota::parse(requested, plan) {
                prop_assert!(quota.mb() >= 1 && quota.mb() <= MailboxQuota::MAX_MB);
                prop_assert!(plan.is_none_or(|most| quota.mb() <= most));
                prop_assert_eq!(MailboxQuota::from_stored(quota.stored()), Some(quota));
            }
        }
    }
}
