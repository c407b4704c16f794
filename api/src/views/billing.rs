//! Billing as the API shows it: seller settings, orders, invoices, payments, credit.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::billing::country::Country;
use hostadmin_domain::billing::document::{BuyerSnapshot, InvoiceDocument, InvoiceStatus, SellerSnapshot};
use hostadmin_domain::billing::ledger::{InvoiceKind, OrderItemKind, OrderStatus, PaymentMethod};
use hostadmin_domain::billing::settings::BillingSettings;
use hostadmin_domain::billing::tax::TaxRate;
use hostadmin_domain::catalog::BillingCycle;
use hostadmin_domain::money::Currency;
use hostadmin_domain::time;
use hostadmin_persistence::billing_settings::SettingsRow;
use hostadmin_persistence::credit::{BalanceRow, TransactionRow};
use hostadmin_persistence::invoices::InvoiceRow;
use hostadmin_persistence::orders::OrderRow;
use hostadmin_persistence::payments::PaymentRow;

use crate::http::etag::etag;

#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    #[schema(min_length = 1, max_length = 200)]
    pub street: String,
    #[schema(min_length = 1, max_length = 20)]
    pub postal_code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub city: String,
    pub country: Country,
}

/// A seller's settings as the examples of both the answer and the `PUT` body show them.
pub fn settings_example() -> serde_json::Value {
    serde_json::json!({
        "legal_name": "Hosting B.V.", "address": {"street": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam", "country": "NL"},
        "vat_id": "NL004495445B01", "email": "billing@hosting.example", "iban": "NL91ABNA0417164300",
        "invoice_prefix": "INV-", "payment_terms_days": 14, "tax_rates": {"NL": "21", "DE": "19"},
        "default_tax_rate": "0", "reverse_charge": true, "renewal_invoice_days": 14,
        "overdue_suspend_days": 7, "overdue_expire_days": 30
    })
}

/// A seller's billing settings (what `PUT /v1/billing/settings` takes is
/// `PutBillingSettings`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = settings_example)]
pub struct BillingSettingsView {
    #[schema(min_length = 1, max_length = 200)]
    pub legal_name: String,
    pub address: AddressView,
    /// In the EU: a VAT id of the address's country (format and check digits checked).
    pub vat_id: Option<String>,
    pub email: Option<String>,
    /// Checked by its ISO 13616 check digits.
    pub iban: Option<String>,
    /// 1-20 of `A-Z a-z 0-9 - _ /`; default `INV-`.
    #[schema(pattern = "^[A-Za-z0-9_/-]{1,20}$")]
    pub invoice_prefix: String,
    #[schema(minimum = 0, maximum = 365)]
    pub payment_terms_days: u16,
    /// The rate for buyers in each country (ISO 3166-1 alpha-2 keys).
    pub tax_rates: BTreeMap<Country, TaxRate>,
    pub default_tax_rate: TaxRate,
    pub reverse_charge: bool,
    #[schema(minimum = 1, maximum = 365)]
    pub renewal_invoice_days: u16,
    /// Null: never suspend for an unpaid renewal.
    #[schema(minimum = 0, maximum = 365)]
    pub overdue_suspend_days: Option<u16>,
    /// Null: never expire for an unpaid renewal.
    #[schema(minimum = 0, maximum = 365)]
    pub overdue_expire_days: Option<u16>,
}

impl BillingSettingsView {
    pub fn of(settings: &BillingSettings) -> Self {
        Self {
            legal_name: settings.legal_name.clone(),
            address: AddressView {
                street: settings.address.street.clone(),
                postal_code: settings.address.postal_code.clone(),
                city: settings.address.city.clone(),
                country: settings.address.country,
            },
            vat_id: settings.vat_id.clone(),
            email: settings.email.clone(),
            iban: settings.iban.as_ref().map(|iban| iban.to_string()),
            invoice_prefix: settings.invoice_prefix.as_str().to_owned(),
            payment_terms_days: settings.payment_terms_days,
            tax_rates: settings.tax_rates.clone(),
            default_tax_rate: settings.default_tax_rate,
            reverse_charge: settings.reverse_charge,
            renewal_invoice_days: settings.renewal_invoice_days,
            overdue_suspend_days: settings.overdue_suspend_days,
            overdue_expire_days: settings.overdue_expire_days,
        }
    }
}

pub fn settings_response(mut builder: HttpResponseBuilder, row: &SettingsRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(BillingSettingsView::of(&row.settings))
}

/// What an order item asks for.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderItemType {
    NewService,
    Renewal,
    ChangePlan,
}

