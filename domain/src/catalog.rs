//! The catalog: what kinds of service a provider sells, for how long, and with how much
//! of each resource.
//!
//! A quota is a limit or nothing: `None` is unlimited, `Some(0)` is none at all. Keeping
//! "unlimited" out of the numbers (no `u64::MAX`, no `-1`) means a comparison can never
//! mistake it for a large limit.

use std::collections::HashSet;

use chrono::{Months, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::{Currency, Money};
use crate::validation::Invalid;

/// What a service is; a plan sells exactly one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Web space with its domains, mail, FTP and databases.
    WebHosting,
    /// Mail only: mailboxes and forwards on the service's domains.
    MailHosting,
    /// A registered domain name.
    Domain,
    /// A certificate for a site.
    SslCertificate,
    /// A package within which a reseller sells to the accounts below it.
    ResellerHosting,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 5] =
        [Self::WebHosting, Self::MailHosting, Self::Domain, Self::SslCertificate, Self::ResellerHosting];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebHosting => "web_hosting",
            Self::MailHosting => "mail_hosting",
            Self::Domain => "domain",
            Self::SslCertificate => "ssl_certificate",
            Self::ResellerHosting => "reseller_hosting",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// How often a service is billed and renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingCycle {
    Monthly,
    Quarterly,
    Semiannual,
    Annual,
    Biennial,
    Triennial,
}

impl BillingCycle {
    pub const ALL: [BillingCycle; 6] =
        [Self::Monthly, Self::Quarterly, Self::Semiannual, Self::Annual, Self::Biennial, Self::Triennial];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Semiannual => "semiannual",
            Self::Annual => "annual",
            Self::Biennial => "biennial",
            Self::Triennial => "triennial",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|cycle| cycle.as_str() == text)
    }

    /// The length of one cycle in calendar months.
    pub fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Semiannual => 6,
            Self::Annual => 12,
            Self::Biennial => 24,
            Self::Triennial => 36,
        }
    }

    /// `from` moved on by whole cycles, in calendar months, keeping the time of day.
    ///
    /// A day the target month lacks is clamped to its last day: Jan 31 + 1 month is
    /// Feb 28 (Feb 29 in a leap year). The cycles are added in one step, so Jan 31 + 2
    /// months is Mar 31, whereas advancing twice gives Mar 28; a caller that wants a
    /// month-end due date to stay at month end advances from the original anchor.
    /// `None` when the result is beyond the year 9999 (crate::time).
    pub fn advance(self, from: NaiveDateTime, cycles: u32) -> Option<NaiveDateTime> {
        let months = self.months().checked_mul(cycles)?;
        from.checked_add_months(Months::new(months)).filter(|at| crate::time::in_range(*at))
    }

    /// `from` moved back by whole cycles: the start of the cycle that ends at `from`
    /// (for a service, the cycle its `next_due_at` closes).
    ///
    /// Clamped like [`advance`](Self::advance): Mar 31 − 1 month is Feb 28, so going back
    /// does not always undo going forward (Jan 31 + 1 month − 1 month is Jan 28). Callers
    /// that know an earlier bound (a service's registration) clamp to it. `None` when the
    /// result is before the year 0001 (crate::time).
    pub fn rewind(self, from: NaiveDateTime, cycles: u32) -> Option<NaiveDateTime> {
        let months = self.months().checked_mul(cycles)?;
        from.checked_sub_months(Months::new(months)).filter(|at| crate::time::in_range(*at))
    }
}

/// One resource a plan can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKey {
    DiskMb,
    BandwidthMb,
    Domains,
    Mailboxes,
    MailboxDefaultMb,
    Forwards,
    FtpUsers,
    Databases,
    DnsRecords,
    Customers,
    Services,
}

