//! The second factor: RFC 6238 codes (HMAC-SHA1, 6 digits, 30-second steps, one step
//! of skew either way) and single-use recovery codes.
//!
//! A code is accepted once: checking answers the step it matched, and the caller stores
//! it as the last accepted step, accepting only greater steps afterwards. Recovery codes
//! carry 80 random bits, so a SHA-256 digest is enough to store them (no slow hash).

use totp_rs::{Algorithm, TOTP};

use crate::credentials::{self, random_bytes, RandomError};

pub const STEP_SECONDS: i64 = 30;
/// Steps either side of the current one that are still accepted (clock drift).
pub const SKEW_STEPS: i64 = 1;
pub const DIGITS: usize = 6;
pub const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Base32 characters of a recovery code, without its separators (80 bits).
const RECOVERY_CODE_CHARS: usize = 16;
const RECOVERY_GROUP: usize = 4;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "hostadmin";

/// A TOTP seed. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; SECRET_BYTES]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl TotpSecret {
    /// A new seed from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, RandomError> {
        random_bytes::<SECRET_BYTES>().map(Self)
    }

    /// A stored seed; `None` when it has not the expected length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; SECRET_BYTES]>::try_from(bytes).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self, account_name: &str) -> Option<TOTP> {
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            0,
            STEP_SECONDS as u64,
            self.0.to_vec(),
            Some(ISSUER.to_owned()),
            account_name.replace(':', "_"),
        )
        .ok()
    }

    /// The seed in base32, for typing it into an app by hand.
    pub fn base32(&self) -> String {
        base32(&self.0)
    }

    /// A seed as an app shows it: base32, any case, spaces allowed.
    pub fn from_base32(text: &str) -> Option<Self> {
        let mut bytes = Vec::with_capacity(SECRET_BYTES);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
            let value = BASE32.iter().position(|b| char::from(*b) == c.to_ascii_uppercase())?;
            buffer = (buffer << 5) | value as u32;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes.push(((buffer >> bits) & 0xff) as u8);
            }
        }
        Self::from_bytes(&bytes)
    }

    /// The `otpauth://totp/...` URI an authenticator app reads from a QR code.
    pub fn otpauth_uri(&self, account_name: &str) -> String {
        self.totp(account_name).map(|totp| totp.get_url()).unwrap_or_default()
    }

    /// The code of one step.
    pub fn code_at_step(&self, step: i64) -> String {
        let time = u64::try_from(step.max(0)).unwrap_or(0) * STEP_SECONDS as u64;
        self.totp("").map(|totp| totp.generate(time)).unwrap_or_default()
    }

    /// The step `code` belongs to, within the skew window around `unix_time` and
    /// strictly after `last_accepted`; `None` when it matches no such step.
    pub fn matching_step(&self, code: &str, unix_time: i64, last_accepted: Option<i64>) -> Option<i64> {
        let code = normalize_totp_code(code)?;
        let current = step_of(unix_time);
        (current - SKEW_STEPS..=current + SKEW_STEPS)
            .filter(|step| last_accepted.is_none_or(|last| *step > last))
            .find(|step| constant_time_eq(self.code_at_step(*step).as_bytes(), code.as_bytes()))
    }
}

/// The 30-second step a Unix time falls in.
pub fn step_of(unix_time: i64) -> i64 {
    unix_time.div_euclid(STEP_SECONDS)
}

