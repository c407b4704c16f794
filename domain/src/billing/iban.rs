//! The seller's bank account, printed on invoices so buyers can pay by transfer.

use std::fmt;

use iban::IbanLike;
use serde::{Deserialize, Serialize};

use crate::validation::Invalid;

/// An IBAN whose country format and MOD 97 check digits are valid, checked by the
/// `iban_validate` crate (which carries the SWIFT registry's per-country formats).
///
/// Kept in the electronic form (`DE44500105175407324931`); shown in groups of four.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iban(iban::Iban);

impl Iban {
    /// Spaces are ignored and letters uppercased, so a pasted `de44 5001 0517 ...` is
    /// accepted.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        if text.chars().count() > 64 {
            return Err(Invalid::new("invalid_iban", "at most 64 characters"));
        }
        let compact: String = text.chars().filter(|c| *c != ' ').map(|c| c.to_ascii_uppercase()).collect();
        compact.parse::<iban::Iban>().map(Self).map_err(|_| {
            Invalid::new("invalid_iban", "an IBAN with valid check digits, such as DE44 5001 0517 5407 3249 31")
        })
    }

    /// Without spaces, as payment systems and UBL want it.
    pub fn electronic(&self) -> &str {
        self.0.electronic_str()
    }
}

impl fmt::Display for Iban {
    /// The print form, in groups of four.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<String> for Iban {
    type Error = Invalid;

    fn try_from(text: String) -> Result<Self, Invalid> {
        Self::parse(&text)
    }
}

impl From<Iban> for String {
    fn from(iban: Iban) -> Self {
        iban.electronic().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ibans_are_kept_electronic_and_shown_in_groups() {
        let table = [
            ("DE44500105175407324931", "DE44500105175407324931", "DE44 5001 0517 5407 3249 31"),
            ("de44 5001 0517 5407 3249 31", "DE44500105175407324931", "DE44 5001 0517 5407 3249 31"),
            ("NL91ABNA0417164300", "NL91ABNA0417164300", "NL91 ABNA 0417 1643 00"),
            ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32"),
            ("BE68539007547034", "BE68539007547034", "BE68 5390 0754 7034"),
        ];
        for (text, electronic, shown) in table {
            let iban = Iban::parse(text).unwrap();
            assert_eq!(iban.electronic(), electronic);
            assert_eq!(iban.to_string(), shown);
        }
    }

    #[test]
    fn wrong_check_digits_formats_and_countries_are_refused() {
        let refused = [
            "",
            "DE45500105175407324931", // check digits
            "DE44500105175407324932", // a changed digit
            "NL91ABNA041716430",      // too short for NL
            "XX44500105175407324931", // no such country
            "DE44-5001-0517-5407-3249-31",
            "DE44\u{0}500105175407324931",
            "ＤＥ44500105175407324931", // full-width letters
        ];
        for text in refused {
            assert_eq!(Iban::parse(text).map_err(|e| e.code), Err("invalid_iban"), "{text:?}");
        }
        assert!(Iban::parse(&"1".repeat(1000)).is_err());
    }

    #[test]
    fn json_is_the_electronic_form() {
        let iban: Iban = serde_json::from_str("\"NL91 ABNA 0417 1643 00\"").unwrap();
        assert_eq!(serde_json::to_string(&iban).unwrap(), "\"NL91ABNA0417164300\"");
    }
}
