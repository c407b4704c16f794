//! Tax rates and the rule that picks one for an invoice.
//!
//! API.md: when seller and buyer are in two different EU countries, the buyer has a VAT
//! id and the seller has `reverse_charge` on, the rate is 0 and the invoice is reverse
//! charged; otherwise the rate is the seller's `tax_rates[buyer country]`, else its
//! `default_tax_rate`.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::country::Country;
use super::vat_ids::VatId;
use crate::money::{Currency, Money, MoneyError};
use crate::validation::Invalid;

/// A tax rate in percent with at most two decimals, 0 to 100: `"21"`, `"8.1"`, `"0"`.
///
/// Kept exactly as hundredths of a percent (`"8.1"` is 810), so a rate never passes
/// through binary floating point and always reads back as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxRate {
    hundredths: u16,
}

const HUNDREDTHS_IN_WHOLE: u16 = 10_000;
const HUNDREDTHS_IN_WHOLE_NONZERO: NonZeroU64 = match NonZeroU64::new(HUNDREDTHS_IN_WHOLE as u64) {
    Some(whole) => whole,
    None => NonZeroU64::MIN,
};

impl TaxRate {
    pub const ZERO: TaxRate = TaxRate { hundredths: 0 };

    /// The contract's decimal string: digits, optionally a dot and one or two digits; no
    /// sign, exponent, spaces or leading zeros (`"08"`), at most 100.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let invalid = || {
            Invalid::new(
                "invalid_tax_rate",
                "a percentage from 0 to 100 with at most 2 decimals, such as \"21\" or \"8.1\"",
            )
        };
        let (whole, decimals) = text.split_once('.').unwrap_or((text, ""));
        let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        let well_formed = (1..=3).contains(&whole.len())
            && digits_only(whole)
            && !(whole.len() > 1 && whole.starts_with('0'))
            && digits_only(decimals)
            && decimals.len() <= 2
            && decimals.is_empty() != text.contains('.');
        if !well_formed {
            return Err(invalid());
        }
        let whole: u16 = whole.parse().map_err(|_| invalid())?;
        let fraction: u16 = format!("{decimals:0<2}").parse().map_err(|_| invalid())?;
        let hundredths = whole.checked_mul(100).and_then(|w| w.checked_add(fraction)).ok_or_else(invalid)?;
        Self::from_hundredths(hundredths).ok_or_else(invalid)
    }

    /// From hundredths of a percent as stored (`2100` is 21 %); `None` above 100 %.
    pub fn from_hundredths(hundredths: u16) -> Option<Self> {
        (hundredths <= HUNDREDTHS_IN_WHOLE).then_some(Self { hundredths })
    }

    pub fn hundredths(&self) -> u16 {
        self.hundredths
    }

    pub fn is_zero(&self) -> bool {
        self.hundredths == 0
    }

    /// The tax on an amount of minor units at this rate, rounded half away from zero to
    /// the minor unit (`Money::multiply_ratio`): half a cent is a cent on an invoice and
    /// minus a cent on its credit note, so a credit note mirrors its invoice exactly.
    pub fn tax_on(&self, taxable_minor: i64, currency: &Currency) -> Result<i64, MoneyError> {
        Money::new(taxable_minor, currency.clone())
            .multiply_ratio(u64::from(self.hundredths), HUNDREDTHS_IN_WHOLE_NONZERO)
            .map(|tax| tax.amount_minor)
    }
}

impl fmt::Display for TaxRate {
    /// The shortest decimal: 2100 is `21`, 810 is `8.1`, 5 is `0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.hundredths / 100, self.hundredths % 100);
        match fraction {
            0 => write!(f, "{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{whole}.{}", f10 / 10),
            _ => write!(f, "{whole}.{fraction:02}"),
        }
    }
}

impl TryFrom<String> for TaxRate {
    type Error = Invalid;

    fn try_from(text: String) -> Result<Self, Invalid> {
        Self::parse(&text)
    }
}

impl From<TaxRate> for String {
    fn from(rate: TaxRate) -> Self {
        rate.to_string()
    }
}

impl PartialSchema for TaxRate {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Tax rate in percent, a decimal string with at most 2 decimals, 0 to 100"))
            .pattern(Some(r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$"))
            .examples(["21"])
            .into()
    }
}

impl ToSchema for TaxRate {}

/// What of the seller's billing settings decides tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerTaxSettings {
    pub country: Country,
    pub tax_rates: BTreeMap<Country, TaxRate>,
    pub default_tax_rate: TaxRate,
    pub reverse_charge: bool,
}

/// What of the buyer's profile decides tax. The VAT id is one that passed
/// [`VatId::parse`]; a profile whose `vat_id` text does not parse has none here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxBuyer {
    pub country: Option<Country>,
    pub vat_id: Option<VatId>,
}

