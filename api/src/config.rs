//! Configuration: built-in defaults, then a TOML file, then `HOSTADMIN_*` variables.
//!
//! Secrets are wrapped in [`Secret`], whose `Debug` prints nothing of them, so a
//! configuration can be logged whole.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ipnet::IpNet;
use serde::Deserialize;

use hostadmin_domain::login_links::{LoginUrls, Tool};
use hostadmin_persistence::connection::Timeouts;
use hostadmin_persistence::Backend;

use crate::auth::tool_keys::ToolKeys;
use crate::outgoing::Destinations;

mod drivers;
mod secrets;

use drivers::RawDrivers;
pub use drivers::{AcmeSettings, DatabaseDriverSettings, DnsDriverSettings, Drivers};
pub use secrets::Secret;
use secrets::{generated_secret, read_secret};

/// The file and the environment speak the same keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    database_pool_size: Option<u32>,
    database_connect_timeout_ms: Option<u64>,
    database_timeout_ms: Option<u64>,
    jwt_secret: Option<String>,
    jwt_secret_file: Option<String>,
    encryption_key: Option<String>,
    encryption_key_file: Option<String>,
    cors_origins: Option<String>,
    trusted_proxies: Option<String>,
    metrics_allow: Option<String>,
    public_url: Option<String>,
    mail_dir: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    registration_parent: Option<String>,
    dns_nameservers: Option<String>,
    soa_hostmaster: Option<String>,
    soa_refresh: Option<u32>,
    soa_retry: Option<u32>,
    soa_expire: Option<u32>,
    soa_minimum: Option<u32>,
    access_token_ttl_seconds: Option<u32>,
    refresh_token_ttl_days: Option<u32>,
    registration_enabled: Option<bool>,
    login_failures_per_login: Option<u32>,
    login_failures_per_address: Option<u32>,
    requests_per_minute: Option<u32>,
    password_hash_concurrency: Option<u32>,
    http_workers: Option<u32>,
    log_format: Option<String>,
    expiry_grace_days: Option<u32>,
    worker_interval_ms: Option<u64>,
    shutdown_timeout_seconds: Option<u64>,
    provisioner: Option<String>,
    webhook_allow_hosts: Option<String>,
    tool_keys: Option<String>,
    login_url_panel: Option<String>,
    login_url_webmail: Option<String>,
    login_url_database: Option<String>,
    login_url_files: Option<String>,
    dns_driver: Option<String>,
    powerdns_url: Option<String>,
    powerdns_api_key: Option<String>,
    powerdns_api_key_file: Option<String>,
    powerdns_server_id: Option<String>,
    database_driver: Option<String>,
    mysql_admin_url: Option<String>,
    mysql_admin_url_file: Option<String>,
    hosting_postgres_admin_url: Option<String>,
    hosting_postgres_admin_url_file: Option<String>,
    acme_directory_url: Option<String>,
    acme_ca_file: Option<String>,
    acme_contact: Option<String>,
}

const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "database_pool_size",
    "database_connect_timeout_ms",
    "database_timeout_ms",
    "jwt_secret",
    "jwt_secret_file",
    "encryption_key",
    "encryption_key_file",
    "cors_origins",
    "trusted_proxies",
    "metrics_allow",
    "public_url",
    "mail_dir",
    "smtp_url",
    "mail_from",
    "registration_parent",
    "dns_nameservers",
    "soa_hostmaster",
    "soa_refresh",
    "soa_retry",
    "soa_expire",
    "soa_minimum",
    "access_token_ttl_seconds",
    "refresh_token_ttl_days",
    "registration_enabled",
    "login_failures_per_login",
    "login_failures_per_address",
    "requests_per_minute",
    "password_hash_concurrency",
    "http_workers",
    "log_format",
    "expiry_grace_days",
    "worker_interval_ms",
    "shutdown_timeout_seconds",
    "provisioner",
    "webhook_allow_hosts",
    "tool_keys",
    "login_url_panel",
    "login_url_webmail",
    "login_url_database",
    "login_url_files",
    "dns_driver",
    "powerdns_url",
    "powerdns_api_key",
    "powerdns_api_key_file",
    "powerdns_server_id",
    "database_driver",
    "mysql_admin_url",
    "mysql_admin_url_file",
    "hosting_postgres_admin_url",
    "hosting_postgres_admin_url_file",
    "acme_directory_url",
    "acme_ca_file",
    "acme_contact",
];

