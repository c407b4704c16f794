//! PowerDNS Authoritative through its HTTP API v1
//! (`/api/v1/servers/{server_id}/zones`, `X-API-Key`).
//!
//! Zones are created `Native` with `soa_edit_api` off: hostadmin owns the SOA serial,
//! so what PowerDNS serves is exactly hostadmin's zone, SOA included. Changes are RRset
//! PATCHes (`changetype: REPLACE` or `DELETE`), which PowerDNS applies all or none.

use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::http_client::{self, transport_error, ClientError};
use super::rrsets::{zone_name, Rrset, RrsetChange, ZoneSpec};
use super::{DnsDriver, DriverError};

const SERVER: &str = "PowerDNS";

/// A PowerDNS server's API.
#[derive(Clone)]
pub struct PowerDns {
    client: reqwest::Client,
    /// `<url>/api/v1/servers/<server_id>/`
    server: Url,
    api_key: HeaderValue,
}

impl std::fmt::Debug for PowerDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerDns").field("server", &self.server.as_str()).finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ApiRrset {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    changetype: Option<&'static str>,
    #[serde(default)]
    records: Vec<ApiRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ApiRecord {
    content: String,
    #[serde(default)]
    disabled: bool,
}

#[derive(Deserialize)]
struct ApiZone {
    #[serde(default)]
    rrsets: Vec<ApiRrset>,
}

#[derive(Serialize)]
struct NewZone<'a> {
    name: String,
    kind: &'static str,
    /// Empty: PowerDNS leaves the serial as hostadmin sets it.
    soa_edit_api: &'static str,
    nameservers: [&'a str; 0],
    rrsets: Vec<ApiRrset>,
}

#[derive(Serialize)]
struct Patch {
    rrsets: Vec<ApiRrset>,
}

#[derive(Deserialize)]
struct ApiError {
    error: String,
}

impl ApiRrset {
    fn replace(set: &Rrset) -> Self {
        Self {
            name: set.name.clone(),
            rtype: set.rtype.clone(),
            ttl: Some(set.ttl),
            changetype: Some("REPLACE"),
            records: set
                .records
                .iter()
                .map(|content| ApiRecord { content: content.clone(), disabled: false })
                .collect(),
        }
    }

    fn of(change: &RrsetChange) -> Self {
        match change {
            RrsetChange::Replace(set) => Self::replace(set),
            RrsetChange::Delete { name, rtype } => Self {
                name: name.clone(),
                rtype: rtype.clone(),
                ttl: None,
                changetype: Some("DELETE"),
                records: Vec::new(),
            },
        }
    }

    /// The set as served: disabled records are not served, and a set of none is no set.
    fn served(self) -> Option<Rrset> {
        let records: Vec<String> =
            self.records.into_iter().filter(|record| !record.disabled).map(|record| record.content).collect();
        (!records.is_empty()).then(|| Rrset::new(&self.name, &self.rtype, self.ttl.unwrap_or_default(), records))
    }
}

impl PowerDns {
    /// `url` is the API's base (`http://127.0.0.1:8081`), `server_id` usually `localhost`.
    pub fn new(url: &str, api_key: &str, server_id: &str) -> Result<Self, ClientError> {
        let mut server = Url::parse(url).map_err(|e| ClientError::new(format!("PowerDNS URL: {e}")))?;
        if !matches!(server.scheme(), "http" | "https") || server.cannot_be_a_base() {
            return Err(ClientError::new("the PowerDNS URL is http:// or https://"));
        }
        server
            .path_segments_mut()
            .map_err(|()| ClientError::new("the PowerDNS URL cannot take a path"))?
            .pop_if_empty()
            .extend(["api", "v1", "servers", server_id, ""]);
        let mut api_key = HeaderValue::from_str(api_key)
            .map_err(|_| ClientError::new("the PowerDNS API key is not a header value"))?;
        api_key.set_sensitive(true);
        Ok(Self { client: http_client::client(Vec::new())?, server, api_key })
    }

