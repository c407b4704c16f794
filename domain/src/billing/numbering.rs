//! Invoice numbers: the seller's prefix and its gapless sequence, `INV-000001`.
//!
//! Keeping the sequence gapless under concurrency is the store's job (a counter row
//! per seller, incremented in the issuing transaction); this module only writes the
//! number for a sequence value.

use std::fmt;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::validation::Invalid;

/// At least this many digits; more once the sequence outgrows them (`INV-1000000`).
const MIN_DIGITS: usize = 6;

const MAX_PREFIX_CHARS: usize = 20;

/// A seller's invoice prefix: 1 to 20 of `A-Z a-z 0-9 - _ /`.
///
/// The set keeps a number safe everywhere it travels without escaping: in a file name
/// (the slash is replaced there, never needed elsewhere), a URL query, a bank transfer's
/// reference field (most banks accept only these) and a UBL `cbc:ID`. A prefix may end
/// in a digit (`2026/`, `A1-`), so the number is read as prefix + sequence only by the
/// store, never parsed back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InvoicePrefix(String);

impl InvoicePrefix {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/');
        if (1..=MAX_PREFIX_CHARS).contains(&text.len()) && text.chars().all(allowed) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Invalid::new("invalid_invoice_prefix", "1 to 20 of the characters A-Z a-z 0-9 - _ /"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for InvoicePrefix {
    /// API.md's default.
    fn default() -> Self {
        Self("INV-".to_owned())
    }
}

impl TryFrom<String> for InvoicePrefix {
    type Error = Invalid;

    fn try_from(text: String) -> Result<Self, Invalid> {
        Self::parse(&text)
    }
}

impl From<InvoicePrefix> for String {
    fn from(prefix: InvoicePrefix) -> Self {
        prefix.0
    }
}

/// An issued invoice's or credit note's number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InvoiceNumber(String);

impl InvoiceNumber {
    /// The number of the `sequence`-th document of a seller: the prefix and the sequence
    /// value with at least six digits. Sequences start at 1.
    pub fn new(prefix: &InvoicePrefix, sequence: NonZeroU64) -> Self {
        Self(format!("{}{:0width$}", prefix.as_str(), sequence.get(), width = MIN_DIGITS))
    }

    /// A number as it was stored: a prefix's characters, at most 40 of them, ending in
    /// at least six digits.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/');
        let trailing_digits = text.bytes().rev().take_while(u8::is_ascii_digit).count();
        if text.len() <= MAX_PREFIX_CHARS * 2 && trailing_digits >= MIN_DIGITS && text.chars().all(allowed) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Invalid::new("invalid_invoice_number", "an invoice number such as INV-000001"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for InvoiceNumber {
    type Error = Invalid;

    fn try_from(text: String) -> Result<Self, Invalid> {
        Self::parse(&text)
    }
}

impl From<InvoiceNumber> for String {
    fn from(number: InvoiceNumber) -> Self {
        number.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(prefix: &str, sequence: u64) -> String {
        InvoiceNumber::new(&InvoicePrefix::parse(prefix).unwrap(), NonZeroU64::new(sequence).unwrap()).to_string()
    }

    #[test]
    fn numbers_are_the_prefix_and_six_digits_at_least() {
        let table = [
            ("INV-", 1, "INV-000001"),
            ("INV-", 2, "INV-000002"),
            ("INV-", 999_999, "INV-999999"),
            ("INV-", 1_000_000, "INV-1000000"),
            ("R2026/", 42, "R2026/000042"),
            ("a_b", 7, "a_b000007"),
            ("INV-", u64::MAX, "INV-18446744073709551615"),
        ];
        for (prefix, sequence, expected) in table {
            assert_eq!(number(prefix, sequence), expected);
        }
    }

    #[test]
    fn the_default_prefix_is_inv_dash() {
        assert_eq!(InvoicePrefix::default().as_str(), "INV-");
    }

    #[test]
    fn prefixes_use_a_safe_set_of_characters() {
        for valid in ["INV-", "A", "2026/", "shop_inv-", &"X".repeat(20)] {
            assert!(InvoicePrefix::parse(valid).is_ok(), "{valid}");
        }
        for invalid in ["", " ", "INV ", "INV.", "Ä-", "<b>", "a\"b", "a&b", "%2F", "\u{0}", &"X".repeat(21), "INV\n"]
        {
            assert_eq!(InvoicePrefix::parse(invalid).map_err(|e| e.code), Err("invalid_invoice_prefix"), "{invalid:?}");
        }
    }

    #[test]
    fn stored_numbers_parse_back() {
        for valid in ["INV-000001", "R2026/000042", "INV-1000000", "000001"] {
            assert_eq!(InvoiceNumber::parse(valid).map(|n| n.to_string()), Ok(valid.to_owned()));
        }
        for invalid in ["", "INV-00001", "INV-000001 ", "<INV>000001", &format!("{}000001", "X".repeat(40))] {
            assert_eq!(InvoiceNumber::parse(invalid).map_err(|e| e.code), Err("invalid_invoice_number"), "{invalid}");
        }
    }
}
