//! How the API shows what use cases answer: the response bodies shared by several route
//! modules, with their `ETag`. One module per area; a view used by one route module only
//! stays in it.

pub mod accounts;
pub mod billing;
pub mod plans;
pub mod provisioning;
pub mod services;
pub mod status;
pub mod support;
