//! The drivers against real servers: PowerDNS (records answered over DNS as the zone
//! text says), MariaDB and PostgreSQL (logging in as the users they make), pebble (a
//! certificate issued through DNS-01). tests/drivers/servers.rs starts and stops them.

// The whole crate is test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dns_wire;
mod pebble;
mod servers;

mod acme;
mod databases;
mod latency;
mod powerdns;
