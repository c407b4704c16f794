//! A seller's billing settings (`GET, PUT /v1/billing/settings`): who issues its
//! invoices, how they are numbered, taxed and paid, and when unpaid renewals suspend.
//!
//! Formats are checked while the body is read (a country that is not ISO 3166-1, a rate
//! with three decimals, an IBAN with wrong check digits, a prefix with a space: each is
//! refused with its JSON pointer); [`BillingSettings::problems`] adds the rules that
//! span fields or bound numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::country::Country;
use super::document::{PostalAddress, SellerSnapshot};
use super::iban::Iban;
use super::numbering::InvoicePrefix;
use super::tax::{SellerTaxSettings, TaxRate};
use super::vat_ids::VatId;
use crate::accounts::EmailAddress;
use crate::validation::{check_length, Invalid};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerAddress {
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country: Country,
}

/// The settings with API.md's defaults for what a body leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSettings {
    pub legal_name: String,
    pub address: SellerAddress,
    #[serde(default)]
    pub vat_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub iban: Option<Iban>,
    #[serde(default)]
    pub invoice_prefix: InvoicePrefix,
    #[serde(default = "default_payment_terms_days")]
    pub payment_terms_days: u16,
    #[serde(default)]
    pub tax_rates: BTreeMap<Country, TaxRate>,
    #[serde(default = "default_tax_rate")]
    pub default_tax_rate: TaxRate,
    #[serde(default = "default_true")]
    pub reverse_charge: bool,
    #[serde(default = "default_renewal_invoice_days")]
    pub renewal_invoice_days: u16,
    /// `null`: never suspend for an unpaid renewal.
    #[serde(default = "default_overdue_suspend_days")]
    pub overdue_suspend_days: Option<u16>,
    /// `null`: never expire for an unpaid renewal.
    #[serde(default = "default_overdue_expire_days")]
    pub overdue_expire_days: Option<u16>,
}

fn default_payment_terms_days() -> u16 {
    14
}

fn default_tax_rate() -> TaxRate {
    TaxRate::ZERO
}

fn default_true() -> bool {
    true
}

fn default_renewal_invoice_days() -> u16 {
    14
}

fn default_overdue_suspend_days() -> Option<u16> {
    Some(7)
}

fn default_overdue_expire_days() -> Option<u16> {
    Some(30)
}

/// Bounds on the day counts: a year of payment terms or notice is already generous.
const MAX_DAYS: u16 = 365;

impl BillingSettings {
    /// Each refused field with its JSON pointer.
    pub fn problems(&self) -> Vec<(&'static str, Invalid)> {
        let mut problems = Vec::new();
        let mut check = |pointer: &'static str, result: Result<(), Invalid>| {
            if let Err(invalid) = result {
                problems.push((pointer, invalid));
            }
        };
        check("/legal_name", name(&self.legal_name, 200));
        check("/address/street", name(&self.address.street, 200));
        check("/address/postal_code", name(&self.address.postal_code, 20));
        check("/address/city", name(&self.address.city, 200));
        if let Some(vat_id) = &self.vat_id {
            check("/vat_id", self.check_vat_id(vat_id));
        }
        if let Some(email) = &self.email {
            check("/email", EmailAddress::parse(email).map(|_| ()));
        }
        check("/payment_terms_days", days(self.payment_terms_days, 0));
        check("/renewal_invoice_days", days(self.renewal_invoice_days, 1));
        if let Some(suspend) = self.overdue_suspend_days {
            check("/overdue_suspend_days", days(suspend, 0));
        }
        if let Some(expire) = self.overdue_expire_days {
            let after_suspension = match self.overdue_suspend_days {
                Some(suspend) if expire < suspend => {
                    Err(Invalid::new("expires_before_suspension", "a service expires no earlier than it is suspended"))
                }
                _ => Ok(()),
            };
            check("/overdue_expire_days", days(expire, 0).and(after_suspension));
        }
        problems
    }

    /// A seller in the EU has an EU VAT id of its own country; elsewhere the field holds
    /// whatever tax number the country uses, as free text.
    fn check_vat_id(&self, text: &str) -> Result<(), Invalid> {
        if !self.address.country.is_eu_member() {
            return name(text, 40);
        }
        let id = VatId::parse(text)?;
        if id.country() == self.address.country {
            Ok(())
        } else {
            Err(Invalid::new("vat_id_country_mismatch", "a VAT id of the country in the address"))
        }
    }

    /// What of the settings decides tax.
    pub fn tax_settings(&self) -> SellerTaxSettings {
        SellerTaxSettings {
            country: self.address.country,
            tax_rates: self.tax_rates.clone(),
            default_tax_rate: self.default_tax_rate,
            reverse_charge: self.reverse_charge,
        }
    }

    /// The seller as an invoice issued now shows it; an EU VAT id in its normalised form.
    pub fn snapshot(&self) -> SellerSnapshot {
        let vat_id =
            self.vat_id.as_ref().map(|text| VatId::parse(text).map_or_else(|_| text.clone(), |id| id.to_string()));
        SellerSnapshot {
            legal_name: self.legal_name.clone(),
            address: PostalAddress {
                street: self.address.street.clone(),
                postal_code: self.address.postal_code.clone(),
                city: self.address.city.clone(),
                country: self.address.country,
            },
            vat_id,
            email: self.email.clone(),
            iban: self.iban.clone(),
        }
    }
}