/// A TOTP code as typed: six digits, spaces allowed between them.
pub fn normalize_totp_code(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// Whether a text has the shape of a TOTP code (for a 422 before any lookup).
pub fn is_totp_code_shaped(code: &str) -> bool {
    normalize_totp_code(code).is_some()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A recovery code as shown once to its owner: `ABCD-EFGH-IJKL-MNOP`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

impl RecoveryCode {
    pub fn generate() -> Result<Self, RandomError> {
        let bytes = random_bytes::<10>()?;
        Ok(Self(base32(&bytes)))
    }

    /// A code as typed: any case, with or without separators (`-`, spaces).
    pub fn parse(text: &str) -> Option<Self> {
        let code: String =
            text.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
        let valid = code.len() == RECOVERY_CODE_CHARS && code.bytes().all(|b| BASE32.contains(&b));
        valid.then_some(Self(code))
    }

    /// The form handed to the user, in groups of four.
    pub fn display(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars.chunks(RECOVERY_GROUP).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
    }

    /// What is stored: the digest of the normalised code.
    pub fn digest(&self) -> String {
        credentials::digest(&format!("recovery:{}", self.0))
    }
}

/// A fresh set of recovery codes.
pub fn new_recovery_codes() -> Result<Vec<RecoveryCode>, RandomError> {
    (0..RECOVERY_CODE_COUNT).map(|_| RecoveryCode::generate()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890"; the RFC lists 8 digits,
    /// whose last six are the 6-digit codes.
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn codes_match_the_rfc_6238_vectors() {
        let secret = rfc_secret();
        for (time, eight) in RFC_VECTORS {
            assert_eq!(secret.code_at_step(step_of(time)), eight[2..], "at {time}");
            assert_eq!(secret.matching_step(&eight[2..], time, None), Some(step_of(time)));
        }
    }

    #[test]
    fn one_step_of_skew_is_accepted_and_no_more() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let step = step_of(now);
        for offset in [-1, 0, 1] {
            let code = secret.code_at_step(step + offset);
            assert_eq!(secret.matching_step(&code, now, None), Some(step + offset), "offset {offset}");
        }
        for offset in [-2, 2] {
            let code = secret.code_at_step(step + offset);
            assert_eq!(secret.matching_step(&code, now, None), None, "offset {offset}");
        }
    }

    #[test]
    fn a_code_is_accepted_only_after_the_last_accepted_step() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let step = step_of(now);
        let code = secret.code_at_step(step);
        assert_eq!(secret.matching_step(&code, now, Some(step)), None, "the same code again");
        assert_eq!(secret.matching_step(&code, now, Some(step - 1)), Some(step));
        let previous = secret.code_at_step(step - 1);
        assert_eq!(secret.matching_step(&previous, now, Some(step)), None, "an older code after a newer one");
    }

    #[test]
    fn malformed_codes_never_match() {
        let secret = rfc_secret();
        let code = secret.code_at_step(step_of(59));
        assert_eq!(secret.matching_step(&format!("{} {}", &code[..3], &code[3..]), 59, None), Some(step_of(59)));
        for bad in ["", "12345", "1234567", "abcdef", "９４２８７０"] {
            assert_eq!(secret.matching_step(bad, 59, None), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_random_and_uris_carry_them_in_base32() {
        let a = TotpSecret::generate().unwrap();
        assert_ne!(a, TotpSecret::generate().unwrap());
        assert_eq!(a.as_bytes().len(), 20);
        assert_eq!(a.base32().len(), 32);
        let uri = a.otpauth_uri("alice");
        assert!(uri.starts_with("otpauth://totp/hostadmin:alice?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", a.base32())), "{uri}");
        assert!(uri.contains("issuer=hostadmin"), "{uri}");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI", "RFC 4648 test vector, unpadded");
        assert_eq!(TotpSecret::from_base32(&a.base32().to_lowercase()), Some(a.clone()));
        assert_eq!(TotpSecret::from_base32("MZXW6YTBOI"), None, "too short for a seed");
    }

    #[test]
    fn recovery_codes_are_grouped_and_parse_in_any_form() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), 10);
        let shown = codes[0].display();
        assert_eq!(shown.len(), 19);
        assert_eq!(shown.split('-').count(), 4);
        assert_eq!(RecoveryCode::parse(&shown), Some(codes[0].clone()));
        assert_eq!(RecoveryCode::parse(&shown.to_lowercase().replace('-', " ")), Some(codes[0].clone()));
        assert_eq!(RecoveryCode::parse(&shown).unwrap().digest(), codes[0].digest());
        assert_ne!(codes[0].digest(), codes[1].digest());
        for bad in ["", "ABCD-EFGH-IJKL", "ABCD-EFGH-IJKL-MNO1", "ABCD-EFGH-IJKL-MNOPQ"] {
            assert_eq!(RecoveryCode::parse(bad), None, "{bad:?}");
        }
    }
}
