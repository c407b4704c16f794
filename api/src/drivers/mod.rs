//! Drivers for the real servers behind hosting resources: a DNS server for zones, the
//! database servers of customers' databases, an ACME CA for certificates
//! (docs/drivers.md).
//!
//! Each kind of resource has a trait here, object-safe so the worker holds the
//! configured driver as `Arc<dyn ...>`, with async methods returning boxed futures (the
//! worker runs on tokio). Every call is idempotent: the worker retries after a crash or a
//! lost lease, so creating what exists, or removing what is gone, is a success. Errors
//! say whether trying again can help ([`DriverError::is_retryable`]).
//!
//! The drivers never see hostadmin's database: the caller hands them plain data (a zone
//! with its SOA, NS and records; a database name, user and opened password; the names of
//! a certificate) and stores what they answer.

pub mod acme;
pub mod database_servers;
pub mod http_client;
pub mod powerdns;
pub mod rrsets;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use hostadmin_domain::databases::DatabaseEngine;
use hostadmin_domain::provisioning::ProvisioningError;

pub use rrsets::{Rrset, RrsetChange, ZoneSpec};

use crate::config::{DatabaseDriverSettings, DnsDriverSettings, Drivers};

/// Why a driver call failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The server could not be reached (connection refused, no route, TLS failure).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The server did not answer in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The server failed or is busy (HTTP 5xx, too many connections).
    #[error("server error: {0}")]
    Unavailable(String),
    /// The server asks to slow down; `retry_after` is its hint, when it gave one.
    #[error("rate limited: {detail}")]
    RateLimited { detail: String, retry_after: Option<Duration> },
    /// The server refused the operation; trying again will not help. The detail is the
    /// server's reason.
    #[error("refused: {0}")]
    Refused(String),
}

impl DriverError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Refused(_))
    }

    /// The least time to wait before trying again, when the server said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<DriverError> for ProvisioningError {
    fn from(error: DriverError) -> Self {
        if error.is_retryable() {
            Self::Retry(error.to_string())
        } else {
            Self::Refused(error.to_string())
        }
    }
}

/// A DNS server that serves hostadmin's zones (PowerDNS; the built-in driver keeps zones
/// only as rows).
pub trait DnsDriver: Send + Sync {
    fn name(&self) -> &'static str;

    /// Whether the server answers (start-up and `/readyz`).
    fn check(&self) -> BoxFuture<'_, Result<(), DriverError>>;

    /// Makes the server hold exactly `zone` (created when absent), and answers the
    /// changes that took: none when the server already held it, so applying the same
    /// zone twice changes nothing. ACME challenge records (`_acme-challenge` TXT) on the
    /// server are left alone. This is also reconcile's repair.
    fn ensure_zone<'a>(&'a self, zone: &'a ZoneSpec) -> BoxFuture<'a, Result<Vec<RrsetChange>, DriverError>>;

    /// Applies RRset changes to an existing zone, all or none.
    fn apply<'a>(&'a self, zone: &'a str, changes: &'a [RrsetChange]) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Removes the zone; answers whether there was one.
    fn remove_zone<'a>(&'a self, zone: &'a str) -> BoxFuture<'a, Result<bool, DriverError>>;

    /// The zone's RRsets as the server holds them (canonical form, sorted), or `None`
    /// when it has no such zone: reconcile compares this with hostadmin's zone.
    fn read_zone<'a>(&'a self, zone: &'a str) -> BoxFuture<'a, Result<Option<Vec<Rrset>>, DriverError>>;
}

/// A password on its way to a server: opened from its sealed form just before the
/// call, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(clear: impl Into<String>) -> Self {
        Self(clear.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A customer's database and its one user, with their stored names (`1042_shop`), as the
/// resource says: the driver checks them again before they reach a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSpec {
    pub engine: DatabaseEngine,
    pub name: String,
    pub user: String,
}

/// What one engine's server holds of hostadmin's naming (`<number>_<name>`): reconcile
/// compares it with the rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseInventory {
    /// Databases, sorted.
    pub databases: Vec<String>,
    /// Users, sorted, each with the databases it is granted, sorted.
    pub users: Vec<(String, Vec<String>)>,
}

