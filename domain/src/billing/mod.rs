//! Billing's rules: countries and tax, VAT ids and IBANs, invoice lines and their
//! totals, invoice numbers, and the document every invoice renderer reads.
//!
//! Pure functions and types; the use cases that store invoices fill these from rows.

pub mod country;
pub mod document;
pub mod iban;
pub mod ledger;
pub mod numbering;
pub mod parties;
pub mod renewal;
pub mod settings;
pub mod tax;
pub mod totals;
pub mod vat_ids;
