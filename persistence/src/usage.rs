//! How many hosting resources are in use: per service (its plan's quotas) and below a
//! reseller (its package). Both are counted inside the creating transaction, after
//! [`lock_service`] and the package locks, so concurrent creations take their turns.

use diesel::prelude::*;
use hostadmin_domain::catalog::QuotaKey;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{account_tree, databases, dns_records, domains, forwards, ftp_users, mailboxes, services};
use crate::services::COUNTED_STATUSES;

/// Holds the service's row lock until the transaction ends: on PostgreSQL the no-op
/// update makes concurrent creators for one service wait for each other; on SQLite the
/// writing transaction already holds the database's write lock.
pub fn lock_service(conn: &mut DbConnection, service_id: &str) -> Result<(), StoreError> {
    diesel::update(services::table.filter(services::id.eq(service_id)))
        .set(services::version.eq(services::version))
        .execute(conn)?;
    Ok(())
}

/// The resources of `key` a service holds; `None` for keys that are not resources
/// (disk, bandwidth, the mailbox size, customers, services).
pub fn count_in_service(conn: &mut DbConnection, service_id: &str, key: QuotaKey) -> Result<Option<i64>, StoreError> {
    let count = match key {
        QuotaKey::Domains => {
            domains::table.filter(domains::hosting_service_id.eq(service_id)).count().get_result(conn)?
        }
        QuotaKey::DnsRecords => {
            dns_records::table.filter(dns_records::service_id.eq(service_id)).count().get_result(conn)?
        }
        QuotaKey::Mailboxes => {
            mailboxes::table.filter(mailboxes::service_id.eq(service_id)).count().get_result(conn)?
        }
        QuotaKey::Forwards => forwards::table.filter(forwards::service_id.eq(service_id)).count().get_result(conn)?,
        QuotaKey::FtpUsers => ftp_users::table.filter(ftp_users::service_id.eq(service_id)).count().get_result(conn)?,
        QuotaKey::Databases => {
            databases::table.filter(databases::service_id.eq(service_id)).count().get_result(conn)?
        }
        QuotaKey::DiskMb
        | QuotaKey::BandwidthMb
        | QuotaKey::MailboxDefaultMb
        | QuotaKey::Customers
        | QuotaKey::Services => return Ok(None),
    };
    Ok(Some(count))
}

/// The resources of `key` held by services of accounts strictly below `reseller_id`;
/// `None` for keys that are not resources.
pub fn count_below(conn: &mut DbConnection, reseller_id: &str, key: QuotaKey) -> Result<Option<i64>, StoreError> {
    let below = account_tree::table
        .filter(account_tree::ancestor_id.eq(reseller_id))
        .filter(account_tree::depth.gt(0))
        .select(account_tree::descendant_id);
    // As for services themselves: what a terminated, cancelled or expired service held
    // no longer takes a place in the package.
    let counted_below =
        services::table.filter(services::owner_id.eq_any(below)).filter(services::status.eq_any(COUNTED_STATUSES));
    let services_below = counted_below.clone().select(services::id);
    let count = match key {
        QuotaKey::Domains => domains::table
            .filter(domains::hosting_service_id.eq_any(counted_below.select(services::id.nullable())))
            .count()
            .get_result(conn)?,
        QuotaKey::DnsRecords => {
            dns_records::table.filter(dns_records::service_id.eq_any(services_below)).count().get_result(conn)?
        }
        QuotaKey::Mailboxes => {
            mailboxes::table.filter(mailboxes::service_id.eq_any(services_below)).count().get_result(conn)?
        }
        QuotaKey::Forwards => {
            forwards::table.filter(forwards::service_id.eq_any(services_below)).count().get_result(conn)?
        }
        QuotaKey::FtpUsers => {
            ftp_users::table.filter(ftp_users::service_id.eq_any(services_below)).count().get_result(conn)?
        }
        QuotaKey::Databases => {
            databases::table.filter(databases::service_id.eq_any(services_below)).count().get_result(conn)?
        }
        QuotaKey::DiskMb
        | QuotaKey::BandwidthMb
        | QuotaKey::MailboxDefaultMb
        | QuotaKey::Customers
        | QuotaKey::Services => return Ok(None),
    };
    Ok(Some(count))
}
