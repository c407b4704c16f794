//! TLS certificates as the panel keeps them: where each came from, where it stands, and
//! when an automatic (ACME) one is ordered again.

use std::fmt;

use chrono::{Duration, NaiveDateTime};

use crate::catalog::ServiceKind;
use crate::services::ServiceStatus;

/// How a certificate came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateSource {
    /// Uploaded with its key.
    Upload,
    /// A CSR made here (the key made and kept here), then its signed certificate uploaded.
    Csr,
    /// Ordered from the configured ACME CA by the worker, and renewed by it.
    Acme,
}

impl CertificateSource {
    pub const ALL: [Self; 3] = [Self::Upload, Self::Csr, Self::Acme];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Csr => "csr",
            Self::Acme => "acme",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == text)
    }
}

impl fmt::Display for CertificateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a certificate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    /// A CSR waiting for its signed certificate, or an ACME order the worker carries out.
    Pending,
    /// It has its certificate (a renewal that failed leaves it issued, with the reason).
    Issued,
    /// An ACME order the CA refused, or that could not be completed; nothing was issued.
    Failed,
}

impl CertificateStatus {
    /// A row's status from what it holds: its certificate, else the reason it failed.
    pub fn of(has_certificate: bool, has_failed: bool) -> Self {
        match (has_certificate, has_failed) {
            (true, _) => Self::Issued,
            (false, true) => Self::Failed,
            (false, false) => Self::Pending,
        }
    }
}

/// How long before it expires an ACME certificate is ordered again.
pub const RENEW_BEFORE_EXPIRY: Duration = Duration::days(30);
/// How long a renewal that failed for good waits before the next attempt: the
/// certificate keeps serving meanwhile.
pub const RENEWAL_RETRY_AFTER: Duration = Duration::days(1);

/// When a certificate valid from `not_before` to `not_after` is ordered again:
/// [`RENEW_BEFORE_EXPIRY`] before it expires, but never before two thirds of its
/// lifetime, so a short-lived certificate is not renewed the moment it is issued.
pub fn renew_at(not_before: NaiveDateTime, not_after: NaiveDateTime) -> NaiveDateTime {
    let two_thirds = not_before + (not_after - not_before) * 2 / 3;
    (not_after - RENEW_BEFORE_EXPIRY).max(two_thirds)
}

/// Whether a service's certificates are renewed: while it runs or is held (it may come
/// back), not once it ended; a CA's limits are not spent on a service nobody uses.
pub fn renews_for(status: ServiceStatus) -> bool {
    matches!(status, ServiceStatus::Active | ServiceStatus::Suspended)
}

/// The names a hosting domain's automatic certificate covers: the domain and the host
/// its service's clients use (`www.` for the web, `mail.` for mail).
pub fn automatic_names(domain: &str, kind: ServiceKind) -> Vec<String> {
    let host = match kind {
        ServiceKind::MailHosting => "mail",
        _ => "www",
    };
    vec![domain.to_owned(), format!("{host}.{domain}")]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap()
    }

    #[test]
    fn sources_read_back_as_what_they_name() {
        for source in CertificateSource::ALL {
            assert_eq!(CertificateSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(CertificateSource::parse("ACME"), None);
    }

    #[test]
    fn a_certificate_is_issued_once_it_has_one_even_after_a_failed_renewal() {
        assert_eq!(CertificateStatus::of(false, false), CertificateStatus::Pending);
        assert_eq!(CertificateStatus::of(false, true), CertificateStatus::Failed);
        assert_eq!(CertificateStatus::of(true, false), CertificateStatus::Issued);
        assert_eq!(CertificateStatus::of(true, true), CertificateStatus::Issued);
    }

    #[test]
    fn renewal_starts_thirty_days_before_expiry() {
        // A 90-day certificate (Let's Encrypt): day 60, which is also two thirds.
        assert_eq!(renew_at(day(2026, 1, 1), day(2026, 4, 1)), day(2026, 3, 2));
        // A 5-year certificate (pebble's default): 30 days before the end.
        assert_eq!(renew_at(day(2026, 1, 1), day(2031, 1, 1)), day(2030, 12, 2));
    }

    #[test]
    fn a_short_lived_certificate_is_renewed_after_two_thirds_of_its_life_not_at_once() {
        let issued = day(2026, 1, 1);
        let renewal = renew_at(issued, issued + Duration::days(6));
        assert_eq!(renewal, issued + Duration::days(4));
        assert!(renewal > issued);
    }

    #[test]
    fn only_running_or_held_services_renew() {
        let renewing: Vec<ServiceStatus> = ServiceStatus::ALL.into_iter().filter(|s| renews_for(*s)).collect();
        assert_eq!(renewing, [ServiceStatus::Active, ServiceStatus::Suspended]);
    }

    #[test]
    fn hosting_domains_get_their_clients_host_too() {
        assert_eq!(automatic_names("shop.test", ServiceKind::WebHosting), ["shop.test", "www.shop.test"]);
        assert_eq!(automatic_names("shop.test", ServiceKind::MailHosting), ["shop.test", "mail.shop.test"]);
    }
}
