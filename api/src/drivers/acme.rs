//! Automatic certificates from an ACME CA (RFC 8555) with `instant-acme`, proving control
//! of each name with a DNS-01 challenge written through the DNS driver.
//!
//! instant-acme speaks to the CA through the drivers' one HTTP client (timeouts, no
//! redirects, the system's roots plus `acme_ca_file` for a private CA such as pebble);
//! that client also keeps the CA's last `Retry-After`, which a `rateLimited` refusal
//! carries to the caller's backoff.
//!
//! The ACME account is made on first use, or restored from credentials the caller kept
//! ([`Acme::take_new_credentials`] hands new ones over once, to be sealed and stored):
//! CAs limit how many accounts one address may create.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use instant_acme::{
    Account, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType, Identifier, NewAccount, NewOrder,
    OrderStatus, RetryPolicy,
};
use reqwest::header::RETRY_AFTER;
use rustls::pki_types::CertificateDer;
use tokio::sync::OnceCell;

use super::http_client::{self, transport_error, with_causes, ClientError};
use super::rrsets::{zone_name, Rrset, RrsetChange};
use super::{CertificateDriver, CertificateName, DnsDriver, DriverError, IssuedCertificate, Password};

const CA: &str = "the ACME CA";
/// The most names one certificate may carry (public CAs allow 100).
pub const MAX_NAMES: usize = 100;
/// How long the CA may take to validate the challenges, and then to issue.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(120);
/// The challenge records' TTL: short, they live for minutes.
const CHALLENGE_TTL: u32 = 60;

/// An ACME CA and the DNS driver its challenges are written through.
pub struct Acme {
    directory_url: String,
    contact: Option<String>,
    http: AcmeHttp,
    dns: Arc<dyn DnsDriver>,
    stored_credentials: Option<Password>,
    account: OnceCell<Account>,
    new_credentials: Mutex<Option<Password>>,
}

impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme").field("directory_url", &self.directory_url).finish_non_exhaustive()
    }
}

/// instant-acme's transport: the drivers' reqwest client, remembering the CA's last
/// `Retry-After` hint.
#[derive(Clone)]
struct AcmeHttp {
    client: reqwest::Client,
    retry_after: Arc<Mutex<Option<Duration>>>,
}

impl AcmeHttp {
    fn last_retry_after(&self) -> Option<Duration> {
        *self.retry_after.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl instant_acme::HttpClient for AcmeHttp {
    fn request(
        &self,
        request: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let (client, hint) = (self.client.clone(), self.retry_after.clone());
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, reqwest::Body::wrap(body));
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            let response = client.execute(request).await.map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            if response.status().is_client_error() || response.status().is_server_error() {
                let seconds = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse::<u64>().ok());
                *hint.lock().unwrap_or_else(PoisonError::into_inner) = seconds.map(Duration::from_secs);
            }
            Ok(BytesResponse::from(http::Response::<reqwest::Body>::from(response)))
        })
    }
}

