//! hostadmin's rules: what an account is, what a credential is, and who may do what.
//!
//! Nothing here performs I/O: persistence stores what this crate decides, the API
//! speaks HTTP about it.

pub mod accounts;
pub mod audit;
pub mod authorizations;
pub mod billing;
pub mod catalog;
pub mod certificates;
pub mod credentials;
pub mod databases;
pub mod dns;
pub mod domains;
pub mod ftp;
pub mod holds;
pub mod ids;
pub mod jobs;
pub mod login_links;
pub mod mailboxes;
pub mod money;
pub mod name_patterns;
pub mod passwords;
pub mod policy;
pub mod proration;
pub mod provisioning;
pub mod restrictions;
pub mod scopes;
pub mod sealing;
pub mod services;
pub mod status;
pub mod support;
pub mod text;
pub mod time;
pub mod two_factor;
pub mod validation;
pub mod webhooks;
