//! The buyer of an invoice, as its account's profile describes it when the invoice is
//! issued: what the document shows, and what the tax rule reads.

use super::country::Country;
use super::document::{BuyerAddress, BuyerSnapshot};
use super::tax::TaxBuyer;
use super::vat_ids::VatId;
use crate::accounts::Profile;

/// The buyer as an invoice issued now shows it: the company, else the account's name.
pub fn buyer_snapshot(name: &str, email: &str, profile: &Profile) -> BuyerSnapshot {
    BuyerSnapshot {
        legal_name: profile
            .company
            .clone()
            .filter(|company| !company.trim().is_empty())
            .unwrap_or_else(|| name.to_owned()),
        address: BuyerAddress {
            street: profile.street.clone(),
            postal_code: profile.postal_code.clone(),
            city: profile.city.clone(),
            country: profile.country.as_deref().and_then(|text| Country::parse(text).ok()),
        },
        vat_id: profile.vat_id.clone().filter(|id| !id.trim().is_empty()),
        email: Some(email.to_owned()),
    }
}

/// What of the buyer decides tax: its country, and its VAT id when that is well formed
/// (a malformed one is no VAT id: the buyer is taxed as a consumer).
pub fn tax_buyer(profile: &Profile) -> TaxBuyer {
    TaxBuyer {
        country: profile.country.as_deref().and_then(|text| Country::parse(text).ok()),
        vat_id: profile.vat_id.as_deref().and_then(|text| VatId::parse(text).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(company: Option<&str>, country: Option<&str>, vat_id: Option<&str>) -> Profile {
        Profile {
            company: company.map(str::to_owned),
            country: country.map(str::to_owned),
            vat_id: vat_id.map(str::to_owned),
            ..Profile::default()
        }
    }

    #[test]
    fn the_company_names_the_buyer_else_the_account() {
        let named = buyer_snapshot("Jan", "jan@example.nl", &profile(Some("Dvořák s.r.o."), Some("CZ"), None));
        assert_eq!(named.legal_name, "Dvořák s.r.o.");
        assert_eq!(named.address.country, Country::parse("CZ").ok());
        let private = buyer_snapshot("Jan", "jan@example.nl", &profile(Some(" "), None, None));
        assert_eq!(private.legal_name, "Jan");
        assert_eq!(private.email.as_deref(), Some("jan@example.nl"));
    }

    #[test]
    fn a_malformed_vat_id_is_no_vat_id_for_tax() {
        assert!(tax_buyer(&profile(None, Some("DE"), Some("DE123"))).vat_id.is_none());
        assert!(tax_buyer(&profile(None, Some("DE"), Some("DE136695976"))).vat_id.is_some());
        assert!(tax_buyer(&profile(None, Some("XX"), None)).country.is_none());
    }
}