/// An order item with its price.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemView {
    #[serde(rename = "type")]
    pub kind: OrderItemType,
    /// `new_service`, `change_plan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// `new_service`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<BillingCycle>,
    /// `new_service`: the new service's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `new_service`, `change_plan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addons: Option<Vec<String>>,
    /// `renewal`, `change_plan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// `renewal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles: Option<u32>,
    pub description: String,
    /// Net, before tax.
    pub amount_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-0000000000d1", "number": 7, "status": "pending",
    "buyer_id": "0193a1b2-0000-7000-8000-0000000000c1", "seller_id": "0193a1b2-0000-7000-8000-0000000000a1",
    "service_id": null, "currency": "EUR",
    "items": [{"type": "new_service", "plan_id": "0193a1b2-0000-7000-8000-0000000000e1", "cycle": "annual",
               "name": "Shop", "addons": [], "description": "Web S (annual): Shop", "amount_minor": 12000}],
    "total_minor": 12000, "invoice_id": "0193a1b2-0000-7000-8000-0000000000f1", "failure": null, "note": null,
    "created_by": "0193a1b2-0000-7000-8000-0000000000c1", "created_at": "2026-12-05T09:30:00Z", "updated_at": "2026-12-05T09:30:00Z"
}))]
pub struct OrderView {
    pub id: String,
    /// Gapless per seller.
    pub number: i64,
    pub status: OrderStatus,
    pub buyer_id: String,
    /// The account above the buyer; null: the provider.
    pub seller_id: Option<String>,
    /// The service the order is about (or created), when it is about one.
    pub service_id: Option<String>,
    pub currency: Currency,
    pub items: Vec<OrderItemView>,
    /// The sum of the items, net (the invoice adds tax).
    pub total_minor: i64,
    pub invoice_id: Option<String>,
    /// Why a paid order could not be fulfilled (`failed`).
    pub failure: Option<String>,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderView {
    pub fn from_row(row: &OrderRow) -> Self {
        Self {
            id: row.id.clone(),
            number: row.number,
            status: row.status,
            buyer_id: row.buyer_id.clone(),
            seller_id: row.seller_id.clone(),
            service_id: row.service_id.clone(),
            currency: row.currency.clone(),
            items: row.items.iter().map(item_view).collect(),
            total_minor: row.total_minor,
            invoice_id: row.invoice_id.clone(),
            failure: row.failure.clone(),
            note: row.note.clone(),
            created_by: row.created_by.clone(),
            created_at: time::to_utc(row.created_at),
            updated_at: time::to_utc(row.updated_at),
        }
    }
}

fn item_view(item: &hostadmin_domain::billing::ledger::PricedItem) -> OrderItemView {
    let empty = OrderItemView {
        kind: OrderItemType::NewService,
        plan_id: None,
        cycle: None,
        name: None,
        addons: None,
        service_id: None,
        cycles: None,
        description: item.description.clone(),
        amount_minor: item.amount_minor,
    };
    match &item.kind {
        OrderItemKind::NewService { plan_id, cycle, name, addons } => OrderItemView {
            plan_id: Some(plan_id.clone()),
            cycle: Some(*cycle),
            name: Some(name.clone()),
            addons: Some(addons.clone()),
            ..empty
        },
        OrderItemKind::Renewal { service_id, cycles } => OrderItemView {
            kind: OrderItemType::Renewal,
            service_id: Some(service_id.clone()),
            cycles: Some(*cycles),
            ..empty
        },
        OrderItemKind::ChangePlan { service_id, plan_id, addons } => OrderItemView {
            kind: OrderItemType::ChangePlan,
            service_id: Some(service_id.clone()),
            plan_id: Some(plan_id.clone()),
            addons: addons.clone(),
            ..empty
        },
    }
}

pub fn order_response(mut builder: HttpResponseBuilder, row: &OrderRow) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(row.version))).json(OrderView::from_row(row))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SellerView {
    pub legal_name: String,
    pub address: AddressView,
    pub vat_id: Option<String>,
    pub email: Option<String>,
    pub iban: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BuyerAddressView {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<Country>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BuyerView {
    /// The company, else the account's name.
    pub legal_name: String,
    pub address: BuyerAddressView,
    pub vat_id: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceLineView {
    pub description: String,
    #[schema(minimum = 1)]
    pub quantity: u32,
    pub unit_amount_minor: i64,
    /// `quantity` × `unit_amount_minor`, net.
    pub amount_minor: i64,
    pub tax_rate: TaxRate,
    pub service_id: Option<String>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
}

/// The tax of one rate (EN 16931 BR-CO-17: the rate applied once to the sum of its lines).
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxBreakdownView {
    pub rate: TaxRate,
    pub taxable_minor: i64,
    pub tax_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-0000000000f1", "number": "INV-000001", "kind": "invoice", "status": "unpaid",
    "seller_id": null, "buyer_id": "0193a1b2-0000-7000-8000-0000000000c1",
    "seller": {"legal_name": "Hosting B.V.", "address": {"street": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam", "country": "NL"}, "vat_id": "NL004495445B01", "email": null, "iban": null},
    "buyer": {"legal_name": "Dvořák s.r.o.", "address": {"street": "Náměstí 1", "postal_code": "110 00", "city": "Praha", "country": "CZ"}, "vat_id": null, "email": "jan@example.cz"},
    "lines": [{"description": "Web S (annual): Shop", "quantity": 1, "unit_amount_minor": 12000, "amount_minor": 12000, "tax_rate": "21", "service_id": null, "period_start": null, "period_end": null}],
    "tax_breakdown": [{"rate": "21", "taxable_minor": 12000, "tax_minor": 2520}],
    "currency": "EUR", "subtotal_minor": 12000, "tax_minor": 2520, "total_minor": 14520,
    "amount_paid_minor": 0, "amount_due_minor": 14520, "reverse_charge": false, "payment_reference": "INV-000001",
    "order_id": "0193a1b2-0000-7000-8000-0000000000d1", "credit_note_for": null, "service_id": null,
    "issued_at": "2026-12-05T09:30:00Z", "due_at": "2026-12-19T09:30:00Z", "paid_at": null
}))]
pub struct InvoiceView {
    pub id: String,
    /// The seller's prefix and its gapless sequence.
    pub number: String,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    /// Null: the provider.
    pub seller_id: Option<String>,
    pub buyer_id: String,
    /// As the seller was when the invoice was issued.
    pub seller: SellerView,
    /// As the buyer was when the invoice was issued.
    pub buyer: BuyerView,
    pub lines: Vec<InvoiceLineView>,
    pub tax_breakdown: Vec<TaxBreakdownView>,
    pub currency: Currency,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub amount_paid_minor: i64,
    pub amount_due_minor: i64,
    /// The buyer accounts for the VAT (EU reverse charge): every line at 0 %.
    pub reverse_charge: bool,
    /// What to write on a bank transfer.
    pub payment_reference: String,
    pub order_id: Option<String>,
    /// A credit note: the invoice it corrects.
    pub credit_note_for: Option<String>,
    /// The service the invoice is about, when it is about one.
    pub service_id: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

impl InvoiceView {
    /// The row, with the totals and tax breakdown its document computes.
    pub fn of(row: &InvoiceRow, document: &InvoiceDocument) -> Self {
        Self {
            id: row.id.clone(),
            number: row.number.clone(),
            kind: row.kind,
            status: row.status,
            seller_id: row.seller_id.clone(),
            buyer_id: row.buyer_id.clone(),
            seller: seller_view(&row.seller),
            buyer: buyer_view(&row.buyer),
            lines: row
                .lines
                .iter()
                .map(|line| InvoiceLineView {
                    description: line.description().to_owned(),
                    quantity: line.quantity().get(),
                    unit_amount_minor: line.unit_amount_minor(),
                    amount_minor: line.amount_minor(),
                    tax_rate: line.tax_rate(),
                    service_id: line.service_id().map(|id| id.hyphenated().to_string()),
                    period_start: line.period().map(|p| p.start()),
                    period_end: line.period().map(|p| p.end()),
                })
                .collect(),
            tax_breakdown: document
                .tax_breakdown()
                .iter()
                .map(|entry| TaxBreakdownView {
                    rate: entry.rate,
                    taxable_minor: entry.taxable_minor,
                    tax_minor: entry.tax_minor,
                })
                .collect(),
            currency: row.currency.clone(),
            subtotal_minor: document.subtotal_minor(),
            tax_minor: document.tax_minor(),
            total_minor: document.total_minor(),
            amount_paid_minor: row.amount_paid_minor,
            amount_due_minor: document.amount_due_minor(),
            reverse_charge: row.reverse_charge,
            payment_reference: row.payment_reference.clone(),
            order_id: row.order_id.clone(),
            credit_note_for: row.credit_note_for.clone(),
            service_id: row.service_id.clone(),
            issued_at: time::to_utc(row.issued_at),
            due_at: time::to_utc(row.due_at),
            paid_at: row.paid_at.map(time::to_utc),
        }
    }
}

fn seller_view(seller: &SellerSnapshot) -> SellerView {
    SellerView {
        legal_name: seller.legal_name.clone(),
        address: AddressView {
            street: seller.address.street.clone(),
            postal_code: seller.address.postal_code.clone(),
            city: seller.address.city.clone(),
            country: seller.address.country,
        },
        vat_id: seller.vat_id.clone(),
        email: seller.email.clone(),
        iban: seller.iban.as_ref().map(|iban| iban.to_string()),
    }
}

fn buyer_view(buyer: &BuyerSnapshot) -> BuyerView {
    BuyerView {
        legal_name: buyer.legal_name.clone(),
        address: BuyerAddressView {
            street: buyer.address.street.clone(),
            postal_code: buyer.address.postal_code.clone(),
            city: buyer.address.city.clone(),
            country: buyer.address.country,
        },
        vat_id: buyer.vat_id.clone(),
        email: buyer.email.clone(),
    }
}

/// A payment as the examples of one payment and of an invoice's payments show it.
pub fn payment_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0193a1b2-0000-7000-8000-0000000000b9", "invoice_id": "0193a1b2-0000-7000-8000-0000000000f1",
        "amount_minor": 14520, "currency": "EUR", "method": "bank_transfer", "reference": "NL91ABNA 2026-12-06",
        "received_at": "2026-12-06T00:00:00Z", "recorded_by": "0193a1b2-0000-7000-8000-0000000000a1",
        "created_at": "2026-12-06T08:00:00Z"
    })
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = payment_example)]
pub struct PaymentView {
    pub id: String,
    pub invoice_id: String,
    /// All that was received; what exceeded the amount due went to the buyer's credit.
    pub amount_minor: i64,
    pub currency: Currency,
    /// `credit`: paid from the buyer's credit (apply-credit).
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub received_at: DateTime<Utc>,
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl PaymentView {
    pub fn from_row(row: &PaymentRow) -> Self {
        Self {
            id: row.id.clone(),
            invoice_id: row.invoice_id.clone(),
            amount_minor: row.amount_minor,
            currency: row.currency.clone(),
            method: row.method,
            reference: row.reference.clone(),
            received_at: time::to_utc(row.received_at),
            recorded_by: row.recorded_by.clone(),
            created_at: time::to_utc(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    pub currency: Currency,
    #[schema(minimum = 0)]
    pub amount_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"balances": [{"currency": "EUR", "amount_minor": 2500}]}))]
pub struct CreditView {
    pub balances: Vec<BalanceView>,
}

impl CreditView {
    pub fn of(rows: &[BalanceRow]) -> Self {
        Self {
            balances: rows
                .iter()
                .map(|row| BalanceView { currency: row.currency.clone(), amount_minor: row.amount_minor })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-000000000c31", "currency": "EUR", "amount_minor": 2500, "balance_minor": 2500,
    "reason": "Goodwill for the outage of 3 December", "invoice_id": null, "payment_id": null,
    "created_by": "0193a1b2-0000-7000-8000-0000000000a1", "created_at": "2026-12-05T10:00:00Z"
}))]
pub struct CreditTransactionView {
    pub id: String,
    pub currency: Currency,
    /// Positive added, negative taken.
    pub amount_minor: i64,
    /// The balance after it.
    pub balance_minor: i64,
    pub reason: String,
    pub invoice_id: Option<String>,
    pub payment_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl CreditTransactionView {
    pub fn from_row(row: &TransactionRow) -> Self {
        Self {
            id: row.id.clone(),
            currency: row.currency.clone(),
            amount_minor: row.amount_minor,
            balance_minor: row.balance_minor,
            reason: row.reason.clone(),
            invoice_id: row.invoice_id.clone(),
            payment_id: row.payment_id.clone(),
            created_by: row.created_by.clone(),
            created_at: time::to_utc(row.created_at),
        }
    }
}