/// Text of 1 to `max` characters, not only spaces, without control characters.
fn name(text: &str, max: usize) -> Result<(), Invalid> {
    check_length(text, 1, max)?;
    if text.trim().is_empty() {
        return Err(Invalid::new("invalid_length", "must not be only spaces"));
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid::new("invalid_characters", "must not contain control characters"));
    }
    Ok(())
}

fn days(value: u16, min: u16) -> Result<(), Invalid> {
    if (min..=MAX_DAYS).contains(&value) {
        Ok(())
    } else {
        Err(Invalid::new("out_of_range", format!("{min} to {MAX_DAYS} days")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings(body: serde_json::Value) -> Result<BillingSettings, String> {
        serde_json::from_value(body).map_err(|e| e.to_string())
    }

    fn minimal() -> serde_json::Value {
        json!({
            "legal_name": "Hosting B.V.",
            "address": {"street": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam", "country": "NL"},
        })
    }

    fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
        let mut body = minimal();
        body[field] = value;
        body
    }

    fn pointers(settings: &BillingSettings) -> Vec<(&'static str, &'static str)> {
        settings.problems().into_iter().map(|(pointer, invalid)| (pointer, invalid.code)).collect()
    }

    #[test]
    fn absent_fields_take_the_contracts_defaults() {
        let settings = settings(minimal()).unwrap();
        assert_eq!(settings.invoice_prefix.as_str(), "INV-");
        assert_eq!(settings.payment_terms_days, 14);
        assert!(settings.tax_rates.is_empty());
        assert_eq!(settings.default_tax_rate, TaxRate::ZERO);
        assert!(settings.reverse_charge);
        assert_eq!(settings.renewal_invoice_days, 14);
        assert_eq!(settings.overdue_suspend_days, Some(7));
        assert_eq!(settings.overdue_expire_days, Some(30));
        assert!(settings.problems().is_empty());
    }

    #[test]
    fn null_overdue_days_mean_never() {
        let mut body = minimal();
        body["overdue_suspend_days"] = json!(null);
        body["overdue_expire_days"] = json!(null);
        let settings = settings(body).unwrap();
        assert_eq!((settings.overdue_suspend_days, settings.overdue_expire_days), (None, None));
    }

    #[test]
    fn formats_are_refused_while_reading() {
        let refused = [
            with("tax_rates", json!({"NL": "21.001"})),
            with("tax_rates", json!({"XX": "21"})),
            with("tax_rates", json!({"nl": "21"})),
            with("tax_rates", json!({"NL": 21})),
            with("default_tax_rate", json!("-1")),
            with("iban", json!("NL91ABNA0417164301")),
            with("invoice_prefix", json!("INV ")),
            with("payment_terms_days", json!(-1)),
            with("unknown", json!(1)),
            json!({"legal_name": "x", "address": {"street": "s", "postal_code": "p", "city": "c", "country": "UK"}}),
        ];
        for body in refused {
            assert!(settings(body.clone()).is_err(), "{body}");
        }
        let good = settings(with("tax_rates", json!({"NL": "21", "DE": "19", "CH": "8.1"}))).unwrap();
        assert_eq!(good.tax_rates.len(), 3);
    }

    #[test]
    fn field_rules_answer_with_their_pointers() {
        let cases = [
            (with("legal_name", json!("")), ("/legal_name", "invalid_length")),
            (with("legal_name", json!("a\u{0}b")), ("/legal_name", "invalid_characters")),
            (with("vat_id", json!("NL004495446B01")), ("/vat_id", "invalid_vat_id")),
            (with("vat_id", json!("DE136695976")), ("/vat_id", "vat_id_country_mismatch")),
            (with("email", json!("not an address")), ("/email", "invalid_email")),
            (with("payment_terms_days", json!(366)), ("/payment_terms_days", "out_of_range")),
            (with("renewal_invoice_days", json!(0)), ("/renewal_invoice_days", "out_of_range")),
            (with("overdue_expire_days", json!(3)), ("/overdue_expire_days", "expires_before_suspension")),
        ];
        for (body, expected) in cases {
            assert_eq!(pointers(&settings(body.clone()).unwrap()), vec![expected], "{body}");
        }
    }

    #[test]
    fn a_seller_outside_the_eu_keeps_its_own_tax_number() {
        let mut body = with("vat_id", json!("CHE-123.456.788 MWST"));
        body["address"]["country"] = json!("CH");
        assert!(settings(body).unwrap().problems().is_empty());
    }

    #[test]
    fn the_snapshot_and_tax_settings_come_from_the_settings() {
        let mut body = with("vat_id", json!("nl 0044 95445 b01"));
        body["iban"] = json!("NL91 ABNA 0417 1643 00");
        body["tax_rates"] = json!({"DE": "19"});
        let settings = settings(body).unwrap();
        assert!(settings.problems().is_empty());
        let snapshot = settings.snapshot();
        assert_eq!(snapshot.vat_id.as_deref(), Some("NL004495445B01"));
        assert_eq!(snapshot.iban.map(|iban| iban.electronic().to_owned()), Some("NL91ABNA0417164300".to_owned()));
        let tax = settings.tax_settings();
        assert_eq!(tax.country.as_str(), "NL");
        assert_eq!(tax.tax_rates.get(&Country::parse("DE").unwrap()).map(ToString::to_string), Some("19".to_owned()));
    }
}