impl QuotaKey {
    /// Every key, in the order the contract lists them (and answers list them).
    pub const ALL: [QuotaKey; 11] = [
        Self::DiskMb,
        Self::BandwidthMb,
        Self::Domains,
        Self::Mailboxes,
        Self::MailboxDefaultMb,
        Self::Forwards,
        Self::FtpUsers,
        Self::Databases,
        Self::DnsRecords,
        Self::Customers,
        Self::Services,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DiskMb => "disk_mb",
            Self::BandwidthMb => "bandwidth_mb",
            Self::Domains => "domains",
            Self::Mailboxes => "mailboxes",
            Self::MailboxDefaultMb => "mailbox_default_mb",
            Self::Forwards => "forwards",
            Self::FtpUsers => "ftp_users",
            Self::Databases => "databases",
            Self::DnsRecords => "dns_records",
            Self::Customers => "customers",
            Self::Services => "services",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|key| key.as_str() == text)
    }

    /// Whether a plan of `kind` is limited by this key at all.
    ///
    /// - `reseller_hosting`: every key; `customers` and `services` only here (the
    ///   contract), since only a reseller has accounts and services below it.
    /// - `web_hosting`: every hosting resource: disk, traffic, domains, mail, FTP,
    ///   databases and DNS records of its domains.
    /// - `mail_hosting`: what mail uses: disk, domains, mailboxes and their default size,
    ///   forwards, and the DNS records of its domains (MX, SPF). No FTP or databases, and
    ///   no traffic limit, which mail plans are not sold by.
    /// - `domain`: the records of its zone.
    /// - `ssl_certificate`: nothing; a certificate uses no countable resource.
    pub fn applies_to(self, kind: ServiceKind) -> bool {
        match kind {
            ServiceKind::ResellerHosting => true,
            ServiceKind::WebHosting => !matches!(self, Self::Customers | Self::Services),
            ServiceKind::MailHosting => matches!(
                self,
                Self::DiskMb
                    | Self::Domains
                    | Self::Mailboxes
                    | Self::MailboxDefaultMb
                    | Self::Forwards
                    | Self::DnsRecords
            ),
            ServiceKind::Domain => matches!(self, Self::DnsRecords),
            ServiceKind::SslCertificate => false,
        }
    }

    /// The keys that limit a plan of `kind`, in the contract's order.
    pub fn applying_to(kind: ServiceKind) -> impl Iterator<Item = QuotaKey> {
        Self::ALL.into_iter().filter(move |key| key.applies_to(kind))
    }
}

/// A plan's (or a service's) limits. An absent or `null` key is unlimited; 0 is none.
///
/// Serialised with every key present, `null` for unlimited, so an answer shows each
/// limit explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
// No container `default`: absent `Option` keys are `None` anyway, and a `default: null` in
// the schema would make generated clients require every key.
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// Disk space in MB, mail included.
    pub disk_mb: Option<u64>,
    /// Monthly traffic in MB.
    pub bandwidth_mb: Option<u64>,
    pub domains: Option<u64>,
    pub mailboxes: Option<u64>,
    /// The size of a new mailbox in MB, and the most one may be given.
    pub mailbox_default_mb: Option<u64>,
    pub forwards: Option<u64>,
    pub ftp_users: Option<u64>,
    pub databases: Option<u64>,
    pub dns_records: Option<u64>,
    /// Accounts below a reseller (`reseller_hosting` only).
    pub customers: Option<u64>,
    /// Services of the accounts below a reseller (`reseller_hosting` only).
    pub services: Option<u64>,
}

impl Quotas {
    /// The limit for `key`; `None` is unlimited.
    pub fn get(&self, key: QuotaKey) -> Option<u64> {
        *self.slot(key)
    }