/// Which provisioner driver carries out service changes (docs/provisioning.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionerKind {
    /// Built in: completes every change at once; the service's row is the record.
    Local,
    /// Defers every change to the worker, which then completes it: exercises the
    /// deferred path, and is the skeleton a real driver copies.
    Deferred,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub login_failures_per_login: u32,
    pub login_failures_per_address: u32,
    pub requests_per_minute: u32,
}

#[derive(Debug, Clone)]
pub struct Dns {
    pub nameservers: Vec<String>,
    pub soa_hostmaster: String,
    pub soa_refresh: u32,
    pub soa_retry: u32,
    pub soa_expire: u32,
    pub soa_minimum: u32,
}

/// The resolved configuration. Secrets are filled in by [`Config::load_secrets`].
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: Backend,
    pub database_pool_size: u32,
    /// How long the database may take: establishing a connection, and any one request's
    /// work (a pool checkout, a statement, a lock wait). Beyond it: `503 unavailable`.
    pub database_timeouts: Timeouts,
    jwt_secret: Option<Secret>,
    encryption_key: Option<Secret>,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub metrics_allow: Vec<IpNet>,
    pub public_url: String,
    pub mail_dir: PathBuf,
    pub smtp_url: Option<Secret>,
    /// The sender of every mail.
    pub mail_from: lettre::message::Mailbox,
    /// The login of the account that self-registered accounts are placed below; `None`:
    /// the provider's own customers (below the operators).
    pub registration_parent: Option<String>,
    pub dns: Dns,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_days: u32,
    pub registration_enabled: bool,
    pub limits: Limits,
    pub password_hash_concurrency: u32,
    /// actix workers: threads that run the HTTP event loops (database work runs on
    /// blocking threads beside them).
    pub http_workers: u32,
    pub log_format: LogFormat,
    /// Days after `next_due_at` an unrenewed service is kept before it expires.
    pub expiry_grace_days: u32,
    /// How often the worker looks for jobs and due services, in milliseconds.
    pub worker_interval_ms: u64,
    /// How long a stopping process waits for requests in flight and the worker's round
    /// before it gives up on them (docs/operations.md).
    pub shutdown_timeout: Duration,
    pub provisioner: ProvisionerKind,
    /// Hosts, addresses and networks webhooks may reach although they are not public
    /// (and over plain http).
    pub webhook_allow_hosts: Destinations,
    /// The keys tools redeem login links with.
    pub tool_keys: ToolKeys,
    /// The built-in driver's login link templates, one per tool.
    pub login_urls: LoginUrls,
    pub drivers: Drivers,
}

/// The secrets every instance must share.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub jwt: Secret,
    pub encryption_key: [u8; 32],
}