impl Acme {
    /// `extra_roots`: the PEM of `acme_ca_file` (a private CA's root), if any;
    /// `contact`: a `mailto:` URL; `credentials`: an account made earlier (JSON, as
    /// [`Acme::take_new_credentials`] gave it).
    pub fn new(
        directory_url: &str,
        extra_roots: Option<&[u8]>,
        contact: Option<&str>,
        dns: Arc<dyn DnsDriver>,
        credentials: Option<Password>,
    ) -> Result<Self, ClientError> {
        let roots: Vec<CertificateDer<'static>> = match extra_roots {
            Some(pem) => http_client::pem_certificates(pem)?,
            None => Vec::new(),
        };
        Ok(Self {
            directory_url: directory_url.to_owned(),
            contact: contact.map(str::to_owned),
            http: AcmeHttp { client: http_client::client(roots)?, retry_after: Arc::new(Mutex::new(None)) },
            dns,
            stored_credentials: credentials,
            account: OnceCell::new(),
            new_credentials: Mutex::new(None),
        })
    }

    /// The credentials of an account this driver created, once: the caller seals and
    /// stores them and passes them to [`Acme::new`] from then on.
    pub fn take_new_credentials(&self) -> Option<Password> {
        self.new_credentials.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    async fn account(&self) -> Result<&Account, DriverError> {
        self.account
            .get_or_try_init(|| async {
                let builder = Account::builder_with_http(Box::new(self.http.clone()));
                if let Some(stored) = &self.stored_credentials {
                    let credentials = serde_json::from_str(stored.expose())
                        .map_err(|_| DriverError::Refused("the stored ACME account is unreadable".into()))?;
                    return builder.from_credentials(credentials).await.map_err(|e| self.error(e));
                }
                let contact: Vec<&str> = self.contact.as_deref().into_iter().collect();
                let new = NewAccount { contact: &contact, terms_of_service_agreed: true, only_return_existing: false };
                let (account, credentials) =
                    builder.create(&new, self.directory_url.clone(), None).await.map_err(|e| self.error(e))?;
                let json = serde_json::to_string(&credentials)
                    .map_err(|e| DriverError::Unavailable(format!("ACME account credentials: {e}")))?;
                *self.new_credentials.lock().unwrap_or_else(PoisonError::into_inner) = Some(Password::new(json));
                Ok(account)
            })
            .await
    }

    /// An instant-acme error as a driver error: the CA's problem document decides.
    fn error(&self, error: instant_acme::Error) -> DriverError {
        use instant_acme::Error as E;
        match error {
            E::Api(problem) => {
                let kind = problem.r#type.as_deref().unwrap_or_default();
                let detail = format!("{CA}: {problem}");
                if kind.ends_with(":rateLimited") || problem.status == Some(429) {
                    DriverError::RateLimited { detail, retry_after: self.http.last_retry_after() }
                } else if kind.ends_with(":badNonce")
                    || kind.ends_with(":serverInternal")
                    || problem.status.is_some_and(|status| status >= 500)
                {
                    DriverError::Unavailable(detail)
                } else {
                    DriverError::Refused(detail)
                }
            }
            E::Other(inner) => match inner.downcast::<reqwest::Error>() {
                Ok(transport) => transport_error(CA, *transport),
                Err(other) => DriverError::Unavailable(format!("{CA}: {}", with_causes(other.as_ref()))),
            },
            E::Timeout(_) => DriverError::Timeout(format!("{CA} did not finish the order in time")),
            E::Unsupported(what) => DriverError::Refused(format!("{CA} does not support {what}")),
            other => DriverError::Unavailable(format!("{CA}: {}", with_causes(&other))),
        }
    }

    async fn order(&self, names: &[CertificateName]) -> Result<IssuedCertificate, DriverError> {
        let names = checked_names(names)?;
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.name.clone())).collect();
        let mut order = account.new_order(&NewOrder::new(&identifiers)).await.map_err(|e| self.error(e))?;
        let mut written = Challenges::default();
        let outcome = self.validate_and_finalize(&mut order, &names, &mut written).await;
        // The challenge records go whatever happened; a leftover is harmless (reconcile
        // leaves `_acme-challenge` alone) and logged.
        for (zone, fqdn) in written.sets() {
            let remove = [RrsetChange::Delete { name: fqdn.clone(), rtype: "TXT".into() }];
            if let Err(error) = self.dns.apply(&zone, &remove).await {
                tracing::warn!(zone = %zone, name = %fqdn, error = %error, "an ACME challenge record was left behind");
            }
        }
        outcome.map_err(|error| naming(error, &names))
    }

    async fn validate_and_finalize(
        &self,
        order: &mut instant_acme::Order,
        names: &[CertificateName],
        written: &mut Challenges,
    ) -> Result<IssuedCertificate, DriverError> {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.map_err(|e| self.error(e))?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(DriverError::Refused(format!("{CA}: an authorization is {other:?}")));
                }
            }
            let mut challenge = authorization
                .challenge(ChallengeType::Dns01)
                .ok_or_else(|| DriverError::Refused(format!("{CA} offers no dns-01 challenge")))?;
            let Identifier::Dns(base) = challenge.identifier().identifier.clone() else {
                return Err(DriverError::Refused(format!("{CA} authorizes something other than a DNS name")));
            };
            let zone = zone_of(names, &base)?;
            let fqdn = format!("_acme-challenge.{base}.");
            // shop.test and *.shop.test share one name: its set holds every value so far.
            let values = written.add(&zone, &fqdn, challenge.key_authorization().dns_value());
            let set = Rrset::new(&fqdn, "TXT", CHALLENGE_TTL, values.iter().map(|v| format!("\"{v}\"")));
            self.dns.apply(&zone, &[RrsetChange::Replace(set)]).await?;
            challenge.set_ready().await.map_err(|e| self.error(e))?;
        }
        let waiting = RetryPolicy::new().timeout(VALIDATION_TIMEOUT);
        let status = match order.poll_ready(&waiting).await {
            Ok(status) => status,
            Err(error) => {
                let error = self.error(error);
                return Err(if error.is_retryable() { error } else { self.why_invalid(order, Some(error)).await });
            }
        };
        if status != OrderStatus::Ready {
            return Err(self.why_invalid(order, None).await);
        }
        let key = rcgen::KeyPair::generate()
            .map_err(|e| DriverError::Unavailable(format!("making the certificate's key: {e}")))?;
        let mut params = rcgen::CertificateParams::new(names.iter().map(|n| n.name.clone()).collect::<Vec<_>>())
            .map_err(|e| DriverError::Refused(format!("the names do not make a CSR: {e}")))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(first) = names.first() {
            params.distinguished_name.push(rcgen::DnType::CommonName, first.name.clone());
        }
        let csr =
            params.serialize_request(&key).map_err(|e| DriverError::Unavailable(format!("making the CSR: {e}")))?;
        order.finalize_csr(csr.der()).await.map_err(|e| self.error(e))?;
        let chain_pem = order.poll_certificate(&waiting).await.map_err(|e| self.error(e))?;
        Ok(IssuedCertificate { chain_pem, private_key_pem: Password::new(key.serialize_pem()) })
    }

    /// The CA's reasons for an invalid order: each failed challenge's problem, by name,
    /// else `order_problem` (the order's own).
    async fn why_invalid(&self, order: &mut instant_acme::Order, order_problem: Option<DriverError>) -> DriverError {
        let mut reasons: Vec<String> = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(Ok(mut authorization)) = authorizations.next().await {
            let Ok(state) = authorization.refresh().await else { continue };
            let name = state.identifier().to_string();
            for challenge in &state.challenges {
                if let Some(problem) = &challenge.error {
                    reasons.push(format!("{name}: {problem}"));
                }
            }
        }
        match order_problem {
            Some(problem) if reasons.is_empty() => problem,
            _ if reasons.is_empty() => DriverError::Refused(format!("{CA}: the order became invalid")),
            _ => DriverError::Refused(format!("{CA}: {}", reasons.join("; "))),
        }
    }

    async fn directory(&self) -> Result<(), DriverError> {
        let response = self.http.client.get(&self.directory_url).send().await.map_err(|e| transport_error(CA, e))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status if status.is_server_error() => Err(DriverError::Unavailable(format!("{CA} answered {status}"))),
            status => Err(DriverError::Refused(format!("{CA} answered {status} for its directory"))),
        }
    }
}

