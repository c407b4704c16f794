//! Black-box tests: the real `hostadmin` binary, started on a free port, driven over
//! HTTP. Every test body runs twice, on SQLite and on PostgreSQL.

// The whole crate is test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod api_keys;
mod audit;
mod auth;
mod cli;
mod conventions;
mod customers;
mod jobs;
mod plans;
mod provisioning;
mod service_lifecycle;
mod services;
mod tenancy;
