//! Black-box tests: what `hostadmin serve` runs, started on a free port inside the test
//! process (its own thread and actix system, its own database), driven over HTTP. The
//! real binary stays for what needs a process: the command line (cli.rs, `Server::cli`),
//! separate workers (`Server::spawn_worker`) and signals with exit statuses
//! (`Server::start_process`, shutdown.rs). Every test body runs twice, on SQLite and on
//! PostgreSQL.

// The whole crate is test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod receiver;
mod support;

// The real servers the driver tests start (tests/drivers), for the API driving them.
#[allow(dead_code)]
#[path = "../drivers/dns_wire.rs"]
mod dns_wire;
#[path = "../drivers/pebble.rs"]
mod pebble;
#[allow(dead_code)]
#[path = "../drivers/servers.rs"]
mod servers;

mod account_holds;
mod acme;
mod api_keys;
mod audit;
mod auth;
mod authorizations;
mod billing;
mod certificates;
mod cli;
mod concurrent_changes;
mod conventions;
mod customers;
mod database_servers;
mod databases;
mod dates;
mod dns;
mod dns_driver;
mod domains;
mod ftp_users;
mod http_conventions;
mod impersonation;
mod jobs;
mod login_links;
mod mail;
mod mailboxes;
mod outages;
mod plans;
mod provisioning;
mod races;
mod recurring;
mod restrictions;
mod service_lifecycle;
mod services;
mod shutdown;
mod status_page;
mod tenancy;
mod ticket_attachments;
mod tickets;
mod two_factor;
mod webhooks;
mod worker;
