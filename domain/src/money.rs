//! Money: an integer amount of a currency's minor unit (cents for EUR) and the currency.
//!
//! Never floating point: `0.1 + 0.2` is not `0.3` in binary, and a bill must add up to
//! the cent on both database backends. Amounts of different currencies never mix; the
//! only division (proration) goes through [`Money::multiply_ratio`], which rounds once,
//! half away from zero, at the end.

use std::fmt;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::validation::Invalid;

/// An ISO 4217 alphabetic code (`EUR`, `USD`), checked by shape: three ASCII uppercase
/// letters.
///
/// The shape is checked rather than a list of codes, so a currency ISO adds later needs
/// no release; lowercase is refused rather than folded, like country codes, so that a
/// stored code always reads the way it was shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let three_uppercase_letters = text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase());
        if three_uppercase_letters {
            Ok(Self(text.to_owned()))
        } else {
            Err(Invalid::new("invalid_currency", "an ISO 4217 currency code of three uppercase letters such as EUR"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// ISO 4217's minor unit: how many decimals an amount has (2 for EUR, 0 for JPY, 3 for
    /// KWD). Codes not in the exceptions below, unknown ones included, have 2.
    pub fn minor_unit_digits(&self) -> u32 {
        const NO_DECIMALS: [&str; 17] = [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
            "XOF", "XPF",
        ];
        const THREE_DECIMALS: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
        const FOUR_DECIMALS: [&str; 2] = ["CLF", "UYW"];
        let code = self.as_str();
        if NO_DECIMALS.contains(&code) {
            0
        } else if THREE_DECIMALS.contains(&code) {
            3
        } else if FOUR_DECIMALS.contains(&code) {
            4
        } else {
            2
        }
    }

    /// An amount of minor units as a decimal in this currency, with a point and an ASCII
    /// minus: 1250 EUR is `12.50`, −5 EUR `-0.05`, 1250 JPY `1250`. Exact for every i64.
    pub fn decimal(&self, amount_minor: i64) -> String {
        let digits = self.minor_unit_digits();
        let sign = if amount_minor < 0 { "-" } else { "" };
        let magnitude = amount_minor.unsigned_abs();
        if digits == 0 {
            return format!("{sign}{magnitude}");
        }
        let scale = 10u64.pow(digits);
        let width = digits as usize;
        format!("{sign}{}.{:0width$}", magnitude / scale, magnitude % scale)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Currency {
    type Error = Invalid;

    fn try_from(text: String) -> Result<Self, Invalid> {
        Self::parse(&text)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.0
    }
}

// Written by hand: the derive cannot put a pattern on a newtype's schema.
impl PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("ISO 4217 currency code"))
            .pattern(Some("^[A-Z]{3}$"))
            .examples(["EUR"])
            .into()
    }
}

impl ToSchema for Currency {}

/// An amount in a currency's minor unit: `{"amount_minor": 1250, "currency": "EUR"}` is
/// 12.50 euros. Negative amounts are credits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    #[schema(example = 1250)]
    pub amount_minor: i64,
    pub currency: Currency,
}

/// Why a sum, difference or ratio of money has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Amounts in two currencies cannot be added or compared without a rate.
    #[error("cannot combine amounts in {left} and {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    /// The result does not fit in 64 bits of minor units.
    #[error("the amount is out of range")]
    Overflow,
}

