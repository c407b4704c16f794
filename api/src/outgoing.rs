//! Outgoing HTTP requests (webhook deliveries): bounded, never redirected, never through a
//! proxy, and only to public addresses unless the provider allowed a host.
//!
//! The address check is made on the address actually connected to: the client resolves
//! names through [`GuardedResolver`], which refuses the whole name when any of its
//! addresses is not public (and not allowed), so a name that resolves to `127.0.0.1` after
//! the webhook was created is caught at delivery. Address literals do not go through a
//! resolver and are checked before the request ([`Destinations::refusal`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use hostadmin_domain::webhooks::addresses::is_public;
use hostadmin_domain::webhooks::{Host, WebhookUrl};

/// How long a name lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The hosts and networks the provider allowed (`webhook_allow_hosts`): an allowed host
/// may be reached over plain `http` and at any address; an address within an allowed
/// network may be connected to whatever the name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    names: Vec<String>,
    networks: Vec<IpNet>,
}

/// Why a destination is refused (shown to the webhook's owner).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Destinations {
    /// Reads a comma-separated list of host names, IP addresses and CIDR networks.
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let mut destinations = Self::default();
        for item in text.unwrap_or_default().split(',').map(str::trim).filter(|item| !item.is_empty()) {
            if let Ok(network) = item.parse::<IpNet>() {
                destinations.networks.push(network);
            } else if let Ok(address) = item.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                destinations.networks.push(IpNet::from(address));
            } else if item.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                destinations.names.push(item.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!("{item:?} is not a host name, IP address or network"));
            }
        }
        Ok(destinations)
    }

    /// Whether the provider allowed this host by name or, for an address, by network.
    pub fn allows_host(&self, host: &Host) -> bool {
        match host {
            Host::Name(name) => self.names.iter().any(|allowed| allowed == name),
            Host::Address(address) => self.allows_address(*address),
        }
    }

    fn allows_address(&self, address: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(&address))
    }

    /// Whether a delivery to `host` may connect to `address`.
    pub fn permits(&self, host: &Host, address: IpAddr) -> bool {
        is_public(address) || self.allows_host(host) || self.allows_address(address)
    }

    /// What is wrong with the URL itself: its scheme, or an address literal.
    pub fn refusal(&self, url: &WebhookUrl) -> Option<Refused> {
        url.refusal(self.allows_host(&url.host())).map(Refused)
    }

    /// Checks a URL as a delivery would reach it: the scheme, then every address its
    /// host resolves to now (a name that does not resolve is refused too).
    pub async fn check(&self, url: &WebhookUrl) -> Result<(), Refused> {
        if let Some(refused) = self.refusal(url) {
            return Err(refused);
        }
        if let Host::Name(name) = url.host() {
            self.resolve(&name, url.port()).await?;
        }
        Ok(())
    }

    /// The addresses of `name`, all of them permitted, or why not.
    async fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, Refused> {
        let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, port)))
            .await
            .map_err(|_| Refused(format!("looking up {name} took too long")))?
            .map_err(|_| Refused(format!("{name} does not resolve")))?;
        let addresses: Vec<SocketAddr> = found.collect();
        if addresses.is_empty() {
            return Err(Refused(format!("{name} does not resolve")));
        }
        let host = Host::Name(name.to_owned());
        if let Some(refused) = addresses.iter().find(|address| !self.permits(&host, address.ip())) {
            return Err(Refused(format!("{name} resolves to {}, which is not a public address", refused.ip())));
        }
        Ok(addresses)
    }
}

/// Resolves names for the client, refusing every name with an address that may not be
/// connected to.
#[derive(Debug, Clone)]
struct GuardedResolver {
    destinations: Arc<Destinations>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let destinations = self.destinations.clone();
        let name = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            let addresses = destinations.resolve(&name, 0).await?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// The refusal behind a failed request, if the resolver refused its destination.
pub fn refusal_of(error: &reqwest::Error) -> Option<&Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return Some(refused);
        }
        source = current.source();
    }
    None
}

/// A client for deliveries: `timeout` for the whole exchange, no redirects, no proxy,
/// names resolved through the guard.
pub fn client(destinations: Arc<Destinations>, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    // rustls needs one process-wide cryptography provider; a second install (another
    // client) finds it in place, which is fine. ring is deprecated there for lacking
    // post-quantum key exchange; it is what rcgen already builds, where aws-lc-rs would
    // add a long C build. Switch when rustls drops it.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(GuardedResolver { destinations })
        .user_agent(concat!("hostadmin-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> WebhookUrl {
        WebhookUrl::parse(text).unwrap()
    }

    #[test]
    fn the_allow_list_takes_names_addresses_and_networks() {
        let allowed = Destinations::parse(Some("Hooks.Internal, 127.0.0.1, 10.1.0.0/16, [::1]")).unwrap();
        assert!(allowed.allows_host(&Host::Name("hooks.internal".into())));
        assert!(allowed.allows_host(&Host::Address("127.0.0.1".parse().unwrap())));
        assert!(allowed.allows_host(&Host::Address("::1".parse().unwrap())));
        assert!(allowed.permits(&Host::Name("anything".into()), "10.1.2.3".parse().unwrap()));
        assert!(!allowed.permits(&Host::Name("anything".into()), "10.2.0.1".parse().unwrap()));
        assert!(allowed.permits(&Host::Name("hooks.internal".into()), "10.2.0.1".parse().unwrap()));
        assert!(Destinations::parse(Some("not a host!")).is_err());
        assert_eq!(Destinations::parse(None).unwrap(), Destinations::default());
    }

    #[test]
    fn literals_and_schemes_are_refused_before_any_lookup() {
        let nothing = Destinations::default();
        for refused in [
            "https://127.0.0.1/",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[fd00::1]/",
            "http://hooks.example.com/",
        ] {
            assert!(nothing.refusal(&url(refused)).is_some(), "{refused}");
        }
        assert_eq!(nothing.refusal(&url("https://93.184.215.14/")), None);
        let loopback = Destinations::parse(Some("127.0.0.1")).unwrap();
        assert_eq!(loopback.refusal(&url("http://127.0.0.1:9/")), None);
    }

    #[::core::prelude::v1::test]
    fn names_are_judged_by_what_they_resolve_to() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let refused = Destinations::default().check(&url("https://localhost/")).await.unwrap_err();
            assert!(refused.0.contains("not a public address"), "{refused}");
            let allowed = Destinations::parse(Some("localhost")).unwrap();
            assert_eq!(allowed.check(&url("http://localhost:9/")).await, Ok(()));
            assert!(Destinations::default().check(&url("https://no-such-host.invalid/")).await.is_err());
        });
    }
}