    fn zone_url(&self, zone: &str) -> Result<Url, DriverError> {
        let name = zone_name(zone)?;
        let mut url = self.server.clone();
        url.path_segments_mut()
            .map_err(|()| DriverError::Refused("the PowerDNS URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(["zones", &format!("{name}.")]);
        Ok(url)
    }

    fn zones_url(&self) -> Result<Url, DriverError> {
        self.server.join("zones").map_err(|e| DriverError::Refused(format!("the PowerDNS URL: {e}")))
    }

    /// Sends a request; answers the response when it is a success or one of `answered`
    /// (the statuses the caller reads, such as `404`).
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&impl Serialize>,
        answered: &[StatusCode],
    ) -> Result<reqwest::Response, DriverError> {
        let mut request = self.client.request(method, url).header("X-API-Key", self.api_key.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| transport_error(SERVER, e))?;
        let status = response.status();
        if status.is_success() || answered.contains(&status) {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let reason = serde_json::from_str::<ApiError>(&text).map(|e| e.error).unwrap_or(text);
        let detail = format!("{SERVER} answered {status}: {}", reason.chars().take(500).collect::<String>());
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => DriverError::RateLimited { detail, retry_after },
            status if status.is_server_error() => DriverError::Unavailable(detail),
            _ => DriverError::Refused(detail),
        })
    }

    async fn read(&self, zone: &str) -> Result<Option<Vec<Rrset>>, DriverError> {
        let response = self.send(Method::GET, self.zone_url(zone)?, None::<&()>, &[StatusCode::NOT_FOUND]).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body: ApiZone =
            response.json().await.map_err(|e| DriverError::Unavailable(format!("{SERVER}: unreadable zone: {e}")))?;
        let mut rrsets: Vec<Rrset> = body.rrsets.into_iter().filter_map(ApiRrset::served).collect();
        rrsets.sort();
        Ok(Some(rrsets))
    }

    async fn patch(&self, zone: &str, changes: &[RrsetChange]) -> Result<(), DriverError> {
        if changes.is_empty() {
            return Ok(());
        }
        let body = Patch { rrsets: changes.iter().map(ApiRrset::of).collect() };
        let response = self.send(Method::PATCH, self.zone_url(zone)?, Some(&body), &[StatusCode::NOT_FOUND]).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(DriverError::Refused(format!("{SERVER} has no zone {zone}")));
        }
        Ok(())
    }

    /// Creates the zone; `false` when it exists already (created meanwhile).
    async fn create(&self, zone: &ZoneSpec) -> Result<bool, DriverError> {
        let body = NewZone {
            name: format!("{}.", zone.name),
            kind: "Native",
            soa_edit_api: "",
            nameservers: [],
            rrsets: zone.rrsets.iter().map(|set| ApiRrset { changetype: None, ..ApiRrset::replace(set) }).collect(),
        };
        let response = self.send(Method::POST, self.zones_url()?, Some(&body), &[StatusCode::CONFLICT]).await?;
        Ok(response.status() != StatusCode::CONFLICT)
    }

    async fn ensure(&self, zone: &ZoneSpec) -> Result<Vec<RrsetChange>, DriverError> {
        let served = match self.read(&zone.name).await? {
            Some(served) => served,
            None if self.create(zone).await? => {
                return Ok(zone.rrsets.iter().cloned().map(RrsetChange::Replace).collect());
            }
            None => self.read(&zone.name).await?.unwrap_or_default(),
        };
        let changes = zone.changes_from(&served);
        self.patch(&zone.name, &changes).await?;
        Ok(changes)
    }

    async fn remove(&self, zone: &str) -> Result<bool, DriverError> {
        let response = self.send(Method::DELETE, self.zone_url(zone)?, None::<&()>, &[StatusCode::NOT_FOUND]).await?;
        Ok(response.status() != StatusCode::NOT_FOUND)
    }

    async fn ping(&self) -> Result<(), DriverError> {
        let mut url = self.server.clone();
        url.path_segments_mut()
            .map_err(|()| DriverError::Refused("the PowerDNS URL cannot take a path".into()))?
            .pop_if_empty();
        let response = self.send(Method::GET, url, None::<&()>, &[StatusCode::NOT_FOUND]).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(DriverError::Refused(format!("{SERVER} has no server {}", self.server.path())));
        }
        Ok(())
    }
}