impl MoneyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::CurrencyMismatch { .. } => "currency_mismatch",
            Self::Overflow => "amount_out_of_range",
        }
    }
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Self { amount_minor, currency }
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self.amount_minor.checked_add(other.amount_minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(sum, self.currency.clone()))
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let difference = self.amount_minor.checked_sub(other.amount_minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(difference, self.currency.clone()))
    }

    /// `self × numerator / denominator`, rounded half away from zero to the minor unit:
    /// 0.5 cent becomes 1 cent and −0.5 cent becomes −1 cent, so a credit is the exact
    /// mirror of the charge it undoes.
    ///
    /// The product is taken in 128 bits, where it always fits (|i64| × u64 < 2^127), so
    /// only a result that does not fit back in an `i64` is refused. The denominator's type
    /// rules out division by zero.
    pub fn multiply_ratio(&self, numerator: u64, denominator: NonZeroU64) -> Result<Money, MoneyError> {
        let product = i128::from(self.amount_minor) * i128::from(numerator);
        let denominator = i128::from(denominator.get());
        // Integer division truncates toward zero and the remainder keeps the product's
        // sign, so rounding the magnitude is symmetric for charges and credits.
        let truncated = product / denominator;
        let remainder = product % denominator;
        let at_least_half = remainder.unsigned_abs() * 2 >= denominator.unsigned_abs();
        let rounded = if at_least_half { truncated + product.signum() } else { truncated };
        let amount_minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency.clone()))
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency.clone(), right: other.currency.clone() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount_minor: i64) -> Money {
        Money::new(amount_minor, Currency::parse("EUR").unwrap())
    }

    fn ratio(money: &Money, numerator: u64, denominator: u64) -> Result<i64, MoneyError> {
        money.multiply_ratio(numerator, NonZeroU64::new(denominator).unwrap()).map(|m| m.amount_minor)
    }

    #[test]
    fn currencies_are_three_uppercase_letters() {
        for valid in ["EUR", "USD", "CHF", "XAU"] {
            assert_eq!(Currency::parse(valid).map(|c| c.to_string()), Ok(valid.to_owned()));
        }
        for invalid in ["", "EU", "EURO", "eur", "Eur", "E1R", "EÜR", " EUR", "€"] {
            assert_eq!(Currency::parse(invalid).map_err(|e| e.code), Err("invalid_currency"), "{invalid}");
        }
    }

    #[test]
    fn amounts_are_shown_with_the_currencys_decimals() {
        let table = [
            ("EUR", 1250, "12.50"),
            ("EUR", 5, "0.05"),
            ("EUR", -5, "-0.05"),
            ("EUR", 0, "0.00"),
            ("EUR", -123_456, "-1234.56"),
            ("JPY", 1250, "1250"),
            ("JPY", -1250, "-1250"),
            ("KWD", 1250, "1.250"),
            ("CLF", 1, "0.0001"),
            ("XYZ", 1, "0.01"),
            ("EUR", i64::MIN, "-92233720368547758.08"),
            ("EUR", i64::MAX, "92233720368547758.07"),
        ];
        for (code, minor, shown) in table {
            assert_eq!(Currency::parse(code).unwrap().decimal(minor), shown, "{code} {minor}");
        }
    }

    #[test]
    fn money_is_json_minor_units_and_a_checked_currency() {
        let money: Money = serde_json::from_str(r#"{"amount_minor": 1250, "currency": "EUR"}"#).unwrap();
        assert_eq!(money, eur(1250));
        assert_eq!(serde_json::to_value(&money).unwrap(), serde_json::json!({"amount_minor": 1250, "currency": "EUR"}));
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor": 1250, "currency": "eur"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor": 12.5, "currency": "EUR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor": 1, "currency": "EUR", "x": 1}"#).is_err());
    }

    #[test]
    fn the_openapi_schema_states_the_currency_shape() {
        let schema = serde_json::to_value(<Currency as PartialSchema>::schema()).unwrap();
        assert_eq!(schema["type"], "string");
        assert_eq!(schema["pattern"], "^[A-Z]{3}$");
        let money = serde_json::to_value(<Money as PartialSchema>::schema()).unwrap();
        assert_eq!(money["properties"]["currency"]["$ref"], "#/components/schemas/Currency");
    }

    #[test]
    fn sums_and_differences_stay_in_one_currency() {
        assert_eq!(eur(1000).checked_add(&eur(250)), Ok(eur(1250)));
        assert_eq!(eur(1000).checked_sub(&eur(2500)), Ok(eur(-1500)));
        let usd = Money::new(100, Currency::parse("USD").unwrap());
        let mismatch = eur(100).checked_add(&usd).unwrap_err();
        assert_eq!(mismatch.code(), "currency_mismatch");
        assert_eq!(mismatch.to_string(), "cannot combine amounts in EUR and USD");
        assert_eq!(eur(100).checked_sub(&usd).map_err(|e| e.code()), Err("currency_mismatch"));
    }

    #[test]
    fn sums_and_differences_refuse_to_overflow() {
        assert_eq!(eur(i64::MAX).checked_add(&eur(1)), Err(MoneyError::Overflow));
        assert_eq!(eur(i64::MIN).checked_sub(&eur(1)), Err(MoneyError::Overflow));
        assert_eq!(eur(i64::MIN).checked_add(&eur(i64::MAX)), Ok(eur(-1)));
    }

    #[test]
    fn ratios_round_half_away_from_zero() {
        assert_eq!(ratio(&eur(1), 1, 2), Ok(1)); // 0.5 -> 1
        assert_eq!(ratio(&eur(-1), 1, 2), Ok(-1)); // -0.5 -> -1
        assert_eq!(ratio(&eur(101), 1, 2), Ok(51)); // 50.5 -> 51
        assert_eq!(ratio(&eur(-101), 1, 2), Ok(-51)); // -50.5 -> -51
        assert_eq!(ratio(&eur(100), 1, 3), Ok(33)); // 33.33… -> 33
        assert_eq!(ratio(&eur(200), 1, 3), Ok(67)); // 66.66… -> 67
        assert_eq!(ratio(&eur(-200), 1, 3), Ok(-67)); // -66.66… -> -67
        assert_eq!(ratio(&eur(-100), 1, 3), Ok(-33)); // -33.33… -> -33
        assert_eq!(ratio(&eur(1234), 0, 7), Ok(0));
        assert_eq!(ratio(&eur(1234), 7, 7), Ok(1234));
    }

    #[test]
    fn ratios_compute_in_128_bits() {
        // i64::MAX × 3 overflows 64 bits, but × 3 / 4 fits again.
        assert_eq!(ratio(&eur(i64::MAX), 3, 4), Ok(6_917_529_027_641_081_855)); // …855.25 -> …855
        assert_eq!(ratio(&eur(i64::MIN), u64::MAX, u64::MAX), Ok(i64::MIN));
        assert_eq!(ratio(&eur(i64::MAX), 2, 1), Err(MoneyError::Overflow));
        assert_eq!(ratio(&eur(i64::MIN), u64::MAX, 1), Err(MoneyError::Overflow));
    }
}
