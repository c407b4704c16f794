//! Passwords: the policy a new password must meet, and how one is stored.
//!
//! The policy follows OWASP ASVS 5.0 and NIST SP 800-63B: a length floor, a generous
//! ceiling, no composition rules, no truncation, and a refusal of the passwords that
//! attackers try first.

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::credentials::random_bytes;
use crate::validation::Invalid;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

/// The 30,000 most common passwords (from the zxcvbn project, MIT licence), lowercase.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// How many common passwords the policy refuses.
pub fn common_password_count() -> usize {
    common_passwords().len()
}

/// A password that meets the policy; only such a password is ever hashed for storage.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let length = text.chars().count();
        if length < MIN_LENGTH {
            return Err(Invalid::new(
                "password_too_short",
                format!("must be at least {MIN_LENGTH} characters long (12 or more recommended)"),
            ));
        }
        if length > MAX_LENGTH {
            return Err(Invalid::new("password_too_long", format!("must be at most {MAX_LENGTH} characters long")));
        }
        if common_passwords().contains(text.to_lowercase().as_str()) {
            return Err(Invalid::new(
                "password_too_common",
                "is among the most commonly used passwords; choose another",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// argon2id with OWASP's parameters: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    // The constants are valid by construction; fall back to the crate's defaults
    // (identical values) rather than panic if that ever changed.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The PHC string to store for a password (salted, argon2id). Slow by design: call it
/// off the async workers and under the hashing limit.
pub fn hash(password: &NewPassword) -> Result<String, HashError> {
    let salt_bytes = random_bytes::<16>().map_err(|error| HashError(error.to_string()))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|error| HashError(error.to_string()))?;
    argon2()
        .hash_password(password.as_str().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| HashError(error.to_string()))
}

/// Whether `candidate` is the password stored as `phc`. A malformed stored hash never
/// matches.
pub fn verify(candidate: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2().verify_password(candidate.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the login names no account, so that a wrong login
/// costs the same time as a wrong password and does not reveal which logins exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        NewPassword::parse("no account has this password: it only spends time")
            .ok()
            .and_then(|p| hash(&p).ok())
            .unwrap_or_default()
    })
}

/// A password a hosting service checks (mailboxes, FTP users, databases): the account
/// policy, and no control characters. IMAP, POP3 and FTP send it on one command line
/// (`LOGIN`, `PASS`), so CR, LF or NUL could never be typed; database client libraries
/// end strings at NUL.
pub fn service_password(text: &str) -> Result<NewPassword, Invalid> {
    let password = NewPassword::parse(text)?;
    if text.chars().any(char::is_control) {
        return Err(Invalid::new("invalid_characters", "must not contain control characters (line breaks, NUL, tabs)"));
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_passwords() {
        assert!(service_password("correct horse battery staple").is_ok());
        assert_eq!(service_password("short").err().map(|e| e.code), Some("password_too_short"));
        assert_eq!(service_password("password").err().map(|e| e.code), Some("password_too_common"));
        assert_eq!(service_password("long enough\r\nsecret").err().map(|e| e.code), Some("invalid_characters"));
        assert_eq!(service_password("long enough\0secret").err().map(|e| e.code), Some("invalid_characters"));
    }

    #[test]
    fn ships_at_least_ten_thousand_common_passwords() {
        assert!(common_password_count() >= 10_000, "{}", common_password_count());
    }

    #[test]
    fn length_rules() {
        assert_eq!(NewPassword::parse("seven77").err().map(|e| e.code), Some("password_too_short"));
        assert!(NewPassword::parse("eight8ch").is_ok());
        assert!(NewPassword::parse(&"x9".repeat(64)).is_ok(), "128 characters are allowed");
        assert_eq!(NewPassword::parse(&"x".repeat(129)).err().map(|e| e.code), Some("password_too_long"));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(NewPassword::parse("ééééééé").is_err(), "7 characters, 14 bytes");
        assert!(NewPassword::parse(&"é".repeat(128)).is_ok(), "128 characters, 256 bytes");
    }

    #[test]
    fn no_composition_rules() {
        assert!(NewPassword::parse("correct horse battery staple").is_ok());
        assert!(NewPassword::parse("zzqqxxvvbbnnmm").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["password", "12345678", "PASSWORD1", "iloveyou", "Sunshine"] {
            let result = NewPassword::parse(common);
            if common.chars().count() >= MIN_LENGTH {
                assert_eq!(result.err().map(|e| e.code), Some("password_too_common"), "{common}");
            }
        }
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_minimums_and_verify_without_truncation() {
        let long = "a1".repeat(64);
        let phc = hash(&NewPassword::parse(&long).unwrap()).unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(params.m_cost() >= 19_456 && params.t_cost() >= 2 && params.p_cost() >= 1);
        assert!(verify(&long, &phc));
        assert!(!verify(&long[..127], &phc), "no truncation: a prefix does not match");
        assert!(!verify(&long, "not a phc string"));
    }
}