/// The challenge values written so far, by zone and name.
#[derive(Default)]
struct Challenges(Vec<(String, String, Vec<String>)>);

impl Challenges {
    fn add(&mut self, zone: &str, fqdn: &str, value: String) -> Vec<String> {
        match self.0.iter_mut().find(|(z, name, _)| z == zone && name == fqdn) {
            Some((_, _, values)) => {
                values.push(value);
                values.clone()
            }
            None => {
                self.0.push((zone.to_owned(), fqdn.to_owned(), vec![value.clone()]));
                vec![value]
            }
        }
    }

    fn sets(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(zone, name, _)| (zone.clone(), name.clone())).collect()
    }
}

/// The names as the CA gets them: lowercase, each in its zone, at most [`MAX_NAMES`].
fn checked_names(names: &[CertificateName]) -> Result<Vec<CertificateName>, DriverError> {
    if names.is_empty() || names.len() > MAX_NAMES {
        return Err(DriverError::Refused(format!("a certificate has 1 to {MAX_NAMES} names")));
    }
    names
        .iter()
        .map(|name| {
            let zone = zone_name(&name.zone)?;
            let lower = name.name.trim_end_matches('.').to_ascii_lowercase();
            let base = lower.strip_prefix("*.").unwrap_or(&lower);
            let in_zone = base == zone || base.ends_with(&format!(".{zone}"));
            if !in_zone || base.len() > 253 || base.is_empty() {
                return Err(DriverError::Refused(format!("{} is not a name in the zone {zone}", name.name)));
            }
            Ok(CertificateName { name: lower, zone })
        })
        .collect()
}

/// The zone holding `base`'s challenge (the name the CA authorizes, wildcard removed).
fn zone_of(names: &[CertificateName], base: &str) -> Result<String, DriverError> {
    names
        .iter()
        .find(|name| name.name.strip_prefix("*.").unwrap_or(&name.name) == base)
        .map(|name| name.zone.clone())
        .ok_or_else(|| DriverError::Refused(format!("{CA} asked about {base}, which the order did not name")))
}

