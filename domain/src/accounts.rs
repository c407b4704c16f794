//! Accounts: who logs in, what kind of account it is, and the values it carries.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{check_length, check_trimmed_length, Invalid};

/// Where an account stands in the provider's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// The provider's own staff: may act on every non-operator account.
    Operator,
    /// Runs customers (and sub-resellers) of its own.
    Reseller,
    /// Uses services; has nobody below it.
    Customer,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Reseller => "reseller",
            Self::Customer => "customer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "operator" => Some(Self::Operator),
            "reseller" => Some(Self::Reseller),
            "customer" => Some(Self::Customer),
            _ => None,
        }
    }

    /// Whether accounts of this kind may have accounts below them.
    pub fn has_accounts_below(self) -> bool {
        !matches!(self, Self::Customer)
    }
}

/// The kinds of account that can be created through the API (operators come from the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewAccountKind {
    #[default]
    Customer,
    Reseller,
}

impl From<NewAccountKind> for AccountKind {
    fn from(kind: NewAccountKind) -> Self {
        match kind {
            NewAccountKind::Customer => Self::Customer,
            NewAccountKind::Reseller => Self::Reseller,
        }
    }
}

/// Whether an account may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Logs in and acts.
    Active,
    /// Logs in and reads; every change is refused.
    Suspended,
    /// Cannot log in; its tokens and API keys have ended.
    Blocked,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Blocked => "blocked",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "blocked" => Some(Self::Blocked),
            _ => None,
        }
    }
}

/// A login name: 3-32 of `a-z 0-9 . _ -`, starting with a letter or digit.
///
/// Logins are unique across the installation; uppercase input is folded to lowercase
/// so that `Alice` and `alice` are the same login.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Login(String);

impl Login {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let login = text.to_ascii_lowercase();
        let syntax =
            || Invalid::new("invalid_login", "a login is 3-32 of a-z 0-9 . _ - and starts with a letter or digit");
        if !(3..=32).contains(&login.len()) {
            return Err(syntax());
        }
        let mut chars = login.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok =
            login.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok {
            Ok(Self(login))
        } else {
            Err(syntax())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address as given, with the normalised form that uniqueness is decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    address: String,
    normalized: String,
}

impl EmailAddress {
    /// At most 254 characters (RFC 5321's path limit less the brackets).
    pub const MAX_LENGTH: usize = 254;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let address = text.trim();
        let invalid = || Invalid::new("invalid_email", "not a valid email address");
        if address.is_empty() || address.len() > Self::MAX_LENGTH {
            return Err(invalid());
        }
        let parsed = email_address::EmailAddress::parse_with_options(
            address,
            email_address::Options::default().without_display_text().without_domain_literal(),
        )
        .map_err(|_| invalid())?;
        // A mailbox on a bare host name ("root@localhost") is not an address a hosting
        // customer can be reached at.
        if !parsed.domain().contains('.') {
            return Err(invalid());
        }
        Ok(Self { address: address.to_owned(), normalized: address.to_lowercase() })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The case-insensitive form: two addresses with the same normalised form are one.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// A person's or company's display name: 1-200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        check_trimmed_length(text, 1, 200)?;
        let name = text.trim();
        if name.chars().any(char::is_control) {
            return Err(Invalid::new("invalid_characters", "must not contain control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Contact details of an account, used on invoices and (later) as domain contacts.
///
/// Every field is optional text with a limit; `country` is an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[schema(format = "no-controls", max_length = 200)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[schema(format = "no-controls", max_length = 200)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[schema(format = "no-controls", max_length = 200)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[schema(format = "no-controls", max_length = 20)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[schema(format = "no-controls", max_length = 200)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ISO 3166-1 alpha-2, uppercase (`NL`, `DE`).
    #[schema(pattern = "^[A-Z]{2}$", example = "NL")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// E.164 (`+31201234567`).
    #[schema(pattern = r"^\+[1-9][0-9]{6,14}$", example = "+31201234567")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[schema(format = "no-controls", max_length = 40)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
}

impl Profile {
    /// Each refused field with its name, so the API can point at it.
    pub fn problems(&self) -> Vec<(&'static str, Invalid)> {
        let mut problems = Vec::new();
        let free_text = [
            ("company", &self.company, 200),
            ("street", &self.street, 200),
            ("city", &self.city, 200),
            ("postal_code", &self.postal_code, 20),
            ("state", &self.state, 200),
            ("vat_id", &self.vat_id, 40),
        ];
        for (field, value, max) in free_text {
            if let Some(value) = value {
                if let Err(invalid) = check_length(value, 0, max) {
                    problems.push((field, invalid));
                } else if value.chars().any(char::is_control) {
                    problems.push((field, Invalid::new("invalid_characters", "must not contain control characters")));
                }
            }
        }
        if let Some(country) = &self.country {
            if !(country.len() == 2 && country.chars().all(|c| c.is_ascii_uppercase())) {
                problems.push(("country", Invalid::new("invalid_country", "an ISO 3166-1 alpha-2 code such as NL")));
            }
        }
        if let Some(phone) = &self.phone {
            let digits = phone.strip_prefix('+').unwrap_or("");
            let valid = (7..=15).contains(&digits.len())
                && digits.chars().all(|c| c.is_ascii_digit())
                && !digits.starts_with('0');
            if !valid {
                problems.push(("phone", Invalid::new("invalid_phone", "an E.164 number such as +31201234567")));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_follow_the_documented_syntax() {
        for valid in ["abc", "a.b", "0day", "shop-1_x", &"a".repeat(32)] {
            assert!(Login::parse(valid).is_ok(), "{valid} should be a login");
        }
        for invalid in ["ab", ".abc", "-abc", "_abc", "a b", "ab@c", "ümlaut", &"a".repeat(33), ""] {
            assert!(Login::parse(invalid).is_err(), "{invalid} should be refused");
        }
    }

    #[test]
    fn logins_fold_to_lowercase() {
        assert_eq!(Login::parse("Alice").map(|l| l.to_string()), Ok("alice".into()));
    }

    #[test]
    fn email_addresses_are_unique_case_insensitively() {
        let a = EmailAddress::parse("Alice@Example.COM");
        let b = EmailAddress::parse("alice@example.com");
        assert_eq!(a.map(|a| a.normalized().to_owned()), b.map(|b| b.normalized().to_owned()));
    }

    #[test]
    fn email_addresses_are_checked() {
        for invalid in ["", "alice", "alice@", "@example.com", "a@localhost", "A <a@b.test>", "a@[127.0.0.1]"] {
            assert!(EmailAddress::parse(invalid).is_err(), "{invalid} should be refused");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
        assert!(EmailAddress::parse("first.last+tag@sub.example.co.uk").is_ok());
    }

    #[test]
    fn display_names_have_limits() {
        assert!(DisplayName::parse("  ").is_err());
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
        assert_eq!(DisplayName::parse(" Jane ").map(|n| n.as_str().to_owned()), Ok("Jane".into()));
    }

    #[test]
    fn profile_fields_are_checked() {
        let profile = Profile {
            country: Some("nl".into()),
            phone: Some("0612345678".into()),
            city: Some("x".repeat(201)),
            ..Profile::default()
        };
        let fields: Vec<_> = profile.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["city", "country", "phone"]);
        let good = Profile { country: Some("NL".into()), phone: Some("+31201234567".into()), ..Profile::default() };
        assert!(good.problems().is_empty());
    }
}