    /// The keys that are set on a plan of `kind` but cannot limit it (`customers` on a
    /// `web_hosting` plan), so the API can refuse them rather than store a limit that
    /// nothing enforces.
    pub fn set_but_not_applying_to(&self, kind: ServiceKind) -> Vec<&'static str> {
        QuotaKey::ALL
            .into_iter()
            .filter(|key| !key.applies_to(kind) && self.get(*key).is_some())
            .map(QuotaKey::as_str)
            .collect()
    }

    /// The keys in which a reseller's plan of `kind` (`self`) allows more than the
    /// reseller's own package: an unlimited plan key exceeds any package limit, and an
    /// unlimited package key is never exceeded. Keys that do not apply to `kind` are not
    /// compared. Empty when the plan fits.
    pub fn exceeding(&self, package: &Quotas, kind: ServiceKind) -> Vec<&'static str> {
        QuotaKey::applying_to(kind)
            .filter(|key| exceeds(self.get(*key), package.get(*key)))
            .map(QuotaKey::as_str)
            .collect()
    }

    /// These limits raised by the add-ons' deltas. An unlimited key stays unlimited, and
    /// a sum that would overflow stays at the largest number rather than wrapping.
    pub fn with_addons<'a>(&self, deltas: impl IntoIterator<Item = &'a QuotaDelta>) -> Quotas {
        let mut raised = self.clone();
        for delta in deltas {
            for key in QuotaKey::ALL {
                let slot = raised.slot_mut(key);
                *slot = slot.map(|limit| limit.saturating_add(delta.get(key)));
            }
        }
        raised
    }

    fn slot(&self, key: QuotaKey) -> &Option<u64> {
        match key {
            QuotaKey::DiskMb => &self.disk_mb,
            QuotaKey::BandwidthMb => &self.bandwidth_mb,
            QuotaKey::Domains => &self.domains,
            QuotaKey::Mailboxes => &self.mailboxes,
            QuotaKey::MailboxDefaultMb => &self.mailbox_default_mb,
            QuotaKey::Forwards => &self.forwards,
            QuotaKey::FtpUsers => &self.ftp_users,
            QuotaKey::Databases => &self.databases,
            QuotaKey::DnsRecords => &self.dns_records,
            QuotaKey::Customers => &self.customers,
            QuotaKey::Services => &self.services,
        }
    }

    fn slot_mut(&mut self, key: QuotaKey) -> &mut Option<u64> {
        match key {
            QuotaKey::DiskMb => &mut self.disk_mb,
            QuotaKey::BandwidthMb => &mut self.bandwidth_mb,
            QuotaKey::Domains => &mut self.domains,
            QuotaKey::Mailboxes => &mut self.mailboxes,
            QuotaKey::MailboxDefaultMb => &mut self.mailbox_default_mb,
            QuotaKey::Forwards => &mut self.forwards,
            QuotaKey::FtpUsers => &mut self.ftp_users,
            QuotaKey::Databases => &mut self.databases,
            QuotaKey::DnsRecords => &mut self.dns_records,
            QuotaKey::Customers => &mut self.customers,
            QuotaKey::Services => &mut self.services,
        }
    }
}

/// Whether a plan limit allows more than a package limit (`None` is unlimited).
fn exceeds(plan: Option<u64>, package: Option<u64>) -> bool {
    match (plan, package) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(plan), Some(package)) => plan > package,
    }
}

/// What an add-on adds to its service's limits (`quota_delta`). An absent key adds
/// nothing, so unlike [`Quotas`] a delta has no "unlimited": an add-on raises limits, and
/// lifting one entirely is a different plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaDelta {
    pub disk_mb: u64,
    pub bandwidth_mb: u64,
    pub domains: u64,
    pub mailboxes: u64,
    pub mailbox_default_mb: u64,
    pub forwards: u64,
    pub ftp_users: u64,
    pub databases: u64,
    pub dns_records: u64,
    pub customers: u64,
    pub services: u64,
}

impl QuotaDelta {
    pub fn get(&self, key: QuotaKey) -> u64 {
        match key {
            QuotaKey::DiskMb => self.disk_mb,
            QuotaKey::BandwidthMb => self.bandwidth_mb,
            QuotaKey::Domains => self.domains,
            QuotaKey::Mailboxes => self.mailboxes,
            QuotaKey::MailboxDefaultMb => self.mailbox_default_mb,
            QuotaKey::Forwards => self.forwards,
            QuotaKey::FtpUsers => self.ftp_users,
            QuotaKey::Databases => self.databases,
            QuotaKey::DnsRecords => self.dns_records,
            QuotaKey::Customers => self.customers,
            QuotaKey::Services => self.services,
        }
    }
}