impl DnsDriver for PowerDns {
    fn name(&self) -> &'static str {
        "powerdns"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), DriverError>> {
        self.ping().boxed()
    }

    fn ensure_zone<'a>(&'a self, zone: &'a ZoneSpec) -> BoxFuture<'a, Result<Vec<RrsetChange>, DriverError>> {
        self.ensure(zone).boxed()
    }

    fn apply<'a>(&'a self, zone: &'a str, changes: &'a [RrsetChange]) -> BoxFuture<'a, Result<(), DriverError>> {
        self.patch(zone, changes).boxed()
    }

    fn remove_zone<'a>(&'a self, zone: &'a str) -> BoxFuture<'a, Result<bool, DriverError>> {
        self.remove(zone).boxed()
    }

    fn read_zone<'a>(&'a self, zone: &'a str) -> BoxFuture<'a, Result<Option<Vec<Rrset>>, DriverError>> {
        self.read(zone).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_from_checked_names_only() {
        let driver = PowerDns::new("http://127.0.0.1:8081/", "key", "localhost").unwrap();
        assert_eq!(driver.server.as_str(), "http://127.0.0.1:8081/api/v1/servers/localhost/");
        assert_eq!(
            driver.zone_url("Shop.Test").unwrap().as_str(),
            "http://127.0.0.1:8081/api/v1/servers/localhost/zones/shop.test."
        );
        assert_eq!(driver.zones_url().unwrap().as_str(), "http://127.0.0.1:8081/api/v1/servers/localhost/zones");
        assert!(driver.zone_url("../../config").is_err());
        let prefixed = PowerDns::new("https://dns.example.net/pdns", "key", "a b").unwrap();
        assert_eq!(prefixed.server.as_str(), "https://dns.example.net/pdns/api/v1/servers/a%20b/");
        assert!(PowerDns::new("ftp://x", "key", "localhost").is_err());
        assert!(PowerDns::new("http://x", "bad\nkey", "localhost").is_err());
        assert!(!format!("{driver:?}").contains("key\""), "the key is not printed");
    }

    #[test]
    fn changes_become_the_api_s_json() {
        let set = Rrset::new("www.shop.test.", "A", 60, ["192.0.2.1".to_owned()]);
        let replace = serde_json::to_value(ApiRrset::of(&RrsetChange::Replace(set))).unwrap();
        assert_eq!(
            replace,
            serde_json::json!({"name": "www.shop.test.", "type": "A", "ttl": 60, "changetype": "REPLACE",
                               "records": [{"content": "192.0.2.1", "disabled": false}]})
        );
        let delete = RrsetChange::Delete { name: "www.shop.test.".into(), rtype: "A".into() };
        assert_eq!(
            serde_json::to_value(ApiRrset::of(&delete)).unwrap(),
            serde_json::json!({"name": "www.shop.test.", "type": "A", "changetype": "DELETE", "records": []})
        );
    }

    #[test]
    fn disabled_records_are_not_served() {
        let set = ApiRrset {
            name: "Www.Shop.Test.".into(),
            rtype: "a".into(),
            ttl: Some(60),
            changetype: None,
            records: vec![
                ApiRecord { content: "192.0.2.2".into(), disabled: false },
                ApiRecord { content: "192.0.2.1".into(), disabled: true },
            ],
        };
        assert_eq!(set.served(), Some(Rrset::new("www.shop.test.", "A", 60, ["192.0.2.2".to_owned()])));
        let none = ApiRrset { name: "x.".into(), rtype: "A".into(), ttl: Some(1), changetype: None, records: vec![] };
        assert_eq!(none.served(), None);
    }
}
