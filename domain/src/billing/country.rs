//! Countries as ISO 3166-1 alpha-2 codes, and which of them are EU member states.
//!
//! The list is the officially assigned codes of ISO 3166-1 (249, taken from the
//! iso-codes 4.15 data): a const table rather than a crate, because a country code is
//! all billing needs and the table is easy to review. A code ISO assigns later needs a
//! release, which is the price of refusing typos such as `UK` (the United Kingdom is
//! `GB`) before they decide a tax rate.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::validation::Invalid;

/// An officially assigned ISO 3166-1 alpha-2 code, uppercase (`NL`, `DE`, `GR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country([u8; 2]);

impl Country {
    /// Lowercase is refused rather than folded, like currency codes, so a stored code
    /// always reads the way it was shown.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        match text.as_bytes() {
            [a, b] if ISO_3166_ALPHA_2.binary_search(&text).is_ok() => Ok(Self([*a, *b])),
            _ => Err(Invalid::new("invalid_country", "an ISO 3166-1 alpha-2 country code such as NL")),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters from the table ever get in.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// Whether the country is one of the 27 member states of the European Union.
    pub fn is_eu_member(&self) -> bool {
        EU_MEMBER_STATES.contains(&self.as_str())
    }

    /// The prefix of this country's VAT identification numbers: the country code, but
    /// `EL` for Greece (ISO 639's code for Greek, as the EU's VIES uses it).
    pub fn vat_prefix(&self) -> &str {
        match self.as_str() {
            "GR" => "EL",
            code => code,
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Country {
    type Error = Invalid;

    fn try_from(text: String) -> Result<Self, Invalid> {
        Self::parse(&text)
    }
}

impl From<Country> for String {
    fn from(country: Country) -> Self {
        country.as_str().to_owned()
    }
}

impl PartialSchema for Country {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An officially assigned ISO 3166-1 alpha-2 country code, uppercase"))
            .enum_values(Some(ISO_3166_ALPHA_2))
            .examples(["NL"])
            .into()
    }
}

impl ToSchema for Country {}

/// The EU member states (since 2020-02-01) by their ISO codes; Greece is `GR` here and
/// `EL` only in VAT numbers.
pub const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Sorted, for binary search.
const ISO_3166_ALPHA_2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_codes_are_countries() {
        for code in ["NL", "DE", "GR", "GB", "US", "CH", "AX", "SS", "ZW", "AD"] {
            assert_eq!(Country::parse(code).map(|c| c.to_string()), Ok(code.to_owned()), "{code}");
        }
    }

    #[test]
    fn unassigned_lowercase_and_malformed_codes_are_refused() {
        for text in ["", "N", "NLD", "nl", "Nl", "UK", "EL", "XK", "EU", "ZZ", "AA", "N1", "ÑL", " NL"] {
            assert_eq!(Country::parse(text).map_err(|e| e.code), Err("invalid_country"), "{text:?}");
        }
    }

    #[test]
    fn the_table_is_sorted_unique_and_shaped_as_codes() {
        assert!(ISO_3166_ALPHA_2.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(ISO_3166_ALPHA_2.iter().all(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn the_eu_has_27_member_states_all_of_them_countries() {
        assert!(EU_MEMBER_STATES.iter().all(|code| Country::parse(code).is_ok()));
        let member = |code: &str| Country::parse(code).map(|c| c.is_eu_member());
        assert_eq!(member("NL"), Ok(true));
        assert_eq!(member("GR"), Ok(true));
        assert_eq!(member("GB"), Ok(false));
        assert_eq!(member("CH"), Ok(false));
        assert_eq!(member("US"), Ok(false));
        assert_eq!(member("NO"), Ok(false));
    }

    #[test]
    fn greece_uses_el_in_vat_numbers() {
        assert_eq!(Country::parse("GR").map(|c| c.vat_prefix().to_owned()), Ok("EL".to_owned()));
        assert_eq!(Country::parse("DE").map(|c| c.vat_prefix().to_owned()), Ok("DE".to_owned()));
    }

    #[test]
    fn json_is_the_code() {
        let country: Country = serde_json::from_str("\"DE\"").unwrap();
        assert_eq!(serde_json::to_string(&country).unwrap(), "\"DE\"");
        assert!(serde_json::from_str::<Country>("\"de\"").is_err());
    }
}