impl Config {
    /// Reads the file (if any) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::from_sources(file, &env)
    }

    /// Reads the file (if any) and `env`, variables as the process environment would hold
    /// them (`HOSTADMIN_*`), without reading or changing the process environment: how a
    /// program that runs the server inside itself (the tests) configures each instance.
    pub fn from_sources(file: Option<&Path>, env: &HashMap<String, String>) -> Result<Self> {
        let mut raw = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => RawConfig::default(),
        };
        overlay_env(&mut raw, env)?;
        Self::resolve(raw)
    }

    fn resolve(mut raw: RawConfig) -> Result<Self> {
        let mut raw_drivers = RawDrivers::take(&mut raw);
        let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr =
            listen_text.parse().with_context(|| format!("listen: {listen_text:?} is not an address:port"))?;
        let data_dir = PathBuf::from(raw.data_dir.unwrap_or_else(|| "./data".to_owned()));
        let database_url =
            raw.database_url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("hostadmin.db").display()));
        let database = Backend::from_url(&database_url).context("database_url")?;
        let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
        let database_pool_size = raw.database_pool_size.unwrap_or(4 * cores);
        if !(1..=1000).contains(&database_pool_size) {
            bail!("database_pool_size must be 1 to 1000");
        }
        let database_timeouts = Timeouts {
            connect: Duration::from_millis(raw.database_connect_timeout_ms.unwrap_or(2_000)),
            statement: Duration::from_millis(raw.database_timeout_ms.unwrap_or(5_000)),
        };
        if !(100..=600_000).contains(&database_timeouts.connect.as_millis())
            || !(100..=600_000).contains(&database_timeouts.statement.as_millis())
        {
            bail!("database_connect_timeout_ms and database_timeout_ms must be 100 to 600000");
        }
        let jwt_secret = read_secret(raw.jwt_secret, raw.jwt_secret_file, "jwt_secret")?;
        let encryption_key = read_secret(raw.encryption_key, raw.encryption_key_file, "encryption_key")?;
        let log_format = match raw.log_format.as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => bail!("log_format must be json or pretty, not {other:?}"),
        };
        let password_hash_concurrency = raw.password_hash_concurrency.unwrap_or(cores).max(1);
        let http_workers = raw.http_workers.unwrap_or(cores);
        if !(1..=256).contains(&http_workers) {
            bail!("http_workers must be 1 to 256");
        }
        let expiry_grace_days = raw.expiry_grace_days.unwrap_or(7);
        if expiry_grace_days > 365 {
            bail!("expiry_grace_days must be 0 to 365");
        }
        let worker_interval_ms = raw.worker_interval_ms.unwrap_or(5000);
        if !(10..=3_600_000).contains(&worker_interval_ms) {
            bail!("worker_interval_ms must be 10 to 3600000");
        }
        let shutdown_timeout_seconds = raw.shutdown_timeout_seconds.unwrap_or(20);
        if !(1..=300).contains(&shutdown_timeout_seconds) {
            bail!("shutdown_timeout_seconds must be 1 to 300");
        }
        let provisioner = match raw.provisioner.as_deref() {
            None | Some("local") => ProvisionerKind::Local,
            Some("deferred") => ProvisionerKind::Deferred,
            Some(other) => bail!("provisioner must be local or deferred, not {other:?}"),
        };
        let webhook_allow_hosts = Destinations::parse(raw.webhook_allow_hosts.as_deref())
            .map_err(|problem| anyhow::anyhow!("webhook_allow_hosts: {problem}"))?;
        let tool_keys =
            ToolKeys::parse(raw.tool_keys.as_deref()).map_err(|problem| anyhow::anyhow!("tool_keys: {problem}"))?;
        let login_urls = LoginUrls::new([
            (Tool::Panel, raw.login_url_panel),
            (Tool::Webmail, raw.login_url_webmail),
            (Tool::Database, raw.login_url_database),
            (Tool::Files, raw.login_url_files),
        ])
        .map_err(|problem| anyhow::anyhow!("login_url_{problem}"))?;
        let drivers = Drivers {
            dns: drivers::dns_driver(&mut raw_drivers)?,
            databases: drivers::database_driver(&mut raw_drivers)?,
            acme: drivers::acme(&mut raw_drivers)?,
        };
        if drivers.acme.is_some() && drivers.dns == DnsDriverSettings::Local {
            bail!("acme_directory_url needs dns_driver = powerdns: DNS-01 challenges are written through it");
        }
        Ok(Self {
            listen,
            public_url: raw.public_url.unwrap_or_else(|| format!("http://{listen}")).trim_end_matches('/').to_owned(),
            mail_dir: raw.mail_dir.map(PathBuf::from).unwrap_or_else(|| data_dir.join("mail")),
            data_dir,
            database,
            database_pool_size,
            database_timeouts,
            jwt_secret,
            encryption_key,
            cors_origins: list(raw.cors_origins.as_deref()),
            trusted_proxies: networks(raw.trusted_proxies.as_deref(), "trusted_proxies")?,
            metrics_allow: match raw.metrics_allow.as_deref() {
                Some(text) => networks(Some(text), "metrics_allow")?,
                None => networks(Some("127.0.0.0/8,::1"), "metrics_allow")?,
            },
            smtp_url: match raw.smtp_url {
                Some(url) => {
                    lettre::SmtpTransport::from_url(&url)
                        .map_err(|_| anyhow::anyhow!("smtp_url is not a valid SMTP URL"))?;
                    Some(Secret::new(url))
                }
                None => None,
            },
            mail_from: {
                let text = raw.mail_from.unwrap_or_else(|| "hostadmin <noreply@localhost>".to_owned());
                text.parse().with_context(|| format!("mail_from: {text:?} is not a mail address"))?
            },
            registration_parent: raw
                .registration_parent
                .map(|login| login.trim().to_lowercase())
                .filter(|l| !l.is_empty()),
            dns: Dns {
                nameservers: match raw.dns_nameservers.as_deref() {
                    Some(text) => list(Some(text)),
                    None => vec!["ns1.hostadmin.test".to_owned(), "ns2.hostadmin.test".to_owned()],
                },
                soa_hostmaster: raw.soa_hostmaster.unwrap_or_else(|| "hostmaster.hostadmin.test".to_owned()),
                soa_refresh: raw.soa_refresh.unwrap_or(3600),
                soa_retry: raw.soa_retry.unwrap_or(600),
                soa_expire: raw.soa_expire.unwrap_or(1_209_600),
                soa_minimum: raw.soa_minimum.unwrap_or(300),
            },
            access_token_ttl_seconds: raw.access_token_ttl_seconds.unwrap_or(900).clamp(60, 86_400),
            refresh_token_ttl_days: raw.refresh_token_ttl_days.unwrap_or(30).clamp(1, 365),
            registration_enabled: raw.registration_enabled.unwrap_or(false),
            limits: Limits {
                login_failures_per_login: raw.login_failures_per_login.unwrap_or(10).max(1),
                login_failures_per_address: raw.login_failures_per_address.unwrap_or(50).max(1),
                requests_per_minute: raw.requests_per_minute.unwrap_or(1200).max(1),
            },
            password_hash_concurrency,
            http_workers,
            log_format,
            expiry_grace_days,
            worker_interval_ms,
            shutdown_timeout: Duration::from_secs(shutdown_timeout_seconds),
            provisioner,
            webhook_allow_hosts,
            tool_keys,
            login_urls,
            drivers,
        })
    }

    /// The configured secrets, or on SQLite the ones generated into the data directory
    /// on first start. PostgreSQL deployments run several instances, which must share
    /// them, so there they are required.
    pub fn load_secrets(&self) -> Result<Secrets> {
        let jwt = match &self.jwt_secret {
            Some(secret) => secret.clone(),
            None if self.database.is_sqlite() => {
                Secret::new(generated_secret(&self.data_dir.join("jwt_secret"), || {
                    let bytes = hostadmin_domain::credentials::random_bytes::<48>()?;
                    Ok(STANDARD.encode(bytes))
                })?)
            }
            None => bail!("HOSTADMIN_JWT_SECRET (or _FILE) is required with PostgreSQL"),
        };
        if jwt.expose().len() < 32 {
            bail!("the JWT secret must be at least 32 bytes");
        }
        let key_text = match &self.encryption_key {
            Some(secret) => secret.clone(),
            None if self.database.is_sqlite() => {
                Secret::new(generated_secret(&self.data_dir.join("encryption_key"), || {
                    let bytes = hostadmin_domain::credentials::random_bytes::<32>()?;
                    Ok(STANDARD.encode(bytes))
                })?)
            }
            None => bail!("HOSTADMIN_ENCRYPTION_KEY (or _FILE) is required with PostgreSQL"),
        };
        let decoded = STANDARD
            .decode(key_text.expose())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .context("the encryption key must be 32 bytes in standard padded base64")?;
        Ok(Secrets { jwt, encryption_key: decoded })
    }
}

