//! Invoice lines and what they add up to.
//!
//! Tax is computed per rate, as EN 16931 does (BR-CO-17): for each rate, the sum of the
//! line amounts taxed at it × rate / 100, rounded once, half away from zero, to the
//! minor unit. Rounding each line and adding the results can differ by a cent per line;
//! the per-rate sum is what the e-invoice's validators recompute, so it is the one used.
//!
//! Credit notes carry negative amounts. Rounding half away from zero (−0.5 cent is −1
//! cent) keeps a credit note of a whole invoice its exact mirror, cent for cent.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tax::TaxRate;
use crate::money::{Currency, MoneyError};
use crate::validation::{check_length, Invalid};

/// The longest line description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// The time a line's service is billed for; `period_start` and `period_end` in a line's
/// JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    #[serde(rename = "period_start")]
    start: DateTime<Utc>,
    #[serde(rename = "period_end")]
    end: DateTime<Utc>,
}

impl Period {
    /// A period ends after it starts.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, Invalid> {
        if end > start {
            Ok(Self { start, end })
        } else {
            Err(Invalid::new("invalid_period", "a billing period ends after it starts"))
        }
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }
}

/// One line of an invoice: `quantity` × `unit_amount_minor` = `amount_minor`, taxed at
/// `tax_rate`. The amount is computed, never given, so it cannot disagree with its
/// factors. Its JSON is the contract's line.
///
/// Stored as this JSON too: reading it back goes through [`InvoiceLine::new`], so a
/// stored line is checked as a new one is, and its amount is computed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LineParts")]
pub struct InvoiceLine {
    description: String,
    quantity: NonZeroU32,
    unit_amount_minor: i64,
    amount_minor: i64,
    tax_rate: TaxRate,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_id: Option<Uuid>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    period: Option<Period>,
}

impl InvoiceLine {
    /// A line; its description is 1 to 1,000 characters and not only spaces. Negative
    /// unit amounts are credit note lines.
    pub fn new(
        description: impl Into<String>,
        quantity: NonZeroU32,
        unit_amount_minor: i64,
        tax_rate: TaxRate,
    ) -> Result<Self, Invalid> {
        let description = description.into();
        check_length(&description, 1, MAX_DESCRIPTION_CHARS)?;
        if description.trim().is_empty() {
            return Err(Invalid::new("invalid_length", "a line description is not only spaces"));
        }
        let amount_minor = unit_amount_minor
            .checked_mul(i64::from(quantity.get()))
            .ok_or_else(|| Invalid::new("amount_out_of_range", "quantity × unit amount is out of range"))?;
        Ok(Self { description, quantity, unit_amount_minor, amount_minor, tax_rate, service_id: None, period: None })
    }

    /// The service the line bills, and for which period.
    pub fn for_service(self, service_id: Uuid, period: Option<Period>) -> Self {
        Self { service_id: Some(service_id), period, ..self }
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn quantity(&self) -> NonZeroU32 {
        self.quantity
    }

    pub fn unit_amount_minor(&self) -> i64 {
        self.unit_amount_minor
    }

    pub fn amount_minor(&self) -> i64 {
        self.amount_minor
    }

    pub fn tax_rate(&self) -> TaxRate {
        self.tax_rate
    }

    pub fn service_id(&self) -> Option<Uuid> {
        self.service_id
    }

    pub fn period(&self) -> Option<Period> {
        self.period
    }
}

/// A line as its JSON holds it; `amount_minor` is left out, as it is computed.
#[derive(Deserialize)]
struct LineParts {
    description: String,
    quantity: NonZeroU32,
    unit_amount_minor: i64,
    tax_rate: TaxRate,
    #[serde(default)]
    service_id: Option<Uuid>,
    #[serde(default)]
    period_start: Option<DateTime<Utc>>,
    #[serde(default)]
    period_end: Option<DateTime<Utc>>,
}

impl TryFrom<LineParts> for InvoiceLine {
    type Error = String;

