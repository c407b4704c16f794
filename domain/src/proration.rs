//! What a plan change costs part-way through a billing cycle.
//!
//! The contract: the prorated difference is (days left in the cycle / days in the
//! cycle) × (new price − old price), rounded half up to the minor unit. Whole days, not
//! seconds: a quote must not change between asking for it and applying it on the same
//! day, and a customer can check it with a calendar.

use std::num::NonZeroU64;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::BillingCycle;
use crate::money::{Currency, Money, MoneyError};

/// The amount due now for a plan change: positive is a charge, negative a credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub amount_minor: i64,
    pub currency: Currency,
    /// The day the new plan takes effect.
    pub effective_at: NaiveDate,
}

/// Why no quote can be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProrationError {
    /// The two prices are in different currencies; there is no rate to convert with.
    #[error("the new price is in {new}, the current one in {old}")]
    CurrencyMismatch { old: Currency, new: Currency },
    /// The cycle does not end after it starts.
    #[error("the billing cycle {cycle_start} to {cycle_end} has no days")]
    EmptyCycle { cycle_start: NaiveDate, cycle_end: NaiveDate },
    /// The change would take effect before the cycle it is prorated over.
    #[error("a change on {change_on} is before the billing cycle that starts on {cycle_start}")]
    ChangeBeforeCycle { change_on: NaiveDate, cycle_start: NaiveDate },
    /// The difference does not fit in 64 bits of minor units.
    #[error("the amount is out of range")]
    Overflow,
}

impl ProrationError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::CurrencyMismatch { .. } => "currency_mismatch",
            Self::EmptyCycle { .. } => "empty_cycle",
            Self::ChangeBeforeCycle { .. } => "change_before_cycle",
            Self::Overflow => "amount_out_of_range",
        }
    }
}

impl From<MoneyError> for ProrationError {
    fn from(error: MoneyError) -> Self {
        match error {
            MoneyError::CurrencyMismatch { left, right } => Self::CurrencyMismatch { old: right, new: left },
            MoneyError::Overflow => Self::Overflow,
        }
    }
}

/// The prorated difference for changing from `old_price` to `new_price` on `change_on`,
/// in the cycle that runs from `cycle_start` (inclusive) to `cycle_end` (exclusive, the
/// next due date).
///
/// Days left count from `change_on` inclusive, so a change on the cycle's first day
/// costs the full difference and one on its last day a single day's worth; on or after
/// `cycle_end` nothing is left and the quote is zero. A downgrade gives a negative amount
/// (a credit), rounded as the mirror image of the same upgrade.
pub fn quote(
    old_price: &Money,
    new_price: &Money,
    cycle_start: NaiveDate,
    cycle_end: NaiveDate,
    change_on: NaiveDate,
) -> Result<Quote, ProrationError> {
    if old_price.currency != new_price.currency {
        return Err(ProrationError::CurrencyMismatch {
            old: old_price.currency.clone(),
            new: new_price.currency.clone(),
        });
    }
    let days_in_cycle = NonZeroU64::new(days_from(cycle_start, cycle_end))
        .ok_or(ProrationError::EmptyCycle { cycle_start, cycle_end })?;
    if change_on < cycle_start {
        return Err(ProrationError::ChangeBeforeCycle { change_on, cycle_start });
    }
    let days_left = days_from(change_on, cycle_end);
    let difference = new_price.checked_sub(old_price)?;
    let prorated = difference.multiply_ratio(days_left, days_in_cycle)?;
    Ok(Quote { amount_minor: prorated.amount_minor, currency: prorated.currency, effective_at: change_on })
}

/// The quote for changing a service billed every `cycle` from `old_price` to
/// `new_price` on `change_on`, when it is paid up to `paid_until` (its `next_due_at`) and
/// was registered at `registered_at`. This is how the API finds the cycle [`quote`]
/// prorates over, which the contract does not store:
///
/// - The current cycle ends at `paid_until` and starts one cycle earlier
///   ([`BillingCycle::rewind`]), but never before `registered_at`: month-end clamping can
///   move a rewound start before the day the service began (registered on Feb 29 with an
///   annual cycle, it is due on Feb 28 next year; rewinding that gives Feb 28, a day
///   before the service existed).
/// - A service renewed ahead is paid for whole cycles after the one `change_on` falls
///   in. Each of those costs the full difference; the cycle holding `change_on` is
///   prorated. Without renewals ahead this is exactly [`quote`] over one cycle.
///
/// On or after `paid_until` nothing is left to prorate and the quote is zero.
pub fn quote_for_service(
    old_price: &Money,
    new_price: &Money,
    cycle: BillingCycle,
    registered_at: NaiveDateTime,
    paid_until: NaiveDateTime,
    change_on: NaiveDate,
) -> Result<Quote, ProrationError> {
    let start_of = |end: NaiveDateTime| cycle.rewind(end, 1).map_or(registered_at, |start| start.max(registered_at));
    let mut end = paid_until;
    let mut start = start_of(end);
    let mut whole_cycles_ahead: i64 = 0;
    // Each step goes back at least 28 days and stops at the registration: it ends.
    while start.date() > change_on && start > registered_at {
        whole_cycles_ahead = whole_cycles_ahead.checked_add(1).ok_or(ProrationError::Overflow)?;
        end = start;
        start = start_of(end);
    }
    let current = quote(old_price, new_price, start.date(), end.date(), change_on)?;
    let difference = new_price.checked_sub(old_price)?;
    let ahead = difference.amount_minor.checked_mul(whole_cycles_ahead).ok_or(ProrationError::Overflow)?;
    let amount_minor = current.amount_minor.checked_add(ahead).ok_or(ProrationError::Overflow)?;
    Ok(Quote { amount_minor, ..current })
}