fn overlay_env(raw: &mut RawConfig, env: &HashMap<String, String>) -> Result<()> {
    let mut table = toml::Table::new();
    for key in ENV_KEYS {
        let name = format!("HOSTADMIN_{}", key.to_uppercase());
        if let Some(value) = env.get(&name) {
            table.insert((*key).to_owned(), toml::Value::String(value.clone()));
        }
    }
    if table.is_empty() {
        return Ok(());
    }
    // Environment values are text; numbers and booleans are parsed by their field type.
    let typed: toml::Table = table
        .into_iter()
        .map(|(key, value)| {
            let text = value.as_str().unwrap_or_default().to_owned();
            let parsed = text
                .parse::<i64>()
                .map(toml::Value::Integer)
                .or_else(|_| text.parse::<bool>().map(toml::Value::Boolean))
                .unwrap_or(toml::Value::String(text.clone()));
            let value = if is_text_key(&key) { toml::Value::String(text) } else { parsed };
            (key, value)
        })
        .collect();
    let from_env: RawConfig =
        typed.try_into().context("a HOSTADMIN_* environment variable has a value of the wrong type")?;
    merge(raw, from_env);
    Ok(())
}

fn is_text_key(key: &str) -> bool {
    !matches!(
        key,
        "database_pool_size"
            | "database_connect_timeout_ms"
            | "database_timeout_ms"
            | "soa_refresh"
            | "soa_retry"
            | "soa_expire"
            | "soa_minimum"
            | "access_token_ttl_seconds"
            | "refresh_token_ttl_days"
            | "registration_enabled"
            | "login_failures_per_login"
            | "login_failures_per_address"
            | "requests_per_minute"
            | "password_hash_concurrency"
            | "http_workers"
            | "expiry_grace_days"
            | "worker_interval_ms"
            | "shutdown_timeout_seconds"
    )
}