    fn try_from(parts: LineParts) -> Result<Self, String> {
        let line = Self::new(parts.description, parts.quantity, parts.unit_amount_minor, parts.tax_rate)
            .map_err(|invalid| invalid.detail)?;
        let period = match (parts.period_start, parts.period_end) {
            (Some(start), Some(end)) => Some(Period::new(start, end).map_err(|invalid| invalid.detail)?),
            (None, None) => None,
            _ => return Err("a period has a start and an end".to_owned()),
        };
        Ok(Self { service_id: parts.service_id, period, ..line })
    }
}

/// The tax of one rate: an entry of the invoice's `tax_breakdown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxSubtotal {
    pub rate: TaxRate,
    /// The sum of the amounts of the lines at this rate.
    pub taxable_minor: i64,
    /// `taxable_minor` × rate / 100, rounded half away from zero.
    pub tax_minor: i64,
}

/// What an invoice's lines add up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// One entry per rate used, by ascending rate.
    pub tax_breakdown: Vec<TaxSubtotal>,
    pub subtotal_minor: i64,
    /// The sum of the breakdown's `tax_minor`.
    pub tax_minor: i64,
    pub total_minor: i64,
}

impl Totals {
    /// Adds the lines up, per rate; every sum is checked, so amounts that do not fit in
    /// 64 bits of minor units are an error, never a wrapped number or a panic.
    pub fn of(lines: &[InvoiceLine], currency: &Currency) -> Result<Self, MoneyError> {
        let mut taxable_by_rate: BTreeMap<TaxRate, i64> = BTreeMap::new();
        for line in lines {
            let taxable = taxable_by_rate.entry(line.tax_rate).or_insert(0);
            *taxable = taxable.checked_add(line.amount_minor).ok_or(MoneyError::Overflow)?;
        }
        let tax_breakdown = taxable_by_rate
            .into_iter()
            .map(|(rate, taxable_minor)| {
                Ok(TaxSubtotal { rate, taxable_minor, tax_minor: rate.tax_on(taxable_minor, currency)? })
            })
            .collect::<Result<Vec<_>, MoneyError>>()?;
        let subtotal_minor = checked_sum(tax_breakdown.iter().map(|entry| entry.taxable_minor))?;
        let tax_minor = checked_sum(tax_breakdown.iter().map(|entry| entry.tax_minor))?;
        let total_minor = subtotal_minor.checked_add(tax_minor).ok_or(MoneyError::Overflow)?;
        Ok(Self { tax_breakdown, subtotal_minor, tax_minor, total_minor })
    }
}