/// The rate an invoice is issued with, and whether the buyer accounts for the tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxDecision {
    pub rate: TaxRate,
    pub reverse_charge: bool,
}

/// API.md's rule, as it is applied when an invoice is issued.
///
/// Reverse charge also needs the buyer's VAT id to be issued by the buyer's own country:
/// an id of another state does not show that the buyer is a taxable person where the
/// service is supplied, and wrongly charging no tax is the seller's liability.
pub fn decide_tax(seller: &SellerTaxSettings, buyer: &TaxBuyer) -> TaxDecision {
    if let Some(buyer_country) = buyer.country {
        let cross_border_eu =
            seller.country.is_eu_member() && buyer_country.is_eu_member() && seller.country != buyer_country;
        let vat_registered_there = buyer.vat_id.as_ref().is_some_and(|id| id.country() == buyer_country);
        if seller.reverse_charge && cross_border_eu && vat_registered_there {
            return TaxDecision { rate: TaxRate::ZERO, reverse_charge: true };
        }
        if let Some(rate) = seller.tax_rates.get(&buyer_country) {
            return TaxDecision { rate: *rate, reverse_charge: false };
        }
    }
    TaxDecision { rate: seller.default_tax_rate, reverse_charge: false }
}

/// The VAT category of EN 16931 (UNCL 5305) of an amount taxed at `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxCategory {
    /// `S`: a positive rate.
    Standard,
    /// `Z`: a VAT-registered seller charging 0 % (e.g. a buyer outside the EU).
    ZeroRated,
    /// `AE`: the buyer accounts for the tax (EU reverse charge).
    ReverseCharge,
    /// `O`: the seller is not registered for VAT (has no VAT id) and charges none.
    NotSubjectToVat,
}

impl TaxCategory {
    /// `seller_has_vat_id` tells a registered seller's 0 % (`Z`) from an unregistered
    /// one's (`O`, which EN 16931 allows only without any VAT id on the invoice).
    pub fn of(rate: TaxRate, reverse_charge: bool, seller_has_vat_id: bool) -> Self {
        match (reverse_charge, rate.is_zero(), seller_has_vat_id) {
            (true, _, _) => Self::ReverseCharge,
            (false, false, _) => Self::Standard,
            (false, true, true) => Self::ZeroRated,
            (false, true, false) => Self::NotSubjectToVat,
        }
    }