macro_rules! take_some {
    ($into:ident, $from:ident, $($field:ident),*) => {
        $( if $from.$field.is_some() { $into.$field = $from.$field; } )*
    };
}

fn merge(into: &mut RawConfig, from: RawConfig) {
    take_some!(
        into,
        from,
        listen,
        data_dir,
        database_url,
        database_pool_size,
        database_connect_timeout_ms,
        database_timeout_ms,
        jwt_secret,
        jwt_secret_file,
        encryption_key,
        encryption_key_file,
        cors_origins,
        trusted_proxies,
        metrics_allow,
        public_url,
        mail_dir,
        smtp_url,
        mail_from,
        registration_parent,
        dns_nameservers,
        soa_hostmaster,
        soa_refresh,
        soa_retry,
        soa_expire,
        soa_minimum,
        access_token_ttl_seconds,
        refresh_token_ttl_days,
        registration_enabled,
        login_failures_per_login,
        login_failures_per_address,
        requests_per_minute,
        password_hash_concurrency,
        http_workers,
        log_format,
        expiry_grace_days,
        worker_interval_ms,
        shutdown_timeout_seconds,
        provisioner,
        webhook_allow_hosts,
        tool_keys,
        login_url_panel,
        login_url_webmail,
        login_url_database,
        login_url_files,
        dns_driver,
        powerdns_url,
        powerdns_api_key,
        powerdns_api_key_file,
        powerdns_server_id,
        database_driver,
        mysql_admin_url,
        mysql_admin_url_file,
        hosting_postgres_admin_url,
        hosting_postgres_admin_url_file,
        acme_directory_url,
        acme_ca_file,
        acme_contact
    );
}

