//! Black-box tests: the real `hostadmin` binary, started on a free port, driven over
//! HTTP. Every test body runs twice, on SQLite and on PostgreSQL.

mod support;

mod api_keys;
mod audit;
mod auth;
mod conventions;
mod customers;
mod tenancy;