    /// The UNCL 5305 code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Standard => "S",
            Self::ZeroRated => "Z",
            Self::ReverseCharge => "AE",
            Self::NotSubjectToVat => "O",
        }
    }

    /// The exemption reason EN 16931 asks for with `AE` and `O` (BR-AE-10, BR-O-10):
    /// the VATEX code and its text.
    pub fn exemption_reason(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::ReverseCharge => Some(("VATEX-EU-AE", "Reverse charge")),
            Self::NotSubjectToVat => Some(("VATEX-EU-O", "Not subject to VAT")),
            Self::Standard | Self::ZeroRated => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> TaxRate {
        TaxRate::parse(text).unwrap()
    }

    fn country(code: &str) -> Country {
        Country::parse(code).unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn rates_are_decimal_strings_with_at_most_two_decimals() {
        let table = [
            ("0", 0, "0"),
            ("21", 2100, "21"),
            ("8.1", 810, "8.1"),
            ("8.10", 810, "8.1"),
            ("5.5", 550, "5.5"),
            ("0.05", 5, "0.05"),
            ("7.25", 725, "7.25"),
            ("100", 10_000, "100"),
            ("100.00", 10_000, "100"),
            ("0.0", 0, "0"),
        ];
        for (text, hundredths, shown) in table {
            let parsed = rate(text);
            assert_eq!(parsed.hundredths(), hundredths, "{text}");
            assert_eq!(parsed.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn other_rate_texts_are_refused() {
        let refused = [
            "",
            ".",
            "21.",
            ".5",
            "8.125",
            "-1",
            "+21",
            "100.01",
            "101",
            "1000",
            "08",
            "00",
            "21 ",
            " 21",
            "21,5",
            "1e2",
            "NaN",
            "٢١",
            "21%",
            "0x10",
            "99999999999999999999",
        ];
        for text in refused {
            assert_eq!(TaxRate::parse(text).map_err(|e| e.code), Err("invalid_tax_rate"), "{text:?}");
        }
    }

    #[test]
    fn stored_hundredths_above_100_percent_are_refused() {
        assert_eq!(TaxRate::from_hundredths(10_000).map(|r| r.to_string()), Some("100".to_owned()));
        assert_eq!(TaxRate::from_hundredths(10_001), None);
    }

    #[test]
    fn rates_are_json_strings() {
        assert_eq!(serde_json::to_string(&rate("8.1")).unwrap(), "\"8.1\"");
        assert_eq!(serde_json::from_str::<TaxRate>("\"19\"").unwrap(), rate("19"));
        assert!(serde_json::from_str::<TaxRate>("19").is_err());
        assert!(serde_json::from_str::<TaxRate>("\"19.999\"").is_err());
    }

    #[test]
    fn tax_rounds_half_away_from_zero() {
        // (taxable minor units, rate, tax minor units)
        let table = [
            (1000, "21", 210),
            (1, "50", 1),    // 0.5 -> 1
            (-1, "50", -1),  // -0.5 -> -1
            (250, "19", 48), // 47.5 -> 48
            (-250, "19", -48),
            (1249, "8.1", 101), // 101.169 -> 101
            (1250, "8.1", 101), // 101.25 -> 101
            (1852, "8.1", 150), // 150.012 -> 150
            (50, "1", 1),       // 0.5 -> 1
            (49, "1", 0),       // 0.49 -> 0
            (12345, "0", 0),
            (i64::MAX, "100", i64::MAX),
            (i64::MIN, "100", i64::MIN),
        ];
        for (taxable, r, tax) in table {
            assert_eq!(rate(r).tax_on(taxable, &eur()), Ok(tax), "{taxable} at {r}");
        }
    }

    fn seller(reverse_charge: bool) -> SellerTaxSettings {
        SellerTaxSettings {
            country: country("NL"),
            tax_rates: [("NL", "21"), ("DE", "19"), ("CH", "8.1")]
                .into_iter()
                .map(|(c, r)| (country(c), rate(r)))
                .collect(),
            default_tax_rate: rate("0"),
            reverse_charge,
        }
    }

    fn buyer(country_code: Option<&str>, vat_id: Option<&str>) -> TaxBuyer {
        TaxBuyer { country: country_code.map(country), vat_id: vat_id.map(|id| VatId::parse(id).unwrap()) }
    }

    #[test]
    fn the_tax_rule_of_the_contract() {
        // (case, reverse_charge setting, buyer country, buyer VAT id, rate, reverse charged)
        let table = [
            ("NL consumer", true, Some("NL"), None, "21", false),
            ("NL business pays Dutch VAT: same country", true, Some("NL"), Some("NL004495445B01"), "21", false),
            ("DE consumer", true, Some("DE"), None, "19", false),
            ("DE business: reverse charge", true, Some("DE"), Some("DE136695976"), "0", true),
            ("DE business, seller without reverse charge", false, Some("DE"), Some("DE136695976"), "19", false),
            ("DE address with a Belgian VAT id", true, Some("DE"), Some("BE0403019261"), "19", false),
            ("Greek business: EL prefix", true, Some("GR"), Some("EL094259216"), "0", true),
            ("Greek consumer, no Greek rate set", true, Some("GR"), None, "0", false),
            ("US consumer: default rate", true, Some("US"), None, "0", false),
            ("Swiss business: not EU, its own rate", true, Some("CH"), Some("DE136695976"), "8.1", false),
            ("no country on the profile", true, None, Some("DE136695976"), "0", false),
        ];
        for (case, reverse_charge, buyer_country, vat_id, expected_rate, reverse_charged) in table {
            let decision = decide_tax(&seller(reverse_charge), &buyer(buyer_country, vat_id));
            assert_eq!(decision, TaxDecision { rate: rate(expected_rate), reverse_charge: reverse_charged }, "{case}");
        }
    }

    #[test]
    fn a_seller_outside_the_eu_never_reverse_charges() {
        let swiss = SellerTaxSettings { country: country("CH"), ..seller(true) };
        let decision = decide_tax(&swiss, &buyer(Some("DE"), Some("DE136695976")));
        assert_eq!(decision, TaxDecision { rate: rate("19"), reverse_charge: false });
    }

    #[test]
    fn the_default_rate_applies_where_no_country_rate_is_set() {
        let seller = SellerTaxSettings { default_tax_rate: rate("20"), ..seller(true) };
        assert_eq!(decide_tax(&seller, &buyer(Some("FR"), None)).rate, rate("20"));
    }

    #[test]
    fn categories_follow_rate_reverse_charge_and_registration() {
        let table = [
            ("21", false, true, "S"),
            ("21", false, false, "S"),
            ("0", false, true, "Z"),
            ("0", false, false, "O"),
            ("0", true, true, "AE"),
        ];
        for (r, reverse_charge, registered, code) in table {
            assert_eq!(
                TaxCategory::of(rate(r), reverse_charge, registered).code(),
                code,
                "{r} {reverse_charge} {registered}"
            );
        }
        assert_eq!(TaxCategory::ReverseCharge.exemption_reason(), Some(("VATEX-EU-AE", "Reverse charge")));
        assert_eq!(TaxCategory::Standard.exemption_reason(), None);
    }
}
