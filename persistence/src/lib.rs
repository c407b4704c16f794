//! hostadmin's storage: diesel over SQLite (embedded default) and PostgreSQL
//! (production), one code path for both through `MultiConnection`.
//!
//! Everything here is synchronous; the API runs it off the async workers.

pub mod accounts;
pub mod acme_accounts;
pub mod api_keys;
pub mod audit;
pub mod authorizations;
pub mod billing_settings;
pub mod certificates;
pub mod columns;
pub mod connection;
pub mod counters;
pub mod credit;
pub mod databases;
pub mod dns_records;
pub mod domain_hosts;
pub mod domains;
pub mod email_tokens;
pub mod error;
pub mod forwards;
pub mod ftp_users;
pub mod holds;
pub mod idempotency;
pub mod invoices;
pub mod jobs;
pub mod leases;
pub mod login_failures;
pub mod login_links;
pub mod mail_addresses;
pub mod mailboxes;
pub mod migrations;
pub mod notification_settings;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod planning;
pub mod plans;
pub mod provisioning_states;
mod reach;
pub mod restrictions;
pub mod schema;
pub mod services;
pub mod sessions;
pub mod status_page;
#[cfg(feature = "testing")]
pub mod testing;
pub mod ticket_attachments;
pub mod tickets;
pub mod two_factor;
pub mod usage;
pub mod webhook_deliveries;
pub mod webhooks;

pub use connection::{discard_if_lost, write_transaction, Backend, ConnectionPool, DbConnection};
pub use diesel::result::Error as DieselError;
pub use error::StoreError;
