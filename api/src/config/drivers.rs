//! The driver settings (docs/drivers.md): which server carries out each kind of hosting
//! resource, checked together because one driver's settings are meaningless without it.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::{read_secret, RawConfig, Secret};

/// The servers behind hosting resources (docs/drivers.md); each kind defaults to the
/// built-in driver, which keeps the resource as hostadmin's row only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drivers {
    pub dns: DnsDriverSettings,
    pub databases: DatabaseDriverSettings,
    /// Automatic certificates; `None`: off.
    pub acme: Option<AcmeSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsDriverSettings {
    Local,
    PowerDns { url: String, api_key: Secret, server_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseDriverSettings {
    Local,
    /// Real database servers: an admin URL per engine; an engine without one refuses
    /// its databases.
    Servers {
        mysql_admin_url: Option<Secret>,
        postgres_admin_url: Option<Secret>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeSettings {
    pub directory_url: String,
    /// A PEM file of roots to trust besides the system's (a private ACME server's).
    pub ca_file: Option<PathBuf>,
    /// The account's contact, a `mailto:` URL.
    pub contact: Option<String>,
}

/// The driver settings, taken out of the raw configuration to be checked together.
pub(super) struct RawDrivers {
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

impl RawDrivers {
    pub(super) fn take(raw: &mut RawConfig) -> Self {
        Self {
            dns_driver: raw.dns_driver.take(),
            powerdns_url: raw.powerdns_url.take(),
            powerdns_api_key: raw.powerdns_api_key.take(),
            powerdns_api_key_file: raw.powerdns_api_key_file.take(),
            powerdns_server_id: raw.powerdns_server_id.take(),
            database_driver: raw.database_driver.take(),
            mysql_admin_url: raw.mysql_admin_url.take(),
            mysql_admin_url_file: raw.mysql_admin_url_file.take(),
            hosting_postgres_admin_url: raw.hosting_postgres_admin_url.take(),
            hosting_postgres_admin_url_file: raw.hosting_postgres_admin_url_file.take(),
            acme_directory_url: raw.acme_directory_url.take(),
            acme_ca_file: raw.acme_ca_file.take(),
            acme_contact: raw.acme_contact.take(),
        }
    }
}

/// `text` as an http(s) URL; the message never repeats it (it may hold a password).
fn http_url(text: &str, setting: &str) -> Result<String> {
    match reqwest::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(text.trim().trim_end_matches('/').to_owned())
        }
        _ => bail!("{setting} must be an http:// or https:// URL"),
    }
}

pub(super) fn dns_driver(raw: &mut RawDrivers) -> Result<DnsDriverSettings> {
    match raw.dns_driver.as_deref() {
        None | Some("local") => Ok(DnsDriverSettings::Local),
        Some("powerdns") => {
            let url = raw.powerdns_url.take().context("dns_driver = powerdns needs powerdns_url")?;
            let api_key =
                read_secret(raw.powerdns_api_key.take(), raw.powerdns_api_key_file.take(), "powerdns_api_key")?
                    .context("dns_driver = powerdns needs powerdns_api_key (or _file)")?;
            if api_key.expose().is_empty() || api_key.expose().chars().any(char::is_control) {
                bail!("powerdns_api_key must be non-empty text without control characters");
            }
            let server_id = raw.powerdns_server_id.take().unwrap_or_else(|| "localhost".to_owned());
            if server_id.is_empty() || server_id.contains('/') {
                bail!("powerdns_server_id must be a server id such as localhost");
            }
            Ok(DnsDriverSettings::PowerDns { url: http_url(&url, "powerdns_url")?, api_key, server_id })
        }
        Some(other) => bail!("dns_driver must be local or powerdns, not {other:?}"),
    }
}

/// An admin URL of `schemes`; checked without repeating it (it holds a password).
fn admin_url(secret: Option<Secret>, setting: &str, schemes: &[&str]) -> Result<Option<Secret>> {
    let Some(secret) = secret else { return Ok(None) };
    let valid = reqwest::Url::parse(secret.expose())
        .is_ok_and(|url| schemes.contains(&url.scheme()) && url.host().is_some() && !url.username().is_empty());
    if !valid {
        bail!("{setting} must be a {}://user:password@host:port URL", schemes[0]);
    }
    Ok(Some(secret))
}

pub(super) fn database_driver(raw: &mut RawDrivers) -> Result<DatabaseDriverSettings> {
    match raw.database_driver.as_deref() {
        None | Some("local") => Ok(DatabaseDriverSettings::Local),
        Some("servers") => {
            let mysql = read_secret(raw.mysql_admin_url.take(), raw.mysql_admin_url_file.take(), "mysql_admin_url")?;
            let postgres = read_secret(
                raw.hosting_postgres_admin_url.take(),
                raw.hosting_postgres_admin_url_file.take(),
                "hosting_postgres_admin_url",
            )?;
            let mysql_admin_url = admin_url(mysql, "mysql_admin_url", &["mysql"])?;
            let postgres_admin_url = admin_url(postgres, "hosting_postgres_admin_url", &["postgres", "postgresql"])?;
            if mysql_admin_url.is_none() && postgres_admin_url.is_none() {
                bail!("database_driver = servers needs mysql_admin_url or hosting_postgres_admin_url (or both)");
            }
            Ok(DatabaseDriverSettings::Servers { mysql_admin_url, postgres_admin_url })
        }
        Some(other) => bail!("database_driver must be local or servers, not {other:?}"),
    }
}

pub(super) fn acme(raw: &mut RawDrivers) -> Result<Option<AcmeSettings>> {
    let Some(directory_url) = raw.acme_directory_url.take().filter(|url| !url.trim().is_empty()) else {
        if raw.acme_ca_file.is_some() || raw.acme_contact.is_some() {
            bail!("acme_ca_file and acme_contact need acme_directory_url");
        }
        return Ok(None);
    };
    let ca_file = raw.acme_ca_file.take().map(PathBuf::from);
    if let Some(path) = &ca_file {
        let pem = std::fs::read(path).with_context(|| format!("acme_ca_file: reading {}", path.display()))?;
        crate::drivers::http_client::pem_certificates(&pem)
            .with_context(|| format!("acme_ca_file: {} holds no certificate", path.display()))?;
    }
    let contact = match raw.acme_contact.take().map(|text| text.trim().to_owned()) {
        None => None,
        Some(text) => {
            let address = text.strip_prefix("mailto:").unwrap_or(&text);
            if address.parse::<lettre::Address>().is_err() {
                bail!("acme_contact must be a mail address (or a mailto: URL), not {text:?}");
            }
            Some(format!("mailto:{address}"))
        }
    };
    Ok(Some(AcmeSettings { directory_url: http_url(&directory_url, "acme_directory_url")?, ca_file, contact }))
}