/// A price for one billing cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub cycle: BillingCycle,
    /// In the currency's minor unit (cents), never a float.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: i64,
    pub currency: Currency,
}

/// An option sold with a plan (extra disk, bandwidth, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Addon {
    /// 1-40 of `a-z 0-9 _ -`, unique within the plan.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,39}$")]
    pub code: String,
    #[schema(format = "line", max_length = 200)]
    pub name: String,
    /// What the add-on adds to the plan's quotas.
    #[serde(default)]
    pub quota_delta: QuotaDelta,
    pub prices: Vec<Price>,
}

fn price_in(prices: &[Price], cycle: BillingCycle) -> Option<&Price> {
    prices.iter().find(|price| price.cycle == cycle)
}

/// What a plan offers: its quotas, its prices per cycle and its add-ons.
#[derive(Debug, Clone, Copy)]
pub struct Offer<'a> {
    pub quotas: &'a Quotas,
    pub prices: &'a [Price],
    pub addons: &'a [Addon],
    /// An archived plan is no longer sold.
    pub archived: bool,
}

/// What a sale comes to: the plan's quotas with the add-ons', and the recurring price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub quotas: Quotas,
    pub price: Money,
}

/// Why a sale is refused, with the request field it is about (a JSON pointer).
pub type SaleRefusal = Vec<(String, Invalid)>;

impl Offer<'_> {
    /// The sale of this offer in `cycle` with the add-ons `codes`; every refusal with its
    /// pointer (`/plan_id`, `/cycle`, `/addons/{index}`).
    pub fn sale(&self, cycle: BillingCycle, codes: &[String]) -> Result<Sale, SaleRefusal> {
        let mut refused = Vec::new();
        if self.archived {
            refused.push((
                "/plan_id".to_owned(),
                Invalid::new("plan_archived", "the plan is archived and no longer sold"),
            ));
        }
        let base = price_in(self.prices, cycle);
        if base.is_none() {
            refused.push(("/cycle".to_owned(), Invalid::new("not_offered", "the plan is not sold in this cycle")));
        }
        let mut chosen: Vec<&Addon> = Vec::new();
        let mut seen = HashSet::new();
        for (index, code) in codes.iter().enumerate() {
            let pointer = format!("/addons/{index}");
            match self.addons.iter().find(|addon| &addon.code == code) {
                _ if !seen.insert(code.as_str()) => {
                    refused.push((pointer, Invalid::new("duplicate", "each add-on once")))
                }
                None => refused.push((pointer, Invalid::new("unknown_addon", "the plan has no such add-on"))),
                Some(addon) if base.is_some() && price_in(&addon.prices, cycle).is_none() => {
                    refused.push((pointer, Invalid::new("not_offered", "the add-on is not sold in this cycle")))
                }
                Some(addon) => chosen.push(addon),
            }
        }
        let Some(base) = base.filter(|_| refused.is_empty()) else { return Err(refused) };
        let amount_minor = chosen
            .iter()
            .filter_map(|addon| price_in(&addon.prices, cycle))
            .try_fold(base.amount_minor, |sum, price| sum.checked_add(price.amount_minor))
            .ok_or_else(|| {
                vec![("/addons".to_owned(), Invalid::new("out_of_range", "the total price is too large"))]
            })?;
        Ok(Sale {
            quotas: self.quotas.with_addons(chosen.iter().map(|addon| &addon.quota_delta)),
            price: Money::new(amount_minor, base.currency.clone()),
        })
    }
}

