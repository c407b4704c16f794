//! hostadmin's HTTP API: routes under `/v1`, authentication, the conventions every route
//! follows, and the command line that starts it all.

pub mod app;
pub mod auth;
pub mod certificates;
pub mod cli;
pub mod config;
pub mod db;
pub mod documents;
pub mod drivers;
pub mod hashing;
pub mod http;
pub mod mail;
pub mod openapi;
pub mod outgoing;
pub mod routes;
pub mod server;
pub mod state;
mod structure;
pub mod telemetry;
pub mod views;
pub mod worker;