/// The database servers of customers' databases (MariaDB/MySQL and PostgreSQL).
pub trait DatabaseDriver: Send + Sync {
    fn name(&self) -> &'static str;

    /// The engines it has a server for; the others' databases are refused.
    fn engines(&self) -> Vec<DatabaseEngine>;

    /// Whether `engine`'s server answers; refused when it is not configured.
    fn check(&self, engine: DatabaseEngine) -> BoxFuture<'_, Result<(), DriverError>>;

    /// Creates the database and its user with `password`, granted on that database
    /// only. Idempotent: what exists is kept, and the user's password and grant are set
    /// again.
    fn create<'a>(&'a self, spec: &'a DatabaseSpec, password: &'a Password) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Sets the user's password.
    fn set_password<'a>(
        &'a self,
        spec: &'a DatabaseSpec,
        password: &'a Password,
    ) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Drops the database and its user; gone already is a success.
    fn drop_database<'a>(&'a self, spec: &'a DatabaseSpec) -> BoxFuture<'a, Result<(), DriverError>>;

    /// What the engine's server holds of hostadmin's naming.
    fn inventory(&self, engine: DatabaseEngine) -> BoxFuture<'_, Result<DatabaseInventory, DriverError>>;
}

/// One name of a certificate and the zone its DNS-01 challenge is written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateName {
    /// The name, lowercase, without a final dot (`www.shop.test`, `*.shop.test`).
    pub name: String,
    /// The hostadmin zone that holds it (`shop.test`).
    pub zone: String,
}

/// An issued certificate: the chain as the CA sent it (leaf first) and its new key.
pub struct IssuedCertificate {
    pub chain_pem: String,
    /// PKCS#8 PEM; the caller seals it at once.
    pub private_key_pem: Password,
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate").field("chain_pem", &self.chain_pem).finish_non_exhaustive()
    }
}

/// A certificate authority that issues certificates automatically (ACME).
pub trait CertificateDriver: Send + Sync {
    fn name(&self) -> &'static str;

    /// Whether the CA's directory answers.
    fn check(&self) -> BoxFuture<'_, Result<(), DriverError>>;

    /// Orders a certificate for `names` (the first is the common name), proves control of
    /// each through a DNS-01 challenge written by the DNS driver, and answers the chain and
    /// key. A CA's refusal is [`DriverError::Refused`] with its problem detail;
    /// `rateLimited` is [`DriverError::RateLimited`].
    fn issue<'a>(&'a self, names: &'a [CertificateName]) -> BoxFuture<'a, Result<IssuedCertificate, DriverError>>;

    /// An account the driver made at its CA since the last call, once: the CA's
    /// directory URL and the account's credentials, for the caller to seal and keep.
    fn new_account(&self) -> Option<(String, Password)> {
        None
    }

    /// The CA's directory URL: the key the driver's account is kept under.
    fn directory_url(&self) -> &str;
}

/// The drivers the configuration chose; `None`: the built-in one (the resource is
/// hostadmin's row only).
#[derive(Clone, Default)]
pub struct Configured {
    pub dns: Option<Arc<dyn DnsDriver>>,
    pub databases: Option<Arc<dyn DatabaseDriver>>,
    pub certificates: Option<Arc<dyn CertificateDriver>>,
}

