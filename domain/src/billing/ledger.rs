//! Orders, payments and credit: their states and the arithmetic of settling an invoice.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::BillingCycle;

/// `pending` (its invoice unpaid) -> `fulfilled` once paid in full | `cancelled` before
/// payment | `failed` (paid, but it could not be fulfilled: the money went to credit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Fulfilled,
    Cancelled,
    Failed,
}

impl OrderStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Fulfilled, Self::Cancelled, Self::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

/// What an order item asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderItemKind {
    /// A new service on a plan, created once the order is paid.
    NewService { plan_id: String, cycle: BillingCycle, name: String, addons: Vec<String> },
    /// Whole cycles more for a service of the buyer's.
    Renewal { service_id: String, cycles: u32 },
    /// A service of the buyer's moved to another plan (`addons` absent: kept).
    ChangePlan { service_id: String, plan_id: String, addons: Option<Vec<String>> },
}

/// An order item with its price, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedItem {
    #[serde(flatten)]
    pub kind: OrderItemKind,
    pub description: String,
    pub amount_minor: i64,
}

/// An invoice, or a credit note correcting one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    Invoice,
    CreditNote,
}

impl InvoiceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::CreditNote => "credit_note",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Invoice, Self::CreditNote].into_iter().find(|k| k.as_str() == text)
    }
}

/// How a payment reached the seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    BankTransfer,
    Cash,
    Card,
    Other,
    /// Paid from the buyer's credit (apply-credit, or credit a payment left over).
    Credit,
}

impl PaymentMethod {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BankTransfer => "bank_transfer",
            Self::Cash => "cash",
            Self::Card => "card",
            Self::Other => "other",
            Self::Credit => "credit",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::BankTransfer, Self::Cash, Self::Card, Self::Other, Self::Credit].into_iter().find(|m| m.as_str() == text)
    }
}

/// What a payment of `amount` does to an invoice that still has `due` open: the part
/// that pays it, and what is left over for the buyer's credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub applied_minor: i64,
    pub excess_minor: i64,
}

impl Settlement {
    /// `amount` and `due` are not negative.
    pub fn of(amount_minor: i64, due_minor: i64) -> Self {
        let applied_minor = amount_minor.min(due_minor.max(0));
        Self { applied_minor, excess_minor: amount_minor - applied_minor }
    }
}

/// A credit balance after adding `delta` (negative takes), or `None` when it would go
/// below zero or out of range.
pub fn credit_after(balance_minor: i64, delta_minor: i64) -> Option<i64> {
    balance_minor.checked_add(delta_minor).filter(|after| *after >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_pays_what_is_due_and_the_rest_is_credit() {
        assert_eq!(Settlement::of(500, 1210), Settlement { applied_minor: 500, excess_minor: 0 });
        assert_eq!(Settlement::of(1210, 1210), Settlement { applied_minor: 1210, excess_minor: 0 });
        assert_eq!(Settlement::of(2000, 1210), Settlement { applied_minor: 1210, excess_minor: 790 });
        assert_eq!(Settlement::of(100, 0), Settlement { applied_minor: 0, excess_minor: 100 });
    }

    #[test]
    fn credit_never_goes_below_zero() {
        assert_eq!(credit_after(100, -100), Some(0));
        assert_eq!(credit_after(100, -101), None);
        assert_eq!(credit_after(i64::MAX, 1), None);
        assert_eq!(credit_after(0, 250), Some(250));
    }

    #[test]
    fn names_round_trip() {
        for status in [OrderStatus::Pending, OrderStatus::Fulfilled, OrderStatus::Cancelled, OrderStatus::Failed] {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        for method in [PaymentMethod::BankTransfer, PaymentMethod::Cash, PaymentMethod::Card, PaymentMethod::Other] {
            assert_eq!(PaymentMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(InvoiceKind::parse("credit_note"), Some(InvoiceKind::CreditNote));
    }
}
