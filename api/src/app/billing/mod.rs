//! Billing: every account buys from its seller (the account above it, or the provider
//! for a top-level account). Sellers keep their settings; buyers place orders; each
//! order issues its invoice in the same transaction; payments (recorded by the seller,
//! or from the buyer's credit) settle invoices, and an invoice paid in full fulfils its
//! order. Rules (tax, totals, numbers, documents) live in `hostadmin_domain::billing`.
//!
//! - `settings`: a seller's billing settings.
//! - `orders`: placing, listing, reading and cancelling orders.
//! - `invoices`: issuing invoices and credit notes, voiding, the documents.
//! - `payments`: payments and apply-credit, which settle invoices.
//! - `fulfilment`: carrying out a paid order.
//! - `credit`: buyers' credit balances.
//! - `notify`: the mails about invoices.
//! - `renewals`: recurring billing, run by the worker.

pub mod credit;
mod fulfilment;
pub mod invoices;
mod notify;
pub mod orders;
pub mod payments;
pub mod renewals;
pub mod settings;

use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::billing::settings::BillingSettings;
use hostadmin_domain::policy::Actor;
use hostadmin_persistence::accounts::AccountRow;
use hostadmin_persistence::billing_settings as settings_store;
use hostadmin_persistence::DbConnection;

use crate::http::problem::ApiError;

/// The seller of an account: the account above it; `None`, the provider, for a
/// top-level account.
pub fn seller_of(buyer: &AccountRow) -> Option<String> {
    buyer.parent_id.clone()
}

/// Whether the actor is the seller `seller_id` (operators act for the provider).
pub fn acts_as_seller(actor: &Actor, seller_id: Option<&str>) -> bool {
    match seller_id {
        Some(id) => actor.account_id == id,
        None => actor.kind == AccountKind::Operator,
    }
}

/// The seller whose settings the actor keeps: its own as a reseller, the provider's as
/// an operator.
pub fn own_seller_id(actor: &Actor) -> Option<String> {
    match actor.kind {
        AccountKind::Operator => None,
        _ => Some(actor.account_id.clone()),
    }
}

/// The settings a seller issues invoices with: `409 billing_not_configured` until it has
/// set them (an invoice needs the seller's legal name and address).
pub fn settings_of(conn: &mut DbConnection, seller_id: Option<&str>) -> Result<BillingSettings, ApiError> {
    settings_store::find(conn, seller_id)?.map(|row| row.settings).ok_or_else(|| {
        ApiError::conflict(
            "billing_not_configured",
            match seller_id {
                Some(_) => "the seller has not set up its billing settings (PUT /v1/billing/settings) yet",
                None => "the provider has not set up its billing settings (PUT /v1/billing/settings) yet",
            },
        )
    })
}
