//! The application layer: one function per thing a user does (renew a service, suspend
//! a customer, add a mailbox). Routes parse a request and shape the answer; the worker
//! runs scheduled work and jobs; both call these use cases and nothing below them.
//!
//! A use case takes the acting [`Actor`](hostadmin_domain::policy::Actor), the object it
//! reached (see [`access`]) and a validated command, and runs one unit of work: lock what
//! the change depends on, in a fixed order (account, reseller packages, service, domain,
//! resource), read it again under the lock, check the state (409) and `If-Match` (412, only
//! when sent), reserve quota, write, audit, and hand the change to the provisioner, all in
//! one transaction. It answers the stored result; HTTP is the route's business.

pub mod access;
pub mod account_recovery;
pub mod accounts;
pub mod acme_orders;
pub mod api_keys;
pub mod audit;
pub mod authorizations;
pub mod billing;
pub mod bulk;
pub mod catalog;
pub mod driven;
pub mod holds;
pub mod hosting;
pub mod impersonation;
pub mod jobs;
pub mod lifecycle;
pub mod login_links;
pub mod notifications;
pub mod plan_changes;
pub mod provision_jobs;
pub mod provisioning;
pub mod provisioning_states;
pub mod reconcile;
pub mod registration;
pub mod resellers;
pub mod restrictions;
pub mod services;
pub mod sessions;
pub mod status;
pub mod support;
pub mod two_factor;
pub mod webhook_delivery;
pub mod webhooks;