fn checked_sum(mut amounts: impl Iterator<Item = i64>) -> Result<i64, MoneyError> {
    amounts.try_fold(0i64, |sum, amount| sum.checked_add(amount).ok_or(MoneyError::Overflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> TaxRate {
        TaxRate::parse(text).unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn line(quantity: u32, unit: i64, r: &str) -> InvoiceLine {
        InvoiceLine::new("Web hosting", NonZeroU32::new(quantity).unwrap(), unit, rate(r)).unwrap()
    }

    /// Lines as (quantity, unit amount, rate).
    type Lines<'a> = &'a [(u32, i64, &'a str)];

    fn totals(lines: &[InvoiceLine]) -> Totals {
        Totals::of(lines, &eur()).unwrap()
    }

    fn breakdown(totals: &Totals) -> Vec<(String, i64, i64)> {
        totals.tax_breakdown.iter().map(|e| (e.rate.to_string(), e.taxable_minor, e.tax_minor)).collect()
    }

    #[test]
    fn the_tax_examples_of_the_issue() {
        // (case, lines (quantity, unit, rate), subtotal, tax, total)
        let table: [(&str, Lines, i64, i64, i64); 5] = [
            ("NL consumer, 21 %", &[(1, 1000, "21")], 1000, 210, 1210),
            ("DE consumer, 19 %", &[(1, 1000, "19")], 1000, 190, 1190),
            ("DE business, reverse charge", &[(1, 1000, "0")], 1000, 0, 1000),
            ("US consumer, 0 %", &[(3, 999, "0")], 2997, 0, 2997),
            ("Swiss 8.1 %", &[(1, 1990, "8.1")], 1990, 161, 2151), // 161.19 -> 161
        ];
        for (case, lines, subtotal, tax, total) in table {
            let lines: Vec<_> = lines.iter().map(|(q, u, r)| line(*q, *u, r)).collect();
            let t = totals(&lines);
            assert_eq!((t.subtotal_minor, t.tax_minor, t.total_minor), (subtotal, tax, total), "{case}");
        }
    }

    #[test]
    fn tax_is_rounded_per_rate_not_per_line() {
        // Two lines of 0.05 at 10 %: each line's 0.005 would round up to 0.01 (0.02 in
        // all), but the rate's 0.10 × 10 % is 0.01.
        let t = totals(&[line(1, 5, "10"), line(1, 5, "10")]);
        assert_eq!(breakdown(&t), vec![("10".into(), 10, 1)]);
        assert_eq!(t.tax_minor, 1);
        // Three lines of 0.33 at 19 %: per line 0.0627 -> 0.06 (0.18 in all); per rate
        // 0.99 × 19 % = 0.1881 -> 0.19.
        let t = totals(&[line(1, 33, "19"), line(1, 33, "19"), line(1, 33, "19")]);
        assert_eq!(t.tax_minor, 19);
    }

    #[test]
    fn half_cents_round_away_from_zero() {
        // 2.50 at 21 % = 0.525 -> 0.53; 0.50 at 1 % = 0.005 -> 0.01.
        assert_eq!(totals(&[line(1, 250, "21")]).tax_minor, 53);
        assert_eq!(totals(&[line(1, 50, "1")]).tax_minor, 1);
        // 0.49 at 1 % = 0.0049 -> 0.
        assert_eq!(totals(&[line(1, 49, "1")]).tax_minor, 0);
    }

    #[test]
    fn a_credit_note_mirrors_its_invoice_cent_for_cent() {
        let table: [Lines; 4] = [
            &[(1, 250, "21")],
            &[(1, 50, "1")],
            &[(1, 5, "10"), (1, 5, "10")],
            &[(2, 1234, "21"), (1, 777, "8.1"), (5, 3, "19"), (1, 100_000, "0")],
        ];
        for lines in table {
            let invoice: Vec<_> = lines.iter().map(|(q, u, r)| line(*q, *u, r)).collect();
            let credit: Vec<_> = lines.iter().map(|(q, u, r)| line(*q, -*u, r)).collect();
            let (invoice, credit) = (totals(&invoice), totals(&credit));
            assert_eq!(credit.total_minor, -invoice.total_minor, "{lines:?}");
            assert_eq!(credit.tax_minor, -invoice.tax_minor, "{lines:?}");
            let mirrored: Vec<_> =
                breakdown(&invoice).into_iter().map(|(r, taxable, tax)| (r, -taxable, -tax)).collect();
            assert_eq!(breakdown(&credit), mirrored);
        }
    }

    #[test]
    fn the_breakdown_has_one_entry_per_rate_by_ascending_rate() {
        let t = totals(&[line(1, 1000, "21"), line(2, 500, "9"), line(1, 300, "21"), line(1, 100, "0")]);
        assert_eq!(breakdown(&t), vec![("0".into(), 100, 0), ("9".into(), 1000, 90), ("21".into(), 1300, 273)]);
        assert_eq!((t.subtotal_minor, t.tax_minor, t.total_minor), (2400, 363, 2763));
    }

    #[test]
    fn no_lines_add_up_to_zero() {
        let t = totals(&[]);
        assert!(t.tax_breakdown.is_empty());
        assert_eq!((t.subtotal_minor, t.tax_minor, t.total_minor), (0, 0, 0));
    }

    #[test]
    fn line_amounts_are_quantity_times_unit_checked() {
        assert_eq!(line(3, 1999, "21").amount_minor(), 5997);
        assert_eq!(line(2, -500, "21").amount_minor(), -1000);
        let overflow = InvoiceLine::new("x", NonZeroU32::new(2).unwrap(), i64::MAX, rate("0"));
        assert_eq!(overflow.map_err(|e| e.code), Err("amount_out_of_range"));
    }

    #[test]
    fn sums_that_do_not_fit_are_errors_not_panics() {
        let big = line(1, i64::MAX, "0");
        assert_eq!(Totals::of(&[big.clone(), big.clone()], &eur()), Err(MoneyError::Overflow));
        // The subtotal fits, the tax on top of it does not.
        assert_eq!(Totals::of(&[line(1, i64::MAX / 2 + 1, "100")], &eur()), Err(MoneyError::Overflow));
        assert_eq!(Totals::of(&[line(1, i64::MIN, "0"), line(1, -1, "21")], &eur()), Err(MoneyError::Overflow));
    }

    #[test]
    fn descriptions_are_checked() {
        let make = |text: &str| InvoiceLine::new(text, NonZeroU32::MIN, 100, rate("21")).map_err(|e| e.code);
        assert_eq!(make(""), Err("invalid_length"));
        assert_eq!(make("   "), Err("invalid_length"));
        assert_eq!(make(&"a".repeat(MAX_DESCRIPTION_CHARS + 1)), Err("invalid_length"));
        assert!(make(&"ж".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
    }

    #[test]
    fn periods_end_after_they_start() {
        let start = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let end = DateTime::from_timestamp(1_798_761_600, 0).unwrap();
        assert!(Period::new(start, end).is_ok());
        assert_eq!(Period::new(end, start).map_err(|e| e.code), Err("invalid_period"));
        assert_eq!(Period::new(start, start).map_err(|e| e.code), Err("invalid_period"));
    }

    #[test]
    fn a_lines_json_is_the_contracts_line() {
        let start = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let end = DateTime::from_timestamp(1_798_761_600, 0).unwrap();
        let id = Uuid::nil();
        let billed = line(2, 1250, "8.1").for_service(id, Some(Period::new(start, end).unwrap()));
        assert_eq!(
            serde_json::to_value(&billed).unwrap(),
            serde_json::json!({
                "description": "Web hosting", "quantity": 2, "unit_amount_minor": 1250, "amount_minor": 2500,
                "tax_rate": "8.1", "service_id": id, "period_start": "2026-01-01T00:00:00Z", "period_end": "2027-01-01T00:00:00Z",
            })
        );
        assert_eq!(
            serde_json::to_value(line(1, 100, "0")).unwrap(),
            serde_json::json!({"description": "Web hosting", "quantity": 1, "unit_amount_minor": 100, "amount_minor": 100, "tax_rate": "0"})
        );
        let totals = serde_json::to_value(totals(&[line(1, 1000, "21")])).unwrap();
        assert_eq!(
            totals,
            serde_json::json!({
                "tax_breakdown": [{"rate": "21", "taxable_minor": 1000, "tax_minor": 210}],
                "subtotal_minor": 1000, "tax_minor": 210, "total_minor": 1210,
            })
        );
    }

    #[test]
    fn a_line_can_name_its_service_and_period() {
        let start = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let end = DateTime::from_timestamp(1_798_761_600, 0).unwrap();
        let id = Uuid::now_v7();
        let billed = line(1, 100, "21").for_service(id, Some(Period::new(start, end).unwrap()));
        assert_eq!(billed.service_id(), Some(id));
        assert_eq!(billed.period().map(|p| (p.start(), p.end())), Some((start, end)));
    }
}