/// Whole days from `from` up to `to`; 0 when `to` is not after `from`.
fn days_from(from: NaiveDate, to: NaiveDate) -> u64 {
    u64::try_from(to.signed_duration_since(from).num_days()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn eur(amount_minor: i64) -> Money {
        Money::new(amount_minor, Currency::parse("EUR").unwrap())
    }

    /// The quoted amount in minor units for a change within `start..end`.
    fn amount(old: i64, new: i64, start: &str, end: &str, change_on: &str) -> i64 {
        quote(&eur(old), &eur(new), day(start), day(end), day(change_on)).unwrap().amount_minor
    }

    #[test]
    fn an_upgrade_halfway_through_an_annual_cycle() {
        // 2026-01-01..2027-01-01 has 365 days. From 2026-07-02 to 2027-01-01 (exclusive)
        // 183 are left: July 30 (2nd-31st) + Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31.
        // 120.00 -> 240.00 EUR: 12000 × 183 / 365 = 6016.438… -> 6016.
        let quoted = quote(&eur(12000), &eur(24000), day("2026-01-01"), day("2027-01-01"), day("2026-07-02"));
        assert_eq!(
            quoted,
            Ok(Quote {
                amount_minor: 6016,
                currency: Currency::parse("EUR").unwrap(),
                effective_at: day("2026-07-02")
            })
        );
    }

    #[test]
    fn a_downgrade_is_a_credit() {
        // 240.00 -> 120.00 EUR on the same day: −12000 × 183 / 365 = −6016.438… -> −6016.
        assert_eq!(amount(24000, 12000, "2026-01-01", "2027-01-01", "2026-07-02"), -6016);
    }

    #[test]
    fn a_change_on_the_first_day_costs_the_full_difference() {
        // 365 of 365 days left: 12000 × 365 / 365 = 12000.
        assert_eq!(amount(12000, 24000, "2026-01-01", "2027-01-01", "2026-01-01"), 12000);
    }

    #[test]
    fn a_change_on_the_last_day_costs_one_day() {
        // From 2026-12-31 to 2027-01-01 (exclusive) is 1 day: 12000 × 1 / 365 = 32.876… -> 33.
        assert_eq!(amount(12000, 24000, "2026-01-01", "2027-01-01", "2026-12-31"), 33);
    }

    #[test]
    fn a_change_on_or_after_the_end_of_the_cycle_costs_nothing() {
        assert_eq!(amount(12000, 24000, "2026-01-01", "2027-01-01", "2027-01-01"), 0);
        assert_eq!(amount(12000, 24000, "2026-01-01", "2027-01-01", "2027-03-15"), 0);
    }

    #[test]
    fn exactly_half_a_minor_unit_rounds_up() {
        // February 2026: 2026-02-01..2026-03-01 is 28 days; from 2026-02-15, 14 are left.
        // 5.00 -> 6.01 EUR: 101 × 14 / 28 = 50.5 -> 51.
        assert_eq!(amount(500, 601, "2026-02-01", "2026-03-01", "2026-02-15"), 51);
        // And the downgrade mirrors it: −101 × 14 / 28 = −50.5 -> −51.
        assert_eq!(amount(601, 500, "2026-02-01", "2026-03-01", "2026-02-15"), -51);
    }

    #[test]
    fn a_leap_year_cycle_has_366_days() {
        // 2028-01-01..2029-01-01 holds Feb 29: 366 days. From 2028-07-02, 183 are left as
        // in 2026, but of 366: 12000 × 183 / 366 = 6000 exactly.
        assert_eq!(amount(12000, 24000, "2028-01-01", "2029-01-01", "2028-07-02"), 6000);
        // From 2028-03-01: 366 − (31 + 29) = 306 left; 12000 × 306 / 366 = 10032.786… -> 10033.
        assert_eq!(amount(12000, 24000, "2028-01-01", "2029-01-01", "2028-03-01"), 10033);
    }

    #[test]
    fn the_same_price_costs_nothing() {
        assert_eq!(amount(12000, 12000, "2026-01-01", "2027-01-01", "2026-07-02"), 0);
    }

    #[test]
    fn prices_in_different_currencies_cannot_be_prorated() {
        let usd = Money::new(24000, Currency::parse("USD").unwrap());
        let refused = quote(&eur(12000), &usd, day("2026-01-01"), day("2027-01-01"), day("2026-07-02")).unwrap_err();
        assert_eq!(refused.code(), "currency_mismatch");
        assert_eq!(refused.to_string(), "the new price is in USD, the current one in EUR");
    }

    #[test]
    fn a_change_before_the_cycle_is_refused() {
        let refused = quote(&eur(12000), &eur(24000), day("2026-01-01"), day("2027-01-01"), day("2025-12-31"));
        assert_eq!(refused.map_err(|e| e.code()), Err("change_before_cycle"));
    }

    #[test]
    fn a_cycle_without_days_is_refused() {
        for end in ["2026-01-01", "2025-12-01"] {
            let refused = quote(&eur(12000), &eur(24000), day("2026-01-01"), day(end), day("2026-01-01"));
            assert_eq!(refused.map_err(|e| e.code()), Err("empty_cycle"), "{end}");
        }
    }

    #[test]
    fn a_difference_too_large_for_64_bits_is_refused() {
        let refused = quote(&eur(i64::MIN), &eur(i64::MAX), day("2026-01-01"), day("2027-01-01"), day("2026-01-01"));
        assert_eq!(refused, Err(ProrationError::Overflow));
    }

    fn at(text: &str) -> NaiveDateTime {
        day(text).and_hms_opt(9, 30, 0).unwrap()
    }

    /// The service quote in minor units: registered and paid up to the given days.
    fn service(old: i64, new: i64, cycle: BillingCycle, registered: &str, paid_until: &str, on: &str) -> i64 {
        quote_for_service(&eur(old), &eur(new), cycle, at(registered), at(paid_until), day(on)).unwrap().amount_minor
    }

    #[test]
    fn a_service_quote_prorates_the_cycle_that_ends_at_the_due_date() {
        // Registered 2026-01-01, due 2027-01-01: the cycle of the first test above.
        assert_eq!(service(12000, 24000, BillingCycle::Annual, "2026-01-01", "2027-01-01", "2026-07-02"), 6016);
        // On the day of registration the whole difference is due.
        assert_eq!(service(12000, 24000, BillingCycle::Annual, "2026-01-01", "2027-01-01", "2026-01-01"), 12000);
        // A later cycle (renewed once): 2027-01-01..2028-01-01, 365 days, 183 left.
        assert_eq!(service(12000, 24000, BillingCycle::Annual, "2026-01-01", "2028-01-01", "2027-07-02"), 6016);
    }

    #[test]
    fn a_service_quote_never_starts_the_cycle_before_the_registration() {
        // Registered 2028-02-29, annual: due 2029-02-28. Rewound, that is 2028-02-28, a
        // day early; the cycle is 2028-02-29..2029-02-28 (365 days) and on its first day
        // the full difference is due, not 365/366 of it.
        assert_eq!(service(12000, 24000, BillingCycle::Annual, "2028-02-29", "2029-02-28", "2028-02-29"), 12000);
    }

    #[test]
    fn cycles_paid_ahead_cost_the_full_difference_each() {
        // Registered 2026-01-01, renewed twice ahead: paid until 2029-01-01. On 2026-07-02
        // the current cycle is prorated (6016) and 2027 and 2028 cost 12000 each.
        assert_eq!(
            service(12000, 24000, BillingCycle::Annual, "2026-01-01", "2029-01-01", "2026-07-02"),
            6016 + 2 * 12000
        );
        // A downgrade credits them alike.
        assert_eq!(
            service(24000, 12000, BillingCycle::Annual, "2026-01-01", "2029-01-01", "2026-07-02"),
            -6016 - 2 * 12000
        );
        // Monthly, paid three months ahead of the current one.
        // 2026-05-10..2026-06-10 is 31 days, 21 left from 05-20: 300 × 21 / 31 = 203.2 -> 203.
        assert_eq!(service(500, 800, BillingCycle::Monthly, "2026-04-10", "2026-09-10", "2026-05-20"), 203 + 3 * 300);
    }

    #[test]
    fn an_overdue_service_has_nothing_left_to_prorate() {
        assert_eq!(service(12000, 24000, BillingCycle::Annual, "2026-01-01", "2027-01-01", "2027-03-01"), 0);
    }

    #[test]
    fn a_service_quote_refuses_what_quote_refuses() {
        let usd = Money::new(24000, Currency::parse("USD").unwrap());
        let refused = quote_for_service(
            &eur(12000),
            &usd,
            BillingCycle::Annual,
            at("2026-01-01"),
            at("2027-01-01"),
            day("2026-07-02"),
        );
        assert_eq!(refused.map_err(|e| e.code()), Err("currency_mismatch"));
        let refused = quote_for_service(
            &eur(12000),
            &eur(24000),
            BillingCycle::Annual,
            at("2026-01-01"),
            at("2027-01-01"),
            day("2025-12-31"),
        );
        assert_eq!(refused.map_err(|e| e.code()), Err("change_before_cycle"));
    }

    #[test]
    fn a_quote_is_json_with_a_calendar_date() {
        let quoted = quote(&eur(12000), &eur(24000), day("2026-01-01"), day("2027-01-01"), day("2026-07-02")).unwrap();
        assert_eq!(
            serde_json::to_value(quoted).unwrap(),
            serde_json::json!({"amount_minor": 6016, "currency": "EUR", "effective_at": "2026-07-02"})
        );
    }
}