impl CertificateDriver for Acme {
    fn name(&self) -> &'static str {
        "acme"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), DriverError>> {
        self.directory().boxed()
    }

    fn issue<'a>(&'a self, names: &'a [CertificateName]) -> BoxFuture<'a, Result<IssuedCertificate, DriverError>> {
        self.order(names).boxed()
    }

    fn new_account(&self) -> Option<(String, Password)> {
        self.take_new_credentials().map(|credentials| (self.directory_url.clone(), credentials))
    }

    fn directory_url(&self) -> &str {
        &self.directory_url
    }
}

/// When a rate-limited order may be tried again: the CA's hint, or an hour (the window
/// of Let's Encrypt's shortest limits).
pub fn retry_at(error: &DriverError, now: SystemTime) -> Option<SystemTime> {
    match error {
        DriverError::RateLimited { retry_after, .. } => Some(now + retry_after.unwrap_or(Duration::from_secs(3600))),
        _ => None,
    }
}

/// A refusal says what was ordered: the CA's problems do not always name the name that
/// failed (pebble's order-level "No TXT records found for DNS challenge" does not, and
/// can come from any step of the order), and the certificate's `error` is read without
/// the order beside it.
fn naming(error: DriverError, names: &[CertificateName]) -> DriverError {
    match error {
        DriverError::Refused(detail) if !names.iter().any(|name| detail.contains(name.name.as_str())) => {
            let ordered = names.iter().map(|name| name.name.as_str()).collect::<Vec<_>>().join(", ");
            DriverError::Refused(format!("{ordered}: {detail}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(name: &str, zone: &str) -> CertificateName {
        CertificateName { name: name.into(), zone: zone.into() }
    }

    #[test]
    fn names_must_lie_in_their_zone() {
        let checked = checked_names(&[name("Shop.Test.", "shop.test"), name("*.shop.test", "shop.test")]).unwrap();
        assert_eq!(checked[0].name, "shop.test");
        assert_eq!(zone_of(&checked, "shop.test").unwrap(), "shop.test");
        for bad in [name("evil.test", "shop.test"), name("xshop.test", "shop.test"), name("a.shop.test", "../x")] {
            assert!(checked_names(std::slice::from_ref(&bad)).is_err(), "{bad:?}");
        }
        assert!(checked_names(&[]).is_err());
        assert!(checked_names(&vec![name("shop.test", "shop.test"); MAX_NAMES + 1]).is_err());
    }

    #[test]
    fn problems_decide_whether_to_retry() {
        let dns: Arc<dyn DnsDriver> =
            Arc::new(super::super::powerdns::PowerDns::new("http://127.0.0.1:9", "k", "localhost").unwrap());
        let acme = Acme::new("https://127.0.0.1:9/dir", None, None, dns, None).unwrap();
        *acme.http.retry_after.lock().unwrap() = Some(Duration::from_secs(120));
        let problem = |kind: &str, status: u16| {
            let json = serde_json::json!({"type": kind, "detail": "because", "status": status});
            instant_acme::Error::Api(serde_json::from_value(json).unwrap())
        };
        let limited = acme.error(problem("urn:ietf:params:acme:error:rateLimited", 429));
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(120)));
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(retry_at(&limited, now), Some(now + Duration::from_secs(120)));
        assert!(acme.error(problem("urn:ietf:params:acme:error:badNonce", 400)).is_retryable());
        assert!(acme.error(problem("urn:ietf:params:acme:error:serverInternal", 500)).is_retryable());
        let refused = acme.error(problem("urn:ietf:params:acme:error:rejectedIdentifier", 400));
        assert!(matches!(&refused, DriverError::Refused(detail) if detail.contains("because")), "{refused:?}");
    }

    #[test]
    fn a_refusal_names_what_was_ordered() {
        let names = [name("shop.test", "shop.test"), name("www.shop.test", "shop.test")];
        let unnamed = naming(DriverError::Refused("the ACME CA: No TXT records found".into()), &names);
        assert!(
            matches!(&unnamed, DriverError::Refused(d) if d == "shop.test, www.shop.test: the ACME CA: No TXT records found"),
            "{unnamed:?}"
        );
        let named = naming(DriverError::Refused("the ACME CA: www.shop.test: unauthorized".into()), &names);
        assert!(matches!(&named, DriverError::Refused(d) if d == "the ACME CA: www.shop.test: unauthorized"));
        let unavailable = naming(DriverError::Unavailable("the ACME CA answered 503".into()), &names);
        assert!(matches!(&unavailable, DriverError::Unavailable(d) if d == "the ACME CA answered 503"));
    }
}