impl Configured {
    /// Builds the configured drivers; nothing is contacted yet, so a server that is down
    /// at start-up is reported by [`Configured::check`], not a failed start.
    /// `acme_credentials`: the ACME account made earlier, if one was stored.
    pub fn new(settings: &Drivers, acme_credentials: Option<Password>) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let dns: Option<Arc<dyn DnsDriver>> = match &settings.dns {
            DnsDriverSettings::Local => None,
            DnsDriverSettings::PowerDns { url, api_key, server_id } => Some(Arc::new(
                powerdns::PowerDns::new(url, api_key.expose(), server_id).context("the PowerDNS driver")?,
            )),
        };
        let databases: Option<Arc<dyn DatabaseDriver>> = match &settings.databases {
            DatabaseDriverSettings::Local => None,
            DatabaseDriverSettings::Servers { mysql_admin_url, postgres_admin_url } => Some(Arc::new(
                database_servers::DatabaseServers::new(
                    mysql_admin_url.as_ref().map(|url| url.expose()),
                    postgres_admin_url.as_ref().map(|url| url.expose()),
                )
                .context("the database-server driver")?,
            )),
        };
        let certificates: Option<Arc<dyn CertificateDriver>> = match (&settings.acme, &dns) {
            (None, _) => None,
            (Some(_), None) => anyhow::bail!("ACME needs a DNS driver to write its DNS-01 challenges (dns_driver)"),
            (Some(acme), Some(dns)) => {
                let roots = match &acme.ca_file {
                    Some(path) => {
                        Some(std::fs::read(path).with_context(|| format!("acme_ca_file: reading {}", path.display()))?)
                    }
                    None => None,
                };
                Some(Arc::new(
                    acme::Acme::new(
                        &acme.directory_url,
                        roots.as_deref(),
                        acme.contact.as_deref(),
                        dns.clone(),
                        acme_credentials,
                    )
                    .context("the ACME driver")?,
                ))
            }
        };
        Ok(Self { dns, databases, certificates })
    }

    /// Asks every configured server whether it answers: for `/readyz` and the start-up
    /// log. Each entry names the driver (`dns:powerdns`, `databases:mysql`, ...).
    pub async fn check(&self) -> Vec<(String, Result<(), DriverError>)> {
        let mut results = Vec::new();
        if let Some(dns) = &self.dns {
            results.push((format!("dns:{}", dns.name()), dns.check().await));
        }
        if let Some(databases) = &self.databases {
            for engine in databases.engines() {
                results.push((format!("databases:{engine}"), databases.check(engine).await));
            }
        }
        if let Some(certificates) = &self.certificates {
            results.push((format!("certificates:{}", certificates.name()), certificates.check().await));
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_are_final() {
        assert!(DriverError::Unreachable("x".into()).is_retryable());
        assert!(DriverError::Timeout("x".into()).is_retryable());
        assert!(DriverError::Unavailable("x".into()).is_retryable());
        let limited = DriverError::RateLimited { detail: "x".into(), retry_after: Some(Duration::from_secs(9)) };
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(9)));
        assert!(!DriverError::Refused("x".into()).is_retryable());
        assert_eq!(
            ProvisioningError::from(DriverError::Refused("no".into())),
            ProvisioningError::Refused("refused: no".into())
        );
        assert!(matches!(ProvisioningError::from(DriverError::Timeout("t".into())), ProvisioningError::Retry(_)));
    }

    #[tokio::test]
    async fn configured_servers_that_are_down_are_reported_not_fatal() {
        use crate::config::{tests_support::secret, AcmeSettings};
        let settings = Drivers {
            dns: DnsDriverSettings::PowerDns {
                url: "http://127.0.0.1:9".into(),
                api_key: secret("k"),
                server_id: "localhost".into(),
            },
            databases: DatabaseDriverSettings::Servers {
                mysql_admin_url: Some(secret("mysql://root@127.0.0.1:9")),
                postgres_admin_url: None,
            },
            acme: Some(AcmeSettings { directory_url: "https://127.0.0.1:9/dir".into(), ca_file: None, contact: None }),
        };
        let configured = Configured::new(&settings, None).unwrap();
        let report = configured.check().await;
        let names: Vec<&str> = report.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["dns:powerdns", "databases:mysql", "certificates:acme"]);
        assert!(report.iter().all(|(_, result)| result.as_ref().is_err_and(DriverError::is_retryable)), "{report:?}");

        let built_in = Configured::new(
            &Drivers { dns: DnsDriverSettings::Local, databases: DatabaseDriverSettings::Local, acme: None },
            None,
        )
        .unwrap();
        assert!(built_in.check().await.is_empty());
    }

    #[test]
    fn secrets_are_never_printed() {
        assert_eq!(format!("{:?}", Password::new("hunter2")), "Password(***)");
        let issued = IssuedCertificate { chain_pem: "chain".into(), private_key_pem: Password::new("KEY") };
        assert!(!format!("{issued:?}").contains("KEY"));
    }
}