fn list(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// IP addresses or CIDR networks; a bare address is a network of one.
fn networks(text: Option<&str>, setting: &str) -> Result<Vec<IpNet>> {
    list(text)
        .into_iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .with_context(|| format!("{setting}: {item:?} is not an IP address or network"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::tests_support::secret;
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_need_no_setup() {
        let config = Config::from_sources(None, &env(&[])).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database, Backend::Sqlite { path: "./data/hostadmin.db".into() });
        assert_eq!(config.limits.requests_per_minute, 1200);
        assert!(!config.registration_enabled);
    }

    #[test]
    fn http_workers_default_to_one_per_core_and_are_bounded() {
        let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
        assert_eq!(Config::from_sources(None, &env(&[])).unwrap().http_workers, cores);
        assert_eq!(Config::from_sources(None, &env(&[("HOSTADMIN_HTTP_WORKERS", "1")])).unwrap().http_workers, 1);
        for refused in ["0", "257", "many"] {
            assert!(Config::from_sources(None, &env(&[("HOSTADMIN_HTTP_WORKERS", refused)])).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hostadmin.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nrequests_per_minute = 5\n").unwrap();
        let config = Config::from_sources(
            Some(&file),
            &env(&[("HOSTADMIN_REQUESTS_PER_MINUTE", "7"), ("HOSTADMIN_REGISTRATION_ENABLED", "true")]),
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.limits.requests_per_minute, 7);
        assert!(config.registration_enabled);
    }

    #[test]
    fn unknown_schemes_and_file_keys_are_errors() {
        assert!(Config::from_sources(None, &env(&[("HOSTADMIN_DATABASE_URL", "mysql://x/y")])).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "lisen = \"typo\"\n").unwrap();
        assert!(Config::from_sources(Some(&file), &env(&[])).is_err());
    }

    #[test]
    fn drivers_default_to_the_built_in_ones() {
        let config = Config::from_sources(None, &env(&[])).unwrap();
        assert_eq!(
            config.drivers,
            Drivers { dns: DnsDriverSettings::Local, databases: DatabaseDriverSettings::Local, acme: None }
        );
    }

    #[test]
    fn drivers_are_chosen_per_kind_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let root = rcgen::generate_simple_self_signed(vec!["ca.test".to_owned()]).unwrap();
        std::fs::write(&ca, root.cert.pem()).unwrap();
        let config = Config::from_sources(
            None,
            &env(&[
                ("HOSTADMIN_DNS_DRIVER", "powerdns"),
                ("HOSTADMIN_POWERDNS_URL", "http://127.0.0.1:8081/"),
                ("HOSTADMIN_POWERDNS_API_KEY", "pdns-key"),
                ("HOSTADMIN_DATABASE_DRIVER", "servers"),
                ("HOSTADMIN_MYSQL_ADMIN_URL", "mysql://root:topsecret@127.0.0.1:3306"),
                ("HOSTADMIN_ACME_DIRECTORY_URL", "https://127.0.0.1:14000/dir"),
                ("HOSTADMIN_ACME_CA_FILE", &ca.to_string_lossy()),
                ("HOSTADMIN_ACME_CONTACT", "certs@example.test"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.drivers.dns,
            DnsDriverSettings::PowerDns {
                url: "http://127.0.0.1:8081".into(),
                api_key: secret("pdns-key"),
                server_id: "localhost".into()
            }
        );
        assert_eq!(
            config.drivers.databases,
            DatabaseDriverSettings::Servers {
                mysql_admin_url: Some(secret("mysql://root:topsecret@127.0.0.1:3306")),
                postgres_admin_url: None
            }
        );
        let acme = config.drivers.acme.clone().unwrap();
        assert_eq!(acme.contact.as_deref(), Some("mailto:certs@example.test"));
        assert_eq!(acme.ca_file, Some(ca));
        let printed = format!("{config:?}");
        assert!(!printed.contains("topsecret") && !printed.contains("pdns-key"), "{printed}");

        let refused: &[&[(&str, &str)]] = &[
            &[("HOSTADMIN_DNS_DRIVER", "bind")],
            &[("HOSTADMIN_DNS_DRIVER", "powerdns"), ("HOSTADMIN_POWERDNS_URL", "http://127.0.0.1:8081")],
            &[("HOSTADMIN_DNS_DRIVER", "powerdns"), ("HOSTADMIN_POWERDNS_API_KEY", "k")],
            &[
                ("HOSTADMIN_DNS_DRIVER", "powerdns"),
                ("HOSTADMIN_POWERDNS_URL", "127.0.0.1:8081"),
                ("HOSTADMIN_POWERDNS_API_KEY", "k"),
            ],
            &[("HOSTADMIN_DATABASE_DRIVER", "servers")],
            &[("HOSTADMIN_DATABASE_DRIVER", "servers"), ("HOSTADMIN_MYSQL_ADMIN_URL", "postgres://u:p@h/db")],
            &[("HOSTADMIN_ACME_CONTACT", "a@b.test")],
            &[("HOSTADMIN_ACME_DIRECTORY_URL", "https://ca.test/dir")], // no DNS driver for DNS-01
            &[("HOSTADMIN_ACME_DIRECTORY_URL", "https://ca.test/dir"), ("HOSTADMIN_ACME_CONTACT", "not mail")],
            &[("HOSTADMIN_ACME_DIRECTORY_URL", "https://ca.test/dir"), ("HOSTADMIN_ACME_CA_FILE", "/nonexistent")],
        ];
        for pairs in refused {
            assert!(Config::from_sources(None, &env(pairs)).is_err(), "{pairs:?}");
        }
        let error = Config::from_sources(
            None,
            &env(&[
                ("HOSTADMIN_DATABASE_DRIVER", "servers"),
                ("HOSTADMIN_HOSTING_POSTGRES_ADMIN_URL", "mysql://u:hidden@h"),
            ]),
        )
        .unwrap_err();
        assert!(!format!("{error:#}").contains("hidden"), "a refused URL is not repeated: {error:#}");
    }

    #[test]
    fn secrets_are_required_with_postgres_and_generated_with_sqlite() {
        let pg = Config::from_sources(None, &env(&[("HOSTADMIN_DATABASE_URL", "postgres://h/db")])).unwrap();
        assert!(pg.load_secrets().is_err());

        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_string_lossy().into_owned();
        let sqlite = Config::from_sources(None, &env(&[("HOSTADMIN_DATA_DIR", &data)])).unwrap();
        let first = sqlite.load_secrets().unwrap();
        let second = sqlite.load_secrets().unwrap();
        assert_eq!(first.jwt, second.jwt, "generated once, then read back");
        assert_eq!(first.encryption_key, second.encryption_key);
        let key_file = dir.path().join("jwt_secret");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn secret_files_lose_one_trailing_newline_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let jwt = dir.path().join("jwt");
        std::fs::write(&jwt, format!("{}\n", "s".repeat(40))).unwrap();
        let config = Config::from_sources(
            None,
            &env(&[
                ("HOSTADMIN_DATABASE_URL", "postgres://h/db"),
                ("HOSTADMIN_JWT_SECRET_FILE", &jwt.to_string_lossy()),
                ("HOSTADMIN_ENCRYPTION_KEY", &STANDARD.encode([7u8; 32])),
            ]),
        )
        .unwrap();
        let secrets = config.load_secrets().unwrap();
        assert_eq!(secrets.jwt.expose(), "s".repeat(40));
        assert_eq!(secrets.encryption_key, [7u8; 32]);
        assert!(!format!("{config:?}").contains("ssss"), "secrets never reach Debug output");

        let short = Config::from_sources(
            None,
            &env(&[
                ("HOSTADMIN_DATABASE_URL", "postgres://h/db"),
                ("HOSTADMIN_JWT_SECRET", "short"),
                ("HOSTADMIN_ENCRYPTION_KEY", &STANDARD.encode([7u8; 32])),
            ]),
        )
        .unwrap();
        assert!(short.load_secrets().is_err());
    }

    #[test]
    fn login_url_templates_need_a_token_place_and_tool_keys_a_length() {
        let config = Config::from_sources(
            None,
            &env(&[
                ("HOSTADMIN_LOGIN_URL_WEBMAIL", "https://mail.example/sso?t={token}"),
                ("HOSTADMIN_TOOL_KEYS", "webmail=0123456789abcdef0123456789abcdef"),
                ("HOSTADMIN_WEBHOOK_ALLOW_HOSTS", "hooks.internal,10.0.0.0/8"),
            ]),
        )
        .unwrap();
        assert_eq!(config.login_urls.for_tool(Tool::Webmail), Some("https://mail.example/sso?t={token}"));
        assert_eq!(config.login_urls.for_tool(Tool::Panel), None);
        assert!(!format!("{config:?}").contains("0123456789abcdef"), "tool keys never reach logs");
        for bad in [
            ("HOSTADMIN_LOGIN_URL_PANEL", "https://panel.example/sso"),
            ("HOSTADMIN_TOOL_KEYS", "short"),
            ("HOSTADMIN_WEBHOOK_ALLOW_HOSTS", "not a host!"),
        ] {
            assert!(Config::from_sources(None, &env(&[bad])).is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
pub mod tests_support {
    use super::Secret;

    pub fn secret(text: &str) -> Secret {
        Secret::new(text.to_owned())
    }
}