/// Whether `adding` more of a resource stays within `limit` when `used` are taken
/// (`None` is unlimited). A count too large to add up never fits a limit.
pub fn fits(used: u64, limit: Option<u64>, adding: u64) -> bool {
    match limit {
        None => true,
        Some(limit) => used.checked_add(adding).is_some_and(|total| total <= limit),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(year: i32, month: u32, day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(year, month, day).unwrap().and_hms_opt(13, 45, 7).unwrap()
    }

    fn quotas(json: serde_json::Value) -> Quotas {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn kinds_and_cycles_are_snake_case() {
        for kind in ServiceKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(ServiceKind::parse(kind.as_str()), Some(kind));
        }
        for cycle in BillingCycle::ALL {
            assert_eq!(serde_json::to_value(cycle).unwrap(), cycle.as_str());
            assert_eq!(BillingCycle::parse(cycle.as_str()), Some(cycle));
        }
        for key in QuotaKey::ALL {
            assert_eq!(serde_json::to_value(key).unwrap(), key.as_str());
            assert_eq!(QuotaKey::parse(key.as_str()), Some(key));
        }
        assert_eq!(ServiceKind::parse("WebHosting"), None);
        assert_eq!(BillingCycle::parse("yearly"), None);
    }

    #[test]
    fn cycles_are_whole_months() {
        let months: Vec<u32> = BillingCycle::ALL.into_iter().map(BillingCycle::months).collect();
        assert_eq!(months, vec![1, 3, 6, 12, 24, 36]);
    }

    #[test]
    fn advancing_clamps_to_the_end_of_a_shorter_month() {
        assert_eq!(BillingCycle::Monthly.advance(at(2026, 1, 31), 1), Some(at(2026, 2, 28)));
        assert_eq!(BillingCycle::Monthly.advance(at(2028, 1, 31), 1), Some(at(2028, 2, 29)));
        assert_eq!(BillingCycle::Quarterly.advance(at(2025, 11, 30), 1), Some(at(2026, 2, 28)));
        assert_eq!(BillingCycle::Annual.advance(at(2028, 2, 29), 1), Some(at(2029, 2, 28)));
        assert_eq!(BillingCycle::Quarterly.advance(at(2026, 1, 31), 1), Some(at(2026, 4, 30)));
    }

    #[test]
    fn advancing_several_cycles_is_one_step_from_the_anchor() {
        assert_eq!(BillingCycle::Monthly.advance(at(2026, 1, 31), 2), Some(at(2026, 3, 31)));
        let twice = BillingCycle::Monthly.advance(at(2026, 1, 31), 1).and_then(|d| BillingCycle::Monthly.advance(d, 1));
        assert_eq!(twice, Some(at(2026, 3, 28)));
        assert_eq!(BillingCycle::Triennial.advance(at(2026, 5, 15), 3), Some(at(2035, 5, 15)));
        assert_eq!(BillingCycle::Annual.advance(at(2026, 5, 15), 0), Some(at(2026, 5, 15)));
        assert_eq!(BillingCycle::Annual.advance(at(9999, 5, 15), 1), None, "no year 10000");
        assert_eq!(BillingCycle::Triennial.advance(at(9990, 1, 1), 4), None);
        assert_eq!(BillingCycle::Monthly.rewind(at(1, 1, 15), 1), None, "no year 0");
    }

    #[test]
    fn rewinding_is_advancing_backwards_with_the_same_clamping() {
        assert_eq!(BillingCycle::Annual.rewind(at(2027, 5, 15), 1), Some(at(2026, 5, 15)));
        assert_eq!(BillingCycle::Quarterly.rewind(at(2026, 5, 31), 1), Some(at(2026, 2, 28)));
        assert_eq!(BillingCycle::Monthly.rewind(at(2028, 3, 31), 1), Some(at(2028, 2, 29)));
        assert_eq!(BillingCycle::Biennial.rewind(at(2026, 5, 15), 2), Some(at(2022, 5, 15)));
        for cycle in BillingCycle::ALL {
            let due = cycle.advance(at(2026, 5, 15), 1).unwrap();
            assert_eq!(cycle.rewind(due, 1), Some(at(2026, 5, 15)), "{cycle:?} mid-month round trip");
        }
        assert_eq!(BillingCycle::Monthly.rewind(NaiveDateTime::MIN, 1), None);
        assert_eq!(BillingCycle::Triennial.rewind(at(2026, 1, 1), u32::MAX), None);
    }

    #[test]
    fn advancing_beyond_the_calendar_is_none() {
        assert_eq!(BillingCycle::Monthly.advance(NaiveDateTime::MAX, 1), None);
        assert_eq!(BillingCycle::Triennial.advance(at(2026, 1, 1), u32::MAX), None);
        assert_eq!(BillingCycle::Annual.advance(at(2026, 1, 1), 1_000_000), None);
    }

    #[test]
    fn absent_and_null_quotas_are_unlimited_and_zero_is_none() {
        let limits = quotas(serde_json::json!({"disk_mb": 1024, "mailboxes": 0, "databases": null}));
        assert_eq!(limits.get(QuotaKey::DiskMb), Some(1024));
        assert_eq!(limits.get(QuotaKey::Mailboxes), Some(0));
        assert_eq!(limits.get(QuotaKey::Databases), None);
        assert_eq!(limits.get(QuotaKey::FtpUsers), None);
        assert_eq!(quotas(serde_json::json!({})), Quotas::default());
    }

    #[test]
    fn quotas_refuse_unknown_keys_and_negative_or_fractional_limits() {
        for bad in [
            serde_json::json!({"disk": 1}),
            serde_json::json!({"disk_mb": -1}),
            serde_json::json!({"disk_mb": 1.5}),
            serde_json::json!({"disk_mb": "1"}),
        ] {
            assert!(serde_json::from_value::<Quotas>(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn quotas_answer_every_key_with_null_for_unlimited() {
        let json = serde_json::to_value(Quotas { domains: Some(5), ..Quotas::default() }).unwrap();
        let object = json.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = QuotaKey::ALL.into_iter().map(QuotaKey::as_str).collect();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(object["domains"], 5);
        assert_eq!(object["disk_mb"], serde_json::Value::Null);
    }

    #[test]
    fn customers_and_services_limit_only_reseller_packages() {
        for kind in ServiceKind::ALL {
            let reseller = kind == ServiceKind::ResellerHosting;
            assert_eq!(QuotaKey::Customers.applies_to(kind), reseller, "{kind:?}");
            assert_eq!(QuotaKey::Services.applies_to(kind), reseller, "{kind:?}");
        }
        assert_eq!(QuotaKey::applying_to(ServiceKind::ResellerHosting).count(), 11);
    }

    #[test]
    fn each_kind_is_limited_by_what_it_uses() {
        let keys = |kind| QuotaKey::applying_to(kind).map(QuotaKey::as_str).collect::<Vec<_>>();
        assert_eq!(
            keys(ServiceKind::WebHosting),
            vec![
                "disk_mb",
                "bandwidth_mb",
                "domains",
                "mailboxes",
                "mailbox_default_mb",
                "forwards",
                "ftp_users",
                "databases",
                "dns_records"
            ]
        );
        assert_eq!(
            keys(ServiceKind::MailHosting),
            vec!["disk_mb", "domains", "mailboxes", "mailbox_default_mb", "forwards", "dns_records"]
        );
        assert_eq!(keys(ServiceKind::Domain), vec!["dns_records"]);
        assert!(keys(ServiceKind::SslCertificate).is_empty());
    }

    #[test]
    fn limits_set_where_they_cannot_apply_are_reported() {
        let plan = Quotas { customers: Some(10), disk_mb: Some(100), ftp_users: Some(0), ..Quotas::default() };
        assert_eq!(plan.set_but_not_applying_to(ServiceKind::WebHosting), vec!["customers"]);
        assert_eq!(plan.set_but_not_applying_to(ServiceKind::MailHosting), vec!["ftp_users", "customers"]);
        assert!(plan.set_but_not_applying_to(ServiceKind::ResellerHosting).is_empty());
    }

    #[test]
    fn a_plan_may_not_exceed_the_resellers_package() {
        let package = Quotas { disk_mb: Some(10_000), domains: Some(50), databases: Some(0), ..Quotas::default() };
        let within = Quotas { disk_mb: Some(10_000), domains: Some(5), databases: Some(0), ..Quotas::default() };
        assert!(within.exceeding(&package, ServiceKind::WebHosting).is_empty());
        let beyond = Quotas { disk_mb: Some(10_001), domains: Some(5), databases: Some(1), ..Quotas::default() };
        assert_eq!(beyond.exceeding(&package, ServiceKind::WebHosting), vec!["disk_mb", "databases"]);
    }

    #[test]
    fn an_unlimited_plan_key_exceeds_any_package_limit() {
        let package = Quotas { mailboxes: Some(1_000_000), ..Quotas::default() };
        let unlimited = Quotas::default();
        assert_eq!(unlimited.exceeding(&package, ServiceKind::MailHosting), vec!["mailboxes"]);
    }

    #[test]
    fn an_unlimited_package_key_is_never_exceeded() {
        let package = Quotas::default();
        let plan = Quotas { disk_mb: Some(u64::MAX), ..Quotas::default() };
        assert!(plan.exceeding(&package, ServiceKind::WebHosting).is_empty());
        assert!(Quotas::default().exceeding(&package, ServiceKind::ResellerHosting).is_empty());
    }

    #[test]
    fn keys_that_do_not_apply_to_the_plan_are_not_compared() {
        let package = Quotas { ftp_users: Some(0), customers: Some(5), dns_records: Some(100), ..Quotas::default() };
        // A mail plan has no FTP users or customers, so the package's limits there do not
        // matter; its unlimited DNS records do exceed the package.
        assert_eq!(Quotas::default().exceeding(&package, ServiceKind::MailHosting), vec!["dns_records"]);
        assert!(Quotas::default().exceeding(&package, ServiceKind::SslCertificate).is_empty());
        assert_eq!(
            Quotas::default().exceeding(&package, ServiceKind::ResellerHosting),
            vec!["ftp_users", "dns_records", "customers"]
        );
    }

    #[test]
    fn addons_raise_limits_and_unlimited_stays_unlimited() {
        let base =
            Quotas { disk_mb: Some(1000), mailboxes: Some(0), databases: Some(u64::MAX - 1), ..Quotas::default() };
        let more_disk = QuotaDelta { disk_mb: 500, mailboxes: 5, ftp_users: 3, databases: 10, ..QuotaDelta::default() };
        let more_mail = QuotaDelta { mailboxes: 10, ..QuotaDelta::default() };
        let raised = base.with_addons([&more_disk, &more_mail]);
        assert_eq!(raised.disk_mb, Some(1500));
        assert_eq!(raised.mailboxes, Some(15));
        assert_eq!(raised.ftp_users, None, "unlimited stays unlimited");
        assert_eq!(raised.databases, Some(u64::MAX), "saturates instead of wrapping");
        assert_eq!(base.with_addons([]), base);
    }

    #[test]
    fn quota_deltas_default_to_nothing_and_refuse_unknown_keys() {
        let delta: QuotaDelta = serde_json::from_value(serde_json::json!({"disk_mb": 500})).unwrap();
        assert_eq!(delta, QuotaDelta { disk_mb: 500, ..QuotaDelta::default() });
        assert!(serde_json::from_value::<QuotaDelta>(serde_json::json!({"disk": 1})).is_err());
        assert!(serde_json::from_value::<QuotaDelta>(serde_json::json!({"disk_mb": -1})).is_err());
    }

    #[test]
    fn fitting_within_a_limit() {
        assert!(fits(9, Some(10), 1));
        assert!(!fits(10, Some(10), 1));
        assert!(fits(0, Some(0), 0));
        assert!(!fits(0, Some(0), 1), "0 means none");
        assert!(fits(u64::MAX, None, u64::MAX), "unlimited");
        assert!(!fits(u64::MAX, Some(u64::MAX), 1), "an overflowing count never fits");
        assert!(!fits(11, Some(10), 0), "already over stays over");
    }
}
