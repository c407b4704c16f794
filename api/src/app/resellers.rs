//! Reseller packages: what all the accounts below a reseller create together stays
//! within the quotas of the reseller's `reseller_hosting` service, unless an operator
//! allowed overselling on it. Nested resellers answer to every package above them.

use hostadmin_domain::catalog::{fits, QuotaKey};
use hostadmin_persistence::services::{self as service_store};
use hostadmin_persistence::usage;
use hostadmin_persistence::DbConnection;

use crate::http::problem::ApiError;

/// Refuses with `409 quota_exceeded` when one more `key` owned by `owner` (or, for
/// accounts, created below `owner` with `counting_owner`) would exceed a package above.
///
/// Runs inside the creating transaction: the packages are locked before they are
/// counted, so concurrent creators below one reseller take their turns.
pub fn enforce(conn: &mut DbConnection, owner: &str, including_owner: bool, key: QuotaKey) -> Result<(), ApiError> {
    let resellers = service_store::ancestors(conn, owner, including_owner)?;
    if resellers.is_empty() {
        return Ok(());
    }
    for package in service_store::lock_packages(conn, &resellers)? {
        if package.allow_overselling {
            continue;
        }
        let quotas = &package.quotas;
        let Some(limit) = quotas.get(key) else { continue };
        let used = match key {
            QuotaKey::Customers => service_store::count_accounts_below(conn, &package.reseller_id)?,
            QuotaKey::Services => service_store::count_below(conn, &package.reseller_id)?,
            resource => match usage::count_below(conn, &package.reseller_id, resource)? {
                Some(used) => used,
                // Sizes (disk, bandwidth, a mailbox's) are not counted one by one.
                None => continue,
            },
        };
        if !fits(u64::try_from(used).unwrap_or(u64::MAX), Some(limit), 1) {
            return Err(ApiError::conflict(
                "quota_exceeded",
                format!("the reseller package allows {limit} {}; all of them are in use", key.as_str()),
            ));
        }
    }
    Ok(())
}
