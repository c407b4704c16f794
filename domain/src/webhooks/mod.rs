//! Webhooks: what an endpoint subscribes to, where it may point, how a delivery is
//! signed and retried, and what of an event it may carry. No I/O: the API resolves and
//! connects, persistence stores, this module decides.
//!
//! - [`EventFilter`]: `*`, `area.*` or an exact event type (`service.suspend`).
//! - [`WebhookUrl`]: an absolute `https` URL (or `http`, when the host is allowed by
//!   configuration) without credentials; [`addresses::is_public`] says which addresses a
//!   delivery may connect to.
//! - [`signing`]: Standard Webhooks signatures (`whsec_` secrets, `v1,` HMAC-SHA256).
//! - [`schedule`]: the retry schedule and when a failing endpoint is disabled.
//! - [`events`]: who hears of an event, and the sanitized `data` of its payload.

pub mod addresses;
pub mod events;
pub mod schedule;
pub mod signing;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::Invalid;

/// At most this many filters per endpoint.
pub const MAX_FILTERS: usize = 50;

/// What one entry of an endpoint's `events` matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum EventFilter {
    /// `*`: every event.
    All,
    /// `area.*`: every event of one area (`service.*`, `invoice.*`).
    Area(String),
    /// One event type, e.g. `service.suspend`.
    Exact(String),
}

impl EventFilter {
    /// The longest filter: an area and a verb of up to 60 characters each.
    pub const MAX_LENGTH: usize = 121;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        if text == "*" {
            return Ok(Self::All);
        }
        let invalid = || {
            Invalid::new(
                "invalid_event_filter",
                format!("{text:?} is not an event type (`area.verb`), `area.*` or `*`"),
            )
        };
        if text.len() > Self::MAX_LENGTH {
            return Err(invalid());
        }
        let (area, verb) = text.split_once('.').ok_or_else(invalid)?;
        if !is_name(area) {
            return Err(invalid());
        }
        match verb {
            "*" => Ok(Self::Area(area.to_owned())),
            verb if is_name(verb) => Ok(Self::Exact(text.to_owned())),
            _ => Err(invalid()),
        }
    }

    /// Whether an event of `event_type` (`area.verb`) reaches an endpoint with this filter.
    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            Self::All => true,
            Self::Area(area) => event_type.split_once('.').is_some_and(|(a, _)| a == area),
            Self::Exact(exact) => exact == event_type,
        }
    }
}

/// Lowercase letters, digits and `_`, starting with a letter, 1-60 characters.
fn is_name(text: &str) -> bool {
    (1..=60).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl fmt::Display for EventFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Area(area) => write!(f, "{area}.*"),
            Self::Exact(exact) => f.write_str(exact),
        }
    }
}

impl TryFrom<String> for EventFilter {
    type Error = Invalid;

    fn try_from(text: String) -> Result<Self, Invalid> {
        Self::parse(&text)
    }
}

impl From<EventFilter> for String {
    fn from(filter: EventFilter) -> Self {
        filter.to_string()
    }
}

/// An endpoint's filters: 1 to [`MAX_FILTERS`], without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventFilters(Vec<EventFilter>);

impl EventFilters {
    /// Parses each entry; the refusals come with the entry's index.
    pub fn parse(entries: &[String]) -> Result<Self, Vec<(Option<usize>, Invalid)>> {
        if entries.is_empty() || entries.len() > MAX_FILTERS {
            return Err(vec![(None, Invalid::new("invalid_length", format!("give 1 to {MAX_FILTERS} event filters")))]);
        }
        let mut filters = Vec::with_capacity(entries.len());
        let mut refused = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match EventFilter::parse(entry) {
                Ok(filter) if !filters.contains(&filter) => filters.push(filter),
                Ok(_) => refused.push((Some(index), Invalid::new("duplicate", format!("{entry:?} is listed twice")))),
                Err(invalid) => refused.push((Some(index), invalid)),
            }
        }
        if refused.is_empty() {
            Ok(Self(filters))
        } else {
            Err(refused)
        }
    }

    pub fn matches(&self, event_type: &str) -> bool {
        self.0.iter().any(|filter| filter.matches(event_type))
    }

    pub fn iter(&self) -> impl Iterator<Item = &EventFilter> {
        self.0.iter()
    }
}

/// Where deliveries go: an absolute URL with a host, without credentials or fragment,
/// at most 2,048 characters. Whether its scheme and addresses are acceptable depends on
/// the configuration's allowed hosts: [`WebhookUrl::refusal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: url::Url,
}

/// The host of a URL, as a delivery reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A name to resolve, lowercase (IDNA names in punycode).
    Name(String),
    Address(std::net::IpAddr),
}

impl WebhookUrl {
    pub const MAX_LENGTH: usize = 2048;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        if text.len() > Self::MAX_LENGTH {
            return Err(Invalid::new("invalid_length", format!("must be at most {} characters", Self::MAX_LENGTH)));
        }
        let url = url::Url::parse(text).map_err(|_| Invalid::new("invalid_url", "must be an absolute URL"))?;
        if !crate::domains::names_a_host(&url) {
            return Err(Invalid::new("invalid_url", "must name a host: a host name or an IP address"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new("invalid_url", "must not contain credentials: verify signatures instead"));
        }
        if url.fragment().is_some() {
            return Err(Invalid::new("invalid_url", "must not have a fragment"));
        }
        Ok(Self { url })
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    pub fn host(&self) -> Host {
        match self.url.host() {
            Some(url::Host::Ipv4(address)) => Host::Address(address.into()),
            Some(url::Host::Ipv6(address)) => Host::Address(address.into()),
            Some(url::Host::Domain(name)) => Host::Name(name.trim_end_matches('.').to_ascii_lowercase()),
            None => Host::Name(String::new()),
        }
    }

    /// The port a delivery connects to (the scheme's default when none is given).
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }

    /// Why this URL may not receive deliveries, judged on its scheme and (for an address
    /// literal) its address; `host_allowed`: the configuration allows this host. A name's
    /// addresses are judged when it is resolved ([`addresses::refusal`]).
    pub fn refusal(&self, host_allowed: bool) -> Option<String> {
        match self.url.scheme() {
            "https" => {}
            "http" if host_allowed => {}
            "http" => return Some("must be https (http only for hosts the provider allowed)".to_owned()),
            other => return Some(format!("the scheme {other:?} is not https")),
        }
        match self.host() {
            Host::Address(address) if !host_allowed => addresses::refusal(address),
            _ => None,
        }
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery's state in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or for a retry.
    Pending,
    /// A 2xx answer arrived within the timeout.
    Delivered,
    /// Every attempt of the schedule failed.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed].into_iter().find(|status| status.as_str() == text)
    }
}

/// The event type of the test event `POST /v1/webhooks/{id}/test` sends: delivered to
/// that endpoint only, whatever its filters.
pub const TEST_EVENT: &str = "webhook.test";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_exact_names_areas_and_everything() {
        let exact = EventFilter::parse("service.suspend").unwrap();
        assert!(exact.matches("service.suspend"));
        assert!(!exact.matches("service.unsuspend"));
        let area = EventFilter::parse("invoice.*").unwrap();
        assert!(area.matches("invoice.paid"));
        assert!(!area.matches("invoices.paid"), "the area is a whole segment");
        assert!(!area.matches("service.suspend"));
        assert!(EventFilter::parse("*").unwrap().matches("anything.at_all"));
    }

    #[test]
    fn filters_are_names_or_wildcards_and_nothing_else() {
        for good in ["*", "service.*", "ticket.reply", "dns.record_create", "a1.b2"] {
            let filter = EventFilter::parse(good).unwrap();
            assert_eq!(filter.to_string(), good, "round trip");
        }
        for bad in ["", "service", "service.", ".suspend", "*.suspend", "Service.suspend", "service.sus pend", "a.b.c"]
        {
            assert!(EventFilter::parse(bad).is_err(), "{bad:?}");
        }
        assert!(EventFilter::parse(&format!("{}.x", "a".repeat(61))).is_err());
    }

    #[test]
    fn a_filter_list_is_bounded_and_names_each_refused_entry() {
        let ok = EventFilters::parse(&["service.*".into(), "invoice.paid".into()]).unwrap();
        assert!(ok.matches("invoice.paid") && ok.matches("service.create") && !ok.matches("invoice.issued"));
        assert_eq!(EventFilters::parse(&[]).unwrap_err()[0].0, None);
        let refused = EventFilters::parse(&["*".into(), "bad".into(), "*".into()]).unwrap_err();
        let indexes: Vec<_> = refused.iter().map(|(index, _)| *index).collect();
        assert_eq!(indexes, vec![Some(1), Some(2)]);
        assert!(EventFilters::parse(&vec!["*".to_owned(); MAX_FILTERS + 1]).is_err());
    }

    #[test]
    fn filters_serialize_as_their_text() {
        let filters = EventFilters::parse(&["service.*".into(), "*".into()]).unwrap();
        let json = serde_json::to_string(&filters).unwrap();
        assert_eq!(json, r#"["service.*","*"]"#);
        assert_eq!(serde_json::from_str::<EventFilters>(&json).unwrap(), filters);
        assert!(serde_json::from_str::<EventFilters>(r#"["nope"]"#).is_err());
    }

    #[test]
    fn urls_need_a_host_and_no_credentials() {
        let url = WebhookUrl::parse("https://Hooks.Example.com./in?x=1").unwrap();
        assert_eq!(url.host(), Host::Name("hooks.example.com".into()));
        assert_eq!(url.port(), 443);
        assert_eq!(WebhookUrl::parse("http://127.0.0.1:8080/").unwrap().port(), 8080);
        assert_eq!(WebhookUrl::parse("https://[::1]/").unwrap().host(), Host::Address("::1".parse().unwrap()));
        for bad in ["hooks.example.com/in", "https://user:pw@example.com/", "https://example.com/#x", "mailto:a@b.c"] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(WebhookUrl::parse(&format!("https://example.com/{}", "x".repeat(2048))).is_err());
    }

    #[test]
    fn only_https_unless_the_host_is_allowed_and_never_a_private_literal() {
        let refused = |text: &str, allowed: bool| WebhookUrl::parse(text).unwrap().refusal(allowed);
        assert_eq!(refused("https://hooks.example.com/", false), None);
        assert!(refused("http://hooks.example.com/", false).is_some());
        assert_eq!(refused("http://hooks.example.com/", true), None);
        assert!(refused("ftp://hooks.example.com/", true).is_some());
        for private in ["https://127.0.0.1/", "https://10.0.0.1/", "https://169.254.169.254/", "https://[::1]/"] {
            assert!(refused(private, false).is_some(), "{private}");
        }
        assert_eq!(refused("http://127.0.0.1:9/", true), None, "allowed by configuration");
        assert_eq!(refused("https://93.184.215.14/", false), None);
    }

    #[test]
    fn delivery_statuses_round_trip() {
        for status in [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed] {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DeliveryStatus::parse("sent"), None);
    }
}
